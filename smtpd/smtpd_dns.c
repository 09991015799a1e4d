/* What dnscache knows of the client: its DNS blocklist score
 * (dnsbl_sites) and its forward-confirmed host name
 * (resolve_remote_hosts), each taken when the session needs it, so that
 * a cold cache costs the session as little DNS as it can.
 *
 * The question goes out at connect, before the greeting pause.  The
 * score takes dnscache one DNS round trip (the zones are asked side by
 * side) and is waited for before the greeting, where the verdict at
 * connect and the rules that an allowlisting exempts from need it.  The
 * name takes two (the PTR, then the A or AAAA records of the PTR name):
 * dnscache starts that lookup with the score's question (ptr=start), and
 * once the score is in, smtpd asks for the name on its own and goes on.
 * It takes the name when it comes: at each command if it is there,
 * while it waits for the client's next command (the client's round
 * trips hide the DNS), and, waiting for what is left of the session's
 * time if it must, before the first line of the log or of the message
 * that shows the client: a refusal, STARTTLS and AUTH (whose lines name
 * the client), the queue file's client= line and Received: header
 * (DATA, BDAT), the end of the session.
 *
 * "connect from name[addr]" is logged once the name is known, so that,
 * as in Postfix, it is the first line of the session and names the
 * client as every later line does; its time is when the name came, at
 * most dnscache_timeout after the connection.  The session's whole wait,
 * the score's and the name's, is bounded by dnscache_timeout from
 * connect; without an answer by then the client is "unknown" and
 * unscored (fail open: dc_clnt warns once a minute). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cidr_list.h"
#include "conf.h"
#include "dc_clnt.h"
#include "monotime.h"
#include "msg.h"
#include "mymalloc.h"
#include "smtpd.h"

/* state->dns_asked: what the reply owed by dnscache answers. */
#define SMTPD_DNS_NONE      0
#define SMTPD_DNS_SCORE     1           /* the score (and maybe the name) */
#define SMTPD_DNS_NAME      2           /* the name alone */

static DC_CLNT *smtpd_dns_clnt;

static DC_CLNT *
smtpd_dns_client(void)
{
    if (smtpd_dns_clnt == NULL)
        smtpd_dns_clnt = dc_clnt_create(dc_clnt_default_path(),
                                        DC_CLNT_FLAG_WARN);
    return smtpd_dns_clnt;
}

/* relay_networks and whitelist clients are never scored. */
static int
smtpd_dns_want_dnsbl(SMTPD_STATE *state)
{
    return *conf_str(P_dnsbl_sites) && !state->facts.relay_client
        && !state->facts.whitelisted;
}

/* The name that the log lines and the message show from now on. */
static void
smtpd_dns_set_name(SMTPD_STATE *state, const char *name)
{
    snprintf(state->name, sizeof(state->name), "%s", name);
    snprintf(state->namaddr, sizeof(state->namaddr), "%s[%s]", state->name,
             state->addr);
}

void
smtpd_dns_send(SMTPD_STATE *state)
{
    int     name = conf_bool(P_resolve_remote_hosts);
    int     score = smtpd_dns_want_dnsbl(state);
    int     flags = (name ? DC_CLNT_ASK_NAME | DC_CLNT_NAME_LATER : 0)
        | (score ? DC_CLNT_ASK_SCORE : 0);

    state->dns_asked = SMTPD_DNS_NONE;
    state->dns_name_pending = 0;
    if (!name && !score)
        return;
    state->dns_deadline = monotime_ms() + conf_time_ms(P_dnscache_timeout);
    if (dc_clnt_client_send(smtpd_dns_client(), state->addr, flags,
                            state->dns_deadline) != DC_CLNT_OK)
        return;
    state->dns_asked = score ? SMTPD_DNS_SCORE : SMTPD_DNS_NAME;
    state->dns_name_pending = name;
}

/* The reply to the question out, taken: the score when it was asked,
 * the name when it came. */
static void
smtpd_dns_take(SMTPD_STATE *state, const DC_CLIENT_INFO *info)
{
    int     asked = state->dns_asked;

    if (asked == SMTPD_DNS_SCORE) {
        state->facts.dnsbl_scored = 1;
        state->facts.dnsbl_score = info->score;
        myfree(state->dnsbl_sites);
        state->dnsbl_sites = mystrdup(info->sites);
        state->facts.dnsbl_sites = state->dnsbl_sites;
        if (info->late[0])
            msg_info("dnsbl: no answer in time from %s for %s", info->late,
                     state->addr);
    }
    state->dns_asked = SMTPD_DNS_NONE;
    /* The name's own question gets the name, or nothing. */
    if (state->dns_name_pending
        && (!info->pending || asked == SMTPD_DNS_NAME)) {
        if (info->name[0])
            smtpd_dns_set_name(state, info->name);
        state->dns_name_pending = 0;
    }
}

/* Takes the reply owed, when it is there or (wait) when it comes by the
 * session's deadline; a name still to come is then asked for on its
 * own.  Without an answer, neither the score nor the name will come. */
static void
smtpd_dns_collect(SMTPD_STATE *state, int wait)
{
    DC_CLNT *clnt = smtpd_dns_client();
    DC_CLIENT_INFO info;

    if (state->dns_asked == SMTPD_DNS_NONE)
        return;
    if (!wait && !dc_clnt_client_ready(clnt))
        return;
    if (dc_clnt_client_collect(clnt, state->dns_deadline, &info)
        != DC_CLNT_OK) {
        state->dns_asked = SMTPD_DNS_NONE;
        state->dns_name_pending = 0;
        return;
    }
    smtpd_dns_take(state, &info);
    if (!state->dns_name_pending)
        return;
    /* dnscache's lookup is under way; this request joins it. */
    if (state->dns_deadline - monotime_ms() > 0
        && dc_clnt_client_send(clnt, state->addr, DC_CLNT_ASK_NAME,
                               state->dns_deadline) == DC_CLNT_OK)
        state->dns_asked = SMTPD_DNS_NAME;
    else
        state->dns_name_pending = 0;
}

void
smtpd_dns_score(SMTPD_STATE *state)
{
    /* Only the score is waited for; a name alone is taken if it is in. */
    smtpd_dns_collect(state, state->dns_asked == SMTPD_DNS_SCORE);
}

void
smtpd_dns_name(SMTPD_STATE *state, int wait)
{
    /* The replies already decided (a 221 before the disconnect line)
     * need not wait for the name. */
    if (state->dns_name_pending && wait)
        (void) smtpd_flush(state);
    /* Each round takes a reply or gives up; the score's reply can leave
     * the name's question out, hence two. */
    if (state->dns_name_pending)
        smtpd_dns_collect(state, wait);
    if (state->dns_name_pending && wait)
        smtpd_dns_collect(state, wait);
    if (state->dns_name_pending || state->dns_connect_logged)
        return;
    state->dns_connect_logged = 1;
    msg_info("connect from %s", state->namaddr);
}

void
smtpd_dns_idle(SMTPD_STATE *state)
{
    struct pollfd pfd[2];
    long long left;
    int     n;

    while (state->dns_name_pending && !smtpd_io_pending(state)
           && !(state->xport->pending && state->xport->pending(state))) {
        smtpd_dns_collect(state, 0);
        if (!state->dns_name_pending)
            break;
        /* The client waits for our replies before it says more. */
        if (smtpd_flush(state) < 0)
            break;
        if ((left = state->dns_deadline - monotime_ms()) <= 0
            || (pfd[1].fd = dc_clnt_client_fd(smtpd_dns_client())) < 0) {
            smtpd_dns_collect(state, 1);
            break;
        }
        pfd[0].fd = state->fd;
        pfd[0].events = pfd[1].events = POLLIN;
        pfd[0].revents = pfd[1].revents = 0;
        n = poll(pfd, 2, (int) left);
        if (n < 0 && errno != EINTR)
            break;
        /* The client spoke first: its command comes first. */
        if (n > 0 && pfd[0].revents)
            break;
    }
    smtpd_dns_name(state, 0);
}

void
smtpd_dns_command(SMTPD_STATE *state, const char *verb)
{
    static const char *const shows_client[] = {
        "STARTTLS", "AUTH", "DATA", "BDAT",
    };
    size_t  i;

    for (i = 0; verb && i < sizeof(shows_client) / sizeof(shows_client[0]); i++)
        if (strcasecmp(verb, shows_client[i]) == 0)
            break;
    smtpd_dns_name(state, verb && i < sizeof(shows_client)
                   / sizeof(shows_client[0]));
}
