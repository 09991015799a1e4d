/* The control socket that alligatectl talks to: status, reload, stop.
 * It is a Unix socket of mode 0600 in run_directory, so only its owner
 * (and root) can use it. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "attr.h"
#include "attr_serv.h"
#include "conf.h"
#include "events.h"
#include "master.h"
#include "master_proto.h"
#include "msg.h"
#include "mymalloc.h"
#include "path.h"
#include "unix_sock.h"
#include "vbuf.h"

static ATTR_SERV *master_ctl_serv;
static int master_ctl_fd = -1;
static char *master_ctl_path;

/* One word for alligatectl status. */
static const char *
master_ctl_proc_state(const MASTER_SERV *serv, const MASTER_PROC *proc)
{
    if (serv->kind == MASTER_SINGLE)
        return "running";
    if (proc->busy)
        return proc->retiring ? "busy/retiring" : "busy";
    return proc->retiring ? "retiring" : "idle";
}

static void
master_ctl_status(ATTR *reply)
{
    VBUF *pids = vbuf_create(64);
    VBUF *states = vbuf_create(64);
    int i;

    attr_set_long(reply, "master_pid", (long) getpid());
    attr_set_long(reply, "uptime", (long) ((event_time_refresh() - master_started) / 1000));
    attr_set(reply, "config_directory", conf_str(P_config_directory));
    attr_set(reply, "daemon_directory", conf_str(P_daemon_directory));
    attr_set_long(reply, "daemon_directory_beside",
                  master_daemon_dir_beside && !conf_is_set(conf_active(), P_daemon_directory));
    attr_set_long(reply, "services", master_nservices);
    for (i = 0; i < master_nservices; i++) {
        const MASTER_SERV *serv = &master_services[i];
        const MASTER_PROC *proc;
        int idle, busy, total;
        char name[64];

        master_service_counts(serv, &idle, &busy, &total);
        vbuf_reset(pids);
        vbuf_reset(states);
        for (proc = serv->procs; proc; proc = proc->next) {
            vbuf_printf(pids, "%s%d", pids->len ? "," : "", (int) proc->pid);
            vbuf_printf(states, "%s%s", states->len ? "," : "",
                        master_ctl_proc_state(serv, proc));
        }
        snprintf(name, sizeof(name), "service_%d", i);
        attr_setf(reply, name, "%s", serv->name);
        snprintf(name, sizeof(name), "service_%d_program", i);
        attr_set(reply, name, serv->program);
        snprintf(name, sizeof(name), "service_%d_kind", i);
        attr_set(reply, name, serv->kind == MASTER_POOL ? "pool" : "single");
        snprintf(name, sizeof(name), "service_%d_state", i);
        attr_set(reply, name, !serv->enabled ? "disabled"
                 : serv->throttle_until > event_now_ms() ? "throttled" : "running");
        snprintf(name, sizeof(name), "service_%d_listen", i);
        attr_set(reply, name, serv->listen_spec ? serv->listen_spec : "");
        snprintf(name, sizeof(name), "service_%d_pids", i);
        attr_set(reply, name, vbuf_str(pids));
        snprintf(name, sizeof(name), "service_%d_states", i);
        attr_set(reply, name, vbuf_str(states));
        snprintf(name, sizeof(name), "service_%d_busy", i);
        attr_set_long(reply, name, busy);
        snprintf(name, sizeof(name), "service_%d_idle", i);
        attr_set_long(reply, name, idle);
        snprintf(name, sizeof(name), "service_%d_total", i);
        attr_set_long(reply, name, total);
        snprintf(name, sizeof(name), "service_%d_max", i);
        attr_set_long(reply, name, serv->kind == MASTER_POOL ?
                      (long) conf_int(P_smtpd_max_processes) : 1);
    }
    vbuf_free(pids);
    vbuf_free(states);
}

static void
master_ctl_handle(const ATTR *request, ATTR *reply, void *context)
{
    const char *verb = attr_get(request, "request");

    (void) context;
    if (verb == NULL) {
        attr_set(reply, "status", "-1");
        attr_set(reply, "reason", "no request");
    } else if (strcmp(verb, "status") == 0) {
        attr_set(reply, "status", "0");
        master_ctl_status(reply);
    } else if (strcmp(verb, "reload") == 0) {
        /* Done before the reply, so that once alligatectl reload returns
         * new sessions get the new configuration. */
        VBUF *why = vbuf_create(64);

        if (master_reload(why) < 0) {
            attr_set(reply, "status", "-1");
            attr_set(reply, "reason", vbuf_str(why));
        } else {
            attr_set(reply, "status", "0");
        }
        vbuf_free(why);
    } else if (strcmp(verb, "stop") == 0) {
        attr_set(reply, "status", "0");
        master_stop();
    } else {
        attr_set(reply, "status", "-1");
        attr_set(reply, "reason", "unknown request");
    }
}

void
master_ctl_open(void)
{
    VBUF *why = vbuf_create(64);
    const char *dir = conf_str(P_run_directory);

    master_ctl_path = path_join(dir, MASTER_CTL_SOCKET);
    if ((master_ctl_fd = unix_sock_listen(master_ctl_path, 0600, 16, why)) < 0)
        msg_fatal("control socket: %s", vbuf_str(why));
    master_ctl_serv = attr_serv_create(master_ctl_fd, MASTER_CTL_PROTO,
                                       MASTER_CTL_VERSION, master_ctl_handle,
                                       NULL);
    vbuf_free(why);
}

void
master_ctl_close(void)
{
    if (master_ctl_serv == NULL)
        return;
    master_ctl_serv = attr_serv_free(master_ctl_serv);
    close(master_ctl_fd);
    unlink(master_ctl_path);
    master_ctl_path = myfree(master_ctl_path);
}
