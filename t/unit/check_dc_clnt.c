/* Unit tests for dnscache's typed client (lib/dc_clnt.c) against a
 * server child on attr_serv that answers as dnscache does: the request
 * it sends, the verified name only when verified=1, the collect
 * deadline kept when the answer does not come, fail-open when dnscache
 * is down, and the requests of alligatectl. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "attr_serv.h"
#include "dc_clnt.h"
#include "fixture.h"
#include "fixture_serv.h"
#include "monotime.h"

static char path[256];
static ATTR_SERV *serv;

static void
handle(const ATTR *request, ATTR *reply, void *context)
{
    const char *verb = attr_get(request, "request");
    const char *addr = attr_get(request, "addr");
    const char *ptr = attr_get(request, "ptr");
    const char *bl = attr_get(request, "dnsbl");

    (void) context;
    if (strcmp(verb, "client") == 0 || strcmp(verb, "lookup") == 0) {
        if (strcmp(addr, "192.0.2.3") == 0) {
            (void) attr_serv_defer(serv);       /* never answered */
            return;
        }
        attr_set(reply, "status", "0");
        /* echo what was asked, in the names of the reply */
        attr_setf(reply, "sites", "ptr=%s,dnsbl=%s", ptr ? ptr : "-",
                  bl ? bl : "-");
        attr_set(reply, "score", "7");
        /* how long the client said it waits */
        attr_set(reply, "late", attr_get(request, "wait")
                 ? attr_get(request, "wait") : "-");
        if (ptr && strcmp(ptr, "start") == 0)
            attr_set(reply, "pending", "1");
        if (strcmp(addr, "192.0.2.1") == 0) {
            attr_set(reply, "name", "mx.example.com");
            attr_set(reply, "verified", "1");
        } else {
            attr_set(reply, "name", "liar.example.com");
            attr_set(reply, "verified", "0");
            attr_set(reply, "temp", "1");
        }
        if (strcmp(verb, "lookup") == 0) {
            attr_set(reply, "ptr", "mx.example.com");
            attr_set(reply, "result", attr_get(request, "fresh") ? "fresh" : "ok");
            attr_set(reply, "ttl", "60");
            attr_set(reply, "cached", "1");
        }
    } else if (strcmp(verb, "flush") == 0) {
        attr_set(reply, "status", "0");
        attr_set(reply, "removed", addr ? "1" : "42");
    } else if (strcmp(verb, "stats") == 0) {
        attr_set(reply, "status", "0");
        attr_set(reply, "entries", "5");
        attr_set(reply, "hits", "3");
        attr_set(reply, "misses", "2");
        attr_set(reply, "inflight", "1");
        attr_set(reply, "refreshes", "3");
    } else {
        attr_set(reply, "status", "-1");
        attr_set(reply, "reason", "unknown request");
    }
}

static void
serve(int listen_fd, void *context)
{
    serv = attr_serv_create(listen_fd, DC_PROTO, DC_VERSION, handle, context);
    fixture_serv_loop();
}

static void
setup(void)
{
    snprintf(path, sizeof(path), "%s/" DC_SOCKET_NAME,
             fixture_dir_create("check_dc_clnt"));
}

static void
teardown(void)
{
    fixture_serv_stop();
    fixture_dir_remove();
}

START_TEST(test_client_send_collect)
{
    DC_CLNT *clnt;
    DC_CLIENT_INFO info;

    long    wait;

    fixture_serv_start(path, serve, NULL);
    clnt = dc_clnt_create(path, DC_CLNT_FLAG_NONE);
    ck_assert_int_eq(dc_clnt_client_send(clnt, "192.0.2.1", DC_CLNT_ASK_NAME
                                         | DC_CLNT_ASK_SCORE,
                                         monotime_ms() + 2000), DC_CLNT_OK);
    ck_assert_int_eq(dc_clnt_client_collect(clnt, monotime_ms() + 2000, &info),
                     DC_CLNT_OK);
    ck_assert_str_eq(info.name, "mx.example.com");
    ck_assert_int_eq(info.temp, 0);
    ck_assert_int_eq(info.pending, 0);
    ck_assert_int_eq(info.score, 7);
    ck_assert_str_eq(info.sites, "ptr=1,dnsbl=1");
    /* the time left to the deadline went as wait= */
    wait = atol(info.late);
    ck_assert_msg(wait > 1500 && wait <= 2000, "wait=%s", info.late);
    /* an unverified name is never the client's name */
    ck_assert_int_eq(dc_clnt_client_send(clnt, "192.0.2.2", 0,
                                         monotime_ms() - 10), DC_CLNT_OK);
    ck_assert_int_eq(dc_clnt_client_collect(clnt, monotime_ms() + 2000, &info),
                     DC_CLNT_OK);
    ck_assert_str_eq(info.name, "");
    ck_assert_int_eq(info.temp, 1);
    ck_assert_str_eq(info.sites, "ptr=-,dnsbl=-");
    /* a deadline past still sends a wait dnscache accepts */
    ck_assert_str_eq(info.late, "1");
    /* the name later: ptr=start, and the reply says it is to come */
    ck_assert_int_eq(dc_clnt_client_send(clnt, "192.0.2.1", DC_CLNT_ASK_NAME
                                         | DC_CLNT_ASK_SCORE
                                         | DC_CLNT_NAME_LATER,
                                         monotime_ms() + 2000), DC_CLNT_OK);
    ck_assert_int_eq(dc_clnt_client_collect(clnt, monotime_ms() + 2000, &info),
                     DC_CLNT_OK);
    ck_assert_str_eq(info.sites, "ptr=start,dnsbl=1");
    ck_assert_int_eq(info.pending, 1);
    /* NAME_LATER without the score: the name is waited for */
    ck_assert_int_eq(dc_clnt_client_send(clnt, "192.0.2.1", DC_CLNT_ASK_NAME
                                         | DC_CLNT_NAME_LATER,
                                         monotime_ms() + 2000), DC_CLNT_OK);
    ck_assert_int_eq(dc_clnt_client_collect(clnt, monotime_ms() + 2000, &info),
                     DC_CLNT_OK);
    ck_assert_str_eq(info.sites, "ptr=1,dnsbl=-");
    ck_assert_int_eq(info.pending, 0);
    dc_clnt_free(clnt);
}
END_TEST

START_TEST(test_collect_deadline)
{
    DC_CLNT *clnt;
    DC_CLIENT_INFO info;
    long long t0;

    fixture_serv_start(path, serve, NULL);
    clnt = dc_clnt_create(path, DC_CLNT_FLAG_NONE);
    ck_assert_int_eq(dc_clnt_client_send(clnt, "192.0.2.3", DC_CLNT_ASK_NAME,
                                         monotime_ms() + 300), DC_CLNT_OK);
    /* not there, and ready does not wait for it */
    t0 = monotime_ms();
    ck_assert_int_ge(dc_clnt_client_fd(clnt), 0);
    ck_assert_int_eq(dc_clnt_client_ready(clnt), 0);
    ck_assert_int_lt(monotime_ms() - t0, 100);
    t0 = monotime_ms();
    ck_assert_int_eq(dc_clnt_client_collect(clnt, t0 + 300, &info),
                     DC_CLNT_NOANSWER);
    ck_assert_int_ge(monotime_ms() - t0, 250);
    ck_assert_int_lt(monotime_ms() - t0, 1000);
    ck_assert_str_eq(info.name, "");
    /* a deadline already past costs nothing */
    t0 = monotime_ms();
    ck_assert_int_eq(dc_clnt_client_collect(clnt, t0 - 5, &info),
                     DC_CLNT_NOANSWER);
    ck_assert_int_lt(monotime_ms() - t0, 200);
    dc_clnt_free(clnt);
}
END_TEST

START_TEST(test_down_fails_open)
{
    DC_CLNT *clnt = dc_clnt_create(path, DC_CLNT_FLAG_NONE);
    DC_CLIENT_INFO info;

    ck_assert_int_eq(dc_clnt_client_send(clnt, "192.0.2.1", DC_CLNT_ASK_NAME,
                                         monotime_ms() + 100),
                     DC_CLNT_NOANSWER);
    ck_assert_int_eq(dc_clnt_client_fd(clnt), -1);
    ck_assert_int_eq(dc_clnt_client_ready(clnt), 0);
    ck_assert_int_eq(dc_clnt_client_collect(clnt, monotime_ms() + 100, &info),
                     DC_CLNT_NOANSWER);
    ck_assert_str_eq(info.name, "");
    ck_assert(*dc_clnt_error(clnt) != 0);
    dc_clnt_free(clnt);
}
END_TEST

START_TEST(test_admin_requests)
{
    DC_CLNT *clnt;
    DC_CLNT_LOOKUP out;
    DC_CLNT_STATS st;
    long removed;

    fixture_serv_start(path, serve, NULL);
    clnt = dc_clnt_create(path, DC_CLNT_FLAG_NONE);
    ck_assert_int_eq(dc_clnt_lookup(clnt, "192.0.2.1", 1, &out), DC_CLNT_OK);
    ck_assert_str_eq(out.info.name, "mx.example.com");
    ck_assert_str_eq(out.result, "fresh");
    ck_assert_str_eq(out.ptr, "mx.example.com");
    ck_assert_int_eq(out.ttl, 60);
    ck_assert_int_eq(out.cached, 1);
    ck_assert_int_eq(dc_clnt_lookup(clnt, "192.0.2.2", 0, &out), DC_CLNT_OK);
    ck_assert_str_eq(out.result, "ok");
    ck_assert_str_eq(out.info.name, "");
    ck_assert_int_eq(dc_clnt_flush(clnt, "192.0.2.1", &removed), DC_CLNT_OK);
    ck_assert_int_eq(removed, 1);
    ck_assert_int_eq(dc_clnt_flush(clnt, NULL, &removed), DC_CLNT_OK);
    ck_assert_int_eq(removed, 42);
    ck_assert_int_eq(dc_clnt_stats(clnt, &st), DC_CLNT_OK);
    ck_assert_int_eq(st.entries, 5);
    ck_assert_int_eq(st.hits, 3);
    ck_assert_int_eq(st.misses, 2);
    ck_assert_int_eq(st.inflight, 1);
    ck_assert_int_eq(st.refreshes, 3);
    /* an address that cannot be sent */
    ck_assert_int_eq(dc_clnt_lookup(clnt, "a\nb", 0, &out), DC_CLNT_NOANSWER);
    dc_clnt_free(clnt);
}
END_TEST

static Suite *
dc_clnt_suite(void)
{
    Suite *s = suite_create("dc_clnt");
    TCase *tc = tcase_create("dc_clnt");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_client_send_collect);
    tcase_add_test(tc, test_collect_deadline);
    tcase_add_test(tc, test_down_fails_open);
    tcase_add_test(tc, test_admin_requests);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(dc_clnt_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
