"""Nothing accepted is lost: every 250 after DATA has a complete queue file
behind it, even when every process is killed with SIGKILL right after the
250; and a load of smtp-source sessions is queued in full."""

import os
import re
import shutil
import subprocess
import time
import unittest

from alligate_test import (AlligateTestCase, RawClient, instance_pids,
                           kill_instance)

QUEUED = re.compile(r"^2\.0\.0 Ok: queued as ([0-9A-F]{19})$")


class KillNine(AlligateTestCase):
    conf = "smtpd_spare_processes = 4"

    def body(self, n):
        """Message n: a dot-stuffed line, and some size for the later ones."""
        text = ("Subject: message %d\r\n\r\n.leading dot\r\n" % n
                + "line of message %d\r\n" % n * (n * 400))
        wire = text.replace("\r\n.", "\r\n..")
        return text.encode(), wire

    def test_every_250_survives_sigkill_of_everything(self):
        sent = {}                       # qid -> message bytes
        clients = []
        for s in range(4):
            c = self.inst.raw()
            self.assertEqual(c.cmd("EHLO client.test.example")[0], 250)
            clients.append(c)
            for m in range(3):
                n = s * 3 + m
                text, wire = self.body(n)
                self.assertEqual(c.cmd("MAIL FROM:<s%d@remote.test>" % n)[0], 250)
                self.assertEqual(c.cmd("RCPT TO:<r%d@example.com>" % n)[0], 250)
                self.assertEqual(c.cmd("DATA")[0], 354)
                code, lines = c.cmd(wire + ".")
                self.assertEqual(code, 250, lines)
                sent[QUEUED.match(lines[0]).group(1)] = (n, text)
        # One more client is in the middle of DATA: it got no 250.
        unfinished = self.inst.raw()
        unfinished.cmd("EHLO client.test.example")
        unfinished.cmd("MAIL FROM:<late@remote.test>")
        unfinished.cmd("RCPT TO:<late@example.com>")
        self.assertEqual(unfinished.cmd("DATA")[0], 354)
        unfinished.send("Subject: never finished\r\n\r\nhalf")
        # Right after the last 250, before any QUIT: kill -9 everything.
        killed = kill_instance(self.inst)
        self.assertGreaterEqual(len(killed), 6)
        self.assertEqual(instance_pids(self.inst), [])

        self.assertEqual(self.inst.queue_files(), sorted(sent))
        for qid, (n, text) in sent.items():
            qf = self.inst.queue_entry(qid)
            records, message = qf.records, qf.message
            # As sent, after the trace header smtpd may prepend.
            self.assertTrue(message.endswith(text), message[:200])
            self.assertRegex(message[:len(message) - len(text)],
                             rb"^(Received: [^\r]*\r\n([ \t][^\r]*\r\n)*)?$")
            self.assertIn(("S", "s%d@remote.test" % n), records)
            self.assertEqual([v for k, v in records if k == "R"], ["r%d@example.com" % n])
            self.assertIn(("C", "127.0.0.1"), records)

        # A start after the crash finds its stale pid file and socket
        # harmless, keeps the queue, and takes mail again.
        self.inst.start()
        c = self.inst.raw()
        c.cmd("EHLO client.test.example")
        c.cmd("MAIL FROM:<after@remote.test>")
        c.cmd("RCPT TO:<after@example.com>")
        c.cmd("DATA")
        code, lines = c.cmd("Subject: after\r\n\r\nafter the crash\r\n.")
        self.assertEqual(code, 250)
        qid = QUEUED.match(lines[0]).group(1)
        self.assertEqual(self.inst.queue_files(), sorted(list(sent) + [qid]))
        self.inst.queue_entry(qid)


@unittest.skipUnless(shutil.which("smtp-source") or os.path.exists("/usr/sbin/smtp-source"),
                     "smtp-source not installed")
class Load(AlligateTestCase):
    def test_smtp_source_200_messages(self):
        source = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
        t0 = time.time()
        r = subprocess.run([source, "-s", "10", "-m", "200", "-f", "a@remote.test",
                            "-t", "b@example.com", "127.0.0.1:%d" % self.inst.port],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        files = self.inst.queue_files()
        self.assertEqual(len(files), 200, "%.1fs" % (time.time() - t0))
        for qid in files:
            records = self.inst.queue_entry(qid).records
            self.assertIn(("S", "a@remote.test"), records)
            self.assertIn(("R", "b@example.com"), records)
        self.assertEqual(self.inst.log().count(": from=<a@remote.test>, size="), 200)
        self.assertEqual(re.findall(r"^.*alligate/(?:master|smtpd)\[\d+\]: "
                                    r"(?:error|fatal|panic): .*$", self.inst.log(), re.M), [])
