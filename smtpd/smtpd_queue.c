/* The queue file of one message, shared by DATA and BDAT: created with
 * the envelope and the Received: header, fed with the content as it
 * comes off the socket, and either aborted or committed (fsynced, file
 * and directory) before the client hears 250. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "cred_seal.h"
#include "msg.h"
#include "printable.h"
#include "queue_dir.h"
#include "queue_record.h"
#include "queue_write.h"
#include "smtpd.h"
#include "smtpd_metrics.h"

/* The reply to a queue file that cannot be made, written or committed:
 * 452 4.3.1 (RFC 3463: mail system full) when the file system or the
 * quota is full, as for queue_minfree, 451 4.3.0 for any other error.
 * Both are temporary: the client sends the message again later, and the
 * queue file is gone (queue_write.h). */
static void
smtpd_queue_error(SMTPD_STATE *state, int err)
{
    if (err == ENOSPC || err == EDQUOT)
        smtpd_reply(state, "452 4.3.1 Error: insufficient system storage");
    else
        smtpd_reply(state, "451 4.3.0 Error: queue file write error");
}

/* RFC 3848's names: S for TLS, A for AUTH. */
static const char *
smtpd_queue_protocol(SMTPD_STATE *state)
{
    static const char *names[] = {"ESMTP", "ESMTPS", "ESMTPA", "ESMTPSA"};

    if (!state->esmtp)
        return "SMTP";
    return names[(state->tls ? 1 : 0) + (state->facts.authenticated ? 2 : 0)];
}

/* The one header smtpd adds (RFC 5321 4.4). */
static void
smtpd_queue_received(SMTPD_STATE *state, QUEUE_WRITER *qf)
{
    VBUF   *hdr = vbuf_create(256);
    char    date[64];
    time_t  now = time(NULL);
    struct tm tm;

    localtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
    vbuf_printf(hdr, "Received: from %s (%s [%s])\r\n",
                printable_str(state->helo), state->name, state->addr);
    if (state->tls)
        vbuf_printf(hdr, "\t(using %s)\r\n", vbuf_str(state->tls_info));
    vbuf_printf(hdr, "\tby %s (Alligate) with %s id %s", conf_str(P_myhostname),
                smtpd_queue_protocol(state), state->queue_id);
    /* The parser let through only printable ASCII, or UTF-8 with
     * SMTPUTF8 (RFC 6531 3.7.3 allows it here). */
    if (state->rcpt_count == 1)
        vbuf_printf(hdr, "\r\n\tfor <%s>", state->rcpt[0]);
    vbuf_printf(hdr, "; %s\r\n", date);
    queue_write_message(qf, vbuf_str(hdr), vbuf_len(hdr));
    vbuf_free(hdr);
}

/* relay_auth_replay: the client's credentials, sealed for relay alone
 * (cred_seal.h); -1 when they cannot be.  The sealed text is never
 * logged. */
static int
smtpd_queue_sealed(SMTPD_STATE *state, QUEUE_WRITER *qf)
{
    VBUF   *sealed = vbuf_create(256);
    VBUF   *why = vbuf_create(100);
    int     rc = 0, err = 0;

    if (cred_seal_init(conf_str(P_data_directory), why) < 0
        || cred_seal(queue_write_id(qf), state->sasl_user, state->sasl_password,
                     sealed, why) < 0) {
        msg_warn("%s: cannot seal the AUTH credentials for relay_auth_replay: %s",
                 state->queue_id, vbuf_str(why));
        rc = -1;
        err = EIO;                      /* not a full file system */
    } else if ((rc = queue_write_rec(qf, QUEUE_REC_AUTH_SEALED, vbuf_str(sealed))) < 0) {
        err = errno;
    }
    cred_wipe(sealed);
    vbuf_free(sealed);
    vbuf_free(why);
    if (rc < 0)
        errno = err;
    return rc;
}

/* Keeps the errno of the first record that failed in *err. */
static void
smtpd_queue_rec(int rc, int *err)
{
    if (rc < 0 && *err == 0)
        *err = errno ? errno : EIO;
}

/* The envelope records; -1 with the errno of the first record the queue
 * file refused. */
static int
smtpd_queue_envelope(SMTPD_STATE *state, QUEUE_WRITER *qf)
{
    const SMTP_PATH *s = state->sender;
    size_t  i;
    int     err = 0;

    smtpd_queue_rec(queue_write_recf(qf, QUEUE_REC_ARRIVAL, "%lld",
                                     (long long) time(NULL)), &err);
    smtpd_queue_rec(queue_write_rec(qf, QUEUE_REC_CLIENT_ADDR, state->addr), &err);
    if (strcmp(state->name, "unknown") != 0)
        smtpd_queue_rec(queue_write_rec(qf, QUEUE_REC_CLIENT_NAME, state->name), &err);
    smtpd_queue_rec(queue_write_rec(qf, QUEUE_REC_HELO, state->helo), &err);
    smtpd_queue_rec(queue_write_rec(qf, QUEUE_REC_PROTOCOL,
                                    smtpd_queue_protocol(state)), &err);
    if (state->facts.authenticated)
        smtpd_queue_rec(queue_write_rec(qf, QUEUE_REC_SASL_USER, state->sasl_user),
                        &err);
    if (state->facts.authenticated && state->sasl_password
        && conf_bool(P_relay_auth_replay))
        smtpd_queue_rec(smtpd_queue_sealed(state, qf), &err);
    smtpd_queue_rec(queue_write_rec(qf, QUEUE_REC_SENDER,
                                    (s->flags & SMTP_ADDR_FLAG_NULL) ? "" : s->mailbox),
                    &err);
    if (s->params & SMTP_ADDR_PARAM_SIZE)
        smtpd_queue_rec(queue_write_recf(qf, QUEUE_REC_SIZE, "%llu",
                                         (unsigned long long) s->size), &err);
    if (s->body == SMTP_ADDR_BODY_8BITMIME)
        smtpd_queue_rec(queue_write_rec(qf, QUEUE_REC_BODY_TYPE, "8BITMIME"), &err);
    else if (s->body == SMTP_ADDR_BODY_7BIT)
        smtpd_queue_rec(queue_write_rec(qf, QUEUE_REC_BODY_TYPE, "7BIT"), &err);
    if (s->params & SMTP_ADDR_PARAM_SMTPUTF8)
        smtpd_queue_rec(queue_write_rec(qf, QUEUE_REC_SMTPUTF8, "1"), &err);
    for (i = 0; i < state->rcpt_count; i++)
        smtpd_queue_rec(queue_write_rec(qf, QUEUE_REC_RCPT, state->rcpt[i]), &err);
    smtpd_queue_rec(queue_write_begin_message(qf), &err);
    if (err) {
        errno = err;
        return -1;
    }
    return 0;
}

QUEUE_WRITER *
smtpd_queue_open(SMTPD_STATE *state)
{
    VBUF   *why = vbuf_create(100);
    QUEUE_WRITER *qf;
    int     err;

    if ((qf = queue_write_create(conf_str(P_queue_directory), why)) == NULL) {
        err = errno;
        msg_warn("cannot create queue file: %s", vbuf_str(why));
        smtpd_queue_error(state, err);
        vbuf_free(why);
        return NULL;
    }
    vbuf_free(why);
    if (conf_bool(P_archive))
        queue_write_archive(qf);
    snprintf(state->queue_id, sizeof(state->queue_id), "%s", queue_write_id(qf));
    if (state->facts.authenticated)
        msg_info("%s: client=%s, sasl_method=%s, sasl_username=%s", state->queue_id,
                 state->namaddr, state->sasl_method, printable_str(state->sasl_user));
    else
        msg_info("%s: client=%s", state->queue_id, state->namaddr);
    if (smtpd_queue_envelope(state, qf) < 0) {
        err = errno;
        msg_warn("%s: cannot write envelope: %s", state->queue_id, strerror(err));
        queue_write_abort(qf);
        smtpd_queue_error(state, err);
        state->queue_id[0] = 0;
        return NULL;
    }
    smtpd_queue_received(state, qf);
    return qf;
}

void
smtpd_queue_out(void *context, const char *data, size_t len)
{
    /* A write error is remembered by the queue file and surfaces at
     * commit time. */
    (void) queue_write_message(context, data, len);
}

int
smtpd_queue_close(SMTPD_STATE *state, QUEUE_WRITER *qf, const SMTP_DATA *sd,
                  const char *cmd)
{
    VBUF   *why = vbuf_create(100);
    int     status = SMTPD_CMD_ERROR;
    int     err;

    if (SMTP_DATA_ERROR(sd->status)) {
        /* SMTP smuggling: the only end of data is CR LF . CR LF, and
         * BDAT content is held to the same line ends. */
        queue_write_abort(qf);
        smtpd_refuse(state, cmd, SMTPD_POLICY_CLOSE, 521, "5.5.2",
                     sd->status == SMTP_DATA_NUL ? "Error: NUL character received"
                     : sd->status == SMTP_DATA_BARE_CR ? "Error: bare <CR> received"
                     : "Error: bare <LF> received", "bare_newline");
    } else if (sd->flags & SMTP_DATA_FLAG_OVER) {
        queue_write_abort(qf);
        smtpd_refuse(state, cmd, SMTPD_POLICY_REJECT, 552, "5.3.4",
                     "Error: message file too big", "message_size_limit");
    } else if (sd->received > SMTPD_MAX_HOPS) {
        queue_write_abort(qf);
        smtpd_refuse(state, cmd, SMTPD_POLICY_REJECT, 554, "5.4.6",
                     "Error: too many hops", "mail_loop");
    } else if (conf_int(P_queue_minfree) > 0
               && queue_dir_space_ok(conf_str(P_queue_directory),
                                 (unsigned long long) conf_int(P_queue_minfree), 0) == 0) {
        queue_write_abort(qf);
        smtpd_refuse(state, cmd, SMTPD_POLICY_REJECT, 452, "4.3.1",
                     "Error: insufficient system storage", "queue_minfree");
    } else if (queue_write_commit(qf, why) < 0) {
        err = errno;
        msg_warn("%s: cannot commit queue file: %s", state->queue_id, vbuf_str(why));
        smtpd_queue_error(state, err);
    } else {
        msg_info("%s: from=<%s>, size=%llu, nrcpt=%zu", state->queue_id,
                 printable_str(state->sender->addr),
                 (unsigned long long) sd->size, state->rcpt_count);
        smtpd_reply(state, "250 2.0.0 Ok: queued as %s", state->queue_id);
        smtpd_metrics_accepted(state, sd->size);
        status = SMTPD_CMD_OK;
    }
    vbuf_free(why);
    smtpd_state_reset(state);
    /* A client that hangs up now is past its message, and Postfix's
     * log says so: "lost connection after END-OF-MESSAGE". */
    state->where = SMTPD_AFTER_EOM;
    return status;
}
