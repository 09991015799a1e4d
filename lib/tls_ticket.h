/* Session ticket keys shared by every smtpd worker (RFC 5077 tickets and
 * TLS 1.3 resumption both use them): master makes a small anonymous
 * shared memory area (memfd) at start, fills it from the kernel's random
 * source and rotates it every tls_session_ticket_lifetime; workers get it
 * as an inherited descriptor and map it read-only.  A ticket made with
 * the current key is accepted; one made with the previous key is accepted
 * and renewed; older ones are not.  The keys never touch a disk. */
#ifndef ALLIGATE_TLS_TICKET_H
#define ALLIGATE_TLS_TICKET_H

#include <openssl/ssl.h>

struct VBUF;

/* Master: the area with a fresh current and previous key; a descriptor
 * (not close-on-exec handling is the caller's), or -1 with why. */
int     tls_ticket_create(struct VBUF *why);

/* Master: the current key becomes the previous, a new one the current. */
void    tls_ticket_rotate(int fd);

/* Worker: maps the area and makes ctx encrypt and decrypt its tickets
 * with it.  -1 with why when the descriptor is not such an area. */
int     tls_ticket_attach(SSL_CTX *ctx, int fd, struct VBUF *why);

#endif
