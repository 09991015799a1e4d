/* Unit tests for relay's DSN builder (RFC 3464): the report's structure,
 * the per-message and per-recipient fields, only the bounced recipients,
 * the returned headers, and the bounce's queue file (null sender, to the
 * original sender). */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "fixture.h"
#include "queue_dir.h"
#include "queue_id.h"
#include "queue_read.h"
#include "queue_write.h"
#include "relay/relay.h"
#include "vbuf.h"

#define T0  ((time_t) 1800000000)

static RELAY_RCPT rcpts[3];

static void
rcpt_init(RELAY_RCPT *r, const char *address, int outcome, const char *dsn,
          const char *diag, const char *reason)
{
    memset(r, 0, sizeof(*r));
    r->address = address;
    r->reason = vbuf_create(100);
    r->diag = vbuf_create(100);
    relay_rcpt_set(r, outcome, dsn, diag, "%s", reason);
}

static void
setup(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    rcpt_init(rcpts + 0, "good@example.com", RELAY_RCPT_SENT, "2.0.0", NULL, "250 2.0.0 Ok");
    rcpt_init(rcpts + 1, "bad@example.com", RELAY_RCPT_BOUNCE, "5.1.1",
              "smtp; 550 5.1.1 <bad@example.com>: User unknown",
              "host mx[192.0.2.1]:25 said: 550 5.1.1 <bad@example.com>: User unknown "
              "(in reply to RCPT TO command)");
    rcpt_init(rcpts + 2, "big@example.com", RELAY_RCPT_BOUNCE, "5.3.4", NULL,
              "message size 2000 exceeds size limit 1000 of server mx[192.0.2.1]:25");
}

static void
teardown(void)
{
    int i;

    for (i = 0; i < 3; i++) {
        vbuf_free(rcpts[i].reason);
        vbuf_free(rcpts[i].diag);
    }
    fixture_dir_remove();
}

static const char headers[] =
    "Received: from client (client [192.0.2.9])\r\n"
    "\tby gw.example.com (Alligate) with ESMTP id X; Thu, 15 Jan 2027 08:00:00 +0000\r\n"
    "Subject: the original\r\n"
    "Message-ID: <orig@example.org>\r\n\r\n";

static void
dsn_init(RELAY_DSN *dsn)
{
    memset(dsn, 0, sizeof(*dsn));
    dsn->reporting_mta = "gw.example.com";
    dsn->queue_id = "6B0224579B068001551";
    dsn->sender = "sender@example.org";
    dsn->message_id = "BOUNCE.1@gw.example.com";
    dsn->boundary = "BOUNDARY/gw.example.com";
    dsn->arrival = T0;
    dsn->now = T0 + 60;
    dsn->remote_mta = "mx.example.com";
    dsn->rcpt = rcpts;
    dsn->rcpt_count = 3;
    dsn->headers = headers;
    dsn->headers_len = strlen(headers);
}

/* The text between the n-th boundary line and the next one. */
static char *
part(const char *msg, int n)
{
    const char *start = msg, *end;
    char *out;
    int i;

    for (i = 0; i <= n; i++) {
        start = strstr(start, "\r\n--BOUNDARY/gw.example.com\r\n");
        ck_assert_ptr_nonnull(start);
        start += strlen("\r\n--BOUNDARY/gw.example.com\r\n");
    }
    end = strstr(start, "\r\n--BOUNDARY/gw.example.com");
    ck_assert_ptr_nonnull(end);
    out = strndup(start, (size_t) (end - start));
    return out;
}

START_TEST(test_top_level_headers)
{
    RELAY_DSN dsn;
    VBUF *out = vbuf_create(4096);
    const char *msg;

    dsn_init(&dsn);
    relay_dsn_build(&dsn, out);
    msg = vbuf_str(out);
    ck_assert(strncmp(msg, "Date: Fri, 15 Jan 2027 08:01:00 +0000\r\n", 39) == 0);
    ck_assert_ptr_nonnull(strstr(msg, "\r\nFrom: MAILER-DAEMON@gw.example.com (Mail Delivery System)\r\n"));
    ck_assert_ptr_nonnull(strstr(msg, "\r\nTo: <sender@example.org>\r\n"));
    ck_assert_ptr_nonnull(strstr(msg, "\r\nSubject: Undelivered Mail Returned to Sender\r\n"));
    ck_assert_ptr_nonnull(strstr(msg, "\r\nMessage-ID: <BOUNCE.1@gw.example.com>\r\n"));
    ck_assert_ptr_nonnull(strstr(msg, "\r\nAuto-Submitted: auto-replied\r\n"));
    ck_assert_ptr_nonnull(strstr(msg, "\r\nMIME-Version: 1.0\r\n"));
    ck_assert_ptr_nonnull(strstr(msg, "\r\nContent-Type: multipart/report; report-type=delivery-status;\r\n"
                                 "\tboundary=\"BOUNDARY/gw.example.com\"\r\n"));
    /* Ends with the closing boundary; every line ends with CR LF. */
    ck_assert_str_eq(msg + vbuf_len(out) - strlen("\r\n--BOUNDARY/gw.example.com--\r\n"),
                     "\r\n--BOUNDARY/gw.example.com--\r\n");
    for (const char *cp = msg; (cp = strchr(cp, '\n')) != NULL; cp++)
        ck_assert_int_eq(cp[-1], '\r');
    vbuf_free(out);
}
END_TEST

START_TEST(test_three_parts)
{
    RELAY_DSN dsn;
    VBUF *out = vbuf_create(4096);
    char *p;

    dsn_init(&dsn);
    relay_dsn_build(&dsn, out);
    p = part(vbuf_str(out), 0);
    ck_assert(strncmp(p, "Content-Description: Notification\r\n"
                      "Content-Type: text/plain; charset=us-ascii\r\n\r\n", 80) == 0);
    free(p);
    p = part(vbuf_str(out), 1);
    ck_assert_ptr_nonnull(strstr(p, "Content-Type: message/delivery-status\r\n\r\n"));
    free(p);
    p = part(vbuf_str(out), 2);
    ck_assert_ptr_nonnull(strstr(p, "Content-Type: text/rfc822-headers\r\n"));
    free(p);
    vbuf_free(out);
}
END_TEST

START_TEST(test_human_part)
{
    RELAY_DSN dsn;
    VBUF *out = vbuf_create(4096);
    char *p;

    dsn_init(&dsn);
    relay_dsn_build(&dsn, out);
    p = part(vbuf_str(out), 0);
    ck_assert_ptr_nonnull(strstr(p, "This is the mail system at host gw.example.com.\r\n"));
    ck_assert_ptr_nonnull(strstr(p, "\r\n<bad@example.com>: host mx[192.0.2.1]:25 said: 550 5.1.1 "
                                 "<bad@example.com>: User unknown (in reply to RCPT TO command)\r\n"));
    ck_assert_ptr_nonnull(strstr(p, "\r\n<big@example.com>: message size 2000 exceeds"));
    ck_assert_ptr_null(strstr(p, "good@example.com"));
    free(p);
    vbuf_free(out);
}
END_TEST

START_TEST(test_delivery_status_fields)
{
    RELAY_DSN dsn;
    VBUF *out = vbuf_create(4096);
    char *p;

    dsn_init(&dsn);
    relay_dsn_build(&dsn, out);
    p = part(vbuf_str(out), 1);
    ck_assert_ptr_nonnull(strstr(p, "\r\n\r\nReporting-MTA: dns; gw.example.com\r\n"
                                 "X-Alligate-Queue-ID: 6B0224579B068001551\r\n"
                                 "Arrival-Date: Fri, 15 Jan 2027 08:00:00 +0000\r\n"
                                 "\r\nFinal-Recipient: rfc822; bad@example.com\r\n"
                                 "Action: failed\r\n"
                                 "Status: 5.1.1\r\n"
                                 "Remote-MTA: dns; mx.example.com\r\n"
                                 "Diagnostic-Code: smtp; 550 5.1.1 <bad@example.com>: User unknown\r\n"
                                 "\r\nFinal-Recipient: rfc822; big@example.com\r\n"
                                 "Action: failed\r\n"
                                 "Status: 5.3.4\r\n"
                                 "Diagnostic-Code: X-Alligate; message size 2000 exceeds size "
                                 "limit 1000 of server mx[192.0.2.1]:25\r\n"));
    ck_assert_ptr_null(strstr(p, "good@example.com"));
    ck_assert_ptr_null(strstr(p, "Last-Attempt-Date"));
    free(p);
    vbuf_free(out);
}
END_TEST

START_TEST(test_expired)
{
    RELAY_DSN dsn;
    VBUF *out = vbuf_create(4096);
    char *p;

    dsn_init(&dsn);
    dsn.expired = "message expired after 432000 seconds in the queue";
    rcpts[1].outcome = RELAY_RCPT_SENT;
    relay_rcpt_set(rcpts + 2, RELAY_RCPT_BOUNCE, "4.4.1", NULL, "connect to mx[192.0.2.1]:25: "
                   "Connection refused");
    relay_dsn_build(&dsn, out);
    p = part(vbuf_str(out), 0);
    ck_assert_ptr_nonnull(strstr(p, "in the time the mail system keeps trying"));
    free(p);
    p = part(vbuf_str(out), 1);
    ck_assert_ptr_nonnull(strstr(p, "Final-Recipient: rfc822; big@example.com\r\n"
                                 "Action: failed\r\nStatus: 4.4.1\r\n"
                                 "Diagnostic-Code: X-Alligate; connect to mx[192.0.2.1]:25: "
                                 "Connection refused\r\n"
                                 "Last-Attempt-Date: Fri, 15 Jan 2027 08:01:00 +0000\r\n"));
    ck_assert_ptr_null(strstr(p, "bad@example.com"));
    free(p);
    vbuf_free(out);
}
END_TEST

START_TEST(test_returned_headers)
{
    RELAY_DSN dsn;
    VBUF *out = vbuf_create(4096);
    char *p;

    dsn_init(&dsn);
    relay_dsn_build(&dsn, out);
    p = part(vbuf_str(out), 2);
    ck_assert_ptr_nonnull(strstr(p, "\r\n\r\nReceived: from client (client [192.0.2.9])\r\n"
                                 "\tby gw.example.com (Alligate) with ESMTP id X; "
                                 "Thu, 15 Jan 2027 08:00:00 +0000\r\n"
                                 "Subject: the original\r\n"
                                 "Message-ID: <orig@example.org>\r\n"));
    free(p);
    vbuf_free(out);
}
END_TEST

START_TEST(test_text_made_printable)
{
    RELAY_DSN dsn;
    VBUF *out = vbuf_create(4096);
    VBUF *long_reason = vbuf_create(3000);
    int i;

    dsn_init(&dsn);
    for (i = 0; i < 2000; i++)
        vbuf_append_char(long_reason, 'r');
    relay_rcpt_set(rcpts + 1, RELAY_RCPT_BOUNCE, "5.0.0", "smtp; 550 bad\r\nInjected: yes",
                   "%s", vbuf_str(long_reason));
    relay_dsn_build(&dsn, out);
    ck_assert_ptr_null(strstr(vbuf_str(out), "\r\nInjected: yes"));
    ck_assert_ptr_nonnull(strstr(vbuf_str(out), "Diagnostic-Code: smtp; 550 bad??Injected: yes\r\n"));
    /* A reason is cut well before 998 octets. */
    ck_assert_ptr_nonnull(strstr(vbuf_str(out), "rrr...\r\n"));
    vbuf_free(long_reason);
    vbuf_free(out);
}
END_TEST

START_TEST(test_header_len)
{
    static const char plain[] = "A: 1\r\nB: 2\r\n\r\nbody\r\n";
    static const char lf[] = "A: 1\nB: 2\n\nbody\n";
    static const char none[] = "A: 1\r\nB: 2\r\n";
    static const char empty[] = "\r\nbody";
    VBUF *big = vbuf_create(RELAY_DSN_HEADERS_MAX + 100);

    ck_assert_uint_eq(relay_dsn_header_len(plain, strlen(plain)), 14);
    ck_assert_uint_eq(relay_dsn_header_len(lf, strlen(lf)), 11);
    ck_assert_uint_eq(relay_dsn_header_len(none, strlen(none)), strlen(none));
    ck_assert_uint_eq(relay_dsn_header_len(empty, strlen(empty)), 2);
    /* Too many headers: cut at a line end. */
    while (vbuf_len(big) < RELAY_DSN_HEADERS_MAX + 50)
        vbuf_append_str(big, "X-Filler: 0123456789012345678901234567890123456789\r\n");
    ck_assert_uint_le(relay_dsn_header_len(vbuf_str(big), vbuf_len(big)), RELAY_DSN_HEADERS_MAX);
    ck_assert_int_eq(vbuf_str(big)[relay_dsn_header_len(vbuf_str(big), vbuf_len(big)) - 1], '\n');
    vbuf_free(big);
}
END_TEST

/* relay_bounce_queue: the DSN as a queue file. */

START_TEST(test_bounce_queue_file)
{
    static const char original[] = "Subject: caf\xc3\xa9\r\n\r\nsecret body\r\n";
    VBUF *why = vbuf_create(100);
    QUEUE_WRITER *qf;
    QUEUE_ENVELOPE env, dsn_env;
    char id[QUEUE_ID_LEN + 1], bounce_id[QUEUE_ID_LEN + 1], path[256];
    const char *queue_dir = fixture_dir_create("check_relay_bounce");
    char *msg;
    int fd;

    conf_activate(conf_defaults());
    ck_assert_int_eq(queue_dir_init(queue_dir, why), 0);

    /* The original. */
    ck_assert_ptr_nonnull(qf = queue_write_create(queue_dir, why));
    strcpy(id, queue_write_id(qf));
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_ARRIVAL, "1800000000"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_SENDER, "sender@example.org"), 0);
    ck_assert_int_eq(queue_write_rec(qf, QUEUE_REC_RCPT, "bad@example.com"), 0);
    ck_assert_int_eq(queue_write_begin_message(qf), 0);
    ck_assert_int_eq(queue_write_message(qf, original, sizeof(original) - 1), 0);
    ck_assert_int_eq(queue_write_commit(qf, why), 0);
    snprintf(path, sizeof(path), "%s/incoming/%s", queue_dir, id);
    ck_assert_int_eq(queue_read(path, &env, why), QUEUE_READ_OK);
    ck_assert_int_ge(fd = open(path, O_RDONLY), 0);

    ck_assert_int_eq(relay_bounce_queue(queue_dir, id, &env, fd, rcpts, 3, "mx.example.com",
                                        NULL, bounce_id, why), 0);
    ck_assert(queue_id_valid(bounce_id));
    ck_assert_str_ne(bounce_id, id);
    snprintf(path, sizeof(path), "%s/incoming/%s", queue_dir, bounce_id);
    ck_assert_int_eq(queue_read(path, &dsn_env, why), QUEUE_READ_OK);
    ck_assert_str_eq(dsn_env.sender, "");
    ck_assert_uint_eq(dsn_env.rcpt_count, 1);
    ck_assert_str_eq(dsn_env.rcpt[0].address, "sender@example.org");
    ck_assert_str_eq(dsn_env.body_type, "8BITMIME");
    ck_assert_uint_eq(dsn_env.attr_count, 1);
    ck_assert_str_eq(dsn_env.attr[0].name, "dsn_for");
    ck_assert_str_eq(dsn_env.attr[0].value, id);

    msg = calloc(1, (size_t) dsn_env.message_length + 1);
    close(fd);
    ck_assert_int_ge(fd = open(path, O_RDONLY), 0);
    ck_assert_int_eq(pread(fd, msg, (size_t) dsn_env.message_length, dsn_env.message_offset),
                     dsn_env.message_length);
    ck_assert_ptr_nonnull(strstr(msg, "\r\nSubject: caf\xc3\xa9\r\n"));
    ck_assert_ptr_null(strstr(msg, "secret body"));
    ck_assert_ptr_nonnull(strstr(msg, "Final-Recipient: rfc822; bad@example.com\r\n"));
    ck_assert_ptr_nonnull(strstr(msg, "X-Alligate-Queue-ID: "));
    free(msg);
    close(fd);
    queue_read_free(&env);
    queue_read_free(&dsn_env);
    vbuf_free(why);
}
END_TEST

static Suite *
relay_bounce_suite(void)
{
    Suite *s = suite_create("relay_bounce");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_top_level_headers);
    tcase_add_test(tc, test_three_parts);
    tcase_add_test(tc, test_human_part);
    tcase_add_test(tc, test_delivery_status_fields);
    tcase_add_test(tc, test_expired);
    tcase_add_test(tc, test_returned_headers);
    tcase_add_test(tc, test_text_made_printable);
    tcase_add_test(tc, test_header_len);
    tcase_add_test(tc, test_bounce_queue_file);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(relay_bounce_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
