/* Unit tests for authd's verification cache (authd/authd_cache.c) and its
 * per-user failure slowing (authd/authd_delay.c), with a fake clock: hits
 * only for the very user and password, expiry, forget per user, the
 * bound, the keying (HMAC, no password); the delays and their one log line. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth_clnt.h"
#include "authd/authd_cache.h"
#include "authd/authd_delay.h"

#define T0      1000000LL
#define TTL     300000LL

static const unsigned char salt[AUTHD_CACHE_SALT_LEN] = "0123456789abcdef0123456789abcde";
static AUTHD_CACHE *cache;

static void
setup(void)
{
    cache = authd_cache_create(salt, sizeof(salt), 4);
}

static void
teardown(void)
{
    cache = authd_cache_free(cache);
}

START_TEST(test_hit_only_for_the_pair)
{
    ck_assert_int_eq(authd_cache_lookup(cache, "alice", "secret", T0), 0);
    authd_cache_add(cache, "alice", "secret", T0, TTL);
    ck_assert_int_eq(authd_cache_lookup(cache, "alice", "secret", T0 + 1), 1);
    ck_assert_int_eq(authd_cache_lookup(cache, "alice", "Secret", T0 + 1), 0);
    ck_assert_int_eq(authd_cache_lookup(cache, "alice", "secret ", T0 + 1), 0);
    ck_assert_int_eq(authd_cache_lookup(cache, "alice", "", T0 + 1), 0);
    ck_assert_int_eq(authd_cache_lookup(cache, "bob", "secret", T0 + 1), 0);
    /* The NUL between name and password keeps them apart. */
    authd_cache_add(cache, "ab", "c", T0, TTL);
    ck_assert_int_eq(authd_cache_lookup(cache, "a", "bc", T0 + 1), 0);
    ck_assert_int_eq(authd_cache_lookup(cache, "abc", "", T0 + 1), 0);
    ck_assert_int_eq(authd_cache_lookup(cache, "ab", "c", T0 + 1), 1);
}
END_TEST

/* The key, computed here the long way. */
static void
expected_key(const unsigned char *key_salt, const char *msg, size_t len,
             char *hex)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0, i;

    ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key_salt, AUTHD_CACHE_SALT_LEN,
                               (const unsigned char *) msg, len, md,
                               &md_len));
    ck_assert_uint_eq(md_len, 32);
    for (i = 0; i < md_len; i++)
        sprintf(hex + 2 * i, "%02x", md[i]);
}

START_TEST(test_keying)
{
    unsigned char other_salt[AUTHD_CACHE_SALT_LEN];
    char key[AUTHD_CACHE_KEY_HEX + 1], want[AUTHD_CACHE_KEY_HEX + 1];
    char other_key[AUTHD_CACHE_KEY_HEX + 1];
    AUTHD_CACHE *other;

    /* HMAC-SHA256 under the salt of user NUL password: no password kept. */
    authd_cache_key(cache, "alice", "secret", key);
    expected_key(salt, "alice\0secret", 12, want);
    ck_assert_str_eq(key, want);
    ck_assert_ptr_null(strstr(key, "secret"));
    /* Another salt (another authd process): another key. */
    memcpy(other_salt, salt, sizeof(salt));
    other_salt[0] ^= 1;
    other = authd_cache_create(other_salt, sizeof(other_salt), 4);
    authd_cache_key(other, "alice", "secret", other_key);
    ck_assert_str_ne(key, other_key);
    authd_cache_free(other);
    /* Name and password cannot trade bytes. */
    authd_cache_key(cache, "alices", "ecret", other_key);
    ck_assert_str_ne(key, other_key);
}
END_TEST

START_TEST(test_expiry)
{
    authd_cache_add(cache, "alice", "secret", T0, TTL);
    ck_assert_int_eq(authd_cache_lookup(cache, "alice", "secret",
                                        T0 + TTL - 1), 1);
    ck_assert_int_eq(authd_cache_lookup(cache, "alice", "secret", T0 + TTL),
                     0);
    /* A lookup of an expired entry removes it. */
    ck_assert_uint_eq(authd_cache_size(cache), 0);
    /* A zero time (auth_cache_time = 0) caches nothing. */
    authd_cache_add(cache, "alice", "secret", T0, 0);
    ck_assert_uint_eq(authd_cache_size(cache), 0);
    /* Adding again moves the expiry. */
    authd_cache_add(cache, "alice", "secret", T0, TTL);
    authd_cache_add(cache, "alice", "secret", T0 + 1000, TTL);
    ck_assert_uint_eq(authd_cache_size(cache), 1);
    ck_assert_int_eq(authd_cache_lookup(cache, "alice", "secret",
                                        T0 + TTL + 500), 1);
    /* authd's timer removes what expired, oldest first. */
    authd_cache_add(cache, "bob", "pw", T0 + 2000, TTL);
    ck_assert_uint_eq(authd_cache_expire(cache, T0 + TTL + 1500, 10), 1);
    ck_assert_uint_eq(authd_cache_size(cache), 1);
    ck_assert_uint_eq(authd_cache_expire(cache, T0 + TTL + 2000, 10), 1);
    ck_assert_uint_eq(authd_cache_size(cache), 0);
}
END_TEST

START_TEST(test_forget_user)
{
    authd_cache_add(cache, "alice", "old", T0, TTL);
    authd_cache_add(cache, "alice", "new", T0, TTL);
    authd_cache_add(cache, "bob", "old", T0, TTL);
    ck_assert_uint_eq(authd_cache_forget(cache, "alice"), 2);
    ck_assert_int_eq(authd_cache_lookup(cache, "alice", "old", T0), 0);
    ck_assert_int_eq(authd_cache_lookup(cache, "alice", "new", T0), 0);
    ck_assert_int_eq(authd_cache_lookup(cache, "bob", "old", T0), 1);
    ck_assert_uint_eq(authd_cache_forget(cache, "alice"), 0);
    ck_assert_uint_eq(authd_cache_forget(cache, "carol"), 0);
    /* The user can come back. */
    authd_cache_add(cache, "alice", "new", T0, TTL);
    ck_assert_int_eq(authd_cache_lookup(cache, "alice", "new", T0), 1);
    authd_cache_flush(cache);
    ck_assert_uint_eq(authd_cache_size(cache), 0);
    ck_assert_int_eq(authd_cache_lookup(cache, "bob", "old", T0), 0);
}
END_TEST

START_TEST(test_bounded)
{
    char user[16];
    int i;

    /* Room for 4: the oldest goes first. */
    for (i = 0; i < 6; i++) {
        snprintf(user, sizeof(user), "user%d", i);
        authd_cache_add(cache, user, "pw", T0 + i, TTL);
    }
    ck_assert_uint_eq(authd_cache_size(cache), 4);
    ck_assert_int_eq(authd_cache_lookup(cache, "user0", "pw", T0 + 10), 0);
    ck_assert_int_eq(authd_cache_lookup(cache, "user1", "pw", T0 + 10), 0);
    ck_assert_int_eq(authd_cache_lookup(cache, "user2", "pw", T0 + 10), 1);
    ck_assert_int_eq(authd_cache_lookup(cache, "user5", "pw", T0 + 10), 1);
    /* Forgetting an evicted user's last entry left nothing behind. */
    ck_assert_uint_eq(authd_cache_forget(cache, "user0"), 0);
    ck_assert_uint_eq(authd_cache_forget(cache, "user2"), 1);
    ck_assert_uint_eq(authd_cache_size(cache), 3);
}
END_TEST

/* authd_delay ------------------------------------------------------------ */

START_TEST(test_delay_base)
{
    AUTHD_DELAY *d = authd_delay_create(16);
    AUTHD_DELAY_LIMITS lim = {.base_ms = 1000, .limit = 3, .window_ms = 600000};
    long failures;
    int first, i;

    for (i = 1; i <= 3; i++) {
        ck_assert_int_eq(authd_delay_failure(d, "alice", T0 + i, &lim,
                                             &failures, &first), 1000);
        ck_assert_int_eq(failures, i);
        ck_assert_int_eq(first, 0);
    }
    /* Over the limit: longer, logged once. */
    ck_assert_int_eq(authd_delay_failure(d, "alice", T0 + 10, &lim,
                                         &failures, &first),
                     1000 + AUTHD_SLOW_STEP_MS);
    ck_assert_int_eq(first, 1);
    ck_assert_int_eq(authd_delay_failure(d, "alice", T0 + 11, &lim,
                                         &failures, &first),
                     1000 + 2 * AUTHD_SLOW_STEP_MS);
    ck_assert_int_eq(first, 0);
    ck_assert_int_eq(failures, 5);
    /* Other names are not slowed. */
    ck_assert_int_eq(authd_delay_failure(d, "bob", T0 + 12, &lim, &failures,
                                         &first), 1000);
    /* Capped. */
    for (i = 0; i < 100; i++)
        authd_delay_failure(d, "alice", T0 + 20, &lim, &failures, &first);
    ck_assert_int_eq(authd_delay_failure(d, "alice", T0 + 20, &lim,
                                         &failures, &first),
                     1000 + AUTH_SLOW_MAX_MS);
    ck_assert_int_eq(first, 0);
    /* A new window starts afresh, and is logged again when over. */
    for (i = 1; i <= 3; i++)
        ck_assert_int_eq(authd_delay_failure(d, "alice", T0 + 600001 + i,
                                             &lim, &failures, &first), 1000);
    ck_assert_int_eq(authd_delay_failure(d, "alice", T0 + 600010, &lim,
                                         &failures, &first),
                     1000 + AUTHD_SLOW_STEP_MS);
    ck_assert_int_eq(first, 1);
    authd_delay_free(d);
}
END_TEST

START_TEST(test_delay_no_limit)
{
    AUTHD_DELAY *d = authd_delay_create(16);
    AUTHD_DELAY_LIMITS lim = {.base_ms = 0, .limit = 0, .window_ms = 600000};
    long failures;
    int first, i;

    for (i = 0; i < 50; i++)
        ck_assert_int_eq(authd_delay_failure(d, "alice", T0, &lim, &failures,
                                             &first), 0);
    ck_assert_int_eq(first, 0);
    authd_delay_free(d);
}
END_TEST

START_TEST(test_delay_bounded_and_expired)
{
    AUTHD_DELAY *d = authd_delay_create(3);
    AUTHD_DELAY_LIMITS lim = {.base_ms = 10, .limit = 1, .window_ms = 1000};
    long failures;
    int first;

    authd_delay_failure(d, "a", T0, &lim, &failures, &first);
    authd_delay_failure(d, "b", T0 + 1, &lim, &failures, &first);
    authd_delay_failure(d, "c", T0 + 2, &lim, &failures, &first);
    authd_delay_failure(d, "d", T0 + 3, &lim, &failures, &first);
    ck_assert_uint_eq(authd_delay_size(d), 3);
    /* "a" was evicted: it starts from one again. */
    authd_delay_failure(d, "a", T0 + 4, &lim, &failures, &first);
    ck_assert_int_eq(failures, 1);
    ck_assert_uint_eq(authd_delay_expire(d, T0 + 1003, 1000, 100), 2);
    ck_assert_uint_eq(authd_delay_size(d), 1);
    ck_assert_uint_eq(authd_delay_expire(d, T0 + 2000, 1000, 100), 1);
    ck_assert_uint_eq(authd_delay_size(d), 0);
    authd_delay_free(d);
}
END_TEST

static Suite *
authd_cache_suite(void)
{
    Suite *s = suite_create("authd_cache");
    TCase *tc = tcase_create("cache");
    TCase *td = tcase_create("delay");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_hit_only_for_the_pair);
    tcase_add_test(tc, test_keying);
    tcase_add_test(tc, test_expiry);
    tcase_add_test(tc, test_forget_user);
    tcase_add_test(tc, test_bounded);
    suite_add_tcase(s, tc);
    tcase_add_test(td, test_delay_base);
    tcase_add_test(td, test_delay_no_limit);
    tcase_add_test(td, test_delay_bounded_and_expired);
    suite_add_tcase(s, td);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(authd_cache_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
