/* The daemon skeleton shared by every program that master starts. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "events.h"
#include "master_proto.h"
#include "metrics.h"
#include "msg.h"
#include "printable.h"
#include "server.h"
#include "vbuf.h"

SERVER server;

volatile sig_atomic_t server_sigterm;
volatile sig_atomic_t server_sighup;

static void
server_on_signal(int sig)
{
    if (sig == SIGTERM || sig == SIGINT) {
        server_sigterm = 1;
    } else if (sig == SIGHUP) {
        server_sighup = 1;
        /* The log may have been rotated: the next line goes to the new
         * file, also from a worker in the middle of a session. */
        msg_reopen_request();
    }
}

static void
server_usage(void)
{
    msg_fatal("usage: %s -c CONFIG_DIR [-m] [-f] [-v] [-s SERVICE] [-n COUNT]"
              " [-i SLOT]", server.name);
}

void
server_drop_privileges(const char *user)
{
    struct passwd *pw;

    if (geteuid() != 0)
        return;
    if ((pw = getpwnam(user)) == NULL)
        msg_fatal("daemon_user \"%s\" does not exist", user);
    if (pw->pw_uid == 0)
        msg_fatal("daemon_user \"%s\" must not be a privileged user", user);
    if (setgroups(1, &pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0
        || setuid(pw->pw_uid) < 0)
        msg_fatal("cannot become user %s: %m", user);
}

static void
server_open_log(void)
{
    const char *log_file = server.foreground ? "-" : conf_str(P_log_file);

    if (msg_open(log_file) < 0) {
        msg_open("-");
        msg_fatal("cannot open log file %s: %m", log_file);
    }
}

void
server_init(int argc, char **argv, const char *name)
{
    struct sigaction sa;
    sigset_t mask;
    VBUF *errors;
    CONFIG *conf;
    int metrics_errno = 0;
    int ch;
    int i;

    server.name = name;
    server.service = name;
    server.metrics_slot = -1;
    server.metrics_fd = -1;
    msg_init(name);
    while ((ch = getopt(argc, argv, "c:fi:mn:s:v")) != -1) {
        switch (ch) {
        case 'c':
            server.config_dir = optarg;
            break;
        case 'f':
            server.foreground = 1;
            break;
        case 'i':
            server.metrics_slot = atoi(optarg);
            if (server.metrics_slot < 0)
                server_usage();
            break;
        case 'm':
            server.by_master = 1;
            break;
        case 'n':
            server.listen_count = atoi(optarg);
            if (server.listen_count < 0 || server.listen_count > MASTER_MAX_LISTEN)
                server_usage();
            break;
        case 's':
            server.service = optarg;
            break;
        case 'v':
            msg_verbose++;
            break;
        default:
            server_usage();
        }
    }
    if (server.config_dir == NULL || optind != argc)
        server_usage();
    for (i = 0; i < server.listen_count; i++)
        server.listen_fds[i] = MASTER_LISTEN_FD + i;
    /* Looked at before anything is opened, which could take the number. */
    server.ticket_fd = server.by_master && fcntl(MASTER_TICKET_FD, F_GETFD) >= 0
        ? MASTER_TICKET_FD : -1;
    if (server.by_master && server.metrics_slot >= 0) {
        if (metrics_attach(MASTER_METRICS_FD, server.metrics_slot) < 0)
            metrics_errno = errno;
        if (server.metrics_reader)
            server.metrics_fd = MASTER_METRICS_FD;
        else
            close(MASTER_METRICS_FD);
    }

    errors = vbuf_create(100);
    if ((conf = conf_load(server.config_dir, errors)) == NULL) {
        fputs(vbuf_str(errors), stderr);
        vbuf_free(errors);
        msg_fatal("bad configuration in %s", server.config_dir);
    }
    vbuf_free(errors);
    conf_activate(conf);
    server_open_log();
    if (metrics_errno)
        msg_warn("metrics: cannot map slot %d: %s; not counting",
                 server.metrics_slot, strerror(metrics_errno));
    server_drop_privileges(conf_str(P_daemon_user));

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = server_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* Under master, SIGINT stays as master left it (ignored in the
     * foreground: Ctrl-C stops master, and master stops the rest). */
    if (!server.by_master)
        sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    /* master spawns children with these blocked; a reload or stop sent
     * before now is delivered here. */
    sigemptyset(&mask);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_UNBLOCK, &mask, NULL);
}

int
server_reload(void)
{
    VBUF *errors = vbuf_create(100);
    CONFIG *conf = conf_load(server.config_dir, errors);

    if (conf == NULL) {
        /* The log was rotated all the same. */
        if (msg_reopen() < 0)
            msg_warn("cannot reopen the log file: %m; still writing to the old one");
        msg_warn("reload: bad configuration, keeping the old one: %s",
                 printable_str(vbuf_str(errors)));
        vbuf_free(errors);
        return -1;
    }
    vbuf_free(errors);
    conf_free(conf_activate(conf));
    /* As daemon_user now: a new file must be writable by it (master
     * creates it so, logrotate's "create" too). */
    if (!server.foreground && msg_open(conf_str(P_log_file)) < 0)
        msg_warn("cannot open log file %s: %m; still writing to the old one",
                 conf_str(P_log_file));
    return 0;
}

int
server_master_alive(void)
{
    struct pollfd pfd;

    if (!server.by_master)
        return 1;
    pfd.fd = MASTER_LIFE_FD;
    pfd.events = POLLIN;
    /* The pipe never carries data: readable means EOF, master is gone. */
    return poll(&pfd, 1, 0) == 0;
}

/* master died: stop as if told to, so that state is closed cleanly. */
static void
server_master_gone(int event, void *context)
{
    (void) event;
    (void) context;
    event_disable_readwrite(MASTER_LIFE_FD);
    msg_info("master is gone; stopping");
    server_sigterm = 1;
}

void
server_watch_master(void)
{
    if (server.by_master)
        event_enable_read(MASTER_LIFE_FD, server_master_gone, NULL);
}

void
server_ready(void)
{
    server_report(MASTER_STAT_READY);
}

void
server_report(int status)
{
    MASTER_STATUS rec;

    if (!server.by_master)
        return;
    memset(&rec, 0, sizeof(rec));
    rec.pid = getpid();
    rec.status = status;
    if (write(MASTER_STATUS_FD, &rec, sizeof(rec)) != sizeof(rec)
        && errno != EPIPE)
        msg_warn("cannot report status to master: %m");
}
