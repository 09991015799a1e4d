/* Shared strings with use counts (tp_intern.h), on htable: the table
 * owns the text (the entry's key), the value is the count. */
#include <stdint.h>

#include "htable.h"
#include "msg.h"
#include "mymalloc.h"
#include "tp_intern.h"

#define TP_INTERN_SIZE  64

struct TP_INTERN {
    HTABLE *table;
};

TP_INTERN *
tp_intern_create(void)
{
    TP_INTERN *in = mymalloc(sizeof(*in));

    in->table = htable_create(TP_INTERN_SIZE);
    return in;
}

TP_INTERN *
tp_intern_free(TP_INTERN *in)
{
    if (in) {
        htable_free(in->table, NULL);
        myfree(in);
    }
    return NULL;
}

const char *
tp_intern_get(TP_INTERN *in, const char *text)
{
    HTABLE_ENTRY *e;

    if ((e = htable_locate(in->table, text)) == NULL)
        e = htable_enter(in->table, text, (void *) (uintptr_t) 0);
    e->value = (void *) ((uintptr_t) e->value + 1);
    return e->key;
}

void
tp_intern_put(TP_INTERN *in, const char *shared)
{
    HTABLE_ENTRY *e = htable_locate(in->table, shared);

    if (e == NULL || e->key != shared)
        msg_panic("tp_intern_put: not a shared string: %s", shared);
    e->value = (void *) ((uintptr_t) e->value - 1);
    if ((uintptr_t) e->value == 0)
        htable_delete(in->table, shared);
}

size_t
tp_intern_count(const TP_INTERN *in)
{
    return htable_used(in->table);
}
