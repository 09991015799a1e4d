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

START_TEST(test_wipe)
{
    VBUF   *why = vbuf_create(100);
    QUEUE_ENVELOPE env;
    QUEUE_WRITER *qf = queue_write_create(queue_dir, why);
    char    id[QUEUE_ID_LEN + 1], sealed[3001];
    char   *before, *after;
    size_t  len, len2;
    off_t   off;
    int     fd;

    memset(sealed, 'Q', sizeof(sealed) - 1);
    sealed[sizeof(sealed) - 1] = 0;
    strcpy(id, queue_write_id(qf));
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_ARRIVAL, "1"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_SENDER, "s@example.com"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_AUTH_SEALED, sealed), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_RCPT, "r@example.org"), 0);
    ck_assert_int_eq(queue_write_begin_message(qf), 0);
    ck_assert_int_eq(queue_write_message(qf, "K QQQQ\r\n", 8), 0);
    ck_assert_int_eq(queue_write_commit(qf, why), 0);
    ck_assert_int_eq(queue_read(qpath("incoming", id), &env, why), QUEUE_READ_OK);
    ck_assert_str_eq(env.auth_sealed, sealed);
    off = env.auth_offset;
    before = fixture_read(qpath("incoming", id), &len);

    fd = open(qpath("incoming", id), O_RDWR);
    ck_assert_int_ge(fd, 0);
    /* Anywhere but on the K record: refused, nothing changed. */
    errno = 0;
    ck_assert_int_eq(queue_mark_wipe(fd, off + 1), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(queue_mark_wipe(fd, env.rcpt[0].offset), -1);
    ck_assert_int_eq(queue_mark_wipe(fd, 0), -1);
    ck_assert_int_eq(queue_mark_wipe(fd, env.message_offset), -1);
    ck_assert_int_eq(queue_mark_wipe(fd, 1 << 30), -1);
    after = fixture_read(qpath("incoming", id), &len2);
    ck_assert_uint_eq(len, len2);
    ck_assert(memcmp(before, after, len) == 0);
    myfree(after);

    /* The wipe: the same length, K is W, every value byte '0'. */
    ck_assert_int_eq(queue_mark_wipe(fd, off), 0);
    after = fixture_read(qpath("incoming", id), &len2);
    ck_assert_uint_eq(len, len2);
    ck_assert(memcmp(before, after, (size_t) off) == 0);
    ck_assert_int_eq(after[off], 'W');
    ck_assert_int_eq(after[off + 1], ' ');
    for (len2 = 0; len2 < sizeof(sealed) - 1; len2++)
        ck_assert_int_eq(after[off + 2 + (off_t) len2], '0');
    ck_assert(memcmp(before + off + 2 + 3000, after + off + 2 + 3000,
                     len - (size_t) off - 3002) == 0);
    ck_assert(memmem(after, len, "QQQQQ", 5) == NULL);
    myfree(after);
    /* Again: nothing to do. */
    ck_assert_int_eq(queue_mark_wipe(fd, off), 0);
    close(fd);
    queue_read_free(&env);

    ck_assert_int_eq(queue_read(qpath("incoming", id), &env, why), QUEUE_READ_OK);
    ck_assert_ptr_null(env.auth_sealed);
    ck_assert_int_eq(env.auth_wiped, 1);
    ck_assert_int_eq(env.auth_offset, off);
    ck_assert_str_eq(env.rcpt[0].address, "r@example.org");
    queue_read_free(&env);
    myfree(before);
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
    tcase_add_test(tc, test_wipe);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
