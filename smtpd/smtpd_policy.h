/* Relay control and recipient validation: pure decisions, no I/O, so that
 * unit tests can drive them directly. */
#ifndef ALLIGATE_SMTPD_POLICY_H
#define ALLIGATE_SMTPD_POLICY_H

#include "smtp_addr.h"

struct ADDR_LIST;

typedef struct SMTPD_POLICY {
    char *const *local_domains;         /* lower-case, NULL-terminated */
    const struct ADDR_LIST *local_recipients;   /* NULL: all valid */
    int relay_client;                   /* relay_networks or authenticated */
} SMTPD_POLICY;

typedef struct SMTPD_DECISION {
    int code;                           /* 0 when accepted */
    const char *status;                 /* enhanced status code */
    char text[600];                     /* reply text after the status */
    const char *rule;                   /* for the log: rule=NAME */
    int valid;                          /* a valid local recipient */
} SMTPD_DECISION;

/* 1 when the domain is one of local_domains. */
int smtpd_policy_local_domain(const SMTPD_POLICY *policy, const char *domain_lc);

/* Decides on one RCPT TO address: returns 0 and d->code == 0 when it is
 * accepted, else -1 with the refusal in d. */
int smtpd_policy_rcpt(const SMTPD_POLICY *policy, const SMTP_PATH *rcpt,
                      SMTPD_DECISION *d);

#endif
