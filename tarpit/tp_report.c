/* Tarpit disconnects to ratekeeper on the event loop (tp_report.h): a
 * queue of reports waiting for their answers, an output buffer written
 * when the socket takes it, an input buffer parsed with attr_parse. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "attr.h"
#include "events.h"
#include "msg.h"
#include "mymalloc.h"
#include "rk_clnt.h"
#include "tp_report.h"
#include "unix_sock.h"

#define TP_REPORT_READ      4096

typedef struct TP_REPORT {
    TP_REPORT_FN done;
    void   *context;
    long long deadline;
    struct TP_REPORT *next;
} TP_REPORT;

static char *tp_report_path;
static int tp_report_timeout;
static int tp_report_fd = -1;
static int tp_report_greeted;
static VBUF *tp_report_out;
static VBUF *tp_report_in;
static ATTR *tp_report_msg;
static TP_REPORT *tp_report_head;
static TP_REPORT *tp_report_tail;
static int tp_report_count;

static void tp_report_read(int event, void *context);
static void tp_report_write(int event, void *context);
static void tp_report_expire(int event, void *context);

void
tp_report_init(const char *socket_path, int timeout_ms)
{
    tp_report_path = mystrdup(socket_path);
    tp_report_timeout = timeout_ms;
    tp_report_out = vbuf_create(1024);
    tp_report_in = vbuf_create(1024);
    tp_report_msg = attr_create();
}

int
tp_report_pending(void)
{
    return tp_report_count;
}

/* Runs and frees the first report's callback. */
static void
tp_report_pop(long count, const char *why)
{
    TP_REPORT *r = tp_report_head;

    if ((tp_report_head = r->next) == NULL)
        tp_report_tail = NULL;
    tp_report_count--;
    r->done(count, why, r->context);
    myfree(r);
}

/* The connection is no good: every report waiting on it fails. */
static void
tp_report_drop(const char *why)
{
    if (tp_report_fd >= 0) {
        event_disable_readwrite(tp_report_fd);
        close(tp_report_fd);
        tp_report_fd = -1;
    }
    event_cancel_timer(tp_report_expire, NULL);
    vbuf_reset(tp_report_out);
    vbuf_reset(tp_report_in);
    tp_report_greeted = 0;
    while (tp_report_head)
        tp_report_pop(-1, why);
}

static void
tp_report_expire(int event, void *context)
{
    long long now = event_now_ms();
    char why[64];

    (void) event;
    (void) context;
    if (tp_report_head == NULL)
        return;
    if (tp_report_head->deadline > now) {
        event_request_timer(tp_report_expire, NULL,
                            tp_report_head->deadline - now);
        return;
    }
    snprintf(why, sizeof(why), "no answer within %d ms", tp_report_timeout);
    tp_report_drop(why);
}

/* One answer: the first report's. */
static void
tp_report_answer(const ATTR *reply)
{
    const char *reason;
    long status, count;

    if (tp_report_head == NULL) {
        tp_report_drop("an answer to no request");
        return;
    }
    if (attr_get_long(reply, "status", &status) == 0 && status == 0
        && attr_get_long(reply, "count", &count) == 0 && count >= 0) {
        tp_report_pop(count, NULL);
        return;
    }
    reason = attr_get(reply, "reason");
    tp_report_pop(-1, reason ? reason : "a reply without a count");
}

static void
tp_report_read(int event, void *context)
{
    char buf[TP_REPORT_READ];
    VBUF *why;
    size_t used;
    ssize_t n;
    int rc;

    (void) event;
    (void) context;
    n = read(tp_report_fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        tp_report_drop(n == 0 ? "ratekeeper closed the connection"
                       : strerror(errno));
        return;
    }
    vbuf_append(tp_report_in, buf, (size_t) n);
    why = vbuf_create(64);
    while (tp_report_fd >= 0
           && (rc = attr_parse(tp_report_msg, vbuf_str(tp_report_in),
                               vbuf_len(tp_report_in), &used, why)) != 0) {
        if (rc < 0) {
            tp_report_drop(vbuf_str(why));
            break;
        }
        vbuf_consume(tp_report_in, used);
        if (!tp_report_greeted) {
            if (attr_check_greeting(tp_report_msg, RK_PROTO, RK_VERSION,
                                    why) < 0) {
                tp_report_drop(vbuf_str(why));
                break;
            }
            tp_report_greeted = 1;
            continue;
        }
        tp_report_answer(tp_report_msg);
    }
    vbuf_free(why);
    /* Nothing more to wait for: no timer either. */
    if (tp_report_head == NULL)
        event_cancel_timer(tp_report_expire, NULL);
}

static void
tp_report_write(int event, void *context)
{
    ssize_t n;

    (void) event;
    (void) context;
    while (vbuf_len(tp_report_out) > 0) {
        n = write(tp_report_fd, vbuf_str(tp_report_out),
                  vbuf_len(tp_report_out));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            event_enable_write(tp_report_fd, tp_report_write, NULL);
            return;
        }
        if (n <= 0) {
            tp_report_drop(strerror(errno));
            return;
        }
        vbuf_consume(tp_report_out, (size_t) n);
    }
    event_disable_write(tp_report_fd);
}

void
tp_report_disconnect(const char *key, long long window_ms, TP_REPORT_FN done,
                     void *context)
{
    TP_REPORT *r;
    VBUF *why;

    if (tp_report_fd < 0) {
        why = vbuf_create(100);
        if ((tp_report_fd = unix_sock_connect(tp_report_path, 0, why)) < 0) {
            done(-1, vbuf_str(why), context);
            vbuf_free(why);
            return;
        }
        vbuf_free(why);
        event_enable_read(tp_report_fd, tp_report_read, NULL);
    }
    attr_reset(tp_report_msg);
    attr_set(tp_report_msg, "request", RK_COUNTER_TARPIT);
    attr_set(tp_report_msg, "key", key);
    attr_setf(tp_report_msg, "window", "%lld", window_ms);
    attr_print(tp_report_out, tp_report_msg);

    r = mymalloc(sizeof(*r));
    r->done = done;
    r->context = context;
    r->deadline = event_now_ms() + tp_report_timeout;
    r->next = NULL;
    if (tp_report_tail)
        tp_report_tail->next = r;
    else {
        tp_report_head = r;
        event_request_timer(tp_report_expire, NULL, tp_report_timeout);
    }
    tp_report_tail = r;
    tp_report_count++;
    tp_report_write(0, NULL);
}

void
tp_report_end(void)
{
    tp_report_drop("the tarpit is stopping");
    tp_report_path = myfree(tp_report_path);
    tp_report_out = vbuf_free(tp_report_out);
    tp_report_in = vbuf_free(tp_report_in);
    tp_report_msg = attr_free(tp_report_msg);
}
