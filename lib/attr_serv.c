/* The server end of a local daemon's socket, driven by the event loop.
 *
 * Each client has an input buffer (bounded by the parser's limits) and an
 * output buffer; while the output holds ATTR_SERV_OUT_MAX bytes or more the
 * client is not read, so a client that sends requests without reading the
 * replies cannot make us buffer without end.  While its reply is deferred
 * its next requests are read (up to ATTR_SERV_DEFER_IN_MAX bytes, then
 * they wait in the socket) but not answered: leaving the read interest
 * alone saves two epoll_ctl calls per deferred request, which ratekeeper's
 * Redis backend makes for most of them. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "attr_serv.h"
#include "events.h"
#include "msg.h"
#include "mymalloc.h"

#define ATTR_SERV_READ_SIZE     16384
#define ATTR_SERV_OUT_MAX       65536
#define ATTR_SERV_ACCEPT_BATCH  64      /* accepts per readiness event */
#define ATTR_SERV_PAUSE_MS      100     /* no accepting when out of fds */
#define ATTR_SERV_DEFER_IN_MAX  16384   /* read ahead while deferred */

typedef struct ATTR_SERV_CLIENT {
    ATTR_SERV *serv;
    int fd;
    VBUF *in;
    VBUF *out;
    int eof;                            /* the client sent EOF */
    int failed;                         /* sent a malformed request */
    int held;                           /* no idle timeout */
    int deferred;                       /* a reply is owed by the handler */
    unsigned long id;
    struct ATTR_SERV_CLIENT *prev;
    struct ATTR_SERV_CLIENT *next;
} ATTR_SERV_CLIENT;

struct ATTR_SERV {
    int listen_fd;
    char *proto;
    int version;
    ATTR_SERV_FN handler;
    void *context;
    int idle_ms;
    ATTR *request;                      /* shared: one handler at a time */
    ATTR *reply;
    VBUF *why;
    ATTR_SERV_CLIENT *clients;
    ATTR_SERV_CLIENT *current;          /* whose request the handler has */
    unsigned long last_id;
    ATTR_SERV_CLOSE_FN close_fn;
};

static void attr_serv_client_event(int event, void *context);
static void attr_serv_client_resume(int event, void *context);

static void
attr_serv_client_close(ATTR_SERV_CLIENT *client)
{
    ATTR_SERV *serv = client->serv;

    event_disable_readwrite(client->fd);
    event_cancel_timer(attr_serv_client_event, client);
    event_cancel_timer(attr_serv_client_resume, client);
    close(client->fd);
    if (serv->close_fn)
        serv->close_fn(client->id, serv->context);
    if (client->prev)
        client->prev->next = client->next;
    else
        serv->clients = client->next;
    if (client->next)
        client->next->prev = client->prev;
    vbuf_free(client->in);
    vbuf_free(client->out);
    myfree(client);
}

/* Answers the complete requests in the input. Returns 1 when it stopped
 * because the output is full. */
static int
attr_serv_client_process(ATTR_SERV_CLIENT *client)
{
    ATTR_SERV *serv = client->serv;
    size_t done = 0, used;
    int status, full = 0;

    while (!client->failed && !client->deferred) {
        if (vbuf_len(client->out) >= ATTR_SERV_OUT_MAX) {
            full = 1;
            break;
        }
        status = attr_parse(serv->request, vbuf_str(client->in) + done,
                            vbuf_len(client->in) - done, &used, serv->why);
        if (status == 0)
            break;
        attr_reset(serv->reply);
        if (status < 0) {
            attr_set(serv->reply, "status", "-1");
            attr_set(serv->reply, "reason", vbuf_str(serv->why));
            client->failed = 1;
            done = vbuf_len(client->in);
        } else {
            done += used;
            serv->current = client;
            serv->handler(serv->request, serv->reply, serv->context);
            serv->current = NULL;
            if (client->deferred)
                break;
        }
        attr_print(client->out, serv->reply);
    }
    vbuf_consume(client->in, done);
    return full;
}

/* Writes what the socket takes. Returns -1 when the client is gone. */
static int
attr_serv_client_send(ATTR_SERV_CLIENT *client)
{
    ssize_t n;

    while (vbuf_len(client->out) > 0) {
        n = send(client->fd, vbuf_str(client->out), vbuf_len(client->out),
                 MSG_NOSIGNAL);
        if (n >= 0)
            vbuf_consume(client->out, (size_t) n);
        else if (errno == EAGAIN)
            return 0;
        else if (errno != EINTR)
            return -1;
    }
    return 0;
}

/* Reads what is there. Returns -1 when the connection broke. */
static int
attr_serv_client_receive(ATTR_SERV_CLIENT *client)
{
    VBUF *in = client->in;
    ssize_t n;

    vbuf_reserve(in, ATTR_SERV_READ_SIZE);
    n = read(client->fd, in->data + in->len, ATTR_SERV_READ_SIZE);
    if (n > 0) {
        in->len += (size_t) n;
        in->data[in->len] = 0;
    } else if (n == 0) {
        client->eof = 1;
    } else if (errno != EAGAIN && errno != EINTR) {
        return -1;
    }
    return 0;
}

/* Moves the client on after any event: answers, writes, then waits for
 * what comes next, or closes when all is said. */
static void
attr_serv_client_run(ATTR_SERV_CLIENT *client)
{
    int full;

    do {
        full = attr_serv_client_process(client);
        if (attr_serv_client_send(client) < 0) {
            attr_serv_client_close(client);
            return;
        }
    } while (full && vbuf_len(client->out) < ATTR_SERV_OUT_MAX);

    if (vbuf_len(client->out) > 0)
        event_enable_write(client->fd, attr_serv_client_event, client);
    else if ((client->eof || client->failed) && !client->deferred) {
        attr_serv_client_close(client);
        return;
    } else
        event_disable_write(client->fd);
    if (full || client->eof || client->failed
        || (client->deferred && vbuf_len(client->in) >= ATTR_SERV_DEFER_IN_MAX))
        event_disable_read(client->fd);
    else
        event_enable_read(client->fd, attr_serv_client_event, client);
    if (client->held || client->deferred)
        event_cancel_timer(attr_serv_client_event, client);
    else
        event_request_timer(attr_serv_client_event, client,
                            client->serv->idle_ms);
}

static void
attr_serv_client_event(int event, void *context)
{
    ATTR_SERV_CLIENT *client = context;

    if (event == EVENT_TIME
        || (event == EVENT_READ && attr_serv_client_receive(client) < 0)) {
        attr_serv_client_close(client);
        return;
    }
    attr_serv_client_run(client);
}

/* The deferred reply has been given: on with the client. */
static void
attr_serv_client_resume(int event, void *context)
{
    (void) event;
    attr_serv_client_run(context);
}

static void
attr_serv_client_create(ATTR_SERV *serv, int fd)
{
    ATTR_SERV_CLIENT *client = mymalloc(sizeof(*client));

    client->serv = serv;
    client->fd = fd;
    client->in = vbuf_create(256);
    client->out = vbuf_create(256);
    client->eof = 0;
    client->failed = 0;
    client->held = 0;
    client->deferred = 0;
    client->id = ++serv->last_id;
    client->prev = NULL;
    client->next = serv->clients;
    if (serv->clients)
        serv->clients->prev = client;
    serv->clients = client;
    attr_greeting(client->out, serv->proto, serv->version);
    attr_serv_client_run(client);
}

static void attr_serv_accept(int event, void *context);

static void
attr_serv_resume(int event, void *context)
{
    ATTR_SERV *serv = context;

    (void) event;
    event_enable_read(serv->listen_fd, attr_serv_accept, serv);
}

static void
attr_serv_accept(int event, void *context)
{
    ATTR_SERV *serv = context;
    int i, fd;

    (void) event;
    for (i = 0; i < ATTR_SERV_ACCEPT_BATCH; i++) {
        fd = accept4(serv->listen_fd, NULL, NULL,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            attr_serv_client_create(serv, fd);
        } else if (errno == EAGAIN) {
            return;
        } else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS
                   || errno == ENOMEM) {
            /* The socket stays readable: pause instead of spinning. */
            msg_warn("%s server: accept: %s", serv->proto, strerror(errno));
            event_disable_read(serv->listen_fd);
            event_request_timer(attr_serv_resume, serv, ATTR_SERV_PAUSE_MS);
            return;
        }
        /* Otherwise a client that went away before we accepted it. */
    }
}

ATTR_SERV *
attr_serv_create(int listen_fd, const char *proto, int version,
                 ATTR_SERV_FN handler, void *context)
{
    ATTR_SERV *serv = mymalloc(sizeof(*serv));
    int flags;

    if ((flags = fcntl(listen_fd, F_GETFL)) < 0
        || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) < 0)
        msg_fatal("%s server: fcntl on descriptor %d: %s", proto, listen_fd,
                  strerror(errno));
    serv->listen_fd = listen_fd;
    serv->proto = mystrdup(proto);
    serv->version = version;
    serv->handler = handler;
    serv->context = context;
    serv->idle_ms = ATTR_SERV_IDLE_MS;
    serv->request = attr_create();
    serv->reply = attr_create();
    serv->why = vbuf_create(100);
    serv->clients = NULL;
    serv->current = NULL;
    serv->last_id = 0;
    serv->close_fn = NULL;
    event_enable_read(listen_fd, attr_serv_accept, serv);
    return serv;
}

void
attr_serv_set_idle_timeout(ATTR_SERV *serv, int timeout_ms)
{
    if (timeout_ms <= 0)
        msg_panic("attr_serv_set_idle_timeout: bad timeout %d", timeout_ms);
    serv->idle_ms = timeout_ms;
}

unsigned long
attr_serv_client_id(const ATTR_SERV *serv)
{
    if (serv->current == NULL)
        msg_panic("attr_serv_client_id: called outside the handler");
    return serv->current->id;
}

void
attr_serv_client_hold(ATTR_SERV *serv, int hold)
{
    if (serv->current == NULL)
        msg_panic("attr_serv_client_hold: called outside the handler");
    serv->current->held = hold;
}

int
attr_serv_hold(ATTR_SERV *serv, unsigned long client_id, int hold)
{
    ATTR_SERV_CLIENT *client;

    for (client = serv->clients; client; client = client->next) {
        if (client->id == client_id) {
            client->held = hold;
            return 0;
        }
    }
    return -1;
}

unsigned long
attr_serv_defer(ATTR_SERV *serv)
{
    if (serv->current == NULL)
        msg_panic("attr_serv_defer: called outside the handler");
    serv->current->deferred = 1;
    return serv->current->id;
}

ATTR *
attr_serv_take_request(ATTR_SERV *serv)
{
    ATTR *request;

    if (serv->current == NULL || !serv->current->deferred)
        msg_panic("attr_serv_take_request: no deferred request");
    request = serv->request;
    serv->request = attr_create();
    return request;
}

int
attr_serv_answer(ATTR_SERV *serv, unsigned long client_id, const ATTR *reply)
{
    ATTR_SERV_CLIENT *client;

    for (client = serv->clients; client; client = client->next)
        if (client->id == client_id)
            break;
    if (client == NULL || !client->deferred)
        return -1;
    attr_print(client->out, reply);
    client->deferred = 0;
    /* Not now: this may run inside a handler, whose request and reply
     * the client's next requests would overwrite. */
    event_request_timer(attr_serv_client_resume, client, 0);
    return 0;
}

void
attr_serv_set_close_hook(ATTR_SERV *serv, ATTR_SERV_CLOSE_FN fn)
{
    serv->close_fn = fn;
}

ATTR_SERV *
attr_serv_free(ATTR_SERV *serv)
{
    if (serv) {
        while (serv->clients)
            attr_serv_client_close(serv->clients);
        event_disable_readwrite(serv->listen_fd);
        event_cancel_timer(attr_serv_resume, serv);
        myfree(serv->proto);
        attr_free(serv->request);
        attr_free(serv->reply);
        vbuf_free(serv->why);
        myfree(serv);
    }
    return NULL;
}
