/* Recipient marks: a status byte overwritten in place; and the wipe of
 * the sealed credentials: one record overwritten with one of the same
 * length. Nothing else. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "mymalloc.h"

#include "queue_mark.h"

/* Sets one status byte, without syncing; -1 with errno. */
static int
queue_mark_one(int fd, off_t offset, int status)
{
    char    rec[3];                     /* LF, status, space */
    char    ch = (char) status;
    ssize_t n;

    if (!queue_record_is_rcpt(status) || offset < (off_t) QUEUE_RECORD_MAGIC_LEN) {
        errno = EINVAL;
        return -1;
    }
    /* Refuse to scribble anywhere but on a recipient record's first byte. */
    if ((n = pread(fd, rec, sizeof(rec), offset - 1)) < 0)
        return -1;
    if (n != sizeof(rec) || rec[0] != '\n' || !queue_record_is_rcpt((unsigned char) rec[1])
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
queue_mark_rcpts(int fd, const off_t *offsets, size_t count, int status)
{
    size_t  i;

    for (i = 0; i < count; i++)
        if (queue_mark_one(fd, offsets[i], status) < 0)
            return -1;
    return count > 0 ? fdatasync(fd) : 0;
}

int
queue_mark_rcpt(int fd, off_t offset, int status)
{
    return queue_mark_rcpts(fd, &offset, 1, status);
}

int
queue_mark_wipe(int fd, off_t offset)
{
    size_t  size = QUEUE_RECORD_LINE_MAX + 2;   /* LF, the record, LF */
    char   *rec, *end;
    ssize_t n;
    int     rc = -1;

    if (offset < (off_t) QUEUE_RECORD_MAGIC_LEN) {
        errno = EINVAL;
        return -1;
    }
    rec = mymalloc(size);
    /* Only a whole K record, right after a line end, is overwritten. */
    if ((n = pread(fd, rec, size, offset - 1)) < 0)
        goto out;
    if (n < 4 || rec[0] != '\n' || rec[2] != ' '
        || (rec[1] != QUEUE_REC_AUTH_SEALED && rec[1] != QUEUE_REC_AUTH_WIPED)
        || (end = memchr(rec + 3, '\n', (size_t) n - 3)) == NULL
        || queue_record_check((unsigned char) rec[1], rec + 3, (size_t) (end - rec - 3)) != NULL) {
        errno = EINVAL;
        goto out;
    }
    if (rec[1] == QUEUE_REC_AUTH_WIPED) {
        rc = 0;
        goto out;
    }
    rec[1] = QUEUE_REC_AUTH_WIPED;
    memset(rec + 3, QUEUE_AUTH_WIPE_BYTE, (size_t) (end - rec - 3));
    n = pwrite(fd, rec + 1, (size_t) (end - rec - 1), offset);
    if (n != end - rec - 1) {
        if (n >= 0)
            errno = EIO;
        goto out;
    }
    rc = fdatasync(fd);
  out:
    myfree(rec);
    return rc;
}
