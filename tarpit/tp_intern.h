/* Shared strings for the hold table: the many connections held at once
 * mostly carry the same reply, rule and command, and often the same
 * client name, so each text is kept once with a count of its users
 * rather than once per connection. */
#ifndef ALLIGATE_TP_INTERN_H
#define ALLIGATE_TP_INTERN_H

#include <stddef.h>

typedef struct TP_INTERN TP_INTERN;

TP_INTERN *tp_intern_create(void);
/* Frees the table and every string in it. */
TP_INTERN *tp_intern_free(TP_INTERN *in);

/* The shared copy of text, with one more user; valid until its last
 * user gives it back. */
const char *tp_intern_get(TP_INTERN *in, const char *text);

/* Gives back one use of a string that tp_intern_get returned. */
void    tp_intern_put(TP_INTERN *in, const char *shared);

/* Distinct strings kept. */
size_t  tp_intern_count(const TP_INTERN *in);

#endif
