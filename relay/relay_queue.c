/* The queue manager: which queue files to try, when, and by which agent.
 *
 * It finds work three ways: inotify on incoming/, for IN_MOVED_TO only
 * (every queue file is committed there by a rename, so smtpd need tell
 * nobody; IN_CLOSE_WRITE would fire each time an agent closes a file it
 * marked); a scan of incoming/ and deferred/ at start and every
 * queue_run_delay, which catches anything missed (an inotify queue
 * overflow, a file written in place by hand); and a scan of deferred/
 * when the earliest next attempt it knows of comes due. A deferred file's
 * next attempt is its modification time.
 *
 * Each queue file it knows of is a job: ready (in a FIFO), active (with an
 * agent) or waiting (on a short timer, after an agent died with it or the
 * file was locked). A job is forgotten once its agent reports; the file
 * itself is the memory.
 *
 * When the backend cannot be reached, the queue manager stops sending
 * agents to it for minimal_backoff_time: jobs are still handed to agents,
 * which defer them at once with the same reason (or bounce the expired
 * ones) without connecting. A flush ends that at once.
 *
 * With defer_delivery = yes, nothing is tried except on a flush. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "events.h"
#include "htable.h"
#include "msg.h"
#include "mymalloc.h"
#include "queue_dir.h"
#include "queue_id.h"
#include "queue_status.h"
#include "queue_watch.h"
#include "relay.h"

#define RELAY_JOB_READY     1
#define RELAY_JOB_ACTIVE    2
#define RELAY_JOB_WAITING   3

#define RELAY_RETRY_BUSY_MS     100     /* a locked file: first wait */
#define RELAY_RETRY_BUSY_MAX_MS 5000    /* ... doubling up to this */
#define RELAY_RETRY_CRASH_MS    10000   /* an agent died with the job */
#define RELAY_TMP_MAX_AGE       60      /* tmp/ files of dead writers */
#define RELAY_DUE_MIN_MS        1000    /* deferred/ scans at most this often */

typedef struct RELAY_JOB {
    char    id[QUEUE_ID_LEN + 1];
    const char *sub;            /* QUEUE_DIR_INCOMING or QUEUE_DIR_DEFERRED */
    int     state;
    int     suspended;          /* sent while the backend was unreachable */
    int     busy;               /* attempts that found the file locked */
    struct RELAY_JOB *next;     /* in the ready FIFO */
} RELAY_JOB;

static HTABLE *relay_jobs;              /* RELAY_JOB by queue id */

static RELAY_JOB *relay_ready_head;
static RELAY_JOB *relay_ready_tail;
static long relay_ready_count;
static long relay_active_count;

static int relay_inotify_fd = -1;
static time_t relay_earliest_due;       /* 0: none known */
static long long relay_down_until;      /* ms: the backend is unreachable */
static VBUF *relay_down_why;
static int relay_stopping;

static void relay_queue_run(void);

/* Jobs --------------------------------------------------------------- */

static void
relay_job_ready(RELAY_JOB *job)
{
    job->state = RELAY_JOB_READY;
    job->next = NULL;
    if (relay_ready_tail)
        relay_ready_tail->next = job;
    else
        relay_ready_head = job;
    relay_ready_tail = job;
    relay_ready_count++;
}

/* Adds a queue file as a ready job, unless it is known already. */
static void
relay_job_add(const char *id, const char *sub)
{
    RELAY_JOB *job;

    if (htable_find(relay_jobs, id) != NULL)
        return;
    job = mycalloc(1, sizeof(*job));
    snprintf(job->id, sizeof(job->id), "%s", id);
    job->sub = sub;
    htable_enter(relay_jobs, job->id, job);
    relay_job_ready(job);
}

static void
relay_job_forget(RELAY_JOB *job)
{
    if (htable_find(relay_jobs, job->id) == job)
        htable_delete(relay_jobs, job->id);
    myfree(job);
}

static void
relay_job_wake(int event, void *context)
{
    RELAY_JOB *job = context;

    (void) event;
    relay_job_ready(job);
    relay_queue_run();
}

static void
relay_job_wait(RELAY_JOB *job, long long delay_ms)
{
    job->state = RELAY_JOB_WAITING;
    event_request_timer(relay_job_wake, job, delay_ms);
}

/* Scans -------------------------------------------------------------- */

static int
relay_queue_delivering(void)
{
    return !conf_bool(P_defer_delivery) && !relay_stopping;
}

static void relay_queue_due_event(int event, void *context);

/* Remembers the earliest next attempt in deferred/ and wakes up then. */
static void
relay_queue_note_due(time_t when)
{
    long long delay;

    if (relay_earliest_due != 0 && relay_earliest_due <= when)
        return;
    relay_earliest_due = when;
    delay = ((long long) when - (long long) time(NULL)) * 1000;
    if (delay < RELAY_DUE_MIN_MS)
        delay = RELAY_DUE_MIN_MS;
    event_request_timer(relay_queue_due_event, NULL, delay);
}

static void
relay_queue_scan(const char *sub, int force)
{
    VBUF *path = vbuf_create(100);
    struct dirent *dp;
    struct stat st;
    time_t now = time(NULL);
    DIR *dir;
    int dfd;

    dir = opendir(queue_dir_path(path, conf_str(P_queue_directory), sub, NULL));
    if (dir == NULL)
        msg_warn("open %s: %m", vbuf_str(path));
    vbuf_free(path);
    if (dir == NULL)
        return;
    dfd = dirfd(dir);
    while ((dp = readdir(dir)) != NULL) {
        if (!queue_id_valid(dp->d_name) || htable_find(relay_jobs, dp->d_name) != NULL)
            continue;
        if (strcmp(sub, QUEUE_DIR_DEFERRED) == 0 && !force) {
            if (fstatat(dfd, dp->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                continue;
            if (st.st_mtime > now) {
                relay_queue_note_due(st.st_mtime);
                continue;
            }
        }
        relay_job_add(dp->d_name, strcmp(sub, QUEUE_DIR_INCOMING) == 0 ?
                      QUEUE_DIR_INCOMING : QUEUE_DIR_DEFERRED);
    }
    closedir(dir);
}

/* Finds what is in incoming/, and what is due in deferred/ (everything
 * with force), starting the search for the earliest next attempt anew. */
static void
relay_queue_scan_all(int force)
{
    relay_queue_scan(QUEUE_DIR_INCOMING, force);
    relay_earliest_due = 0;
    relay_queue_scan(QUEUE_DIR_DEFERRED, force);
}

/* The periodic queue run: housekeeping, then everything that is due. */
static void
relay_queue_scan_event(int event, void *context)
{
    const char *queue_dir = conf_str(P_queue_directory);
    int n;

    (void) event;
    (void) context;
    if ((n = queue_dir_cleanup_tmp(queue_dir, RELAY_TMP_MAX_AGE)) > 0)
        msg_info("removed %d temporary queue file%s of sessions that died", n,
                 n == 1 ? "" : "s");
    (void) queue_status_cleanup(queue_dir);
    if (relay_queue_delivering()) {
        relay_queue_scan_all(0);
        relay_queue_run();
    }
    event_request_timer(relay_queue_scan_event, NULL, conf_time_ms(P_queue_run_delay));
}

static void
relay_queue_due_event(int event, void *context)
{
    (void) event;
    (void) context;
    relay_earliest_due = 0;
    if (relay_queue_delivering()) {
        relay_queue_scan(QUEUE_DIR_DEFERRED, 0);
        relay_queue_run();
    }
}

static void
relay_queue_inotify_add(const char *id, void *context)
{
    (void) context;
    if (relay_queue_delivering())
        relay_job_add(id, QUEUE_DIR_INCOMING);
}

static void
relay_queue_inotify_event(int event, void *context)
{
    int overflow;

    (void) event;
    (void) context;
    overflow = queue_watch_read(relay_inotify_fd, relay_queue_inotify_add, NULL);
    if (overflow && relay_queue_delivering())
        relay_queue_scan(QUEUE_DIR_INCOMING, 0);
    relay_queue_run();
}

/* Dispatch ------------------------------------------------------------ */

/* An agent's report on a job (res NULL: the agent died with it). */
static void
relay_queue_done(void *context, const RELAY_JOB_RESULT *res)
{
    RELAY_JOB *job = context;

    relay_active_count--;
    if (res == NULL) {
        msg_warn("%s: delivery agent died; trying again in %ds", job->id,
                 RELAY_RETRY_CRASH_MS / 1000);
        relay_job_wait(job, RELAY_RETRY_CRASH_MS);
        relay_queue_run();
        return;
    }
    if (res->conn_failed && *conf_str(P_relay_host)) {
        if (relay_down_until == 0)
            msg_info("delivery temporarily suspended: %s", vbuf_str(res->why));
        relay_down_until = event_now_ms() + conf_time_ms(P_minimal_backoff_time);
        vbuf_set(relay_down_why, vbuf_str(res->why));
    } else if (relay_down_until != 0 && !job->suspended
               && (strcmp(res->result, RELAY_RESULT_DONE) == 0
                   || strcmp(res->result, RELAY_RESULT_DEFERRED) == 0)) {
        /* An agent got through: the backend is back. */
        msg_info("delivery resumed");
        relay_down_until = 0;
    }
    if (strcmp(res->result, RELAY_RESULT_BUSY) == 0) {
        /* Mostly smtpd, which still holds the lock for a moment after the
         * rename that woke us. */
        long long delay = RELAY_RETRY_BUSY_MS << (job->busy < 6 ? job->busy : 6);

        job->busy++;
        relay_job_wait(job, delay < RELAY_RETRY_BUSY_MAX_MS ? delay : RELAY_RETRY_BUSY_MAX_MS);
    } else if (strcmp(res->result, RELAY_RESULT_ERROR) == 0) {
        relay_job_wait(job, conf_time_ms(P_minimal_backoff_time));
    } else {
        if (strcmp(res->result, RELAY_RESULT_DEFERRED) == 0 && res->next_try > 0)
            relay_queue_note_due(res->next_try);
        relay_job_forget(job);
    }
    /* The agent is free for the next job. */
    relay_queue_run();
}

/* Hands ready jobs to agents while there are agents to be had. */
static void
relay_queue_run(void)
{
    RELAY_AGENT *agent;
    RELAY_JOB *job;
    const char *defer_reason;

    while (relay_ready_head != NULL && !relay_stopping) {
        if ((agent = relay_pool_get((int) conf_int(P_relay_concurrency))) == NULL)
            break;
        job = relay_ready_head;
        if ((relay_ready_head = job->next) == NULL)
            relay_ready_tail = NULL;
        relay_ready_count--;
        job->state = RELAY_JOB_ACTIVE;
        relay_active_count++;
        if (relay_down_until != 0 && event_now_ms() >= relay_down_until)
            relay_down_until = 0;
        defer_reason = relay_down_until != 0 ? vbuf_str(relay_down_why) : NULL;
        job->suspended = defer_reason != NULL;
        relay_pool_send(agent, job, job->id, job->sub, defer_reason);
    }
}

/* Interface ------------------------------------------------------------ */

/* In an agent: the inotify descriptor is the queue manager's. */
static void
relay_queue_fork_close(void *context)
{
    (void) context;
    if (relay_inotify_fd >= 0)
        close(relay_inotify_fd);
}

void
relay_queue_init(void)
{
    VBUF *path = vbuf_create(100);

    relay_down_why = vbuf_create(100);
    relay_jobs = htable_create(1024);
    relay_pool_init(relay_queue_done);
    relay_pool_on_fork(relay_queue_fork_close, NULL);
    queue_dir_path(path, conf_str(P_queue_directory), QUEUE_DIR_INCOMING, NULL);
    if ((relay_inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0
        || inotify_add_watch(relay_inotify_fd, vbuf_str(path), IN_MOVED_TO) < 0)
        msg_warn("inotify on %s: %m; new mail waits for the next queue run", vbuf_str(path));
    else
        event_enable_read(relay_inotify_fd, relay_queue_inotify_event, NULL);
    vbuf_free(path);
    if (*conf_str(P_relay_host) == 0)
        relay_maildir_cleanup(conf_str(P_local_maildir));
    relay_queue_scan_event(0, NULL);
}

/* A flush: a job that waits is ready now. */
static void
relay_queue_flush_job(const HTABLE_ENTRY *entry, void *context)
{
    RELAY_JOB *job = entry->value;

    (void) context;
    if (job->state == RELAY_JOB_WAITING) {
        event_cancel_timer(relay_job_wake, job);
        relay_job_ready(job);
    }
}

void
relay_queue_flush(void)
{
    relay_down_until = 0;
    htable_walk(relay_jobs, relay_queue_flush_job, NULL);
    relay_queue_scan_all(1);
    relay_queue_run();
}

void
relay_queue_reload(void)
{
    if (relay_queue_delivering()) {
        relay_queue_scan_all(0);
    }
    event_request_timer(relay_queue_scan_event, NULL, conf_time_ms(P_queue_run_delay));
    relay_queue_run();
}

void
relay_queue_stop(void)
{
    relay_stopping = 1;
}

void
relay_queue_counts(long *ready, long *active)
{
    *ready = relay_ready_count;
    *active = relay_active_count;
}

