/* The typed client of dnscache, on attr_clnt: builds the requests, checks
 * the replies, and turns every failure into DC_CLNT_NOANSWER, so that
 * smtpd only decides to go on with an "unknown" client. */
#include <stdio.h>
#include <string.h>

#include "attr.h"
#include "attr_clnt.h"
#include "dc_clnt.h"
#include "monotime.h"
#include "metrics.h"
#include "msg.h"
#include "mymalloc.h"
#include "path.h"
#include "printable.h"

struct DC_CLNT {
    ATTR_CLNT *attr;
    int flags;
    ATTR *request;
    ATTR *reply;
    VBUF *why;
    long long warned;                   /* monotonic ms of the last warning */
};

DC_CLNT *
dc_clnt_create(const char *socket_path, int flags)
{
    DC_CLNT *clnt = mymalloc(sizeof(*clnt));

    clnt->attr = attr_clnt_create(socket_path, DC_PROTO, DC_VERSION,
                                  DC_CLNT_SEND_MS);
    clnt->flags = flags;
    clnt->request = attr_create();
    clnt->reply = attr_create();
    clnt->why = vbuf_create(100);
    clnt->warned = 0;
    return clnt;
}

DC_CLNT *
dc_clnt_free(DC_CLNT *clnt)
{
    if (clnt) {
        attr_clnt_free(clnt->attr);
        attr_free(clnt->request);
        attr_free(clnt->reply);
        vbuf_free(clnt->why);
        myfree(clnt);
    }
    return NULL;
}

const char *
dc_clnt_default_path(void)
{
    return path_run(DC_SOCKET_NAME);
}

const char *
dc_clnt_error(const DC_CLNT *clnt)
{
    return vbuf_str(clnt->why);
}

static int
dc_clnt_fail(DC_CLNT *clnt)
{
    long long now;

    metrics_inc(METRIC_DC_FAIL_OPEN);
    if (clnt->flags & DC_CLNT_FLAG_WARN) {
        now = monotime_ms();
        if (clnt->warned == 0 || now - clnt->warned >= DC_CLNT_WARN_MS) {
            clnt->warned = now;
            msg_warn("dnscache: no answer: %s; going on with an unknown client",
                     printable_str(vbuf_str(clnt->why)));
        }
    }
    return DC_CLNT_NOANSWER;
}

/* A reply with a negative or no status is a failure. */
static int
dc_clnt_check(DC_CLNT *clnt)
{
    const char *reason;
    long status;

    if (attr_get_long(clnt->reply, "status", &status) < 0) {
        vbuf_set(clnt->why, "reply without a valid status");
        return dc_clnt_fail(clnt);
    }
    if (status < 0) {
        reason = attr_get(clnt->reply, "reason");
        vbuf_set(clnt->why, "refused: ");
        vbuf_append_str(clnt->why, reason ? reason : "no reason given");
        return dc_clnt_fail(clnt);
    }
    return DC_CLNT_OK;
}

static void
dc_clnt_copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

static long
dc_clnt_long(const ATTR *reply, const char *name, long dflt)
{
    long v;

    return attr_get_long(reply, name, &v) == 0 ? v : dflt;
}

static void
dc_clnt_get_info(const ATTR *reply, DC_CLIENT_INFO *info)
{
    memset(info, 0, sizeof(*info));
    /* An unverified name is never the client's name. */
    if (dc_clnt_long(reply, "verified", 0) == 1)
        dc_clnt_copy(info->name, sizeof(info->name), attr_get(reply, "name"));
    info->temp = dc_clnt_long(reply, "temp", 0) == 1;
    info->pending = dc_clnt_long(reply, "pending", 0) == 1;
    info->score = (int) dc_clnt_long(reply, "score", 0);
    dc_clnt_copy(info->sites, sizeof(info->sites), attr_get(reply, "sites"));
    dc_clnt_copy(info->late, sizeof(info->late), attr_get(reply, "late"));
}

int
dc_clnt_client_send(DC_CLNT *clnt, const char *addr, int flags,
                    long long deadline_ms)
{
    long long wait = deadline_ms - monotime_ms();

    metrics_inc(METRIC_DC_CLIENT_REQUESTS);
    attr_reset(clnt->request);
    attr_set(clnt->request, "request", "client");
    if (attr_set(clnt->request, "addr", addr) < 0) {
        vbuf_set(clnt->why, "address cannot be sent");
        return dc_clnt_fail(clnt);
    }
    if (flags & DC_CLNT_ASK_NAME)
        attr_set(clnt->request, "ptr", (flags & DC_CLNT_NAME_LATER)
                 && (flags & DC_CLNT_ASK_SCORE) ? "start" : "1");
    if (flags & DC_CLNT_ASK_SCORE)
        attr_set(clnt->request, "dnsbl", "1");
    attr_setf(clnt->request, "wait", "%lld", wait > 0 ? wait : 1);
    attr_clnt_set_timeout(clnt->attr, DC_CLNT_SEND_MS);
    if (attr_clnt_send(clnt->attr, clnt->request, clnt->why) < 0)
        return dc_clnt_fail(clnt);
    return DC_CLNT_OK;
}

int
dc_clnt_client_ready(DC_CLNT *clnt)
{
    return attr_clnt_ready(clnt->attr);
}

int
dc_clnt_client_fd(const DC_CLNT *clnt)
{
    return attr_clnt_fd(clnt->attr);
}

int
dc_clnt_client_collect(DC_CLNT *clnt, long long deadline_ms,
                       DC_CLIENT_INFO *info)
{
    long long left = deadline_ms - monotime_ms();

    memset(info, 0, sizeof(*info));
    /* Past the deadline the answer may still be there already. */
    attr_clnt_set_timeout(clnt->attr, left > 0 ? (int) left : 1);
    if (attr_clnt_collect(clnt->attr, clnt->reply, clnt->why) < 0)
        return dc_clnt_fail(clnt);
    if (dc_clnt_check(clnt) != DC_CLNT_OK)
        return DC_CLNT_NOANSWER;
    dc_clnt_get_info(clnt->reply, info);
    return DC_CLNT_OK;
}

static int
dc_clnt_call(DC_CLNT *clnt)
{
    attr_clnt_set_timeout(clnt->attr, DC_CLNT_ADMIN_MS);
    if (attr_clnt_request(clnt->attr, clnt->request, clnt->reply,
                          clnt->why) < 0)
        return dc_clnt_fail(clnt);
    return dc_clnt_check(clnt);
}

int
dc_clnt_lookup(DC_CLNT *clnt, const char *addr, int fresh,
               DC_CLNT_LOOKUP *out)
{
    memset(out, 0, sizeof(*out));
    attr_reset(clnt->request);
    attr_set(clnt->request, "request", "lookup");
    if (attr_set(clnt->request, "addr", addr) < 0) {
        vbuf_set(clnt->why, "address cannot be sent");
        return dc_clnt_fail(clnt);
    }
    if (fresh)
        attr_set(clnt->request, "fresh", "1");
    if (dc_clnt_call(clnt) != DC_CLNT_OK)
        return DC_CLNT_NOANSWER;
    dc_clnt_get_info(clnt->reply, &out->info);
    dc_clnt_copy(out->ptr, sizeof(out->ptr), attr_get(clnt->reply, "ptr"));
    dc_clnt_copy(out->unverified, sizeof(out->unverified),
                 attr_get(clnt->reply, "unverified"));
    dc_clnt_copy(out->result, sizeof(out->result),
                 attr_get(clnt->reply, "result"));
    dc_clnt_copy(out->dnsbl, sizeof(out->dnsbl),
                 attr_get(clnt->reply, "dnsbl"));
    out->ttl = dc_clnt_long(clnt->reply, "ttl", -1);
    out->cached = dc_clnt_long(clnt->reply, "cached", 0) == 1;
    return DC_CLNT_OK;
}

int
dc_clnt_flush(DC_CLNT *clnt, const char *addr, long *removed)
{
    attr_reset(clnt->request);
    attr_set(clnt->request, "request", "flush");
    if (addr && attr_set(clnt->request, "addr", addr) < 0) {
        vbuf_set(clnt->why, "address cannot be sent");
        return dc_clnt_fail(clnt);
    }
    if (dc_clnt_call(clnt) != DC_CLNT_OK)
        return DC_CLNT_NOANSWER;
    *removed = dc_clnt_long(clnt->reply, "removed", 0);
    return DC_CLNT_OK;
}

int
dc_clnt_stats(DC_CLNT *clnt, DC_CLNT_STATS *out)
{
    attr_reset(clnt->request);
    attr_set(clnt->request, "request", "stats");
    if (dc_clnt_call(clnt) != DC_CLNT_OK)
        return DC_CLNT_NOANSWER;
    out->entries = dc_clnt_long(clnt->reply, "entries", 0);
    out->hits = dc_clnt_long(clnt->reply, "hits", 0);
    out->misses = dc_clnt_long(clnt->reply, "misses", 0);
    out->inflight = dc_clnt_long(clnt->reply, "inflight", 0);
    out->refreshes = dc_clnt_long(clnt->reply, "refreshes", 0);
    return DC_CLNT_OK;
}
