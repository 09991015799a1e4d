/* The typed client of the archiver, on ctl_clnt: builds the requests and
 * reads the replies of arc_clnt.h, so that alligatectl never spells an
 * attribute. */
#include <stdio.h>
#include <string.h>

#include "arc_clnt.h"
#include "attr.h"
#include "ctl_clnt.h"
#include "mymalloc.h"
#include "path.h"

void
arc_query_init(ARC_QUERY *query)
{
    memset(query, 0, sizeof(*query));
    query->since = query->until = -1;
}

ARC_CLNT *
arc_clnt_create(const char *socket_path, int timeout_ms)
{
    return ctl_clnt_create(socket_path, ARC_PROTO, ARC_VERSION, timeout_ms);
}

ARC_CLNT *
arc_clnt_free(ARC_CLNT *clnt)
{
    return ctl_clnt_free(clnt);
}

const char *
arc_clnt_default_path(void)
{
    return path_run(ARC_SOCKET_NAME);
}

const char *
arc_clnt_error(const ARC_CLNT *clnt)
{
    return ctl_clnt_error(clnt);
}

/* Sends the request begun; the result as ARC_CLNT_*.  The archiver
 * refuses with status=1; its status=-1 says that it could not do the
 * request at all, which alligatectl reports as for an archiver it cannot
 * talk to. */
static int
arc_clnt_send(ARC_CLNT *clnt)
{
    int     status = ctl_clnt_send(clnt);

    if (status == CTL_CLNT_REFUSED && ctl_clnt_status(clnt) < 0)
        return ARC_CLNT_NOANSWER;
    return status;
}

static int
arc_clnt_call(ARC_CLNT *clnt, const char *verb)
{
    ctl_clnt_begin(clnt, verb);
    return arc_clnt_send(clnt);
}

static long long
arc_clnt_num(const ATTR *reply, const char *name)
{
    long    v;

    return attr_get_long(reply, name, &v) == 0 ? v : 0;
}

int
arc_clnt_search(ARC_CLNT *clnt, const ARC_QUERY *q, long *matches)
{
    ATTR   *request = ctl_clnt_begin(clnt, "search");
    int     status;

    if (ctl_clnt_set(clnt, "sender", q->sender) < 0
        || ctl_clnt_set(clnt, "rcpt", q->rcpt) < 0
        || ctl_clnt_set(clnt, "client", q->client) < 0
        || ctl_clnt_set(clnt, "subject", q->subject) < 0
        || ctl_clnt_set(clnt, "message_id", q->message_id) < 0)
        return ARC_CLNT_REFUSED;
    if (q->since >= 0)
        attr_setf(request, "since", "%lld", q->since);
    if (q->until >= 0)
        attr_setf(request, "until", "%lld", q->until);
    if (q->limit > 0)
        attr_set_long(request, "limit", q->limit);
    if ((status = arc_clnt_send(clnt)) != ARC_CLNT_OK)
        return status;
    *matches = (long) arc_clnt_num(ctl_clnt_reply(clnt), "matches");
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
    const ATTR *reply = ctl_clnt_reply(clnt);
    ARC_MATCH *m;
    char   *rcpts, *id;
    long long n;
    int     status, i;

    *list = NULL;
    *count = 0;
    *more = 0;
    if ((status = arc_clnt_call(clnt, "fetch")) != ARC_CLNT_OK)
        return status;
    n = arc_clnt_num(reply, "entries");
    if (n < 0 || n > ATTR_COUNT_MAX)
        return ctl_clnt_confused(clnt, "reply with a bad number of entries");
    *list = m = mycalloc((size_t) n + 1, sizeof(*m));
    for (i = 0; i < (int) n; i++, m++) {
        id = arc_clnt_str(reply, "id", i);
        snprintf(m->id, sizeof(m->id), "%s", id);
        myfree(id);
        m->arrival = arc_clnt_inum(reply, "arrival", i);
        m->size = arc_clnt_inum(reply, "size", i);
        m->stored = arc_clnt_inum(reply, "stored", i);
        m->rcpt_total = (long) arc_clnt_inum(reply, "nrcpt", i);
        m->sender = arc_clnt_str(reply, "sender", i);
        rcpts = arc_clnt_str(reply, "rcpt", i);
        arc_clnt_rcpts(m, rcpts);
        myfree(rcpts);
        m->client_addr = arc_clnt_str(reply, "client", i);
        m->client_name = arc_clnt_str(reply, "name", i);
        m->helo = arc_clnt_str(reply, "helo", i);
        m->protocol = arc_clnt_str(reply, "proto", i);
        m->sasl_user = arc_clnt_str(reply, "user", i);
        m->message_id = arc_clnt_str(reply, "msgid", i);
        m->subject = arc_clnt_str(reply, "subject", i);
    }
    *count = (int) n;
    *more = arc_clnt_num(reply, "more") == 1;
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
    const ATTR *reply = ctl_clnt_reply(clnt);
    int     status;

    memset(st, 0, sizeof(*st));
    if ((status = arc_clnt_call(clnt, "stats")) != ARC_CLNT_OK)
        return status;
    st->messages = arc_clnt_num(reply, "messages");
    st->raw_bytes = arc_clnt_num(reply, "raw_bytes");
    st->stored_bytes = arc_clnt_num(reply, "stored_bytes");
    st->oldest = arc_clnt_num(reply, "oldest");
    st->newest = arc_clnt_num(reply, "newest");
    st->archived = arc_clnt_num(reply, "archived");
    st->removed_age = arc_clnt_num(reply, "removed_age");
    st->removed_size = arc_clnt_num(reply, "removed_size");
    st->failed = arc_clnt_num(reply, "failed");
    st->waiting = arc_clnt_num(reply, "waiting");
    st->reindexing = arc_clnt_num(reply, "reindexing") == 1;
    return ARC_CLNT_OK;
}

int
arc_clnt_reindex(ARC_CLNT *clnt)
{
    return arc_clnt_call(clnt, "reindex");
}

int
arc_clnt_reindex_status(ARC_CLNT *clnt, ARC_CLNT_REINDEX *st)
{
    const ATTR *reply = ctl_clnt_reply(clnt);
    int     status, i;
    char    key[32];
    const char *v;

    memset(st, 0, sizeof(*st));
    if ((status = arc_clnt_call(clnt, "reindex_status")) != ARC_CLNT_OK)
        return status;
    st->running = arc_clnt_num(reply, "running") == 1;
    st->files = arc_clnt_num(reply, "files");
    st->indexed = arc_clnt_num(reply, "indexed");
    st->damaged = arc_clnt_num(reply, "damaged");
    for (i = 0; i < ARC_CLNT_DAMAGED_MAX; i++) {
        snprintf(key, sizeof(key), "damaged_%d", i);
        if ((v = attr_get(reply, key)) == NULL)
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
