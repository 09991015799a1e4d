/* Unit tests for the anti-spam refusal (smtpd/smtpd_reject.c) and the
 * keys of sender_rate_limit (smtpd/smtpd_rate.c): "550 5.7.1 Refused"
 * exactly by default, reject_text, bogus_550's several hundred texts, and which
 * key each sender_rate_key value gives. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "fixture.h"
#include "htable.h"
#include "smtp_addr.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_rate.h"
#include "smtpd/smtpd_reject.h"
#include "vbuf.h"

/* Activates a configuration of the defaults plus text. */
static void
configure(const char *text)
{
    fixture_dir_create("check_smtpd_reject");
    conf_free(conf_activate(fixture_conf_load(text)));
    fixture_dir_remove();
}

/* The anti-spam refusal as a session configured so would send it. */
static void
smtpd_reject_reply(VBUF *reply)
{
    SMTPD_STATE *state = smtpd_state_create(-1, "smtp");
    SMTPD_DECISION d;

    strcpy(state->addr, "192.0.2.1");
    smtpd_state_facts(state);
    smtpd_policy_refuse(&state->policy, &d, SMTPD_POLICY_REJECT, "test");
    vbuf_set(reply, "");
    vbuf_printf(reply, "%d %s %s", d.code, d.status, d.text);
    ck_assert_str_eq(d.rule, "test");
    smtpd_state_free(state);
}

START_TEST(test_default_reply)
{
    VBUF *reply = vbuf_create(8);

    configure("");
    smtpd_reject_reply(reply);
    ck_assert_str_eq(vbuf_str(reply), "550 5.7.1 Refused");
    vbuf_free(reply);
}
END_TEST

START_TEST(test_custom_text)
{
    VBUF *reply = vbuf_create(8);

    configure("reject_text = Nicht angenommen\n");
    smtpd_reject_reply(reply);
    ck_assert_str_eq(vbuf_str(reply), "550 5.7.1 Nicht angenommen");
    vbuf_free(reply);
}
END_TEST

/* Several hundred distinct texts, none of them the default, all of them
 * 550 5.7.1. */
START_TEST(test_bogus)
{
    HTABLE *seen = htable_create(512);
    VBUF *text = vbuf_create(8), *reply = vbuf_create(8);
    unsigned n;
    int i;

    for (n = 0; n < SMTPD_REJECT_BOGUS_COUNT; n++) {
        smtpd_reject_bogus(n, text);
        ck_assert_ptr_null(htable_find(seen, vbuf_str(text)));
        htable_enter(seen, vbuf_str(text), NULL);
        ck_assert_str_ne(vbuf_str(text), "Refused");
    }
    ck_assert_uint_eq(htable_used(seen), SMTPD_REJECT_BOGUS_COUNT);
    configure("bogus_550 = yes\nreject_text = Custom\n");
    for (i = 0; i < 50; i++) {
        smtpd_reject_reply(reply);
        ck_assert(strncmp(vbuf_str(reply), "550 5.7.1 ", 10) == 0);
        ck_assert(vbuf_str(reply)[10] >= 'A' && vbuf_str(reply)[10] <= 'Z');
        ck_assert_ptr_nonnull(htable_locate(seen, vbuf_str(reply) + 10));
    }
    htable_free(seen, NULL);
    vbuf_free(text);
    vbuf_free(reply);
}
END_TEST

START_TEST(test_rate_keys)
{
    SMTPD_STATE state;
    SMTP_PATH sender;
    VBUF *key = vbuf_create(8);

    memset(&state, 0, sizeof(state));
    memset(&sender, 0, sizeof(sender));
    strcpy(state.addr, "2001:db8:5:6::99");
    strcpy(sender.addr, "Someone@Example.ORG");
    ck_assert_int_eq(smtpd_rate_key(&state, &sender, SMTPD_RATE_KEY_ADDRESS, key), 0);
    ck_assert_str_eq(vbuf_str(key), "addr:2001:db8:5:6::/64");
    ck_assert_int_eq(smtpd_rate_key(&state, &sender, SMTPD_RATE_KEY_SENDER, key), 0);
    ck_assert_str_eq(vbuf_str(key), "sender:someone@example.org");
    /* No AUTH yet: counted by client address. */
    ck_assert_int_eq(smtpd_rate_key(&state, &sender, SMTPD_RATE_KEY_USER, key), 0);
    ck_assert_str_eq(vbuf_str(key), "addr:2001:db8:5:6::/64");
    sender.addr[0] = 0;
    ck_assert_int_eq(smtpd_rate_key(&state, &sender, SMTPD_RATE_KEY_SENDER, key), 0);
    ck_assert_str_eq(vbuf_str(key), "sender:<>");
    strcpy(state.addr, "unknown");
    ck_assert_int_eq(smtpd_rate_key(&state, &sender, SMTPD_RATE_KEY_ADDRESS, key), -1);
    vbuf_free(key);
}
END_TEST

/* The order of sender_rate_key's choices is what smtpd_rate.h assumes. */
START_TEST(test_key_enum_order)
{
    configure("sender_rate_key = sender\n");
    ck_assert_int_eq(conf_enum(P_sender_rate_key), SMTPD_RATE_KEY_SENDER);
    configure("sender_rate_key = sasl_user\n");
    ck_assert_int_eq(conf_enum(P_sender_rate_key), SMTPD_RATE_KEY_USER);
    configure("");
    ck_assert_int_eq(conf_enum(P_sender_rate_key), SMTPD_RATE_KEY_ADDRESS);
}
END_TEST

static Suite *
smtpd_reject_suite(void)
{
    Suite *s = suite_create("smtpd_reject");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_default_reply);
    tcase_add_test(tc, test_custom_text);
    tcase_add_test(tc, test_bogus);
    tcase_add_test(tc, test_rate_keys);
    tcase_add_test(tc, test_key_enum_order);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(smtpd_reject_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
