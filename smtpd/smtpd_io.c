/* Session I/O: CR LF command lines with the RFC limits and no bare CR or
 * LF, replies buffered so that a pipelining client gets them in one write,
 * a deadline on every request (smtpd_per_request_deadline) or on every
 * read, and a close that lets the last reply arrive.  Bytes move through
 * the session's transport (plain sockets here; TLS wraps the same two
 * calls). */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "conf.h"
#include "monotime.h"
#include "msg.h"
#include "server.h"
#include "smtpd.h"

#define SMTPD_OUT_FLUSH     8192    /* write out once this much is queued */
#define SMTPD_DRAIN_MS      1000    /* reading what a dropped client sent */
#define SMTPD_SLACK_MS      100     /* a request may overrun its deadline
                                     * by this much */

/* Puts smtpd_timeout on the socket itself (SO_RCVTIMEO, SO_SNDTIMEO), once
 * per session and again when the value changes: a read then waits for
 * the client in one system call, without a poll() before each command,
 * and a client that stops reading our replies cannot hold a send() for
 * ever.  Where that fails, the reads poll() first, as they used to. */
static void
smtpd_io_deadlines(SMTPD_STATE *state, long long timeout)
{
    struct timeval tv;

    if (state->sock_timeout == timeout)
        return;
    tv.tv_sec = timeout / 1000;
    tv.tv_usec = (timeout % 1000) * 1000;
    if (setsockopt(state->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0
        && setsockopt(state->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0)
        state->sock_timeout = timeout;
    else
        state->sock_timeout = -1;
}

static ssize_t
smtpd_plain_read(SMTPD_STATE *state, void *buf, size_t len)
{
    return read(state->fd, buf, len);
}

static ssize_t
smtpd_plain_write(SMTPD_STATE *state, const void *buf, size_t len)
{
    return send(state->fd, buf, len, MSG_NOSIGNAL);
}

const SMTPD_XPORT smtpd_xport_plain = {smtpd_plain_read, smtpd_plain_write, NULL};

/* Starts a request (a command line, or the content of DATA or BDAT): with
 * smtpd_per_request_deadline, smtpd_timeout bounds all of it, so that a
 * client trickling a byte at a time cannot hold the worker for ever;
 * otherwise it bounds each read. */
void
smtpd_io_request(SMTPD_STATE *state)
{
    state->deadline = conf_bool(P_smtpd_per_request_deadline)
        ? monotime_ms() + conf_time_ms(P_smtpd_timeout) : 0;
}

/* Message content keeps the deadline moving at smtpd_min_data_rate
 * (Postfix 3.7): each byte received buys 1/rate seconds more. */
void
smtpd_io_extend(SMTPD_STATE *state, size_t bytes)
{
    long long rate = conf_int(P_smtpd_min_data_rate);

    if (state->deadline == 0)
        return;
    if (rate == 0)
        state->deadline = monotime_ms() + conf_time_ms(P_smtpd_timeout);
    else
        state->deadline += (long long) (bytes * 1000 / (unsigned long long) rate);
}

/* Waits until the socket is readable, the time left of the request's
 * deadline at most, when that is shorter than the socket's own. */
static int
smtpd_io_wait(SMTPD_STATE *state, long long timeout)
{
    struct pollfd pfd = {.fd = state->fd,.events = POLLIN};
    long long left;

    if (state->xport->pending && state->xport->pending(state))
        return SMTPD_IO_OK;
    for (;;) {
        left = timeout;
        if (state->deadline) {
            left = state->deadline - monotime_ms();
            if (left > timeout)
                left = timeout;
        }
        if (left <= 0)
            return SMTPD_IO_TIMEOUT;
        switch (poll(&pfd, 1, (int) left)) {
        case -1:
            if (errno != EINTR)
                return SMTPD_IO_ERROR;
            break;
        case 0:
            return SMTPD_IO_TIMEOUT;
        default:
            return SMTPD_IO_OK;
        }
    }
}

/* Reads more input, waiting at most smtpd_timeout, and no longer than
 * the request's deadline.  Flushes pending replies first: the client may
 * be waiting for them. */
int
smtpd_io_fill(SMTPD_STATE *state)
{
    long long timeout = conf_time_ms(P_smtpd_timeout);
    long long start;
    int     status;
    ssize_t n;

    if (smtpd_flush(state) < 0)
        return state->io_status = SMTPD_IO_ERROR;
    if (state->in_start > 0) {
        memmove(state->in, state->in + state->in_start,
                state->in_end - state->in_start);
        state->in_end -= state->in_start;
        state->in_start = 0;
    }
    if (state->in_end >= SMTPD_INBUF_SIZE)
        msg_panic("smtpd_io_fill: input buffer full");
    smtpd_io_deadlines(state, timeout);
    start = monotime_ms();
    for (;;) {
        /* The socket's own timeout is smtpd_timeout: poll() first only
         * when clearly less than that is left of the request, or when the
         * socket has none, so that a command read at once costs one
         * system call. */
        if (state->sock_timeout < 0
            || (state->deadline
                && state->deadline - monotime_ms() < timeout - SMTPD_SLACK_MS)) {
            status = smtpd_io_wait(state, timeout - (monotime_ms() - start));
            if (status != SMTPD_IO_OK)
                return state->io_status = status;
        }
        n = state->xport->read(state, state->in + state->in_end,
                               SMTPD_INBUF_SIZE - state->in_end);
        if (n > 0) {
            state->in_end += (size_t) n;
            return SMTPD_IO_OK;
        }
        if (n == 0)
            return state->io_status = SMTPD_IO_EOF;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return state->io_status = SMTPD_IO_ERROR;
        /* SO_RCVTIMEO ran out, or the socket does not block: what is
         * left of the deadline, with poll(). */
        status = smtpd_io_wait(state, timeout - (monotime_ms() - start));
        if (status != SMTPD_IO_OK)
            return state->io_status = status;
    }
}

/* Bytes received and not yet used. */
int
smtpd_io_pending(SMTPD_STATE *state)
{
    return state->in_end > state->in_start;
}

/* 1 when a whole line has been received and not yet used: the client
 * sent it before it could have read our last reply. */
int
smtpd_io_has_line(SMTPD_STATE *state)
{
    return memchr(state->in + state->in_start, '\n',
                  state->in_end - state->in_start) != NULL;
}

/* The next command line, without its CR LF.  A line longer than max
 * is discarded up to its end and reported once as SMTPD_IO_TOOLONG; a
 * bare CR or LF is reported at once. */
int
smtpd_io_line_max(SMTPD_STATE *state, VBUF *line, size_t max)
{
    size_t scanned = 0;                 /* bytes known to hold no CR/LF */

    vbuf_reset(line);
    for (;;) {
        char *start = state->in + state->in_start;
        size_t avail = state->in_end - state->in_start;
        char *cr = memchr(start + scanned, '\r', avail - scanned);
        char *lf = memchr(start + scanned, '\n', cr ? (size_t) (cr - start) - scanned
                          : avail - scanned);

        if (lf) {
            state->in_start += (size_t) (lf - start) + 1;
            state->discarding = 0;
            return SMTPD_IO_BARE_LF;
        }
        if (cr && cr + 1 < start + avail) {
            size_t len = (size_t) (cr - start);

            if (cr[1] != '\n') {
                state->in_start += len + 1;
                state->discarding = 0;
                return SMTPD_IO_BARE_CR;
            }
            state->in_start += len + 2;
            /* Too long, whether it came in pieces or all at once. */
            if (state->discarding || len > max) {
                state->discarding = 0;
                return SMTPD_IO_TOOLONG;
            }
            vbuf_append(line, start, len);
            return SMTPD_IO_OK;
        }
        /* No complete line yet. */
        scanned = cr ? (size_t) (cr - start) : avail;
        if (scanned > max || state->discarding) {
            state->discarding = 1;
            state->in_start += scanned;     /* drop what we will not use */
            scanned = 0;
        }
        if (smtpd_io_fill(state) != SMTPD_IO_OK)
            return state->io_status;
    }
}

int
smtpd_io_line(SMTPD_STATE *state, VBUF *line)
{
    return smtpd_io_line_max(state, line, SMTPD_LINE_MAX);
}

/* Queues one reply line (CR LF added) and notes its code for the
 * command's success count.  Past smtpd_soft_error_limit errors, every
 * reply is delayed by one second, as Postfix does. */
void
smtpd_reply(SMTPD_STATE *state, const char *fmt, ...)
{
    long long soft_limit = conf_int(P_smtpd_soft_error_limit);
    size_t start = state->out->len;
    va_list ap;

    va_start(ap, fmt);
    vbuf_vprintf(state->out, fmt, ap);
    va_end(ap);
    state->reply_code = atoi(state->out->data + start);
    if (msg_verbose)
        msg_info("> %s: %s", state->namaddr, state->out->data + start);
    vbuf_append(state->out, "\r\n", 2);
    /* Once per reply: not for each line of a multi-line one. */
    if (soft_limit > 0 && state->error_count >= soft_limit
        && state->out->data[start + 3] != '-')
        sleep(1);
    if (state->out->len >= SMTPD_OUT_FLUSH)
        smtpd_flush(state);
}

int
smtpd_flush(SMTPD_STATE *state)
{
    long long timeout = conf_time_ms(P_smtpd_timeout);
    long long start;
    long long spent;
    size_t  done = 0;

    if (state->out->len == 0)
        return 0;
    smtpd_io_deadlines(state, timeout);
    start = monotime_ms();
    while (done < state->out->len) {
        ssize_t n = state->xport->write(state, state->out->data + done,
                                        state->out->len - done);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                /* SO_SNDTIMEO ran out, or the socket does not block. */
                struct pollfd pfd = {.fd = state->fd,.events = POLLOUT};

                spent = monotime_ms() - start;
                if (spent < timeout && poll(&pfd, 1, (int) (timeout - spent)) > 0)
                    continue;
            }
            vbuf_reset(state->out);
            return -1;
        }
        done += (size_t) n;
    }
    vbuf_reset(state->out);
    return 0;
}

/* Sends what is queued, then reads and drops what the client still sends
 * for a moment, so that closing does not reset the connection before the
 * client has read our last reply. */
void
smtpd_io_close(SMTPD_STATE *state)
{
    struct pollfd pfd = {.fd = state->fd,.events = POLLIN };
    char junk[4096];
    int rounds = 0;

    smtpd_flush(state);
    smtpd_tls_close(state);
    shutdown(state->fd, SHUT_WR);
    while (rounds++ < 64 && poll(&pfd, 1, SMTPD_DRAIN_MS / 4) > 0) {
        if (read(state->fd, junk, sizeof(junk)) <= 0)
            break;
    }
    close(state->fd);
    state->fd = -1;
}
