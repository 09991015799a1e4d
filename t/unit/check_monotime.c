/* Unit tests for the monotonic clock (lib/monotime.c): milliseconds that
 * do not go back, and a deadline that a condition on that clock keeps. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "monotime.h"

START_TEST(test_ms)
{
    struct timespec pause = {0, 20 * 1000000L};
    long long start = monotime_ms();

    ck_assert_int_ge(start, 0);
    nanosleep(&pause, NULL);
    ck_assert_int_ge(monotime_ms() - start, 20);
}
END_TEST

/* Microseconds: the same clock, a thousand times finer. */
START_TEST(test_us)
{
    struct timespec pause = {0, 2 * 1000000L};
    long long ms = monotime_ms(), us = monotime_us();

    ck_assert_int_ge(us / 1000, ms);
    ck_assert_int_le(us / 1000 - ms, 1);
    nanosleep(&pause, NULL);
    ck_assert_int_ge(monotime_us() - us, 2000);
}
END_TEST

/* The deadline is on CLOCK_MONOTONIC, its nanoseconds below a second. */
START_TEST(test_deadline)
{
    static const long long after[] = {0, 1, 999, 1000, 1500, 86400000};
    struct timespec now, ts;
    long long diff_ms;
    size_t i;

    for (i = 0; i < sizeof(after) / sizeof(after[0]); i++) {
        monotime_deadline(&ts, after[i]);
        clock_gettime(CLOCK_MONOTONIC, &now);
        ck_assert_int_ge(ts.tv_nsec, 0);
        ck_assert_int_lt(ts.tv_nsec, 1000000000L);
        diff_ms = (long long) (ts.tv_sec - now.tv_sec) * 1000
            + (ts.tv_nsec - now.tv_nsec) / 1000000;
        ck_assert_int_le(diff_ms, after[i]);
        ck_assert_int_ge(diff_ms, after[i] - 100);
    }
}
END_TEST

/* A timed wait on a monotonic condition ends at the deadline. */
START_TEST(test_deadline_wait)
{
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_condattr_t attr;
    pthread_cond_t cond;
    struct timespec ts;
    long long start = monotime_ms();
    int rc;

    pthread_condattr_init(&attr);
    ck_assert_int_eq(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC), 0);
    pthread_cond_init(&cond, &attr);
    monotime_deadline(&ts, 50);
    pthread_mutex_lock(&lock);
    do
        rc = pthread_cond_timedwait(&cond, &lock, &ts);
    while (rc == 0);                    /* spurious wake-ups */
    pthread_mutex_unlock(&lock);
    ck_assert_int_eq(rc, ETIMEDOUT);
    ck_assert_int_ge(monotime_ms() - start, 49);
    pthread_cond_destroy(&cond);
    pthread_condattr_destroy(&attr);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("monotime");
    TCase *tc = tcase_create("monotime");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_ms);
    tcase_add_test(tc, test_us);
    tcase_add_test(tc, test_deadline);
    tcase_add_test(tc, test_deadline_wait);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
