/* DNS blocklists: dnsbl_sites in Postfix's postscreen_dnsbl_sites syntax,
 * the names to query, the filters on the answers, the score and what it
 * means.  Pure: dnscache does the DNS, smtpd applies the verdict.
 *
 * dnsbl_sites is a list of entries separated by commas or white space:
 *
 *   domain[=filter][*weight]
 *
 *   filter  d.d.d.d, each d a number 0..255 or a [list] of numbers and
 *           n..m ranges separated by ';': 127.0.0.2, 127.0.0.[2..11],
 *           127.0.[0..255].[1..3], 127.0.0.[2;4;6], 127.0.0.[2;10..11].
 *           Without a filter any A answer counts.
 *   weight  an integer, -1000000..1000000, default 1; negative for an
 *           allowlist (list.dnswl.org=127.0.[0..255].[1..3]*-5).
 *
 * An entry's weight counts once however many of its answers match.  Two
 * entries may name the same domain with different filters and weights;
 * the domain (a "zone" here) is queried once and both read its answers. */
#ifndef ALLIGATE_DNSBL_H
#define ALLIGATE_DNSBL_H

struct VBUF;

#define DNSBL_WEIGHT_MAX    1000000
#define DNSBL_SITES_MAX     1000        /* so that a score fits an int */
#define DNSBL_NAME_MAX      253         /* a query name, in octets */
/* A domain leaves room for an IPv6 address's 32 nibbles in front. */
#define DNSBL_DOMAIN_MAX    (DNSBL_NAME_MAX - 64)

typedef struct DNSBL_SITES DNSBL_SITES;
typedef struct DNSBL_SITE DNSBL_SITE;

/* Parses dnsbl_sites; an empty spec is an empty list.  Returns NULL with
 * the reason, naming the bad entry, in why (reset first). */
DNSBL_SITES *dnsbl_parse(const char *spec, struct VBUF *why);
DNSBL_SITES *dnsbl_free(DNSBL_SITES *sites);

/* The entries, in the order written. */
int     dnsbl_count(const DNSBL_SITES *sites);
const DNSBL_SITE *dnsbl_site(const DNSBL_SITES *sites, int i);
const char *dnsbl_site_domain(const DNSBL_SITE *site);
int     dnsbl_site_weight(const DNSBL_SITE *site);
/* The filter as written, or NULL when the entry has none. */
const char *dnsbl_site_filter(const DNSBL_SITE *site);
/* The index of the entry's domain among the zones below. */
int     dnsbl_site_zone(const DNSBL_SITE *site);

/* The distinct domains (compared without case), in the order first
 * written: what dnscache queries, once per client each. */
int     dnsbl_zone_count(const DNSBL_SITES *sites);
const char *dnsbl_zone(const DNSBL_SITES *sites, int z);

/* Sets out to the name to query for a client address: 4.3.2.1.domain
 * for 1.2.3.4, the 32 nibbles in reverse for IPv6 (b.a.9.8...domain),
 * the IPv4 form for an IPv4-mapped IPv6 address.  Returns -1 when addr
 * is not an address or the name would be over DNSBL_NAME_MAX octets. */
int     dnsbl_query_name(const char *addr, const char *domain, struct VBUF *out);

/* 1 when an A answer (dotted quad text) passes the entry's filter; 0
 * when it does not or is not an IPv4 address.  An entry without a
 * filter takes any answer but an error code (below): what an
 * administrator who wrote no filter means is "listed", and a list that
 * refuses the query says nothing about the client.  A filter is taken
 * as written, error codes included. */
int     dnsbl_match(const DNSBL_SITE *site, const char *answer_addr);

/* 1 when an A answer is one of the error codes that lists give in
 * 127.255.255.0/24 instead of an answer (Spamhaus: 127.255.255.252 a
 * query for a zone that does not exist, .254 through a public
 * resolver, .255 over the free quota). */
int     dnsbl_answer_is_error(const char *answer_addr);

/* The score of one client.  answers[z] holds zone z's A answers, a
 * NULL-terminated list of dotted quads, or is NULL when the zone did not
 * list the client (NXDOMAIN) or did not answer in time.  Each entry with
 * an answer that passes its filter adds its weight once.  When matches
 * is not NULL it is set to the number of such entries; when matched is
 * not NULL the domains of those entries are appended to it, each once,
 * separated by commas (zen.spamhaus.org,bl.spamcop.net). */
int     dnsbl_score(const DNSBL_SITES *sites, const char *const *const *answers,
                    int *matches, struct VBUF *matched);

/* What a score means, the parameters read as values: LISTED when the
 * score reaches threshold (dnsbl_threshold), ALLOWLISTED when
 * allowlist_threshold (dnsbl_allowlist_threshold) is negative and the
 * score is at or below it, NEUTRAL otherwise, and always when no entry
 * matched (matches = 0: no list knows the client, whatever the
 * thresholds).  LISTED wins when both hold. */
typedef enum DNSBL_VERDICT {
    DNSBL_NEUTRAL,
    DNSBL_LISTED,
    DNSBL_ALLOWLISTED,
} DNSBL_VERDICT;

DNSBL_VERDICT dnsbl_verdict(int score, int matches, long long threshold,
                            long long allowlist_threshold);
/* "neutral", "listed", "allowlisted" (for logs and alligatectl). */
const char *dnsbl_verdict_name(DNSBL_VERDICT verdict);

#endif
