/* Unit tests for ratekeeper's sliding windows (ratekeeper/rk_window.c),
 * driven by a fake clock: the edges of the window, the (x+1)-th event,
 * a clock that goes back, a change of window, the stored form, and many
 * keys expiring incrementally. */
#include <check.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratekeeper/rk_window.h"
#include "vbuf.h"

#define MINUTE  60000LL
#define T0      1700000000000LL         /* a realistic wall clock */

/* An event counts from the moment it happens for at least a whole window,
 * and stops counting within window/60 after that. */
START_TEST(test_edges)
{
    static const long long windows[] = {1, 59, 60, 61, 1000, 3000, 600000,
                                        86400000};
    RK_WINDOW w;
    long long win, width, t, d;
    size_t i;

    for (i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
        win = windows[i];
        width = (win + RK_WINDOW_BUCKETS - 1) / RK_WINDOW_BUCKETS;
        /* Every offset in a bucket for small widths, a sample for large. */
        for (t = T0; t < T0 + 3 * width + 2; t += width > 100 ? width / 37 : 1) {
            rk_window_init(&w);
            ck_assert_uint_eq(rk_window_add(&w, t, win, 1), 1);
            /* Inside the window: always counted. */
            for (d = 0; d < win; d += (win > 1000 ? win / 97 : 1))
                ck_assert_uint_eq(rk_window_count(&w, t + d), 1);
            ck_assert_uint_eq(rk_window_count(&w, t + win - 1), 1);
            /* Gone at most one bucket after the window. */
            ck_assert_uint_eq(rk_window_count(&w, t + win + width), 0);
            ck_assert(rk_window_expired(&w, t + win + width));
            ck_assert(!rk_window_expired(&w, t + win - 1));
            ck_assert_int_le(rk_window_clear_time(&w), t + win + width);
            ck_assert_int_ge(rk_window_clear_time(&w), t + win);
            rk_window_clear(&w);
        }
    }
}
END_TEST

/* The count the smtpd compares with sender_rate_limit: x events are x,
 * the next one is x + 1, and after the window the count starts over. */
START_TEST(test_limit_and_after)
{
    RK_WINDOW w;
    unsigned long i;

    rk_window_init(&w);
    for (i = 1; i <= 5; i++)
        ck_assert_uint_eq(rk_window_add(&w, T0 + (long long) i * 100, 3000, 1), i);
    ck_assert_uint_eq(rk_window_add(&w, T0 + 600, 3000, 1), 6);
    /* 3 s after the last one plus a bucket (50 ms): all gone. */
    ck_assert_uint_eq(rk_window_count(&w, T0 + 600 + 3050), 0);
    ck_assert_uint_eq(rk_window_add(&w, T0 + 600 + 3050, 3000, 1), 1);
    ck_assert_int_le(w.nbuckets, 1);
    rk_window_clear(&w);
}
END_TEST

/* Events leave one by one as the window slides past them. */
START_TEST(test_sliding)
{
    RK_WINDOW w;

    rk_window_init(&w);
    rk_window_add(&w, T0, MINUTE, 1);
    rk_window_add(&w, T0 + 20000, MINUTE, 1);
    rk_window_add(&w, T0 + 40000, MINUTE, 1);
    ck_assert_uint_eq(rk_window_count(&w, T0 + 59999), 3);
    ck_assert_uint_eq(rk_window_count(&w, T0 + MINUTE + 1000), 2);
    ck_assert_uint_eq(rk_window_count(&w, T0 + 20000 + MINUTE + 1000), 1);
    ck_assert_uint_eq(rk_window_count(&w, T0 + 40000 + MINUTE + 1000), 0);
    /* An add prunes what left. */
    ck_assert_uint_eq(rk_window_add(&w, T0 + 30000 + MINUTE, MINUTE, 1), 2);
    ck_assert_int_eq(w.nbuckets, 2);
    rk_window_clear(&w);
}
END_TEST

/* However fast the events come, a key holds at most 61 buckets. */
START_TEST(test_bounded)
{
    RK_WINDOW w;
    long long t;
    unsigned long n = 0, count = 0;

    rk_window_init(&w);
    for (t = T0; t < T0 + 10 * MINUTE; t += 7) {
        count = rk_window_add(&w, t, MINUTE, 1);
        n++;
        ck_assert_int_le(w.nbuckets, RK_WINDOW_BUCKETS + 1);
    }
    /* 60 s of events at one per 7 ms, plus at most one bucket more. */
    ck_assert_uint_ge(count, MINUTE / 7);
    ck_assert_uint_le(count, (MINUTE + 1000) / 7 + 1);
    rk_window_clear(&w);
}
END_TEST

/* A clock that goes back neither loses events nor expires them early. */
START_TEST(test_clock_back)
{
    RK_WINDOW w;

    rk_window_init(&w);
    rk_window_add(&w, T0 + 100000, MINUTE, 1);
    ck_assert_uint_eq(rk_window_add(&w, T0, MINUTE, 1), 2);
    ck_assert_int_eq(w.nbuckets, 1);
    ck_assert_uint_eq(rk_window_count(&w, T0 + 1), 2);
    ck_assert(!rk_window_expired(&w, T0 + 100000 + MINUTE - 1));
    ck_assert(rk_window_expired(&w, T0 + 100000 + MINUTE + 1000));
    rk_window_clear(&w);
}
END_TEST

/* A new window re-buckets: nothing gets older, so nothing is lost that
 * the new window still covers. */
START_TEST(test_window_change)
{
    RK_WINDOW w;

    rk_window_init(&w);
    rk_window_add(&w, T0, MINUTE, 1);
    rk_window_add(&w, T0 + 30000, MINUTE, 1);
    rk_window_add(&w, T0 + 55000, MINUTE, 1);
    /* 10 s window at T0 + 60 s: only the one at 55 s. */
    ck_assert_uint_eq(rk_window_add(&w, T0 + 60000, 10000, 1), 2);
    ck_assert_int_eq(w.window_ms, 10000);
    ck_assert_uint_eq(rk_window_count(&w, T0 + 60000 + 9999), 1);
    /* Back to an hour: the remaining events are still there. */
    ck_assert_uint_eq(rk_window_add(&w, T0 + 61000, 3600000, 1), 3);
    rk_window_clear(&w);

    /* From a huge bucket (400 days / 60 = 6.7 days) to a small one: the
     * events are not moved into the future, however often it happens. */
    rk_window_add(&w, T0, RK_WINDOW_MAX_MS, 1);
    ck_assert_uint_eq(rk_window_add(&w, T0, 1000, 1), 2);
    ck_assert_uint_eq(rk_window_add(&w, T0, RK_WINDOW_MAX_MS, 1), 3);
    ck_assert_uint_eq(rk_window_add(&w, T0, 1000, 1), 4);
    ck_assert(rk_window_expired(&w, T0 + 1000 + 17));
    rk_window_clear(&w);
}
END_TEST

START_TEST(test_saturation)
{
    RK_WINDOW w;

    rk_window_init(&w);
    rk_window_add(&w, T0, MINUTE, UINT_MAX - 1);
    rk_window_add(&w, T0, MINUTE, 5);
    ck_assert_uint_eq(w.buckets[0].count, UINT_MAX);
    rk_window_add(&w, T0 + 2000, MINUTE, 3);
    ck_assert_uint_eq(rk_window_count(&w, T0 + 2000), (unsigned long) UINT_MAX + 3);
    rk_window_clear(&w);
}
END_TEST

START_TEST(test_encode_decode)
{
    VBUF *buf = vbuf_create(16);
    RK_WINDOW w, d;
    int i;

    rk_window_init(&w);
    rk_window_init(&d);
    for (i = 0; i < 200; i++)
        rk_window_add(&w, T0 + i * 997, MINUTE, (unsigned) i % 3 + 1);
    rk_window_encode(&w, buf);
    ck_assert_uint_le(vbuf_len(buf), RK_WINDOW_RECORD_MAX);
    ck_assert_int_eq(rk_window_decode(&d, vbuf_str(buf), vbuf_len(buf)), 0);
    ck_assert_int_eq(d.window_ms, w.window_ms);
    ck_assert_int_eq(d.width_ms, w.width_ms);
    ck_assert_int_eq(d.nbuckets, w.nbuckets);
    for (i = 0; i < w.nbuckets; i++) {
        ck_assert_int_eq(d.buckets[i].id, w.buckets[i].id);
        ck_assert_uint_eq(d.buckets[i].count, w.buckets[i].count);
    }
    ck_assert_uint_eq(rk_window_count(&d, T0 + 200 * 997),
                      rk_window_count(&w, T0 + 200 * 997));

    /* Truncated anywhere, extended, or altered: refused. */
    for (i = 0; i < (int) vbuf_len(buf); i++)
        ck_assert_int_eq(rk_window_decode(&d, vbuf_str(buf), (size_t) i), -1);
    ck_assert_int_eq(d.nbuckets, 0);
    vbuf_append_char(buf, 0);
    ck_assert_int_eq(rk_window_decode(&d, vbuf_str(buf), vbuf_len(buf)), -1);
    vbuf_truncate(buf, vbuf_len(buf) - 1);
    buf->data[0] = 2;                           /* version */
    ck_assert_int_eq(rk_window_decode(&d, vbuf_str(buf), vbuf_len(buf)), -1);
    buf->data[0] = 1;
    buf->data[1] = 0x7f;                        /* absurd window */
    ck_assert_int_eq(rk_window_decode(&d, vbuf_str(buf), vbuf_len(buf)), -1);
    buf->data[1] = 0;
    memcpy(buf->data + 10 + 12, buf->data + 10, 8);  /* ids not ascending */
    ck_assert_int_eq(rk_window_decode(&d, vbuf_str(buf), vbuf_len(buf)), -1);
    rk_window_clear(&w);
    rk_window_clear(&d);
    vbuf_free(buf);
}
END_TEST

/* Found by fuzz_rk_record: a bucket at the end of the time range (its id
 * the largest that decodes, its last instant past the range), moved by a
 * change of window into buckets of another width, landed beyond the range
 * of that width: its record no longer decoded, and the key was dropped as
 * damaged at the next start.  It must stay in range, and decode. */
START_TEST(test_window_change_at_time_limit)
{
    unsigned char rec[10 + 12];
    long long id = (1LL << 52) / 50;    /* 3 s window: 50 ms buckets */
    VBUF *buf = vbuf_create(64);
    RK_WINDOW w, d;
    int i;

    rec[0] = 1;
    for (i = 0; i < 8; i++)
        rec[1 + i] = (unsigned char) (3000LL >> (56 - 8 * i));
    rec[9] = 1;
    for (i = 0; i < 8; i++)
        rec[10 + i] = (unsigned char) (id >> (56 - 8 * i));
    rec[18] = rec[19] = rec[20] = 0;
    rec[21] = 4;
    rk_window_init(&w);
    rk_window_init(&d);
    ck_assert_int_eq(rk_window_decode(&w, rec, sizeof(rec)), 0);
    /* sender_rate_window changed to 1 s: 17 ms buckets. */
    ck_assert_uint_eq(rk_window_add(&w, T0, 1000, 1), 5);
    rk_window_encode(&w, buf);
    ck_assert_int_eq(rk_window_decode(&d, vbuf_str(buf), vbuf_len(buf)), 0);
    ck_assert_int_eq(d.nbuckets, w.nbuckets);
    ck_assert_uint_eq(rk_window_count(&d, T0), 5);
    rk_window_clear(&w);
    rk_window_clear(&d);
    vbuf_free(buf);
}
END_TEST

/* Many keys -------------------------------------------------------------- */

static size_t gone_count;

static void
count_gone(const char *key, void *context)
{
    (void) context;
    ck_assert(strncmp(key, "mail addr:10.", 13) == 0);
    gone_count++;
}

/* 100 000 keys at different times: expiry removes exactly the expired
 * ones, a bounded number per step, going round the table. */
START_TEST(test_many_keys_expire)
{
    RK_WINDOW_TABLE *table = rk_window_table_create();
    RK_WINDOW *w;
    char key[64];
    size_t removed, steps = 0, total = 0;
    int i;

    for (i = 0; i < 100000; i++) {
        snprintf(key, sizeof(key), "mail addr:10.%d.%d.%d", i >> 16,
                 (i >> 8) & 255, i & 255);
        w = rk_window_table_enter(table, key);
        /* Odd keys are an hour younger. */
        ck_assert_uint_eq(rk_window_add(w, T0 + (i % 2) * 3600000LL, MINUTE, 1), 1);
        ck_assert_uint_eq(rk_window_add(w, T0 + (i % 2) * 3600000LL, MINUTE, 1), 2);
    }
    ck_assert_uint_eq(rk_window_table_size(table), 100000);
    ck_assert_ptr_eq(rk_window_table_enter(table, "mail addr:10.0.0.7"),
                     rk_window_table_find(table, "mail addr:10.0.0.7"));

    /* Nothing has expired yet. */
    ck_assert_uint_eq(rk_window_table_expire(table, T0 + 1000, 1 << 20, 1 << 20,
                                             count_gone, NULL), 0);

    /* Half expire at T0 + 2 minutes; at most 1000 per step. */
    gone_count = 0;
    do {
        removed = rk_window_table_expire(table, T0 + 2 * MINUTE, 4096, 1000,
                                         count_gone, NULL);
        ck_assert_uint_le(removed, 1000);
        total += removed;
        steps++;
    } while ((removed > 0 || steps < 2 * rk_window_table_slots(table) / 4096)
             && steps < 10000);
    ck_assert_uint_eq(total, 50000);
    ck_assert_uint_eq(gone_count, 50000);
    ck_assert_uint_eq(rk_window_table_size(table), 50000);
    ck_assert_ptr_null(rk_window_table_find(table, "mail addr:10.0.0.0"));
    w = rk_window_table_find(table, "mail addr:10.0.0.1");
    ck_assert_ptr_nonnull(w);
    ck_assert_uint_eq(rk_window_count(w, T0 + 3600000LL + 1), 2);

    /* The rest later, in as many steps as it takes. */
    total = 0;
    for (steps = 0; steps < 1000 && rk_window_table_size(table) > 0; steps++)
        total += rk_window_table_expire(table, T0 + 5000000LL, 997, 333, NULL,
                                        NULL);
    ck_assert_uint_eq(total, 50000);
    ck_assert_uint_eq(rk_window_table_size(table), 0);
    rk_window_table_free(table);
}
END_TEST

static void
sum_walk(const char *key, const RK_WINDOW *w, void *context)
{
    unsigned long *sum = context;

    (void) key;
    *sum += rk_window_count(w, T0 + 10);
}

START_TEST(test_table_walk_delete)
{
    RK_WINDOW_TABLE *table = rk_window_table_create();
    unsigned long sum = 0;
    char key[32];
    int i;

    for (i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "mail user:u%d", i);
        rk_window_add(rk_window_table_enter(table, key), T0, MINUTE,
                      (unsigned) i);
    }
    rk_window_table_walk(table, sum_walk, &sum);
    ck_assert_uint_eq(sum, 999 * 1000 / 2);
    ck_assert_int_eq(rk_window_table_delete(table, "mail user:u5"), 0);
    ck_assert_int_eq(rk_window_table_delete(table, "mail user:u5"), -1);
    ck_assert_ptr_null(rk_window_table_find(table, "mail user:u5"));
    ck_assert_uint_eq(rk_window_table_size(table), 999);
    rk_window_table_free(table);
}
END_TEST

START_TEST(test_bad_window_panics)
{
    RK_WINDOW w;

    rk_window_init(&w);
    rk_window_add(&w, T0, 0, 1);
}
END_TEST

static Suite *
rk_window_suite(void)
{
    Suite *s = suite_create("rk_window");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_edges);
    tcase_add_test(tc, test_limit_and_after);
    tcase_add_test(tc, test_sliding);
    tcase_add_test(tc, test_bounded);
    tcase_add_test(tc, test_clock_back);
    tcase_add_test(tc, test_window_change);
    tcase_add_test(tc, test_saturation);
    tcase_add_test(tc, test_encode_decode);
    tcase_add_test(tc, test_window_change_at_time_limit);
    tcase_add_test(tc, test_many_keys_expire);
    tcase_add_test(tc, test_table_walk_delete);
    tcase_add_test_raise_signal(tc, test_bad_window_panics, SIGABRT);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(rk_window_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
