/* The side records of deferred messages; the format is in queue_status.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue_dir.h"
#include "queue_id.h"
#include "queue_status.h"
#include "vbuf.h"

#define QUEUE_STATUS_FILE_MAX   4096

int
queue_status_write(const char *queue_dir, const char *id, const QUEUE_STATUS *st)
{
    VBUF *dir = vbuf_create(100), *path = vbuf_create(100), *tmp = vbuf_create(100);
    VBUF *text = vbuf_create(256);
    const char *cp;
    int fd, saved, rc = -1;

    queue_dir_path(dir, queue_dir, QUEUE_DIR_STATUS, NULL);
    queue_dir_path(path, queue_dir, QUEUE_DIR_STATUS, id);
    /* status/.ID.PID: not a queue id, so never taken for a record. */
    vbuf_set(tmp, vbuf_str(dir));
    vbuf_printf(tmp, "/.%s.%ld", id, (long) getpid());
    vbuf_printf(text, "attempts=%ld\nlast_attempt=%lld\nnext_try=%lld\nreason=",
                st->attempts, (long long) st->last_attempt, (long long) st->next_try);
    for (cp = st->reason; *cp && cp - st->reason < QUEUE_STATUS_REASON_MAX; cp++)
        vbuf_append_char(text, (unsigned char) *cp >= 0x20
                         && (unsigned char) *cp < 0x7f ? *cp : '?');
    vbuf_append_char(text, '\n');

    if ((fd = open(vbuf_str(tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0
        && errno == ENOENT) {
        if (mkdir(vbuf_str(dir), 0700) < 0 && errno != EEXIST)
            goto out;
        fd = open(vbuf_str(tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    }
    if (fd < 0)
        goto out;
    if (write(fd, vbuf_str(text), vbuf_len(text)) != (ssize_t) vbuf_len(text)) {
        saved = errno ? errno : EIO;
        close(fd);
        unlink(vbuf_str(tmp));
        errno = saved;
        goto out;
    }
    if (close(fd) < 0 || rename(vbuf_str(tmp), vbuf_str(path)) < 0) {
        saved = errno;
        unlink(vbuf_str(tmp));
        errno = saved;
        goto out;
    }
    rc = 0;
  out:
    saved = errno;
    vbuf_free(dir);
    vbuf_free(path);
    vbuf_free(tmp);
    vbuf_free(text);
    errno = saved;
    return rc;
}

int
queue_status_read(const char *queue_dir, const char *id, QUEUE_STATUS *st)
{
    VBUF *path = vbuf_create(100);
    char buf[QUEUE_STATUS_FILE_MAX + 1];
    char *line, *next, *eq;
    ssize_t n;
    int fd;

    memset(st, 0, sizeof(*st));
    fd = open(queue_dir_path(path, queue_dir, QUEUE_DIR_STATUS, id),
              O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    vbuf_free(path);
    if (fd < 0)
        return -1;
    n = read(fd, buf, QUEUE_STATUS_FILE_MAX);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = 0;
    for (line = buf; *line; line = next) {
        if ((next = strchr(line, '\n')) != NULL)
            *next++ = 0;
        else
            next = line + strlen(line);
        if ((eq = strchr(line, '=')) == NULL)
            continue;
        *eq++ = 0;
        if (strcmp(line, "attempts") == 0)
            st->attempts = strtol(eq, NULL, 10);
        else if (strcmp(line, "last_attempt") == 0)
            st->last_attempt = (time_t) strtoll(eq, NULL, 10);
        else if (strcmp(line, "next_try") == 0)
            st->next_try = (time_t) strtoll(eq, NULL, 10);
        else if (strcmp(line, "reason") == 0)
            snprintf(st->reason, sizeof(st->reason), "%s", eq);
    }
    /* The file may be anything after a crash: what is shown is printable. */
    for (line = st->reason; *line; line++)
        if ((unsigned char) *line < 0x20 || (unsigned char) *line >= 0x7f)
            *line = '?';
    return 0;
}

void
queue_status_remove(const char *queue_dir, const char *id)
{
    VBUF *path = vbuf_create(100);

    (void) unlink(queue_dir_path(path, queue_dir, QUEUE_DIR_STATUS, id));
    vbuf_free(path);
}

/* 1 when a queue file named id is in one of the queue's directories. */
static int
queue_status_has_message(const char *queue_dir, const char *id)
{
    static const char *subs[] = {
        QUEUE_DIR_INCOMING, QUEUE_DIR_DEFERRED, QUEUE_DIR_HOLD,
        QUEUE_DIR_CORRUPT, QUEUE_DIR_TMP, NULL,
    };
    VBUF *path = vbuf_create(100);
    struct stat st;
    const char **sub;
    int found = 0;

    for (sub = subs; *sub && !found; sub++)
        found = lstat(queue_dir_path(path, queue_dir, *sub, id), &st) == 0 || errno != ENOENT;
    vbuf_free(path);
    return found;
}

int
queue_status_cleanup(const char *queue_dir)
{
    VBUF *path = vbuf_create(100);
    struct dirent *dp;
    DIR *dir;
    int count = 0;

    if ((dir = opendir(queue_dir_path(path, queue_dir, QUEUE_DIR_STATUS, NULL))) == NULL) {
        vbuf_free(path);
        return 0;
    }
    while ((dp = readdir(dir)) != NULL) {
        if (dp->d_name[0] == '.' && strcmp(dp->d_name, ".") != 0
            && strcmp(dp->d_name, "..") != 0) {
            struct stat st;

            /* A temporary file of a writer that died. */
            queue_dir_path(path, queue_dir, QUEUE_DIR_STATUS, dp->d_name);
            if (lstat(vbuf_str(path), &st) == 0 && st.st_mtime < time(NULL) - 60
                && unlink(vbuf_str(path)) == 0)
                count++;
            continue;
        }
        if (!queue_id_valid(dp->d_name) || queue_status_has_message(queue_dir, dp->d_name))
            continue;
        queue_status_remove(queue_dir, dp->d_name);
        count++;
    }
    closedir(dir);
    vbuf_free(path);
    return count;
}
