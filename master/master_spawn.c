/* Starting children with the descriptors they expect, and reaping them. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"
#include "events.h"
#include "master.h"
#include "master_proto.h"
#include "msg.h"
#include "mymalloc.h"
#include "server.h"

/* Moves fd to a descriptor number at or above floor (clearing no flags). */
static int
master_fd_above(int fd, int floor)
{
    int nfd = fcntl(fd, F_DUPFD, floor);

    if (nfd < 0)
        _exit(126);
    return nfd;
}

/* In the child: descriptors in place, privileges dropped, then exec. */
static void __attribute__((noreturn))
master_exec_child(MASTER_SERV *serv, int slot)
{
    int high = MASTER_LISTEN_FD + MASTER_MAX_LISTEN + 10;
    int life = master_fd_above(master_life_pipe[0], high);
    int status = master_fd_above(serv->status_pipe[1], high);
    int ticket = serv->tls_tickets ? master_fd_above(master_ticket_fd, high) : -1;
    int metrics = slot >= 0 ? master_fd_above(master_metrics_fd, high) : -1;
    int listen[MASTER_MAX_LISTEN];
    char path[4096];
    char count[16];
    char slot_arg[16];
    char *argv[16];
    int argc = 0;
    sigset_t mask;
    int devnull;
    int i;

    /* A fatal error here is the child's: master's clean-up (its pid
     * file, its sockets) must not run. */
    msg_fatal_hook(NULL);
    for (i = 0; i < serv->listen_count; i++)
        listen[i] = master_fd_above(serv->listen_fds[i], high);
    if (dup2(life, MASTER_LIFE_FD) < 0)
        _exit(126);
    if (dup2(status, MASTER_STATUS_FD) < 0)
        _exit(126);
    /* Only smtpd has any use for the ticket keys. */
    if (ticket < 0)
        close(MASTER_TICKET_FD);
    else if (dup2(ticket, MASTER_TICKET_FD) < 0)
        _exit(126);
    if (metrics < 0)
        close(MASTER_METRICS_FD);
    else if (dup2(metrics, MASTER_METRICS_FD) < 0)
        _exit(126);
    for (i = 0; i < serv->listen_count; i++)
        if (dup2(listen[i], MASTER_LISTEN_FD + i) < 0)
            _exit(126);
    closefrom(MASTER_LISTEN_FD + serv->listen_count);
    /* Outside the foreground, children write nowhere but the log (and not
     * to the pipe alligatectl start reads). */
    if (!master_foreground && (devnull = open("/dev/null", O_RDWR)) >= 0) {
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
        if (devnull > 2)
            close(devnull);
    }

    /* SIGHUP and SIGTERM stay blocked across exec, until server_init()
     * has its handlers: a reload or stop right after the fork must not
     * kill the child (master would take that for a failure to start). */
    signal(SIGCHLD, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, master_foreground ? SIG_IGN : SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    sigemptyset(&mask);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_SETMASK, &mask, NULL);

    server_drop_privileges(conf_str(P_daemon_user));

    snprintf(path, sizeof(path), "%s/%s", conf_str(P_daemon_directory),
             serv->program);
    snprintf(count, sizeof(count), "%d", serv->listen_count);
    argv[argc++] = (char *) serv->program;
    argv[argc++] = "-c";
    argv[argc++] = (char *) conf_str(P_config_directory);
    argv[argc++] = "-m";
    if (master_foreground)
        argv[argc++] = "-f";
    if (msg_verbose)
        argv[argc++] = "-v";
    argv[argc++] = "-s";
    argv[argc++] = (char *) serv->name;
    argv[argc++] = "-n";
    argv[argc++] = count;
    if (slot >= 0) {
        snprintf(slot_arg, sizeof(slot_arg), "%d", slot);
        argv[argc++] = "-i";
        argv[argc++] = slot_arg;
    }
    argv[argc] = NULL;
    execv(path, argv);
    msg_error("cannot execute %s: %m", path);
    _exit(127);
}

pid_t
master_spawn(MASTER_SERV *serv)
{
    MASTER_PROC *proc;
    sigset_t all, saved;
    pid_t pid;
    int slot = master_metrics_take();

    /* Master's own handlers must not run in the child. */
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &saved);
    pid = fork();
    if (pid == 0)
        master_exec_child(serv, slot);
    sigprocmask(SIG_SETMASK, &saved, NULL);
    switch (pid) {
    case -1:
        msg_warn("fork: %m");
        master_metrics_own(slot, -1, serv->program);
        return -1;
    default:
        master_metrics_own(slot, pid, serv->program);
        proc = mycalloc(1, sizeof(*proc));
        proc->pid = pid;
        proc->metrics_slot = slot;
        proc->serv = serv;
        proc->started = event_time_refresh();
        proc->next = serv->procs;
        serv->procs = proc;
        if (msg_verbose)
            msg_info("started %s (service %s) pid %d", serv->program,
                     serv->name, (int) pid);
        return pid;
    }
}

static MASTER_PROC *
master_find(pid_t pid, MASTER_SERV **servp)
{
    int i;

    for (i = 0; i < master_nservices; i++) {
        MASTER_PROC **pp;

        for (pp = &master_services[i].procs; *pp; pp = &(*pp)->next) {
            if ((*pp)->pid == pid) {
                MASTER_PROC *proc = *pp;

                *pp = proc->next;       /* unlink */
                *servp = &master_services[i];
                return proc;
            }
        }
    }
    return NULL;
}

/* Collects dead children; a child that dies soon after it started, without
 * ever reporting, is a sign of a broken installation or configuration:
 * its service is throttled, with back-off, instead of forked in a loop. */
void
master_reap(void)
{
    MASTER_SERV *serv;
    MASTER_PROC *proc;
    int wstatus;
    pid_t pid;

    while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0) {
        int abnormal;
        long long now = event_time_refresh();

        if ((proc = master_find(pid, &serv)) == NULL)
            continue;
        abnormal = WIFSIGNALED(wstatus) || WEXITSTATUS(wstatus) != 0;
        if (WIFSIGNALED(wstatus) && !master_stopping)
            msg_warn("process %s pid %d (service %s) killed by signal %d",
                     serv->program, (int) pid, serv->name, WTERMSIG(wstatus));
        else if (abnormal && !master_stopping)
            msg_warn("process %s pid %d (service %s) exit status %d",
                     serv->program, (int) pid, serv->name,
                     WEXITSTATUS(wstatus));
        if (!master_stopping) {
            int early = now - proc->started < 10000
                && (serv->kind == MASTER_SINGLE || !proc->reported);

            if (abnormal && early) {
                long long delay;

                serv->failures++;
                delay = 1000LL << (serv->failures < 7 ? serv->failures - 1 : 6);
                serv->throttle_until = now + delay;
                msg_warn("service %s: %s keeps failing; next start in %llds",
                         serv->name, serv->program, delay / 1000);
            } else if (serv->kind == MASTER_SINGLE && abnormal) {
                serv->failures = 0;
                msg_warn("service %s: restarting %s", serv->name, serv->program);
            }
        }
        master_metrics_release(proc->metrics_slot);
        myfree(proc);
        master_service_adjust(serv);
    }
}

void
master_signal_all(int sig)
{
    int i;

    for (i = 0; i < master_nservices; i++) {
        MASTER_PROC *proc;

        for (proc = master_services[i].procs; proc; proc = proc->next)
            kill(proc->pid, sig);
    }
}

int
master_child_count(void)
{
    int n = 0;
    int i;

    for (i = 0; i < master_nservices; i++) {
        MASTER_PROC *proc;

        for (proc = master_services[i].procs; proc; proc = proc->next)
            n++;
    }
    return n;
}
