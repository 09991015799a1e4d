"""The SMTP protocol as smtpd speaks it (RFC 5321, 1870, 2920, 6152, 6531,
2034): every reply code of the command table, pipelining, the size and
loop limits, the Received: header, the queue file behind every 250, the
log lines, and real clients (swaks)."""

import re
import shutil
import subprocess
import unittest

from alligate_test import SharedInstanceTestCase, wait_for

SIZE_LIMIT = 20000
RCPT_LIMIT = 100


def message_of_size(size, subject="size"):
    """A message of exactly size bytes as smtpd counts them (CR LF
    included, the final "." not)."""
    head = ("Subject: %s\r\n\r\n" % subject).encode()
    left = size - len(head)
    lines = [b"x" * 98 + b"\r\n"] * (left // 100)
    rest = left % 100
    if rest >= 2:
        lines.append(b"y" * (rest - 2) + b"\r\n")
    elif rest == 1:
        lines[-1] = b"x" * 99 + b"\r\n"
    data = head + b"".join(lines)
    assert len(data) == size
    return data


class Protocol(SharedInstanceTestCase):
    # Tests connect from 127.0.0.1, inside the default relay_networks:
    # relay control is test_relay_control's business.
    conf = "smtpd_recipient_limit = %d\nmessage_size_limit = %d\n" % (
        RCPT_LIMIT, SIZE_LIMIT)

    def session(self, helo="client.test.example"):
        c = self.inst.raw()
        self.addCleanup(c.close)
        if helo:
            self.assertEqual(c.ehlo(helo)[0], 250)
        return c

    def send_message(self, c, data, sender="sender@remote.example",
                     rcpts=("someone@example.com",)):
        """One transaction, each command waiting for its reply; returns
        the final reply to the message."""
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % sender), (250, ["2.1.0 Ok"]))
        for r in rcpts:
            self.assertEqual(c.cmd("RCPT TO:<%s>" % r), (250, ["2.1.5 Ok"]))
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(data + b".\r\n")
        return c.reply()

    def assert_queued(self, reply):
        """reply says "queued as ID", ID is the one new, complete queue
        file; returns (ID, QueueFile)."""
        code, lines = reply
        self.assertEqual(code, 250, lines)
        m = re.fullmatch(r"2\.0\.0 Ok: queued as ([0-9A-F]{19})", lines[0])
        self.assertTrue(m, lines)
        qid = m.group(1)
        self.assertEqual(self.new_queue_files(), [qid])
        return qid, self.inst.queue_entry(qid)

    # ---- greeting, HELO, EHLO ----

    def test_banner_220(self):
        c = self.inst.raw(greet=False)
        self.addCleanup(c.close)
        self.assertEqual(c.reply(), (220, ["mx.test.example ESMTP"]))

    def test_ehlo_keywords(self):
        c = self.session(helo=None)
        code, lines = c.ehlo("client.test.example")
        self.assertEqual(code, 250)
        self.assertEqual(lines, ["mx.test.example", "PIPELINING",
                                 "SIZE %d" % SIZE_LIMIT, "8BITMIME",
                                 "ENHANCEDSTATUSCODES", "SMTPUTF8", "CHUNKING"])

    def test_helo(self):
        c = self.session(helo=None)
        self.assertEqual(c.cmd("HELO client.test.example"),
                         (250, ["mx.test.example"]))
        # HELO means no ESMTP: every MAIL parameter is unknown.
        self.assertEqual(c.cmd("MAIL FROM:<a@remote.example> SIZE=10"),
                         (555, ["5.5.4 Unsupported option: SIZE=10"]))
        self.assertEqual(c.cmd("MAIL FROM:<a@remote.example>"), (250, ["2.1.0 Ok"]))

    def test_helo_ehlo_without_argument_501(self):
        c = self.session(helo=None)
        self.assertEqual(c.cmd("HELO"), (501, ["5.5.4 Syntax: HELO hostname"]))
        self.assertEqual(c.cmd("EHLO"), (501, ["5.5.4 Syntax: EHLO hostname"]))
        self.assertEqual(c.cmd("EHLO "), (501, ["5.5.4 Syntax: EHLO hostname"]))
        # Still no HELO/EHLO on record.
        self.assertEqual(c.cmd("MAIL FROM:<a@remote.example>"),
                         (503, ["5.5.1 Error: send HELO/EHLO first"]))

    def test_ehlo_resets_transaction_and_limits_name(self):
        c = self.session()
        self.assertEqual(c.cmd("EHLO " + "h" * 256),
                         (501, ["5.5.2 Error: host name too long"]))
        self.assertEqual(c.cmd("MAIL FROM:<a@remote.example>"), (250, ["2.1.0 Ok"]))
        self.assertEqual(c.ehlo("again.test.example")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>"),
                         (503, ["5.5.1 Error: need MAIL command"]))

    def test_null_sender_accepted(self):
        c = self.session()
        qid, qf = self.assert_queued(self.send_message(
            c, b"Subject: bounce\r\n\r\nreturned\r\n", sender=""))
        self.assertEqual(qf.get("S"), "")

    # ---- sequence, syntax, unknown commands ----

    def test_bad_sequence_503(self):
        c = self.session(helo=None)
        self.assertEqual(c.cmd("MAIL FROM:<a@remote.example>"),
                         (503, ["5.5.1 Error: send HELO/EHLO first"]))
        self.assertEqual(c.ehlo()[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>"),
                         (503, ["5.5.1 Error: need MAIL command"]))
        self.assertEqual(c.cmd("DATA"), (503, ["5.5.1 Error: need MAIL command"]))
        self.assertEqual(c.cmd("MAIL FROM:<a@remote.example>"), (250, ["2.1.0 Ok"]))
        self.assertEqual(c.cmd("MAIL FROM:<b@remote.example>"),
                         (503, ["5.5.1 Error: nested MAIL command"]))
        self.assertEqual(c.cmd("DATA"), (503, ["5.5.1 Error: need RCPT command"]))
        # RCPT given but refused: RFC 5321 3.3 "no valid recipients".
        self.assertEqual(c.cmd("RCPT TO:<>")[0], 501)
        self.assertEqual(c.cmd("DATA"), (554, ["5.5.1 Error: no valid recipients"]))
        self.assertEqual(c.cmd("QUIT")[0], 221)
        self.assertEqual(self.new_queue_files(), [])

    def test_unknown_command_500(self):
        c = self.session()
        for line in ("FOO", "MAILX FROM:<a@remote.example>", "", "  NOOP"):
            with self.subTest(line=line):
                self.assertEqual(c.cmd(line),
                                 (500, ["5.5.2 Error: command not recognized"]))
        # Known but not offered.
        self.assertEqual(c.cmd("EXPN staff"),
                         (502, ["5.5.1 Error: command not implemented"]))
        self.assertEqual(c.cmd("noop"), (250, ["2.0.0 Ok"]))

    def test_syntax_501(self):
        c = self.session()
        cases = [
            ("MAIL FROM:sender@remote.example", "5.5.4 Syntax: MAIL FROM:<address>"),
            ("MAIL TO:<sender@remote.example>", "5.5.4 Syntax: MAIL FROM:<address>"),
            ("MAIL FROM:<send er@remote.example>", "5.1.7 Bad sender address syntax"),
            ("MAIL FROM:<a@remote.example> SIZE=big", "5.5.4 Bad SIZE parameter syntax"),
            ("RSET now", "5.5.4 Syntax: RSET"),
            ("VRFY", "5.5.4 Syntax: VRFY address"),
        ]
        for line, text in cases:
            with self.subTest(line=line):
                self.assertEqual(c.cmd(line), (501, [text]))
        self.assertEqual(c.cmd("MAIL FROM:<a@remote.example>"), (250, ["2.1.0 Ok"]))
        self.assertEqual(c.cmd("RCPT TO:<no-domain>"),
                         (501, ["5.1.3 Bad recipient address syntax"]))
        self.assertEqual(c.cmd("RCPT TO:<>"),
                         (501, ["5.1.3 Bad recipient address syntax"]))
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>"), (250, ["2.1.5 Ok"]))
        self.assertEqual(c.cmd("DATA now"), (501, ["5.5.4 Syntax: DATA"]))
        c.cmd("QUIT")
        self.assertEqual(self.new_queue_files(), [])

    def test_unknown_parameters_555(self):
        c = self.session()
        self.assertEqual(c.cmd("MAIL FROM:<a@remote.example> FOO=BAR"),
                         (555, ["5.5.4 Unsupported option: FOO=BAR"]))
        self.assertEqual(c.cmd("MAIL FROM:<a@remote.example> RET=HDRS"),
                         (555, ["5.5.4 Unsupported option: RET=HDRS"]))
        self.assertEqual(c.cmd("MAIL FROM:<a@remote.example> BODY=BINARYMIME"),
                         (555, ["5.5.4 Unsupported option: BODY=BINARYMIME"]))
        self.assertEqual(c.cmd("MAIL FROM:<a@remote.example>"), (250, ["2.1.0 Ok"]))
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com> NOTIFY=NEVER"),
                         (555, ["5.5.4 Unsupported option: NOTIFY=NEVER"]))

    # ---- the other commands ----

    def test_rset_noop_vrfy_help_quit(self):
        c = self.session()
        self.assertEqual(c.cmd("NOOP"), (250, ["2.0.0 Ok"]))
        self.assertEqual(c.cmd("NOOP anything"), (250, ["2.0.0 Ok"]))
        self.assertEqual(c.cmd("VRFY postmaster"),
                         (252, ["2.0.0 Cannot VRFY user; try RCPT to attempt delivery"]))
        code, lines = c.cmd("HELP")
        self.assertEqual(code, 214)
        self.assertTrue(lines[0].startswith("2.0.0 "), lines)
        self.assertEqual(c.cmd("MAIL FROM:<a@remote.example>"), (250, ["2.1.0 Ok"]))
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>"), (250, ["2.1.5 Ok"]))
        self.assertEqual(c.cmd("RSET"), (250, ["2.0.0 Ok"]))
        # The transaction is gone: no recipient, no sender.
        self.assertEqual(c.cmd("DATA"), (503, ["5.5.1 Error: need MAIL command"]))
        self.assertEqual(c.cmd("MAIL FROM:<b@remote.example>"), (250, ["2.1.0 Ok"]))
        self.assertEqual(c.cmd("QUIT"), (221, ["2.0.0 Bye"]))
        self.assertTrue(c.closed())
        self.assertEqual(self.new_queue_files(), [])

    # ---- size ----

    def test_size_parameter_over_limit_552(self):
        c = self.session()
        self.assertEqual(c.cmd("MAIL FROM:<a@remote.example> SIZE=%d" % (SIZE_LIMIT + 1)),
                         (552, ["5.3.4 Message size exceeds fixed limit"]))
        self.assertEqual(c.cmd("MAIL FROM:<a@remote.example> SIZE=99999999999999999999999"),
                         (501, ["5.5.4 Bad SIZE parameter syntax"]))
        self.assertEqual(c.cmd("MAIL FROM:<a@remote.example> SIZE=%d" % SIZE_LIMIT),
                         (250, ["2.1.0 Ok"]))
        self.assertIn("NOQUEUE: reject: MAIL from unknown[127.0.0.1]: 552 5.3.4 "
                      "Message size exceeds fixed limit; from=<a@remote.example> "
                      "proto=ESMTP helo=<client.test.example> rule=message_size_limit",
                      self.log_since_start())

    def test_real_size_over_limit_552_after_end_of_data(self):
        c = self.session()
        # No SIZE= given: only the bytes themselves tell.
        self.assertEqual(c.cmd("MAIL FROM:<big@remote.example>"), (250, ["2.1.0 Ok"]))
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(message_of_size(SIZE_LIMIT + 1, "too big"))
        # Over the limit, but the client has not finished: no reply yet.
        self.assertTrue(c.silent(0.5), "replied before the end of the data")
        c.send(b".\r\n")
        self.assertEqual(c.reply(), (552, ["5.3.4 Error: message file too big"]))
        self.assertEqual(self.new_queue_files(), [])
        # The session goes on, and a message of exactly the limit passes.
        qid, qf = self.assert_queued(self.send_message(c, message_of_size(SIZE_LIMIT)))
        self.assertEqual(qf.get("S"), "sender@remote.example")
        self.assertTrue(qf.message.endswith(message_of_size(SIZE_LIMIT)))
        self.assertEqual(c.cmd("QUIT")[0], 221)

    # ---- recipients and pipelining ----

    def test_pipelining_100_recipients(self):
        c = self.session()
        rcpts = ["user%03d@example.com" % i for i in range(100)]
        group = "MAIL FROM:<list@remote.example>\r\n"
        group += "".join("RCPT TO:<%s>\r\n" % r for r in rcpts)
        group += "DATA\r\n"
        c.send(group)       # one write: RFC 2920 allows it after EHLO
        replies = c.replies(102)
        self.assertEqual(replies[0], (250, ["2.1.0 Ok"]))
        self.assertEqual(replies[1:101], [(250, ["2.1.5 Ok"])] * 100)
        self.assertEqual(replies[101][0], 354)
        c.send(b"Subject: to a hundred\r\n\r\nHello all.\r\n.\r\nQUIT\r\n")
        qid, qf = self.assert_queued(c.reply())
        self.assertEqual(c.reply(), (221, ["2.0.0 Bye"]))
        self.assertEqual(qf.recipients, rcpts)
        self.assertEqual(qf.get("S"), "list@remote.example")

    def test_recipient_limit_452(self):
        c = self.session()
        rcpts = ["user%03d@example.com" % i for i in range(RCPT_LIMIT + 2)]
        c.send("MAIL FROM:<list@remote.example>\r\n"
               + "".join("RCPT TO:<%s>\r\n" % r for r in rcpts))
        replies = c.replies(len(rcpts) + 1)
        self.assertEqual(replies[0][0], 250)
        self.assertEqual(replies[1:RCPT_LIMIT + 1], [(250, ["2.1.5 Ok"])] * RCPT_LIMIT)
        self.assertEqual(replies[RCPT_LIMIT + 1:],
                         [(452, ["4.5.3 Error: too many recipients"])] * 2)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(b"Subject: x\r\n\r\nx\r\n.\r\n")
        qid, qf = self.assert_queued(c.reply())
        self.assertEqual(qf.recipients, rcpts[:RCPT_LIMIT])

    def test_data_and_commands_after_it_in_one_write(self):
        c = self.session()
        c.send("MAIL FROM:<a@remote.example>\r\nRCPT TO:<someone@example.com>\r\nDATA\r\n")
        self.assertEqual([r[0] for r in c.replies(3)], [250, 250, 354])
        # The end of data and the next commands may come together.
        c.send(b"Subject: one\r\n\r\n1\r\n.\r\nMAIL FROM:<b@remote.example>\r\n"
               b"RCPT TO:<other@example.com>\r\nDATA\r\n")
        first = c.reply()
        self.assertEqual([r[0] for r in c.replies(3)], [250, 250, 354])
        c.send(b"Subject: two\r\n\r\n2\r\n.\r\n")
        second = c.reply()
        self.assertEqual(c.cmd("QUIT")[0], 221)
        ids = [re.search(r"queued as (\S+)", r[1][0]).group(1) for r in (first, second)]
        self.assertEqual(sorted(ids), self.new_queue_files())
        self.assertEqual(self.inst.queue_entry(ids[0]).recipients, ["someone@example.com"])
        self.assertEqual(self.inst.queue_entry(ids[1]).recipients, ["other@example.com"])

    # ---- ESMTP extensions in the queue file ----

    def test_8bitmime_and_smtputf8(self):
        c = self.session()
        self.assertEqual(c.cmd("MAIL FROM:<a@remote.example>"), (250, ["2.1.0 Ok"]))
        self.assertEqual(c.cmd("RCPT TO:<jos\u00e9@example.com>"),
                         (553, ["5.6.7 Non-ASCII addresses not permitted for that recipient"]))
        self.assertEqual(c.cmd("RSET")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<a@remote.example> BODY=8BITMIME SMTPUTF8"),
                         (250, ["2.1.0 Ok"]))
        self.assertEqual(c.cmd("RCPT TO:<jos\u00e9@example.com>"), (250, ["2.1.5 Ok"]))
        self.assertEqual(c.cmd("DATA")[0], 354)
        body = "Subject: caf\u00e9\r\n\r\nd\u00e9j\u00e0 vu\r\n".encode()
        c.send(body + b".\r\n")
        qid, qf = self.assert_queued(c.reply())
        self.assertEqual(qf.get("Y"), "8BITMIME")
        self.assertEqual(qf.get("8"), "1")
        self.assertEqual(qf.recipients, ["jos\u00e9@example.com"])
        self.assertTrue(qf.message.endswith(body))
        self.assertIn(" for <jos\u00e9@example.com>; ", qf.headers("Received")[0])

    # ---- loops and the Received: header ----

    def hops(self, count):
        return b"".join(b"Received: from hop%d.remote.example by hop%d.remote.example;"
                        b" Sat, 1 Jan 2022 00:00:00 +0000\r\n" % (i, i + 1)
                        for i in range(count))

    def test_more_than_100_received_headers_554(self):
        c = self.session()
        data = self.hops(101) + b"Subject: loop\r\n\r\nround and round\r\n"
        self.assertEqual(self.send_message(c, data), (554, ["5.4.6 Error: too many hops"]))
        self.assertEqual(self.new_queue_files(), [])
        self.assertIn("rule=mail_loop", self.log_since_start())
        # A hundred is still fine, and the session is usable.
        data = self.hops(100) + b"Subject: long way\r\n\r\nhere at last\r\n"
        qid, qf = self.assert_queued(self.send_message(c, data))
        self.assertEqual(len(qf.headers("Received")), 101)

    def test_received_header_added_once(self):
        for verb, proto in (("EHLO", "ESMTP"), ("HELO", "SMTP")):
            with self.subTest(verb=verb):
                self.queued_before = set(self.inst.queue_files())
                c = self.session(helo=None)
                self.assertEqual(c.cmd("%s helo-%s.test.example" % (verb, verb.lower()))[0], 250)
                data = b"Subject: trace\r\nX-Test: 1\r\n\r\nbody\r\n"
                qid, qf = self.assert_queued(self.send_message(c, data))
                self.assertEqual(c.cmd("QUIT")[0], 221)
                received = qf.headers("Received")
                self.assertEqual(len(received), 1, received)
                self.assertRegex(
                    received[0],
                    r"^from helo-%s\.test\.example \(unknown \[127\.0\.0\.1\]\) "
                    r"by mx\.test\.example \(Alligate\) with %s id %s "
                    r"for <someone@example\.com>; \w{3}, \d{1,2} \w{3} \d{4} "
                    r"\d\d:\d\d:\d\d [+-]\d{4}$" % (verb.lower(), proto, qid))
                # Prepended; the client's message follows untouched.
                self.assertTrue(qf.message.startswith(b"Received: from helo-"))
                self.assertTrue(qf.message.endswith(b"\r\n" + data))
                self.assertEqual(qf.get("C"), "127.0.0.1")
                self.assertEqual(qf.get("H"), "helo-%s.test.example" % verb.lower())
                self.assertEqual(qf.get("P"), proto)
                self.assertEqual(qf.get("S"), "sender@remote.example")
                self.assertRegex(qf.get("T"), r"^\d+$")

    def test_dot_stuffing_removed(self):
        c = self.session()
        wire = b"Subject: dots\r\n\r\n..leading dot\r\n...\r\nend\r\n"
        qid, qf = self.assert_queued(self.send_message(c, wire))
        self.assertTrue(qf.message.endswith(
            b"\r\n\r\n.leading dot\r\n..\r\nend\r\n"), qf.message)

    # ---- log lines ----

    def ended_session_log(self, qid):
        """The log lines of the session that queued qid, once it ended."""
        def ended():
            lines = self.inst.session_log(qid, self.mark)
            return lines if lines and lines[-1].startswith("disconnect from ") else None
        lines = wait_for(ended)
        self.assertTrue(lines, "no disconnect logged for the session of " + qid)
        return lines

    def test_log_lines_of_a_session(self):
        c = self.session()
        c.send("MAIL FROM:<logger@remote.example>\r\nRCPT TO:<someone@example.com>\r\n"
               "RCPT TO:<>\r\nDATA\r\n")
        self.assertEqual([r[0] for r in c.replies(4)], [250, 250, 501, 354])
        data = b"Subject: log\r\n\r\nlog me\r\n"
        c.send(data + b".\r\n")
        qid, qf = self.assert_queued(c.reply())
        self.assertEqual(c.cmd("QUIT")[0], 221)
        self.assertTrue(c.closed())
        # Warnings (a daemon not up yet...) are not the session's decisions.
        decisions = [l for l in self.ended_session_log(qid) if "warning:" not in l]
        self.assertEqual(decisions, [
            "connect from unknown[127.0.0.1]",
            "%s: client=unknown[127.0.0.1]" % qid,
            "%s: from=<logger@remote.example>, size=%d, nrcpt=1" % (qid, len(data)),
            "disconnect from unknown[127.0.0.1] ehlo=1 mail=1 rcpt=1/2 data=1 "
            "quit=1 commands=5/6",
        ])

    def test_disconnect_counts_clean_session(self):
        c = self.session()
        qid, qf = self.assert_queued(self.send_message(c, b"Subject: x\r\n\r\nx\r\n"))
        self.assertEqual(c.cmd("QUIT")[0], 221)
        self.assertEqual(self.ended_session_log(qid)[-1],
                         "disconnect from unknown[127.0.0.1] ehlo=1 mail=1 rcpt=1 "
                         "data=1 quit=1 commands=5")


@unittest.skipUnless(shutil.which("swaks"), "swaks is not installed")
class Swaks(SharedInstanceTestCase):
    """A real client, as an administrator would test a new gateway."""

    def swaks(self, *args):
        proc = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % self.inst.port,
                               "--to", "someone@example.com"] + list(args),
                              capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        m = re.search(r"^<-  250 2\.0\.0 Ok: queued as ([0-9A-F]{19})$", proc.stdout, re.M)
        self.assertTrue(m, proc.stdout)
        self.assertEqual(self.new_queue_files(), [m.group(1)])
        qf = self.inst.queue_entry(m.group(1))
        self.assertEqual(qf.recipients, ["someone@example.com"])
        self.assertIn(b"This is a test mailing", qf.message)
        return proc.stdout

    def test_swaks(self):
        out = self.swaks()
        self.assertIn("<-  221 2.0.0 Bye", out)

    def test_swaks_pipeline(self):
        out = self.swaks("--pipeline")
        # MAIL, RCPT and DATA went out together, then came three replies.
        self.assertRegex(out, r" -> MAIL FROM:<[^>]*>\n -> RCPT TO:<someone@example\.com>\n"
                              r" -> DATA\n<-  250 2\.1\.0 Ok\n<-  250 2\.1\.5 Ok\n<-  354 ")


if __name__ == "__main__":
    unittest.main()
