/* The typed client of relay's control socket, on ctl_clnt: builds the
 * requests and checks the replies, so that alligatectl only decides what
 * to print. */
#include <string.h>

#include "ctl_clnt.h"
#include "path.h"
#include "relay_clnt.h"
#include "relay_proto.h"

RELAY_CLNT *
relay_clnt_create(const char *socket_path, int timeout_ms)
{
    return ctl_clnt_create(socket_path, RELAY_CTL_PROTO, RELAY_CTL_VERSION,
                           timeout_ms);
}

RELAY_CLNT *
relay_clnt_free(RELAY_CLNT *clnt)
{
    return ctl_clnt_free(clnt);
}

const char *
relay_clnt_default_path(void)
{
    return path_run(RELAY_CTL_SOCKET);
}

const char *
relay_clnt_error(const RELAY_CLNT *clnt)
{
    return ctl_clnt_error(clnt);
}

int
relay_clnt_flush(RELAY_CLNT *clnt)
{
    return ctl_clnt_call(clnt, "flush");
}

int
relay_clnt_status(RELAY_CLNT *clnt, RELAY_CLNT_COUNTS *counts)
{
    int rc;

    memset(counts, 0, sizeof(*counts));
    if ((rc = ctl_clnt_call(clnt, "status")) != RELAY_CLNT_OK)
        return rc;
    if (ctl_clnt_count(clnt, "ready", &counts->ready) < 0
        || ctl_clnt_count(clnt, "active", &counts->active) < 0
        || ctl_clnt_count(clnt, "agents", &counts->agents) < 0
        || ctl_clnt_count(clnt, "busy", &counts->busy) < 0)
        return RELAY_CLNT_NOANSWER;     /* confused */
    return RELAY_CLNT_OK;
}
