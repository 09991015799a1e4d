/* Unit tests for the event loop: timer order, cancel and replace, fd
 * readiness, callbacks that disable other descriptors, many timers. */
#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "events.h"

#define LOG_MAX 20000

static int fired[LOG_MAX];              /* what ran, in order */
static int nfired;

static void
log_event(int event, void *context)
{
    ck_assert_int_eq(event, EVENT_TIME);
    ck_assert_int_lt(nfired, LOG_MAX);
    fired[nfired++] = (int) (long) context;
}

/* Runs the loop until n callbacks have run or ms have passed. */
static void
run_until(int n, int ms)
{
    long long end = event_time_refresh() + ms;

    while (nfired < n && event_now_ms() < end)
        event_loop((int) (end - event_now_ms()));
}

START_TEST(test_timer_order)
{
    long long start = event_time_refresh();

    event_request_timer(log_event, (void *) 3L, 60);
    event_request_timer(log_event, (void *) 1L, 20);
    event_request_timer(log_event, (void *) 2L, 40);
    event_request_timer(log_event, (void *) 4L, 60);  /* same deadline */
    run_until(4, 2000);
    ck_assert_int_eq(nfired, 4);
    ck_assert_int_eq(fired[0], 1);
    ck_assert_int_eq(fired[1], 2);
    ck_assert_int_eq(fired[2], 3);
    ck_assert_int_eq(fired[3], 4);
    ck_assert_int_ge(event_now_ms() - start, 60);
    ck_assert_int_lt(event_now_ms() - start, 1000);
}
END_TEST

START_TEST(test_timer_cancel)
{
    event_request_timer(log_event, (void *) 1L, 10);
    event_request_timer(log_event, (void *) 2L, 20);
    event_request_timer(log_event, (void *) 3L, 30);
    ck_assert_int_eq(event_cancel_timer(log_event, (void *) 2L), 0);
    ck_assert_int_eq(event_cancel_timer(log_event, (void *) 2L), -1);
    ck_assert_int_eq(event_cancel_timer(log_event, (void *) 9L), -1);
    run_until(3, 300);
    ck_assert_int_eq(nfired, 2);
    ck_assert_int_eq(fired[0], 1);
    ck_assert_int_eq(fired[1], 3);
}
END_TEST

START_TEST(test_timer_replace)
{
    long long start = event_time_refresh();

    event_request_timer(log_event, (void *) 1L, 5000);
    event_request_timer(log_event, (void *) 1L, 20);
    run_until(1, 2000);
    ck_assert_int_eq(nfired, 1);
    ck_assert_int_lt(event_now_ms() - start, 1000);
    run_until(2, 200);
    ck_assert_int_eq(nfired, 1);        /* the first request is gone */

    /* Replacing moves a timer later too. */
    event_request_timer(log_event, (void *) 2L, 10);
    event_request_timer(log_event, (void *) 2L, 100);
    run_until(2, 50);
    ck_assert_int_eq(nfired, 1);
    run_until(2, 500);
    ck_assert_int_eq(nfired, 2);
}
END_TEST

static int rearmed;

static void
rearm_event(int event, void *context)
{
    (void) event;
    rearmed++;
    event_request_timer(rearm_event, context, 0);
}

START_TEST(test_timer_rearm_zero)
{
    /* A timer that asks for itself again runs once per loop call. */
    event_request_timer(rearm_event, NULL, 0);
    event_loop(100);
    ck_assert_int_eq(rearmed, 1);
    event_loop(100);
    ck_assert_int_eq(rearmed, 2);
    ck_assert_int_eq(event_cancel_timer(rearm_event, NULL), 0);
}
END_TEST

START_TEST(test_loop_max_wait)
{
    long long start = event_time_refresh();

    event_loop(50);
    ck_assert_int_ge(event_now_ms() - start, 49);
    ck_assert_int_lt(event_now_ms() - start, 1000);
    /* A timer further away than max_wait does not hold the loop. */
    event_request_timer(log_event, (void *) 1L, 10000);
    start = event_time_refresh();
    event_loop(30);
    ck_assert_int_lt(event_now_ms() - start, 1000);
    ck_assert_int_eq(nfired, 0);
}
END_TEST

START_TEST(test_now_cached)
{
    long long a = event_time_refresh();

    usleep(20000);
    ck_assert(event_now_ms() == a);     /* cached */
    ck_assert_int_ge(event_time_refresh() - a, 20);
}
END_TEST

/* Descriptors ---------------------------------------------------------- */

typedef struct PIPE_CTX {
    int fds[2];
    int reads;
    int writes;
    int other;                          /* read end to disable, or -1 */
} PIPE_CTX;

static void
pipe_read(int event, void *context)
{
    PIPE_CTX *p = context;
    char buf[16];

    ck_assert_int_eq(event, EVENT_READ);
    ck_assert_int_gt(read(p->fds[0], buf, sizeof(buf)), 0);
    p->reads++;
}

static void
pipe_write(int event, void *context)
{
    PIPE_CTX *p = context;

    ck_assert_int_eq(event, EVENT_WRITE);
    p->writes++;
    event_disable_write(p->fds[1]);
}

static void
make_pipe(PIPE_CTX *p)
{
    memset(p, 0, sizeof(*p));
    ck_assert_int_eq(pipe2(p->fds, O_NONBLOCK), 0);
    p->other = -1;
}

START_TEST(test_fd_read_write)
{
    PIPE_CTX p;

    make_pipe(&p);
    event_enable_read(p.fds[0], pipe_read, &p);
    event_loop(20);
    ck_assert_int_eq(p.reads, 0);
    ck_assert_int_eq(write(p.fds[1], "x", 1), 1);
    event_loop(1000);
    ck_assert_int_eq(p.reads, 1);
    event_loop(20);                     /* drained: no more events */
    ck_assert_int_eq(p.reads, 1);

    event_enable_write(p.fds[1], pipe_write, &p);
    event_loop(1000);
    ck_assert_int_eq(p.writes, 1);
    event_loop(20);                     /* disabled by the callback */
    ck_assert_int_eq(p.writes, 1);

    event_disable_readwrite(p.fds[0]);
    ck_assert_int_eq(write(p.fds[1], "x", 1), 1);
    event_loop(20);
    ck_assert_int_eq(p.reads, 1);
    event_enable_read(p.fds[0], pipe_read, &p);
    event_loop(1000);
    ck_assert_int_eq(p.reads, 2);
}
END_TEST

static PIPE_CTX two[2];
static PIPE_CTX reused;

/* Disables and closes the other pipe, then opens a fresh pipe that gets
 * the same descriptor number, with interest: the stale event for the old
 * descriptor must reach neither callback. */
static void
disable_other(int event, void *context)
{
    PIPE_CTX *p = context, *q = p == &two[0] ? &two[1] : &two[0];
    char buf[16];

    (void) event;
    ck_assert_int_gt(read(p->fds[0], buf, sizeof(buf)), 0);
    p->reads++;
    event_disable_readwrite(q->fds[0]);
    close(q->fds[0]);
    make_pipe(&reused);
    ck_assert_int_eq(reused.fds[0], q->fds[0]);
    event_enable_read(reused.fds[0], pipe_read, &reused);
}

START_TEST(test_disable_other_in_same_iteration)
{
    make_pipe(&two[0]);
    make_pipe(&two[1]);
    event_enable_read(two[0].fds[0], disable_other, &two[0]);
    event_enable_read(two[1].fds[0], disable_other, &two[1]);
    ck_assert_int_eq(write(two[0].fds[1], "x", 1), 1);
    ck_assert_int_eq(write(two[1].fds[1], "x", 1), 1);
    event_loop(1000);
    /* Exactly one of the two ran; pipe_read's read() would fail on the
     * empty new pipe if the stale event had reached it. */
    ck_assert_int_eq(two[0].reads + two[1].reads, 1);
    ck_assert_int_eq(reused.reads, 0);
    event_loop(20);
    ck_assert_int_eq(reused.reads, 0);
}
END_TEST

static void
cancel_timer_read(int event, void *context)
{
    pipe_read(event, context);
    ck_assert_int_eq(event_cancel_timer(log_event, (void *) 7L), 0);
}

START_TEST(test_fd_cancels_due_timer)
{
    PIPE_CTX p;

    make_pipe(&p);
    event_request_timer(log_event, (void *) 7L, 0);
    event_enable_read(p.fds[0], cancel_timer_read, &p);
    ck_assert_int_eq(write(p.fds[1], "x", 1), 1);
    event_loop(1000);
    ck_assert_int_eq(p.reads, 1);
    ck_assert_int_eq(nfired, 0);
}
END_TEST

START_TEST(test_high_fd)
{
    struct rlimit rl;
    PIPE_CTX p;
    int high = 65536;

    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur <= (rlim_t) high) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur <= (rlim_t) high)
        high = (int) rl.rlim_cur - 1;
    ck_assert_int_ge(high, 1024);
    make_pipe(&p);
    ck_assert_int_eq(dup2(p.fds[0], high), high);
    close(p.fds[0]);
    p.fds[0] = high;
    event_enable_read(high, pipe_read, &p);
    ck_assert_int_eq(write(p.fds[1], "x", 1), 1);
    event_loop(1000);
    ck_assert_int_eq(p.reads, 1);
    event_disable_readwrite(high);
}
END_TEST

/* Many timers ---------------------------------------------------------- */

static long long deadline_of[10000];
static long long last_deadline;

static void
ordered_event(int event, void *context)
{
    int i = (int) (long) context;

    ck_assert_int_eq(event, EVENT_TIME);
    ck_assert(deadline_of[i] >= last_deadline);
    ck_assert(event_now_ms() >= deadline_of[i]);
    last_deadline = deadline_of[i];
    fired[nfired++] = i;
}

START_TEST(test_10000_timers)
{
    int i, n = 10000;

    srandom(42);
    for (i = 0; i < n; i++)
        deadline_of[i] = event_request_timer(ordered_event, (void *) (long) i,
                                             random() % 200);
    /* Move some, cancel every third. */
    for (i = 0; i < n; i += 7)
        deadline_of[i] = event_request_timer(ordered_event, (void *) (long) i,
                                             random() % 200);
    for (i = 0; i < n; i += 3)
        ck_assert_int_eq(event_cancel_timer(ordered_event,
                                            (void *) (long) i), 0);
    run_until(n, 5000);
    ck_assert_int_eq(nfired, n - (n + 2) / 3);
    for (i = 0; i < nfired; i++)
        ck_assert_int_ne(fired[i] % 3, 0);
    event_loop(10);
    ck_assert_int_eq(nfired, n - (n + 2) / 3);
}
END_TEST

static void
setup(void)
{
    nfired = 0;
    rearmed = 0;
}

static Suite *
events_suite(void)
{
    Suite *s = suite_create("events");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_timer_order);
    tcase_add_test(tc, test_timer_cancel);
    tcase_add_test(tc, test_timer_replace);
    tcase_add_test(tc, test_timer_rearm_zero);
    tcase_add_test(tc, test_loop_max_wait);
    tcase_add_test(tc, test_now_cached);
    tcase_add_test(tc, test_fd_read_write);
    tcase_add_test(tc, test_disable_other_in_same_iteration);
    tcase_add_test(tc, test_fd_cancels_due_timer);
    tcase_add_test(tc, test_high_fd);
    tcase_add_test(tc, test_10000_timers);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(events_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
