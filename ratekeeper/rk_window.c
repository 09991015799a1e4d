/* Sliding windows, bucketed.
 *
 * Representation: each key keeps its events in buckets 1/60 of its window
 * wide (50 ms for a 3 s window, 10 s for the default 10 minutes), only
 * the non-empty ones, oldest first.  Not an exact list of timestamps, and
 * not per-minute buckets:
 *
 * - A key's state is bounded whatever the rate: at most 61 buckets
 *   (usually one or two).  An exact list grows with every event, to
 *   millions for a mail bomber, each of which would rewrite the key's
 *   whole record in the database.
 * - Per-minute buckets cannot express windows of a few seconds
 *   (sender_rate_window may be 1s) and err by up to a minute.
 * - The error is bounded and on the safe side.  The count at `now` is the
 *   sum of the buckets from the one that holds the instant `now - window`
 *   to the newest, so it includes every event of the last window, and
 *   perhaps some of the bucket before: an event stops counting between
 *   window and window + width after it happened.  A limit is never
 *   exceeded within any window; a client that stopped may wait 1/60 of
 *   the window longer.  That span covers at most 61 buckets.
 *
 * A bucket is named by its number, floor(time / width), so that nothing
 * shifts as time passes.  A clock that goes back (the wall clock is used,
 * so that counts survive restarts) puts new events into the newest
 * bucket rather than into the past, and never makes anything expire
 * early. */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "htable.h"
#include "msg.h"
#include "mymalloc.h"
#include "rk_window.h"

#define RK_WINDOW_VERSION   1
#define RK_WINDOW_TIME_MAX  (1LL << 52)         /* ms: 142 000 years */

static long long
rk_window_floor_div(long long a, long long b)
{
    long long q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static long long
rk_window_width(long long window_ms)
{
    return (window_ms + RK_WINDOW_BUCKETS - 1) / RK_WINDOW_BUCKETS;
}

static void
rk_window_check_time(const char *fn, long long now)
{
    if (now < -RK_WINDOW_TIME_MAX || now > RK_WINDOW_TIME_MAX)
        msg_panic("%s: time %lld out of range", fn, now);
}

void
rk_window_init(RK_WINDOW *w)
{
    memset(w, 0, sizeof(*w));
}

void
rk_window_clear(RK_WINDOW *w)
{
    myfree(w->buckets);
    rk_window_init(w);
}

/* The oldest bucket that still counts at now: the one that holds the
 * instant a window ago. */
static long long
rk_window_oldest_id(const RK_WINDOW *w, long long now)
{
    return rk_window_floor_div(now - w->window_ms, w->width_ms);
}

static void
rk_window_prune(RK_WINDOW *w, long long now)
{
    long long oldest = rk_window_oldest_id(w, now);
    int i;

    for (i = 0; i < w->nbuckets && w->buckets[i].id < oldest; i++)
         /* void */ ;
    if (i > 0) {
        memmove(w->buckets, w->buckets + i,
                (size_t) (w->nbuckets - i) * sizeof(*w->buckets));
        w->nbuckets -= i;
    }
}

/* Moves the events to buckets of a new width, each to the bucket that
 * holds the last instant of its old bucket, or now if that is earlier:
 * nothing gets older, and nothing is moved into the future (where
 * repeated changes of window would push it further each time). */
static void
rk_window_rebucket(RK_WINDOW *w, long long window_ms, long long now)
{
    long long width = rk_window_width(window_ms);
    long long id, now_id = rk_window_floor_div(now, width);
    long long id_max = RK_WINDOW_TIME_MAX / width;
    int i, n = 0;

    for (i = 0; i < w->nbuckets; i++) {
        id = rk_window_floor_div((w->buckets[i].id + 1) * w->width_ms - 1,
                                 width);
        /* An old bucket that holds now stays in the current one; one
         * already in the future (the clock went back) stays there. */
        if (id > now_id && w->buckets[i].id <= rk_window_floor_div(now, w->width_ms))
            id = now_id;
        /* The last bucket of the time range ends past it: in buckets of
         * another width it must stay in range, or its record would not
         * decode (found by fuzz_rk_record). */
        if (id > id_max)
            id = id_max;
        else if (id < -id_max)
            id = -id_max;
        if (n > 0 && w->buckets[n - 1].id == id) {
            unsigned int c = w->buckets[n - 1].count;

            w->buckets[n - 1].count = c > UINT_MAX - w->buckets[i].count
                ? UINT_MAX : c + w->buckets[i].count;
        } else {
            w->buckets[n].id = id;
            w->buckets[n].count = w->buckets[i].count;
            n++;
        }
    }
    w->nbuckets = n;
    w->window_ms = window_ms;
    w->width_ms = width;
}

unsigned long
rk_window_add(RK_WINDOW *w, long long now, long long window_ms,
              unsigned int n)
{
    RK_BUCKET *last;
    long long id;

    rk_window_check_time("rk_window_add", now);
    if (window_ms < 1 || window_ms > RK_WINDOW_MAX_MS)
        msg_panic("rk_window_add: window %lld out of range", window_ms);
    if (w->nbuckets == 0) {
        w->window_ms = window_ms;
        w->width_ms = rk_window_width(window_ms);
    } else if (w->window_ms != window_ms) {
        rk_window_rebucket(w, window_ms, now);
    }
    rk_window_prune(w, now);
    id = rk_window_floor_div(now, w->width_ms);
    last = w->nbuckets > 0 ? &w->buckets[w->nbuckets - 1] : NULL;
    /* A clock that went back, or (defensively) a full set of buckets:
     * the newest bucket takes the events. */
    if (last && (last->id >= id || w->nbuckets > RK_WINDOW_BUCKETS)) {
        last->count = last->count > UINT_MAX - n ? UINT_MAX : last->count + n;
    } else if (n > 0) {
        if (w->nbuckets == w->cap) {
            w->cap = w->cap ? w->cap * 2 : 2;
            if (w->cap > RK_WINDOW_BUCKETS + 1)
                w->cap = RK_WINDOW_BUCKETS + 1;
            w->buckets = myrealloc(w->buckets,
                                   (size_t) w->cap * sizeof(*w->buckets));
        }
        w->buckets[w->nbuckets].id = id;
        w->buckets[w->nbuckets].count = n;
        w->nbuckets++;
    }
    return rk_window_count(w, now);
}

unsigned long
rk_window_count(const RK_WINDOW *w, long long now)
{
    unsigned long count = 0;
    long long oldest;
    int i;

    if (w->nbuckets == 0)
        return 0;
    rk_window_check_time("rk_window_count", now);
    oldest = rk_window_oldest_id(w, now);
    for (i = w->nbuckets - 1; i >= 0 && w->buckets[i].id >= oldest; i--)
        count += w->buckets[i].count;
    return count;
}

long long
rk_window_clear_time(const RK_WINDOW *w)
{
    if (w->nbuckets == 0)
        return LLONG_MIN;
    return (w->buckets[w->nbuckets - 1].id + 1) * w->width_ms + w->window_ms;
}

int
rk_window_expired(const RK_WINDOW *w, long long now)
{
    return w->nbuckets == 0 || now >= rk_window_clear_time(w);
}

/* Stored form ---------------------------------------------------------- */

/* version(1) window_ms(8) nbuckets(1), then per bucket id(8) count(4);
 * integers big-endian. */

static void
rk_window_put_u64(VBUF *out, uint64_t v, int bytes)
{
    int i;

    for (i = bytes - 1; i >= 0; i--)
        vbuf_append_char(out, (int) ((v >> (8 * i)) & 0xff));
}

static uint64_t
rk_window_get_u64(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < bytes; i++)
        v = (v << 8) | p[i];
    return v;
}

void
rk_window_encode(const RK_WINDOW *w, VBUF *out)
{
    int i;

    vbuf_append_char(out, RK_WINDOW_VERSION);
    rk_window_put_u64(out, (uint64_t) w->window_ms, 8);
    vbuf_append_char(out, w->nbuckets);
    for (i = 0; i < w->nbuckets; i++) {
        rk_window_put_u64(out, (uint64_t) w->buckets[i].id, 8);
        rk_window_put_u64(out, w->buckets[i].count, 4);
    }
}

int
rk_window_decode(RK_WINDOW *w, const void *data, size_t len)
{
    const unsigned char *p = data;
    long long window, width, id, id_max;
    unsigned int count;
    int i, n;

    rk_window_clear(w);
    if (len < 10 || p[0] != RK_WINDOW_VERSION)
        return -1;
    window = (long long) rk_window_get_u64(p + 1, 8);
    n = p[9];
    if (window < 1 || window > RK_WINDOW_MAX_MS || n > RK_WINDOW_BUCKETS + 1
        || len != 10 + (size_t) n * 12)
        return -1;
    width = rk_window_width(window);
    id_max = RK_WINDOW_TIME_MAX / width;
    w->window_ms = window;
    w->width_ms = width;
    w->cap = n;
    w->buckets = n ? mymalloc((size_t) n * sizeof(*w->buckets)) : NULL;
    for (i = 0; i < n; i++) {
        id = (long long) rk_window_get_u64(p + 10 + 12 * i, 8);
        count = (unsigned int) rk_window_get_u64(p + 18 + 12 * i, 4);
        if (id < -id_max || id > id_max || count == 0
            || (i > 0 && id <= w->buckets[i - 1].id)) {
            rk_window_clear(w);
            return -1;
        }
        w->buckets[i].id = id;
        w->buckets[i].count = count;
        w->nbuckets = i + 1;
    }
    return 0;
}

/* Many keys ------------------------------------------------------------ */

struct RK_WINDOW_TABLE {
    HTABLE *keys;                       /* key -> RK_WINDOW */
    size_t cursor;                      /* of incremental expiry */
};

static void
rk_window_free(void *value)
{
    RK_WINDOW *w = value;

    rk_window_clear(w);
    myfree(w);
}

RK_WINDOW_TABLE *
rk_window_table_create(void)
{
    RK_WINDOW_TABLE *table = mymalloc(sizeof(*table));

    table->keys = htable_create(1024);
    table->cursor = 0;
    return table;
}

RK_WINDOW_TABLE *
rk_window_table_free(RK_WINDOW_TABLE *table)
{
    if (table) {
        htable_free(table->keys, rk_window_free);
        myfree(table);
    }
    return NULL;
}

RK_WINDOW *
rk_window_table_find(const RK_WINDOW_TABLE *table, const char *key)
{
    return htable_find(table->keys, key);
}

RK_WINDOW *
rk_window_table_enter(RK_WINDOW_TABLE *table, const char *key)
{
    RK_WINDOW *w = htable_find(table->keys, key);

    if (w == NULL) {
        w = mymalloc(sizeof(*w));
        rk_window_init(w);
        htable_enter(table->keys, key, w);
    }
    return w;
}

int
rk_window_table_delete(RK_WINDOW_TABLE *table, const char *key)
{
    RK_WINDOW *w = htable_delete(table->keys, key);

    if (w == NULL)
        return -1;
    rk_window_free(w);
    return 0;
}

size_t
rk_window_table_size(const RK_WINDOW_TABLE *table)
{
    return htable_used(table->keys);
}

size_t
rk_window_table_slots(const RK_WINDOW_TABLE *table)
{
    return htable_slots(table->keys);
}

typedef struct RK_WINDOW_WALK {
    void (*fn)(const char *key, const RK_WINDOW *w, void *context);
    void *context;
} RK_WINDOW_WALK;

static void
rk_window_walk_one(const HTABLE_ENTRY *entry, void *context)
{
    RK_WINDOW_WALK *walk = context;

    walk->fn(entry->key, entry->value, walk->context);
}

void
rk_window_table_walk(const RK_WINDOW_TABLE *table,
                     void (*fn)(const char *key, const RK_WINDOW *w,
                                void *context),
                     void *context)
{
    RK_WINDOW_WALK walk = {fn, context};

    htable_walk(table->keys, rk_window_walk_one, &walk);
}

typedef struct RK_WINDOW_EXPIRY {
    long long now;
    size_t max_removed;
    size_t removed;
    void (*gone)(const char *key, void *context);
    void *context;
} RK_WINDOW_EXPIRY;

static int
rk_window_expire_one(HTABLE_ENTRY *entry, void *context)
{
    RK_WINDOW_EXPIRY *ex = context;

    if (ex->removed >= ex->max_removed
        || !rk_window_expired(entry->value, ex->now))
        return 0;
    if (ex->gone)
        ex->gone(entry->key, ex->context);
    rk_window_free(entry->value);
    ex->removed++;
    return 1;
}

size_t
rk_window_table_expire(RK_WINDOW_TABLE *table, long long now, size_t slots,
                       size_t max_removed,
                       void (*gone)(const char *key, void *context),
                       void *context)
{
    RK_WINDOW_EXPIRY ex = {now, max_removed, 0, gone, context};

    htable_sweep(table->keys, &table->cursor, slots, rk_window_expire_one,
                 &ex);
    return ex.removed;
}
