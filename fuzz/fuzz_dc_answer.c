/* libFuzzer target for what dnscache reads beyond c-ares: the DNS replies
 * it parses itself for their TTLs (dc_answer_parse(), for PTR, A, AAAA and
 * TXT), the records of its cache file (dc_cache_decode()), and the path
 * between them: PTR names through dc_name_valid() into a cache entry, A
 * answers into a blocklist zone's entry.
 *
 * The whole input is read as a reply for each type, and as a stored
 * record.  Checked, besides no crash and no leak: a refused reply leaves
 * no items and says temporary; an accepted one has a status that agrees
 * with its count, at most DC_RESOLVE_MAX_ANSWERS items, a TTL in 0 ..
 * 2^31-1, A and AAAA items that read back as addresses, items without
 * control bytes where the type promises it; bytes after an accepted reply
 * change nothing; a valid name holds only letters, digits, '-' and '.';
 * an entry built from the answers, or decoded from the input, encodes and
 * decodes back to itself. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnscache/dc_cache.h"
#include "dnscache/dc_fcrdns.h"
#include "dnscache/dc_resolve.h"
#include "msg.h"
#include "mymalloc.h"
#include "vbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT  65535           /* a DNS message over TCP */

#define fuzz_check(ok) do { \
        if (!(ok)) { \
            fprintf(stderr, "fuzz_dc_answer: line %d: %s\n", __LINE__, #ok); \
            abort(); \
        } \
    } while (0)

static const int fuzz_types[] = {
    DC_RESOLVE_PTR, DC_RESOLVE_A, DC_RESOLVE_AAAA, DC_RESOLVE_TXT,
};

static int
fuzz_same_entry(const DC_ENTRY *a, const DC_ENTRY *b)
{
    return a->result == b->result && a->expires == b->expires
        && a->lifetime == b->lifetime
        && strcmp(a->ptr, b->ptr) == 0
        && strcmp(a->unverified, b->unverified) == 0
        && strcmp(a->name, b->name) == 0;
}

/* e encodes to a record that decodes back to e. */
static void
fuzz_round_trip(const DC_ENTRY *e)
{
    VBUF *buf = vbuf_create(200);
    DC_ENTRY d;

    dc_cache_encode(buf, e);
    fuzz_check(dc_cache_decode(&d, vbuf_str(buf), vbuf_len(buf)) == 0);
    fuzz_check(fuzz_same_entry(e, &d));
    vbuf_free(buf);
}

/* dc_name_valid() against its promise. */
static void
fuzz_check_name(const char *name)
{
    const char *cp;

    if (!dc_name_valid(name))
        return;
    fuzz_check(strlen(name) >= 1 && strlen(name) <= DC_NAME_MAX + 1);
    for (cp = name; *cp; cp++)
        fuzz_check(isascii((unsigned char) *cp)
                   && (isalnum((unsigned char) *cp) || *cp == '-'
                       || *cp == '.'));
    fuzz_check(name[0] != '.' && strstr(name, "..") == NULL);
}

/* What dnscache does with an answer: PTR names into the entry of the
 * address, A answers into a blocklist zone's entry. */
static void
fuzz_entry_from(const DC_ANSWER *answer, int type)
{
    DC_ENTRY e;
    int i;

    memset(&e, 0, sizeof(e));
    e.result = answer->status == DC_RESOLVE_OK ? DC_RESULT_OK
        : answer->status == DC_RESOLVE_NONE ? DC_RESULT_NONE
        : DC_RESULT_TEMP;
    e.expires = 1700000000LL + answer->ttl;
    for (i = 0; i < answer->count; i++) {
        const char *item = answer->items[i];

        if (type == DC_RESOLVE_PTR) {
            fuzz_check_name(item);
            if (!dc_name_valid(item))
                continue;
            if (e.name[0] == 0 && strlen(item) < sizeof(e.name))
                strcpy(e.name, item);
            else if (e.unverified[0] == 0 && strlen(item) < sizeof(e.unverified))
                strcpy(e.unverified, item);
        } else if (type != DC_RESOLVE_A) {
            return;
        }
        if (strlen(e.ptr) + strlen(item) + 2 > sizeof(e.ptr))
            break;
        if (e.ptr[0])
            strcat(e.ptr, ",");
        strcat(e.ptr, item);
    }
    fuzz_round_trip(&e);
}

static void
fuzz_check_answer(const DC_ANSWER *answer, int type)
{
    unsigned char bin[16];
    int i;

    fuzz_check(answer->count >= 0 && answer->count <= DC_RESOLVE_MAX_ANSWERS);
    fuzz_check((answer->status == DC_RESOLVE_OK) == (answer->count > 0));
    fuzz_check(answer->status == DC_RESOLVE_OK
               || answer->status == DC_RESOLVE_NONE);
    fuzz_check(answer->ttl >= 0 && answer->ttl <= 0x7fffffffLL);
    for (i = 0; i < answer->count; i++) {
        const char *item = answer->items[i];

        fuzz_check(item != NULL);
        switch (type) {
        case DC_RESOLVE_A:
            fuzz_check(inet_pton(AF_INET, item, bin) == 1);
            break;
        case DC_RESOLVE_AAAA:
            fuzz_check(inet_pton(AF_INET6, item, bin) == 1);
            break;
        case DC_RESOLVE_PTR:
            fuzz_check(strlen(item) < 1024);
            break;
        }
    }
}

static int
fuzz_same_answer(const DC_ANSWER *a, const DC_ANSWER *b)
{
    int i;

    if (a->status != b->status || a->count != b->count || a->ttl != b->ttl)
        return 0;
    for (i = 0; i < a->count; i++)
        if (strcmp(a->items[i], b->items[i]) != 0)
            return 0;
    return 1;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    msg_init("fuzz_dc_answer");
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    DC_ANSWER answer, longer;
    DC_ENTRY e;
    unsigned char *copy;
    size_t t;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    for (t = 0; t < sizeof(fuzz_types) / sizeof(fuzz_types[0]); t++) {
        int type = fuzz_types[t];

        if (dc_answer_parse(data, (int) size, type, &answer) < 0) {
            fuzz_check(answer.count == 0 && answer.status == DC_RESOLVE_TEMP);
            continue;
        }
        fuzz_check_answer(&answer, type);
        fuzz_entry_from(&answer, type);
        /* Bytes after the reply are not read. */
        copy = mymalloc(size + 3);
        memcpy(copy, data, size);
        memcpy(copy + size, "\xc0\x0c\x00", 3);
        fuzz_check(dc_answer_parse(copy, (int) size + 3, type, &longer) == 0);
        fuzz_check(fuzz_same_answer(&answer, &longer));
        dc_answer_clear(&longer);
        myfree(copy);
        dc_answer_clear(&answer);
        fuzz_check(answer.count == 0);
    }
    /* The input as a record of the cache file. */
    if (dc_cache_decode(&e, (const char *) data, size) == 0) {
        fuzz_check(e.result >= DC_RESULT_OK && e.result <= DC_RESULT_TEMP);
        fuzz_check(e.expires >= 0);
        fuzz_check(e.lifetime >= 0);
        fuzz_round_trip(&e);
    }
    return 0;
}
