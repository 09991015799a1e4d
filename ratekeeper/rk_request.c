/* The request dispatch: checks each request's attributes, canonicalizes
 * its key, and answers from the state.  Everything here sees what a peer
 * sent, so nothing is trusted: a bad request gets status=-1 and a reason,
 * never a crash. */
#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "msg.h"
#include "printable.h"
#include "rk_clnt.h"
#include "rk_key.h"
#include "rk_request.h"

typedef struct RK_REQUEST {
    RK_STATE *state;
    const ATTR *in;
    ATTR *out;
    unsigned long client;
    long long now;
    VBUF *key;                          /* the canonical key */
    VBUF *why;
} RK_REQUEST;

typedef struct RK_REQUEST_VERB {
    const char *name;
    void (*handle)(RK_REQUEST *req);
} RK_REQUEST_VERB;

static void
rk_request_error(RK_REQUEST *req, const char *reason)
{
    metrics_inc(METRIC_RK_ERRORS);
    attr_reset(req->out);
    attr_set(req->out, "status", "-1");
    attr_set(req->out, "reason", reason);
}

static void
rk_request_ok(RK_REQUEST *req, int status)
{
    attr_set_long(req->out, "status", status);
}

/* The canonical key of the request, an address when only_address.
 * Returns 0, or -1 after answering with the error. */
static int
rk_request_key(RK_REQUEST *req, int only_address)
{
    const char *key = attr_get(req->in, "key");

    if (key == NULL) {
        rk_request_error(req, "no key");
        return -1;
    }
    if (rk_key_canon(req->key, key, req->why) < 0) {
        rk_request_error(req, vbuf_str(req->why));
        return -1;
    }
    if (only_address && !rk_key_is_address(vbuf_str(req->key))) {
        rk_request_error(req, "key is not a client address");
        return -1;
    }
    return 0;
}

static int
rk_request_window(RK_REQUEST *req, long long *window_ms)
{
    long v;

    if (attr_get_long(req->in, "window", &v) < 0 || v < 1
        || v > RK_WINDOW_MAX_MS) {
        rk_request_error(req, "no window, or a bad one (milliseconds, 1 to 400 days)");
        return -1;
    }
    *window_ms = v;
    return 0;
}

static void
rk_request_connect(RK_REQUEST *req)
{
    unsigned long count;

    if (rk_request_key(req, 1) < 0)
        return;
    if (req->client == 0) {
        rk_request_error(req, "connect needs a connection to belong to");
        return;
    }
    count = rk_state_register(req->state, req->client, vbuf_str(req->key));
    rk_request_ok(req, 0);
    attr_set_long(req->out, "count", (long) count);
    /* What smtpd decides by at connect (the tarpit, the tarpit
     * disconnect limit), in the same round trip. */
    attr_set_long(req->out, RK_COUNTER_OVERLIMIT,
                  (long) rk_state_lookup(req->state, RK_COUNTER_OVERLIMIT,
                                         vbuf_str(req->key), req->now));
    attr_set_long(req->out, RK_COUNTER_TARPIT,
                  (long) rk_state_lookup(req->state, RK_COUNTER_TARPIT,
                                         vbuf_str(req->key), req->now));
}

static void
rk_request_disconnect(RK_REQUEST *req)
{
    unsigned long count = 0;
    int status = 1;

    if (rk_request_key(req, 1) < 0)
        return;
    if (req->client != 0)
        status = rk_state_release(req->state, req->client,
                                  vbuf_str(req->key), &count) < 0 ? 1 : 0;
    else
        count = rk_state_lookup(req->state, RK_COUNTER_CONNECTIONS,
                                vbuf_str(req->key), req->now);
    rk_request_ok(req, status);
    attr_set_long(req->out, "count", (long) count);
}

/* mail, overlimit, tarpit_disconnect, auth_failure: the verb is the
 * counter. */
static void
rk_request_count(RK_REQUEST *req)
{
    const char *counter = attr_get(req->in, "request");
    long long window_ms;
    unsigned long count;

    if (rk_request_key(req, strcmp(counter, RK_COUNTER_MAIL) != 0) < 0
        || rk_request_window(req, &window_ms) < 0)
        return;
    count = rk_state_add(req->state, counter, vbuf_str(req->key), window_ms,
                         req->now);
    rk_request_ok(req, 0);
    attr_set_long(req->out, "count", (long) count);
}

static void
rk_request_lookup(RK_REQUEST *req)
{
    const char *counter = attr_get(req->in, "counter");

    if (counter == NULL || (!rk_state_counter_known(counter)
                            && strcmp(counter, RK_COUNTER_CONNECTIONS) != 0)) {
        rk_request_error(req, "no counter, or an unknown one");
        return;
    }
    if (rk_request_key(req, 0) < 0)
        return;
    rk_request_ok(req, 0);
    attr_set_long(req->out, "count",
                  (long) rk_state_lookup(req->state, counter,
                                         vbuf_str(req->key), req->now));
}

/* Entries as NAME_I attributes; with_key adds key_I. */
static void
rk_request_entries(RK_REQUEST *req, const RK_STATE_ENTRY *e, int n,
                   int with_key)
{
    char name[32];
    int i;

    for (i = 0; i < n; i++) {
        if (with_key) {
            snprintf(name, sizeof(name), "key_%d", i);
            attr_set(req->out, name, e[i].key);
        }
        snprintf(name, sizeof(name), "counter_%d", i);
        attr_set(req->out, name, e[i].counter);
        snprintf(name, sizeof(name), "count_%d", i);
        attr_set_long(req->out, name, (long) e[i].count);
        if (e[i].window_ms > 0) {
            snprintf(name, sizeof(name), "window_%d", i);
            attr_setf(req->out, name, "%lld", e[i].window_ms);
            snprintf(name, sizeof(name), "clear_%d", i);
            attr_setf(req->out, name, "%lld", e[i].clear_ms);
        }
    }
}

static void
rk_request_show(RK_REQUEST *req)
{
    RK_STATE_ENTRY entries[8];
    int n;

    if (rk_request_key(req, 0) < 0)
        return;
    n = rk_state_show(req->state, vbuf_str(req->key), req->now, entries, 8);
    rk_request_ok(req, 0);
    attr_set(req->out, "key", vbuf_str(req->key));
    attr_set_long(req->out, "counters", n);
    rk_request_entries(req, entries, n, 0);
}

static void
rk_request_top(RK_REQUEST *req)
{
    static RK_STATE_ENTRY entries[RK_STATE_TOP_MAX];
    long limit = 10;
    int n;

    if (attr_get(req->in, "limit") != NULL
        && (attr_get_long(req->in, "limit", &limit) < 0 || limit < 1)) {
        rk_request_error(req, "bad limit");
        return;
    }
    if (limit > RK_STATE_TOP_MAX)
        limit = RK_STATE_TOP_MAX;
    n = rk_state_top(req->state, req->now, (int) limit, entries);
    rk_request_ok(req, 0);
    attr_set_long(req->out, "entries", n);
    rk_request_entries(req, entries, n, 1);
}

static void
rk_request_reset(RK_REQUEST *req)
{
    int n;

    if (rk_request_key(req, 0) < 0)
        return;
    n = rk_state_reset(req->state, vbuf_str(req->key), req->now);
    rk_request_ok(req, 0);
    attr_set(req->out, "key", vbuf_str(req->key));
    attr_set_long(req->out, "removed", n);
}

static void
rk_request_status(RK_REQUEST *req)
{
    rk_request_ok(req, 0);
    rk_state_status(req->state, req->out);
}

static const RK_REQUEST_VERB rk_request_verbs[] = {
    {"connect", rk_request_connect},
    {"disconnect", rk_request_disconnect},
    {RK_COUNTER_MAIL, rk_request_count},
    {RK_COUNTER_OVERLIMIT, rk_request_count},
    {RK_COUNTER_TARPIT, rk_request_count},
    {RK_COUNTER_AUTH, rk_request_count},
    {"lookup", rk_request_lookup},
    {"show", rk_request_show},
    {"top", rk_request_top},
    {"reset", rk_request_reset},
    {"status", rk_request_status},
    {NULL, NULL},
};

void
rk_request_handle(RK_STATE *state, const ATTR *request, ATTR *reply,
                  unsigned long client, long long now)
{
    static VBUF *key, *why;
    const RK_REQUEST_VERB *verb;
    const char *name = attr_get(request, "request");
    RK_REQUEST req;

    metrics_inc(METRIC_RK_REQUESTS);
    if (key == NULL) {
        key = vbuf_create(128);
        why = vbuf_create(64);
    }
    req.state = state;
    req.in = request;
    req.out = reply;
    req.client = client;
    req.now = now;
    req.key = key;
    req.why = why;
    if (name == NULL) {
        rk_request_error(&req, "no request");
        return;
    }
    for (verb = rk_request_verbs; verb->name; verb++) {
        if (strcmp(verb->name, name) == 0) {
            verb->handle(&req);
            return;
        }
    }
    rk_request_error(&req, "unknown request");
}

void
rk_request_client_gone(RK_STATE *state, unsigned long client)
{
    if (client != 0)
        rk_state_client_gone(state, client);
}
