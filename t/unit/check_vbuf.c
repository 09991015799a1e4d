/* Unit tests for growable buffers (lib/vbuf.c). */
#include <check.h>
#include <string.h>

#include "vbuf.h"

START_TEST(test_append_grow)
{
    VBUF *vb = vbuf_create(1);
    int i;

    for (i = 0; i < 10000; i++)
        vbuf_append_char(vb, 'a' + i % 26);
    ck_assert_uint_eq(vbuf_len(vb), 10000);
    ck_assert_uint_eq(strlen(vbuf_str(vb)), 10000);
    ck_assert_int_eq(vbuf_str(vb)[26], 'a');
    vbuf_reset(vb);
    ck_assert_str_eq(vbuf_str(vb), "");
    vbuf_printf(vb, "%s=%d", "x", 42);
    vbuf_printf(vb, "%0500d", 7);
    ck_assert_uint_eq(vbuf_len(vb), 504);
    ck_assert_int_eq(strncmp(vbuf_str(vb), "x=4200", 6), 0);
    vbuf_free(vb);
}
END_TEST

START_TEST(test_binary_consume)
{
    VBUF *vb = vbuf_create(4);

    vbuf_append(vb, "ab\0cd", 5);
    ck_assert_uint_eq(vbuf_len(vb), 5);
    vbuf_consume(vb, 3);
    ck_assert_str_eq(vbuf_str(vb), "cd");
    vbuf_consume(vb, 10);
    ck_assert_uint_eq(vbuf_len(vb), 0);
    vbuf_set(vb, "hello");
    vbuf_truncate(vb, 2);
    ck_assert_str_eq(vbuf_str(vb), "he");
    vbuf_truncate(vb, 20);
    ck_assert_str_eq(vbuf_str(vb), "he");
    vbuf_free(vb);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("vbuf");
    TCase *tc = tcase_create("vbuf");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_append_grow);
    tcase_add_test(tc, test_binary_consume);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
