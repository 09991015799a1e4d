"""Duplicate recipients: the same address given twice in one transaction
is accepted each time and stored (so delivered) once, as Postfix's
cleanup does.  The domain is compared without case, the local part with
it: ALICE@example.com is another mailbox than alice@example.com."""

import re
import unittest

from alligate_test import SharedInstanceTestCase

OK_RCPT = (250, ["2.1.5 Ok"])


class Duplicates(SharedInstanceTestCase):
    """127.0.0.1 is a relay client here: any recipient is accepted."""

    def session(self):
        c = self.inst.raw()
        self.addCleanup(c.close)
        self.assertEqual(c.ehlo("client.test.example")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.example>")[0], 250)
        return c

    def rcpts(self, c, rcpts):
        for rcpt in rcpts:
            self.assertEqual(c.cmd("RCPT TO:<%s>" % rcpt), OK_RCPT, rcpt)

    def data(self, c):
        """DATA and a message; the queue file's recipients."""
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(b"Subject: duplicates\r\n\r\nonce\r\n.\r\n")
        return self.queued(c.reply())

    def queued(self, reply):
        code, lines = reply
        self.assertEqual(code, 250, lines)
        m = re.fullmatch(r"2\.0\.0 Ok: queued as ([0-9A-F]+)", lines[0])
        self.assertTrue(m, lines)
        self.assertIn(m.group(1), self.new_queue_files())
        return self.inst.queue_entry(m.group(1)).recipients

    def test_same_address_stored_once(self):
        c = self.session()
        self.rcpts(c, ["alice@example.com", "alice@example.com", "alice@EXAMPLE.com",
                       "ALICE@example.com", "bob@example.com", "alice@Example.Com"])
        self.assertEqual(self.data(c), ["alice@example.com", "ALICE@example.com",
                                        "bob@example.com"])

    def test_only_duplicates(self):
        c = self.session()
        self.rcpts(c, ["carol@example.net"] * 3 + ["Postmaster", "Postmaster"])
        self.assertEqual(self.data(c), ["carol@example.net", "Postmaster"])

    def test_remote_domains_compared_without_case(self):
        c = self.session()
        self.rcpts(c, ["x@Remote.Example", "x@remote.example", "X@remote.example"])
        self.assertEqual(self.data(c), ["x@Remote.Example", "X@remote.example"])

    def test_pipelined_duplicates(self):
        c = self.session()
        c.send("RCPT TO:<alice@example.com>\r\nRCPT TO:<alice@example.com>\r\n"
               "RCPT TO:<alice@EXAMPLE.COM>\r\nDATA\r\n")
        self.assertEqual(c.replies(4), [OK_RCPT, OK_RCPT, OK_RCPT,
                                        (354, ["End data with <CR><LF>.<CR><LF>"])])
        c.send(b"Subject: duplicates\r\n\r\nonce\r\n.\r\n")
        self.assertEqual(self.queued(c.reply()), ["alice@example.com"])

    def test_each_transaction_has_its_own(self):
        c = self.session()
        self.rcpts(c, ["dave@example.com"])
        self.assertEqual(self.data(c), ["dave@example.com"])
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.example>")[0], 250)
        self.rcpts(c, ["dave@example.com", "dave@example.com"])
        self.assertEqual(self.data(c), ["dave@example.com"])
        self.assertEqual(len(self.new_queue_files()), 2)


if __name__ == "__main__":
    unittest.main()
