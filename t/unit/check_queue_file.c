/* Unit tests for the queue file format: writer, reader, ids, housekeeping. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "msg.h"
#include "mymalloc.h"
#include "queue_file.h"
#include "vbuf.h"

static const char *queue_dir;
static char path_buf[256];

static void
setup(void)
{
    VBUF   *why = vbuf_create(100);

    queue_dir = fixture_dir_create("check_queue_file");
    ck_assert_int_eq(queue_dir_init(queue_dir, why), 0);
    vbuf_free(why);
}

static void
teardown(void)
{
    fixture_dir_remove();
}

/* Path of a file in a queue subdirectory, in a static buffer. */
static const char *
qpath(const char *sub, const char *id)
{
    snprintf(path_buf, sizeof(path_buf), "%s/%s/%s", queue_dir, sub, id);
    return path_buf;
}

/* Number of entries (other than . and ..) in a queue subdirectory. */
static int
count_files(const char *sub)
{
    char    dir_path[256];
    DIR    *dir;
    struct dirent *dp;
    int     n = 0;

    snprintf(dir_path, sizeof(dir_path), "%s/%s", queue_dir, sub);
    ck_assert_ptr_nonnull(dir = opendir(dir_path));
    while ((dp = readdir(dir)) != NULL)
        n += dp->d_name[0] != '.';
    closedir(dir);
    return n;
}

/* Commits a message with a minimal envelope; returns its id (static). */
static const char *
queue_simple(const char *sender, const char *msg, size_t len)
{
    static char id[QUEUE_ID_LEN + 1];
    VBUF   *why = vbuf_create(100);
    QUEUE_FILE *qf = queue_file_create(queue_dir, why);

    ck_assert_ptr_nonnull(qf);
    strcpy(id, queue_file_id(qf));
    ck_assert_int_eq(queue_file_recf(qf, QUEUE_REC_ARRIVAL, "%d", 1700000000), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_SENDER, sender), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_RCPT, "rcpt@example.org"), 0);
    ck_assert_int_eq(queue_file_begin_message(qf), 0);
    ck_assert_int_eq(queue_file_write(qf, msg, len), 0);
    ck_assert_int_eq(queue_file_commit(qf, why), 0);
    vbuf_free(why);
    return id;
}

/* Checks that a file's message part is exactly msg. */
static void
check_message(const char *path, const QUEUE_ENVELOPE *env, const char *msg, size_t len)
{
    char   *got = mymalloc(len + 1);
    int     fd = open(path, O_RDONLY);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(env->message_length, (off_t) len);
    ck_assert_int_eq(pread(fd, got, len, env->message_offset), (ssize_t) len);
    ck_assert_int_eq(memcmp(got, msg, len), 0);
    close(fd);
    myfree(got);
}

START_TEST(test_dir_init)
{
    static const char *subs[] = {"tmp", "incoming", "deferred", "hold", "corrupt"};
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

    snprintf(sub, sizeof(sub), "%s/hold", queue_dir);
    ck_assert_int_eq(rmdir(sub), 0);
    fixture_write(sub, "", 0);
    ck_assert_int_eq(queue_dir_init(queue_dir, why), -1);
    snprintf(sub, sizeof(sub), "create directory %s/hold: Not a directory", queue_dir);
    ck_assert_str_eq(vbuf_str(why), sub);

    ck_assert_int_eq(queue_dir_init("/nonexistent/queue", why), -1);
    ck_assert_str_eq(vbuf_str(why),
                     "create directory /nonexistent/queue/tmp: No such file or directory");
    vbuf_free(why);
}
END_TEST

START_TEST(test_round_trip)
{
    VBUF   *why = vbuf_create(100);
    QUEUE_ENVELOPE env;
    QUEUE_FILE *qf;
    char    id[QUEUE_ID_LEN + 1];
    char    msg[256 + 64];
    size_t  len = 0;
    int     i;

    /* Dot lines, a bare CR and LF, NUL and every other byte value. */
    len += (size_t) sprintf(msg, ".\r\n..dot\r\n.");
    for (i = 0; i < 256; i++)
        msg[len++] = (char) i;
    memcpy(msg + len, "\r\nE 5\n", 6);
    len += 6;

    qf = queue_file_create(queue_dir, why);
    ck_assert_ptr_nonnull(qf);
    strcpy(id, queue_file_id(qf));
    ck_assert(queue_id_valid(id));
    ck_assert_int_eq(queue_file_recf(qf, QUEUE_REC_ARRIVAL, "%lld", 1700000123LL), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_CLIENT_ADDR, "2001:db8::1"), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_CLIENT_NAME, "mx.example.com"), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_HELO, "[192.0.2.1]"), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_PROTOCOL, "ESMTPSA"), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_SASL_USER, "jo"), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_SENDER, "a@example.com"), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_SIZE, "4321"), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_BODY_TYPE, "8BITMIME"), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_SMTPUTF8, "1"), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_RCPT, "b@example.org"), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_ATTR, "envid=x=y"), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_RCPT, "c@example.org"), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_ATTR, "ret="), 0);
    ck_assert_int_eq(queue_file_begin_message(qf), 0);
    for (i = 0; i < (int) len; i += 7)  /* odd pieces */
        ck_assert_int_eq(queue_file_write(qf, msg + i,
                                          len - (size_t) i < 7 ? len - (size_t) i : 7), 0);
    ck_assert_int_eq(queue_file_commit(qf, why), 0);
    ck_assert_int_eq(count_files("tmp"), 0);

    ck_assert_int_eq(queue_file_read(qpath("incoming", id), &env, why), QUEUE_READ_OK);
    ck_assert_int_eq(env.arrival, 1700000123);
    ck_assert_str_eq(env.client_addr, "2001:db8::1");
    ck_assert_str_eq(env.client_name, "mx.example.com");
    ck_assert_str_eq(env.helo, "[192.0.2.1]");
    ck_assert_str_eq(env.protocol, "ESMTPSA");
    ck_assert_str_eq(env.sasl_user, "jo");
    ck_assert_str_eq(env.sender, "a@example.com");
    ck_assert_int_eq(env.size, 4321);
    ck_assert_str_eq(env.body_type, "8BITMIME");
    ck_assert_int_eq(env.smtputf8, 1);
    ck_assert_uint_eq(env.rcpt_count, 2);
    ck_assert_str_eq(env.rcpt[0].address, "b@example.org");
    ck_assert_int_eq(env.rcpt[0].status, QUEUE_RCPT_PENDING);
    ck_assert_str_eq(env.rcpt[1].address, "c@example.org");
    ck_assert_uint_eq(env.attr_count, 2);
    ck_assert_str_eq(env.attr[0].name, "envid");
    ck_assert_str_eq(env.attr[0].value, "x=y");
    ck_assert_str_eq(env.attr[1].name, "ret");
    ck_assert_str_eq(env.attr[1].value, "");
    check_message(qpath("incoming", id), &env, msg, len);
    queue_envelope_free(&env);
    ck_assert_ptr_null(env.sender);
    queue_envelope_free(&env);          /* harmless twice */
    vbuf_free(why);
}
END_TEST

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

START_TEST(test_empty_and_null_sender)
{
    VBUF   *why = vbuf_create(100);
    QUEUE_ENVELOPE env;
    const char *id = queue_simple("", "", 0);

    ck_assert_int_eq(queue_file_read(qpath("incoming", id), &env, why), QUEUE_READ_OK);
    ck_assert_str_eq(env.sender, "");
    ck_assert_ptr_null(env.client_addr);
    ck_assert_ptr_null(env.helo);
    ck_assert_int_eq(env.size, -1);
    ck_assert_int_eq(env.smtputf8, 0);
    ck_assert_uint_eq(env.attr_count, 0);
    ck_assert_int_eq(env.message_length, 0);
    queue_envelope_free(&env);
    vbuf_free(why);
}
END_TEST

START_TEST(test_large_message)
{
    VBUF   *why = vbuf_create(100);
    QUEUE_ENVELOPE env;
    QUEUE_FILE *qf = queue_file_create(queue_dir, why);
    size_t  len = 1024 * 1024 + 3, done = 0, piece;
    char   *msg = mymalloc(len), id[QUEUE_ID_LEN + 1];
    size_t  i;

    for (i = 0; i < len; i++)
        msg[i] = (char) (i * 7 + i / 251);
    strcpy(id, queue_file_id(qf));
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_ARRIVAL, "1"), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_SENDER, "big@example.com"), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_RCPT, "x@example.org"), 0);
    ck_assert_int_eq(queue_file_begin_message(qf), 0);
    /* Small pieces and one larger than the writer's buffer. */
    for (i = 0; done < len; i++) {
        piece = i == 10 ? 200000 : 1000 + i % 3000;
        if (piece > len - done)
            piece = len - done;
        ck_assert_int_eq(queue_file_write(qf, msg + done, piece), 0);
        done += piece;
    }
    ck_assert_int_eq(queue_file_commit(qf, why), 0);
    ck_assert_int_eq(queue_file_read(qpath("incoming", id), &env, why), QUEUE_READ_OK);
    check_message(qpath("incoming", id), &env, msg, len);
    queue_envelope_free(&env);
    myfree(msg);
    vbuf_free(why);
}
END_TEST

START_TEST(test_many_recipients_and_marks)
{
    VBUF   *why = vbuf_create(100);
    QUEUE_ENVELOPE env;
    QUEUE_FILE *qf = queue_file_create(queue_dir, why);
    char    id[QUEUE_ID_LEN + 1], rcpt[300], c;
    int     i, fd, n = 5000;

    strcpy(id, queue_file_id(qf));
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_ARRIVAL, "1"), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_SENDER, "s@example.com"), 0);
    for (i = 0; i < n; i++)     /* about 250 kB of envelope */
        ck_assert_int_eq(queue_file_recf(qf, QUEUE_REC_RCPT, "user%d.%030d@example.org", i, i), 0);
    ck_assert_int_eq(queue_file_begin_message(qf), 0);
    ck_assert_int_eq(queue_file_write(qf, "x", 1), 0);
    ck_assert_int_eq(queue_file_commit(qf, why), 0);

    ck_assert_int_eq(queue_file_read(qpath("incoming", id), &env, why), QUEUE_READ_OK);
    ck_assert_uint_eq(env.rcpt_count, (size_t) n);
    for (i = 0; i < n; i++) {
        snprintf(rcpt, sizeof(rcpt), "user%d.%030d@example.org", i, i);
        ck_assert_str_eq(env.rcpt[i].address, rcpt);
    }

    /* Mark two recipients, then read again. */
    fd = open(qpath("incoming", id), O_RDWR);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(queue_file_mark_rcpt(fd, env.rcpt[0].offset, QUEUE_RCPT_DELIVERED), 0);
    ck_assert_int_eq(queue_file_mark_rcpt(fd, env.rcpt[4321].offset, QUEUE_RCPT_BOUNCED), 0);
    /* Wrong places and statuses are refused and change nothing. */
    errno = 0;
    ck_assert_int_eq(queue_file_mark_rcpt(fd, env.rcpt[1].offset + 1, QUEUE_RCPT_DELIVERED), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(queue_file_mark_rcpt(fd, env.rcpt[1].offset, 'X'), -1);
    ck_assert_int_eq(queue_file_mark_rcpt(fd, env.message_offset - 23, QUEUE_RCPT_DELIVERED), -1);
    ck_assert_int_eq(queue_file_mark_rcpt(fd, 0, QUEUE_RCPT_DELIVERED), -1);
    ck_assert_int_eq(queue_file_mark_rcpt(fd, 1 << 30, QUEUE_RCPT_DELIVERED), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(pread(fd, &c, 1, env.message_offset - 23), 1);
    ck_assert_int_eq(c, 'M');
    close(fd);
    queue_envelope_free(&env);

    ck_assert_int_eq(queue_file_read(qpath("incoming", id), &env, why), QUEUE_READ_OK);
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
        ck_assert_int_eq(queue_file_mark_rcpts(fd, offsets, 3, QUEUE_RCPT_DELIVERED), 0);
        ck_assert_int_eq(queue_file_mark_rcpts(fd, offsets, 0, QUEUE_RCPT_DELIVERED), 0);
        offsets[0] = env.rcpt[20].offset;
        offsets[1] = env.rcpt[21].offset + 1;
        offsets[2] = env.rcpt[22].offset;
        errno = 0;
        ck_assert_int_eq(queue_file_mark_rcpts(fd, offsets, 3, QUEUE_RCPT_BOUNCED), -1);
        ck_assert_int_eq(errno, EINVAL);
        close(fd);
    }
    queue_envelope_free(&env);
    ck_assert_int_eq(queue_file_read(qpath("incoming", id), &env, why), QUEUE_READ_OK);
    for (i = 10; i < 13; i++)
        ck_assert_int_eq(env.rcpt[i].status, QUEUE_RCPT_DELIVERED);
    ck_assert_int_eq(env.rcpt[13].status, QUEUE_RCPT_PENDING);
    ck_assert_int_eq(env.rcpt[20].status, QUEUE_RCPT_BOUNCED);
    ck_assert_int_eq(env.rcpt[21].status, QUEUE_RCPT_PENDING);
    ck_assert_int_eq(env.rcpt[22].status, QUEUE_RCPT_PENDING);
    queue_envelope_free(&env);
    vbuf_free(why);
}
END_TEST

/* The reader's verdict on a file with the given bytes. */
static int
read_bytes(const char *data, size_t len, VBUF *why)
{
    QUEUE_ENVELOPE env;
    int     status;

    fixture_write(qpath("corrupt", "test"), data, len);
    status = queue_file_read(qpath("corrupt", "test"), &env, why);
    queue_envelope_free(&env);
    return status;
}

#define HEAD "ALLIGATE-QUEUE 1\n"
#define BODY "M 00000000000000000004\nhi\r\n\nE 4\n"
#define ENV  "T 1\nS a@b\nR c@d\n"

static void
check_corrupt(const char *data, const char *reason)
{
    VBUF   *why = vbuf_create(100);

    ck_assert_int_eq(read_bytes(data, strlen(data), why), QUEUE_READ_CORRUPT);
    ck_assert_str_eq(vbuf_str(why), reason);
    vbuf_free(why);
}

START_TEST(test_corrupt)
{
    VBUF   *why = vbuf_create(100);
    QUEUE_ENVELOPE env;
    char    long_rec[QUEUE_VALUE_MAX + 100];

    /* The hand-made reference is good. */
    ck_assert_int_eq(read_bytes(HEAD ENV BODY, strlen(HEAD ENV BODY), why), QUEUE_READ_OK);

    check_corrupt("", "truncated file");
    check_corrupt("From a@b Mon Jan 1\n" ENV BODY, "bad magic");
    check_corrupt("ALLIGATE-QUEUE 2\n" ENV BODY, "bad magic");
    check_corrupt(HEAD "Q x\n" ENV BODY, "unknown record type 0x51 at offset 17");
    check_corrupt(HEAD "E 4\n" ENV BODY, "unknown record type 0x45 at offset 17");
    check_corrupt(HEAD "T1\n" ENV BODY, "malformed record at offset 17");
    check_corrupt(HEAD "\n" ENV BODY, "malformed record at offset 17");
    check_corrupt(HEAD "T x\nS a@b\nR c@d\n" BODY, "bad record at offset 17: bad number");
    check_corrupt(HEAD "T -1\nS a@b\nR c@d\n" BODY, "bad record at offset 17: bad number");
    check_corrupt(HEAD "T 1\nS a@b\r\nR c@d\n" BODY,
                  "bad record at offset 21: CR, LF or NUL in value");
    check_corrupt(HEAD ENV "8 2\n" BODY, "bad record at offset 33: bad smtputf8 flag");
    check_corrupt(HEAD ENV "A =x\n" BODY, "bad record at offset 33: bad attribute");
    check_corrupt(HEAD ENV "A x\n" BODY, "bad record at offset 33: bad attribute");
    check_corrupt(HEAD ENV "R \n" BODY, "bad record at offset 33: empty recipient");
    check_corrupt(HEAD ENV "S x@y\n" BODY, "duplicate S record at offset 33");
    check_corrupt(HEAD "S a@b\nR c@d\n" BODY, "no arrival time record");
    check_corrupt(HEAD "T 1\nR c@d\n" BODY, "no sender record");
    check_corrupt(HEAD "T 1\nS a@b\n" BODY, "no recipient record");
    check_corrupt(HEAD ENV "M XXXXXXXXXXXXXXXXXXXX\nhi\r\n\nE 4\n",
                  "bad message length at offset 33");
    check_corrupt(HEAD ENV "M 4\nhi\r\n\nE 4\n", "bad message length at offset 33");
    check_corrupt(HEAD ENV "M 99999999999999999999\nhi\r\n\nE 4\n",
                  "bad message length at offset 33");
    check_corrupt(HEAD ENV "M 00000000000000000004\nhi\r\n\nX 4\n", "bad trailer");
    check_corrupt(HEAD ENV "M 00000000000000000004\nhi\r\n\nE 5\n", "bad trailer");
    check_corrupt(HEAD ENV "M 00000000000000000004\nhi\r\nxE 4\n", "bad trailer");
    check_corrupt(HEAD ENV "M 00000000000000000004\nhi\r\n\nE 4\nx", "data after trailer");
    check_corrupt(HEAD ENV "M 00000000000000000005\nhi\r\n\nE 4\n", "truncated file");

    /* NUL inside a record. */
    ck_assert_int_eq(read_bytes(HEAD "T 1\nS a\0b\nR c@d\n" BODY,
                                sizeof(HEAD "T 1\nS a\0b\nR c@d\n" BODY) - 1, why),
                     QUEUE_READ_CORRUPT);
    ck_assert_str_eq(vbuf_str(why), "bad record at offset 21: CR, LF or NUL in value");

    /* A record longer than any value, with and without its LF. */
    memset(long_rec, 'x', sizeof(long_rec));
    memcpy(long_rec, HEAD "C ", 19);
    long_rec[sizeof(long_rec) - 1] = '\n';
    ck_assert_int_eq(read_bytes(long_rec, sizeof(long_rec), why), QUEUE_READ_CORRUPT);
    ck_assert_str_eq(vbuf_str(why), "record too long at offset 17");
    ck_assert_int_eq(read_bytes(long_rec, sizeof(long_rec) - 1, why), QUEUE_READ_CORRUPT);
    ck_assert_str_eq(vbuf_str(why), "record too long at offset 17");

    /* A file that is not there is not corrupt. */
    ck_assert_int_eq(queue_file_read("/nonexistent/queue/file", &env, why), QUEUE_READ_ERROR);
    ck_assert_str_eq(vbuf_str(why), "open /nonexistent/queue/file: No such file or directory");
    ck_assert_ptr_null(env.sender);
    vbuf_free(why);
}
END_TEST

START_TEST(test_truncated_everywhere)
{
    VBUF   *why = vbuf_create(100);
    QUEUE_FILE *qf = queue_file_create(queue_dir, why);
    char    id[QUEUE_ID_LEN + 1];
    char   *data;
    size_t  len, cut;

    strcpy(id, queue_file_id(qf));
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_ARRIVAL, "1700000000"), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_CLIENT_ADDR, "192.0.2.7"), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_SENDER, "s@example.com"), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_RCPT, "r@example.org"), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_SMTPUTF8, "0"), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_ATTR, "a=b"), 0);
    ck_assert_int_eq(queue_file_begin_message(qf), 0);
    ck_assert_int_eq(queue_file_write(qf, "Subject: x\r\n\r\n.\r\nbody\r\n", 24), 0);
    ck_assert_int_eq(queue_file_commit(qf, why), 0);

    data = fixture_read(qpath("incoming", id), &len);
    ck_assert_int_eq(read_bytes(data, len, why), QUEUE_READ_OK);
    for (cut = 0; cut < len; cut++) {
        ck_assert_int_eq(read_bytes(data, cut, why), QUEUE_READ_CORRUPT);
        ck_assert_str_eq(vbuf_str(why), "truncated file");
    }
    myfree(data);
    vbuf_free(why);
}
END_TEST

/* A message that carries a would-be trailer cannot make a cut file valid. */
START_TEST(test_truncated_fake_trailer)
{
    static const char msg[] = "hello\nE 5\nworld";
    VBUF   *why = vbuf_create(100);
    const char *id = queue_simple("a@b", msg, sizeof(msg) - 1);
    char   *data, *fake;
    size_t  len;

    data = fixture_read(qpath("incoming", id), &len);
    fake = memmem(data, len, "hello\nE 5\n", 10);
    ck_assert_ptr_nonnull(fake);
    ck_assert_int_eq(read_bytes(data, (size_t) (fake - data) + 10, why), QUEUE_READ_CORRUPT);
    ck_assert_str_eq(vbuf_str(why), "truncated file");
    myfree(data);
    vbuf_free(why);
}
END_TEST

START_TEST(test_writer_refuses)
{
    VBUF   *why = vbuf_create(100);
    QUEUE_ENVELOPE env;
    QUEUE_FILE *qf = queue_file_create(queue_dir, why);
    char    id[QUEUE_ID_LEN + 1], *big = mymalloc(QUEUE_VALUE_MAX + 2);

    strcpy(id, queue_file_id(qf));
    memset(big, 'a', QUEUE_VALUE_MAX + 1);
    big[QUEUE_VALUE_MAX + 1] = 0;
#define REFUSED(type, value) do { \
        errno = 0; \
        ck_assert_int_eq(queue_file_rec(qf, (type), (value)), -1); \
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
    ck_assert_int_eq(queue_file_recf(qf, QUEUE_REC_SENDER, "a%cb", 0), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_ARRIVAL, "5"), 0);
    REFUSED(QUEUE_REC_ARRIVAL, "6");    /* once only */
    big[QUEUE_VALUE_MAX] = 0;           /* the longest value is fine */
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_CLIENT_NAME, big), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_SENDER, "a@b"), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_RCPT, "c@d"), 0);
    ck_assert_int_eq(queue_file_begin_message(qf), 0);
    ck_assert_int_eq(queue_file_commit(qf, why), 0);

    /* The refusals left no trace. */
    ck_assert_int_eq(queue_file_read(qpath("incoming", id), &env, why), QUEUE_READ_OK);
    ck_assert_int_eq(env.arrival, 5);
    ck_assert_ptr_null(env.helo);
    ck_assert_uint_eq(strlen(env.client_name), QUEUE_VALUE_MAX);
    ck_assert_uint_eq(env.rcpt_count, 1);
    ck_assert_uint_eq(env.attr_count, 0);
    queue_envelope_free(&env);
    myfree(big);
    vbuf_free(why);
}
END_TEST

START_TEST(test_bounced_not_body_type)
{
    QUEUE_FILE *qf = queue_file_create(queue_dir, NULL);

    msg_open("/dev/null");
    queue_file_rec(qf, QUEUE_RCPT_BOUNCED, "8BITMIME");
}
END_TEST

START_TEST(test_rec_after_message)
{
    QUEUE_FILE *qf = queue_file_create(queue_dir, NULL);

    msg_open("/dev/null");
    queue_file_begin_message(qf);
    queue_file_rec(qf, QUEUE_REC_RCPT, "late@example.org");
}
END_TEST

START_TEST(test_commit_failures)
{
    VBUF   *why = vbuf_create(100);
    QUEUE_FILE *qf;
    char    want[512], incoming[256];
    struct rlimit rl, old;

    /* incoming/ gone: the rename fails, nothing is left anywhere. */
    qf = queue_file_create(queue_dir, why);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_ARRIVAL, "1"), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_SENDER, "a@b"), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_RCPT, "c@d"), 0);
    ck_assert_int_eq(queue_file_begin_message(qf), 0);
    ck_assert_int_eq(queue_file_write(qf, "data\r\n", 6), 0);
    ck_assert_int_eq(count_files("tmp"), 1);
    snprintf(want, sizeof(want), "rename %s/tmp/%s to %s/incoming/%s: No such file or directory",
             queue_dir, queue_file_id(qf), queue_dir, queue_file_id(qf));
    snprintf(incoming, sizeof(incoming), "%s/incoming", queue_dir);
    ck_assert_int_eq(rmdir(incoming), 0);
    ck_assert_int_eq(queue_file_commit(qf, why), -1);
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
    qf = queue_file_create(queue_dir, why);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_ARRIVAL, "1"), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_SENDER, "a@b"), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_RCPT, "c@d"), 0);
    ck_assert_int_eq(queue_file_begin_message(qf), 0);
    {
        char    chunk[30000];
        int     i, failed = 0;

        memset(chunk, 'x', sizeof(chunk));
        for (i = 0; i < 10 && !failed; i++)
            failed = queue_file_write(qf, chunk, sizeof(chunk)) < 0;
        ck_assert_int_eq(failed, 1);
        ck_assert_int_eq(errno, EFBIG);
        ck_assert_int_eq(queue_file_write(qf, "x", 1), -1);
        ck_assert_int_eq(errno, EFBIG);
    }
    snprintf(want, sizeof(want), "write %s/tmp/%s: File too large", queue_dir, queue_file_id(qf));
    ck_assert_int_eq(queue_file_commit(qf, why), -1);
    ck_assert_str_eq(vbuf_str(why), want);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    ck_assert_int_eq(count_files("tmp"), 0);
    ck_assert_int_eq(count_files("incoming"), 0);

    /* An envelope without recipients is not committed. */
    qf = queue_file_create(queue_dir, why);
    snprintf(want, sizeof(want), "%s: no recipient record", queue_file_id(qf));
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_ARRIVAL, "1"), 0);
    ck_assert_int_eq(queue_file_rec(qf, QUEUE_REC_SENDER, ""), 0);
    ck_assert_int_eq(queue_file_begin_message(qf), 0);
    ck_assert_int_eq(queue_file_commit(qf, why), -1);
    ck_assert_str_eq(vbuf_str(why), want);

    /* Abort removes the file. */
    qf = queue_file_create(queue_dir, why);
    ck_assert_int_eq(count_files("tmp"), 1);
    queue_file_abort(qf);
    ck_assert_int_eq(count_files("tmp"), 0);
    ck_assert_int_eq(count_files("incoming"), 0);

    /* No tmp/: no handle, and a reason. */
    snprintf(incoming, sizeof(incoming), "%s/tmp", queue_dir);
    ck_assert_int_eq(rmdir(incoming), 0);
    ck_assert_ptr_null(queue_file_create(queue_dir, why));
    ck_assert_int_eq(strncmp(vbuf_str(why), "create ", 7), 0);
    ck_assert_ptr_nonnull(strstr(vbuf_str(why), ": No such file or directory"));
    vbuf_free(why);
}
END_TEST

START_TEST(test_writer_holds_lock)
{
    QUEUE_FILE *qf = queue_file_create(queue_dir, NULL);
    int     fd = open(qpath("tmp", queue_file_id(qf)), O_RDONLY);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), -1);
    ck_assert_int_eq(errno, EWOULDBLOCK);
    queue_file_abort(qf);
    close(fd);
}
END_TEST

static int
compare_ids(const void *a, const void *b)
{
    return memcmp(a, b, QUEUE_ID_LEN + 1);
}

START_TEST(test_queue_id)
{
    enum { N = 10000, KIDS = 4, PER_KID = 2000 };
    char  (*ids)[QUEUE_ID_LEN + 1] = mycalloc(N + KIDS * PER_KID, QUEUE_ID_LEN + 1);
    int     i, k, fds[2], status;
    ssize_t n;
    size_t  got = 0;

    for (i = 0; i < N; i++) {
        queue_id_new(ids[i]);
        ck_assert(queue_id_valid(ids[i]));
        if (i > 0)      /* strictly increasing within a process */
            ck_assert_int_lt(memcmp(ids[i - 1], ids[i], QUEUE_ID_LEN), 0);
    }
    /* Other processes, at the same time. */
    ck_assert_int_eq(pipe(fds), 0);
    for (k = 0; k < KIDS; k++) {
        if (fork() == 0) {
            char    id[QUEUE_ID_LEN + 1];

            for (i = 0; i < PER_KID; i++) {
                queue_id_new(id);
                if (write(fds[1], id, sizeof(id)) != sizeof(id))
                    _exit(1);
            }
            _exit(0);
        }
    }
    close(fds[1]);
    while ((n = read(fds[0], (char *) ids[N] + got,
                     KIDS * PER_KID * (QUEUE_ID_LEN + 1) - got)) > 0)
        got += (size_t) n;
    close(fds[0]);
    for (k = 0; k < KIDS; k++) {
        ck_assert_int_gt(wait(&status), 0);
        ck_assert_int_eq(status, 0);
    }
    ck_assert_uint_eq(got, KIDS * PER_KID * (QUEUE_ID_LEN + 1));
    qsort(ids, N + KIDS * PER_KID, QUEUE_ID_LEN + 1, compare_ids);
    for (i = 1; i < N + KIDS * PER_KID; i++)
        ck_assert_str_ne(ids[i - 1], ids[i]);
    myfree(ids);

    ck_assert(queue_id_valid("0123456789ABCDEF012"));
    ck_assert(!queue_id_valid("0123456789abcdef012"));
    ck_assert(!queue_id_valid("0123456789ABCDEF01"));
    ck_assert(!queue_id_valid("0123456789ABCDEF0123"));
    ck_assert(!queue_id_valid("../../../etc/passwd"));
    ck_assert(!queue_id_valid("0123456789ABCDEF01/"));
    ck_assert(!queue_id_valid(""));
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
        QUEUE_FILE *qf = queue_file_create(queue_dir, NULL);

        if (qf == NULL || write(from_kid[1], queue_file_id(qf), QUEUE_ID_LEN) != QUEUE_ID_LEN)
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

    ck_assert_int_eq(queue_file_cleanup_tmp(queue_dir, 3600), 1);
    ck_assert_int_ne(stat(qpath("tmp", "00000000000000DEAD1"), &st), 0);
    ck_assert_int_eq(stat(qpath("tmp", live), &st), 0);
    ck_assert_int_eq(stat(qpath("tmp", "00000000000000DEAD2"), &st), 0);
    ck_assert_int_eq(stat(qpath("tmp", "not-a-queue-file"), &st), 0);

    /* The writer dies: its file goes too. */
    ck_assert_int_eq(write(to_kid[1], &go, 1), 1);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(status, 0);
    ck_assert_int_eq(queue_file_cleanup_tmp(queue_dir, 3600), 1);
    ck_assert_int_ne(stat(qpath("tmp", live), &st), 0);
    ck_assert_int_eq(queue_file_cleanup_tmp(queue_dir, 0), 1);
    ck_assert_int_eq(count_files("tmp"), 1);
    ck_assert_int_eq(queue_file_cleanup_tmp("/nonexistent", 0), -1);
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
    char    cmd[512];
    const char *id;

    queue_simple("a@example.org", "x\r\n", 3);
    snprintf(cmd, sizeof(cmd), "rm -rf %s/tmp %s/incoming && mkdir %s/tmp %s/incoming",
             queue_dir, queue_dir, queue_dir, queue_dir);
    ck_assert_int_eq(system(cmd), 0);
    id = queue_simple("b@example.org", "y\r\n", 3);
    ck_assert_int_eq(access(qpath("incoming", id), F_OK), 0);
    ck_assert_int_eq(count_files("incoming"), 1);
    ck_assert_int_eq(count_files("tmp"), 0);
    /* Only incoming/ made again: the rename notices. */
    snprintf(cmd, sizeof(cmd), "rm -rf %s/incoming && mkdir %s/incoming", queue_dir, queue_dir);
    ck_assert_int_eq(system(cmd), 0);
    id = queue_simple("c@example.org", "z\r\n", 3);
    ck_assert_int_eq(access(qpath("incoming", id), F_OK), 0);
    ck_assert_int_eq(count_files("tmp"), 0);
}
END_TEST

START_TEST(test_space_ok)
{
    ck_assert_int_eq(queue_space_ok(queue_dir, 0, 0), 1);
    ck_assert_int_eq(queue_space_ok(queue_dir, 0, 1000), 1);
    ck_assert_int_eq(queue_space_ok(queue_dir, ~0ULL, 0), 0);
    ck_assert_int_eq(queue_space_ok(queue_dir, 1, ~0ULL), 0);
    ck_assert_int_eq(queue_space_ok("/nonexistent/queue", 0, 0), -1);
}
END_TEST

int
main(void)
{
    Suite  *s = suite_create("queue_file");
    TCase  *tc = tcase_create("queue_file");
    SRunner *sr;
    int     failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_dir_init);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_file_layout);
    tcase_add_test(tc, test_empty_and_null_sender);
    tcase_add_test(tc, test_large_message);
    tcase_add_test(tc, test_many_recipients_and_marks);
    tcase_add_test(tc, test_corrupt);
    tcase_add_test(tc, test_truncated_everywhere);
    tcase_add_test(tc, test_truncated_fake_trailer);
    tcase_add_test(tc, test_writer_refuses);
    tcase_add_test_raise_signal(tc, test_bounced_not_body_type, SIGABRT);
    tcase_add_test_raise_signal(tc, test_rec_after_message, SIGABRT);
    tcase_add_test(tc, test_commit_failures);
    tcase_add_test(tc, test_writer_holds_lock);
    tcase_add_test(tc, test_committed_unlocked);
    tcase_add_test(tc, test_dirs_made_again);
    tcase_add_test(tc, test_queue_id);
    tcase_add_test(tc, test_cleanup_tmp);
    tcase_add_test(tc, test_space_ok);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
