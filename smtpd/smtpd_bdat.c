/* BDAT (RFC 3030 CHUNKING): the message in chunks of exact byte counts,
 * into the same queue file as DATA (smtpd_queue.c).
 *
 * A chunk's bytes are content, never commands, so every BDAT line whose
 * count parses has its chunk read, whatever the reply: without MAIL,
 * after a refusal, with CHUNKING turned off.  Only a count that does not
 * parse leaves the session out of step: it gets 501, and closes the
 * session when more bytes came with it.  After an
 * error in a chunked message, every chunk up to LAST (or RSET) is read,
 * discarded and refused the same way. */
#include <stdio.h>

#include "conf.h"
#include "msg.h"
#include "queue_write.h"
#include "smtp_bdat.h"
#include "smtp_data.h"
#include "smtpd.h"

/* Reads the chunk's size bytes, feeding them to sd (NULL: discards
 * them).  0, or -1 when the client went away or was too slow. */
static int
smtpd_bdat_read(SMTPD_STATE *state, uint64_t size, SMTP_DATA *sd)
{
    uint64_t left = size;
    size_t  n, used;

    smtpd_io_request(state);
    while (left > 0) {
        if (!smtpd_io_pending(state) && smtpd_io_fill(state) != SMTPD_IO_OK) {
            if (state->io_status == SMTPD_IO_TIMEOUT) {
                msg_info("timeout after BDAT (%llu bytes) from %s",
                         (unsigned long long) (size - left), state->namaddr);
                smtpd_reply(state, "421 4.4.2 %s Error: timeout exceeded",
                            conf_str(P_myhostname));
            } else {
                msg_info("lost connection after BDAT (%llu bytes) from %s",
                         (unsigned long long) (size - left), state->namaddr);
            }
            state->quit = 1;
            return -1;
        }
        n = state->in_end - state->in_start;
        if (n > left)
            n = (size_t) left;
        /* After an error the scanner takes nothing more: the rest of the
         * chunk is still read, to stay in step. */
        if (sd && sd->status == SMTP_DATA_MORE)
            smtp_data_feed(sd, state->in + state->in_start, n, &used);
        state->in_start += n;
        left -= n;
        smtpd_io_extend(state, n);
    }
    return 0;
}

/* Reads and drops the chunk, then refuses with reply. */
static int
smtpd_bdat_skip(SMTPD_STATE *state, uint64_t size, const char *reply)
{
    if (smtpd_bdat_read(state, size, NULL) < 0)
        return SMTPD_CMD_ERROR;
    smtpd_reply(state, "%s", reply);
    return SMTPD_CMD_ERROR;
}

int
smtpd_bdat(SMTPD_STATE *state, const char *arg)
{
    QUEUE_WRITER *qf;
    SMTP_DATA *sd = &state->bdat_sd;
    long long limit = conf_int(P_message_size_limit);
    SMTP_ADDR_ERR err;
    uint64_t size;
    int     last;

    /* Without a count the chunk cannot be told from commands: bytes
     * already pipelined after the line would run as commands, so they
     * end the session instead. */
    if (smtp_bdat_parse(arg, &size, &last, &err) < 0) {
        if (smtpd_io_pending(state))
            return smtpd_refuse(state, "BDAT", SMTPD_POLICY_CLOSE, err.code,
                                err.status, err.text, "bdat_syntax");
        smtpd_reply(state, "%d %s %s", err.code, err.status, err.text);
        return SMTPD_CMD_ERROR;
    }
    if (!conf_bool(P_smtpd_chunking))
        return smtpd_bdat_skip(state, size,
                               "502 5.5.1 Error: command not implemented");
    if (smtpd_tls_required(state))
        return smtpd_bdat_skip(state, size,
                               "530 5.7.0 Must issue a STARTTLS command first");
    if (smtpd_auth_required(state))
        return smtpd_bdat_skip(state, size, "530 5.7.0 Authentication required");
    if (state->helo == NULL)
        return smtpd_bdat_skip(state, size,
                               "503 5.5.1 Error: send HELO/EHLO first");
    if (!state->in_mail)
        return smtpd_bdat_skip(state, size, "503 5.5.1 Error: need MAIL command");
    if (state->rcpt_tried == 0)
        return smtpd_bdat_skip(state, size, "503 5.5.1 Error: need RCPT command");
    if (state->rcpt_count == 0)
        return smtpd_bdat_skip(state, size,
                               "554 5.5.1 Error: no valid recipients");
    if (state->bdat_error) {
        if (smtpd_bdat_skip(state, size, state->bdat_error) == SMTPD_CMD_ERROR
            && last)
            smtpd_state_reset(state);
        return SMTPD_CMD_ERROR;
    }
    if (!state->bdat) {
        if ((qf = smtpd_queue_open(state)) == NULL) {
            /* The 451 or 452 is queued: drop the chunk and the
             * transaction. */
            smtpd_bdat_read(state, size, NULL);
            smtpd_state_reset(state);
            return SMTPD_CMD_ERROR;
        }
        state->bdat_qf = qf;
        state->bdat = 1;
        smtp_data_init_raw(sd, smtpd_queue_out, qf);
        if (limit > 0)
            smtp_data_set_limit(sd, (uint64_t) limit);
    }
    if (smtpd_bdat_read(state, size, sd) < 0) {
        smtpd_state_reset(state);
        return SMTPD_CMD_ERROR;
    }
    /* Refused as soon as the chunk that shows it has been read; the
     * chunks that follow are read and refused the same way. */
    if (SMTP_DATA_ERROR(sd->status) || (sd->flags & SMTP_DATA_FLAG_OVER)
        || last) {
        if (last)
            smtp_data_finish(sd);
        qf = state->bdat_qf;
        state->bdat_qf = NULL;
        if (last || SMTP_DATA_ERROR(sd->status))
            return smtpd_queue_close(state, qf, sd, "BDAT");
        queue_write_abort(qf);
        smtpd_refuse(state, "BDAT", SMTPD_POLICY_REJECT, 552, "5.3.4",
                     "Error: message file too big", "message_size_limit");
        state->bdat_error = "552 5.3.4 Error: message file too big";
        return SMTPD_CMD_ERROR;
    }
    smtpd_reply(state, "250 2.0.0 Ok: %llu bytes", (unsigned long long) size);
    return SMTPD_CMD_OK;
}
