/* Unit tests for the tarpit's reports to ratekeeper (tarpit/tp_report.c)
 * on the event loop, against ratekeeper's real request handler in a
 * forked attr_serv: the counts come back in order, several reports in
 * flight at once; no ratekeeper: the callback runs at once with why; a
 * ratekeeper that greets and never answers: every waiting report fails
 * at the timeout and the next one starts over; a ratekeeper that goes
 * away and comes back. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attr_serv.h"
#include "events.h"
#include "fixture.h"
#include "fixture_serv.h"
#include "monotime.h"
#include "ratekeeper/rk_request.h"
#include "rk_clnt.h"
#include "tarpit/tp_report.h"

#define DONE_MAX    16

static char path[256];
static long counts[DONE_MAX];
static char whys[DONE_MAX][128];
static int contexts[DONE_MAX];
static int ndone;

static void
done(long count, const char *why, void *context)
{
    ck_assert_int_lt(ndone, DONE_MAX);
    counts[ndone] = count;
    snprintf(whys[ndone], sizeof(whys[ndone]), "%s", why ? why : "");
    contexts[ndone] = (int) (long) context;
    ndone++;
}

/* Runs the loop until n callbacks ran, or for at most ms. */
static void
run_until(int n, int ms)
{
    long long deadline = monotime_ms() + ms;

    while (ndone < n && monotime_ms() < deadline)
        event_loop(10);
}

static void
handle_request(const ATTR *request, ATTR *reply, void *context)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    rk_request_handle(context, request, reply, 1,
                      (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
serve_requests(int listen_fd, void *context)
{
    (void) context;
    attr_serv_create(listen_fd, RK_PROTO, RK_VERSION, handle_request,
                     rk_state_create(NULL));
    fixture_serv_loop();
}

static void
setup(void)
{
    const char *dir = fixture_dir_create("tp_report");

    snprintf(path, sizeof(path), "%s/%s", dir, RK_SOCKET_NAME);
    ndone = 0;
    tp_report_init(path, 300);
}

static void
teardown(void)
{
    tp_report_end();
    fixture_serv_stop();
    fixture_dir_remove();
}

START_TEST(test_counts)
{
    fixture_serv_start(path, serve_requests, NULL);
    tp_report_disconnect("addr:192.0.2.1", 600000, done, (void *) 1L);
    tp_report_disconnect("addr:192.0.2.1", 600000, done, (void *) 2L);
    tp_report_disconnect("addr:192.0.2.9", 600000, done, (void *) 3L);
    ck_assert_int_eq(tp_report_pending(), 3);
    ck_assert_int_eq(ndone, 0);                 /* nothing ran yet */
    run_until(3, 5000);
    ck_assert_int_eq(ndone, 3);
    ck_assert_int_eq(tp_report_pending(), 0);
    ck_assert_int_eq(contexts[0], 1);
    ck_assert_int_eq(counts[0], 1);
    ck_assert_str_eq(whys[0], "");
    ck_assert_int_eq(contexts[1], 2);
    ck_assert_int_eq(counts[1], 2);
    ck_assert_int_eq(contexts[2], 3);
    ck_assert_int_eq(counts[2], 1);
    /* Later, on the same connection. */
    tp_report_disconnect("addr:192.0.2.1", 600000, done, (void *) 4L);
    run_until(4, 5000);
    ck_assert_int_eq(counts[3], 3);
}
END_TEST

START_TEST(test_no_ratekeeper)
{
    tp_report_disconnect("addr:192.0.2.1", 600000, done, (void *) 1L);
    /* At once, without the loop. */
    ck_assert_int_eq(ndone, 1);
    ck_assert_int_eq(counts[0], -1);
    ck_assert_msg(strstr(whys[0], "connect to") != NULL, "%s", whys[0]);
    ck_assert_int_eq(tp_report_pending(), 0);
}
END_TEST

START_TEST(test_silent)
{
    long long start;

    fixture_serv_start(path, fixture_serv_silent,
                       (void *) "proto=ratekeeper\nversion=1\n\n");
    start = monotime_ms();
    tp_report_disconnect("addr:192.0.2.1", 600000, done, (void *) 1L);
    tp_report_disconnect("addr:192.0.2.2", 600000, done, (void *) 2L);
    run_until(2, 5000);
    ck_assert_int_eq(ndone, 2);
    ck_assert_int_ge(monotime_ms() - start, 290);
    ck_assert_int_eq(counts[0], -1);
    ck_assert_str_eq(whys[0], "no answer within 300 ms");
    ck_assert_int_eq(counts[1], -1);
    /* A real one now: a new connection is made. */
    fixture_serv_stop();
    fixture_serv_start(path, serve_requests, NULL);
    tp_report_disconnect("addr:192.0.2.1", 600000, done, (void *) 3L);
    run_until(3, 5000);
    ck_assert_int_eq(counts[2], 1);
}
END_TEST

START_TEST(test_wrong_server)
{
    fixture_serv_start(path, fixture_serv_silent,
                       (void *) "proto=dnscache\nversion=1\n\n");
    tp_report_disconnect("addr:192.0.2.1", 600000, done, (void *) 1L);
    run_until(1, 5000);
    ck_assert_int_eq(counts[0], -1);
    ck_assert_msg(strstr(whys[0], "dnscache") != NULL, "%s", whys[0]);
}
END_TEST

START_TEST(test_ratekeeper_restarts)
{
    fixture_serv_start(path, serve_requests, NULL);
    tp_report_disconnect("addr:192.0.2.1", 600000, done, (void *) 1L);
    run_until(1, 5000);
    ck_assert_int_eq(counts[0], 1);
    fixture_serv_stop();
    /* The loop notices the end of the connection. */
    run_until(2, 200);
    ck_assert_int_eq(ndone, 1);
    fixture_serv_start(path, serve_requests, NULL);
    tp_report_disconnect("addr:192.0.2.1", 600000, done, (void *) 2L);
    run_until(2, 5000);
    /* A new ratekeeper with an empty state (no database here). */
    ck_assert_int_eq(counts[1], 1);
    ck_assert_str_eq(whys[1], "");
}
END_TEST

START_TEST(test_end_fails_pending)
{
    fixture_serv_start(path, fixture_serv_silent,
                       (void *) "proto=ratekeeper\nversion=1\n\n");
    tp_report_disconnect("addr:192.0.2.1", 600000, done, (void *) 1L);
    tp_report_end();
    ck_assert_int_eq(ndone, 1);
    ck_assert_str_eq(whys[0], "the tarpit is stopping");
    tp_report_init(path, 300);                  /* for teardown */
}
END_TEST

static Suite *
tp_report_suite(void)
{
    Suite *s = suite_create("tp_report");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_counts);
    tcase_add_test(tc, test_no_ratekeeper);
    tcase_add_test(tc, test_silent);
    tcase_add_test(tc, test_wrong_server);
    tcase_add_test(tc, test_ratekeeper_restarts);
    tcase_add_test(tc, test_end_fails_pending);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(tp_report_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
