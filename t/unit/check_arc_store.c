/* Unit tests for archiving linked queue files (archiver/arc_store.c),
 * removing archived messages, walking the archive (arc_walk.c) and
 * rebuilding the index from it (arc_reindex.c), on real directories:
 * each step done again after a "crash" duplicates nothing, the sealed
 * credentials never reach the archive, damaged files are reported. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arc_file.h"
#include "archiver/arc_index.h"
#include "archiver/arc_reindex.h"
#include "archiver/arc_store.h"
#include "archiver/arc_walk.h"
#include "fixture.h"
#include "mymalloc.h"
#include "queue_dir.h"
#include "queue_write.h"
#include "vbuf.h"

#define SEALED  "U0VBTEVEU0VDUkVUU0VBTEVE"

static const char *dir;
static char queue_dir[256], archive_dir[256], index_dir[256];
static VBUF *why;
static ARC_INDEX *index_;
static ARC_STORE *store;

static void
setup(void)
{
    dir = fixture_dir_create("check_arc_store");
    why = vbuf_create(64);
    snprintf(queue_dir, sizeof(queue_dir), "%s/queue", dir);
    snprintf(archive_dir, sizeof(archive_dir), "%s/archive", dir);
    snprintf(index_dir, sizeof(index_dir), "%s/archive/index", dir);
    fixture_mkdir("queue");
    ck_assert_int_eq(queue_dir_init(queue_dir, why), 0);
    ck_assert_msg((store = arc_store_open(archive_dir, queue_dir, why)) != NULL, "%s",
                  vbuf_str(why));
    ck_assert_msg((index_ = arc_index_open(index_dir, why)) != NULL, "%s", vbuf_str(why));
    arc_store_set_index(store, index_);
}

static void
teardown(void)
{
    if (store)
        arc_store_close(store);
    if (index_)
        arc_index_close(index_, why);
    store = NULL;
    index_ = NULL;
    fixture_dir_remove();
    why = vbuf_free(why);
}

/* Queues a message as smtpd does with archive = yes; returns its id. */
static const char *
queue_msg(const char *subject, int sealed)
{
    static char id[QUEUE_ID_LEN + 1];
    QUEUE_WRITER *qf = queue_write_create(queue_dir, why);
    VBUF   *msg = vbuf_create(256);

    ck_assert_ptr_nonnull(qf);
    strcpy(id, queue_write_id(qf));
    queue_write_archive(qf);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_ARRIVAL, "1796635042"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_CLIENT_ADDR, "192.0.2.1"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_SASL_USER, "alice"), 0);
    if (sealed)
        ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_AUTH_SEALED, SEALED), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_SENDER, "alice@example.org"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_RCPT, "bob@example.com"), 0);
    ck_assert_int_eq(queue_write_begin_message(qf), 0);
    vbuf_printf(msg, "Subject: %s\r\nMessage-ID: <%s@x>\r\n\r\nFrom the body\r\n", subject, id);
    ck_assert_int_eq(queue_write_message(qf, vbuf_str(msg), vbuf_len(msg)), 0);
    ck_assert_msg(queue_write_commit(qf, why) == 0, "%s", vbuf_str(why));
    vbuf_free(msg);
    return id;
}

/* The full path of a name in the test's directory. */
static const char *
fpath(const char *name)
{
    static char buf[512];

    snprintf(buf, sizeof(buf), "%s/%s", dir, name);
    return buf;
}

static const char *
link_path(const char *id)
{
    static char buf[512];

    snprintf(buf, sizeof(buf), "%s/%s/%s", queue_dir, QUEUE_DIR_ARCHIVE, id);
    return buf;
}

static const char *
archive_path(const char *id)
{
    static char buf[512];
    VBUF   *rel = vbuf_create(64);

    ck_assert_int_eq(arc_file_rel_path(rel, id), 0);
    snprintf(buf, sizeof(buf), "%s/%s", archive_dir, vbuf_str(rel));
    vbuf_free(rel);
    return buf;
}

/* Archives the given ids in one batch; returns the statuses as digits. */
static const char *
batch(char ids[][QUEUE_ID_LEN + 1], int n)
{
    static char out[ARC_STORE_BATCH + 1];
    ARC_STORE_ITEM items[ARC_STORE_BATCH];
    int     i;

    memset(items, 0, sizeof(items));
    for (i = 0; i < n; i++)
        strcpy(items[i].id, ids[i]);
    arc_store_batch(store, items, n);
    for (i = 0; i < n; i++) {
        out[i] = (char) ('0' + items[i].status);
        vbuf_free(items[i].why);
    }
    out[n] = 0;
    return out;
}

static long long
count(void)
{
    ARC_INDEX_TOTALS t;

    ck_assert_int_eq(arc_index_totals(index_, &t, why), 0);
    return t.count;
}

START_TEST(test_batch)
{
    char    ids[3][QUEUE_ID_LEN + 1];
    ARC_ENVELOPE env;
    VBUF   *msg = vbuf_create(256), *rec = vbuf_create(64);
    struct stat st;
    size_t  len;
    char   *raw, rel[128];
    int     i;

    for (i = 0; i < 3; i++)
        strcpy(ids[i], queue_msg("hello", i == 1));
    ck_assert_str_eq(batch(ids, 3), "000");
    for (i = 0; i < 3; i++) {
        /* The link is gone, the queue file is not. */
        ck_assert_int_eq(access(link_path(ids[i]), F_OK), -1);
        snprintf(rel, sizeof(rel), "queue/incoming/%s", ids[i]);
        ck_assert_int_eq(access(fpath(rel), F_OK), 0);
        /* The copy reads back; the index has it. */
        ck_assert_int_eq(arc_file_read(archive_path(ids[i]), &env, msg, NULL, why), 0);
        ck_assert_str_eq(env.id, ids[i]);
        ck_assert_str_eq(env.sasl_user, "alice");
        ck_assert_ptr_nonnull(strstr(vbuf_str(msg), "From the body"));
        arc_envelope_free(&env);
        ck_assert_int_eq(arc_index_get(index_, ids[i], rec, why), 1);
        ck_assert_int_eq(stat(archive_path(ids[i]), &st), 0);
        ck_assert_int_eq(st.st_mode & 0777, 0600);
    }
    /* The sealed credentials are nowhere in the copy. */
    raw = fixture_read(archive_path(ids[1]) + strlen(dir) + 1, &len);
    ck_assert_ptr_null(memmem(raw, len, SEALED, strlen(SEALED)));
    ck_assert_ptr_null(memmem(raw, len, "\nK ", 3));
    myfree(raw);
    ck_assert_int_eq(count(), 3);
    /* Nothing left in tmp/. */
    ck_assert_int_eq(rmdir(fpath("archive/tmp")), 0);
    vbuf_free(msg);
    vbuf_free(rec);
}
END_TEST

START_TEST(test_again_after_crash)
{
    char    ids[1][QUEUE_ID_LEN + 1], incoming[512];
    ARC_STORE_ITEM item;
    struct stat before, after;

    strcpy(ids[0], queue_msg("crash", 0));
    snprintf(incoming, sizeof(incoming), "%s/incoming/%s", queue_dir, ids[0]);
    ck_assert_str_eq(batch(ids, 1), "0");
    ck_assert_int_eq(stat(archive_path(ids[0]), &before), 0);

    /* Killed after the index commit, before the link went: only the
     * link goes, the copy is not made again. */
    ck_assert_int_eq(link(incoming, link_path(ids[0])), 0);
    ck_assert_str_eq(batch(ids, 1), "1");
    ck_assert_int_eq(access(link_path(ids[0]), F_OK), -1);
    ck_assert_int_eq(stat(archive_path(ids[0]), &after), 0);
    ck_assert_uint_eq(before.st_ino, after.st_ino);
    ck_assert_int_eq(count(), 1);

    /* Killed after the rename, before the index commit: made again in
     * the same place, filed once. */
    ck_assert_int_eq(arc_index_begin(index_, why), 0);
    ck_assert_int_eq(arc_index_delete(index_, ids[0], why), 0);
    ck_assert_int_eq(arc_index_commit(index_, why), 0);
    ck_assert_int_eq(link(incoming, link_path(ids[0])), 0);
    ck_assert_str_eq(batch(ids, 1), "0");
    ck_assert_int_eq(count(), 1);
    ck_assert_int_eq(access(archive_path(ids[0]), F_OK), 0);

    /* Indexed but the file lost: made again. */
    ck_assert_int_eq(unlink(archive_path(ids[0])), 0);
    ck_assert_int_eq(link(incoming, link_path(ids[0])), 0);
    ck_assert_str_eq(batch(ids, 1), "0");
    ck_assert_int_eq(access(archive_path(ids[0]), F_OK), 0);
    ck_assert_int_eq(count(), 1);

    /* A link already gone; a link that is no queue file. */
    ck_assert_str_eq(batch(ids, 1), "2");
    fixture_write("queue/archive/6B1679A20000000000B", "garbage", 7);
    memset(&item, 0, sizeof(item));
    strcpy(item.id, "6B1679A20000000000B");
    arc_store_batch(store, &item, 1);
    ck_assert_int_eq(item.status, ARC_STORE_CORRUPT);
    ck_assert_ptr_nonnull(strstr(vbuf_str(item.why), "bad magic"));
    vbuf_free(item.why);
    ck_assert_int_eq(access(link_path("6B1679A20000000000B"), F_OK), 0);
    ck_assert_int_eq(count(), 1);
}
END_TEST

START_TEST(test_remove)
{
    char    ids[2][QUEUE_ID_LEN + 1], day[512];
    VBUF   *rec = vbuf_create(64);
    char   *slash;

    strcpy(ids[0], queue_msg("one", 0));
    strcpy(ids[1], queue_msg("two", 0));
    ck_assert_str_eq(batch(ids, 2), "00");
    ck_assert_int_eq(arc_store_remove(store, ids[0], why), 0);
    ck_assert_int_eq(access(archive_path(ids[0]), F_OK), -1);
    ck_assert_int_eq(arc_index_get(index_, ids[0], rec, why), 0);
    ck_assert_int_eq(count(), 1);
    /* Removing again is no error (a retention step cut short). */
    ck_assert_int_eq(arc_store_remove(store, ids[0], why), 0);
    /* The last one of the day takes its directories along. */
    snprintf(day, sizeof(day), "%s", archive_path(ids[1]));
    *(slash = strrchr(day, '/')) = 0;
    ck_assert_int_eq(access(day, F_OK), 0);
    ck_assert_int_eq(arc_store_remove(store, ids[1], why), 0);
    ck_assert_int_eq(access(day, F_OK), -1);
    *(slash = strrchr(day, '/')) = 0;
    *(slash = strrchr(day, '/')) = 0;
    ck_assert_int_eq(access(day, F_OK), -1);
    ck_assert_int_eq(access(archive_dir, F_OK), 0);
    ck_assert_int_eq(count(), 0);
    ck_assert_int_eq(arc_store_remove(store, "../../x", why), -1);
    /* The next one makes its directories again; so it does when they
     * went behind the archiver's back. */
    strcpy(ids[0], queue_msg("three", 0));
    ck_assert_str_eq(batch(ids, 1), "0");
    ck_assert_int_eq(access(archive_path(ids[0]), F_OK), 0);
    snprintf(day, sizeof(day), "%s", archive_path(ids[0]) + strlen(dir) + 1);
    *(slash = strchr(strchr(day, '/') + 1, '/')) = 0;
    ck_assert_uint_eq(strlen(strrchr(day, '/') + 1), 4);     /* the year */
    fixture_remove(day);
    strcpy(ids[1], queue_msg("four", 0));
    ck_assert_str_eq(batch(ids + 1, 1), "0");
    ck_assert_int_eq(access(archive_path(ids[1]), F_OK), 0);
    vbuf_free(rec);
}
END_TEST

START_TEST(test_walk)
{
    char    ids[3][QUEUE_ID_LEN + 1], id[QUEUE_ID_LEN + 1];
    VBUF   *rel = vbuf_create(64);
    ARC_WALK *walk;
    int     i;

    for (i = 0; i < 3; i++)
        strcpy(ids[i], queue_msg("walk", 0));
    ck_assert_str_eq(batch(ids, 3), "000");
    /* Strays that are passed by. */
    fixture_mkdir("archive/notayear");
    fixture_write("archive/2026/12/07/README", "x", 1);
    fixture_write("archive/2026/12/07/6B1679A20000000000C.eml.zst.bak", "x", 1);
    fixture_mkdir("archive/1999");
    fixture_mkdir("archive/1999/01");
    fixture_mkdir("archive/1999/01/01");
    /* In the wrong day for its queue id. */
    fixture_write("archive/1999/01/01/6B1679A20000000000C.eml.zst", "x", 1);
    walk = arc_walk_open(archive_dir);
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(arc_walk_next(walk, id, rel), 1);
        ck_assert_str_eq(id, ids[i]);
        ck_assert_ptr_nonnull(strstr(archive_path(id), vbuf_str(rel)));
    }
    ck_assert_int_eq(arc_walk_next(walk, id, rel), 0);
    ck_assert_int_eq(arc_walk_next(walk, id, rel), 0);
    arc_walk_close(walk);
    vbuf_free(rel);
}
END_TEST

START_TEST(test_reindex)
{
    char    ids[5][QUEUE_ID_LEN + 1];
    VBUF   *before[5], *after = vbuf_create(64);
    ARC_REINDEX_STATUS st;
    ARC_REINDEX *re;
    int     i, rc, steps = 0;
    char   *data;
    size_t  len;

    for (i = 0; i < 5; i++)
        strcpy(ids[i], queue_msg(i == 2 ? "=?utf-8?q?caf=C3=A9?=" : "plain", 0));
    ck_assert_str_eq(batch(ids, 5), "00000");
    for (i = 0; i < 5; i++) {
        before[i] = vbuf_create(64);
        ck_assert_int_eq(arc_index_get(index_, ids[i], before[i], why), 1);
    }
    /* One file damaged: its last byte (the checksum). */
    data = fixture_read(archive_path(ids[3]) + strlen(dir) + 1, &len);
    data[len - 1] ^= 1;
    fixture_write(archive_path(ids[3]) + strlen(dir) + 1, data, len);
    myfree(data);

    ck_assert_ptr_nonnull(re = arc_reindex_start(index_, archive_dir, why));
    /* Built aside: the old index answers, whole, until the switch. */
    ck_assert_int_eq(count(), 5);
    ck_assert_int_eq(arc_index_get_mark(index_, ARC_REINDEX_MARK, why), 1);
    while ((rc = arc_reindex_step(re, why)) == 1) {
        ck_assert_int_eq(count(), 5);
        steps++;
    }
    ck_assert_int_eq(rc, 0);
    arc_reindex_status(re, &st);
    ck_assert_int_eq(st.running, 0);
    ck_assert_int_eq(st.files, 5);
    ck_assert_int_eq(st.indexed, 4);
    ck_assert_int_eq(st.damaged, 1);
    ck_assert_int_eq(st.damaged_shown, 1);
    ck_assert_str_eq(st.damaged_paths[0], archive_path(ids[3]));
    ck_assert_int_eq(arc_index_get_mark(index_, ARC_REINDEX_MARK, why), 0);
    /* The same records as before, byte for byte. */
    for (i = 0; i < 5; i++) {
        if (i == 3) {
            ck_assert_int_eq(arc_index_get(index_, ids[i], after, why), 0);
        } else {
            ck_assert_int_eq(arc_index_get(index_, ids[i], after, why), 1);
            ck_assert_uint_eq(vbuf_len(after), vbuf_len(before[i]));
            ck_assert_int_eq(memcmp(vbuf_str(after), vbuf_str(before[i]), vbuf_len(after)), 0);
        }
        vbuf_free(before[i]);
    }
    ck_assert_int_eq(count(), 4);
    /* The damaged file is left where it was. */
    ck_assert_int_eq(access(archive_path(ids[3]), F_OK), 0);
    arc_reindex_free(re);
    vbuf_free(after);
}
END_TEST

int
main(void)
{
    Suite  *s = suite_create("arc_store");
    TCase  *tc = tcase_create("arc_store");
    SRunner *sr;
    int     failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_batch);
    tcase_add_test(tc, test_again_after_crash);
    tcase_add_test(tc, test_remove);
    tcase_add_test(tc, test_walk);
    tcase_add_test(tc, test_reindex);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
