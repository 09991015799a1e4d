"""The tarpit against the real service, on port 25 (issue 14): with
tarpit = yes the client that breaks sender_rate_limit,
max_invalid_recipients or max_valid_recipients gets its refusal only
after tarpit_delay, and so does the HELO/EHLO of its next connections
while it is over the limit; what it pipelined after that command is
never answered; whitelisted clients are never tarpitted, relay_networks
clients are like anyone (issue 14's own check, from 127.0.0.1 with the
default relay_networks, is Localhost below); alligatectl status shows
the held client, alligatectl rate show who is tarpitted; a client that
keeps leaving the tarpit is refused at connect once
tarpit_disconnect_limit is reached.  The AUTH
ONLY ports, TLS and the blocklists are in test_tarpit_ports.py, the
load, the tarpit killed and the tarpit missing in test_tarpit_load.py."""

import re
import time

from alligate_test import SharedInstanceTestCase, wait_for
from tarpit_util import (AT_ONCE, OK_MAIL, OK_RCPT, REFUSED, SLACK, TarpitMixin,
                         ratekeeper_ready, relay_denied)

# relay_networks elsewhere (but for 127.0.0.14): mail to elsewhere.test
# is then a relay attempt, the invalid recipient that breaks
# max_invalid_recipients.
BASE = ("relay_networks = 192.0.2.0/24, 127.0.0.14/32\n"
        "tarpit = yes\n"
        "tarpit_delay = 3s\n")


class TarpitRules(TarpitMixin, SharedInstanceTestCase):
    """Each test is its own client address: the counts are per address."""

    conf = BASE + ("sender_rate_limit = 2\n"
                   "sender_rate_window = 10m\n"
                   "max_invalid_recipients = 2\n"
                   "max_valid_recipients = 3\n"
                   "whitelist = white\n")
    files = {"white": "127.0.0.13\n"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        assert ratekeeper_ready(cls.inst)

    def test_rate_breaker_tarpitted_then_its_next_connection(self):
        c = self.client("127.0.0.11")
        self.assertEqual(c.ehlo()[0], 250)
        self.send_message(c)
        self.send_message(c)
        # The third message: its MAIL gets the 550 after the delay, and
        # alligatectl status shows the client held meanwhile.
        start = time.monotonic()
        c.send("MAIL FROM:<bulk@remote.test>\r\n")
        self.assertTrue(wait_for(lambda: re.search(
            r"(?m)^tarpit +tarpit +running +held 1 \(max 10000\)", self.status()),
            timeout=self.DELAY - 1), self.status())
        self.assertEqual(c.reply(), REFUSED)
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, self.DELAY)
        self.assertLess(elapsed, self.DELAY + SLACK)
        self.assertTrue(c.closed(timeout=SLACK))
        self.assertRegex(self.status(), r"(?m)^tarpit +tarpit +running +held 0 ")
        self.assertLogged(r"NOQUEUE: tarpit: MAIL from unknown\[127\.0\.0\.11\]: "
                          r"550 5\.7\.1 Refused; from=<bulk@remote\.test> "
                          r"proto=ESMTP helo=<client\.test\.example> "
                          r"rule=sender_rate_limit$")
        # The worker ended the session when it handed the client over.
        self.assertLogged(r"disconnect from unknown\[127\.0\.0\.11\] ehlo=1 mail=2/3 "
                          r"rcpt=2 data=2 commands=7/8$")
        # Its next connection is greeted at once; its EHLO waits.
        c = self.client("127.0.0.11")
        self.assertTarpitted(c, "EHLO client.test.example")
        self.assertLogged(r"NOQUEUE: tarpit: EHLO from unknown\[127\.0\.0\.11\]: "
                          r"550 5\.7\.1 Refused; proto=SMTP "
                          r"helo=<client\.test\.example> rule=overlimit overlimit=1$")
        # HELO as well.
        c = self.client("127.0.0.11")
        self.assertTarpitted(c, "HELO client.test.example")
        self.assertEqual(len(self.new_queue_files()), 2)
        show = self.rate_show("127.0.0.11")
        self.assertRegex(show, r"(?m)^  tarpitted now: yes \(overlimit 1, "
                               r"mail 3 > sender_rate_limit 2\)$")
        self.assertRegex(show, r"(?m)^  tarpit disconnects: 0 in 10m \(no limit\)$")
        # Another address is not affected.
        c = self.client("127.0.0.19")
        self.assertEqual(c.ehlo()[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<bulk@remote.test>"), OK_MAIL)

    def test_invalid_recipients_tarpitted_pipelining_dropped(self):
        c = self.client("127.0.0.12")
        self.assertEqual(c.ehlo()[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<x@remote.test>"), OK_MAIL)
        self.assertEqual(c.cmd("RCPT TO:<a@elsewhere.test>"),
                         relay_denied("a@elsewhere.test"))
        # The second invalid recipient, with more pipelined after it:
        # one reply, after the delay, and the end.
        start = time.monotonic()
        c.send("RCPT TO:<b@elsewhere.test>\r\nRCPT TO:<someone@example.com>\r\n"
               "DATA\r\nQUIT\r\n")
        replies, closed = c.replies_until_close(timeout=self.DELAY + 2)
        elapsed = time.monotonic() - start
        self.assertEqual(replies, [REFUSED])
        self.assertTrue(closed)
        self.assertGreaterEqual(elapsed, self.DELAY)
        self.assertLess(elapsed, self.DELAY + 2)
        self.assertLogged(r"NOQUEUE: tarpit: RCPT from unknown\[127\.0\.0\.12\]: "
                          r"550 5\.7\.1 Refused; from=<x@remote\.test> "
                          r"to=<b@elsewhere\.test> proto=ESMTP "
                          r"helo=<client\.test\.example> rule=max_invalid_recipients$")
        self.assertEqual(self.new_queue_files(), [])
        # Over the limit for tarpit_penalty_time: the next EHLO waits.
        c = self.client("127.0.0.12")
        self.assertTarpitted(c, "EHLO client.test.example")
        self.assertRegex(self.rate_show("127.0.0.12"),
                         r"(?m)^  tarpitted now: yes \(overlimit 1\)$")

    def test_valid_recipients_tarpitted(self):
        c = self.client("127.0.0.20")
        self.assertEqual(c.ehlo()[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<x@remote.test>"), OK_MAIL)
        # Below max_valid_recipients = 3: answered at once.
        for rcpt in ("a@example.com", "b@example.com"):
            reply, elapsed = self.timed(c, "RCPT TO:<%s>" % rcpt)
            self.assertEqual(reply, OK_RCPT)
            self.assertLess(elapsed, AT_ONCE)
        # The third valid recipient, with DATA and the message pipelined
        # after it: its RCPT gets the one reply, after the delay, then
        # the connection closes; nothing pipelined is answered.
        start = time.monotonic()
        c.send("RCPT TO:<c@example.com>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n"
               ".\r\nQUIT\r\n")
        replies, closed = c.replies_until_close(timeout=self.DELAY + SLACK)
        elapsed = time.monotonic() - start
        self.assertEqual(replies, [REFUSED])
        self.assertTrue(closed)
        self.assertGreaterEqual(elapsed, self.DELAY)
        self.assertLess(elapsed, self.DELAY + SLACK)
        self.assertLogged(r"NOQUEUE: tarpit: RCPT from unknown\[127\.0\.0\.20\]: "
                          r"550 5\.7\.1 Refused; from=<x@remote\.test> "
                          r"to=<c@example\.com> proto=ESMTP "
                          r"helo=<client\.test\.example> rule=max_valid_recipients$")
        self.assertLogged(r"tarpit: release unknown\[127\.0\.0\.20\] after 3s: "
                          r"550 5\.7\.1 Refused$")
        self.assertEqual(self.new_queue_files(), [])
        # Over the limit for tarpit_penalty_time: the next EHLO waits.
        c = self.client("127.0.0.20")
        self.assertTarpitted(c, "EHLO client.test.example")
        self.assertRegex(self.rate_show("127.0.0.20"),
                         r"(?m)^  tarpitted now: yes \(overlimit 1\)$")

    def test_whitelisted_client_never_tarpitted(self):
        # The whitelist: no rate limit at all.
        c = self.client("127.0.0.13")
        self.assertEqual(c.ehlo()[0], 250)
        for _ in range(4):
            self.send_message(c)
        c = self.client("127.0.0.13")
        reply, elapsed = self.timed(c, "EHLO client.test.example")
        self.assertEqual(reply[0], 250)
        self.assertLess(elapsed, AT_ONCE)
        self.assertNotRegex(self.inst.log_since(self.mark),
                            r"tarpit: \S+ from \S+\[127\.0\.0\.13\]")
        self.assertRegex(self.rate_show("127.0.0.13"),
                         r"(?m)^  tarpitted now: no \(in whitelist\)$")

    def test_relay_networks_client_tarpitted(self):
        # relay_networks may relay, not break the rules: the third
        # message waits, and so does the next connection's EHLO.
        c = self.client("127.0.0.14")
        self.assertEqual(c.ehlo()[0], 250)
        self.send_message(c)
        self.send_message(c, rcpt="someone@elsewhere.test")
        self.assertTarpitted(c, "MAIL FROM:<bulk@remote.test>")
        self.assertLogged(r"NOQUEUE: tarpit: MAIL from unknown\[127\.0\.0\.14\]: "
                          r"550 5\.7\.1 Refused; from=<bulk@remote\.test> "
                          r"proto=ESMTP helo=<client\.test\.example> "
                          r"rule=sender_rate_limit$")
        c = self.client("127.0.0.14")
        self.assertTarpitted(c, "EHLO client.test.example")
        self.assertRegex(self.rate_show("127.0.0.14"),
                         r"(?m)^  tarpitted now: yes \(overlimit 1, "
                         r"mail 3 > sender_rate_limit 2\)$")
        self.assertEqual(len(self.new_queue_files()), 2)

    def test_rate_show_of_a_clean_address(self):
        out = self.rate_show("127.0.0.18")
        self.assertRegex(out, r"(?m)^  tarpitted now: no$")
        self.assertRegex(out, r"(?m)^  tarpit disconnects: 0 in 10m ")
        # Not for senders: the tarpit holds addresses.
        self.assertNotIn("tarpit", self.rate_show("bulk@remote.test"))


class DisconnectLimit(TarpitMixin, SharedInstanceTestCase):
    """tarpit_disconnect_limit = 2: a client that left the tarpit twice is
    refused at connect."""

    DELAY = 20
    conf = BASE.replace("tarpit_delay = 3s", "tarpit_delay = 20s") + (
        "max_invalid_recipients = 1\n"
        "tarpit_disconnect_limit = 2\n"
        "tarpit_disconnect_window = 10m\n")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        assert ratekeeper_ready(cls.inst)

    def test_third_connection_refused_at_connect(self):
        # The rule breaker leaves while held: one tarpit disconnect.
        c = self.hand_over_rcpt("127.0.0.15")
        c.close()
        self.wait_disconnects("127.0.0.15", 1)
        # Its next connection is held at EHLO, and leaves too.
        c = self.client("127.0.0.15")
        self.assertHeld(c, "EHLO client.test.example")
        self.assertLogged(r"NOQUEUE: tarpit: EHLO from unknown\[127\.0\.0\.15\]: ")
        c.close()
        self.wait_disconnects("127.0.0.15", 2)
        self.assertRegex(self.rate_show("127.0.0.15"),
                         r"(?m)^  tarpit disconnects: 2 in 10m "
                         r"\(limit 2: refused at connect\)$")
        # The third: 550 instead of the greeting, at once, and closed.
        start = time.monotonic()
        c = self.client("127.0.0.15", greet=False)
        self.assertEqual(c.line(), "550 5.7.1 Refused")
        self.assertLess(time.monotonic() - start, AT_ONCE)
        self.assertTrue(c.closed(timeout=2))
        self.assertLogged(r"NOQUEUE: reject: CONNECT from unknown\[127\.0\.0\.15\]: "
                          r"550 5\.7\.1 Refused; proto=SMTP "
                          r"rule=tarpit_disconnect_limit tarpit_disconnects=2$")
        # Others are served.
        c = self.client("127.0.0.16")
        self.assertEqual(c.ehlo()[0], 250)

    def test_one_disconnect_is_not_enough(self):
        c = self.hand_over_rcpt("127.0.0.17")
        c.close()
        self.wait_disconnects("127.0.0.17", 1)
        self.assertRegex(self.rate_show("127.0.0.17"),
                         r"(?m)^  tarpit disconnects: 1 in 10m \(limit 2\)$")
        c = self.client("127.0.0.17")
        self.assertHeld(c, "EHLO client.test.example")


class Localhost(TarpitMixin, SharedInstanceTestCase):
    """Issue 14's own check, as a new user tries it: tarpit = yes, a short
    tarpit_delay, sender_rate_limit = 2 and the default relay_networks
    (127.0.0.0/8, ::1), from 127.0.0.1, one message per connection as
    swaks sends them: the third message gets its 550 only after the
    delay."""

    conf = ("tarpit = yes\n"
            "tarpit_delay = 3s\n"
            "sender_rate_limit = 2\n")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        assert ratekeeper_ready(cls.inst)

    def test_third_message_from_localhost_waits(self):
        for _ in range(2):
            c = self.client("127.0.0.1")
            self.assertEqual(c.ehlo()[0], 250)
            self.send_message(c)
            self.assertEqual(c.cmd("QUIT")[0], 221)
        c = self.client("127.0.0.1")
        self.assertEqual(c.ehlo()[0], 250)
        start = time.monotonic()
        c.send("MAIL FROM:<bulk@remote.test>\r\n")
        self.assertTrue(wait_for(lambda: re.search(
            r"(?m)^tarpit +tarpit +running +held 1 \(max 10000\)", self.status()),
            timeout=self.DELAY - 1), self.status())
        self.assertEqual(c.reply(), REFUSED)
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, self.DELAY)
        self.assertLess(elapsed, self.DELAY + SLACK)
        self.assertTrue(c.closed(timeout=SLACK))
        self.assertLogged(r"NOQUEUE: tarpit: MAIL from \S+\[127\.0\.0\.1\]: "
                          r"550 5\.7\.1 Refused; from=<bulk@remote\.test> "
                          r"proto=ESMTP helo=<client\.test\.example> "
                          r"rule=sender_rate_limit$")
        self.assertLogged(r"tarpit: release \S+\[127\.0\.0\.1\] after 3s: "
                          r"550 5\.7\.1 Refused$")
        self.assertEqual(len(self.new_queue_files()), 2)
        self.assertRegex(self.rate_show("127.0.0.1"),
                         r"(?m)^  tarpitted now: yes \(overlimit 1, "
                         r"mail 3 > sender_rate_limit 2\)$")
        # Its next connection's EHLO waits too.
        c = self.client("127.0.0.1")
        self.assertTarpitted(c, "EHLO client.test.example")


class LocalhostWhitelisted(TarpitMixin, SharedInstanceTestCase):
    """The same, with 127.0.0.1 in the whitelist: never held, never
    refused."""

    conf = Localhost.conf + "whitelist = white\n"
    files = {"white": "127.0.0.1\n"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        assert ratekeeper_ready(cls.inst)

    def test_whitelisted_localhost_never_held(self):
        for _ in range(4):
            c = self.client("127.0.0.1")
            reply, elapsed = self.timed(c, "EHLO client.test.example")
            self.assertEqual(reply[0], 250)
            self.assertLess(elapsed, AT_ONCE)
            start = time.monotonic()
            self.send_message(c)
            self.assertLess(time.monotonic() - start, AT_ONCE)
            self.assertEqual(c.cmd("QUIT")[0], 221)
        self.assertEqual(len(self.new_queue_files()), 4)
        self.assertNotIn("tarpit:", self.inst.log_since(self.mark))
        self.assertRegex(self.status(), r"(?m)^tarpit +tarpit +running +held 0 ")
        self.assertRegex(self.rate_show("127.0.0.1"),
                         r"(?m)^  tarpitted now: no \(in whitelist\)$")
