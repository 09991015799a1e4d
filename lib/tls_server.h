/* The server side of TLS for smtpd: one SSL_CTX built from the active
 * configuration (tls_cert_file with its chain, tls_key_file,
 * tls_protocols, tls_ciphers), with session tickets from master's shared
 * key area (tls_ticket.h) so that a client resumes on any worker. */
#ifndef ALLIGATE_TLS_SERVER_H
#define ALLIGATE_TLS_SERVER_H

#include "tls_openssl.h"

struct VBUF;

/* 1 when tls_cert_file is set. */
int     tls_server_enabled(void);

/* The context for the active configuration, made on first use and kept
 * (a worker serves one configuration: master starts new workers on
 * reload).  NULL with the reason in why when it cannot be made.
 * ticket_fd is master's key area (MASTER_TICKET_FD), or -1 for tickets
 * this process alone can read. */
SSL_CTX *tls_server_ctx(int ticket_fd, struct VBUF *why);

#endif
