/* The backend check of auth_backend = relay: one short SMTP session with
 * relay_host, blocking, under one deadline.  See authd_relay.h. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "auth_clnt.h"
#include "authd_relay.h"
#include "conf.h"
#include "hostport.h"
#include "monotime.h"
#include "msg.h"
#include "mymalloc.h"
#include "smtp_reply.h"
#include "tls_util.h"

/* relay_tls values */
#define AUTHD_RELAY_TLS_NONE    0
#define AUTHD_RELAY_TLS_MAY     1
#define AUTHD_RELAY_TLS_ENCRYPT 2

/* What EHLO said. */
#define AUTHD_RELAY_STARTTLS    (1 << 0)
#define AUTHD_RELAY_PLAIN       (1 << 1)
#define AUTHD_RELAY_LOGIN       (1 << 2)

#define AUTHD_RELAY_READ_SIZE   4096

typedef struct AUTHD_RELAY {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    long long deadline;
    char name[300];                     /* host[addr]:port */
    VBUF *in;                           /* read, not yet parsed */
    VBUF *out;
    SMTP_REPLY *reply;
    int features;
} AUTHD_RELAY;

/* Waits for fd until the deadline: 0, or -1. */
static int
authd_relay_wait(AUTHD_RELAY *r, int events)
{
    struct pollfd pfd;
    long long left;
    int n;

    pfd.fd = r->fd;
    pfd.events = (short) events;
    do {
        if ((left = r->deadline - monotime_ms()) <= 0)
            return -1;
        n = poll(&pfd, 1, (int) left);
    } while (n < 0 && errno == EINTR);
    return n > 0 ? 0 : -1;
}

static int
authd_relay_connect_addr(AUTHD_RELAY *r, const struct addrinfo *ai,
                         VBUF *why)
{
    socklen_t len = sizeof(int);
    int err = 0;

    if ((r->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK
                        | SOCK_CLOEXEC, 0)) < 0) {
        vbuf_set(why, strerror(errno));
        return -1;
    }
    if (connect(r->fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno != EINPROGRESS)
            err = errno;
        else if (authd_relay_wait(r, POLLOUT) < 0)
            err = ETIMEDOUT;
        else if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
    }
    if (err != 0) {
        vbuf_set(why, strerror(err));
        close(r->fd);
        r->fd = -1;
        return -1;
    }
    return 0;
}

/* Connects to relay_host, one address after the other. */
static int
authd_relay_connect(AUTHD_RELAY *r, VBUF *why)
{
    struct addrinfo hints, *res = NULL, *ai;
    char addr[INET6_ADDRSTRLEN + 1] = "";
    VBUF *one = vbuf_create(100);
    HOSTPORT hp;
    int err;

    if (*conf_str(P_relay_host) == 0) {
        vbuf_set(why, "auth_backend = relay, but relay_host is empty");
        vbuf_free(one);
        return -1;
    }
    if (hostport_parse(&hp, conf_str(P_relay_host), "25", one) < 0) {
        vbuf_set(why, "");
        vbuf_printf(why, "bad relay_host: %s", vbuf_str(one));
        vbuf_free(one);
        return -1;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
    if ((err = getaddrinfo(hp.host, hp.port, &hints, &res)) != 0) {
        vbuf_set(why, "");
        vbuf_printf(why, "backend %s not found: %s", hp.host,
                    err == EAI_SYSTEM ? strerror(errno) : gai_strerror(err));
        vbuf_free(one);
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        hostport_addr_str(ai->ai_addr, addr, sizeof(addr));
        snprintf(r->name, sizeof(r->name), "%s[%s]:%s", hp.host, addr,
                 hp.port);
        if (authd_relay_connect_addr(r, ai, one) == 0)
            break;
        vbuf_set(why, "");
        vbuf_printf(why, "connect to %s: %s", r->name, vbuf_str(one));
    }
    freeaddrinfo(res);
    vbuf_free(one);
    return r->fd >= 0 ? 0 : -1;
}

/* Writes r->out: 0, or -1 with why. */
static int
authd_relay_flush(AUTHD_RELAY *r, VBUF *why)
{
    size_t done = 0;
    ssize_t n;
    int wait;

    while (done < vbuf_len(r->out)) {
        if (r->ssl) {
            ERR_clear_error();
            n = SSL_write(r->ssl, vbuf_str(r->out) + done,
                          (int) (vbuf_len(r->out) - done));
            if (n <= 0) {
                if ((wait = tls_want(r->ssl, (int) n)) == 0
                    || authd_relay_wait(r, wait) < 0)
                    goto fail;
                continue;
            }
        } else if ((n = send(r->fd, vbuf_str(r->out) + done,
                             vbuf_len(r->out) - done, MSG_NOSIGNAL)) < 0) {
            if ((errno != EAGAIN && errno != EINTR)
                || authd_relay_wait(r, POLLOUT) < 0)
                goto fail;
            continue;
        }
        done += (size_t) n;
    }
    vbuf_reset(r->out);
    return 0;
  fail:
    vbuf_set(why, "");
    vbuf_printf(why, "lost connection or timeout writing to %s", r->name);
    return -1;
}

/* Reads the next reply into r->reply: 0, or -1 with why. */
static int
authd_relay_reply(AUTHD_RELAY *r, const char *stage, VBUF *why)
{
    size_t used;
    ssize_t n;
    int status, wait;

    smtp_reply_reset(r->reply);
    for (;;) {
        if (vbuf_len(r->in) > 0) {
            status = smtp_reply_feed(r->reply, vbuf_str(r->in),
                                     vbuf_len(r->in), &used);
            vbuf_consume(r->in, used);
            if (status == SMTP_REPLY_DONE)
                return 0;
            if (status < 0) {
                vbuf_set(why, "");
                vbuf_printf(why, "%s from %s %s", smtp_reply_status_text(status),
                            r->name, stage);
                return -1;
            }
        }
        vbuf_reserve(r->in, AUTHD_RELAY_READ_SIZE);
        if (r->ssl) {
            ERR_clear_error();
            n = SSL_read(r->ssl, r->in->data + r->in->len,
                         AUTHD_RELAY_READ_SIZE);
            if (n <= 0) {
                if ((wait = tls_want(r->ssl, (int) n)) != 0
                    && authd_relay_wait(r, wait) == 0)
                    continue;
                break;
            }
        } else {
            n = read(r->fd, r->in->data + r->in->len, AUTHD_RELAY_READ_SIZE);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                if (authd_relay_wait(r, POLLIN) == 0)
                    continue;
                break;
            }
            if (n <= 0)
                break;
        }
        r->in->len += (size_t) n;
        r->in->data[r->in->len] = 0;
    }
    vbuf_set(why, "");
    vbuf_printf(why, "%s with %s %s",
                monotime_ms() >= r->deadline ? "timeout" : "lost connection",
                r->name, stage);
    return -1;
}

/* One command (not logged: it may hold credentials) and its reply. */
static int
authd_relay_command(AUTHD_RELAY *r, const char *cmd, const char *stage,
                    VBUF *why)
{
    vbuf_append_str(r->out, cmd);
    vbuf_append_str(r->out, "\r\n");
    if (authd_relay_flush(r, why) < 0)
        return -1;
    return authd_relay_reply(r, stage, why);
}

/* A command whose answer changes nothing (QUIT, a cancel). */
static void
authd_relay_best_effort(AUTHD_RELAY *r, const char *cmd)
{
    VBUF *ignored = vbuf_create(100);

    vbuf_reset(r->out);
    (void) authd_relay_command(r, cmd, "", ignored);
    vbuf_free(ignored);
}

/* Sets why to "backend host said: REPLY". */
static void
authd_relay_said(AUTHD_RELAY *r, VBUF *why, const char *stage)
{
    vbuf_set(why, "");
    vbuf_printf(why, "backend %s said %s: ", r->name, stage);
    smtp_reply_format(r->reply, why, 300);
}

/* The EHLO keywords that matter here. */
static void
authd_relay_features(AUTHD_RELAY *r)
{
    char *text = mystrdup(vbuf_str(r->reply->text));
    char *line, *word, *save = NULL, *wsave;
    int first = 1;

    r->features = 0;
    for (line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (first) {
            first = 0;
            continue;
        }
        if (strcasecmp(line, "STARTTLS") == 0)
            r->features |= AUTHD_RELAY_STARTTLS;
        /* "AUTH PLAIN LOGIN", or the old "AUTH=PLAIN LOGIN". */
        if (strncasecmp(line, "AUTH", 4) == 0
            && (line[4] == ' ' || line[4] == '=')) {
            for (word = strtok_r(line + 5, " ", &wsave); word;
                 word = strtok_r(NULL, " ", &wsave)) {
                if (strcasecmp(word, "PLAIN") == 0)
                    r->features |= AUTHD_RELAY_PLAIN;
                else if (strcasecmp(word, "LOGIN") == 0)
                    r->features |= AUTHD_RELAY_LOGIN;
            }
        }
    }
    myfree(text);
}

/* EHLO: AUTH_CLNT_OK, or AUTH_CLNT_TEMP with why. */
static int
authd_relay_ehlo(AUTHD_RELAY *r, VBUF *why)
{
    VBUF *cmd = vbuf_create(300);
    int ret;

    vbuf_printf(cmd, "EHLO %s", conf_str(P_myhostname));
    ret = authd_relay_command(r, vbuf_str(cmd), "after EHLO", why);
    vbuf_free(cmd);
    if (ret < 0)
        return AUTH_CLNT_TEMP;
    if (r->reply->code / 100 != 2) {
        authd_relay_said(r, why, "to EHLO");
        return AUTH_CLNT_TEMP;
    }
    authd_relay_features(r);
    return AUTH_CLNT_OK;
}

static int
authd_relay_tls(AUTHD_RELAY *r, VBUF *why)
{
    int n, wait;

    if ((r->ctx = SSL_CTX_new(TLS_client_method())) == NULL
        || (r->ssl = SSL_new(r->ctx)) == NULL
        || SSL_set_fd(r->ssl, r->fd) != 1) {
        vbuf_set(why, "");
        tls_why(why, "cannot start TLS");
        return -1;
    }
    SSL_CTX_set_min_proto_version(r->ctx, TLS1_2_VERSION);
    SSL_set_verify(r->ssl, SSL_VERIFY_NONE, NULL);
    for (;;) {
        ERR_clear_error();
        errno = 0;
        if ((n = SSL_connect(r->ssl)) == 1)
            return 0;
        if ((wait = tls_want(r->ssl, n)) == 0
            || authd_relay_wait(r, wait) < 0) {
            vbuf_set(why, "");
            tls_why(why, "TLS handshake failed");
            vbuf_printf(why, " with %s", r->name);
            return -1;
        }
    }
}

/* STARTTLS when offered and relay_tls allows it; required when relay_tls
 * = encrypt.  AUTH_CLNT_OK, or AUTH_CLNT_TEMP with why. */
static int
authd_relay_starttls(AUTHD_RELAY *r, VBUF *why)
{
    int level = conf_enum(P_relay_tls);

    if (level == AUTHD_RELAY_TLS_NONE
        || !(r->features & AUTHD_RELAY_STARTTLS)) {
        if (level != AUTHD_RELAY_TLS_ENCRYPT)
            return AUTH_CLNT_OK;
        vbuf_set(why, "");
        vbuf_printf(why, "relay_tls = encrypt, but backend %s offers no STARTTLS",
                    r->name);
        return AUTH_CLNT_TEMP;
    }
    if (authd_relay_command(r, "STARTTLS", "after STARTTLS", why) < 0)
        return AUTH_CLNT_TEMP;
    if (r->reply->code != 220) {
        if (level != AUTHD_RELAY_TLS_ENCRYPT)
            return AUTH_CLNT_OK;
        authd_relay_said(r, why, "to STARTTLS");
        return AUTH_CLNT_TEMP;
    }
    /* What came before the handshake cannot pass as protected. */
    if (vbuf_len(r->in) > 0) {
        vbuf_set(why, "");
        vbuf_printf(why, "backend %s sent data after its reply to STARTTLS",
                    r->name);
        return AUTH_CLNT_TEMP;
    }
    if (authd_relay_tls(r, why) < 0)
        return AUTH_CLNT_TEMP;
    return authd_relay_ehlo(r, why);
}

/* "PREFIX" followed by the base64 of data[0..len), into out. */
static void
authd_relay_b64(VBUF *out, const char *prefix, const char *data, size_t len)
{
    vbuf_reset(out);
    vbuf_append_str(out, prefix);
    vbuf_reserve(out, 4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *) out->data + out->len,
                    (const unsigned char *) data, (int) len);
    out->len += strlen(out->data + out->len);
}

/* The verdict of the reply to the last step of AUTH. */
static int
authd_relay_verdict(AUTHD_RELAY *r, VBUF *why)
{
    if (r->reply->code == 235)
        return AUTH_CLNT_OK;
    authd_relay_said(r, why, "to AUTH");
    return r->reply->code / 100 == 5 ? AUTH_CLNT_FAIL : AUTH_CLNT_TEMP;
}

/* A 334 where the conversation should have ended: cancel (RFC 4954). */
static int
authd_relay_unexpected(AUTHD_RELAY *r, VBUF *why)
{
    authd_relay_said(r, why, "to AUTH");
    authd_relay_best_effort(r, "*");
    return AUTH_CLNT_TEMP;
}

static int
authd_relay_auth(AUTHD_RELAY *r, const char *user, const char *password,
                 VBUF *why)
{
    VBUF *cmd = vbuf_create(256), *msg = vbuf_create(256);
    size_t ulen = strlen(user), plen = strlen(password);
    int ret = AUTH_CLNT_TEMP;

    if (r->features & AUTHD_RELAY_PLAIN) {
        vbuf_append_char(msg, 0);
        vbuf_append(msg, user, ulen);
        vbuf_append_char(msg, 0);
        vbuf_append(msg, password, plen);
        authd_relay_b64(cmd, "AUTH PLAIN ", vbuf_str(msg), vbuf_len(msg));
        if (authd_relay_command(r, vbuf_str(cmd), "after AUTH PLAIN", why) == 0)
            ret = r->reply->code == 334 ? authd_relay_unexpected(r, why)
                : authd_relay_verdict(r, why);
    } else if (r->features & AUTHD_RELAY_LOGIN) {
        if (authd_relay_command(r, "AUTH LOGIN", "after AUTH LOGIN", why) < 0)
            goto out;
        if (r->reply->code != 334) {
            ret = authd_relay_verdict(r, why);
            goto out;
        }
        authd_relay_b64(cmd, "", user, ulen);
        if (authd_relay_command(r, vbuf_str(cmd), "after the user name", why) < 0)
            goto out;
        if (r->reply->code != 334) {
            ret = authd_relay_verdict(r, why);
            goto out;
        }
        authd_relay_b64(cmd, "", password, plen);
        if (authd_relay_command(r, vbuf_str(cmd), "after the password", why) == 0)
            ret = r->reply->code == 334 ? authd_relay_unexpected(r, why)
                : authd_relay_verdict(r, why);
    } else {
        vbuf_set(why, "");
        vbuf_printf(why, "backend %s offers neither AUTH PLAIN nor AUTH LOGIN%s",
                    r->name, r->ssl ? "" : " (without TLS)");
    }
  out:
    explicit_bzero(cmd->data, cmd->cap);
    explicit_bzero(msg->data, msg->cap);
    vbuf_free(cmd);
    vbuf_free(msg);
    return ret;
}

int
authd_relay_verify(const char *method, const char *user,
                   const char *password, VBUF *why)
{
    AUTHD_RELAY r;
    int ret = AUTH_CLNT_TEMP;

    (void) method;
    memset(&r, 0, sizeof(r));
    r.fd = -1;
    r.deadline = monotime_ms() + AUTH_BACKEND_TIMEOUT_MS;
    r.in = vbuf_create(AUTHD_RELAY_READ_SIZE);
    r.out = vbuf_create(256);
    r.reply = smtp_reply_create();
    if (authd_relay_connect(&r, why) < 0)
        goto out;
    if (authd_relay_reply(&r, "while receiving the greeting", why) < 0)
        goto out;
    if (r.reply->code / 100 != 2) {
        authd_relay_said(&r, why, "in its greeting");
        goto out;
    }
    if ((ret = authd_relay_ehlo(&r, why)) != AUTH_CLNT_OK
        || (ret = authd_relay_starttls(&r, why)) != AUTH_CLNT_OK) {
        ret = AUTH_CLNT_TEMP;
        goto out;
    }
    ret = authd_relay_auth(&r, user, password, why);
    /* Politeness; the answer is known. */
    authd_relay_best_effort(&r, "QUIT");
  out:
    if (r.ssl)
        SSL_free(r.ssl);
    if (r.ctx)
        SSL_CTX_free(r.ctx);
    if (r.fd >= 0)
        close(r.fd);
    vbuf_free(r.in);
    explicit_bzero(r.out->data, r.out->cap);
    vbuf_free(r.out);
    smtp_reply_free(r.reply);
    return ret;
}
