"""Relay control: mail for local_domains is accepted (for the users in
local_recipients when that is set), mail for anywhere else only from
relay_networks, and every way of sneaking a relay through a local domain
is refused with 554 5.7.1."""

import re
import unittest

from alligate_test import SharedInstanceTestCase

RECIPIENTS = """\
# valid users of example.com; all of example.net
alice@example.com
Bob@Example.COM
@example.net
"""


class RelayTestCase(SharedInstanceTestCase):
    def session(self):
        c = self.inst.raw()
        self.addCleanup(c.close)
        self.assertEqual(c.ehlo("client.test.example")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.example>"), (250, ["2.1.0 Ok"]))
        return c

    def deliver(self, c, expect_rcpts):
        """DATA on an open transaction; checks the one queue file."""
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(b"Subject: relay test\r\n\r\nhello\r\n.\r\n")
        code, lines = c.reply()
        self.assertEqual(code, 250, lines)
        qid = re.fullmatch(r"2\.0\.0 Ok: queued as ([0-9A-F]{19})", lines[0]).group(1)
        self.assertEqual(self.new_queue_files(), [qid])
        self.assertEqual(self.inst.queue_entry(qid).recipients, expect_rcpts)


class NotRelayClient(RelayTestCase):
    """The tests connect from 127.0.0.1, outside these relay_networks."""

    conf = ("relay_networks = 192.0.2.0/24\n"
            "local_recipients = recipients\n"
            # Many refusals per session here: the error limits are
            # tested elsewhere.
            "smtpd_soft_error_limit = 0\n"
            "smtpd_hard_error_limit = 1000\n")
    files = {"recipients": RECIPIENTS}

    def test_local_recipients_accepted(self):
        c = self.session()
        for rcpt in ("alice@example.com", "ALICE@EXAMPLE.COM", "bob@example.com",
                     "anyone@example.net", "Someone.Else@EXAMPLE.NET"):
            with self.subTest(rcpt=rcpt):
                self.assertEqual(c.cmd("RCPT TO:<%s>" % rcpt), (250, ["2.1.5 Ok"]))
        self.deliver(c, ["alice@example.com", "ALICE@EXAMPLE.COM", "bob@example.com",
                         "anyone@example.net", "Someone.Else@EXAMPLE.NET"])

    def test_unknown_local_user_550(self):
        c = self.session()
        self.assertEqual(c.cmd("RCPT TO:<carol@example.com>"),
                         (550, ["5.1.1 <carol@example.com>: Recipient address rejected: "
                                "User unknown"]))
        self.assertEqual(c.cmd("RCPT TO:<alice@example.com>"), (250, ["2.1.5 Ok"]))
        # Only the valid recipient is queued.
        self.deliver(c, ["alice@example.com"])
        self.assertIn("NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 550 5.1.1 "
                      "<carol@example.com>: Recipient address rejected: User unknown; "
                      "from=<sender@remote.example> to=<carol@example.com> "
                      "proto=ESMTP helo=<client.test.example> rule=local_recipients",
                      self.log_since_start())

    def test_postmaster_accepted(self):
        c = self.session()
        self.assertEqual(c.cmd("RCPT TO:<Postmaster>"), (250, ["2.1.5 Ok"]))
        self.assertEqual(c.cmd("RCPT TO:<postmaster>"), (250, ["2.1.5 Ok"]))
        # The same recipient in any case (RFC 5321 4.5.1): delivered once.
        self.deliver(c, ["Postmaster"])

    def test_remote_domain_554(self):
        c = self.session()
        self.assertEqual(c.cmd("RCPT TO:<someone@remote.example>"),
                         (554, ["5.7.1 <someone@remote.example>: Relay access denied"]))
        self.assertEqual(c.cmd("DATA"), (554, ["5.5.1 Error: no valid recipients"]))
        self.assertEqual(c.cmd("QUIT")[0], 221)
        self.assertEqual(self.new_queue_files(), [])
        self.assertTrue(self.inst.wait_log(
            r"^.* NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.1\]: 554 5\.7\.1 "
            r"<someone@remote\.example>: Relay access denied; "
            r"from=<sender@remote\.example> to=<someone@remote\.example> "
            r"proto=ESMTP helo=<client\.test\.example> rule=relay_access$", self.mark))

    def test_open_relay_attempts_554(self):
        attempts = [
            "alice%remote.example@example.com",         # percent hack
            "alice%remote.example@example.net",         # ... past a catch-all
            "remote.example!alice@example.com",         # bang path
            "remote.example!alice@example.net",
            "@example.com:alice@remote.example",        # source route in
            "@example.com,@example.net:alice@remote.example",
            "@remote.example:alice@example.com",        # source route out
            '"alice@remote.example"@example.com',       # quoted
            '"alice@remote.example"@example.net',
            '"alice%remote.example"@example.net',
            '"remote.example!alice"@example.net',
            "alice@[192.0.2.1]",                        # address literals
            "alice@[127.0.0.1]",
            "alice@[IPv6:::1]",
            "alice@[IPv6:2001:db8::1]",
            "alice@REMOTE.EXAMPLE",                     # upper case remote
            "alice@Remote.Example",
            "alice@example.com.remote.example",         # local as a prefix
            "alice@sub.example.com",                    # subdomain of local
        ]
        c = self.session()
        for rcpt in attempts:
            with self.subTest(rcpt=rcpt):
                mailbox = re.sub(r"^@[^:]*:", "", rcpt)     # route stripped
                self.assertEqual(c.cmd("RCPT TO:<%s>" % rcpt),
                                 (554, ["5.7.1 <%s>: Relay access denied" % mailbox]))
        self.assertEqual(c.cmd("DATA"), (554, ["5.5.1 Error: no valid recipients"]))
        self.assertEqual(self.new_queue_files(), [])

    def test_malformed_relay_attempts_501(self):
        # Not addresses at all (RFC 5321 4.1.2): refused before relay control.
        attempts = [
            "alice@remote.example.",            # trailing dot
            "alice@example.com.",
            "alice@remote.example@example.com",
            "alice@[1.2.3.4.5]",
            "alice@1.2.3.4",
            "remote.example:alice@example.com",
        ]
        c = self.session()
        for rcpt in attempts:
            with self.subTest(rcpt=rcpt):
                self.assertEqual(c.cmd("RCPT TO:<%s>" % rcpt),
                                 (501, ["5.1.3 Bad recipient address syntax"]))
        self.assertEqual(c.cmd("DATA"), (554, ["5.5.1 Error: no valid recipients"]))
        self.assertEqual(self.new_queue_files(), [])


class RelayClient(RelayTestCase):
    """127.0.0.1 is in the default relay_networks (127.0.0.0/8, ::1)."""

    def test_relay_client_may_relay(self):
        c = self.session()
        rcpts = ["someone@remote.example", "Other@REMOTE.example",
                 "alice%elsewhere.example@example.com", "alice@[192.0.2.1]"]
        for rcpt in rcpts:
            with self.subTest(rcpt=rcpt):
                self.assertEqual(c.cmd("RCPT TO:<%s>" % rcpt), (250, ["2.1.5 Ok"]))
        self.deliver(c, rcpts)

    def test_every_local_user_valid_without_local_recipients(self):
        c = self.session()
        self.assertEqual(c.cmd("RCPT TO:<whoever@example.com>"), (250, ["2.1.5 Ok"]))
        self.assertEqual(c.cmd("RCPT TO:<Postmaster>"), (250, ["2.1.5 Ok"]))
        self.deliver(c, ["whoever@example.com", "Postmaster"])


class RelayClientWithRecipients(RelayTestCase):
    """A relay client is still refused unknown users of local domains."""

    conf = "relay_networks = 127.0.0.0/8\nlocal_recipients = recipients\n"
    files = {"recipients": RECIPIENTS}

    def test_unknown_local_user_550_for_relay_client(self):
        c = self.session()
        self.assertEqual(c.cmd("RCPT TO:<carol@example.com>"),
                         (550, ["5.1.1 <carol@example.com>: Recipient address rejected: "
                                "User unknown"]))
        self.assertEqual(c.cmd("RCPT TO:<someone@remote.example>"), (250, ["2.1.5 Ok"]))
        self.assertEqual(c.cmd("RCPT TO:<alice@example.com>"), (250, ["2.1.5 Ok"]))
        self.deliver(c, ["someone@remote.example", "alice@example.com"])


if __name__ == "__main__":
    unittest.main()
