/* libFuzzer target: dnsbl_sites in Postfix's postscreen_dnsbl_sites syntax
 * (lib/dnsbl.c), which every program reads from main.cf, and what
 * dnscache does with it: query names, filters on answers, the score.
 *
 * The input up to the first 0xff byte is the spec; the bytes after it,
 * four at a time, are A answers, dealt to the zones in turn.  Checked:
 * a refusal says why and a parse sets nothing outside the bounds; the
 * entries written back read the same and match the same; every
 * separator means the same; each filter agrees with a naive second
 * reading of its text; the score is the sum of the weights of the
 * entries with a passing answer, each once; query names fit. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dnsbl.h"
#include "mymalloc.h"
#include "vbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ANSWERS 64

/* Does number n pass one octet's pattern text (n, or [a;b..c])? */
static int
naive_octet(const char *pat, size_t len, int n)
{
    char *buf, *item, *save = NULL;
    int hit = 0;

    if (pat[0] != '[')
        return atoi(pat) == n;
    buf = mystrndup(pat + 1, len - 2);
    for (item = strtok_r(buf, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
        char *dots = strstr(item, "..");
        int lo = atoi(item), hi = dots ? atoi(dots + 2) : lo;

        if (n >= lo && n <= hi)
            hit = 1;
    }
    myfree(buf);
    return hit;
}

/* The filter's text, read again: split on the dots outside brackets. */
static int
naive_match(const char *filter, const unsigned char a[4])
{
    const char *cp = filter;
    int i;

    /* Without a filter, anything but 127.255.255.0/24 (error codes). */
    if (filter == NULL)
        return !(a[0] == 127 && a[1] == 255 && a[2] == 255);
    for (i = 0; i < 4; i++) {
        const char *end = cp;

        if (*cp == '[')
            end = strchr(cp, ']') + 1;
        else
            while (*end && *end != '.')
                end++;
        if (!naive_octet(cp, (size_t) (end - cp), a[i]))
            return 0;
        cp = *end ? end + 1 : end;
    }
    return 1;
}

static void
same_sites(const DNSBL_SITES *a, const DNSBL_SITES *b)
{
    int i;

    if (dnsbl_count(a) != dnsbl_count(b) || dnsbl_zone_count(a) != dnsbl_zone_count(b))
        abort();
    for (i = 0; i < dnsbl_count(a); i++) {
        const DNSBL_SITE *x = dnsbl_site(a, i), *y = dnsbl_site(b, i);
        const char *fx = dnsbl_site_filter(x), *fy = dnsbl_site_filter(y);

        if (strcmp(dnsbl_site_domain(x), dnsbl_site_domain(y)) != 0
            || dnsbl_site_weight(x) != dnsbl_site_weight(y)
            || dnsbl_site_zone(x) != dnsbl_site_zone(y)
            || (fx == NULL) != (fy == NULL) || (fx && strcmp(fx, fy) != 0))
            abort();
    }
}

static void
check_sites(const DNSBL_SITES *sites, const uint8_t *ans, size_t nans)
{
    int n = dnsbl_count(sites), zones = dnsbl_zone_count(sites);
    const char **lists = mycalloc((size_t) zones * (MAX_ANSWERS + 1) + 1, sizeof(char *));
    const char *const **answers = mycalloc((size_t) zones + 1, sizeof(char **));
    char (*text)[16] = mycalloc(MAX_ANSWERS + 1, 16);
    int *count = mycalloc((size_t) zones + 1, sizeof(int));
    VBUF *name = vbuf_create(300);
    VBUF *matched = vbuf_create(100);
    int i, j, z, want = 0, want_n = 0, matches = -1, score;

    if (n < 0 || n > DNSBL_SITES_MAX || zones > n || (n > 0 && zones < 1))
        abort();
    for (z = 0; z < zones; z++) {
        const char *zone = dnsbl_zone(sites, z);

        /* Zones are distinct, and every query name fits. */
        for (j = 0; j < z; j++)
            if (strcasecmp(dnsbl_zone(sites, j), zone) == 0)
                abort();
        if (dnsbl_query_name("192.0.2.1", zone, name) != 0
            || dnsbl_query_name("2001:db8::1", zone, name) != 0
            || vbuf_len(name) > DNSBL_NAME_MAX
            || strcmp(vbuf_str(name) + 64, zone) != 0)
            abort();
        answers[z] = (const char *const *) (lists + z * (MAX_ANSWERS + 1));
    }
    /* Deal the answers to the zones in turn. */
    for (i = 0; i < (int) nans && i < MAX_ANSWERS && zones > 0; i++) {
        const uint8_t *a = ans + 4 * i;

        snprintf(text[i], 16, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
        z = i % zones;
        lists[z * (MAX_ANSWERS + 1) + count[z]++] = text[i];
    }
    for (i = 0; i < n; i++) {
        const DNSBL_SITE *site = dnsbl_site(sites, i);
        int w = dnsbl_site_weight(site), hit = 0;

        z = dnsbl_site_zone(site);
        if (z < 0 || z >= zones || strcasecmp(dnsbl_zone(sites, z),
                                              dnsbl_site_domain(site)) != 0)
            abort();
        if (w < -DNSBL_WEIGHT_MAX || w > DNSBL_WEIGHT_MAX)
            abort();
        for (j = 0; j < count[z]; j++) {
            const uint8_t *a = ans + 4 * (j * zones + z);
            int m = dnsbl_match(site, answers[z][j]);

            if (m != naive_match(dnsbl_site_filter(site), a))
                abort();
            hit |= m;
        }
        if (hit) {
            want += w;
            want_n++;
        }
    }
    /* A zone without answers may also be given as NULL. */
    for (z = 1; z < zones; z += 2)
        if (count[z] == 0)
            answers[z] = NULL;
    score = dnsbl_score(sites, answers, &matches, matched);
    if (score != want || matches != want_n || (matches == 0) != (vbuf_len(matched) == 0))
        abort();
    if ((dnsbl_verdict(score, matches, 1, -1) == DNSBL_LISTED)
        != (matches > 0 && score >= 1)
        || (dnsbl_verdict(score, matches, 1, -1) == DNSBL_ALLOWLISTED)
        != (matches > 0 && score <= -1))
        abort();
    vbuf_free(matched);
    vbuf_free(name);
    myfree(count);
    myfree(text);
    myfree(answers);
    myfree(lists);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *sep = memchr(data, 0xff, size);
    size_t len = sep ? (size_t) (sep - data) : size;
    const uint8_t *ans = sep ? sep + 1 : data + size;
    size_t nans = (size - (size_t) (ans - data)) / 4;
    char *str = mystrndup((const char *) data, len);
    char *cp;
    VBUF *why = vbuf_create(100);
    VBUF *again = vbuf_create(100);
    DNSBL_SITES *sites, *sites2;
    int i;

    sites = dnsbl_parse(str, why);
    if (sites == NULL) {
        if (vbuf_len(why) == 0)
            abort();
    } else {
        if (vbuf_len(why) != 0)
            abort();
        check_sites(sites, ans, nans);
        /* Written back, one form, the same entries. */
        for (i = 0; i < dnsbl_count(sites); i++) {
            const DNSBL_SITE *site = dnsbl_site(sites, i);

            vbuf_printf(again, "%s%s", i ? ", " : "", dnsbl_site_domain(site));
            if (dnsbl_site_filter(site))
                vbuf_printf(again, "=%s", dnsbl_site_filter(site));
            vbuf_printf(again, "*%d", dnsbl_site_weight(site));
        }
        if ((sites2 = dnsbl_parse(vbuf_str(again), why)) == NULL)
            abort();
        same_sites(sites, sites2);
        dnsbl_free(sites2);
    }
    /* Every separator means the same. */
    for (cp = str; *cp; cp++)
        if (strchr(" \t\r\n\v\f", *cp))
            *cp = ',';
    sites2 = dnsbl_parse(str, why);
    if ((sites == NULL) != (sites2 == NULL))
        abort();
    if (sites)
        same_sites(sites, sites2);
    dnsbl_free(sites2);
    dnsbl_free(sites);
    /* The spec as an address: a name, or a refusal that leaves nothing. */
    if (dnsbl_query_name(str, "bl.example", again) == 0) {
        if (vbuf_len(again) > DNSBL_NAME_MAX
            || strcmp(vbuf_str(again) + vbuf_len(again) - 11, ".bl.example") != 0)
            abort();
    } else if (vbuf_len(again) != 0) {
        abort();
    }
    vbuf_free(again);
    vbuf_free(why);
    myfree(str);
    return 0;
}
