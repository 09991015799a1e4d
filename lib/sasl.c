/* SASL PLAIN and LOGIN decoding, strict base64 and xtext: pure functions
 * over buffers, no I/O (see sasl.h for the rules).
 *
 * Base64 is lib/base64.c's decoder at its strictest rather than
 * OpenSSL's EVP_DecodeBlock(), which skips white space, pads its output
 * with zero bytes, and accepts non-canonical input: here a response is
 * either exactly base64 or refused.  Buffers that may hold a password
 * are wiped before they are reused and sized before they are filled, so
 * that no realloc() leaves a copy behind, and are wiped again when a
 * decoding fails half-way. */
#include <string.h>

#include "base64.h"
#include "sasl.h"
#include "vbuf.h"

/* ASCII case-insensitive equality of two byte strings, whatever the
 * locale. */
static int
sasl_ascii_caseeq(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t i;

    if (alen != blen)
        return 0;
    for (i = 0; i < alen; i++) {
        unsigned char ca = (unsigned char) a[i];
        unsigned char cb = (unsigned char) b[i];

        if (ca >= 'A' && ca <= 'Z')
            ca += 'a' - 'A';
        if (cb >= 'A' && cb <= 'Z')
            cb += 'a' - 'A';
        if (ca != cb)
            return 0;
    }
    return 1;
}

void
sasl_wipe(VBUF *secret)
{
    explicit_bzero(secret->data, secret->cap);
    secret->len = 0;
}

int
sasl_base64_decode(const char *in, VBUF *out)
{
    sasl_wipe(out);
    if (strcmp(in, "=") == 0)
        return SASL_OK;
    if (base64_decode(out, in, strlen(in), BASE64_FLAG_CANON) < 0) {
        sasl_wipe(out);
        return SASL_BAD_BASE64;
    }
    return SASL_OK;
}

void
sasl_base64_encode(const void *data, size_t len, VBUF *out)
{
    vbuf_reset(out);
    base64_encode(out, data, len);
}

int
sasl_name_ok(const char *data, size_t len)
{
    size_t i;

    if (len == 0 || len > SASL_NAME_MAX)
        return 0;
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char) data[i];

        if (ch < 0x20 || ch == 0x7f)
            return 0;
    }
    return 1;
}

int
sasl_password_ok(const char *data, size_t len)
{
    size_t i;

    if (len == 0 || len > SASL_PASSWORD_MAX)
        return 0;
    for (i = 0; i < len; i++)
        if (data[i] == 0 || data[i] == '\r' || data[i] == '\n')
            return 0;
    return 1;
}

int
sasl_plain_parse(const char *data, size_t len, VBUF *user, VBUF *password)
{
    const char *authzid = data;
    const char *end = data + len;
    const char *authcid;
    const char *passwd;
    const char *nul;
    size_t authzid_len;
    size_t authcid_len;
    size_t passwd_len;

    vbuf_reset(user);
    sasl_wipe(password);

    /* Two NULs; sasl_password_ok() refuses a third, since the password
     * runs to the end of the message. */
    if ((nul = memchr(authzid, 0, len)) == NULL)
        return SASL_BAD_FORMAT;
    authzid_len = nul - authzid;
    authcid = nul + 1;
    if ((nul = memchr(authcid, 0, end - authcid)) == NULL)
        return SASL_BAD_FORMAT;
    authcid_len = nul - authcid;
    passwd = nul + 1;
    passwd_len = end - passwd;
    if (!sasl_name_ok(authcid, authcid_len) || !sasl_password_ok(passwd, passwd_len))
        return SASL_BAD_FORMAT;
    if (authzid_len > 0
        && !sasl_ascii_caseeq(authzid, authzid_len, authcid, authcid_len))
        return SASL_AUTHZID;

    vbuf_append(user, authcid, authcid_len);
    vbuf_reserve(password, passwd_len);
    vbuf_append(password, passwd, passwd_len);
    return SASL_OK;
}

int
sasl_login_parse(const char *data, size_t len, size_t max, VBUF *out)
{
    sasl_wipe(out);
    if (len == 0 || len > max || memchr(data, 0, len) != NULL
        || memchr(data, '\r', len) != NULL || memchr(data, '\n', len) != NULL)
        return SASL_BAD_FORMAT;
    vbuf_reserve(out, len);
    vbuf_append(out, data, len);
    return SASL_OK;
}

int
sasl_login_user(const char *data, size_t len, VBUF *user)
{
    vbuf_reset(user);
    if (!sasl_name_ok(data, len))
        return SASL_BAD_FORMAT;
    return sasl_login_parse(data, len, SASL_NAME_MAX, user);
}

int
sasl_login_password(const char *data, size_t len, VBUF *password)
{
    sasl_wipe(password);
    if (!sasl_password_ok(data, len))
        return SASL_BAD_FORMAT;
    return sasl_login_parse(data, len, SASL_PASSWORD_MAX, password);
}

/* Names of the SASL_MECH_* values, in order. */
static const char *const sasl_mech_names[] = {"PLAIN", "LOGIN"};

#define SASL_MECH_COUNT (sizeof(sasl_mech_names) / sizeof(sasl_mech_names[0]))

int
sasl_mech_lookup(const char *name)
{
    size_t i;

    for (i = 0; i < SASL_MECH_COUNT; i++)
        if (sasl_ascii_caseeq(name, strlen(name), sasl_mech_names[i],
                              strlen(sasl_mech_names[i])))
            return (int) i;
    return -1;
}

const char *
sasl_mech_name(int mech)
{
    if (mech < 0 || (size_t) mech >= SASL_MECH_COUNT)
        return "unknown";
    return sasl_mech_names[mech];
}

/* An upper-case hex digit's value, or -1. */
static int
xtext_hex_value(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int
xtext_decode(const char *in, VBUF *out)
{
    const unsigned char *p = (const unsigned char *) in;
    int hi;
    int lo;

    vbuf_reset(out);
    while (*p) {
        if (*p == '+') {
            if ((hi = xtext_hex_value(p[1])) < 0 || (lo = xtext_hex_value(p[2])) < 0
                || (hi == 0 && lo == 0)) {
                vbuf_reset(out);
                return -1;
            }
            vbuf_append_char(out, hi << 4 | lo);
            p += 3;
        } else if (*p >= 0x21 && *p <= 0x7e && *p != '=') {
            vbuf_append_char(out, *p++);
        } else {
            vbuf_reset(out);
            return -1;
        }
    }
    return 0;
}

void
xtext_encode(const char *in, size_t len, VBUF *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;

    vbuf_reset(out);
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char) in[i];

        if (ch >= 0x21 && ch <= 0x7e && ch != '+' && ch != '=') {
            vbuf_append_char(out, ch);
        } else {
            vbuf_append_char(out, '+');
            vbuf_append_char(out, hex[ch >> 4]);
            vbuf_append_char(out, hex[ch & 0x0f]);
        }
    }
}
