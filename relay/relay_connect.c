/* The opening of an SMTP session with the backend (relay_host): its
 * addresses tried in turn within relay_connect_timeout, the greeting, EHLO
 * (HELO when the server refuses EHLO), and STARTTLS when relay_tls wants
 * it, then EHLO again over TLS. relay_smtp.c runs the mail transactions
 * on the session this opens.
 *
 * A TLS handshake that fails with relay_tls = may is tried once more over
 * a new connection without STARTTLS; with relay_tls = encrypt the session
 * is not opened. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "conf.h"
#include "hostport.h"
#include "monotime.h"
#include "msg.h"
#include "mymalloc.h"
#include "relay.h"
#include "tls_util.h"

/* relay_tls values */
#define RELAY_TLS_NONE      0
#define RELAY_TLS_MAY       1
#define RELAY_TLS_ENCRYPT   2

/* What relay_connect_try() found. */
#define RELAY_CONNECT_OK           0
#define RELAY_CONNECT_FAILED       (-1)
#define RELAY_CONNECT_TLS_FAILED   (-2)    /* try again without TLS */

/* A connected, non-blocking socket to one address, or -1 with why. */
static int
relay_connect_addr(const struct addrinfo *ai, long long deadline, VBUF *why)
{
    RELAY_IO probe;
    socklen_t len = sizeof(int);
    int fd, err = 0;

    if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
        vbuf_set(why, strerror(errno));
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno != EINPROGRESS) {
            vbuf_set(why, strerror(errno));
            close(fd);
            return -1;
        }
        memset(&probe, 0, sizeof(probe));
        probe.fd = fd;
        if (relay_io_wait(&probe, POLLOUT, deadline, why) < 0) {
            vbuf_set(why, "Connection timed out");
            close(fd);
            return -1;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err != 0) {
            vbuf_set(why, strerror(err));
            close(fd);
            return -1;
        }
    }
    return fd;
}

/* The mechanisms of an AUTH keyword ("AUTH LOGIN PLAIN", or the older
 * "AUTH=LOGIN PLAIN") that relay_auth.c knows. */
static void
relay_connect_auth(RELAY_SMTP *sess, const char *mechs)
{
    char   *copy = mystrdup(mechs);
    char   *mech, *save = NULL;

    for (mech = strtok_r(copy, " ", &save); mech; mech = strtok_r(NULL, " ", &save)) {
        if (strcasecmp(mech, "PLAIN") == 0)
            sess->features |= RELAY_SMTP_AUTH_PLAIN;
        else if (strcasecmp(mech, "LOGIN") == 0)
            sess->features |= RELAY_SMTP_AUTH_LOGIN;
    }
    myfree(copy);
}

/* Parses the EHLO reply's keywords. */
static void
relay_connect_features(RELAY_SMTP *sess)
{
    char *text = mystrdup(vbuf_str(sess->reply->text));
    char *line, *save = NULL;
    int first = 1;

    sess->features = 0;
    sess->size_limit = 0;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (first) {                    /* the server's name and greeting */
            first = 0;
            continue;
        }
        if (strcasecmp(line, "PIPELINING") == 0)
            sess->features |= RELAY_SMTP_PIPELINING;
        else if (strcasecmp(line, "8BITMIME") == 0)
            sess->features |= RELAY_SMTP_8BITMIME;
        else if (strcasecmp(line, "STARTTLS") == 0)
            sess->features |= RELAY_SMTP_STARTTLS;
        else if (strcasecmp(line, "SMTPUTF8") == 0)
            sess->features |= RELAY_SMTP_SMTPUTF8;
        else if (strncasecmp(line, "AUTH", 4) == 0 && (line[4] == ' ' || line[4] == '='))
            relay_connect_auth(sess, line + 5);
        else if (strncasecmp(line, "SIZE", 4) == 0 && (line[4] == 0 || line[4] == ' ')) {
            sess->features |= RELAY_SMTP_SIZE;
            if (line[4] == ' ')
                sess->size_limit = strtoll(line + 5, NULL, 10);
            if (sess->size_limit < 0)
                sess->size_limit = 0;
        }
    }
    myfree(text);
}

/* Sets why to "host said: REPLY" and returns -1. */
static int
relay_connect_said(RELAY_SMTP *sess, VBUF *why, const char *what)
{
    vbuf_reset(why);
    vbuf_printf(why, "host %s %s: ", sess->relay, what);
    smtp_reply_format(sess->reply, why, 512);
    return -1;
}

void
relay_connect_io_why(const RELAY_SMTP *sess, VBUF *why, const char *io_why, const char *stage)
{
    vbuf_reset(why);
    if (strcmp(io_why, "timeout") == 0)
        vbuf_printf(why, "conversation with %s timed out while %s", sess->relay, stage);
    else if (strcmp(io_why, "lost connection") == 0)
        vbuf_printf(why, "lost connection with %s while %s", sess->relay, stage);
    else
        vbuf_printf(why, "%s with %s while %s", io_why, sess->relay, stage);
}

/* One command and its reply during the opening of the session; -1 with
 * why when the reply cannot be read. */
static int
relay_connect_command(RELAY_SMTP *sess, const char *cmd, const char *stage, VBUF *why)
{
    relay_io_printf(sess->io, "%s\r\n", cmd);
    if (relay_io_reply(sess->io, sess->reply, sess->reply_ms, sess->why) < 0) {
        relay_connect_io_why(sess, why, vbuf_str(sess->why), stage);
        return -1;
    }
    return 0;
}

/* EHLO, or HELO when the server refuses EHLO. */
static int
relay_connect_ehlo(RELAY_SMTP *sess, VBUF *why)
{
    VBUF *cmd = vbuf_create(300);
    int rc = -1;

    vbuf_printf(cmd, "EHLO %s", conf_str(P_myhostname));
    if (relay_connect_command(sess, vbuf_str(cmd), "performing the EHLO handshake", why) < 0)
        goto out;
    if (sess->reply->code / 100 == 2) {
        relay_connect_features(sess);
        rc = 0;
        goto out;
    }
    if (sess->reply->code / 100 != 5) {
        relay_connect_said(sess, why, "refused to talk to me");
        goto out;
    }
    vbuf_reset(cmd);
    vbuf_printf(cmd, "HELO %s", conf_str(P_myhostname));
    if (relay_connect_command(sess, vbuf_str(cmd), "performing the HELO handshake", why) < 0)
        goto out;
    if (sess->reply->code / 100 != 2) {
        relay_connect_said(sess, why, "refused to talk to me");
        goto out;
    }
    sess->features = 0;
    rc = 0;
  out:
    vbuf_free(cmd);
    return rc;
}

void
relay_connect_free(RELAY_SMTP *sess)
{
    relay_io_free(sess->io);
    smtp_reply_free(sess->reply);
    vbuf_free(sess->why);
    myfree(sess);
}

/* STARTTLS when the server offers it and relay_tls wants it. */
static int
relay_connect_starttls(RELAY_SMTP *sess, int use_tls, VBUF *why)
{
    int level = conf_enum(P_relay_tls);
    VBUF *info;

    if (level == RELAY_TLS_NONE || !use_tls
        || !(sess->features & RELAY_SMTP_STARTTLS)) {
        if (level != RELAY_TLS_ENCRYPT)
            return RELAY_CONNECT_OK;
        vbuf_reset(why);
        vbuf_printf(why, "TLS is required, but %s by host %s",
                    use_tls ? "was not offered" : "failed earlier", sess->relay);
        return RELAY_CONNECT_FAILED;
    }
    if (relay_connect_command(sess, "STARTTLS", "sending STARTTLS", why) < 0)
        return RELAY_CONNECT_FAILED;
    if (sess->reply->code != 220) {
        if (level == RELAY_TLS_ENCRYPT)
            return relay_connect_said(sess, why, "refused STARTTLS");
        msg_info("host %s refused STARTTLS; going on without TLS", sess->relay);
        return RELAY_CONNECT_OK;
    }
    /* Bytes after the 220 came before TLS and must not pass as protected
     * (CVE-2011-0411, the other way round). */
    if (sess->io->in_start < sess->io->in_end) {
        vbuf_reset(why);
        vbuf_printf(why, "host %s sent data after its reply to STARTTLS", sess->relay);
        return RELAY_CONNECT_FAILED;
    }
    if (relay_tls_start(sess->io, sess->host, sess->reply_ms, sess->why) < 0) {
        vbuf_reset(why);
        vbuf_printf(why, "%s with %s", vbuf_str(sess->why), sess->relay);
        return level == RELAY_TLS_ENCRYPT ? RELAY_CONNECT_FAILED : RELAY_CONNECT_TLS_FAILED;
    }
    info = vbuf_create(100);
    tls_info(sess->io->ssl, info);
    msg_info("Anonymous TLS connection established to %s: %s", sess->relay,
             vbuf_str(info));
    vbuf_free(info);
    return relay_connect_ehlo(sess, why) < 0 ? RELAY_CONNECT_FAILED : RELAY_CONNECT_OK;
}

/* Connects to the backend and opens an SMTP session, with TLS when use_tls
 * is set and relay_tls wants it; NULL with why and *status. */
static RELAY_SMTP *
relay_connect_try(int use_tls, VBUF *why, int *status)
{
    HOSTPORT hp;
    struct addrinfo hints, *res = NULL, *ai;
    char addr[INET6_ADDRSTRLEN + 1] = "";
    RELAY_SMTP *sess;
    long long deadline;
    int fd = -1, err;
    VBUF *cwhy = vbuf_create(100);

    *status = RELAY_CONNECT_FAILED;
    vbuf_reset(why);
    if (hostport_parse(&hp, conf_str(P_relay_host), "25", cwhy) < 0) {
        vbuf_printf(why, "bad relay_host: %s", vbuf_str(cwhy));
        vbuf_free(cwhy);
        return NULL;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
    if ((err = getaddrinfo(hp.host, hp.port, &hints, &res)) != 0) {
        vbuf_printf(why, "Host or domain name not found: %s: %s", hp.host,
                    err == EAI_SYSTEM ? strerror(errno) : gai_strerror(err));
        vbuf_free(cwhy);
        return NULL;
    }
    deadline = monotime_ms() + conf_time_ms(P_relay_connect_timeout);
    for (ai = res; ai; ai = ai->ai_next) {
        hostport_addr_str(ai->ai_addr, addr, sizeof(addr));
        if ((fd = relay_connect_addr(ai, deadline, cwhy)) >= 0)
            break;
        vbuf_reset(why);
        vbuf_printf(why, "connect to %s[%s]:%s: %s", hp.host, addr, hp.port,
                    vbuf_str(cwhy));
    }
    freeaddrinfo(res);
    vbuf_free(cwhy);
    if (fd < 0)
        return NULL;

    sess = mycalloc(1, sizeof(*sess));
    sess->io = relay_io_create(fd);
    sess->reply = smtp_reply_create();
    sess->why = vbuf_create(100);
    sess->opened = monotime_ms();
    sess->reply_ms = (int) conf_time_ms(P_relay_reply_timeout);
    snprintf(sess->host, sizeof(sess->host), "%s", hp.host);
    snprintf(sess->relay, sizeof(sess->relay), "%s[%s]:%s", hp.host, addr, hp.port);

    if (relay_io_reply(sess->io, sess->reply, sess->reply_ms, sess->why) < 0) {
        relay_connect_io_why(sess, why, vbuf_str(sess->why),
                          "receiving the initial server greeting");
    } else if (sess->reply->code / 100 != 2) {
        relay_connect_said(sess, why, "refused to talk to me");
    } else if (relay_connect_ehlo(sess, why) == 0
               && (*status = relay_connect_starttls(sess, use_tls, why)) == RELAY_CONNECT_OK) {
        return sess;
    }
    relay_connect_free(sess);
    return NULL;
}

RELAY_SMTP *
relay_connect_open(VBUF *why)
{
    RELAY_SMTP *sess;
    int status;

    sess = relay_connect_try(1, why, &status);
    if (sess == NULL && status == RELAY_CONNECT_TLS_FAILED) {
        msg_info("%s; trying again without TLS", vbuf_str(why));
        sess = relay_connect_try(0, why, &status);
    }
    return sess;
}
