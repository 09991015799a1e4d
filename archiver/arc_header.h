/* The header fields the archive index files a message under, found in the
 * first bytes of the message.  Pure: bytes in, values out. */
#ifndef ALLIGATE_ARC_HEADER_H
#define ALLIGATE_ARC_HEADER_H

#include <stddef.h>

#include "vbuf.h"

/* How much of a message is looked at: a header longer than this is read
 * no further (what was found so far counts). */
#define ARC_HEADER_MAX      (256 * 1024)

/* The value of the first field called name (case-insensitive) in the
 * header of msg (the lines before the first empty line, CR LF or bare
 * LF), unfolded (each line break before white space removed) and trimmed,
 * into value; 1 when there is one, 0 when not (value is then empty). */
int     arc_header_field(const char *msg, size_t len, const char *name, VBUF *value);

#endif
