/* The SMTP client to the backend (relay_host): connection, EHLO, STARTTLS,
 * and one mail transaction per message on a connection that is kept for
 * the next one.
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
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "hostport.h"
#include "monotime.h"
#include "msg.h"
#include "mymalloc.h"
#include "relay.h"

#define RELAY_SMTP_GROUP_MAX    100         /* commands per pipelined write */
#define RELAY_SMTP_MAX_AGE_MS   (300 * 1000) /* then a new connection */
#define RELAY_SMTP_QUIT_MS      2000        /* QUIT is a courtesy */
#define RELAY_SMTP_CHUNK        65536       /* message bytes read at once */

/* EHLO keywords we use. */
#define RELAY_SMTP_PIPELINING   (1 << 0)
#define RELAY_SMTP_SIZE         (1 << 1)
#define RELAY_SMTP_8BITMIME     (1 << 2)
#define RELAY_SMTP_STARTTLS     (1 << 3)
#define RELAY_SMTP_SMTPUTF8     (1 << 4)

/* relay_tls values */
#define RELAY_TLS_NONE      0
#define RELAY_TLS_MAY       1
#define RELAY_TLS_ENCRYPT   2

struct RELAY_SMTP {
    RELAY_IO *io;
    SMTP_REPLY *reply;
    VBUF   *why;                /* scratch for I/O failures */
    char    host[256];          /* relay_host's host name */
    char    relay[320];         /* "host[addr]:port" for the logs */
    int     features;           /* RELAY_SMTP_* */
    long long size_limit;       /* SIZE n, 0 = none announced */
    long long opened;           /* monotonic ms */
    int     broken;             /* not fit for another transaction */
};

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

static int
relay_smtp_tls_level(void)
{
    return conf_enum(P_relay_tls);
}

static int
relay_smtp_reply_ms(void)
{
    return (int) conf_time_ms(P_relay_reply_timeout);
}

/* Connection ------------------------------------------------------------ */

/* A connected, non-blocking socket to one address, or -1 with why. */
static int
relay_smtp_connect_addr(const struct addrinfo *ai, long long deadline, VBUF *why)
{
    RELAY_IO probe;
    socklen_t len = sizeof(int);
    int fd, err = 0;

    if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
        vbuf_set(why, strerror(errno));
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno != EINPROGRESS) {
            vbuf_set(why, strerror(errno));
            close(fd);
            return -1;
        }
        memset(&probe, 0, sizeof(probe));
        probe.fd = fd;
        if (relay_io_wait(&probe, POLLOUT, deadline, why) < 0) {
            vbuf_set(why, "Connection timed out");
            close(fd);
            return -1;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err != 0) {
            vbuf_set(why, strerror(err));
            close(fd);
            return -1;
        }
    }
    return fd;
}

/* Parses the EHLO reply's keywords. */
static void
relay_smtp_features(RELAY_SMTP *sess)
{
    char *text = mystrdup(vbuf_str(sess->reply->text));
    char *line, *save = NULL;
    int first = 1;

    sess->features = 0;
    sess->size_limit = 0;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (first) {                    /* the server's name and greeting */
            first = 0;
            continue;
        }
        if (strcasecmp(line, "PIPELINING") == 0)
            sess->features |= RELAY_SMTP_PIPELINING;
        else if (strcasecmp(line, "8BITMIME") == 0)
            sess->features |= RELAY_SMTP_8BITMIME;
        else if (strcasecmp(line, "STARTTLS") == 0)
            sess->features |= RELAY_SMTP_STARTTLS;
        else if (strcasecmp(line, "SMTPUTF8") == 0)
            sess->features |= RELAY_SMTP_SMTPUTF8;
        else if (strncasecmp(line, "SIZE", 4) == 0 && (line[4] == 0 || line[4] == ' ')) {
            sess->features |= RELAY_SMTP_SIZE;
            if (line[4] == ' ')
                sess->size_limit = strtoll(line + 5, NULL, 10);
            if (sess->size_limit < 0)
                sess->size_limit = 0;
        }
    }
    myfree(text);
}

/* Sets why to "host said: REPLY" and returns -1. */
static int
relay_smtp_said(RELAY_SMTP *sess, VBUF *why, const char *what)
{
    vbuf_reset(why);
    vbuf_printf(why, "host %s %s: ", sess->relay, what);
    smtp_reply_format(sess->reply, why, 512);
    return -1;
}

/* Describes an I/O failure during a stage of the conversation. */
static void
relay_smtp_io_why(RELAY_SMTP *sess, VBUF *why, const char *io_why, const char *stage)
{
    vbuf_reset(why);
    if (strcmp(io_why, "timeout") == 0)
        vbuf_printf(why, "conversation with %s timed out while %s", sess->relay, stage);
    else if (strcmp(io_why, "lost connection") == 0)
        vbuf_printf(why, "lost connection with %s while %s", sess->relay, stage);
    else
        vbuf_printf(why, "%s with %s while %s", io_why, sess->relay, stage);
}

/* One command and its reply during the opening of the session; -1 with
 * why when the reply cannot be read. */
static int
relay_smtp_command(RELAY_SMTP *sess, const char *cmd, const char *stage, VBUF *why)
{
    relay_io_printf(sess->io, "%s\r\n", cmd);
    if (relay_io_reply(sess->io, sess->reply, relay_smtp_reply_ms(), sess->why) < 0) {
        relay_smtp_io_why(sess, why, vbuf_str(sess->why), stage);
        return -1;
    }
    return 0;
}

/* EHLO, or HELO when the server refuses EHLO. */
static int
relay_smtp_ehlo(RELAY_SMTP *sess, VBUF *why)
{
    VBUF *cmd = vbuf_create(300);
    int rc = -1;

    vbuf_printf(cmd, "EHLO %s", conf_str(P_myhostname));
    if (relay_smtp_command(sess, vbuf_str(cmd), "performing the EHLO handshake", why) < 0)
        goto out;
    if (sess->reply->code / 100 == 2) {
        relay_smtp_features(sess);
        rc = 0;
        goto out;
    }
    if (sess->reply->code / 100 != 5) {
        relay_smtp_said(sess, why, "refused to talk to me");
        goto out;
    }
    vbuf_reset(cmd);
    vbuf_printf(cmd, "HELO %s", conf_str(P_myhostname));
    if (relay_smtp_command(sess, vbuf_str(cmd), "performing the HELO handshake", why) < 0)
        goto out;
    if (sess->reply->code / 100 != 2) {
        relay_smtp_said(sess, why, "refused to talk to me");
        goto out;
    }
    sess->features = 0;
    rc = 0;
  out:
    vbuf_free(cmd);
    return rc;
}

static void
relay_smtp_free(RELAY_SMTP *sess)
{
    relay_io_free(sess->io);
    smtp_reply_free(sess->reply);
    vbuf_free(sess->why);
    myfree(sess);
}

#define RELAY_OPEN_OK           0
#define RELAY_OPEN_FAILED       (-1)
#define RELAY_OPEN_TLS_FAILED   (-2)    /* try again without TLS */

/* STARTTLS when the server offers it and relay_tls wants it. */
static int
relay_smtp_starttls(RELAY_SMTP *sess, int use_tls, VBUF *why)
{
    int level = relay_smtp_tls_level();
    VBUF *info;

    if (level == RELAY_TLS_NONE || !use_tls
        || !(sess->features & RELAY_SMTP_STARTTLS)) {
        if (level != RELAY_TLS_ENCRYPT)
            return RELAY_OPEN_OK;
        vbuf_reset(why);
        vbuf_printf(why, "TLS is required, but %s by host %s",
                    use_tls ? "was not offered" : "failed earlier", sess->relay);
        return RELAY_OPEN_FAILED;
    }
    if (relay_smtp_command(sess, "STARTTLS", "sending STARTTLS", why) < 0)
        return RELAY_OPEN_FAILED;
    if (sess->reply->code != 220) {
        if (level == RELAY_TLS_ENCRYPT)
            return relay_smtp_said(sess, why, "refused STARTTLS");
        msg_info("host %s refused STARTTLS; going on without TLS", sess->relay);
        return RELAY_OPEN_OK;
    }
    /* Bytes after the 220 came before TLS and must not pass as protected
     * (CVE-2011-0411, the other way round). */
    if (sess->io->in_start < sess->io->in_end) {
        vbuf_reset(why);
        vbuf_printf(why, "host %s sent data after its reply to STARTTLS", sess->relay);
        return RELAY_OPEN_FAILED;
    }
    if (relay_tls_start(sess->io, sess->host, relay_smtp_reply_ms(), sess->why) < 0) {
        vbuf_reset(why);
        vbuf_printf(why, "%s with %s", vbuf_str(sess->why), sess->relay);
        return level == RELAY_TLS_ENCRYPT ? RELAY_OPEN_FAILED : RELAY_OPEN_TLS_FAILED;
    }
    info = vbuf_create(100);
    relay_tls_info(sess->io, info);
    msg_info("Anonymous TLS connection established to %s: %s", sess->relay,
             vbuf_str(info));
    vbuf_free(info);
    return relay_smtp_ehlo(sess, why) < 0 ? RELAY_OPEN_FAILED : RELAY_OPEN_OK;
}

/* Connects to the backend and opens an SMTP session; NULL with why. */
static RELAY_SMTP *
relay_smtp_open(int use_tls, VBUF *why, int *status)
{
    HOSTPORT hp;
    struct addrinfo hints, *res = NULL, *ai;
    char addr[INET6_ADDRSTRLEN + 1] = "";
    RELAY_SMTP *sess;
    long long deadline;
    int fd = -1, err;
    VBUF *cwhy = vbuf_create(100);

    *status = RELAY_OPEN_FAILED;
    vbuf_reset(why);
    if (hostport_parse(&hp, conf_str(P_relay_host), "25", cwhy) < 0) {
        vbuf_printf(why, "bad relay_host: %s", vbuf_str(cwhy));
        vbuf_free(cwhy);
        return NULL;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
    if ((err = getaddrinfo(hp.host, hp.port, &hints, &res)) != 0) {
        vbuf_printf(why, "Host or domain name not found: %s: %s", hp.host,
                    err == EAI_SYSTEM ? strerror(errno) : gai_strerror(err));
        vbuf_free(cwhy);
        return NULL;
    }
    deadline = monotime_ms() + conf_time_ms(P_relay_connect_timeout);
    for (ai = res; ai; ai = ai->ai_next) {
        hostport_addr_str(ai->ai_addr, addr, sizeof(addr));
        if ((fd = relay_smtp_connect_addr(ai, deadline, cwhy)) >= 0)
            break;
        vbuf_reset(why);
        vbuf_printf(why, "connect to %s[%s]:%s: %s", hp.host, addr, hp.port,
                    vbuf_str(cwhy));
    }
    freeaddrinfo(res);
    vbuf_free(cwhy);
    if (fd < 0)
        return NULL;

    sess = mycalloc(1, sizeof(*sess));
    sess->io = relay_io_create(fd);
    sess->reply = smtp_reply_create();
    sess->why = vbuf_create(100);
    sess->opened = monotime_ms();
    snprintf(sess->host, sizeof(sess->host), "%s", hp.host);
    snprintf(sess->relay, sizeof(sess->relay), "%s[%s]:%s", hp.host, addr, hp.port);

    if (relay_io_reply(sess->io, sess->reply, relay_smtp_reply_ms(), sess->why) < 0) {
        relay_smtp_io_why(sess, why, vbuf_str(sess->why),
                          "receiving the initial server greeting");
    } else if (sess->reply->code / 100 != 2) {
        relay_smtp_said(sess, why, "refused to talk to me");
    } else if (relay_smtp_ehlo(sess, why) == 0
               && (*status = relay_smtp_starttls(sess, use_tls, why)) == RELAY_OPEN_OK) {
        return sess;
    }
    relay_smtp_free(sess);
    return NULL;
}

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

    relay_smtp_io_why(txn->sess, why, vbuf_str(txn->sess->why), stage);
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
            && relay_io_flush(sess->io, relay_smtp_reply_ms(), sess->why) < 0) {
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
    if (relay_io_reply(sess->io, sess->reply, relay_smtp_reply_ms(), sess->why) < 0) {
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
            rc = relay_io_reply(sess->io, sess->reply, relay_smtp_reply_ms(), sess->why);
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
    relay_smtp_free(sess);
    return NULL;
}

void
relay_smtp_deliver(RELAY_SMTP **sessp, const char *queue_id,
                   const QUEUE_ENVELOPE *env, int fd,
                   RELAY_RCPT *rcpt, size_t rcpt_count, RELAY_ATTEMPT *attempt)
{
    RELAY_TXN txn;
    RELAY_SMTP *sess;
    int tries, status;

    (void) queue_id;
    for (tries = 0; tries < 2; tries++) {
        memset(&txn, 0, sizeof(txn));
        sess = *sessp;
        if (sess != NULL && !relay_smtp_reusable(sess))
            sess = *sessp = relay_smtp_close(sess, 1);
        txn.reused = sess != NULL;
        if (sess == NULL) {
            sess = relay_smtp_open(1, attempt->why, &status);
            if (sess == NULL && status == RELAY_OPEN_TLS_FAILED) {
                msg_info("%s; trying again without TLS", vbuf_str(attempt->why));
                sess = relay_smtp_open(0, attempt->why, &status);
            }
            if (sess == NULL) {
                size_t i;

                attempt->conn_failed = 1;
                vbuf_set(attempt->relay, "none");
                for (i = 0; i < rcpt_count; i++)
                    relay_rcpt_set(rcpt + i, RELAY_RCPT_DEFER, "4.4.1", NULL, "%s",
                                   vbuf_str(attempt->why));
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
