/* The typed client of authd, on attr_clnt: builds the requests (the
 * password in base64, see auth_clnt.h), checks the replies, and turns
 * every failure to get an answer into AUTH_CLNT_TEMP, so that a caller
 * never takes silence for success. */
#include <string.h>

#include <openssl/evp.h>

#include "attr.h"
#include "attr_clnt.h"
#include "auth_clnt.h"
#include "mymalloc.h"
#include "path.h"

struct AUTH_CLNT {
    ATTR_CLNT *attr;
    ATTR *request;
    ATTR *reply;
    VBUF *b64;
};

AUTH_CLNT *
auth_clnt_create(const char *socket_path, int timeout_ms)
{
    AUTH_CLNT *clnt = mymalloc(sizeof(*clnt));

    clnt->attr = attr_clnt_create(socket_path, AUTH_PROTO, AUTH_VERSION,
                                  timeout_ms);
    clnt->request = attr_create();
    clnt->reply = attr_create();
    clnt->b64 = vbuf_create(64);
    return clnt;
}

/* Forgets the password wherever this client kept it. */
static void
auth_clnt_wipe(AUTH_CLNT *clnt)
{
    explicit_bzero(clnt->b64->data, clnt->b64->cap);
    vbuf_reset(clnt->b64);
    attr_reset(clnt->request);
}

AUTH_CLNT *
auth_clnt_free(AUTH_CLNT *clnt)
{
    if (clnt) {
        auth_clnt_wipe(clnt);
        attr_clnt_free(clnt->attr);
        attr_free(clnt->request);
        attr_free(clnt->reply);
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

/* Sends clnt->request; the status of the reply, or -1 with why. */
static int
auth_clnt_call(AUTH_CLNT *clnt, VBUF *why)
{
    const char *reason;
    long status;

    if (attr_clnt_request(clnt->attr, clnt->request, clnt->reply, why) < 0)
        return -1;
    if (attr_get_long(clnt->reply, "status", &status) < 0) {
        vbuf_set(why, "authd: reply without a valid status");
        return -1;
    }
    reason = attr_get(clnt->reply, "reason");
    vbuf_set(why, reason ? reason : "");
    if (status < 0) {
        vbuf_set(why, "authd refused the request: ");
        vbuf_append_str(why, reason ? reason : "no reason given");
        return -1;
    }
    return (int) status;
}

int
auth_clnt_verify(AUTH_CLNT *clnt, const char *method, const char *user,
                 const char *password, const char *client_addr, VBUF *why)
{
    size_t len = strlen(password);
    int status;

    vbuf_reserve(clnt->b64, 4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *) clnt->b64->data,
                    (const unsigned char *) password, (int) len);
    clnt->b64->len = strlen(clnt->b64->data);

    attr_reset(clnt->request);
    attr_set(clnt->request, "request", "verify");
    if (attr_set(clnt->request, "method", method ? method : "PLAIN") < 0
        || attr_set(clnt->request, "user", user) < 0
        || attr_set(clnt->request, "password", vbuf_str(clnt->b64)) < 0) {
        auth_clnt_wipe(clnt);
        vbuf_set(why, "user name, password or mechanism that cannot be anyone's");
        return AUTH_CLNT_FAIL;
    }
    if (client_addr)
        attr_set(clnt->request, "client", client_addr);
    status = auth_clnt_call(clnt, why);
    auth_clnt_wipe(clnt);
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
            vbuf_printf(why, "authd: unknown status %d", status);
        } else if (vbuf_len(why) == 0)
            vbuf_set(why, "authd cannot tell now");
        return AUTH_CLNT_TEMP;
    }
}

int
auth_clnt_forget(AUTH_CLNT *clnt, const char *user, VBUF *why)
{
    int status;

    attr_reset(clnt->request);
    attr_set(clnt->request, "request", "forget");
    if (attr_set(clnt->request, "user", user) < 0) {
        vbuf_set(why, "user name cannot be sent");
        return -1;
    }
    if ((status = auth_clnt_call(clnt, why)) < 0)
        return -1;
    if (status != 0) {
        vbuf_set(why, "");
        vbuf_printf(why, "authd: unexpected status %d", status);
        return -1;
    }
    return 0;
}
