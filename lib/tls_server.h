/* The server side of TLS for smtpd: one SSL_CTX built from the active
 * configuration (tls_cert_file with its chain, tls_key_file,
 * tls_protocols, tls_ciphers), with session tickets from master's shared
 * key area (tls_ticket.h) so that a client resumes on any worker. */
#ifndef ALLIGATE_TLS_SERVER_H
#define ALLIGATE_TLS_SERVER_H

#include <openssl/ssl.h>

struct VBUF;

/* 1 when tls_cert_file is set. */
int     tls_server_enabled(void);

/* The context for the active configuration, made on first use and kept
 * (a worker serves one configuration: master starts new workers on
 * reload).  NULL with the reason in why when it cannot be made.
 * ticket_fd is master's key area (MASTER_TICKET_FD), or -1 for tickets
 * this process alone can read. */
SSL_CTX *tls_server_ctx(int ticket_fd, struct VBUF *why);

/* A new context from explicit values, as tls_server_ctx() makes it from
 * the configuration, but with OpenSSL's own ticket keys (this process
 * alone can read its tickets); an empty key means the key is in the
 * certificate file.  For the configuration check and tests.  NULL with
 * why. */
SSL_CTX *tls_server_ctx_make(const char *cert, const char *key,
                             const char *protocols, const char *ciphers,
                             struct VBUF *why);

/* Appends the cipher list given to OpenSSL for tls_ciphers (empty:
 * OpenSSL's DEFAULT): the list with the exclusions no configuration can
 * lift (anonymous, NULL, EXPORT, RC4, MD5). */
void    tls_server_cipher_list(const char *ciphers, struct VBUF *out);

#endif
