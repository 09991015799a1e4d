/* The queue file writer: a new file in tmp/, buffered writes, and a
 * commit that answers only once the file is safely in incoming/. The
 * format is described in queue_record.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "msg.h"
#include "mymalloc.h"
#include "queue_dir.h"
#include "queue_write.h"
#include "vbuf.h"

#define QUEUE_BUF_SIZE      65536   /* writer buffer */

struct QUEUE_WRITER {
    int     fd;                 /* open and locked until complete */
    int     in_tmp;             /* the file is (still) in tmp/ */
    char    id[QUEUE_ID_LEN + 1];
    char   *queue_dir;
    VBUF   *tmp_path;           /* queue_dir/tmp/id */
    VBUF   *final_path;         /* queue_dir/incoming/id */
    char   *buf;                /* QUEUE_BUF_SIZE bytes not yet written */
    size_t  used;
    off_t   flushed;            /* bytes already written to fd */
    off_t   len_off;            /* file offset of the M line's digits */
    unsigned long long msg_len;
    int     in_message;
    int     err;                /* errno of the first write error */
    unsigned seen;              /* singleton records written */
    size_t  nrcpt;
    int     archive;            /* commit also links archive/ID */
    VBUF   *scratch;            /* for queue_write_recf */
};

/* The tmp/ and incoming/ directories of one queue, opened once per
 * process: a commit then creates, renames and fsyncs by descriptor, with
 * no path lookups and no open() and close() of incoming/ per message.
 * A directory removed and made again behind our back (tests do it) is
 * noticed by the ENOENT it causes, and opened again. */
static struct {
    char   *queue_dir;
    int     tmp_fd;
    int     incoming_fd;
    int     archive_fd;         /* opened when first needed */
} queue_write_dirs = {NULL, -1, -1, -1};

static void
queue_write_dirs_close(void)
{
    if (queue_write_dirs.tmp_fd >= 0)
        close(queue_write_dirs.tmp_fd);
    if (queue_write_dirs.incoming_fd >= 0)
        close(queue_write_dirs.incoming_fd);
    if (queue_write_dirs.archive_fd >= 0)
        close(queue_write_dirs.archive_fd);
    queue_write_dirs.tmp_fd = queue_write_dirs.incoming_fd = -1;
    queue_write_dirs.archive_fd = -1;
    queue_write_dirs.queue_dir = myfree(queue_write_dirs.queue_dir);
}

/* archive/ of the open queue; -1 with errno. */
static int
queue_write_archive_fd(void)
{
    VBUF   *path;

    if (queue_write_dirs.archive_fd < 0) {
        path = vbuf_create(100);
        queue_write_dirs.archive_fd =
            open(queue_dir_path(path, queue_write_dirs.queue_dir, QUEUE_DIR_ARCHIVE, NULL),
                 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        vbuf_free(path);
    }
    return queue_write_dirs.archive_fd;
}

/* 0 when the descriptors of queue_dir are at hand (opened again with
 * reopen), -1 with errno. */
static int
queue_write_dirs_open(const char *queue_dir, int reopen)
{
    VBUF   *path;
    int     saved;

    if (!reopen && queue_write_dirs.queue_dir != NULL
        && strcmp(queue_write_dirs.queue_dir, queue_dir) == 0)
        return 0;
    queue_write_dirs_close();
    path = vbuf_create(100);
    queue_write_dirs.tmp_fd = open(queue_dir_path(path, queue_dir, QUEUE_DIR_TMP, NULL),
                                   O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    queue_write_dirs.incoming_fd = open(queue_dir_path(path, queue_dir, QUEUE_DIR_INCOMING, NULL),
                                        O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    vbuf_free(path);
    if (queue_write_dirs.tmp_fd < 0 || queue_write_dirs.incoming_fd < 0) {
        saved = errno;
        queue_write_dirs_close();
        errno = saved;
        return -1;
    }
    queue_write_dirs.queue_dir = mystrdup(queue_dir);
    return 0;
}

static int
queue_write_all(int fd, const char *data, size_t len, off_t offset)
{
    ssize_t n;

    while (len > 0) {
        n = offset < 0 ? write(fd, data, len) : pwrite(fd, data, len, offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = ENOSPC;
            return -1;
        }
        data += n;
        len -= (size_t) n;
        if (offset >= 0)
            offset += n;
    }
    return 0;
}

static int
queue_write_flush(QUEUE_WRITER *qf)
{
    if (qf->err) {
        errno = qf->err;
        return -1;
    }
    if (qf->used == 0)
        return 0;
    if (queue_write_all(qf->fd, qf->buf, qf->used, -1) < 0) {
        qf->err = errno;
        return -1;
    }
    qf->flushed += (off_t) qf->used;
    qf->used = 0;
    return 0;
}

static int
queue_write_put(QUEUE_WRITER *qf, const void *data, size_t len)
{
    if (qf->err) {
        errno = qf->err;
        return -1;
    }
    if (len > QUEUE_BUF_SIZE - qf->used && queue_write_flush(qf) < 0)
        return -1;
    if (len >= QUEUE_BUF_SIZE) {        /* big block: skip the copy */
        if (queue_write_all(qf->fd, data, len, -1) < 0) {
            qf->err = errno;
            return -1;
        }
        qf->flushed += (off_t) len;
        return 0;
    }
    memcpy(qf->buf + qf->used, data, len);
    qf->used += len;
    return 0;
}

static void
queue_write_free(QUEUE_WRITER *qf)
{
    if (qf->fd >= 0)
        close(qf->fd);
    myfree(qf->queue_dir);
    vbuf_free(qf->tmp_path);
    vbuf_free(qf->final_path);
    myfree(qf->buf);
    vbuf_free(qf->scratch);
    myfree(qf);
}

QUEUE_WRITER *
queue_write_create(const char *queue_dir, VBUF *why)
{
    QUEUE_WRITER *qf = mycalloc(1, sizeof(*qf));
    int     tries, saved;

    qf->queue_dir = mystrdup(queue_dir);
    qf->fd = -1;
    qf->tmp_path = vbuf_create(100);
    qf->final_path = vbuf_create(100);
    for (tries = 0;; tries++) {
        queue_id_new(qf->id);
        queue_dir_path(qf->tmp_path, queue_dir, QUEUE_DIR_TMP, qf->id);
        if (queue_write_dirs_open(queue_dir, 0) == 0) {
            qf->fd = openat(queue_write_dirs.tmp_fd, qf->id,
                            O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            /* tmp/ made again since we opened it? */
            if (qf->fd < 0 && errno == ENOENT && queue_write_dirs_open(queue_dir, 1) == 0)
                qf->fd = openat(queue_write_dirs.tmp_fd, qf->id,
                                O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        }
        if (qf->fd >= 0)
            break;
        if (errno != EEXIST || tries == 100) {
            saved = errno;
            queue_record_why(why, "create %s: %s", vbuf_str(qf->tmp_path), strerror(saved));
            queue_write_free(qf);
            errno = saved;
            return NULL;
        }
    }
    qf->in_tmp = 1;
    /* The lock tells queue_dir_cleanup_tmp() that this file is alive. */
    if (flock(qf->fd, LOCK_EX) < 0) {
        saved = errno;
        queue_record_why(why, "lock %s: %s", vbuf_str(qf->tmp_path), strerror(saved));
        queue_write_abort(qf);
        errno = saved;
        return NULL;
    }
    queue_dir_path(qf->final_path, queue_dir, QUEUE_DIR_INCOMING, qf->id);
    qf->buf = mymalloc(QUEUE_BUF_SIZE);
    memcpy(qf->buf, QUEUE_RECORD_MAGIC_LINE, QUEUE_RECORD_MAGIC_LEN);
    qf->used = QUEUE_RECORD_MAGIC_LEN;
    return qf;
}

const char *
queue_write_id(QUEUE_WRITER *qf)
{
    return qf->id;
}

void
queue_write_archive(QUEUE_WRITER *qf)
{
    qf->archive = 1;
}

int
queue_write_rec(QUEUE_WRITER *qf, int type, const char *value)
{
    unsigned bit = queue_record_singleton_bit(type);
    size_t  len = strlen(value);
    char    head[2];

    if (qf->in_message)
        msg_panic("queue_write_rec: record after the message started");
    if (bit == 0 && type != QUEUE_REC_RCPT && type != QUEUE_REC_ATTR)
        msg_panic("queue_write_rec: bad record type 0x%02x", (unsigned) type & 0xff);
    if (queue_record_check(type, value, len) != NULL || (qf->seen & bit)) {
        errno = EINVAL;
        return -1;
    }
    head[0] = (char) type;
    head[1] = ' ';
    if (queue_write_put(qf, head, 2) < 0 || queue_write_put(qf, value, len) < 0
        || queue_write_put(qf, "\n", 1) < 0)
        return -1;
    qf->seen |= bit;
    if (type == QUEUE_REC_RCPT)
        qf->nrcpt++;
    return 0;
}

int
queue_write_recf(QUEUE_WRITER *qf, int type, const char *fmt, ...)
{
    va_list ap;

    if (qf->scratch == NULL)
        qf->scratch = vbuf_create(256);
    vbuf_reset(qf->scratch);
    va_start(ap, fmt);
    vbuf_vprintf(qf->scratch, fmt, ap);
    va_end(ap);
    /* A NUL from %c or %s would silently cut the value. */
    if (strlen(vbuf_str(qf->scratch)) != vbuf_len(qf->scratch)) {
        errno = EINVAL;
        return -1;
    }
    return queue_write_rec(qf, type, vbuf_str(qf->scratch));
}

int
queue_write_begin_message(QUEUE_WRITER *qf)
{
    static const char placeholder[] = "M XXXXXXXXXXXXXXXXXXXX\n";

    if (qf->in_message)
        msg_panic("queue_write_begin_message: called twice");
    qf->in_message = 1;
    qf->len_off = qf->flushed + (off_t) qf->used + 2;
    return queue_write_put(qf, placeholder, sizeof(placeholder) - 1);
}

int
queue_write_message(QUEUE_WRITER *qf, const void *data, size_t len)
{
    if (!qf->in_message)
        msg_panic("queue_write_message: message not started");
    if (queue_write_put(qf, data, len) < 0)
        return -1;
    qf->msg_len += len;
    return 0;
}

/* Writes the trailer and the real length on the M line, and flushes. */
static int
queue_write_finish(QUEUE_WRITER *qf)
{
    char    trailer[32], digits[QUEUE_RECORD_LEN_DIGITS + 1];
    int     n;

    n = snprintf(trailer, sizeof(trailer), "\nE %llu\n", qf->msg_len);
    snprintf(digits, sizeof(digits), "%020llu", qf->msg_len);
    if (queue_write_put(qf, trailer, (size_t) n) < 0)
        return -1;
    /* The M line went out whole, or is still whole in the buffer. */
    if (qf->len_off >= qf->flushed) {
        memcpy(qf->buf + (qf->len_off - qf->flushed), digits, QUEUE_RECORD_LEN_DIGITS);
        return queue_write_flush(qf);
    }
    if (queue_write_flush(qf) < 0)
        return -1;
    if (queue_write_all(qf->fd, digits, QUEUE_RECORD_LEN_DIGITS, qf->len_off) < 0) {
        qf->err = errno;
        return -1;
    }
    return 0;
}

/* Renames tmp/ID to incoming/ID without ever replacing an existing queue
 * file; -1 with errno. */
static int
queue_write_rename(const char *id)
{
    if (renameat2(queue_write_dirs.tmp_fd, id, queue_write_dirs.incoming_fd, id,
                  RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    /* File systems without RENAME_NOREPLACE: link() refuses to replace. */
    if (linkat(queue_write_dirs.tmp_fd, id, queue_write_dirs.incoming_fd, id, 0) < 0)
        return -1;
    (void) unlinkat(queue_write_dirs.tmp_fd, id, 0);
    return 0;
}

/* archive = yes: links tmp/ID to archive/ID while the file is still in
 * tmp/, where nobody else takes it; -1 with errno. */
static int
queue_write_link(const char *id)
{
    int     afd;

    if ((afd = queue_write_archive_fd()) < 0)
        return -1;
    return linkat(queue_write_dirs.tmp_fd, id, afd, id, 0);
}

/* Moves the complete, fsynced file into incoming/ (linking it into
 * archive/ first when asked) and fsyncs the directories; -1 with why and
 * the errno of the step that failed.
 * The file is closed first, which releases its lock: once complete it
 * needs no protection from queue_dir_cleanup_tmp() (that only takes
 * files a minute old), and relay, woken by the rename, finds it unlocked
 * instead of trying again later. */
static int
queue_write_move(QUEUE_WRITER *qf, VBUF *why)
{
    int     rc, linked = 0, saved;

    if (close(qf->fd) < 0) {
        qf->fd = -1;
        saved = errno;
        queue_record_why(why, "close %s: %s", vbuf_str(qf->tmp_path), strerror(saved));
        errno = saved;
        return -1;
    }
    qf->fd = -1;
    if (qf->archive) {
        if ((rc = queue_write_dirs_open(qf->queue_dir, 0)) == 0
            && (rc = queue_write_link(qf->id)) < 0 && errno == ENOENT
            && queue_write_dirs_open(qf->queue_dir, 1) == 0)
            rc = queue_write_link(qf->id);
        if (rc < 0) {
            saved = errno;
            queue_record_why(why, "link %s to %s/%s: %s", vbuf_str(qf->tmp_path),
                             qf->queue_dir, QUEUE_DIR_ARCHIVE, strerror(saved));
            errno = saved;
            return -1;
        }
        linked = 1;
    }
    if ((rc = queue_write_dirs_open(qf->queue_dir, 0)) == 0
        && (rc = queue_write_rename(qf->id)) < 0 && errno == ENOENT
        && queue_write_dirs_open(qf->queue_dir, 1) == 0)
        rc = queue_write_rename(qf->id);
    if (rc < 0) {
        saved = errno;
        queue_record_why(why, "rename %s to %s: %s", vbuf_str(qf->tmp_path),
                         vbuf_str(qf->final_path), strerror(saved));
        if (linked && queue_write_archive_fd() >= 0)
            (void) unlinkat(queue_write_dirs.archive_fd, qf->id, 0);
        errno = saved;
        return -1;
    }
    qf->in_tmp = 0;
    /* The link first: once incoming/ is synced the message is accepted,
     * and its archive copy must be as safe by then. */
    if (linked && (queue_write_archive_fd() < 0 || fsync(queue_write_dirs.archive_fd) < 0)) {
        saved = errno;
        queue_record_why(why, "fsync %s/%s: %s", qf->queue_dir, QUEUE_DIR_ARCHIVE,
                         strerror(saved));
    } else if (fsync(queue_write_dirs.incoming_fd) < 0) {
        saved = errno;
        queue_record_why(why, "fsync %s/%s: %s", qf->queue_dir, QUEUE_DIR_INCOMING,
                         strerror(saved));
    } else {
        return 0;
    }
    /* Not durable, so not accepted: the client will send it again. */
    (void) unlinkat(queue_write_dirs.incoming_fd, qf->id, 0);
    if (linked && queue_write_archive_fd() >= 0)
        (void) unlinkat(queue_write_dirs.archive_fd, qf->id, 0);
    errno = saved;
    return -1;
}

int
queue_write_commit(QUEUE_WRITER *qf, VBUF *why)
{
    int     saved = EINVAL;             /* an incomplete envelope */

    if (!qf->in_message)
        msg_panic("queue_write_commit: message not started");
    if (!(qf->seen & queue_record_singleton_bit(QUEUE_REC_ARRIVAL))) {
        queue_record_why(why, "%s: no arrival time record", qf->id);
    } else if (!(qf->seen & queue_record_singleton_bit(QUEUE_REC_SENDER))) {
        queue_record_why(why, "%s: no sender record", qf->id);
    } else if (qf->nrcpt == 0) {
        queue_record_why(why, "%s: no recipient record", qf->id);
    } else if (queue_write_finish(qf) < 0) {
        saved = errno;
        queue_record_why(why, "write %s: %s", vbuf_str(qf->tmp_path), strerror(saved));
    } else if (fsync(qf->fd) < 0) {
        saved = errno;
        queue_record_why(why, "fsync %s: %s", vbuf_str(qf->tmp_path), strerror(saved));
    } else if (queue_write_move(qf, why) == 0) {
        queue_write_free(qf);
        return 0;
    } else {
        saved = errno;
    }
    /* Nothing half-written stays: tmp/ID goes, and the move left nothing
     * in incoming/ or archive/. */
    queue_write_abort(qf);
    errno = saved;
    return -1;
}

void
queue_write_abort(QUEUE_WRITER *qf)
{
    if (qf->in_tmp)
        (void) unlink(vbuf_str(qf->tmp_path));
    queue_write_free(qf);
}
