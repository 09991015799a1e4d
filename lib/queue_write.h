/* Writing a queue file (format: queue_record.h): in tmp/, locked, then
 * committed into incoming/ only once it is safely on disk. */
#ifndef ALLIGATE_QUEUE_WRITE_H
#define ALLIGATE_QUEUE_WRITE_H

#include <stddef.h>

#include "queue_id.h"
#include "queue_record.h"
#include "vbuf.h"

typedef struct QUEUE_WRITER QUEUE_WRITER;

/* Records, then queue_write_begin_message(), then the message in any
 * number of queue_write_message() calls, then queue_write_commit() or
 * queue_write_abort(). Both free the handle: copy the id first. */
/* NULL with why and errno (ENOSPC or EDQUOT: the file system or the
 * quota is full) when the file cannot be made. */
QUEUE_WRITER *queue_write_create(const char *queue_dir, VBUF *why);
const char *queue_write_id(QUEUE_WRITER *qf);
/* archive = yes: the commit also links the file into archive/ (see
 * queue_dir.h), and fails, leaving no file anywhere, when it cannot. */
void    queue_write_archive(QUEUE_WRITER *qf);
/* -1 with errno EINVAL, nothing written, when the value is unfit for its
 * type (CR, LF, too long, not a number, ...) or a once-only record is
 * repeated; -1 with the errno of a write error. Types other than the
 * QUEUE_REC_ envelope types and QUEUE_REC_RCPT are a bug: msg_panic. */
int     queue_write_rec(QUEUE_WRITER *qf, int type, const char *value);
int     queue_write_recf(QUEUE_WRITER *qf, int type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int     queue_write_begin_message(QUEUE_WRITER *qf);
/* -1 with errno after a write error (ENOSPC, EFBIG, EIO), which is
 * remembered: every later call and the commit fail. */
int     queue_write_message(QUEUE_WRITER *qf, const void *data, size_t len);
/* 0 only once the file is fsynced in incoming/ and incoming/ is fsynced;
 * otherwise -1 with a reason, errno (that of the write, fsync or rename
 * that failed: ENOSPC or EDQUOT when the file system or the quota is
 * full; EINVAL for an incomplete envelope) and no file left behind. */
int     queue_write_commit(QUEUE_WRITER *qf, VBUF *why);
void    queue_write_abort(QUEUE_WRITER *qf);

#endif
