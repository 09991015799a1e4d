/* Unit tests for lib/hostport.c. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "hostport.h"
#include "vbuf.h"

static VBUF *why;

static void
setup(void)
{
    why = vbuf_create(100);
}

static void
teardown(void)
{
    why = vbuf_free(why);
}

/* hostport_parse(): input, default port, then either the host, port and
 * bracketed flag expected, or the exact error. */
static const struct {
    const char *str;
    const char *def_port;
    const char *host;
    const char *port;
    int bracketed;
    const char *why;
} parse_cases[] = {
    {"mail.example.com", NULL, "mail.example.com", "", 0, NULL},
    {"mail.example.com", "25", "mail.example.com", "25", 0, NULL},
    {"mail.example.com", "", "mail.example.com", "", 0, NULL},
    {"mail.example.com:2525", "25", "mail.example.com", "2525", 0, NULL},
    {"Mail-1_x.Example.COM.", NULL, "Mail-1_x.Example.COM.", "", 0, NULL},
    {"192.0.2.1", "53", "192.0.2.1", "53", 0, NULL},
    {"192.0.2.1:5353", "53", "192.0.2.1", "5353", 0, NULL},
    {"[10.0.0.5]:25", NULL, "10.0.0.5", "25", 1, NULL},
    {"[mx.example.com]", "25", "mx.example.com", "25", 1, NULL},
    {"[mx.example.com]:587", "25", "mx.example.com", "587", 1, NULL},
    {"[2001:db8::1]:25", NULL, "2001:db8::1", "25", 1, NULL},
    {"[2001:db8::1]", NULL, "2001:db8::1", "", 1, NULL},
    {"[2001:db8::1]", "53", "2001:db8::1", "53", 1, NULL},
    {"[::ffff:192.0.2.1]:25", NULL, "::ffff:192.0.2.1", "25", 1, NULL},
    {"2001:db8::1", "53", "2001:db8::1", "53", 0, NULL},
    {"::1", NULL, "::1", "", 0, NULL},
    /* Itself an IPv6 address: the reason brackets are required. */
    {"2001:db8::1:25", NULL, "2001:db8::1:25", "", 0, NULL},
    {"host:1", NULL, "host", "1", 0, NULL},
    {"host:65535", NULL, "host", "65535", 0, NULL},
    {"host:00025", NULL, "host", "25", 0, NULL},
    {"", "25", NULL, NULL, 0, "empty host in \"\""},
    {":25", NULL, NULL, NULL, 0, "empty host in \":25\""},
    {"[]", NULL, NULL, NULL, 0, "empty host in \"[]\""},
    {"[]:25", NULL, NULL, NULL, 0, "empty host in \"[]:25\""},
    {"host:", NULL, NULL, NULL, 0, "bad port in \"host:\""},
    {"host:0", NULL, NULL, NULL, 0, "bad port in \"host:0\""},
    {"host:65536", NULL, NULL, NULL, 0, "bad port in \"host:65536\""},
    {"host:123456", NULL, NULL, NULL, 0, "bad port in \"host:123456\""},
    {"host:smtp", NULL, NULL, NULL, 0, "bad port in \"host:smtp\""},
    {"host:-25", NULL, NULL, NULL, 0, "bad port in \"host:-25\""},
    {"host:+25", NULL, NULL, NULL, 0, "bad port in \"host:+25\""},
    {"host:25 ", NULL, NULL, NULL, 0, "bad port in \"host:25 \""},
    {"[::1]:", NULL, NULL, NULL, 0, "bad port in \"[::1]:\""},
    {"[::1]:0", NULL, NULL, NULL, 0, "bad port in \"[::1]:0\""},
    {"[::1]:1:2", NULL, NULL, NULL, 0, "bad port in \"[::1]:1:2\""},
    {"[::1", NULL, NULL, NULL, 0, "missing \"]\" in \"[::1\""},
    {"[host", NULL, NULL, NULL, 0, "missing \"]\" in \"[host\""},
    {"[::1]25", NULL, NULL, NULL, 0, "junk after \"]\" in \"[::1]25\""},
    {"[::1]]", NULL, NULL, NULL, 0, "junk after \"]\" in \"[::1]]\""},
    {"[::1] ", NULL, NULL, NULL, 0, "junk after \"]\" in \"[::1] \""},
    {"[[::1]]", NULL, NULL, NULL, 0, "junk after \"]\" in \"[[::1]]\""},
    {"[[host]:25", NULL, NULL, NULL, 0, "bad host name in \"[[host]:25\""},
    {"[::g]:25", NULL, NULL, NULL, 0, "bad IPv6 address in \"[::g]:25\""},
    {"[fe80::1%eth0]:25", NULL, NULL, NULL, 0,
     "bad IPv6 address in \"[fe80::1%eth0]:25\""},
    {"2001:db8::g:25", NULL, NULL, NULL, 0,
     "too many \":\" (write an IPv6 address with a port as [address]:port)"
     " in \"2001:db8::g:25\""},
    {"host:25:26", NULL, NULL, NULL, 0,
     "too many \":\" (write an IPv6 address with a port as [address]:port)"
     " in \"host:25:26\""},
    {"bad host", NULL, NULL, NULL, 0, "bad host name in \"bad host\""},
    {"bad/host:25", NULL, NULL, NULL, 0, "bad host name in \"bad/host:25\""},
    {"host@example", NULL, NULL, NULL, 0, "bad host name in \"host@example\""},
    {"h\001st", NULL, NULL, NULL, 0, "bad host name in \"h?st\""},
    {"h\xc3\xa9st", NULL, NULL, NULL, 0, "bad host name in \"h??st\""},
    {"[a b]:25", NULL, NULL, NULL, 0, "bad host name in \"[a b]:25\""},
};

START_TEST(test_parse)
{
    HOSTPORT hp;
    int ret;

    vbuf_set(why, "stale");
    ret = hostport_parse(&hp, parse_cases[_i].str, parse_cases[_i].def_port,
                         why);
    if (parse_cases[_i].why) {
        ck_assert_int_eq(ret, -1);
        ck_assert_str_eq(vbuf_str(why), parse_cases[_i].why);
    } else {
        ck_assert_msg(ret == 0, "%s: %s", parse_cases[_i].str, vbuf_str(why));
        ck_assert_str_eq(vbuf_str(why), "");
        ck_assert_str_eq(hp.host, parse_cases[_i].host);
        ck_assert_str_eq(hp.port, parse_cases[_i].port);
        ck_assert_int_eq(hp.bracketed, parse_cases[_i].bracketed);
    }
}
END_TEST

START_TEST(test_parse_long_host)
{
    char str[300];
    char want[340];
    HOSTPORT hp;

    /* 255 bytes fit in hp.host; 256 do not. */
    memset(str, 'a', sizeof(str));
    str[255] = 0;
    ck_assert_int_eq(hostport_parse(&hp, str, NULL, why), 0);
    ck_assert_str_eq(hp.host, str);

    memcpy(str + 255, ":25", 4);
    ck_assert_int_eq(hostport_parse(&hp, str, NULL, why), 0);
    ck_assert_uint_eq(strlen(hp.host), 255);
    ck_assert_str_eq(hp.port, "25");

    memset(str, 'a', sizeof(str));
    str[256] = 0;
    snprintf(want, sizeof(want), "host name too long in \"%s\"", str);
    ck_assert_int_eq(hostport_parse(&hp, str, NULL, why), -1);
    ck_assert_str_eq(vbuf_str(why), want);

    /* The same with brackets. */
    memset(str, 'a', sizeof(str));
    str[0] = '[';
    memcpy(str + 256, "]:25", 5);
    ck_assert_int_eq(hostport_parse(&hp, str, NULL, why), 0);
    ck_assert_uint_eq(strlen(hp.host), 255);
    ck_assert_int_eq(hp.bracketed, 1);

    memset(str, 'a', sizeof(str));
    str[0] = '[';
    memcpy(str + 257, "]:25", 5);
    snprintf(want, sizeof(want), "host name too long in \"%s\"", str);
    ck_assert_int_eq(hostport_parse(&hp, str, NULL, why), -1);
    ck_assert_str_eq(vbuf_str(why), want);
}
END_TEST

START_TEST(test_parse_bad_default)
{
    HOSTPORT hp;

    /* A default port is the caller's constant: a bad one is a bug. */
    hostport_parse(&hp, "host", "smtp", why);
}
END_TEST

/* hostport_listen_addr(): input, then family, address and port expected,
 * or the exact error. */
static const struct {
    const char *str;
    int family;
    const char *addr;
    int port;
    const char *why;
} listen_cases[] = {
    {"127.0.0.1:2525", AF_INET, "127.0.0.1", 2525, NULL},
    {"0.0.0.0:25", AF_INET, "0.0.0.0", 25, NULL},
    {":25", AF_INET, "0.0.0.0", 25, NULL},
    {"localhost:2525", AF_INET, "127.0.0.1", 2525, NULL},
    {"LocalHost:2525", AF_INET, "127.0.0.1", 2525, NULL},
    {"[localhost]:2525", AF_INET, "127.0.0.1", 2525, NULL},
    {"[192.0.2.1]:587", AF_INET, "192.0.2.1", 587, NULL},
    {"[::1]:2525", AF_INET6, "::1", 2525, NULL},
    {"[::]:25", AF_INET6, "::", 25, NULL},
    {"[2001:db8::5]:65535", AF_INET6, "2001:db8::5", 65535, NULL},
    {"127.0.0.1", 0, NULL, 0, "missing port in \"127.0.0.1\""},
    {"[::1]", 0, NULL, 0, "missing port in \"[::1]\""},
    {"::1", 0, NULL, 0, "missing port in \"::1\""},
    {"::25", 0, NULL, 0, "missing port in \"::25\""},
    {"localhost", 0, NULL, 0, "missing port in \"localhost\""},
    {"", 0, NULL, 0, "empty host in \"\""},
    {":", 0, NULL, 0, "bad port in \":\""},
    {":0", 0, NULL, 0, "bad port in \":0\""},
    {":smtp", 0, NULL, 0, "bad port in \":smtp\""},
    {":65536", 0, NULL, 0, "bad port in \":65536\""},
    {"127.0.0.1:", 0, NULL, 0, "bad port in \"127.0.0.1:\""},
    {"mail.example.com:25", 0, NULL, 0,
     "host is not a numeric address in \"mail.example.com:25\""},
    {"300.0.0.1:25", 0, NULL, 0,
     "host is not a numeric address in \"300.0.0.1:25\""},
    {"[::1]x", 0, NULL, 0, "junk after \"]\" in \"[::1]x\""},
    {"::1:25x", 0, NULL, 0,
     "too many \":\" (write an IPv6 address with a port as [address]:port)"
     " in \"::1:25x\""},
};

START_TEST(test_listen)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    char buf[INET6_ADDRSTRLEN];
    int ret;

    vbuf_set(why, "stale");
    ret = hostport_listen_addr(listen_cases[_i].str, &ss, &len, why);
    if (listen_cases[_i].why) {
        ck_assert_int_eq(ret, -1);
        ck_assert_str_eq(vbuf_str(why), listen_cases[_i].why);
        return;
    }
    ck_assert_msg(ret == 0, "%s: %s", listen_cases[_i].str, vbuf_str(why));
    ck_assert_str_eq(vbuf_str(why), "");
    ck_assert_int_eq(ss.ss_family, listen_cases[_i].family);
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *) &ss;

        ck_assert_int_eq(len, sizeof(*sin));
        ck_assert_int_eq(ntohs(sin->sin_port), listen_cases[_i].port);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;

        ck_assert_int_eq(len, sizeof(*sin6));
        ck_assert_int_eq(ntohs(sin6->sin6_port), listen_cases[_i].port);
        ck_assert_int_eq(sin6->sin6_flowinfo, 0);
        ck_assert_int_eq(sin6->sin6_scope_id, 0);
    }
    ck_assert_str_eq(hostport_addr_str((struct sockaddr *) &ss, buf,
                                       sizeof(buf)), listen_cases[_i].addr);
}
END_TEST

START_TEST(test_listen_null_len)
{
    struct sockaddr_storage ss;

    ck_assert_int_eq(hostport_listen_addr("[::1]:25", &ss, NULL, why), 0);
    ck_assert_int_eq(ss.ss_family, AF_INET6);
}
END_TEST

START_TEST(test_addr_str)
{
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    struct sockaddr_un sun;
    char buf[INET6_ADDRSTRLEN];
    char small[8];

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
    ck_assert_str_eq(hostport_addr_str((struct sockaddr *) &sin, buf,
                                       sizeof(buf)), "192.0.2.1");

    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
    ck_assert_str_eq(hostport_addr_str((struct sockaddr *) &sin6, buf,
                                       sizeof(buf)), "2001:db8::1");
    inet_pton(AF_INET6, "::ffff:198.51.100.9", &sin6.sin6_addr);
    ck_assert_str_eq(hostport_addr_str((struct sockaddr *) &sin6, buf,
                                       sizeof(buf)), "198.51.100.9");
    /* v4-compatible (deprecated) is not v4-mapped. */
    inet_pton(AF_INET6, "::198.51.100.9", &sin6.sin6_addr);
    ck_assert_str_eq(hostport_addr_str((struct sockaddr *) &sin6, buf,
                                       sizeof(buf)), "::198.51.100.9");
    inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
              &sin6.sin6_addr);
    ck_assert_str_eq(hostport_addr_str((struct sockaddr *) &sin6, buf,
                                       sizeof(buf)),
                     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");

    /* Too small a buffer, or an unknown family. */
    ck_assert_str_eq(hostport_addr_str((struct sockaddr *) &sin6, small,
                                       sizeof(small)), "?");
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    ck_assert_str_eq(hostport_addr_str((struct sockaddr *) &sun, buf,
                                       sizeof(buf)), "unknown");
}
END_TEST

static Suite *
hostport_suite(void)
{
    Suite *s = suite_create("hostport");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_parse, 0,
                        sizeof(parse_cases) / sizeof(parse_cases[0]));
    tcase_add_test(tc, test_parse_long_host);
    tcase_add_test_raise_signal(tc, test_parse_bad_default, SIGABRT);
    tcase_add_loop_test(tc, test_listen, 0,
                        sizeof(listen_cases) / sizeof(listen_cases[0]));
    tcase_add_test(tc, test_listen_null_len);
    tcase_add_test(tc, test_addr_str);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(hostport_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
