/* The hold table (tp_hold.h): chunks of slots, a free list of slots
 * given back, a doubly linked list in arrival order through the slot
 * numbers, the timer heap, and the shared strings. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "msg.h"
#include "mymalloc.h"
#include "tp_heap.h"
#include "tp_hold.h"
#include "tp_intern.h"

#define TP_HOLDS_CHUNK_BITS 10
#define TP_HOLDS_CHUNK      (1u << TP_HOLDS_CHUNK_BITS)     /* slots */
#define TP_HOLDS_NONE       UINT32_MAX

struct TP_HOLDS {
    TP_HOLD **chunks;
    size_t nchunks;
    unsigned used_slots;                /* slots ever handed out */
    unsigned free_list;                 /* through ->older */
    unsigned oldest;
    unsigned newest;
    size_t count;
    TP_HEAP *heap;
    TP_INTERN *strings;
};

TP_HOLDS *
tp_holds_create(void)
{
    TP_HOLDS *holds = mymalloc(sizeof(*holds));

    memset(holds, 0, sizeof(*holds));
    holds->free_list = holds->oldest = holds->newest = TP_HOLDS_NONE;
    holds->heap = tp_heap_create();
    holds->strings = tp_intern_create();
    return holds;
}

TP_HOLDS *
tp_holds_free(TP_HOLDS *holds)
{
    size_t i;

    if (holds) {
        for (i = 0; i < holds->nchunks; i++)
            myfree(holds->chunks[i]);
        myfree(holds->chunks);
        tp_heap_free(holds->heap);
        tp_intern_free(holds->strings);
        myfree(holds);
    }
    return NULL;
}

static TP_HOLD *
tp_holds_slot(const TP_HOLDS *holds, unsigned id)
{
    return holds->chunks[id >> TP_HOLDS_CHUNK_BITS]
        + (id & (TP_HOLDS_CHUNK - 1));
}

/* A slot for a new hold: a given-back one first, else the next unused,
 * in a new chunk when needed. */
static unsigned
tp_holds_new_slot(TP_HOLDS *holds)
{
    unsigned id;

    if ((id = holds->free_list) != TP_HOLDS_NONE) {
        holds->free_list = tp_holds_slot(holds, id)->older;
        return id;
    }
    if (holds->used_slots >= TP_HOLDS_NONE - 1)
        msg_panic("tp_holds: out of slots");
    id = holds->used_slots++;
    if ((id >> TP_HOLDS_CHUNK_BITS) >= holds->nchunks) {
        holds->chunks = myrealloc(holds->chunks, (holds->nchunks + 1)
                                  * sizeof(*holds->chunks));
        holds->chunks[holds->nchunks++] =
            mymalloc(TP_HOLDS_CHUNK * sizeof(TP_HOLD));
    }
    return id;
}

TP_HOLD *
tp_holds_add(TP_HOLDS *holds, int fd, const TARPIT_HOLD *msg, long long now)
{
    unsigned id = tp_holds_new_slot(holds);
    TP_HOLD *hold = tp_holds_slot(holds, id);

    memset(hold, 0, sizeof(*hold));
    hold->fd = fd;
    hold->id = id;
    hold->since = now;
    hold->due = now + msg->delay_ms;
    hold->name = tp_intern_get(holds->strings, msg->name);
    hold->rule = tp_intern_get(holds->strings, msg->rule);
    hold->command = tp_intern_get(holds->strings, msg->command);
    hold->reply = tp_intern_get(holds->strings, msg->reply);
    /* Longer than any numeric address: cut, never overrun. */
    snprintf(hold->addr, sizeof(hold->addr), "%.*s",
             (int) sizeof(hold->addr) - 1, msg->addr);

    hold->older = holds->newest;
    hold->newer = TP_HOLDS_NONE;
    if (holds->newest != TP_HOLDS_NONE)
        tp_holds_slot(holds, holds->newest)->newer = id;
    else
        holds->oldest = id;
    holds->newest = id;
    tp_heap_insert(holds->heap, id, hold->due);
    holds->count++;
    return hold;
}

void
tp_holds_remove(TP_HOLDS *holds, TP_HOLD *hold)
{
    unsigned id = hold->id;

    if (id >= holds->used_slots || tp_holds_slot(holds, id) != hold
        || tp_heap_remove(holds->heap, id) < 0)
        msg_panic("tp_holds_remove: not a held connection");
    if (hold->older != TP_HOLDS_NONE)
        tp_holds_slot(holds, hold->older)->newer = hold->newer;
    else
        holds->oldest = hold->newer;
    if (hold->newer != TP_HOLDS_NONE)
        tp_holds_slot(holds, hold->newer)->older = hold->older;
    else
        holds->newest = hold->older;
    tp_intern_put(holds->strings, hold->name);
    tp_intern_put(holds->strings, hold->rule);
    tp_intern_put(holds->strings, hold->command);
    tp_intern_put(holds->strings, hold->reply);
    memset(hold, 0, sizeof(*hold));
    hold->fd = -1;
    hold->id = id;
    hold->older = holds->free_list;
    holds->free_list = id;
    holds->count--;
}

TP_HOLD *
tp_holds_due(const TP_HOLDS *holds, long long now)
{
    unsigned id;
    long long due;

    if (tp_heap_peek(holds->heap, &id, &due) < 0 || due > now)
        return NULL;
    return tp_holds_slot(holds, id);
}

long long
tp_holds_next_due(const TP_HOLDS *holds)
{
    unsigned id;
    long long due;

    return tp_heap_peek(holds->heap, &id, &due) < 0 ? -1 : due;
}

TP_HOLD *
tp_holds_oldest(const TP_HOLDS *holds)
{
    return holds->oldest == TP_HOLDS_NONE ? NULL
        : tp_holds_slot(holds, holds->oldest);
}

size_t
tp_holds_count(const TP_HOLDS *holds)
{
    return holds->count;
}
