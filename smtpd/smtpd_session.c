/* The SMTP session (RFC 5321): the banner, the command table and the
 * handlers of every command but DATA (smtpd_data.c). */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cidr_list.h"
#include "conf.h"
#include "msg.h"
#include "mymalloc.h"
#include "printable.h"
#include "queue_file.h"
#include "smtp_addr.h"
#include "smtpd.h"
#include "smtpd_policy.h"
#include "smtpd_rate.h"

#define SMTPD_CMD_FLAG_NONE     0
#define SMTPD_CMD_FLAG_LAST     (1 << 0)    /* must end a pipelining group */

typedef struct SMTPD_CMD {
    const char *name;
    const char *log_name;               /* in "disconnect from ..." */
    void (*action)(SMTPD_STATE *state, const char *arg);
    int flags;
} SMTPD_CMD;

/* Refuses a MAIL command: logs, replies, and drops the parsed path. */
static void
smtpd_mail_reject(SMTPD_STATE *state, SMTP_PATH *path, const char *rule,
                  const char *reply)
{
    smtpd_log_reject(state, "MAIL", reply, path->addr, NULL, rule);
    smtpd_reply(state, "%s", reply);
    myfree(path);
}

static int
smtpd_need_args(SMTPD_STATE *state, const char *arg, const char *syntax)
{
    if (*arg == 0) {
        smtpd_reply(state, "501 5.5.4 Syntax: %s", syntax);
        return 0;
    }
    return 1;
}

static int
smtpd_no_args(SMTPD_STATE *state, const char *arg, const char *syntax)
{
    if (*arg != 0) {
        smtpd_reply(state, "501 5.5.4 Syntax: %s", syntax);
        return 0;
    }
    return 1;
}

/* Records the client's name; 0 (with the reply sent) when it is unfit. */
static int
smtpd_helo_common(SMTPD_STATE *state, const char *arg, int esmtp)
{
    if (!smtpd_need_args(state, arg, esmtp ? "EHLO hostname" : "HELO hostname"))
        return 0;
    if (strlen(arg) > 255) {
        smtpd_reply(state, "501 5.5.2 Error: host name too long");
        return 0;
    }
    smtpd_state_reset(state);
    myfree(state->helo);
    state->helo = mystrdup(arg);
    state->esmtp = esmtp;
    return 1;
}

static void
smtpd_helo(SMTPD_STATE *state, const char *arg)
{
    if (smtpd_helo_common(state, arg, 0))
        smtpd_reply(state, "250 %s", conf_str(P_myhostname));
}

static void
smtpd_ehlo(SMTPD_STATE *state, const char *arg)
{
    long long size = conf_int(P_message_size_limit);

    if (!smtpd_helo_common(state, arg, 1))
        return;
    smtpd_reply(state, "250-%s", conf_str(P_myhostname));
    smtpd_reply(state, "250-PIPELINING");
    if (size > 0)
        smtpd_reply(state, "250-SIZE %lld", size);
    else
        smtpd_reply(state, "250-SIZE");
    smtpd_reply(state, "250-8BITMIME");
    smtpd_reply(state, "250-ENHANCEDSTATUSCODES");
    smtpd_reply(state, "250 SMTPUTF8");
}

static void
smtpd_mail(SMTPD_STATE *state, const char *arg)
{
    SMTP_ADDR_ERR err;
    SMTP_PATH *path;
    long long limit = conf_int(P_message_size_limit);
    int space;

    if (state->helo == NULL) {
        smtpd_reply(state, "503 5.5.1 Error: send HELO/EHLO first");
        return;
    }
    if (state->in_mail) {
        smtpd_reply(state, "503 5.5.1 Error: nested MAIL command");
        return;
    }
    path = mymalloc(sizeof(*path));
    if (smtp_addr_parse_mail(arg, state->esmtp ? 0 : SMTP_ADDR_OPT_HELO,
                             path, &err) < 0) {
        smtpd_reply(state, "%d %s %s", err.code, err.status, err.text);
        myfree(path);
        return;
    }
    if (limit > 0 && (path->params & SMTP_ADDR_PARAM_SIZE)
        && path->size > (uint64_t) limit) {
        smtpd_mail_reject(state, path, "message_size_limit",
                          "552 5.3.4 Message size exceeds fixed limit");
        return;
    }
    /* Nothing to keep free and no size to fit: no statfs() to make. */
    space = conf_int(P_queue_minfree) == 0 && !(path->params & SMTP_ADDR_PARAM_SIZE) ? 1 :
        queue_space_ok(conf_str(P_queue_directory),
                       (unsigned long long) conf_int(P_queue_minfree),
                       (path->params & SMTP_ADDR_PARAM_SIZE) ? path->size : 0);
    if (space == 0) {
        smtpd_mail_reject(state, path, "queue_minfree",
                          "452 4.3.1 Insufficient system storage");
        return;
    }
    if (smtpd_rate_mail(state, path) < 0) {
        myfree(path);
        return;
    }
    state->sender = path;
    state->in_mail = 1;
    smtpd_reply(state, "250 2.1.0 Ok");
}

static void
smtpd_rcpt(SMTPD_STATE *state, const char *arg)
{
    SMTPD_POLICY policy;
    SMTPD_DECISION d;
    SMTP_ADDR_ERR err;
    SMTP_PATH path;
    char reply[sizeof(d.text) + 16];

    if (!state->in_mail) {
        smtpd_reply(state, "503 5.5.1 Error: need MAIL command");
        return;
    }
    state->rcpt_tried++;
    if (smtp_addr_parse_rcpt(arg, (state->esmtp ? 0 : SMTP_ADDR_OPT_HELO)
                             | ((state->sender->params & SMTP_ADDR_PARAM_SMTPUTF8)
                                ? SMTP_ADDR_OPT_SMTPUTF8 : 0),
                             &path, &err) < 0) {
        smtpd_reply(state, "%d %s %s", err.code, err.status, err.text);
        return;
    }
    if (state->rcpt_count >= (size_t) conf_int(P_smtpd_recipient_limit)) {
        smtpd_reply(state, "452 4.5.3 Error: too many recipients");
        return;
    }
    policy.local_domains = conf_list(P_local_domains);
    policy.local_recipients = conf_addrs(P_local_recipients);
    policy.relay_client = state->relay_client;
    if (smtpd_policy_rcpt(&policy, &path, &d) < 0) {
        if (d.code == 550)
            state->rcpt_invalid++;
        snprintf(reply, sizeof(reply), "%d %s %s", d.code, d.status, d.text);
        smtpd_log_reject(state, "RCPT", reply, state->sender->addr, path.addr,
                         d.rule);
        smtpd_reply(state, "%s", reply);
        return;
    }
    if (state->rcpt_count == state->rcpt_cap) {
        state->rcpt_cap = state->rcpt_cap ? state->rcpt_cap * 2 : 8;
        state->rcpt = myrealloc(state->rcpt, state->rcpt_cap * sizeof(char *));
    }
    state->rcpt[state->rcpt_count++] = mystrdup(path.mailbox);
    smtpd_reply(state, "250 2.1.5 Ok");
}

static void
smtpd_rset(SMTPD_STATE *state, const char *arg)
{
    if (!smtpd_no_args(state, arg, "RSET"))
        return;
    smtpd_state_reset(state);
    smtpd_reply(state, "250 2.0.0 Ok");
}

static void
smtpd_noop(SMTPD_STATE *state, const char *arg)
{
    (void) arg;                 /* RFC 5321 4.1.1.9: a parameter is allowed */
    smtpd_reply(state, "250 2.0.0 Ok");
}

static void
smtpd_quit(SMTPD_STATE *state, const char *arg)
{
    (void) arg;
    smtpd_reply(state, "221 2.0.0 Bye");
    state->quit = 1;
}

static void
smtpd_vrfy(SMTPD_STATE *state, const char *arg)
{
    if (!smtpd_need_args(state, arg, "VRFY address"))
        return;
    smtpd_reply(state, "252 2.0.0 Cannot VRFY user; try RCPT to attempt delivery");
}

static void
smtpd_help(SMTPD_STATE *state, const char *arg)
{
    (void) arg;
    smtpd_reply(state, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP");
}

static void
smtpd_not_implemented(SMTPD_STATE *state, const char *arg)
{
    (void) arg;
    smtpd_reply(state, "502 5.5.1 Error: command not implemented");
}

static const SMTPD_CMD smtpd_cmds[] = {
    {"HELO", "helo", smtpd_helo, SMTPD_CMD_FLAG_LAST},
    {"EHLO", "ehlo", smtpd_ehlo, SMTPD_CMD_FLAG_LAST},
    {"MAIL", "mail", smtpd_mail, SMTPD_CMD_FLAG_NONE},
    {"RCPT", "rcpt", smtpd_rcpt, SMTPD_CMD_FLAG_NONE},
    {"DATA", "data", smtpd_data, SMTPD_CMD_FLAG_LAST},
    {"RSET", "rset", smtpd_rset, SMTPD_CMD_FLAG_NONE},
    {"NOOP", "noop", smtpd_noop, SMTPD_CMD_FLAG_LAST},
    {"QUIT", "quit", smtpd_quit, SMTPD_CMD_FLAG_LAST},
    {"VRFY", "vrfy", smtpd_vrfy, SMTPD_CMD_FLAG_LAST},
    {"HELP", "help", smtpd_help, SMTPD_CMD_FLAG_NONE},
    {"EXPN", "expn", smtpd_not_implemented, SMTPD_CMD_FLAG_LAST},
    {"TURN", "turn", smtpd_not_implemented, SMTPD_CMD_FLAG_LAST},
    {"ETRN", "etrn", smtpd_not_implemented, SMTPD_CMD_FLAG_NONE},
    {"BDAT", "bdat", smtpd_not_implemented, SMTPD_CMD_FLAG_NONE},
    {NULL, NULL, NULL, 0},
};

/* Web browsers and proxies pointed at port 25: not a mail client. */
static int
smtpd_is_http(const char *line)
{
    static const char *verbs[] = {
        "GET ", "POST ", "HEAD ", "PUT ", "CONNECT ", "OPTIONS ", "DELETE ",
    };
    size_t i;

    for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (strncasecmp(line, verbs[i], strlen(verbs[i])) == 0)
            return 1;
    return 0;
}

/* Ends a session that broke the protocol: one reply, then the door. */
static void
smtpd_drop(SMTPD_STATE *state, const char *rule, const char *reply)
{
    msg_info("NOQUEUE: reject: %s from %s: %s; rule=%s", state->where,
             state->namaddr, reply, rule);
    smtpd_reply(state, "%s", reply);
    state->quit = 1;
}

/* Waits out smtpd_greet_wait; returns 1 when the client talked before
 * the greeting (no mail server does). */
static int
smtpd_pregreet(SMTPD_STATE *state)
{
    long long wait = conf_time_ms(P_smtpd_greet_wait);
    struct pollfd pfd = {.fd = state->fd,.events = POLLIN };

    return wait > 0 && poll(&pfd, 1, (int) wait) > 0;
}

static int
smtpd_has_ctl(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
            return 1;
    return 0;
}

/* Runs one command line. */
static void
smtpd_command(SMTPD_STATE *state, VBUF *line)
{
    const SMTPD_CMD *cmd;
    const char *arg;
    size_t verb_len;
    int errors_before = state->error_count;
    int failed;

    if (msg_verbose)
        msg_info("< %s: %s", state->namaddr, printable_str(vbuf_str(line)));
    if (smtpd_is_http(vbuf_str(line))) {
        msg_info("NOQUEUE: reject: CONNECT from %s: non-SMTP command: %s; rule=non_smtp_command",
                 state->namaddr, printable_str(vbuf_str(line)));
        state->quit = 1;                /* no reply: it would not understand */
        return;
    }
    verb_len = strcspn(vbuf_str(line), " ");
    for (cmd = smtpd_cmds; cmd->name; cmd++)
        if (verb_len == strlen(cmd->name)
            && strncasecmp(vbuf_str(line), cmd->name, verb_len) == 0)
            break;
    if (cmd->name == NULL) {
        smtpd_reply(state, "500 5.5.2 Error: command not recognized");
        smtpd_count(state, "unknown", 0);
        state->error_count++;
        return;
    }
    state->where = cmd->name;
    if (smtpd_has_ctl(vbuf_str(line), vbuf_len(line))) {
        smtpd_reply(state, "501 5.5.2 Syntax error: NUL or control character in command");
        smtpd_count(state, cmd->log_name, 0);
        state->error_count++;
        return;
    }
    arg = vbuf_str(line) + verb_len;
    while (*arg == ' ')
        arg++;
    state->reply_code = 0;
    cmd->action(state, arg);
    /* A command whose final reply is 4xx or 5xx counts as an error. */
    failed = state->reply_code >= 400 || state->error_count > errors_before;
    smtpd_count(state, cmd->log_name, !failed);
    if (failed && state->error_count == errors_before)
        state->error_count++;
}

void
smtpd_session(SMTPD_STATE *state)
{
    VBUF *line = vbuf_create(SMTPD_LINE_MAX);
    int talked;

    smtpd_rate_connect_send(state);
    snprintf(state->namaddr, sizeof(state->namaddr), "%s[%s]", state->name,
             state->addr);
    msg_info("connect from %s", state->namaddr);
    state->relay_client = cidr_list_match_str(conf_cidr(P_relay_networks),
                                              state->addr);

    talked = smtpd_pregreet(state);
    if (smtpd_rate_connect(state) == 0) {
        if (talked)
            smtpd_drop(state, "pregreet", "554 5.5.1 Error: SMTP protocol violation: talked before the greeting");
        else
            smtpd_reply(state, "220 %s", conf_str(P_smtpd_banner));
    }

    while (!state->quit) {
        int status = smtpd_io_line(state, line);

        switch (status) {
        case SMTPD_IO_OK:
            smtpd_command(state, line);
            break;
        case SMTPD_IO_TOOLONG:
            smtpd_reply(state, "500 5.5.2 Error: line too long");
            smtpd_count(state, "unknown", 0);
            state->error_count++;
            break;
        case SMTPD_IO_BARE_LF:
            smtpd_drop(state, "bare_newline", "521 5.5.2 Error: bare <LF> received");
            break;
        case SMTPD_IO_BARE_CR:
            smtpd_drop(state, "bare_newline", "521 5.5.2 Error: bare <CR> received");
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
        if (!state->quit && state->error_count >= conf_int(P_smtpd_hard_error_limit)) {
            msg_info("too many errors after %s from %s", state->where,
                     state->namaddr);
            smtpd_reply(state, "421 4.7.0 %s Error: too many errors",
                        conf_str(P_myhostname));
            state->quit = 1;
        }
    }
    smtpd_log_disconnect(state);
    smtpd_io_close(state);
    smtpd_rate_disconnect(state);
    vbuf_free(line);
}
