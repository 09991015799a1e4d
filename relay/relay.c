/* relay: the queue manager and delivery agent, one daemon supervised by
 * master. It delivers every queued message to relay_host over SMTP (or
 * into local_maildir when there is none), retries what fails for a while,
 * and returns to the sender what cannot be delivered. See relay.h for the
 * files, alligate-relay(8) for the user's view. */
#include <unistd.h>

#include "conf.h"
#include "master_proto.h"
#include "msg.h"
#include "queue_dir.h"
#include "relay.h"
#include "server.h"
#include "vbuf.h"

#define RELAY_STOP_GRACE_MS     5000    /* agents finish their message */

/* In an agent: the pipe on which the queue manager hears that master is
 * gone; an agent dies with the queue manager instead (PR_SET_PDEATHSIG). */
static void
relay_fork_close_master(void *context)
{
    (void) context;
    close(MASTER_LIFE_FD);
}

static void
relay_init(void)
{
    VBUF *why = vbuf_create(100);

    if (queue_dir_init(conf_str(P_queue_directory), why) < 0)
        msg_fatal("queue directory: %s", vbuf_str(why));
    vbuf_free(why);
    if (server.by_master)
        relay_pool_on_fork(relay_fork_close_master, NULL);
    relay_ctl_open();
    msg_info("starting: delivering to %s%s",
             *conf_str(P_relay_host) ? conf_str(P_relay_host) : "maildir ",
             *conf_str(P_relay_host) ? "" : conf_str(P_local_maildir));
    relay_queue_init();
}

/* The agents of the old configuration finish their message and go; the
 * new ones and the queue follow the new configuration. */
static void
relay_reload(void)
{
    msg_info("reloaded the configuration");
    relay_pool_retire();
    relay_queue_reload();
}

static void
relay_exit(void)
{
    relay_queue_stop();
    relay_ctl_close();
    relay_pool_stop(RELAY_STOP_GRACE_MS);
}

int
main(int argc, char **argv)
{
    static const SERVER_EVENT_OPTS opts = {
        .max_idle = SERVER_NO_LIMIT,
        .post_init = relay_init,
        .reload = relay_reload,
        .after_events = relay_pool_reap,
        .pre_exit = relay_exit,
    };

    return server_event_main(argc, argv, "relay", &opts);
}
