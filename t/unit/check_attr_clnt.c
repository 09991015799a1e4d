/* Unit tests for the local socket client and server (attr_clnt, attr_serv,
 * unix_sock): real servers in forked children on a Unix socket in the
 * fixture directory, well-behaved, down, silent, or talking garbage.
 * Longer than most files: the client and the server of the one protocol
 * are tested against each other, with the same servers and raw peers;
 * two suites would each need them. */
#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attr_clnt.h"
#include "attr_serv.h"
#include "events.h"
#include "fixture.h"
#include "fixture_serv.h"
#include "monotime.h"
#include "unix_sock.h"

#define PROTO   "test"

enum server_mode {
    SERVER_GOOD,                        /* attr_serv with echo_handler */
    SERVER_SILENT,                      /* greets, never replies */
    SERVER_NO_GREETING,                 /* accepts, says nothing */
    SERVER_BAD_GREETING,                /* greets with garbage */
    SERVER_BAD_REPLY,                   /* greets, replies with garbage */
    SERVER_WRONG_PROTO,                 /* greets for another protocol */
    SERVER_DROP_FIRST,                  /* closes its first connection
                                         * after a request, unanswered;
                                         * answers on the others */
};

static char path[128];
static int server_idle_ms;
static ATTR_CLNT *clnt;
static ATTR *req;
static ATTR *reply;
static VBUF *why;

/* The server side ------------------------------------------------------ */

static void
echo_handler(const ATTR *request, ATTR *rep, void *context)
{
    long *count = context;
    const char *echo = attr_get(request, "echo");

    ++*count;
    attr_set(rep, "status", "0");
    attr_set(rep, "echo", echo ? echo : "");
    attr_set_long(rep, "n", *count);
}

/* Reads from fd until an empty line ends a message, or EOF. */
static void
raw_skip_message(int fd)
{
    char buf[512];
    size_t have = 0;
    ssize_t n;

    while (have < sizeof(buf) - 1 && (n = read(fd, buf + have, 1)) > 0) {
        have += (size_t) n;
        if ((have == 1 && buf[0] == '\n')
            || (have >= 2 && buf[have - 2] == '\n' && buf[have - 1] == '\n'))
            return;
    }
}

/* The server child writes blindly: a failed write shows in the client. */
static void
server_write(int fd, const char *text)
{
    if (write(fd, text, strlen(text)) < 0)
        return;
}

static void
raw_server(int listen_fd, enum server_mode mode)
{
    const char *greeting = "proto=" PROTO "\nversion=1\n\n";
    int fd, accepted = 0;

    for (;;) {
        if ((fd = accept(listen_fd, NULL, NULL)) < 0)
            continue;
        /* Connections stay open (leaked), so that clients see no EOF. */
        switch (mode) {
        case SERVER_BAD_GREETING:
            server_write(fd, "hello there\n\n");
            break;
        case SERVER_WRONG_PROTO:
            server_write(fd, "proto=other\nversion=1\n\n");
            break;
        case SERVER_BAD_REPLY:
            server_write(fd, greeting);
            raw_skip_message(fd);
            server_write(fd, "garbage\n\n");
            break;
        case SERVER_DROP_FIRST:
            server_write(fd, greeting);
            raw_skip_message(fd);
            if (accepted++ == 0) {
                close(fd);
                break;
            }
            server_write(fd, "status=0\necho=raw\n\n");
            break;
        default:
            break;
        }
    }
}

/* The child: attr_serv with echo_handler, or a raw misbehaving server. */
static void
serve(int listen_fd, void *context)
{
    enum server_mode mode = *(enum server_mode *) context;
    long count = 0;
    ATTR_SERV *serv;

    if (mode == SERVER_SILENT)
        fixture_serv_silent(listen_fd, "proto=" PROTO "\nversion=1\n\n");
    if (mode != SERVER_GOOD)
        raw_server(listen_fd, mode);
    serv = attr_serv_create(listen_fd, PROTO, 1, echo_handler, &count);
    if (server_idle_ms)
        attr_serv_set_idle_timeout(serv, server_idle_ms);
    fixture_serv_loop();
}

static void
start_server(enum server_mode mode)
{
    fixture_serv_start(path, serve, &mode);
}

static void
setup(void)
{
    snprintf(path, sizeof(path), "%s/sock",
             fixture_dir_create("check_attr_clnt"));
    server_idle_ms = 0;
    why = vbuf_create(100);
    req = attr_create();
    reply = attr_create();
    clnt = attr_clnt_create(path, PROTO, 1, 2000);
}

static void
teardown(void)
{
    fixture_serv_stop();
    clnt = attr_clnt_free(clnt);
    req = attr_free(req);
    reply = attr_free(reply);
    why = vbuf_free(why);
    fixture_dir_remove();
}

/* Sends request=echo with echo=value; returns attr_clnt_request's result. */
static int
echo(const char *value)
{
    attr_reset(req);
    attr_set(req, "request", "echo");
    attr_set(req, "echo", value);
    vbuf_reset(why);
    return attr_clnt_request(clnt, req, reply, why);
}

/* The same with attr_clnt_send(): the reply is owed. */
static int
echo_send(const char *value)
{
    attr_reset(req);
    attr_set(req, "request", "echo");
    attr_set(req, "echo", value);
    vbuf_reset(why);
    return attr_clnt_send(clnt, req, why);
}

static void
expect_why(const char *fmt)
{
    char want[512];

    snprintf(want, sizeof(want), fmt, path);
    ck_assert_str_eq(vbuf_str(why), want);
}

/* The client against good and bad servers --------------------------------- */

START_TEST(test_request_reply)
{
    long n;
    int i;

    start_server(SERVER_GOOD);
    for (i = 1; i <= 5; i++) {
        ck_assert_msg(echo(i % 2 ? "hello" : "a=b c") == 0, "%s",
                      vbuf_str(why));
        ck_assert_str_eq(attr_get(reply, "status"), "0");
        ck_assert_str_eq(attr_get(reply, "echo"), i % 2 ? "hello" : "a=b c");
        ck_assert_int_eq(attr_get_long(reply, "n", &n), 0);
        ck_assert_int_eq(n, i);
    }
}
END_TEST

START_TEST(test_server_down)
{
    long long start = monotime_ms();

    ck_assert_int_eq(echo("x"), -1);
    expect_why("connect to %s: No such file or directory");
    ck_assert_int_lt(monotime_ms() - start, 100);

    /* Within the retry window: no attempt at all, even with a server. */
    start_server(SERVER_GOOD);
    start = monotime_ms();
    ck_assert_int_eq(echo("x"), -1);
    expect_why("recently failed: connect to %s: No such file or directory");
    ck_assert_int_lt(monotime_ms() - start, 10);

    usleep((ATTR_CLNT_RETRY_MS + 100) * 1000);
    ck_assert_msg(echo("x") == 0, "%s", vbuf_str(why));
}
END_TEST

START_TEST(test_connection_refused)
{
    long long start;

    start_server(SERVER_GOOD);
    fixture_serv_stop();                      /* the socket stays, nobody listens */
    start = monotime_ms();
    ck_assert_int_eq(echo("x"), -1);
    expect_why("connect to %s: Connection refused");
    ck_assert_int_lt(monotime_ms() - start, 100);
    ck_assert_int_eq(echo("x"), -1);
    expect_why("recently failed: connect to %s: Connection refused");
}
END_TEST

START_TEST(test_timeout_reply)
{
    long long start, elapsed;

    start_server(SERVER_SILENT);
    attr_clnt_set_timeout(clnt, 300);
    start = monotime_ms();
    ck_assert_int_eq(echo("x"), -1);
    elapsed = monotime_ms() - start;
    expect_why("%s: reply: timeout");
    ck_assert_int_ge(elapsed, 295);
    ck_assert_int_lt(elapsed, 600);
    /* A hung server must not cost a timeout per request. */
    start = monotime_ms();
    ck_assert_int_eq(echo("x"), -1);
    expect_why("recently failed: %s: reply: timeout");
    ck_assert_int_lt(monotime_ms() - start, 10);
}
END_TEST

START_TEST(test_timeout_greeting)
{
    long long start, elapsed;

    start_server(SERVER_NO_GREETING);
    attr_clnt_set_timeout(clnt, 200);
    start = monotime_ms();
    ck_assert_int_eq(echo("x"), -1);
    elapsed = monotime_ms() - start;
    expect_why("%s: greeting: timeout");
    ck_assert_int_ge(elapsed, 195);
    ck_assert_int_lt(elapsed, 500);
}
END_TEST

START_TEST(test_bad_greeting)
{
    start_server(SERVER_BAD_GREETING);
    ck_assert_int_eq(echo("x"), -1);
    expect_why("%s: malformed greeting: line without '='");
    ck_assert_int_eq(echo("x"), -1);
    expect_why("recently failed: %s: malformed greeting: line without '='");
}
END_TEST

START_TEST(test_wrong_proto)
{
    start_server(SERVER_WRONG_PROTO);
    ck_assert_int_eq(echo("x"), -1);
    expect_why("%s: protocol \"other\" instead of \"" PROTO "\"");
}
END_TEST

START_TEST(test_bad_reply)
{
    start_server(SERVER_BAD_REPLY);
    ck_assert_int_eq(echo("x"), -1);
    expect_why("%s: malformed reply: line without '='");
    /* Not a connection failure: the next request reconnects at once. */
    ck_assert_int_eq(echo("x"), -1);
    expect_why("%s: malformed reply: line without '='");
}
END_TEST

START_TEST(test_server_restart)
{
    start_server(SERVER_GOOD);
    ck_assert_msg(echo("one") == 0, "%s", vbuf_str(why));
    fixture_serv_stop();
    ck_assert_int_eq(echo("two"), -1);
    expect_why("connect to %s: Connection refused");
    start_server(SERVER_GOOD);
    usleep((ATTR_CLNT_RETRY_MS + 100) * 1000);
    ck_assert_msg(echo("three") == 0, "%s", vbuf_str(why));
    ck_assert_str_eq(attr_get(reply, "echo"), "three");
    ck_assert_str_eq(attr_get(reply, "n"), "1");        /* a new server */
}
END_TEST

START_TEST(test_idle_close_reconnects)
{
    server_idle_ms = 100;
    start_server(SERVER_GOOD);
    ck_assert_msg(echo("one") == 0, "%s", vbuf_str(why));
    usleep(300 * 1000);                 /* the server closed on us */
    ck_assert_msg(echo("two") == 0, "%s", vbuf_str(why));
    ck_assert_str_eq(attr_get(reply, "echo"), "two");
    ck_assert_str_eq(attr_get(reply, "n"), "2");
}
END_TEST

START_TEST(test_signal_pipe)
{
    int i;

    /* A server killed between requests: no SIGPIPE kills us. */
    for (i = 0; i < 3; i++) {
        start_server(SERVER_GOOD);
        ck_assert_msg(echo("x") == 0, "%s", vbuf_str(why));
        fixture_serv_stop();
        ck_assert_int_eq(echo("x"), -1);
        usleep((ATTR_CLNT_RETRY_MS + 50) * 1000);
    }
}
END_TEST

/* Requests whose replies are owed (attr_clnt_send) ------------------------ */

START_TEST(test_send_pending_read_first)
{
    long n;

    start_server(SERVER_GOOD);
    /* The first send connects; replies are read before the next one. */
    ck_assert_msg(echo_send("one") == 0, "%s", vbuf_str(why));
    ck_assert_msg(echo_send("two") == 0, "%s", vbuf_str(why));
    ck_assert_msg(echo("three") == 0, "%s", vbuf_str(why));
    ck_assert_str_eq(attr_get(reply, "echo"), "three");
    ck_assert_int_eq(attr_get_long(reply, "n", &n), 0);
    ck_assert_int_eq(n, 3);
    /* Nothing is left owed: a plain request gets its own reply. */
    ck_assert_msg(echo("four") == 0, "%s", vbuf_str(why));
    ck_assert_str_eq(attr_get(reply, "echo"), "four");
    ck_assert_int_eq(attr_get_long(reply, "n", &n), 0);
    ck_assert_int_eq(n, 4);
}
END_TEST

START_TEST(test_send_broken_with_pending)
{
    /* The server closes the connection without the owed reply: it is
     * dropped, and the next request goes on with a new connection. */
    start_server(SERVER_DROP_FIRST);
    ck_assert_msg(echo_send("one") == 0, "%s", vbuf_str(why));
    ck_assert_msg(echo("two") == 0, "%s", vbuf_str(why));
    ck_assert_str_eq(attr_get(reply, "echo"), "raw");
}
END_TEST

START_TEST(test_send_server_killed)
{
    long n;

    start_server(SERVER_GOOD);
    ck_assert_msg(echo_send("one") == 0, "%s", vbuf_str(why));
    fixture_serv_stop();
    start_server(SERVER_GOOD);
    ck_assert_msg(echo("two") == 0, "%s", vbuf_str(why));
    ck_assert_str_eq(attr_get(reply, "echo"), "two");
    ck_assert_int_eq(attr_get_long(reply, "n", &n), 0);
    ck_assert_int_eq(n, 1);                             /* a new server */
}
END_TEST

START_TEST(test_send_idle_close)
{
    long n;

    /* The owed reply, then the server's EOF for idleness. */
    server_idle_ms = 100;
    start_server(SERVER_GOOD);
    ck_assert_msg(echo_send("one") == 0, "%s", vbuf_str(why));
    usleep(300 * 1000);
    ck_assert_msg(echo("two") == 0, "%s", vbuf_str(why));
    ck_assert_str_eq(attr_get(reply, "echo"), "two");
    ck_assert_int_eq(attr_get_long(reply, "n", &n), 0);
    ck_assert_int_eq(n, 2);
}
END_TEST

START_TEST(test_send_deadline)
{
    long long start, elapsed;

    /* The owed reply never comes: the next request fails within its own
     * timeout (not two), and holds off like any timeout. */
    start_server(SERVER_SILENT);
    attr_clnt_set_timeout(clnt, 300);
    start = monotime_ms();
    ck_assert_msg(echo_send("one") == 0, "%s", vbuf_str(why));
    ck_assert_int_lt(monotime_ms() - start, 100);
    start = monotime_ms();
    ck_assert_int_eq(echo("two"), -1);
    elapsed = monotime_ms() - start;
    expect_why("%s: reply: timeout");
    ck_assert_int_ge(elapsed, 295);
    ck_assert_int_lt(elapsed, 600);
    start = monotime_ms();
    ck_assert_int_eq(echo_send("three"), -1);
    expect_why("recently failed: %s: reply: timeout");
    ck_assert_int_lt(monotime_ms() - start, 10);
}
END_TEST

START_TEST(test_send_server_down)
{
    ck_assert_int_eq(echo_send("x"), -1);
    expect_why("connect to %s: No such file or directory");
}
END_TEST

/* Requests deferred to the next write, replies collected later ---------- */

static void
echo_defer(const char *value)
{
    attr_reset(req);
    attr_set(req, "request", "echo");
    attr_set(req, "echo", value);
    attr_clnt_defer(clnt, req);
}

static long
reply_n(void)
{
    long n = -1;

    ck_assert_int_eq(attr_get_long(reply, "n", &n), 0);
    return n;
}

START_TEST(test_defer_goes_with_next)
{
    start_server(SERVER_GOOD);
    ck_assert_msg(echo("zero") == 0, "%s", vbuf_str(why));
    echo_defer("one");
    echo_defer("two");
    /* Not sent yet: nothing wakes the server until the next request. */
    usleep(50 * 1000);
    ck_assert_msg(echo("three") == 0, "%s", vbuf_str(why));
    ck_assert_str_eq(attr_get(reply, "echo"), "three");
    ck_assert_int_eq(reply_n(), 4);
    ck_assert_msg(echo("four") == 0, "%s", vbuf_str(why));
    ck_assert_str_eq(attr_get(reply, "echo"), "four");
    ck_assert_int_eq(reply_n(), 5);
}
END_TEST

START_TEST(test_defer_flush)
{
    start_server(SERVER_GOOD);
    ck_assert_int_eq(attr_clnt_flush(clnt, why), 0);     /* nothing to do */
    ck_assert_msg(echo("zero") == 0, "%s", vbuf_str(why));
    echo_defer("one");
    ck_assert_msg(attr_clnt_flush(clnt, why) == 0, "%s", vbuf_str(why));
    ck_assert_int_eq(attr_clnt_flush(clnt, why), 0);
    ck_assert_msg(echo("two") == 0, "%s", vbuf_str(why));
    ck_assert_str_eq(attr_get(reply, "echo"), "two");
    ck_assert_int_eq(reply_n(), 3);
}
END_TEST

START_TEST(test_defer_without_connection)
{
    /* Nothing to be about yet: dropped, not sent with the first request. */
    start_server(SERVER_GOOD);
    echo_defer("one");
    ck_assert_msg(echo("two") == 0, "%s", vbuf_str(why));
    ck_assert_int_eq(reply_n(), 1);
}
END_TEST

START_TEST(test_defer_dropped_with_connection)
{
    /* The server dies: what was deferred on its connection is not sent on
     * the new one. */
    start_server(SERVER_GOOD);
    ck_assert_msg(echo("zero") == 0, "%s", vbuf_str(why));
    echo_defer("one");
    fixture_serv_stop();
    start_server(SERVER_GOOD);
    ck_assert_msg(echo("two") == 0, "%s", vbuf_str(why));
    ck_assert_str_eq(attr_get(reply, "echo"), "two");
    ck_assert_int_eq(reply_n(), 1);
}
END_TEST

/* Polls until attr_clnt_ready(), for 2 seconds at most. */
static int
wait_ready(void)
{
    struct pollfd pfd;
    long long end = monotime_ms() + 2000;

    while (!attr_clnt_ready(clnt) && monotime_ms() < end) {
        pfd.fd = attr_clnt_fd(clnt);
        pfd.events = POLLIN;
        if (pfd.fd < 0 || poll(&pfd, 1, 100) < 0)
            return 0;
    }
    return attr_clnt_ready(clnt);
}

START_TEST(test_collect)
{
    start_server(SERVER_GOOD);
    ck_assert_msg(echo_send("one") == 0, "%s", vbuf_str(why));
    ck_assert_msg(echo_send("two") == 0, "%s", vbuf_str(why));
    ck_assert_msg(attr_clnt_collect(clnt, reply, why) == 0, "%s",
                  vbuf_str(why));
    ck_assert_str_eq(attr_get(reply, "echo"), "two");
    ck_assert_int_eq(reply_n(), 2);
    /* Nothing is owed any more. */
    ck_assert_int_eq(attr_clnt_collect(clnt, reply, why), -1);
    expect_why("%s: no reply is owed");
    ck_assert_msg(echo("three") == 0, "%s", vbuf_str(why));
    ck_assert_str_eq(attr_get(reply, "echo"), "three");
    ck_assert_int_eq(reply_n(), 3);
}
END_TEST

START_TEST(test_collect_timeout)
{
    long long start, elapsed;

    start_server(SERVER_SILENT);
    attr_clnt_set_timeout(clnt, 200);
    ck_assert_msg(echo_send("one") == 0, "%s", vbuf_str(why));
    start = monotime_ms();
    ck_assert_int_eq(attr_clnt_collect(clnt, reply, why), -1);
    elapsed = monotime_ms() - start;
    expect_why("%s: reply: timeout");
    ck_assert_int_ge(elapsed, 195);
    ck_assert_int_lt(elapsed, 500);
    ck_assert_int_eq(echo_send("two"), -1);
    expect_why("recently failed: %s: reply: timeout");
}
END_TEST

START_TEST(test_collect_server_gone)
{
    /* The server closes without answering: collect fails, and the next
     * request goes on a new connection. */
    start_server(SERVER_DROP_FIRST);
    ck_assert_msg(echo_send("one") == 0, "%s", vbuf_str(why));
    ck_assert_int_eq(attr_clnt_collect(clnt, reply, why), -1);
    expect_why("%s: reply: connection closed");
    ck_assert_msg(echo("two") == 0, "%s", vbuf_str(why));
    ck_assert_str_eq(attr_get(reply, "echo"), "raw");
}
END_TEST

/* ready: whether collect would wait, found without waiting. */
START_TEST(test_ready)
{
    struct pollfd pfd;

    start_server(SERVER_GOOD);
    /* No connection, nothing owed. */
    ck_assert_int_eq(attr_clnt_fd(clnt), -1);
    ck_assert_int_eq(attr_clnt_ready(clnt), 0);
    ck_assert_msg(echo_send("one") == 0, "%s", vbuf_str(why));
    ck_assert_msg(echo_send("two") == 0, "%s", vbuf_str(why));
    ck_assert_int_ge(attr_clnt_fd(clnt), 0);
    /* Both replies come; ready says so once the second has. */
    pfd.fd = attr_clnt_fd(clnt);
    pfd.events = POLLIN;
    while (!attr_clnt_ready(clnt))
        ck_assert_int_eq(poll(&pfd, 1, 2000), 1);
    /* Reading ahead lost nothing: collect takes the last. */
    ck_assert_int_eq(attr_clnt_ready(clnt), 1);
    ck_assert_msg(attr_clnt_collect(clnt, reply, why) == 0, "%s",
                  vbuf_str(why));
    ck_assert_str_eq(attr_get(reply, "echo"), "two");
    ck_assert_int_eq(reply_n(), 2);
    ck_assert_int_eq(attr_clnt_ready(clnt), 0);
    ck_assert_msg(echo("three") == 0, "%s", vbuf_str(why));
    ck_assert_int_eq(reply_n(), 3);
}
END_TEST

START_TEST(test_ready_silent)
{
    long long start;

    /* Nothing comes: ready does not wait, and does not give up on the
     * connection; collect still can. */
    start_server(SERVER_SILENT);
    attr_clnt_set_timeout(clnt, 200);
    ck_assert_msg(echo_send("one") == 0, "%s", vbuf_str(why));
    start = monotime_ms();
    ck_assert_int_eq(attr_clnt_ready(clnt), 0);
    ck_assert_int_eq(attr_clnt_ready(clnt), 0);
    ck_assert_int_lt(monotime_ms() - start, 100);
    ck_assert_int_ge(attr_clnt_fd(clnt), 0);
    ck_assert_int_eq(attr_clnt_collect(clnt, reply, why), -1);
    expect_why("%s: reply: timeout");
    ck_assert_int_eq(attr_clnt_fd(clnt), -1);
}
END_TEST

START_TEST(test_ready_broken)
{
    /* A connection that ends, or a malformed reply: ready, so that
     * collect reports it at once. */
    start_server(SERVER_DROP_FIRST);
    ck_assert_msg(echo_send("one") == 0, "%s", vbuf_str(why));
    ck_assert_int_eq(wait_ready(), 1);
    ck_assert_int_eq(attr_clnt_collect(clnt, reply, why), -1);
    expect_why("%s: reply: connection closed");
    fixture_serv_stop();
    start_server(SERVER_BAD_REPLY);
    ck_assert_msg(echo_send("one") == 0, "%s", vbuf_str(why));
    ck_assert_int_eq(wait_ready(), 1);
    ck_assert_int_eq(attr_clnt_collect(clnt, reply, why), -1);
    ck_assert_msg(strstr(vbuf_str(why), "malformed reply") != NULL, "%s",
                  vbuf_str(why));
}
END_TEST

/* The server, driven by hand ---------------------------------------------- */

static int
raw_connect(void)
{
    int fd = unix_sock_connect(path, 1000, why);

    ck_assert_msg(fd >= 0, "%s", vbuf_str(why));
    return fd;
}

/* Reads one message from fd (non-blocking) into msg within 2 s; returns
 * 1, or 0 on EOF before any byte. Leftover bytes stay in pending. */
static int
raw_read_message(int fd, VBUF *pending, ATTR *msg)
{
    struct pollfd pfd = {.fd = fd,.events = POLLIN };
    char buf[4096];
    size_t used;
    ssize_t n;
    int ret;

    for (;;) {
        ret = attr_parse(msg, vbuf_str(pending), vbuf_len(pending), &used,
                         why);
        ck_assert_int_ge(ret, 0);
        if (ret == 1) {
            vbuf_consume(pending, used);
            return 1;
        }
        ck_assert_int_eq(poll(&pfd, 1, 2000), 1);
        n = read(fd, buf, sizeof(buf));
        ck_assert_int_ge(n, 0);
        if (n == 0) {
            ck_assert_uint_eq(vbuf_len(pending), 0);
            return 0;
        }
        vbuf_append(pending, buf, (size_t) n);
    }
}

static void
raw_write(int fd, const char *text)
{
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
}

START_TEST(test_serv_pipelined)
{
    VBUF *pending = vbuf_create(100);
    int fd;

    start_server(SERVER_GOOD);
    fd = raw_connect();
    ck_assert_int_eq(raw_read_message(fd, pending, reply), 1);
    ck_assert_int_eq(attr_check_greeting(reply, PROTO, 1, why), 0);
    /* Three requests in one write, then EOF: all answered, in order. */
    raw_write(fd, "request=echo\necho=1\n\nrequest=echo\necho=2\n\n"
              "request=echo\nunknown=ignored\necho=3\n\n");
    shutdown(fd, SHUT_WR);
    ck_assert_int_eq(raw_read_message(fd, pending, reply), 1);
    ck_assert_str_eq(attr_get(reply, "echo"), "1");
    ck_assert_int_eq(raw_read_message(fd, pending, reply), 1);
    ck_assert_str_eq(attr_get(reply, "echo"), "2");
    ck_assert_int_eq(raw_read_message(fd, pending, reply), 1);
    ck_assert_str_eq(attr_get(reply, "echo"), "3");
    ck_assert_int_eq(raw_read_message(fd, pending, reply), 0);
    close(fd);
    vbuf_free(pending);
}
END_TEST

START_TEST(test_serv_split_request)
{
    VBUF *pending = vbuf_create(100);
    const char *text = "request=echo\necho=slow\n\n";
    int fd;
    size_t i;

    start_server(SERVER_GOOD);
    fd = raw_connect();
    ck_assert_int_eq(raw_read_message(fd, pending, reply), 1);
    for (i = 0; text[i]; i++) {
        ck_assert_int_eq(write(fd, text + i, 1), 1);
        usleep(1000);
    }
    ck_assert_int_eq(raw_read_message(fd, pending, reply), 1);
    ck_assert_str_eq(attr_get(reply, "echo"), "slow");
    close(fd);
    vbuf_free(pending);
}
END_TEST

/* Reads all that arrives until EOF, within 2 s. */
static void
raw_read_all(int fd, VBUF *out)
{
    struct pollfd pfd = {.fd = fd,.events = POLLIN };
    char buf[4096];
    ssize_t n;

    for (;;) {
        ck_assert_int_eq(poll(&pfd, 1, 2000), 1);
        if ((n = read(fd, buf, sizeof(buf))) <= 0)
            return;
        vbuf_append(out, buf, (size_t) n);
    }
}

START_TEST(test_serv_malformed_request)
{
    static const struct {
        const char *request;
        const char *reply;
    } cases[] = {
        {"bad line\n\n", "status=-1\nreason=line without '='\n\n"},
        {"request=echo\nrequest=x\n\n",
         "status=-1\nreason=duplicate attribute: request\n\n"},
        {"Request=echo\n\n", "status=-1\nreason=bad attribute name\n\n"},
        {"request=echo\r\n\r\n", "status=-1\nreason=CR in line\n\n"},
        /* Answered up to the bad one, nothing after it. */
        {"echo=1\n\nbad\n\necho=2\n\n",
         "status=0\necho=1\nn=1\n\nstatus=-1\nreason=line without '='\n\n"},
    };
    VBUF *got = vbuf_create(100);
    unsigned i;
    int fd;

    start_server(SERVER_GOOD);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fd = raw_connect();
        raw_write(fd, cases[i].request);
        vbuf_reset(got);
        raw_read_all(fd, got);
        ck_assert_str_eq(vbuf_str(got) + strlen("proto=" PROTO
                                                "\nversion=1\n\n"),
                         cases[i].reply);
        close(fd);
        fixture_serv_stop();
        start_server(SERVER_GOOD);      /* n counts from 1 again */
    }
    vbuf_free(got);
}
END_TEST

START_TEST(test_serv_oversized_request)
{
    VBUF *got = vbuf_create(100);
    char *line = malloc(ATTR_LINE_MAX + 10);
    int fd;

    memset(line, 'x', ATTR_LINE_MAX + 9);
    line[ATTR_LINE_MAX + 9] = 0;
    start_server(SERVER_GOOD);
    fd = raw_connect();
    raw_write(fd, line);                /* no LF: the server must not wait */
    raw_read_all(fd, got);
    ck_assert_str_eq(vbuf_str(got), "proto=" PROTO "\nversion=1\n\n"
                     "status=-1\nreason=line too long\n\n");
    close(fd);
    free(line);
    vbuf_free(got);
}
END_TEST

START_TEST(test_serv_idle_timeout)
{
    VBUF *got = vbuf_create(100);
    long long start;
    int fd;

    server_idle_ms = 200;
    start_server(SERVER_GOOD);
    fd = raw_connect();
    start = monotime_ms();
    raw_read_all(fd, got);              /* greeting, then EOF */
    ck_assert_int_ge(monotime_ms() - start, 150);
    ck_assert_int_lt(monotime_ms() - start, 1000);
    ck_assert_str_eq(vbuf_str(got), "proto=" PROTO "\nversion=1\n\n");
    close(fd);
    vbuf_free(got);
}
END_TEST

START_TEST(test_serv_many_clients)
{
    enum { NCLIENTS = 200 };
    VBUF *pending[NCLIENTS];
    int fds[NCLIENTS], i;
    char text[64];

    start_server(SERVER_GOOD);
    for (i = 0; i < NCLIENTS; i++) {
        fds[i] = raw_connect();
        pending[i] = vbuf_create(100);
    }
    for (i = 0; i < NCLIENTS; i++) {
        snprintf(text, sizeof(text), "request=echo\necho=%d\n\n", i);
        raw_write(fds[i], text);
    }
    for (i = NCLIENTS - 1; i >= 0; i--) {
        ck_assert_int_eq(raw_read_message(fds[i], pending[i], reply), 1);
        ck_assert_int_eq(raw_read_message(fds[i], pending[i], reply), 1);
        snprintf(text, sizeof(text), "%d", i);
        ck_assert_str_eq(attr_get(reply, "echo"), text);
        close(fds[i]);
        vbuf_free(pending[i]);
    }
}
END_TEST

START_TEST(test_serv_backpressure)
{
    /* Many pipelined requests, replies read slowly: everything arrives,
     * in order, although the server has to stop reading in between. */
    enum { NREQ = 20000 };
    VBUF *out = vbuf_create(100), *pending = vbuf_create(100);
    struct pollfd pfd;
    size_t sent = 0;
    int fd, got = 0, greeted = 0;
    char want[32];
    ssize_t n;
    char buf[1024];
    size_t used;

    start_server(SERVER_GOOD);
    fd = raw_connect();
    for (int i = 0; i < NREQ; i++)
        vbuf_printf(out, "request=echo\necho=%d\n\n", i);
    while (got < NREQ) {
        pfd.fd = fd;
        pfd.events = POLLIN | (sent < vbuf_len(out) ? POLLOUT : 0);
        ck_assert_int_eq(poll(&pfd, 1, 2000), 1);
        if ((pfd.revents & POLLOUT)
            && (n = send(fd, vbuf_str(out) + sent, vbuf_len(out) - sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT)) > 0)
            sent += (size_t) n;
        if (!(pfd.revents & POLLIN))
            continue;
        n = read(fd, buf, sizeof(buf));     /* small reads: a slow reader */
        ck_assert_int_gt(n, 0);
        vbuf_append(pending, buf, (size_t) n);
        while (attr_parse(reply, vbuf_str(pending), vbuf_len(pending), &used,
                          why) == 1) {
            vbuf_consume(pending, used);
            if (!greeted++)
                continue;
            snprintf(want, sizeof(want), "%d", got++);
            ck_assert_str_eq(attr_get(reply, "echo"), want);
        }
    }
    close(fd);
    vbuf_free(out);
    vbuf_free(pending);
}
END_TEST

/* unix_sock ------------------------------------------------------------- */

START_TEST(test_unix_sock_listen)
{
    struct stat st;
    int fd, fd2;

    fd = unix_sock_listen(path, 0660, 10, why);
    ck_assert_msg(fd >= 0, "%s", vbuf_str(why));
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0660);
    /* A live listener is not taken over ... */
    ck_assert_int_eq(unix_sock_listen(path, 0660, 10, why), -1);
    expect_why("%s: another process is listening");
    /* ... a stale one is. */
    close(fd);
    fd2 = unix_sock_listen(path, 0600, 10, why);
    ck_assert_msg(fd2 >= 0, "%s", vbuf_str(why));
    close(fd2);
    unlink(path);
    /* Anything else at the path is left alone. */
    close(creat(path, 0600));
    ck_assert_int_eq(unix_sock_listen(path, 0600, 10, why), -1);
    expect_why("%s: exists and is not a socket");
}
END_TEST

static Suite *
attr_clnt_suite(void)
{
    Suite *s = suite_create("attr_clnt");
    TCase *tc = tcase_create("client");
    TCase *ts = tcase_create("server");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_request_reply);
    tcase_add_test(tc, test_server_down);
    tcase_add_test(tc, test_connection_refused);
    tcase_add_test(tc, test_timeout_reply);
    tcase_add_test(tc, test_timeout_greeting);
    tcase_add_test(tc, test_bad_greeting);
    tcase_add_test(tc, test_wrong_proto);
    tcase_add_test(tc, test_bad_reply);
    tcase_add_test(tc, test_server_restart);
    tcase_add_test(tc, test_idle_close_reconnects);
    tcase_add_test(tc, test_signal_pipe);
    tcase_add_test(tc, test_send_pending_read_first);
    tcase_add_test(tc, test_send_broken_with_pending);
    tcase_add_test(tc, test_send_server_killed);
    tcase_add_test(tc, test_send_idle_close);
    tcase_add_test(tc, test_send_deadline);
    tcase_add_test(tc, test_send_server_down);
    tcase_add_test(tc, test_defer_goes_with_next);
    tcase_add_test(tc, test_defer_flush);
    tcase_add_test(tc, test_defer_without_connection);
    tcase_add_test(tc, test_defer_dropped_with_connection);
    tcase_add_test(tc, test_collect);
    tcase_add_test(tc, test_collect_timeout);
    tcase_add_test(tc, test_collect_server_gone);
    tcase_add_test(tc, test_ready);
    tcase_add_test(tc, test_ready_silent);
    tcase_add_test(tc, test_ready_broken);
    suite_add_tcase(s, tc);

    tcase_add_checked_fixture(ts, setup, teardown);
    tcase_set_timeout(ts, 20);
    tcase_add_test(ts, test_serv_pipelined);
    tcase_add_test(ts, test_serv_split_request);
    tcase_add_test(ts, test_serv_malformed_request);
    tcase_add_test(ts, test_serv_oversized_request);
    tcase_add_test(ts, test_serv_idle_timeout);
    tcase_add_test(ts, test_serv_many_clients);
    tcase_add_test(ts, test_serv_backpressure);
    tcase_add_test(ts, test_unix_sock_listen);
    suite_add_tcase(s, ts);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(attr_clnt_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
