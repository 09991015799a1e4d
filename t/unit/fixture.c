/* Fixtures the Check suites share (see fixture.h): one implementation of
 * the temporary directory and its files instead of a copy in each suite,
 * so that every suite removes what it made, without a shell. */
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

const char *
fixture_dir_create(const char *name)
{
    ck_assert_msg(fixture_dir[0] == 0, "fixture directory %s exists",
                  fixture_dir);
    ck_assert_int_lt(snprintf(fixture_dir, sizeof(fixture_dir),
                              "/tmp/%s.XXXXXX", name),
                     (int) sizeof(fixture_dir));
    ck_assert_msg(mkdtemp(fixture_dir) != NULL, "mkdtemp %s: %s",
                  fixture_dir, strerror(errno));
    return fixture_dir;
}

/* Removes path and, if it is a directory, everything under it; a
 * directory the test took its permissions from gets them back first. */
static void
fixture_remove_tree(const char *path)
{
    char sub[PATH_MAX];
    struct stat st;
    struct dirent *dp;
    DIR *dir;

    if (lstat(path, &st) < 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        ck_assert_msg(unlink(path) == 0, "unlink %s: %s", path,
                      strerror(errno));
        return;
    }
    if ((st.st_mode & S_IRWXU) != S_IRWXU)
        chmod(path, st.st_mode | S_IRWXU);
    ck_assert_msg((dir = opendir(path)) != NULL, "opendir %s: %s", path,
                  strerror(errno));
    while ((dp = readdir(dir)) != NULL) {
        if (strcmp(dp->d_name, ".") == 0 || strcmp(dp->d_name, "..") == 0)
            continue;
        ck_assert_int_lt(snprintf(sub, sizeof(sub), "%s/%s", path,
                                  dp->d_name), (int) sizeof(sub));
        fixture_remove_tree(sub);
    }
    closedir(dir);
    ck_assert_msg(rmdir(path) == 0, "rmdir %s: %s", path, strerror(errno));
}

void
fixture_dir_remove(void)
{
    if (fixture_dir[0] == 0)
        return;
    fixture_remove_tree(fixture_dir);
    fixture_dir[0] = 0;
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
