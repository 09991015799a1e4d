/* Unit tests for lib/list_file.c. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "list_file.h"
#include "vbuf.h"

static VBUF *why;
static VBUF *seen;              /* the entries added, each ending in '|' */
static const char *dir;         /* the fixture directory */
static char path[128];          /* the list file in it */

static void
setup(void)
{
    why = vbuf_create(100);
    seen = vbuf_create(100);
    dir = fixture_dir_create("check_list_file");
    snprintf(path, sizeof(path), "%s/list", dir);
}

static void
teardown(void)
{
    fixture_dir_remove();
    why = vbuf_free(why);
    seen = vbuf_free(seen);
}

/* The callback: records each entry; refuses those that start with "bad".
 * It appends to reason, even for an entry it takes, so a reader that does
 * not reset reason between calls shows in the error text. */
static int
record(void *ctx, const char *entry, VBUF *reason)
{
    ck_assert_ptr_eq(ctx, seen);
    ck_assert_str_ne(entry, "");
    if (strncmp(entry, "bad", 3) == 0) {
        vbuf_printf(reason, "refused \"%s\"", entry);
        return -1;
    }
    vbuf_append_str(seen, entry);
    vbuf_append_char(seen, '|');
    vbuf_append_str(reason, "taken; ");
    return 0;
}

/* Writes text (len bytes) to the list file; returns its path. */
static const char *
write_temp(const char *text, size_t len)
{
    fixture_write(path, text, len);
    return path;
}
/* Reads text, which must succeed and add exactly the entries in want
 * ("a|b|"). */
static void
assert_entries(const char *text, size_t len, const char *want)
{
    write_temp(text, len);
    vbuf_set(why, "stale");
    vbuf_reset(seen);
    ck_assert_int_eq(list_file_read(path, record, seen, why), 0);
    ck_assert_str_eq(vbuf_str(why), "");
    ck_assert_str_eq(vbuf_str(seen), want);
}

/* Reads text, which must fail with "PATH:reason" after adding the entries
 * in want. */
static void
assert_error(const char *text, size_t len, const char *want,
             const char *reason)
{
    char expect[256];

    write_temp(text, len);
    snprintf(expect, sizeof(expect), "%s:%s", path, reason);
    vbuf_set(why, "stale");
    vbuf_reset(seen);
    ck_assert_int_eq(list_file_read(path, record, seen, why), -1);
    ck_assert_str_eq(vbuf_str(why), expect);
    ck_assert_str_eq(vbuf_str(seen), want);
}

#define TEXT(s)     s, sizeof(s) - 1

START_TEST(test_plain)
{
    assert_entries(TEXT("a\nb\nc\n"), "a|b|c|");
    assert_entries(TEXT("one two\n"), "one two|");     /* inner space kept */
}
END_TEST

START_TEST(test_empty_file)
{
    assert_entries(TEXT(""), "");
    assert_entries(TEXT("\n"), "");
    assert_entries(TEXT("# only a comment\n"), "");
}
END_TEST

START_TEST(test_comments)
{
    assert_entries(TEXT("# a comment\na\n#b\n   # indented\n\t#tab\nc\n"),
                   "a|c|");
    assert_entries(TEXT("#\n##\na\n"), "a|");
}
END_TEST

START_TEST(test_trailing_comments)
{
    assert_entries(TEXT("a # one\nb#two\nc\t#\t3\nd ## # x\n"), "a|b|c|d|");
    /* '#' ends the entry wherever it is: there is no escape. */
    assert_entries(TEXT("x#y#z\n"), "x|");
}
END_TEST

START_TEST(test_crlf)
{
    assert_entries(TEXT("a\r\nb \r\n\r\nc # x\r\n  \r\nd\r\n"), "a|b|c|d|");
    assert_entries(TEXT("a\r\nb\r"), "a|b|");
    /* A CR inside a line is not a line end. */
    assert_entries(TEXT("a\rb\n"), "a\rb|");
}
END_TEST

START_TEST(test_blank_lines)
{
    assert_entries(TEXT("\n\na\n\n   \n\t\t\n \t \nb\n\n\n"), "a|b|");
    assert_entries(TEXT("  a  \n\tb\t\n\v\fc\f\v\n"), "a|b|c|");
    /* Blank lines count for the line numbers in errors. */
    assert_error(TEXT("a\n\n# c\n \nbad1\nb\n"), "a|", "5: refused \"bad1\"");
}
END_TEST

START_TEST(test_no_final_newline)
{
    assert_entries(TEXT("a\nb"), "a|b|");
    assert_entries(TEXT("a"), "a|");
    assert_entries(TEXT("a\n  b  # c"), "a|b|");
    assert_entries(TEXT("a\n# c"), "a|");
    assert_entries(TEXT("a\n   "), "a|");
    assert_error(TEXT("a\nbad"), "a|", "2: refused \"bad\"");
}
END_TEST

START_TEST(test_refused)
{
    /* The first refusal stops the reading; the callback's reason is reset
     * before each call, and the entry it sees is trimmed. */
    assert_error(TEXT("a\nb\n  bad2  # c\nbad3\nc\n"), "a|b|",
                 "3: refused \"bad2\"");
    assert_error(TEXT("bad\n"), "", "1: refused \"bad\"");
}
END_TEST

START_TEST(test_line_max)
{
    char text[LIST_FILE_LINE_MAX + 10];
    char want[LIST_FILE_LINE_MAX + 10];

    ck_assert_int_eq(LIST_FILE_LINE_MAX, 1024);

    /* Exactly 1024 bytes before the newline: one entry of 1024 bytes. */
    memset(text, 'x', 1024);
    text[1024] = '\n';
    memcpy(text + 1025, "y\n", 2);
    memset(want, 'x', 1024);
    memcpy(want + 1024, "|y|", 4);
    assert_entries(text, 1027, want);

    /* Also as the last line, without a newline. */
    want[1025] = 0;
    assert_entries(text, 1024, want);

    /* 1024 bytes that are mostly white space and comment. */
    memset(text, ' ', 1024);
    memcpy(text + 10, "a # comment", 11);
    text[1024] = '\n';
    assert_entries(text, 1025, "a|");
}
END_TEST

START_TEST(test_line_too_long)
{
    char text[2 * LIST_FILE_LINE_MAX + 10];

    /* 1025 bytes before the newline. */
    memset(text, 'x', 1025);
    text[1025] = '\n';
    assert_error(text, 1026, "", "1: line too long");

    /* Even when the extra bytes are white space or comment. */
    memset(text, ' ', 1025);
    text[0] = 'a';
    text[1025] = '\n';
    assert_error(text, 1026, "", "1: line too long");
    memcpy(text, "a #", 3);
    assert_error(text, 1026, "", "1: line too long");

    /* The limit counts the CR of a CRLF line end. */
    memset(text, 'x', 1024);
    memcpy(text + 1024, "\r\n", 2);
    assert_error(text, 1026, "", "1: line too long");

    /* A long last line without a newline, after good lines. */
    memcpy(text, "a\n\nb\n", 5);
    memset(text + 5, 'x', 1025);
    assert_error(text, 1030, "a|b|", "4: line too long");
    memset(text + 5, 'x', 2 * LIST_FILE_LINE_MAX);
    assert_error(text, 5 + 2 * LIST_FILE_LINE_MAX, "a|b|",
                 "4: line too long");
}
END_TEST

START_TEST(test_nul)
{
    assert_error(TEXT("a\n\nb\0c\nd\n"), "a|", "3: NUL byte in line");
    assert_error(TEXT("\0"), "", "1: NUL byte in line");
    assert_error(TEXT("\0\n"), "", "1: NUL byte in line");
    /* Also in a comment or after the entry's trailing blanks. */
    assert_error(TEXT("a # x\0y\n"), "", "1: NUL byte in line");
    assert_error(TEXT("a  \0\n"), "", "1: NUL byte in line");
    /* Also on the last line, without a newline. */
    assert_error(TEXT("a\nb\0"), "a|", "2: NUL byte in line");
}
END_TEST

START_TEST(test_missing)
{
    vbuf_set(why, "stale");
    ck_assert_int_eq(list_file_read("/nonexistent/list.txt", record, seen,
                                    why), -1);
    ck_assert_str_eq(vbuf_str(why),
                     "/nonexistent/list.txt: No such file or directory");
    ck_assert_str_eq(vbuf_str(seen), "");
}
END_TEST

START_TEST(test_directory)
{
    /* fopen() succeeds; the first read fails. */
    ck_assert_int_eq(list_file_read("/tmp", record, seen, why), -1);
    ck_assert_str_eq(vbuf_str(why), "/tmp: Is a directory");
    ck_assert_str_eq(vbuf_str(seen), "");
}
END_TEST

START_TEST(test_unreadable)
{
    char bad[160];
    char expect[200];
    uid_t euid = geteuid();
    int ret;

    write_temp(TEXT("a\n"));

    /* A path through a plain file. */
    snprintf(bad, sizeof(bad), "%s/x", path);
    ck_assert_int_eq(list_file_read(bad, record, seen, why), -1);
    snprintf(expect, sizeof(expect), "%s: Not a directory", bad);
    ck_assert_str_eq(vbuf_str(why), expect);

    /* A file without read permission; root reads it all the same, so run
     * as nobody for the attempt, in a directory nobody may search. */
    ck_assert_int_eq(chmod(dir, 0755), 0);
    ck_assert_int_eq(chmod(path, 0), 0);
    if (euid == 0)
        ck_assert_int_eq(seteuid(65534), 0);
    ret = list_file_read(path, record, seen, why);
    if (euid == 0)
        ck_assert_int_eq(seteuid(0), 0);
    ck_assert_int_eq(ret, -1);
    snprintf(expect, sizeof(expect), "%s: Permission denied", path);
    ck_assert_str_eq(vbuf_str(why), expect);
    ck_assert_str_eq(vbuf_str(seen), "");
}
END_TEST

static Suite *
list_file_suite(void)
{
    Suite *s = suite_create("list_file");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_plain);
    tcase_add_test(tc, test_empty_file);
    tcase_add_test(tc, test_comments);
    tcase_add_test(tc, test_trailing_comments);
    tcase_add_test(tc, test_crlf);
    tcase_add_test(tc, test_blank_lines);
    tcase_add_test(tc, test_no_final_newline);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_line_max);
    tcase_add_test(tc, test_line_too_long);
    tcase_add_test(tc, test_nul);
    tcase_add_test(tc, test_missing);
    tcase_add_test(tc, test_directory);
    tcase_add_test(tc, test_unreadable);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(list_file_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
