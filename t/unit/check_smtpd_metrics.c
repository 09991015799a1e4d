/* Unit tests for smtpd's counters (smtpd/smtpd_metrics.c): how a session's
 * end is told, and which cells each event adds to (in this process's own
 * memory: no slot). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "fixture.h"
#include "metrics.h"
#include "mymalloc.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_metrics.h"

static SMTPD_STATE *state;

static void
setup(void)
{
    fixture_dir_create("check_smtpd_metrics");
    conf_activate(fixture_conf_load(""));
    memset(metrics_cells, 0, sizeof(uint64_t) * METRICS_NCELLS);
    state = smtpd_state_create(-1, "submission");
}

static void
teardown(void)
{
    smtpd_state_free(state);
    conf_free(conf_activate(NULL));
    fixture_dir_remove();
}

static void
count_cmd(const char *name)
{
    int     i;

    for (i = 0; smtpd_cmds[i].name; i++)
        if (strcmp(smtpd_cmds[i].name, name) == 0)
            state->counts[i].total++;
}

START_TEST(test_outcome)
{
    ck_assert_int_eq(smtpd_metrics_outcome(state), METRICS_OUTCOME_OTHER);
    state->io_status = SMTPD_IO_EOF;
    ck_assert_int_eq(smtpd_metrics_outcome(state), METRICS_OUTCOME_LOST);
    state->io_status = SMTPD_IO_ERROR;
    ck_assert_int_eq(smtpd_metrics_outcome(state), METRICS_OUTCOME_LOST);
    state->io_status = SMTPD_IO_TIMEOUT;
    ck_assert_int_eq(smtpd_metrics_outcome(state), METRICS_OUTCOME_TIMEOUT);
    /* A QUIT says the client ended it, whatever it read after. */
    count_cmd("QUIT");
    ck_assert_int_eq(smtpd_metrics_outcome(state), METRICS_OUTCOME_QUIT);
    /* A rule that closed comes first. */
    state->closing = 1;
    ck_assert_int_eq(smtpd_metrics_outcome(state), METRICS_OUTCOME_REJECTED);
    state->end = SMTPD_END_HANDOFF;
    ck_assert_int_eq(smtpd_metrics_outcome(state), METRICS_OUTCOME_TARPITTED);
}
END_TEST

START_TEST(test_outcome_tls_errors)
{
    smtpd_metrics_begin(state);
    /* Errors that reached smtpd_hard_error_limit, the last of them a
     * STARTTLS refused: not a failed handshake. */
    state->where = "STARTTLS";
    state->error_count = 20;
    ck_assert_int_eq(smtpd_metrics_outcome(state), METRICS_OUTCOME_ERRORS);
    /* The handshake after STARTTLS's 220 (or of smtps) failed. */
    smtpd_metrics_tls_failed();
    ck_assert_int_eq(smtpd_metrics_outcome(state), METRICS_OUTCOME_TLS_FAILED);
    /* Gone meanwhile: lost, as a timeout is a timeout. */
    state->io_status = SMTPD_IO_EOF;
    ck_assert_int_eq(smtpd_metrics_outcome(state), METRICS_OUTCOME_LOST);
    /* The next session starts clean. */
    smtpd_metrics_begin(state);
    state->io_status = SMTPD_IO_OK;
    ck_assert_int_eq(smtpd_metrics_outcome(state), METRICS_OUTCOME_ERRORS);
}
END_TEST

START_TEST(test_session)
{
    int     port = METRICS_PORT_SUBMISSION;

    smtpd_metrics_begin(state);
    ck_assert_uint_eq(metrics_cells[METRICS_AT(SMTPD_SESSIONS, port, 0)], 1);
    state->rcpt_count = 3;
    smtpd_metrics_accepted(state, 1234);
    smtpd_metrics_accepted(state, 66);
    state->rcpt_count = 0;
    ck_assert_uint_eq(metrics_cells[METRICS_AT(SMTPD_MESSAGES, port, 0)], 2);
    ck_assert_uint_eq(metrics_cells[METRICS_AT(SMTPD_BYTES, port, 0)], 1300);
    ck_assert_uint_eq(metrics_cells[METRICS_AT(SMTPD_RECIPIENTS, port, 0)], 6);
    /* Two observations, well under the last bound. */
    ck_assert_uint_eq(metrics_cells[METRIC_SMTPD_TRANSACTION + METRICS_NB_TRANSACTION], 0);
    {
        uint64_t n = 0;
        int     b;

        for (b = 0; b < METRICS_NB_TRANSACTION; b++)
            n += metrics_cells[METRIC_SMTPD_TRANSACTION + b];
        ck_assert_uint_eq(n, 2);
    }
    count_cmd("QUIT");
    smtpd_metrics_end(state);
    ck_assert_uint_eq(metrics_cells[METRICS_AT(SMTPD_SESSIONS, port, 0)], 0);
    ck_assert_uint_eq(metrics_cells[METRICS_AT(SMTPD_CONNECTIONS, port,
                                               METRICS_OUTCOME_QUIT)], 1);
    ck_assert_uint_eq(metrics_cells[METRICS_AT(SMTPD_CONNECTIONS, METRICS_PORT_SMTP,
                                               METRICS_OUTCOME_QUIT)], 0);
}
END_TEST

START_TEST(test_events)
{
    smtpd_metrics_reject("max_invalid_recipients");
    smtpd_metrics_reject("max_invalid_recipients");
    smtpd_metrics_reject("some_rule_of_tomorrow");
    smtpd_metrics_reject(NULL);
    ck_assert_uint_eq(metrics_cells[METRICS_AT(SMTPD_REJECTS, METRICS_RULE_INVALID_RCPT, 0)], 2);
    ck_assert_uint_eq(metrics_cells[METRICS_AT(SMTPD_REJECTS, METRICS_RULE_OTHER, 0)], 2);

    smtpd_metrics_auth("PLAIN", METRICS_AUTH_RESULT_SUCCESS);
    smtpd_metrics_auth("LOGIN", METRICS_AUTH_RESULT_FAILURE);
    smtpd_metrics_auth("CRAM-MD5", METRICS_AUTH_RESULT_FAILURE);
    ck_assert_uint_eq(metrics_cells[METRICS_AT(SMTPD_AUTH, METRICS_MECHANISM_PLAIN,
                                               METRICS_AUTH_RESULT_SUCCESS)], 1);
    ck_assert_uint_eq(metrics_cells[METRICS_AT(SMTPD_AUTH, METRICS_MECHANISM_LOGIN,
                                               METRICS_AUTH_RESULT_FAILURE)], 1);

    smtpd_metrics_tls_failed();
    ck_assert_uint_eq(metrics_cells[METRIC_SMTPD_TLS_FAILURES], 1);
    smtpd_metrics_tarpit(1);
    smtpd_metrics_tarpit(0);
    smtpd_metrics_tarpit(0);
    ck_assert_uint_eq(metrics_cells[METRICS_AT(SMTPD_TARPIT_HANDOFFS, METRICS_HANDOFF_OK, 0)], 1);
    ck_assert_uint_eq(metrics_cells[METRICS_AT(SMTPD_TARPIT_HANDOFFS, METRICS_HANDOFF_FAILED, 0)], 2);
}
END_TEST

int
main(void)
{
    Suite  *s = suite_create("smtpd_metrics");
    TCase  *tc = tcase_create("smtpd_metrics");
    SRunner *sr;
    int     failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_outcome);
    tcase_add_test(tc, test_outcome_tls_errors);
    tcase_add_test(tc, test_session);
    tcase_add_test(tc, test_events);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
