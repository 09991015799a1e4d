/* sender_rate_limit, smtpd_client_connection_count_limit and the
 * tarpit's counts, asked of ratekeeper through rk_clnt.
 *
 * The worker keeps one ratekeeper connection for as long as it lives; a
 * session's connection is registered on it and released at the end of
 * the session, and ratekeeper releases whatever a socket holds when it
 * closes, so a worker that crashes leaks nothing.  Only the I/O is here:
 * who is counted and what a count means is smtpd_policy's to say.
 *
 * What a session costs is round trips, each a sleep and a wake-up on both
 * sides, so there are as few as can be: connect is sent first thing and
 * its answer taken just before the greeting; disconnect is not waited
 * for, and under load it is not even sent alone: it goes in one write
 * with the next session's connect (rk_clnt_disconnect_defer). */
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "msg.h"
#include "rk_clnt.h"
#include "rk_key.h"
#include "smtpd_rate.h"

static RK_CLNT *smtpd_rate_clnt;
static int smtpd_rate_asked;            /* connect sent, answer not taken */
static int smtpd_rate_registered;       /* this session's connection */

static RK_CLNT *
smtpd_rate_client(void)
{
    if (smtpd_rate_clnt == NULL)
        smtpd_rate_clnt = rk_clnt_create(rk_clnt_default_path(),
                                         (int) conf_time_ms(P_ratekeeper_timeout),
                                         RK_CLNT_FLAG_WARN);
    return smtpd_rate_clnt;
}

static VBUF *
smtpd_rate_scratch(void)
{
    static VBUF *scratch;

    if (scratch == NULL)
        scratch = vbuf_create(64);
    return scratch;
}

int
smtpd_rate_key(const SMTPD_STATE *state, const SMTP_PATH *sender,
               int key_type, VBUF *key)
{
    switch (key_type) {
    case SMTPD_RATE_KEY_SENDER:
        return rk_key_sender(key, sender->addr);
    case SMTPD_RATE_KEY_USER:
        /* A session that has not authenticated is counted by its client
         * address. */
        if (state->sasl_user)
            return rk_key_user(key, state->sasl_user);
        /* FALLTHROUGH */
    default:
        return rk_key_address(key, state->addr);
    }
}

void
smtpd_rate_connect_send(SMTPD_STATE *state)
{
    smtpd_rate_asked = smtpd_rate_registered = 0;
    /* A client without a numeric address cannot be counted. */
    if ((!smtpd_policy_conn_count_applies(&state->policy, &state->facts)
         && !smtpd_policy_tarpit_facts_wanted(&state->policy, &state->facts))
        || rk_key_address(smtpd_rate_scratch(), state->addr) < 0) {
        /* The last session's disconnect must not wait for this one. */
        smtpd_rate_flush();
        return;
    }
    smtpd_rate_asked = rk_clnt_connect_send(smtpd_rate_client(), state->addr)
        == RK_CLNT_OK;
}

long
smtpd_rate_connect(SMTPD_STATE *state)
{
    RK_CLNT_CONNECT info;

    if (!smtpd_rate_asked)
        return -1;
    smtpd_rate_asked = 0;
    if (rk_clnt_connect_collect_info(smtpd_rate_client(), &info) != RK_CLNT_OK)
        return -1;
    smtpd_rate_registered = 1;
    state->facts.overlimit = info.overlimit;
    state->facts.tarpit_disconnects = info.tarpit_disconnect;
    return info.count;
}

void
smtpd_rate_disconnect(SMTPD_STATE *state)
{
    if (smtpd_rate_registered) {
        smtpd_rate_registered = 0;
        rk_clnt_disconnect_defer(smtpd_rate_client(), state->addr);
    }
}

void
smtpd_rate_flush(void)
{
    if (smtpd_rate_clnt != NULL)
        rk_clnt_flush(smtpd_rate_clnt);
}

long
smtpd_rate_mail(SMTPD_STATE *state, const SMTP_PATH *sender)
{
    VBUF   *key;
    long    count = -1;

    if (!smtpd_policy_rate_applies(&state->policy, &state->facts))
        return -1;
    key = vbuf_create(64);
    if (smtpd_rate_key(state, sender, conf_enum(P_sender_rate_key), key) < 0
        || rk_clnt_mail(smtpd_rate_client(), vbuf_str(key),
                        conf_time_ms(P_sender_rate_window), &count) != RK_CLNT_OK)
        count = -1;
    vbuf_free(key);
    return count;
}

void
smtpd_rate_overlimit(SMTPD_STATE *state, long long window_ms)
{
    VBUF   *key = vbuf_create(64);
    long    over;

    /* For the rules that act on clients over a limit (the tarpit). */
    if (rk_key_address(key, state->addr) == 0)
        rk_clnt_count(smtpd_rate_client(), RK_COUNTER_OVERLIMIT,
                      vbuf_str(key), window_ms, &over);
    vbuf_free(key);
}

long
smtpd_rate_auth_failures(SMTPD_STATE *state)
{
    VBUF   *key = smtpd_rate_scratch();
    long    count = -1;

    if (rk_key_address(key, state->addr) < 0
        || rk_clnt_lookup(smtpd_rate_client(), RK_COUNTER_AUTH, vbuf_str(key),
                          &count) != RK_CLNT_OK)
        return -1;
    return count;
}

void
smtpd_rate_auth_failed(SMTPD_STATE *state)
{
    VBUF   *key = smtpd_rate_scratch();
    long    count;

    if (rk_key_address(key, state->addr) == 0)
        rk_clnt_count(smtpd_rate_client(), RK_COUNTER_AUTH, vbuf_str(key),
                      conf_time_ms(P_auth_failure_window), &count);
}
