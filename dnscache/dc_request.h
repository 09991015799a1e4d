/* dnscache's requests (the protocol of lib/dc_clnt.h), answered from the
 * cache and the lookups.  No socket here: dnscache.c hands each parsed
 * request to dc_request_handle() and lends it attr_serv's deferral for
 * the replies that wait for DNS; the unit tests and the fuzz target call
 * it the same way, with a cache in a temporary directory and no DNS
 * servers (dc_resolve not started: every query fails at once, as
 * temporary, so that nothing waits).  Everything here sees what a peer
 * sent: a bad request gets status=-1 and a reason, never a crash.
 *
 * A client request runs its reverse lookup and its blocklist queries side
 * by side.  Its reply goes when the lookups it waits for are done, or at
 * its deadline with what has come in (the rest goes on, for the cache):
 * with ptr=1 it waits for the name, with ptr=start it only starts the
 * reverse lookup (pending=1 says the name is still to come, for a
 * request with ptr=1 that joins it), so that smtpd has the blocklist
 * score after one DNS round trip and the name, which takes two, later. */
#ifndef ALLIGATE_DC_REQUEST_H
#define ALLIGATE_DC_REQUEST_H

#include "attr.h"
#include "dc_cache.h"

/* How a reply that waits for DNS is given later. */
typedef struct DC_REQUEST_IO {
    /* Inside dc_request_handle(): the reply to the request at hand will
     * come later; returns the token that answer() takes. */
    unsigned long (*defer) (void *context);
    /* The reply to a deferred request. */
    void    (*answer) (void *context, unsigned long token, const ATTR *reply);
    void   *context;
} DC_REQUEST_IO;

/* What the configuration says. */
typedef struct DC_REQUEST_CONF {
    DC_TTLS ttls;
    int     resolving;                  /* resolve_remote_hosts */
    long long timeout_ms;               /* dnscache_timeout: the longest a
                                         * client request waits */
} DC_REQUEST_CONF;

#define DC_REQUEST_ADMIN_WAIT_MS  10000 /* alligatectl dns lookup */
/* A reply that waits goes this long before the end of the client's
 * wait= (or a fifth of the wait, when that is shorter), so that it is
 * there before the client gives up. */
#define DC_REQUEST_MARGIN_MS      50

/* How long a request waits at most, in ms: conf's timeout_ms (for
 * alligatectl, admin: DC_REQUEST_ADMIN_WAIT_MS), or less when the
 * client says it waits less (wait > 0, its wait= attribute): that less
 * the margin.  Never below 1. */
long long dc_request_wait_ms(const DC_REQUEST_CONF *conf, int admin,
                             long wait);

/* cache: where the answers go and come from, open until the last
 * lookup has ended; now: the cache's clock (wall-clock seconds). */
void    dc_request_init(DC_CACHE *cache, const DC_REQUEST_IO *io,
                        long long (*now) (void));
/* The configuration from now on; requests under way keep their
 * deadlines. */
void    dc_request_configure(const DC_REQUEST_CONF *conf);
/* Fills in reply (empty on entry) for request, or defers it and answers
 * it later through the io of dc_request_init(). */
void    dc_request_handle(const ATTR *request, ATTR *reply);
/* stop = 1: the lookups that end from now on are not cached (their
 * servers are going away: a reload, or the end); 0: they are again. */
void    dc_request_store_stop(int stop);

#endif
