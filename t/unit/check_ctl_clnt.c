/* Unit tests for the control client under the typed ones (lib/ctl_clnt.c)
 * against a small server in a child process (attr_serv) that answers what
 * the request asks for: a request with attributes of its own and a verb
 * alone, which starts afresh; refusals with their status and reason;
 * replies with no status or a malformed one, which are no answer; the
 * counts of a reply; attributes the framing cannot carry; and a server
 * that is not there. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attr_serv.h"
#include "ctl_clnt.h"
#include "fixture.h"
#include "fixture_serv.h"

#define PROTO   "check"
#define VERSION 1

static const char *dir;
static char path[128];

/* The server child ---------------------------------------------------- */

/* request=echo: status=0 and the request's attributes, under got_NAME.
 * request=give [status=S] [reason=R]: a reply with what it was given,
 * no status when none was.  request=counts: status=0 with good and bad
 * numbers. */
static void
serve(const ATTR *request, ATTR *reply, void *context)
{
    const char *verb = attr_get(request, "request");
    const char *v;
    char name[ATTR_NAME_MAX + 1];
    int i;

    (void) context;
    if (verb != NULL && strcmp(verb, "echo") == 0) {
        attr_set(reply, "status", "0");
        for (i = 0; i < attr_count(request); i++) {
            snprintf(name, sizeof(name), "got_%s", attr_name_at(request, i));
            attr_set(reply, name, attr_value_at(request, i));
        }
    } else if (verb != NULL && strcmp(verb, "give") == 0) {
        if ((v = attr_get(request, "status")) != NULL)
            attr_set(reply, "status", v);
        if ((v = attr_get(request, "reason")) != NULL)
            attr_set(reply, "reason", v);
    } else if (verb != NULL && strcmp(verb, "counts") == 0) {
        attr_set(reply, "status", "0");
        attr_set(reply, "zero", "0");
        attr_set(reply, "five", "5");
        attr_set(reply, "negative", "-3");
        attr_set(reply, "junk", "5x");
    } else {
        attr_set(reply, "status", "-1");
        attr_set(reply, "reason", verb ? "unknown request" : "no request");
    }
}

static void
serve_requests(int listen_fd, void *context)
{
    (void) context;
    attr_serv_create(listen_fd, PROTO, VERSION, serve, NULL);
    fixture_serv_loop();
}

static void
setup(void)
{
    dir = fixture_dir_create("check_ctl_clnt");
    snprintf(path, sizeof(path), "%s/ctl.sock", dir);
}

static void
teardown(void)
{
    fixture_serv_stop();
    fixture_dir_remove();
}

/* request=give with status (NULL: none) and reason (NULL: none). */
static int
give(CTL_CLNT *c, const char *status, const char *reason)
{
    ctl_clnt_begin(c, "give");
    ck_assert_int_eq(ctl_clnt_set(c, "status", status), 0);
    ck_assert_int_eq(ctl_clnt_set(c, "reason", reason), 0);
    return ctl_clnt_send(c);
}

/* The tests ------------------------------------------------------------- */

START_TEST(test_request_attributes)
{
    CTL_CLNT *c;
    ATTR *request;
    const ATTR *reply;

    fixture_serv_start(path, serve_requests, NULL);
    c = ctl_clnt_create(path, PROTO, VERSION, 2000);
    request = ctl_clnt_begin(c, "echo");
    ck_assert_ptr_nonnull(request);
    ck_assert_str_eq(attr_get(request, "request"), "echo");
    ck_assert_int_eq(ctl_clnt_set(c, "sender", "a@example.com"), 0);
    ck_assert_int_eq(ctl_clnt_set(c, "rcpt", NULL), 0);        /* not sent */
    ck_assert_int_eq(attr_set_long(request, "limit", 20), 0);
    ck_assert_int_eq(ctl_clnt_send(c), CTL_CLNT_OK);
    ck_assert_int_eq(ctl_clnt_status(c), 0);
    reply = ctl_clnt_reply(c);
    ck_assert_str_eq(attr_get(reply, "got_request"), "echo");
    ck_assert_str_eq(attr_get(reply, "got_sender"), "a@example.com");
    ck_assert_str_eq(attr_get(reply, "got_limit"), "20");
    ck_assert_ptr_null(attr_get(reply, "got_rcpt"));
    ck_assert_int_eq(attr_count(reply), 4);

    /* The next request starts afresh: the filters do not stay. */
    ck_assert_int_eq(ctl_clnt_call(c, "echo"), CTL_CLNT_OK);
    reply = ctl_clnt_reply(c);
    ck_assert_str_eq(attr_get(reply, "got_request"), "echo");
    ck_assert_int_eq(attr_count(reply), 2);
    ctl_clnt_begin(c, "echo");
    ck_assert_int_eq(ctl_clnt_send(c), CTL_CLNT_OK);
    ck_assert_int_eq(attr_count(ctl_clnt_reply(c)), 2);
    ck_assert_ptr_null(ctl_clnt_free(c));
}
END_TEST

START_TEST(test_refused)
{
    CTL_CLNT *c;

    fixture_serv_start(path, serve_requests, NULL);
    c = ctl_clnt_create(path, PROTO, VERSION, 2000);
    ck_assert_int_eq(ctl_clnt_call(c, "frobnicate"), CTL_CLNT_REFUSED);
    ck_assert_str_eq(ctl_clnt_error(c), "unknown request");
    ck_assert_int_eq(ctl_clnt_status(c), -1);

    /* Any status but 0 is a refusal, and says which. */
    ck_assert_int_eq(give(c, "1", "a query that cannot match"), CTL_CLNT_REFUSED);
    ck_assert_str_eq(ctl_clnt_error(c), "a query that cannot match");
    ck_assert_int_eq(ctl_clnt_status(c), 1);
    ck_assert_int_eq(give(c, "2", NULL), CTL_CLNT_REFUSED);
    ck_assert_str_eq(ctl_clnt_error(c), "no reason given");
    ck_assert_int_eq(ctl_clnt_status(c), 2);
    ck_assert_int_eq(give(c, "-1", NULL), CTL_CLNT_REFUSED);
    ck_assert_str_eq(ctl_clnt_error(c), "no reason given");
    ck_assert_int_eq(ctl_clnt_status(c), -1);

    /* A reason beside status=0 does not make it a refusal. */
    ck_assert_int_eq(give(c, "0", "all is well"), CTL_CLNT_OK);
    ck_assert_int_eq(ctl_clnt_status(c), 0);
    ctl_clnt_free(c);
}
END_TEST

/* A reply without a valid status: the daemon is confused, whatever its
 * reason says. */
START_TEST(test_no_valid_status)
{
    static const char *bad[] = {"", "0x", "+0", " 0", "0 ", "zero", "--1"};
    CTL_CLNT *c;
    size_t i;

    fixture_serv_start(path, serve_requests, NULL);
    c = ctl_clnt_create(path, PROTO, VERSION, 2000);
    ck_assert_int_eq(give(c, NULL, NULL), CTL_CLNT_NOANSWER);
    ck_assert_str_eq(ctl_clnt_error(c), "reply without a valid status");
    ck_assert_int_eq(ctl_clnt_status(c), 0);
    ck_assert_int_eq(give(c, NULL, "stopping"), CTL_CLNT_NOANSWER);
    ck_assert_str_eq(ctl_clnt_error(c), "reply without a valid status");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(give(c, "-1", "refused first"), CTL_CLNT_REFUSED);
        ck_assert_msg(give(c, bad[i], "a reason") == CTL_CLNT_NOANSWER,
                      "status=\"%s\"", bad[i]);
        ck_assert_str_eq(ctl_clnt_error(c), "reply without a valid status");
        ck_assert_int_eq(ctl_clnt_status(c), 0);
    }
    /* The connection is still good. */
    ck_assert_int_eq(ctl_clnt_call(c, "echo"), CTL_CLNT_OK);
    ctl_clnt_free(c);
}
END_TEST

START_TEST(test_counts)
{
    CTL_CLNT *c;
    long n = 99;

    fixture_serv_start(path, serve_requests, NULL);
    c = ctl_clnt_create(path, PROTO, VERSION, 2000);
    ck_assert_int_eq(ctl_clnt_call(c, "counts"), CTL_CLNT_OK);
    ck_assert_int_eq(ctl_clnt_count(c, "zero", &n), 0);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(ctl_clnt_count(c, "five", &n), 0);
    ck_assert_int_eq(n, 5);
    ck_assert_int_eq(ctl_clnt_count(c, "negative", &n), -1);
    ck_assert_str_eq(ctl_clnt_error(c), "reply without a valid negative");
    ck_assert_int_eq(ctl_clnt_count(c, "junk", &n), -1);
    ck_assert_str_eq(ctl_clnt_error(c), "reply without a valid junk");
    ck_assert_int_eq(ctl_clnt_count(c, "absent", &n), -1);
    ck_assert_str_eq(ctl_clnt_error(c), "reply without a valid absent");
    ck_assert_int_eq(ctl_clnt_confused(c, "reply with too many entries"),
                     CTL_CLNT_NOANSWER);
    ck_assert_str_eq(ctl_clnt_error(c), "reply with too many entries");
    ctl_clnt_free(c);
}
END_TEST

/* What the framing cannot carry is refused before anything is sent. */
START_TEST(test_unsendable)
{
    char long_value[ATTR_VALUE_MAX + 2];
    CTL_CLNT *c = ctl_clnt_create(path, PROTO, VERSION, 500);
    ATTR *request = ctl_clnt_begin(c, "echo");

    ck_assert_int_eq(ctl_clnt_set(c, "subject", "two\nlines"), -1);
    ck_assert_str_eq(ctl_clnt_error(c),
                     "subject cannot be sent (too long, or a line break in it)");
    ck_assert_int_eq(ctl_clnt_set(c, "sender", "a\rb"), -1);
    ck_assert_str_eq(ctl_clnt_error(c),
                     "sender cannot be sent (too long, or a line break in it)");
    memset(long_value, 'x', sizeof(long_value) - 1);
    long_value[sizeof(long_value) - 1] = 0;
    ck_assert_int_eq(ctl_clnt_set(c, "rcpt", long_value), -1);
    long_value[ATTR_VALUE_MAX] = 0;
    ck_assert_int_eq(ctl_clnt_set(c, "rcpt", long_value), 0);
    ck_assert_ptr_null(attr_get(request, "subject"));
    ck_assert_ptr_null(attr_get(request, "sender"));
    ck_assert_int_eq(attr_count(request), 2);
    ctl_clnt_free(c);
}
END_TEST

START_TEST(test_not_running)
{
    CTL_CLNT *c = ctl_clnt_create(path, PROTO, VERSION, 500);

    ck_assert_int_eq(ctl_clnt_call(c, "echo"), CTL_CLNT_NOANSWER);
    ck_assert_ptr_nonnull(strstr(ctl_clnt_error(c), path));
    ck_assert_int_eq(ctl_clnt_status(c), 0);
    ctl_clnt_free(c);
}
END_TEST

START_TEST(test_other_protocol)
{
    CTL_CLNT *c;

    fixture_serv_start(path, serve_requests, NULL);
    c = ctl_clnt_create(path, "master", VERSION, 2000);
    ck_assert_int_eq(ctl_clnt_call(c, "echo"), CTL_CLNT_NOANSWER);
    ck_assert_ptr_nonnull(strstr(ctl_clnt_error(c),
                                 "protocol \"check\" instead of \"master\""));
    ctl_clnt_free(c);
}
END_TEST

static Suite *
ctl_clnt_suite(void)
{
    Suite *s = suite_create("ctl_clnt");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_request_attributes);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_no_valid_status);
    tcase_add_test(tc, test_counts);
    tcase_add_test(tc, test_unsendable);
    tcase_add_test(tc, test_not_running);
    tcase_add_test(tc, test_other_protocol);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(ctl_clnt_suite());
    int failed;

    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
