/* ratekeeper's protocol and its typed client.
 *
 * ratekeeper listens on run_directory/ratekeeper.sock and greets with
 * proto=ratekeeper, version=1.  It only counts; callers decide.  Keys are
 * in the form of rk_key.h, windows in milliseconds.
 *
 *   request=connect key=addr:A     registers one connection of A on this
 *                                  socket: status=0 count=N (A's
 *                                  connections, this one included)
 *                                  overlimit=N tarpit_disconnect=N (A's
 *                                  counts in their windows, as lookup
 *                                  gives them: smtpd's facts at connect
 *                                  without another round trip); it is
 *                                  released by disconnect, or when the
 *                                  socket closes (a crashed smtpd leaks
 *                                  nothing)
 *   request=disconnect key=addr:A  status=0 count=N, or status=1 when
 *                                  this socket held no connection of A
 *   request=mail key=K window=MS   counts one message: status=0 count=N,
 *                                  the messages of the last MS ms, this
 *                                  one included
 *   request=overlimit|tarpit_disconnect|auth_failure key=addr:A window=MS
 *                                  the same for the other counters
 *   request=lookup counter=C key=K status=0 count=N, without counting
 *   request=show key=K             status=0 key=K counters=N and, for I
 *                                  from 0, counter_I count_I window_I
 *                                  clear_I (ms until the count is 0)
 *   request=top [limit=N]          status=0 entries=N and key_I
 *                                  counter_I count_I, busiest first
 *   request=reset key=K            status=0 removed=N
 *   request=status                 status=0 backend=bdb|redis keys=N
 *                                  (in memory here) and, with redis,
 *                                  redis=reachable|unreachable
 *                                  redis_server=ADDR redis_error=TEXT
 *                                  redis_since=MS gateway=ID
 *
 * Any request may be answered status=-1 reason=TEXT.  Unknown attributes
 * are ignored.  The connections are counted under the counter name
 * "connections" in show and top. */
#ifndef ALLIGATE_RK_CLNT_H
#define ALLIGATE_RK_CLNT_H

#include "vbuf.h"

#define RK_SOCKET_NAME      "ratekeeper.sock"
#define RK_PROTO            "ratekeeper"
#define RK_VERSION          1

#define RK_COUNTER_MAIL             "mail"
#define RK_COUNTER_OVERLIMIT        "overlimit"
#define RK_COUNTER_TARPIT           "tarpit_disconnect"
#define RK_COUNTER_AUTH             "auth_failure"
#define RK_COUNTER_CONNECTIONS      "connections"

/* Results of the requests. */
#define RK_CLNT_OK          0
#define RK_CLNT_NOANSWER    (-1)        /* down, slow or confused */

/* rk_clnt_create() flags. */
#define RK_CLNT_FLAG_NONE   0
#define RK_CLNT_FLAG_WARN   (1 << 0)    /* log "no answer", once a minute */

#define RK_CLNT_WARN_MS     60000

typedef struct RK_CLNT RK_CLNT;

/* What connect answers. */
typedef struct RK_CLNT_CONNECT {
    long count;                         /* connections, this one included */
    long overlimit;                     /* -1: the reply had none (a */
    long tarpit_disconnect;             /* ratekeeper older than these) */
} RK_CLNT_CONNECT;

/* One counter of one key, from show or top. */
typedef struct RK_CLNT_COUNT {
    char *key;
    char *counter;
    long count;
    long long window_ms;                /* 0 for connections */
    long long clear_ms;                 /* until the count is 0 */
} RK_CLNT_COUNT;

/* Nothing happens before the first request.  With RK_CLNT_FLAG_WARN a
 * request without an answer logs a warning, at most once per
 * RK_CLNT_WARN_MS: the caller goes on without the limits (fails open). */
RK_CLNT *rk_clnt_create(const char *socket_path, int timeout_ms, int flags);
RK_CLNT *rk_clnt_free(RK_CLNT *clnt);

/* run_directory/ratekeeper.sock of the active configuration. */
const char *rk_clnt_default_path(void);

/* Why the last request got RK_CLNT_NOANSWER. */
const char *rk_clnt_error(const RK_CLNT *clnt);

/* Each returns RK_CLNT_OK with the count, or RK_CLNT_NOANSWER. */
int rk_clnt_connect(RK_CLNT *clnt, const char *addr, long *count);
int rk_clnt_disconnect(RK_CLNT *clnt, const char *addr, long *count);
/* disconnect without waiting for the answer (smtpd at the end of a
 * session): RK_CLNT_OK once it is sent.  ratekeeper acts on it as soon as
 * it reads it; the answer is read and dropped before the next request on
 * this client (attr_clnt_send), so it costs no sleep.  A registration
 * whose disconnect never arrives is released with the socket, as ever. */
int rk_clnt_disconnect_nowait(RK_CLNT *clnt, const char *addr);
/* disconnect deferred: it goes out in the same write as the next request
 * on this client (smtpd: the next session's connect, when a client is
 * already waiting), or with rk_clnt_flush() (smtpd: before it waits for
 * one).  Dropped if the connection closes first, which releases the
 * registration anyway. */
int rk_clnt_disconnect_defer(RK_CLNT *clnt, const char *addr);
int rk_clnt_flush(RK_CLNT *clnt);
/* connect in two halves, so that the answer can travel while the caller
 * does something else (smtpd: the pre-greeting pause): send, then collect
 * the count. */
int rk_clnt_connect_send(RK_CLNT *clnt, const char *addr);
int rk_clnt_connect_collect(RK_CLNT *clnt, long *count);
/* The same with the whole answer; without one, every field is -1. */
int rk_clnt_connect_collect_info(RK_CLNT *clnt, RK_CLNT_CONNECT *info);
int rk_clnt_mail(RK_CLNT *clnt, const char *key, long long window_ms,
                 long *count);
/* counter: RK_COUNTER_OVERLIMIT, _TARPIT or _AUTH. */
int rk_clnt_count(RK_CLNT *clnt, const char *counter, const char *key,
                  long long window_ms, long *count);
int rk_clnt_lookup(RK_CLNT *clnt, const char *counter, const char *key,
                   long *count);

/* For alligatectl: *list gets *n counters, to free with
 * rk_clnt_counts_free().  show also sets canon (may be NULL) to the key
 * in the form ratekeeper uses. */
int rk_clnt_show(RK_CLNT *clnt, const char *key, VBUF *canon,
                 RK_CLNT_COUNT **list, int *n);
int rk_clnt_top(RK_CLNT *clnt, int limit, RK_CLNT_COUNT **list, int *n);
RK_CLNT_COUNT *rk_clnt_counts_free(RK_CLNT_COUNT *list, int n);

/* For alligatectl status: where ratekeeper keeps its counters. */
typedef struct RK_CLNT_STATUS {
    char *backend;                      /* "bdb" or "redis" */
    int reachable;                      /* redis: answering in time */
    char *server;                       /* redis: in use or tried last */
    char *error;                        /* redis: why not reachable */
    char *gateway;                      /* redis: this gateway's id */
    long long since_ms;                 /* redis: in this state so long */
    long keys;                          /* counters in ratekeeper's memory */
} RK_CLNT_STATUS;

int rk_clnt_status(RK_CLNT *clnt, RK_CLNT_STATUS **status);
RK_CLNT_STATUS *rk_clnt_status_free(RK_CLNT_STATUS *status);
int rk_clnt_reset(RK_CLNT *clnt, const char *key, long *removed);

#endif
