/* The queue directory: its creation, the room left in it, and the files
 * that writers who died left in tmp/. The layout is in queue_dir.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "queue_dir.h"
#include "queue_id.h"
#include "queue_record.h"
#include "vbuf.h"

const char *
queue_dir_path(VBUF *path, const char *queue_dir, const char *sub, const char *id)
{
    vbuf_reset(path);
    vbuf_printf(path, "%s/%s", queue_dir, sub);
    if (id != NULL)
        vbuf_printf(path, "/%s", id);
    return vbuf_str(path);
}

static int
queue_dir_fsync(const char *path)
{
    int     fd, saved;

    if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return -1;
    if (fsync(fd) < 0) {
        saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return close(fd);
}

static int
queue_dir_mkdir(const char *path, int *made, VBUF *why)
{
    struct stat st;

    if (mkdir(path, 0700) == 0) {
        *made = 1;
        return 0;
    }
    if (errno == EEXIST && stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return 0;
        errno = ENOTDIR;
    }
    queue_record_why(why, "create directory %s: %s", path, strerror(errno));
    return -1;
}

int
queue_dir_init(const char *queue_dir, VBUF *why)
{
    static const char *subdirs[] = {
        QUEUE_DIR_TMP, QUEUE_DIR_INCOMING, QUEUE_DIR_DEFERRED,
        QUEUE_DIR_HOLD, QUEUE_DIR_CORRUPT, QUEUE_DIR_ARCHIVE, NULL,
    };
    const char **sub;
    VBUF   *path = vbuf_create(100);
    int     made = 0, status = 0;

    for (sub = subdirs; *sub && status == 0; sub++)
        status = queue_dir_mkdir(queue_dir_path(path, queue_dir, *sub, NULL), &made, why);
    vbuf_free(path);
    if (status < 0)
        return -1;
    /* A new subdirectory must survive a crash as surely as the files that
     * will be committed into it. */
    if (made && queue_dir_fsync(queue_dir) < 0) {
        queue_record_why(why, "fsync %s: %s", queue_dir, strerror(errno));
        return -1;
    }
    return 0;
}

int
queue_dir_space_ok(const char *queue_dir, unsigned long long min_free_bytes,
                   unsigned long long need_bytes)
{
    struct statvfs sv;
    unsigned long long avail;

    if (statvfs(queue_dir, &sv) < 0)
        return -1;
    avail = (unsigned long long) sv.f_bavail * sv.f_frsize;
    return avail >= min_free_bytes && avail - min_free_bytes >= need_bytes;
}

/* Removes path when its writer is gone and it was last written at or
 * before cutoff; returns 1 when it did. */
static int
queue_dir_remove_stale(const char *path, time_t cutoff)
{
    struct stat st, now_st;
    int     fd, removed = 0;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0)
        return 0;
    /* Unlink only while holding the lock, and only the file we locked. */
    if (flock(fd, LOCK_EX | LOCK_NB) == 0
        && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)
        && st.st_mtime <= cutoff
        && lstat(path, &now_st) == 0
        && now_st.st_ino == st.st_ino && now_st.st_dev == st.st_dev
        && unlink(path) == 0)
        removed = 1;
    close(fd);
    return removed;
}

int
queue_dir_cleanup_tmp(const char *queue_dir, int older_than_seconds)
{
    VBUF   *path = vbuf_create(100);
    DIR    *dir;
    struct dirent *dp;
    time_t  cutoff = time(NULL) - older_than_seconds;
    int     count = 0;

    if ((dir = opendir(queue_dir_path(path, queue_dir, QUEUE_DIR_TMP, NULL))) == NULL) {
        vbuf_free(path);
        return -1;
    }
    while ((dp = readdir(dir)) != NULL) {
        if (!queue_id_valid(dp->d_name))
            continue;
        count += queue_dir_remove_stale(queue_dir_path(path, queue_dir, QUEUE_DIR_TMP,
                                                       dp->d_name), cutoff);
    }
    closedir(dir);
    vbuf_free(path);
    return count;
}
