/* The index record of one archived message: what archive search prints
 * and what every secondary key is made from (arc_index.c), stored as the
 * value of the primary database under the queue id.
 *
 * RECORD FORMAT (version 1)
 *
 *   "1" NUL, then these fields, each followed by NUL:
 *   id, arrival, size, stored (decimal), client address, client name,
 *   HELO, protocol, SASL user, sender, Message-ID, Subject,
 *   the number of recipients (decimal), and each recipient.
 *
 * An absent value is empty (the null sender too).  Every text is valid
 * UTF-8 without control characters: the builder replaces what is not
 * (the Subject is decoded from RFC 2047 first), so that a record can be
 * printed as it is.  The Message-ID is kept without its angle brackets
 * (arc_keys_msgid), the Subject cut to ARC_RECORD_SUBJECT_MAX bytes.
 * The decoder refuses anything else: wrong version, a field missing,
 * a bad number, bytes after the last recipient. */
#ifndef ALLIGATE_ARC_RECORD_H
#define ALLIGATE_ARC_RECORD_H

#include <stddef.h>

#include "arc_file.h"
#include "vbuf.h"

#define ARC_RECORD_SUBJECT_MAX  1000
#define ARC_RECORD_RCPT_MAX     100000

/* A decoded record: the strings point into the encoded bytes, which
 * must outlive it; only the recipient array is its own. */
typedef struct ARC_RECORD {
    const char *id;
    long long arrival;
    long long size;
    long long stored;
    const char *client_addr;
    const char *client_name;
    const char *helo;
    const char *protocol;
    const char *sasl_user;
    const char *sender;
    const char *message_id;
    const char *subject;
    const char **rcpt;
    size_t  rcpt_count;
} ARC_RECORD;

/* The record of a message from its archive envelope and the first bytes
 * of the message (its header), into out. */
void    arc_record_make(VBUF *out, const ARC_ENVELOPE *env, const char *head,
                        size_t head_len, long long stored);
/* -1 when data is not a record (rec then holds nothing to free). */
int     arc_record_decode(const char *data, size_t len, ARC_RECORD *rec);
void    arc_record_release(ARC_RECORD *rec);
/* Appends text made safe for a record: valid UTF-8 without control
 * characters, each offending byte a '?'. */
void    arc_record_safe(VBUF *out, const char *text, size_t len);

#endif
