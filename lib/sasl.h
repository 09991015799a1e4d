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
 * alone is the empty response (RFC 4954 4). */
int     sasl_base64_decode(const char *in, VBUF *out);
void    sasl_base64_encode(const void *data, size_t len, VBUF *out);

/* PLAIN's message: [authzid] NUL authcid NUL passwd.  The authzid may be
 * empty or equal to the authcid (case-insensitively). */
int     sasl_plain_parse(const char *data, size_t len, VBUF *user, VBUF *password);

/* One of LOGIN's answers (the user name, or the password): no NUL, not
 * empty, not over-long; copied to out. */
int     sasl_login_parse(const char *data, size_t len, size_t max, VBUF *out);

/* xtext: printable ASCII with "+XX" for '+', '=', and what is not
 * printable.  -1 when malformed ("+" not followed by two upper-case hex
 * digits, a byte outside 0x21-0x7e, "+XX" that needs no encoding is
 * allowed). */
int     xtext_decode(const char *in, VBUF *out);
void    xtext_encode(const char *in, size_t len, VBUF *out);

#endif
