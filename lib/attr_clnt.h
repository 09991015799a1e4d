/* The client end of a local daemon's socket, the base of the typed clients
 * (rk_clnt, dc_clnt, ...). One request at a time, a total deadline per
 * request, reconnecting by itself, and cheap failure while the daemon is
 * down: after a failed connection it does not try again for
 * ATTR_CLNT_RETRY_MS. Whether to fail open is the caller's decision. */
#ifndef ALLIGATE_ATTR_CLNT_H
#define ALLIGATE_ATTR_CLNT_H

#include "attr.h"
#include "vbuf.h"

#define ATTR_CLNT_RETRY_MS  1000

typedef struct ATTR_CLNT ATTR_CLNT;

/* Nothing happens until the first request. */
ATTR_CLNT *attr_clnt_create(const char *socket_path, const char *proto,
                            int version, int timeout_ms);
ATTR_CLNT *attr_clnt_free(ATTR_CLNT *clnt);
void attr_clnt_set_timeout(ATTR_CLNT *clnt, int timeout_ms);

/* Sends request and reads one reply message into reply, connecting and
 * checking the server's greeting first when needed, all within the
 * timeout. Returns 0, or -1 with the reason in why (the connection is then
 * closed). A connection that breaks before the reply starts, as when the
 * server closed it for idleness, is reopened once within the same request.
 * A failed connect, greeting or timeout makes the following requests fail
 * at once with "recently failed: ..." for ATTR_CLNT_RETRY_MS. */
int attr_clnt_request(ATTR_CLNT *clnt, const ATTR *request, ATTR *reply,
                      VBUF *why);

/* The same without waiting for the reply, for requests whose answer does
 * not matter: returns 0 once request is written.  Its reply is owed: the
 * next request on the connection is written, then the owed replies are
 * read and discarded before its own, within that request's timeout (a
 * timeout there fails that request and holds off as above); if the
 * connection breaks meanwhile the owed reply is dropped and the next
 * request goes on with a new connection.  Whether the server acted on a
 * request sent this way is not known. */
int attr_clnt_send(ATTR_CLNT *clnt, const ATTR *request, VBUF *why);

/* Reads the reply to the last request sent with attr_clnt_send() (the
 * ones owed before it are discarded), within the timeout: a request can
 * be sent, other work done, and its answer taken afterwards without
 * waiting for it.  Returns 0, or -1 with the reason in why; the request
 * is then not sent again (the server may have acted on it). */
int attr_clnt_collect(ATTR_CLNT *clnt, ATTR *reply, VBUF *why);

/* Whether attr_clnt_collect() would return without waiting: every owed
 * reply has arrived, or the connection broke (which collect reports).
 * Reads what has arrived, without waiting; 0 while a reply is still to
 * come, and when none is owed. */
int attr_clnt_ready(ATTR_CLNT *clnt);
/* The connection's descriptor, to poll() for an owed reply beside other
 * descriptors (readable: call attr_clnt_ready()); -1 when there is no
 * connection.  Not for reading or writing. */
int attr_clnt_fd(const ATTR_CLNT *clnt);

/* Queues a request about the connection's own state (smtpd's disconnect)
 * to go out in the same write as the next request or send, or with
 * attr_clnt_flush(); its reply is then owed.  Without a connection, or if
 * the connection closes before it is written, it is dropped: whatever it
 * was about went with the connection. */
void attr_clnt_defer(ATTR_CLNT *clnt, const ATTR *request);
/* Writes the deferred requests now, if any; 0, or -1 with the reason in
 * why (the connection is then closed). */
int attr_clnt_flush(ATTR_CLNT *clnt, VBUF *why);

#endif
