/* The archiver's requests; the protocol is in lib/arc_clnt.h. */
#include <stdio.h>
#include <string.h>

#include "arc_query.h"
#include "arc_record.h"
#include "arc_request.h"
#include "arc_search.h"
#include "htable.h"
#include "mymalloc.h"

/* Bytes of a fetch reply beyond which no entry is added. */
#define ARC_REQUEST_REPLY_MAX   (ATTR_MESSAGE_MAX - 2048)
#define ARC_REQUEST_ENTRY_ATTRS 14
#define ARC_REQUEST_ENTRIES_MAX ((ATTR_COUNT_MAX - 4) / ARC_REQUEST_ENTRY_ATTRS)

/* The matches of a client's last search, and how far it fetched. */
typedef struct ARC_RESULTS {
    ARC_SEARCH_HIT *hits;
    size_t  count;
    size_t  next;
} ARC_RESULTS;

static void
arc_request_results_free(void *value)
{
    ARC_RESULTS *r = value;

    if (r) {
        myfree(r->hits);
        myfree(r);
    }
}

void
arc_request_init(ARC_SERVICE *svc, ARC_INDEX *index)
{
    memset(svc, 0, sizeof(*svc));
    svc->index = index;
    svc->results = htable_create(16);
}

void
arc_request_free(ARC_SERVICE *svc)
{
    htable_free(svc->results, arc_request_results_free);
    svc->results = NULL;
}

static void
arc_request_client_key(char *buf, size_t size, unsigned long client)
{
    snprintf(buf, size, "%lu", client);
}

void
arc_request_client_gone(ARC_SERVICE *svc, unsigned long client)
{
    char    key[32];

    arc_request_client_key(key, sizeof(key), client);
    arc_request_results_free(htable_delete(svc->results, key));
}

static void
arc_request_error(ATTR *reply, int status, const char *reason)
{
    attr_reset(reply);
    attr_set_long(reply, "status", status);
    attr_set(reply, "reason", reason);
}

/* A number attribute: -1 when absent, -2 when malformed. */
static long long
arc_request_num(const ATTR *request, const char *name)
{
    long    v;

    if (attr_get(request, name) == NULL)
        return -1;
    if (attr_get_long(request, name, &v) < 0 || v < 0)
        return -2;
    return v;
}

static void
arc_request_search(ARC_SERVICE *svc, const ATTR *request, ATTR *reply, unsigned long client)
{
    ARC_QUERY_KEYS q;
    ARC_RESULTS *r;
    VBUF   *why = vbuf_create(100);
    long long since = arc_request_num(request, "since");
    long long until = arc_request_num(request, "until");
    long long limit = arc_request_num(request, "limit");
    char    key[32];

    arc_request_client_gone(svc, client);
    if (since == -2 || until == -2 || limit == -2) {
        arc_request_error(reply, -1, "bad number");
    } else if (arc_query_make(&q, attr_get(request, "sender"), attr_get(request, "rcpt"),
                              attr_get(request, "client"), attr_get(request, "subject"),
                              attr_get(request, "message_id"), since, until,
                              limit < 0 ? 0 : (long) limit, why) < 0) {
        arc_request_error(reply, 1, vbuf_str(why));
        arc_query_free(&q);
    } else {
        r = mycalloc(1, sizeof(*r));
        if (arc_search_run(svc->index, &q, &r->hits, &r->count, why) < 0) {
            arc_request_error(reply, -1, vbuf_str(why));
            myfree(r);
        } else {
            arc_request_client_key(key, sizeof(key), client);
            htable_enter(svc->results, key, r);
            attr_set(reply, "status", "0");
            attr_set_long(reply, "matches", (long) r->count);
        }
        arc_query_free(&q);
    }
    vbuf_free(why);
}

/* text cut to fit an attribute value, at a character boundary. */
static const char *
arc_request_fit(VBUF *buf, const char *text)
{
    size_t  len = strlen(text);

    vbuf_set(buf, text);
    if (len > ATTR_VALUE_MAX) {
        len = ATTR_VALUE_MAX;
        while (len > 0 && (vbuf_str(buf)[len] & 0xc0) == 0x80)
            len--;
        vbuf_truncate(buf, len);
    }
    return vbuf_str(buf);
}

/* Adds one entry; returns its bytes in the message. */
static size_t
arc_request_entry(ATTR *reply, int i, const ARC_RECORD *rec)
{
    static const char *names[] = {
        "id", "arrival", "size", "stored", "sender", "rcpt", "nrcpt", "client", "name",
        "helo", "proto", "user", "msgid", "subject",
    };
    VBUF   *rcpts = vbuf_create(256), *value = vbuf_create(256);
    const char *values[ARC_REQUEST_ENTRY_ATTRS];
    char    nums[4][32], key[ATTR_NAME_MAX + 1];
    size_t  j, bytes = 0;

    for (j = 0; j < rec->rcpt_count; j++) {
        if (vbuf_len(rcpts) + strlen(rec->rcpt[j]) + 1 > ATTR_VALUE_MAX)
            break;
        if (j > 0)
            vbuf_append_char(rcpts, '\t');
        vbuf_append_str(rcpts, rec->rcpt[j]);
    }
    snprintf(nums[0], sizeof(nums[0]), "%lld", rec->arrival);
    snprintf(nums[1], sizeof(nums[1]), "%lld", rec->size);
    snprintf(nums[2], sizeof(nums[2]), "%lld", rec->stored);
    snprintf(nums[3], sizeof(nums[3]), "%zu", rec->rcpt_count);
    values[0] = rec->id;
    values[1] = nums[0];
    values[2] = nums[1];
    values[3] = nums[2];
    values[4] = rec->sender;
    values[5] = vbuf_str(rcpts);
    values[6] = nums[3];
    values[7] = rec->client_addr;
    values[8] = rec->client_name;
    values[9] = rec->helo;
    values[10] = rec->protocol;
    values[11] = rec->sasl_user;
    values[12] = rec->message_id;
    values[13] = rec->subject;
    for (j = 0; j < ARC_REQUEST_ENTRY_ATTRS; j++) {
        snprintf(key, sizeof(key), "%s_%d", names[j], i);
        attr_set(reply, key, arc_request_fit(value, values[j]));
        bytes += strlen(key) + vbuf_len(value) + 2;
    }
    vbuf_free(rcpts);
    vbuf_free(value);
    return bytes;
}

/* The bytes an entry would take, at most. */
static size_t
arc_request_entry_size(const ARC_RECORD *rec)
{
    size_t  n = 14 * (ATTR_NAME_MAX / 4 + 32), j, r = 0;

    n += strlen(rec->sender) + strlen(rec->client_addr) + strlen(rec->client_name)
        + strlen(rec->helo) + strlen(rec->protocol) + strlen(rec->sasl_user)
        + strlen(rec->message_id) + strlen(rec->subject);
    for (j = 0; j < rec->rcpt_count && r <= ATTR_VALUE_MAX; j++)
        r += strlen(rec->rcpt[j]) + 1;
    return n + (r < ATTR_VALUE_MAX ? r : ATTR_VALUE_MAX);
}

static void
arc_request_fetch(ARC_SERVICE *svc, ATTR *reply, unsigned long client)
{
    VBUF   *record = vbuf_create(512), *why = vbuf_create(100);
    ARC_RECORD rec;
    ARC_RESULTS *r;
    size_t  bytes = 64, need;
    char    key[32];
    int     n = 0, rc;

    arc_request_client_key(key, sizeof(key), client);
    if ((r = htable_find(svc->results, key)) == NULL) {
        arc_request_error(reply, 1, "no search to fetch from");
        goto out;
    }
    attr_set(reply, "status", "0");
    while (r->next < r->count && n < (int) ARC_REQUEST_ENTRIES_MAX) {
        rc = arc_index_get(svc->index, r->hits[r->next].id, record, why);
        if (rc < 0) {
            arc_request_error(reply, -1, vbuf_str(why));
            goto out;
        }
        /* Removed since the search (retention): passed by. */
        if (rc == 0 || arc_record_decode(vbuf_str(record), vbuf_len(record), &rec) < 0) {
            r->next++;
            continue;
        }
        need = arc_request_entry_size(&rec);
        if (n > 0 && bytes + need > ARC_REQUEST_REPLY_MAX) {
            arc_record_release(&rec);
            break;
        }
        bytes += arc_request_entry(reply, n++, &rec);
        arc_record_release(&rec);
        r->next++;
    }
    attr_set_long(reply, "entries", n);
    attr_set(reply, "more", r->next < r->count ? "1" : "0");

out:
    vbuf_free(record);
    vbuf_free(why);
}

static void
arc_request_stats(ARC_SERVICE *svc, ATTR *reply)
{
    ARC_INDEX_TOTALS t;
    ARC_REINDEX_STATUS st;
    VBUF   *why = vbuf_create(100);
    long long oldest, newest;

    if (arc_index_totals(svc->index, &t, why) < 0
        || arc_index_time_bounds(svc->index, &oldest, &newest, why) < 0) {
        arc_request_error(reply, -1, vbuf_str(why));
        vbuf_free(why);
        return;
    }
    attr_set(reply, "status", "0");
    attr_setf(reply, "messages", "%lld", t.count);
    attr_setf(reply, "raw_bytes", "%lld", t.raw);
    attr_setf(reply, "stored_bytes", "%lld", t.stored);
    attr_setf(reply, "oldest", "%lld", oldest);
    attr_setf(reply, "newest", "%lld", newest);
    attr_setf(reply, "archived", "%lld", svc->archived);
    attr_setf(reply, "removed_age", "%lld", svc->removed_age);
    attr_setf(reply, "removed_size", "%lld", svc->removed_size);
    attr_setf(reply, "failed", "%lld", svc->failed);
    attr_setf(reply, "waiting", "%lld", svc->waiting);
    if (svc->reindex)
        arc_reindex_status(svc->reindex, &st);
    attr_set(reply, "reindexing", svc->reindex && st.running ? "1" : "0");
    vbuf_free(why);
}

static void
arc_request_reindex_status(ARC_SERVICE *svc, ATTR *reply)
{
    ARC_REINDEX_STATUS st;
    char    key[32];
    int     i;

    memset(&st, 0, sizeof(st));
    if (svc->reindex)
        arc_reindex_status(svc->reindex, &st);
    attr_set(reply, "status", "0");
    attr_set(reply, "running", st.running ? "1" : "0");
    attr_setf(reply, "files", "%lld", st.files);
    attr_setf(reply, "indexed", "%lld", st.indexed);
    attr_setf(reply, "damaged", "%lld", st.damaged);
    for (i = 0; i < st.damaged_shown; i++) {
        snprintf(key, sizeof(key), "damaged_%d", i);
        (void) attr_set(reply, key, st.damaged_paths[i]);
    }
}

void
arc_request_handle(ARC_SERVICE *svc, const ATTR *request, ATTR *reply, unsigned long client)
{
    const char *verb = attr_get(request, "request");
    ARC_REINDEX_STATUS st;
    VBUF   *why;

    if (verb == NULL) {
        arc_request_error(reply, -1, "no request");
    } else if (strcmp(verb, "search") == 0) {
        arc_request_search(svc, request, reply, client);
    } else if (strcmp(verb, "fetch") == 0) {
        arc_request_fetch(svc, reply, client);
    } else if (strcmp(verb, "stats") == 0) {
        arc_request_stats(svc, reply);
    } else if (strcmp(verb, "reindex") == 0) {
        if (svc->reindex)
            arc_reindex_status(svc->reindex, &st);
        if (svc->reindex && st.running) {
            arc_request_error(reply, 1, "a reindex is under way");
        } else if (svc->start_reindex == NULL) {
            arc_request_error(reply, -1, "reindex is not available");
        } else {
            why = vbuf_create(100);
            if (svc->start_reindex(why) < 0)
                arc_request_error(reply, -1, vbuf_str(why));
            else
                attr_set(reply, "status", "0");
            vbuf_free(why);
        }
    } else if (strcmp(verb, "reindex_status") == 0) {
        arc_request_reindex_status(svc, reply);
    } else {
        arc_request_error(reply, -1, "unknown request");
    }
}
