/* Unit tests for dnscache's cache (dnscache/dc_cache.c) with a fake
 * clock: TTL clamping, the record format and its refusals, expiry on
 * get and incrementally, flush of one address (not its neighbours) and
 * of all, and the file surviving a close; and for the names that
 * dnscache may show (dc_name_valid), the reverse names, and the parser
 * of DNS answers (dnscache/dc_resolve.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnscache/dc_cache.h"
#include "dnscache/dc_fcrdns.h"
#include "dnscache/dc_resolve.h"
#include "fixture.h"
#include "vbuf.h"

#define T0      1700000000LL

static const DC_TTLS ttls = {.min_ttl = 60, .max_ttl = 86400,
                             .negative_ttl = 600};
static DC_CACHE *cache;
static VBUF *why;
static char dir[4096];

static void
setup(void)
{
    why = vbuf_create(100);
    snprintf(dir, sizeof(dir), "%s", fixture_dir_create("dc_cache"));
    cache = dc_cache_open(dir, why);
    ck_assert_msg(cache != NULL, "%s", vbuf_str(why));
}

static void
teardown(void)
{
    cache = dc_cache_close(cache);
    why = vbuf_free(why);
    fixture_dir_remove();
}

static DC_ENTRY
entry(int result, long long expires, const char *name)
{
    DC_ENTRY e;

    memset(&e, 0, sizeof(e));
    e.result = result;
    e.expires = expires;
    snprintf(e.name, sizeof(e.name), "%s", name);
    snprintf(e.ptr, sizeof(e.ptr), "%s", name);
    return e;
}

static void
put(const char *key, DC_ENTRY e)
{
    ck_assert_msg(dc_cache_put(cache, key, &e, why) == 0, "%s", vbuf_str(why));
}

START_TEST(test_ttl_clamped)
{
    ck_assert_int_eq(dc_cache_ttl(&ttls, DC_RESULT_OK, 0), 60);
    ck_assert_int_eq(dc_cache_ttl(&ttls, DC_RESULT_OK, 3600), 3600);
    ck_assert_int_eq(dc_cache_ttl(&ttls, DC_RESULT_OK, 999999), 86400);
    ck_assert_int_eq(dc_cache_ttl(&ttls, DC_RESULT_NONE, 5), 600);
    ck_assert_int_eq(dc_cache_ttl(&ttls, DC_RESULT_TEMP, 5000),
                     DC_CACHE_TEMP_TTL);
}
END_TEST

/* A fake clock: the entry expires at 1000; min_ttl 60 gives a window of
 * 30 seconds, negative_ttl 600 the 30-second cap. */
START_TEST(test_refresh_due)
{
    static const DC_TTLS short_ttls = {.min_ttl = 4, .max_ttl = 4,
                                       .negative_ttl = 1};
    DC_ENTRY e;

    memset(&e, 0, sizeof(e));
    e.expires = 1000;
    e.result = DC_RESULT_OK;
    ck_assert_int_eq(dc_cache_refresh_due(&ttls, &e, 900), 0);
    ck_assert_int_eq(dc_cache_refresh_due(&ttls, &e, 970), 0);
    ck_assert_int_eq(dc_cache_refresh_due(&ttls, &e, 971), 1);
    ck_assert_int_eq(dc_cache_refresh_due(&ttls, &e, 999), 1);
    e.result = DC_RESULT_NONE;
    ck_assert_int_eq(dc_cache_refresh_due(&ttls, &e, 970), 0);
    ck_assert_int_eq(dc_cache_refresh_due(&ttls, &e, 971), 1);
    /* a temporary failure is asked again when it expires */
    e.result = DC_RESULT_TEMP;
    ck_assert_int_eq(dc_cache_refresh_due(&ttls, &e, 999), 0);
    /* short lifetimes: never at once, half of the shortest life */
    e.result = DC_RESULT_OK;
    ck_assert_int_eq(dc_cache_refresh_due(&short_ttls, &e, 996), 0);
    ck_assert_int_eq(dc_cache_refresh_due(&short_ttls, &e, 998), 0);
    ck_assert_int_eq(dc_cache_refresh_due(&short_ttls, &e, 999), 1);
    e.result = DC_RESULT_NONE;
    ck_assert_int_eq(dc_cache_refresh_due(&short_ttls, &e, 999), 0);
}
END_TEST

/* With its lifetime stored, an entry is measured by its own: half of
 * it, 30 seconds at most; a temporary failure never. */
START_TEST(test_refresh_due_lifetime)
{
    DC_ENTRY e;

    memset(&e, 0, sizeof(e));
    e.expires = 1000;
    e.result = DC_RESULT_OK;
    e.lifetime = 3600;                  /* the 30-second cap */
    ck_assert_int_eq(dc_cache_refresh_due(&ttls, &e, 970), 0);
    ck_assert_int_eq(dc_cache_refresh_due(&ttls, &e, 971), 1);
    e.lifetime = 10;                    /* below min_ttl: half of 10 */
    ck_assert_int_eq(dc_cache_refresh_due(&ttls, &e, 990), 0);
    ck_assert_int_eq(dc_cache_refresh_due(&ttls, &e, 995), 0);
    ck_assert_int_eq(dc_cache_refresh_due(&ttls, &e, 996), 1);
    /* a negative answer (a blocklist's NXDOMAIN) the same way */
    e.result = DC_RESULT_NONE;
    e.lifetime = 600;
    ck_assert_int_eq(dc_cache_refresh_due(&ttls, &e, 970), 0);
    ck_assert_int_eq(dc_cache_refresh_due(&ttls, &e, 971), 1);
    e.lifetime = 4;
    ck_assert_int_eq(dc_cache_refresh_due(&ttls, &e, 998), 0);
    ck_assert_int_eq(dc_cache_refresh_due(&ttls, &e, 999), 1);
    /* an entry just stored is never due: lifetime 1 has no window */
    e.lifetime = 1;
    ck_assert_int_eq(dc_cache_refresh_due(&ttls, &e, 999), 0);
    e.result = DC_RESULT_TEMP;
    e.lifetime = 30;
    ck_assert_int_eq(dc_cache_refresh_due(&ttls, &e, 999), 0);
}
END_TEST

START_TEST(test_record_format)
{
    DC_ENTRY e = entry(DC_RESULT_OK, T0, "mx.example.com"), d;
    VBUF *out = vbuf_create(100);
    static const char *bad[] = {
        "", "1|ok|5|a|b", "2|ok|5|a|b|c", "1|maybe|5|a|b|c",
        "1|ok|-5|a|b|c", "1|ok|5x|a|b|c", "1|ok||a|b|c", "1|ok|5|a|b|c|d",
        "2|ok|5|60|a|b", "2|ok|5|60|a|b|c|d", "2|ok|5|-60|a|b|c",
        "2|ok|5|6x|a|b|c", "2|ok|5||a|b|c", "3|ok|5|60|a|b|c",
        "2|maybe|5|60|a|b|c",
    };
    size_t i;

    strcpy(e.unverified, "liar.example.com");
    e.lifetime = 3600;
    dc_cache_encode(out, &e);
    ck_assert_str_eq(vbuf_str(out),
                     "2|ok|1700000000|3600|mx.example.com|liar.example.com|mx.example.com");
    ck_assert_int_eq(dc_cache_decode(&d, vbuf_str(out), vbuf_len(out)), 0);
    ck_assert_int_eq(d.result, DC_RESULT_OK);
    ck_assert_int_eq(d.expires, T0);
    ck_assert_int_eq(d.lifetime, 3600);
    ck_assert_str_eq(d.name, "mx.example.com");
    ck_assert_str_eq(d.unverified, "liar.example.com");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(dc_cache_decode(&d, bad[i], strlen(bad[i])) < 0,
                      "accepted %s", bad[i]);
    ck_assert_int_eq(dc_cache_decode(&d, "2|temp|5|30|||", 14), 0);
    ck_assert_int_eq(d.result, DC_RESULT_TEMP);
    ck_assert_int_eq(d.lifetime, 30);
    /* A record of version 1, from before the lifetime was kept: read,
     * with the lifetime unknown. */
    ck_assert_int_eq(dc_cache_decode(&d, "1|temp|5|||", 11), 0);
    ck_assert_int_eq(d.result, DC_RESULT_TEMP);
    ck_assert_int_eq(d.lifetime, 0);
    ck_assert_int_eq(dc_cache_decode(&d, "1|ok|7|a.example|b.example|a.example",
                                     strlen("1|ok|7|a.example|b.example|a.example")),
                     0);
    ck_assert_int_eq(d.expires, 7);
    ck_assert_int_eq(d.lifetime, 0);
    ck_assert_str_eq(d.ptr, "a.example");
    ck_assert_str_eq(d.unverified, "b.example");
    ck_assert_str_eq(d.name, "a.example");
    vbuf_free(out);
}
END_TEST

START_TEST(test_expiry_on_get)
{
    DC_ENTRY e;

    put("192.0.2.1", entry(DC_RESULT_OK, T0 + 60, "a.example"));
    ck_assert_int_eq(dc_cache_get(cache, "192.0.2.1", T0, &e), 1);
    ck_assert_str_eq(e.name, "a.example");
    ck_assert_int_eq(dc_cache_get(cache, "192.0.2.1", T0 + 59, &e), 1);
    ck_assert_int_eq(dc_cache_get(cache, "192.0.2.1", T0 + 60, &e), 0);
    /* and it is gone, not only hidden */
    ck_assert_int_eq(dc_cache_count(cache), 0);
    ck_assert_int_eq(dc_cache_get(cache, "192.0.2.2", T0, &e), 0);
}
END_TEST

START_TEST(test_expiry_incremental)
{
    char key[32];
    int i;
    long removed = 0, steps = 0, r;

    for (i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "192.0.2.%d", i);
        /* the even ones expire at T0 + 10, the odd ones at T0 + 1000 */
        put(key, entry(DC_RESULT_OK, T0 + (i % 2 ? 1000 : 10), "x.example"));
    }
    ck_assert_int_eq(dc_cache_expire(cache, T0, 30), 0);
    ck_assert_int_eq(dc_cache_count(cache), 100);
    /* 30 at a time: never more than asked, and round the table */
    while (steps < 10) {
        r = dc_cache_expire(cache, T0 + 10, 30);
        ck_assert_int_le(r, 30);
        removed += r;
        steps++;
    }
    ck_assert_int_eq(removed, 50);
    ck_assert_int_eq(dc_cache_count(cache), 50);
    for (steps = 0; steps < 10; steps++)
        dc_cache_expire(cache, T0 + 1000, 30);
    ck_assert_int_eq(dc_cache_count(cache), 0);
}
END_TEST

START_TEST(test_flush)
{
    DC_ENTRY e;

    put("192.0.2.1", entry(DC_RESULT_OK, T0 + 60, "a.example"));
    put("192.0.2.1 bl zen.example", entry(DC_RESULT_OK, T0 + 60, ""));
    put("192.0.2.10", entry(DC_RESULT_OK, T0 + 60, "b.example"));
    put("192.0.2.10 bl zen.example", entry(DC_RESULT_OK, T0 + 60, ""));
    put("192.0.2.2", entry(DC_RESULT_NONE, T0 + 60, ""));
    ck_assert_int_eq(dc_cache_flush(cache, "192.0.2.1"), 2);
    ck_assert_int_eq(dc_cache_get(cache, "192.0.2.10", T0, &e), 1);
    ck_assert_int_eq(dc_cache_get(cache, "192.0.2.10 bl zen.example", T0, &e), 1);
    ck_assert_int_eq(dc_cache_flush(cache, "192.0.2.3"), 0);
    ck_assert_int_eq(dc_cache_flush(cache, NULL), 3);
    ck_assert_int_eq(dc_cache_count(cache), 0);
}
END_TEST

/* A reload with new DNS servers forgets the old servers' failures. */
START_TEST(test_flush_temp)
{
    DC_ENTRY e;

    put("192.0.2.1", entry(DC_RESULT_TEMP, T0 + 30, ""));
    put("192.0.2.1 bl zen.example", entry(DC_RESULT_TEMP, T0 + 30, ""));
    put("192.0.2.2", entry(DC_RESULT_OK, T0 + 60, "b.example"));
    put("192.0.2.2 bl zen.example", entry(DC_RESULT_NONE, T0 + 60, ""));
    put("192.0.2.3", entry(DC_RESULT_TEMP, T0 - 30, ""));
    ck_assert_int_eq(dc_cache_flush_temp(cache), 3);
    ck_assert_int_eq(dc_cache_count(cache), 2);
    ck_assert_int_eq(dc_cache_get(cache, "192.0.2.2", T0, &e), 1);
    ck_assert_int_eq(dc_cache_get(cache, "192.0.2.2 bl zen.example", T0, &e), 1);
    ck_assert_int_eq(dc_cache_get(cache, "192.0.2.1", T0, &e), 0);
    ck_assert_int_eq(dc_cache_flush_temp(cache), 0);
}
END_TEST

START_TEST(test_survives_close)
{
    DC_ENTRY e;
    put("2001:db8::1", entry(DC_RESULT_OK, T0 + 60, "v6.example"));
    dc_cache_sync(cache);
    cache = dc_cache_close(cache);
    cache = dc_cache_open(dir, why);
    ck_assert_ptr_nonnull(cache);
    ck_assert_int_eq(dc_cache_get(cache, "2001:db8::1", T0, &e), 1);
    ck_assert_str_eq(e.name, "v6.example");
}
END_TEST

START_TEST(test_broken_file_replaced)
{
    cache = dc_cache_close(cache);
    fixture_write_str(DC_CACHE_DB_NAME, "this is not a Berkeley DB file\n");
    cache = dc_cache_open(dir, why);
    ck_assert_msg(cache != NULL, "%s", vbuf_str(why));
    ck_assert_int_eq(dc_cache_count(cache), 0);
}
END_TEST

START_TEST(test_name_valid)
{
    char long_name[300];
    static const char *good[] = {
        "mx.example.com", "mx.example.com.", "a", "1-2-3.dyn.example.net",
        "xn--bcher-kva.example",
    };
    static const char *bad[] = {
        "", ".", "bad_name.example", "a..b", ".a", "a b.example",
        "a|b.example", "a,b.example", "caf\xc3\xa9.example", "a\n.example",
        "mx.example.com..",
    };
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(dc_name_valid(good[i]), "refused %s", good[i]);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!dc_name_valid(bad[i]), "accepted %s", bad[i]);
    /* 253 octets: 4 labels of 62 and one of 1, with the dots */
    memset(long_name, 'a', sizeof(long_name));
    long_name[62] = long_name[125] = long_name[188] = long_name[251] = '.';
    long_name[253] = 0;
    ck_assert_int_eq(strlen(long_name), 253);
    ck_assert(dc_name_valid(long_name));
    long_name[253] = 'a';
    long_name[254] = 0;
    ck_assert(!dc_name_valid(long_name));
    /* a label over 63 */
    memset(long_name, 'a', 64);
    long_name[64] = 0;
    ck_assert(!dc_name_valid(long_name));
}
END_TEST

START_TEST(test_addr_equal)
{
    ck_assert(dc_addr_equal("192.0.2.1", "192.0.2.1"));
    ck_assert(!dc_addr_equal("192.0.2.1", "192.0.2.10"));
    ck_assert(dc_addr_equal("2001:db8::1", "2001:DB8:0::1"));
    ck_assert(!dc_addr_equal("192.0.2.1", "::ffff:192.0.2.1"));
    ck_assert(!dc_addr_equal("junk", "junk"));
}
END_TEST

START_TEST(test_reverse_name)
{
    VBUF *out = vbuf_create(100);

    ck_assert_int_eq(dc_resolve_reverse_name("192.0.2.1", out), 0);
    ck_assert_str_eq(vbuf_str(out), "1.2.0.192.in-addr.arpa");
    ck_assert_int_eq(dc_resolve_reverse_name("2001:db8::567:89ab", out), 0);
    ck_assert_str_eq(vbuf_str(out),
                     "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
    ck_assert_int_eq(dc_resolve_reverse_name("host.example", out), -1);
    vbuf_free(out);
}
END_TEST

/* A reply to 1.2.0.192.in-addr.arpa PTR with two answers, the second
 * name compressed against the first. */
static const unsigned char ptr_reply[] = {
    0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
    /* question at 12 */
    1, '1', 1, '2', 1, '0', 3, '1', '9', '2', 7, 'i', 'n', '-', 'a', 'd',
    'd', 'r', 4, 'a', 'r', 'p', 'a', 0, 0, 12, 0, 1,
    /* answer 1: name -> 12, PTR IN ttl 3600, mx.example. (at 52) */
    0xc0, 12, 0, 12, 0, 1, 0, 0, 0x0e, 0x10, 0, 12,
    2, 'm', 'x', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
    /* answer 2: ttl 300, "mail" + -> example (at 55) */
    0xc0, 12, 0, 12, 0, 1, 0, 0, 0x01, 0x2c, 0, 7,
    4, 'm', 'a', 'i', 'l', 0xc0, 55,
};

START_TEST(test_answer_parse)
{
    DC_ANSWER a;
    unsigned char cut[sizeof(ptr_reply)];
    size_t n;

    ck_assert_int_eq(dc_answer_parse(ptr_reply, sizeof(ptr_reply),
                                     DC_RESOLVE_PTR, &a), 0);
    ck_assert_int_eq(a.status, DC_RESOLVE_OK);
    ck_assert_int_eq(a.count, 2);
    ck_assert_str_eq(a.items[0], "mx.example");
    ck_assert_str_eq(a.items[1], "mail.example");
    ck_assert_int_eq(a.ttl, 300);
    dc_answer_clear(&a);
    /* no A records in it */
    ck_assert_int_eq(dc_answer_parse(ptr_reply, sizeof(ptr_reply),
                                     DC_RESOLVE_A, &a), 0);
    ck_assert_int_eq(a.status, DC_RESOLVE_NONE);
    /* every truncation is refused, never read past, and is temporary,
     * the header's too (found by fuzz_dc_answer) */
    for (n = 0; n < sizeof(ptr_reply); n++) {
        memcpy(cut, ptr_reply, n);
        ck_assert_msg(dc_answer_parse(cut, (int) n, DC_RESOLVE_PTR, &a) < 0,
                      "accepted %zu bytes", n);
        ck_assert_int_eq(a.count, 0);
        ck_assert_int_eq(a.status, DC_RESOLVE_TEMP);
    }
}
END_TEST

/* A PTR record whose name runs past its rdata length: refused, and the
 * name that c-ares expanded is freed (a leak under check-asan; found by
 * fuzz_dc_answer). */
START_TEST(test_answer_name_past_rdata)
{
    unsigned char reply[sizeof(ptr_reply)];
    DC_ANSWER a;

    memcpy(reply, ptr_reply, sizeof(reply));
    reply[51] = 5;                      /* answer 1's rdlength: 12 -> 5 */
    ck_assert_int_lt(dc_answer_parse(reply, sizeof(reply), DC_RESOLVE_PTR,
                                     &a), 0);
    ck_assert_int_eq(a.count, 0);
    ck_assert_int_eq(a.status, DC_RESOLVE_TEMP);
}
END_TEST

static Suite *
dc_cache_suite(void)
{
    Suite *s = suite_create("dc_cache");
    TCase *tc = tcase_create("cache");
    TCase *tn = tcase_create("names");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_ttl_clamped);
    tcase_add_test(tc, test_refresh_due);
    tcase_add_test(tc, test_refresh_due_lifetime);
    tcase_add_test(tc, test_record_format);
    tcase_add_test(tc, test_expiry_on_get);
    tcase_add_test(tc, test_expiry_incremental);
    tcase_add_test(tc, test_flush);
    tcase_add_test(tc, test_flush_temp);
    tcase_add_test(tc, test_survives_close);
    tcase_add_test(tc, test_broken_file_replaced);
    suite_add_tcase(s, tc);
    tcase_add_test(tn, test_name_valid);
    tcase_add_test(tn, test_addr_equal);
    tcase_add_test(tn, test_reverse_name);
    tcase_add_test(tn, test_answer_parse);
    tcase_add_test(tn, test_answer_name_past_rdata);
    suite_add_tcase(s, tn);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(dc_cache_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
