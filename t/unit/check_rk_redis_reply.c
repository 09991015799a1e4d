/* Unit tests for ratekeeper's reading of Redis replies
 * (ratekeeper/rk_redis_reply.c): replies written in Redis' protocol,
 * read by hiredis' reader as the connection reads them, then given to
 * each reader; the right shapes, and the wrong ones (types, sizes,
 * negative and huge numbers, NUL bytes, other prefixes, non-canonical
 * keys, arrays larger than believable). */
#include <check.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "ratekeeper/rk_redis_reply.h"
#include "rk_clnt.h"

static redisReply *
parse(const char *resp, size_t len)
{
    redisReader *reader = redisReaderCreate();
    void *reply = NULL;

    rk_redis_reply_limit(reader);
    ck_assert_int_eq(redisReaderFeed(reader, resp, len ? len : strlen(resp)),
                     REDIS_OK);
    if (redisReaderGetReply(reader, &reply) != REDIS_OK)
        reply = NULL;
    redisReaderFree(reader);
    return reply;
}

START_TEST(test_count)
{
    redisReply *r;
    unsigned long c = 99;

    r = parse(":7\r\n", 0);
    ck_assert_int_eq(rk_redis_reply_count(r, &c), 0);
    ck_assert_uint_eq(c, 7);
    freeReplyObject(r);
    r = parse("*3\r\n:3\r\n:600000\r\n:5000\r\n", 0);
    ck_assert_int_eq(rk_redis_reply_count(r, &c), 0);
    ck_assert_uint_eq(c, 3);
    freeReplyObject(r);
    {
        static const char *bad[] = {
            ":-1\r\n", ":4503599627370497\r\n", "+OK\r\n", "$1\r\n5\r\n",
            "*2\r\n:1\r\n:2\r\n", "*3\r\n:1\r\n:2\r\n$1\r\n3\r\n", "$-1\r\n",
            "-ERR no\r\n", "*0\r\n",
        };
        size_t i;

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            r = parse(bad[i], 0);
            ck_assert_msg(rk_redis_reply_count(r, &c) == -1, "%s", bad[i]);
            freeReplyObject(r);
        }
    }
    ck_assert_int_eq(rk_redis_reply_count(NULL, &c), -1);
}
END_TEST

START_TEST(test_show)
{
    RK_STATE_ENTRY e[5];
    redisReply *r;
    int n;

    r = parse("*13\r\n:2\r\n:3\r\n:600000\r\n:609000\r\n:0\r\n:0\r\n:0\r\n"
              ":0\r\n:0\r\n:0\r\n:1\r\n:60000\r\n:1000\r\n", 0);
    n = rk_redis_reply_show(r, "addr:192.0.2.1", e, 5);
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(e[0].counter, RK_COUNTER_CONNECTIONS);
    ck_assert_uint_eq(e[0].count, 2);
    ck_assert_int_eq(e[0].window_ms, 0);
    ck_assert_str_eq(e[1].counter, RK_COUNTER_MAIL);
    ck_assert_int_eq(e[1].window_ms, 600000);
    ck_assert_int_eq(e[1].clear_ms, 609000);
    ck_assert_str_eq(e[2].counter, RK_COUNTER_AUTH);
    ck_assert_str_eq(e[2].key, "addr:192.0.2.1");
    /* Fewer asked: fewer given. */
    ck_assert_int_eq(rk_redis_reply_show(r, "addr:192.0.2.1", e, 1), 1);
    freeReplyObject(r);
    /* A count without a window, a window past the longest, too short. */
    r = parse("*13\r\n:0\r\n:3\r\n:0\r\n:5\r\n:0\r\n:0\r\n:0\r\n"
              ":0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n", 0);
    ck_assert_int_eq(rk_redis_reply_show(r, "k", e, 5), -1);
    freeReplyObject(r);
    r = parse("*13\r\n:0\r\n:3\r\n:34560000001\r\n:5\r\n:0\r\n:0\r\n:0\r\n"
              ":0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n", 0);
    ck_assert_int_eq(rk_redis_reply_show(r, "k", e, 5), -1);
    freeReplyObject(r);
    r = parse("*12\r\n:0\r\n:3\r\n:1\r\n:5\r\n:0\r\n:0\r\n:0\r\n"
              ":0\r\n:0\r\n:0\r\n:0\r\n:0\r\n", 0);
    ck_assert_int_eq(rk_redis_reply_show(r, "k", e, 5), -1);
    freeReplyObject(r);
}
END_TEST

START_TEST(test_sync_role_master_errors)
{
    redisReply *r;
    long keys;
    int other, port;
    char host[64];

    r = parse("*2\r\n:4\r\n:1\r\n", 0);
    ck_assert_int_eq(rk_redis_reply_sync(r, &keys, &other), 0);
    ck_assert_int_eq(keys, 4);
    ck_assert_int_eq(other, 1);
    freeReplyObject(r);
    r = parse("*2\r\n:4\r\n:2\r\n", 0);
    ck_assert_int_eq(rk_redis_reply_sync(r, &keys, &other), -1);
    freeReplyObject(r);

    r = parse("*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n", 0);
    ck_assert_int_eq(rk_redis_reply_role(r), 1);
    freeReplyObject(r);
    r = parse("*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:6379\r\n$9\r\nconnected\r\n:1\r\n", 0);
    ck_assert_int_eq(rk_redis_reply_role(r), 0);
    freeReplyObject(r);
    r = parse("+master\r\n", 0);
    ck_assert_int_eq(rk_redis_reply_role(r), -1);
    freeReplyObject(r);

    r = parse("*2\r\n$9\r\n127.0.0.2\r\n$4\r\n6380\r\n", 0);
    ck_assert_int_eq(rk_redis_reply_master(r, host, sizeof(host), &port), 0);
    ck_assert_str_eq(host, "127.0.0.2");
    ck_assert_int_eq(port, 6380);
    freeReplyObject(r);
    {
        static const char *bad[] = {
            "*-1\r\n", "*2\r\n$9\r\n127.0.0.2\r\n$1\r\n0\r\n",
            "*2\r\n$9\r\n127.0.0.2\r\n$5\r\n65536\r\n",
            "*2\r\n$9\r\n127.0.0.2\r\n$3\r\n6x0\r\n",
            "*2\r\n$0\r\n\r\n$4\r\n6380\r\n",
            "*2\r\n$5\r\na b c\r\n$4\r\n6380\r\n",
            "*2\r\n$9\r\n127.0.0.2\r\n:6380\r\n",
        };
        size_t i;

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            r = parse(bad[i], 0);
            ck_assert_msg(rk_redis_reply_master(r, host, sizeof(host), &port) == -1,
                          "%s", bad[i]);
            freeReplyObject(r);
        }
    }
    /* Found by fuzz_rk_redis_reply: a NUL in the host passed the
     * character check (strchr finds the terminator). */
    r = parse("*2\r\n+\0\0\r\n$4\r\n6380\r\n", 20);
    ck_assert_int_eq(rk_redis_reply_master(r, host, sizeof(host), &port), -1);
    freeReplyObject(r);

    r = parse("-NOSCRIPT No matching script.\r\n", 0);
    ck_assert_int_eq(rk_redis_reply_error(r), RK_REDIS_ERROR_NOSCRIPT);
    freeReplyObject(r);
    r = parse("-READONLY You can't write against a read only replica.\r\n", 0);
    ck_assert_int_eq(rk_redis_reply_error(r), RK_REDIS_ERROR_READONLY);
    freeReplyObject(r);
    r = parse("-NOSCRIPTX\r\n", 0);
    ck_assert_int_eq(rk_redis_reply_error(r), RK_REDIS_ERROR_OTHER);
    freeReplyObject(r);
    r = parse(":1\r\n", 0);
    ck_assert_int_eq(rk_redis_reply_error(r), RK_REDIS_ERROR_NONE);
    freeReplyObject(r);
}
END_TEST

START_TEST(test_scan_and_names)
{
    VBUF *names = vbuf_create(64), *key = vbuf_create(64);
    unsigned long long cursor;
    char counter[32];
    redisReply *r;
    const char *name;
    int n;

    r = parse("*2\r\n$4\r\n1536\r\n*2\r\n$30\r\nalligate:w:mail:addr:192.0.2.1\r\n"
              "$25\r\nalligate:c:addr:192.0.2.1\r\n", 0);
    ck_assert_int_eq(rk_redis_reply_scan(r, &cursor, names, &n), 0);
    ck_assert_uint_eq(cursor, 1536);
    ck_assert_int_eq(n, 2);
    name = vbuf_str(names);
    ck_assert_str_eq(name, "alligate:w:mail:addr:192.0.2.1");
    ck_assert_int_eq(rk_redis_key_parse("alligate:", name, strlen(name),
                                        counter, sizeof(counter), key), 0);
    ck_assert_str_eq(counter, RK_COUNTER_MAIL);
    ck_assert_str_eq(vbuf_str(key), "addr:192.0.2.1");
    name += strlen(name) + 1;
    ck_assert_int_eq(rk_redis_key_parse("alligate:", name, strlen(name),
                                        counter, sizeof(counter), key), 0);
    ck_assert_str_eq(counter, RK_COUNTER_CONNECTIONS);
    freeReplyObject(r);
    {
        static const char *bad_scan[] = {
            "*2\r\n$1\r\nx\r\n*0\r\n", "*2\r\n$0\r\n\r\n*0\r\n",
            "*2\r\n$21\r\n999999999999999999999\r\n*0\r\n",
            "*2\r\n$1\r\n0\r\n:1\r\n", "*2\r\n$1\r\n0\r\n*1\r\n:1\r\n",
            "*1\r\n$1\r\n0\r\n",
        };
        static const char *bad_names[] = {
            "other:w:mail:addr:192.0.2.1", "alligate:g:mx-1",
            "alligate:w:nosuch:addr:192.0.2.1", "alligate:w:mail",
            "alligate:w::addr:192.0.2.1", "alligate:c:",
            "alligate:w:mail:addr:192.0.2.01", "alligate:w:mail:Sender:X@Y",
            "alligate:gk:mx-1",
        };
        size_t i;

        for (i = 0; i < sizeof(bad_scan) / sizeof(bad_scan[0]); i++) {
            r = parse(bad_scan[i], 0);
            ck_assert_msg(rk_redis_reply_scan(r, &cursor, names, &n) == -1,
                          "%s", bad_scan[i]);
            freeReplyObject(r);
        }
        for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
            ck_assert_msg(rk_redis_key_parse("alligate:", bad_names[i],
                                             strlen(bad_names[i]), counter,
                                             sizeof(counter), key) == -1,
                          "%s", bad_names[i]);
        ck_assert_int_eq(rk_redis_key_parse("alligate:", "alligate:c:a\0b", 14,
                                            counter, sizeof(counter), key), -1);
    }
    /* A NUL inside a name is refused. */
    r = parse("*2\r\n$1\r\n0\r\n*1\r\n$3\r\na\0b\r\n", 20);
    ck_assert_int_eq(rk_redis_reply_scan(r, &cursor, names, &n), -1);
    freeReplyObject(r);
    vbuf_free(names);
    vbuf_free(key);
}
END_TEST

START_TEST(test_counts_entry)
{
    RK_STATE_ENTRY e;
    redisReply *r = parse("*6\r\n:3\r\n:600000\r\n:5000\r\n:2\r\n:0\r\n:0\r\n", 0);

    memset(&e, 0, sizeof(e));
    strcpy(e.counter, RK_COUNTER_MAIL);
    ck_assert_int_eq(rk_redis_reply_counts_entry(r, 0, 2, &e), 0);
    ck_assert_uint_eq(e.count, 3);
    ck_assert_int_eq(e.clear_ms, 5000);
    strcpy(e.counter, RK_COUNTER_CONNECTIONS);
    ck_assert_int_eq(rk_redis_reply_counts_entry(r, 1, 2, &e), 0);
    ck_assert_uint_eq(e.count, 2);
    /* Connections with a window, a window without: refused. */
    strcpy(e.counter, RK_COUNTER_MAIL);
    ck_assert_int_eq(rk_redis_reply_counts_entry(r, 1, 2, &e), -1);
    strcpy(e.counter, RK_COUNTER_CONNECTIONS);
    ck_assert_int_eq(rk_redis_reply_counts_entry(r, 0, 2, &e), -1);
    ck_assert_int_eq(rk_redis_reply_counts_entry(r, 2, 2, &e), -1);
    ck_assert_int_eq(rk_redis_reply_counts_entry(r, 0, 3, &e), -1);
    freeReplyObject(r);
}
END_TEST

START_TEST(test_huge_array_refused)
{
    redisReader *reader = redisReaderCreate();
    void *reply = NULL;

    rk_redis_reply_limit(reader);
    ck_assert_int_eq(redisReaderFeed(reader, "*100001\r\n", 9), REDIS_OK);
    ck_assert_int_eq(redisReaderGetReply(reader, &reply), REDIS_ERR);
    ck_assert_ptr_null(reply);
    redisReaderFree(reader);
    reader = redisReaderCreate();
    rk_redis_reply_limit(reader);
    ck_assert_int_eq(redisReaderFeed(reader, "*1\r\n:1\r\n", 8), REDIS_OK);
    ck_assert_int_eq(redisReaderGetReply(reader, &reply), REDIS_OK);
    ck_assert_ptr_nonnull(reply);
    freeReplyObject(reply);
    redisReaderFree(reader);
}
END_TEST

static Suite *
rk_redis_reply_suite(void)
{
    Suite *s = suite_create("rk_redis_reply");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_count);
    tcase_add_test(tc, test_show);
    tcase_add_test(tc, test_sync_role_master_errors);
    tcase_add_test(tc, test_scan_and_names);
    tcase_add_test(tc, test_counts_entry);
    tcase_add_test(tc, test_huge_array_refused);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(rk_redis_reply_suite());
    int failed;

    msg_open("/dev/null");
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
