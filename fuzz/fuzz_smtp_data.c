/* Fuzz target for the DATA scanner: the first byte chooses where to cut
 * the rest of the input in two; whole, cut, and byte-at-a-time feeding
 * must agree on status, bytes used, output and counters. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_data.h"
#include "vbuf.h"

typedef struct {
    int     status;
    size_t  used;
    VBUF   *out;
    uint64_t size;
    size_t  longest;
    unsigned received;
} RUN;

/* Feeds the first piece of cut bytes (0: none), then chunk at a time. */
static void
fuzz_run(RUN *r, const char *in, size_t len, size_t cut, size_t chunk)
{
    SMTP_DATA sd;
    size_t  off = 0, n, used;

    r->out = vbuf_create(len + 1);
    r->used = 0;
    r->status = SMTP_DATA_MORE;
    smtp_data_init(&sd, smtp_data_to_vbuf, r->out);
    while (off < len && r->status == SMTP_DATA_MORE) {
        n = (off == 0 && cut > 0) ? cut : chunk;
        if (n > len - off)
            n = len - off;
        r->status = smtp_data_feed(&sd, in + off, n, &used);
        if (used > n || (r->status == SMTP_DATA_MORE && used != n))
            abort();
        r->used += used;
        off += n;
    }
    r->size = sd.size;
    r->longest = sd.longest_line;
    r->received = sd.received;
}

static void
fuzz_same(const RUN *a, const RUN *b)
{
    if (a->status != b->status || a->used != b->used
        || a->out->len != b->out->len
        || memcmp(a->out->data, b->out->data, a->out->len) != 0
        || a->size != b->size || a->longest != b->longest
        || a->received != b->received)
        abort();
}

/* Content handed on after a clean end has only CR LF line ends. */
static void
fuzz_check_content(const RUN *r)
{
    const char *s = r->out->data;
    size_t  i, n = r->out->len;

    if (r->size != n)
        abort();
    if (r->status != SMTP_DATA_END)
        return;
    if (n > 0 && (n < 2 || s[n - 2] != '\r' || s[n - 1] != '\n'))
        abort();
    for (i = 0; i < n; i++) {
        if (s[i] == 0)
            abort();
        if (s[i] == '\r' && (i + 1 == n || s[i + 1] != '\n'))
            abort();
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
            abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *) data + 1;
    size_t  len, cut;
    RUN     whole, split, bytes;

    if (size == 0)
        return 0;
    len = size - 1;
    cut = len * data[0] / 255;

    fuzz_run(&whole, in, len, 0, len ? len : 1);
    fuzz_run(&split, in, len, cut, len ? len : 1);
    fuzz_same(&whole, &split);
    fuzz_check_content(&whole);
    if (len <= 65536) {
        fuzz_run(&bytes, in, len, 0, 1);
        fuzz_same(&whole, &bytes);
        vbuf_free(bytes.out);
    }
    vbuf_free(whole.out);
    vbuf_free(split.out);
    return 0;
}
