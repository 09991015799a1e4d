/* Forward-confirmed reverse DNS of a client address: the PTR names of
 * the address, then the addresses of each name (A for an IPv4 client,
 * AAAA for IPv6); the first name, in the PTR answer's order, whose
 * addresses include the client is its verified name.  Identical
 * concurrent questions share one lookup. */
#ifndef ALLIGATE_DC_FCRDNS_H
#define ALLIGATE_DC_FCRDNS_H

#include "dc_cache.h"

#define DC_FCRDNS_MAX_NAMES 5       /* PTR names checked per address */
#define DC_NAME_MAX         253

/* The outcome of a lookup, with the DNS TTL that bounds it. */
typedef void (*DC_FCRDNS_FN)(const char *addr, const DC_ENTRY *e,
                             long long dns_ttl, void *context);

/* Whether name may be shown as a host name: 1 to 253 octets of letters,
 * digits, '-' and '.', no empty label.  A trailing dot is allowed. */
int     dc_name_valid(const char *name);
/* Whether two numeric addresses are the same address. */
int     dc_addr_equal(const char *a, const char *b);

/* store runs once per finished lookup, before its waiters. */
void    dc_fcrdns_init(DC_FCRDNS_FN store);
/* Starts the lookup of addr (numeric), or joins the one under way; fn
 * runs once with the outcome, perhaps before this returns. */
void    dc_fcrdns_start(const char *addr, DC_FCRDNS_FN fn, void *context);
/* Lookups under way. */
long    dc_fcrdns_inflight(void);
/* 1 when the lookup of addr is under way (dc_fcrdns_start joins it). */
int     dc_fcrdns_under_way(const char *addr);

#endif
