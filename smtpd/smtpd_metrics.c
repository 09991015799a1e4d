/* smtpd's counters (lib/metrics.h): how each session ended, what was
 * accepted and how long it took from the connection, the refusals by
 * rule, the TLS handshakes and the AUTH attempts.  Each is an addition
 * to this worker's own slot of the shared segment: no socket, no lock.
 * One session at a time per process, so the session's start is kept
 * here rather than in SMTPD_STATE. */
#include <string.h>
#include <time.h>

#include <openssl/ssl.h>

#include "metrics.h"
#include "monotime.h"
#include "smtpd.h"
#include "smtpd_metrics.h"

static uint64_t smtpd_metrics_started;  /* monotonic us at connect */
static int smtpd_metrics_port_index = -1;   /* of the service; -1: unknown */
static int smtpd_metrics_quit = -1;         /* QUIT's index in smtpd_cmds */
static int smtpd_metrics_tls_broke;         /* this session's handshake failed */

/* The service's port label (a worker serves one service all its life);
 * a worker run by hand counts as smtp. */
static int
smtpd_metrics_port(const SMTPD_STATE *state)
{
    if (smtpd_metrics_port_index < 0) {
        smtpd_metrics_port_index = metrics_value_index(&metrics_label_PORT,
                                                       state->service);
        if (smtpd_metrics_port_index < 0)
            smtpd_metrics_port_index = METRICS_PORT_SMTP;
    }
    return smtpd_metrics_port_index;
}

int
smtpd_metrics_outcome(const SMTPD_STATE *state)
{
    const SMTPD_CMD *cmd;

    if (smtpd_metrics_quit < 0)
        for (cmd = smtpd_cmds; cmd->name; cmd++)
            if (strcmp(cmd->name, "QUIT") == 0)
                smtpd_metrics_quit = (int) (cmd - smtpd_cmds);
    if (state->end == SMTPD_END_HANDOFF)
        return METRICS_OUTCOME_TARPITTED;
    /* A rule refused and closed (its reply says so), whatever the
     * client did after. */
    if (state->closing)
        return METRICS_OUTCOME_REJECTED;
    if (smtpd_metrics_quit >= 0 && state->counts[smtpd_metrics_quit].total)
        return METRICS_OUTCOME_QUIT;
    if (state->io_status == SMTPD_IO_TIMEOUT)
        return METRICS_OUTCOME_TIMEOUT;
    if (state->io_status == SMTPD_IO_EOF || state->io_status == SMTPD_IO_ERROR)
        return METRICS_OUTCOME_LOST;
    /* The handshake of smtps, or after STARTTLS, did not complete. */
    if (smtpd_metrics_tls_broke && state->tls == NULL)
        return METRICS_OUTCOME_TLS_FAILED;
    if (state->error_count > 0)
        return METRICS_OUTCOME_ERRORS;
    return METRICS_OUTCOME_OTHER;
}

void
smtpd_metrics_begin(SMTPD_STATE *state)
{
    smtpd_metrics_started = (uint64_t) monotime_us();
    smtpd_metrics_tls_broke = 0;
    metrics_set(METRICS_AT(SMTPD_SESSIONS, smtpd_metrics_port(state), 0), 1);
}

void
smtpd_metrics_end(SMTPD_STATE *state)
{
    int     port = smtpd_metrics_port(state);

    metrics_inc(METRICS_AT(SMTPD_CONNECTIONS, port, smtpd_metrics_outcome(state)));
    metrics_set(METRICS_AT(SMTPD_SESSIONS, port, 0), 0);
}

void
smtpd_metrics_accepted(SMTPD_STATE *state, uint64_t size)
{
    int     port = smtpd_metrics_port(state);

    metrics_inc(METRICS_AT(SMTPD_MESSAGES, port, 0));
    metrics_add(METRICS_AT(SMTPD_BYTES, port, 0), size);
    metrics_add(METRICS_AT(SMTPD_RECIPIENTS, port, 0), state->rcpt_count);
    metrics_observe(METRICS_FAM_SMTPD_TRANSACTION, METRIC_SMTPD_TRANSACTION,
                    (uint64_t) monotime_us() - smtpd_metrics_started);
}

void
smtpd_metrics_reject(const char *rule)
{
    metrics_inc(METRICS_AT(SMTPD_REJECTS,
                           metrics_value_index(&metrics_label_RULE,
                                               rule ? rule : ""), 0));
}

void
smtpd_metrics_tls(SMTPD_STATE *state)
{
    int     proto = metrics_value_index(&metrics_label_TLS_PROTOCOL,
                                        SSL_get_version(state->tls));

    metrics_inc(METRICS_AT(SMTPD_TLS, proto, state->tls_resumed
                           ? METRICS_RESUMED_TRUE : METRICS_RESUMED_FALSE));
}

void
smtpd_metrics_tls_failed(void)
{
    metrics_inc(METRIC_SMTPD_TLS_FAILURES);
    smtpd_metrics_tls_broke = 1;
}

void
smtpd_metrics_auth(const char *mech, int result)
{
    int     m = metrics_value_index(&metrics_label_MECHANISM, mech);

    if (m >= 0)
        metrics_inc(METRICS_AT(SMTPD_AUTH, m, result));
}

void
smtpd_metrics_tarpit(int handed_off)
{
    metrics_inc(METRICS_AT(SMTPD_TARPIT_HANDOFFS, handed_off
                           ? METRICS_HANDOFF_OK : METRICS_HANDOFF_FAILED, 0));
}
