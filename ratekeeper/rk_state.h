/* Everything ratekeeper knows: the windows of every counter and key in
 * memory (answers come from there), written through to the store (when
 * there is one) so that they survive; and the connection registrations,
 * in memory only.  Time comes in as an argument.
 *
 * With a plan (rk_plan.h, the Redis backend) the same functions first
 * only note what they would do (gathering), then do it and take their
 * results from the plan where the cluster gave one (answering): the
 * memory always counts too, so that it can answer alone whenever Redis
 * does not; the store is written only with what Redis did not count
 * (the cluster keeps the rest, and a key's next add without Redis
 * writes its whole window from memory). */
#ifndef ALLIGATE_RK_STATE_H
#define ALLIGATE_RK_STATE_H

#include "attr.h"
#include "rk_conn.h"
#include "rk_key.h"
#include "rk_plan.h"
#include "rk_store.h"
#include "rk_window.h"
#include "vbuf.h"

#define RK_STATE_TOP_MAX    80          /* entries in one top reply */
#define RK_STATE_WARN_MS    60000       /* between store warnings */

typedef struct RK_STATE {
    RK_WINDOW_TABLE *windows;           /* "COUNTER KEY" -> window */
    RK_CONN *conns;
    RK_STORE *store;                    /* NULL: memory only */
    RK_PLAN *plan;                      /* NULL: memory answers */
    VBUF *name;                         /* scratch: "COUNTER KEY" */
    VBUF *why;
    /* Adds the backend's attributes to status (NULL: bdb alone). */
    void (*describe)(ATTR *out, void *context);
    void *describe_context;
    long long warned;                   /* time of the last store warning */
    unsigned long store_errors;         /* since the last warning */
} RK_STATE;

/* One counter of one key. */
typedef struct RK_STATE_ENTRY {
    char counter[32];
    char key[RK_KEY_MAX + 1];
    unsigned long count;
    long long window_ms;                /* 0 for connections */
    long long clear_ms;                 /* until the count is 0 */
} RK_STATE_ENTRY;

/* Takes over store (may be NULL), which the state then closes. */
RK_STATE *rk_state_create(RK_STORE *store);
RK_STATE *rk_state_free(RK_STATE *state);

/* The counters with windows, in the order show lists them. */
extern const char *const rk_state_counters[];
/* 1 when counter is one of them. */
int rk_state_counter_known(const char *counter);

/* Counts one event of counter for key (canonical, see rk_key.h) at now in
 * a window of window_ms; returns the count in the window. */
unsigned long rk_state_add(RK_STATE *state, const char *counter,
                           const char *key, long long window_ms,
                           long long now);
/* The count without counting; counter may be RK_COUNTER_CONNECTIONS. */
unsigned long rk_state_lookup(RK_STATE *state, const char *counter,
                              const char *key, long long now);
/* Fills up to max entries with key's non-zero counters (connections
 * first); returns how many. */
int rk_state_show(RK_STATE *state, const char *key, long long now,
                  RK_STATE_ENTRY *entries, int max);
/* The busiest counters now, up to limit (at most RK_STATE_TOP_MAX)
 * entries, highest count first; returns how many.  Walks every key. */
int rk_state_top(RK_STATE *state, long long now, int limit,
                 RK_STATE_ENTRY *entries);
/* The selection of top, for other sources of entries (Redis). */
typedef struct RK_STATE_TOP {
    RK_STATE_ENTRY *heap;
    int n;
    int limit;
    long long now;
} RK_STATE_TOP;

void rk_state_top_init(RK_STATE_TOP *top, RK_STATE_ENTRY *entries, int limit,
                       long long now);
void rk_state_top_offer_entry(RK_STATE_TOP *top, const RK_STATE_ENTRY *e);
/* Sorts, busiest first; returns how many. */
int rk_state_top_finish(RK_STATE_TOP *top);

/* Removes every windowed counter of key (not its open connections, which
 * their sockets own), and logs it; returns how many. */
int rk_state_reset(RK_STATE *state, const char *key, long long now);

/* Connection registrations (rk_conn.h), through the plan when there is
 * one.  register returns key's connections, this one included; release
 * returns 0, or -1 when client held none of key, with key's connections
 * in *count. */
unsigned long rk_state_register(RK_STATE *state, unsigned long client,
                                const char *key);
int rk_state_release(RK_STATE *state, unsigned long client, const char *key,
                     unsigned long *count);
/* client's socket closed: everything it holds goes. */
void rk_state_client_gone(RK_STATE *state, unsigned long client);

/* status: the backend (describe, or bdb) and the keys in memory. */
void rk_state_status(RK_STATE *state, ATTR *out);

/* Logs what the store's writer thread reported, if anything (at most
 * once a minute). */
void rk_state_check_store(RK_STATE *state, long long now);

/* One step of incremental expiry, in memory and in the store. */
size_t rk_state_expire(RK_STATE *state, long long now, size_t slots,
                       size_t max_removed);

#endif
