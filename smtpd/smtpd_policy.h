/* smtpd's policy layer: every decision of a session about a client goes
 * through one of the smtpd_policy_*() functions, which take the facts of
 * the session and the configuration and return a decision.  They touch
 * no socket, no file and no clock, so that unit tests drive them as pure
 * functions; the session applies a decision and smtpd_log_reject() logs
 * it.  A rule that needs a new fact adds a field to SMTPD_FACTS, not a
 * socket call in here. */
#ifndef ALLIGATE_SMTPD_POLICY_H
#define ALLIGATE_SMTPD_POLICY_H

#include "smtp_addr.h"

struct ADDR_LIST;

/* The configuration the decisions read, taken from main.cf once per
 * session (smtpd_policy_config() in smtpd_state.c) or built by a test. */
typedef struct SMTPD_POLICY {
    const char *myhostname;
    char *const *local_domains;         /* lower-case, NULL-terminated */
    const struct ADDR_LIST *local_recipients;   /* NULL: all valid */
    int     deny_invalid_helo;
    int     deny_null_sender;
    const unsigned char *mail_from_chars;   /* 256 entries; NULL: any */
    long long message_size_limit;       /* 0: none */
    long long max_invalid_recipients;   /* 0: off */
    long long max_valid_recipients;     /* 0: off */
    long long max_valid_recipients_min_invalid;
    long long sender_rate_limit;        /* 0: off */
    long long sender_rate_window;       /* ms */
    long long tarpit_penalty_time;      /* ms over the limit after a
                                         * recipient rule */
    long long connection_count_limit;   /* 0: off */
    int     tarpit;                     /* tarpit the rule breakers */
    long long tarpit_disconnect_limit;  /* 0: off */
    int     submission_killlist;
    int     rate_limit_exclude_authenticated;
    int     require_auth_for_outgoing;  /* relaying and local senders
                                         * need AUTH */
    long long dnsbl_threshold;          /* a score this high is listed */
    long long dnsbl_allowlist_threshold;    /* <= 0; 0: off */
    int     dnsbl_action;               /* SMTPD_DNSBL_* */
    int     dnsbl_at_connect;           /* refuse at connect, not RCPT */
    const char *reject_text;
    int     bogus_550;
    unsigned (*random) (void);          /* picks a bogus text */
} SMTPD_POLICY;

/* What the session knows of the client; the list memberships are looked
 * up once, at connect. */
typedef struct SMTPD_FACTS {
    const char *addr;                   /* numeric client address */
    int     submission;                 /* the AUTH ONLY port
                                         * (submission): no spam checks */
    int     whitelisted;                /* exempt from the anti-spam rules */
    int     killlisted;
    int     relay_client;               /* relay_networks */
    int     limit_exempt;               /* smtpd_client_event_limit_exceptions */
    int     authenticated;              /* AUTH succeeded: may relay */
    int     dnsbl_scored;               /* dnscache gave a blocklist score */
    long    dnsbl_score;
    const char *dnsbl_sites;            /* the sites that listed it, a,b */
    const char *helo;                   /* NULL before HELO/EHLO */
    const char *sender;                 /* MAIL FROM address, NULL before */
    long    rcpt_valid;                 /* in this transaction */
    long    rcpt_invalid;               /* in this session */
    long    overlimit;                  /* ratekeeper's overlimit and */
    long    tarpit_disconnects;         /* tarpit_disconnect counts of the
                                         * address at connect; <= 0: none
                                         * or not known */
} SMTPD_FACTS;

/* dnsbl_action, in conf_params.def's order. */
#define SMTPD_DNSBL_REJECT  0
#define SMTPD_DNSBL_TARPIT  1
#define SMTPD_DNSBL_IGNORE  2

/* SMTPD_DECISION.action */
#define SMTPD_POLICY_ACCEPT 0
#define SMTPD_POLICY_REJECT 1           /* reply, the session goes on */
#define SMTPD_POLICY_CLOSE  2           /* reply, then close the session */
#define SMTPD_POLICY_TARPIT 3           /* hand the client to the tarpit */

/* SMTPD_DECISION.flags */
#define SMTPD_POLICY_FLAG_OVERLIMIT (1 << 0)    /* record the client as
                                                 * over a limit */
#define SMTPD_POLICY_FLAG_DROP_TXN  (1 << 1)    /* the transaction is
                                                 * refused as a whole */
#define SMTPD_POLICY_FLAG_INVALID   (1 << 2)    /* RCPT: an invalid
                                                 * recipient, to count */

typedef struct SMTPD_DECISION {
    int     action;                     /* SMTPD_POLICY_* */
    int     code;                       /* 0 when accepted */
    const char *status;                 /* enhanced status code */
    char    text[600];                  /* reply text after the status */
    const char *rule;                   /* for the log: rule=NAME */
    int     flags;                      /* SMTPD_POLICY_FLAG_* */
    int     valid;                      /* RCPT: a valid local recipient */
    long long penalty_ms;               /* FLAG_OVERLIMIT: for how long */
    char    detail[600];                /* for the log, after rule= */
} SMTPD_DECISION;

/* Every function returns 0 when the command may go on (d->action is
 * SMTPD_POLICY_ACCEPT), else -1 with the refusal in d. */

/* At connect: the killlist, and the connection count that ratekeeper
 * gave (count < 0 when it did not answer). */
int     smtpd_policy_connect(const SMTPD_POLICY *policy,
                             const SMTPD_FACTS *facts, SMTPD_DECISION *d);
int     smtpd_policy_conn_count_applies(const SMTPD_POLICY *policy,
                                        const SMTPD_FACTS *facts);
int     smtpd_policy_conn_count(const SMTPD_POLICY *policy,
                                const SMTPD_FACTS *facts, long count,
                                SMTPD_DECISION *d);
/* 1 when the client skips smtpd_greet_wait (relay_networks, whitelist). */
int     smtpd_policy_trusted(const SMTPD_FACTS *facts);

/* The tarpit.  A client that breaks sender_rate_limit,
 * max_invalid_recipients or max_valid_recipients with tarpit = yes gets
 * SMTPD_POLICY_TARPIT from smtpd_policy_rate() and smtpd_policy_rcpt()
 * instead of its refusal; in later sessions, while ratekeeper has it
 * over a limit (facts->overlimit), smtpd_policy_tarpit_helo() tarpits
 * its HELO/EHLO, as it does for a client on the blocklists with
 * dnsbl_action = tarpit.  Whitelisted and allowlisted clients are never
 * tarpitted (relay_networks clients are, like anyone); authenticated
 * sessions only with rate_limit_exclude_authenticated = no. */
/* 1 when this client may be tarpitted at this point of its session. */
int     smtpd_policy_tarpit_applies(const SMTPD_POLICY *policy,
                                    const SMTPD_FACTS *facts);
/* 1 when the session needs facts->overlimit and tarpit_disconnects
 * from ratekeeper at connect. */
int     smtpd_policy_tarpit_facts_wanted(const SMTPD_POLICY *policy,
                                         const SMTPD_FACTS *facts);
/* At connect: tarpit_disconnect_limit against facts->tarpit_disconnects;
 * the refusal closes at once. */
int     smtpd_policy_tarpit_disconnects(const SMTPD_POLICY *policy,
                                        const SMTPD_FACTS *facts,
                                        SMTPD_DECISION *d);
/* At HELO/EHLO, before the name is looked at: a client over a limit
 * (rule=overlimit) or listed with dnsbl_action = tarpit (rule=dnsbl). */
int     smtpd_policy_tarpit_helo(const SMTPD_POLICY *policy,
                                 const SMTPD_FACTS *facts, SMTPD_DECISION *d);

/* HELO/EHLO name (deny_invalid_helo); name may be empty. */
int     smtpd_policy_helo(const SMTPD_POLICY *policy, const SMTPD_FACTS *facts,
                          const char *name, SMTPD_DECISION *d);

/* MAIL FROM: size, require_auth_for_outgoing's local senders,
 * deny_null_sender, mail_from_chars. */
int     smtpd_policy_mail(const SMTPD_POLICY *policy, const SMTPD_FACTS *facts,
                          const SMTP_PATH *sender, SMTPD_DECISION *d);
/* 1 when sender_rate_limit counts this session's messages. */
int     smtpd_policy_rate_applies(const SMTPD_POLICY *policy,
                                  const SMTPD_FACTS *facts);
/* The count ratekeeper gave for this message, against sender_rate_limit. */
int     smtpd_policy_rate(const SMTPD_POLICY *policy, const SMTPD_FACTS *facts,
                          long count, SMTPD_DECISION *d);

/* RCPT TO: relay control, local_recipients, then the recipient counts
 * (facts->rcpt_valid and rcpt_invalid before this recipient: valid ones
 * of the message, invalid ones of the session). */
int     smtpd_policy_rcpt(const SMTPD_POLICY *policy, const SMTPD_FACTS *facts,
                          const SMTP_PATH *rcpt, SMTPD_DECISION *d);

/* 1 when the domain is one of local_domains. */
int     smtpd_policy_local_domain(const SMTPD_POLICY *policy,
                                  const char *domain_lc);

/* The DNS blocklists' score: at connect (at_connect) or at RCPT,
 * whichever dnsbl_reject_at names.  A client over dnsbl_threshold is
 * refused, or only logged (d->code 0, d->rule set, return 0) as
 * dnsbl_action says; with dnsbl_action = tarpit it passes connect and
 * smtpd_policy_tarpit_helo() takes it at HELO/EHLO (at RCPT, where it
 * cannot be without having said HELO, it is tarpitted there). */
int     smtpd_policy_dnsbl(const SMTPD_POLICY *policy, const SMTPD_FACTS *facts,
                           int at_connect, SMTPD_DECISION *d);
/* 1 when the score puts the client on an allowlist (dnsbl_allowlist_
 * threshold): it skips the anti-spam rules like a whitelisted one. */
int     smtpd_policy_dnsbl_allowlisted(const SMTPD_POLICY *policy,
                                       const SMTPD_FACTS *facts);

/* The anti-spam refusal "550 5.7.1 reject_text" (or a bogus text) with
 * action and rule: the one shape every rule of the manual refuses with. */
void    smtpd_policy_refuse(const SMTPD_POLICY *policy, SMTPD_DECISION *d,
                            int action, const char *rule);

#endif
