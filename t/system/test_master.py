"""master and alligatectl start/stop/status/reload: the pool of smtpd
workers, its limits, restarts and throttling, reloads that drop no
session, stops that let sessions finish, and the foreground mode of
`make run`."""

import os
import re
import signal
import socket
import stat
import subprocess
import threading
import time
import unittest

from alligate_test import (BIN, CTL, AlligateTestCase, Instance, RawClient,
                           free_port, instance_pids, ipv6_loopback, refused,
                           server_pid, wait_for)

QUEUED = re.compile(r"^2\.0\.0 Ok: queued as ([0-9A-F]{19})$")


def transaction(c, sender="sender@remote.test", rcpt="someone@example.com",
                body="Subject: test\r\n\r\nHello.\r\n"):
    """MAIL, RCPT, DATA on a greeted RawClient (after EHLO): the reply
    codes and the queue id of the last 250 (or None)."""
    codes = [c.cmd("MAIL FROM:<%s>" % sender)[0], c.cmd("RCPT TO:<%s>" % rcpt)[0],
             c.cmd("DATA")[0]]
    if codes[-1] != 354:
        return codes, None
    code, text = c.cmd(body + ".")
    codes.append(code)
    m = QUEUED.match(text[0]) if code == 250 else None
    return codes, m.group(1) if m else None


def session(inst, port=None):
    """A RawClient that has read its 220 and said EHLO."""
    c = RawClient("127.0.0.1", port or inst.port)
    code, _ = c.reply()
    assert code == 220, code
    code, _ = c.cmd("EHLO client.test.example")
    assert code == 250, code
    return c


def status(inst):
    """(rc, stdout) of alligatectl status."""
    r = inst.ctl("status")
    return r.returncode, r.stdout


def status_procs(inst):
    """{pid: state} of the smtpd lines of alligatectl status."""
    return {int(m.group(1)): m.group(2) for m in
            re.finditer(r"^    smtpd pid (\d+) (\S+)$", status(inst)[1], re.M)}


TICKET_FD = 5                           # MASTER_TICKET_FD


def ticket_area(pid, fd=TICKET_FD):
    """(readlink, (st_dev, st_ino)) of descriptor fd of process pid, or
    None when it is not open."""
    path = "/proc/%d/fd/%d" % (pid, fd)
    try:
        st = os.stat(path)
        return os.readlink(path), (st.st_dev, st.st_ino)
    except FileNotFoundError:
        return None


def master_complaints(inst):
    """master's warnings and errors in the log."""
    return re.findall(r"^.* alligate/master\[\d+\]: (?:warning|error|fatal): .*$",
                      inst.log(), re.M)


class StartStop(AlligateTestCase):
    start = False

    def test_start_returns_once_the_listener_accepts(self):
        r = self.inst.ctl("start")
        # Connect at once: no waiting, no retry.
        c = RawClient("127.0.0.1", self.inst.port)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.inst.started = True
        self.assertEqual(r.stdout, "alligatectl: started (pid %d)\n" % self.inst.master_pid())
        self.assertEqual(r.stderr, "")
        self.assertEqual(c.reply(), (220, ["mx.test.example ESMTP"]))
        self.assertEqual(c.cmd("QUIT")[0], 221)
        self.assertIn("daemon started -- version ", self.inst.log())

    def test_daemons_are_ready_when_start_returns(self):
        # The first session after start already has ratekeeper (and relay)
        # serving their sockets: no fail-open warning.
        self.inst.write_conf("sender_rate_limit = 100\n")
        self.inst.start()
        s = self.inst.smtp()
        s.ehlo("client.test.example")
        self.assertEqual(s.mail("a@remote.test")[0], 250)
        self.assertEqual(s.rcpt("b@example.com")[0], 250)
        self.assertEqual(s.data(b"Subject: first\r\n\r\nx\r\n")[0], 250)
        s.quit()
        log = self.inst.log()
        self.assertNotIn("ratekeeper: no answer", log)
        self.assertIn("alligate/ratekeeper", log)
        self.assertLess(log.index("alligate/ratekeeper"), log.index("daemon started -- version "))

    def test_start_on_a_port_in_use_fails_and_leaves_nothing(self):
        blocker = socket.socket()
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind(("127.0.0.1", self.inst.port))
        blocker.listen()
        try:
            r = self.inst.ctl("start")
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stdout, "")
            self.assertEqual(r.stderr,
                             "alligate/master: fatal: service smtp: cannot listen on "
                             "127.0.0.1:%d: bind: Address already in use\n"
                             "alligatectl: start failed\n" % self.inst.port)
            self.assertEqual(instance_pids(self.inst), [])
            self.assertEqual(sorted(os.listdir(os.path.join(self.inst.dir, "run"))), [])
            self.assertEqual(status(self.inst), (1, "alligate is not running\n"))
        finally:
            blocker.close()
        # Nothing stale stands in the way once the port is free.
        self.inst.start()
        self.assertEqual(self.inst.raw().cmd("QUIT")[0], 221)

    def test_second_start_is_refused(self):
        self.inst.start()
        pid = self.inst.master_pid()
        r = self.inst.ctl("start")
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (1, "", "alligatectl: already running (pid %d)\n" % pid))
        # The pid file lock stops a second master even without alligatectl.
        p = subprocess.run([os.path.join(BIN, "master"), "-c", self.inst.dir, "-f"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stderr, r"alligate/master\[\d+\]: fatal: already running "
                         r"\(pid %d\)\n$" % pid)
        self.assertEqual(self.inst.pids("master"), [pid])
        self.assertEqual(self.inst.master_pid(), pid)
        self.assertEqual(self.inst.raw().cmd("QUIT")[0], 221)

    def test_status(self):
        self.inst.start()
        pid = self.inst.master_pid()
        self.assertTrue(wait_for(lambda: len(status_procs(self.inst)) == 2))
        rc, out = status(self.inst)
        self.assertEqual(rc, 0)
        self.assertRegex(out.splitlines()[0], r"^master: pid %d, up \d+s, configuration %s$"
                         % (pid, re.escape(os.path.realpath(self.inst.dir))))
        self.assertRegex(out, r"\nsmtp +smtpd +running +listen 127\.0\.0\.1:%d, "
                         r"workers 2 \(busy 0, idle 2, max 100\)\n" % self.inst.port)
        self.assertEqual(sorted(status_procs(self.inst)), self.inst.pids("smtpd"))
        self.assertEqual(set(status_procs(self.inst).values()), {"idle"})
        # A session makes one worker busy; master starts a spare.
        c = session(self.inst)
        busy = server_pid(self.inst, c)
        self.assertTrue(wait_for(lambda: "workers 3 (busy 1, idle 2, max 100)"
                                 in status(self.inst)[1]), status(self.inst)[1])
        procs = status_procs(self.inst)
        self.assertEqual(procs.pop(busy), "busy")
        self.assertEqual(list(procs.values()), ["idle", "idle"])
        self.assertEqual(sorted(procs), sorted(set(self.inst.pids("smtpd")) - {busy}))
        c.cmd("QUIT")

    @unittest.skipUnless(ipv6_loopback(), "no IPv6 loopback")
    def test_every_listener_has_its_pool(self):
        v6, submission = free_port(), free_port()
        self.inst.write_conf("smtp_listen = 127.0.0.1:%d, [::1]:%d\n"
                             "submission_listen = 127.0.0.1:%d\nsmtp_auth = yes\n"
                             "submission_tls_security_level = none"
                             % (self.inst.port, v6, submission))
        self.inst.start()
        out = status(self.inst)[1]
        self.assertRegex(out, r"\nsmtp +smtpd +running +listen 127\.0\.0\.1:%d, \[::1\]:%d, "
                         r"workers 2 " % (self.inst.port, v6))
        self.assertRegex(out, r"\nsubmission +smtpd +running +listen 127\.0\.0\.1:%d, "
                         r"workers 2 " % submission)
        self.assertEqual(len(self.inst.pids("smtpd")), 4)
        for host, port in (("127.0.0.1", self.inst.port), ("::1", v6),
                           ("127.0.0.1", submission)):
            c = RawClient(host, port)
            self.assertEqual(c.reply(), (220, ["mx.test.example ESMTP"]), (host, port))
            self.assertEqual(c.cmd("QUIT")[0], 221)
        # Each pool serves its own listeners.
        c = RawClient("127.0.0.1", submission)
        c.reply()
        self.assertIn("-s submission", open("/proc/%d/cmdline" % server_pid(self.inst, c))
                      .read().replace("\0", " "))
        c.cmd("QUIT")

    def test_control_socket_is_private(self):
        self.inst.start()
        sock = os.path.join(self.inst.dir, "run", "master.sock")
        st = os.stat(sock)
        self.assertEqual(oct(st.st_mode), oct(stat.S_IFSOCK | 0o600))
        self.assertEqual(st.st_uid, os.geteuid())
        if os.geteuid() != 0:
            return
        # Another user (here the daemon_user itself) may not use it.
        r = subprocess.run([CTL, "-c", self.inst.dir, "status"], capture_output=True,
                           text=True, timeout=30, user="nobody")
        self.assertEqual((r.returncode, r.stdout), (1, ""))
        self.assertEqual(r.stderr, "alligatectl: cannot talk to master: connect to %s: "
                         "Permission denied\n" % os.path.realpath(sock))
        self.assertEqual(status(self.inst)[0], 0)

    def test_stop_returns_when_every_process_is_gone(self):
        self.inst.start()
        c = session(self.inst)
        c.cmd("QUIT")
        self.assertTrue(wait_for(lambda: len(self.inst.pids("smtpd")) >= 2))
        r = self.inst.ctl("stop")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "alligatectl: stopped\n", ""))
        self.inst.started = False
        self.assertEqual(instance_pids(self.inst), [])
        self.assertEqual(os.listdir(os.path.join(self.inst.dir, "run")), [])
        self.assertTrue(refused(self.inst.port))
        self.assertTrue(self.inst.log().endswith("stopped\n"))
        self.assertEqual(self.inst.ctl("stop").returncode, 1)
        self.assertEqual(status(self.inst), (1, "alligate is not running\n"))

    def test_stop_lets_a_session_finish(self):
        self.inst.write_conf("smtpd_spare_processes = 6")
        self.inst.start()
        self.assertTrue(wait_for(lambda: len(self.inst.pids("smtpd")) == 6))
        c = session(self.inst)
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.test>")[0], 250)
        mark = len(self.inst.log())
        result = {}
        t0 = time.time()
        stopper = threading.Thread(target=lambda: result.update(r=self.inst.ctl("stop")))
        stopper.start()
        self.assertTrue(wait_for(lambda: "stopping: no new connections"
                                 in self.inst.log()[mark:]))
        # Nothing new is taken while the session finishes.
        self.assertTrue(wait_for(lambda: refused(self.inst.port)))
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        code, text = c.cmd("Subject: late\r\n\r\nStill here.\r\n.")
        self.assertEqual(code, 250)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        stopper.join(30)
        self.inst.started = False
        self.assertEqual(result["r"].returncode, 0, result["r"].stderr)
        self.assertLess(time.time() - t0, 8)
        self.assertEqual(instance_pids(self.inst), [])
        self.assertEqual(self.inst.queue_files(), [QUEUED.match(text[0]).group(1)])
        self.assertNotIn("killing them", self.inst.log())
        # Idle workers left quietly, without tripping on the listener.
        self.assertNotIn("accept:", self.inst.log())
        self.assertEqual(master_complaints(self.inst), [])

    def test_stop_ends_a_session_that_outlasts_the_grace_time(self):
        self.inst.start()
        c = session(self.inst)
        t0 = time.time()
        r = self.inst.ctl("stop")
        elapsed = time.time() - t0
        self.inst.started = False
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(9 < elapsed < 20, elapsed)
        self.assertIn("warning: stop: sessions still open after 10s; killing them",
                      self.inst.log())
        self.assertTrue(c.closed(timeout=1))
        self.assertEqual(instance_pids(self.inst), [])


class Reload(AlligateTestCase):
    conf = "smtpd_banner = first banner"

    def test_bad_configuration_is_refused(self):
        c = session(self.inst)
        with open(self.inst.conf_path, "a") as f:
            f.write("smtpd_max_processes = lots\n")
        line = open(self.inst.conf_path).read().count("\n")
        r = self.inst.ctl("reload")
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (1, "", '%s/main.cf:%d: smtpd_max_processes: bad number "lots"\n'
                          % (os.path.realpath(self.inst.dir), line)))
        # Past alligatectl's own check: master refuses it too, and says so.
        os.kill(self.inst.master_pid(), signal.SIGHUP)
        self.assertTrue(wait_for(lambda: "reload refused" in self.inst.log()))
        self.assertIn('error: reload refused, keeping the running configuration: '
                      '%s/main.cf:%d: smtpd_max_processes: bad number "lots"\n'
                      % (os.path.realpath(self.inst.dir), line), self.inst.log())
        self.assertNotIn("reload: configuration", self.inst.log())
        # The service goes on, on the old configuration.
        self.assertEqual(transaction(c)[0], [250, 250, 354, 250])
        self.assertEqual(c.cmd("QUIT")[0], 221)
        d = RawClient("127.0.0.1", self.inst.port)
        self.assertEqual(d.reply(), (220, ["first banner"]))
        d.cmd("EHLO client.test.example")
        self.assertEqual(transaction(d)[0], [250, 250, 354, 250])

    def test_new_sessions_get_the_new_banner_old_ones_finish(self):
        old = session(self.inst)
        self.assertEqual(old.cmd("MAIL FROM:<sender@remote.test>")[0], 250)
        for n in range(3):
            self.inst.write_conf("smtpd_banner = banner number %d" % n)
            r = self.inst.ctl("reload")
            self.assertEqual((r.returncode, r.stdout, r.stderr),
                             (0, "alligatectl: reloaded\n", ""))
            # At once: once reload returns, no worker on the old
            # configuration takes a new client.
            c = RawClient("127.0.0.1", self.inst.port)
            self.assertEqual(c.reply(), (220, ["banner number %d" % n]))
            self.assertEqual(c.cmd("QUIT")[0], 221)
        # The session opened before the reloads ends normally.
        self.assertEqual(old.cmd("RCPT TO:<someone@example.com>")[0], 250)
        self.assertEqual(old.cmd("DATA")[0], 354)
        self.assertEqual(old.cmd("Subject: x\r\n\r\nacross reloads\r\n.")[0], 250)
        self.assertEqual(old.cmd("QUIT")[0], 221)
        self.assertEqual(len(self.inst.queue_files()), 1)
        self.assertEqual(self.inst.log().count("reload: configuration"), 3)

    def test_ticket_keys_in_memory_kept_across_reloads(self):
        """Every smtpd worker has master's TLS session ticket keys as
        descriptor 5: anonymous memory (a memfd), the same for all, the
        same after a reload; the other daemons do not have them."""
        master = self.inst.master_pid()
        areas = [ticket_area(master, int(fd)) for fd in os.listdir("/proc/%d/fd" % master)]
        areas = [a for a in areas if a and a[0].startswith("/memfd:alligate-tls-tickets")]
        self.assertEqual(len(areas), 1, areas)
        link, ident = areas[0]
        self.assertEqual(link, "/memfd:alligate-tls-tickets (deleted)")
        self.assertTrue(wait_for(lambda: len(self.inst.pids("smtpd")) >= 2))
        old = set(self.inst.pids("smtpd"))
        for pid in old:
            self.assertEqual(ticket_area(pid), (link, ident), pid)
        for program in ("ratekeeper", "relay"):
            for pid in self.inst.pids(program):
                area = ticket_area(pid)
                self.assertTrue(area is None or area[1] != ident, (program, area))
        r = self.inst.ctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(wait_for(lambda: set(self.inst.pids("smtpd")) - old))
        for pid in set(self.inst.pids("smtpd")) - old:
            self.assertEqual(ticket_area(pid), (link, ident), pid)

    def test_listener_moves(self):
        held = session(self.inst)
        new_port = free_port()
        self.inst.write_conf("smtp_listen = 127.0.0.1:%d" % new_port)
        self.assertEqual(self.inst.ctl("reload").returncode, 0)
        c = RawClient("127.0.0.1", new_port)
        self.assertEqual(c.reply(), (220, ["first banner"]))
        self.assertEqual(c.cmd("QUIT")[0], 221)
        # The old port takes nobody, though a worker still holds it for
        # the session that began there; that session finishes.
        self.assertTrue(wait_for(lambda: refused(self.inst.port)))
        self.assertEqual(transaction(held)[0], [250, 250, 354, 250])
        self.assertEqual(held.cmd("QUIT")[0], 221)
        self.assertIn("listen 127.0.0.1:%d, workers" % new_port, status(self.inst)[1])
        self.assertIn("service smtp listening on 127.0.0.1:%d" % new_port, self.inst.log())
        self.assertNotIn("accept:", self.inst.log())

    def test_listener_added_next_to_the_old_one(self):
        second = free_port()
        self.inst.write_conf("smtp_listen = 127.0.0.1:%d, 127.0.0.1:%d"
                             % (self.inst.port, second))
        r = self.inst.ctl("reload")
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        for port in (self.inst.port, second, self.inst.port):
            c = RawClient("127.0.0.1", port)
            self.assertEqual(c.reply(), (220, ["first banner"]), port)
            c.cmd("EHLO client.test.example")
            self.assertEqual(transaction(c)[0], [250, 250, 354, 250])
            c.cmd("QUIT")
        self.assertIn("listen 127.0.0.1:%d, 127.0.0.1:%d, workers" % (self.inst.port, second),
                      status(self.inst)[1])
        self.assertEqual(master_complaints(self.inst), [])

    def test_listener_that_cannot_open_keeps_the_old_one(self):
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        busy = blocker.getsockname()[1]
        try:
            self.inst.write_conf("smtp_listen = 127.0.0.1:%d" % busy)
            r = self.inst.ctl("reload")
            self.assertEqual((r.returncode, r.stdout), (1, ""))
            self.assertEqual(r.stderr, "alligatectl: reload failed: service smtp: cannot "
                             "listen on 127.0.0.1:%d: bind: Address already in use\n" % busy)
            self.assertIn("error: service smtp: cannot listen on 127.0.0.1:%d: bind: Address "
                          "already in use; still listening on 127.0.0.1:%d"
                          % (busy, self.inst.port), self.inst.log())
            c = session(self.inst)
            self.assertEqual(transaction(c)[0], [250, 250, 354, 250])
            self.assertIn("listen 127.0.0.1:%d, workers" % self.inst.port,
                          status(self.inst)[1])
        finally:
            blocker.close()

    def test_reload_under_load_drops_no_session(self):
        stop = threading.Event()
        results = []
        errors = []

        def client():
            while not stop.is_set():
                try:
                    c = session(self.inst)
                    codes, qid = transaction(c)
                    results.append((codes, qid))
                    c.cmd("QUIT")
                    c.close()
                except Exception as e:  # noqa: BLE001 - each one is a failure
                    errors.append(repr(e))

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            for n in range(3):
                time.sleep(0.4)
                self.inst.write_conf("smtpd_banner = load %d" % n)
                self.assertEqual(self.inst.ctl("reload").returncode, 0)
            time.sleep(0.4)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        self.assertEqual(errors, [])
        self.assertGreater(len(results), 12)
        self.assertEqual([r for r in results if r[0] != [250, 250, 354, 250]], [])
        self.assertEqual(sorted(q for _, q in results), self.inst.queue_files())
        self.assertEqual(self.inst.log().count("reload: configuration"), 3)
        self.assertEqual(master_complaints(self.inst), [])

    def test_reloads_right_after_a_fork_kill_no_worker(self):
        # A worker signalled before it has its handlers must not die of
        # it (master would throttle the service as failing to start).
        self.inst.write_conf("smtpd_spare_processes = 5")
        self.assertEqual(self.inst.ctl("reload").returncode, 0)
        master = self.inst.master_pid()
        for _ in range(25):
            os.kill(master, signal.SIGHUP)
            time.sleep(0.01)
        self.assertTrue(wait_for(lambda: "workers 5 (busy 0, idle 5" in status(self.inst)[1]),
                        status(self.inst)[1])
        self.assertNotIn("killed by signal", self.inst.log())
        self.assertNotIn("keeps failing", self.inst.log())
        self.assertEqual(session(self.inst).cmd("QUIT")[0], 221)


class Pool(AlligateTestCase):
    conf = "smtpd_spare_processes = 3"

    def test_spare_workers_are_kept_ready(self):
        self.assertTrue(wait_for(lambda: len(self.inst.pids("smtpd")) == 3))
        sessions = [session(self.inst) for _ in range(2)]
        # Two busy, three idle again.
        self.assertTrue(wait_for(lambda: "workers 5 (busy 2, idle 3, max 100)"
                                 in status(self.inst)[1]), status(self.inst)[1])
        self.assertEqual(len(self.inst.pids("smtpd")), 5)
        for c in sessions:
            c.cmd("QUIT")

    def test_worker_killed_mid_session_is_replaced(self):
        victim_session = session(self.inst)
        other = session(self.inst)
        self.assertEqual(other.cmd("MAIL FROM:<sender@remote.test>")[0], 250)
        victim = server_pid(self.inst, victim_session)
        survivor = server_pid(self.inst, other)
        self.assertIsNotNone(victim)
        self.assertNotIn(survivor, (None, victim))
        os.kill(victim, signal.SIGKILL)
        self.assertTrue(victim_session.closed())
        self.assertTrue(wait_for(lambda: "killed by signal 9" in self.inst.log()))
        self.assertIn("warning: process smtpd pid %d (service smtp) killed by signal 9"
                      % victim, self.inst.log())
        # The other session carries on.
        self.assertEqual(other.cmd("RCPT TO:<someone@example.com>")[0], 250)
        self.assertEqual(other.cmd("DATA")[0], 354)
        self.assertEqual(other.cmd("Subject: x\r\n\r\nsurvived\r\n.")[0], 250)
        self.assertEqual(other.cmd("QUIT")[0], 221)
        # The pool is whole again, and new clients are served.
        self.assertTrue(wait_for(lambda: "smtpd    running   listen" in status(self.inst)[1]
                                 and "idle 3" in status(self.inst)[1]), status(self.inst)[1])
        self.assertNotIn(victim, self.inst.pids("smtpd"))
        c = session(self.inst)
        self.assertEqual(transaction(c)[0], [250, 250, 354, 250])
        c.cmd("QUIT")
        self.assertNotIn("keeps failing", self.inst.log())


class Limits(AlligateTestCase):
    conf = "smtpd_max_processes = 2\nsmtpd_spare_processes = 2"

    def test_busy_pool_makes_clients_wait_not_fail(self):
        a = session(self.inst)
        b = session(self.inst)
        waiting = RawClient("127.0.0.1", self.inst.port, timeout=10)
        # Connected (in the backlog), but no worker is free to greet it.
        waiting.sock.settimeout(1.5)
        self.assertRaises(socket.timeout, waiting.sock.recv, 1, socket.MSG_PEEK)
        self.assertEqual(len(self.inst.pids("smtpd")), 2)
        self.assertIn("workers 2 (busy 2, idle 0, max 2)", status(self.inst)[1])
        # A worker frees up: the waiting client is served.
        self.assertEqual(a.cmd("QUIT")[0], 221)
        waiting.sock.settimeout(10)
        self.assertEqual(waiting.reply(), (220, ["mx.test.example ESMTP"]))
        waiting.cmd("EHLO client.test.example")
        self.assertEqual(transaction(waiting)[0], [250, 250, 354, 250])
        self.assertEqual(transaction(b)[0], [250, 250, 354, 250])
        self.assertEqual(len(self.inst.pids("smtpd")), 2)
        waiting.cmd("QUIT")
        b.cmd("QUIT")


class MaxUse(AlligateTestCase):
    conf = "smtpd_max_processes = 1\nsmtpd_spare_processes = 1\nsmtpd_max_use = 2"

    def test_worker_retires_after_max_use_sessions(self):
        served = []
        for _ in range(5):
            c = session(self.inst)
            served.append(server_pid(self.inst, c))
            self.assertEqual(c.cmd("QUIT")[0], 221)
            c.closed()
        self.assertNotIn(None, served)
        # Two sessions each, then a fresh worker.
        self.assertEqual(served[0], served[1])
        self.assertEqual(served[2], served[3])
        self.assertEqual(len({served[0], served[2], served[4]}), 3)
        self.assertTrue(wait_for(lambda: served[2] not in self.inst.pids("smtpd")))
        self.assertNotIn(served[0], self.inst.pids("smtpd"))
        self.assertEqual(master_complaints(self.inst), [])


class MaxIdle(AlligateTestCase):
    conf = "smtpd_spare_processes = 1\nsmtpd_max_idle = 1s"

    def test_idle_workers_retire_and_the_pool_shrinks(self):
        sessions = [session(self.inst) for _ in range(3)]
        self.assertTrue(wait_for(lambda: len(self.inst.pids("smtpd")) == 4))
        for c in sessions:
            self.assertEqual(c.cmd("QUIT")[0], 221)
        # Back to the one spare within a few idle periods, not by killing.
        self.assertTrue(wait_for(lambda: "workers 1 (busy 0, idle 1, max 100)"
                                 in status(self.inst)[1], timeout=6), status(self.inst)[1])
        self.assertEqual(len(self.inst.pids("smtpd")), 1)
        self.assertEqual(master_complaints(self.inst), [])
        self.assertEqual(session(self.inst).cmd("QUIT")[0], 221)


class FailingChild(AlligateTestCase):
    """daemon_directory where smtpd exits 1 at once."""
    start = False

    def setUp(self):
        super().setUp()
        self.fake = os.path.join(self.inst.dir, "fakebin")
        os.mkdir(self.fake)
        for program in os.listdir(BIN):
            if program != "smtpd":
                os.symlink(os.path.join(BIN, program), os.path.join(self.fake, program))
        self.smtpd = os.path.join(self.fake, "smtpd")
        with open(self.smtpd, "w") as f:
            f.write("#!/bin/sh\nexit 1\n")
        os.chmod(self.smtpd, 0o755)
        os.chmod(self.fake, 0o755)
        self.inst.write_conf("daemon_directory = %s" % self.fake)

    def test_is_throttled_with_back_off(self):
        self.inst.start()
        client = RawClient("127.0.0.1", self.inst.port)
        time.sleep(4)
        log = self.inst.log()
        # A tight loop would fork hundreds; back-off allows a handful.
        failures = log.count("service smtp: smtpd keeps failing")
        self.assertTrue(2 <= failures <= 6, log)
        self.assertEqual(failures, len(re.findall(
            r"warning: process smtpd pid \d+ \(service smtp\) exit status 1\n", log)))
        delays = [int(d) for d in re.findall(
            r"service smtp: smtpd keeps failing; next start in (\d+)s", log)]
        self.assertEqual(delays, sorted(delays))
        self.assertGreater(delays[-1], delays[0])
        self.assertIn("warning: service smtp: smtpd keeps failing; next start in 1s", log)
        self.assertRegex(status(self.inst)[1], r"\nsmtp +smtpd +throttled ")
        # Repaired and reloaded: the service comes back, and the client
        # that waited in the backlog meanwhile is served.
        os.unlink(self.smtpd)
        os.symlink(os.path.join(BIN, "smtpd"), self.smtpd)
        self.assertEqual(self.inst.ctl("reload").returncode, 0)
        client.sock.settimeout(10)
        self.assertEqual(client.reply(), (220, ["mx.test.example ESMTP"]))
        self.assertEqual(client.cmd("QUIT")[0], 221)
        self.assertRegex(status(self.inst)[1], r"\nsmtp +smtpd +running ")


class Foreground(unittest.TestCase):
    """alligatectl start --foreground, as `make run` uses it."""

    def setUp(self):
        self.inst = Instance()
        self.proc = subprocess.Popen([CTL, "-c", self.inst.dir, "start", "--foreground"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)

    def tearDown(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.inst.cleanup()

    def run_session(self):
        self.assertTrue(wait_for(lambda: not refused(self.inst.port)))
        c = session(self.inst)
        codes, qid = transaction(c)
        self.assertEqual(codes, [250, 250, 354, 250])
        self.assertEqual(c.cmd("QUIT")[0], 221)
        return qid

    def finish(self, sig):
        self.assertTrue(wait_for(lambda: len(self.inst.pids("smtpd")) >= 2))
        if sig == signal.SIGINT:
            os.killpg(self.proc.pid, sig)       # Ctrl-C: the whole group
        else:
            self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=20)
        self.assertEqual(self.proc.returncode, 0, err)
        self.assertEqual(instance_pids(self.inst), [])
        return out, err

    def test_logs_to_stderr_and_stops_on_sigterm(self):
        qid = self.run_session()
        # ctl execs master: the process we started is master itself.
        self.assertEqual(self.inst.master_pid(), self.proc.pid)
        out, err = self.finish(signal.SIGTERM)
        self.assertEqual(out, "")
        self.assertRegex(err, r"alligate/master\[%d\]: daemon started -- version "
                         % self.proc.pid)
        self.assertRegex(err, r"alligate/smtpd\[\d+\]: connect from ")
        self.assertRegex(err, r"alligate/smtpd\[\d+\]: %s: from=<sender@remote.test>, "
                         % qid)
        self.assertTrue(err.endswith("stopped\n"), err[-300:])
        # log_file is for the background: nothing went there.
        self.assertEqual(self.inst.log(), "")
        self.assertEqual(self.inst.queue_files(), [qid])

    def test_ctrl_c_stops_everything(self):
        self.run_session()
        _, err = self.finish(signal.SIGINT)
        self.assertIn("stopping: no new connections", err)
        self.assertNotIn("killed by signal", err)
        self.assertTrue(err.endswith("stopped\n"), err[-300:])
