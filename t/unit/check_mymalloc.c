/* Unit tests for the allocation wrappers (lib/mymalloc.c). */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "msg.h"
#include "mymalloc.h"

/* Under AddressSanitizer (make check-asan) a huge request must fail the
 * way it does in production, with NULL, not with ASan's own report. */
const char *__asan_default_options(void);

const char *
__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

/* Too large for any allocator, and unknown to the compiler. */
static volatile size_t huge = SIZE_MAX - 4096;

START_TEST(test_zero_sizes)
{
    void *p = mymalloc(0);
    void *q = mycalloc(0, 0);

    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(q);
    p = myrealloc(p, 0);
    ck_assert_ptr_nonnull(p);
    myfree(p);
    myfree(q);
}
END_TEST

START_TEST(test_calloc_zeroes)
{
    unsigned char *p = mycalloc(100, 7);
    int i;

    for (i = 0; i < 700; i++)
        ck_assert_int_eq(p[i], 0);
    myfree(p);
}
END_TEST

START_TEST(test_realloc_keeps)
{
    char *p = mymalloc(4);

    memcpy(p, "abc", 4);
    p = myrealloc(p, 100000);
    ck_assert_str_eq(p, "abc");
    p = myrealloc(p, 2);
    ck_assert_int_eq(p[0], 'a');
    ck_assert_int_eq(p[1], 'b');
    myfree(p);
    /* NULL grows like malloc. */
    p = myrealloc(NULL, 10);
    ck_assert_ptr_nonnull(p);
    myfree(p);
}
END_TEST

START_TEST(test_strdup)
{
    const char *orig = "hello";
    char *s = mystrdup(orig);

    ck_assert_str_eq(s, "hello");
    ck_assert_ptr_ne(s, orig);
    myfree(s);
    s = mystrdup("");
    ck_assert_str_eq(s, "");
    myfree(s);
}
END_TEST

START_TEST(test_strndup)
{
    char *s = mystrndup("abcdef", 3);

    ck_assert_str_eq(s, "abc");
    myfree(s);
    /* A shorter string ends the copy; no read past its NUL. */
    s = mystrndup("ab", 100);
    ck_assert_str_eq(s, "ab");
    myfree(s);
    s = mystrndup("abc", 0);
    ck_assert_str_eq(s, "");
    myfree(s);
}
END_TEST

START_TEST(test_memdup)
{
    char *p = mymemdup("a\0b\0", 4);

    ck_assert_int_eq(memcmp(p, "a\0b\0", 4), 0);
    myfree(p);
}
END_TEST

START_TEST(test_free_returns_null)
{
    char *s = mystrdup("x");

    s = myfree(s);
    ck_assert_ptr_null(s);
    ck_assert_ptr_null(myfree(NULL));
}
END_TEST

/* Out of memory is fatal: exit status 1, never a NULL to the caller. */
START_TEST(test_malloc_fails)
{
    msg_open("/dev/null");
    mymalloc(huge);
}
END_TEST

START_TEST(test_calloc_fails)
{
    msg_open("/dev/null");
    mycalloc(huge / 2, 4);
}
END_TEST

START_TEST(test_realloc_fails)
{
    char *p = mymalloc(10);

    msg_open("/dev/null");
    p = myrealloc(p, huge);
    myfree(p);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("mymalloc");
    TCase *tc = tcase_create("mymalloc");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_zero_sizes);
    tcase_add_test(tc, test_calloc_zeroes);
    tcase_add_test(tc, test_realloc_keeps);
    tcase_add_test(tc, test_strdup);
    tcase_add_test(tc, test_strndup);
    tcase_add_test(tc, test_memdup);
    tcase_add_test(tc, test_free_returns_null);
    tcase_add_exit_test(tc, test_malloc_fails, 1);
    tcase_add_exit_test(tc, test_calloc_fails, 1);
    tcase_add_exit_test(tc, test_realloc_fails, 1);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
