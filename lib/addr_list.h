/* Lists of e-mail addresses and "@domain" catch-alls (local_recipients),
 * matched case-insensitively through a hash table. */
#ifndef ALLIGATE_ADDR_LIST_H
#define ALLIGATE_ADDR_LIST_H

#include <stddef.h>

struct VBUF;
typedef struct ADDR_LIST ADDR_LIST;

ADDR_LIST *addr_list_create(void);
ADDR_LIST *addr_list_free(ADDR_LIST *list);

/* Adds "user@example.com" or "@example.com".  Returns 0, or -1 with the
 * reason in why. */
int addr_list_add(ADDR_LIST *list, const char *entry, struct VBUF *why);

/* One entry per line, '#' comments; errors as "PATH:LINE: reason". */
int addr_list_load_file(ADDR_LIST *list, const char *path, struct VBUF *why);

/* 1 if the address or its domain's catch-all is listed, else 0. */
int addr_list_match(const ADDR_LIST *list, const char *address);
size_t addr_list_count(const ADDR_LIST *list);

#endif
