/* The log lines of a session that scripts rely on: one line per refusal
 * and the command counts at disconnect.  Client text is made printable
 * piece by piece, so that one line can quote several pieces of it.
 *
 * A refusal keeps Postfix's shape up to helo=<...>, so that tools made
 * for Postfix's logs (pflogsumm, fail2ban filters, log exporters) read
 * it; what Alligate adds (rule=NAME and the rule's details) comes last:
 *
 *   NOQUEUE: reject: RCPT from host[addr]: 550 5.7.1 Refused;
 *       from=<s> to=<r> proto=ESMTP helo=<h> rule=NAME [details]
 *
 * (one line). from=, to= and helo= appear when the session has them;
 * proto= always, SMTP until EHLO, as in Postfix. */
#include <string.h>

#include "msg.h"
#include "printable.h"
#include "smtpd.h"
#include "smtpd_metrics.h"

static void
smtpd_log_text(VBUF *line, const char *text)
{
    printable_append(line, text, strlen(text));
}

void
smtpd_log_reject(SMTPD_STATE *state, const char *cmd, const char *reply,
                 const char *rcpt, const char *rule)
{
    smtpd_log_reject_detail(state, cmd, reply, rcpt, rule, NULL);
}

/* what: reject, or tarpit for a refusal the tarpit is to give. */
static void
smtpd_log_decision(SMTPD_STATE *state, const char *what, const char *cmd,
                   const char *reply, const char *rcpt, const char *rule,
                   const char *detail)
{
    VBUF   *line = vbuf_create(256);

    smtpd_metrics_reject(rule);
    smtpd_dns_name(state, 1);
    vbuf_printf(line, "%s: %s: %s from %s: ",
                state->queue_id[0] ? state->queue_id : "NOQUEUE", what, cmd,
                state->namaddr);
    smtpd_log_text(line, reply);
    vbuf_append_char(line, ';');
    /* What the session knows by now: nothing more at CONNECT. */
    if (state->sender) {
        vbuf_append_str(line, " from=<");
        smtpd_log_text(line, state->sender->addr);
        vbuf_append_str(line, ">");
    }
    if (rcpt) {
        vbuf_append_str(line, " to=<");
        smtpd_log_text(line, rcpt);
        vbuf_append_str(line, ">");
    }
    vbuf_printf(line, " proto=%s", state->esmtp ? "ESMTP" : "SMTP");
    if (state->helo) {
        vbuf_append_str(line, " helo=<");
        smtpd_log_text(line, state->helo);
        vbuf_append_str(line, ">");
    }
    vbuf_printf(line, " rule=%s", rule);
    if (detail && *detail)
        vbuf_printf(line, " %s", detail);
    msg_info("%s", vbuf_str(line));
    vbuf_free(line);
}

void
smtpd_log_reject_detail(SMTPD_STATE *state, const char *cmd, const char *reply,
                        const char *rcpt, const char *rule, const char *detail)
{
    smtpd_log_decision(state, "reject", cmd, reply, rcpt, rule, detail);
}

void
smtpd_log_tarpit(SMTPD_STATE *state, const char *cmd, const char *reply,
                 const char *rcpt, const char *rule, const char *detail)
{
    smtpd_log_decision(state, "tarpit", cmd, reply, rcpt, rule, detail);
}

/* "disconnect from host[addr] ehlo=1 mail=1 rcpt=1/2 data=1 quit=1
 * commands=5/6", in the order of the command table. */
void
smtpd_log_disconnect(SMTPD_STATE *state)
{
    VBUF   *line = vbuf_create(128);
    int     ok = 0, total = 0;
    int     i;

    smtpd_dns_name(state, 1);
    /* Up to and with the table's last entry, "unknown". */
    for (i = 0;; i++) {
        SMTPD_COUNT *c = &state->counts[i];

        if (c->total > 0 && c->ok == c->total)
            vbuf_printf(line, " %s=%d", smtpd_cmds[i].log_name, c->total);
        else if (c->total > 0)
            vbuf_printf(line, " %s=%d/%d", smtpd_cmds[i].log_name, c->ok,
                        c->total);
        ok += c->ok;
        total += c->total;
        if (smtpd_cmds[i].name == NULL)
            break;
    }
    if (ok == total)
        vbuf_printf(line, " commands=%d", total);
    else
        vbuf_printf(line, " commands=%d/%d", ok, total);
    msg_info("disconnect from %s%s", state->namaddr, vbuf_str(line));
    vbuf_free(line);
}
