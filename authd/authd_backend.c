/* The children that ask the backend; see authd_backend.h.  The result
 * travels as one line, "STATUS REASON\n". */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth_clnt.h"
#include "authd_backend.h"
#include "authd_relay.h"
#include "events.h"
#include "msg.h"
#include "mymalloc.h"

#define AUTHD_BACKEND_RESULT_MAX    1024
#define AUTHD_BACKEND_CHILD_FD      3   /* the pipe, in the child */

typedef struct AUTHD_JOB {
    AUTHD_CHECK *check;
    AUTHD_BACKEND_FN done;
    void *context;
    pid_t pid;
    int fd;
    VBUF *result;
    struct AUTHD_JOB *next;
} AUTHD_JOB;

static AUTHD_JOB *authd_running;        /* unordered */
static AUTHD_JOB *authd_waiting, **authd_waiting_tail = &authd_waiting;
static int authd_nrunning;

static void authd_backend_read(int event, void *context);
static void authd_backend_timeout(int event, void *context);

/* In the child: the check, its result on fd, and nothing else. */
static void __attribute__((noreturn))
authd_backend_child(AUTHD_CHECK *check, int fd)
{
    VBUF *why = vbuf_create(100), *line = vbuf_create(100);
    int result;

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGPIPE, SIG_IGN);
    /* The clients' sockets stay with authd: one it closes must not stay
     * open here (nor the log: this child says nothing). */
    if (fd != AUTHD_BACKEND_CHILD_FD
        && dup2(fd, AUTHD_BACKEND_CHILD_FD) != AUTHD_BACKEND_CHILD_FD)
        _exit(1);
    fd = AUTHD_BACKEND_CHILD_FD;
    closefrom(fd + 1);
    result = authd_relay_verify(check->method, check->user, check->password,
                                why);
    vbuf_printf(line, "%d ", result);
    vbuf_append(line, vbuf_str(why), strcspn(vbuf_str(why), "\r\n"));
    vbuf_append_char(line, '\n');
    if (write(fd, vbuf_str(line), vbuf_len(line)) < 0)
        _exit(1);
    _exit(0);
}

static void
authd_backend_launch(AUTHD_JOB *job)
{
    int fds[2];

    if (pipe2(fds, O_CLOEXEC) < 0) {
        msg_warn("backend check: pipe: %m");
        job->pid = -1;
        job->fd = -1;
    } else if ((job->pid = fork()) < 0) {
        msg_warn("backend check: fork: %m");
        close(fds[0]);
        close(fds[1]);
        job->fd = -1;
    } else if (job->pid == 0) {
        close(fds[0]);
        authd_backend_child(job->check, fds[1]);
    } else {
        close(fds[1]);
        job->fd = fds[0];
        fcntl(job->fd, F_SETFL, O_NONBLOCK);
    }
    job->next = authd_running;
    authd_running = job;
    authd_nrunning++;
    if (job->fd < 0) {
        /* Answered from the loop, as any other. */
        event_request_timer(authd_backend_timeout, job, 0);
        return;
    }
    event_enable_read(job->fd, authd_backend_read, job);
    event_request_timer(authd_backend_timeout, job,
                        AUTH_BACKEND_TIMEOUT_MS + AUTHD_BACKEND_GRACE_MS);
}

/* Starts what waits, while there is room. */
static void
authd_backend_next(void)
{
    AUTHD_JOB *job;

    while (authd_waiting && authd_nrunning < AUTHD_BACKEND_MAX) {
        job = authd_waiting;
        if ((authd_waiting = job->next) == NULL)
            authd_waiting_tail = &authd_waiting;
        authd_backend_launch(job);
    }
}

/* Ends a running job: stops its child, forgets it. */
static void
authd_backend_end(AUTHD_JOB *job)
{
    AUTHD_JOB **pp;

    for (pp = &authd_running; *pp; pp = &(*pp)->next)
        if (*pp == job) {
            *pp = job->next;
            break;
        }
    authd_nrunning--;
    event_cancel_timer(authd_backend_timeout, job);
    if (job->fd >= 0) {
        event_disable_readwrite(job->fd);
        close(job->fd);
    }
    if (job->pid > 0) {
        kill(job->pid, SIGKILL);
        while (waitpid(job->pid, NULL, 0) < 0 && errno == EINTR)
            continue;
    }
}

static void
authd_backend_free(AUTHD_JOB *job)
{
    authd_check_free(job->check);
    vbuf_free(job->result);
    myfree(job);
}

/* The job is over: its result to the caller, and the next one in. */
static void
authd_backend_finish(AUTHD_JOB *job, int result, const char *reason)
{
    authd_backend_end(job);
    job->done(job->check, result, reason, job->context);
    authd_backend_free(job);
    authd_backend_next();
}

static void
authd_backend_read(int event, void *context)
{
    AUTHD_JOB *job = context;
    char buf[256], *end;
    ssize_t n;
    long result;

    (void) event;
    n = read(job->fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n > 0 && vbuf_len(job->result) < AUTHD_BACKEND_RESULT_MAX) {
        vbuf_append(job->result, buf, (size_t) n);
        return;
    }
    if (n > 0)
        return;                         /* more than a result: ignored */
    /* EOF: the child said all it will. */
    result = strtol(vbuf_str(job->result), &end, 10);
    if (end == vbuf_str(job->result) || *end != ' '
        || (result != AUTH_CLNT_OK && result != AUTH_CLNT_FAIL
            && result != AUTH_CLNT_TEMP)
        || vbuf_len(job->result) == 0
        || vbuf_str(job->result)[vbuf_len(job->result) - 1] != '\n') {
        authd_backend_finish(job, AUTH_CLNT_TEMP,
                             "the backend check ended without a result");
        return;
    }
    vbuf_truncate(job->result, vbuf_len(job->result) - 1);
    authd_backend_finish(job, (int) result, end + 1);
}

static void
authd_backend_timeout(int event, void *context)
{
    AUTHD_JOB *job = context;

    (void) event;
    authd_backend_finish(job, AUTH_CLNT_TEMP,
                         job->fd < 0 ? "cannot start the backend check"
                         : "the backend check took too long");
}

void
authd_backend_start(AUTHD_CHECK *check, AUTHD_BACKEND_FN done, void *context)
{
    AUTHD_JOB *job = mymalloc(sizeof(*job));

    job->check = check;
    job->done = done;
    job->context = context;
    job->pid = -1;
    job->fd = -1;
    job->result = vbuf_create(128);
    job->next = NULL;
    *authd_waiting_tail = job;
    authd_waiting_tail = &job->next;
    authd_backend_next();
}

void
authd_backend_stop(void)
{
    AUTHD_JOB *job;

    while ((job = authd_running) != NULL) {
        authd_backend_end(job);
        authd_backend_free(job);
    }
    while ((job = authd_waiting) != NULL) {
        authd_waiting = job->next;
        authd_backend_free(job);
    }
    authd_waiting_tail = &authd_waiting;
}
