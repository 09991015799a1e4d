/* smtpd: a pre-forked SMTP worker.  Waits on its service's listening
 * sockets, serves one session at a time, reports busy/idle to master, and
 * retires after smtpd_max_use sessions or smtpd_max_idle without one: the
 * loop is the skeleton's (lib/server_single.c), this file the session's
 * start. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "conf.h"
#include "hostport.h"
#include "server.h"
#include "smtpd.h"
#include "smtpd_rate.h"

static void
smtpd_serve(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    SMTPD_STATE *state = smtpd_state_create(fd, server.service);
    char buf[64];

    if (getpeername(fd, (struct sockaddr *) &ss, &len) == 0) {
        hostport_addr_str((struct sockaddr *) &ss, buf, sizeof(buf));
        snprintf(state->addr, sizeof(state->addr), "%s", buf);
    } else {
        snprintf(state->addr, sizeof(state->addr), "%s", "unknown");
    }
    smtpd_session(state);
    smtpd_state_free(state);
}

int
main(int argc, char **argv)
{
    static const SERVER_SINGLE_OPTS opts = {
        .max_use = P_smtpd_max_use,
        .max_idle = P_smtpd_max_idle,
        /* The last session's disconnect goes to ratekeeper before the
         * worker waits; while a client waits it goes with its connect. */
        .pre_wait = smtpd_rate_flush,
        .post_init = smtpd_tls_init,
    };

    return server_single_main(argc, argv, "smtpd", smtpd_serve, &opts);
}
