/* ratekeeper: the only writer of the rate state.  This file is glue: the
 * daemon skeleton, the socket (served by attr_serv on the event loop),
 * the clock, and the timer that expires old keys; the loop is the
 * skeleton's (lib/server_event.c).  The counting is in
 * rk_window.c and rk_state.c, the protocol in rk_request.c, the database
 * (and the thread that writes it, so that the disk never stalls an
 * answer) in rk_store.c.
 *
 *   ratekeeper -c CONFIG_DIR [-m] [-f] [-v]     (started by master) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attr_serv.h"
#include "conf.h"
#include "events.h"
#include "msg.h"
#include "mymalloc.h"
#include "path.h"
#include "rk_clnt.h"
#include "rk_redis.h"
#include "rk_redis_conf.h"
#include "rk_request.h"
#include "server.h"
#include "unix_sock.h"

#define RK_SUBDIR               "ratekeeper"
#define RK_SOCKET_MODE          0600
#define RK_BACKLOG              1024
#define RK_EXPIRE_MS            100     /* one expiry step each */
#define RK_EXPIRE_ROUND_STEPS   100     /* steps for the whole table */
#define RK_EXPIRE_MIN_SLOTS     256
#define RK_EXPIRE_MAX_REMOVED   256     /* per step: bounds its time */
#define RK_STORE_CHECK_MS       1000    /* the writer thread's news */
#define RK_BACKEND_REDIS        1       /* ratekeeper_backend's index */

static RK_STATE *rk_state;
static ATTR_SERV *rk_serv;
static char *rk_dir;
static char *rk_sock_path;
static int rk_sock_fd = -1;
static RK_REDIS *rk_redis;             /* NULL: ratekeeper_backend = bdb */
static VBUF *rk_gateway;

/* A request waiting for Redis. */
typedef struct RK_PENDING {
    unsigned long id;                   /* attr_serv's client id */
    ATTR *request;                      /* taken from attr_serv */
    long long now;
} RK_PENDING;

/* Wall-clock milliseconds: the windows outlive the process. */
static long long
rk_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Redis has what it could give: the request's answer. */
static void
rk_answer(RK_PLAN *plan, void *context)
{
    RK_PENDING *p = context;
    ATTR *reply = attr_create();

    rk_plan_answer(plan);
    rk_state->plan = plan;
    rk_request_handle(rk_state, p->request, reply, p->id, p->now);
    rk_state->plan = NULL;
    rk_plan_free(plan);
    /* -1: the client is gone, and its close hook released what it held. */
    if (attr_serv_answer(rk_serv, p->id, reply) == 0)
        attr_serv_hold(rk_serv, p->id, rk_conn_holds(rk_state->conns, p->id));
    attr_free(reply);
    attr_free(p->request);
    myfree(p);
}

/* The request's handler, gathering: its operations, or NULL when it
 * needs none. */
static RK_PLAN *
rk_gather(const ATTR *request, ATTR *reply, unsigned long client,
          long long now)
{
    RK_PLAN *plan = rk_plan_create();

    rk_state->plan = plan;
    rk_request_handle(rk_state, request, reply, client, now);
    rk_state->plan = NULL;
    if (plan->nops == 0)
        return rk_plan_free(plan);
    return plan;
}

static void
rk_serve(const ATTR *request, ATTR *reply, void *context)
{
    unsigned long client = attr_serv_client_id(rk_serv);
    long long now = rk_now();
    RK_PENDING *p;
    RK_PLAN *plan = NULL;

    if (rk_redis == NULL || !rk_redis_connected(rk_redis)) {
        rk_request_handle(context, request, reply, client, now);
    } else if ((plan = rk_gather(request, reply, client, now)) == NULL) {
        /* Nothing asked of the state (an error, status): answered. */
    } else if (rk_redis_ready(rk_redis) && !rk_plan_releases_only(plan)) {
        p = mymalloc(sizeof(*p));
        p->id = attr_serv_defer(rk_serv);
        p->request = attr_serv_take_request(rk_serv);
        p->now = now;
        rk_redis_submit(rk_redis, plan, rk_answer, p);
        return;
    } else {
        /* Redis is slow, or the request only releases (a disconnect, whose
         * count smtpd drops: waiting for Redis would hold up the
         * session's next connect behind it): the answer comes from here
         * at once, and Redis still learns what happened. */
        attr_reset(reply);
        rk_request_handle(context, request, reply, client, now);
        rk_redis_send(rk_redis, plan);
    }
    /* A socket that holds registrations is closed only by its owner. */
    attr_serv_client_hold(rk_serv, rk_conn_holds(rk_state->conns, client));
}

static void
rk_closed(unsigned long client, void *context)
{
    RK_PLAN *plan = NULL;

    if (rk_redis && rk_redis_connected(rk_redis)) {
        plan = rk_plan_create();
        rk_state->plan = plan;
        rk_request_client_gone(context, client);
        rk_state->plan = NULL;
    }
    rk_request_client_gone(context, client);
    if (plan)
        rk_redis_send(rk_redis, plan);
}

/* This gateway's registrations, for the sync. */
static void
rk_regs(RK_REDIS_WALK_FN fn, void *fn_context, void *context)
{
    (void) context;
    rk_conn_walk(rk_state->conns, fn, fn_context);
}

/* status: the Redis backend's attributes. */
static void
rk_describe(ATTR *out, void *context)
{
    RK_REDIS_STATUS st;

    (void) context;
    rk_redis_status(rk_redis, &st);
    attr_set(out, "backend", "redis");
    attr_set(out, "redis", st.reachable ? "reachable" : "unreachable");
    attr_set(out, "redis_server", st.server);
    attr_set(out, "redis_error", st.error);
    attr_setf(out, "redis_since", "%lld", st.since_ms);
    attr_set(out, "gateway", vbuf_str(rk_gateway));
}

/* ratekeeper_backend = redis: the connection, in the background; at a
 * reload, a new connection when a redis_* setting changed (the plans in
 * flight on the old one are answered from memory), none when the
 * backend is now bdb. */
static void
rk_redis_setup(int reload)
{
    VBUF *why = vbuf_create(100), *password = vbuf_create(64);
    RK_REDIS_CONF rc;

    if (conf_enum(P_ratekeeper_backend) != RK_BACKEND_REDIS) {
        if (rk_redis) {
            rk_redis = rk_redis_free(rk_redis);
            rk_state->describe = NULL;
            msg_info("reloaded: backend bdb, Redis no longer used");
        }
        goto done;
    }
    if (rk_gateway == NULL) {
        rk_gateway = vbuf_create(64);
        if (rk_redis_conf_gateway(rk_dir, conf_str(P_myhostname), rk_gateway,
                                  why) < 0)
            msg_fatal("gateway id: %s", vbuf_str(why));
    }
    memset(&rc, 0, sizeof(rc));
    if (*conf_str(P_redis_password_file)) {
        if (rk_redis_conf_password(conf_str(P_redis_password_file), password,
                                   why) < 0) {
            if (!reload)
                msg_fatal("redis_password_file: %s", vbuf_str(why));
            msg_error("redis_password_file: %s; Redis settings unchanged",
                      vbuf_str(why));
            goto done;
        }
        rc.password = vbuf_str(password);
    }
    rc.servers = conf_list(P_redis_servers);
    rc.sentinels = conf_list(P_redis_sentinels);
    rc.sentinel_master = conf_str(P_redis_sentinel_master);
    rc.database = (int) conf_int(P_redis_database);
    rc.prefix = conf_str(P_redis_key_prefix);
    rc.timeout_ms = (int) conf_time_ms(P_redis_timeout);
    rc.heartbeat_ms = (int) conf_time_ms(P_redis_heartbeat_time);
    rc.gateway = vbuf_str(rk_gateway);
    if (rk_redis && rk_redis_same_conf(rk_redis, &rc))
        goto done;
    if (rk_redis)
        rk_redis = rk_redis_free(rk_redis);
    rk_redis = rk_redis_create(&rc, rk_regs, NULL);
    rk_state->describe = rk_describe;
    if (reload)
        msg_info("reloaded: backend redis with the new settings, as gateway %s",
                 vbuf_str(rk_gateway));
done:
    explicit_bzero(vbuf_str(password), vbuf_len(password));
    vbuf_free(password);
    vbuf_free(why);
}

static void
rk_reload(void)
{
    rk_redis_setup(1);
}

static void
rk_expire(int event, void *context)
{
    size_t slots = rk_window_table_slots(rk_state->windows)
        / RK_EXPIRE_ROUND_STEPS;

    (void) event;
    (void) context;
    if (slots < RK_EXPIRE_MIN_SLOTS)
        slots = RK_EXPIRE_MIN_SLOTS;
    rk_state_expire(rk_state, rk_now(), slots, RK_EXPIRE_MAX_REMOVED);
    event_request_timer(rk_expire, NULL, RK_EXPIRE_MS);
}

static void
rk_check_store(int event, void *context)
{
    (void) event;
    (void) context;
    rk_state_check_store(rk_state, rk_now());
    event_request_timer(rk_check_store, NULL, RK_STORE_CHECK_MS);
}

/* The state first: while recovery runs, smtpd finds no socket and goes
 * on without the limits rather than waiting. */
static void
rk_init(void)
{
    VBUF *why = vbuf_create(100);
    RK_STORE *store;
    long loaded, dropped;

    rk_dir = path_join(conf_str(P_data_directory), RK_SUBDIR);
    if ((store = rk_store_open(rk_dir, why)) == NULL)
        msg_fatal("rate database: %s", vbuf_str(why));
    rk_state = rk_state_create(store);
    if ((loaded = rk_store_load(store, rk_state->windows, rk_now(), &dropped,
                                why)) < 0)
        msg_fatal("rate database %s: %s", rk_dir, vbuf_str(why));

    rk_sock_path = path_join(conf_str(P_run_directory), RK_SOCKET_NAME);
    if ((rk_sock_fd = unix_sock_listen(rk_sock_path, RK_SOCKET_MODE, RK_BACKLOG,
                                       why)) < 0)
        msg_fatal("socket: %s", vbuf_str(why));
    if (rk_store_start_writer(store, why) < 0)
        msg_fatal("rate database: %s", vbuf_str(why));
    rk_serv = attr_serv_create(rk_sock_fd, RK_PROTO, RK_VERSION, rk_serve,
                               rk_state);
    attr_serv_set_close_hook(rk_serv, rk_closed);
    rk_redis_setup(0);
    event_request_timer(rk_expire, NULL, RK_EXPIRE_MS);
    event_request_timer(rk_check_store, NULL, RK_STORE_CHECK_MS);
    msg_info("ready: %ld keys from %s (%ld expired dropped), socket %s, "
             "backend %s%s", loaded, rk_dir, dropped, rk_sock_path,
             rk_redis ? "redis as gateway " : "bdb",
             rk_redis ? vbuf_str(rk_gateway) : "");
    vbuf_free(why);
}

static void
rk_exit(void)
{
    /* Its plans are answered first (from memory), while the server is
     * there to take the answers. */
    rk_redis = rk_redis_free(rk_redis);
    if (rk_gateway)
        vbuf_free(rk_gateway);
    rk_serv = attr_serv_free(rk_serv);
    close(rk_sock_fd);
    unlink(rk_sock_path);
    rk_state = rk_state_free(rk_state);
    rk_sock_path = myfree(rk_sock_path);
    rk_dir = myfree(rk_dir);
}

int
main(int argc, char **argv)
{
    static const SERVER_EVENT_OPTS opts = {
        .max_idle = SERVER_NO_LIMIT,
        .post_init = rk_init,
        .reload = rk_reload,
        .pre_exit = rk_exit,
    };

    return server_event_main(argc, argv, "ratekeeper", &opts);
}
