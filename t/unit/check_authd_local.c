/* Unit tests for authd's local check (authd/authd_local.c) against a real
 * Berkeley DB file in the fixture directory, with real hashes: yescrypt
 * made by pw_hash_make() and SHA-512 made by openssl passwd.  An unknown
 * user costs about what a wrong password costs. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_clnt.h"
#include "auth_userdb.h"
#include "authd/authd_local.h"
#include "fixture.h"
#include "monotime.h"
#include "pw_hash.h"

/* openssl passwd -6 -salt saltsalt 'correct horse' */
#define SHA512  "$6$saltsalt$hRM5XZ86KXEw9UOmjigeVqFgULtFB2sgpC9lXQDfMib3Zgw7mEiUvBJI2EplzfAqxL5Vvwp2scFtv/uamSo5z0"

static char db_path[256];
static VBUF *why;
static AUTHD_LOCAL *local;

static void
add_user(const char *name, const char *hash)
{
    ck_assert_int_eq(auth_userdb_update(db_path, AUTH_USERDB_ADD, name, hash,
                                        -1, -1, why), AUTH_USERDB_OK);
}

static void
setup(void)
{
    VBUF *hash = vbuf_create(128);

    snprintf(db_path, sizeof(db_path), "%s/users.db",
             fixture_dir_create("check_authd_local"));
    why = vbuf_create(64);
    ck_assert_int_eq(pw_hash_make("s3cret \xc3\xa9=", hash, why), 0);
    add_user("alice", vbuf_str(hash));
    add_user("bob", SHA512);
    vbuf_free(hash);
    local = authd_local_create(db_path, NULL);
}

static void
teardown(void)
{
    local = authd_local_free(local);
    fixture_dir_remove();
    vbuf_free(why);
}

START_TEST(test_verify)
{
    ck_assert_int_eq(authd_local_verify(local, "alice", "s3cret \xc3\xa9=",
                                        why), AUTH_CLNT_OK);
    ck_assert_int_eq(authd_local_verify(local, "bob", "correct horse", why),
                     AUTH_CLNT_OK);
    /* Names are case-insensitive, passwords are not. */
    ck_assert_int_eq(authd_local_verify(local, "ALICE", "s3cret \xc3\xa9=",
                                        why), AUTH_CLNT_OK);
    ck_assert_int_eq(authd_local_verify(local, "Bob", "Correct horse", why),
                     AUTH_CLNT_FAIL);
    ck_assert_str_eq(vbuf_str(why), "wrong password");
    ck_assert_int_eq(authd_local_verify(local, "alice", "s3cret", why),
                     AUTH_CLNT_FAIL);
    ck_assert_int_eq(authd_local_verify(local, "carol", "x", why),
                     AUTH_CLNT_FAIL);
    ck_assert_str_eq(vbuf_str(why), "unknown user");
    ck_assert_int_eq(authd_local_verify(local, "al ice", "x", why),
                     AUTH_CLNT_FAIL);
    ck_assert_str_eq(vbuf_str(why), "invalid user name");
}
END_TEST

START_TEST(test_changes_seen_at_once)
{
    VBUF *hash = vbuf_create(128);

    ck_assert_int_eq(authd_local_verify(local, "bob", "correct horse", why),
                     AUTH_CLNT_OK);
    ck_assert_int_eq(pw_hash_make("new one", hash, why), 0);
    ck_assert_int_eq(auth_userdb_update(db_path, AUTH_USERDB_CHANGE, "bob",
                                        vbuf_str(hash), -1, -1, why),
                     AUTH_USERDB_OK);
    ck_assert_int_eq(authd_local_verify(local, "bob", "correct horse", why),
                     AUTH_CLNT_FAIL);
    ck_assert_int_eq(authd_local_verify(local, "bob", "new one", why),
                     AUTH_CLNT_OK);
    ck_assert_int_eq(auth_userdb_update(db_path, AUTH_USERDB_DELETE, "bob",
                                        NULL, -1, -1, why), AUTH_USERDB_OK);
    ck_assert_int_eq(authd_local_verify(local, "bob", "new one", why),
                     AUTH_CLNT_FAIL);
    ck_assert_str_eq(vbuf_str(why), "unknown user");
    vbuf_free(hash);
}
END_TEST

START_TEST(test_locked_entry)
{
    /* An entry that is no hash ("!" as in a locked shadow entry) lets
     * nobody in, not even with its own text as the password. */
    add_user("locked", "!");
    ck_assert_int_eq(authd_local_verify(local, "locked", "!", why),
                     AUTH_CLNT_FAIL);
    ck_assert_str_eq(vbuf_str(why),
                     "unusable password hash in the user database");
    add_user("empty", "");
    ck_assert_int_eq(authd_local_verify(local, "empty", "", why),
                     AUTH_CLNT_FAIL);
}
END_TEST

START_TEST(test_no_database)
{
    /* No file: nobody is a user, which is not a temporary failure. */
    authd_local_set_path(local, "/nonexistent/users.db");
    ck_assert_int_eq(authd_local_verify(local, "alice", "x", why),
                     AUTH_CLNT_FAIL);
    ck_assert_str_eq(vbuf_str(why), "unknown user");
    /* An unreadable one is. */
    fixture_write_str("users.db", "not a database\n");
    authd_local_set_path(local, db_path);
    ck_assert_int_eq(authd_local_verify(local, "alice", "x", why),
                     AUTH_CLNT_TEMP);
    ck_assert_msg(strstr(vbuf_str(why), db_path) != NULL, "%s",
                  vbuf_str(why));
}
END_TEST

/* One failed check, in ms. */
static long long
time_check(const char *user, const char *password)
{
    long long start = monotime_ms();

    ck_assert_int_eq(authd_local_verify(local, user, password, why),
                     AUTH_CLNT_FAIL);
    return monotime_ms() - start;
}

START_TEST(test_unknown_user_costs_the_same)
{
    static const char *users[] = {"alice", "nobody-here", "in valid"};
    long long best[3] = {-1, -1, -1}, t;
    int round, i;

    /* The fastest of five, taken in turns: what the work costs, with as
     * little of the shared machine's noise as can be had. */
    for (round = 0; round < 5; round++)
        for (i = 0; i < 3; i++) {
            t = time_check(users[i], "wrong password");
            if (best[i] < 0 || t < best[i])
                best[i] = t;
        }
    /* yescrypt takes tens of ms; the three within a factor of two. */
    ck_assert_int_ge(best[0], 5);
    for (i = 1; i < 3; i++)
        ck_assert_msg(best[i] * 2 >= best[0] && best[i] <= best[0] * 2,
                      "wrong password %lld ms, %s %lld ms", best[0],
                      users[i], best[i]);
}
END_TEST

static Suite *
authd_local_suite(void)
{
    Suite *s = suite_create("authd_local");
    TCase *tc = tcase_create("local");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_verify);
    tcase_add_test(tc, test_changes_seen_at_once);
    tcase_add_test(tc, test_locked_entry);
    tcase_add_test(tc, test_no_database);
    tcase_add_test(tc, test_unknown_user_costs_the_same);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(authd_local_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
