/* Unit tests for ratekeeper's connection registrations
 * (ratekeeper/rk_conn.c): counts per key, releases that only undo what
 * the same client registered, and a client's disappearance. */
#include <check.h>
#include <signal.h>
#include <stdlib.h>

#include "ratekeeper/rk_conn.h"

START_TEST(test_register_release)
{
    RK_CONN *c = rk_conn_create();
    unsigned long count;

    ck_assert_uint_eq(rk_conn_register(c, 1, "addr:192.0.2.1"), 1);
    ck_assert_uint_eq(rk_conn_register(c, 2, "addr:192.0.2.1"), 2);
    ck_assert_uint_eq(rk_conn_register(c, 2, "addr:192.0.2.1"), 3);
    ck_assert_uint_eq(rk_conn_register(c, 2, "addr:192.0.2.2"), 1);
    ck_assert_uint_eq(rk_conn_count(c, "addr:192.0.2.1"), 3);
    ck_assert(rk_conn_holds(c, 1));
    ck_assert(!rk_conn_holds(c, 3));

    /* Client 3 holds nothing, client 1 nothing of .2. */
    ck_assert_int_eq(rk_conn_release(c, 3, "addr:192.0.2.1", &count), -1);
    ck_assert_uint_eq(count, 3);
    ck_assert_int_eq(rk_conn_release(c, 1, "addr:192.0.2.2", &count), -1);
    ck_assert_uint_eq(count, 1);

    ck_assert_int_eq(rk_conn_release(c, 1, "addr:192.0.2.1", &count), 0);
    ck_assert_uint_eq(count, 2);
    ck_assert(!rk_conn_holds(c, 1));
    ck_assert_int_eq(rk_conn_release(c, 1, "addr:192.0.2.1", &count), -1);
    ck_assert_uint_eq(rk_conn_keys(c), 2);
    ck_assert_uint_eq(rk_conn_clients(c), 1);
    rk_conn_free(c);
}
END_TEST

/* A crashed smtpd's socket closes: everything it held goes, nothing
 * else. */
START_TEST(test_client_gone)
{
    RK_CONN *c = rk_conn_create();
    unsigned long i;

    for (i = 1; i <= 100; i++)
        rk_conn_register(c, i, "addr:192.0.2.1");
    rk_conn_register(c, 50, "addr:192.0.2.2");
    rk_conn_register(c, 50, "addr:192.0.2.1");
    ck_assert_uint_eq(rk_conn_count(c, "addr:192.0.2.1"), 101);
    ck_assert_uint_eq(rk_conn_release_client(c, 50), 3);
    ck_assert_uint_eq(rk_conn_count(c, "addr:192.0.2.1"), 99);
    ck_assert_uint_eq(rk_conn_count(c, "addr:192.0.2.2"), 0);
    ck_assert_uint_eq(rk_conn_release_client(c, 50), 0);
    for (i = 1; i <= 100; i++)
        rk_conn_release_client(c, i);
    ck_assert_uint_eq(rk_conn_keys(c), 0);
    ck_assert_uint_eq(rk_conn_clients(c), 0);
    rk_conn_free(c);
}
END_TEST

START_TEST(test_client_zero_panics)
{
    RK_CONN *c = rk_conn_create();

    rk_conn_register(c, 0, "addr:192.0.2.1");
}
END_TEST

static Suite *
rk_conn_suite(void)
{
    Suite *s = suite_create("rk_conn");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_register_release);
    tcase_add_test(tc, test_client_gone);
    tcase_add_test_raise_signal(tc, test_client_zero_panics, SIGABRT);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(rk_conn_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
