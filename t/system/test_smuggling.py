"""Hostile input: SMTP smuggling (the only end of data is CR LF . CR LF),
bare CR and LF, over-long lines, talking out of turn, HTTP, NUL and
control characters, clients that make many errors or fall silent.  Each
has one defined reply and leaves nothing it should not in the queue."""

import re
import socket
import time
import unittest

from alligate_test import SharedInstanceTestCase

SMUGGLED = (b"MAIL FROM:<evil@remote.example>\r\n"
            b"RCPT TO:<victim@example.com>\r\n"
            b"DATA\r\n"
            b"Subject: smuggled\r\n\r\nI was smuggled.\r\n")

BARE_LF = (521, ["5.5.2 Error: bare <LF> received"])
BARE_CR = (521, ["5.5.2 Error: bare <CR> received"])
NUL = (521, ["5.5.2 Error: NUL character received"])


class HostileTestCase(SharedInstanceTestCase):
    def session(self, greet=True):
        c = self.inst.raw(greet=greet)
        self.addCleanup(c.close)
        if greet:
            self.assertEqual(c.ehlo("client.test.example")[0], 250)
        return c

    def open_data(self, c, rcpt="someone@example.com"):
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.example>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<%s>" % rcpt)[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)


class Smuggling(HostileTestCase):
    # (ending that another MTA might take for the end of data, the reply)
    ENDINGS = [
        (b"\n.\n", BARE_LF),
        (b"\n.\r\n", BARE_LF),
        (b"\r.\r\n", BARE_CR),
        (b"\r\n.\n", BARE_LF),
        (b"\r.\r", BARE_CR),
        (b"\r\n.\r", BARE_CR),          # ".\r" then the smuggled MAIL
        (b"\n.\r", BARE_LF),
        (b"\r\n.\r\r\n", BARE_CR),
        (b"\r\r\n.\r\r\n", BARE_CR),
        (b"\n\n.\n\n", BARE_LF),
        (b"\r\n\r\n.\n", BARE_LF),
        (b"\r\n\x00.\r\n", NUL),
        (b"\r\n.\x00\r\n", NUL),
        (b"\x00\r\n.\r\n", NUL),
    ]

    def smuggle(self, parts):
        """Sends the message in parts (pausing between them so that they
        arrive as separate reads); returns (replies, closed)."""
        c = self.session()
        self.open_data(c)
        for i, part in enumerate(parts):
            if i:
                time.sleep(0.02)
            c.send(part)
        return c.replies_until_close(timeout=3)

    def test_each_ending_refused_nothing_queued(self):
        for ending, reply in self.ENDINGS:
            with self.subTest(ending=ending):
                self.queued_before = set(self.inst.queue_files())
                replies, closed = self.smuggle([
                    b"Subject: innocent\r\n\r\nHello" + ending + SMUGGLED
                    + b"\r\n.\r\nQUIT\r\n"])
                # One final reply for the whole DATA, then the door.
                self.assertEqual(replies, [reply])
                self.assertTrue(closed)
                self.assertEqual(self.new_queue_files(), [])
        self.assertIn(" rule=bare_newline", self.log_since_start())

    def test_ending_split_across_reads(self):
        for parts in ([b"Subject: x\r\n\r\nHello\r", b"\n.\n" + SMUGGLED],
                      [b"Subject: x\r\n\r\nHello\r\n", b".", b"\n" + SMUGGLED],
                      [b"Subject: x\r\n\r\nHello\r\n.", b"\r", b"MAIL FROM:<e@x.example>\r\n"],
                      [b"Subject: x\r\n\r\nHello\r", b"\r\n.\r\n" + SMUGGLED]):
            with self.subTest(parts=parts):
                self.queued_before = set(self.inst.queue_files())
                replies, closed = self.smuggle(parts + [b"\r\n.\r\n"])
                self.assertEqual(len(replies), 1, replies)
                self.assertEqual(replies[0][0], 521)
                self.assertTrue(closed)
                self.assertEqual(self.new_queue_files(), [])

    def test_dot_stuffed_line_is_not_an_end(self):
        # "\r\n..\r\n" is a line holding one dot: what follows is text.
        replies, closed = self.smuggle([b"Subject: innocent\r\n\r\nHello\r\n..\r\n"
                                        + SMUGGLED + b".\r\nQUIT\r\n"])
        self.assertEqual([r[0] for r in replies], [250, 221], replies)
        queued = self.new_queue_files()
        self.assertEqual(len(queued), 1)
        qf = self.inst.queue_entry(queued[0])
        self.assertEqual(qf.recipients, ["someone@example.com"])
        self.assertTrue(qf.message.endswith(
            b"Subject: innocent\r\n\r\nHello\r\n.\r\n" + SMUGGLED), qf.message)

    def test_bare_lf_in_command_521(self):
        c = self.session()
        c.send(b"NOOP\nQUIT\r\n")
        self.assertEqual(c.replies_until_close(), ([BARE_LF], True))

    def test_bare_cr_in_command_521(self):
        c = self.session()
        c.send(b"NOOP\rQUIT\r\n")
        self.assertEqual(c.replies_until_close(), ([BARE_CR], True))

    def test_bare_lf_between_pipelined_commands_521(self):
        c = self.session()
        c.send(b"MAIL FROM:<sender@remote.example>\r\nRCPT TO:<someone@example.com>\n"
               b"DATA\r\n")
        replies, closed = c.replies_until_close()
        self.assertEqual(replies, [(250, ["2.1.0 Ok"]), BARE_LF])
        self.assertTrue(closed)
        self.assertTrue(self.inst.wait_log(
            r"NOQUEUE: reject: \S+ from unknown\[127\.0\.0\.1\]: 521 5\.5\.2 Error: "
            r"bare <LF> received; from=<[^>]*> proto=ESMTP helo=<[^>]*> "
            r"rule=bare_newline$", self.mark))


class OutOfTurn(HostileTestCase):
    # 127.0.0.1 is an ordinary client here: relay_networks skip the
    # pause before the greeting.
    conf = "relay_networks = 192.0.2.0/24\n"

    def test_talk_before_banner_554(self):
        c = self.session(greet=False)
        c.send("EHLO client.test.example\r\n")
        replies, closed = c.replies_until_close()
        self.assertEqual(replies, [
            (554, ["5.5.1 Error: SMTP protocol violation: talked before the greeting"])])
        self.assertTrue(closed)
        self.assertIn("rule=pregreet", self.log_since_start())

    def test_message_before_354_554(self):
        c = self.session()
        c.send(b"MAIL FROM:<sender@remote.example>\r\nRCPT TO:<someone@example.com>\r\n"
               b"DATA\r\nSubject: impatient\r\n\r\nno waiting\r\n.\r\n")
        replies, closed = c.replies_until_close()
        self.assertEqual(replies, [(250, ["2.1.0 Ok"]), (250, ["2.1.5 Ok"]),
                                   (554, ["5.5.0 Error: SMTP protocol synchronization"])])
        self.assertTrue(closed)
        self.assertEqual(self.new_queue_files(), [])
        self.assertIn("rule=pipelining", self.log_since_start())

    def test_http_request_dropped_without_reply(self):
        for request in (b"GET / HTTP/1.0\r\n\r\n",
                        b"POST /cgi-bin/x HTTP/1.1\r\nHost: mx\r\nContent-Length: 0\r\n\r\n",
                        b"CONNECT mx.test.example:25 HTTP/1.1\r\n\r\n"):
            with self.subTest(request=request):
                c = self.session(greet=True)
                start = time.time()
                c.send(request)
                c.sock.settimeout(3)
                received = b""
                while True:
                    data = c.sock.recv(65536)
                    if not data:
                        break
                    received += data
                self.assertEqual(received, b"")
                self.assertLess(time.time() - start, 1.0)
        self.assertIn("rule=non_smtp_command", self.log_since_start())


class LongLines(HostileTestCase):
    LONG_DOMAIN = ".".join(c * 63 for c in "abc") + ".example"   # 199 octets
    conf = "local_domains = example.com, %s\n" % LONG_DOMAIN

    def test_512_octet_commands_accepted(self):
        c = self.session()
        line = "NOOP " + "x" * 505
        self.assertEqual(len(line) + 2, 512)
        self.assertEqual(c.cmd(line), (250, ["2.0.0 Ok"]))
        line = "MAIL FROM:<%s@remote.example>" % ("s" * 64)
        line += " " * (510 - len(line) - len(" SIZE=1000 BODY=8BITMIME")) + " SIZE=1000 BODY=8BITMIME"
        self.assertEqual(len(line) + 2, 512)
        self.assertEqual(c.cmd(line), (250, ["2.1.0 Ok"]))
        # The longest path RFC 5321 allows, to a local domain.
        rcpt = "%s@%s" % ("r" * 52, self.LONG_DOMAIN)
        self.assertEqual(len(rcpt) + 2, 254)
        self.assertEqual(c.cmd("RCPT TO:<%s>" % rcpt), (250, ["2.1.5 Ok"]))
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(b"Subject: long\r\n\r\nlong\r\n.\r\n")
        self.assertEqual(c.reply()[0], 250)
        queued = self.new_queue_files()
        self.assertEqual(len(queued), 1)
        self.assertEqual(self.inst.queue_entry(queued[0]).recipients, [rcpt])

    def test_2048_accepted_2049_refused(self):
        c = self.session()
        for pieces in (1, 2):
            with self.subTest(pieces=pieces):
                for size, reply in ((2048, (250, ["2.0.0 Ok"])),
                                    (2049, (500, ["5.5.2 Error: line too long"]))):
                    line = b"NOOP " + b"x" * (size - 5) + b"\r\n"
                    cut = len(line) // pieces
                    c.send(line[:cut])
                    time.sleep(0.02)
                    c.send(line[cut:])
                    self.assertEqual(c.reply(), reply, size)
        self.assertEqual(c.cmd("NOOP"), (250, ["2.0.0 Ok"]))

    def test_overlong_line_answered_once_and_not_run(self):
        c = self.session()
        c.send(b"NOOP " + b"x" * 3000 + b" QUIT\r\nNOOP\r\n")
        self.assertEqual(c.replies(2), [(500, ["5.5.2 Error: line too long"]),
                                        (250, ["2.0.0 Ok"])])
        self.assertTrue(c.silent())
        # The text after the limit is not a command: QUIT did not run.
        self.assertEqual(c.cmd("NOOP"), (250, ["2.0.0 Ok"]))

    def test_overlong_line_in_pieces_beyond_the_input_buffer(self):
        c = self.session()
        c.send(b"QUIT " * 10)
        for _ in range(25):              # 200 000 octets without a line end
            c.send(b"y" * 8000)
        c.send(b"QUIT\r\n")
        self.assertEqual(c.reply(), (500, ["5.5.2 Error: line too long"]))
        self.assertTrue(c.silent())
        self.assertEqual(c.cmd("NOOP"), (250, ["2.0.0 Ok"]))

    def test_overlong_line_does_not_reset_the_transaction(self):
        c = self.session()
        self.open_data_rcpt(c)
        c.send(b"RCPT TO:<" + b"a" * 4000 + b"@example.com> RSET\r\n")
        self.assertEqual(c.reply(), (500, ["5.5.2 Error: line too long"]))
        # RSET did not run: the transaction goes on to a queued message.
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(b"Subject: still here\r\n\r\nyes\r\n.\r\n")
        self.assertEqual(c.reply()[0], 250)
        queued = self.new_queue_files()
        self.assertEqual(len(queued), 1)
        self.assertEqual(self.inst.queue_entry(queued[0]).recipients, ["someone@example.com"])

    def open_data_rcpt(self, c):
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.example>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>")[0], 250)


class BadCharacters(HostileTestCase):
    def test_nul_and_control_characters_501(self):
        c = self.session()
        reply = (501, ["5.5.2 Syntax error: NUL or control character in command"])
        for line in (b"HELO a\x00b.example", b"EHLO client\ttest.example",
                     b"MAIL FROM:<a\x01b@remote.example>", b"NOOP \x07",
                     b"VRFY postmaster\x7f", b"RCPT TO:<a@example.com>\x1b[0m"):
            with self.subTest(line=line):
                c.send(line + b"\r\n")
                self.assertEqual(c.reply(), reply)
        # The session is still usable, and none of those took effect.
        self.assertEqual(c.cmd("RCPT TO:<a@example.com>"),
                         (503, ["5.5.1 Error: need MAIL command"]))
        self.assertEqual(c.cmd("NOOP"), (250, ["2.0.0 Ok"]))


class SoftErrorLimit(HostileTestCase):
    conf = "smtpd_soft_error_limit = 2\nsmtpd_hard_error_limit = 100\n"

    def test_replies_slow_down_after_soft_limit(self):
        c = self.session()
        delays = []
        for _ in range(3):
            start = time.time()
            self.assertEqual(c.cmd("FOO")[0], 500)
            delays.append(time.time() - start)
        # Past the limit every reply waits, not only the error replies.
        start = time.time()
        self.assertEqual(c.cmd("NOOP"), (250, ["2.0.0 Ok"]))
        delays.append(time.time() - start)
        self.assertLess(delays[0], 0.5, delays)
        self.assertLess(delays[1], 0.5, delays)
        self.assertGreaterEqual(delays[2], 0.9, delays)
        self.assertGreaterEqual(delays[3], 0.9, delays)


class HardErrorLimit(HostileTestCase):
    conf = "smtpd_hard_error_limit = 3\nsmtpd_soft_error_limit = 0\n"

    def test_disconnect_with_421_at_hard_limit(self):
        c = self.session()
        self.assertEqual(c.cmd("FOO")[0], 500)
        self.assertEqual(c.cmd("MAIL FROM:bad")[0], 501)
        c.send("BAR\r\nNOOP\r\n")
        replies, closed = c.replies_until_close()
        self.assertEqual(replies, [(500, ["5.5.2 Error: command not recognized"]),
                                   (421, ["4.7.0 mx.test.example Error: too many errors"])])
        self.assertTrue(closed)
        self.assertTrue(self.inst.wait_log(
            r"too many errors after \S+ from unknown\[127\.0\.0\.1\]", self.mark))


class Timeout(HostileTestCase):
    conf = "smtpd_timeout = 2s\n"

    def test_idle_sessions_end_with_421(self):
        # Two sessions fall silent together: one between commands, one
        # in the middle of a message.
        idle = self.session()
        in_data = self.session()
        self.open_data(in_data)
        in_data.send(b"Subject: unfinished\r\n\r\nand then")
        start = time.time()
        for c in (idle, in_data):
            replies, closed = c.replies_until_close(timeout=6)
            self.assertEqual(replies, [(421, ["4.4.2 mx.test.example Error: timeout exceeded"])])
            self.assertTrue(closed)
        self.assertGreaterEqual(time.time() - start, 1.5)
        self.assertLess(time.time() - start, 4)
        self.assertEqual(self.new_queue_files(), [])
        log = self.log_since_start()
        self.assertIn("timeout after EHLO from unknown[127.0.0.1]", log)
        self.assertRegex(log, r"timeout after DATA \(\d+ bytes\) from unknown\[127\.0\.0\.1\]")


if __name__ == "__main__":
    unittest.main()
