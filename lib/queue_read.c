/* The queue file reader: refuses, with a reason, any file that is not
 * exactly what queue_record.h describes. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mymalloc.h"
#include "queue_read.h"
#include "vbuf.h"

#define QUEUE_READ_CHUNK    8192    /* reader's read size */

typedef struct QUEUE_READER {
    int     fd;
    char   *buf;
    size_t  start;              /* first unread byte */
    size_t  end;                /* end of the bytes read */
    off_t   base;               /* file offset of buf[0] */
    int     eof;
} QUEUE_READER;

#define QUEUE_READER_SIZE   (QUEUE_RECORD_LINE_MAX + 1 + QUEUE_READ_CHUNK)

/* Finds the next line: 1 with its start, length (no LF) and file offset,
 * or a QUEUE_READ_ status. */
static int
queue_read_line(QUEUE_READER *rd, char **line, size_t *len, off_t *off,
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
        if (rd->end - rd->start > QUEUE_RECORD_LINE_MAX) {
            *len = rd->end - rd->start;
            break;
        }
        if (rd->eof) {
            queue_record_why(why, "truncated file");
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
            queue_record_why(why, "read: %s", strerror(errno));
            return QUEUE_READ_ERROR;
        }
        rd->eof = (n == 0);
        rd->end += (size_t) n;
    }
    if (*len > QUEUE_RECORD_LINE_MAX) {
        queue_record_why(why, "record too long at offset %lld", (long long) *off);
        return QUEUE_READ_CORRUPT;
    }
    return 1;
}

static void
queue_read_add(QUEUE_ENVELOPE *env, int type, const char *value,
                   size_t len, off_t off)
{
    const char *eq;
    long long num = 0;

    switch (type) {
    case QUEUE_REC_ARRIVAL:
        (void) queue_record_parse_num(value, len, &num);
        env->arrival = (time_t) num;
        break;
    case QUEUE_REC_SIZE:
        (void) queue_record_parse_num(value, len, &env->size);
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
    case QUEUE_REC_AUTH_SEALED:
        env->auth_sealed = mystrndup(value, len);
        env->auth_offset = off;
        break;
    case QUEUE_REC_AUTH_WIPED:
        env->auth_wiped = 1;
        env->auth_offset = off;
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
    char    magic[QUEUE_RECORD_MAGIC_LEN];
    char   *line;
    size_t  len, i;
    off_t   off;
    ssize_t n;
    int     type, status;
    unsigned bit, seen = 0;
    const char *err;

    while ((n = pread(rd->fd, magic, QUEUE_RECORD_MAGIC_LEN, 0)) < 0 && errno == EINTR)
         /* void */ ;
    if (n < 0) {
        queue_record_why(why, "read: %s", strerror(errno));
        return QUEUE_READ_ERROR;
    }
    if (memcmp(magic, QUEUE_RECORD_MAGIC_LINE, (size_t) n) != 0) {
        queue_record_why(why, "bad magic");
        return QUEUE_READ_CORRUPT;
    }
    if ((size_t) n < QUEUE_RECORD_MAGIC_LEN) {
        queue_record_why(why, "truncated file");
        return QUEUE_READ_CORRUPT;
    }
    rd->base = (off_t) QUEUE_RECORD_MAGIC_LEN;

    for (;;) {
        if ((status = queue_read_line(rd, &line, &len, &off, why)) != 1)
            return status;
        if (len < 2 || line[1] != ' ') {
            queue_record_why(why, "malformed record at offset %lld", (long long) off);
            return QUEUE_READ_CORRUPT;
        }
        type = (unsigned char) line[0];
        if (type == QUEUE_REC_MESSAGE)
            break;
        bit = queue_record_singleton_bit(type);
        if (bit == 0 && !queue_record_is_rcpt(type) && type != QUEUE_REC_ATTR) {
            queue_record_why(why, "unknown record type 0x%02x at offset %lld",
                             (unsigned) type, (long long) off);
            return QUEUE_READ_CORRUPT;
        }
        if ((err = queue_record_check(type, line + 2, len - 2)) != NULL) {
            queue_record_why(why, "bad record at offset %lld: %s", (long long) off, err);
            return QUEUE_READ_CORRUPT;
        }
        if (seen & bit) {
            queue_record_why(why, "duplicate %c record at offset %lld", type, (long long) off);
            return QUEUE_READ_CORRUPT;
        }
        seen |= bit;
        if ((seen & queue_record_singleton_bit(QUEUE_REC_AUTH_SEALED))
            && (seen & queue_record_singleton_bit(QUEUE_REC_AUTH_WIPED))) {
            queue_record_why(why, "sealed and wiped credentials at offset %lld",
                             (long long) off);
            return QUEUE_READ_CORRUPT;
        }
        queue_read_add(env, type, line + 2, len - 2, off);
    }

    /* The M line: exactly 20 digits, at most the largest off_t. */
    *msg_len = 0;
    for (i = 2; i < len && len == 2 + QUEUE_RECORD_LEN_DIGITS; i++) {
        if (line[i] < '0' || line[i] > '9'
            || *msg_len > (LLONG_MAX - (line[i] - '0')) / 10)
            break;
        *msg_len = *msg_len * 10 + (line[i] - '0');
    }
    if (len != 2 + QUEUE_RECORD_LEN_DIGITS || i != len) {
        queue_record_why(why, "bad message length at offset %lld", (long long) off);
        return QUEUE_READ_CORRUPT;
    }
    env->message_offset = off + (off_t) len + 1;

    if (!(seen & queue_record_singleton_bit(QUEUE_REC_ARRIVAL)))
        queue_record_why(why, "no arrival time record");
    else if (!(seen & queue_record_singleton_bit(QUEUE_REC_SENDER)))
        queue_record_why(why, "no sender record");
    else if (env->rcpt_count == 0)
        queue_record_why(why, "no recipient record");
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
        queue_record_why(why, "truncated file");
        return QUEUE_READ_CORRUPT;
    }
    if (msg_len < room - n) {
        queue_record_why(why, "data after trailer");
        return QUEUE_READ_CORRUPT;
    }
    while ((got_len = pread(fd, got, (size_t) n, env->message_offset + msg_len)) < 0
           && errno == EINTR)
         /* void */ ;
    if (got_len < 0) {
        queue_record_why(why, "read: %s", strerror(errno));
        return QUEUE_READ_ERROR;
    }
    if (got_len != n || memcmp(got, want, (size_t) n) != 0) {
        queue_record_why(why, "bad trailer");
        return QUEUE_READ_CORRUPT;
    }
    env->message_length = (off_t) msg_len;
    return QUEUE_READ_OK;
}

int
queue_read_fd(int fd, QUEUE_ENVELOPE *env, VBUF *why)
{
    QUEUE_READER rd;
    struct stat st;
    long long msg_len;
    int     status;

    memset(env, 0, sizeof(*env));
    env->size = -1;
    if (fstat(fd, &st) < 0) {
        queue_record_why(why, "fstat: %s", strerror(errno));
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
        queue_read_free(env);
    return status;
}

int
queue_read(const char *path, QUEUE_ENVELOPE *env, VBUF *why)
{
    int     fd, status;

    memset(env, 0, sizeof(*env));
    env->size = -1;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        queue_record_why(why, "open %s: %s", path, strerror(errno));
        return QUEUE_READ_ERROR;
    }
    status = queue_read_fd(fd, env, why);
    close(fd);
    return status;
}

void
queue_read_free(QUEUE_ENVELOPE *env)
{
    size_t  i;

    myfree(env->client_addr);
    myfree(env->client_name);
    myfree(env->helo);
    myfree(env->protocol);
    myfree(env->sasl_user);
    myfree(env->sender);
    myfree(env->body_type);
    myfree(env->auth_sealed);
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
