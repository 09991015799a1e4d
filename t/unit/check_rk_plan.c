/* Unit tests for the two runs of a request's handler with the Redis
 * backend (ratekeeper/rk_plan.c, and the plan in rk_state.c), without
 * Redis: gathering notes every verb's operations and changes nothing;
 * answering changes the local state as without a plan and takes the
 * results from the plan where it has them, from memory where it has
 * not; an operation not in the plan is answered from memory. */
#include <check.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "fixture.h"
#include "msg.h"
#include "ratekeeper/rk_request.h"
#include "ratekeeper/rk_store.h"

#define T0      1700000000000LL

static RK_STATE *state;
static ATTR *in, *out;

static void
setup(void)
{
    msg_open("/dev/null");
    state = rk_state_create(NULL);
    in = attr_create();
    out = attr_create();
}

static void
teardown(void)
{
    rk_state_free(state);
    attr_free(in);
    attr_free(out);
}

static void
request(const char *first, ...)
{
    const char *name = first, *value;
    va_list ap;

    attr_reset(in);
    va_start(ap, first);
    while (name) {
        value = va_arg(ap, const char *);
        attr_set(in, name, value);
        name = va_arg(ap, const char *);
    }
    va_end(ap);
}

/* The gathering run: its plan. */
static RK_PLAN *
gather(unsigned long client)
{
    RK_PLAN *plan = rk_plan_create();

    state->plan = plan;
    attr_reset(out);
    rk_request_handle(state, in, out, client, T0);
    state->plan = NULL;
    return plan;
}

/* The answering run. */
static void
answer(RK_PLAN *plan, unsigned long client)
{
    rk_plan_answer(plan);
    state->plan = plan;
    attr_reset(out);
    rk_request_handle(state, in, out, client, T0);
    state->plan = NULL;
}

static long
got(const char *name)
{
    long v = -12345;

    ck_assert_msg(attr_get_long(out, name, &v) == 0, "no %s", name);
    return v;
}

START_TEST(test_mail_gathers_then_answers_from_the_plan)
{
    RK_PLAN *plan;

    request("request", "mail", "key", "sender:a@b.test", "window", "60000", NULL);
    plan = gather(1);
    ck_assert_int_eq(plan->nops, 1);
    ck_assert_int_eq(plan->ops[0].kind, RK_PLAN_ADD);
    ck_assert_str_eq(plan->ops[0].counter, "mail");
    ck_assert_str_eq(plan->ops[0].key, "sender:a@b.test");
    ck_assert_int_eq(plan->ops[0].window_ms, 60000);
    /* Nothing counted yet. */
    ck_assert_uint_eq(rk_window_table_size(state->windows), 0);
    /* The cluster says 7. */
    plan->ops[0].count = 7;
    plan->ops[0].answered = 1;
    answer(plan, 1);
    ck_assert_int_eq(got("status"), 0);
    ck_assert_int_eq(got("count"), 7);
    ck_assert_int_eq(plan->mismatches, 0);
    rk_plan_free(plan);
    /* Counted here too, once. */
    ck_assert_uint_eq(rk_state_lookup(state, "mail", "sender:a@b.test", T0), 1);

    /* No result (Redis late): the local count. */
    plan = gather(1);
    answer(plan, 1);
    ck_assert_int_eq(got("count"), 2);
    rk_plan_free(plan);
}
END_TEST

START_TEST(test_connections)
{
    RK_PLAN *plan;

    request("request", "connect", "key", "addr:192.0.2.1", NULL);
    plan = gather(5);
    /* The registration, then the counts smtpd's tarpit decision reads
     * (overlimit, tarpit_disconnect), from the cluster like the rest. */
    ck_assert_int_eq(plan->nops, 3);
    ck_assert_int_eq(plan->ops[0].kind, RK_PLAN_CONN);
    ck_assert_int_eq(plan->ops[1].kind, RK_PLAN_LOOKUP);
    ck_assert_int_eq(plan->ops[2].kind, RK_PLAN_LOOKUP);
    ck_assert_int_eq(plan->ops[0].delta, 1);
    ck_assert(!rk_conn_holds(state->conns, 5));
    plan->ops[0].count = 3;
    plan->ops[0].answered = 1;
    answer(plan, 5);
    ck_assert_int_eq(got("count"), 3);
    ck_assert(rk_conn_holds(state->conns, 5));
    rk_plan_free(plan);

    /* A disconnect of what the socket holds releases one; of what it
     * does not, nothing (delta 0), and says so with status 1. */
    request("request", "disconnect", "key", "addr:192.0.2.1", NULL);
    plan = gather(6);
    ck_assert_int_eq(plan->ops[0].delta, 0);
    answer(plan, 6);
    ck_assert_int_eq(got("status"), 1);
    rk_plan_free(plan);
    plan = gather(5);
    ck_assert_int_eq(plan->ops[0].delta, -1);
    plan->ops[0].count = 2;
    plan->ops[0].answered = 1;
    answer(plan, 5);
    ck_assert_int_eq(got("status"), 0);
    ck_assert_int_eq(got("count"), 2);
    ck_assert(!rk_conn_holds(state->conns, 5));
    rk_plan_free(plan);

    /* A socket that goes: what it held, as one release each key. */
    request("request", "connect", "key", "addr:192.0.2.1", NULL);
    rk_request_handle(state, in, out, 7, T0);
    rk_request_handle(state, in, out, 7, T0);
    request("request", "connect", "key", "addr:192.0.2.2", NULL);
    rk_request_handle(state, in, out, 7, T0);
    plan = rk_plan_create();
    state->plan = plan;
    rk_request_client_gone(state, 7);
    state->plan = NULL;
    ck_assert_int_eq(plan->nops, 2);
    ck_assert_int_eq(plan->ops[0].delta + plan->ops[1].delta, -3);
    ck_assert(rk_conn_holds(state->conns, 7));
    rk_request_client_gone(state, 7);
    ck_assert(!rk_conn_holds(state->conns, 7));
    rk_plan_free(plan);
}
END_TEST

/* smtpd decides at connect whether to tarpit a client or refuse it
 * (tarpit_disconnect_limit) from connect's overlimit and
 * tarpit_disconnect: with Redis they are the cluster's counts, so that a
 * runaway counted by other gateways is refused here; the local ones only
 * when Redis gave none. */
START_TEST(test_connect_takes_the_tarpit_counts_from_the_cluster)
{
    RK_PLAN *plan;
    int i;

    request("request", "connect", "key", "192.0.2.7", NULL);
    plan = gather(5);
    ck_assert_int_eq(plan->nops, 3);
    ck_assert_str_eq(plan->ops[1].counter, "overlimit");
    ck_assert_str_eq(plan->ops[2].counter, "tarpit_disconnect");
    for (i = 0; i < 3; i++)
        ck_assert_str_eq(plan->ops[i].key, "addr:192.0.2.7");
    /* This gateway has seen nothing of the address; the cluster has. */
    plan->ops[0].count = 1;
    plan->ops[1].count = 1;
    plan->ops[2].count = 2;
    for (i = 0; i < 3; i++)
        plan->ops[i].answered = 1;
    answer(plan, 5);
    ck_assert_int_eq(got("status"), 0);
    ck_assert_int_eq(got("count"), 1);
    ck_assert_int_eq(got("overlimit"), 1);
    ck_assert_int_eq(got("tarpit_disconnect"), 2);
    ck_assert_int_eq(plan->mismatches, 0);
    rk_plan_free(plan);
    ck_assert_uint_eq(rk_state_lookup(state, "tarpit_disconnect",
                                      "addr:192.0.2.7", T0), 0);

    /* Redis late: what this gateway counted itself. */
    ck_assert_uint_eq(rk_state_add(state, "tarpit_disconnect",
                                   "addr:192.0.2.7", 600000, T0), 1);
    plan = gather(5);
    answer(plan, 5);
    ck_assert_int_eq(got("count"), 2);
    ck_assert_int_eq(got("overlimit"), 0);
    ck_assert_int_eq(got("tarpit_disconnect"), 1);
    rk_plan_free(plan);
}
END_TEST

START_TEST(test_show_top_reset_status)
{
    RK_STATE_ENTRY *e = malloc(2 * sizeof(*e));
    RK_PLAN *plan;

    request("request", "show", "key", "192.0.2.1", NULL);
    plan = gather(1);
    ck_assert_int_eq(plan->ops[0].kind, RK_PLAN_SHOW);
    ck_assert_str_eq(plan->ops[0].key, "addr:192.0.2.1");
    memset(e, 0, 2 * sizeof(*e));
    strcpy(e[0].counter, "connections");
    strcpy(e[0].key, "addr:192.0.2.1");
    e[0].count = 4;
    strcpy(e[1].counter, "mail");
    strcpy(e[1].key, "addr:192.0.2.1");
    e[1].count = 9;
    e[1].window_ms = 60000;
    e[1].clear_ms = 1000;
    rk_plan_set_entries(&plan->ops[0], e, 2);
    answer(plan, 1);
    ck_assert_int_eq(got("counters"), 2);
    ck_assert_int_eq(got("count_0"), 4);
    ck_assert_int_eq(got("count_1"), 9);
    ck_assert_int_eq(got("window_1"), 60000);
    rk_plan_free(plan);

    request("request", "top", "limit", "5", NULL);
    plan = gather(1);
    ck_assert_int_eq(plan->ops[0].kind, RK_PLAN_TOP);
    ck_assert_int_eq(plan->ops[0].limit, 5);
    answer(plan, 1);
    ck_assert_int_eq(got("entries"), 0);
    rk_plan_free(plan);

    request("request", "reset", "key", "192.0.2.1", NULL);
    plan = gather(1);
    ck_assert_int_eq(plan->ops[0].kind, RK_PLAN_RESET);
    plan->ops[0].count = 2;
    plan->ops[0].answered = 1;
    answer(plan, 1);
    ck_assert_int_eq(got("removed"), 2);
    rk_plan_free(plan);

    /* status and errors need nothing from the cluster. */
    request("request", "status", NULL);
    plan = gather(1);
    ck_assert_int_eq(plan->nops, 0);
    ck_assert_str_eq(attr_get(out, "backend"), "bdb");
    rk_plan_free(plan);
    request("request", "mail", "key", "addr:192.0.2.1", NULL);
    plan = gather(1);
    ck_assert_int_eq(plan->nops, 0);
    ck_assert_int_eq(got("status"), -1);
    rk_plan_free(plan);
}
END_TEST

START_TEST(test_an_operation_not_in_the_plan_is_answered_locally)
{
    RK_PLAN *plan;

    request("request", "mail", "key", "sender:a@b.test", "window", "60000", NULL);
    plan = gather(1);
    plan->ops[0].count = 50;
    plan->ops[0].answered = 1;
    /* The handler asks for something else the second time. */
    request("request", "mail", "key", "sender:c@d.test", "window", "60000", NULL);
    answer(plan, 1);
    ck_assert_int_eq(got("count"), 1);
    ck_assert_int_eq(plan->mismatches, 1);
    rk_plan_free(plan);
}
END_TEST

/* The keys the store holds now, with the count of one of them. */
static long
stored(const char *dir, const char *name, unsigned long *count)
{
    RK_STORE *store;
    RK_WINDOW_TABLE *table = rk_window_table_create();
    RK_WINDOW *w;
    VBUF *why = vbuf_create(64);
    long n, dropped;

    store = rk_store_open(dir, why);
    ck_assert_msg(store != NULL, "%s", vbuf_str(why));
    n = rk_store_load(store, table, T0, &dropped, why);
    ck_assert_msg(n >= 0, "%s", vbuf_str(why));
    w = rk_window_table_find(table, name);
    *count = w ? rk_window_count(w, T0) : 0;
    ck_assert_int_eq(rk_store_close(store, why), 0);
    rk_window_table_free(table);
    vbuf_free(why);
    return n;
}

/* What Redis counted goes to memory, not to the disk; the first add
 * Redis does not answer writes the key's whole window. */
START_TEST(test_the_store_keeps_what_redis_did_not_count)
{
    const char *dir = fixture_dir_create("rk_plan");
    VBUF *why = vbuf_create(64);
    RK_STORE *store;
    RK_PLAN *plan;
    unsigned long count;

    rk_state_free(state);
    store = rk_store_open(dir, why);
    ck_assert_msg(store != NULL, "%s", vbuf_str(why));
    state = rk_state_create(store);
    request("request", "mail", "key", "sender:a@b.test", "window", "60000", NULL);
    plan = gather(1);
    plan->ops[0].count = 9;
    plan->ops[0].answered = 1;
    answer(plan, 1);
    ck_assert_int_eq(got("count"), 9);
    rk_plan_free(plan);
    state = rk_state_free(state);
    ck_assert_int_eq(stored(dir, "mail sender:a@b.test", &count), 0);

    store = rk_store_open(dir, why);
    state = rk_state_create(store);
    plan = gather(1);
    plan->ops[0].count = 10;
    plan->ops[0].answered = 1;
    answer(plan, 1);
    rk_plan_free(plan);
    plan = gather(1);
    answer(plan, 1);                    /* Redis late */
    ck_assert_int_eq(got("count"), 2);
    rk_plan_free(plan);
    state = rk_state_free(state);
    ck_assert_int_eq(stored(dir, "mail sender:a@b.test", &count), 1);
    ck_assert_uint_eq(count, 2);
    vbuf_free(why);
    fixture_dir_remove();
}
END_TEST

static Suite *
rk_plan_suite(void)
{
    Suite *s = suite_create("rk_plan");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_mail_gathers_then_answers_from_the_plan);
    tcase_add_test(tc, test_connections);
    tcase_add_test(tc, test_connect_takes_the_tarpit_counts_from_the_cluster);
    tcase_add_test(tc, test_show_top_reset_status);
    tcase_add_test(tc, test_an_operation_not_in_the_plan_is_answered_locally);
    tcase_add_test(tc, test_the_store_keeps_what_redis_did_not_count);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(rk_plan_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
