#!/usr/bin/python3
"""Load for the tarpit daemon: opens N TCP connections from many loopback
source addresses to a listener of its own, hands the server end of each
to the tarpit over run_directory/tarpit.sock exactly as smtpd does (a
TARPIT_HOLD message and the descriptor in SCM_RIGHTS, spread over a few
connections as over a few smtpd workers), then keeps the client ends and
waits for their answers.  It measures the tarpit's memory idle, holding
them all and at its peak (VmRSS, VmHWM), the whole instance's, and how
late each client got its reply against its due time (hand-off plus
delay); it checks every reply is exactly the one given, then the end of
the connection.  Optionally runs a command while everything is held (the
clean load of bench/tarpit/run), N times.  Prints a summary and writes JSON.

  tp_load.py --run-dir DIR --tarpit-pid PID --master-pid PID
             [--connections 10000] [--delay-ms 60000] [--sources 40]
             [--workers 4] [--during CMD [--during-rounds N]] [--json FILE]
"""

import argparse
import json
import os
import select
import socket
import subprocess
import sys
import time

REPLY = b"550 5.7.1 Refused"


def hold_message(addr, delay_ms):
    return ("version=1\naddr=%s\nname=unknown\ndelay=%d\nrule=sender_rate_limit\n"
            "command=EHLO\nreply=%s\n" % (addr, delay_ms, REPLY.decode())).encode()


def proc_status(pid, field):
    """A kB figure of /proc/PID/status (VmRSS, VmHWM)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    """User and system CPU seconds of a process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid):
    kids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def instance_memory(master):
    """(sum of VmRSS, sum of Pss) in kB over master and its descendants:
    Pss shares each shared page among the processes that map it."""
    rss = pss = 0
    for pid in descendants(master):
        try:
            rss += proc_status(pid, "VmRSS")
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss


def tcp_kernel_pages():
    """TCP's buffer memory in the kernel, pages (/proc/net/sockstat)."""
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                parts = line.split()
                return int(parts[parts.index("mem") + 1])
    return 0


def tarpit_status(run_dir):
    """The tarpit's status reply (tarpit-ctl.sock), as a dict."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(os.path.join(run_dir, "tarpit-ctl.sock"))
    s.sendall(b"request=status\n\n")
    data = b""
    while data.count(b"\n\n") < 2:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    reply = data.split(b"\n\n")[1]
    return dict(line.split("=", 1) for line in reply.decode().splitlines())


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100.0 * len(values)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--tarpit-pid", type=int, required=True)
    ap.add_argument("--master-pid", type=int, required=True)
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--delay-ms", type=int, default=60000)
    ap.add_argument("--sources", type=int, default=40)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--during", default=None)
    ap.add_argument("--during-rounds", type=int, default=1)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    n = args.connections
    pid = args.tarpit_pid

    res = {"connections": n, "delay_ms": args.delay_ms}
    res["rss_idle_kb"] = proc_status(pid, "VmRSS")
    cpu0 = cpu_seconds(pid)
    res["instance_idle_kb"] = instance_memory(args.master_pid)
    res["tcp_kernel_pages_idle"] = tcp_kernel_pages()

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4096)
    workers = []
    for _ in range(args.workers):
        w = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        w.connect(os.path.join(args.run_dir, "tarpit.sock"))
        workers.append(w)

    ep = select.epoll()
    clients = {}                    # fd -> [sock, handed, answered, data]
    start = time.monotonic()
    for i in range(n):
        src = "127.0.0.%d" % (2 + i % args.sources)
        c = socket.socket()
        c.bind((src, 0))
        c.connect(listener.getsockname())
        s, _ = listener.accept()
        handed = time.monotonic()
        socket.send_fds(workers[i % len(workers)], [hold_message(src, args.delay_ms)],
                        [s.fileno()])
        s.close()
        c.setblocking(False)
        clients[c.fileno()] = [c, handed, None, b""]
        ep.register(c.fileno(), select.EPOLLIN)
        if (i + 1) % 2000 == 0:
            print("tp_load: %d handed over in %.1fs" % (i + 1, time.monotonic() - start),
                  flush=True)
    res["handoff_seconds"] = round(time.monotonic() - start, 2)

    # Until the tarpit has taken every hand-off off its socket.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        st = tarpit_status(args.run_dir)
        if int(st["held"]) + int(st["released"]) + int(st["early"]) \
                + int(st["disconnects"]) >= n:
            break
        time.sleep(0.1)
    res["status_held"] = tarpit_status(args.run_dir)
    res["rss_held_kb"] = proc_status(pid, "VmRSS")
    res["instance_held_kb"] = instance_memory(args.master_pid)
    res["tcp_kernel_pages_held"] = tcp_kernel_pages()
    print("tp_load: holding %s; tarpit VmRSS %d kB (idle %d kB)" % (
        res["status_held"]["held"], res["rss_held_kb"], res["rss_idle_kb"]), flush=True)

    if args.during:
        res["during"] = {"command": args.during, "seconds": [], "rc": []}
        for _ in range(args.during_rounds):
            t0 = time.monotonic()
            p = subprocess.run(args.during, shell=True, capture_output=True, text=True)
            res["during"]["seconds"].append(round(time.monotonic() - t0, 3))
            res["during"]["rc"].append(p.returncode)
            print("tp_load: during: %.2fs rc=%d" % (res["during"]["seconds"][-1],
                                                   p.returncode), flush=True)
        res["during"]["held_after"] = tarpit_status(args.run_dir)["held"]

    # The answers.
    left = len(clients)
    deadline = start + args.delay_ms / 1000.0 + res["handoff_seconds"] + 60
    bad = 0
    while left and time.monotonic() < deadline:
        for fd, _ in ep.poll(1.0):
            entry = clients[fd]
            try:
                chunk = entry[0].recv(4096)
            except (ConnectionResetError, BlockingIOError):
                chunk = b""
            now = time.monotonic()
            if chunk:
                if entry[2] is None:
                    entry[2] = now
                entry[3] += chunk
                continue
            ep.unregister(fd)
            entry[0].close()
            left -= 1
            if entry[3] != REPLY + b"\r\n":
                bad += 1
    res["rss_peak_kb"] = proc_status(pid, "VmHWM")
    res["tarpit_cpu_s"] = round(cpu_seconds(pid) - cpu0, 2)
    res["status_end"] = tarpit_status(args.run_dir)

    lateness = [c[2] - (c[1] + args.delay_ms / 1000.0)
                for c in clients.values() if c[2] is not None]
    res["answered"] = len(lateness)
    res["not_closed"] = left
    res["wrong_reply"] = bad
    res["early_answers"] = sum(1 for x in lateness if x < -0.01)
    res["late_over_1s"] = sum(1 for x in lateness if x > 1.0)
    res["lateness_ms"] = {
        "min": round(min(lateness) * 1000, 1) if lateness else None,
        "p50": round(percentile(lateness, 50) * 1000, 1) if lateness else None,
        "p99": round(percentile(lateness, 99) * 1000, 1) if lateness else None,
        "max": round(max(lateness) * 1000, 1) if lateness else None,
    }
    res["bytes_per_connection"] = round(
        (res["rss_held_kb"] - res["rss_idle_kb"]) * 1024.0 / n, 1)
    print(json.dumps(res, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    ok = (res["answered"] == n and bad == 0 and left == 0
          and res["late_over_1s"] == 0 and res["early_answers"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
