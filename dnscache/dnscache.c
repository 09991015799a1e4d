/* dnscache: every DNS query of the gateway, outside the SMTP path, with
 * its own cache.  This file is glue: the daemon skeleton
 * (lib/server_event.c), the socket (attr_serv, with deferred replies:
 * a request waits for its lookup, or for its deadline), the clock, the
 * timer that expires old entries, and the configuration.  The lookups
 * are in dc_fcrdns.c on dc_resolve.c (c-ares), the cache in dc_cache.c.
 *
 *   dnscache -c CONFIG_DIR [-m] [-f] [-v]     (started by master)
 *
 * The blocklists (dnsbl_sites) are not queried yet: a client request
 * with dnsbl=1 is answered score=0. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attr_serv.h"
#include "conf.h"
#include "dc_cache.h"
#include "dc_clnt.h"
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

/* A request waiting for its lookup. */
typedef struct DC_PENDING {
    unsigned long client;
    int     admin;                      /* request=lookup */
    int     answered;                   /* the deadline answered it */
} DC_PENDING;

static ATTR_SERV *dc_serv;
static DC_CACHE *dc_cache;
static char *dc_dir;
static char *dc_sock_path;
static int dc_sock_fd = -1;
static int dc_resolving;                /* resolve_remote_hosts */
static int dc_stopping;
static DC_TTLS dc_ttls;
static long dc_hits, dc_misses;

static void
dc_configure(void)
{
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

/* The reply to a client or lookup request from what a lookup found. */
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
    attr_set(reply, "score", "0");
    attr_set(reply, "sites", "");
    attr_set(reply, "late", "");
    if (admin) {
        attr_set(reply, "result", dc_result_name(e->result));
        attr_set(reply, "ptr", e->ptr);
        attr_setf(reply, "ttl", "%lld", ttl);
        attr_set(reply, "cached", cached ? "1" : "0");
    }
}

/* No lookup: resolve_remote_hosts = no, or ptr not asked for. */
static void
dc_reply_off(ATTR *reply, int admin)
{
    attr_set(reply, "status", "0");
    attr_set(reply, "name", "");
    attr_set(reply, "verified", "0");
    attr_set(reply, "temp", "0");
    attr_set(reply, "score", "0");
    attr_set(reply, "sites", "");
    attr_set(reply, "late", "");
    if (admin) {
        attr_set(reply, "result", "off");
        attr_set(reply, "ptr", "");
        attr_set(reply, "ttl", "-1");
        attr_set(reply, "cached", "0");
    }
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

static void
dc_pending_deadline(int event, void *context)
{
    DC_PENDING *p = context;
    ATTR   *reply = attr_create();

    (void) event;
    /* Too late for this session; the lookup goes on for the cache. */
    dc_reply_off(reply, p->admin);
    attr_set(reply, "temp", "1");
    (void) attr_serv_answer(dc_serv, p->client, reply);
    attr_free(reply);
    p->answered = 1;
}

static void
dc_pending_done(const char *addr, const DC_ENTRY *e, long long dns_ttl,
                void *context)
{
    DC_PENDING *p = context;
    ATTR   *reply;

    (void) addr;
    if (!p->answered) {
        event_cancel_timer(dc_pending_deadline, p);
        reply = attr_create();
        dc_reply_entry(reply, e, p->admin,
                       dc_cache_ttl(&dc_ttls, e->result, dns_ttl), 0);
        (void) attr_serv_answer(dc_serv, p->client, reply);
        attr_free(reply);
    }
    myfree(p);
}

/* A client or lookup request for addr. */
static void
dc_serve_client(const char *addr, int want_ptr, int admin, int fresh,
                ATTR *reply)
{
    DC_ENTRY e;
    DC_PENDING *p;
    long long now = (long long) time(NULL);

    if (!want_ptr || !dc_resolving) {
        dc_reply_off(reply, admin);
        return;
    }
    if (!fresh && dc_cache_get(dc_cache, addr, now, &e)) {
        dc_hits++;
        dc_reply_entry(reply, &e, admin, e.expires - now, 1);
        return;
    }
    dc_misses++;
    p = mycalloc(1, sizeof(*p));
    p->client = attr_serv_defer(dc_serv);
    p->admin = admin;
    event_request_timer(dc_pending_deadline, p, admin ? DC_ADMIN_WAIT_MS
                        : conf_time_ms(P_dnscache_timeout));
    dc_fcrdns_start(addr, dc_pending_done, p);
}

static void
dc_serve(const ATTR *request, ATTR *reply, void *context)
{
    const char *verb = attr_get(request, "request");
    const char *addr = attr_get(request, "addr");
    const char *v;
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
        dc_serve_client(addr, is_client ? v && strcmp(v, "1") == 0 : 1,
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
        attr_set_long(reply, "inflight", dc_fcrdns_inflight());
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
