/* Unit tests for BDAT (RFC 3030): the "chunk-size [LAST]" argument, and
 * chunk content through the DATA scanner's raw mode. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_bdat.h"

/* An argument, and what it must give: ok 0 is the syntax refusal. */
static const struct {
    const char *arg;
    int     ok;
    uint64_t size;
    int     last;
} args[] = {
    {"0", 1, 0, 0},
    {"1", 1, 1, 0},
    {"1000", 1, 1000, 0},
    {"0 LAST", 1, 0, 1},
    {"1000 LAST", 1, 1000, 1},
    {"1000 last", 1, 1000, 1},
    {"1000 LaSt", 1, 1000, 1},
    {" 1000", 1, 1000, 0},
    {"1000 ", 1, 1000, 0},
    {"  1000   LAST  ", 1, 1000, 1},
    {"007", 1, 7, 0},
    {"00000000000000000001", 1, 1, 0},          /* 20 digits */
    {"18446744073709551615", 1, UINT64_MAX, 0},
    {"18446744073709551615 LAST", 1, UINT64_MAX, 1},
    {"18446744073709551610", 1, UINT64_MAX - 5, 0},
    /* Refused. */
    {"", 0, 0, 0},
    {" ", 0, 0, 0},
    {"LAST", 0, 0, 0},
    {"LAST 10", 0, 0, 0},
    {"+1", 0, 0, 0},
    {"-1", 0, 0, 0},
    {"1.5", 0, 0, 0},
    {"0x10", 0, 0, 0},
    {"10LAST", 0, 0, 0},
    {"10 LASTX", 0, 0, 0},
    {"10 LAS", 0, 0, 0},
    {"10 LAST LAST", 0, 0, 0},
    {"10 LAST x", 0, 0, 0},
    {"10 20", 0, 0, 0},
    {"10 MORE", 0, 0, 0},
    {"10\tLAST", 0, 0, 0},
    {"\t10", 0, 0, 0},
    {"10\r", 0, 0, 0},
    {"10 LAST\r", 0, 0, 0},
    {"18446744073709551616", 0, 0, 0},          /* UINT64_MAX + 1 */
    {"99999999999999999999", 0, 0, 0},
    {"000000000000000000001", 0, 0, 0},         /* 21 digits */
    {"123456789012345678901234567890", 0, 0, 0},
    {"\xef\xbc\x91", 0, 0, 0},                  /* fullwidth 1 */
};

START_TEST(test_parse)
{
    SMTP_ADDR_ERR err;
    uint64_t size = 12345;
    int     last = 7;
    int     rc = smtp_bdat_parse(args[_i].arg, &size, &last, &err);

    if (args[_i].ok) {
        ck_assert_msg(rc == 0, "arg %d \"%s\" refused", _i, args[_i].arg);
        ck_assert_msg(size == args[_i].size, "arg %d: size %llu", _i,
                      (unsigned long long) size);
        ck_assert_int_eq(last, args[_i].last);
    } else {
        ck_assert_msg(rc == -1, "arg %d \"%s\" accepted", _i, args[_i].arg);
        ck_assert_int_eq(err.code, 501);
        ck_assert_str_eq(err.status, "5.5.4");
        ck_assert_str_eq(err.text, "Syntax: BDAT count [LAST]");
        /* A refusal leaves the outputs alone. */
        ck_assert_uint_eq(size, 12345);
        ck_assert_int_eq(last, 7);
    }
}
END_TEST

static Suite *
smtp_bdat_suite(void)
{
    Suite  *s = suite_create("smtp_bdat");
    TCase  *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_parse, 0, sizeof(args) / sizeof(args[0]));
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(smtp_bdat_suite());
    int     failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
