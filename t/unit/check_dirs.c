/* Unit tests for the creation of the working directories (lib/dirs.c). */
#include <check.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "dirs.h"
#include "fixture.h"
#include "queue_dir.h"
#include "vbuf.h"

static const char *dir;
static VBUF *why;

static void
setup(void)
{
    umask(022);
    dir = fixture_dir_create("check_dirs");
    why = vbuf_create(100);
}

static void
teardown(void)
{
    conf_free(conf_activate(NULL));
    fixture_dir_remove();
    vbuf_free(why);
}

/* Activates a main.cf with the places under dir, and extra. */
static void
configure(const char *extra)
{
    VBUF *text = vbuf_create(256);

    vbuf_printf(text, "queue_directory = %s/spool/queue\n"
                "data_directory = %s/lib/data\n"
                "run_directory = %s/run\n"
                "daemon_user = root\n%s", dir, dir, dir, extra);
    conf_free(conf_activate(fixture_conf_load(vbuf_str(text))));
    vbuf_free(text);
}

/* Asserts that dir/sub is a directory with the given mode. */
static void
assert_dir(const char *sub, mode_t mode)
{
    char path[256];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    ck_assert_msg(stat(path, &st) == 0, "%s missing", path);
    ck_assert_msg(S_ISDIR(st.st_mode), "%s not a directory", path);
    ck_assert_msg((st.st_mode & 07777) == mode, "%s: mode %o, want %o", path,
                  (unsigned) (st.st_mode & 07777), (unsigned) mode);
}

static int
exists(const char *sub)
{
    char path[256];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    return stat(path, &st) == 0;
}

static void
make_file(const char *sub)
{
    fixture_write(sub, "", 0);
}

START_TEST(test_creates_all)
{
    configure("");
    vbuf_printf(why, "stale");
    ck_assert_int_eq(dirs_ensure(why), 0);
    ck_assert_str_eq(vbuf_str(why), "");
    assert_dir("spool", 0755);
    assert_dir("spool/queue", 0700);
    assert_dir("spool/queue/" QUEUE_DIR_TMP, 0700);
    assert_dir("spool/queue/" QUEUE_DIR_INCOMING, 0700);
    assert_dir("spool/queue/" QUEUE_DIR_DEFERRED, 0700);
    assert_dir("spool/queue/" QUEUE_DIR_HOLD, 0700);
    assert_dir("spool/queue/" QUEUE_DIR_CORRUPT, 0700);
    assert_dir("lib/data", 0700);
    assert_dir("run", 0755);
    /* archive = no: no archive directory. */
    ck_assert(!exists("lib/data/archive"));
}
END_TEST

START_TEST(test_idempotent)
{
    configure("");
    ck_assert_int_eq(dirs_ensure(why), 0);
    ck_assert_int_eq(dirs_ensure(why), 0);
    ck_assert_str_eq(vbuf_str(why), "");
    assert_dir("spool/queue/" QUEUE_DIR_INCOMING, 0700);
}
END_TEST

START_TEST(test_archive)
{
    configure("archive = yes\n");
    ck_assert_int_eq(dirs_ensure(why), 0);
    assert_dir("lib/data/archive", 0700);
}
END_TEST

START_TEST(test_not_a_directory)
{
    char want[256];

    make_file("run");
    configure("");
    ck_assert_int_eq(dirs_ensure(why), -1);
    snprintf(want, sizeof(want), "%s/run is not a directory", dir);
    ck_assert_str_eq(vbuf_str(why), want);
}
END_TEST

START_TEST(test_parent_not_a_directory)
{
    char want[256];

    make_file("spool");
    configure("");
    ck_assert_int_eq(dirs_ensure(why), -1);
    snprintf(want, sizeof(want), "cannot create %s/spool/queue: Not a directory", dir);
    ck_assert_str_eq(vbuf_str(why), want);
}
END_TEST

START_TEST(test_queue_subdir_is_a_file)
{
    char want[256];

    configure("");
    ck_assert_int_eq(dirs_ensure(why), 0);
    ck_assert_int_eq(rmdir(strcat(strcpy(want, dir), "/spool/queue/hold")), 0);
    make_file("spool/queue/hold");
    ck_assert_int_eq(dirs_ensure(why), -1);
    ck_assert_ptr_nonnull(strstr(vbuf_str(why), "spool/queue/hold"));
}
END_TEST

START_TEST(test_no_permission)
{
    char want[256];

    if (geteuid() == 0)
        return;                 /* root may write anywhere */
    ck_assert_int_eq(mkdir(strcat(strcpy(want, dir), "/spool"), 0555), 0);
    configure("");
    ck_assert_int_eq(dirs_ensure(why), -1);
    snprintf(want, sizeof(want), "cannot create %s/spool/queue: Permission denied", dir);
    ck_assert_str_eq(vbuf_str(why), want);
}
END_TEST

START_TEST(test_root_unknown_user)
{
    if (geteuid() != 0)
        return;                 /* daemon_user matters only to root */
    configure("daemon_user = nosuchuser-alligate\n");
    ck_assert_int_eq(dirs_ensure(why), -1);
    ck_assert_str_eq(vbuf_str(why), "daemon_user \"nosuchuser-alligate\" does not exist");
    ck_assert(!exists("spool"));
}
END_TEST

START_TEST(test_root_log_file)
{
    char extra[256];
    struct stat st;

    if (geteuid() != 0)
        return;
    snprintf(extra, sizeof(extra), "log_file = %s/alligate.log\n", dir);
    configure(extra);
    ck_assert_int_eq(dirs_ensure(why), 0);
    snprintf(extra, sizeof(extra), "%s/alligate.log", dir);
    ck_assert_int_eq(stat(extra, &st), 0);
    ck_assert(S_ISREG(st.st_mode));
    ck_assert_uint_eq(st.st_uid, 0);
}
END_TEST

/* The log's directory is made too (/var/log/alligate), owned by whoever
 * runs it; dirs_log_file() alone does the same, for a reload. */
START_TEST(test_log_file_directory)
{
    char extra[256];
    struct stat st;

    snprintf(extra, sizeof(extra), "log_file = %s/log/alligate/alligate.log\n", dir);
    configure(extra);
    ck_assert_int_eq(dirs_ensure(why), 0);
    assert_dir("log/alligate", 0755);
    if (geteuid() == 0)
        ck_assert(exists("log/alligate/alligate.log"));
    fixture_remove("log");
    ck_assert_int_eq(dirs_log_file(why), 0);
    assert_dir("log/alligate", 0755);
    snprintf(extra, sizeof(extra), "%s/log/alligate/alligate.log", dir);
    if (geteuid() == 0) {
        ck_assert_int_eq(stat(extra, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0640);
    }
}
END_TEST

/* A log_file whose directory cannot be made: said. */
START_TEST(test_log_file_directory_fails)
{
    char extra[256];

    make_file("log");
    snprintf(extra, sizeof(extra), "log_file = %s/log/alligate.log\n", dir);
    configure(extra);
    ck_assert_int_eq(dirs_log_file(why), -1);
    ck_assert_ptr_nonnull(strstr(vbuf_str(why), "/log is not a directory"));
}
END_TEST

static Suite *
dirs_suite(void)
{
    Suite *s = suite_create("dirs");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_creates_all);
    tcase_add_test(tc, test_idempotent);
    tcase_add_test(tc, test_archive);
    tcase_add_test(tc, test_not_a_directory);
    tcase_add_test(tc, test_parent_not_a_directory);
    tcase_add_test(tc, test_queue_subdir_is_a_file);
    tcase_add_test(tc, test_no_permission);
    tcase_add_test(tc, test_root_unknown_user);
    tcase_add_test(tc, test_root_log_file);
    tcase_add_test(tc, test_log_file_directory);
    tcase_add_test(tc, test_log_file_directory_fails);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(dirs_suite());
    int failed;

    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
