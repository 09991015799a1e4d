/* Allocation wrappers that never return NULL: out of memory is fatal. */
#ifndef ALLIGATE_MYMALLOC_H
#define ALLIGATE_MYMALLOC_H

#include <stddef.h>

void *mymalloc(size_t len);
void *mycalloc(size_t n, size_t len);
void *myrealloc(void *ptr, size_t len);
char *mystrdup(const char *str);
char *mystrndup(const char *str, size_t len);
void *mymemdup(const void *ptr, size_t len);
/* Frees ptr and returns NULL, for the "x = myfree(x)" idiom. */
void *myfree(void *ptr);

#endif
