/* The hand-off of a client to the tarpit.  When a decision says
 * SMTPD_POLICY_TARPIT, the replies to what the client sent before go
 * out, then its socket goes to the tarpit daemon (lib/tarpit_clnt.h)
 * with the refusal it is to get after tarpit_delay, and the session ends
 * at once: the worker is free for the next client after microseconds,
 * not tarpit_delay.  What the client pipelined after the command stays
 * unread here; the tarpit discards it.
 *
 * Where that cannot be done, the client gets the refusal at once and the
 * session closes (fail safe): a TLS session, whose keys the tarpit does
 * not have, or a tarpit that is down or full (a warning at most once a
 * minute says so).  Either way the reject line says why ("tarpit=tls",
 * "tarpit=unavailable"). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "monotime.h"
#include "msg.h"
#include "printable.h"
#include "smtpd.h"
#include "smtpd_metrics.h"
#include "tarpit_clnt.h"

#define SMTPD_TARPIT_WARN_MS    60000

static TARPIT_CLNT *smtpd_tarpit_clnt;
static long long smtpd_tarpit_warned;   /* monotime ms; 0: never */

static TARPIT_CLNT *
smtpd_tarpit_client(void)
{
    if (smtpd_tarpit_clnt == NULL)
        smtpd_tarpit_clnt = tarpit_clnt_create(tarpit_clnt_default_path());
    return smtpd_tarpit_clnt;
}

static void
smtpd_tarpit_warn(SMTPD_STATE *state)
{
    long long now = monotime_ms();

    if (smtpd_tarpit_warned != 0 && now - smtpd_tarpit_warned < SMTPD_TARPIT_WARN_MS)
        return;
    smtpd_tarpit_warned = now;
    msg_warn("tarpit: cannot hand %s over: %s; refusing at once instead",
             state->namaddr,
             printable_str(tarpit_clnt_error(smtpd_tarpit_clnt)));
}

/* 0 when the tarpit has the client. */
static int
smtpd_tarpit_handoff(SMTPD_STATE *state, const char *cmd,
                     const SMTPD_DECISION *d, const char *reply)
{
    TARPIT_HOLD hold;

    memset(&hold, 0, sizeof(hold));
    snprintf(hold.addr, sizeof(hold.addr), "%s", state->addr);
    snprintf(hold.name, sizeof(hold.name), "%s", state->name);
    hold.delay_ms = conf_time_ms(P_tarpit_delay);
    snprintf(hold.rule, sizeof(hold.rule), "%s", d->rule);
    snprintf(hold.command, sizeof(hold.command), "%s", cmd);
    snprintf(hold.reply, sizeof(hold.reply), "%s", reply);
    return tarpit_clnt_handoff(smtpd_tarpit_client(), state->fd, &hold);
}

int
smtpd_tarpit(SMTPD_STATE *state, const char *cmd, const SMTPD_DECISION *d,
             const char *reply, const char *rcpt)
{
    const char *why;
    VBUF   *detail;

    if (state->tls) {
        why = "tls";
    } else if (smtpd_flush(state) < 0) {
        /* The replies before it did not go: the client is gone. */
        why = "lost_connection";
    } else if (smtpd_tarpit_handoff(state, cmd, d, reply) == 0) {
        smtpd_log_tarpit(state, cmd, reply, rcpt, d->rule, d->detail);
        /* Our copy only: the connection is the tarpit's now. */
        close(state->fd);
        state->fd = -1;
        state->end = SMTPD_END_HANDOFF;
        state->quit = 1;
        smtpd_metrics_tarpit(1);
        return 0;
    } else {
        smtpd_metrics_tarpit(0);
        smtpd_tarpit_warn(state);
        why = "unavailable";
    }
    detail = vbuf_create(64);
    if (*d->detail)
        vbuf_printf(detail, "%s ", d->detail);
    vbuf_printf(detail, "tarpit=%s", why);
    smtpd_log_reject_detail(state, cmd, reply, rcpt, d->rule, vbuf_str(detail));
    vbuf_free(detail);
    smtpd_reply(state, "%s", reply);
    state->quit = 1;
    return -1;
}
