/* The tarpit's timer heap (tp_heap.h): an array heap of (due, order, id)
 * and, per id, its index in the array. */
#include <stdint.h>
#include <string.h>

#include "msg.h"
#include "mymalloc.h"
#include "tp_heap.h"

#define TP_HEAP_ABSENT  UINT32_MAX      /* in pos[]: not in the heap */

typedef struct TP_HEAP_ENTRY {
    long long due;
    unsigned long long order;           /* insertion order breaks ties */
    unsigned id;
} TP_HEAP_ENTRY;

struct TP_HEAP {
    TP_HEAP_ENTRY *entries;
    size_t len;
    size_t cap;
    uint32_t *pos;                      /* by id */
    size_t pos_cap;
    unsigned long long next_order;
};

TP_HEAP *
tp_heap_create(void)
{
    TP_HEAP *heap = mymalloc(sizeof(*heap));

    memset(heap, 0, sizeof(*heap));
    return heap;
}

TP_HEAP *
tp_heap_free(TP_HEAP *heap)
{
    if (heap) {
        myfree(heap->entries);
        myfree(heap->pos);
        myfree(heap);
    }
    return NULL;
}

size_t
tp_heap_count(const TP_HEAP *heap)
{
    return heap->len;
}

static int
tp_heap_before(const TP_HEAP_ENTRY *a, const TP_HEAP_ENTRY *b)
{
    return a->due < b->due || (a->due == b->due && a->order < b->order);
}

/* Puts e at index i and notes where it is. */
static void
tp_heap_place(TP_HEAP *heap, size_t i, const TP_HEAP_ENTRY *e)
{
    heap->entries[i] = *e;
    heap->pos[e->id] = (uint32_t) i;
}

static void
tp_heap_up(TP_HEAP *heap, size_t i)
{
    TP_HEAP_ENTRY e = heap->entries[i];
    size_t parent;

    while (i > 0) {
        parent = (i - 1) / 2;
        if (!tp_heap_before(&e, heap->entries + parent))
            break;
        tp_heap_place(heap, i, heap->entries + parent);
        i = parent;
    }
    tp_heap_place(heap, i, &e);
}

static void
tp_heap_down(TP_HEAP *heap, size_t i)
{
    TP_HEAP_ENTRY e = heap->entries[i];
    size_t child;

    for (;;) {
        child = 2 * i + 1;
        if (child >= heap->len)
            break;
        if (child + 1 < heap->len
            && tp_heap_before(heap->entries + child + 1, heap->entries + child))
            child++;
        if (!tp_heap_before(heap->entries + child, &e))
            break;
        tp_heap_place(heap, i, heap->entries + child);
        i = child;
    }
    tp_heap_place(heap, i, &e);
}

void
tp_heap_insert(TP_HEAP *heap, unsigned id, long long due)
{
    TP_HEAP_ENTRY e;
    size_t cap;

    if (id >= TP_HEAP_ABSENT)
        msg_panic("tp_heap_insert: id %u out of range", id);
    if (id >= heap->pos_cap) {
        for (cap = heap->pos_cap ? heap->pos_cap : 64; cap <= id; cap *= 2)
             /* void */ ;
        heap->pos = myrealloc(heap->pos, cap * sizeof(*heap->pos));
        memset(heap->pos + heap->pos_cap, 0xff,
               (cap - heap->pos_cap) * sizeof(*heap->pos));
        heap->pos_cap = cap;
    }
    if (heap->pos[id] != TP_HEAP_ABSENT)
        msg_panic("tp_heap_insert: id %u is in the heap already", id);
    if (heap->len == heap->cap) {
        heap->cap = heap->cap ? heap->cap * 2 : 64;
        heap->entries = myrealloc(heap->entries,
                                  heap->cap * sizeof(*heap->entries));
    }
    e.due = due;
    e.order = heap->next_order++;
    e.id = id;
    heap->entries[heap->len] = e;
    heap->pos[id] = (uint32_t) heap->len;
    heap->len++;
    tp_heap_up(heap, heap->len - 1);
}

int
tp_heap_remove(TP_HEAP *heap, unsigned id)
{
    size_t i;

    if (id >= heap->pos_cap || heap->pos[id] == TP_HEAP_ABSENT)
        return -1;
    i = heap->pos[id];
    heap->pos[id] = TP_HEAP_ABSENT;
    heap->len--;
    if (i == heap->len)
        return 0;
    /* The last entry fills the hole, then finds its place either way. */
    tp_heap_place(heap, i, heap->entries + heap->len);
    if (i > 0 && tp_heap_before(heap->entries + i,
                                heap->entries + (i - 1) / 2))
        tp_heap_up(heap, i);
    else
        tp_heap_down(heap, i);
    return 0;
}

int
tp_heap_peek(const TP_HEAP *heap, unsigned *id, long long *due)
{
    if (heap->len == 0)
        return -1;
    *id = heap->entries[0].id;
    *due = heap->entries[0].due;
    return 0;
}
