"""CHUNKING and BDAT (RFC 3030): the chunks are exact byte counts, queued
as sent (after the one Received: header smtpd adds) and never read as
commands; BDAT does not mix with DATA; message_size_limit counts every
chunk, and after a refusal the remaining chunks are read and thrown away
so that the session stays in step; bare CR or LF never reaches the
queue.  With smtpd_chunking = no, the bytes after a BDAT line still do
not run as commands.  Raw sockets only: smtplib knows no BDAT."""

import re
import unittest

from alligate_test import SharedInstanceTestCase

SENDER = "sender@remote.example"
RCPT = "someone@example.com"
QUEUED = re.compile(r"2\.0\.0 Ok: queued as ([0-9A-F]+)")
NOOP_OK = (250, ["2.0.0 Ok"])


def bdat_line(size, last=False):
    return b"BDAT %d%s\r\n" % (size, b" LAST" if last else b"")


def text(size):
    """A message of exactly size bytes (size >= 20): header, body lines
    of 70 'x', CR LF at the end."""
    head = b"Subject: bdat test\r\n\r\n"
    body = b""
    while len(head) + len(body) + 72 <= size:
        body += b"x" * 70 + b"\r\n"
    rest = size - len(head) - len(body)
    if rest >= 2:
        body += b"y" * (rest - 2) + b"\r\n"
    else:
        body = body[:-2] + b"z" * rest + b"\r\n"
    assert len(head + body) == size
    return head + body


class BdatTestCase(SharedInstanceTestCase):
    def session(self, mail=True):
        c = self.inst.raw()
        self.addCleanup(c.close)
        code, self.ehlo_lines = c.ehlo("client.test.example")
        self.assertEqual(code, 250)
        if mail:
            self.assertEqual(c.cmd("MAIL FROM:<%s>" % SENDER), (250, ["2.1.0 Ok"]))
            self.assertEqual(c.cmd("RCPT TO:<%s>" % RCPT), (250, ["2.1.5 Ok"]))
        return c

    def bdat(self, c, data, last=False):
        c.send(bdat_line(len(data), last) + data)
        return c.reply()

    def assertChunkOk(self, reply):
        self.assertEqual(reply[0], 250, reply)

    def assertQueued(self, reply, content):
        """reply says queued; the queue file holds the Received: header
        and then exactly content."""
        code, lines = reply
        self.assertEqual(code, 250, lines)
        m = QUEUED.fullmatch(lines[0])
        self.assertTrue(m, lines)
        qid = m.group(1)
        self.assertEqual(self.new_queue_files(), [qid])
        qf = self.inst.queue_entry(qid)
        self.assertEqual(qf.recipients, [RCPT])
        self.assertTrue(qf.message.endswith(content),
                        "queued %r" % qf.message[-200:])
        prefix = qf.message[:len(qf.message) - len(content)]
        self.assertRegex(prefix, rb"\AReceived: [^\r\n]*\r\n(?:\t[^\r\n]*\r\n)*\Z")
        return qf


class Bdat(BdatTestCase):
    def test_chunking_advertised_binarymime_not(self):
        c = self.inst.raw()
        self.addCleanup(c.close)
        code, lines = c.ehlo("client.test.example")
        self.assertEqual(code, 250)
        self.assertIn("CHUNKING", lines)
        self.assertFalse([k for k in lines if k.upper().startswith("BINARYMIME")], lines)

    def test_one_chunk(self):
        c = self.session()
        content = text(500)
        self.assertQueued(self.bdat(c, content, last=True), content)
        self.assertTrue(c.silent())
        self.assertEqual(c.cmd("QUIT")[0], 221)

    def test_chunk_then_last(self):
        c = self.session()
        self.assertChunkOk(self.bdat(c, b"Subject: "))
        self.assertChunkOk(self.bdat(c, b"x" * 10))
        self.assertQueued(self.bdat(c, b"\r\n\r\nbody\r\n", last=True),
                          b"Subject: " + b"x" * 10 + b"\r\n\r\nbody\r\n")

    def test_many_chunks_and_last_of_zero_bytes(self):
        # Chunk edges everywhere, between the CR and LF of a line end too.
        content = text(3000)
        c = self.session()
        pos, size = 0, 1
        while pos < len(content):
            self.assertChunkOk(self.bdat(c, content[pos:pos + size]))
            pos += size
            size = size % 97 + 1
        self.assertQueued(self.bdat(c, b"", last=True), content)

    def test_large_chunk(self):
        content = text(300000)
        c = self.session()
        # Else the bytes run as commands, slowly.
        self.assertIn("CHUNKING", self.ehlo_lines)
        self.assertQueued(self.bdat(c, content, last=True), content)

    def test_content_is_never_a_command(self):
        content = (b"Subject: not commands\r\n\r\nline\r\n.\r\n"
                   b"MAIL FROM:<x@evil.example>\r\nRCPT TO:<victim@example.com>\r\n"
                   b"DATA\r\n..two dots stay two\r\n.\r\nQUIT\r\n")
        c = self.session()
        self.assertChunkOk(self.bdat(c, content[:40]))
        self.assertQueued(self.bdat(c, content[40:], last=True), content)
        self.assertTrue(c.silent(), "more replies than chunks")
        self.assertEqual(c.cmd("NOOP"), NOOP_OK)

    def test_pipelined_chunks(self):
        c = self.session()
        c.send(bdat_line(5) + b"Subje" + bdat_line(7) + b"ct: x\r\n"
               + bdat_line(9, last=True) + b"\r\nhello\r\n")
        self.assertChunkOk(c.reply())
        self.assertChunkOk(c.reply())
        self.assertQueued(c.reply(), b"Subject: x\r\n\r\nhello\r\n")
        self.assertTrue(c.silent())

    def test_pipelined_transaction(self):
        c = self.session(mail=False)
        content = text(200)
        c.send(b"MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\n" % (SENDER.encode(), RCPT.encode())
               + bdat_line(len(content), last=True) + content + b"QUIT\r\n")
        self.assertEqual(c.reply(), (250, ["2.1.0 Ok"]))
        self.assertEqual(c.reply(), (250, ["2.1.5 Ok"]))
        self.assertQueued(c.reply(), content)
        self.assertEqual(c.reply()[0], 221)

    def test_data_after_bdat_503(self):
        c = self.session()
        self.assertChunkOk(self.bdat(c, b"Subject: mixed\r\n"))
        self.assertEqual(c.cmd("DATA")[0], 503)
        self.assertEqual(c.cmd("RSET")[0], 250)
        self.assertEqual(self.new_queue_files(), [])
        # A new transaction is not affected.
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % SENDER)[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<%s>" % RCPT)[0], 250)
        self.assertQueued(self.bdat(c, b"Subject: y\r\n\r\nz\r\n", last=True),
                          b"Subject: y\r\n\r\nz\r\n")

    def test_data_then_bdat_in_the_next_transaction(self):
        c = self.session()
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(b"Subject: data\r\n\r\nfirst\r\n.\r\n")
        self.assertEqual(c.reply()[0], 250)
        self.queued_before = set(self.inst.queue_files())
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % SENDER)[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<%s>" % RCPT)[0], 250)
        self.assertQueued(self.bdat(c, b"Subject: bdat\r\n\r\nsecond\r\n", last=True),
                          b"Subject: bdat\r\n\r\nsecond\r\n")

    def test_bdat_without_mail_503_bytes_discarded(self):
        payload = b"RSET\r\nQUIT\r\nNOOP\r\nxx"
        c = self.session(mail=False)
        c.send(bdat_line(len(payload)) + payload + b"NOOP\r\n")
        self.assertEqual(c.reply()[0], 503)
        self.assertEqual(c.reply(), NOOP_OK)
        self.assertTrue(c.silent())
        # Before EHLO, too.
        c = self.inst.raw()
        self.addCleanup(c.close)
        c.send(bdat_line(6, last=True) + b"QUIT\r\nNOOP\r\n")
        self.assertEqual(c.reply()[0], 503)
        self.assertEqual(c.reply(), NOOP_OK)
        self.assertTrue(c.silent())
        self.assertEqual(self.new_queue_files(), [])

    def test_bad_bdat_501(self):
        c = self.session()
        self.assertEqual(c.cmd("BDAT abc")[0], 501)
        self.assertTrue(c.silent())
        self.assertEqual(c.cmd("NOOP"), NOOP_OK)
        self.assertQueued(self.bdat(c, b"Subject: y\r\n\r\nz\r\n", last=True),
                          b"Subject: y\r\n\r\nz\r\n")

    def bare(self, content):
        """Sends content (with a bare CR or LF) as one chunk and then
        LAST; either 521 and the end of the connection, or accepted with
        the line ends made CR LF.  Nothing queued has a bare CR or LF."""
        c = self.session()
        c.send(bdat_line(len(content)) + content + bdat_line(0, last=True))
        replies, closed = c.replies_until_close(timeout=2)
        self.assertTrue(replies, "no reply")
        codes = [code for code, _ in replies]
        self.assertIn(codes, ([521], [250, 521], [250, 250]), replies)
        if codes[-1] == 521:
            self.assertTrue(closed)
            self.assertEqual(self.new_queue_files(), [])
        else:
            self.assertRegex(replies[1][1][0], QUEUED)
        for qid in self.new_queue_files():
            message = self.inst.queue_entry(qid).message
            self.assertNotRegex(message, rb"[^\r]\n|\r[^\n]|\r\Z", message)

    def test_bare_lf(self):
        self.bare(b"Subject: bare\r\n\r\nbare\nlf\r\n.\nMAIL FROM:<x@evil.example>\n")

    def test_bare_cr(self):
        self.bare(b"Subject: bare\r\n\r\nbare\rcr\r\n.\rMAIL FROM:<x@evil.example>\r\n")


class BdatSizeLimit(BdatTestCase):
    conf = "message_size_limit = 1000\n"

    def assertDiscarded(self, reply):
        self.assertGreaterEqual(reply[0], 500, reply)
        self.assertLess(reply[0], 600, reply)

    def test_over_the_limit_then_last(self):
        c = self.session()
        # Chunks that would run as commands if they were not read.
        noops = b"NOOP\r\n" * 100
        self.assertChunkOk(self.bdat(c, noops))
        self.assertEqual(self.bdat(c, noops)[0], 552)
        self.assertDiscarded(self.bdat(c, noops[:100]))
        self.assertDiscarded(self.bdat(c, noops[:50], last=True))
        self.assertTrue(c.silent(), "chunk bytes ran as commands")
        self.assertEqual(self.new_queue_files(), [])
        # In step: a new transaction, RSET, a message that fits.
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % SENDER), (250, ["2.1.0 Ok"]))
        self.assertEqual(c.cmd("RSET")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % SENDER), (250, ["2.1.0 Ok"]))
        self.assertEqual(c.cmd("RCPT TO:<%s>" % RCPT), (250, ["2.1.5 Ok"]))
        content = text(300)
        self.assertQueued(self.bdat(c, content, last=True), content)

    def test_over_the_limit_then_rset(self):
        c = self.session()
        self.assertEqual(self.bdat(c, b"NOOP\r\n" * 200)[0], 552)
        self.assertEqual(c.cmd("RSET")[0], 250)
        self.assertTrue(c.silent())
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % SENDER), (250, ["2.1.0 Ok"]))
        self.assertEqual(c.cmd("RCPT TO:<%s>" % RCPT), (250, ["2.1.5 Ok"]))
        content = text(300)
        self.assertQueued(self.bdat(c, content, last=True), content)

    def test_one_last_chunk_over_the_limit(self):
        c = self.session()
        self.assertEqual(self.bdat(c, b"NOOP\r\n" * 250, last=True)[0], 552)
        self.assertTrue(c.silent())
        self.assertEqual(c.cmd("NOOP"), NOOP_OK)
        self.assertEqual(self.new_queue_files(), [])


class ChunkingOff(BdatTestCase):
    conf = "smtpd_chunking = no\n"

    def test_not_advertised(self):
        c = self.inst.raw()
        self.addCleanup(c.close)
        code, lines = c.ehlo("client.test.example")
        self.assertEqual(code, 250)
        self.assertNotIn("CHUNKING", lines)

    def test_bytes_after_bdat_never_run(self):
        payload = b"RSET\r\nMAIL FROM:<a@b.example>\r\n"
        for last in (False, True):
            with self.subTest(last=last):
                c = self.session()
                c.send(bdat_line(len(payload), last) + payload)
                code, lines = c.reply()
                self.assertGreaterEqual(code, 500, lines)
                self.assertLess(code, 600, lines)
                # Nothing more; then the session goes on, or it is over.
                replies, closed = c.replies_until_close(timeout=0.5)
                self.assertEqual(replies, [])
                if not closed:
                    self.assertEqual(c.cmd("NOOP"), NOOP_OK)
        self.assertEqual(self.new_queue_files(), [])


if __name__ == "__main__":
    unittest.main()
