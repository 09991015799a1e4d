/* metrics: the Prometheus endpoint, GET /metrics on metrics_listen.
 *
 *   metrics -c CONFIG_DIR -m [-f] [-v] -n COUNT -i SLOT   (started by master)
 *
 * master opens the listening sockets (as root where the port needs it)
 * and starts this daemon as daemon_user with them and with the counters'
 * segment (MASTER_METRICS_FD); master itself never answers HTTP.  Each
 * request is read with metrics_http.c, answered with a snapshot of the
 * segment and of the queue (metrics_expo.c), and the connection closed:
 * one response per connection, a bounded head, METRICS_TIMEOUT_MS for
 * the whole exchange, at most METRICS_MAX_CONNS at once.  This file is
 * wiring: the event loop is the skeleton's (lib/server_event.c). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "events.h"
#include "hostport.h"
#include "metrics.h"
#include "metrics_expo.h"
#include "metrics_http.h"
#include "metrics_scan.h"
#include "metrics_shm.h"
#include "msg.h"
#include "mymalloc.h"
#include "path.h"
#include "server.h"
#include "vbuf.h"

#define METRICS_MAX_CONNS       32
#define METRICS_TIMEOUT_MS      10000   /* request and response, in all */
#define METRICS_READ_CHUNK      2048

typedef struct METRICS_CONN {
    int     fd;
    char    addr[64];
    VBUF   *in;
    VBUF   *out;
    size_t  sent;
} METRICS_CONN;

static METRICS_VIEW *metrics_view;
static uint64_t metrics_values[METRICS_NCELLS];
static int metrics_nconns;
static int metrics_paused;              /* listeners not watched: full */

static void metrics_accept(int event, void *context);

static void
metrics_watch(int on)
{
    int     i;

    for (i = 0; i < server.listen_count; i++) {
        if (on)
            event_enable_read(server.listen_fds[i], metrics_accept, NULL);
        else
            event_disable_readwrite(server.listen_fds[i]);
    }
    metrics_paused = !on;
}

static void metrics_timeout(int event, void *context);

static void
metrics_close(METRICS_CONN *c)
{
    event_disable_readwrite(c->fd);
    event_cancel_timer(metrics_timeout, c);
    close(c->fd);
    vbuf_free(c->in);
    vbuf_free(c->out);
    myfree(c);
    if (--metrics_nconns < METRICS_MAX_CONNS && metrics_paused)
        metrics_watch(1);
}

static void
metrics_timeout(int event, void *context)
{
    METRICS_CONN *c = context;

    (void) event;
    if (msg_verbose)
        msg_info("timeout: [%s]", c->addr);
    metrics_close(c);
}

/* After the response: the client's end, read and dropped, so that our
 * close cannot reset the connection under the response. */
static void
metrics_drain(int event, void *context)
{
    METRICS_CONN *c = context;
    char    buf[METRICS_READ_CHUNK];
    ssize_t n;

    (void) event;
    while ((n = recv(c->fd, buf, sizeof(buf), 0)) > 0)
        /* void */ ;
    if (n == 0 || (errno != EAGAIN && errno != EINTR))
        metrics_close(c);
}

static void
metrics_write(int event, void *context)
{
    METRICS_CONN *c = context;
    ssize_t n;

    (void) event;
    while (c->sent < vbuf_len(c->out)) {
        n = send(c->fd, vbuf_str(c->out) + c->sent, vbuf_len(c->out) - c->sent,
                 MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            metrics_close(c);
            return;
        }
        c->sent += (size_t) n;
    }
    event_disable_write(c->fd);
    shutdown(c->fd, SHUT_WR);
    event_enable_read(c->fd, metrics_drain, c);
}

/* The figures now, as text; -1 with why when the segment cannot be read. */
static int
metrics_snapshot(VBUF *body, VBUF *why)
{
    if (metrics_view == NULL) {
        /* Not started by master: the segment of the running instance. */
        const char *path = path_run(METRICS_SHM_FILE);

        if ((metrics_view = metrics_view_open(path, why)) == NULL)
            return -1;
    }
    if (metrics_view_read(metrics_view, metrics_values, why) < 0)
        return -1;
    metrics_scan_queue(conf_str(P_queue_directory), time(NULL), metrics_values);
    metrics_expo_write(body, metrics_values);
    return 0;
}

static void
metrics_respond(METRICS_CONN *c, int status, int method)
{
    VBUF   *body = vbuf_create(status == 200 ? 32768 : 64);
    const char *type = "text/plain; charset=utf-8";

    if (status == 200) {
        VBUF   *why = vbuf_create(64);

        if (metrics_snapshot(body, why) == 0) {
            type = METRICS_EXPO_CONTENT_TYPE;
        } else {
            msg_warn("cannot read the counters: %s", vbuf_str(why));
            status = 503;
            vbuf_reset(body);
        }
        vbuf_free(why);
    } else {
        msg_info("refused a request from [%s]: %d %s", c->addr, status,
                 metrics_http_reason(status));
    }
    if (status != 200)
        vbuf_printf(body, "%s\n", metrics_http_reason(status));
    vbuf_printf(c->out, "HTTP/1.1 %d %s\r\n"
                "Content-Type: %s\r\n"
                "Content-Length: %zu\r\n"
                "Connection: close\r\n",
                status, metrics_http_reason(status), type, vbuf_len(body));
    if (status == 405)
        vbuf_append_str(c->out, "Allow: GET, HEAD\r\n");
    vbuf_append_str(c->out, "\r\n");
    if (method != METRICS_HTTP_HEAD)
        vbuf_append(c->out, vbuf_str(body), vbuf_len(body));
    vbuf_free(body);
    event_disable_read(c->fd);
    event_enable_write(c->fd, metrics_write, c);
    metrics_write(EVENT_WRITE, c);
}

static void
metrics_read(int event, void *context)
{
    METRICS_CONN *c = context;
    METRICS_HTTP_REQ req;
    ssize_t n;
    int     status;

    (void) event;
    for (;;) {
        vbuf_reserve(c->in, METRICS_READ_CHUNK);
        n = recv(c->fd, c->in->data + c->in->len, METRICS_READ_CHUNK, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            metrics_close(c);
            return;
        }
        c->in->len += (size_t) n;
        c->in->data[c->in->len] = 0;
        if ((status = metrics_http_parse(vbuf_str(c->in), vbuf_len(c->in),
                                         &req)) != METRICS_HTTP_MORE) {
            metrics_respond(c, status, req.method);
            return;
        }
    }
}

static void
metrics_accept(int event, void *context)
{
    struct sockaddr_storage ss;
    socklen_t len;
    METRICS_CONN *c;
    int     i, fd;

    (void) event;
    (void) context;
    for (i = 0; i < server.listen_count; i++) {
        while (metrics_nconns < METRICS_MAX_CONNS) {
            len = sizeof(ss);
            fd = accept4(server.listen_fds[i], (struct sockaddr *) &ss, &len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                    msg_warn("accept: %m");
                break;
            }
            c = mycalloc(1, sizeof(*c));
            c->fd = fd;
            if (hostport_addr_str((struct sockaddr *) &ss, c->addr,
                                  sizeof(c->addr)) == NULL)
                snprintf(c->addr, sizeof(c->addr), "unknown");
            c->in = vbuf_create(METRICS_READ_CHUNK);
            c->out = vbuf_create(256);
            metrics_nconns++;
            event_enable_read(fd, metrics_read, c);
            event_request_timer(metrics_timeout, c, METRICS_TIMEOUT_MS);
        }
    }
    /* Full: the next clients wait in the backlog until one is done. */
    if (metrics_nconns >= METRICS_MAX_CONNS && !metrics_paused)
        metrics_watch(0);
}

static void
metrics_init(void)
{
    VBUF   *why = vbuf_create(64);

    if (server.listen_count == 0)
        msg_fatal("no listening socket: metrics is started by master "
                  "when metrics_listen is set");
    if (server.metrics_fd >= 0
        && (metrics_view = metrics_view_fd(server.metrics_fd, why)) == NULL)
        msg_warn("counters: %s", vbuf_str(why));
    vbuf_free(why);
    metrics_watch(1);
    msg_info("ready: %d listener%s", server.listen_count,
             server.listen_count == 1 ? "" : "s");
}

static void
metrics_exit(void)
{
    metrics_watch(0);
    metrics_view = metrics_view_free(metrics_view);
}

int
main(int argc, char **argv)
{
    static const SERVER_EVENT_OPTS opts = {
        .max_idle = SERVER_NO_LIMIT,
        .post_init = metrics_init,
        .pre_exit = metrics_exit,
    };

    /* This daemon reads the whole segment, not only its own slot. */
    server.metrics_reader = 1;
    return server_event_main(argc, argv, "metrics", &opts);
}
