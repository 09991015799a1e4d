/* libFuzzer target for a whole SMTP session: smtpd_session() runs in this
 * process on one end of a socketpair; a thread plays the client on the
 * other end with the fuzz input, reads and drops every reply, and shuts
 * its side down at the end of the input.  It must not crash, leak or hang.
 *
 * Input: the first byte chooses the client (bit 0: a relay client, in
 * relay_networks); the rest is the client's byte stream, cut into
 * segments at every 0xff byte.  The client waits for the greeting, and
 * sends each segment only once smtpd has read the one before, so that a
 * segment ending in "DATA\r\n" is answered with 354 (a client that waits
 * for replies) while the same bytes in one segment with the message are
 * a pipelining violation.  At most FUZZ_MAX_INPUT bytes are used.
 *
 * Configuration, made once: a temporary directory under /tmp with
 * main.cf (greet wait off, 1 s timeout, small size limit, example.com
 * local) and the queue; queue files are removed after every input. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "fuzz_tmpdir.h"
#include "fuzz_client.h"
#include "msg.h"
#include "queue_dir.h"
#include "smtpd/smtpd.h"
#include "vbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT  (64 * 1024)

static const char *fuzz_dir;

typedef struct FUZZ_CLIENT {
    int fd;
    const uint8_t *data;
    size_t len;
} FUZZ_CLIENT;

static void
fuzz_write_file(const char *name, const char *text)
{
    char path[128];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", fuzz_dir, name);
    if ((fp = fopen(path, "w")) == NULL || fputs(text, fp) < 0 || fclose(fp) != 0) {
        perror(path);
        abort();
    }
}

/* Removes every file in one queue subdirectory. */
static void
fuzz_clean_subdir(const char *sub)
{
    char path[128];
    struct dirent *dp;
    DIR *dir;

    snprintf(path, sizeof(path), "%s/queue/%s", fuzz_dir, sub);
    if ((dir = opendir(path)) == NULL)
        return;
    while ((dp = readdir(dir)) != NULL)
        if (dp->d_name[0] != '.')
            unlinkat(dirfd(dir), dp->d_name, 0);
    closedir(dir);
}

static void
fuzz_clean_queue(void)
{
    static const char *subs[] = {
        QUEUE_DIR_TMP, QUEUE_DIR_INCOMING, QUEUE_DIR_DEFERRED,
        QUEUE_DIR_HOLD, QUEUE_DIR_CORRUPT,
    };
    size_t i;

    for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
        fuzz_clean_subdir(subs[i]);
}

static void
fuzz_init(void)
{
    VBUF *text = vbuf_create(1024);
    VBUF *errors = vbuf_create(100);
    char path[128];
    CONFIG *conf;

    fuzz_dir = fuzz_tmpdir_make("fuzz_smtpd_session");
    snprintf(path, sizeof(path), "%s/queue", fuzz_dir);
    if (mkdir(path, 0700) < 0 || queue_dir_init(path, errors) < 0) {
        fprintf(stderr, "%s: %s\n", path, vbuf_str(errors));
        abort();
    }
    fuzz_write_file("recipients", "known@example.com\n@catchall.example.com\n");
    vbuf_printf(text,
                "myhostname = mx.example.com\n"
                "local_domains = example.com, catchall.example.com\n"
                "local_recipients = %s/recipients\n"
                "queue_directory = %s/queue\n"
                "data_directory = %s/data\n"
                "run_directory = %s/run\n"
                "relay_networks = 127.0.0.0/8\n"
                "smtpd_greet_wait = 0\n"
                "smtpd_timeout = 1s\n"
                "smtpd_soft_error_limit = 0\n"
                "smtpd_recipient_limit = 20\n"
                "message_size_limit = 10k\n"
                /* The manual's rules, so that their paths are fuzzed. */
                "deny_invalid_helo = yes\n"
                "max_invalid_recipients = 4\n"
                "max_valid_recipients = 6\n"
                "max_valid_recipients_min_invalid = 1\n"
                "mail_from_chars = a-z0-9.@-\n",
                fuzz_dir, fuzz_dir, fuzz_dir, fuzz_dir);
    fuzz_write_file(CONF_FILE_NAME, vbuf_str(text));
    if ((conf = conf_load(fuzz_dir, errors)) == NULL) {
        fprintf(stderr, "%s", vbuf_str(errors));
        abort();
    }
    conf_activate(conf);
    /* The session's log lines would drown libFuzzer's. */
    if (getenv("FUZZ_LOG") == NULL && msg_open("/dev/null") < 0)
        abort();
    signal(SIGPIPE, SIG_IGN);
    vbuf_free(text);
    vbuf_free(errors);
}

static void *
fuzz_client(void *arg)
{
    FUZZ_CLIENT *c = arg;

    /* A well-behaved client waits for the greeting. */
    if (fuzz_client_wait(c->fd, 0, FUZZ_CLIENT_WAIT_MS) == 0)
        fuzz_client_segments(c->fd, c->data, c->len);
    fuzz_client_finish(c->fd);
    return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    FUZZ_CLIENT client;
    SMTPD_STATE *state;
    pthread_t tid;
    int sv[2];

    if (!ready) {
        fuzz_init();
        ready = 1;
    }
    if (size == 0)
        return 0;
    if (size > FUZZ_MAX_INPUT + 1)
        size = FUZZ_MAX_INPUT + 1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        perror("socketpair");
        abort();
    }
    if (fcntl(sv[1], F_SETFL, O_NONBLOCK) < 0)
        abort();
    client.fd = sv[1];
    client.data = data + 1;
    client.len = size - 1;

    state = smtpd_state_create(sv[0], "smtp");
    strcpy(state->addr, (data[0] & 1) ? "127.0.0.1" : "192.0.2.10");
    if (pthread_create(&tid, NULL, fuzz_client, &client) != 0)
        abort();
    smtpd_session(state);
    if (state->fd != -1)                /* smtpd_io_close() closes it */
        abort();
    smtpd_state_free(state);
    pthread_join(tid, NULL);
    close(sv[1]);
    fuzz_clean_queue();
    return 0;
}
