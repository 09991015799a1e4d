/* Unit tests for MAIL FROM:/RCPT TO: argument parsing and host names. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_addr.h"

#define MAIL    0
#define RCPT    1

static int
parse(int verb, int opts, const char *arg, SMTP_PATH *path, SMTP_ADDR_ERR *err)
{
    memset(err, 0, sizeof(*err));
    return verb == MAIL ? smtp_addr_parse_mail(arg, opts, path, err)
        : smtp_addr_parse_rcpt(arg, opts, path, err);
}

/* A refusal, exactly. */
typedef struct {
    int     verb;
    int     opts;
    const char *arg;
    int     code;
    const char *status;
    const char *text;
} REFUSAL;

static const REFUSAL refusals[] = {
    /* Not "FROM:<...>" at all. */
    {MAIL, 0, "", 501, "5.5.4", "Syntax: MAIL FROM:<address>"},
    {MAIL, 0, "FROM", 501, "5.5.4", "Syntax: MAIL FROM:<address>"},
    {MAIL, 0, "FRM:<a@b.example>", 501, "5.5.4", "Syntax: MAIL FROM:<address>"},
    {MAIL, 0, "TO:<a@b.example>", 501, "5.5.4", "Syntax: MAIL FROM:<address>"},
    {MAIL, 0, "FROM:", 501, "5.5.4", "Syntax: MAIL FROM:<address>"},
    {MAIL, 0, "FROM:a@b.example", 501, "5.5.4", "Syntax: MAIL FROM:<address>"},
    {MAIL, 0, "FROM:\t<a@b.example>", 501, "5.5.4", "Syntax: MAIL FROM:<address>"},
    {MAIL, 0, "FROM:<a@b.example>x", 501, "5.5.4", "Syntax: MAIL FROM:<address>"},
    {MAIL, 0, "FROM:<a@b.example>SIZE=1", 501, "5.5.4", "Syntax: MAIL FROM:<address>"},
    {RCPT, 0, "FROM:<a@b.example>", 501, "5.5.4", "Syntax: RCPT TO:<address>"},
    {RCPT, 0, "TO:a@b.example", 501, "5.5.4", "Syntax: RCPT TO:<address>"},

    /* Bad paths. */
    {MAIL, 0, "FROM:<a@b.example", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<Postmaster>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a@>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<@b.example>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a b@c.example>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a@c.example >", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:< a@c.example>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a\t@b.example>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a\x01@b.example>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a@b.ex\x7fmple>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a@b@c.example>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a(b)@c.example>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<.a@b.example>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a.@b.example>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a..b@c.example>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a@b..example>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a@.b.example>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a@b.example.>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a@-b.example>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a@b-.example>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a@b_c.example>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a@1.2.3.4>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a@[1.2.3.256]>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a@[1.2.3]>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a@[1.2.3.4.5]>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a@[1.2.3.4>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a@[1.2.3.4]x>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a@[IPv6:zz::1]>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a@[IPv6:1.2.3.4]>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a@[x-tag:foo]>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a@[]>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<\"a@b.example>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<\"\"@b.example>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<\"a\\\x01\"@b.example>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<\"a\x01\"@b.example>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<\"a\"b@c.example>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<\"a\".b@c.example>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a\xff@b.example> SMTPUTF8", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a\xc0\xaf@b.example> SMTPUTF8", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a\xed\xa0\x80@b.example> SMTPUTF8", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<a\xc3@b.example> SMTPUTF8", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<@a.example:>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<@a.example,b.example:u@d.example>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<@a.example;@b.example:u@d.example>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<@[1.2.3.4]:u@d.example>", 501, "5.1.7", "Bad sender address syntax"},
    {MAIL, 0, "FROM:<<a@b.example>>", 501, "5.1.7", "Bad sender address syntax"},
    {RCPT, 0, "TO:<>", 501, "5.1.3", "Bad recipient address syntax"},
    {RCPT, 0, "TO:<a b@c.example>", 501, "5.1.3", "Bad recipient address syntax"},
    {RCPT, 0, "TO:<user>", 501, "5.1.3", "Bad recipient address syntax"},
    {RCPT, 0, "TO:<\"Postmaster\">", 501, "5.1.3", "Bad recipient address syntax"},
    {RCPT, 0, "TO:<@a.example:Postmaster>", 501, "5.1.3", "Bad recipient address syntax"},

    /* Parameters. */
    {MAIL, 0, "FROM:<a@b.example> FOO", 555, "5.5.4", "Unsupported option: FOO"},
    {MAIL, 0, "FROM:<> RET=HDRS", 555, "5.5.4", "Unsupported option: RET=HDRS"},
    {MAIL, 0, "FROM:<> ENVID=QQ314159", 555, "5.5.4", "Unsupported option: ENVID=QQ314159"},
    {MAIL, 0, "FROM:<> BODY=BINARYMIME", 555, "5.5.4", "Unsupported option: BODY=BINARYMIME"},
    {MAIL, 0, "FROM:<> BODY", 555, "5.5.4", "Unsupported option: BODY"},
    {MAIL, 0, "FROM:<> SMTPUTF8=yes", 555, "5.5.4", "Unsupported option: SMTPUTF8=yes"},
    {MAIL, 0, "FROM:<> SIZE=", 555, "5.5.4", "Unsupported option: SIZE="},
    {MAIL, 0, "FROM:<> =1", 555, "5.5.4", "Unsupported option: =1"},
    {MAIL, 0, "FROM:<> -X", 555, "5.5.4", "Unsupported option: -X"},
    {MAIL, 0, "FROM:<> X_Y", 555, "5.5.4", "Unsupported option: X_Y"},
    {MAIL, 0, "FROM:<> FOO=a=b", 555, "5.5.4", "Unsupported option: FOO=a=b"},
    {MAIL, 0, "FROM:<> FOO=\x01", 555, "5.5.4", "Unsupported option: FOO=?"},
    {MAIL, 0, "FROM:<> FOO=\tx", 555, "5.5.4", "Unsupported option: FOO=?x"},
    {MAIL, 0, "FROM:<> SIZE=10\r\n", 555, "5.5.4", "Unsupported option: SIZE=10??"},
    {MAIL, 0, "FROM:<> SIZE=abc", 501, "5.5.4", "Bad SIZE parameter syntax"},
    {MAIL, 0, "FROM:<> SIZE=-1", 501, "5.5.4", "Bad SIZE parameter syntax"},
    {MAIL, 0, "FROM:<> SIZE=+1", 501, "5.5.4", "Bad SIZE parameter syntax"},
    {MAIL, 0, "FROM:<> SIZE", 501, "5.5.4", "Bad SIZE parameter syntax"},
    {MAIL, 0, "FROM:<> SIZE=123456789012345678901", 501, "5.5.4", "Bad SIZE parameter syntax"},
    {MAIL, 0, "FROM:<> SIZE=10 SIZE=20", 501, "5.5.4", "Duplicate option: SIZE"},
    {MAIL, 0, "FROM:<> body=7BIT BODY=8BITMIME", 501, "5.5.4", "Duplicate option: BODY"},
    {MAIL, 0, "FROM:<> SMTPUTF8 smtputf8", 501, "5.5.4", "Duplicate option: smtputf8"},
    {MAIL, 0, "FROM:<> AUTH=<> AUTH=<>", 501, "5.5.4", "Duplicate option: AUTH"},
    {MAIL, 0, "FROM:<> AUTH", 501, "5.5.4", "Bad AUTH parameter syntax"},
    {MAIL, 0, "FROM:<> AUTH=a+4", 501, "5.5.4", "Bad AUTH parameter syntax"},
    {MAIL, 0, "FROM:<> AUTH=a+4G", 501, "5.5.4", "Bad AUTH parameter syntax"},
    {MAIL, 0, "FROM:<> AUTH=a+2b", 501, "5.5.4", "Bad AUTH parameter syntax"},
    {MAIL, 0, "FROM:<> AUTH=\xc3\xa9", 501, "5.5.4", "Bad AUTH parameter syntax"},
    {MAIL, SMTP_ADDR_OPT_HELO, "FROM:<a@b.example> SIZE=10", 555, "5.5.4", "Unsupported option: SIZE=10"},
    {RCPT, 0, "TO:<a@b.example> NOTIFY=NEVER", 555, "5.5.4", "Unsupported option: NOTIFY=NEVER"},
    {RCPT, 0, "TO:<a@b.example> ORCPT=rfc822;a@b.example", 555, "5.5.4", "Unsupported option: ORCPT=rfc822;a@b.example"},
    {RCPT, 0, "TO:<a@b.example> SIZE=10", 555, "5.5.4", "Unsupported option: SIZE=10"},

    /* Non-ASCII without SMTPUTF8 (RFC 6531 3.5). */
    {MAIL, 0, "FROM:<pel\xc3\xa9@example.com>", 553, "5.6.7", "Non-ASCII addresses not permitted for that sender"},
    {MAIL, 0, "FROM:<a@b\xc3\xa9.example> SIZE=5", 553, "5.6.7", "Non-ASCII addresses not permitted for that sender"},
    {MAIL, 0, "FROM:<\"\xc3\xa9\"@example.com>", 553, "5.6.7", "Non-ASCII addresses not permitted for that sender"},
    {RCPT, 0, "TO:<pel\xc3\xa9@example.com>", 553, "5.6.7", "Non-ASCII addresses not permitted for that recipient"},
};

START_TEST(test_refusals)
{
    const REFUSAL *r = &refusals[_i];
    SMTP_PATH path;
    SMTP_ADDR_ERR err;

    ck_assert_msg(parse(r->verb, r->opts, r->arg, &path, &err) == -1,
                  "accepted: %s", r->arg);
    ck_assert_msg(err.code == r->code, "%s: code %d", r->arg, err.code);
    ck_assert_msg(strcmp(err.status, r->status) == 0, "%s: status %s",
                  r->arg, err.status);
    ck_assert_msg(strcmp(err.text, r->text) == 0, "%s: text \"%s\"",
                  r->arg, err.text);
}
END_TEST

/* Asserts acceptance and returns the result. */
static SMTP_PATH *
accept(int verb, int opts, const char *arg)
{
    static SMTP_PATH path;
    SMTP_ADDR_ERR err;

    ck_assert_msg(parse(verb, opts, arg, &path, &err) == 0,
                  "refused: %s: %d %s %s", arg, err.code, err.status, err.text);
    return &path;
}

START_TEST(test_mail_plain)
{
    SMTP_PATH *p = accept(MAIL, 0, "FROM:<User.Name@Mail.Example.COM>");

    ck_assert_str_eq(p->raw, "User.Name@Mail.Example.COM");
    ck_assert_str_eq(p->mailbox, "User.Name@Mail.Example.COM");
    ck_assert_str_eq(p->addr, "User.Name@Mail.Example.COM");
    ck_assert_str_eq(p->local, "User.Name");
    ck_assert_str_eq(p->domain, "Mail.Example.COM");
    ck_assert_str_eq(p->domain_lc, "mail.example.com");
    ck_assert_int_eq(p->flags, 0);
    ck_assert_int_eq(p->params, 0);
    ck_assert_int_eq(p->body, SMTP_ADDR_BODY_NONE);

    /* Case of the verb and white space are tolerated. */
    p = accept(MAIL, 0, "from:  <a@b.example>  ");
    ck_assert_str_eq(p->addr, "a@b.example");
    p = accept(MAIL, 0, " From:<a@b.example>");
    ck_assert_str_eq(p->addr, "a@b.example");
    p = accept(MAIL, 0, "FROM:<!#$&'*+-/=?^_`{|}~@b.example>");
    ck_assert_str_eq(p->local, "!#$&'*+-/=?^_`{|}~");
    p = accept(MAIL, 0, "FROM:<a@123.example>");
    ck_assert_str_eq(p->domain, "123.example");
    p = accept(MAIL, 0, "FROM:<a@localhost>");
    ck_assert_str_eq(p->domain, "localhost");
}
END_TEST

START_TEST(test_mail_null_sender)
{
    SMTP_PATH *p = accept(MAIL, 0, "FROM:<>");

    ck_assert_int_eq(p->flags, SMTP_ADDR_FLAG_NULL);
    ck_assert_str_eq(p->addr, "");
    ck_assert_str_eq(p->raw, "");
    ck_assert_str_eq(p->domain, "");

    p = accept(MAIL, 0, "FROM:<> SIZE=1000 BODY=8BITMIME");
    ck_assert_int_eq(p->flags, SMTP_ADDR_FLAG_NULL);
    ck_assert_int_eq(p->params, SMTP_ADDR_PARAM_SIZE | SMTP_ADDR_PARAM_BODY);
    ck_assert_uint_eq(p->size, 1000);
    ck_assert_int_eq(p->body, SMTP_ADDR_BODY_8BITMIME);
}
END_TEST

START_TEST(test_mail_params)
{
    SMTP_PATH *p;

    p = accept(MAIL, 0, "FROM:<a@b.example> SIZE=0 body=7bit");
    ck_assert_uint_eq(p->size, 0);
    ck_assert_int_eq(p->body, SMTP_ADDR_BODY_7BIT);
    p = accept(MAIL, 0, "FROM:<a@b.example> size=18446744073709551615");
    ck_assert_uint_eq(p->size, UINT64_MAX);
    p = accept(MAIL, 0, "FROM:<a@b.example> SIZE=18446744073709551614");
    ck_assert_uint_eq(p->size, UINT64_MAX - 1);
    /* Larger than 64 bits but within RFC 1870's 20 digits: clamped. */
    p = accept(MAIL, 0, "FROM:<a@b.example> SIZE=18446744073709551616");
    ck_assert_uint_eq(p->size, UINT64_MAX);
    p = accept(MAIL, 0, "FROM:<a@b.example> SIZE=99999999999999999999");
    ck_assert_uint_eq(p->size, UINT64_MAX);
    p = accept(MAIL, 0, "FROM:<a@b.example> SIZE=00000000000000000042");
    ck_assert_uint_eq(p->size, 42);

    p = accept(MAIL, 0, "FROM:<a@b.example>   AUTH=<>   SMTPUTF8  ");
    ck_assert_str_eq(p->auth, "<>");
    ck_assert_int_eq(p->params, SMTP_ADDR_PARAM_AUTH | SMTP_ADDR_PARAM_SMTPUTF8);
    p = accept(MAIL, 0, "FROM:<a@b.example> AUTH=e+3Dmc2@example.com");
    ck_assert_str_eq(p->auth, "e+3Dmc2@example.com");

    /* Without EHLO, a MAIL without parameters is fine. */
    p = accept(MAIL, SMTP_ADDR_OPT_HELO, "FROM:<a@b.example>");
    ck_assert_str_eq(p->addr, "a@b.example");
}
END_TEST

START_TEST(test_source_route)
{
    SMTP_PATH *p = accept(MAIL, 0, "FROM:<@a.example,@B.example:u@d.example>");

    ck_assert_int_eq(p->flags, SMTP_ADDR_FLAG_ROUTE);
    ck_assert_str_eq(p->raw, "@a.example,@B.example:u@d.example");
    ck_assert_str_eq(p->mailbox, "u@d.example");
    ck_assert_str_eq(p->addr, "u@d.example");
    ck_assert_str_eq(p->domain, "d.example");

    p = accept(RCPT, 0, "TO:<@relay.example:\"x y\"@d.example>");
    ck_assert_int_eq(p->flags, SMTP_ADDR_FLAG_ROUTE | SMTP_ADDR_FLAG_QUOTED);
    ck_assert_str_eq(p->mailbox, "\"x y\"@d.example");
    ck_assert_str_eq(p->addr, "x y@d.example");
}
END_TEST

START_TEST(test_literals)
{
    SMTP_PATH *p = accept(RCPT, 0, "TO:<u@[192.0.2.1]>");

    ck_assert_int_eq(p->flags, SMTP_ADDR_FLAG_LITERAL);
    ck_assert_str_eq(p->domain, "[192.0.2.1]");
    ck_assert_str_eq(p->addr, "u@[192.0.2.1]");

    p = accept(RCPT, 0, "TO:<u@[IPv6:2001:DB8::1]>");
    ck_assert_int_eq(p->flags, SMTP_ADDR_FLAG_LITERAL);
    ck_assert_str_eq(p->domain, "[IPv6:2001:DB8::1]");
    ck_assert_str_eq(p->domain_lc, "[ipv6:2001:db8::1]");

    p = accept(MAIL, 0, "FROM:<u@[IPv6:::ffff:192.0.2.1]>");
    ck_assert_int_eq(p->flags, SMTP_ADDR_FLAG_LITERAL);
}
END_TEST

START_TEST(test_percent_bang)
{
    SMTP_PATH *p = accept(RCPT, 0, "TO:<u%d.example@local.example>");

    ck_assert_int_eq(p->flags, SMTP_ADDR_FLAG_PERCENT);
    ck_assert_str_eq(p->local, "u%d.example");
    p = accept(RCPT, 0, "TO:<d.example!u@local.example>");
    ck_assert_int_eq(p->flags, SMTP_ADDR_FLAG_BANG);
    p = accept(RCPT, 0, "TO:<\"a!b%c\"@local.example>");
    ck_assert_int_eq(p->flags, SMTP_ADDR_FLAG_BANG | SMTP_ADDR_FLAG_PERCENT
                     | SMTP_ADDR_FLAG_QUOTED);
}
END_TEST

START_TEST(test_quoted)
{
    SMTP_PATH *p = accept(MAIL, 0, "FROM:<\"john doe\"@example.com>");

    ck_assert_int_eq(p->flags, SMTP_ADDR_FLAG_QUOTED);
    ck_assert_str_eq(p->local, "john doe");
    ck_assert_str_eq(p->addr, "john doe@example.com");
    ck_assert_str_eq(p->mailbox, "\"john doe\"@example.com");
    ck_assert_str_eq(p->raw, "\"john doe\"@example.com");

    /* A quoted form compares equal to the plain one. */
    p = accept(MAIL, 0, "FROM:<\"john.doe\"@example.com>");
    ck_assert_str_eq(p->addr, "john.doe@example.com");

    p = accept(MAIL, 0, "FROM:<\"a\\\"b\\\\c\\d@e>\"@x.example>");
    ck_assert_str_eq(p->local, "a\"b\\cd@e>");
    ck_assert_str_eq(p->addr, "a\"b\\cd@e>@x.example");
}
END_TEST

START_TEST(test_rcpt)
{
    SMTP_PATH *p = accept(RCPT, 0, "TO:<a@b.example>");

    ck_assert_str_eq(p->addr, "a@b.example");
    ck_assert_int_eq(p->flags, 0);
    p = accept(RCPT, 0, "to: <a@b.example> ");
    ck_assert_str_eq(p->addr, "a@b.example");

    /* RFC 5321 4.1.1.3: <Postmaster> without domain, any case. */
    p = accept(RCPT, 0, "TO:<Postmaster>");
    ck_assert_int_eq(p->flags, SMTP_ADDR_FLAG_POSTMASTER);
    ck_assert_str_eq(p->addr, "Postmaster");
    ck_assert_str_eq(p->local, "Postmaster");
    ck_assert_str_eq(p->domain, "");
    p = accept(RCPT, 0, "TO:<POSTMASTER>");
    ck_assert_int_eq(p->flags, SMTP_ADDR_FLAG_POSTMASTER);
    p = accept(RCPT, 0, "TO:<postmaster@b.example>");
    ck_assert_int_eq(p->flags, 0);
}
END_TEST

START_TEST(test_utf8)
{
    SMTP_PATH *p;

    p = accept(MAIL, 0, "FROM:<pel\xc3\xa9@\xc3\xa9X.example> SMTPUTF8");
    ck_assert_int_eq(p->flags, SMTP_ADDR_FLAG_UTF8);
    ck_assert_str_eq(p->local, "pel\xc3\xa9");
    ck_assert_str_eq(p->domain_lc, "\xc3\xa9x.example");
    p = accept(MAIL, 0, "FROM:<\"\xe2\x82\xac x\"@b.example> SMTPUTF8");
    ck_assert_int_eq(p->flags, SMTP_ADDR_FLAG_UTF8 | SMTP_ADDR_FLAG_QUOTED);
    p = accept(MAIL, 0, "FROM:<\xf0\x9f\x90\x8a@b.example> SMTPUTF8");
    ck_assert_int_eq(p->flags, SMTP_ADDR_FLAG_UTF8);
    p = accept(RCPT, SMTP_ADDR_OPT_SMTPUTF8, "TO:<\xd0\xb8@b.example>");
    ck_assert_int_eq(p->flags, SMTP_ADDR_FLAG_UTF8);
    /* SMTPUTF8 with an ASCII address is fine. */
    p = accept(MAIL, 0, "FROM:<a@b.example> SMTPUTF8");
    ck_assert_int_eq(p->flags, 0);
}
END_TEST

/* Builds "<local@domain>" with lengths chosen by the test. */
static char *
make_arg(const char *verb, size_t local_len, const char *route,
         size_t label_len, size_t nlabels)
{
    char   *s = malloc(2048);
    size_t  n, i, j;

    n = (size_t) sprintf(s, "%s<%s", verb, route);
    for (i = 0; i < local_len; i++)
        s[n++] = 'l';
    s[n++] = '@';
    for (j = 0; j < nlabels; j++) {
        for (i = 0; i < label_len; i++)
            s[n++] = 'd';
        s[n++] = j + 1 < nlabels ? '.' : '>';
    }
    s[n] = 0;
    return s;
}

START_TEST(test_lengths)
{
    SMTP_PATH path;
    SMTP_ADDR_ERR err;
    char   *s;

    /* Local part: 64 fine, 65 not (RFC 5321 4.5.3.1.1). */
    s = make_arg("FROM:", 64, "", 10, 2);
    ck_assert_int_eq(parse(MAIL, 0, s, &path, &err), 0);
    ck_assert_uint_eq(strlen(path.local), 64);
    free(s);
    s = make_arg("FROM:", 65, "", 10, 2);
    ck_assert_int_eq(parse(MAIL, 0, s, &path, &err), -1);
    ck_assert_int_eq(err.code, 501);
    ck_assert_str_eq(err.status, "5.1.7");
    ck_assert_str_eq(err.text, "Local part too long");
    free(s);
    /* The quotes count: 62 characters and two quotes are 64. */
    s = malloc(200);
    strcpy(s, "TO:<\"");
    memset(s + 5, 'q', 62);
    strcpy(s + 67, "\"@b.example>");
    ck_assert_int_eq(parse(RCPT, 0, s, &path, &err), 0);
    ck_assert_uint_eq(strlen(path.local), 62);
    memset(s + 5, 'q', 63);
    strcpy(s + 68, "\"@b.example>");
    ck_assert_int_eq(parse(RCPT, 0, s, &path, &err), -1);
    ck_assert_str_eq(err.text, "Local part too long");
    ck_assert_str_eq(err.status, "5.1.3");
    free(s);

    /* Labels: 63 fine, 64 not. */
    s = make_arg("TO:", 1, "", 63, 2);
    ck_assert_int_eq(parse(RCPT, 0, s, &path, &err), 0);
    free(s);
    s = make_arg("TO:", 1, "", 64, 2);
    ck_assert_int_eq(parse(RCPT, 0, s, &path, &err), -1);
    ck_assert_str_eq(err.text, "Bad recipient address syntax");
    free(s);

    /* Path (RFC 5321 4.5.3.1.3): "<" 64 "@" 189 ">" is 256 octets. */
    s = make_arg("TO:", 64, "", 37, 5);
    ck_assert_int_eq(parse(RCPT, 0, s, &path, &err), 0);
    ck_assert_uint_eq(strlen(path.addr), 254);
    ck_assert_uint_eq(strlen(path.domain), 189);
    free(s);
    s = make_arg("FROM:", 2, "", 62, 4);        /* 2 + 251: 256 */
    ck_assert_int_eq(parse(MAIL, 0, s, &path, &err), 0);
    free(s);
    s = make_arg("FROM:", 3, "", 62, 4);
    ck_assert_int_eq(parse(MAIL, 0, s, &path, &err), -1);
    ck_assert_int_eq(err.code, 501);
    ck_assert_str_eq(err.status, "5.1.7");
    ck_assert_str_eq(err.text, "Path too long");
    free(s);
    /* The route counts too. */
    s = make_arg("TO:", 10, "@r.example:", 61, 4);
    ck_assert_int_eq(parse(RCPT, 0, s, &path, &err), -1);
    ck_assert_str_eq(err.status, "5.1.3");
    ck_assert_str_eq(err.text, "Path too long");
    free(s);
    s = make_arg("FROM:", 1, "", 51, 5);        /* 259 */
    ck_assert_int_eq(parse(MAIL, 0, s, &path, &err), -1);
    ck_assert_str_eq(err.text, "Domain name too long");
    free(s);

    /* A long option is shortened in the reply. */
    s = malloc(600);
    strcpy(s, "FROM:<> X-");
    memset(s + 10, 'A', 500);
    s[510] = 0;
    ck_assert_int_eq(parse(MAIL, 0, s, &path, &err), -1);
    ck_assert_int_eq(err.code, 555);
    ck_assert_uint_eq(strlen(err.text), strlen("Unsupported option: ") + 63);
    ck_assert_str_eq(err.text + strlen(err.text) - 3, "...");
    free(s);
}
END_TEST

START_TEST(test_hostname)
{
    char    name[300];

    ck_assert_int_eq(smtp_addr_valid_hostname("mail.example.com", 1), 1);
    ck_assert_int_eq(smtp_addr_valid_hostname("Mail-1.Example.com", 1), 1);
    ck_assert_int_eq(smtp_addr_valid_hostname("123.example", 1), 1);
    ck_assert_int_eq(smtp_addr_valid_hostname("a.b-c.d", 1), 1);
    ck_assert_int_eq(smtp_addr_valid_hostname("localhost", 0), 1);
    ck_assert_int_eq(smtp_addr_valid_hostname("localhost", 1), 0);
    ck_assert_int_eq(smtp_addr_valid_hostname("", 0), 0);
    ck_assert_int_eq(smtp_addr_valid_hostname(".", 0), 0);
    ck_assert_int_eq(smtp_addr_valid_hostname("-a.example", 0), 0);
    ck_assert_int_eq(smtp_addr_valid_hostname("a-.example", 0), 0);
    ck_assert_int_eq(smtp_addr_valid_hostname("a..example", 0), 0);
    ck_assert_int_eq(smtp_addr_valid_hostname(".a.example", 0), 0);
    ck_assert_int_eq(smtp_addr_valid_hostname("a.example.", 0), 0);
    ck_assert_int_eq(smtp_addr_valid_hostname("a_b.example", 0), 0);
    ck_assert_int_eq(smtp_addr_valid_hostname("a b.example", 0), 0);
    ck_assert_int_eq(smtp_addr_valid_hostname("1.2.3.4", 1), 0);
    ck_assert_int_eq(smtp_addr_valid_hostname("example.123", 1), 0);
    ck_assert_int_eq(smtp_addr_valid_hostname("[1.2.3.4]", 0), 0);
    ck_assert_int_eq(smtp_addr_valid_hostname("\xc3\xa9.example", 0), 0);

    /* Labels of 63, names of 253. */
    memset(name, 'a', 63);
    strcpy(name + 63, ".example");
    ck_assert_int_eq(smtp_addr_valid_hostname(name, 1), 1);
    memset(name, 'a', 64);
    strcpy(name + 64, ".example");
    ck_assert_int_eq(smtp_addr_valid_hostname(name, 1), 0);
    memset(name, 'a', 253);
    name[253] = 0;
    name[63] = name[127] = name[191] = '.';
    ck_assert_int_eq(smtp_addr_valid_hostname(name, 1), 1);
    name[253] = 'a';
    name[254] = 0;
    ck_assert_int_eq(smtp_addr_valid_hostname(name, 1), 0);
}
END_TEST

START_TEST(test_literal)
{
    ck_assert_int_eq(smtp_addr_valid_literal("[192.0.2.1]"), 1);
    ck_assert_int_eq(smtp_addr_valid_literal("[0.0.0.0]"), 1);
    ck_assert_int_eq(smtp_addr_valid_literal("[255.255.255.255]"), 1);
    ck_assert_int_eq(smtp_addr_valid_literal("[010.1.1.1]"), 1);
    ck_assert_int_eq(smtp_addr_valid_literal("[256.1.1.1]"), 0);
    ck_assert_int_eq(smtp_addr_valid_literal("[0001.1.1.1]"), 0);
    ck_assert_int_eq(smtp_addr_valid_literal("[1.2.3]"), 0);
    ck_assert_int_eq(smtp_addr_valid_literal("[1.2.3.4.5]"), 0);
    ck_assert_int_eq(smtp_addr_valid_literal("[1.2.3.]"), 0);
    ck_assert_int_eq(smtp_addr_valid_literal("[.1.2.3]"), 0);
    ck_assert_int_eq(smtp_addr_valid_literal("[1..2.3]"), 0);
    ck_assert_int_eq(smtp_addr_valid_literal("[ 1.2.3.4]"), 0);
    ck_assert_int_eq(smtp_addr_valid_literal("1.2.3.4"), 0);
    ck_assert_int_eq(smtp_addr_valid_literal("[1.2.3.4"), 0);
    ck_assert_int_eq(smtp_addr_valid_literal("[]"), 0);
    ck_assert_int_eq(smtp_addr_valid_literal(""), 0);
    ck_assert_int_eq(smtp_addr_valid_literal("[IPv6:::1]"), 1);
    ck_assert_int_eq(smtp_addr_valid_literal("[ipv6:2001:db8::1]"), 1);
    ck_assert_int_eq(smtp_addr_valid_literal("[IPv6:2001:db8:0:0:0:0:0:1]"), 1);
    ck_assert_int_eq(smtp_addr_valid_literal("[IPv6:::ffff:192.0.2.1]"), 1);
    ck_assert_int_eq(smtp_addr_valid_literal("[IPv6:]"), 0);
    ck_assert_int_eq(smtp_addr_valid_literal("[IPv6:1.2.3.4]"), 0);
    ck_assert_int_eq(smtp_addr_valid_literal("[IPv6:2001:db8::1::2]"), 0);
    ck_assert_int_eq(smtp_addr_valid_literal("[IPv6:2001:db8::g]"), 0);
    ck_assert_int_eq(smtp_addr_valid_literal("[2001:db8::1]"), 0);
    ck_assert_int_eq(smtp_addr_valid_literal("[x-tag:content]"), 0);
}
END_TEST

/* Labels of exact lengths, for the HELO edges. */
#define A8      "aaaaaaaa"
#define A32     A8 A8 A8 A8
#define L61     A32 A8 A8 A8 "aaaaa"
#define L62     L61 "a"
#define L63     L62 "a"
#define L64     L63 "a"
#define N253    L63 "." L63 "." L63 "." L61     /* 253 octets */
#define N254    L63 "." L63 "." L63 "." L62     /* 254 octets */

/* deny_invalid_helo's validator: a name, and whether it is legal. */
static const struct {
    const char *name;
    int     ok;
} helo_names[] = {
    /* Fully-qualified names. */
    {"mail.example.com", 1},
    {"a.b", 1},
    {"A.B", 1},
    {"Mail-1.Example.COM", 1},
    {"123.com", 1},
    {"1a.2b", 1},
    {"x.y.z.w.v.u.t.example", 1},
    {"a--b.example", 1},
    {"xn--bcher-kva.example", 1},
    {"mail.example.com.", 1},
    {"a.b.", 1},
    {L63 ".example", 1},
    {"example." L63, 1},
    {N253, 1},
    {N253 ".", 1},
    /* Address literals. */
    {"[192.0.2.1]", 1},
    {"[0.0.0.0]", 1},
    {"[IPv6:2001:db8::1]", 1},
    {"[ipv6:2001:db8::1]", 1},
    {"[IPv6:::1]", 1},
    {"[IPv6:::ffff:192.0.2.1]", 1},
    /* Not fully-qualified, or not a name. */
    {"", 0},
    {"localhost", 0},
    {"localhost.", 0},
    {"mail", 0},
    {".", 0},
    {"..", 0},
    {"1.2.3.4", 0},
    {"example.123", 0},
    {"192.0.2.1.", 0},
    /* Bad labels. */
    {L64 ".example", 0},
    {"example." L64, 0},
    {N254, 0},
    {N254 ".", 0},
    {"-a.com", 0},
    {"a-.com", 0},
    {"a.-com", 0},
    {"a.com-", 0},
    {"a..b", 0},
    {".a.b", 0},
    {"a.b..", 0},
    {"a.b...", 0},
    {"a_b.example", 0},
    {"mail.ex_ample.com", 0},
    {"a b.example", 0},
    {" mail.example.com", 0},
    {"mail.example.com ", 0},
    {"mail.example.com\t", 0},
    {"mail.example.com\r", 0},
    {"caf\xc3\xa9.example", 0},
    {"\xff.example", 0},
    {"a.b/c", 0},
    {"a.b:25", 0},
    {"a@b.example", 0},
    /* Broken literals. */
    {"[300.1.1.1]", 0},
    {"[1.2.3.4", 0},
    {"1.2.3.4]", 0},
    {"[1.2.3]", 0},
    {"[]", 0},
    {"[", 0},
    {"[192.0.2.1].", 0},
    {"[192.0.2.1] ", 0},
    {"[IPv6:]", 0},
    {"[IPv6:1.2.3.4]", 0},
    {"[2001:db8::1]", 0},
    {"[example.com]", 0},
};

START_TEST(test_helo)
{
    const char *name = helo_names[_i].name;

    ck_assert_msg(smtp_addr_valid_helo(name) == helo_names[_i].ok,
                  "helo %d \"%.40s\" (%zu octets): expected %d", _i, name,
                  strlen(name), helo_names[_i].ok);
}
END_TEST

START_TEST(test_helo_null)
{
    ck_assert_int_eq(smtp_addr_valid_helo(0), 0);
    ck_assert_uint_eq(strlen(N253), 253);
    ck_assert_uint_eq(strlen(N254), 254);
    /* The trailing dot is HELO's only: host names keep refusing it. */
    ck_assert_int_eq(smtp_addr_valid_hostname("mail.example.com.", 1), 0);
}
END_TEST

static Suite *
smtp_addr_suite(void)
{
    Suite  *s = suite_create("smtp_addr");
    TCase  *tc = tcase_create("core");

    tcase_add_loop_test(tc, test_refusals, 0,
                        sizeof(refusals) / sizeof(refusals[0]));
    tcase_add_test(tc, test_mail_plain);
    tcase_add_test(tc, test_mail_null_sender);
    tcase_add_test(tc, test_mail_params);
    tcase_add_test(tc, test_source_route);
    tcase_add_test(tc, test_literals);
    tcase_add_test(tc, test_percent_bang);
    tcase_add_test(tc, test_quoted);
    tcase_add_test(tc, test_rcpt);
    tcase_add_test(tc, test_utf8);
    tcase_add_test(tc, test_lengths);
    tcase_add_test(tc, test_hostname);
    tcase_add_test(tc, test_literal);
    tcase_add_loop_test(tc, test_helo, 0,
                        sizeof(helo_names) / sizeof(helo_names[0]));
    tcase_add_test(tc, test_helo_null);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(smtp_addr_suite());
    int     failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
