"""A real redis-server for the system tests of ratekeeper_backend =
redis: started by the test on a free loopback port, without persistence
(--save "" --appendonly no), in a directory of its own; and a minimal
RESP client (Python standard library only) to look at what it holds."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from alligate_test import free_port, wait_for


class RedisServer:
    def __init__(self, port=None, extra=()):
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="alligate-redis-")
        self.extra = list(extra)
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self.dir,
             "--logfile", os.path.join(self.dir, "redis.log"),
             "--daemonize", "no"] + self.extra,
            stdin=subprocess.DEVNULL)
        if not wait_for(self.answers, timeout=10):
            raise AssertionError("redis-server on port %d does not answer" % self.port)
        return self

    def answers(self):
        try:
            return self.command("PING") == "PONG"
        except OSError:
            return False

    def stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def pause(self, stop=True):
        os.kill(self.proc.pid, signal.SIGSTOP if stop else signal.SIGCONT)

    def cleanup(self):
        if self.proc is not None:
            try:
                self.pause(False)
            except OSError:
                pass
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def command(self, *args):
        """One command; its reply as str, int, None or a list."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            out = b"*%d\r\n" % len(args)
            for a in args:
                a = a.encode() if isinstance(a, str) else a
                out += b"$%d\r\n%s\r\n" % (len(a), a)
            s.sendall(out)
            return _Reader(s).reply()


class _Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise OSError("connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exactly(self, n):
        while len(self.buf) < n + 2:
            data = self.sock.recv(65536)
            if not data:
                raise OSError("connection closed")
            self.buf += data
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:].decode()
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RuntimeError(rest)
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exactly(n).decode("utf-8", "replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise OSError("bad reply %r" % line)


def ratekeeper_request(inst, **attrs):
    """One request straight to the instance's ratekeeper socket (the
    protocol of lib/rk_clnt.h), as smtpd or the tarpit send them; the
    reply's attributes as a dict."""
    path = os.path.join(inst.dir, "run", "ratekeeper.sock")
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(path)
        f = s.makefile("rwb")
        greeting = _read_message(f)
        assert greeting.get("proto") == "ratekeeper", greeting
        f.write("".join("%s=%s\n" % kv for kv in attrs.items()).encode() + b"\n")
        f.flush()
        return _read_message(f)


def _read_message(f):
    attrs = {}
    while True:
        line = f.readline().decode()
        if line in ("\n", ""):
            return attrs
        name, _, value = line.rstrip("\n").partition("=")
        attrs[name] = value
