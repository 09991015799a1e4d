/* The refusal of the manual's anti-spam rules, one function for all of
 * them (sender_rate_limit now; the recipient limits, the tarpit and the
 * disconnect history later), so that reject_text and bogus_550 mean the
 * same everywhere. */
#ifndef ALLIGATE_SMTPD_REJECT_H
#define ALLIGATE_SMTPD_REJECT_H

#include "smtpd.h"
#include "vbuf.h"

#define SMTPD_REJECT_BOGUS_COUNT    400 /* distinct bogus texts */

/* Sets reply to "550 " followed by reject_text, or by a random bogus text
 * when bogus_550 = yes.  No enhanced status code: the manual's reply is
 * exactly "550 Refused". */
void smtpd_reject_reply(VBUF *reply);

/* The n-th bogus text (n modulo SMTPD_REJECT_BOGUS_COUNT). */
const char *smtpd_reject_bogus(unsigned n, VBUF *text);

/* Refuses cmd ("MAIL", "RCPT", ...) by rule: logs the decision, "NOQUEUE:
 * reject: MAIL from host[addr]: 550 Refused; from=<sender> proto=ESMTP
 * helo=<name>; rule=RULE", and queues the reply. */
void smtpd_reject_antispam(SMTPD_STATE *state, const char *cmd,
                           const char *sender, const char *rule);

#endif
