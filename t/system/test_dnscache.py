"""dnscache against a real DNS server: dnsmasq, started here on a
loopback port with PTR, A and junk records.  alligatectl dns lookup
shows the verified name; a PTR name that does not resolve back is
unverified; junk PTR names are discarded; an address without PTR has no
name; the cache survives a restart of dnscache (dnsmasq sees no second
query); master runs dnscache whatever the configuration (alligatectl
dns answers a new user's) and restarts it when it is killed."""

import heapq
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from alligate_test import AlligateTestCase, Instance, free_port, wait_for

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"


class Dnsmasq:
    """A dnsmasq on 127.0.0.1:PORT that knows only the records given and
    logs every query it receives to a file."""

    def __init__(self, records):
        self.dir = tempfile.mkdtemp(prefix="alligate-dnsmasq-")
        self.port = free_port()
        self.log_path = os.path.join(self.dir, "queries.log")
        args = [DNSMASQ, "--no-daemon", "--port=%d" % self.port,
                "--listen-address=127.0.0.1", "--bind-interfaces",
                "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
                "--log-queries", "--log-facility=%s" % self.log_path,
                "--pid-file="]
        self.proc = subprocess.Popen(args + records,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        if not wait_for(lambda: "started" in self.log(), timeout=5):
            self.stop()
            raise AssertionError("dnsmasq did not start")

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def queries(self, name):
        """How many queries for name dnsmasq received."""
        return sum(1 for line in self.log().splitlines()
                   if "query[" in line and " %s from " % name in line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


RECORDS = [
    # Names under test.example and 2.0.192.in-addr.arpa are answered here
    # only: NXDOMAIN for the rest, never a forward upstream.
    "--local=/test.example/", "--local=/2.0.192.in-addr.arpa/",
    # PTR and A both ways: verified.
    "--host-record=good.test.example,192.0.2.10",
    # A PTR whose name resolves elsewhere: unverified.
    "--ptr-record=11.2.0.192.in-addr.arpa,liar.test.example",
    "--address=/liar.test.example/192.0.2.99",
    # A junk name (underscore) that does resolve back: discarded anyway.
    "--ptr-record=12.2.0.192.in-addr.arpa,bad_name.test.example",
    "--host-record=bad_name.test.example,192.0.2.12",
    # Two PTR names, the first without an address, the second good.
    "--ptr-record=14.2.0.192.in-addr.arpa,gone.test.example",
    "--ptr-record=14.2.0.192.in-addr.arpa,second.test.example",
    "--host-record=second.test.example,192.0.2.14",
]


class DnscacheClient:
    """dnscache's protocol (lib/dc_clnt.h) over its socket, as smtpd
    speaks it."""

    def __init__(self, inst, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(timeout)
        self.sock.connect(os.path.join(inst.dir, "run", "dnscache.sock"))
        self.buf = b""
        greeting = self.message()
        assert greeting == {"proto": "dnscache", "version": "1"}, greeting

    def send(self, **attrs):
        self.sock.sendall("".join("%s=%s\n" % kv for kv in attrs.items())
                          .encode() + b"\n")

    def message(self):
        while b"\n\n" not in self.buf:
            data = self.sock.recv(4096)
            if not data:
                raise EOFError("dnscache closed the connection")
            self.buf += data
        text, self.buf = self.buf.split(b"\n\n", 1)
        return dict(line.split("=", 1) for line in text.decode().splitlines())

    def close(self):
        self.sock.close()


def lookup(inst, addr, *opts):
    proc = inst.ctl("dns", "lookup", *opts, addr, check=True)
    return dict(line.split(": ", 1) for line in proc.stdout.splitlines())


class DnscacheTest(AlligateTestCase):
    start = False

    def setUp(self):
        super().setUp()
        self.dns = Dnsmasq(RECORDS)
        self.inst.write_conf("resolve_remote_hosts = yes\n"
                             "dns_servers = 127.0.0.1:%d\n" % self.dns.port)
        self.inst.start()

    def tearDown(self):
        self.dns.stop()
        super().tearDown()

    def test_verified_name(self):
        out = lookup(self.inst, "192.0.2.10")
        self.assertEqual(out["result"], "ok")
        self.assertEqual(out["verified"], "good.test.example")
        self.assertEqual(out["ptr"], "good.test.example")
        self.assertEqual(out["source"], "lookup")
        out = lookup(self.inst, "192.0.2.10")
        self.assertEqual(out["verified"], "good.test.example")
        self.assertEqual(out["source"], "cache")
        # dns_cache_min_ttl (1m) over dnsmasq's TTL of 0
        self.assertTrue(50 <= int(out["ttl"].rstrip("s")) <= 60, out)

    def test_unverified_name(self):
        out = lookup(self.inst, "192.0.2.11")
        self.assertEqual(out["result"], "ok")
        self.assertEqual(out["verified"], "-")
        self.assertEqual(out["unverified"], "liar.test.example")

    def test_junk_name_discarded(self):
        out = lookup(self.inst, "192.0.2.12")
        self.assertEqual(out["verified"], "-")
        self.assertEqual(out["ptr"], "-")
        self.assertEqual(out["unverified"], "-")

    def test_second_name_verified(self):
        out = lookup(self.inst, "192.0.2.14")
        self.assertEqual(out["verified"], "second.test.example")

    def test_no_ptr(self):
        out = lookup(self.inst, "192.0.2.13")
        self.assertEqual(out["result"], "none")
        self.assertEqual(out["verified"], "-")
        # dns_negative_ttl, 10m
        self.assertTrue(590 <= int(out["ttl"].rstrip("s")) <= 600, out)

    def test_flush_and_stats(self):
        lookup(self.inst, "192.0.2.10")
        lookup(self.inst, "192.0.2.10")
        stats = dict(line.split(": ", 1) for line in
                     self.inst.ctl("dns", "stats", check=True).stdout.splitlines())
        self.assertEqual(stats["entries"], "1")
        self.assertEqual(stats["hits"], "1")
        self.assertEqual(stats["misses"], "1")
        self.assertEqual(self.inst.ctl("dns", "flush", "192.0.2.10",
                                       check=True).stdout, "removed: 1\n")
        self.assertEqual(lookup(self.inst, "192.0.2.10")["source"], "lookup")

    def test_cache_survives_restart(self):
        name = "10.2.0.192.in-addr.arpa"
        self.assertEqual(lookup(self.inst, "192.0.2.10")["verified"],
                         "good.test.example")
        self.assertEqual(self.dns.queries(name), 1)
        self.inst.stop()
        self.inst.start()
        out = lookup(self.inst, "192.0.2.10")
        self.assertEqual(out["verified"], "good.test.example")
        self.assertEqual(out["source"], "cache")
        self.assertEqual(self.dns.queries(name), 1)

    def test_killed_dnscache_comes_back(self):
        pids = wait_for(lambda: self.inst.pids("dnscache"))
        self.assertEqual(len(pids), 1)
        os.kill(pids[0], signal.SIGKILL)
        new = wait_for(lambda: [p for p in self.inst.pids("dnscache")
                                if p != pids[0]], timeout=15)
        self.assertTrue(new)
        out = wait_for(lambda: self.inst.ctl("dns", "lookup", "192.0.2.10"
                                             ).returncode == 0, timeout=10)
        self.assertTrue(out)
        self.assertEqual(lookup(self.inst, "192.0.2.10")["verified"],
                         "good.test.example")


    def test_client_request(self):
        c = DnscacheClient(self.inst)
        c.send(request="client", addr="192.0.2.10", ptr="1", dnsbl="1")
        reply = c.message()
        self.assertEqual(reply["status"], "0")
        self.assertEqual(reply["name"], "good.test.example")
        self.assertEqual(reply["verified"], "1")
        self.assertEqual(reply["temp"], "0")
        c.send(request="client", addr="192.0.2.11", ptr="1")
        reply = c.message()
        self.assertEqual(reply["name"], "")
        self.assertEqual(reply["verified"], "0")
        self.assertEqual(reply["unverified"], "liar.test.example")
        # without ptr=1 no lookup is made
        c.send(request="client", addr="192.0.2.14")
        self.assertEqual(c.message()["name"], "")
        c.send(request="client", addr="not-an-address", ptr="1")
        reply = c.message()
        self.assertEqual(reply["status"], "-1")
        c.close()
        self.assertEqual(self.dns.queries("14.2.0.192.in-addr.arpa"), 0)


DNSBL_RECORDS = RECORDS + [
    "--local=/bl.test/",
    # 192.0.2.10: on bl1 (any answer counts) and bl2 (127.0.0.[4..5]*3);
    # bl3 answers 127.0.0.2, which its filter (127.0.0.9) does not pass.
    "--address=/10.2.0.192.bl1.bl.test/127.0.0.2",
    "--address=/10.2.0.192.bl2.bl.test/127.0.0.4",
    "--address=/10.2.0.192.bl3.bl.test/127.0.0.2",
    # 192.0.2.14: on bl1, and on the allowlist (weight -5).
    "--address=/14.2.0.192.bl1.bl.test/127.0.0.2",
    "--address=/14.2.0.192.wl.bl.test/127.0.0.2",
]

DNSBL_SITES = ("bl1.bl.test, bl2.bl.test=127.0.0.[4..5]*3 "
               "bl3.bl.test=127.0.0.9*10, wl.bl.test*-5")


class DnscacheRefreshTest(AlligateTestCase):
    """A popular entry is renewed before it expires: with every entry
    living 6 seconds, a hit in its last 3 seconds starts a lookup in the
    background, so that the address is never asked again as a miss."""
    start = False

    def setUp(self):
        super().setUp()
        self.dns = Dnsmasq(RECORDS)
        self.inst.write_conf("resolve_remote_hosts = yes\n"
                             "dns_cache_min_ttl = 6s\n"
                             "dns_cache_max_ttl = 6s\n"
                             "dns_servers = 127.0.0.1:%d\n" % self.dns.port)
        self.inst.start()

    def tearDown(self):
        self.dns.stop()
        super().tearDown()

    def stats(self):
        return dict(line.split(": ", 1) for line in
                    self.inst.ctl("dns", "stats", check=True)
                    .stdout.splitlines())

    def test_popular_entry_refreshed_before_expiry(self):
        name = "10.2.0.192.in-addr.arpa"
        c = DnscacheClient(self.inst)

        def ask():
            c.send(request="client", addr="192.0.2.10", ptr="1")
            reply = c.message()
            self.assertEqual(reply["name"], "good.test.example", reply)
            self.assertEqual(reply["temp"], "0", reply)
            return reply

        ask()
        self.assertEqual(self.dns.queries(name), 1)
        # a session every 0.1s: hits, until one comes in the last seconds
        self.assertTrue(wait_for(lambda: ask() and
                                 self.dns.queries(name) >= 2,
                                 timeout=15, interval=0.1))
        c.close()
        stats = self.stats()
        # the second query was the refresh, not a miss after expiry
        self.assertEqual(stats["misses"], "1")
        self.assertGreaterEqual(int(stats["refreshes"]), 1)
        out = lookup(self.inst, "192.0.2.10")
        self.assertEqual(out["source"], "cache")
        self.assertEqual(out["verified"], "good.test.example")
        self.assertGreaterEqual(int(out["ttl"].rstrip("s")), 4, out)
        self.assertEqual(self.dns.queries(name), 2)


class DnscacheDnsblRefreshTest(AlligateTestCase):
    """Blocklist answers are kept warm too: with every entry living 6
    seconds, a hit in its last 3 seconds asks the zone again in the
    background, listings and NXDOMAIN alike, so that the client is never
    asked about as a miss again and always finds its answer."""
    start = False

    def setUp(self):
        super().setUp()
        self.dns = Dnsmasq(DNSBL_RECORDS)
        self.inst.write_conf("resolve_remote_hosts = no\n"
                             "dns_cache_min_ttl = 6s\n"
                             "dns_cache_max_ttl = 6s\n"
                             "dns_negative_ttl = 6s\n"
                             "dnsbl_sites = bl1.bl.test, bl2.bl.test*3\n"
                             "dns_servers = 127.0.0.1:%d\n" % self.dns.port)
        self.inst.start()

    def tearDown(self):
        self.dns.stop()
        super().tearDown()

    def test_popular_answers_renewed_before_expiry(self):
        # 192.0.2.14: listed on bl1, NXDOMAIN on bl2
        listed, absent = "14.2.0.192.bl1.bl.test", "14.2.0.192.bl2.bl.test"
        c = DnscacheClient(self.inst)

        def ask():
            c.send(request="client", addr="192.0.2.14", dnsbl="1")
            reply = c.message()
            self.assertEqual((reply["score"], reply["sites"], reply["late"]),
                             ("1", "bl1.bl.test", ""), reply)
            return reply

        ask()
        self.assertEqual(self.dns.queries(listed), 1)
        self.assertEqual(self.dns.queries(absent), 1)
        self.assertTrue(wait_for(lambda: ask() and self.dns.queries(listed) >= 2
                                 and self.dns.queries(absent) >= 2,
                                 timeout=15, interval=0.1))
        c.close()
        stats = dict(line.split(": ", 1) for line in
                     self.inst.ctl("dns", "stats", check=True).stdout.splitlines())
        # the second queries were renewals, not misses after expiry
        self.assertEqual(stats["misses"], "2")
        self.assertGreaterEqual(int(stats["refreshes"]), 2)
        out = lookup(self.inst, "192.0.2.14")
        self.assertEqual(out["dnsbl score"], "1")
        self.assertEqual(out["dnsbl answers"], "bl1.bl.test=127.0.0.2, bl2.bl.test=none")


class DnscacheDnsblTest(AlligateTestCase):
    start = False

    def setUp(self):
        super().setUp()
        self.dns = Dnsmasq(DNSBL_RECORDS)
        self.inst.write_conf("resolve_remote_hosts = yes\n"
                             "dnsbl_sites = %s\n"
                             "dns_servers = 127.0.0.1:%d\n"
                             % (DNSBL_SITES, self.dns.port))
        self.inst.start()

    def tearDown(self):
        self.dns.stop()
        super().tearDown()

    def ask(self, c, addr, **extra):
        c.send(request="client", addr=addr, dnsbl="1", **extra)
        reply = c.message()
        self.assertEqual(reply["status"], "0", reply)
        return reply

    def test_score_and_sites(self):
        c = DnscacheClient(self.inst)
        reply = self.ask(c, "192.0.2.10", ptr="1")
        # bl1 (1) + bl2 (3); bl3's answer does not pass its filter
        self.assertEqual(reply["score"], "4")
        self.assertEqual(reply["sites"], "bl1.bl.test,bl2.bl.test")
        self.assertEqual(reply["late"], "")
        # the PTR lookup ran beside them
        self.assertEqual(reply["name"], "good.test.example")
        for zone in ("bl1", "bl2", "bl3", "wl"):
            self.assertEqual(self.dns.queries("10.2.0.192.%s.bl.test" % zone),
                             1, zone)
        c.close()

    def test_negative_weight(self):
        c = DnscacheClient(self.inst)
        reply = self.ask(c, "192.0.2.14")
        self.assertEqual(reply["score"], "-4")
        self.assertEqual(reply["sites"], "bl1.bl.test,wl.bl.test")
        # without ptr=1, no PTR lookup
        self.assertEqual(reply["name"], "")
        self.assertEqual(self.dns.queries("14.2.0.192.in-addr.arpa"), 0)
        c.close()

    def test_not_listed(self):
        c = DnscacheClient(self.inst)
        reply = self.ask(c, "192.0.2.13")
        self.assertEqual(reply["score"], "0")
        self.assertEqual(reply["sites"], "")
        self.assertEqual(reply["late"], "")
        c.close()

    def test_without_dnsbl_no_queries(self):
        c = DnscacheClient(self.inst)
        c.send(request="client", addr="192.0.2.10", ptr="1")
        reply = c.message()
        self.assertEqual(reply["score"], "0")
        self.assertEqual(reply["name"], "good.test.example")
        self.assertEqual(self.dns.queries("10.2.0.192.bl1.bl.test"), 0)
        c.close()

    def test_concurrent_requests_share_queries(self):
        # two sessions ask for one address at once: one query per zone
        a, b = DnscacheClient(self.inst), DnscacheClient(self.inst)
        a.send(request="client", addr="192.0.2.10", dnsbl="1")
        b.send(request="client", addr="192.0.2.10", dnsbl="1")
        for c in (a, b):
            reply = c.message()
            self.assertEqual(reply["status"], "0", reply)
            self.assertEqual(reply["score"], "4")
            self.assertEqual(reply["sites"], "bl1.bl.test,bl2.bl.test")
            c.close()
        for zone in ("bl1", "bl2", "bl3", "wl"):
            self.assertEqual(self.dns.queries("10.2.0.192.%s.bl.test" % zone),
                             1, zone)

    def test_cached(self):
        c = DnscacheClient(self.inst)
        first = self.ask(c, "192.0.2.10")
        self.ask(c, "192.0.2.13")
        second = self.ask(c, "192.0.2.10")
        self.assertEqual(second["score"], "4")
        self.assertEqual(second["sites"], first["sites"])
        self.assertEqual(self.ask(c, "192.0.2.13")["score"], "0")
        # positive and negative answers both came from the cache
        for zone in ("bl1", "bl2", "bl3", "wl"):
            self.assertEqual(self.dns.queries("10.2.0.192.%s.bl.test" % zone),
                             1, zone)
            self.assertEqual(self.dns.queries("13.2.0.192.%s.bl.test" % zone),
                             1, zone)
        c.close()
        out = lookup(self.inst, "192.0.2.10")
        self.assertEqual(out["dnsbl score"], "4")
        self.assertEqual(out["dnsbl sites"], "bl1.bl.test,bl2.bl.test")
        self.assertEqual(out["dnsbl answers"],
                         "bl1.bl.test=127.0.0.2, bl2.bl.test=127.0.0.4, "
                         "bl3.bl.test=127.0.0.2, wl.bl.test=none")
        # a flush of the address drops its blocklist answers too
        self.assertEqual(self.inst.ctl("dns", "flush", "192.0.2.10",
                                       check=True).stdout, "removed: 5\n")
        c = DnscacheClient(self.inst)
        self.assertEqual(self.ask(c, "192.0.2.10")["score"], "4")
        self.assertEqual(self.dns.queries("10.2.0.192.bl1.bl.test"), 2)
        c.close()



def dns_question(packet):
    """(name, qtype) of a DNS message's first question."""
    labels, i = [], 12
    while i < len(packet) and packet[i]:
        labels.append(packet[i + 1:i + 1 + packet[i]].decode(errors="replace"))
        i += 1 + packet[i]
    qtype = int.from_bytes(packet[i + 1:i + 3], "big") if i + 3 <= len(packet) else 0
    return ".".join(labels).lower(), qtype


class DelayProxy(threading.Thread):
    """A UDP relay in front of a DNS server (dnsmasq) that holds each
    answer for delay seconds: a DNS server that far away.  released maps
    (name, qtype) to the time.monotonic() just before its first answer
    went out, so that a test can tell what smtpd did before which answer
    (what it did after the answer comes after that time)."""

    def __init__(self, upstream_port, delay):
        super().__init__(daemon=True)
        self.delay = delay
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.up.connect(("127.0.0.1", upstream_port))
        self.clients = {}
        self.released = {}
        self.running = True
        self.start()

    def run(self):
        pending = []
        while self.running:
            timeout = (max(pending[0][0] - time.monotonic(), 0) if pending
                       else 0.1)
            ready, _, _ = select.select([self.sock, self.up], [], [], timeout)
            for s in ready:
                try:
                    data, addr = s.recvfrom(4096)
                except OSError:
                    continue
                if s is self.sock:
                    self.clients[data[:2] + data[12:]] = addr
                    self.up.send(data)
                    continue
                key = next((k for k in self.clients
                            if k[:2] == data[:2] and data[12:].startswith(k[2:])),
                           None)
                if key is not None:
                    heapq.heappush(pending, (time.monotonic() + self.delay,
                                             data, self.clients.pop(key)))
            while pending and pending[0][0] <= time.monotonic():
                _, data, addr = heapq.heappop(pending)
                # Noted before it goes: whatever the answer causes comes
                # after this time.
                self.released.setdefault(dns_question(data), time.monotonic())
                self.sock.sendto(data, addr)

    def stop(self):
        self.running = False
        self.join(2)
        self.sock.close()
        self.up.close()


class Blackhole:
    """A UDP port that takes DNS queries and never answers."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()


class DnscacheBlackholeTest(AlligateTestCase):
    start = False

    def setUp(self):
        super().setUp()
        self.hole = Blackhole()
        self.inst.write_conf("resolve_remote_hosts = yes\n"
                             "dnscache_timeout = 1s\n"
                             "dnsbl_sites = bl1.bl.test, bl2.bl.test*2\n"
                             "dns_servers = 127.0.0.1:%d\n" % self.hole.port)
        self.inst.start()

    def tearDown(self):
        self.hole.close()
        super().tearDown()

    def test_deadline_and_temporary_failure(self):
        c = DnscacheClient(self.inst)
        t0 = time.monotonic()
        c.send(request="client", addr="192.0.2.20", ptr="1")
        reply = c.message()
        elapsed = time.monotonic() - t0
        self.assertEqual(reply["status"], "0")
        self.assertEqual(reply["name"], "")
        self.assertEqual(reply["temp"], "1")
        self.assertTrue(0.9 <= elapsed < 1.5, elapsed)
        # the same question again meanwhile shares the lookup under way
        d = DnscacheClient(self.inst)
        d.send(request="client", addr="192.0.2.20", ptr="1")
        stats = dict(line.split(": ", 1) for line in
                     self.inst.ctl("dns", "stats", check=True).stdout.splitlines())
        self.assertEqual(stats["inflight"], "1")
        self.assertEqual(d.message()["temp"], "1")
        # once c-ares gives up, the failure is remembered briefly, as
        # temporary, not as "no PTR"
        def cached():
            out = lookup(self.inst, "192.0.2.20")
            return out if out["source"] == "cache" else None
        out = wait_for(cached, timeout=15)
        self.assertTrue(out)
        self.assertEqual(out["result"], "temp")
        self.assertEqual(out["temporary failure"], "yes")
        self.assertTrue(0 < int(out["ttl"].rstrip("s")) <= 30, out)
        c.close()
        d.close()

    def test_dnsbl_late(self):
        c = DnscacheClient(self.inst)
        t0 = time.monotonic()
        c.send(request="client", addr="192.0.2.21", dnsbl="1")
        reply = c.message()
        elapsed = time.monotonic() - t0
        self.assertEqual(reply["status"], "0")
        self.assertEqual(reply["score"], "0")
        self.assertEqual(reply["sites"], "")
        self.assertEqual(reply["late"], "bl1.bl.test,bl2.bl.test")
        self.assertEqual(reply["temp"], "0")
        self.assertTrue(0.9 <= elapsed < 1.5, elapsed)
        c.close()


class DnsServerByNameTest(AlligateTestCase):
    """dns_servers takes a host name too (DESIGN.md: host, host:port,
    [host]:port): dnscache looks it up once, in /etc/hosts, and asks
    what it found; a name that cannot be found is left out with a
    warning, and dnscache keeps running."""
    start = False

    def setUp(self):
        super().setUp()
        self.dns = Dnsmasq(RECORDS)
        self.addCleanup(self.dns.stop)

    def test_localhost_by_name(self):
        self.inst.write_conf("resolve_remote_hosts = yes\n"
                             "dns_servers = localhost:%d\n" % self.dns.port)
        self.inst.start()
        self.assertTrue(self.inst.wait_log(
            r"dnscache\[\d+\]: dns_servers: localhost is 127\.0\.0\.1$"))
        out = lookup(self.inst, "192.0.2.10")
        self.assertEqual(out["result"], "ok")
        self.assertEqual(out["verified"], "good.test.example")

    def test_name_not_found_is_left_out(self):
        self.inst.write_conf("resolve_remote_hosts = yes\n"
                             "dns_servers = no-such-host.invalid, 127.0.0.1:%d\n"
                             % self.dns.port)
        self.assertEqual(self.inst.ctl("check").returncode, 0)
        self.inst.start()
        self.assertTrue(self.inst.wait_log(
            r"dnscache\[\d+\]: warning: dns_servers: no-such-host\.invalid: .*; "
            r"server left out$"))
        out = lookup(self.inst, "192.0.2.10")
        self.assertEqual(out["verified"], "good.test.example")
        pids = self.inst.pids("dnscache")
        time.sleep(1)
        self.assertEqual(self.inst.pids("dnscache"), pids)


class DnscacheNoResolveTest(AlligateTestCase):
    conf = "resolve_remote_hosts = no\ndnsbl_sites = bl.test.example\n"

    def test_no_ptr_lookups(self):
        # started for the blocklists, but no reverse lookups
        self.assertTrue(wait_for(lambda: self.inst.pids("dnscache")))
        out = lookup(self.inst, "192.0.2.10")
        self.assertEqual(out["result"], "off")
        self.assertEqual(out["verified"], "-")


class DnscacheDefaultTest(AlligateTestCase):
    """A new user's configuration, neither resolve_remote_hosts nor
    dnsbl_sites: dnscache runs all the same, so that `alligatectl dns
    lookup 127.0.0.1` answers (issue 15's Done-means), and smtpd does not
    ask it anything."""

    def test_runs_and_answers_without_work(self):
        with open(self.inst.conf_path) as f:
            conf = f.read()
        self.assertNotIn("resolve_remote_hosts", conf)
        self.assertNotIn("dnsbl_sites", conf)
        self.assertEqual(len(wait_for(lambda: self.inst.pids("dnscache"))), 1)
        self.assertRegex(self.inst.ctl("status", check=True).stdout,
                         r"(?m)^dnscache\s+dnscache\s+running\s*$")
        out = lookup(self.inst, "127.0.0.1")
        self.assertEqual((out["address"], out["result"], out["ptr"], out["verified"],
                          out["dnsbl score"], out["source"]),
                         ("127.0.0.1", "off", "-", "-", "0", "lookup"))
        self.assertEqual(self.inst.ctl("dns", "stats", check=True).stdout,
                         "entries: 0\nhits: 0\nmisses: 0\nhit ratio: -\n"
                         "inflight: 0\nrefreshes: 0\n")
        self.assertEqual(self.inst.ctl("dns", "flush", check=True).stdout, "removed: 0\n")

        # A session: smtpd asks dnscache nothing (its client counts no
        # request), and the client stays unknown.
        mark = self.inst.log_mark()
        c = self.inst.raw()
        self.assertEqual(c.cmd("QUIT")[0], 221)
        c.close()
        self.assertTrue(self.inst.wait_log(r"disconnect from unknown\[127\.0\.0\.1\]", mark))
        doc = json.loads(self.inst.ctl("stats", "--json", "--all", check=True).stdout)
        asked = [x["value"] for x in
                 doc["metrics"]["alligate_dnscache_client_requests_total"]["series"]]
        self.assertEqual(asked, [0])

        # Stopped with the rest, the dns commands say so.
        self.inst.stop()
        proc = self.inst.ctl("dns", "stats")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("alligatectl: cannot talk to dnscache: ", proc.stderr)


if __name__ == "__main__":
    unittest.main()
