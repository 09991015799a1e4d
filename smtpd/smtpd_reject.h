/* bogus_550's texts, for the anti-spam refusal that smtpd_policy_refuse()
 * builds: "550 5.7.1 " followed by reject_text, or by one of these. */
#ifndef ALLIGATE_SMTPD_REJECT_H
#define ALLIGATE_SMTPD_REJECT_H

#include "vbuf.h"

#define SMTPD_REJECT_BOGUS_COUNT    400 /* distinct bogus texts */

/* The n-th bogus text (n modulo SMTPD_REJECT_BOGUS_COUNT). */
const char *smtpd_reject_bogus(unsigned n, VBUF *text);

/* A random number to pick one with. */
unsigned smtpd_reject_random(void);

#endif
