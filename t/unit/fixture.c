/* Fixtures the Check suites share (see fixture.h): one implementation of
 * the temporary directory and its files instead of a copy in each suite,
 * so that every suite removes what it made, without a shell.
 *
 * A test's directory is made in the forked child that runs the test, and
 * a test that ends with a signal (an expected abort, a timeout) never
 * reaches its teardown.  So the directories live in one base directory
 * that the suite's own process makes before main() and removes when it
 * exits: what a child could not remove goes with it. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "mymalloc.h"
#include "vbuf.h"

static char fixture_base[PATH_MAX];
static pid_t fixture_base_pid;
static char fixture_dir[PATH_MAX];

/* A relative path resolved inside the directory, in buf. */
static const char *
fixture_resolve(const char *path, char *buf, size_t size)
{
    if (path[0] == '/')
        return path;
    ck_assert_msg(fixture_dir[0] != 0, "%s: no fixture directory", path);
    ck_assert_int_lt(snprintf(buf, size, "%s/%s", fixture_dir, path),
                     (int) size);
    return buf;
}

/* Removes path and, if it is a directory, everything under it; a
 * directory the test took its permissions from gets them back first.
 * -1 with errno and the path that failed in failed. */
static int
fixture_remove_tree(const char *path, char *failed, size_t size)
{
    char sub[PATH_MAX];
    struct stat st;
    struct dirent *dp;
    DIR *dir;
    int ret = 0;

    if (lstat(path, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(failed, size, "lstat %s", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (unlink(path) == 0)
            return 0;
        snprintf(failed, size, "unlink %s", path);
        return -1;
    }
    if ((st.st_mode & S_IRWXU) != S_IRWXU)
        chmod(path, st.st_mode | S_IRWXU);
    if ((dir = opendir(path)) == NULL) {
        snprintf(failed, size, "opendir %s", path);
        return -1;
    }
    while (ret == 0 && (dp = readdir(dir)) != NULL) {
        if (strcmp(dp->d_name, ".") == 0 || strcmp(dp->d_name, "..") == 0)
            continue;
        if (snprintf(sub, sizeof(sub), "%s/%s", path, dp->d_name)
            >= (int) sizeof(sub)) {
            errno = ENAMETOOLONG;
            snprintf(failed, size, "%s/%s", path, dp->d_name);
            ret = -1;
        } else {
            ret = fixture_remove_tree(sub, failed, size);
        }
    }
    closedir(dir);
    if (ret == 0 && rmdir(path) < 0) {
        snprintf(failed, size, "rmdir %s", path);
        ret = -1;
    }
    return ret;
}

/* The same, for a test: failing fails it. */
static void
fixture_remove_checked(const char *path)
{
    char failed[PATH_MAX + 16];

    ck_assert_msg(fixture_remove_tree(path, failed, sizeof(failed)) == 0,
                  "%s: %s", failed, strerror(errno));
}

/* At exit of the suite's process only, not of the children that ran
 * tests: they leave while the suite still needs the base. */
static void
fixture_base_remove(void)
{
    char failed[PATH_MAX + 16];

    if (fixture_base_pid == getpid())
        (void) fixture_remove_tree(fixture_base, failed, sizeof(failed));
}

/* Before main(): the base directory, in the suite's own process. */
__attribute__((constructor)) static void
fixture_base_create(void)
{
    snprintf(fixture_base, sizeof(fixture_base), "/tmp/alligate-check.XXXXXX");
    if (mkdtemp(fixture_base) == NULL) {
        /* The tests say why when they make their own directories. */
        snprintf(fixture_base, sizeof(fixture_base), "/tmp");
        return;
    }
    /* Searchable by all: a test that drops privileges (check_server)
     * opens its own directory's files. */
    chmod(fixture_base, 0711);
    fixture_base_pid = getpid();
    atexit(fixture_base_remove);
}

const char *
fixture_dir_create(const char *name)
{
    ck_assert_msg(fixture_dir[0] == 0, "fixture directory %s exists",
                  fixture_dir);
    ck_assert_int_lt(snprintf(fixture_dir, sizeof(fixture_dir),
                              "%s/%s.XXXXXX", fixture_base, name),
                     (int) sizeof(fixture_dir));
    ck_assert_msg(mkdtemp(fixture_dir) != NULL, "mkdtemp %s: %s",
                  fixture_dir, strerror(errno));
    return fixture_dir;
}

void
fixture_dir_remove(void)
{
    if (fixture_dir[0] == 0)
        return;
    fixture_remove_checked(fixture_dir);
    fixture_dir[0] = 0;
}

void
fixture_mkdir(const char *path)
{
    char buf[PATH_MAX];

    path = fixture_resolve(path, buf, sizeof(buf));
    ck_assert_msg(mkdir(path, 0700) == 0 || errno == EEXIST, "mkdir %s: %s",
                  path, strerror(errno));
}

void
fixture_remove(const char *path)
{
    char buf[PATH_MAX];

    fixture_remove_checked(fixture_resolve(path, buf, sizeof(buf)));
}

void
fixture_write(const char *path, const void *data, size_t len)
{
    char buf[PATH_MAX];
    int fd;

    path = fixture_resolve(path, buf, sizeof(buf));
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
    ck_assert_msg(write(fd, data, len) == (ssize_t) len, "write %s", path);
    ck_assert_int_eq(close(fd), 0);
}

void
fixture_write_str(const char *path, const char *text)
{
    fixture_write(path, text, strlen(text));
}

char *
fixture_read(const char *path, size_t *len)
{
    char buf[PATH_MAX];
    struct stat st;
    char *data;
    ssize_t n;
    int fd;

    path = fixture_resolve(path, buf, sizeof(buf));
    fd = open(path, O_RDONLY);
    ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
    ck_assert_int_eq(fstat(fd, &st), 0);
    data = mymalloc((size_t) st.st_size + 1);
    n = read(fd, data, (size_t) st.st_size);
    ck_assert_msg(n == st.st_size, "read %s", path);
    close(fd);
    data[n] = 0;
    if (len)
        *len = (size_t) n;
    return data;
}

CONFIG *
fixture_conf_load(const char *text)
{
    VBUF *errors = vbuf_create(100);
    CONFIG *conf;

    fixture_write_str("main.cf", text);
    conf = conf_load(fixture_dir, errors);
    ck_assert_msg(conf != NULL, "%s", vbuf_str(errors));
    vbuf_free(errors);
    return conf;
}
