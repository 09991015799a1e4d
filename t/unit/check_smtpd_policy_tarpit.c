/* Unit tests for the tarpit's decisions in smtpd's policy layer
 * (smtpd/smtpd_policy.c), as pure functions: which refusals become
 * SMTPD_POLICY_TARPIT with tarpit = yes, who is over a limit at HELO/EHLO
 * in a later session, dnsbl_action = tarpit, tarpit_disconnect_limit at
 * connect, and who is never tarpitted (the whitelist, the dnsbl
 * allowlist, authenticated sessions and the AUTH ONLY port with
 * rate_limit_exclude_authenticated = yes) while relay_networks clients
 * are, like anyone. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_addr.h"
#include "smtpd/smtpd_policy.h"

static char *const domains[] = {"example.com", NULL};

static SMTPD_POLICY policy;
static SMTPD_FACTS facts;

static unsigned
fixed_random(void)
{
    return 3;
}

/* tarpit = yes with its defaults, an Internet client on port 25 that
 * ratekeeper has no count of. */
static void
setup(void)
{
    memset(&policy, 0, sizeof(policy));
    policy.myhostname = "mx.example.com";
    policy.local_domains = domains;
    policy.reject_text = "Refused";
    policy.random = fixed_random;
    policy.sender_rate_window = 600000;
    policy.tarpit_penalty_time = 60000;
    policy.tarpit = 1;
    policy.rate_limit_exclude_authenticated = 1;
    memset(&facts, 0, sizeof(facts));
    facts.addr = "192.0.2.1";
    facts.overlimit = -1;
    facts.tarpit_disconnects = -1;
}

static void
assert_refusal(const SMTPD_DECISION *d, int action, const char *rule)
{
    ck_assert_int_eq(d->code, 550);
    ck_assert_str_eq(d->status, "5.7.1");
    ck_assert_str_eq(d->text, "Refused");
    ck_assert_str_eq(d->rule, rule);
    ck_assert_int_eq(d->action, action);
}

static void
assert_accepted(int status, const SMTPD_DECISION *d)
{
    ck_assert_int_eq(status, 0);
    ck_assert_int_eq(d->action, SMTPD_POLICY_ACCEPT);
    ck_assert_int_eq(d->code, 0);
}

static int
rcpt(const char *addr, SMTPD_DECISION *d)
{
    SMTP_PATH path;
    SMTP_ADDR_ERR err;
    char    arg[300];
    int     status;

    snprintf(arg, sizeof(arg), "TO:<%s>", addr);
    ck_assert(smtp_addr_parse_rcpt(arg, 0, &path, &err) == 0);
    status = smtpd_policy_rcpt(&policy, &facts, &path, d);
    if (status == 0)
        facts.rcpt_valid++;
    else if (d->flags & SMTPD_POLICY_FLAG_INVALID)
        facts.rcpt_invalid++;
    return status;
}

static int
helo(SMTPD_DECISION *d)
{
    return smtpd_policy_tarpit_helo(&policy, &facts, d);
}

/* The rule-breaking session ------------------------------------------ */

START_TEST(test_rate_tarpitted)
{
    SMTPD_DECISION d;

    policy.sender_rate_limit = 2;
    ck_assert_int_eq(smtpd_policy_rate(&policy, &facts, 2, &d), 0);
    ck_assert_int_eq(smtpd_policy_rate(&policy, &facts, 3, &d), -1);
    assert_refusal(&d, SMTPD_POLICY_TARPIT, "sender_rate_limit");
    /* Still recorded as over the limit, for its window. */
    ck_assert(d.flags & SMTPD_POLICY_FLAG_OVERLIMIT);
    ck_assert_int_eq(d.penalty_ms, 600000);
    /* tarpit = no: the refusal of old, and the session goes on. */
    policy.tarpit = 0;
    ck_assert_int_eq(smtpd_policy_rate(&policy, &facts, 3, &d), -1);
    assert_refusal(&d, SMTPD_POLICY_REJECT, "sender_rate_limit");
    ck_assert(d.flags & SMTPD_POLICY_FLAG_OVERLIMIT);
}
END_TEST

START_TEST(test_max_invalid_tarpitted)
{
    SMTPD_DECISION d;

    policy.max_invalid_recipients = 2;
    ck_assert_int_eq(rcpt("a@example.org", &d), -1);
    ck_assert_str_eq(d.rule, "relay_access");
    ck_assert_int_eq(d.action, SMTPD_POLICY_REJECT);
    ck_assert_int_eq(rcpt("b@example.org", &d), -1);
    assert_refusal(&d, SMTPD_POLICY_TARPIT, "max_invalid_recipients");
    ck_assert(d.flags & SMTPD_POLICY_FLAG_OVERLIMIT);
    ck_assert(d.flags & SMTPD_POLICY_FLAG_DROP_TXN);
    ck_assert_int_eq(d.penalty_ms, 60000);
    policy.tarpit = 0;
    facts.rcpt_invalid = 1;
    ck_assert_int_eq(rcpt("c@example.org", &d), -1);
    assert_refusal(&d, SMTPD_POLICY_CLOSE, "max_invalid_recipients");
}
END_TEST

START_TEST(test_max_valid_tarpitted)
{
    SMTPD_DECISION d;

    policy.max_valid_recipients = 2;
    ck_assert_int_eq(rcpt("a@example.com", &d), 0);
    ck_assert_int_eq(rcpt("b@example.com", &d), -1);
    assert_refusal(&d, SMTPD_POLICY_TARPIT, "max_valid_recipients");
    ck_assert(d.flags & SMTPD_POLICY_FLAG_OVERLIMIT);
    ck_assert_int_eq(d.penalty_ms, 60000);
}
END_TEST

/* relay_networks clients break the rate limit and the recipient counts
 * like anyone, and are tarpitted like anyone (issue 14: the third
 * message from localhost waits tarpit_delay); whitelisted ones break
 * nothing; allowlisted ones are refused, never tarpitted. */
START_TEST(test_relay_networks_tarpitted)
{
    SMTPD_DECISION d;

    policy.sender_rate_limit = 2;
    policy.max_invalid_recipients = 1;
    facts.relay_client = 1;
    ck_assert_int_eq(smtpd_policy_tarpit_applies(&policy, &facts), 1);
    ck_assert_int_eq(smtpd_policy_rate(&policy, &facts, 3, &d), -1);
    assert_refusal(&d, SMTPD_POLICY_TARPIT, "sender_rate_limit");
    ck_assert(d.flags & SMTPD_POLICY_FLAG_OVERLIMIT);
    /* It may relay; with require_auth_for_outgoing it may not, and its
     * relay attempt is an invalid recipient, tarpitted too. */
    ck_assert_int_eq(rcpt("a@elsewhere.example", &d), 0);
    policy.require_auth_for_outgoing = 1;
    ck_assert_int_eq(rcpt("a@elsewhere.example", &d), -1);
    assert_refusal(&d, SMTPD_POLICY_TARPIT, "max_invalid_recipients");
}
END_TEST

START_TEST(test_breakers_never_tarpitted)
{
    SMTPD_DECISION d;

    policy.sender_rate_limit = 2;
    facts.whitelisted = 1;
    ck_assert_int_eq(smtpd_policy_rate(&policy, &facts, 3, &d), 0);
    facts.whitelisted = 0;
    /* An allowlisted client: refused for the rate, not tarpitted. */
    policy.dnsbl_allowlist_threshold = -1;
    facts.dnsbl_scored = 1;
    facts.dnsbl_score = -2;
    facts.dnsbl_sites = "wl.example";
    ck_assert_int_eq(smtpd_policy_rate(&policy, &facts, 3, &d), -1);
    assert_refusal(&d, SMTPD_POLICY_REJECT, "sender_rate_limit");
}
END_TEST

/* Authenticated sessions: with rate_limit_exclude_authenticated = yes
 * the rate does not count them at all; with no they are tarpitted like
 * anyone, on every port. */
START_TEST(test_authenticated)
{
    SMTPD_DECISION d;

    policy.sender_rate_limit = 2;
    facts.authenticated = 1;
    ck_assert_int_eq(smtpd_policy_rate(&policy, &facts, 3, &d), 0);
    ck_assert_int_eq(smtpd_policy_tarpit_applies(&policy, &facts), 0);
    ck_assert_int_eq(rcpt("a@example.org", &d), 0);
    policy.rate_limit_exclude_authenticated = 0;
    ck_assert_int_eq(smtpd_policy_tarpit_applies(&policy, &facts), 1);
    ck_assert_int_eq(smtpd_policy_rate(&policy, &facts, 3, &d), -1);
    assert_refusal(&d, SMTPD_POLICY_TARPIT, "sender_rate_limit");
    facts.submission = 1;
    ck_assert_int_eq(smtpd_policy_rate(&policy, &facts, 3, &d), -1);
    assert_refusal(&d, SMTPD_POLICY_TARPIT, "sender_rate_limit");
    /* Whitelisted and authenticated: never. */
    facts.whitelisted = 1;
    ck_assert_int_eq(smtpd_policy_tarpit_applies(&policy, &facts), 0);
    ck_assert_int_eq(smtpd_policy_rate(&policy, &facts, 3, &d), 0);
}
END_TEST

/* Later sessions: HELO/EHLO ---------------------------------------------- */

START_TEST(test_overlimit_helo)
{
    SMTPD_DECISION d;

    /* Not known (ratekeeper did not answer), or not over. */
    assert_accepted(helo(&d), &d);
    facts.overlimit = 0;
    assert_accepted(helo(&d), &d);
    facts.overlimit = 2;
    ck_assert_int_eq(helo(&d), -1);
    assert_refusal(&d, SMTPD_POLICY_TARPIT, "overlimit");
    ck_assert_str_eq(d.detail, "overlimit=2");
    ck_assert_int_eq(d.flags, 0);       /* the penalty is not prolonged */
    policy.tarpit = 0;
    assert_accepted(helo(&d), &d);
}
END_TEST

START_TEST(test_overlimit_helo_trusted)
{
    SMTPD_DECISION d;

    facts.overlimit = 1;
    facts.whitelisted = 1;
    assert_accepted(helo(&d), &d);
    facts.whitelisted = 1;
    facts.relay_client = 1;
    assert_accepted(helo(&d), &d);
    facts.whitelisted = 0;
    /* relay_networks alone: held like anyone over a limit. */
    ck_assert_int_eq(helo(&d), -1);
    assert_refusal(&d, SMTPD_POLICY_TARPIT, "overlimit");
    facts.relay_client = 0;
    policy.dnsbl_allowlist_threshold = -1;
    facts.dnsbl_scored = 1;
    facts.dnsbl_score = -1;
    facts.dnsbl_sites = "wl.example";
    assert_accepted(helo(&d), &d);
    facts.dnsbl_score = 0;
    facts.dnsbl_sites = "";
    ck_assert_int_eq(helo(&d), -1);
}
END_TEST

/* At HELO/EHLO nobody has authenticated.  On port 25 the client is
 * tarpitted whatever rate_limit_exclude_authenticated says; on the AUTH
 * ONLY ports it is left to authenticate when that is yes. */
START_TEST(test_overlimit_helo_ports)
{
    SMTPD_DECISION d;

    facts.overlimit = 1;
    policy.rate_limit_exclude_authenticated = 1;
    ck_assert_int_eq(helo(&d), -1);
    ck_assert_int_eq(d.action, SMTPD_POLICY_TARPIT);
    facts.submission = 1;
    assert_accepted(helo(&d), &d);
    policy.rate_limit_exclude_authenticated = 0;
    ck_assert_int_eq(helo(&d), -1);
    assert_refusal(&d, SMTPD_POLICY_TARPIT, "overlimit");
}
END_TEST

START_TEST(test_bogus_text)
{
    SMTPD_DECISION d;

    policy.bogus_550 = 1;
    facts.overlimit = 1;
    ck_assert_int_eq(helo(&d), -1);
    ck_assert_int_eq(d.code, 550);
    ck_assert_int_eq(d.action, SMTPD_POLICY_TARPIT);
    ck_assert_str_ne(d.text, "Refused");
    ck_assert_int_gt(strlen(d.text), 0);
}
END_TEST

/* dnsbl_action = tarpit ------------------------------------------------ */

START_TEST(test_dnsbl_tarpit)
{
    SMTPD_DECISION d;

    policy.dnsbl_threshold = 2;
    policy.dnsbl_action = SMTPD_DNSBL_TARPIT;
    policy.tarpit = 0;                  /* dnsbl_action is its own switch */
    facts.dnsbl_scored = 1;
    facts.dnsbl_score = 1;
    facts.dnsbl_sites = "bl.example";
    ck_assert_int_eq(smtpd_policy_dnsbl(&policy, &facts, 1, &d), 0);
    assert_accepted(helo(&d), &d);
    facts.dnsbl_score = 3;
    facts.dnsbl_sites = "bl.example,zen.example";
    /* The banner: the connection is not refused. */
    assert_accepted(smtpd_policy_dnsbl(&policy, &facts, 1, &d), &d);
    ck_assert_ptr_null(d.rule);
    policy.dnsbl_at_connect = 1;
    assert_accepted(smtpd_policy_dnsbl(&policy, &facts, 1, &d), &d);
    /* Its HELO/EHLO goes to the tarpit. */
    ck_assert_int_eq(helo(&d), -1);
    assert_refusal(&d, SMTPD_POLICY_TARPIT, "dnsbl");
    ck_assert_str_eq(d.detail, "score=3 sites=bl.example,zen.example");
    /* At RCPT, had it got there. */
    ck_assert_int_eq(smtpd_policy_dnsbl(&policy, &facts, 0, &d), -1);
    assert_refusal(&d, SMTPD_POLICY_TARPIT, "dnsbl");
    /* Over a limit as well: one tarpit, for the blocklist. */
    policy.tarpit = 1;
    facts.overlimit = 1;
    ck_assert_int_eq(helo(&d), -1);
    ck_assert_str_eq(d.rule, "dnsbl");
}
END_TEST

START_TEST(test_dnsbl_tarpit_exempt)
{
    SMTPD_DECISION d;

    policy.dnsbl_threshold = 1;
    policy.dnsbl_action = SMTPD_DNSBL_TARPIT;
    facts.dnsbl_scored = 1;
    facts.dnsbl_score = 5;
    facts.dnsbl_sites = "bl.example";
    facts.whitelisted = 1;
    assert_accepted(helo(&d), &d);
    facts.whitelisted = 0;
    /* relay_networks clients are never scored, so never listed. */
    facts.relay_client = 1;
    assert_accepted(helo(&d), &d);
    facts.relay_client = 0;
    /* The AUTH ONLY port is not checked against the blocklists. */
    facts.submission = 1;
    policy.rate_limit_exclude_authenticated = 0;
    assert_accepted(helo(&d), &d);
    facts.submission = 0;
    ck_assert_int_eq(helo(&d), -1);
    /* reject and ignore do not tarpit. */
    policy.dnsbl_action = SMTPD_DNSBL_REJECT;
    assert_accepted(helo(&d), &d);
    policy.dnsbl_action = SMTPD_DNSBL_IGNORE;
    assert_accepted(helo(&d), &d);
}
END_TEST

/* tarpit_disconnect_limit at connect --------------------------------- */

START_TEST(test_disconnect_limit)
{
    SMTPD_DECISION d;

    facts.tarpit_disconnects = 5;
    assert_accepted(smtpd_policy_tarpit_disconnects(&policy, &facts, &d), &d);
    policy.tarpit_disconnect_limit = 3;
    facts.tarpit_disconnects = -1;      /* not known */
    assert_accepted(smtpd_policy_tarpit_disconnects(&policy, &facts, &d), &d);
    facts.tarpit_disconnects = 2;
    assert_accepted(smtpd_policy_tarpit_disconnects(&policy, &facts, &d), &d);
    facts.tarpit_disconnects = 3;
    ck_assert_int_eq(smtpd_policy_tarpit_disconnects(&policy, &facts, &d), -1);
    /* The banner's place: 550 with reject_text, and close. */
    assert_refusal(&d, SMTPD_POLICY_CLOSE, "tarpit_disconnect_limit");
    ck_assert_str_eq(d.detail, "tarpit_disconnects=3");
    ck_assert_int_eq(d.flags, 0);
    /* Whether or not the tarpit takes rule breakers now. */
    policy.tarpit = 0;
    ck_assert_int_eq(smtpd_policy_tarpit_disconnects(&policy, &facts, &d), -1);
    policy.reject_text = "Go away";
    ck_assert_int_eq(smtpd_policy_tarpit_disconnects(&policy, &facts, &d), -1);
    ck_assert_str_eq(d.text, "Go away");
}
END_TEST

START_TEST(test_disconnect_limit_exempt)
{
    SMTPD_DECISION d;

    policy.tarpit_disconnect_limit = 1;
    facts.tarpit_disconnects = 9;
    facts.whitelisted = 1;
    assert_accepted(smtpd_policy_tarpit_disconnects(&policy, &facts, &d), &d);
    facts.whitelisted = 0;
    /* relay_networks clients are held like anyone, and run away like
     * anyone. */
    facts.relay_client = 1;
    ck_assert_int_eq(smtpd_policy_tarpit_disconnects(&policy, &facts, &d), -1);
    assert_refusal(&d, SMTPD_POLICY_CLOSE, "tarpit_disconnect_limit");
    facts.relay_client = 0;
    /* The AUTH ONLY port, where the tarpit leaves clients to
     * authenticate, lets them in to do so. */
    facts.submission = 1;
    assert_accepted(smtpd_policy_tarpit_disconnects(&policy, &facts, &d), &d);
    policy.rate_limit_exclude_authenticated = 0;
    ck_assert_int_eq(smtpd_policy_tarpit_disconnects(&policy, &facts, &d), -1);
}
END_TEST

/* Whether smtpd needs the counts from ratekeeper's connect reply. */
START_TEST(test_facts_wanted)
{
    ck_assert(smtpd_policy_tarpit_facts_wanted(&policy, &facts));
    policy.tarpit = 0;
    ck_assert(!smtpd_policy_tarpit_facts_wanted(&policy, &facts));
    policy.tarpit_disconnect_limit = 2;
    ck_assert(smtpd_policy_tarpit_facts_wanted(&policy, &facts));
    facts.whitelisted = 1;
    ck_assert(!smtpd_policy_tarpit_facts_wanted(&policy, &facts));
    facts.whitelisted = 0;
    facts.relay_client = 1;
    ck_assert(smtpd_policy_tarpit_facts_wanted(&policy, &facts));
    facts.relay_client = 0;
    facts.submission = 1;
    ck_assert(!smtpd_policy_tarpit_facts_wanted(&policy, &facts));
    policy.rate_limit_exclude_authenticated = 0;
    ck_assert(smtpd_policy_tarpit_facts_wanted(&policy, &facts));
}
END_TEST

static Suite *
smtpd_policy_tarpit_suite(void)
{
    Suite  *s = suite_create("smtpd_policy_tarpit");
    TCase  *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_rate_tarpitted);
    tcase_add_test(tc, test_max_invalid_tarpitted);
    tcase_add_test(tc, test_max_valid_tarpitted);
    tcase_add_test(tc, test_relay_networks_tarpitted);
    tcase_add_test(tc, test_breakers_never_tarpitted);
    tcase_add_test(tc, test_authenticated);
    tcase_add_test(tc, test_overlimit_helo);
    tcase_add_test(tc, test_overlimit_helo_trusted);
    tcase_add_test(tc, test_overlimit_helo_ports);
    tcase_add_test(tc, test_bogus_text);
    tcase_add_test(tc, test_dnsbl_tarpit);
    tcase_add_test(tc, test_dnsbl_tarpit_exempt);
    tcase_add_test(tc, test_disconnect_limit);
    tcase_add_test(tc, test_disconnect_limit_exempt);
    tcase_add_test(tc, test_facts_wanted);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(smtpd_policy_tarpit_suite());
    int     failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
