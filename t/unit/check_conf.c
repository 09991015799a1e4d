/* Unit tests for the configuration reader (lib/conf.c). */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cidr_list.h"
#include "addr_list.h"
#include "conf.h"
#include "fixture.h"
#include "vbuf.h"

static const char *dir;
static VBUF *errors;

static void
setup(void)
{
    dir = fixture_dir_create("check_conf");
    errors = vbuf_create(100);
}

static void
teardown(void)
{
    fixture_dir_remove();
    vbuf_free(errors);
}

/* Loads main.cf with the given text; returns the config or NULL. */
static CONFIG *
load(const char *text)
{
    fixture_write_str("main.cf", text);
    vbuf_reset(errors);
    return conf_load(dir, errors);
}

/* Asserts that loading fails with exactly the given error lines, where
 * "%s" stands for the path of main.cf. */
static void
load_fails(const char *text, const char *expect_fmt)
{
    char expect[1024];
    char path[128];
    CONFIG *conf;

    snprintf(path, sizeof(path), "%s/main.cf", dir);
    snprintf(expect, sizeof(expect), expect_fmt, path, path, path);
    conf = load(text);
    ck_assert_ptr_null(conf);
    ck_assert_str_eq(vbuf_str(errors), expect);
}

START_TEST(test_defaults)
{
    CONFIG *conf = load("# nothing set\n\n");

    ck_assert_ptr_nonnull(conf);
    conf_activate(conf);
    ck_assert_str_eq(conf_str(P_smtp_listen), "0.0.0.0:25");
    ck_assert_str_eq(conf_str(P_reject_text), "Refused");
    ck_assert_int_eq(conf_bool(P_tarpit), 0);
    ck_assert_int_eq(conf_time(P_tarpit_delay), 60);
    ck_assert_int_eq(conf_time_ms(P_ratekeeper_timeout), 100);
    ck_assert_int_eq(conf_int(P_message_size_limit), 10240000);
    ck_assert_int_eq(conf_int(P_smtpd_client_connection_count_limit), 50);
    ck_assert_int_eq(conf_is_set(conf, P_tarpit), 0);
    ck_assert_str_eq(conf_str(P_config_directory), dir);
    ck_assert_int_eq(conf_enum(P_sender_rate_key), 0);
    /* $data_directory expands. */
    ck_assert_str_eq(conf_str(P_archive_directory), "/var/lib/alligate/archive");
    ck_assert_ptr_null(conf_cidr(P_killlist));
    ck_assert_int_eq(cidr_list_match_str(conf_cidr(P_relay_networks), "127.0.0.1"), 1);
    ck_assert_int_eq(cidr_list_match_str(conf_cidr(P_relay_networks), "::1"), 1);
    ck_assert_int_eq(cidr_list_match_str(conf_cidr(P_relay_networks), "10.0.0.1"), 0);
    conf_free(conf);
}
END_TEST

START_TEST(test_values)
{
    CONFIG *conf = load("smtp_listen = 127.0.0.1:2525, [::1]:2525\n"
                      "myhostname = mx.example.com\n"
                      "smtpd_banner = $myhostname ESMTP ${myhostname} $$5\n"
                      "tarpit = yes\n"
                      "tarpit_delay = 2m\n"
                      "message_size_limit = 10m\n"
                      "sender_rate_key = sender\n"
                      "relay_networks = 10.0.0.0/8\n"
                      "  192.0.2.0/24,\n"
                      "# a comment between continuation lines\n"
                      "  2001:db8::/32\n"
                      "queue_directory = queue\n"
                      "mail_from_chars = a-z@.-\n");

    ck_assert_msg(conf != NULL, "%s", vbuf_str(errors));
    conf_activate(conf);
    ck_assert_str_eq(conf_str(P_smtpd_banner), "mx.example.com ESMTP mx.example.com $5");
    ck_assert_int_eq(conf_bool(P_tarpit), 1);
    ck_assert_int_eq(conf_time(P_tarpit_delay), 120);
    ck_assert_int_eq(conf_int(P_message_size_limit), 10 * 1024 * 1024);
    ck_assert_int_eq(conf_enum(P_sender_rate_key), 1);
    ck_assert_str_eq(conf_list(P_smtp_listen)[0], "127.0.0.1:2525");
    ck_assert_str_eq(conf_list(P_smtp_listen)[1], "[::1]:2525");
    ck_assert_ptr_null(conf_list(P_smtp_listen)[2]);
    ck_assert_int_eq(cidr_list_match_str(conf_cidr(P_relay_networks), "192.0.2.9"), 1);
    ck_assert_int_eq(cidr_list_match_str(conf_cidr(P_relay_networks), "2001:db8::5"), 1);
    ck_assert_int_eq(cidr_list_match_str(conf_cidr(P_relay_networks), "127.0.0.1"), 0);
    ck_assert_int_eq(conf_is_set(conf, P_relay_networks), 1);
    ck_assert_int_eq(conf_chars(P_mail_from_chars)['q'], 1);
    ck_assert_int_eq(conf_chars(P_mail_from_chars)['-'], 1);
    ck_assert_int_eq(conf_chars(P_mail_from_chars)['Q'], 0);
    ck_assert_int_eq(conf_chars(P_mail_from_chars)['+'], 0);
    /* Relative paths are relative to the configuration directory. */
    {
        char want[128];

        snprintf(want, sizeof(want), "%s/queue", dir);
        ck_assert_str_eq(conf_str(P_queue_directory), want);
    }
    conf_free(conf);
}
END_TEST

START_TEST(test_last_setting_wins)
{
    CONFIG *conf = load("reject_text = one\nreject_text = Go away\n");

    ck_assert_ptr_nonnull(conf);
    conf_activate(conf);
    ck_assert_str_eq(conf_str(P_reject_text), "Go away");
    conf_free(conf);
}
END_TEST

START_TEST(test_list_files)
{
    CONFIG *conf;

    fixture_write("kill.txt", "# bad hosts\n192.0.2.7\n2001:db8:bad::/48 # trailing\n", 50);
    fixture_write("rcpt.txt", "alice@example.com\n@example.org\n", 31);
    conf = load("killlist = kill.txt\nlocal_recipients = rcpt.txt\n");
    ck_assert_msg(conf != NULL, "%s", vbuf_str(errors));
    conf_activate(conf);
    ck_assert_int_eq(cidr_list_match_str(conf_cidr(P_killlist), "192.0.2.7"), 1);
    ck_assert_int_eq(cidr_list_match_str(conf_cidr(P_killlist), "192.0.2.8"), 0);
    ck_assert_int_eq(addr_list_match(conf_addrs(P_local_recipients), "Alice@Example.com"), 1);
    ck_assert_int_eq(addr_list_match(conf_addrs(P_local_recipients), "bob@example.com"), 0);
    ck_assert_int_eq(addr_list_match(conf_addrs(P_local_recipients), "x@example.org"), 1);
    conf_free(conf);
}
END_TEST

START_TEST(test_unknown_parameter)
{
    load_fails("tarpit_dealy = 5s\n",
               "%s:1: unknown parameter \"tarpit_dealy\"; did you mean \"tarpit_delay\"?\n");
    load_fails("\n\nfrobnicate = yes\n", "%s:3: unknown parameter \"frobnicate\"\n");
}
END_TEST

START_TEST(test_syntax_errors)
{
    load_fails("tarpit yes\n", "%s:1: syntax error: expected \"name = value\"\n");
    load_fails("= yes\n", "%s:1: syntax error: expected \"name = value\"\n");
    load_fails("  tarpit = yes\n",
               "%s:1: continuation line without a parameter before it\n");
    load_fails("config_directory = /x\n",
               "%s:1: config_directory cannot be set in main.cf; use alligatectl -c DIR\n");
}
END_TEST

START_TEST(test_bad_numbers)
{
    load_fails("smtpd_recipient_limit = 12x\n",
               "%s:1: smtpd_recipient_limit: bad number \"12x\"\n");
    load_fails("smtpd_recipient_limit = 0\n",
               "%s:1: smtpd_recipient_limit: value \"0\" out of range (1..100000)\n");
    load_fails("smtpd_recipient_limit = 99999999999999999999999\n",
               "%s:1: smtpd_recipient_limit: number out of range \"99999999999999999999999\"\n");
    load_fails("tarpit_delay = 5y\n",
               "%s:1: tarpit_delay: bad time unit in \"5y\" (use ms, s, m, h, d or w)\n");
    load_fails("tarpit_delay = 2h\n",
               "%s:1: tarpit_delay: value \"2h\" out of range (0..1h)\n");
    load_fails("tarpit_delay = soon\n",
               "%s:1: tarpit_delay: bad time value \"soon\" (use e.g. 500ms, 30s, 10m, 2h, 5d)\n");
    load_fails("message_size_limit = 10q\n",
               "%s:1: message_size_limit: bad size unit in \"10q\" (use k, m or g)\n");
    load_fails("max_invalid_recipients = -1\n",
               "%s:1: max_invalid_recipients: value \"-1\" out of range (0..100000)\n");
}
END_TEST

START_TEST(test_bad_bool_enum)
{
    load_fails("tarpit = maybe\n", "%s:1: tarpit: bad boolean \"maybe\" (use yes or no)\n");
    load_fails("sender_rate_key = ip\n",
               "%s:1: sender_rate_key: bad value \"ip\" (use one of: client_address|sender|sasl_user)\n");
}
END_TEST

START_TEST(test_bad_addresses)
{
    load_fails("relay_networks = 10.0.0.0/33\n",
               "%s:1: relay_networks: bad prefix length in \"10.0.0.0/33\"\n");
    load_fails("relay_networks = 300.1.2.3\n",
               "%s:1: relay_networks: bad address or CIDR block \"300.1.2.3\"\n");
    load_fails("myhostname = bad_host!\n", "%s:1: myhostname: bad host name \"bad_host!\": "
               "character '_' not allowed (letters, digits, '-' and '.')\n");
    load_fails("local_domains = example.com, -bad.example\n",
               "%s:1: local_domains: bad domain name \"-bad.example\"\n");
}
END_TEST

START_TEST(test_bad_list_file)
{
    char expect[512];
    CONFIG *conf;

    conf = load("killlist = /nonexistent/kill.txt\n");
    ck_assert_ptr_null(conf);
    snprintf(expect, sizeof(expect),
             "%s/main.cf:1: killlist: /nonexistent/kill.txt: No such file or directory\n", dir);
    ck_assert_str_eq(vbuf_str(errors), expect);

    fixture_write("kill.txt", "192.0.2.1\nnot-an-address\n", 25);
    conf = load("\nkilllist = kill.txt\n");
    ck_assert_ptr_null(conf);
    snprintf(expect, sizeof(expect),
             "%s/main.cf:2: killlist: %s/kill.txt:2: bad address or CIDR block \"not-an-address\"\n",
             dir, dir);
    ck_assert_str_eq(vbuf_str(errors), expect);
}
END_TEST

/* One test per type that test_bad_* does not cover. */
START_TEST(test_bad_listen)
{
    load_fails("smtp_listen = 127.0.0.1:25, mail.example.com:25 127.0.0.1\n",
               "%s:1: smtp_listen: host is not a numeric address in \"mail.example.com:25\"\n"
               "%s:1: smtp_listen: missing port in \"127.0.0.1\"\n");
}
END_TEST

START_TEST(test_hostport)
{
    CONFIG *conf = load("relay_host = [mail.example.com]:2525\n"
                      "dns_servers = 192.0.2.53, [2001:db8::53]:5353\n");

    ck_assert_msg(conf != NULL, "%s", vbuf_str(errors));
    conf_activate(conf);
    ck_assert_str_eq(conf_str(P_relay_host), "[mail.example.com]:2525");
    ck_assert_str_eq(conf_list(P_dns_servers)[1], "[2001:db8::53]:5353");
    ck_assert_ptr_null(conf_list(P_dns_servers)[2]);
    conf_free(conf);
    load_fails("relay_host = [mail.example.com:25\n",
               "%s:1: relay_host: missing \"]\" in \"[mail.example.com:25\"\n");
    load_fails("dns_servers = [192.0.2.53]x, 192.0.2.1:99999\n",
               "%s:1: dns_servers: junk after \"]\" in \"[192.0.2.53]x\"\n"
               "%s:1: dns_servers: bad port in \"192.0.2.1:99999\"\n");
}
END_TEST

/* myhostname set in main.cf: a host name as RFC 1123 has it. */
START_TEST(test_myhostname)
{
    static const char *good[] = {
        "mx.example.com", "localhost", "MX-1.Example.COM", "a", "1mx.example",
        "x.123a", "a.b-c.d",
        "abcdefghij0123456789abcdefghij0123456789abcdefghij0123456789abc.example",
    };
    static const struct {
        const char *name, *why;
    } bad[] = {
        {"bad_host", "character '_' not allowed (letters, digits, '-' and '.')"},
        {"mx.example.com.", "ends with '.'"},
        {".mx.example.com", "empty label"},
        {"mx..example.com", "empty label"},
        {"-mx.example.com", "a label starts or ends with '-'"},
        {"mx-.example.com", "a label starts or ends with '-'"},
        {"mx.example.-com", "a label starts or ends with '-'"},
        {"192.0.2.1", "the last label is all digits"},
        {"mx.example.123", "the last label is all digits"},
        {"mx\x01.example", "character 0x01 not allowed (letters, digits, '-' and '.')"},
        {"mx example", "character ' ' not allowed (letters, digits, '-' and '.')"},
        {"abcdefghij0123456789abcdefghij0123456789abcdefghij0123456789abcd.example",
         "a label longer than 63 characters"},
    };
    char text[512], expect[512];
    CONFIG *conf;
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(text, sizeof(text), "myhostname = %s\n", good[i]);
        conf = load(text);
        ck_assert_msg(conf != NULL, "%s: %s", good[i], vbuf_str(errors));
        ck_assert_str_eq(conf_value(conf, P_myhostname), good[i]);
        conf_free(conf);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "myhostname = %s\n", bad[i].name);
        snprintf(expect, sizeof(expect), "%%s:1: myhostname: bad host name \"%s\": %s\n",
                 bad[i].name[2] == 1 ? "mx?.example" : bad[i].name, bad[i].why);
        load_fails(text, expect);
    }
    /* 254 characters in all. */
    memset(text, 0, sizeof(text));
    strcpy(text, "myhostname = ");
    for (i = 0; i < 127; i++)
        strcat(text, i ? ".a" : "a");
    strcat(text, "b\n");
    ck_assert_ptr_null(load(text));
    ck_assert_ptr_nonnull(strstr(vbuf_str(errors), ": longer than 253 characters\n"));
}
END_TEST

/* dns_servers: host, host:port, [host]:port (DESIGN.md); a name is
 * looked up once by dnscache when it starts. */
START_TEST(test_dns_servers)
{
    CONFIG *conf = load("dns_servers = 192.0.2.53 192.0.2.54:5353, [192.0.2.55]:53"
                        " [2001:db8::53]:53 localhost ns.example.com:5353\n");

    ck_assert_msg(conf != NULL, "%s", vbuf_str(errors));
    conf_activate(conf);
    ck_assert_str_eq(conf_list(P_dns_servers)[2], "[192.0.2.55]:53");
    ck_assert_str_eq(conf_list(P_dns_servers)[4], "localhost");
    ck_assert_str_eq(conf_list(P_dns_servers)[5], "ns.example.com:5353");
    ck_assert_ptr_null(conf_list(P_dns_servers)[6]);
    conf_free(conf);
    load_fails("dns_servers = 192.0.2.53:0\n",
               "%s:1: dns_servers: bad port in \"192.0.2.53:0\"\n");
}
END_TEST

/* config -d shows a default that refers to others as written. */
START_TEST(test_default_refers)
{
    ck_assert_int_eq(conf_default_refers(P_smtpd_banner), 1);        /* $myhostname */
    ck_assert_int_eq(conf_default_refers(P_local_maildir), 1);       /* $data_directory/ */
    ck_assert_int_eq(conf_default_refers(P_myhostname), 0);          /* computed */
    ck_assert_int_eq(conf_default_refers(P_smtp_listen), 0);
    ck_assert_int_eq(conf_default_refers(P_reject_text), 0);
    conf_set_default(P_reject_text, "costs $$5");
    ck_assert_int_eq(conf_default_refers(P_reject_text), 0);
    conf_set_default(P_reject_text, "$$$$${tarpit}");
    ck_assert_int_eq(conf_default_refers(P_reject_text), 1);
    conf_set_default(P_reject_text, "5$");
    ck_assert_int_eq(conf_default_refers(P_reject_text), 0);
    conf_set_default(P_reject_text, "$_x");
    ck_assert_int_eq(conf_default_refers(P_reject_text), 1);
    conf_set_default(P_reject_text, NULL);
    ck_assert_int_eq(conf_default_refers(P_reject_text), 0);
}
END_TEST

/* The system's host name, myhostname's default, is not held to RFC 1123
 * (a machine named "build_42" still starts); what main.cf sets is. */
START_TEST(test_computed_hostname_lenient)
{
    char host[256];
    CONFIG *conf;

    if (gethostname(host, sizeof(host)) < 0 || strchr(host, '_') == NULL) {
        /* Not such a machine: the rule is seen through $myhostname. */
        load_fails("myhostname = a_b\n", "%s:1: myhostname: bad host name \"a_b\": "
                   "character '_' not allowed (letters, digits, '-' and '.')\n");
        conf = load("");
        ck_assert_msg(conf != NULL, "%s", vbuf_str(errors));
        conf_free(conf);
        return;
    }
    conf = load("");
    ck_assert_msg(conf != NULL, "%s", vbuf_str(errors));
    ck_assert_str_eq(conf_value(conf, P_myhostname), host);
    conf_free(conf);
}
END_TEST

/* redis_servers: host[:port], [ipv6]:port, unix:/path; at least one. */
START_TEST(test_servers)
{
    CONFIG *conf = load("redis_servers = redis.example.com, 192.0.2.6:6380,"
                        " [2001:db8::6]:6379 unix:/run/redis/redis.sock\n");

    ck_assert_msg(conf != NULL, "%s", vbuf_str(errors));
    conf_activate(conf);
    ck_assert_str_eq(conf_list(P_redis_servers)[0], "redis.example.com");
    ck_assert_str_eq(conf_list(P_redis_servers)[3], "unix:/run/redis/redis.sock");
    ck_assert_ptr_null(conf_list(P_redis_servers)[4]);
    conf_free(conf);
    load_fails("\n\nredis_servers = 192.0.2.6:0 unix:run/redis.sock\n",
               "%s:3: redis_servers: bad server \"192.0.2.6:0\": bad port in "
               "\"192.0.2.6:0\" (use host:port, [ipv6]:port or unix:/path)\n"
               "%s:3: redis_servers: bad server \"unix:run/redis.sock\": unix: "
               "needs an absolute path\n");
    load_fails("redis_servers = ,\n", "%s:1: redis_servers: no server given\n");
    ck_assert_ptr_null(load("redis_servers = unix:/"
                            "0123456789012345678901234567890123456789"
                            "0123456789012345678901234567890123456789"
                            "0123456789012345678901234567890123456789\n"));
    ck_assert_ptr_nonnull(strstr(vbuf_str(errors), ":1: redis_servers: bad server "));
    ck_assert_ptr_nonnull(strstr(vbuf_str(errors), "\": socket path too long\n"));
}
END_TEST

START_TEST(test_file)
{
    CONFIG *conf;

    fixture_write("cert.pem", "x\n", 2);
    conf = load("tls_cert_file = cert.pem\n");
    ck_assert_msg(conf != NULL, "%s", vbuf_str(errors));
    conf_activate(conf);
    /* tls_key_file defaults to $tls_cert_file. */
    ck_assert_str_eq(conf_str(P_tls_key_file), conf_str(P_tls_cert_file));
    conf_free(conf);
    load_fails("tls_cert_file = /nonexistent/cert.pem\ntls_key_file =\n",
               "%s:1: tls_cert_file: cannot read \"/nonexistent/cert.pem\": "
               "No such file or directory\n");
}
END_TEST

START_TEST(test_bad_rcpt_file)
{
    char expect[512];

    ck_assert_ptr_null(load("local_recipients = /nonexistent/rcpt.txt\n"));
    snprintf(expect, sizeof(expect),
             "%s/main.cf:1: local_recipients: /nonexistent/rcpt.txt: No such file or directory\n",
             dir);
    ck_assert_str_eq(vbuf_str(errors), expect);

    fixture_write("rcpt.txt", "alice@example.com\nalice\n", 24);
    ck_assert_ptr_null(load("local_recipients = rcpt.txt\n"));
    snprintf(expect, sizeof(expect),
             "%s/main.cf:1: local_recipients: %s/rcpt.txt:2: bad address \"alice\"\n", dir, dir);
    ck_assert_str_eq(vbuf_str(errors), expect);
}
END_TEST

/* conf_skip_files(1): main.cf alone, for alligatectl stats as any
 * user; the files it names are neither read nor checked. */
START_TEST(test_skip_files)
{
    CONFIG *conf;
    char run[256];

    conf_skip_files(1);
    conf = load("tls_cert_file = /nonexistent/cert.pem\n"
                "local_recipients = /nonexistent/rcpt.txt\n"
                "relay_networks = 10.0.0.0/8, /nonexistent/nets\n"
                "run_directory = run\n");
    conf_skip_files(0);
    ck_assert_msg(conf != NULL, "%s", vbuf_str(errors));
    conf_activate(conf);
    snprintf(run, sizeof(run), "%s/run", dir);
    ck_assert_str_eq(conf_str(P_run_directory), run);
    ck_assert_ptr_null(conf_addrs(P_local_recipients));
    ck_assert_ptr_null(conf_cidr(P_relay_networks));
    conf_activate(NULL);
    conf_free(conf);
    /* Main.cf's own mistakes are still found. */
    conf_skip_files(1);
    conf = load("smtpd_max_use = many\n");
    conf_skip_files(0);
    ck_assert_ptr_null(conf);
    /* And the files are read again once it is off. */
    ck_assert_ptr_null(load("local_recipients = /nonexistent/rcpt.txt\n"));
}
END_TEST

START_TEST(test_bad_chars)
{
    load_fails("mail_from_chars = a-z\x01\n",
               "%s:1: mail_from_chars: character 0x01 is not printable ASCII\n");
    load_fails("mail_from_chars = !-\x7f\n",
               "%s:1: mail_from_chars: character 0x7f is not printable ASCII\n");
}
END_TEST

START_TEST(test_type_names)
{
    ck_assert_str_eq(conf_type_name(CONF_STRING), "string");
    ck_assert_str_eq(conf_type_name(CONF_LISTEN), "address:port list");
    ck_assert_str_eq(conf_type_name(CONF_CIDR), "CIDR list");
    ck_assert_str_eq(conf_type_name(CONF_CHARS), "characters");
}
END_TEST

START_TEST(test_long_line_and_nul)
{
    char *big = malloc(CONF_LINE_MAX + 100);

    memset(big, 'x', CONF_LINE_MAX + 50);
    memcpy(big, "reject_text = ", 14);
    strcpy(big + CONF_LINE_MAX + 50, "\n");
    load_fails(big, "%s:1: line too long (more than 4096 bytes)\n");
    free(big);

    fixture_write("main.cf", "tarpit = yes\nreject_text = a\0b\n", 31);
    vbuf_reset(errors);
    ck_assert_ptr_null(conf_load(dir, errors));
    {
        char expect[256];

        snprintf(expect, sizeof(expect), "%s/main.cf:2: NUL byte in line\n", dir);
        ck_assert_str_eq(vbuf_str(errors), expect);
    }
}
END_TEST

START_TEST(test_expansion_errors)
{
    load_fails("reject_text = $reject_text\n",
               "%s:1: reject_text: expansion loop: $reject_text -> $reject_text\n");
    load_fails("myhostname = $smtpd_banner\n",
               "%s:1: myhostname: expansion loop: $myhostname -> $smtpd_banner -> $myhostname\n");
    load_fails("reject_text = $nosuch\n",
               "%s:1: reject_text: unknown parameter \"$nosuch\" in value\n");
    load_fails("reject_text = $tarpitt\n",
               "%s:1: reject_text: unknown parameter \"$tarpitt\" in value; did you mean \"$tarpit\"?\n");
    load_fails("reject_text = costs 5$\n",
               "%s:1: reject_text: '$' not followed by a parameter name (write $$ for a literal $)\n");
    load_fails("reject_text = ${tarpit\n", "%s:1: reject_text: missing '}' after \"${\"\n");
}
END_TEST

/* Each $name may repeat a value many times: three short lines would
 * otherwise expand to gigabytes ("billion laughs", found by fuzz_conf). */
START_TEST(test_expansion_too_long)
{
    VBUF *text = vbuf_create(16384);
    char expect[256];
    CONFIG *conf;
    int i;

    vbuf_printf(text, "reject_text = ");
    for (i = 0; i < 1000; i++)
        vbuf_append_char(text, 'x');
    vbuf_printf(text, "\nsmtpd_banner =");
    for (i = 0; i < 250; i++)
        vbuf_printf(text, " $reject_text");
    vbuf_printf(text, "\ndaemon_user =");
    for (i = 0; i < 250; i++)
        vbuf_printf(text, " $smtpd_banner");
    vbuf_printf(text, "\n");
    /* One message, for the first value too long; not for its users. */
    snprintf(expect, sizeof(expect), "%%s:2: smtpd_banner: value too long after "
             "$name expansion (more than %d bytes)\n", CONF_VALUE_MAX);
    load_fails(vbuf_str(text), expect);
    /* Up to the limit is fine. */
    vbuf_reset(text);
    vbuf_printf(text, "reject_text = ");
    for (i = 0; i < 1000; i++)
        vbuf_append_char(text, 'x');
    vbuf_printf(text, "\nsmtpd_banner =");
    for (i = 0; i < 65; i++)
        vbuf_printf(text, " $reject_text");
    vbuf_printf(text, "\n");
    conf = load(vbuf_str(text));
    ck_assert_msg(conf != NULL, "%s", vbuf_str(errors));
    conf_free(conf);
    vbuf_free(text);
}
END_TEST

START_TEST(test_chars)
{
    load_fails("mail_from_chars = z-a\n", "%s:1: mail_from_chars: reversed range \"z-a\"\n");
}
END_TEST

START_TEST(test_many_errors_reported)
{
    load_fails("tarpit = maybe\nfoo_bar_baz_quux = 1\nsmtpd_timeout = x\n",
               "%s:2: unknown parameter \"foo_bar_baz_quux\"\n"
               "%s:3: smtpd_timeout: bad time value \"x\" (use e.g. 500ms, 30s, 10m, 2h, 5d)\n"
               "%s:1: tarpit: bad boolean \"maybe\" (use yes or no)\n");
}
END_TEST

START_TEST(test_relations)
{
    load_fails("submission_listen = 127.0.0.1:2587\n",
               "%s:1: submission_listen: an AUTH ONLY service needs smtp_auth = yes\n");
    load_fails("minimal_backoff_time = 1h\nmaximal_backoff_time = 10m\n",
               "%s:2: maximal_backoff_time: must not be less than minimal_backoff_time\n");
    load_fails("smtp_auth = yes\nauth_backend = relay\n",
               "%s:2: auth_backend: relay needs relay_host\n");
}
END_TEST

/* smtps is port 25's service under implicit TLS (RFC 8314), not an AUTH
 * ONLY port: it needs a certificate, not smtp_auth. */
START_TEST(test_smtps_without_auth)
{
    CONFIG *conf;

    fixture_write("cert.pem", "x\n", 2);
    conf = load("tls_cert_file = cert.pem\nsmtps_listen = 127.0.0.1:2465\n");
    ck_assert_msg(conf != NULL, "%s", vbuf_str(errors));
    ck_assert_str_eq(vbuf_str(errors), "");
    ck_assert_str_eq(conf_value(conf, P_smtp_auth), "no");
    conf_free(conf);
    load_fails("smtps_listen = 127.0.0.1:2465\n",
               "%s:1: smtps_listen: needs tls_cert_file\n");
}
END_TEST

START_TEST(test_missing_file)
{
    char expect[256];

    vbuf_reset(errors);
    ck_assert_ptr_null(conf_load("/nonexistent-dir", errors));
    snprintf(expect, sizeof(expect), "/nonexistent-dir/main.cf: No such file or directory\n");
    ck_assert_str_eq(vbuf_str(errors), expect);
}
END_TEST

START_TEST(test_suggest_lookup)
{
    ck_assert_int_eq(conf_lookup("tarpit"), P_tarpit);
    ck_assert_int_eq(conf_lookup("nope"), -1);
    ck_assert_str_eq(conf_suggest("smtp_listn"), "smtp_listen");
    ck_assert_ptr_null(conf_suggest("completely_unrelated_words"));
}
END_TEST

START_TEST(test_every_param_has_help)
{
    int i;
    CONFIG *conf = conf_defaults();

    for (i = 0; i < CONF_NPARAMS; i++) {
        ck_assert_msg(conf_params[i].help && *conf_params[i].help,
                      "%s has no help", conf_params[i].name);
        ck_assert_ptr_nonnull(conf_value(conf, i));
    }
    conf_free(conf);
}
END_TEST

START_TEST(test_wrong_accessor_panics)
{
    CONFIG *conf = conf_defaults();

    conf_activate(conf);
    conf_bool(P_smtp_listen);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("conf");
    TCase *tc = tcase_create("conf");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_values);
    tcase_add_test(tc, test_last_setting_wins);
    tcase_add_test(tc, test_list_files);
    tcase_add_test(tc, test_unknown_parameter);
    tcase_add_test(tc, test_syntax_errors);
    tcase_add_test(tc, test_bad_numbers);
    tcase_add_test(tc, test_bad_bool_enum);
    tcase_add_test(tc, test_bad_addresses);
    tcase_add_test(tc, test_bad_list_file);
    tcase_add_test(tc, test_bad_listen);
    tcase_add_test(tc, test_hostport);
    tcase_add_test(tc, test_servers);
    tcase_add_test(tc, test_myhostname);
    tcase_add_test(tc, test_dns_servers);
    tcase_add_test(tc, test_default_refers);
    tcase_add_test(tc, test_computed_hostname_lenient);
    tcase_add_test(tc, test_file);
    tcase_add_test(tc, test_skip_files);
    tcase_add_test(tc, test_bad_rcpt_file);
    tcase_add_test(tc, test_bad_chars);
    tcase_add_test(tc, test_type_names);
    tcase_add_test(tc, test_long_line_and_nul);
    tcase_add_test(tc, test_expansion_errors);
    tcase_add_test(tc, test_expansion_too_long);
    tcase_add_test(tc, test_chars);
    tcase_add_test(tc, test_many_errors_reported);
    tcase_add_test(tc, test_relations);
    tcase_add_test(tc, test_smtps_without_auth);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_suggest_lookup);
    tcase_add_test(tc, test_every_param_has_help);
    tcase_add_test_raise_signal(tc, test_wrong_accessor_panics, SIGABRT);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
