/* DATA: the message goes straight from the socket into a queue file
 * (smtpd_queue.c), which is fsynced (file and directory) before the
 * client hears 250.  The content keeps the request's deadline moving at
 * smtpd_min_data_rate, so a client that trickles it is cut. */
#include <stdio.h>

#include "conf.h"
#include "msg.h"
#include "queue_write.h"
#include "smtp_data.h"
#include "smtpd.h"

int
smtpd_data(SMTPD_STATE *state, const char *arg)
{
    QUEUE_WRITER *qf;
    SMTP_DATA sd;
    long long limit = conf_int(P_message_size_limit);
    int     status;

    if (*arg) {
        smtpd_reply(state, "501 5.5.4 Syntax: DATA");
        return SMTPD_CMD_ERROR;
    }
    if (state->bdat) {
        smtpd_reply(state, "503 5.5.1 Error: DATA after BDAT in one transaction");
        return SMTPD_CMD_ERROR;
    }
    /* RFC 2920 3.1: DATA ends a pipelining group; message text sent
     * before our 354 is a client that does not wait for replies. */
    if (smtpd_io_pending(state))
        return smtpd_refuse(state, "DATA", SMTPD_POLICY_CLOSE, 554, "5.5.0",
                            "Error: SMTP protocol synchronization", "pipelining");
    if ((qf = smtpd_queue_open(state)) == NULL) {
        smtpd_state_reset(state);
        return SMTPD_CMD_ERROR;
    }
    smtpd_reply(state, "354 End data with <CR><LF>.<CR><LF>");

    smtp_data_init(&sd, smtpd_queue_out, qf);
    if (limit > 0)
        smtp_data_set_limit(&sd, (uint64_t) limit);
    smtpd_io_request(state);
    for (;;) {
        size_t  used;

        if (smtpd_io_pending(state)) {
            status = smtp_data_feed(&sd, state->in + state->in_start,
                                    state->in_end - state->in_start, &used);
            state->in_start += used;
            smtpd_io_extend(state, used);
            if (status != SMTP_DATA_MORE)
                break;
        }
        if (smtpd_io_fill(state) != SMTPD_IO_OK) {
            queue_write_abort(qf);
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
            return SMTPD_CMD_ERROR;
        }
    }
    return smtpd_queue_close(state, qf, &sd, "DATA");
}
