/* Unit tests for archive files (lib/arc_file.c): their place, the
 * envelope frame, the writer, and the reader's refusal of every kind of
 * damage. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arc_file.h"
#include "fixture.h"
#include "mymalloc.h"
#include "queue_read.h"
#include "vbuf.h"

/* 0x6B1679A2 = 1796635042 = 2026-12-07T09:17:22Z */
#define ID      "6B1679A28D1B0002DEA"

static const char *dir;
static VBUF *why;

static void
setup(void)
{
    dir = fixture_dir_create("check_arc_file");
    why = vbuf_create(64);
}

static void
teardown(void)
{
    fixture_dir_remove();
    why = vbuf_free(why);
}

/* The full path of a file in the test's directory (static buffer, one
 * per call site is enough here). */
static const char *
fpath(const char *name)
{
    static char buf[2][512];
    static int n;

    n = !n;
    snprintf(buf[n], sizeof(buf[n]), "%s/%s", dir, name);
    return buf[n];
}

/* A queue envelope as queue_read gives it, sealed credentials too. */
static void
queue_env(QUEUE_ENVELOPE *q)
{
    static QUEUE_RCPT rcpt[2] = {{"bob@example.com", 'D', 0}, {"carol@example.com", 'R', 0}};

    memset(q, 0, sizeof(*q));
    q->arrival = 1796635042;
    q->client_addr = "192.0.2.7";
    q->client_name = "mail.example.org";
    q->helo = "mail.example.org";
    q->protocol = "ESMTPSA";
    q->sasl_user = "alice";
    q->sender = "alice@example.org";
    q->size = 1234;
    q->body_type = "8BITMIME";
    q->smtputf8 = 1;
    q->rcpt = rcpt;
    q->rcpt_count = 2;
    q->auth_sealed = "U0VBTEVEU0VDUkVU";
}

START_TEST(test_rel_path)
{
    VBUF   *rel = vbuf_create(16);

    ck_assert_int_eq(arc_file_rel_path(rel, ID), 0);
    ck_assert_str_eq(vbuf_str(rel), "2026/12/07/" ID ".eml.zst");
    ck_assert_uint_eq(vbuf_len(rel), ARC_FILE_REL_LEN);
    ck_assert_int_eq(arc_file_rel_path(rel, "00000000000000000AB"), 0);
    ck_assert_str_eq(vbuf_str(rel), "1970/01/01/00000000000000000AB.eml.zst");
    /* Only queue ids: nothing a client sent can name a file. */
    ck_assert_int_eq(arc_file_rel_path(rel, "../../etc/passwd"), -1);
    ck_assert_int_eq(arc_file_rel_path(rel, "6b1679a28d1b0002dea"), -1);
    ck_assert_int_eq(arc_file_rel_path(rel, "6B1679A28D1B0002DE"), -1);
    ck_assert_int_eq(arc_file_rel_path(rel, ""), -1);
    vbuf_free(rel);
}
END_TEST

START_TEST(test_envelope)
{
    QUEUE_ENVELOPE q;
    ARC_ENVELOPE e;
    VBUF   *text = vbuf_create(64);

    queue_env(&q);
    arc_file_envelope_encode(text, ID, &q, 5000);
    /* The sealed credentials never come along. */
    ck_assert_ptr_null(strstr(vbuf_str(text), "U0VBTEVE"));
    ck_assert_ptr_null(strstr(vbuf_str(text), "\nK "));
    ck_assert_str_eq(vbuf_str(text),
                     "ALLIGATE-ARCHIVE 1\nI " ID "\nT 1796635042\nC 192.0.2.7\n"
                     "N mail.example.org\nH mail.example.org\nP ESMTPSA\nU alice\n"
                     "S alice@example.org\nZ 1234\nY 8BITMIME\n8 1\n"
                     "R bob@example.com\nR carol@example.com\nL 5000\n");
    ck_assert_int_eq(arc_file_envelope_parse(vbuf_str(text), vbuf_len(text), &e, why), 0);
    ck_assert_str_eq(e.id, ID);
    ck_assert_int_eq(e.arrival, 1796635042);
    ck_assert_str_eq(e.client_addr, "192.0.2.7");
    ck_assert_str_eq(e.client_name, "mail.example.org");
    ck_assert_str_eq(e.sasl_user, "alice");
    ck_assert_str_eq(e.sender, "alice@example.org");
    ck_assert_int_eq(e.size, 1234);
    ck_assert_int_eq(e.smtputf8, 1);
    ck_assert_uint_eq(e.rcpt_count, 2);
    ck_assert_str_eq(e.rcpt[1], "carol@example.com");
    ck_assert_int_eq(e.length, 5000);
    ck_assert(arc_envelope_tls(&e));
    arc_envelope_free(&e);

    /* The least: id, arrival, null sender, a recipient, the length. */
    memset(&q, 0, sizeof(q));
    q.size = -1;
    q.sender = "";
    q.rcpt = (QUEUE_RCPT[]) {{"x@y", 'R', 0}};
    q.rcpt_count = 1;
    arc_file_envelope_encode(text, ID, &q, 0);
    ck_assert_int_eq(arc_file_envelope_parse(vbuf_str(text), vbuf_len(text), &e, why), 0);
    ck_assert_str_eq(e.sender, "");
    ck_assert_ptr_null(e.client_addr);
    ck_assert_int_eq(e.size, -1);
    ck_assert(!arc_envelope_tls(&e));
    arc_envelope_free(&e);
    vbuf_free(text);
}
END_TEST

static void
bad_envelope(const char *text, const char *reason)
{
    ARC_ENVELOPE e;

    ck_assert_msg(arc_file_envelope_parse(text, strlen(text), &e, why) == -1,
                  "accepted: %s", text);
    ck_assert_msg(strstr(vbuf_str(why), reason) != NULL, "%s: %s", text, vbuf_str(why));
    ck_assert_ptr_null(e.rcpt);
    ck_assert_ptr_null(e.sender);
}

#define MAGIC   "ALLIGATE-ARCHIVE 1\n"
#define GOOD    "I " ID "\nT 1\nS a@b\nR c@d\nL 4\n"

START_TEST(test_envelope_refused)
{
    ARC_ENVELOPE e;

    ck_assert_int_eq(arc_file_envelope_parse(MAGIC GOOD, strlen(MAGIC GOOD), &e, why), 0);
    arc_envelope_free(&e);
    bad_envelope("", "bad magic");
    bad_envelope("ALLIGATE-ARCHIVE 2\n" GOOD, "bad magic");
    bad_envelope("ALLIGATE-QUEUE 1\n" GOOD, "bad magic");
    bad_envelope(MAGIC "I " ID "\nT 1\nS a@b\nR c@d\n", "required record is missing");
    bad_envelope(MAGIC "T 1\nS a@b\nR c@d\nL 4\n", "required record is missing");
    bad_envelope(MAGIC "I " ID "\nS a@b\nR c@d\nL 4\n", "required record is missing");
    bad_envelope(MAGIC "I " ID "\nT 1\nR c@d\nL 4\n", "required record is missing");
    bad_envelope(MAGIC "I " ID "\nT 1\nS a@b\nL 4\n", "no recipient");
    bad_envelope(MAGIC GOOD "T 2\n", "duplicate T");
    bad_envelope(MAGIC GOOD "K U0VBTA==\n", "unknown record type");
    bad_envelope(MAGIC GOOD "D delivered@x\n", "unknown record type");
    bad_envelope(MAGIC GOOD "R \n", "empty recipient");
    bad_envelope(MAGIC GOOD "Z x\n", "bad number");
    bad_envelope(MAGIC "I ../../etc/pwd\nT 1\nS a@b\nR c@d\nL 4\n", "bad queue id");
    bad_envelope(MAGIC "I 6b1679a28d1b0002dea\nT 1\nS a@b\nR c@d\nL 4\n", "bad queue id");
    bad_envelope(MAGIC "I " ID "\nT 1\nS a@b\nR c@d\nL -4\n", "bad number");
    bad_envelope(MAGIC GOOD "8 2\n", "smtputf8");
    bad_envelope(MAGIC GOOD "R x", "truncated record");
    bad_envelope(MAGIC GOOD "R\n", "malformed record");
    bad_envelope(MAGIC GOOD "Rx\n", "malformed record");
    {
        char    nul[] = MAGIC GOOD "R a\0b\n";

        ck_assert_int_eq(arc_file_envelope_parse(nul, sizeof(nul) - 1, &e, why), -1);
        ck_assert_ptr_nonnull(strstr(vbuf_str(why), "NUL"));
    }
}
END_TEST

/* Writes an archive file of msg (read from a file at an offset) and
 * returns its bytes (mymalloc) and length. */
static char *
write_file(const char *msg, size_t msg_len, const char *path, size_t *len, VBUF *head)
{
    QUEUE_ENVELOPE q;
    VBUF   *env = vbuf_create(64), *src = vbuf_create(64);
    off_t   stored;
    int     in, out;
    char   *data;

    queue_env(&q);
    arc_file_envelope_encode(env, ID, &q, (long long) msg_len);
    vbuf_set(src, "0123456789");
    vbuf_append(src, msg, msg_len);
    fixture_write("source", vbuf_str(src), vbuf_len(src));
    ck_assert_int_ge(in = open(fpath("source"), O_RDONLY), 0);
    ck_assert_int_ge(out = open(fpath(path), O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
    ck_assert_msg(arc_file_write(out, env, in, 10, (off_t) msg_len, 3, head, 100, &stored,
                                 why) == 0, "%s", vbuf_str(why));
    close(in);
    close(out);
    data = fixture_read(path, len);
    ck_assert_int_eq((off_t) *len, stored);
    vbuf_free(env);
    vbuf_free(src);
    return data;
}

START_TEST(test_write_read)
{
    ARC_ENVELOPE e;
    VBUF   *msg = vbuf_create(64), *got = vbuf_create(64), *head = vbuf_create(64);
    size_t  len, i;
    off_t   stored;
    char   *data;

    for (i = 0; i < 300000; i++)
        vbuf_append_char(msg, i % 97 == 0 ? '\n' : 'a' + (int) (i * 7 % 26));
    data = write_file(vbuf_str(msg), vbuf_len(msg), "a.eml.zst", &len, head);
    /* Smaller than the message, and it starts with the skippable frame. */
    ck_assert_uint_lt(len, vbuf_len(msg));
    ck_assert_int_eq((unsigned char) data[0], 0x5a);
    ck_assert_int_eq((unsigned char) data[3], 0x18);
    /* The head is the first bytes of the message. */
    ck_assert_uint_eq(vbuf_len(head), 100);
    ck_assert_int_eq(memcmp(vbuf_str(head), vbuf_str(msg), 100), 0);
    ck_assert_int_eq(arc_file_read(fpath("a.eml.zst"), &e, got, &stored, why), 0);
    ck_assert_int_eq(stored, (off_t) len);
    ck_assert_uint_eq(vbuf_len(got), vbuf_len(msg));
    ck_assert_int_eq(memcmp(vbuf_str(got), vbuf_str(msg), vbuf_len(msg)), 0);
    ck_assert_str_eq(e.id, ID);
    arc_envelope_free(&e);
    /* Without a message buffer it is checked all the same. */
    ck_assert_int_eq(arc_file_parse(data, len, &e, NULL, why), 0);
    arc_envelope_free(&e);
    myfree(data);

    /* An empty message. */
    data = write_file("", 0, "b.eml.zst", &len, NULL);
    ck_assert_int_eq(arc_file_parse(data, len, &e, got, why), 0);
    ck_assert_uint_eq(vbuf_len(got), 0);
    arc_envelope_free(&e);
    myfree(data);
    vbuf_free(msg);
    vbuf_free(got);
    vbuf_free(head);
}
END_TEST

static void
damaged(const char *data, size_t len, const char *reason)
{
    ARC_ENVELOPE e;

    ck_assert_msg(arc_file_parse(data, len, &e, NULL, why) == -1, "accepted (%s)", reason);
    ck_assert_msg(strstr(vbuf_str(why), reason) != NULL, "want %s, got %s", reason,
                  vbuf_str(why));
    ck_assert_ptr_null(e.sender);
}

START_TEST(test_damage)
{
    static const char msg[] = "Subject: test\r\n\r\nbody of the message, body of it\r\n";
    ARC_ENVELOPE e;
    VBUF   *got = vbuf_create(64);
    size_t  len, i, env_end;
    int     accepted = 0;
    char   *data = write_file(msg, sizeof(msg) - 1, "c.eml.zst", &len, NULL);
    char   *copy = mymalloc(len + 10);

    env_end = 8 + ((unsigned char) data[4] | (unsigned char) data[5] << 8);
    ck_assert_int_eq(arc_file_parse(data, len, &e, NULL, why), 0);
    arc_envelope_free(&e);
    /* Cut anywhere. */
    for (i = 0; i < len; i++) {
        ck_assert_msg(arc_file_parse(data, i, &e, NULL, why) == -1, "cut at %zu accepted", i);
        ck_assert_ptr_null(e.sender);
    }
    damaged(data, 7, "truncated file");
    damaged(data, env_end, "no message frame");
    /* Every byte of the content flipped: refused, or (a bit of the frame
     * header that changes nothing) the very same message; never another. */
    for (i = env_end; i < len; i++) {
        memcpy(copy, data, len);
        copy[i] ^= 0x20;
        if (arc_file_parse(copy, len, &e, got, why) == 0) {
            ck_assert_msg(vbuf_len(got) == sizeof(msg) - 1
                          && memcmp(vbuf_str(got), msg, sizeof(msg) - 1) == 0,
                          "flip at %zu gave another message", i);
            arc_envelope_free(&e);
            accepted++;
        }
    }
    ck_assert_int_le(accepted, 2);
    /* In the compressed data and in the checksum: refused. */
    memcpy(copy, data, len);
    copy[env_end + 12] ^= 0x01;
    ck_assert_int_eq(arc_file_parse(copy, len, &e, NULL, why), -1);
    memcpy(copy, data, len);
    copy[len - 1] ^= 0x01;
    damaged(copy, len, "message frame");
    /* Not our magic; an envelope length past the end. */
    memcpy(copy, data, len);
    copy[0] = 0x50;
    damaged(copy, len, "bad magic");
    memcpy(copy, data, len);
    copy[6] = 0x7f;
    damaged(copy, len, "truncated envelope");
    /* Bytes after the last frame. */
    memcpy(copy, data, len);
    memcpy(copy + len, "garbage!!", 9);
    ck_assert_int_eq(arc_file_parse(copy, len + 9, &e, NULL, why), -1);
    /* A length in the envelope that the content does not have. */
    memcpy(copy, data, len);
    for (i = 8; i + 3 < env_end; i++)
        if (memcmp(copy + i, "\nL ", 3) == 0)
            copy[i + 3] = copy[i + 3] == '9' ? '8' : copy[i + 3] + 1;
    ck_assert_int_eq(arc_file_parse(copy, len, &e, NULL, why), -1);
    /* A file that is not there, or not a file. */
    ck_assert_int_eq(arc_file_read(fpath("none"), &e, NULL, NULL, why), -1);
    ck_assert_int_eq(errno, ENOENT);
    fixture_mkdir("adir");
    ck_assert_int_eq(arc_file_read(fpath("adir"), &e, NULL, NULL, why), -1);
    fixture_write("short", "abc", 3);
    ck_assert_int_eq(arc_file_read(fpath("short"), &e, NULL, NULL, why), -1);
    ck_assert_int_eq(errno, EBADMSG);
    myfree(data);
    myfree(copy);
    vbuf_free(got);
}
END_TEST

int
main(void)
{
    Suite  *s = suite_create("arc_file");
    TCase  *tc = tcase_create("arc_file");
    SRunner *sr;
    int     failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_rel_path);
    tcase_add_test(tc, test_envelope);
    tcase_add_test(tc, test_envelope_refused);
    tcase_add_test(tc, test_write_read);
    tcase_add_test(tc, test_damage);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
