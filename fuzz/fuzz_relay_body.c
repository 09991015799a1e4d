/* libFuzzer target for relay's message encoder (relay/relay_body.c): the
 * bytes of a queue file's message, as any client sent them, turned into
 * the text after DATA.  Whatever the bytes, the output must be SMTP:
 *
 *   - every line ends with CR LF, no CR or LF stands alone, and no line
 *     is longer than 1000 octets with its CR LF (RFC 5321 4.5.3.1.6);
 *   - the only line that is a lone dot is the last one (the end of data),
 *     so nothing in the message can end it early (SMTP smuggling);
 *   - removing the dot-stuffing and the folds (CR LF SPACE) gives back
 *     the input's bytes other than CR and LF, in order;
 *   - the input fed in pieces (sizes taken from the input's first bytes)
 *     gives the same output as fed at once. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/relay.h"
#include "vbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define fuzz_check(ok) do { \
        if (!(ok)) { \
            fprintf(stderr, "fuzz_relay_body: line %d: %s\n", __LINE__, #ok); \
            abort(); \
        } \
    } while (0)

static void
fuzz_encode(const char *in, size_t len, const uint8_t *pieces, size_t npieces,
            VBUF *out)
{
    RELAY_BODY body;
    size_t off = 0, n, i = 0;

    relay_body_init(&body);
    while (off < len) {
        n = npieces ? (size_t) pieces[i++ % npieces] + 1 : len;
        if (n > len - off)
            n = len - off;
        relay_body_encode(&body, in + off, n, out);
        off += n;
    }
    relay_body_finish(&body, out);
}

/* The structure of the output; returns the payload (stuffing and folds
 * removed, line ends dropped) in text. */
static void
fuzz_check_smtp(const VBUF *out, VBUF *text)
{
    const char *p = vbuf_str(out), *end = p + vbuf_len(out), *eol;

    while (p < end) {
        eol = memchr(p, '\r', (size_t) (end - p));
        fuzz_check(eol != NULL && eol + 1 < end && eol[1] == '\n');
        fuzz_check(memchr(p, '\n', (size_t) (eol - p)) == NULL);
        fuzz_check(eol - p + 2 <= RELAY_BODY_LINE_MAX + 2);
        if (eol - p == 1 && p[0] == '.') {
            fuzz_check(eol + 2 == end);         /* the end of data */
            return;
        }
        /* A line that starts with a dot had it doubled. */
        if (p[0] == '.') {
            fuzz_check(eol - p >= 2 && p[1] == '.');
            p++;
        }
        vbuf_append(text, p, (size_t) (eol - p));
        p = eol + 2;
    }
    fuzz_check(0);                              /* no end of data */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    VBUF *whole = vbuf_create(size * 2 + 16);
    VBUF *split = vbuf_create(size * 2 + 16);
    VBUF *text = vbuf_create(size + 16);
    VBUF *want = vbuf_create(size + 16);
    size_t npieces = size ? data[0] % 8 : 0;
    const char *in;
    size_t len, i, j;

    if (size < 1 + npieces)
        npieces = 0;
    in = (const char *) data + (size ? 1 + npieces : 0);
    len = size ? size - 1 - npieces : 0;

    fuzz_encode(in, len, NULL, 0, whole);
    fuzz_encode(in, len, data + 1, npieces, split);
    fuzz_check(vbuf_len(whole) == vbuf_len(split)
               && memcmp(vbuf_str(whole), vbuf_str(split), vbuf_len(whole)) == 0);

    fuzz_check_smtp(whole, text);
    /* The input without CR and LF; the text has, besides, one SPACE per
     * fold: the fold's SPACE starts a line that the input did not. */
    for (i = 0; i < len; i++)
        if (in[i] != '\r' && in[i] != '\n')
            vbuf_append_char(want, in[i]);
    for (i = j = 0; i < vbuf_len(text); i++) {
        if (j < vbuf_len(want) && text->data[i] == want->data[j]) {
            j++;
            continue;
        }
        fuzz_check(text->data[i] == ' ');       /* only folds are extra */
    }
    fuzz_check(j == vbuf_len(want));

    vbuf_free(whole);
    vbuf_free(split);
    vbuf_free(text);
    vbuf_free(want);
    return 0;
}
