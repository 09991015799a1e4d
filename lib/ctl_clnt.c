/* The client end of a daemon's request/reply socket (ctl_clnt.h): the
 * request, the reply, its status and the reason, kept once for the typed
 * clients. */
#include <stddef.h>

#include "attr_clnt.h"
#include "ctl_clnt.h"
#include "msg.h"
#include "mymalloc.h"
#include "vbuf.h"

struct CTL_CLNT {
    ATTR_CLNT *attr;
    ATTR *request;
    ATTR *reply;
    long status;                /* of the last reply */
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
    clnt->status = 0;
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

ATTR *
ctl_clnt_begin(CTL_CLNT *clnt, const char *verb)
{
    attr_reset(clnt->request);
    if (attr_set(clnt->request, "request", verb) < 0)
        msg_panic("ctl_clnt_begin: bad verb");
    return clnt->request;
}

int
ctl_clnt_set(CTL_CLNT *clnt, const char *name, const char *value)
{
    if (value == NULL)
        return 0;
    if (attr_set(clnt->request, name, value) < 0) {
        vbuf_set(clnt->why, "");
        vbuf_printf(clnt->why, "%s cannot be sent (too long, or a line break in it)",
                    name);
        return -1;
    }
    return 0;
}

int
ctl_clnt_send(CTL_CLNT *clnt)
{
    const char *reason;
    long status;

    clnt->status = 0;
    if (attr_clnt_request(clnt->attr, clnt->request, clnt->reply,
                          clnt->why) < 0)
        return CTL_CLNT_NOANSWER;
    if (attr_get_long(clnt->reply, "status", &status) < 0)
        return ctl_clnt_confused(clnt, "reply without a valid status");
    if (status != 0) {
        clnt->status = status;
        reason = attr_get(clnt->reply, "reason");
        vbuf_set(clnt->why, reason ? reason : "no reason given");
        return CTL_CLNT_REFUSED;
    }
    return CTL_CLNT_OK;
}

int
ctl_clnt_call(CTL_CLNT *clnt, const char *verb)
{
    ctl_clnt_begin(clnt, verb);
    return ctl_clnt_send(clnt);
}

long
ctl_clnt_status(const CTL_CLNT *clnt)
{
    return clnt->status;
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

int
ctl_clnt_confused(CTL_CLNT *clnt, const char *why)
{
    vbuf_set(clnt->why, why);
    return CTL_CLNT_NOANSWER;
}
