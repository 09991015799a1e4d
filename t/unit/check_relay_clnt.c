/* Unit tests for relay's typed client (lib/relay_clnt.c) against a small
 * control server in a child process (attr_serv with canned replies in
 * relay's words): flush accepted, refused, and answered without a
 * status (no answer: relay is confused), the status counts, a confused
 * status reply; then a server that is not there and one that
 * never answers. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attr_serv.h"
#include "conf.h"
#include "fixture.h"
#include "fixture_serv.h"
#include "monotime.h"
#include "relay_clnt.h"
#include "relay_proto.h"

static const char *dir;
static char path[128];

/* The server child ---------------------------------------------------- */

static int flushes, statuses;

static void
serve(const ATTR *request, ATTR *reply, void *context)
{
    const char *verb = attr_get(request, "request");

    (void) context;
    if (verb != NULL && strcmp(verb, "flush") == 0) {
        /* Accepted, then refused with a reason, then without a status. */
        if (++flushes == 1) {
            attr_set(reply, "status", "0");
        } else if (flushes == 2) {
            attr_set(reply, "status", "-1");
            attr_set(reply, "reason", "queue is being reloaded");
        }
    } else if (verb != NULL && strcmp(verb, "status") == 0) {
        attr_set(reply, "status", "0");
        attr_set_long(reply, "ready", 5);
        attr_set_long(reply, "active", 2);
        attr_set_long(reply, "agents", 4);
        /* The second time, busy is missing: a confused relay. */
        if (++statuses == 1)
            attr_set_long(reply, "busy", 2);
    } else {
        attr_set(reply, "status", "-1");
        attr_set(reply, "reason", verb ? "unknown request" : "no request");
    }
}

/* The child: attr_serv with the canned replies. */
static void
serve_requests(int listen_fd, void *context)
{
    (void) context;
    attr_serv_create(listen_fd, RELAY_CTL_PROTO, RELAY_CTL_VERSION, serve,
                     NULL);
    fixture_serv_loop();
}

/* silent: accepts and greets, and never answers. */
static void
start_server(int silent)
{
    if (silent)
        fixture_serv_start(path, fixture_serv_silent,
                           (void *) "proto=relay\nversion=1\n\n");
    else
        fixture_serv_start(path, serve_requests, NULL);
}

static void
setup(void)
{
    dir = fixture_dir_create("check_relay_clnt");
    snprintf(path, sizeof(path), "%s/" RELAY_CTL_SOCKET, dir);
}

static void
teardown(void)
{
    fixture_serv_stop();
    fixture_dir_remove();
}

/* The tests ------------------------------------------------------------- */

START_TEST(test_flush)
{
    RELAY_CLNT *c;

    start_server(0);
    c = relay_clnt_create(path, 2000);
    ck_assert_int_eq(relay_clnt_flush(c), RELAY_CLNT_OK);
    ck_assert_int_eq(relay_clnt_flush(c), RELAY_CLNT_REFUSED);
    ck_assert_str_eq(relay_clnt_error(c), "queue is being reloaded");
    ck_assert_int_eq(relay_clnt_flush(c), RELAY_CLNT_NOANSWER);
    ck_assert_str_eq(relay_clnt_error(c), "reply without a valid status");
    ck_assert_ptr_null(relay_clnt_free(c));
}
END_TEST

START_TEST(test_status)
{
    RELAY_CLNT_COUNTS counts;
    RELAY_CLNT *c;

    start_server(0);
    c = relay_clnt_create(path, 2000);
    ck_assert_int_eq(relay_clnt_status(c, &counts), RELAY_CLNT_OK);
    ck_assert_int_eq(counts.ready, 5);
    ck_assert_int_eq(counts.active, 2);
    ck_assert_int_eq(counts.agents, 4);
    ck_assert_int_eq(counts.busy, 2);
    ck_assert_int_eq(relay_clnt_status(c, &counts), RELAY_CLNT_NOANSWER);
    ck_assert_str_eq(relay_clnt_error(c), "reply without a valid busy");
    relay_clnt_free(c);
}
END_TEST

START_TEST(test_not_running)
{
    RELAY_CLNT *c = relay_clnt_create(path, 500);

    ck_assert_int_eq(relay_clnt_flush(c), RELAY_CLNT_NOANSWER);
    ck_assert_ptr_nonnull(strstr(relay_clnt_error(c), path));
    relay_clnt_free(c);
}
END_TEST

/* The timeout is the client's: a relay that never answers costs it. */
START_TEST(test_silent)
{
    long long start;
    RELAY_CLNT *c;

    start_server(1);
    c = relay_clnt_create(path, 200);
    start = monotime_ms();
    ck_assert_int_eq(relay_clnt_flush(c), RELAY_CLNT_NOANSWER);
    ck_assert_int_ge(monotime_ms() - start, 190);
    ck_assert_ptr_nonnull(strstr(relay_clnt_error(c), "timeout"));
    relay_clnt_free(c);
}
END_TEST

START_TEST(test_default_path)
{
    const char *p;

    conf_activate(conf_defaults());
    p = relay_clnt_default_path();
    ck_assert_int_eq(strncmp(p, conf_str(P_run_directory), strlen(conf_str(P_run_directory))), 0);
    ck_assert_str_eq(p + strlen(conf_str(P_run_directory)), "/" RELAY_CTL_SOCKET);
}
END_TEST

static Suite *
relay_clnt_suite(void)
{
    Suite *s = suite_create("relay_clnt");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_flush);
    tcase_add_test(tc, test_status);
    tcase_add_test(tc, test_not_running);
    tcase_add_test(tc, test_silent);
    tcase_add_test(tc, test_default_path);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(relay_clnt_suite());
    int failed;

    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
