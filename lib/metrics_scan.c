/* The queue's and the archive's figures, counted in the directories. */
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics.h"
#include "metrics_scan.h"
#include "queue_dir.h"
#include "queue_id.h"
#include "vbuf.h"

/* When the file name'd was queued: the time in its queue id (a link
 * shares its inode's times with the queue file, whose modification time
 * relay moves to the next attempt), else the modification time. */
static time_t
metrics_scan_arrival(const char *name, const struct stat *st)
{
    time_t  t = 0;
    int     i;

    if (!queue_id_valid(name))
        return st->st_mtime;
    for (i = 0; i < 8; i++)
        t = t * 16 + (name[i] <= '9' ? name[i] - '0' : name[i] - 'A' + 10);
    return t;
}

/* Counts the files in dir; with oldest, also the earliest arrival among
 * them (0 when none). */
static uint64_t
metrics_scan_dir(const char *dir, time_t *oldest)
{
    struct dirent *de;
    uint64_t n = 0;
    DIR    *d;

    if (oldest)
        *oldest = 0;
    if ((d = opendir(dir)) == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        struct stat st;

        if (de->d_name[0] == '.')
            continue;
        if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
            continue;
        if (de->d_type == DT_UNKNOWN || oldest) {
            if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0
                || !S_ISREG(st.st_mode))
                continue;
            if (oldest) {
                time_t  t = metrics_scan_arrival(de->d_name, &st);

                if (*oldest == 0 || t < *oldest)
                    *oldest = t;
            }
        }
        n++;
    }
    closedir(d);
    return n;
}

void
metrics_scan_queue(const char *queue_dir, time_t now, uint64_t *values)
{
    static const struct {
        const char *sub;
        int     state;
    } subs[] = {
        {QUEUE_DIR_INCOMING, METRICS_QUEUE_INCOMING},
        {QUEUE_DIR_DEFERRED, METRICS_QUEUE_DEFERRED},
        {QUEUE_DIR_HOLD, METRICS_QUEUE_HOLD},
        {QUEUE_DIR_CORRUPT, METRICS_QUEUE_CORRUPT},
    };
    VBUF   *path = vbuf_create(256);
    time_t  oldest;
    size_t  i;

    for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
        values[METRICS_AT(QUEUE_MESSAGES, subs[i].state, 0)] =
            metrics_scan_dir(queue_dir_path(path, queue_dir, subs[i].sub, NULL),
                             NULL);
    values[METRIC_ARCHIVE_BACKLOG] =
        metrics_scan_dir(queue_dir_path(path, queue_dir,
                                        QUEUE_DIR_ARCHIVE, NULL), &oldest);
    values[METRIC_ARCHIVE_LAG] = oldest > 0 && oldest < now
        ? (uint64_t) (now - oldest) : 0;
    vbuf_free(path);
}
