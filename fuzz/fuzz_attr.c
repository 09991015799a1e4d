/* libFuzzer target for attr_parse(), the parser of every local socket.
 *
 * The input is parsed as a stream of messages twice: all at once, and fed
 * in chunks whose sizes come from the input itself, as a socket would
 * deliver it. Both must give the same messages and end the same way (with
 * the same reason), a partial message must never be held beyond
 * ATTR_MESSAGE_MAX, and every parsed message must print and parse back to
 * itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"

typedef struct FUZZ_RESULT {
    VBUF *messages;                     /* every message parsed, printed */
    VBUF *why;                          /* the reason, when status is -1 */
    int status;                         /* how the stream ended: 0 or -1 */
} FUZZ_RESULT;

static void
fuzz_check(int ok)
{
    if (!ok)
        abort();
}

/* Prints a parsed message, checking that it parses back unchanged. */
static void
fuzz_record(FUZZ_RESULT *r, const ATTR *a)
{
    VBUF *once = vbuf_create(100), *twice = vbuf_create(100);
    ATTR *copy = attr_create();
    size_t used;

    attr_print(once, a);
    fuzz_check(vbuf_len(once) <= ATTR_MESSAGE_MAX);
    fuzz_check(attr_parse(copy, vbuf_str(once), vbuf_len(once), &used,
                          NULL) == 1);
    fuzz_check(used == vbuf_len(once));
    attr_print(twice, copy);
    fuzz_check(strcmp(vbuf_str(once), vbuf_str(twice)) == 0);
    vbuf_append(r->messages, vbuf_str(once), vbuf_len(once));
    vbuf_free(once);
    vbuf_free(twice);
    attr_free(copy);
}

static void
fuzz_whole(const uint8_t *data, size_t size, FUZZ_RESULT *r, ATTR *a)
{
    size_t off = 0, used;

    while ((r->status = attr_parse(a, (const char *) data + off, size - off,
                                   &used, r->why)) == 1) {
        fuzz_check(used > 0 && used <= size - off);
        fuzz_record(r, a);
        off += used;
    }
    fuzz_check(r->status == 0 || r->status == -1);
    if (r->status == 0)
        fuzz_check(size - off <= ATTR_MESSAGE_MAX);
}

static void
fuzz_split(const uint8_t *data, size_t size, FUZZ_RESULT *r, ATTR *a)
{
    VBUF *buf = vbuf_create(100);
    size_t fed = 0, chunk, used, k = 0;

    r->status = 0;
    while (fed < size && r->status == 0) {
        chunk = 1 + data[k++ % size];
        if (chunk > size - fed)
            chunk = size - fed;
        vbuf_append(buf, data + fed, chunk);
        fed += chunk;
        while ((r->status = attr_parse(a, vbuf_str(buf), vbuf_len(buf),
                                       &used, r->why)) == 1) {
            fuzz_record(r, a);
            vbuf_consume(buf, used);
        }
        if (r->status == 0)
            fuzz_check(vbuf_len(buf) <= ATTR_MESSAGE_MAX);
    }
    vbuf_free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FUZZ_RESULT whole, split;
    ATTR *a = attr_create();

    if (size == 0) {
        attr_free(a);
        return 0;
    }
    whole.messages = vbuf_create(100);
    whole.why = vbuf_create(100);
    split.messages = vbuf_create(100);
    split.why = vbuf_create(100);

    fuzz_whole(data, size, &whole, a);
    fuzz_split(data, size, &split, a);
    fuzz_check(whole.status == split.status);
    fuzz_check(vbuf_len(whole.messages) == vbuf_len(split.messages));
    fuzz_check(memcmp(vbuf_str(whole.messages), vbuf_str(split.messages),
                      vbuf_len(whole.messages)) == 0);
    if (whole.status < 0)
        fuzz_check(strcmp(vbuf_str(whole.why), vbuf_str(split.why)) == 0);

    vbuf_free(whole.messages);
    vbuf_free(whole.why);
    vbuf_free(split.messages);
    vbuf_free(split.why);
    attr_free(a);
    return 0;
}
