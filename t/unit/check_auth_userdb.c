/* Unit tests for lib/auth_userdb.c: user names, and a real Berkeley DB
 * file in the fixture directory written with auth_userdb_update() and
 * read back as authd and alligatectl read it. */
#include <check.h>
#include <db.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth_userdb.h"
#include "fixture.h"
#include "mymalloc.h"

#define H1  "$6$saltsalt$hRM5XZ86KXEw9UOmjigeVqFgULtFB2sgpC9lXQDfMib3Zgw7mEiUvBJI2EplzfAqxL5Vvwp2scFtv/uamSo5z0"
#define H2  "$5$saltsalt$myjXcpMpE2Ofk7fj9hqyNYSn6lmWG4Mqnjx.KIRRr4/"

static char db_path[256];
static VBUF *why, *out;

static void
setup(void)
{
    snprintf(db_path, sizeof(db_path), "%s/users.db",
             fixture_dir_create("check_auth_userdb"));
    why = vbuf_create(64);
    out = vbuf_create(64);
}

static void
teardown(void)
{
    fixture_dir_remove();
    vbuf_free(why);
    vbuf_free(out);
}

START_TEST(test_names)
{
    static const char *bad[] = {
        "", "a b", "a\tb", "tab\t", " lead", "nl\n", "cr\r", "del\x7f",
        "ctl\x01", NULL,
    };
    char longest[AUTH_USERDB_NAME_MAX + 2];
    int i;

    ck_assert_int_eq(auth_userdb_name("Alice@Example.COM", out, why), 0);
    ck_assert_str_eq(vbuf_str(out), "alice@example.com");
    /* Octets above ASCII are kept as they are. */
    ck_assert_int_eq(auth_userdb_name("J\xc3\x9cRGEN", out, why), 0);
    ck_assert_str_eq(vbuf_str(out), "j\xc3\x9crgen");
    for (i = 0; bad[i]; i++)
        ck_assert_msg(auth_userdb_name(bad[i], out, why) < 0,
                      "accepted \"%s\"", bad[i]);
    memset(longest, 'x', sizeof(longest));
    longest[AUTH_USERDB_NAME_MAX] = 0;
    ck_assert_int_eq(auth_userdb_name(longest, out, why), 0);
    longest[AUTH_USERDB_NAME_MAX] = 'x';
    longest[AUTH_USERDB_NAME_MAX + 1] = 0;
    ck_assert_int_eq(auth_userdb_name(longest, out, why), -1);
    ck_assert_str_eq(vbuf_str(why), "user name longer than 255 octets");
}
END_TEST

static void
collect(const char *user, const char *hash, void *context)
{
    vbuf_printf(context, "%s %s\n", user, hash);
}

START_TEST(test_no_file)
{
    VBUF *all = vbuf_create(64);

    ck_assert_int_eq(auth_userdb_lookup(db_path, "alice", out, why), 0);
    ck_assert_int_eq(auth_userdb_walk(db_path, collect, all, why), 0);
    ck_assert_int_eq(auth_userdb_update(db_path, AUTH_USERDB_DELETE, "alice",
                                        NULL, -1, -1, why),
                     AUTH_USERDB_ABSENT);
    ck_assert_int_eq(access(db_path, F_OK), -1);
    vbuf_free(all);
}
END_TEST

START_TEST(test_add_change_delete)
{
    VBUF *all = vbuf_create(64);
    struct stat st;

    ck_assert_int_eq(auth_userdb_update(db_path, AUTH_USERDB_ADD, "bob", H1,
                                        -1, -1, why), AUTH_USERDB_OK);
    ck_assert_int_eq(auth_userdb_update(db_path, AUTH_USERDB_ADD, "alice",
                                        H2, -1, -1, why), AUTH_USERDB_OK);
    ck_assert_int_eq(auth_userdb_update(db_path, AUTH_USERDB_ADD, "alice",
                                        H1, -1, -1, why),
                     AUTH_USERDB_EXISTS);
    /* The file holds hashes: 0600, and nothing left beside it. */
    ck_assert_int_eq(stat(db_path, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0600);
    vbuf_printf(all, "%s.tmp", db_path);
    ck_assert_int_eq(access(vbuf_str(all), F_OK), -1);
    vbuf_reset(all);

    ck_assert_int_eq(auth_userdb_lookup(db_path, "alice", out, why), 1);
    ck_assert_str_eq(vbuf_str(out), H2);
    ck_assert_int_eq(auth_userdb_lookup(db_path, "bob", out, why), 1);
    ck_assert_str_eq(vbuf_str(out), H1);
    ck_assert_int_eq(auth_userdb_lookup(db_path, "carol", out, why), 0);
    /* No prefix matches: the key is the whole name. */
    ck_assert_int_eq(auth_userdb_lookup(db_path, "ali", out, why), 0);
    ck_assert_int_eq(auth_userdb_lookup(db_path, "alicex", out, why), 0);

    ck_assert_int_eq(auth_userdb_walk(db_path, collect, all, why), 2);
    ck_assert_str_eq(vbuf_str(all), "alice " H2 "\nbob " H1 "\n");

    ck_assert_int_eq(auth_userdb_update(db_path, AUTH_USERDB_CHANGE, "alice",
                                        H1, -1, -1, why), AUTH_USERDB_OK);
    ck_assert_int_eq(auth_userdb_lookup(db_path, "alice", out, why), 1);
    ck_assert_str_eq(vbuf_str(out), H1);
    ck_assert_int_eq(auth_userdb_update(db_path, AUTH_USERDB_CHANGE, "carol",
                                        H1, -1, -1, why),
                     AUTH_USERDB_ABSENT);

    ck_assert_int_eq(auth_userdb_update(db_path, AUTH_USERDB_DELETE, "bob",
                                        NULL, -1, -1, why), AUTH_USERDB_OK);
    ck_assert_int_eq(auth_userdb_lookup(db_path, "bob", out, why), 0);
    ck_assert_int_eq(auth_userdb_update(db_path, AUTH_USERDB_DELETE, "bob",
                                        NULL, -1, -1, why),
                     AUTH_USERDB_ABSENT);
    vbuf_reset(all);
    ck_assert_int_eq(auth_userdb_walk(db_path, collect, all, why), 1);
    ck_assert_str_eq(vbuf_str(all), "alice " H1 "\n");
    vbuf_free(all);
}
END_TEST

START_TEST(test_reader_keeps_old_file)
{
    DB *db;
    DBT key, value;

    /* A reader that opened the file before a change reads the old users
     * to the end: the change is a new file, renamed into place. */
    ck_assert_int_eq(auth_userdb_update(db_path, AUTH_USERDB_ADD, "alice",
                                        H1, -1, -1, why), AUTH_USERDB_OK);
    ck_assert_int_eq(db_create(&db, NULL, 0), 0);
    ck_assert_int_eq(db->open(db, NULL, db_path, NULL, DB_UNKNOWN, DB_RDONLY,
                              0), 0);
    ck_assert_int_eq(auth_userdb_update(db_path, AUTH_USERDB_DELETE, "alice",
                                        NULL, -1, -1, why), AUTH_USERDB_OK);
    memset(&key, 0, sizeof(key));
    memset(&value, 0, sizeof(value));
    key.data = "alice";
    key.size = 5;
    ck_assert_int_eq(db->get(db, NULL, &key, &value, 0), 0);
    db->close(db, 0);
    ck_assert_int_eq(auth_userdb_lookup(db_path, "alice", out, why), 0);
}
END_TEST

START_TEST(test_hash_file_read)
{
    DB *db;
    DBT key, value;

    /* A hash-type file with the same records (made by hand, say with
     * db_load -T -t hash) is read as well. */
    ck_assert_int_eq(db_create(&db, NULL, 0), 0);
    ck_assert_int_eq(db->open(db, NULL, db_path, NULL, DB_HASH, DB_CREATE,
                              0600), 0);
    memset(&key, 0, sizeof(key));
    memset(&value, 0, sizeof(value));
    key.data = "dave";
    key.size = 4;
    value.data = H2;
    value.size = strlen(H2);
    ck_assert_int_eq(db->put(db, NULL, &key, &value, 0), 0);
    db->close(db, 0);
    ck_assert_int_eq(auth_userdb_lookup(db_path, "dave", out, why), 1);
    ck_assert_str_eq(vbuf_str(out), H2);
    /* And a change turns it into a btree with the same users. */
    ck_assert_int_eq(auth_userdb_update(db_path, AUTH_USERDB_ADD, "erin", H1,
                                        -1, -1, why), AUTH_USERDB_OK);
    ck_assert_int_eq(auth_userdb_lookup(db_path, "dave", out, why), 1);
    ck_assert_int_eq(auth_userdb_lookup(db_path, "erin", out, why), 1);
}
END_TEST

START_TEST(test_unreadable)
{
    char *text;

    fixture_write_str("users.db", "this is not a database\n");
    ck_assert_int_eq(auth_userdb_lookup(db_path, "alice", out, why), -1);
    ck_assert_msg(strstr(vbuf_str(why), db_path) != NULL, "%s",
                  vbuf_str(why));
    /* A change does not destroy what it cannot read. */
    ck_assert_int_eq(auth_userdb_update(db_path, AUTH_USERDB_ADD, "alice",
                                        H1, -1, -1, why), -1);
    text = fixture_read("users.db", NULL);
    ck_assert_str_eq(text, "this is not a database\n");
    myfree(text);
}
END_TEST

static Suite *
auth_userdb_suite(void)
{
    Suite *s = suite_create("auth_userdb");
    TCase *tc = tcase_create("auth_userdb");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_no_file);
    tcase_add_test(tc, test_add_change_delete);
    tcase_add_test(tc, test_reader_keeps_old_file);
    tcase_add_test(tc, test_hash_file_read);
    tcase_add_test(tc, test_unreadable);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(auth_userdb_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
