/* Archive files: their names, the envelope frame, the writer that
 * compresses a queued message into one, and the reader that refuses any
 * file that is not exactly what arc_file.h describes. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "arc_file.h"
#include "mymalloc.h"
#include "queue_record.h"

#define ARC_FILE_CHUNK      65536       /* read size of the writer */
#define ARC_FILE_WINDOW_LOG_MAX 27      /* what the reader accepts */

/* Record types of the envelope that queue_record.h does not have. */
#define ARC_REC_ID          'I'
#define ARC_REC_LENGTH      'L'

static const char arc_file_singletons[] = "ITCNHPUSZY8L";

int
arc_envelope_tls(const ARC_ENVELOPE *env)
{
    return env->protocol != NULL
        && (strcmp(env->protocol, "ESMTPS") == 0 || strcmp(env->protocol, "ESMTPSA") == 0);
}

void
arc_envelope_free(ARC_ENVELOPE *env)
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
        myfree(env->rcpt[i]);
    myfree(env->rcpt);
    memset(env, 0, sizeof(*env));
    env->size = -1;
}

static void
arc_file_why(VBUF *why, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
arc_file_why(VBUF *why, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL)
        return;
    vbuf_reset(why);
    va_start(ap, fmt);
    vbuf_vprintf(why, fmt, ap);
    va_end(ap);
}

int
arc_file_rel_path(VBUF *rel, const char *id)
{
    unsigned long secs = 0;
    struct tm tm;
    time_t  t;
    int     i;

    if (!queue_id_valid(id))
        return -1;
    for (i = 0; i < 8; i++)
        secs = secs * 16 + (unsigned long) (id[i] <= '9' ? id[i] - '0' : id[i] - 'A' + 10);
    t = (time_t) secs;
    gmtime_r(&t, &tm);
    vbuf_reset(rel);
    vbuf_printf(rel, "%04d/%02d/%02d/%s%s", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                id, ARC_FILE_SUFFIX);
    return 0;
}

/* The envelope ----------------------------------------------------------- */

static void
arc_file_rec(VBUF *out, int type, const char *value)
{
    if (value == NULL)
        return;
    vbuf_append_char(out, type);
    vbuf_append_char(out, ' ');
    vbuf_append_str(out, value);
    vbuf_append_char(out, '\n');
}

void
arc_file_envelope_encode(VBUF *out, const char *id, const QUEUE_ENVELOPE *q,
                         long long length)
{
    size_t  i;

    vbuf_reset(out);
    vbuf_append_str(out, ARC_FILE_ENV_MAGIC "\n");
    arc_file_rec(out, ARC_REC_ID, id);
    vbuf_printf(out, "%c %lld\n", QUEUE_REC_ARRIVAL, (long long) q->arrival);
    arc_file_rec(out, QUEUE_REC_CLIENT_ADDR, q->client_addr);
    arc_file_rec(out, QUEUE_REC_CLIENT_NAME, q->client_name);
    arc_file_rec(out, QUEUE_REC_HELO, q->helo);
    arc_file_rec(out, QUEUE_REC_PROTOCOL, q->protocol);
    arc_file_rec(out, QUEUE_REC_SASL_USER, q->sasl_user);
    arc_file_rec(out, QUEUE_REC_SENDER, q->sender ? q->sender : "");
    if (q->size >= 0)
        vbuf_printf(out, "%c %lld\n", QUEUE_REC_SIZE, q->size);
    arc_file_rec(out, QUEUE_REC_BODY_TYPE, q->body_type);
    if (q->smtputf8)
        arc_file_rec(out, QUEUE_REC_SMTPUTF8, "1");
    for (i = 0; i < q->rcpt_count; i++)
        arc_file_rec(out, QUEUE_REC_RCPT, q->rcpt[i].address);
    vbuf_printf(out, "%c %lld\n", ARC_REC_LENGTH, length);
}

static unsigned
arc_file_singleton_bit(int type)
{
    const char *p;

    if (type == 0 || (p = strchr(arc_file_singletons, type)) == NULL)
        return 0;
    return 1u << (p - arc_file_singletons);
}

/* One record into env; its value has been checked. */
static void
arc_file_envelope_add(ARC_ENVELOPE *env, int type, const char *value, size_t len)
{
    long long num = 0;

    switch (type) {
    case ARC_REC_ID:
        memcpy(env->id, value, QUEUE_ID_LEN);
        env->id[QUEUE_ID_LEN] = 0;
        break;
    case QUEUE_REC_ARRIVAL:
        (void) queue_record_parse_num(value, len, &num);
        env->arrival = num;
        break;
    case ARC_REC_LENGTH:
        (void) queue_record_parse_num(value, len, &num);
        env->length = num;
        break;
    case QUEUE_REC_SIZE:
        (void) queue_record_parse_num(value, len, &env->size);
        break;
    case QUEUE_REC_SMTPUTF8:
        env->smtputf8 = value[0] == '1';
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
    default:                            /* a recipient */
        if ((env->rcpt_count & (env->rcpt_count - 1)) == 0)
            env->rcpt = myrealloc(env->rcpt, (env->rcpt_count ? env->rcpt_count * 2 : 1)
                                  * sizeof(*env->rcpt));
        env->rcpt[env->rcpt_count++] = mystrndup(value, len);
        break;
    }
}

/* What is wrong with a value of this type, or NULL. */
static const char *
arc_file_check(int type, const char *value, size_t len)
{
    char    id[QUEUE_ID_LEN + 1];

    switch (type) {
    case ARC_REC_ID:
        if (len != QUEUE_ID_LEN)
            return "bad queue id";
        memcpy(id, value, len);
        id[len] = 0;
        return queue_id_valid(id) ? NULL : "bad queue id";
    case ARC_REC_LENGTH:
        return queue_record_parse_num(value, len, NULL) < 0 ? "bad number" : NULL;
    case QUEUE_REC_RCPT:
    case QUEUE_REC_ARRIVAL:
    case QUEUE_REC_CLIENT_ADDR:
    case QUEUE_REC_CLIENT_NAME:
    case QUEUE_REC_HELO:
    case QUEUE_REC_PROTOCOL:
    case QUEUE_REC_SASL_USER:
    case QUEUE_REC_SENDER:
    case QUEUE_REC_SIZE:
    case QUEUE_REC_BODY_TYPE:
    case QUEUE_REC_SMTPUTF8:
        return queue_record_check(type, value, len);
    default:
        return "unknown record type";
    }
}

int
arc_file_envelope_parse(const char *data, size_t len, ARC_ENVELOPE *env, VBUF *why)
{
    static const char magic[] = ARC_FILE_ENV_MAGIC "\n";
    const char *cp = data, *end = data + len, *nl, *err;
    unsigned seen = 0, bit, need;
    int     type;

    memset(env, 0, sizeof(*env));
    env->size = -1;
    if (len < sizeof(magic) - 1 || memcmp(data, magic, sizeof(magic) - 1) != 0) {
        arc_file_why(why, "envelope: bad magic");
        return -1;
    }
    for (cp += sizeof(magic) - 1; cp < end; cp = nl + 1) {
        if ((nl = memchr(cp, '\n', (size_t) (end - cp))) == NULL) {
            arc_file_why(why, "envelope: truncated record at offset %zu", (size_t) (cp - data));
            goto bad;
        }
        if (nl - cp < 2 || cp[1] != ' ') {
            arc_file_why(why, "envelope: malformed record at offset %zu", (size_t) (cp - data));
            goto bad;
        }
        type = (unsigned char) cp[0];
        if ((err = arc_file_check(type, cp + 2, (size_t) (nl - cp - 2))) != NULL) {
            arc_file_why(why, "envelope: %s at offset %zu", err, (size_t) (cp - data));
            goto bad;
        }
        bit = arc_file_singleton_bit(type);
        if (seen & bit) {
            arc_file_why(why, "envelope: duplicate %c record at offset %zu", type,
                         (size_t) (cp - data));
            goto bad;
        }
        seen |= bit;
        arc_file_envelope_add(env, type, cp + 2, (size_t) (nl - cp - 2));
    }
    need = arc_file_singleton_bit(ARC_REC_ID) | arc_file_singleton_bit(QUEUE_REC_ARRIVAL)
        | arc_file_singleton_bit(QUEUE_REC_SENDER) | arc_file_singleton_bit(ARC_REC_LENGTH);
    if ((seen & need) != need) {
        arc_file_why(why, "envelope: a required record is missing");
        goto bad;
    }
    if (env->rcpt_count == 0) {
        arc_file_why(why, "envelope: no recipient record");
        goto bad;
    }
    return 0;

bad:
    arc_envelope_free(env);
    return -1;
}

/* Writing ------------------------------------------------------------------ */

static int
arc_file_write_all(int fd, const void *data, size_t len)
{
    const char *cp = data;
    ssize_t n;

    while (len > 0) {
        if ((n = write(fd, cp, len)) < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        cp += n;
        len -= (size_t) n;
    }
    return 0;
}

int
arc_file_write(int out_fd, const VBUF *envelope, int in_fd, off_t offset, off_t length,
               int level, VBUF *head, size_t head_max, off_t *stored, VBUF *why)
{
    static ZSTD_CCtx *cctx;
    unsigned char hdr[8];
    size_t  out_size = ZSTD_CStreamOutSize(), left, want, rc;
    char   *in = mymalloc(ARC_FILE_CHUNK), *out = mymalloc(out_size);
    unsigned long n = (unsigned long) vbuf_len(envelope);
    off_t   done = 0, total = 0;
    ssize_t got;
    ZSTD_inBuffer ib;
    ZSTD_outBuffer ob;
    ZSTD_EndDirective mode;
    int     status = -1, i;

    if (vbuf_len(envelope) > ARC_FILE_ENV_MAX) {
        arc_file_why(why, "envelope of %zu bytes is too large", vbuf_len(envelope));
        goto out;
    }
    if (cctx == NULL && (cctx = ZSTD_createCCtx()) == NULL) {
        arc_file_why(why, "zstd: cannot make a compression context");
        goto out;
    }
    ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
    if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level))
        || ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1))
        || ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1))
        || ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(cctx, (unsigned long long) length))) {
        arc_file_why(why, "zstd: cannot set the parameters");
        goto out;
    }
    for (i = 0; i < 4; i++) {
        hdr[i] = (unsigned char) (ARC_FILE_MAGIC >> (8 * i));
        hdr[4 + i] = (unsigned char) (n >> (8 * i));
    }
    if (arc_file_write_all(out_fd, hdr, sizeof(hdr)) < 0
        || arc_file_write_all(out_fd, vbuf_str(envelope), vbuf_len(envelope)) < 0) {
        arc_file_why(why, "write: %s", strerror(errno));
        goto out;
    }
    total = (off_t) (sizeof(hdr) + vbuf_len(envelope));
    if (head)
        vbuf_reset(head);
    do {
        want = (size_t) (length - done < ARC_FILE_CHUNK ? length - done : ARC_FILE_CHUNK);
        got = 0;
        if (want > 0) {
            while ((got = pread(in_fd, in, want, offset + done)) < 0 && errno == EINTR)
                 /* void */ ;
            if (got <= 0) {
                arc_file_why(why, "read: %s", got < 0 ? strerror(errno) : "file shrank");
                goto out;
            }
        }
        if (head && vbuf_len(head) < head_max)
            vbuf_append(head, in, (size_t) got < head_max - vbuf_len(head)
                        ? (size_t) got : head_max - vbuf_len(head));
        done += got;
        mode = done == length ? ZSTD_e_end : ZSTD_e_continue;
        ib.src = in;
        ib.size = (size_t) got;
        ib.pos = 0;
        do {
            ob.dst = out;
            ob.size = out_size;
            ob.pos = 0;
            rc = ZSTD_compressStream2(cctx, &ob, &ib, mode);
            if (ZSTD_isError(rc)) {
                arc_file_why(why, "zstd: %s", ZSTD_getErrorName(rc));
                goto out;
            }
            if (arc_file_write_all(out_fd, out, ob.pos) < 0) {
                arc_file_why(why, "write: %s", strerror(errno));
                goto out;
            }
            total += (off_t) ob.pos;
            left = rc;
        } while (mode == ZSTD_e_end ? left != 0 : ib.pos < ib.size);
    } while (done < length);
    *stored = total;
    status = 0;

out:
    myfree(in);
    myfree(out);
    return status;
}

/* Reading ------------------------------------------------------------------ */

int
arc_file_parse(const char *data, size_t len, ARC_ENVELOPE *env, VBUF *message, VBUF *why)
{
    static ZSTD_DCtx *dctx;
    static char scratch[65536];
    unsigned long n = 0, magic = 0;
    unsigned long long produced = 0;
    size_t  rc = 1, room;
    ZSTD_inBuffer ib;
    ZSTD_outBuffer ob;
    int     i;

    memset(env, 0, sizeof(*env));
    env->size = -1;
    if (len < 8) {
        arc_file_why(why, "truncated file");
        return -1;
    }
    for (i = 3; i >= 0; i--) {
        magic = (magic << 8) | (unsigned char) data[i];
        n = (n << 8) | (unsigned char) data[4 + i];
    }
    if (magic != ARC_FILE_MAGIC) {
        arc_file_why(why, "bad magic (not an archive file)");
        return -1;
    }
    if (n > ARC_FILE_ENV_MAX || n > len - 8) {
        arc_file_why(why, "truncated envelope");
        return -1;
    }
    if (arc_file_envelope_parse(data + 8, n, env, why) < 0)
        return -1;
    if (dctx == NULL && (dctx = ZSTD_createDCtx()) == NULL) {
        arc_file_why(why, "zstd: cannot make a decompression context");
        goto bad;
    }
    ZSTD_DCtx_reset(dctx, ZSTD_reset_session_and_parameters);
    ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, ARC_FILE_WINDOW_LOG_MAX);
    ib.src = data + 8 + n;
    ib.size = len - 8 - n;
    ib.pos = 0;
    if (ib.size == 0) {
        arc_file_why(why, "no message frame");
        goto bad;
    }
    if (message)
        vbuf_reset(message);
    for (;;) {
        if (message) {
            vbuf_reserve(message, 65536);
            ob.dst = vbuf_str(message) + vbuf_len(message);
            room = message->cap - vbuf_len(message) - 1;
        } else {
            ob.dst = scratch;
            room = sizeof(scratch);
        }
        ob.size = room;
        ob.pos = 0;
        rc = ZSTD_decompressStream(dctx, &ob, &ib);
        if (ZSTD_isError(rc)) {
            arc_file_why(why, "message frame: %s", ZSTD_getErrorName(rc));
            goto bad;
        }
        produced += ob.pos;
        if (produced > (unsigned long long) env->length) {
            arc_file_why(why, "message longer than its envelope says (%lld)", env->length);
            goto bad;
        }
        if (message) {
            message->len += ob.pos;
            message->data[message->len] = 0;
        }
        /* Done once all input is taken and the decoder had room to give
         * all it holds. */
        if (ib.pos == ib.size && ob.pos < ob.size)
            break;
    }
    if (rc != 0) {
        arc_file_why(why, "truncated message frame");
        goto bad;
    }
    if (produced != (unsigned long long) env->length) {
        arc_file_why(why, "message of %llu bytes, envelope says %lld", produced, env->length);
        goto bad;
    }
    return 0;

bad:
    arc_envelope_free(env);
    return -1;
}

int
arc_file_read(const char *path, ARC_ENVELOPE *env, VBUF *message, off_t *stored, VBUF *why)
{
    struct stat st;
    VBUF   *data;
    ssize_t n = 0;
    size_t  got = 0;
    int     fd, status, saved;

    memset(env, 0, sizeof(*env));
    env->size = -1;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
        saved = errno;
        arc_file_why(why, "open %s: %s", path, strerror(errno));
        errno = saved;
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        saved = errno ? errno : EBADMSG;
        arc_file_why(why, "%s: not a regular file", path);
        close(fd);
        errno = saved;
        return -1;
    }
    data = vbuf_create((size_t) st.st_size + 1);
    while (got < (size_t) st.st_size) {
        n = read(fd, vbuf_str(data) + got, (size_t) st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t) n;
    }
    saved = errno;
    close(fd);
    if (got < (size_t) st.st_size && n < 0) {
        arc_file_why(why, "read %s: %s", path, strerror(saved));
        vbuf_free(data);
        errno = saved;
        return -1;
    }
    data->len = got;
    status = arc_file_parse(vbuf_str(data), got, env, message, why);
    vbuf_free(data);
    if (stored)
        *stored = (off_t) got;
    if (status < 0)
        errno = EBADMSG;
    return status;
}
