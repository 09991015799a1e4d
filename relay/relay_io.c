/* Buffered I/O on a connection to the backend, plain or TLS. The socket is
 * non-blocking and every operation has a deadline for the whole of it, so
 * a server that trickles bytes cannot hold an agent longer than the
 * timeout; poll() waits in between. Replies go through the bounded parser
 * of lib/smtp_reply.c. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "monotime.h"
#include "mymalloc.h"
#include "relay.h"
#include "tls_util.h"

RELAY_IO *
relay_io_create(int fd)
{
    RELAY_IO *io = mycalloc(1, sizeof(*io));

    io->fd = fd;
    io->out = vbuf_create(RELAY_IO_BUFSIZE);
    return io;
}

RELAY_IO *
relay_io_free(RELAY_IO *io)
{
    if (io == NULL)
        return NULL;
    if (io->ssl)
        SSL_free(io->ssl);
    if (io->fd >= 0)
        close(io->fd);
    vbuf_free(io->out);
    myfree(io);
    return NULL;
}

void
relay_io_write(RELAY_IO *io, const void *data, size_t len)
{
    vbuf_append(io->out, data, len);
}

void
relay_io_printf(RELAY_IO *io, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vbuf_vprintf(io->out, fmt, ap);
    va_end(ap);
}

int
relay_io_wait(RELAY_IO *io, int events, long long deadline, VBUF *why)
{
    struct pollfd pfd;
    long long left;
    int n;

    for (;;) {
        left = deadline - monotime_ms();
        if (left <= 0) {
            vbuf_set(why, "timeout");
            return -1;
        }
        pfd.fd = io->fd;
        pfd.events = (short) events;
        pfd.revents = 0;
        n = poll(&pfd, 1, left > 60000 ? 60000 : (int) left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR) {
            vbuf_printf(why, "poll: %s", strerror(errno));
            return -1;
        }
    }
}

/* Some bytes, 0 at the end of the stream, -1 with why. */
static ssize_t
relay_io_read_some(RELAY_IO *io, char *buf, size_t len, long long deadline,
                   VBUF *why)
{
    ssize_t n;
    int err, ssl_err;

    for (;;) {
        if (io->ssl == NULL) {
            n = read(io->fd, buf, len);
            if (n >= 0)
                return n;
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                vbuf_set(why, strerror(errno));
                return -1;
            }
            err = POLLIN;
        } else {
            ERR_clear_error();
            errno = 0;
            n = SSL_read(io->ssl, buf, len > 0x7fffffff ? 0x7fffffff : (int) len);
            if (n > 0)
                return n;
            if ((err = tls_want(io->ssl, (int) n)) == 0) {
                /* The end of the stream, with close_notify or without. */
                ssl_err = SSL_get_error(io->ssl, (int) n);
                if (ssl_err == SSL_ERROR_ZERO_RETURN
                    || (ssl_err == SSL_ERROR_SYSCALL && errno == 0))
                    return 0;
                tls_why(why, "TLS read");
                return -1;
            }
        }
        if (relay_io_wait(io, err, deadline, why) < 0)
            return -1;
    }
}

int
relay_io_flush(RELAY_IO *io, int timeout_ms, VBUF *why)
{
    long long deadline = monotime_ms() + timeout_ms;
    size_t done = 0;
    ssize_t n;
    int wait;

    while (done < vbuf_len(io->out)) {
        size_t left = vbuf_len(io->out) - done;

        if (io->ssl == NULL) {
            n = write(io->fd, io->out->data + done, left);
            if (n > 0) {
                done += (size_t) n;
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                vbuf_set(why, strerror(errno));
                vbuf_reset(io->out);
                return -1;
            }
            wait = POLLOUT;
        } else {
            ERR_clear_error();
            errno = 0;
            n = SSL_write(io->ssl, io->out->data + done,
                          left > 0x7fffffff ? 0x7fffffff : (int) left);
            if (n > 0) {
                done += (size_t) n;
                continue;
            }
            if ((wait = tls_want(io->ssl, (int) n)) == 0) {
                tls_why(why, "TLS write");
                vbuf_reset(io->out);
                return -1;
            }
        }
        if (relay_io_wait(io, wait, deadline, why) < 0) {
            vbuf_reset(io->out);
            return -1;
        }
    }
    vbuf_reset(io->out);
    return 0;
}

int
relay_io_reply(RELAY_IO *io, SMTP_REPLY *reply, int timeout_ms, VBUF *why)
{
    long long deadline;
    size_t used;
    ssize_t n;
    int status;

    vbuf_reset(why);
    if (vbuf_len(io->out) > 0 && relay_io_flush(io, timeout_ms, why) < 0)
        return -1;
    deadline = monotime_ms() + timeout_ms;
    smtp_reply_reset(reply);
    for (;;) {
        if (io->in_start < io->in_end) {
            status = smtp_reply_feed(reply, io->in + io->in_start,
                                     io->in_end - io->in_start, &used);
            io->in_start += used;
            if (status == SMTP_REPLY_DONE)
                return 0;
            if (status != SMTP_REPLY_MORE) {
                vbuf_set(why, smtp_reply_status_text(status));
                return -1;
            }
        }
        io->in_start = io->in_end = 0;
        n = relay_io_read_some(io, io->in, sizeof(io->in), deadline, why);
        if (n < 0)
            return -1;
        if (n == 0) {
            vbuf_set(why, "lost connection");
            return -1;
        }
        io->in_end = (size_t) n;
    }
}

int
relay_io_unasked(RELAY_IO *io)
{
    struct pollfd pfd;
    char ch;
    int n;

    if (io->in_start < io->in_end)
        return 1;
    pfd.fd = io->fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (poll(&pfd, 1, 0) <= 0)
        return 0;
    if (io->ssl == NULL)
        return 1;
    /* TLS 1.3 session tickets may arrive after the handshake: records
     * that carry no data are no reason to drop the connection. */
    ERR_clear_error();
    n = SSL_peek(io->ssl, &ch, 1);
    if (n > 0)
        return 1;
    n = SSL_get_error(io->ssl, n);
    ERR_clear_error();
    return n != SSL_ERROR_WANT_READ;
}
