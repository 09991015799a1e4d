/* Lists of IPv4 and IPv6 addresses and CIDR blocks.
 *
 * Every entry becomes a range [lo, hi] of 128-bit addresses, big-endian so
 * that memcmp() orders them; IPv4 is stored in its IPv4-mapped form
 * (::ffff:a.b.c.d), so a v4-mapped client on an IPv6 socket matches IPv4
 * entries and "::ffff:0:0/96" means every IPv4 address.  cidr_list_finish()
 * sorts the ranges and merges those that overlap or touch; a lookup is then
 * a binary search for the last range that starts at or below the address. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cidr_list.h"
#include "list_file.h"
#include "msg.h"
#include "mymalloc.h"
#include "printable.h"
#include "vbuf.h"

typedef struct CIDR_RANGE {
    uint8_t lo[16];
    uint8_t hi[16];
} CIDR_RANGE;

struct CIDR_LIST {
    CIDR_RANGE *ranges;
    size_t nranges;
    size_t cap;
    size_t entries;             /* entries added, before merging */
    int finished;               /* sorted and merged since the last add */
};

static const uint8_t cidr_list_v4_prefix[12] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

CIDR_LIST *
cidr_list_create(void)
{
    CIDR_LIST *list = mymalloc(sizeof(*list));

    list->ranges = NULL;
    list->nranges = list->cap = list->entries = 0;
    list->finished = 0;
    return list;
}

CIDR_LIST *
cidr_list_free(CIDR_LIST *list)
{
    if (list) {
        myfree(list->ranges);
        myfree(list);
    }
    return NULL;
}

/* Parses a bare IPv4 or IPv6 address into its 128-bit form; returns the
 * family, or 0 when text is not an address. */
static int
cidr_list_parse_addr(const char *text, size_t len, uint8_t addr[16])
{
    char buf[INET6_ADDRSTRLEN + 1];

    if (len == 0 || len >= sizeof(buf))
        return 0;
    memcpy(buf, text, len);
    buf[len] = 0;
    if (inet_pton(AF_INET, buf, addr + 12) == 1) {
        memcpy(addr, cidr_list_v4_prefix, 12);
        return AF_INET;
    }
    if (inet_pton(AF_INET6, buf, addr) == 1)
        return AF_INET6;
    return 0;
}

/* Parses the digits after '/'; returns the length or -1. */
static int
cidr_list_parse_prefix(const char *text, int max)
{
    int len = 0;
    int ndigits = 0;

    for (; *text; text++) {
        if (!isdigit((unsigned char) *text) || ++ndigits > 3)
            return -1;
        len = len * 10 + (*text - '0');
    }
    return (ndigits == 0 || len > max) ? -1 : len;
}

int
cidr_list_add(CIDR_LIST *list, const char *entry, VBUF *why)
{
    const char *addr = entry;
    const char *end;
    const char *rest;
    uint8_t net[16];
    CIDR_RANGE *r;
    int family;
    int plen;
    int i;

    vbuf_reset(why);

    /* Split "addr", "addr/len", "[addr]" or "[addr]/len". */
    if (*entry == '[') {
        addr = entry + 1;
        if ((end = strchr(addr, ']')) == NULL)
            goto bad_addr;
        rest = end + 1;
    } else {
        end = rest = addr + strcspn(addr, "/");
    }
    if (*rest != 0 && *rest != '/')
        goto bad_addr;
    if ((family = cidr_list_parse_addr(addr, (size_t) (end - addr), net)) == 0)
        goto bad_addr;

    /* Prefix lengths count in the 128-bit space from here on. */
    if (*rest == 0) {
        plen = 128;
    } else if (family == AF_INET) {
        if ((plen = cidr_list_parse_prefix(rest + 1, 32)) < 0)
            goto bad_prefix;
        plen += 96;
    } else {
        if ((plen = cidr_list_parse_prefix(rest + 1, 128)) < 0)
            goto bad_prefix;
    }

    if (list->nranges == list->cap) {
        list->cap = list->cap ? list->cap * 2 : 64;
        list->ranges = myrealloc(list->ranges, list->cap * sizeof(*r));
    }
    r = list->ranges + list->nranges;
    for (i = 0; i < 16; i++) {
        int bits = plen - 8 * i;        /* prefix bits in this byte */
        uint8_t mask = bits >= 8 ? 0xff
                       : bits <= 0 ? 0 : (uint8_t) (0xff << (8 - bits));

        if (net[i] & ~mask) {
            vbuf_printf(why, "host bits set in \"%s\"",
                        printable_str(entry));
            return -1;
        }
        r->lo[i] = net[i];
        r->hi[i] = net[i] | (uint8_t) ~mask;
    }
    list->nranges++;
    list->entries++;
    list->finished = 0;
    return 0;

bad_addr:
    vbuf_printf(why, "bad address or CIDR block \"%s\"",
                printable_str(entry));
    return -1;
bad_prefix:
    vbuf_printf(why, "bad prefix length in \"%s\"", printable_str(entry));
    return -1;
}

/* The list_file callback: ctx is the list. */
static int
cidr_list_add_entry(void *ctx, const char *entry, VBUF *why)
{
    return cidr_list_add(ctx, entry, why);
}

int
cidr_list_load_file(CIDR_LIST *list, const char *path, VBUF *why)
{
    return list_file_read(path, cidr_list_add_entry, list, why);
}

static int
cidr_list_range_cmp(const void *a, const void *b)
{
    const CIDR_RANGE *ra = a;
    const CIDR_RANGE *rb = b;

    return memcmp(ra->lo, rb->lo, 16);
}

/* 1 if b starts at most one address after a ends, so they can merge. */
static int
cidr_list_joins(const uint8_t a_hi[16], const uint8_t b_lo[16])
{
    uint8_t next[16];
    int i;

    if (memcmp(b_lo, a_hi, 16) <= 0)
        return 1;
    /* a_hi + 1; a_hi cannot be all ones here, since b_lo > a_hi. */
    memcpy(next, a_hi, 16);
    for (i = 15; i >= 0; i--)
        if (++next[i] != 0)
            break;
    return memcmp(b_lo, next, 16) == 0;
}

void
cidr_list_finish(CIDR_LIST *list)
{
    CIDR_RANGE *r = list->ranges;
    size_t out = 0;
    size_t i;

    if (list->nranges > 0) {
        qsort(r, list->nranges, sizeof(*r), cidr_list_range_cmp);
        for (i = 1; i < list->nranges; i++) {
            if (cidr_list_joins(r[out].hi, r[i].lo)) {
                if (memcmp(r[i].hi, r[out].hi, 16) > 0)
                    memcpy(r[out].hi, r[i].hi, 16);
            } else {
                r[++out] = r[i];
            }
        }
        list->nranges = out + 1;
    }
    list->finished = 1;
}

static void
cidr_list_check_finished(const CIDR_LIST *list)
{
    if (!list->finished)
        msg_panic("cidr_list_match: list used before cidr_list_finish");
}

static int
cidr_list_match_addr(const CIDR_LIST *list, const uint8_t addr[16])
{
    size_t lo = 0;
    size_t hi = list->nranges;
    size_t mid;

    /* Find the first range that starts above addr; the one before it is
     * the only one that can contain addr. */
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (memcmp(list->ranges[mid].lo, addr, 16) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && memcmp(addr, list->ranges[lo - 1].hi, 16) <= 0;
}

int
cidr_list_match_sa(const CIDR_LIST *list, const struct sockaddr *sa)
{
    uint8_t addr[16];

    cidr_list_check_finished(list);
    switch (sa->sa_family) {
    case AF_INET:
        memcpy(addr, cidr_list_v4_prefix, 12);
        memcpy(addr + 12, &((const struct sockaddr_in *) sa)->sin_addr, 4);
        break;
    case AF_INET6:
        memcpy(addr, &((const struct sockaddr_in6 *) sa)->sin6_addr, 16);
        break;
    default:
        return 0;
    }
    return cidr_list_match_addr(list, addr);
}

/* Accepts "192.0.2.1", "2001:db8::1" and "[2001:db8::1]". */
int
cidr_list_match_str(const CIDR_LIST *list, const char *str)
{
    uint8_t addr[16];
    size_t len = strlen(str);

    cidr_list_check_finished(list);
    if (len >= 2 && str[0] == '[' && str[len - 1] == ']') {
        str++;
        len -= 2;
    }
    if (cidr_list_parse_addr(str, len, addr) == 0)
        return 0;
    return cidr_list_match_addr(list, addr);
}

/* The number of entries added, before merging. */
size_t
cidr_list_count(const CIDR_LIST *list)
{
    return list->entries;
}
