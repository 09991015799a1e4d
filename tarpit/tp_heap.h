/* The tarpit's timer structure: a binary min-heap of the held
 * connections' due times, named by small integer ids (the hold table's
 * slots), with each id's place in the heap kept so that a connection
 * that leaves early is removed in O(log n) too.  Ties go in insertion
 * order, so that holds with the same delay are answered in the order
 * they came.  No clock, no sockets: the caller says what time it is. */
#ifndef ALLIGATE_TP_HEAP_H
#define ALLIGATE_TP_HEAP_H

#include <stddef.h>

typedef struct TP_HEAP TP_HEAP;

TP_HEAP *tp_heap_create(void);
TP_HEAP *tp_heap_free(TP_HEAP *heap);

/* Adds id (which must not be in the heap: a panic) due at due. */
void    tp_heap_insert(TP_HEAP *heap, unsigned id, long long due);

/* Removes id: 0, or -1 when it is not in the heap. */
int     tp_heap_remove(TP_HEAP *heap, unsigned id);

/* The id due first and its time: 0, or -1 when the heap is empty. */
int     tp_heap_peek(const TP_HEAP *heap, unsigned *id, long long *due);

size_t  tp_heap_count(const TP_HEAP *heap);

#endif
