/* Unit tests for the archiver's requests (archiver/arc_request.c) on a
 * real index: a search's matches come in pages that each fit one message
 * of the socket framing however large the records (many long
 * recipients, long subjects), every match once and in order; the
 * matches belong to the client that searched; bad requests get a
 * status. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "archiver/arc_index.h"
#include "archiver/arc_record.h"
#include "archiver/arc_request.h"
#include "attr.h"
#include "fixture.h"
#include "mymalloc.h"
#include "vbuf.h"

static const char *dir;
static VBUF *why;
static ARC_INDEX *index_;
static ARC_SERVICE svc;

static void
setup(void)
{
    dir = fixture_dir_create("check_arc_request");
    why = vbuf_create(64);
    ck_assert_msg((index_ = arc_index_open(dir, why)) != NULL, "%s", vbuf_str(why));
    arc_request_init(&svc, index_);
}

static void
teardown(void)
{
    arc_request_free(&svc);
    arc_index_close(index_, why);
    fixture_dir_remove();
    why = vbuf_free(why);
}

/* Message i: nrcpt long recipients, a long subject. */
static void
put(int i, int nrcpt)
{
    ARC_ENVELOPE e;
    VBUF   *rec = vbuf_create(64), *head = vbuf_create(2048);
    char  **r = mycalloc((size_t) nrcpt, sizeof(*r));
    int     j;

    memset(&e, 0, sizeof(e));
    snprintf(e.id, sizeof(e.id), "6B1679A2%05X00000A", i);
    e.arrival = 1796635042LL + i;
    e.sender = "sender@example.org";
    e.client_addr = "192.0.2.1";
    for (j = 0; j < nrcpt; j++) {
        r[j] = mymalloc(100);
        snprintf(r[j], 100, "a-rather-long-recipient-address-number-%04d@department.example.com", j);
    }
    e.rcpt = r;
    e.rcpt_count = (size_t) nrcpt;
    e.length = 100;
    vbuf_set(head, "Subject: ");
    for (j = 0; j < 120; j++)
        vbuf_append_str(head, "longword ");
    vbuf_printf(head, "n%d\r\n\r\n", i);
    arc_record_make(rec, &e, vbuf_str(head), vbuf_len(head), 50);
    ck_assert_int_eq(arc_index_begin(index_, why), 0);
    ck_assert_msg(arc_index_put(index_, rec, why) == 0, "%s", vbuf_str(why));
    ck_assert_int_eq(arc_index_commit(index_, why), 0);
    for (j = 0; j < nrcpt; j++)
        myfree(r[j]);
    myfree(r);
    vbuf_free(rec);
    vbuf_free(head);
}

/* Handles a request given as "name=value" pairs; the reply must print
 * as one message that parses back. */
static ATTR *
call(unsigned long client, const char *verb, const char *name, const char *value)
{
    ATTR   *req = attr_create(), *reply = attr_create(), *back = attr_create();
    VBUF   *wire = vbuf_create(1024);
    size_t  used;

    attr_set(req, "request", verb);
    if (name)
        attr_set(req, name, value);
    arc_request_handle(&svc, req, reply, client);
    attr_print(wire, reply);
    ck_assert_uint_le(vbuf_len(wire), ATTR_MESSAGE_MAX);
    ck_assert_int_eq(attr_parse(back, vbuf_str(wire), vbuf_len(wire), &used, why), 1);
    ck_assert_uint_eq(used, vbuf_len(wire));
    attr_free(req);
    attr_free(back);
    vbuf_free(wire);
    return reply;
}

START_TEST(test_pages)
{
    ATTR   *reply;
    long    n, entries, nrcpt, seen = 0, pages = 0;
    char    key[32], want[32];
    const char *v;
    int     i, more = 1;

    for (i = 0; i < 60; i++)
        put(i, i % 3 == 0 ? 150 : 2);
    reply = call(7, "search", "sender", "SENDER@example.org");
    ck_assert_int_eq(attr_get_long(reply, "status", &n), 0);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(attr_get_long(reply, "matches", &n), 0);
    ck_assert_int_eq(n, 60);
    attr_free(reply);
    while (more) {
        reply = call(7, "fetch", NULL, NULL);
        ck_assert_int_eq(attr_get_long(reply, "entries", &entries), 0);
        ck_assert_int_gt(entries, 0);
        for (i = 0; i < entries; i++, seen++) {
            snprintf(key, sizeof(key), "id_%d", i);
            snprintf(want, sizeof(want), "6B1679A2%05lX00000A", seen);
            ck_assert_str_eq(attr_get(reply, key), want);
            snprintf(key, sizeof(key), "nrcpt_%d", i);
            ck_assert_int_eq(attr_get_long(reply, key, &nrcpt), 0);
            ck_assert_int_eq(nrcpt, seen % 3 == 0 ? 150 : 2);
            snprintf(key, sizeof(key), "rcpt_%d", i);
            ck_assert_ptr_nonnull(v = attr_get(reply, key));
            ck_assert_uint_le(strlen(v), ATTR_VALUE_MAX);
            ck_assert(strncmp(v, "a-rather-long-recipient-address-number-0000@", 44) == 0);
            snprintf(key, sizeof(key), "subject_%d", i);
            ck_assert_ptr_nonnull(strstr(attr_get(reply, key), "longword longword"));
        }
        more = attr_get(reply, "more")[0] == '1';
        pages++;
        attr_free(reply);
    }
    ck_assert_int_eq(seen, 60);
    ck_assert_int_gt(pages, 1);
    /* Nothing more to fetch: an empty last page. */
    reply = call(7, "fetch", NULL, NULL);
    ck_assert_int_eq(attr_get_long(reply, "entries", &entries), 0);
    ck_assert_int_eq(entries, 0);
    attr_free(reply);
}
END_TEST

START_TEST(test_clients_and_errors)
{
    ATTR   *reply;
    long    n;

    put(1, 1);
    put(2, 1);
    attr_free(call(1, "search", "limit", "1"));
    /* Another client has no search of its own. */
    reply = call(2, "fetch", NULL, NULL);
    ck_assert_int_eq(attr_get_long(reply, "status", &n), 0);
    ck_assert_int_eq(n, 1);
    attr_free(reply);
    reply = call(1, "fetch", NULL, NULL);
    ck_assert_int_eq(attr_get_long(reply, "entries", &n), 0);
    ck_assert_int_eq(n, 1);
    attr_free(reply);
    /* Gone with its connection. */
    arc_request_client_gone(&svc, 1);
    reply = call(1, "fetch", NULL, NULL);
    ck_assert_str_eq(attr_get(reply, "reason"), "no search to fetch from");
    attr_free(reply);
    /* Bad requests. */
    reply = call(3, "search", "since", "yesterday");
    ck_assert_int_eq(attr_get_long(reply, "status", &n), 0);
    ck_assert_int_eq(n, -1);
    attr_free(reply);
    reply = call(3, "search", "subject", "...");
    ck_assert_int_eq(attr_get_long(reply, "status", &n), 0);
    ck_assert_int_eq(n, 1);
    attr_free(reply);
    reply = call(3, "dance", NULL, NULL);
    ck_assert_str_eq(attr_get(reply, "reason"), "unknown request");
    attr_free(reply);
    reply = call(3, "reindex", NULL, NULL);
    ck_assert_str_eq(attr_get(reply, "reason"), "reindex is not available");
    attr_free(reply);
    reply = call(3, "stats", NULL, NULL);
    ck_assert_str_eq(attr_get(reply, "messages"), "2");
    ck_assert_str_eq(attr_get(reply, "stored_bytes"), "100");
    ck_assert_str_eq(attr_get(reply, "oldest"), "1796635043");
    ck_assert_str_eq(attr_get(reply, "reindexing"), "0");
    attr_free(reply);
}
END_TEST

int
main(void)
{
    Suite  *s = suite_create("arc_request");
    TCase  *tc = tcase_create("arc_request");
    SRunner *sr;
    int     failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_pages);
    tcase_add_test(tc, test_clients_and_errors);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
