/* The SASL mechanisms smtpd offers (RFC 4954): PLAIN (RFC 4616) and
 * LOGIN, decoded here without any I/O, and the xtext of MAIL's AUTH=
 * parameter (RFC 3461 4).  Pure functions: the unit tests and fuzz
 * targets drive them directly. */
#ifndef ALLIGATE_SASL_H
#define ALLIGATE_SASL_H

#include <stddef.h>

#include "vbuf.h"

#define SASL_RESPONSE_MAX   12288   /* octets of one client response */
#define SASL_NAME_MAX       255     /* octets of a user name */
#define SASL_PASSWORD_MAX   1024    /* octets of a password */

/* Results. */
#define SASL_OK             0
#define SASL_BAD_BASE64     (-1)    /* 501 5.5.2 */
#define SASL_BAD_FORMAT     (-2)    /* 535 5.7.8: no NULs where PLAIN has
                                     * them, a NUL where none may be, an
                                     * empty or over-long name or password */
#define SASL_AUTHZID        (-3)    /* 535 5.7.8: PLAIN with an authorization
                                     * identity other than the user's */

/* Base64 (RFC 4648, with padding, no white space) into out (binary, NUL
 * terminated for convenience); SASL_BAD_BASE64 for anything else.  "="
 * alone is the empty response (RFC 4954 4), and so is "" (the base64 of
 * nothing).  Only the canonical form is accepted: pad bits that are not
 * zero ("QR==") are refused (RFC 4648 3.5 lets a decoder refuse them),
 * so that one response has one spelling.  out is emptied first, and is
 * wiped and empty after a failure.  Encoding replaces out's content. */
int     sasl_base64_decode(const char *in, VBUF *out);
void    sasl_base64_encode(const void *data, size_t len, VBUF *out);

/* PLAIN's message: [authzid] NUL authcid NUL passwd.  The authzid may be
 * empty or equal to the authcid (case-insensitively).  Exactly two NULs;
 * then the user name and password as sasl_name_ok() and
 * sasl_password_ok() say (SASL_BAD_FORMAT); then the authzid
 * (SASL_AUTHZID).  user and password are set only on success, and are
 * empty otherwise. */
int     sasl_plain_parse(const char *data, size_t len, VBUF *user, VBUF *password);

/* One of LOGIN's answers (the user name, or the password): no NUL (nor
 * CR or LF), not empty, not over max; copied to out (emptied first). */
int     sasl_login_parse(const char *data, size_t len, size_t max, VBUF *out);

/* LOGIN's two answers with the same rules as PLAIN's fields: a user name
 * of at most SASL_NAME_MAX octets and no control character, a password
 * of at most SASL_PASSWORD_MAX octets.  What smtpd calls. */
int     sasl_login_user(const char *data, size_t len, VBUF *user);
int     sasl_login_password(const char *data, size_t len, VBUF *password);

/* 1 when data is a user name (or a password) for PLAIN and LOGIN alike,
 * 0 otherwise: not empty, not over-long, no NUL; no CR or LF either, as
 * authd's framing (attr.h) cannot carry them; a user name has no control
 * character (0x00-0x1f, 0x7f) at all.  Octets over 0x7f are allowed
 * (UTF-8, RFC 4616), and left to the user database to match. */
int     sasl_name_ok(const char *data, size_t len);
int     sasl_password_ok(const char *data, size_t len);

/* The mechanisms, named case-insensitively: SASL_MECH_* or -1. */
#define SASL_MECH_PLAIN     0
#define SASL_MECH_LOGIN     1
int     sasl_mech_lookup(const char *name);
const char *sasl_mech_name(int mech);       /* "PLAIN", "LOGIN" */

/* LOGIN's challenges: "Username:" and "Password:" in base64. */
#define SASL_LOGIN_USER_CHALLENGE       "VXNlcm5hbWU6"
#define SASL_LOGIN_PASSWORD_CHALLENGE   "UGFzc3dvcmQ6"

/* Overwrites all of a buffer that held a secret, then empties it. */
void    sasl_wipe(VBUF *secret);

/* xtext: printable ASCII with "+XX" for '+', '=', and what is not
 * printable.  -1 when malformed ("+" not followed by two upper-case hex
 * digits, a byte outside 0x21-0x7e, a bare '='; "+XX" that needs no
 * encoding is allowed).  "+00" is refused too: AUTH= carries a mailbox,
 * and a NUL would cut it short wherever it goes next.  0 on success;
 * out's content is replaced by either function. */
int     xtext_decode(const char *in, VBUF *out);
void    xtext_encode(const char *in, size_t len, VBUF *out);

#endif
