/* The typed client of the archiver, on attr_clnt: builds the requests and
 * reads the replies of arc_clnt.h, so that alligatectl never spells an
 * attribute. */
#include <stdio.h>
#include <string.h>

#include "arc_clnt.h"
#include "attr.h"
#include "attr_clnt.h"
#include "mymalloc.h"
#include "path.h"

struct ARC_CLNT {
    ATTR_CLNT *attr;
    ATTR   *request;
    ATTR   *reply;
    VBUF   *why;
};

void
arc_query_init(ARC_QUERY *query)
{
    memset(query, 0, sizeof(*query));
    query->since = query->until = -1;
}

ARC_CLNT *
arc_clnt_create(const char *socket_path, int timeout_ms)
{
    ARC_CLNT *clnt = mymalloc(sizeof(*clnt));

    clnt->attr = attr_clnt_create(socket_path, ARC_PROTO, ARC_VERSION, timeout_ms);
    clnt->request = attr_create();
    clnt->reply = attr_create();
    clnt->why = vbuf_create(100);
    return clnt;
}

ARC_CLNT *
arc_clnt_free(ARC_CLNT *clnt)
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
arc_clnt_default_path(void)
{
    return path_run(ARC_SOCKET_NAME);
}

const char *
arc_clnt_error(const ARC_CLNT *clnt)
{
    return vbuf_str(clnt->why);
}

/* Sends the request; the reply's status as ARC_CLNT_*. */
static int
arc_clnt_call(ARC_CLNT *clnt)
{
    const char *reason;
    long    status;

    if (attr_clnt_request(clnt->attr, clnt->request, clnt->reply, clnt->why) < 0)
        return ARC_CLNT_NOANSWER;
    if (attr_get_long(clnt->reply, "status", &status) < 0) {
        vbuf_set(clnt->why, "reply without a valid status");
        return ARC_CLNT_NOANSWER;
    }
    if (status != 0) {
        reason = attr_get(clnt->reply, "reason");
        vbuf_set(clnt->why, reason ? reason : "no reason given");
        return status > 0 ? ARC_CLNT_REFUSED : ARC_CLNT_NOANSWER;
    }
    return ARC_CLNT_OK;
}

static long long
arc_clnt_num(const ATTR *reply, const char *name)
{
    long    v;

    return attr_get_long(reply, name, &v) == 0 ? v : 0;
}

static int
arc_clnt_set(ARC_CLNT *clnt, const char *name, const char *value)
{
    if (value == NULL)
        return 0;
    if (attr_set(clnt->request, name, value) < 0) {
        vbuf_set(clnt->why, "");
        vbuf_printf(clnt->why, "%s cannot be sent (too long, or a line break in it)",
                    name);
        return -1;
    }
    return 0;
}

int
arc_clnt_search(ARC_CLNT *clnt, const ARC_QUERY *q, long *matches)
{
    int     status;

    attr_reset(clnt->request);
    attr_set(clnt->request, "request", "search");
    if (arc_clnt_set(clnt, "sender", q->sender) < 0
        || arc_clnt_set(clnt, "rcpt", q->rcpt) < 0
        || arc_clnt_set(clnt, "client", q->client) < 0
        || arc_clnt_set(clnt, "subject", q->subject) < 0
        || arc_clnt_set(clnt, "message_id", q->message_id) < 0)
        return ARC_CLNT_REFUSED;
    if (q->since >= 0)
        attr_setf(clnt->request, "since", "%lld", q->since);
    if (q->until >= 0)
        attr_setf(clnt->request, "until", "%lld", q->until);
    if (q->limit > 0)
        attr_set_long(clnt->request, "limit", q->limit);
    if ((status = arc_clnt_call(clnt)) != ARC_CLNT_OK)
        return status;
    *matches = (long) arc_clnt_num(clnt->reply, "matches");
    return ARC_CLNT_OK;
}

static char *
arc_clnt_str(const ATTR *reply, const char *name, int i)
{
    char    key[ATTR_NAME_MAX + 1];
    const char *v;

    snprintf(key, sizeof(key), "%s_%d", name, i);
    v = attr_get(reply, key);
    return mystrdup(v ? v : "");
}

static long long
arc_clnt_inum(const ATTR *reply, const char *name, int i)
{
    char    key[ATTR_NAME_MAX + 1];

    snprintf(key, sizeof(key), "%s_%d", name, i);
    return arc_clnt_num(reply, key);
}

/* The TAB-separated recipients of a match. */
static void
arc_clnt_rcpts(ARC_MATCH *m, const char *list)
{
    const char *cp = list, *tab;

    m->rcpt = NULL;
    m->rcpt_count = 0;
    while (*cp) {
        tab = strchr(cp, '\t');
        m->rcpt = myrealloc(m->rcpt, (m->rcpt_count + 1) * sizeof(*m->rcpt));
        m->rcpt[m->rcpt_count++] = tab ? mystrndup(cp, (size_t) (tab - cp)) : mystrdup(cp);
        if (tab == NULL)
            break;
        cp = tab + 1;
    }
}

int
arc_clnt_fetch(ARC_CLNT *clnt, ARC_MATCH **list, int *count, int *more)
{
    ARC_MATCH *m;
    char   *rcpts, *id;
    long long n;
    int     status, i;

    *list = NULL;
    *count = 0;
    *more = 0;
    attr_reset(clnt->request);
    attr_set(clnt->request, "request", "fetch");
    if ((status = arc_clnt_call(clnt)) != ARC_CLNT_OK)
        return status;
    n = arc_clnt_num(clnt->reply, "entries");
    if (n < 0 || n > ATTR_COUNT_MAX) {
        vbuf_set(clnt->why, "reply with a bad number of entries");
        return ARC_CLNT_NOANSWER;
    }
    *list = m = mycalloc((size_t) n + 1, sizeof(*m));
    for (i = 0; i < (int) n; i++, m++) {
        id = arc_clnt_str(clnt->reply, "id", i);
        snprintf(m->id, sizeof(m->id), "%s", id);
        myfree(id);
        m->arrival = arc_clnt_inum(clnt->reply, "arrival", i);
        m->size = arc_clnt_inum(clnt->reply, "size", i);
        m->stored = arc_clnt_inum(clnt->reply, "stored", i);
        m->rcpt_total = (long) arc_clnt_inum(clnt->reply, "nrcpt", i);
        m->sender = arc_clnt_str(clnt->reply, "sender", i);
        rcpts = arc_clnt_str(clnt->reply, "rcpt", i);
        arc_clnt_rcpts(m, rcpts);
        myfree(rcpts);
        m->client_addr = arc_clnt_str(clnt->reply, "client", i);
        m->client_name = arc_clnt_str(clnt->reply, "name", i);
        m->helo = arc_clnt_str(clnt->reply, "helo", i);
        m->protocol = arc_clnt_str(clnt->reply, "proto", i);
        m->sasl_user = arc_clnt_str(clnt->reply, "user", i);
        m->message_id = arc_clnt_str(clnt->reply, "msgid", i);
        m->subject = arc_clnt_str(clnt->reply, "subject", i);
    }
    *count = (int) n;
    *more = arc_clnt_num(clnt->reply, "more") == 1;
    return ARC_CLNT_OK;
}

void
arc_clnt_matches_free(ARC_MATCH *list, int count)
{
    ARC_MATCH *m;
    size_t  j;
    int     i;

    if (list == NULL)
        return;
    for (i = 0, m = list; i < count; i++, m++) {
        myfree(m->sender);
        for (j = 0; j < m->rcpt_count; j++)
            myfree(m->rcpt[j]);
        myfree(m->rcpt);
        myfree(m->client_addr);
        myfree(m->client_name);
        myfree(m->helo);
        myfree(m->protocol);
        myfree(m->sasl_user);
        myfree(m->message_id);
        myfree(m->subject);
    }
    myfree(list);
}

int
arc_clnt_stats(ARC_CLNT *clnt, ARC_CLNT_STATS *st)
{
    int     status;

    memset(st, 0, sizeof(*st));
    attr_reset(clnt->request);
    attr_set(clnt->request, "request", "stats");
    if ((status = arc_clnt_call(clnt)) != ARC_CLNT_OK)
        return status;
    st->messages = arc_clnt_num(clnt->reply, "messages");
    st->raw_bytes = arc_clnt_num(clnt->reply, "raw_bytes");
    st->stored_bytes = arc_clnt_num(clnt->reply, "stored_bytes");
    st->oldest = arc_clnt_num(clnt->reply, "oldest");
    st->newest = arc_clnt_num(clnt->reply, "newest");
    st->archived = arc_clnt_num(clnt->reply, "archived");
    st->removed_age = arc_clnt_num(clnt->reply, "removed_age");
    st->removed_size = arc_clnt_num(clnt->reply, "removed_size");
    st->failed = arc_clnt_num(clnt->reply, "failed");
    st->waiting = arc_clnt_num(clnt->reply, "waiting");
    st->reindexing = arc_clnt_num(clnt->reply, "reindexing") == 1;
    return ARC_CLNT_OK;
}

int
arc_clnt_reindex(ARC_CLNT *clnt)
{
    attr_reset(clnt->request);
    attr_set(clnt->request, "request", "reindex");
    return arc_clnt_call(clnt);
}

int
arc_clnt_reindex_status(ARC_CLNT *clnt, ARC_CLNT_REINDEX *st)
{
    int     status, i;
    char    key[32];
    const char *v;

    memset(st, 0, sizeof(*st));
    attr_reset(clnt->request);
    attr_set(clnt->request, "request", "reindex_status");
    if ((status = arc_clnt_call(clnt)) != ARC_CLNT_OK)
        return status;
    st->running = arc_clnt_num(clnt->reply, "running") == 1;
    st->files = arc_clnt_num(clnt->reply, "files");
    st->indexed = arc_clnt_num(clnt->reply, "indexed");
    st->damaged = arc_clnt_num(clnt->reply, "damaged");
    for (i = 0; i < ARC_CLNT_DAMAGED_MAX; i++) {
        snprintf(key, sizeof(key), "damaged_%d", i);
        if ((v = attr_get(clnt->reply, key)) == NULL)
            break;
        st->damaged_paths[st->damaged_shown++] = mystrdup(v);
    }
    return ARC_CLNT_OK;
}

void
arc_clnt_reindex_free(ARC_CLNT_REINDEX *st)
{
    int     i;

    for (i = 0; i < st->damaged_shown; i++)
        myfree(st->damaged_paths[i]);
    st->damaged_shown = 0;
}
