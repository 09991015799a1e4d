/* Unit tests for relay's message encoder: dot-stuffing, CR LF, folding of
 * lines over 998 octets, the final dot, and any split of the input. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "relay/relay.h"
#include "vbuf.h"

/* Encodes in[0..len) in chunks of chunk bytes, then finishes. */
static VBUF *
encode(const char *in, size_t len, size_t chunk)
{
    VBUF *out = vbuf_create(len * 2 + 16);
    RELAY_BODY body;
    size_t off, n;

    relay_body_init(&body);
    for (off = 0; off < len; off += n) {
        n = len - off < chunk ? len - off : chunk;
        relay_body_encode(&body, in + off, n, out);
    }
    relay_body_finish(&body, out);
    return out;
}

/* Checks the encoding of in against want, whole and in every chunk size
 * up to 7. */
static void
check(const char *in, size_t len, const char *want, size_t want_len)
{
    size_t chunk;
    VBUF *out;

    for (chunk = 1; chunk <= 8; chunk++) {
        out = encode(in, len, chunk == 8 ? (len ? len : 1) : chunk);
        ck_assert_uint_eq(vbuf_len(out), want_len);
        ck_assert(memcmp(vbuf_str(out), want, want_len) == 0);
        vbuf_free(out);
    }
}

#define CHECK(in, want) check(in, sizeof(in) - 1, want, sizeof(want) - 1)

START_TEST(test_plain)
{
    CHECK("Subject: x\r\n\r\nbody\r\n", "Subject: x\r\n\r\nbody\r\n.\r\n");
    CHECK("", ".\r\n");
}
END_TEST

START_TEST(test_dot_stuffing)
{
    CHECK(".\r\n", "..\r\n.\r\n");
    CHECK("a\r\n.b\r\n..c\r\nd.e\r\n", "a\r\n..b\r\n...c\r\nd.e\r\n.\r\n");
    CHECK(".start", "..start\r\n.\r\n");
}
END_TEST

START_TEST(test_line_ends_made_crlf)
{
    CHECK("no end", "no end\r\n.\r\n");
    CHECK("lf\nonly\n", "lf\r\nonly\r\n.\r\n");
    CHECK("cr\ralone\r", "cr\r\nalone\r\n.\r\n");
    CHECK("a\r\r\nb", "a\r\n\r\nb\r\n.\r\n");
    /* A bare LF before a dot line still stuffs it. */
    CHECK("a\n.b\n", "a\r\n..b\r\n.\r\n");
}
END_TEST

START_TEST(test_folding)
{
    char in[3001], want[4000];
    size_t i, w = 0;

    memset(in, 'x', 3000);
    in[3000] = 0;
    /* 998, then CR LF SP and 997 more, twice, then the 7 left. */
    memset(want + w, 'x', 998);
    w += 998;
    for (i = 0; i < 2; i++) {
        memcpy(want + w, "\r\n ", 3);
        w += 3;
        memset(want + w, 'x', 997);
        w += 997;
    }
    memcpy(want + w, "\r\n ", 3);
    w += 3;
    memset(want + w, 'x', 3000 - 998 - 2 * 997);
    w += 3000 - 998 - 2 * 997;
    memcpy(want + w, "\r\n.\r\n", 5);
    w += 5;
    check(in, 3000, want, w);
}
END_TEST

START_TEST(test_no_line_over_998)
{
    VBUF *in = vbuf_create(10000), *out;
    const char *cp, *nl;
    size_t i;

    for (i = 0; i < 997; i++)
        vbuf_append_char(in, 'a');
    vbuf_append_str(in, "\r\n.");               /* 1 + stuffed dot */
    for (i = 0; i < 2000; i++)
        vbuf_append_char(in, 'b');
    vbuf_append_str(in, "\r\n");
    for (i = 0; i < 998; i++)                   /* exactly the limit */
        vbuf_append_char(in, 'c');
    vbuf_append_str(in, "\r\n");
    out = encode(vbuf_str(in), vbuf_len(in), 4096);
    for (cp = vbuf_str(out); (nl = strstr(cp, "\r\n")) != NULL; cp = nl + 2)
        ck_assert_uint_le((size_t) (nl - cp), 998);
    ck_assert_ptr_nonnull(strstr(vbuf_str(out), "\r\n..bbb"));
    vbuf_free(out);
    vbuf_free(in);
}
END_TEST

START_TEST(test_eight_bit_and_nul_untouched)
{
    static const char in[] = "\xe9t\xe9\0x\r\n";
    static const char want[] = "\xe9t\xe9\0x\r\n.\r\n";

    check(in, sizeof(in) - 1, want, sizeof(want) - 1);
}
END_TEST

static Suite *
relay_body_suite(void)
{
    Suite *s = suite_create("relay_body");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_plain);
    tcase_add_test(tc, test_dot_stuffing);
    tcase_add_test(tc, test_line_ends_made_crlf);
    tcase_add_test(tc, test_folding);
    tcase_add_test(tc, test_no_line_over_998);
    tcase_add_test(tc, test_eight_bit_and_nul_untouched);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(relay_body_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
