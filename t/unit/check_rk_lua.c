/* The window arithmetic of ratekeeper's Redis scripts (ratekeeper/
 * rk_lua.c) against the C code it copies (rk_window.c): one table of
 * cases, and a few thousand pseudo-random steps, each run through both,
 * on a real redis-server started by the test.  After every step the
 * count, the window, the time until the count is 0 and the stored
 * buckets must be the same, and the key must expire when the C window
 * does.  Also the scripts for connections (gateways, heartbeats, the
 * sync of a gateway's registrations) and show, reset and counts. */
#include <check.h>
#include <hiredis/hiredis.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "fixture_redis.h"
#include "msg.h"
#include "ratekeeper/rk_lua.h"
#include "ratekeeper/rk_window.h"
#include "vbuf.h"

#define T0          1700000000000LL
#define TIME_MAX    (1LL << 52)
#define KEY         "t:w:mail:addr:192.0.2.1"
#define RK_LUA_RACE_MS  200

static redisContext *rc;
static char sha[RK_LUA_NSCRIPTS][41];

static void
setup(void)
{
    int port, i;
    redisReply *r;

    msg_open("/dev/null");
    port = fixture_redis_start();
    rc = redisConnect("127.0.0.1", port);
    ck_assert(rc != NULL && rc->err == 0);
    for (i = 0; i < RK_LUA_NSCRIPTS; i++) {
        r = redisCommand(rc, "SCRIPT LOAD %s", rk_lua_source(i));
        ck_assert_msg(r && r->type == REDIS_REPLY_STRING && r->len == 40,
                      "SCRIPT LOAD %s: %s", rk_lua_name(i),
                      r && r->str ? r->str : "no reply");
        memcpy(sha[i], r->str, 41);
        freeReplyObject(r);
    }
}

static void
teardown(void)
{
    if (rc)
        redisFree(rc);
    rc = NULL;
    fixture_redis_stop();
    fixture_dir_remove();
}

/* EVALSHA of script with nkeys keys, then arguments, NULL-terminated. */
static redisReply *
eval(RK_LUA_ID id, int nkeys, ...)
{
    const char *argv[64];
    char nk[16];
    const char *arg;
    int argc = 0;
    va_list ap;
    redisReply *r;

    snprintf(nk, sizeof(nk), "%d", nkeys);
    argv[argc++] = "EVALSHA";
    argv[argc++] = sha[id];
    argv[argc++] = nk;
    va_start(ap, nkeys);
    while ((arg = va_arg(ap, const char *)) != NULL && argc < 64)
        argv[argc++] = arg;
    va_end(ap);
    r = redisCommandArgv(rc, argc, argv, NULL);
    ck_assert_msg(r != NULL, "no reply");
    ck_assert_msg(r->type != REDIS_REPLY_ERROR, "%s: %s", rk_lua_name(id),
                  r->str);
    return r;
}

static long long
eval_int(RK_LUA_ID id, int nkeys, ...)
{
    const char *argv[64];
    char nk[16];
    const char *arg;
    int argc = 0;
    va_list ap;
    redisReply *r;
    long long v;

    snprintf(nk, sizeof(nk), "%d", nkeys);
    argv[argc++] = "EVALSHA";
    argv[argc++] = sha[id];
    argv[argc++] = nk;
    va_start(ap, nkeys);
    while ((arg = va_arg(ap, const char *)) != NULL && argc < 64)
        argv[argc++] = arg;
    va_end(ap);
    r = redisCommandArgv(rc, argc, argv, NULL);
    ck_assert_msg(r != NULL, "no reply");
    ck_assert_msg(r->type == REDIS_REPLY_INTEGER, "%s: type %d %s",
                  rk_lua_name(id), r->type, r->str ? r->str : "");
    v = r->integer;
    freeReplyObject(r);
    return v;
}

/* The ops script (RK_LUA_OPS) with gateway gw, incarnation inc and
 * heartbeat hb, at now, for the operations of ops: for each, its key,
 * then its arguments (the first its letter), NULL-terminated each, and
 * a NULL key after the last.  The reply, one result per operation. */
static redisReply *
ops(const char *now, const char *gw, const char *inc, const char *hb, ...)
{
    const char *keys[16], *args[64];
    char nk[16], gk[64], g[64];
    const char *argv[96];
    const char *arg;
    int nkeys = 0, nargs = 0, argc = 0, i;
    va_list ap;
    redisReply *r;

    snprintf(gk, sizeof(gk), "t:gk:%s", gw);
    snprintf(g, sizeof(g), "t:g:%s", gw);
    keys[nkeys++] = gk;
    keys[nkeys++] = g;
    va_start(ap, hb);
    while ((arg = va_arg(ap, const char *)) != NULL && nkeys < 16) {
        keys[nkeys++] = arg;
        while ((arg = va_arg(ap, const char *)) != NULL && nargs < 64)
            args[nargs++] = arg;
    }
    va_end(ap);
    snprintf(nk, sizeof(nk), "%d", nkeys);
    argv[argc++] = "EVALSHA";
    argv[argc++] = sha[RK_LUA_OPS];
    argv[argc++] = nk;
    for (i = 0; i < nkeys; i++)
        argv[argc++] = keys[i];
    argv[argc++] = now;
    argv[argc++] = "t:";
    argv[argc++] = gw;
    argv[argc++] = inc;
    argv[argc++] = hb;
    argv[argc++] = "60000";
    for (i = 0; i < nargs; i++)
        argv[argc++] = args[i];
    r = redisCommandArgv(rc, argc, argv, NULL);
    ck_assert_msg(r != NULL, "no reply");
    return r;
}

/* The integer result of a batch of one. */
static long long
ops_int1(redisReply *r)
{
    long long v;

    ck_assert_msg(r->type == REDIS_REPLY_ARRAY && r->elements == 1,
                  "ops: type %d %s", r->type, r->str ? r->str : "");
    ck_assert_msg(r->element[0]->type == REDIS_REPLY_INTEGER, "ops: %s",
                  r->element[0]->str ? r->element[0]->str : "not an integer");
    v = r->element[0]->integer;
    freeReplyObject(r);
    return v;
}

/* One add of n in window at now: the count. */
static long long
add1(const char *key, const char *now, const char *window, const char *n)
{
    return ops_int1(ops(now, "a", "i1", "60000", key, "a", window, n, NULL,
                        NULL));
}

/* The C window as the script stores it. */
static void
c_encoded(const RK_WINDOW *w, VBUF *out)
{
    int i;

    unsigned long long total = 0;

    for (i = 0; i < w->nbuckets; i++)
        total += w->buckets[i].count;
    vbuf_reset(out);
    vbuf_printf(out, "2 %lld %llu %d", w->window_ms, total, w->nbuckets);
    for (i = 0; i < w->nbuckets; i++)
        vbuf_printf(out, " %lld:%u", w->buckets[i].id, w->buckets[i].count);
}

/* One step of both: add n at now (count only when add is 0), then
 * compare everything.  what names the step in failures.  The step runs
 * in one MULTI/EXEC (nothing of ours runs in between), and ends by making
 * the key live long
 * in real time: the test's clock is its own, and a key whose window
 * ends 2 ms later on it must not vanish because 2 real ms passed. */
static void
step_both(RK_WINDOW *w, long long now, long long window, unsigned n, int add,
          const char *what)
{
    char s_now[32], s_win[32], s_n[32];
    VBUF *enc = vbuf_create(64);
    unsigned long c_count = 0;
    redisReply *tx, *r, *results;
    void *reply;
    int i, k = 0;

    snprintf(s_now, sizeof(s_now), "%lld", now);
    snprintf(s_win, sizeof(s_win), "%lld", window);
    snprintf(s_n, sizeof(s_n), "%u", n);
    /* A Redis key is gone once its window has expired (for good: a
     * clock that goes back later does not bring it back); so is the C
     * window of a table that expires in time. */
    if (w->nbuckets > 0 && rk_window_expired(w, now)) {
        rk_window_clear(w);
        freeReplyObject(redisCommand(rc, "DEL %s", KEY));
    }
    if (getenv("RK_LUA_DEBUG")) {
        VBUF *dbg = vbuf_create(64);
        redisReply *g = redisCommand(rc, "GET %s", KEY);

        c_encoded(w, dbg);
        fprintf(stderr, "%s: now %lld window %lld n %u add %d; C [%s] Lua [%s]\n",
                what, now, window, n, add, vbuf_str(dbg),
                g && g->type == REDIS_REPLY_STRING ? g->str : "nil");
        freeReplyObject(g);
        vbuf_free(dbg);
    }
    /* The add and the count, in one call of the ops script as
     * ratekeeper batches them. */
    redisAppendCommand(rc, "MULTI");
    if (add)
        redisAppendCommand(rc, "EVALSHA %s 4 t:gk:a t:g:a %s %s %s t: a i1 "
                           "60000 60000 a %s %s c", sha[RK_LUA_OPS], KEY, KEY,
                           s_now, s_win, s_n);
    else
        redisAppendCommand(rc, "EVALSHA %s 3 t:gk:a t:g:a %s %s t: a i1 "
                           "60000 60000 c", sha[RK_LUA_OPS], KEY, s_now);
    redisAppendCommand(rc, "GET %s", KEY);
    redisAppendCommand(rc, "PTTL %s", KEY);
    redisAppendCommand(rc, "PEXPIRE %s 3600000", KEY);
    redisAppendCommand(rc, "EXEC");
    for (i = 0; i < 5; i++) {
        ck_assert_int_eq(redisGetReply(rc, &reply), REDIS_OK);
        freeReplyObject(reply);
    }
    ck_assert_int_eq(redisGetReply(rc, &reply), REDIS_OK);
    tx = reply;
    ck_assert_msg(tx->type == REDIS_REPLY_ARRAY && tx->elements == 4,
                  "%s: transaction failed", what);
    for (i = 0; i < (int) tx->elements; i++)
        ck_assert_msg(tx->element[i]->type != REDIS_REPLY_ERROR, "%s: %s", what,
                      tx->element[i]->str);
    results = tx->element[k++];
    ck_assert_msg(results->type == REDIS_REPLY_ARRAY
                  && results->elements == (size_t) (add ? 2 : 1),
                  "%s: %zu results", what, results->elements);
    for (i = 0; i < (int) results->elements; i++)
        ck_assert_msg(results->element[i]->type != REDIS_REPLY_ERROR, "%s: %s",
                      what, results->element[i]->str);

    if (add) {
        c_count = rk_window_add(w, now, window, n);
        r = results->element[0];
        ck_assert_int_eq(r->type, REDIS_REPLY_INTEGER);
        ck_assert_msg(r->integer == (long long) c_count,
                      "%s: add %u at %lld in %lld: C %lu, Lua %lld", what, n,
                      now, window, c_count, r->integer);
    }
    c_count = rk_window_count(w, now);
    r = results->element[add ? 1 : 0];
    ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
    if (w->nbuckets > 0 && rk_window_clear_time(w) - now < RK_LUA_RACE_MS
        && tx->element[k]->type == REDIS_REPLY_NIL) {
        /* Expired in real time meanwhile: put back, compare no more. */
        c_encoded(w, enc);
        freeReplyObject(redisCommand(rc, "SET %s %s PX 3600000", KEY,
                                     vbuf_str(enc)));
        freeReplyObject(tx);
        vbuf_free(enc);
        return;
    }
    ck_assert_int_eq(r->elements, 3);
    ck_assert_msg(r->element[0]->integer == (long long) c_count,
                  "%s: count at %lld: C %lu, Lua %lld", what, now, c_count,
                  r->element[0]->integer);
    if (c_count > 0) {
        ck_assert_msg(r->element[1]->integer == w->window_ms,
                      "%s: window C %lld Lua %lld", what, w->window_ms,
                      r->element[1]->integer);
        ck_assert_msg(r->element[2]->integer == rk_window_clear_time(w) - now,
                      "%s: clear C %lld Lua %lld", what,
                      rk_window_clear_time(w) - now, r->element[2]->integer);
    }

    /* What is stored: the same buckets, or nothing. */
    r = tx->element[k++];
    if (w->nbuckets == 0 || rk_window_expired(w, now)) {
        ck_assert_msg(r->type == REDIS_REPLY_NIL || !add,
                      "%s: a key left for an empty window: %s", what,
                      r->type == REDIS_REPLY_STRING ? r->str : "?");
    } else {
        c_encoded(w, enc);
        ck_assert_msg(r->type == REDIS_REPLY_STRING, "%s: no key", what);
        ck_assert_msg(strcmp(r->str, vbuf_str(enc)) == 0,
                      "%s: stored \"%s\", C \"%s\"", what, r->str,
                      vbuf_str(enc));
    }
    /* Every key expires, when its window ends on the script's clock. */
    r = tx->element[k++];
    /* 0: expiring this very millisecond, when the window ends within
     * the race allowance of real time. */
    ck_assert_msg(r->integer == -2 || r->integer > 0
                  || (r->integer == 0
                      && (!add || (w->nbuckets > 0
                                   && rk_window_clear_time(w) - now
                                   < RK_LUA_RACE_MS))),
                  "%s: PTTL %lld", what, r->integer);
    if (add && w->nbuckets > 0)
        ck_assert_msg(r->integer <= rk_window_clear_time(w) - now
                      && r->integer >= rk_window_clear_time(w) - now
                      - RK_LUA_RACE_MS,
                      "%s: PTTL %lld, window ends in %lld", what, r->integer,
                      rk_window_clear_time(w) - now);
    freeReplyObject(tx);
    vbuf_free(enc);
}

/* The table --------------------------------------------------------------- */

typedef struct RK_LUA_STEP {
    long long dt;                       /* the clock moves first */
    long long window;
    unsigned n;
    int add;                            /* 0: only look */
} RK_LUA_STEP;

#define RK_LUA_MAX_STEPS 12

typedef struct RK_LUA_CASE {
    const char *name;
    long long t0;
    RK_LUA_STEP steps[RK_LUA_MAX_STEPS];
} RK_LUA_CASE;

#define W10M    600000LL
#define A(dt, w, n)     {dt, w, n, 1}
#define L(dt, w)        {dt, w, 0, 0}

static const RK_LUA_CASE rk_lua_cases[] = {
    {"one event", T0, {A(0, W10M, 1), L(1, W10M)}},
    {"same bucket", T0, {A(0, W10M, 1), A(9999, W10M, 1), A(1, W10M, 1)}},
    {"the window passes", T0, {A(0, W10M, 3), L(W10M - 1, W10M),
                               L(10000, W10M), L(1, W10M), A(0, W10M, 1)}},
    {"an event stops counting within window + width", T0 + 5000,
     {A(0, W10M, 1), L(W10M, W10M), L(4999, W10M), L(1, W10M)}},
    {"one bucket per step", T0, {A(0, 3000, 1), A(50, 3000, 1),
                                 A(50, 3000, 1), A(2900, 3000, 1),
                                 A(100, 3000, 1), L(3000, 3000)}},
    {"one ms windows", T0, {A(0, 1, 1), A(0, 1, 1), A(1, 1, 1), L(1, 1),
                            L(1, 1)}},
    {"windows of 59, 60, 61 ms", T0, {A(0, 59, 1), A(1, 60, 1), A(1, 61, 1),
                                      A(30, 59, 2), L(60, 61)}},
    {"the clock goes back", T0, {A(0, W10M, 1), A(-20000, W10M, 2),
                                 A(-3600000, W10M, 1), L(40000, W10M),
                                 A(W10M + 20000, W10M, 1)}},
    {"a longer window re-buckets", T0, {A(0, 60000, 5), A(1500, 60000, 1),
                                        A(1000, W10M, 1), L(60000, W10M)}},
    {"a shorter window re-buckets", T0, {A(0, W10M, 5), A(25000, W10M, 1),
                                         A(1000, 60000, 1), L(30000, 60000),
                                         A(0, 3000, 1), L(3000, 3000)}},
    {"a changed window with nothing to add", T0, {A(0, W10M, 2),
                                                  A(100, 1000, 0),
                                                  L(500, 1000)}},
    {"saturation at UINT_MAX", T0, {A(0, W10M, UINT_MAX - 1), A(1, W10M, 1),
                                    A(1, W10M, 1), A(10000, W10M, UINT_MAX),
                                    L(1, W10M)}},
    {"the longest window", T0, {A(0, RK_WINDOW_MAX_MS, 1),
                                A(86400000, RK_WINDOW_MAX_MS, 1),
                                L(RK_WINDOW_MAX_MS - 86400000,
                                  RK_WINDOW_MAX_MS)}},
    {"near the end of time", TIME_MAX - 700000, {A(0, W10M, 1),
                                                 A(50000, W10M, 1),
                                                 A(600000, 1000, 1),
                                                 L(1, 1000)}},
    {"negative time", -T0, {A(0, W10M, 1), A(15000, W10M, 2),
                            A(-5000, 7000, 1), L(W10M, W10M)}},
    {"before the epoch, across zero", -10000, {A(0, 60000, 1),
                                               A(9999, 60000, 1),
                                               A(1, 60000, 1),
                                               L(59999, 60000)}},
    {"large ids: 1 ms buckets at today's time", 1790000000123LL,
     {A(0, 60, 1), A(1, 60, 1), A(59, 60, 1), L(1, 60)}},
};

START_TEST(test_table)
{
    const RK_LUA_CASE *c = &rk_lua_cases[_i];
    RK_WINDOW w;
    long long now = c->t0;
    char what[128];
    int i;

    rk_window_init(&w);
    for (i = 0; i < RK_LUA_MAX_STEPS && c->steps[i].window > 0; i++) {
        now += c->steps[i].dt;
        snprintf(what, sizeof(what), "%s, step %d", c->name, i + 1);
        step_both(&w, now, c->steps[i].window, c->steps[i].n,
                  c->steps[i].add, what);
    }
    rk_window_clear(&w);
}
END_TEST

/* Pseudo-random steps, the same every run. */
static unsigned long long rk_lua_seed;

static unsigned long long
rnd(void)
{
    rk_lua_seed ^= rk_lua_seed << 13;
    rk_lua_seed ^= rk_lua_seed >> 7;
    rk_lua_seed ^= rk_lua_seed << 17;
    return rk_lua_seed;
}

START_TEST(test_random)
{
    static const long long windows[] = {
        1, 2, 59, 60, 61, 119, 999, 1000, 3000, 60000, 600000, 3600000,
        86400000, RK_WINDOW_MAX_MS
    };
    static const long long t0s[] = {
        T0, 1790000000123LL, -T0, TIME_MAX - 1000000000LL, 0
    };
    RK_WINDOW w;
    long long now, window, dt;
    unsigned n;
    char what[64];
    int i;

    rk_lua_seed = 0x9e3779b97f4a7c15ULL ^ (unsigned long long) _i;
    now = t0s[_i % 5];
    window = windows[rnd() % 14];
    rk_window_init(&w);
    freeReplyObject(redisCommand(rc, "DEL %s", KEY));
    for (i = 0; i < 400; i++) {
        switch (rnd() % 8) {
        case 0: dt = 0; break;
        case 1: dt = (long long) (rnd() % 100); break;
        case 2: dt = (long long) (rnd() % (unsigned long long) (window / 30 + 2)); break;
        case 3: dt = (long long) (rnd() % (unsigned long long) (window * 2 + 2)); break;
        case 4: dt = -(long long) (rnd() % (unsigned long long) (window + 2)); break;
        case 5: dt = window + (long long) (rnd() % 3) - 1; break;
        default: dt = (long long) (rnd() % 5000); break;
        }
        if (now + dt > TIME_MAX - 1 || now + dt < -TIME_MAX + 1)
            dt = -dt;
        now += dt;
        if (rnd() % 10 == 0)
            window = windows[rnd() % 14];
        switch (rnd() % 10) {
        case 0: n = 0; break;
        case 1: n = (unsigned) (rnd() % 1000); break;
        case 2: n = UINT_MAX - (unsigned) (rnd() % 3); break;
        default: n = 1; break;
        }
        snprintf(what, sizeof(what), "random run %d, step %d", _i, i + 1);
        step_both(&w, now, window, n, rnd() % 6 != 0, what);
    }
    rk_window_clear(&w);
}
END_TEST

/* Malformed stored windows read as empty, as rk_window_decode refuses
 * them, and are replaced by the next add. */
START_TEST(test_malformed_stored)
{
    static const char *bad[] = {
        "", "1", "1 ", "2 600000 1:1", "1 0 1:1", "1 -5 1:1", "1 600000",
        "1 600000 5:0", "1 600000 5:1 5:1", "1 600000 6:1 5:1",
        "1 600000 5:4294967296", "1 600000 5:1 ", "1 600000  5:1",
        "1 600000 5:1 x", "1 34560000001 5:1", "1 600000 99999999999999999:1",
        "1 600000 5:1.5", "1 6e5 5:1", "garbage",
        /* Format 2: what the quick paths read must hold, else all is
         * read (and refused). */
        "2 600000 1 1", "2 600000 0 0", "2 600000 1 1 170000000:1 x",
        "2 600000 4 1 170000000:5", "2 600000 4 1 170000000:0",
        "2 600000 99 62 170000000:4", "2 600000 4 1  170000000:4",
        "2 600000 4 1 170000000:4 ",
        "2 600000 3 2 170000001:1 170000000:2", "2 0 4 1 170000000:4",
    };
    char s_now[32];
    size_t i;

    snprintf(s_now, sizeof(s_now), "%lld", T0);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        freeReplyObject(redisCommand(rc, "SET %s %s", KEY, bad[i]));
        ck_assert_msg(add1(KEY, s_now, "600000", "1") == 1,
                      "\"%s\" was not refused", bad[i]);
    }
    /* A well-formed one is read. */
    freeReplyObject(redisCommand(rc, "SET %s %s", KEY,
                                 "1 600000 170000000:4"));
    ck_assert_int_eq(add1(KEY, s_now, "600000", "1"), 5);
    freeReplyObject(redisCommand(rc, "SET %s %s", KEY,
                                 "2 600000 4 1 170000000:4"));
    ck_assert_int_eq(add1(KEY, s_now, "600000", "1"), 5);
    freeReplyObject(redisCommand(rc, "SET %s %s", KEY,
                                 "2 600000 6 2 169999990:2 170000000:4"));
    ck_assert_int_eq(add1(KEY, s_now, "600000", "2"), 8);
    /* Arguments out of range are errors, not counts: in the place of
     * their operation, the others of the call done; a bad time fails
     * the whole call. */
    {
        redisReply *r = ops(s_now, "a", "i1", "60000", KEY, "a", "0", "1",
                            NULL, KEY, "a", "600000", "1", NULL,
                            KEY, "a", "600000", "-1", NULL, NULL);

        ck_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 3);
        ck_assert_int_eq(r->element[0]->type, REDIS_REPLY_ERROR);
        ck_assert_int_eq(r->element[1]->type, REDIS_REPLY_INTEGER);
        ck_assert_int_eq(r->element[1]->integer, 9);
        ck_assert_int_eq(r->element[2]->type, REDIS_REPLY_ERROR);
        freeReplyObject(r);
        r = ops("notatime", "a", "i1", "60000", KEY, "a", "1000", "1", NULL,
                NULL);
        ck_assert(r->type == REDIS_REPLY_ERROR);
        freeReplyObject(r);
        /* An operation of no known kind is our own bug: the call fails. */
        r = ops(s_now, "a", "i1", "60000", KEY, "x", NULL, NULL);
        ck_assert(r->type == REDIS_REPLY_ERROR);
        freeReplyObject(r);
    }
}
END_TEST

/* Without a time the server's clock counts, and the key expires in
 * real time. */
START_TEST(test_server_clock)
{
    ck_assert_int_eq(add1(KEY, "", "300", "2"), 2);
    ck_assert_int_eq(add1(KEY, "", "300", "1"), 3);
    ck_assert_int_gt(fixture_redis_int("PTTL " KEY), 0);
    ck_assert_int_le(fixture_redis_int("PTTL " KEY), 310);
    usleep(400000);
    ck_assert_int_eq(fixture_redis_int("EXISTS " KEY), 0);
}
END_TEST

/* Connections ----------------------------------------------------------- */

static long long
conn(const char *gw, const char *inc, const char *delta, const char *hb)
{
    return ops_int1(ops("", gw, inc, hb, "t:c:addr:192.0.2.1", "n", delta,
                        "addr:192.0.2.1", NULL, NULL));
}

START_TEST(test_connections_across_gateways)
{
    redisReply *r;

    ck_assert_int_eq(conn("a", "i1", "1", "60000"), 1);
    ck_assert_int_eq(conn("a", "i1", "1", "60000"), 2);
    ck_assert_int_eq(conn("b", "i2", "1", "60000"), 3);
    ck_assert_int_eq(conn("c", "i3", "1", "60000"), 4);
    ck_assert_int_eq(conn("a", "i1", "-1", "60000"), 3);
    ck_assert_int_eq(conn("a", "i1", "0", "60000"), 3);
    /* Every key has an expiry. */
    ck_assert_int_gt(fixture_redis_int("PTTL t:c:addr:192.0.2.1"), 0);
    ck_assert_int_gt(fixture_redis_int("PTTL t:gk:a"), 0);
    ck_assert_int_gt(fixture_redis_int("PTTL t:g:a"), 0);
    /* A gateway whose heartbeat is gone counts no more, and its entry
     * goes. */
    ck_assert_int_eq(fixture_redis_int("DEL t:g:c"), 1);
    ck_assert_int_eq(conn("b", "i2", "0", "60000"), 2);
    ck_assert_int_eq(fixture_redis_int("HEXISTS t:c:addr:192.0.2.1 c"), 0);
    /* Releasing more than registered does not go below 0. */
    ck_assert_int_eq(conn("b", "i2", "-1", "60000"), 1);
    ck_assert_int_eq(conn("b", "i2", "-1", "60000"), 1);
    ck_assert_int_eq(conn("a", "i1", "-1", "60000"), 0);
    ck_assert_int_eq(fixture_redis_int("EXISTS t:c:addr:192.0.2.1"), 0);
    ck_assert_int_eq(fixture_redis_int("SCARD t:gk:a"), 0);

    /* A heartbeat that expires by itself. */
    ck_assert_int_eq(conn("d", "i4", "1", "200"), 1);
    ck_assert_int_eq(conn("a", "i1", "1", "60000"), 2);
    usleep(300000);
    ck_assert_int_eq(conn("a", "i1", "0", "60000"), 1);

    /* The sync replaces a gateway's registrations. */
    r = eval(RK_LUA_SYNC, 2, "t:gk:a", "t:g:a", "", "t:", "a", "i1", "60000",
             "60000", "addr:192.0.2.1", "5", "addr:192.0.2.2", "2", NULL);
    ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
    ck_assert_int_eq(r->element[0]->integer, 2);
    ck_assert_int_eq(r->element[1]->integer, 0);
    freeReplyObject(r);
    ck_assert_int_eq(conn("a", "i1", "0", "60000"), 5);
    ck_assert_int_eq(fixture_redis_int("HGET t:c:addr:192.0.2.2 a"), -1);
    ck_assert_int_eq(fixture_redis_int("SCARD t:gk:a"), 2);
    /* A new incarnation (a restart) says so, and an empty sync leaves
     * nothing of the gateway. */
    r = eval(RK_LUA_SYNC, 2, "t:gk:a", "t:g:a", "", "t:", "a", "i9", "60000",
             "60000", NULL);
    ck_assert_int_eq(r->element[0]->integer, 0);
    ck_assert_int_eq(r->element[1]->integer, 1);
    freeReplyObject(r);
    ck_assert_int_eq(fixture_redis_int("EXISTS t:c:addr:192.0.2.1"), 0);
    ck_assert_int_eq(fixture_redis_int("EXISTS t:c:addr:192.0.2.2"), 0);
    ck_assert_int_eq(fixture_redis_int("EXISTS t:gk:a"), 0);
}
END_TEST

/* One call with operations of every kind and several keys, as a batch
 * of many requests: each result in its place, each key with its
 * expiry, the heartbeat once. */
START_TEST(test_ops_batch)
{
    char s_now[32];
    redisReply *r;

    snprintf(s_now, sizeof(s_now), "%lld", T0);
    r = ops(s_now, "a", "i1", "60000",
            "t:c:addr:192.0.2.1", "n", "1", "addr:192.0.2.1", NULL,
            "t:w:mail:addr:192.0.2.1", "a", "600000", "1", NULL,
            "t:c:addr:192.0.2.2", "n", "1", "addr:192.0.2.2", NULL,
            "t:w:mail:addr:192.0.2.1", "a", "600000", "1", NULL,
            "t:c:addr:192.0.2.1", "n", "1", "addr:192.0.2.1", NULL,
            "t:w:mail:addr:192.0.2.1", "c", NULL,
            "t:w:mail:addr:192.0.2.9", "c", NULL,
            "t:c:addr:192.0.2.2", "n", "-1", "addr:192.0.2.2", NULL, NULL);
    ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
    ck_assert_int_eq(r->elements, 8);
    ck_assert_int_eq(r->element[0]->integer, 1);
    ck_assert_int_eq(r->element[1]->integer, 1);
    ck_assert_int_eq(r->element[2]->integer, 1);
    ck_assert_int_eq(r->element[3]->integer, 2);
    ck_assert_int_eq(r->element[4]->integer, 2);
    ck_assert_int_eq(r->element[5]->type, REDIS_REPLY_ARRAY);
    ck_assert_int_eq(r->element[5]->element[0]->integer, 2);
    ck_assert_int_eq(r->element[5]->element[1]->integer, 600000);
    ck_assert_int_eq(r->element[6]->type, REDIS_REPLY_ARRAY);
    ck_assert_int_eq(r->element[6]->element[0]->integer, 0);
    ck_assert_int_eq(r->element[7]->integer, 0);
    freeReplyObject(r);
    ck_assert_int_gt(fixture_redis_int("PTTL t:c:addr:192.0.2.1"), 0);
    ck_assert_int_gt(fixture_redis_int("PTTL t:w:mail:addr:192.0.2.1"), 0);
    ck_assert_int_gt(fixture_redis_int("PTTL t:gk:a"), 0);
    ck_assert_int_gt(fixture_redis_int("PTTL t:g:a"), 0);
    ck_assert_int_eq(fixture_redis_int("EXISTS t:c:addr:192.0.2.2"), 0);
    ck_assert_int_eq(fixture_redis_int("SCARD t:gk:a"), 1);
    ck_assert_int_eq(fixture_redis_int("EXISTS t:w:mail:addr:192.0.2.9"), 0);
    /* No operation at all: no result, nothing written. */
    r = ops(s_now, "z", "i1", "60000", NULL);
    ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
    ck_assert_int_eq(r->elements, 0);
    freeReplyObject(r);
    ck_assert_int_eq(fixture_redis_int("EXISTS t:g:z"), 0);
}
END_TEST

START_TEST(test_show_reset_counts)
{
    char s_now[32], s_later[32];
    redisReply *r;

    snprintf(s_now, sizeof(s_now), "%lld", T0);
    snprintf(s_later, sizeof(s_later), "%lld", T0 + 1000);
    add1("t:w:mail:addr:1.2.3.4", s_now, "600000", "3");
    add1("t:w:auth_failure:addr:1.2.3.4", s_now, "60000", "2");
    ck_assert_int_eq(conn("a", "i1", "1", "60000"), 1);
    r = eval(RK_LUA_SHOW, 5, "t:w:mail:addr:1.2.3.4",
             "t:w:overlimit:addr:1.2.3.4", "t:w:tarpit_disconnect:addr:1.2.3.4",
             "t:w:auth_failure:addr:1.2.3.4", "t:c:addr:192.0.2.1", s_later,
             "t:", NULL);
    ck_assert_int_eq(r->elements, 13);
    ck_assert_int_eq(r->element[0]->integer, 1);
    ck_assert_int_eq(r->element[1]->integer, 3);
    ck_assert_int_eq(r->element[2]->integer, 600000);
    ck_assert_int_eq(r->element[3]->integer, 10000 + 600000 - 1000);
    ck_assert_int_eq(r->element[4]->integer, 0);
    ck_assert_int_eq(r->element[10]->integer, 2);
    ck_assert_int_eq(r->element[11]->integer, 60000);
    ck_assert_int_eq(r->element[12]->integer, 1000 + 60000 - 1000);
    freeReplyObject(r);

    r = eval(RK_LUA_COUNTS, 0, s_later, "t:", "t:w:mail:addr:1.2.3.4",
             "t:c:addr:192.0.2.1", "t:g:a", "t:w:overlimit:none", NULL);
    ck_assert_int_eq(r->elements, 12);
    ck_assert_int_eq(r->element[0]->integer, 3);
    ck_assert_int_eq(r->element[3]->integer, 1);
    ck_assert_int_eq(r->element[4]->integer, 0);
    ck_assert_int_eq(r->element[6]->integer, 0);
    ck_assert_int_eq(r->element[9]->integer, 0);
    freeReplyObject(r);

    ck_assert_int_eq(eval_int(RK_LUA_RESET, 4, "t:w:mail:addr:1.2.3.4",
                              "t:w:overlimit:addr:1.2.3.4",
                              "t:w:tarpit_disconnect:addr:1.2.3.4",
                              "t:w:auth_failure:addr:1.2.3.4", NULL), 2);
    ck_assert_int_eq(fixture_redis_int("EXISTS t:w:mail:addr:1.2.3.4"), 0);
}
END_TEST

static Suite *
rk_lua_suite(void)
{
    Suite *s = suite_create("rk_lua");
    TCase *tc = tcase_create("lua");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_table, 0,
                        sizeof(rk_lua_cases) / sizeof(rk_lua_cases[0]));
    tcase_add_loop_test(tc, test_random, 0, 10);
    tcase_add_test(tc, test_malformed_stored);
    tcase_add_test(tc, test_server_clock);
    tcase_add_test(tc, test_connections_across_gateways);
    tcase_add_test(tc, test_ops_batch);
    tcase_add_test(tc, test_show_reset_counts);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(rk_lua_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
