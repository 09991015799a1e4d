/* Unit tests for lib/base64.c: one table of inputs, each decoded with the
 * SASL flags (padding required, canonical pad bits) and the RFC 2047 B
 * flags (padding may be missing), malformed input included. */
#include <check.h>
#include <string.h>

#include "base64.h"
#include "vbuf.h"

#define S(lit)  lit, sizeof(lit) - 1
#define BAD     NULL, 0

static const struct {
    const char *in;
    const char *canon;                  /* BASE64_FLAG_CANON result */
    size_t  canon_len;
    const char *nopad;                  /* BASE64_FLAG_NOPAD result */
    size_t  nopad_len;
} cases[] = {
    {"", S(""), S("")},
    {"Zg==", S("f"), S("f")},
    {"Zm8=", S("fo"), S("fo")},
    {"Zm9v", S("foo"), S("foo")},
    {"Zm9vYmFy", S("foobar"), S("foobar")},
    {"AAAA", S("\0\0\0"), S("\0\0\0")},
    {"+/+/", S("\xfb\xff\xbf"), S("\xfb\xff\xbf")},
    /* Padding missing: only B takes it. */
    {"Zg", BAD, S("f")},
    {"Zm8", BAD, S("fo")},
    {"Zm9vYg", BAD, S("foob")},
    /* A lone digit, short or misplaced padding: neither. */
    {"Z", BAD, BAD},
    {"Zm9vY", BAD, BAD},
    {"Zg=", BAD, BAD},
    {"Zg===", BAD, BAD},
    {"Z===", BAD, BAD},
    {"====", BAD, BAD},
    {"=", BAD, BAD},
    {"Zm=v", BAD, BAD},
    {"Zg==Zg==", BAD, BAD},
    {"Zm9v=", BAD, BAD},
    /* Pad bits that are not zero: only B takes them. */
    {"Zh==", BAD, S("f")},
    {"Zm9=", BAD, S("fo")},
    {"Zh", BAD, S("f")},
    /* White space and characters outside the alphabet. */
    {"Zm9v ", BAD, BAD},
    {"Zm\n9v", BAD, BAD},
    {"Zm9-", BAD, BAD},
    {"Zm9_", BAD, BAD},
    {"Zm9\x80", BAD, BAD},
};

/* Decodes in after a prefix; checks the prefix survives either way. */
static void
check_one(int row, const char *in, int flags, const char *want, size_t want_len)
{
    VBUF   *out = vbuf_create(1);
    int     rc;

    vbuf_append(out, "pre", 3);
    rc = base64_decode(out, in, strlen(in), flags);
    if (want == NULL) {
        ck_assert_msg(rc == -1, "row %d flags %d: accepted", row, flags);
        ck_assert_msg(vbuf_len(out) == 3 && memcmp(vbuf_str(out), "pre", 3) == 0,
                      "row %d flags %d: output left behind", row, flags);
    } else {
        ck_assert_msg(rc == 0, "row %d flags %d: refused", row, flags);
        ck_assert_msg(vbuf_len(out) == 3 + want_len
                      && memcmp(vbuf_str(out), "pre", 3) == 0
                      && memcmp(vbuf_str(out) + 3, want, want_len) == 0,
                      "row %d flags %d: got %zu bytes", row, flags, vbuf_len(out));
    }
    ck_assert_int_eq(vbuf_str(out)[vbuf_len(out)], 0);
    vbuf_free(out);
}

START_TEST(test_decode_table)
{
    size_t  i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        check_one((int) i, cases[i].in, BASE64_FLAG_CANON, cases[i].canon, cases[i].canon_len);
        check_one((int) i, cases[i].in, BASE64_FLAG_NOPAD, cases[i].nopad, cases[i].nopad_len);
    }
}
END_TEST

/* The length bounds the input: what follows it is not read. */
START_TEST(test_decode_length)
{
    VBUF   *out = vbuf_create(8);

    ck_assert_int_eq(base64_decode(out, "Zm9v!!!!", 4, 0), 0);
    ck_assert_uint_eq(vbuf_len(out), 3);
    ck_assert_str_eq(vbuf_str(out), "foo");
    vbuf_free(out);
}
END_TEST

START_TEST(test_value)
{
    const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int     ch;

    for (ch = 0; ch < 256; ch++) {
        const char *p = ch ? strchr(alphabet, ch) : NULL;

        ck_assert_int_eq(base64_value(ch), p ? (int) (p - alphabet) : -1);
    }
}
END_TEST

START_TEST(test_encode_round_trip)
{
    unsigned char data[256];
    VBUF   *enc = vbuf_create(8), *dec = vbuf_create(8);
    size_t  len;

    for (len = 0; len < sizeof(data); len++)
        data[len] = (unsigned char) (len * 37 + 11);
    for (len = 0; len <= sizeof(data); len++) {
        vbuf_reset(enc);
        vbuf_reset(dec);
        base64_encode(enc, data, len);
        ck_assert_uint_eq(vbuf_len(enc), (len + 2) / 3 * 4);
        ck_assert_int_eq(base64_decode(dec, vbuf_str(enc), vbuf_len(enc), BASE64_FLAG_CANON), 0);
        ck_assert_uint_eq(vbuf_len(dec), len);
        ck_assert(memcmp(vbuf_str(dec), data, len) == 0);
    }
    vbuf_free(enc);
    vbuf_free(dec);
}
END_TEST

int
main(void)
{
    Suite  *s = suite_create("base64");
    TCase  *tc = tcase_create("base64");
    SRunner *sr;
    int     failed;

    tcase_add_test(tc, test_decode_table);
    tcase_add_test(tc, test_decode_length);
    tcase_add_test(tc, test_value);
    tcase_add_test(tc, test_encode_round_trip);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
