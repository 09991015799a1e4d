/* Unit tests for the hand-off message (lib/tarpit_msg.c): what the
 * encoder writes, that the decoder reads it back to the same hold, and
 * that the decoder refuses every malformed message (missing, repeated,
 * unknown and out-of-order names, bad values, control characters, too
 * long, a reply that is not one 4xx/5xx line) and the encoder every hold
 * unfit to send. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tarpit_clnt.h"

static VBUF *out;
static VBUF *why;

static void
setup(void)
{
    out = vbuf_create(100);
    why = vbuf_create(100);
}

static void
teardown(void)
{
    vbuf_free(out);
    vbuf_free(why);
}

static void
sample(TARPIT_HOLD *hold)
{
    memset(hold, 0, sizeof(*hold));
    strcpy(hold->addr, "192.0.2.7");
    strcpy(hold->name, "bad.example.net");
    hold->delay_ms = 60000;
    strcpy(hold->rule, "sender_rate_limit");
    strcpy(hold->command, "EHLO");
    strcpy(hold->reply, "550 5.7.1 Refused");
}

static const char good[] =
    "version=1\n"
    "addr=192.0.2.7\n"
    "name=bad.example.net\n"
    "delay=60000\n"
    "rule=sender_rate_limit\n"
    "command=EHLO\n"
    "reply=550 5.7.1 Refused\n";

/* The decoder's verdict on text: "ok" or its reason. */
static const char *
decode(const char *text)
{
    TARPIT_HOLD hold;

    return tarpit_msg_decode(text, strlen(text), &hold, why) == 0 ? "ok"
        : vbuf_str(why);
}

/* good with one line replaced (line: its index) or removed (repl NULL). */
static const char *
decode_with(int line, const char *repl)
{
    static char buf[4096];
    const char *p = good;
    int i;

    buf[0] = 0;
    for (i = 0; *p; i++) {
        const char *nl = strchr(p, '\n');

        if (i != line)
            strncat(buf, p, (size_t) (nl - p + 1));
        else if (repl)
            strcat(buf, repl);
        p = nl + 1;
    }
    return decode(buf);
}

static void
same_hold(const TARPIT_HOLD *a, const TARPIT_HOLD *b)
{
    ck_assert_str_eq(a->addr, b->addr);
    ck_assert_str_eq(a->name, b->name);
    ck_assert_int_eq(a->delay_ms, b->delay_ms);
    ck_assert_str_eq(a->rule, b->rule);
    ck_assert_str_eq(a->command, b->command);
    ck_assert_str_eq(a->reply, b->reply);
}

START_TEST(test_encode)
{
    TARPIT_HOLD hold;

    sample(&hold);
    vbuf_set(out, "x");
    ck_assert_int_eq(tarpit_msg_encode(&hold, out), 0);
    /* Appended: what was there stays. */
    ck_assert_str_eq(vbuf_str(out) + 1, good);
    ck_assert_int_eq(vbuf_str(out)[0], 'x');
}
END_TEST

START_TEST(test_round_trip)
{
    TARPIT_HOLD hold, back;

    sample(&hold);
    ck_assert_int_eq(tarpit_msg_encode(&hold, out), 0);
    ck_assert_int_eq(tarpit_msg_decode(vbuf_str(out), vbuf_len(out), &back,
                                       why), 0);
    same_hold(&hold, &back);

    /* IPv6, the smallest and largest delay, a bare code, a long reply. */
    strcpy(hold.addr, "2001:db8::1");
    strcpy(hold.name, "unknown");
    hold.delay_ms = 0;
    strcpy(hold.rule, "overlimit");
    strcpy(hold.command, "RCPT");
    strcpy(hold.reply, "450");
    vbuf_reset(out);
    ck_assert_int_eq(tarpit_msg_encode(&hold, out), 0);
    ck_assert_int_eq(tarpit_msg_decode(vbuf_str(out), vbuf_len(out), &back,
                                       why), 0);
    same_hold(&hold, &back);

    hold.delay_ms = TARPIT_DELAY_MAX_MS;
    memset(hold.reply, 'x', sizeof(hold.reply) - 1);
    memcpy(hold.reply, "554 ", 4);
    hold.reply[sizeof(hold.reply) - 1] = 0;
    memset(hold.name, 'n', sizeof(hold.name) - 1);
    hold.name[sizeof(hold.name) - 1] = 0;
    vbuf_reset(out);
    ck_assert_int_eq(tarpit_msg_encode(&hold, out), 0);
    ck_assert_uint_le(vbuf_len(out), TARPIT_MSG_MAX);
    ck_assert_int_eq(tarpit_msg_decode(vbuf_str(out), vbuf_len(out), &back,
                                       why), 0);
    same_hold(&hold, &back);
}
END_TEST

START_TEST(test_encode_refused)
{
    TARPIT_HOLD hold;

    vbuf_set(out, "keep");
#define REFUSED(change) do { \
        sample(&hold); \
        change; \
        ck_assert_int_eq(tarpit_msg_encode(&hold, out), -1); \
        ck_assert_str_eq(vbuf_str(out), "keep"); \
    } while (0)
    REFUSED(hold.addr[0] = 0);
    REFUSED(strcpy(hold.addr, "192.0.2.300"));
    REFUSED(strcpy(hold.addr, "host.example"));
    REFUSED(strcpy(hold.name, "a\nb"));
    REFUSED(strcpy(hold.name, "a\rb"));
    REFUSED(strcpy(hold.name, "a b"));
    REFUSED(strcpy(hold.name, "a]b"));
    REFUSED(hold.name[0] = 0);
    REFUSED(strcpy(hold.name, "caf\xc3\xa9"));
    REFUSED(hold.delay_ms = -1);
    REFUSED(hold.delay_ms = TARPIT_DELAY_MAX_MS + 1);
    REFUSED(strcpy(hold.rule, "Sender"));
    REFUSED(strcpy(hold.rule, "a=b"));
    REFUSED(strcpy(hold.command, "ehlo"));
    REFUSED(strcpy(hold.reply, "250 OK"));
    REFUSED(strcpy(hold.reply, "550-more to come"));
    REFUSED(strcpy(hold.reply, "55 short"));
    REFUSED(strcpy(hold.reply, "5x0 Refused"));
    REFUSED(strcpy(hold.reply, "550 tab\there"));
    REFUSED(strcpy(hold.reply, "550 Refused\r\n"));
    /* Unterminated fields are too long, not read past. */
    REFUSED(memset(hold.addr, '1', sizeof(hold.addr)));
    REFUSED(memset(hold.reply, '5', sizeof(hold.reply)));
    REFUSED(memset(hold.command, 'A', sizeof(hold.command)));
#undef REFUSED
}
END_TEST

START_TEST(test_decode_good)
{
    TARPIT_HOLD hold;

    ck_assert_int_eq(tarpit_msg_decode(good, strlen(good), &hold, why), 0);
    ck_assert_str_eq(hold.addr, "192.0.2.7");
    ck_assert_str_eq(hold.name, "bad.example.net");
    ck_assert_int_eq(hold.delay_ms, 60000);
    ck_assert_str_eq(hold.rule, "sender_rate_limit");
    ck_assert_str_eq(hold.command, "EHLO");
    ck_assert_str_eq(hold.reply, "550 5.7.1 Refused");
    /* A value may hold '=' and the reply any printable text. */
    ck_assert_str_eq(decode_with(6, "reply=550 a=b [x] ~!\n"), "ok");
}
END_TEST

START_TEST(test_decode_structure)
{
    TARPIT_HOLD hold;
    char buf[4096];

    ck_assert_str_eq(decode(""), "empty message");
    ck_assert_str_eq(decode_with(6, "reply=550 Refused"),
                     "last line without newline");
    ck_assert_str_eq(decode_with(6, NULL), "missing name: reply");
    ck_assert_str_eq(decode_with(0, NULL), "out-of-order name: addr");
    ck_assert_str_eq(decode_with(3, NULL), "out-of-order name: rule");
    ck_assert_str_eq(decode("version=1\n"), "missing name: addr");
    ck_assert_str_eq(decode_with(2, "addr=192.0.2.8\n"), "repeated name: addr");
    ck_assert_str_eq(decode_with(6, "reply=550 x\nreply=550 y\n"),
                     "repeated name: reply");
    ck_assert_str_eq(decode_with(6, "reply=550 x\nversion=1\n"),
                     "repeated name: version");
    ck_assert_str_eq(decode_with(6, "reply=550 x\nextra=1\n"),
                     "unknown name: extra");
    ck_assert_str_eq(decode_with(1, "Addr=192.0.2.7\n"), "unknown name: Addr");
    ck_assert_str_eq(decode_with(1, "add\001r=1\n"), "unknown name: add?r");
    ck_assert_str_eq(decode_with(1, "addr 192.0.2.7\n"), "line without '='");
    ck_assert_str_eq(decode_with(1, "\n"), "line without '='");
    ck_assert_str_eq(decode_with(6, "reply=550 x\n\n"), "line without '='");
    ck_assert_str_eq(decode_with(1, "=192.0.2.7\n"), "unknown name: ");

    /* Swapped lines. */
    snprintf(buf, sizeof(buf), "version=1\nname=x\naddr=192.0.2.7\n");
    ck_assert_str_eq(decode(buf), "out-of-order name: name");

    /* Too long: refused before anything is read. */
    memset(buf, 'x', sizeof(buf));
    memcpy(buf, good, strlen(good));
    ck_assert_int_eq(tarpit_msg_decode(buf, TARPIT_MSG_MAX + 1, &hold, why), -1);
    ck_assert_str_eq(vbuf_str(why), "message too long");

    /* A NUL is a control character, wherever it is. */
    memcpy(buf, good, strlen(good));
    buf[strlen("version=1\naddr=192")] = 0;
    ck_assert_int_eq(tarpit_msg_decode(buf, strlen(good), &hold, why), -1);
    ck_assert_str_eq(vbuf_str(why), "addr: control or non-ASCII character");

    /* A failed decode leaves nothing half-filled. */
    ck_assert_int_eq(tarpit_msg_decode(good, strlen(good) - 2, &hold, why), -1);
    ck_assert_str_eq(hold.addr, "");
    ck_assert_int_eq(hold.delay_ms, 0);
    /* why may be NULL. */
    ck_assert_int_eq(tarpit_msg_decode("x", 1, &hold, NULL), -1);
}
END_TEST

START_TEST(test_decode_values)
{
    char long_name[300], long_reply[600], line[700];

    ck_assert_str_eq(decode_with(0, "version=2\n"), "version: unsupported version");
    ck_assert_str_eq(decode_with(0, "version=01\n"), "version: unsupported version");
    ck_assert_str_eq(decode_with(0, "version=\n"), "version: empty value");
    ck_assert_str_eq(decode_with(1, "addr=\n"), "addr: empty value");
    ck_assert_str_eq(decode_with(1, "addr=192.0.2\n"), "addr: not a numeric address");
    ck_assert_str_eq(decode_with(1, "addr= 192.0.2.7\n"), "addr: not a numeric address");
    ck_assert_str_eq(decode_with(1, "addr=fe80::1%eth0\n"), "addr: not a numeric address");
    ck_assert_str_eq(decode_with(1, "addr=::ffff:192.0.2.7\n"), "ok");
    ck_assert_str_eq(decode_with(1, "addr=192.0.2.7\r\n"),
                     "addr: control or non-ASCII character");
    ck_assert_str_eq(decode_with(2, "name=a b\n"), "name: space or bracket in name");
    ck_assert_str_eq(decode_with(2, "name=a[1]\n"), "name: space or bracket in name");
    ck_assert_str_eq(decode_with(2, "name=\tx\n"), "name: control or non-ASCII character");
    ck_assert_str_eq(decode_with(2, "name=\x7f\n"), "name: control or non-ASCII character");
    ck_assert_str_eq(decode_with(2, "name=\xc3\xa9\n"), "name: control or non-ASCII character");
    memset(long_name, 'a', sizeof(long_name));
    snprintf(line, sizeof(line), "name=%.256s\n", long_name);
    ck_assert_str_eq(decode_with(2, line), "name: value too long");
    snprintf(line, sizeof(line), "name=%.255s\n", long_name);
    ck_assert_str_eq(decode_with(2, line), "ok");

    ck_assert_str_eq(decode_with(3, "delay=-1\n"),
                     "delay: not a number of milliseconds from 0 to 3600000");
    ck_assert_str_eq(decode_with(3, "delay=+5\n"),
                     "delay: not a number of milliseconds from 0 to 3600000");
    ck_assert_str_eq(decode_with(3, "delay=060\n"),
                     "delay: not a number of milliseconds from 0 to 3600000");
    ck_assert_str_eq(decode_with(3, "delay=3600001\n"),
                     "delay: not a number of milliseconds from 0 to 3600000");
    ck_assert_str_eq(decode_with(3, "delay=99999999999999999999999\n"),
                     "delay: not a number of milliseconds from 0 to 3600000");
    ck_assert_str_eq(decode_with(3, "delay=60s\n"),
                     "delay: not a number of milliseconds from 0 to 3600000");
    ck_assert_str_eq(decode_with(3, "delay=3600000\n"), "ok");
    ck_assert_str_eq(decode_with(3, "delay=0\n"), "ok");

    ck_assert_str_eq(decode_with(4, "rule=Sender\n"), "rule: not a rule name");
    ck_assert_str_eq(decode_with(4, "rule=a-b\n"), "rule: not a rule name");
    ck_assert_str_eq(decode_with(4, "rule=\n"), "rule: empty value");
    ck_assert_str_eq(decode_with(4, "rule=dnsbl\n"), "ok");
    ck_assert_str_eq(decode_with(5, "command=ehlo\n"), "command: not a command name");
    ck_assert_str_eq(decode_with(5, "command=EHLO x\n"), "command: not a command name");
    ck_assert_str_eq(decode_with(5, "command=ABCDEFGHIJKLMNOP\n"), "command: value too long");
    ck_assert_str_eq(decode_with(5, "command=ABCDEFGHIJKLMNO\n"), "ok");

    ck_assert_str_eq(decode_with(6, "reply=250 OK\n"), "reply: not a 4xx or 5xx reply line");
    ck_assert_str_eq(decode_with(6, "reply=550-first of two\n"),
                     "reply: not a 4xx or 5xx reply line");
    ck_assert_str_eq(decode_with(6, "reply=55\n"), "reply: not a 4xx or 5xx reply line");
    ck_assert_str_eq(decode_with(6, "reply=5500 x\n"), "reply: not a 4xx or 5xx reply line");
    ck_assert_str_eq(decode_with(6, "reply=5a0 x\n"), "reply: not a 4xx or 5xx reply line");
    ck_assert_str_eq(decode_with(6, "reply= 550 x\n"), "reply: not a 4xx or 5xx reply line");
    ck_assert_str_eq(decode_with(6, "reply=550 a\rb\n"),
                     "reply: control or non-ASCII character");
    ck_assert_str_eq(decode_with(6, "reply=421\n"), "ok");
    memset(long_reply, 'r', sizeof(long_reply));
    memcpy(long_reply, "550 ", 4);
    snprintf(line, sizeof(line), "reply=%.512s\n", long_reply);
    ck_assert_str_eq(decode_with(6, line), "reply: value too long");
    snprintf(line, sizeof(line), "reply=%.511s\n", long_reply);
    ck_assert_str_eq(decode_with(6, line), "ok");
}
END_TEST

static Suite *
tarpit_msg_suite(void)
{
    Suite *s = suite_create("tarpit_msg");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_encode);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_encode_refused);
    tcase_add_test(tc, test_decode_good);
    tcase_add_test(tc, test_decode_structure);
    tcase_add_test(tc, test_decode_values);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(tarpit_msg_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
