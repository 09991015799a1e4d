/* Unit tests for master's typed client (lib/master_clnt.c) against a
 * small control server in a child process (attr_serv with canned
 * replies in master's words): the status made into values, reload
 * accepted, refused, and answered without a valid status, stop; then a
 * server that is not there and one that speaks another protocol. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attr_serv.h"
#include "conf.h"
#include "fixture.h"
#include "fixture_serv.h"
#include "master_clnt.h"
#include "master_proto.h"

static const char *dir;
static char path[128];

/* The server child ---------------------------------------------------- */

static int reloads;

static void
serve(const ATTR *request, ATTR *reply, void *context)
{
    const char *verb = attr_get(request, "request");

    (void) context;
    if (verb == NULL) {
        attr_set(reply, "status", "-1");
        attr_set(reply, "reason", "no request");
    } else if (strcmp(verb, "status") == 0) {
        attr_set(reply, "status", "0");
        attr_set(reply, "master_pid", "4242");
        attr_set(reply, "uptime", "17");
        attr_set(reply, "config_directory", "/etc/alligate");
        attr_set(reply, "services", "3");
        attr_set(reply, "service_0", "smtp");
        attr_set(reply, "service_0_program", "smtpd");
        attr_set(reply, "service_0_kind", "pool");
        attr_set(reply, "service_0_state", "running");
        attr_set(reply, "service_0_listen", "127.0.0.1:25");
        attr_set(reply, "service_0_pids", "101,102,103");
        attr_set(reply, "service_0_states", "busy,idle,retiring");
        attr_set(reply, "service_0_busy", "1");
        attr_set(reply, "service_0_idle", "1");
        attr_set(reply, "service_0_total", "3");
        attr_set(reply, "service_0_max", "50");
        attr_set(reply, "service_1", "ratekeeper");
        attr_set(reply, "service_1_program", "ratekeeper");
        attr_set(reply, "service_1_kind", "single");
        attr_set(reply, "service_1_state", "throttled");
        attr_set(reply, "service_1_listen", "");
        attr_set(reply, "service_1_pids", "");
        attr_set(reply, "service_1_states", "");
        attr_set(reply, "service_2", "submission");
        attr_set(reply, "service_2_program", "smtpd");
        attr_set(reply, "service_2_kind", "pool");
        attr_set(reply, "service_2_state", "disabled");
        attr_set(reply, "service_2_pids", "7,8");
        attr_set(reply, "service_2_states", "idle");
        attr_set(reply, "a_newer_attribute", "is ignored");
    } else if (strcmp(verb, "reload") == 0) {
        /* Accepted, refused with a reason, refused without one, then
         * answered without a status and with a bad one. */
        if (++reloads == 1) {
            attr_set(reply, "status", "0");
        } else if (reloads <= 3) {
            attr_set(reply, "status", "-1");
            if (reloads == 2)
                attr_set(reply, "reason", "main.cf:3: bad value");
        } else if (reloads == 5) {
            attr_set(reply, "status", "0x");
            attr_set(reply, "reason", "not a refusal");
        }
    } else if (strcmp(verb, "stop") == 0) {
        attr_set(reply, "status", "0");
    } else {
        attr_set(reply, "status", "-1");
        attr_set(reply, "reason", "unknown request");
    }
}

/* The child: attr_serv with the canned replies, greeting with proto. */
static void
serve_requests(int listen_fd, void *proto)
{
    attr_serv_create(listen_fd, proto, MASTER_CTL_VERSION, serve, NULL);
    fixture_serv_loop();
}

static void
start_server(const char *proto)
{
    fixture_serv_start(path, serve_requests, (void *) proto);
}

static void
setup(void)
{
    dir = fixture_dir_create("check_master_clnt");
    snprintf(path, sizeof(path), "%s/" MASTER_CTL_SOCKET, dir);
}

static void
teardown(void)
{
    fixture_serv_stop();
    fixture_dir_remove();
}

/* The tests ------------------------------------------------------------- */

START_TEST(test_status)
{
    MASTER_CLNT *c;
    MASTER_CLNT_STATUS *st;
    const MASTER_CLNT_SERVICE *serv;

    start_server(MASTER_CTL_PROTO);
    c = master_clnt_create(path, 2000);
    ck_assert_int_eq(master_clnt_status(c, &st), MASTER_CLNT_OK);
    ck_assert_int_eq(st->pid, 4242);
    ck_assert_int_eq(st->uptime, 17);
    ck_assert_str_eq(st->config_dir, "/etc/alligate");
    ck_assert_int_eq(st->nservices, 3);

    serv = st->services;
    ck_assert_str_eq(serv->name, "smtp");
    ck_assert_str_eq(serv->program, "smtpd");
    ck_assert_int_eq(serv->pool, 1);
    ck_assert_str_eq(serv->state, "running");
    ck_assert_int_eq(serv->disabled, 0);
    ck_assert_str_eq(serv->listen, "127.0.0.1:25");
    ck_assert_int_eq(serv->busy, 1);
    ck_assert_int_eq(serv->idle, 1);
    ck_assert_int_eq(serv->total, 3);
    ck_assert_int_eq(serv->max, 50);
    ck_assert_int_eq(serv->nprocs, 3);
    ck_assert_int_eq(serv->procs[0].pid, 101);
    ck_assert_str_eq(serv->procs[0].state, "busy");
    ck_assert_int_eq(serv->procs[2].pid, 103);
    ck_assert_str_eq(serv->procs[2].state, "retiring");

    serv = st->services + 1;
    ck_assert_str_eq(serv->name, "ratekeeper");
    ck_assert_int_eq(serv->pool, 0);
    ck_assert_str_eq(serv->state, "throttled");
    ck_assert_int_eq(serv->disabled, 0);
    ck_assert_int_eq(serv->nprocs, 0);
    ck_assert_int_eq(serv->total, 0);   /* not said */

    /* A state missing from its list is not made up. */
    serv = st->services + 2;
    ck_assert_int_eq(serv->disabled, 1);
    ck_assert_str_eq(serv->listen, "");
    ck_assert_int_eq(serv->nprocs, 2);
    ck_assert_str_eq(serv->procs[0].state, "idle");
    ck_assert_ptr_null(serv->procs[1].state);
    ck_assert_ptr_null(master_clnt_status_free(st));

    /* Again on the same connection. */
    ck_assert_int_eq(master_clnt_status(c, &st), MASTER_CLNT_OK);
    ck_assert_int_eq(st->nservices, 3);
    master_clnt_status_free(st);
    ck_assert_ptr_null(master_clnt_free(c));
}
END_TEST

START_TEST(test_reload_and_stop)
{
    MASTER_CLNT *c;

    start_server(MASTER_CTL_PROTO);
    c = master_clnt_create(path, 2000);
    ck_assert_int_eq(master_clnt_reload(c), MASTER_CLNT_OK);
    ck_assert_int_eq(master_clnt_reload(c), MASTER_CLNT_REFUSED);
    ck_assert_str_eq(master_clnt_error(c), "main.cf:3: bad value");
    ck_assert_int_eq(master_clnt_reload(c), MASTER_CLNT_REFUSED);
    ck_assert_str_eq(master_clnt_error(c), "no reason given");
    /* Without a valid status master is confused: no answer. */
    ck_assert_int_eq(master_clnt_reload(c), MASTER_CLNT_NOANSWER);
    ck_assert_str_eq(master_clnt_error(c), "reply without a valid status");
    ck_assert_int_eq(master_clnt_reload(c), MASTER_CLNT_NOANSWER);
    ck_assert_str_eq(master_clnt_error(c), "reply without a valid status");
    ck_assert_int_eq(master_clnt_stop(c), MASTER_CLNT_OK);
    master_clnt_free(c);
}
END_TEST

START_TEST(test_not_running)
{
    MASTER_CLNT_STATUS *st = (MASTER_CLNT_STATUS *) 1;
    MASTER_CLNT *c = master_clnt_create(path, 500);

    ck_assert_int_eq(master_clnt_status(c, &st), MASTER_CLNT_NOANSWER);
    ck_assert_ptr_null(st);
    ck_assert_ptr_nonnull(strstr(master_clnt_error(c), path));
    ck_assert_int_eq(master_clnt_stop(c), MASTER_CLNT_NOANSWER);
    master_clnt_free(c);
}
END_TEST

START_TEST(test_other_protocol)
{
    MASTER_CLNT *c;

    start_server("relay");
    c = master_clnt_create(path, 2000);
    ck_assert_int_eq(master_clnt_reload(c), MASTER_CLNT_NOANSWER);
    ck_assert_ptr_nonnull(strstr(master_clnt_error(c),
                                 "protocol \"relay\" instead of \"master\""));
    master_clnt_free(c);
}
END_TEST

START_TEST(test_default_path)
{
    const char *p;

    conf_activate(conf_defaults());
    p = master_clnt_default_path();
    ck_assert_int_eq(strncmp(p, conf_str(P_run_directory), strlen(conf_str(P_run_directory))), 0);
    ck_assert_str_eq(p + strlen(conf_str(P_run_directory)), "/" MASTER_CTL_SOCKET);
}
END_TEST

static Suite *
master_clnt_suite(void)
{
    Suite *s = suite_create("master_clnt");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_status);
    tcase_add_test(tc, test_reload_and_stop);
    tcase_add_test(tc, test_not_running);
    tcase_add_test(tc, test_other_protocol);
    tcase_add_test(tc, test_default_path);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(master_clnt_suite());
    int failed;

    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
