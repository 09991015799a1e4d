"""Slow clients: with smtpd_per_request_deadline (the default) the whole
command line must arrive within smtpd_timeout, however the bytes trickle
in; message content must keep up smtpd_min_data_rate (500 bytes/s by
default, Postfix 3.7's meaning: each byte buys 1/rate seconds, never
more than smtpd_timeout in hand).  A client cut off gets "421 4.4.2 ...
Error: timeout exceeded" and the end of the connection, and nothing it
sent is queued.  Clients that are slow but keep within the limits are
served, and smtpd_per_request_deadline = no gives back the old timeout
between reads."""

import re
import select
import time
import unittest

from alligate_test import SharedInstanceTestCase

TIMEOUT = (421, ["4.4.2 mx.test.example Error: timeout exceeded"])


def trickle(c, data, interval, budget):
    """Sends data one byte every interval seconds until the server says
    something (or closes), data runs out, or budget seconds pass.
    Returns (seconds from the first byte to the server's reply or end,
    or None when it kept silent; the reply, (None, []) at EOF)."""
    start = time.time()
    for byte in data:
        try:
            c.sock.sendall(bytes([byte]))
        except OSError:
            break                       # closed: read what it said
        readable, _, _ = select.select([c.sock], [], [], interval)
        if readable:
            break
        if time.time() - start > budget:
            return None, None
    else:
        return None, None
    elapsed = time.time() - start
    c.sock.settimeout(3)
    return elapsed, c.reply()


class SlowClientTestCase(SharedInstanceTestCase):
    def session(self, mail=False):
        c = self.inst.raw()
        self.addCleanup(c.close)
        self.assertEqual(c.ehlo("client.test.example")[0], 250)
        if mail:
            self.assertEqual(c.cmd("MAIL FROM:<sender@remote.example>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<someone@example.com>")[0], 250)
        return c

    def assertQueuedReply(self, reply):
        code, lines = reply
        self.assertEqual(code, 250, lines)
        m = re.fullmatch(r"2\.0\.0 Ok: queued as ([0-9A-F]+)", lines[0])
        self.assertTrue(m, lines)
        self.assertEqual(self.new_queue_files(), [m.group(1)])
        return self.inst.queue_entry(m.group(1))


class Deadlines(SlowClientTestCase):
    conf = "smtpd_timeout = 2s\n"

    def test_trickled_command_cut_at_the_deadline(self):
        c = self.session()
        # One byte every 0.5 s: never 2 s between bytes, never a line.
        elapsed, reply = trickle(c, b"NOOP " + b"x" * 100 + b"\r\n", 0.5, budget=5)
        self.assertIsNotNone(elapsed, "still served after 5 s of trickling")
        self.assertEqual(reply, TIMEOUT)
        self.assertGreaterEqual(elapsed, 1.5)
        self.assertLess(elapsed, 4.0)
        self.assertTrue(c.closed(timeout=2))
        self.assertTrue(self.inst.wait_log(
            r"timeout after \S+ from unknown\[127\.0\.0\.1\]", self.mark))

    def test_trickled_message_cut_below_the_minimum_rate(self):
        c = self.session(mail=True)
        self.assertEqual(c.cmd("DATA")[0], 354)
        # 10 bytes/s, far below smtpd_min_data_rate's 500.
        body = b"Subject: slow\r\n\r\n" + b"y" * 200 + b"\r\n.\r\n"
        elapsed, reply = trickle(c, body, 0.1, budget=5)
        self.assertIsNotNone(elapsed, "still served after 5 s at 10 bytes/s")
        self.assertEqual(reply, TIMEOUT)
        self.assertGreaterEqual(elapsed, 1.5)
        self.assertLess(elapsed, 4.0)
        self.assertTrue(c.closed(timeout=2))
        self.assertEqual(self.new_queue_files(), [])
        self.assertTrue(self.inst.wait_log(
            r"timeout after DATA \(\d+ bytes\) from unknown\[127\.0\.0\.1\]", self.mark))

    def test_fast_large_message_served(self):
        c = self.session(mail=True)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(b"Subject: fast\r\n\r\n" + (b"z" * 98 + b"\r\n") * 1000 + b".\r\n")
        qf = self.assertQueuedReply(c.reply())
        self.assertGreater(len(qf.message), 100000)

    def test_steady_message_above_the_minimum_rate_served(self):
        # 1000 bytes/s for 3 s: longer than smtpd_timeout, but twice the
        # minimum rate.
        c = self.session(mail=True)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(b"Subject: steady\r\n\r\n")
        for _ in range(30):
            c.send(b"s" * 98 + b"\r\n")
            time.sleep(0.1)
        c.send(b".\r\n")
        self.assertQueuedReply(c.reply())

    def test_deadline_is_per_command_not_per_session(self):
        c = self.session()
        for _ in range(3):
            time.sleep(0.9)
            self.assertEqual(c.cmd("NOOP"), (250, ["2.0.0 Ok"]))
        # A command in pieces, all within smtpd_timeout.
        c.send(b"NO")
        time.sleep(0.5)
        c.send(b"OP")
        time.sleep(0.5)
        self.assertEqual(c.cmd(""), (250, ["2.0.0 Ok"]))


class NoPerRequestDeadline(SlowClientTestCase):
    conf = "smtpd_timeout = 2s\nsmtpd_per_request_deadline = no\n"

    def test_trickle_keeps_the_session(self):
        c = self.session()
        # 10 bytes in 5 s: past twice smtpd_timeout, and no reply.
        elapsed, reply = trickle(c, b"NOOP " + b"x" * 5, 0.5, budget=10)
        self.assertIsNone(elapsed, reply)
        c.send(b"x\r\n")
        self.assertEqual(c.reply(), (250, ["2.0.0 Ok"]))


if __name__ == "__main__":
    unittest.main()
