/* OpenSSL glue that smtpd and relay share: whether a failed SSL call waits
 * for the socket or has failed for good, OpenSSL's reason in words, and
 * the one-line description of a session that logs and Received: headers
 * carry. */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include <openssl/err.h>

#include "tls_util.h"
#include "vbuf.h"

int
tls_want(SSL *ssl, int ret)
{
    switch (SSL_get_error(ssl, ret)) {
    case SSL_ERROR_WANT_READ:
        return POLLIN;
    case SSL_ERROR_WANT_WRITE:
        return POLLOUT;
    default:
        return 0;
    }
}

void
tls_why(VBUF *why, const char *what)
{
    unsigned long err = ERR_get_error();
    char buf[256];

    if (err) {
        ERR_error_string_n(err, buf, sizeof(buf));
        vbuf_printf(why, "%s: %s", what, buf);
    } else {
        vbuf_printf(why, "%s: %s", what, errno ? strerror(errno) : "lost connection");
    }
    ERR_clear_error();
}

void
tls_info(SSL *ssl, VBUF *out)
{
    const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
    int alg_bits = 0;
    int bits;

    if (cipher == NULL) {
        vbuf_printf(out, "%s", SSL_get_version(ssl));
        return;
    }
    bits = SSL_CIPHER_get_bits(cipher, &alg_bits);
    vbuf_printf(out, "%s with cipher %s (%d/%d bits)", SSL_get_version(ssl),
                SSL_CIPHER_get_name(cipher), bits, alg_bits);
}
