/* Queue files: the on-disk form of an accepted message. This comment is
 * the format's documentation; the writer is queue_write.h, the reader
 * queue_read.h, the recipient marks queue_mark.h, the directories a file
 * passes through queue_dir.h and its name queue_id.h.
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
 *   K  the client's AUTH credentials,       at most once; only with
 *      sealed (cred_seal.h): base64         relay_auth_replay = yes
 *   W  K after the wipe: the same length,   at most once, never with K
 *      every value byte '0'
 *
 * (The body type is 'Y', not 'B': 'B' is a bounced recipient.)
 *
 * A recipient's status is the first byte of its record, so the relay
 * records progress by overwriting that single byte in place
 * (queue_mark_rcpts: pwrite, then one fdatasync); nothing moves.
 *
 * The sealed credentials are encrypted, but they do not outlive the
 * message: before relay removes a file that has a K record (delivered or
 * bounced), it overwrites that record in place, "K <sealed>" with
 * "W 000...0" of the same length (queue_mark_wipe: one pwrite, then
 * fdatasync), so that the blocks the file leaves behind do not hold them.
 * Nothing else moves. They never appear in a log or in alligatectl's
 * output.
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
 *
 * The functions below are what the writer, the reader and the marks share;
 * other code needs only the constants. */
#ifndef ALLIGATE_QUEUE_RECORD_H
#define ALLIGATE_QUEUE_RECORD_H

#include <stddef.h>

#include "vbuf.h"

#define QUEUE_MAGIC         "ALLIGATE-QUEUE 1"
#define QUEUE_VALUE_MAX     16384   /* longest record value */

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
#define QUEUE_REC_AUTH_SEALED   'K'
#define QUEUE_REC_AUTH_WIPED    'W'
#define QUEUE_REC_MESSAGE       'M'

/* Recipient status: the first byte of a recipient record. */
#define QUEUE_RCPT_PENDING      'R'
#define QUEUE_RCPT_DELIVERED    'D'
#define QUEUE_RCPT_BOUNCED      'B'

#define QUEUE_RECORD_LINE_MAX   (QUEUE_VALUE_MAX + 2)   /* "X " + value */
#define QUEUE_RECORD_LEN_DIGITS 20                      /* on the M line */
#define QUEUE_RECORD_MAGIC_LINE QUEUE_MAGIC "\n"
#define QUEUE_RECORD_MAGIC_LEN  (sizeof(QUEUE_RECORD_MAGIC_LINE) - 1)

/* The bit of a record type that may appear at most once, 0 for others. */
unsigned queue_record_singleton_bit(int type);
#define QUEUE_AUTH_WIPE_BYTE    '0'     /* every value byte of a W record */

/* 1 for the three recipient record types. */
int     queue_record_is_rcpt(int type);
/* Decimal digits without sign, at most 18 so that they fit a long long;
 * -1 for anything else. out may be NULL. */
int     queue_record_parse_num(const char *value, size_t len, long long *out);
/* Says what is wrong with value for a record of this type, or NULL. */
const char *queue_record_check(int type, const char *value, size_t len);
/* Resets why (when given) to a formatted reason. */
void    queue_record_why(VBUF *why, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
