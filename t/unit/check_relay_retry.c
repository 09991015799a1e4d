/* Unit tests for relay's retry schedule, driven by a clock of the test's
 * own: the wait grows with the time in the queue between the backoff
 * bounds, the last attempt falls on the expiry, and expiry itself. */
#include <check.h>
#include <stdlib.h>

#include "relay/relay.h"

/* Postfix's defaults: 300s, 4000s, 5 days. */
static const RELAY_RETRY_POLICY postfix = {300, 4000, 5 * 86400};

/* A fake clock far from the epoch, as a real one is. */
#define T0  ((time_t) 1800000000)

START_TEST(test_first_retry_after_minimal_backoff)
{
    /* Deferred at once on arrival: wait minimal_backoff_time. */
    ck_assert_int_eq(relay_retry_next(T0, T0, &postfix), T0 + 300);
    /* 10 seconds in the queue: still the minimum. */
    ck_assert_int_eq(relay_retry_next(T0, T0 + 10, &postfix), T0 + 10 + 300);
}
END_TEST

START_TEST(test_wait_grows_with_age)
{
    /* After 400s in the queue, wait 400s more: the age doubles. */
    ck_assert_int_eq(relay_retry_next(T0, T0 + 400, &postfix), T0 + 800);
    ck_assert_int_eq(relay_retry_next(T0, T0 + 3000, &postfix), T0 + 6000);
}
END_TEST

START_TEST(test_wait_capped_at_maximal_backoff)
{
    ck_assert_int_eq(relay_retry_next(T0, T0 + 4000, &postfix), T0 + 8000);
    ck_assert_int_eq(relay_retry_next(T0, T0 + 86400, &postfix), T0 + 86400 + 4000);
}
END_TEST

START_TEST(test_schedule_doubles_until_the_cap)
{
    /* Every attempt fails; the clock jumps to each next attempt. */
    time_t now = T0, next, prev_wait = 0;
    int attempts = 0;

    while (!relay_retry_expired(T0, now, &postfix)) {
        next = relay_retry_next(T0, now, &postfix);
        ck_assert_int_gt(next, now);
        /* Never shorter than the wait before, but for the last one,
         * brought forward to the expiry. */
        if (next != T0 + postfix.lifetime)
            ck_assert_int_ge(next - now, prev_wait < 4000 ? prev_wait : 4000);
        ck_assert_int_le(next - now, 4000);
        ck_assert_int_le(next, T0 + postfix.lifetime);
        prev_wait = next - now;
        now = next;
        attempts++;
    }
    /* 300, 600, 1200, 2400, 4000, 4000 ... for 5 days. */
    ck_assert_int_eq(now, T0 + postfix.lifetime);
    ck_assert_int_gt(attempts, 100);
    ck_assert_int_lt(attempts, 120);
}
END_TEST

START_TEST(test_last_attempt_at_expiry)
{
    RELAY_RETRY_POLICY p = {300, 4000, 1000};

    /* 900s in: the full wait would go past the lifetime. */
    ck_assert_int_eq(relay_retry_next(T0, T0 + 900, &p), T0 + 1000);
    ck_assert_int_eq(relay_retry_expired(T0, T0 + 999, &p), 0);
    ck_assert_int_eq(relay_retry_expired(T0, T0 + 1000, &p), 1);
    /* Already expired (the caller bounces): the plain wait. */
    ck_assert_int_eq(relay_retry_next(T0, T0 + 2000, &p), T0 + 2000 + 2000);
}
END_TEST

START_TEST(test_lifetime_zero_means_one_attempt)
{
    RELAY_RETRY_POLICY p = {300, 4000, 0};

    ck_assert_int_eq(relay_retry_expired(T0, T0, &p), 1);
}
END_TEST

START_TEST(test_clock_stepped_back)
{
    /* Arrival in the future (the clock went back): the minimum, never
     * less than a second. */
    RELAY_RETRY_POLICY p = {0, 10, 100};

    ck_assert_int_eq(relay_retry_next(T0 + 50, T0, &postfix), T0 + 300);
    ck_assert_int_eq(relay_retry_next(T0 + 50, T0, &p), T0 + 1);
    ck_assert_int_eq(relay_retry_expired(T0 + 50, T0, &postfix), 0);
}
END_TEST

START_TEST(test_small_test_settings)
{
    /* The system tests' 1s/2s: retries come every second or two. */
    RELAY_RETRY_POLICY p = {1, 2, 5 * 86400};

    ck_assert_int_eq(relay_retry_next(T0, T0, &p), T0 + 1);
    ck_assert_int_eq(relay_retry_next(T0, T0 + 1, &p), T0 + 2);
    ck_assert_int_eq(relay_retry_next(T0, T0 + 60, &p), T0 + 62);
}
END_TEST

static Suite *
relay_retry_suite(void)
{
    Suite *s = suite_create("relay_retry");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_first_retry_after_minimal_backoff);
    tcase_add_test(tc, test_wait_grows_with_age);
    tcase_add_test(tc, test_wait_capped_at_maximal_backoff);
    tcase_add_test(tc, test_schedule_doubles_until_the_cap);
    tcase_add_test(tc, test_last_attempt_at_expiry);
    tcase_add_test(tc, test_lifetime_zero_means_one_attempt);
    tcase_add_test(tc, test_clock_stepped_back);
    tcase_add_test(tc, test_small_test_settings);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(relay_retry_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
