/* Unit tests for ratekeeper's Berkeley DB store (ratekeeper/rk_store.c)
 * in a temporary directory: counts survive close and reopen, and a
 * process killed without closing; expired and malformed records are
 * dropped at load; log files go away after checkpoints. */
#include <check.h>
#include <db.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "ratekeeper/rk_store.h"
#include "vbuf.h"

#define T0      1700000000000LL
#define MINUTE  60000LL

static const char *dir;
static VBUF *why;

static void
setup(void)
{
    dir = fixture_dir_create("check_rk_store");
    why = vbuf_create(64);
}

static void
teardown(void)
{
    fixture_dir_remove();
    vbuf_free(why);
}

static RK_STORE *
open_store(void)
{
    RK_STORE *store = rk_store_open(dir, why);

    ck_assert_msg(store != NULL, "rk_store_open: %s", vbuf_str(why));
    return store;
}

/* Stores n events at now for key. */
static void
put_events(RK_STORE *store, const char *key, long long now, unsigned n)
{
    RK_WINDOW w;

    rk_window_init(&w);
    rk_window_add(&w, now, MINUTE, n);
    ck_assert_msg(rk_store_put(store, key, &w, why) == 0, "put: %s",
                  vbuf_str(why));
    rk_window_clear(&w);
}

static unsigned long
count_of(RK_WINDOW_TABLE *table, const char *key, long long now)
{
    RK_WINDOW *w = rk_window_table_find(table, key);

    return w ? rk_window_count(w, now) : 0;
}

static long
load(RK_WINDOW_TABLE *table, long long now, long *dropped)
{
    RK_STORE *store = open_store();
    long n = rk_store_load(store, table, now, dropped, why);

    ck_assert_msg(n >= 0, "load: %s", vbuf_str(why));
    ck_assert_int_eq(rk_store_close(store, why), 0);
    return n;
}

START_TEST(test_reopen_keeps_counts)
{
    RK_WINDOW_TABLE *table = rk_window_table_create();
    RK_STORE *store = open_store();
    RK_WINDOW w;
    long dropped;
    int i;

    put_events(store, "mail addr:192.0.2.1", T0, 3);
    put_events(store, "mail sender:a@b", T0, 1);
    /* The same key again, updated: the last write counts. */
    rk_window_init(&w);
    for (i = 0; i < 7; i++)
        rk_window_add(&w, T0 + i * 1000, MINUTE, 1);
    ck_assert_int_eq(rk_store_put(store, "tarpit_disconnect addr:192.0.2.1",
                                  &w, why), 0);
    rk_window_clear(&w);
    ck_assert_int_eq(rk_store_close(store, why), 0);

    ck_assert_int_eq(load(table, T0 + 10000, &dropped), 3);
    ck_assert_int_eq(dropped, 0);
    ck_assert_uint_eq(count_of(table, "mail addr:192.0.2.1", T0 + 10000), 3);
    ck_assert_uint_eq(count_of(table, "mail sender:a@b", T0 + 10000), 1);
    ck_assert_uint_eq(count_of(table, "tarpit_disconnect addr:192.0.2.1",
                               T0 + 10000), 7);
    rk_window_table_free(table);

    /* Again: a second recovery of the same environment is harmless. */
    table = rk_window_table_create();
    ck_assert_int_eq(load(table, T0 + 10000, &dropped), 3);
    rk_window_table_free(table);
}
END_TEST

START_TEST(test_delete_and_batch)
{
    RK_WINDOW_TABLE *table = rk_window_table_create();
    RK_STORE *store = open_store();
    RK_WINDOW empty;
    char key[32];
    long dropped;
    int i;

    ck_assert_int_eq(rk_store_batch_begin(store, why), 0);
    for (i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "mail user:u%d", i);
        put_events(store, key, T0, 1);
    }
    ck_assert_int_eq(rk_store_batch_end(store, why), 0);
    ck_assert_int_eq(rk_store_delete(store, "mail user:u1", why), 0);
    ck_assert_int_eq(rk_store_delete(store, "mail user:absent", why), 0);
    rk_window_init(&empty);
    ck_assert_int_eq(rk_store_put(store, "mail user:u2", &empty, why), 0);
    ck_assert_int_eq(rk_store_close(store, why), 0);

    ck_assert_int_eq(load(table, T0, &dropped), 998);
    ck_assert_ptr_null(rk_window_table_find(table, "mail user:u1"));
    ck_assert_ptr_null(rk_window_table_find(table, "mail user:u2"));
    ck_assert_uint_eq(count_of(table, "mail user:u999", T0), 1);
    rk_window_table_free(table);
}
END_TEST

/* Puts a record as another program (or a bug) might have left it. */
static void
put_raw(const char *key, const void *value, size_t len)
{
    DB_ENV *env;
    DB *db;
    DBT k, v;

    ck_assert_int_eq(db_env_create(&env, 0), 0);
    ck_assert_int_eq(env->open(env, dir, DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK
                               | DB_INIT_LOG | DB_INIT_MPOOL | DB_RECOVER
                               | DB_PRIVATE, 0600), 0);
    ck_assert_int_eq(db_create(&db, env, 0), 0);
    ck_assert_int_eq(db->open(db, NULL, RK_STORE_DB_NAME, NULL, DB_BTREE,
                              DB_CREATE | DB_AUTO_COMMIT, 0600), 0);
    memset(&k, 0, sizeof(k));
    memset(&v, 0, sizeof(v));
    k.data = (void *) key;
    k.size = (u_int32_t) strlen(key);
    v.data = (void *) value;
    v.size = (u_int32_t) len;
    ck_assert_int_eq(db->put(db, NULL, &k, &v, DB_AUTO_COMMIT), 0);
    db->close(db, 0);
    env->txn_checkpoint(env, 0, 0, 0);
    env->close(env, 0);
}

START_TEST(test_load_drops_expired_and_malformed)
{
    RK_WINDOW_TABLE *table = rk_window_table_create();
    RK_STORE *store = open_store();
    long dropped;

    put_events(store, "mail addr:192.0.2.1", T0, 2);
    put_events(store, "mail addr:192.0.2.2", T0 - 10 * MINUTE, 5);
    ck_assert_int_eq(rk_store_close(store, why), 0);
    put_raw("mail addr:192.0.2.3", "garbage", 7);

    ck_assert_int_eq(load(table, T0 + 1000, &dropped), 1);
    ck_assert_int_eq(dropped, 2);
    ck_assert_uint_eq(count_of(table, "mail addr:192.0.2.1", T0 + 1000), 2);
    rk_window_table_free(table);

    /* They were deleted, not just skipped. */
    table = rk_window_table_create();
    ck_assert_int_eq(load(table, T0 + 1000, &dropped), 1);
    ck_assert_int_eq(dropped, 0);
    rk_window_table_free(table);
}
END_TEST

/* A process killed without closing anything: recovery at the next open
 * finds every committed update. */
START_TEST(test_survives_kill)
{
    RK_WINDOW_TABLE *table = rk_window_table_create();
    int status, i;
    long dropped;
    pid_t pid;

    if ((pid = fork()) == 0) {
        RK_STORE *store = rk_store_open(dir, why);
        char key[32];

        if (store == NULL)
            _exit(1);
        for (i = 0; i < 500; i++) {
            snprintf(key, sizeof(key), "mail user:u%d", i);
            put_events(store, key, T0, (unsigned) i + 1);
        }
        kill(getpid(), SIGKILL);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    ck_assert_int_eq(load(table, T0, &dropped), 500);
    ck_assert_uint_eq(count_of(table, "mail user:u0", T0), 1);
    ck_assert_uint_eq(count_of(table, "mail user:u499", T0), 500);
    rk_window_table_free(table);
}
END_TEST

/* With the writer thread: puts return at once, a flush waits for them,
 * close commits what is left, and the same key put many times is
 * written with its last state. */
START_TEST(test_writer)
{
    RK_WINDOW_TABLE *table = rk_window_table_create();
    RK_STORE *store = open_store();
    RK_WINDOW w;
    char key[32];
    long dropped;
    int i;

    ck_assert_int_eq(rk_store_start_writer(store, why), 0);
    rk_window_init(&w);
    for (i = 0; i < 3000; i++) {
        snprintf(key, sizeof(key), "mail user:u%d", i % 1000);
        rk_window_add(&w, T0 + i, MINUTE, 1);
        ck_assert_int_eq(rk_store_put(store, key, &w, why), 0);
    }
    ck_assert_int_eq(rk_store_batch_begin(store, why), 0);
    ck_assert_int_eq(rk_store_delete(store, "mail user:u7", why), 0);
    ck_assert_int_eq(rk_store_batch_end(store, why), 0);
    ck_assert_int_eq(rk_store_flush(store), 0);
    ck_assert_int_eq(rk_store_writer_status(store, why), 0);
    /* More after the flush: close must not lose them. */
    put_events(store, "mail user:late", T0, 4);
    ck_assert_int_eq(rk_store_close(store, why), 0);

    ck_assert_int_eq(load(table, T0 + 3000, &dropped), 1000);
    ck_assert_ptr_null(rk_window_table_find(table, "mail user:u7"));
    /* u999 was last put after all 3000 events. */
    ck_assert_uint_eq(count_of(table, "mail user:u999", T0 + 3000), 3000);
    ck_assert_uint_eq(count_of(table, "mail user:late", T0 + 3000), 4);
    rk_window_clear(&w);
    rk_window_table_free(table);
}
END_TEST

/* A process killed after a flush: what was flushed is there. */
START_TEST(test_writer_survives_kill)
{
    RK_WINDOW_TABLE *table = rk_window_table_create();
    long dropped;
    int status;
    pid_t pid;

    if ((pid = fork()) == 0) {
        RK_STORE *store = rk_store_open(dir, why);

        if (store == NULL || rk_store_start_writer(store, why) < 0)
            _exit(1);
        put_events(store, "mail addr:192.0.2.9", T0, 9);
        rk_store_flush(store);
        kill(getpid(), SIGKILL);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status));
    ck_assert_int_eq(load(table, T0, &dropped), 1);
    ck_assert_uint_eq(count_of(table, "mail addr:192.0.2.9", T0), 9);
    rk_window_table_free(table);
}
END_TEST

static int
log_files(void)
{
    struct dirent *de;
    DIR *d = opendir(dir);
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d)) != NULL)
        n += strncmp(de->d_name, "log.", 4) == 0;
    closedir(d);
    return n;
}

START_TEST(test_logs_removed)
{
    RK_STORE *store = open_store();
    char key[64];
    int i;

    for (i = 0; i < 200000; i++) {
        snprintf(key, sizeof(key), "mail sender:user%d@example.com", i % 5000);
        put_events(store, key, T0 + i, 1);
    }
    ck_assert_int_ge(log_files(), 3);
    ck_assert_int_eq(rk_store_trickle(store, why), 0);
    ck_assert_int_eq(rk_store_checkpoint(store, 0, 0, why), 0);
    /* The first checkpoint makes the old files unnecessary; the next
     * removes them. */
    put_events(store, "mail user:x", T0, 1);
    ck_assert_int_eq(rk_store_checkpoint(store, 0, 0, why), 0);
    ck_assert_int_le(log_files(), 2);
    /* Below the thresholds: nothing happens, and that is no error. */
    ck_assert_int_eq(rk_store_checkpoint(store, 1 << 20, 60, why), 0);
    ck_assert_int_eq(rk_store_close(store, why), 0);
}
END_TEST

START_TEST(test_open_fails)
{
    char path[96];

    snprintf(path, sizeof(path), "%s/file", dir);
    fixture_write(path, "", 0);
    ck_assert_ptr_null(rk_store_open(path, why));
    ck_assert_msg(strstr(vbuf_str(why), path) != NULL, "why: %s",
                  vbuf_str(why));
}
END_TEST

static Suite *
rk_store_suite(void)
{
    Suite *s = suite_create("rk_store");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_reopen_keeps_counts);
    tcase_add_test(tc, test_delete_and_batch);
    tcase_add_test(tc, test_load_drops_expired_and_malformed);
    tcase_add_test(tc, test_survives_kill);
    tcase_add_test(tc, test_logs_removed);
    tcase_add_test(tc, test_writer);
    tcase_add_test(tc, test_writer_survives_kill);
    tcase_add_test(tc, test_open_fails);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(rk_store_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
