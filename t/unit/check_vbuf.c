/* Unit tests for growable buffers, allocation and logging helpers. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"
#include "mymalloc.h"
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

START_TEST(test_mymalloc)
{
    char *s = mystrndup("abcdef", 3);

    ck_assert_str_eq(s, "abc");
    s = myfree(s);
    ck_assert_ptr_null(s);
    s = mystrdup("");
    ck_assert_str_eq(s, "");
    myfree(s);
}
END_TEST

START_TEST(test_log_file)
{
    char path[] = "/tmp/check_msg.XXXXXX";
    int fd = mkstemp(path);
    char buf[512];
    ssize_t n;

    ck_assert_int_ge(fd, 0);
    msg_init("/usr/lib/alligate/smtpd");
    ck_assert_str_eq(msg_progname(), "alligate/smtpd");
    ck_assert_int_eq(msg_open(path), 0);
    msg_info("NOQUEUE: reject: %s", "test");
    msg_warn("careful");
    n = read(fd, buf, sizeof(buf) - 1);
    ck_assert_int_gt(n, 0);
    buf[n] = 0;
    ck_assert_ptr_nonnull(strstr(buf, " alligate/smtpd["));
    ck_assert_ptr_nonnull(strstr(buf, "]: NOQUEUE: reject: test\n"));
    ck_assert_ptr_nonnull(strstr(buf, "]: warning: careful\n"));
    ck_assert_int_eq(msg_open("/nonexistent/dir/log"), -1);
    close(fd);
    unlink(path);
}
END_TEST

START_TEST(test_fatal_exits)
{
    msg_open("/dev/null");
    msg_fatal("bad configuration");
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
    tcase_add_test(tc, test_mymalloc);
    tcase_add_test(tc, test_log_file);
    tcase_add_exit_test(tc, test_fatal_exits, 1);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
