/* The log lines of a session that scripts rely on: one line per refusal
 * and the command counts at disconnect.  Client text is made printable
 * piece by piece, so that one line can quote several pieces of it. */
#include <string.h>

#include "msg.h"
#include "printable.h"
#include "smtpd.h"

static void
smtpd_log_text(VBUF *line, const char *text)
{
    printable_append(line, text, strlen(text));
}

/* "ID: reject: RCPT from host[addr]: REPLY; from=<s> to=<r> proto=ESMTP
 * helo=<h>; rule=RULE", with NOQUEUE before DATA and no to= unless rcpt. */
void
smtpd_log_reject(SMTPD_STATE *state, const char *cmd, const char *reply,
                 const char *sender, const char *rcpt, const char *rule)
{
    VBUF *line = vbuf_create(256);

    vbuf_printf(line, "%s: reject: %s from %s: ",
                state->queue_id[0] ? state->queue_id : "NOQUEUE", cmd,
                state->namaddr);
    smtpd_log_text(line, reply);
    vbuf_append_str(line, "; from=<");
    smtpd_log_text(line, sender);
    if (rcpt) {
        vbuf_append_str(line, "> to=<");
        smtpd_log_text(line, rcpt);
    }
    vbuf_printf(line, "> proto=%s helo=<", state->esmtp ? "ESMTP" : "SMTP");
    smtpd_log_text(line, state->helo ? state->helo : "");
    vbuf_printf(line, ">; rule=%s", rule);
    msg_info("%s", vbuf_str(line));
    vbuf_free(line);
}

/* "disconnect from host[addr] ehlo=1 mail=1 rcpt=1/2 data=1 quit=1 commands=5/6" */
void
smtpd_log_disconnect(SMTPD_STATE *state)
{
    VBUF *line = vbuf_create(128);
    int ok = 0, total = 0;
    int i;

    for (i = 0; i < state->ncounts; i++) {
        SMTPD_COUNT *c = &state->counts[i];

        if (c->ok == c->total)
            vbuf_printf(line, " %s=%d", c->name, c->total);
        else
            vbuf_printf(line, " %s=%d/%d", c->name, c->ok, c->total);
        ok += c->ok;
        total += c->total;
    }
    if (ok == total)
        vbuf_printf(line, " commands=%d", total);
    else
        vbuf_printf(line, " commands=%d/%d", ok, total);
    msg_info("disconnect from %s%s", state->namaddr, vbuf_str(line));
    vbuf_free(line);
}
