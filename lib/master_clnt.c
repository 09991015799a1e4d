/* The typed client of master's control socket, on ctl_clnt: builds the
 * requests, checks the replies and turns them into values, so that
 * alligatectl only decides what to print. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "ctl_clnt.h"
#include "master_clnt.h"
#include "master_proto.h"
#include "mymalloc.h"
#include "path.h"

MASTER_CLNT *
master_clnt_create(const char *socket_path, int timeout_ms)
{
    return ctl_clnt_create(socket_path, MASTER_CTL_PROTO, MASTER_CTL_VERSION,
                           timeout_ms);
}

MASTER_CLNT *
master_clnt_free(MASTER_CLNT *clnt)
{
    return ctl_clnt_free(clnt);
}

const char *
master_clnt_default_path(void)
{
    return path_run(MASTER_CTL_SOCKET);
}

const char *
master_clnt_error(const MASTER_CLNT *clnt)
{
    return ctl_clnt_error(clnt);
}

int
master_clnt_reload(MASTER_CLNT *clnt)
{
    return ctl_clnt_call(clnt, "reload");
}

int
master_clnt_stop(MASTER_CLNT *clnt)
{
    return ctl_clnt_call(clnt, "stop");
}

/* Attribute service_I_SUFFIX of the reply, or "". */
static const char *
master_clnt_service_get(const MASTER_CLNT *clnt, int i, const char *suffix)
{
    char name[64];
    const char *value;

    snprintf(name, sizeof(name), "service_%d%s", i, suffix);
    value = attr_get(ctl_clnt_reply(clnt), name);
    return value ? value : "";
}

static long
master_clnt_service_long(const MASTER_CLNT *clnt, int i, const char *suffix)
{
    return atol(master_clnt_service_get(clnt, i, suffix));
}

/* The two lists with commas, side by side. */
static void
master_clnt_procs(MASTER_CLNT_SERVICE *serv, const char *pids,
                  const char *states)
{
    char *pid_list = mystrdup(pids);
    char *state_list = mystrdup(states);
    char *psave = NULL, *ssave = NULL;
    char *pid, *state;
    int cap = 0;

    for (pid = strtok_r(pid_list, ",", &psave),
         state = strtok_r(state_list, ",", &ssave); pid;
         pid = strtok_r(NULL, ",", &psave), state = strtok_r(NULL, ",", &ssave)) {
        if (serv->nprocs == cap) {
            cap = cap ? cap * 2 : 8;
            serv->procs = myrealloc(serv->procs, (size_t) cap * sizeof(*serv->procs));
        }
        serv->procs[serv->nprocs].pid = atol(pid);
        serv->procs[serv->nprocs].state = state ? mystrdup(state) : NULL;
        serv->nprocs++;
    }
    myfree(pid_list);
    myfree(state_list);
}

int
master_clnt_status(MASTER_CLNT *clnt, MASTER_CLNT_STATUS **status)
{
    const ATTR *reply;
    MASTER_CLNT_STATUS *st;
    const char *dir;
    long n;
    int rc, i;

    *status = NULL;
    if ((rc = ctl_clnt_call(clnt, "status")) != MASTER_CLNT_OK)
        return rc;
    reply = ctl_clnt_reply(clnt);
    st = mycalloc(1, sizeof(*st));
    if (attr_get_long(reply, "master_pid", &st->pid) < 0)
        st->pid = 0;
    if (attr_get_long(reply, "uptime", &st->uptime) < 0)
        st->uptime = -1;
    dir = attr_get(reply, "config_directory");
    st->config_dir = dir ? mystrdup(dir) : NULL;
    dir = attr_get(reply, "daemon_directory");
    st->daemon_dir = dir ? mystrdup(dir) : NULL;
    st->daemon_dir_beside = attr_get_long(reply, "daemon_directory_beside", &n) == 0 && n == 1;
    if (attr_get_long(reply, "services", &n) < 0 || n < 0)
        n = 0;
    if (n > ATTR_COUNT_MAX)
        n = ATTR_COUNT_MAX;     /* more cannot be in one message */
    st->services = mycalloc((size_t) n + 1, sizeof(*st->services));
    for (i = 0; i < n; i++) {
        MASTER_CLNT_SERVICE *serv = st->services + i;

        serv->name = mystrdup(master_clnt_service_get(clnt, i, ""));
        serv->program = mystrdup(master_clnt_service_get(clnt, i, "_program"));
        serv->pool = strcmp(master_clnt_service_get(clnt, i, "_kind"), "pool") == 0;
        serv->state = mystrdup(master_clnt_service_get(clnt, i, "_state"));
        serv->disabled = strcmp(serv->state, "disabled") == 0;
        serv->listen = mystrdup(master_clnt_service_get(clnt, i, "_listen"));
        serv->busy = master_clnt_service_long(clnt, i, "_busy");
        serv->idle = master_clnt_service_long(clnt, i, "_idle");
        serv->total = master_clnt_service_long(clnt, i, "_total");
        serv->max = master_clnt_service_long(clnt, i, "_max");
        master_clnt_procs(serv, master_clnt_service_get(clnt, i, "_pids"),
                          master_clnt_service_get(clnt, i, "_states"));
        st->nservices = i + 1;
    }
    *status = st;
    return MASTER_CLNT_OK;
}

MASTER_CLNT_STATUS *
master_clnt_status_free(MASTER_CLNT_STATUS *st)
{
    int i, j;

    if (st == NULL)
        return NULL;
    for (i = 0; i < st->nservices; i++) {
        MASTER_CLNT_SERVICE *serv = st->services + i;

        myfree(serv->name);
        myfree(serv->program);
        myfree(serv->state);
        myfree(serv->listen);
        for (j = 0; j < serv->nprocs; j++)
            myfree(serv->procs[j].state);
        myfree(serv->procs);
    }
    myfree(st->services);
    myfree(st->config_dir);
    myfree(st->daemon_dir);
    return myfree(st);
}
