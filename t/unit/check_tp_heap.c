/* Unit tests for the tarpit's timer heap (tarpit/tp_heap.c): entries come
 * out in due order, ties in insertion order; any entry can be removed,
 * the first, the last or one in the middle, and the rest keep their
 * order; an id can come back once removed; and many entries inserted and
 * removed at random against a plain sorted list.  A duplicate id is a
 * panic. */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "tarpit/tp_heap.h"

/* Pops every entry: removes the first one and checks it is next in
 * ids[]/dues[]. */
static void
drain_expect(TP_HEAP *heap, const unsigned *ids, const long long *dues,
             size_t n)
{
    unsigned id;
    long long due;
    size_t i;

    for (i = 0; i < n; i++) {
        ck_assert_int_eq(tp_heap_peek(heap, &id, &due), 0);
        ck_assert_uint_eq(id, ids[i]);
        ck_assert_int_eq(due, dues[i]);
        ck_assert_int_eq(tp_heap_remove(heap, id), 0);
    }
    ck_assert_int_eq(tp_heap_peek(heap, &id, &due), -1);
    ck_assert_uint_eq(tp_heap_count(heap), 0);
}

START_TEST(test_order)
{
    TP_HEAP *heap = tp_heap_create();
    static const unsigned want_ids[] = {4, 2, 5, 0, 3, 1};
    static const long long want_dues[] = {100, 200, 200, 300, 300, 900};
    unsigned id;
    long long due;

    ck_assert_int_eq(tp_heap_peek(heap, &id, &due), -1);
    tp_heap_insert(heap, 0, 300);
    tp_heap_insert(heap, 1, 900);
    tp_heap_insert(heap, 2, 200);
    tp_heap_insert(heap, 3, 300);       /* after 0: inserted later */
    tp_heap_insert(heap, 4, 100);
    tp_heap_insert(heap, 5, 200);       /* after 2 */
    ck_assert_uint_eq(tp_heap_count(heap), 6);
    drain_expect(heap, want_ids, want_dues, 6);
    tp_heap_free(heap);
}
END_TEST

START_TEST(test_remove)
{
    TP_HEAP *heap = tp_heap_create();
    static const unsigned want_ids[] = {1, 7, 3, 6};
    static const long long want_dues[] = {10, 25, 30, 60};
    unsigned id;
    long long due;

    tp_heap_insert(heap, 0, 5);
    tp_heap_insert(heap, 1, 10);
    tp_heap_insert(heap, 2, 20);
    tp_heap_insert(heap, 3, 30);
    tp_heap_insert(heap, 4, 40);
    tp_heap_insert(heap, 5, 50);
    tp_heap_insert(heap, 6, 60);
    ck_assert_int_eq(tp_heap_remove(heap, 0), 0);       /* the first */
    ck_assert_int_eq(tp_heap_remove(heap, 4), 0);       /* in the middle */
    ck_assert_int_eq(tp_heap_remove(heap, 5), 0);
    ck_assert_int_eq(tp_heap_remove(heap, 2), 0);
    ck_assert_int_eq(tp_heap_remove(heap, 2), -1);      /* not any more */
    ck_assert_int_eq(tp_heap_remove(heap, 99), -1);     /* never */
    ck_assert_int_eq(tp_heap_remove(heap, 99999), -1);
    ck_assert_int_eq(tp_heap_peek(heap, &id, &due), 0);
    ck_assert_uint_eq(id, 1);
    /* A removed id comes back with a new time. */
    tp_heap_insert(heap, 7, 25);
    ck_assert_uint_eq(tp_heap_count(heap), 4);
    drain_expect(heap, want_ids, want_dues, 4);
    tp_heap_insert(heap, 2, 1);
    ck_assert_int_eq(tp_heap_peek(heap, &id, &due), 0);
    ck_assert_uint_eq(id, 2);
    ck_assert_int_eq(due, 1);
    tp_heap_free(heap);
}
END_TEST

/* The removal that moves the last entry up, not down: the hole is under
 * a parent later than the last entry. */
START_TEST(test_remove_moves_up)
{
    TP_HEAP *heap = tp_heap_create();
    static const long long dues[] = {1, 100, 5, 102, 103, 6, 8, 104, 105,
                                     106, 107, 9};
    static const unsigned want_ids[] = {0, 2, 5, 6, 11, 1, 4, 7, 8, 9, 10};
    static const long long want_dues[] = {1, 5, 6, 8, 9, 100, 103, 104, 105,
                                          106, 107};
    unsigned i;

    /* Each is inserted where it stays: id i at index i of the array. */
    for (i = 0; i < 12; i++)
        tp_heap_insert(heap, i, dues[i]);
    /* 11:9, the last entry, fills the hole of 3:102 under 1:100 and must
     * go above it, or 1:100 would come out before it. */
    ck_assert_int_eq(tp_heap_remove(heap, 3), 0);
    drain_expect(heap, want_ids, want_dues, 11);
    tp_heap_free(heap);
}
END_TEST

static int
cmp_pair(const void *a, const void *b)
{
    const long long *x = a, *y = b;

    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

/* 20 000 entries, random times with many ties, half removed at random:
 * what is left comes out as a sort by (due, insertion) says. */
START_TEST(test_many)
{
    enum { N = 20000 };
    TP_HEAP *heap = tp_heap_create();
    static long long due[N], order[N];
    static long long left[N][3];
    static char gone[N];
    size_t nleft = 0, i;
    unsigned id;
    long long d;
    long long seq = 0;

    srandom(14);
    memset(gone, 0, sizeof(gone));
    for (i = 0; i < N; i++) {
        due[i] = random() % 500;
        order[i] = seq++;
        tp_heap_insert(heap, (unsigned) i, due[i]);
    }
    for (i = 0; i < N / 2; i++) {
        unsigned victim = (unsigned) (random() % N);

        ck_assert_int_eq(tp_heap_remove(heap, victim), gone[victim] ? -1 : 0);
        gone[victim] = 1;
    }
    /* Some come back, later in insertion order. */
    for (i = 0; i < N; i += 7) {
        if (gone[i]) {
            gone[i] = 0;
            due[i] = random() % 500;
            order[i] = seq++;
            tp_heap_insert(heap, (unsigned) i, due[i]);
        }
    }
    for (i = 0; i < N; i++) {
        if (!gone[i]) {
            left[nleft][0] = due[i];
            left[nleft][1] = order[i];
            left[nleft][2] = (long long) i;
            nleft++;
        }
    }
    qsort(left, nleft, sizeof(left[0]), cmp_pair);
    ck_assert_uint_eq(tp_heap_count(heap), nleft);
    for (i = 0; i < nleft; i++) {
        ck_assert_int_eq(tp_heap_peek(heap, &id, &d), 0);
        ck_assert_int_eq(d, left[i][0]);
        ck_assert_uint_eq(id, (unsigned) left[i][2]);
        ck_assert_int_eq(tp_heap_remove(heap, id), 0);
    }
    ck_assert_uint_eq(tp_heap_count(heap), 0);
    tp_heap_free(heap);
}
END_TEST

START_TEST(test_duplicate_panics)
{
    TP_HEAP *heap = tp_heap_create();

    tp_heap_insert(heap, 3, 10);
    tp_heap_insert(heap, 3, 20);
}
END_TEST

static Suite *
tp_heap_suite(void)
{
    Suite *s = suite_create("tp_heap");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_order);
    tcase_add_test(tc, test_remove);
    tcase_add_test(tc, test_remove_moves_up);
    tcase_add_test(tc, test_many);
    tcase_add_test_raise_signal(tc, test_duplicate_panics, SIGABRT);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(tp_heap_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
