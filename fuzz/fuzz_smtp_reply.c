/* Fuzz target for the SMTP reply parser: the input is a stream of replies
 * as a backend might send them. Parsing it whole, a byte at a time, and
 * cut where the first byte says must give the same replies; memory stays
 * within the parser's limits; a complete reply has a valid code and a
 * printable one-line form. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_reply.h"
#include "vbuf.h"

#define FUZZ_REPLIES_MAX 64

typedef struct {
    int     status[FUZZ_REPLIES_MAX];
    int     code[FUZZ_REPLIES_MAX];
    size_t  used[FUZZ_REPLIES_MAX];
    VBUF   *text[FUZZ_REPLIES_MAX];
    int     count;
} RUN;

/* Parses consecutive replies, feeding at most chunk bytes per call (the
 * first call gets cut bytes when cut > 0). */
static void
fuzz_run(RUN *run, const char *in, size_t len, size_t cut, size_t chunk)
{
    SMTP_REPLY *r = smtp_reply_create();
    VBUF *line = vbuf_create(100);
    size_t off = 0, n, used, total;
    int status;

    run->count = 0;
    while (off < len && run->count < FUZZ_REPLIES_MAX) {
        smtp_reply_reset(r);
        status = SMTP_REPLY_MORE;
        total = 0;
        while (off < len && status == SMTP_REPLY_MORE) {
            n = (off == 0 && cut > 0) ? cut : chunk;
            if (n > len - off)
                n = len - off;
            status = smtp_reply_feed(r, in + off, n, &used);
            if (used > n || (status == SMTP_REPLY_MORE && used != n))
                abort();
            off += used;
            total += used;
        }
        if (vbuf_len(r->text) > SMTP_REPLY_TEXT_MAX || r->lines > SMTP_REPLY_LINES_MAX + 1)
            abort();
        run->status[run->count] = status;
        run->code[run->count] = status == SMTP_REPLY_DONE ? r->code : 0;
        run->used[run->count] = total;
        run->text[run->count] = vbuf_create(vbuf_len(r->text) + 1);
        if (status == SMTP_REPLY_DONE) {
            if (r->code < 200 || r->code > 599)
                abort();
            vbuf_append(run->text[run->count], vbuf_str(r->text), vbuf_len(r->text));
            vbuf_reset(line);
            smtp_reply_format(r, line, 512);
            if (vbuf_len(line) > 512 || memchr(vbuf_str(line), '\n', vbuf_len(line)))
                abort();
        }
        run->count++;
        if (status != SMTP_REPLY_DONE)
            break;
    }
    vbuf_free(line);
    smtp_reply_free(r);
}

static void
fuzz_free(RUN *run)
{
    int i;

    for (i = 0; i < run->count; i++)
        vbuf_free(run->text[i]);
}

static void
fuzz_same(const RUN *a, const RUN *b)
{
    int i;

    if (a->count != b->count)
        abort();
    for (i = 0; i < a->count; i++) {
        if (a->status[i] != b->status[i] || a->code[i] != b->code[i]
            || a->used[i] != b->used[i] || a->text[i]->len != b->text[i]->len
            || memcmp(a->text[i]->data, b->text[i]->data, a->text[i]->len) != 0)
            abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    RUN whole, bytes, cut;
    const char *in;
    size_t len;

    if (size < 1)
        return 0;
    in = (const char *) data + 1;
    len = size - 1;
    fuzz_run(&whole, in, len, 0, len ? len : 1);
    fuzz_run(&bytes, in, len, 0, 1);
    fuzz_run(&cut, in, len, data[0] % (len + 1), 7);
    fuzz_same(&whole, &bytes);
    fuzz_same(&whole, &cut);
    fuzz_free(&whole);
    fuzz_free(&bytes);
    fuzz_free(&cut);
    return 0;
}
