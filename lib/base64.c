/* Base64 decoding and encoding over VBUFs: pure functions, no I/O. */
#include "base64.h"
#include "vbuf.h"

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
base64_value(int ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

int
base64_decode(VBUF *out, const char *in, size_t len, int flags)
{
    size_t  start = vbuf_len(out);
    unsigned long acc = 0;
    size_t  i, pad = 0;
    int     bits = 0, v;

    while (len > 0 && in[len - 1] == '=' && pad < 2) {
        len--;
        pad++;
    }
    /* Padding completes the last quantum; a lone digit holds no byte. */
    if ((pad > 0 && (len + pad) % 4 != 0) || len % 4 == 1)
        return -1;
    if (pad == 0 && len % 4 != 0 && !(flags & BASE64_FLAG_NOPAD))
        return -1;
    vbuf_reserve(out, (len + 3) / 4 * 3);
    for (i = 0; i < len; i++) {
        if ((v = base64_value((unsigned char) in[i])) < 0) {
            vbuf_truncate(out, start);
            return -1;
        }
        acc = (acc << 6) | (unsigned long) v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            vbuf_append_char(out, (int) ((acc >> bits) & 0xff));
        }
    }
    /* The 2 or 4 bits left over belong to no byte. */
    if ((flags & BASE64_FLAG_CANON) && (acc & ((1UL << bits) - 1)) != 0) {
        vbuf_truncate(out, start);
        return -1;
    }
    return 0;
}

void
base64_encode(VBUF *out, const void *data, size_t len)
{
    const unsigned char *p = data;
    unsigned long group;
    size_t  i;

    vbuf_reserve(out, (len + 2) / 3 * 4);
    for (i = 0; i < len; i += 3) {
        group = (unsigned long) p[i] << 16;
        if (i + 1 < len)
            group |= (unsigned long) p[i + 1] << 8;
        if (i + 2 < len)
            group |= p[i + 2];
        vbuf_append_char(out, base64_alphabet[(group >> 18) & 0x3f]);
        vbuf_append_char(out, base64_alphabet[(group >> 12) & 0x3f]);
        vbuf_append_char(out, i + 1 < len ? base64_alphabet[(group >> 6) & 0x3f] : '=');
        vbuf_append_char(out, i + 2 < len ? base64_alphabet[group & 0x3f] : '=');
    }
}
