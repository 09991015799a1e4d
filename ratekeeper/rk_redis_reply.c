/* The reading of Redis' replies (rk_redis_reply.h).  Every element is
 * checked for its type and range before it is used; lengths come from
 * the reply, never from a NUL. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rk_clnt.h"
#include "rk_key.h"
#include "rk_redis_reply.h"

static redisReplyObjectFunctions rk_redis_reply_fns;
static void *(*rk_redis_reply_array_fn) (const redisReadTask *, int);

static void *
rk_redis_reply_create_array(const redisReadTask *task, int elements)
{
    if (elements < 0 || elements > RK_REDIS_REPLY_ARRAY_MAX)
        return NULL;
    return rk_redis_reply_array_fn(task, elements);
}

void
rk_redis_reply_limit(redisReader *reader)
{
    if (rk_redis_reply_array_fn == NULL) {
        rk_redis_reply_fns = *reader->fn;
        rk_redis_reply_array_fn = rk_redis_reply_fns.createArray;
        rk_redis_reply_fns.createArray = rk_redis_reply_create_array;
    }
    reader->fn = &rk_redis_reply_fns;
}

static int
rk_redis_reply_is(const redisReply *r, int type)
{
    return r != NULL && r->type == type;
}

/* A non-negative integer up to RK_REDIS_REPLY_COUNT_MAX. */
static int
rk_redis_reply_number(const redisReply *r, long long *v)
{
    if (!rk_redis_reply_is(r, REDIS_REPLY_INTEGER) || r->integer < 0
        || r->integer > RK_REDIS_REPLY_COUNT_MAX)
        return -1;
    *v = r->integer;
    return 0;
}

/* An array of exactly n elements. */
static int
rk_redis_reply_array(const redisReply *r, size_t n)
{
    return rk_redis_reply_is(r, REDIS_REPLY_ARRAY) && r->elements == n
        && (n == 0 || r->element != NULL);
}

/* The string of a string or status reply, with a length that fits what
 * it says. */
static int
rk_redis_reply_text(const redisReply *r, const char **text, size_t *len)
{
    if (r == NULL || (r->type != REDIS_REPLY_STRING
                      && r->type != REDIS_REPLY_STATUS)
        || (r->str == NULL && r->len > 0))
        return -1;
    *text = r->str ? r->str : "";
    *len = r->len;
    return 0;
}

RK_REDIS_ERROR
rk_redis_reply_error(const redisReply *r)
{
    static const struct {
        const char *word;
        RK_REDIS_ERROR kind;
    } kinds[] = {
        {"NOSCRIPT", RK_REDIS_ERROR_NOSCRIPT},
        {"READONLY", RK_REDIS_ERROR_READONLY},
        {"LOADING", RK_REDIS_ERROR_LOADING},
        {"MASTERDOWN", RK_REDIS_ERROR_READONLY},
    };
    size_t i, n;

    if (!rk_redis_reply_is(r, REDIS_REPLY_ERROR))
        return RK_REDIS_ERROR_NONE;
    if (r->str == NULL)
        return RK_REDIS_ERROR_OTHER;
    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        n = strlen(kinds[i].word);
        if (r->len >= n && strncmp(r->str, kinds[i].word, n) == 0
            && (r->len == n || r->str[n] == ' '))
            return kinds[i].kind;
    }
    return RK_REDIS_ERROR_OTHER;
}

int
rk_redis_reply_count(const redisReply *r, unsigned long *count)
{
    long long v;

    if (rk_redis_reply_array(r, 3)) {
        long long w, c;

        if (rk_redis_reply_number(r->element[0], &v) < 0
            || rk_redis_reply_number(r->element[1], &w) < 0
            || rk_redis_reply_number(r->element[2], &c) < 0)
            return -1;
    } else if (rk_redis_reply_number(r, &v) < 0) {
        return -1;
    }
    *count = (unsigned long) v;
    return 0;
}

const redisReply *
rk_redis_reply_ops_element(const redisReply *r, int i, int n)
{
    if (i < 0 || n < 1 || i >= n || !rk_redis_reply_array(r, (size_t) n))
        return NULL;
    return r->element[i];
}

/* One entry from count, window, clear (window 0: connections). */
static int
rk_redis_reply_entry(RK_STATE_ENTRY *e, const char *counter, const char *key,
                     const redisReply *count, const redisReply *window,
                     const redisReply *clear)
{
    long long c, w = 0, cl = 0;

    if (rk_redis_reply_number(count, &c) < 0
        || (window && rk_redis_reply_number(window, &w) < 0)
        || (clear && rk_redis_reply_number(clear, &cl) < 0))
        return -1;
    /* A window that counts something has a length and an end. */
    if (window && c > 0 && (w < 1 || w > RK_WINDOW_MAX_MS || cl < 1
                            || cl > 2 * RK_WINDOW_MAX_MS))
        return -1;
    snprintf(e->counter, sizeof(e->counter), "%s", counter);
    snprintf(e->key, sizeof(e->key), "%s", key);
    e->count = (unsigned long) c;
    e->window_ms = w;
    e->clear_ms = cl;
    return 0;
}

int
rk_redis_reply_show(const redisReply *r, const char *key,
                    RK_STATE_ENTRY *entries, int max)
{
    RK_STATE_ENTRY e;
    int i, n = 0;

    if (!rk_redis_reply_array(r, 1 + 3 * 4))
        return -1;
    if (rk_redis_reply_entry(&e, RK_COUNTER_CONNECTIONS, key, r->element[0],
                             NULL, NULL) < 0)
        return -1;
    if (e.count > 0 && n < max)
        entries[n++] = e;
    for (i = 0; i < 4; i++) {
        if (rk_redis_reply_entry(&e, rk_state_counters[i], key,
                                 r->element[1 + 3 * i], r->element[2 + 3 * i],
                                 r->element[3 + 3 * i]) < 0)
            return -1;
        if (e.count > 0 && n < max)
            entries[n++] = e;
    }
    return n;
}

int
rk_redis_reply_sync(const redisReply *r, long *keys, int *other)
{
    long long k, o;

    if (!rk_redis_reply_array(r, 2)
        || rk_redis_reply_number(r->element[0], &k) < 0
        || rk_redis_reply_number(r->element[1], &o) < 0 || o > 1)
        return -1;
    *keys = (long) k;
    *other = (int) o;
    return 0;
}

int
rk_redis_reply_scan(const redisReply *r, unsigned long long *cursor,
                    VBUF *names, int *n)
{
    const redisReply *list;
    const char *text;
    unsigned long long c = 0;
    size_t len, i;

    if (!rk_redis_reply_array(r, 2)
        || rk_redis_reply_text(r->element[0], &text, &len) < 0
        || len == 0 || len > 20)
        return -1;
    for (i = 0; i < len; i++) {
        if (!isdigit((unsigned char) text[i])
            || c > (~0ULL - (unsigned) (text[i] - '0')) / 10)
            return -1;
        c = c * 10 + (unsigned) (text[i] - '0');
    }
    list = r->element[1];
    if (!rk_redis_reply_is(list, REDIS_REPLY_ARRAY)
        || (list->elements > 0 && list->element == NULL))
        return -1;
    vbuf_reset(names);
    for (i = 0; i < list->elements; i++) {
        if (rk_redis_reply_text(list->element[i], &text, &len) < 0
            || memchr(text, 0, len) != NULL)
            return -1;
        vbuf_append(names, text, len);
        vbuf_append_char(names, 0);
    }
    *cursor = c;
    *n = (int) list->elements;
    return 0;
}

int
rk_redis_key_parse(const char *prefix, const char *name, size_t len,
                   char *counter, size_t counter_size, VBUF *key)
{
    size_t plen = strlen(prefix), clen;
    const char *rest, *colon;
    VBUF *canon, *why;
    int status = -1;

    if (len < plen + 2 || memcmp(name, prefix, plen) != 0
        || memchr(name, 0, len) != NULL)
        return -1;
    rest = name + plen;
    len -= plen;
    if (len > 2 && memcmp(rest, "c:", 2) == 0) {
        snprintf(counter, counter_size, "%s", RK_COUNTER_CONNECTIONS);
        rest += 2;
        len -= 2;
    } else if (len > 2 && memcmp(rest, "w:", 2) == 0) {
        rest += 2;
        len -= 2;
        if ((colon = memchr(rest, ':', len)) == NULL)
            return -1;
        clen = (size_t) (colon - rest);
        if (clen == 0 || clen >= counter_size)
            return -1;
        memcpy(counter, rest, clen);
        counter[clen] = 0;
        if (!rk_state_counter_known(counter))
            return -1;
        rest = colon + 1;
        len -= clen + 1;
    } else {
        return -1;
    }
    if (len == 0 || len > RK_KEY_MAX)
        return -1;
    /* Only keys that ratekeeper itself writes: canonical ones. */
    vbuf_set(key, "");
    vbuf_append(key, rest, len);
    canon = vbuf_create(len + 1);
    why = vbuf_create(32);
    if (rk_key_canon(canon, vbuf_str(key), why) == 0
        && strcmp(vbuf_str(canon), vbuf_str(key)) == 0)
        status = 0;
    vbuf_free(canon);
    vbuf_free(why);
    return status;
}

int
rk_redis_reply_counts_entry(const redisReply *r, int i, int n,
                            RK_STATE_ENTRY *entry)
{
    RK_STATE_ENTRY e = *entry;
    int conn = strcmp(entry->counter, RK_COUNTER_CONNECTIONS) == 0;
    long long w, cl;

    if (i < 0 || n < 1 || i >= n || !rk_redis_reply_array(r, (size_t) n * 3))
        return -1;
    /* Connections have no window (0, 0); windows have one. */
    if (conn && (rk_redis_reply_number(r->element[3 * i + 1], &w) < 0
                 || rk_redis_reply_number(r->element[3 * i + 2], &cl) < 0
                 || w != 0 || cl != 0))
        return -1;
    if (rk_redis_reply_entry(&e, entry->counter, entry->key,
                             r->element[3 * i],
                             conn ? NULL : r->element[3 * i + 1],
                             conn ? NULL : r->element[3 * i + 2]) < 0)
        return -1;
    *entry = e;
    return 0;
}

int
rk_redis_reply_role(const redisReply *r)
{
    const char *text;
    size_t len;

    if (!rk_redis_reply_is(r, REDIS_REPLY_ARRAY) || r->elements < 1
        || r->element == NULL
        || rk_redis_reply_text(r->element[0], &text, &len) < 0)
        return -1;
    return len == 6 && memcmp(text, "master", 6) == 0;
}

int
rk_redis_reply_master(const redisReply *r, char *host, size_t host_size,
                      int *port)
{
    const char *h, *p;
    size_t hlen, plen, i;
    int v = 0;

    if (!rk_redis_reply_array(r, 2)
        || rk_redis_reply_text(r->element[0], &h, &hlen) < 0
        || rk_redis_reply_text(r->element[1], &p, &plen) < 0
        || hlen == 0 || hlen >= host_size || plen == 0 || plen > 5)
        return -1;
    for (i = 0; i < hlen; i++)
        if (!isalnum((unsigned char) h[i])
            && (h[i] == 0 || strchr(".-_:%", h[i]) == NULL))
            return -1;
    for (i = 0; i < plen; i++) {
        if (!isdigit((unsigned char) p[i]))
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    if (v < 1 || v > 65535)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = 0;
    *port = v;
    return 0;
}
