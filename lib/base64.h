/* Base64 (RFC 4648 section 4): one decoder for SASL responses and RFC 2047
 * encoded-words, which differ only in how strict they are. */
#ifndef ALLIGATE_BASE64_H
#define ALLIGATE_BASE64_H

#include <stddef.h>

#include "vbuf.h"

#define BASE64_FLAG_NOPAD   (1 << 0)    /* the final '=' padding may be
                                         * missing (RFC 2047's B) */
#define BASE64_FLAG_CANON   (1 << 1)    /* pad bits must be zero: one
                                         * spelling per value (SASL) */

/* A base64 digit's value (0-63), or -1 for anything else, '=' included. */
int     base64_value(int ch);

/* Decodes len bytes of in and appends them to out (NUL terminated); no
 * white space is allowed, '=' only as one or two final pad characters,
 * and a length that is not a multiple of 4 is refused unless NOPAD says
 * padding may be missing. Room for the output is reserved before it is
 * written, so no realloc() leaves a copy of it. Returns 0, or -1 when in
 * is malformed, with out truncated back to its length before the call. */
int     base64_decode(VBUF *out, const char *in, size_t len, int flags);

/* Appends the padded base64 of len bytes of data to out. */
void    base64_encode(VBUF *out, const void *data, size_t len);

#endif
