/* The decisions of a session, as pure functions of its facts and the
 * configuration (see smtpd_policy.h).
 *
 * Two kinds of rule live here.  Relay control, size limits and the
 * connection count hold for every client.  The anti-spam rules of the
 * manual (deny_invalid_helo, deny_null_sender, mail_from_chars, the
 * recipient counts, the killlist) spare whitelisted clients and the AUTH
 * ONLY port (submission), where the manual ignores connections for spam
 * checks; the killlist still holds there with submission_killlist = yes.
 * smtps is port 25 under implicit TLS and has port 25's rules.  They all
 * refuse with one reply, "550 5.7.1 reject_text" or a bogus text.
 *
 * Relay control: mail for local_domains is accepted (from anyone, for
 * the users in local_recipients when that is set); mail for anywhere else
 * only from relay clients.  Addresses that try to smuggle a relay through
 * a local domain (user%remote@local, remote!user@local, source routes,
 * "user@remote"@local, address literals) are relay attempts.
 *
 * The tarpit: with tarpit = yes the rules the manual lists above its
 * option (sender_rate_limit and the recipient counts) hand the client to
 * the tarpit instead of refusing it at once, and so does its HELO/EHLO
 * in later sessions while ratekeeper has it over a limit.  Only the
 * whitelist and a dnsbl allowlisting spare a client from the tarpit:
 * relay_networks clients break the rules like anyone (the rate limit
 * counts them) and are tarpitted like anyone: a mail bomber among them
 * is still one.
 * Authenticated sessions are tarpitted only when
 * rate_limit_exclude_authenticated = no.  On the AUTH ONLY port, where a
 * client authenticates before it may send, an excluded one is left alone
 * at HELO/EHLO. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr_list.h"
#include "dnsbl.h"
#include "smtpd_policy.h"
#include "smtpd_reject.h"
#include "vbuf.h"

static int
smtpd_policy_accept(SMTPD_DECISION *d)
{
    memset(d, 0, sizeof(*d));
    return 0;
}

static int
smtpd_policy_reject(SMTPD_DECISION *d, int action, int code,
                    const char *status, const char *rule)
{
    d->action = action;
    d->code = code;
    d->status = status;
    d->rule = rule;
    return -1;
}

void
smtpd_policy_refuse(const SMTPD_POLICY *policy, SMTPD_DECISION *d,
                    int action, const char *rule)
{
    VBUF   *bogus;

    memset(d, 0, sizeof(*d));
    if (policy->bogus_550) {
        unsigned n = policy->random ? policy->random() : 0;

        bogus = vbuf_create(64);
        /* Never the text of the rule it stands in for. */
        if (policy->reject_text
            && strcmp(smtpd_reject_bogus(n, bogus), policy->reject_text) == 0)
            smtpd_reject_bogus(n + 1, bogus);
        snprintf(d->text, sizeof(d->text), "%s", vbuf_str(bogus));
        vbuf_free(bogus);
    } else {
        snprintf(d->text, sizeof(d->text), "%s",
                 policy->reject_text ? policy->reject_text : "Refused");
    }
    smtpd_policy_reject(d, action, 550, "5.7.1", rule);
}

/* lib/dnsbl's verdict: a client no site listed is neither listed nor
 * allowlisted, whatever the thresholds. */
static DNSBL_VERDICT
smtpd_policy_dnsbl_verdict(const SMTPD_POLICY *policy, const SMTPD_FACTS *facts)
{
    if (!facts->dnsbl_scored)
        return DNSBL_NEUTRAL;
    return dnsbl_verdict((int) facts->dnsbl_score,
                         facts->dnsbl_sites && *facts->dnsbl_sites,
                         policy->dnsbl_threshold, policy->dnsbl_allowlist_threshold);
}

int
smtpd_policy_dnsbl_allowlisted(const SMTPD_POLICY *policy, const SMTPD_FACTS *facts)
{
    return smtpd_policy_dnsbl_verdict(policy, facts) == DNSBL_ALLOWLISTED;
}

/* The anti-spam rules pass over whitelisted clients, the AUTH ONLY port,
 * and authenticated sessions unless rate_limit_exclude_authenticated =
 * no puts those under the rules (and the tarpit) again. */
static int
smtpd_policy_spam_exempt(const SMTPD_POLICY *policy, const SMTPD_FACTS *facts)
{
    return facts->whitelisted || facts->submission
        || (facts->authenticated && policy->rate_limit_exclude_authenticated)
        || smtpd_policy_dnsbl_allowlisted(policy, facts);
}

/* May relay: authenticated, or in relay_networks unless
 * require_auth_for_outgoing wants AUTH from them too. */
static int
smtpd_policy_may_relay(const SMTPD_POLICY *policy, const SMTPD_FACTS *facts)
{
    return facts->authenticated
        || (facts->relay_client && !policy->require_auth_for_outgoing);
}

int
smtpd_policy_trusted(const SMTPD_FACTS *facts)
{
    return facts->relay_client || facts->whitelisted;
}

int
smtpd_policy_tarpit_applies(const SMTPD_POLICY *policy,
                            const SMTPD_FACTS *facts)
{
    /* Not smtpd_policy_trusted(): relay_networks only skip the greeting
     * pause. */
    if (facts->whitelisted || smtpd_policy_dnsbl_allowlisted(policy, facts))
        return 0;
    if (facts->authenticated || facts->submission)
        return !policy->rate_limit_exclude_authenticated;
    return 1;
}

/* What a rule that the tarpit follows does with its refusal. */
static int
smtpd_policy_tarpit_or(const SMTPD_POLICY *policy, const SMTPD_FACTS *facts,
                       int action)
{
    return policy->tarpit && smtpd_policy_tarpit_applies(policy, facts)
        ? SMTPD_POLICY_TARPIT : action;
}

int
smtpd_policy_tarpit_facts_wanted(const SMTPD_POLICY *policy,
                                 const SMTPD_FACTS *facts)
{
    return (policy->tarpit || policy->tarpit_disconnect_limit > 0)
        && smtpd_policy_tarpit_applies(policy, facts);
}

int
smtpd_policy_tarpit_disconnects(const SMTPD_POLICY *policy,
                                const SMTPD_FACTS *facts, SMTPD_DECISION *d)
{
    smtpd_policy_accept(d);
    /* Only where the tarpit would take the client before it could
     * authenticate: a client it would not hold has nothing to run away
     * from. */
    if (policy->tarpit_disconnect_limit <= 0
        || facts->tarpit_disconnects < policy->tarpit_disconnect_limit
        || !smtpd_policy_tarpit_applies(policy, facts))
        return 0;
    smtpd_policy_refuse(policy, d, SMTPD_POLICY_CLOSE,
                        "tarpit_disconnect_limit");
    snprintf(d->detail, sizeof(d->detail), "tarpit_disconnects=%ld",
             facts->tarpit_disconnects);
    return -1;
}

/* Listed on the blocklists, and not exempt from them. */
static int
smtpd_policy_dnsbl_listed(const SMTPD_POLICY *policy, const SMTPD_FACTS *facts)
{
    return smtpd_policy_dnsbl_verdict(policy, facts) == DNSBL_LISTED
        && !smtpd_policy_spam_exempt(policy, facts)
        && !facts->relay_client && !facts->authenticated;
}

static void
smtpd_policy_dnsbl_detail(const SMTPD_FACTS *facts, SMTPD_DECISION *d)
{
    snprintf(d->detail, sizeof(d->detail), "score=%ld sites=%s",
             facts->dnsbl_score, facts->dnsbl_sites ? facts->dnsbl_sites : "");
}

int
smtpd_policy_tarpit_helo(const SMTPD_POLICY *policy, const SMTPD_FACTS *facts,
                         SMTPD_DECISION *d)
{
    smtpd_policy_accept(d);
    if (policy->dnsbl_action == SMTPD_DNSBL_TARPIT
        && smtpd_policy_dnsbl_listed(policy, facts)) {
        smtpd_policy_refuse(policy, d, SMTPD_POLICY_TARPIT, "dnsbl");
        smtpd_policy_dnsbl_detail(facts, d);
        return -1;
    }
    /* The count is of the penalties still running, not of messages. */
    if (policy->tarpit && facts->overlimit > 0
        && smtpd_policy_tarpit_applies(policy, facts)) {
        smtpd_policy_refuse(policy, d, SMTPD_POLICY_TARPIT, "overlimit");
        snprintf(d->detail, sizeof(d->detail), "overlimit=%ld",
                 facts->overlimit);
        return -1;
    }
    return 0;
}

int
smtpd_policy_connect(const SMTPD_POLICY *policy, const SMTPD_FACTS *facts,
                     SMTPD_DECISION *d)
{
    smtpd_policy_accept(d);
    if (!facts->killlisted || facts->whitelisted
        || (facts->submission && !policy->submission_killlist))
        return 0;
    smtpd_policy_refuse(policy, d, SMTPD_POLICY_CLOSE, "killlist");
    /* The manual's KillList answers the connection, not a command. */
    d->code = 554;
    return -1;
}

int
smtpd_policy_conn_count_applies(const SMTPD_POLICY *policy,
                                const SMTPD_FACTS *facts)
{
    /* Postfix's smtpd_client_event_limit_exceptions; whitelisted clients
     * are trusted as much. */
    return policy->connection_count_limit > 0 && !facts->limit_exempt
        && !facts->whitelisted;
}

int
smtpd_policy_conn_count(const SMTPD_POLICY *policy, const SMTPD_FACTS *facts,
                        long count, SMTPD_DECISION *d)
{
    smtpd_policy_accept(d);
    if (!smtpd_policy_conn_count_applies(policy, facts) || count < 0
        || count <= policy->connection_count_limit)
        return 0;
    snprintf(d->text, sizeof(d->text), "%s Error: too many connections from %s",
             policy->myhostname ? policy->myhostname : "", facts->addr);
    return smtpd_policy_reject(d, SMTPD_POLICY_CLOSE, 421, "4.7.0",
                               "smtpd_client_connection_count_limit");
}

int
smtpd_policy_helo(const SMTPD_POLICY *policy, const SMTPD_FACTS *facts,
                  const char *name, SMTPD_DECISION *d)
{
    smtpd_policy_accept(d);
    if (!policy->deny_invalid_helo || smtpd_policy_spam_exempt(policy, facts)
        || smtp_addr_valid_helo(name))
        return 0;
    smtpd_policy_refuse(policy, d, SMTPD_POLICY_CLOSE, "deny_invalid_helo");
    return -1;
}

int
smtpd_policy_mail(const SMTPD_POLICY *policy, const SMTPD_FACTS *facts,
                  const SMTP_PATH *sender, SMTPD_DECISION *d)
{
    const unsigned char *cp;

    smtpd_policy_accept(d);
    if (policy->message_size_limit > 0
        && (sender->params & SMTP_ADDR_PARAM_SIZE)
        && sender->size > (uint64_t) policy->message_size_limit) {
        snprintf(d->text, sizeof(d->text), "Message size exceeds fixed limit");
        return smtpd_policy_reject(d, SMTPD_POLICY_REJECT, 552, "5.3.4",
                                   "message_size_limit");
    }
    /* The manual's anti-spoofing: a local domain in MAIL FROM is for
     * those who authenticated. */
    if (policy->require_auth_for_outgoing && !facts->authenticated
        && !(sender->flags & SMTP_ADDR_FLAG_NULL)
        && smtpd_policy_local_domain(policy, sender->domain_lc)) {
        smtpd_policy_refuse(policy, d, SMTPD_POLICY_REJECT,
                            "require_auth_for_outgoing");
        return -1;
    }
    if (smtpd_policy_spam_exempt(policy, facts))
        return 0;
    if (sender->flags & SMTP_ADDR_FLAG_NULL) {
        if (!policy->deny_null_sender)
            return 0;
        smtpd_policy_refuse(policy, d, SMTPD_POLICY_CLOSE, "deny_null_sender");
        return -1;
    }
    if (policy->mail_from_chars == NULL)
        return 0;
    for (cp = (const unsigned char *) sender->addr; *cp; cp++) {
        if (!policy->mail_from_chars[*cp]) {
            smtpd_policy_refuse(policy, d, SMTPD_POLICY_REJECT,
                                "mail_from_chars");
            return -1;
        }
    }
    return 0;
}

int
smtpd_policy_rate_applies(const SMTPD_POLICY *policy, const SMTPD_FACTS *facts)
{
    /* An abuse limit rather than a spam check: it holds on every port,
     * and for authenticated sessions unless they are excluded. */
    return policy->sender_rate_limit > 0 && !facts->whitelisted
        && !(facts->authenticated && policy->rate_limit_exclude_authenticated);
}

int
smtpd_policy_rate(const SMTPD_POLICY *policy, const SMTPD_FACTS *facts,
                  long count, SMTPD_DECISION *d)
{
    smtpd_policy_accept(d);
    if (!smtpd_policy_rate_applies(policy, facts) || count < 0
        || count <= policy->sender_rate_limit)
        return 0;
    smtpd_policy_refuse(policy, d,
                        smtpd_policy_tarpit_or(policy, facts,
                                               SMTPD_POLICY_REJECT),
                        "sender_rate_limit");
    d->flags |= SMTPD_POLICY_FLAG_OVERLIMIT;
    d->penalty_ms = policy->sender_rate_window;
    return -1;
}

int
smtpd_policy_local_domain(const SMTPD_POLICY *policy, const char *domain_lc)
{
    char   *const *cpp;

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

/* Relay control and local_recipients alone. */
static int
smtpd_policy_relay(const SMTPD_POLICY *policy, const SMTPD_FACTS *facts,
                   const SMTP_PATH *rcpt, SMTPD_DECISION *d)
{
    int     local;

    smtpd_policy_accept(d);
    /* RFC 5321 4.5.1: <Postmaster> without a domain is always accepted. */
    if (rcpt->flags & SMTP_ADDR_FLAG_POSTMASTER) {
        d->valid = 1;
        return 0;
    }
    local = !(rcpt->flags & SMTP_ADDR_FLAG_LITERAL)
        && smtpd_policy_local_domain(policy, rcpt->domain_lc);
    if (local && (facts->relay_client || facts->authenticated
                  || !smtpd_policy_routing_tricks(rcpt))) {
        /* RFC 5321 4.5.1: postmaster at every local domain is valid,
         * listed or not. */
        if (policy->local_recipients
            && strcasecmp(rcpt->local, "postmaster") != 0
            && !addr_list_match(policy->local_recipients, rcpt->addr)) {
            snprintf(d->text, sizeof(d->text),
                     "<%s>: Recipient address rejected: User unknown",
                     rcpt->mailbox);
            d->flags |= SMTPD_POLICY_FLAG_INVALID;
            return smtpd_policy_reject(d, SMTPD_POLICY_REJECT, 550, "5.1.1",
                                       "local_recipients");
        }
        d->valid = 1;
        return 0;
    }
    if (smtpd_policy_may_relay(policy, facts))
        return 0;
    snprintf(d->text, sizeof(d->text), "<%s>: Relay access denied",
             rcpt->mailbox);
    d->flags |= SMTPD_POLICY_FLAG_INVALID;
    return smtpd_policy_reject(d, SMTPD_POLICY_REJECT, 554, "5.7.1",
                               "relay_access");
}

int
smtpd_policy_rcpt(const SMTPD_POLICY *policy, const SMTPD_FACTS *facts,
                  const SMTP_PATH *rcpt, SMTPD_DECISION *d)
{
    long    valid = facts->rcpt_valid;
    long    invalid = facts->rcpt_invalid;
    long long max_valid = policy->max_valid_recipients;
    long long min_invalid = policy->max_valid_recipients_min_invalid;
    int     status;

    status = smtpd_policy_relay(policy, facts, rcpt, d);
    if (status < 0)
        invalid++;
    else
        valid++;
    if (smtpd_policy_spam_exempt(policy, facts))
        return status;
    if (status < 0 && policy->max_invalid_recipients > 0
        && invalid >= policy->max_invalid_recipients) {
        smtpd_policy_refuse(policy, d,
                            smtpd_policy_tarpit_or(policy, facts,
                                                   SMTPD_POLICY_CLOSE),
                            "max_invalid_recipients");
        d->flags |= SMTPD_POLICY_FLAG_OVERLIMIT | SMTPD_POLICY_FLAG_DROP_TXN
            | SMTPD_POLICY_FLAG_INVALID;
        d->penalty_ms = policy->tarpit_penalty_time;
        return -1;
    }
    /* Refused at the recipient that completes the condition, whether it
     * is the x-th valid one or the y-th invalid one; the transaction is
     * refused from then on, so the condition is met only once. */
    if (max_valid > 0 && valid >= max_valid
        && (min_invalid == 0 || invalid >= min_invalid)) {
        smtpd_policy_refuse(policy, d,
                            smtpd_policy_tarpit_or(policy, facts,
                                                   SMTPD_POLICY_REJECT),
                            "max_valid_recipients");
        d->flags |= SMTPD_POLICY_FLAG_OVERLIMIT | SMTPD_POLICY_FLAG_DROP_TXN
            | (status < 0 ? SMTPD_POLICY_FLAG_INVALID : 0);
        d->penalty_ms = policy->tarpit_penalty_time;
        return -1;
    }
    return status;
}

int
smtpd_policy_dnsbl(const SMTPD_POLICY *policy, const SMTPD_FACTS *facts,
                   int at_connect, SMTPD_DECISION *d)
{
    smtpd_policy_accept(d);
    if (!smtpd_policy_dnsbl_listed(policy, facts))
        return 0;
    switch (policy->dnsbl_action) {
    case SMTPD_DNSBL_IGNORE:
        /* Logged by the caller, nothing more. */
        d->rule = "dnsbl";
        smtpd_policy_dnsbl_detail(facts, d);
        return 0;
    case SMTPD_DNSBL_TARPIT:
        /* The banner first: the tarpit answers the HELO/EHLO. */
        if (at_connect)
            return 0;
        smtpd_policy_refuse(policy, d, SMTPD_POLICY_TARPIT, "dnsbl");
        break;
    default:
        if (at_connect != policy->dnsbl_at_connect)
            return 0;
        smtpd_policy_refuse(policy, d, at_connect ? SMTPD_POLICY_CLOSE
                            : SMTPD_POLICY_REJECT, "dnsbl");
        break;
    }
    smtpd_policy_dnsbl_detail(facts, d);
    return -1;
}
