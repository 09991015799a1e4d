/* What the queue unit tests share (check_queue_dir, _read, _write, _mark):
 * a fresh queue directory per test and small helpers around it. */
#ifndef ALLIGATE_CHECK_QUEUE_H
#define ALLIGATE_CHECK_QUEUE_H

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "mymalloc.h"
#include "queue_dir.h"
#include "queue_id.h"
#include "queue_read.h"
#include "queue_write.h"
#include "vbuf.h"

/* A hand-made queue file: HEAD ENV BODY is good. */
#define HEAD "ALLIGATE-QUEUE 1\n"
#define BODY "M 00000000000000000004\nhi\r\n\nE 4\n"
#define ENV  "T 1\nS a@b\nR c@d\n"

/* The queue directory is the test's fixture directory (fixture.h), so
 * fixture_write() and fixture_read() take paths such as "corrupt/x". */
static const char *queue_dir;
static char path_buf[256];

static inline void
setup(void)
{
    VBUF   *why = vbuf_create(100);

    queue_dir = fixture_dir_create("check_queue");
    ck_assert_msg(queue_dir_init(queue_dir, why) == 0, "%s", vbuf_str(why));
    vbuf_free(why);
}

static inline void
teardown(void)
{
    fixture_dir_remove();
}

/* Path of a file in a queue subdirectory, in a static buffer. */
static inline const char *
qpath(const char *sub, const char *id)
{
    snprintf(path_buf, sizeof(path_buf), "%s/%s/%s", queue_dir, sub, id);
    return path_buf;
}

/* Number of entries (other than . and ..) in a queue subdirectory. */
static inline int
count_files(const char *sub)
{
    char    dir_path[256];
    DIR    *dir;
    struct dirent *dp;
    int     n = 0;

    snprintf(dir_path, sizeof(dir_path), "%s/%s", queue_dir, sub);
    ck_assert_ptr_nonnull(dir = opendir(dir_path));
    while ((dp = readdir(dir)) != NULL)
        n += dp->d_name[0] != '.';
    closedir(dir);
    return n;
}

/* Commits a message with a minimal envelope; returns its id (static). */
static inline const char *
queue_simple(const char *sender, const char *msg, size_t len)
{
    static char id[QUEUE_ID_LEN + 1];
    VBUF   *why = vbuf_create(100);
    QUEUE_WRITER *qf = queue_write_create(queue_dir, why);

    ck_assert_ptr_nonnull(qf);
    strcpy(id, queue_write_id(qf));
    ck_assert_int_eq(queue_write_recf(qf, QUEUE_REC_ARRIVAL, "%d", 1700000000), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_SENDER, sender), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_RCPT, "rcpt@example.org"), 0);
    ck_assert_int_eq(queue_write_begin_message(qf), 0);
    ck_assert_int_eq(queue_write_message(qf, msg, len), 0);
    ck_assert_int_eq(queue_write_commit(qf, why), 0);
    vbuf_free(why);
    return id;
}

/* Checks that a file's message part is exactly msg. */
static inline void
check_message(const char *path, const QUEUE_ENVELOPE *env, const char *msg, size_t len)
{
    char   *got = mymalloc(len + 1);
    int     fd = open(path, O_RDONLY);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(env->message_length, (off_t) len);
    ck_assert_int_eq(pread(fd, got, len, env->message_offset), (ssize_t) len);
    ck_assert_int_eq(memcmp(got, msg, len), 0);
    close(fd);
    myfree(got);
}

#endif
