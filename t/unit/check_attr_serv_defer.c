/* Unit tests for attr_serv's deferred replies (attr_serv_defer,
 * attr_serv_answer): a server in a forked child answers "later" requests
 * from a timer, as authd answers a failed check after a delay.  The
 * reply comes late, in order with the client's next requests, without
 * holding up other clients; a client gone meanwhile is noticed. */
#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "attr_serv.h"
#include "events.h"
#include "fixture.h"
#include "fixture_serv.h"
#include "monotime.h"
#include "mymalloc.h"
#include "unix_sock.h"

#define PROTO   "deferred"

static char path[128];
static ATTR *reply;
static VBUF *why;

/* The server child ------------------------------------------------------ */

static ATTR_SERV *serv;
static long gone;                       /* answers for clients gone */
static long closed;                     /* connections closed */

typedef struct LATER {
    unsigned long client;
    ATTR *request;                      /* taken, not copied */
} LATER;

static void
answer_later(int event, void *context)
{
    LATER *later = context;
    ATTR *rep = attr_create();

    (void) event;
    attr_set(rep, "status", "0");
    attr_set(rep, "echo", attr_get(later->request, "echo")
             ? attr_get(later->request, "echo") : "");
    attr_set(rep, "late", "yes");
    if (attr_serv_answer(serv, later->client, rep) < 0)
        gone++;
    /* A second answer to the same request is refused. */
    else if (attr_serv_answer(serv, later->client, rep) == 0)
        abort();
    attr_free(rep);
    attr_free(later->request);
    myfree(later);
}

static void
handler(const ATTR *request, ATTR *rep, void *context)
{
    const char *verb = attr_get(request, "request");
    const char *echo = attr_get(request, "echo");
    LATER *later;
    long delay;

    (void) context;
    attr_set(rep, "status", "0");
    if (verb && strcmp(verb, "later") == 0
        && attr_get_long(request, "delay", &delay) == 0) {
        later = mymalloc(sizeof(*later));
        later->client = attr_serv_defer(serv);
        later->request = attr_serv_take_request(serv);
        /* Still readable where the handler has it: the same one. */
        if (later->request != request || attr_get(request, "echo") != echo)
            abort();
        /* Dropped: the reply is attr_serv_answer's. */
        attr_set(rep, "dropped", "yes");
        event_request_timer(answer_later, later, delay);
        return;
    }
    if (verb && strcmp(verb, "gone") == 0) {
        /* An id that no client has: refused. */
        if (attr_serv_answer(serv, 1000000, rep) == 0)
            abort();
        attr_set_long(rep, "gone", gone);
        attr_set_long(rep, "closed", closed);
        return;
    }
    attr_set(rep, "echo", echo ? echo : "");
}

static void
count_close(unsigned long client, void *context)
{
    (void) client;
    (void) context;
    closed++;
}

static void
serve(int listen_fd, void *context)
{
    (void) context;
    serv = attr_serv_create(listen_fd, PROTO, 1, handler, NULL);
    attr_serv_set_close_hook(serv, count_close);
    /* Short, so that a deferred reply that waited longer than this shows
     * that the idle timeout does not run meanwhile. */
    attr_serv_set_idle_timeout(serv, 300);
    fixture_serv_loop();
}

/* The client side -------------------------------------------------------- */

static void
setup(void)
{
    const char *dir = fixture_dir_create("check_attr_serv_defer");

    snprintf(path, sizeof(path), "%s/deferred.sock", dir);
    reply = attr_create();
    why = vbuf_create(64);
    fixture_serv_start(path, serve, NULL);
}

static void
teardown(void)
{
    fixture_serv_stop();
    fixture_dir_remove();
    attr_free(reply);
    vbuf_free(why);
}

static int
raw_connect(void)
{
    int fd = unix_sock_connect(path, 1000, why);

    ck_assert_msg(fd >= 0, "%s", vbuf_str(why));
    return fd;
}

static void
raw_write(int fd, const char *text)
{
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
}

/* One message into reply within wait_ms; 1, or 0 on EOF. */
static int
raw_read(int fd, VBUF *pending, int wait_ms)
{
    struct pollfd pfd = {.fd = fd,.events = POLLIN };
    char buf[4096];
    size_t used;
    ssize_t n;
    int ret;

    for (;;) {
        ret = attr_parse(reply, vbuf_str(pending), vbuf_len(pending), &used,
                         why);
        ck_assert_int_ge(ret, 0);
        if (ret == 1) {
            vbuf_consume(pending, used);
            return 1;
        }
        ck_assert_msg(poll(&pfd, 1, wait_ms) == 1, "no reply in %d ms",
                      wait_ms);
        n = read(fd, buf, sizeof(buf));
        ck_assert_int_ge(n, 0);
        if (n == 0)
            return 0;
        vbuf_append(pending, buf, (size_t) n);
    }
}

/* Nothing arrives within wait_ms. */
static void
raw_nothing(int fd, int wait_ms)
{
    struct pollfd pfd = {.fd = fd,.events = POLLIN };

    ck_assert_int_eq(poll(&pfd, 1, wait_ms), 0);
}

static int
connect_greeted(VBUF *pending)
{
    int fd = raw_connect();

    ck_assert_int_eq(raw_read(fd, pending, 2000), 1);
    ck_assert_int_eq(attr_check_greeting(reply, PROTO, 1, why), 0);
    return fd;
}

START_TEST(test_deferred_in_order)
{
    VBUF *pending = vbuf_create(100);
    long long start;
    int fd = connect_greeted(pending);

    /* The deferred one first, two more pipelined behind it: nothing until
     * the delay, then all three in order. */
    start = monotime_ms();
    raw_write(fd, "request=later\ndelay=500\necho=1\n\n"
              "request=now\necho=2\n\nrequest=now\necho=3\n\n");
    raw_nothing(fd, 300);
    ck_assert_int_eq(raw_read(fd, pending, 2000), 1);
    ck_assert_int_ge(monotime_ms() - start, 450);
    ck_assert_str_eq(attr_get(reply, "echo"), "1");
    ck_assert_str_eq(attr_get(reply, "late"), "yes");
    ck_assert_ptr_null(attr_get(reply, "dropped"));
    ck_assert_int_eq(raw_read(fd, pending, 2000), 1);
    ck_assert_str_eq(attr_get(reply, "echo"), "2");
    ck_assert_int_eq(raw_read(fd, pending, 2000), 1);
    ck_assert_str_eq(attr_get(reply, "echo"), "3");
    /* The connection goes on as before. */
    raw_write(fd, "request=now\necho=4\n\n");
    ck_assert_int_eq(raw_read(fd, pending, 2000), 1);
    ck_assert_str_eq(attr_get(reply, "echo"), "4");
    close(fd);
    vbuf_free(pending);
}
END_TEST

START_TEST(test_others_not_held_up)
{
    VBUF *pa = vbuf_create(100), *pb = vbuf_create(100);
    int a = connect_greeted(pa), b = connect_greeted(pb);
    long long start = monotime_ms();

    raw_write(a, "request=later\ndelay=1000\necho=a\n\n");
    raw_write(b, "request=now\necho=b\n\n");
    ck_assert_int_eq(raw_read(b, pb, 500), 1);
    ck_assert_str_eq(attr_get(reply, "echo"), "b");
    ck_assert_int_lt(monotime_ms() - start, 500);
    ck_assert_int_eq(raw_read(a, pa, 2000), 1);
    ck_assert_str_eq(attr_get(reply, "echo"), "a");
    close(a);
    close(b);
    vbuf_free(pa);
    vbuf_free(pb);
}
END_TEST

START_TEST(test_eof_while_deferred)
{
    VBUF *pending = vbuf_create(100);
    int fd = connect_greeted(pending);

    /* The client has said all it will: the reply still comes, then EOF. */
    raw_write(fd, "request=later\ndelay=200\necho=last\n\n");
    shutdown(fd, SHUT_WR);
    ck_assert_int_eq(raw_read(fd, pending, 2000), 1);
    ck_assert_str_eq(attr_get(reply, "echo"), "last");
    ck_assert_int_eq(raw_read(fd, pending, 2000), 0);
    close(fd);
    vbuf_free(pending);
}
END_TEST

START_TEST(test_client_gone)
{
    VBUF *pa = vbuf_create(100), *pb = vbuf_create(100);
    int a = connect_greeted(pa), b = connect_greeted(pb), i;
    long count = 0;

    raw_write(a, "request=later\ndelay=100\necho=a\n\n");
    close(a);
    /* While its reply is deferred the client is not read: the server
     * finds it gone when it writes the answer, and closes it then. */
    for (i = 0; i < 100 && count == 0; i++) {
        usleep(20000);
        raw_write(b, "request=gone\n\n");
        ck_assert_int_eq(raw_read(b, pb, 2000), 1);
        ck_assert_int_eq(attr_get_long(reply, "closed", &count), 0);
    }
    ck_assert_int_eq(count, 1);
    ck_assert_int_eq(attr_get_long(reply, "gone", &count), 0);
    ck_assert_int_eq(count, 0);
    close(b);
    vbuf_free(pa);
    vbuf_free(pb);
}
END_TEST

START_TEST(test_idle_timeout_after_answer)
{
    VBUF *pending = vbuf_create(100);
    int fd = connect_greeted(pending);
    long long start;

    /* Deferred longer than the idle timeout (300 ms): not closed. */
    raw_write(fd, "request=later\ndelay=600\necho=x\n\n");
    ck_assert_int_eq(raw_read(fd, pending, 2000), 1);
    ck_assert_str_eq(attr_get(reply, "echo"), "x");
    /* Afterwards the idle timeout runs again. */
    start = monotime_ms();
    ck_assert_int_eq(raw_read(fd, pending, 2000), 0);
    ck_assert_int_ge(monotime_ms() - start, 200);
    close(fd);
    vbuf_free(pending);
}
END_TEST

static Suite *
attr_serv_defer_suite(void)
{
    Suite *s = suite_create("attr_serv_defer");
    TCase *tc = tcase_create("defer");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_deferred_in_order);
    tcase_add_test(tc, test_others_not_held_up);
    tcase_add_test(tc, test_eof_while_deferred);
    tcase_add_test(tc, test_client_gone);
    tcase_add_test(tc, test_idle_timeout_after_answer);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(attr_serv_defer_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
