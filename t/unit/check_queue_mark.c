/* Unit tests for recipient marks. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "check_queue.h"
#include "queue_mark.h"
#include "queue_read.h"
#include "queue_write.h"

START_TEST(test_many_recipients_and_marks)
{
    VBUF   *why = vbuf_create(100);
    QUEUE_ENVELOPE env;
    QUEUE_WRITER *qf = queue_write_create(queue_dir, why);
    char    id[QUEUE_ID_LEN + 1], rcpt[300], c;
    int     i, fd, n = 5000;

    strcpy(id, queue_write_id(qf));
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_ARRIVAL, "1"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_SENDER, "s@example.com"), 0);
    for (i = 0; i < n; i++)     /* about 250 kB of envelope */
        ck_assert_int_eq(queue_write_recf(qf, QUEUE_REC_RCPT, "user%d.%030d@example.org", i, i), 0);
    ck_assert_int_eq(queue_write_begin_message(qf), 0);
    ck_assert_int_eq(queue_write_message(qf, "x", 1), 0);
    ck_assert_int_eq(queue_write_commit(qf, why), 0);

    ck_assert_int_eq(queue_read(qpath("incoming", id), &env, why), QUEUE_READ_OK);
    ck_assert_uint_eq(env.rcpt_count, (size_t) n);
    for (i = 0; i < n; i++) {
        snprintf(rcpt, sizeof(rcpt), "user%d.%030d@example.org", i, i);
        ck_assert_str_eq(env.rcpt[i].address, rcpt);
    }

    /* Mark two recipients, then read again. */
    fd = open(qpath("incoming", id), O_RDWR);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(queue_mark_rcpt(fd, env.rcpt[0].offset, QUEUE_RCPT_DELIVERED), 0);
    ck_assert_int_eq(queue_mark_rcpt(fd, env.rcpt[4321].offset, QUEUE_RCPT_BOUNCED), 0);
    /* Wrong places and statuses are refused and change nothing. */
    errno = 0;
    ck_assert_int_eq(queue_mark_rcpt(fd, env.rcpt[1].offset + 1, QUEUE_RCPT_DELIVERED), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(queue_mark_rcpt(fd, env.rcpt[1].offset, 'X'), -1);
    ck_assert_int_eq(queue_mark_rcpt(fd, env.message_offset - 23, QUEUE_RCPT_DELIVERED), -1);
    ck_assert_int_eq(queue_mark_rcpt(fd, 0, QUEUE_RCPT_DELIVERED), -1);
    ck_assert_int_eq(queue_mark_rcpt(fd, 1 << 30, QUEUE_RCPT_DELIVERED), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(pread(fd, &c, 1, env.message_offset - 23), 1);
    ck_assert_int_eq(c, 'M');
    close(fd);
    queue_read_free(&env);

    ck_assert_int_eq(queue_read(qpath("incoming", id), &env, why), QUEUE_READ_OK);
    ck_assert_int_eq(env.rcpt[0].status, QUEUE_RCPT_DELIVERED);
    ck_assert_int_eq(env.rcpt[1].status, QUEUE_RCPT_PENDING);
    ck_assert_int_eq(env.rcpt[4321].status, QUEUE_RCPT_BOUNCED);
    ck_assert_str_eq(env.rcpt[4321].address, "user4321.000000000000000000000000004321@example.org");
    ck_assert_int_eq(env.rcpt[4999].status, QUEUE_RCPT_PENDING);
    ck_assert_int_eq(env.message_length, 1);

    /* Several at once: all set, or all up to the first bad offset. */
    {
        off_t   offsets[4];

        offsets[0] = env.rcpt[10].offset;
        offsets[1] = env.rcpt[11].offset;
        offsets[2] = env.rcpt[12].offset;
        fd = open(qpath("incoming", id), O_RDWR);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(queue_mark_rcpts(fd, offsets, 3, QUEUE_RCPT_DELIVERED), 0);
        ck_assert_int_eq(queue_mark_rcpts(fd, offsets, 0, QUEUE_RCPT_DELIVERED), 0);
        offsets[0] = env.rcpt[20].offset;
        offsets[1] = env.rcpt[21].offset + 1;
        offsets[2] = env.rcpt[22].offset;
        errno = 0;
        ck_assert_int_eq(queue_mark_rcpts(fd, offsets, 3, QUEUE_RCPT_BOUNCED), -1);
        ck_assert_int_eq(errno, EINVAL);
        close(fd);
    }
    queue_read_free(&env);
    ck_assert_int_eq(queue_read(qpath("incoming", id), &env, why), QUEUE_READ_OK);
    for (i = 10; i < 13; i++)
        ck_assert_int_eq(env.rcpt[i].status, QUEUE_RCPT_DELIVERED);
    ck_assert_int_eq(env.rcpt[13].status, QUEUE_RCPT_PENDING);
    ck_assert_int_eq(env.rcpt[20].status, QUEUE_RCPT_BOUNCED);
    ck_assert_int_eq(env.rcpt[21].status, QUEUE_RCPT_PENDING);
    ck_assert_int_eq(env.rcpt[22].status, QUEUE_RCPT_PENDING);
    queue_read_free(&env);
    vbuf_free(why);
}
END_TEST

int
main(void)
{
    Suite  *s = suite_create("queue_mark");
    TCase  *tc = tcase_create("queue_mark");
    SRunner *sr;
    int     failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_many_recipients_and_marks);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
