/* Unit tests for lib/pw_hash.c: hashes made by other tools (openssl
 * passwd, libxcrypt through Python) are checked and accepted for import,
 * new ones are yescrypt, and what is not a complete hash is refused. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "pw_hash.h"

#define PASSWORD    "correct horse"

/* PASSWORD hashed by openssl passwd -6/-5 and by libxcrypt. */
static const char *good[] = {
    "$y$j9T$F5Jx5fExrKuJdWKCLdq6K/$3hLGIc.qAvjH1HUqhSIe2SVhPXiEw0p26TVbthirD95",
    "$6$saltsalt$hRM5XZ86KXEw9UOmjigeVqFgULtFB2sgpC9lXQDfMib3Zgw7mEiUvBJI2EplzfAqxL5Vvwp2scFtv/uamSo5z0",
    "$5$saltsalt$myjXcpMpE2Ofk7fj9hqyNYSn6lmWG4Mqnjx.KIRRr4/",
    "$2b$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2",
    NULL,
};

static VBUF *why;

static void
setup(void)
{
    why = vbuf_create(64);
}

static void
teardown(void)
{
    vbuf_free(why);
}

START_TEST(test_check_imported)
{
    int i;

    for (i = 0; good[i]; i++) {
        ck_assert_msg(pw_hash_valid(good[i], why) == 0, "%s: %s", good[i],
                      vbuf_str(why));
        ck_assert_int_eq(pw_hash_check(good[i], PASSWORD, why), 1);
        ck_assert_int_eq(pw_hash_check(good[i], "correct horsE", why), 0);
        ck_assert_int_eq(pw_hash_check(good[i], "", why), 0);
        ck_assert_int_eq(pw_hash_check(good[i], PASSWORD " ", why), 0);
    }
}
END_TEST

START_TEST(test_2y_alias)
{
    /* PHP's $2y$ is bcrypt under another name. */
    char hash[128];

    strcpy(hash, good[3]);
    hash[2] = 'y';
    ck_assert_int_eq(pw_hash_valid(hash, why), 0);
    ck_assert_int_eq(pw_hash_check(hash, PASSWORD, why), 1);
}
END_TEST

START_TEST(test_make)
{
    VBUF *hash = vbuf_create(128), *other = vbuf_create(128);
    const char *odd = "p\xc3\xa4ss word=\r\n\t\x01 end";

    ck_assert_int_eq(pw_hash_make(PASSWORD, hash, why), 0);
    ck_assert_int_eq(strncmp(vbuf_str(hash), "$y$", 3), 0);
    ck_assert_int_eq(pw_hash_valid(vbuf_str(hash), why), 0);
    ck_assert_int_eq(pw_hash_check(vbuf_str(hash), PASSWORD, why), 1);
    ck_assert_int_eq(pw_hash_check(vbuf_str(hash), "correct", why), 0);
    /* A new salt each time. */
    ck_assert_int_eq(pw_hash_make(PASSWORD, other, why), 0);
    ck_assert_str_ne(vbuf_str(hash), vbuf_str(other));
    /* Any byte but NUL is part of the password. */
    ck_assert_int_eq(pw_hash_make(odd, hash, why), 0);
    ck_assert_int_eq(pw_hash_check(vbuf_str(hash), odd, why), 1);
    ck_assert_int_eq(pw_hash_check(vbuf_str(hash), "p\xc3\xa4ss word=", why),
                     0);
    vbuf_free(hash);
    vbuf_free(other);
}
END_TEST

START_TEST(test_invalid)
{
    static const char *bad[] = {
        "",
        "secret",                                   /* plain text */
        "$1$saltsalt$4Ki1e0kJfsV0Qx1TYZK9Z.",       /* MD5: not taken */
        "$6$saltsalt",                              /* a setting, no hash */
        "$6$saltsalt$",
        "$y$j9T$F5Jx5fExrKuJdWKCLdq6K/",
        "$2b$05$abcdefghijklmnopqrstuu",
        "$y$j9T$F5Jx5fExrKuJdWKCLdq6K/$3hLGIc.qAvjH1HUqhSIe2SVhPXiEw0p26TVbth",
        "$6$saltsalt$hRM5 XZ86",                    /* white space */
        "$y$!!!$abc$def",
        "$7$x",
        "*",
        "!$6$saltsalt$hRM5XZ86KXEw9UOmjigeVqFgULtFB2sgpC9lXQDfMib3Zgw7mEiUvBJI2EplzfAqxL5Vvwp2scFtv/uamSo5z0",
        NULL,
    };
    int i;

    for (i = 0; bad[i]; i++)
        ck_assert_msg(pw_hash_valid(bad[i], why) < 0, "accepted \"%s\"",
                      bad[i]);
    /* An unusable hash never matches. */
    ck_assert_int_eq(pw_hash_check("*", "", why), -1);
    ck_assert_int_eq(pw_hash_check("", "", why), -1);
    ck_assert_int_eq(pw_hash_check("!locked", "!locked", why), -1);
}
END_TEST

START_TEST(test_long_password)
{
    VBUF *hash = vbuf_create(128);
    char pw[PW_HASH_PASSWORD_MAX + 2];

    memset(pw, 'x', sizeof(pw));
    pw[PW_HASH_PASSWORD_MAX] = 0;
    ck_assert_int_eq(pw_hash_make(pw, hash, why), 0);
    ck_assert_int_eq(pw_hash_check(vbuf_str(hash), pw, why), 1);
    /* One more octet: refused, and never a match. */
    pw[PW_HASH_PASSWORD_MAX] = 'x';
    pw[PW_HASH_PASSWORD_MAX + 1] = 0;
    ck_assert_int_eq(pw_hash_make(pw, hash, why), -1);
    ck_assert_str_eq(vbuf_str(why), "password longer than 511 octets");
    ck_assert_int_eq(pw_hash_check(good[0], pw, why), 0);
    vbuf_free(hash);
}
END_TEST

static Suite *
pw_hash_suite(void)
{
    Suite *s = suite_create("pw_hash");
    TCase *tc = tcase_create("pw_hash");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_check_imported);
    tcase_add_test(tc, test_2y_alias);
    tcase_add_test(tc, test_make);
    tcase_add_test(tc, test_invalid);
    tcase_add_test(tc, test_long_password);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(pw_hash_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
