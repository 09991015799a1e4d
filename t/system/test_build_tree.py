"""`make`, then `build/bin/alligatectl -c DIR start` with a main.cf that
does not set daemon_directory: the programs just built, beside
alligatectl, are the ones started, and alligatectl status says so.  An
alligatectl with no master beside it keeps the built-in directory."""

import os
import shutil
import subprocess
import tempfile

from alligate_test import BIN, CTL, AlligateTestCase, instance_pids


class BuildTree(AlligateTestCase):
    start = False

    def setUp(self):
        super().setUp()
        # The harness's main.cf, without its daemon_directory.
        with open(self.inst.conf_path) as f:
            lines = [line for line in f.read().splitlines()
                     if not line.startswith("daemon_directory")]
        self.inst.write_conf(lines=lines)

    def test_start_runs_the_programs_beside_alligatectl(self):
        self.assertNotIn("daemon_directory", open(self.inst.conf_path).read())
        r = self.inst.ctl("config", "daemon_directory")
        self.assertEqual((r.returncode, r.stdout), (0, "daemon_directory = %s\n" % BIN))
        r = self.inst.ctl("config", "-n")
        self.assertNotIn("daemon_directory", r.stdout)
        self.inst.start()
        # Every process runs a program of the build tree.
        pids = instance_pids(self.inst)
        self.assertGreaterEqual(len(pids), 4)
        for pid in pids:
            self.assertEqual(os.path.dirname(os.readlink("/proc/%d/exe" % pid)),
                             os.path.realpath(BIN), pid)
        c = self.inst.raw()
        self.assertEqual(c.cmd("QUIT")[0], 221)
        status = self.inst.ctl("status", check=True).stdout.splitlines()
        self.assertEqual(status[1], "programs: %s (beside master, a build tree: "
                         "daemon_directory is not set)" % BIN)

    def test_daemon_directory_set_is_not_overridden(self):
        # Its own copy of the programs, named in main.cf.
        other = tempfile.mkdtemp(prefix="alligate-programs-")
        self.addCleanup(shutil.rmtree, other, True)
        for name in os.listdir(BIN):
            shutil.copy2(os.path.join(BIN, name), other)
        self.inst.write_conf("daemon_directory = %s" % other)
        self.inst.start()
        for pid in instance_pids(self.inst):
            self.assertEqual(os.path.dirname(os.readlink("/proc/%d/exe" % pid)), other)
        status = self.inst.ctl("status", check=True).stdout.splitlines()
        self.assertEqual(status[1], "programs: %s" % other)

    def test_alone_it_keeps_the_built_in_directory(self):
        alone = tempfile.mkdtemp(prefix="alligate-ctl-")
        self.addCleanup(shutil.rmtree, alone, True)
        shutil.copy2(CTL, alone)
        r = subprocess.run([os.path.join(alone, "alligatectl"), "-c", self.inst.dir,
                            "config", "daemon_directory"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotEqual(r.stdout, "daemon_directory = %s\n" % alone)
        self.assertNotEqual(r.stdout, "daemon_directory = %s\n" % BIN)
        self.assertRegex(r.stdout, r"^daemon_directory = /\S+/lib/alligate\n$")
