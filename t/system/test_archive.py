"""The archive (archive = yes): a copy of every accepted message and none
of a refused one, found by every filter of alligatectl archive search and
their combinations, shown as received, exported in mboxrd that Python's
mailbox module reads back byte for byte, read by zstdcat, untouched by a
Subject or Message-ID that looks like a path, and an index that reindex
rebuilds the same.  With archive = no: nothing at all."""

import mailbox
import os
import re
import subprocess
import time
import unittest

from alligate_test import CTL, AlligateTestCase, SharedInstanceTestCase
from archive_util import (archive, archive_dir, archive_files, links, search_ids,
                          search_json, send, stats, wait_archived)


def message(subject, body, msgid=None, extra=b""):
    head = b"Subject: " + subject + b"\r\n"
    if msgid is not None:
        head += b"Message-ID: " + msgid + b"\r\n"
    return head + b"From: someone@remote.test\r\n" + extra + b"\r\n" + body


def after_received(data):
    """The message as the client sent it: what follows smtpd's Received:
    header (its first field, with its continuation lines)."""
    m = re.match(rb"Received: [^\r\n]*(\r?\n[ \t][^\r\n]*)*\r?\n", data)
    assert m, data[:200]
    return data[m.end():]


class ArchiveOff(AlligateTestCase):
    """archive = no (the default): no link, no archiver, no copy."""

    def test_nothing_is_archived(self):
        qid = send(self.inst, "a@remote.test", ["b@example.com"], message(b"off", b"x\r\n"))
        self.assertRegex(qid, r"^[0-9A-F]{19}$")
        self.assertEqual(self.inst.queue_files(), [qid])
        self.assertEqual(links(self.inst), [])
        self.assertFalse(os.path.exists(archive_dir(self.inst)))
        self.assertEqual(self.inst.pids("archiver"), [])
        status = self.inst.ctl("status").stdout
        self.assertNotIn("archive ", status)
        proc = archive(self.inst, "search", "--sender", "a@remote.test", rc=1)
        self.assertIn("cannot talk to the archiver", proc.stderr)
        self.assertIn("archive = yes", proc.stderr)


class ArchiveSearch(SharedInstanceTestCase):
    """One instance with a set of messages from several clients."""

    conf = "archive = yes\nmessage_size_limit = 20000\n"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        inst = cls.inst
        cls.sent = {}                   # qid -> (sender, rcpts, source, bytes)

        def put(name, sender, rcpts, msg, source="127.0.0.1"):
            qid = send(inst, sender, rcpts, msg, source=source)
            assert isinstance(qid, str), qid
            cls.sent[qid] = (sender, rcpts, source, msg)
            setattr(cls, name, qid)

        put("q_report", "Alice@Remote.test", ["bob@example.com", "carol@example.com"],
            message(b"Quarterly report", b"From the desk of Alice\r\n>From quoted\r\nthanks\r\n",
                    b"<report-1@remote.test>"))
        put("q_cafe", "alice@remote.test", ["dave@example.net"],
            message(b"=?UTF-8?Q?Caf=C3=A9?= =?utf-8?b?IHLDqXVuaW9u?=", b"caf\xc3\xa9\r\n",
                    b"<cafe-2@remote.test>", b"Content-Type: text/plain; charset=utf-8\r\n"),
            source="127.0.0.2")
        put("q_bounce", "", ["bob@example.com"],
            message(b"Undelivered Mail Returned to Sender", b"bounce\r\n"), source="127.0.0.3")
        put("q_eve", "eve@other.test", ["BOB@Example.com"],
            message(b"Re: quarterly report", b"From eve\r\n", b"<eve-4@other.test>"),
            source="127.0.0.2")
        put("q_path", "mallory@other.test", ["carol@example.com"],
            message(b"../../../../../../tmp/evil =?utf-8?q?=2E=2E=2F=00=0A?=",
                    b"path\r\n", b"<../../../x\x01y/../@evil>"))
        # Refused (too big): no copy.
        refused = send(inst, "big@remote.test", ["bob@example.com"],
                       message(b"too big", b"x" * 30000 + b"\r\n"))
        assert refused[0] == 552, refused
        assert wait_archived(inst, list(cls.sent)), (links(inst), archive_files(inst))

    def test_one_copy_per_accepted_message(self):
        files = archive_files(self.inst)
        self.assertEqual(sorted(files), sorted(self.sent))
        self.assertEqual(links(self.inst), [])
        st = stats(self.inst)
        self.assertEqual(int(st["messages"]), len(self.sent))
        self.assertEqual(search_ids(self.inst, "--subject", "big"), [])
        self.assertEqual(search_ids(self.inst, "--sender", "big@remote.test"), [])
        # The log line of each, with its sizes.
        for qid in self.sent:
            self.assertRegex(self.inst.log(),
                             r"archiver\[\d+\]: %s: archived, size=\d+, stored=\d+ "
                             r"\(ratio \d+\.\d\d\)" % qid)
        # Named from the queue id and its date only.
        for qid, path in files.items():
            day = time.strftime("%Y/%m/%d", time.gmtime(int(qid[:8], 16)))
            self.assertEqual(path, os.path.join(archive_dir(self.inst), day, qid + ".eml.zst"))
        status = self.inst.ctl("status", check=True).stdout
        self.assertIn("archiver", status)
        self.assertRegex(status, r"(?m)^archive +0 messages waiting to be archived$")

    def test_each_filter(self):
        i = self.inst
        both = sorted([self.q_report, self.q_cafe])
        self.assertEqual(search_ids(i, "--sender", "alice@remote.test"), both)
        self.assertEqual(search_ids(i, "--sender", "ALICE@REMOTE.TEST"), both)
        self.assertEqual(search_ids(i, "--sender", "@remote.test"), both)
        self.assertEqual(search_ids(i, "--sender", "<>"), [self.q_bounce])
        self.assertEqual(search_ids(i, "--sender", "nobody@remote.test"), [])
        self.assertEqual(search_ids(i, "--rcpt", "bob@example.com"),
                         sorted([self.q_report, self.q_bounce, self.q_eve]))
        self.assertEqual(search_ids(i, "--rcpt", "Carol@Example.com"),
                         sorted([self.q_report, self.q_path]))
        self.assertEqual(search_ids(i, "--rcpt", "@example.net"), [self.q_cafe])
        self.assertEqual(search_ids(i, "--client", "127.0.0.2"),
                         sorted([self.q_cafe, self.q_eve]))
        self.assertEqual(search_ids(i, "--client", "127.0.0.3"), [self.q_bounce])
        self.assertEqual(search_ids(i, "--subject", "quarterly"),
                         sorted([self.q_report, self.q_eve]))
        self.assertEqual(search_ids(i, "--subject", "caf\u00e9"), [self.q_cafe])
        self.assertEqual(search_ids(i, "--subject", "R\u00c9UNION"), [self.q_cafe])
        self.assertEqual(search_ids(i, "--message-id", "<eve-4@other.test>"), [self.q_eve])
        self.assertEqual(search_ids(i, "--message-id", "report-1@remote.test"),
                         [self.q_report])
        self.assertEqual(search_ids(i, "--since", "1h"), sorted(self.sent))
        self.assertEqual(search_ids(i, "--until", "1h"), [])
        today = time.strftime("%Y-%m-%d", time.gmtime())
        self.assertEqual(search_ids(i, "--since", today, "--until", today), sorted(self.sent))
        self.assertEqual(search_ids(i, "--until", "2000-01-01"), [])
        self.assertEqual(search_ids(i, "--limit", "2"), sorted(self.sent)[:2])
        proc = archive(i, "search", "--subject", "!!!", rc=1)
        self.assertIn("has no words", proc.stderr)
        proc = archive(i, "search", "--since", "yesterday", rc=2)
        self.assertIn("not a date", proc.stderr)

    def test_combinations(self):
        i = self.inst
        self.assertEqual(search_ids(i, "--sender", "alice@remote.test", "--rcpt",
                                    "bob@example.com"), [self.q_report])
        self.assertEqual(search_ids(i, "--rcpt", "bob@example.com", "--client", "127.0.0.2"),
                         [self.q_eve])
        self.assertEqual(search_ids(i, "--subject", "report", "--client", "127.0.0.1",
                                    "--since", "1h"), [self.q_report])
        self.assertEqual(search_ids(i, "--sender", "@remote.test", "--subject", "caf\u00e9",
                                    "--rcpt", "dave@example.net"), [self.q_cafe])
        self.assertEqual(search_ids(i, "--sender", "eve@other.test", "--rcpt",
                                    "carol@example.com"), [])
        self.assertEqual(search_ids(i, "--message-id", "eve-4@other.test", "--until", "1h"), [])

    def test_line_and_json(self):
        out = archive(self.inst, "search", "--message-id", "cafe-2@remote.test").stdout
        self.assertRegex(out, r"^%s \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ <alice@remote.test> "
                              r"<dave@example.net> \d+ Caf\u00e9 r\u00e9union\n$" % self.q_cafe)
        (rec,) = search_json(self.inst, "--sender", "<>")
        self.assertEqual(rec["id"], self.q_bounce)
        self.assertEqual(rec["sender"], "")
        self.assertEqual(rec["recipients"], ["bob@example.com"])
        self.assertEqual(rec["client_address"], "127.0.0.3")
        self.assertEqual(rec["helo"], "client.test.example")
        self.assertEqual(rec["protocol"], "ESMTP")
        self.assertIs(rec["tls"], False)
        self.assertIsNone(rec["sasl_user"])
        self.assertIsNone(rec["message_id"])
        self.assertEqual(rec["subject"], "Undelivered Mail Returned to Sender")
        qf = self.inst.queue_entry(self.q_bounce)
        self.assertEqual(rec["size"], len(qf.message))
        self.assertEqual(rec["arrival_unix"], int(qf.get("T")))
        self.assertGreater(rec["stored"], 0)

    def test_show_and_zstdcat(self):
        for qid in self.sent:
            qf = self.inst.queue_entry(qid)
            shown = subprocess.run([CTL, "-c", self.inst.dir, "archive", "show", qid],
                                   capture_output=True, check=True).stdout
            # As received: the queue file's message, byte for byte.
            self.assertEqual(shown, qf.message)
            self.assertEqual(after_received(shown), self.sent[qid][3])
            path = archive_files(self.inst)[qid]
            self.assertEqual(subprocess.run(["zstdcat", path], capture_output=True,
                                            check=True).stdout, shown)
        shown = subprocess.run([CTL, "-c", self.inst.dir, "archive", "show", self.q_cafe,
                                "--envelope"], capture_output=True, check=True).stdout.decode()
        head = shown.split("\r\n\r\n", 1)[0]
        self.assertTrue(head.startswith("X-Alligate-Queue-ID: %s\r\n" % self.q_cafe))
        self.assertIn("X-Alligate-Client: unknown[127.0.0.2]\r\n", head)
        self.assertIn("X-Alligate-Helo: client.test.example\r\n", head)
        self.assertIn("X-Alligate-TLS: no\r\n", head)
        self.assertIn("X-Alligate-Sender: <alice@remote.test>\r\n", head)
        self.assertIn("X-Alligate-Recipient: <dave@example.net>\r\n", head)
        # Then the message as received.
        self.assertTrue(shown.encode().endswith(self.inst.queue_entry(self.q_cafe).message))
        self.assertIn("\r\nReceived: from client.test.example", shown)
        proc = archive(self.inst, "show", "00000000000000000AB", rc=1)
        self.assertEqual(proc.stderr, "alligatectl: 00000000000000000AB: not in the archive\n")
        proc = archive(self.inst, "show", "../../etc/passwd", rc=1)
        self.assertIn("not a queue id", proc.stderr)

    def test_export_mbox_reads_back(self):
        path = os.path.join(self.inst.dir, "export.mbox")
        proc = archive(self.inst, "export", "--rcpt", "@example.com", "--mbox", path)
        want = sorted([self.q_report, self.q_bounce, self.q_eve, self.q_path])
        self.assertIn("4 messages exported to %s" % path, proc.stderr)
        box = mailbox.mbox(path, create=False)
        got = [box.get_bytes(key, from_=True) for key in box.keys()]
        self.assertEqual(len(got), 4)
        for qid, entry in zip(want, got):
            from_line, data = entry.split(b"\n", 1)
            sender = self.sent[qid][0] or "MAILER-DAEMON"
            self.assertRegex(from_line.decode(), r"^From %s \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d "
                                                 r"\d{4}$" % re.escape(sender))
            # mboxrd: one '>' comes off each ^>+From line.
            data = re.sub(rb"(?m)^>(>*From )", rb"\1", data)
            sent = self.sent[qid][3].replace(b"\r\n", b"\n")
            self.assertIn(qid.encode(), data.split(b"\n\n", 1)[0])
            self.assertEqual(after_received(data), sent)
        box.close()
        # The report's body lines were quoted in the file itself.
        with open(path, "rb") as f:
            raw = f.read()
        self.assertIn(b"\n>From the desk of Alice\n>>From quoted\n", raw)
        # To standard output, and nothing matched.
        proc = archive(self.inst, "export", "--sender", "eve@other.test")
        self.assertTrue(proc.stdout.startswith("From eve@other.test "))
        proc = archive(self.inst, "export", "--sender", "nobody@x.test")
        self.assertEqual(proc.stdout, "")

    def test_export_keeps_an_existing_file(self):
        path = os.path.join(self.inst.dir, "kept.mbox")
        with open(path, "wb") as f:
            f.write(b"precious\n")
        os.chmod(path, 0o644)
        proc = archive(self.inst, "export", "--sender", "eve@other.test", "--mbox", path, rc=1)
        self.assertEqual(proc.stderr, "alligatectl: %s exists; --force replaces it\n" % path)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), b"precious\n")
        self.assertEqual([n for n in os.listdir(self.inst.dir) if ".tmp-" in n], [])
        # --force replaces it whole, mode 0600, and leaves no temporary file.
        proc = archive(self.inst, "export", "--sender", "eve@other.test", "--mbox", path,
                       "--force")
        self.assertIn("1 message exported to %s" % path, proc.stderr)
        with open(path, "rb") as f:
            data = f.read()
        self.assertTrue(data.startswith(b"From eve@other.test "), data[:100])
        self.assertNotIn(b"precious", data)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        self.assertEqual([n for n in os.listdir(self.inst.dir) if ".tmp-" in n], [])
        # --force without --mbox is a usage error.
        archive(self.inst, "export", "--force", rc=2)

    def test_export_error_leaves_no_file(self):
        path = os.path.join(self.inst.dir, "down.mbox")
        # The archiver's socket is gone: the search fails, nothing is left.
        sock = os.path.join(self.inst.dir, "run", "archiver.sock")
        hidden = sock + ".hidden"
        os.rename(sock, hidden)
        try:
            proc = archive(self.inst, "export", "--mbox", path, rc=1)
        finally:
            os.rename(hidden, sock)
        self.assertIn("cannot talk to the archiver", proc.stderr)
        self.assertFalse(os.path.exists(path))
        self.assertEqual([n for n in os.listdir(self.inst.dir) if n.startswith("down.mbox")],
                         [])
        # And over an existing file with --force: the file is as it was.
        with open(path, "wb") as f:
            f.write(b"old\n")
        os.rename(sock, hidden)
        try:
            archive(self.inst, "export", "--mbox", path, "--force", rc=1)
        finally:
            os.rename(hidden, sock)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), b"old\n")
        self.assertEqual([n for n in os.listdir(self.inst.dir) if ".tmp-" in n], [])

    def test_path_traversal_changes_no_path(self):
        files = archive_files(self.inst)
        self.assertEqual(os.path.dirname(files[self.q_path]),
                         os.path.dirname(files[self.q_report]))
        for root, dirs, names in os.walk(archive_dir(self.inst)):
            for name in names + dirs:
                self.assertNotIn("evil", name)
        self.assertFalse(os.path.exists("/tmp/evil"))
        (rec,) = search_json(self.inst, "--subject", "evil")
        self.assertEqual(rec["id"], self.q_path)
        # Decoded, with the NUL and the line break made spaces.
        self.assertEqual(rec["subject"], "../../../../../../tmp/evil ../  ")
        self.assertEqual(rec["message_id"], "../../../x?y/../@evil")
        self.assertEqual(search_ids(self.inst, "--message-id", "../../../x?y/../@evil"),
                         [self.q_path])

    def test_reindex_equals_old_index(self):
        before = archive(self.inst, "search", "--json").stdout
        st_before = stats(self.inst)
        proc = archive(self.inst, "reindex")
        self.assertEqual(proc.stdout, "files: %d\nindexed: %d\ndamaged: 0\n" % (
            len(self.sent), len(self.sent)))
        self.assertRegex(self.inst.log(), r"archive: reindex done: %d files, %d indexed, "
                                          r"0 damaged" % (len(self.sent), len(self.sent)))
        self.assertEqual(archive(self.inst, "search", "--json").stdout, before)
        st_after = stats(self.inst)
        for key in ("messages", "size", "stored", "oldest", "newest"):
            self.assertEqual(st_after[key], st_before[key], key)
        self.assertEqual(st_after["reindexing"], "no")


    def test_failed_reindex_keeps_the_old_index(self):
        before = archive(self.inst, "search", "--json").stdout
        path = archive_files(self.inst)[self.q_eve]
        os.chmod(path, 0)
        try:
            proc = archive(self.inst, "reindex", rc=1)
        finally:
            os.chmod(path, 0o600)
        self.assertIn("damaged: 1\ndamaged: %s\n" % path, proc.stdout)
        self.assertRegex(self.inst.log(), r"archive: reindex failed: open %s: Permission denied; "
                                          r"the old index is kept" % re.escape(path))
        # The old index, whole, and no database of the rebuild left.
        self.assertEqual(archive(self.inst, "search", "--json").stdout, before)
        self.assertEqual(search_ids(self.inst, "--sender", "eve@other.test"), [self.q_eve])
        index = os.path.join(archive_dir(self.inst), "index")
        self.assertEqual([n for n in os.listdir(index) if n.startswith("new-")], [])
        self.assertEqual(stats(self.inst)["reindexing"], "no")
        # Readable again: the rebuild goes through, with the same answers.
        proc = archive(self.inst, "reindex")
        self.assertEqual(proc.stdout, "files: %d\nindexed: %d\ndamaged: 0\n" % (
            len(self.sent), len(self.sent)))
        self.assertEqual(archive(self.inst, "search", "--json").stdout, before)
        self.assertEqual([n for n in os.listdir(index) if n.startswith("new-")], [])

if __name__ == "__main__":
    unittest.main()
