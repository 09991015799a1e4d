/* relay: the queue manager and the delivery agents that it forks, in one
 * program (Postfix's qmgr and smtp, as one supervised daemon).
 *
 *   relay.c          main: configuration, signals, the event loop
 *   relay_queue.c    the queue manager: finds queue files (inotify on
 *                    incoming/, scans of incoming/ and deferred/), keeps
 *                    the ready list, hands jobs to agents, hears results
 *   relay_pool.c     the agents as the queue manager sees them: fork,
 *                    socketpair, requests, replies, deaths
 *   relay_agent.c    an agent's loop: one job at a time, a cached
 *                    connection to the backend kept between jobs
 *   relay_deliver.c  one delivery attempt of one queue file: lock, read,
 *                    deliver, mark recipients, bounce, defer or remove
 *   relay_rcpt.c     a recipient's outcome in an attempt
 *   relay_connect.c  the SMTP client's session with the backend: connect,
 *                    greeting, EHLO, STARTTLS
 *   relay_smtp.c     the SMTP client's mail transactions on that session
 *   relay_auth.c     AUTH at the backend as the client's user, for
 *                    relay_auth_replay
 *   relay_io.c       buffered socket and TLS I/O with deadlines
 *   relay_tls.c      the client side of STARTTLS (OpenSSL)
 *   relay_body.c     dot-stuffing, CR LF and long-line folding
 *   relay_maildir.c  delivery into local_maildir when relay_host is empty
 *   relay_bounce.c   the DSN (RFC 3464) and its queue file
 *   relay_retry.c    the retry schedule, a pure function of the time,
 *                    and its parameters from the configuration
 *   relay_ctl.c      the control socket (alligatectl queue flush)
 */
#ifndef ALLIGATE_RELAY_H
#define ALLIGATE_RELAY_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "queue_id.h"
#include "queue_read.h"
#include "relay_proto.h"
#include "smtp_reply.h"
#include "vbuf.h"

/* relay_retry.c ------------------------------------------------------- */

/* The queue parameters, in seconds. */
typedef struct RELAY_RETRY_POLICY {
    long long min_backoff;      /* minimal_backoff_time */
    long long max_backoff;      /* maximal_backoff_time */
    long long lifetime;         /* maximal_queue_lifetime */
} RELAY_RETRY_POLICY;

/* The time of the next attempt of a message deferred at now. */
time_t  relay_retry_next(time_t arrival, time_t now,
                         const RELAY_RETRY_POLICY *policy);
/* 1 when a message that arrived at arrival must no longer be retried. */
int     relay_retry_expired(time_t arrival, time_t now,
                            const RELAY_RETRY_POLICY *policy);
/* The policy of the active configuration. */
void    relay_retry_policy(RELAY_RETRY_POLICY *policy);

/* relay_body.c -------------------------------------------------------- */

#define RELAY_BODY_LINE_MAX 998 /* octets per line, CR LF excluded */

typedef struct RELAY_BODY {
    size_t  col;                /* octets in the output line so far */
    int     cr;                 /* a CR is pending */
} RELAY_BODY;

void    relay_body_init(RELAY_BODY *body);
/* Appends the SMTP form of len message bytes to out. */
void    relay_body_encode(RELAY_BODY *body, const char *buf, size_t len,
                          VBUF *out);
/* Ends the last line when needed, and appends "." CR LF. */
void    relay_body_finish(RELAY_BODY *body, VBUF *out);

/* relay_rcpt.c -------------------------------------------------------- */

#define RELAY_RCPT_SENT     1
#define RELAY_RCPT_DEFER    2
#define RELAY_RCPT_BOUNCE   3

typedef struct RELAY_RCPT {
    const char *address;
    off_t   offset;             /* of its status byte in the queue file */
    int     outcome;            /* RELAY_RCPT_*, 0 while unknown */
    char    dsn[16];            /* enhanced status code */
    VBUF   *reason;             /* for the log: "host x[a] said: 550 ..." */
    VBUF   *diag;               /* Diagnostic-Code: "smtp; 550 ..." */
} RELAY_RCPT;

/* Sets a recipient's outcome; fmt makes the reason. diag may be NULL when
 * the reason is not a reply from a server. */
void    relay_rcpt_set(RELAY_RCPT *rcpt, int outcome, const char *dsn,
                       const char *diag, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* relay_metrics.c ----------------------------------------------------- */

/* Counts the recipients' results of one attempt (their outcome, as
 * finally decided), delay seconds after the message's arrival. */
void    relay_metrics_attempt(const RELAY_RCPT *rcpt, size_t count,
                              double delay);

/* relay_bounce.c ------------------------------------------------------ */

typedef struct RELAY_DSN {
    const char *reporting_mta;  /* myhostname */
    const char *queue_id;       /* of the original message */
    const char *sender;         /* the original envelope sender */
    const char *message_id;     /* for the DSN's Message-ID header */
    const char *boundary;       /* MIME boundary (checked against headers) */
    time_t  arrival;            /* of the original message */
    time_t  now;
    const char *remote_mta;     /* the backend's host name ("mx.example.com",
                                 * no brackets), or NULL */
    const char *expired;        /* why the message expired, or NULL */
    const RELAY_RCPT *rcpt;     /* only those with outcome BOUNCE count */
    size_t  rcpt_count;
    const char *headers;        /* the original header section */
    size_t  headers_len;
} RELAY_DSN;

#define RELAY_DSN_HEADERS_MAX   65536   /* original headers returned */

/* Appends the whole DSN message (CR LF lines) to out. */
void    relay_dsn_build(const RELAY_DSN *dsn, VBUF *out);
/* The header section at the start of a message: up to and including the
 * empty line, at most RELAY_DSN_HEADERS_MAX bytes cut at a line end. */
size_t  relay_dsn_header_len(const char *msg, size_t len);

/* Writes a DSN to env's sender for the recipients of rcpt whose outcome
 * is BOUNCE, as a new queue file with the null sender. Returns 0 and the
 * new queue id, or -1 with why. */
int     relay_bounce_queue(const char *queue_dir, const char *queue_id,
                           const QUEUE_ENVELOPE *env, int fd,
                           const RELAY_RCPT *rcpt, size_t rcpt_count,
                           const char *remote_mta, const char *expired,
                           char bounce_id[QUEUE_ID_LEN + 1], VBUF *why);

/* relay_maildir.c ----------------------------------------------------- */

/* Delivers the message once into the Maildir (creating it when missing):
 * tmp/, fsync, rename into new/, fsync new/. Returns 0 with the file's
 * path in where, or -1 with why. */
int     relay_maildir_deliver(const char *maildir, const QUEUE_ENVELOPE *env,
                              int fd, const RELAY_RCPT *rcpt,
                              size_t rcpt_count, VBUF *where, VBUF *why);
/* Removes tmp/ files older than 36 hours (Maildir's rule). */
void    relay_maildir_cleanup(const char *maildir);

/* relay_io.c ---------------------------------------------------------- */

#define RELAY_IO_BUFSIZE    16384

/* A connection to the backend: buffered, plain or TLS, and every
 * operation bounded by a deadline. */
typedef struct RELAY_IO {
    int     fd;                 /* non-blocking */
    void   *ssl;                /* SSL *, once STARTTLS is done */
    char    in[RELAY_IO_BUFSIZE];
    size_t  in_start;
    size_t  in_end;
    VBUF   *out;                /* written by relay_io_flush() */
} RELAY_IO;

RELAY_IO *relay_io_create(int fd);
/* Closes the descriptor and frees everything. */
RELAY_IO *relay_io_free(RELAY_IO *io);
void    relay_io_write(RELAY_IO *io, const void *data, size_t len);
void    relay_io_printf(RELAY_IO *io, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Sends what is buffered within timeout_ms; -1 with why. */
int     relay_io_flush(RELAY_IO *io, int timeout_ms, VBUF *why);
/* Flushes, then reads one complete reply into reply within timeout_ms;
 * -1 with why when the connection ends, times out, or the reply is
 * malformed or too long. */
int     relay_io_reply(RELAY_IO *io, SMTP_REPLY *reply, int timeout_ms,
                       VBUF *why);
/* Waits until the descriptor is ready for events (POLLIN, POLLOUT) or
 * the deadline (monotonic ms) passes; -1 with why on timeout. */
int     relay_io_wait(RELAY_IO *io, int events, long long deadline,
                      VBUF *why);
/* 1 when the peer sent something, or closed, while nobody asked. */
int     relay_io_unasked(RELAY_IO *io);

/* relay_tls.c --------------------------------------------------------- */

/* The TLS handshake on io after the server's 220 to STARTTLS; sni may be
 * NULL. -1 with why. */
int     relay_tls_start(RELAY_IO *io, const char *sni, int timeout_ms,
                        VBUF *why);

/* relay_connect.c ----------------------------------------------------- */

/* EHLO keywords we use. */
#define RELAY_SMTP_PIPELINING   (1 << 0)
#define RELAY_SMTP_SIZE         (1 << 1)
#define RELAY_SMTP_8BITMIME     (1 << 2)
#define RELAY_SMTP_STARTTLS     (1 << 3)
#define RELAY_SMTP_SMTPUTF8     (1 << 4)
#define RELAY_SMTP_AUTH_PLAIN   (1 << 5)    /* AUTH ... PLAIN ... */
#define RELAY_SMTP_AUTH_LOGIN   (1 << 6)    /* AUTH ... LOGIN ... */

/* An SMTP session with the backend: opened by relay_connect.c, used and
 * closed by relay_smtp.c. */
typedef struct RELAY_SMTP {
    RELAY_IO *io;
    SMTP_REPLY *reply;
    VBUF   *why;                /* scratch for I/O failures */
    char    host[256];          /* relay_host's host name */
    char    relay[320];         /* "host[addr]:port" for the logs */
    int     features;           /* RELAY_SMTP_* */
    long long size_limit;       /* SIZE n, 0 = none announced */
    long long opened;           /* monotonic ms */
    int     reply_ms;           /* relay_reply_timeout */
    int     broken;             /* not fit for another transaction */
} RELAY_SMTP;

/* Connects to relay_host and opens a session (greeting, EHLO, STARTTLS as
 * relay_tls says, again without TLS when relay_tls = may and the handshake
 * failed); NULL with why. */
RELAY_SMTP *relay_connect_open(VBUF *why);
/* Closes the connection and frees the session, without a word to the
 * server. */
void    relay_connect_free(RELAY_SMTP *sess);
/* Sets why to describe io_why, an I/O failure of relay_io, during stage
 * ("sending RCPT TO"). */
void    relay_connect_io_why(const RELAY_SMTP *sess, VBUF *why,
                             const char *io_why, const char *stage);

/* relay_smtp.c -------------------------------------------------------- */

/* The outcome of one attempt at the backend as a whole. */
typedef struct RELAY_ATTEMPT {
    int     conn_failed;        /* no session could be established */
    VBUF   *relay;              /* "host[addr]:port", or "none" */
    VBUF   *why;                /* when conn_failed: why */
} RELAY_ATTEMPT;

/* Sends the message to the pending recipients in rcpt over the cached
 * session *sessp (opening one when there is none, or it is stale), and
 * sets every recipient's outcome. Leaves *sessp open for the next message
 * when it may be reused, NULL otherwise. */
void    relay_smtp_deliver(RELAY_SMTP **sessp, const char *queue_id,
                           const QUEUE_ENVELOPE *env, int fd,
                           RELAY_RCPT *rcpt, size_t rcpt_count,
                           RELAY_ATTEMPT *attempt);
/* The client's credentials, opened from the queue file (cred_seal.h),
 * for relay_auth_replay. */
typedef struct RELAY_AUTH {
    const char *user;
    const char *password;
} RELAY_AUTH;

/* The same for a message whose client's AUTH is replayed: the cached
 * session (*sessp) is closed, and the message goes over a session of its
 * own that authenticates as auth's user after EHLO (and STARTTLS), and is
 * closed afterwards. A backend's 4xx to AUTH defers every recipient, a
 * 5xx bounces them, no AUTH offered defers them. */
void    relay_smtp_deliver_auth(RELAY_SMTP **sessp, const char *queue_id,
                                const QUEUE_ENVELOPE *env, int fd,
                                RELAY_RCPT *rcpt, size_t rcpt_count,
                                const RELAY_AUTH *auth, RELAY_ATTEMPT *attempt);
/* The session's socket, for the agent to watch while idle. */
int     relay_smtp_fd(const RELAY_SMTP *sess);
/* 1 when the session may still be used: not too old, the server has not
 * closed it or said anything unasked. */
int     relay_smtp_reusable(RELAY_SMTP *sess);
/* Sends QUIT (when quit is set) and closes; returns NULL. */
RELAY_SMTP *relay_smtp_close(RELAY_SMTP *sess, int quit);

/* relay_auth.c -------------------------------------------------------- */

/* relay_auth_login() results. */
#define RELAY_AUTH_OK       0
#define RELAY_AUTH_REFUSED  (-1)    /* a 4xx or 5xx reply, in sess->reply */
#define RELAY_AUTH_IO       (-2)    /* the connection failed: why */
#define RELAY_AUTH_PROTO    (-3)    /* a reply that makes no sense: why */
#define RELAY_AUTH_NONE     (-4)    /* neither PLAIN nor LOGIN offered: why */

/* Authenticates as user on sess, with PLAIN when offered, else LOGIN;
 * *mech says which. The password is wiped from every buffer of ours that
 * held it; the caller wipes its own. */
int     relay_auth_login(RELAY_SMTP *sess, const char *user,
                         const char *password, const char **mech, VBUF *why);

/* relay_deliver.c ----------------------------------------------------- */

/* Results of an attempt, reported by the agent to the queue manager. */
#define RELAY_RESULT_DONE       "done"      /* removed: nothing left */
#define RELAY_RESULT_DEFERRED   "deferred"  /* in deferred/, see next_try */
#define RELAY_RESULT_CORRUPT    "corrupt"   /* moved to corrupt/ */
#define RELAY_RESULT_GONE       "gone"      /* not there any more */
#define RELAY_RESULT_BUSY       "busy"      /* locked by someone else */
#define RELAY_RESULT_ERROR      "error"     /* local trouble: try again */

typedef struct RELAY_JOB_RESULT {
    const char *result;         /* RELAY_RESULT_* */
    time_t  next_try;           /* when deferred */
    int     conn_failed;        /* the backend could not be reached */
    VBUF   *why;                /* with conn_failed: why */
} RELAY_JOB_RESULT;

/* One attempt at the queue file id, found in queue_dir/sub (or the other
 * of incoming/deferred). With defer_reason, nothing is tried: pending
 * recipients are deferred (or bounced when expired) with that reason. */
void    relay_deliver(RELAY_SMTP **sessp, const char *id, const char *sub,
                      const char *defer_reason, RELAY_JOB_RESULT *res);

/* relay_agent.c ------------------------------------------------------- */

/* The agent's main loop on its socket to the queue manager; never
 * returns. */
void    relay_agent_main(int fd) __attribute__((noreturn));

/* The agent protocol, on a socketpair, in attr framing. */
#define RELAY_AGENT_PROTO   "relay-agent"
#define RELAY_AGENT_VERSION 1

/* relay_pool.c -------------------------------------------------------- */

typedef struct RELAY_AGENT RELAY_AGENT;

/* Called with the result of a job when an agent reports it, or with
 * result NULL when the agent died with the job. */
typedef void (*RELAY_POOL_DONE_FN)(void *job, const RELAY_JOB_RESULT *res);

void    relay_pool_init(RELAY_POOL_DONE_FN done);
/* An idle agent, forking a new one when fewer than the limit run; NULL
 * when all are busy. */
RELAY_AGENT *relay_pool_get(int limit);
/* Hands a job to an agent that relay_pool_get() returned. */
void    relay_pool_send(RELAY_AGENT *agent, void *job, const char *id,
                        const char *sub, const char *defer_reason);
/* Retires every agent (after a reload): idle ones now, busy ones when
 * their job is done. */
void    relay_pool_retire(void);
/* Reaps dead agents; call after each turn of the event loop. */
void    relay_pool_reap(void);
/* Stops every agent, waiting at most grace_ms for them to finish. */
void    relay_pool_stop(int grace_ms);
int     relay_pool_count(int *busy);
/* Registers fn(context) to run in every agent just forked, before its
 * loop: a module that opens a descriptor the agents must not hold
 * registers a function that closes it. */
void    relay_pool_on_fork(void (*fn)(void *), void *context);

/* relay_queue.c ------------------------------------------------------- */

void    relay_queue_init(void);
/* Retry everything now (alligatectl queue flush). */
void    relay_queue_flush(void);
/* The configuration changed. */
void    relay_queue_reload(void);
/* Stops dispatching; the agents are stopped by the caller. */
void    relay_queue_stop(void);
/* Counts for the control socket. */
void    relay_queue_counts(long *ready, long *active);

/* relay_ctl.c --------------------------------------------------------- */

void    relay_ctl_open(void);
void    relay_ctl_close(void);

#endif
