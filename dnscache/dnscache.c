/* dnscache: every DNS query of the gateway, outside the SMTP path, with
 * its own cache.  This file is glue: the daemon skeleton
 * (lib/server_event.c), the socket (attr_serv, with deferred replies:
 * a request waits for its lookup, or for its deadline), the clock, the
 * timer that expires old entries, and the configuration.  The lookups
 * are in dc_fcrdns.c and dc_dnsbl.c on dc_resolve.c (c-ares), the cache
 * in dc_cache.c.  A client request runs its PTR lookup and its blocklist
 * queries side by side; the reply goes when both are done, or at the
 * deadline with what has come in (the rest goes on, for the cache).
 * A hit on a reverse lookup that is about to expire also starts a new
 * lookup in the background, for the cache (dc_cache_refresh_due).
 *
 *   dnscache -c CONFIG_DIR [-m] [-f] [-v]     (started by master) */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attr_serv.h"
#include "conf.h"
#include "dc_cache.h"
#include "dc_clnt.h"
#include "dc_dnsbl.h"
#include "dc_fcrdns.h"
#include "dc_resolve.h"
#include "events.h"
#include "msg.h"
#include "mymalloc.h"
#include "path.h"
#include "printable.h"
#include "server.h"
#include "unix_sock.h"

#define DC_SUBDIR               "dnscache"
#define DC_SOCKET_MODE          0600
#define DC_BACKLOG              1024
#define DC_EXPIRE_MS            1000    /* one expiry step, and a sync */
#define DC_EXPIRE_STEP          200     /* entries looked at per step */
#define DC_ADMIN_WAIT_MS        10000   /* alligatectl dns lookup */

/* A request waiting for its lookups. */
typedef struct DC_PENDING {
    unsigned long client;
    int     admin;                      /* request=lookup */
    int     deferred;                   /* the reply goes through attr_serv */
    int     answered;                   /* the deadline answered it */
    int     waiting;                    /* lookups under way */
    int     ptr;                        /* 0 off, 1 waiting, 2 have e */
    int     ptr_cached;
    long long ptr_ttl;
    DC_ENTRY e;
    DC_DNSBL *bl;                       /* NULL: no blocklists asked */
} DC_PENDING;

static ATTR_SERV *dc_serv;
static DC_CACHE *dc_cache;
static char *dc_dir;
static char *dc_sock_path;
static int dc_sock_fd = -1;
static int dc_resolving;                /* resolve_remote_hosts */
static int dc_stopping;
static DC_TTLS dc_ttls;
static long dc_hits, dc_misses, dc_refreshes;

static void
dc_configure(void)
{
    VBUF   *why = vbuf_create(100);
    DNSBL_SITES *sites;

    if ((sites = dnsbl_parse(conf_str(P_dnsbl_sites), why)) == NULL)
        msg_warn("dnsbl_sites: %s; no blocklists", vbuf_str(why));
    dc_dnsbl_configure(sites);
    vbuf_free(why);
    dc_resolving = conf_bool(P_resolve_remote_hosts);
    dc_ttls.min_ttl = conf_time(P_dns_cache_min_ttl);
    dc_ttls.max_ttl = conf_time(P_dns_cache_max_ttl);
    dc_ttls.negative_ttl = conf_time(P_dns_negative_ttl);
    if (dc_ttls.max_ttl < dc_ttls.min_ttl)
        dc_ttls.max_ttl = dc_ttls.min_ttl;
}

static const char *
dc_result_name(int result)
{
    return result == DC_RESULT_OK ? "ok" : result == DC_RESULT_NONE
        ? "none" : "temp";
}

/* The reply's PTR part from what a lookup found. */
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

/* No PTR lookup: resolve_remote_hosts = no, or ptr not asked for. */
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

static void
dc_reply_error(ATTR *reply, const char *reason)
{
    attr_set(reply, "status", "-1");
    attr_set(reply, "reason", reason);
}

/* Every finished lookup goes into the cache. */
static void
dc_store(const char *addr, const DC_ENTRY *e, long long dns_ttl,
         void *context)
{
    DC_ENTRY copy = *e;
    VBUF   *why;

    (void) context;
    if (dc_stopping || dc_cache == NULL)
        return;
    copy.expires = (long long) time(NULL)
        + dc_cache_ttl(&dc_ttls, e->result, dns_ttl);
    why = vbuf_create(100);
    if (dc_cache_put(dc_cache, addr, &copy, why) < 0)
        msg_warn("%s", vbuf_str(why));
    vbuf_free(why);
    if (msg_verbose)
        msg_info("%s: %s name=%s ptr=%s ttl=%lld", addr,
                 dc_result_name(e->result), e->name, e->ptr,
                 copy.expires - (long long) time(NULL));
}

/* The reply from what the lookups of p found so far. */
static void
dc_pending_reply(DC_PENDING *p, ATTR *reply)
{
    if (p->ptr == 2)
        dc_reply_entry(reply, &p->e, p->admin, p->ptr_ttl, p->ptr_cached);
    else
        dc_reply_off(reply, p->admin);
    /* Too late for this session; the lookup goes on for the cache. */
    if (p->ptr == 1)
        attr_set(reply, "temp", "1");
    dc_reply_dnsbl(reply, p->bl, p->admin);
}

static void
dc_pending_answer(DC_PENDING *p)
{
    ATTR   *reply = attr_create();

    dc_pending_reply(p, reply);
    (void) attr_serv_answer(dc_serv, p->client, reply);
    attr_free(reply);
    p->answered = 1;
}

static void
dc_pending_deadline(int event, void *context)
{
    (void) event;
    dc_pending_answer((DC_PENDING *) context);
}

/* One lookup of p is done: the reply goes when it was the last. */
static void
dc_pending_step(DC_PENDING *p)
{
    if (--p->waiting > 0 || !p->deferred)
        return;
    if (!p->answered) {
        event_cancel_timer(dc_pending_deadline, p);
        dc_pending_answer(p);
    }
    dc_dnsbl_free(p->bl);
    myfree(p);
}

static void
dc_pending_ptr_done(const char *addr, const DC_ENTRY *e, long long dns_ttl,
                    void *context)
{
    DC_PENDING *p = context;

    (void) addr;
    p->e = *e;
    p->ptr = 2;
    p->ptr_ttl = dc_cache_ttl(&dc_ttls, e->result, dns_ttl);
    dc_pending_step(p);
}

static void
dc_pending_dnsbl_done(DC_DNSBL *bl, void *context)
{
    DC_PENDING *p = context;

    p->bl = bl;
    dc_pending_step(p);
}

/* The blocklists read the cache through here. */
static int
dc_cache_lookup(const char *key, DC_ENTRY *e)
{
    if (dc_cache_get(dc_cache, key, (long long) time(NULL), e)) {
        dc_hits++;
        return 1;
    }
    dc_misses++;
    return 0;
}

/* A refresh has nobody waiting: dc_store has its answer. */
static void
dc_refresh_done(const char *addr, const DC_ENTRY *e, long long dns_ttl,
                void *context)
{
    (void) context;
    (void) dns_ttl;
    if (msg_verbose)
        msg_info("%s: refreshed: %s", addr, dc_result_name(e->result));
}

/* A client or lookup request for addr. */
static void
dc_serve_client(const char *addr, int want_ptr, int want_dnsbl, int admin,
                int fresh, ATTR *reply)
{
    DC_PENDING *p;
    long long now = (long long) time(NULL);

    p = mycalloc(1, sizeof(*p));
    p->admin = admin;
    /* One more than the lookups, so that one done at once does not
     * answer before the other is out. */
    p->waiting = 1;
    if (want_ptr && dc_resolving) {
        if (!fresh && dc_cache_get(dc_cache, addr, now, &p->e)) {
            dc_hits++;
            p->ptr = 2;
            p->ptr_cached = 1;
            p->ptr_ttl = p->e.expires - now;
            if (dc_cache_refresh_due(&dc_ttls, &p->e, now)) {
                dc_refreshes++;
                dc_fcrdns_start(addr, dc_refresh_done, NULL);
            }
        } else {
            dc_misses++;
            p->ptr = 1;
            p->waiting++;
            dc_fcrdns_start(addr, dc_pending_ptr_done, p);
        }
    }
    if (want_dnsbl && dc_dnsbl_zone_count() > 0) {
        p->waiting++;
        p->bl = dc_dnsbl_start(addr, fresh, dc_pending_dnsbl_done, p);
    }
    if (--p->waiting == 0) {
        dc_pending_reply(p, reply);
        dc_dnsbl_free(p->bl);
        myfree(p);
        return;
    }
    p->client = attr_serv_defer(dc_serv);
    p->deferred = 1;
    event_request_timer(dc_pending_deadline, p, admin ? DC_ADMIN_WAIT_MS
                        : conf_time_ms(P_dnscache_timeout));
}

static void
dc_serve(const ATTR *request, ATTR *reply, void *context)
{
    const char *verb = attr_get(request, "request");
    const char *addr = attr_get(request, "addr");
    const char *v, *d;
    unsigned char bin[16];
    char    canon[INET6_ADDRSTRLEN];
    int     is_client;

    (void) context;
    server_event_activity();
    if (verb == NULL) {
        dc_reply_error(reply, "no request");
        return;
    }
    /* One spelling per address, the cache's key. */
    if (addr) {
        if (inet_pton(AF_INET, addr, bin) == 1)
            inet_ntop(AF_INET, bin, canon, sizeof(canon));
        else if (inet_pton(AF_INET6, addr, bin) == 1)
            inet_ntop(AF_INET6, bin, canon, sizeof(canon));
        else {
            dc_reply_error(reply, "not a numeric address");
            return;
        }
        addr = canon;
    }
    if ((is_client = strcmp(verb, "client") == 0)
        || strcmp(verb, "lookup") == 0) {
        if (addr == NULL) {
            dc_reply_error(reply, "no addr");
            return;
        }
        v = attr_get(request, is_client ? "ptr" : "fresh");
        d = attr_get(request, "dnsbl");
        dc_serve_client(addr, is_client ? v && strcmp(v, "1") == 0 : 1,
                        is_client ? d && strcmp(d, "1") == 0 : 1,
                        !is_client, !is_client && v && strcmp(v, "1") == 0,
                        reply);
    } else if (strcmp(verb, "flush") == 0) {
        attr_set(reply, "status", "0");
        attr_set_long(reply, "removed", dc_cache_flush(dc_cache, addr));
        dc_cache_sync(dc_cache);
    } else if (strcmp(verb, "stats") == 0) {
        attr_set(reply, "status", "0");
        attr_set_long(reply, "entries", dc_cache_count(dc_cache));
        attr_set_long(reply, "hits", dc_hits);
        attr_set_long(reply, "misses", dc_misses);
        attr_set_long(reply, "refreshes", dc_refreshes);
        attr_set_long(reply, "inflight", dc_fcrdns_inflight()
                      + dc_dnsbl_inflight());
    } else {
        dc_reply_error(reply, "unknown request");
    }
}

static void
dc_expire(int event, void *context)
{
    long    removed;

    (void) event;
    (void) context;
    removed = dc_cache_expire(dc_cache, (long long) time(NULL),
                              DC_EXPIRE_STEP);
    if (removed && msg_verbose)
        msg_info("expired %ld entries", removed);
    dc_cache_sync(dc_cache);
    event_request_timer(dc_expire, NULL, DC_EXPIRE_MS);
}

static void
dc_init(void)
{
    VBUF   *why = vbuf_create(100);

    dc_configure();
    dc_dir = path_join(conf_str(P_data_directory), DC_SUBDIR);
    if ((dc_cache = dc_cache_open(dc_dir, why)) == NULL)
        msg_fatal("cache: %s", vbuf_str(why));
    if (dc_resolve_init(conf_list(P_dns_servers), why) < 0)
        msg_fatal("%s", vbuf_str(why));
    dc_fcrdns_init(dc_store);
    dc_dnsbl_init(dc_cache_lookup, dc_store);
    dc_sock_path = path_join(conf_str(P_run_directory), DC_SOCKET_NAME);
    if ((dc_sock_fd = unix_sock_listen(dc_sock_path, DC_SOCKET_MODE,
                                       DC_BACKLOG, why)) < 0)
        msg_fatal("socket: %s", vbuf_str(why));
    dc_serv = attr_serv_create(dc_sock_fd, DC_PROTO, DC_VERSION, dc_serve,
                               NULL);
    event_request_timer(dc_expire, NULL, DC_EXPIRE_MS);
    msg_info("ready: resolve_remote_hosts = %s, %ld cached, dns_servers = %s, socket %s",
             dc_resolving ? "yes" : "no", dc_cache_count(dc_cache),
             *conf_str(P_dns_servers) ? conf_str(P_dns_servers)
             : "/etc/resolv.conf", dc_sock_path);
    vbuf_free(why);
}

static void
dc_reload(void)
{
    VBUF   *why = vbuf_create(100);

    dc_configure();
    /* New servers for the lookups from now on; those under way end,
     * without caching their failure. */
    dc_stopping = 1;
    dc_resolve_end();
    dc_stopping = 0;
    if (dc_resolve_init(conf_list(P_dns_servers), why) < 0)
        msg_warn("%s; no DNS until the next reload", vbuf_str(why));
    msg_info("reloaded the configuration: resolve_remote_hosts = %s",
             dc_resolving ? "yes" : "no");
    vbuf_free(why);
}

static void
dc_exit(void)
{
    dc_stopping = 1;
    dc_resolve_end();
    event_cancel_timer(dc_expire, NULL);
    dc_serv = attr_serv_free(dc_serv);
    close(dc_sock_fd);
    unlink(dc_sock_path);
    dc_sock_path = myfree(dc_sock_path);
    dc_cache = dc_cache_close(dc_cache);
    dc_dir = myfree(dc_dir);
}

int
main(int argc, char **argv)
{
    static const SERVER_EVENT_OPTS opts = {
        .max_idle = SERVER_NO_LIMIT,
        .post_init = dc_init,
        .reload = dc_reload,
        .pre_exit = dc_exit,
    };

    return server_event_main(argc, argv, "dnscache", &opts);
}
