/* Unit tests for logging (lib/msg.c): the line format on files and stderr,
 * the level prefixes, reopening a rotated file, msg_fatal's exit and
 * hook, msg_panic's abort. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "msg.h"
#include "mymalloc.h"

static char log_path[128];

/* The log file, in the fixture directory, lives across the forked tests
 * (exit tests never reach a teardown of their own); each test starts
 * with it empty. */
static void
make_log(void)
{
    snprintf(log_path, sizeof(log_path), "%s/log",
             fixture_dir_create("check_msg"));
    fixture_write_str(log_path, "");
}

static void
remove_log(void)
{
    fixture_dir_remove();
}

static void
setup(void)
{
    ck_assert_int_eq(truncate(log_path, 0), 0);
    msg_init("/usr/lib/alligate/smtpd");
    ck_assert_int_eq(msg_open(log_path), 0);
}

/* The whole log file so far, valid until the next call. */
static const char *
log_text(void)
{
    static char *text;

    if (text)
        myfree(text);
    return text = fixture_read(log_path, NULL);
}

static void
assert_matches(const char *text, const char *pattern)
{
    regex_t re;

    ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE), 0);
    ck_assert_msg(regexec(&re, text, 0, NULL, 0) == 0, "\"%s\" does not match %s",
                  text, pattern);
    regfree(&re);
}

START_TEST(test_progname)
{
    ck_assert_str_eq(msg_progname(), "alligate/smtpd");
    msg_init("relay");
    ck_assert_str_eq(msg_progname(), "alligate/relay");
}
END_TEST

/* "Dec  3 17:53:11 host alligate/smtpd[pid]: text", as syslog writes it. */
START_TEST(test_line_format)
{
    char pattern[256];

    msg_info("NOQUEUE: reject: %s", "test");
    snprintf(pattern, sizeof(pattern),
             "^[A-Z][a-z]{2} [ 1-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9] "
             "[^ ]+ alligate/smtpd\\[%ld\\]: NOQUEUE: reject: test\n$", (long) getpid());
    assert_matches(log_text(), pattern);
}
END_TEST

START_TEST(test_levels)
{
    const char *text;

    msg_info("one");
    msg_warn("two %d", 2);
    msg_error("three");
    text = log_text();
    ck_assert_ptr_nonnull(strstr(text, "]: one\n"));
    ck_assert_ptr_nonnull(strstr(text, "]: warning: two 2\n"));
    ck_assert_ptr_nonnull(strstr(text, "]: error: three\n"));
}
END_TEST

static void
vinfo(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    msg_vinfo(fmt, ap);
    va_end(ap);
}

START_TEST(test_vinfo)
{
    vinfo("%s=%d", "nrcpt", 3);
    ck_assert_ptr_nonnull(strstr(log_text(), "]: nrcpt=3\n"));
}
END_TEST

/* A line longer than the limit is cut, and still ends the line. */
START_TEST(test_long_line)
{
    char *big = malloc(20000);
    const char *text;
    size_t len;

    memset(big, 'x', 19999);
    big[19999] = 0;
    msg_warn("%s", big);
    msg_info("next");
    text = log_text();
    len = strcspn(text, "\n");
    ck_assert_uint_lt(len, 19999);
    ck_assert_uint_gt(len, 3000);
    ck_assert_ptr_nonnull(strstr(text + len + 1, "]: next\n"));
    free(big);
}
END_TEST

START_TEST(test_keeps_errno)
{
    errno = ENOSPC;
    msg_warn("disk full");
    ck_assert_int_eq(errno, ENOSPC);
}
END_TEST

/* The pid is asked once, and again in a forked child. */
START_TEST(test_pid_after_fork)
{
    char want[64];
    pid_t pid;
    int status;

    msg_info("parent");
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        msg_info("child");
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    snprintf(want, sizeof(want), "[%ld]: child\n", (long) pid);
    ck_assert_ptr_nonnull(strstr(log_text(), want));
    snprintf(want, sizeof(want), "[%ld]: parent\n", (long) getpid());
    ck_assert_ptr_nonnull(strstr(log_text(), want));
}
END_TEST

/* "-" logs to stderr; the tee copies to stderr whatever the destination. */
START_TEST(test_stderr_and_tee)
{
    char err_path[160];
    char buf[1024];
    ssize_t n;
    int fd;

    snprintf(err_path, sizeof(err_path), "%s.err", log_path);
    fd = open(err_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(dup2(fd, 2), 2);
    msg_tee_stderr(1);
    msg_info("to both");
    msg_tee_stderr(0);
    msg_info("file only");
    ck_assert_int_eq(msg_open("-"), 0);
    msg_warn("stderr only");
    n = pread(fd, buf, sizeof(buf) - 1, 0);
    ck_assert_int_gt(n, 0);
    buf[n] = 0;
    /* The tee has no time stamp: the terminal of a starting daemon. */
    ck_assert_ptr_nonnull(strstr(buf, "alligate/smtpd: to both\n"));
    ck_assert_ptr_null(strstr(buf, "file only"));
    ck_assert_ptr_nonnull(strstr(buf, "]: warning: stderr only\n"));
    ck_assert_ptr_nonnull(strstr(log_text(), "]: to both\n"));
    ck_assert_ptr_nonnull(strstr(log_text(), "]: file only\n"));
    ck_assert_ptr_null(strstr(log_text(), "stderr only"));
    close(fd);
}
END_TEST

/* A file that cannot be opened leaves the destination as it was. */
START_TEST(test_open_fails)
{
    ck_assert_int_eq(msg_open("/nonexistent/dir/log"), -1);
    msg_info("still here");
    ck_assert_ptr_nonnull(strstr(log_text(), "]: still here\n"));
}
END_TEST

/* The text of file path, valid until the next call. */
static const char *
file_text(const char *path)
{
    static char *text;

    if (text)
        myfree(text);
    return text = fixture_read(path, NULL);
}

/* logrotate renames the file away; reopened, lines go to a new one. */
START_TEST(test_reopen_after_rename)
{
    char old_path[160];

    snprintf(old_path, sizeof(old_path), "%s.1", log_path);
    msg_info("before");
    ck_assert_int_eq(rename(log_path, old_path), 0);
    msg_info("renamed, not yet reopened");
    ck_assert_int_eq(msg_reopen(), 0);
    msg_info("after");
    ck_assert_ptr_nonnull(strstr(file_text(old_path), "]: before\n"));
    ck_assert_ptr_nonnull(strstr(file_text(old_path), "]: renamed, not yet reopened\n"));
    ck_assert_ptr_null(strstr(file_text(old_path), "after"));
    ck_assert_ptr_nonnull(strstr(log_text(), "]: after\n"));
    ck_assert_ptr_null(strstr(log_text(), "before"));
    fixture_remove(old_path);
}
END_TEST

/* As a signal handler asks it: reopened before the next line. */
START_TEST(test_reopen_request)
{
    char old_path[160];

    snprintf(old_path, sizeof(old_path), "%s.1", log_path);
    msg_info("before");
    ck_assert_int_eq(rename(log_path, old_path), 0);
    msg_reopen_request();
    msg_info("after");
    ck_assert_ptr_null(strstr(file_text(old_path), "after"));
    ck_assert_ptr_nonnull(strstr(log_text(), "]: after\n"));
    fixture_remove(old_path);
}
END_TEST

/* The same file, opened again by msg_open (a reload with the same
 * log_file): the new file after a rename. */
START_TEST(test_open_same_path_again)
{
    char old_path[160];

    snprintf(old_path, sizeof(old_path), "%s.1", log_path);
    ck_assert_int_eq(rename(log_path, old_path), 0);
    ck_assert_int_eq(msg_open(log_path), 0);
    msg_info("after");
    ck_assert_ptr_null(strstr(file_text(old_path), "after"));
    ck_assert_ptr_nonnull(strstr(log_text(), "]: after\n"));
    fixture_remove(old_path);
}
END_TEST

/* When the new file cannot be opened, the old one goes on, and the
 * first line after a request says so. */
START_TEST(test_reopen_fails_keeps_old)
{
    char dir[160], moved[200], path[200], old_path[240];
    const char *text;

    snprintf(dir, sizeof(dir), "%s.d", log_path);
    snprintf(moved, sizeof(moved), "%s.gone", dir);
    snprintf(path, sizeof(path), "%s/log", dir);
    snprintf(old_path, sizeof(old_path), "%s/log", moved);
    fixture_mkdir(dir);
    ck_assert_int_eq(msg_open(path), 0);
    msg_info("before");
    ck_assert_int_eq(rename(dir, moved), 0);
    ck_assert_int_eq(msg_reopen(), -1);
    ck_assert_int_eq(errno, ENOENT);
    msg_reopen_request();
    msg_info("after");
    text = file_text(old_path);
    ck_assert_ptr_nonnull(strstr(text, "]: before\n"));
    ck_assert_ptr_nonnull(strstr(text, "]: warning: cannot reopen log file "));
    ck_assert_ptr_nonnull(strstr(text, "; still writing to the old one\n"));
    ck_assert_ptr_nonnull(strstr(text, "]: after\n"));
    fixture_remove(moved);
}
END_TEST

/* Reopening what is not a file does nothing. */
START_TEST(test_reopen_stderr_noop)
{
    ck_assert_int_eq(msg_open("-"), 0);
    ck_assert_int_eq(msg_reopen(), 0);
}
END_TEST

START_TEST(test_fatal_exits)
{
    msg_fatal("bad configuration");
}
END_TEST

static void
hook_exits(void)
{
    _exit(7);
}

START_TEST(test_fatal_runs_hook)
{
    msg_fatal_hook(hook_exits);
    msg_fatal("bad configuration");
}
END_TEST

/* A hook that fails fatally itself does not run again. */
static void
hook_fails(void)
{
    msg_fatal("cannot remove pid file");
}

START_TEST(test_fatal_hook_once)
{
    msg_fatal_hook(hook_fails);
    msg_fatal("bad configuration");
}
END_TEST

START_TEST(test_panic_aborts)
{
    msg_panic("broken invariant");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("msg");
    TCase *tc = tcase_create("msg");
    SRunner *sr;
    int failed;

    tcase_add_unchecked_fixture(tc, make_log, remove_log);
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_progname);
    tcase_add_test(tc, test_line_format);
    tcase_add_test(tc, test_levels);
    tcase_add_test(tc, test_vinfo);
    tcase_add_test(tc, test_long_line);
    tcase_add_test(tc, test_keeps_errno);
    tcase_add_test(tc, test_pid_after_fork);
    tcase_add_test(tc, test_stderr_and_tee);
    tcase_add_test(tc, test_open_fails);
    tcase_add_test(tc, test_reopen_after_rename);
    tcase_add_test(tc, test_reopen_request);
    tcase_add_test(tc, test_open_same_path_again);
    tcase_add_test(tc, test_reopen_fails_keeps_old);
    tcase_add_test(tc, test_reopen_stderr_noop);
    tcase_add_exit_test(tc, test_fatal_exits, 1);
    tcase_add_exit_test(tc, test_fatal_runs_hook, 7);
    tcase_add_exit_test(tc, test_fatal_hook_once, 1);
    tcase_add_test_raise_signal(tc, test_panic_aborts, SIGABRT);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
