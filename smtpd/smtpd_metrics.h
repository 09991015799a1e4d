/* smtpd's counters for the Prometheus endpoint and `alligatectl stats`
 * (lib/metrics.def names them).  The session calls these at the points
 * where it logs the same facts; none of them blocks or fails. */
#ifndef ALLIGATE_SMTPD_METRICS_H
#define ALLIGATE_SMTPD_METRICS_H

#include <stdint.h>

#include "metrics.h"

struct SMTPD_STATE;

/* The session starts (in progress) and ends (how: the outcome). */
void    smtpd_metrics_begin(struct SMTPD_STATE *state);
void    smtpd_metrics_end(struct SMTPD_STATE *state);
/* How the session ended: METRICS_OUTCOME_*. */
int     smtpd_metrics_outcome(const struct SMTPD_STATE *state);

/* A message was queued and answered 250: size bytes, the transaction's
 * recipients, the time since connect. */
void    smtpd_metrics_accepted(struct SMTPD_STATE *state, uint64_t size);

/* A refusal logged with rule=rule. */
void    smtpd_metrics_reject(const char *rule);

/* A TLS handshake done (state->tls set), or failed. */
void    smtpd_metrics_tls(struct SMTPD_STATE *state);
void    smtpd_metrics_tls_failed(void);

/* An AUTH attempt's result: METRICS_AUTH_RESULT_SUCCESS, _FAILURE or
 * _ERROR; mech as offered (PLAIN, LOGIN). */
void    smtpd_metrics_auth(const char *mech, int result);

/* A client handed to the tarpit (1), or a hand-off that failed (0). */
void    smtpd_metrics_tarpit(int handed_off);

#endif
