/* libFuzzer target for the server side of smtpd's TLS: smtpd_session()
 * runs in this process on one end of a socketpair with a certificate
 * configured; a thread plays the client: it waits for the greeting, says
 * EHLO, asks for STARTTLS, and once the 220 is in, sends the fuzz input
 * as its side of the handshake and of what follows (records, alerts,
 * plaintext, garbage), cut into segments at every 0xff byte, each sent
 * once smtpd has read the one before.  Whatever comes in through the TLS
 * transport, smtpd must not crash, leak or hang.
 *
 * Configuration, made once: a temporary directory under /tmp with a
 * self-signed EC certificate made here, main.cf (1 s timeout) and the
 * queue (no input gets as far as a message: the fuzzer cannot encrypt).
 * The seeds in fuzz/corpus/smtpd_tls are real ClientHello messages. */
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

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "conf.h"
#include "fuzz_tmpdir.h"
#include "fuzz_client.h"
#include "msg.h"
#include "queue_dir.h"
#include "server.h"
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
fuzz_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", fuzz_dir, name);
}

/* A self-signed certificate for mx.example.com and its key. */
static void
fuzz_make_cert(void)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *name;
    char path[128];
    FILE *fp;

    if (key == NULL || x == NULL)
        abort();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 30);
    X509_set_pubkey(x, key);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *) "mx.example.com", -1, -1, 0);
    X509_set_issuer_name(x, name);
    if (X509_sign(x, key, EVP_sha256()) == 0)
        abort();
    fuzz_path(path, sizeof(path), "cert.pem");
    if ((fp = fopen(path, "w")) == NULL || !PEM_write_X509(fp, x) || fclose(fp) != 0)
        abort();
    fuzz_path(path, sizeof(path), "key.pem");
    if ((fp = fopen(path, "w")) == NULL
        || !PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL) || fclose(fp) != 0)
        abort();
    X509_free(x);
    EVP_PKEY_free(key);
}

static void
fuzz_init(void)
{
    VBUF *text = vbuf_create(1024);
    VBUF *errors = vbuf_create(100);
    char path[128];
    CONFIG *conf;
    FILE *fp;

    fuzz_dir = fuzz_tmpdir_make("fuzz_smtpd_tls");
    fuzz_path(path, sizeof(path), "queue");
    if (mkdir(path, 0700) < 0 || queue_dir_init(path, errors) < 0) {
        fprintf(stderr, "%s: %s\n", path, vbuf_str(errors));
        abort();
    }
    fuzz_make_cert();
    vbuf_printf(text,
                "myhostname = mx.example.com\n"
                "local_domains = example.com\n"
                "queue_directory = %s/queue\n"
                "data_directory = %s/data\n"
                "run_directory = %s/run\n"
                "relay_networks = 127.0.0.0/8\n"
                "smtpd_greet_wait = 0\n"
                "smtpd_timeout = 1s\n"
                "smtpd_soft_error_limit = 0\n"
                "tls_cert_file = %s/cert.pem\n"
                "tls_key_file = %s/key.pem\n",
                fuzz_dir, fuzz_dir, fuzz_dir, fuzz_dir, fuzz_dir);
    fuzz_path(path, sizeof(path), CONF_FILE_NAME);
    if ((fp = fopen(path, "w")) == NULL || fputs(vbuf_str(text), fp) < 0
        || fclose(fp) != 0)
        abort();
    if ((conf = conf_load(fuzz_dir, errors)) == NULL) {
        fprintf(stderr, "%s", vbuf_str(errors));
        abort();
    }
    conf_activate(conf);
    if (getenv("FUZZ_LOG") == NULL && msg_open("/dev/null") < 0)
        abort();
    signal(SIGPIPE, SIG_IGN);
    server.service = "smtp";
    server.ticket_fd = -1;          /* no master: tickets of its own */
    smtpd_tls_init();
    vbuf_free(text);
    vbuf_free(errors);
}

/* Reads what smtpd sent, up to a reply that holds code; -1 once smtpd
 * has closed or taken too long. */
static int
fuzz_read(int fd, const char *code)
{
    char    buf[4096];
    ssize_t n;

    for (;;) {
        struct pollfd pfd = {.fd = fd,.events = POLLIN};

        if (poll(&pfd, 1, FUZZ_CLIENT_WAIT_MS) <= 0)
            return -1;
        if ((n = read(fd, buf, sizeof(buf) - 1)) < 0 && errno == EAGAIN)
            continue;
        if (n <= 0)
            return -1;
        buf[n] = 0;
        if (strstr(buf, code))
            return 0;
    }
}

static void *
fuzz_client(void *arg)
{
    FUZZ_CLIENT *c = arg;

    if (fuzz_read(c->fd, "220 ") == 0
        && send(c->fd, "EHLO fuzz.example\r\n", 19, MSG_NOSIGNAL) == 19
        && fuzz_read(c->fd, "250 ") == 0
        && send(c->fd, "STARTTLS\r\n", 10, MSG_NOSIGNAL) == 10
        && fuzz_read(c->fd, "220 2.0.0") == 0)
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
    if (size > FUZZ_MAX_INPUT)
        size = FUZZ_MAX_INPUT;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    if (fcntl(sv[1], F_SETFL, O_NONBLOCK) < 0)
        abort();
    client.fd = sv[1];
    client.data = data;
    client.len = size;
    state = smtpd_state_create(sv[0], "smtp");
    snprintf(state->addr, sizeof(state->addr), "%s", "127.0.0.1");
    if (pthread_create(&tid, NULL, fuzz_client, &client) != 0)
        abort();
    smtpd_session(state);
    if (state->fd != -1)
        abort();
    smtpd_state_free(state);
    pthread_join(tid, NULL);
    close(sv[1]);
    return 0;
}
