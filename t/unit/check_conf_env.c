/* Unit tests for the checks of daemon_user and log_file against this
 * machine (lib/conf_env.c). */
#include <check.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_env.h"
#include "fixture.h"
#include "vbuf.h"

static const char *dir;
static VBUF *errors;
static VBUF *warnings;
static CONFIG *conf;

static void
setup(void)
{
    dir = fixture_dir_create("check_conf_env");
    errors = vbuf_create(100);
    warnings = vbuf_create(100);
}

static void
teardown(void)
{
    conf_free(conf);
    conf = NULL;
    conf_set_default(P_daemon_user, NULL);
    fixture_dir_remove();
    vbuf_free(errors);
    vbuf_free(warnings);
}

/* A user that exists and is not root. */
static const char *
some_user(void)
{
    struct passwd *pw = getpwuid(geteuid());

    return geteuid() != 0 && pw ? pw->pw_name : "nobody";
}

/* Loads text (with "%s" standing for dir, up to twice) as main.cf and
 * checks it; returns conf_env_check's result. */
static int
check(const char *fmt, int as_root)
{
    char text[1024];

    snprintf(text, sizeof(text), fmt, dir, dir);
    conf_free(conf);
    conf = fixture_conf_load(text);
    vbuf_reset(errors);
    vbuf_reset(warnings);
    return conf_env_check(conf, as_root, errors, warnings);
}

/* Asserts that out holds exactly one line, "DIR/main.cf" + rest, where
 * rest may hold "%s" for dir. */
static void
assert_line(VBUF *out, const char *rest_fmt)
{
    char rest[1024], expect[1200];

    snprintf(rest, sizeof(rest), rest_fmt, dir);
    snprintf(expect, sizeof(expect), "%s/main.cf%s\n", dir, rest);
    ck_assert_str_eq(vbuf_str(out), expect);
}

START_TEST(test_good)
{
    char text[256];

    snprintf(text, sizeof(text), "daemon_user = %s\nlog_file = %%s/alligate.log\n",
             some_user());
    ck_assert_int_eq(check(text, 1), 0);
    ck_assert_str_eq(vbuf_str(errors), "");
    ck_assert_str_eq(vbuf_str(warnings), "");
    ck_assert_int_eq(check(text, 0), 0);
    ck_assert_str_eq(vbuf_str(errors), "");
    ck_assert_str_eq(vbuf_str(warnings), "");
    /* syslog, stderr */
    ck_assert_int_eq(check("log_file =\n", 0), 0);
    ck_assert_int_eq(check("log_file = -\n", 0), 0);
    ck_assert_str_eq(vbuf_str(errors), "");
}
END_TEST

START_TEST(test_user_missing)
{
    /* Set in main.cf: an error for a start as root, else a warning. */
    ck_assert_int_eq(check("\ndaemon_user = nosuchuser-alligate\n", 1), -1);
    assert_line(errors, ":2: daemon_user: user \"nosuchuser-alligate\" does not exist");
    ck_assert_str_eq(vbuf_str(warnings), "");
    ck_assert_int_eq(check("\ndaemon_user = nosuchuser-alligate\n", 0), 0);
    ck_assert_str_eq(vbuf_str(errors), "");
    assert_line(warnings, ":2: daemon_user: user \"nosuchuser-alligate\" does not "
                          "exist (it matters only when started as root)");
}
END_TEST

/* The default ("alligate", which only the package makes) missing: a
 * fresh machine's check as root passes, with a warning; without root,
 * nothing at all. */
START_TEST(test_default_user_missing)
{
    conf_set_default(P_daemon_user, "nosuchuser-alligate");
    ck_assert_int_eq(check("# nothing\n", 1), 0);
    ck_assert_str_eq(vbuf_str(errors), "");
    assert_line(warnings, ": daemon_user (default): user \"nosuchuser-alligate\" does "
                          "not exist: alligatectl start will fail as root; create it (the "
                          "package does) or set daemon_user");
    ck_assert_int_eq(check("# nothing\n", 0), 0);
    ck_assert_str_eq(vbuf_str(errors), "");
    ck_assert_str_eq(vbuf_str(warnings), "");
}
END_TEST

START_TEST(test_user_root)
{
    ck_assert_int_eq(check("daemon_user = root\n", 1), -1);
    assert_line(errors, ":1: daemon_user: user \"root\" has uid 0: every process but "
                        "master must run as an unprivileged user");
    ck_assert_int_eq(check("daemon_user = root\n", 0), 0);
    ck_assert_str_eq(vbuf_str(errors), "");
    assert_line(warnings, ":1: daemon_user: user \"root\" has uid 0: every process but "
                          "master must run as an unprivileged user");
}
END_TEST

START_TEST(test_log_file_not_absolute)
{
    ck_assert_int_eq(check("log_file = log/alligate.log\n", 0), -1);
    assert_line(errors, ":1: log_file: not an absolute path (use a path from /, - for "
                        "standard error, or nothing for syslog)");
}
END_TEST

START_TEST(test_log_file_directory_given)
{
    ck_assert_int_eq(check("log_file = %s\n", 0), -1);
    assert_line(errors, ":1: log_file: \"%s\" is a directory");
    ck_assert_int_eq(check("log_file = %s/log/\n", 0), -1);
    assert_line(errors, ":1: log_file: \"%s/log/\" names a directory, not a file");
}
END_TEST

START_TEST(test_log_file_under_a_file)
{
    fixture_write_str("afile", "x\n");
    ck_assert_int_eq(check("log_file = %s/afile/alligate.log\n", 0), -1);
    assert_line(errors, ":1: log_file: \"%s/afile\" is not a directory");
    ck_assert_int_eq(check("log_file = %s/afile/more/alligate.log\n", 0), -1);
    assert_line(errors, ":1: log_file: \"%s/afile\" is not a directory");
}
END_TEST

/* Missing directories: alligatectl start makes them (lib/dirs.c). */
START_TEST(test_log_file_directories_start_makes)
{
    ck_assert_int_eq(check("log_file = %s/log/alligate/alligate.log\n", 0), 0);
    ck_assert_str_eq(vbuf_str(errors), "");
    fixture_write_str("alligate.log", "an old line\n");
    ck_assert_int_eq(check("log_file = %s/alligate.log\n", 0), 0);
    ck_assert_str_eq(vbuf_str(errors), "");
}
END_TEST

/* Where whoever runs the check cannot write (root can everywhere). */
START_TEST(test_log_file_not_writable)
{
    char path[512];

    if (geteuid() == 0)
        return;
    fixture_mkdir("ro");
    fixture_write_str("ro/alligate.log", "x\n");
    snprintf(path, sizeof(path), "%s/ro/alligate.log", dir);
    ck_assert_int_eq(chmod(path, 0400), 0);
    snprintf(path, sizeof(path), "%s/ro", dir);
    ck_assert_int_eq(chmod(path, 0555), 0);
    ck_assert_int_eq(check("log_file = %s/ro/alligate.log\n", 0), -1);
    assert_line(errors, ":1: log_file: cannot write \"%s/ro/alligate.log\": "
                        "Permission denied");
    ck_assert_int_eq(check("log_file = %s/ro/new.log\n", 0), -1);
    assert_line(errors, ":1: log_file: cannot create the file in \"%s/ro\": "
                        "Permission denied");
    ck_assert_int_eq(check("log_file = %s/ro/sub/dir/new.log\n", 0), -1);
    assert_line(errors, ":1: log_file: cannot create the file's directory in "
                        "\"%s/ro\": Permission denied");
}
END_TEST

/* Both parameters wrong: both said, errors and warnings apart. */
START_TEST(test_both)
{
    ck_assert_int_eq(check("daemon_user = nosuchuser-alligate\nlog_file = x.log\n", 0), -1);
    assert_line(warnings, ":1: daemon_user: user \"nosuchuser-alligate\" does not "
                          "exist (it matters only when started as root)");
    assert_line(errors, ":2: log_file: not an absolute path (use a path from /, - for "
                        "standard error, or nothing for syslog)");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("conf_env");
    TCase *tc = tcase_create("conf_env");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_good);
    tcase_add_test(tc, test_user_missing);
    tcase_add_test(tc, test_default_user_missing);
    tcase_add_test(tc, test_user_root);
    tcase_add_test(tc, test_log_file_not_absolute);
    tcase_add_test(tc, test_log_file_directory_given);
    tcase_add_test(tc, test_log_file_under_a_file);
    tcase_add_test(tc, test_log_file_directories_start_makes);
    tcase_add_test(tc, test_log_file_not_writable);
    tcase_add_test(tc, test_both);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
