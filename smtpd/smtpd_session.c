/* The SMTP session (RFC 5321): the connection's first decisions, the
 * command table, the dispatcher that enforces what each entry's flags
 * say, and the function that applies every refusal.  The handlers are in
 * smtpd_cmd.c, smtpd_data.c and smtpd_bdat.c. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "msg.h"
#include "printable.h"
#include "mymalloc.h"
#include "smtpd.h"
#include "smtpd_metrics.h"
#include "smtpd_rate.h"

#define F_LAST      SMTPD_CMD_FLAG_LAST
#define F_HELO      SMTPD_CMD_FLAG_NEED_HELO
#define F_MAIL      SMTPD_CMD_FLAG_NEED_MAIL
#define F_RCPT      SMTPD_CMD_FLAG_NEED_RCPT
#define F_PRE_TLS   SMTPD_CMD_FLAG_PRE_TLS
#define F_PRE_AUTH  SMTPD_CMD_FLAG_PRE_AUTH
#define F_CLOSING   SMTPD_CMD_FLAG_CLOSING

/* In the order of the "disconnect from" counts.  BDAT checks the state
 * itself, TLS and AUTH included (hence F_PRE_TLS and F_PRE_AUTH here): it
 * must read its chunk whatever it answers. */
const SMTPD_CMD smtpd_cmds[] = {
    {"HELO", "helo", smtpd_helo, F_LAST | F_PRE_TLS | F_PRE_AUTH},
    {"EHLO", "ehlo", smtpd_ehlo, F_LAST | F_PRE_TLS | F_PRE_AUTH},
    {"STARTTLS", "starttls", smtpd_starttls, F_LAST | F_PRE_TLS | F_PRE_AUTH},
    {"AUTH", "auth", smtpd_auth, F_HELO | F_LAST | F_PRE_AUTH},
    {"MAIL", "mail", smtpd_mail, F_HELO},
    {"RCPT", "rcpt", smtpd_rcpt, F_MAIL | F_CLOSING},
    {"DATA", "data", smtpd_data, F_MAIL | F_RCPT | F_LAST | F_CLOSING},
    {"BDAT", "bdat", smtpd_bdat, F_PRE_TLS | F_PRE_AUTH | F_CLOSING},
    {"RSET", "rset", smtpd_rset, F_PRE_TLS | F_PRE_AUTH},
    {"NOOP", "noop", smtpd_noop, F_LAST | F_PRE_TLS | F_PRE_AUTH},
    {"QUIT", "quit", smtpd_quit, F_LAST | F_PRE_TLS | F_PRE_AUTH | F_CLOSING},
    {"VRFY", "vrfy", smtpd_vrfy, F_LAST},
    {"HELP", "help", smtpd_help, F_PRE_AUTH},
    {"EXPN", "expn", smtpd_not_implemented, F_LAST},
    {"TURN", "turn", smtpd_not_implemented, F_LAST},
    {"ETRN", "etrn", smtpd_not_implemented, 0},
    {NULL, "unknown", NULL, 0},
};

#define SMTPD_CMD_UNKNOWN \
    (&smtpd_cmds[sizeof(smtpd_cmds) / sizeof(smtpd_cmds[0]) - 1])

int
smtpd_apply(SMTPD_STATE *state, const char *cmd, const SMTPD_DECISION *d,
            const char *rcpt)
{
    VBUF   *reply = vbuf_create(128);

    /* Recorded before the client may leave for the tarpit. */
    if (d->flags & SMTPD_POLICY_FLAG_OVERLIMIT)
        smtpd_rate_overlimit(state, d->penalty_ms);
    if (d->code) {
        vbuf_printf(reply, "%d ", d->code);
        if (d->status && *d->status)
            vbuf_printf(reply, "%s ", d->status);
        vbuf_append_str(reply, d->text);
    }
    if (d->code && d->action == SMTPD_POLICY_TARPIT) {
        smtpd_tarpit(state, cmd, d, vbuf_str(reply), rcpt);
    } else if (d->code) {
        smtpd_log_reject_detail(state, cmd, vbuf_str(reply), rcpt, d->rule,
                                d->detail);
        smtpd_reply(state, "%s", vbuf_str(reply));
    } else {
        /* No reply: the client would not understand one. */
        smtpd_log_reject_detail(state, cmd, d->text, rcpt, d->rule, d->detail);
    }
    vbuf_free(reply);
    if (d->flags & SMTPD_POLICY_FLAG_DROP_TXN) {
        /* Keep the transaction open, refused: DATA gets 554, and every
         * further RCPT the same refusal, until RSET or a new MAIL. */
        size_t  i;

        for (i = 0; i < state->rcpt_count; i++)
            myfree(state->rcpt[i]);
        state->rcpt_count = 0;
        state->txn_refused = d->rule;
    }
    if (d->action == SMTPD_POLICY_CLOSE)
        state->closing = 1;
    return SMTPD_CMD_ERROR;
}

int
smtpd_refuse(SMTPD_STATE *state, const char *cmd, int action, int code,
             const char *status, const char *text, const char *rule)
{
    SMTPD_DECISION d;

    memset(&d, 0, sizeof(d));
    d.action = action;
    d.code = code;
    d.status = status;
    d.rule = rule;
    snprintf(d.text, sizeof(d.text), "%s", text);
    /* A protocol error that closes does so at once: nothing more that
     * the client sent is read. */
    if (action == SMTPD_POLICY_CLOSE)
        state->quit = 1;
    return smtpd_apply(state, cmd, &d, NULL);
}

/* Web browsers and proxies pointed at port 25: not a mail client. */
static int
smtpd_is_http(const char *line)
{
    static const char *verbs[] = {
        "GET ", "POST ", "HEAD ", "PUT ", "CONNECT ", "OPTIONS ", "DELETE ",
    };
    size_t  i;

    for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (strncasecmp(line, verbs[i], strlen(verbs[i])) == 0)
            return 1;
    return 0;
}

/* Waits out smtpd_greet_wait; returns 1 when the client talked before
 * the greeting (no mail server does). */
static int
smtpd_pregreet(SMTPD_STATE *state)
{
    long long wait = conf_time_ms(P_smtpd_greet_wait);
    struct pollfd pfd = {.fd = state->fd,.events = POLLIN};

    return wait > 0 && poll(&pfd, 1, (int) wait) > 0;
}

static int
smtpd_has_ctl(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++)
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
            return 1;
    return 0;
}

/* The state a command needs, from its table entry: 0 to run it, or -1
 * with the reply queued. */
static int
smtpd_cmd_allowed(SMTPD_STATE *state, const SMTPD_CMD *cmd)
{
    if (!(cmd->flags & F_PRE_TLS) && smtpd_tls_required(state)) {
        smtpd_reply(state, "530 5.7.0 Must issue a STARTTLS command first");
        return -1;
    }
    if (!(cmd->flags & F_PRE_AUTH) && smtpd_auth_required(state)) {
        smtpd_reply(state, "530 5.7.0 Authentication required");
        return -1;
    }
    if ((cmd->flags & F_HELO) && state->helo == NULL) {
        smtpd_reply(state, "503 5.5.1 Error: send HELO/EHLO first");
        return -1;
    }
    if ((cmd->flags & F_MAIL) && !state->in_mail) {
        smtpd_reply(state, "503 5.5.1 Error: need MAIL command");
        return -1;
    }
    /* RFC 5321 3.3: 503 when no RCPT was given, 554 when every one was
     * refused (a pipelining client sent DATA without waiting). */
    if ((cmd->flags & F_RCPT) && state->rcpt_tried == 0) {
        smtpd_reply(state, "503 5.5.1 Error: need RCPT command");
        return -1;
    }
    if ((cmd->flags & F_RCPT) && state->rcpt_count == 0) {
        smtpd_reply(state, "554 5.5.1 Error: no valid recipients");
        return -1;
    }
    return 0;
}

static void
smtpd_count(SMTPD_STATE *state, const SMTPD_CMD *cmd, int ok)
{
    SMTPD_COUNT *c = &state->counts[cmd - smtpd_cmds];

    c->total++;
    c->ok += ok;
}

/* Runs one command line. */
static void
smtpd_command(SMTPD_STATE *state, VBUF *line)
{
    const SMTPD_CMD *cmd;
    const char *arg;
    size_t  verb_len;
    int     status;

    if (msg_verbose)
        msg_info("< %s: %s", state->namaddr, printable_str(vbuf_str(line)));
    if (smtpd_is_http(vbuf_str(line))) {
        VBUF   *why = vbuf_create(64);

        vbuf_set(why, "non-SMTP command: ");
        printable_append(why, vbuf_str(line), vbuf_len(line));
        /* No reply: it would not understand one. */
        smtpd_refuse(state, "CONNECT", SMTPD_POLICY_CLOSE, 0, "", vbuf_str(why),
                     "non_smtp_command");
        vbuf_free(why);
        return;
    }
    verb_len = strcspn(vbuf_str(line), " ");
    for (cmd = smtpd_cmds; cmd->name; cmd++)
        if (verb_len == strlen(cmd->name)
            && strncasecmp(vbuf_str(line), cmd->name, verb_len) == 0)
            break;
    smtpd_dns_command(state, cmd->name);
    /* A rule decided to close: only what finishes the refused
     * transaction is still answered. */
    if (state->closing && !(cmd->flags & F_CLOSING)) {
        state->quit = 1;
        return;
    }
    if (cmd->name == NULL) {
        smtpd_reply(state, "500 5.5.2 Error: command not recognized");
        smtpd_count(state, cmd, 0);
        state->error_count++;
        return;
    }
    state->where = cmd->name;
    if (smtpd_has_ctl(vbuf_str(line), vbuf_len(line))) {
        smtpd_reply(state, "501 5.5.2 Syntax error: NUL or control character in command");
        status = SMTPD_CMD_ERROR;
    } else if (smtpd_cmd_allowed(state, cmd) < 0) {
        status = SMTPD_CMD_ERROR;
    } else {
        arg = vbuf_str(line) + verb_len;
        while (*arg == ' ')
            arg++;
        status = cmd->action(state, arg);
    }
    smtpd_count(state, cmd, status == SMTPD_CMD_OK);
    if (status != SMTPD_CMD_OK)
        state->error_count++;
}

/* host[addr], for the log lines. */
static void
smtpd_session_namaddr(SMTPD_STATE *state)
{
    snprintf(state->namaddr, sizeof(state->namaddr), "%s[%s]", state->name,
             state->addr);
}

/* Before the greeting: the killlist, the pause that catches clients
 * that talk first, the connection count, tarpit_disconnect_limit and
 * the blocklists. */
static void
smtpd_connect(SMTPD_STATE *state)
{
    SMTPD_DECISION d;
    long    count;
    int     talked;

    smtpd_state_facts(state);
    if (smtpd_policy_connect(&state->policy, &state->facts, &d) < 0) {
        smtpd_apply(state, "CONNECT", &d, NULL);
        state->quit = 1;
        return;
    }
    /* ratekeeper's and dnscache's answers travel during the pause. */
    smtpd_rate_connect_send(state);
    smtpd_dns_send(state);
    talked = !smtpd_policy_trusted(&state->facts) && smtpd_pregreet(state);
    smtpd_dns_score(state);
    count = smtpd_rate_connect(state);
    /* "connect from" now if the name is known; else when it is. */
    smtpd_dns_name(state, 0);
    if (smtpd_policy_conn_count(&state->policy, &state->facts, count, &d) < 0
        || smtpd_policy_tarpit_disconnects(&state->policy, &state->facts,
                                           &d) < 0
        || smtpd_policy_dnsbl(&state->policy, &state->facts, 1, &d) < 0) {
        smtpd_apply(state, "CONNECT", &d, NULL);
        state->quit = 1;
        return;
    }
    if (d.rule) {                       /* dnsbl_action = ignore */
        smtpd_dns_name(state, 1);
        msg_info("NOQUEUE: dnsbl: %s is listed: %s (dnsbl_action = ignore)",
                 state->namaddr, d.detail);
    }
    if (talked) {
        smtpd_refuse(state, "CONNECT", SMTPD_POLICY_CLOSE, 554, "5.5.1",
                     "Error: SMTP protocol violation: talked before the greeting",
                     "pregreet");
    } else {
        smtpd_reply(state, "220 %s", conf_str(P_smtpd_banner));
    }
}

void
smtpd_session(SMTPD_STATE *state)
{
    VBUF   *line = vbuf_create(SMTPD_LINE_MAX);

    smtpd_metrics_begin(state);
    smtpd_session_namaddr(state);
    /* smtps: TLS from the first byte; a client that speaks plaintext
     * there gets no reply it could not read anyway. */
    if (state->tls_level == SMTPD_TLS_WRAPPER && smtpd_tls_wrapper(state) < 0) {
        smtpd_dns_name(state, 1);
        state->quit = 1;
    } else {
        smtpd_connect(state);
    }

    while (!state->quit) {
        int     status;

        smtpd_dns_idle(state);
        smtpd_io_request(state);
        /* Room for AUTH's initial response; other commands keep the
         * shorter limit. */
        status = smtpd_io_line_max(state, line, SMTPD_AUTH_LINE_MAX);
        if (status == SMTPD_IO_OK && vbuf_len(line) > SMTPD_LINE_MAX
            && strncasecmp(vbuf_str(line), "AUTH ", 5) != 0)
            status = SMTPD_IO_TOOLONG;
        /* Their lines name the client. */
        if (status == SMTPD_IO_EOF || status == SMTPD_IO_TIMEOUT
            || status == SMTPD_IO_ERROR)
            smtpd_dns_name(state, 1);
        switch (status) {
        case SMTPD_IO_OK:
            smtpd_command(state, line);
            break;
        case SMTPD_IO_TOOLONG:
            smtpd_reply(state, "500 5.5.2 Error: line too long");
            smtpd_count(state, SMTPD_CMD_UNKNOWN, 0);
            state->error_count++;
            break;
        case SMTPD_IO_BARE_LF:
            smtpd_refuse(state, state->where, SMTPD_POLICY_CLOSE, 521, "5.5.2",
                         "Error: bare <LF> received", "bare_newline");
            break;
        case SMTPD_IO_BARE_CR:
            smtpd_refuse(state, state->where, SMTPD_POLICY_CLOSE, 521, "5.5.2",
                         "Error: bare <CR> received", "bare_newline");
            break;
        case SMTPD_IO_TIMEOUT:
            msg_info("timeout after %s from %s", state->where, state->namaddr);
            smtpd_reply(state, "421 4.4.2 %s Error: timeout exceeded",
                        conf_str(P_myhostname));
            state->quit = 1;
            break;
        default:
            msg_info("lost connection after %s from %s", state->where,
                     state->namaddr);
            state->quit = 1;
            break;
        }
        /* Once a rule decided to close, what the client pipelined before
         * it could read the refusal is answered, and nothing more. */
        if (state->closing && !smtpd_io_has_line(state))
            state->quit = 1;
        if (!state->quit && state->error_count >= conf_int(P_smtpd_hard_error_limit)) {
            smtpd_dns_name(state, 1);
            msg_info("too many errors after %s from %s", state->where,
                     state->namaddr);
            smtpd_reply(state, "421 4.7.0 %s Error: too many errors",
                        conf_str(P_myhostname));
            state->quit = 1;
        }
    }
    smtpd_metrics_end(state);
    smtpd_log_disconnect(state);
    if (state->end == SMTPD_END_CLOSE)
        smtpd_io_close(state);
    smtpd_rate_disconnect(state);
    vbuf_free(line);
}
