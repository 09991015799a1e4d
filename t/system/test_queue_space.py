"""A queue that cannot take a message, against the real service (issue
3: "If the write fails (disk full, queue_minfree not met) the client
gets 452 4.3.1 and nothing is half-written"): queue_minfree larger than
the free space, and a SIZE= larger than it, refused at MAIL with 452
4.3.1; a queue on a file system that really fills up (a small tmpfs,
mounted in a mount namespace of the instance's own, so that nothing is
left mounted whatever happens to the test) refuses with 452 4.3.1 when
the message does not fit, when no inode is left, and when the message
takes queue_minfree's reserve; other errors (tmp/ not a directory) get
451 4.3.0.  Each time nothing stays in tmp/ or incoming/, and the next
message is queued once there is room again."""

import errno
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from alligate_test import CTL, AlligateTestCase, Instance, RawClient

OK_MAIL = (250, ["2.1.0 Ok"])
OK_RCPT = (250, ["2.1.5 Ok"])
GO_AHEAD = (354, ["End data with <CR><LF>.<CR><LF>"])
NO_SPACE_AT_MAIL = (452, ["4.3.1 Insufficient system storage"])
NO_SPACE = (452, ["4.3.1 Error: insufficient system storage"])
WRITE_ERROR = (451, ["4.3.0 Error: queue file write error"])
NEED_MAIL = (503, ["5.5.1 Error: need MAIL command"])
QUEUED = re.compile(r"^2\.0\.0 Ok: queued as ([0-9A-F]{19})$")

# More than the file system holding the tests' directories has free.
BEYOND_FREE = (lambda st: st.f_bavail * st.f_frsize + (1 << 40))(
    os.statvfs(tempfile.gettempdir()))


class QueueTest:
    """What the classes share: a client, one message, the queue's state."""

    def client(self):
        c = RawClient("127.0.0.1", self.inst.port)
        self.addCleanup(c.close)
        self.assertEqual(c.reply()[0], 220)
        self.assertEqual(c.ehlo()[0], 250)
        return c

    def send_message(self, c, body=b"Subject: room\r\n\r\nThere is room.\r\n"):
        """A message that must be queued; its queue id."""
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.test>"), OK_MAIL)
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>"), OK_RCPT)
        self.assertEqual(c.cmd("DATA"), GO_AHEAD)
        c.send(body + b".\r\n")
        code, lines = c.reply()
        self.assertEqual(code, 250, lines)
        m = QUEUED.match(lines[0])
        self.assertTrue(m, lines)
        return m.group(1)

    def assertQueueEmpty(self):
        """Nothing half-written anywhere: no file in tmp/, incoming/,
        archive/."""
        for sub in ("tmp", "incoming", "archive"):
            self.assertEqual(self.inst.queue_files(sub), [], sub)

    def assertLogged(self, regex):
        m = self.inst.wait_log(regex, self.mark)
        self.assertTrue(m, "no %r in:\n%s" % (regex, self.inst.log_since(self.mark)[-3000:]))
        return m


class QueueMinfree(QueueTest, AlligateTestCase):
    """queue_minfree above the free space of the queue's file system:
    every MAIL gets 452 4.3.1 (before any data is sent, the cheapest
    place), logged with rule=queue_minfree; the session goes on."""

    conf = "queue_minfree = %d\n" % BEYOND_FREE

    def test_mail_refused_with_452(self):
        self.mark = 0
        c = self.client()
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.test>"), NO_SPACE_AT_MAIL)
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>"), NEED_MAIL)
        self.assertEqual(c.cmd("NOOP"), (250, ["2.0.0 Ok"]))
        self.assertEqual(c.cmd("MAIL FROM:<>"), NO_SPACE_AT_MAIL)
        self.assertEqual(c.cmd("QUIT"), (221, ["2.0.0 Bye"]))
        self.assertLogged(r"NOQUEUE: reject: MAIL from \S+\[127\.0\.0\.1\]: 452 4\.3\.1 "
                          r"Insufficient system storage; from=<sender@remote\.test> "
                          r"proto=ESMTP helo=<client\.test\.example> rule=queue_minfree$")
        self.assertQueueEmpty()


class SizeBeyondFree(QueueTest, AlligateTestCase):
    """queue_minfree = 0 (the default) and no message_size_limit: a SIZE=
    that the file system cannot hold gets 452 4.3.1 at MAIL, a SIZE= it
    can hold is taken."""

    conf = "message_size_limit = 0\n"

    def test_announced_size_refused_with_452(self):
        c = self.client()
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.test> SIZE=%d" % BEYOND_FREE),
                         NO_SPACE_AT_MAIL)
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.test> SIZE=1000"), OK_MAIL)
        self.assertEqual(c.cmd("RSET"), (250, ["2.0.0 Ok"]))
        self.assertQueueEmpty()


class TmpNotADirectory(QueueTest, AlligateTestCase):
    """A write error other than a full file system: tmp/ is a file, so
    the queue file cannot be made there (ENOTDIR): 451 4.3.0 at DATA."""

    def test_451_then_queued_once_repaired(self):
        self.mark = self.inst.log_mark()
        tmp = os.path.join(self.inst.queue, "tmp")
        os.rename(tmp, tmp + ".away")
        with open(tmp, "w") as f:
            f.write("not a directory\n")
        c = self.client()
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.test>"), OK_MAIL)
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>"), OK_RCPT)
        self.assertEqual(c.cmd("DATA"), WRITE_ERROR)
        self.assertLogged(r"warning: cannot create queue file: create \S+/tmp/[0-9A-F]{19}: "
                          r"Not a directory$")
        self.assertEqual(self.inst.queue_files("incoming"), [])
        # The transaction is over; the session goes on.
        self.assertEqual(c.cmd("DATA"), (503, ["5.5.1 Error: need MAIL command"]))
        os.unlink(tmp)
        os.rename(tmp + ".away", tmp)
        qid = self.send_message(c)
        self.assertEqual(self.inst.queue_files("incoming"), [qid])
        self.assertEqual(self.inst.queue_files("tmp"), [])


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("unshare"),
                     "needs root and unshare(1) to mount a small tmpfs")
class FullFileSystem(QueueTest, unittest.TestCase):
    """The queue on a tmpfs of TMPFS_OPTIONS, mounted in a mount
    namespace that only the instance's processes share; the test reaches
    it through /proc/MASTER/root."""

    conf = ""
    TMPFS_OPTIONS = "size=1m,nr_inodes=200,mode=0755"

    def setUp(self):
        self.inst = Instance(self.conf)
        self.addCleanup(self.inst.cleanup)
        os.mkdir(self.inst.queue)
        script = ('mount -t tmpfs -o "$1" alligate-test-queue "$2" '
                  '&& exec "$3" -c "$4" start')
        p = subprocess.run(["unshare", "--mount", "--propagation", "private",
                            "sh", "-c", script, "sh", self.TMPFS_OPTIONS,
                            self.inst.queue, CTL, self.inst.dir],
                           capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.inst.started = True
        # The queue as the instance sees it; the directory underneath
        # stays empty.
        self.inst.queue = "/proc/%d/root%s" % (self.inst.master_pid(), self.inst.queue)
        st = os.statvfs(self.inst.queue)
        self.assertLessEqual(st.f_blocks * st.f_frsize, 1 << 20)
        self.mark = self.inst.log_mark()

    def free(self):
        st = os.statvfs(self.inst.queue)
        return st.f_bavail * st.f_frsize

    def test_message_larger_than_free_space(self):
        c = self.client()
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.test>"), OK_MAIL)
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>"), OK_RCPT)
        self.assertEqual(c.cmd("DATA"), GO_AHEAD)
        line = b"x" * 998 + b"\r\n"
        c.send(b"Subject: too big\r\n\r\n" + line * (2 * 1024 * 1024 // len(line)) + b".\r\n")
        # Read to its end, then refused: the disk is full.
        self.assertEqual(c.reply(), NO_SPACE)
        self.assertLogged(r"warning: [0-9A-F]{19}: cannot commit queue file: write "
                          r"\S+/tmp/[0-9A-F]{19}: No space left on device$")
        self.assertQueueEmpty()
        # The space is back: the next message is queued, in the same
        # session.
        qid = self.send_message(c)
        self.assertEqual(self.inst.queue_files("incoming"), [qid])
        self.inst.queue_entry(qid)

    def test_no_inode_left(self):
        filler = os.path.join(self.inst.queue, "filler")
        os.mkdir(filler)
        count = 0
        with self.assertRaises(OSError) as cm:
            while True:
                os.close(os.open(os.path.join(filler, str(count)),
                                 os.O_CREAT | os.O_WRONLY, 0o600))
                count += 1
        self.assertEqual(cm.exception.errno, errno.ENOSPC)
        self.assertGreater(count, 0)
        c = self.client()
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.test>"), OK_MAIL)
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>"), OK_RCPT)
        self.assertEqual(c.cmd("DATA"), NO_SPACE)
        self.assertLogged(r"warning: cannot create queue file: create \S+/tmp/[0-9A-F]{19}: "
                          r"No space left on device$")
        self.assertQueueEmpty()
        shutil.rmtree(filler)
        qid = self.send_message(c)
        self.assertEqual(self.inst.queue_files("incoming"), [qid])


class FullerThanMinfree(FullFileSystem):
    """queue_minfree = 512k on the 1 MiB tmpfs: MAIL finds room; the
    message takes the reserve, and is refused at its end."""

    conf = "queue_minfree = 512k\n"

    def test_message_into_the_reserve(self):
        self.assertGreater(self.free(), 512 * 1024)
        c = self.client()
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.test>"), OK_MAIL)
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>"), OK_RCPT)
        self.assertEqual(c.cmd("DATA"), GO_AHEAD)
        line = b"x" * 998 + b"\r\n"
        c.send(b"Subject: reserve\r\n\r\n" + line * (700 * 1024 // len(line)) + b".\r\n")
        self.assertEqual(c.reply(), NO_SPACE)
        self.assertLogged(r"[0-9A-F]{19}: reject: DATA from \S+\[127\.0\.0\.1\]: "
                          r"452 4\.3\.1 Error: insufficient system storage; "
                          r"from=<sender@remote\.test> proto=ESMTP "
                          r"helo=<client\.test\.example> rule=queue_minfree$")
        self.assertQueueEmpty()
        qid = self.send_message(c)
        self.assertEqual(self.inst.queue_files("incoming"), [qid])

    # The inherited tests run with queue_minfree too: not the point here.
    test_message_larger_than_free_space = None
    test_no_inode_left = None
