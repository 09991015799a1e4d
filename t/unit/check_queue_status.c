/* Unit tests for the deferred messages' side records (lib/queue_status.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "queue_dir.h"
#include "queue_status.h"

static const char *dir;

static void
setup(void)
{
    dir = fixture_dir_create("check_queue_status");
}

static void
teardown(void)
{
    fixture_dir_remove();
}

/* Writes text as dir/sub/name, making sub if need be. */
static void
put_file(const char *sub, const char *name, const char *text)
{
    char path[256];

    fixture_mkdir(sub);
    snprintf(path, sizeof(path), "%s/%s", sub, name);
    fixture_write_str(path, text);
}

static int
exists(const char *sub, const char *name)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
    return access(path, F_OK) == 0;
}

START_TEST(test_round_trip)
{
    QUEUE_STATUS st = {3, 1763765728, 1763766028, "connect to [127.0.0.1]:25: Connection refused"};
    QUEUE_STATUS got;

    ck_assert_int_eq(queue_status_write(dir, "6B0220A3D3252003EDD", &st), 0);
    ck_assert_int_eq(queue_status_read(dir, "6B0220A3D3252003EDD", &got), 0);
    ck_assert_int_eq(got.attempts, 3);
    ck_assert_int_eq(got.last_attempt, 1763765728);
    ck_assert_int_eq(got.next_try, 1763766028);
    ck_assert_str_eq(got.reason, st.reason);

    /* A second write replaces the first. */
    st.attempts = 4;
    strcpy(st.reason, "451 4.3.0 try later");
    ck_assert_int_eq(queue_status_write(dir, "6B0220A3D3252003EDD", &st), 0);
    ck_assert_int_eq(queue_status_read(dir, "6B0220A3D3252003EDD", &got), 0);
    ck_assert_int_eq(got.attempts, 4);
    ck_assert_str_eq(got.reason, "451 4.3.0 try later");
}
END_TEST

START_TEST(test_reason_made_printable_and_bounded)
{
    QUEUE_STATUS st;
    QUEUE_STATUS got;

    memset(&st, 0, sizeof(st));
    strcpy(st.reason, "bad\r\nreply\x01 \xff end");
    ck_assert_int_eq(queue_status_write(dir, "A", &st), 0);
    ck_assert_int_eq(queue_status_read(dir, "A", &got), 0);
    ck_assert_str_eq(got.reason, "bad??reply? ? end");

    memset(st.reason, 'x', QUEUE_STATUS_REASON_MAX);
    st.reason[QUEUE_STATUS_REASON_MAX] = 0;
    ck_assert_int_eq(queue_status_write(dir, "B", &st), 0);
    ck_assert_int_eq(queue_status_read(dir, "B", &got), 0);
    ck_assert_uint_eq(strlen(got.reason), QUEUE_STATUS_REASON_MAX);
}
END_TEST

START_TEST(test_missing_and_malformed)
{
    QUEUE_STATUS got;

    memset(&got, 0x55, sizeof(got));
    ck_assert_int_eq(queue_status_read(dir, "NONE", &got), -1);
    ck_assert_int_eq(got.attempts, 0);
    ck_assert_str_eq(got.reason, "");

    /* A damaged record: junk lines ignored, control bytes not shown. */
    put_file(QUEUE_DIR_STATUS, "C", "garbage\nattempts=7x\n=\nreason=a\x1b[31mb\nnext_try");
    ck_assert_int_eq(queue_status_read(dir, "C", &got), 0);
    ck_assert_int_eq(got.attempts, 7);
    ck_assert_int_eq(got.next_try, 0);
    ck_assert_str_eq(got.reason, "a?[31mb");
}
END_TEST

START_TEST(test_remove_and_cleanup)
{
    QUEUE_STATUS st;

    memset(&st, 0, sizeof(st));
    ck_assert_int_eq(queue_status_write(dir, "6B0220A3D3252003ED1", &st), 0);
    ck_assert_int_eq(queue_status_write(dir, "6B0220A3D3252003ED2", &st), 0);
    ck_assert_int_eq(queue_status_write(dir, "6B0220A3D3252003ED3", &st), 0);
    ck_assert_int_eq(queue_status_write(dir, "6B0220A3D3252003ED4", &st), 0);
    put_file(QUEUE_DIR_DEFERRED, "6B0220A3D3252003ED1", "x");
    put_file(QUEUE_DIR_HOLD, "6B0220A3D3252003ED2", "x");

    queue_status_remove(dir, "6B0220A3D3252003ED4");
    ck_assert(!exists(QUEUE_DIR_STATUS, "6B0220A3D3252003ED4"));
    queue_status_remove(dir, "6B0220A3D3252003ED4");     /* twice is harmless */

    /* Not a queue id: not ours to remove. */
    put_file(QUEUE_DIR_STATUS, "README", "x");
    ck_assert_int_eq(queue_status_cleanup(dir), 1);
    ck_assert(exists(QUEUE_DIR_STATUS, "README"));
    ck_assert(exists(QUEUE_DIR_STATUS, "6B0220A3D3252003ED1"));
    ck_assert(exists(QUEUE_DIR_STATUS, "6B0220A3D3252003ED2"));
    ck_assert(!exists(QUEUE_DIR_STATUS, "6B0220A3D3252003ED3"));
}
END_TEST

START_TEST(test_write_error)
{
    QUEUE_STATUS st;

    memset(&st, 0, sizeof(st));
    ck_assert_int_eq(queue_status_write("/nonexistent/queue", "A", &st), -1);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("queue_status");
    TCase *tc = tcase_create("queue_status");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_reason_made_printable_and_bounded);
    tcase_add_test(tc, test_missing_and_malformed);
    tcase_add_test(tc, test_remove_and_cleanup);
    tcase_add_test(tc, test_write_error);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
