/* The client end of a local daemon's socket: connect, check the greeting,
 * send one request, read one reply, all within a deadline kept with poll().
 * A request sent with attr_clnt_send() leaves its reply owed (pending);
 * the next request is written first and the owed replies are then read
 * and discarded before its own, within its deadline.  Requests queued
 * with attr_clnt_defer() go out in the same write as the next one. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "attr_clnt.h"
#include "monotime.h"
#include "msg.h"
#include "mymalloc.h"
#include "unix_sock.h"

#define ATTR_CLNT_READ_SIZE 4096

/* What went wrong, for the decision to retry or to hold off. */
#define ATTR_CLNT_OK        0
#define ATTR_CLNT_ERROR     (-1)        /* close, next request reconnects */
#define ATTR_CLNT_LOST      (-2)        /* broken before any reply byte */
#define ATTR_CLNT_TIMEOUT   (-3)        /* close and hold off */

struct ATTR_CLNT {
    char *path;
    char *proto;
    int version;
    int timeout_ms;
    int fd;                             /* -1 when not connected */
    long long retry_after;              /* no connect before this time */
    VBUF *last_failure;                 /* why the last connect failed */
    VBUF *in;                           /* bytes received, not yet parsed */
    VBUF *out;                          /* the request being sent */
    VBUF *later;                        /* deferred requests, not sent */
    int deferred;                       /* how many requests later holds */
    VBUF *tmp;
    ATTR *greeting;
    ATTR *discard;                      /* owed replies, read and dropped */
    int pending;                        /* replies owed on this connection */
};

ATTR_CLNT *
attr_clnt_create(const char *socket_path, const char *proto, int version,
                 int timeout_ms)
{
    ATTR_CLNT *clnt = mymalloc(sizeof(*clnt));

    clnt->path = mystrdup(socket_path);
    clnt->proto = mystrdup(proto);
    clnt->version = version;
    clnt->fd = -1;
    clnt->retry_after = 0;
    clnt->last_failure = vbuf_create(100);
    clnt->in = vbuf_create(ATTR_CLNT_READ_SIZE);
    clnt->out = vbuf_create(256);
    clnt->later = vbuf_create(256);
    clnt->deferred = 0;
    clnt->tmp = vbuf_create(100);
    clnt->greeting = attr_create();
    clnt->discard = attr_create();
    clnt->pending = 0;
    attr_clnt_set_timeout(clnt, timeout_ms);
    return clnt;
}

static void
attr_clnt_close(ATTR_CLNT *clnt)
{
    if (clnt->fd >= 0) {
        close(clnt->fd);
        clnt->fd = -1;
    }
    vbuf_reset(clnt->in);
    clnt->pending = 0;                  /* the owed replies went with it */
    vbuf_reset(clnt->later);            /* and what was to be sent on it */
    clnt->deferred = 0;
}

ATTR_CLNT *
attr_clnt_free(ATTR_CLNT *clnt)
{
    if (clnt) {
        attr_clnt_close(clnt);
        myfree(clnt->path);
        myfree(clnt->proto);
        vbuf_free(clnt->last_failure);
        vbuf_free(clnt->in);
        vbuf_free(clnt->out);
        vbuf_free(clnt->later);
        vbuf_free(clnt->tmp);
        attr_free(clnt->greeting);
        attr_free(clnt->discard);
        myfree(clnt);
    }
    return NULL;
}

void
attr_clnt_set_timeout(ATTR_CLNT *clnt, int timeout_ms)
{
    if (timeout_ms <= 0)
        msg_panic("attr_clnt_set_timeout: bad timeout %d", timeout_ms);
    clnt->timeout_ms = timeout_ms;
}

static int
attr_clnt_fail(ATTR_CLNT *clnt, VBUF *why, int status, const char *what,
               const char *detail)
{
    vbuf_set(why, "");
    vbuf_printf(why, "%s: %s%s", clnt->path, what, detail ? detail : "");
    return status;
}

/* Waits until fd is ready for events; returns 1, or 0 at the deadline. */
static int
attr_clnt_wait(int fd, short events, long long deadline)
{
    struct pollfd pfd;
    long long left;
    int n;

    pfd.fd = fd;
    pfd.events = events;
    do {
        if ((left = deadline - monotime_ms()) <= 0)
            return 0;
        n = poll(&pfd, 1, (int) left);
    } while (n < 0 && errno == EINTR);
    /* poll() fails only for our own mistakes; let the I/O call report. */
    return n != 0;
}

static int
attr_clnt_write(ATTR_CLNT *clnt, long long deadline, VBUF *why)
{
    size_t done = 0;
    ssize_t n;

    while (done < vbuf_len(clnt->out)) {
        n = send(clnt->fd, vbuf_str(clnt->out) + done,
                 vbuf_len(clnt->out) - done, MSG_NOSIGNAL);
        if (n >= 0) {
            done += (size_t) n;
        } else if (errno == EAGAIN) {
            if (!attr_clnt_wait(clnt->fd, POLLOUT, deadline))
                return attr_clnt_fail(clnt, why, ATTR_CLNT_TIMEOUT,
                                      "write: timeout", NULL);
        } else if (errno != EINTR) {
            return attr_clnt_fail(clnt, why,
                                  errno == EPIPE || errno == ECONNRESET
                                  ? ATTR_CLNT_LOST : ATTR_CLNT_ERROR,
                                  "write: ", strerror(errno));
        }
    }
    return ATTR_CLNT_OK;
}

/* Reads one message into msg; what names it in errors ("reply").  With
 * ready, the message has probably arrived: read before waiting for it.
 * Otherwise (a reply just asked for) wait first, and save the read that
 * would only say that nothing is there yet. */
static int
attr_clnt_receive(ATTR_CLNT *clnt, long long deadline, ATTR *msg,
                  const char *what, int ready, VBUF *why)
{
    size_t used;
    ssize_t n;
    int err;

    for (;;) {
        switch (attr_parse(msg, vbuf_str(clnt->in), vbuf_len(clnt->in),
                           &used, clnt->tmp)) {
        case 1:
            vbuf_consume(clnt->in, used);
            return ATTR_CLNT_OK;
        case -1:
            vbuf_set(why, "");
            vbuf_printf(why, "%s: malformed %s: %s", clnt->path, what,
                        vbuf_str(clnt->tmp));
            return ATTR_CLNT_ERROR;
        }
        if (!ready && !attr_clnt_wait(clnt->fd, POLLIN, deadline))
            return attr_clnt_fail(clnt, why, ATTR_CLNT_TIMEOUT, what,
                                  ": timeout");
        ready = 0;
        vbuf_reserve(clnt->in, ATTR_CLNT_READ_SIZE);
        n = read(clnt->fd, clnt->in->data + clnt->in->len,
                 ATTR_CLNT_READ_SIZE);
        if (n > 0) {
            clnt->in->len += (size_t) n;
            clnt->in->data[clnt->in->len] = 0;
        } else if (n == 0 || errno == ECONNRESET) {
            err = vbuf_len(clnt->in) ? ATTR_CLNT_ERROR : ATTR_CLNT_LOST;
            return attr_clnt_fail(clnt, why, err, what,
                                  ": connection closed");
        } else if (errno != EAGAIN && errno != EINTR) {
            return attr_clnt_fail(clnt, why, ATTR_CLNT_ERROR, "read: ",
                                  strerror(errno));
        }
    }
}

/* Connects and checks the greeting, unless a recent attempt failed. */
static int
attr_clnt_connect(ATTR_CLNT *clnt, long long deadline, VBUF *why)
{
    long long now = monotime_ms();

    if (now < clnt->retry_after) {
        vbuf_set(why, "recently failed: ");
        vbuf_append_str(why, vbuf_str(clnt->last_failure));
        return -1;
    }
    clnt->fd = unix_sock_connect(clnt->path, (int) (deadline - now), why);
    if (clnt->fd >= 0
        && attr_clnt_receive(clnt, deadline, clnt->greeting, "greeting",
                             0, why) == ATTR_CLNT_OK) {
        if (attr_check_greeting(clnt->greeting, clnt->proto, clnt->version,
                                clnt->tmp) == 0)
            return 0;
        attr_clnt_fail(clnt, why, -1, vbuf_str(clnt->tmp), NULL);
    }
    attr_clnt_close(clnt);
    vbuf_set(clnt->last_failure, vbuf_str(why));
    clnt->retry_after = monotime_ms() + ATTR_CLNT_RETRY_MS;
    return -1;
}

/* After a timeout: a hung daemon must not cost a full timeout per request. */
static void
attr_clnt_hold_off(ATTR_CLNT *clnt, VBUF *why)
{
    vbuf_set(clnt->last_failure, vbuf_str(why));
    clnt->retry_after = monotime_ms() + ATTR_CLNT_RETRY_MS;
}

/* Reads the replies owed on the connection: the last one into reply, the
 * others discarded.  ready: as for attr_clnt_receive(). */
static int
attr_clnt_read_owed(ATTR_CLNT *clnt, long long deadline, ATTR *reply,
                    int ready, VBUF *why)
{
    int status;

    while (clnt->pending > 0) {
        status = attr_clnt_receive(clnt, deadline,
                                   clnt->pending == 1 ? reply : clnt->discard,
                                   "reply", ready, why);
        if (status != ATTR_CLNT_OK)
            return status;
        clnt->pending--;
    }
    /* Bytes nobody asked for would be taken as the next reply. */
    if (vbuf_len(clnt->in) > 0)
        attr_clnt_close(clnt);
    return ATTR_CLNT_OK;
}

/* Writes what was deferred and request (when not null) in one write;
 * once written, their replies are owed. */
static int
attr_clnt_write_all(ATTR_CLNT *clnt, const ATTR *request, long long deadline,
                    VBUF *why)
{
    int status;

    vbuf_reset(clnt->out);
    vbuf_append(clnt->out, vbuf_str(clnt->later), vbuf_len(clnt->later));
    if (request)
        attr_print(clnt->out, request);
    if ((status = attr_clnt_write(clnt, deadline, why)) == ATTR_CLNT_OK) {
        clnt->pending += clnt->deferred + (request != NULL);
        vbuf_reset(clnt->later);
        clnt->deferred = 0;
    }
    return status;
}

/* Sends request (after what was deferred, in one write); with a reply to
 * read, reads the owed replies and then it, else leaves it owed.  The
 * connection is not checked before the write: one the server closed (for
 * idleness, or by dying) fails the write or the read before any byte of
 * a reply, and the request goes again once on a new connection. */
static int
attr_clnt_exchange(ATTR_CLNT *clnt, const ATTR *request, ATTR *reply,
                   VBUF *why)
{
    long long deadline = monotime_ms() + clnt->timeout_ms;
    int reused, status, attempt;

    for (attempt = 0;; attempt++) {
        if ((reused = clnt->fd >= 0) == 0
            && attr_clnt_connect(clnt, deadline, why) < 0)
            return -1;
        status = attr_clnt_write_all(clnt, request, deadline, why);
        if (status == ATTR_CLNT_OK) {
            if (reply == NULL)
                return 0;
            status = attr_clnt_read_owed(clnt, deadline, reply, 0, why);
            if (status == ATTR_CLNT_OK)
                return 0;
        }
        attr_clnt_close(clnt);
        if (status == ATTR_CLNT_LOST && reused && attempt == 0)
            continue;
        if (status == ATTR_CLNT_TIMEOUT)
            attr_clnt_hold_off(clnt, why);
        return -1;
    }
}

int
attr_clnt_request(ATTR_CLNT *clnt, const ATTR *request, ATTR *reply,
                  VBUF *why)
{
    return attr_clnt_exchange(clnt, request, reply, why);
}

int
attr_clnt_send(ATTR_CLNT *clnt, const ATTR *request, VBUF *why)
{
    return attr_clnt_exchange(clnt, request, NULL, why);
}

void
attr_clnt_defer(ATTR_CLNT *clnt, const ATTR *request)
{
    /* Without a connection there is nothing for it to be about. */
    if (clnt->fd < 0)
        return;
    attr_print(clnt->later, request);
    clnt->deferred++;
}

int
attr_clnt_flush(ATTR_CLNT *clnt, VBUF *why)
{
    long long deadline = monotime_ms() + clnt->timeout_ms;

    if (clnt->deferred == 0)
        return 0;
    if (attr_clnt_write_all(clnt, NULL, deadline, why) != ATTR_CLNT_OK) {
        /* What it was about went with the connection. */
        attr_clnt_close(clnt);
        return -1;
    }
    return 0;
}

int
attr_clnt_collect(ATTR_CLNT *clnt, ATTR *reply, VBUF *why)
{
    long long deadline = monotime_ms() + clnt->timeout_ms;
    int status;

    if (clnt->fd < 0 || clnt->pending == 0) {
        vbuf_set(why, "");
        vbuf_printf(why, "%s: no reply is owed", clnt->path);
        return -1;
    }
    if ((status = attr_clnt_read_owed(clnt, deadline, reply, 1, why))
        == ATTR_CLNT_OK)
        return 0;
    attr_clnt_close(clnt);
    if (status == ATTR_CLNT_TIMEOUT)
        attr_clnt_hold_off(clnt, why);
    return -1;
}

int
attr_clnt_ready(ATTR_CLNT *clnt)
{
    size_t off, used;
    ssize_t n;
    int complete;

    if (clnt->fd < 0 || clnt->pending == 0)
        return 0;
    for (;;) {
        /* The owed replies that are complete in what has come. */
        for (off = 0, complete = 0; complete < clnt->pending; complete++) {
            switch (attr_parse(clnt->discard, vbuf_str(clnt->in) + off,
                               vbuf_len(clnt->in) - off, &used, clnt->tmp)) {
            case 1:
                off += used;
                continue;
            case -1:
                return 1;               /* collect says it is malformed */
            }
            break;
        }
        if (complete == clnt->pending)
            return 1;
        vbuf_reserve(clnt->in, ATTR_CLNT_READ_SIZE);
        n = read(clnt->fd, clnt->in->data + clnt->in->len,
                 ATTR_CLNT_READ_SIZE);
        if (n > 0) {
            clnt->in->len += (size_t) n;
            clnt->in->data[clnt->in->len] = 0;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            /* Nothing yet, or an end that collect reports. */
            return n < 0 && errno == EAGAIN ? 0 : 1;
        }
    }
}

int
attr_clnt_fd(const ATTR_CLNT *clnt)
{
    return clnt->fd;
}
