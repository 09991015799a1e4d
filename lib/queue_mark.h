/* The one change ever made to a queue file in place: a recipient's status
 * byte (queue_record.h), set once it is delivered or bounced. */
#ifndef ALLIGATE_QUEUE_MARK_H
#define ALLIGATE_QUEUE_MARK_H

#include <stddef.h>
#include <sys/types.h>

#include "queue_record.h"

/* Sets the status byte of the recipient record at offset (from the reader)
 * and fdatasyncs; -1 with errno (EINVAL: no recipient record there). */
int     queue_mark_rcpt(int fd, off_t offset, int status);
/* The same for count records, with one fdatasync for all; on failure the
 * records before the one that failed are set, but perhaps not synced. */
int     queue_mark_rcpts(int fd, const off_t *offsets, size_t count,
                         int status);

#endif
