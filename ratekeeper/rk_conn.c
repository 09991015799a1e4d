/* Connection registrations: a count per key, and per client the list of
 * what it registered, so that its disappearance can be undone exactly. */
#include <stdio.h>
#include <string.h>

#include "htable.h"
#include "msg.h"
#include "mymalloc.h"
#include "rk_conn.h"

typedef struct RK_CONN_REG {
    char *key;
    unsigned long n;
    struct RK_CONN_REG *next;
} RK_CONN_REG;

struct RK_CONN {
    HTABLE *counts;                     /* key -> unsigned long * */
    HTABLE *clients;                    /* "id" -> RK_CONN_REG list */
};

RK_CONN *
rk_conn_create(void)
{
    RK_CONN *conn = mymalloc(sizeof(*conn));

    conn->counts = htable_create(256);
    conn->clients = htable_create(256);
    return conn;
}

static void
rk_conn_free_regs(void *value)
{
    RK_CONN_REG *reg, *next;

    for (reg = value; reg; reg = next) {
        next = reg->next;
        myfree(reg->key);
        myfree(reg);
    }
}

static void
rk_conn_free_count(void *value)
{
    myfree(value);
}

RK_CONN *
rk_conn_free(RK_CONN *conn)
{
    if (conn) {
        htable_free(conn->counts, rk_conn_free_count);
        htable_free(conn->clients, rk_conn_free_regs);
        myfree(conn);
    }
    return NULL;
}

static void
rk_conn_client_name(char *buf, size_t size, unsigned long client)
{
    if (client == 0)
        msg_panic("rk_conn: client id 0");
    snprintf(buf, size, "%lu", client);
}

unsigned long
rk_conn_count(const RK_CONN *conn, const char *key)
{
    unsigned long *count = htable_find(conn->counts, key);

    return count ? *count : 0;
}

/* Adds delta (+1 or -n) to key's count; returns the new count. */
static unsigned long
rk_conn_adjust(RK_CONN *conn, const char *key, long delta)
{
    unsigned long *count = htable_find(conn->counts, key);

    if (count == NULL) {
        if (delta < 0)
            msg_panic("rk_conn_adjust: %s has no connections", key);
        count = mymalloc(sizeof(*count));
        *count = 0;
        htable_enter(conn->counts, key, count);
    }
    if (delta < 0 && *count < (unsigned long) -delta)
        msg_panic("rk_conn_adjust: %s: %lu connections, releasing %ld", key,
                  *count, -delta);
    *count += delta;
    if (*count == 0) {
        myfree(htable_delete(conn->counts, key));
        return 0;
    }
    return *count;
}

unsigned long
rk_conn_register(RK_CONN *conn, unsigned long client, const char *key)
{
    HTABLE_ENTRY *entry;
    RK_CONN_REG *reg;
    char name[32];

    rk_conn_client_name(name, sizeof(name), client);
    if ((entry = htable_locate(conn->clients, name)) == NULL)
        entry = htable_enter(conn->clients, name, NULL);
    for (reg = entry->value; reg; reg = reg->next)
        if (strcmp(reg->key, key) == 0)
            break;
    if (reg == NULL) {
        reg = mymalloc(sizeof(*reg));
        reg->key = mystrdup(key);
        reg->n = 0;
        reg->next = entry->value;
        entry->value = reg;
    }
    reg->n++;
    return rk_conn_adjust(conn, key, 1);
}

int
rk_conn_release(RK_CONN *conn, unsigned long client, const char *key,
                unsigned long *count)
{
    HTABLE_ENTRY *entry;
    RK_CONN_REG **pp, *reg;
    char name[32];

    rk_conn_client_name(name, sizeof(name), client);
    *count = rk_conn_count(conn, key);
    if ((entry = htable_locate(conn->clients, name)) == NULL)
        return -1;
    for (pp = (RK_CONN_REG **) &entry->value; (reg = *pp) != NULL;
         pp = &reg->next)
        if (strcmp(reg->key, key) == 0)
            break;
    if (reg == NULL)
        return -1;
    if (--reg->n == 0) {
        *pp = reg->next;
        myfree(reg->key);
        myfree(reg);
        if (entry->value == NULL)
            htable_delete(conn->clients, name);
    }
    *count = rk_conn_adjust(conn, key, -1);
    return 0;
}

unsigned long
rk_conn_release_client(RK_CONN *conn, unsigned long client)
{
    RK_CONN_REG *regs, *reg;
    unsigned long released = 0;
    char name[32];

    rk_conn_client_name(name, sizeof(name), client);
    regs = htable_delete(conn->clients, name);
    for (reg = regs; reg; reg = reg->next) {
        rk_conn_adjust(conn, reg->key, -(long) reg->n);
        released += reg->n;
    }
    rk_conn_free_regs(regs);
    return released;
}

unsigned long
rk_conn_held(const RK_CONN *conn, unsigned long client, const char *key)
{
    RK_CONN_REG *reg;
    char name[32];

    rk_conn_client_name(name, sizeof(name), client);
    for (reg = htable_find(conn->clients, name); reg; reg = reg->next)
        if (strcmp(reg->key, key) == 0)
            return reg->n;
    return 0;
}

void
rk_conn_client_walk(const RK_CONN *conn, unsigned long client,
                    void (*fn)(const char *key, unsigned long n,
                               void *context),
                    void *context)
{
    RK_CONN_REG *reg;
    char name[32];

    rk_conn_client_name(name, sizeof(name), client);
    for (reg = htable_find(conn->clients, name); reg; reg = reg->next)
        fn(reg->key, reg->n, context);
}

int
rk_conn_holds(const RK_CONN *conn, unsigned long client)
{
    char name[32];

    rk_conn_client_name(name, sizeof(name), client);
    return htable_find(conn->clients, name) != NULL;
}

unsigned long
rk_conn_keys(const RK_CONN *conn)
{
    return htable_used(conn->counts);
}

unsigned long
rk_conn_clients(const RK_CONN *conn)
{
    return htable_used(conn->clients);
}

typedef struct RK_CONN_WALK {
    void (*fn)(const char *key, unsigned long count, void *context);
    void *context;
} RK_CONN_WALK;

static void
rk_conn_walk_one(const HTABLE_ENTRY *entry, void *context)
{
    RK_CONN_WALK *walk = context;

    walk->fn(entry->key, *(unsigned long *) entry->value, walk->context);
}

void
rk_conn_walk(const RK_CONN *conn,
             void (*fn)(const char *key, unsigned long count, void *context),
             void *context)
{
    RK_CONN_WALK walk = {fn, context};

    htable_walk(conn->counts, rk_conn_walk_one, &walk);
}
