/* Delivery into a Maildir (local_maildir) when there is no relay_host:
 * the embedded default, so that a gateway with nothing else installed
 * still delivers somewhere a person can look.
 *
 * The Maildir way: the message is written under a unique name in tmp/,
 * fsynced, and renamed into new/, which is then fsynced; a reader never
 * sees a partial message, and a crash leaves at most a file in tmp/,
 * removed after 36 hours. One copy per message, whatever the number of
 * recipients, with Return-Path and one Delivered-To per recipient on top,
 * and LF line ends as mail readers expect in a Maildir. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "msg.h"
#include "mymalloc.h"
#include "path.h"
#include "relay.h"

#define RELAY_MAILDIR_CHUNK     65536
#define RELAY_MAILDIR_TMP_AGE   (36 * 3600)

/* mkdir -p for the Maildir and its three subdirectories. */
static int
relay_maildir_create(const char *maildir, VBUF *why)
{
    static const char *subs[] = {"tmp", "new", "cur", NULL};
    char *path = NULL;
    char *cp;
    const char **sub;
    struct stat st;

    if (stat(maildir, &st) < 0) {
        path = mystrdup(maildir);
        for (cp = path + 1; (cp = strchr(cp, '/')) != NULL; cp++) {
            *cp = 0;
            if (mkdir(path, 0700) < 0 && errno != EEXIST)
                goto fail;
            *cp = '/';
        }
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
            goto fail;
        path = myfree(path);
    }
    for (sub = subs; *sub; sub++) {
        path = path_join(maildir, *sub);
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
            goto fail;
        path = myfree(path);
    }
    return 0;
  fail:
    vbuf_printf(why, "create %s: %s", path, strerror(errno));
    myfree(path);
    return -1;
}

/* A name no other delivery uses: time, microseconds, pid, a counter and
 * the host name with '/' and ':' encoded (the Maildir convention). */
static void
relay_maildir_name(VBUF *name)
{
    static unsigned counter;
    struct timeval tv;
    char host[256];
    const char *cp;

    gettimeofday(&tv, NULL);
    if (gethostname(host, sizeof(host)) < 0)
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = 0;
    vbuf_printf(name, "%lld.M%06ldP%ldQ%u.", (long long) tv.tv_sec, (long) tv.tv_usec,
                (long) getpid(), ++counter);
    for (cp = host; *cp; cp++) {
        if (*cp == '/')
            vbuf_append_str(name, "\\057");
        else if (*cp == ':')
            vbuf_append_str(name, "\\072");
        else
            vbuf_append_char(name, *cp);
    }
}

static int
relay_maildir_write(int fd, const char *data, size_t len)
{
    ssize_t n;

    while (len > 0) {
        if ((n = write(fd, data, len)) < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += n;
        len -= (size_t) n;
    }
    return 0;
}

/* Writes the envelope headers and the message with LF line ends. */
static int
relay_maildir_copy(int out, const QUEUE_ENVELOPE *env, int fd,
                   const RELAY_RCPT *rcpt, size_t rcpt_count, VBUF *why)
{
    VBUF *buf = vbuf_create(RELAY_MAILDIR_CHUNK + 1024);
    char *chunk = mymalloc(RELAY_MAILDIR_CHUNK);
    off_t off = 0;
    ssize_t n, i;
    int cr = 0, rc = -1;
    size_t r;

    vbuf_printf(buf, "Return-Path: <%s>\n", env->sender);
    for (r = 0; r < rcpt_count; r++)
        vbuf_printf(buf, "Delivered-To: %s\n", rcpt[r].address);
    while (off < env->message_length) {
        size_t want = (size_t) (env->message_length - off);

        if (want > RELAY_MAILDIR_CHUNK)
            want = RELAY_MAILDIR_CHUNK;
        if ((n = pread(fd, chunk, want, env->message_offset + off)) < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            vbuf_printf(why, "read queue file: %s", n < 0 ? strerror(errno) : "unexpected end");
            goto out;
        }
        off += n;
        for (i = 0; i < n; i++) {
            /* CR LF becomes LF; a lone CR stays. */
            if (cr && chunk[i] != '\n')
                vbuf_append_char(buf, '\r');
            cr = chunk[i] == '\r';
            if (!cr)
                vbuf_append_char(buf, chunk[i]);
        }
        if (relay_maildir_write(out, vbuf_str(buf), vbuf_len(buf)) < 0) {
            vbuf_printf(why, "write: %s", strerror(errno));
            goto out;
        }
        vbuf_reset(buf);
    }
    if (cr)
        vbuf_append_char(buf, '\r');
    if (relay_maildir_write(out, vbuf_str(buf), vbuf_len(buf)) < 0) {
        vbuf_printf(why, "write: %s", strerror(errno));
        goto out;
    }
    rc = 0;
  out:
    vbuf_free(buf);
    myfree(chunk);
    return rc;
}

static int
relay_maildir_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc;

    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

int
relay_maildir_deliver(const char *maildir, const QUEUE_ENVELOPE *env, int fd,
                      const RELAY_RCPT *rcpt, size_t rcpt_count, VBUF *where,
                      VBUF *why)
{
    VBUF *name = vbuf_create(100);
    VBUF *tmp = vbuf_create(100);
    char *new = NULL, *newdir = NULL;
    int out = -1, rc = -1;

    vbuf_reset(why);
    if (relay_maildir_create(maildir, why) < 0)
        goto out;
    relay_maildir_name(name);
    vbuf_printf(tmp, "%s/tmp/%s", maildir, vbuf_str(name));
    newdir = path_join(maildir, "new");
    if ((out = open(vbuf_str(tmp), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
        vbuf_printf(why, "create %s: %s", vbuf_str(tmp), strerror(errno));
        goto out;
    }
    if (relay_maildir_copy(out, env, fd, rcpt, rcpt_count, why) < 0)
        goto fail;
    if (fsync(out) < 0) {
        vbuf_printf(why, "fsync %s: %s", vbuf_str(tmp), strerror(errno));
        goto fail;
    }
    /* The size in the name (",S=") would need it known before writing;
     * readers do without. */
    new = path_join(newdir, vbuf_str(name));
    if (rename(vbuf_str(tmp), new) < 0) {
        vbuf_printf(why, "rename %s to %s: %s", vbuf_str(tmp), new, strerror(errno));
        goto fail;
    }
    if (relay_maildir_fsync_dir(newdir) < 0) {
        /* Not durable: take it back, the message stays queued. */
        vbuf_printf(why, "fsync %s: %s", newdir, strerror(errno));
        (void) unlink(new);
        goto out;
    }
    vbuf_set(where, new);
    rc = 0;
    goto out;
  fail:
    (void) unlink(vbuf_str(tmp));
  out:
    if (out >= 0)
        close(out);
    vbuf_free(name);
    vbuf_free(tmp);
    myfree(new);
    myfree(newdir);
    return rc;
}

void
relay_maildir_cleanup(const char *maildir)
{
    char *tmpdir = path_join(maildir, "tmp");
    char *path;
    struct dirent *dp;
    struct stat st;
    time_t cutoff = time(NULL) - RELAY_MAILDIR_TMP_AGE;
    DIR *dir;

    dir = opendir(tmpdir);
    while (dir != NULL && (dp = readdir(dir)) != NULL) {
        if (dp->d_name[0] == '.')
            continue;
        path = path_join(tmpdir, dp->d_name);
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_mtime < cutoff
            && unlink(path) == 0)
            msg_info("removed stale Maildir temporary file %s", path);
        myfree(path);
    }
    if (dir != NULL)
        closedir(dir);
    myfree(tmpdir);
}
