/* The server side of TLS: the one SSL_CTX an smtpd worker uses.
 *
 * What every context gets, whatever main.cf says: no compression (CRIME),
 * no renegotiation, the server's cipher order, never an anonymous, NULL,
 * EXPORT, RC4 or MD5 cipher, no client certificate requested, no prompt
 * for a passphrase (a worker has no terminal).  Resumption is by session
 * tickets only: the server-side session cache is off, because each worker
 * is a process of its own and would remember only its own clients; a
 * ticket carries its session with it, and with master's shared keys
 * (tls_ticket.c) any worker can read it.  TLS 1.3 keeps OpenSSL's cipher
 * suites; tls_ciphers is for TLS 1.2 and below. */
#include <errno.h>
#include <string.h>

#include "conf.h"
#include "printable.h"
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include "tls_proto.h"
#include "tls_server.h"
#include "tls_ticket.h"
#include "tls_util.h"
#include "vbuf.h"

/* Appended to tls_ciphers: what no configuration can turn on. */
#define TLS_SERVER_CIPHER_NEVER     ":!aNULL:!eNULL:!EXPORT:!RC4:!MD5"

/* Ties a resumed session to this service; the same for every worker. */
#define TLS_SERVER_SESSION_ID_CTX   "alligate-smtpd"

/* One ticket per full handshake: an SMTP client reconnects once at a time. */
#define TLS_SERVER_NUM_TICKETS      1

static SSL_CTX *tls_server_context;

int
tls_server_enabled(void)
{
    return *conf_str(P_tls_cert_file) != 0;
}

void
tls_server_cipher_list(const char *ciphers, VBUF *out)
{
    vbuf_append_str(out, *ciphers ? ciphers : "DEFAULT");
    vbuf_append_str(out, TLS_SERVER_CIPHER_NEVER);
}

/* An encrypted key is refused rather than asked for. */
static int
tls_server_no_passphrase(char *buf, int size, int rwflag, void *context)
{
    (void) buf, (void) size, (void) rwflag, (void) context;
    return 0;
}

/* Appends what: OpenSSL's reason (the library and function left out) to
 * why and clears OpenSSL's queue. */
static void
tls_server_why(VBUF *why, const char *what, const char *path)
{
    unsigned long err = ERR_peek_last_error();
    const char *reason = err ? ERR_reason_error_string(err) : NULL;

    vbuf_printf(why, "%s \"%s\"", what, printable_str(path));
    if (reason)
        vbuf_printf(why, ": %s", reason);
    else if (err)
        vbuf_printf(why, ": OpenSSL error %lx", err);
    ERR_clear_error();
}

/* 1 when err says that a key is not the certificate's. */
static int
tls_server_mismatch(unsigned long err)
{
    return ERR_GET_LIB(err) == ERR_LIB_X509
        && ERR_GET_REASON(err) == X509_R_KEY_VALUES_MISMATCH;
}

SSL_CTX *
tls_server_ctx_make(const char *cert, const char *key, const char *protocols,
                    const char *ciphers, VBUF *why)
{
    SSL_CTX *ctx;
    VBUF   *list;
    int     min, max;
    int     mismatch = 0;

    if (*key == 0)
        key = cert;
    if (tls_proto_parse(protocols, &min, &max, why) < 0)
        return NULL;
    ERR_clear_error();
    if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
        tls_why(why, "cannot make a TLS context");
        return NULL;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION
                        | SSL_OP_CIPHER_SERVER_PREFERENCE
                        | SSL_OP_PRIORITIZE_CHACHA);
    SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
    /* Writes are retried from our output buffer, which may move. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                     | SSL_MODE_ENABLE_PARTIAL_WRITE);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_default_passwd_cb(ctx, tls_server_no_passphrase);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, TLS_SERVER_NUM_TICKETS);
    SSL_CTX_set_dh_auto(ctx, 1);
    if (SSL_CTX_set_session_id_context(ctx, (const unsigned char *) TLS_SERVER_SESSION_ID_CTX,
                                       sizeof(TLS_SERVER_SESSION_ID_CTX) - 1) != 1
        || SSL_CTX_set_min_proto_version(ctx, min) != 1
        || SSL_CTX_set_max_proto_version(ctx, max) != 1) {
        tls_why(why, "cannot set up the TLS context");
        SSL_CTX_free(ctx);
        return NULL;
    }
    list = vbuf_create(256);
    tls_server_cipher_list(ciphers, list);
    if (SSL_CTX_set_cipher_list(ctx, vbuf_str(list)) != 1) {
        tls_server_why(why, "no usable cipher in tls_ciphers", ciphers);
        vbuf_free(list);
        SSL_CTX_free(ctx);
        return NULL;
    }
    vbuf_free(list);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        tls_server_why(why, "cannot load the certificate chain from", cert);
        SSL_CTX_free(ctx);
        return NULL;
    }
    /* OpenSSL checks the key against the certificate as it loads it. */
    ERR_clear_error();
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        mismatch = tls_server_mismatch(ERR_peek_last_error());
        if (!mismatch) {
            tls_server_why(why, "cannot load the private key from", key);
            SSL_CTX_free(ctx);
            return NULL;
        }
    }
    if (mismatch || SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        vbuf_printf(why, "the private key in \"%s\" does not match the "
                    "certificate in \"%s\"", key, cert);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

SSL_CTX *
tls_server_ctx(int ticket_fd, VBUF *why)
{
    SSL_CTX *ctx;

    if (tls_server_context != NULL)
        return tls_server_context;
    if (!tls_server_enabled()) {
        vbuf_printf(why, "tls_cert_file is not set");
        return NULL;
    }
    ctx = tls_server_ctx_make(conf_str(P_tls_cert_file), conf_str(P_tls_key_file),
                              conf_str(P_tls_protocols), conf_str(P_tls_ciphers),
                              why);
    if (ctx == NULL)
        return NULL;
    if (ticket_fd >= 0 && tls_ticket_attach(ctx, ticket_fd, why) < 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return tls_server_context = ctx;
}
