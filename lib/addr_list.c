/* Lists of e-mail addresses and "@domain" catch-alls (local_recipients).
 *
 * Entries are folded to ASCII lower case and kept in an open-addressing
 * hash table with linear probing, which doubles before it is half full, so
 * that a lookup costs one or two string compares whatever the list size.
 * Lookups never insert, so a client cannot make the table grow. */
#include <stdint.h>
#include <string.h>

#include "addr_list.h"
#include "list_file.h"
#include "msg.h"
#include "mymalloc.h"
#include "printable.h"
#include "vbuf.h"

/* RFC 5321 limits a path to 256 octets including the angle brackets. */
#define ADDR_LIST_ADDR_MAX  254

struct ADDR_LIST {
    char **slots;               /* NULL, or a folded entry we own */
    size_t size;                /* a power of two */
    size_t used;
};

ADDR_LIST *
addr_list_create(void)
{
    ADDR_LIST *list = mymalloc(sizeof(*list));

    list->size = 64;
    list->slots = mycalloc(list->size, sizeof(*list->slots));
    list->used = 0;
    return list;
}

ADDR_LIST *
addr_list_free(ADDR_LIST *list)
{
    size_t i;

    if (list) {
        for (i = 0; i < list->size; i++)
            myfree(list->slots[i]);
        myfree(list->slots);
        myfree(list);
    }
    return NULL;
}

/* ASCII only: the C locale's idea, whatever locale a program sets. */
static int
addr_list_fold(int ch)
{
    return (ch >= 'A' && ch <= 'Z') ? ch - 'A' + 'a' : ch;
}

/* FNV-1a; keys are folded before they get here. */
static size_t
addr_list_hash(const char *key)
{
    uint32_t h = 2166136261u;

    for (; *key; key++) {
        h ^= (unsigned char) *key;
        h *= 16777619u;
    }
    return h;
}

/* The slot that holds key (already folded), or the empty slot where it
 * would go. */
static char **
addr_list_slot(char **slots, size_t size, const char *key)
{
    size_t i = addr_list_hash(key) & (size - 1);

    while (slots[i] != NULL && strcmp(slots[i], key) != 0)
        i = (i + 1) & (size - 1);
    return slots + i;
}

static void
addr_list_grow(ADDR_LIST *list)
{
    size_t new_size = list->size * 2;
    char **new_slots = mycalloc(new_size, sizeof(*new_slots));
    size_t i;

    for (i = 0; i < list->size; i++)
        if (list->slots[i])
            *addr_list_slot(new_slots, new_size, list->slots[i]) =
                list->slots[i];
    myfree(list->slots);
    list->slots = new_slots;
    list->size = new_size;
}

/* 1 if entry looks like "user@domain" or "@domain".  Bytes above 0x7f
 * pass, for UTF-8 addresses. */
static int
addr_list_valid(const char *entry)
{
    const char *at = strchr(entry, '@');
    const unsigned char *cp;

    if (at == NULL || at[1] == 0 || strchr(at + 1, '@') != NULL)
        return 0;
    if (strlen(entry) > ADDR_LIST_ADDR_MAX)
        return 0;
    for (cp = (const unsigned char *) entry; *cp; cp++)
        if (*cp <= ' ' || *cp == 0x7f)  /* white space and controls */
            return 0;
    return 1;
}

int
addr_list_add(ADDR_LIST *list, const char *entry, VBUF *why)
{
    char **slot;
    char *key;
    char *cp;

    vbuf_reset(why);
    if (!addr_list_valid(entry)) {
        vbuf_printf(why, "bad address \"%s\"", printable_str(entry));
        return -1;
    }
    key = mystrdup(entry);
    for (cp = key; *cp; cp++)
        *cp = (char) addr_list_fold((unsigned char) *cp);
    slot = addr_list_slot(list->slots, list->size, key);
    if (*slot != NULL) {                        /* listed twice */
        myfree(key);
        return 0;
    }
    *slot = key;
    if (++list->used * 2 > list->size)
        addr_list_grow(list);
    return 0;
}

/* The list_file callback: ctx is the list. */
static int
addr_list_add_entry(void *ctx, const char *entry, VBUF *why)
{
    return addr_list_add(ctx, entry, why);
}

int
addr_list_load_file(ADDR_LIST *list, const char *path, VBUF *why)
{
    return list_file_read(path, addr_list_add_entry, list, why);
}

/* 1 if key, folded, is in the table. */
static int
addr_list_lookup(const ADDR_LIST *list, const char *key)
{
    char folded[ADDR_LIST_ADDR_MAX + 1];
    size_t len = strlen(key);
    size_t i;

    if (len > ADDR_LIST_ADDR_MAX)
        return 0;                       /* too long to have been added */
    for (i = 0; i <= len; i++)
        folded[i] = (char) addr_list_fold((unsigned char) key[i]);
    return *addr_list_slot(list->slots, list->size, folded) != NULL;
}

int
addr_list_match(const ADDR_LIST *list, const char *address)
{
    const char *at = strrchr(address, '@');

    if (at == NULL)
        return 0;
    return addr_list_lookup(list, address) || addr_list_lookup(list, at);
}

/* The number of distinct entries. */
size_t
addr_list_count(const ADDR_LIST *list)
{
    return list->used;
}
