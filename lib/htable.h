/* Hash tables with string keys, for in-memory state that peers name
 * (client addresses, senders): chained, growing, and hashed with a keyed
 * SipHash whose key is random per table, so that chosen keys cannot make
 * all entries share one chain.  htable_sweep() visits a table a few
 * slots at a time, for work that must not stall an event loop. */
#ifndef ALLIGATE_HTABLE_H
#define ALLIGATE_HTABLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct HTABLE_ENTRY {
    char *key;                          /* a copy owned by the table */
    void *value;                        /* owned by the caller */
    uint64_t hash;
    struct HTABLE_ENTRY *next;
} HTABLE_ENTRY;

typedef struct HTABLE HTABLE;

/* size: the expected number of entries (the table grows anyway). */
HTABLE *htable_create(size_t size);
/* Frees the table; free_fn (may be NULL) is called on every value. */
HTABLE *htable_free(HTABLE *table, void (*free_fn)(void *value));

HTABLE_ENTRY *htable_locate(const HTABLE *table, const char *key);
/* The value of key, or NULL when absent. */
void *htable_find(const HTABLE *table, const char *key);
/* Adds key (copied) with value; a key that is present is a panic. */
HTABLE_ENTRY *htable_enter(HTABLE *table, const char *key, void *value);
/* Removes key and returns its value (NULL when absent). */
void *htable_delete(HTABLE *table, const char *key);

size_t htable_used(const HTABLE *table);

/* Calls fn on every entry; fn must not add or remove entries. */
void htable_walk(const HTABLE *table,
                 void (*fn)(const HTABLE_ENTRY *entry, void *context),
                 void *context);

/* Visits the entries of the next `slots` slots from *cursor (wrapping at
 * the end, so that repeated calls go round the table forever) and moves
 * *cursor on.  fn may free the entry's value and return 1 to have the
 * entry removed; it must not otherwise change the table.  Returns the
 * number of entries visited. */
size_t htable_sweep(HTABLE *table, size_t *cursor, size_t slots,
                    int (*fn)(HTABLE_ENTRY *entry, void *context),
                    void *context);

/* Slots in the table now (for sizing sweeps). */
size_t htable_slots(const HTABLE *table);

#endif
