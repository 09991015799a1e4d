"""Harness for Alligate's system tests: a real instance in a temporary
directory on loopback ports, started and stopped through alligatectl, and
helpers to talk SMTP to it.  Python standard library only."""

import os
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
import unittest

TOP = os.environ.get("ALLIGATE_TOP", os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..")))
BIN = os.environ.get("ALLIGATE_BIN", os.path.join(TOP, "build", "bin"))
CTL = os.path.join(BIN, "alligatectl")


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=10.0, interval=0.05):
    """Polls predicate until it returns something true; returns that."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value or time.time() > deadline:
            return value
        time.sleep(interval)


class Instance:
    """One Alligate instance: its own configuration directory, queue,
    state, sockets and log, listening on a free loopback port."""

    def __init__(self, conf="", files=None, base=True):
        self.dir = tempfile.mkdtemp(prefix="alligate-test-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.conf_path = os.path.join(self.dir, "main.cf")
        self.log_path = os.path.join(self.dir, "log")
        self.queue = os.path.join(self.dir, "queue")
        lines = []
        if base:
            lines = [
                "smtp_listen = 127.0.0.1:%d" % self.port,
                "myhostname = mx.test.example",
                "local_domains = example.com, example.net",
                "daemon_directory = %s" % BIN,
                "queue_directory = %s" % self.queue,
                "data_directory = %s/data" % self.dir,
                "run_directory = %s/run" % self.dir,
                "log_file = %s" % self.log_path,
                "smtpd_spare_processes = 2",
                # Mail stays in the queue for the tests to inspect; the
                # relay tests turn delivery on.
                "defer_delivery = yes",
            ]
            if os.geteuid() == 0:
                lines.append("daemon_user = nobody")
        self.write_conf(conf, lines)
        for name, text in (files or {}).items():
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text)
        self.started = False

    def write_conf(self, conf="", lines=None):
        if lines is None:
            with open(self.conf_path) as f:
                lines = f.read().splitlines()
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n" + conf + "\n")

    def ctl(self, *args, check=False, timeout=60, input=None):
        """Runs alligatectl -c DIR ARGS; returns the CompletedProcess."""
        proc = subprocess.run([CTL, "-c", self.dir] + list(args),
                              capture_output=True, text=True, timeout=timeout,
                              input=input,
                              stdin=None if input is not None else subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise AssertionError("alligatectl %s: rc=%d\n%s%s" % (
                " ".join(args), proc.returncode, proc.stdout, proc.stderr))
        return proc

    def start(self):
        self.ctl("start", check=True)
        self.started = True
        return self

    def stop(self):
        if self.started:
            self.ctl("stop")
            self.started = False

    def cleanup(self):
        self.stop()
        pid = self.master_pid()
        if pid:
            try:
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def master_pid(self):
        try:
            with open(os.path.join(self.dir, "run", "master.pid")) as f:
                return int(f.read().strip() or 0)
        except (OSError, ValueError):
            return 0

    def pids(self, program):
        """Pids of this instance's processes running PROGRAM."""
        out = subprocess.run(["pgrep", "-f", "^%s .*-c %s( |$)" % (program, self.dir)],
                             capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def queue_files(self, sub="incoming"):
        path = os.path.join(self.queue, sub)
        try:
            return sorted(os.listdir(path))
        except OSError:
            return []

    def queue_file(self, qid, sub="incoming"):
        with open(os.path.join(self.queue, sub, qid), "rb") as f:
            return f.read()

    def smtp(self, **kw):
        """A connected smtplib.SMTP client."""
        s = smtplib.SMTP("127.0.0.1", self.port, timeout=kw.pop("timeout", 30), **kw)
        return s

    def raw(self, greet=True):
        """A connected RawClient; with greet, the 220 banner is read."""
        c = RawClient("127.0.0.1", self.port)
        if greet:
            code, _ = c.reply()
            assert code == 220, code
        return c


class RawClient:
    """A byte-exact SMTP client over a plain socket."""

    def __init__(self, host, port, timeout=30):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        """One reply line without CR LF, or None at EOF."""
        while b"\r\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def reply(self):
        """(code, [text lines]) of one possibly multi-line reply;
        (None, []) at EOF."""
        lines = []
        while True:
            line = self.line()
            if line is None:
                return None, lines
            lines.append(line[4:])
            if len(line) < 4 or line[3] != "-":
                return int(line[:3]), lines

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def closed(self, timeout=5):
        """True when the server closes the connection within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


class AlligateTestCase(unittest.TestCase):
    """Starts one instance per test (setUp) unless start = False; stops
    and removes it afterwards, keeping the log in the failure message."""

    conf = ""
    files = None
    start = True

    def setUp(self):
        self.inst = Instance(self.conf, self.files)
        if self.start:
            self.inst.start()

    def tearDown(self):
        outcome = getattr(self, "_outcome", None)
        failed = outcome is not None and not outcome.success
        if failed and os.environ.get("ALLIGATE_TEST_VERBOSE"):
            print("---- log of %s ----\n%s" % (self.id(), self.inst.log()[-4000:]))
        self.inst.cleanup()
