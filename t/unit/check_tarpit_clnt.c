/* Unit tests for the tarpit's typed client (lib/tarpit_clnt.c): a
 * hand-off arrives at a SOCK_SEQPACKET listener as one message with the
 * client's descriptor; a tarpit that is down, restarted or full; a hold
 * that does not encode; and the status request on the control socket,
 * answered by attr_serv in a forked server. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "attr_serv.h"
#include "fd_pass.h"
#include "fixture.h"
#include "fixture_serv.h"
#include "tarpit_clnt.h"
#include "unix_sock.h"

static const char *dir;
static char path[256];
static char ctl_path[256];
static VBUF *why;

static void
setup(void)
{
    dir = fixture_dir_create("tarpit_clnt");
    snprintf(path, sizeof(path), "%s/%s", dir, TARPIT_SOCKET_NAME);
    snprintf(ctl_path, sizeof(ctl_path), "%s/%s", dir, TARPIT_CTL_SOCKET_NAME);
    why = vbuf_create(100);
}

static void
teardown(void)
{
    fixture_serv_stop();
    vbuf_free(why);
    fixture_dir_remove();
}

static void
sample(TARPIT_HOLD *hold, const char *addr)
{
    memset(hold, 0, sizeof(*hold));
    snprintf(hold->addr, sizeof(hold->addr), "%s", addr);
    strcpy(hold->name, "unknown");
    hold->delay_ms = 5000;
    strcpy(hold->rule, "max_invalid_recipients");
    strcpy(hold->command, "RCPT");
    strcpy(hold->reply, "550 5.7.1 Refused");
}

static int
listen_here(void)
{
    int fd = unix_sock_listen_type(path, SOCK_SEQPACKET, 0600, 16, why);

    ck_assert_msg(fd >= 0, "%s", vbuf_str(why));
    return fd;
}

/* Accepts the client's connection and reads one hand-off: the hold, and
 * the descriptor that came with it (returned). */
static int
receive(int conn, TARPIT_HOLD *hold)
{
    char buf[TARPIT_MSG_MAX + 1];
    ssize_t n;
    int fd;

    n = fd_pass_recv(conn, buf, sizeof(buf), &fd, 0);
    ck_assert_int_gt(n, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_msg(tarpit_msg_decode(buf, (size_t) n, hold, why) == 0, "%s",
                  vbuf_str(why));
    return fd;
}

START_TEST(test_handoff)
{
    int lfd = listen_here(), conn, sv[2], fd;
    TARPIT_CLNT *clnt = tarpit_clnt_create(path);
    TARPIT_HOLD hold, got;
    char c;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    sample(&hold, "198.51.100.4");
    ck_assert_msg(tarpit_clnt_handoff(clnt, sv[1], &hold) == 0, "%s",
                  tarpit_clnt_error(clnt));
    /* The caller's copy is its own to close. */
    close(sv[1]);
    ck_assert_int_ge(conn = accept(lfd, NULL, NULL), 0);
    fd = receive(conn, &got);
    ck_assert_str_eq(got.addr, "198.51.100.4");
    ck_assert_str_eq(got.rule, "max_invalid_recipients");
    ck_assert_int_eq(got.delay_ms, 5000);
    /* The descriptor is the client's connection. */
    ck_assert_int_eq(write(fd, "5", 1), 1);
    ck_assert_int_eq(read(sv[0], &c, 1), 1);
    ck_assert_int_eq(c, '5');

    /* A second hand-off on the same connection. */
    sample(&hold, "2001:db8::5");
    ck_assert_int_eq(tarpit_clnt_handoff(clnt, sv[0], &hold), 0);
    close(fd);
    fd = receive(conn, &got);
    ck_assert_str_eq(got.addr, "2001:db8::5");
    close(fd);
    close(conn);
    close(lfd);
    close(sv[0]);
    tarpit_clnt_free(clnt);
}
END_TEST

START_TEST(test_down)
{
    TARPIT_CLNT *clnt = tarpit_clnt_create(path);
    TARPIT_HOLD hold;
    int lfd, devnull = open("/dev/null", O_RDONLY);

    sample(&hold, "192.0.2.1");
    /* No socket. */
    ck_assert_int_eq(tarpit_clnt_handoff(clnt, devnull, &hold), -1);
    ck_assert_ptr_nonnull(strstr(tarpit_clnt_error(clnt), "connect to"));
    ck_assert_ptr_nonnull(strstr(tarpit_clnt_error(clnt), "No such file"));
    /* A socket nobody listens on any more. */
    lfd = listen_here();
    close(lfd);
    ck_assert_int_eq(tarpit_clnt_handoff(clnt, devnull, &hold), -1);
    ck_assert_ptr_nonnull(strstr(tarpit_clnt_error(clnt), "Connection refused"));
    /* No descriptor. */
    ck_assert_int_eq(tarpit_clnt_handoff(clnt, -1, &hold), -1);
    ck_assert_str_eq(tarpit_clnt_error(clnt), "no client descriptor");
    close(devnull);
    tarpit_clnt_free(clnt);
}
END_TEST

START_TEST(test_bad_hold)
{
    int lfd = listen_here(), conn, devnull = open("/dev/null", O_RDONLY);
    TARPIT_CLNT *clnt = tarpit_clnt_create(path);
    TARPIT_HOLD hold, got;
    char buf[16];
    int fd;

    sample(&hold, "192.0.2.1");
    strcpy(hold.reply, "250 OK");
    ck_assert_int_eq(tarpit_clnt_handoff(clnt, devnull, &hold), -1);
    ck_assert_str_eq(tarpit_clnt_error(clnt), "the hold does not encode");
    /* Nothing was sent; the next good hold goes. */
    sample(&hold, "192.0.2.2");
    ck_assert_int_eq(tarpit_clnt_handoff(clnt, devnull, &hold), 0);
    ck_assert_int_ge(conn = accept(lfd, NULL, NULL), 0);
    fd = receive(conn, &got);
    ck_assert_str_eq(got.addr, "192.0.2.2");
    close(fd);
    ck_assert_int_eq(fd_pass_recv(conn, buf, sizeof(buf), &fd, MSG_DONTWAIT), -1);
    ck_assert_int_eq(errno, EAGAIN);
    close(conn);
    close(lfd);
    close(devnull);
    tarpit_clnt_free(clnt);
}
END_TEST

/* The tarpit restarted: the old connection is dead, the client connects
 * again once within the same hand-off. */
START_TEST(test_reconnect)
{
    int lfd = listen_here(), conn, devnull = open("/dev/null", O_RDONLY), fd;
    TARPIT_CLNT *clnt = tarpit_clnt_create(path);
    TARPIT_HOLD hold, got;

    sample(&hold, "192.0.2.1");
    ck_assert_int_eq(tarpit_clnt_handoff(clnt, devnull, &hold), 0);
    ck_assert_int_ge(conn = accept(lfd, NULL, NULL), 0);
    close(receive(conn, &got));
    close(conn);
    close(lfd);
    lfd = listen_here();
    sample(&hold, "192.0.2.3");
    ck_assert_msg(tarpit_clnt_handoff(clnt, devnull, &hold) == 0, "%s",
                  tarpit_clnt_error(clnt));
    ck_assert_int_ge(conn = accept(lfd, NULL, NULL), 0);
    fd = receive(conn, &got);
    ck_assert_str_eq(got.addr, "192.0.2.3");
    close(fd);
    close(conn);
    close(lfd);
    close(devnull);
    tarpit_clnt_free(clnt);
}
END_TEST

/* Nobody reads: the hand-offs fail at once, without blocking, and the
 * connection stays for when the tarpit catches up. */
START_TEST(test_full)
{
    int lfd = listen_here(), conn, devnull = open("/dev/null", O_RDONLY), fd;
    TARPIT_CLNT *clnt = tarpit_clnt_create(path);
    TARPIT_HOLD hold, got;
    char buf[TARPIT_MSG_MAX];
    int sent = 0, got_count = 0;

    sample(&hold, "192.0.2.1");
    while (sent < 100000 && tarpit_clnt_handoff(clnt, devnull, &hold) == 0)
        sent++;
    ck_assert_int_lt(sent, 100000);
    ck_assert_msg(strstr(tarpit_clnt_error(clnt), "tarpit full") != NULL,
                  "%s", tarpit_clnt_error(clnt));
    ck_assert_int_ge(conn = accept(lfd, NULL, NULL), 0);
    while (fd_pass_recv(conn, buf, sizeof(buf), &fd, MSG_DONTWAIT) > 0) {
        close(fd);
        got_count++;
    }
    ck_assert_int_eq(got_count, sent);
    ck_assert_int_eq(tarpit_clnt_handoff(clnt, devnull, &hold), 0);
    close(receive(conn, &got));
    close(conn);
    close(lfd);
    close(devnull);
    tarpit_clnt_free(clnt);
}
END_TEST

/* The control socket ------------------------------------------------- */

static void
answer_status(const ATTR *request, ATTR *reply, void *context)
{
    const char *verb = attr_get(request, "request");

    (void) context;
    if (verb && strcmp(verb, "status") == 0) {
        attr_set(reply, "status", "0");
        attr_set(reply, "held", "3");
        attr_set(reply, "max", "10000");
        attr_set(reply, "released", "17");
        attr_set(reply, "disconnects", "2");
        attr_set(reply, "early", "1");
    } else {
        attr_set(reply, "status", "-1");
        attr_set(reply, "reason", "unknown request");
    }
}

static void
answer_confused(const ATTR *request, ATTR *reply, void *context)
{
    (void) request;
    (void) context;
    attr_set(reply, "status", "0");
    attr_set(reply, "held", "3");
}

static void
serve(int listen_fd, void *context)
{
    attr_serv_create(listen_fd, TARPIT_CTL_PROTO, TARPIT_CTL_VERSION,
                     (ATTR_SERV_FN) context, NULL);
    fixture_serv_loop();
}

START_TEST(test_status)
{
    TARPIT_STATUS st;

    fixture_serv_start(ctl_path, serve, (void *) answer_status);
    ck_assert_msg(tarpit_clnt_status(ctl_path, 2000, &st, why) == 0, "%s",
                  vbuf_str(why));
    ck_assert_int_eq(st.held, 3);
    ck_assert_int_eq(st.max, 10000);
    ck_assert_int_eq(st.released, 17);
    ck_assert_int_eq(st.disconnects, 2);
    ck_assert_int_eq(st.early, 1);
}
END_TEST

START_TEST(test_status_fails)
{
    TARPIT_STATUS st;

    ck_assert_int_eq(tarpit_clnt_status(ctl_path, 500, &st, why), -1);
    ck_assert_ptr_nonnull(strstr(vbuf_str(why), ctl_path));
    fixture_serv_start(ctl_path, serve, (void *) answer_confused);
    ck_assert_int_eq(tarpit_clnt_status(ctl_path, 2000, &st, why), -1);
    ck_assert_str_eq(vbuf_str(why), "reply without a valid max");
}
END_TEST

static Suite *
tarpit_clnt_suite(void)
{
    Suite *s = suite_create("tarpit_clnt");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_handoff);
    tcase_add_test(tc, test_down);
    tcase_add_test(tc, test_bad_hold);
    tcase_add_test(tc, test_reconnect);
    tcase_add_test(tc, test_full);
    tcase_add_test(tc, test_status);
    tcase_add_test(tc, test_status_fails);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(tarpit_clnt_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
