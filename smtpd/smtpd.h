/* smtpd: one SMTP session at a time (the Postfix model: simple code, a
 * crash loses one session).  The session is an explicit state machine:
 * one SMTPD_STATE, a command table whose flags say in which states each
 * command may run (smtpd_session.c), smtpd_state_reset() between
 * transactions, and every decision about the client taken by the policy
 * layer (smtpd_policy.c). */
#ifndef ALLIGATE_SMTPD_H
#define ALLIGATE_SMTPD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "smtp_addr.h"
#include "smtp_data.h"
#include "smtpd_policy.h"
#include "vbuf.h"

#define SMTPD_LINE_MAX      2048    /* longer command lines get 500 */
#define SMTPD_AUTH_LINE_MAX (12288 + 32)    /* AUTH with its initial
                                             * response (RFC 4954 4) */
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

/* What a command handler returns: whether the command succeeded, for the
 * error limits and the "disconnect from ... rcpt=1/2" counts. */
#define SMTPD_CMD_OK        0
#define SMTPD_CMD_ERROR     (-1)

/* How a session ends. */
#define SMTPD_END_CLOSE     0       /* close the connection */
#define SMTPD_END_HANDOFF   1       /* the descriptor went to another daemon */

struct SMTPD_STATE;
struct QUEUE_WRITER;
struct ssl_st;

/* The transport under the session: the plain socket, or TLS once the
 * handshake is done.  read and write return what read(2) and send(2)
 * return, errno included; pending is 1 when input is buffered below us,
 * so that waiting on the socket would be wrong (NULL: never). */
typedef struct SMTPD_XPORT {
    ssize_t (*read) (struct SMTPD_STATE *state, void *buf, size_t len);
    ssize_t (*write) (struct SMTPD_STATE *state, const void *buf, size_t len);
    int     (*pending) (struct SMTPD_STATE *state);
} SMTPD_XPORT;

/* TLS levels (the order of smtpd_tls_security_level's values). */
#define SMTPD_TLS_NONE      0
#define SMTPD_TLS_MAY       1       /* STARTTLS offered */
#define SMTPD_TLS_ENCRYPT   2       /* STARTTLS required before mail */
#define SMTPD_TLS_WRAPPER   3       /* smtps: the handshake comes first */

/* One entry of the command table (smtpd_session.c). */
typedef struct SMTPD_CMD {
    const char *name;
    const char *log_name;               /* in "disconnect from ..." */
    int     (*action) (struct SMTPD_STATE *state, const char *arg);
    int     flags;                      /* SMTPD_CMD_FLAG_* */
} SMTPD_CMD;

#define SMTPD_CMD_FLAG_LAST      (1 << 0)   /* must end a pipelining group */
#define SMTPD_CMD_FLAG_NEED_HELO (1 << 1)   /* 503 before HELO/EHLO */
#define SMTPD_CMD_FLAG_NEED_MAIL (1 << 2)   /* 503 outside a transaction */
#define SMTPD_CMD_FLAG_NEED_RCPT (1 << 3)   /* 503/554 without recipients */
#define SMTPD_CMD_FLAG_PRE_TLS   (1 << 4)   /* allowed before TLS where TLS
                                             * is required */
#define SMTPD_CMD_FLAG_PRE_AUTH  (1 << 5)   /* allowed before AUTH where
                                             * AUTH is required */
#define SMTPD_CMD_FLAG_CLOSING   (1 << 6)   /* still answered, when already
                                             * pipelined, once a rule has
                                             * decided to close */

extern const SMTPD_CMD smtpd_cmds[];    /* ends with the "unknown" entry */

/* Per-command counters for the disconnect log line, by table index. */
typedef struct SMTPD_COUNT {
    int     ok;
    int     total;
} SMTPD_COUNT;

typedef struct SMTPD_STATE {
    /* The connection. */
    int     fd;
    char    addr[64];                   /* client address, numeric */
    char    port[8];
    char    name[256];                  /* client host name, or "unknown" */
    char    namaddr[340];               /* name[addr], for logs */
    const char *service;                /* smtp, submission, smtps */
    const SMTPD_XPORT *xport;
    int     end;                        /* SMTPD_END_* */

    /* TLS. */
    int     tls_level;                  /* SMTPD_TLS_* of the service */
    struct ssl_st *tls;                 /* once the handshake is done */
    int     tls_resumed;
    VBUF   *tls_info;                   /* "TLSv1.3 with cipher ..." */

    /* Input and output buffers. */
    char   *in;
    size_t  in_start;
    size_t  in_end;
    int     discarding;                 /* skipping the rest of an over-long line */
    VBUF   *out;
    int     io_status;                  /* why the session ended (SMTPD_IO_*) */
    long long sock_timeout;             /* ms set on the socket; 0 none, -1 failed */
    long long deadline;                 /* monotime ms the current request
                                         * must end by; 0: per read */
    int     reply_code;                 /* of the last reply queued */

    /* The session. */
    SMTPD_POLICY policy;                /* the configuration it decides by */
    SMTPD_FACTS facts;                  /* what it knows of the client */
    char   *helo;
    int     esmtp;
    int     error_count;
    int     quit;                       /* end the session after this command */
    int     closing;                    /* a rule refused: answer what is
                                         * pipelined already, then close */
    const char *where;                  /* current command, for "lost connection" */
    SMTPD_COUNT *counts;                /* by smtpd_cmds[] index */

    /* dnscache (smtpd_dns.c). */
    int     dns_asked;                  /* what the reply owed answers */
    int     dns_name_pending;           /* the client's name is to come */
    int     dns_connect_logged;         /* "connect from" is logged */
    long long dns_deadline;             /* monotime ms: the session's wait */
    char   *dnsbl_sites;                /* facts.dnsbl_sites */

    /* AUTH (facts.authenticated says whether it succeeded). */
    const char *sasl_method;            /* PLAIN or LOGIN */
    char   *sasl_user;
    char   *sasl_password;              /* kept only for relay_auth_replay */

    /* The transaction. */
    int     in_mail;
    SMTP_PATH *sender;
    char  **rcpt;
    size_t  rcpt_count;
    size_t  rcpt_cap;
    int     rcpt_tried;                 /* RCPT commands, accepted or not */
    const char *txn_refused;            /* the rule that refused the whole
                                         * transaction, or NULL */
    char    queue_id[32];

    /* BDAT (RFC 3030): the message being received in chunks. */
    struct QUEUE_WRITER *bdat_qf;
    SMTP_DATA bdat_sd;
    int     bdat;                       /* a BDAT transaction is open */
    const char *bdat_error;             /* the reply that refused it: every
                                         * chunk up to LAST gets it again */
} SMTPD_STATE;

/* smtpd_state.c */
SMTPD_STATE *smtpd_state_create(int fd, const char *service);
void    smtpd_state_reset(SMTPD_STATE *state);
SMTPD_STATE *smtpd_state_free(SMTPD_STATE *state);
/* At connect: the configuration the policy reads, and the client's
 * list memberships, looked up once. */
void    smtpd_state_facts(SMTPD_STATE *state);

/* smtpd_io.c */
extern const SMTPD_XPORT smtpd_xport_plain;
int     smtpd_io_line(SMTPD_STATE *state, VBUF *line);
int     smtpd_io_line_max(SMTPD_STATE *state, VBUF *line, size_t max);
int     smtpd_io_fill(SMTPD_STATE *state);
void    smtpd_reply(SMTPD_STATE *state, const char *fmt,...)
            __attribute__((format(printf, 2, 3)));
int     smtpd_flush(SMTPD_STATE *state);
int     smtpd_io_pending(SMTPD_STATE *state);
int     smtpd_io_has_line(SMTPD_STATE *state);
void    smtpd_io_request(SMTPD_STATE *state);
void    smtpd_io_extend(SMTPD_STATE *state, size_t bytes);
void    smtpd_io_close(SMTPD_STATE *state);

/* smtpd_dns.c: send at connect; score before the greeting; then the
 * name: taken if there (wait = 0) or waited for (1) by smtpd_dns_name(),
 * which logs "connect from" once it is known, and must run before any
 * line that names the client; idle while the session waits for a
 * command (the name, or the client, whichever comes first); command
 * before each command, waiting for the commands whose lines or header
 * name the client. */
void    smtpd_dns_send(SMTPD_STATE *state);
void    smtpd_dns_score(SMTPD_STATE *state);
void    smtpd_dns_name(SMTPD_STATE *state, int wait);
void    smtpd_dns_idle(SMTPD_STATE *state);
void    smtpd_dns_command(SMTPD_STATE *state, const char *verb);

/* smtpd_auth.c */
int     smtpd_auth(SMTPD_STATE *state, const char *arg);
int     smtpd_auth_offered(SMTPD_STATE *state);
void    smtpd_auth_ehlo_line(VBUF *line);
int     smtpd_auth_required(SMTPD_STATE *state);
void    smtpd_auth_forget(SMTPD_STATE *state);

/* smtpd_tls.c */
void    smtpd_tls_init(void);
int     smtpd_tls_level(const char *service);
int     smtpd_tls_offered(SMTPD_STATE *state);
int     smtpd_tls_required(SMTPD_STATE *state);
int     smtpd_starttls(SMTPD_STATE *state, const char *arg);
int     smtpd_tls_wrapper(SMTPD_STATE *state);
void    smtpd_tls_close(SMTPD_STATE *state);

/* smtpd_log.c */
/* "ID: reject: CMD from host[addr]: REPLY; from=<s> to=<r> proto=ESMTP
 * helo=<h> rule=RULE": the one log line of every refusal, in Postfix's
 * shape (NOQUEUE before DATA; from=, to= and helo= when the session has
 * them). */
void    smtpd_log_reject(SMTPD_STATE *state, const char *cmd, const char *reply,
                         const char *rcpt, const char *rule);
void    smtpd_log_disconnect(SMTPD_STATE *state);
/* The same with what the rule adds after rule=NAME ("score=5 sites=a,b"),
 * at the end of the line. */
void    smtpd_log_reject_detail(SMTPD_STATE *state, const char *cmd,
                                const char *reply, const char *rcpt,
                                const char *rule, const char *detail);

/* "ID: tarpit: CMD from host[addr]: REPLY; ... rule=RULE ...": the same
 * line for a client handed to the tarpit, which gives it REPLY later. */
void    smtpd_log_tarpit(SMTPD_STATE *state, const char *cmd,
                         const char *reply, const char *rcpt,
                         const char *rule, const char *detail);

/* smtpd_tarpit.c */
/* Hands the client to the tarpit with reply (the whole "550 ..." line)
 * for the command cmd, after what is queued for it has gone out, and
 * ends the session: 0.  Where it cannot (TLS, the tarpit down or full),
 * queues reply, to go at once, and ends the session: -1.  Logs either. */
int     smtpd_tarpit(SMTPD_STATE *state, const char *cmd,
                     const SMTPD_DECISION *d, const char *reply,
                     const char *rcpt);

/* smtpd_session.c */
void    smtpd_session(SMTPD_STATE *state);
/* Applies a refusal: logs it, queues the reply, and closes, drops the
 * transaction or records the client as over a limit as d says, or
 * hands the client to the tarpit (smtpd_tarpit()).  Returns
 * SMTPD_CMD_ERROR, for handlers to return. */
int     smtpd_apply(SMTPD_STATE *state, const char *cmd,
                    const SMTPD_DECISION *d, const char *rcpt);
/* The same for a refusal that no policy rule made (a protocol error);
 * code 0 logs text as the reason and sends no reply. */
int     smtpd_refuse(SMTPD_STATE *state, const char *cmd, int action, int code,
                     const char *status, const char *text, const char *rule);

/* smtpd_cmd.c: HELO, EHLO, MAIL, RCPT, RSET, NOOP, QUIT, VRFY, HELP. */
int     smtpd_helo(SMTPD_STATE *state, const char *arg);
int     smtpd_ehlo(SMTPD_STATE *state, const char *arg);
int     smtpd_mail(SMTPD_STATE *state, const char *arg);
int     smtpd_rcpt(SMTPD_STATE *state, const char *arg);
int     smtpd_rset(SMTPD_STATE *state, const char *arg);
int     smtpd_noop(SMTPD_STATE *state, const char *arg);
int     smtpd_quit(SMTPD_STATE *state, const char *arg);
int     smtpd_vrfy(SMTPD_STATE *state, const char *arg);
int     smtpd_help(SMTPD_STATE *state, const char *arg);
int     smtpd_not_implemented(SMTPD_STATE *state, const char *arg);

/* smtpd_data.c */
int     smtpd_data(SMTPD_STATE *state, const char *arg);

/* smtpd_bdat.c */
int     smtpd_bdat(SMTPD_STATE *state, const char *arg);

/* smtpd_queue.c: the queue file of one message, shared by DATA and BDAT.
 * Once it is closed, the session's "where" (lost connection after ...)
 * is SMTPD_AFTER_EOM, as in Postfix. */
#define SMTPD_AFTER_EOM "END-OF-MESSAGE"
struct QUEUE_WRITER *smtpd_queue_open(SMTPD_STATE *state);
void    smtpd_queue_out(void *context, const char *data, size_t len);
int     smtpd_queue_close(SMTPD_STATE *state, struct QUEUE_WRITER *qf,
                          const SMTP_DATA *sd, const char *cmd);

#endif
