/* Unit tests for the Redis backend's gateway id and password file
 * (ratekeeper/rk_redis_conf.c): the id made once and the same afterwards,
 * a bad id file refused, the password's first line, and files that are
 * missing, empty or too long. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fixture.h"
#include "msg.h"
#include "ratekeeper/rk_redis_conf.h"

START_TEST(test_gateway_id)
{
    const char *dir = fixture_dir_create("gw");
    VBUF *id = vbuf_create(64), *again = vbuf_create(64), *why = vbuf_create(64);
    char path[4096];
    struct stat st;

    ck_assert_int_eq(rk_redis_conf_gateway(dir, "mx1.example.com", id, why), 0);
    ck_assert_int_eq(strncmp(vbuf_str(id), "mx1-", 4), 0);
    ck_assert_uint_eq(vbuf_len(id), 4 + 16);
    ck_assert(rk_redis_conf_gateway_ok(vbuf_str(id)));
    snprintf(path, sizeof(path), "%s/%s", dir, RK_REDIS_GATEWAY_FILE);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    /* The same at the next start, whatever the host name says now. */
    ck_assert_int_eq(rk_redis_conf_gateway(dir, "other", again, why), 0);
    ck_assert_str_eq(vbuf_str(again), vbuf_str(id));
    /* A name with odd characters is made safe. */
    fixture_remove(RK_REDIS_GATEWAY_FILE);
    ck_assert_int_eq(rk_redis_conf_gateway(dir, "m x!", id, why), 0);
    ck_assert_int_eq(strncmp(vbuf_str(id), "m_x_-", 5), 0);
    /* A file that holds something else is refused, not replaced. */
    fixture_write_str(RK_REDIS_GATEWAY_FILE, "bad id with spaces\n");
    ck_assert_int_eq(rk_redis_conf_gateway(dir, "mx1", id, why), -1);
    ck_assert_ptr_nonnull(strstr(vbuf_str(why), "not a gateway id"));
    fixture_write_str(RK_REDIS_GATEWAY_FILE, "\n");
    ck_assert_int_eq(rk_redis_conf_gateway(dir, "mx1", id, why), -1);
    fixture_write_str(RK_REDIS_GATEWAY_FILE, "mx9-chosen_by.hand\n");
    ck_assert_int_eq(rk_redis_conf_gateway(dir, "mx1", id, why), 0);
    ck_assert_str_eq(vbuf_str(id), "mx9-chosen_by.hand");
    vbuf_free(id);
    vbuf_free(again);
    vbuf_free(why);
}
END_TEST

START_TEST(test_password)
{
    const char *dir = fixture_dir_create("pw");
    VBUF *pw = vbuf_create(64), *why = vbuf_create(64);
    char path[4096], big[RK_REDIS_PASSWORD_MAX + 10];

    snprintf(path, sizeof(path), "%s/redis.pw", dir);
    fixture_write_str("redis.pw", "S3cret pw\r\nsecond line\n");
    ck_assert_int_eq(rk_redis_conf_password(path, pw, why), 0);
    ck_assert_str_eq(vbuf_str(pw), "S3cret pw");
    fixture_write_str("redis.pw", "no-newline");
    ck_assert_int_eq(rk_redis_conf_password(path, pw, why), 0);
    ck_assert_str_eq(vbuf_str(pw), "no-newline");
    fixture_write_str("redis.pw", "\nlater\n");
    ck_assert_int_eq(rk_redis_conf_password(path, pw, why), -1);
    ck_assert_ptr_nonnull(strstr(vbuf_str(why), "no password on the first line"));
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    fixture_write_str("redis.pw", big);
    ck_assert_int_eq(rk_redis_conf_password(path, pw, why), -1);
    ck_assert_ptr_nonnull(strstr(vbuf_str(why), "password too long"));
    ck_assert_ptr_null(strstr(vbuf_str(why), "xxxx"));
    fixture_remove("redis.pw");
    ck_assert_int_eq(rk_redis_conf_password(path, pw, why), -1);
    ck_assert_ptr_nonnull(strstr(vbuf_str(why), "No such file"));
    vbuf_free(pw);
    vbuf_free(why);
}
END_TEST

static Suite *
rk_redis_conf_suite(void)
{
    Suite *s = suite_create("rk_redis_conf");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, NULL, fixture_dir_remove);
    tcase_add_test(tc, test_gateway_id);
    tcase_add_test(tc, test_password);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(rk_redis_conf_suite());
    int failed;

    msg_open("/dev/null");
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
