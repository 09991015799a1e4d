/* OpenSSL glue that smtpd and relay share: what a failed call means (wait
 * for the socket, or give up), OpenSSL's reason in words, and the one-line
 * description of a session for logs and Received: headers. */
#ifndef ALLIGATE_TLS_UTIL_H
#define ALLIGATE_TLS_UTIL_H

#include "tls_openssl.h"

struct VBUF;

/* After an SSL_read/SSL_write/SSL_accept/SSL_connect that returned ret:
 * POLLIN or POLLOUT when the call is to be retried once the socket is
 * ready, 0 when it failed for good. */
int     tls_want(SSL *ssl, int ret);

/* Appends "what: REASON" to why, REASON being OpenSSL's first queued
 * error, else errno's text, else "lost connection"; clears the queue. */
void    tls_why(struct VBUF *why, const char *what);

/* Appends "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)". */
void    tls_info(SSL *ssl, struct VBUF *out);

#endif
