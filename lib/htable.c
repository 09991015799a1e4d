/* Chained hash tables with string keys and a per-table random SipHash-2-4
 * key (the SipHash paper: Aumasson and Bernstein, 2012).  The table doubles
 * when it holds more entries than slots; it never shrinks. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "htable.h"
#include "msg.h"
#include "mymalloc.h"
#include "printable.h"

struct HTABLE {
    HTABLE_ENTRY **slots;
    size_t size;                        /* a power of two */
    size_t used;
    uint64_t k0, k1;                    /* the SipHash key */
};

#define HTABLE_ROTL(x, b)   (((x) << (b)) | ((x) >> (64 - (b))))

#define HTABLE_SIPROUND(v0, v1, v2, v3) do { \
        v0 += v1; v1 = HTABLE_ROTL(v1, 13); v1 ^= v0; \
        v0 = HTABLE_ROTL(v0, 32); \
        v2 += v3; v3 = HTABLE_ROTL(v3, 16); v3 ^= v2; \
        v0 += v3; v3 = HTABLE_ROTL(v3, 21); v3 ^= v0; \
        v2 += v1; v1 = HTABLE_ROTL(v1, 17); v1 ^= v2; \
        v2 = HTABLE_ROTL(v2, 32); \
    } while (0)

static uint64_t
htable_hash(const HTABLE *table, const char *key, size_t len)
{
    const unsigned char *p = (const unsigned char *) key;
    uint64_t v0 = table->k0 ^ 0x736f6d6570736575ULL;
    uint64_t v1 = table->k1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = table->k0 ^ 0x6c7967656e657261ULL;
    uint64_t v3 = table->k1 ^ 0x7465646279746573ULL;
    uint64_t m, last = (uint64_t) len << 56;
    size_t i, full = len - len % 8;
    int j;

    for (i = 0; i < full; i += 8) {
        m = 0;
        for (j = 7; j >= 0; j--)
            m = (m << 8) | p[i + j];
        v3 ^= m;
        HTABLE_SIPROUND(v0, v1, v2, v3);
        HTABLE_SIPROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    for (j = (int) (len % 8) - 1; j >= 0; j--)
        last |= (uint64_t) p[full + j] << (8 * j);
    v3 ^= last;
    HTABLE_SIPROUND(v0, v1, v2, v3);
    HTABLE_SIPROUND(v0, v1, v2, v3);
    v0 ^= last;
    v2 ^= 0xff;
    for (j = 0; j < 4; j++)
        HTABLE_SIPROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

HTABLE *
htable_create(size_t size)
{
    HTABLE *table = mymalloc(sizeof(*table));
    uint64_t key[2];

    table->size = 16;
    while (table->size < size)
        table->size *= 2;
    table->slots = mycalloc(table->size, sizeof(*table->slots));
    table->used = 0;
    if (getrandom(key, sizeof(key), GRND_NONBLOCK) != (ssize_t) sizeof(key)) {
        /* Early at boot: unpredictable enough for a hash key. */
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        key[0] = (uint64_t) ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t) getpid();
        key[1] = (uint64_t) ts.tv_sec ^ (uint64_t) (uintptr_t) table;
    }
    table->k0 = key[0];
    table->k1 = key[1];
    return table;
}

HTABLE *
htable_free(HTABLE *table, void (*free_fn)(void *value))
{
    HTABLE_ENTRY *entry, *next;
    size_t i;

    if (table == NULL)
        return NULL;
    for (i = 0; i < table->size; i++) {
        for (entry = table->slots[i]; entry; entry = next) {
            next = entry->next;
            if (free_fn)
                free_fn(entry->value);
            myfree(entry->key);
            myfree(entry);
        }
    }
    myfree(table->slots);
    myfree(table);
    return NULL;
}

HTABLE_ENTRY *
htable_locate(const HTABLE *table, const char *key)
{
    size_t len = strlen(key);
    uint64_t hash = htable_hash(table, key, len);
    HTABLE_ENTRY *entry;

    for (entry = table->slots[hash & (table->size - 1)]; entry;
         entry = entry->next)
        if (entry->hash == hash && strcmp(entry->key, key) == 0)
            return entry;
    return NULL;
}

void *
htable_find(const HTABLE *table, const char *key)
{
    HTABLE_ENTRY *entry = htable_locate(table, key);

    return entry ? entry->value : NULL;
}

static void
htable_grow(HTABLE *table)
{
    size_t new_size = table->size * 2;
    HTABLE_ENTRY **slots = mycalloc(new_size, sizeof(*slots));
    HTABLE_ENTRY *entry, *next;
    size_t i;

    for (i = 0; i < table->size; i++) {
        for (entry = table->slots[i]; entry; entry = next) {
            next = entry->next;
            entry->next = slots[entry->hash & (new_size - 1)];
            slots[entry->hash & (new_size - 1)] = entry;
        }
    }
    myfree(table->slots);
    table->slots = slots;
    table->size = new_size;
}

HTABLE_ENTRY *
htable_enter(HTABLE *table, const char *key, void *value)
{
    size_t len = strlen(key);
    HTABLE_ENTRY *entry;

    if (htable_locate(table, key) != NULL)
        msg_panic("htable_enter: duplicate key \"%s\"", printable_str(key));
    if (table->used >= table->size)
        htable_grow(table);
    entry = mymalloc(sizeof(*entry));
    entry->key = mymemdup(key, len + 1);
    entry->value = value;
    entry->hash = htable_hash(table, key, len);
    entry->next = table->slots[entry->hash & (table->size - 1)];
    table->slots[entry->hash & (table->size - 1)] = entry;
    table->used++;
    return entry;
}

void *
htable_delete(HTABLE *table, const char *key)
{
    uint64_t hash = htable_hash(table, key, strlen(key));
    HTABLE_ENTRY **pp, *entry;
    void *value;

    for (pp = &table->slots[hash & (table->size - 1)]; (entry = *pp) != NULL;
         pp = &entry->next) {
        if (entry->hash == hash && strcmp(entry->key, key) == 0) {
            *pp = entry->next;
            value = entry->value;
            myfree(entry->key);
            myfree(entry);
            table->used--;
            return value;
        }
    }
    return NULL;
}

size_t
htable_used(const HTABLE *table)
{
    return table->used;
}

size_t
htable_slots(const HTABLE *table)
{
    return table->size;
}

void
htable_walk(const HTABLE *table,
            void (*fn)(const HTABLE_ENTRY *entry, void *context),
            void *context)
{
    HTABLE_ENTRY *entry;
    size_t i;

    for (i = 0; i < table->size; i++)
        for (entry = table->slots[i]; entry; entry = entry->next)
            fn(entry, context);
}

size_t
htable_sweep(HTABLE *table, size_t *cursor, size_t slots,
             int (*fn)(HTABLE_ENTRY *entry, void *context), void *context)
{
    HTABLE_ENTRY **pp, *entry;
    size_t visited = 0, n;

    if (slots > table->size)
        slots = table->size;
    for (n = 0; n < slots; n++) {
        if (*cursor >= table->size)
            *cursor = 0;
        pp = &table->slots[*cursor];
        while ((entry = *pp) != NULL) {
            visited++;
            if (fn(entry, context)) {
                *pp = entry->next;
                myfree(entry->key);
                myfree(entry);
                table->used--;
            } else {
                pp = &entry->next;
            }
        }
        ++*cursor;
    }
    return visited;
}
