/* Unit tests for lib/cidr_list.c. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cidr_list.h"
#include "fixture.h"
#include "vbuf.h"

static CIDR_LIST *list;
static VBUF *why;
static char list_path[128];     /* the list file, or "" */

static void
setup(void)
{
    list = cidr_list_create();
    why = vbuf_create(100);
    list_path[0] = 0;
}

static void
teardown(void)
{
    list = cidr_list_free(list);
    why = vbuf_free(why);
    fixture_dir_remove();
}

/* Adds entries (NULL-terminated), which must all be good, and finishes. */
static void
add_all(const char *const *entries)
{
    for (; *entries; entries++)
        ck_assert_msg(cidr_list_add(list, *entries, why) == 0, "%s: %s",
                      *entries, vbuf_str(why));
    cidr_list_finish(list);
}

static void
assert_match(const char *addr, int want)
{
    ck_assert_msg(cidr_list_match_str(list, addr) == want,
                  "match(%s) should be %d", addr, want);
}

/* Writes text (len bytes) to the list file, in a fixture directory made
 * on first use (not in setup, which an aborting test never tears down);
 * returns its path. */
static const char *
write_temp(const char *text, size_t len)
{
    if (list_path[0] == 0)
        snprintf(list_path, sizeof(list_path), "%s/list",
                 fixture_dir_create("check_cidr_list"));
    fixture_write(list_path, text, len);
    return list_path;
}

START_TEST(test_v4_single)
{
    static const char *const e[] = {"192.0.2.1", NULL};

    add_all(e);
    assert_match("192.0.2.1", 1);
    assert_match("192.0.2.0", 0);
    assert_match("192.0.2.2", 0);
    assert_match("::ffff:192.0.2.1", 1);
    assert_match("[::ffff:192.0.2.1]", 1);
    assert_match("::192.0.2.1", 0);     /* v4-compatible is not v4-mapped */
    assert_match("2001:db8::c000:201", 0);
    ck_assert_uint_eq(cidr_list_count(list), 1);
}
END_TEST

START_TEST(test_v4_block)
{
    static const char *const e[] = {"192.0.2.0/24", "10.0.0.0/8", NULL};

    add_all(e);
    assert_match("192.0.2.0", 1);
    assert_match("192.0.2.255", 1);
    assert_match("192.0.1.255", 0);
    assert_match("192.0.3.0", 0);
    assert_match("10.0.0.0", 1);
    assert_match("10.255.255.255", 1);
    assert_match("9.255.255.255", 0);
    assert_match("11.0.0.0", 0);
    assert_match("::ffff:10.1.2.3", 1);
}
END_TEST

START_TEST(test_v6)
{
    static const char *const e[] = {"2001:db8::/32", "::1", "[2001:db9::1]",
                                    "[2001:dba::]/48", NULL};

    add_all(e);
    assert_match("2001:db8::", 1);
    assert_match("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 1);
    assert_match("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", 0);
    assert_match("::1", 1);
    assert_match("::2", 0);
    assert_match("::", 0);
    assert_match("2001:db9::1", 1);
    assert_match("2001:db9::2", 0);
    assert_match("2001:dba:0:ffff::1", 1);
    assert_match("2001:dba:1::", 0);
    assert_match("127.0.0.1", 0);
    assert_match("[2001:db8::1]", 1);
}
END_TEST

START_TEST(test_v4_mapped_entry)
{
    /* A v4-mapped entry is an IPv4 entry. */
    static const char *const e[] = {"::ffff:198.51.100.0/120", NULL};

    add_all(e);
    assert_match("198.51.100.7", 1);
    assert_match("198.51.101.7", 0);
}
END_TEST

START_TEST(test_edges)
{
    static const char *const v4all[] = {"0.0.0.0/0", NULL};
    static const char *const v6all[] = {"::/0", NULL};
    static const char *const exact[] = {"203.0.113.9/32",
                                        "2001:db8::9/128", NULL};

    add_all(v4all);
    assert_match("0.0.0.0", 1);
    assert_match("255.255.255.255", 1);
    assert_match("::ffff:1.2.3.4", 1);
    assert_match("::", 0);
    assert_match("2001:db8::1", 0);
    assert_match("::fffe:ffff:ffff", 0);
    assert_match("::1:0:0:0", 0);

    list = cidr_list_free(list);
    list = cidr_list_create();
    add_all(v6all);
    assert_match("::", 1);
    assert_match("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1);
    assert_match("192.0.2.1", 1);

    list = cidr_list_free(list);
    list = cidr_list_create();
    add_all(exact);
    assert_match("203.0.113.9", 1);
    assert_match("203.0.113.8", 0);
    assert_match("203.0.113.10", 0);
    assert_match("2001:db8::9", 1);
    assert_match("2001:db8::8", 0);
    assert_match("2001:db8::a", 0);
}
END_TEST

START_TEST(test_merge)
{
    /* Nested, overlapping, adjacent and duplicate blocks: a naive search
     * over unmerged ranges would miss 10.200.0.0 (the last range starting
     * at or below it is 10.2.3.4, which does not contain it). */
    static const char *const e[] = {
        "10.2.3.4", "10.0.0.0/8", "10.1.0.0/16", "10.2.3.4",
        "172.16.0.0/13", "172.24.0.0/13", "172.20.0.0/14",
        "192.168.1.0/25", "192.168.1.128/25",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL};

    add_all(e);
    ck_assert_uint_eq(cidr_list_count(list), 11);
    assert_match("10.200.0.0", 1);
    assert_match("10.2.3.5", 1);
    assert_match("11.0.0.0", 0);
    assert_match("172.15.255.255", 0);
    assert_match("172.16.0.0", 1);
    assert_match("172.27.1.1", 1);
    assert_match("172.31.255.255", 1);
    assert_match("172.32.0.0", 0);
    assert_match("192.168.1.0", 1);
    assert_match("192.168.1.127", 1);
    assert_match("192.168.1.128", 1);
    assert_match("192.168.1.255", 1);
    assert_match("192.168.2.0", 0);
    assert_match("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1);
    assert_match("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffef", 0);
}
END_TEST

START_TEST(test_empty_and_not_addresses)
{
    static const char *const none[] = {NULL};
    static const char *const e[] = {"::/0", NULL};

    add_all(none);
    assert_match("192.0.2.1", 0);
    assert_match("::", 0);

    list = cidr_list_free(list);
    list = cidr_list_create();
    add_all(e);
    assert_match("", 0);
    assert_match("localhost", 0);
    assert_match("192.0.2.0/24", 0);
    assert_match("[]", 0);
    assert_match("[192.0.2.1", 0);
    assert_match("fe80::1%eth0", 0);
    assert_match(" 192.0.2.1", 0);
}
END_TEST

START_TEST(test_sockaddr)
{
    static const char *const e[] = {"192.0.2.0/24", "2001:db8::/32", NULL};
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    struct sockaddr sa;

    add_all(e);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    inet_pton(AF_INET, "192.0.2.77", &sin.sin_addr);
    ck_assert_int_eq(cidr_list_match_sa(list, (struct sockaddr *) &sin), 1);
    inet_pton(AF_INET, "192.0.3.77", &sin.sin_addr);
    ck_assert_int_eq(cidr_list_match_sa(list, (struct sockaddr *) &sin), 0);

    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "::ffff:192.0.2.77", &sin6.sin6_addr);
    ck_assert_int_eq(cidr_list_match_sa(list, (struct sockaddr *) &sin6), 1);
    inet_pton(AF_INET6, "2001:db8:1::", &sin6.sin6_addr);
    ck_assert_int_eq(cidr_list_match_sa(list, (struct sockaddr *) &sin6), 1);
    inet_pton(AF_INET6, "2001:db9::", &sin6.sin6_addr);
    ck_assert_int_eq(cidr_list_match_sa(list, (struct sockaddr *) &sin6), 0);

    memset(&sa, 0, sizeof(sa));
    sa.sa_family = AF_UNIX;
    ck_assert_int_eq(cidr_list_match_sa(list, &sa), 0);
}
END_TEST

/* Malformed entries and the exact reasons given. */
static const struct {
    const char *entry;
    const char *why;
} bad_entries[] = {
    {"300.1.2.3", "bad address or CIDR block \"300.1.2.3\""},
    {"", "bad address or CIDR block \"\""},
    {"1.2.3", "bad address or CIDR block \"1.2.3\""},
    {"01.2.3.4", "bad address or CIDR block \"01.2.3.4\""},
    {"1.2.3.4.5", "bad address or CIDR block \"1.2.3.4.5\""},
    {" 1.2.3.4", "bad address or CIDR block \" 1.2.3.4\""},
    {"1.2.3.4 ", "bad address or CIDR block \"1.2.3.4 \""},
    {"host.example", "bad address or CIDR block \"host.example\""},
    {"2001:db8::g", "bad address or CIDR block \"2001:db8::g\""},
    {"2001:db8:::1", "bad address or CIDR block \"2001:db8:::1\""},
    {"fe80::1%eth0", "bad address or CIDR block \"fe80::1%eth0\""},
    {"[", "bad address or CIDR block \"[\""},
    {"[]", "bad address or CIDR block \"[]\""},
    {"[::1", "bad address or CIDR block \"[::1\""},
    {"[::1]x", "bad address or CIDR block \"[::1]x\""},
    {"[::1]]", "bad address or CIDR block \"[::1]]\""},
    {"[[::1]]", "bad address or CIDR block \"[[::1]]\""},
    {"[::1/128]", "bad address or CIDR block \"[::1/128]\""},
    {"/24", "bad address or CIDR block \"/24\""},
    {"1.2.3.4\001", "bad address or CIDR block \"1.2.3.4?\""},
    {"10.0.0.0/33", "bad prefix length in \"10.0.0.0/33\""},
    {"10.0.0.0/", "bad prefix length in \"10.0.0.0/\""},
    {"10.0.0.0/-1", "bad prefix length in \"10.0.0.0/-1\""},
    {"10.0.0.0/+8", "bad prefix length in \"10.0.0.0/+8\""},
    {"10.0.0.0/ 8", "bad prefix length in \"10.0.0.0/ 8\""},
    {"10.0.0.0/8 ", "bad prefix length in \"10.0.0.0/8 \""},
    {"10.0.0.0/0008", "bad prefix length in \"10.0.0.0/0008\""},
    {"10.0.0.0/8/8", "bad prefix length in \"10.0.0.0/8/8\""},
    {"10.0.0.0/x", "bad prefix length in \"10.0.0.0/x\""},
    {"2001:db8::/129", "bad prefix length in \"2001:db8::/129\""},
    {"[2001:db8::]/", "bad prefix length in \"[2001:db8::]/\""},
    {"192.0.2.1/24", "host bits set in \"192.0.2.1/24\""},
    {"0.0.0.1/0", "host bits set in \"0.0.0.1/0\""},
    {"2001:db8::1/64", "host bits set in \"2001:db8::1/64\""},
    {"::1/0", "host bits set in \"::1/0\""},
    {"[2001:db8::1]/127", "host bits set in \"[2001:db8::1]/127\""},
    {"::ffff:1.2.3.0/95", "host bits set in \"::ffff:1.2.3.0/95\""},
};

START_TEST(test_bad_entry)
{
    ck_assert_int_eq(cidr_list_add(list, bad_entries[_i].entry, why), -1);
    ck_assert_str_eq(vbuf_str(why), bad_entries[_i].why);
    ck_assert_uint_eq(cidr_list_count(list), 0);
}
END_TEST

START_TEST(test_why_reset)
{
    vbuf_set(why, "stale");
    ck_assert_int_eq(cidr_list_add(list, "192.0.2.1", why), 0);
    ck_assert_str_eq(vbuf_str(why), "");
    vbuf_set(why, "stale");
    ck_assert_int_eq(cidr_list_add(list, "x", why), -1);
    ck_assert_str_eq(vbuf_str(why), "bad address or CIDR block \"x\"");
}
END_TEST

START_TEST(test_unfinished_str)
{
    cidr_list_add(list, "192.0.2.1", why);
    cidr_list_match_str(list, "192.0.2.1");
}
END_TEST

START_TEST(test_unfinished_sa)
{
    struct sockaddr_in sin;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    cidr_list_match_sa(list, (struct sockaddr *) &sin);
}
END_TEST

START_TEST(test_add_after_finish)
{
    /* An add undoes the finish: matching must panic until the next one. */
    cidr_list_add(list, "192.0.2.1", why);
    cidr_list_finish(list);
    cidr_list_add(list, "192.0.2.2", why);
    cidr_list_match_str(list, "192.0.2.1");
}
END_TEST

START_TEST(test_refinish)
{
    static const char *const e[] = {"192.0.2.0/25", NULL};

    add_all(e);
    ck_assert_int_eq(cidr_list_add(list, "192.0.2.128/25", why), 0);
    cidr_list_finish(list);
    assert_match("192.0.2.200", 1);
    assert_match("192.0.2.1", 1);
    ck_assert_uint_eq(cidr_list_count(list), 2);
}
END_TEST

/* Random lists against a brute-force reference. */

typedef struct {
    uint8_t net[16];
    int plen;                           /* in the 128-bit space */
} REF_ENTRY;

/* Bytes drawn from a small set, so that entries overlap and nest. */
static uint8_t
random_byte(void)
{
    static const uint8_t common[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};

    return random() % 3 ? common[random() % sizeof(common)]
                        : (uint8_t) random();
}

static void
random_addr(uint8_t addr[16], int v4)
{
    int i;

    for (i = 0; i < 16; i++)
        addr[i] = random_byte();
    if (v4) {
        memset(addr, 0, 10);
        addr[10] = addr[11] = 0xff;
    }
}

static int
ref_contains(const REF_ENTRY *e, const uint8_t addr[16])
{
    int full = e->plen / 8;
    int rest = e->plen % 8;
    uint8_t mask = (uint8_t) (0xff << (8 - rest));

    if (memcmp(e->net, addr, (size_t) full) != 0)
        return 0;
    return rest == 0 || ((e->net[full] ^ addr[full]) & mask) == 0;
}

/* Adds delta (+1 or -1) to a 128-bit address, wrapping around. */
static void
addr_step(uint8_t addr[16], int delta)
{
    int i;

    for (i = 15; i >= 0; i--) {
        addr[i] = (uint8_t) (addr[i] + delta);
        if (addr[i] != (delta > 0 ? 0x00 : 0xff))
            break;
    }
}

/* A probe: random, or on or next to the edge of a random entry. */
static void
random_probe(uint8_t probe[16], const REF_ENTRY *ref, int nref)
{
    const REF_ENTRY *e = ref + random() % nref;
    int kind = (int) (random() % 6);
    int j;

    if (kind < 2) {
        random_addr(probe, random() % 2);
        return;
    }
    memcpy(probe, e->net, 16);
    if (kind >= 4)                      /* the last address of the block */
        for (j = e->plen; j < 128; j++)
            probe[j / 8] |= (uint8_t) (0x80 >> (j % 8));
    if (kind == 3)
        addr_step(probe, -1);
    if (kind == 5)
        addr_step(probe, 1);
}

START_TEST(test_random)
{
    enum { NENTRIES = 3000, NPROBES = 20000 };
    REF_ENTRY *ref = calloc(NENTRIES, sizeof(*ref));
    char text[INET6_ADDRSTRLEN + 8];
    char addr_text[INET6_ADDRSTRLEN];
    uint8_t probe[16];
    int i;
    int j;
    int matched = 0;

    srandom(1234 + (unsigned) _i);
    for (i = 0; i < NENTRIES; i++) {
        int v4 = random() % 2;
        int max = v4 ? 32 : 128;
        /* Mostly long prefixes, a few short ones that cover a lot. */
        int plen = random() % 50 ? max - (int) (random() % 9)
                                 : max / 4 + (int) (random() % (max / 4 * 3));

        ref[i].plen = v4 ? 96 + plen : plen;
        random_addr(ref[i].net, v4);
        for (j = ref[i].plen; j < 128; j++)
            ref[i].net[j / 8] &= (uint8_t) ~(0x80 >> (j % 8));
        if (v4)
            inet_ntop(AF_INET, ref[i].net + 12, addr_text, sizeof(addr_text));
        else
            inet_ntop(AF_INET6, ref[i].net, addr_text, sizeof(addr_text));
        snprintf(text, sizeof(text), "%s/%d", addr_text, plen);
        ck_assert_msg(cidr_list_add(list, text, why) == 0, "%s: %s", text,
                      vbuf_str(why));
    }
    cidr_list_finish(list);
    ck_assert_uint_eq(cidr_list_count(list), NENTRIES);

    for (i = 0; i < NPROBES; i++) {
        int want = 0;
        int got;
        struct sockaddr_in6 sin6;
        struct sockaddr_in sin;

        random_probe(probe, ref, NENTRIES);
        for (j = 0; j < NENTRIES && !want; j++)
            want = ref_contains(ref + j, probe);
        matched += want;

        memset(&sin6, 0, sizeof(sin6));
        sin6.sin6_family = AF_INET6;
        memcpy(&sin6.sin6_addr, probe, 16);
        got = cidr_list_match_sa(list, (struct sockaddr *) &sin6);
        inet_ntop(AF_INET6, probe, addr_text, sizeof(addr_text));
        ck_assert_msg(got == want, "probe %s: got %d want %d", addr_text,
                      got, want);
        ck_assert_int_eq(cidr_list_match_str(list, addr_text), want);
        if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr)) {
            memset(&sin, 0, sizeof(sin));
            sin.sin_family = AF_INET;
            memcpy(&sin.sin_addr, probe + 12, 4);
            ck_assert_int_eq(cidr_list_match_sa(list, (struct sockaddr *) &sin),
                             want);
        }
    }
    /* The probes must exercise both answers to mean anything. */
    ck_assert_int_gt(matched, NPROBES / 20);
    ck_assert_int_lt(matched, NPROBES - NPROBES / 20);
    free(ref);
}
END_TEST

/* List files. */

START_TEST(test_file_good)
{
    static const char text[] =
        "# killlist\n"
        "\n"
        "192.0.2.1\n"
        "   198.51.100.0/24   # a trailing comment\n"
        "\t2001:db8::/32\t\r\n"
        "   \n"
        "#192.0.2.99\n"
        "[2001:db9::1]\n"
        "203.0.113.7";                  /* no newline at the end */
    const char *path = write_temp(text, sizeof(text) - 1);

    ck_assert_int_eq(cidr_list_load_file(list, path, why), 0);
    ck_assert_str_eq(vbuf_str(why), "");
    cidr_list_finish(list);
    ck_assert_uint_eq(cidr_list_count(list), 5);
    assert_match("192.0.2.1", 1);
    assert_match("198.51.100.200", 1);
    assert_match("2001:db8::5", 1);
    assert_match("2001:db9::1", 1);
    assert_match("203.0.113.7", 1);
    assert_match("192.0.2.99", 0);
}
END_TEST

START_TEST(test_file_empty)
{
    const char *path = write_temp("", 0);

    ck_assert_int_eq(cidr_list_load_file(list, path, why), 0);
    cidr_list_finish(list);
    ck_assert_uint_eq(cidr_list_count(list), 0);
}
END_TEST

static void
assert_file_error(const char *text, size_t len, const char *reason)
{
    const char *path = write_temp(text, len);
    char want[256];

    snprintf(want, sizeof(want), "%s:%s", path, reason);
    vbuf_set(why, "stale");
    ck_assert_int_eq(cidr_list_load_file(list, path, why), -1);
    ck_assert_str_eq(vbuf_str(why), want);
}

START_TEST(test_file_bad_entry)
{
    static const char text[] = "192.0.2.1\n# comment\n10.0.0.1/8 # oops\n";

    assert_file_error(text, sizeof(text) - 1,
                      "3: host bits set in \"10.0.0.1/8\"");
}
END_TEST

START_TEST(test_file_two_per_line)
{
    static const char text[] = "192.0.2.1 192.0.2.2\n";

    assert_file_error(text, sizeof(text) - 1,
                      "1: bad address or CIDR block \"192.0.2.1 192.0.2.2\"");
}
END_TEST

START_TEST(test_file_nul)
{
    static const char text[] = "192.0.2.1\n\n192.0.2.2\0\n";

    assert_file_error(text, sizeof(text) - 1, "3: NUL byte in line");
}
END_TEST

START_TEST(test_file_long_line)
{
    /* 1024 bytes before the newline is the longest line allowed. */
    char text[2100];
    const char *path;

    memset(text, ' ', sizeof(text));
    memcpy(text, "192.0.2.1", 9);
    text[1024] = '\n';
    memcpy(text + 1025, "# ok\n", 5);
    path = write_temp(text, 1030);
    ck_assert_int_eq(cidr_list_load_file(list, path, why), 0);

    text[1024] = ' ';
    text[1025] = '\n';
    assert_file_error(text, 1026, "1: line too long");
    /* Also when the long line is the last one, without a newline. */
    memset(text, ' ', sizeof(text));
    memcpy(text, "10.0.0.0/8\n", 11);
    assert_file_error(text, 2000, "2: line too long");
}
END_TEST

START_TEST(test_file_missing)
{
    ck_assert_int_eq(cidr_list_load_file(list, "/nonexistent/kill.txt", why),
                     -1);
    ck_assert_str_eq(vbuf_str(why),
                     "/nonexistent/kill.txt: No such file or directory");
}
END_TEST

START_TEST(test_file_directory)
{
    ck_assert_int_eq(cidr_list_load_file(list, "/tmp", why), -1);
    ck_assert_str_eq(vbuf_str(why), "/tmp: Is a directory");
}
END_TEST

static Suite *
cidr_list_suite(void)
{
    Suite *s = suite_create("cidr_list");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_v4_single);
    tcase_add_test(tc, test_v4_block);
    tcase_add_test(tc, test_v6);
    tcase_add_test(tc, test_v4_mapped_entry);
    tcase_add_test(tc, test_edges);
    tcase_add_test(tc, test_merge);
    tcase_add_test(tc, test_empty_and_not_addresses);
    tcase_add_test(tc, test_sockaddr);
    tcase_add_loop_test(tc, test_bad_entry, 0,
                        sizeof(bad_entries) / sizeof(bad_entries[0]));
    tcase_add_test(tc, test_why_reset);
    tcase_add_test_raise_signal(tc, test_unfinished_str, SIGABRT);
    tcase_add_test_raise_signal(tc, test_unfinished_sa, SIGABRT);
    tcase_add_test_raise_signal(tc, test_add_after_finish, SIGABRT);
    tcase_add_test(tc, test_refinish);
    tcase_add_test(tc, test_file_good);
    tcase_add_test(tc, test_file_empty);
    tcase_add_test(tc, test_file_bad_entry);
    tcase_add_test(tc, test_file_two_per_line);
    tcase_add_test(tc, test_file_nul);
    tcase_add_test(tc, test_file_long_line);
    tcase_add_test(tc, test_file_missing);
    tcase_add_test(tc, test_file_directory);
    suite_add_tcase(s, tc);

    tc = tcase_create("random");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_random, 0, 3);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(cidr_list_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
