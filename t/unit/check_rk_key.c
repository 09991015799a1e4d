/* Unit tests for ratekeeper keys (lib/rk_key.c): addresses (IPv6 grouped
 * by /64, IPv4-mapped as IPv4), case-folded senders, users, and the
 * canonical form of what an administrator types. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "rk_key.h"
#include "vbuf.h"

static VBUF *out, *why;

static void
setup(void)
{
    out = vbuf_create(10);
    why = vbuf_create(10);
}

static void
teardown(void)
{
    vbuf_free(out);
    vbuf_free(why);
}

static const char *
addr_key(const char *addr)
{
    return rk_key_address(out, addr) == 0 ? vbuf_str(out) : "ERROR";
}

START_TEST(test_address)
{
    ck_assert_str_eq(addr_key("192.0.2.1"), "addr:192.0.2.1");
    ck_assert_str_eq(addr_key("[192.0.2.1]"), "addr:192.0.2.1");
    ck_assert_str_eq(addr_key("::ffff:192.0.2.1"), "addr:192.0.2.1");
    ck_assert_str_eq(addr_key("2001:db8:1:2:3:4:5:6"), "addr:2001:db8:1:2::/64");
    ck_assert_str_eq(addr_key("2001:DB8:1:2::FFFF"), "addr:2001:db8:1:2::/64");
    ck_assert_str_eq(addr_key("[2001:db8:1:2::1]"), "addr:2001:db8:1:2::/64");
    ck_assert_str_eq(addr_key("2001:db8:1:2::/64"), "addr:2001:db8:1:2::/64");
    ck_assert_str_eq(addr_key("::1"), "addr:::/64");
    ck_assert_str_eq(addr_key("unknown"), "ERROR");
    ck_assert_str_eq(addr_key(""), "ERROR");
    ck_assert_str_eq(addr_key("192.0.2.1/64"), "ERROR");
    ck_assert_str_eq(addr_key("2001:db8::/48"), "ERROR");
    ck_assert_str_eq(addr_key("192.0.2.256"), "ERROR");
    ck_assert_str_eq(addr_key("192.0.2.1 "), "ERROR");
}
END_TEST

START_TEST(test_sender_user)
{
    char big[600];

    ck_assert_int_eq(rk_key_sender(out, "Bob@Example.COM"), 0);
    ck_assert_str_eq(vbuf_str(out), "sender:bob@example.com");
    ck_assert_int_eq(rk_key_sender(out, ""), 0);
    ck_assert_str_eq(vbuf_str(out), "sender:<>");
    ck_assert_int_eq(rk_key_sender(out, "a\tb@c"), -1);
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    ck_assert_int_eq(rk_key_sender(out, big), -1);
    ck_assert_int_eq(rk_key_user(out, "Alice"), 0);
    ck_assert_str_eq(vbuf_str(out), "user:Alice");
    ck_assert_int_eq(rk_key_user(out, ""), -1);
}
END_TEST

static const char *
canon(const char *text)
{
    return rk_key_canon(out, text, why) == 0 ? vbuf_str(out) : vbuf_str(why);
}

START_TEST(test_canon)
{
    /* Typed keys, canonical ones unchanged. */
    ck_assert_str_eq(canon("addr:192.0.2.1"), "addr:192.0.2.1");
    ck_assert_str_eq(canon("addr:2001:db8:1:2::/64"), "addr:2001:db8:1:2::/64");
    ck_assert_str_eq(canon("addr:2001:db8:1:2::7"), "addr:2001:db8:1:2::/64");
    ck_assert_str_eq(canon("sender:Bob@X"), "sender:bob@x");
    ck_assert_str_eq(canon("sender:<>"), "sender:<>");
    ck_assert_str_eq(canon("user:bob@x"), "user:bob@x");
    ck_assert_str_eq(canon("addr:nonsense"), "not a numeric address");
    /* Bare, as typed on the command line. */
    ck_assert_str_eq(canon("192.0.2.9"), "addr:192.0.2.9");
    ck_assert_str_eq(canon("2001:db8::1"), "addr:2001:db8::/64");
    ck_assert_str_eq(canon("Bob@X"), "sender:bob@x");
    ck_assert_str_eq(canon("<>"), "sender:<>");
    ck_assert_str_eq(canon("alice"), "user:alice");
    ck_assert_str_eq(canon(""), "bad key");
    ck_assert_str_eq(canon("a\001b"), "bad key");
    ck_assert(rk_key_is_address("addr:192.0.2.1"));
    ck_assert(!rk_key_is_address("sender:addr:x"));
}
END_TEST

static Suite *
rk_key_suite(void)
{
    Suite *s = suite_create("rk_key");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_address);
    tcase_add_test(tc, test_sender_user);
    tcase_add_test(tc, test_canon);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(rk_key_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
