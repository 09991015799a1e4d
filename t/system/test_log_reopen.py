"""log_file opened again on `alligatectl reload`, as logrotate's
postrotate does it: after the file is renamed away, master and every
daemon write to a new file, also a worker that was in the middle of a
session, and no process keeps the old one open.  And logrotate itself,
with the package's debian/alligate.logrotate."""

import os
import pwd
import re
import shutil
import stat
import subprocess
import unittest

from alligate_test import (CTL, TOP, AlligateTestCase, RawClient,
                           instance_pids, wait_for)

QUEUED = re.compile(r"^2\.0\.0 Ok: queued as ([0-9A-F]{19})$")


def open_logs(inst, path):
    """{pid: count} of the instance's processes that have path open."""
    found = {}
    for pid in instance_pids(inst):
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if target == path or target == path + " (deleted)":
                found[pid] = found.get(pid, 0) + 1
    return found


def program(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return os.path.basename(f.read().split(b"\0")[0].decode())


class LogReopen(AlligateTestCase):
    # relay delivers into the maildir, and logs it.
    conf = "defer_delivery = no"

    def session(self):
        c = RawClient("127.0.0.1", self.inst.port)
        self.assertEqual(c.reply()[0], 220)
        self.assertEqual(c.cmd("EHLO client.test.example")[0], 250)
        return c

    def message(self, c, subject):
        """One message over c; its queue id."""
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.test>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        code, text = c.cmd("Subject: %s\r\n\r\nrotated\r\n." % subject)
        self.assertEqual(code, 250, text)
        return QUEUED.match(text[0]).group(1)

    def read(self, path):
        with open(path, errors="replace") as f:
            return f.read()

    def assert_all_on_new_file(self, old):
        """No process of the instance has old open; master and each
        single daemon have the new file open."""
        log = self.inst.log_path
        self.assertTrue(wait_for(lambda: not open_logs(self.inst, old), timeout=10),
                        {pid: program(pid) for pid in open_logs(self.inst, old)})
        on_new = {program(pid) for pid in open_logs(self.inst, log)}
        for name in ("master", "smtpd", "ratekeeper", "relay"):
            self.assertIn(name, on_new)

    def test_reload_moves_every_process_to_a_new_file(self):
        inst = self.inst
        old = inst.log_path + ".1"
        # A session in progress across the rotation: its worker is busy.
        busy = self.session()
        first = self.message(busy, "before")
        self.assertTrue(inst.wait_log(r"%s: to=<someone@example\.com>, .*status=sent" % first))
        os.rename(inst.log_path, old)
        r = inst.ctl("reload")
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (0, "alligatectl: reloaded\n", ""))
        # The new file: created at once by master, for the daemon user.
        self.assertTrue(os.path.exists(inst.log_path))
        st = os.stat(inst.log_path)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o640)
        if os.geteuid() == 0:
            self.assertEqual(st.st_uid, pwd.getpwnam("nobody").pw_uid)
        self.assertTrue(inst.wait_log(r"master\[\d+\]: reload: configuration "))
        self.assertTrue(inst.wait_log(r"relay\[\d+\]: reloaded the configuration"))
        # The busy worker goes on, and its lines go to the new file too.
        second = self.message(busy, "after")
        self.assertEqual(busy.cmd("QUIT")[0], 221)
        busy.close()
        self.assertTrue(inst.wait_log(r"%s: to=<someone@example\.com>, .*status=sent" % second))
        self.assertTrue(inst.wait_log(r"smtpd\[\d+\]: %s: from=<sender@remote\.test>" % second))
        self.assertTrue(inst.wait_log(r"smtpd\[\d+\]: disconnect from unknown\[127\.0\.0\.1\] "
                                      r"ehlo=1 mail=2 rcpt=2 data=2 quit=1 commands=8"))
        # A new session: a worker of the new configuration.
        c = self.session()
        third = self.message(c, "new session")
        self.assertEqual(c.cmd("QUIT")[0], 221)
        self.assertTrue(inst.wait_log(r"%s: to=<someone@example\.com>, .*status=sent" % third))
        # The old file has what came before the rotation, and nothing after.
        before = self.read(old)
        self.assertIn("%s: from=<sender@remote.test>" % first, before)
        for qid in (second, third):
            self.assertNotIn(qid, before)
        self.assertNotIn("reload: configuration", before)
        self.assertNotIn(first, inst.log())
        self.assert_all_on_new_file(old)

    @unittest.skipUnless(shutil.which("logrotate"), "logrotate is not installed "
                         "(scripts/install-deps installs it)")
    def test_logrotate_with_the_package_file(self):
        """debian/alligate.logrotate as shipped, but for this instance:
        its log file, its alligatectl -c DIR, its daemon user."""
        inst = self.inst
        with open(os.path.join(TOP, "debian", "alligate.logrotate")) as f:
            text = f.read()
        self.assertIn("/var/log/alligate/alligate.log {", text)
        self.assertIn("create 0640 alligate adm", text)
        user = "nobody" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        group = "root" if os.geteuid() == 0 else user
        text = (text.replace("/var/log/alligate/alligate.log", inst.log_path)
                .replace("/usr/sbin/alligatectl", "%s -c %s" % (CTL, inst.dir))
                .replace("create 0640 alligate adm", "create 0640 %s %s" % (user, group)))
        conf = os.path.join(inst.dir, "logrotate.conf")
        with open(conf, "w") as f:
            f.write(text)
        os.chmod(conf, 0o644)
        c = self.session()
        first = self.message(c, "before")
        self.assertEqual(c.cmd("QUIT")[0], 221)
        self.assertTrue(inst.wait_log(r"%s: removed" % first))
        r = subprocess.run(["logrotate", "-f", "-s", os.path.join(inst.dir, "logrotate.state"),
                            conf], capture_output=True, text=True, timeout=60)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        # delaycompress: the first rotation is log.1, not yet compressed.
        old = inst.log_path + ".1"
        self.assertIn("%s: removed" % first, self.read(old))
        self.assertTrue(inst.wait_log(r"master\[\d+\]: reload: configuration "))
        c = self.session()
        second = self.message(c, "after")
        self.assertEqual(c.cmd("QUIT")[0], 221)
        self.assertTrue(inst.wait_log(r"%s: removed" % second))
        self.assertNotIn(second, self.read(old))
        self.assertNotIn(first, inst.log())
        self.assert_all_on_new_file(old)


if __name__ == "__main__":
    unittest.main()
