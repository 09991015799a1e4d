/* The delivery agents as the queue manager sees them: started on demand
 * up to relay_concurrency, each with a socketpair to the queue manager,
 * reused most-recently-idle first (that one most likely still has its
 * connection to the backend open), retired after a reload, and reaped.
 * An agent that dies with a job hands the job back to the queue manager;
 * the queue file is still in place, with the marks of what was done.
 *
 * An agent is forked, not executed, so it inherits every descriptor of the
 * queue manager. Each module that opens one registers a hook with
 * relay_pool_on_fork() that closes it in a new agent: an agent holding the
 * control socket or the inotify descriptor would keep them alive after
 * the queue manager is gone, and the pool need not know them by name. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attr.h"
#include "events.h"
#include "msg.h"
#include "mymalloc.h"
#include "relay.h"

struct RELAY_AGENT {
    pid_t   pid;                /* 0 once reaped */
    int     fd;                 /* -1 once closed */
    VBUF   *in;
    void   *job;                /* NULL when idle */
    long long last_used;        /* monotonic ms */
    int     retiring;
    struct RELAY_AGENT *next;
};

/* What to close in an agent just forked, in the order registered. */
typedef struct RELAY_POOL_HOOK {
    void    (*fn)(void *);
    void   *context;
    struct RELAY_POOL_HOOK *next;
} RELAY_POOL_HOOK;

static RELAY_AGENT *relay_agents;
static RELAY_POOL_HOOK *relay_pool_hooks;
static RELAY_POOL_HOOK **relay_pool_hooks_tail = &relay_pool_hooks;
static RELAY_POOL_DONE_FN relay_pool_done;
static ATTR *relay_pool_reply;
static VBUF *relay_pool_why;

void
relay_pool_init(RELAY_POOL_DONE_FN done)
{
    relay_pool_done = done;
    relay_pool_reply = attr_create();
    relay_pool_why = vbuf_create(100);
}

void
relay_pool_on_fork(void (*fn)(void *), void *context)
{
    RELAY_POOL_HOOK *hook = mymalloc(sizeof(*hook));

    hook->fn = fn;
    hook->context = context;
    hook->next = NULL;
    *relay_pool_hooks_tail = hook;
    relay_pool_hooks_tail = &hook->next;
}

/* In an agent just forked: closes what belongs to the queue manager, the
 * other agents' sockets and whatever the modules registered. */
static void
relay_pool_child_close(void)
{
    RELAY_AGENT *agent;
    RELAY_POOL_HOOK *hook;

    for (agent = relay_agents; agent; agent = agent->next)
        if (agent->fd >= 0)
            close(agent->fd);
    for (hook = relay_pool_hooks; hook; hook = hook->next)
        hook->fn(hook->context);
}

/* Frees the agents that are both reaped and closed. Only called outside
 * the agents' event callbacks, so that none is freed under its own feet. */
static void
relay_pool_sweep(void)
{
    RELAY_AGENT **ap = &relay_agents, *agent;

    while ((agent = *ap) != NULL) {
        if (agent->pid == 0 && agent->fd < 0) {
            *ap = agent->next;
            vbuf_free(agent->in);
            myfree(agent);
        } else {
            ap = &agent->next;
        }
    }
}

/* Stops talking to an agent; it exits when it sees the end of its socket.
 * A job it had goes back to the queue manager as unfinished. */
static void
relay_pool_close(RELAY_AGENT *agent)
{
    void *job = agent->job;

    if (agent->fd >= 0) {
        event_disable_readwrite(agent->fd);
        close(agent->fd);
        agent->fd = -1;
    }
    agent->job = NULL;
    if (job != NULL)
        relay_pool_done(job, NULL);
}

/* Turns one reply into a result for the queue manager. */
static void
relay_pool_result(RELAY_AGENT *agent, const ATTR *reply)
{
    RELAY_JOB_RESULT res;
    const char *result = attr_get(reply, "result");
    const char *reason = attr_get(reply, "reason");
    long conn_failed = 0;
    void *job = agent->job;

    memset(&res, 0, sizeof(res));
    res.why = relay_pool_why;
    vbuf_set(res.why, reason ? reason : "");
    res.result = result ? result : RELAY_RESULT_ERROR;
    res.next_try = (time_t) strtoll(attr_get(reply, "next_try") ?
                                    attr_get(reply, "next_try") : "0", NULL, 10);
    attr_get_long(reply, "conn_failed", &conn_failed);
    res.conn_failed = conn_failed != 0;
    agent->job = NULL;
    agent->last_used = event_now_ms();
    if (job == NULL) {
        msg_warn("agent pid %d: a result without a job", (int) agent->pid);
        return;
    }
    relay_pool_done(job, &res);
}

static void
relay_pool_event(int event, void *context)
{
    RELAY_AGENT *agent = context;
    char buf[4096];
    size_t used;
    ssize_t n;
    int status;

    (void) event;
    n = read(agent->fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        if (agent->job != NULL)
            msg_warn("agent pid %d: gone during a job", (int) agent->pid);
        relay_pool_close(agent);
        return;
    }
    vbuf_append(agent->in, buf, (size_t) n);
    while ((status = attr_parse(relay_pool_reply, vbuf_str(agent->in),
                                vbuf_len(agent->in), &used, relay_pool_why)) == 1) {
        vbuf_consume(agent->in, used);
        relay_pool_result(agent, relay_pool_reply);
        if (agent->fd < 0)
            return;
    }
    if (status < 0) {
        msg_warn("agent pid %d: malformed reply: %s", (int) agent->pid,
                 vbuf_str(relay_pool_why));
        if (agent->pid > 0)
            kill(agent->pid, SIGKILL);
        relay_pool_close(agent);
        return;
    }
    if (agent->retiring && agent->job == NULL)
        relay_pool_close(agent);
}

/* Starts an agent; NULL when fork fails. */
static RELAY_AGENT *
relay_pool_spawn(void)
{
    RELAY_AGENT *agent;
    pid_t parent = getpid(), pid;
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        msg_warn("socketpair: %m");
        return NULL;
    }
    switch (pid = fork()) {
    case -1:
        msg_warn("fork: %m");
        close(sv[0]);
        close(sv[1]);
        return NULL;
    case 0:
        close(sv[0]);
        /* An agent never outlives the queue manager that gave it work. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
            _exit(0);
        relay_pool_child_close();
        relay_agent_main(sv[1]);
    default:
        break;
    }
    close(sv[1]);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    agent = mycalloc(1, sizeof(*agent));
    agent->pid = pid;
    agent->fd = sv[0];
    agent->in = vbuf_create(256);
    agent->last_used = event_now_ms();
    agent->next = relay_agents;
    relay_agents = agent;
    event_enable_read(agent->fd, relay_pool_event, agent);
    if (msg_verbose)
        msg_info("started delivery agent pid %d", (int) pid);
    return agent;
}

RELAY_AGENT *
relay_pool_get(int limit)
{
    RELAY_AGENT *agent, *best = NULL;
    int count = 0;

    for (agent = relay_agents; agent; agent = agent->next) {
        if (agent->fd < 0)
            continue;
        count++;
        if (agent->job == NULL && !agent->retiring && agent->pid > 0
            && (best == NULL || agent->last_used > best->last_used))
            best = agent;
    }
    if (best != NULL)
        return best;
    return count < limit ? relay_pool_spawn() : NULL;
}

void
relay_pool_send(RELAY_AGENT *agent, void *job, const char *id, const char *sub,
                const char *defer_reason)
{
    ATTR *req = attr_create();
    VBUF *out = vbuf_create(256);
    ssize_t n;

    attr_set(req, "request", "deliver");
    attr_set(req, "queue_id", id);
    attr_set(req, "queue_dir", sub);
    if (defer_reason)
        attr_set(req, "defer_reason", defer_reason);
    attr_print(out, req);
    agent->job = job;
    /* A request is small and the agent has read the one before: the
     * socket buffer has room. */
    n = write(agent->fd, vbuf_str(out), vbuf_len(out));
    if (n != (ssize_t) vbuf_len(out)) {
        msg_warn("agent pid %d: cannot send a job: %s", (int) agent->pid,
                 n < 0 ? strerror(errno) : "short write");
        if (agent->pid > 0)
            kill(agent->pid, SIGKILL);
        relay_pool_close(agent);
    }
    attr_free(req);
    vbuf_free(out);
}

void
relay_pool_retire(void)
{
    RELAY_AGENT *agent, *next;

    for (agent = relay_agents; agent; agent = next) {
        next = agent->next;
        agent->retiring = 1;
        if (agent->job == NULL && agent->fd >= 0)
            relay_pool_close(agent);
    }
}

void
relay_pool_reap(void)
{
    RELAY_AGENT *agent;
    pid_t pid;
    int status;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (agent = relay_agents; agent; agent = agent->next)
            if (agent->pid == pid)
                break;
        if (WIFSIGNALED(status))
            msg_warn("delivery agent pid %d killed by signal %d", (int) pid,
                     WTERMSIG(status));
        else if (WEXITSTATUS(status) != 0)
            msg_warn("delivery agent pid %d exit status %d", (int) pid,
                     WEXITSTATUS(status));
        if (agent != NULL)
            agent->pid = 0;
    }
    relay_pool_sweep();
}

int
relay_pool_count(int *busy)
{
    RELAY_AGENT *agent;
    int count = 0;

    *busy = 0;
    for (agent = relay_agents; agent; agent = agent->next) {
        if (agent->fd < 0)
            continue;
        count++;
        *busy += agent->job != NULL;
    }
    return count;
}

void
relay_pool_stop(int grace_ms)
{
    RELAY_AGENT *agent, *next;
    struct timespec tick = {0, 20 * 1000 * 1000};
    int waited;

    for (agent = relay_agents; agent; agent = agent->next)
        if (agent->pid > 0)
            kill(agent->pid, SIGTERM);
    for (agent = relay_agents; agent; agent = next) {
        next = agent->next;
        agent->job = NULL;              /* nobody to hand it back to */
        relay_pool_close(agent);
    }
    for (waited = 0; relay_agents != NULL && waited < grace_ms; waited += 20) {
        relay_pool_reap();
        if (relay_agents != NULL)
            nanosleep(&tick, NULL);
    }
    for (agent = relay_agents; agent; agent = agent->next)
        if (agent->pid > 0)
            kill(agent->pid, SIGKILL);
    while (relay_agents != NULL) {
        pid_t pid = waitpid(-1, NULL, 0);

        if (pid < 0)
            break;
        for (agent = relay_agents; agent; agent = agent->next)
            if (agent->pid == pid)
                agent->pid = 0;
        relay_pool_sweep();
    }
}
