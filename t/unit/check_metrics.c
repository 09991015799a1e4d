/* Unit tests for the counters (lib/metrics.c, lib/metrics_shm.c,
 * lib/metrics_scan.c): the table's shape and names, histograms, the
 * segment's slots (taken, reused with their counters, gauges zeroed,
 * grown), the readers, and the queue's figures. */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "metrics.h"
#include "metrics_scan.h"
#include "metrics_shm.h"
#include "queue_dir.h"
#include "vbuf.h"

static const char *dir;
static char shm_path[512];

static void
setup(void)
{
    dir = fixture_dir_create("check_metrics");
    snprintf(shm_path, sizeof(shm_path), "%s/%s", dir, METRICS_SHM_FILE);
}

static void
teardown(void)
{
    fixture_dir_remove();
}

static int
ends_with(const char *s, const char *suffix)
{
    size_t  n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int
valid_name(const char *s)
{
    if (!isalpha((unsigned char) *s) && *s != '_')
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char) *s) && *s != '_')
            return 0;
    return 1;
}

/* The families tile the cells, and their names follow Prometheus'
 * conventions. */
START_TEST(test_table)
{
    int     next = 0;
    int     i, j;

    for (i = 0; i < METRICS_NFAMILIES; i++) {
        const METRICS_FAMILY *f = &metrics_families[i];
        const METRICS_LABELSET *sets[2] = {f->label1, f->label2};
        int     k;

        ck_assert_int_eq(f->base, next);
        ck_assert_int_eq(f->width, f->type == METRICS_HISTOGRAM ? f->nbounds + 2 : 1);
        ck_assert_int_eq(f->ncells, f->label1->count * f->label2->count * f->width);
        next += f->ncells;
        ck_assert_msg(valid_name(f->name), "%s", f->name);
        ck_assert_msg(strncmp(f->name, "alligate_", 9) == 0, "%s", f->name);
        ck_assert_msg(ends_with(f->name, "_total") == (f->type == METRICS_COUNTER),
                      "%s: _total is for counters, and counters only", f->name);
        if (f->type == METRICS_HISTOGRAM) {
            ck_assert_msg(ends_with(f->name, "_seconds"), "%s", f->name);
            ck_assert_int_gt(f->nbounds, 0);
            for (j = 1; j < f->nbounds; j++)
                ck_assert(f->bounds[j - 1] < f->bounds[j]);
        } else {
            ck_assert_int_eq(f->nbounds, 0);
        }
        ck_assert(*f->help && strchr(f->help, '\n') == NULL);
        for (j = 0; j < i; j++)
            ck_assert_str_ne(metrics_families[j].name, f->name);
        for (k = 0; k < 2; k++) {
            if (*sets[k]->name == 0) {
                ck_assert_int_eq(sets[k]->count, 1);
                continue;
            }
            ck_assert(valid_name(sets[k]->name));
            ck_assert(strncmp(sets[k]->name, "__", 2) != 0);
            ck_assert_str_ne(sets[k]->name, "le");
            for (j = 0; j < sets[k]->count; j++)
                ck_assert(*sets[k]->values[j]);
        }
        /* A second label without a first would be written wrongly. */
        ck_assert(*f->label1->name || !*f->label2->name);
    }
    ck_assert_int_eq(next, METRICS_NCELLS);
    ck_assert_uint_ne(metrics_layout(), 0);
    ck_assert_uint_eq(metrics_layout(), metrics_layout());
}
END_TEST

START_TEST(test_cells)
{
    ck_assert_int_eq(METRICS_AT(SMTPD_CONNECTIONS, METRICS_PORT_SMTPS, METRICS_OUTCOME_LOST),
                     metrics_cell(METRICS_FAM_SMTPD_CONNECTIONS, METRICS_PORT_SMTPS,
                                  METRICS_OUTCOME_LOST));
    ck_assert_int_eq(METRICS_AT(SMTPD_CONNECTIONS, METRICS_PORT_SMTPS, METRICS_OUTCOME_LOST),
                     METRIC_SMTPD_CONNECTIONS + 2 * METRICS_N_OUTCOME + 1);
    ck_assert_int_eq(METRICS_AT(SMTPD_REJECTS, METRICS_RULE_OTHER, 0),
                     METRIC_SMTPD_REJECTS + METRICS_N_RULE - 1);
    ck_assert_int_eq(metrics_cell(METRICS_FAM_SMTPD_TRANSACTION, 0, 0),
                     METRIC_SMTPD_TRANSACTION);
    ck_assert_int_eq(METRICS_W_SMTPD_TRANSACTION, METRICS_NB_TRANSACTION + 2);
}
END_TEST

START_TEST(test_value_index)
{
    ck_assert_int_eq(metrics_value_index(&metrics_label_RULE, "max_invalid_recipients"),
                     METRICS_RULE_INVALID_RCPT);
    ck_assert_int_eq(metrics_value_index(&metrics_label_RULE, "killlist"),
                     METRICS_RULE_KILLLIST);
    /* A rule the table does not know yet counts as other. */
    ck_assert_int_eq(metrics_value_index(&metrics_label_RULE, "new_rule"),
                     METRICS_RULE_OTHER);
    ck_assert_int_eq(metrics_value_index(&metrics_label_RULE, ""), METRICS_RULE_OTHER);
    ck_assert_int_eq(metrics_value_index(&metrics_label_PORT, "submission"),
                     METRICS_PORT_SUBMISSION);
    ck_assert_int_eq(metrics_value_index(&metrics_label_PORT, "smtpd"), -1);
    ck_assert_int_eq(metrics_value_index(&metrics_label_TLS_PROTOCOL, "TLSv1.3"),
                     METRICS_TLS_PROTOCOL_TLS13);
    ck_assert_int_eq(metrics_value_index(&metrics_label_TLS_PROTOCOL, "SSLv3"),
                     METRICS_TLS_PROTOCOL_OTHER);
    ck_assert_int_eq(metrics_value_index(&metrics_label_PROGRAM, "smtpd"),
                     METRICS_PROGRAM_SMTPD);
}
END_TEST

START_TEST(test_observe)
{
    const METRICS_FAMILY *f = &metrics_families[METRICS_FAM_SMTPD_TRANSACTION];
    int     c = METRIC_SMTPD_TRANSACTION;
    int     b;

    /* In memory of this process's own (no slot). */
    for (b = 0; b < f->width; b++)
        metrics_cells[c + b] = 0;
    metrics_observe(METRICS_FAM_SMTPD_TRANSACTION, c, 0);
    metrics_observe(METRICS_FAM_SMTPD_TRANSACTION, c, 10000);      /* le 0.01 */
    metrics_observe(METRICS_FAM_SMTPD_TRANSACTION, c, 10001);      /* le 0.025 */
    metrics_observe(METRICS_FAM_SMTPD_TRANSACTION, c, 300000000);  /* le 300 */
    metrics_observe(METRICS_FAM_SMTPD_TRANSACTION, c, 300000001);  /* +Inf */
    ck_assert_uint_eq(metrics_cells[c + 0], 2);
    ck_assert_uint_eq(metrics_cells[c + 1], 1);
    ck_assert_uint_eq(metrics_cells[c + f->nbounds - 1], 1);
    ck_assert_uint_eq(metrics_cells[c + f->nbounds], 1);
    ck_assert_uint_eq(metrics_cells[c + f->nbounds + 1],
                      10000 + 10001 + 300000000ULL + 300000001ULL);
}
END_TEST

static const char *
seconds(uint64_t us)
{
    static VBUF *vb;

    if (vb == NULL)
        vb = vbuf_create(32);
    vbuf_reset(vb);
    metrics_format_seconds(vb, us);
    return vbuf_str(vb);
}

START_TEST(test_seconds)
{
    ck_assert_str_eq(seconds(0), "0");
    ck_assert_str_eq(seconds(1), "0.000001");
    ck_assert_str_eq(seconds(10000), "0.01");
    ck_assert_str_eq(seconds(2500000), "2.5");
    ck_assert_str_eq(seconds(1000000), "1");
    ck_assert_str_eq(seconds(1234567), "1.234567");
    ck_assert_str_eq(seconds(432000000000ULL), "432000");
    ck_assert_str_eq(seconds(UINT64_MAX), "18446744073709.551615");
}
END_TEST

static METRICS_SHM *
shm_create(void)
{
    VBUF   *why = vbuf_create(64);
    METRICS_SHM *shm = metrics_shm_create(shm_path, 1700000000, why);

    ck_assert_msg(shm != NULL, "%s", vbuf_str(why));
    vbuf_free(why);
    return shm;
}

static void
view_read(uint64_t *values)
{
    VBUF   *why = vbuf_create(64);
    METRICS_VIEW *view = metrics_view_open(shm_path, why);

    ck_assert_msg(view != NULL, "%s", vbuf_str(why));
    ck_assert_msg(metrics_view_read(view, values, why) == 0, "%s", vbuf_str(why));
    ck_assert_int_eq(metrics_view_master(view), getpid());
    metrics_view_free(view);
    vbuf_free(why);
}

/* A child process that maps slot and counts into it, as a daemon does
 * after server_init(). */
static void
child_counts(METRICS_SHM *shm, int slot, int connections, uint64_t held)
{
    pid_t   pid;
    int     status;

    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int     i;

        if (metrics_attach(metrics_shm_fd(shm), slot) < 0)
            _exit(2);
        for (i = 0; i < connections; i++)
            metrics_inc(METRICS_AT(SMTPD_CONNECTIONS, METRICS_PORT_SMTP,
                                   METRICS_OUTCOME_QUIT));
        metrics_set(METRIC_TARPIT_HELD, held);
        metrics_observe(METRICS_FAM_RELAY_DELAY, METRIC_RELAY_DELAY, 700000);
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

START_TEST(test_slots)
{
    static uint64_t values[METRICS_NCELLS];
    int     quit = METRICS_AT(SMTPD_CONNECTIONS, METRICS_PORT_SMTP, METRICS_OUTCOME_QUIT);
    METRICS_SHM *shm = shm_create();
    struct stat st;
    int     a, b, c;

    ck_assert_int_eq(stat(shm_path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, METRICS_SHM_MODE);
    ck_assert_int_eq(st.st_size, 64 + METRICS_SHM_GROW * METRICS_SHM_SLOT_SIZE);
    ck_assert_int_eq(METRICS_SHM_SLOT_SIZE % 64, 0);

    a = metrics_shm_take(shm, NULL);
    b = metrics_shm_take(shm, NULL);
    c = metrics_shm_take(shm, NULL);
    ck_assert_int_eq(a, 0);
    ck_assert_int_eq(b, 1);
    ck_assert_int_eq(c, 2);
    metrics_shm_own(shm, a, 1001, METRICS_PROGRAM_SMTPD);
    metrics_shm_own(shm, b, 1002, METRICS_PROGRAM_SMTPD);
    metrics_shm_own(shm, c, 1003, METRICS_PROGRAM_TARPIT);
    ck_assert_int_eq(metrics_shm_used(shm), 3);

    child_counts(shm, a, 3, 0);
    child_counts(shm, b, 2, 0);
    child_counts(shm, c, 0, 42);
    view_read(values);
    ck_assert_uint_eq(values[quit], 5);
    ck_assert_uint_eq(values[METRIC_TARPIT_HELD], 42);
    ck_assert_uint_eq(values[METRICS_AT(PROCESSES, METRICS_PROGRAM_SMTPD, 0)], 2);
    ck_assert_uint_eq(values[METRICS_AT(PROCESSES, METRICS_PROGRAM_TARPIT, 0)], 1);
    ck_assert_uint_eq(values[METRIC_START_TIME], 1700000000);
    ck_assert_uint_eq(values[METRIC_RELAY_DELAY + 2], 3);      /* 0.5 < 0.7 <= 1 */
    ck_assert_uint_eq(values[METRIC_RELAY_DELAY + METRICS_NB_DELIVERY + 1], 2100000);

    /* Worker b and the tarpit die: their counters stay, the tarpit's
     * gauge goes, and their slots are free. */
    metrics_shm_release(shm, b);
    metrics_shm_release(shm, c);
    ck_assert_int_eq(metrics_shm_used(shm), 1);
    view_read(values);
    ck_assert_uint_eq(values[quit], 5);
    ck_assert_uint_eq(values[METRIC_TARPIT_HELD], 0);
    ck_assert_uint_eq(values[METRICS_AT(PROCESSES, METRICS_PROGRAM_SMTPD, 0)], 1);
    ck_assert_uint_eq(values[METRICS_AT(PROCESSES, METRICS_PROGRAM_TARPIT, 0)], 0);

    /* The lowest free slot is the next one's, counters and all: the
     * sum only grows. */
    ck_assert_int_eq(metrics_shm_take(shm, NULL), b);
    metrics_shm_own(shm, b, 1004, METRICS_PROGRAM_SMTPD);
    child_counts(shm, b, 1, 0);
    view_read(values);
    ck_assert_uint_eq(values[quit], 6);

    /* A fork that failed gives its slot back. */
    ck_assert_int_eq(metrics_shm_take(shm, NULL), c);
    metrics_shm_own(shm, c, -1, METRICS_PROGRAM_SMTPD);
    ck_assert_int_eq(metrics_shm_used(shm), 2);
    metrics_shm_free(shm, 1);
    ck_assert_int_eq(access(shm_path, F_OK), -1);
}
END_TEST

START_TEST(test_grow)
{
    static uint64_t values[METRICS_NCELLS];
    METRICS_SHM *shm = shm_create();
    VBUF   *why = vbuf_create(64);
    METRICS_VIEW *view = metrics_view_open(shm_path, why);
    struct stat st;
    int     i, slot = -1;

    ck_assert_ptr_nonnull(view);
    ck_assert_int_eq(metrics_view_read(view, values, why), 0);
    for (i = 0; i < 2 * METRICS_SHM_GROW + 3; i++) {
        slot = metrics_shm_take(shm, why);
        ck_assert_int_eq(slot, i);
        metrics_shm_own(shm, slot, 2000 + i, METRICS_PROGRAM_SMTPD);
    }
    ck_assert_int_eq(stat(shm_path, &st), 0);
    ck_assert_int_eq(st.st_size, 64 + 3 * METRICS_SHM_GROW * METRICS_SHM_SLOT_SIZE);
    child_counts(shm, slot, 7, 0);
    /* The view made before the growth maps the file again. */
    ck_assert_int_eq(metrics_view_read(view, values, why), 0);
    ck_assert_uint_eq(values[METRICS_AT(SMTPD_CONNECTIONS, METRICS_PORT_SMTP,
                                        METRICS_OUTCOME_QUIT)], 7);
    ck_assert_uint_eq(values[METRICS_AT(PROCESSES, METRICS_PROGRAM_SMTPD, 0)],
                      2 * METRICS_SHM_GROW + 3);
    metrics_view_free(view);
    vbuf_free(why);
    metrics_shm_free(shm, 1);
}
END_TEST

/* master's segment is a new file each time: a process of an earlier
 * master keeps counting into the old one. */
START_TEST(test_new_file)
{
    METRICS_SHM *shm;
    struct stat before, after;
    int     old;

    /* The old one, still open (mapped) by a process of the old master. */
    fixture_write_str(METRICS_SHM_FILE, "old");
    ck_assert_int_ge(old = open(shm_path, O_RDONLY), 0);
    ck_assert_int_eq(fstat(old, &before), 0);
    shm = shm_create();
    ck_assert_int_eq(stat(shm_path, &after), 0);
    ck_assert(before.st_ino != after.st_ino);
    ck_assert_int_eq(fstat(old, &before), 0);
    ck_assert_int_eq(before.st_size, 3);
    close(old);
    metrics_shm_free(shm, 0);
    ck_assert_int_eq(access(shm_path, F_OK), 0);

    /* A symbolic link at the path is removed, not followed. */
    unlink(shm_path);
    ck_assert_int_eq(symlink("target", shm_path), 0);
    shm = shm_create();
    ck_assert_int_eq(lstat(shm_path, &after), 0);
    ck_assert(S_ISREG(after.st_mode));
    metrics_shm_free(shm, 1);
}
END_TEST

START_TEST(test_refused)
{
    VBUF   *why = vbuf_create(64);
    METRICS_SHM *shm;
    uint64_t bad = 12345;
    int     fd;

    /* Missing. */
    ck_assert_ptr_null(metrics_view_open(shm_path, why));
    ck_assert_int_eq(errno, ENOENT);

    /* Not a segment. */
    fixture_write_str(METRICS_SHM_FILE, "hello, this is not a metrics segment at all, "
                      "but it is long enough to have a header's size");
    vbuf_reset(why);
    ck_assert_ptr_null(metrics_view_open(shm_path, why));
    ck_assert_str_eq(vbuf_str(why) + strlen(shm_path), ": not a metrics segment");
    fixture_write_str(METRICS_SHM_FILE, "");
    ck_assert_ptr_null(metrics_view_open(shm_path, why));

    /* Another build's table. */
    shm = shm_create();
    fd = open(shm_path, O_RDWR);
    ck_assert_int_eq(pwrite(fd, &bad, sizeof(bad), 16), (ssize_t) sizeof(bad));
    close(fd);
    vbuf_reset(why);
    ck_assert_ptr_null(metrics_view_open(shm_path, why));
    ck_assert_ptr_nonnull(strstr(vbuf_str(why), "another version"));
    /* ... which a daemon does not map either: it counts for nobody. */
    errno = 0;
    ck_assert_int_eq(metrics_attach(metrics_shm_fd(shm), 0), -1);
    metrics_shm_free(shm, 1);

    /* A slot past the end. */
    shm = shm_create();
    ck_assert_int_eq(metrics_attach(metrics_shm_fd(shm), METRICS_SHM_GROW), -1);
    ck_assert_int_eq(errno, ERANGE);
    metrics_shm_free(shm, 1);
    vbuf_free(why);
}
END_TEST

static const char *
queue_path(void)
{
    static char path[512];

    snprintf(path, sizeof(path), "%s/queue", dir);
    return path;
}

START_TEST(test_scan)
{
    static uint64_t values[METRICS_NCELLS];
    time_t  now = 0x6B022000 + 100;

    fixture_mkdir("queue");
    fixture_mkdir("queue/incoming");
    fixture_mkdir("queue/deferred");
    fixture_mkdir("queue/hold");
    fixture_write_str("queue/incoming/6B0220A3D3252003ED1", "x");
    fixture_write_str("queue/incoming/6B0220A3D3252003ED2", "x");
    fixture_write_str("queue/incoming/.hidden", "x");
    fixture_mkdir("queue/incoming/subdir");
    fixture_write_str("queue/deferred/6B0220A3D3252003ED3", "x");
    memset(values, 0xff, sizeof(values));

    /* No archive directory: no backlog. */
    metrics_scan_queue(queue_path(), now, values);
    ck_assert_uint_eq(values[METRICS_AT(QUEUE_MESSAGES, METRICS_QUEUE_INCOMING, 0)], 2);
    ck_assert_uint_eq(values[METRICS_AT(QUEUE_MESSAGES, METRICS_QUEUE_DEFERRED, 0)], 1);
    ck_assert_uint_eq(values[METRICS_AT(QUEUE_MESSAGES, METRICS_QUEUE_HOLD, 0)], 0);
    ck_assert_uint_eq(values[METRICS_AT(QUEUE_MESSAGES, METRICS_QUEUE_CORRUPT, 0)], 0);
    ck_assert_uint_eq(values[METRIC_ARCHIVE_BACKLOG], 0);
    ck_assert_uint_eq(values[METRIC_ARCHIVE_LAG], 0);

    /* Two waiting for the archiver: the lag is the older one's age, from
     * its queue id (0x6B022000 seconds, the second one's 0x6B022010). */
    fixture_mkdir("queue/" QUEUE_DIR_ARCHIVE);
    fixture_write_str("queue/" QUEUE_DIR_ARCHIVE "/6B0220100000000003E", "x");
    fixture_write_str("queue/" QUEUE_DIR_ARCHIVE "/6B0220000000000003E", "x");
    metrics_scan_queue(queue_path(), now, values);
    ck_assert_uint_eq(values[METRIC_ARCHIVE_BACKLOG], 2);
    ck_assert_uint_eq(values[METRIC_ARCHIVE_LAG], 100);
    /* A clock behind the ids: no negative lag. */
    metrics_scan_queue(queue_path(), 0x6B022000 - 5, values);
    ck_assert_uint_eq(values[METRIC_ARCHIVE_LAG], 0);
}
END_TEST

int
main(void)
{
    Suite  *s = suite_create("metrics");
    TCase  *tc = tcase_create("metrics");
    SRunner *sr;
    int     failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_table);
    tcase_add_test(tc, test_cells);
    tcase_add_test(tc, test_value_index);
    tcase_add_test(tc, test_observe);
    tcase_add_test(tc, test_seconds);
    tcase_add_test(tc, test_slots);
    tcase_add_test(tc, test_grow);
    tcase_add_test(tc, test_new_file);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_scan);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
