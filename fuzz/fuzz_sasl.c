/* libFuzzer target for the SASL decoders (lib/sasl.c): the input is read
 * as an AUTH response in base64, as a decoded PLAIN message, as one of
 * LOGIN's answers, as the xtext of MAIL's AUTH=, and as a mechanism name.
 *
 * Besides not crashing, each decoder must agree with a second, naive
 * reading written here for the purpose (base64 bit by bit, PLAIN split
 * at every NUL), and what is encoded must decode back to the same bytes:
 * base64 both ways (the decoder takes only the canonical form, so an
 * accepted response encodes back to exactly itself), xtext both ways. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mymalloc.h"
#include "sasl.h"
#include "vbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define fuzz_check(ok) do { \
        if (!(ok)) { \
            fprintf(stderr, "fuzz_sasl: line %d: %s\n", __LINE__, #ok); \
            abort(); \
        } \
    } while (0)

static VBUF *out;
static VBUF *again;
static VBUF *naive;
static VBUF *user;
static VBUF *password;

/* Base64 decoded one bit at a time: SASL_OK with the bytes in naive, or
 * SASL_BAD_BASE64. */
static int
fuzz_naive_base64(const char *in)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t len = strlen(in);
    size_t digits = len;
    unsigned bits = 0;
    int nbits = 0;
    const char *pos;
    size_t i;

    vbuf_reset(naive);
    if (strcmp(in, "=") == 0)
        return SASL_OK;
    while (digits > 0 && len - digits < 2 && in[digits - 1] == '=')
        digits--;
    if (len % 4 != 0 || digits % 4 == 1 || len - digits != (4 - digits % 4) % 4)
        return SASL_BAD_BASE64;
    for (i = 0; i < digits; i++) {
        if (in[i] == 0 || (pos = strchr(alphabet, in[i])) == NULL)
            return SASL_BAD_BASE64;
        bits = (bits << 6) | (unsigned) (pos - alphabet);
        if ((nbits += 6) >= 8) {
            nbits -= 8;
            vbuf_append_char(naive, (bits >> nbits) & 0xff);
            bits &= (1u << nbits) - 1;
        }
    }
    return bits == 0 ? SASL_OK : SASL_BAD_BASE64;
}

static void
fuzz_base64(const char *str, const uint8_t *data, size_t size)
{
    int rc = sasl_base64_decode(str, out);

    fuzz_check(rc == SASL_OK || rc == SASL_BAD_BASE64);
    fuzz_check(rc == fuzz_naive_base64(str));
    fuzz_check(vbuf_str(out)[vbuf_len(out)] == 0);
    if (rc == SASL_OK) {
        fuzz_check(vbuf_len(out) == vbuf_len(naive)
                   && memcmp(vbuf_str(out), vbuf_str(naive), vbuf_len(out)) == 0);
        sasl_base64_encode(vbuf_str(out), vbuf_len(out), again);
        fuzz_check(strcmp(vbuf_str(again), strcmp(str, "=") == 0 ? "" : str) == 0);
    } else {
        fuzz_check(vbuf_len(out) == 0);
    }

    /* Any bytes encode to canonical base64 that decodes back to them. */
    sasl_base64_encode(data, size, out);
    fuzz_check(vbuf_len(out) == (size + 2) / 3 * 4);
    fuzz_check(sasl_base64_decode(vbuf_str(out), again) == SASL_OK);
    fuzz_check(vbuf_len(again) == size && memcmp(vbuf_str(again), data, size) == 0);
}

/* PLAIN read naively: the fields between NULs, then the rules one by one. */
static int
fuzz_naive_plain(const char *data, size_t len, const char **field, size_t *flen)
{
    size_t start = 0;
    size_t i;
    int n = 0;

    for (i = 0; i <= len; i++) {
        if (i == len || data[i] == 0) {
            if (n == 3)
                return SASL_BAD_FORMAT;
            field[n] = data + start;
            flen[n++] = i - start;
            start = i + 1;
        }
    }
    if (n != 3)
        return SASL_BAD_FORMAT;
    if (flen[1] < 1 || flen[1] > SASL_NAME_MAX)
        return SASL_BAD_FORMAT;
    for (i = 0; i < flen[1]; i++)
        if ((unsigned char) field[1][i] < 0x20 || field[1][i] == 0x7f)
            return SASL_BAD_FORMAT;
    if (flen[2] < 1 || flen[2] > SASL_PASSWORD_MAX
        || memchr(field[2], '\r', flen[2]) || memchr(field[2], '\n', flen[2]))
        return SASL_BAD_FORMAT;
    if (flen[0] > 0
        && (flen[0] != flen[1] || strncasecmp(field[0], field[1], flen[0]) != 0))
        return SASL_AUTHZID;
    return SASL_OK;
}

static void
fuzz_plain(const char *data, size_t len)
{
    const char *field[3];
    size_t flen[3];
    int rc = sasl_plain_parse(data, len, user, password);

    fuzz_check(rc == fuzz_naive_plain(data, len, field, flen));
    if (rc == SASL_OK) {
        fuzz_check(vbuf_len(user) == flen[1]
                   && memcmp(vbuf_str(user), field[1], flen[1]) == 0);
        fuzz_check(vbuf_len(password) == flen[2]
                   && memcmp(vbuf_str(password), field[2], flen[2]) == 0);
        /* What authd will be sent: no NUL, no line break. */
        fuzz_check(strlen(vbuf_str(user)) == vbuf_len(user));
        fuzz_check(strlen(vbuf_str(password)) == vbuf_len(password));
        fuzz_check(sasl_name_ok(vbuf_str(user), vbuf_len(user)));
        fuzz_check(sasl_password_ok(vbuf_str(password), vbuf_len(password)));
    } else {
        fuzz_check(vbuf_len(user) == 0 && vbuf_len(password) == 0);
    }
}

static void
fuzz_login(const char *data, size_t len)
{
    int rc;

    rc = sasl_login_user(data, len, user);
    fuzz_check(rc == (sasl_name_ok(data, len) ? SASL_OK : SASL_BAD_FORMAT));
    fuzz_check(vbuf_len(user) == (rc == SASL_OK ? len : 0));
    if (rc == SASL_OK)
        fuzz_check(memchr(data, 0, len) == NULL
                   && memcmp(vbuf_str(user), data, len) == 0);

    rc = sasl_login_password(data, len, password);
    fuzz_check(rc == (sasl_password_ok(data, len) ? SASL_OK : SASL_BAD_FORMAT));
    fuzz_check(vbuf_len(password) == (rc == SASL_OK ? len : 0));
    if (rc == SASL_OK)
        fuzz_check(memchr(data, 0, len) == NULL && memchr(data, '\n', len) == NULL
                   && memcmp(vbuf_str(password), data, len) == 0);

    /* The first byte as the limit, the rest as the answer. */
    if (len > 0) {
        rc = sasl_login_parse(data + 1, len - 1, (unsigned char) data[0], out);
        fuzz_check(rc == SASL_OK || rc == SASL_BAD_FORMAT);
        if (rc == SASL_OK)
            fuzz_check(len - 1 >= 1 && len - 1 <= (unsigned char) data[0]
                       && strlen(vbuf_str(out)) == len - 1);
    }
}

/* 1 when in is xtext by a second reading: every "+" takes two upper-case
 * hex digits, not "00"; everything else is 0x21-0x7e but '='. */
static int
fuzz_naive_xtext(const char *in)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;

    for (i = 0; in[i]; i++) {
        if (in[i] == '+') {
            if (in[i + 1] == 0 || !strchr(hex, in[i + 1]) || in[i + 2] == 0
                || !strchr(hex, in[i + 2]) || (in[i + 1] == '0' && in[i + 2] == '0'))
                return 0;
            i += 2;
        } else if ((unsigned char) in[i] < 0x21 || (unsigned char) in[i] > 0x7e
                   || in[i] == '=') {
            return 0;
        }
    }
    return 1;
}

static void
fuzz_xtext(const char *str, const uint8_t *data, size_t size)
{
    int rc = xtext_decode(str, out);
    size_t i;

    fuzz_check(rc == 0 || rc == -1);
    fuzz_check((rc == 0) == fuzz_naive_xtext(str));
    if (rc == 0) {
        fuzz_check(vbuf_len(out) <= strlen(str));
        fuzz_check(strlen(vbuf_str(out)) == vbuf_len(out));
        xtext_encode(vbuf_str(out), vbuf_len(out), again);
        fuzz_check(xtext_decode(vbuf_str(again), naive) == 0);
        fuzz_check(vbuf_len(naive) == vbuf_len(out)
                   && memcmp(vbuf_str(naive), vbuf_str(out), vbuf_len(out)) == 0);
    } else {
        fuzz_check(vbuf_len(out) == 0);
    }

    /* Any bytes encode to xtext that decodes back to them, unless there is
     * a NUL, which the decoder refuses. */
    xtext_encode((const char *) data, size, out);
    for (i = 0; i < vbuf_len(out); i++)
        fuzz_check(vbuf_str(out)[i] >= 0x21 && vbuf_str(out)[i] <= 0x7e
                   && vbuf_str(out)[i] != '=');
    rc = xtext_decode(vbuf_str(out), again);
    if (memchr(data, 0, size) != NULL) {
        fuzz_check(rc == -1);
    } else {
        fuzz_check(rc == 0);
        fuzz_check(vbuf_len(again) == size && memcmp(vbuf_str(again), data, size) == 0);
    }
}

static void
fuzz_mech(const char *str)
{
    int mech = sasl_mech_lookup(str);

    fuzz_check(mech == -1 || mech == SASL_MECH_PLAIN || mech == SASL_MECH_LOGIN);
    if (mech != -1)
        fuzz_check(strcasecmp(str, sasl_mech_name(mech)) == 0);
    else
        fuzz_check(strcasecmp(str, "PLAIN") != 0 && strcasecmp(str, "LOGIN") != 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char   *str = mystrndup((const char *) data, size);

    if (out == NULL) {
        out = vbuf_create(16);
        again = vbuf_create(16);
        naive = vbuf_create(16);
        user = vbuf_create(16);
        password = vbuf_create(16);
    }
    fuzz_base64(str, data, size);
    fuzz_plain((const char *) data, size);
    fuzz_login((const char *) data, size);
    fuzz_xtext(str, data, size);
    fuzz_mech(str);

    /* The way smtpd meets PLAIN: a response decoded, then parsed. */
    if (sasl_base64_decode(str, out) == SASL_OK) {
        VBUF   *msg = vbuf_create(vbuf_len(out) + 1);

        vbuf_append(msg, vbuf_str(out), vbuf_len(out));
        fuzz_plain(vbuf_str(msg), vbuf_len(msg));
        vbuf_free(msg);
    }
    myfree(str);
    return 0;
}
