/* Whole SMTP sessions without master: smtpd_session() runs in a forked
 * child on one end of a socketpair, with a configuration and a queue in a
 * temporary directory; the test is the client on the other end, states
 * the exact replies it expects, and reads what was queued back with
 * queue_read().  Longer than most files: every test drives the same
 * forked session with the same client helpers, which suites split by
 * command would each have to repeat. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "fixture.h"
#include "msg.h"
#include "mymalloc.h"
#include "queue_dir.h"
#include "queue_id.h"
#include "queue_read.h"
#include "smtpd/smtpd.h"
#include "tarpit_clnt.h"
#include "vbuf.h"

#define CLIENT_ADDR     "192.0.2.10"        /* not in relay_networks */
#define WAIT_MS         8000                /* for any one reply */

/* Every session's main.cf starts with this; %s is the directory. */
#define BASE_CF \
    "myhostname = mx.example.com\n" \
    "local_domains = example.com\n" \
    "queue_directory = %s/queue\n" \
    "data_directory = %s/data\n" \
    "run_directory = %s/run\n" \
    "smtpd_greet_wait = 0\n" \
    "smtpd_timeout = 2s\n" \
    "smtpd_soft_error_limit = 10\n" \
    "smtpd_hard_error_limit = 12\n" \
    "message_size_limit = 100000\n"

#define GREETING    "220 mx.example.com ESMTP\r\n"
#define EHLO_REPLY  "250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 100000\r\n" \
                    "250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"

static const char *dir;
static int client = -1;
static pid_t server = -1;
static VBUF *pending;               /* received, not yet expected */
static char queue_id[QUEUE_ID_LEN + 1];

static void
setup(void)
{
    char path[128];
    VBUF *why = vbuf_create(100);

    dir = fixture_dir_create("check_smtpd_session");
    snprintf(path, sizeof(path), "%s/queue", dir);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    ck_assert_msg(queue_dir_init(path, why) == 0, "%s", vbuf_str(why));
    vbuf_free(why);
    pending = vbuf_create(1024);
    queue_id[0] = 0;
}

static void
teardown(void)
{
    int status;

    if (server > 0) {
        kill(server, SIGKILL);
        waitpid(server, &status, 0);
        server = -1;
    }
    if (client >= 0)
        close(client);
    client = -1;
    vbuf_free(pending);
    fixture_dir_remove();
}

/* Writes main.cf (BASE_CF and extra) and loads it. */
static CONFIG *
load_config(const char *extra)
{
    VBUF *text = vbuf_create(1024);
    CONFIG *conf;

    vbuf_printf(text, BASE_CF, dir, dir, dir);
    vbuf_printf(text, "%s", extra);
    conf = fixture_conf_load(vbuf_str(text));
    vbuf_free(text);
    return conf;
}

/* Starts smtpd_session() for a client at addr in a child.  What the
 * client sent before (pre_greet) is already waiting when it starts. */
static void
start_with(const char *addr, const char *extra, const char *pre_greet)
{
    CONFIG *conf = load_config(extra);
    int sv[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    if (pre_greet)
        ck_assert_int_eq(write(sv[1], pre_greet, strlen(pre_greet)),
                         (ssize_t) strlen(pre_greet));
    ck_assert_int_ge(server = fork(), 0);
    if (server == 0) {
        char log_path[128];
        SMTPD_STATE *state;

        close(sv[1]);
        snprintf(log_path, sizeof(log_path), "%s/smtpd.log", dir);
        if (msg_open(log_path) < 0)
            _exit(3);
        conf_activate(conf);
        state = smtpd_state_create(sv[0], "smtp");
        snprintf(state->addr, sizeof(state->addr), "%s", addr);
        smtpd_session(state);
        smtpd_state_free(state);
        conf_free(conf_activate(NULL));
        exit(0);                        /* not _exit: let LSan look */
    }
    close(sv[0]);
    conf_free(conf);
    client = sv[1];
}

static void
start(const char *extra)
{
    start_with(CLIENT_ADDR, extra, NULL);
}

static void
say(const char *text)
{
    size_t len = strlen(text);

    ck_assert_int_eq(write(client, text, len), (ssize_t) len);
}

/* Reads once, within WAIT_MS; 0 at EOF. */
static ssize_t
receive(void)
{
    struct pollfd pfd = {.fd = -1,.events = POLLIN };
    char buf[8192];
    ssize_t n;

    pfd.fd = client;
    ck_assert_msg(poll(&pfd, 1, WAIT_MS) == 1, "no reply; have \"%s\"",
                  vbuf_str(pending));
    n = read(client, buf, sizeof(buf));
    ck_assert_int_ge(n, 0);
    vbuf_append(pending, buf, (size_t) n);
    return n;
}

static int
count_lines(const char *s, size_t len)
{
    int n = 0;
    size_t i;

    for (i = 0; i + 1 < len; i++)
        n += s[i] == '\r' && s[i + 1] == '\n';
    return n;
}

/* Takes the next lines (as many as want has) and compares them. */
static void
expect(const char *want)
{
    int lines = count_lines(want, strlen(want));
    size_t len;
    char *got;

    while (count_lines(vbuf_str(pending), vbuf_len(pending)) < lines)
        ck_assert_msg(receive() > 0, "EOF; wanted \"%s\", have \"%s\"", want,
                      vbuf_str(pending));
    for (len = 0; lines > 0; len++) {
        if (pending->data[len] == '\r' && pending->data[len + 1] == '\n') {
            len++;
            lines--;
        }
    }
    got = mystrndup(vbuf_str(pending), len);
    ck_assert_str_eq(got, want);
    myfree(got);
    memmove(pending->data, pending->data + len, vbuf_len(pending) - len);
    pending->len -= len;
    pending->data[pending->len] = 0;
}

/* The next reply must arrive in one piece, as one write would send it. */
static void
expect_one_read(const char *want)
{
    ck_assert_uint_eq(vbuf_len(pending), 0);
    receive();
    ck_assert_str_eq(vbuf_str(pending), want);
    vbuf_reset(pending);
}

/* "250 2.0.0 Ok: queued as ID"; remembers the ID. */
static void
expect_queued(void)
{
    static const char prefix[] = "250 2.0.0 Ok: queued as ";
    const char *id;

    while (count_lines(vbuf_str(pending), vbuf_len(pending)) < 1)
        ck_assert_msg(receive() > 0, "EOF; have \"%s\"", vbuf_str(pending));
    ck_assert_msg(strncmp(vbuf_str(pending), prefix, sizeof(prefix) - 1) == 0,
                  "got \"%s\"", vbuf_str(pending));
    id = vbuf_str(pending) + sizeof(prefix) - 1;
    ck_assert_int_eq(strcspn(id, "\r"), QUEUE_ID_LEN);
    memcpy(queue_id, id, QUEUE_ID_LEN);
    queue_id[QUEUE_ID_LEN] = 0;
    ck_assert(queue_id_valid(queue_id));
    id += QUEUE_ID_LEN;
    ck_assert_msg(strncmp(id, "\r\n", 2) == 0, "got \"%s\"", vbuf_str(pending));
    memmove(pending->data, id + 2, strlen(id + 2) + 1);
    pending->len = strlen(pending->data);
}

/* The server closes the connection, and ends well. */
static void
expect_eof(void)
{
    int status;

    ck_assert_msg(receive() == 0, "more data: \"%s\"", vbuf_str(pending));
    ck_assert_uint_eq(vbuf_len(pending), 0);
    ck_assert_int_eq(waitpid(server, &status, 0), server);
    server = -1;
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "smtpd_session child: status 0x%x", status);
}

/* The greeting, then EHLO client.example.org and its reply. */
static void
start_ehlo(const char *extra)
{
    start(extra);
    expect(GREETING);
    say("EHLO client.example.org\r\n");
    expect(EHLO_REPLY);
}

/* MAIL FROM:<a@example.org>, RCPT TO:<b@example.com> and DATA, each
 * accepted. */
static void
begin_data(void)
{
    say("MAIL FROM:<a@example.org>\r\n");
    expect("250 2.1.0 Ok\r\n");
    say("RCPT TO:<b@example.com>\r\n");
    expect("250 2.1.5 Ok\r\n");
    say("DATA\r\n");
    expect("354 End data with <CR><LF>.<CR><LF>\r\n");
}

/* QUIT, its reply, and the end of the session. */
static void
quit(void)
{
    say("QUIT\r\n");
    expect("221 2.0.0 Bye\r\n");
    expect_eof();
}

/* The session log, once the server has ended. */
static char *
read_log(void)
{
    return fixture_read("smtpd.log", NULL);
}

static void
log_has(const char *want)
{
    char *text = read_log();

    ck_assert_msg(strstr(text, want) != NULL, "log lacks \"%s\":\n%s", want, text);
    myfree(text);
}

/* Files in queue/sub. */
static int
queue_count(const char *sub)
{
    char path[128];
    struct dirent *dp;
    DIR *dirp;
    int n = 0;

    snprintf(path, sizeof(path), "%s/queue/%s", dir, sub);
    ck_assert_ptr_nonnull(dirp = opendir(path));
    while ((dp = readdir(dirp)) != NULL)
        n += dp->d_name[0] != '.';
    closedir(dirp);
    return n;
}

static int
incoming_count(void)
{
    return queue_count(QUEUE_DIR_INCOMING);
}

/* Reads the queue file of queue_id into env and its message into msg. */
static void
read_queued(QUEUE_ENVELOPE *env, VBUF *msg)
{
    char path[256];
    VBUF *why = vbuf_create(100);
    char *buf;
    int fd;

    snprintf(path, sizeof(path), "%s/queue/%s/%s", dir, QUEUE_DIR_INCOMING, queue_id);
    ck_assert_msg(queue_read(path, env, why) == QUEUE_READ_OK, "%s: %s",
                  path, vbuf_str(why));
    buf = mymalloc((size_t) env->message_length + 1);
    ck_assert_int_ge(fd = open(path, O_RDONLY), 0);
    ck_assert_int_eq(pread(fd, buf, (size_t) env->message_length, env->message_offset),
                     env->message_length);
    close(fd);
    vbuf_reset(msg);
    vbuf_append(msg, buf, (size_t) env->message_length);
    myfree(buf);
    vbuf_free(why);
}

/* The message must be our Received: header, then exactly body. */
static void
assert_message(VBUF *msg, const char *helo, const char *proto,
               const char *for_rcpt, const char *body)
{
    VBUF *head = vbuf_create(256);
    const char *text = vbuf_str(msg);
    const char *end;

    vbuf_printf(head, "Received: from %s (unknown [%s])\r\n"
                "\tby mx.example.com (Alligate) with %s id %s", helo,
                CLIENT_ADDR, proto, queue_id);
    if (for_rcpt)
        vbuf_printf(head, "\r\n\tfor <%s>", for_rcpt);
    vbuf_printf(head, "; ");
    ck_assert_msg(strncmp(text, vbuf_str(head), vbuf_len(head)) == 0,
                  "message starts \"%.300s\"", text);
    /* The date, then the client's message as it sent it, unstuffed. */
    ck_assert_ptr_nonnull(end = strstr(text + vbuf_len(head), "\r\n"));
    ck_assert_str_eq(end + 2, body);
    vbuf_free(head);
}

START_TEST(test_greeting_quit)
{
    start("");
    expect(GREETING);
    quit();
    log_has("connect from unknown[" CLIENT_ADDR "]");
    log_has("disconnect from unknown[" CLIENT_ADDR "] quit=1 commands=1");
}
END_TEST

START_TEST(test_full_transaction)
{
    QUEUE_ENVELOPE env;
    VBUF *msg = vbuf_create(1024);

    start_ehlo("");
    say("MAIL FROM:<sender@example.org>\r\n");
    expect("250 2.1.0 Ok\r\n");
    say("RCPT TO:<rcpt@example.com>\r\n");
    expect("250 2.1.5 Ok\r\n");
    say("DATA\r\n");
    expect("354 End data with <CR><LF>.<CR><LF>\r\n");
    say("Subject: test\r\n\r\nHello\r\n..dot-stuffed\r\n");
    say(".\r\n");
    expect_queued();
    quit();

    ck_assert_int_eq(incoming_count(), 1);
    read_queued(&env, msg);
    ck_assert_str_eq(env.sender, "sender@example.org");
    ck_assert_uint_eq(env.rcpt_count, 1);
    ck_assert_str_eq(env.rcpt[0].address, "rcpt@example.com");
    ck_assert_int_eq(env.rcpt[0].status, QUEUE_RCPT_PENDING);
    ck_assert_str_eq(env.helo, "client.example.org");
    ck_assert_str_eq(env.protocol, "ESMTP");
    ck_assert_str_eq(env.client_addr, CLIENT_ADDR);
    ck_assert_ptr_null(env.client_name);
    ck_assert_int_eq(env.size, -1);
    ck_assert_int_le(env.arrival, time(NULL));
    ck_assert_int_gt(env.arrival, time(NULL) - 60);
    assert_message(msg, "client.example.org", "ESMTP", "rcpt@example.com",
                   "Subject: test\r\n\r\nHello\r\n.dot-stuffed\r\n");
    queue_read_free(&env);
    vbuf_free(msg);

    {
        char line[256];

        snprintf(line, sizeof(line), "%s: client=unknown[%s]", queue_id, CLIENT_ADDR);
        log_has(line);
        snprintf(line, sizeof(line), "%s: from=<sender@example.org>, size=", queue_id);
        log_has(line);
        log_has(", nrcpt=1\n");
        log_has("disconnect from unknown[" CLIENT_ADDR "] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5");
    }
}
END_TEST

START_TEST(test_helo_transaction)
{
    QUEUE_ENVELOPE env;
    VBUF *msg = vbuf_create(1024);

    start("");
    expect(GREETING);
    say("HELO client.example.org\r\n");
    expect("250 mx.example.com\r\n");
    /* Without EHLO there are no ESMTP parameters. */
    say("MAIL FROM:<sender@example.org> SIZE=100\r\n");
    expect("555 5.5.4 Unsupported option: SIZE=100\r\n");
    say("MAIL FROM:<>\r\n");
    expect("250 2.1.0 Ok\r\n");
    say("RCPT TO:<one@example.com>\r\n");
    expect("250 2.1.5 Ok\r\n");
    say("RCPT TO:<Two@Example.COM>\r\n");
    expect("250 2.1.5 Ok\r\n");
    say("RCPT TO:<Postmaster>\r\n");
    expect("250 2.1.5 Ok\r\n");
    say("DATA\r\n");
    expect("354 End data with <CR><LF>.<CR><LF>\r\n");
    say("\r\n.\r\n");
    expect_queued();
    quit();

    read_queued(&env, msg);
    ck_assert_str_eq(env.sender, "");
    ck_assert_uint_eq(env.rcpt_count, 3);
    ck_assert_str_eq(env.rcpt[0].address, "one@example.com");
    ck_assert_str_eq(env.rcpt[1].address, "Two@Example.COM");
    ck_assert_str_eq(env.rcpt[2].address, "Postmaster");
    ck_assert_str_eq(env.protocol, "SMTP");
    assert_message(msg, "client.example.org", "SMTP", NULL, "\r\n");
    queue_read_free(&env);
    vbuf_free(msg);
}
END_TEST

START_TEST(test_pipelining)
{
    QUEUE_ENVELOPE env;
    VBUF *msg = vbuf_create(1024);

    start_ehlo("");
    /* RFC 2920: a whole group in one write, the replies in one. */
    say("MAIL FROM:<a@example.org> SIZE=40\r\n"
        "RCPT TO:<b@example.com>\r\n"
        "RCPT TO:<c@example.org>\r\n"
        "RCPT TO:<d@example.com>\r\n"
        "DATA\r\n");
    expect_one_read("250 2.1.0 Ok\r\n"
                    "250 2.1.5 Ok\r\n"
                    "554 5.7.1 <c@example.org>: Relay access denied\r\n"
                    "250 2.1.5 Ok\r\n"
                    "354 End data with <CR><LF>.<CR><LF>\r\n");
    say("Subject: pipelined\r\n\r\nbody\r\n.\r\nMAIL FROM:<e@example.org>\r\n"
        "RCPT TO:<f@example.com>\r\nRSET\r\nNOOP\r\nQUIT\r\n");
    expect_queued();
    expect("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n"
           "221 2.0.0 Bye\r\n");
    expect_eof();

    ck_assert_int_eq(incoming_count(), 1);
    read_queued(&env, msg);
    ck_assert_str_eq(env.sender, "a@example.org");
    ck_assert_int_eq(env.size, 40);
    ck_assert_uint_eq(env.rcpt_count, 2);
    ck_assert_str_eq(env.rcpt[0].address, "b@example.com");
    ck_assert_str_eq(env.rcpt[1].address, "d@example.com");
    assert_message(msg, "client.example.org", "ESMTP", NULL,
                   "Subject: pipelined\r\n\r\nbody\r\n");
    queue_read_free(&env);
    vbuf_free(msg);
    log_has("NOQUEUE: reject: RCPT from unknown[" CLIENT_ADDR "]: 554 5.7.1 "
            "<c@example.org>: Relay access denied; from=<a@example.org> "
            "to=<c@example.org> proto=ESMTP helo=<client.example.org> "
            "rule=relay_access");
}
END_TEST

START_TEST(test_data_not_waited_for)
{
    /* DATA ends a group: text sent before the 354 is a client that does
     * not wait, and nothing may be queued from it. */
    start_ehlo("");
    say("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"
        "Subject: early\r\n\r\n.\r\n");
    expect("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
           "554 5.5.0 Error: SMTP protocol synchronization\r\n");
    expect_eof();
    ck_assert_int_eq(incoming_count(), 0);
    log_has("rule=pipelining");
}
END_TEST

START_TEST(test_simple_commands)
{
    start_ehlo("");
    say("RSET\r\n");
    expect("250 2.0.0 Ok\r\n");
    say("RSET now\r\n");
    expect("501 5.5.4 Syntax: RSET\r\n");
    say("NOOP\r\n");
    expect("250 2.0.0 Ok\r\n");
    say("noop with an argument\r\n");
    expect("250 2.0.0 Ok\r\n");
    say("VRFY someone\r\n");
    expect("252 2.0.0 Cannot VRFY user; try RCPT to attempt delivery\r\n");
    say("VRFY\r\n");
    expect("501 5.5.4 Syntax: VRFY address\r\n");
    say("HELP\r\n");
    expect("214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP\r\n");
    say("FOO bar\r\n");
    expect("500 5.5.2 Error: command not recognized\r\n");
    say("\r\n");
    expect("500 5.5.2 Error: command not recognized\r\n");
    say("EXPN list\r\n");
    expect("502 5.5.1 Error: command not implemented\r\n");
    say("NO\001OP\r\n");
    expect("500 5.5.2 Error: command not recognized\r\n");
    say("NOOP \001\r\n");
    expect("501 5.5.2 Syntax error: NUL or control character in command\r\n");
    say("quit\r\n");
    expect("221 2.0.0 Bye\r\n");
    expect_eof();
}
END_TEST

START_TEST(test_nul_in_command)
{
    start("");
    expect(GREETING);
    ck_assert_int_eq(write(client, "NOOP\0x\r\n", 8), 8);
    expect("501 5.5.2 Syntax error: NUL or control character in command\r\n");
    quit();
}
END_TEST

START_TEST(test_sequence_errors)
{
    start("");
    expect(GREETING);
    say("MAIL FROM:<a@example.org>\r\n");
    expect("503 5.5.1 Error: send HELO/EHLO first\r\n");
    say("HELO\r\n");
    expect("501 5.5.4 Syntax: HELO hostname\r\n");
    say("EHLO client.example.org\r\n");
    expect(EHLO_REPLY);
    say("RCPT TO:<b@example.com>\r\n");
    expect("503 5.5.1 Error: need MAIL command\r\n");
    say("DATA\r\n");
    expect("503 5.5.1 Error: need MAIL command\r\n");
    say("MAIL FROM:<a@example.org>\r\n");
    expect("250 2.1.0 Ok\r\n");
    say("MAIL FROM:<a@example.org>\r\n");
    expect("503 5.5.1 Error: nested MAIL command\r\n");
    say("RCPT TO:<b@example.com>\r\n");
    expect("250 2.1.5 Ok\r\n");
    say("RSET\r\n");
    expect("250 2.0.0 Ok\r\n");
    /* RSET ended the transaction. */
    say("RCPT TO:<b@example.com>\r\n");
    expect("503 5.5.1 Error: need MAIL command\r\n");
    say("MAIL FROM:<a@example.org>\r\n");
    expect("250 2.1.0 Ok\r\n");
    /* EHLO again resets it as well. */
    say("EHLO client.example.org\r\n");
    expect(EHLO_REPLY);
    say("DATA\r\n");
    expect("503 5.5.1 Error: need MAIL command\r\n");
    quit();
    ck_assert_int_eq(incoming_count(), 0);
}
END_TEST

START_TEST(test_data_without_recipients)
{
    start_ehlo("");
    say("MAIL FROM:<a@example.org>\r\n");
    expect("250 2.1.0 Ok\r\n");
    say("DATA\r\n");
    expect("503 5.5.1 Error: need RCPT command\r\n");
    say("RCPT TO:<b@example.net>\r\n");
    expect("554 5.7.1 <b@example.net>: Relay access denied\r\n");
    say("DATA\r\n");
    expect("554 5.5.1 Error: no valid recipients\r\n");
    quit();
}
END_TEST

START_TEST(test_relay_client)
{
    start_with("127.0.0.1", "", NULL);
    expect(GREETING);
    say("EHLO client.example.org\r\n");
    expect(EHLO_REPLY);
    say("MAIL FROM:<a@example.com>\r\n");
    expect("250 2.1.0 Ok\r\n");
    say("RCPT TO:<b@example.net>\r\n");
    expect("250 2.1.5 Ok\r\n");
    say("RCPT TO:<c%example.net@example.com>\r\n");
    expect("250 2.1.5 Ok\r\n");
    quit();
}
END_TEST

START_TEST(test_relay_tricks_refused)
{
    start_ehlo("");
    say("MAIL FROM:<a@example.org>\r\n");
    expect("250 2.1.0 Ok\r\n");
    say("RCPT TO:<b%example.net@example.com>\r\n");
    expect("554 5.7.1 <b%example.net@example.com>: Relay access denied\r\n");
    say("RCPT TO:<example.net!b@example.com>\r\n");
    expect("554 5.7.1 <example.net!b@example.com>: Relay access denied\r\n");
    say("RCPT TO:<@example.com:b@example.net>\r\n");
    expect("554 5.7.1 <b@example.net>: Relay access denied\r\n");
    say("RCPT TO:<\"b@example.net\"@example.com>\r\n");
    expect("554 5.7.1 <\"b@example.net\"@example.com>: Relay access denied\r\n");
    say("RCPT TO:<b@[192.0.2.1]>\r\n");
    expect("554 5.7.1 <b@[192.0.2.1]>: Relay access denied\r\n");
    quit();
}
END_TEST

START_TEST(test_local_recipients)
{
    char extra[256];

    fixture_write_str("recipients", "known@example.com\n# a comment\n@sub.example.com\n");
    snprintf(extra, sizeof(extra),
             "local_domains = example.com, sub.example.com\n"
             "local_recipients = %s/recipients\n", dir);
    start_ehlo(extra);
    say("MAIL FROM:<a@example.org>\r\n");
    expect("250 2.1.0 Ok\r\n");
    say("RCPT TO:<Known@Example.com>\r\n");
    expect("250 2.1.5 Ok\r\n");
    say("RCPT TO:<unknown@example.com>\r\n");
    expect("550 5.1.1 <unknown@example.com>: Recipient address rejected: User unknown\r\n");
    say("RCPT TO:<anyone@sub.example.com>\r\n");
    expect("250 2.1.5 Ok\r\n");
    quit();
    log_has("rule=local_recipients");
}
END_TEST

START_TEST(test_size_limits)
{
    VBUF *big = vbuf_create(200000);
    int i;

    start_ehlo("");
    say("MAIL FROM:<a@example.org> SIZE=100001\r\n");
    expect("552 5.3.4 Message size exceeds fixed limit\r\n");
    say("MAIL FROM:<a@example.org> SIZE=100000\r\n");
    expect("250 2.1.0 Ok\r\n");
    say("RCPT TO:<b@example.com>\r\n");
    expect("250 2.1.5 Ok\r\n");
    say("DATA\r\n");
    expect("354 End data with <CR><LF>.<CR><LF>\r\n");
    for (i = 0; i < 2000; i++)
        vbuf_printf(big, "%078d\r\n", i);
    say(vbuf_str(big));
    say(".\r\n");
    expect("552 5.3.4 Error: message file too big\r\n");
    /* The session goes on. */
    say("NOOP\r\n");
    expect("250 2.0.0 Ok\r\n");
    quit();
    ck_assert_int_eq(incoming_count(), 0);
    vbuf_free(big);
    log_has("rule=message_size_limit");
}
END_TEST

/* A queue file that cannot be written for another reason than a full
 * file system (here the file size limit: EFBIG) gets 451 4.3.0, not the
 * 452 4.3.1 of a full disk, and leaves nothing behind; the session goes
 * on. */
START_TEST(test_queue_write_error)
{
    VBUF *big = vbuf_create(60000);
    struct rlimit rl, old;
    int i;

    /* The session's child inherits the limit; this process keeps it
     * only until the fork. */
    signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    rl = old;
    rl.rlim_cur = 20000;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    start("");
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    expect(GREETING);
    say("EHLO client.example.org\r\n");
    expect(EHLO_REPLY);
    begin_data();
    for (i = 0; i < 600; i++)
        vbuf_printf(big, "%078d\r\n", i);
    say(vbuf_str(big));
    say(".\r\n");
    expect("451 4.3.0 Error: queue file write error\r\n");
    say("NOOP\r\n");
    expect("250 2.0.0 Ok\r\n");
    quit();
    ck_assert_int_eq(incoming_count(), 0);
    ck_assert_int_eq(queue_count(QUEUE_DIR_TMP), 0);
    log_has(": cannot commit queue file: write ");
    log_has(": File too large\n");
    vbuf_free(big);
}
END_TEST

/* No tmp/ to make the file in: 451 4.3.0 at DATA, before the 354. */
START_TEST(test_queue_create_error)
{
    char path[128];

    snprintf(path, sizeof(path), "%s/queue/%s", dir, QUEUE_DIR_TMP);
    ck_assert_int_eq(rmdir(path), 0);
    start_ehlo("");
    say("MAIL FROM:<a@example.org>\r\n");
    expect("250 2.1.0 Ok\r\n");
    say("RCPT TO:<b@example.com>\r\n");
    expect("250 2.1.5 Ok\r\n");
    say("DATA\r\n");
    expect("451 4.3.0 Error: queue file write error\r\n");
    quit();
    ck_assert_int_eq(incoming_count(), 0);
    log_has("warning: cannot create queue file: create ");
}
END_TEST

START_TEST(test_smuggling)
{
    /* A bare LF before the dot ends nothing: the session is dropped and
     * the message is not queued. */
    start_ehlo("");
    begin_data();
    say("Subject: x\r\n\r\nbody\n.\nMAIL FROM:<evil@example.org>\r\n");
    expect("521 5.5.2 Error: bare <LF> received\r\n");
    expect_eof();
    ck_assert_int_eq(incoming_count(), 0);
}
END_TEST

START_TEST(test_mail_loop)
{
    VBUF *msg = vbuf_create(4096);
    int i;

    start_ehlo("");
    begin_data();
    for (i = 0; i <= SMTPD_MAX_HOPS; i++)
        vbuf_printf(msg, "Received: from hop%d.example.net\r\n", i);
    vbuf_printf(msg, "\r\nlooping\r\n.\r\n");
    say(vbuf_str(msg));
    expect("554 5.4.6 Error: too many hops\r\n");
    quit();
    ck_assert_int_eq(incoming_count(), 0);
    log_has("rule=mail_loop");
    vbuf_free(msg);
}
END_TEST

START_TEST(test_timeout_in_data)
{
    start_ehlo("");
    begin_data();
    say("Subject: slow\r\n\r\nand then nothing");
    expect("421 4.4.2 mx.example.com Error: timeout exceeded\r\n");
    expect_eof();
    ck_assert_int_eq(incoming_count(), 0);
    log_has("timeout after DATA (");
}
END_TEST

START_TEST(test_command_bare_lf)
{
    start("");
    expect(GREETING);
    say("NOOP\n");
    expect("521 5.5.2 Error: bare <LF> received\r\n");
    expect_eof();
    log_has("rule=bare_newline");
}
END_TEST

START_TEST(test_command_bare_cr)
{
    start("");
    expect(GREETING);
    say("NOOP\rQUIT\r\n");
    expect("521 5.5.2 Error: bare <CR> received\r\n");
    expect_eof();
}
END_TEST

START_TEST(test_line_too_long)
{
    VBUF *line = vbuf_create(4096);

    start("");
    expect(GREETING);
    vbuf_printf(line, "NOOP %0*d\r\n", SMTPD_LINE_MAX, 0);
    say(vbuf_str(line));
    expect("500 5.5.2 Error: line too long\r\n");
    say("NOOP\r\n");
    expect("250 2.0.0 Ok\r\n");
    quit();
    vbuf_free(line);
}
END_TEST

START_TEST(test_hard_error_limit)
{
    int i;

    start("");
    expect(GREETING);
    for (i = 1; i < 12; i++) {
        say("BOGUS\r\n");
        expect("500 5.5.2 Error: command not recognized\r\n");
    }
    say("BOGUS\r\n");
    expect("500 5.5.2 Error: command not recognized\r\n"
           "421 4.7.0 mx.example.com Error: too many errors\r\n");
    expect_eof();
    log_has("too many errors after");
}
END_TEST

START_TEST(test_timeout)
{
    start("");
    expect(GREETING);
    say("NOOP\r\n");
    expect("250 2.0.0 Ok\r\n");
    expect("421 4.4.2 mx.example.com Error: timeout exceeded\r\n");
    expect_eof();
    log_has("timeout after NOOP from unknown[" CLIENT_ADDR "]");
}
END_TEST

START_TEST(test_lost_connection)
{
    start("");
    expect(GREETING);
    say("EHLO client.example.org\r\nMAIL FROM:<a@example.org>\r\n");
    expect(EHLO_REPLY "250 2.1.0 Ok\r\n");
    shutdown(client, SHUT_WR);
    expect_eof();
    log_has("lost connection after MAIL from unknown[" CLIENT_ADDR "]");
}
END_TEST

START_TEST(test_lost_in_data)
{
    start_ehlo("");
    begin_data();
    say("Subject: cut\r\n\r\nhalf a mess");
    shutdown(client, SHUT_WR);
    expect_eof();
    ck_assert_int_eq(incoming_count(), 0);
    /* Postfix's words, with the bytes received. */
    log_has("lost connection after DATA (27 bytes) from unknown[" CLIENT_ADDR "]");
}
END_TEST

/* A client that hangs up after its message, without QUIT: past the
 * message, in Postfix's words too. */
START_TEST(test_lost_after_message)
{
    start_ehlo("");
    begin_data();
    say("Subject: done\r\n\r\nbody\r\n.\r\n");
    expect_queued();
    shutdown(client, SHUT_WR);
    expect_eof();
    ck_assert_int_eq(incoming_count(), 1);
    log_has("lost connection after END-OF-MESSAGE from unknown[" CLIENT_ADDR "]");
}
END_TEST

START_TEST(test_pregreet)
{
    start_with(CLIENT_ADDR, "smtpd_greet_wait = 500ms\n", "EHLO early.example.org\r\n");
    expect("554 5.5.1 Error: SMTP protocol violation: talked before the greeting\r\n");
    expect_eof();
    log_has("rule=pregreet");
}
END_TEST

START_TEST(test_http_client)
{
    /* A web browser pointed at port 25 gets nothing but the door. */
    start("");
    expect(GREETING);
    say("GET / HTTP/1.0\r\nHost: mx.example.com\r\n\r\n");
    expect_eof();
    log_has("rule=non_smtp_command");
}
END_TEST

/* The tarpit's side of a hand-off, played by the test -------------------- */

#define TARPIT_CF \
    "tarpit = yes\n" \
    "tarpit_delay = 7s\n" \
    "max_invalid_recipients = 1\n"

/* A SOCK_SEQPACKET listener where smtpd looks for the tarpit. */
static int
fake_tarpit_listen(void)
{
    struct sockaddr_un sun;
    char path[128];
    int fd;

    snprintf(path, sizeof(path), "%s/run", dir);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/run/" TARPIT_SOCKET_NAME,
             dir);
    ck_assert_int_ge(fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *) &sun, sizeof(sun)), 0);
    ck_assert_int_eq(listen(fd, 8), 0);
    return fd;
}

/* Accepts smtpd's connection and takes one hand-off: the client's
 * descriptor, returned, and the message, decoded into hold. */
static int
fake_tarpit_take(int listen_fd, TARPIT_HOLD *hold)
{
    char buf[TARPIT_MSG_MAX + 1];
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {buf, sizeof(buf)};
    struct msghdr msg;
    struct cmsghdr *cmsg;
    VBUF *why = vbuf_create(64);
    ssize_t n;
    int conn, fd;

    ck_assert_int_ge(conn = accept(listen_fd, NULL, NULL), 0);
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf;
    msg.msg_controllen = sizeof(cbuf);
    ck_assert_int_gt(n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC), 0);
    ck_assert(!(msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)));
    ck_assert_ptr_nonnull(cmsg = CMSG_FIRSTHDR(&msg));
    ck_assert_int_eq(cmsg->cmsg_level, SOL_SOCKET);
    ck_assert_int_eq(cmsg->cmsg_type, SCM_RIGHTS);
    memcpy(&fd, CMSG_DATA(cmsg), sizeof(fd));
    ck_assert_msg(tarpit_msg_decode(buf, (size_t) n, hold, why) == 0, "%s",
                  vbuf_str(why));
    vbuf_free(why);
    close(conn);
    return fd;
}

/* The session ends well, the client's connection still open. */
static void
expect_session_gone_connection_open(void)
{
    struct pollfd pfd = {.fd = -1,.events = POLLIN };
    int status;

    ck_assert_int_eq(waitpid(server, &status, 0), server);
    server = -1;
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "smtpd_session child: status 0x%x", status);
    pfd.fd = client;
    ck_assert_int_eq(poll(&pfd, 1, 200), 0);
}

/* The refusal goes to the tarpit with the socket; what was answered
 * before it (pipelined with it) has gone out first, what came after it
 * is not answered, and the worker is done. */
START_TEST(test_tarpit_handoff)
{
    TARPIT_HOLD hold;
    int listen_fd = fake_tarpit_listen();
    int fd;

    start_ehlo(TARPIT_CF);
    say("MAIL FROM:<a@example.org>\r\nRCPT TO:<x@example.org>\r\nNOOP\r\n");
    expect("250 2.1.0 Ok\r\n");
    expect_session_gone_connection_open();
    fd = fake_tarpit_take(listen_fd, &hold);
    ck_assert_str_eq(hold.addr, CLIENT_ADDR);
    ck_assert_str_eq(hold.name, "unknown");
    ck_assert_int_eq(hold.delay_ms, 7000);
    ck_assert_str_eq(hold.rule, "max_invalid_recipients");
    ck_assert_str_eq(hold.command, "RCPT");
    ck_assert_str_eq(hold.reply, "550 5.7.1 Refused");
    /* The descriptor is the client's connection. */
    ck_assert_int_eq(write(fd, "550 5.7.1 Refused\r\n", 19), 19);
    close(fd);
    expect("550 5.7.1 Refused\r\n");
    ck_assert_int_eq(receive(), 0);
    log_has("NOQUEUE: tarpit: RCPT from unknown[192.0.2.10]: 550 5.7.1 Refused; "
            "from=<a@example.org> to=<x@example.org> proto=ESMTP "
            "helo=<client.example.org> rule=max_invalid_recipients\n");
    log_has("disconnect from unknown[192.0.2.10] ehlo=1 mail=1 rcpt=0/1 "
            "commands=2/3\n");
    close(listen_fd);
}
END_TEST

/* No tarpit to take the client: the refusal at once, and close. */
START_TEST(test_tarpit_down)
{
    char *text;

    start_ehlo(TARPIT_CF "reject_text = Not here\n");
    say("MAIL FROM:<a@example.org>\r\nRCPT TO:<x@example.org>\r\nNOOP\r\n");
    expect("250 2.1.0 Ok\r\n550 5.7.1 Not here\r\n");
    expect_eof();
    log_has("NOQUEUE: reject: RCPT from unknown[192.0.2.10]: 550 5.7.1 Not here; "
            "from=<a@example.org> to=<x@example.org> proto=ESMTP "
            "helo=<client.example.org> rule=max_invalid_recipients "
            "tarpit=unavailable\n");
    log_has("warning: tarpit: cannot hand unknown[192.0.2.10] over: ");
    text = read_log();
    ck_assert_ptr_null(strstr(text, "tarpit: RCPT"));
    myfree(text);
}
END_TEST

/* tarpit = no: the rule closes as it always did, no tarpit asked. */
START_TEST(test_tarpit_off)
{
    int listen_fd = fake_tarpit_listen();
    struct pollfd pfd = {.fd = listen_fd,.events = POLLIN };

    start_ehlo("max_invalid_recipients = 1\n");
    say("MAIL FROM:<a@example.org>\r\nRCPT TO:<x@example.org>\r\n");
    expect("250 2.1.0 Ok\r\n550 5.7.1 Refused\r\n");
    expect_eof();
    ck_assert_int_eq(poll(&pfd, 1, 0), 0);
    close(listen_fd);
}
END_TEST

static Suite *
smtpd_session_suite(void)
{
    Suite *s = suite_create("smtpd_session");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_greeting_quit);
    tcase_add_test(tc, test_full_transaction);
    tcase_add_test(tc, test_helo_transaction);
    tcase_add_test(tc, test_pipelining);
    tcase_add_test(tc, test_data_not_waited_for);
    tcase_add_test(tc, test_simple_commands);
    tcase_add_test(tc, test_nul_in_command);
    tcase_add_test(tc, test_sequence_errors);
    tcase_add_test(tc, test_data_without_recipients);
    tcase_add_test(tc, test_relay_client);
    tcase_add_test(tc, test_relay_tricks_refused);
    tcase_add_test(tc, test_local_recipients);
    tcase_add_test(tc, test_size_limits);
    tcase_add_test(tc, test_queue_write_error);
    tcase_add_test(tc, test_queue_create_error);
    tcase_add_test(tc, test_smuggling);
    tcase_add_test(tc, test_mail_loop);
    tcase_add_test(tc, test_timeout_in_data);
    tcase_add_test(tc, test_command_bare_lf);
    tcase_add_test(tc, test_command_bare_cr);
    tcase_add_test(tc, test_line_too_long);
    tcase_add_test(tc, test_hard_error_limit);
    tcase_add_test(tc, test_timeout);
    tcase_add_test(tc, test_lost_connection);
    tcase_add_test(tc, test_lost_in_data);
    tcase_add_test(tc, test_lost_after_message);
    tcase_add_test(tc, test_pregreet);
    tcase_add_test(tc, test_http_client);
    tcase_add_test(tc, test_tarpit_handoff);
    tcase_add_test(tc, test_tarpit_down);
    tcase_add_test(tc, test_tarpit_off);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(smtpd_session_suite());
    int failed;

    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
