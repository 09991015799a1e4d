/* Unit tests for what the queue file writer, reader and marks share: the
 * records and their values. */
#include <check.h>
#include <string.h>

#include "queue_record.h"
#include "vbuf.h"

START_TEST(test_record_check)
{
    char    big[QUEUE_VALUE_MAX + 1];

    ck_assert_ptr_null(queue_record_check(QUEUE_REC_HELO, "mx.example.com", 14));
    ck_assert_ptr_null(queue_record_check(QUEUE_REC_SENDER, "", 0));
    ck_assert_str_eq(queue_record_check(QUEUE_REC_HELO, "a\rb", 3), "CR, LF or NUL in value");
    ck_assert_str_eq(queue_record_check(QUEUE_REC_HELO, "a\nb", 3), "CR, LF or NUL in value");
    ck_assert_str_eq(queue_record_check(QUEUE_REC_HELO, "a\0b", 3), "CR, LF or NUL in value");
    memset(big, 'x', sizeof(big));
    ck_assert_ptr_null(queue_record_check(QUEUE_REC_HELO, big, QUEUE_VALUE_MAX));
    ck_assert_str_eq(queue_record_check(QUEUE_REC_HELO, big, sizeof(big)), "value too long");
    ck_assert_ptr_null(queue_record_check(QUEUE_REC_ARRIVAL, "1700000000", 10));
    ck_assert_str_eq(queue_record_check(QUEUE_REC_SIZE, "-1", 2), "bad number");
    ck_assert_ptr_null(queue_record_check(QUEUE_REC_SMTPUTF8, "0", 1));
    ck_assert_str_eq(queue_record_check(QUEUE_REC_SMTPUTF8, "10", 2), "bad smtputf8 flag");
    ck_assert_ptr_null(queue_record_check(QUEUE_REC_ATTR, "ret=", 4));
    ck_assert_str_eq(queue_record_check(QUEUE_REC_ATTR, "=x", 2), "bad attribute");
    ck_assert_str_eq(queue_record_check(QUEUE_RCPT_DELIVERED, "", 0), "empty recipient");
}
END_TEST

START_TEST(test_record_parse_num)
{
    long long n = -5;

    ck_assert_int_eq(queue_record_parse_num("0", 1, &n), 0);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(queue_record_parse_num("999999999999999999", 18, &n), 0);
    ck_assert_int_eq(n, 999999999999999999LL);
    ck_assert_int_eq(queue_record_parse_num("1000000000000000000", 19, &n), -1);
    ck_assert_int_eq(queue_record_parse_num("", 0, &n), -1);
    ck_assert_int_eq(queue_record_parse_num("+1", 2, &n), -1);
    ck_assert_int_eq(queue_record_parse_num("12", 1, NULL), 0);
}
END_TEST

START_TEST(test_record_types)
{
    const char *once = "TCNHPUSZY8";
    unsigned seen = 0, bit;

    for (; *once; once++) {
        bit = queue_record_singleton_bit(*once);
        ck_assert_uint_ne(bit, 0);
        ck_assert_uint_eq(seen & bit, 0);
        seen |= bit;
    }
    ck_assert_uint_eq(queue_record_singleton_bit(QUEUE_REC_RCPT), 0);
    ck_assert_uint_eq(queue_record_singleton_bit(QUEUE_REC_ATTR), 0);
    ck_assert_uint_eq(queue_record_singleton_bit(QUEUE_REC_MESSAGE), 0);
    ck_assert_uint_eq(queue_record_singleton_bit(0), 0);
    ck_assert(queue_record_is_rcpt(QUEUE_RCPT_PENDING));
    ck_assert(queue_record_is_rcpt(QUEUE_RCPT_DELIVERED));
    ck_assert(queue_record_is_rcpt(QUEUE_RCPT_BOUNCED));
    ck_assert(!queue_record_is_rcpt(QUEUE_REC_BODY_TYPE));
    ck_assert(!queue_record_is_rcpt(QUEUE_REC_SENDER));
}
END_TEST

START_TEST(test_record_why)
{
    VBUF   *why = vbuf_create(10);

    vbuf_set(why, "old reason");
    queue_record_why(why, "bad %s at %d", "record", 17);
    ck_assert_str_eq(vbuf_str(why), "bad record at 17");
    queue_record_why(NULL, "nowhere");
    vbuf_free(why);
}
END_TEST

int
main(void)
{
    Suite  *s = suite_create("queue_record");
    TCase  *tc = tcase_create("queue_record");
    SRunner *sr;
    int     failed;

    tcase_add_test(tc, test_record_check);
    tcase_add_test(tc, test_record_parse_num);
    tcase_add_test(tc, test_record_types);
    tcase_add_test(tc, test_record_why);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
