/* What dnscache knows of the client: its forward-confirmed host name
 * (resolve_remote_hosts) and its DNS blocklist score (dnsbl_sites).  The
 * question goes out at connect, before the greeting pause, and the
 * answer is taken before the greeting; the whole wait of a session is
 * bounded by dnscache_timeout.  Without an answer the client stays
 * "unknown" and unscored (fail open: dc_clnt warns once a minute). */
#include <stdio.h>
#include <string.h>

#include "cidr_list.h"
#include "conf.h"
#include "dc_clnt.h"
#include "monotime.h"
#include "msg.h"
#include "mymalloc.h"
#include "smtpd.h"

static DC_CLNT *smtpd_dns_clnt;

static DC_CLNT *
smtpd_dns_client(void)
{
    if (smtpd_dns_clnt == NULL)
        smtpd_dns_clnt = dc_clnt_create(dc_clnt_default_path(), 0);
    return smtpd_dns_clnt;
}

/* relay_networks and whitelist clients are never scored. */
static int
smtpd_dns_want_dnsbl(SMTPD_STATE *state)
{
    return *conf_str(P_dnsbl_sites) && !state->facts.relay_client
        && !state->facts.whitelisted;
}

void
smtpd_dns_send(SMTPD_STATE *state)
{
    int     ptr = conf_bool(P_resolve_remote_hosts);
    int     dnsbl = smtpd_dns_want_dnsbl(state);

    state->dns_asked = 0;
    if (!ptr && !dnsbl)
        return;
    state->dns_deadline = monotime_ms() + conf_time_ms(P_dnscache_timeout);
    state->dns_asked = dc_clnt_client_send(smtpd_dns_client(), state->addr,
                                           ptr, dnsbl) == DC_CLNT_OK;
}

void
smtpd_dns_collect(SMTPD_STATE *state)
{
    DC_CLIENT_INFO info;

    if (!state->dns_asked)
        return;
    state->dns_asked = 0;
    if (dc_clnt_client_collect(smtpd_dns_client(), state->dns_deadline, &info)
        != DC_CLNT_OK)
        return;
    if (info.name[0])
        snprintf(state->name, sizeof(state->name), "%s", info.name);
    if (smtpd_dns_want_dnsbl(state)) {
        state->facts.dnsbl_scored = 1;
        state->facts.dnsbl_score = info.score;
        myfree(state->dnsbl_sites);
        state->dnsbl_sites = mystrdup(info.sites);
        state->facts.dnsbl_sites = state->dnsbl_sites;
        if (info.late[0])
            msg_info("dnsbl: no answer in time from %s for %s", info.late,
                     state->addr);
    }
}
