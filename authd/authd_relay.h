/* auth_backend = relay: a user name and password checked by
 * authenticating with them at the backend (relay_host), as Haraka's
 * auth_proxy does: EHLO, STARTTLS when offered and relay_tls allows
 * (without certificate verification, like relay), then AUTH PLAIN, or
 * AUTH LOGIN when only that is offered, then QUIT.
 *
 * It blocks for up to AUTH_BACKEND_TIMEOUT_MS (every connect, read and
 * write has that deadline): authd runs it in a child process per check
 * (authd_backend.c), never in its event loop. */
#ifndef ALLIGATE_AUTHD_RELAY_H
#define ALLIGATE_AUTHD_RELAY_H

#include "vbuf.h"

/* AUTH_CLNT_OK (235), AUTH_CLNT_FAIL (a 5xx to AUTH) or AUTH_CLNT_TEMP
 * (a 4xx, no connection, a timeout, no AUTH PLAIN or LOGIN offered, TLS
 * required but not there), with the backend's words in why.  method is
 * the client's mechanism, for the log only. */
int     authd_relay_verify(const char *method, const char *user,
                           const char *password, VBUF *why);

#endif
