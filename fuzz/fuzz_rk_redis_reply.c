/* libFuzzer target for what ratekeeper reads out of Redis' replies past
 * hiredis (ratekeeper/rk_redis_reply.c): the input is a stream of
 * replies in Redis' own protocol (RESP), turned into redisReply trees by
 * hiredis' reader as the asynchronous connection does, and each tree is
 * given to every reader of rk_redis_reply.h, as any reply could come to
 * any command from a confused or hostile server.
 *
 * Checked besides not crashing: show gives at most what it was asked,
 * only non-zero counts, connections without a window and windows in
 * range; a SCAN's names are as many as it says, each a NUL-terminated
 * string; a parsed key name has a known counter and a canonical key, and
 * its name is rebuilt exactly from them; a master's port is a port and
 * its host printable. */
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "ratekeeper/rk_redis_reply.h"
#include "rk_clnt.h"
#include "rk_key.h"

#define FUZZ_PREFIX     "alligate:"

#define fuzz_check(ok) do { \
        if (!(ok)) { \
            fprintf(stderr, "fuzz_rk_redis_reply: line %d: %s\n", __LINE__, #ok); \
            abort(); \
        } \
    } while (0)

static void
fuzz_check_entry(const RK_STATE_ENTRY *e)
{
    fuzz_check(e->count > 0);
    if (strcmp(e->counter, RK_COUNTER_CONNECTIONS) == 0) {
        fuzz_check(e->window_ms == 0);
    } else {
        fuzz_check(rk_state_counter_known(e->counter));
        fuzz_check(e->window_ms >= 1 && e->window_ms <= RK_WINDOW_MAX_MS);
        fuzz_check(e->clear_ms >= 1);
    }
}

static void
fuzz_names(const redisReply *r)
{
    VBUF *names = vbuf_create(64), *key = vbuf_create(64), *again = vbuf_create(64);
    unsigned long long cursor;
    const char *name, *end;
    char counter[32];
    RK_STATE_ENTRY e;
    int n, seen = 0, i;

    if (rk_redis_reply_scan(r, &cursor, names, &n) == 0) {
        end = vbuf_str(names) + vbuf_len(names);
        for (name = vbuf_str(names); name < end; name += strlen(name) + 1) {
            seen++;
            if (rk_redis_key_parse(FUZZ_PREFIX, name, strlen(name), counter,
                                   sizeof(counter), key) < 0)
                continue;
            fuzz_check(strcmp(counter, RK_COUNTER_CONNECTIONS) == 0
                       || rk_state_counter_known(counter));
            vbuf_set(again, FUZZ_PREFIX);
            if (strcmp(counter, RK_COUNTER_CONNECTIONS) == 0) {
                vbuf_append_str(again, "c:");
            } else {
                vbuf_append_str(again, "w:");
                vbuf_append_str(again, counter);
                vbuf_append_char(again, ':');
            }
            vbuf_append_str(again, vbuf_str(key));
            fuzz_check(strcmp(vbuf_str(again), name) == 0);
        }
        fuzz_check(seen == n);
    }
    /* The same names read as COUNTS' results for a batch of n. */
    for (n = 1; n <= 4; n++) {
        for (i = 0; i < n; i++) {
            memset(&e, 0, sizeof(e));
            snprintf(e.counter, sizeof(e.counter), "%s",
                     i % 2 ? RK_COUNTER_CONNECTIONS : RK_COUNTER_MAIL);
            snprintf(e.key, sizeof(e.key), "addr:192.0.2.1");
            if (rk_redis_reply_counts_entry(r, i, n, &e) == 0 && e.count > 0)
                fuzz_check_entry(&e);
        }
    }
    vbuf_free(names);
    vbuf_free(key);
    vbuf_free(again);
}

static void
fuzz_one(const redisReply *r)
{
    RK_STATE_ENTRY entries[8];
    unsigned long count;
    char host[256];
    long keys;
    int other, port, n, i;

    (void) rk_redis_reply_error(r);
    if (rk_redis_reply_count(r, &count) == 0)
        fuzz_check(count <= RK_REDIS_REPLY_COUNT_MAX);
    for (int max = 0; max <= 5; max += 5) {
        n = rk_redis_reply_show(r, "addr:192.0.2.1", entries, max);
        fuzz_check(n <= max);
        for (i = 0; i < n; i++) {
            fuzz_check_entry(&entries[i]);
            fuzz_check(strcmp(entries[i].key, "addr:192.0.2.1") == 0);
        }
    }
    /* OPS' results for a batch of n. */
    for (n = 1; n <= 4; n++)
        for (i = 0; i < n; i++) {
            const redisReply *e = rk_redis_reply_ops_element(r, i, n);

            if (e && rk_redis_reply_count(e, &count) == 0)
                fuzz_check(count <= RK_REDIS_REPLY_COUNT_MAX);
        }
    if (rk_redis_reply_sync(r, &keys, &other) == 0)
        fuzz_check(keys >= 0 && (other == 0 || other == 1));
    fuzz_names(r);
    i = rk_redis_reply_role(r);
    fuzz_check(i >= -1 && i <= 1);
    if (rk_redis_reply_master(r, host, sizeof(host), &port) == 0) {
        fuzz_check(port >= 1 && port <= 65535);
        fuzz_check(host[0] != 0 && strlen(host) < sizeof(host));
    }
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    msg_init("fuzz_rk_redis_reply");
    msg_open("/dev/null");
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    redisReader *reader = redisReaderCreate();
    void *reply;
    int n = 0;

    if (reader == NULL)
        return 0;
    /* As ratekeeper's connections: no array larger than believable. */
    rk_redis_reply_limit(reader);
    if (redisReaderFeed(reader, (const char *) data, size) == REDIS_OK) {
        while (n++ < 64 && redisReaderGetReply(reader, &reply) == REDIS_OK
               && reply != NULL) {
            fuzz_one(reply);
            freeReplyObject(reply);
        }
    }
    redisReaderFree(reader);
    return 0;
}
