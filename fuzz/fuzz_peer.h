/* The scripted peer of the fuzz targets for clients (fuzz_rk_clnt plays
 * ratekeeper, fuzz_relay_smtp a backend): a thread that accepts on a
 * listening socket and sends the fuzz input, cut into segments at every
 * FUZZ_PEER_SEGMENT byte: a segment, then whatever the client sent
 * meanwhile is read and dropped, then the next segment.  At the end of
 * the input the connection is closed (with linger: writing is shut down
 * first and the peer waits for the client to close); a new connection
 * goes on with the rest of the input.  Static functions in a header: each
 * target is one file. */
#ifndef ALLIGATE_FUZZ_PEER_H
#define ALLIGATE_FUZZ_PEER_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FUZZ_PEER_SEGMENT   0xff
#define FUZZ_PEER_READ_MS   1       /* the peer listens this long */

typedef struct FUZZ_PEER {
    int listen_fd;
    int wake[2];                    /* the client is done: stop waiting */
    int linger;
    const uint8_t *data;            /* the input, and how far it got */
    size_t len;
    size_t off;
    volatile int done;              /* the client has finished */
    pthread_t tid;
} FUZZ_PEER;

/* Once per process, with the peer's listening socket. */
static void
fuzz_peer_init(FUZZ_PEER *p, int listen_fd, int linger)
{
    memset(p, 0, sizeof(*p));
    p->listen_fd = listen_fd;
    p->linger = linger;
    if (pipe2(p->wake, O_CLOEXEC | O_NONBLOCK) < 0)
        abort();
    signal(SIGPIPE, SIG_IGN);
}

/* Reads and drops what the client sent, waiting at most ms; -1 once it
 * has closed. */
static int
fuzz_peer_drain(int fd, int ms)
{
    struct pollfd pfd = {.fd = fd,.events = POLLIN };
    char buf[65536];
    ssize_t n;

    while (poll(&pfd, 1, ms) > 0) {
        if ((n = read(fd, buf, sizeof(buf))) <= 0)
            return n < 0 && errno == EINTR ? 0 : -1;
        ms = 0;
    }
    return 0;
}

/* One connection: the segments, until the input or the client ends. */
static void
fuzz_peer_serve(FUZZ_PEER *p, int fd)
{
    while (p->off < p->len) {
        const uint8_t *sep = memchr(p->data + p->off, FUZZ_PEER_SEGMENT,
                                    p->len - p->off);
        size_t end = sep ? (size_t) (sep - p->data) : p->len;

        while (p->off < end) {
            ssize_t n = send(fd, p->data + p->off, end - p->off, MSG_NOSIGNAL);

            if (n <= 0)
                return;             /* the client hung up */
            p->off += (size_t) n;
        }
        if (sep)
            p->off++;
        if (fuzz_peer_drain(fd, FUZZ_PEER_READ_MS) < 0)
            return;
    }
    if (p->linger) {
        /* Nothing more to say: the client sees the end of the stream. */
        shutdown(fd, SHUT_WR);
        while (!p->done && fuzz_peer_drain(fd, 10) == 0)
             /* until the client closes */ ;
    }
}

static void *
fuzz_peer_thread(void *arg)
{
    FUZZ_PEER *p = arg;
    struct pollfd pfd[2];
    char junk[16];
    int fd;

    pfd[0].fd = p->listen_fd;
    pfd[0].events = POLLIN;
    pfd[1].fd = p->wake[0];
    pfd[1].events = POLLIN;
    while (!p->done) {
        if (poll(pfd, 2, 1000) <= 0 || !(pfd[0].revents & POLLIN))
            continue;
        if ((fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
            continue;
        fuzz_peer_serve(p, fd);
        close(fd);
    }
    while (read(p->wake[0], junk, sizeof(junk)) > 0)
         /* empty the pipe for the next input */ ;
    return NULL;
}

/* Plays data to the clients that connect, until fuzz_peer_stop(). */
static void
fuzz_peer_start(FUZZ_PEER *p, const uint8_t *data, size_t len)
{
    p->data = data;
    p->len = len;
    p->off = 0;
    p->done = 0;
    if (pthread_create(&p->tid, NULL, fuzz_peer_thread, p) != 0)
        abort();
}

static void
fuzz_peer_stop(FUZZ_PEER *p)
{
    p->done = 1;
    if (write(p->wake[1], "x", 1) != 1)
        abort();
    pthread_join(p->tid, NULL);
}

#endif
