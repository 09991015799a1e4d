/* Unit tests for making client text printable (lib/printable.c). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "printable.h"
#include "vbuf.h"

START_TEST(test_append)
{
    VBUF *vb = vbuf_create(10);

    vbuf_set(vb, "x=");
    printable_append(vb, "ok\r\nbad\x01\xff end", 13);
    ck_assert_str_eq(vbuf_str(vb), "x=ok??bad?? end");
    /* len, not the NUL, ends the text. */
    vbuf_reset(vb);
    printable_append(vb, "a\0b", 3);
    ck_assert_uint_eq(vbuf_len(vb), 3);
    ck_assert_str_eq(vbuf_str(vb), "a?b");
    vbuf_free(vb);
}
END_TEST

START_TEST(test_str)
{
    ck_assert_str_eq(printable_str("a\tb"), "a?b");
    ck_assert_str_eq(printable_str("~ \x7f"), "~ ?");
    ck_assert_str_eq(printable_str(""), "");
}
END_TEST

/* Two texts in one printf, each in its own buffer (alligatectl rate top). */
START_TEST(test_vbuf_two_in_one_printf)
{
    VBUF *a = vbuf_create(4);
    VBUF *b = vbuf_create(4);
    char line[64];

    vbuf_set(a, "old content");
    snprintf(line, sizeof(line), "%s %s", printable_vbuf(a, "ip\n"),
             printable_vbuf(b, "sender\x1b[2J"));
    ck_assert_str_eq(line, "ip? sender?[2J");
    vbuf_free(a);
    vbuf_free(b);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("printable");
    TCase *tc = tcase_create("printable");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_append);
    tcase_add_test(tc, test_str);
    tcase_add_test(tc, test_vbuf_two_in_one_printf);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
