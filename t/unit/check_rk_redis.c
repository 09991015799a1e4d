/* Unit tests for ratekeeper's Redis client (ratekeeper/rk_redis.c) on the
 * event loop, against a real redis-server started by the test: plans
 * answered in order from many at once (one pipeline), the deadline of a
 * Redis that stops answering (SIGSTOP) and the way back, the script cache
 * emptied under it (NOSCRIPT), Redis restarted empty (the registrations
 * synced again), top over a scan of the keys, and a password. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events.h"
#include "fixture.h"
#include "fixture_redis.h"
#include "monotime.h"
#include "msg.h"
#include "ratekeeper/rk_redis.h"
#include "ratekeeper/rk_state.h"

static RK_REDIS *r;
static int port;
static char server[64];
static char *servers[2] = {server, NULL};
static char *no_sentinels[1] = {NULL};
static int done_count;

static void
regs(RK_REDIS_WALK_FN fn, void *fn_context, void *context)
{
    (void) context;
    fn("addr:192.0.2.7", 2, fn_context);
}

static int database;

static RK_REDIS *
make(int timeout_ms, const char *password)
{
    RK_REDIS_CONF conf;

    memset(&conf, 0, sizeof(conf));
    conf.database = database;
    conf.servers = servers;
    conf.sentinels = no_sentinels;
    conf.sentinel_master = "mymaster";
    conf.password = password;
    conf.prefix = "t:";
    conf.timeout_ms = timeout_ms;
    conf.heartbeat_ms = 3000;
    conf.gateway = "gw1";
    return rk_redis_create(&conf, regs, NULL);
}

static void
setup(void)
{
    msg_open("/dev/null");
    port = fixture_redis_start();
    snprintf(server, sizeof(server), "127.0.0.1:%d", port);
    done_count = 0;
}

static void
teardown(void)
{
    r = rk_redis_free(r);
    fixture_redis_stop();
    fixture_dir_remove();
}

/* Runs the loop until cond() or timeout_ms; returns cond(). */
static int
loop_until(int (*cond)(void), int timeout_ms)
{
    long long end = monotime_ms() + timeout_ms;

    while (!cond() && monotime_ms() < end)
        event_loop(20);
    return cond();
}

static int
ready(void)
{
    return rk_redis_ready(r);
}

static int
not_connected(void)
{
    return !rk_redis_connected(r);
}

static void
done(RK_PLAN *plan, void *context)
{
    long *count = context;

    done_count++;
    *count = plan->ops[0].answered ? (long) plan->ops[0].count : -1;
    rk_plan_free(plan);
}

/* The results of the add, lookup and connection plan of
 * test_deadlines_each. */
static int last_plan_ok;

static void
done_plan(RK_PLAN *plan, void *context)
{
    (void) context;
    done_count++;
    last_plan_ok = plan->nops == 3 && plan->ops[0].answered
        && plan->ops[0].count == 2 && plan->ops[1].answered
        && plan->ops[1].count == 1 && plan->ops[2].answered
        && plan->ops[2].count == 1;
    rk_plan_free(plan);
}

static RK_PLAN *
mail_plan(const char *key)
{
    RK_PLAN *plan = rk_plan_create();

    rk_plan_note(plan, RK_PLAN_ADD, "mail", key)->window_ms = 60000;
    return plan;
}

static int target;
static int top_n = -1;
static RK_STATE_ENTRY top_entries[8];

static void
top_done(RK_PLAN *plan, void *context)
{
    (void) context;
    done_count++;
    top_n = plan->ops[0].answered ? plan->ops[0].nentries : -1;
    if (top_n > 0)
        memcpy(top_entries, plan->ops[0].entries,
               (size_t) (top_n < 8 ? top_n : 8) * sizeof(*top_entries));
    rk_plan_free(plan);
}

static int
all_done(void)
{
    return done_count >= target;
}

START_TEST(test_many_plans_in_order)
{
    static long counts[300];
    int i;

    r = make(500, NULL);
    ck_assert(loop_until(ready, 5000));
    /* All submitted before the loop runs: one pipeline. */
    for (i = 0; i < 300; i++)
        rk_redis_submit(r, mail_plan("sender:many@x.test"), done, &counts[i]);
    ck_assert_int_eq(done_count, 0);
    target = 300;
    ck_assert(loop_until(all_done, 5000));
    for (i = 0; i < 300; i++)
        ck_assert_int_eq(counts[i], i + 1);
    ck_assert_int_gt(fixture_redis_int("PTTL t:w:mail:sender:many@x.test"), 0);
    /* The registrations were synced at the connection. */
    ck_assert_int_eq(fixture_redis_int("HINCRBY t:c:addr:192.0.2.7 gw1 0"), 2);
    ck_assert_int_gt(fixture_redis_int("PTTL t:g:gw1"), 0);
}
END_TEST

START_TEST(test_deadline_then_back)
{
    long count = 0;
    long long t0;

    r = make(100, NULL);
    ck_assert(loop_until(ready, 5000));
    fixture_redis_pause(1);
    t0 = monotime_ms();
    rk_redis_submit(r, mail_plan("sender:slow@x.test"), done, &count);
    target = 1;
    ck_assert(loop_until(all_done, 3000));
    /* On time, without a result. */
    ck_assert_int_eq(count, -1);
    ck_assert_int_ge(monotime_ms() - t0, 95);
    ck_assert_int_lt(monotime_ms() - t0, 400);
    ck_assert(!rk_redis_ready(r));
    fixture_redis_pause(0);
    ck_assert(loop_until(ready, 6000));
    done_count = 0;
    rk_redis_submit(r, mail_plan("sender:slow@x.test"), done, &count);
    ck_assert(loop_until(all_done, 3000));
    /* The late one was counted by Redis too, when it woke up. */
    ck_assert_int_eq(count, 2);
}
END_TEST

/* Requests that came at different times each get their own deadline
 * (one timer serves them all, the oldest first); one that needs
 * Redis for nothing but an add, a lookup and a connection in one plan
 * gets all three results from one batch. */
static long long done_at[3];

static void
done_timed(RK_PLAN *plan, void *context)
{
    long *count = context;

    done_at[done_count] = monotime_ms();
    done(plan, count);
}

static int
first_done(void)
{
    return done_count >= 1;
}

START_TEST(test_deadlines_each)
{
    static long counts[3];
    long long t0, t1;
    RK_PLAN *plan;

    r = make(150, NULL);
    ck_assert(loop_until(ready, 5000));
    fixture_redis_pause(1);
    t0 = monotime_ms();
    rk_redis_submit(r, mail_plan("sender:a@x.test"), done_timed, &counts[0]);
    while (monotime_ms() - t0 < 80)
        event_loop(10);
    t1 = monotime_ms();
    rk_redis_submit(r, mail_plan("sender:b@x.test"), done_timed, &counts[1]);
    ck_assert(loop_until(first_done, 3000));
    ck_assert_int_eq(done_count, 1);
    ck_assert_int_ge(done_at[0] - t0, 145);
    target = 2;
    ck_assert(loop_until(all_done, 3000));
    ck_assert_int_ge(done_at[1] - t1, 145);
    ck_assert_int_lt(done_at[1] - t1, 450);
    ck_assert_int_eq(counts[0], -1);
    ck_assert_int_eq(counts[1], -1);
    fixture_redis_pause(0);
    ck_assert(loop_until(ready, 6000));

    /* Answered in time: an add, a lookup, a connection, one call. */
    done_count = 0;
    plan = mail_plan("sender:a@x.test");
    rk_plan_note(plan, RK_PLAN_LOOKUP, "mail", "sender:b@x.test");
    rk_plan_note(plan, RK_PLAN_CONN, NULL, "addr:192.0.2.8")->delta = 1;
    rk_redis_submit(r, plan, done_plan, NULL);
    target = 1;
    ck_assert(loop_until(all_done, 3000));
    ck_assert(last_plan_ok);
}
END_TEST

START_TEST(test_script_cache_flushed)
{
    long count = 0;

    r = make(500, NULL);
    ck_assert(loop_until(ready, 5000));
    ck_assert_int_eq(fixture_redis_int("SCRIPT FLUSH") , -1);
    rk_redis_submit(r, mail_plan("sender:flush@x.test"), done, &count);
    target = 1;
    ck_assert(loop_until(all_done, 3000));
    ck_assert_int_eq(count, 1);
}
END_TEST

START_TEST(test_restarted_empty)
{
    long count = 0;

    r = make(500, NULL);
    ck_assert(loop_until(ready, 5000));
    fixture_redis_stop();
    ck_assert(loop_until(not_connected, 3000));
    fixture_redis_restart();
    ck_assert(loop_until(ready, 5000));
    ck_assert_int_eq(fixture_redis_int("HINCRBY t:c:addr:192.0.2.7 gw1 0"), 2);
    rk_redis_submit(r, mail_plan("sender:again@x.test"), done, &count);
    target = 1;
    ck_assert(loop_until(all_done, 3000));
    ck_assert_int_eq(count, 1);
}
END_TEST

START_TEST(test_top)
{
    static long counts[64];
    char key[64];
    RK_PLAN *plan;
    RK_PLAN_OP *op;
    int i, j, n = 0;

    r = make(500, NULL);
    ck_assert(loop_until(ready, 5000));
    /* Sender i has sent i messages. */
    for (i = 1; i <= 10; i++) {
        snprintf(key, sizeof(key), "sender:s%02d@x.test", i);
        for (j = 0; j < i; j++)
            rk_redis_submit(r, mail_plan(key), done, &counts[n++ % 64]);
    }
    target = n;
    ck_assert(loop_until(all_done, 5000));
    plan = rk_plan_create();
    op = rk_plan_note(plan, RK_PLAN_TOP, NULL, NULL);
    op->limit = 3;
    done_count = 0;
    target = 1;
    rk_redis_submit(r, plan, top_done, NULL);
    ck_assert(loop_until(all_done, 5000));
    ck_assert_int_eq(top_n, 3);
    ck_assert_str_eq(top_entries[0].key, "sender:s10@x.test");
    ck_assert_uint_eq(top_entries[0].count, 10);
    ck_assert_str_eq(top_entries[0].counter, "mail");
    ck_assert_int_eq(top_entries[0].window_ms, 60000);
    ck_assert_uint_eq(top_entries[1].count, 9);
    ck_assert_uint_eq(top_entries[2].count, 8);
}
END_TEST

START_TEST(test_password)
{
    long count = 0;

    ck_assert_int_eq(fixture_redis_int("CONFIG SET requirepass s3cret-pw"), -1);
    /* A wrong one: never ready. */
    r = make(500, "wrong");
    ck_assert(!loop_until(ready, 1500));
    r = rk_redis_free(r);
    r = make(500, "s3cret-pw");
    ck_assert(loop_until(ready, 5000));
    rk_redis_submit(r, mail_plan("sender:auth@x.test"), done, &count);
    target = 1;
    ck_assert(loop_until(all_done, 3000));
    ck_assert_int_eq(count, 1);
}
END_TEST

/* redis_database: everything goes to that database (SELECT). */
START_TEST(test_database)
{
    long count = 0;

    database = 3;
    r = make(500, NULL);
    ck_assert(loop_until(ready, 5000));
    rk_redis_submit(r, mail_plan("sender:db@x.test"), done, &count);
    target = 1;
    ck_assert(loop_until(all_done, 3000));
    ck_assert_int_eq(count, 1);
    /* Nothing in database 0, where fixture_redis_int looks. */
    ck_assert_int_eq(fixture_redis_int("DBSIZE"), 0);
}
END_TEST

static Suite *
rk_redis_suite(void)
{
    Suite *s = suite_create("rk_redis");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_many_plans_in_order);
    tcase_add_test(tc, test_deadline_then_back);
    tcase_add_test(tc, test_deadlines_each);
    tcase_add_test(tc, test_script_cache_flushed);
    tcase_add_test(tc, test_restarted_empty);
    tcase_add_test(tc, test_top);
    tcase_add_test(tc, test_password);
    tcase_add_test(tc, test_database);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(rk_redis_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
