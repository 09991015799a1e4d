/* PLACEHOLDER, so that the s12-tlslib branch links: the real shared
 * session ticket keys (tls_ticket.h) are written on another branch and
 * replace this file when the branches are merged.  Every call fails, so
 * nothing can mistake this for the real thing. */
#include "tls_openssl.h"
#include "tls_ticket.h"
#include "vbuf.h"

int
tls_ticket_create(VBUF *why)
{
    vbuf_set(why, "session ticket keys: not built yet");
    return -1;
}

void
tls_ticket_rotate(int fd)
{
    (void) fd;
}

int
tls_ticket_attach(SSL_CTX *ctx, int fd, VBUF *why)
{
    (void) ctx, (void) fd;
    vbuf_set(why, "session ticket keys: not built yet");
    return -1;
}
