/* The scripted SMTP client of the fuzz targets that run smtpd's session
 * in-process (fuzz_smtpd_session, fuzz_smtpd_tls): it sends the fuzz
 * input on its end of a socketpair, cut into segments at every
 * FUZZ_CLIENT_SEGMENT byte, each segment only once smtpd has read all of
 * the one before; whatever smtpd answers is read and dropped.  Static
 * functions in a header: each target is one file.  The descriptor is
 * non-blocking. */
#ifndef ALLIGATE_FUZZ_CLIENT_H
#define ALLIGATE_FUZZ_CLIENT_H

#include <errno.h>
#include <linux/sockios.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define FUZZ_CLIENT_SEGMENT 0xff
#define FUZZ_CLIENT_WAIT_MS 5000    /* the client gives up on smtpd */

/* Reads and drops what smtpd sent; -1 once it has closed. */
static int
fuzz_client_drain(int fd)
{
    char    buf[16384];
    ssize_t n;

    for (;;) {
        n = read(fd, buf, sizeof(buf));
        if (n > 0)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        return -1;
    }
}

/* Waits for something to read (or to write, with out); -1 when smtpd
 * is gone or takes far too long. */
static int
fuzz_client_wait(int fd, int out, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd,.events = POLLIN | (out ? POLLOUT : 0)};
    int     n = poll(&pfd, 1, timeout_ms);

    if (n < 0 && errno != EINTR)
        return -1;
    if (n > 0 && (pfd.revents & POLLIN) && fuzz_client_drain(fd) < 0)
        return -1;
    return 0;
}

/* Bytes written and not yet read by smtpd. */
static int
fuzz_client_unread(int fd)
{
    int     queued = 0;

    if (ioctl(fd, SIOCOUTQ, &queued) < 0)
        return 0;
    return queued;
}

/* Sends data segment by segment; stops early when smtpd hangs up. */
static void
fuzz_client_segments(int fd, const uint8_t *data, size_t len)
{
    size_t  off = 0;
    int     waited;

    while (off < len) {
        const uint8_t *sep = memchr(data + off, FUZZ_CLIENT_SEGMENT, len - off);
        size_t  end = sep ? (size_t) (sep - data) : len;

        /* Until smtpd has read everything sent so far. */
        for (waited = 0; fuzz_client_unread(fd) > 0; waited++)
            if (waited > FUZZ_CLIENT_WAIT_MS || fuzz_client_wait(fd, 0, 1) < 0)
                return;
        while (off < end) {
            ssize_t n = send(fd, data + off, end - off, MSG_NOSIGNAL);

            if (n > 0) {
                off += (size_t) n;
            } else if (n < 0 && errno == EAGAIN) {
                if (fuzz_client_wait(fd, 1, FUZZ_CLIENT_WAIT_MS) < 0)
                    return;
            } else if (n < 0 && errno != EINTR) {
                return;                 /* smtpd has hung up */
            }
        }
        if (sep)
            off++;
    }
}

/* The end of the input: writing is shut down, and the client reads
 * until smtpd closes. */
static void
fuzz_client_finish(int fd)
{
    shutdown(fd, SHUT_WR);
    while (fuzz_client_wait(fd, 0, FUZZ_CLIENT_WAIT_MS) == 0)
         /* until smtpd closes */ ;
}

#endif
