/* Unit tests for the attribute framing: setting and getting, round trips,
 * every malformed input with its exact reason, partial input, limits, and
 * the greeting. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"

static ATTR *a;
static ATTR *b;
static VBUF *buf;
static VBUF *why;

static void
setup(void)
{
    a = attr_create();
    b = attr_create();
    buf = vbuf_create(100);
    why = vbuf_create(100);
}

static void
teardown(void)
{
    a = attr_free(a);
    b = attr_free(b);
    buf = vbuf_free(buf);
    why = vbuf_free(why);
}

/* Parses text (as a C string) into b; returns attr_parse's status. */
static int
parse(const char *text, size_t *consumed)
{
    size_t dummy;

    vbuf_reset(why);
    return attr_parse(b, text, strlen(text), consumed ? consumed : &dummy,
                      why);
}

static char *
repeat(int ch, size_t n)
{
    char *s = malloc(n + 1);

    memset(s, ch, n);
    s[n] = 0;
    return s;
}

START_TEST(test_set_get)
{
    long n = 0;

    ck_assert_int_eq(attr_count(a), 0);
    ck_assert_int_eq(attr_set(a, "request", "mail"), 0);
    ck_assert_int_eq(attr_set_long(a, "count", -42), 0);
    ck_assert_int_eq(attr_setf(a, "client", "%s[%d]", "host", 7), 0);
    ck_assert_int_eq(attr_set(a, "empty", ""), 0);
    ck_assert_int_eq(attr_count(a), 4);
    ck_assert_str_eq(attr_get(a, "request"), "mail");
    ck_assert_str_eq(attr_get(a, "client"), "host[7]");
    ck_assert_str_eq(attr_get(a, "empty"), "");
    ck_assert_ptr_null(attr_get(a, "absent"));
    ck_assert_ptr_null(attr_get(a, "reques"));
    ck_assert_int_eq(attr_get_long(a, "count", &n), 0);
    ck_assert_int_eq(n, -42);

    /* Replacing keeps the position, even with its own value. */
    ck_assert_int_eq(attr_set(a, "request", "rcpt"), 0);
    ck_assert_int_eq(attr_set(a, "request", attr_get(a, "request")), 0);
    ck_assert_int_eq(attr_count(a), 4);
    ck_assert_str_eq(attr_name_at(a, 0), "request");
    ck_assert_str_eq(attr_value_at(a, 0), "rcpt");
    ck_assert_str_eq(attr_name_at(a, 3), "empty");

    attr_reset(a);
    ck_assert_int_eq(attr_count(a), 0);
    ck_assert_ptr_null(attr_get(a, "request"));
}
END_TEST

START_TEST(test_set_rejects)
{
    char *name65 = repeat('a', 65), *long_value = repeat('v', ATTR_VALUE_MAX + 1);

    ck_assert_int_eq(attr_set(a, "", "x"), -1);
    ck_assert_int_eq(attr_set(a, "Name", "x"), -1);
    ck_assert_int_eq(attr_set(a, "a-b", "x"), -1);
    ck_assert_int_eq(attr_set(a, "a=b", "x"), -1);
    ck_assert_int_eq(attr_set(a, "a b", "x"), -1);
    ck_assert_int_eq(attr_set(a, name65, "x"), -1);
    name65[64] = 0;
    ck_assert_int_eq(attr_set(a, name65, "x"), 0);
    ck_assert_int_eq(attr_set(a, "x", "a\nb"), -1);
    ck_assert_int_eq(attr_set(a, "x", "a\rb"), -1);
    ck_assert_int_eq(attr_set(a, "x", long_value), -1);
    long_value[ATTR_VALUE_MAX] = 0;
    ck_assert_int_eq(attr_set(a, "x", long_value), 0);
    ck_assert_int_eq(attr_setf(a, "y", "%s\n", "z"), -1);
    ck_assert_int_eq(attr_setf(a, "y", "a%cb", 0), -1);
    ck_assert_int_eq(attr_count(a), 2);
    free(name65);
    free(long_value);
}
END_TEST

START_TEST(test_get_long)
{
    long n = 99;

    attr_set(a, "pos", "12345");
    attr_set(a, "neg", "-7");
    attr_set(a, "zero", "0");
    attr_set(a, "empty", "");
    attr_set(a, "minus", "-");
    attr_set(a, "plus", "+1");
    attr_set(a, "space", " 1");
    attr_set(a, "trail", "12a");
    attr_set(a, "tspace", "12 ");
    attr_set(a, "hex", "0x10");
    attr_set(a, "big", "99999999999999999999999");
    ck_assert_int_eq(attr_get_long(a, "pos", &n), 0);
    ck_assert_int_eq(n, 12345);
    ck_assert_int_eq(attr_get_long(a, "neg", &n), 0);
    ck_assert_int_eq(n, -7);
    ck_assert_int_eq(attr_get_long(a, "zero", &n), 0);
    ck_assert_int_eq(n, 0);
    n = 99;
    ck_assert_int_eq(attr_get_long(a, "absent", &n), -1);
    ck_assert_int_eq(attr_get_long(a, "empty", &n), -1);
    ck_assert_int_eq(attr_get_long(a, "minus", &n), -1);
    ck_assert_int_eq(attr_get_long(a, "plus", &n), -1);
    ck_assert_int_eq(attr_get_long(a, "space", &n), -1);
    ck_assert_int_eq(attr_get_long(a, "trail", &n), -1);
    ck_assert_int_eq(attr_get_long(a, "tspace", &n), -1);
    ck_assert_int_eq(attr_get_long(a, "hex", &n), -1);
    ck_assert_int_eq(attr_get_long(a, "big", &n), -1);
    ck_assert_int_eq(n, 99);
}
END_TEST

START_TEST(test_round_trip)
{
    size_t used = 0;
    int i;

    attr_set(a, "request", "mail");
    attr_set(a, "sender", "a=b@example.com");    /* '=' in the value */
    attr_set(a, "empty", "");
    attr_set(a, "text", " spaces and \t tab ");
    attr_set(a, "high", "\xc3\xa9t\xc3\xa9");
    attr_print(buf, a);
    ck_assert_str_eq(vbuf_str(buf),
                     "request=mail\nsender=a=b@example.com\nempty=\n"
                     "text= spaces and \t tab \nhigh=\xc3\xa9t\xc3\xa9\n\n");
    ck_assert_int_eq(parse(vbuf_str(buf), &used), 1);
    ck_assert_uint_eq(used, vbuf_len(buf));
    ck_assert_int_eq(attr_count(b), attr_count(a));
    for (i = 0; i < attr_count(a); i++) {
        ck_assert_str_eq(attr_name_at(b, i), attr_name_at(a, i));
        ck_assert_str_eq(attr_value_at(b, i), attr_value_at(a, i));
    }

    /* The empty message. */
    vbuf_reset(buf);
    attr_reset(a);
    attr_print(buf, a);
    ck_assert_str_eq(vbuf_str(buf), "\n");
    ck_assert_int_eq(parse("\n", &used), 1);
    ck_assert_uint_eq(used, 1);
    ck_assert_int_eq(attr_count(b), 0);
}
END_TEST

START_TEST(test_consecutive_messages)
{
    const char *text = "a=1\n\nb=2\nc=3\n\n";
    size_t used, off = 0;

    ck_assert_int_eq(attr_parse(b, text, strlen(text), &used, why), 1);
    ck_assert_uint_eq(used, 5);
    ck_assert_str_eq(attr_get(b, "a"), "1");
    off += used;
    ck_assert_int_eq(attr_parse(b, text + off, strlen(text) - off, &used,
                                why), 1);
    ck_assert_int_eq(attr_count(b), 2);
    ck_assert_ptr_null(attr_get(b, "a"));
    ck_assert_str_eq(attr_get(b, "c"), "3");
    off += used;
    ck_assert_uint_eq(off, strlen(text));
    ck_assert_int_eq(attr_parse(b, text + off, 0, &used, why), 0);
}
END_TEST

START_TEST(test_partial)
{
    const char *text = "request=mail\nsender=a@b\n\n";
    size_t len = strlen(text), n, used;

    for (n = 0; n < len; n++) {
        ck_assert_int_eq(attr_parse(b, text, n, &used, why), 0);
        ck_assert_int_eq(attr_count(b), 0);
    }
    ck_assert_int_eq(attr_parse(b, text, len, &used, why), 1);
    ck_assert_uint_eq(used, len);
}
END_TEST

/* Every malformed input, with its exact reason. */
static const struct {
    const char *text;
    size_t len;                         /* 0: strlen(text) */
    const char *reason;
} bad[] = {
    {"novalue\n\n", 0, "line without '='"},
    {"a=1\nnovalue\n", 0, "line without '='"},
    {"=value\n\n", 0, "bad attribute name"},
    {"Name=x\n\n", 0, "bad attribute name"},
    {"a-b=x\n\n", 0, "bad attribute name"},
    {"a b=x\n\n", 0, "bad attribute name"},
    {" a=x\n\n", 0, "bad attribute name"},
    {"a=1\nb=2\na=3\n\n", 0, "duplicate attribute: a"},
    {"a=\0\n\n", 5, "NUL byte"},
    {"a=1\0", 4, "NUL byte"},             /* partial: found at once */
    {"\0", 1, "NUL byte"},
    {"a=1\r\n\r\n", 0, "CR in line"},
    {"a=1\r", 0, "CR in line"},
    {"\r\n", 0, "CR in line"},
};

START_TEST(test_malformed)
{
    size_t used, len;
    unsigned i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        len = bad[i].len ? bad[i].len : strlen(bad[i].text);
        vbuf_reset(why);
        ck_assert_msg(attr_parse(b, bad[i].text, len, &used, why) == -1,
                      "case %u", i);
        ck_assert_str_eq(vbuf_str(why), bad[i].reason);
        ck_assert_int_eq(attr_count(b), 0);
    }
}
END_TEST

START_TEST(test_name_limit)
{
    char *name = repeat('n', 65);
    VBUF *text = vbuf_create(100);

    vbuf_printf(text, "%s=x\n\n", name);
    ck_assert_int_eq(parse(vbuf_str(text), NULL), -1);
    ck_assert_str_eq(vbuf_str(why), "bad attribute name");
    vbuf_reset(text);
    vbuf_printf(text, "%s=x\n\n", name + 1);
    ck_assert_int_eq(parse(vbuf_str(text), NULL), 1);
    vbuf_free(text);
    free(name);
}
END_TEST

START_TEST(test_line_limit)
{
    char *value = repeat('v', ATTR_LINE_MAX - 2);       /* "a=" + value */
    VBUF *text = vbuf_create(100);
    size_t used;

    vbuf_printf(text, "a=%s\n\n", value);
    ck_assert_int_eq(parse(vbuf_str(text), NULL), 1);
    ck_assert_uint_eq(strlen(attr_get(b, "a")), ATTR_LINE_MAX - 2);

    vbuf_reset(text);
    vbuf_printf(text, "a=%sv\n\n", value);
    ck_assert_int_eq(parse(vbuf_str(text), NULL), -1);
    ck_assert_str_eq(vbuf_str(why), "line too long");
    /* Found without waiting for the end of the line. */
    ck_assert_int_eq(attr_parse(b, vbuf_str(text), ATTR_LINE_MAX, &used,
                                why), 0);
    ck_assert_int_eq(attr_parse(b, vbuf_str(text), ATTR_LINE_MAX + 1, &used,
                                why), -1);
    ck_assert_str_eq(vbuf_str(why), "line too long");
    /* Even a line without '=' is too long before anything else. */
    vbuf_reset(text);
    vbuf_append_str(text, value);
    vbuf_append_str(text, "vvv");
    ck_assert_int_eq(parse(vbuf_str(text), NULL), -1);
    ck_assert_str_eq(vbuf_str(why), "line too long");
    vbuf_free(text);
    free(value);
}
END_TEST

START_TEST(test_count_limit)
{
    VBUF *text = vbuf_create(100);
    size_t used;
    int i;

    for (i = 0; i < ATTR_COUNT_MAX; i++)
        vbuf_printf(text, "a%d=%d\n", i, i);
    vbuf_append_str(text, "\n");
    ck_assert_int_eq(parse(vbuf_str(text), NULL), 1);
    ck_assert_int_eq(attr_count(b), ATTR_COUNT_MAX);
    vbuf_truncate(text, vbuf_len(text) - 1);
    vbuf_append_str(text, "x");
    ck_assert_int_eq(parse(vbuf_str(text), &used), -1);
    ck_assert_str_eq(vbuf_str(why), "too many attributes");

    /* attr_set refuses to build what could not be parsed. */
    for (i = 0; i < ATTR_COUNT_MAX; i++) {
        vbuf_reset(buf);
        vbuf_printf(buf, "a%d", i);
        ck_assert_int_eq(attr_set_long(a, vbuf_str(buf), i), 0);
    }
    ck_assert_int_eq(attr_set(a, "one_more", "x"), -1);
    ck_assert_int_eq(attr_set(a, "a0", "replacing is fine"), 0);
    vbuf_free(text);
}
END_TEST

START_TEST(test_message_limit)
{
    char *value = repeat('v', 4000);
    VBUF *text = vbuf_create(100);
    size_t used;
    int i, ret;

    /* Valid lines, but too many bytes in all: a partial message fails as
     * soon as it passes the limit, so a peer cannot make us buffer more. */
    for (i = 0; vbuf_len(text) <= ATTR_MESSAGE_MAX; i++)
        vbuf_printf(text, "a%d=%s\n", i, value);
    ret = attr_parse(b, vbuf_str(text), ATTR_MESSAGE_MAX, &used, why);
    ck_assert_int_eq(ret, 0);
    ret = attr_parse(b, vbuf_str(text), ATTR_MESSAGE_MAX + 1, &used, why);
    ck_assert_int_eq(ret, -1);
    ck_assert_str_eq(vbuf_str(why), "message too long");

    /* A message of exactly ATTR_MESSAGE_MAX bytes is fine. */
    vbuf_truncate(text, ATTR_MESSAGE_MAX - 1);
    vbuf_truncate(text, (size_t) (strrchr(vbuf_str(text), '\n')
                                  - vbuf_str(text)) + 1);
    vbuf_printf(text, "z=");
    while (vbuf_len(text) < ATTR_MESSAGE_MAX - 2)
        vbuf_append_char(text, 'w');
    vbuf_append_str(text, "\n\n");
    ck_assert_uint_eq(vbuf_len(text), ATTR_MESSAGE_MAX);
    ck_assert_int_eq(parse(vbuf_str(text), &used), 1);
    ck_assert_uint_eq(used, ATTR_MESSAGE_MAX);

    /* attr_set keeps a message within the limit. */
    for (i = 0; i < attr_count(b); i++)
        ck_assert_int_eq(attr_set(a, attr_name_at(b, i),
                                  attr_value_at(b, i)), 0);
    ck_assert_int_eq(attr_set(a, "y", ""), -1);
    ck_assert_int_eq(attr_set(a, "z", "short"), 0);
    ck_assert_int_eq(attr_set(a, "y", ""), 0);
    vbuf_reset(buf);
    attr_print(buf, a);
    ck_assert_uint_le(vbuf_len(buf), ATTR_MESSAGE_MAX);
    vbuf_free(text);
    free(value);
}
END_TEST

START_TEST(test_greeting)
{
    size_t used;

    attr_greeting(buf, "ratekeeper", 1);
    ck_assert_str_eq(vbuf_str(buf), "proto=ratekeeper\nversion=1\n\n");
    ck_assert_int_eq(parse(vbuf_str(buf), &used), 1);
    ck_assert_int_eq(attr_check_greeting(b, "ratekeeper", 1, why), 0);
    ck_assert_int_eq(attr_check_greeting(b, "dnscache", 1, why), -1);
    ck_assert_str_eq(vbuf_str(why),
                     "protocol \"ratekeeper\" instead of \"dnscache\"");
    ck_assert_int_eq(attr_check_greeting(b, "ratekeeper", 2, why), -1);
    ck_assert_str_eq(vbuf_str(why), "ratekeeper version 1 instead of 2");

    ck_assert_int_eq(parse("version=1\n\n", NULL), 1);
    ck_assert_int_eq(attr_check_greeting(b, "ratekeeper", 1, why), -1);
    ck_assert_str_eq(vbuf_str(why), "greeting without proto");
    ck_assert_int_eq(parse("proto=ratekeeper\nversion=one\n\n", NULL), 1);
    ck_assert_int_eq(attr_check_greeting(b, "ratekeeper", 1, why), -1);
    ck_assert_str_eq(vbuf_str(why), "greeting without a valid version");
    ck_assert_int_eq(parse("proto=\x1b[1m\nversion=1\n\n", NULL), 1);
    ck_assert_int_eq(attr_check_greeting(b, "ratekeeper", 1, why), -1);
    ck_assert_str_eq(vbuf_str(why),
                     "protocol \"?[1m\" instead of \"ratekeeper\"");
    /* Unknown attributes are ignored, so the protocol can grow. */
    ck_assert_int_eq(parse("proto=ratekeeper\nversion=1\nextra=x\n\n", NULL),
                     1);
    ck_assert_int_eq(attr_check_greeting(b, "ratekeeper", 1, why), 0);
}
END_TEST

static Suite *
attr_suite(void)
{
    Suite *s = suite_create("attr");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_set_get);
    tcase_add_test(tc, test_set_rejects);
    tcase_add_test(tc, test_get_long);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_consecutive_messages);
    tcase_add_test(tc, test_partial);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_name_limit);
    tcase_add_test(tc, test_line_limit);
    tcase_add_test(tc, test_count_limit);
    tcase_add_test(tc, test_message_limit);
    tcase_add_test(tc, test_greeting);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(attr_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
