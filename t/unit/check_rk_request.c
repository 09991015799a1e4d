/* Unit tests for ratekeeper's request dispatch and state
 * (ratekeeper/rk_request.c, rk_state.c), without a socket and with a fake
 * clock: every verb, the connection registrations of several clients,
 * show, top, reset, the bad requests, and the write-through to a store. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attr.h"
#include "fixture.h"
#include "msg.h"
#include "ratekeeper/rk_request.h"

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
    fixture_dir_remove();
}

/* Sends name, value, ... NULL as client at now; returns status. */
static long
call(unsigned long client, long long now, ...)
{
    const char *name, *value;
    va_list ap;
    long status;

    attr_reset(in);
    attr_reset(out);
    va_start(ap, now);
    while ((name = va_arg(ap, const char *)) != NULL) {
        value = va_arg(ap, const char *);
        ck_assert_int_eq(attr_set(in, name, value), 0);
    }
    va_end(ap);
    rk_request_handle(state, in, out, client, now);
    ck_assert_int_eq(attr_get_long(out, "status", &status), 0);
    return status;
}

static long
got(const char *name)
{
    long v = -12345;

    ck_assert_msg(attr_get_long(out, name, &v) == 0, "no %s", name);
    return v;
}

static const char *
reason(void)
{
    const char *r = attr_get(out, "reason");

    return r ? r : "";
}

START_TEST(test_mail_window)
{
    int i;

    for (i = 1; i <= 3; i++) {
        ck_assert_int_eq(call(1, T0 + i, "request", "mail", "key",
                              "sender:Bob@Example.com", "window", "3000",
                              NULL), 0);
        ck_assert_int_eq(got("count"), i);
    }
    /* The same sender, however it is spelled. */
    ck_assert_int_eq(call(2, T0 + 10, "request", "mail", "key",
                          "sender:bob@EXAMPLE.com", "window", "3000", NULL), 0);
    ck_assert_int_eq(got("count"), 4);
    /* Another key is unaffected. */
    ck_assert_int_eq(call(2, T0 + 10, "request", "mail", "key",
                          "sender:alice@example.com", "window", "3000", NULL), 0);
    ck_assert_int_eq(got("count"), 1);
    /* lookup counts nothing. */
    ck_assert_int_eq(call(0, T0 + 20, "request", "lookup", "counter", "mail",
                          "key", "bob@example.com", NULL), 0);
    ck_assert_int_eq(got("count"), 4);
    /* After the window (and a bucket): back to one. */
    ck_assert_int_eq(call(1, T0 + 10 + 3050, "request", "mail", "key",
                          "sender:bob@example.com", "window", "3000", NULL), 0);
    ck_assert_int_eq(got("count"), 1);
}
END_TEST

START_TEST(test_other_counters)
{
    ck_assert_int_eq(call(1, T0, "request", "tarpit_disconnect", "key",
                          "addr:192.0.2.1", "window", "600000", NULL), 0);
    ck_assert_int_eq(call(1, T0, "request", "tarpit_disconnect", "key",
                          "addr:192.0.2.1", "window", "600000", NULL), 0);
    ck_assert_int_eq(got("count"), 2);
    ck_assert_int_eq(call(1, T0, "request", "auth_failure", "key",
                          "addr:192.0.2.1", "window", "600000", NULL), 0);
    ck_assert_int_eq(got("count"), 1);
    ck_assert_int_eq(call(1, T0, "request", "overlimit", "key",
                          "addr:2001:db8::1", "window", "600000", NULL), 0);
    ck_assert_int_eq(call(1, T0, "request", "lookup", "counter", "overlimit",
                          "key", "addr:2001:db8:0:0:ffff::1", NULL), 0);
    ck_assert_int_eq(got("count"), 1);
    /* These count client addresses only. */
    ck_assert_int_eq(call(1, T0, "request", "auth_failure", "key",
                          "sender:a@b", "window", "600000", NULL), -1);
    ck_assert_str_eq(reason(), "key is not a client address");
}
END_TEST

START_TEST(test_connections)
{
    ck_assert_int_eq(call(7, T0, "request", "connect", "key", "addr:192.0.2.1",
                          NULL), 0);
    ck_assert_int_eq(got("count"), 1);
    ck_assert_int_eq(call(8, T0, "request", "connect", "key", "192.0.2.1",
                          NULL), 0);
    ck_assert_int_eq(got("count"), 2);
    ck_assert_int_eq(call(9, T0, "request", "connect", "key", "addr:192.0.2.1",
                          NULL), 0);
    ck_assert_int_eq(got("count"), 3);
    /* Client 9 releases its own; client 10 has nothing to release. */
    ck_assert_int_eq(call(9, T0, "request", "disconnect", "key",
                          "addr:192.0.2.1", NULL), 0);
    ck_assert_int_eq(got("count"), 2);
    ck_assert_int_eq(call(10, T0, "request", "disconnect", "key",
                          "addr:192.0.2.1", NULL), 1);
    ck_assert_int_eq(got("count"), 2);
    /* Client 8's socket closes. */
    rk_request_client_gone(state, 8);
    ck_assert_int_eq(call(0, T0, "request", "lookup", "counter", "connections",
                          "key", "addr:192.0.2.1", NULL), 0);
    ck_assert_int_eq(got("count"), 1);
    /* Without a socket there is nothing to register to. */
    ck_assert_int_eq(call(0, T0, "request", "connect", "key", "addr:192.0.2.1",
                          NULL), -1);
    ck_assert_int_eq(call(7, T0, "request", "connect", "key", "sender:a@b",
                          NULL), -1);
}
END_TEST

/* connect also answers the address's overlimit and tarpit_disconnect
 * counts in their windows (smtpd's tarpit decisions at connect). */
START_TEST(test_connect_reports_counts)
{
    ck_assert_int_eq(call(7, T0, "request", "connect", "key", "192.0.2.1",
                          NULL), 0);
    ck_assert_int_eq(got("count"), 1);
    ck_assert_int_eq(got("overlimit"), 0);
    ck_assert_int_eq(got("tarpit_disconnect"), 0);
    call(1, T0, "request", "overlimit", "key", "addr:192.0.2.1", "window",
         "60000", NULL);
    call(1, T0, "request", "tarpit_disconnect", "key", "addr:192.0.2.1",
         "window", "600000", NULL);
    call(1, T0 + 10, "request", "tarpit_disconnect", "key", "addr:192.0.2.1",
         "window", "600000", NULL);
    /* Another address's counts, and the mail counter, are not its. */
    call(1, T0, "request", "overlimit", "key", "addr:192.0.2.2", "window",
         "60000", NULL);
    call(1, T0, "request", "mail", "key", "addr:192.0.2.1", "window",
         "60000", NULL);
    ck_assert_int_eq(call(8, T0 + 1000, "request", "connect", "key",
                          "addr:192.0.2.1", NULL), 0);
    ck_assert_int_eq(got("count"), 2);
    ck_assert_int_eq(got("overlimit"), 1);
    ck_assert_int_eq(got("tarpit_disconnect"), 2);
    /* Each in its own window: the overlimit is gone after a minute (and
     * a bucket), the disconnects stay for ten. */
    ck_assert_int_eq(call(9, T0 + 62000, "request", "connect", "key",
                          "addr:192.0.2.1", NULL), 0);
    ck_assert_int_eq(got("count"), 3);
    ck_assert_int_eq(got("overlimit"), 0);
    ck_assert_int_eq(got("tarpit_disconnect"), 2);
    ck_assert_int_eq(call(9, T0 + 612000, "request", "connect", "key",
                          "addr:192.0.2.1", NULL), 0);
    ck_assert_int_eq(got("tarpit_disconnect"), 0);
    /* IPv6 by its /64, as the counters are kept. */
    call(1, T0, "request", "overlimit", "key", "addr:2001:db8::1", "window",
         "60000", NULL);
    ck_assert_int_eq(call(7, T0 + 1, "request", "connect", "key",
                          "2001:db8::2", NULL), 0);
    ck_assert_int_eq(got("overlimit"), 1);
    /* A refused connect says nothing more. */
    ck_assert_int_eq(call(0, T0, "request", "connect", "key", "192.0.2.1",
                          NULL), -1);
    ck_assert_ptr_null(attr_get(out, "overlimit"));
    ck_assert_ptr_null(attr_get(out, "tarpit_disconnect"));
}
END_TEST

START_TEST(test_show_top_reset)
{
    int i;

    call(3, T0, "request", "connect", "key", "addr:192.0.2.1", NULL);
    for (i = 0; i < 5; i++)
        call(1, T0, "request", "mail", "key", "addr:192.0.2.1", "window",
             "600000", NULL);
    call(1, T0, "request", "tarpit_disconnect", "key", "addr:192.0.2.1",
         "window", "60000", NULL);
    for (i = 0; i < 9; i++)
        call(1, T0, "request", "mail", "key", "sender:spam@x", "window",
             "600000", NULL);

    ck_assert_int_eq(call(0, T0 + 1000, "request", "show", "key", "192.0.2.1",
                          NULL), 0);
    ck_assert_str_eq(attr_get(out, "key"), "addr:192.0.2.1");
    ck_assert_int_eq(got("counters"), 3);
    ck_assert_str_eq(attr_get(out, "counter_0"), "connections");
    ck_assert_int_eq(got("count_0"), 1);
    ck_assert_ptr_null(attr_get(out, "window_0"));
    ck_assert_str_eq(attr_get(out, "counter_1"), "mail");
    ck_assert_int_eq(got("count_1"), 5);
    ck_assert_int_eq(got("window_1"), 600000);
    ck_assert_int_ge(got("clear_1"), 599000);
    ck_assert_str_eq(attr_get(out, "counter_2"), "tarpit_disconnect");
    ck_assert_int_eq(got("window_2"), 60000);

    ck_assert_int_eq(call(0, T0 + 1000, "request", "top", "limit", "2",
                          NULL), 0);
    ck_assert_int_eq(got("entries"), 2);
    ck_assert_str_eq(attr_get(out, "key_0"), "sender:spam@x");
    ck_assert_int_eq(got("count_0"), 9);
    ck_assert_str_eq(attr_get(out, "key_1"), "addr:192.0.2.1");
    ck_assert_str_eq(attr_get(out, "counter_1"), "mail");
    ck_assert_int_eq(call(0, T0 + 1000, "request", "top", NULL), 0);
    ck_assert_int_eq(got("entries"), 4);
    ck_assert_int_eq(got("count_3"), 1);
    ck_assert_int_eq(call(0, T0, "request", "top", "limit", "0", NULL), -1);

    /* reset: the windows go, the open connection stays. */
    ck_assert_int_eq(call(0, T0 + 1000, "request", "reset", "key",
                          "addr:192.0.2.1", NULL), 0);
    ck_assert_int_eq(got("removed"), 2);
    ck_assert_int_eq(call(0, T0 + 1000, "request", "show", "key",
                          "addr:192.0.2.1", NULL), 0);
    ck_assert_int_eq(got("counters"), 1);
    ck_assert_str_eq(attr_get(out, "counter_0"), "connections");
    ck_assert_int_eq(call(0, T0 + 1000, "request", "reset", "key",
                          "addr:192.0.2.1", NULL), 0);
    ck_assert_int_eq(got("removed"), 0);
}
END_TEST

START_TEST(test_many_keys_top_expire)
{
    char key[64];
    int i;

    for (i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "addr:10.0.%d.%d", i / 256, i % 256);
        call(1, T0 + i, "request", "mail", "key", key, "window", "1000", NULL);
        if (i % 100 == 0)
            call(1, T0 + i, "request", "mail", "key", key, "window", "1000",
                 NULL);
    }
    ck_assert_int_eq(call(0, T0 + 5000, "request", "top", "limit", "1000",
                          NULL), 0);
    /* limit is capped; the ones counted twice come first. */
    ck_assert_int_eq(got("entries"), RK_STATE_TOP_MAX);
    ck_assert_int_eq(got("count_0"), 2);
    ck_assert_int_eq(rk_window_table_size(state->windows), 5000);
    for (i = 0; i < 1000 && rk_window_table_size(state->windows) > 0; i++)
        rk_state_expire(state, T0 + 5000 + 1000 + 20, 64, 50);
    ck_assert_int_eq(rk_window_table_size(state->windows), 0);
}
END_TEST

START_TEST(test_bad_requests)
{
    ck_assert_int_eq(call(1, T0, "other", "x", NULL), -1);
    ck_assert_str_eq(reason(), "no request");
    ck_assert_int_eq(call(1, T0, "request", "MAIL", NULL), -1);
    ck_assert_str_eq(reason(), "unknown request");
    ck_assert_int_eq(call(1, T0, "request", "mail", "window", "1000", NULL), -1);
    ck_assert_str_eq(reason(), "no key");
    ck_assert_int_eq(call(1, T0, "request", "mail", "key", "addr:x",
                          "window", "1000", NULL), -1);
    ck_assert_str_eq(reason(), "not a numeric address");
    ck_assert_int_eq(call(1, T0, "request", "mail", "key", "a@b", NULL), -1);
    ck_assert_int_eq(call(1, T0, "request", "mail", "key", "a@b", "window",
                          "0", NULL), -1);
    ck_assert_int_eq(call(1, T0, "request", "mail", "key", "a@b", "window",
                          "99999999999999", NULL), -1);
    ck_assert_int_eq(call(1, T0, "request", "mail", "key", "a@b", "window",
                          " 10", NULL), -1);
    ck_assert_int_eq(call(1, T0, "request", "lookup", "counter", "bogus",
                          "key", "a@b", NULL), -1);
    ck_assert_int_eq(call(1, T0, "request", "lookup", "key", "a@b", NULL), -1);
    /* Unknown attributes are ignored. */
    ck_assert_int_eq(call(1, T0, "request", "mail", "key", "a@b", "window",
                          "1000", "future", "yes", NULL), 0);
    ck_assert_int_eq(attr_count(out), 2);
}
END_TEST

/* With a store: what was counted is there after a restart. */
START_TEST(test_write_through)
{
    const char *dir = fixture_dir_create("check_rk_request");
    VBUF *why = vbuf_create(64);
    RK_STORE *store;
    long dropped;
    int i;

    rk_state_free(state);
    store = rk_store_open(dir, why);
    ck_assert_ptr_nonnull(store);
    state = rk_state_create(store);
    for (i = 0; i < 4; i++)
        call(1, T0 + i, "request", "mail", "key", "addr:192.0.2.1", "window",
             "600000", NULL);
    call(1, T0, "request", "mail", "key", "addr:192.0.2.2", "window",
         "600000", NULL);
    call(1, T0, "request", "reset", "key", "addr:192.0.2.2", NULL);
    rk_state_free(state);

    store = rk_store_open(dir, why);
    ck_assert_ptr_nonnull(store);
    state = rk_state_create(store);
    ck_assert_int_eq(rk_store_load(store, state->windows, T0 + 10, &dropped,
                                   why), 1);
    ck_assert_int_eq(call(1, T0 + 10, "request", "mail", "key",
                          "addr:192.0.2.1", "window", "600000", NULL), 0);
    ck_assert_int_eq(got("count"), 5);
    vbuf_free(why);
}
END_TEST

static Suite *
rk_request_suite(void)
{
    Suite *s = suite_create("rk_request");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_mail_window);
    tcase_add_test(tc, test_other_counters);
    tcase_add_test(tc, test_connections);
    tcase_add_test(tc, test_connect_reports_counts);
    tcase_add_test(tc, test_show_top_reset);
    tcase_add_test(tc, test_many_keys_top_expire);
    tcase_add_test(tc, test_bad_requests);
    tcase_add_test(tc, test_write_through);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(rk_request_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
