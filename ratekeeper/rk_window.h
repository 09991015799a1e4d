/* Sliding-window counters of many keys: ratekeeper's arithmetic, apart
 * from sockets and the database.  Every function that depends on time
 * takes it as an argument (now, milliseconds of the wall clock, since the
 * counts survive restarts), so that tests drive it with a fake clock.
 * See rk_window.c for the representation and why. */
#ifndef ALLIGATE_RK_WINDOW_H
#define ALLIGATE_RK_WINDOW_H

#include <stddef.h>

#include "vbuf.h"

#define RK_WINDOW_BUCKETS   60          /* buckets per window */
#define RK_WINDOW_MAX_MS    (400LL * 86400 * 1000)
#define RK_WINDOW_RECORD_MAX (1 + 8 + 1 + (RK_WINDOW_BUCKETS + 1) * 12)

typedef struct RK_BUCKET {
    long long id;                       /* start time / width */
    unsigned int count;                 /* > 0 */
} RK_BUCKET;

/* The events of one key: non-empty buckets, oldest first. */
typedef struct RK_WINDOW {
    long long window_ms;                /* of the last update */
    long long width_ms;                 /* one bucket */
    int nbuckets;
    int cap;
    RK_BUCKET *buckets;
} RK_WINDOW;

void rk_window_init(RK_WINDOW *w);
/* Frees the buckets; w is empty (and may be reused) afterwards. */
void rk_window_clear(RK_WINDOW *w);

/* Counts n events at now in a window of window_ms (1 to
 * RK_WINDOW_MAX_MS; a change of window re-buckets what is there).
 * Returns the count in the window, these events included. */
unsigned long rk_window_add(RK_WINDOW *w, long long now,
                            long long window_ms, unsigned int n);
/* The events in the window ending at now. */
unsigned long rk_window_count(const RK_WINDOW *w, long long now);
/* The earliest time at which the count is 0 (unless more events come). */
long long rk_window_clear_time(const RK_WINDOW *w);
/* 1 when the count is 0 at now and will stay 0. */
int rk_window_expired(const RK_WINDOW *w, long long now);

/* The stored form, at most RK_WINDOW_RECORD_MAX bytes, appended to out;
 * decoding checks everything and returns -1 on malformed input (w is then
 * empty). */
void rk_window_encode(const RK_WINDOW *w, VBUF *out);
int rk_window_decode(RK_WINDOW *w, const void *data, size_t len);

/* Many keys ------------------------------------------------------------ */

typedef struct RK_WINDOW_TABLE RK_WINDOW_TABLE;

RK_WINDOW_TABLE *rk_window_table_create(void);
RK_WINDOW_TABLE *rk_window_table_free(RK_WINDOW_TABLE *table);

/* NULL when key has no window. */
RK_WINDOW *rk_window_table_find(const RK_WINDOW_TABLE *table,
                                const char *key);
/* The window of key, added empty when there was none. */
RK_WINDOW *rk_window_table_enter(RK_WINDOW_TABLE *table, const char *key);
/* Returns 0, or -1 when there was no such key. */
int rk_window_table_delete(RK_WINDOW_TABLE *table, const char *key);
size_t rk_window_table_size(const RK_WINDOW_TABLE *table);

/* Calls fn on every key; fn must not change the table. */
void rk_window_table_walk(const RK_WINDOW_TABLE *table,
                          void (*fn)(const char *key, const RK_WINDOW *w,
                                     void *context),
                          void *context);

/* One step of incremental expiry: looks at the keys of the next `slots`
 * slots of the table (going round it in successive calls) and removes
 * those expired at now, at most max_removed of them, calling gone(key,
 * context) (may be NULL) for each before it goes.  A full round takes
 * about size/slots steps.  Returns the number removed. */
size_t rk_window_table_expire(RK_WINDOW_TABLE *table, long long now,
                              size_t slots, size_t max_removed,
                              void (*gone)(const char *key, void *context),
                              void *context);
/* Slots in the table now. */
size_t rk_window_table_slots(const RK_WINDOW_TABLE *table);

#endif
