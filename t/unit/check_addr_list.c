/* Unit tests for lib/addr_list.c. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr_list.h"
#include "fixture.h"
#include "vbuf.h"

static ADDR_LIST *list;
static VBUF *why;
static char list_path[128];     /* the list file, or "" */

static void
setup(void)
{
    list = addr_list_create();
    why = vbuf_create(100);
    list_path[0] = 0;
}

static void
teardown(void)
{
    list = addr_list_free(list);
    why = vbuf_free(why);
    fixture_dir_remove();
}

static void
add_ok(const char *entry)
{
    ck_assert_msg(addr_list_add(list, entry, why) == 0, "%s: %s", entry,
                  vbuf_str(why));
    ck_assert_str_eq(vbuf_str(why), "");
}

static void
assert_match(const char *addr, int want)
{
    ck_assert_msg(addr_list_match(list, addr) == want,
                  "match(%s) should be %d", addr, want);
}

/* Writes text (len bytes) to the list file, in a fixture directory made
 * on first use (not in setup, which an aborting test never tears down);
 * returns its path. */
static const char *
write_temp(const char *text, size_t len)
{
    if (list_path[0] == 0)
        snprintf(list_path, sizeof(list_path), "%s/list",
                 fixture_dir_create("check_addr_list"));
    fixture_write(list_path, text, len);
    return list_path;
}

START_TEST(test_exact)
{
    add_ok("user@example.com");
    add_ok("Other.User@Example.ORG");
    assert_match("user@example.com", 1);
    assert_match("User@Example.COM", 1);
    assert_match("USER@EXAMPLE.COM", 1);
    assert_match("other.user@example.org", 1);
    assert_match("user@example.org", 0);
    assert_match("user2@example.com", 0);
    assert_match("use@example.com", 0);
    assert_match("user@example.co", 0);
    assert_match("user@example.com.", 0);
    assert_match("user@sub.example.com", 0);
    ck_assert_uint_eq(addr_list_count(list), 2);
}
END_TEST

START_TEST(test_catch_all)
{
    add_ok("@Example.COM");
    add_ok("postmaster@example.net");
    assert_match("anyone@example.com", 1);
    assert_match("ANYONE@EXAMPLE.COM", 1);
    assert_match("@example.com", 1);
    assert_match("anyone@sub.example.com", 0);
    assert_match("anyone@example.net", 0);
    assert_match("postmaster@EXAMPLE.net", 1);
    /* A quoted local part may hold '@': the domain is after the last. */
    assert_match("\"a@b\"@example.com", 1);
}
END_TEST

START_TEST(test_no_match)
{
    add_ok("user@example.com");
    add_ok("@example.org");
    assert_match("", 0);
    assert_match("user", 0);
    assert_match("example.org", 0);
    assert_match("user@", 0);
    assert_match("@", 0);
    assert_match(" user@example.com", 0);
    assert_match("user@example.com ", 0);
}
END_TEST

START_TEST(test_fold_ascii_only)
{
    /* Bytes above 0x7f are kept as they are, not folded by the locale. */
    add_ok("J\xc3\x9crgen@example.com");
    assert_match("j\xc3\x9crgen@EXAMPLE.com", 1);
    assert_match("j\xc3\xbcrgen@example.com", 0);
}
END_TEST

START_TEST(test_duplicates)
{
    add_ok("user@example.com");
    add_ok("USER@example.com");
    add_ok("user@EXAMPLE.COM");
    add_ok("@example.com");
    add_ok("@Example.com");
    ck_assert_uint_eq(addr_list_count(list), 2);
}
END_TEST

START_TEST(test_long)
{
    char addr[300];

    /* 254 bytes is the longest address allowed. */
    memset(addr, 'a', sizeof(addr));
    memcpy(addr + 254 - 12, "@example.com", 13);
    ck_assert_uint_eq(strlen(addr), 254);
    add_ok(addr);
    assert_match(addr, 1);
    addr[0] = 'A';
    assert_match(addr, 1);

    memset(addr, 'a', sizeof(addr));
    memcpy(addr + 255 - 12, "@example.com", 13);
    ck_assert_int_eq(addr_list_add(list, addr, why), -1);
    assert_match(addr, 0);

    /* Longer than any entry, but its catch-all may be listed. */
    add_ok("@example.com");
    assert_match(addr, 1);
}
END_TEST

static const struct {
    const char *entry;
    const char *why;
} bad_entries[] = {
    {"foo", "bad address \"foo\""},
    {"", "bad address \"\""},
    {"@", "bad address \"@\""},
    {"foo@", "bad address \"foo@\""},
    {"a@b@c", "bad address \"a@b@c\""},
    {"@@example.com", "bad address \"@@example.com\""},
    {"a b@example.com", "bad address \"a b@example.com\""},
    {"ab@example.com ", "bad address \"ab@example.com \""},
    {" ab@example.com", "bad address \" ab@example.com\""},
    {"a\tb@example.com", "bad address \"a?b@example.com\""},
    {"ab@exa\nmple.com", "bad address \"ab@exa?mple.com\""},
    {"\001ab@example.com", "bad address \"?ab@example.com\""},
    {"ab@example.com\177", "bad address \"ab@example.com?\""},
};

START_TEST(test_bad_entry)
{
    vbuf_set(why, "stale");
    ck_assert_int_eq(addr_list_add(list, bad_entries[_i].entry, why), -1);
    ck_assert_str_eq(vbuf_str(why), bad_entries[_i].why);
    ck_assert_uint_eq(addr_list_count(list), 0);
}
END_TEST

START_TEST(test_too_long_text)
{
    char addr[300];
    char want[320];

    memset(addr, 'a', sizeof(addr));
    memcpy(addr + 255 - 12, "@example.com", 13);
    snprintf(want, sizeof(want), "bad address \"%s\"", addr);
    ck_assert_int_eq(addr_list_add(list, addr, why), -1);
    ck_assert_str_eq(vbuf_str(why), want);
}
END_TEST

/* Many entries, so the table grows several times, against a reference. */
START_TEST(test_many)
{
    enum { N = 20000 };
    char addr[64];
    int i;

    for (i = 0; i < N; i++) {
        if (i % 10 == 0)
            snprintf(addr, sizeof(addr), "@Domain%d.example", i);
        else
            snprintf(addr, sizeof(addr), "User%d@d%d.example", i, i % 97);
        add_ok(addr);
    }
    ck_assert_uint_eq(addr_list_count(list), N);
    for (i = 0; i < 2 * N; i++) {
        int listed = i < N && i % 10 != 0;
        int caught = i < N && i % 10 == 0;

        snprintf(addr, sizeof(addr), "user%d@D%d.EXAMPLE", i, i % 97);
        assert_match(addr, listed);
        snprintf(addr, sizeof(addr), "someone@domain%d.example", i);
        assert_match(addr, caught);
        snprintf(addr, sizeof(addr), "user%d@d%d.example", i, i % 97 + 1);
        assert_match(addr, 0);
    }
}
END_TEST

/* List files. */

START_TEST(test_file_good)
{
    static const char text[] =
        "# local recipients\n"
        "\n"
        "user@example.com\n"
        "   @Example.ORG   # every address there\n"
        "\tpostmaster@example.net\t\r\n"
        "#nobody@example.com\n"
        "last@example.com";             /* no newline at the end */
    const char *path = write_temp(text, sizeof(text) - 1);

    vbuf_set(why, "stale");
    ck_assert_int_eq(addr_list_load_file(list, path, why), 0);
    ck_assert_str_eq(vbuf_str(why), "");
    ck_assert_uint_eq(addr_list_count(list), 4);
    assert_match("USER@example.com", 1);
    assert_match("x@example.org", 1);
    assert_match("postmaster@example.net", 1);
    assert_match("last@example.com", 1);
    assert_match("nobody@example.com", 0);
}
END_TEST

static void
assert_file_error(const char *text, size_t len, const char *reason)
{
    const char *path = write_temp(text, len);
    char want[256];

    snprintf(want, sizeof(want), "%s:%s", path, reason);
    vbuf_set(why, "stale");
    ck_assert_int_eq(addr_list_load_file(list, path, why), -1);
    ck_assert_str_eq(vbuf_str(why), want);
}

START_TEST(test_file_bad_entry)
{
    static const char text[] = "user@example.com\n\n  foo  # comment\n";

    assert_file_error(text, sizeof(text) - 1, "3: bad address \"foo\"");
}
END_TEST

START_TEST(test_file_two_per_line)
{
    static const char text[] = "a@example.com b@example.com\n";

    assert_file_error(text, sizeof(text) - 1,
                      "1: bad address \"a@example.com b@example.com\"");
}
END_TEST

START_TEST(test_file_nul)
{
    static const char text[] = "a@example.com\0\n";

    assert_file_error(text, sizeof(text) - 1, "1: NUL byte in line");
}
END_TEST

START_TEST(test_file_long_line)
{
    char text[1100];
    const char *path;

    /* 1024 bytes before the newline is the longest line allowed. */
    memset(text, ' ', sizeof(text));
    memcpy(text, "a@example.com #", 15);
    text[1024] = '\n';
    path = write_temp(text, 1025);
    ck_assert_int_eq(addr_list_load_file(list, path, why), 0);
    ck_assert_uint_eq(addr_list_count(list), 1);

    text[1024] = ' ';
    text[1025] = '\n';
    assert_file_error(text, 1026, "1: line too long");
}
END_TEST

START_TEST(test_file_missing)
{
    ck_assert_int_eq(addr_list_load_file(list, "/nonexistent/rcpt.txt", why),
                     -1);
    ck_assert_str_eq(vbuf_str(why),
                     "/nonexistent/rcpt.txt: No such file or directory");
}
END_TEST

START_TEST(test_file_directory)
{
    ck_assert_int_eq(addr_list_load_file(list, "/tmp", why), -1);
    ck_assert_str_eq(vbuf_str(why), "/tmp: Is a directory");
}
END_TEST

static Suite *
addr_list_suite(void)
{
    Suite *s = suite_create("addr_list");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_exact);
    tcase_add_test(tc, test_catch_all);
    tcase_add_test(tc, test_no_match);
    tcase_add_test(tc, test_fold_ascii_only);
    tcase_add_test(tc, test_duplicates);
    tcase_add_test(tc, test_long);
    tcase_add_loop_test(tc, test_bad_entry, 0,
                        sizeof(bad_entries) / sizeof(bad_entries[0]));
    tcase_add_test(tc, test_too_long_text);
    tcase_add_test(tc, test_many);
    tcase_add_test(tc, test_file_good);
    tcase_add_test(tc, test_file_bad_entry);
    tcase_add_test(tc, test_file_two_per_line);
    tcase_add_test(tc, test_file_nul);
    tcase_add_test(tc, test_file_long_line);
    tcase_add_test(tc, test_file_missing);
    tcase_add_test(tc, test_file_directory);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(addr_list_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
