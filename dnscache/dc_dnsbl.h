/* The DNS blocklists of one client address: every zone of dnsbl_sites
 * asked for the address's A records (4.3.2.1.zone), each zone's answer
 * cached under "ADDR bl ZONE", and the score (lib/dnsbl.c) of what has
 * answered so far, so that a reply at its deadline counts what came in
 * time and names the zones that had not answered ("late").
 *
 * A zone's answer is kept in the cache as a DC_ENTRY: result ok with the
 * A answers, comma-separated, in the ptr field; none for NXDOMAIN; temp
 * for a failure. */
#ifndef ALLIGATE_DC_DNSBL_H
#define ALLIGATE_DC_DNSBL_H

#include "dc_cache.h"
#include "dc_fcrdns.h"
#include "dnsbl.h"
#include "vbuf.h"

#define DC_DNSBL_KEY_INFIX  " bl "
#define DC_DNSBL_WARN_SECS  60          /* per zone, for error codes */

typedef struct DC_DNSBL DC_DNSBL;

/* The cache, as the glue reaches it: get returns DC_DNSBL_MISS, or a
 * hit with *e: DC_DNSBL_HIT, or DC_DNSBL_HIT_RENEW for an entry near its
 * end (dc_cache_refresh_due), whose zone is then asked again in the
 * background so that the entry is renewed before it expires; put stores
 * a finished answer under key (DC_FCRDNS_FN's shape, with the key in
 * place of the address). */
#define DC_DNSBL_MISS       0
#define DC_DNSBL_HIT        1
#define DC_DNSBL_HIT_RENEW  2
typedef int (*DC_DNSBL_GET_FN)(const char *key, DC_ENTRY *e);
/* Runs once, when every zone has answered, perhaps before
 * dc_dnsbl_start() returns. */
typedef void (*DC_DNSBL_FN)(DC_DNSBL *bl, void *context);

void    dc_dnsbl_init(DC_DNSBL_GET_FN get, DC_FCRDNS_FN put);
/* The sites from now on (taken over; NULL: none).  Lookups under way
 * keep the sites they started with. */
void    dc_dnsbl_configure(DNSBL_SITES *sites);
int     dc_dnsbl_zone_count(void);
/* Blocklist queries under way. */
long    dc_dnsbl_inflight(void);

/* "ADDR bl ZONE". */
void    dc_dnsbl_key(VBUF *out, const char *addr, const char *zone);

/* Asks every zone about addr (numeric, canonical), from the cache
 * unless fresh.  A zone that answers with an error code of
 * 127.255.255.0/24 (dnsbl_answer_is_error: the list refused the query)
 * is logged, once a minute per zone at most. */
DC_DNSBL *dc_dnsbl_start(const char *addr, int fresh, DC_DNSBL_FN fn,
                         void *context);
/* The score of the zones answered so far; sites gets the matched
 * domains (a,b), late the zones without an answer yet (a,b). */
int     dc_dnsbl_score(const DC_DNSBL *bl, VBUF *sites, VBUF *late);
/* Each zone's answer for alligatectl: "zone=127.0.0.2 127.0.0.4" or
 * zone=none, zone=temp, zone=late; separated by ", ". */
void    dc_dnsbl_describe(const DC_DNSBL *bl, VBUF *out);
/* 1 when every zone's answer came from the cache. */
int     dc_dnsbl_cached(const DC_DNSBL *bl);
DC_DNSBL *dc_dnsbl_free(DC_DNSBL *bl);

#endif
