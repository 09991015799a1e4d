/* Unit tests for building file names (lib/path.c). */
#include <check.h>

#include "mymalloc.h"
#include "path.h"

START_TEST(test_join)
{
    char *p = path_join("/run/alligate", "master.pid");

    ck_assert_str_eq(p, "/run/alligate/master.pid");
    myfree(p);
    p = path_join("", "main.cf");
    ck_assert_str_eq(p, "/main.cf");
    myfree(p);
    p = path_join("etc", "");
    ck_assert_str_eq(p, "etc/");
    myfree(p);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("path");
    TCase *tc = tcase_create("path");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_join);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
