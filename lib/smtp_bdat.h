/* The BDAT command's argument (RFC 3030 CHUNKING): "chunk-size [LAST]".
 * Pure parsing: no I/O, no allocation; a refusal comes back as the reply
 * the client should get, in the same form as MAIL's and RCPT's. The chunk
 * content itself is scanned by smtp_data in raw mode. */
#ifndef ALLIGATE_SMTP_BDAT_H
#define ALLIGATE_SMTP_BDAT_H

#include <stdint.h>

#include "smtp_addr.h"

/* RFC 3030 2: chunk-size = 1*DIGIT; like SIZE= (RFC 1870), no more than
 * 20 digits, which is what a 64-bit count needs. */
#define SMTP_BDAT_DIGITS_MAX    20

/* arg is the text after the verb ("1000 LAST"), without CR LF: spaces
 * (any number) before, between and after the words; chunk-size of 1 to
 * 20 digits, at most UINT64_MAX, leading zeros allowed ("0" is legal, as
 * in "BDAT 0 LAST"); then optionally LAST, in any case. Returns 0 with
 * *size and *last (1 with LAST, else 0) set, or -1 with neither touched
 * and err set to "501 5.5.4 Syntax: BDAT count [LAST]" for anything else:
 * no size, a sign, more than 20 digits, a value above UINT64_MAX, a tab
 * or other white space, a word other than LAST, or a third word. The
 * caller must still read and discard the chunk's bytes when it can tell
 * how many there are; after a refusal it cannot, and should close. */
int     smtp_bdat_parse(const char *arg, uint64_t *size, int *last,
                        SMTP_ADDR_ERR *err);

#endif
