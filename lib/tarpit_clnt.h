/* The hand-off of a client connection from smtpd to the tarpit.
 *
 * tarpit listens on run_directory/tarpit.sock, a SOCK_SEQPACKET socket.
 * smtpd keeps one connection to it per worker and hands a client over
 * with one message: the client's socket rides in SCM_RIGHTS, the text is
 * a TARPIT_HOLD encoded by tarpit_msg_encode().  Once sendmsg() has
 * succeeded the client belongs to the tarpit and smtpd closes its copy
 * of the descriptor; there is no reply (a tarpit that is full answers its
 * longest-waiting clients early instead of refusing new ones).
 *
 * The message is "name=value\n" lines in this order, each value printable
 * ASCII without '\n', the whole at most TARPIT_MSG_MAX bytes:
 *
 *   version=1
 *   addr=A          numeric client address (IPv4 or IPv6)
 *   name=N          the client's verified name, or "unknown"
 *   delay=MS        how long to hold before answering (tarpit_delay)
 *   rule=R          why: sender_rate_limit, max_invalid_recipients,
 *                   max_valid_recipients, dnsbl, overlimit (a client
 *                   still over a limit from earlier sessions)
 *   command=C       the command the reply answers, for the log (EHLO,
 *                   HELO, MAIL, RCPT)
 *   reply=TEXT      the whole reply line without CRLF ("550 5.7.1
 *                   Refused"); it must start with a 4xx or 5xx code
 *
 * tarpit_msg_decode() refuses anything else: a missing, repeated,
 * unknown or out-of-order name, a bad value, a message too long. */
#ifndef ALLIGATE_TARPIT_CLNT_H
#define ALLIGATE_TARPIT_CLNT_H

#include <stddef.h>

#include "vbuf.h"

#define TARPIT_SOCKET_NAME  "tarpit.sock"
#define TARPIT_MSG_VERSION  1
#define TARPIT_MSG_MAX      2048
/* The largest delay a message may ask for: tarpit_delay's upper bound. */
#define TARPIT_DELAY_MAX_MS 3600000LL

typedef struct TARPIT_HOLD {
    char    addr[64];
    char    name[256];
    long long delay_ms;
    char    rule[64];
    char    command[16];
    char    reply[512];
} TARPIT_HOLD;

/* Appends the encoded message to out: 0, or -1 when a field is not fit
 * to send (empty address, a '\n' or control character in a value,
 * a reply that is not 4xx/5xx). */
int     tarpit_msg_encode(const TARPIT_HOLD *hold, VBUF *out);

/* Fills hold from buf[0..len): 0, or -1 with the reason in why. */
int     tarpit_msg_decode(const char *buf, size_t len, TARPIT_HOLD *hold,
                          VBUF *why);

typedef struct TARPIT_CLNT TARPIT_CLNT;

/* Nothing happens before the first hand-off. */
TARPIT_CLNT *tarpit_clnt_create(const char *socket_path);
TARPIT_CLNT *tarpit_clnt_free(TARPIT_CLNT *clnt);

/* run_directory/tarpit.sock of the active configuration. */
const char *tarpit_clnt_default_path(void);

/* Hands client_fd to the tarpit, (re)connecting when needed, without
 * blocking: 0 when the tarpit has it (the caller closes its own copy
 * and forgets the client), -1 when the tarpit is down, its socket is
 * full or the hold does not encode; then the caller answers the refusal
 * itself at once and closes (fail safe).  tarpit_clnt_error() says why. */
int     tarpit_clnt_handoff(TARPIT_CLNT *clnt, int client_fd,
                            const TARPIT_HOLD *hold);
const char *tarpit_clnt_error(const TARPIT_CLNT *clnt);

/* The tarpit's control socket, for alligatectl: run_directory/
 * tarpit-ctl.sock (mode 0600), a stream socket in the framing of every
 * local socket (attr.h), greeting with proto=tarpit, version=1.
 *
 *   request=status   status=0 held=N max=N released=N disconnects=N
 *                    early=N: the connections held now, how many it can
 *                    hold, and since it started the connections answered
 *                    at their time, those that left first (tarpit
 *                    disconnects) and those answered early to make room
 *
 * Any request may be answered status=-1 reason=TEXT.  Unknown attributes
 * are ignored. */
#define TARPIT_CTL_SOCKET_NAME  "tarpit-ctl.sock"
#define TARPIT_CTL_PROTO        "tarpit"
#define TARPIT_CTL_VERSION      1
#define TARPIT_CTL_TIMEOUT_MS   5000

typedef struct TARPIT_STATUS {
    long held;
    long max;
    long released;
    long disconnects;
    long early;
} TARPIT_STATUS;

/* run_directory/tarpit-ctl.sock of the active configuration. */
const char *tarpit_clnt_default_ctl_path(void);

/* Asks the tarpit at ctl_path for its counts, within timeout_ms: 0, or
 * -1 with the reason in why (not running, or it refused). */
int     tarpit_clnt_status(const char *ctl_path, int timeout_ms,
                           TARPIT_STATUS *st, VBUF *why);

#endif
