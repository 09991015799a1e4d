/* Unit tests for ratekeeper's typed client (lib/rk_clnt.c) against the
 * real request handler served by attr_serv in a child process, which also
 * tests attr_serv's per-client hooks: a client's registrations go when
 * its socket closes, and a holding client is not closed for idleness.
 * Then the failures: no server, a silent server, and the warning that
 * comes at most once a minute. */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attr_serv.h"
#include "events.h"
#include "fixture.h"
#include "fixture_serv.h"
#include "monotime.h"
#include "msg.h"
#include "mymalloc.h"
#include "ratekeeper/rk_request.h"
#include "rk_clnt.h"
#include "unix_sock.h"

static const char *dir;
static char path[128];
static char log_path[128];
static ATTR_SERV *serv;
static VBUF *why;

/* The server child ---------------------------------------------------- */

static void
handle_request(const ATTR *request, ATTR *reply, void *context)
{
    unsigned long client = attr_serv_client_id(serv);
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    rk_request_handle(context, request, reply, client,
                      (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    attr_serv_client_hold(serv, rk_conn_holds(((RK_STATE *) context)->conns,
                                              client));
}

static void
closed(unsigned long client, void *context)
{
    rk_request_client_gone(context, client);
}

/* The child: the real request handler behind attr_serv. */
static void
serve_requests(int listen_fd, void *context)
{
    int idle_ms = *(int *) context;
    RK_STATE *state = rk_state_create(NULL);

    serv = attr_serv_create(listen_fd, RK_PROTO, RK_VERSION, handle_request,
                            state);
    attr_serv_set_close_hook(serv, closed);
    attr_serv_set_idle_timeout(serv, idle_ms);
    fixture_serv_loop();
}

/* A canned server: answers every request with the "name=value" lines
 * of context, as a ratekeeper older or stranger than this one would. */
static void
handle_canned(const ATTR *request, ATTR *reply, void *context)
{
    char *lines = mystrdup(context), *line, *save, *eq;

    (void) request;
    for (line = strtok_r(lines, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        eq = strchr(line, '=');
        *eq = 0;
        attr_set(reply, line, eq + 1);
    }
    myfree(lines);
}

static void
serve_canned(int listen_fd, void *context)
{
    serv = attr_serv_create(listen_fd, RK_PROTO, RK_VERSION, handle_canned,
                            context);
    fixture_serv_loop();
}

/* silent: greets and never answers. */
static void
start_server(int idle_ms, int silent)
{
    if (silent)
        fixture_serv_start(path, fixture_serv_silent,
                           (void *) "proto=ratekeeper\nversion=1\n\n");
    else
        fixture_serv_start(path, serve_requests, &idle_ms);
}

static void
setup(void)
{
    dir = fixture_dir_create("check_rk_clnt");
    snprintf(path, sizeof(path), "%s/" RK_SOCKET_NAME, dir);
    snprintf(log_path, sizeof(log_path), "%s/log", dir);
    ck_assert_int_eq(msg_open(log_path), 0);
    why = vbuf_create(64);
}

static void
teardown(void)
{
    fixture_serv_stop();
    fixture_dir_remove();
    vbuf_free(why);
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* The open connections of key as clnt sees them, once they are down to
 * 0 or after a second of waiting for that. */
static long
connections_settle(RK_CLNT *clnt, const char *key)
{
    long count = -1;
    int i;

    for (i = 0; i < 100; i++) {
        ck_assert_int_eq(rk_clnt_lookup(clnt, RK_COUNTER_CONNECTIONS, key,
                                        &count), RK_CLNT_OK);
        if (count == 0)
            break;
        sleep_ms(10);
    }
    return count;
}

static int
log_count(const char *text)
{
    char *buf = fixture_read(log_path, NULL);
    int count = 0;
    char *p;

    for (p = buf; (p = strstr(p, text)) != NULL; p++)
        count++;
    myfree(buf);
    return count;
}

START_TEST(test_requests)
{
    RK_CLNT *c;
    RK_CLNT_COUNT *list;
    VBUF *canon = vbuf_create(32);
    long count;
    int n, i;

    start_server(60000, 0);
    c = rk_clnt_create(path, 2000, RK_CLNT_FLAG_WARN);
    for (i = 1; i <= 3; i++) {
        ck_assert_int_eq(rk_clnt_mail(c, "sender:a@b", 600000, &count),
                         RK_CLNT_OK);
        ck_assert_int_eq(count, i);
    }
    ck_assert_int_eq(rk_clnt_connect(c, "192.0.2.1", &count), RK_CLNT_OK);
    ck_assert_int_eq(count, 1);
    ck_assert_int_eq(rk_clnt_count(c, RK_COUNTER_OVERLIMIT, "addr:192.0.2.1",
                                   60000, &count), RK_CLNT_OK);
    ck_assert_int_eq(rk_clnt_lookup(c, RK_COUNTER_OVERLIMIT, "addr:192.0.2.1",
                                    &count), RK_CLNT_OK);
    ck_assert_int_eq(count, 1);

    ck_assert_int_eq(rk_clnt_show(c, "192.0.2.1", canon, &list, &n),
                     RK_CLNT_OK);
    ck_assert_str_eq(vbuf_str(canon), "addr:192.0.2.1");
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(list[0].counter, RK_COUNTER_CONNECTIONS);
    ck_assert_str_eq(list[0].key, "addr:192.0.2.1");
    ck_assert_str_eq(list[1].counter, RK_COUNTER_OVERLIMIT);
    ck_assert_int_eq(list[1].window_ms, 60000);
    rk_clnt_counts_free(list, n);

    ck_assert_int_eq(rk_clnt_top(c, 10, &list, &n), RK_CLNT_OK);
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(list[0].key, "sender:a@b");
    ck_assert_int_eq(list[0].count, 3);
    rk_clnt_counts_free(list, n);

    ck_assert_int_eq(rk_clnt_reset(c, "a@b", &count), RK_CLNT_OK);
    ck_assert_int_eq(count, 1);
    ck_assert_int_eq(rk_clnt_disconnect(c, "192.0.2.1", &count), RK_CLNT_OK);
    ck_assert_int_eq(count, 0);

    /* The server refuses; that is no answer, not a crash. */
    ck_assert_int_eq(rk_clnt_mail(c, "sender:a@b", 0, &count),
                     RK_CLNT_NOANSWER);
    ck_assert_ptr_nonnull(strstr(rk_clnt_error(c), "refused: no window"));
    ck_assert_int_eq(rk_clnt_connect(c, "unknown", &count), RK_CLNT_NOANSWER);
    rk_clnt_free(c);
    vbuf_free(canon);
}
END_TEST

/* connect's answer in full: the address's overlimit and tarpit
 * disconnect counts come with its connection count. */
START_TEST(test_connect_info)
{
    RK_CLNT *c;
    RK_CLNT_CONNECT info;
    long count;

    start_server(60000, 0);
    c = rk_clnt_create(path, 2000, RK_CLNT_FLAG_WARN);
    ck_assert_int_eq(rk_clnt_connect_send(c, "192.0.2.5"), RK_CLNT_OK);
    ck_assert_int_eq(rk_clnt_connect_collect_info(c, &info), RK_CLNT_OK);
    ck_assert_int_eq(info.count, 1);
    ck_assert_int_eq(info.overlimit, 0);
    ck_assert_int_eq(info.tarpit_disconnect, 0);
    ck_assert_int_eq(rk_clnt_count(c, RK_COUNTER_OVERLIMIT, "addr:192.0.2.5",
                                   60000, &count), RK_CLNT_OK);
    ck_assert_int_eq(rk_clnt_count(c, RK_COUNTER_TARPIT, "addr:192.0.2.5",
                                   60000, &count), RK_CLNT_OK);
    ck_assert_int_eq(rk_clnt_count(c, RK_COUNTER_TARPIT, "addr:192.0.2.5",
                                   60000, &count), RK_CLNT_OK);
    ck_assert_int_eq(rk_clnt_connect_send(c, "192.0.2.5"), RK_CLNT_OK);
    ck_assert_int_eq(rk_clnt_connect_collect_info(c, &info), RK_CLNT_OK);
    ck_assert_int_eq(info.count, 2);
    ck_assert_int_eq(info.overlimit, 1);
    ck_assert_int_eq(info.tarpit_disconnect, 2);
    /* The old call gives the count alone. */
    ck_assert_int_eq(rk_clnt_connect_send(c, "192.0.2.6"), RK_CLNT_OK);
    ck_assert_int_eq(rk_clnt_connect_collect(c, &count), RK_CLNT_OK);
    ck_assert_int_eq(count, 1);
    rk_clnt_free(c);
}
END_TEST

/* A ratekeeper that does not send the counts: -1, "unknown", and the
 * connection count still counts; one that sends a bad count: no answer. */
START_TEST(test_connect_info_old_or_bad)
{
    RK_CLNT *c;
    RK_CLNT_CONNECT info;
    long count;

    fixture_serv_start(path, serve_canned, (void *) "status=0\ncount=4");
    c = rk_clnt_create(path, 2000, RK_CLNT_FLAG_NONE);
    ck_assert_int_eq(rk_clnt_connect_send(c, "192.0.2.5"), RK_CLNT_OK);
    ck_assert_int_eq(rk_clnt_connect_collect_info(c, &info), RK_CLNT_OK);
    ck_assert_int_eq(info.count, 4);
    ck_assert_int_eq(info.overlimit, -1);
    ck_assert_int_eq(info.tarpit_disconnect, -1);
    rk_clnt_free(c);
    fixture_serv_stop();

    fixture_serv_start(path, serve_canned,
                       (void *) "status=0\ncount=1\novercount=2\noverlimit=-3");
    c = rk_clnt_create(path, 2000, RK_CLNT_FLAG_NONE);
    ck_assert_int_eq(rk_clnt_connect_send(c, "192.0.2.5"), RK_CLNT_OK);
    ck_assert_int_eq(rk_clnt_connect_collect_info(c, &info), RK_CLNT_NOANSWER);
    ck_assert_str_eq(rk_clnt_error(c), "reply without a valid overlimit");
    ck_assert_int_eq(info.overlimit, -1);
    rk_clnt_free(c);
    fixture_serv_stop();

    fixture_serv_start(path, serve_canned,
                       (void *) "status=0\ncount=1\noverlimit=0\ntarpit_disconnect=many");
    c = rk_clnt_create(path, 2000, RK_CLNT_FLAG_NONE);
    ck_assert_int_eq(rk_clnt_connect_send(c, "192.0.2.5"), RK_CLNT_OK);
    ck_assert_int_eq(rk_clnt_connect_collect(c, &count), RK_CLNT_NOANSWER);
    ck_assert_str_eq(rk_clnt_error(c), "reply without a valid tarpit_disconnect");
    rk_clnt_free(c);
}
END_TEST

/* A crashed (here: freed) client's registrations go with its socket; a
 * client that holds some is not closed for idleness, one that holds none
 * is (and reconnects without noticing). */
START_TEST(test_registrations_follow_socket)
{
    RK_CLNT *a, *b;
    long count = -1;

    start_server(300, 0);
    a = rk_clnt_create(path, 2000, RK_CLNT_FLAG_NONE);
    b = rk_clnt_create(path, 2000, RK_CLNT_FLAG_NONE);
    ck_assert_int_eq(rk_clnt_connect(a, "192.0.2.7", &count), RK_CLNT_OK);
    ck_assert_int_eq(rk_clnt_connect(a, "192.0.2.7", &count), RK_CLNT_OK);
    ck_assert_int_eq(rk_clnt_connect(b, "192.0.2.7", &count), RK_CLNT_OK);
    ck_assert_int_eq(count, 3);
    ck_assert_int_eq(rk_clnt_disconnect(b, "192.0.2.7", &count), RK_CLNT_OK);
    ck_assert_int_eq(count, 2);

    /* Idle for longer than the server's idle timeout. */
    sleep_ms(900);
    ck_assert_int_eq(rk_clnt_lookup(b, RK_COUNTER_CONNECTIONS,
                                    "addr:192.0.2.7", &count), RK_CLNT_OK);
    ck_assert_int_eq(count, 2);

    rk_clnt_free(a);
    ck_assert_int_eq(connections_settle(b, "addr:192.0.2.7"), 0);
    rk_clnt_free(b);
}
END_TEST

/* disconnect without waiting, as smtpd does at the end of a session:
 * released before the next request on the same client is answered, and
 * many sessions in a row leave nothing registered. */
START_TEST(test_disconnect_nowait)
{
    RK_CLNT *c, *other;
    long count = -1;
    int i;

    start_server(60000, 0);
    c = rk_clnt_create(path, 2000, RK_CLNT_FLAG_WARN);
    other = rk_clnt_create(path, 2000, RK_CLNT_FLAG_NONE);
    for (i = 1; i <= 50; i++) {
        ck_assert_int_eq(rk_clnt_connect(c, "192.0.2.9", &count), RK_CLNT_OK);
        ck_assert_int_eq(count, 1);
        ck_assert_int_eq(rk_clnt_mail(c, "addr:192.0.2.9", 60000, &count),
                         RK_CLNT_OK);
        ck_assert_int_eq(count, i);
        ck_assert_int_eq(rk_clnt_disconnect_nowait(c, "192.0.2.9"),
                         RK_CLNT_OK);
    }
    ck_assert_int_eq(rk_clnt_lookup(c, RK_COUNTER_CONNECTIONS,
                                    "addr:192.0.2.9", &count), RK_CLNT_OK);
    ck_assert_int_eq(count, 0);
    /* ratekeeper acts on it without the answer being read. */
    ck_assert_int_eq(rk_clnt_connect(c, "192.0.2.9", &count), RK_CLNT_OK);
    ck_assert_int_eq(rk_clnt_disconnect_nowait(c, "192.0.2.9"), RK_CLNT_OK);
    ck_assert_int_eq(connections_settle(other, "addr:192.0.2.9"), 0);
    ck_assert_int_eq(rk_clnt_disconnect_nowait(c, "unknown"),
                     RK_CLNT_NOANSWER);
    ck_assert_int_eq(log_count("ratekeeper: no answer"), 1);
    rk_clnt_free(c);
    rk_clnt_free(other);
}
END_TEST

/* smtpd's sessions back to back: connect sent, its answer collected
 * later; the disconnect deferred into the next connect's write, or
 * flushed when no client waits.  The counts stay exact. */
START_TEST(test_connect_split_and_deferred_disconnect)
{
    RK_CLNT *c, *other;
    long count = -1;
    int i;

    start_server(60000, 0);
    c = rk_clnt_create(path, 2000, RK_CLNT_FLAG_WARN);
    other = rk_clnt_create(path, 2000, RK_CLNT_FLAG_NONE);
    /* Nothing to collect before anything was sent. */
    ck_assert_int_eq(rk_clnt_connect_collect(c, &count), RK_CLNT_NOANSWER);
    ck_assert_int_eq(log_count("ratekeeper: no answer"), 1);
    for (i = 1; i <= 20; i++) {
        ck_assert_int_eq(rk_clnt_connect_send(c, "192.0.2.7"), RK_CLNT_OK);
        ck_assert_int_eq(rk_clnt_connect_collect(c, &count), RK_CLNT_OK);
        /* The last session's registration went first. */
        ck_assert_int_eq(count, 1);
        ck_assert_int_eq(rk_clnt_disconnect_defer(c, "192.0.2.7"),
                         RK_CLNT_OK);
    }
    /* Deferred, not sent: the registration stands until the flush. */
    ck_assert_int_eq(rk_clnt_lookup(other, RK_COUNTER_CONNECTIONS,
                                    "addr:192.0.2.7", &count), RK_CLNT_OK);
    ck_assert_int_eq(count, 1);
    ck_assert_int_eq(rk_clnt_flush(c), RK_CLNT_OK);
    ck_assert_int_eq(connections_settle(other, "addr:192.0.2.7"), 0);
    /* Two sessions of one client at once, from two workers. */
    ck_assert_int_eq(rk_clnt_connect_send(c, "192.0.2.7"), RK_CLNT_OK);
    ck_assert_int_eq(rk_clnt_connect(other, "192.0.2.7", &count), RK_CLNT_OK);
    ck_assert_int_eq(rk_clnt_connect_collect(c, &count), RK_CLNT_OK);
    ck_assert_int_ge(count, 1);
    ck_assert_int_eq(rk_clnt_lookup(c, RK_COUNTER_CONNECTIONS,
                                    "addr:192.0.2.7", &count), RK_CLNT_OK);
    ck_assert_int_eq(count, 2);
    ck_assert_int_eq(rk_clnt_disconnect_defer(c, "192.0.2.7"), RK_CLNT_OK);
    ck_assert_int_eq(rk_clnt_mail(c, "addr:192.0.2.7", 60000, &count),
                     RK_CLNT_OK);
    ck_assert_int_eq(rk_clnt_lookup(c, RK_COUNTER_CONNECTIONS,
                                    "addr:192.0.2.7", &count), RK_CLNT_OK);
    ck_assert_int_eq(count, 1);
    ck_assert_int_eq(rk_clnt_disconnect_defer(c, "unknown"), RK_CLNT_NOANSWER);
    rk_clnt_free(c);
    rk_clnt_free(other);
}
END_TEST

/* A client whose registration is deferred and whose ratekeeper restarts:
 * the registration went with the old socket, and nothing of it reaches
 * the new ratekeeper. */
START_TEST(test_deferred_disconnect_after_restart)
{
    RK_CLNT *c;
    long count = -1;

    start_server(60000, 0);
    c = rk_clnt_create(path, 2000, RK_CLNT_FLAG_NONE);
    ck_assert_int_eq(rk_clnt_connect(c, "192.0.2.8", &count), RK_CLNT_OK);
    ck_assert_int_eq(rk_clnt_disconnect_defer(c, "192.0.2.8"), RK_CLNT_OK);
    fixture_serv_stop();
    start_server(60000, 0);
    ck_assert_int_eq(rk_clnt_connect(c, "192.0.2.8", &count), RK_CLNT_OK);
    ck_assert_int_eq(count, 1);
    ck_assert_int_eq(rk_clnt_lookup(c, RK_COUNTER_CONNECTIONS,
                                    "addr:192.0.2.8", &count), RK_CLNT_OK);
    ck_assert_int_eq(count, 1);
    rk_clnt_free(c);
}
END_TEST

/* No server: no answer, and one warning however many requests fail. */
START_TEST(test_down_warns_once)
{
    RK_CLNT *c = rk_clnt_create(path, 100, RK_CLNT_FLAG_WARN);
    RK_CLNT *quiet = rk_clnt_create(path, 100, RK_CLNT_FLAG_NONE);
    long count = 77;
    int i;

    for (i = 0; i < 5; i++) {
        ck_assert_int_eq(rk_clnt_mail(c, "sender:a@b", 1000, &count),
                         RK_CLNT_NOANSWER);
        ck_assert_int_eq(rk_clnt_connect(c, "192.0.2.1", &count),
                         RK_CLNT_NOANSWER);
        ck_assert_int_eq(rk_clnt_disconnect_nowait(c, "192.0.2.1"),
                         RK_CLNT_NOANSWER);
    }
    ck_assert_int_eq(count, 77);
    ck_assert_int_eq(log_count("ratekeeper: no answer"), 1);
    ck_assert_int_eq(log_count("going on without the rate and connection limits"), 1);
    ck_assert_int_eq(rk_clnt_mail(quiet, "sender:a@b", 1000, &count),
                     RK_CLNT_NOANSWER);
    ck_assert_int_eq(log_count("ratekeeper: no answer"), 1);
    ck_assert_ptr_nonnull(strstr(rk_clnt_error(quiet), path));
    rk_clnt_free(c);
    rk_clnt_free(quiet);
}
END_TEST

/* A server that never answers costs one timeout, then fails fast. */
START_TEST(test_silent_server)
{
    RK_CLNT *c;
    long long t0;
    long count, ms;

    start_server(60000, 1);
    c = rk_clnt_create(path, 100, RK_CLNT_FLAG_WARN);
    t0 = monotime_ms();
    ck_assert_int_eq(rk_clnt_mail(c, "sender:a@b", 1000, &count),
                     RK_CLNT_NOANSWER);
    ck_assert_int_eq(rk_clnt_mail(c, "sender:a@b", 1000, &count),
                     RK_CLNT_NOANSWER);
    ms = (long) (monotime_ms() - t0);
    ck_assert_int_ge(ms, 90);
    ck_assert_int_lt(ms, 190);
    ck_assert_ptr_nonnull(strstr(rk_clnt_error(c), "recently failed"));
    rk_clnt_free(c);
}
END_TEST

static Suite *
rk_clnt_suite(void)
{
    Suite *s = suite_create("rk_clnt");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_requests);
    tcase_add_test(tc, test_registrations_follow_socket);
    tcase_add_test(tc, test_disconnect_nowait);
    tcase_add_test(tc, test_connect_split_and_deferred_disconnect);
    tcase_add_test(tc, test_connect_info);
    tcase_add_test(tc, test_connect_info_old_or_bad);
    tcase_add_test(tc, test_deferred_disconnect_after_restart);
    tcase_add_test(tc, test_down_warns_once);
    tcase_add_test(tc, test_silent_server);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(rk_clnt_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
