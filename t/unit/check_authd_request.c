/* Unit tests for authd's requests (authd/authd_request.c), driven as
 * authd.c drives them, with a real user database in the fixture
 * directory and a fake clock: the answers and their delays, the cache
 * and forget, the backend hand-over, malformed requests, and the log
 * line of a failure, which never holds the password. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "attr.h"
#include "auth_clnt.h"
#include "auth_userdb.h"
#include "authd/authd_request.h"
#include "fixture.h"
#include "msg.h"
#include "mymalloc.h"
#include "pw_hash.h"

#define T0      5000000LL
/* openssl passwd -6 -salt saltsalt 'correct horse' */
#define SHA512  "$6$saltsalt$hRM5XZ86KXEw9UOmjigeVqFgULtFB2sgpC9lXQDfMib3Zgw7mEiUvBJI2EplzfAqxL5Vvwp2scFtv/uamSo5z0"
#define ODD_PASSWORD "p\xc3\xa4ss\r\nword = \t\x01\x7f~"

static const unsigned char salt[AUTHD_CACHE_SALT_LEN] = "fixed salt for the unit tests..";
static char db_path[256];
static char log_path[256];
static AUTHD authd;
static ATTR *request, *reply;
static VBUF *why;

static void
setup(void)
{
    const char *dir = fixture_dir_create("check_authd_request");
    VBUF *hash = vbuf_create(128);

    snprintf(db_path, sizeof(db_path), "%s/users.db", dir);
    snprintf(log_path, sizeof(log_path), "%s/log", dir);
    ck_assert_int_eq(msg_open(log_path), 0);
    why = vbuf_create(64);
    ck_assert_int_eq(auth_userdb_update(db_path, AUTH_USERDB_ADD, "alice",
                                        SHA512, -1, -1, why), 0);
    ck_assert_int_eq(pw_hash_make(ODD_PASSWORD, hash, why), 0);
    ck_assert_int_eq(auth_userdb_update(db_path, AUTH_USERDB_ADD, "odd",
                                        vbuf_str(hash), -1, -1, why), 0);
    vbuf_free(hash);
    memset(&authd, 0, sizeof(authd));
    authd.backend = AUTHD_BACKEND_LOCAL;
    authd.local = authd_local_create(db_path, SHA512);
    authd.cache = authd_cache_create(salt, sizeof(salt), 100);
    authd.delay = authd_delay_create(100);
    authd.cache_ms = 300000;
    authd.limits.base_ms = 1000;
    authd.limits.limit = 5;
    authd.limits.window_ms = 600000;
    request = attr_create();
    reply = attr_create();
}

static void
teardown(void)
{
    authd_local_free(authd.local);
    authd_cache_free(authd.cache);
    authd_delay_free(authd.delay);
    attr_free(request);
    attr_free(reply);
    vbuf_free(why);
    msg_open("-");
    fixture_dir_remove();
}

static const char *
b64(const char *text)
{
    static char buf[1024];

    EVP_EncodeBlock((unsigned char *) buf, (const unsigned char *) text,
                    (int) strlen(text));
    return buf;
}

/* verify with password already in base64; returns the answer kind. */
static int
verify_b64(const char *user, const char *password_b64, long long now,
           long long *delay, AUTHD_CHECK **check)
{
    attr_reset(request);
    attr_reset(reply);
    attr_set(request, "request", "verify");
    attr_set(request, "method", "PLAIN");
    attr_set(request, "user", user);
    attr_set(request, "password", password_b64);
    attr_set(request, "client", "192.0.2.1");
    return authd_request_handle(&authd, request, reply, now, delay, check);
}

static int
verify(const char *user, const char *password, long long now,
       long long *delay)
{
    AUTHD_CHECK *check = NULL;
    int answer = verify_b64(user, b64(password), now, delay, &check);

    ck_assert_ptr_null(check);
    return answer;
}

static long
status(void)
{
    long v = -99;

    ck_assert_int_eq(attr_get_long(reply, "status", &v), 0);
    return v;
}

START_TEST(test_verify_local)
{
    long long delay;

    ck_assert_int_eq(verify("alice", "correct horse", T0, &delay),
                     AUTHD_ANSWER_NOW);
    ck_assert_int_eq(status(), 0);
    ck_assert_int_eq(verify("Alice", "correct horse", T0, &delay),
                     AUTHD_ANSWER_NOW);
    ck_assert_int_eq(status(), 0);
    /* Any byte but NUL survives the trip: CR, LF, '=', UTF-8, controls. */
    ck_assert_int_eq(verify("odd", ODD_PASSWORD, T0, &delay),
                     AUTHD_ANSWER_NOW);
    ck_assert_int_eq(status(), 0);
}
END_TEST

START_TEST(test_failures_look_alike)
{
    long long delay;
    VBUF *first = vbuf_create(64), *second = vbuf_create(64);

    ck_assert_int_eq(verify("alice", "wrong", T0, &delay),
                     AUTHD_ANSWER_LATER);
    ck_assert_int_eq(delay, 1000);
    attr_print(first, reply);
    ck_assert_int_eq(verify("nobody", "wrong", T0, &delay),
                     AUTHD_ANSWER_LATER);
    ck_assert_int_eq(delay, 1000);
    attr_print(second, reply);
    ck_assert_str_eq(vbuf_str(first), "status=1\nreason=authentication failed\n\n");
    ck_assert_str_eq(vbuf_str(first), vbuf_str(second));
    vbuf_free(first);
    vbuf_free(second);
}
END_TEST

START_TEST(test_failure_logged_without_password)
{
    long long delay;
    char *log;

    verify("alice", "hunter2-secret", T0, &delay);
    verify("no\x01" "body", "hunter2-secret", T0, &delay);
    log = fixture_read(log_path, NULL);
    ck_assert_msg(strstr(log, "authentication failed for user=alice client=192.0.2.1: wrong password\n") != NULL, "%s", log);
    ck_assert_msg(strstr(log, "authentication failed for user=no?body client=192.0.2.1: invalid user name\n") != NULL, "%s", log);
    ck_assert_ptr_null(strstr(log, "hunter2"));
    ck_assert_ptr_null(strstr(log, b64("hunter2-secret")));
    myfree(log);
}
END_TEST

START_TEST(test_cache_and_forget)
{
    long long delay;

    ck_assert_int_eq(verify("alice", "correct horse", T0, &delay),
                     AUTHD_ANSWER_NOW);
    /* Gone from the file, still in the cache ... */
    ck_assert_int_eq(auth_userdb_update(db_path, AUTH_USERDB_DELETE, "alice",
                                        NULL, -1, -1, why), 0);
    ck_assert_int_eq(verify("ALICE", "correct horse", T0 + 1000, &delay),
                     AUTHD_ANSWER_NOW);
    ck_assert_int_eq(status(), 0);
    /* ... until auth_cache_time has passed ... */
    ck_assert_int_eq(verify("alice", "correct horse", T0 + 300000, &delay),
                     AUTHD_ANSWER_LATER);
    ck_assert_int_eq(status(), 1);
    /* ... or alligatectl says forget. */
    ck_assert_int_eq(auth_userdb_update(db_path, AUTH_USERDB_ADD, "alice",
                                        SHA512, -1, -1, why), 0);
    ck_assert_int_eq(verify("alice", "correct horse", T0, &delay),
                     AUTHD_ANSWER_NOW);
    ck_assert_int_eq(auth_userdb_update(db_path, AUTH_USERDB_DELETE, "alice",
                                        NULL, -1, -1, why), 0);
    attr_reset(request);
    attr_reset(reply);
    attr_set(request, "request", "forget");
    attr_set(request, "user", "Alice");
    ck_assert_int_eq(authd_request_handle(&authd, request, reply, T0, &delay,
                                          &(AUTHD_CHECK *) {NULL}),
                     AUTHD_ANSWER_NOW);
    ck_assert_int_eq(status(), 0);
    ck_assert_str_eq(attr_get(reply, "removed"), "1");
    ck_assert_int_eq(verify("alice", "correct horse", T0, &delay),
                     AUTHD_ANSWER_LATER);
}
END_TEST

START_TEST(test_cache_off)
{
    long long delay;

    authd.cache_ms = 0;
    ck_assert_int_eq(verify("alice", "correct horse", T0, &delay),
                     AUTHD_ANSWER_NOW);
    ck_assert_uint_eq(authd_cache_size(authd.cache), 0);
}
END_TEST

START_TEST(test_nul_in_password)
{
    long long delay;
    AUTHD_CHECK *check = NULL;

    /* "correct horse" NUL "junk": never "correct horse". */
    ck_assert_int_eq(verify_b64("alice", "Y29ycmVjdCBob3JzZQBqdW5r", T0,
                                &delay, &check), AUTHD_ANSWER_LATER);
    ck_assert_int_eq(status(), 1);
    ck_assert_int_eq(verify_b64("alice", "AGNvcnJlY3QgaG9yc2U=", T0, &delay,
                                &check), AUTHD_ANSWER_LATER);
    ck_assert_int_eq(status(), 1);
}
END_TEST

START_TEST(test_malformed)
{
    static const char *bad_b64[] = {
        "Y29ycmVjdCBob3JzZQ",               /* no padding */
        "Y29y=mVj",                         /* '=' inside */
        "Y29ycmVjdCBob3JzZQ===",
        "Y29y cmVj",
        "Y29y\tcmVj",
        "!!!!",
        "====",
        NULL,
    };
    static const char *requests[][2] = {
        {"status=-1\nreason=no request\n\n", "user=alice\n\n"},
        {"status=-1\nreason=unknown request\n\n", "request=login\n\n"},
        {"status=-1\nreason=no user\n\n",
         "request=verify\nmethod=PLAIN\npassword=eA==\n\n"},
        {"status=-1\nreason=no user\n\n",
         "request=verify\nmethod=PLAIN\nuser=\npassword=eA==\n\n"},
        {"status=-1\nreason=no password\n\n",
         "request=verify\nmethod=PLAIN\nuser=alice\n\n"},
        {"status=-1\nreason=no method, or not PLAIN or LOGIN\n\n",
         "request=verify\nmethod=CRAM-MD5\nuser=alice\npassword=eA==\n\n"},
        {"status=-1\nreason=no method, or not PLAIN or LOGIN\n\n",
         "request=verify\nuser=alice\npassword=eA==\n\n"},
        {"status=-1\nreason=no user\n\n", "request=forget\n\n"},
    };
    VBUF *printed = vbuf_create(64);
    AUTHD_CHECK *check = NULL;
    long long delay;
    size_t used, i;

    for (i = 0; bad_b64[i]; i++) {
        ck_assert_int_eq(verify_b64("alice", bad_b64[i], T0, &delay, &check),
                         AUTHD_ANSWER_NOW);
        ck_assert_int_eq(status(), -1);
        ck_assert_str_eq(attr_get(reply, "reason"), "password not in base64");
    }
    for (i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
        ck_assert_int_eq(attr_parse(request, requests[i][1],
                                    strlen(requests[i][1]), &used, NULL), 1);
        attr_reset(reply);
        ck_assert_int_eq(authd_request_handle(&authd, request, reply, T0,
                                              &delay, &check),
                         AUTHD_ANSWER_NOW);
        vbuf_reset(printed);
        attr_print(printed, reply);
        ck_assert_str_eq(vbuf_str(printed), requests[i][0]);
    }
    vbuf_free(printed);
}
END_TEST

START_TEST(test_user_slowed)
{
    long long delay;
    char *log;
    int i;

    authd.limits.limit = 2;
    for (i = 0; i < 2; i++) {
        verify("alice", "guess", T0 + i, &delay);
        ck_assert_int_eq(delay, 1000);
    }
    verify("alice", "guess", T0 + 10, &delay);
    ck_assert_int_eq(delay, 2000);
    verify("ALICE", "guess", T0 + 11, &delay);
    ck_assert_int_eq(delay, 3000);
    /* The right password is answered at once all the same. */
    ck_assert_int_eq(verify("alice", "correct horse", T0 + 12, &delay),
                     AUTHD_ANSWER_NOW);
    ck_assert_int_eq(status(), 0);
    log = fixture_read(log_path, NULL);
    ck_assert_msg(strstr(log, "warning: user=alice: 3 authentication failures within 600s;") != NULL, "%s", log);
    ck_assert_ptr_eq(strstr(log, "within 600s;"), strrchr(log, ';') - strlen("within 600s"));
    myfree(log);
}
END_TEST

START_TEST(test_backend)
{
    AUTHD_CHECK *check = NULL;
    long long delay;

    authd.backend = AUTHD_BACKEND_RELAY;
    ck_assert_int_eq(verify_b64("Bob", b64(ODD_PASSWORD), T0, &delay, &check),
                     AUTHD_ANSWER_BACKEND);
    ck_assert_ptr_nonnull(check);
    ck_assert_int_eq(attr_count(reply), 0);
    ck_assert_str_eq(check->user, "Bob");
    ck_assert_str_eq(check->key, "bob");
    ck_assert_str_eq(check->password, ODD_PASSWORD);
    ck_assert_str_eq(check->method, "PLAIN");
    ck_assert_str_eq(check->client, "192.0.2.1");
    /* The backend said yes: cached. */
    attr_reset(reply);
    ck_assert_int_eq(authd_request_backend_done(&authd, check, AUTH_CLNT_OK,
                                                "", reply, T0, &delay),
                     AUTHD_ANSWER_NOW);
    ck_assert_int_eq(status(), 0);
    authd_check_free(check);
    check = NULL;
    ck_assert_int_eq(verify_b64("bob", b64(ODD_PASSWORD), T0, &delay,
                                &check), AUTHD_ANSWER_NOW);
    ck_assert_ptr_null(check);

    /* A forget while the backend works: its yes is not cached. */
    ck_assert_int_eq(verify_b64("carol", b64("pw"), T0, &delay, &check),
                     AUTHD_ANSWER_BACKEND);
    attr_reset(request);
    attr_set(request, "request", "forget");
    attr_set(request, "user", "carol");
    attr_reset(reply);
    authd_request_handle(&authd, request, reply, T0, &delay,
                         &(AUTHD_CHECK *) {NULL});
    attr_reset(reply);
    authd_request_backend_done(&authd, check, AUTH_CLNT_OK, "", reply, T0,
                               &delay);
    ck_assert_int_eq(status(), 0);
    authd_check_free(check);
    check = NULL;
    ck_assert_int_eq(verify_b64("carol", b64("pw"), T0, &delay, &check),
                     AUTHD_ANSWER_BACKEND);

    /* No, and cannot tell. */
    attr_reset(reply);
    ck_assert_int_eq(authd_request_backend_done(&authd, check, AUTH_CLNT_FAIL,
                                                "535 5.7.8 no", reply, T0,
                                                &delay), AUTHD_ANSWER_LATER);
    ck_assert_int_eq(status(), 1);
    ck_assert_int_eq(delay, 1000);
    attr_reset(reply);
    ck_assert_int_eq(authd_request_backend_done(&authd, check, AUTH_CLNT_TEMP,
                                                "backend down", reply, T0,
                                                &delay), AUTHD_ANSWER_NOW);
    ck_assert_int_eq(status(), 2);
    ck_assert_str_eq(attr_get(reply, "reason"), "backend down");
    authd_check_free(check);
}
END_TEST

static Suite *
authd_request_suite(void)
{
    Suite *s = suite_create("authd_request");
    TCase *tc = tcase_create("request");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_verify_local);
    tcase_add_test(tc, test_failures_look_alike);
    tcase_add_test(tc, test_failure_logged_without_password);
    tcase_add_test(tc, test_cache_and_forget);
    tcase_add_test(tc, test_cache_off);
    tcase_add_test(tc, test_nul_in_password);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_user_slowed);
    tcase_add_test(tc, test_backend);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(authd_request_suite());
    int failed;

    msg_init("check_authd_request");
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
