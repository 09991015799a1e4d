/* authd: checks AUTH credentials for smtpd, the only process that reads
 * the user database or asks the backend.  This file is glue: the daemon
 * skeleton (lib/server_event.c), the socket (attr_serv), the clock, the
 * timers that send a failure's answer late, and the configuration.  The
 * protocol is in authd_request.c, the cache in authd_cache.c, the
 * slowing of attacked users in authd_delay.c, the checks in
 * authd_local.c and (through child processes, authd_backend.c)
 * authd_relay.c.
 *
 *   authd -c CONFIG_DIR [-m] [-f] [-v]     (started by master) */
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "attr_serv.h"
#include "auth_clnt.h"
#include "authd_backend.h"
#include "authd_request.h"
#include "conf.h"
#include "events.h"
#include "msg.h"
#include "mymalloc.h"
#include "path.h"
#include "server.h"
#include "unix_sock.h"

#define AUTHD_SOCKET_MODE       0600
#define AUTHD_BACKLOG           256
#define AUTHD_EXPIRE_MS         10000   /* cache and counts clean-up */
#define AUTHD_EXPIRE_MAX        1000    /* entries per clean-up */

/* A reply owed to a client, sent from a timer. */
typedef struct AUTHD_PENDING {
    unsigned long client;
    ATTR *reply;
    struct AUTHD_PENDING *prev, *next;
} AUTHD_PENDING;

static AUTHD authd;
static ATTR_SERV *authd_serv;
static char *authd_sock_path;
static int authd_sock_fd = -1;
static AUTHD_PENDING *authd_pending;

/* The parameters authd works with, from the active configuration. */
static void
authd_configure(void)
{
    const char *db = conf_str(P_auth_user_database);

    authd.backend = conf_enum(P_auth_backend) == 1 ? AUTHD_BACKEND_RELAY
        : AUTHD_BACKEND_LOCAL;
    authd.cache_ms = conf_time_ms(P_auth_cache_time);
    authd.limits.base_ms = conf_time_ms(P_auth_failure_delay);
    authd.limits.limit = (int) conf_int(P_auth_failure_limit);
    authd.limits.window_ms = conf_time_ms(P_auth_failure_window);
    if (authd.backend == AUTHD_BACKEND_LOCAL && authd.local == NULL)
        authd.local = authd_local_create(db, NULL);
    else if (authd.backend == AUTHD_BACKEND_LOCAL)
        authd_local_set_path(authd.local, db);
    else
        authd.local = authd_local_free(authd.local);
    if (authd.backend == AUTHD_BACKEND_RELAY && *conf_str(P_relay_host) == 0)
        msg_warn("auth_backend = relay without relay_host: every check is a temporary failure");
}

static void
authd_pending_unlink(AUTHD_PENDING *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        authd_pending = p->next;
    if (p->next)
        p->next->prev = p->prev;
}

static void
authd_pending_fire(int event, void *context)
{
    AUTHD_PENDING *p = context;

    (void) event;
    /* A client gone meanwhile (its smtpd died) needs no answer. */
    (void) attr_serv_answer(authd_serv, p->client, p->reply);
    authd_pending_unlink(p);
    attr_free(p->reply);
    myfree(p);
}

/* reply goes to client after delay_ms. */
static void
authd_answer_later(unsigned long client, const ATTR *reply,
                   long long delay_ms)
{
    AUTHD_PENDING *p = mymalloc(sizeof(*p));
    int i;

    p->client = client;
    p->reply = attr_create();
    for (i = 0; i < attr_count(reply); i++)
        attr_set(p->reply, attr_name_at(reply, i), attr_value_at(reply, i));
    p->prev = NULL;
    p->next = authd_pending;
    if (authd_pending)
        authd_pending->prev = p;
    authd_pending = p;
    event_request_timer(authd_pending_fire, p, delay_ms);
}

/* The backend's result, from the event loop. */
static void
authd_backend_done(const AUTHD_CHECK *check, int result, const char *reason,
                   void *context)
{
    unsigned long client = *(unsigned long *) context;
    ATTR *reply = attr_create();
    long long delay_ms = 0;

    myfree(context);
    if (authd_request_backend_done(&authd, check, result, reason, reply,
                                   event_now_ms(), &delay_ms)
        == AUTHD_ANSWER_LATER)
        authd_answer_later(client, reply, delay_ms);
    else
        (void) attr_serv_answer(authd_serv, client, reply);
    attr_free(reply);
}

static void
authd_serve(const ATTR *request, ATTR *reply, void *context)
{
    AUTHD_CHECK *check;
    unsigned long *client;
    long long delay_ms;

    (void) context;
    server_event_activity();
    switch (authd_request_handle(&authd, request, reply,
                                 event_time_refresh(), &delay_ms, &check)) {
    case AUTHD_ANSWER_LATER:
        authd_answer_later(attr_serv_defer(authd_serv), reply, delay_ms);
        break;
    case AUTHD_ANSWER_BACKEND:
        client = mymalloc(sizeof(*client));
        *client = attr_serv_defer(authd_serv);
        authd_backend_start(check, authd_backend_done, client);
        break;
    }
}

static void
authd_expire(int event, void *context)
{
    long long now = event_now_ms();

    (void) event;
    (void) context;
    authd_cache_expire(authd.cache, now, AUTHD_EXPIRE_MAX);
    authd_delay_expire(authd.delay, now, authd.limits.window_ms,
                       AUTHD_EXPIRE_MAX);
    event_request_timer(authd_expire, NULL, AUTHD_EXPIRE_MS);
}

static void
authd_init(void)
{
    unsigned char salt[AUTHD_CACHE_SALT_LEN];
    VBUF *why = vbuf_create(100);

    if (RAND_bytes(salt, sizeof(salt)) != 1)
        msg_fatal("no random bytes for the cache key");
    authd.cache = authd_cache_create(salt, sizeof(salt), AUTHD_CACHE_MAX);
    memset(salt, 0, sizeof(salt));
    authd.delay = authd_delay_create(AUTHD_DELAY_MAX);
    authd_configure();

    authd_sock_path = path_join(conf_str(P_run_directory), AUTH_SOCKET_NAME);
    if ((authd_sock_fd = unix_sock_listen(authd_sock_path, AUTHD_SOCKET_MODE,
                                          AUTHD_BACKLOG, why)) < 0)
        msg_fatal("socket: %s", vbuf_str(why));
    authd_serv = attr_serv_create(authd_sock_fd, AUTH_PROTO, AUTH_VERSION,
                                  authd_serve, NULL);
    event_request_timer(authd_expire, NULL, AUTHD_EXPIRE_MS);
    msg_info("ready: auth_backend = %s%s%s, socket %s",
             conf_str(P_auth_backend),
             authd.backend == AUTHD_BACKEND_LOCAL ? ", users in " : "",
             authd.backend == AUTHD_BACKEND_LOCAL
             ? conf_str(P_auth_user_database) : "", authd_sock_path);
    vbuf_free(why);
}

/* A new configuration: what was cached was checked against the old
 * database or backend. */
static void
authd_reload(void)
{
    authd_configure();
    authd_cache_flush(authd.cache);
    msg_info("reloaded the configuration: auth_backend = %s",
             conf_str(P_auth_backend));
}

static void
authd_exit(void)
{
    AUTHD_PENDING *p;

    authd_backend_stop();
    while ((p = authd_pending) != NULL) {
        authd_pending_unlink(p);
        event_cancel_timer(authd_pending_fire, p);
        attr_free(p->reply);
        myfree(p);
    }
    authd_serv = attr_serv_free(authd_serv);
    close(authd_sock_fd);
    unlink(authd_sock_path);
    authd_sock_path = myfree(authd_sock_path);
    authd.cache = authd_cache_free(authd.cache);
    authd.delay = authd_delay_free(authd.delay);
    authd.local = authd_local_free(authd.local);
}

int
main(int argc, char **argv)
{
    static const SERVER_EVENT_OPTS opts = {
        .max_idle = SERVER_NO_LIMIT,
        .post_init = authd_init,
        .reload = authd_reload,
        .pre_exit = authd_exit,
    };

    return server_event_main(argc, argv, "authd", &opts);
}
