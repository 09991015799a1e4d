"""alligatectl queue hold|delete during a delivery: they take the lock
relay holds on the queue file while it delivers, so they wait for the
attempt to end and then act on the file where relay left it.  A backend
that stalls after the message's final dot until the test lets it go
(smtp_backend.Backend.dot_gate) keeps a delivery in the middle.

Without the lock, a message put on hold while it was being delivered
was delivered and still sat in hold/, to be delivered again on release."""

import os
import re
import subprocess
import threading

from alligate_test import CTL, AlligateTestCase, wait_for
from smtp_backend import Backend

QUEUED = re.compile(r"^2\.0\.0 Ok: queued as ([0-9A-F]{19})$")


class QueueLock(AlligateTestCase):
    start = False

    def setUp(self):
        self.backend = Backend().start()
        self.gate = threading.Event()
        self.backend.dot_gate = self.gate
        # Whatever happens, no handler thread is left waiting.
        self.addCleanup(self.backend.stop)
        self.addCleanup(self.gate.set)
        super().setUp()
        self.inst.write_conf("defer_delivery = no\n"
                             "relay_host = %s\n"
                             "minimal_backoff_time = 1s\n"
                             "maximal_backoff_time = 2s\n"
                             "queue_run_delay = 1s\n" % self.backend.relay_host)
        self.inst.start()

    def send(self, subject):
        """One message through smtpd; its queue id."""
        c = self.inst.raw()
        self.assertEqual(c.cmd("EHLO client.test.example")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.test>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        code, text = c.cmd("Subject: %s\r\n\r\nstalled\r\n." % subject)
        self.assertEqual(code, 250, text)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        return QUEUED.match(text[0]).group(1)

    def queue_cmd(self, *args):
        """alligatectl queue ARGS, started in the background."""
        return subprocess.Popen([CTL, "-c", self.inst.dir, "queue"] + list(args),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    def waiting(self, proc, qid):
        """proc says it waits for the delivery of qid (and has not ended)."""
        line = proc.stderr.readline()
        self.assertEqual(line, "alligatectl: %s: being delivered; waiting for the "
                         "attempt to end\n" % qid)
        self.assertIsNone(proc.poll())

    def everywhere(self, qid):
        return [sub for sub in ("incoming", "deferred", "hold", "corrupt")
                if qid in self.inst.queue_files(sub)]

    def test_hold_during_a_delivery_that_succeeds(self):
        qid = self.send("delivered")
        self.assertTrue(self.backend.wait_stalled(1))
        hold = self.queue_cmd("hold", qid)
        self.waiting(hold, qid)
        # Still where relay has it, while relay has it.
        self.assertEqual(self.everywhere(qid), ["incoming"])
        self.gate.set()
        out, err = hold.communicate(timeout=30)
        self.assertEqual((hold.returncode, out, err),
                         (1, "alligatectl: put on hold 0 messages\n",
                          "alligatectl: %s: not put on hold: it is gone (delivered or "
                          "removed meanwhile)\n" % qid))
        self.assertTrue(self.inst.wait_log(r"%s: removed" % qid))
        self.assertEqual(self.everywhere(qid), [])
        # Delivered once, and nothing left to deliver again.
        self.inst.ctl("queue", "release", "all")
        self.inst.ctl("queue", "flush", check=True)
        self.assertEqual(len(self.backend.wait(1)), 1)
        self.assertFalse(wait_for(lambda: len(self.backend.messages) > 1, timeout=3))

    def test_hold_during_a_delivery_that_is_deferred(self):
        self.backend.dot_replies = ["451 4.3.0 Try again later"]
        qid = self.send("deferred")
        self.assertTrue(self.backend.wait_stalled(1))
        hold = self.queue_cmd("hold", qid)
        self.waiting(hold, qid)
        self.gate.set()
        out, err = hold.communicate(timeout=30)
        self.assertEqual((hold.returncode, out, err),
                         (0, "alligatectl: put on hold 1 message\n", ""))
        # relay had moved it to deferred/; the hold took it from there.
        self.assertTrue(self.inst.wait_log(r"%s: to=<someone@example\.com>, .*"
                                           r"status=deferred" % qid))
        self.assertEqual(self.everywhere(qid), ["hold"])
        # On hold, it is not tried again, however long one waits.
        self.inst.ctl("queue", "flush", check=True)
        self.assertFalse(wait_for(lambda: self.backend.stalled > 1, timeout=4))
        self.assertEqual(self.everywhere(qid), ["hold"])
        self.assertEqual(self.backend.messages, [])
        # Released, it is delivered, once.
        self.assertEqual(self.inst.ctl("queue", "release", qid, check=True).stdout,
                         "alligatectl: released 1 message\n")
        self.assertEqual(len(self.backend.wait(1)), 1)
        self.assertTrue(self.inst.wait_log(r"%s: removed" % qid))
        self.assertEqual(self.everywhere(qid), [])

    def test_delete_during_a_delivery_that_is_deferred(self):
        self.backend.dot_replies = ["451 4.3.0 Try again later"]
        qid = self.send("deleted")
        self.assertTrue(self.backend.wait_stalled(1))
        delete = self.queue_cmd("delete", qid)
        self.waiting(delete, qid)
        self.gate.set()
        out, err = delete.communicate(timeout=30)
        self.assertEqual((delete.returncode, out, err),
                         (0, "alligatectl: deleted 1 message\n", ""))
        self.assertEqual(self.everywhere(qid), [])
        self.assertFalse(os.path.exists(os.path.join(self.inst.queue, "status", qid)))
        self.inst.ctl("queue", "flush", check=True)
        self.assertFalse(wait_for(lambda: self.backend.stalled > 1, timeout=3))
        self.assertEqual(self.backend.messages, [])
