/* Archive files: the archiver's copy of one accepted message. This comment
 * is the format's documentation; the archiver writes the files, the
 * archiver (reindex) and alligatectl (show, export) read them.
 *
 * PLACE
 *
 *   archive_directory/YYYY/MM/DD/ID.eml.zst
 *
 * ID is the queue id, and the date is the UTC date of the second the
 * queue id was made (its first 8 hex digits, queue_id.h): the name is a
 * function of the queue id alone, never of anything the client sent, so
 * a Subject or Message-ID can change no path, and a message stored twice
 * (an archiver killed between its steps) lands on the same file.
 * Directories are mode 0700, files 0600.  archive_directory/tmp/ holds
 * files being written; archive_directory/index/ the index.
 *
 * FILE LAYOUT
 *
 * A sequence of zstd frames (RFC 8878), so that `zstdcat ID.eml.zst`
 * prints the message:
 *
 *   1. a skippable frame (magic ARC_FILE_MAGIC, a little-endian 32-bit
 *      length, then that many bytes) holding the envelope; zstd skips it;
 *   2. one or more zstd frames holding the message exactly as it was
 *      queued (CR LF lines, smtpd's Received: header first), with the
 *      content size and checksum flags set.
 *
 * Nothing may follow the last frame.  The envelope is text:
 *
 *   ALLIGATE-ARCHIVE 1\n             magic, format version 1
 *   I queue id\n                     once, required, the file's name
 *   T arrival time, unix seconds     once, required
 *   C client address                 at most once
 *   N client host name (verified)    at most once
 *   H HELO/EHLO name                 at most once
 *   P protocol (ESMTPS: TLS, ESMTPA: AUTH, RFC 3848)   at most once
 *   U SASL (AUTH) user name          at most once
 *   S envelope sender, empty for <>  once, required
 *   Z size declared with SIZE=       at most once
 *   Y body type                      at most once
 *   8 SMTPUTF8: 0 or 1               at most once
 *   R recipient                      one or more: every recipient the
 *                                    message was accepted for
 *   L message length                 once, required: what the zstd
 *                                    frames decode to, exactly
 *
 * Records are one type byte, a space, a value and LF, with the values of
 * queue_record.h (no CR, LF or NUL, at most QUEUE_VALUE_MAX bytes), in
 * any order; the envelope ends exactly after the last record.  The queue
 * file's sealed AUTH credentials (K) never come here.
 *
 * The reader refuses anything else (bad magic, unknown or malformed
 * record, a required one missing, a singleton repeated, a frame that does
 * not decode or fails its checksum, a length other than L, bytes after
 * the last frame) with a reason: such a file is damaged. */
#ifndef ALLIGATE_ARC_FILE_H
#define ALLIGATE_ARC_FILE_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "queue_id.h"
#include "queue_read.h"
#include "vbuf.h"

#define ARC_FILE_MAGIC          0x184D2A5AU     /* a zstd skippable frame */
#define ARC_FILE_ENV_MAGIC      "ALLIGATE-ARCHIVE 1"
#define ARC_FILE_ENV_MAX        (8 * 1024 * 1024)
#define ARC_FILE_SUFFIX         ".eml.zst"
#define ARC_FILE_TMP            "tmp"
#define ARC_FILE_INDEX          "index"
/* YYYY/MM/DD/ + id + suffix */
#define ARC_FILE_REL_LEN        (11 + QUEUE_ID_LEN + sizeof(ARC_FILE_SUFFIX) - 1)

typedef struct ARC_ENVELOPE {
    char    id[QUEUE_ID_LEN + 1];
    long long arrival;
    char   *client_addr;        /* absent optional strings are NULL */
    char   *client_name;
    char   *helo;
    char   *protocol;
    char   *sasl_user;
    char   *sender;             /* "" for the null sender */
    long long size;             /* declared SIZE=, -1 when absent */
    char   *body_type;
    int     smtputf8;
    char  **rcpt;
    size_t  rcpt_count;
    long long length;           /* of the message */
} ARC_ENVELOPE;

/* Whether the envelope says the message came over TLS (protocol ESMTPS
 * or ESMTPSA). */
int     arc_envelope_tls(const ARC_ENVELOPE *env);
void    arc_envelope_free(ARC_ENVELOPE *env);

/* "YYYY/MM/DD/ID.eml.zst" for a valid queue id into rel; -1 when the id
 * is not one. */
int     arc_file_rel_path(VBUF *rel, const char *id);

/* The envelope of a queue file as the text of the skippable frame. */
void    arc_file_envelope_encode(VBUF *out, const char *id, const QUEUE_ENVELOPE *qenv,
                                 long long length);
/* Parses the frame's text; -1 with why (env then holds nothing). */
int     arc_file_envelope_parse(const char *data, size_t len, ARC_ENVELOPE *env, VBUF *why);

/* Writes a whole archive file to out_fd: the envelope frame, then the
 * message, length bytes read from in_fd at offset, compressed at level.
 * When head is given it receives the first head_max bytes of the
 * message.  Returns 0 with the bytes written in *stored, or -1 with why. */
int     arc_file_write(int out_fd, const VBUF *envelope, int in_fd, off_t offset,
                       off_t length, int level, VBUF *head, size_t head_max,
                       off_t *stored, VBUF *why);

/* Reads and checks a whole archive file held in memory: the envelope into
 * env, the message into message (when not NULL; it is decoded and checked
 * either way).  Returns 0, or -1 with why (damaged). */
int     arc_file_parse(const char *data, size_t len, ARC_ENVELOPE *env,
                       VBUF *message, VBUF *why);
/* The same from a file; -1 with why also when it cannot be read (errno
 * then says why; EBADMSG for damage). */
int     arc_file_read(const char *path, ARC_ENVELOPE *env, VBUF *message, off_t *stored,
                      VBUF *why);

#endif
