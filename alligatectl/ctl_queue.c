/* alligatectl queue: list, show, delete, hold and release read and move
 * the queue files themselves (alligatectl runs as root or as the queue's
 * owner); flush asks relay, over its control socket, to try everything
 * now.
 *
 * delete, hold and release take the lock relay holds on a queue file for
 * the whole of a delivery attempt (flock, relay/relay_deliver.c), and act
 * only while they hold it, on the file where it is then.  A message that
 * relay is delivering is waited for: once the attempt ends it is either
 * gone (delivered, or bounced: nothing left to hold or delete) or where
 * relay put it (deferred/), and is moved from there.  Without the lock, a
 * message put on hold during its delivery would be delivered and still
 * sit in hold/, to be delivered again on release. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "ctl.h"
#include "msg.h"
#include "mymalloc.h"
#include "printable.h"
#include "queue_dir.h"
#include "queue_id.h"
#include "queue_mark.h"
#include "queue_read.h"
#include "queue_status.h"
#include "relay_clnt.h"
#include "vbuf.h"

/* The directories a message can be in, in the order they are looked at. */
static const char *ctl_queue_subs[] = {
    QUEUE_DIR_INCOMING, QUEUE_DIR_DEFERRED, QUEUE_DIR_HOLD, QUEUE_DIR_CORRUPT, NULL,
};

typedef struct CTL_QENTRY {
    char    id[QUEUE_ID_LEN + 1];
    const char *sub;
} CTL_QENTRY;

static int
ctl_queue_entry_cmp(const void *a, const void *b)
{
    return strcmp(((const CTL_QENTRY *) a)->id, ((const CTL_QENTRY *) b)->id);
}

/* Every queue file in the given directories, oldest first. */
static CTL_QENTRY *
ctl_queue_collect(const char **subs, size_t *count)
{
    CTL_QENTRY *list = NULL;
    size_t n = 0, cap = 0;
    VBUF *path = vbuf_create(100);
    struct dirent *dp;
    const char **sub;
    DIR *dir;

    for (sub = subs; *sub; sub++) {
        if ((dir = opendir(queue_dir_path(path, conf_str(P_queue_directory), *sub,
                                          NULL))) == NULL) {
            if (errno != ENOENT)
                fprintf(stderr, "alligatectl: %s: %s\n", vbuf_str(path), strerror(errno));
            continue;
        }
        while ((dp = readdir(dir)) != NULL) {
            if (!queue_id_valid(dp->d_name))
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                list = myrealloc(list, cap * sizeof(*list));
            }
            memcpy(list[n].id, dp->d_name, QUEUE_ID_LEN + 1);
            list[n++].sub = *sub;
        }
        closedir(dir);
    }
    vbuf_free(path);
    if (n > 0)
        qsort(list, n, sizeof(*list), ctl_queue_entry_cmp);
    *count = n;
    return list;
}

/* Where a message is: its directory, or NULL. */
static const char *
ctl_queue_find(const char *id)
{
    VBUF *path = vbuf_create(100);
    struct stat st;
    const char **sub;

    for (sub = ctl_queue_subs; *sub; sub++)
        if (lstat(queue_dir_path(path, conf_str(P_queue_directory), *sub, id), &st) == 0)
            break;
    vbuf_free(path);
    return *sub;
}

/* One message, read for list and show. */
typedef struct CTL_QMSG {
    const char *sub;
    const char *status;         /* queued active deferred hold corrupt */
    int     read_status;        /* QUEUE_READ_* */
    QUEUE_ENVELOPE env;
    VBUF   *why;                /* when the file cannot be read */
    off_t   file_size;
    time_t  mtime;
    QUEUE_STATUS qs;
    int     has_qs;
    int     fd;
} CTL_QMSG;

static void
ctl_qmsg_open(CTL_QMSG *m, const char *sub, const char *id)
{
    VBUF *path = vbuf_create(100);
    struct stat st;

    memset(m, 0, sizeof(*m));
    m->fd = -1;
    m->sub = sub;
    m->why = vbuf_create(100);
    m->status = strcmp(sub, QUEUE_DIR_INCOMING) == 0 ? "queued" : sub;
    m->read_status = QUEUE_READ_ERROR;
    m->env.size = -1;
    m->has_qs = queue_status_read(conf_str(P_queue_directory), id, &m->qs) == 0;
    m->fd = open(queue_dir_path(path, conf_str(P_queue_directory), sub, id),
                 O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (m->fd < 0)
        vbuf_printf(m->why, "%s", strerror(errno));
    vbuf_free(path);
    if (m->fd < 0)
        return;
    if (fstat(m->fd, &st) == 0) {
        m->file_size = st.st_size;
        m->mtime = st.st_mtime;
    }
    /* relay holds the lock while it delivers. */
    if (strcmp(sub, QUEUE_DIR_CORRUPT) != 0 && flock(m->fd, LOCK_SH | LOCK_NB) < 0
        && errno == EWOULDBLOCK)
        m->status = "active";
    else
        (void) flock(m->fd, LOCK_UN);
    m->read_status = queue_read_fd(m->fd, &m->env, m->why);
    if (m->read_status == QUEUE_READ_CORRUPT)
        m->status = "corrupt";
}

static void
ctl_qmsg_close(CTL_QMSG *m)
{
    if (m->fd >= 0)
        close(m->fd);
    queue_read_free(&m->env);
    vbuf_free(m->why);
}

static const char *
ctl_rcpt_status(int status)
{
    return status == QUEUE_RCPT_DELIVERED ? "delivered"
        : status == QUEUE_RCPT_BOUNCED ? "bounced" : "pending";
}

static void
ctl_time(char *buf, size_t size, time_t when, const char *fmt)
{
    struct tm tm;

    localtime_r(&when, &tm);
    strftime(buf, size, fmt, &tm);
}

/* JSON ---------------------------------------------------------------- */

void
ctl_json_str(const char *s)
{
    const unsigned char *cp = (const unsigned char *) (s ? s : "");
    int n, i;

    if (s == NULL) {
        fputs("null", stdout);
        return;
    }
    putchar('"');
    while (*cp) {
        if (*cp == '"' || *cp == '\\') {
            printf("\\%c", *cp++);
        } else if (*cp < 0x20 || *cp == 0x7f) {
            printf("\\u%04x", *cp++);
        } else if (*cp < 0x80) {
            putchar(*cp++);
        } else {
            n = (*cp & 0xe0) == 0xc0 ? 1 : (*cp & 0xf0) == 0xe0 ? 2
                : (*cp & 0xf8) == 0xf0 ? 3 : -1;
            for (i = 1; n > 0 && i <= n; i++)
                if ((cp[i] & 0xc0) != 0x80)
                    n = -1;
            if (n < 0) {
                fputs("\\ufffd", stdout);
                cp++;
            } else {
                fwrite(cp, 1, (size_t) n + 1, stdout);
                cp += n + 1;
            }
        }
    }
    putchar('"');
}

static void
ctl_queue_json(const CTL_QENTRY *e, CTL_QMSG *m, int first)
{
    size_t i;

    printf("%s\n  {\"id\": \"%s\", \"queue\": \"%s\", \"status\": \"%s\"",
           first ? "" : ",", e->id, e->sub, m->status);
    if (m->read_status != QUEUE_READ_OK) {
        printf(", \"size\": %lld, \"error\": ", (long long) m->file_size);
        ctl_json_str(vbuf_str(m->why));
        putchar('}');
        return;
    }
    printf(", \"size\": %lld, \"arrival\": %lld, \"sender\": ",
           (long long) m->env.message_length, (long long) m->env.arrival);
    ctl_json_str(m->env.sender);
    fputs(", \"recipients\": [", stdout);
    for (i = 0; i < m->env.rcpt_count; i++) {
        fputs(i ? ", {\"address\": " : "{\"address\": ", stdout);
        ctl_json_str(m->env.rcpt[i].address);
        printf(", \"status\": \"%s\"}", ctl_rcpt_status(m->env.rcpt[i].status));
    }
    fputs("]", stdout);
    if (m->has_qs) {
        printf(", \"attempts\": %ld, \"last_error\": ", m->qs.attempts);
        ctl_json_str(m->qs.reason);
    } else {
        fputs(", \"attempts\": 0, \"last_error\": null", stdout);
    }
    if (strcmp(e->sub, QUEUE_DIR_DEFERRED) == 0)
        printf(", \"next_try\": %lld", (long long) m->mtime);
    putchar('}');
}

/* queue list ------------------------------------------------------------ */

static void
ctl_queue_text(const CTL_QENTRY *e, CTL_QMSG *m)
{
    char when[64];
    size_t i;

    if (m->read_status != QUEUE_READ_OK) {
        printf("%s %9lld %-24s %-9s (%s)\n", e->id, (long long) m->file_size, "-",
               m->status, printable_str(vbuf_str(m->why)));
        return;
    }
    ctl_time(when, sizeof(when), m->env.arrival, "%a %b %e %H:%M:%S %Y");
    printf("%s %9lld %-24s %-9s <%s>\n", e->id, (long long) m->env.message_length,
           when, m->status, printable_str(m->env.sender));
    if (m->has_qs && m->qs.reason[0]) {
        printf("    last error: %s\n", m->qs.reason);
        ctl_time(when, sizeof(when), m->mtime, "%a %b %e %H:%M:%S %Y");
        if (strcmp(e->sub, QUEUE_DIR_DEFERRED) == 0)
            printf("    attempts: %ld, next try: %s\n", m->qs.attempts, when);
    }
    for (i = 0; i < m->env.rcpt_count; i++) {
        printf("    to: <%s>", printable_str(m->env.rcpt[i].address));
        if (m->env.rcpt[i].status != QUEUE_RCPT_PENDING)
            printf(" (%s)", ctl_rcpt_status(m->env.rcpt[i].status));
        putchar('\n');
    }
}

static int
ctl_queue_list(int argc, char **argv)
{
    CTL_QENTRY *list;
    CTL_QMSG m;
    size_t n, i;
    long long bytes = 0;
    int json = 0;

    if (argc == 2 && strcmp(argv[1], "--json") == 0)
        json = 1;
    else if (argc != 1)
        ctl_usage();
    list = ctl_queue_collect(ctl_queue_subs, &n);
    if (json)
        putchar('[');
    else if (n > 0)
        printf("%-19s %9s %-24s %-9s %s\n", "Queue ID", "Size", "Arrival", "Status",
               "Sender / recipients");
    for (i = 0; i < n; i++) {
        ctl_qmsg_open(&m, list[i].sub, list[i].id);
        if (m.fd < 0 && m.read_status == QUEUE_READ_ERROR && !json) {
            ctl_qmsg_close(&m);
            continue;                   /* gone meanwhile */
        }
        if (json)
            ctl_queue_json(list + i, &m, i == 0);
        else
            ctl_queue_text(list + i, &m);
        bytes += m.read_status == QUEUE_READ_OK ? m.env.message_length : m.file_size;
        ctl_qmsg_close(&m);
    }
    if (json)
        printf("%s]\n", n ? "\n" : "");
    else if (n == 0)
        printf("Mail queue is empty\n");
    else
        printf("-- %zu message%s, %lld bytes\n", n, n == 1 ? "" : "s", bytes);
    myfree(list);
    return 0;
}

/* queue show ------------------------------------------------------------ */

static int
ctl_queue_copy(int fd, off_t offset, off_t length)
{
    char buf[65536];
    ssize_t n;

    while (length > 0) {
        n = pread(fd, buf, length < (off_t) sizeof(buf) ? (size_t) length : sizeof(buf),
                  offset);
        if (n <= 0)
            return -1;
        fwrite(buf, 1, (size_t) n, stdout);
        offset += n;
        length -= n;
    }
    return 0;
}

/* The raw bytes of a file the reader refused, to see what is wrong with
 * it; but in its envelope (up to a line that starts with "M "), the value
 * of a sealed credentials record is not shown, whatever else is wrong. */
static void
ctl_queue_dump(int fd, off_t size)
{
    static const char hidden[] = "K (sealed credentials: not shown)";
    char    buf[65536];
    off_t   off = 0;
    ssize_t n, i;
    int     bol = 1, envelope = 1, k_seen = 0, hiding = 0;

    while (off < size && (n = pread(fd, buf, sizeof(buf), off)) > 0) {
        for (i = 0; i < n; i++) {
            char    c = buf[i];

            if (k_seen) {
                k_seen = 0;
                if (c == ' ') {
                    fputs(hidden, stdout);
                    hiding = 1;
                    continue;
                }
                putchar('K');
            }
            if (hiding && c != '\n')
                continue;
            hiding = 0;
            if (bol && envelope && c == 'K') {
                k_seen = 1;
                bol = 0;
                continue;
            }
            if (bol && c == 'M' && i + 1 < n && buf[i + 1] == ' ')
                envelope = 0;
            bol = c == '\n';
            putchar(c);
        }
        off += n;
    }
    if (k_seen)
        putchar('K');
}

static int
ctl_queue_show(int argc, char **argv)
{
    const char *id, *sub;
    char when[64];
    CTL_QMSG m;
    size_t i;

    if (argc != 2)
        ctl_usage();
    id = argv[1];
    if (!queue_id_valid(id)) {
        fprintf(stderr, "alligatectl: bad queue id \"%s\"\n", printable_str(id));
        return 1;
    }
    if ((sub = ctl_queue_find(id)) == NULL) {
        fprintf(stderr, "alligatectl: %s: no such message\n", id);
        return 1;
    }
    ctl_qmsg_open(&m, sub, id);
    printf("queue_id: %s\nqueue: %s\nstatus: %s\n", id, sub, m.status);
    if (m.read_status != QUEUE_READ_OK) {
        printf("error: %s\n", printable_str(vbuf_str(m.why)));
        if (m.fd >= 0) {
            printf("\n");
            ctl_queue_dump(m.fd, m.file_size);
        }
        ctl_qmsg_close(&m);
        return m.fd >= 0 ? 0 : 1;
    }
    ctl_time(when, sizeof(when), m.env.arrival, "%a, %d %b %Y %H:%M:%S %z");
    printf("arrival: %s\n", when);
    if (m.env.client_addr)
        printf("client: %s[%s]\n", m.env.client_name ? m.env.client_name : "unknown",
               m.env.client_addr);
    if (m.env.helo)
        printf("helo: %s\n", printable_str(m.env.helo));
    if (m.env.protocol)
        printf("protocol: %s\n", m.env.protocol);
    if (m.env.sasl_user)
        printf("sasl_user: %s\n", printable_str(m.env.sasl_user));
    /* Never the sealed value itself. */
    if (m.env.auth_sealed)
        printf("auth: replay (sealed)\n");
    else if (m.env.auth_wiped)
        printf("auth: replay (wiped)\n");
    printf("sender: <%s>\n", printable_str(m.env.sender));
    if (m.env.body_type)
        printf("body: %s\n", m.env.body_type);
    for (i = 0; i < m.env.rcpt_count; i++)
        printf("recipient: <%s> %s\n", printable_str(m.env.rcpt[i].address),
               ctl_rcpt_status(m.env.rcpt[i].status));
    for (i = 0; i < m.env.attr_count; i++)
        printf("attribute: %s=%s\n", m.env.attr[i].name,
               printable_str(m.env.attr[i].value));
    printf("size: %lld\n", (long long) m.env.message_length);
    if (m.has_qs) {
        printf("attempts: %ld\n", m.qs.attempts);
        printf("last_error: %s\n", m.qs.reason);
    }
    if (strcmp(sub, QUEUE_DIR_DEFERRED) == 0) {
        ctl_time(when, sizeof(when), m.mtime, "%a, %d %b %Y %H:%M:%S %z");
        printf("next_try: %s\n", when);
    }
    printf("\n");
    fflush(stdout);
    ctl_queue_copy(m.fd, m.env.message_offset, m.env.message_length);
    fflush(stdout);
    ctl_qmsg_close(&m);
    return 0;
}

/* queue delete, hold, release ------------------------------------------- */

#define CTL_OP_DELETE   1
#define CTL_OP_HOLD     2
#define CTL_OP_RELEASE  3

/* How long to wait for relay to end an attempt (relay_reply_timeout
 * bounds each of its steps), and how often to try the lock meanwhile. */
#define CTL_QUEUE_LOCK_WAIT_MS  (10 * 60 * 1000)
#define CTL_QUEUE_LOCK_TICK_MS  20

/* What ctl_queue_lock() found. */
#define CTL_LOCK_OK     0
#define CTL_LOCK_GONE   1               /* delivered or removed meanwhile */
#define CTL_LOCK_ERROR  2               /* said on stderr */

/* Opens message id, looked for from sub on, and takes relay's lock on
 * it; when relay is delivering it, waits (saying so once) until the
 * attempt ends, then looks again where the file is.  Returns
 * CTL_LOCK_OK with the locked descriptor in *fdp and its directory in
 * *subp, the file then being where subp says for as long as the lock is
 * held. */
static int
ctl_queue_lock(const char *id, const char **subp, int *fdp)
{
    struct timespec tick = {0, CTL_QUEUE_LOCK_TICK_MS * 1000000L};
    VBUF   *path = vbuf_create(100);
    struct stat fst, pst;
    const char *sub = *subp;
    long    waited = 0;
    int     said = 0;
    int     fd;

    for (;;) {
        if (sub == NULL && (sub = ctl_queue_find(id)) == NULL)
            break;
        queue_dir_path(path, conf_str(P_queue_directory), sub, id);
        if ((fd = open(vbuf_str(path), O_RDWR | O_CLOEXEC | O_NOFOLLOW)) < 0) {
            if (errno != ENOENT) {
                fprintf(stderr, "alligatectl: open %s: %s\n", vbuf_str(path),
                        strerror(errno));
                vbuf_free(path);
                return CTL_LOCK_ERROR;
            }
            sub = NULL;                 /* moved meanwhile: look again */
            continue;
        }
        while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            if (errno != EWOULDBLOCK && errno != EINTR) {
                fprintf(stderr, "alligatectl: lock %s: %s\n", vbuf_str(path),
                        strerror(errno));
                close(fd);
                vbuf_free(path);
                return CTL_LOCK_ERROR;
            }
            if (!said++)
                fprintf(stderr, "alligatectl: %s: being delivered; waiting for the "
                        "attempt to end\n", id);
            if (waited >= CTL_QUEUE_LOCK_WAIT_MS) {
                fprintf(stderr, "alligatectl: %s: still being delivered after %ds; "
                        "try again later\n", id, CTL_QUEUE_LOCK_WAIT_MS / 1000);
                close(fd);
                vbuf_free(path);
                return CTL_LOCK_ERROR;
            }
            nanosleep(&tick, NULL);
            waited += CTL_QUEUE_LOCK_TICK_MS;
        }
        /* Still the file at that name, as relay left it? */
        if (fstat(fd, &fst) == 0 && fst.st_nlink > 0 && stat(vbuf_str(path), &pst) == 0
            && fst.st_ino == pst.st_ino && fst.st_dev == pst.st_dev) {
            *subp = sub;
            *fdp = fd;
            vbuf_free(path);
            return CTL_LOCK_OK;
        }
        close(fd);
        sub = NULL;
    }
    vbuf_free(path);
    return CTL_LOCK_GONE;
}

/* Before a message is deleted: its sealed credentials are wiped in place,
 * as relay does, so that the blocks the file leaves do not hold them. */
static void
ctl_queue_wipe(int fd, const char *path)
{
    QUEUE_ENVELOPE env;

    if (queue_read_fd(fd, &env, NULL) == QUEUE_READ_OK && env.auth_sealed != NULL
        && queue_mark_wipe(fd, env.auth_offset) < 0)
        fprintf(stderr, "alligatectl: cannot wipe the sealed credentials in %s: %s\n",
                path, strerror(errno));
    queue_read_free(&env);
}

/* Before a file of corrupt/ is deleted: the reader refuses it, so where
 * a sealed credentials record might be is not known; every byte is
 * overwritten with zeros and synced instead.  -1 with errno. */
static int
ctl_queue_zero(int fd)
{
    static const char zeros[65536];
    struct stat st;
    off_t   off = 0;
    ssize_t n;
    size_t  want;

    if (fstat(fd, &st) < 0)
        return -1;
    while (off < st.st_size) {
        want = st.st_size - off < (off_t) sizeof(zeros) ? (size_t) (st.st_size - off)
            : sizeof(zeros);
        if ((n = pwrite(fd, zeros, want, off)) < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        off += n;
    }
    return fsync(fd);
}

/* Applies op to one message, looked for in *subp first, under relay's
 * lock: 1 when done, 0 when not (*subp: where it is, NULL when it went
 * meanwhile), -1 on an error said on stderr. */
static int
ctl_queue_op_one(int op, const char *id, const char **subp)
{
    const char *queue_dir = conf_str(P_queue_directory);
    VBUF *from, *to;
    const char *sub;
    int done = 0;
    int fd;

    switch (ctl_queue_lock(id, subp, &fd)) {
    case CTL_LOCK_GONE:
        *subp = NULL;
        return 0;
    case CTL_LOCK_ERROR:
        return -1;
    }
    sub = *subp;
    from = vbuf_create(100);
    to = vbuf_create(100);
    queue_dir_path(from, queue_dir, sub, id);
    switch (op) {
    case CTL_OP_DELETE:
        if (strcmp(sub, QUEUE_DIR_CORRUPT) != 0)
            ctl_queue_wipe(fd, vbuf_str(from));
        else if (ctl_queue_zero(fd) < 0)
            fprintf(stderr, "alligatectl: cannot overwrite %s before removing it: %s\n",
                    vbuf_str(from), strerror(errno));
        if (unlink(vbuf_str(from)) == 0) {
            queue_status_remove(queue_dir, id);
            done = 1;
        } else if (errno != ENOENT) {
            fprintf(stderr, "alligatectl: remove %s: %s\n", vbuf_str(from), strerror(errno));
        }
        break;
    case CTL_OP_HOLD:
        if (strcmp(sub, QUEUE_DIR_INCOMING) == 0 || strcmp(sub, QUEUE_DIR_DEFERRED) == 0)
            queue_dir_path(to, queue_dir, QUEUE_DIR_HOLD, id);
        break;
    default:
        /* Into incoming/: relay sees it at once, and tries it now. */
        if (strcmp(sub, QUEUE_DIR_HOLD) == 0)
            queue_dir_path(to, queue_dir, QUEUE_DIR_INCOMING, id);
        break;
    }
    if (vbuf_len(to) > 0) {
        if (rename(vbuf_str(from), vbuf_str(to)) == 0)
            done = 1;
        else if (errno != ENOENT)
            fprintf(stderr, "alligatectl: rename %s to %s: %s\n", vbuf_str(from),
                    vbuf_str(to), strerror(errno));
    }
    /* Closing releases the lock: relay may have the file now. */
    close(fd);
    vbuf_free(from);
    vbuf_free(to);
    return done;
}

static int
ctl_queue_op(int op, int argc, char **argv)
{
    static const char *verbs[] = {"", "deleted", "put on hold", "released"};
    const char *sub;
    CTL_QENTRY *list;
    size_t n, i;
    int done = 0, rc = 0, a;

    if (argc < 2)
        ctl_usage();
    if (argc == 2 && strcmp(argv[1], "all") == 0) {
        list = ctl_queue_collect(ctl_queue_subs, &n);
        for (i = 0; i < n; i++) {
            sub = list[i].sub;
            switch (ctl_queue_op_one(op, list[i].id, &sub)) {
            case 1:
                done++;
                break;
            case -1:
                rc = 1;
                break;
            }
        }
        myfree(list);
    } else {
        for (a = 1; a < argc; a++) {
            if (!queue_id_valid(argv[a])) {
                fprintf(stderr, "alligatectl: bad queue id \"%s\"\n",
                        printable_str(argv[a]));
                rc = 1;
                continue;
            }
            if ((sub = ctl_queue_find(argv[a])) == NULL) {
                fprintf(stderr, "alligatectl: %s: no such message\n", argv[a]);
                rc = 1;
                continue;
            }
            switch (ctl_queue_op_one(op, argv[a], &sub)) {
            case 1:
                done++;
                break;
            case 0:
                if (sub == NULL)
                    fprintf(stderr, "alligatectl: %s: not %s: it is gone (delivered "
                            "or removed meanwhile)\n", argv[a], verbs[op]);
                else
                    fprintf(stderr, "alligatectl: %s: not %s (it is in %s/)\n", argv[a],
                            verbs[op], sub);
                rc = 1;
                break;
            default:
                rc = 1;
                break;
            }
        }
    }
    printf("alligatectl: %s %d message%s\n", verbs[op], done, done == 1 ? "" : "s");
    return rc;
}

/* queue flush ------------------------------------------------------------ */

static int
ctl_queue_flush(int argc, char **argv)
{
    RELAY_CLNT *clnt;
    int rc = 0;

    (void) argv;
    if (argc != 1)
        ctl_usage();
    clnt = relay_clnt_create(relay_clnt_default_path(), RELAY_CLNT_TIMEOUT_MS);
    if (relay_clnt_flush(clnt) != RELAY_CLNT_OK) {
        fprintf(stderr, "alligatectl: cannot ask relay to flush the queue: %s "
                "(is alligate running?)\n", relay_clnt_error(clnt));
        rc = 1;
    }
    relay_clnt_free(clnt);
    return rc;
}

/* The verb -------------------------------------------------------------- */

int
ctl_queue(int argc, char **argv)
{
    const char *verb;

    if (argc < 2)
        ctl_usage();
    verb = argv[1];
    ctl_load_config();
    argc--;
    argv++;
    if (strcmp(verb, "list") == 0)
        return ctl_queue_list(argc, argv);
    if (strcmp(verb, "show") == 0)
        return ctl_queue_show(argc, argv);
    if (strcmp(verb, "flush") == 0)
        return ctl_queue_flush(argc, argv);
    if (strcmp(verb, "delete") == 0)
        return ctl_queue_op(CTL_OP_DELETE, argc, argv);
    if (strcmp(verb, "hold") == 0)
        return ctl_queue_op(CTL_OP_HOLD, argc, argv);
    if (strcmp(verb, "release") == 0)
        return ctl_queue_op(CTL_OP_RELEASE, argc, argv);
    fprintf(stderr, "alligatectl: unknown queue command \"%s\"\n", printable_str(verb));
    ctl_usage();
}

void
ctl_queue_status(void)
{
    static const char *names[] = {"incoming", "deferred", "on hold", "corrupt"};
    const char *one[2] = {NULL, NULL};
    size_t counts[4], total = 0, i;
    CTL_QENTRY *list;

    for (i = 0; i < 4; i++) {
        one[0] = ctl_queue_subs[i];
        list = ctl_queue_collect(one, &counts[i]);
        myfree(list);
        total += counts[i];
    }
    printf("%-12s %zu message%s (%zu %s, %zu %s, %zu %s, %zu %s)\n", "queue", total,
           total == 1 ? "" : "s", counts[0], names[0], counts[1], names[1],
           counts[2], names[2], counts[3], names[3]);
}
