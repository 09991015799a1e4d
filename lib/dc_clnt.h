/* dnscache's protocol and its typed client (smtpd asks at connect and
 * takes the answers when it needs them; alligatectl asks and flushes).
 *
 * dnscache listens on run_directory/dnscache.sock and greets with
 * proto=dnscache, version=1.  It does every DNS query of the gateway,
 * with c-ares, and caches the answers in Berkeley DB.
 *
 *   request=client addr=A [ptr=1|start] [dnsbl=1] [wait=MS]
 *        status=0 name=N|"" verified=1|0 [unverified=N2] temp=1|0
 *                 [pending=1] score=S sites=a,b (the DNSBL sites that
 *                 matched) late=c,d (sites that had not answered in time)
 *        The reverse name is forward-confirmed: name is set only when one
 *        of the PTR names resolves back to A.  ptr=1 waits for it;
 *        ptr=start (with dnsbl=1) only starts its lookup, and the reply
 *        goes when the blocklists have answered: with the name when the
 *        cache had it, else with pending=1, and a request with ptr=1
 *        then joins the lookup under way.  The reply goes at the latest
 *        after dnscache_timeout, or shortly before the client's wait=
 *        (how long it waits, in ms) ends, with what has come in.
 *   request=lookup addr=A          the same, plus the cache's TTLs and
 *                                  each blocklist's answer (dnsbl=), for
 *                                  alligatectl dns lookup (fresh=1: bypass
 *                                  the cache)
 *   request=flush [addr=A]         status=0 removed=N
 *   request=stats                  status=0 entries=N hits=H misses=M
 *                                  inflight=F refreshes=R (hits that
 *                                  renewed an entry about to expire)
 *
 * Any request may be answered status=-1 reason=TEXT. */
#ifndef ALLIGATE_DC_CLNT_H
#define ALLIGATE_DC_CLNT_H

#include "vbuf.h"

#define DC_SOCKET_NAME      "dnscache.sock"
#define DC_PROTO            "dnscache"
#define DC_VERSION          1

#define DC_CLNT_OK          0
#define DC_CLNT_NOANSWER    (-1)    /* down, slow, or confused: fail open */

/* dc_clnt_create() flags. */
#define DC_CLNT_FLAG_NONE   0
#define DC_CLNT_FLAG_WARN   (1 << 0)    /* log "no answer", once a minute */

#define DC_CLNT_WARN_MS     60000
#define DC_CLNT_SEND_MS     500     /* connecting and writing a request */
#define DC_CLNT_ADMIN_MS    15000   /* alligatectl's requests */

typedef struct DC_CLNT DC_CLNT;

/* What smtpd learns of a client. */
typedef struct DC_CLIENT_INFO {
    char    name[256];              /* verified name, or "" */
    int     temp;                   /* the PTR lookup failed for now */
    int     pending;                /* DC_CLNT_NAME_LATER: the name is
                                     * still to come; ask for it */
    int     score;                  /* DNSBL score */
    char    sites[512];             /* DNSBL sites that matched, a,b */
    char    late[512];              /* sites that did not answer in time */
} DC_CLIENT_INFO;

DC_CLNT *dc_clnt_create(const char *socket_path, int flags);
DC_CLNT *dc_clnt_free(DC_CLNT *clnt);
const char *dc_clnt_default_path(void);
const char *dc_clnt_error(const DC_CLNT *clnt);

/* dc_clnt_client_send() flags: what to ask. */
#define DC_CLNT_ASK_NAME    (1 << 0)    /* the verified name (ptr=1) */
#define DC_CLNT_ASK_SCORE   (1 << 1)    /* the blocklist score (dnsbl=1) */
#define DC_CLNT_NAME_LATER  (1 << 2)    /* with both: the reply does not
                                         * wait for the name (ptr=start);
                                         * info.pending says when it is to
                                         * be asked for on its own */

/* In halves, so that the answer travels while smtpd does other work:
 * send at connect, collect when it is needed, waiting at most until
 * deadline (monotime ms; sent along as wait=, so that dnscache answers
 * before it); ready says, without waiting, whether collect would wait,
 * and fd is the connection to poll() meanwhile (-1: none).  One reply
 * at a time: collect before the next send. */
int     dc_clnt_client_send(DC_CLNT *clnt, const char *addr, int flags,
                            long long deadline_ms);
int     dc_clnt_client_ready(DC_CLNT *clnt);
int     dc_clnt_client_fd(const DC_CLNT *clnt);
int     dc_clnt_client_collect(DC_CLNT *clnt, long long deadline_ms,
                               DC_CLIENT_INFO *info);

/* For alligatectl.  lookup: what the cache holds (fresh = 0) or what a
 * fresh lookup says (fresh = 1). */
typedef struct DC_CLNT_LOOKUP {
    DC_CLIENT_INFO info;
    char    ptr[1024];              /* every valid PTR name, a,b */
    char    unverified[256];        /* a PTR name that did not resolve back */
    char    result[16];             /* ok, none, temp, off */
    char    dnsbl[1024];            /* each zone's answer: zone=127.0.0.2 ...,
                                     * zone=none|temp|late, ", " between */
    long    ttl;                    /* seconds the cache keeps it, -1 none */
    int     cached;                 /* the answer came from the cache */
} DC_CLNT_LOOKUP;

typedef struct DC_CLNT_STATS {
    long    entries;
    long    hits;
    long    misses;
    long    inflight;
    long    refreshes;
} DC_CLNT_STATS;

int     dc_clnt_lookup(DC_CLNT *clnt, const char *addr, int fresh,
                       DC_CLNT_LOOKUP *out);
/* addr NULL: everything. */
int     dc_clnt_flush(DC_CLNT *clnt, const char *addr, long *removed);
int     dc_clnt_stats(DC_CLNT *clnt, DC_CLNT_STATS *out);

#endif
