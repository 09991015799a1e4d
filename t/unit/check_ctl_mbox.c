/* Unit tests for the mboxrd form of archive export
 * (alligatectl/ctl_mbox.c): From_ lines, >From quoting, line ends. */
#include <check.h>
#include <string.h>

#include "alligatectl/ctl_mbox.h"
#include "vbuf.h"

static const char *
body(const char *msg)
{
    static VBUF *out;

    if (out == NULL)
        out = vbuf_create(64);
    vbuf_reset(out);
    ctl_mbox_body(out, msg, strlen(msg));
    return vbuf_str(out);
}

START_TEST(test_from_line)
{
    VBUF   *out = vbuf_create(64);

    ctl_mbox_from_line(out, "alice@example.com", 1796635042LL);
    ck_assert_str_eq(vbuf_str(out), "From alice@example.com Mon Dec  7 09:17:22 2026\n");
    vbuf_reset(out);
    ctl_mbox_from_line(out, "", 0);
    ck_assert_str_eq(vbuf_str(out), "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n");
    /* A sender with a space or a control character cannot end the
     * line or look like the date. */
    vbuf_reset(out);
    ctl_mbox_from_line(out, "\"a b\"\n@x", 1796635042LL);
    ck_assert_str_eq(vbuf_str(out), "From \"a_b\"_@x Mon Dec  7 09:17:22 2026\n");
    vbuf_free(out);
}
END_TEST

START_TEST(test_quoting)
{
    /* mboxrd: every ^>*From  line gets one more '>'. */
    ck_assert_str_eq(body("From here\r\n"), ">From here\n\n");
    ck_assert_str_eq(body(">From here\r\n"), ">>From here\n\n");
    ck_assert_str_eq(body(">>>From x\r\n"), ">>>>From x\n\n");
    /* Not quoted: no space after From, something before it, other case. */
    ck_assert_str_eq(body("From:x\r\nFromage\r\n From x\r\nfrom x\r\n> From x\r\n"),
                     "From:x\nFromage\n From x\nfrom x\n> From x\n\n");
    ck_assert_str_eq(body("a\r\n\r\nFrom b\r\n>From c\r\n"), "a\n\n>From b\n>>From c\n\n");
    /* A From line without its line end, at the very end. */
    ck_assert_str_eq(body("x\r\nFrom y"), "x\n>From y\n\n");
}
END_TEST

START_TEST(test_line_ends)
{
    /* CR LF becomes LF; a bare CR inside a line stays; a last line
     * without its end gets one; an empty message is one empty line. */
    ck_assert_str_eq(body("a\r\nb\r\n"), "a\nb\n\n");
    ck_assert_str_eq(body("a\rb\r\n"), "a\rb\n\n");
    ck_assert_str_eq(body("a\nb"), "a\nb\n\n");
    ck_assert_str_eq(body(""), "\n");
    ck_assert_str_eq(body("\r\n"), "\n\n");
}
END_TEST

int
main(void)
{
    Suite  *s = suite_create("ctl_mbox");
    TCase  *tc = tcase_create("ctl_mbox");
    SRunner *sr;
    int     failed;

    tcase_add_test(tc, test_from_line);
    tcase_add_test(tc, test_quoting);
    tcase_add_test(tc, test_line_ends);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
