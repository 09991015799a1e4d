/* libFuzzer target for relay's SMTP client (relay/relay_connect.c,
 * relay_smtp.c and relay_io.c) against a backend that says anything:
 * the greeting, the EHLO keywords (PIPELINING, SIZE with any number,
 * 8BITMIME, SMTPUTF8), the replies to MAIL, RCPT, DATA and the final
 * dot, in any shape and any split, and connections that end anywhere.
 * relay_smtp_deliver() runs in this process; a thread plays the backend
 * on a loopback port with the fuzz input.  Every recipient must leave
 * with an outcome, and nothing may crash, leak or hang.
 *
 * Input: the first byte chooses the message (bits 0-1: 1 to 4
 * recipients; bit 2: BODY=8BITMIME; bit 3: SMTPUTF8 with a UTF-8
 * recipient; bit 4: a second message over the same connection, which
 * starts with RSET; bit 5: 70 kB instead of 300 bytes).  The rest is
 * what the backend sends, cut into segments at every 0xff byte: the
 * backend sends a segment, reads what the client sent meanwhile, then
 * sends the next; once the input is used up it closes the connection.
 * A new connection (the client retries a stale one) goes on with the
 * rest of the input.
 *
 * Configuration, made once: a temporary directory with main.cf
 * (relay_host on the thread's port, no TLS, timeouts of 1 s) and the
 * message's bytes in a file. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "fuzz_tmpdir.h"
#include "fuzz_peer.h"
#include "msg.h"
#include "queue_read.h"
#include "relay/relay.h"
#include "vbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_BIG        (70 * 1024)
#define FUZZ_SMALL      300

static const char *fuzz_dir;
static int fuzz_listen_fd = -1;
static int fuzz_msg_fd = -1;
static FUZZ_PEER fuzz_backend;          /* plays the backend */

#define fuzz_check(ok) do { \
        if (!(ok)) { \
            fprintf(stderr, "fuzz_relay_smtp: line %d: %s\n", __LINE__, #ok); \
            abort(); \
        } \
    } while (0)

static void
fuzz_write_file(const char *name, const char *text, size_t len)
{
    char path[128];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", fuzz_dir, name);
    if ((fp = fopen(path, "w")) == NULL || fwrite(text, 1, len, fp) != len
        || fclose(fp) != 0) {
        perror(path);
        abort();
    }
}

static void
fuzz_init(void)
{
    struct sockaddr_in sin;
    socklen_t sinlen = sizeof(sin);
    VBUF *text = vbuf_create(1024);
    VBUF *errors = vbuf_create(100);
    char path[128];
    CONFIG *conf;
    size_t i;

    fuzz_dir = fuzz_tmpdir_make("fuzz_relay_smtp");

    if ((fuzz_listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        abort();
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fuzz_listen_fd, (struct sockaddr *) &sin, sizeof(sin)) < 0
        || listen(fuzz_listen_fd, 16) < 0
        || getsockname(fuzz_listen_fd, (struct sockaddr *) &sin, &sinlen) < 0)
        abort();

    vbuf_printf(text,
                "myhostname = relay.example.com\n"
                "relay_host = [127.0.0.1]:%d\n"
                "relay_tls = none\n"
                "relay_connect_timeout = 1s\n"
                "relay_reply_timeout = 1s\n"
                "queue_directory = %s/queue\n"
                "data_directory = %s/data\n"
                "run_directory = %s/run\n",
                ntohs(sin.sin_port), fuzz_dir, fuzz_dir, fuzz_dir);
    fuzz_write_file(CONF_FILE_NAME, vbuf_str(text), vbuf_len(text));
    if ((conf = conf_load(fuzz_dir, errors)) == NULL) {
        fprintf(stderr, "%s", vbuf_str(errors));
        abort();
    }
    conf_activate(conf);

    /* The message: CR LF lines, some with leading dots. */
    vbuf_reset(text);
    vbuf_append_str(text, "Subject: fuzz\r\n\r\n");
    for (i = 0; vbuf_len(text) < FUZZ_BIG; i++)
        vbuf_printf(text, "%s line %zu of the message\r\n", i % 5 ? "" : ".", i);
    fuzz_write_file("message", vbuf_str(text), vbuf_len(text));
    snprintf(path, sizeof(path), "%s/message", fuzz_dir);
    if ((fuzz_msg_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        abort();

    if (getenv("FUZZ_LOG") == NULL && msg_open("/dev/null") < 0)
        abort();
    fuzz_peer_init(&fuzz_backend, fuzz_listen_fd, 1);
    vbuf_free(text);
    vbuf_free(errors);
}

/* One message to the pending recipients over *sessp; every recipient
 * must leave with an outcome. */
static void
fuzz_deliver(RELAY_SMTP **sessp, const QUEUE_ENVELOPE *env, RELAY_RCPT *rcpt,
             size_t count)
{
    RELAY_ATTEMPT attempt;
    size_t i;

    memset(&attempt, 0, sizeof(attempt));
    attempt.relay = vbuf_create(100);
    attempt.why = vbuf_create(100);
    for (i = 0; i < count; i++)
        rcpt[i].outcome = 0;
    relay_smtp_deliver(sessp, "FUZZ", env, fuzz_msg_fd, rcpt, count, &attempt);
    fuzz_check(vbuf_len(attempt.relay) > 0);
    for (i = 0; i < count; i++) {
        fuzz_check(rcpt[i].outcome == RELAY_RCPT_SENT || rcpt[i].outcome == RELAY_RCPT_DEFER
                   || rcpt[i].outcome == RELAY_RCPT_BOUNCE);
        fuzz_check(rcpt[i].outcome == RELAY_RCPT_SENT || vbuf_len(rcpt[i].reason) > 0);
    }
    fuzz_check(!attempt.conn_failed || vbuf_len(attempt.why) > 0);
    vbuf_free(attempt.relay);
    vbuf_free(attempt.why);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *addrs[] = {
        "one@example.com", "two@example.com", "three@example.net", "four@example.org",
    };
    RELAY_RCPT rcpt[4];
    QUEUE_ENVELOPE env;
    RELAY_SMTP *sess = NULL;
    size_t count, i;
    int opts;

    if (fuzz_listen_fd < 0)
        fuzz_init();
    if (size == 0)
        return 0;
    opts = data[0];
    count = (size_t) (opts & 3) + 1;

    memset(&env, 0, sizeof(env));
    env.sender = (char *) "sender@example.org";
    env.body_type = (opts & 4) ? (char *) "8BITMIME" : NULL;
    env.smtputf8 = (opts & 8) != 0;
    env.message_offset = 0;
    env.message_length = (opts & 32) ? FUZZ_BIG : FUZZ_SMALL;
    memset(rcpt, 0, sizeof(rcpt));
    for (i = 0; i < count; i++) {
        rcpt[i].address = (opts & 8) && i == 0 ? "j\xc3\xbcrgen@example.com" : addrs[i];
        rcpt[i].reason = vbuf_create(100);
        rcpt[i].diag = vbuf_create(100);
    }

    fuzz_peer_start(&fuzz_backend, data + 1, size - 1);
    fuzz_deliver(&sess, &env, rcpt, count);
    if (opts & 16)
        fuzz_deliver(&sess, &env, rcpt, count);
    relay_smtp_close(sess, 1);
    fuzz_peer_stop(&fuzz_backend);

    for (i = 0; i < count; i++) {
        vbuf_free(rcpt[i].reason);
        vbuf_free(rcpt[i].diag);
    }
    return 0;
}
