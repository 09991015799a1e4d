/* The changes ever made to a queue file in place (queue_record.h): a
 * recipient's status byte, set once it is delivered or bounced; and the
 * wipe of the sealed AUTH credentials before the file is removed. */
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

/* Overwrites the K record at offset (the reader's auth_offset) with a W
 * record of the same length, every value byte QUEUE_AUTH_WIPE_BYTE, and
 * fdatasyncs; 0 also when it is a W record already. -1 with errno
 * (EINVAL: no K or W record there). */
int     queue_mark_wipe(int fd, off_t offset);

#endif
