"""alligatectl queue: list (and --json), show, flush, delete, hold and
release, and the queue's size in alligatectl status.  The instance keeps
its mail (defer_delivery = yes, the harness's default) until a flush
sends it to the backend."""

import json
import os
import re
import subprocess

from alligate_test import CTL, AlligateTestCase, wait_for
from smtp_backend import Backend

SENDER = "sender@remote.test"


class QueueTestCase(AlligateTestCase):
    def setUp(self):
        self.backend = Backend().start()
        self.addCleanup(self.backend.stop)
        self.conf = "relay_host = %s\nminimal_backoff_time = 1s\nqueue_run_delay = 1s\n" % (
            self.backend.relay_host)
        super().setUp()

    def send(self, data=b"Subject: queued\r\n\r\nhello\r\n", rcpts=("someone@example.com",)):
        s = self.inst.smtp()
        s.ehlo("client.test.example")
        s.mail(SENDER)
        for r in rcpts:
            s.rcpt(r)
        code, text = s.data(data)
        s.quit()
        self.assertEqual(code, 250)
        return text.decode().split()[-1]

    def ctl(self, *args, rc=0):
        proc = self.inst.ctl("queue", *args)
        self.assertEqual(proc.returncode, rc, proc.stdout + proc.stderr)
        return proc

    def listed(self):
        return json.loads(self.ctl("list", "--json").stdout)


class QueueList(QueueTestCase):
    def test_empty(self):
        self.assertEqual(self.ctl("list").stdout, "Mail queue is empty\n")
        self.assertEqual(self.listed(), [])

    def test_list_text_and_json(self):
        a = self.send(b"Subject: one\r\n\r\nfirst\r\n")
        b = self.send(b"Subject: two\r\n\r\nsecond\r\n", rcpts=("x@example.com", "y@example.net"))
        out = self.ctl("list").stdout
        self.assertRegex(out, r"^Queue ID +Size Arrival +Status +Sender / recipients\n")
        self.assertRegex(out, r"\n%s +\d+ \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} queued +"
                              r"<sender@remote\.test>\n    to: <someone@example\.com>\n" % a)
        self.assertIn("\n%s " % b, out)
        self.assertIn("    to: <x@example.com>\n    to: <y@example.net>\n", out)
        self.assertTrue(out.endswith("-- 2 messages, %d bytes\n" % sum(
            len(self.inst.queue_entry(q).message) for q in (a, b))))
        listed = self.listed()
        self.assertEqual([e["id"] for e in listed], sorted([a, b]))
        e = listed[[x["id"] for x in listed].index(b)]
        self.assertEqual(e["queue"], "incoming")
        self.assertEqual(e["status"], "queued")
        self.assertEqual(e["sender"], SENDER)
        self.assertEqual(e["size"], len(self.inst.queue_entry(b).message))
        self.assertEqual(e["recipients"], [{"address": "x@example.com", "status": "pending"},
                                           {"address": "y@example.net", "status": "pending"}])
        self.assertEqual(e["attempts"], 0)
        self.assertIsNone(e["last_error"])
        self.assertAlmostEqual(e["arrival"], int(self.inst.queue_entry(b).get("T")))

    def test_status_shows_the_queue_size(self):
        self.send()
        self.send()
        out = self.inst.ctl("status", check=True).stdout
        self.assertIn("queue        2 messages (2 incoming, 0 deferred, 0 on hold, 0 corrupt)\n",
                      out)
        self.assertRegex(out, r"\nrelay +relay +running")


class QueueShow(QueueTestCase):
    def test_show_envelope_and_message(self):
        data = b"Subject: show me\r\n\r\n.dot\r\nbody\r\n"
        qid = self.send(data, rcpts=("a@example.com", "b@example.com"))
        out = subprocess.run([CTL, "-c", self.inst.dir, "queue", "show", qid],
                             capture_output=True, check=True).stdout
        head, _, message = out.decode().partition("\n\n")
        self.assertIn("queue_id: %s\nqueue: incoming\nstatus: queued\n" % qid, head)
        self.assertRegex(head, r"\narrival: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}\n")
        self.assertIn("\nclient: unknown[127.0.0.1]\nhelo: client.test.example\n"
                      "protocol: ESMTP\nsender: <sender@remote.test>\n", head)
        self.assertIn("\nrecipient: <a@example.com> pending\nrecipient: <b@example.com> pending\n",
                      head)
        self.assertEqual(message.encode(), self.inst.queue_entry(qid).message)
        self.assertTrue(message.endswith(data.decode()))
        self.assertIn("\r\n", message)

    def test_bad_and_unknown_ids(self):
        proc = self.ctl("show", "../../etc/passwd", rc=1)
        self.assertIn('bad queue id "../../etc/passwd"', proc.stderr)
        proc = self.ctl("show", "0123456789ABCDEF012", rc=1)
        self.assertIn("0123456789ABCDEF012: no such message", proc.stderr)
        proc = self.ctl("delete", "0123456789abcdef012", rc=1)
        self.assertIn("bad queue id", proc.stderr)


class QueueDelete(QueueTestCase):
    def test_delete_one_then_all(self):
        a, b, c = self.send(), self.send(), self.send()
        self.assertEqual(self.ctl("delete", a).stdout, "alligatectl: deleted 1 message\n")
        self.assertEqual(self.inst.queue_files(), sorted([b, c]))
        self.assertEqual(self.ctl("delete", "all").stdout, "alligatectl: deleted 2 messages\n")
        self.assertEqual(self.inst.queue_files(), [])
        self.assertEqual(self.listed(), [])
        proc = self.ctl("delete", a, rc=1)
        self.assertIn("%s: no such message" % a, proc.stderr)


class QueueFlush(QueueTestCase):
    def test_flush_delivers_while_delivery_is_deferred(self):
        a = self.send(b"Subject: a\r\n\r\nhello\r\n")
        b = self.send(b"Subject: b\r\n\r\nhello\r\n")
        self.assertEqual(self.backend.messages, [])
        self.assertEqual(self.ctl("flush").stdout, "")
        self.assertEqual(len(self.backend.wait(2)), 2)
        self.assertTrue(wait_for(lambda: self.listed() == []))
        self.assertTrue(self.inst.wait_log(r"%s: removed" % a))
        self.assertTrue(self.inst.wait_log(r"%s: removed" % b))
        # New mail waits for the next flush again.
        c = self.send()
        self.assertFalse(wait_for(lambda: len(self.backend.messages) > 2, timeout=2))
        self.assertEqual(self.inst.queue_files(), [c])

    def test_flush_retries_deferred_mail_now(self):
        self.backend.stop()
        qid = self.send()
        self.ctl("flush")
        self.assertTrue(wait_for(lambda: self.inst.queue_files("deferred") == [qid]))
        e = self.listed()[0]
        self.assertEqual((e["id"], e["queue"], e["status"], e["attempts"]),
                         (qid, "deferred", "deferred", 1))
        self.assertIn("Connection refused", e["last_error"])
        self.assertGreater(e["next_try"], 0)
        out = self.ctl("list").stdout
        self.assertIn(" deferred  <sender@remote.test>\n    last error: connect to "
                      "127.0.0.1[127.0.0.1]:%d: Connection refused\n    attempts: 1, next try: "
                      % self.backend.port, out)
        self.backend.start()
        self.ctl("flush")
        self.assertEqual(len(self.backend.wait(1)), 1)
        self.assertTrue(wait_for(lambda: self.listed() == []))

    def test_turning_defer_delivery_off_delivers(self):
        self.send()
        self.send()
        self.inst.write_conf("defer_delivery = no\n")
        self.inst.ctl("reload", check=True)
        self.assertEqual(len(self.backend.wait(2)), 2)
        self.assertTrue(wait_for(lambda: self.listed() == []))

    def test_flush_without_relay_fails(self):
        self.send()
        self.inst.stop()
        proc = self.ctl("flush", rc=1)
        self.assertIn("cannot ask relay to flush the queue", proc.stderr)
        # The queue can still be read.
        self.assertEqual(len(self.listed()), 1)


class QueueHold(QueueTestCase):
    def test_hold_and_release(self):
        held = self.send(b"Subject: held\r\n\r\nhello\r\n")
        other = self.send(b"Subject: other\r\n\r\nhello\r\n")
        self.assertEqual(self.ctl("hold", held).stdout, "alligatectl: put on hold 1 message\n")
        self.assertEqual(self.inst.queue_files("hold"), [held])
        self.assertEqual(self.inst.queue_files(), [other])
        statuses = {e["id"]: (e["queue"], e["status"]) for e in self.listed()}
        self.assertEqual(statuses, {held: ("hold", "hold"), other: ("incoming", "queued")})
        # A flush leaves held mail alone.
        self.ctl("flush")
        self.assertEqual(len(self.backend.wait(1)), 1)
        self.assertTrue(wait_for(lambda: self.inst.queue_files() == []))
        self.assertEqual(self.inst.queue_files("hold"), [held])
        proc = self.ctl("release", other, rc=1)
        self.assertIn("no such message", proc.stderr)
        self.assertEqual(self.ctl("release", held).stdout, "alligatectl: released 1 message\n")
        self.assertEqual(self.inst.queue_files("hold"), [])
        self.assertEqual(self.inst.queue_files(), [held])
        self.ctl("flush")
        got = self.backend.wait(2)
        self.assertEqual(sorted(re.search(rb"Subject: (\w+)", m.data).group(1) for m in got),
                         [b"held", b"other"])
        self.assertTrue(wait_for(lambda: self.listed() == []))

    def test_hold_all_release_all(self):
        ids = sorted([self.send(), self.send()])
        self.assertEqual(self.ctl("hold", "all").stdout, "alligatectl: put on hold 2 messages\n")
        self.assertEqual(self.inst.queue_files("hold"), ids)
        self.assertEqual(self.ctl("release", "all").stdout, "alligatectl: released 2 messages\n")
        self.assertEqual(self.inst.queue_files(), ids)
        self.assertFalse(os.listdir(os.path.join(self.inst.queue, "hold")))
