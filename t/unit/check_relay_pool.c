/* Unit tests for relay's agent pool: a descriptor that a module registered
 * with relay_pool_on_fork() is closed in a new agent, so that nothing the
 * queue manager opens leaks into the delivery agents. The test holds the
 * read end of a pipe whose write end only the agent still has: the read
 * sees the end of the pipe when, and only when, the agent closed it. */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"
#include "relay/relay.h"

static void
done(void *job, const RELAY_JOB_RESULT *res)
{
    (void) job;
    (void) res;
}

static void
close_fd(void *context)
{
    close(*(int *) context);
}

/* Starts an agent while the test holds pipe p, then keeps only the read
 * end; returns 1 when the pipe reads its end within wait_ms (nobody holds
 * the write end any more), 0 when it stays open. */
static int
agent_closes(int p[2], int wait_ms)
{
    struct pollfd pfd;
    char ch;
    int n;

    conf_activate(conf_defaults());
    relay_pool_init(done);
    ck_assert_ptr_nonnull(relay_pool_get(1));
    close(p[1]);
    pfd.fd = p[0];
    pfd.events = POLLIN;
    while ((n = poll(&pfd, 1, wait_ms)) < 0 && errno == EINTR)
        continue;
    n = n > 0 && read(p[0], &ch, 1) == 0;
    /* The agent exits when its socket ends. Not relay_pool_stop(): its
     * SIGTERM would meet Check's handler, inherited by the agent, which
     * signals the whole process group. */
    relay_pool_retire();
    ck_assert_int_gt(waitpid(-1, NULL, 0), 0);
    close(p[0]);
    return n;
}

START_TEST(test_registered_fd_closed_in_agent)
{
    static int p[2];

    ck_assert_int_eq(pipe(p), 0);
    relay_pool_on_fork(close_fd, p + 1);
    ck_assert_int_eq(agent_closes(p, 2000), 1);
}
END_TEST

/* Without the hook the agent keeps the descriptor: the check above can
 * tell a leak. */
START_TEST(test_unregistered_fd_stays_open)
{
    int p[2];

    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(agent_closes(p, 300), 0);
}
END_TEST

static Suite *
relay_pool_suite(void)
{
    Suite *s = suite_create("relay_pool");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_registered_fd_closed_in_agent);
    tcase_add_test(tc, test_unregistered_fd_stays_open);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(relay_pool_suite());
    int failed;

    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
