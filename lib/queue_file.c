/* Queue files: writer, reader and queue directory housekeeping. The format
 * is described in queue_file.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>

#include "msg.h"
#include "mymalloc.h"
#include "queue_file.h"
#include "vbuf.h"

#define QUEUE_BUF_SIZE      65536   /* writer buffer */
#define QUEUE_READ_CHUNK    8192    /* reader's read size */
#define QUEUE_LINE_MAX      (QUEUE_VALUE_MAX + 2)   /* "X " + value */
#define QUEUE_LEN_DIGITS    20
#define QUEUE_MAGIC_LINE    QUEUE_MAGIC "\n"
#define QUEUE_MAGIC_LEN     (sizeof(QUEUE_MAGIC_LINE) - 1)

/* Record types that may appear at most once; their position is their bit. */
static const char queue_singletons[] = "TCNHPUSZY8";

struct QUEUE_FILE {
    int     fd;                 /* open and locked until complete */
    int     in_tmp;             /* the file is (still) in tmp/ */
    char    id[QUEUE_ID_LEN + 1];
    char   *queue_dir;
    char   *tmp_path;
    char   *final_path;
    char   *buf;                /* QUEUE_BUF_SIZE bytes not yet written */
    size_t  used;
    off_t   flushed;            /* bytes already written to fd */
    off_t   len_off;            /* file offset of the M line's digits */
    unsigned long long msg_len;
    int     in_message;
    int     err;                /* errno of the first write error */
    unsigned seen;              /* singleton records written */
    size_t  nrcpt;
    VBUF   *scratch;            /* for queue_file_recf */
};

/* Resets why (when given) to a formatted reason. */
static void __attribute__((format(printf, 2, 3)))
queue_why(VBUF *why, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL)
        return;
    vbuf_reset(why);
    va_start(ap, fmt);
    vbuf_vprintf(why, fmt, ap);
    va_end(ap);
}

static char *
queue_path(const char *queue_dir, const char *sub, const char *id)
{
    VBUF   *vb = vbuf_create(100);
    char   *path;

    vbuf_printf(vb, "%s/%s%s%s", queue_dir, sub, id ? "/" : "", id ? id : "");
    path = mystrdup(vbuf_str(vb));
    vbuf_free(vb);
    return path;
}

/* The tmp/ and incoming/ directories of one queue, opened once per
 * process: a commit then creates, renames and fsyncs by descriptor, with
 * no path lookups and no open() and close() of incoming/ per message.
 * A directory removed and made again behind our back (tests do it) is
 * noticed by the ENOENT it causes, and opened again. */
static struct {
    char   *queue_dir;
    int     tmp_fd;
    int     incoming_fd;
} queue_dirs = {NULL, -1, -1};

static void
queue_dirs_close(void)
{
    if (queue_dirs.tmp_fd >= 0)
        close(queue_dirs.tmp_fd);
    if (queue_dirs.incoming_fd >= 0)
        close(queue_dirs.incoming_fd);
    queue_dirs.tmp_fd = queue_dirs.incoming_fd = -1;
    queue_dirs.queue_dir = myfree(queue_dirs.queue_dir);
}

/* 0 when the descriptors of queue_dir are at hand (opened again with
 * reopen), -1 with errno. */
static int
queue_dirs_open(const char *queue_dir, int reopen)
{
    char   *path;
    int     saved;

    if (!reopen && queue_dirs.queue_dir != NULL
        && strcmp(queue_dirs.queue_dir, queue_dir) == 0)
        return 0;
    queue_dirs_close();
    path = queue_path(queue_dir, QUEUE_DIR_TMP, NULL);
    queue_dirs.tmp_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    myfree(path);
    path = queue_path(queue_dir, QUEUE_DIR_INCOMING, NULL);
    queue_dirs.incoming_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    myfree(path);
    if (queue_dirs.tmp_fd < 0 || queue_dirs.incoming_fd < 0) {
        saved = errno;
        queue_dirs_close();
        errno = saved;
        return -1;
    }
    queue_dirs.queue_dir = mystrdup(queue_dir);
    return 0;
}

static int
queue_fsync_dir(const char *path)
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

/* Queue directory and ids. */

static int
queue_mkdir(const char *path, int *made, VBUF *why)
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
    queue_why(why, "create directory %s: %s", path, strerror(errno));
    return -1;
}

int
queue_dir_init(const char *queue_dir, VBUF *why)
{
    static const char *subdirs[] = {
        QUEUE_DIR_TMP, QUEUE_DIR_INCOMING, QUEUE_DIR_DEFERRED,
        QUEUE_DIR_HOLD, QUEUE_DIR_CORRUPT, NULL,
    };
    const char **sub;
    char   *path;
    int     made = 0, status;

    for (sub = subdirs; *sub; sub++) {
        path = queue_path(queue_dir, *sub, NULL);
        status = queue_mkdir(path, &made, why);
        myfree(path);
        if (status < 0)
            return -1;
    }
    /* A new subdirectory must survive a crash as surely as the files that
     * will be committed into it. */
    if (made && queue_fsync_dir(queue_dir) < 0) {
        queue_why(why, "fsync %s: %s", queue_dir, strerror(errno));
        return -1;
    }
    return 0;
}

void
queue_id_new(char buf[QUEUE_ID_LEN + 1])
{
    static unsigned long long last;     /* microseconds of the last id */
    unsigned long long now;
    struct timeval tv;

    gettimeofday(&tv, NULL);
    now = (unsigned long long) tv.tv_sec * 1000000 + (unsigned long long) tv.tv_usec;
    if (now <= last)                    /* same microsecond, or clock step */
        now = last + 1;
    last = now;
    snprintf(buf, QUEUE_ID_LEN + 1, "%08X%05X%06X",
             (unsigned) (now / 1000000 & 0xffffffff),
             (unsigned) (now % 1000000),
             (unsigned) getpid() & 0xffffff);
}

int
queue_id_valid(const char *str)
{
    size_t  i;

    for (i = 0; i < QUEUE_ID_LEN; i++)
        if (!((str[i] >= '0' && str[i] <= '9') || (str[i] >= 'A' && str[i] <= 'F')))
            return 0;
    return str[i] == 0;
}

int
queue_space_ok(const char *queue_dir, unsigned long long min_free_bytes,
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
queue_tmp_remove_stale(const char *path, time_t cutoff)
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
queue_file_cleanup_tmp(const char *queue_dir, int older_than_seconds)
{
    char   *dir_path = queue_path(queue_dir, QUEUE_DIR_TMP, NULL);
    char   *path;
    DIR    *dir;
    struct dirent *dp;
    time_t  cutoff = time(NULL) - older_than_seconds;
    int     count = 0;

    if ((dir = opendir(dir_path)) == NULL) {
        myfree(dir_path);
        return -1;
    }
    while ((dp = readdir(dir)) != NULL) {
        if (!queue_id_valid(dp->d_name))
            continue;
        path = queue_path(queue_dir, QUEUE_DIR_TMP, dp->d_name);
        count += queue_tmp_remove_stale(path, cutoff);
        myfree(path);
    }
    closedir(dir);
    myfree(dir_path);
    return count;
}

/* Records, shared by writer and reader. */

static unsigned
queue_singleton_bit(int type)
{
    const char *p;

    if (type == 0 || (p = strchr(queue_singletons, type)) == NULL)
        return 0;
    return 1u << (p - queue_singletons);
}

static int
queue_rec_is_rcpt(int type)
{
    return type == QUEUE_RCPT_PENDING || type == QUEUE_RCPT_DELIVERED
        || type == QUEUE_RCPT_BOUNCED;
}

/* Decimal digits without sign, at most 18 so that they fit a long long. */
static int
queue_parse_num(const char *value, size_t len, long long *out)
{
    long long n = 0;
    size_t  i;

    if (len == 0 || len > 18)
        return -1;
    for (i = 0; i < len; i++) {
        if (value[i] < '0' || value[i] > '9')
            return -1;
        n = n * 10 + (value[i] - '0');
    }
    if (out)
        *out = n;
    return 0;
}

/* Says what is wrong with value for a record of this type, or NULL. */
static const char *
queue_rec_check(int type, const char *value, size_t len)
{
    const char *eq;

    if (len > QUEUE_VALUE_MAX)
        return "value too long";
    if (memchr(value, '\r', len) || memchr(value, '\n', len)
        || memchr(value, 0, len))
        return "CR, LF or NUL in value";
    switch (type) {
    case QUEUE_REC_ARRIVAL:
    case QUEUE_REC_SIZE:
        return queue_parse_num(value, len, NULL) < 0 ? "bad number" : NULL;
    case QUEUE_REC_SMTPUTF8:
        return len == 1 && (value[0] == '0' || value[0] == '1') ?
            NULL : "bad smtputf8 flag";
    case QUEUE_REC_ATTR:
        eq = memchr(value, '=', len);
        return eq == NULL || eq == value ? "bad attribute" : NULL;
    default:
        if (queue_rec_is_rcpt(type) && len == 0)
            return "empty recipient";
        return NULL;
    }
}

/* Writer. */

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
queue_file_flush(QUEUE_FILE *qf)
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
queue_file_put(QUEUE_FILE *qf, const void *data, size_t len)
{
    if (qf->err) {
        errno = qf->err;
        return -1;
    }
    if (len > QUEUE_BUF_SIZE - qf->used && queue_file_flush(qf) < 0)
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
queue_file_free(QUEUE_FILE *qf)
{
    if (qf->fd >= 0)
        close(qf->fd);
    myfree(qf->queue_dir);
    myfree(qf->tmp_path);
    myfree(qf->final_path);
    myfree(qf->buf);
    vbuf_free(qf->scratch);
    myfree(qf);
}

QUEUE_FILE *
queue_file_create(const char *queue_dir, VBUF *why)
{
    QUEUE_FILE *qf = mycalloc(1, sizeof(*qf));
    int     tries;

    qf->queue_dir = mystrdup(queue_dir);
    qf->fd = -1;
    for (tries = 0;; tries++) {
        queue_id_new(qf->id);
        qf->tmp_path = queue_path(queue_dir, QUEUE_DIR_TMP, qf->id);
        if (queue_dirs_open(queue_dir, 0) == 0) {
            qf->fd = openat(queue_dirs.tmp_fd, qf->id,
                            O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            /* tmp/ made again since we opened it? */
            if (qf->fd < 0 && errno == ENOENT && queue_dirs_open(queue_dir, 1) == 0)
                qf->fd = openat(queue_dirs.tmp_fd, qf->id,
                                O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        }
        if (qf->fd >= 0)
            break;
        if (errno != EEXIST || tries == 100) {
            queue_why(why, "create %s: %s", qf->tmp_path, strerror(errno));
            queue_file_free(qf);
            return NULL;
        }
        qf->tmp_path = myfree(qf->tmp_path);
    }
    qf->in_tmp = 1;
    /* The lock tells queue_file_cleanup_tmp() that this file is alive. */
    if (flock(qf->fd, LOCK_EX) < 0) {
        queue_why(why, "lock %s: %s", qf->tmp_path, strerror(errno));
        queue_file_abort(qf);
        return NULL;
    }
    qf->final_path = queue_path(queue_dir, QUEUE_DIR_INCOMING, qf->id);
    qf->buf = mymalloc(QUEUE_BUF_SIZE);
    memcpy(qf->buf, QUEUE_MAGIC_LINE, QUEUE_MAGIC_LEN);
    qf->used = QUEUE_MAGIC_LEN;
    return qf;
}

const char *
queue_file_id(QUEUE_FILE *qf)
{
    return qf->id;
}

int
queue_file_rec(QUEUE_FILE *qf, int type, const char *value)
{
    unsigned bit = queue_singleton_bit(type);
    size_t  len = strlen(value);
    char    head[2];

    if (qf->in_message)
        msg_panic("queue_file_rec: record after the message started");
    if (bit == 0 && type != QUEUE_REC_RCPT && type != QUEUE_REC_ATTR)
        msg_panic("queue_file_rec: bad record type 0x%02x", (unsigned) type & 0xff);
    if (queue_rec_check(type, value, len) != NULL || (qf->seen & bit)) {
        errno = EINVAL;
        return -1;
    }
    head[0] = (char) type;
    head[1] = ' ';
    if (queue_file_put(qf, head, 2) < 0 || queue_file_put(qf, value, len) < 0
        || queue_file_put(qf, "\n", 1) < 0)
        return -1;
    qf->seen |= bit;
    if (type == QUEUE_REC_RCPT)
        qf->nrcpt++;
    return 0;
}

int
queue_file_recf(QUEUE_FILE *qf, int type, const char *fmt, ...)
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
    return queue_file_rec(qf, type, vbuf_str(qf->scratch));
}

int
queue_file_begin_message(QUEUE_FILE *qf)
{
    static const char placeholder[] = "M XXXXXXXXXXXXXXXXXXXX\n";

    if (qf->in_message)
        msg_panic("queue_file_begin_message: called twice");
    qf->in_message = 1;
    qf->len_off = qf->flushed + (off_t) qf->used + 2;
    return queue_file_put(qf, placeholder, sizeof(placeholder) - 1);
}

int
queue_file_write(QUEUE_FILE *qf, const void *data, size_t len)
{
    if (!qf->in_message)
        msg_panic("queue_file_write: message not started");
    if (queue_file_put(qf, data, len) < 0)
        return -1;
    qf->msg_len += len;
    return 0;
}

/* Writes the trailer and the real length on the M line, and flushes. */
static int
queue_file_finish(QUEUE_FILE *qf)
{
    char    trailer[32], digits[QUEUE_LEN_DIGITS + 1];
    int     n;

    n = snprintf(trailer, sizeof(trailer), "\nE %llu\n", qf->msg_len);
    snprintf(digits, sizeof(digits), "%020llu", qf->msg_len);
    if (queue_file_put(qf, trailer, (size_t) n) < 0)
        return -1;
    /* The M line went out whole, or is still whole in the buffer. */
    if (qf->len_off >= qf->flushed) {
        memcpy(qf->buf + (qf->len_off - qf->flushed), digits, QUEUE_LEN_DIGITS);
        return queue_file_flush(qf);
    }
    if (queue_file_flush(qf) < 0)
        return -1;
    if (queue_write_all(qf->fd, digits, QUEUE_LEN_DIGITS, qf->len_off) < 0) {
        qf->err = errno;
        return -1;
    }
    return 0;
}

/* Renames tmp/ID to incoming/ID without ever replacing an existing queue
 * file; -1 with errno. */
static int
queue_rename_noreplace(const char *id)
{
    if (renameat2(queue_dirs.tmp_fd, id, queue_dirs.incoming_fd, id,
                  RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    /* File systems without RENAME_NOREPLACE: link() refuses to replace. */
    if (linkat(queue_dirs.tmp_fd, id, queue_dirs.incoming_fd, id, 0) < 0)
        return -1;
    (void) unlinkat(queue_dirs.tmp_fd, id, 0);
    return 0;
}

/* Moves the complete, fsynced file into incoming/ and fsyncs incoming/;
 * -1 with why. The file is closed first, which releases its lock: once
 * complete it needs no protection from queue_file_cleanup_tmp() (that
 * only takes files a minute old), and relay, woken by the rename, finds
 * it unlocked instead of trying again later. */
static int
queue_file_move(QUEUE_FILE *qf, VBUF *why)
{
    int     rc;

    if (close(qf->fd) < 0) {
        qf->fd = -1;
        queue_why(why, "close %s: %s", qf->tmp_path, strerror(errno));
        return -1;
    }
    qf->fd = -1;
    if ((rc = queue_dirs_open(qf->queue_dir, 0)) == 0
        && (rc = queue_rename_noreplace(qf->id)) < 0 && errno == ENOENT
        && queue_dirs_open(qf->queue_dir, 1) == 0)
        rc = queue_rename_noreplace(qf->id);
    if (rc < 0) {
        queue_why(why, "rename %s to %s: %s", qf->tmp_path, qf->final_path,
                  strerror(errno));
        return -1;
    }
    qf->in_tmp = 0;
    if (fsync(queue_dirs.incoming_fd) < 0) {
        queue_why(why, "fsync %s/%s: %s", qf->queue_dir, QUEUE_DIR_INCOMING,
                  strerror(errno));
        /* Not durable, so not accepted: the client will send it again. */
        (void) unlinkat(queue_dirs.incoming_fd, qf->id, 0);
        return -1;
    }
    return 0;
}

int
queue_file_commit(QUEUE_FILE *qf, VBUF *why)
{
    if (!qf->in_message)
        msg_panic("queue_file_commit: message not started");
    if (!(qf->seen & queue_singleton_bit(QUEUE_REC_ARRIVAL))) {
        queue_why(why, "%s: no arrival time record", qf->id);
    } else if (!(qf->seen & queue_singleton_bit(QUEUE_REC_SENDER))) {
        queue_why(why, "%s: no sender record", qf->id);
    } else if (qf->nrcpt == 0) {
        queue_why(why, "%s: no recipient record", qf->id);
    } else if (queue_file_finish(qf) < 0) {
        queue_why(why, "write %s: %s", qf->tmp_path, strerror(errno));
    } else if (fsync(qf->fd) < 0) {
        queue_why(why, "fsync %s: %s", qf->tmp_path, strerror(errno));
    } else if (queue_file_move(qf, why) == 0) {
        queue_file_free(qf);
        return 0;
    }
    queue_file_abort(qf);
    return -1;
}

void
queue_file_abort(QUEUE_FILE *qf)
{
    if (qf->in_tmp)
        (void) unlink(qf->tmp_path);
    queue_file_free(qf);
}

/* Reader. */

typedef struct QUEUE_READER {
    int     fd;
    char   *buf;
    size_t  start;              /* first unread byte */
    size_t  end;                /* end of the bytes read */
    off_t   base;               /* file offset of buf[0] */
    int     eof;
} QUEUE_READER;

#define QUEUE_READER_SIZE   (QUEUE_LINE_MAX + 1 + QUEUE_READ_CHUNK)

/* Finds the next line: 1 with its start, length (no LF) and file offset,
 * or a QUEUE_READ_ status. */
static int
queue_reader_line(QUEUE_READER *rd, char **line, size_t *len, off_t *off,
                  VBUF *why)
{
    char   *nl;
    ssize_t n;
    size_t  want;

    for (;;) {
        *line = rd->buf + rd->start;
        *off = rd->base + (off_t) rd->start;
        if ((nl = memchr(*line, '\n', rd->end - rd->start)) != NULL) {
            *len = (size_t) (nl - *line);
            rd->start += *len + 1;
            break;
        }
        if (rd->end - rd->start > QUEUE_LINE_MAX) {
            *len = rd->end - rd->start;
            break;
        }
        if (rd->eof) {
            queue_why(why, "truncated file");
            return QUEUE_READ_CORRUPT;
        }
        if (rd->start > 0) {
            memmove(rd->buf, rd->buf + rd->start, rd->end - rd->start);
            rd->base += (off_t) rd->start;
            rd->end -= rd->start;
            rd->start = 0;
        }
        want = QUEUE_READER_SIZE - rd->end;
        if (want > QUEUE_READ_CHUNK)
            want = QUEUE_READ_CHUNK;
        n = pread(rd->fd, rd->buf + rd->end, want, rd->base + (off_t) rd->end);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            queue_why(why, "read: %s", strerror(errno));
            return QUEUE_READ_ERROR;
        }
        rd->eof = (n == 0);
        rd->end += (size_t) n;
    }
    if (*len > QUEUE_LINE_MAX) {
        queue_why(why, "record too long at offset %lld", (long long) *off);
        return QUEUE_READ_CORRUPT;
    }
    return 1;
}

static void
queue_envelope_add(QUEUE_ENVELOPE *env, int type, const char *value,
                   size_t len, off_t off)
{
    const char *eq;
    long long num = 0;

    switch (type) {
    case QUEUE_REC_ARRIVAL:
        (void) queue_parse_num(value, len, &num);
        env->arrival = (time_t) num;
        break;
    case QUEUE_REC_SIZE:
        (void) queue_parse_num(value, len, &env->size);
        break;
    case QUEUE_REC_SMTPUTF8:
        env->smtputf8 = (value[0] == '1');
        break;
    case QUEUE_REC_CLIENT_ADDR:
        env->client_addr = mystrndup(value, len);
        break;
    case QUEUE_REC_CLIENT_NAME:
        env->client_name = mystrndup(value, len);
        break;
    case QUEUE_REC_HELO:
        env->helo = mystrndup(value, len);
        break;
    case QUEUE_REC_PROTOCOL:
        env->protocol = mystrndup(value, len);
        break;
    case QUEUE_REC_SASL_USER:
        env->sasl_user = mystrndup(value, len);
        break;
    case QUEUE_REC_SENDER:
        env->sender = mystrndup(value, len);
        break;
    case QUEUE_REC_BODY_TYPE:
        env->body_type = mystrndup(value, len);
        break;
    case QUEUE_REC_ATTR:
        /* Grow at powers of two. */
        if ((env->attr_count & (env->attr_count - 1)) == 0)
            env->attr = myrealloc(env->attr, (env->attr_count ? env->attr_count * 2 : 1)
                                  * sizeof(*env->attr));
        eq = memchr(value, '=', len);
        env->attr[env->attr_count].name = mystrndup(value, (size_t) (eq - value));
        env->attr[env->attr_count].value = mystrndup(eq + 1, len - (size_t) (eq - value) - 1);
        env->attr_count++;
        break;
    default:                            /* a recipient */
        if ((env->rcpt_count & (env->rcpt_count - 1)) == 0)
            env->rcpt = myrealloc(env->rcpt, (env->rcpt_count ? env->rcpt_count * 2 : 1)
                                  * sizeof(*env->rcpt));
        env->rcpt[env->rcpt_count].address = mystrndup(value, len);
        env->rcpt[env->rcpt_count].status = type;
        env->rcpt[env->rcpt_count].offset = off;
        env->rcpt_count++;
        break;
    }
}

/* Parses the magic and the records up to and including the M line. */
static int
queue_read_envelope(QUEUE_READER *rd, QUEUE_ENVELOPE *env, long long *msg_len,
                    VBUF *why)
{
    char    magic[QUEUE_MAGIC_LEN];
    char   *line;
    size_t  len, i;
    off_t   off;
    ssize_t n;
    int     type, status;
    unsigned bit, seen = 0;
    const char *err;

    while ((n = pread(rd->fd, magic, QUEUE_MAGIC_LEN, 0)) < 0 && errno == EINTR)
         /* void */ ;
    if (n < 0) {
        queue_why(why, "read: %s", strerror(errno));
        return QUEUE_READ_ERROR;
    }
    if (memcmp(magic, QUEUE_MAGIC_LINE, (size_t) n) != 0) {
        queue_why(why, "bad magic");
        return QUEUE_READ_CORRUPT;
    }
    if ((size_t) n < QUEUE_MAGIC_LEN) {
        queue_why(why, "truncated file");
        return QUEUE_READ_CORRUPT;
    }
    rd->base = (off_t) QUEUE_MAGIC_LEN;

    for (;;) {
        if ((status = queue_reader_line(rd, &line, &len, &off, why)) != 1)
            return status;
        if (len < 2 || line[1] != ' ') {
            queue_why(why, "malformed record at offset %lld", (long long) off);
            return QUEUE_READ_CORRUPT;
        }
        type = (unsigned char) line[0];
        if (type == QUEUE_REC_MESSAGE)
            break;
        bit = queue_singleton_bit(type);
        if (bit == 0 && !queue_rec_is_rcpt(type) && type != QUEUE_REC_ATTR) {
            queue_why(why, "unknown record type 0x%02x at offset %lld",
                      (unsigned) type, (long long) off);
            return QUEUE_READ_CORRUPT;
        }
        if ((err = queue_rec_check(type, line + 2, len - 2)) != NULL) {
            queue_why(why, "bad record at offset %lld: %s", (long long) off, err);
            return QUEUE_READ_CORRUPT;
        }
        if (seen & bit) {
            queue_why(why, "duplicate %c record at offset %lld", type, (long long) off);
            return QUEUE_READ_CORRUPT;
        }
        seen |= bit;
        queue_envelope_add(env, type, line + 2, len - 2, off);
    }

    /* The M line: exactly 20 digits, at most the largest off_t. */
    *msg_len = 0;
    for (i = 2; i < len && len == 2 + QUEUE_LEN_DIGITS; i++) {
        if (line[i] < '0' || line[i] > '9'
            || *msg_len > (LLONG_MAX - (line[i] - '0')) / 10)
            break;
        *msg_len = *msg_len * 10 + (line[i] - '0');
    }
    if (len != 2 + QUEUE_LEN_DIGITS || i != len) {
        queue_why(why, "bad message length at offset %lld", (long long) off);
        return QUEUE_READ_CORRUPT;
    }
    env->message_offset = off + (off_t) len + 1;

    if (!(seen & queue_singleton_bit(QUEUE_REC_ARRIVAL)))
        queue_why(why, "no arrival time record");
    else if (!(seen & queue_singleton_bit(QUEUE_REC_SENDER)))
        queue_why(why, "no sender record");
    else if (env->rcpt_count == 0)
        queue_why(why, "no recipient record");
    else
        return QUEUE_READ_OK;
    return QUEUE_READ_CORRUPT;
}

/* Checks that the file is exactly envelope + message + trailer. */
static int
queue_read_trailer(int fd, off_t size, QUEUE_ENVELOPE *env, long long msg_len,
                   VBUF *why)
{
    char    want[32], got[32];
    long long room = (long long) (size - env->message_offset);
    int     n;
    ssize_t got_len;

    n = snprintf(want, sizeof(want), "\nE %lld\n", msg_len);
    if (room < n || msg_len > room - n) {
        queue_why(why, "truncated file");
        return QUEUE_READ_CORRUPT;
    }
    if (msg_len < room - n) {
        queue_why(why, "data after trailer");
        return QUEUE_READ_CORRUPT;
    }
    while ((got_len = pread(fd, got, (size_t) n, env->message_offset + msg_len)) < 0
           && errno == EINTR)
         /* void */ ;
    if (got_len < 0) {
        queue_why(why, "read: %s", strerror(errno));
        return QUEUE_READ_ERROR;
    }
    if (got_len != n || memcmp(got, want, (size_t) n) != 0) {
        queue_why(why, "bad trailer");
        return QUEUE_READ_CORRUPT;
    }
    env->message_length = (off_t) msg_len;
    return QUEUE_READ_OK;
}

int
queue_file_read_fd(int fd, QUEUE_ENVELOPE *env, VBUF *why)
{
    QUEUE_READER rd;
    struct stat st;
    long long msg_len;
    int     status;

    memset(env, 0, sizeof(*env));
    env->size = -1;
    if (fstat(fd, &st) < 0) {
        queue_why(why, "fstat: %s", strerror(errno));
        return QUEUE_READ_ERROR;
    }
    memset(&rd, 0, sizeof(rd));
    rd.fd = fd;
    rd.buf = mymalloc(QUEUE_READER_SIZE);
    status = queue_read_envelope(&rd, env, &msg_len, why);
    if (status == QUEUE_READ_OK)
        status = queue_read_trailer(fd, st.st_size, env, msg_len, why);
    myfree(rd.buf);
    if (status != QUEUE_READ_OK)
        queue_envelope_free(env);
    return status;
}

int
queue_file_read(const char *path, QUEUE_ENVELOPE *env, VBUF *why)
{
    int     fd, status;

    memset(env, 0, sizeof(*env));
    env->size = -1;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        queue_why(why, "open %s: %s", path, strerror(errno));
        return QUEUE_READ_ERROR;
    }
    status = queue_file_read_fd(fd, env, why);
    close(fd);
    return status;
}

void
queue_envelope_free(QUEUE_ENVELOPE *env)
{
    size_t  i;

    myfree(env->client_addr);
    myfree(env->client_name);
    myfree(env->helo);
    myfree(env->protocol);
    myfree(env->sasl_user);
    myfree(env->sender);
    myfree(env->body_type);
    for (i = 0; i < env->rcpt_count; i++)
        myfree(env->rcpt[i].address);
    myfree(env->rcpt);
    for (i = 0; i < env->attr_count; i++) {
        myfree(env->attr[i].name);
        myfree(env->attr[i].value);
    }
    myfree(env->attr);
    memset(env, 0, sizeof(*env));
    env->size = -1;
}

/* Sets one status byte, without syncing; -1 with errno. */
static int
queue_file_mark_one(int fd, off_t offset, int status)
{
    char    rec[3];                     /* LF, status, space */
    char    ch = (char) status;
    ssize_t n;

    if (!queue_rec_is_rcpt(status) || offset < (off_t) QUEUE_MAGIC_LEN) {
        errno = EINVAL;
        return -1;
    }
    /* Refuse to scribble anywhere but on a recipient record's first byte. */
    if ((n = pread(fd, rec, sizeof(rec), offset - 1)) < 0)
        return -1;
    if (n != sizeof(rec) || rec[0] != '\n' || !queue_rec_is_rcpt((unsigned char) rec[1])
        || rec[2] != ' ') {
        errno = EINVAL;
        return -1;
    }
    if ((n = pwrite(fd, &ch, 1, offset)) != 1) {
        if (n == 0)
            errno = EIO;
        return -1;
    }
    return 0;
}

int
queue_file_mark_rcpts(int fd, const off_t *offsets, size_t count, int status)
{
    size_t  i;

    for (i = 0; i < count; i++)
        if (queue_file_mark_one(fd, offsets[i], status) < 0)
            return -1;
    return count > 0 ? fdatasync(fd) : 0;
}

int
queue_file_mark_rcpt(int fd, off_t offset, int status)
{
    return queue_file_mark_rcpts(fd, &offset, 1, status);
}
