/* authd's protocol and its typed client (smtpd asks; alligatectl tells it
 * to forget a user).
 *
 * authd listens on run_directory/authd.sock and greets with proto=authd,
 * version=1.  It is the only process that reads auth_user_database or
 * asks the backend; a client never sees a hash.
 *
 *   request=verify method=PLAIN|LOGIN user=U password=B64 client=ADDR
 *        status=0                  the credentials are good
 *        status=1 reason=TEXT      they are not (unknown user or wrong
 *                                  password: the same answer, after
 *                                  auth_failure_delay)
 *        status=2 reason=TEXT      cannot tell now (backend down, ...)
 *   request=forget user=U          drops U's cached checks: status=0
 *
 * The password travels in base64 (RFC 4648, padded): it may hold any byte
 * but NUL (CR and LF included, which the attribute framing cannot carry;
 * the SASL decoders refuse a NUL before anything is sent), and authd
 * refuses one with a NUL in it.  The user name travels as it is: one the
 * framing cannot carry (CR, LF, over ATTR_VALUE_MAX octets) can be
 * nobody's, so auth_clnt_verify() answers AUTH_CLNT_FAIL for it without
 * asking.  client is optional, for authd's log.  Any request may be
 * answered status=-1 reason=TEXT (a request authd does not understand).
 *
 * A failed check is answered after auth_failure_delay, and later still
 * for a user whose name failed more than auth_failure_limit times in
 * auth_failure_window (at most AUTH_SLOW_MAX_MS more: slowed, never
 * locked out); with auth_backend = relay the backend's check adds at most
 * AUTH_BACKEND_TIMEOUT_MS.  A caller whose timeout is auth_failure_delay
 * + AUTH_CLNT_EXTRA_MS never cuts an answer short; a shorter one turns
 * the slowest failures into AUTH_CLNT_TEMP, never into success. */
#ifndef ALLIGATE_AUTH_CLNT_H
#define ALLIGATE_AUTH_CLNT_H

#include "vbuf.h"

#define AUTH_SOCKET_NAME    "authd.sock"
#define AUTH_PROTO          "authd"
#define AUTH_VERSION        1

#define AUTH_SLOW_MAX_MS        10000
#define AUTH_BACKEND_TIMEOUT_MS 10000
#define AUTH_CLNT_EXTRA_MS      (AUTH_SLOW_MAX_MS + AUTH_BACKEND_TIMEOUT_MS \
                                 + 1000)

/* Results of auth_clnt_verify(). */
#define AUTH_CLNT_OK        0       /* verified */
#define AUTH_CLNT_FAIL      1       /* bad credentials */
#define AUTH_CLNT_TEMP      2       /* authd down, slow, or cannot tell */

typedef struct AUTH_CLNT AUTH_CLNT;

/* Nothing happens before the first request. */
AUTH_CLNT *auth_clnt_create(const char *socket_path, int timeout_ms);
AUTH_CLNT *auth_clnt_free(AUTH_CLNT *clnt);

/* run_directory/authd.sock of the active configuration. */
const char *auth_clnt_default_path(void);

/* One check: AUTH_CLNT_* with authd's reason (or why it did not answer)
 * in why.  The timeout covers auth_failure_delay: the caller makes it
 * longer than that. */
int     auth_clnt_verify(AUTH_CLNT *clnt, const char *method, const char *user,
                         const char *password, const char *client_addr,
                         VBUF *why);

/* Forget a user's cached checks (after user passwd and user delete):
 * 0, or -1 with why (authd not running is not an error the caller must
 * act on: its cache dies with it). */
int     auth_clnt_forget(AUTH_CLNT *clnt, const char *user, VBUF *why);

#endif
