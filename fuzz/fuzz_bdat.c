/* Fuzz target for the BDAT reader: the "chunk-size [LAST]" parser and the
 * DATA scanner's raw mode for chunk content.
 *
 * Input: one byte that seeds the cuts and the size limit, the argument
 * of a BDAT command up to the first LF, then the message content. The
 * argument must parse to a count that prints and parses back the same,
 * or give the one syntax reply. The content is sent as one chunk, a byte
 * at a time, in chunks cut at random places (empty ones included), and
 * through the wire form "BDAT n" CR LF bytes ... "BDAT n LAST" read back
 * with the parser; all must agree on status, output and counters, the
 * output must be the content (or its prefix before an error or the
 * limit) and clean content must hold only CR LF line ends. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_bdat.h"
#include "smtp_data.h"
#include "vbuf.h"

typedef struct {
    int     status;
    VBUF   *out;
    uint64_t size;
    size_t  longest;
    unsigned received;
    int     over;
} RUN;

/* Next pseudo-random number: the cuts depend only on the seed byte. */
static uint32_t
fuzz_rand(uint32_t *state)
{
    *state = *state * 1103515245 + 12345;
    return *state >> 8;
}

static void
fuzz_run_init(RUN *r, SMTP_DATA *sd, size_t len, uint64_t limit)
{
    memset(r, 0, sizeof(*r));
    r->out = vbuf_create(len + 1);
    smtp_data_init_raw(sd, smtp_data_to_vbuf, r->out);
    smtp_data_set_limit(sd, limit);
}

static void
fuzz_run_done(RUN *r, SMTP_DATA *sd)
{
    int     status = smtp_data_finish(sd);
    size_t  used;

    if (r->status != SMTP_DATA_MORE && status != r->status)
        abort();
    if (status == SMTP_DATA_MORE || smtp_data_feed(sd, "x", 1, &used) != status
        || used != 0 || smtp_data_finish(sd) != status)
        abort();
    r->status = status;
    r->size = sd->size;
    r->longest = sd->longest_line;
    r->received = sd->received;
    r->over = (sd->flags & SMTP_DATA_FLAG_OVER) != 0;
}

/* One feed: the scanner takes all of a chunk, unless it stops. */
static void
fuzz_feed(RUN *r, SMTP_DATA *sd, const char *p, size_t n)
{
    size_t  used;
    int     status = smtp_data_feed(sd, p, n, &used);

    if (used > n || (status == SMTP_DATA_MORE && used != n)
        || status == SMTP_DATA_END)
        abort();
    if (r->status != SMTP_DATA_MORE && status != r->status)
        abort();
    r->status = status;
}

/* chunk 0: random cuts from the seed; otherwise chunk bytes at a time. */
static void
fuzz_run(RUN *r, const char *in, size_t len, size_t chunk, uint32_t seed,
         uint64_t limit)
{
    SMTP_DATA sd;
    size_t  off = 0, n;

    fuzz_run_init(r, &sd, len, limit);
    while (off < len) {
        n = chunk ? chunk : fuzz_rand(&seed) % 17;
        if (n > len - off)
            n = len - off;
        fuzz_feed(r, &sd, in + off, n);
        off += n;
    }
    fuzz_run_done(r, &sd);
}

/* Through the wire form, read back as smtpd would: the count from the
 * parsed command decides how many bytes are content. */
static void
fuzz_run_wire(RUN *r, const char *in, size_t len, uint32_t seed,
              uint64_t limit)
{
    VBUF   *w = vbuf_create(len + 64);
    SMTP_DATA sd;
    SMTP_ADDR_ERR err;
    char    cmd[64];
    const char *p, *end, *eol;
    size_t  off = 0, n;
    uint64_t count;
    int     last = 0;

    /* Spaces and the case of LAST vary too. */
    while (!last) {
        n = fuzz_rand(&seed) % 33;
        if (n >= len - off) {
            n = len - off;
            last = 1;
        }
        snprintf(cmd, sizeof(cmd), "BDAT %s%zu%s\r\n", (seed & 1) ? " " : "",
                 n, last ? ((seed & 2) ? " last" : " LAST") : "");
        vbuf_append_str(w, cmd);
        vbuf_append(w, in + off, n);
        off += n;
    }
    last = 0;

    fuzz_run_init(r, &sd, len, limit);
    p = w->data;
    end = w->data + w->len;
    while (!last) {
        eol = memchr(p, '\n', end - p);
        if (eol == 0 || eol - p < 6 || memcmp(p, "BDAT ", 5) != 0)
            abort();
        memcpy(cmd, p + 5, eol - 1 - (p + 5));
        cmd[eol - 1 - (p + 5)] = 0;
        if (smtp_bdat_parse(cmd, &count, &last, &err) < 0
            || count > (uint64_t) (end - eol - 1))
            abort();
        p = eol + 1;
        fuzz_feed(r, &sd, p, (size_t) count);
        p += count;
    }
    if (p != end)
        abort();
    fuzz_run_done(r, &sd);
    vbuf_free(w);
}

/* Over the limit, how much was stored before storing stopped depends on
 * the cuts (the message is refused anyway): the output is compared only
 * when it is all there. */
static void
fuzz_same(const RUN *a, const RUN *b)
{
    if (a->status != b->status || a->size != b->size
        || a->longest != b->longest || a->received != b->received
        || a->over != b->over)
        abort();
    if (!a->over && (a->out->len != b->out->len
                     || memcmp(a->out->data, b->out->data, a->out->len) != 0))
        abort();
}

/* What a run must have given for this content. */
static void
fuzz_check_content(const RUN *r, const char *in, size_t len, uint64_t limit)
{
    const char *s = r->out->data;
    size_t  i, n = r->out->len;

    if (memcmp(s, in, n) != 0 || r->size < n || r->size > len)
        abort();
    if (r->over != (limit && r->size > limit) || (r->over && n > limit))
        abort();
    if (r->status != SMTP_DATA_END)
        return;
    /* Every byte is content: nothing unstuffed, nothing ends it early. */
    if (r->size != len || (!r->over && n != len))
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

/* The argument: a count prints and parses back the same. */
static void
fuzz_check_arg(const char *arg)
{
    SMTP_ADDR_ERR err;
    uint64_t size, size2;
    int     last, last2;
    char    again[64];

    if (smtp_bdat_parse(arg, &size, &last, &err) < 0) {
        if (err.code != 501 || strcmp(err.status, "5.5.4") != 0
            || strcmp(err.text, "Syntax: BDAT count [LAST]") != 0)
            abort();
        return;
    }
    if (last != 0 && last != 1)
        abort();
    snprintf(again, sizeof(again), "%" PRIu64 "%s", size, last ? " LAST" : "");
    if (smtp_bdat_parse(again, &size2, &last2, &err) < 0
        || size2 != size || last2 != last)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in, *nl;
    char   *arg;
    size_t  len;
    uint32_t seed;
    uint64_t limit;
    RUN     whole, run;

    if (size == 0)
        return 0;
    seed = data[0];
    in = (const char *) data + 1;
    len = size - 1;
    nl = memchr(in, '\n', len);

    /* The argument: up to the LF, and the whole input too. */
    arg = malloc(len + 1);
    memcpy(arg, in, nl ? (size_t) (nl - in) : len);
    arg[nl ? (size_t) (nl - in) : len] = 0;
    fuzz_check_arg(arg);
    free(arg);
    if (nl) {
        len -= nl + 1 - in;
        in = nl + 1;
    }

    /* The content: a limit somewhere in it, or none. */
    limit = (seed & 0x80) ? len * (seed & 0x7f) / 127 : 0;
    fuzz_run(&whole, in, len, len ? len : 1, seed, limit);
    fuzz_check_content(&whole, in, len, limit);
    fuzz_run(&run, in, len, 0, seed, limit);
    fuzz_same(&whole, &run);
    vbuf_free(run.out);
    if (len <= 65536) {
        fuzz_run(&run, in, len, 1, seed, limit);
        fuzz_same(&whole, &run);
        vbuf_free(run.out);
    }
    fuzz_run_wire(&run, in, len, seed, limit);
    fuzz_same(&whole, &run);
    vbuf_free(run.out);
    vbuf_free(whole.out);
    return 0;
}
