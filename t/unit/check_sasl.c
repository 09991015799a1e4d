/* Unit tests for SASL PLAIN/LOGIN decoding, strict base64 and xtext
 * (lib/sasl.c): tables of well-formed and malformed input, each with the
 * exact result expected, and every trick named in issue 13. */
#include <check.h>
#include <string.h>

#include "sasl.h"
#include "vbuf.h"

/* A string literal and its length, NULs included. */
#define S(lit)  lit, sizeof(lit) - 1

/* Fails with the case's index and the bytes that differ. */
static void
assert_bytes(const VBUF *got, const char *want, size_t want_len, int row)
{
    ck_assert_msg(vbuf_len(got) == want_len && memcmp(vbuf_str(got), want, want_len) == 0,
                  "row %d: got %zu bytes \"%s\", want %zu bytes \"%s\"", row,
                  vbuf_len(got), vbuf_str(got), want_len, want);
    ck_assert_int_eq(vbuf_str(got)[vbuf_len(got)], 0);
}

/* Base64 ---------------------------------------------------------------- */

static const struct {
    const char *in;
    int     result;
    const char *out;
    size_t  out_len;
} b64_cases[] = {
    /* RFC 4648 10's vectors. */
    {"", SASL_OK, S("")},
    {"Zg==", SASL_OK, S("f")},
    {"Zm8=", SASL_OK, S("fo")},
    {"Zm9v", SASL_OK, S("foo")},
    {"Zm9vYg==", SASL_OK, S("foob")},
    {"Zm9vYmE=", SASL_OK, S("fooba")},
    {"Zm9vYmFy", SASL_OK, S("foobar")},
    /* "=" alone: the empty response (RFC 4954 4). */
    {"=", SASL_OK, S("")},
    /* Binary: NULs, the whole alphabet's ends. */
    {"AAAA", SASL_OK, S("\0\0\0")},
    {"////", SASL_OK, S("\xff\xff\xff")},
    {"+/+/", SASL_OK, S("\xfb\xff\xbf")},
    {"AGFsaWNlAHNlY3JldA==", SASL_OK, S("\0alice\0secret")},
    {SASL_LOGIN_USER_CHALLENGE, SASL_OK, S("Username:")},
    {SASL_LOGIN_PASSWORD_CHALLENGE, SASL_OK, S("Password:")},
    /* Padding missing, short, misplaced, or all there is. */
    {"Zg", SASL_BAD_BASE64, S("")},
    {"Zg=", SASL_BAD_BASE64, S("")},
    {"Zm8", SASL_BAD_BASE64, S("")},
    {"Zm9vY", SASL_BAD_BASE64, S("")},
    {"Zg===", SASL_BAD_BASE64, S("")},
    {"Z===", SASL_BAD_BASE64, S("")},
    {"====", SASL_BAD_BASE64, S("")},
    {"==", SASL_BAD_BASE64, S("")},
    {"===", SASL_BAD_BASE64, S("")},
    {"Zm=v", SASL_BAD_BASE64, S("")},
    {"Z=9v", SASL_BAD_BASE64, S("")},
    {"=m9v", SASL_BAD_BASE64, S("")},
    {"Zg==Zg==", SASL_BAD_BASE64, S("")},
    {"Zm8=Zm9v", SASL_BAD_BASE64, S("")},
    {"Zm9v=", SASL_BAD_BASE64, S("")},
    {"Zm9v====", SASL_BAD_BASE64, S("")},
    /* Pad bits that are not zero: refused (one spelling per response). */
    {"Zh==", SASL_BAD_BASE64, S("")},
    {"Zm9=", SASL_BAD_BASE64, S("")},
    {"QR==", SASL_BAD_BASE64, S("")},
    {"//==", SASL_BAD_BASE64, S("")},
    /* White space anywhere. */
    {" Zm9v", SASL_BAD_BASE64, S("")},
    {"Zm9v ", SASL_BAD_BASE64, S("")},
    {"Zm 9v", SASL_BAD_BASE64, S("")},
    {"Zm9v\r\n", SASL_BAD_BASE64, S("")},
    {"Zm\n9v", SASL_BAD_BASE64, S("")},
    {"Zm9\t", SASL_BAD_BASE64, S("")},
    {"Zm9vYmFy\n", SASL_BAD_BASE64, S("")},
    /* Characters outside the alphabet, the URL-safe one included. */
    {"Zm9-", SASL_BAD_BASE64, S("")},
    {"Zm9_", SASL_BAD_BASE64, S("")},
    {"Zm9!", SASL_BAD_BASE64, S("")},
    {"Zm9.", SASL_BAD_BASE64, S("")},
    {"Zm9\x80", SASL_BAD_BASE64, S("")},
    {"Zm9\xff", SASL_BAD_BASE64, S("")},
    {"Zm9\x7f", SASL_BAD_BASE64, S("")},
    /* The cancel is smtpd's to see before it decodes. */
    {"*", SASL_BAD_BASE64, S("")},
    {"****", SASL_BAD_BASE64, S("")},
};

START_TEST(test_base64_decode_table)
{
    VBUF *out = vbuf_create(4);
    size_t i;

    for (i = 0; i < sizeof(b64_cases) / sizeof(b64_cases[0]); i++) {
        vbuf_set(out, "left over from before");
        ck_assert_msg(sasl_base64_decode(b64_cases[i].in, out) == b64_cases[i].result,
                      "row %zu: \"%s\"", i, b64_cases[i].in);
        assert_bytes(out, b64_cases[i].out, b64_cases[i].out_len, (int) i);
    }
    vbuf_free(out);
}
END_TEST

START_TEST(test_base64_encode_table)
{
    VBUF *out = vbuf_create(4);
    size_t i;

    /* Every well-formed case encodes back to itself, but "=" (which the
     * client sends for an empty initial response only). */
    for (i = 0; i < sizeof(b64_cases) / sizeof(b64_cases[0]); i++) {
        if (b64_cases[i].result != SASL_OK || strcmp(b64_cases[i].in, "=") == 0)
            continue;
        vbuf_set(out, "left over");
        sasl_base64_encode(b64_cases[i].out, b64_cases[i].out_len, out);
        ck_assert_msg(strcmp(vbuf_str(out), b64_cases[i].in) == 0, "row %zu: %s", i,
                      vbuf_str(out));
    }
    sasl_base64_encode("", 0, out);
    ck_assert_str_eq(vbuf_str(out), "");
    vbuf_free(out);
}
END_TEST

/* Every byte value, and a response as long as smtpd takes. */
START_TEST(test_base64_round_trip)
{
    VBUF *enc = vbuf_create(16);
    VBUF *dec = vbuf_create(16);
    char data[SASL_RESPONSE_MAX / 4 * 3];
    size_t len;
    size_t i;

    for (i = 0; i < sizeof(data); i++)
        data[i] = (char) (i * 7 + i / 256);
    for (len = 0; len < 300; len++) {
        sasl_base64_encode(data, len, enc);
        ck_assert_uint_eq(vbuf_len(enc), (len + 2) / 3 * 4);
        ck_assert_int_eq(sasl_base64_decode(vbuf_str(enc), dec), SASL_OK);
        ck_assert_uint_eq(vbuf_len(dec), len);
        ck_assert(memcmp(vbuf_str(dec), data, len) == 0);
    }
    sasl_base64_encode(data, sizeof(data), enc);
    ck_assert_uint_eq(vbuf_len(enc), SASL_RESPONSE_MAX);
    ck_assert_int_eq(sasl_base64_decode(vbuf_str(enc), dec), SASL_OK);
    ck_assert_uint_eq(vbuf_len(dec), sizeof(data));
    ck_assert(memcmp(vbuf_str(dec), data, sizeof(data)) == 0);
    vbuf_free(enc);
    vbuf_free(dec);
}
END_TEST

/* A failure late in a long response leaves nothing decoded behind. */
START_TEST(test_base64_failure_wipes)
{
    VBUF *out = vbuf_create(4);
    char in[] = "c2VjcmV0c2VjcmV0c2VjcmV0!A==";
    size_t i;

    ck_assert_int_eq(sasl_base64_decode(in, out), SASL_BAD_BASE64);
    ck_assert_uint_eq(vbuf_len(out), 0);
    for (i = 0; i < out->cap; i++)
        ck_assert_int_eq(out->data[i], 0);
    vbuf_free(out);
}
END_TEST

/* PLAIN ------------------------------------------------------------------ */

#define NAME_255 \
    "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn" \
    "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn" \
    "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn" \
    "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
#define PW_256 \
    "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp" \
    "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp" \
    "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp" \
    "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
#define PW_1024 PW_256 PW_256 PW_256 PW_256

static const struct {
    const char *data;
    size_t  len;
    int     result;
    const char *user;
    const char *password;
} plain_cases[] = {
    {S("\0alice\0secret"), SASL_OK, "alice", "secret"},
    {S("alice\0alice\0secret"), SASL_OK, "alice", "secret"},
    /* The authzid matches case-insensitively; the authcid is kept. */
    {S("ALICE\0alice\0secret"), SASL_OK, "alice", "secret"},
    {S("alice\0Alice\0secret"), SASL_OK, "Alice", "secret"},
    {S("\0alice@example.com\0p"), SASL_OK, "alice@example.com", "p"},
    {S("\0al ice\0secret"), SASL_OK, "al ice", "secret"},
    {S("\0jos\xc3\xa9\0s\xc3\xa9same"), SASL_OK, "jos\xc3\xa9", "s\xc3\xa9same"},
    {S("\0alice\0 "), SASL_OK, "alice", " "},
    {S("\0alice\0sec\tret"), SASL_OK, "alice", "sec\tret"},
    {S("\0alice\0sec\x01\x7fret"), SASL_OK, "alice", "sec\x01\x7fret"},
    {S("\0alice\0=\0"), SASL_BAD_FORMAT, "", ""},
    /* At the limits, and one over. */
    {S("\0" NAME_255 "\0pw"), SASL_OK, NAME_255, "pw"},
    {S(NAME_255 "\0" NAME_255 "\0pw"), SASL_OK, NAME_255, "pw"},
    {S("\0" NAME_255 "n\0pw"), SASL_BAD_FORMAT, "", ""},
    {S("\0alice\0" PW_1024), SASL_OK, "alice", PW_1024},
    {S("\0alice\0" PW_1024 "p"), SASL_BAD_FORMAT, "", ""},
    /* An authorization identity of its own. */
    {S("bob\0alice\0secret"), SASL_AUTHZID, "", ""},
    {S("alic\0alice\0secret"), SASL_AUTHZID, "", ""},
    {S("alicee\0alice\0secret"), SASL_AUTHZID, "", ""},
    {S(" alice\0alice\0secret"), SASL_AUTHZID, "", ""},
    {S(NAME_255 "n\0" NAME_255 "\0pw"), SASL_AUTHZID, "", ""},
    /* Only ASCII letters fold: a non-ASCII case difference is refused. */
    {S("JOS\xc3\x89\0jos\xc3\xa9\0secret"), SASL_AUTHZID, "", ""},
    /* Too few NULs. */
    {S(""), SASL_BAD_FORMAT, "", ""},
    {S("alice"), SASL_BAD_FORMAT, "", ""},
    {S("alice\0secret"), SASL_BAD_FORMAT, "", ""},
    {S("\0alicesecret"), SASL_BAD_FORMAT, "", ""},
    {S("\0"), SASL_BAD_FORMAT, "", ""},
    /* Empty fields. */
    {S("\0\0"), SASL_BAD_FORMAT, "", ""},
    {S("\0alice\0"), SASL_BAD_FORMAT, "", ""},
    {S("\0\0secret"), SASL_BAD_FORMAT, "", ""},
    {S("alice\0alice\0"), SASL_BAD_FORMAT, "", ""},
    /* The format is checked before the authzid. */
    {S("alice\0\0secret"), SASL_BAD_FORMAT, "", ""},
    {S("bob\0alice\0"), SASL_BAD_FORMAT, "", ""},
    /* NUL tricks: a password followed by NUL and junk, a user name with a
     * NUL in it, and their cousins. */
    {S("\0alice\0secret\0junk"), SASL_BAD_FORMAT, "", ""},
    {S("\0alice\0secret\0"), SASL_BAD_FORMAT, "", ""},
    {S("\0ali\0ce\0secret"), SASL_BAD_FORMAT, "", ""},
    {S("alice\0ali\0ce\0secret"), SASL_BAD_FORMAT, "", ""},
    {S("\0\0alice\0secret"), SASL_BAD_FORMAT, "", ""},
    {S("\0alice\0\0secret"), SASL_BAD_FORMAT, "", ""},
    {S("\0alice\0\0"), SASL_BAD_FORMAT, "", ""},
    {S("\0\0\0"), SASL_BAD_FORMAT, "", ""},
    {S("ali\0ce\0alice\0secret"), SASL_BAD_FORMAT, "", ""},
    /* Control characters in a user name; CR and LF in a password. */
    {S("\0al\x01ice\0secret"), SASL_BAD_FORMAT, "", ""},
    {S("\0al\tice\0secret"), SASL_BAD_FORMAT, "", ""},
    {S("\0alice\r\0secret"), SASL_BAD_FORMAT, "", ""},
    {S("\0alice\n\0secret"), SASL_BAD_FORMAT, "", ""},
    {S("\0al\x1bice\0secret"), SASL_BAD_FORMAT, "", ""},
    {S("\0al\x7fice\0secret"), SASL_BAD_FORMAT, "", ""},
    {S("\0alice\0sec\rret"), SASL_BAD_FORMAT, "", ""},
    {S("\0alice\0secret\n"), SASL_BAD_FORMAT, "", ""},
    {S("\0alice\0secret\r\nMAIL FROM:<a@b>"), SASL_BAD_FORMAT, "", ""},
};

START_TEST(test_plain_table)
{
    VBUF *user = vbuf_create(4);
    VBUF *password = vbuf_create(4);
    size_t i;

    for (i = 0; i < sizeof(plain_cases) / sizeof(plain_cases[0]); i++) {
        vbuf_set(user, "stale user");
        vbuf_set(password, "stale password");
        ck_assert_msg(sasl_plain_parse(plain_cases[i].data, plain_cases[i].len, user,
                                       password) == plain_cases[i].result,
                      "row %zu", i);
        assert_bytes(user, plain_cases[i].user, strlen(plain_cases[i].user), (int) i);
        assert_bytes(password, plain_cases[i].password, strlen(plain_cases[i].password),
                     (int) i);
    }
    vbuf_free(user);
    vbuf_free(password);
}
END_TEST

/* The way smtpd meets them: base64 first, then PLAIN. */
START_TEST(test_plain_through_base64)
{
    static const struct {
        const char *response;
        int     b64;
        int     plain;
    } cases[] = {
        {"AGFsaWNlAHNlY3JldA==", SASL_OK, SASL_OK},         /* \0alice\0secret */
        {"AGFsaWNlAHNlY3JldABqdW5r", SASL_OK, SASL_BAD_FORMAT}, /* ...\0junk */
        {"AGFsAGljZQBzZWNyZXQ=", SASL_OK, SASL_BAD_FORMAT},     /* \0al\0ice\0secret */
        {"Ym9iAGFsaWNlAHNlY3JldA==", SASL_OK, SASL_AUTHZID},   /* bob\0alice\0secret */
        {"=", SASL_OK, SASL_BAD_FORMAT},
        {"AGFsaWNlAHNlY3JldA", SASL_BAD_BASE64, 0},
        {"AGFsaWNlAHNlY3JldA== ", SASL_BAD_BASE64, 0},
    };
    VBUF *dec = vbuf_create(4);
    VBUF *user = vbuf_create(4);
    VBUF *password = vbuf_create(4);
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_int_eq(sasl_base64_decode(cases[i].response, dec), cases[i].b64);
        if (cases[i].b64 == SASL_OK)
            ck_assert_msg(sasl_plain_parse(vbuf_str(dec), vbuf_len(dec), user, password)
                              == cases[i].plain,
                          "row %zu", i);
    }
    ck_assert_int_eq(sasl_base64_decode("AGFsaWNlAHNlY3JldA==", dec), SASL_OK);
    ck_assert_int_eq(sasl_plain_parse(vbuf_str(dec), vbuf_len(dec), user, password),
                     SASL_OK);
    ck_assert_str_eq(vbuf_str(user), "alice");
    ck_assert_str_eq(vbuf_str(password), "secret");
    vbuf_free(dec);
    vbuf_free(user);
    vbuf_free(password);
}
END_TEST

/* LOGIN ------------------------------------------------------------------ */

START_TEST(test_login_parse)
{
    VBUF *out = vbuf_create(4);

    ck_assert_int_eq(sasl_login_parse(S("alice"), SASL_NAME_MAX, out), SASL_OK);
    ck_assert_str_eq(vbuf_str(out), "alice");
    ck_assert_int_eq(sasl_login_parse(S("abc"), 3, out), SASL_OK);
    ck_assert_str_eq(vbuf_str(out), "abc");

    vbuf_set(out, "stale");
    ck_assert_int_eq(sasl_login_parse(S("abcd"), 3, out), SASL_BAD_FORMAT);
    ck_assert_uint_eq(vbuf_len(out), 0);
    ck_assert_int_eq(sasl_login_parse(S(""), 3, out), SASL_BAD_FORMAT);
    ck_assert_int_eq(sasl_login_parse(S("a\0b"), 10, out), SASL_BAD_FORMAT);
    ck_assert_int_eq(sasl_login_parse(S("secret\0junk"), 100, out), SASL_BAD_FORMAT);
    ck_assert_int_eq(sasl_login_parse(S("\0"), 10, out), SASL_BAD_FORMAT);
    ck_assert_int_eq(sasl_login_parse(S("a\r"), 10, out), SASL_BAD_FORMAT);
    ck_assert_int_eq(sasl_login_parse(S("a\nb"), 10, out), SASL_BAD_FORMAT);
    ck_assert_uint_eq(vbuf_len(out), 0);
    vbuf_free(out);
}
END_TEST

static const struct {
    const char *data;
    size_t  len;
    int     user;                       /* sasl_login_user() */
    int     password;                   /* sasl_login_password() */
} login_cases[] = {
    {S("alice"), SASL_OK, SASL_OK},
    {S("jos\xc3\xa9"), SASL_OK, SASL_OK},
    {S("a b"), SASL_OK, SASL_OK},
    {S(NAME_255), SASL_OK, SASL_OK},
    {S(NAME_255 "n"), SASL_BAD_FORMAT, SASL_OK},
    {S(PW_1024), SASL_BAD_FORMAT, SASL_OK},
    {S(PW_1024 "p"), SASL_BAD_FORMAT, SASL_BAD_FORMAT},
    {S("sec\tret"), SASL_BAD_FORMAT, SASL_OK},
    {S("a\x01"), SASL_BAD_FORMAT, SASL_OK},
    {S("a\x7f"), SASL_BAD_FORMAT, SASL_OK},
    {S(""), SASL_BAD_FORMAT, SASL_BAD_FORMAT},
    {S("\0"), SASL_BAD_FORMAT, SASL_BAD_FORMAT},
    {S("ali\0ce"), SASL_BAD_FORMAT, SASL_BAD_FORMAT},
    {S("secret\0junk"), SASL_BAD_FORMAT, SASL_BAD_FORMAT},
    {S("alice\0"), SASL_BAD_FORMAT, SASL_BAD_FORMAT},
    {S("\0alice"), SASL_BAD_FORMAT, SASL_BAD_FORMAT},
    {S("alice\r\n"), SASL_BAD_FORMAT, SASL_BAD_FORMAT},
    {S("pass\nword"), SASL_BAD_FORMAT, SASL_BAD_FORMAT},
};

START_TEST(test_login_table)
{
    VBUF *out = vbuf_create(4);
    size_t i;

    for (i = 0; i < sizeof(login_cases) / sizeof(login_cases[0]); i++) {
        vbuf_set(out, "stale");
        ck_assert_msg(sasl_login_user(login_cases[i].data, login_cases[i].len, out)
                          == login_cases[i].user,
                      "row %zu: user", i);
        if (login_cases[i].user == SASL_OK)
            assert_bytes(out, login_cases[i].data, login_cases[i].len, (int) i);
        else
            ck_assert_uint_eq(vbuf_len(out), 0);
        ck_assert_int_eq(sasl_name_ok(login_cases[i].data, login_cases[i].len),
                         login_cases[i].user == SASL_OK);

        vbuf_set(out, "stale");
        ck_assert_msg(sasl_login_password(login_cases[i].data, login_cases[i].len, out)
                          == login_cases[i].password,
                      "row %zu: password", i);
        if (login_cases[i].password == SASL_OK)
            assert_bytes(out, login_cases[i].data, login_cases[i].len, (int) i);
        else
            ck_assert_uint_eq(vbuf_len(out), 0);
        ck_assert_int_eq(sasl_password_ok(login_cases[i].data, login_cases[i].len),
                         login_cases[i].password == SASL_OK);
    }
    vbuf_free(out);
}
END_TEST

/* Mechanisms, challenges, wiping ----------------------------------------- */

START_TEST(test_mech)
{
    ck_assert_int_eq(sasl_mech_lookup("PLAIN"), SASL_MECH_PLAIN);
    ck_assert_int_eq(sasl_mech_lookup("plain"), SASL_MECH_PLAIN);
    ck_assert_int_eq(sasl_mech_lookup("PlAiN"), SASL_MECH_PLAIN);
    ck_assert_int_eq(sasl_mech_lookup("LOGIN"), SASL_MECH_LOGIN);
    ck_assert_int_eq(sasl_mech_lookup("login"), SASL_MECH_LOGIN);
    ck_assert_int_eq(sasl_mech_lookup("CRAM-MD5"), -1);
    ck_assert_int_eq(sasl_mech_lookup("PLAI"), -1);
    ck_assert_int_eq(sasl_mech_lookup("PLAINX"), -1);
    ck_assert_int_eq(sasl_mech_lookup("PLAIN "), -1);
    ck_assert_int_eq(sasl_mech_lookup(""), -1);
    ck_assert_int_eq(sasl_mech_lookup("XOAUTH2"), -1);
    ck_assert_str_eq(sasl_mech_name(SASL_MECH_PLAIN), "PLAIN");
    ck_assert_str_eq(sasl_mech_name(SASL_MECH_LOGIN), "LOGIN");
    ck_assert_str_eq(sasl_mech_name(-1), "unknown");
    ck_assert_str_eq(sasl_mech_name(2), "unknown");
}
END_TEST

START_TEST(test_login_challenges)
{
    VBUF *out = vbuf_create(4);

    sasl_base64_encode(S("Username:"), out);
    ck_assert_str_eq(vbuf_str(out), SASL_LOGIN_USER_CHALLENGE);
    sasl_base64_encode(S("Password:"), out);
    ck_assert_str_eq(vbuf_str(out), SASL_LOGIN_PASSWORD_CHALLENGE);
    vbuf_free(out);
}
END_TEST

START_TEST(test_wipe)
{
    VBUF *secret = vbuf_create(4);
    size_t i;

    vbuf_set(secret, "a rather long password, longer than the first allocation");
    sasl_wipe(secret);
    ck_assert_uint_eq(vbuf_len(secret), 0);
    ck_assert_str_eq(vbuf_str(secret), "");
    for (i = 0; i < secret->cap; i++)
        ck_assert_int_eq(secret->data[i], 0);
    vbuf_append_str(secret, "usable");
    ck_assert_str_eq(vbuf_str(secret), "usable");
    vbuf_free(secret);
}
END_TEST

/* xtext ------------------------------------------------------------------ */

static const struct {
    const char *in;
    int     result;
    const char *out;
    size_t  out_len;
} xtext_cases[] = {
    {"", 0, S("")},
    {"<>", 0, S("<>")},
    {"alice@example.com", 0, S("alice@example.com")},
    {"alice+2Bbob@example.com", 0, S("alice+bob@example.com")},
    {"a+3Db", 0, S("a=b")},
    {"+41", 0, S("A")},                 /* needs no encoding: allowed */
    {"+20", 0, S(" ")},
    {"+7F+FF+80", 0, S("\x7f\xff\x80")},
    {"+0D+0A", 0, S("\r\n")},           /* the caller escapes again */
    {"!~", 0, S("!~")},
    {"+2B+2B", 0, S("++")},
    /* A '+' without two upper-case hex digits. */
    {"+", -1, S("")},
    {"a+", -1, S("")},
    {"+4", -1, S("")},
    {"+2b", -1, S("")},
    {"+a0", -1, S("")},
    {"+G0", -1, S("")},
    {"+0G", -1, S("")},
    {"++2B", -1, S("")},
    {"+ 20", -1, S("")},
    {"+-1", -1, S("")},
    /* A NUL would cut the mailbox short downstream. */
    {"+00", -1, S("")},
    {"a+00b", -1, S("")},
    /* '=' and bytes outside 0x21-0x7e. */
    {"a=b", -1, S("")},
    {"=", -1, S("")},
    {"a b", -1, S("")},
    {" ", -1, S("")},
    {"a\tb", -1, S("")},
    {"a\r\n", -1, S("")},
    {"\x7f", -1, S("")},
    {"\x80", -1, S("")},
    {"alice@exampl\xc3\xa9.com", -1, S("")},
};

START_TEST(test_xtext_decode_table)
{
    VBUF *out = vbuf_create(4);
    size_t i;

    for (i = 0; i < sizeof(xtext_cases) / sizeof(xtext_cases[0]); i++) {
        vbuf_set(out, "stale");
        ck_assert_msg(xtext_decode(xtext_cases[i].in, out) == xtext_cases[i].result,
                      "row %zu: \"%s\"", i, xtext_cases[i].in);
        assert_bytes(out, xtext_cases[i].out, xtext_cases[i].out_len, (int) i);
    }
    vbuf_free(out);
}
END_TEST

START_TEST(test_xtext_encode)
{
    static const struct {
        const char *in;
        size_t  len;
        const char *out;
    } cases[] = {
        {S(""), ""},
        {S("<>"), "<>"},
        {S("alice@example.com"), "alice@example.com"},
        {S("alice+bob=x@example.com"), "alice+2Bbob+3Dx@example.com"},
        {S("a b"), "a+20b"},
        {S("\r\n"), "+0D+0A"},
        {S("\0"), "+00"},
        {S("\x7f\x80\xff"), "+7F+80+FF"},
        {S("!~"), "!~"},
    };
    VBUF *out = vbuf_create(4);
    VBUF *back = vbuf_create(4);
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vbuf_set(out, "stale");
        xtext_encode(cases[i].in, cases[i].len, out);
        ck_assert_str_eq(vbuf_str(out), cases[i].out);
        /* Back again, but for the NUL the decoder refuses. */
        if (memchr(cases[i].in, 0, cases[i].len) == NULL) {
            ck_assert_int_eq(xtext_decode(vbuf_str(out), back), 0);
            assert_bytes(back, cases[i].in, cases[i].len, (int) i);
        }
    }
    vbuf_free(out);
    vbuf_free(back);
}
END_TEST

int
main(void)
{
    Suite  *s = suite_create("sasl");
    TCase  *tc = tcase_create("sasl");
    SRunner *sr;
    int     failed;

    tcase_add_test(tc, test_base64_decode_table);
    tcase_add_test(tc, test_base64_encode_table);
    tcase_add_test(tc, test_base64_round_trip);
    tcase_add_test(tc, test_base64_failure_wipes);
    tcase_add_test(tc, test_plain_table);
    tcase_add_test(tc, test_plain_through_base64);
    tcase_add_test(tc, test_login_parse);
    tcase_add_test(tc, test_login_table);
    tcase_add_test(tc, test_mech);
    tcase_add_test(tc, test_login_challenges);
    tcase_add_test(tc, test_wipe);
    tcase_add_test(tc, test_xtext_decode_table);
    tcase_add_test(tc, test_xtext_encode);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
