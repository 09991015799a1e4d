/* dnscache's blocklist lookups without DNS: the answers come from a fake
 * cache, and the zones it does not hold are asked of a resolver that is
 * not running, which fails them at once as temporary. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnscache/dc_dnsbl.h"
#include "vbuf.h"

static int done_calls;
static DC_DNSBL *done_bl;
static int put_calls;
static char put_key[256];
static int put_result;

static int
fake_get(const char *key, DC_ENTRY *e)
{
    memset(e, 0, sizeof(*e));
    if (strcmp(key, "192.0.2.1 bl a.test") == 0) {
        strcpy(e->ptr, "127.0.0.2");
        return 1;
    }
    if (strcmp(key, "192.0.2.1 bl b.test") == 0) {
        strcpy(e->ptr, "127.0.0.9,127.0.0.4");
        return 1;
    }
    if (strcmp(key, "192.0.2.1 bl c.test") == 0) {
        e->result = DC_RESULT_NONE;
        return 1;
    }
    return 0;
}

static void
fake_put(const char *key, const DC_ENTRY *e, long long ttl, void *context)
{
    (void) ttl;
    (void) context;
    put_calls++;
    snprintf(put_key, sizeof(put_key), "%s", key);
    put_result = e->result;
}

static void
done(DC_DNSBL *bl, void *context)
{
    (void) context;
    done_calls++;
    done_bl = bl;
}

static void
configure(const char *spec)
{
    VBUF   *why = vbuf_create(10);
    DNSBL_SITES *sites = dnsbl_parse(spec, why);

    ck_assert_msg(sites != NULL, "%s", vbuf_str(why));
    dc_dnsbl_configure(sites);
    vbuf_free(why);
}

static void
reset(void)
{
    done_calls = put_calls = 0;
    done_bl = NULL;
    put_key[0] = 0;
    dc_dnsbl_init(fake_get, fake_put);
}

START_TEST(test_from_cache)
{
    VBUF   *sites = vbuf_create(10), *late = vbuf_create(10);
    DC_DNSBL *bl;

    reset();
    configure("a.test, b.test=127.0.0.[4..5]*3 c.test*-5");
    ck_assert_int_eq(dc_dnsbl_zone_count(), 3);
    bl = dc_dnsbl_start("192.0.2.1", 0, done, NULL);
    ck_assert_int_eq(done_calls, 1);
    ck_assert_ptr_eq(done_bl, bl);
    ck_assert_int_eq(put_calls, 0);
    ck_assert_int_eq(dc_dnsbl_score(bl, sites, late), 4);
    ck_assert_str_eq(vbuf_str(sites), "a.test,b.test");
    ck_assert_str_eq(vbuf_str(late), "");
    ck_assert_int_eq(dc_dnsbl_cached(bl), 1);
    dc_dnsbl_describe(bl, sites);
    ck_assert_str_eq(vbuf_str(sites),
                     "a.test=127.0.0.2, b.test=127.0.0.9 127.0.0.4, c.test=none");
    /* A reload under way: the lookup keeps its sites. */
    dc_dnsbl_configure(NULL);
    ck_assert_int_eq(dc_dnsbl_zone_count(), 0);
    ck_assert_int_eq(dc_dnsbl_score(bl, sites, late), 4);
    dc_dnsbl_free(bl);
    vbuf_free(sites);
    vbuf_free(late);
}
END_TEST

START_TEST(test_failure_stored)
{
    VBUF   *sites = vbuf_create(10), *late = vbuf_create(10);
    DC_DNSBL *bl;

    reset();
    configure("a.test d.test*7");
    bl = dc_dnsbl_start("192.0.2.1", 0, done, NULL);
    ck_assert_int_eq(done_calls, 1);
    ck_assert_int_eq(put_calls, 1);
    ck_assert_str_eq(put_key, "192.0.2.1 bl d.test");
    ck_assert_int_eq(put_result, DC_RESULT_TEMP);
    ck_assert_int_eq(dc_dnsbl_cached(bl), 0);
    ck_assert_int_eq(dc_dnsbl_score(bl, sites, late), 1);
    ck_assert_str_eq(vbuf_str(sites), "a.test");
    dc_dnsbl_describe(bl, sites);
    ck_assert_str_eq(vbuf_str(sites), "a.test=127.0.0.2, d.test=temp");
    dc_dnsbl_free(bl);
    /* fresh: the cache is not read */
    reset();
    bl = dc_dnsbl_start("192.0.2.1", 1, done, NULL);
    ck_assert_int_eq(put_calls, 2);
    ck_assert_int_eq(dc_dnsbl_score(bl, sites, late), 0);
    dc_dnsbl_free(bl);
    dc_dnsbl_configure(NULL);
    vbuf_free(sites);
    vbuf_free(late);
}
END_TEST

START_TEST(test_no_sites)
{
    VBUF   *sites = vbuf_create(10), *late = vbuf_create(10);
    VBUF   *key = vbuf_create(10);
    DC_DNSBL *bl;

    reset();
    dc_dnsbl_configure(NULL);
    bl = dc_dnsbl_start("192.0.2.1", 0, done, NULL);
    ck_assert_int_eq(done_calls, 1);
    ck_assert_int_eq(dc_dnsbl_score(bl, sites, late), 0);
    ck_assert_int_eq(dc_dnsbl_inflight(), 0);
    dc_dnsbl_free(bl);
    dc_dnsbl_key(key, "2001:db8::1", "zen.example");
    ck_assert_str_eq(vbuf_str(key), "2001:db8::1 bl zen.example");
    vbuf_free(key);
    vbuf_free(sites);
    vbuf_free(late);
}
END_TEST

static Suite *
dc_dnsbl_suite(void)
{
    Suite  *s = suite_create("dc_dnsbl");
    TCase  *tc = tcase_create("lookup");

    tcase_add_test(tc, test_from_cache);
    tcase_add_test(tc, test_failure_stored);
    tcase_add_test(tc, test_no_sites);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(dc_dnsbl_suite());
    int     failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
