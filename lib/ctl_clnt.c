/* The client end of a daemon's control socket (ctl_clnt.h): the request,
 * the reply and the reason, kept once for the typed clients. */
#include <string.h>

#include "attr_clnt.h"
#include "ctl_clnt.h"
#include "mymalloc.h"
#include "vbuf.h"

struct CTL_CLNT {
    ATTR_CLNT *attr;
    ATTR *request;
    ATTR *reply;
    VBUF *why;
};

CTL_CLNT *
ctl_clnt_create(const char *socket_path, const char *proto, int version,
                int timeout_ms)
{
    CTL_CLNT *clnt = mymalloc(sizeof(*clnt));

    clnt->attr = attr_clnt_create(socket_path, proto, version, timeout_ms);
    clnt->request = attr_create();
    clnt->reply = attr_create();
    clnt->why = vbuf_create(100);
    return clnt;
}

CTL_CLNT *
ctl_clnt_free(CTL_CLNT *clnt)
{
    if (clnt) {
        attr_clnt_free(clnt->attr);
        attr_free(clnt->request);
        attr_free(clnt->reply);
        vbuf_free(clnt->why);
        myfree(clnt);
    }
    return NULL;
}

const char *
ctl_clnt_error(const CTL_CLNT *clnt)
{
    return vbuf_str(clnt->why);
}

int
ctl_clnt_call(CTL_CLNT *clnt, const char *verb)
{
    const char *status, *reason;

    attr_reset(clnt->request);
    attr_set(clnt->request, "request", verb);
    if (attr_clnt_request(clnt->attr, clnt->request, clnt->reply,
                          clnt->why) < 0)
        return CTL_CLNT_NOANSWER;
    if ((status = attr_get(clnt->reply, "status")) == NULL
        || strcmp(status, "0") != 0) {
        reason = attr_get(clnt->reply, "reason");
        vbuf_set(clnt->why, reason ? reason : "no reason given");
        return CTL_CLNT_REFUSED;
    }
    return CTL_CLNT_OK;
}

const ATTR *
ctl_clnt_reply(const CTL_CLNT *clnt)
{
    return clnt->reply;
}

int
ctl_clnt_count(CTL_CLNT *clnt, const char *name, long *count)
{
    if (attr_get_long(clnt->reply, name, count) < 0 || *count < 0) {
        vbuf_set(clnt->why, "reply without a valid ");
        vbuf_append_str(clnt->why, name);
        return -1;
    }
    return 0;
}
