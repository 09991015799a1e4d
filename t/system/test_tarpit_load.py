"""The tarpit under load and in trouble (issue 14), against the real
service: 2000 tarpitted connections held at once while a clean client is
served in well under a second (the smtpd workers hand them over and are
free again); the tarpit killed while it holds clients (they are closed,
master restarts it, new clients are tarpitted again); the tarpit's
socket missing (smtpd refuses at once, fail safe, and warns once per
worker, not once per client)."""

import os
import re
import resource
import selectors
import signal
import socket
import time

from alligate_test import SharedInstanceTestCase, wait_for
from tarpit_util import AT_ONCE, OK_MAIL, OK_RCPT, TarpitMixin, ratekeeper_ready

# relay_networks elsewhere: mail to elsewhere.test is then a relay
# attempt, the invalid recipient that breaks max_invalid_recipients.
BASE = ("relay_networks = 192.0.2.0/24\n"
        "tarpit = yes\n"
        "max_invalid_recipients = 1\n"
        "smtpd_greet_wait = 0\n")

HELD = 2000
SOURCES = ["127.0.1.%d" % i for i in range(1, 11)]


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Crowd:
    """Many SMTP clients from one process: each connects from its source
    address, waits for the 220, sends EHLO and then only listens."""

    def __init__(self, port, sources, count, in_flight=400):
        self.port = port
        self.todo = [sources[i % len(sources)] for i in range(count)]
        self.in_flight = in_flight
        self.sel = selectors.DefaultSelector()
        self.waiting = 0                # connecting or before the 220
        self.held = []                  # EHLO sent
        self.failed = []

    def _open(self, source):
        s = socket.socket()
        s.setblocking(False)
        s.bind((source, 0))
        s.connect_ex(("127.0.0.1", self.port))
        self.sel.register(s, selectors.EVENT_READ, b"")
        self.waiting += 1

    def run(self, timeout):
        """Until every client has sent its EHLO, or timeout."""
        deadline = time.monotonic() + timeout
        while (self.todo or self.waiting) and time.monotonic() < deadline:
            while self.todo and self.waiting < self.in_flight:
                self._open(self.todo.pop())
            for key, _ in self.sel.select(timeout=0.5):
                s, buf = key.fileobj, key.data
                try:
                    data = s.recv(4096)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as e:
                    data, buf = b"", repr(e).encode()
                self.sel.unregister(s)
                self.waiting -= 1
                buf += data
                if data and b"\r\n" not in buf:
                    self.sel.register(s, selectors.EVENT_READ, buf)
                    self.waiting += 1
                elif buf.startswith(b"220 ") and buf.endswith(b"\r\n"):
                    s.send(b"EHLO crowd.test.example\r\n")
                    self.held.append(s)
                else:
                    self.failed.append(buf)
                    s.close()
        return not self.todo and not self.waiting

    def answered(self):
        """The held clients that got anything (a reply or the end)."""
        got = 0
        for s in self.held:
            try:
                s.recv(1, socket.MSG_PEEK)
                got += 1
            except BlockingIOError:
                pass
            except OSError:
                got += 1
        return got

    def close(self):
        for s in self.held:
            s.close()
        self.sel.close()


class ManyHeld(TarpitMixin, SharedInstanceTestCase):
    DELAY = 300
    conf = BASE + ("tarpit_delay = 300s\n"
                   # One address has many sessions at once here.
                   "smtpd_client_connection_count_limit = 0\n")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        assert ratekeeper_ready(cls.inst)

    def test_2000_held_while_a_clean_client_is_served(self):
        self.assertGreaterEqual(raise_nofile(HELD + 500), HELD + 100)
        for source in SOURCES:
            self.hand_over_rcpt(source)
        crowd = Crowd(self.inst.port, SOURCES, HELD)
        self.addCleanup(crowd.close)
        self.assertTrue(crowd.run(timeout=120), "%d waiting, %d held, failed: %r" % (
            crowd.waiting, len(crowd.held), crowd.failed[:5]))
        self.assertEqual(crowd.failed, [])
        self.assertEqual(len(crowd.held), HELD)
        # Every one of them handed over, none answered.
        pattern = (r"(?m)NOQUEUE: tarpit: EHLO from unknown\[127\.0\.1\.\d+\]: "
                   r"550 5\.7\.1 Refused; proto=SMTP helo=<crowd\.test\.example> "
                   r"rule=overlimit overlimit=1$")
        self.assertTrue(wait_for(lambda: len(re.findall(pattern, self.inst.log_since(self.mark)))
                                 >= HELD, timeout=60),
                        "%d handed over" % len(re.findall(pattern, self.inst.log_since(self.mark))))
        self.assertEqual(crowd.answered(), 0)
        # A clean client's whole session, well under a second.
        start = time.monotonic()
        c = self.client("127.0.0.2")
        self.assertEqual(c.ehlo()[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<clean@remote.test>"), OK_MAIL)
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>"), OK_RCPT)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send("Subject: clean\r\n\r\nhello\r\n.\r\n")
        self.assertEqual(c.reply()[0], 250)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        self.assertLess(time.monotonic() - start, AT_ONCE)
        # Still held, all of them.
        self.assertEqual(crowd.answered(), 0)


class TarpitKilled(TarpitMixin, SharedInstanceTestCase):
    DELAY = 4
    conf = BASE + "tarpit_delay = 4s\n"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        assert ratekeeper_ready(cls.inst)

    def test_killed_mid_hold_closes_clients_and_comes_back(self):
        held = [self.hand_over_rcpt("127.0.2.1")]
        for _ in range(2):
            c = self.client("127.0.2.1")
            self.assertHeld(c, "EHLO client.test.example")
            held.append(c)
        pids = self.inst.pids("tarpit")
        self.assertEqual(len(pids), 1, pids)
        os.kill(pids[0], signal.SIGKILL)
        # The held clients are closed, without the refusal.
        for c in held:
            c.sock.settimeout(3)
            self.assertIsNone(c.line())
        # master starts it again, and new clients are tarpitted again.
        self.assertTrue(wait_for(lambda: [p for p in self.inst.pids("tarpit")
                                          if p != pids[0]], timeout=15),
                        self.inst.log_since(self.mark)[-2000:])
        sock = os.path.join(self.inst.dir, "run", "tarpit.sock")

        def listening():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            try:
                s.connect(sock)
                return True
            except OSError:
                return False
            finally:
                s.close()
        self.assertTrue(wait_for(listening, timeout=10))
        for _ in range(3):
            c = self.client("127.0.2.1")
            self.assertTarpitted(c, "EHLO client.test.example")


class TarpitMissing(TarpitMixin, SharedInstanceTestCase):
    DELAY = 3
    conf = BASE + "tarpit_delay = 3s\n"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        assert ratekeeper_ready(cls.inst)

    def test_fail_safe_without_the_tarpit(self):
        sock = os.path.join(self.inst.dir, "run", "tarpit.sock")
        self.assertTrue(wait_for(lambda: os.path.exists(sock)))
        os.rename(sock, sock + ".away")
        try:
            # The rule breaker: refused at once, as if there were no tarpit.
            c = self.client("127.0.3.1")
            self.assertEqual(c.ehlo()[0], 250)
            self.assertEqual(c.cmd("MAIL FROM:<x@remote.test>"), OK_MAIL)
            self.assertRefusedAtOnce(c, "RCPT TO:<x@elsewhere.test>")
            self.assertLogged(r"NOQUEUE: reject: RCPT from unknown\[127\.0\.3\.1\]: "
                              r"550 5\.7\.1 Refused; from=<x@remote\.test> "
                              r"to=<x@elsewhere\.test> proto=ESMTP "
                              r"helo=<client\.test\.example> "
                              r"rule=max_invalid_recipients tarpit=unavailable$")
            # Its next connections: their EHLO too.
            for _ in range(6):
                c = self.client("127.0.3.1")
                self.assertRefusedAtOnce(c, "EHLO client.test.example")
            self.assertLogged(r"NOQUEUE: reject: EHLO from unknown\[127\.0\.3\.1\]: "
                              r"550 5\.7\.1 Refused; proto=SMTP "
                              r"helo=<client\.test\.example> "
                              r"rule=overlimit overlimit=1 tarpit=unavailable$")
            log = self.inst.log_since(self.mark)
            refused = re.findall(r"smtpd\[(\d+)\]: NOQUEUE: reject: .*tarpit=unavailable", log)
            warned = re.findall(r"smtpd\[(\d+)\]: warning: tarpit: cannot hand "
                                r"unknown\[127\.0\.3\.1\] over: ", log)
            self.assertEqual(len(refused), 7)
            # Once a minute per worker, not once per client.
            self.assertEqual(sorted(warned), sorted(set(refused)))
        finally:
            os.rename(sock + ".away", sock)
        # The tarpit back: tarpitted again.
        c = self.client("127.0.3.1")
        self.assertTarpitted(c, "EHLO client.test.example")
