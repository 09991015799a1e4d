/* Unit tests for the TLS configuration check (lib/tls_conf.c) and the
 * checks conf_load makes of the TLS parameters, with certificates made
 * at test time (fixture_tls.c).  Certificates are checked against a fixed
 * "now", so that the dates in the messages are exact. */
#include <check.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "fixture.h"
#include "fixture_tls.h"
#include "mymalloc.h"
#include "tls_conf.h"
#include "vbuf.h"

#define NOW     ((time_t) 1800000000)   /* 2027-01-15 08:00:00 UTC */
#define DAY     ((time_t) 86400)

static const char *dir;
static VBUF *errors;
static VBUF *warnings;
static VBUF *expect;

static void
setup(void)
{
    dir = fixture_dir_create("check_tls_conf");
    errors = vbuf_create(100);
    warnings = vbuf_create(100);
    expect = vbuf_create(100);
}

static void
teardown(void)
{
    fixture_dir_remove();
    vbuf_free(errors);
    vbuf_free(warnings);
    vbuf_free(expect);
}

/* text with every "{D}" replaced by the fixture directory. */
static const char *
in_dir(const char *text)
{
    vbuf_reset(expect);
    for (; *text; text++) {
        if (strncmp(text, "{D}", 3) == 0) {
            vbuf_append_str(expect, dir);
            text += 2;
        } else
            vbuf_append_char(expect, *text);
    }
    return vbuf_str(expect);
}

/* Loads main.cf (which must load) and runs the TLS check on it.  Unless
 * main_cf names one, daemon_user is the user running the test, so that a
 * root run does not check the files as a user of this machine's. */
static int
check(const char *main_cf)
{
    VBUF *text = vbuf_create(100);
    CONFIG *conf;
    int rc;

    vbuf_append_str(text, in_dir(main_cf));
    if (strstr(main_cf, "daemon_user") == NULL)
        vbuf_printf(text, "daemon_user = %s\n", getpwuid(geteuid())->pw_name);
    conf = fixture_conf_load(vbuf_str(text));
    vbuf_free(text);

    vbuf_reset(errors);
    vbuf_reset(warnings);
    rc = tls_conf_check(conf, NOW, errors, warnings);
    conf_free(conf);
    return rc;
}

/* Asserts the check's outcome: its errors and warnings, exactly ("{D}" the
 * fixture directory). */
static void
check_is(const char *main_cf, int want_rc, const char *want_errors,
         const char *want_warnings)
{
    int rc = check(main_cf);

    ck_assert_str_eq(vbuf_str(errors), in_dir(want_errors));
    ck_assert_str_eq(vbuf_str(warnings), in_dir(want_warnings));
    ck_assert_int_eq(rc, want_rc);
}

/* Asserts that conf_load itself refuses main_cf with these errors. */
static void
load_fails(const char *main_cf, const char *want_errors)
{
    CONFIG *conf;

    fixture_write_str("main.cf", main_cf);
    vbuf_reset(errors);
    conf = conf_load(dir, errors);
    ck_assert_ptr_null(conf);
    ck_assert_str_eq(vbuf_str(errors), in_dir(want_errors));
}

START_TEST(test_valid)
{
    fixture_tls_cert("cert.pem", "key.pem", NOW - DAY, NOW + 365 * DAY);
    check_is("tls_cert_file = cert.pem\ntls_key_file = key.pem\n", 0, "", "");
    /* Every level, every listener. */
    check_is("tls_cert_file = cert.pem\ntls_key_file = key.pem\n"
             "smtpd_tls_security_level = encrypt\nsmtp_auth = yes\n"
             "submission_listen = 127.0.0.1:2587\nsmtps_listen = 127.0.0.1:2465\n",
             0, "", "");
    /* Relative to the configuration directory, as every file is. */
    fixture_tls_cert("both.pem", NULL, NOW - DAY, NOW + 365 * DAY);
    check_is("tls_cert_file = {D}/both.pem\n", 0, "", "");
    /* The key in the certificate file: tls_key_file's default. */
    check_is("tls_cert_file = both.pem\n", 0, "", "");
    check_is("tls_cert_file = both.pem\ntls_key_file =\n", 0, "", "");
}
END_TEST

START_TEST(test_no_tls)
{
    /* No certificate, nothing that needs one: nothing to say. */
    check_is("# no TLS\n", 0, "", "");
    check_is("smtpd_tls_security_level = none\n", 0, "", "");
    check_is("smtp_auth = yes\nsubmission_listen = 127.0.0.1:2587\n"
             "submission_tls_security_level = may\n", 0, "", "");
}
END_TEST

START_TEST(test_mismatched_key)
{
    fixture_tls_cert("cert.pem", "key.pem", NOW - DAY, NOW + 365 * DAY);
    fixture_tls_key("other.key", NULL);
    check_is("# TLS\ntls_cert_file = cert.pem\n\ntls_key_file = other.key\n", -1,
             "{D}/main.cf:4: tls_key_file: the private key in \"{D}/other.key\" does not "
             "match the certificate in \"{D}/cert.pem\"\n", "");
    /* A stranger's key in the certificate file: the key's default place. */
    {
        char *cert = fixture_read("cert.pem", NULL);
        char *key = fixture_read("other.key", NULL);
        VBUF *both = vbuf_create(100);

        vbuf_printf(both, "%s%s", cert, key);
        fixture_write("mixed.pem", vbuf_str(both), vbuf_len(both));
        vbuf_free(both);
        myfree(cert);
        myfree(key);
    }
    check_is("tls_cert_file = mixed.pem\n", -1,
             "{D}/main.cf: tls_key_file (default): the private key in \"{D}/mixed.pem\" "
             "does not match the certificate in \"{D}/mixed.pem\"\n", "");
}
END_TEST

START_TEST(test_expired)
{
    fixture_tls_cert("cert.pem", "key.pem", NOW - 90 * DAY, NOW - DAY);
    check_is("tls_key_file = key.pem\ntls_cert_file = cert.pem\n", -1,
             "{D}/main.cf:2: tls_cert_file: the certificate in \"{D}/cert.pem\" "
             "expired on 2027-01-14 08:00:00 UTC\n", "");
    /* The very second it ends. */
    fixture_tls_cert("cert.pem", "key.pem", NOW - 90 * DAY, NOW);
    check_is("tls_cert_file = cert.pem\ntls_key_file = key.pem\n", -1,
             "{D}/main.cf:1: tls_cert_file: the certificate in \"{D}/cert.pem\" "
             "expired on 2027-01-15 08:00:00 UTC\n", "");
    /* An expired certificate with the wrong key: both are said. */
    fixture_tls_cert("cert.pem", "key.pem", NOW - 90 * DAY, NOW - DAY);
    fixture_tls_key("other.key", NULL);
    check_is("tls_cert_file = cert.pem\ntls_key_file = other.key\n", -1,
             "{D}/main.cf:1: tls_cert_file: the certificate in \"{D}/cert.pem\" "
             "expired on 2027-01-14 08:00:00 UTC\n"
             "{D}/main.cf:2: tls_key_file: the private key in \"{D}/other.key\" does not "
             "match the certificate in \"{D}/cert.pem\"\n", "");
}
END_TEST

START_TEST(test_expiring)
{
    fixture_tls_cert("cert.pem", "key.pem", NOW - 80 * DAY, NOW + 5 * DAY);
    check_is("tls_cert_file = cert.pem\ntls_key_file = key.pem\n", 0, "",
             "{D}/main.cf:1: tls_cert_file: the certificate in \"{D}/cert.pem\" "
             "expires on 2027-01-20 08:00:00 UTC, in 5 days\n");
    fixture_tls_cert("cert.pem", "key.pem", NOW - 80 * DAY, NOW + 3600);
    check_is("tls_cert_file = cert.pem\ntls_key_file = key.pem\n", 0, "",
             "{D}/main.cf:1: tls_cert_file: the certificate in \"{D}/cert.pem\" "
             "expires on 2027-01-15 09:00:00 UTC, in 1 day\n");
    /* 14 days and more: nothing to say yet. */
    fixture_tls_cert("cert.pem", "key.pem", NOW - 80 * DAY, NOW + 14 * DAY);
    check_is("tls_cert_file = cert.pem\ntls_key_file = key.pem\n", 0, "", "");
    fixture_tls_cert("cert.pem", "key.pem", NOW - 80 * DAY, NOW + 14 * DAY - 1);
    check_is("tls_cert_file = cert.pem\ntls_key_file = key.pem\n", 0, "",
             "{D}/main.cf:1: tls_cert_file: the certificate in \"{D}/cert.pem\" "
             "expires on 2027-01-29 07:59:59 UTC, in 14 days\n");
}
END_TEST

START_TEST(test_not_yet_valid)
{
    fixture_tls_cert("cert.pem", "key.pem", NOW + DAY, NOW + 365 * DAY);
    check_is("tls_cert_file = cert.pem\ntls_key_file = key.pem\n", 0, "",
             "{D}/main.cf:1: tls_cert_file: the certificate in \"{D}/cert.pem\" "
             "is not valid before 2027-01-16 08:00:00 UTC\n");
}
END_TEST

START_TEST(test_not_pem)
{
    fixture_tls_cert("cert.pem", "key.pem", NOW - DAY, NOW + 365 * DAY);
    fixture_write_str("junk", "this is not PEM\n");
    check_is("tls_cert_file = junk\ntls_key_file = key.pem\n", -1,
             "{D}/main.cf:1: tls_cert_file: no PEM certificate in \"{D}/junk\"\n", "");
    check_is("tls_cert_file = cert.pem\ntls_key_file = junk\n", -1,
             "{D}/main.cf:2: tls_key_file: no PEM private key in \"{D}/junk\"\n", "");
    /* Each the other's: a key is no certificate, a certificate no key. */
    check_is("tls_cert_file = key.pem\ntls_key_file = cert.pem\n", -1,
             "{D}/main.cf:1: tls_cert_file: no PEM certificate in \"{D}/key.pem\"\n"
             "{D}/main.cf:2: tls_key_file: no PEM private key in \"{D}/cert.pem\"\n", "");
    /* A certificate file without its key and no tls_key_file. */
    check_is("tls_cert_file = cert.pem\n", -1,
             "{D}/main.cf: tls_key_file (default): no PEM private key in \"{D}/cert.pem\"\n",
             "");
    /* An empty file. */
    fixture_write_str("empty", "");
    check_is("tls_cert_file = empty\ntls_key_file = key.pem\n", -1,
             "{D}/main.cf:1: tls_cert_file: no PEM certificate in \"{D}/empty\"\n", "");
}
END_TEST

START_TEST(test_encrypted_key)
{
    fixture_tls_cert("cert.pem", "key.pem", NOW - DAY, NOW + 365 * DAY);
    fixture_tls_key("locked.key", "secret");
    check_is("tls_cert_file = cert.pem\ntls_key_file = locked.key\n", -1,
             "{D}/main.cf:2: tls_key_file: the private key in \"{D}/locked.key\" is "
             "encrypted; smtpd needs it without a passphrase\n", "");
}
END_TEST

START_TEST(test_broken_chain)
{
    char *cert;
    VBUF *chain = vbuf_create(100);

    /* The server's certificate is fine, the one after it is not: the
     * context smtpd would make is refused. */
    fixture_tls_cert("cert.pem", "key.pem", NOW - DAY, NOW + 365 * DAY);
    cert = fixture_read("cert.pem", NULL);
    vbuf_printf(chain, "%s-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                cert);
    fixture_write("chain.pem", vbuf_str(chain), vbuf_len(chain));
    ck_assert_int_eq(check("tls_cert_file = chain.pem\ntls_key_file = key.pem\n"), -1);
    ck_assert_str_eq(vbuf_str(warnings), "");
    in_dir("{D}/main.cf:1: tls_cert_file: cannot load the certificate chain from "
           "\"{D}/chain.pem\": ");
    ck_assert_msg(strncmp(vbuf_str(errors), vbuf_str(expect), vbuf_len(expect)) == 0,
                  "%s", vbuf_str(errors));
    ck_assert_int_eq(strchr(vbuf_str(errors), '\n') - vbuf_str(errors),
                     (long) vbuf_len(errors) - 1);
    vbuf_free(chain);
    myfree(cert);
}
END_TEST

START_TEST(test_key_readable_by_everyone)
{
    char path[512];

    fixture_tls_cert("cert.pem", "key.pem", NOW - DAY, NOW + 365 * DAY);
    snprintf(path, sizeof(path), "%s/key.pem", dir);
    ck_assert_int_eq(chmod(path, 0644), 0);
    check_is("tls_cert_file = cert.pem\ntls_key_file = key.pem\n", 0, "",
             "{D}/main.cf:2: tls_key_file: the private key in \"{D}/key.pem\" is "
             "readable by everyone (chmod o-r)\n");
    ck_assert_int_eq(chmod(path, 0640), 0);
    check_is("tls_cert_file = cert.pem\ntls_key_file = key.pem\n", 0, "", "");
}
END_TEST

START_TEST(test_unreadable)
{
    char path[512];

    /* conf_load already refuses a file it cannot read, with its line. */
    fixture_tls_cert("cert.pem", "key.pem", NOW - DAY, NOW + 365 * DAY);
    load_fails("tls_cert_file = missing.pem\ntls_key_file = key.pem\n",
               "{D}/main.cf:1: tls_cert_file: cannot read \"{D}/missing.pem\": "
               "No such file or directory\n");
    load_fails("tls_cert_file = cert.pem\n\ntls_key_file = missing.key\n",
               "{D}/main.cf:3: tls_key_file: cannot read \"{D}/missing.key\": "
               "No such file or directory\n");
    if (geteuid() == 0)
        return;                         /* root reads anything */
    snprintf(path, sizeof(path), "%s/key.pem", dir);
    ck_assert_int_eq(chmod(path, 0), 0);
    load_fails("tls_cert_file = cert.pem\ntls_key_file = key.pem\n",
               "{D}/main.cf:2: tls_key_file: cannot read \"{D}/key.pem\": "
               "Permission denied\n");
}
END_TEST

/* Run as root, smtpd reads the files as daemon_user. */
START_TEST(test_daemon_user)
{
    char path[512];

    if (geteuid() != 0)
        return;                         /* cannot become anybody else */
    ck_assert_int_eq(chmod(dir, 0755), 0);
    fixture_tls_cert("cert.pem", "key.pem", NOW - DAY, NOW + 365 * DAY);
    check_is("tls_cert_file = cert.pem\ntls_key_file = key.pem\ndaemon_user = nobody\n", -1,
             "{D}/main.cf:1: tls_cert_file: daemon_user nobody, as which smtpd reads it, "
             "cannot read \"{D}/cert.pem\": Permission denied\n"
             "{D}/main.cf:2: tls_key_file: daemon_user nobody, as which smtpd reads it, "
             "cannot read \"{D}/key.pem\": Permission denied\n", "");
    snprintf(path, sizeof(path), "%s/cert.pem", dir);
    ck_assert_int_eq(chmod(path, 0644), 0);
    /* Only its primary group counts. */
    snprintf(path, sizeof(path), "%s/key.pem", dir);
    ck_assert_int_eq(chown(path, 0, getpwnam("nobody")->pw_gid), 0);
    ck_assert_int_eq(chmod(path, 0640), 0);
    check_is("tls_cert_file = cert.pem\ntls_key_file = key.pem\ndaemon_user = nobody\n",
             0, "", "");
    ck_assert_int_eq(chown(path, 0, 0), 0);
    check_is("tls_cert_file = cert.pem\ntls_key_file = key.pem\ndaemon_user = nobody\n", -1,
             "{D}/main.cf:2: tls_key_file: daemon_user nobody, as which smtpd reads it, "
             "cannot read \"{D}/key.pem\": Permission denied\n", "");
    /* The key in the certificate file: said once. */
    fixture_tls_cert("both.pem", NULL, NOW - DAY, NOW + 365 * DAY);
    check_is("tls_cert_file = both.pem\ndaemon_user = nobody\n", -1,
             "{D}/main.cf:1: tls_cert_file: daemon_user nobody, as which smtpd reads it, "
             "cannot read \"{D}/both.pem\": Permission denied\n", "");
    /* A daemon_user that does not exist is said elsewhere (start). */
    check_is("tls_cert_file = both.pem\ndaemon_user = no-such-user-here\n", 0, "", "");
}
END_TEST

START_TEST(test_levels_need_a_certificate)
{
    load_fails("smtps_listen = 127.0.0.1:2465\n",
               "{D}/main.cf:1: smtps_listen: needs tls_cert_file\n");
    check_is("# STARTTLS required\nsmtpd_tls_security_level = encrypt\n", -1,
             "{D}/main.cf:2: smtpd_tls_security_level: encrypt needs tls_cert_file\n", "");
    /* The submission port requires TLS by default. */
    check_is("smtp_auth = yes\nsubmission_listen = 127.0.0.1:2587\n", -1,
             "{D}/main.cf:2: submission_listen: needs tls_cert_file, as "
             "submission_tls_security_level is encrypt by default (or set it to "
             "may or none)\n", "");
    check_is("smtp_auth = yes\nsubmission_listen = 127.0.0.1:2587\n"
             "submission_tls_security_level = encrypt\n", -1,
             "{D}/main.cf:2: submission_listen: needs tls_cert_file, as "
             "submission_tls_security_level is encrypt (or set it to may or none)\n", "");
    /* Without a submission port, its level needs nothing. */
    check_is("submission_tls_security_level = encrypt\n", 0, "", "");
    /* Both at once: both said. */
    check_is("smtpd_tls_security_level = encrypt\nsmtp_auth = yes\n"
             "submission_listen = 127.0.0.1:2587\n", -1,
             "{D}/main.cf:1: smtpd_tls_security_level: encrypt needs tls_cert_file\n"
             "{D}/main.cf:3: submission_listen: needs tls_cert_file, as "
             "submission_tls_security_level is encrypt by default (or set it to "
             "may or none)\n", "");
}
END_TEST

START_TEST(test_protocols)
{
    /* Refused by conf_load (its CONF_TLSPROTO type), in every program. */
    load_fails("tls_protocols = !SSLv2, !SSLv3, !TLSv1.0\n",
               "{D}/main.cf:1: tls_protocols: unknown TLS protocol \"!TLSv1.0\" "
               "(use SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3)\n");
    check_is("tls_protocols = TLSv1.2 TLSv1.3\n", 0, "", "");
}
END_TEST

START_TEST(test_ciphers)
{
    check_is("tls_ciphers = FOO\n", -1,
             "{D}/main.cf:1: tls_ciphers: OpenSSL finds no cipher to use in \"FOO\" "
             "(anonymous, NULL, EXPORT, RC4 and MD5 ciphers are never used)\n", "");
    /* Only what is never used. */
    check_is("tls_ciphers = aNULL:eNULL\n", -1,
             "{D}/main.cf:1: tls_ciphers: OpenSSL finds no cipher to use in "
             "\"aNULL:eNULL\" (anonymous, NULL, EXPORT, RC4 and MD5 ciphers are "
             "never used)\n", "");
    /* A word that matches nothing is skipped by OpenSSL: a warning. */
    check_is("tls_ciphers = ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA257:"
             "TLS_AES_256_GCM_SHA384:!RC4:-EXPORT:@STRENGTH\n", 0, "",
             "{D}/main.cf:1: tls_ciphers: \"ECDHE-RSA-AES128-GCM-SHA257\" matches no "
             "cipher that OpenSSL knows\n"
             "{D}/main.cf:1: tls_ciphers: \"TLS_AES_256_GCM_SHA384\" matches no cipher "
             "(TLS 1.3 suites are not set here: smtpd keeps OpenSSL's)\n");
    /* OpenSSL's keywords are fine. */
    check_is("tls_ciphers = HIGH:!aNULL:+ECDHE\n", 0, "", "");
    /* The default, and OpenSSL's default. */
    check_is("# default\n", 0, "", "");
    check_is("tls_ciphers =\n", 0, "", "");
}
END_TEST

START_TEST(test_conf_where)
{
    CONFIG *conf = fixture_conf_load("# x\n\ntls_protocols = >=TLSv1.3\nreject_text = Go\n"
                                   "   away\n");

    ck_assert_str_eq(conf_where(conf, P_tls_protocols), in_dir("{D}/main.cf:3"));
    ck_assert_str_eq(conf_where(conf, P_reject_text), in_dir("{D}/main.cf:4"));
    ck_assert_str_eq(conf_where(conf, P_tls_ciphers), in_dir("{D}/main.cf"));
    vbuf_reset(errors);
    conf_problem(conf, errors, P_tls_protocols, "%s %d", "x", 1);
    conf_problem(conf, errors, P_tls_ciphers, "y");
    ck_assert_str_eq(vbuf_str(errors), in_dir("{D}/main.cf:3: tls_protocols: x 1\n"
                                              "{D}/main.cf: tls_ciphers (default): y\n"));
    conf_free(conf);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("tls_conf");
    TCase *tc = tcase_create("tls_conf");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_valid);
    tcase_add_test(tc, test_no_tls);
    tcase_add_test(tc, test_mismatched_key);
    tcase_add_test(tc, test_expired);
    tcase_add_test(tc, test_expiring);
    tcase_add_test(tc, test_not_yet_valid);
    tcase_add_test(tc, test_not_pem);
    tcase_add_test(tc, test_encrypted_key);
    tcase_add_test(tc, test_broken_chain);
    tcase_add_test(tc, test_key_readable_by_everyone);
    tcase_add_test(tc, test_unreadable);
    tcase_add_test(tc, test_daemon_user);
    tcase_add_test(tc, test_levels_need_a_certificate);
    tcase_add_test(tc, test_protocols);
    tcase_add_test(tc, test_ciphers);
    tcase_add_test(tc, test_conf_where);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
