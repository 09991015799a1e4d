/* Unit tests for building file names (lib/path.c). */
#include <check.h>

#include "conf.h"
#include "fixture.h"
#include "mymalloc.h"
#include "path.h"

static void
setup(void)
{
    fixture_dir_create("check_path");
}

static void
teardown(void)
{
    fixture_dir_remove();
}

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

/* run_directory of the active configuration; the last result is
 * replaced by the next. */
START_TEST(test_run)
{
    conf_free(conf_activate(fixture_conf_load("run_directory = /var/run/x\n")));
    ck_assert_str_eq(path_run("master.sock"), "/var/run/x/master.sock");
    ck_assert_str_eq(path_run("relay.sock"), "/var/run/x/relay.sock");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("path");
    TCase *tc = tcase_create("path");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_join);
    tcase_add_test(tc, test_run);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
