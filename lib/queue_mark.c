/* Recipient marks: a status byte overwritten in place, nothing else. */
#include <errno.h>
#include <unistd.h>

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
