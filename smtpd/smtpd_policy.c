/* Relay control: mail for local_domains is accepted (from anyone, for the
 * users in local_recipients when that is set); mail for anywhere else
 * only from relay clients.  Addresses that try to smuggle a relay through
 * a local domain (user%remote@local, remote!user@local, source routes,
 * "user@remote"@local, address literals) are relay attempts. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr_list.h"
#include "smtpd_policy.h"

int
smtpd_policy_local_domain(const SMTPD_POLICY *policy, const char *domain_lc)
{
    char *const *cpp;

    for (cpp = policy->local_domains; cpp && *cpp; cpp++)
        if (strcasecmp(*cpp, domain_lc) == 0)
            return 1;
    return 0;
}

/* Local parts that another MTA could take as a route to elsewhere. */
static int
smtpd_policy_routing_tricks(const SMTP_PATH *rcpt)
{
    if (rcpt->flags & (SMTP_ADDR_FLAG_ROUTE | SMTP_ADDR_FLAG_PERCENT
                       | SMTP_ADDR_FLAG_BANG | SMTP_ADDR_FLAG_LITERAL))
        return 1;
    return strpbrk(rcpt->local, "@%!:") != NULL;
}

int
smtpd_policy_rcpt(const SMTPD_POLICY *policy, const SMTP_PATH *rcpt,
                  SMTPD_DECISION *d)
{
    int local;

    memset(d, 0, sizeof(*d));
    /* RFC 5321 4.5.1: <Postmaster> without a domain is always accepted. */
    if (rcpt->flags & SMTP_ADDR_FLAG_POSTMASTER) {
        d->valid = 1;
        return 0;
    }
    local = !(rcpt->flags & SMTP_ADDR_FLAG_LITERAL)
        && smtpd_policy_local_domain(policy, rcpt->domain_lc);
    if (local && (policy->relay_client || !smtpd_policy_routing_tricks(rcpt))) {
        /* RFC 5321 4.5.1: postmaster at every local domain is valid,
         * listed or not. */
        if (policy->local_recipients
            && strcasecmp(rcpt->local, "postmaster") != 0
            && !addr_list_match(policy->local_recipients, rcpt->addr)) {
            d->code = 550;
            d->status = "5.1.1";
            snprintf(d->text, sizeof(d->text),
                     "<%s>: Recipient address rejected: User unknown",
                     rcpt->mailbox);
            d->rule = "local_recipients";
            return -1;
        }
        d->valid = 1;
        return 0;
    }
    if (policy->relay_client)
        return 0;
    d->code = 554;
    d->status = "5.7.1";
    snprintf(d->text, sizeof(d->text), "<%s>: Relay access denied",
             rcpt->mailbox);
    d->rule = "relay_access";
    return -1;
}
