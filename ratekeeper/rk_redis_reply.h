/* What ratekeeper reads out of Redis' replies, past what hiredis parses:
 * the results of the scripts (rk_lua.h), SCAN's cursor and key names
 * (which hold the counter and the key), ROLE, a Sentinel's master
 * address, and the kind of an error.  Pure functions of a redisReply
 * tree: whatever shape a peer sends, each returns -1 rather than use
 * what it did not check (fuzz/fuzz_rk_redis_reply.c). */
#ifndef ALLIGATE_RK_REDIS_REPLY_H
#define ALLIGATE_RK_REDIS_REPLY_H

#include <hiredis/hiredis.h>

#include "rk_state.h"
#include "vbuf.h"

/* Largest count believed: far beyond any real one, and below 2^53. */
#define RK_REDIS_REPLY_COUNT_MAX    (1LL << 52)

/* Most elements of an array believed (a SCAN step has about 1000). */
#define RK_REDIS_REPLY_ARRAY_MAX    100000

/* Makes reader refuse arrays of more than RK_REDIS_REPLY_ARRAY_MAX
 * elements (a reader error, as out of memory), which hiredis 0.14 would
 * otherwise allocate as announced, before a single element came. */
void rk_redis_reply_limit(redisReader *reader);

typedef enum RK_REDIS_ERROR {
    RK_REDIS_ERROR_NONE,                /* not an error reply */
    RK_REDIS_ERROR_NOSCRIPT,            /* script cache lost: load again */
    RK_REDIS_ERROR_READONLY,            /* a replica: no longer the master */
    RK_REDIS_ERROR_LOADING,             /* starting: not yet */
    RK_REDIS_ERROR_OTHER,
} RK_REDIS_ERROR;

RK_REDIS_ERROR rk_redis_reply_error(const redisReply *r);

/* A count: an integer (ADD, CONN, RESET), or the first of COUNT's
 * {count, window, clear}.  Returns 0 or -1. */
int rk_redis_reply_count(const redisReply *r, unsigned long *count);

/* OPS' results: element i of n (the reply an array of exactly n), to
 * read with rk_redis_reply_count; NULL when there is none. */
const redisReply *rk_redis_reply_ops_element(const redisReply *r, int i,
                                             int n);

/* SHOW's {connections, then count, window_ms, clear_ms per counter} as
 * show's entries for key (only the non-zero ones, connections first),
 * at most max.  Returns how many, or -1. */
int rk_redis_reply_show(const redisReply *r, const char *key,
                        RK_STATE_ENTRY *entries, int max);

/* SYNC's {keys, another incarnation}.  Returns 0 or -1. */
int rk_redis_reply_sync(const redisReply *r, long *keys, int *other);

/* SCAN's {cursor, {names}}: the cursor (0 when done), and the names,
 * each of them NUL-terminated, one after the other in names (whose
 * count is *n).  Returns 0 or -1. */
int rk_redis_reply_scan(const redisReply *r, unsigned long long *cursor,
                        VBUF *names, int *n);

/* A full key name of a window ("PREFIXw:COUNTER:KEY") or of
 * connections ("PREFIXc:KEY"), as SCAN returns them: the counter (a
 * known one, or RK_COUNTER_CONNECTIONS) and the key, which must be
 * canonical.  Returns 0, or -1 for a name that is neither (another
 * prefix's, a heartbeat, garbage). */
int rk_redis_key_parse(const char *prefix, const char *name, size_t len,
                       char *counter, size_t counter_size, VBUF *key);

/* COUNTS' {count, window_ms, clear_ms} for the name at index i of n, as
 * an entry.  Returns 0, or -1 when the reply does not hold it. */
int rk_redis_reply_counts_entry(const redisReply *r, int i, int n,
                                RK_STATE_ENTRY *entry);

/* ROLE: 1 for a master, 0 for anything else, -1 for no ROLE reply. */
int rk_redis_reply_role(const redisReply *r);

/* SENTINEL get-master-addr-by-name: {host, port}; host is a numeric
 * address or a name.  Returns 0, or -1 (nil: the Sentinel does not know
 * the master). */
int rk_redis_reply_master(const redisReply *r, char *host, size_t host_size,
                          int *port);

#endif
