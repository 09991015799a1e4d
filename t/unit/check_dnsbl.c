/* Unit tests for DNS blocklists (lib/dnsbl.c): the dnsbl_sites parser in
 * every form of Postfix's postscreen_dnsbl_sites, what it refuses, query
 * names, filters, scores and verdicts; and the configuration type
 * (lib/conf_type.c, CONF_DNSBL). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "dnsbl.h"
#include "fixture.h"
#include "vbuf.h"

static DNSBL_SITES *
sites_ok(const char *spec)
{
    VBUF *why = vbuf_create(10);
    DNSBL_SITES *sites = dnsbl_parse(spec, why);

    ck_assert_msg(sites != NULL, "\"%s\": %s", spec, vbuf_str(why));
    ck_assert_str_eq(vbuf_str(why), "");
    vbuf_free(why);
    return sites;
}

static void
sites_bad(const char *spec, const char *reason)
{
    VBUF *why = vbuf_create(10);

    vbuf_set(why, "stale text");
    ck_assert_msg(dnsbl_parse(spec, why) == NULL, "\"%s\" parsed", spec);
    ck_assert_str_eq(vbuf_str(why), reason);
    vbuf_free(why);
}

/* One entry: its domain, filter (NULL: none) and weight. */
static void
entry_is(const DNSBL_SITES *sites, int i, const char *domain,
         const char *filter, int weight)
{
    const DNSBL_SITE *site;

    ck_assert_int_lt(i, dnsbl_count(sites));
    site = dnsbl_site(sites, i);
    ck_assert_str_eq(dnsbl_site_domain(site), domain);
    if (filter)
        ck_assert_str_eq(dnsbl_site_filter(site), filter);
    else
        ck_assert_ptr_null(dnsbl_site_filter(site));
    ck_assert_int_eq(dnsbl_site_weight(site), weight);
}

START_TEST(test_forms)
{
    DNSBL_SITES *s;

    /* domain */
    s = sites_ok("zen.spamhaus.org");
    ck_assert_int_eq(dnsbl_count(s), 1);
    entry_is(s, 0, "zen.spamhaus.org", NULL, 1);
    dnsbl_free(s);
    /* domain*weight */
    s = sites_ok("zen.spamhaus.org*3");
    entry_is(s, 0, "zen.spamhaus.org", NULL, 3);
    dnsbl_free(s);
    /* domain=filter */
    s = sites_ok("example.com=127.0.0.4");
    entry_is(s, 0, "example.com", "127.0.0.4", 1);
    dnsbl_free(s);
    /* domain=filter*weight, with each kind of filter */
    s = sites_ok("zen.spamhaus.org=127.0.0.[2..11]*2 "
                 "list.dnswl.org=127.0.[0..255].[1..3]*-5, "
                 "wl.mailspike.net=127.0.0.[17;18]*-1,"
                 "bl.example=127.0.0.[2;4;6]*+4\t"
                 "mix.example=127.[0;1].0.[2;10..11;20]*0");
    ck_assert_int_eq(dnsbl_count(s), 5);
    entry_is(s, 0, "zen.spamhaus.org", "127.0.0.[2..11]", 2);
    entry_is(s, 1, "list.dnswl.org", "127.0.[0..255].[1..3]", -5);
    entry_is(s, 2, "wl.mailspike.net", "127.0.0.[17;18]", -1);
    entry_is(s, 3, "bl.example", "127.0.0.[2;4;6]", 4);
    entry_is(s, 4, "mix.example", "127.[0;1].0.[2;10..11;20]", 0);
    dnsbl_free(s);
    /* The example and Postfix's. */
    s = sites_ok("zen.spamhaus.org*3, bl.spamcop.net*2, "
                 "list.dnswl.org=127.0.[0..255].[1..3]*-5");
    ck_assert_int_eq(dnsbl_count(s), 3);
    entry_is(s, 1, "bl.spamcop.net", NULL, 2);
    dnsbl_free(s);
    s = sites_ok("example.com*2, example.net, example.org");
    entry_is(s, 0, "example.com", NULL, 2);
    entry_is(s, 2, "example.org", NULL, 1);
    dnsbl_free(s);
    /* Bounds of weights; a [single] number; underscores and digits. */
    s = sites_ok("a.example*1000000 b.example*-1000000 c.example=127.0.0.[2] "
                 "_x.0-9.example");
    entry_is(s, 0, "a.example", NULL, 1000000);
    entry_is(s, 1, "b.example", NULL, -1000000);
    entry_is(s, 2, "c.example", "127.0.0.[2]", 1);
    entry_is(s, 3, "_x.0-9.example", NULL, 1);
    dnsbl_free(s);
}
END_TEST

START_TEST(test_separators)
{
    DNSBL_SITES *s;

    s = sites_ok("");
    ck_assert_int_eq(dnsbl_count(s), 0);
    ck_assert_int_eq(dnsbl_zone_count(s), 0);
    dnsbl_free(s);
    s = sites_ok(" ,\t,\n ");
    ck_assert_int_eq(dnsbl_count(s), 0);
    dnsbl_free(s);
    s = sites_ok(",,a.example,,\n  b.example*2\r\n,\tc.example ,");
    ck_assert_int_eq(dnsbl_count(s), 3);
    entry_is(s, 0, "a.example", NULL, 1);
    entry_is(s, 1, "b.example", NULL, 2);
    entry_is(s, 2, "c.example", NULL, 1);
    dnsbl_free(s);
}
END_TEST

/* Entries that share a domain share one query. */
START_TEST(test_zones)
{
    DNSBL_SITES *s = sites_ok("list.dnswl.org=127.0.[2..15].0*-2 zen.spamhaus.org "
                              "list.dnswl.org=127.0.[2..15].1*-3 "
                              "LIST.dnswl.org=127.0.[2..15].[2..3]*-4");

    ck_assert_int_eq(dnsbl_count(s), 4);
    ck_assert_int_eq(dnsbl_zone_count(s), 2);
    ck_assert_str_eq(dnsbl_zone(s, 0), "list.dnswl.org");
    ck_assert_str_eq(dnsbl_zone(s, 1), "zen.spamhaus.org");
    ck_assert_int_eq(dnsbl_site_zone(dnsbl_site(s, 0)), 0);
    ck_assert_int_eq(dnsbl_site_zone(dnsbl_site(s, 1)), 1);
    ck_assert_int_eq(dnsbl_site_zone(dnsbl_site(s, 2)), 0);
    ck_assert_int_eq(dnsbl_site_zone(dnsbl_site(s, 3)), 0);
    entry_is(s, 3, "LIST.dnswl.org", "127.0.[2..15].[2..3]", -4);
    dnsbl_free(s);
}
END_TEST

#define FILTER_HELP " (use d.d.d.d, each d a number 0..255 or a [list] of " \
    "numbers and n..m ranges separated by ';')"
#define WEIGHT_HELP " (use an integer from -1000000 to 1000000)"

START_TEST(test_bad_domains)
{
    sites_bad("=127.0.0.2", "bad domain name \"\" in \"=127.0.0.2\"");
    sites_bad("*2", "bad domain name \"\" in \"*2\"");
    sites_bad("zen..spamhaus.org", "bad domain name \"zen..spamhaus.org\" in "
              "\"zen..spamhaus.org\"");
    sites_bad(".zen.spamhaus.org", "bad domain name \".zen.spamhaus.org\" in "
              "\".zen.spamhaus.org\"");
    sites_bad("zen.spamhaus.org.", "bad domain name \"zen.spamhaus.org.\" in "
              "\"zen.spamhaus.org.\"");
    sites_bad("-bl.example", "bad domain name \"-bl.example\" in \"-bl.example\"");
    sites_bad("bl.-x.example", "bad domain name \"bl.-x.example\" in "
              "\"bl.-x.example\"");
    sites_bad("bl/example", "bad domain name \"bl/example\" in \"bl/example\"");
    /* Not printable: shown as '?'. */
    sites_bad("bl\x01.example*2", "bad domain name \"bl?.example\" in "
              "\"bl?.example*2\"");
    /* The first bad entry is the one named. */
    sites_bad("good.example, b@d.example, worse..example",
              "bad domain name \"b@d.example\" in \"b@d.example\"");
}
END_TEST

START_TEST(test_long_domains)
{
    char label[64], domain[256], spec[300], reason[600];

    /* A label of 63 is fine, 64 is not. */
    memset(label, 'a', 63);
    label[63] = 0;
    snprintf(domain, sizeof(domain), "%s.example", label);
    dnsbl_free(sites_ok(domain));
    snprintf(domain, sizeof(domain), "a%s.example", label);
    snprintf(reason, sizeof(reason), "bad domain name \"%s\" in \"%s\"", domain,
             domain);
    sites_bad(domain, reason);
    /* 189 octets leave room for an IPv6 query; 190 do not. */
    snprintf(domain, sizeof(domain), "%s.%s.%.61s", label, label, label);
    ck_assert_int_eq(strlen(domain), DNSBL_DOMAIN_MAX);
    dnsbl_free(sites_ok(domain));
    snprintf(domain, sizeof(domain), "%s.%s.%.62s", label, label, label);
    snprintf(spec, sizeof(spec), "%s*2", domain);
    snprintf(reason, sizeof(reason), "domain name in \"%s\" over 189 octets "
             "(an IPv6 query adds 64 and a name has at most 253)", spec);
    sites_bad(spec, reason);
}
END_TEST

START_TEST(test_bad_filters)
{
    sites_bad("bl.example=", "bad filter \"\" in \"bl.example=\": a number "
              "missing at the end" FILTER_HELP);
    sites_bad("bl.example=127.0.0", "bad filter \"127.0.0\" in "
              "\"bl.example=127.0.0\": fewer than 4 octets" FILTER_HELP);
    sites_bad("bl.example=127.0.0.", "bad filter \"127.0.0.\" in "
              "\"bl.example=127.0.0.\": a number missing at the end" FILTER_HELP);
    sites_bad("bl.example=127.0.0.2.1", "bad filter \"127.0.0.2.1\" in "
              "\"bl.example=127.0.0.2.1\": more than 4 octets" FILTER_HELP);
    sites_bad("bl.example=127.0.0.256", "bad filter \"127.0.0.256\" in "
              "\"bl.example=127.0.0.256\": a number over 255" FILTER_HELP);
    sites_bad("bl.example=127.0.0.99999999999999999999", "bad filter "
              "\"127.0.0.99999999999999999999\" in "
              "\"bl.example=127.0.0.99999999999999999999\": a number over 255"
              FILTER_HELP);
    sites_bad("bl.example=127.0.0.[11..2]", "bad filter \"127.0.0.[11..2]\" in "
              "\"bl.example=127.0.0.[11..2]\": reversed range 11..2" FILTER_HELP);
    sites_bad("bl.example=127.0.0.[]", "bad filter \"127.0.0.[]\" in "
              "\"bl.example=127.0.0.[]\": ']' where a number should be" FILTER_HELP);
    sites_bad("bl.example=127.0.0.[2", "bad filter \"127.0.0.[2\" in "
              "\"bl.example=127.0.0.[2\": '[' without ']'" FILTER_HELP);
    sites_bad("bl.example=127.0.0.[2;]", "bad filter \"127.0.0.[2;]\" in "
              "\"bl.example=127.0.0.[2;]\": ']' where a number should be"
              FILTER_HELP);
    sites_bad("bl.example=127.0.0.[2..]", "bad filter \"127.0.0.[2..]\" in "
              "\"bl.example=127.0.0.[2..]\": ']' where a number should be"
              FILTER_HELP);
    sites_bad("bl.example=127.0.0.[2,3]", "bad filter \"127.0.0.[2\" in "
              "\"bl.example=127.0.0.[2\": '[' without ']'" FILTER_HELP);
    sites_bad("bl.example=127.0.0.[2.3]", "bad filter \"127.0.0.[2.3]\" in "
              "\"bl.example=127.0.0.[2.3]\": '.' where ';', '..' or ']' should be" FILTER_HELP);
    sites_bad("bl.example=127.0.0.-2", "bad filter \"127.0.0.-2\" in "
              "\"bl.example=127.0.0.-2\": '-' where a number should be" FILTER_HELP);
    sites_bad("bl.example=127.0.0.2=127.0.0.3", "bad filter \"127.0.0.2=127.0.0.3\" "
              "in \"bl.example=127.0.0.2=127.0.0.3\": '=' after the 4th octet" FILTER_HELP);
    sites_bad("bl.example=127:0:0:2", "bad filter \"127:0:0:2\" in "
              "\"bl.example=127:0:0:2\": octets not separated by '.'" FILTER_HELP);
    sites_bad("bl.example=::1", "bad filter \"::1\" in \"bl.example=::1\": "
              "':' where a number should be" FILTER_HELP);
}
END_TEST

START_TEST(test_bad_weights)
{
    sites_bad("bl.example*", "bad weight \"\" in \"bl.example*\"" WEIGHT_HELP);
    sites_bad("bl.example*x", "bad weight \"x\" in \"bl.example*x\"" WEIGHT_HELP);
    sites_bad("bl.example*-", "bad weight \"-\" in \"bl.example*-\"" WEIGHT_HELP);
    sites_bad("bl.example*1.5", "bad weight \"1.5\" in \"bl.example*1.5\"" WEIGHT_HELP);
    sites_bad("bl.example*2*3", "bad weight \"2*3\" in \"bl.example*2*3\"" WEIGHT_HELP);
    sites_bad("bl.example*1000001", "bad weight \"1000001\" in "
              "\"bl.example*1000001\"" WEIGHT_HELP);
    sites_bad("bl.example*-1000001", "bad weight \"-1000001\" in "
              "\"bl.example*-1000001\"" WEIGHT_HELP);
    sites_bad("bl.example*99999999999999999999", "bad weight "
              "\"99999999999999999999\" in \"bl.example*99999999999999999999\""
              WEIGHT_HELP);
    /* The weight comes after the filter, as in Postfix. */
    sites_bad("bl.example*2=127.0.0.2", "bad weight \"2=127.0.0.2\" in "
              "\"bl.example*2=127.0.0.2\"" WEIGHT_HELP);
}
END_TEST

START_TEST(test_too_many)
{
    VBUF *spec = vbuf_create(100);
    DNSBL_SITES *s;
    int i;

    for (i = 0; i < DNSBL_SITES_MAX; i++)
        vbuf_printf(spec, "s%d.example*-1000000 ", i);
    s = sites_ok(vbuf_str(spec));
    ck_assert_int_eq(dnsbl_count(s), DNSBL_SITES_MAX);
    ck_assert_int_eq(dnsbl_zone_count(s), DNSBL_SITES_MAX);
    dnsbl_free(s);
    vbuf_append_str(spec, "one.more.example");
    sites_bad(vbuf_str(spec), "more than 1000 entries");
    vbuf_free(spec);
}
END_TEST

static void
query_is(const char *addr, const char *domain, const char *want)
{
    VBUF *out = vbuf_create(10);

    ck_assert_msg(dnsbl_query_name(addr, domain, out) == 0, "%s", addr);
    ck_assert_str_eq(vbuf_str(out), want);
    vbuf_free(out);
}

static void
query_bad(const char *addr, const char *domain)
{
    VBUF *out = vbuf_create(10);

    vbuf_set(out, "stale");
    ck_assert_msg(dnsbl_query_name(addr, domain, out) == -1, "%s", addr);
    ck_assert_str_eq(vbuf_str(out), "");
    vbuf_free(out);
}

START_TEST(test_query_names)
{
    char domain[256];

    query_is("192.0.2.99", "zen.spamhaus.org", "99.2.0.192.zen.spamhaus.org");
    query_is("127.0.0.2", "bl.example", "2.0.0.127.bl.example");
    query_is("0.0.0.0", "bl.example", "0.0.0.0.bl.example");
    query_is("255.255.255.255", "bl.example", "255.255.255.255.bl.example");
    /* IPv6: nibbles, lowest first, lower case (RFC 5782 section 2.4). */
    query_is("2001:db8:1:2:3:4:567:89ab", "bl.example",
             "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2."
             "bl.example");
    query_is("2001:DB8::1", "bl.example",
             "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
             "bl.example");
    query_is("::1", "bl.example",
             "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
             "bl.example");
    /* An IPv4 client seen on an IPv6 socket is queried as IPv4. */
    query_is("::ffff:192.0.2.1", "bl.example", "1.2.0.192.bl.example");
    /* Not addresses. */
    query_bad("", "bl.example");
    query_bad("192.0.2", "bl.example");
    query_bad("192.0.2.256", "bl.example");
    query_bad("192.0.2.1 ", "bl.example");
    query_bad("mx.example", "bl.example");
    query_bad("fe80::1%eth0", "bl.example");
    query_bad("[::1]", "bl.example");
    query_bad("192.0.2.1", "");
    /* The longest domain dnsbl_parse takes fits an IPv6 query exactly. */
    memset(domain, 'a', DNSBL_DOMAIN_MAX);
    domain[DNSBL_DOMAIN_MAX] = 0;
    {
        VBUF *out = vbuf_create(10);

        ck_assert_int_eq(dnsbl_query_name("2001:db8::1", domain, out), 0);
        ck_assert_int_eq(vbuf_len(out), DNSBL_NAME_MAX);
        vbuf_free(out);
    }
    domain[DNSBL_DOMAIN_MAX] = 'a';
    domain[DNSBL_DOMAIN_MAX + 1] = 0;
    query_bad("2001:db8::1", domain);
}
END_TEST

START_TEST(test_filters)
{
    DNSBL_SITES *s = sites_ok("any.example one.example=127.0.0.4 "
                              "range.example=127.0.0.[2..11] "
                              "dnswl.example=127.0.[0..255].[1..3] "
                              "list.example=127.0.0.[2;4;6] "
                              "mix.example=127.[0;1].0.[2;10..11;20]");
    const DNSBL_SITE *any = dnsbl_site(s, 0), *one = dnsbl_site(s, 1);
    const DNSBL_SITE *range = dnsbl_site(s, 2), *dnswl = dnsbl_site(s, 3);
    const DNSBL_SITE *list = dnsbl_site(s, 4), *mix = dnsbl_site(s, 5);

    /* No filter: any A answer, but only an A answer, and not a list's
     * error code (127.255.255.0/24: refused, over quota). */
    ck_assert_int_eq(dnsbl_match(any, "127.0.0.2"), 1);
    ck_assert_int_eq(dnsbl_match(any, "127.255.255.254"), 0);
    ck_assert_int_eq(dnsbl_match(any, "127.255.255.252"), 0);
    ck_assert_int_eq(dnsbl_match(any, "127.255.255.255"), 0);
    ck_assert_int_eq(dnsbl_match(any, "127.255.255.0"), 0);
    ck_assert_int_eq(dnsbl_match(any, "127.255.254.255"), 1);
    ck_assert_int_eq(dnsbl_match(any, "127.254.255.255"), 1);
    ck_assert_int_eq(dnsbl_match(any, "10.1.2.3"), 1);
    ck_assert_int_eq(dnsbl_match(any, ""), 0);
    ck_assert_int_eq(dnsbl_match(any, "::1"), 0);
    ck_assert_int_eq(dnsbl_match(any, "127.0.0.2 "), 0);
    ck_assert_int_eq(dnsbl_match(any, "listed"), 0);

    ck_assert_int_eq(dnsbl_match(one, "127.0.0.4"), 1);
    ck_assert_int_eq(dnsbl_match(one, "127.0.0.2"), 0);
    ck_assert_int_eq(dnsbl_match(one, "127.0.1.4"), 0);
    ck_assert_int_eq(dnsbl_match(one, "128.0.0.4"), 0);
    ck_assert_int_eq(dnsbl_match(one, "nonsense"), 0);

    ck_assert_int_eq(dnsbl_match(range, "127.0.0.1"), 0);
    ck_assert_int_eq(dnsbl_match(range, "127.0.0.2"), 1);
    ck_assert_int_eq(dnsbl_match(range, "127.0.0.7"), 1);
    ck_assert_int_eq(dnsbl_match(range, "127.0.0.11"), 1);
    ck_assert_int_eq(dnsbl_match(range, "127.0.0.12"), 0);
    ck_assert_int_eq(dnsbl_match(range, "127.255.255.254"), 0);

    ck_assert_int_eq(dnsbl_match(dnswl, "127.0.0.1"), 1);
    ck_assert_int_eq(dnsbl_match(dnswl, "127.0.15.3"), 1);
    ck_assert_int_eq(dnsbl_match(dnswl, "127.0.255.2"), 1);
    ck_assert_int_eq(dnsbl_match(dnswl, "127.0.5.0"), 0);
    ck_assert_int_eq(dnsbl_match(dnswl, "127.0.5.4"), 0);
    /* DNSWL's "over the query limit" answer is not a listing. */
    ck_assert_int_eq(dnsbl_match(dnswl, "127.0.0.255"), 0);

    ck_assert_int_eq(dnsbl_match(list, "127.0.0.2"), 1);
    ck_assert_int_eq(dnsbl_match(list, "127.0.0.3"), 0);
    ck_assert_int_eq(dnsbl_match(list, "127.0.0.4"), 1);
    ck_assert_int_eq(dnsbl_match(list, "127.0.0.5"), 0);
    ck_assert_int_eq(dnsbl_match(list, "127.0.0.6"), 1);

    ck_assert_int_eq(dnsbl_match(mix, "127.1.0.10"), 1);
    ck_assert_int_eq(dnsbl_match(mix, "127.0.0.20"), 1);
    ck_assert_int_eq(dnsbl_match(mix, "127.2.0.2"), 0);
    ck_assert_int_eq(dnsbl_match(mix, "127.0.0.12"), 0);
    dnsbl_free(s);
}
END_TEST

START_TEST(test_score)
{
    DNSBL_SITES *s = sites_ok("zen.spamhaus.org=127.0.0.[2..11]*3, bl.spamcop.net*2, "
                              "list.dnswl.org=127.0.[0..255].[1..3]*-5, "
                              "list.dnswl.org=127.0.[0..255].3*-1, "
                              "zen.spamhaus.org=127.0.0.[10;11]*4");
    const char *zen[] = {"127.0.0.2", "127.0.0.4", "127.0.0.10", "127.0.0.11", NULL};
    const char *zen_pbl[] = {"127.0.0.10", NULL};
    const char *spamcop[] = {"127.0.0.2", "127.0.0.2", NULL};
    const char *dnswl_hi[] = {"127.0.15.3", NULL};
    const char *dnswl_err[] = {"127.0.0.255", NULL};
    const char *none[] = {NULL};
    const char *const *answers[3];
    VBUF *matched = vbuf_create(10);
    int matches = -1;

    ck_assert_int_eq(dnsbl_zone_count(s), 3);
    ck_assert_str_eq(dnsbl_zone(s, 0), "zen.spamhaus.org");
    ck_assert_str_eq(dnsbl_zone(s, 1), "bl.spamcop.net");
    ck_assert_str_eq(dnsbl_zone(s, 2), "list.dnswl.org");

    /* Nobody answers. */
    answers[0] = answers[1] = answers[2] = NULL;
    ck_assert_int_eq(dnsbl_score(s, answers, &matches, matched), 0);
    ck_assert_int_eq(matches, 0);
    ck_assert_str_eq(vbuf_str(matched), "");

    /* Four zen answers (duplicates for the first entry) count 3 once, and
     * the second zen entry 4 once; spamcop's duplicate answer 2 once. */
    answers[0] = zen;
    answers[1] = spamcop;
    ck_assert_int_eq(dnsbl_score(s, answers, &matches, matched), 3 + 2 + 4);
    ck_assert_int_eq(matches, 3);
    ck_assert_str_eq(vbuf_str(matched), "zen.spamhaus.org,bl.spamcop.net");

    /* Only a PBL-like answer: both zen entries' filters pass it. */
    vbuf_reset(matched);
    answers[0] = zen_pbl;
    answers[1] = NULL;
    ck_assert_int_eq(dnsbl_score(s, answers, &matches, matched), 7);
    ck_assert_int_eq(matches, 2);
    ck_assert_str_eq(vbuf_str(matched), "zen.spamhaus.org");

    /* An allowlist: both dnswl entries match, -5 and -1. */
    vbuf_reset(matched);
    answers[0] = NULL;
    answers[2] = dnswl_hi;
    ck_assert_int_eq(dnsbl_score(s, answers, &matches, matched), -6);
    ck_assert_int_eq(matches, 2);
    ck_assert_str_eq(vbuf_str(matched), "list.dnswl.org");

    /* Listed and allowlisted at once: the weights add up. */
    vbuf_reset(matched);
    answers[1] = spamcop;
    ck_assert_int_eq(dnsbl_score(s, answers, &matches, matched), -4);
    ck_assert_int_eq(matches, 3);
    ck_assert_str_eq(vbuf_str(matched), "bl.spamcop.net,list.dnswl.org");

    /* Answers no filter passes, and an empty answer list. */
    vbuf_reset(matched);
    answers[0] = none;
    answers[1] = none;
    answers[2] = dnswl_err;
    ck_assert_int_eq(dnsbl_score(s, answers, &matches, matched), 0);
    ck_assert_int_eq(matches, 0);
    ck_assert_str_eq(vbuf_str(matched), "");

    /* matches and matched are optional; matched is appended to. */
    answers[1] = spamcop;
    ck_assert_int_eq(dnsbl_score(s, answers, NULL, NULL), 2);
    vbuf_set(matched, "x");
    ck_assert_int_eq(dnsbl_score(s, answers, NULL, matched), 2);
    ck_assert_str_eq(vbuf_str(matched), "x,bl.spamcop.net");
    vbuf_free(matched);
    dnsbl_free(s);

    /* No sites: no score. */
    s = sites_ok("");
    ck_assert_int_eq(dnsbl_score(s, answers, &matches, NULL), 0);
    ck_assert_int_eq(matches, 0);
    dnsbl_free(s);
}
END_TEST

/* A list's error codes (127.255.255.0/24, Spamhaus's answer to a
 * refused query) never list a client through an entry without a filter;
 * a filter that names them is taken as written. */
START_TEST(test_error_codes)
{
    DNSBL_SITES *s = sites_ok("zen.example*5, strict.example=127.255.255.[252..255]*2");
    const char *refused[] = {"127.255.255.254", NULL};
    const char *mixed[] = {"127.255.255.255", "127.0.0.4", NULL};
    const char *const *answers[2];
    VBUF *matched = vbuf_create(10);
    int matches = -1;

    ck_assert_int_eq(dnsbl_answer_is_error("127.255.255.252"), 1);
    ck_assert_int_eq(dnsbl_answer_is_error("127.255.255.254"), 1);
    ck_assert_int_eq(dnsbl_answer_is_error("127.255.255.255"), 1);
    ck_assert_int_eq(dnsbl_answer_is_error("127.255.255.0"), 1);
    ck_assert_int_eq(dnsbl_answer_is_error("127.0.0.2"), 0);
    ck_assert_int_eq(dnsbl_answer_is_error("127.255.254.255"), 0);
    ck_assert_int_eq(dnsbl_answer_is_error("128.255.255.255"), 0);
    ck_assert_int_eq(dnsbl_answer_is_error("127.255.255"), 0);
    ck_assert_int_eq(dnsbl_answer_is_error("::ffff:127.255.255.254"), 0);
    ck_assert_int_eq(dnsbl_answer_is_error(""), 0);

    /* Only the error code: zen does not count, the filter that asks for
     * it does. */
    answers[0] = refused;
    answers[1] = NULL;
    ck_assert_int_eq(dnsbl_score(s, answers, &matches, matched), 0);
    ck_assert_int_eq(matches, 0);
    ck_assert_str_eq(vbuf_str(matched), "");
    answers[0] = NULL;
    answers[1] = refused;
    ck_assert_int_eq(dnsbl_score(s, answers, &matches, matched), 2);
    ck_assert_int_eq(matches, 1);
    ck_assert_str_eq(vbuf_str(matched), "strict.example");
    /* An error code beside a real answer: the real answer counts. */
    vbuf_reset(matched);
    answers[0] = mixed;
    answers[1] = NULL;
    ck_assert_int_eq(dnsbl_score(s, answers, &matches, matched), 5);
    ck_assert_int_eq(matches, 1);
    ck_assert_str_eq(vbuf_str(matched), "zen.example");
    vbuf_free(matched);
    dnsbl_free(s);
}
END_TEST

/* The extremes add up without overflow. */
START_TEST(test_score_bounds)
{
    VBUF *spec = vbuf_create(100);
    const char *yes[] = {"127.0.0.2", NULL};
    const char *const *answers[DNSBL_SITES_MAX];
    DNSBL_SITES *s;
    int i, matches;

    for (i = 0; i < DNSBL_SITES_MAX; i++) {
        vbuf_printf(spec, "s%d.example*1000000 ", i);
        answers[i] = yes;
    }
    s = sites_ok(vbuf_str(spec));
    ck_assert_int_eq(dnsbl_score(s, answers, &matches, NULL), 1000000000);
    ck_assert_int_eq(matches, DNSBL_SITES_MAX);
    dnsbl_free(s);
    vbuf_reset(spec);
    for (i = 0; i < DNSBL_SITES_MAX; i++)
        vbuf_printf(spec, "s%d.example*-1000000 ", i);
    s = sites_ok(vbuf_str(spec));
    ck_assert_int_eq(dnsbl_score(s, answers, &matches, NULL), -1000000000);
    dnsbl_free(s);
    vbuf_free(spec);
}
END_TEST

START_TEST(test_verdict)
{
    /* Defaults: threshold 1, allowlist off. */
    ck_assert_int_eq(dnsbl_verdict(0, 0, 1, 0), DNSBL_NEUTRAL);
    ck_assert_int_eq(dnsbl_verdict(1, 1, 1, 0), DNSBL_LISTED);
    ck_assert_int_eq(dnsbl_verdict(5, 2, 1, 0), DNSBL_LISTED);
    ck_assert_int_eq(dnsbl_verdict(-5, 1, 1, 0), DNSBL_NEUTRAL);
    /* Threshold reached, not passed, counts. */
    ck_assert_int_eq(dnsbl_verdict(2, 1, 3, 0), DNSBL_NEUTRAL);
    ck_assert_int_eq(dnsbl_verdict(3, 1, 3, 0), DNSBL_LISTED);
    /* Allowlist at or below. */
    ck_assert_int_eq(dnsbl_verdict(-1, 1, 3, -2), DNSBL_NEUTRAL);
    ck_assert_int_eq(dnsbl_verdict(-2, 1, 3, -2), DNSBL_ALLOWLISTED);
    ck_assert_int_eq(dnsbl_verdict(-6, 2, 3, -2), DNSBL_ALLOWLISTED);
    /* A weight 0 entry matched: neither. */
    ck_assert_int_eq(dnsbl_verdict(0, 1, 1, -1), DNSBL_NEUTRAL);
    /* A client no list knows is neither, whatever the thresholds. */
    ck_assert_int_eq(dnsbl_verdict(0, 0, 0, 0), DNSBL_NEUTRAL);
    ck_assert_int_eq(dnsbl_verdict(0, 0, -5, 0), DNSBL_NEUTRAL);
    /* With a threshold at or below 0, an entry that matched with weights
     * adding up to 0 lists. */
    ck_assert_int_eq(dnsbl_verdict(0, 2, 0, 0), DNSBL_LISTED);
    /* Both hold (threshold below the allowlist's): listed wins. */
    ck_assert_int_eq(dnsbl_verdict(-5, 1, -10, -3), DNSBL_LISTED);
    ck_assert_str_eq(dnsbl_verdict_name(DNSBL_NEUTRAL), "neutral");
    ck_assert_str_eq(dnsbl_verdict_name(DNSBL_LISTED), "listed");
    ck_assert_str_eq(dnsbl_verdict_name(DNSBL_ALLOWLISTED), "allowlisted");
}
END_TEST

/* conf_load refuses a bad dnsbl_sites itself, with its line and every bad
 * entry, in every program that reads main.cf. */
START_TEST(test_conf_type)
{
    const char *dir = fixture_dir_create("check_dnsbl");
    VBUF *errors = vbuf_create(100);
    char expect[1024];
    CONFIG *conf;

    ck_assert_str_eq(conf_type_name(CONF_DNSBL), "DNS blocklists");
    conf = fixture_conf_load("dnsbl_sites = zen.spamhaus.org*3, bl.spamcop.net*2,\n"
                             "  list.dnswl.org=127.0.[0..255].[1..3]*-5\n");
    ck_assert_str_eq(conf_value(conf, P_dnsbl_sites), "zen.spamhaus.org*3, "
                     "bl.spamcop.net*2, list.dnswl.org=127.0.[0..255].[1..3]*-5");
    conf_free(conf);
    conf = fixture_conf_load("# default\n");
    ck_assert_str_eq(conf_value(conf, P_dnsbl_sites), "");
    conf_free(conf);

    fixture_write_str("main.cf", "# blocklists\n\ndnsbl_sites = zen.spamhaus.org*3,\n"
                      "  bl.spamcop.net*two list.dnswl.org=127.0.0.[3..1]\n"
                      "dnsbl_threshold = 3\n");
    ck_assert_ptr_null(conf_load(dir, errors));
    snprintf(expect, sizeof(expect),
             "%s/main.cf:3: dnsbl_sites: bad weight \"two\" in "
             "\"bl.spamcop.net*two\"" WEIGHT_HELP "\n"
             "%s/main.cf:3: dnsbl_sites: bad filter \"127.0.0.[3..1]\" in "
             "\"list.dnswl.org=127.0.0.[3..1]\": reversed range 3..1" FILTER_HELP "\n",
             dir, dir);
    ck_assert_str_eq(vbuf_str(errors), expect);

    vbuf_reset(errors);
    fixture_write_str("main.cf", "dnsbl_sites = zen.spamhaus.org.\n");
    ck_assert_ptr_null(conf_load(dir, errors));
    snprintf(expect, sizeof(expect), "%s/main.cf:1: dnsbl_sites: bad domain name "
             "\"zen.spamhaus.org.\" in \"zen.spamhaus.org.\"\n", dir);
    ck_assert_str_eq(vbuf_str(errors), expect);
    vbuf_free(errors);
    fixture_dir_remove();
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("dnsbl");
    TCase *tc = tcase_create("dnsbl");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_forms);
    tcase_add_test(tc, test_separators);
    tcase_add_test(tc, test_zones);
    tcase_add_test(tc, test_bad_domains);
    tcase_add_test(tc, test_long_domains);
    tcase_add_test(tc, test_bad_filters);
    tcase_add_test(tc, test_bad_weights);
    tcase_add_test(tc, test_too_many);
    tcase_add_test(tc, test_query_names);
    tcase_add_test(tc, test_filters);
    tcase_add_test(tc, test_score);
    tcase_add_test(tc, test_error_codes);
    tcase_add_test(tc, test_score_bounds);
    tcase_add_test(tc, test_verdict);
    tcase_add_test(tc, test_conf_type);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
