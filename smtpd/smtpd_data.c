/* DATA: the message goes straight from the socket into a queue file,
 * which is fsynced (file and directory) before the client hears 250. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "msg.h"
#include "printable.h"
#include "queue_file.h"
#include "smtp_data.h"
#include "smtpd.h"

static void
smtpd_data_out(void *context, const char *data, size_t len)
{
    /* A write error is remembered by the queue file and surfaces at
     * commit time. */
    (void) queue_file_write(context, data, len);
}

static const char *
smtpd_protocol(SMTPD_STATE *state)
{
    return state->esmtp ? "ESMTP" : "SMTP";
}

/* The one header smtpd adds (RFC 5321 4.4). */
static void
smtpd_received(SMTPD_STATE *state, QUEUE_FILE *qf)
{
    VBUF *hdr = vbuf_create(256);
    char date[64];
    time_t now = time(NULL);
    struct tm tm;

    localtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
    vbuf_printf(hdr, "Received: from %s (%s [%s])\r\n",
                printable_str(state->helo), state->name, state->addr);
    vbuf_printf(hdr, "\tby %s (Alligate) with %s id %s", conf_str(P_myhostname),
                smtpd_protocol(state), state->queue_id);
    /* The parser let through only printable ASCII, or UTF-8 with
     * SMTPUTF8 (RFC 6531 3.7.3 allows it here). */
    if (state->rcpt_count == 1)
        vbuf_printf(hdr, "\r\n\tfor <%s>", state->rcpt[0]);
    vbuf_printf(hdr, "; %s\r\n", date);
    queue_file_write(qf, vbuf_str(hdr), vbuf_len(hdr));
    vbuf_free(hdr);
}

/* The envelope records; -1 when the queue file refuses one. */
static int
smtpd_envelope(SMTPD_STATE *state, QUEUE_FILE *qf)
{
    const SMTP_PATH *s = state->sender;
    size_t i;
    int rc = 0;

    rc |= queue_file_recf(qf, QUEUE_REC_ARRIVAL, "%lld", (long long) time(NULL));
    rc |= queue_file_rec(qf, QUEUE_REC_CLIENT_ADDR, state->addr);
    if (strcmp(state->name, "unknown") != 0)
        rc |= queue_file_rec(qf, QUEUE_REC_CLIENT_NAME, state->name);
    rc |= queue_file_rec(qf, QUEUE_REC_HELO, state->helo);
    rc |= queue_file_rec(qf, QUEUE_REC_PROTOCOL, smtpd_protocol(state));
    rc |= queue_file_rec(qf, QUEUE_REC_SENDER,
                         (s->flags & SMTP_ADDR_FLAG_NULL) ? "" : s->mailbox);
    if (s->params & SMTP_ADDR_PARAM_SIZE)
        rc |= queue_file_recf(qf, QUEUE_REC_SIZE, "%llu", (unsigned long long) s->size);
    if (s->body == SMTP_ADDR_BODY_8BITMIME)
        rc |= queue_file_rec(qf, QUEUE_REC_BODY_TYPE, "8BITMIME");
    else if (s->body == SMTP_ADDR_BODY_7BIT)
        rc |= queue_file_rec(qf, QUEUE_REC_BODY_TYPE, "7BIT");
    if (s->params & SMTP_ADDR_PARAM_SMTPUTF8)
        rc |= queue_file_rec(qf, QUEUE_REC_SMTPUTF8, "1");
    for (i = 0; i < state->rcpt_count; i++)
        rc |= queue_file_rec(qf, QUEUE_REC_RCPT, state->rcpt[i]);
    return rc ? -1 : 0;
}

static void
smtpd_data_reject(SMTPD_STATE *state, const char *rule, const char *reply)
{
    smtpd_log_reject(state, "DATA", reply, state->sender->addr, NULL, rule);
    smtpd_reply(state, "%s", reply);
}

void
smtpd_data(SMTPD_STATE *state, const char *arg)
{
    VBUF *why;
    QUEUE_FILE *qf;
    SMTP_DATA sd;
    long long limit = conf_int(P_message_size_limit);
    int status;

    if (!state->in_mail) {
        smtpd_reply(state, "503 5.5.1 Error: need MAIL command");
        return;
    }
    /* RFC 5321 3.3: 503 when no RCPT was given, 554 when every one was
     * refused (a pipelining client sent DATA without waiting). */
    if (state->rcpt_tried == 0) {
        smtpd_reply(state, "503 5.5.1 Error: need RCPT command");
        return;
    }
    if (state->rcpt_count == 0) {
        smtpd_reply(state, "554 5.5.1 Error: no valid recipients");
        return;
    }
    if (*arg) {
        smtpd_reply(state, "501 5.5.4 Syntax: DATA");
        return;
    }
    /* RFC 2920 3.1: DATA ends a pipelining group; message text sent
     * before our 354 is a client that does not wait for replies. */
    if (smtpd_io_pending(state)) {
        msg_info("NOQUEUE: reject: DATA from %s: 554 5.5.0 Error: SMTP protocol synchronization; rule=pipelining",
                 state->namaddr);
        smtpd_reply(state, "554 5.5.0 Error: SMTP protocol synchronization");
        state->quit = 1;
        return;
    }
    why = vbuf_create(100);
    if ((qf = queue_file_create(conf_str(P_queue_directory), why)) == NULL) {
        msg_warn("cannot create queue file: %s", vbuf_str(why));
        smtpd_reply(state, "451 4.3.0 Error: queue file write error");
        vbuf_free(why);
        return;
    }
    snprintf(state->queue_id, sizeof(state->queue_id), "%s", queue_file_id(qf));
    msg_info("%s: client=%s", state->queue_id, state->namaddr);
    if (smtpd_envelope(state, qf) < 0 || queue_file_begin_message(qf) < 0) {
        msg_warn("%s: cannot write envelope: %m", state->queue_id);
        queue_file_abort(qf);
        smtpd_reply(state, "451 4.3.0 Error: queue file write error");
        smtpd_state_reset(state);
        vbuf_free(why);
        return;
    }
    smtpd_reply(state, "354 End data with <CR><LF>.<CR><LF>");
    smtpd_received(state, qf);

    smtp_data_init(&sd, smtpd_data_out, qf);
    if (limit > 0)
        smtp_data_set_limit(&sd, (uint64_t) limit);
    for (;;) {
        size_t used;

        if (smtpd_io_pending(state)) {
            status = smtp_data_feed(&sd, state->in + state->in_start,
                                    state->in_end - state->in_start, &used);
            state->in_start += used;
            if (status != SMTP_DATA_MORE)
                break;
        }
        if (smtpd_io_fill(state) != SMTPD_IO_OK) {
            queue_file_abort(qf);
            if (state->io_status == SMTPD_IO_TIMEOUT) {
                msg_info("timeout after DATA (%llu bytes) from %s",
                         (unsigned long long) sd.size, state->namaddr);
                smtpd_reply(state, "421 4.4.2 %s Error: timeout exceeded",
                            conf_str(P_myhostname));
            } else {
                msg_info("lost connection after DATA (%llu bytes) from %s",
                         (unsigned long long) sd.size, state->namaddr);
            }
            state->quit = 1;
            smtpd_state_reset(state);
            vbuf_free(why);
            return;
        }
    }

    if (SMTP_DATA_ERROR(status)) {
        /* SMTP smuggling: the only end of data is CR LF . CR LF. */
        queue_file_abort(qf);
        smtpd_data_reject(state, "bare_newline",
                          status == SMTP_DATA_NUL ? "521 5.5.2 Error: NUL character received"
                          : status == SMTP_DATA_BARE_CR ? "521 5.5.2 Error: bare <CR> received"
                          : "521 5.5.2 Error: bare <LF> received");
        state->quit = 1;
    } else if (sd.flags & SMTP_DATA_FLAG_OVER) {
        queue_file_abort(qf);
        smtpd_data_reject(state, "message_size_limit",
                          "552 5.3.4 Error: message file too big");
    } else if (sd.received > SMTPD_MAX_HOPS) {
        queue_file_abort(qf);
        smtpd_data_reject(state, "mail_loop", "554 5.4.6 Error: too many hops");
    } else if (conf_int(P_queue_minfree) > 0
               && queue_space_ok(conf_str(P_queue_directory),
                                 (unsigned long long) conf_int(P_queue_minfree), 0) == 0) {
        queue_file_abort(qf);
        smtpd_data_reject(state, "queue_minfree",
                          "452 4.3.1 Error: insufficient system storage");
    } else if (queue_file_commit(qf, why) < 0) {
        msg_warn("%s: cannot commit queue file: %s", state->queue_id, vbuf_str(why));
        smtpd_reply(state, "452 4.3.1 Error: insufficient system storage");
    } else {
        msg_info("%s: from=<%s>, size=%llu, nrcpt=%zu", state->queue_id,
                 printable_str(state->sender->addr),
                 (unsigned long long) sd.size, state->rcpt_count);
        smtpd_reply(state, "250 2.0.0 Ok: queued as %s", state->queue_id);
    }
    smtpd_state_reset(state);
    vbuf_free(why);
}
