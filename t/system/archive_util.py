"""What the archive's system tests share: sending a message from a given
client address and reading its queue id, waiting until the archiver has
taken every link, the archive's files, and alligatectl archive."""

import json
import os
import re

from alligate_test import RawClient, wait_for

QUEUED = re.compile(r"^2\.0\.0 Ok: queued as ([0-9A-F]{19})$")


def send(inst, sender, rcpts, message, source="127.0.0.1", helo="client.test.example"):
    """One message over a fresh connection from source: its queue id, or
    (code, text) of the refusal."""
    c = RawClient("127.0.0.1", inst.port, source=source)
    try:
        assert c.reply()[0] == 220
        assert c.cmd("EHLO " + helo)[0] == 250
        code, lines = c.cmd("MAIL FROM:<%s>" % sender)
        if code != 250:
            return code, lines
        for r in rcpts:
            code, lines = c.cmd("RCPT TO:<%s>" % r)
            if code != 250:
                return code, lines
        assert c.cmd("DATA")[0] == 354
        wire = message.replace(b"\r\n.", b"\r\n..")
        if not wire.endswith(b"\r\n"):
            wire += b"\r\n"
        c.send(wire + b".\r\n")
        code, lines = c.reply()
        c.cmd("QUIT")
        if code != 250:
            return code, lines
        return QUEUED.match(lines[0]).group(1)
    finally:
        c.close()


def links(inst):
    """The queue ids waiting in queue_directory/archive."""
    return inst.queue_files("archive")


def archive_dir(inst):
    return os.path.join(inst.dir, "data", "archive")


def archive_files(inst):
    """{queue id: path} of every archive file (YYYY/MM/DD/ID.eml.zst)."""
    found = {}
    top = archive_dir(inst)
    for root, dirs, files in os.walk(top):
        rel = os.path.relpath(root, top)
        if rel.split(os.sep)[0] in ("tmp", "index"):
            continue
        for name in files:
            if name.endswith(".eml.zst"):
                qid = name[:-len(".eml.zst")]
                assert qid not in found, "%s twice" % qid
                found[qid] = os.path.join(root, name)
    return found


def wait_archived(inst, ids, timeout=20):
    """Waits until no link waits and each of ids has its file."""
    def done():
        files = archive_files(inst)
        return not links(inst) and all(i in files for i in ids)
    return wait_for(done, timeout=timeout)


def archive(inst, *args, rc=0, test=None):
    """alligatectl archive ARGS; checks the exit status."""
    proc = inst.ctl("archive", *args)
    if rc is not None and proc.returncode != rc:
        raise AssertionError("archive %s: rc=%d\n%s%s" % (
            " ".join(args), proc.returncode, proc.stdout, proc.stderr))
    return proc


def search_ids(inst, *args):
    """The queue ids archive search prints, in its order."""
    out = archive(inst, "search", *args).stdout
    return [line.split()[0] for line in out.splitlines()]


def search_json(inst, *args):
    out = archive(inst, "search", "--json", *args).stdout
    return [json.loads(line) for line in out.splitlines()]


def stats(inst):
    out = archive(inst, "stats").stdout
    return dict(line.split(": ", 1) for line in out.splitlines())
