/* Unit tests for the manual's anti-spam rules in smtpd's policy layer
 * (smtpd/smtpd_policy.c), as pure functions of a configuration and the
 * facts of a session: each rule and its edges, the whitelist and the
 * killlist, the AUTH ONLY port, the limits that ratekeeper counts.
 * Relay control has its own suite (check_smtpd_policy.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_addr.h"
#include "smtpd/smtpd_policy.h"

static char *const domains[] = {"example.com", NULL};
static unsigned char chars[256];        /* a-z 0-9 . @ - */

static SMTPD_POLICY policy;
static SMTPD_FACTS facts;

static unsigned
fixed_random(void)
{
    return 7;
}

/* Every rule off, an Internet client on port 25. */
static void
setup(void)
{
    int     c;

    memset(chars, 0, sizeof(chars));
    for (c = 'a'; c <= 'z'; c++)
        chars[c] = 1;
    for (c = '0'; c <= '9'; c++)
        chars[c] = 1;
    chars['.'] = chars['@'] = chars['-'] = 1;
    memset(&policy, 0, sizeof(policy));
    policy.myhostname = "mx.example.com";
    policy.local_domains = domains;
    policy.reject_text = "Refused";
    policy.random = fixed_random;
    policy.sender_rate_window = 600000;
    policy.tarpit_penalty_time = 60000;
    memset(&facts, 0, sizeof(facts));
    facts.addr = "192.0.2.1";
}

/* Asserts the manual's refusal: 550 5.7.1 reject_text, by rule. */
static void
assert_refused(const SMTPD_DECISION *d, int action, const char *rule)
{
    ck_assert_int_eq(d->code, 550);
    ck_assert_str_eq(d->status, "5.7.1");
    ck_assert_str_eq(d->text, "Refused");
    ck_assert_str_eq(d->rule, rule);
    ck_assert_int_eq(d->action, action);
}

static void
assert_accepted(const SMTPD_DECISION *d)
{
    ck_assert_int_eq(d->action, SMTPD_POLICY_ACCEPT);
    ck_assert_int_eq(d->code, 0);
}

static int
helo(const char *name, SMTPD_DECISION *d)
{
    return smtpd_policy_helo(&policy, &facts, name, d);
}

START_TEST(test_helo_rule_off)
{
    SMTPD_DECISION d;

    ck_assert_int_eq(helo("foo", &d), 0);
    ck_assert_int_eq(helo("", &d), 0);     /* a syntax error, not a rule */
    assert_accepted(&d);
}
END_TEST

START_TEST(test_helo_invalid_refused)
{
    static const char *bad[] = {"", "foo", "localhost", "1.2.3.4", "-a.example.com",
        "a..example.com", "mail_1.example.com", "[300.1.1.1]", "a.b-", NULL};
    static const char *good[] = {"mail.example.org", "mail.example.org.",
        "[192.0.2.1]", "[IPv6:2001:db8::1]", "123.example", NULL};
    SMTPD_DECISION d;
    const char **cpp;

    policy.deny_invalid_helo = 1;
    for (cpp = bad; *cpp; cpp++) {
        ck_assert_msg(helo(*cpp, &d) == -1, "%s accepted", *cpp);
        assert_refused(&d, SMTPD_POLICY_CLOSE, "deny_invalid_helo");
    }
    for (cpp = good; *cpp; cpp++) {
        ck_assert_msg(helo(*cpp, &d) == 0, "%s refused", *cpp);
        assert_accepted(&d);
    }
}
END_TEST

START_TEST(test_helo_exempt)
{
    SMTPD_DECISION d;

    policy.deny_invalid_helo = 1;
    facts.whitelisted = 1;
    ck_assert_int_eq(helo("foo", &d), 0);
    facts.whitelisted = 0;
    facts.submission = 1;
    ck_assert_int_eq(helo("", &d), 0);
    /* relay_networks are not exempt from the anti-spam rules. */
    facts.submission = 0;
    facts.relay_client = 1;
    ck_assert_int_eq(helo("foo", &d), -1);
}
END_TEST

/* MAIL FROM's argument, parsed as smtpd does, then decided. */
static int
mail(const char *arg, SMTPD_DECISION *d)
{
    SMTP_PATH path;
    SMTP_ADDR_ERR err;

    ck_assert_msg(smtp_addr_parse_mail(arg, 0, &path, &err) == 0, "%s: %s",
                  arg, err.text);
    return smtpd_policy_mail(&policy, &facts, &path, d);
}

START_TEST(test_null_sender)
{
    SMTPD_DECISION d;

    ck_assert_int_eq(mail("FROM:<>", &d), 0);
    policy.deny_null_sender = 1;
    ck_assert_int_eq(mail("FROM:<>", &d), -1);
    assert_refused(&d, SMTPD_POLICY_CLOSE, "deny_null_sender");
    ck_assert_int_eq(mail("FROM:<a@example.org>", &d), 0);
    facts.submission = 1;
    ck_assert_int_eq(mail("FROM:<>", &d), 0);
}
END_TEST

START_TEST(test_mail_from_chars)
{
    SMTPD_DECISION d;

    ck_assert_int_eq(mail("FROM:<a!b#c@example.org>", &d), 0);     /* no set */
    policy.mail_from_chars = chars;
    ck_assert_int_eq(mail("FROM:<joe.bloggs-2@example.org>", &d), 0);
    ck_assert_int_eq(mail("FROM:<a!b@example.org>", &d), -1);
    assert_refused(&d, SMTPD_POLICY_REJECT, "mail_from_chars");
    ck_assert_int_eq(mail("FROM:<Upper@example.org>", &d), -1);
    ck_assert_int_eq(mail("FROM:<a+tag@example.org>", &d), -1);
    /* A quoted local part is judged by what it holds. */
    ck_assert_int_eq(mail("FROM:<\"a b\"@example.org>", &d), -1);
    /* The null sender has no characters to judge. */
    ck_assert_int_eq(mail("FROM:<>", &d), 0);
    facts.whitelisted = 1;
    ck_assert_int_eq(mail("FROM:<a!b@example.org>", &d), 0);
}
END_TEST

START_TEST(test_size)
{
    SMTPD_DECISION d;

    policy.message_size_limit = 1000;
    ck_assert_int_eq(mail("FROM:<a@example.org> SIZE=1000", &d), 0);
    ck_assert_int_eq(mail("FROM:<a@example.org> SIZE=1001", &d), -1);
    ck_assert_int_eq(d.code, 552);
    ck_assert_str_eq(d.status, "5.3.4");
    ck_assert_str_eq(d.rule, "message_size_limit");
    /* Not an anti-spam rule: the whitelist does not lift it. */
    facts.whitelisted = 1;
    ck_assert_int_eq(mail("FROM:<a@example.org> SIZE=1001", &d), -1);
}
END_TEST

/* RCPT TO:<addr>: valid when the domain is example.com and the local
 * part is not "nobody" (local_recipients is left out: relay control has
 * its own suite).  Counts what the session would count. */
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

START_TEST(test_max_invalid)
{
    SMTPD_DECISION d;

    policy.max_invalid_recipients = 3;
    ck_assert_int_eq(rcpt("a@example.org", &d), -1);
    ck_assert_int_eq(d.code, 554);      /* relay denied: invalid */
    ck_assert_str_eq(d.rule, "relay_access");
    ck_assert_int_eq(rcpt("ok@example.com", &d), 0);
    ck_assert_int_eq(rcpt("b@example.org", &d), -1);
    ck_assert_str_eq(d.rule, "relay_access");
    ck_assert_int_eq(rcpt("c@example.org", &d), -1);
    assert_refused(&d, SMTPD_POLICY_CLOSE, "max_invalid_recipients");
    ck_assert(d.flags & SMTPD_POLICY_FLAG_OVERLIMIT);
    ck_assert(d.flags & SMTPD_POLICY_FLAG_DROP_TXN);
    ck_assert_int_eq(d.penalty_ms, 60000);
}
END_TEST

START_TEST(test_max_invalid_one)
{
    SMTPD_DECISION d;

    policy.max_invalid_recipients = 1;
    ck_assert_int_eq(rcpt("a@example.org", &d), -1);
    assert_refused(&d, SMTPD_POLICY_CLOSE, "max_invalid_recipients");
}
END_TEST

START_TEST(test_max_valid)
{
    SMTPD_DECISION d;

    policy.max_valid_recipients = 3;
    ck_assert_int_eq(rcpt("a@example.com", &d), 0);
    ck_assert_int_eq(rcpt("x@example.org", &d), -1);
    ck_assert_str_eq(d.rule, "relay_access");
    ck_assert_int_eq(rcpt("b@example.com", &d), 0);
    ck_assert_int_eq(rcpt("c@example.com", &d), -1);
    assert_refused(&d, SMTPD_POLICY_REJECT, "max_valid_recipients");
    ck_assert(d.flags & SMTPD_POLICY_FLAG_DROP_TXN);
    ck_assert(d.flags & SMTPD_POLICY_FLAG_OVERLIMIT);
}
END_TEST

/* With the modifier, the refusal comes at whichever recipient completes
 * both counts. */
START_TEST(test_max_valid_min_invalid_valid_last)
{
    SMTPD_DECISION d;

    policy.max_valid_recipients = 2;
    policy.max_valid_recipients_min_invalid = 2;
    ck_assert_int_eq(rcpt("x@example.org", &d), -1);
    ck_assert_int_eq(rcpt("y@example.org", &d), -1);
    ck_assert_str_eq(d.rule, "relay_access");
    ck_assert_int_eq(rcpt("a@example.com", &d), 0);
    ck_assert_int_eq(rcpt("b@example.com", &d), -1);
    assert_refused(&d, SMTPD_POLICY_REJECT, "max_valid_recipients");
}
END_TEST

START_TEST(test_max_valid_min_invalid_invalid_last)
{
    SMTPD_DECISION d;

    policy.max_valid_recipients = 2;
    policy.max_valid_recipients_min_invalid = 2;
    ck_assert_int_eq(rcpt("a@example.com", &d), 0);
    ck_assert_int_eq(rcpt("b@example.com", &d), 0);
    ck_assert_int_eq(rcpt("c@example.com", &d), 0);     /* no invalid yet */
    ck_assert_int_eq(rcpt("x@example.org", &d), -1);
    ck_assert_str_eq(d.rule, "relay_access");
    ck_assert_int_eq(rcpt("y@example.org", &d), -1);
    assert_refused(&d, SMTPD_POLICY_REJECT, "max_valid_recipients");
    ck_assert(d.flags & SMTPD_POLICY_FLAG_INVALID);
}
END_TEST

START_TEST(test_recipient_rules_exempt)
{
    SMTPD_DECISION d;

    policy.max_invalid_recipients = 1;
    policy.max_valid_recipients = 1;
    facts.whitelisted = 1;
    ck_assert_int_eq(rcpt("a@example.com", &d), 0);
    ck_assert_int_eq(rcpt("x@example.org", &d), -1);
    /* Relay control still holds for the whitelisted. */
    ck_assert_str_eq(d.rule, "relay_access");
    facts.whitelisted = 0;
    facts.submission = 1;
    ck_assert_int_eq(rcpt("b@example.com", &d), 0);
}
END_TEST

/* An authenticated client relays; relay_networks does too, unless
 * require_auth_for_outgoing asks for AUTH. */
START_TEST(test_auth_relay)
{
    SMTPD_DECISION d;

    ck_assert_int_eq(rcpt("far@example.org", &d), -1);
    ck_assert_str_eq(d.rule, "relay_access");
    facts.authenticated = 1;
    ck_assert_int_eq(rcpt("far@example.org", &d), 0);
    facts.authenticated = 0;
    facts.relay_client = 1;
    ck_assert_int_eq(rcpt("far@example.org", &d), 0);
    policy.require_auth_for_outgoing = 1;
    ck_assert_int_eq(rcpt("far@example.org", &d), -1);
    ck_assert_int_eq(d.code, 554);
    ck_assert_str_eq(d.rule, "relay_access");
    /* Inbound mail to local users is unaffected. */
    ck_assert_int_eq(rcpt("user@example.com", &d), 0);
    facts.relay_client = 0;
    ck_assert_int_eq(rcpt("user@example.com", &d), 0);
    facts.authenticated = 1;
    ck_assert_int_eq(rcpt("far@example.org", &d), 0);
}
END_TEST

/* require_auth_for_outgoing: a local domain in MAIL FROM needs AUTH. */
START_TEST(test_auth_antispoof)
{
    SMTPD_DECISION d;

    ck_assert_int_eq(mail("FROM:<boss@example.com>", &d), 0);
    policy.require_auth_for_outgoing = 1;
    ck_assert_int_eq(mail("FROM:<boss@example.com>", &d), -1);
    assert_refused(&d, SMTPD_POLICY_REJECT, "require_auth_for_outgoing");
    ck_assert_int_eq(mail("FROM:<boss@EXAMPLE.COM>", &d), -1);
    /* Even from relay_networks and the whitelist: spoofing is spoofing. */
    facts.relay_client = facts.whitelisted = 1;
    ck_assert_int_eq(mail("FROM:<boss@example.com>", &d), -1);
    facts.relay_client = facts.whitelisted = 0;
    ck_assert_int_eq(mail("FROM:<someone@example.org>", &d), 0);
    ck_assert_int_eq(mail("FROM:<>", &d), 0);
    facts.authenticated = 1;
    ck_assert_int_eq(mail("FROM:<boss@example.com>", &d), 0);
}
END_TEST

/* Authenticated sessions pass over the anti-spam rules and the rate
 * limit, unless rate_limit_exclude_authenticated = no. */
START_TEST(test_auth_exclude)
{
    SMTPD_DECISION d;

    policy.deny_null_sender = 1;
    policy.sender_rate_limit = 10;
    facts.authenticated = 1;
    policy.rate_limit_exclude_authenticated = 1;
    ck_assert_int_eq(mail("FROM:<>", &d), 0);
    ck_assert_int_eq(smtpd_policy_rate_applies(&policy, &facts), 0);
    policy.rate_limit_exclude_authenticated = 0;
    ck_assert_int_eq(mail("FROM:<>", &d), -1);
    ck_assert_int_eq(smtpd_policy_rate_applies(&policy, &facts), 1);
    /* On the AUTH ONLY port too. */
    facts.submission = 1;
    ck_assert_int_eq(smtpd_policy_rate_applies(&policy, &facts), 1);
}
END_TEST

/* The blocklists' score against dnsbl_threshold, where dnsbl_reject_at
 * says, and the allowlist. */
START_TEST(test_dnsbl)
{
    SMTPD_DECISION d;

    policy.dnsbl_threshold = 3;
    ck_assert_int_eq(smtpd_policy_dnsbl(&policy, &facts, 0, &d), 0);  /* unscored */
    facts.dnsbl_scored = 1;
    facts.dnsbl_score = 2;
    facts.dnsbl_sites = "bl.example";
    ck_assert_int_eq(smtpd_policy_dnsbl(&policy, &facts, 0, &d), 0);
    facts.dnsbl_score = 5;
    facts.dnsbl_sites = "zen.example,bl.example";
    ck_assert_int_eq(smtpd_policy_dnsbl(&policy, &facts, 1, &d), 0);  /* at RCPT */
    ck_assert_int_eq(smtpd_policy_dnsbl(&policy, &facts, 0, &d), -1);
    assert_refused(&d, SMTPD_POLICY_REJECT, "dnsbl");
    ck_assert_str_eq(d.detail, "score=5 sites=zen.example,bl.example");
    policy.dnsbl_at_connect = 1;
    ck_assert_int_eq(smtpd_policy_dnsbl(&policy, &facts, 0, &d), 0);
    ck_assert_int_eq(smtpd_policy_dnsbl(&policy, &facts, 1, &d), -1);
    assert_refused(&d, SMTPD_POLICY_CLOSE, "dnsbl");
    policy.dnsbl_action = SMTPD_DNSBL_IGNORE;
    ck_assert_int_eq(smtpd_policy_dnsbl(&policy, &facts, 1, &d), 0);
    ck_assert_str_eq(d.rule, "dnsbl");
    ck_assert_int_eq(d.code, 0);
    policy.dnsbl_action = SMTPD_DNSBL_REJECT;
    /* Never for trusted or authenticated clients. */
    facts.whitelisted = 1;
    ck_assert_int_eq(smtpd_policy_dnsbl(&policy, &facts, 1, &d), 0);
    facts.whitelisted = 0;
    facts.authenticated = 1;
    ck_assert_int_eq(smtpd_policy_dnsbl(&policy, &facts, 1, &d), 0);
    facts.authenticated = 0;
    /* An allowlist score exempts from the rules. */
    policy.dnsbl_allowlist_threshold = -5;
    facts.dnsbl_score = -5;
    ck_assert_int_eq(smtpd_policy_dnsbl_allowlisted(&policy, &facts), 1);
    policy.deny_null_sender = 1;
    ck_assert_int_eq(mail("FROM:<>", &d), 0);
    facts.dnsbl_score = -4;
    ck_assert_int_eq(smtpd_policy_dnsbl_allowlisted(&policy, &facts), 0);
    ck_assert_int_eq(mail("FROM:<>", &d), -1);
    policy.dnsbl_allowlist_threshold = 0;
    facts.dnsbl_score = -100;
    ck_assert_int_eq(smtpd_policy_dnsbl_allowlisted(&policy, &facts), 0);
}
END_TEST

START_TEST(test_killlist)
{
    SMTPD_DECISION d;

    ck_assert_int_eq(smtpd_policy_connect(&policy, &facts, &d), 0);
    facts.killlisted = 1;
    ck_assert_int_eq(smtpd_policy_connect(&policy, &facts, &d), -1);
    ck_assert_int_eq(d.code, 554);
    ck_assert_str_eq(d.status, "5.7.1");
    ck_assert_str_eq(d.text, "Refused");
    ck_assert_str_eq(d.rule, "killlist");
    ck_assert_int_eq(d.action, SMTPD_POLICY_CLOSE);
    /* The whitelist wins. */
    facts.whitelisted = 1;
    ck_assert_int_eq(smtpd_policy_connect(&policy, &facts, &d), 0);
    /* The AUTH ONLY port: only with submission_killlist. */
    facts.whitelisted = 0;
    facts.submission = 1;
    ck_assert_int_eq(smtpd_policy_connect(&policy, &facts, &d), 0);
    policy.submission_killlist = 1;
    ck_assert_int_eq(smtpd_policy_connect(&policy, &facts, &d), -1);
}
END_TEST

START_TEST(test_connection_count)
{
    SMTPD_DECISION d;

    ck_assert_int_eq(smtpd_policy_conn_count(&policy, &facts, 1000, &d), 0);
    policy.connection_count_limit = 2;
    ck_assert(smtpd_policy_conn_count_applies(&policy, &facts));
    ck_assert_int_eq(smtpd_policy_conn_count(&policy, &facts, 2, &d), 0);
    ck_assert_int_eq(smtpd_policy_conn_count(&policy, &facts, -1, &d), 0);
    ck_assert_int_eq(smtpd_policy_conn_count(&policy, &facts, 3, &d), -1);
    ck_assert_int_eq(d.code, 421);
    ck_assert_str_eq(d.status, "4.7.0");
    ck_assert_str_eq(d.text, "mx.example.com Error: too many connections from 192.0.2.1");
    ck_assert_str_eq(d.rule, "smtpd_client_connection_count_limit");
    facts.limit_exempt = 1;
    ck_assert(!smtpd_policy_conn_count_applies(&policy, &facts));
    ck_assert_int_eq(smtpd_policy_conn_count(&policy, &facts, 3, &d), 0);
}
END_TEST

START_TEST(test_sender_rate)
{
    SMTPD_DECISION d;

    ck_assert(!smtpd_policy_rate_applies(&policy, &facts));
    policy.sender_rate_limit = 3;
    policy.rate_limit_exclude_authenticated = 1;
    ck_assert(smtpd_policy_rate_applies(&policy, &facts));
    ck_assert_int_eq(smtpd_policy_rate(&policy, &facts, 3, &d), 0);
    ck_assert_int_eq(smtpd_policy_rate(&policy, &facts, -1, &d), 0);   /* fail open */
    ck_assert_int_eq(smtpd_policy_rate(&policy, &facts, 4, &d), -1);
    assert_refused(&d, SMTPD_POLICY_REJECT, "sender_rate_limit");
    ck_assert(d.flags & SMTPD_POLICY_FLAG_OVERLIMIT);
    ck_assert_int_eq(d.penalty_ms, 600000);
    /* An abuse limit: it holds on the AUTH ONLY port too. */
    facts.submission = 1;
    ck_assert(smtpd_policy_rate_applies(&policy, &facts));
    facts.authenticated = 1;
    ck_assert(!smtpd_policy_rate_applies(&policy, &facts));
    policy.rate_limit_exclude_authenticated = 0;
    ck_assert(smtpd_policy_rate_applies(&policy, &facts));
    facts.whitelisted = 1;
    ck_assert(!smtpd_policy_rate_applies(&policy, &facts));
}
END_TEST

START_TEST(test_reject_text_and_bogus)
{
    SMTPD_DECISION d;

    policy.reject_text = "Nicht angenommen";
    smtpd_policy_refuse(&policy, &d, SMTPD_POLICY_REJECT, "x");
    ck_assert_str_eq(d.text, "Nicht angenommen");
    policy.bogus_550 = 1;
    smtpd_policy_refuse(&policy, &d, SMTPD_POLICY_REJECT, "x");
    ck_assert_int_eq(d.code, 550);
    ck_assert_str_ne(d.text, "Nicht angenommen");
    ck_assert_ptr_null(strstr(d.text, "lligate"));
    /* A bogus text that happens to be reject_text is never used. */
    policy.reject_text = d.text[0] ? strdup(d.text) : "";
    smtpd_policy_refuse(&policy, &d, SMTPD_POLICY_REJECT, "x");
    ck_assert_str_ne(d.text, policy.reject_text);
    free((char *) policy.reject_text);
}
END_TEST

START_TEST(test_trusted)
{
    ck_assert(!smtpd_policy_trusted(&facts));
    facts.relay_client = 1;
    ck_assert(smtpd_policy_trusted(&facts));
    facts.relay_client = 0;
    facts.whitelisted = 1;
    ck_assert(smtpd_policy_trusted(&facts));
}
END_TEST

static Suite *
smtpd_policy_rules_suite(void)
{
    Suite  *s = suite_create("smtpd_policy_rules");
    TCase  *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_helo_rule_off);
    tcase_add_test(tc, test_helo_invalid_refused);
    tcase_add_test(tc, test_helo_exempt);
    tcase_add_test(tc, test_null_sender);
    tcase_add_test(tc, test_mail_from_chars);
    tcase_add_test(tc, test_size);
    tcase_add_test(tc, test_max_invalid);
    tcase_add_test(tc, test_max_invalid_one);
    tcase_add_test(tc, test_max_valid);
    tcase_add_test(tc, test_max_valid_min_invalid_valid_last);
    tcase_add_test(tc, test_max_valid_min_invalid_invalid_last);
    tcase_add_test(tc, test_recipient_rules_exempt);
    tcase_add_test(tc, test_auth_relay);
    tcase_add_test(tc, test_auth_antispoof);
    tcase_add_test(tc, test_auth_exclude);
    tcase_add_test(tc, test_dnsbl);
    tcase_add_test(tc, test_killlist);
    tcase_add_test(tc, test_connection_count);
    tcase_add_test(tc, test_sender_rate);
    tcase_add_test(tc, test_reject_text_and_bogus);
    tcase_add_test(tc, test_trusted);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(smtpd_policy_rules_suite());
    int     failed;

    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
