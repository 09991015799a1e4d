/* TLS in the session: STARTTLS (RFC 3207) on smtp_listen and
 * submission_listen, the implicit TLS of smtps_listen (RFC 8314), the
 * "530 Must issue a STARTTLS command first" of the encrypt level, and the
 * transport that reads and writes through OpenSSL once the handshake is
 * done.  The context is made once per worker (lib/tls_server.c), with
 * master's shared ticket keys, so that a client resumes on any worker.
 *
 * What a client pipelined after STARTTLS is discarded, never run
 * (CVE-2011-0411): it came in plaintext, where anyone on the path could
 * have put it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "conf.h"
#include "monotime.h"
#include "msg.h"
#include "mymalloc.h"
#include "printable.h"
#include "server.h"
#include "smtpd.h"
#include "smtpd_metrics.h"
#include "tls_server.h"
#include "tls_util.h"

#define SMTPD_TLS_LOG_PIPELINED 100     /* bytes of discarded input logged */

static SSL_CTX *smtpd_tls_ctx;

/* The level of this worker's service: smtps is TLS from the first byte;
 * smtp and submission follow their security level; nothing without a
 * certificate. */
static int
smtpd_tls_service_level(const char *service)
{
    if (!tls_server_enabled())
        return SMTPD_TLS_NONE;
    if (strcmp(service, "smtps") == 0)
        return SMTPD_TLS_WRAPPER;
    if (strcmp(service, "submission") == 0)
        return conf_enum(P_submission_tls_security_level);
    return conf_enum(P_smtpd_tls_security_level);
}

void
smtpd_tls_init(void)
{
    VBUF   *why;

    if (smtpd_tls_service_level(server.service) == SMTPD_TLS_NONE)
        return;
    why = vbuf_create(100);
    smtpd_tls_ctx = tls_server_ctx(server.ticket_fd, why);
    if (smtpd_tls_ctx == NULL) {
        /* The configuration check makes this rare: the files changed
         * since master read them. */
        if (strcmp(server.service, "smtps") == 0)
            msg_fatal("TLS: %s", vbuf_str(why));
        msg_warn("TLS: %s; STARTTLS is not offered", vbuf_str(why));
    }
    vbuf_free(why);
}

int
smtpd_tls_level(const char *service)
{
    return smtpd_tls_service_level(service);
}

int
smtpd_tls_offered(SMTPD_STATE *state)
{
    return state->tls == NULL && smtpd_tls_ctx != NULL
        && (state->tls_level == SMTPD_TLS_MAY
            || state->tls_level == SMTPD_TLS_ENCRYPT);
}

int
smtpd_tls_required(SMTPD_STATE *state)
{
    return state->tls == NULL && state->tls_level == SMTPD_TLS_ENCRYPT;
}

/* The transport once the handshake is done: what read(2) and send(2)
 * would return.  A client that closes without close_notify has simply
 * gone, as on a plain connection. */
static ssize_t
smtpd_tls_xport_read(SMTPD_STATE *state, void *buf, size_t len)
{
    int     n;

    ERR_clear_error();
    errno = 0;
    n = SSL_read(state->tls, buf, len > INT_MAX ? INT_MAX : (int) len);
    if (n > 0)
        return n;
    switch (SSL_get_error(state->tls, n)) {
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_SYSCALL:
        if (errno == 0)
            return 0;
        return -1;
    default:
        if (ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
            return 0;
        if (msg_verbose) {
            VBUF   *why = vbuf_create(100);

            tls_why(why, "TLS read");
            msg_info("%s from %s", vbuf_str(why), state->namaddr);
            vbuf_free(why);
        }
        ERR_clear_error();
        errno = EPROTO;
        return -1;
    }
}

static ssize_t
smtpd_tls_xport_write(SMTPD_STATE *state, const void *buf, size_t len)
{
    int     n;

    ERR_clear_error();
    errno = 0;
    n = SSL_write(state->tls, buf, len > INT_MAX ? INT_MAX : (int) len);
    if (n > 0)
        return n;
    switch (SSL_get_error(state->tls, n)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_SYSCALL:
        if (errno == 0)
            errno = EPIPE;
        return -1;
    default:
        ERR_clear_error();
        errno = EPROTO;
        return -1;
    }
}

/* Input OpenSSL has decrypted and not yet handed over: the socket may
 * have nothing more to read. */
static int
smtpd_tls_xport_pending(SMTPD_STATE *state)
{
    return SSL_pending(state->tls) > 0;
}

static const SMTPD_XPORT smtpd_xport_tls = {
    smtpd_tls_xport_read, smtpd_tls_xport_write, smtpd_tls_xport_pending,
};

/* The handshake, all of it within smtpd_timeout, on a socket that does
 * not block meanwhile.  0, or -1 with the reason logged. */
static int
smtpd_tls_handshake(SMTPD_STATE *state)
{
    long long deadline = monotime_ms() + conf_time_ms(P_smtpd_timeout);
    VBUF   *why = vbuf_create(100);
    SSL    *ssl;
    int     flags, n, wait;

    if ((ssl = SSL_new(smtpd_tls_ctx)) == NULL || SSL_set_fd(ssl, state->fd) != 1) {
        tls_why(why, "cannot start TLS");
        msg_warn("%s for %s", vbuf_str(why), state->namaddr);
        if (ssl)
            SSL_free(ssl);
        vbuf_free(why);
        return -1;
    }
    flags = fcntl(state->fd, F_GETFL);
    if (flags >= 0)
        fcntl(state->fd, F_SETFL, flags | O_NONBLOCK);
    for (;;) {
        struct pollfd pfd = {.fd = state->fd};
        long long left;

        ERR_clear_error();
        errno = 0;
        if ((n = SSL_accept(ssl)) == 1)
            break;
        if ((wait = tls_want(ssl, n)) == 0) {
            tls_why(why, "TLS handshake failed");
            break;
        }
        pfd.events = (short) wait;
        if ((left = deadline - monotime_ms()) <= 0
            || (n = poll(&pfd, 1, (int) left)) == 0) {
            vbuf_set(why, "TLS handshake failed: timeout");
            break;
        }
        if (n < 0 && errno != EINTR) {
            vbuf_printf(why, "TLS handshake failed: poll: %s", strerror(errno));
            break;
        }
    }
    if (flags >= 0)
        fcntl(state->fd, F_SETFL, flags);
    if (vbuf_len(why) > 0) {
        msg_info("SSL_accept error from %s: %s", state->namaddr, vbuf_str(why));
        smtpd_metrics_tls_failed();
        SSL_free(ssl);
        vbuf_free(why);
        return -1;
    }
    vbuf_free(why);
    state->tls = ssl;
    state->xport = &smtpd_xport_tls;
    state->tls_resumed = SSL_session_reused(ssl);
    state->tls_info = vbuf_create(80);
    tls_info(ssl, state->tls_info);
    msg_info("TLS connection established from %s: %s%s", state->namaddr,
             vbuf_str(state->tls_info), state->tls_resumed ? " (resumed)" : "");
    smtpd_metrics_tls(state);
    return 0;
}

int
smtpd_starttls(SMTPD_STATE *state, const char *arg)
{
    if (*arg) {
        smtpd_reply(state, "501 5.5.4 Syntax: STARTTLS");
        return SMTPD_CMD_ERROR;
    }
    if (state->tls) {
        smtpd_reply(state, "503 5.5.1 Error: TLS already active");
        return SMTPD_CMD_ERROR;
    }
    if (!smtpd_tls_offered(state)) {
        smtpd_reply(state, "502 5.5.1 Error: command not implemented");
        return SMTPD_CMD_ERROR;
    }
    if (smtpd_io_pending(state)) {
        VBUF   *text = vbuf_create(SMTPD_TLS_LOG_PIPELINED * 4);
        size_t  len = state->in_end - state->in_start;

        printable_append(text, state->in + state->in_start,
                         len > SMTPD_TLS_LOG_PIPELINED ? SMTPD_TLS_LOG_PIPELINED : len);
        msg_info("improper command pipelining after STARTTLS from %s: "
                 "%zu bytes discarded: %s", state->namaddr, len, vbuf_str(text));
        vbuf_free(text);
        state->in_start = state->in_end = 0;
    }
    smtpd_reply(state, "220 2.0.0 Ready to start TLS");
    if (smtpd_flush(state) < 0) {
        msg_info("lost connection after STARTTLS from %s", state->namaddr);
        state->quit = 1;
        return SMTPD_CMD_ERROR;
    }
    if (smtpd_tls_handshake(state) < 0) {
        /* Nothing more can be said: the client is in TLS, or gone. */
        state->quit = 1;
        return SMTPD_CMD_ERROR;
    }
    /* RFC 3207 4.2: everything learnt before is forgotten. */
    smtpd_state_reset(state);
    smtpd_auth_forget(state);
    state->helo = myfree(state->helo);
    state->facts.helo = NULL;
    state->esmtp = 0;
    return SMTPD_CMD_OK;
}

int
smtpd_tls_wrapper(SMTPD_STATE *state)
{
    if (smtpd_tls_ctx == NULL)
        return -1;
    return smtpd_tls_handshake(state);
}

void
smtpd_tls_close(SMTPD_STATE *state)
{
    if (state->tls == NULL)
        return;
    /* close_notify, without waiting for the client's. */
    if (state->fd >= 0) {
        ERR_clear_error();
        SSL_shutdown(state->tls);
    }
    SSL_free(state->tls);
    state->tls = NULL;
    state->tls_info = vbuf_free(state->tls_info);
}
