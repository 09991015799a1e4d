"""The tarpit daemon driven directly through its socket, as smtpd drives
it: a test plays smtpd, opening a real TCP connection from a loopback
address, and hands the server end to run_directory/tarpit.sock with
SCM_RIGHTS (socket.send_fds) and a TARPIT_HOLD message.  The client gets
exactly the reply after the delay and then the end of the connection; a
client that leaves first is a tarpit disconnect, logged and counted in
ratekeeper; malformed hand-offs are refused and their client closed; a
full tarpit answers its oldest client early; a tarpit killed mid-hold
closes its clients and master starts a new one; alligatectl status shows
the counts; a client that floods it, half-closes or resets costs it
nothing it keeps; stop and reload do not hang and reload applies the new
tarpit_max_connections; the descriptor limit is raised, or the tarpit
holds what fits and says so; master runs the tarpit only when the
configuration can tarpit.  (Whether smtpd hands the right clients over
is smtpd's to test.)"""

import os
import re
import resource
import signal
import subprocess
import socket
import struct
import time
import unittest

from alligate_test import CTL, AlligateTestCase, Instance, wait_for

REPLY = "550 5.7.1 Refused"


def hold_message(addr, delay_ms, name="unknown", rule="sender_rate_limit",
                 command="EHLO", reply=REPLY):
    """A TARPIT_HOLD message as lib/tarpit_clnt.h defines it."""
    return ("version=1\naddr=%s\nname=%s\ndelay=%d\nrule=%s\ncommand=%s\n"
            "reply=%s\n" % (addr, name, delay_ms, rule, command, reply)).encode()


class Client:
    """A TCP client from source (a loopback address) whose server end is
    handed to the tarpit; the client end stays here."""

    def __init__(self, listener, source):
        self.source = source
        self.sock = socket.create_connection(listener.getsockname(), timeout=30,
                                             source_address=(source, 0))
        self.server, _ = listener.accept()

    def read_all(self, timeout=30):
        """Everything the server sends until it closes: (bytes, seconds
        until the close)."""
        start = time.monotonic()
        self.sock.settimeout(timeout)
        data = b""
        try:
            while True:
                chunk = self.sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
        return data, time.monotonic() - start

    def silent(self, timeout=0.3):
        """True when nothing, not even the close, arrives within timeout."""
        self.sock.settimeout(timeout)
        try:
            self.sock.recv(1, socket.MSG_PEEK)
            return False
        except (socket.timeout, BlockingIOError):
            return True
        except ConnectionResetError:
            return False

    def close(self):
        self.sock.close()
        if self.server is not None:
            self.server.close()
            self.server = None


class TarpitTestCase(AlligateTestCase):
    """An instance with the tarpit on; self.handoff() plays smtpd."""

    conf = ("tarpit = yes\n"
            "tarpit_disconnect_limit = 3\n"
            "tarpit_disconnect_window = 10m\n"
            "tarpit_max_connections = 3\n")

    def setUp(self):
        super().setUp()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.clients = []
        self.tarpit = None

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.listener.close()
        if self.tarpit is not None:
            self.tarpit.close()
        super().tearDown()

    def sock_path(self, name="tarpit.sock"):
        return os.path.join(self.inst.dir, "run", name)

    def connect_tarpit(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(self.sock_path())
        return s

    def client(self, source):
        c = Client(self.listener, source)
        self.clients.append(c)
        return c

    def handoff(self, source, delay_ms, message=None, fds=None):
        """Hands a new client from source to the tarpit (on one
        connection, as one smtpd worker would) and returns the client."""
        if self.tarpit is None:
            self.tarpit = self.connect_tarpit()
        c = self.client(source)
        if message is None:
            message = hold_message(source, delay_ms)
        socket.send_fds(self.tarpit, [message],
                        fds if fds is not None else [c.server.fileno()])
        # smtpd closes its copy once the tarpit has the client.
        c.server.close()
        c.server = None
        return c

    def status(self):
        """The tarpit's line of alligatectl status."""
        out = self.inst.ctl("status", check=True).stdout
        m = re.search(r"^tarpit +tarpit +\S+ +(.*)$", out, re.M)
        self.assertIsNotNone(m, out)
        return m.group(1)

    def tarpit_pid(self):
        pids = self.inst.pids("tarpit")
        return pids[0] if len(pids) == 1 else 0

    def wait_log(self, regex, mark=0, timeout=10):
        m = self.inst.wait_log(regex, mark, timeout=timeout)
        self.assertIsNotNone(m, "no %r in the log:\n%s" % (
            regex, self.inst.log_since(mark)[-3000:]))
        return m


class TestHold(TarpitTestCase):

    def test_reply_after_delay_then_close(self):
        mark = self.inst.log_mark()
        start = time.monotonic()
        c = self.handoff("127.0.0.21", 2000)
        self.wait_log(r"tarpit: hold unknown\[127\.0\.0\.21\] for 2s; "
                      r"rule=sender_rate_limit; command=EHLO$", mark)
        self.assertEqual(self.status(), "held 1 (max 3), released 0, "
                         "disconnects 0, early 0")
        # What the client sends meanwhile is read and dropped.
        c.sock.sendall(b"MAIL FROM:<x@y>\r\nRCPT TO:<a@b>\r\n" + b"x" * 20000)
        self.assertTrue(c.silent(1.0))
        data, _ = c.read_all()
        waited = time.monotonic() - start
        self.assertEqual(data, (REPLY + "\r\n").encode())
        self.assertGreaterEqual(waited, 2.0)
        self.assertLess(waited, 5.0)
        self.wait_log(r"tarpit: release unknown\[127\.0\.0\.21\] after 2s: "
                      r"550 5\.7\.1 Refused$", mark)
        self.assertEqual(self.status(), "held 0 (max 3), released 1, "
                         "disconnects 0, early 0")
        # Not a tarpit disconnect.
        self.assertNotIn("disconnected", self.inst.log_since(mark))

    def test_each_its_own_delay_and_reply(self):
        mark = self.inst.log_mark()
        slow = self.handoff("127.0.0.22", 3000, hold_message(
            "127.0.0.22", 3000, name="slow.example.net", rule="max_invalid_recipients",
            command="RCPT", reply="550 5.1.1 Go away"))
        fast = self.handoff("127.0.0.23", 500, hold_message(
            "127.0.0.23", 500, reply="421 4.7.0 Later"))
        data, _ = fast.read_all()
        self.assertEqual(data, b"421 4.7.0 Later\r\n")
        self.assertTrue(slow.silent(0.5))
        data, _ = slow.read_all()
        self.assertEqual(data, b"550 5.1.1 Go away\r\n")
        # The line comes once the connection is closed.
        self.wait_log(r"tarpit: release slow\.example\.net\[127\.0\.0\.22\] "
                      r"after 3s: 550 5\.1\.1 Go away$", mark)
        log = self.inst.log_since(mark)
        self.assertIn("tarpit: hold slow.example.net[127.0.0.22] for 3s; "
                      "rule=max_invalid_recipients; command=RCPT", log)
        self.assertIn("tarpit: hold unknown[127.0.0.23] for 0.5s;", log)

    def test_ipv6_address(self):
        c = self.handoff("127.0.0.24", 200,
                         hold_message("2001:db8::7", 200))
        data, _ = c.read_all()
        self.assertEqual(data, (REPLY + "\r\n").encode())
        self.wait_log(r"tarpit: release unknown\[2001:db8::7\] after")


class TestDisconnect(TarpitTestCase):

    def test_client_leaving_is_counted(self):
        mark = self.inst.log_mark()
        for n in (1, 2):
            c = self.handoff("127.0.0.31", 30000)
            self.wait_log(r"hold unknown\[127\.0\.0\.31\]", mark)
            mark2 = self.inst.log_mark()
            c.close()
            self.wait_log(r"tarpit: unknown\[127\.0\.0\.31\] disconnected after "
                          r"[0-9.]+s \(tarpit disconnect %d of 3 in 10m\)$" % n,
                          mark2)
            mark = self.inst.log_mark()
        # A reset is a disconnect too.
        c = self.handoff("127.0.0.31", 30000)
        self.wait_log(r"hold unknown\[127\.0\.0\.31\]", mark)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                          struct.pack("ii", 1, 0))
        c.close()
        self.wait_log(r"unknown\[127\.0\.0\.31\] disconnected after [0-9.]+s "
                      r"\(tarpit disconnect 3 of 3 in 10m\)$", mark)
        show = self.inst.ctl("rate", "show", "127.0.0.31", check=True).stdout
        self.assertRegex(show, r"tarpit_disconnect +3 in 10m")
        # Another address has none.
        show = self.inst.ctl("rate", "show", "127.0.0.32", check=True).stdout
        self.assertNotIn("tarpit_disconnect", show)
        self.assertEqual(self.status(), "held 0 (max 3), released 0, "
                         "disconnects 3, early 0")

    def test_ratekeeper_down_is_said(self):
        pid = self.inst.pids("ratekeeper")[0]
        c = self.handoff("127.0.0.33", 30000)
        self.wait_log(r"hold unknown\[127\.0\.0\.33\]")
        # Stopped, not killed: master does not start another meanwhile.
        os.kill(pid, signal.SIGSTOP)
        try:
            mark = self.inst.log_mark()
            c.close()
            m = self.wait_log(r"tarpit: unknown\[127\.0\.0\.33\] disconnected "
                              r"after [0-9.]+s \(tarpit disconnect; ratekeeper "
                              r"did not answer: (.*)\)$", mark)
            self.assertEqual(m.group(1), "no answer within 2000 ms")
            # The loop went on meanwhile.
            held = self.handoff("127.0.0.34", 100)
            data, _ = held.read_all()
            self.assertEqual(data, (REPLY + "\r\n").encode())
        finally:
            os.kill(pid, signal.SIGCONT)

    def test_limit_off_says_so(self):
        self.inst.write_conf("tarpit_disconnect_limit = 0\n"
                             "tarpit_disconnect_window = 90s\n")
        mark = self.inst.log_mark()
        self.inst.ctl("reload", check=True)
        self.wait_log(r"tarpit\[\d+\]: reloaded", mark)
        c = self.handoff("127.0.0.35", 30000)
        self.wait_log(r"hold unknown\[127\.0\.0\.35\]", mark)
        c.close()
        self.wait_log(r"tarpit: unknown\[127\.0\.0\.35\] disconnected after "
                      r"[0-9.]+s \(tarpit disconnect 1 in 90s\)$", mark)


class TestRefused(TarpitTestCase):

    def assert_closed_without_reply(self, c):
        data, seconds = c.read_all(timeout=5)
        self.assertEqual(data, b"")
        self.assertLess(seconds, 5)

    def test_malformed_messages(self):
        cases = [
            (hold_message("127.0.0.41", 1000, reply="250 OK"),
             "reply: not a 4xx or 5xx reply line"),
            (hold_message("127.0.0.41", 1000, reply="550-more"),
             "reply: not a 4xx or 5xx reply line"),
            (hold_message("not-an-address", 1000), "addr: not a numeric address"),
            (hold_message("127.0.0.41", 1000).replace(b"version=1\n", b""),
             "out-of-order name: addr"),
            (hold_message("127.0.0.41", 1000) + b"extra=1\n", "unknown name: extra"),
            (hold_message("127.0.0.41", 1000) + b"rule=x\n", "repeated name: rule"),
            (hold_message("127.0.0.41", 99999999), "delay: not a number"),
            (hold_message("127.0.0.41", 1000, name="a\tb"),
             "name: control or non-ASCII character"),
        ]
        for message, why in cases:
            mark = self.inst.log_mark()
            c = self.handoff("127.0.0.41", 0, message)
            self.assert_closed_without_reply(c)
            self.wait_log(r"warning: refused a hand-off: %s.*; client closed$"
                          % re.escape(why), mark)
        self.assertEqual(self.status(), "held 0 (max 3), released 0, "
                         "disconnects 0, early 0")
        # The worker's connection is still good.
        c = self.handoff("127.0.0.42", 100)
        data, _ = c.read_all()
        self.assertEqual(data, (REPLY + "\r\n").encode())

    def test_too_long(self):
        mark = self.inst.log_mark()
        long = hold_message("127.0.0.43", 100, reply="550 " + "x" * 3000)
        c = self.handoff("127.0.0.43", 100, long)
        self.assert_closed_without_reply(c)
        self.wait_log(r"warning: refused a hand-off: message longer than 2048 "
                      r"bytes; client closed", mark)

    def test_descriptors_wrong(self):
        mark = self.inst.log_mark()
        # No descriptor.
        self.tarpit = self.connect_tarpit()
        self.tarpit.send(hold_message("127.0.0.44", 100))
        self.wait_log(r"warning: refused a hand-off without a client descriptor",
                      mark)
        # Two: both clients closed, neither held.
        a = self.client("127.0.0.44")
        b = self.client("127.0.0.44")
        socket.send_fds(self.tarpit, [hold_message("127.0.0.44", 100)],
                        [a.server.fileno(), b.server.fileno()])
        a.server.close()
        a.server = None
        b.server.close()
        b.server = None
        self.assert_closed_without_reply(a)
        self.assert_closed_without_reply(b)
        self.wait_log(r"warning: refused a hand-off: bad control data", mark)
        # Not a socket.
        r, w = os.pipe()
        try:
            socket.send_fds(self.tarpit, [hold_message("127.0.0.44", 100)], [r])
            self.wait_log(r"warning: refused a hand-off for unknown\[127\.0\.0\.44\]: "
                          r"the descriptor is not a socket", mark)
            # The tarpit closed its copy: the write end sees no reader.
            os.close(r)
            r = -1
            os.set_blocking(w, False)
            with self.assertRaises(BrokenPipeError):
                os.write(w, b"x")
        finally:
            if r >= 0:
                os.close(r)
            os.close(w)
        self.assertIn("held 0 ", self.status())


class TestHostile(TarpitTestCase):
    """What a hostile client can do while held: send megabytes (read and
    dropped, the tarpit's memory unchanged, the other clients answered
    on time, itself answered exactly at its time), close only its sending
    half (a tarpit disconnect, closed at once), reset; and whatever it
    did, the tarpit keeps no descriptor of it afterwards, nor of a worker
    connection that closed."""

    def fds(self, pid):
        return os.listdir("/proc/%d/fd" % pid)

    def tcp_fds(self, pid):
        """The tarpit's descriptors that are TCP sockets: the held clients."""
        inodes = set()
        for name in ("tcp", "tcp6"):
            with open("/proc/net/" + name) as f:
                for line in f.readlines()[1:]:
                    inodes.add(line.split()[9])
        count = 0
        for fd in self.fds(pid):
            try:
                target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except FileNotFoundError:
                continue
            m = re.match(r"socket:\[(\d+)\]$", target)
            if m and m.group(1) in inodes:
                count += 1
        return count

    def vm(self, pid, field):
        with open("/proc/%d/status" % pid) as f:
            return int(re.search(r"^%s:\s+(\d+) kB" % field, f.read(), re.M).group(1))

    def test_megabytes_while_held(self):
        pid = self.tarpit_pid()
        mark = self.inst.log_mark()
        rss = self.vm(pid, "VmRSS")
        start = time.monotonic()
        flooder = self.handoff("127.0.0.91", 3000)
        quiet = self.handoff("127.0.0.92", 2000)
        self.wait_log(r"hold unknown\[127\.0\.0\.92\]", mark)
        sent = 0
        block = b"MAIL FROM:<x@y>\r\n" * 4096
        flooder.sock.settimeout(5)
        while time.monotonic() - start < 1.5:
            flooder.sock.sendall(block)
            sent += len(block)
        self.assertGreater(sent, 16 << 20)
        # The other client: its answer at its time.
        data, _ = quiet.read_all(timeout=10)
        waited = time.monotonic() - start
        self.assertEqual(data, (REPLY + "\r\n").encode())
        self.assertGreaterEqual(waited, 2.0)
        self.assertLess(waited, 3.0)
        # The flooder: exactly its answer, at its time, then the end.
        data, _ = flooder.read_all(timeout=10)
        waited = time.monotonic() - start
        self.assertEqual(data, (REPLY + "\r\n").encode())
        self.assertGreaterEqual(waited, 3.0)
        self.assertLess(waited, 4.5)
        self.wait_log(r"tarpit: release unknown\[127\.0\.0\.91\] after 3s: "
                      r"550 5\.7\.1 Refused$", mark)
        # Dropped, not kept: one read buffer for all at most.
        self.assertLess(self.vm(pid, "VmHWM") - rss, 1024)
        self.assertEqual(self.status(), "held 0 (max 3), released 2, "
                         "disconnects 0, early 0")

    def test_half_close(self):
        mark = self.inst.log_mark()
        c = self.handoff("127.0.0.93", 30000)
        self.wait_log(r"hold unknown\[127\.0\.0\.93\]", mark)
        c.sock.sendall(b"QUIT\r\n")
        c.sock.shutdown(socket.SHUT_WR)
        # A client that says it sends no more has left: no answer, the
        # end of the connection at once, and a tarpit disconnect.
        data, seconds = c.read_all(timeout=10)
        self.assertEqual(data, b"")
        self.assertLess(seconds, 5)
        self.wait_log(r"tarpit: unknown\[127\.0\.0\.93\] disconnected after "
                      r"[0-9.]+s \(tarpit disconnect 1 of 3 in 10m\)$", mark)
        self.assertEqual(self.status(), "held 0 (max 3), released 0, "
                         "disconnects 1, early 0")

    def test_no_descriptor_kept(self):
        pid = self.tarpit_pid()
        before = len(self.fds(pid))
        mark = self.inst.log_mark()
        answered = self.handoff("127.0.0.94", 500)
        closed = self.handoff("127.0.0.95", 30000)
        reset = self.handoff("127.0.0.96", 30000)
        half = self.handoff("127.0.0.97", 30000)
        self.wait_log(r"hold unknown\[127\.0\.0\.97\]", mark)
        # The check can fail: the held clients are there now.
        self.assertEqual(self.tcp_fds(pid), 3)
        closed.close()
        reset.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                              struct.pack("ii", 1, 0))
        reset.close()
        half.sock.shutdown(socket.SHUT_WR)
        # A malformed hand-off, and one with a pipe instead of a socket.
        bad = self.handoff("127.0.0.98", 0, hold_message("127.0.0.98", 100,
                                                         reply="250 OK"))
        r, w = os.pipe()
        socket.send_fds(self.tarpit, [hold_message("127.0.0.98", 100)], [r])
        os.close(r)
        os.close(w)
        data, _ = answered.read_all()
        self.assertEqual(data, (REPLY + "\r\n").encode())
        self.assertEqual(bad.read_all(timeout=5)[0], b"")
        self.wait_log(r"the descriptor is not a socket", mark)
        self.assertTrue(wait_for(lambda: "disconnects 3," in self.status()),
                        self.status())
        self.assertEqual(self.tcp_fds(pid), 0)
        # The worker's connection goes when the worker closes it.
        during = len(self.fds(pid))
        self.tarpit.close()
        self.tarpit = None
        self.assertTrue(wait_for(lambda: len(self.fds(pid)) == during - 1),
                        self.fds(pid))
        # What is left beyond the start: the connection to ratekeeper
        # that reported the disconnects, if it is still open.
        self.assertIn(len(self.fds(pid)) - before, (0, 1))


class TestFull(TarpitTestCase):

    def test_oldest_answered_early(self):
        mark = self.inst.log_mark()
        held = [self.handoff("127.0.0.5%d" % i, 30000) for i in range(1, 4)]
        self.wait_log(r"hold unknown\[127\.0\.0\.53\]", mark)
        for c in held:
            self.assertTrue(c.silent(0.2))
        start = time.monotonic()
        fourth = self.handoff("127.0.0.54", 30000)
        data, _ = held[0].read_all(timeout=5)
        self.assertEqual(data, (REPLY + "\r\n").encode())
        self.assertLess(time.monotonic() - start, 5)
        self.wait_log(r"tarpit: release unknown\[127\.0\.0\.51\] after [0-9.]+s "
                      r"of 30s, early to make room \(tarpit full: 3 held\): "
                      r"550 5\.7\.1 Refused$", mark)
        for c in held[1:] + [fourth]:
            self.assertTrue(c.silent(0.2))
        self.assertEqual(self.status(), "held 3 (max 3), released 0, "
                         "disconnects 0, early 1")
        # The next one makes the next oldest go.
        self.handoff("127.0.0.55", 30000)
        data, _ = held[1].read_all(timeout=5)
        self.assertEqual(data, (REPLY + "\r\n").encode())
        self.assertTrue(held[2].silent(0.2))

    def test_reload_applies_lower_limit(self):
        held = [self.handoff("127.0.0.6%d" % i, 30000) for i in range(1, 4)]
        self.wait_log(r"hold unknown\[127\.0\.0\.63\]")
        self.inst.write_conf("tarpit_max_connections = 1\n")
        mark = self.inst.log_mark()
        self.inst.ctl("reload", check=True)
        for c in held[:2]:
            data, _ = c.read_all(timeout=10)
            self.assertEqual(data, (REPLY + "\r\n").encode())
        self.assertTrue(held[2].silent(0.2))
        self.wait_log(r"tarpit\[\d+\]: reloaded the configuration: holding up "
                      r"to 1 connections", mark)
        self.assertIn("held 1 (max 1)", self.status())


class TestMany(TarpitTestCase):
    """2000 clients at once: all held, a clean SMTP session served
    meanwhile, then each answered exactly once its delay is over."""

    conf = "tarpit = yes\ntarpit_max_connections = 2500\n"

    def test_two_thousand(self):
        n = 2000
        clients = [self.handoff("127.0.1.%d" % (1 + i % 200), 5000)
                   for i in range(n)]
        self.assertTrue(wait_for(lambda: "held %d " % n in self.status(),
                                 timeout=20), self.status())
        s = self.inst.smtp()
        try:
            s.ehlo("clean.test.example")
            self.assertEqual(s.mail("someone@clean.example")[0], 250)
            self.assertEqual(s.rcpt("user@example.com")[0], 250)
            self.assertEqual(s.data(b"Subject: clean\r\n\r\nHello.\r\n")[0], 250)
        finally:
            s.quit()
        self.assertTrue(all(c.silent(0) for c in clients[-10:]))
        for c in clients:
            data, _ = c.read_all(timeout=30)
            self.assertEqual(data, (REPLY + "\r\n").encode())
        self.assertEqual(self.status(), "held 0 (max 2500), released %d, "
                         "disconnects 0, early 0" % n)


class TestRestart(TarpitTestCase):

    def test_killed_mid_hold(self):
        held = [self.handoff("127.0.0.7%d" % i, 60000) for i in (1, 2)]
        self.wait_log(r"hold unknown\[127\.0\.0\.72\]")
        old = self.tarpit_pid()
        self.assertTrue(old)
        os.kill(old, signal.SIGKILL)
        # The held clients see the end of their connection, no reply.
        for c in held:
            data, seconds = c.read_all(timeout=5)
            self.assertEqual(data, b"")
            self.assertLess(seconds, 5)
        # master starts a new tarpit, which takes hand-offs again.
        self.assertTrue(wait_for(lambda: self.tarpit_pid() not in (0, old),
                                 timeout=15))
        self.tarpit.close()
        self.tarpit = None
        c = wait_for(self.try_handoff, timeout=10)
        self.assertTrue(c)
        data, _ = c.read_all()
        self.assertEqual(data, (REPLY + "\r\n").encode())
        # Nobody left on their own: nothing was counted.
        show = self.inst.ctl("rate", "show", "127.0.0.71", check=True).stdout
        self.assertNotIn("tarpit_disconnect", show)

    def try_handoff(self):
        try:
            return self.handoff("127.0.0.73", 300)
        except (ConnectionRefusedError, FileNotFoundError):
            if self.tarpit is not None:
                self.tarpit.close()
                self.tarpit = None
            return None

    def test_stop_while_holding(self):
        held = [self.handoff("127.0.0.8%d" % i, 60000) for i in (1, 2)]
        self.wait_log(r"hold unknown\[127\.0\.0\.82\]")
        start = time.monotonic()
        self.inst.ctl("stop", check=True, timeout=20)
        self.inst.started = False
        self.assertLess(time.monotonic() - start, 10)
        for c in held:
            data, _ = c.read_all(timeout=5)
            self.assertEqual(data, b"")
        self.assertIn("closing 2 held connections", self.inst.log())
        self.assertFalse(os.path.exists(self.sock_path()))
        self.assertFalse(os.path.exists(self.sock_path("tarpit-ctl.sock")))


class TestDescriptorLimit(unittest.TestCase):
    """The tarpit raises its soft RLIMIT_NOFILE to what
    tarpit_max_connections needs, or, when the hard limit is lower, holds
    what fits and says so."""

    def start(self, conf, soft, hard):
        inst = Instance("tarpit = yes\nsmtpd_max_processes = 10\n" + conf)

        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        proc = subprocess.run([CTL, "-c", inst.dir, "start"], capture_output=True,
                              text=True, timeout=60, preexec_fn=limit,
                              stdin=subprocess.DEVNULL)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        inst.started = True
        return inst

    def limits(self, inst):
        pid = inst.pids("tarpit")[0]
        with open("/proc/%d/limits" % pid) as f:
            m = re.search(r"^Max open files +(\d+) +(\d+)", f.read(), re.M)
        return int(m.group(1)), int(m.group(2))

    def test_raised(self):
        inst = self.start("tarpit_max_connections = 3000\n", 512, 4096)
        try:
            # 3000 and the margin: 3 * smtpd_max_processes + 64.
            self.assertEqual(self.limits(inst), (3094, 4096))
            self.assertIn("ready: holding up to 3000 connections", inst.log())
            self.assertNotIn("descriptor limit", inst.log())
        finally:
            inst.cleanup()

    def test_hard_limit_too_low(self):
        inst = self.start("tarpit_max_connections = 3000\n", 512, 2048)
        try:
            self.assertEqual(self.limits(inst), (2048, 2048))
            self.assertIn("warning: the descriptor limit (2048, hard limit 2048) "
                          "lets the tarpit hold only 1954 connections, not "
                          "tarpit_max_connections = 3000; raise the hard limit "
                          "(ulimit -Hn, or LimitNOFILE= for systemd) to 3094",
                          inst.log())
            out = inst.ctl("status", check=True).stdout
            self.assertRegex(out, r"tarpit +tarpit +running +held 0 \(max 1954\)")
        finally:
            inst.cleanup()


class TestWhenWanted(unittest.TestCase):
    """master runs the tarpit only when a configuration can tarpit."""

    def check(self, conf, wanted):
        inst = Instance(conf)
        try:
            inst.start()
            self.assertEqual(bool(inst.pids("tarpit")), wanted)
            status = inst.ctl("status", check=True).stdout
            self.assertEqual(bool(re.search(r"^tarpit ", status, re.M)), wanted,
                             status)
        finally:
            inst.cleanup()

    def test_off_by_default(self):
        self.check("", False)

    def test_dnsbl_action_tarpit(self):
        self.check("dnsbl_action = tarpit\ndnsbl_sites = zen.example.invalid\n"
                   "dns_servers = 127.0.0.1:9\n", True)
        # Without blocklists nothing can be tarpitted by them.
        self.check("dnsbl_action = tarpit\n", False)


if __name__ == "__main__":
    unittest.main()
