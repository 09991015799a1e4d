/* dnscache: every DNS query of the gateway, outside the SMTP path, with
 * its own cache.  This file is glue: the daemon skeleton
 * (lib/server_event.c), the socket (attr_serv, whose deferred replies
 * let a request wait for its lookups), the clock, the timer that expires
 * old entries, and the configuration.  The requests are answered in
 * dc_request.c; the lookups are in dc_fcrdns.c and dc_dnsbl.c on
 * dc_resolve.c (c-ares), the cache in dc_cache.c.
 *
 *   dnscache -c CONFIG_DIR [-m] [-f] [-v]     (started by master) */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attr_serv.h"
#include "conf.h"
#include "dc_cache.h"
#include "dc_clnt.h"
#include "dc_dnsbl.h"
#include "dc_request.h"
#include "dc_resolve.h"
#include "events.h"
#include "msg.h"
#include "mymalloc.h"
#include "path.h"
#include "server.h"
#include "unix_sock.h"

#define DC_SUBDIR               "dnscache"
#define DC_SOCKET_MODE          0600
#define DC_BACKLOG              1024
#define DC_EXPIRE_MS            1000    /* one expiry step, and a sync */
#define DC_EXPIRE_STEP          200     /* entries looked at per step */

static ATTR_SERV *dc_serv;
static DC_CACHE *dc_cache;
static char *dc_dir;
static char *dc_sock_path;
static int dc_sock_fd = -1;
static char *dc_servers;                /* dns_servers as they were */

static void
dc_configure(void)
{
    VBUF   *why = vbuf_create(100);
    DNSBL_SITES *sites;
    DC_REQUEST_CONF rc;

    if ((sites = dnsbl_parse(conf_str(P_dnsbl_sites), why)) == NULL)
        msg_warn("dnsbl_sites: %s; no blocklists", vbuf_str(why));
    dc_dnsbl_configure(sites);
    vbuf_free(why);
    rc.resolving = conf_bool(P_resolve_remote_hosts);
    rc.ttls.min_ttl = conf_time(P_dns_cache_min_ttl);
    rc.ttls.max_ttl = conf_time(P_dns_cache_max_ttl);
    rc.ttls.negative_ttl = conf_time(P_dns_negative_ttl);
    rc.timeout_ms = conf_time_ms(P_dnscache_timeout);
    dc_request_configure(&rc);
}

/* The cache's clock: its entries outlive the process. */
static long long
dc_now(void)
{
    return (long long) time(NULL);
}

static unsigned long
dc_defer(void *context)
{
    (void) context;
    return attr_serv_defer(dc_serv);
}

static void
dc_answer(void *context, unsigned long token, const ATTR *reply)
{
    (void) context;
    (void) attr_serv_answer(dc_serv, token, reply);
}

static void
dc_serve(const ATTR *request, ATTR *reply, void *context)
{
    (void) context;
    server_event_activity();
    dc_request_handle(request, reply);
}


static void
dc_expire(int event, void *context)
{
    long    removed;

    (void) event;
    (void) context;
    removed = dc_cache_expire(dc_cache, dc_now(), DC_EXPIRE_STEP);
    if (removed && msg_verbose)
        msg_info("expired %ld entries", removed);
    dc_cache_sync(dc_cache);
    event_request_timer(dc_expire, NULL, DC_EXPIRE_MS);
}

static void
dc_init(void)
{
    static const DC_REQUEST_IO io = {dc_defer, dc_answer, NULL};
    VBUF   *why = vbuf_create(100);

    dc_configure();
    dc_dir = path_join(conf_str(P_data_directory), DC_SUBDIR);
    if ((dc_cache = dc_cache_open(dc_dir, why)) == NULL)
        msg_fatal("cache: %s", vbuf_str(why));
    if (dc_resolve_init(conf_list(P_dns_servers), why) < 0)
        msg_fatal("%s", vbuf_str(why));
    dc_request_init(dc_cache, &io, dc_now);
    dc_servers = mystrdup(conf_str(P_dns_servers));
    dc_sock_path = path_join(conf_str(P_run_directory), DC_SOCKET_NAME);
    if ((dc_sock_fd = unix_sock_listen(dc_sock_path, DC_SOCKET_MODE,
                                       DC_BACKLOG, why)) < 0)
        msg_fatal("socket: %s", vbuf_str(why));
    dc_serv = attr_serv_create(dc_sock_fd, DC_PROTO, DC_VERSION, dc_serve,
                               NULL);
    event_request_timer(dc_expire, NULL, DC_EXPIRE_MS);
    msg_info("ready: resolve_remote_hosts = %s, %ld cached, dns_servers = %s, socket %s",
             conf_bool(P_resolve_remote_hosts) ? "yes" : "no",
             dc_cache_count(dc_cache),
             *conf_str(P_dns_servers) ? conf_str(P_dns_servers)
             : "/etc/resolv.conf", dc_sock_path);
    vbuf_free(why);
}

static void
dc_reload(void)
{
    VBUF   *why = vbuf_create(100);
    long    removed = 0;

    dc_configure();
    /* New servers for the lookups from now on; those under way end,
     * without caching their failure. */
    dc_request_store_stop(1);
    dc_resolve_end();
    dc_request_store_stop(0);
    if (dc_resolve_init(conf_list(P_dns_servers), why) < 0)
        msg_warn("%s; no DNS until the next reload", vbuf_str(why));
    /* The old servers' failures say nothing of the new ones. */
    if (strcmp(dc_servers, conf_str(P_dns_servers)) != 0) {
        removed = dc_cache_flush_temp(dc_cache);
        dc_cache_sync(dc_cache);
        myfree(dc_servers);
        dc_servers = mystrdup(conf_str(P_dns_servers));
    }
    msg_info("reloaded the configuration: resolve_remote_hosts = %s, "
             "dns_servers = %s%s",
             conf_bool(P_resolve_remote_hosts) ? "yes" : "no",
             *dc_servers ? dc_servers : "/etc/resolv.conf",
             removed ? " (temporary failures forgotten)" : "");
    vbuf_free(why);
}

static void
dc_exit(void)
{
    dc_request_store_stop(1);
    dc_resolve_end();
    event_cancel_timer(dc_expire, NULL);
    dc_serv = attr_serv_free(dc_serv);
    close(dc_sock_fd);
    unlink(dc_sock_path);
    dc_sock_path = myfree(dc_sock_path);
    dc_cache = dc_cache_close(dc_cache);
    dc_dir = myfree(dc_dir);
    dc_servers = myfree(dc_servers);
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
