"""The archive over time: retention by archive_max_age and by
archive_max_size (each removal logged), an archiver killed with SIGKILL in
the middle of a stream of links (nothing lost, nothing twice), links that
wait while the archiver is stopped, and a damaged archive file reported by
show and reindex."""

import os
import re
import signal
import subprocess
import unittest

from alligate_test import CTL, AlligateTestCase, wait_for
from archive_util import (archive, archive_files, links, search_ids, send, stats,
                          wait_archived)


def msg(n, size=0):
    """Message n; size bytes of poorly compressible text when asked."""
    filler = b""
    if size:
        filler = os.urandom(size // 2).hex().encode() + b"\r\n"
    return b"Subject: message %d\r\nMessage-ID: <m%d@remote.test>\r\n\r\nbody %d\r\n%s" % (
        n, n, n, filler)


def archiver_pid(inst):
    pids = inst.pids("archiver")
    return pids[0] if len(pids) == 1 else None


class RetentionByAge(AlligateTestCase):
    conf = "archive = yes\narchive_max_age = 3s\n"

    def test_old_copies_go(self):
        ids = [send(self.inst, "a@remote.test", ["b@example.com"], msg(n)) for n in range(3)]
        self.assertTrue(wait_archived(self.inst, ids))
        self.assertEqual(sorted(search_ids(self.inst)), sorted(ids))
        # Each removal logged; the files and the index follow.
        for qid in ids:
            self.assertTrue(self.inst.wait_log(r"archiver\[\d+\]: archive: removed %s "
                                               r"\(archive_max_age\)$" % qid, timeout=15),
                            self.inst.log()[-2000:])
        self.assertTrue(wait_for(lambda: archive_files(self.inst) == {}, timeout=5))
        self.assertEqual(search_ids(self.inst), [])
        st = stats(self.inst)
        self.assertEqual(st["messages"], "0")
        self.assertEqual(st["removed_age"], "3")
        self.assertEqual(st["max_age"], "3s")
        # The day's directories went with the last copy.
        top = os.path.join(self.inst.dir, "data", "archive")
        self.assertEqual(sorted(os.listdir(top)), ["index", "tmp"])
        # The queue still has the messages: retention is the archive's.
        self.assertEqual(self.inst.queue_files(), sorted(ids))


class RetentionBySize(AlligateTestCase):
    conf = "archive = yes\narchive_max_size = 12k\n"

    def test_oldest_go_first(self):
        ids = []
        for n in range(8):
            ids.append(send(self.inst, "a@remote.test", ["b@example.com"], msg(n, 4000)))
            self.assertTrue(wait_archived(self.inst, ids[-1:]))
        # About 4k stored each: the newest few stay, the oldest went, in
        # order, each logged.
        def settled():
            st = stats(self.inst)
            return int(st["stored"]) <= 12 * 1024 and st
        st = wait_for(settled, timeout=10)
        self.assertTrue(st, stats(self.inst))
        kept = search_ids(self.inst)
        self.assertGreaterEqual(len(kept), 2)
        self.assertEqual(kept, ids[len(ids) - len(kept):])
        removed = re.findall(r"archive: removed ([0-9A-F]{19}) \(archive_max_size\)",
                             self.inst.log())
        self.assertEqual(removed, ids[:len(ids) - len(kept)])
        self.assertEqual(sorted(archive_files(self.inst)), sorted(kept))
        self.assertEqual(st["removed_size"], str(len(removed)))


class KilledArchiver(AlligateTestCase):
    conf = "archive = yes\nsmtpd_spare_processes = 4\n"

    def test_sigkill_mid_stream_loses_and_duplicates_nothing(self):
        first = archiver_pid(self.inst)
        self.assertTrue(first)
        # The archiver stopped: links pile up, status says so.
        os.kill(first, signal.SIGSTOP)
        ids = [send(self.inst, "s%d@remote.test" % n, ["r%d@example.com" % n], msg(n, 600))
               for n in range(150)]
        self.assertEqual(links(self.inst), sorted(ids))
        self.assertRegex(self.inst.ctl("status").stdout,
                         r"(?m)^archive +150 messages waiting to be archived$")
        # Let it go, and kill it once it has done some.
        mark = self.inst.log_mark()
        os.kill(first, signal.SIGCONT)
        self.assertTrue(self.inst.wait_log(r"archiver\[%d\]: [0-9A-F]{19}: archived" % first,
                                           mark=mark, timeout=10))
        os.kill(first, signal.SIGKILL)
        done_before = len(re.findall(r"archiver\[%d\]: [0-9A-F]{19}: archived" % first,
                                     self.inst.log_since(mark)))
        self.assertLess(done_before, 150, "the archiver finished before the kill")
        # master starts another, which takes the rest.
        second = wait_for(lambda: (archiver_pid(self.inst) or first) != first
                          and archiver_pid(self.inst), timeout=15)
        self.assertTrue(second)
        self.assertTrue(wait_archived(self.inst, ids, timeout=30), links(self.inst))
        # Every message exactly once: in the files, the index, the search.
        self.assertEqual(sorted(archive_files(self.inst)), sorted(ids))
        found = search_ids(self.inst)
        self.assertEqual(sorted(found), sorted(ids))
        self.assertEqual(len(found), len(set(found)))
        self.assertEqual(stats(self.inst)["messages"], "150")
        for n in (0, 75, 149):
            self.assertEqual(search_ids(self.inst, "--sender", "s%d@remote.test" % n), [ids[n]])
        # No file left half-written.
        self.assertEqual(os.listdir(os.path.join(self.inst.dir, "data", "archive", "tmp")), [])


class DamagedFile(AlligateTestCase):
    conf = "archive = yes\n"

    def test_show_and_reindex_report_damage(self):
        ids = [send(self.inst, "a@remote.test", ["b@example.com"], msg(n, 200))
               for n in range(3)]
        self.assertTrue(wait_archived(self.inst, ids))
        path = archive_files(self.inst)[ids[1]]
        with open(path, "r+b") as f:
            data = bytearray(f.read())
            data[-3] ^= 0xff
            f.seek(0)
            f.write(data)
        proc = archive(self.inst, "show", ids[1], rc=1)
        self.assertEqual(proc.stdout, "")
        self.assertRegex(proc.stderr, r"^alligatectl: %s: damaged archive file %s: message "
                                      r"frame: " % (ids[1], re.escape(path)))
        # The export says so, and still writes the others.
        out = os.path.join(self.inst.dir, "x.mbox")
        proc = archive(self.inst, "export", "--mbox", out, rc=1)
        self.assertIn("%s: damaged archive file" % ids[1], proc.stderr)
        self.assertIn("2 messages exported to %s (some could not be read)" % out, proc.stderr)
        with open(out, "rb") as f:
            self.assertEqual(len(re.findall(rb"(?m)^From a@remote.test ", f.read())), 2)
        proc = archive(self.inst, "reindex", rc=1)
        self.assertEqual(proc.stdout, "files: 3\nindexed: 2\ndamaged: 1\ndamaged: %s\n" % path)
        self.assertRegex(self.inst.log(), r"warning: archive: damaged file %s: " % re.escape(path))
        self.assertEqual(search_ids(self.inst), [ids[0], ids[2]])
        # One that is not an archive file at all.
        with open(path, "wb") as f:
            f.write(b"not an archive file")
        proc = archive(self.inst, "show", ids[1], rc=1)
        self.assertIn("bad magic", proc.stderr)
        # The archiver is alive and well.
        self.assertTrue(archiver_pid(self.inst))
        new = send(self.inst, "a@remote.test", ["b@example.com"], msg(9))
        self.assertTrue(wait_archived(self.inst, [new]))


class RelayDeletes(AlligateTestCase):
    """relay delivers and removes the queue file: the link keeps it."""

    conf = "archive = yes\ndefer_delivery = no\n"

    def test_delivered_before_archived(self):
        pid = archiver_pid(self.inst)
        os.kill(pid, signal.SIGSTOP)
        try:
            body = msg(1, 300)
            qid = send(self.inst, "a@remote.test", ["b@example.com"], body)
            new = os.path.join(self.inst.dir, "data", "maildir", "new")
            self.assertTrue(wait_for(lambda: os.path.isdir(new) and len(os.listdir(new)) == 1,
                                     timeout=15), self.inst.log()[-2000:])
            self.assertTrue(wait_for(lambda: self.inst.queue_files() == [], timeout=10))
            # The queue file is gone; its link is whole, and alone.
            self.assertEqual(links(self.inst), [qid])
            st = os.stat(os.path.join(self.inst.queue, "archive", qid))
            self.assertEqual(st.st_nlink, 1)
        finally:
            os.kill(pid, signal.SIGCONT)
        self.assertTrue(wait_archived(self.inst, [qid]))
        shown = subprocess.run([CTL, "-c", self.inst.dir, "archive", "show", qid],
                               capture_output=True, check=True).stdout
        self.assertTrue(shown.endswith(body), shown[-200:])
        self.assertEqual(search_ids(self.inst, "--sender", "a@remote.test"), [qid])


class TurnedOn(AlligateTestCase):
    """archive = yes by reload: the archiver starts, and takes what is
    accepted from then on."""

    def test_reload_turns_the_archive_on(self):
        before = send(self.inst, "a@remote.test", ["b@example.com"], msg(1))
        self.assertEqual(links(self.inst), [])
        self.inst.write_conf("archive = yes\n")
        self.inst.ctl("reload", check=True)
        self.assertTrue(wait_for(lambda: archiver_pid(self.inst), timeout=15))
        self.assertTrue(wait_for(lambda: self.inst.ctl("archive", "stats").returncode == 0,
                                 timeout=15))
        # smtpd workers of the new configuration link what they accept.
        after = wait_for(lambda: (lambda q: q if links(self.inst) or archive_files(self.inst)
                                  else None)(send(self.inst, "a@remote.test",
                                                  ["b@example.com"], msg(2))), timeout=15)
        self.assertTrue(after)
        self.assertTrue(wait_archived(self.inst, [after]))
        self.assertNotIn(before, archive_files(self.inst))
        self.assertEqual(search_ids(self.inst, "--message-id", "m2@remote.test")[-1:], [after])


if __name__ == "__main__":
    unittest.main()
