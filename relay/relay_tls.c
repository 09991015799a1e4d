/* STARTTLS to the backend, the client side. Encryption without
 * authentication, as Postfix's "may" and "encrypt" levels: the backend's
 * certificate is not verified (a gateway's backend usually has a private
 * or self-signed one); TLS protects the traffic from passive eavesdroppers
 * on the way. TLS 1.2 at least. */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "monotime.h"
#include "msg.h"
#include "relay.h"
#include "tls_util.h"

static SSL_CTX *relay_tls_ctx;

static SSL_CTX *
relay_tls_context(VBUF *why)
{
    if (relay_tls_ctx != NULL)
        return relay_tls_ctx;
    if ((relay_tls_ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
        vbuf_printf(why, "cannot create TLS context: %s",
                    ERR_error_string(ERR_get_error(), NULL));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(relay_tls_ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(relay_tls_ctx, SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_verify(relay_tls_ctx, SSL_VERIFY_NONE, NULL);
    /* Writes may be retried from a moved buffer (our VBUF). */
    SSL_CTX_set_mode(relay_tls_ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                     | SSL_MODE_ENABLE_PARTIAL_WRITE);
    return relay_tls_ctx;
}

int
relay_tls_start(RELAY_IO *io, const char *sni, int timeout_ms, VBUF *why)
{
    long long deadline = monotime_ms() + timeout_ms;
    SSL_CTX *ctx;
    SSL *ssl;
    int n, wait;

    vbuf_reset(why);
    if ((ctx = relay_tls_context(why)) == NULL)
        return -1;
    if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, io->fd) != 1) {
        vbuf_printf(why, "cannot start TLS: %s", ERR_error_string(ERR_get_error(), NULL));
        if (ssl)
            SSL_free(ssl);
        return -1;
    }
    if (sni != NULL)
        SSL_set_tlsext_host_name(ssl, sni);
    for (;;) {
        ERR_clear_error();
        errno = 0;
        if ((n = SSL_connect(ssl)) == 1)
            break;
        if ((wait = tls_want(ssl, n)) == 0) {
            tls_why(why, "TLS handshake failed");
            SSL_free(ssl);
            return -1;
        }
        if (relay_io_wait(io, wait, deadline, why) < 0) {
            vbuf_set(why, "TLS handshake failed: timeout");
            SSL_free(ssl);
            return -1;
        }
    }
    io->ssl = ssl;
    return 0;
}
