/* master: Alligate's supervisor.
 *
 *   master -c CONFIG_DIR [-f] [-r] [-v]
 *
 * -f: foreground, log to stderr; -r: started by `alligatectl start`, which
 * reads stderr until master writes "ready" (or why it could not start).
 *
 * Signal handlers only set flags and poke a pipe; the loop clears a flag,
 * then acts. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "conf.h"
#include "conf_env.h"
#include "daemon_dir.h"
#include "dirs.h"
#include "events.h"
#include "master.h"
#include "master_proto.h"
#include "msg.h"
#include "mymalloc.h"
#include "path.h"
#include "printable.h"
#include "tls_conf.h"
#include "vbuf.h"

#define MASTER_STOP_GRACE_MS    10000   /* sessions get this long to end */
#define MASTER_READY_WAIT_MS    10000   /* daemons get this long to start */

int master_foreground;
int master_stopping;
int master_life_pipe[2];
long long master_started;
int master_daemon_dir_beside;

static volatile sig_atomic_t master_got_hup;
static volatile sig_atomic_t master_got_term;
static volatile sig_atomic_t master_got_chld;
static int master_wake_pipe[2];
static const char *master_config_dir;
static char *master_pid_path;
static int master_pid_fd = -1;
static int master_startup_channel;      /* -r: stderr goes to alligatectl */

static void
master_on_signal(int sig)
{
    int saved = errno;

    if (sig == SIGHUP)
        master_got_hup = 1;
    else if (sig == SIGCHLD)
        master_got_chld = 1;
    else
        master_got_term = 1;
    if (write(master_wake_pipe[1], "", 1) < 0) {
        /* The pipe is full: a wake-up is pending anyway. */
    }
    errno = saved;
}

static void
master_drain_wake(int event, void *context)
{
    char buf[64];

    (void) event;
    (void) context;
    while (read(master_wake_pipe[0], buf, sizeof(buf)) > 0)
        /* void */ ;
}

/* A stop request from the control socket acts like SIGTERM. */
void
master_stop(void)
{
    master_got_term = 1;
}

static void
master_cleanup(void)
{
    master_ctl_close();
    master_metrics_cleanup();
    if (master_pid_path) {
        unlink(master_pid_path);
        master_pid_path = NULL;
    }
}

/* One instance per run_directory: the pid file stays locked while master
 * lives. */
static void
master_lock_pid_file(void)
{
    const char *dir = conf_str(P_run_directory);
    char buf[32];
    ssize_t n;

    master_pid_path = path_join(dir, MASTER_PID_FILE);
    master_pid_fd = open(master_pid_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (master_pid_fd < 0)
        msg_fatal("open %s: %m", master_pid_path);
    if (flock(master_pid_fd, LOCK_EX | LOCK_NB) < 0) {
        n = read(master_pid_fd, buf, sizeof(buf) - 1);
        buf[n > 0 ? n : 0] = 0;
        master_pid_path = NULL;         /* not ours to remove */
        msg_fatal("already running (pid %d)", atoi(buf));
    }
    n = snprintf(buf, sizeof(buf), "%d\n", (int) getpid());
    if (ftruncate(master_pid_fd, 0) < 0 || pwrite(master_pid_fd, buf, (size_t) n, 0) != n)
        msg_fatal("write %s: %m", master_pid_path);
}

static void
master_signals(void)
{
    struct sigaction sa;

    if (pipe2(master_wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        msg_fatal("pipe: %m");
    event_enable_read(master_wake_pipe[0], master_drain_wake, NULL);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = master_on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

/* Logs each line of text (one problem a line) as a warning. */
static void
master_warn_lines(VBUF *text)
{
    char *line, *save = NULL;

    for (line = strtok_r(text->data, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save))
        msg_warn("%s", printable_str(line));
}

/* Loads main.cf and checks what conf_load cannot (the TLS certificate
 * and key, tls_conf.c; daemon_user and log_file, conf_env.c); NULL with
 * one line per problem in errors.  Warnings, in warnings, do not refuse
 * it. */
static CONFIG *
master_load(VBUF *errors, VBUF *warnings)
{
    CONFIG *conf = conf_load(master_config_dir, errors);
    int bad;

    if (conf == NULL)
        return NULL;
    bad = tls_conf_check(conf, time(NULL), errors, warnings) < 0;
    if (conf_env_check(conf, geteuid() == 0, errors, warnings) < 0)
        bad = 1;
    return bad ? conf_free(conf) : conf;
}

/* On reload (logrotate's postrotate runs alligatectl reload): log_file
 * of the active configuration opened again, created for daemon_user
 * before the children are told to open it too. */
static void
master_log_reopen(void)
{
    VBUF *why;

    if (master_foreground)
        return;
    why = vbuf_create(64);
    if (dirs_log_file(why) < 0)
        msg_warn("%s", vbuf_str(why));
    if (msg_open(conf_str(P_log_file)) < 0)
        msg_warn("cannot open log file %s: %m; still writing to the old one",
                 conf_str(P_log_file));
    vbuf_free(why);
}

/* Re-reads main.cf and applies it (SIGHUP, alligatectl reload).  A bad
 * configuration is refused and the running one kept; returns -1 then, and
 * when a new listener cannot be opened, with the reason in why. */
int
master_reload(VBUF *why)
{
    VBUF *errors = vbuf_create(256);
    VBUF *warnings = vbuf_create(64);
    CONFIG *conf = master_load(errors, warnings);
    char *line, *save = NULL;

    if (conf == NULL) {
        /* The log may have been rotated all the same (the children,
         * told nothing, go on with theirs). */
        master_log_reopen();
        /* One line per problem, joined for the log and the reply. */
        for (line = strtok_r(errors->data, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save))
            vbuf_printf(why, "%s%s", vbuf_len(why) ? "; " : "",
                        printable_str(line));
        msg_error("reload refused, keeping the running configuration: %s",
                  vbuf_str(why));
        vbuf_free(errors);
        vbuf_free(warnings);
        return -1;
    }
    vbuf_free(errors);
    conf_free(conf_activate(conf));
    master_log_reopen();
    master_warn_lines(warnings);
    vbuf_free(warnings);
    msg_info("reload: configuration %s/main.cf", master_config_dir);
    master_ticket_reload(conf_time_ms(P_tls_session_ticket_lifetime));
    return master_services_reload(why);
}

static void
master_kill_stragglers(int event, void *context)
{
    (void) event;
    (void) context;
    msg_warn("stop: sessions still open after %ds; killing them",
             MASTER_STOP_GRACE_MS / 1000);
    master_signal_all(SIGKILL);
}

static void
master_begin_stop(void)
{
    msg_info("stopping: no new connections; waiting for sessions to end");
    master_stopping = 1;
    master_ctl_close();
    master_services_stop();
    event_request_timer(master_kill_stragglers, NULL, MASTER_STOP_GRACE_MS);
}

/* 1 when every single daemon the configuration wants has said it is
 * ready (its socket is open). */
static int
master_singles_ready(void)
{
    int i;

    for (i = 0; i < master_nservices; i++) {
        const MASTER_SERV *serv = &master_services[i];
        const MASTER_PROC *proc;

        if (serv->kind != MASTER_SINGLE || !serv->enabled)
            continue;
        for (proc = serv->procs; proc; proc = proc->next)
            if (proc->reported)
                break;
        if (proc == NULL)
            return 0;
    }
    return 1;
}

/* Start-up: smtpd asks ratekeeper and friends from its first session on,
 * so `alligatectl start` returns only once they serve their sockets (or,
 * when one cannot start, after MASTER_READY_WAIT_MS, with a warning: the
 * sessions then go on without it, as they would if it died later). */
static void
master_wait_ready(void)
{
    long long deadline = event_time_refresh() + MASTER_READY_WAIT_MS;

    while (!master_singles_ready() && !master_got_term
           && event_time_refresh() < deadline) {
        event_loop(100);
        if (master_got_chld) {
            master_got_chld = 0;
            master_reap();
        }
    }
    if (!master_singles_ready() && !master_got_term)
        msg_warn("not every daemon is ready after %ds; going on without",
                 MASTER_READY_WAIT_MS / 1000);
}

int
main(int argc, char **argv)
{
    VBUF *errors;
    VBUF *warnings;
    CONFIG *conf;
    int ch;

    msg_init("master");
    /* Started from a build tree: the children are the programs beside. */
    master_daemon_dir_beside = daemon_dir_beside_self();
    while ((ch = getopt(argc, argv, "c:frv")) != -1) {
        switch (ch) {
        case 'c':
            master_config_dir = optarg;
            break;
        case 'f':
            master_foreground = 1;
            break;
        case 'r':
            master_startup_channel = 1;
            break;
        case 'v':
            msg_verbose++;
            break;
        default:
            msg_fatal("usage: master -c CONFIG_DIR [-f] [-r] [-v]");
        }
    }
    if (master_config_dir == NULL)
        msg_fatal("usage: master -c CONFIG_DIR [-f] [-r] [-v]");

    errors = vbuf_create(256);
    warnings = vbuf_create(64);
    if ((conf = master_load(errors, warnings)) == NULL) {
        fputs(vbuf_str(errors), stderr);
        exit(1);
    }
    vbuf_free(errors);
    conf_activate(conf);
    if (!master_foreground && msg_open(conf_str(P_log_file)) < 0)
        msg_fatal("cannot open log file %s: %m", conf_str(P_log_file));
    /* Until ready, problems also go to whoever started us. */
    if (master_startup_channel)
        msg_tee_stderr(1);
    master_warn_lines(warnings);
    vbuf_free(warnings);

    errors = vbuf_create(256);
    if (dirs_ensure(errors) < 0)
        msg_fatal("%s", vbuf_str(errors));
    vbuf_free(errors);
    master_lock_pid_file();
    msg_fatal_hook(master_cleanup);
    if (pipe2(master_life_pipe, O_CLOEXEC) < 0)
        msg_fatal("pipe: %m");
    master_started = event_time_refresh();
    master_signals();
    master_ticket_init(conf_time_ms(P_tls_session_ticket_lifetime));
    master_metrics_init();
    master_services_init();
    master_ctl_open();
    master_services_start();
    master_wait_ready();
    msg_info("daemon started -- version %s, configuration %s", PACKAGE_VERSION,
             master_config_dir);

    if (master_startup_channel) {
        int devnull = open("/dev/null", O_WRONLY);

        msg_tee_stderr(0);
        if (write(2, "ready\n", 6) != 6) {
            /* alligatectl went away; carry on. */
        }
        if (devnull >= 0) {
            dup2(devnull, 2);
            close(devnull);
        }
    }

    for (;;) {
        event_loop(1000);
        if (master_got_chld) {
            master_got_chld = 0;
            master_reap();
        }
        if (master_got_term && !master_stopping) {
            master_got_term = 0;
            master_begin_stop();
        }
        if (master_got_hup) {
            master_got_hup = 0;
            if (!master_stopping) {
                VBUF *why = vbuf_create(64);

                master_reload(why);
                vbuf_free(why);
            }
        }
        if (master_stopping && master_child_count() == 0)
            break;
    }
    master_cleanup();
    msg_info("stopped");
    return 0;
}
