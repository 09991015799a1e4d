/* archiver: keeps a copy of every accepted message (archive = yes), with
 * an index, for as long as archive_max_age and archive_max_size allow.
 * This file is glue: the daemon skeleton (lib/server_event.c), inotify
 * on the queue's archive/ directory (smtpd links every committed queue
 * file there, queue_dir.h), the socket that alligatectl asks (attr_serv),
 * and the timers that pace the work.  Archiving a batch of links is
 * arc_store.c, the file format lib/arc_file.h, the index arc_index.c,
 * searches arc_search.c and arc_request.c, retention arc_retain.c, the
 * rebuild of the index arc_reindex.c.
 *
 * Work is done in small pieces, each followed by a turn of the event
 * loop: a batch of at most ARC_STORE_BATCH links, at most ARC_RETAIN_STEP
 * removals, a reindex step; so a search is answered between them, and
 * no removal or rebuild stalls the archiving.
 *
 *   archiver -c CONFIG_DIR [-m] [-f] [-v]     (started by master) */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "arc_clnt.h"
#include "arc_file.h"
#include "arc_index.h"
#include "arc_record.h"
#include "arc_reindex.h"
#include "arc_request.h"
#include "arc_retain.h"
#include "arc_store.h"
#include "attr_serv.h"
#include "conf.h"
#include "events.h"
#include "htable.h"
#include "msg.h"
#include "mymalloc.h"
#include "path.h"
#include "printable.h"
#include "queue_dir.h"
#include "queue_id.h"
#include "queue_watch.h"
#include "server.h"
#include "unix_sock.h"

#define ARC_SOCKET_MODE         0600
#define ARC_BACKLOG             64
#define ARC_SCAN_MS             60000   /* the links inotify may have missed */
#define ARC_CHECKPOINT_MS       10000
#define ARC_RETRY_MIN_MS        1000    /* a link that could not be done */
#define ARC_RETRY_MAX_MS        60000
#define ARC_CORRUPT_TRIES       3       /* then the link is put aside */
#define ARC_CORRUPT_SUFFIX      ".archive"

/* A link known and not yet done. */
typedef struct ARC_JOB {
    char    id[QUEUE_ID_LEN + 1];
    int     tries;
    int     waiting;                    /* on its retry timer */
    struct ARC_JOB *next;               /* in the ready FIFO */
} ARC_JOB;

static ARC_INDEX *arc_index;
static ARC_STORE *arc_store;
static ARC_SERVICE arc_svc;
static ATTR_SERV *arc_serv;
static char *arc_sock_path;
static int arc_sock_fd = -1;
static int arc_inotify_fd = -1;
static HTABLE *arc_jobs;
static ARC_JOB *arc_ready_head, *arc_ready_tail;
static ARC_RETAIN_LIMITS arc_limits;

static void arc_work_event(int event, void *context);
static void arc_retain_event(int event, void *context);

/* Jobs ------------------------------------------------------------------- */

static void
arc_job_ready(ARC_JOB *job)
{
    job->waiting = 0;
    job->next = NULL;
    if (arc_ready_tail)
        arc_ready_tail->next = job;
    else
        arc_ready_head = job;
    arc_ready_tail = job;
    event_request_timer(arc_work_event, NULL, 0);
}

static void
arc_job_add(const char *id)
{
    ARC_JOB *job;

    if (htable_find(arc_jobs, id) != NULL)
        return;
    job = mycalloc(1, sizeof(*job));
    snprintf(job->id, sizeof(job->id), "%s", id);
    htable_enter(arc_jobs, job->id, job);
    arc_svc.waiting = (long long) htable_used(arc_jobs);
    arc_job_ready(job);
}

static void
arc_job_done(ARC_JOB *job)
{
    htable_delete(arc_jobs, job->id);
    arc_svc.waiting = (long long) htable_used(arc_jobs);
    myfree(job);
}

static void
arc_job_wake(int event, void *context)
{
    (void) event;
    arc_job_ready(context);
}

static void
arc_job_retry(ARC_JOB *job)
{
    long long delay = (long long) ARC_RETRY_MIN_MS << (job->tries < 6 ? job->tries : 6);

    job->tries++;
    job->waiting = 1;
    event_request_timer(arc_job_wake, job, delay < ARC_RETRY_MAX_MS ? delay : ARC_RETRY_MAX_MS);
}

/* A link that is no queue file, again and again: put aside where an
 * administrator looks (corrupt/ID.archive; relay takes only queue ids). */
static void
arc_job_put_aside(ARC_JOB *job, const char *why)
{
    VBUF   *from = vbuf_create(100), *to = vbuf_create(100);

    queue_dir_path(from, conf_str(P_queue_directory), QUEUE_DIR_ARCHIVE, job->id);
    queue_dir_path(to, conf_str(P_queue_directory), QUEUE_DIR_CORRUPT, job->id);
    vbuf_append_str(to, ARC_CORRUPT_SUFFIX);
    if (rename(vbuf_str(from), vbuf_str(to)) == 0)
        msg_warn("%s: not archived: %s; moved to %s", job->id, printable_str(why),
                 vbuf_str(to));
    else
        msg_warn("%s: not archived: %s; cannot move it to %s: %m", job->id,
                 printable_str(why), vbuf_str(to));
    vbuf_free(from);
    vbuf_free(to);
}

/* Archiving -------------------------------------------------------------- */

static void
arc_work_event(int event, void *context)
{
    ARC_STORE_ITEM items[ARC_STORE_BATCH];
    ARC_JOB *jobs[ARC_STORE_BATCH];
    int     n = 0, i;

    (void) event;
    (void) context;
    while (n < ARC_STORE_BATCH && arc_ready_head != NULL) {
        jobs[n] = arc_ready_head;
        if ((arc_ready_head = arc_ready_head->next) == NULL)
            arc_ready_tail = NULL;
        memset(items + n, 0, sizeof(items[n]));
        memcpy(items[n].id, jobs[n]->id, sizeof(items[n].id));
        n++;
    }
    if (n == 0)
        return;
    arc_store_batch(arc_store, items, n);
    for (i = 0; i < n; i++) {
        switch (items[i].status) {
        case ARC_STORE_DONE:
            msg_info("%s: archived, size=%lld, stored=%lld (ratio %.2f)", items[i].id,
                     items[i].size, items[i].stored,
                     items[i].size > 0 ? (double) items[i].stored / (double) items[i].size
                     : 1.0);
            arc_svc.archived++;
            arc_job_done(jobs[i]);
            break;
        case ARC_STORE_ALREADY:
            msg_info("%s: archived before, size=%lld, stored=%lld", items[i].id,
                     items[i].size, items[i].stored);
            arc_job_done(jobs[i]);
            break;
        case ARC_STORE_GONE:
            arc_job_done(jobs[i]);
            break;
        case ARC_STORE_CORRUPT:
            if (jobs[i]->tries + 1 >= ARC_CORRUPT_TRIES) {
                arc_job_put_aside(jobs[i], vbuf_str(items[i].why));
                arc_svc.failed++;
                arc_job_done(jobs[i]);
                break;
            }
            /* Maybe read while relay rewrote a byte of it: again. */
            msg_warn("%s: cannot archive yet: %s", items[i].id,
                     printable_str(vbuf_str(items[i].why)));
            arc_job_retry(jobs[i]);
            break;
        default:
            msg_warn("%s: cannot archive yet: %s", items[i].id,
                     printable_str(vbuf_str(items[i].why)));
            arc_job_retry(jobs[i]);
            break;
        }
        vbuf_free(items[i].why);
    }
    if (arc_ready_head)
        event_request_timer(arc_work_event, NULL, 0);
    /* New copies may have pushed the archive over archive_max_size, or
     * be the first whose age is to be watched. */
    if (arc_limits.max_size > 0 || arc_limits.max_age > 0)
        event_request_timer(arc_retain_event, NULL, 0);
}

/* Every link in archive/ that is not known yet. */
static void
arc_scan(void)
{
    VBUF   *path = vbuf_create(100);
    struct dirent *dp;
    DIR    *dir;

    if ((dir = opendir(queue_dir_path(path, conf_str(P_queue_directory), QUEUE_DIR_ARCHIVE,
                                      NULL))) == NULL) {
        msg_warn("open %s: %m", vbuf_str(path));
    } else {
        while ((dp = readdir(dir)) != NULL)
            if (queue_id_valid(dp->d_name))
                arc_job_add(dp->d_name);
        closedir(dir);
    }
    vbuf_free(path);
}

static void
arc_scan_event(int event, void *context)
{
    (void) event;
    (void) context;
    arc_scan();
    event_request_timer(arc_scan_event, NULL, ARC_SCAN_MS);
}

static void
arc_inotify_add(const char *id, void *context)
{
    (void) context;
    arc_job_add(id);
}

static void
arc_inotify_event(int event, void *context)
{
    (void) event;
    (void) context;
    if (queue_watch_read(arc_inotify_fd, arc_inotify_add, NULL))
        arc_scan();
}

/* Retention -------------------------------------------------------------- */

typedef struct ARC_OLDEST {
    int     found;
    char    id[QUEUE_ID_LEN + 1];
    long long arrival;
} ARC_OLDEST;

static int
arc_oldest_fn(const char *id, const char *data, size_t len, void *context)
{
    ARC_OLDEST *o = context;
    ARC_RECORD rec;

    if (arc_record_decode(data, len, &rec) < 0)
        return 0;
    o->found = 1;
    snprintf(o->id, sizeof(o->id), "%s", id);
    o->arrival = rec.arrival;
    arc_record_release(&rec);
    return 1;
}

static int
arc_reindexing(void)
{
    ARC_REINDEX_STATUS st;

    if (arc_svc.reindex == NULL)
        return 0;
    arc_reindex_status(arc_svc.reindex, &st);
    return st.running;
}

static void
arc_retain_event(int event, void *context)
{
    ARC_RETAIN_STATE state;
    ARC_INDEX_TOTALS totals;
    ARC_OLDEST oldest;
    VBUF   *why = vbuf_create(100);
    long long now = (long long) time(NULL), next = ARC_RETAIN_IDLE_S * 1000LL;
    int     removed = 0, choice = ARC_RETAIN_KEEP;

    (void) event;
    (void) context;
    /* A rebuild runs with retention off: the index is not whole. */
    while (!arc_reindexing() && (arc_limits.max_age > 0 || arc_limits.max_size > 0)) {
        memset(&oldest, 0, sizeof(oldest));
        if (arc_index_totals(arc_index, &totals, why) < 0
            || arc_index_scan_time(arc_index, -1, -1, arc_oldest_fn, &oldest, why) < 0) {
            msg_warn("archive: retention: %s", vbuf_str(why));
            break;
        }
        state.total = totals.stored;
        state.empty = !oldest.found;
        state.oldest_arrival = oldest.arrival;
        if ((choice = arc_retain_choose(&arc_limits, now, &state)) == ARC_RETAIN_KEEP) {
            next = arc_retain_next_check(&arc_limits, now, &state) * 1000;
            break;
        }
        /* A few each turn; the loop comes back at once for more. */
        if (removed == ARC_RETAIN_STEP) {
            next = 0;
            break;
        }
        if (arc_store_remove(arc_store, oldest.id, why) < 0) {
            msg_warn("archive: cannot remove %s: %s", oldest.id, vbuf_str(why));
            break;
        }
        msg_info("archive: removed %s (%s)", oldest.id, arc_retain_reason(choice));
        if (choice == ARC_RETAIN_AGE)
            arc_svc.removed_age++;
        else
            arc_svc.removed_size++;
        removed++;
    }
    vbuf_free(why);
    event_request_timer(arc_retain_event, NULL, next);
}

static void
arc_configure(void)
{
    arc_limits.max_age = conf_time(P_archive_max_age);
    arc_limits.max_size = conf_int(P_archive_max_size);
}

/* Reindex ---------------------------------------------------------------- */

static void
arc_reindex_event(int event, void *context)
{
    ARC_REINDEX_STATUS st;
    VBUF   *why = vbuf_create(100);
    int     rc;

    (void) event;
    (void) context;
    if ((rc = arc_reindex_step(arc_svc.reindex, why)) < 0) {
        msg_warn("archive: reindex: %s; trying again", vbuf_str(why));
        event_request_timer(arc_reindex_event, NULL, ARC_RETRY_MIN_MS);
    } else if (rc > 0) {
        event_request_timer(arc_reindex_event, NULL, 0);
    } else {
        arc_reindex_status(arc_svc.reindex, &st);
        if (st.failed)
            msg_warn("archive: reindex failed: %s; the old index is kept (%lld files, "
                     "%lld damaged)", printable_str(st.failed), st.files, st.damaged);
        else
            msg_info("archive: reindex done: %lld files, %lld indexed, %lld damaged",
                     st.files, st.indexed, st.damaged);
        event_request_timer(arc_retain_event, NULL, 0);
    }
    vbuf_free(why);
}

static int
arc_start_reindex(VBUF *why)
{
    ARC_REINDEX *re;

    if ((re = arc_reindex_start(arc_index, conf_str(P_archive_directory), why)) == NULL)
        return -1;
    arc_reindex_free(arc_svc.reindex);
    arc_svc.reindex = re;
    msg_info("archive: reindex started");
    event_request_timer(arc_reindex_event, NULL, 0);
    return 0;
}

/* Glue --------------------------------------------------------------------- */

static void
arc_checkpoint_event(int event, void *context)
{
    VBUF   *why = vbuf_create(100);

    (void) event;
    (void) context;
    if (arc_index_checkpoint(arc_index, why) < 0)
        msg_warn("archive index: %s", vbuf_str(why));
    vbuf_free(why);
    event_request_timer(arc_checkpoint_event, NULL, ARC_CHECKPOINT_MS);
}

static void
arc_serve(const ATTR *request, ATTR *reply, void *context)
{
    arc_request_handle(context, request, reply, attr_serv_client_id(arc_serv));
}

static void
arc_closed(unsigned long client, void *context)
{
    arc_request_client_gone(context, client);
}

static void
arc_init(void)
{
    VBUF   *why = vbuf_create(100), *path = vbuf_create(100);
    char   *index_dir;
    int     rc;

    if (queue_dir_init(conf_str(P_queue_directory), why) < 0)
        msg_fatal("queue directory: %s", vbuf_str(why));
    arc_configure();
    index_dir = path_join(conf_str(P_archive_directory), ARC_FILE_INDEX);
    /* The archive directory first: the index lives in it. */
    if ((arc_store = arc_store_open(conf_str(P_archive_directory), conf_str(P_queue_directory),
                                    why)) == NULL)
        msg_fatal("archive: %s", vbuf_str(why));
    if ((arc_index = arc_index_open(index_dir, why)) == NULL)
        msg_fatal("archive index %s: %s", index_dir, vbuf_str(why));
    arc_store_set_index(arc_store, arc_index);
    arc_request_init(&arc_svc, arc_index);
    arc_svc.start_reindex = arc_start_reindex;
    arc_jobs = htable_create(1024);

    arc_sock_path = path_join(conf_str(P_run_directory), ARC_SOCKET_NAME);
    if ((arc_sock_fd = unix_sock_listen(arc_sock_path, ARC_SOCKET_MODE, ARC_BACKLOG, why)) < 0)
        msg_fatal("socket: %s", vbuf_str(why));
    arc_serv = attr_serv_create(arc_sock_fd, ARC_PROTO, ARC_VERSION, arc_serve, &arc_svc);
    attr_serv_set_close_hook(arc_serv, arc_closed);

    queue_dir_path(path, conf_str(P_queue_directory), QUEUE_DIR_ARCHIVE, NULL);
    if ((arc_inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0
        || inotify_add_watch(arc_inotify_fd, vbuf_str(path), IN_CREATE | IN_MOVED_TO) < 0)
        msg_warn("inotify on %s: %m; new mail waits for the next scan", vbuf_str(path));
    else
        event_enable_read(arc_inotify_fd, arc_inotify_event, NULL);

    /* A rebuild that a stop or a crash cut short starts over. */
    if ((rc = arc_index_get_mark(arc_index, ARC_REINDEX_MARK, why)) < 0)
        msg_fatal("archive index: %s", vbuf_str(why));
    if (rc == 1) {
        msg_info("archive: the last reindex was not finished");
        if (arc_start_reindex(why) < 0)
            msg_fatal("archive index: reindex: %s", vbuf_str(why));
    }
    msg_info("ready: archiving into %s, socket %s", conf_str(P_archive_directory),
             arc_sock_path);
    arc_scan_event(0, NULL);
    event_request_timer(arc_retain_event, NULL, 0);
    event_request_timer(arc_checkpoint_event, NULL, ARC_CHECKPOINT_MS);
    myfree(index_dir);
    vbuf_free(why);
    vbuf_free(path);
}

static void
arc_reload(void)
{
    arc_configure();
    event_request_timer(arc_retain_event, NULL, 0);
}

static void
arc_exit(void)
{
    VBUF   *why = vbuf_create(100);

    arc_serv = attr_serv_free(arc_serv);
    close(arc_sock_fd);
    unlink(arc_sock_path);
    arc_reindex_free(arc_svc.reindex);
    arc_svc.reindex = NULL;
    arc_request_free(&arc_svc);
    arc_store_close(arc_store);
    if (arc_index_close(arc_index, why) < 0)
        msg_warn("archive index: %s", vbuf_str(why));
    arc_sock_path = myfree(arc_sock_path);
    vbuf_free(why);
}

int
main(int argc, char **argv)
{
    static const SERVER_EVENT_OPTS opts = {
        .max_idle = SERVER_NO_LIMIT,
        .post_init = arc_init,
        .reload = arc_reload,
        .pre_exit = arc_exit,
    };

    return server_event_main(argc, argv, "archiver", &opts);
}
