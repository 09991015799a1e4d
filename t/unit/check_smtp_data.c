/* Unit tests for the DATA scanner: end of data, dot-stuffing, smuggling
 * endings, arbitrary chunk boundaries, limits and counters; and its raw
 * mode for BDAT content. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_data.h"
#include "vbuf.h"

/* What a scan produced. */
typedef struct {
    int     status;
    size_t  used;
    VBUF   *out;
    uint64_t size;
    size_t  longest;
    unsigned received;
    int     flags;
} RESULT;

static void
result_free(RESULT *r)
{
    vbuf_free(r->out);
}

/* Feeds in[0..len) in pieces: first cut bytes (0: none), then chunk
 * bytes at a time, stopping when the scanner stops; in raw mode, then
 * finishes. */
static RESULT
scan_mode(const char *in, size_t len, size_t cut, size_t chunk, int raw)
{
    SMTP_DATA sd;
    RESULT  r;
    size_t  off = 0, n, used;

    memset(&r, 0, sizeof(r));
    r.out = vbuf_create(len + 1);
    if (raw)
        smtp_data_init_raw(&sd, smtp_data_to_vbuf, r.out);
    else
        smtp_data_init(&sd, smtp_data_to_vbuf, r.out);
    r.status = SMTP_DATA_MORE;
    while (off < len && r.status == SMTP_DATA_MORE) {
        n = (off == 0 && cut > 0) ? cut : chunk;
        if (n > len - off)
            n = len - off;
        r.status = smtp_data_feed(&sd, in + off, n, &used);
        ck_assert_uint_le(used, n);
        if (r.status == SMTP_DATA_MORE)
            ck_assert_uint_eq(used, n);
        r.used += used;
        off += n;
    }
    if (raw) {
        if (r.status == SMTP_DATA_MORE)
            r.status = smtp_data_finish(&sd);
        else
            ck_assert_int_eq(smtp_data_finish(&sd), r.status);
        /* After the end, nothing more is taken. */
        ck_assert_int_eq(smtp_data_feed(&sd, "x\r\n", 3, &used), r.status);
        ck_assert_uint_eq(used, 0);
    }
    r.size = sd.size;
    r.longest = sd.longest_line;
    r.received = sd.received;
    r.flags = sd.flags;
    return r;
}

static RESULT
scan(const char *in, size_t len, size_t cut, size_t chunk)
{
    return scan_mode(in, len, cut, chunk, 0);
}

static RESULT
scan_whole(const char *in, size_t len)
{
    return scan(in, len, 0, len);
}

/* Every way of splitting gives what one piece gives. */
static void
assert_split_invariant_mode(const char *in, size_t len, int raw)
{
    RESULT  whole = scan_mode(in, len, 0, len, raw);
    RESULT  r;
    size_t  cut, chunk;

    for (cut = 1; cut < len; cut++) {
        r = scan_mode(in, len, cut, len, raw);
        ck_assert_msg(r.status == whole.status && r.used == whole.used,
                      "cut %zu: status %d/%d used %zu/%zu", cut, r.status,
                      whole.status, r.used, whole.used);
        ck_assert_msg(r.out->len == whole.out->len
                      && memcmp(r.out->data, whole.out->data, r.out->len) == 0,
                      "cut %zu: output differs", cut);
        ck_assert_uint_eq(r.size, whole.size);
        ck_assert_uint_eq(r.longest, whole.longest);
        ck_assert_uint_eq(r.received, whole.received);
        result_free(&r);
    }
    for (chunk = 1; chunk <= 3; chunk++) {
        r = scan_mode(in, len, 0, chunk, raw);
        ck_assert_msg(r.status == whole.status && r.used == whole.used,
                      "chunk %zu: status %d/%d used %zu/%zu", chunk, r.status,
                      whole.status, r.used, whole.used);
        ck_assert_msg(r.out->len == whole.out->len
                      && memcmp(r.out->data, whole.out->data, r.out->len) == 0,
                      "chunk %zu: output differs", chunk);
        ck_assert_uint_eq(r.size, whole.size);
        ck_assert_uint_eq(r.longest, whole.longest);
        ck_assert_uint_eq(r.received, whole.received);
        result_free(&r);
    }
    result_free(&whole);
}

static void
assert_split_invariant(const char *in, size_t len)
{
    assert_split_invariant_mode(in, len, 0);
}

/* One input, what it must give. */
typedef struct {
    const char *in;
    size_t  len;
    int     status;
    size_t  used;
    const char *out;
    size_t  out_len;
} CASE;

#define S(s)    s, sizeof(s) - 1

static const CASE cases[] = {
    /* Ordinary ends. */
    {S("Subject: hi\r\n\r\nHello\r\n.\r\n"), SMTP_DATA_END, 25,
     S("Subject: hi\r\n\r\nHello\r\n")},
    {S(".\r\n"), SMTP_DATA_END, 3, S("")},
    {S("\r\n.\r\n"), SMTP_DATA_END, 5, S("\r\n")},
    {S("a\r\n.\r\nQUIT\r\n"), SMTP_DATA_END, 6, S("a\r\n")},
    {S("a\r\n.\r\nRSET\r\nMAIL FROM:<>\r\n"), SMTP_DATA_END, 6, S("a\r\n")},
    {S("a\r\n.\r\n\0\n\r"), SMTP_DATA_END, 6, S("a\r\n")},
    /* Dot-stuffing. */
    {S("..\r\n.\r\n"), SMTP_DATA_END, 7, S(".\r\n")},
    {S("..a\r\n...\r\n.x\r\nb.c\r\n.\r\n"), SMTP_DATA_END, 22,
     S(".a\r\n..\r\nx\r\nb.c\r\n")},
    {S(". \r\n.\r\n"), SMTP_DATA_END, 7, S(" \r\n")},
    /* Not yet the end. */
    {S("a\r\n.\r"), SMTP_DATA_MORE, 5, S("a\r\n")},
    {S("a\r\n."), SMTP_DATA_MORE, 4, S("a\r\n")},
    {S("a\r"), SMTP_DATA_MORE, 2, S("a")},
    {S(".a\r\n.b\r\n"), SMTP_DATA_MORE, 8, S("a\r\nb\r\n")},
    {S(""), SMTP_DATA_MORE, 0, S("")},
    /* Smuggling: every ending other than CR LF . CR LF is an error. */
    {S("a\n.\nb"), SMTP_DATA_BARE_LF, 2, S("a")},
    {S("a\n.\r\n"), SMTP_DATA_BARE_LF, 2, S("a")},
    {S("a\r.\r\n"), SMTP_DATA_BARE_CR, 3, S("a")},
    {S("a\r\n.\nb"), SMTP_DATA_BARE_LF, 5, S("a\r\n")},
    {S("a\r.\r"), SMTP_DATA_BARE_CR, 3, S("a")},
    {S("a\r\n.\rb"), SMTP_DATA_BARE_CR, 6, S("a\r\n")},
    {S("a\r\n.\r.\r\n"), SMTP_DATA_BARE_CR, 6, S("a\r\n")},
    {S("a\r\n\r.\r\n"), SMTP_DATA_BARE_CR, 5, S("a\r\n")},
    {S(".\n"), SMTP_DATA_BARE_LF, 2, S("")},
    {S("\n"), SMTP_DATA_BARE_LF, 1, S("")},
    {S("\rX"), SMTP_DATA_BARE_CR, 2, S("")},
    {S("\r\r\n"), SMTP_DATA_BARE_CR, 2, S("")},
    {S("ab\ncd\r\n.\r\n"), SMTP_DATA_BARE_LF, 3, S("ab")},
    {S("x\r\n..\n"), SMTP_DATA_BARE_LF, 6, S("x\r\n.")},
    {S("x\r\ny\r\r\n.\r\n"), SMTP_DATA_BARE_CR, 6, S("x\r\ny")},
    /* NUL. */
    {S("a\0b\r\n.\r\n"), SMTP_DATA_NUL, 2, S("a")},
    {S("a\r\n\0"), SMTP_DATA_NUL, 4, S("a\r\n")},
    {S("a\r\n.\0"), SMTP_DATA_NUL, 5, S("a\r\n")},
    {S("a\r\0"), SMTP_DATA_BARE_CR, 3, S("a")},
    {S("a\r\n.\r\0"), SMTP_DATA_BARE_CR, 6, S("a\r\n")},
};

START_TEST(test_cases)
{
    const CASE *c = &cases[_i];
    RESULT  r = scan_whole(c->in, c->len);

    ck_assert_msg(r.status == c->status, "case %d: status %d", _i, r.status);
    ck_assert_msg(r.used == c->used, "case %d: used %zu", _i, r.used);
    ck_assert_msg(r.out->len == c->out_len
                  && memcmp(r.out->data, c->out, c->out_len) == 0,
                  "case %d: output \"%s\"", _i, r.out->data);
    ck_assert_uint_eq(r.size, c->out_len);
    result_free(&r);
    assert_split_invariant(c->in, c->len);
}
END_TEST

START_TEST(test_after_end)
{
    SMTP_DATA sd;
    size_t  used;

    smtp_data_init(&sd, 0, 0);
    ck_assert_int_eq(smtp_data_feed(&sd, S("a\r\n.\r\nNOOP\r\n"), &used),
                     SMTP_DATA_END);
    ck_assert_uint_eq(used, 6);
    ck_assert_int_eq(smtp_data_feed(&sd, S("NOOP\r\n"), &used), SMTP_DATA_END);
    ck_assert_uint_eq(used, 0);
    ck_assert_uint_eq(sd.size, 3);

    /* After an error, input is refused. */
    smtp_data_init(&sd, 0, 0);
    ck_assert_int_eq(smtp_data_feed(&sd, S("a\n"), &used), SMTP_DATA_BARE_LF);
    ck_assert_int_eq(smtp_data_feed(&sd, S("b\r\n.\r\n"), &used),
                     SMTP_DATA_BARE_LF);
    ck_assert_uint_eq(used, 0);
    ck_assert_int_eq(SMTP_DATA_ERROR(SMTP_DATA_BARE_LF), 1);
    ck_assert_int_eq(SMTP_DATA_ERROR(SMTP_DATA_END), 0);
    ck_assert_str_eq(smtp_data_status_text(SMTP_DATA_BARE_LF),
                     "bare <LF> received");

    /* An empty chunk changes nothing. */
    smtp_data_init(&sd, 0, 0);
    ck_assert_int_eq(smtp_data_feed(&sd, "", 0, &used), SMTP_DATA_MORE);
    ck_assert_uint_eq(used, 0);
}
END_TEST

static const char received_msg[] =
    "Received: from a\r\n"
    "received : from b\r\n"
    "\tby c; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
    "RECEIVED:from d\r\n"
    "..Received: not this one\r\n"
    ".Received: stuffed, counted\r\n"
    "X-Received: no\r\n"
    " Received: continuation, no\r\n"
    "Received no colon\r\n"
    "Received-SPF: pass\r\n"
    "Subject: loops\r\n"
    "\r\n"
    "Received: in the body, not counted\r\n"
    ".\r\n";

START_TEST(test_received)
{
    RESULT  r = scan_whole(S(received_msg));

    ck_assert_int_eq(r.status, SMTP_DATA_END);
    ck_assert_uint_eq(r.received, 4);
    ck_assert_int_eq(r.flags & SMTP_DATA_FLAG_HEADER, 0);
    result_free(&r);
    assert_split_invariant(S(received_msg));

    /* No empty line: all of it is header. */
    r = scan_whole(S("Received: a\r\nReceived: b\r\n.\r\n"));
    ck_assert_uint_eq(r.received, 2);
    ck_assert_int_ne(r.flags & SMTP_DATA_FLAG_HEADER, 0);
    result_free(&r);
}
END_TEST

START_TEST(test_longest_line)
{
    RESULT  r = scan_whole(S("abc\r\n0123456789\r\n..abcd\r\n\r\n.\r\n"));

    ck_assert_uint_eq(r.longest, 10);
    result_free(&r);
    r = scan_whole(S("..abcdefghijk\r\nabc\r\n.\r\n"));
    ck_assert_uint_eq(r.longest, 12);           /* after unstuffing */
    result_free(&r);
    r = scan_whole(S(".\r\n"));
    ck_assert_uint_eq(r.longest, 0);
    result_free(&r);
}
END_TEST

START_TEST(test_size_limit)
{
    SMTP_DATA sd;
    VBUF   *out = vbuf_create(100);
    size_t  used;
    static const char msg[] = "0123456789\r\n0123456789\r\n0123456789\r\n.\r\nQUIT\r\n";

    /* Under the limit: stored. */
    smtp_data_init(&sd, smtp_data_to_vbuf, out);
    smtp_data_set_limit(&sd, 36);
    ck_assert_int_eq(smtp_data_feed(&sd, S(msg), &used), SMTP_DATA_END);
    ck_assert_uint_eq(sd.size, 36);
    ck_assert_int_eq(sd.flags & SMTP_DATA_FLAG_OVER, 0);
    ck_assert_uint_eq(out->len, 36);

    /* Over it: scanning goes on to the real end, storage stops. */
    vbuf_reset(out);
    smtp_data_init(&sd, smtp_data_to_vbuf, out);
    smtp_data_set_limit(&sd, 20);
    ck_assert_int_eq(smtp_data_feed(&sd, msg, 12, &used), SMTP_DATA_MORE);
    ck_assert_int_eq(smtp_data_feed(&sd, msg + 12, 12, &used), SMTP_DATA_MORE);
    ck_assert_int_ne(sd.flags & SMTP_DATA_FLAG_OVER, 0);
    ck_assert_int_eq(smtp_data_feed(&sd, msg + 24, sizeof(msg) - 25, &used),
                     SMTP_DATA_END);
    ck_assert_uint_eq(used, 15);                /* QUIT left unread */
    ck_assert_uint_eq(sd.size, 36);
    ck_assert_uint_le(out->len, 20);
    ck_assert_uint_eq(out->len, 12);

    /* The caller may stop storing at any time. */
    vbuf_reset(out);
    smtp_data_init(&sd, smtp_data_to_vbuf, out);
    ck_assert_int_eq(smtp_data_feed(&sd, msg, 6, &used), SMTP_DATA_MORE);
    smtp_data_discard(&sd);
    ck_assert_int_eq(smtp_data_feed(&sd, msg + 6, sizeof(msg) - 7, &used),
                     SMTP_DATA_END);
    ck_assert_uint_eq(out->len, 6);
    ck_assert_uint_eq(sd.size, 36);
    ck_assert_int_eq(sd.flags & SMTP_DATA_FLAG_OVER, 0);

    /* Without an output function, only the counters. */
    smtp_data_init(&sd, 0, 0);
    ck_assert_int_eq(smtp_data_feed(&sd, S(msg), &used), SMTP_DATA_END);
    ck_assert_uint_eq(sd.size, 36);
    vbuf_free(out);
}
END_TEST

/* About 1 MB of varied lines, some needing stuffing; returns the wire
 * form, and the content in *content. */
static VBUF *
make_big(VBUF **content)
{
    VBUF   *wire = vbuf_create(1 << 20);
    VBUF   *line = vbuf_create(1000);
    unsigned seed = 1;
    size_t  i, n;

    *content = vbuf_create(1 << 20);
    vbuf_append_str(*content, "Received: by x\r\nSubject: big\r\n\r\n");
    vbuf_append_str(wire, "Received: by x\r\nSubject: big\r\n\r\n");
    while (wire->len < (1 << 20)) {
        seed = seed * 1103515245 + 12345;
        n = (seed >> 16) % 200;
        vbuf_reset(line);
        for (i = 0; i < n; i++)
            vbuf_append_char(line, "..abcdefghijklmnopqrstuvwxyz \t"[(seed + i * 7) % 30]);
        vbuf_append_str(line, "\r\n");
        vbuf_append(*content, line->data, line->len);
        if (line->data[0] == '.')
            vbuf_append_char(wire, '.');
        vbuf_append(wire, line->data, line->len);
    }
    vbuf_append_str(wire, ".\r\nQUIT\r\n");
    vbuf_free(line);
    return wire;
}

START_TEST(test_one_megabyte)
{
    VBUF   *content;
    VBUF   *wire = make_big(&content);
    static const size_t chunks[] = {1 << 20, 65536, 4096, 1000, 7, 1};
    size_t  i;

    for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        RESULT  r = scan(wire->data, wire->len, 0, chunks[i]);

        ck_assert_int_eq(r.status, SMTP_DATA_END);
        ck_assert_uint_eq(r.used, wire->len - 6);
        ck_assert_uint_eq(r.out->len, content->len);
        ck_assert_int_eq(memcmp(r.out->data, content->data, content->len), 0);
        ck_assert_uint_eq(r.size, content->len);
        ck_assert_uint_eq(r.received, 1);
        ck_assert_uint_le(r.longest, 199);
        result_free(&r);
    }
    vbuf_free(wire);
    vbuf_free(content);
}
END_TEST

/* Raw mode (BDAT content): what the message's bytes give once finished;
 * used is what the feeds took. */
static const CASE raw_cases[] = {
    {S("Subject: hi\r\n\r\nHello\r\n"), SMTP_DATA_END, 22,
     S("Subject: hi\r\n\r\nHello\r\n")},
    {S(""), SMTP_DATA_END, 0, S("")},
    {S("a"), SMTP_DATA_END, 1, S("a")},
    {S("\r\n"), SMTP_DATA_END, 2, S("\r\n")},
    /* Dots are content, and so is DATA's end marker. */
    {S(".\r\n"), SMTP_DATA_END, 3, S(".\r\n")},
    {S("..\r\n"), SMTP_DATA_END, 4, S("..\r\n")},
    {S("a\r\n.\r\nQUIT\r\n"), SMTP_DATA_END, 12, S("a\r\n.\r\nQUIT\r\n")},
    {S("..a\r\n...\r\n.x\r\n."), SMTP_DATA_END, 15, S("..a\r\n...\r\n.x\r\n.")},
    {S(".\r\n.\r\n.\r\n"), SMTP_DATA_END, 9, S(".\r\n.\r\n.\r\n")},
    /* Smuggling: the same refusals as DATA. */
    {S("a\n.\nb"), SMTP_DATA_BARE_LF, 2, S("a")},
    {S("a\r\n.\nb"), SMTP_DATA_BARE_LF, 5, S("a\r\n.")},
    {S("\n"), SMTP_DATA_BARE_LF, 1, S("")},
    {S("a\r.\r\n"), SMTP_DATA_BARE_CR, 3, S("a")},
    {S("a\r\n.\rb"), SMTP_DATA_BARE_CR, 6, S("a\r\n.")},
    {S("\r\r\n"), SMTP_DATA_BARE_CR, 2, S("")},
    {S("x\r\ny\r\r\n"), SMTP_DATA_BARE_CR, 6, S("x\r\ny")},
    /* A CR that ends the content has no LF to come. */
    {S("a\r"), SMTP_DATA_BARE_CR, 2, S("a")},
    {S("a\r\n\r"), SMTP_DATA_BARE_CR, 4, S("a\r\n")},
    {S("\r"), SMTP_DATA_BARE_CR, 1, S("")},
    /* NUL. */
    {S("a\0b\r\n"), SMTP_DATA_NUL, 2, S("a")},
    {S("a\r\n\0"), SMTP_DATA_NUL, 4, S("a\r\n")},
    {S(".\0"), SMTP_DATA_NUL, 2, S(".")},
    {S("a\r\0"), SMTP_DATA_BARE_CR, 3, S("a")},
};

START_TEST(test_raw_cases)
{
    const CASE *c = &raw_cases[_i];
    RESULT  r = scan_mode(c->in, c->len, 0, c->len, 1);

    ck_assert_msg(r.status == c->status, "case %d: status %d", _i, r.status);
    ck_assert_msg(r.used == c->used, "case %d: used %zu", _i, r.used);
    ck_assert_msg(r.out->len == c->out_len
                  && memcmp(r.out->data, c->out, c->out_len) == 0,
                  "case %d: output \"%s\"", _i, r.out->data);
    ck_assert_uint_eq(r.size, c->out_len);
    ck_assert_int_ne(r.flags & SMTP_DATA_FLAG_RAW, 0);
    result_free(&r);
    assert_split_invariant_mode(c->in, c->len, 1);
}
END_TEST

START_TEST(test_raw_counters)
{
    /* DATA's Received: message, as BDAT sends it: unstuffed, no marker. */
    static const char msg[] =
        "Received: from a\r\n"
        "received : from b\r\n"
        "\tby c; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
        "RECEIVED:from d\r\n"
        ".Received: not this one\r\n"
        "Received: stuffed in DATA, counted\r\n"
        "X-Received: no\r\n"
        " Received: continuation, no\r\n"
        "Subject: loops\r\n"
        "\r\n"
        "Received: in the body, not counted\r\n";
    RESULT  r = scan_mode(S(msg), 0, sizeof(msg) - 1, 1);

    ck_assert_int_eq(r.status, SMTP_DATA_END);
    ck_assert_uint_eq(r.received, 4);
    ck_assert_uint_eq(r.longest, 37);
    ck_assert_int_eq(r.flags & SMTP_DATA_FLAG_HEADER, 0);
    result_free(&r);
    assert_split_invariant_mode(S(msg), 1);

    /* The last line needs no CR LF to count. */
    r = scan_mode(S("Received: a\r\nReceived: b"), 0, 24, 1);
    ck_assert_int_eq(r.status, SMTP_DATA_END);
    ck_assert_uint_eq(r.received, 2);
    result_free(&r);
    r = scan_mode(S("ab\r\n0123456789"), 0, 14, 1);
    ck_assert_uint_eq(r.longest, 10);
    result_free(&r);
    r = scan_mode(S("..abcdefghijk\r\n"), 0, 15, 1);
    ck_assert_uint_eq(r.longest, 13);           /* nothing unstuffed */
    result_free(&r);
}
END_TEST

START_TEST(test_raw_limit)
{
    SMTP_DATA sd;
    VBUF   *out = vbuf_create(100);
    size_t  used;
    static const char msg[] = "0123456789\r\n0123456789\r\n.\r\n";

    smtp_data_init_raw(&sd, smtp_data_to_vbuf, out);
    smtp_data_set_limit(&sd, 27);
    ck_assert_int_eq(smtp_data_feed(&sd, S(msg), &used), SMTP_DATA_MORE);
    ck_assert_uint_eq(used, 27);
    ck_assert_int_eq(smtp_data_finish(&sd), SMTP_DATA_END);
    ck_assert_int_eq(sd.flags & SMTP_DATA_FLAG_OVER, 0);
    ck_assert_uint_eq(out->len, 27);

    /* Over the limit across chunks: counting goes on, storage stops. */
    vbuf_reset(out);
    smtp_data_init_raw(&sd, smtp_data_to_vbuf, out);
    smtp_data_set_limit(&sd, 20);
    ck_assert_int_eq(smtp_data_feed(&sd, msg, 12, &used), SMTP_DATA_MORE);
    ck_assert_int_eq(sd.flags & SMTP_DATA_FLAG_OVER, 0);
    ck_assert_int_eq(smtp_data_feed(&sd, msg + 12, 12, &used), SMTP_DATA_MORE);
    ck_assert_int_ne(sd.flags & SMTP_DATA_FLAG_OVER, 0);
    ck_assert_int_eq(smtp_data_feed(&sd, msg + 24, 3, &used), SMTP_DATA_MORE);
    ck_assert_int_eq(smtp_data_finish(&sd), SMTP_DATA_END);
    ck_assert_uint_eq(sd.size, 27);
    ck_assert_uint_eq(out->len, 12);
    vbuf_free(out);
}
END_TEST

START_TEST(test_finish)
{
    SMTP_DATA sd;
    size_t  used;

    /* DATA mode: only the marker ends the data. */
    smtp_data_init(&sd, 0, 0);
    ck_assert_int_eq(smtp_data_feed(&sd, S("a\r\n"), &used), SMTP_DATA_MORE);
    ck_assert_int_eq(smtp_data_finish(&sd), SMTP_DATA_MORE);
    ck_assert_int_eq(smtp_data_feed(&sd, S(".\r\n"), &used), SMTP_DATA_END);
    ck_assert_int_eq(smtp_data_finish(&sd), SMTP_DATA_END);

    /* Raw: a CR held at the end of one chunk, its LF in the next. */
    smtp_data_init_raw(&sd, 0, 0);
    ck_assert_int_eq(smtp_data_feed(&sd, S("a\r"), &used), SMTP_DATA_MORE);
    ck_assert_uint_eq(used, 2);
    ck_assert_int_eq(smtp_data_feed(&sd, S("\n.\r"), &used), SMTP_DATA_MORE);
    ck_assert_int_eq(smtp_data_feed(&sd, S("\n"), &used), SMTP_DATA_MORE);
    ck_assert_int_eq(smtp_data_finish(&sd), SMTP_DATA_END);
    ck_assert_uint_eq(sd.size, 6);
    ck_assert_int_eq(smtp_data_finish(&sd), SMTP_DATA_END);

    /* An error stays what finish returns. */
    smtp_data_init_raw(&sd, 0, 0);
    ck_assert_int_eq(smtp_data_feed(&sd, S("a\nb"), &used), SMTP_DATA_BARE_LF);
    ck_assert_int_eq(smtp_data_finish(&sd), SMTP_DATA_BARE_LF);

    /* Empty chunks (BDAT 0) change nothing, even with a CR held. */
    smtp_data_init_raw(&sd, 0, 0);
    ck_assert_int_eq(smtp_data_feed(&sd, "", 0, &used), SMTP_DATA_MORE);
    ck_assert_int_eq(smtp_data_feed(&sd, S("a\r"), &used), SMTP_DATA_MORE);
    ck_assert_int_eq(smtp_data_feed(&sd, "", 0, &used), SMTP_DATA_MORE);
    ck_assert_int_eq(smtp_data_finish(&sd), SMTP_DATA_BARE_CR);
    ck_assert_uint_eq(sd.size, 1);
}
END_TEST

START_TEST(test_raw_one_megabyte)
{
    VBUF   *content;
    VBUF   *wire = make_big(&content);
    static const size_t chunks[] = {1 << 20, 65536, 4096, 7, 1};
    size_t  i;

    for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        RESULT  r = scan_mode(content->data, content->len, 0, chunks[i], 1);

        ck_assert_int_eq(r.status, SMTP_DATA_END);
        ck_assert_uint_eq(r.used, content->len);
        ck_assert_uint_eq(r.out->len, content->len);
        ck_assert_int_eq(memcmp(r.out->data, content->data, content->len), 0);
        ck_assert_uint_eq(r.received, 1);
        ck_assert_uint_le(r.longest, 199);
        result_free(&r);
    }
    vbuf_free(wire);
    vbuf_free(content);
}
END_TEST

static Suite *
smtp_data_suite(void)
{
    Suite  *s = suite_create("smtp_data");
    TCase  *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_cases, 0, sizeof(cases) / sizeof(cases[0]));
    tcase_add_test(tc, test_after_end);
    tcase_add_test(tc, test_received);
    tcase_add_test(tc, test_longest_line);
    tcase_add_test(tc, test_size_limit);
    tcase_add_test(tc, test_one_megabyte);
    tcase_add_loop_test(tc, test_raw_cases, 0,
                        sizeof(raw_cases) / sizeof(raw_cases[0]));
    tcase_add_test(tc, test_raw_counters);
    tcase_add_test(tc, test_raw_limit);
    tcase_add_test(tc, test_finish);
    tcase_add_test(tc, test_raw_one_megabyte);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(smtp_data_suite());
    int     failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
