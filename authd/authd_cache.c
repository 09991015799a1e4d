/* The verification cache.  Entries are in a table by their HMAC (in hex),
 * in a list per user (a table by user name), and in one list by age, the
 * oldest first, for expiry and for eviction when full. */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "authd_cache.h"
#include "htable.h"
#include "msg.h"
#include "mymalloc.h"
#include "vbuf.h"

#define AUTHD_CACHE_KEY_LEN     (AUTHD_CACHE_KEY_HEX / 2)  /* SHA-256 */

typedef struct AUTHD_CACHE_USER AUTHD_CACHE_USER;

typedef struct AUTHD_CACHE_ENTRY {
    char key[2 * AUTHD_CACHE_KEY_LEN + 1];
    long long expires;
    AUTHD_CACHE_USER *user;
    struct AUTHD_CACHE_ENTRY *uprev, *unext;    /* the user's */
    struct AUTHD_CACHE_ENTRY *aprev, *anext;    /* by age */
} AUTHD_CACHE_ENTRY;

struct AUTHD_CACHE_USER {
    char *name;
    AUTHD_CACHE_ENTRY *entries;
};

struct AUTHD_CACHE {
    unsigned char salt[AUTHD_CACHE_SALT_LEN];
    size_t salt_len;
    size_t max;
    HTABLE *entries;                    /* hex key -> entry */
    HTABLE *users;                      /* name -> user */
    AUTHD_CACHE_ENTRY *oldest, *newest;
    VBUF *msg;                          /* user NUL password, wiped */
};

AUTHD_CACHE *
authd_cache_create(const unsigned char *salt, size_t salt_len,
                   size_t max_entries)
{
    AUTHD_CACHE *cache = mymalloc(sizeof(*cache));

    if (salt_len == 0 || salt_len > AUTHD_CACHE_SALT_LEN || max_entries == 0)
        msg_panic("authd_cache_create: bad salt length %zu or size %zu",
                  salt_len, max_entries);
    memcpy(cache->salt, salt, salt_len);
    cache->salt_len = salt_len;
    cache->max = max_entries;
    cache->entries = htable_create(64);
    cache->users = htable_create(64);
    cache->oldest = cache->newest = NULL;
    cache->msg = vbuf_create(128);
    return cache;
}

void
authd_cache_key(AUTHD_CACHE *cache, const char *user, const char *password,
                char key[AUTHD_CACHE_KEY_HEX + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0, i;

    vbuf_reset(cache->msg);
    vbuf_append(cache->msg, user, strlen(user) + 1);
    vbuf_append_str(cache->msg, password);
    if (HMAC(EVP_sha256(), cache->salt, (int) cache->salt_len,
             (const unsigned char *) vbuf_str(cache->msg),
             vbuf_len(cache->msg), md, &md_len) == NULL
        || md_len != AUTHD_CACHE_KEY_LEN)
        msg_fatal("authd cache: HMAC-SHA256 failed");
    explicit_bzero(cache->msg->data, cache->msg->cap);
    vbuf_reset(cache->msg);
    for (i = 0; i < md_len; i++) {
        key[2 * i] = hex[md[i] >> 4];
        key[2 * i + 1] = hex[md[i] & 15];
    }
    key[2 * md_len] = 0;
}

static void
authd_cache_unlink_age(AUTHD_CACHE *cache, AUTHD_CACHE_ENTRY *e)
{
    if (e->aprev)
        e->aprev->anext = e->anext;
    else
        cache->oldest = e->anext;
    if (e->anext)
        e->anext->aprev = e->aprev;
    else
        cache->newest = e->aprev;
    e->aprev = e->anext = NULL;
}

static void
authd_cache_append_age(AUTHD_CACHE *cache, AUTHD_CACHE_ENTRY *e)
{
    e->anext = NULL;
    e->aprev = cache->newest;
    if (cache->newest)
        cache->newest->anext = e;
    else
        cache->oldest = e;
    cache->newest = e;
}

static void
authd_cache_remove(AUTHD_CACHE *cache, AUTHD_CACHE_ENTRY *e)
{
    AUTHD_CACHE_USER *user = e->user;

    authd_cache_unlink_age(cache, e);
    if (e->uprev)
        e->uprev->unext = e->unext;
    else
        user->entries = e->unext;
    if (e->unext)
        e->unext->uprev = e->uprev;
    if (user->entries == NULL) {
        htable_delete(cache->users, user->name);
        myfree(user->name);
        myfree(user);
    }
    htable_delete(cache->entries, e->key);
    myfree(e);
}

int
authd_cache_lookup(AUTHD_CACHE *cache, const char *user,
                   const char *password, long long now)
{
    char key[2 * AUTHD_CACHE_KEY_LEN + 1];
    AUTHD_CACHE_ENTRY *e;

    if (htable_used(cache->entries) == 0)
        return 0;
    authd_cache_key(cache, user, password, key);
    if ((e = htable_find(cache->entries, key)) == NULL)
        return 0;
    if (e->expires <= now) {
        authd_cache_remove(cache, e);
        return 0;
    }
    return 1;
}

void
authd_cache_add(AUTHD_CACHE *cache, const char *user, const char *password,
                long long now, long long ttl_ms)
{
    char key[2 * AUTHD_CACHE_KEY_LEN + 1];
    AUTHD_CACHE_ENTRY *e;
    AUTHD_CACHE_USER *u;

    if (ttl_ms <= 0)
        return;
    authd_cache_key(cache, user, password, key);
    if ((e = htable_find(cache->entries, key)) != NULL) {
        e->expires = now + ttl_ms;
        authd_cache_unlink_age(cache, e);
        authd_cache_append_age(cache, e);
        return;
    }
    while (htable_used(cache->entries) >= cache->max)
        authd_cache_remove(cache, cache->oldest);
    if ((u = htable_find(cache->users, user)) == NULL) {
        u = mymalloc(sizeof(*u));
        u->name = mystrdup(user);
        u->entries = NULL;
        htable_enter(cache->users, user, u);
    }
    e = mymalloc(sizeof(*e));
    memcpy(e->key, key, sizeof(key));
    e->expires = now + ttl_ms;
    e->user = u;
    e->uprev = NULL;
    e->unext = u->entries;
    if (u->entries)
        u->entries->uprev = e;
    u->entries = e;
    htable_enter(cache->entries, key, e);
    authd_cache_append_age(cache, e);
}

size_t
authd_cache_forget(AUTHD_CACHE *cache, const char *user)
{
    AUTHD_CACHE_USER *u = htable_find(cache->users, user);
    AUTHD_CACHE_ENTRY *e, *next;
    size_t n = 0;

    if (u == NULL)
        return 0;
    /* The last removal frees u. */
    for (e = u->entries; e; e = next) {
        next = e->unext;
        authd_cache_remove(cache, e);
        n++;
    }
    return n;
}

void
authd_cache_flush(AUTHD_CACHE *cache)
{
    while (cache->oldest)
        authd_cache_remove(cache, cache->oldest);
}

size_t
authd_cache_expire(AUTHD_CACHE *cache, long long now, size_t max)
{
    size_t n = 0;

    while (n < max && cache->oldest && cache->oldest->expires <= now) {
        authd_cache_remove(cache, cache->oldest);
        n++;
    }
    return n;
}

size_t
authd_cache_size(const AUTHD_CACHE *cache)
{
    return htable_used(cache->entries);
}

AUTHD_CACHE *
authd_cache_free(AUTHD_CACHE *cache)
{
    if (cache) {
        authd_cache_flush(cache);
        htable_free(cache->entries, NULL);
        htable_free(cache->users, NULL);
        explicit_bzero(cache->salt, sizeof(cache->salt));
        vbuf_free(cache->msg);
        myfree(cache);
    }
    return NULL;
}
