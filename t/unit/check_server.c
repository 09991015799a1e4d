/* Unit tests for the daemon skeleton (lib/server.c): arguments,
 * configuration, log, privileges, signal flags, and the descriptors
 * master hands a child. */
#include <check.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"
#include "fixture.h"
#include "master_proto.h"
#include "msg.h"
#include "server.h"
#include "vbuf.h"

/* Made once by the runner (as whoever runs the tests), so that a test
 * that drops privileges leaves nothing it cannot remove; writable by all,
 * so that such a test can still rewrite main.cf. */
static const char *dir;

static void
dir_create(void)
{
    dir = fixture_dir_create("check_server");
    if (chmod(dir, 0777) < 0)
        abort();
}

static void
dir_remove(void)
{
    fixture_dir_remove();
}

/* Writes main.cf; daemon_user is one that exists and is not root.  The
 * old file goes first: a test that dropped privileges cannot write it. */
static void
write_config(const char *extra)
{
    char path[128];
    VBUF *text = vbuf_create(256);

    vbuf_printf(text, "daemon_user = nobody\nmyhostname = mx.example.com\n%s",
                extra);
    snprintf(path, sizeof(path), "%s/main.cf", dir);
    unlink(path);
    fixture_write_str(path, vbuf_str(text));
    vbuf_free(text);
}

/* server_init with the arguments after the program name. */
static void
init(const char *const *args)
{
    char *argv[16];
    int argc = 0;

    argv[argc++] = (char *) "smtpd";
    while (*args)
        argv[argc++] = (char *) *args++;
    argv[argc] = NULL;
    server_init(argc, argv, "smtpd");
}

START_TEST(test_arguments)
{
    const char *args[] = {"-c", dir, "-f", "-v", "-s", "submission", "-n", "2", NULL};

    write_config("smtpd_timeout = 7s\n");
    init(args);
    ck_assert_str_eq(server.name, "smtpd");
    ck_assert_str_eq(server.config_dir, dir);
    ck_assert_str_eq(server.service, "submission");
    ck_assert_int_eq(server.foreground, 1);
    ck_assert_int_eq(server.by_master, 0);
    ck_assert_int_eq(server.listen_count, 2);
    ck_assert_int_eq(server.listen_fds[0], MASTER_LISTEN_FD);
    ck_assert_int_eq(server.listen_fds[1], MASTER_LISTEN_FD + 1);
    ck_assert_int_eq(msg_verbose, 1);
    ck_assert_str_eq(msg_progname(), "alligate/smtpd");
    /* The configuration is loaded and active. */
    ck_assert_int_eq(conf_time_ms(P_smtpd_timeout), 7000);
    ck_assert_str_eq(conf_str(P_myhostname), "mx.example.com");
}
END_TEST

START_TEST(test_defaults)
{
    const char *args[] = {"-c", dir, NULL};

    write_config("");
    init(args);
    ck_assert_str_eq(server.service, "smtpd");
    ck_assert_int_eq(server.foreground, 0);
    ck_assert_int_eq(server.listen_count, 0);
    ck_assert_int_eq(server_master_alive(), 1);
    server_report(MASTER_STAT_BUSY);        /* no master: a no-op */
}
END_TEST

START_TEST(test_no_config_dir)
{
    const char *args[] = {"-f", NULL};

    init(args);
}
END_TEST

START_TEST(test_extra_argument)
{
    const char *args[] = {"-c", dir, "surplus", NULL};

    write_config("");
    init(args);
}
END_TEST

START_TEST(test_unknown_option)
{
    const char *args[] = {"-c", dir, "-x", NULL};

    write_config("");
    init(args);
}
END_TEST

START_TEST(test_too_many_listeners)
{
    const char *args[] = {"-c", dir, "-n", "17", NULL};

    write_config("");
    init(args);
}
END_TEST

START_TEST(test_bad_config)
{
    const char *args[] = {"-c", dir, "-f", NULL};

    write_config("smtpd_timeout = forever\n");
    init(args);
}
END_TEST

START_TEST(test_missing_config)
{
    const char *args[] = {"-c", "/nonexistent/alligate", "-f", NULL};

    init(args);
}
END_TEST

START_TEST(test_root_daemon_user)
{
    const char *args[] = {"-c", dir, "-f", NULL};

    if (geteuid() != 0)
        exit(1);                /* what root would see */
    write_config("daemon_user = root\n");
    init(args);
}
END_TEST

START_TEST(test_drops_privileges)
{
    const char *args[] = {"-c", dir, "-f", NULL};
    struct passwd *pw;

    write_config("");
    if (geteuid() != 0) {
        uid_t uid = getuid();

        init(args);
        ck_assert_int_eq(getuid(), uid);        /* nothing to drop */
        return;
    }
    ck_assert_ptr_nonnull(pw = getpwnam("nobody"));
    init(args);
    ck_assert_int_eq(getuid(), pw->pw_uid);
    ck_assert_int_eq(geteuid(), pw->pw_uid);
    ck_assert_int_eq(getgid(), pw->pw_gid);
    ck_assert_int_eq(getegid(), pw->pw_gid);
    /* For good. */
    ck_assert_int_ne(setuid(0), 0);
}
END_TEST

START_TEST(test_signal_flags)
{
    const char *args[] = {"-c", dir, "-f", NULL};

    write_config("");
    init(args);
    ck_assert_int_eq(server_sigterm, 0);
    ck_assert_int_eq(server_sighup, 0);
    raise(SIGHUP);
    ck_assert_int_eq(server_sighup, 1);
    ck_assert_int_eq(server_sigterm, 0);
    raise(SIGTERM);
    ck_assert_int_eq(server_sigterm, 1);
    server_sigterm = 0;
    raise(SIGINT);                      /* not under master: stop */
    ck_assert_int_eq(server_sigterm, 1);
    raise(SIGPIPE);                     /* ignored */
}
END_TEST

START_TEST(test_early_signal_kept)
{
    /* master starts children with SIGHUP and SIGTERM blocked; one sent
     * before the handlers exist must not be lost. */
    const char *args[] = {"-c", dir, "-f", NULL};
    sigset_t mask;

    write_config("");
    sigemptyset(&mask);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGTERM);
    ck_assert_int_eq(sigprocmask(SIG_BLOCK, &mask, NULL), 0);
    raise(SIGHUP);
    init(args);
    ck_assert_int_eq(server_sighup, 1);
    ck_assert_int_eq(server_sigterm, 0);
}
END_TEST

/* Runs server_init with -m in a child whose descriptors 3 and 4 are
 * master's pipes; returns the child's exit status. */
static int
run_under_master(int close_life)
{
    const char *args[] = {"-c", dir, "-f", "-m", NULL};
    int life[2], status_pipe[2];
    MASTER_STATUS rec;
    pid_t pid;
    int status;

    ck_assert_int_eq(pipe(life), 0);
    ck_assert_int_eq(pipe(status_pipe), 0);
    if (close_life)
        close(life[1]);                 /* master died before we started */
    ck_assert_int_ge(pid = fork(), 0);
    if (pid == 0) {
        /* Out of the way of 3 and 4 first. */
        int life_r = fcntl(life[0], F_DUPFD, 10);
        int status_w = fcntl(status_pipe[1], F_DUPFD, 10);

        if (dup2(life_r, MASTER_LIFE_FD) < 0 || dup2(status_w, MASTER_STATUS_FD) < 0)
            _exit(10);
        if (!close_life)
            close(life[1]);
        init(args);
        if (!server.by_master)
            _exit(11);
        if (server_master_alive() != !close_life)
            _exit(12);
        server_report(MASTER_STAT_BUSY);
        _exit(0);
    }
    close(life[0]);
    close(status_pipe[1]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(read(status_pipe[0], &rec, sizeof(rec)), sizeof(rec));
    ck_assert_int_eq(rec.pid, pid);
    ck_assert_int_eq(rec.status, MASTER_STAT_BUSY);
    close(status_pipe[0]);
    if (!close_life)
        close(life[1]);
    return status;
}

START_TEST(test_master_alive)
{
    write_config("");
    ck_assert_int_eq(run_under_master(0), 0);
}
END_TEST

START_TEST(test_master_gone)
{
    write_config("");
    ck_assert_int_eq(run_under_master(1), 0);
}
END_TEST

START_TEST(test_log_file)
{
    const char *args[] = {"-c", dir, NULL};
    char extra[256], path[128], buf[4096];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "%s/log.%d", dir, (int) getpid());
    snprintf(extra, sizeof(extra), "log_file = %s\n", path);
    write_config(extra);
    /* Readable after the privileges are gone. */
    ck_assert_int_ge(fd = open(path, O_WRONLY | O_CREAT, 0644), 0);
    close(fd);
    init(args);
    msg_info("hello from %s", "the test");
    ck_assert_int_ge(fd = open(path, O_RDONLY), 0);
    n = read(fd, buf, sizeof(buf) - 1);
    ck_assert_int_gt(n, 0);
    buf[n] = 0;
    ck_assert_ptr_nonnull(strstr(buf, " alligate/smtpd["));
    ck_assert_ptr_nonnull(strstr(buf, "]: hello from the test\n"));
    close(fd);
}
END_TEST

START_TEST(test_reload)
{
    const char *args[] = {"-c", dir, "-f", NULL};

    write_config("smtpd_timeout = 7s\n");
    init(args);
    ck_assert_int_eq(conf_time_ms(P_smtpd_timeout), 7000);
    write_config("smtpd_timeout = 9s\n");
    ck_assert_int_eq(server_reload(), 0);
    ck_assert_int_eq(conf_time_ms(P_smtpd_timeout), 9000);
    /* A bad configuration keeps the one in use. */
    write_config("smtpd_timeout = never\n");
    ck_assert_int_eq(server_reload(), -1);
    ck_assert_int_eq(conf_time_ms(P_smtpd_timeout), 9000);
}
END_TEST

START_TEST(test_reload_as_daemon_user)
{
    /* After dropping privileges the daemon can still read main.cf (it is
     * world-readable here, as etc/main.cf is installed). */
    const char *args[] = {"-c", dir, "-f", NULL};
    char path[128];

    write_config("smtpd_timeout = 7s\n");
    snprintf(path, sizeof(path), "%s/main.cf", dir);
    ck_assert_int_eq(chmod(path, 0644), 0);
    init(args);
    ck_assert_int_eq(server_reload(), 0);
    ck_assert_int_eq(conf_time_ms(P_smtpd_timeout), 7000);
}
END_TEST

static Suite *
server_suite(void)
{
    Suite *s = suite_create("server");
    TCase *tc = tcase_create("core");

    tcase_add_unchecked_fixture(tc, dir_create, dir_remove);
    tcase_add_test(tc, test_arguments);
    tcase_add_test(tc, test_defaults);
    tcase_add_exit_test(tc, test_no_config_dir, 1);
    tcase_add_exit_test(tc, test_extra_argument, 1);
    tcase_add_exit_test(tc, test_unknown_option, 1);
    tcase_add_exit_test(tc, test_too_many_listeners, 1);
    tcase_add_exit_test(tc, test_bad_config, 1);
    tcase_add_exit_test(tc, test_missing_config, 1);
    tcase_add_exit_test(tc, test_root_daemon_user, 1);
    tcase_add_test(tc, test_drops_privileges);
    tcase_add_test(tc, test_signal_flags);
    tcase_add_test(tc, test_early_signal_kept);
    tcase_add_test(tc, test_master_alive);
    tcase_add_test(tc, test_master_gone);
    tcase_add_test(tc, test_log_file);
    tcase_add_test(tc, test_reload);
    tcase_add_test(tc, test_reload_as_daemon_user);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(server_suite());
    int failed;

    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
