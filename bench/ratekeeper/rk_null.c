/* rk_null: the floor for rk_bench.  A server that speaks ratekeeper's
 * greeting and answers every request with "status=0, count=1" at once,
 * without parsing or counting anything: what rk_bench measures against it
 * is the cost of the socket, the client and the machine, which no
 * ratekeeper can beat.
 *
 *   rk_null SOCKET &  rk_bench -s SOCKET ...;  kill %1 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char greeting[] = "proto=ratekeeper\nversion=1\n\n";
static const char reply[] = "status=0\ncount=1\n\n";

int
main(int argc, char **argv)
{
    struct sockaddr_un sun;
    struct epoll_event ev, events[256];
    char in[4096];
    int lfd, ep, n, i, fd, c;
    ssize_t got, j;

    if (argc != 2) {
        fprintf(stderr, "usage: rk_null SOCKET\n");
        return 2;
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[1]);
    unlink(argv[1]);
    if ((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0
        || bind(lfd, (struct sockaddr *) &sun, sizeof(sun)) < 0
        || listen(lfd, 1024) < 0 || (ep = epoll_create1(0)) < 0) {
        perror("rk_null");
        return 1;
    }
    ev.events = EPOLLIN;
    ev.data.fd = lfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    for (;;) {
        n = epoll_wait(ep, events, 256, -1);
        for (i = 0; i < n; i++) {
            fd = events[i].data.fd;
            if (fd == lfd) {
                if ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) < 0)
                    continue;
                if (write(c, greeting, sizeof(greeting) - 1) < 0) {
                    close(c);
                    continue;
                }
                ev.data.fd = c;
                epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                continue;
            }
            if ((got = read(fd, in, sizeof(in))) <= 0) {
                close(fd);
                continue;
            }
            /* One reply per empty line (rk_bench sends whole requests). */
            for (j = 1; j < got; j++)
                if (in[j] == '\n' && in[j - 1] == '\n')
                    send(fd, reply, sizeof(reply) - 1, MSG_NOSIGNAL);
        }
    }
}
