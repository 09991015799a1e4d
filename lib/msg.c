/* Logging to syslog, a file, or stderr.
 *
 * A log file is reopened by its path on request (msg_reopen, or a flag
 * set from a signal handler and acted on at the next line), so that
 * logrotate can rename it away and `alligatectl reload` moves every
 * process to the new one.  The new descriptor replaces the old one under
 * the same number (dup3), so that a thread writing meanwhile writes to
 * one or the other, never to a closed one. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"

#define MSG_DEST_STDERR 0
#define MSG_DEST_SYSLOG 1
#define MSG_DEST_FILE   2

#define MSG_LINE_MAX    4000

int msg_verbose;

static char msg_name[64] = "alligate";
static int msg_dest = MSG_DEST_STDERR;
static int msg_fd = 2;
static void (*msg_hook)(void);
static int msg_tee;
static int msg_in_fatal;
static char msg_path[PATH_MAX];         /* MSG_DEST_FILE: what to reopen */
static volatile sig_atomic_t msg_reopen_wanted;

/* For every log line, asked once instead of with a system call per line:
 * the host name when the log is opened, the process id at the first line
 * (again in a child forked without exec, such as relay's agents). */
static pid_t msg_pid;
static char msg_host[64];

static void
msg_forked(void)
{
    msg_pid = 0;
}

static pid_t
msg_getpid(void)
{
    static int registered;

    if (!registered) {
        registered = 1;
        pthread_atfork(NULL, NULL, msg_forked);
    }
    if (msg_pid == 0)
        msg_pid = getpid();
    return msg_pid;
}

void
msg_init(const char *progname)
{
    const char *slash = strrchr(progname, '/');

    snprintf(msg_name, sizeof(msg_name), "alligate/%s",
             slash ? slash + 1 : progname);
}

const char *
msg_progname(void)
{
    return msg_name;
}

static int
msg_open_file(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
}

int
msg_open(const char *log_file)
{
    int fd = -1;

    /* Here, not at the first line: a thread may log too. */
    if (gethostname(msg_host, sizeof(msg_host)) < 0)
        snprintf(msg_host, sizeof(msg_host), "localhost");
    msg_host[sizeof(msg_host) - 1] = 0;
    if (log_file != NULL && *log_file != 0 && strcmp(log_file, "-") != 0) {
        if (strlen(log_file) >= sizeof(msg_path)) {
            errno = ENAMETOOLONG;
            return -1;
        }
        if ((fd = msg_open_file(log_file)) < 0)
            return -1;
    }
    msg_reopen_wanted = 0;
    if (msg_dest == MSG_DEST_SYSLOG)
        closelog();
    if (fd >= 0) {
        if (msg_dest == MSG_DEST_FILE && msg_fd > 2 && msg_fd != fd
            && dup3(fd, msg_fd, O_CLOEXEC) >= 0) {
            close(fd);
        } else {
            if (msg_dest == MSG_DEST_FILE && msg_fd > 2)
                close(msg_fd);
            msg_fd = fd;
        }
        msg_dest = MSG_DEST_FILE;
        snprintf(msg_path, sizeof(msg_path), "%s", log_file);
        return 0;
    }
    if (msg_dest == MSG_DEST_FILE && msg_fd > 2)
        close(msg_fd);
    msg_path[0] = 0;
    if (log_file == NULL || *log_file == 0) {
        openlog(msg_name, LOG_PID | LOG_NDELAY, LOG_MAIL);
        msg_dest = MSG_DEST_SYSLOG;
    } else {
        msg_dest = MSG_DEST_STDERR;
        msg_fd = 2;
    }
    return 0;
}

int
msg_reopen(void)
{
    int fd;

    msg_reopen_wanted = 0;
    if (msg_dest != MSG_DEST_FILE)
        return 0;
    if ((fd = msg_open_file(msg_path)) < 0)
        return -1;
    if (msg_fd > 2 && fd != msg_fd && dup3(fd, msg_fd, O_CLOEXEC) >= 0) {
        close(fd);
    } else {
        if (msg_fd > 2)
            close(msg_fd);
        msg_fd = fd;
    }
    return 0;
}

void
msg_reopen_request(void)
{
    msg_reopen_wanted = 1;
}

void
msg_tee_stderr(int on)
{
    msg_tee = on;
}

void
msg_fatal_hook(void (*hook)(void))
{
    msg_hook = hook;
}

/* One write(2) per line, so lines from many processes never interleave. */
static void
msg_emit(int prio, const char *level, const char *fmt, va_list ap)
{
    char text[MSG_LINE_MAX];
    char line[MSG_LINE_MAX + 256];
    char stamp[32];
    char host[64] = "";
    time_t now;
    struct tm tm;
    int saved = errno;
    int n;

    /* Asked from a signal handler: done here, before the line.  Failing,
     * the old file goes on, and says so (once: the flag is cleared). */
    if (msg_reopen_wanted && msg_reopen() < 0)
        msg_warn("cannot reopen log file %s: %m; still writing to the old one",
                 msg_path);
    errno = saved;
    vsnprintf(text, sizeof(text), fmt, ap);
    if (msg_tee && msg_dest != MSG_DEST_STDERR) {
        n = snprintf(line, sizeof(line), "%s: %s%s\n", msg_name, level, text);
        if (n > 0 && write(2, line, (size_t) n < sizeof(line) ? (size_t) n : sizeof(line) - 1) < 0) {
            /* Whoever listened is gone. */
        }
    }
    if (msg_dest == MSG_DEST_SYSLOG) {
        syslog(prio, "%s%s", level, text);
        errno = saved;
        return;
    }
    now = time(NULL);
    localtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
    if (msg_host[0] == 0 && gethostname(host, sizeof(host)) < 0)
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = 0;
    n = snprintf(line, sizeof(line), "%s %s %s[%ld]: %s%s\n", stamp,
                 msg_host[0] ? msg_host : host,
                 msg_name, (long) msg_getpid(), level, text);
    if (n > (int) sizeof(line) - 1) {
        n = sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    if (write(msg_fd, line, (size_t) n) < 0) {
        /* Nowhere left to complain to. */
    }
    errno = saved;
}

void
msg_vinfo(const char *fmt, va_list ap)
{
    msg_emit(LOG_INFO, "", fmt, ap);
}

void
msg_info(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    msg_emit(LOG_INFO, "", fmt, ap);
    va_end(ap);
}

void
msg_warn(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    msg_emit(LOG_WARNING, "warning: ", fmt, ap);
    va_end(ap);
}

void
msg_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    msg_emit(LOG_ERR, "error: ", fmt, ap);
    va_end(ap);
}

void
msg_fatal(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    msg_emit(LOG_CRIT, "fatal: ", fmt, ap);
    va_end(ap);
    if (msg_hook && !msg_in_fatal++)
        msg_hook();
    exit(1);
}

void
msg_panic(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    msg_emit(LOG_CRIT, "panic: ", fmt, ap);
    va_end(ap);
    abort();
}
