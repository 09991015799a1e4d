/* The session state: created per connection, reset between
 * transactions; everything a transaction allocated dies in the reset.
 * At connect it takes what the policy decides by: the configuration and
 * the client's list memberships, looked up once. */
#include <string.h>
#include <unistd.h>

#include "cidr_list.h"
#include "conf.h"
#include "mymalloc.h"
#include "queue_write.h"
#include "smtpd.h"
#include "smtpd_reject.h"

static size_t
smtpd_state_ncmds(void)
{
    size_t  n = 0;

    while (smtpd_cmds[n].name)
        n++;
    return n + 1;                       /* and "unknown" */
}

SMTPD_STATE *
smtpd_state_create(int fd, const char *service)
{
    SMTPD_STATE *state = mycalloc(1, sizeof(*state));

    state->fd = fd;
    state->service = service;
    state->xport = &smtpd_xport_plain;
    state->tls_level = smtpd_tls_level(service);
    state->in = mymalloc(SMTPD_INBUF_SIZE);
    state->out = vbuf_create(1024);
    state->counts = mycalloc(smtpd_state_ncmds(), sizeof(*state->counts));
    memcpy(state->name, "unknown", sizeof("unknown"));
    state->where = "CONNECT";
    state->facts.addr = state->addr;
    return state;
}

static int
smtpd_state_listed(CONF_ID id, const char *addr)
{
    const CIDR_LIST *list = conf_cidr(id);

    return list != NULL && cidr_list_match_str(list, addr);
}

void
smtpd_state_facts(SMTPD_STATE *state)
{
    SMTPD_POLICY *p = &state->policy;
    SMTPD_FACTS *f = &state->facts;
    const char *chars = conf_str(P_mail_from_chars);

    p->myhostname = conf_str(P_myhostname);
    p->local_domains = conf_list(P_local_domains);
    p->local_recipients = conf_addrs(P_local_recipients);
    p->deny_invalid_helo = conf_bool(P_deny_invalid_helo);
    p->deny_null_sender = conf_bool(P_deny_null_sender);
    p->mail_from_chars = *chars ? conf_chars(P_mail_from_chars) : NULL;
    p->message_size_limit = conf_int(P_message_size_limit);
    p->max_invalid_recipients = conf_int(P_max_invalid_recipients);
    p->max_valid_recipients = conf_int(P_max_valid_recipients);
    p->max_valid_recipients_min_invalid =
        conf_int(P_max_valid_recipients_min_invalid);
    p->sender_rate_limit = conf_int(P_sender_rate_limit);
    p->sender_rate_window = conf_time_ms(P_sender_rate_window);
    p->tarpit_penalty_time = conf_time_ms(P_tarpit_penalty_time);
    p->connection_count_limit = conf_int(P_smtpd_client_connection_count_limit);
    p->tarpit = conf_bool(P_tarpit);
    p->tarpit_disconnect_limit = conf_int(P_tarpit_disconnect_limit);
    p->submission_killlist = conf_bool(P_submission_killlist);
    p->rate_limit_exclude_authenticated =
        conf_bool(P_rate_limit_exclude_authenticated);
    p->require_auth_for_outgoing = conf_bool(P_require_auth_for_outgoing);
    p->dnsbl_threshold = conf_int(P_dnsbl_threshold);
    p->dnsbl_allowlist_threshold = conf_int(P_dnsbl_allowlist_threshold);
    p->dnsbl_action = conf_enum(P_dnsbl_action);
    p->dnsbl_at_connect = conf_enum(P_dnsbl_reject_at) == 1;
    p->reject_text = conf_str(P_reject_text);
    p->bogus_550 = conf_bool(P_bogus_550);
    p->random = smtpd_reject_random;

    f->addr = state->addr;
    /* The manual's AUTH ONLY port; smtps is port 25's service under
     * implicit TLS, with port 25's rules. */
    f->submission = strcmp(state->service, "submission") == 0;
    f->whitelisted = smtpd_state_listed(P_whitelist, state->addr);
    f->killlisted = smtpd_state_listed(P_killlist, state->addr);
    f->relay_client = smtpd_state_listed(P_relay_networks, state->addr);
    f->limit_exempt =
        smtpd_state_listed(P_smtpd_client_event_limit_exceptions, state->addr);
    f->overlimit = f->tarpit_disconnects = -1;    /* ratekeeper's, later */
}

void
smtpd_state_reset(SMTPD_STATE *state)
{
    size_t  i;

    for (i = 0; i < state->rcpt_count; i++)
        myfree(state->rcpt[i]);
    state->rcpt_count = 0;
    state->rcpt_tried = 0;
    /* Invalid recipients count for the whole session (the manual's
     * dictionary attack spans transactions); valid ones per message. */
    state->facts.rcpt_valid = 0;
    state->facts.sender = NULL;
    state->sender = myfree(state->sender);
    state->in_mail = 0;
    state->txn_refused = NULL;
    if (state->bdat_qf)
        queue_write_abort(state->bdat_qf);
    state->bdat_qf = NULL;
    state->bdat = 0;
    state->bdat_error = NULL;
    state->queue_id[0] = 0;
}

SMTPD_STATE *
smtpd_state_free(SMTPD_STATE *state)
{
    smtpd_state_reset(state);
    smtpd_auth_forget(state);
    smtpd_tls_close(state);
    myfree(state->dnsbl_sites);
    myfree(state->rcpt);
    myfree(state->helo);
    myfree(state->in);
    myfree(state->counts);
    vbuf_free(state->out);
    myfree(state);
    return NULL;
}
