/* DNS blocklists: the dnsbl_sites parser, query names, answer filters,
 * score and verdict (see dnsbl.h for the syntax).  No I/O: dnscache and
 * smtpd call it, the configuration check refuses what it refuses. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dnsbl.h"
#include "mymalloc.h"
#include "printable.h"
#include "vbuf.h"

#define DNSBL_SEP   ", \t\r\n\v\f"

struct DNSBL_SITE {
    char   *domain;
    char   *filter;                     /* as written, or NULL */
    int     weight;
    int     zone;
    /* With a filter: bit n of octet[i] set when n may be the i-th octet. */
    unsigned char octet[4][32];
};

struct DNSBL_SITES {
    DNSBL_SITE *site;
    int     count;
    char  **zone;                       /* points into site[].domain */
    int     zones;
};

/* Parsing -----------------------------------------------------------------*/

/* A number 0..255 at *cpp, advanced past it. */
static int
dnsbl_parse_number(const char **cpp, int *value, VBUF *why)
{
    const char *cp = *cpp;
    int     n = 0;

    if (!isdigit((unsigned char) *cp)) {
        if (*cp)
            vbuf_printf(why, "'%c' where a number should be",
                        isprint((unsigned char) *cp) ? *cp : '?');
        else
            vbuf_printf(why, "a number missing at the end");
        return -1;
    }
    while (isdigit((unsigned char) *cp)) {
        n = n * 10 + (*cp++ - '0');
        if (n > 255) {
            vbuf_printf(why, "a number over 255");
            return -1;
        }
    }
    *cpp = cp;
    *value = n;
    return 0;
}

/* One octet's pattern at *cpp: a number or [n;n..m;...]. */
static int
dnsbl_parse_octet(const char **cpp, unsigned char *bits, VBUF *why)
{
    const char *cp = *cpp;
    int     lo, hi;

    if (*cp != '[') {
        if (dnsbl_parse_number(&cp, &lo, why) < 0)
            return -1;
        bits[lo / 8] |= 1 << (lo % 8);
        *cpp = cp;
        return 0;
    }
    cp++;
    for (;;) {
        if (dnsbl_parse_number(&cp, &lo, why) < 0)
            return -1;
        hi = lo;
        if (cp[0] == '.' && cp[1] == '.') {
            cp += 2;
            if (dnsbl_parse_number(&cp, &hi, why) < 0)
                return -1;
            if (hi < lo) {
                vbuf_printf(why, "reversed range %d..%d", lo, hi);
                return -1;
            }
        }
        for (; lo <= hi; lo++)
            bits[lo / 8] |= 1 << (lo % 8);
        if (*cp == ';') {
            cp++;
        } else if (*cp == ']') {
            *cpp = cp + 1;
            return 0;
        } else if (*cp == 0) {
            vbuf_printf(why, "'[' without ']'");
            return -1;
        } else {
            vbuf_printf(why, "'%c' where ';', '..' or ']' should be",
                        isprint((unsigned char) *cp) ? *cp : '?');
            return -1;
        }
    }
}

/* d.d.d.d into the entry's bitmaps; the reason, without the context, in
 * why. */
static int
dnsbl_parse_filter(DNSBL_SITE *site, const char *filter, VBUF *why)
{
    const char *cp = filter;
    int     i;

    for (i = 0; i < 4; i++) {
        if (i > 0) {
            if (*cp != '.') {
                vbuf_printf(why, "%s", *cp ? "octets not separated by '.'" :
                            "fewer than 4 octets");
                return -1;
            }
            cp++;
        }
        if (dnsbl_parse_octet(&cp, site->octet[i], why) < 0)
            return -1;
    }
    if (*cp == '.') {
        vbuf_printf(why, "more than 4 octets");
        return -1;
    }
    if (*cp) {
        vbuf_printf(why, "'%c' after the 4th octet",
                    isprint((unsigned char) *cp) ? *cp : '?');
        return -1;
    }
    return 0;
}

/* Letters, digits, '-' and '_' in labels of 1..63, no leading '-'. */
static int
dnsbl_domain_ok(const char *name)
{
    const char *cp;
    size_t  label = 0;

    if (*name == 0 || *name == '-')
        return 0;
    for (cp = name; *cp; cp++) {
        if (*cp == '.') {
            if (label == 0 || cp[1] == '-')
                return 0;
            label = 0;
        } else if (isalnum((unsigned char) *cp) || *cp == '-' || *cp == '_') {
            if (++label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    return label > 0;
}

/* An integer -DNSBL_WEIGHT_MAX..DNSBL_WEIGHT_MAX, optional sign. */
static int
dnsbl_parse_weight(const char *text, int *weight)
{
    const char *cp = text;
    int     neg = 0;
    long    n = 0;

    if (*cp == '-' || *cp == '+')
        neg = (*cp++ == '-');
    if (!isdigit((unsigned char) *cp))
        return -1;
    for (; *cp; cp++) {
        if (!isdigit((unsigned char) *cp))
            return -1;
        n = n * 10 + (*cp - '0');
        if (n > DNSBL_WEIGHT_MAX)
            return -1;
    }
    *weight = (int) (neg ? -n : n);
    return 0;
}

/* One entry, item being its text alone and shown the same made
 * printable, for messages. */
static int
dnsbl_parse_entry(DNSBL_SITE *site, const char *item, const char *shown,
                  VBUF *why)
{
    char   *copy = mystrdup(item);
    char   *weight = strchr(copy, '*');
    char   *filter;
    VBUF   *reason;

    site->weight = 1;
    if (weight) {
        *weight++ = 0;
        if (dnsbl_parse_weight(weight, &site->weight) < 0) {
            vbuf_printf(why, "bad weight \"%s\" in \"%s\" (use an integer "
                        "from -%d to %d)", printable_str(weight), shown,
                        DNSBL_WEIGHT_MAX, DNSBL_WEIGHT_MAX);
            myfree(copy);
            return -1;
        }
    }
    if ((filter = strchr(copy, '=')) != NULL)
        *filter++ = 0;
    if (!dnsbl_domain_ok(copy)) {
        vbuf_printf(why, "bad domain name \"%s\" in \"%s\"",
                    printable_str(copy), shown);
        myfree(copy);
        return -1;
    }
    if (strlen(copy) > DNSBL_DOMAIN_MAX) {
        vbuf_printf(why, "domain name in \"%s\" over %d octets (an IPv6 "
                    "query adds 64 and a name has at most %d)", shown,
                    DNSBL_DOMAIN_MAX, DNSBL_NAME_MAX);
        myfree(copy);
        return -1;
    }
    if (filter) {
        reason = vbuf_create(50);
        if (dnsbl_parse_filter(site, filter, reason) < 0) {
            vbuf_printf(why, "bad filter \"%s\" in \"%s\": %s (use d.d.d.d, "
                        "each d a number 0..255 or a [list] of numbers and "
                        "n..m ranges separated by ';')", printable_str(filter),
                        shown, vbuf_str(reason));
            vbuf_free(reason);
            myfree(copy);
            return -1;
        }
        vbuf_free(reason);
        site->filter = mystrdup(filter);
    }
    site->domain = mystrdup(copy);
    myfree(copy);
    return 0;
}

DNSBL_SITES *
dnsbl_parse(const char *spec, VBUF *why)
{
    DNSBL_SITES *sites = mymalloc(sizeof(*sites));
    const char *cp = spec;
    int     alloc = 0;
    VBUF   *shown = vbuf_create(100);

    vbuf_reset(why);
    memset(sites, 0, sizeof(*sites));
    for (;;) {
        size_t  len;
        char   *item;
        DNSBL_SITE *site;
        int     z;

        cp += strspn(cp, DNSBL_SEP);
        if (*cp == 0)
            break;
        len = strcspn(cp, DNSBL_SEP);
        if (sites->count == DNSBL_SITES_MAX) {
            vbuf_printf(why, "more than %d entries", DNSBL_SITES_MAX);
            vbuf_free(shown);
            return dnsbl_free(sites);
        }
        if (sites->count == alloc) {
            alloc = alloc ? alloc * 2 : 8;
            sites->site = myrealloc(sites->site, sizeof(DNSBL_SITE) * alloc);
            sites->zone = myrealloc(sites->zone, sizeof(char *) * alloc);
        }
        site = &sites->site[sites->count];
        memset(site, 0, sizeof(*site));
        item = mystrndup(cp, len);
        cp += len;
        if (dnsbl_parse_entry(site, item, printable_vbuf(shown, item), why) < 0) {
            myfree(item);
            vbuf_free(shown);
            return dnsbl_free(sites);
        }
        myfree(item);
        sites->count++;
        for (z = 0; z < sites->zones; z++)
            if (strcasecmp(sites->zone[z], site->domain) == 0)
                break;
        if (z == sites->zones)
            sites->zone[sites->zones++] = site->domain;
        site->zone = z;
    }
    vbuf_free(shown);
    return sites;
}

DNSBL_SITES *
dnsbl_free(DNSBL_SITES *sites)
{
    int     i;

    if (sites == NULL)
        return NULL;
    for (i = 0; i < sites->count; i++) {
        myfree(sites->site[i].domain);
        if (sites->site[i].filter)
            myfree(sites->site[i].filter);
    }
    if (sites->site)
        myfree(sites->site);
    if (sites->zone)
        myfree(sites->zone);
    myfree(sites);
    return NULL;
}

/* Accessors ---------------------------------------------------------------*/

int
dnsbl_count(const DNSBL_SITES *sites)
{
    return sites->count;
}

const DNSBL_SITE *
dnsbl_site(const DNSBL_SITES *sites, int i)
{
    return &sites->site[i];
}

const char *
dnsbl_site_domain(const DNSBL_SITE *site)
{
    return site->domain;
}

int
dnsbl_site_weight(const DNSBL_SITE *site)
{
    return site->weight;
}

const char *
dnsbl_site_filter(const DNSBL_SITE *site)
{
    return site->filter;
}

int
dnsbl_site_zone(const DNSBL_SITE *site)
{
    return site->zone;
}

int
dnsbl_zone_count(const DNSBL_SITES *sites)
{
    return sites->zones;
}

const char *
dnsbl_zone(const DNSBL_SITES *sites, int z)
{
    return sites->zone[z];
}

/* Queries and answers ------------------------------------------------------*/

int
dnsbl_query_name(const char *addr, const char *domain, VBUF *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char a[16];
    const unsigned char *v4 = NULL;
    int     i;

    vbuf_reset(out);
    if (*domain == 0)
        return -1;
    if (inet_pton(AF_INET, addr, a) == 1) {
        v4 = a;
    } else if (inet_pton(AF_INET6, addr, a) == 1) {
        if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *) a))
            v4 = a + 12;
    } else {
        return -1;
    }
    if (v4) {
        vbuf_printf(out, "%u.%u.%u.%u.", v4[3], v4[2], v4[1], v4[0]);
    } else {
        for (i = 15; i >= 0; i--) {
            vbuf_append_char(out, hex[a[i] & 0xf]);
            vbuf_append_char(out, '.');
            vbuf_append_char(out, hex[a[i] >> 4]);
            vbuf_append_char(out, '.');
        }
    }
    vbuf_append_str(out, domain);
    if (vbuf_len(out) > DNSBL_NAME_MAX) {
        vbuf_reset(out);
        return -1;
    }
    return 0;
}

/* 127.255.255.0/24, the lists' error codes. */
static int
dnsbl_error_octets(const unsigned char a[4])
{
    return a[0] == 127 && a[1] == 255 && a[2] == 255;
}

int
dnsbl_answer_is_error(const char *answer_addr)
{
    unsigned char a[4];

    return inet_pton(AF_INET, answer_addr, a) == 1 && dnsbl_error_octets(a);
}

int
dnsbl_match(const DNSBL_SITE *site, const char *answer_addr)
{
    unsigned char a[4];
    int     i;

    if (inet_pton(AF_INET, answer_addr, a) != 1)
        return 0;
    if (site->filter == NULL)
        return !dnsbl_error_octets(a);
    for (i = 0; i < 4; i++)
        if ((site->octet[i][a[i] / 8] & (1 << (a[i] % 8))) == 0)
            return 0;
    return 1;
}

/* Score and verdict --------------------------------------------------------*/

int
dnsbl_score(const DNSBL_SITES *sites, const char *const *const *answers,
            int *matches, VBUF *matched)
{
    int     score = 0, n = 0;
    int     i, j;
    const char *const *ap;
    char   *listed = mymalloc(sites->zones + 1);

    memset(listed, 0, sites->zones + 1);
    for (i = 0; i < sites->count; i++) {
        const DNSBL_SITE *site = &sites->site[i];

        if ((ap = answers[site->zone]) == NULL)
            continue;
        for (j = 0; ap[j]; j++)
            if (dnsbl_match(site, ap[j]))
                break;
        if (ap[j] == NULL)
            continue;
        score += site->weight;
        n++;
        if (matched && !listed[site->zone]) {
            if (vbuf_len(matched) > 0)
                vbuf_append_char(matched, ',');
            vbuf_append_str(matched, site->domain);
        }
        listed[site->zone] = 1;
    }
    myfree(listed);
    if (matches)
        *matches = n;
    return score;
}

DNSBL_VERDICT
dnsbl_verdict(int score, int matches, long long threshold,
              long long allowlist_threshold)
{
    if (matches == 0)
        return DNSBL_NEUTRAL;
    if (score >= threshold)
        return DNSBL_LISTED;
    if (allowlist_threshold < 0 && score <= allowlist_threshold)
        return DNSBL_ALLOWLISTED;
    return DNSBL_NEUTRAL;
}

const char *
dnsbl_verdict_name(DNSBL_VERDICT verdict)
{
    switch (verdict) {
    case DNSBL_LISTED:
        return "listed";
    case DNSBL_ALLOWLISTED:
        return "allowlisted";
    default:
        return "neutral";
    }
}
