/* The framing of every local socket: a message is a list of `name=value\n`
 * lines ended by an empty line. Names are [a-z0-9_]{1,64}; a value is any
 * bytes but NUL, CR and LF; the value is everything after the first '='.
 * The server greets each client with `proto=NAME\nversion=N\n\n`. */
#ifndef ALLIGATE_ATTR_H
#define ALLIGATE_ATTR_H

#include <stdarg.h>
#include <stddef.h>

#include "vbuf.h"

#define ATTR_NAME_MAX       64
#define ATTR_LINE_MAX       4096        /* name=value, without the LF */
#define ATTR_VALUE_MAX      (ATTR_LINE_MAX - ATTR_NAME_MAX - 1)
#define ATTR_COUNT_MAX      256         /* attributes per message */
#define ATTR_MESSAGE_MAX    65536       /* bytes per message, final LF too */

typedef struct ATTR ATTR;

ATTR *attr_create(void);
ATTR *attr_free(ATTR *a);
void attr_reset(ATTR *a);

/* Sets or replaces (in place) an attribute. Returns -1 and changes nothing
 * when the name is bad, the value holds LF or CR or is longer than
 * ATTR_VALUE_MAX, or the message would no longer be parseable (more than
 * ATTR_COUNT_MAX attributes or ATTR_MESSAGE_MAX bytes). */
int attr_set(ATTR *a, const char *name, const char *value);
int attr_setf(ATTR *a, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int attr_set_long(ATTR *a, const char *name, long value);

/* NULL when absent. */
const char *attr_get(const ATTR *a, const char *name);
/* Strict decimal ("-12", not " 12", "+12", "12x" or ""); -1 when absent
 * or malformed, and then *out is unchanged. */
int attr_get_long(const ATTR *a, const char *name, long *out);

int attr_count(const ATTR *a);
/* The i-th attribute in message order, for logging and tools. */
const char *attr_name_at(const ATTR *a, int i);
const char *attr_value_at(const ATTR *a, int i);

/* Appends the message, with its terminating empty line, to out. */
void attr_print(VBUF *out, const ATTR *a);

/* Parses one message from the start of buf into out (reset first).
 * Returns 1 with *consumed set when a message is complete, 0 when more
 * input is needed, -1 with the reason in why (which may be NULL) when the
 * input is malformed:
 * "NUL byte", "CR in line", "line too long", "line without '='",
 * "bad attribute name", "duplicate attribute: NAME", "too many attributes",
 * "message too long". Errors are found as early as the bytes allow, so a
 * message split anywhere gives the same result once all has arrived. */
int attr_parse(ATTR *out, const char *buf, size_t len, size_t *consumed,
               VBUF *why);

/* Appends the server greeting. */
void attr_greeting(VBUF *out, const char *proto, int version);
/* Returns 0 when the parsed greeting names proto and version, else -1. */
int attr_check_greeting(const ATTR *a, const char *proto, int version,
                        VBUF *why);

#endif
