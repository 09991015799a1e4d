/* Unit tests for BDAT (RFC 3030): the "chunk-size [LAST]" argument, and
 * chunk content through the DATA scanner's raw mode. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_bdat.h"
#include "smtp_data.h"
#include "vbuf.h"

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

/* What a BDAT transaction gave. */
typedef struct {
    int     status;                     /* SMTP_DATA_*, -1: framing error */
    int     nchunk;
    VBUF   *out;
    uint64_t size;
    size_t  longest;
    unsigned received;
    int     flags;
    size_t  rest;                       /* wire bytes after the LAST chunk */
} BDAT_RESULT;

/* Reads "BDAT n [LAST]" CR LF and n bytes, over and over, up to LAST, as
 * smtpd does: the count decides what is content, whatever the bytes say;
 * after an error the chunks are still read to LAST, and discarded. */
static BDAT_RESULT
bdat_read(const char *wire, size_t len, uint64_t limit)
{
    BDAT_RESULT r;
    SMTP_DATA sd;
    SMTP_ADDR_ERR err;
    const char *p = wire, *end = wire + len, *eol;
    char    line[100];
    uint64_t n;
    int     last = 0, status = SMTP_DATA_MORE;
    size_t  used;

    memset(&r, 0, sizeof(r));
    r.out = vbuf_create(len + 1);
    smtp_data_init_raw(&sd, smtp_data_to_vbuf, r.out);
    smtp_data_set_limit(&sd, limit);
    while (!last) {
        eol = memmem(p, end - p, "\r\n", 2);
        ck_assert_ptr_nonnull(eol);
        ck_assert_uint_lt(eol - p, sizeof(line));
        memcpy(line, p, eol - p);
        line[eol - p] = 0;
        ck_assert_int_eq(strncmp(line, "BDAT ", 5), 0);
        if (smtp_bdat_parse(line + 5, &n, &last, &err) < 0) {
            r.status = -1;
            return r;
        }
        p = eol + 2;
        ck_assert_uint_le(n, (uint64_t) (end - p));
        status = smtp_data_feed(&sd, p, (size_t) n, &used);
        if (status == SMTP_DATA_MORE)
            ck_assert_uint_eq(used, n);
        p += n;
        r.nchunk++;
    }
    r.status = smtp_data_finish(&sd);
    ck_assert(status == SMTP_DATA_MORE || status == r.status);
    r.size = sd.size;
    r.longest = sd.longest_line;
    r.received = sd.received;
    r.flags = sd.flags;
    r.rest = end - p;
    return r;
}

/* The wire form of content sent as chunks cut at the given offsets
 * (ascending, ncut of them), the last with LAST. */
static VBUF *
bdat_wire(const char *content, size_t len, const size_t *cuts, int ncut)
{
    VBUF   *w = vbuf_create(len + 100);
    char    cmd[64];
    size_t  from = 0, to;
    int     i;

    for (i = 0; i <= ncut; i++) {
        to = i < ncut ? cuts[i] : len;
        snprintf(cmd, sizeof(cmd), "BDAT %zu%s\r\n", to - from,
                 i == ncut ? " LAST" : "");
        vbuf_append_str(w, cmd);
        vbuf_append(w, content + from, to - from);
        from = to;
    }
    return w;
}

static BDAT_RESULT
bdat_send(const char *content, size_t len, const size_t *cuts, int ncut)
{
    VBUF   *w = bdat_wire(content, len, cuts, ncut);
    BDAT_RESULT r = bdat_read(w->data, w->len, 0);

    vbuf_free(w);
    return r;
}

static void
bdat_same(const BDAT_RESULT *a, const BDAT_RESULT *b, const char *what,
          size_t at)
{
    ck_assert_msg(a->status == b->status, "%s %zu: status %d/%d", what, at,
                  a->status, b->status);
    ck_assert_msg(a->out->len == b->out->len
                  && memcmp(a->out->data, b->out->data, a->out->len) == 0,
                  "%s %zu: output differs", what, at);
    ck_assert_uint_eq(a->size, b->size);
    ck_assert_uint_eq(a->longest, b->longest);
    ck_assert_uint_eq(a->received, b->received);
}

/* One chunk, two chunks cut at every byte, three cut at every pair. */
static BDAT_RESULT
assert_chunking_invariant(const char *content, size_t len)
{
    BDAT_RESULT whole = bdat_send(content, len, 0, 0);
    BDAT_RESULT r;
    size_t  cuts[2];

    for (cuts[0] = 0; cuts[0] <= len; cuts[0]++) {
        r = bdat_send(content, len, cuts, 1);
        bdat_same(&whole, &r, "cut", cuts[0]);
        vbuf_free(r.out);
        for (cuts[1] = cuts[0]; len <= 64 && cuts[1] <= len; cuts[1]++) {
            r = bdat_send(content, len, cuts, 2);
            bdat_same(&whole, &r, "cuts", cuts[0] * 1000 + cuts[1]);
            vbuf_free(r.out);
        }
    }
    return whole;
}

/* Content, and what it gives: status and content handed on. */
#define S(s)    s, sizeof(s) - 1

static const struct {
    const char *in;
    size_t  len;
    int     status;
    const char *out;
    size_t  out_len;
} contents[] = {
    {S("Subject: t\r\n\r\nhello\r\n"), SMTP_DATA_END,
     S("Subject: t\r\n\r\nhello\r\n")},
    {S(""), SMTP_DATA_END, S("")},
    {S("no final line end"), SMTP_DATA_END, S("no final line end")},
    /* Not DATA: dots stay, the end marker and commands are content. */
    {S("a\r\n.\r\nMAIL FROM:<x@y.example>\r\n"), SMTP_DATA_END,
     S("a\r\n.\r\nMAIL FROM:<x@y.example>\r\n")},
    {S("..\r\n.\r\n"), SMTP_DATA_END, S("..\r\n.\r\n")},
    {S("BDAT 5 LAST\r\nQUIT\r\n"), SMTP_DATA_END,
     S("BDAT 5 LAST\r\nQUIT\r\n")},
    /* Smuggling: refused however the chunks fall. */
    {S("a\r\n.\n"), SMTP_DATA_BARE_LF, S("a\r\n.")},
    {S("a\n"), SMTP_DATA_BARE_LF, S("a")},
    {S("a\rb\r\n"), SMTP_DATA_BARE_CR, S("a")},
    {S("a\r\n\r"), SMTP_DATA_BARE_CR, S("a\r\n")},
    {S("a\r\r\n"), SMTP_DATA_BARE_CR, S("a")},
    {S("a\0\r\n"), SMTP_DATA_NUL, S("a")},
};

START_TEST(test_contents)
{
    BDAT_RESULT r = assert_chunking_invariant(contents[_i].in,
                                              contents[_i].len);

    ck_assert_msg(r.status == contents[_i].status, "content %d: status %d",
                  _i, r.status);
    ck_assert_msg(r.out->len == contents[_i].out_len
                  && memcmp(r.out->data, contents[_i].out,
                            contents[_i].out_len) == 0,
                  "content %d: output \"%s\"", _i, r.out->data);
    ck_assert_uint_eq(r.size, r.out->len);
    ck_assert_uint_eq(r.rest, 0);
    vbuf_free(r.out);
}
END_TEST

START_TEST(test_framing)
{
    static const char wire[] =
        "BDAT 5\r\na\r\nb\r"
        "BDAT 0\r\n"
        "BDAT 10\r\n\n.\r\nQUIT\r\n"
        "BDAT 0 LAST\r\n"
        "NOOP\r\n";
    BDAT_RESULT r = bdat_read(S(wire), 0);

    /* A CR LF across chunks and an empty one, an empty LAST. */
    ck_assert_int_eq(r.status, SMTP_DATA_END);
    ck_assert_int_eq(r.nchunk, 4);
    ck_assert_uint_eq(r.out->len, 15);
    ck_assert_int_eq(memcmp(r.out->data, "a\r\nb\r\n.\r\nQUIT\r\n", 15), 0);
    ck_assert_uint_eq(r.rest, 6);               /* the next command */
    vbuf_free(r.out);

    /* A CR at the end of a chunk, not LF at the start of the next. */
    r = bdat_read(S("BDAT 2\r\na\rBDAT 1 LAST\r\nb"), 0);
    ck_assert_int_eq(r.status, SMTP_DATA_BARE_CR);
    ck_assert_int_eq(r.nchunk, 2);
    vbuf_free(r.out);

    /* An LF at the start of a chunk with no CR before it. */
    r = bdat_read(S("BDAT 3\r\na\r\nBDAT 2 LAST\r\n\nb"), 0);
    ck_assert_int_eq(r.status, SMTP_DATA_BARE_LF);
    vbuf_free(r.out);

    /* The LAST chunk ends in a CR. */
    r = bdat_read(S("BDAT 2\r\na\rBDAT 0 LAST\r\n"), 0);
    ck_assert_int_eq(r.status, SMTP_DATA_BARE_CR);
    ck_assert_uint_eq(r.out->len, 1);
    vbuf_free(r.out);

    /* A bad count stops the reader. */
    r = bdat_read(S("BDAT 1x\r\na"), 0);
    ck_assert_int_eq(r.status, -1);
    vbuf_free(r.out);
}
END_TEST

START_TEST(test_limit)
{
    static const char content[] = "0123456789\r\n0123456789\r\n";
    size_t  cuts[] = {12};
    VBUF   *w = bdat_wire(S(content), cuts, 1);
    BDAT_RESULT r = bdat_read(w->data, w->len, 24);

    /* The limit is over all chunks: at it, stored. */
    ck_assert_int_eq(r.status, SMTP_DATA_END);
    ck_assert_int_eq(r.flags & SMTP_DATA_FLAG_OVER, 0);
    ck_assert_uint_eq(r.out->len, 24);
    vbuf_free(r.out);

    /* Above it: the second chunk is not stored, all of it is counted. */
    r = bdat_read(w->data, w->len, 23);
    ck_assert_int_eq(r.status, SMTP_DATA_END);
    ck_assert_int_ne(r.flags & SMTP_DATA_FLAG_OVER, 0);
    ck_assert_uint_eq(r.out->len, 12);
    ck_assert_uint_eq(r.size, 24);
    vbuf_free(r.out);
    vbuf_free(w);
}
END_TEST

START_TEST(test_received)
{
    static const char content[] =
        "Received: from a\r\n"
        "RECEIVED : from b\r\n"
        ".Received: not a header name\r\n"
        "X-Received: no\r\n"
        "\r\n"
        "Received: in the body\r\n";
    BDAT_RESULT r = assert_chunking_invariant(S(content));

    /* A header line cut between chunks is still one line. */
    ck_assert_int_eq(r.status, SMTP_DATA_END);
    ck_assert_uint_eq(r.received, 2);
    ck_assert_uint_eq(r.longest, 28);
    vbuf_free(r.out);
}
END_TEST

static Suite *
smtp_bdat_suite(void)
{
    Suite  *s = suite_create("smtp_bdat");
    TCase  *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_parse, 0, sizeof(args) / sizeof(args[0]));
    tcase_add_loop_test(tc, test_contents, 0,
                        sizeof(contents) / sizeof(contents[0]));
    tcase_add_test(tc, test_framing);
    tcase_add_test(tc, test_limit);
    tcase_add_test(tc, test_received);
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
