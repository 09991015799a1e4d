/* The mail transactions with the backend (relay_host), one per message,
 * on a session that relay_connect.c opened and that is kept for the next
 * message.
 *
 * Commands go in groups: with PIPELINING, [RSET,] MAIL, the RCPTs and DATA
 * are written at once (RFC 2920; at most RELAY_SMTP_GROUP_MAX per write,
 * so neither side can fill the other's buffers) and the replies read in
 * order; without it, one command and its reply at a time. A reused
 * connection starts its transaction with RSET, which also shows whether
 * the server still listens: when it does not, before any recipient has an
 * answer, the message goes again over a new connection.
 *
 * Every reply is read through the bounded parser; a malformed, endless or
 * huge reply, a timeout or a lost connection is a temporary failure of
 * the recipients that have no final answer yet. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "monotime.h"
#include "msg.h"
#include "mymalloc.h"
#include "printable.h"
#include "relay.h"

#define RELAY_SMTP_GROUP_MAX    100         /* commands per pipelined write */
#define RELAY_SMTP_MAX_AGE_MS   (300 * 1000) /* then a new connection */
#define RELAY_SMTP_QUIT_MS      2000        /* QUIT is a courtesy */
#define RELAY_SMTP_CHUNK        65536       /* message bytes read at once */

/* The commands of a transaction, in the order their replies come. */
#define RELAY_CMD_RSET  1
#define RELAY_CMD_MAIL  2
#define RELAY_CMD_RCPT  3
#define RELAY_CMD_DATA  4

typedef struct RELAY_CMD {
    int     type;
    size_t  rcpt;               /* index for RELAY_CMD_RCPT */
} RELAY_CMD;

/* What one transaction found out, apart from the recipients' outcomes. */
typedef struct RELAY_TXN {
    RELAY_SMTP *sess;
    RELAY_RCPT *rcpt;
    size_t  rcpt_count;
    int     reused;
    int     stale;              /* a reused connection failed early */
    int     mail_done;          /* MAIL had its answer */
    int     mail_ok;
    size_t  accepted;           /* RCPTs answered 2xx */
    int    *accepted_flag;
    int     data_ok;            /* DATA answered 354 */
} RELAY_TXN;

/* The transaction ------------------------------------------------------- */

static const char *
relay_smtp_cmd_name(int type)
{
    switch (type) {
    case RELAY_CMD_RSET:
        return "RSET";
    case RELAY_CMD_MAIL:
        return "MAIL FROM";
    case RELAY_CMD_RCPT:
        return "RCPT TO";
    default:
        return "DATA";
    }
}

/* A recipient's outcome from the reply just read. */
static void
relay_smtp_rcpt_reply(RELAY_SMTP *sess, RELAY_RCPT *rcpt, const char *in_reply_to)
{
    VBUF *text = vbuf_create(256);
    VBUF *diag = vbuf_create(256);
    char dsn[16];
    int class = sess->reply->code / 100;

    smtp_reply_format(sess->reply, text, 900);
    vbuf_printf(diag, "smtp; %s", vbuf_str(text));
    if (sess->reply->dsn[0])
        snprintf(dsn, sizeof(dsn), "%s", sess->reply->dsn);
    else
        snprintf(dsn, sizeof(dsn), "%d.0.0", class);
    if (class == 2)
        relay_rcpt_set(rcpt, RELAY_RCPT_SENT, dsn, NULL, "%s", vbuf_str(text));
    else
        relay_rcpt_set(rcpt, class == 5 ? RELAY_RCPT_BOUNCE : RELAY_RCPT_DEFER,
                       dsn, vbuf_str(diag), "host %s said: %s (in reply to %s command)",
                       sess->relay, vbuf_str(text), in_reply_to);
    vbuf_free(text);
    vbuf_free(diag);
}

/* Gives every recipient that has no outcome yet (the accepted ones wait
 * for the reply to the final dot) the same outcome. */
static void
relay_smtp_rest(RELAY_TXN *txn, int outcome, const char *dsn, const char *reason)
{
    size_t i;

    for (i = 0; i < txn->rcpt_count; i++)
        if (txn->rcpt[i].outcome == 0)
            relay_rcpt_set(txn->rcpt + i, outcome, dsn, NULL, "%s", reason);
}

/* The connection failed during the transaction: the recipients without a
 * final answer are deferred, and the connection is done for. */
static void
relay_smtp_lost(RELAY_TXN *txn, const char *stage)
{
    VBUF *why = vbuf_create(256);

    relay_connect_io_why(txn->sess, why, vbuf_str(txn->sess->why), stage);
    txn->sess->broken = 1;
    relay_smtp_rest(txn, RELAY_RCPT_DEFER, "4.4.2", vbuf_str(why));
    vbuf_free(why);
}

/* Handles the reply to one command; -1 when the transaction cannot go
 * on (I/O failure, or a stale reused connection). */
static int
relay_smtp_cmd_reply(RELAY_TXN *txn, const RELAY_CMD *cmd, int io_rc)
{
    RELAY_SMTP *sess = txn->sess;
    int class = sess->reply->code / 100;

    if (io_rc < 0 || sess->reply->code == 421) {
        /* A cached connection that the server has since dropped. */
        if (txn->reused && !txn->mail_done
            && (cmd->type == RELAY_CMD_RSET || cmd->type == RELAY_CMD_MAIL)) {
            txn->stale = 1;
            sess->broken = 1;
            return -1;
        }
        if (io_rc < 0) {
            VBUF *stage = vbuf_create(64);

            vbuf_printf(stage, "sending %s", relay_smtp_cmd_name(cmd->type));
            relay_smtp_lost(txn, vbuf_str(stage));
            vbuf_free(stage);
            return -1;
        }
        sess->broken = 1;               /* 421: the server is closing */
    }
    switch (cmd->type) {
    case RELAY_CMD_RSET:
        if (class != 2) {
            txn->stale = txn->reused;
            sess->broken = 1;
            return -1;
        }
        break;
    case RELAY_CMD_MAIL:
        txn->mail_done = 1;
        txn->mail_ok = class == 2;
        if (!txn->mail_ok) {
            size_t i;

            for (i = 0; i < txn->rcpt_count; i++)
                if (txn->rcpt[i].outcome == 0)
                    relay_smtp_rcpt_reply(sess, txn->rcpt + i, "MAIL FROM");
        }
        break;
    case RELAY_CMD_RCPT:
        if (!txn->mail_ok)
            break;
        if (class == 2) {
            txn->accepted_flag[cmd->rcpt] = 1;
            txn->accepted++;
        } else {
            relay_smtp_rcpt_reply(sess, txn->rcpt + cmd->rcpt, "RCPT TO");
        }
        break;
    case RELAY_CMD_DATA:
        txn->data_ok = sess->reply->code == 354;
        if (!txn->data_ok && txn->mail_ok && txn->accepted > 0) {
            size_t i;

            for (i = 0; i < txn->rcpt_count; i++)
                if (txn->accepted_flag[i])
                    relay_smtp_rcpt_reply(sess, txn->rcpt + i, "DATA");
        }
        break;
    }
    return sess->reply->code == 421 ? -1 : 0;
}

/* Writes one command. */
static void
relay_smtp_cmd_write(RELAY_TXN *txn, const RELAY_CMD *cmd, const QUEUE_ENVELOPE *env)
{
    RELAY_SMTP *sess = txn->sess;
    RELAY_IO *io = sess->io;

    switch (cmd->type) {
    case RELAY_CMD_RSET:
        relay_io_printf(io, "RSET\r\n");
        break;
    case RELAY_CMD_MAIL:
        relay_io_printf(io, "MAIL FROM:<%s>", env->sender);
        if (sess->features & RELAY_SMTP_SIZE)
            relay_io_printf(io, " SIZE=%lld", (long long) env->message_length);
        if ((sess->features & RELAY_SMTP_8BITMIME) && env->body_type
            && strcasecmp(env->body_type, "8BITMIME") == 0)
            relay_io_printf(io, " BODY=8BITMIME");
        if ((sess->features & RELAY_SMTP_SMTPUTF8) && env->smtputf8)
            relay_io_printf(io, " SMTPUTF8");
        relay_io_printf(io, "\r\n");
        break;
    case RELAY_CMD_RCPT:
        relay_io_printf(io, "RCPT TO:<%s>\r\n", txn->rcpt[cmd->rcpt].address);
        break;
    case RELAY_CMD_DATA:
        relay_io_printf(io, "DATA\r\n");
        break;
    }
}

/* Sends the message after DATA's 354, dot-stuffed, and reads the reply to
 * the final dot. With no accepted recipient, sends only the dot. */
static void
relay_smtp_body(RELAY_TXN *txn, const QUEUE_ENVELOPE *env, int fd)
{
    RELAY_SMTP *sess = txn->sess;
    RELAY_BODY body;
    VBUF *enc = vbuf_create(RELAY_SMTP_CHUNK + RELAY_SMTP_CHUNK / 8);
    char *chunk = mymalloc(RELAY_SMTP_CHUNK);
    off_t off = 0;
    ssize_t n;
    size_t i;

    relay_body_init(&body);
    while (txn->accepted > 0 && off < env->message_length) {
        size_t want = (size_t) (env->message_length - off);

        if (want > RELAY_SMTP_CHUNK)
            want = RELAY_SMTP_CHUNK;
        n = pread(fd, chunk, want, env->message_offset + off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            /* Never send a message cut short: the dot must not follow. */
            msg_warn("read queue file: %s", n < 0 ? strerror(errno) : "unexpected end");
            relay_smtp_rest(txn, RELAY_RCPT_DEFER, "4.3.0",
                            "cannot read the queue file");
            sess->broken = 1;
            goto out;
        }
        off += n;
        vbuf_reset(enc);
        relay_body_encode(&body, chunk, (size_t) n, enc);
        relay_io_write(sess->io, vbuf_str(enc), vbuf_len(enc));
        if (vbuf_len(sess->io->out) >= RELAY_SMTP_CHUNK
            && relay_io_flush(sess->io, sess->reply_ms, sess->why) < 0) {
            relay_smtp_lost(txn, "sending message body");
            goto out;
        }
    }
    vbuf_reset(enc);
    if (txn->accepted > 0)
        relay_body_finish(&body, enc);
    else
        vbuf_set(enc, ".\r\n");
    relay_io_write(sess->io, vbuf_str(enc), vbuf_len(enc));
    if (relay_io_reply(sess->io, sess->reply, sess->reply_ms, sess->why) < 0) {
        relay_smtp_lost(txn, "sending end of data -- message may be sent more than once");
        goto out;
    }
    if (sess->reply->code == 421)
        sess->broken = 1;
    for (i = 0; i < txn->rcpt_count; i++)
        if (txn->accepted_flag[i])
            relay_smtp_rcpt_reply(sess, txn->rcpt + i, "end of DATA");
  out:
    vbuf_free(enc);
    myfree(chunk);
}

/* Checks that need no command: the message's size against the server's
 * limit, SMTPUTF8. Returns -1 when they decided every recipient. */
static int
relay_smtp_precheck(RELAY_TXN *txn, const QUEUE_ENVELOPE *env)
{
    RELAY_SMTP *sess = txn->sess;
    VBUF *why = vbuf_create(200);
    const char *cp;
    int needs_utf8 = 0;
    size_t i;

    if (sess->size_limit > 0 && env->message_length > sess->size_limit) {
        vbuf_printf(why, "message size %lld exceeds size limit %lld of server %s",
                    (long long) env->message_length, sess->size_limit, sess->relay);
        relay_smtp_rest(txn, RELAY_RCPT_BOUNCE, "5.3.4", vbuf_str(why));
        vbuf_free(why);
        return -1;
    }
    if (env->smtputf8 && !(sess->features & RELAY_SMTP_SMTPUTF8)) {
        for (cp = env->sender; *cp; cp++)
            needs_utf8 |= (unsigned char) *cp >= 0x80;
        for (i = 0; i < txn->rcpt_count; i++)
            for (cp = txn->rcpt[i].address; *cp; cp++)
                needs_utf8 |= (unsigned char) *cp >= 0x80;
        if (needs_utf8) {
            vbuf_printf(why, "SMTPUTF8 is required, but was not offered by host %s",
                        sess->relay);
            relay_smtp_rest(txn, RELAY_RCPT_BOUNCE, "5.6.7", vbuf_str(why));
            vbuf_free(why);
            return -1;
        }
    }
    vbuf_free(why);
    return 0;
}

/* One mail transaction on an open session. */
static void
relay_smtp_transaction(RELAY_TXN *txn, const QUEUE_ENVELOPE *env, int fd)
{
    RELAY_SMTP *sess = txn->sess;
    RELAY_CMD *cmds;
    size_t ncmd = 0, sent = 0, answered = 0, group, i;
    int pipelining = (sess->features & RELAY_SMTP_PIPELINING) != 0;
    int rc;

    if (relay_smtp_precheck(txn, env) < 0)
        return;
    cmds = mymalloc((txn->rcpt_count + 3) * sizeof(*cmds));
    if (txn->reused)
        cmds[ncmd++].type = RELAY_CMD_RSET;
    cmds[ncmd++].type = RELAY_CMD_MAIL;
    for (i = 0; i < txn->rcpt_count; i++) {
        cmds[ncmd].type = RELAY_CMD_RCPT;
        cmds[ncmd++].rcpt = i;
    }
    cmds[ncmd++].type = RELAY_CMD_DATA;

    while (answered < ncmd) {
        /* Without pipelining, what is left after a failed MAIL or with no
         * accepted recipient is not sent at all. */
        if (!pipelining && sent > 0) {
            if (cmds[sent].type == RELAY_CMD_RCPT && !txn->mail_ok)
                break;
            if (cmds[sent].type == RELAY_CMD_DATA && (!txn->mail_ok || txn->accepted == 0))
                break;
        }
        group = pipelining ? RELAY_SMTP_GROUP_MAX : 1;
        for (i = 0; i < group && sent < ncmd; i++)
            relay_smtp_cmd_write(txn, cmds + sent++, env);
        while (answered < sent) {
            rc = relay_io_reply(sess->io, sess->reply, sess->reply_ms, sess->why);
            if (relay_smtp_cmd_reply(txn, cmds + answered++, rc) < 0)
                goto out;
        }
    }
    /* After a 354, even with no recipient accepted, the server waits for
     * the dot. */
    if (txn->data_ok)
        relay_smtp_body(txn, env, fd);
  out:
    /* A 421 or a lost connection at any point: no final answer is a
     * temporary failure. */
    if (!txn->stale) {
        VBUF *why = vbuf_create(100);

        vbuf_printf(why, "host %s closed the session before the transaction ended",
                    sess->relay);
        relay_smtp_rest(txn, RELAY_RCPT_DEFER, "4.4.2", vbuf_str(why));
        vbuf_free(why);
    }
    myfree(cmds);
}

/* The public interface ---------------------------------------------------- */

int
relay_smtp_fd(const RELAY_SMTP *sess)
{
    return sess->io->fd;
}

int
relay_smtp_reusable(RELAY_SMTP *sess)
{
    return !sess->broken
        && monotime_ms() - sess->opened < RELAY_SMTP_MAX_AGE_MS
        && !relay_io_unasked(sess->io);
}

RELAY_SMTP *
relay_smtp_close(RELAY_SMTP *sess, int quit)
{
    if (sess == NULL)
        return NULL;
    if (quit && !sess->broken) {
        relay_io_printf(sess->io, "QUIT\r\n");
        (void) relay_io_reply(sess->io, sess->reply, RELAY_SMTP_QUIT_MS, sess->why);
    }
    relay_connect_free(sess);
    return NULL;
}

/* No session could be opened: every recipient is deferred. */
static void
relay_smtp_unreachable(RELAY_RCPT *rcpt, size_t rcpt_count, RELAY_ATTEMPT *attempt)
{
    size_t i;

    attempt->conn_failed = 1;
    vbuf_set(attempt->relay, "none");
    for (i = 0; i < rcpt_count; i++)
        relay_rcpt_set(rcpt + i, RELAY_RCPT_DEFER, "4.4.1", NULL, "%s",
                       vbuf_str(attempt->why));
}

void
relay_smtp_deliver(RELAY_SMTP **sessp, const char *queue_id,
                   const QUEUE_ENVELOPE *env, int fd,
                   RELAY_RCPT *rcpt, size_t rcpt_count, RELAY_ATTEMPT *attempt)
{
    RELAY_TXN txn;
    RELAY_SMTP *sess;
    int tries;

    (void) queue_id;
    for (tries = 0; tries < 2; tries++) {
        memset(&txn, 0, sizeof(txn));
        sess = *sessp;
        if (sess != NULL && !relay_smtp_reusable(sess))
            sess = *sessp = relay_smtp_close(sess, 1);
        txn.reused = sess != NULL;
        if (sess == NULL) {
            if ((sess = relay_connect_open(attempt->why)) == NULL) {
                relay_smtp_unreachable(rcpt, rcpt_count, attempt);
                return;
            }
            *sessp = sess;
        }
        vbuf_set(attempt->relay, sess->relay);
        txn.sess = sess;
        txn.rcpt = rcpt;
        txn.rcpt_count = rcpt_count;
        txn.accepted_flag = mycalloc(rcpt_count ? rcpt_count : 1, sizeof(int));
        relay_smtp_transaction(&txn, env, fd);
        myfree(txn.accepted_flag);
        if (sess->broken)
            *sessp = relay_smtp_close(sess, 0);
        if (!txn.stale)
            return;
        if (msg_verbose)
            msg_info("%s: cached connection to %s went away; trying a new one",
                     queue_id, vbuf_str(attempt->relay));
    }
    /* Two stale connections in a row: cannot happen with a new one, but
     * every recipient must leave with an outcome. */
    relay_smtp_rest(&txn, RELAY_RCPT_DEFER, "4.4.2", "lost connection with the backend");
}

void
relay_smtp_deliver_auth(RELAY_SMTP **sessp, const char *queue_id,
                        const QUEUE_ENVELOPE *env, int fd, RELAY_RCPT *rcpt,
                        size_t rcpt_count, const RELAY_AUTH *auth,
                        RELAY_ATTEMPT *attempt)
{
    RELAY_TXN txn;
    RELAY_SMTP *sess;
    VBUF *why;
    const char *mech;
    size_t i;
    int status;

    /* A session authenticated as one user carries nobody else's mail, and
     * this one carries no other: the cached one goes first, so that the
     * agent still holds at most one connection (relay_concurrency). */
    *sessp = relay_smtp_close(*sessp, 1);
    if ((sess = relay_connect_open(attempt->why)) == NULL) {
        relay_smtp_unreachable(rcpt, rcpt_count, attempt);
        return;
    }
    vbuf_set(attempt->relay, sess->relay);
    why = vbuf_create(256);
    memset(&txn, 0, sizeof(txn));
    txn.sess = sess;
    txn.rcpt = rcpt;
    txn.rcpt_count = rcpt_count;
    switch (status = relay_auth_login(sess, auth->user, auth->password, &mech, why)) {
    case RELAY_AUTH_OK:
        msg_info("%s: relay=%s, sasl_method=%s, sasl_username=%s", queue_id, sess->relay,
                 mech, printable_str(auth->user));
        txn.accepted_flag = mycalloc(rcpt_count ? rcpt_count : 1, sizeof(int));
        relay_smtp_transaction(&txn, env, fd);
        myfree(txn.accepted_flag);
        break;
    case RELAY_AUTH_REFUSED:
        /* 4xx: deferred, 5xx: bounced, with the server's words. */
        for (i = 0; i < rcpt_count; i++)
            relay_smtp_rcpt_reply(sess, rcpt + i, "AUTH");
        break;
    default:
        relay_smtp_rest(&txn, RELAY_RCPT_DEFER, status == RELAY_AUTH_IO ? "4.4.2" : "4.7.0",
                        vbuf_str(why));
        break;
    }
    vbuf_free(why);
    relay_smtp_close(sess, 1);
}
