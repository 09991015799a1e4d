/* Searching the archive index; see arc_search.h. */
#include <stdlib.h>
#include <string.h>

#include "arc_record.h"
#include "arc_search.h"
#include "mymalloc.h"

typedef struct ARC_SEARCH {
    const ARC_QUERY_KEYS *q;
    ARC_SEARCH_HIT *hits;
    size_t  count;
    size_t  cap;
} ARC_SEARCH;

static int
arc_search_visit(const char *id, const char *data, size_t len, void *context)
{
    ARC_SEARCH *s = context;
    ARC_RECORD rec;

    if (arc_record_decode(data, len, &rec) < 0)
        return 0;
    if (arc_query_match(s->q, &rec)) {
        if (s->count == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 64;
            s->hits = myrealloc(s->hits, s->cap * sizeof(*s->hits));
        }
        s->hits[s->count].arrival = rec.arrival;
        memcpy(s->hits[s->count].id, id, QUEUE_ID_LEN);
        s->hits[s->count].id[QUEUE_ID_LEN] = 0;
        s->count++;
    }
    arc_record_release(&rec);
    return 0;
}

static int
arc_search_cmp(const void *a, const void *b)
{
    const ARC_SEARCH_HIT *x = a, *y = b;

    if (x->arrival != y->arrival)
        return x->arrival < y->arrival ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* A key to look candidates up with. */
typedef struct ARC_SEARCH_KEY {
    int     which;
    const char *key;
    long    count;
} ARC_SEARCH_KEY;

int
arc_search_run(ARC_INDEX *index, const ARC_QUERY_KEYS *q, ARC_SEARCH_HIT **hits,
               size_t *count, VBUF *why)
{
    ARC_SEARCH s;
    ARC_SEARCH_KEY keys[4 + ARC_KEYS_WORDS_MAX], *best = NULL;
    const char *cursor = NULL, *w;
    size_t  n = 0, i;
    int     status;

    memset(&s, 0, sizeof(s));
    s.q = q;
    if (q->sender)
        keys[n++] = (ARC_SEARCH_KEY) {ARC_INDEX_SENDER, vbuf_str(q->sender), 0};
    if (q->rcpt)
        keys[n++] = (ARC_SEARCH_KEY) {ARC_INDEX_RCPT, vbuf_str(q->rcpt), 0};
    if (q->client)
        keys[n++] = (ARC_SEARCH_KEY) {ARC_INDEX_CLIENT, vbuf_str(q->client), 0};
    if (q->msgid)
        keys[n++] = (ARC_SEARCH_KEY) {ARC_INDEX_MSGID, vbuf_str(q->msgid), 0};
    while ((w = arc_keys_next(&q->words, &cursor)) != NULL && n < sizeof(keys) / sizeof(keys[0]))
        keys[n++] = (ARC_SEARCH_KEY) {ARC_INDEX_SUBJECT, w, 0};
    for (i = 0; i < n; i++) {
        if ((keys[i].count = arc_index_count(index, keys[i].which, keys[i].key,
                                             strlen(keys[i].key), why)) < 0)
            return -1;
        if (best == NULL || keys[i].count < best->count)
            best = keys + i;
    }
    if (best != NULL)
        status = best->count == 0 ? 0 : arc_index_scan(index, best->which, best->key,
                                                       strlen(best->key),
                                                       arc_search_visit, &s, why);
    else
        status = arc_index_scan_time(index, q->since, q->until, arc_search_visit, &s, why);
    if (status < 0) {
        myfree(s.hits);
        return -1;
    }
    if (s.count > 1)
        qsort(s.hits, s.count, sizeof(*s.hits), arc_search_cmp);
    if (q->limit > 0 && s.count > (size_t) q->limit)
        s.count = (size_t) q->limit;
    *hits = s.hits;
    *count = s.count;
    return 0;
}
