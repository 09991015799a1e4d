/* dnscache's cache in Berkeley DB (see dc_cache.h): a btree file without
 * an environment.  dnscache writes it only after a lookup, and syncs it
 * every second or so (dc_cache_sync), so that a killed dnscache loses at
 * most the last second's answers, which it simply asks again. */
#include <db.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dc_cache.h"
#include "mymalloc.h"

#define DC_CACHE_VERSION    "2"
#define DC_CACHE_VERSION_1  "1"      /* without LIFETIME: still read */

struct DC_CACHE {
    DB     *db;
    char   *path;
    VBUF   *value;
    VBUF   *cursor;                 /* where dc_cache_expire goes on */
    int     dirty;
};

long long
dc_cache_ttl(const DC_TTLS *ttls, int result, long long dns_ttl)
{
    switch (result) {
    case DC_RESULT_OK:
        if (dns_ttl < ttls->min_ttl)
            return ttls->min_ttl;
        if (dns_ttl > ttls->max_ttl)
            return ttls->max_ttl;
        return dns_ttl;
    case DC_RESULT_NONE:
        return ttls->negative_ttl;
    default:
        return DC_CACHE_TEMP_TTL;
    }
}

int
dc_cache_refresh_due(const DC_TTLS *ttls, const DC_ENTRY *e, long long now)
{
    long long window;

    if (e->result == DC_RESULT_TEMP)
        return 0;
    if (e->lifetime > 0)
        window = e->lifetime / 2;
    else if (e->result == DC_RESULT_OK)
        window = ttls->min_ttl / 2;
    else
        window = ttls->negative_ttl / 2;
    if (window > DC_CACHE_REFRESH)
        window = DC_CACHE_REFRESH;
    return e->expires - now < window;
}

static const char *dc_cache_results[] = {"ok", "none", "temp"};

void
dc_cache_encode(VBUF *out, const DC_ENTRY *e)
{
    vbuf_set(out, "");
    vbuf_printf(out, DC_CACHE_VERSION "|%s|%lld|%lld|%s|%s|%s",
                dc_cache_results[e->result], e->expires, e->lifetime,
                e->ptr, e->unverified, e->name);
}

/* Copies the field that starts at *p up to '|' or end into dst. */
static int
dc_cache_field(const char **p, const char *end, char *dst, size_t size,
               int last)
{
    const char *q = memchr(*p, '|', (size_t) (end - *p));
    size_t len;

    if (q == NULL && !last)
        return -1;
    if (q != NULL && last)
        return -1;
    if (q == NULL)
        q = end;
    len = (size_t) (q - *p);
    if (len >= size || memchr(*p, 0, len))
        return -1;
    memcpy(dst, *p, len);
    dst[len] = 0;
    *p = q < end ? q + 1 : q;
    return 0;
}

/* A number of seconds, 0 or more. */
static int
dc_cache_seconds(const char *text, long long *value)
{
    char   *ep;

    errno = 0;
    *value = strtoll(text, &ep, 10);
    if (*text == 0 || *ep != 0 || errno != 0 || *value < 0)
        return -1;
    return 0;
}

int
dc_cache_decode(DC_ENTRY *e, const char *data, size_t len)
{
    const char *p = data, *end = data + len;
    char version[8], result[8], expires[24], lifetime[24] = "0";
    int i, v1;

    memset(e, 0, sizeof(*e));
    if (dc_cache_field(&p, end, version, sizeof(version), 0) < 0)
        return -1;
    v1 = strcmp(version, DC_CACHE_VERSION_1) == 0;
    if (!v1 && strcmp(version, DC_CACHE_VERSION) != 0)
        return -1;
    if (dc_cache_field(&p, end, result, sizeof(result), 0) < 0
        || dc_cache_field(&p, end, expires, sizeof(expires), 0) < 0
        || (!v1 && dc_cache_field(&p, end, lifetime, sizeof(lifetime), 0) < 0)
        || dc_cache_field(&p, end, e->ptr, sizeof(e->ptr), 0) < 0
        || dc_cache_field(&p, end, e->unverified, sizeof(e->unverified), 0) < 0
        || dc_cache_field(&p, end, e->name, sizeof(e->name), 1) < 0)
        return -1;
    for (i = 0; i < 3; i++)
        if (strcmp(result, dc_cache_results[i]) == 0)
            break;
    if (i == 3)
        return -1;
    e->result = i;
    if (dc_cache_seconds(expires, &e->expires) < 0
        || dc_cache_seconds(lifetime, &e->lifetime) < 0)
        return -1;
    return 0;
}

static void
dc_cache_dbt(DBT *dbt, const void *data, size_t len)
{
    memset(dbt, 0, sizeof(*dbt));
    dbt->data = (void *) data;
    dbt->size = (u_int32_t) len;
}

/* Berkeley DB would print its complaints on stderr; the error code
 * says enough for a cache that can start again empty. */
static void
dc_cache_errcall(const DB_ENV *env, const char *prefix, const char *text)
{
    (void) env;
    (void) prefix;
    (void) text;
}

static DB *
dc_cache_db_open(const char *path, int *err)
{
    DB     *db;

    if ((*err = db_create(&db, NULL, 0)) != 0)
        return NULL;
    db->set_errcall(db, dc_cache_errcall);
    if ((*err = db->open(db, NULL, path, NULL, DB_BTREE, DB_CREATE,
                         0600)) != 0) {
        db->close(db, 0);
        return NULL;
    }
    return db;
}

DC_CACHE *
dc_cache_open(const char *dir, VBUF *why)
{
    DC_CACHE *cache;
    VBUF   *aside;
    DB     *db;
    int     err;

    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        vbuf_set(why, "");
        vbuf_printf(why, "mkdir %s: %s", dir, strerror(errno));
        return NULL;
    }
    cache = mycalloc(1, sizeof(*cache));
    cache->path = mymalloc(strlen(dir) + sizeof(DC_CACHE_DB_NAME) + 1);
    sprintf(cache->path, "%s/%s", dir, DC_CACHE_DB_NAME);
    if ((db = dc_cache_db_open(cache->path, &err)) == NULL) {
        /* A cache can always start empty. */
        aside = vbuf_create(100);
        vbuf_printf(aside, "%s.broken.%lld", cache->path,
                    (long long) time(NULL));
        if (rename(cache->path, vbuf_str(aside)) == 0)
            db = dc_cache_db_open(cache->path, &err);
        vbuf_free(aside);
    }
    if (db == NULL) {
        vbuf_set(why, "");
        vbuf_printf(why, "opening %s: %s", cache->path, db_strerror(err));
        myfree(cache->path);
        myfree(cache);
        return NULL;
    }
    cache->db = db;
    cache->value = vbuf_create(200);
    cache->cursor = vbuf_create(64);
    return cache;
}

DC_CACHE *
dc_cache_close(DC_CACHE *cache)
{
    if (cache) {
        cache->db->close(cache->db, 0);
        myfree(cache->path);
        vbuf_free(cache->value);
        vbuf_free(cache->cursor);
        myfree(cache);
    }
    return NULL;
}

void
dc_cache_sync(DC_CACHE *cache)
{
    if (cache->dirty) {
        cache->db->sync(cache->db, 0);
        cache->dirty = 0;
    }
}

static void
dc_cache_del(DC_CACHE *cache, const char *key)
{
    DBT     k;

    dc_cache_dbt(&k, key, strlen(key));
    if (cache->db->del(cache->db, NULL, &k, 0) == 0)
        cache->dirty = 1;
}

int
dc_cache_get(DC_CACHE *cache, const char *key, long long now, DC_ENTRY *e)
{
    DBT     k, v;

    dc_cache_dbt(&k, key, strlen(key));
    dc_cache_dbt(&v, NULL, 0);
    if (cache->db->get(cache->db, NULL, &k, &v, 0) != 0)
        return 0;
    if (dc_cache_decode(e, v.data, v.size) < 0 || e->expires <= now) {
        dc_cache_del(cache, key);
        return 0;
    }
    return 1;
}

int
dc_cache_put(DC_CACHE *cache, const char *key, const DC_ENTRY *e, VBUF *why)
{
    DBT     k, v;
    int     err;

    dc_cache_encode(cache->value, e);
    dc_cache_dbt(&k, key, strlen(key));
    dc_cache_dbt(&v, vbuf_str(cache->value), strlen(vbuf_str(cache->value)));
    if ((err = cache->db->put(cache->db, NULL, &k, &v, 0)) != 0) {
        vbuf_set(why, "");
        vbuf_printf(why, "writing %s: %s", cache->path, db_strerror(err));
        return -1;
    }
    cache->dirty = 1;
    return 0;
}

/* Whether the stored key k belongs to addr. */
static int
dc_cache_owned(const DBT *k, const char *addr)
{
    size_t  len = strlen(addr);

    return k->size >= len && memcmp(k->data, addr, len) == 0
        && (k->size == len || ((const char *) k->data)[len] == ' ');
}

long
dc_cache_flush(DC_CACHE *cache, const char *addr)
{
    DBC    *cur;
    DBT     k, v;
    long    removed = 0;
    int     ret;
    u_int32_t flag;

    if (cache->db->cursor(cache->db, NULL, &cur, 0) != 0)
        return 0;
    dc_cache_dbt(&v, NULL, 0);
    if (addr) {
        dc_cache_dbt(&k, addr, strlen(addr));
        flag = DB_SET_RANGE;
    } else {
        dc_cache_dbt(&k, NULL, 0);
        flag = DB_FIRST;
    }
    for (ret = cur->get(cur, &k, &v, flag); ret == 0;
         ret = cur->get(cur, &k, &v, DB_NEXT)) {
        if (addr && !dc_cache_owned(&k, addr)) {
            /* "ADDR " sorts right after "ADDR"; other addresses that
             * merely start the same sort in between ("ADDR0"). */
            if (k.size < strlen(addr)
                || memcmp(k.data, addr, strlen(addr)) != 0)
                break;
            continue;
        }
        if (cur->del(cur, 0) == 0)
            removed++;
    }
    cur->close(cur);
    if (removed)
        cache->dirty = 1;
    return removed;
}

long
dc_cache_flush_temp(DC_CACHE *cache)
{
    DBC    *cur;
    DBT     k, v;
    DC_ENTRY e;
    long    removed = 0;
    int     ret;

    if (cache->db->cursor(cache->db, NULL, &cur, 0) != 0)
        return 0;
    dc_cache_dbt(&k, NULL, 0);
    dc_cache_dbt(&v, NULL, 0);
    for (ret = cur->get(cur, &k, &v, DB_FIRST); ret == 0;
         ret = cur->get(cur, &k, &v, DB_NEXT)) {
        if (dc_cache_decode(&e, v.data, v.size) == 0
            && e.result == DC_RESULT_TEMP && cur->del(cur, 0) == 0)
            removed++;
    }
    cur->close(cur);
    if (removed)
        cache->dirty = 1;
    return removed;
}

long
dc_cache_expire(DC_CACHE *cache, long long now, int max)
{
    DBC    *cur;
    DBT     k, v;
    DC_ENTRY e;
    long    removed = 0;
    int     ret, n;

    if (cache->db->cursor(cache->db, NULL, &cur, 0) != 0)
        return 0;
    dc_cache_dbt(&v, NULL, 0);
    if (vbuf_len(cache->cursor) > 0) {
        dc_cache_dbt(&k, vbuf_str(cache->cursor), vbuf_len(cache->cursor));
        ret = cur->get(cur, &k, &v, DB_SET_RANGE);
    } else {
        dc_cache_dbt(&k, NULL, 0);
        ret = cur->get(cur, &k, &v, DB_FIRST);
    }
    for (n = 0; ret == 0 && n < max; n++) {
        if (dc_cache_decode(&e, v.data, v.size) < 0 || e.expires <= now) {
            if (cur->del(cur, 0) == 0)
                removed++;
        }
        ret = cur->get(cur, &k, &v, DB_NEXT);
    }
    vbuf_reset(cache->cursor);
    if (ret == 0)
        vbuf_append(cache->cursor, k.data, k.size);
    cur->close(cur);
    if (removed)
        cache->dirty = 1;
    return removed;
}

long
dc_cache_count(DC_CACHE *cache)
{
    DB_BTREE_STAT *st;
    long    n;

    if (cache->db->stat(cache->db, NULL, &st, 0) != 0)
        return 0;
    n = (long) st->bt_nkeys;
    free(st);
    return n;
}
