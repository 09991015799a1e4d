/* Unit tests for the SMTP reply parser: single and multi-line replies,
 * enhanced status codes, malformed, endless and huge replies, pipelined
 * replies in one buffer, and any split of the input. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_reply.h"
#include "vbuf.h"

/* Feeds in chunks of chunk bytes; returns the status, *used the bytes
 * that belong to the reply. */
static int
feed(SMTP_REPLY *r, const char *in, size_t len, size_t chunk, size_t *used)
{
    size_t off = 0, n, u;
    int status = SMTP_REPLY_MORE;

    smtp_reply_reset(r);
    *used = 0;
    while (off < len && status == SMTP_REPLY_MORE) {
        n = len - off < chunk ? len - off : chunk;
        status = smtp_reply_feed(r, in + off, n, &u);
        ck_assert_uint_le(u, n);
        *used += u;
        off += n;
    }
    return status;
}

/* Parses str whole; checks that every chunk size agrees. */
static int
parse(SMTP_REPLY *r, const char *str, size_t *used)
{
    size_t len = strlen(str), chunk, u;
    int status, whole;
    char *text;
    int code;

    whole = feed(r, str, len, len ? len : 1, used);
    text = strdup(vbuf_str(r->text));
    code = r->code;
    for (chunk = 1; chunk < 8; chunk++) {
        status = feed(r, str, len, chunk, &u);
        ck_assert_int_eq(status, whole);
        ck_assert_uint_eq(u, *used);
        if (status == SMTP_REPLY_DONE) {
            ck_assert_int_eq(r->code, code);
            ck_assert_str_eq(vbuf_str(r->text), text);
        }
    }
    free(text);
    return feed(r, str, len, len ? len : 1, used);
}

START_TEST(test_single_line)
{
    SMTP_REPLY *r = smtp_reply_create();
    size_t used;

    ck_assert_int_eq(parse(r, "250 2.0.0 Ok: queued as X\r\n", &used), SMTP_REPLY_DONE);
    ck_assert_int_eq(r->code, 250);
    ck_assert_str_eq(r->dsn, "2.0.0");
    ck_assert_str_eq(vbuf_str(r->text), "2.0.0 Ok: queued as X");
    ck_assert_int_eq(r->lines, 1);
    ck_assert_uint_eq(used, 27);
    smtp_reply_free(r);
}
END_TEST

START_TEST(test_code_only_and_bare_lf)
{
    SMTP_REPLY *r = smtp_reply_create();
    size_t used;

    ck_assert_int_eq(parse(r, "220\r\n", &used), SMTP_REPLY_DONE);
    ck_assert_int_eq(r->code, 220);
    ck_assert_str_eq(vbuf_str(r->text), "");
    ck_assert_str_eq(r->dsn, "");
    /* A line ended by LF alone is taken as well. */
    ck_assert_int_eq(parse(r, "354 go ahead\n", &used), SMTP_REPLY_DONE);
    ck_assert_int_eq(r->code, 354);
    ck_assert_str_eq(vbuf_str(r->text), "go ahead");
    smtp_reply_free(r);
}
END_TEST

START_TEST(test_multi_line)
{
    SMTP_REPLY *r = smtp_reply_create();
    size_t used;
    const char *ehlo = "250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
        "250 8BITMIME\r\n";

    ck_assert_int_eq(parse(r, ehlo, &used), SMTP_REPLY_DONE);
    ck_assert_int_eq(r->code, 250);
    ck_assert_int_eq(r->lines, 4);
    ck_assert_str_eq(vbuf_str(r->text), "mx.example.com\nPIPELINING\nSIZE 10240000\n8BITMIME");
    ck_assert_uint_eq(used, strlen(ehlo));
    smtp_reply_free(r);
}
END_TEST

START_TEST(test_enhanced_codes)
{
    SMTP_REPLY *r = smtp_reply_create();
    size_t used;

    ck_assert_int_eq(parse(r, "550 5.1.1 <x@y>: User unknown\r\n", &used), SMTP_REPLY_DONE);
    ck_assert_str_eq(r->dsn, "5.1.1");
    ck_assert_int_eq(parse(r, "451 4.7.100 greylisted\r\n", &used), SMTP_REPLY_DONE);
    ck_assert_str_eq(r->dsn, "4.7.100");
    /* Not a code of the reply's class, or not a code at all. */
    ck_assert_int_eq(parse(r, "550 4.1.1 odd\r\n", &used), SMTP_REPLY_DONE);
    ck_assert_str_eq(r->dsn, "");
    ck_assert_int_eq(parse(r, "550 5.1 short\r\n", &used), SMTP_REPLY_DONE);
    ck_assert_str_eq(r->dsn, "");
    ck_assert_int_eq(parse(r, "550 5.1.1000 long\r\n", &used), SMTP_REPLY_DONE);
    ck_assert_str_eq(r->dsn, "");
    ck_assert_int_eq(parse(r, "550 5.1.1x\r\n", &used), SMTP_REPLY_DONE);
    ck_assert_str_eq(r->dsn, "");
    ck_assert_int_eq(parse(r, "250 2.0.0\r\n", &used), SMTP_REPLY_DONE);
    ck_assert_str_eq(r->dsn, "2.0.0");
    smtp_reply_free(r);
}
END_TEST

START_TEST(test_malformed)
{
    static const char *bad[] = {
        "25\r\n",                   /* short */
        "2500 x\r\n",               /* four digits */
        "abc def\r\n",
        "650 out of range\r\n",
        "199 out of range\r\n",
        "260 second digit\r\n",
        "250x\r\n",
        "250-first\r\n251 other code\r\n",
        "250-first\r\nnot a reply\r\n",
        "\r\n",
        NULL,
    };
    SMTP_REPLY *r = smtp_reply_create();
    size_t used;
    int i;

    for (i = 0; bad[i]; i++)
        ck_assert_msg(parse(r, bad[i], &used) == SMTP_REPLY_MALFORMED, "%s", bad[i]);
    /* A NUL inside a line. */
    smtp_reply_reset(r);
    ck_assert_int_eq(smtp_reply_feed(r, "250 a\0b\r\n", 9, &used), SMTP_REPLY_MALFORMED);
    ck_assert_str_eq(smtp_reply_status_text(SMTP_REPLY_MALFORMED), "malformed reply");
    smtp_reply_free(r);
}
END_TEST

START_TEST(test_line_too_long)
{
    SMTP_REPLY *r = smtp_reply_create();
    VBUF *in = vbuf_create(5000);
    size_t used, i;

    vbuf_append_str(in, "250 ");
    for (i = 4; i < SMTP_REPLY_LINE_MAX; i++)
        vbuf_append_char(in, 'x');
    vbuf_append_str(in, "\r\n");
    /* Exactly at the limit: fine. */
    ck_assert_int_eq(parse(r, vbuf_str(in), &used), SMTP_REPLY_DONE);
    vbuf_truncate(in, vbuf_len(in) - 2);
    vbuf_append_str(in, "y\r\n");
    ck_assert_int_eq(parse(r, vbuf_str(in), &used), SMTP_REPLY_TOO_LONG);
    ck_assert_uint_eq(used, SMTP_REPLY_LINE_MAX + 1);
    /* An endless line never ends: refused as soon as it is too long. */
    smtp_reply_reset(r);
    for (i = 0; i < 100; i++) {
        if (smtp_reply_feed(r, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 50, &used)
            != SMTP_REPLY_MORE)
            break;
    }
    ck_assert_int_eq(r->status, SMTP_REPLY_TOO_LONG);
    ck_assert_uint_lt(i, 100);
    vbuf_free(in);
    smtp_reply_free(r);
}
END_TEST

START_TEST(test_endless_and_huge)
{
    SMTP_REPLY *r = smtp_reply_create();
    VBUF *in = vbuf_create(10000);
    size_t used;
    int i, status = SMTP_REPLY_MORE;

    /* Continuation lines without end. */
    smtp_reply_reset(r);
    for (i = 0; i < 100000 && status == SMTP_REPLY_MORE; i++)
        status = smtp_reply_feed(r, "250-more\r\n", 10, &used);
    ck_assert_int_eq(status, SMTP_REPLY_TOO_LONG);
    ck_assert_int_eq(r->lines, SMTP_REPLY_LINES_MAX + 1);
    ck_assert_uint_le(vbuf_len(r->text), SMTP_REPLY_TEXT_MAX);

    /* Few lines, but too much text in all. */
    for (i = 0; i < 20; i++) {
        vbuf_append_str(in, "250-");
        while (vbuf_len(in) % 1000 != 998)
            vbuf_append_char(in, 'z');
        vbuf_append_str(in, "\r\n");
    }
    vbuf_append_str(in, "250 end\r\n");
    ck_assert_int_eq(parse(r, vbuf_str(in), &used), SMTP_REPLY_TOO_LONG);
    ck_assert_uint_le(vbuf_len(r->text), SMTP_REPLY_TEXT_MAX);
    ck_assert_str_eq(smtp_reply_status_text(SMTP_REPLY_TOO_LONG), "reply too long");
    vbuf_free(in);
    smtp_reply_free(r);
}
END_TEST

START_TEST(test_pipelined_replies)
{
    SMTP_REPLY *r = smtp_reply_create();
    const char *in = "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 no\r\n354 go\r\n";
    const char *cp = in;
    size_t used, len = strlen(in);
    int codes[4], i;

    for (i = 0; i < 4; i++) {
        smtp_reply_reset(r);
        ck_assert_int_eq(smtp_reply_feed(r, cp, len - (size_t) (cp - in), &used),
                         SMTP_REPLY_DONE);
        codes[i] = r->code;
        cp += used;
    }
    ck_assert_int_eq(codes[0], 250);
    ck_assert_int_eq(codes[1], 250);
    ck_assert_int_eq(codes[2], 550);
    ck_assert_int_eq(codes[3], 354);
    ck_assert_ptr_eq(cp, in + len);
    /* Done is done until the next reset. */
    ck_assert_int_eq(smtp_reply_feed(r, "250 x\r\n", 7, &used), SMTP_REPLY_DONE);
    ck_assert_uint_eq(used, 0);
    smtp_reply_free(r);
}
END_TEST

START_TEST(test_cr_inside_line)
{
    SMTP_REPLY *r = smtp_reply_create();
    size_t used;

    ck_assert_int_eq(parse(r, "250 a\rb\r\n", &used), SMTP_REPLY_DONE);
    ck_assert_str_eq(vbuf_str(r->text), "a\rb");
    ck_assert_int_eq(parse(r, "250 a\r\r\n", &used), SMTP_REPLY_DONE);
    ck_assert_str_eq(vbuf_str(r->text), "a\r");
    smtp_reply_free(r);
}
END_TEST

START_TEST(test_format)
{
    SMTP_REPLY *r = smtp_reply_create();
    VBUF *out = vbuf_create(100);
    size_t used;

    parse(r, "550-5.1.1 first line\r\n550-5.1.1 second\r\n550 5.1.1 last\r\n", &used);
    smtp_reply_format(r, out, 1000);
    ck_assert_str_eq(vbuf_str(out), "550 5.1.1 first line second last");

    vbuf_reset(out);
    parse(r, "451-no code\r\n451 here \x01\xff\r\n", &used);
    smtp_reply_format(r, out, 1000);
    ck_assert_str_eq(vbuf_str(out), "451 no code here ??");

    vbuf_reset(out);
    parse(r, "250 0123456789abcdef\r\n", &used);
    smtp_reply_format(r, out, 12);
    ck_assert_str_eq(vbuf_str(out), "250 01234...");
    ck_assert_uint_eq(vbuf_len(out), 12);

    /* Appends. */
    vbuf_set(out, "said: ");
    parse(r, "220\r\n", &used);
    smtp_reply_format(r, out, 100);
    ck_assert_str_eq(vbuf_str(out), "said: 220");
    vbuf_free(out);
    smtp_reply_free(r);
}
END_TEST

static Suite *
smtp_reply_suite(void)
{
    Suite *s = suite_create("smtp_reply");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_single_line);
    tcase_add_test(tc, test_code_only_and_bare_lf);
    tcase_add_test(tc, test_multi_line);
    tcase_add_test(tc, test_enhanced_codes);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_line_too_long);
    tcase_add_test(tc, test_endless_and_huge);
    tcase_add_test(tc, test_pipelined_replies);
    tcase_add_test(tc, test_cr_inside_line);
    tcase_add_test(tc, test_format);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(smtp_reply_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
