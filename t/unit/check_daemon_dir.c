/* Unit tests for finding the daemon programs beside the running one
 * (lib/daemon_dir.c), and the run-time default it sets (conf_set_default). */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "daemon_dir.h"
#include "fixture.h"

static const char *dir;

static void
setup(void)
{
    dir = fixture_dir_create("check_daemon_dir");
}

static void
teardown(void)
{
    fixture_dir_remove();
}

/* An executable file NAME in the test's directory. */
static void
program(const char *name, mode_t mode)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fixture_write_str(path, "#!/bin/sh\n");
    ck_assert_int_eq(chmod(path, mode), 0);
}

static const char *
self(void)
{
    static char path[512];

    snprintf(path, sizeof(path), "%s/alligatectl", dir);
    return path;
}

START_TEST(test_build_tree)
{
    char out[512];

    program("alligatectl", 0755);
    program("master", 0755);
    program("smtpd", 0755);
    ck_assert_int_eq(daemon_dir_pick(self(), "/usr/lib/alligate", out, sizeof(out)), 1);
    ck_assert_str_eq(out, dir);
}
END_TEST

/* Installed: alligatectl in sbin, nothing beside it. */
START_TEST(test_nothing_beside)
{
    char out[512] = "x";

    program("alligatectl", 0755);
    ck_assert_int_eq(daemon_dir_pick(self(), "/usr/lib/alligate", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "");
    /* master alone is not enough; nor one that cannot run. */
    program("master", 0755);
    ck_assert_int_eq(daemon_dir_pick(self(), "/usr/lib/alligate", out, sizeof(out)), 0);
    program("smtpd", 0644);
    ck_assert_int_eq(daemon_dir_pick(self(), "/usr/lib/alligate", out, sizeof(out)), 0);
    /* A directory by the name is not a program. */
    fixture_remove("smtpd");
    fixture_mkdir("smtpd");
    ck_assert_int_eq(daemon_dir_pick(self(), "/usr/lib/alligate", out, sizeof(out)), 0);
}
END_TEST

/* master in the built-in directory: nothing to say. */
START_TEST(test_builtin_directory_itself)
{
    char out[512], builtin[600];

    program("master", 0755);
    program("smtpd", 0755);
    ck_assert_int_eq(daemon_dir_pick(self(), dir, out, sizeof(out)), 0);
    /* Also spelled otherwise. */
    snprintf(builtin, sizeof(builtin), "%s/.//", dir);
    ck_assert_int_eq(daemon_dir_pick(self(), builtin, out, sizeof(out)), 0);
}
END_TEST

START_TEST(test_odd_names)
{
    char out[8];

    ck_assert_int_eq(daemon_dir_pick("alligatectl", "/usr/lib/alligate", out, sizeof(out)), 0);
    ck_assert_int_eq(daemon_dir_pick("", "/usr/lib/alligate", out, sizeof(out)), 0);
    /* Too long for out. */
    program("master", 0755);
    program("smtpd", 0755);
    ck_assert_int_eq(daemon_dir_pick(self(), "/usr/lib/alligate", out, sizeof(out)), 0);
}
END_TEST

/* The default found is what an unset daemon_directory is; main.cf wins. */
START_TEST(test_run_time_default)
{
    CONFIG *conf;

    conf_set_default(P_daemon_directory, "/opt/build/bin");
    conf = fixture_conf_load("");
    ck_assert_str_eq(conf_value(conf, P_daemon_directory), "/opt/build/bin");
    ck_assert_int_eq(conf_is_set(conf, P_daemon_directory), 0);
    conf_free(conf);
    conf = fixture_conf_load("daemon_directory = /srv/alligate\n");
    ck_assert_str_eq(conf_value(conf, P_daemon_directory), "/srv/alligate");
    conf_free(conf);
    conf_set_default(P_daemon_directory, NULL);
    conf = fixture_conf_load("");
    ck_assert_str_eq(conf_value(conf, P_daemon_directory), conf_params[P_daemon_directory].def);
    conf_free(conf);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("daemon_dir");
    TCase *tc = tcase_create("daemon_dir");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_build_tree);
    tcase_add_test(tc, test_nothing_beside);
    tcase_add_test(tc, test_builtin_directory_itself);
    tcase_add_test(tc, test_odd_names);
    tcase_add_test(tc, test_run_time_default);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
