/* Client-supplied text made safe to log or print: every byte that is not
 * printable ASCII becomes '?', so that such text can neither forge nor
 * break a log line or a terminal. */
#ifndef ALLIGATE_PRINTABLE_H
#define ALLIGATE_PRINTABLE_H

#include <stddef.h>

struct VBUF;

/* Appends the len bytes of text to out, made printable. */
void printable_append(struct VBUF *out, const char *text, size_t len);
/* Replaces the content of buf with text made printable; returns it, for
 * use as a printf argument.  One buffer per argument: two calls with the
 * same buffer in one printf would print the second text twice. */
const char *printable_vbuf(struct VBUF *buf, const char *text);
/* Same, into one static buffer that the next call overwrites: at most one
 * call per printf. */
const char *printable_str(const char *text);

#endif
