/* Unit tests for the Subject decoding of the archive
 * (archiver/arc_rfc2047.c): B and Q encoded-words, charsets, white space
 * between words, malformed encoded-words left as they are, raw 8-bit
 * text, control characters. */
#include <check.h>
#include <string.h>

#include "archiver/arc_rfc2047.h"
#include "vbuf.h"

static const char *
decode(const char *in)
{
    static VBUF *out;

    if (out == NULL)
        out = vbuf_create(64);
    arc_rfc2047_decode(out, in, strlen(in));
    ck_assert(arc_rfc2047_valid_utf8(vbuf_str(out), vbuf_len(out)));
    return vbuf_str(out);
}

#define SAME(in)    ck_assert_str_eq(decode(in), in)

START_TEST(test_plain)
{
    SAME("");
    SAME("Hello world");
    SAME("50% off = great?");
    SAME("=?");
    SAME("a =? b ?=");
}
END_TEST

START_TEST(test_b_and_q)
{
    ck_assert_str_eq(decode("=?UTF-8?B?SMOpbGxv?="), "H\xc3\xa9llo");
    ck_assert_str_eq(decode("=?utf-8?b?SMOpbGxv?="), "H\xc3\xa9llo");
    ck_assert_str_eq(decode("=?UTF-8?Q?H=C3=A9llo_world?="), "H\xc3\xa9llo world");
    ck_assert_str_eq(decode("=?utf-8?q?a=3Fb=3d?="), "a?b=");
    /* Base64 without its padding. */
    ck_assert_str_eq(decode("=?utf-8?B?YWI?="), "ab");
    ck_assert_str_eq(decode("=?utf-8?B?YWJj?="), "abc");
    ck_assert_str_eq(decode("=?utf-8?B?YQ==?="), "a");
    /* An empty encoded text. */
    ck_assert_str_eq(decode("x =?utf-8?q?" "?= y"), "x  y");
    /* Text around words stays. */
    ck_assert_str_eq(decode("Re: =?utf-8?q?caf=C3=A9?= ok"), "Re: caf\xc3\xa9 ok");
    /* A RFC 2231 language suffix. */
    ck_assert_str_eq(decode("=?utf-8*fr?q?caf=C3=A9?="), "caf\xc3\xa9");
}
END_TEST

START_TEST(test_charsets)
{
    /* Latin-1, under its names. */
    ck_assert_str_eq(decode("=?ISO-8859-1?Q?caf=E9?="), "caf\xc3\xa9");
    ck_assert_str_eq(decode("=?latin1?B?Y2Fm6Q==?="), "caf\xc3\xa9");
    /* Windows-1252: the euro sign and curly quotes. */
    ck_assert_str_eq(decode("=?windows-1252?Q?=80_=93x=94?="),
                     "\xe2\x82\xac \xe2\x80\x9cx\xe2\x80\x9d");
    /* US-ASCII. */
    ck_assert_str_eq(decode("=?us-ascii?Q?plain?="), "plain");
    /* Others through iconv: ISO-8859-15's euro (0xA4), KOI8-R. */
    ck_assert_str_eq(decode("=?ISO-8859-15?Q?=A4?="), "\xe2\x82\xac");
    ck_assert_str_eq(decode("=?KOI8-R?B?8NLJ18XU?="),
                     "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82");
}
END_TEST

START_TEST(test_adjacent)
{
    /* White space between two encoded-words disappears... */
    ck_assert_str_eq(decode("=?utf-8?q?a?= =?utf-8?q?b?="), "ab");
    ck_assert_str_eq(decode("=?utf-8?q?a?=\t  =?utf-8?q?b?="), "ab");
    ck_assert_str_eq(decode("=?utf-8?q?a?==?utf-8?q?b?="), "ab");
    /* ...a word split in the middle of a character comes out whole... */
    ck_assert_str_eq(decode("=?utf-8?B?w6k=?= =?utf-8?B?w6k=?="), "\xc3\xa9\xc3\xa9");
    /* ...but not the space between a word and plain text. */
    ck_assert_str_eq(decode("=?utf-8?q?a?= b =?utf-8?q?c?="), "a b c");
    ck_assert_str_eq(decode("x =?utf-8?q?a?="), "x a");
}
END_TEST

START_TEST(test_malformed)
{
    /* Each stays exactly as it is. */
    SAME("=?utf-8?q?unterminated");
    SAME("=?utf-8?x?unknown-encoding?=");
    SAME("=?utf-8?b?not base64?=");
    SAME("=?utf-8?b?@@@@?=");
    SAME("=?utf-8?b?Y?=");
    SAME("=?utf-8?q?bad=ZZhex?=");
    SAME("=?utf-8?q?cut=4?=");
    SAME("=?no-such-charset-at-all?q?abc?=");
    SAME("=??q?nocharset?=");
    SAME("=?utf-8?q?space inside?=");
    SAME("=?utf-8?qq?two?=");
    SAME("=?utf-8??empty-encoding?=");
    /* Bytes that are not UTF-8 under a UTF-8 label. */
    SAME("=?utf-8?q?=FF=FE?=");
    /* A malformed word between good ones keeps its spaces. */
    ck_assert_str_eq(decode("=?utf-8?q?a?= =?utf-8?b?!!?= =?utf-8?q?b?="),
                     "a =?utf-8?b?!!?= b");
    /* A charset name too long to be one. */
    {
        char    in[200];

        strcpy(in, "=?");
        memset(in + 2, 'x', 100);
        strcpy(in + 102, "?q?abc?=");
        SAME(in);
    }
}
END_TEST

START_TEST(test_raw_and_controls)
{
    /* Raw UTF-8 (SMTPUTF8) is kept; raw Latin-1 becomes UTF-8. */
    ck_assert_str_eq(decode("caf\xc3\xa9"), "caf\xc3\xa9");
    ck_assert_str_eq(decode("caf\xe9"), "caf\xc3\xa9");
    /* Control characters, plain or decoded, become spaces: a NUL, a
     * line break, an escape sequence, C1 controls. */
    ck_assert_str_eq(decode("a\tb\x1b[31m"), "a b [31m");
    ck_assert_str_eq(decode("=?utf-8?q?a=00b=0D=0Ac?="), "a b  c");
    ck_assert_str_eq(decode("=?utf-8?b?AA==?="), " ");
    ck_assert_str_eq(decode("=?utf-8?q?x=C2=85y?="), "x y");
    ck_assert_str_eq(decode("=?iso-8859-1?q?x=85y=7F?="), "x y ");
    /* Path traversal is only text. */
    ck_assert_str_eq(decode("=?utf-8?q?=2E=2E=2F=2E=2E=2Fetc=2Fpasswd?="), "../../etc/passwd");
}
END_TEST

START_TEST(test_utf8_check)
{
    ck_assert(arc_rfc2047_valid_utf8("", 0));
    ck_assert(arc_rfc2047_valid_utf8("\xf0\x9f\x98\x80", 4));
    ck_assert(!arc_rfc2047_valid_utf8("\xc0\xaf", 2));         /* overlong */
    ck_assert(!arc_rfc2047_valid_utf8("\xed\xa0\x80", 3));     /* surrogate */
    ck_assert(!arc_rfc2047_valid_utf8("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
    ck_assert(!arc_rfc2047_valid_utf8("\xe2\x82", 2));         /* cut */
}
END_TEST

int
main(void)
{
    Suite  *s = suite_create("arc_rfc2047");
    TCase  *tc = tcase_create("arc_rfc2047");
    SRunner *sr;
    int     failed;

    tcase_add_test(tc, test_plain);
    tcase_add_test(tc, test_b_and_q);
    tcase_add_test(tc, test_charsets);
    tcase_add_test(tc, test_adjacent);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_raw_and_controls);
    tcase_add_test(tc, test_utf8_check);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
