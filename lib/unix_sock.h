/* Unix-domain stream sockets for the local daemons: a listener at a path,
 * and a client connection with a deadline. */
#ifndef ALLIGATE_UNIX_SOCK_H
#define ALLIGATE_UNIX_SOCK_H

#include "vbuf.h"

/* Creates a listening socket (blocking, close-on-exec) at path with the
 * given mode. A stale socket left at path is removed; a live one (another
 * process accepts on it) or anything that is not a socket is an error.
 * Returns the descriptor, or -1 with the reason in why. */
int unix_sock_listen(const char *path, int mode, int backlog, VBUF *why);

/* The same for a socket of another type (SOCK_SEQPACKET, SOCK_STREAM). */
int unix_sock_listen_type(const char *path, int type, int mode, int backlog,
                          VBUF *why);

/* Connects to the socket at path, giving up after timeout_ms. Returns a
 * connected non-blocking, close-on-exec descriptor, or -1 with why. */
int unix_sock_connect(const char *path, int timeout_ms, VBUF *why);

#endif
