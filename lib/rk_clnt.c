/* The typed client of ratekeeper, on attr_clnt: builds the requests,
 * checks the replies, and turns every failure into RK_CLNT_NOANSWER so
 * that callers only decide whether to go on without the limits. */
#include <stdio.h>
#include <string.h>

#include "attr.h"
#include "attr_clnt.h"
#include "monotime.h"
#include "metrics.h"
#include "msg.h"
#include "mymalloc.h"
#include "path.h"
#include "printable.h"
#include "rk_clnt.h"
#include "rk_key.h"

struct RK_CLNT {
    ATTR_CLNT *attr;
    int flags;
    ATTR *request;
    ATTR *reply;
    VBUF *why;
    VBUF *key;
    long long warned;                   /* monotonic ms of the last warning */
};

RK_CLNT *
rk_clnt_create(const char *socket_path, int timeout_ms, int flags)
{
    RK_CLNT *clnt = mymalloc(sizeof(*clnt));

    clnt->attr = attr_clnt_create(socket_path, RK_PROTO, RK_VERSION,
                                  timeout_ms);
    clnt->flags = flags;
    clnt->request = attr_create();
    clnt->reply = attr_create();
    clnt->why = vbuf_create(100);
    clnt->key = vbuf_create(100);
    clnt->warned = 0;
    return clnt;
}

RK_CLNT *
rk_clnt_free(RK_CLNT *clnt)
{
    if (clnt) {
        attr_clnt_free(clnt->attr);
        attr_free(clnt->request);
        attr_free(clnt->reply);
        vbuf_free(clnt->why);
        vbuf_free(clnt->key);
        myfree(clnt);
    }
    return NULL;
}

const char *
rk_clnt_default_path(void)
{
    return path_run(RK_SOCKET_NAME);
}

const char *
rk_clnt_error(const RK_CLNT *clnt)
{
    return vbuf_str(clnt->why);
}

static int
rk_clnt_fail(RK_CLNT *clnt)
{
    long long now;

    if (clnt->flags & RK_CLNT_FLAG_WARN) {
        metrics_inc(METRIC_RK_FAIL_OPEN);
        now = monotime_ms();
        if (clnt->warned == 0 || now - clnt->warned >= RK_CLNT_WARN_MS) {
            clnt->warned = now;
            msg_warn("ratekeeper: no answer: %s; going on without the rate and connection limits",
                     printable_str(vbuf_str(clnt->why)));
        }
    }
    return RK_CLNT_NOANSWER;
}

/* Checks the reply in clnt->reply: one with a negative status is a
 * failure. */
static int
rk_clnt_check(RK_CLNT *clnt)
{
    const char *reason;
    long status;

    if (attr_get_long(clnt->reply, "status", &status) < 0) {
        vbuf_set(clnt->why, "reply without a valid status");
        return rk_clnt_fail(clnt);
    }
    if (status < 0) {
        reason = attr_get(clnt->reply, "reason");
        vbuf_set(clnt->why, "refused: ");
        vbuf_append_str(clnt->why, reason ? reason : "no reason given");
        return rk_clnt_fail(clnt);
    }
    return RK_CLNT_OK;
}

/* Sends the request built in clnt->request; the reply is in clnt->reply. */
static int
rk_clnt_call(RK_CLNT *clnt)
{
    if (attr_clnt_request(clnt->attr, clnt->request, clnt->reply,
                          clnt->why) < 0)
        return rk_clnt_fail(clnt);
    return rk_clnt_check(clnt);
}

/* Starts a request; returns -1 (with why) when the key cannot be sent. */
static int
rk_clnt_begin(RK_CLNT *clnt, const char *verb, const char *key)
{
    metrics_inc(METRIC_RK_CLIENT_REQUESTS);
    attr_reset(clnt->request);
    attr_set(clnt->request, "request", verb);
    if (key && attr_set(clnt->request, "key", key) < 0) {
        vbuf_set(clnt->why, "key cannot be sent");
        return -1;
    }
    return 0;
}

static int
rk_clnt_get_count(RK_CLNT *clnt, const char *name, long *count)
{
    if (attr_get_long(clnt->reply, name, count) < 0 || *count < 0) {
        vbuf_set(clnt->why, "");
        vbuf_printf(clnt->why, "reply without a valid %s", name);
        return rk_clnt_fail(clnt);
    }
    return RK_CLNT_OK;
}

/* The requests that return count=N. */
static int
rk_clnt_counting(RK_CLNT *clnt, const char *verb, const char *counter,
                 const char *key, long long window_ms, long *count)
{
    if (rk_clnt_begin(clnt, verb, key) < 0)
        return rk_clnt_fail(clnt);
    if (counter)
        attr_set(clnt->request, "counter", counter);
    if (window_ms > 0)
        attr_setf(clnt->request, "window", "%lld", window_ms);
    if (rk_clnt_call(clnt) != RK_CLNT_OK)
        return RK_CLNT_NOANSWER;
    return rk_clnt_get_count(clnt, "count", count);
}

/* Builds an address request in clnt->request; -1 (with why) when the
 * address is not one. */
static int
rk_clnt_address_begin(RK_CLNT *clnt, const char *verb, const char *addr)
{
    if (rk_key_address(clnt->key, addr) < 0) {
        vbuf_set(clnt->why, "not a numeric address: ");
        vbuf_append_str(clnt->why, printable_str(addr));
        return -1;
    }
    return rk_clnt_begin(clnt, verb, vbuf_str(clnt->key));
}

static int
rk_clnt_address_request(RK_CLNT *clnt, const char *verb, const char *addr,
                        long *count)
{
    if (rk_clnt_address_begin(clnt, verb, addr) < 0)
        return rk_clnt_fail(clnt);
    if (rk_clnt_call(clnt) != RK_CLNT_OK)
        return RK_CLNT_NOANSWER;
    return rk_clnt_get_count(clnt, "count", count);
}

int
rk_clnt_connect(RK_CLNT *clnt, const char *addr, long *count)
{
    return rk_clnt_address_request(clnt, "connect", addr, count);
}

int
rk_clnt_disconnect(RK_CLNT *clnt, const char *addr, long *count)
{
    return rk_clnt_address_request(clnt, "disconnect", addr, count);
}

int
rk_clnt_disconnect_nowait(RK_CLNT *clnt, const char *addr)
{
    if (rk_clnt_address_begin(clnt, "disconnect", addr) < 0
        || attr_clnt_send(clnt->attr, clnt->request, clnt->why) < 0)
        return rk_clnt_fail(clnt);
    return RK_CLNT_OK;
}

int
rk_clnt_disconnect_defer(RK_CLNT *clnt, const char *addr)
{
    if (rk_clnt_address_begin(clnt, "disconnect", addr) < 0)
        return rk_clnt_fail(clnt);
    attr_clnt_defer(clnt->attr, clnt->request);
    return RK_CLNT_OK;
}

int
rk_clnt_flush(RK_CLNT *clnt)
{
    if (attr_clnt_flush(clnt->attr, clnt->why) < 0)
        return rk_clnt_fail(clnt);
    return RK_CLNT_OK;
}

int
rk_clnt_connect_send(RK_CLNT *clnt, const char *addr)
{
    if (rk_clnt_address_begin(clnt, "connect", addr) < 0
        || attr_clnt_send(clnt->attr, clnt->request, clnt->why) < 0)
        return rk_clnt_fail(clnt);
    return RK_CLNT_OK;
}

/* An optional count of the reply: -1 when it is absent; a bad one is a
 * failure like a bad count. */
static int
rk_clnt_get_optional(RK_CLNT *clnt, const char *name, long *count)
{
    if (attr_get(clnt->reply, name) == NULL) {
        *count = -1;
        return RK_CLNT_OK;
    }
    return rk_clnt_get_count(clnt, name, count);
}

int
rk_clnt_connect_collect_info(RK_CLNT *clnt, RK_CLNT_CONNECT *info)
{
    info->count = info->overlimit = info->tarpit_disconnect = -1;
    if (attr_clnt_collect(clnt->attr, clnt->reply, clnt->why) < 0)
        return rk_clnt_fail(clnt);
    if (rk_clnt_check(clnt) != RK_CLNT_OK
        || rk_clnt_get_count(clnt, "count", &info->count) != RK_CLNT_OK
        || rk_clnt_get_optional(clnt, RK_COUNTER_OVERLIMIT,
                                &info->overlimit) != RK_CLNT_OK
        || rk_clnt_get_optional(clnt, RK_COUNTER_TARPIT,
                                &info->tarpit_disconnect) != RK_CLNT_OK) {
        info->count = info->overlimit = info->tarpit_disconnect = -1;
        return RK_CLNT_NOANSWER;
    }
    return RK_CLNT_OK;
}

int
rk_clnt_connect_collect(RK_CLNT *clnt, long *count)
{
    RK_CLNT_CONNECT info;
    int status = rk_clnt_connect_collect_info(clnt, &info);

    *count = info.count;
    return status;
}

int
rk_clnt_mail(RK_CLNT *clnt, const char *key, long long window_ms,
             long *count)
{
    return rk_clnt_counting(clnt, RK_COUNTER_MAIL, NULL, key, window_ms,
                            count);
}

int
rk_clnt_count(RK_CLNT *clnt, const char *counter, const char *key,
              long long window_ms, long *count)
{
    return rk_clnt_counting(clnt, counter, NULL, key, window_ms, count);
}

int
rk_clnt_lookup(RK_CLNT *clnt, const char *counter, const char *key,
               long *count)
{
    return rk_clnt_counting(clnt, "lookup", counter, key, 0, count);
}

RK_CLNT_COUNT *
rk_clnt_counts_free(RK_CLNT_COUNT *list, int n)
{
    int i;

    for (i = 0; list && i < n; i++) {
        myfree(list[i].key);
        myfree(list[i].counter);
    }
    return myfree(list);
}

/* Reads entries NAME_I of the reply into a list; key_I may be absent,
 * then key is used. */
static int
rk_clnt_get_list(RK_CLNT *clnt, const char *total_name, const char *key,
                 RK_CLNT_COUNT **list, int *n)
{
    char name[64];
    long total, v;
    const char *s;
    RK_CLNT_COUNT *c;
    int i;

    *list = NULL;
    *n = 0;
    if (rk_clnt_get_count(clnt, total_name, &total) != RK_CLNT_OK)
        return RK_CLNT_NOANSWER;
    if (total > ATTR_COUNT_MAX) {
        vbuf_set(clnt->why, "reply with too many entries");
        return rk_clnt_fail(clnt);
    }
    *list = mycalloc((size_t) total + 1, sizeof(**list));
    for (i = 0; i < total; i++) {
        c = *list + i;
        snprintf(name, sizeof(name), "key_%d", i);
        s = attr_get(clnt->reply, name);
        c->key = mystrdup(s ? s : key ? key : "");
        snprintf(name, sizeof(name), "counter_%d", i);
        s = attr_get(clnt->reply, name);
        c->counter = mystrdup(s ? s : "");
        *n = i + 1;
        snprintf(name, sizeof(name), "count_%d", i);
        if (attr_get_long(clnt->reply, name, &c->count) < 0) {
            vbuf_set(clnt->why, "reply without a valid count");
            *list = rk_clnt_counts_free(*list, *n);
            *n = 0;
            return rk_clnt_fail(clnt);
        }
        snprintf(name, sizeof(name), "window_%d", i);
        c->window_ms = attr_get_long(clnt->reply, name, &v) == 0 ? v : 0;
        snprintf(name, sizeof(name), "clear_%d", i);
        c->clear_ms = attr_get_long(clnt->reply, name, &v) == 0 ? v : 0;
    }
    return RK_CLNT_OK;
}

int
rk_clnt_show(RK_CLNT *clnt, const char *key, VBUF *canon,
             RK_CLNT_COUNT **list, int *n)
{
    const char *k;

    *list = NULL;
    *n = 0;
    if (rk_clnt_begin(clnt, "show", key) < 0)
        return rk_clnt_fail(clnt);
    if (rk_clnt_call(clnt) != RK_CLNT_OK)
        return RK_CLNT_NOANSWER;
    k = attr_get(clnt->reply, "key");
    if (canon)
        vbuf_set(canon, k ? k : key);
    return rk_clnt_get_list(clnt, "counters", k ? k : key, list, n);
}

int
rk_clnt_top(RK_CLNT *clnt, int limit, RK_CLNT_COUNT **list, int *n)
{
    *list = NULL;
    *n = 0;
    rk_clnt_begin(clnt, "top", NULL);
    attr_set_long(clnt->request, "limit", limit);
    if (rk_clnt_call(clnt) != RK_CLNT_OK)
        return RK_CLNT_NOANSWER;
    return rk_clnt_get_list(clnt, "entries", NULL, list, n);
}

int
rk_clnt_reset(RK_CLNT *clnt, const char *key, long *removed)
{
    if (rk_clnt_begin(clnt, "reset", key) < 0)
        return rk_clnt_fail(clnt);
    if (rk_clnt_call(clnt) != RK_CLNT_OK)
        return RK_CLNT_NOANSWER;
    return rk_clnt_get_count(clnt, "removed", removed);
}

RK_CLNT_STATUS *
rk_clnt_status_free(RK_CLNT_STATUS *status)
{
    if (status) {
        myfree(status->backend);
        myfree(status->server);
        myfree(status->error);
        myfree(status->gateway);
        myfree(status);
    }
    return NULL;
}

int
rk_clnt_status(RK_CLNT *clnt, RK_CLNT_STATUS **status)
{
    RK_CLNT_STATUS *st;
    const char *s;
    long v;

    *status = NULL;
    rk_clnt_begin(clnt, "status", NULL);
    if (rk_clnt_call(clnt) != RK_CLNT_OK)
        return RK_CLNT_NOANSWER;
    st = mycalloc(1, sizeof(*st));
    s = attr_get(clnt->reply, "backend");
    st->backend = mystrdup(s ? s : "bdb");
    s = attr_get(clnt->reply, "redis_server");
    st->server = mystrdup(s ? s : "");
    s = attr_get(clnt->reply, "redis_error");
    st->error = mystrdup(s ? s : "");
    s = attr_get(clnt->reply, "gateway");
    st->gateway = mystrdup(s ? s : "");
    s = attr_get(clnt->reply, "redis");
    st->reachable = s && strcmp(s, "reachable") == 0;
    st->since_ms = attr_get_long(clnt->reply, "redis_since", &v) == 0 ? v : 0;
    st->keys = attr_get_long(clnt->reply, "keys", &v) == 0 ? v : 0;
    *status = st;
    return RK_CLNT_OK;
}
