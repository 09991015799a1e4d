/* authd's verification cache: successful checks remembered for
 * auth_cache_time, so that a user's tenth session in a minute costs no
 * yescrypt and no backend round trip.  It holds no password: an entry is
 * named by HMAC-SHA256, under a random key of the process (the salt), of
 * the user name (lowercased) NUL password, and it belongs to its user so
 * that a password change or a deletion forgets all of the user's entries
 * at once.  Bounded: when full, the oldest entry goes.  Pure: time is an
 * argument, the salt too. */
#ifndef ALLIGATE_AUTHD_CACHE_H
#define ALLIGATE_AUTHD_CACHE_H

#include <stddef.h>

#define AUTHD_CACHE_SALT_LEN    32
#define AUTHD_CACHE_MAX         10000
#define AUTHD_CACHE_KEY_HEX     64      /* an entry's name, in hex */

typedef struct AUTHD_CACHE AUTHD_CACHE;

/* salt: salt_len random bytes (copied); max_entries: the bound. */
AUTHD_CACHE *authd_cache_create(const unsigned char *salt, size_t salt_len,
                                size_t max_entries);
AUTHD_CACHE *authd_cache_free(AUTHD_CACHE *cache);

/* 1 when user (lowercased) and password were added before now and have
 * not expired, else 0. */
int     authd_cache_lookup(AUTHD_CACHE *cache, const char *user,
                           const char *password, long long now);

/* Remembers a successful check until now + ttl_ms (nothing when ttl_ms
 * is 0 or less); again for the same pair moves its expiry. */
void    authd_cache_add(AUTHD_CACHE *cache, const char *user,
                        const char *password, long long now,
                        long long ttl_ms);

/* Forgets user's entries; returns how many there were. */
size_t  authd_cache_forget(AUTHD_CACHE *cache, const char *user);

/* Forgets everything (a new configuration). */
void    authd_cache_flush(AUTHD_CACHE *cache);

/* Removes at most max entries expired at now, oldest first; returns how
 * many went. */
size_t  authd_cache_expire(AUTHD_CACHE *cache, long long now, size_t max);

size_t  authd_cache_size(const AUTHD_CACHE *cache);

/* The name of the entry of user and password, HMAC-SHA256 in lower-case
 * hex: all the cache keeps of them (for the tests). */
void    authd_cache_key(AUTHD_CACHE *cache, const char *user,
                        const char *password,
                        char key[AUTHD_CACHE_KEY_HEX + 1]);

#endif
