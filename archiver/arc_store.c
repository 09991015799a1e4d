/* Archiving linked queue files and removing archived messages; the steps
 * and why they are safe are in arc_store.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arc_file.h"
#include "arc_header.h"
#include "arc_record.h"
#include "arc_store.h"
#include "mymalloc.h"
#include "path.h"
#include "queue_dir.h"
#include "queue_read.h"

struct ARC_STORE {
    char   *archive_dir;
    char   *queue_dir;
    int     archive_fd;                 /* archive_directory */
    int     tmp_fd;                     /* archive_directory/tmp */
    int     link_fd;                    /* queue_directory/archive */
    ARC_INDEX *index;
    char    day[16];                    /* "YYYY/MM/DD" known to exist */
};

/* The directories of one batch that need an fsync. */
typedef struct ARC_STORE_SYNC {
    char    dirs[3 * ARC_STORE_BATCH + 1][16];
    int     count;
} ARC_STORE_SYNC;

static void
arc_store_sync_note(ARC_STORE_SYNC *sync, const char *rel, size_t len)
{
    int     i;

    if (len >= sizeof(sync->dirs[0]))
        return;
    for (i = 0; i < sync->count; i++)
        if (strlen(sync->dirs[i]) == len && memcmp(sync->dirs[i], rel, len) == 0)
            return;
    if (sync->count < (int) (sizeof(sync->dirs) / sizeof(sync->dirs[0]))) {
        memcpy(sync->dirs[sync->count], rel, len);
        sync->dirs[sync->count++][len] = 0;
    }
}

/* fsync of a directory relative to archive_fd ("" for itself). */
static int
arc_store_sync_dir(ARC_STORE *store, const char *rel)
{
    int     fd, rc, saved;

    if (*rel == 0)
        return fsync(store->archive_fd);
    if ((fd = openat(store->archive_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return -1;
    rc = fsync(fd);
    saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

static int
arc_store_mkdir(const char *path, VBUF *why)
{
    struct stat st;

    if (mkdir(path, 0700) < 0 && errno != EEXIST) {
        vbuf_set(why, "");
        vbuf_printf(why, "mkdir %s: %s", path, strerror(errno));
        return -1;
    }
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
        vbuf_set(why, "");
        vbuf_printf(why, "%s is not a directory", path);
        return -1;
    }
    return 0;
}

/* Empties tmp/ of what a killed archiver left. */
static void
arc_store_clean_tmp(ARC_STORE *store)
{
    struct dirent *dp;
    DIR    *dir;
    int     fd;

    if ((fd = dup(store->tmp_fd)) < 0 || (dir = fdopendir(fd)) == NULL) {
        if (fd >= 0)
            close(fd);
        return;
    }
    while ((dp = readdir(dir)) != NULL)
        if (dp->d_name[0] != '.')
            (void) unlinkat(store->tmp_fd, dp->d_name, 0);
    closedir(dir);
}

void
arc_store_set_index(ARC_STORE *store, ARC_INDEX *index)
{
    store->index = index;
}

ARC_STORE *
arc_store_open(const char *archive_dir, const char *queue_dir, VBUF *why)
{
    ARC_STORE *store = mycalloc(1, sizeof(*store));
    VBUF   *path = vbuf_create(100);
    char   *tmp = path_join(archive_dir, ARC_FILE_TMP);

    store->archive_fd = store->tmp_fd = store->link_fd = -1;
    store->archive_dir = mystrdup(archive_dir);
    store->queue_dir = mystrdup(queue_dir);
    if (arc_store_mkdir(archive_dir, why) < 0 || arc_store_mkdir(tmp, why) < 0)
        goto bad;
    if ((store->archive_fd = open(archive_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0
        || (store->tmp_fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0
        || (store->link_fd = open(queue_dir_path(path, queue_dir, QUEUE_DIR_ARCHIVE, NULL),
                                  O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        vbuf_set(why, "");
        vbuf_printf(why, "open %s: %s", store->tmp_fd < 0 && store->archive_fd >= 0 ? tmp
                    : store->archive_fd < 0 ? archive_dir : vbuf_str(path), strerror(errno));
        goto bad;
    }
    arc_store_clean_tmp(store);
    myfree(tmp);
    vbuf_free(path);
    return store;

bad:
    myfree(tmp);
    vbuf_free(path);
    arc_store_close(store);
    return NULL;
}

void
arc_store_close(ARC_STORE *store)
{
    if (store->archive_fd >= 0)
        close(store->archive_fd);
    if (store->tmp_fd >= 0)
        close(store->tmp_fd);
    if (store->link_fd >= 0)
        close(store->link_fd);
    myfree(store->archive_dir);
    myfree(store->queue_dir);
    myfree(store);
}

const char *
arc_store_path(ARC_STORE *store, VBUF *path, const char *rel)
{
    vbuf_reset(path);
    vbuf_printf(path, "%s/%s", store->archive_dir, rel);
    return vbuf_str(path);
}

static void
arc_store_fail(ARC_STORE_ITEM *item, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
arc_store_fail(ARC_STORE_ITEM *item, int status, const char *fmt, ...)
{
    va_list ap;

    item->status = status;
    if (item->why == NULL)
        item->why = vbuf_create(100);
    vbuf_reset(item->why);
    va_start(ap, fmt);
    vbuf_vprintf(item->why, fmt, ap);
    va_end(ap);
}

/* Makes the directories of rel ("YYYY/MM/DD/file") that are missing,
 * noting each parent that got a new entry, and the day's directory,
 * which is about to get one; -1 with errno.  The last day made is
 * remembered: most messages of a batch go to the same day. */
static int
arc_store_make_dirs(ARC_STORE *store, const char *rel, ARC_STORE_SYNC *sync)
{
    static const size_t ends[] = {4, 7, 10};
    char    dir[16];
    size_t  i;

    arc_store_sync_note(sync, rel, ends[2]);
    if (strncmp(store->day, rel, ends[2]) == 0 && store->day[ends[2]] == 0)
        return 0;
    for (i = 0; i < 3; i++) {
        memcpy(dir, rel, ends[i]);
        dir[ends[i]] = 0;
        if (mkdirat(store->archive_fd, dir, 0700) == 0)
            arc_store_sync_note(sync, rel, i == 0 ? 0 : ends[i - 1]);
        else if (errno != EEXIST)
            return -1;
    }
    memcpy(store->day, rel, ends[2]);
    store->day[ends[2]] = 0;
    return 0;
}

/* What step 1 keeps of one link between its phases. */
typedef struct ARC_STORE_WORK {
    int     out;                        /* the file in tmp/, written */
    VBUF   *rel;                        /* its place */
    VBUF   *record;                     /* its index record */
} ARC_STORE_WORK;

/* Step 1, first phase, for one link: the archive file written in tmp/
 * (not yet synced) and its index record; the item's status says how it
 * went. */
static void
arc_store_write(ARC_STORE *store, ARC_STORE_ITEM *item, ARC_STORE_WORK *work)
{
    QUEUE_ENVELOPE qenv;
    ARC_ENVELOPE aenv;
    VBUF   *env = vbuf_create(512), *head = vbuf_create(4096), *why = vbuf_create(100);
    struct stat st;
    off_t   stored = 0;
    int     fd, out = -1, rc;

    item->status = ARC_STORE_DONE;
    if (arc_file_rel_path(work->rel, item->id) < 0) {
        arc_store_fail(item, ARC_STORE_CORRUPT, "not a queue id");
        goto done;
    }
    if ((fd = openat(store->link_fd, item->id, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
        if (errno == ENOENT)
            item->status = ARC_STORE_GONE;
        else
            arc_store_fail(item, ARC_STORE_RETRY, "open: %s", strerror(errno));
        goto done;
    }
    rc = queue_read_fd(fd, &qenv, why);
    if (rc != QUEUE_READ_OK) {
        close(fd);
        arc_store_fail(item, rc == QUEUE_READ_CORRUPT ? ARC_STORE_CORRUPT : ARC_STORE_RETRY,
                       "%s", vbuf_str(why));
        goto done;
    }
    /* Never archived, never kept. */
    if (qenv.auth_sealed)
        explicit_bzero(qenv.auth_sealed, strlen(qenv.auth_sealed));
    item->size = qenv.message_length;
    /* Archived before a restart: the file and its record are there. */
    if ((rc = arc_index_get(store->index, item->id, work->record, why)) < 0) {
        arc_store_fail(item, ARC_STORE_RETRY, "index: %s", vbuf_str(why));
    } else if (rc == 1 && fstatat(store->archive_fd, vbuf_str(work->rel), &st, 0) == 0) {
        item->status = ARC_STORE_ALREADY;
        item->stored = st.st_size;
        vbuf_reset(work->record);
    } else {
        arc_file_envelope_encode(env, item->id, &qenv, (long long) qenv.message_length);
        if (arc_file_envelope_parse(vbuf_str(env), vbuf_len(env), &aenv, why) < 0) {
            arc_store_fail(item, ARC_STORE_CORRUPT, "%s", vbuf_str(why));
        } else {
            if ((out = openat(store->tmp_fd, item->id,
                              O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
                arc_store_fail(item, ARC_STORE_RETRY, "create %s/%s/%s: %s",
                               store->archive_dir, ARC_FILE_TMP, item->id, strerror(errno));
            else if (arc_file_write(out, env, fd, qenv.message_offset, qenv.message_length,
                                    ARC_STORE_LEVEL, head, ARC_HEADER_MAX, &stored, why) < 0)
                arc_store_fail(item, ARC_STORE_RETRY, "%s", vbuf_str(why));
            if (item->status == ARC_STORE_DONE) {
                item->stored = stored;
                work->out = out;
                arc_record_make(work->record, &aenv, vbuf_str(head), vbuf_len(head), stored);
            } else if (out >= 0) {
                close(out);
                (void) unlinkat(store->tmp_fd, item->id, 0);
            }
            arc_envelope_free(&aenv);
        }
    }
    close(fd);
    queue_read_free(&qenv);

done:
    vbuf_free(env);
    vbuf_free(head);
    vbuf_free(why);
}

/* Step 1, second phase: the written file synced, then put in its place.
 * All files of a batch are written, and their writeback started, before
 * the first is synced, so that their writes overlap (and on a journalled
 * file system one commit takes most of them). */
static void
arc_store_place(ARC_STORE *store, ARC_STORE_ITEM *item, ARC_STORE_WORK *work,
                ARC_STORE_SYNC *sync)
{
    VBUF   *path;

    if (fsync(work->out) < 0) {
        arc_store_fail(item, ARC_STORE_RETRY, "fsync: %s", strerror(errno));
    } else if (arc_store_make_dirs(store, vbuf_str(work->rel), sync) < 0) {
        arc_store_fail(item, ARC_STORE_RETRY, "mkdir %s/%s: %s", store->archive_dir,
                       vbuf_str(work->rel), strerror(errno));
    } else if (renameat(store->tmp_fd, item->id, store->archive_fd, vbuf_str(work->rel)) < 0
               /* The day's directory went meanwhile (retention): again. */
               && (errno != ENOENT || (store->day[0] = 0,
                                       arc_store_make_dirs(store, vbuf_str(work->rel), sync)) < 0
                   || renameat(store->tmp_fd, item->id, store->archive_fd,
                               vbuf_str(work->rel)) < 0)) {
        path = vbuf_create(100);
        arc_store_fail(item, ARC_STORE_RETRY, "rename to %s: %s",
                       arc_store_path(store, path, vbuf_str(work->rel)), strerror(errno));
        vbuf_free(path);
    }
    close(work->out);
    work->out = -1;
    if (item->status != ARC_STORE_DONE)
        (void) unlinkat(store->tmp_fd, item->id, 0);
}

void
arc_store_batch(ARC_STORE *store, ARC_STORE_ITEM *items, int n)
{
    ARC_STORE_SYNC sync;
    ARC_STORE_WORK work[ARC_STORE_BATCH];
    VBUF   *why = vbuf_create(100);
    int     i, failed = 0, indexed = 0;

    if (n > ARC_STORE_BATCH)
        n = ARC_STORE_BATCH;
    sync.count = 0;
    for (i = 0; i < n; i++) {
        work[i].out = -1;
        work[i].rel = vbuf_create(64);
        work[i].record = vbuf_create(512);
        arc_store_write(store, items + i, work + i);
    }
    /* Every file's writeback under way before the first fsync waits: the
     * waits overlap instead of following one another. */
    for (i = 0; i < n; i++)
        if (items[i].status == ARC_STORE_DONE)
            (void) sync_file_range(work[i].out, 0, 0, SYNC_FILE_RANGE_WRITE);
    for (i = 0; i < n; i++)
        if (items[i].status == ARC_STORE_DONE)
            arc_store_place(store, items + i, work + i, &sync);
    /* The new names, before anything depends on them. */
    for (i = 0; i < sync.count && !failed; i++) {
        if (arc_store_sync_dir(store, sync.dirs[i]) < 0) {
            failed = 1;
            vbuf_set(why, "");
            vbuf_printf(why, "fsync %s/%s: %s", store->archive_dir, sync.dirs[i],
                        strerror(errno));
        }
    }
    /* The records, in one transaction. */
    if (!failed) {
        for (i = 0; i < n; i++)
            if (items[i].status == ARC_STORE_DONE)
                indexed++;
        if (indexed > 0) {
            if (arc_index_begin(store->index, why) < 0) {
                failed = 1;
            } else {
                for (i = 0; i < n && !failed; i++)
                    if (items[i].status == ARC_STORE_DONE
                        && arc_index_put(store->index, work[i].record, why) < 0)
                        failed = 1;
                if (failed)
                    arc_index_abort(store->index);
                else if (arc_index_commit(store->index, why) < 0)
                    failed = 1;
            }
        }
    }
    for (i = 0; i < n; i++) {
        if (failed && items[i].status == ARC_STORE_DONE)
            arc_store_fail(items + i, ARC_STORE_RETRY, "%s", vbuf_str(why));
        /* The copy is safe: the link can go. */
        if ((items[i].status == ARC_STORE_DONE || items[i].status == ARC_STORE_ALREADY)
            && unlinkat(store->link_fd, items[i].id, 0) < 0 && errno != ENOENT)
            arc_store_fail(items + i, ARC_STORE_RETRY, "remove link: %s", strerror(errno));
        vbuf_free(work[i].rel);
        vbuf_free(work[i].record);
    }
    vbuf_free(why);
}

int
arc_store_remove(ARC_STORE *store, const char *id, VBUF *why)
{
    VBUF   *rel = vbuf_create(64);
    char   *slash;

    if (arc_file_rel_path(rel, id) < 0) {
        vbuf_set(why, "not a queue id");
        vbuf_free(rel);
        return -1;
    }
    if (unlinkat(store->archive_fd, vbuf_str(rel), 0) < 0 && errno != ENOENT) {
        vbuf_set(why, "");
        vbuf_printf(why, "remove %s/%s: %s", store->archive_dir, vbuf_str(rel), strerror(errno));
        vbuf_free(rel);
        return -1;
    }
    if (arc_index_begin(store->index, why) < 0
        || arc_index_delete(store->index, id, why) < 0) {
        arc_index_abort(store->index);
        vbuf_free(rel);
        return -1;
    }
    if (arc_index_commit(store->index, why) < 0) {
        vbuf_free(rel);
        return -1;
    }
    /* Day, month and year, while they are empty. */
    while ((slash = strrchr(vbuf_str(rel), '/')) != NULL) {
        vbuf_truncate(rel, (size_t) (slash - vbuf_str(rel)));
        if (unlinkat(store->archive_fd, vbuf_str(rel), AT_REMOVEDIR) < 0)
            break;
        store->day[0] = 0;
    }
    vbuf_free(rel);
    return 0;
}
