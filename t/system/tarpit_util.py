"""What the tarpit's system tests (test_tarpit*.py) share: clients from
chosen loopback addresses, the timed assertion that a reply came only
after tarpit_delay and the connection closed after it, and the rule
breakers that put an address over a limit."""

import re
import time

from alligate_test import RawClient, wait_for

REFUSED = (550, ["5.7.1 Refused"])
OK_MAIL = (250, ["2.1.0 Ok"])
OK_RCPT = (250, ["2.1.5 Ok"])
SLACK = 2.0             # the tarpit answers within a second of its time
AT_ONCE = 1.0           # what "at once" means under a loaded test machine


def relay_denied(rcpt):
    return (554, ["5.7.1 <%s>: Relay access denied" % rcpt])


class TarpitMixin:
    """Assertions over self.inst; DELAY is the instance's tarpit_delay in
    seconds."""

    DELAY = 3

    def client(self, source, port=None, greet=True, tls=None):
        """A RawClient from source, past the 220 with greet (which must
        come at once: the tarpit never delays the greeting)."""
        start = time.monotonic()
        c = RawClient("127.0.0.1", port or self.inst.port, source=source, tls=tls)
        self.addCleanup(c.close)
        if greet:
            code, lines = c.reply()
            self.assertEqual(code, 220, lines)
            self.assertLess(time.monotonic() - start, AT_ONCE)
        return c

    def timed(self, c, text):
        """Sends text (CR LF added); (the reply, seconds it took)."""
        start = time.monotonic()
        reply = c.cmd(text)
        return reply, time.monotonic() - start

    def assertTarpitted(self, c, text, delay=None):
        """text gets the refusal only after tarpit_delay, and the
        connection closes right after it."""
        delay = self.DELAY if delay is None else delay
        reply, elapsed = self.timed(c, text)
        self.assertEqual(reply, REFUSED)
        self.assertGreaterEqual(elapsed, delay)
        self.assertLess(elapsed, delay + SLACK)
        self.assertTrue(c.closed(timeout=SLACK))

    def assertRefusedAtOnce(self, c, text):
        """text gets the refusal at once, and the connection closes."""
        reply, elapsed = self.timed(c, text)
        self.assertEqual(reply, REFUSED)
        self.assertLess(elapsed, AT_ONCE)
        self.assertTrue(c.closed(timeout=SLACK))

    def assertHeld(self, c, text):
        """text gets no reply for now: the tarpit holds the client."""
        c.send(text + "\r\n")
        self.assertTrue(c.silent(timeout=0.5))

    def assertLogged(self, regex, timeout=5):
        m = self.inst.wait_log(regex, self.mark, timeout=timeout)
        self.assertTrue(m, "no %r in:\n%s" % (regex, self.inst.log_since(self.mark)[-3000:]))
        return m

    def send_message(self, c, sender="bulk@remote.test", rcpt="someone@example.com"):
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % sender), OK_MAIL)
        self.assertEqual(c.cmd("RCPT TO:<%s>" % rcpt), OK_RCPT)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send("Subject: tarpit\r\n\r\nhello\r\n.\r\n")
        code, lines = c.reply()
        self.assertEqual(code, 250, lines)

    def hand_over_rcpt(self, source, port=None):
        """A client from source that breaks max_invalid_recipients = 1
        with its RCPT and is held for it; the client, still connected."""
        c = self.client(source, port)
        self.assertEqual(c.ehlo()[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<x@remote.test>"), OK_MAIL)
        self.assertHeld(c, "RCPT TO:<x@elsewhere.test>")
        self.assertLogged(r"NOQUEUE: tarpit: RCPT from \S+\[%s\]: 550 5\.7\.1 Refused; "
                          r"from=<x@remote\.test> to=<x@elsewhere\.test> "
                          r"proto=ESMTP helo=<client\.test\.example> "
                          r"rule=max_invalid_recipients$" % re.escape(source))
        return c

    def status(self):
        return self.inst.ctl("status", check=True).stdout

    def rate_show(self, addr):
        return self.inst.ctl("rate", "show", addr, check=True).stdout

    def wait_disconnects(self, addr, count):
        """Waits until ratekeeper counts count tarpit disconnects of addr."""
        pattern = r"(?m)^  tarpit disconnects: %d in " % count
        ok = wait_for(lambda: re.search(pattern, self.rate_show(addr)), timeout=10)
        self.assertTrue(ok, self.rate_show(addr))


def ratekeeper_ready(inst, timeout=10):
    return wait_for(lambda: inst.ctl("rate", "top").returncode == 0, timeout=timeout)
