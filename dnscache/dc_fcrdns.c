/* Forward-confirmed reverse DNS (see dc_fcrdns.h), on dc_resolve.  One
 * DC_FCRDNS per address under way, in a table keyed by the address, with
 * the list of those waiting for it. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "dc_fcrdns.h"
#include "dc_resolve.h"
#include "htable.h"
#include "mymalloc.h"
#include "vbuf.h"

typedef struct DC_WAITER {
    DC_FCRDNS_FN fn;
    void   *context;
    struct DC_WAITER *next;
} DC_WAITER;

typedef struct DC_FCRDNS {
    char    addr[INET6_ADDRSTRLEN];
    int     family;
    int     pending;                /* forward queries out */
    int     temp;                   /* a forward query failed for now */
    int     nnames;
    char   *names[DC_FCRDNS_MAX_NAMES];
    int     verified[DC_FCRDNS_MAX_NAMES];
    long long ttl;                  /* the PTR answer's */
    long long name_ttl[DC_FCRDNS_MAX_NAMES];
    DC_WAITER *waiters;
} DC_FCRDNS;

/* A forward query's context: which name of which lookup. */
typedef struct DC_FORWARD {
    DC_FCRDNS *look;
    int     index;
} DC_FORWARD;

static HTABLE *dc_fcrdns_table;
static DC_FCRDNS_FN dc_fcrdns_store;

int
dc_name_valid(const char *name)
{
    size_t  len = strlen(name), label = 0, i;
    int     ch;

    if (len > 0 && name[len - 1] == '.')
        len--;
    if (len == 0 || len > DC_NAME_MAX)
        return 0;
    for (i = 0; i < len; i++) {
        ch = (unsigned char) name[i];
        if (ch == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else if (isascii(ch) && (isalnum(ch) || ch == '-')) {
            if (++label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    return label > 0;
}

int
dc_addr_equal(const char *a, const char *b)
{
    unsigned char ba[16], bb[16];

    if (inet_pton(AF_INET, a, ba) == 1)
        return inet_pton(AF_INET, b, bb) == 1 && memcmp(ba, bb, 4) == 0;
    if (inet_pton(AF_INET6, a, ba) == 1)
        return inet_pton(AF_INET6, b, bb) == 1 && memcmp(ba, bb, 16) == 0;
    return 0;
}

void
dc_fcrdns_init(DC_FCRDNS_FN store)
{
    dc_fcrdns_store = store;
    if (dc_fcrdns_table == NULL)
        dc_fcrdns_table = htable_create(64);
}

long
dc_fcrdns_inflight(void)
{
    return dc_fcrdns_table ? (long) htable_used(dc_fcrdns_table) : 0;
}

int
dc_fcrdns_under_way(const char *addr)
{
    return dc_fcrdns_table && htable_find(dc_fcrdns_table, addr) != NULL;
}

/* The outcome goes to the store and to every waiter. */
static void
dc_fcrdns_finish(DC_FCRDNS *look, int result)
{
    DC_ENTRY e;
    DC_WAITER *w, *next;
    long long ttl = look->ttl;
    VBUF   *ptr = vbuf_create(100);
    int     i;

    memset(&e, 0, sizeof(e));
    for (i = 0; i < look->nnames; i++) {
        if (vbuf_len(ptr) + strlen(look->names[i]) + 2 > sizeof(e.ptr))
            break;
        if (vbuf_len(ptr))
            vbuf_append_char(ptr, ',');
        vbuf_append_str(ptr, look->names[i]);
    }
    strcpy(e.ptr, vbuf_str(ptr));
    vbuf_free(ptr);
    for (i = 0; i < look->nnames; i++) {
        if (look->verified[i]) {
            strcpy(e.name, look->names[i]);
            if (look->name_ttl[i] < ttl)
                ttl = look->name_ttl[i];
            break;
        }
    }
    if (e.name[0] == 0 && look->nnames > 0)
        strcpy(e.unverified, look->names[0]);
    /* A name that could not be checked may yet verify. */
    if (e.name[0] == 0 && look->temp)
        result = DC_RESULT_TEMP;
    e.result = result;
    htable_delete(dc_fcrdns_table, look->addr);
    if (dc_fcrdns_store)
        dc_fcrdns_store(look->addr, &e, ttl, NULL);
    for (w = look->waiters; w; w = next) {
        next = w->next;
        w->fn(look->addr, &e, ttl, w->context);
        myfree(w);
    }
    for (i = 0; i < look->nnames; i++)
        myfree(look->names[i]);
    myfree(look);
}

static void
dc_fcrdns_forward_done(const DC_ANSWER *answer, void *context)
{
    DC_FORWARD *fwd = context;
    DC_FCRDNS *look = fwd->look;
    int     i = fwd->index, j;

    myfree(fwd);
    if (answer->status == DC_RESOLVE_TEMP)
        look->temp = 1;
    for (j = 0; j < answer->count; j++) {
        if (dc_addr_equal(look->addr, answer->items[j])) {
            look->verified[i] = 1;
            look->name_ttl[i] = answer->ttl;
        }
    }
    if (--look->pending == 0)
        dc_fcrdns_finish(look, DC_RESULT_OK);
}

static void
dc_fcrdns_ptr_done(const DC_ANSWER *answer, void *context)
{
    DC_FCRDNS *look = context;
    DC_FORWARD *fwd;
    int     i, j, dup;

    if (answer->status != DC_RESOLVE_OK) {
        dc_fcrdns_finish(look, answer->status == DC_RESOLVE_NONE
                         ? DC_RESULT_NONE : DC_RESULT_TEMP);
        return;
    }
    look->ttl = answer->ttl;
    for (i = 0; i < answer->count && look->nnames < DC_FCRDNS_MAX_NAMES; i++) {
        if (!dc_name_valid(answer->items[i]))
            continue;
        for (dup = 0, j = 0; j < look->nnames; j++)
            if (strcasecmp(look->names[j], answer->items[i]) == 0)
                dup = 1;
        if (!dup)
            look->names[look->nnames++] = mystrdup(answer->items[i]);
    }
    if (look->nnames == 0) {
        /* Only junk: as good as no name. */
        dc_fcrdns_finish(look, DC_RESULT_OK);
        return;
    }
    /* One more than the queries, so that an answer given at once does
     * not finish the lookup before the last query is out. */
    look->pending = look->nnames + 1;
    for (i = 0; i < look->nnames; i++) {
        fwd = mymalloc(sizeof(*fwd));
        fwd->look = look;
        fwd->index = i;
        dc_resolve_query(look->names[i], look->family == AF_INET
                         ? DC_RESOLVE_A : DC_RESOLVE_AAAA,
                         dc_fcrdns_forward_done, fwd);
    }
    if (--look->pending == 0)
        dc_fcrdns_finish(look, DC_RESULT_OK);
}

void
dc_fcrdns_start(const char *addr, DC_FCRDNS_FN fn, void *context)
{
    DC_FCRDNS *look;
    DC_WAITER *w = mymalloc(sizeof(*w));
    VBUF   *rev;
    unsigned char bin[16];

    if (dc_fcrdns_table == NULL)
        dc_fcrdns_table = htable_create(64);
    w->fn = fn;
    w->context = context;
    if ((look = htable_find(dc_fcrdns_table, addr)) != NULL) {
        w->next = look->waiters;
        look->waiters = w;
        return;
    }
    look = mycalloc(1, sizeof(*look));
    snprintf(look->addr, sizeof(look->addr), "%s", addr);
    look->family = inet_pton(AF_INET, addr, bin) == 1 ? AF_INET : AF_INET6;
    w->next = NULL;
    look->waiters = w;
    htable_enter(dc_fcrdns_table, look->addr, look);
    rev = vbuf_create(80);
    if (dc_resolve_reverse_name(addr, rev) < 0) {
        vbuf_free(rev);
        dc_fcrdns_finish(look, DC_RESULT_NONE);
        return;
    }
    dc_resolve_query(vbuf_str(rev), DC_RESOLVE_PTR, dc_fcrdns_ptr_done, look);
    vbuf_free(rev);
}
