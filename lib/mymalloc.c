/* Allocation wrappers that never return NULL. */
#include <stdlib.h>
#include <string.h>

#include "mymalloc.h"
#include "msg.h"

void *
mymalloc(size_t len)
{
    void *p = malloc(len ? len : 1);

    if (p == NULL)
        msg_fatal("out of memory allocating %zu bytes", len);
    return p;
}

void *
mycalloc(size_t n, size_t len)
{
    void *p = calloc(n ? n : 1, len ? len : 1);

    if (p == NULL)
        msg_fatal("out of memory allocating %zu x %zu bytes", n, len);
    return p;
}

void *
myrealloc(void *ptr, size_t len)
{
    void *p = realloc(ptr, len ? len : 1);

    if (p == NULL)
        msg_fatal("out of memory reallocating %zu bytes", len);
    return p;
}

char *
mystrdup(const char *str)
{
    return mymemdup(str, strlen(str) + 1);
}

char *
mystrndup(const char *str, size_t len)
{
    size_t n = strnlen(str, len);
    char *p = mymalloc(n + 1);

    memcpy(p, str, n);
    p[n] = 0;
    return p;
}

void *
mymemdup(const void *ptr, size_t len)
{
    void *p = mymalloc(len);

    memcpy(p, ptr, len);
    return p;
}

void *
myfree(void *ptr)
{
    free(ptr);
    return NULL;
}
