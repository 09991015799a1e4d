/* Unit tests for the queue directory: its creation, the room left, the
 * cleanup of tmp/. */
#include <check.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_queue.h"
#include "queue_dir.h"

START_TEST(test_dir_init)
{
    static const char *subs[] = {"tmp", "incoming", "deferred", "hold", "corrupt", "archive"};
    VBUF   *why = vbuf_create(100);
    struct stat st;
    char    sub[256];
    size_t  i;

    for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        snprintf(sub, sizeof(sub), "%s/%s", queue_dir, subs[i]);
        ck_assert_int_eq(stat(sub, &st), 0);
        ck_assert(S_ISDIR(st.st_mode));
        ck_assert_int_eq(st.st_mode & 0777, 0700);
    }
    ck_assert_int_eq(queue_dir_init(queue_dir, why), 0);

    fixture_remove(QUEUE_DIR_HOLD);
    fixture_write(QUEUE_DIR_HOLD, "", 0);
    ck_assert_int_eq(queue_dir_init(queue_dir, why), -1);
    snprintf(sub, sizeof(sub), "create directory %s/hold: Not a directory", queue_dir);
    ck_assert_str_eq(vbuf_str(why), sub);

    ck_assert_int_eq(queue_dir_init("/nonexistent/queue", why), -1);
    ck_assert_str_eq(vbuf_str(why),
                     "create directory /nonexistent/queue/tmp: No such file or directory");
    vbuf_free(why);
}
END_TEST

/* Sets a file's times to age seconds ago. */
static void
backdate(const char *path, int age)
{
    struct timeval tv[2];

    gettimeofday(&tv[0], NULL);
    tv[0].tv_sec -= age;
    tv[1] = tv[0];
    ck_assert_int_eq(utimes(path, tv), 0);
}

/* Makes a tmp/ file as a dead writer leaves it, last written age s ago. */
static void
make_dead_tmp(const char *name, int age)
{
    fixture_write(qpath("tmp", name), HEAD "T 1\n", 21);
    backdate(path_buf, age);
}

START_TEST(test_cleanup_tmp)
{
    char    live[QUEUE_ID_LEN + 1] = "", go = 'x';
    int     to_kid[2], from_kid[2], status;
    pid_t   pid;
    struct stat st;

    /* A live writer in another process, its file made to look old. */
    ck_assert_int_eq(pipe(to_kid), 0);
    ck_assert_int_eq(pipe(from_kid), 0);
    if ((pid = fork()) == 0) {
        QUEUE_WRITER *qf = queue_write_create(queue_dir, NULL);

        if (qf == NULL || write(from_kid[1], queue_write_id(qf), QUEUE_ID_LEN) != QUEUE_ID_LEN)
            _exit(1);
        if (read(to_kid[0], &go, 1) < 0)
            _exit(1);
        _exit(0);                       /* dies without cleaning up */
    }
    ck_assert_int_eq(read(from_kid[0], live, QUEUE_ID_LEN), QUEUE_ID_LEN);
    backdate(qpath("tmp", live), 7200);
    make_dead_tmp("00000000000000DEAD1", 7200);
    make_dead_tmp("00000000000000DEAD2", 10);      /* dead, but young */
    make_dead_tmp("not-a-queue-file", 7200);

    ck_assert_int_eq(queue_dir_cleanup_tmp(queue_dir, 3600), 1);
    ck_assert_int_ne(stat(qpath("tmp", "00000000000000DEAD1"), &st), 0);
    ck_assert_int_eq(stat(qpath("tmp", live), &st), 0);
    ck_assert_int_eq(stat(qpath("tmp", "00000000000000DEAD2"), &st), 0);
    ck_assert_int_eq(stat(qpath("tmp", "not-a-queue-file"), &st), 0);

    /* The writer dies: its file goes too. */
    ck_assert_int_eq(write(to_kid[1], &go, 1), 1);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(status, 0);
    ck_assert_int_eq(queue_dir_cleanup_tmp(queue_dir, 3600), 1);
    ck_assert_int_ne(stat(qpath("tmp", live), &st), 0);
    ck_assert_int_eq(queue_dir_cleanup_tmp(queue_dir, 0), 1);
    ck_assert_int_eq(count_files("tmp"), 1);
    ck_assert_int_eq(queue_dir_cleanup_tmp("/nonexistent", 0), -1);
}
END_TEST

START_TEST(test_path)
{
    VBUF   *path = vbuf_create(1);

    ck_assert_str_eq(queue_dir_path(path, "/var/spool/alligate", QUEUE_DIR_DEFERRED,
                                    "0123456789ABCDEF012"),
                     "/var/spool/alligate/deferred/0123456789ABCDEF012");
    ck_assert_str_eq(vbuf_str(path), "/var/spool/alligate/deferred/0123456789ABCDEF012");
    /* Reset, not appended; no id: the directory itself. */
    ck_assert_str_eq(queue_dir_path(path, "q", QUEUE_DIR_TMP, NULL), "q/tmp");
    ck_assert_uint_eq(vbuf_len(path), 5);
    vbuf_free(path);
}
END_TEST

START_TEST(test_space_ok)
{
    ck_assert_int_eq(queue_dir_space_ok(queue_dir, 0, 0), 1);
    ck_assert_int_eq(queue_dir_space_ok(queue_dir, 0, 1000), 1);
    ck_assert_int_eq(queue_dir_space_ok(queue_dir, ~0ULL, 0), 0);
    ck_assert_int_eq(queue_dir_space_ok(queue_dir, 1, ~0ULL), 0);
    ck_assert_int_eq(queue_dir_space_ok("/nonexistent/queue", 0, 0), -1);
}
END_TEST

int
main(void)
{
    Suite  *s = suite_create("queue_dir");
    TCase  *tc = tcase_create("queue_dir");
    SRunner *sr;
    int     failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_dir_init);
    tcase_add_test(tc, test_cleanup_tmp);
    tcase_add_test(tc, test_space_ok);
    tcase_add_test(tc, test_path);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
