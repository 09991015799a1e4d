/* relay: the queue manager and delivery agent, one daemon supervised by
 * master. It delivers every queued message to relay_host over SMTP (or
 * into local_maildir when there is none), retries what fails for a while,
 * and returns to the sender what cannot be delivered. See relay.h for the
 * files, alligate-relay(8) for the user's view. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "events.h"
#include "master_proto.h"
#include "msg.h"
#include "queue_file.h"
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

int
main(int argc, char **argv)
{
    VBUF *why = vbuf_create(100);

    server_init(argc, argv, "relay");
    if (queue_dir_init(conf_str(P_queue_directory), why) < 0)
        msg_fatal("queue directory: %s", vbuf_str(why));
    vbuf_free(why);
    server_watch_master();
    if (server.by_master)
        relay_pool_on_fork(relay_fork_close_master, NULL);
    relay_ctl_open();
    msg_info("starting: delivering to %s%s",
             *conf_str(P_relay_host) ? conf_str(P_relay_host) : "maildir ",
             *conf_str(P_relay_host) ? "" : conf_str(P_local_maildir));
    relay_queue_init();
    server_ready();

    while (!server_sigterm) {
        if (server_sighup) {
            server_sighup = 0;
            if (server_reload() == 0) {
                msg_info("reloaded the configuration");
                relay_pool_retire();
                relay_queue_reload();
            }
        }
        event_loop(1000);
        relay_pool_reap();
    }
    relay_queue_stop();
    relay_ctl_close();
    relay_pool_stop(RELAY_STOP_GRACE_MS);
    msg_info("stopped");
    return 0;
}
