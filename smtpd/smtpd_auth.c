/* SMTP AUTH (RFC 4954) with PLAIN and LOGIN: the command, its
 * challenges and responses, and the AUTH ONLY rule of the submission
 * port.  smtpd decodes; authd (lib/auth_clnt.h) decides: smtpd never
 * sees a password hash, and a down authd means 454, never success.
 *
 * Brute force: ratekeeper counts each client address's failures in
 * auth_failure_window; at auth_failure_limit the next AUTH gets 421 and
 * the connection closes before any password is checked.  authd delays
 * the answer to a failed check by auth_failure_delay in its own event
 * loop. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth_clnt.h"
#include "conf.h"
#include "msg.h"
#include "mymalloc.h"
#include "printable.h"
#include "sasl.h"
#include "smtpd.h"
#include "smtpd_metrics.h"
#include "smtpd_rate.h"

/* The mechanisms, as offered in EHLO. */
static const char *smtpd_auth_mechs[] = {"PLAIN", "LOGIN", NULL};

/* The mechanism's name as offered, or NULL for one we do not have. */
static const char *
smtpd_auth_mech(const char *name)
{
    const char **mech;

    for (mech = smtpd_auth_mechs; *mech; mech++)
        if (strcasecmp(name, *mech) == 0)
            return *mech;
    return NULL;
}

static AUTH_CLNT *smtpd_auth_clnt;

static AUTH_CLNT *
smtpd_auth_client(void)
{
    if (smtpd_auth_clnt == NULL)
        /* Long enough for authd's slowest answer: a failure's delay, a
         * slowed name, a backend's check. */
        smtpd_auth_clnt = auth_clnt_create(auth_clnt_default_path(),
                                           (int) (conf_time_ms(P_auth_failure_delay)
                                                  + AUTH_CLNT_EXTRA_MS));
    return smtpd_auth_clnt;
}

int
smtpd_auth_offered(SMTPD_STATE *state)
{
    return conf_bool(P_smtp_auth) && !state->facts.authenticated
        && (state->tls != NULL || !conf_bool(P_auth_require_tls));
}

void
smtpd_auth_ehlo_line(VBUF *line)
{
    const char **mech;

    vbuf_set(line, "AUTH");
    for (mech = smtpd_auth_mechs; *mech; mech++)
        vbuf_printf(line, " %s", *mech);
}

int
smtpd_auth_required(SMTPD_STATE *state)
{
    return state->facts.submission && !state->facts.authenticated;
}

/* One client response: the line after a 334 challenge, up to
 * SASL_RESPONSE_MAX octets (longer ones are read to their end and
 * dropped).  0 with the line, or -1 with the reply queued or the session
 * ending. */
static int
smtpd_auth_response(SMTPD_STATE *state, const char *challenge, VBUF *line)
{
    int     status;

    smtpd_reply(state, "334 %s", challenge);
    smtpd_io_request(state);
    status = smtpd_io_line_max(state, line, SASL_RESPONSE_MAX);
    switch (status) {
    case SMTPD_IO_OK:
        break;
    case SMTPD_IO_TOOLONG:
        smtpd_reply(state, "500 5.5.6 Authentication Exchange line is too long");
        return -1;
    case SMTPD_IO_BARE_LF:
    case SMTPD_IO_BARE_CR:
        smtpd_refuse(state, "AUTH", SMTPD_POLICY_CLOSE, 521, "5.5.2",
                     "Error: bare newline received", "bare_newline");
        return -1;
    case SMTPD_IO_TIMEOUT:
        msg_info("timeout after AUTH from %s", state->namaddr);
        smtpd_reply(state, "421 4.4.2 %s Error: timeout exceeded",
                    conf_str(P_myhostname));
        state->quit = 1;
        return -1;
    default:
        msg_info("lost connection after AUTH from %s", state->namaddr);
        state->quit = 1;
        return -1;
    }
    if (strcmp(vbuf_str(line), "*") == 0) {
        smtpd_reply(state, "501 5.7.0 Authentication aborted");
        return -1;
    }
    return 0;
}

/* Base64 text to bytes; -1 with 501 queued. */
static int
smtpd_auth_decode(SMTPD_STATE *state, const char *text, VBUF *out)
{
    if (sasl_base64_decode(text, out) == SASL_OK)
        return 0;
    smtpd_reply(state, "501 5.5.2 Cannot decode response");
    return -1;
}

/* A failure: logged in the shape fail2ban's postfix filter reads, and
 * counted for the client's address. */
static int
smtpd_auth_failed(SMTPD_STATE *state, const char *mech, const char *reason)
{
    msg_warn("%s: SASL %s authentication failed: %s", state->namaddr, mech, reason);
    smtpd_metrics_auth(mech, METRICS_AUTH_RESULT_FAILURE);
    smtpd_rate_auth_failed(state);
    smtpd_reply(state, "535 5.7.8 Error: authentication failed");
    return SMTPD_CMD_ERROR;
}

/* PLAIN: [authzid] NUL authcid NUL passwd, in the initial response or
 * after an empty challenge.  line and data are the caller's scratch
 * buffers, wiped by it. */
static int
smtpd_auth_plain(SMTPD_STATE *state, const char *initial, VBUF *line,
                 VBUF *data, VBUF *user, VBUF *pass)
{
    if (initial == NULL) {
        if (smtpd_auth_response(state, "", line) < 0)
            return -1;
        initial = vbuf_str(line);
    }
    if (smtpd_auth_decode(state, initial, data) < 0)
        return -1;
    switch (sasl_plain_parse(vbuf_str(data), vbuf_len(data), user, pass)) {
    case SASL_OK:
        return 0;
    case SASL_AUTHZID:
        return smtpd_auth_failed(state, "PLAIN", "authorization identity not the user's");
    default:
        return smtpd_auth_failed(state, "PLAIN", "malformed response");
    }
}

/* LOGIN: the user name (maybe in the initial response), then the
 * password, each after its challenge. */
static int
smtpd_auth_login(SMTPD_STATE *state, const char *initial, VBUF *line,
                 VBUF *data, VBUF *user, VBUF *pass)
{
    if (initial == NULL) {
        if (smtpd_auth_response(state, SASL_LOGIN_USER_CHALLENGE, line) < 0)
            return -1;
        initial = vbuf_str(line);
    }
    if (smtpd_auth_decode(state, initial, data) < 0)
        return -1;
    if (sasl_login_user(vbuf_str(data), vbuf_len(data), user) != SASL_OK)
        return smtpd_auth_failed(state, "LOGIN", "malformed user name");
    if (smtpd_auth_response(state, SASL_LOGIN_PASSWORD_CHALLENGE, line) < 0
        || smtpd_auth_decode(state, vbuf_str(line), data) < 0)
        return -1;
    if (sasl_login_password(vbuf_str(data), vbuf_len(data), pass) != SASL_OK)
        return smtpd_auth_failed(state, "LOGIN", "malformed password");
    return 0;
}

int
smtpd_auth(SMTPD_STATE *state, const char *arg)
{
    VBUF   *user, *pass, *why, *line, *data;
    char    name[32];
    const char *mech;
    const char *initial;
    size_t  len = strcspn(arg, " ");
    long    failures;
    int     status;

    if (!conf_bool(P_smtp_auth)) {
        smtpd_reply(state, "503 5.5.1 Error: authentication not enabled");
        return SMTPD_CMD_ERROR;
    }
    if (state->facts.authenticated) {
        smtpd_reply(state, "503 5.5.1 Error: already authenticated");
        return SMTPD_CMD_ERROR;
    }
    if (state->in_mail) {
        smtpd_reply(state, "503 5.5.1 Error: MAIL transaction in progress");
        return SMTPD_CMD_ERROR;
    }
    if (state->tls == NULL && conf_bool(P_auth_require_tls)) {
        smtpd_reply(state, "538 5.7.11 Encryption required for requested "
                    "authentication mechanism");
        return SMTPD_CMD_ERROR;
    }
    /* The password guesser is cut off before its next guess is read. */
    failures = smtpd_rate_auth_failures(state);
    if (conf_int(P_auth_failure_limit) > 0 && failures >= conf_int(P_auth_failure_limit)) {
        char    text[300];

        snprintf(text, sizeof(text), "%s Error: too many authentication failures",
                 conf_str(P_myhostname));
        smtpd_refuse(state, "AUTH", SMTPD_POLICY_CLOSE, 421, "4.7.0", text,
                     "auth_failure_limit");
        return SMTPD_CMD_ERROR;
    }
    if (len == 0) {
        smtpd_reply(state, "501 5.5.4 Syntax: AUTH mechanism");
        return SMTPD_CMD_ERROR;
    }
    snprintf(name, sizeof(name), "%.*s", (int) (len < sizeof(name) ? len : 0), arg);
    initial = arg[len] ? arg + len + 1 : NULL;
    if ((mech = smtpd_auth_mech(name)) == NULL) {
        smtpd_reply(state, "504 5.5.4 Unrecognized authentication type");
        return SMTPD_CMD_ERROR;
    }
    user = vbuf_create(64);
    pass = vbuf_create(64);
    why = vbuf_create(64);
    line = vbuf_create(256);
    data = vbuf_create(256);
    if (strcmp(mech, "PLAIN") == 0)
        status = smtpd_auth_plain(state, initial, line, data, user, pass);
    else
        status = smtpd_auth_login(state, initial, line, data, user, pass);
    sasl_wipe(data);
    vbuf_free(data);
    sasl_wipe(line);
    vbuf_free(line);
    if (status == 0) {
        switch (auth_clnt_verify(smtpd_auth_client(), mech, vbuf_str(user),
                                 vbuf_str(pass), state->addr, why)) {
        case AUTH_CLNT_OK:
            state->sasl_method = mech;
            state->sasl_user = mystrdup(vbuf_str(user));
            state->facts.authenticated = 1;
            if (conf_bool(P_relay_auth_replay))
                state->sasl_password = mystrdup(vbuf_str(pass));
            smtpd_reply(state, "235 2.7.0 Authentication successful");
            smtpd_metrics_auth(mech, METRICS_AUTH_RESULT_SUCCESS);
            break;
        case AUTH_CLNT_FAIL:
            smtpd_auth_failed(state, mech, vbuf_str(why));
            status = -1;
            break;
        default:
            msg_warn("%s: SASL %s authentication not checked: %s",
                     state->namaddr, mech, vbuf_str(why));
            smtpd_reply(state, "454 4.7.0 Temporary authentication failure");
            smtpd_metrics_auth(mech, METRICS_AUTH_RESULT_ERROR);
            status = -1;
            break;
        }
    }
    sasl_wipe(pass);
    vbuf_free(pass);
    vbuf_free(user);
    vbuf_free(why);
    return status == 0 ? SMTPD_CMD_OK : SMTPD_CMD_ERROR;
}

void
smtpd_auth_forget(SMTPD_STATE *state)
{
    state->facts.authenticated = 0;
    state->sasl_method = NULL;
    state->sasl_user = myfree(state->sasl_user);
    if (state->sasl_password) {
        explicit_bzero(state->sasl_password, strlen(state->sasl_password));
        state->sasl_password = myfree(state->sasl_password);
    }
}
