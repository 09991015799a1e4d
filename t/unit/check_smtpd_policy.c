/* Unit tests for smtpd's relay control and recipient validation
 * (smtpd/smtpd_policy.c), fed with paths exactly as smtp_addr_parse_rcpt
 * produces them from RCPT TO: arguments. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr_list.h"
#include "smtp_addr.h"
#include "smtpd/smtpd_policy.h"
#include "vbuf.h"

static char *const policy_domains[] = {"example.com", "localhost", NULL};
static ADDR_LIST *recipients;
static SMTPD_FACTS facts;           /* the client of the relay tests */

/* A policy for local_domains = example.com, localhost, and an Internet
 * client (a relay client with relay_client). */
static SMTPD_POLICY
policy_make(int relay_client, const ADDR_LIST *local_recipients)
{
    SMTPD_POLICY policy;

    memset(&policy, 0, sizeof(policy));
    policy.local_domains = policy_domains;
    policy.local_recipients = local_recipients;
    memset(&facts, 0, sizeof(facts));
    facts.addr = "192.0.2.1";
    facts.relay_client = relay_client;
    return policy;
}

/* Parses "TO:<...>" as smtpd does for an EHLO client, then decides. */
static int
decide(const SMTPD_POLICY *policy, const char *arg, SMTPD_DECISION *d)
{
    SMTP_PATH path;
    SMTP_ADDR_ERR err;

    memset(&path, 0, sizeof(path));
    ck_assert_msg(smtp_addr_parse_rcpt(arg, 0, &path, &err) == 0,
                  "parse of %s failed: %d %s %s", arg, err.code, err.status,
                  err.text);
    return smtpd_policy_rcpt(policy, &facts, &path, d);
}

/* Asserts that arg is accepted; valid says whether as a local recipient. */
static void
accepted(const SMTPD_POLICY *policy, const char *arg, int valid)
{
    SMTPD_DECISION d;

    ck_assert_msg(decide(policy, arg, &d) == 0, "%s refused: %d %s %s",
                  arg, d.code, d.status ? d.status : "", d.text);
    ck_assert_int_eq(d.code, 0);
    ck_assert_int_eq(d.valid, valid);
}

/* Asserts that arg is refused with exactly "code status text; rule". */
static void
refused(const SMTPD_POLICY *policy, const char *arg, int code,
        const char *status, const char *text, const char *rule)
{
    SMTPD_DECISION d;

    ck_assert_msg(decide(policy, arg, &d) == -1, "%s accepted", arg);
    ck_assert_int_eq(d.code, code);
    ck_assert_str_eq(d.status, status);
    ck_assert_str_eq(d.text, text);
    ck_assert_str_eq(d.rule, rule);
    ck_assert_int_eq(d.valid, 0);
}

/* The relay refusal for mailbox. */
static void
relay_denied(const SMTPD_POLICY *policy, const char *arg, const char *mailbox)
{
    char text[600];

    snprintf(text, sizeof(text), "<%s>: Relay access denied", mailbox);
    refused(policy, arg, 554, "5.7.1", text, "relay_access");
}

static void
setup(void)
{
    VBUF *why = vbuf_create(100);

    recipients = addr_list_create();
    ck_assert_int_eq(addr_list_add(recipients, "alice@example.com", why), 0);
    ck_assert_int_eq(addr_list_add(recipients, "Bob@Example.COM", why), 0);
    ck_assert_int_eq(addr_list_add(recipients, "@localhost", why), 0);
    ck_assert_int_eq(addr_list_add(recipients, "a%b@example.com", why), 0);
    vbuf_free(why);
}

static void
teardown(void)
{
    recipients = addr_list_free(recipients);
}

START_TEST(test_local_domain)
{
    SMTPD_POLICY policy = policy_make(0, NULL);

    ck_assert_int_eq(smtpd_policy_local_domain(&policy, "example.com"), 1);
    ck_assert_int_eq(smtpd_policy_local_domain(&policy, "localhost"), 1);
    ck_assert_int_eq(smtpd_policy_local_domain(&policy, "EXAMPLE.com"), 1);
    ck_assert_int_eq(smtpd_policy_local_domain(&policy, "example.org"), 0);
    ck_assert_int_eq(smtpd_policy_local_domain(&policy, "sub.example.com"), 0);
    ck_assert_int_eq(smtpd_policy_local_domain(&policy, "example.com.evil"), 0);
    ck_assert_int_eq(smtpd_policy_local_domain(&policy, "xample.com"), 0);
    ck_assert_int_eq(smtpd_policy_local_domain(&policy, ""), 0);
    policy.local_domains = NULL;
    ck_assert_int_eq(smtpd_policy_local_domain(&policy, "example.com"), 0);
}
END_TEST

START_TEST(test_local_accepted)
{
    SMTPD_POLICY policy = policy_make(0, NULL);

    accepted(&policy, "TO:<user@example.com>", 1);
    accepted(&policy, "To:<User@EXAMPLE.COM>", 1);
    accepted(&policy, "TO:<first.last+tag@localhost>", 1);
    /* Quoting that hides no routing character is harmless. */
    accepted(&policy, "TO:<\"user\"@example.com>", 1);
    accepted(&policy, "TO:<\"first last\"@example.com>", 1);
}
END_TEST

START_TEST(test_unknown_user)
{
    SMTPD_POLICY policy = policy_make(0, recipients);

    accepted(&policy, "TO:<alice@example.com>", 1);
    accepted(&policy, "TO:<ALICE@EXAMPLE.COM>", 1);
    accepted(&policy, "TO:<bob@example.com>", 1);
    refused(&policy, "TO:<carol@example.com>", 550, "5.1.1",
            "<carol@example.com>: Recipient address rejected: User unknown",
            "local_recipients");
    /* The text quotes the mailbox as the client gave it. */
    refused(&policy, "TO:<Carol@Example.COM>", 550, "5.1.1",
            "<Carol@Example.COM>: Recipient address rejected: User unknown",
            "local_recipients");
    refused(&policy, "TO:<\"carol\"@example.com>", 550, "5.1.1",
            "<\"carol\"@example.com>: Recipient address rejected: User unknown",
            "local_recipients");
    /* Compared unquoted: "alice" is alice. */
    accepted(&policy, "TO:<\"alice\"@example.com>", 1);
    /* A relay client gets no pass on unknown local users. */
    facts.relay_client = 1;
    refused(&policy, "TO:<carol@example.com>", 550, "5.1.1",
            "<carol@example.com>: Recipient address rejected: User unknown",
            "local_recipients");
    accepted(&policy, "TO:<alice@example.com>", 1);
}
END_TEST

START_TEST(test_catch_all)
{
    SMTPD_POLICY policy = policy_make(0, recipients);

    accepted(&policy, "TO:<anyone@localhost>", 1);
    accepted(&policy, "TO:<Anyone.Else@LOCALHOST>", 1);
    /* The catch-all is for its own domain only. */
    refused(&policy, "TO:<anyone@example.com>", 550, "5.1.1",
            "<anyone@example.com>: Recipient address rejected: User unknown",
            "local_recipients");
}
END_TEST

START_TEST(test_remote)
{
    SMTPD_POLICY policy = policy_make(0, NULL);

    relay_denied(&policy, "TO:<user@example.org>", "user@example.org");
    relay_denied(&policy, "TO:<user@sub.example.com>", "user@sub.example.com");
    relay_denied(&policy, "TO:<User@Example.NET>", "User@Example.NET");
    /* local_recipients does not matter for remote domains. */
    policy.local_recipients = recipients;
    relay_denied(&policy, "TO:<alice@example.org>", "alice@example.org");
}
END_TEST

START_TEST(test_remote_relay_client)
{
    SMTPD_POLICY policy = policy_make(1, recipients);

    accepted(&policy, "TO:<user@example.org>", 0);
    accepted(&policy, "TO:<user@sub.example.com>", 0);
    accepted(&policy, "TO:<user@[192.0.2.1]>", 0);
    accepted(&policy, "TO:<user@[IPv6:2001:db8::1]>", 0);
    accepted(&policy, "TO:<@relay.example.org:user@example.net>", 0);
}
END_TEST

START_TEST(test_percent_hack)
{
    SMTPD_POLICY policy = policy_make(0, NULL);

    relay_denied(&policy, "TO:<user%example.org@example.com>",
                 "user%example.org@example.com");
    relay_denied(&policy, "TO:<user%example.org%example.net@localhost>",
                 "user%example.org%example.net@localhost");
    relay_denied(&policy, "TO:<\"user%example.org\"@example.com>",
                 "\"user%example.org\"@example.com");
    /* Even when local_recipients happens to list such an address. */
    policy.local_recipients = recipients;
    relay_denied(&policy, "TO:<a%b@example.com>", "a%b@example.com");
    /* A relay client may use it: then it is a local address like others. */
    facts.relay_client = 1;
    accepted(&policy, "TO:<a%b@example.com>", 1);
    refused(&policy, "TO:<user%example.org@example.com>", 550, "5.1.1",
            "<user%example.org@example.com>: Recipient address rejected: User unknown",
            "local_recipients");
    policy.local_recipients = NULL;
    accepted(&policy, "TO:<user%example.org@example.com>", 1);
}
END_TEST

START_TEST(test_bang_path)
{
    SMTPD_POLICY policy = policy_make(0, NULL);

    relay_denied(&policy, "TO:<example.org!user@example.com>",
                 "example.org!user@example.com");
    relay_denied(&policy, "TO:<a!b!user@localhost>", "a!b!user@localhost");
    relay_denied(&policy, "TO:<\"example.org!user\"@example.com>",
                 "\"example.org!user\"@example.com");
    facts.relay_client = 1;
    accepted(&policy, "TO:<example.org!user@example.com>", 1);
}
END_TEST

START_TEST(test_source_route)
{
    SMTPD_POLICY policy = policy_make(0, NULL);

    /* The route is stripped from the mailbox, but remembered. */
    relay_denied(&policy, "TO:<@example.com:user@example.org>", "user@example.org");
    relay_denied(&policy, "TO:<@example.org:user@example.com>", "user@example.com");
    relay_denied(&policy, "TO:<@a.example.org,@b.example.org:user@example.com>",
                 "user@example.com");
    relay_denied(&policy, "TO:<@example.com,@localhost:user@example.com>",
                 "user@example.com");
}
END_TEST

START_TEST(test_quoted_at)
{
    SMTPD_POLICY policy = policy_make(0, NULL);

    relay_denied(&policy, "TO:<\"user@example.org\"@example.com>",
                 "\"user@example.org\"@example.com");
    relay_denied(&policy, "TO:<\"user@example.org\"@localhost>",
                 "\"user@example.org\"@localhost");
    relay_denied(&policy, "TO:<\"user\\@example.org\"@example.com>",
                 "\"user\\@example.org\"@example.com");
    relay_denied(&policy, "TO:<\"@example.org:user\"@example.com>",
                 "\"@example.org:user\"@example.com");
    relay_denied(&policy, "TO:<\"example.org:user\"@example.com>",
                 "\"example.org:user\"@example.com");
}
END_TEST

START_TEST(test_address_literal)
{
    SMTPD_POLICY policy = policy_make(0, NULL);

    relay_denied(&policy, "TO:<user@[192.0.2.1]>", "user@[192.0.2.1]");
    relay_denied(&policy, "TO:<user@[127.0.0.1]>", "user@[127.0.0.1]");
    relay_denied(&policy, "TO:<user@[IPv6:2001:db8::1]>", "user@[IPv6:2001:db8::1]");
    relay_denied(&policy, "TO:<user@[IPv6:::1]>", "user@[IPv6:::1]");
    /* Never local, even when someone listed the literal as a domain. */
    {
        char *const with_literal[] = {"[192.0.2.1]", "example.com", NULL};

        policy.local_domains = with_literal;
        relay_denied(&policy, "TO:<user@[192.0.2.1]>", "user@[192.0.2.1]");
        policy.local_domains = policy_domains;
    }
}
END_TEST

START_TEST(test_postmaster)
{
    SMTPD_POLICY policy = policy_make(0, recipients);

    /* RFC 5321 4.5.1: <Postmaster> needs no domain and is always taken. */
    accepted(&policy, "TO:<Postmaster>", 1);
    accepted(&policy, "TO:<postmaster>", 1);
    accepted(&policy, "TO:<POSTMASTER>", 1);
    policy.local_domains = NULL;
    accepted(&policy, "TO:<Postmaster>", 1);
    /* With a domain, it is an address like any other. */
    policy.local_domains = policy_domains;
    relay_denied(&policy, "TO:<postmaster@example.org>", "postmaster@example.org");
    accepted(&policy, "TO:<postmaster@localhost>", 1);
    /* RFC 5321 4.5.1: postmaster@ each local domain, even when
     * local_recipients does not list it. */
    ck_assert_int_eq(addr_list_match(recipients, "postmaster@example.com"), 0);
    accepted(&policy, "TO:<PostMaster@example.com>", 1);
    refused(&policy, "TO:<postmistress@example.com>", 550, "5.1.1",
            "<postmistress@example.com>: Recipient address rejected: User unknown",
            "local_recipients");
}
END_TEST

START_TEST(test_decision_reset)
{
    SMTPD_POLICY policy = policy_make(0, NULL);
    SMTPD_DECISION d;

    ck_assert_int_eq(decide(&policy, "TO:<user@example.org>", &d), -1);
    ck_assert_int_eq(decide(&policy, "TO:<user@example.com>", &d), 0);
    ck_assert_int_eq(d.code, 0);
    ck_assert_ptr_null(d.status);
    ck_assert_ptr_null(d.rule);
    ck_assert_str_eq(d.text, "");
}
END_TEST

START_TEST(test_longest_mailbox)
{
    SMTPD_POLICY policy = policy_make(0, NULL);
    char arg[600], mailbox[300];
    size_t i;

    /* 64 octets of local part, a domain near the 256-octet path limit:
     * the reply text has room for the longest mailbox. */
    for (i = 0; i < 64; i++)
        mailbox[i] = 'l';
    mailbox[i++] = '@';
    while (i + 10 <= 250) {
        memcpy(mailbox + i, "abcdefghi.", 10);
        i += 10;
    }
    memcpy(mailbox + i, "org", 4);
    snprintf(arg, sizeof(arg), "TO:<%s>", mailbox);
    relay_denied(&policy, arg, mailbox);
}
END_TEST

static Suite *
smtpd_policy_suite(void)
{
    Suite *s = suite_create("smtpd_policy");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_local_domain);
    tcase_add_test(tc, test_local_accepted);
    tcase_add_test(tc, test_unknown_user);
    tcase_add_test(tc, test_catch_all);
    tcase_add_test(tc, test_remote);
    tcase_add_test(tc, test_remote_relay_client);
    tcase_add_test(tc, test_percent_hack);
    tcase_add_test(tc, test_bang_path);
    tcase_add_test(tc, test_source_route);
    tcase_add_test(tc, test_quoted_at);
    tcase_add_test(tc, test_address_literal);
    tcase_add_test(tc, test_postmaster);
    tcase_add_test(tc, test_decision_reset);
    tcase_add_test(tc, test_longest_mailbox);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(smtpd_policy_suite());
    int failed;

    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
