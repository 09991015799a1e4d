#!/usr/bin/python3
"""Tarpitted clients through the real path (bench/tarpit/run VIA_SMTPD=1):
SMTP clients from many loopback source addresses that smtpd itself
tarpits and hands to the tarpit.  The first connection from each address
breaks max_invalid_recipients (EHLO, MAIL, one RCPT to a domain that is
not ours: that RCPT is tarpitted); once every breaker is held, the rest
connect from the same addresses, which are now over the limit for
tarpit_penalty_time, and their EHLO is tarpitted.  At most --inflight
clients are between connect and their last command at a time, so that
the hand-offs go at the pace smtpd takes them.

It measures how fast smtpd handed them over, the tarpit's memory (VmRSS
idle, holding, peak) and the whole instance's, the kernel's TCP memory,
and for each client how late its reply came against its due time (the
moment it sent the command the reply answers, plus the delay); each
must get exactly the refusal, then the end of the connection, and no
earlier reply.  Optionally runs a command while all are held (the clean
load), and keeps reading the answers meanwhile.  Prints a summary and
writes JSON.

  tp_smtpd_load.py --port PORT --run-dir DIR --tarpit-pid PID --master-pid PID
                   [--connections 10000] [--addresses 1000] [--delay-ms 60000]
                   [--net 1] [--no-breakers] [--inflight 20] [--arrival-per-s R]
                   [--during CMD [--during-rounds N]] [--json FILE]

With --arrival-per-s, the clients after the breakers come at that rate
instead of all at once, and the command runs once the tarpit holds a
steady number (rate times delay), the clients still coming.
"""

import argparse
import errno
import json
import os
import select
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tp_load import (cpu_seconds, instance_memory, percentile, proc_status,  # noqa: E402
                     tarpit_status, tcp_kernel_pages)

REPLY = b"550 5.7.1 Refused\r\n"
IP_BIND_ADDRESS_NO_PORT = 24
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)

CONNECTING, BANNER, EHLO, MAIL, WAITING, DONE = range(6)


def source(net, i):
    """The i-th source address of 127.NET.0.0/16 (NET >= 1: never
    127.0.0.x, the clean load's)."""
    return "127.%d.%d.%d" % (net, i // 250, 1 + i % 250)


def tcp_slab_kb():
    """The kernel's TCP socket objects (slab caches TCP, TCPv6), kB."""
    total = 0
    try:
        with open("/proc/slabinfo") as f:
            for line in f:
                parts = line.split()
                if parts and parts[0] in ("TCP", "TCPv6"):
                    total += int(parts[2]) * int(parts[3])
    except OSError:
        return None
    return total // 1024


class Client:
    __slots__ = ("sock", "src", "breaker", "state", "buf", "sent", "first", "data",
                 "ok")

    def __init__(self, sock, src, breaker):
        self.sock = sock
        self.src = src
        self.breaker = breaker
        self.state = CONNECTING
        self.buf = b""
        self.sent = None        # when the command the tarpit answers went
        self.first = None       # when its first byte came back (both
                                # CLOCK_REALTIME, the kernel's timestamps)
        self.data = b""
        self.ok = False         # exactly the refusal, then the end


class Load:
    def __init__(self, args):
        self.args = args
        self.ep = select.epoll()
        self.clients = {}       # fd -> client, while open (fds are reused)
        self.all = []           # every client, in order
        self.inflight = 0
        self.wrong = []         # (address, what): not tarpitted as it should be
        self.errors = {}
        self.start = None
        self.served = {}        # first reply line -> clients served, not held
        self.replace = 0        # served clients not replaced yet

    def error(self, what):
        self.errors[what] = self.errors.get(what, 0) + 1

    def open(self, src, breaker):
        s = socket.socket()
        s.setsockopt(socket.SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        # The kernel's time of arrival of each reply, not when this
        # process got round to reading it.
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        s.bind((src, 0))
        s.setblocking(False)
        err = s.connect_ex(("127.0.0.1", self.args.port))
        if err not in (0, errno.EINPROGRESS):
            s.close()
            self.error("connect: %s" % os.strerror(err))
            return
        c = Client(s, src, breaker)
        self.clients[s.fileno()] = c
        self.all.append(c)
        self.ep.register(s.fileno(), select.EPOLLOUT)
        self.inflight += 1

    def finish(self, c, what=None):
        fd = c.sock.fileno()
        if c.state != WAITING:
            self.inflight -= 1
        if what:
            self.wrong.append((c.src, what))
        elif c.state == WAITING:
            c.ok = c.data == REPLY
        self.ep.unregister(fd)
        del self.clients[fd]
        c.sock.close()
        c.state = DONE

    def serve(self, c):
        """Served, not held: smtpd did not know the address was over the
        limit (when ratekeeper does not answer within ratekeeper_timeout,
        smtpd goes on without the limits: fail open).  It leaves, and
        another client comes instead."""
        line = c.data.split(b"\r\n")[0].decode(errors="replace")
        self.served[line] = self.served.get(line, 0) + 1
        self.replace += 1
        try:
            c.sock.send(b"QUIT\r\n")
        except OSError:
            pass
        self.finish(c, None)

    def send(self, c, line, state):
        # Read before the send: the command cannot have gone earlier, and
        # a process preempted after the send would otherwise date it late
        # and make an answer on time look early.
        now = time.time()
        try:
            c.sock.send(line)
        except OSError as e:
            self.finish(c, "send: %s" % e)
            return
        c.state = state
        if state == WAITING:
            c.sent = now
            self.inflight -= 1

    @staticmethod
    def reply(c):
        """A whole reply out of c.buf: (code, text), or None."""
        end = 0
        while True:
            nl = c.buf.find(b"\n", end)
            if nl < 0:
                return None
            line = c.buf[end:nl + 1]
            end = nl + 1
            if len(line) >= 4 and line[3:4] != b"-":
                c.buf = c.buf[end:]
                return int(line[:3]) if line[:3].isdigit() else 0, line

    def event(self, fd, ev):
        c = self.clients[fd]
        if c.state == CONNECTING:
            err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.error("connect: %s" % os.strerror(err))
                self.finish(c)
                return
            c.state = BANNER
            self.ep.modify(fd, select.EPOLLIN)
            return
        now = None
        try:
            chunk, anc, _, _ = c.sock.recvmsg(4096, socket.CMSG_SPACE(16))
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", data[:16])
                    now = sec + nsec / 1e9
        except ConnectionResetError:
            chunk = None
        except BlockingIOError:
            return
        if now is None:
            now = time.time()
        if c.state == WAITING:
            if chunk:
                if c.first is None:
                    c.first = now
                c.data += chunk
                if len(c.data) >= 4 and not c.data.startswith(b"550 "):
                    self.serve(c)
                return
            self.finish(c, None if c.data == REPLY else "got %r" % c.data[:60])
            return
        if not chunk:
            self.finish(c, "closed before the tarpit (%d)" % c.state)
            return
        c.buf += chunk
        r = self.reply(c)
        if r is None:
            return
        code, line = r
        if c.state == BANNER:
            if code != 220:
                self.finish(c, "greeting %r" % line)
            elif c.breaker:
                self.send(c, b"EHLO spam.bench.example\r\n", EHLO)
            else:
                self.send(c, b"EHLO spam.bench.example\r\n", WAITING)
        elif c.state == EHLO:
            if code != 250:
                self.finish(c, "EHLO %r" % line)
            else:
                self.send(c, b"MAIL FROM:<spam@spam.bench.example>\r\n", MAIL)
        elif c.state == MAIL:
            if code != 250:
                self.finish(c, "MAIL %r" % line)
            else:
                self.send(c, b"RCPT TO:<victim@elsewhere.bench.example>\r\n", WAITING)

    def poll(self, timeout):
        for fd, ev in self.ep.poll(timeout):
            if fd in self.clients:
                self.event(fd, ev)

    def open_all(self, sources, breaker, status_every=2000):
        start = time.monotonic()
        for i, src in enumerate(sources):
            while self.inflight >= self.args.inflight:
                self.poll(1.0)
            self.open(src, breaker)
            if (i + 1) % status_every == 0:
                print("tp_smtpd_load: %d %s opened in %.1fs" % (
                      i + 1, "breakers" if breaker else "clients",
                      time.monotonic() - start), flush=True)
        while self.inflight > 0:
            self.poll(1.0)

    def waiting(self):
        return sum(1 for c in self.clients.values() if c.state == WAITING)


    def held(self):
        st = tarpit_status(self.args.run_dir)
        return int(st["held"])

    def wait_held(self, n, limit):
        """Reads answers meanwhile; until the tarpit holds n."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.held() >= n:
                return True
            self.poll(0.1)
        return False


def measure_held(res, args, load):
    res["status_held"] = tarpit_status(args.run_dir)
    res["held"] = int(res["status_held"]["held"])
    res["rss_held_kb"] = proc_status(args.tarpit_pid, "VmRSS")
    res["instance_held_kb"] = instance_memory(args.master_pid)
    res["tcp_kernel_pages_held"] = tcp_kernel_pages()
    res["tcp_slab_held_kb"] = tcp_slab_kb()
    res["smtpd_processes_held"] = len(subprocess.run(
        ["pgrep", "-P", str(args.master_pid), "-x", "smtpd"],
        capture_output=True, text=True).stdout.split())
    print("tp_smtpd_load: holding %d; tarpit VmRSS %d kB (idle %d kB)" % (
        res["held"], res["rss_held_kb"], res["rss_idle_kb"]), flush=True)


class During:
    """The command, --during-rounds times one after the other, while the
    load goes on: poll() says when the last has ended."""

    def __init__(self, res, args):
        self.res, self.args = res, args
        res["during"] = {"command": args.during, "seconds": [], "rc": [],
                         "held_before": [], "held_after": []}
        self.start()

    def start(self):
        self.res["during"]["held_before"].append(
            int(tarpit_status(self.args.run_dir)["held"]))
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(self.args.during, shell=True,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def poll(self):
        """True when the last round has ended."""
        if self.p.poll() is None:
            return False
        d = self.res["during"]
        d["seconds"].append(round(time.monotonic() - self.t0, 3))
        d["rc"].append(self.p.returncode)
        d["held_after"].append(int(tarpit_status(self.args.run_dir)["held"]))
        print("tp_smtpd_load: during: %.2fs rc=%d, held %d before and %d after" % (
              d["seconds"][-1], d["rc"][-1], d["held_before"][-1], d["held_after"][-1]),
              flush=True)
        if len(d["seconds"]) >= self.args.during_rounds:
            return True
        self.start()
        return False


def fill(res, args, load, rest):
    """All at once, as fast as smtpd takes them; then the command."""
    load.open_all(rest, False)
    # The clients smtpd served instead come again, from other addresses.
    sources, replaced, i = rest or [source(args.net, 0)], 0, 0
    while load.replace and replaced < len(rest) // 10:
        again = [sources[(i + k) * 7 % len(sources)] for k in range(load.replace)]
        i += load.replace
        replaced += load.replace
        load.replace = 0
        load.open_all(again, False)
    res["replaced"] = replaced
    res["handoff_seconds"] = round(time.monotonic() - load.start, 2)
    load.wait_held(load.waiting(), 30)
    measure_held(res, args, load)
    if args.during:
        during = During(res, args)
        while not during.poll():
            load.poll(0.05)


def arrive(res, args, load, rest):
    """New clients at --arrival-per-s, as a steady stream of spam would
    come: after the delay (and a few seconds more) as many leave as
    arrive, the tarpit holds about rate times delay, and the command runs
    then, the clients still arriving; they stop when it ends."""
    rate, warm = args.arrival_per_s, args.delay_ms / 1000.0 + 5
    t0, opened, during = time.monotonic(), 0, None
    while True:
        now = time.monotonic()
        due = int((now - t0) * rate)
        while opened < due and load.inflight < args.inflight:
            load.open(rest[opened % len(rest)], False)
            opened += 1
        load.poll(0.005)
        if during is None and now - t0 >= warm:
            measure_held(res, args, load)
            if not args.during:
                break
            during = During(res, args)
        elif during is not None and during.poll():
            break
    while load.inflight > 0:
        load.poll(1.0)
    res["arrival_per_s"] = rate
    res["arrival_seconds"] = round(time.monotonic() - t0, 2)
    res["arrived"] = opened
    res["handoff_seconds"] = round(time.monotonic() - load.start, 2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--tarpit-pid", type=int, required=True)
    ap.add_argument("--master-pid", type=int, required=True)
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--addresses", type=int, default=1000)
    ap.add_argument("--net", type=int, default=1,
                    help="the addresses are 127.NET.x.y: a new NET for each "
                    "run on one instance, whose addresses are still over "
                    "the limit from the last")
    ap.add_argument("--delay-ms", type=int, default=60000)
    ap.add_argument("--inflight", type=int, default=20)
    ap.add_argument("--arrival-per-s", type=float, default=0)
    ap.add_argument("--no-breakers", action="store_true",
                    help="the addresses are over the limit already (an "
                    "earlier run's on the same NET): every client is "
                    "tarpitted at EHLO")
    ap.add_argument("--during", default=None)
    ap.add_argument("--during-rounds", type=int, default=1)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    pid = args.tarpit_pid
    addresses = min(args.addresses, args.connections)
    load = Load(args)

    res = {"addresses": addresses, "delay_ms": args.delay_ms, "via": "smtpd",
           "inflight": args.inflight}
    st0 = tarpit_status(args.run_dir)
    base = int(st0["released"]) + int(st0["disconnects"]) + int(st0["early"])
    res["rss_idle_kb"] = proc_status(pid, "VmRSS")
    cpu0 = cpu_seconds(pid)
    res["instance_idle_kb"] = instance_memory(args.master_pid)
    res["tcp_kernel_pages_idle"] = tcp_kernel_pages()
    res["tcp_slab_idle_kb"] = tcp_slab_kb()
    res["smtpd_processes_idle"] = len(subprocess.run(
        ["pgrep", "-P", str(args.master_pid), "-x", "smtpd"],
        capture_output=True, text=True).stdout.split())

    load.start = time.monotonic()
    sources = [source(args.net, i) for i in range(addresses)]
    if args.no_breakers:
        rest = [sources[i % addresses] for i in range(args.connections)]
    else:
        load.open_all(sources, True)
        # Each breaker's penalty is recorded before its hand-off: once
        # all are held, every address is over the limit.
        if not load.wait_held(addresses - len(load.wrong), 60):
            print("tp_smtpd_load: the breakers were not all held", file=sys.stderr)
        res["breakers_seconds"] = round(time.monotonic() - load.start, 2)
        rest = [sources[i % addresses] for i in range(args.connections - addresses)]
    if args.arrival_per_s > 0:
        arrive(res, args, load, sources)
    else:
        fill(res, args, load, rest)
    n = len(load.all)
    res["connections"] = n
    res["handoffs_per_s"] = round(n / res["handoff_seconds"], 1)
    print("tp_smtpd_load: %d clients through smtpd in %.1fs, %d served instead "
          "of held (fail open), %d not as expected" % (
              n, res["handoff_seconds"], sum(load.served.values()),
              len(load.wrong)), flush=True)

    # The answers.
    deadline = time.monotonic() + args.delay_ms / 1000.0 + 60
    while time.monotonic() < deadline and load.waiting():
        load.poll(1.0)
    res["rss_peak_kb"] = proc_status(pid, "VmHWM")
    res["tarpit_cpu_s"] = round(cpu_seconds(pid) - cpu0, 2)
    res["status_end"] = tarpit_status(args.run_dir)

    delay = args.delay_ms / 1000.0
    answered = [c for c in load.all if c.ok]
    lateness = [c.first - (c.sent + delay) for c in answered]
    served = sum(load.served.values())
    res["served_not_held"] = served
    res["served_first_lines"] = load.served
    res["answered"] = len(answered)
    res["not_closed"] = load.waiting()
    res["wrong"] = res["wrong_reply"] = len(load.wrong)
    res["wrong_examples"] = load.wrong[:10]
    res["errors"] = load.errors
    # The tarpit's clock counts whole milliseconds: an answer may come up
    # to one before the exact instant; earlier than that is early.
    res["early_answers"] = sum(1 for x in lateness if x < -0.001)
    res["late_over_1s"] = sum(1 for x in lateness if x > 1.0)
    res["lateness_ms"] = {
        "min": round(min(lateness) * 1000, 1) if lateness else None,
        "p50": round(percentile(lateness, 50) * 1000, 1) if lateness else None,
        "p99": round(percentile(lateness, 99) * 1000, 1) if lateness else None,
        "max": round(max(lateness) * 1000, 1) if lateness else None,
    }
    res["bytes_per_connection"] = round(
        (res["rss_held_kb"] - res["rss_idle_kb"]) * 1024.0 / max(res["held"], 1), 1)
    st = res["status_end"]
    res["tarpit_counted"] = (int(st["released"]) + int(st["disconnects"])
                             + int(st["early"]) - base)
    print(json.dumps(res, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    ok = (res["answered"] == n - served and not load.wrong and not load.errors
          and res["late_over_1s"] == 0 and res["early_answers"] == 0
          and res["not_closed"] == 0 and res["tarpit_counted"] == n - served)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
