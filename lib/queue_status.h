/* The side record of a deferred message: why it waits and since when.
 *
 * A queue file is never rewritten, so what the relay learns about a
 * message it could not deliver lives next to it, in status/ID under
 * queue_directory: a few `name=value` lines
 *
 *   attempts=3
 *   last_attempt=1763765728        unix seconds
 *   next_try=1763766028            unix seconds
 *   reason=connect to ...: Connection refused
 *
 * written to a temporary name and renamed into place. The record is
 * informational, for `alligatectl queue list`: it is not fsynced, and
 * losing it loses nothing. What decides the next attempt is the queue
 * file's own modification time in deferred/ (see alligate-relay(8)). */
#ifndef ALLIGATE_QUEUE_STATUS_H
#define ALLIGATE_QUEUE_STATUS_H

#include <time.h>

#define QUEUE_DIR_STATUS        "status"
#define QUEUE_STATUS_REASON_MAX 1000

typedef struct QUEUE_STATUS {
    long    attempts;
    time_t  last_attempt;
    time_t  next_try;
    char    reason[QUEUE_STATUS_REASON_MAX + 1];    /* printable */
} QUEUE_STATUS;

/* Writes (replaces) the record of id, creating status/ when missing;
 * -1 with errno on failure. */
int     queue_status_write(const char *queue_dir, const char *id,
                           const QUEUE_STATUS *st);
/* Reads the record of id; -1 when there is none (st is then zeroed). */
int     queue_status_read(const char *queue_dir, const char *id,
                          QUEUE_STATUS *st);
/* Removes the record of id, if any. */
void    queue_status_remove(const char *queue_dir, const char *id);
/* Removes the records whose message is no longer in any of incoming/,
 * deferred/, hold/ and corrupt/; returns how many. */
int     queue_status_cleanup(const char *queue_dir);

#endif
