/* The blocklist lookups of a client address (see dc_dnsbl.h), on
 * dc_resolve.  Concurrent lookups of one address share each zone's query:
 * a table of the queries under way, keyed like the cache ("ADDR bl
 * ZONE"), holds those waiting for each answer (none, for a query that
 * renews a cached answer).  The sites are shared, counted, between the
 * configuration and the lookups that started under it, so that a reload
 * does not pull them from under a lookup still waiting for its
 * answers. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dc_dnsbl.h"
#include "dc_resolve.h"
#include "htable.h"
#include "msg.h"
#include "mymalloc.h"

#define DC_DNSBL_LATE   (-1)            /* no answer yet */

typedef struct DC_DNSBL_CONF {
    DNSBL_SITES *sites;
    int     refs;
} DC_DNSBL_CONF;

typedef struct DC_DNSBL_ZONE {
    int     state;                      /* DC_RESULT_*, or DC_DNSBL_LATE */
    int     cached;
    int     count;
    char   *items[DC_RESOLVE_MAX_ANSWERS + 1];  /* NULL-terminated */
} DC_DNSBL_ZONE;

struct DC_DNSBL {
    char    addr[INET6_ADDRSTRLEN];
    DC_DNSBL_CONF *conf;
    int     nzones;
    int     pending;
    DC_DNSBL_ZONE *zones;
    DC_DNSBL_FN fn;
    void   *context;
};

/* One lookup waiting for a zone's answer. */
typedef struct DC_DNSBL_WAITER {
    DC_DNSBL *bl;
    int     zone;                       /* the index in bl's zones */
    struct DC_DNSBL_WAITER *next;
} DC_DNSBL_WAITER;

/* One query under way, shared by its waiters. */
typedef struct DC_DNSBL_QUERY {
    char   *key;                        /* ADDR bl ZONE */
    DC_DNSBL_WAITER *waiters;
} DC_DNSBL_QUERY;

static DC_DNSBL_CONF *dc_dnsbl_conf;
static DC_DNSBL_GET_FN dc_dnsbl_get;
static DC_FCRDNS_FN dc_dnsbl_put;
static HTABLE *dc_dnsbl_table;          /* queries under way */
static HTABLE *dc_dnsbl_warned;         /* zone -> when its error code
                                         * was last logged */

static void
dc_dnsbl_conf_release(DC_DNSBL_CONF *conf)
{
    if (conf && --conf->refs == 0) {
        dnsbl_free(conf->sites);
        myfree(conf);
    }
}

void
dc_dnsbl_init(DC_DNSBL_GET_FN get, DC_FCRDNS_FN put)
{
    dc_dnsbl_get = get;
    dc_dnsbl_put = put;
}

void
dc_dnsbl_configure(DNSBL_SITES *sites)
{
    dc_dnsbl_conf_release(dc_dnsbl_conf);
    dc_dnsbl_conf = NULL;
    if (sites) {
        dc_dnsbl_conf = mymalloc(sizeof(*dc_dnsbl_conf));
        dc_dnsbl_conf->sites = sites;
        dc_dnsbl_conf->refs = 1;
    }
}

long
dc_dnsbl_inflight(void)
{
    return dc_dnsbl_table ? (long) htable_used(dc_dnsbl_table) : 0;
}

int
dc_dnsbl_zone_count(void)
{
    return dc_dnsbl_conf ? dnsbl_zone_count(dc_dnsbl_conf->sites) : 0;
}

void
dc_dnsbl_key(VBUF *out, const char *addr, const char *zone)
{
    vbuf_set(out, addr);
    vbuf_append_str(out, DC_DNSBL_KEY_INFIX);
    vbuf_append_str(out, zone);
}

/* Splits a,b,c into the zone's answers. */
static void
dc_dnsbl_set_items(DC_DNSBL_ZONE *z, const char *list)
{
    const char *p = list, *comma;
    size_t  len;

    while (*p && z->count < DC_RESOLVE_MAX_ANSWERS) {
        comma = strchr(p, ',');
        len = comma ? (size_t) (comma - p) : strlen(p);
        if (len > 0) {
            z->items[z->count] = mymalloc(len + 1);
            memcpy(z->items[z->count], p, len);
            z->items[z->count][len] = 0;
            z->count++;
        }
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    z->items[z->count] = NULL;
}

static void
dc_dnsbl_finish(DC_DNSBL *bl)
{
    if (--bl->pending == 0)
        bl->fn(bl, bl->context);
}

/* One waiter's zone from the answer. */
static void
dc_dnsbl_fill(DC_DNSBL_ZONE *z, const DC_ANSWER *answer, int result)
{
    int     i;

    for (i = 0; i < answer->count && z->count < DC_RESOLVE_MAX_ANSWERS; i++)
        z->items[z->count++] = mystrdup(answer->items[i]);
    z->items[z->count] = NULL;
    z->state = result;
}

/* A list that answers with an error code refuses to say (over its
 * quota, or asked through a public resolver): the administrator must
 * know, without a line per client. */
static void
dc_dnsbl_check_error(const char *key, const DC_ANSWER *answer)
{
    const char *zone = strstr(key, DC_DNSBL_KEY_INFIX);
    long long now = (long long) time(NULL);
    long long *last;
    int     i;

    for (i = 0; i < answer->count; i++)
        if (dnsbl_answer_is_error(answer->items[i]))
            break;
    if (i == answer->count || zone == NULL)
        return;
    zone += strlen(DC_DNSBL_KEY_INFIX);
    if (dc_dnsbl_warned == NULL)
        dc_dnsbl_warned = htable_create(16);
    if ((last = htable_find(dc_dnsbl_warned, zone)) == NULL) {
        last = mymalloc(sizeof(*last));
        htable_enter(dc_dnsbl_warned, zone, last);
    } else if (now >= *last && now - *last < DC_DNSBL_WARN_SECS) {
        return;
    }
    *last = now;
    msg_warn("dnsbl: %s answered %s, an error code, not a listing (the "
             "query was refused: over quota, or through a public resolver?); "
             "it counts only where a filter names it", zone,
             answer->items[i]);
}

/* The answer goes to the cache once, then to every waiter. */
static void
dc_dnsbl_answered(const DC_ANSWER *answer, void *context)
{
    DC_DNSBL_QUERY *q = context;
    DC_DNSBL_WAITER *w, *next;
    DC_ENTRY e;
    int     i;

    dc_dnsbl_check_error(q->key, answer);

    memset(&e, 0, sizeof(e));
    e.result = answer->status == DC_RESOLVE_OK ? DC_RESULT_OK
        : answer->status == DC_RESOLVE_NONE ? DC_RESULT_NONE : DC_RESULT_TEMP;
    for (i = 0; i < answer->count && i < DC_RESOLVE_MAX_ANSWERS; i++) {
        if (strlen(e.ptr) + strlen(answer->items[i]) + 2 > sizeof(e.ptr))
            break;
        if (e.ptr[0])
            strcat(e.ptr, ",");
        strcat(e.ptr, answer->items[i]);
    }
    htable_delete(dc_dnsbl_table, q->key);
    if (dc_dnsbl_put)
        dc_dnsbl_put(q->key, &e, answer->ttl, NULL);
    for (w = q->waiters; w; w = next) {
        next = w->next;
        dc_dnsbl_fill(w->bl->zones + w->zone, answer, e.result);
        dc_dnsbl_finish(w->bl);
        myfree(w);
    }
    myfree(q->key);
    myfree(q);
}

/* Joins the query for key, or starts it; without bl, only starts it
 * (a renewal: its answer goes to the cache alone). */
static void
dc_dnsbl_ask(DC_DNSBL *bl, int zone, const char *key, const char *name)
{
    DC_DNSBL_WAITER *w = NULL;
    DC_DNSBL_QUERY *q;

    if (dc_dnsbl_table == NULL)
        dc_dnsbl_table = htable_create(64);
    if (bl) {
        w = mymalloc(sizeof(*w));
        w->bl = bl;
        w->zone = zone;
        w->next = NULL;
        bl->pending++;
    }
    if ((q = htable_find(dc_dnsbl_table, key)) != NULL) {
        if (w) {
            w->next = q->waiters;
            q->waiters = w;
        }
        return;
    }
    q = mymalloc(sizeof(*q));
    q->key = mystrdup(key);
    q->waiters = w;
    htable_enter(dc_dnsbl_table, q->key, q);
    dc_resolve_query(name, DC_RESOLVE_A, dc_dnsbl_answered, q);
}

DC_DNSBL *
dc_dnsbl_start(const char *addr, int fresh, DC_DNSBL_FN fn, void *context)
{
    DC_DNSBL *bl = mycalloc(1, sizeof(*bl));
    DC_DNSBL_ZONE *z;
    DC_ENTRY e;
    VBUF   *key = vbuf_create(100);
    VBUF   *name = vbuf_create(100);
    const char *zone;
    int     i, hit;

    snprintf(bl->addr, sizeof(bl->addr), "%s", addr);
    bl->fn = fn;
    bl->context = context;
    if ((bl->conf = dc_dnsbl_conf) != NULL) {
        bl->conf->refs++;
        bl->nzones = dnsbl_zone_count(bl->conf->sites);
    }
    bl->zones = mycalloc(bl->nzones ? bl->nzones : 1, sizeof(*bl->zones));
    /* One more than the queries, so that an answer given at once does
     * not finish the lookup before the last query is out. */
    bl->pending = 1;
    for (i = 0; i < bl->nzones; i++) {
        z = bl->zones + i;
        zone = dnsbl_zone(bl->conf->sites, i);
        dc_dnsbl_key(key, addr, zone);
        hit = fresh || dc_dnsbl_get == NULL ? DC_DNSBL_MISS
            : dc_dnsbl_get(vbuf_str(key), &e);
        if (hit != DC_DNSBL_MISS) {
            z->state = e.result;
            z->cached = 1;
            dc_dnsbl_set_items(z, e.ptr);
            if (hit == DC_DNSBL_HIT_RENEW
                && dnsbl_query_name(addr, zone, name) == 0)
                dc_dnsbl_ask(NULL, i, vbuf_str(key), vbuf_str(name));
        } else if (dnsbl_query_name(addr, zone, name) < 0) {
            z->state = DC_RESULT_NONE;
        } else {
            z->state = DC_DNSBL_LATE;
            dc_dnsbl_ask(bl, i, vbuf_str(key), vbuf_str(name));
        }
    }
    vbuf_free(key);
    vbuf_free(name);
    dc_dnsbl_finish(bl);
    return bl;
}

int
dc_dnsbl_score(const DC_DNSBL *bl, VBUF *sites, VBUF *late)
{
    const char *const **answers;
    int     i, score;

    vbuf_set(sites, "");
    vbuf_set(late, "");
    if (bl == NULL || bl->nzones == 0)
        return 0;
    answers = mycalloc(bl->nzones, sizeof(*answers));
    for (i = 0; i < bl->nzones; i++) {
        if (bl->zones[i].state == DC_RESULT_OK && bl->zones[i].count > 0)
            answers[i] = (const char *const *) bl->zones[i].items;
        if (bl->zones[i].state == DC_DNSBL_LATE) {
            if (vbuf_len(late))
                vbuf_append_char(late, ',');
            vbuf_append_str(late, dnsbl_zone(bl->conf->sites, i));
        }
    }
    score = dnsbl_score(bl->conf->sites, answers, NULL, sites);
    myfree(answers);
    return score;
}

void
dc_dnsbl_describe(const DC_DNSBL *bl, VBUF *out)
{
    const DC_DNSBL_ZONE *z;
    int     i, j;

    vbuf_set(out, "");
    for (i = 0; bl && i < bl->nzones; i++) {
        z = bl->zones + i;
        if (i > 0)
            vbuf_append_str(out, ", ");
        vbuf_printf(out, "%s=", dnsbl_zone(bl->conf->sites, i));
        if (z->state == DC_DNSBL_LATE)
            vbuf_append_str(out, "late");
        else if (z->state == DC_RESULT_TEMP)
            vbuf_append_str(out, "temp");
        else if (z->count == 0)
            vbuf_append_str(out, "none");
        for (j = 0; j < z->count; j++) {
            if (j > 0)
                vbuf_append_char(out, ' ');
            vbuf_append_str(out, z->items[j]);
        }
    }
}

int
dc_dnsbl_cached(const DC_DNSBL *bl)
{
    int     i;

    for (i = 0; bl && i < bl->nzones; i++)
        if (!bl->zones[i].cached)
            return 0;
    return 1;
}

DC_DNSBL *
dc_dnsbl_free(DC_DNSBL *bl)
{
    int     i, j;

    if (bl == NULL)
        return NULL;
    if (bl->pending > 0)
        msg_panic("dc_dnsbl_free: %d queries under way", bl->pending);
    for (i = 0; i < bl->nzones; i++)
        for (j = 0; j < bl->zones[i].count; j++)
            myfree(bl->zones[i].items[j]);
    myfree(bl->zones);
    dc_dnsbl_conf_release(bl->conf);
    myfree(bl);
    return NULL;
}
