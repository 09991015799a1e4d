/* The handlers of the commands that take no message content: HELO,
 * EHLO, MAIL, RCPT, RSET, NOOP, QUIT, VRFY, HELP.  The dispatcher
 * (smtpd_session.c) has already checked the state each command needs;
 * the policy layer decides about the client; a handler parses, asks,
 * applies, and returns whether the command succeeded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "msg.h"
#include "mymalloc.h"
#include "queue_dir.h"
#include "smtp_addr.h"
#include "smtpd.h"
#include "smtpd_rate.h"

static int
smtpd_syntax(SMTPD_STATE *state, const char *syntax)
{
    smtpd_reply(state, "501 5.5.4 Syntax: %s", syntax);
    return SMTPD_CMD_ERROR;
}

/* The EHLO keywords, in the order they are offered: offer() writes the
 * keyword line, or returns 0 when it is not offered in this session. */
typedef struct SMTPD_EXT {
    const char *keyword;
    int     (*offer) (SMTPD_STATE *state, const char *keyword, VBUF *line);
} SMTPD_EXT;

static int
smtpd_ext_always(SMTPD_STATE *state, const char *keyword, VBUF *line)
{
    (void) state;
    vbuf_set(line, keyword);
    return 1;
}

static int
smtpd_ext_size(SMTPD_STATE *state, const char *keyword, VBUF *line)
{
    long long size = conf_int(P_message_size_limit);

    (void) state;
    vbuf_set(line, keyword);
    if (size > 0)
        vbuf_printf(line, " %lld", size);
    return 1;
}

static int
smtpd_ext_chunking(SMTPD_STATE *state, const char *keyword, VBUF *line)
{
    (void) state;
    vbuf_set(line, keyword);
    return conf_bool(P_smtpd_chunking);
}

/* Where AUTH may be used now (after TLS, with auth_require_tls). */
static int
smtpd_ext_auth(SMTPD_STATE *state, const char *keyword, VBUF *line)
{
    (void) keyword;
    smtpd_auth_ehlo_line(line);
    return smtpd_auth_offered(state);
}

/* Before TLS only (RFC 3207 4.2). */
static int
smtpd_ext_starttls(SMTPD_STATE *state, const char *keyword, VBUF *line)
{
    vbuf_set(line, keyword);
    return smtpd_tls_offered(state);
}

static const SMTPD_EXT smtpd_exts[] = {
    {"PIPELINING", smtpd_ext_always},
    {"SIZE", smtpd_ext_size},
    {"STARTTLS", smtpd_ext_starttls},
    {"AUTH", smtpd_ext_auth},
    {"8BITMIME", smtpd_ext_always},
    {"ENHANCEDSTATUSCODES", smtpd_ext_always},
    {"SMTPUTF8", smtpd_ext_always},
    {"CHUNKING", smtpd_ext_chunking},
};

#define SMTPD_NEXTS (sizeof(smtpd_exts) / sizeof(smtpd_exts[0]))

/* Records the client's name; -1 (with the reply sent) when it is unfit. */
static int
smtpd_helo_common(SMTPD_STATE *state, const char *cmd, const char *arg,
                  int esmtp)
{
    SMTPD_DECISION d;

    /* A client over a limit, or listed with dnsbl_action = tarpit, goes
     * to the tarpit, whatever name it gives. */
    if (smtpd_policy_tarpit_helo(&state->policy, &state->facts, &d) < 0
        || smtpd_policy_helo(&state->policy, &state->facts, arg, &d) < 0) {
        /* Refused and closed: the name is kept for the log line. */
        myfree(state->helo);
        state->helo = mystrdup(arg);
        return smtpd_apply(state, cmd, &d, NULL);
    }
    if (*arg == 0)
        return smtpd_syntax(state, esmtp ? "EHLO hostname" : "HELO hostname");
    if (strlen(arg) > 255) {
        smtpd_reply(state, "501 5.5.2 Error: host name too long");
        return SMTPD_CMD_ERROR;
    }
    smtpd_state_reset(state);
    myfree(state->helo);
    state->helo = mystrdup(arg);
    state->facts.helo = state->helo;
    state->esmtp = esmtp;
    return SMTPD_CMD_OK;
}

int
smtpd_helo(SMTPD_STATE *state, const char *arg)
{
    if (smtpd_helo_common(state, "HELO", arg, 0) < 0)
        return SMTPD_CMD_ERROR;
    smtpd_reply(state, "250 %s", conf_str(P_myhostname));
    return SMTPD_CMD_OK;
}

int
smtpd_ehlo(SMTPD_STATE *state, const char *arg)
{
    VBUF   *lines[SMTPD_NEXTS];
    size_t  i, n = 0;

    if (smtpd_helo_common(state, "EHLO", arg, 1) < 0)
        return SMTPD_CMD_ERROR;
    for (i = 0; i < SMTPD_NEXTS; i++) {
        lines[n] = vbuf_create(32);
        if (smtpd_exts[i].offer(state, smtpd_exts[i].keyword, lines[n]))
            n++;
        else
            vbuf_free(lines[n]);
    }
    smtpd_reply(state, "250%c%s", n ? '-' : ' ', conf_str(P_myhostname));
    for (i = 0; i < n; i++) {
        smtpd_reply(state, "250%c%s", i + 1 < n ? '-' : ' ', vbuf_str(lines[i]));
        vbuf_free(lines[i]);
    }
    return SMTPD_CMD_OK;
}

int
smtpd_mail(SMTPD_STATE *state, const char *arg)
{
    SMTPD_DECISION d;
    SMTP_ADDR_ERR err;
    SMTP_PATH *path;
    int     space;
    long    count;

    if (state->in_mail) {
        smtpd_reply(state, "503 5.5.1 Error: nested MAIL command");
        return SMTPD_CMD_ERROR;
    }
    path = mymalloc(sizeof(*path));
    if (smtp_addr_parse_mail(arg, state->esmtp ? 0 : SMTP_ADDR_OPT_HELO,
                             path, &err) < 0) {
        smtpd_reply(state, "%d %s %s", err.code, err.status, err.text);
        myfree(path);
        return SMTPD_CMD_ERROR;
    }
    /* The sender goes in now, so that a refusal logs it. */
    state->sender = path;
    state->facts.sender = path->addr;
    if (smtpd_policy_mail(&state->policy, &state->facts, path, &d) < 0)
        goto refused;
    /* Nothing to keep free and no size to fit: no statfs() to make. */
    space = conf_int(P_queue_minfree) == 0 && !(path->params & SMTP_ADDR_PARAM_SIZE) ? 1 :
        queue_dir_space_ok(conf_str(P_queue_directory),
                       (unsigned long long) conf_int(P_queue_minfree),
                       (path->params & SMTP_ADDR_PARAM_SIZE) ? path->size : 0);
    if (space == 0) {
        smtpd_refuse(state, "MAIL", SMTPD_POLICY_REJECT, 452, "4.3.1",
                     "Insufficient system storage", "queue_minfree");
        smtpd_state_reset(state);
        return SMTPD_CMD_ERROR;
    }
    count = smtpd_rate_mail(state, path);
    if (smtpd_policy_rate(&state->policy, &state->facts, count, &d) < 0)
        goto refused;
    state->in_mail = 1;
    smtpd_reply(state, "250 2.1.0 Ok");
    return SMTPD_CMD_OK;

refused:
    smtpd_apply(state, "MAIL", &d, NULL);
    smtpd_state_reset(state);
    return SMTPD_CMD_ERROR;
}

/* The same mailbox: the local part exactly, the domain in any case. */
static int
smtpd_same_rcpt(const char *a, const char *b)
{
    const char *at_a = strrchr(a, '@');
    const char *at_b = strrchr(b, '@');

    if (at_a == NULL || at_b == NULL)
        return at_a == at_b && strcasecmp(a, b) == 0;
    return at_a - a == at_b - b && strncmp(a, b, (size_t) (at_a - a)) == 0
        && strcasecmp(at_a, at_b) == 0;
}

static int
smtpd_have_rcpt(SMTPD_STATE *state, const char *mailbox)
{
    size_t  i;

    for (i = 0; i < state->rcpt_count; i++)
        if (smtpd_same_rcpt(state->rcpt[i], mailbox))
            return 1;
    return 0;
}

int
smtpd_rcpt(SMTPD_STATE *state, const char *arg)
{
    SMTPD_DECISION d;
    SMTP_ADDR_ERR err;
    SMTP_PATH path;

    state->rcpt_tried++;
    if (smtp_addr_parse_rcpt(arg, (state->esmtp ? 0 : SMTP_ADDR_OPT_HELO)
                             | ((state->sender->params & SMTP_ADDR_PARAM_SMTPUTF8)
                                ? SMTP_ADDR_OPT_SMTPUTF8 : 0),
                             &path, &err) < 0) {
        smtpd_reply(state, "%d %s %s", err.code, err.status, err.text);
        return SMTPD_CMD_ERROR;
    }
    /* A rule refused the message: every recipient is refused with it. */
    if (state->txn_refused) {
        smtpd_policy_refuse(&state->policy, &d, SMTPD_POLICY_REJECT,
                            state->txn_refused);
        return smtpd_apply(state, "RCPT", &d, path.addr);
    }
    /* A client on the blocklists (dnsbl_reject_at = rcpt). */
    if (smtpd_policy_dnsbl(&state->policy, &state->facts, 0, &d) < 0)
        return smtpd_apply(state, "RCPT", &d, path.addr);
    /* Stored and delivered once, as Postfix's cleanup does. */
    if (smtpd_have_rcpt(state, path.mailbox)) {
        smtpd_reply(state, "250 2.1.5 Ok");
        return SMTPD_CMD_OK;
    }
    if (state->rcpt_count >= (size_t) conf_int(P_smtpd_recipient_limit)) {
        smtpd_reply(state, "452 4.5.3 Error: too many recipients");
        return SMTPD_CMD_ERROR;
    }
    if (smtpd_policy_rcpt(&state->policy, &state->facts, &path, &d) < 0) {
        if (d.flags & SMTPD_POLICY_FLAG_INVALID)
            state->facts.rcpt_invalid++;
        return smtpd_apply(state, "RCPT", &d, path.addr);
    }
    if (state->rcpt_count == state->rcpt_cap) {
        state->rcpt_cap = state->rcpt_cap ? state->rcpt_cap * 2 : 8;
        state->rcpt = myrealloc(state->rcpt, state->rcpt_cap * sizeof(char *));
    }
    state->rcpt[state->rcpt_count++] = mystrdup(path.mailbox);
    state->facts.rcpt_valid++;
    smtpd_reply(state, "250 2.1.5 Ok");
    return SMTPD_CMD_OK;
}

int
smtpd_rset(SMTPD_STATE *state, const char *arg)
{
    if (*arg)
        return smtpd_syntax(state, "RSET");
    smtpd_state_reset(state);
    smtpd_reply(state, "250 2.0.0 Ok");
    return SMTPD_CMD_OK;
}

int
smtpd_noop(SMTPD_STATE *state, const char *arg)
{
    (void) arg;                 /* RFC 5321 4.1.1.9: a parameter is allowed */
    smtpd_reply(state, "250 2.0.0 Ok");
    return SMTPD_CMD_OK;
}

int
smtpd_quit(SMTPD_STATE *state, const char *arg)
{
    (void) arg;
    smtpd_reply(state, "221 2.0.0 Bye");
    state->quit = 1;
    return SMTPD_CMD_OK;
}

int
smtpd_vrfy(SMTPD_STATE *state, const char *arg)
{
    if (*arg == 0)
        return smtpd_syntax(state, "VRFY address");
    smtpd_reply(state, "252 2.0.0 Cannot VRFY user; try RCPT to attempt delivery");
    return SMTPD_CMD_OK;
}

int
smtpd_help(SMTPD_STATE *state, const char *arg)
{
    VBUF   *line = vbuf_create(128);
    const SMTPD_CMD *cmd;

    (void) arg;
    vbuf_set(line, "214 2.0.0 Commands:");
    for (cmd = smtpd_cmds; cmd->name; cmd++) {
        if (cmd->action == smtpd_not_implemented)
            continue;
        if (cmd->action == smtpd_starttls && !smtpd_tls_offered(state)
            && state->tls == NULL)
            continue;
        if (cmd->action == smtpd_auth && !conf_bool(P_smtp_auth))
            continue;
        vbuf_printf(line, " %s", cmd->name);
    }
    smtpd_reply(state, "%s", vbuf_str(line));
    vbuf_free(line);
    return SMTPD_CMD_OK;
}

int
smtpd_not_implemented(SMTPD_STATE *state, const char *arg)
{
    (void) arg;
    smtpd_reply(state, "502 5.5.1 Error: command not implemented");
    return SMTPD_CMD_ERROR;
}
