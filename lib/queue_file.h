/* Queue files: the on-disk form of an accepted message, its writer and its
 * reader. This comment is the format's documentation.
 *
 * QUEUE DIRECTORY
 *
 *   tmp/        files being written; each is flock()ed by its writer until
 *               it is complete and fsynced
 *   incoming/   committed, not yet tried
 *   deferred/   tried, waiting for a retry; the file's modification time
 *               is the time of the next attempt
 *   hold/       put aside by the administrator
 *   corrupt/    files the reader refused, kept for inspection
 *   status/     why a deferred message waits (queue_status.h); not queue
 *               files, made by relay when first needed
 *
 * relay flock()s a file while it delivers it.
 *
 * A file is created in tmp/ under its queue id and renamed, once complete
 * and fsynced, to incoming/ (the rename never replaces an existing file);
 * then incoming/ itself is fsynced. Only after that does smtpd answer 250.
 * A file is never rewritten, except for the one-byte recipient marks below,
 * and keeps its name (its queue id) from directory to directory.
 *
 * QUEUE IDS
 *
 *   19 upper-case hex digits: 8 of the seconds, 5 of the microseconds, 6 of
 *   the process id (pid_max can reach 2^22). Ids from one process strictly
 *   increase; O_EXCL creation and the no-replace rename catch the rest.
 *
 * FILE LAYOUT
 *
 *   ALLIGATE-QUEUE 1\n                  magic, format version 1
 *   X value\n                           envelope records, any order
 *   ...
 *   M nnnnnnnnnnnnnnnnnnnn\n            message length, exactly 20 digits
 *   <message bytes>                     exactly as received (CR LF lines,
 *                                       dots unstuffed, any byte value)
 *   \nE <length>\n                      trailer: the same length, in
 *                                       canonical decimal
 *
 * Every envelope record is one type byte, one space, a value and LF. Values
 * never contain CR, LF or NUL, and are at most QUEUE_VALUE_MAX bytes.
 *
 *   T  arrival time, unix seconds           once, required
 *   C  client address                       at most once
 *   N  client host name                     at most once
 *   H  HELO/EHLO name                       at most once
 *   P  protocol: SMTP ESMTP ESMTPS ESMTPA ESMTPSA   at most once
 *   U  SASL (AUTH) user name                at most once
 *   S  envelope sender, empty for <>        once, required
 *   Z  size declared with MAIL FROM SIZE=   at most once
 *   Y  body type (7BIT, 8BITMIME, BINARYMIME)   at most once
 *   8  SMTPUTF8 requested: 0 or 1           at most once
 *   R  recipient, pending                   one or more, non-empty
 *   D  recipient, delivered                 (status of a recipient record)
 *   B  recipient, bounced                   (status of a recipient record)
 *   A  name=value extension attribute       any number, name non-empty
 *
 * (The body type is 'Y', not 'B': 'B' is a bounced recipient.)
 *
 * A recipient's status is the first byte of its record, so the relay
 * records progress by overwriting that single byte in place
 * (queue_file_mark_rcpts: pwrite, then one fdatasync); nothing moves.
 *
 * The length on the M line is written as a placeholder (20 'X') and filled
 * in at commit, before the fsync. With the trailer it makes any damage
 * visible: the reader requires that the file size be exactly header +
 * length + trailer and that the trailer repeat the length, so a file cut at
 * any byte, extended, or never finished is refused, even when the message
 * itself contains text that looks like a trailer.
 *
 * Anything else (bad magic, unknown or malformed record, a required record
 * missing, a singleton repeated, bad length or trailer) makes the reader
 * refuse the file with a reason; the caller moves it to corrupt/.
 */
#ifndef ALLIGATE_QUEUE_FILE_H
#define ALLIGATE_QUEUE_FILE_H

#include <sys/types.h>
#include <time.h>

#include "vbuf.h"

#define QUEUE_ID_LEN        19
#define QUEUE_MAGIC         "ALLIGATE-QUEUE 1"
#define QUEUE_VALUE_MAX     16384   /* longest record value */

/* Subdirectories of queue_directory. */
#define QUEUE_DIR_TMP       "tmp"
#define QUEUE_DIR_INCOMING  "incoming"
#define QUEUE_DIR_DEFERRED  "deferred"
#define QUEUE_DIR_HOLD      "hold"
#define QUEUE_DIR_CORRUPT   "corrupt"

/* Record types. */
#define QUEUE_REC_ARRIVAL       'T'
#define QUEUE_REC_CLIENT_ADDR   'C'
#define QUEUE_REC_CLIENT_NAME   'N'
#define QUEUE_REC_HELO          'H'
#define QUEUE_REC_PROTOCOL      'P'
#define QUEUE_REC_SASL_USER     'U'
#define QUEUE_REC_SENDER        'S'
#define QUEUE_REC_SIZE          'Z'
#define QUEUE_REC_BODY_TYPE     'Y'
#define QUEUE_REC_SMTPUTF8      '8'
#define QUEUE_REC_RCPT          'R'
#define QUEUE_REC_ATTR          'A'
#define QUEUE_REC_MESSAGE       'M'

/* Recipient status: the first byte of a recipient record. */
#define QUEUE_RCPT_PENDING      'R'
#define QUEUE_RCPT_DELIVERED    'D'
#define QUEUE_RCPT_BOUNCED      'B'

/* queue_file_read() results. */
#define QUEUE_READ_OK           0
#define QUEUE_READ_CORRUPT      (-1)    /* move the file to corrupt/ */
#define QUEUE_READ_ERROR        (-2)    /* I/O error or gone: try later */

typedef struct QUEUE_RCPT {
    char   *address;
    int     status;             /* QUEUE_RCPT_PENDING/DELIVERED/BOUNCED */
    off_t   offset;             /* of the status byte, for mark_rcpt */
} QUEUE_RCPT;

typedef struct QUEUE_ATTR {
    char   *name;
    char   *value;
} QUEUE_ATTR;

/* Absent optional strings are NULL; sender is "" for the null sender. */
typedef struct QUEUE_ENVELOPE {
    time_t  arrival;
    char   *client_addr;
    char   *client_name;
    char   *helo;
    char   *protocol;
    char   *sasl_user;
    char   *sender;
    long long size;             /* declared SIZE=, -1 when absent */
    char   *body_type;
    int     smtputf8;
    QUEUE_RCPT *rcpt;
    size_t  rcpt_count;
    QUEUE_ATTR *attr;
    size_t  attr_count;
    off_t   message_offset;     /* where the message bytes start */
    off_t   message_length;     /* how many there are */
} QUEUE_ENVELOPE;

typedef struct QUEUE_FILE QUEUE_FILE;

/* Queue directory and ids. */
int     queue_dir_init(const char *queue_dir, VBUF *why);
void    queue_id_new(char buf[QUEUE_ID_LEN + 1]);
int     queue_id_valid(const char *str);
/* 1 when need_bytes fit while leaving min_free_bytes free, 0 when they do
 * not, -1 (errno set) when the file system cannot be asked. */
int     queue_space_ok(const char *queue_dir,
                       unsigned long long min_free_bytes,
                       unsigned long long need_bytes);
/* Removes tmp/ files older than the given age whose writer is gone;
 * returns how many, or -1 when tmp/ cannot be read. */
int     queue_file_cleanup_tmp(const char *queue_dir, int older_than_seconds);

/* Writer. Records, then queue_file_begin_message(), then the message in
 * any number of queue_file_write() calls, then queue_file_commit() or
 * queue_file_abort(). Both free the handle: copy the id first. */
QUEUE_FILE *queue_file_create(const char *queue_dir, VBUF *why);
const char *queue_file_id(QUEUE_FILE *qf);
/* -1 with errno EINVAL, nothing written, when the value is unfit for its
 * type (CR, LF, too long, not a number, ...) or a once-only record is
 * repeated; -1 with the errno of a write error. Types other than the
 * QUEUE_REC_ envelope types and QUEUE_REC_RCPT are a bug: msg_panic. */
int     queue_file_rec(QUEUE_FILE *qf, int type, const char *value);
int     queue_file_recf(QUEUE_FILE *qf, int type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int     queue_file_begin_message(QUEUE_FILE *qf);
/* -1 with errno after a write error (ENOSPC, EFBIG, EIO), which is
 * remembered: every later call and the commit fail. */
int     queue_file_write(QUEUE_FILE *qf, const void *data, size_t len);
/* 0 only once the file is fsynced in incoming/ and incoming/ is fsynced;
 * otherwise -1 with a reason and no file left behind. */
int     queue_file_commit(QUEUE_FILE *qf, VBUF *why);
void    queue_file_abort(QUEUE_FILE *qf);

/* Reader. On failure env holds nothing (queue_envelope_free is still safe)
 * and why says what is wrong. */
int     queue_file_read(const char *path, QUEUE_ENVELOPE *env, VBUF *why);
int     queue_file_read_fd(int fd, QUEUE_ENVELOPE *env, VBUF *why);
void    queue_envelope_free(QUEUE_ENVELOPE *env);
/* Sets the status byte of the recipient record at offset (from the reader)
 * and fdatasyncs; -1 with errno (EINVAL: no recipient record there). */
int     queue_file_mark_rcpt(int fd, off_t offset, int status);
/* The same for count records, with one fdatasync for all; on failure the
 * records before the one that failed are set, but perhaps not synced. */
int     queue_file_mark_rcpts(int fd, const off_t *offsets, size_t count,
                              int status);

#endif
