/* ratekeeper's state: windows keyed "COUNTER KEY" (the counter names have
 * no space, so the first space splits them), written through to the store
 * after each change.  Memory answers; a store that fails is logged (once a
 * minute) and the counting goes on: a rate limiter that stops answering
 * because its disk is full helps nobody. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "mymalloc.h"
#include "printable.h"
#include "rk_clnt.h"
#include "rk_state.h"

const char *const rk_state_counters[] = {
    RK_COUNTER_MAIL,
    RK_COUNTER_OVERLIMIT,
    RK_COUNTER_TARPIT,
    RK_COUNTER_AUTH,
    NULL,
};

int
rk_state_counter_known(const char *counter)
{
    const char *const *cpp;

    for (cpp = rk_state_counters; *cpp; cpp++)
        if (strcmp(*cpp, counter) == 0)
            return 1;
    return 0;
}

RK_STATE *
rk_state_create(RK_STORE *store)
{
    RK_STATE *state = mymalloc(sizeof(*state));

    state->windows = rk_window_table_create();
    state->conns = rk_conn_create();
    state->store = store;
    state->plan = NULL;
    state->describe = NULL;
    state->describe_context = NULL;
    state->name = vbuf_create(128);
    state->why = vbuf_create(128);
    state->warned = 0;
    state->store_errors = 0;
    return state;
}

RK_STATE *
rk_state_free(RK_STATE *state)
{
    if (state) {
        if (state->store && rk_store_close(state->store, state->why) < 0)
            msg_warn("closing the rate database: %s", vbuf_str(state->why));
        rk_window_table_free(state->windows);
        rk_conn_free(state->conns);
        vbuf_free(state->name);
        vbuf_free(state->why);
        myfree(state);
    }
    return NULL;
}

static const char *
rk_state_name(RK_STATE *state, const char *counter, const char *key)
{
    vbuf_set(state->name, counter);
    vbuf_append_char(state->name, ' ');
    vbuf_append_str(state->name, key);
    return vbuf_str(state->name);
}

/* A store failure: counted, and said at most once a minute. */
static void
rk_state_store_failed(RK_STATE *state, long long now)
{
    state->store_errors++;
    if (state->warned == 0 || now - state->warned >= RK_STATE_WARN_MS
        || now < state->warned) {
        msg_warn("rate database: %s (%lu failure%s); counting in memory only",
                 vbuf_str(state->why), state->store_errors,
                 state->store_errors == 1 ? "" : "s");
        state->warned = now;
        state->store_errors = 0;
    }
}

static void
rk_state_save(RK_STATE *state, const char *name, const RK_WINDOW *w,
              long long now)
{
    if (state->store && rk_store_put(state->store, name, w, state->why) < 0)
        rk_state_store_failed(state, now);
}

/* 1 while a plan gathers: nothing may change. */
static int
rk_state_gathering(const RK_STATE *state)
{
    return state->plan && state->plan->phase == RK_PLAN_GATHER;
}

unsigned long
rk_state_add(RK_STATE *state, const char *counter, const char *key,
             long long window_ms, long long now)
{
    const char *name;
    RK_WINDOW *w;
    RK_PLAN_OP *op;
    unsigned long count;

    if (rk_state_gathering(state)) {
        rk_plan_note(state->plan, RK_PLAN_ADD, counter, key)->window_ms =
            window_ms;
        return 0;
    }
    name = rk_state_name(state, counter, key);
    w = rk_window_table_enter(state->windows, name);
    count = rk_window_add(w, now, window_ms, 1);
    /* What the cluster counted it keeps: memory counts too (for the
     * answers while Redis cannot give them), the disk need not; the
     * key's next add without Redis writes its whole window. */
    if (state->plan
        && (op = rk_plan_take(state->plan, RK_PLAN_ADD, counter, key)) != NULL)
        return op->count;
    rk_state_save(state, name, w, now);
    return count;
}

unsigned long
rk_state_lookup(RK_STATE *state, const char *counter, const char *key,
                long long now)
{
    RK_WINDOW *w;
    unsigned long count;

    if (strcmp(counter, RK_COUNTER_CONNECTIONS) == 0) {
        if (rk_state_gathering(state)) {
            rk_plan_note(state->plan, RK_PLAN_CONN, NULL, key)->delta = 0;
            return 0;
        }
        count = rk_conn_count(state->conns, key);
        return state->plan ? rk_plan_count(state->plan, RK_PLAN_CONN, NULL,
                                           key, count) : count;
    }
    if (rk_state_gathering(state)) {
        rk_plan_note(state->plan, RK_PLAN_LOOKUP, counter, key);
        return 0;
    }
    w = rk_window_table_find(state->windows,
                             rk_state_name(state, counter, key));
    count = w ? rk_window_count(w, now) : 0;
    return state->plan ? rk_plan_count(state->plan, RK_PLAN_LOOKUP, counter,
                                       key, count) : count;
}

unsigned long
rk_state_register(RK_STATE *state, unsigned long client, const char *key)
{
    unsigned long count;

    if (rk_state_gathering(state)) {
        rk_plan_note(state->plan, RK_PLAN_CONN, NULL, key)->delta = 1;
        return 0;
    }
    count = rk_conn_register(state->conns, client, key);
    return state->plan ? rk_plan_count(state->plan, RK_PLAN_CONN, NULL, key,
                                       count) : count;
}

int
rk_state_release(RK_STATE *state, unsigned long client, const char *key,
                 unsigned long *count)
{
    int status;

    /* A socket that holds none of key's connections releases nothing,
     * here or in the cluster: its request only counts. */
    if (rk_state_gathering(state)) {
        rk_plan_note(state->plan, RK_PLAN_CONN, NULL, key)->delta =
            rk_conn_held(state->conns, client, key) > 0 ? -1 : 0;
        *count = 0;
        return 0;
    }
    status = rk_conn_release(state->conns, client, key, count);
    if (state->plan)
        *count = rk_plan_count(state->plan, RK_PLAN_CONN, NULL, key, *count);
    return status;
}

static void
rk_state_note_gone(const char *key, unsigned long n, void *context)
{
    RK_STATE *state = context;

    rk_plan_note(state->plan, RK_PLAN_CONN, NULL, key)->delta = -(long) n;
}

void
rk_state_client_gone(RK_STATE *state, unsigned long client)
{
    if (rk_state_gathering(state)) {
        rk_conn_client_walk(state->conns, client, rk_state_note_gone, state);
        return;
    }
    /* Nothing to answer: the cluster's results are not needed. */
    rk_conn_release_client(state->conns, client);
}

static void
rk_state_entry(RK_STATE_ENTRY *e, const char *counter, const char *key,
               unsigned long count, const RK_WINDOW *w, long long now)
{
    snprintf(e->counter, sizeof(e->counter), "%s", counter);
    snprintf(e->key, sizeof(e->key), "%s", key);
    e->count = count;
    e->window_ms = w ? w->window_ms : 0;
    e->clear_ms = w ? rk_window_clear_time(w) - now : 0;
    if (e->clear_ms < 0)
        e->clear_ms = 0;
}

/* Answering: entries from the plan's op, when it has them. */
static int
rk_state_planned_entries(RK_STATE *state, RK_PLAN_KIND kind, const char *key,
                         RK_STATE_ENTRY *entries, int max)
{
    RK_PLAN_OP *op = rk_plan_take(state->plan, kind, NULL, key);
    int n;

    if (op == NULL)
        return -1;
    n = op->nentries < max ? op->nentries : max;
    if (n > 0)
        memcpy(entries, op->entries, (size_t) n * sizeof(*entries));
    return n;
}

int
rk_state_show(RK_STATE *state, const char *key, long long now,
              RK_STATE_ENTRY *entries, int max)
{
    const char *const *cpp;
    unsigned long count;
    RK_WINDOW *w;
    int n = 0;

    if (rk_state_gathering(state)) {
        rk_plan_note(state->plan, RK_PLAN_SHOW, NULL, key);
        return 0;
    }
    if (state->plan
        && (n = rk_state_planned_entries(state, RK_PLAN_SHOW, key, entries,
                                         max)) >= 0)
        return n;
    n = 0;

    if (n < max && (count = rk_conn_count(state->conns, key)) > 0)
        rk_state_entry(&entries[n++], RK_COUNTER_CONNECTIONS, key, count,
                       NULL, now);
    for (cpp = rk_state_counters; *cpp && n < max; cpp++) {
        w = rk_window_table_find(state->windows,
                                 rk_state_name(state, *cpp, key));
        if (w && (count = rk_window_count(w, now)) > 0)
            rk_state_entry(&entries[n++], *cpp, key, count, w, now);
    }
    return n;
}

int
rk_state_reset(RK_STATE *state, const char *key, long long now)
{
    const char *const *cpp;
    const char *name;
    int n = 0;

    if (rk_state_gathering(state)) {
        rk_plan_note(state->plan, RK_PLAN_RESET, NULL, key);
        return 0;
    }

    for (cpp = rk_state_counters; *cpp; cpp++) {
        name = rk_state_name(state, *cpp, key);
        if (rk_window_table_delete(state->windows, name) == 0) {
            n++;
            if (state->store
                && rk_store_delete(state->store, name, state->why) < 0)
                rk_state_store_failed(state, now);
        }
    }
    if (state->plan)
        n = (int) rk_plan_count(state->plan, RK_PLAN_RESET, NULL, key,
                                (unsigned long) n);
    msg_info("reset %s: %d counter%s removed", printable_str(key), n,
             n == 1 ? "" : "s");
    return n;
}

/* Top: a min-heap of the best `limit` candidates seen so far. */

/* 1 when a ranks below b: smaller count, then later key. */
static int
rk_state_below(const RK_STATE_ENTRY *a, const RK_STATE_ENTRY *b)
{
    int cmp;

    if (a->count != b->count)
        return a->count < b->count;
    if ((cmp = strcmp(a->key, b->key)) != 0)
        return cmp > 0;
    return strcmp(a->counter, b->counter) > 0;
}

static void
rk_state_sift_down(RK_STATE_ENTRY *heap, int n, int i)
{
    RK_STATE_ENTRY tmp;
    int least, child;

    for (;;) {
        least = i;
        for (child = 2 * i + 1; child <= 2 * i + 2 && child < n; child++)
            if (rk_state_below(&heap[child], &heap[least]))
                least = child;
        if (least == i)
            return;
        tmp = heap[i];
        heap[i] = heap[least];
        heap[least] = tmp;
        i = least;
    }
}

static void
rk_state_sift_up(RK_STATE_ENTRY *heap, int i)
{
    RK_STATE_ENTRY tmp;
    int parent;

    while (i > 0 && rk_state_below(&heap[i], &heap[parent = (i - 1) / 2])) {
        tmp = heap[i];
        heap[i] = heap[parent];
        heap[parent] = tmp;
        i = parent;
    }
}

static void
rk_state_top_offer(RK_STATE_TOP *top, const char *counter, const char *key,
                   unsigned long count, const RK_WINDOW *w)
{
    RK_STATE_ENTRY cand;

    if (count == 0 || top->limit == 0)
        return;
    /* Cheap rejection before formatting. */
    if (top->n == top->limit && count < top->heap[0].count)
        return;
    rk_state_entry(&cand, counter, key, count, w, top->now);
    if (top->n < top->limit) {
        top->heap[top->n] = cand;
        rk_state_sift_up(top->heap, top->n++);
    } else if (rk_state_below(&top->heap[0], &cand)) {
        top->heap[0] = cand;
        rk_state_sift_down(top->heap, top->n, 0);
    }
}

static void
rk_state_top_window(const char *name, const RK_WINDOW *w, void *context)
{
    RK_STATE_TOP *top = context;
    const char *space = strchr(name, ' ');
    char counter[32];

    if (space == NULL || (size_t) (space - name) >= sizeof(counter))
        return;
    memcpy(counter, name, (size_t) (space - name));
    counter[space - name] = 0;
    rk_state_top_offer(top, counter, space + 1, rk_window_count(w, top->now),
                       w);
}

static void
rk_state_top_conn(const char *key, unsigned long count, void *context)
{
    rk_state_top_offer(context, RK_COUNTER_CONNECTIONS, key, count, NULL);
}

static int
rk_state_top_cmp(const void *a, const void *b)
{
    if (rk_state_below(a, b))
        return 1;
    return rk_state_below(b, a) ? -1 : 0;
}

void
rk_state_top_init(RK_STATE_TOP *top, RK_STATE_ENTRY *entries, int limit,
                  long long now)
{
    top->heap = entries;
    top->n = 0;
    top->limit = limit < 0 ? 0 : limit > RK_STATE_TOP_MAX ? RK_STATE_TOP_MAX
        : limit;
    top->now = now;
}

void
rk_state_top_offer_entry(RK_STATE_TOP *top, const RK_STATE_ENTRY *cand)
{
    if (cand->count == 0 || top->limit == 0)
        return;
    if (top->n < top->limit) {
        top->heap[top->n] = *cand;
        rk_state_sift_up(top->heap, top->n++);
    } else if (rk_state_below(&top->heap[0], cand)) {
        top->heap[0] = *cand;
        rk_state_sift_down(top->heap, top->n, 0);
    }
}

int
rk_state_top_finish(RK_STATE_TOP *top)
{
    qsort(top->heap, (size_t) top->n, sizeof(*top->heap), rk_state_top_cmp);
    return top->n;
}

int
rk_state_top(RK_STATE *state, long long now, int limit,
             RK_STATE_ENTRY *entries)
{
    RK_STATE_TOP top;
    int n;

    if (rk_state_gathering(state)) {
        rk_plan_note(state->plan, RK_PLAN_TOP, NULL, NULL)->limit = limit;
        return 0;
    }
    limit = limit < 0 ? 0 : limit > RK_STATE_TOP_MAX ? RK_STATE_TOP_MAX : limit;
    if (state->plan
        && (n = rk_state_planned_entries(state, RK_PLAN_TOP, NULL, entries,
                                         limit)) >= 0)
        return n;
    rk_state_top_init(&top, entries, limit, now);
    rk_conn_walk(state->conns, rk_state_top_conn, &top);
    rk_window_table_walk(state->windows, rk_state_top_window, &top);
    return rk_state_top_finish(&top);
}

/* Expiry: the keys that go are deleted from the store in one
 * transaction. */

typedef struct RK_STATE_EXPIRY {
    RK_STATE *state;
    int batch;                          /* a store batch is open */
    int failed;
} RK_STATE_EXPIRY;

static void
rk_state_gone(const char *name, void *context)
{
    RK_STATE_EXPIRY *ex = context;
    RK_STATE *state = ex->state;

    if (state->store == NULL || ex->failed)
        return;
    if (!ex->batch) {
        if (rk_store_batch_begin(state->store, state->why) < 0) {
            ex->failed = 1;
            return;
        }
        ex->batch = 1;
    }
    if (rk_store_delete(state->store, name, state->why) < 0)
        ex->failed = 1;
}

void
rk_state_status(RK_STATE *state, ATTR *out)
{
    attr_set_long(out, "keys", (long) rk_window_table_size(state->windows));
    if (state->describe)
        state->describe(out, state->describe_context);
    else
        attr_set(out, "backend", "bdb");
}

void
rk_state_check_store(RK_STATE *state, long long now)
{
    if (state->store && rk_store_writer_status(state->store, state->why) < 0)
        rk_state_store_failed(state, now);
}

size_t
rk_state_expire(RK_STATE *state, long long now, size_t slots,
                size_t max_removed)
{
    RK_STATE_EXPIRY ex = {state, 0, 0};
    size_t removed;

    removed = rk_window_table_expire(state->windows, now, slots, max_removed,
                                     rk_state_gone, &ex);
    /* A failed delete leaves a record that the next start drops. */
    if (ex.batch && rk_store_batch_end(state->store, state->why) < 0)
        ex.failed = 1;
    if (ex.failed)
        rk_state_store_failed(state, now);
    return removed;
}
