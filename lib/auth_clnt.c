/* The typed client of authd, on ctl_clnt: builds the requests (the
 * password in base64, see auth_clnt.h), checks the replies, and turns
 * every failure to get an answer into AUTH_CLNT_TEMP, so that a caller
 * never takes silence for success. */
#include <string.h>

#include <openssl/evp.h>

#include "attr.h"
#include "auth_clnt.h"
#include "ctl_clnt.h"
#include "mymalloc.h"
#include "path.h"

struct AUTH_CLNT {
    CTL_CLNT *ctl;
    VBUF *b64;
};

AUTH_CLNT *
auth_clnt_create(const char *socket_path, int timeout_ms)
{
    AUTH_CLNT *clnt = mymalloc(sizeof(*clnt));

    clnt->ctl = ctl_clnt_create(socket_path, AUTH_PROTO, AUTH_VERSION,
                                timeout_ms);
    clnt->b64 = vbuf_create(64);
    return clnt;
}

/* Forgets the password wherever this client kept it: in its base64
 * and in the request (NULL when ctl_clnt_free() drops it). */
static void
auth_clnt_wipe(AUTH_CLNT *clnt, ATTR *request)
{
    explicit_bzero(clnt->b64->data, clnt->b64->cap);
    vbuf_reset(clnt->b64);
    if (request)
        attr_reset(request);
}

AUTH_CLNT *
auth_clnt_free(AUTH_CLNT *clnt)
{
    if (clnt) {
        auth_clnt_wipe(clnt, NULL);
        ctl_clnt_free(clnt->ctl);
        vbuf_free(clnt->b64);
        myfree(clnt);
    }
    return NULL;
}

const char *
auth_clnt_default_path(void)
{
    return path_run(AUTH_SOCKET_NAME);
}

/* Sends the request begun; the status of the reply, or -1 with why (no
 * answer, or status=-1: authd did not understand the request). */
static long
auth_clnt_call(AUTH_CLNT *clnt, VBUF *why)
{
    const char *reason;

    switch (ctl_clnt_send(clnt->ctl)) {
    case CTL_CLNT_OK:
        vbuf_set(why, "");
        return 0;
    case CTL_CLNT_REFUSED:
        if (ctl_clnt_status(clnt->ctl) < 0) {
            vbuf_set(why, "authd refused the request: ");
            vbuf_append_str(why, ctl_clnt_error(clnt->ctl));
            return -1;
        }
        /* 1 or 2 (or a newer status), the reason optional. */
        reason = attr_get(ctl_clnt_reply(clnt->ctl), "reason");
        vbuf_set(why, reason ? reason : "");
        return ctl_clnt_status(clnt->ctl);
    default:
        vbuf_set(why, ctl_clnt_error(clnt->ctl));
        return -1;
    }
}

int
auth_clnt_verify(AUTH_CLNT *clnt, const char *method, const char *user,
                 const char *password, const char *client_addr, VBUF *why)
{
    size_t len = strlen(password);
    ATTR *request;
    long status;

    vbuf_reserve(clnt->b64, 4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *) clnt->b64->data,
                    (const unsigned char *) password, (int) len);
    clnt->b64->len = strlen(clnt->b64->data);

    request = ctl_clnt_begin(clnt->ctl, "verify");
    if (attr_set(request, "method", method ? method : "PLAIN") < 0
        || attr_set(request, "user", user) < 0
        || attr_set(request, "password", vbuf_str(clnt->b64)) < 0) {
        auth_clnt_wipe(clnt, request);
        vbuf_set(why, "user name, password or mechanism that cannot be anyone's");
        return AUTH_CLNT_FAIL;
    }
    if (client_addr)
        attr_set(request, "client", client_addr);
    status = auth_clnt_call(clnt, why);
    auth_clnt_wipe(clnt, request);
    switch (status) {
    case AUTH_CLNT_OK:
        return AUTH_CLNT_OK;
    case AUTH_CLNT_FAIL:
        if (vbuf_len(why) == 0)
            vbuf_set(why, "authentication failed");
        return AUTH_CLNT_FAIL;
    case -1:
        return AUTH_CLNT_TEMP;
    default:
        if (status != AUTH_CLNT_TEMP) {
            vbuf_set(why, "");
            vbuf_printf(why, "authd: unknown status %ld", status);
        } else if (vbuf_len(why) == 0)
            vbuf_set(why, "authd cannot tell now");
        return AUTH_CLNT_TEMP;
    }
}

int
auth_clnt_forget(AUTH_CLNT *clnt, const char *user, VBUF *why)
{
    long status;

    if (attr_set(ctl_clnt_begin(clnt->ctl, "forget"), "user", user) < 0) {
        vbuf_set(why, "user name cannot be sent");
        return -1;
    }
    if ((status = auth_clnt_call(clnt, why)) < 0)
        return -1;
    if (status != 0) {
        vbuf_set(why, "");
        vbuf_printf(why, "authd: unexpected status %ld", status);
        return -1;
    }
    return 0;
}
