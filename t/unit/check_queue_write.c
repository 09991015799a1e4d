/* Unit tests for the queue file writer. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_queue.h"
#include "msg.h"
#include "mymalloc.h"
#include "queue_read.h"
#include "queue_write.h"

START_TEST(test_file_layout)
{
    const char *id = queue_simple("", "hi\r\n", 4);
    size_t  len;
    char   *data = fixture_read(qpath("incoming", id), &len);
    static const char want[] =
        "ALLIGATE-QUEUE 1\nT 1700000000\nS \nR rcpt@example.org\n"
        "M 00000000000000000004\nhi\r\n\nE 4\n";
    struct stat st;

    ck_assert_uint_eq(len, sizeof(want) - 1);
    ck_assert_int_eq(memcmp(data, want, len), 0);
    ck_assert_int_eq(stat(qpath("incoming", id), &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    myfree(data);
}
END_TEST

START_TEST(test_large_message)
{
    VBUF   *why = vbuf_create(100);
    QUEUE_ENVELOPE env;
    QUEUE_WRITER *qf = queue_write_create(queue_dir, why);
    size_t  len = 1024 * 1024 + 3, done = 0, piece;
    char   *msg = mymalloc(len), id[QUEUE_ID_LEN + 1];
    size_t  i;

    for (i = 0; i < len; i++)
        msg[i] = (char) (i * 7 + i / 251);
    strcpy(id, queue_write_id(qf));
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_ARRIVAL, "1"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_SENDER, "big@example.com"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_RCPT, "x@example.org"), 0);
    ck_assert_int_eq(queue_write_begin_message(qf), 0);
    /* Small pieces and one larger than the writer's buffer. */
    for (i = 0; done < len; i++) {
        piece = i == 10 ? 200000 : 1000 + i % 3000;
        if (piece > len - done)
            piece = len - done;
        ck_assert_int_eq(queue_write_message(qf, msg + done, piece), 0);
        done += piece;
    }
    ck_assert_int_eq(queue_write_commit(qf, why), 0);
    ck_assert_int_eq(queue_read(qpath("incoming", id), &env, why), QUEUE_READ_OK);
    check_message(qpath("incoming", id), &env, msg, len);
    queue_read_free(&env);
    myfree(msg);
    vbuf_free(why);
}
END_TEST

START_TEST(test_writer_refuses)
{
    VBUF   *why = vbuf_create(100);
    QUEUE_ENVELOPE env;
    QUEUE_WRITER *qf = queue_write_create(queue_dir, why);
    char    id[QUEUE_ID_LEN + 1], *big = mymalloc(QUEUE_VALUE_MAX + 2);

    strcpy(id, queue_write_id(qf));
    memset(big, 'a', QUEUE_VALUE_MAX + 1);
    big[QUEUE_VALUE_MAX + 1] = 0;
#define REFUSED(type, value) do { \
        errno = 0; \
        ck_assert_int_eq(queue_write_rec(qf, (type), (value)), -1); \
        ck_assert_int_eq(errno, EINVAL); \
    } while (0)
    REFUSED(QUEUE_REC_HELO, "evil\r\nR x@y");
    REFUSED(QUEUE_REC_HELO, "cr\r");
    REFUSED(QUEUE_REC_RCPT, "lf\n@x");
    REFUSED(QUEUE_REC_RCPT, "");
    REFUSED(QUEUE_REC_ARRIVAL, "soon");
    REFUSED(QUEUE_REC_SIZE, "-1");
    REFUSED(QUEUE_REC_SMTPUTF8, "yes");
    REFUSED(QUEUE_REC_ATTR, "noequals");
    REFUSED(QUEUE_REC_CLIENT_NAME, big);
    ck_assert_int_eq(queue_write_recf(qf, QUEUE_REC_SENDER, "a%cb", 0), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_ARRIVAL, "5"), 0);
    REFUSED(QUEUE_REC_ARRIVAL, "6");    /* once only */
    big[QUEUE_VALUE_MAX] = 0;           /* the longest value is fine */
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_CLIENT_NAME, big), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_SENDER, "a@b"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_RCPT, "c@d"), 0);
    ck_assert_int_eq(queue_write_begin_message(qf), 0);
    ck_assert_int_eq(queue_write_commit(qf, why), 0);

    /* The refusals left no trace. */
    ck_assert_int_eq(queue_read(qpath("incoming", id), &env, why), QUEUE_READ_OK);
    ck_assert_int_eq(env.arrival, 5);
    ck_assert_ptr_null(env.helo);
    ck_assert_uint_eq(strlen(env.client_name), QUEUE_VALUE_MAX);
    ck_assert_uint_eq(env.rcpt_count, 1);
    ck_assert_uint_eq(env.attr_count, 0);
    queue_read_free(&env);
    myfree(big);
    vbuf_free(why);
}
END_TEST

START_TEST(test_bounced_not_body_type)
{
    QUEUE_WRITER *qf = queue_write_create(queue_dir, NULL);

    msg_open("/dev/null");
    queue_write_rec(qf, QUEUE_RCPT_BOUNCED, "8BITMIME");
}
END_TEST

START_TEST(test_rec_after_message)
{
    QUEUE_WRITER *qf = queue_write_create(queue_dir, NULL);

    msg_open("/dev/null");
    queue_write_begin_message(qf);
    queue_write_rec(qf, QUEUE_REC_RCPT, "late@example.org");
}
END_TEST

START_TEST(test_commit_failures)
{
    VBUF   *why = vbuf_create(100);
    QUEUE_WRITER *qf;
    char    want[512], incoming[256];
    struct rlimit rl, old;

    /* incoming/ gone: the rename fails, nothing is left anywhere. */
    qf = queue_write_create(queue_dir, why);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_ARRIVAL, "1"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_SENDER, "a@b"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_RCPT, "c@d"), 0);
    ck_assert_int_eq(queue_write_begin_message(qf), 0);
    ck_assert_int_eq(queue_write_message(qf, "data\r\n", 6), 0);
    ck_assert_int_eq(count_files("tmp"), 1);
    snprintf(want, sizeof(want), "rename %s/tmp/%s to %s/incoming/%s: No such file or directory",
             queue_dir, queue_write_id(qf), queue_dir, queue_write_id(qf));
    snprintf(incoming, sizeof(incoming), "%s/incoming", queue_dir);
    ck_assert_int_eq(rmdir(incoming), 0);
    errno = 0;
    ck_assert_int_eq(queue_write_commit(qf, why), -1);
    /* errno is the rename's, not that of the clean-up after it. */
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_str_eq(vbuf_str(why), want);
    ck_assert_int_eq(count_files("tmp"), 0);
    ck_assert_int_eq(mkdir(incoming, 0700), 0);
    ck_assert_int_eq(count_files("incoming"), 0);

    /* A write error (here the file size limit) is remembered. */
    signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    rl = old;
    rl.rlim_cur = 100000;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    qf = queue_write_create(queue_dir, why);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_ARRIVAL, "1"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_SENDER, "a@b"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_RCPT, "c@d"), 0);
    ck_assert_int_eq(queue_write_begin_message(qf), 0);
    {
        char    chunk[30000];
        int     i, failed = 0;

        memset(chunk, 'x', sizeof(chunk));
        for (i = 0; i < 10 && !failed; i++)
            failed = queue_write_message(qf, chunk, sizeof(chunk)) < 0;
        ck_assert_int_eq(failed, 1);
        ck_assert_int_eq(errno, EFBIG);
        ck_assert_int_eq(queue_write_message(qf, "x", 1), -1);
        ck_assert_int_eq(errno, EFBIG);
    }
    snprintf(want, sizeof(want), "write %s/tmp/%s: File too large", queue_dir, queue_write_id(qf));
    errno = 0;
    ck_assert_int_eq(queue_write_commit(qf, why), -1);
    ck_assert_int_eq(errno, EFBIG);
    ck_assert_str_eq(vbuf_str(why), want);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    ck_assert_int_eq(count_files("tmp"), 0);
    ck_assert_int_eq(count_files("incoming"), 0);

    /* An envelope without recipients is not committed. */
    qf = queue_write_create(queue_dir, why);
    snprintf(want, sizeof(want), "%s: no recipient record", queue_write_id(qf));
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_ARRIVAL, "1"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_SENDER, ""), 0);
    ck_assert_int_eq(queue_write_begin_message(qf), 0);
    errno = 0;
    ck_assert_int_eq(queue_write_commit(qf, why), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_str_eq(vbuf_str(why), want);

    /* Abort removes the file. */
    qf = queue_write_create(queue_dir, why);
    ck_assert_int_eq(count_files("tmp"), 1);
    queue_write_abort(qf);
    ck_assert_int_eq(count_files("tmp"), 0);
    ck_assert_int_eq(count_files("incoming"), 0);

    /* No tmp/: no handle, and a reason. */
    snprintf(incoming, sizeof(incoming), "%s/tmp", queue_dir);
    ck_assert_int_eq(rmdir(incoming), 0);
    errno = 0;
    ck_assert_ptr_null(queue_write_create(queue_dir, why));
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(strncmp(vbuf_str(why), "create ", 7), 0);
    ck_assert_ptr_nonnull(strstr(vbuf_str(why), ": No such file or directory"));
    vbuf_free(why);
}
END_TEST

START_TEST(test_writer_holds_lock)
{
    QUEUE_WRITER *qf = queue_write_create(queue_dir, NULL);
    int     fd = open(qpath("tmp", queue_write_id(qf)), O_RDONLY);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), -1);
    ck_assert_int_eq(errno, EWOULDBLOCK);
    queue_write_abort(qf);
    close(fd);
}
END_TEST

/* A committed file is no longer locked: relay, woken by the rename, must
 * not find it busy (and wait) because smtpd still holds it. */
START_TEST(test_committed_unlocked)
{
    const char *id = queue_simple("a@example.org", "x\r\n", 3);
    int     fd = open(qpath("incoming", id), O_RDONLY);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
    close(fd);
    ck_assert_int_eq(count_files("tmp"), 0);
}
END_TEST

/* The writer keeps tmp/ and incoming/ open between messages; when they
 * are removed and made again, it follows. */
START_TEST(test_dirs_made_again)
{
    const char *id;

    queue_simple("a@example.org", "x\r\n", 3);
    fixture_remove(QUEUE_DIR_TMP);
    fixture_remove(QUEUE_DIR_INCOMING);
    fixture_mkdir(QUEUE_DIR_TMP);
    fixture_mkdir(QUEUE_DIR_INCOMING);
    id = queue_simple("b@example.org", "y\r\n", 3);
    ck_assert_int_eq(access(qpath("incoming", id), F_OK), 0);
    ck_assert_int_eq(count_files("incoming"), 1);
    ck_assert_int_eq(count_files("tmp"), 0);
    /* Only incoming/ made again: the rename notices. */
    fixture_remove(QUEUE_DIR_INCOMING);
    fixture_mkdir(QUEUE_DIR_INCOMING);
    id = queue_simple("c@example.org", "z\r\n", 3);
    ck_assert_int_eq(access(qpath("incoming", id), F_OK), 0);
    ck_assert_int_eq(count_files("tmp"), 0);
}
END_TEST

/* Commits a message with the archive link asked for; returns its id
 * (static) or NULL when the commit failed (why says why). */
static const char *
queue_archived(VBUF *why)
{
    static char id[QUEUE_ID_LEN + 1];
    QUEUE_WRITER *qf = queue_write_create(queue_dir, why);

    ck_assert_ptr_nonnull(qf);
    strcpy(id, queue_write_id(qf));
    queue_write_archive(qf);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_ARRIVAL, "1700000000"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_SENDER, "a@example.org"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_RCPT, "b@example.org"), 0);
    ck_assert_int_eq(queue_write_begin_message(qf), 0);
    ck_assert_int_eq(queue_write_message(qf, "hi\r\n", 4), 0);
    return queue_write_commit(qf, why) == 0 ? id : NULL;
}

/* archive = yes: the committed file has a second name in archive/, the
 * same inode, which outlives the queue file's removal. */
START_TEST(test_archive_link)
{
    VBUF   *why = vbuf_create(100);
    const char *id = queue_archived(why);
    struct stat q, a;
    char    link[256];

    ck_assert_msg(id != NULL, "%s", vbuf_str(why));
    ck_assert_int_eq(stat(qpath("incoming", id), &q), 0);
    snprintf(link, sizeof(link), "%s", qpath(QUEUE_DIR_ARCHIVE, id));
    ck_assert_int_eq(stat(link, &a), 0);
    ck_assert_uint_eq(q.st_ino, a.st_ino);
    ck_assert_uint_eq(q.st_nlink, 2);
    ck_assert_int_eq(count_files("tmp"), 0);
    /* relay delivers and removes the queue file: the link stays whole. */
    ck_assert_int_eq(unlink(qpath("incoming", id)), 0);
    ck_assert_int_eq(stat(link, &a), 0);
    ck_assert_uint_eq(a.st_nlink, 1);
    /* Without the flag: no link. */
    id = queue_simple("c@example.org", "x\r\n", 3);
    ck_assert_int_eq(access(qpath(QUEUE_DIR_ARCHIVE, id), F_OK), -1);
    ck_assert_int_eq(count_files(QUEUE_DIR_ARCHIVE), 1);
    vbuf_free(why);
}
END_TEST

/* No archive/ to link into: the message is not accepted, and nothing is
 * left anywhere. */
START_TEST(test_archive_link_fails)
{
    VBUF   *why = vbuf_create(100);

    fixture_remove(QUEUE_DIR_ARCHIVE);
    ck_assert_ptr_null(queue_archived(why));
    ck_assert_ptr_nonnull(strstr(vbuf_str(why), "/archive: No such file or directory"));
    ck_assert_int_eq(count_files("tmp"), 0);
    ck_assert_int_eq(count_files("incoming"), 0);
    /* archive/ made again: the writer follows. */
    fixture_mkdir(QUEUE_DIR_ARCHIVE);
    ck_assert_ptr_nonnull(queue_archived(why));
    ck_assert_int_eq(count_files(QUEUE_DIR_ARCHIVE), 1);
    ck_assert_int_eq(count_files("incoming"), 1);
    vbuf_free(why);
}
END_TEST

int
main(void)
{
    Suite  *s = suite_create("queue_write");
    TCase  *tc = tcase_create("queue_write");
    SRunner *sr;
    int     failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_file_layout);
    tcase_add_test(tc, test_large_message);
    tcase_add_test(tc, test_writer_refuses);
    tcase_add_test_raise_signal(tc, test_bounced_not_body_type, SIGABRT);
    tcase_add_test_raise_signal(tc, test_rec_after_message, SIGABRT);
    tcase_add_test(tc, test_commit_failures);
    tcase_add_test(tc, test_writer_holds_lock);
    tcase_add_test(tc, test_committed_unlocked);
    tcase_add_test(tc, test_dirs_made_again);
    tcase_add_test(tc, test_archive_link);
    tcase_add_test(tc, test_archive_link_fails);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
