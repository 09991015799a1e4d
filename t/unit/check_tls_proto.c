/* Unit tests for tls_protocols in Postfix's syntax (lib/tls_proto.c) and
 * its configuration type (lib/conf_type.c, CONF_TLSPROTO). */
#include <check.h>
#include <stdio.h>

#include "conf.h"
#include "fixture.h"
#include <openssl/ssl.h>
#include "tls_proto.h"
#include "vbuf.h"

static void
proto_ok(const char *spec, int want_min, int want_max)
{
    VBUF *why = vbuf_create(10);
    int min = -1, max = -1;

    ck_assert_msg(tls_proto_parse(spec, &min, &max, why) == 0, "\"%s\": %s",
                  spec, vbuf_str(why));
    ck_assert_msg(min == want_min && max == want_max,
                  "\"%s\": got %s..%s, want %s..%s", spec, tls_proto_name(min),
                  tls_proto_name(max), tls_proto_name(want_min),
                  tls_proto_name(want_max));
    vbuf_free(why);
}

static void
proto_bad(const char *spec, const char *reason)
{
    VBUF *why = vbuf_create(10);
    int min = -1, max = -1;

    ck_assert_msg(tls_proto_parse(spec, &min, &max, why) == -1, "\"%s\" parsed", spec);
    ck_assert_str_eq(vbuf_str(why), reason);
    /* Nothing half-set on failure. */
    ck_assert_int_eq(min, -1);
    ck_assert_int_eq(max, -1);
    vbuf_free(why);
}

START_TEST(test_ranges)
{
    proto_ok(">=TLSv1.2", TLS1_2_VERSION, TLS1_3_VERSION);
    proto_ok(">=TLSv1.3", TLS1_3_VERSION, TLS1_3_VERSION);
    proto_ok("<=TLSv1.3", TLS1_VERSION, TLS1_3_VERSION);
    proto_ok("<=TLSv1.2", TLS1_VERSION, TLS1_2_VERSION);
    proto_ok(">=TLSv1.2 <=TLSv1.3", TLS1_2_VERSION, TLS1_3_VERSION);
    proto_ok(">=TLSv1.1, <=TLSv1.2", TLS1_1_VERSION, TLS1_2_VERSION);
    proto_ok(">=TLSv1:<=TLSv1.1", TLS1_VERSION, TLS1_1_VERSION);
    /* SSLv3 may be named as a bound; it is never offered. */
    proto_ok(">=SSLv3", TLS1_VERSION, TLS1_3_VERSION);
    proto_ok(">=SSLv2", TLS1_VERSION, TLS1_3_VERSION);
    /* The last bound of each kind counts, as in Postfix. */
    proto_ok(">=TLSv1 >=TLSv1.2", TLS1_2_VERSION, TLS1_3_VERSION);
    proto_ok("<=TLSv1.1 <=TLSv1.3", TLS1_VERSION, TLS1_3_VERSION);
}
END_TEST

START_TEST(test_exclusions)
{
    proto_ok("!SSLv2, !SSLv3", TLS1_VERSION, TLS1_3_VERSION);
    proto_ok("!SSLv2, !SSLv3, !TLSv1", TLS1_1_VERSION, TLS1_3_VERSION);
    proto_ok("!SSLv2,!SSLv3,!TLSv1,!TLSv1.1", TLS1_2_VERSION, TLS1_3_VERSION);
    proto_ok("!SSLv2 !SSLv3 !TLSv1 !TLSv1.1", TLS1_2_VERSION, TLS1_3_VERSION);
    proto_ok("!TLSv1.3", TLS1_VERSION, TLS1_2_VERSION);
    proto_ok("!TLSv1:!TLSv1.1", TLS1_2_VERSION, TLS1_3_VERSION);
    /* Exclusions and bounds together. */
    proto_ok(">=TLSv1.2, !TLSv1.3", TLS1_2_VERSION, TLS1_2_VERSION);
    proto_ok("!TLSv1.1 >=TLSv1.1", TLS1_2_VERSION, TLS1_3_VERSION);
}
END_TEST

START_TEST(test_inclusions)
{
    proto_ok("TLSv1.2 TLSv1.3", TLS1_2_VERSION, TLS1_3_VERSION);
    proto_ok("TLSv1.3, TLSv1.2", TLS1_2_VERSION, TLS1_3_VERSION);
    proto_ok("TLSv1.2", TLS1_2_VERSION, TLS1_2_VERSION);
    proto_ok("TLSv1.3", TLS1_3_VERSION, TLS1_3_VERSION);
    proto_ok("TLSv1:TLSv1.1:TLSv1.2", TLS1_VERSION, TLS1_2_VERSION);
    /* SSLv3 included alongside is dropped, not an error. */
    proto_ok("SSLv3 TLSv1", TLS1_VERSION, TLS1_VERSION);
    /* Inclusions, exclusions and bounds all apply. */
    proto_ok("TLSv1.1 TLSv1.2 TLSv1.3 !TLSv1.1", TLS1_2_VERSION, TLS1_3_VERSION);
    proto_ok("TLSv1 TLSv1.1 TLSv1.2 >=TLSv1.1", TLS1_1_VERSION, TLS1_2_VERSION);
}
END_TEST

START_TEST(test_separators)
{
    proto_ok("", TLS1_VERSION, TLS1_3_VERSION);
    proto_ok("  , : ", TLS1_VERSION, TLS1_3_VERSION);
    proto_ok("\t>=TLSv1.2\n", TLS1_2_VERSION, TLS1_3_VERSION);
    proto_ok(",,!TLSv1,,,!TLSv1.1::", TLS1_2_VERSION, TLS1_3_VERSION);
}
END_TEST

START_TEST(test_bad_names)
{
    proto_bad("TLSv9", "unknown TLS protocol \"TLSv9\" "
              "(use SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3)");
    proto_bad(">=TLSv1.4", "unknown TLS protocol \">=TLSv1.4\" "
              "(use SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3)");
    proto_bad("!SSLv2, !SSLv3, !TSLv1", "unknown TLS protocol \"!TSLv1\" "
              "(use SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3)");
    /* Case matters, as in Postfix; the message names the right spelling. */
    proto_bad(">=tlsv1.2", "unknown TLS protocol \">=tlsv1.2\"; did you mean \"TLSv1.2\"?");
    proto_bad("TLSV1.3", "unknown TLS protocol \"TLSV1.3\"; did you mean \"TLSv1.3\"?");
    /* The first bad word is the one named. */
    proto_bad(">=TLSv1.2 TLS1.3 foo", "unknown TLS protocol \"TLS1.3\" "
              "(use SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3)");
    /* A bound with a space after it is not a bound of the next word. */
    proto_bad(">= TLSv1.2", "\">=\" without a protocol name");
    proto_bad("<=", "\"<=\" without a protocol name");
    proto_bad("!", "\"!\" without a protocol name");
    /* Postfix's grades or OpenSSL's spellings are not protocols. */
    proto_bad("TLSv1_2", "unknown TLS protocol \"TLSv1_2\" "
              "(use SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3)");
    proto_bad("=TLSv1.2", "unknown TLS protocol \"=TLSv1.2\" "
              "(use SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3)");
    /* Text that is not printable is shown as '?'. */
    proto_bad("TLSv1\x01", "unknown TLS protocol \"TLSv1?\" "
              "(use SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3)");
}
END_TEST

START_TEST(test_empty_ranges)
{
    proto_bad(">=TLSv1.3 <=TLSv1.2", "\">=TLSv1.3 <=TLSv1.2\" leaves no TLS protocol "
              "to offer (SSLv2 and SSLv3 are never offered)");
    proto_bad("<=SSLv3", "\"<=SSLv3\" leaves no TLS protocol "
              "to offer (SSLv2 and SSLv3 are never offered)");
    proto_bad("SSLv3", "\"SSLv3\" leaves no TLS protocol "
              "to offer (SSLv2 and SSLv3 are never offered)");
    proto_bad("!TLSv1 !TLSv1.1 !TLSv1.2 !TLSv1.3", "\"!TLSv1 !TLSv1.1 !TLSv1.2 "
              "!TLSv1.3\" leaves no TLS protocol to offer "
              "(SSLv2 and SSLv3 are never offered)");
    proto_bad("TLSv1.2 !TLSv1.2", "\"TLSv1.2 !TLSv1.2\" leaves no TLS protocol "
              "to offer (SSLv2 and SSLv3 are never offered)");
    proto_bad("TLSv1 >=TLSv1.2", "\"TLSv1 >=TLSv1.2\" leaves no TLS protocol "
              "to offer (SSLv2 and SSLv3 are never offered)");
}
END_TEST

START_TEST(test_holes)
{
    proto_bad("!TLSv1.2", "\"!TLSv1.2\" allows TLSv1 and TLSv1.3 but not TLSv1.2 "
              "between them (OpenSSL takes one range of versions)");
    proto_bad("TLSv1.1 TLSv1.3", "\"TLSv1.1 TLSv1.3\" allows TLSv1.1 and TLSv1.3 "
              "but not TLSv1.2 between them (OpenSSL takes one range of versions)");
    proto_bad(">=TLSv1.1 !TLSv1.2", "\">=TLSv1.1 !TLSv1.2\" allows TLSv1.1 and "
              "TLSv1.3 but not TLSv1.2 between them (OpenSSL takes one range of "
              "versions)");
}
END_TEST

START_TEST(test_names)
{
    ck_assert_str_eq(tls_proto_name(TLS1_VERSION), "TLSv1");
    ck_assert_str_eq(tls_proto_name(TLS1_1_VERSION), "TLSv1.1");
    ck_assert_str_eq(tls_proto_name(TLS1_2_VERSION), "TLSv1.2");
    ck_assert_str_eq(tls_proto_name(TLS1_3_VERSION), "TLSv1.3");
    ck_assert_str_eq(tls_proto_name(0), "unknown");
}
END_TEST

/* conf_load refuses a bad tls_protocols itself, with its line, in every
 * program that reads main.cf. */
START_TEST(test_conf_type)
{
    const char *dir = fixture_dir_create("check_tls_proto");
    VBUF *errors = vbuf_create(100);
    char expect[512];
    CONFIG *conf;

    ck_assert_str_eq(conf_type_name(CONF_TLSPROTO), "TLS protocols");
    conf = fixture_conf_load("tls_protocols = !SSLv2, !SSLv3, !TLSv1, !TLSv1.1\n");
    conf_free(conf);
    conf = fixture_conf_load("# default\n");
    ck_assert_str_eq(conf_value(conf, P_tls_protocols), ">=TLSv1.2");
    conf_free(conf);

    fixture_write_str("main.cf", "# TLS\n\ntls_protocols = >=TLSv1.2,\n  TLSv1.5\n");
    ck_assert_ptr_null(conf_load(dir, errors));
    snprintf(expect, sizeof(expect), "%s/main.cf:3: tls_protocols: unknown TLS "
             "protocol \"TLSv1.5\" (use SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2 or "
             "TLSv1.3)\n", dir);
    ck_assert_str_eq(vbuf_str(errors), expect);

    vbuf_reset(errors);
    fixture_write_str("main.cf", "tls_protocols = >=TLSv1.3 <=TLSv1.2\n");
    ck_assert_ptr_null(conf_load(dir, errors));
    snprintf(expect, sizeof(expect), "%s/main.cf:1: tls_protocols: \">=TLSv1.3 "
             "<=TLSv1.2\" leaves no TLS protocol to offer (SSLv2 and SSLv3 are "
             "never offered)\n", dir);
    ck_assert_str_eq(vbuf_str(errors), expect);
    vbuf_free(errors);
    fixture_dir_remove();
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("tls_proto");
    TCase *tc = tcase_create("tls_proto");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_ranges);
    tcase_add_test(tc, test_exclusions);
    tcase_add_test(tc, test_inclusions);
    tcase_add_test(tc, test_separators);
    tcase_add_test(tc, test_bad_names);
    tcase_add_test(tc, test_empty_ranges);
    tcase_add_test(tc, test_holes);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_conf_type);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
