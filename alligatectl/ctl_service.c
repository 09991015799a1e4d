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

#include "attr.h"
#include "attr_clnt.h"
#include "conf.h"
#include "ctl.h"
#include "dirs.h"
#include "master_proto.h"
#include "msg.h"
#include "mymalloc.h"
#include "vbuf.h"

#define CTL_START_TIMEOUT_MS    60000
#define CTL_STOP_TIMEOUT_MS     30000
#define CTL_REQUEST_TIMEOUT_MS  10000

static void
ctl_run_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", conf_str(P_run_directory), name);
}

/* The pid of the running master, or 0. */
static pid_t
ctl_running(void)
{
    char path[4096];
    char buf[32];
    ssize_t n;
    int fd;
    pid_t pid = 0;

    ctl_run_path(path, sizeof(path), MASTER_PID_FILE);
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

/* One request to master; exits 1 when master cannot be reached. */
static void
ctl_request(const char *verb, ATTR *reply)
{
    char path[4096];
    ATTR *req = attr_create();
    VBUF *why = vbuf_create(64);
    ATTR_CLNT *clnt;

    ctl_run_path(path, sizeof(path), MASTER_CTL_SOCKET);
    clnt = attr_clnt_create(path, MASTER_CTL_PROTO, MASTER_CTL_VERSION,
                            CTL_REQUEST_TIMEOUT_MS);
    attr_set(req, "request", verb);
    if (attr_clnt_request(clnt, req, reply, why) < 0) {
        fprintf(stderr, "alligatectl: cannot talk to master: %s\n", vbuf_str(why));
        exit(1);
    }
    attr_clnt_free(clnt);
    attr_free(req);
    vbuf_free(why);
}

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
    VBUF *why;
    pid_t pid;
    int foreground = 0;

    if (argc == 2 && strcmp(argv[1], "--foreground") == 0)
        foreground = 1;
    else if (argc != 1)
        ctl_usage();
    ctl_load_config();
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
    ATTR *reply = attr_create();
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
    ctl_request("stop", reply);
    for (waited = 0; waited < CTL_STOP_TIMEOUT_MS; waited += 100) {
        if (ctl_running() == 0) {
            printf("alligatectl: stopped\n");
            attr_free(reply);
            return 0;
        }
        nanosleep(&tick, NULL);
    }
    fprintf(stderr, "alligatectl: master (pid %d) did not stop within %ds\n",
            (int) pid, CTL_STOP_TIMEOUT_MS / 1000);
    attr_free(reply);
    return 1;
}

static const char *
ctl_get(const ATTR *a, const char *fmt, int i)
{
    char name[64];
    const char *v;

    snprintf(name, sizeof(name), fmt, i);
    v = attr_get(a, name);
    return v ? v : "";
}

/* After a reload: waits until no worker of the old configuration is idle,
 * so that from then on no new client meets one.  (Busy ones finish their
 * session on the old configuration, then exit.) */
static void
ctl_wait_retired(void)
{
    struct timespec tick = {0, 10 * 1000 * 1000};
    int waited;

    for (waited = 0; waited < CTL_REQUEST_TIMEOUT_MS; waited += 10) {
        ATTR *reply = attr_create();
        long nserv = 0;
        long old_idle = 0;
        int i;

        ctl_request("status", reply);
        attr_get_long(reply, "services", &nserv);
        for (i = 0; i < nserv; i++)
            old_idle += atol(ctl_get(reply, "service_%d_total", i))
                - atol(ctl_get(reply, "service_%d_busy", i))
                - atol(ctl_get(reply, "service_%d_idle", i));
        attr_free(reply);
        if (old_idle == 0)
            return;
        nanosleep(&tick, NULL);
    }
}

int
ctl_reload(int argc, char **argv)
{
    ATTR *reply = attr_create();

    (void) argv;
    if (argc != 1)
        ctl_usage();
    ctl_load_config();          /* a bad configuration is refused here */
    if (ctl_running() == 0) {
        fprintf(stderr, "alligatectl: not running\n");
        return 1;
    }
    ctl_request("reload", reply);
    if (attr_get(reply, "status") == NULL
        || strcmp(attr_get(reply, "status"), "0") != 0) {
        fprintf(stderr, "alligatectl: reload failed: %s\n",
                attr_get(reply, "reason") ? attr_get(reply, "reason") : "no reason given");
        attr_free(reply);
        return 1;
    }
    ctl_wait_retired();
    printf("alligatectl: reloaded\n");
    attr_free(reply);
    return 0;
}

/* One line per process: "    smtpd pid 1234 busy". */
static void
ctl_status_procs(const char *program, const char *pids, const char *states)
{
    char *pid_list = mystrdup(pids);
    char *state_list = mystrdup(states);
    char *psave = NULL, *ssave = NULL;
    char *pid, *state;

    for (pid = strtok_r(pid_list, ",", &psave),
         state = strtok_r(state_list, ",", &ssave); pid;
         pid = strtok_r(NULL, ",", &psave), state = strtok_r(NULL, ",", &ssave))
        printf("    %s pid %s %s\n", program, pid, state ? state : "?");
    myfree(pid_list);
    myfree(state_list);
}

int
ctl_status(int argc, char **argv)
{
    ATTR *reply = attr_create();
    long nserv = 0;
    long i;

    (void) argv;
    if (argc != 1)
        ctl_usage();
    ctl_load_config();
    if (ctl_running() == 0) {
        printf("alligate is not running\n");
        return 1;
    }
    ctl_request("status", reply);
    printf("master: pid %s, up %ss, configuration %s\n",
           attr_get(reply, "master_pid") ? attr_get(reply, "master_pid") : "?",
           attr_get(reply, "uptime") ? attr_get(reply, "uptime") : "?",
           attr_get(reply, "config_directory") ? attr_get(reply, "config_directory") : "?");
    attr_get_long(reply, "services", &nserv);
    for (i = 0; i < nserv; i++) {
        const char *state = ctl_get(reply, "service_%d_state", (int) i);

        if (strcmp(state, "disabled") == 0)
            continue;
        if (strcmp(ctl_get(reply, "service_%d_kind", (int) i), "pool") == 0)
            printf("%-12s %-8s %-9s listen %s, workers %s (busy %s, idle %s, max %s)\n",
                   ctl_get(reply, "service_%d", (int) i),
                   ctl_get(reply, "service_%d_program", (int) i), state,
                   ctl_get(reply, "service_%d_listen", (int) i),
                   ctl_get(reply, "service_%d_total", (int) i),
                   ctl_get(reply, "service_%d_busy", (int) i),
                   ctl_get(reply, "service_%d_idle", (int) i),
                   ctl_get(reply, "service_%d_max", (int) i));
        else
            printf("%-12s %-8s %-9s\n", ctl_get(reply, "service_%d", (int) i),
                   ctl_get(reply, "service_%d_program", (int) i), state);
        ctl_status_procs(ctl_get(reply, "service_%d_program", (int) i),
                         ctl_get(reply, "service_%d_pids", (int) i),
                         ctl_get(reply, "service_%d_states", (int) i));
    }
    ctl_queue_status();
    attr_free(reply);
    return 0;
}
