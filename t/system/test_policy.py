"""The anti-spam rules of the manual's first page, as real clients meet
them: deny_invalid_helo, deny_null_sender, mail_from_chars,
max_invalid_recipients, max_valid_recipients (and its _min_invalid
modifier), killlist, whitelist, submission_listen and
submission_killlist, reject_text and bogus_550, the greeting pause that
trusted clients skip, and the lists re-read by alligatectl reload.

A rule's refusal is "550 5.7.1 Refused" (reject_text), logged once with
rule=NAME; "terminate" is that refusal and then the end of the
connection.  The tests connect from 127.0.0.x, outside relay_networks
here, so that they are ordinary Internet clients."""

import re
import socket
import time
import unittest

from alligate_test import (AlligateTestCase, RawClient, SharedInstanceTestCase,
                           free_port, wait_for)

RECIPIENTS = """\
# the valid users of example.com; example.net has none
alice@example.com
bob@example.com
carol@example.com
dave@example.com
"""

BASE = ("relay_networks = 192.0.2.0/24\n"
        "local_recipients = recipients\n"
        "smtpd_greet_wait = 0\n"
        # Many refusals per session here: the error limits are tested
        # elsewhere.
        "smtpd_soft_error_limit = 0\n"
        "smtpd_hard_error_limit = 1000\n")

REFUSED = (550, ["5.7.1 Refused"])
NO_VALID = (554, ["5.5.1 Error: no valid recipients"])
OK_RCPT = (250, ["2.1.5 Ok"])
OK_MAIL = (250, ["2.1.0 Ok"])
SENDER = "sender@remote.example"

# deny_invalid_helo: not a fully-qualified domain name nor an address
# literal that parses (None: no name at all).
BAD_HELO = [
    None, "localhost", "foo", "1.2.3.4", "-bad.example.com",
    "bad-.example.com", "a..b", ".example.com", "mail.example.org..",
    "under_score.example.com", "mail.example.123", "a" * 64 + ".example.com",
    ("a" * 63 + ".") * 3 + "b" * 58 + ".com",          # 254 octets
    "[192.0.2.256]", "[192.0.2.1", "[IPv6:2001:db8::zz]", "[mail.example.org]",
]
GOOD_HELO = [
    "mail.example.org", "mail.example.org.", "MAIL.Example.ORG",
    "a-b.example.com", "xn--bcher-kva.example", "1mail.example.com",
    "mail.123.example", "ab.c1", "a" * 63 + ".example.com",
    ("a" * 63 + ".") * 3 + "b" * 57 + ".com",          # 253 octets
    "[192.0.2.1]", "[IPv6:2001:db8::1]", "[IPv6:::1]",
]
# Outside the default mail_from_chars (a-zA-Z0-9.@_+=-), all valid
# RFC 5321 addresses.
BAD_CHARS = ["a!b@example.org", "us#er@example.org", "a%b@example.org",
             "o'brien@example.org", "a&b@example.org", "x/y@example.org",
             "a{b}@example.org", "a~b@example.org", "a$b@example.org"]
GOOD_CHARS = "Alice.Smith+tag=x_y-z@Example-Host.org"


def unknown(rcpt):
    return (550, ["5.1.1 <%s>: Recipient address rejected: User unknown" % rcpt])


def relay_denied(rcpt):
    return (554, ["5.7.1 <%s>: Relay access denied" % rcpt])


class Client(RawClient):
    """A RawClient from a chosen loopback address (all of 127/8 is
    loopback) to a chosen port."""

    def __init__(self, port, source="127.0.0.1", timeout=30):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                             source_address=(source, 0))
        self.buf = b""


def overlimit(inst, addr="127.0.0.1"):
    """The overlimit count ratekeeper holds for addr (0 when none)."""
    out = inst.ctl("rate", "show", addr).stdout
    m = re.search(r"(?m)^  overlimit +(\d+) in ", out)
    return int(m.group(1)) if m else 0


def ratekeeper_ready(inst, timeout=10):
    return wait_for(lambda: inst.ctl("rate", "top").returncode == 0,
                    timeout=timeout)


class PolicyMixin:
    """Sessions and checks shared by the classes below (self.inst is
    the instance, self.mark where this test's log begins)."""

    def connect(self, source="127.0.0.1", port=None):
        c = Client(port or self.inst.port, source)
        self.addCleanup(c.close)
        return c

    def session(self, helo="client.test.example", source="127.0.0.1", port=None,
                sender=SENDER):
        """Greeted, EHLO'd and, unless sender is None, MAIL sent."""
        c = self.connect(source, port)
        self.assertEqual(c.reply()[0], 220)
        self.assertEqual(c.ehlo(helo)[0], 250)
        if sender is not None:
            self.assertEqual(c.cmd("MAIL FROM:<%s>" % sender), OK_MAIL)
        return c

    def queued(self):
        return sorted(set(self.inst.queue_files()) - self.queued_before)

    def deliver(self, c, rcpts):
        """DATA on an open transaction; checks the queue file it made."""
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(b"Subject: policy test\r\n\r\nhello\r\n.\r\n")
        code, lines = c.reply()
        self.assertEqual(code, 250, lines)
        m = re.fullmatch(r"2\.0\.0 Ok: queued as ([0-9A-F]+)", lines[0])
        self.assertTrue(m, lines)
        self.assertIn(m.group(1), self.queued())
        self.assertEqual(self.inst.queue_entry(m.group(1)).recipients, rcpts)
        self.queued_before.add(m.group(1))
        return m.group(1)

    def assertEach(self, items, check):
        """check(item) returns (got, expected) for each item; one
        failure that lists every item whose got differs."""
        wrong = []
        for item in items:
            got, expected = check(item)
            if got != expected:
                wrong.append("%r: got %r, expected %r" % (item, got, expected))
        self.assertEqual(wrong, [], "\n".join(wrong))

    def assertTerminated(self, c, command, reply=REFUSED):
        """command gets reply, then the server closes the connection."""
        self.assertEqual(c.cmd(command), reply)
        self.assertTrue(c.closed(timeout=3), "connection left open")

    def assertRuleLogged(self, cmd, rule, sender=None, rcpt=None, helo=None,
                         reply="550 5.7.1 Refused", source="127.0.0.1"):
        """One "NOQUEUE: reject: CMD from unknown[SOURCE]: REPLY; ...
        rule=RULE" line since the test began, with from=<sender>,
        to=<rcpt> (none when rcpt is None) and helo=<helo> when given."""
        # Postfix's shape, then the rule and its details last.
        regex = (r"(?m)^.*NOQUEUE: reject: %s from unknown\[%s\]: %s;"
                 r"(?: from=<[^>]*>)?(?: to=<[^>]*>)? proto=E?SMTP"
                 r"(?: helo=<[^>]*>)? rule=%s(?: [^ ]+)*$"
                 % (cmd, re.escape(source), re.escape(reply), rule))
        m = self.inst.wait_log(regex, self.mark)
        log = self.inst.log_since(self.mark)
        self.assertTrue(m, log[-3000:])
        line = m.group(0)
        if sender is not None:
            self.assertIn(" from=<%s>" % sender, line)
        if rcpt is not None:
            self.assertIn(" to=<%s>" % rcpt, line)
        else:
            self.assertNotIn(" to=<", line)
        if helo is not None:
            self.assertIn(" helo=<%s>" % helo, line)
        rules = re.findall(r"(?m)\brule=%s(?=[ ;]|$)" % rule, log)
        self.assertEqual(len(rules), 1, "logged %d times" % len(rules))


class PolicyTestCase(PolicyMixin, SharedInstanceTestCase):
    conf = BASE
    files = {"recipients": RECIPIENTS}


class Rules(PolicyTestCase):
    """deny_invalid_helo on; mail_from_chars and deny_null_sender as they
    come."""

    conf = BASE + "deny_invalid_helo = yes\n"

    def test_invalid_helo_refused_and_terminated(self):
        def check(command):
            c = self.connect()
            self.assertEqual(c.reply()[0], 220)
            reply = c.cmd(command)
            return (reply, reply == REFUSED and c.closed(timeout=3)), (REFUSED, True)

        self.assertEach([verb if name is None else verb + " " + name
                         for verb in ("EHLO", "HELO") for name in BAD_HELO], check)
        self.assertEqual(self.queued(), [])

    def test_invalid_helo_logged_once(self):
        c = self.connect()
        self.assertEqual(c.reply()[0], 220)
        self.assertTerminated(c, "EHLO foo")
        self.assertRuleLogged("EHLO", "deny_invalid_helo")

    def test_valid_helo_accepted(self):
        c = self.connect()
        self.assertEqual(c.reply()[0], 220)
        self.assertEach(["%s %s" % (verb, name) for verb in ("EHLO", "HELO")
                         for name in GOOD_HELO],
                        lambda command: (c.cmd(command)[0], 250))
        self.assertEqual(c.ehlo("mail.example.org")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % SENDER), OK_MAIL)
        self.assertEqual(c.cmd("RCPT TO:<alice@example.com>"), OK_RCPT)
        self.deliver(c, ["alice@example.com"])

    def test_mail_from_chars_refused_not_terminated(self):
        c = self.session(sender=None)
        self.assertEach(BAD_CHARS, lambda sender: (
            (c.cmd("MAIL FROM:<%s>" % sender), c.cmd("RSET")[0]), (REFUSED, 250)))
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % GOOD_CHARS), OK_MAIL)
        self.assertEqual(c.cmd("RCPT TO:<alice@example.com>"), OK_RCPT)
        qid = self.deliver(c, ["alice@example.com"])
        self.assertEqual(self.inst.queue_entry(qid).get("S"), GOOD_CHARS)

    def test_mail_from_chars_logged_once(self):
        c = self.session(sender=None)
        self.assertEqual(c.cmd("MAIL FROM:<a!b@example.org>"), REFUSED)
        self.assertTrue(c.silent(), "connection closed or extra reply")
        self.assertRuleLogged("MAIL", "mail_from_chars", sender="a!b@example.org",
                              helo="client.test.example")

    def test_mail_from_chars_utf8_outside_set(self):
        c = self.session(sender=None)
        self.assertEqual(c.cmd("MAIL FROM:<j\u00f6ran@example.org> SMTPUTF8"), REFUSED)
        self.assertEqual(c.cmd("MAIL FROM:<joran@example.org> SMTPUTF8"), OK_MAIL)

    def test_null_sender_accepted_by_default(self):
        c = self.session(sender="")
        self.assertEqual(c.cmd("RCPT TO:<alice@example.com>"), OK_RCPT)
        qid = self.deliver(c, ["alice@example.com"])
        self.assertEqual(self.inst.queue_entry(qid).get("S"), "")

    def test_recipient_limits_off_by_default(self):
        c = self.session()
        for i in range(6):
            rcpt = "unknown%d@example.com" % i
            self.assertEqual(c.cmd("RCPT TO:<%s>" % rcpt), unknown(rcpt))
        for rcpt in ("alice@example.com", "bob@example.com", "carol@example.com",
                     "dave@example.com"):
            self.assertEqual(c.cmd("RCPT TO:<%s>" % rcpt), OK_RCPT)
        self.deliver(c, ["alice@example.com", "bob@example.com", "carol@example.com",
                         "dave@example.com"])


class RulesOff(PolicyTestCase):
    """deny_invalid_helo = no: any name will do, but there must be one."""

    conf = BASE + "deny_invalid_helo = no\n"

    def test_any_helo_name_accepted(self):
        c = self.connect()
        self.assertEqual(c.reply()[0], 220)
        self.assertEach(["%s %s" % (verb, name) for verb in ("EHLO", "HELO")
                         for name in ("foo", "localhost", "1.2.3.4", "-bad.example.com",
                                      "a..b")],
                        lambda command: (c.cmd(command)[0], 250))

    def test_helo_without_name_is_a_syntax_error(self):
        c = self.connect()
        self.assertEqual(c.reply()[0], 220)
        self.assertEqual(c.cmd("EHLO"), (501, ["5.5.4 Syntax: EHLO hostname"]))
        self.assertEqual(c.cmd("HELO"), (501, ["5.5.4 Syntax: HELO hostname"]))
        self.assertTrue(c.silent())
        self.assertEqual(c.ehlo()[0], 250)


class EmptyChars(PolicyTestCase):
    conf = BASE + "mail_from_chars =\n"

    def test_empty_mail_from_chars_checks_nothing(self):
        c = self.session(sender=None)
        self.assertEach(BAD_CHARS, lambda sender: (
            (c.cmd("MAIL FROM:<%s>" % sender), c.cmd("RSET")[0]), (OK_MAIL, 250)))
        self.assertEqual(c.cmd("MAIL FROM:<a!b@example.org>"), OK_MAIL)
        self.assertEqual(c.cmd("RCPT TO:<alice@example.com>"), OK_RCPT)
        self.deliver(c, ["alice@example.com"])


class NullSender(PolicyTestCase):
    conf = BASE + "deny_null_sender = yes\n"

    def test_null_sender_refused_and_terminated(self):
        c = self.session(sender=None)
        self.assertTerminated(c, "MAIL FROM:<>")
        self.assertRuleLogged("MAIL", "deny_null_sender", sender="",
                              helo="client.test.example")
        self.assertEqual(self.queued(), [])

    def test_other_senders_accepted(self):
        c = self.session()
        self.assertEqual(c.cmd("RCPT TO:<bob@example.com>"), OK_RCPT)
        self.deliver(c, ["bob@example.com"])


class CustomSetAndText(PolicyTestCase):
    """A mail_from_chars with a literal '-' first and a range; a custom
    reject_text, for the rules and for the killlist."""

    conf = BASE + ("mail_from_chars = -a-z@.\n"
                   "reject_text = Go away\n"
                   "killlist = kill\n")
    files = {"recipients": RECIPIENTS, "kill": "127.0.0.2\n"}

    def test_custom_set(self):
        c = self.session(sender=None)
        self.assertEach(["ab-c@x-y.example", "abc@example.org"], lambda sender: (
            (c.cmd("MAIL FROM:<%s>" % sender), c.cmd("RSET")[0]), (OK_MAIL, 250)))
        self.assertEach(["Abc@example.org", "a1@example.org", "a_b@example.org",
                         "a+b@example.org"],
                        lambda sender: ((c.cmd("MAIL FROM:<%s>" % sender), c.cmd("RSET")[0]),
                                        ((550, ["5.7.1 Go away"]), 250)))
        self.assertEqual(c.cmd("MAIL FROM:<>"), OK_MAIL)

    def test_reject_text_logged(self):
        c = self.session(sender=None)
        self.assertEqual(c.cmd("MAIL FROM:<A@example.org>"), (550, ["5.7.1 Go away"]))
        self.assertRuleLogged("MAIL", "mail_from_chars", sender="A@example.org",
                              reply="550 5.7.1 Go away")

    def test_killlist_with_reject_text(self):
        c = self.connect("127.0.0.2")
        self.assertEqual(c.line(), "554 5.7.1 Go away")
        self.assertTrue(c.closed(timeout=3))


class Bogus550(PolicyTestCase):
    conf = BASE + ("deny_null_sender = yes\n"
                   "bogus_550 = yes\n"
                   "reject_text = Go away\n")

    def test_bogus_texts(self):
        texts = set()
        for _ in range(6):
            c = self.session(sender=None)
            c.send("MAIL FROM:<>\r\n")
            line = c.line()
            self.assertTrue(line.startswith("550 5.7.1 "), line)
            text = line[len("550 5.7.1 "):]
            self.assertTrue(text.strip(), line)
            self.assertNotEqual(text, "Go away")
            self.assertNotIn("alligate", text.lower())
            self.assertNotIn("deny_null_sender", text)
            self.assertTrue(c.closed(timeout=3))
            texts.add(text)
        # Several hundred texts: six draws all alike would be a fixed text.
        self.assertGreater(len(texts), 1, texts)


class RecipientLimits(PolicyTestCase):
    conf = BASE + ("max_invalid_recipients = 3\n"
                   "max_valid_recipients = 3\n")

    def test_third_invalid_refused_and_terminated(self):
        self.assertTrue(ratekeeper_ready(self.inst))
        before = overlimit(self.inst)
        c = self.session()
        self.assertEqual(c.cmd("RCPT TO:<alice@example.com>"), OK_RCPT)
        self.assertEqual(c.cmd("RCPT TO:<unknown1@example.com>"),
                         unknown("unknown1@example.com"))
        # Relay denied counts as invalid too.
        self.assertEqual(c.cmd("RCPT TO:<x@other.example>"), relay_denied("x@other.example"))
        self.assertTerminated(c, "RCPT TO:<unknown3@example.com>")
        self.assertRuleLogged("RCPT", "max_invalid_recipients", sender=SENDER,
                              rcpt="unknown3@example.com", helo="client.test.example")
        self.assertEqual(self.queued(), [])
        # Recorded as over the limit; a new connection is still served.
        self.assertTrue(wait_for(lambda: overlimit(self.inst) > before),
                        self.inst.ctl("rate", "show", "127.0.0.1").stdout)
        c = self.session()
        self.assertEqual(c.cmd("RCPT TO:<bob@example.com>"), OK_RCPT)
        self.deliver(c, ["bob@example.com"])

    def test_pipelined_recipients_and_data(self):
        c = self.session()
        c.send("RCPT TO:<alice@example.com>\r\n"
               "RCPT TO:<unknown1@example.com>\r\n"
               "RCPT TO:<unknown2@example.com>\r\n"
               "RCPT TO:<unknown3@example.com>\r\n"
               "DATA\r\n")
        replies, closed = c.replies_until_close(timeout=3)
        self.assertEqual(replies, [OK_RCPT, unknown("unknown1@example.com"),
                                   unknown("unknown2@example.com"), REFUSED, NO_VALID])
        self.assertTrue(closed)
        self.assertEqual(self.queued(), [])

    def test_fewer_invalid_than_the_limit_delivered(self):
        c = self.session()
        self.assertEqual(c.cmd("RCPT TO:<alice@example.com>"), OK_RCPT)
        self.assertEqual(c.cmd("RCPT TO:<unknown1@example.com>"),
                         unknown("unknown1@example.com"))
        self.assertEqual(c.cmd("RCPT TO:<x@other.example>"), relay_denied("x@other.example"))
        self.assertEqual(c.cmd("RCPT TO:<bob@example.com>"), OK_RCPT)
        self.deliver(c, ["alice@example.com", "bob@example.com"])
        self.assertEqual(c.cmd("QUIT")[0], 221)

    def test_invalid_count_is_per_session(self):
        c = self.session()
        self.assertEqual(c.cmd("RCPT TO:<unknown1@example.com>"),
                         unknown("unknown1@example.com"))
        self.assertEqual(c.cmd("RCPT TO:<unknown2@example.com>"),
                         unknown("unknown2@example.com"))
        self.assertEqual(c.cmd("RCPT TO:<alice@example.com>"), OK_RCPT)
        self.deliver(c, ["alice@example.com"])
        # The next transaction's first invalid recipient is the third.
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % SENDER), OK_MAIL)
        self.assertTerminated(c, "RCPT TO:<unknown3@example.com>")
        self.assertEqual(self.queued(), [])

    def test_third_valid_refused_transaction_dropped(self):
        self.assertTrue(ratekeeper_ready(self.inst))
        before = overlimit(self.inst)
        c = self.session()
        self.assertEqual(c.cmd("RCPT TO:<alice@example.com>"), OK_RCPT)
        self.assertEqual(c.cmd("RCPT TO:<bob@example.com>"), OK_RCPT)
        self.assertEqual(c.cmd("RCPT TO:<carol@example.com>"), REFUSED)
        self.assertTrue(c.silent(), "connection closed or extra reply")
        self.assertEqual(c.cmd("DATA"), NO_VALID)
        self.assertEqual(self.queued(), [])
        self.assertRuleLogged("RCPT", "max_valid_recipients", sender=SENDER,
                              rcpt="carol@example.com")
        self.assertTrue(wait_for(lambda: overlimit(self.inst) > before),
                        self.inst.ctl("rate", "show", "127.0.0.1").stdout)
        # Not terminated: a smaller message goes through.
        self.assertEqual(c.cmd("RSET")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % SENDER), OK_MAIL)
        self.assertEqual(c.cmd("RCPT TO:<alice@example.com>"), OK_RCPT)
        self.assertEqual(c.cmd("RCPT TO:<bob@example.com>"), OK_RCPT)
        self.deliver(c, ["alice@example.com", "bob@example.com"])


class ValidWithMinInvalid(PolicyTestCase):
    conf = BASE + ("max_valid_recipients = 3\n"
                   "max_valid_recipients_min_invalid = 2\n")

    def test_three_valid_one_invalid_delivered(self):
        c = self.session()
        for rcpt in ("alice@example.com", "bob@example.com", "carol@example.com"):
            self.assertEqual(c.cmd("RCPT TO:<%s>" % rcpt), OK_RCPT)
        self.assertEqual(c.cmd("RCPT TO:<unknown1@example.com>"),
                         unknown("unknown1@example.com"))
        self.deliver(c, ["alice@example.com", "bob@example.com", "carol@example.com"])

    def test_second_invalid_after_three_valid_refused(self):
        c = self.session()
        for rcpt in ("alice@example.com", "bob@example.com", "carol@example.com"):
            self.assertEqual(c.cmd("RCPT TO:<%s>" % rcpt), OK_RCPT)
        self.assertEqual(c.cmd("RCPT TO:<unknown1@example.com>"),
                         unknown("unknown1@example.com"))
        self.assertEqual(c.cmd("RCPT TO:<unknown2@example.com>"), REFUSED)
        self.assertEqual(c.cmd("DATA"), NO_VALID)
        self.assertEqual(self.queued(), [])
        self.assertRuleLogged("RCPT", "max_valid_recipients", sender=SENDER,
                              rcpt="unknown2@example.com")
        self.assertEqual(c.cmd("RSET")[0], 250)

    def test_third_valid_after_two_invalid_refused(self):
        c = self.session()
        self.assertEqual(c.cmd("RCPT TO:<unknown1@example.com>"),
                         unknown("unknown1@example.com"))
        self.assertEqual(c.cmd("RCPT TO:<x@other.example>"), relay_denied("x@other.example"))
        self.assertEqual(c.cmd("RCPT TO:<alice@example.com>"), OK_RCPT)
        self.assertEqual(c.cmd("RCPT TO:<bob@example.com>"), OK_RCPT)
        self.assertEqual(c.cmd("RCPT TO:<carol@example.com>"), REFUSED)
        self.assertEqual(c.cmd("DATA"), NO_VALID)
        self.assertEqual(self.queued(), [])


SUBMISSION_PORT = free_port()
STRICT = ("deny_invalid_helo = yes\n"
          "deny_null_sender = yes\n"
          "max_invalid_recipients = 2\n"
          "max_valid_recipients = 2\n")


class KilllistAndSubmission(PolicyTestCase):
    conf = BASE + STRICT + ("killlist = kill\n"
                            "smtp_auth = yes\n"
                            "submission_listen = 127.0.0.1:%d\n" % SUBMISSION_PORT
                            # Plain text on the submission port: no TLS here.
                            + "submission_tls_security_level = none\n"
                            "auth_require_tls = no\n")
    files = {"recipients": RECIPIENTS, "kill": "# one client\n127.0.0.1/32\n"}

    def test_killlisted_client_refused_instead_of_banner(self):
        c = self.connect()
        self.assertEqual(c.line(), "554 5.7.1 Refused")
        self.assertTrue(c.closed(timeout=3))
        self.assertRuleLogged("CONNECT", "killlist", reply="554 5.7.1 Refused")
        # The whole line, as the brief has it.
        self.assertTrue(self.inst.wait_log(
            r"NOQUEUE: reject: CONNECT from unknown\[127\.0\.0\.1\]: "
            r"554 5\.7\.1 Refused; proto=SMTP rule=killlist$", self.mark))

    def test_unlisted_client_meets_the_rules(self):
        c = self.connect("127.0.0.2")
        self.assertEqual(c.reply()[0], 220)
        self.assertTerminated(c, "EHLO foo")

    def test_submission_port_no_killlist_no_rules(self):
        c = self.connect(port=SUBMISSION_PORT)
        self.assertEqual(c.reply()[0], 220)
        self.assertEqual(c.cmd("EHLO"), (501, ["5.5.4 Syntax: EHLO hostname"]))
        self.assertEqual(c.ehlo("foo")[0], 250)
        # The AUTH ONLY port: mail once the client has logged in.
        self.assertEqual(c.cmd("MAIL FROM:<>"), (530, ["5.7.0 Authentication required"]))
        self.inst.ctl("user", "add", "sub", "--password-stdin",
                      input="Sub-Pw-1234\n", check=True)
        self.assertEqual(c.cmd("AUTH PLAIN AHN1YgBTdWItUHctMTIzNA==")[0], 235)
        self.assertEqual(c.cmd("MAIL FROM:<>"), OK_MAIL)
        self.assertEqual(c.cmd("RSET")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<a!b@example.org>"), OK_MAIL)
        for i in range(3):
            rcpt = "unknown%d@example.com" % i
            self.assertEqual(c.cmd("RCPT TO:<%s>" % rcpt), unknown(rcpt))
        for rcpt in ("alice@example.com", "bob@example.com", "carol@example.com"):
            self.assertEqual(c.cmd("RCPT TO:<%s>" % rcpt), OK_RCPT)
        self.deliver(c, ["alice@example.com", "bob@example.com", "carol@example.com"])


SUBMISSION_PORT2 = free_port()


class SubmissionKilllist(PolicyTestCase):
    conf = BASE + ("killlist = kill\n"
                   "submission_killlist = yes\n"
                   "smtp_auth = yes\n"
                   "submission_listen = 127.0.0.1:%d\n" % SUBMISSION_PORT2
                   + "submission_tls_security_level = none\n")
    files = {"recipients": RECIPIENTS, "kill": "127.0.0.1/32\n"}

    def test_killlist_on_submission_port(self):
        c = self.connect(port=SUBMISSION_PORT2)
        self.assertEqual(c.line(), "554 5.7.1 Refused")
        self.assertTrue(c.closed(timeout=3))
        c = self.connect("127.0.0.2", port=SUBMISSION_PORT2)
        self.assertEqual(c.reply()[0], 220)


class Whitelist(PolicyTestCase):
    conf = BASE + STRICT + ("whitelist = white\n"
                            "killlist = kill\n"
                            "message_size_limit = 2000\n")
    files = {"recipients": RECIPIENTS, "white": "127.0.0.1\n", "kill": "127.0.0.0/8\n"}

    def test_whitelist_wins_over_killlist(self):
        c = self.connect()
        self.assertEqual(c.reply()[0], 220)
        other = self.connect("127.0.0.2")
        self.assertEqual(other.line(), "554 5.7.1 Refused")
        self.assertTrue(other.closed(timeout=3))

    def test_every_rule_skipped(self):
        c = self.connect()
        self.assertEqual(c.reply()[0], 220)
        # No name is still a syntax error: no rule, the protocol.
        self.assertEqual(c.cmd("EHLO"), (501, ["5.5.4 Syntax: EHLO hostname"]))
        self.assertEqual(c.cmd("HELO localhost")[0], 250)
        self.assertEqual(c.ehlo("foo")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<>"), OK_MAIL)
        self.assertEqual(c.cmd("RSET")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<a!b@example.org>"), OK_MAIL)
        for i in range(3):
            rcpt = "unknown%d@example.com" % i
            self.assertEqual(c.cmd("RCPT TO:<%s>" % rcpt), unknown(rcpt))
        for rcpt in ("alice@example.com", "bob@example.com", "carol@example.com"):
            self.assertEqual(c.cmd("RCPT TO:<%s>" % rcpt), OK_RCPT)
        self.deliver(c, ["alice@example.com", "bob@example.com", "carol@example.com"])
        self.assertNotRegex(self.log_since_start(), r"rule=(deny_|mail_from_chars|max_)")

    def test_relay_control_still_applies(self):
        c = self.session()
        self.assertEqual(c.cmd("RCPT TO:<someone@other.example>"),
                         relay_denied("someone@other.example"))
        self.assertEqual(c.cmd("DATA"), NO_VALID)
        self.assertEqual(self.queued(), [])

    def test_size_limit_still_applies(self):
        c = self.session(sender=None)
        self.assertEqual(c.cmd("MAIL FROM:<%s> SIZE=5000" % SENDER)[0], 552)
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % SENDER), OK_MAIL)
        self.assertEqual(c.cmd("RCPT TO:<alice@example.com>"), OK_RCPT)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(b"Subject: big\r\n\r\n" + (b"x" * 70 + b"\r\n") * 50 + b".\r\n")
        self.assertEqual(c.reply()[0], 552)
        self.assertEqual(self.queued(), [])


class OwnInstanceTestCase(PolicyMixin, AlligateTestCase):
    """An instance of its own; the clients close before it stops, or the
    stop would wait for their sessions."""

    def setUp(self):
        super().setUp()
        self.mark = 0
        self.queued_before = set()

    def tearDown(self):
        self.doCleanups()
        super().tearDown()


class Reload(OwnInstanceTestCase):
    """alligatectl reload re-reads the list files; a bad line refuses
    the reload and keeps the running lists."""

    conf = BASE + ("deny_invalid_helo = yes\n"
                   "killlist = kill\n"
                   "whitelist = white\n")
    files = {"recipients": RECIPIENTS, "kill": "127.0.0.2/32\n", "white": ""}

    def write(self, name, text):
        with open("%s/%s" % (self.inst.dir, name), "w") as f:
            f.write(text)

    # Each probe ends its session: a worker started after the refused
    # reload would read the broken list and fail, so the test must not
    # need more workers than the pool already has.
    def killed(self, source):
        c = self.connect(source)
        line = c.line()
        if line == "554 5.7.1 Refused":
            self.assertTrue(c.closed(timeout=3))
            return True
        self.assertTrue(line.startswith("220 "), line)
        c.close()
        return False

    def helo_accepted(self, source):
        c = self.connect(source)
        self.assertEqual(c.reply()[0], 220)
        accepted = c.cmd("EHLO foo")[0] == 250
        c.close()
        return accepted

    def test_lists_reread_on_reload(self):
        self.assertTrue(self.killed("127.0.0.2"))
        self.assertFalse(self.killed("127.0.0.3"))
        self.assertFalse(self.helo_accepted("127.0.0.4"))

        self.write("kill", "127.0.0.3/32\n")
        self.write("white", "127.0.0.4\n")
        self.inst.ctl("reload", check=True)
        # Workers retire after their session: under load a new client
        # may still meet one for a moment.
        self.assertTrue(wait_for(lambda: self.killed("127.0.0.3"), timeout=5))
        self.assertFalse(self.killed("127.0.0.2"))
        self.assertTrue(self.helo_accepted("127.0.0.4"))

        # A bad line: the reload is refused, the running lists stay.
        self.write("kill", "127.0.0.5/32\nnot-an-address\n")
        proc = self.inst.ctl("reload")
        self.assertNotEqual(proc.returncode, 0)
        self.assertRegex(proc.stdout + proc.stderr, r"kill:2:")
        self.assertTrue(self.killed("127.0.0.3"))
        self.assertFalse(self.killed("127.0.0.5"))
        self.assertTrue(self.helo_accepted("127.0.0.4"))


class GreetWait(OwnInstanceTestCase):
    """relay_networks and whitelist clients skip smtpd_greet_wait."""

    conf = BASE + ("smtpd_greet_wait = 2s\n"
                   "relay_networks = 127.0.0.3/32\n"
                   "whitelist = white\n")
    files = {"recipients": RECIPIENTS, "white": "127.0.0.2\n"}

    def banner_after(self, source):
        start = time.time()
        c = self.connect(source)
        self.assertEqual(c.reply()[0], 220)
        return time.time() - start

    def test_trusted_clients_skip_the_pause(self):
        self.assertLess(self.banner_after("127.0.0.2"), 1.0, "whitelist")
        self.assertLess(self.banner_after("127.0.0.3"), 1.0, "relay_networks")
        self.assertGreaterEqual(self.banner_after("127.0.0.1"), 1.8, "others wait")


if __name__ == "__main__":
    unittest.main()
