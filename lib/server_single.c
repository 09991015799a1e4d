/* The pool worker's loop (Postfix's single_server): one client at a time
 * from the listening sockets master hands the worker, busy and idle told
 * to master, and the limits on uses and idle time that make workers
 * retire.  See server.h. */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "conf.h"
#include "master_proto.h"
#include "monotime.h"
#include "msg.h"
#include "server.h"

#define SERVER_SINGLE_TICK_MS   1000    /* how often the idle time is read */

/* The parameters name what the skeleton reads; a wrong one is ours. */
static void
server_single_check_param(CONF_ID id, CONF_TYPE type, const char *what)
{
    if (id != SERVER_NO_LIMIT && (id > SERVER_NO_LIMIT || conf_params[id].type != type))
        msg_panic("server: %s is not a parameter of the right type", what);
}

/* Waits for the listening sockets, and for master's death. */
static int
server_single_epoll(void)
{
    struct epoll_event ev;
    int ep;
    int i;

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
    return ep;
}

static int
server_single_used_up(const SERVER_SINGLE_OPTS *opts, long long uses)
{
    return opts->max_use != SERVER_NO_LIMIT && uses >= conf_int(opts->max_use);
}

int
server_single_main(int argc, char **argv, const char *name,
                   SERVER_SINGLE_FN serve, const SERVER_SINGLE_OPTS *opts)
{
    long long idle_since;
    long long uses = 0;
    int ep;
    int i;

    server_single_check_param(opts->max_use, CONF_INT, "max_use");
    server_single_check_param(opts->max_idle, CONF_TIME, "max_idle");
    server_init(argc, argv, name);
    if (server.listen_count == 0)
        msg_fatal("no listening sockets: %s is started by master", name);
    ep = server_single_epoll();
    if (opts->post_init)
        opts->post_init();

    idle_since = monotime_ms();
    while (!server_sigterm && !server_sighup) {
        struct epoll_event events[4];
        int n = epoll_wait(ep, events, 4, SERVER_SINGLE_TICK_MS);

        if (n < 0 && errno != EINTR)
            msg_fatal("epoll_wait: %m");
        if (n <= 0) {
            if (opts->max_idle != SERVER_NO_LIMIT
                && monotime_ms() - idle_since > conf_time_ms(opts->max_idle))
                break;
            continue;
        }
        for (i = 0; i < n; i++) {
            int lfd = events[i].data.fd;
            int fd;

            if (lfd == MASTER_LIFE_FD)
                return 0;               /* master is gone */
            /* Told to retire (reload, stop) while waiting: a new client
             * belongs to a worker with the new configuration. */
            if (server_sigterm || server_sighup)
                return 0;
            fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EINVAL)
                    return 0;           /* master shut the listener down */
                if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                    msg_warn("accept: %m");
                continue;
            }
            /* While the next client is already waiting, serve it at
             * once: no idle and busy reports to master in between, and
             * (smtpd) ratekeeper gets the last session's disconnect in
             * one write with the next one's connect. */
            server_report(MASTER_STAT_BUSY);
            do {
                serve(fd);
                ++uses;
            } while (!server_single_used_up(opts, uses)
                     && !server_sigterm && !server_sighup
                     && (fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0);
            if (opts->pre_wait)
                opts->pre_wait();
            server_report(MASTER_STAT_IDLE);
            idle_since = monotime_ms();
            if (server_single_used_up(opts, uses))
                return 0;
            break;      /* look at signals before the next client */
        }
    }
    return 0;
}
