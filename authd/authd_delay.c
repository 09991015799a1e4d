/* Failure counts per user name: a table by name, and a list by the start
 * of each name's window, the oldest first, for expiry and eviction. */
#include "auth_clnt.h"
#include "authd_delay.h"
#include "htable.h"
#include "msg.h"
#include "mymalloc.h"

typedef struct AUTHD_DELAY_NAME {
    char *name;
    long long start;                    /* the window's */
    long failures;
    int logged;
    struct AUTHD_DELAY_NAME *prev, *next;
} AUTHD_DELAY_NAME;

struct AUTHD_DELAY {
    size_t max;
    HTABLE *names;
    AUTHD_DELAY_NAME *oldest, *newest;
};

AUTHD_DELAY *
authd_delay_create(size_t max_names)
{
    AUTHD_DELAY *delay = mymalloc(sizeof(*delay));

    if (max_names == 0)
        msg_panic("authd_delay_create: no room");
    delay->max = max_names;
    delay->names = htable_create(64);
    delay->oldest = delay->newest = NULL;
    return delay;
}

static void
authd_delay_unlink(AUTHD_DELAY *delay, AUTHD_DELAY_NAME *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        delay->oldest = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        delay->newest = n->prev;
}

static void
authd_delay_append(AUTHD_DELAY *delay, AUTHD_DELAY_NAME *n)
{
    n->next = NULL;
    n->prev = delay->newest;
    if (delay->newest)
        delay->newest->next = n;
    else
        delay->oldest = n;
    delay->newest = n;
}

static void
authd_delay_remove(AUTHD_DELAY *delay, AUTHD_DELAY_NAME *n)
{
    authd_delay_unlink(delay, n);
    htable_delete(delay->names, n->name);
    myfree(n->name);
    myfree(n);
}

long long
authd_delay_failure(AUTHD_DELAY *delay, const char *user, long long now,
                    const AUTHD_DELAY_LIMITS *lim, long *failures,
                    int *first_slow)
{
    AUTHD_DELAY_NAME *n = htable_find(delay->names, user);
    long long extra;

    *first_slow = 0;
    if (n != NULL && now - n->start >= lim->window_ms) {
        /* A new window: the name moves to the young end. */
        n->start = now;
        n->failures = 0;
        n->logged = 0;
        authd_delay_unlink(delay, n);
        authd_delay_append(delay, n);
    }
    if (n == NULL) {
        while (htable_used(delay->names) >= delay->max)
            authd_delay_remove(delay, delay->oldest);
        n = mymalloc(sizeof(*n));
        n->name = mystrdup(user);
        n->start = now;
        n->failures = 0;
        n->logged = 0;
        htable_enter(delay->names, user, n);
        authd_delay_append(delay, n);
    }
    *failures = ++n->failures;
    if (lim->limit <= 0 || n->failures <= lim->limit)
        return lim->base_ms;
    if (!n->logged) {
        n->logged = 1;
        *first_slow = 1;
    }
    extra = (long long) (n->failures - lim->limit) * AUTHD_SLOW_STEP_MS;
    return lim->base_ms + (extra < AUTH_SLOW_MAX_MS ? extra : AUTH_SLOW_MAX_MS);
}

size_t
authd_delay_expire(AUTHD_DELAY *delay, long long now, long long window_ms,
                   size_t max)
{
    size_t n = 0;

    while (n < max && delay->oldest
           && now - delay->oldest->start >= window_ms) {
        authd_delay_remove(delay, delay->oldest);
        n++;
    }
    return n;
}

size_t
authd_delay_size(const AUTHD_DELAY *delay)
{
    return htable_used(delay->names);
}

AUTHD_DELAY *
authd_delay_free(AUTHD_DELAY *delay)
{
    if (delay) {
        while (delay->oldest)
            authd_delay_remove(delay, delay->oldest);
        htable_free(delay->names, NULL);
        myfree(delay);
    }
    return NULL;
}
