/* Unit tests for the archiver's typed client (lib/arc_clnt.c) against a
 * small server in a child process (attr_serv with canned replies in the
 * archiver's words): the filters of a search as they travel, the matches
 * fetched made into values, stats and reindex status; a refusal
 * (status=1), a failure (status=-1) and a reply without a status, the
 * last two no answer; a filter the framing cannot carry; and an archiver
 * that is not there. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arc_clnt.h"
#include "attr_serv.h"
#include "conf.h"
#include "fixture.h"
#include "fixture_serv.h"
#include "vbuf.h"

static const char *dir;
static char path[128];

/* The server child ---------------------------------------------------- */

static VBUF *last_search;               /* the attributes of the last one */
static int fetches, stats, reindexes;

static void
serve_search(const ATTR *request, ATTR *reply)
{
    const char *subject = attr_get(request, "subject");
    int i;

    vbuf_reset(last_search);
    for (i = 0; i < attr_count(request); i++)
        vbuf_printf(last_search, "%s%s=%s", i ? " " : "",
                    attr_name_at(request, i), attr_value_at(request, i));
    if (subject && strcmp(subject, "!?") == 0) {
        attr_set(reply, "status", "1");
        attr_set(reply, "reason", "a subject without words");
    } else if (subject && strcmp(subject, "index") == 0) {
        attr_set(reply, "status", "-1");
        attr_set(reply, "reason", "index: DB_RUNRECOVERY");
    } else {
        attr_set(reply, "status", "0");
        attr_set(reply, "matches", "2");
    }
}

/* The first fetch: two matches, the second with little said; the second
 * fetch: a bad number of entries. */
static void
serve_fetch(ATTR *reply)
{
    if (++fetches == 1) {
        attr_set(reply, "status", "0");
        attr_set(reply, "entries", "2");
        attr_set(reply, "more", "1");
        attr_set(reply, "id_0", "4F3A2B1C0D0E0F10111");
        attr_set(reply, "arrival_0", "1764585000");
        attr_set(reply, "size_0", "4321");
        attr_set(reply, "stored_0", "1234");
        attr_set(reply, "sender_0", "a@example.com");
        attr_set(reply, "rcpt_0", "b@example.net\tc@example.net\td@example.org");
        attr_set(reply, "nrcpt_0", "5");
        attr_set(reply, "client_0", "192.0.2.1");
        attr_set(reply, "name_0", "mail.example.com");
        attr_set(reply, "helo_0", "mail.example.com");
        attr_set(reply, "proto_0", "ESMTPSA");
        attr_set(reply, "user_0", "alice");
        attr_set(reply, "msgid_0", "<1@example.com>");
        attr_set(reply, "subject_0", vbuf_str(last_search));
        attr_set(reply, "id_1", "4F3A2B1C0D0E0F10112");
        attr_set(reply, "sender_1", "");
        attr_set(reply, "rcpt_1", "e@example.net");
    } else {
        attr_set(reply, "status", "0");
        attr_set(reply, "entries", fetches == 2 ? "257" : "-1");
    }
}

/* The first: everything; the second: no status. */
static void
serve_stats(ATTR *reply)
{
    if (++stats > 1) {
        attr_set(reply, "messages", "7");
        return;
    }
    attr_set(reply, "status", "0");
    attr_set(reply, "messages", "7");
    attr_set(reply, "raw_bytes", "70000");
    attr_set(reply, "stored_bytes", "30000");
    attr_set(reply, "oldest", "1764500000");
    attr_set(reply, "newest", "1764585000");
    attr_set(reply, "archived", "9");
    attr_set(reply, "removed_age", "1");
    attr_set(reply, "removed_size", "1");
    attr_set(reply, "failed", "0");
    attr_set(reply, "waiting", "2");
    attr_set(reply, "reindexing", "1");
}

static void
serve(const ATTR *request, ATTR *reply, void *context)
{
    const char *verb = attr_get(request, "request");

    (void) context;
    if (verb == NULL) {
        attr_set(reply, "status", "-1");
        attr_set(reply, "reason", "no request");
    } else if (strcmp(verb, "search") == 0) {
        serve_search(request, reply);
    } else if (strcmp(verb, "fetch") == 0) {
        serve_fetch(reply);
    } else if (strcmp(verb, "stats") == 0) {
        serve_stats(reply);
    } else if (strcmp(verb, "reindex") == 0) {
        /* Started, under way, then not available. */
        if (++reindexes == 1) {
            attr_set(reply, "status", "0");
        } else if (reindexes == 2) {
            attr_set(reply, "status", "1");
            attr_set(reply, "reason", "a reindex is under way");
        } else {
            attr_set(reply, "status", "-1");
            attr_set(reply, "reason", "reindex is not available");
        }
    } else if (strcmp(verb, "reindex_status") == 0) {
        attr_set(reply, "status", "0");
        attr_set(reply, "running", "1");
        attr_set(reply, "files", "10");
        attr_set(reply, "indexed", "4");
        attr_set(reply, "damaged", "2");
        attr_set(reply, "damaged_0", "/var/spool/alligate/archive/a");
        attr_set(reply, "damaged_1", "/var/spool/alligate/archive/b");
    } else {
        attr_set(reply, "status", "-1");
        attr_set(reply, "reason", "unknown request");
    }
}

static void
serve_requests(int listen_fd, void *context)
{
    (void) context;
    last_search = vbuf_create(256);
    attr_serv_create(listen_fd, ARC_PROTO, ARC_VERSION, serve, NULL);
    fixture_serv_loop();
}

static ARC_CLNT *
start(void)
{
    fixture_serv_start(path, serve_requests, NULL);
    return arc_clnt_create(path, 2000);
}

static void
setup(void)
{
    dir = fixture_dir_create("check_arc_clnt");
    snprintf(path, sizeof(path), "%s/" ARC_SOCKET_NAME, dir);
}

static void
teardown(void)
{
    fixture_serv_stop();
    fixture_dir_remove();
}

/* The tests ------------------------------------------------------------- */

/* The filters travel as they were given, in order; the matches come back
 * as values (the first one's subject is the search the server saw). */
START_TEST(test_search_fetch)
{
    ARC_CLNT *c = start();
    ARC_QUERY q;
    ARC_MATCH *list;
    long matches = -1;
    int count, more;

    arc_query_init(&q);
    q.sender = "a@example.com";
    q.rcpt = "b@example.net";
    q.client = "192.0.2.0/24";
    q.subject = "invoice due";
    q.message_id = "<1@example.com>";
    q.since = 0;
    q.until = 1764585600;
    q.limit = 50;
    ck_assert_int_eq(arc_clnt_search(c, &q, &matches), ARC_CLNT_OK);
    ck_assert_int_eq(matches, 2);
    ck_assert_int_eq(arc_clnt_fetch(c, &list, &count, &more), ARC_CLNT_OK);
    ck_assert_int_eq(count, 2);
    ck_assert_int_eq(more, 1);
    ck_assert_str_eq(list[0].subject,
                     "request=search sender=a@example.com rcpt=b@example.net "
                     "client=192.0.2.0/24 subject=invoice due "
                     "message_id=<1@example.com> since=0 until=1764585600 limit=50");
    ck_assert_str_eq(list[0].id, "4F3A2B1C0D0E0F10111");
    ck_assert_int_eq(list[0].arrival, 1764585000);
    ck_assert_int_eq(list[0].size, 4321);
    ck_assert_int_eq(list[0].stored, 1234);
    ck_assert_str_eq(list[0].sender, "a@example.com");
    ck_assert_int_eq(list[0].rcpt_count, 3);
    ck_assert_str_eq(list[0].rcpt[0], "b@example.net");
    ck_assert_str_eq(list[0].rcpt[2], "d@example.org");
    ck_assert_int_eq(list[0].rcpt_total, 5);
    ck_assert_str_eq(list[0].client_addr, "192.0.2.1");
    ck_assert_str_eq(list[0].client_name, "mail.example.com");
    ck_assert_str_eq(list[0].helo, "mail.example.com");
    ck_assert_str_eq(list[0].protocol, "ESMTPSA");
    ck_assert_str_eq(list[0].sasl_user, "alice");
    ck_assert_str_eq(list[0].message_id, "<1@example.com>");
    /* What is not said is empty, not made up. */
    ck_assert_str_eq(list[1].id, "4F3A2B1C0D0E0F10112");
    ck_assert_int_eq(list[1].arrival, 0);
    ck_assert_str_eq(list[1].sender, "");
    ck_assert_int_eq(list[1].rcpt_count, 1);
    ck_assert_str_eq(list[1].rcpt[0], "e@example.net");
    ck_assert_str_eq(list[1].subject, "");
    arc_clnt_matches_free(list, count);

    /* A search without filters sends none; the previous ones are gone. */
    arc_query_init(&q);
    ck_assert_int_eq(arc_clnt_search(c, &q, &matches), ARC_CLNT_OK);
    ck_assert_int_eq(arc_clnt_search(c, &q, &matches), ARC_CLNT_OK);
    ck_assert_ptr_null(arc_clnt_free(c));
}
END_TEST

START_TEST(test_fetch_bad_entries)
{
    ARC_CLNT *c = start();
    ARC_MATCH *list;
    int count, more;

    ck_assert_int_eq(arc_clnt_fetch(c, &list, &count, &more), ARC_CLNT_OK);
    arc_clnt_matches_free(list, count);
    /* More than one message can hold, then fewer than none. */
    ck_assert_int_eq(arc_clnt_fetch(c, &list, &count, &more), ARC_CLNT_NOANSWER);
    ck_assert_str_eq(arc_clnt_error(c), "reply with a bad number of entries");
    ck_assert_ptr_null(list);
    ck_assert_int_eq(count, 0);
    ck_assert_int_eq(arc_clnt_fetch(c, &list, &count, &more), ARC_CLNT_NOANSWER);
    ck_assert_str_eq(arc_clnt_error(c), "reply with a bad number of entries");
    arc_clnt_free(c);
}
END_TEST

/* status=1 is a refusal; status=-1 the archiver's failure, which
 * alligatectl reports as no answer. */
START_TEST(test_refused_and_failed)
{
    ARC_CLNT *c = start();
    ARC_QUERY q;
    long matches;

    arc_query_init(&q);
    q.subject = "!?";
    ck_assert_int_eq(arc_clnt_search(c, &q, &matches), ARC_CLNT_REFUSED);
    ck_assert_str_eq(arc_clnt_error(c), "a subject without words");
    q.subject = "index";
    ck_assert_int_eq(arc_clnt_search(c, &q, &matches), ARC_CLNT_NOANSWER);
    ck_assert_str_eq(arc_clnt_error(c), "index: DB_RUNRECOVERY");

    ck_assert_int_eq(arc_clnt_reindex(c), ARC_CLNT_OK);
    ck_assert_int_eq(arc_clnt_reindex(c), ARC_CLNT_REFUSED);
    ck_assert_str_eq(arc_clnt_error(c), "a reindex is under way");
    ck_assert_int_eq(arc_clnt_reindex(c), ARC_CLNT_NOANSWER);
    ck_assert_str_eq(arc_clnt_error(c), "reindex is not available");
    arc_clnt_free(c);
}
END_TEST

START_TEST(test_stats)
{
    ARC_CLNT *c = start();
    ARC_CLNT_STATS st;

    ck_assert_int_eq(arc_clnt_stats(c, &st), ARC_CLNT_OK);
    ck_assert_int_eq(st.messages, 7);
    ck_assert_int_eq(st.raw_bytes, 70000);
    ck_assert_int_eq(st.stored_bytes, 30000);
    ck_assert_int_eq(st.oldest, 1764500000);
    ck_assert_int_eq(st.newest, 1764585000);
    ck_assert_int_eq(st.archived, 9);
    ck_assert_int_eq(st.removed_age, 1);
    ck_assert_int_eq(st.removed_size, 1);
    ck_assert_int_eq(st.failed, 0);
    ck_assert_int_eq(st.waiting, 2);
    ck_assert_int_eq(st.reindexing, 1);
    /* A reply without a status: a confused archiver, no answer. */
    ck_assert_int_eq(arc_clnt_stats(c, &st), ARC_CLNT_NOANSWER);
    ck_assert_str_eq(arc_clnt_error(c), "reply without a valid status");
    arc_clnt_free(c);
}
END_TEST

START_TEST(test_reindex_status)
{
    ARC_CLNT *c = start();
    ARC_CLNT_REINDEX st;

    ck_assert_int_eq(arc_clnt_reindex_status(c, &st), ARC_CLNT_OK);
    ck_assert_int_eq(st.running, 1);
    ck_assert_int_eq(st.files, 10);
    ck_assert_int_eq(st.indexed, 4);
    ck_assert_int_eq(st.damaged, 2);
    ck_assert_int_eq(st.damaged_shown, 2);
    ck_assert_str_eq(st.damaged_paths[1], "/var/spool/alligate/archive/b");
    arc_clnt_reindex_free(&st);
    ck_assert_int_eq(st.damaged_shown, 0);
    arc_clnt_free(c);
}
END_TEST

/* A filter the framing cannot carry is refused before anything is sent
 * (no archiver runs here). */
START_TEST(test_unsendable)
{
    ARC_CLNT *c = arc_clnt_create(path, 500);
    ARC_QUERY q;
    long matches;

    arc_query_init(&q);
    q.rcpt = "b@example.net";
    q.subject = "two\r\nrequest=reindex";
    ck_assert_int_eq(arc_clnt_search(c, &q, &matches), ARC_CLNT_REFUSED);
    ck_assert_str_eq(arc_clnt_error(c),
                     "subject cannot be sent (too long, or a line break in it)");
    arc_clnt_free(c);
}
END_TEST

START_TEST(test_not_running)
{
    ARC_CLNT *c = arc_clnt_create(path, 500);
    ARC_CLNT_STATS st;

    ck_assert_int_eq(arc_clnt_stats(c, &st), ARC_CLNT_NOANSWER);
    ck_assert_ptr_nonnull(strstr(arc_clnt_error(c), path));
    arc_clnt_free(c);
}
END_TEST

START_TEST(test_default_path)
{
    const char *p;

    conf_activate(conf_defaults());
    p = arc_clnt_default_path();
    ck_assert_int_eq(strncmp(p, conf_str(P_run_directory), strlen(conf_str(P_run_directory))), 0);
    ck_assert_str_eq(p + strlen(conf_str(P_run_directory)), "/" ARC_SOCKET_NAME);
}
END_TEST

static Suite *
arc_clnt_suite(void)
{
    Suite *s = suite_create("arc_clnt");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_search_fetch);
    tcase_add_test(tc, test_fetch_bad_entries);
    tcase_add_test(tc, test_refused_and_failed);
    tcase_add_test(tc, test_stats);
    tcase_add_test(tc, test_reindex_status);
    tcase_add_test(tc, test_unsendable);
    tcase_add_test(tc, test_not_running);
    tcase_add_test(tc, test_default_path);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(arc_clnt_suite());
    int failed;

    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
