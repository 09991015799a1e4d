/* dnscache's request dispatch (see dc_request.h): checks each request's
 * attributes, canonicalizes the address (the cache's key), answers from
 * the cache, starts the lookups that the cache cannot answer, and replies
 * when they are done or at the request's deadline.  Every finished
 * lookup goes into the cache, whether anybody still waits for it or not.
 *
 * A request that waits is a DC_PENDING, counted: one reference per
 * lookup that will report to it, and one for the handler while it runs,
 * so that a lookup done at once does not free it under the handler.
 * needed counts the lookups the reply waits for (ptr=start's reverse
 * lookup reports too, but the reply does not wait for it). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "dc_cache.h"
#include "dc_dnsbl.h"
#include "dc_fcrdns.h"
#include "dc_request.h"
#include "events.h"
#include "metrics.h"
#include "msg.h"
#include "mymalloc.h"

/* What a request asks of the reverse lookup. */
#define DC_PTR_OFF      0
#define DC_PTR_WAIT     1               /* ptr=1: the reply waits for it */
#define DC_PTR_START    2               /* ptr=start: only started */

/* A request waiting for its lookups. */
typedef struct DC_PENDING {
    unsigned long token;                /* io.defer()'s, once deferred */
    int     admin;                      /* request=lookup */
    int     deferred;
    int     answered;
    int     refs;
    int     needed;                     /* lookups the reply waits for */
    int     ptr_mode;                   /* DC_PTR_* */
    int     ptr_have;                   /* e holds the reverse lookup */
    int     ptr_cached;
    long long ptr_ttl;
    DC_ENTRY e;
    int     dnsbl_have;                 /* every zone has answered */
    DC_DNSBL *bl;                       /* NULL: no blocklists asked */
} DC_PENDING;

static DC_CACHE *dc_request_cache;
static DC_REQUEST_IO dc_request_io;
static long long (*dc_request_now) (void);
static DC_REQUEST_CONF dc_request_conf;
static int dc_request_stopped;
static long dc_hits, dc_misses, dc_refreshes;

static const char *
dc_result_name(int result)
{
    return result == DC_RESULT_OK ? "ok" : result == DC_RESULT_NONE
        ? "none" : "temp";
}

/* Replies ------------------------------------------------------------------*/

static void
dc_reply_error(ATTR *reply, const char *reason)
{
    metrics_inc(METRIC_DC_ERRORS);
    attr_reset(reply);
    attr_set(reply, "status", "-1");
    attr_set(reply, "reason", reason);
}

/* The reply's reverse-lookup part from what a lookup found. */
static void
dc_reply_entry(ATTR *reply, const DC_ENTRY *e, int admin, long long ttl,
               int cached)
{
    attr_set(reply, "status", "0");
    attr_set(reply, "name", e->name);
    attr_set(reply, "verified", e->name[0] ? "1" : "0");
    if (e->unverified[0])
        attr_set(reply, "unverified", e->unverified);
    attr_set(reply, "temp", e->result == DC_RESULT_TEMP ? "1" : "0");
    if (admin) {
        attr_set(reply, "result", dc_result_name(e->result));
        attr_set(reply, "ptr", e->ptr);
        attr_setf(reply, "ttl", "%lld", ttl);
        attr_set(reply, "cached", cached ? "1" : "0");
    }
}

/* No reverse lookup in the reply: none asked, or not done yet. */
static void
dc_reply_off(ATTR *reply, int admin)
{
    attr_set(reply, "status", "0");
    attr_set(reply, "name", "");
    attr_set(reply, "verified", "0");
    attr_set(reply, "temp", "0");
    if (admin) {
        attr_set(reply, "result", "off");
        attr_set(reply, "ptr", "");
        attr_set(reply, "ttl", "-1");
        attr_set(reply, "cached", "0");
    }
}

/* The reply's blocklist part: the score of the zones answered so far. */
static void
dc_reply_dnsbl(ATTR *reply, const DC_DNSBL *bl, int admin)
{
    VBUF   *sites = vbuf_create(100);
    VBUF   *late = vbuf_create(100);
    int     score = dc_dnsbl_score(bl, sites, late);

    attr_setf(reply, "score", "%d", score);
    attr_set(reply, "sites", vbuf_str(sites));
    attr_set(reply, "late", vbuf_str(late));
    if (admin && bl) {
        dc_dnsbl_describe(bl, sites);
        attr_set(reply, "dnsbl", vbuf_str(sites));
        attr_set(reply, "dnsbl_cached", dc_dnsbl_cached(bl) ? "1" : "0");
    }
    vbuf_free(sites);
    vbuf_free(late);
}

/* The reply from what the lookups of p found so far. */
static void
dc_pending_reply(DC_PENDING *p, ATTR *reply)
{
    if (p->ptr_have)
        dc_reply_entry(reply, &p->e, p->admin, p->ptr_ttl, p->ptr_cached);
    else
        dc_reply_off(reply, p->admin);
    if (p->ptr_mode == DC_PTR_WAIT && !p->ptr_have) {
        /* Too late for this session; the lookup goes on for the cache. */
        attr_set(reply, "temp", "1");
    } else if (p->ptr_mode == DC_PTR_START && !p->ptr_have) {
        /* Under way: a request with ptr=1 joins it. */
        attr_set(reply, "pending", "1");
    }
    dc_reply_dnsbl(reply, p->bl, p->admin);
}

/* Waiting requests ---------------------------------------------------------*/

static void
dc_pending_answer(DC_PENDING *p)
{
    ATTR   *reply = attr_create();

    dc_pending_reply(p, reply);
    dc_request_io.answer(dc_request_io.context, p->token, reply);
    attr_free(reply);
    p->answered = 1;
}

static void
dc_pending_deadline(int event, void *context)
{
    (void) event;
    dc_pending_answer((DC_PENDING *) context);
}

static void
dc_pending_release(DC_PENDING *p)
{
    if (--p->refs > 0)
        return;
    if (p->deferred && !p->answered)
        msg_panic("dc_pending_release: a deferred request not answered");
    event_cancel_timer(dc_pending_deadline, p);
    dc_dnsbl_free(p->bl);
    myfree(p);
}

/* One lookup of p is done: the reply goes when it was the last that
 * the reply waits for. */
static void
dc_pending_step(DC_PENDING *p, int needed)
{
    if (needed && --p->needed == 0 && p->deferred && !p->answered) {
        event_cancel_timer(dc_pending_deadline, p);
        dc_pending_answer(p);
    }
    dc_pending_release(p);
}

static void
dc_pending_ptr_done(const char *addr, const DC_ENTRY *e, long long dns_ttl,
                    void *context)
{
    DC_PENDING *p = context;

    (void) addr;
    p->e = *e;
    p->ptr_have = 1;
    p->ptr_ttl = dc_cache_ttl(&dc_request_conf.ttls, e->result, dns_ttl);
    dc_pending_step(p, p->ptr_mode == DC_PTR_WAIT);
}

static void
dc_pending_dnsbl_done(DC_DNSBL *bl, void *context)
{
    DC_PENDING *p = context;

    p->bl = bl;
    p->dnsbl_have = 1;
    dc_pending_step(p, 1);
}

/* The cache --------------------------------------------------------------*/

/* Every finished lookup goes into the cache.  A temporary failure does
 * not replace an answer that is still good (a renewal that failed): the
 * answer lives out its time. */
static void
dc_request_store(const char *key, const DC_ENTRY *e, long long dns_ttl,
                 void *context)
{
    DC_ENTRY copy = *e, old;
    long long now;
    VBUF   *why;

    (void) context;
    if (dc_request_stopped || dc_request_cache == NULL)
        return;
    now = dc_request_now();
    if (e->result == DC_RESULT_TEMP
        && dc_cache_get(dc_request_cache, key, now, &old)
        && old.result != DC_RESULT_TEMP)
        return;
    copy.lifetime = dc_cache_ttl(&dc_request_conf.ttls, e->result, dns_ttl);
    copy.expires = now + copy.lifetime;
    why = vbuf_create(100);
    if (dc_cache_put(dc_request_cache, key, &copy, why) < 0)
        msg_warn("%s", vbuf_str(why));
    vbuf_free(why);
    if (msg_verbose)
        msg_info("%s: %s name=%s ptr=%s ttl=%lld", key,
                 dc_result_name(e->result), e->name, e->ptr, copy.lifetime);
}

/* The blocklists read the cache through here. */
static int
dc_request_cache_get(const char *key, DC_ENTRY *e)
{
    long long now = dc_request_now();

    if (!dc_cache_get(dc_request_cache, key, now, e)) {
        dc_misses++;
        metrics_inc(METRIC_DC_MISSES);
        return DC_DNSBL_MISS;
    }
    dc_hits++;
    metrics_inc(METRIC_DC_HITS);
    if (dc_cache_refresh_due(&dc_request_conf.ttls, e, now)) {
        dc_refreshes++;
        metrics_inc(METRIC_DC_REFRESHES);
        return DC_DNSBL_HIT_RENEW;
    }
    return DC_DNSBL_HIT;
}

/* A renewal or a ptr=start lookup has nobody waiting: the store has
 * its answer. */
static void
dc_request_background_done(const char *addr, const DC_ENTRY *e,
                           long long dns_ttl, void *context)
{
    (void) context;
    (void) dns_ttl;
    if (msg_verbose)
        msg_info("%s: looked up in the background: %s", addr,
                 dc_result_name(e->result));
}

/* Requests -----------------------------------------------------------------*/

/* The reverse-lookup part of p: from the cache, or a lookup. */
static void
dc_request_ptr(DC_PENDING *p, const char *addr, int fresh, long long now)
{
    if (!fresh && dc_cache_get(dc_request_cache, addr, now, &p->e)) {
        dc_hits++;
        metrics_inc(METRIC_DC_HITS);
        p->ptr_have = 1;
        p->ptr_cached = 1;
        p->ptr_ttl = p->e.expires - now;
        if (dc_cache_refresh_due(&dc_request_conf.ttls, &p->e, now)) {
            dc_refreshes++;
            metrics_inc(METRIC_DC_REFRESHES);
            dc_fcrdns_start(addr, dc_request_background_done, NULL);
        }
        return;
    }
    /* A request that joins a lookup under way is not another miss. */
    if (!dc_fcrdns_under_way(addr)) {
        dc_misses++;
        metrics_inc(METRIC_DC_MISSES);
    }
    p->refs++;
    if (p->ptr_mode == DC_PTR_WAIT)
        p->needed++;
    dc_fcrdns_start(addr, dc_pending_ptr_done, p);
}

long long
dc_request_wait_ms(const DC_REQUEST_CONF *conf, int admin, long wait)
{
    long long ms = admin ? DC_REQUEST_ADMIN_WAIT_MS : conf->timeout_ms;
    long long margin;

    if (wait > 0) {
        margin = wait / 5 < DC_REQUEST_MARGIN_MS ? wait / 5
            : DC_REQUEST_MARGIN_MS;
        if (wait - margin < ms)
            ms = wait - margin;
    }
    return ms > 0 ? ms : 1;
}

/* A client or lookup request for addr. */
static void
dc_request_client(const char *addr, int ptr_mode, int want_dnsbl,
                  int admin, int fresh, long wait, ATTR *reply)
{
    DC_PENDING *p = mycalloc(1, sizeof(*p));

    p->admin = admin;
    p->refs = 1;                        /* the handler's, until the end */
    if (ptr_mode != DC_PTR_OFF && dc_request_conf.resolving) {
        p->ptr_mode = ptr_mode;
        dc_request_ptr(p, addr, fresh, dc_request_now());
    }
    if (want_dnsbl && dc_dnsbl_zone_count() > 0) {
        p->refs++;
        p->needed++;
        p->bl = dc_dnsbl_start(addr, fresh, dc_pending_dnsbl_done, p);
    }
    if (p->needed == 0) {
        dc_pending_reply(p, reply);
        p->answered = 1;
    } else {
        p->token = dc_request_io.defer(dc_request_io.context);
        p->deferred = 1;
        event_request_timer(dc_pending_deadline, p,
                            dc_request_wait_ms(&dc_request_conf, admin,
                                               wait));
    }
    dc_pending_release(p);
}

/* A flag attribute: absent or 0 is 0, 1 is 1; -1 for anything else. */
static int
dc_request_flag(const ATTR *request, const char *name)
{
    const char *v = attr_get(request, name);

    if (v == NULL || strcmp(v, "0") == 0)
        return 0;
    return strcmp(v, "1") == 0 ? 1 : -1;
}

/* addr in one spelling, the cache's key; -1 when it is not numeric. */
static int
dc_request_canon(const char *addr, char *canon, size_t size)
{
    unsigned char bin[16];

    if (inet_pton(AF_INET, addr, bin) == 1)
        return inet_ntop(AF_INET, bin, canon, size) ? 0 : -1;
    if (inet_pton(AF_INET6, addr, bin) == 1)
        return inet_ntop(AF_INET6, bin, canon, size) ? 0 : -1;
    return -1;
}

static void
dc_request_lookup(const ATTR *request, const char *verb, const char *addr,
                  ATTR *reply)
{
    int     client = strcmp(verb, "client") == 0;
    const char *ptr = attr_get(request, "ptr");
    int     ptr_mode, dnsbl, fresh;
    long    wait = 0;

    if (addr == NULL) {
        dc_reply_error(reply, "no addr");
        return;
    }
    if (attr_get(request, "wait")
        && (attr_get_long(request, "wait", &wait) < 0 || wait <= 0)) {
        dc_reply_error(reply, "wait: not a positive number of milliseconds");
        return;
    }
    if (!client) {
        /* alligatectl: everything, from the cache or afresh. */
        if ((fresh = dc_request_flag(request, "fresh")) < 0) {
            dc_reply_error(reply, "fresh: not 0 or 1");
            return;
        }
        dc_request_client(addr, DC_PTR_WAIT, 1, 1, fresh, wait, reply);
        return;
    }
    if (ptr == NULL || strcmp(ptr, "0") == 0) {
        ptr_mode = DC_PTR_OFF;
    } else if (strcmp(ptr, "1") == 0) {
        ptr_mode = DC_PTR_WAIT;
    } else if (strcmp(ptr, "start") == 0) {
        ptr_mode = DC_PTR_START;
    } else {
        dc_reply_error(reply, "ptr: not 0, 1 or start");
        return;
    }
    if ((dnsbl = dc_request_flag(request, "dnsbl")) < 0) {
        dc_reply_error(reply, "dnsbl: not 0 or 1");
        return;
    }
    dc_request_client(addr, ptr_mode, dnsbl, 0, 0, wait, reply);
}

void
dc_request_handle(const ATTR *request, ATTR *reply)
{
    const char *verb = attr_get(request, "request");
    const char *addr = attr_get(request, "addr");
    char    canon[INET6_ADDRSTRLEN];

    metrics_inc(METRIC_DC_REQUESTS);
    if (verb == NULL) {
        dc_reply_error(reply, "no request");
        return;
    }
    if (addr) {
        if (dc_request_canon(addr, canon, sizeof(canon)) < 0) {
            dc_reply_error(reply, "not a numeric address");
            return;
        }
        addr = canon;
    }
    if (strcmp(verb, "client") == 0 || strcmp(verb, "lookup") == 0) {
        dc_request_lookup(request, verb, addr, reply);
    } else if (strcmp(verb, "flush") == 0) {
        attr_set(reply, "status", "0");
        attr_set_long(reply, "removed",
                      dc_cache_flush(dc_request_cache, addr));
        dc_cache_sync(dc_request_cache);
    } else if (strcmp(verb, "stats") == 0) {
        attr_set(reply, "status", "0");
        attr_set_long(reply, "entries", dc_cache_count(dc_request_cache));
        attr_set_long(reply, "hits", dc_hits);
        attr_set_long(reply, "misses", dc_misses);
        attr_set_long(reply, "refreshes", dc_refreshes);
        attr_set_long(reply, "inflight", dc_fcrdns_inflight()
                      + dc_dnsbl_inflight());
    } else {
        dc_reply_error(reply, "unknown request");
    }
}

/* Set-up -------------------------------------------------------------------*/

void
dc_request_init(DC_CACHE *cache, const DC_REQUEST_IO *io,
                long long (*now) (void))
{
    dc_request_cache = cache;
    dc_request_io = *io;
    dc_request_now = now;
    dc_fcrdns_init(dc_request_store);
    dc_dnsbl_init(dc_request_cache_get, dc_request_store);
}

void
dc_request_configure(const DC_REQUEST_CONF *conf)
{
    dc_request_conf = *conf;
    if (dc_request_conf.ttls.max_ttl < dc_request_conf.ttls.min_ttl)
        dc_request_conf.ttls.max_ttl = dc_request_conf.ttls.min_ttl;
}

void
dc_request_store_stop(int stop)
{
    dc_request_stopped = stop;
}
