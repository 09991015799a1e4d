/* Unit tests for the string-keyed hash tables (lib/htable.c): entering,
 * finding, deleting, growing, walking, and sweeping a few slots at a time
 * with deletions on the way. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "htable.h"

START_TEST(test_basic)
{
    HTABLE *t = htable_create(0);
    HTABLE_ENTRY *e;
    int one = 1, two = 2;

    ck_assert_ptr_null(htable_find(t, "a"));
    e = htable_enter(t, "a", &one);
    ck_assert_str_eq(e->key, "a");
    htable_enter(t, "", &two);
    ck_assert_ptr_eq(htable_find(t, "a"), &one);
    ck_assert_ptr_eq(htable_find(t, ""), &two);
    ck_assert_ptr_eq(htable_locate(t, "a"), e);
    ck_assert_uint_eq(htable_used(t), 2);
    ck_assert_ptr_eq(htable_delete(t, "a"), &one);
    ck_assert_ptr_null(htable_delete(t, "a"));
    ck_assert_ptr_null(htable_find(t, "a"));
    ck_assert_uint_eq(htable_used(t), 1);
    htable_free(t, NULL);
}
END_TEST

START_TEST(test_grow)
{
    HTABLE *t = htable_create(4);
    char key[32];
    long i;

    for (i = 0; i < 50000; i++) {
        snprintf(key, sizeof(key), "key %ld", i);
        htable_enter(t, key, (void *) (i + 1));
    }
    ck_assert_uint_eq(htable_used(t), 50000);
    ck_assert_uint_ge(htable_slots(t), 50000);
    for (i = 0; i < 50000; i++) {
        snprintf(key, sizeof(key), "key %ld", i);
        ck_assert_ptr_eq(htable_find(t, key), (void *) (i + 1));
    }
    htable_free(t, NULL);
}
END_TEST

static void
add_walk(const HTABLE_ENTRY *e, void *context)
{
    *(long *) context += (long) e->value;
}

static int
delete_even(HTABLE_ENTRY *e, void *context)
{
    ++*(long *) context;
    return ((long) e->value) % 2 == 0;
}

START_TEST(test_walk_sweep)
{
    HTABLE *t = htable_create(0);
    size_t cursor = 0, rounds;
    long sum = 0, visited = 0;
    char key[32];
    long i;

    for (i = 1; i <= 1000; i++) {
        snprintf(key, sizeof(key), "%ld", i);
        htable_enter(t, key, (void *) i);
    }
    htable_walk(t, add_walk, &sum);
    ck_assert_int_eq(sum, 1000 * 1001 / 2);
    /* A round of small sweeps visits every entry exactly once. */
    for (rounds = 0; rounds < htable_slots(t); rounds += 7)
        htable_sweep(t, &cursor, 7, delete_even, &visited);
    ck_assert_int_ge(visited, 1000);
    ck_assert_uint_eq(htable_used(t), 500);
    ck_assert_ptr_null(htable_find(t, "2"));
    ck_assert_ptr_eq(htable_find(t, "3"), (void *) 3);
    /* Sweeping more slots than there are wraps around harmlessly. */
    visited = 0;
    htable_sweep(t, &cursor, 1 << 20, delete_even, &visited);
    ck_assert_int_eq(visited, 500);
    htable_free(t, NULL);
}
END_TEST

/* What htable_free handed to its free_fn, in a fixed-size record. */
static const char *freed[4];
static int freed_count;

static void
free_value(void *value)
{
    ck_assert_int_lt(freed_count, 4);
    freed[freed_count++] = value;
}

/* htable_free calls free_fn once on every value in the table, NULL
 * included, and not on one deleted before. */
START_TEST(test_free_values)
{
    static const char x[] = "value", y[] = "other", gone[] = "gone";
    HTABLE *t = htable_create(0);
    int i, seen_x = 0, seen_y = 0, seen_null = 0;

    htable_enter(t, "x", (void *) x);
    htable_enter(t, "y", (void *) y);
    htable_enter(t, "z", NULL);
    htable_enter(t, "g", (void *) gone);
    ck_assert_ptr_eq(htable_delete(t, "g"), gone);
    freed_count = 0;
    ck_assert_ptr_null(htable_free(t, free_value));
    ck_assert_int_eq(freed_count, 3);
    for (i = 0; i < freed_count; i++) {
        seen_x += freed[i] == x;
        seen_y += freed[i] == y;
        seen_null += freed[i] == NULL;
    }
    ck_assert_int_eq(seen_x, 1);
    ck_assert_int_eq(seen_y, 1);
    ck_assert_int_eq(seen_null, 1);
}
END_TEST

START_TEST(test_duplicate_panics)
{
    HTABLE *t = htable_create(0);

    htable_enter(t, "k", NULL);
    htable_enter(t, "k", NULL);
}
END_TEST

static Suite *
htable_suite(void)
{
    Suite *s = suite_create("htable");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_basic);
    tcase_add_test(tc, test_grow);
    tcase_add_test(tc, test_walk_sweep);
    tcase_add_test(tc, test_free_values);
    tcase_add_test_raise_signal(tc, test_duplicate_panics, SIGABRT);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(htable_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
