/* Unit tests for the queue file reader: what it returns, and what it
 * refuses. */
#include <check.h>
#include <string.h>

#include "check_queue.h"
#include "mymalloc.h"
#include "queue_read.h"
#include "queue_write.h"

START_TEST(test_round_trip)
{
    VBUF   *why = vbuf_create(100);
    QUEUE_ENVELOPE env;
    QUEUE_WRITER *qf;
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

    qf = queue_write_create(queue_dir, why);
    ck_assert_ptr_nonnull(qf);
    strcpy(id, queue_write_id(qf));
    ck_assert(queue_id_valid(id));
    ck_assert_int_eq(queue_write_recf(qf, QUEUE_REC_ARRIVAL, "%lld", 1700000123LL), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_CLIENT_ADDR, "2001:db8::1"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_CLIENT_NAME, "mx.example.com"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_HELO, "[192.0.2.1]"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_PROTOCOL, "ESMTPSA"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_SASL_USER, "jo"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_SENDER, "a@example.com"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_SIZE, "4321"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_BODY_TYPE, "8BITMIME"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_SMTPUTF8, "1"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_RCPT, "b@example.org"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_ATTR, "envid=x=y"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_RCPT, "c@example.org"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_ATTR, "ret="), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_AUTH_SEALED, "AQIDBA=="), 0);
    ck_assert_int_eq(queue_write_begin_message(qf), 0);
    for (i = 0; i < (int) len; i += 7)  /* odd pieces */
        ck_assert_int_eq(queue_write_message(qf, msg + i,
                                             len - (size_t) i < 7 ? len - (size_t) i : 7), 0);
    ck_assert_int_eq(queue_write_commit(qf, why), 0);
    ck_assert_int_eq(count_files("tmp"), 0);

    ck_assert_int_eq(queue_read(qpath("incoming", id), &env, why), QUEUE_READ_OK);
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
    ck_assert_str_eq(env.auth_sealed, "AQIDBA==");
    ck_assert_int_eq(env.auth_wiped, 0);
    {
        char    rec[12];
        int     fd = open(qpath("incoming", id), O_RDONLY);

        ck_assert_int_eq(pread(fd, rec, 11, env.auth_offset - 1), 11);
        close(fd);
        ck_assert(memcmp(rec, "\nK AQIDBA==", 11) == 0);
    }
    check_message(qpath("incoming", id), &env, msg, len);
    queue_read_free(&env);
    ck_assert_ptr_null(env.sender);
    queue_read_free(&env);          /* harmless twice */
    vbuf_free(why);
}
END_TEST

START_TEST(test_empty_and_null_sender)
{
    VBUF   *why = vbuf_create(100);
    QUEUE_ENVELOPE env;
    const char *id = queue_simple("", "", 0);

    ck_assert_int_eq(queue_read(qpath("incoming", id), &env, why), QUEUE_READ_OK);
    ck_assert_str_eq(env.sender, "");
    ck_assert_ptr_null(env.client_addr);
    ck_assert_ptr_null(env.helo);
    ck_assert_int_eq(env.size, -1);
    ck_assert_int_eq(env.smtputf8, 0);
    ck_assert_uint_eq(env.attr_count, 0);
    ck_assert_ptr_null(env.auth_sealed);
    ck_assert_int_eq(env.auth_wiped, 0);
    ck_assert_int_eq(env.message_length, 0);
    queue_read_free(&env);
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
    status = queue_read(qpath("corrupt", "test"), &env, why);
    queue_read_free(&env);
    return status;
}

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

    /* Sealed credentials: base64, once; wiped: all '0', once, never both. */
    ck_assert_int_eq(read_bytes(HEAD ENV "K AQ+/Zz09==\n" BODY,
                                strlen(HEAD ENV "K AQ+/Zz09==\n" BODY), why), QUEUE_READ_OK);
    ck_assert_int_eq(read_bytes(HEAD ENV "W 000\n" BODY, strlen(HEAD ENV "W 000\n" BODY), why),
                     QUEUE_READ_OK);
    check_corrupt(HEAD ENV "K \n" BODY, "bad record at offset 33: empty sealed credentials");
    check_corrupt(HEAD ENV "K AQ-_\n" BODY,
                  "bad record at offset 33: sealed credentials not base64");
    check_corrupt(HEAD ENV "K AQ==\nK AQ==\n" BODY, "duplicate K record at offset 40");
    check_corrupt(HEAD ENV "W \n" BODY, "bad record at offset 33: empty wiped credentials");
    check_corrupt(HEAD ENV "W 00x0\n" BODY,
                  "bad record at offset 33: wiped credentials not wiped");
    check_corrupt(HEAD ENV "W 0\nW 0\n" BODY, "duplicate W record at offset 37");
    check_corrupt(HEAD ENV "K AQ==\nW 0000\n" BODY,
                  "sealed and wiped credentials at offset 40");
    check_corrupt(HEAD ENV "W 0000\nK AQ==\n" BODY,
                  "sealed and wiped credentials at offset 40");

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
    ck_assert_int_eq(queue_read("/nonexistent/queue/file", &env, why), QUEUE_READ_ERROR);
    ck_assert_str_eq(vbuf_str(why), "open /nonexistent/queue/file: No such file or directory");
    ck_assert_ptr_null(env.sender);
    vbuf_free(why);
}
END_TEST

START_TEST(test_truncated_everywhere)
{
    VBUF   *why = vbuf_create(100);
    QUEUE_WRITER *qf = queue_write_create(queue_dir, why);
    char    id[QUEUE_ID_LEN + 1];
    char   *data;
    size_t  len, cut;

    strcpy(id, queue_write_id(qf));
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_ARRIVAL, "1700000000"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_CLIENT_ADDR, "192.0.2.7"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_SENDER, "s@example.com"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_RCPT, "r@example.org"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_SMTPUTF8, "0"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_ATTR, "a=b"), 0);
    ck_assert_int_eq(queue_write_begin_message(qf), 0);
    ck_assert_int_eq(queue_write_message(qf, "Subject: x\r\n\r\n.\r\nbody\r\n", 24), 0);
    ck_assert_int_eq(queue_write_commit(qf, why), 0);

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

int
main(void)
{
    Suite  *s = suite_create("queue_read");
    TCase  *tc = tcase_create("queue_read");
    SRunner *sr;
    int     failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_empty_and_null_sender);
    tcase_add_test(tc, test_corrupt);
    tcase_add_test(tc, test_truncated_everywhere);
    tcase_add_test(tc, test_truncated_fake_trailer);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
