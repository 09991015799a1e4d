/* Unit tests for the archive index (archiver/arc_index.c) and the
 * searches over it (arc_query.c, arc_search.c), in a temporary
 * directory: every secondary finds what it should and nothing else, the
 * filters combine, the totals follow puts and deletes, and what is
 * committed survives a process killed without closing. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "archiver/arc_index.h"
#include "archiver/arc_query.h"
#include "archiver/arc_record.h"
#include "archiver/arc_search.h"
#include "fixture.h"
#include "mymalloc.h"
#include "vbuf.h"

#define T0      1796635042LL

static const char *dir;
static VBUF *why;

static void
setup(void)
{
    dir = fixture_dir_create("check_arc_index");
    why = vbuf_create(64);
}

static void
teardown(void)
{
    fixture_dir_remove();
    why = vbuf_free(why);
}

static ARC_INDEX *
open_index(void)
{
    ARC_INDEX *index = arc_index_open(dir, why);

    ck_assert_msg(index != NULL, "%s", vbuf_str(why));
    return index;
}

/* Files one message: id, arrival offset, sender, recipients (comma
 * separated), client, the header. */
static void
put_to(ARC_INDEX *index, int build, const char *id, long long at, const char *sender,
       const char *rcpts, const char *client, const char *head)
{
    ARC_ENVELOPE e;
    VBUF   *rec = vbuf_create(64);
    char   *list = mystrdup(rcpts), *cp, *r[8];
    size_t  n = 0;

    memset(&e, 0, sizeof(e));
    snprintf(e.id, sizeof(e.id), "%s", id);
    e.arrival = T0 + at;
    e.sender = (char *) sender;
    e.client_addr = (char *) client;
    for (cp = strtok(list, ","); cp && n < 8; cp = strtok(NULL, ","))
        r[n++] = cp;
    e.rcpt = r;
    e.rcpt_count = n;
    e.length = 1000;
    arc_record_make(rec, &e, head, strlen(head), 300);
    ck_assert_int_eq(arc_index_begin(index, why), 0);
    ck_assert_msg((build ? arc_index_build_put(index, rec, why)
                   : arc_index_put(index, rec, why)) == 0, "%s", vbuf_str(why));
    ck_assert_int_eq(arc_index_commit(index, why), 0);
    myfree(list);
    vbuf_free(rec);
}

static void
put(ARC_INDEX *index, const char *id, long long at, const char *sender, const char *rcpts,
    const char *client, const char *head)
{
    put_to(index, 0, id, at, sender, rcpts, client, head);
}

#define ID1 "6B1679A20000100000A"
#define ID2 "6B1679A20000200000A"
#define ID3 "6B1679A20000300000A"
#define ID4 "6B1679A20000400000A"

static void
fill(ARC_INDEX *index)
{
    put(index, ID1, 0, "Alice@Example.org", "bob@example.com,carol@example.com", "192.0.2.1",
        "Subject: Quarterly report\r\nMessage-ID: <q1@example.org>\r\n\r\n");
    put(index, ID2, 100, "alice@example.org", "dave@example.net", "2001:db8::1",
        "Subject: =?utf-8?q?Caf=C3=A9_report?=\r\nMessage-ID: <c2@example.org>\r\n\r\n");
    put(index, ID3, 200, "", "bob@example.com", "192.0.2.2",
        "Subject: Undelivered Mail Returned to Sender\r\n\r\n");
    put(index, ID4, 300, "eve@other.example", "BOB@example.com", "192.0.2.1",
        "Subject: re: report\r\nMessage-ID: <e4@other.example>\r\n\r\n");
}

/* The ids a search finds, "ID1 ID2" style (the last 8 digits), or
 * "error: ..." */
static const char *
search(ARC_INDEX *index, const char *sender, const char *rcpt, const char *client,
       const char *subject, const char *msgid, long long since, long long until, long limit)
{
    static char out[512];
    ARC_QUERY_KEYS q;
    ARC_SEARCH_HIT *hits;
    size_t  n, i;

    out[0] = 0;
    if (arc_query_make(&q, sender, rcpt, client, subject, msgid, since, until, limit, why) < 0) {
        snprintf(out, sizeof(out), "error: %s", vbuf_str(why));
        arc_query_free(&q);
        return out;
    }
    ck_assert_msg(arc_search_run(index, &q, &hits, &n, why) == 0, "%s", vbuf_str(why));
    for (i = 0; i < n; i++) {
        if (i)
            strcat(out, " ");
        strncat(out, hits[i].id + 11, 8);
    }
    myfree(hits);
    arc_query_free(&q);
    return out;
}


START_TEST(test_filters)
{
    ARC_INDEX *index = open_index();

    fill(index);
    /* Sender: case-insensitive, the domain too, the null sender. */
    ck_assert_str_eq(search(index, "ALICE@example.ORG", NULL, NULL, NULL, NULL, -1, -1, 0),
                     "0100000A 0200000A");
    ck_assert_str_eq(search(index, "<alice@example.org>", NULL, NULL, NULL, NULL, -1, -1, 0),
                     "0100000A 0200000A");
    ck_assert_str_eq(search(index, "@Example.org", NULL, NULL, NULL, NULL, -1, -1, 0),
                     "0100000A 0200000A");
    ck_assert_str_eq(search(index, "<>", NULL, NULL, NULL, NULL, -1, -1, 0), "0300000A");
    ck_assert_str_eq(search(index, "", NULL, NULL, NULL, NULL, -1, -1, 0), "0300000A");
    ck_assert_str_eq(search(index, "nobody@example.org", NULL, NULL, NULL, NULL, -1, -1, 0), "");
    /* Part of an address is no key. */
    ck_assert_str_eq(search(index, "alice", NULL, NULL, NULL, NULL, -1, -1, 0), "");
    /* Each recipient. */
    ck_assert_str_eq(search(index, NULL, "bob@example.com", NULL, NULL, NULL, -1, -1, 0),
                     "0100000A 0300000A 0400000A");
    ck_assert_str_eq(search(index, NULL, "carol@example.com", NULL, NULL, NULL, -1, -1, 0),
                     "0100000A");
    ck_assert_str_eq(search(index, NULL, "@example.net", NULL, NULL, NULL, -1, -1, 0),
                     "0200000A");
    /* Client, IPv6 in any spelling. */
    ck_assert_str_eq(search(index, NULL, NULL, "192.0.2.1", NULL, NULL, -1, -1, 0),
                     "0100000A 0400000A");
    ck_assert_str_eq(search(index, NULL, NULL, "2001:DB8:0::1", NULL, NULL, -1, -1, 0),
                     "0200000A");
    /* Message-ID, with or without brackets, case kept. */
    ck_assert_str_eq(search(index, NULL, NULL, NULL, NULL, "<c2@example.org>", -1, -1, 0),
                     "0200000A");
    ck_assert_str_eq(search(index, NULL, NULL, NULL, NULL, "c2@example.org", -1, -1, 0),
                     "0200000A");
    ck_assert_str_eq(search(index, NULL, NULL, NULL, NULL, "C2@example.org", -1, -1, 0), "");
    /* Subject words, decoded; all of them must be there. */
    ck_assert_str_eq(search(index, NULL, NULL, NULL, "REPORT", NULL, -1, -1, 0),
                     "0100000A 0200000A 0400000A");
    ck_assert_str_eq(search(index, NULL, NULL, NULL, "caf\xc3\xa9", NULL, -1, -1, 0),
                     "0200000A");
    ck_assert_str_eq(search(index, NULL, NULL, NULL, "quarterly report", NULL, -1, -1, 0),
                     "0100000A");
    ck_assert_str_eq(search(index, NULL, NULL, NULL, "quarterly missing", NULL, -1, -1, 0), "");
    ck_assert_str_eq(search(index, NULL, NULL, NULL, "!!", NULL, -1, -1, 0),
                     "error: the subject to search for has no words");
    /* Time. */
    ck_assert_str_eq(search(index, NULL, NULL, NULL, NULL, NULL, T0 + 100, -1, 0),
                     "0200000A 0300000A 0400000A");
    ck_assert_str_eq(search(index, NULL, NULL, NULL, NULL, NULL, T0 + 100, T0 + 200, 0),
                     "0200000A 0300000A");
    ck_assert_str_eq(search(index, NULL, NULL, NULL, NULL, NULL, -1, T0 + 99, 0), "0100000A");
    ck_assert_str_eq(search(index, NULL, NULL, NULL, NULL, NULL, T0 + 301, -1, 0), "");
    ck_assert_str_eq(search(index, NULL, NULL, NULL, NULL, NULL, T0 + 5, T0, 0),
                     "error: --since is after --until");
    /* Everything, oldest first, and a limit. */
    ck_assert_str_eq(search(index, NULL, NULL, NULL, NULL, NULL, -1, -1, 0),
                     "0100000A 0200000A 0300000A 0400000A");
    ck_assert_str_eq(search(index, NULL, NULL, NULL, NULL, NULL, -1, -1, 2),
                     "0100000A 0200000A");
    ck_assert_int_eq(arc_index_close(index, why), 0);
}
END_TEST

START_TEST(test_combinations)
{
    ARC_INDEX *index = open_index();

    fill(index);
    ck_assert_str_eq(search(index, "alice@example.org", "bob@example.com", NULL, NULL, NULL,
                            -1, -1, 0), "0100000A");
    ck_assert_str_eq(search(index, NULL, "bob@example.com", "192.0.2.1", NULL, NULL, -1, -1, 0),
                     "0100000A 0400000A");
    ck_assert_str_eq(search(index, NULL, "bob@example.com", "192.0.2.1", "report", NULL,
                            T0 + 1, -1, 0), "0400000A");
    ck_assert_str_eq(search(index, "@example.org", NULL, NULL, "report", NULL, -1, T0 + 50, 0),
                     "0100000A");
    ck_assert_str_eq(search(index, "eve@other.example", "carol@example.com", NULL, NULL, NULL,
                            -1, -1, 0), "");
    ck_assert_str_eq(search(index, NULL, NULL, "192.0.2.2", NULL, "q1@example.org", -1, -1, 0),
                     "");
    ck_assert_int_eq(arc_index_close(index, why), 0);
}
END_TEST

START_TEST(test_totals_and_changes)
{
    ARC_INDEX *index = open_index();
    ARC_INDEX_TOTALS t;
    VBUF   *rec = vbuf_create(64);
    long long oldest, newest;

    fill(index);
    ck_assert_int_eq(arc_index_totals(index, &t, why), 0);
    ck_assert_int_eq(t.count, 4);
    ck_assert_int_eq(t.raw, 4000);
    ck_assert_int_eq(t.stored, 1200);
    ck_assert_int_eq(arc_index_time_bounds(index, &oldest, &newest, why), 0);
    ck_assert_int_eq(oldest, T0);
    ck_assert_int_eq(newest, T0 + 300);
    ck_assert_int_eq(arc_index_count(index, ARC_INDEX_RCPT, "bob@example.com", 15, why), 3);
    ck_assert_int_eq(arc_index_count(index, ARC_INDEX_RCPT, "@example.com", 12, why), 3);
    ck_assert_int_eq(arc_index_count(index, ARC_INDEX_RCPT, "zed@x", 5, why), 0);

    /* The same id again replaces it: no second copy in any index. */
    put(index, ID4, 400, "mallory@other.example", "zed@example.com", "192.0.2.9",
        "Subject: replaced\r\n\r\n");
    ck_assert_int_eq(arc_index_totals(index, &t, why), 0);
    ck_assert_int_eq(t.count, 4);
    ck_assert_str_eq(search(index, "eve@other.example", NULL, NULL, NULL, NULL, -1, -1, 0), "");
    ck_assert_str_eq(search(index, NULL, "bob@example.com", NULL, NULL, NULL, -1, -1, 0),
                     "0100000A 0300000A");
    ck_assert_str_eq(search(index, NULL, NULL, NULL, "replaced", NULL, -1, -1, 0), "0400000A");
    ck_assert_int_eq(arc_index_count(index, ARC_INDEX_TIME, "\0\0\0\0\0\0\0\0", 8, why), 0);

    /* Delete: gone from every index; an absent id is no error. */
    ck_assert_int_eq(arc_index_begin(index, why), 0);
    ck_assert_int_eq(arc_index_delete(index, ID1, why), 0);
    ck_assert_int_eq(arc_index_delete(index, "00000000000000000FF", why), 0);
    ck_assert_int_eq(arc_index_commit(index, why), 0);
    ck_assert_int_eq(arc_index_get(index, ID1, rec, why), 0);
    ck_assert_int_eq(arc_index_get(index, ID2, rec, why), 1);
    ck_assert_str_eq(search(index, NULL, "carol@example.com", NULL, NULL, NULL, -1, -1, 0), "");
    ck_assert_str_eq(search(index, NULL, NULL, NULL, "quarterly", NULL, -1, -1, 0), "");
    ck_assert_int_eq(arc_index_totals(index, &t, why), 0);
    ck_assert_int_eq(t.count, 3);
    ck_assert_int_eq(t.stored, 900);
    ck_assert_int_eq(arc_index_time_bounds(index, &oldest, &newest, why), 0);
    ck_assert_int_eq(oldest, T0 + 100);

    /* An aborted transaction leaves nothing. */
    ck_assert_int_eq(arc_index_begin(index, why), 0);
    ck_assert_int_eq(arc_index_delete(index, ID2, why), 0);
    arc_index_abort(index);
    ck_assert_int_eq(arc_index_get(index, ID2, rec, why), 1);

    ck_assert_int_eq(arc_index_close(index, why), 0);
    vbuf_free(rec);
}
END_TEST

START_TEST(test_persistence)
{
    ARC_INDEX *index = open_index();
    ARC_INDEX_TOTALS t;
    pid_t   pid;
    int     status;

    fill(index);
    ck_assert_int_eq(arc_index_set_mark(index, "reindex", 1, why), 0);
    ck_assert_int_eq(arc_index_close(index, why), 0);
    index = open_index();
    ck_assert_int_eq(arc_index_get_mark(index, "reindex", why), 1);
    ck_assert_int_eq(arc_index_set_mark(index, "reindex", 0, why), 0);
    ck_assert_int_eq(arc_index_get_mark(index, "reindex", why), 0);
    ck_assert_str_eq(search(index, NULL, "bob@example.com", NULL, NULL, NULL, -1, -1, 0),
                     "0100000A 0300000A 0400000A");
    ck_assert_int_eq(arc_index_close(index, why), 0);

    /* Killed after a commit, without closing: recovery keeps it. */
    if ((pid = fork()) == 0) {
        index = arc_index_open(dir, why);
        put(index, "6B1679A20000500000A", 500, "late@example.org", "x@example.com",
            "192.0.2.5", "Subject: late\r\n\r\n");
        kill(getpid(), SIGKILL);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status));
    index = open_index();
    ck_assert_str_eq(search(index, "late@example.org", NULL, NULL, NULL, NULL, -1, -1, 0),
                     "0500000A");
    ck_assert_int_eq(arc_index_totals(index, &t, why), 0);
    ck_assert_int_eq(t.count, 5);
    ck_assert_int_eq(arc_index_close(index, why), 0);
}
END_TEST

/* A rebuild goes into new databases: searches answer from the old
 * index until the switch; what changes meanwhile changes in both; an
 * abandoned rebuild leaves the old index as it was. */
START_TEST(test_rebuild_aside)
{
    ARC_INDEX *index = open_index();
    ARC_INDEX_TOTALS t;

    fill(index);
    /* Abandoned: nothing changes. */
    ck_assert_msg(arc_index_build_begin(index, why) == 0, "%s", vbuf_str(why));
    put_to(index, 1, ID1, 0, "new@example.org", "x@example.com", "192.0.2.7",
           "Subject: a\r\n\r\n");
    ck_assert_str_eq(search(index, "new@example.org", NULL, NULL, NULL, NULL, -1, -1, 0), "");
    arc_index_build_abandon(index);
    ck_assert_str_eq(search(index, NULL, "bob@example.com", NULL, NULL, NULL, -1, -1, 0),
                     "0100000A 0300000A 0400000A");

    /* Rebuilt with ID1 and ID2 only; ID4 is replaced and ID3 removed
     * meanwhile, and a new ID5 arrives. */
    ck_assert_msg(arc_index_build_begin(index, why) == 0, "%s", vbuf_str(why));
    put_to(index, 1, ID1, 0, "alice@example.org", "bob@example.com", "192.0.2.1",
           "Subject: rebuilt\r\n\r\n");
    put_to(index, 1, ID2, 100, "alice@example.org", "dave@example.net", "2001:db8::1",
           "Subject: rebuilt too\r\n\r\n");
    ck_assert_str_eq(search(index, NULL, NULL, NULL, "rebuilt", NULL, -1, -1, 0), "");
    ck_assert_str_eq(search(index, NULL, "bob@example.com", NULL, NULL, NULL, -1, -1, 0),
                     "0100000A 0300000A 0400000A");
    put(index, ID4, 300, "eve@other.example", "bob@example.com", "192.0.2.1",
        "Subject: during\r\n\r\n");
    put(index, "6B1679A20000500000A", 400, "zoe@example.org", "bob@example.com", "192.0.2.5",
        "Subject: during\r\n\r\n");
    ck_assert_int_eq(arc_index_begin(index, why), 0);
    ck_assert_int_eq(arc_index_delete(index, ID3, why), 0);
    ck_assert_int_eq(arc_index_commit(index, why), 0);
    ck_assert_str_eq(search(index, NULL, "bob@example.com", NULL, NULL, NULL, -1, -1, 0),
                     "0100000A 0400000A 0500000A");
    ck_assert_msg(arc_index_build_switch(index, why) == 0, "%s", vbuf_str(why));
    ck_assert_str_eq(search(index, NULL, NULL, NULL, "rebuilt", NULL, -1, -1, 0),
                     "0100000A 0200000A");
    ck_assert_str_eq(search(index, NULL, "bob@example.com", NULL, NULL, NULL, -1, -1, 0),
                     "0100000A 0400000A 0500000A");
    ck_assert_str_eq(search(index, NULL, NULL, NULL, "quarterly", NULL, -1, -1, 0), "");
    ck_assert_int_eq(arc_index_totals(index, &t, why), 0);
    ck_assert_int_eq(t.count, 4);
    ck_assert_int_eq(arc_index_close(index, why), 0);
    /* The switched index is the one found at the next open. */
    index = open_index();
    ck_assert_str_eq(search(index, NULL, NULL, NULL, "during", NULL, -1, -1, 0),
                     "0400000A 0500000A");
    ck_assert_int_eq(arc_index_totals(index, &t, why), 0);
    ck_assert_int_eq(t.count, 4);
    ck_assert_int_eq(arc_index_close(index, why), 0);
}
END_TEST

int
main(void)
{
    Suite  *s = suite_create("arc_index");
    TCase  *tc = tcase_create("arc_index");
    SRunner *sr;
    int     failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_filters);
    tcase_add_test(tc, test_combinations);
    tcase_add_test(tc, test_totals_and_changes);
    tcase_add_test(tc, test_persistence);
    tcase_add_test(tc, test_rebuild_aside);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
