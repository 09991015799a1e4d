/* Unit tests for time and size values (lib/units.c). */
#include <check.h>

#include "units.h"
#include "vbuf.h"

static void
time_ok(const char *in, long long want)
{
    VBUF *why = vbuf_create(10);
    long long ms = -1;

    ck_assert_msg(units_time_ms(in, &ms, why) == 0, "%s: %s", in, vbuf_str(why));
    ck_assert_int_eq(ms, want);
    vbuf_free(why);
}

static void
time_bad(const char *in, const char *reason)
{
    VBUF *why = vbuf_create(10);
    long long ms;

    ck_assert_int_eq(units_time_ms(in, &ms, why), -1);
    ck_assert_str_eq(vbuf_str(why), reason);
    vbuf_free(why);
}

static void
size_ok(const char *in, long long want)
{
    VBUF *why = vbuf_create(10);
    long long v = -1;

    ck_assert_msg(units_size(in, &v, why) == 0, "%s: %s", in, vbuf_str(why));
    ck_assert_int_eq(v, want);
    vbuf_free(why);
}

static void
size_bad(const char *in, const char *reason)
{
    VBUF *why = vbuf_create(10);
    long long v;

    ck_assert_int_eq(units_size(in, &v, why), -1);
    ck_assert_str_eq(vbuf_str(why), reason);
    vbuf_free(why);
}

START_TEST(test_time)
{
    time_ok("0", 0);
    time_ok("90", 90000);
    time_ok("500ms", 500);
    time_ok("30s", 30000);
    time_ok("10m", 600000);
    time_ok("2h", 7200000);
    time_ok("5d", 432000000);
    time_ok("1w", 604800000);
    time_bad("", "bad time value \"\" (use e.g. 500ms, 30s, 10m, 2h, 5d)");
    time_bad("s", "bad time value \"s\" (use e.g. 500ms, 30s, 10m, 2h, 5d)");
    time_bad("-5s", "bad time value \"-5s\" (use e.g. 500ms, 30s, 10m, 2h, 5d)");
    time_bad("5 s", "bad time unit in \"5 s\" (use ms, s, m, h, d or w)");
    time_bad("5sec", "bad time unit in \"5sec\" (use ms, s, m, h, d or w)");
    time_bad("5M", "bad time unit in \"5M\" (use ms, s, m, h, d or w)");
    time_bad("99999999999999999w", "time value out of range \"99999999999999999w\"");
    time_bad("999999999999999999999", "time value out of range \"999999999999999999999\"");
}
END_TEST

START_TEST(test_size)
{
    size_ok("0", 0);
    size_ok("10240000", 10240000);
    size_ok("512k", 524288);
    size_ok("512K", 524288);
    size_ok("10m", 10485760);
    size_ok("1g", 1073741824);
    size_bad("", "bad size value \"\" (use e.g. 10240000, 512k, 10m, 1g)");
    size_bad("k", "bad size value \"k\" (use e.g. 10240000, 512k, 10m, 1g)");
    size_bad("10kb", "bad size unit in \"10kb\" (use k, m or g)");
    size_bad("10t", "bad size unit in \"10t\" (use k, m or g)");
    size_bad("99999999999999g", "size value out of range \"99999999999999g\"");
}
END_TEST

START_TEST(test_int)
{
    VBUF *why = vbuf_create(10);
    long long v;

    ck_assert_int_eq(units_int("42", &v, why), 0);
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(units_int("-7", &v, why), 0);
    ck_assert_int_eq(v, -7);
    ck_assert_int_eq(units_int("4 2", &v, why), -1);
    ck_assert_str_eq(vbuf_str(why), "bad number \"4 2\"");
    ck_assert_int_eq(units_int("", &v, why), -1);
    ck_assert_str_eq(vbuf_str(why), "bad number \"\"");
    ck_assert_int_eq(units_int("9223372036854775808", &v, why), -1);
    ck_assert_str_eq(vbuf_str(why), "number out of range \"9223372036854775808\"");
    ck_assert_int_eq(units_int("9223372036854775807", &v, why), 0);
    vbuf_free(why);
}
END_TEST

START_TEST(test_time_str)
{
    char buf[32];

    ck_assert_str_eq(units_time_str(0, buf, sizeof(buf)), "0");
    ck_assert_str_eq(units_time_str(300000, buf, sizeof(buf)), "5m");
    ck_assert_str_eq(units_time_str(1500, buf, sizeof(buf)), "1500ms");
    ck_assert_str_eq(units_time_str(86400000 * 7LL, buf, sizeof(buf)), "1w");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("units");
    TCase *tc = tcase_create("units");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_time);
    tcase_add_test(tc, test_size);
    tcase_add_test(tc, test_int);
    tcase_add_test(tc, test_time_str);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
