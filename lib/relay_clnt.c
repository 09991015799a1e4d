/* The typed client of relay's control socket, on attr_clnt: builds the
 * requests and checks the replies, so that alligatectl only decides what
 * to print. */
#include <string.h>

#include "attr.h"
#include "attr_clnt.h"
#include "conf.h"
#include "mymalloc.h"
#include "relay_clnt.h"
#include "relay_proto.h"
#include "vbuf.h"

struct RELAY_CLNT {
    ATTR_CLNT *attr;
    ATTR *request;
    ATTR *reply;
    VBUF *why;
};

RELAY_CLNT *
relay_clnt_create(const char *socket_path, int timeout_ms)
{
    RELAY_CLNT *clnt = mymalloc(sizeof(*clnt));

    clnt->attr = attr_clnt_create(socket_path, RELAY_CTL_PROTO,
                                  RELAY_CTL_VERSION, timeout_ms);
    clnt->request = attr_create();
    clnt->reply = attr_create();
    clnt->why = vbuf_create(100);
    return clnt;
}

RELAY_CLNT *
relay_clnt_free(RELAY_CLNT *clnt)
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
relay_clnt_default_path(void)
{
    static VBUF *path;

    if (path == NULL)
        path = vbuf_create(100);
    vbuf_set(path, conf_str(P_run_directory));
    vbuf_append_str(path, "/" RELAY_CTL_SOCKET);
    return vbuf_str(path);
}

const char *
relay_clnt_error(const RELAY_CLNT *clnt)
{
    return vbuf_str(clnt->why);
}

/* One request; the reply is in clnt->reply.  Anything but status=0 is a
 * refusal. */
static int
relay_clnt_call(RELAY_CLNT *clnt, const char *verb)
{
    const char *status, *reason;

    attr_reset(clnt->request);
    attr_set(clnt->request, "request", verb);
    if (attr_clnt_request(clnt->attr, clnt->request, clnt->reply,
                          clnt->why) < 0)
        return RELAY_CLNT_NOANSWER;
    if ((status = attr_get(clnt->reply, "status")) == NULL
        || strcmp(status, "0") != 0) {
        reason = attr_get(clnt->reply, "reason");
        vbuf_set(clnt->why, reason ? reason : "no reason given");
        return RELAY_CLNT_REFUSED;
    }
    return RELAY_CLNT_OK;
}

int
relay_clnt_flush(RELAY_CLNT *clnt)
{
    return relay_clnt_call(clnt, "flush");
}

/* A count of the status reply; -1 (with why) when it is not there. */
static int
relay_clnt_get_count(RELAY_CLNT *clnt, const char *name, long *count)
{
    if (attr_get_long(clnt->reply, name, count) < 0 || *count < 0) {
        vbuf_set(clnt->why, "reply without a valid ");
        vbuf_append_str(clnt->why, name);
        return -1;
    }
    return 0;
}

int
relay_clnt_status(RELAY_CLNT *clnt, RELAY_CLNT_COUNTS *counts)
{
    int rc;

    memset(counts, 0, sizeof(*counts));
    if ((rc = relay_clnt_call(clnt, "status")) != RELAY_CLNT_OK)
        return rc;
    if (relay_clnt_get_count(clnt, "ready", &counts->ready) < 0
        || relay_clnt_get_count(clnt, "active", &counts->active) < 0
        || relay_clnt_get_count(clnt, "agents", &counts->agents) < 0
        || relay_clnt_get_count(clnt, "busy", &counts->busy) < 0)
        return RELAY_CLNT_NOANSWER;     /* confused */
    return RELAY_CLNT_OK;
}
