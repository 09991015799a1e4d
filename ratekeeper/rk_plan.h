/* What a request needs from the cluster, found by running its handler
 * twice.
 *
 * With the Redis backend, the answer to a request depends on counts kept
 * in Redis, which come back asynchronously.  The request layer
 * (rk_request.c) stays synchronous: ratekeeper runs a request's handler
 * first with a plan in its gathering phase, where every function of the
 * state that it calls notes an operation here (counter, key, window)
 * and changes nothing; the operations go to Redis in one pipeline; once
 * their results are in (or the deadline passed), the handler runs again
 * with the plan in its answering phase: the state does the operation in
 * memory and on disk as it always does, and the result comes from the
 * plan when Redis gave one, else from memory.  As Calvin's
 * reconnaissance queries find what a transaction touches.
 *
 * What this needs of a handler: the operations it asks the state for do
 * not depend on the results of the ones before (true of every verb).
 * Should a handler break that, the operation that differs from the plan
 * is answered from memory, and a warning says so. */
#ifndef ALLIGATE_RK_PLAN_H
#define ALLIGATE_RK_PLAN_H

#define RK_PLAN_COUNTER_MAX 32

struct RK_STATE_ENTRY;

typedef enum RK_PLAN_KIND {
    RK_PLAN_ADD,                        /* count an event of a counter */
    RK_PLAN_LOOKUP,                     /* a counter's count */
    RK_PLAN_CONN,                       /* register (+n), release (-n) or
                                         * count (0) connections */
    RK_PLAN_SHOW,                       /* every counter of a key */
    RK_PLAN_TOP,                        /* the busiest counters */
    RK_PLAN_RESET,                      /* forget a key's windows */
} RK_PLAN_KIND;

typedef enum RK_PLAN_PHASE {
    RK_PLAN_GATHER,
    RK_PLAN_ANSWER,
} RK_PLAN_PHASE;

typedef struct RK_PLAN_OP {
    RK_PLAN_KIND kind;
    char counter[RK_PLAN_COUNTER_MAX];  /* ADD, LOOKUP */
    char *key;                          /* all but TOP */
    long long window_ms;                /* ADD */
    long delta;                         /* CONN */
    int limit;                          /* TOP */
    /* The result, when answered: count (ADD, LOOKUP, CONN; RESET: how
     * many), or entries (SHOW, TOP). */
    int answered;
    unsigned long count;
    struct RK_STATE_ENTRY *entries;
    int nentries;
} RK_PLAN_OP;

typedef struct RK_PLAN {
    RK_PLAN_PHASE phase;
    RK_PLAN_OP *ops;
    int nops;
    int cap;
    int next;                           /* the answering pass's cursor */
    int mismatches;                     /* operations not in the plan */
} RK_PLAN;

RK_PLAN *rk_plan_create(void);
RK_PLAN *rk_plan_free(RK_PLAN *plan);

/* Gathering: notes one operation; returns it (to fill in more). */
RK_PLAN_OP *rk_plan_note(RK_PLAN *plan, RK_PLAN_KIND kind,
                         const char *counter, const char *key);

/* Switches to answering, from the first operation. */
void rk_plan_answer(RK_PLAN *plan);

/* Answering: the next operation, when it is the one the handler asks
 * for now (same kind, counter and key) and has a result; else NULL (the
 * caller answers from memory; a mismatch is counted and logged). */
RK_PLAN_OP *rk_plan_take(RK_PLAN *plan, RK_PLAN_KIND kind,
                         const char *counter, const char *key);

/* Answering: a count from the plan, or local when there is none. */
unsigned long rk_plan_count(RK_PLAN *plan, RK_PLAN_KIND kind,
                            const char *counter, const char *key,
                            unsigned long local);

/* 1 when every operation releases connections: nobody needs the
 * cluster's count afterwards (smtpd drops disconnect's answer). */
int rk_plan_releases_only(const RK_PLAN *plan);

/* The result's entries are the op's to free (rk_plan_free does). */
void rk_plan_set_entries(RK_PLAN_OP *op, struct RK_STATE_ENTRY *entries,
                         int n);

#endif
