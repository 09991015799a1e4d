/* Unit tests for the tarpit's hold table (tarpit/tp_hold.c) and its
 * shared strings (tarpit/tp_intern.c), with a fake clock: a hold is due
 * at its arrival plus its delay and not before; holds come due in due
 * order but the oldest is the first to arrive, whatever the delays;
 * removal anywhere keeps both orders; slots are reused and records never
 * move as the table grows; equal texts are kept once; a record stays
 * small. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tarpit/tp_hold.h"
#include "tarpit/tp_intern.h"

#define T0  1000000LL

static TARPIT_HOLD *
msg(const char *addr, long long delay_ms, const char *reply)
{
    static TARPIT_HOLD m;

    memset(&m, 0, sizeof(m));
    snprintf(m.addr, sizeof(m.addr), "%s", addr);
    strcpy(m.name, "unknown");
    m.delay_ms = delay_ms;
    strcpy(m.rule, "sender_rate_limit");
    strcpy(m.command, "EHLO");
    snprintf(m.reply, sizeof(m.reply), "%s", reply);
    return &m;
}

START_TEST(test_add_and_due)
{
    TP_HOLDS *holds = tp_holds_create();
    TP_HOLD *h;

    ck_assert_ptr_null(tp_holds_due(holds, T0));
    ck_assert_int_eq(tp_holds_next_due(holds), -1);
    ck_assert_ptr_null(tp_holds_oldest(holds));
    h = tp_holds_add(holds, 7, msg("192.0.2.1", 60000, "550 5.7.1 Refused"), T0);
    ck_assert_int_eq(h->fd, 7);
    ck_assert_int_eq(h->since, T0);
    ck_assert_int_eq(h->due, T0 + 60000);
    ck_assert_str_eq(h->addr, "192.0.2.1");
    ck_assert_str_eq(h->name, "unknown");
    ck_assert_str_eq(h->rule, "sender_rate_limit");
    ck_assert_str_eq(h->command, "EHLO");
    ck_assert_str_eq(h->reply, "550 5.7.1 Refused");
    ck_assert_uint_eq(tp_holds_count(holds), 1);
    ck_assert_int_eq(tp_holds_next_due(holds), T0 + 60000);
    ck_assert_ptr_null(tp_holds_due(holds, T0 + 59999));
    ck_assert_ptr_eq(tp_holds_due(holds, T0 + 60000), h);
    ck_assert_ptr_eq(tp_holds_oldest(holds), h);
    tp_holds_remove(holds, h);
    ck_assert_uint_eq(tp_holds_count(holds), 0);
    ck_assert_ptr_null(tp_holds_due(holds, T0 + 60000));
    ck_assert_ptr_null(tp_holds_oldest(holds));
    tp_holds_free(holds);
}
END_TEST

/* A long delay that came first is the oldest; a short one that came
 * later is due first. */
START_TEST(test_two_orders)
{
    TP_HOLDS *holds = tp_holds_create();
    TP_HOLD *a, *b, *c;

    a = tp_holds_add(holds, 3, msg("192.0.2.1", 60000, "550 a"), T0);
    b = tp_holds_add(holds, 4, msg("192.0.2.2", 5000, "550 b"), T0 + 10);
    c = tp_holds_add(holds, 5, msg("192.0.2.3", 5000, "550 c"), T0 + 20);
    ck_assert_ptr_eq(tp_holds_oldest(holds), a);
    ck_assert_ptr_eq(tp_holds_due(holds, T0 + 100000), b);
    ck_assert_int_eq(tp_holds_next_due(holds), T0 + 5010);
    /* The middle one of arrival goes: the ends stay. */
    tp_holds_remove(holds, b);
    ck_assert_ptr_eq(tp_holds_oldest(holds), a);
    ck_assert_ptr_eq(tp_holds_due(holds, T0 + 100000), c);
    /* The oldest goes (answered early): the next to arrive is oldest. */
    tp_holds_remove(holds, a);
    ck_assert_ptr_eq(tp_holds_oldest(holds), c);
    ck_assert_ptr_eq(tp_holds_due(holds, T0 + 100000), c);
    /* The newest goes, and a new one is both. */
    tp_holds_remove(holds, c);
    ck_assert_ptr_null(tp_holds_oldest(holds));
    a = tp_holds_add(holds, 6, msg("192.0.2.4", 1, "550 d"), T0 + 30);
    ck_assert_ptr_eq(tp_holds_oldest(holds), a);
    ck_assert_ptr_eq(tp_holds_due(holds, T0 + 31), a);
    tp_holds_free(holds);
}
END_TEST

/* 5000 holds, more than a few chunks: records keep their place and
 * content while others come and go; freed slots are taken again; the
 * holds come due in order of due time and leave in order of arrival. */
START_TEST(test_many)
{
    enum { N = 5000 };
    TP_HOLDS *holds = tp_holds_create();
    static TP_HOLD *h[N], *old[N];
    char addr[64];
    long long last_due = -1;
    TP_HOLD *x;
    int i, n;

    for (i = 0; i < N; i++) {
        snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 250, i % 250);
        /* Delays that do not follow arrival. */
        h[i] = tp_holds_add(holds, 100 + i, msg(addr, (i * 7919) % 10000,
                                                "550 5.7.1 Refused"), T0 + i);
    }
    ck_assert_uint_eq(tp_holds_count(holds), N);
    for (i = 0; i < N; i++) {
        snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 250, i % 250);
        ck_assert_int_eq(h[i]->fd, 100 + i);
        ck_assert_str_eq(h[i]->addr, addr);
    }
    /* Every other one goes; as many come back into the same slots. */
    for (i = 0; i < N; i += 2)
        tp_holds_remove(holds, h[i]);
    ck_assert_uint_eq(tp_holds_count(holds), N / 2);
    memcpy(old, h, sizeof(h));
    for (i = 0; i < N; i += 2) {
        h[i] = tp_holds_add(holds, 100 + i, msg("192.0.2.1", 20000,
                                                "550 5.7.1 Refused"), T0 + N);
        ck_assert_ptr_eq(h[i], old[N - 2 - i]); /* last freed, first taken */
    }
    ck_assert_uint_eq(tp_holds_count(holds), N);
    for (i = 1; i < N; i += 2)
        ck_assert_int_eq(h[i]->fd, 100 + i);
    /* Due order. */
    for (n = 0; (x = tp_holds_due(holds, T0 + 100000)) != NULL; n++) {
        ck_assert_int_ge(x->due, last_due);
        last_due = x->due;
        if (n == N / 2)
            break;
        tp_holds_remove(holds, x);
    }
    /* Arrival order for what is left. */
    last_due = -1;
    while ((x = tp_holds_oldest(holds)) != NULL) {
        ck_assert_int_ge(x->since, last_due);
        last_due = x->since;
        tp_holds_remove(holds, x);
    }
    ck_assert_uint_eq(tp_holds_count(holds), 0);
    tp_holds_free(holds);
}
END_TEST

START_TEST(test_slot_reused)
{
    TP_HOLDS *holds = tp_holds_create();
    TP_HOLD *a, *b;

    a = tp_holds_add(holds, 3, msg("192.0.2.1", 10, "550 a"), T0);
    tp_holds_add(holds, 4, msg("192.0.2.2", 10, "550 b"), T0);
    tp_holds_remove(holds, a);
    b = tp_holds_add(holds, 5, msg("192.0.2.3", 10, "550 c"), T0);
    ck_assert_ptr_eq(a, b);
    ck_assert_int_eq(b->fd, 5);
    ck_assert_str_eq(b->reply, "550 c");
    tp_holds_free(holds);
}
END_TEST

START_TEST(test_shared_strings)
{
    TP_HOLDS *holds = tp_holds_create();
    TP_INTERN *in = tp_intern_create();
    TP_HOLD *a, *b;
    const char *x, *y;
    char text[32];

    a = tp_holds_add(holds, 3, msg("192.0.2.1", 10, "550 5.7.1 Refused"), T0);
    b = tp_holds_add(holds, 4, msg("192.0.2.2", 10, "550 5.7.1 Refused"), T0);
    ck_assert_ptr_eq(a->reply, b->reply);
    ck_assert_ptr_eq(a->rule, b->rule);
    tp_holds_free(holds);

    strcpy(text, "550 one");
    x = tp_intern_get(in, text);
    y = tp_intern_get(in, "550 one");
    ck_assert_ptr_eq(x, y);
    ck_assert_ptr_ne(x, text);
    ck_assert_uint_eq(tp_intern_count(in), 1);
    tp_intern_get(in, "550 two");
    ck_assert_uint_eq(tp_intern_count(in), 2);
    tp_intern_put(in, x);
    ck_assert_uint_eq(tp_intern_count(in), 2);  /* y still uses it */
    tp_intern_put(in, y);
    ck_assert_uint_eq(tp_intern_count(in), 1);
    tp_intern_free(in);
}
END_TEST

START_TEST(test_small_record)
{
    /* Memory per held connection is bytes, not pages: the record with
     * the heap's entry and index stays well under the target of a few
     * hundred bytes. */
    ck_assert_uint_le(sizeof(TP_HOLD), 128);
}
END_TEST

START_TEST(test_remove_twice_panics)
{
    TP_HOLDS *holds = tp_holds_create();
    TP_HOLD *a = tp_holds_add(holds, 3, msg("192.0.2.1", 10, "550 a"), T0);

    tp_holds_remove(holds, a);
    tp_holds_remove(holds, a);
}
END_TEST

START_TEST(test_put_foreign_panics)
{
    TP_INTERN *in = tp_intern_create();
    char copy[8];

    strcpy(copy, "550 x");
    tp_intern_get(in, "550 x");
    tp_intern_put(in, copy);
}
END_TEST

static Suite *
tp_hold_suite(void)
{
    Suite *s = suite_create("tp_hold");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_add_and_due);
    tcase_add_test(tc, test_two_orders);
    tcase_add_test(tc, test_many);
    tcase_add_test(tc, test_slot_reused);
    tcase_add_test(tc, test_shared_strings);
    tcase_add_test(tc, test_small_record);
    tcase_add_test_raise_signal(tc, test_remove_twice_panics, SIGABRT);
    tcase_add_test_raise_signal(tc, test_put_foreign_panics, SIGABRT);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(tp_hold_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
