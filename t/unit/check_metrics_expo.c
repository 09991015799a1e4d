/* Unit tests for the Prometheus text exposition (metrics/metrics_expo.c):
 * HELP and TYPE, label escaping, histograms with cumulative buckets,
 * +Inf, _sum and _count, and the whole table. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "metrics/metrics_expo.h"
#include "vbuf.h"

static const char *const odd_values[] = {"plain", "quo\"te", "back\\slash", "new\nline"};
static const METRICS_LABELSET odd = {"kind", odd_values, 4};
static const char *const two_values[] = {"a", "b"};
static const METRICS_LABELSET two = {"side", two_values, 2};
static const char *const none_values[] = {""};
static const METRICS_LABELSET none = {"", none_values, 1};
static const uint64_t bounds[] = {250000, 1000000, 2500000, UINT64_MAX};

START_TEST(test_escaping)
{
    VBUF   *out = vbuf_create(64);

    metrics_expo_label_value(out, "a\"b\\c\nd");
    ck_assert_str_eq(vbuf_str(out), "a\\\"b\\\\c\\nd");
    vbuf_reset(out);
    /* HELP escapes the backslash and the newline, not the quote. */
    metrics_expo_help(out, "say \"x\\y\"\nnow");
    ck_assert_str_eq(vbuf_str(out), "say \"x\\\\y\"\\nnow");
    vbuf_free(out);
}
END_TEST

START_TEST(test_counter_labels)
{
    static const METRICS_FAMILY f = {
        "test_events_total", METRICS_COUNTER, "Events, by kind\\side.\nSecond line.",
        &odd, &two, NULL, 0, 2, 1, 8,
    };
    uint64_t values[10] = {99, 99, 1, 2, 3, 4, 5, 6, 7, 18446744073709551615ULL};
    VBUF   *out = vbuf_create(64);

    metrics_expo_family(out, &f, values);
    ck_assert_str_eq(vbuf_str(out),
                     "# HELP test_events_total Events, by kind\\\\side.\\nSecond line.\n"
                     "# TYPE test_events_total counter\n"
                     "test_events_total{kind=\"plain\",side=\"a\"} 1\n"
                     "test_events_total{kind=\"plain\",side=\"b\"} 2\n"
                     "test_events_total{kind=\"quo\\\"te\",side=\"a\"} 3\n"
                     "test_events_total{kind=\"quo\\\"te\",side=\"b\"} 4\n"
                     "test_events_total{kind=\"back\\\\slash\",side=\"a\"} 5\n"
                     "test_events_total{kind=\"back\\\\slash\",side=\"b\"} 6\n"
                     "test_events_total{kind=\"new\\nline\",side=\"a\"} 7\n"
                     "test_events_total{kind=\"new\\nline\",side=\"b\"} 18446744073709551615\n");
    vbuf_free(out);
}
END_TEST

START_TEST(test_gauge_plain)
{
    static const METRICS_FAMILY g = {
        "test_things", METRICS_GAUGE, "Things.", &none, &none, NULL, 0, 0, 1, 1,
    };
    static const METRICS_FAMILY s = {
        "test_state", METRICS_STATE, "State.", &two, &none, NULL, 0, 1, 1, 2,
    };
    uint64_t values[3] = {0, 5, 6};
    VBUF   *out = vbuf_create(64);

    metrics_expo_family(out, &g, values);
    metrics_expo_family(out, &s, values);
    ck_assert_str_eq(vbuf_str(out),
                     "# HELP test_things Things.\n"
                     "# TYPE test_things gauge\n"
                     "test_things 0\n"
                     "# HELP test_state State.\n"
                     "# TYPE test_state gauge\n"
                     "test_state{side=\"a\"} 5\n"
                     "test_state{side=\"b\"} 6\n");
    vbuf_free(out);
}
END_TEST

START_TEST(test_histogram)
{
    static const METRICS_FAMILY h = {
        "test_wait_seconds", METRICS_HISTOGRAM, "Waits.", &none, &none,
        bounds, 3, 0, 5, 5,
    };
    static const METRICS_FAMILY hl = {
        "test_wait_seconds", METRICS_HISTOGRAM, "Waits.", &two, &none,
        bounds, 3, 0, 5, 10,
    };
    /* Per bucket, not cumulative: 1 under 0.25 s, 0, 2 under 2.5 s, 1
     * over; 6.5 s in all. */
    uint64_t values[10] = {1, 0, 2, 1, 6500000, 0, 0, 0, 0, 0};
    VBUF   *out = vbuf_create(64);

    metrics_expo_family(out, &h, values);
    ck_assert_str_eq(vbuf_str(out),
                     "# HELP test_wait_seconds Waits.\n"
                     "# TYPE test_wait_seconds histogram\n"
                     "test_wait_seconds_bucket{le=\"0.25\"} 1\n"
                     "test_wait_seconds_bucket{le=\"1\"} 1\n"
                     "test_wait_seconds_bucket{le=\"2.5\"} 3\n"
                     "test_wait_seconds_bucket{le=\"+Inf\"} 4\n"
                     "test_wait_seconds_sum 6.5\n"
                     "test_wait_seconds_count 4\n");
    vbuf_reset(out);
    metrics_expo_family(out, &hl, values);
    ck_assert_str_eq(vbuf_str(out),
                     "# HELP test_wait_seconds Waits.\n"
                     "# TYPE test_wait_seconds histogram\n"
                     "test_wait_seconds_bucket{side=\"a\",le=\"0.25\"} 1\n"
                     "test_wait_seconds_bucket{side=\"a\",le=\"1\"} 1\n"
                     "test_wait_seconds_bucket{side=\"a\",le=\"2.5\"} 3\n"
                     "test_wait_seconds_bucket{side=\"a\",le=\"+Inf\"} 4\n"
                     "test_wait_seconds_sum{side=\"a\"} 6.5\n"
                     "test_wait_seconds_count{side=\"a\"} 4\n"
                     "test_wait_seconds_bucket{side=\"b\",le=\"0.25\"} 0\n"
                     "test_wait_seconds_bucket{side=\"b\",le=\"1\"} 0\n"
                     "test_wait_seconds_bucket{side=\"b\",le=\"2.5\"} 0\n"
                     "test_wait_seconds_bucket{side=\"b\",le=\"+Inf\"} 0\n"
                     "test_wait_seconds_sum{side=\"b\"} 0\n"
                     "test_wait_seconds_count{side=\"b\"} 0\n");
    vbuf_free(out);
}
END_TEST

static int
count_lines(const char *text, const char *prefix)
{
    const char *p;
    int     n = 0;

    for (p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
        n += strncmp(p, prefix, strlen(prefix)) == 0;
    return n;
}

/* The whole table: each family once with HELP and TYPE, every series,
 * and the values where they belong. */
START_TEST(test_table)
{
    static uint64_t values[METRICS_NCELLS];
    VBUF   *out = vbuf_create(65536);
    VBUF   *line = vbuf_create(128);
    int     i, series = 0;

    values[METRICS_AT(SMTPD_REJECTS, METRICS_RULE_INVALID_RCPT, 0)] = 7;
    values[METRICS_AT(SMTPD_AUTH, METRICS_MECHANISM_LOGIN, METRICS_AUTH_RESULT_FAILURE)] = 3;
    metrics_expo_write(out, values);
    for (i = 0; i < METRICS_NFAMILIES; i++) {
        const METRICS_FAMILY *f = &metrics_families[i];

        vbuf_reset(line);
        vbuf_printf(line, "# HELP %s ", f->name);
        ck_assert_int_eq(count_lines(vbuf_str(out), vbuf_str(line)), 1);
        vbuf_reset(line);
        vbuf_printf(line, "# TYPE %s %s\n", f->name,
                    f->type == METRICS_COUNTER ? "counter"
                    : f->type == METRICS_HISTOGRAM ? "histogram" : "gauge");
        ck_assert_ptr_nonnull(strstr(vbuf_str(out), vbuf_str(line)));
        series += f->label1->count * f->label2->count
            * (f->type == METRICS_HISTOGRAM ? f->nbounds + 3 : 1);
    }
    ck_assert_int_eq(count_lines(vbuf_str(out), "alligate_"), series);
    ck_assert_int_eq(count_lines(vbuf_str(out), "#"), 2 * METRICS_NFAMILIES);
    ck_assert_ptr_nonnull(strstr(vbuf_str(out),
                                 "\nalligate_smtpd_rejects_total{rule=\"max_invalid_recipients\"} 7\n"));
    ck_assert_ptr_nonnull(strstr(vbuf_str(out),
                                 "\nalligate_smtpd_auth_attempts_total{mechanism=\"LOGIN\",result=\"failure\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(vbuf_str(out),
                                 "\nalligate_smtpd_transaction_duration_seconds_bucket{le=\"+Inf\"} 0\n"));
    ck_assert(vbuf_str(out)[vbuf_len(out) - 1] == '\n');
    vbuf_free(line);
    vbuf_free(out);
}
END_TEST

int
main(void)
{
    Suite  *s = suite_create("metrics_expo");
    TCase  *tc = tcase_create("metrics_expo");
    SRunner *sr;
    int     failed;

    tcase_add_test(tc, test_escaping);
    tcase_add_test(tc, test_counter_labels);
    tcase_add_test(tc, test_gauge_plain);
    tcase_add_test(tc, test_histogram);
    tcase_add_test(tc, test_table);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
