/* alligatectl start, stop, reload and status: the service as a whole,
 * through master's pid file and control socket. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "ctl.h"
#include "dirs.h"
#include "master_clnt.h"
#include "master_proto.h"
#include "msg.h"
#include "path.h"
#include "tarpit_clnt.h"
#include "vbuf.h"

#define CTL_START_TIMEOUT_MS    60000
#define CTL_STOP_TIMEOUT_MS     30000
#define CTL_RETIRE_TIMEOUT_MS   MASTER_CLNT_TIMEOUT_MS

/* The pid of the running master, or 0. */
static pid_t
ctl_running(void)
{
    const char *path = path_run(MASTER_PID_FILE);
    char buf[32];
    ssize_t n;
    int fd;
    pid_t pid = 0;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    /* master holds an exclusive lock while it lives. */
    if (flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
        n = read(fd, buf, sizeof(buf) - 1);
        buf[n > 0 ? n : 0] = 0;
        pid = atoi(buf);
        if (pid <= 0)
            pid = 1;
    }
    close(fd);
    return pid;
}

static MASTER_CLNT *
ctl_master_clnt(void)
{
    return master_clnt_create(master_clnt_default_path(), MASTER_CLNT_TIMEOUT_MS);
}

/* A request's result; exits 1 when master could not be asked. */
static int
ctl_master_answered(MASTER_CLNT *clnt, int rc)
{
    if (rc == MASTER_CLNT_NOANSWER) {
        fprintf(stderr, "alligatectl: cannot talk to master: %s\n",
                master_clnt_error(clnt));
        exit(1);
    }
    return rc;
}

/* master's status; exits 1 when master could not be asked. */
static MASTER_CLNT_STATUS *
ctl_master_status(MASTER_CLNT *clnt)
{
    MASTER_CLNT_STATUS *status;

    /* master answers status with 0 only. */
    if (ctl_master_answered(clnt, master_clnt_status(clnt, &status)) != MASTER_CLNT_OK) {
        fprintf(stderr, "alligatectl: master refused status: %s\n",
                master_clnt_error(clnt));
        exit(1);
    }
    return status;
}

/* daemon_directory/master: the built-in directory, or, when main.cf does
 * not set daemon_directory and alligatectl sits beside master (a build
 * tree), that one (lib/daemon_dir.c). */
static const char *
ctl_master_path(char *buf, size_t size)
{
    snprintf(buf, size, "%s/master", conf_str(P_daemon_directory));
    if (access(buf, X_OK) < 0) {
        fprintf(stderr, "alligatectl: cannot execute %s: %s (check daemon_directory)\n",
                buf, strerror(errno));
        exit(1);
    }
    return buf;
}

/* Starts master in the background and reads its stderr until it says
 * "ready" (every listener accepts connections) or why it could not. */
static int
ctl_start_background(const char *master)
{
    VBUF *said = vbuf_create(256);
    int pipefd[2];
    pid_t pid;
    int status;
    struct pollfd pfd;
    long long waited = 0;

    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        perror("alligatectl: pipe");
        return 1;
    }
    switch (pid = fork()) {
    case -1:
        perror("alligatectl: fork");
        return 1;
    case 0:{
            int devnull = open("/dev/null", O_RDWR);

            setsid();
            dup2(devnull, 0);
            dup2(devnull, 1);
            dup2(pipefd[1], 2);
            execl(master, "master", "-c", ctl_config_dir, "-r", (char *) NULL);
            fprintf(stderr, "cannot execute %s: %s\n", master, strerror(errno));
            _exit(127);
        }
    }
    close(pipefd[1]);
    pfd.fd = pipefd[0];
    pfd.events = POLLIN;
    while (waited < CTL_START_TIMEOUT_MS) {
        char buf[1024];
        ssize_t n;

        if (poll(&pfd, 1, 100) == 0) {
            waited += 100;
            continue;
        }
        if ((n = read(pipefd[0], buf, sizeof(buf))) <= 0)
            break;
        vbuf_append(said, buf, (size_t) n);
        if (strstr(vbuf_str(said), "ready\n"))
            break;
    }
    close(pipefd[0]);
    if (strstr(vbuf_str(said), "ready\n")) {
        printf("alligatectl: started (pid %d)\n", (int) pid);
        vbuf_free(said);
        return 0;
    }
    fputs(vbuf_str(said), stderr);
    if (waited >= CTL_START_TIMEOUT_MS) {
        fprintf(stderr, "alligatectl: master did not become ready; stopping it\n");
        kill(pid, SIGTERM);
    }
    waitpid(pid, &status, 0);
    fprintf(stderr, "alligatectl: start failed\n");
    vbuf_free(said);
    return 1;
}

int
ctl_start(int argc, char **argv)
{
    char master[4096];
    CONFIG *conf;
    VBUF *why;
    pid_t pid;
    int foreground = 0;

    if (argc == 2 && strcmp(argv[1], "--foreground") == 0)
        foreground = 1;
    else if (argc != 1)
        ctl_usage();
    conf = ctl_load_config();
    /* In the foreground master says it all itself, on stderr. */
    if (!foreground && ctl_check_conf(conf) < 0)
        return 1;
    if ((pid = ctl_running()) != 0) {
        fprintf(stderr, "alligatectl: already running (pid %d)\n", (int) pid);
        return 1;
    }
    why = vbuf_create(64);
    if (dirs_ensure(why) < 0) {
        fprintf(stderr, "alligatectl: %s\n", vbuf_str(why));
        return 1;
    }
    vbuf_free(why);
    ctl_master_path(master, sizeof(master));
    if (foreground) {
        execl(master, "master", "-c", ctl_config_dir, "-f", (char *) NULL);
        fprintf(stderr, "alligatectl: cannot execute %s: %s\n", master, strerror(errno));
        return 1;
    }
    return ctl_start_background(master);
}

int
ctl_stop(int argc, char **argv)
{
    MASTER_CLNT *clnt;
    struct timespec tick = {0, 100 * 1000 * 1000};
    pid_t pid;
    int waited;

    (void) argv;
    if (argc != 1)
        ctl_usage();
    ctl_load_config();
    if ((pid = ctl_running()) == 0) {
        fprintf(stderr, "alligatectl: not running\n");
        return 1;
    }
    clnt = ctl_master_clnt();
    /* master answers stop with 0 only; it is gone when it stopped. */
    ctl_master_answered(clnt, master_clnt_stop(clnt));
    clnt = master_clnt_free(clnt);
    for (waited = 0; waited < CTL_STOP_TIMEOUT_MS; waited += 100) {
        if (ctl_running() == 0) {
            printf("alligatectl: stopped\n");
            return 0;
        }
        nanosleep(&tick, NULL);
    }
    fprintf(stderr, "alligatectl: master (pid %d) did not stop within %ds\n",
            (int) pid, CTL_STOP_TIMEOUT_MS / 1000);
    return 1;
}

/* After a reload: waits until no worker of the old configuration is idle,
 * so that from then on no new client meets one.  (Busy ones finish their
 * session on the old configuration, then exit.) */
static void
ctl_wait_retired(MASTER_CLNT *clnt)
{
    struct timespec tick = {0, 10 * 1000 * 1000};
    int waited;

    for (waited = 0; waited < CTL_RETIRE_TIMEOUT_MS; waited += 10) {
        MASTER_CLNT_STATUS *status = ctl_master_status(clnt);
        long old_idle = 0;
        int i;

        /* total counts the old configuration's workers too. */
        for (i = 0; i < status->nservices; i++)
            old_idle += status->services[i].total - status->services[i].busy
                - status->services[i].idle;
        master_clnt_status_free(status);
        if (old_idle == 0)
            return;
        nanosleep(&tick, NULL);
    }
}

int
ctl_reload(int argc, char **argv)
{
    MASTER_CLNT *clnt;

    (void) argv;
    if (argc != 1)
        ctl_usage();
    /* A bad configuration is refused here (and by master). */
    if (ctl_check_conf(ctl_load_config()) < 0)
        return 1;
    if (ctl_running() == 0) {
        fprintf(stderr, "alligatectl: not running\n");
        return 1;
    }
    clnt = ctl_master_clnt();
    if (ctl_master_answered(clnt, master_clnt_reload(clnt)) != MASTER_CLNT_OK) {
        fprintf(stderr, "alligatectl: reload failed: %s\n", master_clnt_error(clnt));
        master_clnt_free(clnt);
        return 1;
    }
    ctl_wait_retired(clnt);
    printf("alligatectl: reloaded\n");
    master_clnt_free(clnt);
    return 0;
}

/* One line per process: "    smtpd pid 1234 busy". */
static void
ctl_status_procs(const MASTER_CLNT_SERVICE *serv)
{
    int i;

    for (i = 0; i < serv->nprocs; i++)
        printf("    %s pid %ld %s\n", serv->program, serv->procs[i].pid,
               serv->procs[i].state ? serv->procs[i].state : "?");
}

/* The tarpit's line: its counts after the state, or why they are not
 * known. */
static void
ctl_status_tarpit(const MASTER_CLNT_SERVICE *serv)
{
    TARPIT_STATUS st;
    VBUF *why = vbuf_create(64);

    printf("%-12s %-8s %-9s ", serv->name, serv->program, serv->state);
    if (tarpit_clnt_status(tarpit_clnt_default_ctl_path(), TARPIT_CTL_TIMEOUT_MS,
                           &st, why) == 0)
        printf("held %ld (max %ld), released %ld, disconnects %ld, early %ld\n",
               st.held, st.max, st.released, st.disconnects, st.early);
    else
        printf("held ? (%s)\n", vbuf_str(why));
    vbuf_free(why);
}

int
ctl_status(int argc, char **argv)
{
    MASTER_CLNT_STATUS *status;
    MASTER_CLNT *clnt;
    char pid[32], uptime[32];
    int i;

    (void) argv;
    if (argc != 1)
        ctl_usage();
    ctl_load_config();
    if (ctl_running() == 0) {
        printf("alligate is not running\n");
        return 1;
    }
    clnt = ctl_master_clnt();
    status = ctl_master_status(clnt);
    snprintf(pid, sizeof(pid), "%ld", status->pid);
    snprintf(uptime, sizeof(uptime), "%ld", status->uptime);
    printf("master: pid %s, up %ss, configuration %s\n",
           status->pid > 0 ? pid : "?", status->uptime >= 0 ? uptime : "?",
           status->config_dir ? status->config_dir : "?");
    if (status->daemon_dir)
        printf("programs: %s%s\n", status->daemon_dir, status->daemon_dir_beside
               ? " (beside master, a build tree: daemon_directory is not set)" : "");
    for (i = 0; i < status->nservices; i++) {
        const MASTER_CLNT_SERVICE *serv = status->services + i;

        if (serv->disabled)
            continue;
        if (serv->pool)
            printf("%-12s %-8s %-9s listen %s, workers %ld (busy %ld, idle %ld, max %ld)\n",
                   serv->name, serv->program, serv->state, serv->listen,
                   serv->total, serv->busy, serv->idle, serv->max);
        else if (strcmp(serv->program, "tarpit") == 0)
            ctl_status_tarpit(serv);
        else
            printf("%-12s %-8s %-9s\n", serv->name, serv->program, serv->state);
        ctl_status_procs(serv);
    }
    ctl_rate_status();
    ctl_queue_status();
    ctl_archive_status();
    master_clnt_status_free(status);
    master_clnt_free(clnt);
    return 0;
}
