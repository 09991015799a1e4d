/* libFuzzer target for lib/base64.c's decoder with each set of flags its
 * callers use: SASL's (padding required, canonical pad bits) and RFC
 * 2047's B (padding may be missing, pad bits ignored).
 *
 * Besides not crashing: what the strict reading accepts the loose one
 * accepts with the same bytes; an accepted input yields 3 bytes per 4
 * digits (pad characters not counted); a refused one leaves the buffer as
 * it was; and re-encoding a strictly accepted input gives it back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "vbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define fuzz_check(ok) do { \
        if (!(ok)) { \
            fprintf(stderr, "fuzz_base64: line %d: %s\n", __LINE__, #ok); \
            abort(); \
        } \
    } while (0)

static VBUF *canon;
static VBUF *loose;
static VBUF *again;

/* Decodes after a prefix; checks the prefix survives and the length. */
static int
fuzz_decode(VBUF *out, const char *in, size_t len, int flags)
{
    size_t  digits = len;
    int     rc;

    vbuf_reset(out);
    vbuf_append(out, "xy", 2);
    rc = base64_decode(out, in, len, flags);
    fuzz_check(vbuf_len(out) >= 2 && memcmp(vbuf_str(out), "xy", 2) == 0);
    fuzz_check(vbuf_str(out)[vbuf_len(out)] == 0);
    if (rc < 0) {
        fuzz_check(vbuf_len(out) == 2);
    } else {
        while (digits > 0 && in[digits - 1] == '=')
            digits--;
        fuzz_check(vbuf_len(out) - 2 == digits * 6 / 8);
    }
    return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *) data;
    int     rc_canon, rc_loose;

    if (canon == NULL) {
        canon = vbuf_create(64);
        loose = vbuf_create(64);
        again = vbuf_create(64);
    }
    rc_canon = fuzz_decode(canon, in, size, BASE64_FLAG_CANON);
    rc_loose = fuzz_decode(loose, in, size, BASE64_FLAG_NOPAD);
    if (rc_canon == 0) {
        fuzz_check(rc_loose == 0);
        fuzz_check(vbuf_len(canon) == vbuf_len(loose)
                   && memcmp(vbuf_str(canon), vbuf_str(loose), vbuf_len(canon)) == 0);
        vbuf_reset(again);
        base64_encode(again, vbuf_str(canon) + 2, vbuf_len(canon) - 2);
        fuzz_check(vbuf_len(again) == size && memcmp(vbuf_str(again), in, size) == 0);
    }
    return 0;
}
