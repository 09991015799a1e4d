/* The server end of a local daemon's socket, for single-process daemons
 * (ratekeeper, dnscache, archiver, authd): accepts clients through the
 * event loop, greets them, and answers each request, in order, with the
 * reply that the handler fills in, at once or later (attr_serv_defer). A
 * malformed request is answered with `status=-1` and `reason=...`, then
 * the connection is closed. Clients idle for longer than the idle timeout
 * are closed. */
#ifndef ALLIGATE_ATTR_SERV_H
#define ALLIGATE_ATTR_SERV_H

#include "attr.h"

#define ATTR_SERV_IDLE_MS   (300 * 1000)

/* Fills in reply (empty on entry) for request. */
typedef void (*ATTR_SERV_FN)(const ATTR *request, ATTR *reply,
                             void *context);

typedef struct ATTR_SERV ATTR_SERV;

/* Serves listen_fd (made non-blocking) from the event loop. */
ATTR_SERV *attr_serv_create(int listen_fd, const char *proto, int version,
                            ATTR_SERV_FN handler, void *context);
void attr_serv_set_idle_timeout(ATTR_SERV *serv, int timeout_ms);

/* For servers whose state belongs to a connection (ratekeeper's
 * connection registrations): inside the handler, the client whose request
 * it answers, as a number that no other client of this server has had,
 * never 0. */
unsigned long attr_serv_client_id(const ATTR_SERV *serv);
/* Inside the handler: keeps the client's connection open however long it
 * stays idle (hold = 1), or lets the idle timeout apply again (0). */
void attr_serv_client_hold(ATTR_SERV *serv, int hold);
/* The same for a client named by its id, outside the handler (a reply
 * given later with attr_serv_answer).  Returns 0, or -1 when the client
 * is gone. */
int attr_serv_hold(ATTR_SERV *serv, unsigned long client_id, int hold);
/* fn runs with a client's id whenever its connection closes, for
 * whatever reason: EOF, error, idleness, a bad request, attr_serv_free. */
typedef void (*ATTR_SERV_CLOSE_FN)(unsigned long client_id, void *context);
void attr_serv_set_close_hook(ATTR_SERV *serv, ATTR_SERV_CLOSE_FN fn);
/* Inside the handler: the reply is not known yet (authd's delayed
 * answer to a failed check).  What the handler put in reply is dropped;
 * the reply is given later with attr_serv_answer() and the client id
 * returned here.  Until then the client's further requests wait (read,
 * up to 16 KiB, but not answered), so that its replies stay in order,
 * and its idle timeout does not run. */
unsigned long attr_serv_defer(ATTR_SERV *serv);
/* Inside the handler, after attr_serv_defer(): the request becomes the
 * caller's (attr_free it), so that an answer given later need not copy
 * it; the server parses the next request into a new one. */
ATTR *attr_serv_take_request(ATTR_SERV *serv);
/* The reply to the client's deferred request; it is written, and the
 * client's next requests are read, from the event loop (so this may be
 * called from anywhere, a handler included).  Returns 0, or -1 when the
 * client is gone (its close hook ran) or has no deferred request.  A
 * client that closes while its reply is deferred is noticed when the
 * answer is written to it. */
int attr_serv_answer(ATTR_SERV *serv, unsigned long client_id,
                     const ATTR *reply);
/* Closes every client and stops listening; listen_fd stays open. */
ATTR_SERV *attr_serv_free(ATTR_SERV *serv);

#endif
