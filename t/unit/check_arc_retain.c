/* Unit tests for the archive's retention choice (archiver/arc_retain.c),
 * driven by a fake clock over a fake archive: which message goes, why,
 * in what order, and when the next check is due. */
#include <check.h>
#include <string.h>

#include "archiver/arc_retain.h"

#define DAY     86400LL
#define T0      1796635042LL

/* A fake archive: arrival times (oldest first) and sizes. */
typedef struct FAKE {
    long long arrival[16];
    long long size[16];
    int     first, count;
} FAKE;

static ARC_RETAIN_STATE
state_of(const FAKE *f)
{
    ARC_RETAIN_STATE st;
    int     i;

    memset(&st, 0, sizeof(st));
    st.empty = f->first == f->count;
    for (i = f->first; i < f->count; i++)
        st.total += f->size[i];
    if (!st.empty)
        st.oldest_arrival = f->arrival[f->first];
    return st;
}

/* Removes while the choice says so, at most step at a time, as the
 * archiver does; returns the reasons, one letter each (a, s). */
static const char *
run(FAKE *f, const ARC_RETAIN_LIMITS *lim, long long now, int step)
{
    static char out[64];
    ARC_RETAIN_STATE st;
    int     n = 0, choice;

    out[0] = 0;
    while (n < step) {
        st = state_of(f);
        if ((choice = arc_retain_choose(lim, now, &st)) == ARC_RETAIN_KEEP)
            break;
        strcat(out, choice == ARC_RETAIN_AGE ? "a" : "s");
        f->first++;
        n++;
    }
    return out;
}

START_TEST(test_no_limits)
{
    ARC_RETAIN_LIMITS lim = {0, 0};
    FAKE    f = {{T0 - 1000 * DAY}, {1LL << 40}, 0, 1};
    ARC_RETAIN_STATE st = state_of(&f);

    ck_assert_int_eq(arc_retain_choose(&lim, T0, &st), ARC_RETAIN_KEEP);
    ck_assert_int_eq(arc_retain_next_check(&lim, T0, &st), ARC_RETAIN_IDLE_S);
    f.count = 0;
    st = state_of(&f);
    ck_assert_int_eq(arc_retain_choose(&lim, T0, &st), ARC_RETAIN_KEEP);
}
END_TEST

START_TEST(test_age)
{
    ARC_RETAIN_LIMITS lim = {30 * DAY, 0};
    FAKE    f = {{T0 - 40 * DAY, T0 - 31 * DAY, T0 - 30 * DAY, T0 - 10 * DAY},
                 {10, 10, 10, 10}, 0, 4};
    ARC_RETAIN_STATE st;

    /* Older than max_age goes; exactly max_age old stays. */
    ck_assert_str_eq(run(&f, &lim, T0, ARC_RETAIN_STEP), "aa");
    ck_assert_int_eq(f.first, 2);
    st = state_of(&f);
    ck_assert_int_eq(arc_retain_choose(&lim, T0, &st), ARC_RETAIN_KEEP);
    /* The next check comes when the oldest turns too old: one second. */
    ck_assert_int_eq(arc_retain_next_check(&lim, T0, &st), 1);
    ck_assert_str_eq(run(&f, &lim, T0 + 1, ARC_RETAIN_STEP), "a");
    /* Then not before the idle limit... */
    st = state_of(&f);
    ck_assert_int_eq(arc_retain_next_check(&lim, T0 + 1, &st), ARC_RETAIN_IDLE_S);
    /* ...and 20 days later, it goes too; the archive is then empty. */
    ck_assert_str_eq(run(&f, &lim, T0 + 20 * DAY + 1, ARC_RETAIN_STEP), "a");
    st = state_of(&f);
    ck_assert(st.empty);
    ck_assert_int_eq(arc_retain_choose(&lim, T0 + 100 * DAY, &st), ARC_RETAIN_KEEP);
    ck_assert_int_eq(arc_retain_next_check(&lim, T0, &st), ARC_RETAIN_IDLE_S);
}
END_TEST

START_TEST(test_size)
{
    ARC_RETAIN_LIMITS lim = {0, 100};
    FAKE    f = {{T0 - 5, T0 - 4, T0 - 3, T0 - 2, T0 - 1}, {40, 30, 20, 20, 10}, 0, 5};

    /* 120 bytes: the oldest goes (80 left, under the limit). */
    ck_assert_str_eq(run(&f, &lim, T0, ARC_RETAIN_STEP), "s");
    ck_assert_int_eq(f.first, 1);
    /* Exactly at the limit is allowed. */
    f.size[4] = 30;
    ck_assert_str_eq(run(&f, &lim, T0, ARC_RETAIN_STEP), "");
    f.size[4] = 31;
    ck_assert_str_eq(run(&f, &lim, T0, ARC_RETAIN_STEP), "s");
    ck_assert_int_eq(f.first, 2);
}
END_TEST

START_TEST(test_both_and_steps)
{
    ARC_RETAIN_LIMITS lim = {10 * DAY, 50};
    FAKE    f;
    int     i;

    memset(&f, 0, sizeof(f));
    /* Five old ones, then eleven new ones of 10 bytes each. */
    for (i = 0; i < 16; i++) {
        f.arrival[i] = i < 5 ? T0 - 20 * DAY + i : T0 - 100 + i;
        f.size[i] = 10;
    }
    f.count = 16;
    /* Age first (the older rule), then size; a few per turn. */
    ck_assert_str_eq(run(&f, &lim, T0, 3), "aaa");
    ck_assert_str_eq(run(&f, &lim, T0, 3), "aas");
    ck_assert_str_eq(run(&f, &lim, T0, 100), "sssss");
    ck_assert_int_eq(state_of(&f).total, 50);
    ck_assert_str_eq(run(&f, &lim, T0, 100), "");
    ck_assert_str_eq(arc_retain_reason(ARC_RETAIN_AGE), "archive_max_age");
    ck_assert_str_eq(arc_retain_reason(ARC_RETAIN_SIZE), "archive_max_size");
}
END_TEST

int
main(void)
{
    Suite  *s = suite_create("arc_retain");
    TCase  *tc = tcase_create("arc_retain");
    SRunner *sr;
    int     failed;

    tcase_add_test(tc, test_no_limits);
    tcase_add_test(tc, test_age);
    tcase_add_test(tc, test_size);
    tcase_add_test(tc, test_both_and_steps);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
