/* The supervised services: pools of pre-forked smtpd workers, one per
 * listener, and single daemons.  A new daemon plugs in with one row in
 * master_services[]. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "events.h"
#include "master.h"
#include "master_proto.h"
#include "msg.h"
#include "vbuf.h"

/* authd checks AUTH credentials: only when AUTH is offered. */
static int
master_authd_wanted(void)
{
    return conf_bool(P_smtp_auth);
}

/* tarpit holds the clients smtpd tarpits: with tarpit = yes (the rules'
 * tarpit), or when the blocklists' action is to tarpit, which needs no
 * tarpit = yes (and does nothing without blocklists). */
static int
master_tarpit_wanted(void)
{
    return conf_bool(P_tarpit)
        || (strcmp(conf_str(P_dnsbl_action), "tarpit") == 0
            && *conf_str(P_dnsbl_sites) != 0);
}

/* archiver keeps the copies: only with archive = yes.  Links made while
 * it is off wait in the queue for the next time it runs. */
static int
master_archiver_wanted(void)
{
    return conf_bool(P_archive);
}

MASTER_SERV master_services[] = {
    {.name = "ratekeeper", .program = "ratekeeper", .kind = MASTER_SINGLE,
     .listen_param = -1},
    {.name = "authd", .program = "authd", .kind = MASTER_SINGLE,
     .listen_param = -1, .wanted = master_authd_wanted},
    /* Always, as ratekeeper: smtpd asks it only with resolve_remote_hosts
     * or dnsbl_sites, but alligatectl dns works on any configuration, and
     * turning either on is a reload, not a new process. */
    {.name = "dnscache", .program = "dnscache", .kind = MASTER_SINGLE,
     .listen_param = -1},
    {.name = "tarpit", .program = "tarpit", .kind = MASTER_SINGLE,
     .listen_param = -1, .wanted = master_tarpit_wanted},
    {.name = "smtp", .program = "smtpd", .kind = MASTER_POOL,
     .listen_param = P_smtp_listen, .tls_tickets = 1},
    {.name = "submission", .program = "smtpd", .kind = MASTER_POOL,
     .listen_param = P_submission_listen, .tls_tickets = 1},
    {.name = "smtps", .program = "smtpd", .kind = MASTER_POOL,
     .listen_param = P_smtps_listen, .tls_tickets = 1},
    {.name = "archiver", .program = "archiver", .kind = MASTER_SINGLE,
     .listen_param = -1, .wanted = master_archiver_wanted},
    {.name = "relay", .program = "relay", .kind = MASTER_SINGLE,
     .listen_param = -1},
    /* The Prometheus endpoint: master opens metrics_listen, the exporter
     * serves it as daemon_user. */
    {.name = "metrics", .program = "metrics", .kind = MASTER_SINGLE,
     .listen_param = P_metrics_listen},
};
int master_nservices = sizeof(master_services) / sizeof(master_services[0]);

static void master_service_retry(int event, void *context);

/* Whether the configuration asks for the service. */
static int
master_service_wanted(const MASTER_SERV *serv)
{
    if (serv->listen_param >= 0)
        return *conf_str(serv->listen_param) != 0;
    return serv->wanted == NULL || serv->wanted();
}

void
master_service_counts(const MASTER_SERV *serv, int *idle, int *busy, int *total)
{
    const MASTER_PROC *proc;

    *idle = *busy = *total = 0;
    for (proc = serv->procs; proc; proc = proc->next) {
        ++*total;
        if (proc->busy)
            ++*busy;
        else if (!proc->retiring)
            ++*idle;
    }
}

/* A pending connection and no idle worker: start one. */
static void
master_service_wakeup(int event, void *context)
{
    MASTER_SERV *serv = context;

    (void) event;
    master_service_adjust(serv);
    if (serv->watching) {
        int idle, busy, total;

        master_service_counts(serv, &idle, &busy, &total);
        if (idle == 0 && total < conf_int(P_smtpd_max_processes))
            master_spawn(serv);
        master_service_adjust(serv);
    }
}

static void
master_service_watch(MASTER_SERV *serv, int on)
{
    int i;

    if (serv->watching == on)
        return;
    for (i = 0; i < serv->listen_count; i++) {
        if (on)
            event_enable_read(serv->listen_fds[i], master_service_wakeup, serv);
        else
            event_disable_readwrite(serv->listen_fds[i]);
    }
    serv->watching = on;
}

/* Brings a service to its wanted number of processes. */
void
master_service_adjust(MASTER_SERV *serv)
{
    int idle, busy, total;
    long long now = event_time_refresh();

    master_service_counts(serv, &idle, &busy, &total);
    if (total - busy - idle == 0)       /* no idle worker told to exit */
        master_listen_shut_retired(serv);
    if (master_stopping || !serv->enabled)
        return;
    if (now < serv->throttle_until) {
        master_service_watch(serv, 0);
        event_request_timer(master_service_retry, serv,
                            serv->throttle_until - now);
        return;
    }
    if (serv->kind == MASTER_SINGLE) {
        if (total == 0)
            master_spawn(serv);
        return;
    }
    while (idle < conf_int(P_smtpd_spare_processes)
           && total < conf_int(P_smtpd_max_processes)) {
        if (master_spawn(serv) < 0)
            break;
        idle++;
        total++;
    }
    /* With no idle worker, a client waits in the listen backlog; master
     * watches the listeners so that it can start a worker for it. */
    master_service_watch(serv, idle == 0
                         && total < conf_int(P_smtpd_max_processes));
}

static void
master_service_retry(int event, void *context)
{
    (void) event;
    master_service_adjust(context);
}

/* Status reports from a pool's workers. */
void
master_service_status(int event, void *context)
{
    MASTER_SERV *serv = context;
    MASTER_STATUS recs[64];
    ssize_t n;
    size_t i;

    (void) event;
    n = read(serv->status_pipe[0], recs, sizeof(recs));
    if (n <= 0)
        return;
    for (i = 0; i < (size_t) n / sizeof(recs[0]); i++) {
        MASTER_PROC *proc;

        for (proc = serv->procs; proc; proc = proc->next) {
            if (proc->pid == recs[i].pid) {
                proc->busy = recs[i].status == MASTER_STAT_BUSY;
                proc->reported = 1;
                serv->failures = 0;
                break;
            }
        }
    }
    master_service_adjust(serv);
}

void
master_services_init(void)
{
    VBUF *why = vbuf_create(64);
    int i;

    for (i = 0; i < master_nservices; i++) {
        MASTER_SERV *serv = &master_services[i];

        /* Pool workers report busy/idle, single daemons ready. */
        if (pipe2(serv->status_pipe, O_CLOEXEC) < 0)
            msg_fatal("pipe: %m");
        fcntl(serv->status_pipe[0], F_SETFL, O_NONBLOCK);
        event_enable_read(serv->status_pipe[0], master_service_status, serv);
        serv->enabled = master_service_wanted(serv);
        if (serv->enabled && serv->listen_param >= 0
            && master_listen_open(serv, why) < 0)
            msg_fatal("service %s: %s", serv->name, vbuf_str(why));
    }
    vbuf_free(why);
}

void
master_services_start(void)
{
    int i;

    for (i = 0; i < master_nservices; i++)
        master_service_adjust(&master_services[i]);
}

/* After a new configuration was activated: workers finish their session
 * on the old one and exit; new ones start with the new one.  A service
 * whose new listeners cannot be opened keeps its old ones; that is an
 * error, said in why. */
int
master_services_reload(VBUF *why)
{
    VBUF *one = vbuf_create(64);
    int status = 0;
    int i;

    for (i = 0; i < master_nservices; i++) {
        MASTER_SERV *serv = &master_services[i];
        MASTER_PROC *proc;
        int wanted = master_service_wanted(serv);
        /* A single daemon with listeners holds the ones it was started
         * with: new ones need a new process. */
        int relisten = serv->kind == MASTER_SINGLE && serv->listen_param >= 0
            && (serv->listen_spec == NULL
                || strcmp(serv->listen_spec, conf_str(serv->listen_param)) != 0);

        for (proc = serv->procs; proc; proc = proc->next) {
            if (serv->kind == MASTER_POOL)
                proc->retiring = 1;
            /* A single daemon the new configuration does without stops;
             * disabled, it is not started again. */
            kill(proc->pid, serv->kind == MASTER_SINGLE && (!wanted || relisten)
                 ? SIGTERM : SIGHUP);
        }
        if (serv->listen_param >= 0) {
            master_service_watch(serv, 0);
            vbuf_reset(one);
            if (!wanted) {
                master_listen_close(serv);
            } else if (master_listen_open(serv, one) < 0) {
                wanted = serv->listen_count > 0;
                if (wanted)
                    msg_error("service %s: %s; still listening on %s",
                              serv->name, vbuf_str(one), serv->listen_spec);
                else
                    msg_error("service %s: %s; not started", serv->name,
                              vbuf_str(one));
                vbuf_printf(why, "%sservice %s: %s", status ? "; " : "",
                            serv->name, vbuf_str(one));
                status = -1;
            }
        }
        serv->enabled = wanted;
        serv->failures = 0;
        serv->throttle_until = 0;
        master_service_adjust(serv);
    }
    vbuf_free(one);
    return status;
}

void
master_services_stop(void)
{
    int i;

    for (i = 0; i < master_nservices; i++) {
        MASTER_SERV *serv = &master_services[i];
        MASTER_PROC *proc;

        for (proc = serv->procs; proc; proc = proc->next)
            proc->retiring = serv->kind == MASTER_POOL;
        master_service_watch(serv, 0);
        master_listen_close(serv);
    }
    master_signal_all(SIGTERM);
    for (i = 0; i < master_nservices; i++)
        master_service_adjust(&master_services[i]);
}
