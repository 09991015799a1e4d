/* dnscache's cache: what the lookups of a client address found, in a
 * Berkeley DB file (data_directory/dnscache/cache.db) that outlives the
 * process.  Time is an argument (wall-clock seconds), so that a Check
 * test drives the expiry with a fake clock.
 *
 * A key is the client address ("192.0.2.1", "2001:db8::1") for the
 * reverse lookup, or "ADDR SUFFIX" for other facts about the address
 * (the blocklists'), so that flushing an address removes all of them.
 *
 * The record is one line of text, fields separated by '|':
 *   2|RESULT|EXPIRES|LIFETIME|PTR|UNVERIFIED|NAME
 * with RESULT ok, none or temp, EXPIRES in seconds since the epoch,
 * LIFETIME the seconds the entry was given when it was stored (what
 * dc_cache_refresh_due() measures its age by), PTR the valid PTR names
 * separated by ',' (a blocklist's A answers, for its entries),
 * UNVERIFIED a PTR name that did not resolve back, NAME the verified
 * name.  Names are those that dc_name_valid() accepts, so none holds
 * '|' or ','.  Records of version 1, written before the lifetime was
 * kept, have no LIFETIME field and read as lifetime 0 (unknown).  A
 * record that does not parse is a miss, and is deleted. */
#ifndef ALLIGATE_DC_CACHE_H
#define ALLIGATE_DC_CACHE_H

#include "vbuf.h"

#define DC_CACHE_DB_NAME    "cache.db"

#define DC_RESULT_OK        0       /* PTR names (maybe none verified) */
#define DC_RESULT_NONE      1       /* no PTR record */
#define DC_RESULT_TEMP      2       /* SERVFAIL, timeout: ask again soon */

#define DC_CACHE_TEMP_TTL   30      /* seconds a temporary failure stays */
#define DC_CACHE_REFRESH    30      /* seconds before expiry: refresh */

typedef struct DC_ENTRY {
    int     result;
    long long expires;              /* seconds since the epoch */
    long long lifetime;             /* seconds it was stored for; 0 unknown */
    char    ptr[1024];
    char    unverified[256];
    char    name[256];
} DC_ENTRY;

/* The cache lifetimes, in seconds, from the configuration. */
typedef struct DC_TTLS {
    long long min_ttl;
    long long max_ttl;
    long long negative_ttl;
} DC_TTLS;

typedef struct DC_CACHE DC_CACHE;

/* How long an answer is kept: dns_ttl clamped to min..max for a positive
 * answer, negative_ttl for "none", DC_CACHE_TEMP_TTL for "temp". */
long long dc_cache_ttl(const DC_TTLS *ttls, int result, long long dns_ttl);

/* 1 when a hit at now on e should start a lookup that renews it in the
 * background, so that the next client still finds it: an answer (not a
 * temporary failure) with less than DC_CACHE_REFRESH seconds left, and
 * less than half of its lifetime, so that an entry just stored is never
 * refreshed (an entry of unknown lifetime is measured by the shortest
 * life such an answer gets: min_ttl, or negative_ttl for "none").  An
 * entry still asked for in its last seconds is a popular one; one not
 * asked for then simply expires. */
int     dc_cache_refresh_due(const DC_TTLS *ttls, const DC_ENTRY *e,
                             long long now);

/* Record text <-> entry; decode returns -1 on anything malformed. */
void    dc_cache_encode(VBUF *out, const DC_ENTRY *e);
int     dc_cache_decode(DC_ENTRY *e, const char *data, size_t len);

/* Opens (creating dir, mode 0700, and the file) dir/cache.db.  A file
 * that Berkeley DB cannot open is moved aside and started afresh.
 * Returns NULL with the reason in why. */
DC_CACHE *dc_cache_open(const char *dir, VBUF *why);
DC_CACHE *dc_cache_close(DC_CACHE *cache);

/* 1 with *e when key holds an entry that has not expired at now; 0
 * otherwise (an expired or malformed entry is deleted). */
int     dc_cache_get(DC_CACHE *cache, const char *key, long long now,
                     DC_ENTRY *e);
int     dc_cache_put(DC_CACHE *cache, const char *key, const DC_ENTRY *e,
                     VBUF *why);
/* Removes the entries of addr (the key addr and the keys "addr ..."), or
 * every entry when addr is NULL; returns how many. */
long    dc_cache_flush(DC_CACHE *cache, const char *addr);
/* Removes every temporary failure (new DNS servers may do better);
 * returns how many. */
long    dc_cache_flush_temp(DC_CACHE *cache);
/* Looks at up to max entries after where the last call stopped (from
 * the start again after the end) and removes the expired ones; returns
 * how many it removed. */
long    dc_cache_expire(DC_CACHE *cache, long long now, int max);
long    dc_cache_count(DC_CACHE *cache);
/* Writes what changed to the file. */
void    dc_cache_sync(DC_CACHE *cache);

#endif
