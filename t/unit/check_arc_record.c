/* Unit tests for the archive index record (archiver/arc_record.c) and the
 * header fields it is made from (archiver/arc_header.c): what is taken
 * from the message, what is made safe, and the decoder's refusal of
 * anything malformed. */
#include <check.h>
#include <string.h>

#include "archiver/arc_header.h"
#include "archiver/arc_record.h"
#include "mymalloc.h"
#include "vbuf.h"

#define ID      "6B1679A28D1B0002DEA"

static const char *
field(const char *msg, const char *name)
{
    static VBUF *v;

    if (v == NULL)
        v = vbuf_create(16);
    if (!arc_header_field(msg, strlen(msg), name, v))
        return NULL;
    return vbuf_str(v);
}

START_TEST(test_header)
{
    static const char msg[] =
        "Received: from x\r\n\tby y; date\r\n"
        "subject:  Folded\r\n  over\r\n\tlines  \r\n"
        "Message-Id: <a@b>\r\n"
        "Subject: second subject\r\n"
        "\r\n"
        "Message-ID: <in-body@x>\r\n";

    ck_assert_str_eq(field(msg, "Subject"), "Folded  over\tlines");
    ck_assert_str_eq(field(msg, "Message-ID"), "<a@b>");
    ck_assert_str_eq(field(msg, "Received"), "from x\tby y; date");
    /* Not in the header (the body does not count). */
    ck_assert_ptr_null(field("From: a\r\n\r\nSubject: no\r\n", "Subject"));
    ck_assert_ptr_null(field("", "Subject"));
    /* Bare LF lines, an empty value, a name that only starts alike. */
    ck_assert_str_eq(field("Subject: lf\nX: y\n\nbody", "Subject"), "lf");
    ck_assert_str_eq(field("Subject:\r\n\r\n", "Subject"), "");
    ck_assert_ptr_null(field("Subjects: x\r\nSubject x\r\n\r\n", "Subject"));
    /* A header cut short (the message is only its header). */
    ck_assert_str_eq(field("Subject: cut", "Subject"), "cut");
    /* A continuation line before any field belongs to nothing. */
    ck_assert_ptr_null(field(" Subject: x\r\n\r\n", "Subject"));
}
END_TEST

static void
envelope(ARC_ENVELOPE *e)
{
    static char *rcpt[] = {"bob@example.com", "carol@example.com"};

    memset(e, 0, sizeof(*e));
    strcpy(e->id, ID);
    e->arrival = 1796635042;
    e->client_addr = "192.0.2.7";
    e->helo = "helo.example";
    e->protocol = "ESMTPS";
    e->sender = "Alice@Example.org";
    e->size = -1;
    e->rcpt = rcpt;
    e->rcpt_count = 2;
    e->length = 4321;
}

START_TEST(test_make_decode)
{
    static const char head[] =
        "Subject: =?utf-8?q?Caf=C3=A9?= =?utf-8?q?_cr=C3=A8me?=\r\n"
        "Message-ID: <Abc@Example.org>\r\n\r\n";
    ARC_ENVELOPE e;
    ARC_RECORD rec;
    VBUF   *out = vbuf_create(64);

    envelope(&e);
    arc_record_make(out, &e, head, strlen(head), 1000);
    ck_assert_int_eq(arc_record_decode(vbuf_str(out), vbuf_len(out), &rec), 0);
    ck_assert_str_eq(rec.id, ID);
    ck_assert_int_eq(rec.arrival, 1796635042);
    ck_assert_int_eq(rec.size, 4321);
    ck_assert_int_eq(rec.stored, 1000);
    ck_assert_str_eq(rec.client_addr, "192.0.2.7");
    ck_assert_str_eq(rec.client_name, "");
    ck_assert_str_eq(rec.helo, "helo.example");
    ck_assert_str_eq(rec.protocol, "ESMTPS");
    ck_assert_str_eq(rec.sasl_user, "");
    ck_assert_str_eq(rec.sender, "Alice@Example.org");
    ck_assert_str_eq(rec.message_id, "Abc@Example.org");
    ck_assert_str_eq(rec.subject, "Caf\xc3\xa9 cr\xc3\xa8me");
    ck_assert_uint_eq(rec.rcpt_count, 2);
    ck_assert_str_eq(rec.rcpt[0], "bob@example.com");
    ck_assert_str_eq(rec.rcpt[1], "carol@example.com");
    arc_record_release(&rec);

    /* No header at all. */
    arc_record_make(out, &e, "", 0, 1);
    ck_assert_int_eq(arc_record_decode(vbuf_str(out), vbuf_len(out), &rec), 0);
    ck_assert_str_eq(rec.subject, "");
    ck_assert_str_eq(rec.message_id, "");
    arc_record_release(&rec);
    vbuf_free(out);
}
END_TEST

START_TEST(test_made_safe)
{
    static const char head[] =
        "Subject: =?utf-8?q?a=00b=1B[2J=0Ac?=\r\nMessage-ID: <../../x\x01y@z>\r\n\r\n";
    static char *rcpt[] = {"tab\there@x", "bad\xff" "utf8@x"};
    ARC_ENVELOPE e;
    ARC_RECORD rec;
    VBUF   *out = vbuf_create(64);
    char    long_subject[3000];

    envelope(&e);
    e.rcpt = rcpt;
    e.helo = "h\x7f" "elo";
    arc_record_make(out, &e, head, strlen(head), 1);
    ck_assert_int_eq(arc_record_decode(vbuf_str(out), vbuf_len(out), &rec), 0);
    ck_assert_str_eq(rec.subject, "a b [2J c");
    ck_assert_str_eq(rec.message_id, "../../x?y@z");
    ck_assert_str_eq(rec.rcpt[0], "tab?here@x");
    ck_assert_str_eq(rec.rcpt[1], "bad?utf8@x");
    ck_assert_str_eq(rec.helo, "h?elo");
    arc_record_release(&rec);

    /* A long subject is cut on a character boundary. */
    strcpy(long_subject, "Subject: ");
    while (strlen(long_subject) < 2500)
        strcat(long_subject, "\xc3\xa9");
    strcat(long_subject, "\r\n\r\n");
    arc_record_make(out, &e, long_subject, strlen(long_subject), 1);
    ck_assert_int_eq(arc_record_decode(vbuf_str(out), vbuf_len(out), &rec), 0);
    ck_assert_uint_le(strlen(rec.subject), ARC_RECORD_SUBJECT_MAX);
    ck_assert_uint_ge(strlen(rec.subject), ARC_RECORD_SUBJECT_MAX - 1);
    ck_assert_int_eq(strlen(rec.subject) % 2, 0);
    arc_record_release(&rec);
    vbuf_free(out);
}
END_TEST

static void
refused(const char *data, size_t len)
{
    ARC_RECORD rec;

    ck_assert_int_eq(arc_record_decode(data, len, &rec), -1);
    ck_assert_ptr_null(rec.rcpt);
}

#define FIELDS  "1\0" ID "\0" "5\0" "6\0" "7\0" "c\0" "n\0" "h\0" "p\0" "u\0" "s\0" "m\0" "t\0"

START_TEST(test_decode_refused)
{
    static const char good[] = FIELDS "1\0" "r@x";
    ARC_RECORD rec;

    ck_assert_int_eq(arc_record_decode(good, sizeof(good), &rec), 0);
    ck_assert_str_eq(rec.rcpt[0], "r@x");
    arc_record_release(&rec);
    refused(good, sizeof(good) - 1);                /* no final NUL */
    refused(good, 0);
    refused("2\0", 2);
    refused(FIELDS, sizeof(FIELDS) - 1);            /* no recipient count */
    refused(FIELDS "2\0" "r@x", sizeof(FIELDS "2\0" "r@x"));    /* one short */
    refused(FIELDS "1\0" "r@x\0" "extra", sizeof(FIELDS "1\0" "r@x\0" "extra"));
    refused(FIELDS "x\0" "r@x", sizeof(FIELDS "x\0" "r@x"));
    refused(FIELDS "99999999999\0", sizeof(FIELDS "99999999999\0"));
    refused("1\0" "not-an-id\0" "5\0" "6\0" "7\0" "c\0" "n\0" "h\0" "p\0" "u\0" "s\0" "m\0"
            "t\0" "0", sizeof("1\0" "not-an-id\0" "5\0" "6\0" "7\0" "c\0" "n\0" "h\0" "p\0"
                                  "u\0" "s\0" "m\0" "t\0" "0"));
    refused("1\0" ID "\0" "-5\0" "6\0" "7\0" "c\0" "n\0" "h\0" "p\0" "u\0" "s\0" "m\0" "t\0"
            "0", sizeof("1\0" ID "\0" "-5\0" "6\0" "7\0" "c\0" "n\0" "h\0" "p\0" "u\0" "s\0"
                        "m\0" "t\0" "0"));
}
END_TEST

int
main(void)
{
    Suite  *s = suite_create("arc_record");
    TCase  *tc = tcase_create("arc_record");
    SRunner *sr;
    int     failed;

    tcase_add_test(tc, test_header);
    tcase_add_test(tc, test_make_decode);
    tcase_add_test(tc, test_made_safe);
    tcase_add_test(tc, test_decode_refused);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
