/* Reading a queue file (format: queue_record.h): the envelope, and where
 * the message bytes are, from a file whose every byte has been checked. */
#ifndef ALLIGATE_QUEUE_READ_H
#define ALLIGATE_QUEUE_READ_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "queue_record.h"
#include "vbuf.h"

/* queue_read() results. */
#define QUEUE_READ_OK           0
#define QUEUE_READ_CORRUPT      (-1)    /* move the file to corrupt/ */
#define QUEUE_READ_ERROR        (-2)    /* I/O error or gone: try later */

typedef struct QUEUE_RCPT {
    char   *address;
    int     status;             /* QUEUE_RCPT_PENDING/DELIVERED/BOUNCED */
    off_t   offset;             /* of the status byte, for queue_mark.h */
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
    char   *auth_sealed;        /* K: sealed credentials (cred_seal.h) */
    int     auth_wiped;         /* W: they were, and have been wiped */
    off_t   auth_offset;        /* of the K or W record, for queue_mark_wipe */
    off_t   message_offset;     /* where the message bytes start */
    off_t   message_length;     /* how many there are */
} QUEUE_ENVELOPE;

/* On failure env holds nothing (queue_read_free is still safe) and
 * why says what is wrong. */
int     queue_read(const char *path, QUEUE_ENVELOPE *env, VBUF *why);
int     queue_read_fd(int fd, QUEUE_ENVELOPE *env, VBUF *why);
void    queue_read_free(QUEUE_ENVELOPE *env);

#endif
