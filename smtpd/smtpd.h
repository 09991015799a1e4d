/* smtpd: one SMTP session at a time (the Postfix model: simple code, a
 * crash loses one session).  The session is an explicit state machine:
 * one SMTPD_STATE, a command table, smtpd_state_reset() between
 * transactions. */
#ifndef ALLIGATE_SMTPD_H
#define ALLIGATE_SMTPD_H

#include <stddef.h>
#include <stdint.h>

#include "smtp_addr.h"
#include "vbuf.h"

#define SMTPD_LINE_MAX      2048    /* longer command lines get 500 */
#define SMTPD_INBUF_SIZE    65536
#define SMTPD_MAX_HOPS      100     /* Received: headers before 554 */

/* smtpd_io_line() results. */
#define SMTPD_IO_OK         0
#define SMTPD_IO_TOOLONG    1       /* line was discarded */
#define SMTPD_IO_BARE_LF    2
#define SMTPD_IO_BARE_CR    3
#define SMTPD_IO_EOF        4
#define SMTPD_IO_TIMEOUT    5
#define SMTPD_IO_ERROR      6

/* Per-command counters for the disconnect log line. */
typedef struct SMTPD_COUNT {
    const char *name;
    int ok;
    int total;
} SMTPD_COUNT;

typedef struct SMTPD_STATE {
    /* The connection. */
    int fd;
    char addr[64];              /* client address, numeric */
    char port[8];
    char name[256];             /* client host name, or "unknown" */
    char namaddr[340];          /* name[addr], for logs */
    const char *service;        /* smtp, submission, smtps */

    /* Input and output buffers. */
    char *in;
    size_t in_start;
    size_t in_end;
    int discarding;             /* skipping the rest of an over-long line */
    VBUF *out;
    int io_status;              /* why the session ended (SMTPD_IO_*) */
    long long sock_timeout;     /* ms set on the socket; 0 none, -1 failed */
    int reply_code;             /* of the last reply queued */

    /* The session. */
    char *helo;
    int esmtp;
    int relay_client;           /* client is in relay_networks */
    int error_count;
    int quit;                   /* end the session after this command */
    const char *where;          /* current command, for "lost connection" */
    SMTPD_COUNT counts[16];
    int ncounts;

    /* The transaction. */
    int in_mail;
    SMTP_PATH *sender;
    char **rcpt;
    size_t rcpt_count;
    size_t rcpt_cap;
    int rcpt_tried;             /* RCPT commands, accepted or not */
    int rcpt_invalid;
    char queue_id[32];
} SMTPD_STATE;

/* smtpd_state.c */
SMTPD_STATE *smtpd_state_create(int fd, const char *service);
void smtpd_state_reset(SMTPD_STATE *state);
SMTPD_STATE *smtpd_state_free(SMTPD_STATE *state);
void smtpd_count(SMTPD_STATE *state, const char *cmd, int ok);

/* smtpd_io.c */
int smtpd_io_line(SMTPD_STATE *state, VBUF *line);
int smtpd_io_fill(SMTPD_STATE *state);
void smtpd_reply(SMTPD_STATE *state, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int smtpd_flush(SMTPD_STATE *state);
int smtpd_io_pending(SMTPD_STATE *state);
void smtpd_io_close(SMTPD_STATE *state);

/* smtpd_log.c */
void smtpd_log_reject(SMTPD_STATE *state, const char *cmd, const char *reply,
                      const char *sender, const char *rcpt, const char *rule);
void smtpd_log_disconnect(SMTPD_STATE *state);

/* smtpd_session.c */
void smtpd_session(SMTPD_STATE *state);

/* smtpd_data.c */
void smtpd_data(SMTPD_STATE *state, const char *arg);

#endif
