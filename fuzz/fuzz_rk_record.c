/* libFuzzer target for ratekeeper's stored records (rk_window_decode()):
 * the values of the rate database, read back at every start, and so file
 * input that a damaged or foreign database can make anything.
 *
 * The input is a record followed by 8 bytes of a time.  A record that
 * decodes must encode back to the same bytes; then the window, at that
 * time and around it, must count, expire, take more events (also in a
 * different window) and encode and decode again, without overflow (UBSan)
 * and with its invariants kept: at most 61 buckets, oldest first, none
 * empty, and a count that does not grow as time passes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "ratekeeper/rk_window.h"
#include "vbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_TIME_SPAN  (1LL << 50)     /* ms: times stay well in range */
#define FUZZ_TIME_MAX   (1LL << 52)     /* rk_window.c's range */

#define fuzz_check(ok) do { \
        if (!(ok)) { \
            fprintf(stderr, "fuzz_rk_record: line %d: %s\n", __LINE__, #ok); \
            abort(); \
        } \
    } while (0)

static void
fuzz_invariants(const RK_WINDOW *w)
{
    int i;

    fuzz_check(w->nbuckets >= 0 && w->nbuckets <= RK_WINDOW_BUCKETS + 1);
    fuzz_check(w->nbuckets <= w->cap || w->nbuckets == 0);
    for (i = 0; i < w->nbuckets; i++) {
        fuzz_check(w->buckets[i].count > 0);
        fuzz_check(i == 0 || w->buckets[i].id > w->buckets[i - 1].id);
    }
}

/* Encodes and decodes w: the same window comes back. */
static void
fuzz_round_trip(const RK_WINDOW *w)
{
    VBUF *buf = vbuf_create(RK_WINDOW_RECORD_MAX);
    RK_WINDOW d;
    int i;

    rk_window_init(&d);
    rk_window_encode(w, buf);
    fuzz_check(vbuf_len(buf) <= RK_WINDOW_RECORD_MAX);
    fuzz_check(rk_window_decode(&d, vbuf_str(buf), vbuf_len(buf)) == 0);
    fuzz_check(d.window_ms == w->window_ms && d.nbuckets == w->nbuckets);
    for (i = 0; i < w->nbuckets; i++)
        fuzz_check(d.buckets[i].id == w->buckets[i].id
                   && d.buckets[i].count == w->buckets[i].count);
    rk_window_clear(&d);
    vbuf_free(buf);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    msg_init("fuzz_rk_record");
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    VBUF *buf = vbuf_create(RK_WINDOW_RECORD_MAX);
    RK_WINDOW w;
    long long now = 1700000000000LL;
    unsigned long before, after;
    long long clear;
    size_t len = size;
    int i;

    if (size >= 8) {
        uint64_t t = 0;

        len = size - 8;
        for (i = 0; i < 8; i++)
            t = t << 8 | data[len + i];
        now = (long long) (t % (2 * FUZZ_TIME_SPAN)) - FUZZ_TIME_SPAN;
    }
    rk_window_init(&w);
    if (rk_window_decode(&w, data, len) < 0) {
        fuzz_check(w.nbuckets == 0 && w.buckets == NULL);
        vbuf_free(buf);
        return 0;
    }
    fuzz_invariants(&w);
    rk_window_encode(&w, buf);
    fuzz_check(vbuf_len(buf) == len && memcmp(vbuf_str(buf), data, len) == 0);

    /* What ratekeeper does with a loaded record. */
    before = rk_window_count(&w, now);
    after = rk_window_count(&w, now + w.window_ms / 2);
    fuzz_check(after <= before);
    if (rk_window_expired(&w, now))
        fuzz_check(before == 0);
    clear = rk_window_clear_time(&w);
    if (clear >= -FUZZ_TIME_MAX && clear <= FUZZ_TIME_MAX)
        fuzz_check(rk_window_count(&w, clear) == 0);
    rk_window_add(&w, now, w.window_ms, 1);
    fuzz_invariants(&w);
    fuzz_check(rk_window_count(&w, now) >= 1);
    /* The window of sender_rate_window changed in the meantime. */
    rk_window_add(&w, now + 1000, w.window_ms > 1000 ? w.window_ms / 3 : RK_WINDOW_MAX_MS, 2);
    fuzz_invariants(&w);
    fuzz_round_trip(&w);

    rk_window_clear(&w);
    vbuf_free(buf);
    return 0;
}
