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

static RK_STATE *rk_state;
static ATTR_SERV *rk_serv;
static char *rk_dir;
static char *rk_sock_path;
static int rk_sock_fd = -1;

/* Wall-clock milliseconds: the windows outlive the process. */
static long long
rk_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
rk_serve(const ATTR *request, ATTR *reply, void *context)
{
    unsigned long client = attr_serv_client_id(rk_serv);

    rk_request_handle(context, request, reply, client, rk_now());
    /* A socket that holds registrations is closed only by its owner. */
    attr_serv_client_hold(rk_serv, rk_conn_holds(rk_state->conns, client));
}

static void
rk_closed(unsigned long client, void *context)
{
    rk_request_client_gone(context, client);
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
    event_request_timer(rk_expire, NULL, RK_EXPIRE_MS);
    event_request_timer(rk_check_store, NULL, RK_STORE_CHECK_MS);
    msg_info("ready: %ld keys from %s (%ld expired dropped), socket %s",
             loaded, rk_dir, dropped, rk_sock_path);
    vbuf_free(why);
}

static void
rk_exit(void)
{
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
        /* Only the log destination can change without a restart: the
         * skeleton's reload is all there is to do. */
        .pre_exit = rk_exit,
    };

    return server_event_main(argc, argv, "ratekeeper", &opts);
}
