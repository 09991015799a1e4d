"""Stress: thousands of SMTP sessions of random valid and invalid input
against a running instance that relays to a capturing backend.

Clients in a thread pool send, in random mixes: full transactions (one
command at a time, or pipelined), random and unknown verbs, bad addresses
and parameters, over-long lines, bare LF and bare CR, NUL and 8-bit
bytes, HTTP requests, commands pipelined before the 354, SMTP smuggling
in the message, messages over the size limit, and abrupt ends: a close in
the middle of a command or of a message, and resets (RST).

Afterwards:
- master, ratekeeper and relay are the processes they were, and no smtpd
  died of anything but its own end;
- master and ratekeeper hold as many descriptors as after the warm-up
  (ratekeeper's connections from smtpd workers apart: at most one per
  live worker), and their memory grew by no more than a small bound;
- ratekeeper counts no open connection for the client any more;
- every message that got its 250 is at the backend or still queued, and
  no message whose transaction was cut, refused or smuggled is anywhere.

The seed is printed and can be fixed with STRESS_SEED; STRESS_SESSIONS
changes the number of sessions (default 3000)."""

import os
import random
import re
import socket
import struct
import sys
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from alligate_test import AlligateTestCase, relay_pid, wait_for
from smtp_backend import Backend

SESSIONS = int(os.environ.get("STRESS_SESSIONS", "3000"))
WARMUP = 200
CLIENTS = 40
SEED = int(os.environ.get("STRESS_SEED", str(int(time.time()))))
REPLY_TIMEOUT = 20                  # a reply later than this is a hang
RSS_GROWTH_KIB = 256                # master and ratekeeper, warm-up to end
SIZE_LIMIT = 65536

CONF = """\
defer_delivery = no
relay_host = %s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
queue_run_delay = 1s
smtpd_max_processes = 60
smtpd_soft_error_limit = 0
smtpd_timeout = 30s
message_size_limit = %d
sender_rate_limit = 1000000
smtpd_client_connection_count_limit = 1000
""" % ("%s", SIZE_LIMIT)

REPLY = re.compile(rb"^[2-5][0-9][0-9][ -]")
QUEUED = re.compile(rb"queued as ([0-9A-F]{19})")

VERBS = ["HELO", "EHLO", "MAIL FROM:", "RCPT TO:", "DATA", "RSET", "NOOP", "QUIT",
         "VRFY", "HELP", "EXPN", "TURN", "ETRN", "BDAT", "STARTTLS", "AUTH PLAIN",
         "XCLIENT", "mail from:", "rcpt to:", "Ehlo", "MAIL", "RCPT", "DATA x"]
ADDRESSES = [
    "<someone@example.com>", "<>", "<@relay.example:someone@example.com>",
    "someone@example.com", "<someone@@example.com>", "<someone@example.com",
    "<" + "x" * 300 + "@example.com>", "<someone@[127.0.0.1]>",
    "<someone@example.com> SIZE=99999999999", "<someone@example.com> SIZE=12",
    "<someone@example.com> BODY=8BITMIME", "<someone@example.com> BODY=NONSENSE",
    "<someone@example.com> FOO=BAR", "<\"quoted local\"@example.com>",
    "<m\xfcller@example.com> SMTPUTF8", "<someone@example.com> SMTPUTF8",
    "<someone@remote.example>", "<postmaster>", "<a b@example.com>",
    "<someone@-bad-.example>", "<someone@" + "d" * 250 + ".example>",
]


class Tally:
    """What the clients saw, shared by their threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.accepted = {}          # Message-ID -> queue id
        self.forbidden = set()      # Message-IDs that must be nowhere
        self.problems = []          # protocol violations, hangs
        self.sessions = 0
        self.kinds = {}

    def accept(self, msgid, qid):
        with self.lock:
            self.accepted[msgid] = qid

    def forbid(self, msgid):
        with self.lock:
            self.forbidden.add(msgid)

    def problem(self, text):
        with self.lock:
            self.problems.append(text)

    def count(self, kind):
        with self.lock:
            self.sessions += 1
            self.kinds[kind] = self.kinds.get(kind, 0) + 1


class Closed(Exception):
    """The server closed the connection."""


class Session:
    """One client connection, byte-exact, with a deadline on every
    reply: a server that takes longer is reported as hanging."""

    def __init__(self, port, tally, name):
        self.tally = tally
        self.name = name
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=REPLY_TIMEOUT)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        try:
            self.sock.sendall(data)
        except OSError:
            raise Closed()

    def reply(self):
        """(code, last line) of one possibly multi-line reply."""
        while True:
            while b"\r\n" not in self.buf:
                try:
                    chunk = self.sock.recv(65536)
                except socket.timeout:
                    self.tally.problem("%s: no reply within %ds" % (self.name, REPLY_TIMEOUT))
                    raise Closed()
                except OSError:
                    chunk = b""
                if not chunk:
                    raise Closed()
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            if not REPLY.match(line):
                self.tally.problem("%s: not an SMTP reply: %r" % (self.name, line[:100]))
                raise Closed()
            if line[3:4] == b" ":
                return int(line[:3]), line

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def close(self, how="quit"):
        try:
            if how == "quit":
                self.cmd("QUIT")
            elif how == "reset":
                # RST instead of FIN.
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                     struct.pack("ii", 1, 0))
        except Closed:
            pass
        self.sock.close()


def message(msgid, size, rnd):
    """A message with its Message-ID, about size bytes, dot-stuffed for
    the wire, with lines that start with dots now and then."""
    head = "From: <stress@client.test>\r\nSubject: %s\r\nMessage-ID: <%s>\r\n\r\n" % (msgid, msgid)
    lines = []
    total = len(head)
    while total < size:
        line = "".join(rnd.choice("abcdefghij .") for _ in range(rnd.randint(0, 120)))
        lines.append(line)
        total += len(line) + 2
    body = "".join(l + "\r\n" for l in lines)
    wire = (head + body).replace("\r\n.", "\r\n..")
    if wire.startswith("."):
        wire = "." + wire
    return wire + ".\r\n"


def transaction(s, tally, rnd, msgid, pipelined=False, size=None):
    """One MAIL, RCPT..., DATA; returns the reply code to the final dot,
    or None when the transaction did not get that far."""
    rcpts = ["user%d@example.com" % rnd.randint(0, 999) for _ in range(rnd.randint(1, 3))]
    size = size if size is not None else rnd.choice([200, 2000, 20000])
    if pipelined:
        s.send("MAIL FROM:<stress@client.test>\r\n"
               + "".join("RCPT TO:<%s>\r\n" % r for r in rcpts) + "DATA\r\n")
        codes = [s.reply()[0] for _ in range(len(rcpts) + 2)]
        if codes[-1] != 354:
            return None
    else:
        if s.cmd("MAIL FROM:<stress@client.test>")[0] != 250:
            return None
        for r in rcpts:
            s.cmd("RCPT TO:<%s>" % r)
        if s.cmd("DATA")[0] != 354:
            return None
    s.send(message(msgid, size, rnd))
    code, line = s.reply()
    if code == 250:
        m = QUEUED.search(line)
        tally.accept(msgid, m.group(1).decode() if m else "?")
    else:
        tally.forbid(msgid)
    return code


def junk_command(rnd):
    """A random command line, often wrong."""
    verb = rnd.choice(VERBS)
    if verb.endswith(":"):
        return verb + rnd.choice(ADDRESSES)
    kind = rnd.random()
    if kind < 0.5:
        return verb + (" " + rnd.choice(["client.test", "", "x" * 300, "a b c"])
                       if rnd.random() < 0.7 else "")
    if kind < 0.7:
        return "".join(rnd.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ:<>@ ") for _ in range(rnd.randint(1, 40)))
    if kind < 0.8:
        return verb + " " + "".join(chr(rnd.randint(0x80, 0xff)) for _ in range(20))
    if kind < 0.85:
        return verb + " \x00 nul"
    if kind < 0.9:
        return verb + " \x01\x7f control"
    return "NOOP " + "y" * rnd.choice([1000, 2100, 5000, 70000])


def run_session(port, tally, n):
    rnd = random.Random(SEED * 100003 + n)
    name = "session %d (seed %d)" % (n, SEED)
    pick = rnd.random()
    try:
        s = Session(port, tally, name)
    except OSError as e:
        tally.problem("%s: connect: %s" % (name, e))
        return
    try:
        if pick < 0.02:
            tally.count("connect and close")
            s.close(rnd.choice(["close", "reset"]))
            return
        if s.reply()[0] != 220:
            tally.problem("%s: no 220 greeting" % name)
            return
        if pick < 0.30:
            tally.count("valid transactions")
            s.cmd(rnd.choice(["EHLO client.test", "HELO client.test"]))
            for i in range(rnd.choice([1, 1, 1, 2, 3])):
                msgid = "stress.%d.%d.%d@client.test" % (SEED, n, i)
                code = transaction(s, tally, rnd, msgid)
                if code != 250:
                    tally.problem("%s: a plain transaction got %s" % (name, code))
                if rnd.random() < 0.3:
                    s.cmd("RSET")
            s.close(rnd.choice(["quit", "quit", "close"]))
        elif pick < 0.40:
            tally.count("pipelined transactions")
            s.cmd("EHLO client.test")
            msgid = "stress.%d.%d.p@client.test" % (SEED, n)
            if transaction(s, tally, rnd, msgid, pipelined=True) != 250:
                tally.problem("%s: a pipelined transaction did not get 250" % name)
            s.close("quit")
        elif pick < 0.45:
            tally.count("over the size limit")
            s.cmd("EHLO client.test")
            msgid = "stress.%d.%d.big@client.test" % (SEED, n)
            code = transaction(s, tally, rnd, msgid, size=SIZE_LIMIT + 5000)
            if code == 250:
                tally.problem("%s: a message over the size limit got 250" % name)
            s.close("quit")
        elif pick < 0.52:
            tally.count("smuggling")
            s.cmd("EHLO client.test")
            s.cmd("MAIL FROM:<stress@client.test>")
            s.cmd("RCPT TO:<someone@example.com>")
            if s.cmd("DATA")[0] == 354:
                outer = "smuggle.%d.%d@client.test" % (SEED, n)
                inner = "smuggled.%d.%d@client.test" % (SEED, n)
                tally.forbid(outer)
                tally.forbid(inner)
                end = rnd.choice(["\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r\n", "\r\n.\r"])
                s.send("Message-ID: <%s>\r\n\r\nhello%sMAIL FROM:<x@client.test>\r\n"
                       "RCPT TO:<victim@example.com>\r\nDATA\r\nMessage-ID: <%s>\r\n\r\n"
                       "smuggled\r\n.\r\n" % (outer, end, inner))
                code, _ = s.reply()
                if code == 250:
                    tally.problem("%s: smuggling with %r got 250" % (name, end))
            s.close("close")
        elif pick < 0.57:
            tally.count("pipelined before 354")
            msgid = "desync.%d.%d@client.test" % (SEED, n)
            tally.forbid(msgid)
            s.send("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<b@example.com>\r\n"
                   "DATA\r\nMessage-ID: <%s>\r\n\r\nearly\r\n.\r\n" % msgid)
            for _ in range(5):
                s.reply()
            s.close("close")
        elif pick < 0.67:
            tally.count("cut in the message")
            s.cmd("EHLO client.test")
            s.cmd("MAIL FROM:<stress@client.test>")
            s.cmd("RCPT TO:<someone@example.com>")
            if s.cmd("DATA")[0] == 354:
                msgid = "cut.%d.%d@client.test" % (SEED, n)
                tally.forbid(msgid)
                text = message(msgid, rnd.choice([100, 5000, 30000]), rnd)
                # Never the final dot, nor a line that ends in one.
                s.send(text[:rnd.randint(1, len(text) - 4)])
            s.close(rnd.choice(["close", "reset"]))
        elif pick < 0.72:
            tally.count("bare LF, bare CR, HTTP")
            s.cmd("EHLO client.test")
            s.send(rnd.choice(["NOOP\n", "NOOP\rNOOP\r\n", "GET / HTTP/1.0\r\n\r\n",
                               "POST /x HTTP/1.1\r\nHost: a\r\n\r\n", "MAIL FROM:<a@b>\n"]))
            try:
                while True:
                    s.reply()
            except Closed:
                pass
        else:
            tally.count("random commands")
            for _ in range(rnd.randint(1, 12)):
                line = junk_command(rnd)
                code, _ = s.cmd(line)
                if code == 354:
                    msgid = "junk.%d.%d.%d@client.test" % (SEED, n, rnd.randint(0, 1 << 30))
                    s.send(message(msgid, 300, rnd))
                    code, reply = s.reply()
                    if code == 250:
                        m = QUEUED.search(reply)
                        tally.accept(msgid, m.group(1).decode() if m else "?")
                    else:
                        tally.forbid(msgid)
                if code == 221 or code == 421:
                    break
            if rnd.random() < 0.2:
                s.send("NOOP partial line without its end")
            s.close(rnd.choice(["quit", "close", "reset"]))
    except Closed:
        pass
    finally:
        try:
            s.sock.close()
        except OSError:
            pass


def unix_listening_inodes():
    """Inodes of the listening Unix sockets (__SO_ACCEPTCON)."""
    with open("/proc/net/unix") as f:
        rows = f.read().splitlines()[1:]
    return {fields[6] for fields in (r.split() for r in rows)
            if len(fields) > 6 and int(fields[3], 16) & 0x10000}


def descriptors(pid):
    """(descriptors other than accepted connections, connections)."""
    listening = unix_listening_inodes()
    other, conns = [], 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]$", target)
        if m and m.group(1) not in listening:
            conns += 1
        else:
            other.append(target)
    return sorted(other), conns


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Stress(AlligateTestCase):
    def setUp(self):
        self.backend = Backend().start()
        self.addCleanup(self.backend.stop)
        self.conf = CONF % self.backend.relay_host
        super().setUp()

    def run_sessions(self, tally, first, count):
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            for f in [pool.submit(run_session, self.inst.port, tally, n)
                      for n in range(first, first + count)]:
                f.result()

    def snapshot(self):
        rk = self.inst.pids("ratekeeper")
        self.assertEqual(len(rk), 1, rk)
        return {
            "master": self.inst.master_pid(), "ratekeeper": rk[0],
            "relay": relay_pid(self.inst),
            "master_fds": descriptors(self.inst.master_pid()),
            "ratekeeper_fds": descriptors(rk[0]),
            "master_rss": rss_kib(self.inst.master_pid()),
            "ratekeeper_rss": rss_kib(rk[0]),
        }

    def quiet(self):
        """Waits until no session is left and the queue is empty."""
        def idle():
            out = self.inst.ctl("status").stdout
            m = re.search(r"\(busy (\d+),", out)
            return (m is None or m.group(1) == "0") and not any(
                self.inst.queue_files(sub) for sub in ("incoming", "deferred"))
        wait_for(idle, timeout=30, interval=0.2)

    def open_connections(self):
        out = self.inst.ctl("rate", "show", "127.0.0.1").stdout
        return sum(int(m.group(1)) for m in re.finditer(r"(\d+) open", out))

    def test_random_sessions(self):
        print("\n    stress: seed %d, %d sessions, %d clients" % (SEED, SESSIONS, CLIENTS),
              end=" ", file=sys.stderr, flush=True)
        tally = Tally()
        started = time.time()
        self.run_sessions(tally, 0, WARMUP)
        self.quiet()
        before = self.snapshot()
        self.run_sessions(tally, WARMUP, SESSIONS)
        self.quiet()
        after = self.snapshot()
        elapsed = time.time() - started
        log = self.inst.log()
        context = "seed %d; %s; log tail:\n%s" % (SEED, tally.kinds, log[-3000:])

        self.assertEqual(tally.problems, [], context)
        self.assertEqual(tally.sessions, WARMUP + SESSIONS)

        # The same processes, and no smtpd that died of anything else.
        for name in ("master", "ratekeeper", "relay"):
            self.assertEqual(after[name], before[name], name)
            self.assertTrue(os.path.exists("/proc/%d" % after[name]), name)
        for bad in ("killed by signal", "exit status", "panic", "fatal"):
            self.assertNotIn(bad, log, context)

        # No descriptor left behind, no memory growth.
        self.assertEqual(after["master_fds"], before["master_fds"])
        self.assertEqual(after["ratekeeper_fds"][0], before["ratekeeper_fds"][0])
        workers = len(self.inst.pids("smtpd"))
        self.assertLessEqual(after["ratekeeper_fds"][1], workers + 1,
                             "ratekeeper has more connections than there are workers")
        for name in ("master_rss", "ratekeeper_rss"):
            self.assertLessEqual(after[name] - before[name], RSS_GROWTH_KIB,
                                 "%s: %d KiB, then %d KiB" % (name, before[name], after[name]))
        self.assertTrue(wait_for(lambda: self.open_connections() == 0, timeout=10),
                        "ratekeeper still counts open connections")

        # Every 250 is at the backend (or still queued); nothing cut,
        # refused or smuggled is anywhere.
        def delivered():
            with self.backend.cond:
                msgs = list(self.backend.messages)
            found = set()
            for m in msgs:
                mid = re.search(rb"Message-ID: <([^>]*)>", m.data)
                if mid:
                    found.add(mid.group(1).decode())
            return found

        def queued():
            found = set()
            for sub in ("incoming", "deferred"):
                for qid in self.inst.queue_files(sub):
                    try:
                        data = self.inst.queue_entry(qid, sub).message
                    except OSError:     # delivered and removed meanwhile
                        continue
                    found.update(m.decode() for m in re.findall(rb"Message-ID: <([^>]*)>", data))
            return found

        wait_for(lambda: set(tally.accepted) <= delivered(), timeout=30, interval=0.2)
        everywhere = delivered() | queued()
        missing = sorted(set(tally.accepted) - everywhere)
        self.assertEqual(missing, [], "accepted, then lost: %s" % context)
        leaked = sorted(tally.forbidden & everywhere)
        self.assertEqual(leaked, [], "not accepted, yet delivered: %s" % context)
        self.assertGreater(len(tally.accepted), SESSIONS // 5)
        print("(%d accepted, %d refused or cut; RSS master %+d KiB, ratekeeper %+d KiB; "
              "%.0f s)" % (len(tally.accepted), len(tally.forbidden),
                           after["master_rss"] - before["master_rss"],
                           after["ratekeeper_rss"] - before["ratekeeper_rss"], elapsed),
              end=" ", file=sys.stderr, flush=True)


if __name__ == "__main__":
    unittest.main()
