/* Unit tests for the daemon skeleton (lib/server.c): arguments,
 * configuration, log, privileges, signal flags, and the descriptors
 * master hands a child; and its two loops: the pool worker's
 * (lib/server_single.c) in a child with master's pipes and a listening
 * socket, the event daemon's (lib/server_event.c) driven by timers.
 * Longer than most files: the three parts share the configuration
 * directory and the making of master's descriptors. */
#include <check.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "events.h"
#include "fixture.h"
#include "master_proto.h"
#include "metrics_shm.h"
#include "monotime.h"
#include "msg.h"
#include "server.h"
#include "unix_sock.h"
#include "vbuf.h"

/* Made once by the runner (as whoever runs the tests), so that a test
 * that drops privileges leaves nothing it cannot remove; writable by all,
 * so that such a test can still rewrite main.cf. */
static const char *dir;

static void
dir_create(void)
{
    dir = fixture_dir_create("check_server");
    if (chmod(dir, 0777) < 0)
        abort();
}

static void
dir_remove(void)
{
    fixture_dir_remove();
}

/* Writes main.cf; daemon_user is one that exists and is not root.  The
 * old file goes first: a test that dropped privileges cannot write it.
 * Readable by all: a daemon that dropped privileges reads it on reload. */
static void
write_config(const char *extra)
{
    char path[128];
    VBUF *text = vbuf_create(256);

    vbuf_printf(text, "daemon_user = nobody\nmyhostname = mx.example.com\n%s",
                extra);
    snprintf(path, sizeof(path), "%s/main.cf", dir);
    unlink(path);
    fixture_write_str(path, vbuf_str(text));
    ck_assert_int_eq(chmod(path, 0644), 0);
    vbuf_free(text);
}

/* server_init with the arguments after the program name. */
static void
init(const char *const *args)
{
    char *argv[16];
    int argc = 0;

    argv[argc++] = (char *) "smtpd";
    while (*args)
        argv[argc++] = (char *) *args++;
    argv[argc] = NULL;
    server_init(argc, argv, "smtpd");
}

START_TEST(test_arguments)
{
    const char *args[] = {"-c", dir, "-f", "-v", "-s", "submission", "-n", "2", NULL};

    write_config("smtpd_timeout = 7s\n");
    init(args);
    ck_assert_str_eq(server.name, "smtpd");
    ck_assert_str_eq(server.config_dir, dir);
    ck_assert_str_eq(server.service, "submission");
    ck_assert_int_eq(server.foreground, 1);
    ck_assert_int_eq(server.by_master, 0);
    ck_assert_int_eq(server.listen_count, 2);
    ck_assert_int_eq(server.listen_fds[0], MASTER_LISTEN_FD);
    ck_assert_int_eq(server.listen_fds[1], MASTER_LISTEN_FD + 1);
    ck_assert_int_eq(server.ticket_fd, -1);
    ck_assert_int_eq(msg_verbose, 1);
    ck_assert_str_eq(msg_progname(), "alligate/smtpd");
    /* The configuration is loaded and active. */
    ck_assert_int_eq(conf_time_ms(P_smtpd_timeout), 7000);
    ck_assert_str_eq(conf_str(P_myhostname), "mx.example.com");
}
END_TEST

START_TEST(test_defaults)
{
    const char *args[] = {"-c", dir, NULL};

    write_config("");
    init(args);
    ck_assert_str_eq(server.service, "smtpd");
    ck_assert_int_eq(server.foreground, 0);
    ck_assert_int_eq(server.listen_count, 0);
    ck_assert_int_eq(server_master_alive(), 1);
    server_report(MASTER_STAT_BUSY);        /* no master: a no-op */
}
END_TEST

START_TEST(test_no_config_dir)
{
    const char *args[] = {"-f", NULL};

    init(args);
}
END_TEST

START_TEST(test_extra_argument)
{
    const char *args[] = {"-c", dir, "surplus", NULL};

    write_config("");
    init(args);
}
END_TEST

START_TEST(test_unknown_option)
{
    const char *args[] = {"-c", dir, "-x", NULL};

    write_config("");
    init(args);
}
END_TEST

START_TEST(test_too_many_listeners)
{
    const char *args[] = {"-c", dir, "-n", "17", NULL};

    write_config("");
    init(args);
}
END_TEST

START_TEST(test_bad_config)
{
    const char *args[] = {"-c", dir, "-f", NULL};

    write_config("smtpd_timeout = forever\n");
    init(args);
}
END_TEST

START_TEST(test_missing_config)
{
    const char *args[] = {"-c", "/nonexistent/alligate", "-f", NULL};

    init(args);
}
END_TEST

START_TEST(test_root_daemon_user)
{
    const char *args[] = {"-c", dir, "-f", NULL};

    if (geteuid() != 0)
        exit(1);                /* what root would see */
    write_config("daemon_user = root\n");
    init(args);
}
END_TEST

START_TEST(test_drops_privileges)
{
    const char *args[] = {"-c", dir, "-f", NULL};
    struct passwd *pw;

    write_config("");
    if (geteuid() != 0) {
        uid_t uid = getuid();

        init(args);
        ck_assert_int_eq(getuid(), uid);        /* nothing to drop */
        return;
    }
    ck_assert_ptr_nonnull(pw = getpwnam("nobody"));
    init(args);
    ck_assert_int_eq(getuid(), pw->pw_uid);
    ck_assert_int_eq(geteuid(), pw->pw_uid);
    ck_assert_int_eq(getgid(), pw->pw_gid);
    ck_assert_int_eq(getegid(), pw->pw_gid);
    /* For good. */
    ck_assert_int_ne(setuid(0), 0);
}
END_TEST

START_TEST(test_signal_flags)
{
    const char *args[] = {"-c", dir, "-f", NULL};

    write_config("");
    init(args);
    ck_assert_int_eq(server_sigterm, 0);
    ck_assert_int_eq(server_sighup, 0);
    raise(SIGHUP);
    ck_assert_int_eq(server_sighup, 1);
    ck_assert_int_eq(server_sigterm, 0);
    raise(SIGTERM);
    ck_assert_int_eq(server_sigterm, 1);
    server_sigterm = 0;
    raise(SIGINT);                      /* not under master: stop */
    ck_assert_int_eq(server_sigterm, 1);
    raise(SIGPIPE);                     /* ignored */
}
END_TEST

START_TEST(test_early_signal_kept)
{
    /* master starts children with SIGHUP and SIGTERM blocked; one sent
     * before the handlers exist must not be lost. */
    const char *args[] = {"-c", dir, "-f", NULL};
    sigset_t mask;

    write_config("");
    sigemptyset(&mask);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGTERM);
    ck_assert_int_eq(sigprocmask(SIG_BLOCK, &mask, NULL), 0);
    raise(SIGHUP);
    init(args);
    ck_assert_int_eq(server_sighup, 1);
    ck_assert_int_eq(server_sigterm, 0);
}
END_TEST

/* Runs server_init with -m in a child whose descriptors 3 and 4 are
 * master's pipes, and with ticket keys (a memfd) as master gives smtpd
 * or without, as it starts the others; returns the child's exit status. */
static int
run_under_master(int close_life, int ticket)
{
    const char *args[] = {"-c", dir, "-f", "-m", NULL};
    int life[2], status_pipe[2];
    MASTER_STATUS rec;
    pid_t pid;
    int status;

    ck_assert_int_eq(pipe(life), 0);
    ck_assert_int_eq(pipe(status_pipe), 0);
    if (close_life)
        close(life[1]);                 /* master died before we started */
    ck_assert_int_ge(pid = fork(), 0);
    if (pid == 0) {
        /* Out of the way of 3 to 5 first. */
        int life_r = fcntl(life[0], F_DUPFD, 10);
        int status_w = fcntl(status_pipe[1], F_DUPFD, 10);
        int keys = memfd_create("keys", MFD_CLOEXEC);

        if (dup2(life_r, MASTER_LIFE_FD) < 0 || dup2(status_w, MASTER_STATUS_FD) < 0)
            _exit(10);
        if (!close_life)
            close(life[1]);
        if (!ticket)
            close(MASTER_TICKET_FD);
        else if (keys < 0 || dup2(keys, MASTER_TICKET_FD) < 0)
            _exit(10);
        init(args);
        if (!server.by_master)
            _exit(11);
        /* Seen although init opened main.cf, which may take number 5. */
        if (server.ticket_fd != (ticket ? MASTER_TICKET_FD : -1))
            _exit(13);
        if (server_master_alive() != !close_life)
            _exit(12);
        server_report(MASTER_STAT_BUSY);
        _exit(0);
    }
    close(life[0]);
    close(status_pipe[1]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(read(status_pipe[0], &rec, sizeof(rec)), sizeof(rec));
    ck_assert_int_eq(rec.pid, pid);
    ck_assert_int_eq(rec.status, MASTER_STAT_BUSY);
    close(status_pipe[0]);
    if (!close_life)
        close(life[1]);
    return status;
}

START_TEST(test_master_alive)
{
    write_config("");
    ck_assert_int_eq(run_under_master(0, 1), 0);
}
END_TEST

START_TEST(test_master_gone)
{
    write_config("");
    ck_assert_int_eq(run_under_master(1, 0), 0);
}
END_TEST

/* -i: the slot master gave, mapped from MASTER_METRICS_FD by server_init
 * in a child (the descriptor closed after, unless the program reads the
 * whole segment); what the child counts is in the segment after it
 * exited.  Without the descriptor the child runs, counting for nobody.
 * Returns the child's exit status; *counted what the segment holds. */
static int
run_with_slot(int give_fd, int reader, uint64_t *counted)
{
    const char *args[] = {"-c", dir, "-f", "-m", "-i", "1", NULL};
    static uint64_t values[METRICS_NCELLS];
    char path[256];
    VBUF *why = vbuf_create(64);
    METRICS_SHM *shm;
    METRICS_VIEW *view;
    pid_t pid;
    int status;

    snprintf(path, sizeof(path), "%s/%s", dir, METRICS_SHM_FILE);
    ck_assert_ptr_nonnull(shm = metrics_shm_create(path, 1, why));
    ck_assert_int_eq(metrics_shm_take(shm, why), 0);
    ck_assert_int_eq(metrics_shm_take(shm, why), 1);
    ck_assert_int_ge(pid = fork(), 0);
    if (pid == 0) {
        int fd = fcntl(metrics_shm_fd(shm), F_DUPFD, 20);

        close(MASTER_METRICS_FD);
        if (give_fd && dup2(fd, MASTER_METRICS_FD) < 0)
            _exit(10);
        close(fd);
        server.metrics_reader = reader;
        init(args);
        if (server.metrics_slot != 1)
            _exit(11);
        /* Closed, or kept for the reader. */
        if ((fcntl(MASTER_METRICS_FD, F_GETFD) >= 0) != (give_fd && reader))
            _exit(12);
        if (server.metrics_fd != (give_fd && reader ? MASTER_METRICS_FD : -1))
            _exit(13);
        metrics_add(METRIC_DC_HITS, 5);
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_ptr_nonnull(view = metrics_view_open(path, why));
    ck_assert_int_eq(metrics_view_read(view, values, why), 0);
    *counted = values[METRIC_DC_HITS];
    metrics_view_free(view);
    metrics_shm_free(shm, 1);
    vbuf_free(why);
    return status;
}

START_TEST(test_metrics_slot)
{
    uint64_t counted;

    write_config("");
    ck_assert_int_eq(run_with_slot(1, 0, &counted), 0);
    ck_assert_uint_eq(counted, 5);
    ck_assert_int_eq(run_with_slot(1, 1, &counted), 0);
    ck_assert_uint_eq(counted, 5);
    ck_assert_int_eq(run_with_slot(0, 0, &counted), 0);
    ck_assert_uint_eq(counted, 0);
}
END_TEST

START_TEST(test_log_file)
{
    const char *args[] = {"-c", dir, NULL};
    char extra[256], path[128], buf[4096];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "%s/log.%d", dir, (int) getpid());
    snprintf(extra, sizeof(extra), "log_file = %s\n", path);
    write_config(extra);
    /* Readable after the privileges are gone. */
    ck_assert_int_ge(fd = open(path, O_WRONLY | O_CREAT, 0644), 0);
    close(fd);
    init(args);
    msg_info("hello from %s", "the test");
    ck_assert_int_ge(fd = open(path, O_RDONLY), 0);
    n = read(fd, buf, sizeof(buf) - 1);
    ck_assert_int_gt(n, 0);
    buf[n] = 0;
    ck_assert_ptr_nonnull(strstr(buf, " alligate/smtpd["));
    ck_assert_ptr_nonnull(strstr(buf, "]: hello from the test\n"));
    close(fd);
}
END_TEST

START_TEST(test_reload)
{
    const char *args[] = {"-c", dir, "-f", NULL};

    write_config("smtpd_timeout = 7s\n");
    init(args);
    ck_assert_int_eq(conf_time_ms(P_smtpd_timeout), 7000);
    write_config("smtpd_timeout = 9s\n");
    ck_assert_int_eq(server_reload(), 0);
    ck_assert_int_eq(conf_time_ms(P_smtpd_timeout), 9000);
    /* A bad configuration keeps the one in use. */
    write_config("smtpd_timeout = never\n");
    ck_assert_int_eq(server_reload(), -1);
    ck_assert_int_eq(conf_time_ms(P_smtpd_timeout), 9000);
}
END_TEST

START_TEST(test_reload_as_daemon_user)
{
    /* After dropping privileges the daemon can still read main.cf (it is
     * world-readable here, as etc/main.cf is installed). */
    const char *args[] = {"-c", dir, "-f", NULL};
    char path[128];

    write_config("smtpd_timeout = 7s\n");
    snprintf(path, sizeof(path), "%s/main.cf", dir);
    ck_assert_int_eq(chmod(path, 0644), 0);
    init(args);
    ck_assert_int_eq(server_reload(), 0);
    ck_assert_int_eq(conf_time_ms(P_smtpd_timeout), 7000);
}
END_TEST

/* The pool worker's loop ----------------------------------------------- */

/* A worker started as master starts one: descriptors 3, 4 and 5, SIGHUP
 * and SIGTERM blocked until server_init.  What it does goes, one byte
 * each, into the trace pipe: 's' per client served, 'w' per pre_wait. */
typedef struct WORKER {
    pid_t pid;
    int life_w;                 /* closing it: master died */
    int status_r;               /* MASTER_STATUS records */
    int trace_r;
    int listen_fd;
    char sock[96];
} WORKER;

static int worker_trace_fd = -1;
static int worker_served;

static void
worker_trace(char what)
{
    if (write(worker_trace_fd, &what, 1) != 1)
        _exit(20);
}

/* Each client gets its number. */
static void
worker_serve(int fd)
{
    char buf[32];
    int len = snprintf(buf, sizeof(buf), "%d\n", ++worker_served);

    if (write(fd, buf, (size_t) len) != len)
        _exit(21);
    close(fd);
    worker_trace('s');
}

static void
worker_pre_wait(void)
{
    worker_trace('w');
}

static void
worker_listen(WORKER *w)
{
    VBUF *why = vbuf_create(100);

    snprintf(w->sock, sizeof(w->sock), "%s/worker.%d", dir, (int) getpid());
    w->listen_fd = unix_sock_listen(w->sock, 0666, 16, why);
    ck_assert_msg(w->listen_fd >= 0, "%s", vbuf_str(why));
    /* As master's are: accept says when no other client waits. */
    ck_assert_int_eq(fcntl(w->listen_fd, F_SETFL, O_NONBLOCK), 0);
    vbuf_free(why);
}

/* A client of the worker's socket, connected now (the backlog holds it
 * until the worker accepts). */
static int
worker_client(const WORKER *w)
{
    struct sockaddr_un sun;
    int fd;

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", w->sock);
    ck_assert_int_ge(fd = socket(AF_UNIX, SOCK_STREAM, 0), 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *) &sun, sizeof(sun)), 0);
    return fd;
}

/* The number the worker gave this client. */
static int
worker_answer(int fd)
{
    char buf[32];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);

    ck_assert_int_gt(n, 0);
    buf[n] = 0;
    close(fd);
    return atoi(buf);
}

static void
worker_start(WORKER *w, int listeners)
{
    const char *args[] = {"-c", dir, "-f", "-m", "-n", "1", NULL};
    static const SERVER_SINGLE_OPTS opts = {
        .max_use = P_smtpd_max_use,
        .max_idle = P_smtpd_max_idle,
        .pre_wait = worker_pre_wait,
    };
    int life[2], status_pipe[2], trace[2];
    sigset_t mask;

    if (listeners == 0)
        args[4] = NULL;
    ck_assert_int_eq(pipe(life), 0);
    ck_assert_int_eq(pipe(status_pipe), 0);
    ck_assert_int_eq(pipe(trace), 0);
    ck_assert_int_ge(w->pid = fork(), 0);
    if (w->pid == 0) {
        char *argv[16];
        int argc = 0;
        int life_r = fcntl(life[0], F_DUPFD, 10);
        int status_w = fcntl(status_pipe[1], F_DUPFD, 10);
        int listen_fd = fcntl(w->listen_fd, F_DUPFD, 10);

        sigemptyset(&mask);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGTERM);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        /* All out of the way of master's descriptors 3 to 6 first. */
        worker_trace_fd = fcntl(trace[1], F_DUPFD, 10);
        close(life[1]);
        if (dup2(life_r, MASTER_LIFE_FD) < 0 || dup2(status_w, MASTER_STATUS_FD) < 0
            || dup2(listen_fd, MASTER_LISTEN_FD) < 0)
            _exit(10);
        argv[argc++] = (char *) "smtpd";
        while (args[argc - 1])
            argv[argc] = (char *) args[argc - 1], argc++;
        argv[argc] = NULL;
        _exit(server_single_main(argc, argv, "smtpd", worker_serve, &opts));
    }
    close(life[0]);
    close(status_pipe[1]);
    close(trace[1]);
    w->life_w = life[1];
    w->status_r = status_pipe[0];
    w->trace_r = trace[0];
}

/* The next report to master. */
static int
worker_status(const WORKER *w)
{
    MASTER_STATUS rec;

    ck_assert_int_eq(read(w->status_r, &rec, sizeof(rec)), sizeof(rec));
    ck_assert_int_eq(rec.pid, w->pid);
    return rec.status;
}

/* Waits for the worker's exit; returns its exit status, and the rest of
 * its reports ("B" busy, "I" idle) and trace. */
static int
worker_wait(WORKER *w, char *reports, char *trace)
{
    MASTER_STATUS rec;
    int status;
    ssize_t n;
    int i = 0;

    ck_assert_int_eq(waitpid(w->pid, &status, 0), w->pid);
    while (read(w->status_r, &rec, sizeof(rec)) == sizeof(rec))
        reports[i++] = rec.status == MASTER_STAT_BUSY ? 'B'
            : rec.status == MASTER_STAT_IDLE ? 'I' : '?';
    reports[i] = 0;
    n = read(w->trace_r, trace, 15);
    trace[n > 0 ? n : 0] = 0;
    close(w->status_r);
    close(w->trace_r);
    close(w->life_w);
    close(w->listen_fd);
    unlink(w->sock);
    ck_assert(WIFEXITED(status));
    return WEXITSTATUS(status);
}

START_TEST(test_single_serves_and_retires)
{
    char reports[16], trace[16];
    WORKER w;

    write_config("smtpd_max_use = 2\n");
    worker_listen(&w);
    worker_start(&w, 1);
    ck_assert_int_eq(worker_answer(worker_client(&w)), 1);
    ck_assert_int_eq(worker_status(&w), MASTER_STAT_BUSY);
    ck_assert_int_eq(worker_status(&w), MASTER_STAT_IDLE);
    /* The second client comes once the worker waits again: it is the
     * last of smtpd_max_use. */
    ck_assert_int_eq(worker_answer(worker_client(&w)), 2);
    ck_assert_int_eq(worker_wait(&w, reports, trace), 0);
    ck_assert_str_eq(reports, "BI");
    ck_assert_str_eq(trace, "swsw");
}
END_TEST

START_TEST(test_single_waiting_clients)
{
    char reports[16], trace[16];
    int fds[3];
    WORKER w;
    int i;

    /* Three clients wait before the worker looks: it serves them one
     * after the other without telling master idle, busy in between, and
     * stops at smtpd_max_use. */
    write_config("smtpd_max_use = 2\n");
    worker_listen(&w);
    for (i = 0; i < 3; i++)
        fds[i] = worker_client(&w);
    worker_start(&w, 1);
    ck_assert_int_eq(worker_answer(fds[0]), 1);
    ck_assert_int_eq(worker_answer(fds[1]), 2);
    ck_assert_int_eq(worker_wait(&w, reports, trace), 0);
    ck_assert_str_eq(reports, "BI");
    ck_assert_str_eq(trace, "ssw");
    close(fds[2]);
}
END_TEST

START_TEST(test_single_max_idle)
{
    char reports[16], trace[16];
    long long start = monotime_ms();
    WORKER w;

    write_config("smtpd_max_idle = 1s\n");
    worker_listen(&w);
    worker_start(&w, 1);
    ck_assert_int_eq(worker_wait(&w, reports, trace), 0);
    ck_assert_int_ge(monotime_ms() - start, 1000);
    ck_assert_str_eq(reports, "");
    ck_assert_str_eq(trace, "");
}
END_TEST

START_TEST(test_single_master_gone)
{
    char reports[16], trace[16];
    WORKER w;

    write_config("");
    worker_listen(&w);
    worker_start(&w, 1);
    close(w.life_w);
    w.life_w = dup(w.status_r);         /* for worker_wait's close */
    ck_assert_int_eq(worker_wait(&w, reports, trace), 0);
    ck_assert_str_eq(reports, "");
}
END_TEST

/* SIGHUP (a reload) and SIGTERM retire a waiting worker at once. */
static void
single_signal(int sig)
{
    char reports[16], trace[16];
    WORKER w;

    write_config("");
    worker_listen(&w);
    worker_start(&w, 1);
    ck_assert_int_eq(worker_answer(worker_client(&w)), 1);
    ck_assert_int_eq(worker_status(&w), MASTER_STAT_BUSY);
    ck_assert_int_eq(worker_status(&w), MASTER_STAT_IDLE);
    kill(w.pid, sig);
    ck_assert_int_eq(worker_wait(&w, reports, trace), 0);
    ck_assert_str_eq(reports, "");
    ck_assert_str_eq(trace, "sw");
}

START_TEST(test_single_sighup)
{
    single_signal(SIGHUP);
}
END_TEST

START_TEST(test_single_sigterm)
{
    single_signal(SIGTERM);
}
END_TEST

START_TEST(test_single_no_listeners)
{
    char reports[16], trace[16];
    WORKER w;

    write_config("");
    worker_listen(&w);
    worker_start(&w, 0);
    ck_assert_int_eq(worker_wait(&w, reports, trace), 1);
}
END_TEST

/* The event daemon's loop ---------------------------------------------- */

static int event_post_inits, event_reloads, event_rounds, event_pre_exits;
static const char *event_step;      /* what the next timer does */

static void
event_timer(int event, void *context)
{
    (void) event;
    (void) context;
    if (strcmp(event_step, "hup") == 0) {
        raise(SIGHUP);
    } else if (strcmp(event_step, "bad hup") == 0) {
        write_config("smtpd_timeout = never\n");
        raise(SIGHUP);
        event_step = "term";
        event_request_timer(event_timer, NULL, 10);
    } else if (strcmp(event_step, "term") == 0) {
        raise(SIGTERM);
    }
}

static void
event_post_init(void)
{
    event_post_inits++;
    event_request_timer(event_timer, NULL, 10);
}

static void
event_reload(void)
{
    event_reloads++;
    event_step = "term";
    event_request_timer(event_timer, NULL, 10);
}

static void
event_after(void)
{
    event_rounds++;
}

static void
event_pre_exit(void)
{
    event_pre_exits++;
}

static const SERVER_EVENT_OPTS event_opts = {
    .max_idle = SERVER_NO_LIMIT,
    .post_init = event_post_init,
    .reload = event_reload,
    .after_events = event_after,
    .pre_exit = event_pre_exit,
};

static int
event_main(const SERVER_EVENT_OPTS *opts, int by_master)
{
    char *argv[] = {(char *) "relay", (char *) "-c", (char *) dir, (char *) "-f",
        by_master ? (char *) "-m" : NULL, NULL};

    return server_event_main(by_master ? 5 : 4, argv, "relay", opts);
}

START_TEST(test_event_reload_and_stop)
{
    write_config("smtpd_timeout = 7s\n");
    event_step = "hup";
    ck_assert_int_eq(event_main(&event_opts, 0), 0);
    ck_assert_int_eq(event_post_inits, 1);
    ck_assert_int_eq(event_reloads, 1);
    ck_assert_int_ge(event_rounds, 2);
    ck_assert_int_eq(event_pre_exits, 1);
    ck_assert_int_eq(conf_time_ms(P_smtpd_timeout), 7000);
}
END_TEST

START_TEST(test_event_bad_reload)
{
    /* The old configuration stays, and the daemon is not told. */
    write_config("smtpd_timeout = 7s\n");
    event_step = "bad hup";
    ck_assert_int_eq(event_main(&event_opts, 0), 0);
    ck_assert_int_eq(event_reloads, 0);
    ck_assert_int_eq(event_pre_exits, 1);
    ck_assert_int_eq(conf_time_ms(P_smtpd_timeout), 7000);
}
END_TEST

static long long event_busy_until;

/* Work every 100 ms until event_busy_until. */
static void
event_work(int event, void *context)
{
    (void) event;
    (void) context;
    if (event_now_ms() < event_busy_until) {
        server_event_activity();
        event_request_timer(event_work, NULL, 100);
    }
}

static void
event_post_init_work(void)
{
    event_busy_until = event_time_refresh() + 500;
    event_request_timer(event_work, NULL, 100);
}

START_TEST(test_event_max_idle)
{
    SERVER_EVENT_OPTS opts = event_opts;
    long long start = monotime_ms();

    write_config("smtpd_max_idle = 1s\n");
    opts.max_idle = P_smtpd_max_idle;
    opts.post_init = event_post_init_work;
    ck_assert_int_eq(event_main(&opts, 0), 0);
    /* Busy for 0.5 s, then idle for 1 s. */
    ck_assert_int_ge(monotime_ms() - start, 1500);
    ck_assert_int_eq(event_pre_exits, 1);
}
END_TEST

START_TEST(test_event_bad_max_idle)
{
    SERVER_EVENT_OPTS opts = event_opts;

    opts.max_idle = P_smtpd_max_use;    /* not a time */
    event_main(&opts, 0);
}
END_TEST

/* Under master: ready is reported after post_init, and master's death
 * stops the daemon as SIGTERM would. */
START_TEST(test_event_under_master)
{
    int life[2], status_pipe[2];
    MASTER_STATUS rec;
    pid_t pid;
    int status;

    write_config("");
    ck_assert_int_eq(pipe(life), 0);
    ck_assert_int_eq(pipe(status_pipe), 0);
    ck_assert_int_ge(pid = fork(), 0);
    if (pid == 0) {
        int life_r = fcntl(life[0], F_DUPFD, 10);
        int status_w = fcntl(status_pipe[1], F_DUPFD, 10);

        if (dup2(life_r, MASTER_LIFE_FD) < 0 || dup2(status_w, MASTER_STATUS_FD) < 0)
            _exit(10);
        close(life[1]);
        event_step = "";
        if (event_main(&event_opts, 1) != 0 || event_post_inits != 1
            || event_pre_exits != 1)
            _exit(11);
        _exit(0);
    }
    close(life[0]);
    close(status_pipe[1]);
    ck_assert_int_eq(read(status_pipe[0], &rec, sizeof(rec)), sizeof(rec));
    ck_assert_int_eq(rec.pid, pid);
    ck_assert_int_eq(rec.status, MASTER_STAT_READY);
    close(life[1]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    close(status_pipe[0]);
}
END_TEST

static Suite *
server_suite(void)
{
    Suite *s = suite_create("server");
    TCase *tc = tcase_create("core");

    tcase_add_unchecked_fixture(tc, dir_create, dir_remove);
    tcase_add_test(tc, test_arguments);
    tcase_add_test(tc, test_defaults);
    tcase_add_exit_test(tc, test_no_config_dir, 1);
    tcase_add_exit_test(tc, test_extra_argument, 1);
    tcase_add_exit_test(tc, test_unknown_option, 1);
    tcase_add_exit_test(tc, test_too_many_listeners, 1);
    tcase_add_exit_test(tc, test_bad_config, 1);
    tcase_add_exit_test(tc, test_missing_config, 1);
    tcase_add_exit_test(tc, test_root_daemon_user, 1);
    tcase_add_test(tc, test_drops_privileges);
    tcase_add_test(tc, test_signal_flags);
    tcase_add_test(tc, test_early_signal_kept);
    tcase_add_test(tc, test_master_alive);
    tcase_add_test(tc, test_master_gone);
    tcase_add_test(tc, test_metrics_slot);
    tcase_add_test(tc, test_log_file);
    tcase_add_test(tc, test_reload);
    tcase_add_test(tc, test_reload_as_daemon_user);
    suite_add_tcase(s, tc);

    tc = tcase_create("single");
    tcase_set_timeout(tc, 10);
    tcase_add_unchecked_fixture(tc, dir_create, dir_remove);
    tcase_add_test(tc, test_single_serves_and_retires);
    tcase_add_test(tc, test_single_waiting_clients);
    tcase_add_test(tc, test_single_max_idle);
    tcase_add_test(tc, test_single_master_gone);
    tcase_add_test(tc, test_single_sighup);
    tcase_add_test(tc, test_single_sigterm);
    tcase_add_test(tc, test_single_no_listeners);
    suite_add_tcase(s, tc);

    tc = tcase_create("event");
    tcase_set_timeout(tc, 10);
    tcase_add_unchecked_fixture(tc, dir_create, dir_remove);
    tcase_add_test(tc, test_event_reload_and_stop);
    tcase_add_test(tc, test_event_bad_reload);
    tcase_add_test(tc, test_event_max_idle);
    tcase_add_test_raise_signal(tc, test_event_bad_max_idle, SIGABRT);
    tcase_add_test(tc, test_event_under_master);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(server_suite());
    int failed;

    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
