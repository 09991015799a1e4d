/* The user database: lookups open the file for each call (no Berkeley DB
 * environment: the file is never changed in place, see auth_userdb.h),
 * and each change writes a new copy and renames it into place. */
#include <ctype.h>
#include <db.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth_userdb.h"
#include "mymalloc.h"

#define AUTH_USERDB_MODE    0600

/* Sets out to the n bytes at data (which Berkeley DB may leave NULL when
 * n is 0). */
static void
auth_userdb_copy(VBUF *out, const void *data, u_int32_t n)
{
    vbuf_reset(out);
    if (n > 0)
        vbuf_append(out, data, n);
}

/* Berkeley DB's words beyond its error code, from the last failure. */
static char auth_userdb_detail[256];

static void
auth_userdb_errcall(const DB_ENV *env, const char *prefix, const char *text)
{
    (void) env;
    (void) prefix;
    snprintf(auth_userdb_detail, sizeof(auth_userdb_detail), "%s", text);
}

static int
auth_userdb_fail(VBUF *why, const char *what, const char *path, int err)
{
    vbuf_set(why, "");
    vbuf_printf(why, "%s %s: %s", what, path,
                err > 0 ? strerror(err) : db_strerror(err));
    if (auth_userdb_detail[0])
        vbuf_printf(why, " (%s)", auth_userdb_detail);
    auth_userdb_detail[0] = 0;
    return -1;
}

int
auth_userdb_name(const char *name, VBUF *out, VBUF *why)
{
    size_t len = strlen(name), i;
    unsigned char ch;

    if (len == 0) {
        vbuf_set(why, "empty user name");
        return -1;
    }
    if (len > AUTH_USERDB_NAME_MAX) {
        vbuf_set(why, "");
        vbuf_printf(why, "user name longer than %d octets",
                    AUTH_USERDB_NAME_MAX);
        return -1;
    }
    vbuf_reset(out);
    for (i = 0; i < len; i++) {
        ch = (unsigned char) name[i];
        if (ch <= ' ' || ch == 0x7f) {
            vbuf_set(why, "user name with white space or a control character");
            return -1;
        }
        vbuf_append_char(out, ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
    }
    return 0;
}

/* Opens path for reading: 1 with *dbp, 0 when there is no file, -1. */
static int
auth_userdb_open_read(const char *path, DB **dbp, VBUF *why)
{
    DB *db;
    int err;

    *dbp = NULL;
    if ((err = db_create(&db, NULL, 0)) != 0)
        return auth_userdb_fail(why, "cannot read", path, err);
    db->set_errcall(db, auth_userdb_errcall);
    if ((err = db->open(db, NULL, path, NULL, DB_UNKNOWN, DB_RDONLY, 0))
        != 0) {
        db->close(db, 0);
        if (err == ENOENT) {
            auth_userdb_detail[0] = 0;
            return 0;
        }
        return auth_userdb_fail(why, "cannot open", path, err);
    }
    *dbp = db;
    return 1;
}

int
auth_userdb_lookup(const char *path, const char *user, VBUF *hash,
                   VBUF *why)
{
    DBT key, value;
    DB *db;
    int err, ret;

    if ((ret = auth_userdb_open_read(path, &db, why)) <= 0)
        return ret;
    memset(&key, 0, sizeof(key));
    memset(&value, 0, sizeof(value));
    key.data = (void *) user;
    key.size = (u_int32_t) strlen(user);
    err = db->get(db, NULL, &key, &value, 0);
    if (err == 0) {
        auth_userdb_copy(hash, value.data, value.size);
        ret = 1;
    } else if (err == DB_NOTFOUND) {
        ret = 0;
    } else {
        ret = auth_userdb_fail(why, "cannot read", path, err);
    }
    db->close(db, 0);
    return ret;
}

/* Every record of db: fn with NUL-terminated copies; count or -1. */
static int
auth_userdb_each(DB *db, const char *path, AUTH_USERDB_FN fn, void *context,
                 VBUF *why)
{
    VBUF *user = vbuf_create(64), *hash = vbuf_create(128);
    DBT key, value;
    DBC *cursor;
    int err, count = 0;

    if ((err = db->cursor(db, NULL, &cursor, 0)) != 0) {
        vbuf_free(user);
        vbuf_free(hash);
        return auth_userdb_fail(why, "cannot read", path, err);
    }
    memset(&key, 0, sizeof(key));
    memset(&value, 0, sizeof(value));
    while ((err = cursor->get(cursor, &key, &value, DB_NEXT)) == 0) {
        auth_userdb_copy(user, key.data, key.size);
        auth_userdb_copy(hash, value.data, value.size);
        fn(vbuf_str(user), vbuf_str(hash), context);
        count++;
    }
    cursor->close(cursor);
    vbuf_free(user);
    vbuf_free(hash);
    if (err != DB_NOTFOUND)
        return auth_userdb_fail(why, "cannot read", path, err);
    return count;
}

int
auth_userdb_walk(const char *path, AUTH_USERDB_FN fn, void *context,
                 VBUF *why)
{
    DB *db;
    int ret;

    if ((ret = auth_userdb_open_read(path, &db, why)) <= 0)
        return ret;
    ret = auth_userdb_each(db, path, fn, context, why);
    db->close(db, 0);
    return ret;
}

/* Writing ----------------------------------------------------------------- */

typedef struct AUTH_USERDB_COPY {
    DB *to;
    const char *skip;                   /* the user who changes */
    int found;
    int err;
} AUTH_USERDB_COPY;

static int
auth_userdb_put(DB *db, const char *user, const char *hash)
{
    DBT key, value;

    memset(&key, 0, sizeof(key));
    memset(&value, 0, sizeof(value));
    key.data = (void *) user;
    key.size = (u_int32_t) strlen(user);
    value.data = (void *) hash;
    value.size = (u_int32_t) strlen(hash);
    return db->put(db, NULL, &key, &value, 0);
}

static void
auth_userdb_copy_one(const char *user, const char *hash, void *context)
{
    AUTH_USERDB_COPY *copy = context;
    int err;

    if (strcmp(user, copy->skip) == 0) {
        copy->found = 1;
        return;
    }
    if (copy->err == 0 && (err = auth_userdb_put(copy->to, user, hash)) != 0)
        copy->err = err;
}

/* fsync of a file or directory by name. */
static int
auth_userdb_sync(const char *path, int flags, VBUF *why)
{
    int fd, err;

    if ((fd = open(path, flags | O_CLOEXEC)) < 0)
        return auth_userdb_fail(why, "cannot open", path, errno);
    if (fsync(fd) < 0) {
        err = errno;
        close(fd);
        return auth_userdb_fail(why, "cannot sync", path, err);
    }
    close(fd);
    return 0;
}

/* Writes the new file at tmp: the old users but user, plus user with
 * hash unless it is NULL.  Sets *found. */
static int
auth_userdb_write(const char *path, const char *tmp, const char *user,
                  const char *hash, int *found, VBUF *why)
{
    AUTH_USERDB_COPY copy;
    DB *old, *db;
    int err, ret;

    if ((ret = auth_userdb_open_read(path, &old, why)) < 0)
        return -1;
    if (unlink(tmp) < 0 && errno != ENOENT)
        return auth_userdb_fail(why, "cannot remove", tmp, errno);
    if ((err = db_create(&db, NULL, 0)) != 0) {
        if (old)
            old->close(old, 0);
        return auth_userdb_fail(why, "cannot create", tmp, err);
    }
    db->set_errcall(db, auth_userdb_errcall);
    if ((err = db->open(db, NULL, tmp, NULL, DB_BTREE, DB_CREATE | DB_EXCL,
                        AUTH_USERDB_MODE)) != 0) {
        db->close(db, 0);
        if (old)
            old->close(old, 0);
        return auth_userdb_fail(why, "cannot create", tmp, err);
    }
    copy.to = db;
    copy.skip = user;
    copy.found = 0;
    copy.err = 0;
    ret = old ? auth_userdb_each(old, path, auth_userdb_copy_one, &copy, why)
        : 0;
    if (old)
        old->close(old, 0);
    if (ret >= 0 && copy.err == 0 && hash != NULL)
        copy.err = auth_userdb_put(db, user, hash);
    if (ret >= 0 && copy.err != 0)
        ret = auth_userdb_fail(why, "cannot write", tmp, copy.err);
    if ((err = db->close(db, 0)) != 0 && ret >= 0)
        ret = auth_userdb_fail(why, "cannot write", tmp, err);
    *found = copy.found;
    return ret < 0 ? -1 : 0;
}

/* The lock file, new or old, locked; -1 with why. */
static int
auth_userdb_lock(const char *path, uid_t uid, gid_t gid, VBUF *why)
{
    VBUF *lock = vbuf_create(100);
    int fd;

    vbuf_printf(lock, "%s.lock", path);
    if ((fd = open(vbuf_str(lock), O_RDWR | O_CREAT | O_CLOEXEC,
                   AUTH_USERDB_MODE)) < 0) {
        auth_userdb_fail(why, "cannot open", vbuf_str(lock), errno);
    } else if (uid != (uid_t) -1 && fchown(fd, uid, gid) < 0) {
        auth_userdb_fail(why, "cannot change the owner of", vbuf_str(lock),
                         errno);
        close(fd);
        fd = -1;
    } else if (flock(fd, LOCK_EX) < 0) {
        auth_userdb_fail(why, "cannot lock", vbuf_str(lock), errno);
        close(fd);
        fd = -1;
    }
    vbuf_free(lock);
    return fd;
}

/* The directory of path, for its fsync after the rename. */
static char *
auth_userdb_dir(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        return mystrdup(".");
    if (slash == path)
        return mystrdup("/");
    return mystrndup(path, (size_t) (slash - path));
}

int
auth_userdb_update(const char *path, int op, const char *user,
                   const char *hash, uid_t uid, gid_t gid, VBUF *why)
{
    VBUF *tmp = vbuf_create(100);
    char *dir = NULL;
    int lock_fd, found = 0, ret = -1;

    if ((op == AUTH_USERDB_DELETE) != (hash == NULL))
        vbuf_set(why, "auth_userdb_update: a hash with delete, or none without");
    if ((op == AUTH_USERDB_DELETE) != (hash == NULL)
        || (lock_fd = auth_userdb_lock(path, uid, gid, why)) < 0) {
        vbuf_free(tmp);
        return -1;
    }
    vbuf_printf(tmp, "%s.tmp", path);
    if (auth_userdb_write(path, vbuf_str(tmp), user, hash, &found, why) < 0)
        goto out;
    if (op == AUTH_USERDB_ADD && found) {
        ret = AUTH_USERDB_EXISTS;
        goto out;
    }
    if (op != AUTH_USERDB_ADD && !found) {
        ret = AUTH_USERDB_ABSENT;
        goto out;
    }
    if (chmod(vbuf_str(tmp), AUTH_USERDB_MODE) < 0) {
        auth_userdb_fail(why, "cannot change the mode of", vbuf_str(tmp),
                         errno);
        goto out;
    }
    if (uid != (uid_t) -1 && chown(vbuf_str(tmp), uid, gid) < 0) {
        auth_userdb_fail(why, "cannot change the owner of", vbuf_str(tmp),
                         errno);
        goto out;
    }
    if (auth_userdb_sync(vbuf_str(tmp), O_RDONLY, why) < 0)
        goto out;
    if (rename(vbuf_str(tmp), path) < 0) {
        auth_userdb_fail(why, "cannot rename into", path, errno);
        goto out;
    }
    dir = auth_userdb_dir(path);
    if (auth_userdb_sync(dir, O_RDONLY | O_DIRECTORY, why) < 0)
        goto out;
    ret = AUTH_USERDB_OK;
  out:
    if (ret != AUTH_USERDB_OK)
        unlink(vbuf_str(tmp));
    close(lock_fd);
    myfree(dir);
    vbuf_free(tmp);
    return ret;
}
