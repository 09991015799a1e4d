/* AUTH (RFC 4954) at the backend as the client's user, for
 * relay_auth_replay: PLAIN with an initial response (RFC 4616) when the
 * server offers PLAIN, otherwise LOGIN when it offers that. On a session
 * that relay_connect.c opened (after EHLO, and after STARTTLS when there
 * was one), before the mail transaction.
 *
 * The password goes to the server and nowhere else: never into a log or
 * a reason, and every buffer that held it, or its base64, is wiped once
 * the command is sent (the output buffer included: a flush only resets
 * its length). */
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cred_seal.h"
#include "mymalloc.h"
#include "relay.h"

/* Appends the base64 of len bytes to out, in place (no copy elsewhere). */
static void
relay_auth_base64(const void *data, size_t len, VBUF *out)
{
    size_t  need = 4 * ((len + 2) / 3);

    vbuf_reserve(out, need);
    EVP_EncodeBlock((unsigned char *) out->data + out->len, data, (int) len);
    out->len += need;
    out->data[out->len] = 0;
}

/* Sends one line (an AUTH command or a response with a secret in it),
 * reads the reply, and wipes what was sent; -1 with why after an I/O
 * failure. */
static int
relay_auth_send(RELAY_SMTP *sess, VBUF *line, const char *stage, VBUF *why)
{
    int     rc;

    vbuf_append(line, "\r\n", 2);
    relay_io_write(sess->io, vbuf_str(line), vbuf_len(line));
    cred_wipe(line);
    rc = relay_io_reply(sess->io, sess->reply, sess->reply_ms, sess->why);
    cred_wipe(sess->io->out);
    if (rc < 0) {
        relay_connect_io_why(sess, why, vbuf_str(sess->why), stage);
        sess->broken = 1;
        return -1;
    }
    return 0;
}

/* A reply that makes no sense at this point: the session is not used
 * again. */
static int
relay_auth_unexpected(RELAY_SMTP *sess, const char *mech, VBUF *why)
{
    vbuf_reset(why);
    vbuf_printf(why, "host %s said: ", sess->relay);
    smtp_reply_format(sess->reply, why, 512);
    vbuf_printf(why, " (unexpected reply to AUTH %s)", mech);
    sess->broken = 1;
    return RELAY_AUTH_PROTO;
}

/* What a final reply to AUTH means. */
static int
relay_auth_result(RELAY_SMTP *sess, const char *mech, VBUF *why)
{
    int     class = sess->reply->code / 100;

    if (sess->reply->code == 235)
        return RELAY_AUTH_OK;
    if (class == 4 || class == 5) {
        if (sess->reply->code == 421)
            sess->broken = 1;
        return RELAY_AUTH_REFUSED;
    }
    return relay_auth_unexpected(sess, mech, why);
}

static int
relay_auth_plain(RELAY_SMTP *sess, const char *user, const char *password, VBUF *why)
{
    size_t  ulen = strlen(user), plen = strlen(password);
    size_t  len = 1 + ulen + 1 + plen;
    char   *msg = mymalloc(len);
    VBUF   *line = vbuf_create(16 + 4 * ((len + 2) / 3));

    /* No authorization identity: the user is the user. */
    msg[0] = 0;
    memcpy(msg + 1, user, ulen + 1);
    memcpy(msg + 1 + ulen + 1, password, plen);
    vbuf_set(line, "AUTH PLAIN ");
    relay_auth_base64(msg, len, line);
    OPENSSL_cleanse(msg, len);
    myfree(msg);
    if (relay_auth_send(sess, line, "sending AUTH PLAIN", why) < 0) {
        vbuf_free(line);
        return RELAY_AUTH_IO;
    }
    vbuf_free(line);
    return relay_auth_result(sess, "PLAIN", why);
}

static int
relay_auth_login_mech(RELAY_SMTP *sess, const char *user, const char *password, VBUF *why)
{
    VBUF   *line = vbuf_create(16 + 4 * ((strlen(password) + 2) / 3));
    int     rc = RELAY_AUTH_IO;

    vbuf_set(line, "AUTH LOGIN");
    if (relay_auth_send(sess, line, "sending AUTH LOGIN", why) < 0)
        goto out;
    if (sess->reply->code != 334) {
        rc = relay_auth_result(sess, "LOGIN", why);
        goto out;
    }
    relay_auth_base64(user, strlen(user), line);
    if (relay_auth_send(sess, line, "sending the AUTH LOGIN user name", why) < 0)
        goto out;
    if (sess->reply->code != 334) {
        rc = relay_auth_result(sess, "LOGIN", why);
        goto out;
    }
    relay_auth_base64(password, strlen(password), line);
    if (relay_auth_send(sess, line, "sending the AUTH LOGIN password", why) < 0)
        goto out;
    rc = relay_auth_result(sess, "LOGIN", why);
  out:
    cred_wipe(line);
    vbuf_free(line);
    return rc;
}

int
relay_auth_login(RELAY_SMTP *sess, const char *user, const char *password,
                 const char **mech, VBUF *why)
{
    if (sess->features & RELAY_SMTP_AUTH_PLAIN) {
        *mech = "PLAIN";
        return relay_auth_plain(sess, user, password, why);
    }
    if (sess->features & RELAY_SMTP_AUTH_LOGIN) {
        *mech = "LOGIN";
        return relay_auth_login_mech(sess, user, password, why);
    }
    *mech = "none";
    vbuf_reset(why);
    vbuf_printf(why, "host %s offers no AUTH PLAIN or LOGIN: cannot authenticate as the "
                "client's user (relay_auth_replay = yes)", sess->relay);
    return RELAY_AUTH_NONE;
}
