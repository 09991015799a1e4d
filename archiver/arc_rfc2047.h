/* Header text as people read it: RFC 2047 encoded-words decoded into
 * UTF-8, for the Subject words of the archive index and what archive
 * search prints.  Pure: bytes in, bytes out. */
#ifndef ALLIGATE_ARC_RFC2047_H
#define ALLIGATE_ARC_RFC2047_H

#include <stddef.h>

#include "vbuf.h"

/* Decodes an unfolded header value into out (reset first):
 *
 * - encoded-words =?charset?B?...?= and =?charset?Q?...?= (either case;
 *   a RFC 2231 language suffix "*lang" on the charset is ignored) in
 *   UTF-8, US-ASCII, ISO-8859-1 and Windows-1252 by this code, in any
 *   other charset that iconv(3) knows;
 * - white space between two adjacent encoded-words disappears (RFC 2047
 *   section 6.2);
 * - a malformed encoded-word (unterminated, bad base64 or hex, unknown
 *   encoding or charset, text that is not in its charset) stays as it is;
 * - other 8-bit text is taken as UTF-8 when it is valid UTF-8, else as
 *   Latin-1 (raw 8-bit headers from old mailers).
 *
 * The result is valid UTF-8 in which every control character (C0, DEL,
 * C1, NUL) has become a space. */
void    arc_rfc2047_decode(VBUF *out, const char *in, size_t len);

/* Appends text to out as valid UTF-8: valid UTF-8 as it is, anything
 * else byte by byte as Latin-1. */
void    arc_rfc2047_utf8(VBUF *out, const char *text, size_t len);

/* 1 when text is valid UTF-8 (no overlong forms, surrogates or code
 * points past U+10FFFF). */
int     arc_rfc2047_valid_utf8(const char *text, size_t len);

#endif
