/* Unit tests for mail_from_chars' character sets (lib/conf.c, CONF_CHARS):
 * ranges, a literal "-" first or last, and the malformed sets that
 * main.cf must refuse with "main.cf:LINE: ...", read through conf_load()
 * as alligatectl check reads them. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "vbuf.h"

static char dir[64];
static VBUF *errors;

static void
setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/check_conf_chars.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    errors = vbuf_create(100);
}

static void
teardown(void)
{
    char    path[128];

    snprintf(path, sizeof(path), "%s/main.cf", dir);
    unlink(path);
    rmdir(dir);
    vbuf_free(errors);
}

/* Loads "mail_from_chars = set"; NULL when refused. */
static CONFIG *
load_set(const char *set)
{
    char    path[128];
    FILE   *fp;

    snprintf(path, sizeof(path), "%s/main.cf", dir);
    ck_assert_ptr_nonnull(fp = fopen(path, "w"));
    fprintf(fp, "# sets\nmail_from_chars = %s\n", set);
    ck_assert_int_eq(fclose(fp), 0);
    vbuf_reset(errors);
    return conf_load(dir, errors);
}

/* Asserts that set allows exactly the characters of allowed. */
static void
allows(const char *set, const char *allowed)
{
    CONFIG   *conf = load_set(set);
    const unsigned char *table;
    int     c;

    ck_assert_msg(conf != NULL, "%s: %s", set, vbuf_str(errors));
    conf_free(conf_activate(conf));
    table = conf_chars(P_mail_from_chars);
    for (c = 0; c < 256; c++)
        ck_assert_msg(!table[c] == !(c && strchr(allowed, c)),
                      "set \"%s\": character 0x%02x", set, c);
}

/* Asserts that set is refused with why, on line 2. */
static void
refused(const char *set, const char *why)
{
    char    expect[256];

    ck_assert_msg(load_set(set) == NULL, "\"%s\" accepted", set);
    snprintf(expect, sizeof(expect), "%s/main.cf:2: mail_from_chars: %s\n", dir, why);
    ck_assert_str_eq(vbuf_str(errors), expect);
}

START_TEST(test_sets)
{
    allows("abc", "abc");
    allows("a-e", "abcde");
    allows("a-a", "a");
    allows("0-9.", "0123456789.");
    allows("-a", "-a");                 /* "-" first is literal */
    allows("a-", "a-");                 /* "-" last is literal */
    allows("-", "-");
    allows("a-c-e", "abc-e");           /* a range, then a literal "-" */
    allows("!-#", "!\"#");
    allows("a-zA-Z0-9.@_+=-", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
           "0123456789.@_+=-");
}
END_TEST

START_TEST(test_malformed)
{
    refused("z-a", "reversed range \"z-a\"");
    refused("9-0", "reversed range \"9-0\"");
    refused("a\x01" "b", "character 0x01 is not printable ASCII");
    refused("a-\x7f", "character 0x7f is not printable ASCII");
    refused("\xc3\xa9", "character 0xc3 is not printable ASCII");
}
END_TEST

/* Empty means no check: the table allows nothing, and smtpd leaves the
 * check out when the value is empty. */
START_TEST(test_empty)
{
    CONFIG   *conf = load_set("");

    ck_assert_msg(conf != NULL, "%s", vbuf_str(errors));
    conf_free(conf_activate(conf));
    ck_assert_str_eq(conf_str(P_mail_from_chars), "");
}
END_TEST

static Suite *
conf_chars_suite(void)
{
    Suite  *s = suite_create("conf_chars");
    TCase  *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_sets);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_empty);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(conf_chars_suite());
    int     failed;

    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
