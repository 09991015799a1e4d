/* RFC 2047 decoding of header values into UTF-8; see arc_rfc2047.h. */
#include <errno.h>
#include <iconv.h>
#include <string.h>
#include <strings.h>

#include "arc_rfc2047.h"
#include "base64.h"
#include "vbuf.h"

#define ARC_RFC2047_CHARSET_MAX 64

/* Windows-1252's 0x80..0x9f; 0 where it has no character. */
static const unsigned short arc_rfc2047_cp1252[32] = {
    0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
    0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
    0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
    0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
};

static void
arc_rfc2047_put_code(VBUF *out, unsigned cp)
{
    if (cp < 0x80) {
        vbuf_append_char(out, (int) cp);
    } else if (cp < 0x800) {
        vbuf_append_char(out, (int) (0xc0 | (cp >> 6)));
        vbuf_append_char(out, (int) (0x80 | (cp & 0x3f)));
    } else {
        vbuf_append_char(out, (int) (0xe0 | (cp >> 12)));
        vbuf_append_char(out, (int) (0x80 | ((cp >> 6) & 0x3f)));
        vbuf_append_char(out, (int) (0x80 | (cp & 0x3f)));
    }
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t
arc_rfc2047_seq(const unsigned char *s, size_t n)
{
    size_t  len, i;
    unsigned cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
        || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

int
arc_rfc2047_valid_utf8(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *) text;
    size_t  n;

    while (len > 0) {
        if ((n = arc_rfc2047_seq(s, len)) == 0)
            return 0;
        s += n;
        len -= n;
    }
    return 1;
}

static void
arc_rfc2047_latin1(VBUF *out, const char *text, size_t len, int cp1252)
{
    const unsigned char *s = (const unsigned char *) text;
    size_t  i;

    for (i = 0; i < len; i++) {
        if (cp1252 && s[i] >= 0x80 && s[i] <= 0x9f && arc_rfc2047_cp1252[s[i] - 0x80])
            arc_rfc2047_put_code(out, arc_rfc2047_cp1252[s[i] - 0x80]);
        else
            arc_rfc2047_put_code(out, s[i]);
    }
}

void
arc_rfc2047_utf8(VBUF *out, const char *text, size_t len)
{
    if (arc_rfc2047_valid_utf8(text, len))
        vbuf_append(out, text, len);
    else
        arc_rfc2047_latin1(out, text, len, 0);
}

static int
arc_rfc2047_hex(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* Q encoding (RFC 2047 4.2); -1 when malformed. */
static int
arc_rfc2047_q(VBUF *out, const char *text, size_t len)
{
    size_t  i;
    int     hi, lo;

    for (i = 0; i < len; i++) {
        if (text[i] == '_') {
            vbuf_append_char(out, ' ');
        } else if (text[i] == '=') {
            if (i + 2 >= len)
                return -1;
            if ((hi = arc_rfc2047_hex((unsigned char) text[i + 1])) < 0
                || (lo = arc_rfc2047_hex((unsigned char) text[i + 2])) < 0)
                return -1;
            vbuf_append_char(out, hi * 16 + lo);
            i += 2;
        } else {
            vbuf_append_char(out, text[i]);
        }
    }
    return 0;
}

/* Converts bytes in charset to UTF-8 into out; -1 when it cannot. */
static int
arc_rfc2047_convert(VBUF *out, const char *charset, const char *bytes, size_t len)
{
    iconv_t cd;
    char   *in, *op;
    size_t  in_left, out_left, before, rc;
    int     status = 0;

    if (strcasecmp(charset, "utf-8") == 0 || strcasecmp(charset, "utf8") == 0) {
        if (!arc_rfc2047_valid_utf8(bytes, len))
            return -1;
        vbuf_append(out, bytes, len);
        return 0;
    }
    if (strcasecmp(charset, "us-ascii") == 0 || strcasecmp(charset, "ascii") == 0) {
        arc_rfc2047_utf8(out, bytes, len);
        return 0;
    }
    if (strcasecmp(charset, "iso-8859-1") == 0 || strcasecmp(charset, "iso8859-1") == 0
        || strcasecmp(charset, "iso_8859-1") == 0 || strcasecmp(charset, "latin1") == 0
        || strcasecmp(charset, "latin-1") == 0 || strcasecmp(charset, "l1") == 0) {
        arc_rfc2047_latin1(out, bytes, len, 0);
        return 0;
    }
    if (strcasecmp(charset, "windows-1252") == 0 || strcasecmp(charset, "cp1252") == 0) {
        arc_rfc2047_latin1(out, bytes, len, 1);
        return 0;
    }
    if ((cd = iconv_open("UTF-8", charset)) == (iconv_t) - 1)
        return -1;
    before = vbuf_len(out);
    in = (char *) bytes;
    in_left = len;
    while (in_left > 0) {
        vbuf_reserve(out, in_left * 4 + 16);
        op = vbuf_str(out) + vbuf_len(out);
        out_left = out->cap - vbuf_len(out) - 1;
        rc = iconv(cd, &in, &in_left, &op, &out_left);
        out->len = (size_t) (op - vbuf_str(out));
        out->data[out->len] = 0;
        if (rc == (size_t) -1 && errno != E2BIG) {
            status = -1;
            break;
        }
    }
    if (status == 0) {
        /* The shift state back to the initial one. */
        vbuf_reserve(out, 16);
        op = vbuf_str(out) + vbuf_len(out);
        out_left = out->cap - vbuf_len(out) - 1;
        if (iconv(cd, NULL, NULL, &op, &out_left) == (size_t) -1)
            status = -1;
        out->len = (size_t) (op - vbuf_str(out));
        out->data[out->len] = 0;
    }
    iconv_close(cd);
    if (status == 0 && !arc_rfc2047_valid_utf8(vbuf_str(out) + before, vbuf_len(out) - before))
        status = -1;
    if (status < 0)
        vbuf_truncate(out, before);
    return status;
}

/* An encoded-word at in[0..len): 1 with its end and its decoded text
 * appended to out, 0 when there is none or it is malformed (out is then
 * as it was). */
static int
arc_rfc2047_word(VBUF *out, VBUF *bytes, const char *in, size_t len, size_t *end)
{
    char    charset[ARC_RFC2047_CHARSET_MAX + 1], *star;
    size_t  i, cs_len, text_start, text_end;
    int     enc, rc;

    if (len < 8 || in[0] != '=' || in[1] != '?')
        return 0;
    for (i = 2; i < len && in[i] != '?' && in[i] > ' ' && in[i] < 0x7f; i++)
         /* void */ ;
    cs_len = i - 2;
    if (i + 2 >= len || in[i] != '?' || cs_len == 0 || cs_len > ARC_RFC2047_CHARSET_MAX)
        return 0;
    memcpy(charset, in + 2, cs_len);
    charset[cs_len] = 0;
    if ((star = strchr(charset, '*')) != NULL)
        *star = 0;
    if (charset[0] == 0)
        return 0;
    enc = in[i + 1];
    if (in[i + 2] != '?' || (enc != 'B' && enc != 'b' && enc != 'Q' && enc != 'q'))
        return 0;
    text_start = i + 3;
    for (i = text_start; i + 1 < len; i++) {
        if (in[i] == '?' && in[i + 1] == '=')
            break;
        if (in[i] == ' ' || in[i] == '\t' || in[i] == '?')
            return 0;
    }
    if (i + 1 >= len)
        return 0;
    text_end = i;
    vbuf_reset(bytes);
    rc = (enc == 'B' || enc == 'b')
        ? base64_decode(bytes, in + text_start, text_end - text_start, BASE64_FLAG_NOPAD)
        : arc_rfc2047_q(bytes, in + text_start, text_end - text_start);
    if (rc < 0 || arc_rfc2047_convert(out, charset, vbuf_str(bytes), vbuf_len(bytes)) < 0)
        return 0;
    *end = text_end + 2;
    return 1;
}

/* Every control character of UTF-8 text becomes a space. */
static void
arc_rfc2047_controls(VBUF *out, const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *) text;
    size_t  i;

    for (i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] == 0x7f) {
            vbuf_append_char(out, ' ');
        } else if (s[i] == 0xc2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f) {
            vbuf_append_char(out, ' ');
            i++;
        } else {
            vbuf_append_char(out, s[i]);
        }
    }
}

/* 1 when text is nothing but spaces and tabs (or nothing). */
static int
arc_rfc2047_blank(const char *text, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++)
        if (text[i] != ' ' && text[i] != '\t')
            return 0;
    return 1;
}

void
arc_rfc2047_decode(VBUF *out, const char *in, size_t len)
{
    VBUF   *acc = vbuf_create(len + 16), *word = vbuf_create(64), *bytes = vbuf_create(64);
    size_t  pos = 0, run = 0, end;      /* run: raw text not yet taken */
    int     after_word = 0;             /* that text follows an encoded-word */

    while (pos < len) {
        if (in[pos] == '=' && pos + 1 < len && in[pos + 1] == '?') {
            vbuf_reset(word);
            if (arc_rfc2047_word(word, bytes, in + pos, len - pos, &end) == 1) {
                if (!(after_word && arc_rfc2047_blank(in + run, pos - run)))
                    arc_rfc2047_utf8(acc, in + run, pos - run);
                vbuf_append(acc, vbuf_str(word), vbuf_len(word));
                pos += end;
                run = pos;
                after_word = 1;
                continue;
            }
        }
        pos++;
    }
    arc_rfc2047_utf8(acc, in + run, len - run);
    vbuf_reset(out);
    arc_rfc2047_controls(out, vbuf_str(acc), vbuf_len(acc));
    vbuf_free(acc);
    vbuf_free(word);
    vbuf_free(bytes);
}
