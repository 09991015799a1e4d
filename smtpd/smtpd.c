/* smtpd: a pre-forked SMTP worker.  Waits on its service's listening
 * sockets, serves one session at a time, reports busy/idle to master, and
 * retires after smtpd_max_use sessions or smtpd_max_idle without one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "hostport.h"
#include "master_proto.h"
#include "monotime.h"
#include "msg.h"
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
        strcpy(state->addr, "unknown");
    }
    smtpd_session(state);
    smtpd_state_free(state);
}

int
main(int argc, char **argv)
{
    struct epoll_event ev;
    long long idle_since;
    int uses = 0;
    int ep;
    int i;

    server_init(argc, argv, "smtpd");
    if (server.listen_count == 0)
        msg_fatal("no listening sockets: smtpd is started by master");

    /* EPOLLEXCLUSIVE: a new client wakes one idle worker, not all. */
    if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
        msg_fatal("epoll_create1: %m");
    for (i = 0; i < server.listen_count; i++) {
        memset(&ev, 0, sizeof(ev));
        ev.events = EPOLLIN | EPOLLEXCLUSIVE;
        ev.data.fd = server.listen_fds[i];
        if (epoll_ctl(ep, EPOLL_CTL_ADD, server.listen_fds[i], &ev) < 0)
            msg_fatal("epoll_ctl: %m");
    }
    if (server.by_master) {
        memset(&ev, 0, sizeof(ev));
        ev.events = EPOLLIN;
        ev.data.fd = MASTER_LIFE_FD;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, MASTER_LIFE_FD, &ev) < 0)
            msg_fatal("epoll_ctl: %m");
    }

    idle_since = monotime_ms();
    while (!server_sigterm && !server_sighup) {
        struct epoll_event events[4];
        int n = epoll_wait(ep, events, 4, 1000);

        if (n < 0 && errno != EINTR)
            msg_fatal("epoll_wait: %m");
        if (n <= 0) {
            if (monotime_ms() - idle_since > conf_time_ms(P_smtpd_max_idle))
                break;
            continue;
        }
        for (i = 0; i < n; i++) {
            int fd;

            if (events[i].data.fd == MASTER_LIFE_FD)
                exit(0);                /* master is gone */
            /* Told to retire (reload, stop) while waiting: a new client
             * belongs to a worker with the new configuration. */
            if (server_sigterm || server_sighup)
                return 0;
            fd = accept4(events[i].data.fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EINVAL)
                    return 0;           /* master shut the listener down */
                if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                    msg_warn("accept: %m");
                continue;
            }
            /* While the next client is already waiting, serve it at
             * once: no idle and busy reports to master in between, and
             * ratekeeper gets the last session's disconnect in one write
             * with the next one's connect. */
            server_report(MASTER_STAT_BUSY);
            do {
                smtpd_serve(fd);
                ++uses;
            } while (uses < conf_int(P_smtpd_max_use)
                     && !server_sigterm && !server_sighup
                     && (fd = accept4(events[i].data.fd, NULL, NULL,
                                      SOCK_CLOEXEC)) >= 0);
            smtpd_rate_flush();
            server_report(MASTER_STAT_IDLE);
            idle_since = monotime_ms();
            if (uses >= conf_int(P_smtpd_max_use))
                exit(0);
            break;      /* look at signals before the next client */
        }
    }
    return 0;
}
