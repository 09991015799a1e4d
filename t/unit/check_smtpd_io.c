/* Unit tests for smtpd's session I/O (smtpd/smtpd_io.c): the command line
 * reader over a real socket, with the client's bytes written by the test
 * (or, when they must arrive in separate reads, by a forked writer). */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "fixture.h"
#include "mymalloc.h"
#include "smtpd/smtpd.h"
#include "vbuf.h"

#define PAUSE_MS    30          /* between chunks: separate reads */

static int sv[2] = {-1, -1};    /* [0] smtpd's end, [1] the client's */
static SMTPD_STATE *state;
static VBUF *line;
static pid_t writer = -1;

static void
setup(void)
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    conf_activate(conf_defaults());
    state = smtpd_state_create(sv[0], "smtp");
    line = vbuf_create(100);
}

static void
teardown(void)
{
    int status;

    if (writer > 0) {
        kill(writer, SIGKILL);
        waitpid(writer, &status, 0);
        writer = -1;
    }
    if (state->fd >= 0)
        close(state->fd);
    state = smtpd_state_free(state);
    if (sv[1] >= 0)
        close(sv[1]);
    sv[0] = sv[1] = -1;
    vbuf_free(line);
    conf_free(conf_activate(NULL));
    fixture_dir_remove();
}

/* Replaces the defaults with a main.cf of the given text. */
static void
use_config(const char *text)
{
    fixture_dir_create("check_smtpd_io");
    conf_free(conf_activate(fixture_conf_load(text)));
}

static void
send_all(const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(sv[1], data, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(2);
        data += n;
        len -= (size_t) n;
    }
}

static void
send_str(const char *s)
{
    send_all(s, strlen(s));
}

/* Writes the chunks from a child process, pause_ms apart, so that each
 * arrives in a read of its own.  With close_after the client's end is
 * closed once the last chunk is out. */
static void
feed_slowly(const char *const *chunks, int close_after, long pause_ms)
{
    ck_assert_int_ge(writer = fork(), 0);
    if (writer == 0) {
        close(sv[0]);
        for (; *chunks; chunks++) {
            struct timespec ts = {pause_ms / 1000, pause_ms % 1000 * 1000000L};

            send_str(*chunks);
            nanosleep(&ts, NULL);
        }
        _exit(0);
    }
    if (close_after) {
        close(sv[1]);
        sv[1] = -1;
    }
}

static void
feed(const char *const *chunks, int close_after)
{
    feed_slowly(chunks, close_after, PAUSE_MS);
}

static const char *
status_name(int status)
{
    static const char *names[] = {
        "OK", "TOOLONG", "BARE_LF", "BARE_CR", "EOF", "TIMEOUT", "ERROR",
    };

    return status >= 0 && status <= SMTPD_IO_ERROR ? names[status] : "?";
}

/* Reads one line and asserts its status and, for OK, its text. */
static void
expect_line(int want, const char *text)
{
    int got = smtpd_io_line(state, line);

    ck_assert_msg(got == want, "smtpd_io_line: got %s, want %s",
                  status_name(got), status_name(want));
    if (want == SMTPD_IO_OK) {
        ck_assert_uint_eq(vbuf_len(line), strlen(text));
        ck_assert_str_eq(vbuf_str(line), text);
    }
}

/* A string of n copies of ch, followed by tail. */
static char *
repeat(int ch, size_t n, const char *tail)
{
    size_t tail_len = strlen(tail);
    char *s = mymalloc(n + tail_len + 1);

    memset(s, ch, n);
    memcpy(s + n, tail, tail_len + 1);
    return s;
}

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

START_TEST(test_one_line)
{
    send_str("HELO client.example.org\r\n");
    expect_line(SMTPD_IO_OK, "HELO client.example.org");
    ck_assert_int_eq(smtpd_io_pending(state), 0);
}
END_TEST

START_TEST(test_empty_line)
{
    send_str("\r\nNOOP\r\n");
    expect_line(SMTPD_IO_OK, "");
    expect_line(SMTPD_IO_OK, "NOOP");
}
END_TEST

START_TEST(test_split_across_writes)
{
    static const char *const chunks[] = {
        "HE", "LO cli", "ent.example.org", "\r\n", "NO", "OP\r\nRS", "ET\r\n", NULL,
    };

    feed(chunks, 0);
    expect_line(SMTPD_IO_OK, "HELO client.example.org");
    expect_line(SMTPD_IO_OK, "NOOP");
    expect_line(SMTPD_IO_OK, "RSET");
}
END_TEST

START_TEST(test_cr_at_chunk_end)
{
    static const char *const chunks[] = {
        "NOOP\r", "\nRSET\r", "\n", "QUIT\r", "X\r\n", NULL,
    };

    feed(chunks, 0);
    expect_line(SMTPD_IO_OK, "NOOP");
    expect_line(SMTPD_IO_OK, "RSET");
    /* CR, then in the next read not LF: a bare CR after all. */
    expect_line(SMTPD_IO_BARE_CR, NULL);
    expect_line(SMTPD_IO_OK, "X");
}
END_TEST

START_TEST(test_bare_lf)
{
    send_str("NOOP\nRSET\r\n\nQUIT\r\n");
    expect_line(SMTPD_IO_BARE_LF, NULL);
    expect_line(SMTPD_IO_OK, "RSET");
    expect_line(SMTPD_IO_BARE_LF, NULL);
    expect_line(SMTPD_IO_OK, "QUIT");
}
END_TEST

START_TEST(test_bare_lf_split)
{
    static const char *const chunks[] = {"NO", "OP\n", "RSET\r\n", NULL};

    feed(chunks, 0);
    expect_line(SMTPD_IO_BARE_LF, NULL);
    expect_line(SMTPD_IO_OK, "RSET");
}
END_TEST

START_TEST(test_bare_cr)
{
    send_str("NO\rOP\r\n\r\r\nRSET\r\n");
    expect_line(SMTPD_IO_BARE_CR, NULL);
    expect_line(SMTPD_IO_OK, "OP");
    expect_line(SMTPD_IO_BARE_CR, NULL);
    expect_line(SMTPD_IO_OK, "");
    expect_line(SMTPD_IO_OK, "RSET");
}
END_TEST

START_TEST(test_lf_cr)
{
    /* LF CR is not a line end either. */
    send_str("NOOP\n\rRSET\r\n");
    expect_line(SMTPD_IO_BARE_LF, NULL);
    expect_line(SMTPD_IO_BARE_CR, NULL);
    expect_line(SMTPD_IO_OK, "RSET");
}
END_TEST

START_TEST(test_nul_kept)
{
    /* The reader hands a NUL on; the session refuses the command. */
    send_all("NO\0OP\r\n", 7);
    ck_assert_int_eq(smtpd_io_line(state, line), SMTPD_IO_OK);
    ck_assert_uint_eq(vbuf_len(line), 5);
    ck_assert_int_eq(memcmp(vbuf_str(line), "NO\0OP", 5), 0);
}
END_TEST

START_TEST(test_512_octets)
{
    /* RFC 5321 4.5.3.1.4: 512 octets including the CR LF. */
    char *text = repeat('a', 510, "");
    char *cmd = repeat('a', 510, "\r\n");

    send_str(cmd);
    expect_line(SMTPD_IO_OK, text);
    myfree(text);
    myfree(cmd);
}
END_TEST

START_TEST(test_line_max)
{
    char *text = repeat('b', SMTPD_LINE_MAX, "");
    char *cmd = repeat('b', SMTPD_LINE_MAX, "\r\nNOOP\r\n");

    send_str(cmd);
    expect_line(SMTPD_IO_OK, text);
    expect_line(SMTPD_IO_OK, "NOOP");
    myfree(text);
    myfree(cmd);
}
END_TEST

START_TEST(test_line_max_split)
{
    char *text = repeat('b', SMTPD_LINE_MAX, "");
    char *head = repeat('b', SMTPD_LINE_MAX - 48, "");
    const char *chunks[] = {head, text + SMTPD_LINE_MAX - 48, "\r", "\nNOOP\r\n", NULL};

    feed(chunks, 0);
    expect_line(SMTPD_IO_OK, text);
    expect_line(SMTPD_IO_OK, "NOOP");
    myfree(text);
    myfree(head);
}
END_TEST

START_TEST(test_too_long_whole)
{
    /* One octet too many, the whole line in one read. */
    char *cmd = repeat('c', SMTPD_LINE_MAX + 1, "\r\nNOOP\r\n");

    send_str(cmd);
    expect_line(SMTPD_IO_TOOLONG, NULL);
    expect_line(SMTPD_IO_OK, "NOOP");
    myfree(cmd);
}
END_TEST

START_TEST(test_too_long_split)
{
    char *part = repeat('d', 1000, "");
    const char *chunks[] = {part, part, part, part, part, "\r\nNOOP\r\n", NULL};

    feed(chunks, 0);
    expect_line(SMTPD_IO_TOOLONG, NULL);
    expect_line(SMTPD_IO_OK, "NOOP");
    myfree(part);
}
END_TEST

START_TEST(test_too_long_one_over)
{
    char *part = repeat('d', SMTPD_LINE_MAX + 1, "");
    const char *chunks[] = {part, "\r\nNOOP\r\n", NULL};

    feed(chunks, 0);
    expect_line(SMTPD_IO_TOOLONG, NULL);
    expect_line(SMTPD_IO_OK, "NOOP");
    myfree(part);
}
END_TEST

START_TEST(test_too_long_cr_at_chunk_end)
{
    char *part = repeat('e', 3000, "\r");
    const char *chunks[] = {part, "\nNOOP\r\n", NULL};

    feed(chunks, 0);
    expect_line(SMTPD_IO_TOOLONG, NULL);
    expect_line(SMTPD_IO_OK, "NOOP");
    myfree(part);
}
END_TEST

START_TEST(test_too_long_huge)
{
    /* Far more than the input buffer: reported once, then in step. */
    char *part = repeat('f', 4 * SMTPD_INBUF_SIZE + 17, "\r\nNOOP\r\nRSET\r\n");
    const char *chunks[] = {part, NULL};

    feed(chunks, 0);
    expect_line(SMTPD_IO_TOOLONG, NULL);
    expect_line(SMTPD_IO_OK, "NOOP");
    expect_line(SMTPD_IO_OK, "RSET");
    myfree(part);
}
END_TEST

START_TEST(test_too_long_then_bare_lf)
{
    /* A bare LF ends the discarding as well: it is reported instead. */
    char *part = repeat('g', 3000, "");
    const char *chunks[] = {part, "\nNOOP\r\n", NULL};

    feed(chunks, 0);
    expect_line(SMTPD_IO_BARE_LF, NULL);
    expect_line(SMTPD_IO_OK, "NOOP");
    myfree(part);
}
END_TEST

START_TEST(test_pipelined)
{
    send_str("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\n"
             "RCPT TO:<c@example.com>\r\nDATA\r\n");
    expect_line(SMTPD_IO_OK, "MAIL FROM:<a@example.org>");
    ck_assert_int_eq(smtpd_io_pending(state), 1);
    expect_line(SMTPD_IO_OK, "RCPT TO:<b@example.com>");
    expect_line(SMTPD_IO_OK, "RCPT TO:<c@example.com>");
    ck_assert_int_eq(smtpd_io_pending(state), 1);
    expect_line(SMTPD_IO_OK, "DATA");
    ck_assert_int_eq(smtpd_io_pending(state), 0);
}
END_TEST

START_TEST(test_many_pipelined)
{
    /* More lines than fit in one buffer's worth of input. */
    VBUF *all = vbuf_create(1024);
    const char *chunks[] = {NULL, NULL};
    char want[32];
    int i;

    for (i = 0; i < 20000; i++)
        vbuf_printf(all, "NOOP %d\r\n", i);
    chunks[0] = vbuf_str(all);
    feed(chunks, 1);
    for (i = 0; i < 20000; i++) {
        snprintf(want, sizeof(want), "NOOP %d", i);
        expect_line(SMTPD_IO_OK, want);
    }
    expect_line(SMTPD_IO_EOF, NULL);
    vbuf_free(all);
}
END_TEST

START_TEST(test_eof)
{
    send_str("NOOP\r\n");
    close(sv[1]);
    sv[1] = -1;
    expect_line(SMTPD_IO_OK, "NOOP");
    expect_line(SMTPD_IO_EOF, NULL);
    ck_assert_int_eq(state->io_status, SMTPD_IO_EOF);
}
END_TEST

START_TEST(test_eof_mid_line)
{
    static const char *const chunks[] = {"NOOP\r\nQU", "IT", NULL};

    feed(chunks, 1);
    expect_line(SMTPD_IO_OK, "NOOP");
    expect_line(SMTPD_IO_EOF, NULL);
}
END_TEST

START_TEST(test_eof_after_cr)
{
    send_str("NOOP\r");
    close(sv[1]);
    sv[1] = -1;
    expect_line(SMTPD_IO_EOF, NULL);
}
END_TEST

START_TEST(test_timeout)
{
    double start;

    use_config("smtpd_timeout = 1s\n");
    start = now();
    expect_line(SMTPD_IO_TIMEOUT, NULL);
    ck_assert_double_ge(now() - start, 0.9);
    ck_assert_double_lt(now() - start, 3.0);
    ck_assert_int_eq(state->io_status, SMTPD_IO_TIMEOUT);
}
END_TEST

START_TEST(test_timeout_mid_line)
{
    double start;

    use_config("smtpd_timeout = 1s\n");
    send_str("NOOP\r\nMAIL FROM:<a@exa");
    expect_line(SMTPD_IO_OK, "NOOP");
    start = now();
    expect_line(SMTPD_IO_TIMEOUT, NULL);
    ck_assert_double_ge(now() - start, 0.9);
    ck_assert_double_lt(now() - start, 3.0);
}
END_TEST

START_TEST(test_timeout_is_per_read)
{
    /* A slow client that keeps sending is not timed out: the deadline is
     * for each read, here 2 s for the line in all. */
    static const char *const chunks[] = {
        "NO", "O", "P", "\r", "\n", NULL,
    };

    use_config("smtpd_timeout = 1s\n");
    feed_slowly(chunks, 0, 500);
    expect_line(SMTPD_IO_OK, "NOOP");
}
END_TEST

START_TEST(test_replies_buffered)
{
    struct pollfd pfd = {.fd = -1,.events = POLLIN };
    char buf[256];
    ssize_t n;

    pfd.fd = sv[1];
    smtpd_reply(state, "250-%s", "first");
    smtpd_reply(state, "250 %s", "second");
    ck_assert_int_eq(poll(&pfd, 1, 0), 0);
    ck_assert_int_eq(smtpd_flush(state), 0);
    n = read(sv[1], buf, sizeof(buf) - 1);
    ck_assert_int_eq(n, 23);
    buf[n] = 0;
    ck_assert_str_eq(buf, "250-first\r\n250 second\r\n");
}
END_TEST

START_TEST(test_read_flushes)
{
    char buf[256];
    ssize_t n;

    /* The client waits for our reply: reading must send it first. */
    smtpd_reply(state, "220 ready");
    send_str("NOOP\r\n");
    expect_line(SMTPD_IO_OK, "NOOP");
    n = read(sv[1], buf, sizeof(buf) - 1);
    ck_assert_int_eq(n, 11);
    buf[n] = 0;
    ck_assert_str_eq(buf, "220 ready\r\n");
}
END_TEST

START_TEST(test_flush_peer_gone)
{
    close(sv[1]);
    sv[1] = -1;
    smtpd_reply(state, "250 Ok");
    ck_assert_int_eq(smtpd_flush(state), -1);
    ck_assert_uint_eq(vbuf_len(state->out), 0);
}
END_TEST

/* A client that sends but never reads our replies cannot hold the
 * worker for longer than smtpd_timeout: the send gives up. */
START_TEST(test_flush_client_not_reading)
{
    char   *big = repeat('x', 4096, "");
    double  start;
    int     i, rc = 0;

    use_config("smtpd_timeout = 1s\n");
    start = now();
    for (i = 0; i < 10000 && rc == 0; i++) {
        smtpd_reply(state, "250-%s", big);
        rc = smtpd_flush(state);
    }
    ck_assert_int_eq(rc, -1);
    ck_assert_double_ge(now() - start, 0.9);
    ck_assert_double_lt(now() - start, 3.0);
    myfree(big);
}
END_TEST

START_TEST(test_close)
{
    char buf[256];
    ssize_t n;

    smtpd_reply(state, "221 2.0.0 Bye");
    send_str("NOOP\r\n");           /* unread: drained, not reset */
    smtpd_io_close(state);
    ck_assert_int_eq(state->fd, -1);
    n = read(sv[1], buf, sizeof(buf) - 1);
    ck_assert_int_eq(n, 15);
    buf[n] = 0;
    ck_assert_str_eq(buf, "221 2.0.0 Bye\r\n");
    ck_assert_int_eq(read(sv[1], buf, sizeof(buf)), 0);
}
END_TEST

static Suite *
smtpd_io_suite(void)
{
    Suite *s = suite_create("smtpd_io");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_one_line);
    tcase_add_test(tc, test_empty_line);
    tcase_add_test(tc, test_split_across_writes);
    tcase_add_test(tc, test_cr_at_chunk_end);
    tcase_add_test(tc, test_bare_lf);
    tcase_add_test(tc, test_bare_lf_split);
    tcase_add_test(tc, test_bare_cr);
    tcase_add_test(tc, test_lf_cr);
    tcase_add_test(tc, test_nul_kept);
    tcase_add_test(tc, test_512_octets);
    tcase_add_test(tc, test_line_max);
    tcase_add_test(tc, test_line_max_split);
    tcase_add_test(tc, test_too_long_whole);
    tcase_add_test(tc, test_too_long_split);
    tcase_add_test(tc, test_too_long_one_over);
    tcase_add_test(tc, test_too_long_cr_at_chunk_end);
    tcase_add_test(tc, test_too_long_huge);
    tcase_add_test(tc, test_too_long_then_bare_lf);
    tcase_add_test(tc, test_pipelined);
    tcase_add_test(tc, test_many_pipelined);
    tcase_add_test(tc, test_eof);
    tcase_add_test(tc, test_eof_mid_line);
    tcase_add_test(tc, test_eof_after_cr);
    tcase_add_test(tc, test_timeout);
    tcase_add_test(tc, test_timeout_mid_line);
    tcase_add_test(tc, test_timeout_is_per_read);
    tcase_add_test(tc, test_replies_buffered);
    tcase_add_test(tc, test_read_flushes);
    tcase_add_test(tc, test_flush_peer_gone);
    tcase_add_test(tc, test_flush_client_not_reading);
    tcase_add_test(tc, test_close);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(smtpd_io_suite());
    int failed;

    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
