/* Unit tests for the keys of the archive index (lib/arc_keys.c):
 * addresses, clients, Message-IDs, Subject words, time keys, and the
 * dates of archive search. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "arc_keys.h"
#include "vbuf.h"

#define NOW     1796635042LL            /* 2026-12-07T09:17:22Z */

/* The keys as one string, "a|b|c". */
static const char *
joined(const ARC_KEYS *keys)
{
    static char buf[4096];
    const char *cursor = NULL, *k;

    buf[0] = 0;
    while ((k = arc_keys_next(keys, &cursor)) != NULL) {
        if (buf[0])
            strcat(buf, "|");
        strcat(buf, k);
    }
    return buf;
}

static const char *
words(const char *subject)
{
    ARC_KEYS keys;
    const char *s;

    arc_keys_init(&keys);
    arc_keys_words(&keys, subject);
    s = joined(&keys);
    arc_keys_free(&keys);
    return s;
}

START_TEST(test_address)
{
    VBUF   *key = vbuf_create(16);
    ARC_KEYS keys;

    arc_keys_address(key, "Alice@Example.COM");
    ck_assert_str_eq(vbuf_str(key), "alice@example.com");
    arc_keys_address(key, "<Bob@Example.org>");
    ck_assert_str_eq(vbuf_str(key), "bob@example.org");
    /* The null sender, with or without brackets. */
    arc_keys_address(key, "");
    ck_assert_str_eq(vbuf_str(key), ARC_KEYS_NULL_SENDER);
    arc_keys_address(key, "<>");
    ck_assert_str_eq(vbuf_str(key), "<>");
    /* Non-ASCII (SMTPUTF8) is kept as it is. */
    arc_keys_address(key, "J\xc3\xb6rg@Example.de");
    ck_assert_str_eq(vbuf_str(key), "j\xc3\xb6rg@example.de");

    arc_keys_init(&keys);
    arc_keys_address_all(&keys, "Alice@Example.COM");
    ck_assert_str_eq(joined(&keys), "alice@example.com|@example.com");
    /* The same domain again adds nothing. */
    arc_keys_address_all(&keys, "carol@example.com");
    ck_assert_str_eq(joined(&keys), "alice@example.com|@example.com|carol@example.com");
    arc_keys_reset(&keys);
    /* The last @ starts the domain; no domain, no domain key. */
    arc_keys_address_all(&keys, "\"a@b\"@Host.example");
    ck_assert_str_eq(joined(&keys), "\"a@b\"@host.example|@host.example");
    arc_keys_reset(&keys);
    arc_keys_address_all(&keys, "postmaster");
    ck_assert_str_eq(joined(&keys), "postmaster");
    arc_keys_reset(&keys);
    arc_keys_address_all(&keys, "user@");
    ck_assert_str_eq(joined(&keys), "user@");
    arc_keys_reset(&keys);
    arc_keys_address_all(&keys, "");
    ck_assert_str_eq(joined(&keys), "<>");
    ck_assert_uint_eq(keys.count, 1);
    ck_assert(arc_keys_has(&keys, "<>"));
    ck_assert(!arc_keys_has(&keys, "<"));
    arc_keys_free(&keys);
    vbuf_free(key);
}
END_TEST

START_TEST(test_client)
{
    VBUF   *key = vbuf_create(16);

    arc_keys_client(key, "192.0.2.1");
    ck_assert_str_eq(vbuf_str(key), "192.0.2.1");
    /* One spelling per IPv6 address. */
    arc_keys_client(key, "2001:DB8:0:0::1");
    ck_assert_str_eq(vbuf_str(key), "2001:db8::1");
    arc_keys_client(key, "IPv6:2001:db8:0::1");
    ck_assert_str_eq(vbuf_str(key), "2001:db8::1");
    /* Not an address: lowercased as it is. */
    arc_keys_client(key, "Unknown");
    ck_assert_str_eq(vbuf_str(key), "unknown");
    arc_keys_client(key, "192.0.2.300");
    ck_assert_str_eq(vbuf_str(key), "192.0.2.300");
    vbuf_free(key);
}
END_TEST

START_TEST(test_msgid)
{
    VBUF   *key = vbuf_create(16);
    char    big[2000];

    arc_keys_msgid(key, "<Abc.123@Example.COM>");
    ck_assert_str_eq(vbuf_str(key), "Abc.123@Example.COM");
    arc_keys_msgid(key, "  (comment) <x@y>  trailing");
    ck_assert_str_eq(vbuf_str(key), "x@y");
    arc_keys_msgid(key, "  bare@id  ");
    ck_assert_str_eq(vbuf_str(key), "bare@id");
    arc_keys_msgid(key, "<unterminated@id");
    ck_assert_str_eq(vbuf_str(key), "<unterminated@id");
    arc_keys_msgid(key, "< spaced@id >");
    ck_assert_str_eq(vbuf_str(key), "spaced@id");
    arc_keys_msgid(key, "");
    ck_assert_str_eq(vbuf_str(key), "");
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    arc_keys_msgid(key, big);
    ck_assert_uint_eq(vbuf_len(key), ARC_KEYS_MSGID_MAX);
    vbuf_free(key);
}
END_TEST

START_TEST(test_words)
{
    char    subject[4096];
    int     i;

    ck_assert_str_eq(words("Re: Your Invoice #12345, due 2026-12-01!"),
                     "re|your|invoice|12345|due|2026|12|01");
    /* Each word once. */
    ck_assert_str_eq(words("spam SPAM Spam eggs"), "spam|eggs");
    /* Latin-1 capitals lowercased; other letters kept. */
    ck_assert_str_eq(words("\xc3\x89T\xc3\x89 \xc3\xa0 Z\xc3\xbcrich \xd0\x9c\xd0\xb8\xd1\x80"),
                     "\xc3\xa9t\xc3\xa9|\xc3\xa0|z\xc3\xbcrich|\xd0\x9c\xd0\xb8\xd1\x80");
    /* Punctuation outside ASCII splits: no-break space, guillemets,
     * a dash, U+FFFD. */
    ck_assert_str_eq(words("a\xc2\xa0" "b \xc2\xab" "c\xc2\xbb d\xe2\x80\x94" "e f\xef\xbf\xbdg"),
                     "a|b|c|d|e|f|g");
    ck_assert_str_eq(words(""), "");
    ck_assert_str_eq(words("!!! ... ---"), "");
    /* A long word is cut at ARC_KEYS_WORD_MAX bytes, on a character
     * boundary. */
    memset(subject, 'x', 100);
    subject[100] = 0;
    ck_assert_uint_eq(strlen(words(subject)), ARC_KEYS_WORD_MAX);
    memset(subject, 0, sizeof(subject));
    subject[0] = 'x';
    for (i = 0; i < 40; i++)
        strcat(subject, "\xc3\xa9");
    ck_assert_uint_eq(strlen(words(subject)), ARC_KEYS_WORD_MAX - 1);
    /* At most ARC_KEYS_WORDS_MAX words. */
    subject[0] = 0;
    for (i = 0; i < 100; i++)
        snprintf(subject + strlen(subject), sizeof(subject) - strlen(subject), "w%d ", i);
    {
        ARC_KEYS keys;

        arc_keys_init(&keys);
        arc_keys_words(&keys, subject);
        ck_assert_uint_eq(keys.count, ARC_KEYS_WORDS_MAX);
        ck_assert(arc_keys_has(&keys, "w0"));
        ck_assert(!arc_keys_has(&keys, "w99"));
        arc_keys_free(&keys);
    }
}
END_TEST

START_TEST(test_time_key)
{
    unsigned char a[ARC_KEYS_TIME_LEN], b[ARC_KEYS_TIME_LEN];

    arc_keys_time(a, NOW);
    ck_assert_int_eq(arc_keys_time_value(a), NOW);
    /* Byte order is time order, across a carry. */
    arc_keys_time(a, 255);
    arc_keys_time(b, 256);
    ck_assert_int_lt(memcmp(a, b, sizeof(a)), 0);
    arc_keys_time(a, NOW);
    arc_keys_time(b, NOW + 1);
    ck_assert_int_lt(memcmp(a, b, sizeof(a)), 0);
    arc_keys_time(a, -5);
    ck_assert_int_eq(arc_keys_time_value(a), 0);
}
END_TEST

static long long
date(const char *text, int end_of_day)
{
    VBUF   *why = vbuf_create(16);
    long long out = -7;

    ck_assert_msg(arc_keys_date(text, NOW, end_of_day, &out, why) == 0, "%s: %s", text,
                  vbuf_str(why));
    vbuf_free(why);
    return out;
}

static void
bad_date(const char *text)
{
    VBUF   *why = vbuf_create(16);
    long long out = -7;

    ck_assert_msg(arc_keys_date(text, NOW, 0, &out, why) == -1, "%s accepted", text);
    ck_assert_int_eq(out, -7);
    ck_assert_uint_gt(vbuf_len(why), 0);
    vbuf_free(why);
}

START_TEST(test_dates)
{
    ck_assert_int_eq(date("2026-12-01", 0), 1796083200LL);
    ck_assert_int_eq(date("2026-12-01", 1), 1796083200LL + 86399);
    ck_assert_int_eq(date("2026-12-01T10:30", 1), 1796083200LL + 10 * 3600 + 30 * 60);
    ck_assert_int_eq(date("2026-12-01 10:30:15", 0), 1796083200LL + 10 * 3600 + 30 * 60 + 15);
    ck_assert_int_eq(date("1970-01-01", 0), 0);
    ck_assert_int_eq(date("2024-02-29", 0), 1709164800LL);
    /* Ages before now. */
    ck_assert_int_eq(date("7d", 0), NOW - 7 * 86400);
    ck_assert_int_eq(date("7d", 1), NOW - 7 * 86400);
    ck_assert_int_eq(date("12h", 0), NOW - 12 * 3600);
    ck_assert_int_eq(date("2w", 0), NOW - 14 * 86400);
    ck_assert_int_eq(date("90", 0), NOW - 90);

    bad_date("");
    bad_date("yesterday");
    bad_date("2026-13-01");
    bad_date("2026-02-30");
    bad_date("2025-02-29");
    bad_date("2026-12-00");
    bad_date("1969-12-31");
    bad_date("2026-12-01T25:00");
    bad_date("2026-12-01T10:60");
    bad_date("2026-12-01X10:30");
    bad_date("2026-12-1");
    bad_date("2026/12/01");
    bad_date("7x");
    bad_date("-7d");
}
END_TEST

int
main(void)
{
    Suite  *s = suite_create("arc_keys");
    TCase  *tc = tcase_create("arc_keys");
    SRunner *sr;
    int     failed;

    tcase_add_test(tc, test_address);
    tcase_add_test(tc, test_client);
    tcase_add_test(tc, test_msgid);
    tcase_add_test(tc, test_words);
    tcase_add_test(tc, test_time_key);
    tcase_add_test(tc, test_dates);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
