"""The Prometheus endpoint (metrics_listen) and alligatectl stats against
the real service: every family the manual's operators look at, with
HELP and TYPE, accepted by promtool; the values exact after real SMTP
sessions (mail, refusals by rule, AUTH by mechanism, TLS full and
resumed, a failed handshake, ratekeeper and dnscache stopped: fail
open, dnscache hits and misses, authd's checks by result, its cache
and the time a check takes, clients held, released and gone in the
tarpit, deliveries to a backend that accepts, defers and bounces, the
archiver's backlog and lag while it is stopped); counters that survive the exit of the workers that
counted them (smtpd_max_use = 1) and never go down; the endpoint served
by the metrics process as the unprivileged user, not by master (stopped,
nobody answers); 404, 405, 400, 431 and 505; a reload that moves the
endpoint; alligatectl stats and --json equal to /metrics, with and
without metrics_listen, and as a user who is not root (the segment is
mode 0644; only master's children write it).  Clients: http.client and raw sockets, smtplib,
Python's ssl."""

import http.client
import json
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import time
import unittest

from alligate_test import (CTL, AlligateTestCase, RawClient, SharedInstanceTestCase,
                           free_port, make_cert, tls_client_context, wait_for)
from smtp_backend import Backend
from tarpit_util import REFUSED, TarpitMixin, ratekeeper_ready
from test_dnscache import Dnsmasq

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SENDER = "sender@remote.example"
USER, PASSWORD = "mia", "Metr1cs-Pw-quux"

# Every family issue 17 asks for, with its type.
FAMILIES = {
    "alligate_start_time_seconds": "gauge",
    "alligate_processes": "gauge",
    "alligate_smtpd_connections_total": "counter",
    "alligate_smtpd_sessions": "gauge",
    "alligate_smtpd_accepted_messages_total": "counter",
    "alligate_smtpd_accepted_bytes_total": "counter",
    "alligate_smtpd_accepted_recipients_total": "counter",
    "alligate_smtpd_rejects_total": "counter",
    "alligate_smtpd_tls_handshakes_total": "counter",
    "alligate_smtpd_tls_handshake_failures_total": "counter",
    "alligate_smtpd_auth_attempts_total": "counter",
    "alligate_smtpd_tarpit_handoffs_total": "counter",
    "alligate_smtpd_transaction_duration_seconds": "histogram",
    "alligate_ratekeeper_requests_total": "counter",
    "alligate_ratekeeper_errors_total": "counter",
    "alligate_ratekeeper_client_requests_total": "counter",
    "alligate_ratekeeper_fail_open_total": "counter",
    "alligate_dnscache_requests_total": "counter",
    "alligate_dnscache_errors_total": "counter",
    "alligate_dnscache_cache_hits_total": "counter",
    "alligate_dnscache_cache_misses_total": "counter",
    "alligate_dnscache_cache_refreshes_total": "counter",
    "alligate_dnscache_client_requests_total": "counter",
    "alligate_dnscache_fail_open_total": "counter",
    "alligate_authd_checks_total": "counter",
    "alligate_authd_cache_hits_total": "counter",
    "alligate_authd_cache_misses_total": "counter",
    "alligate_authd_check_duration_seconds": "histogram",
    "alligate_tarpit_connections": "gauge",
    "alligate_tarpit_released_total": "counter",
    "alligate_tarpit_disconnects_total": "counter",
    "alligate_relay_deliveries_total": "counter",
    "alligate_relay_delivery_delay_seconds": "histogram",
    "alligate_queue_messages": "gauge",
    "alligate_archive_backlog_messages": "gauge",
    "alligate_archive_lag_seconds": "gauge",
}

RECIPIENTS = "alice@example.com\nbob@example.com\ncarol@example.com\n"

CONF = """\
metrics_listen = 127.0.0.1:%d
smtpd_max_use = 1
relay_networks = 192.0.2.0/24
local_recipients = recipients
max_invalid_recipients = 3
smtpd_greet_wait = 0
smtpd_soft_error_limit = 0
smtpd_client_connection_count_limit = 100
smtpd_client_event_limit_exceptions =
smtp_auth = yes
auth_require_tls = no
auth_failure_delay = 0
tls_cert_file = cert.pem
tls_key_file = key.pem
"""

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(?:,|$)')


class Exposition:
    """The text format 0.0.4, read strictly: each family's HELP and TYPE
    once and before its samples, every sample of a declared family, no
    sample twice.  samples: {(name, ((label, value), ...)): float}."""

    def __init__(self, text):
        self.text = text
        self.helps, self.types, self.samples = {}, {}, {}
        assert text.endswith("\n"), text[-100:]
        for line in text.splitlines():
            if line.startswith("# HELP "):
                name, help_text = line[7:].split(" ", 1)
                assert name not in self.helps, line
                self.helps[name] = help_text
            elif line.startswith("# TYPE "):
                name, kind = line[7:].split(" ")
                assert name not in self.types and name in self.helps, line
                self.types[name] = kind
            else:
                m = SAMPLE.match(line)
                assert m, "not a sample: %r" % line
                name, labels, value = m.groups()
                labels = self.labels(labels or "")
                family = re.sub(r"_(bucket|sum|count)$", "", name)
                if self.types.get(family) != "histogram":
                    family = name
                assert family in self.types, "no TYPE before %r" % line
                key = (name, labels)
                assert key not in self.samples, "twice: %r" % line
                self.samples[key] = float(value)

    @staticmethod
    def labels(text):
        pairs, pos = [], 0
        while pos < len(text):
            m = LABEL.match(text, pos)
            assert m, "bad labels: %r" % text
            pairs.append((m.group(1), m.group(2)))
            pos = m.end()
        return tuple(sorted(pairs))

    def get(self, name, **labels):
        return self.samples[(name, tuple(sorted(labels.items())))]

    def series(self, name):
        """{labels: value} of the samples called name."""
        return {labels: v for (n, labels), v in self.samples.items() if n == name}


def http_get(port, method="GET", path="/metrics", timeout=10):
    """(status, {header: value}, body) of one request with http.client."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()
    finally:
        conn.close()


def http_raw(port, data, timeout=5):
    """What the endpoint answers to the bytes data, up to its close."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


def status_of(response):
    m = re.match(rb"HTTP/1\.1 (\d{3}) [^\r\n]+\r\n", response)
    assert m, response[:200]
    return int(m.group(1))


def scrape(inst):
    status, headers, body = http_get(inst.metrics_port)
    assert status == 200, (status, body)
    assert headers["content-type"] == CONTENT_TYPE, headers
    return Exposition(body)


def stats_json(inst):
    """alligatectl stats --json, as the samples of Exposition."""
    proc = inst.ctl("stats", "--json", check=True)
    doc = json.loads(proc.stdout)
    samples = {}
    for name, fam in doc["metrics"].items():
        for s in fam["series"]:
            labels = tuple(sorted(s["labels"].items()))
            if fam["type"] == "histogram":
                for le, n in s["buckets"].items():
                    samples[(name + "_bucket", tuple(sorted(labels + (("le", le),))))] = float(n)
                samples[(name + "_sum", labels)] = float(s["sum"])
                samples[(name + "_count", labels)] = float(s["count"])
            else:
                samples[(name, labels)] = float(s["value"])
    return doc, samples


def uid_of(pid):
    return os.stat("/proc/%d" % pid).st_uid


def daemon_uid():
    return pwd.getpwnam("nobody").pw_uid if os.geteuid() == 0 else os.getuid()


class MetricsTestCase(SharedInstanceTestCase):
    """One instance with the endpoint, AUTH, TLS and local_recipients; the
    tests compare figures before and after what they do."""

    files = {"recipients": RECIPIENTS}

    @classmethod
    def prepare(cls, inst):
        make_cert(inst.dir)

    @classmethod
    def setUpClass(cls):
        cls.metrics_port = free_port()
        cls.conf = CONF % cls.metrics_port
        super().setUpClass()
        cls.inst.metrics_port = cls.metrics_port
        try:
            sock = os.path.join(cls.inst.dir, "run", "authd.sock")
            wait_for(lambda: os.path.exists(sock), timeout=10)
            cls.inst.ctl("user", "add", USER, "--password-stdin",
                         input=PASSWORD + "\n", check=True)
        except BaseException:
            cls.tearDownClass()
            raise

    def scrape(self):
        return scrape(self.inst)

    def wait_value(self, name, value, timeout=10, **labels):
        """The scrape once name{labels} is value (the session's end is
        counted by the worker after the client is gone)."""
        last = [None]

        def reached():
            e = self.scrape()
            last[0] = e
            return e if e.get(name, **labels) == value else None
        e = wait_for(reached, timeout=timeout)
        self.assertTrue(e, "%s%r: %s, not %s" % (name, labels,
                                                 last[0].get(name, **labels), value))
        return e

    def client(self, source=None):
        c = RawClient("127.0.0.1", self.inst.port, source=source)
        self.addCleanup(c.close)
        self.assertEqual(c.reply()[0], 220)
        return c

    def send(self, rcpts, body="Subject: metrics\r\n\r\nhello\r\n"):
        """One message in a session of its own, ended with QUIT; returns
        its queue id."""
        c = self.client()
        self.assertEqual(c.ehlo()[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % SENDER)[0], 250)
        for r in rcpts:
            self.assertEqual(c.cmd("RCPT TO:<%s>" % r)[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(body + ".\r\n")
        code, lines = c.reply()
        self.assertEqual(code, 250, lines)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        return lines[0].split()[-1]

    def logged_size(self, qid):
        m = self.inst.wait_log(r"%s: from=<[^>]*>, size=(\d+), nrcpt=" % qid, self.mark)
        self.assertTrue(m, qid)
        return int(m.group(1))


class Endpoint(MetricsTestCase):

    def test_every_family_help_type_and_promtool(self):
        status, headers, body = http_get(self.metrics_port)
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], CONTENT_TYPE)
        self.assertEqual(headers["connection"], "close")
        self.assertEqual(int(headers["content-length"]), len(body.encode()))
        e = Exposition(body)
        for name, kind in FAMILIES.items():
            self.assertIn(name, e.helps)
            self.assertTrue(e.helps[name])
            self.assertEqual(e.types[name], kind, name)
        self.assertEqual(set(e.types), set(FAMILIES))
        for name in FAMILIES:
            if FAMILIES[name] == "histogram":
                buckets = e.series(name + "_bucket")
                self.assertTrue(any(dict(k).get("le") == "+Inf" for k in buckets))
                self.assertIn((name + "_sum", ()), e.samples)
                self.assertIn((name + "_count", ()), e.samples)
                self.assertEqual(e.get(name + "_count"), e.get(name + "_bucket", le="+Inf"))
            else:
                self.assertTrue(e.series(name), name)
        # The example series exists from the start.
        self.assertEqual(e.get("alligate_smtpd_rejects_total", rule="max_invalid_recipients")
                         >= 0, True)
        self.assertAlmostEqual(e.get("alligate_start_time_seconds"), time.time(), delta=3600)
        self.assertEqual(e.get("alligate_processes", program="metrics"), 1)
        self.assertEqual(e.get("alligate_processes", program="ratekeeper"), 1)
        self.assertEqual(e.get("alligate_processes", program="authd"), 1)
        self.assertGreaterEqual(e.get("alligate_processes", program="smtpd"), 1)

    @unittest.skipUnless(os.path.exists(PROMTOOL), "promtool is not installed")
    def test_promtool_finds_nothing(self):
        # With traffic, so that histograms and labels have values.
        self.send(["alice@example.com"])
        status, _, body = http_get(self.metrics_port)
        self.assertEqual(status, 200)
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=body,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "", ""))

    def test_mail_counted(self):
        before = self.scrape()
        q1 = self.send(["alice@example.com"])
        q2 = self.send(["bob@example.com", "carol@example.com"],
                       body="Subject: two\r\n\r\n" + "x" * 5000 + "\r\n")
        quit_ = before.get("alligate_smtpd_connections_total", port="smtp", outcome="quit")
        after = self.wait_value("alligate_smtpd_connections_total", quit_ + 2,
                                port="smtp", outcome="quit")

        def delta(name, **labels):
            return after.get(name, **labels) - before.get(name, **labels)
        size = self.logged_size(q1) + self.logged_size(q2)
        self.assertEqual(delta("alligate_smtpd_accepted_messages_total", port="smtp"), 2)
        self.assertEqual(delta("alligate_smtpd_accepted_recipients_total", port="smtp"), 3)
        self.assertEqual(delta("alligate_smtpd_accepted_bytes_total", port="smtp"), size)
        self.assertGreater(size, 5000)
        self.assertEqual(delta("alligate_smtpd_transaction_duration_seconds_count"), 2)
        self.assertEqual(delta("alligate_smtpd_transaction_duration_seconds_bucket", le="+Inf"), 2)
        self.assertGreater(delta("alligate_smtpd_transaction_duration_seconds_sum"), 0)
        # Nothing else ended; nothing from the other ports.
        for outcome in ("lost", "timeout", "rejected", "errors", "tarpitted", "tls_failed"):
            self.assertEqual(delta("alligate_smtpd_connections_total", port="smtp",
                                   outcome=outcome), 0, outcome)
        self.assertEqual(delta("alligate_smtpd_accepted_messages_total", port="submission"), 0)
        # defer_delivery = yes: both wait in incoming/.
        self.assertEqual(delta("alligate_queue_messages", state="incoming"), 2)
        self.assertEqual(after.get("alligate_queue_messages", state="incoming"),
                         len(self.inst.queue_files()))
        self.assertEqual(after.get("alligate_smtpd_sessions", port="smtp"), 0)
        # smtpd asked ratekeeper at connect (and told it the disconnect).
        self.assertGreaterEqual(delta("alligate_ratekeeper_requests_total"), 2)
        self.assertGreaterEqual(delta("alligate_ratekeeper_client_requests_total"), 2)
        self.assertEqual(delta("alligate_ratekeeper_fail_open_total"), 0)
        self.assertEqual(delta("alligate_ratekeeper_errors_total"), 0)
        # No archive: no backlog.
        self.assertEqual(after.get("alligate_archive_backlog_messages"), 0)
        self.assertEqual(after.get("alligate_archive_lag_seconds"), 0)

    def test_session_in_progress(self):
        before = self.scrape().get("alligate_smtpd_sessions", port="smtp")
        c = self.client()
        self.wait_value("alligate_smtpd_sessions", before + 1, port="smtp")
        c.cmd("QUIT")
        self.wait_value("alligate_smtpd_sessions", before, port="smtp")

    def test_rejects_by_rule_as_logged(self):
        before = self.scrape()
        lost = before.get("alligate_smtpd_connections_total", port="smtp", outcome="rejected")
        c = self.client()
        self.assertEqual(c.ehlo()[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % SENDER)[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<alice@example.com>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<unknown1@example.com>")[0], 550)
        self.assertEqual(c.cmd("RCPT TO:<x@other.example>")[0], 554)
        self.assertEqual(c.cmd("RCPT TO:<unknown3@example.com>"), (550, ["5.7.1 Refused"]))
        self.assertTrue(c.closed())
        after = self.wait_value("alligate_smtpd_connections_total", lost + 1,
                                port="smtp", outcome="rejected")
        rules = re.findall(r"NOQUEUE: reject: \S+ from .* rule=(\w+)",
                           self.log_since_start())
        self.assertEqual(sorted(rules), ["local_recipients", "max_invalid_recipients",
                                         "relay_access"])
        # Each rule's counter moved by what the log says, no other did.
        for labels, value in after.series("alligate_smtpd_rejects_total").items():
            rule = dict(labels)["rule"]
            self.assertEqual(value - before.get("alligate_smtpd_rejects_total", rule=rule),
                             rules.count(rule), rule)

    def test_auth_by_mechanism(self):
        import base64

        def b64(s):
            return base64.b64encode(s.encode()).decode()
        name = "alligate_smtpd_auth_attempts_total"
        before = self.scrape()
        c = self.client()
        self.assertEqual(c.ehlo()[0], 250)
        for password in ("wrong-1", "wrong-2"):
            self.assertEqual(c.cmd("AUTH LOGIN %s" % b64(USER))[0], 334)
            self.assertEqual(c.cmd(b64(password))[0], 535)
        self.assertEqual(c.cmd("AUTH CRAM-MD5")[0], 504)
        self.assertEqual(c.cmd("AUTH PLAIN %s" % b64("\0%s\0%s" % (USER, PASSWORD)))[0], 235)
        c.cmd("QUIT")
        quit_ = before.get("alligate_smtpd_connections_total", port="smtp", outcome="quit")
        after = self.wait_value("alligate_smtpd_connections_total", quit_ + 1,
                                port="smtp", outcome="quit")
        expected = {("LOGIN", "failure"): 2, ("PLAIN", "success"): 1}
        for mech in ("PLAIN", "LOGIN"):
            for result in ("success", "failure", "error"):
                self.assertEqual(after.get(name, mechanism=mech, result=result)
                                 - before.get(name, mechanism=mech, result=result),
                                 expected.get((mech, result), 0), (mech, result))
        self.assertEqual(len(re.findall(r"SASL LOGIN authentication failed",
                                        self.log_since_start())), 2)

    def test_authd_checks_and_cache(self):
        import base64

        def plain(user, password):
            return "AUTH PLAIN %s" % base64.b64encode(
                ("\0%s\0%s" % (user, password)).encode()).decode()
        # A user of this test's own, so that nothing of it is cached yet.
        user, password = "noah", "Authd-Metr1cs-zork"
        self.inst.ctl("user", "add", user, "--password-stdin", input=password + "\n",
                      check=True)
        before = self.scrape()
        c = self.client()
        self.assertEqual(c.ehlo()[0], 250)
        self.assertEqual(c.cmd(plain(user, "wrong-password"))[0], 535)
        middle = self.scrape()
        self.assertEqual(c.cmd(plain(user, password))[0], 235)
        after = self.scrape()
        c.cmd("QUIT")

        def delta(name, a=after, b=before, **labels):
            return a.get(name, **labels) - b.get(name, **labels)
        checks = "alligate_authd_checks_total"
        # authd counts before it answers: the figures are there with the
        # reply.  The failure first, then the success, one each.
        self.assertEqual(delta(checks, middle, before, result="failure"), 1)
        self.assertEqual(delta(checks, middle, before, result="success"), 0)
        self.assertEqual(delta(checks, result="failure"), 1)
        self.assertEqual(delta(checks, result="success"), 1)
        self.assertEqual(delta(checks, result="error"), 0)
        # Neither was in the cache; the right password is now.
        self.assertEqual(delta("alligate_authd_cache_misses_total"), 2)
        self.assertEqual(delta("alligate_authd_cache_hits_total"), 0)
        hist = "alligate_authd_check_duration_seconds"
        self.assertEqual(delta(hist + "_count"), 2)
        self.assertEqual(delta(hist + "_bucket", le="+Inf"), 2)
        self.assertEqual(delta(hist + "_bucket", le="30"), 2)
        self.assertGreater(delta(hist + "_sum"), 0)
        # smtpd's side agrees.
        self.assertEqual(delta("alligate_smtpd_auth_attempts_total", mechanism="PLAIN",
                               result="failure"), 1)
        self.assertEqual(delta("alligate_smtpd_auth_attempts_total", mechanism="PLAIN",
                               result="success"), 1)
        # Again, in a new session: from the cache.
        c = self.client()
        self.assertEqual(c.ehlo()[0], 250)
        self.assertEqual(c.cmd(plain(user, password))[0], 235)
        c.cmd("QUIT")
        again = self.scrape()
        self.assertEqual(delta("alligate_authd_cache_hits_total", again, after), 1)
        self.assertEqual(delta("alligate_authd_cache_misses_total", again, after), 0)
        self.assertEqual(delta(checks, again, after, result="success"), 1)
        self.assertEqual(delta(hist + "_count", again, after), 1)
        # And alligatectl stats shows them, as the others.
        table = self.inst.ctl("stats", check=True).stdout
        m = re.search(r"^authd_checks_total\{result=success\} +(\d+)$", table, re.M)
        self.assertTrue(m, table)
        self.assertGreaterEqual(int(m.group(1)), again.get(checks, result="success"))
        self.assertRegex(table, r"(?m)^authd_cache_misses_total +\d+$")
        self.assertRegex(table, r"(?m)^authd_check_duration_seconds +\d+ "
                                r"\(sum [0-9.]+s, mean [0-9.]+s\)$")

    def test_tls_full_resumed_and_failed(self):
        name = "alligate_smtpd_tls_handshakes_total"
        before = self.scrape()
        ctx = tls_client_context(minimum=__import__("ssl").TLSVersion.TLSv1_3)
        first = self.client()
        first.ehlo()
        self.assertEqual(first.cmd("STARTTLS")[0], 220)
        first.starttls(ctx)
        self.assertEqual(first.ehlo()[0], 250)      # reads the ticket too
        second = self.client()
        second.ehlo()
        self.assertEqual(second.cmd("STARTTLS")[0], 220)
        second.starttls(ctx, session=first.sock.session)
        self.assertTrue(second.sock.session_reused)
        for c in (first, second):
            self.assertEqual(c.cmd("QUIT")[0], 221)
        # A client that answers STARTTLS's 220 with plaintext.
        bad = self.client()
        bad.ehlo()
        self.assertEqual(bad.cmd("STARTTLS")[0], 220)
        bad.send("EHLO not.tls.example\r\n")
        self.assertTrue(bad.closed())
        failed = before.get("alligate_smtpd_tls_handshake_failures_total")
        after = self.wait_value("alligate_smtpd_tls_handshake_failures_total", failed + 1)
        self.assertEqual(after.get(name, protocol="TLSv1.3", resumed="false")
                         - before.get(name, protocol="TLSv1.3", resumed="false"), 1)
        self.assertEqual(after.get(name, protocol="TLSv1.3", resumed="true")
                         - before.get(name, protocol="TLSv1.3", resumed="true"), 1)
        self.assertEqual(after.get(name, protocol="TLSv1.2", resumed="false")
                         - before.get(name, protocol="TLSv1.2", resumed="false"), 0)
        tls_failed = before.get("alligate_smtpd_connections_total", port="smtp",
                                outcome="tls_failed")
        self.wait_value("alligate_smtpd_connections_total", tls_failed + 1,
                        port="smtp", outcome="tls_failed")

    def test_counters_survive_worker_exit_and_only_grow(self):
        total = "alligate_smtpd_connections_total"
        previous = self.scrape()
        for i in range(4):
            c = self.client()
            served_by = self.inst.pids("smtpd")
            self.assertEqual(c.cmd("QUIT")[0], 221)
            count = previous.get(total, port="smtp", outcome="quit") + 1
            now = self.wait_value(total, count, port="smtp", outcome="quit")
            # smtpd_max_use = 1: the worker that served it is gone...
            self.assertTrue(wait_for(lambda: len(set(served_by) - set(self.inst.pids("smtpd")))
                                     >= 1, timeout=10))
            # ... and its count with it would be a step down: none of
            # the counters or histograms ever goes down.
            for (name, labels), value in previous.samples.items():
                kind = previous.types.get(re.sub(r"_(bucket|sum|count)$", "", name),
                                          previous.types.get(name))
                if kind in ("counter", "histogram"):
                    self.assertGreaterEqual(now.samples[(name, labels)], value,
                                            (name, labels))
            previous = now
        # Long after, nothing was lost either.
        time.sleep(0.5)
        self.assertEqual(self.scrape().get(total, port="smtp", outcome="quit"),
                         previous.get(total, port="smtp", outcome="quit"))

    def test_ratekeeper_stopped_fail_open(self):
        pid = self.inst.pids("ratekeeper")[0]
        before = self.scrape()
        os.kill(pid, signal.SIGSTOP)
        try:
            # Not refused: the connection count is gone without ratekeeper.
            qid = self.send(["alice@example.com"])
            self.assertTrue(qid)
        finally:
            os.kill(pid, signal.SIGCONT)
        fail_open = before.get("alligate_ratekeeper_fail_open_total")
        after = wait_for(lambda: (lambda e: e if e.get("alligate_ratekeeper_fail_open_total")
                                  > fail_open else None)(self.scrape()))
        self.assertTrue(after)
        self.assertTrue(self.inst.wait_log(r"smtpd\[\d+\]: warning: ratekeeper: no answer",
                                           self.mark))
        self.assertGreater(after.get("alligate_ratekeeper_client_requests_total"),
                           before.get("alligate_ratekeeper_client_requests_total"))

    def test_http_errors(self):
        port = self.metrics_port
        status, headers, body = http_get(port, path="/")
        self.assertEqual((status, body), (404, "Not Found\n"))
        status, headers, body = http_get(port, path="/metrics/x")
        self.assertEqual(status, 404)
        status, headers, body = http_get(port, method="POST")
        self.assertEqual((status, body), (405, "Method Not Allowed\n"))
        self.assertEqual(headers["allow"], "GET, HEAD")
        status, headers, body = http_get(port, method="DELETE")
        self.assertEqual(status, 405)
        status, headers, body = http_get(port, method="HEAD")
        self.assertEqual((status, body), (200, ""))
        self.assertEqual(headers["content-type"], CONTENT_TYPE)
        self.assertGreater(int(headers["content-length"]), 1000)
        # Raw requests: each gets one response and the connection closes.
        self.assertEqual(status_of(http_raw(port, b"GET /metrics HTTP/1.0\r\n\r\n")), 200)
        self.assertEqual(status_of(http_raw(port, b"GET /metrics HTTP/1.1\r\n\r\n")), 400)
        self.assertEqual(status_of(http_raw(port, b"GET /metrics HTTP/1.1\nHost: a\n\n")), 400)
        self.assertEqual(status_of(http_raw(port, b"\x00\x01\x02\r\n\r\n")), 400)
        self.assertEqual(status_of(http_raw(port, b"GET /metrics HTTP/2.0\r\n\r\n")), 505)
        self.assertEqual(status_of(http_raw(
            port, b"GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")), 400)
        huge = b"GET /metrics HTTP/1.1\r\nHost: a\r\nX: " + b"a" * 9000 + b"\r\n\r\n"
        self.assertEqual(status_of(http_raw(port, huge)), 431)
        # Pipelined: the first request is answered, nothing more.
        two = http_raw(port, b"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n" * 2)
        self.assertEqual(two.count(b"HTTP/1.1 200 OK\r\n"), 1)
        # A refused request is logged, without what the client sent.
        self.assertTrue(self.inst.wait_log(
            r"metrics\[\d+\]: refused a request from \[127\.0\.0\.1\]: 431 ", self.mark))
        self.assertNotIn("aaaa", self.log_since_start())

    def test_served_by_the_unprivileged_metrics_process(self):
        pids = self.inst.pids("metrics")
        self.assertEqual(len(pids), 1)
        pid = pids[0]
        self.assertEqual(uid_of(pid), daemon_uid())
        if os.geteuid() == 0:
            self.assertNotEqual(uid_of(pid), 0)
        self.assertEqual(uid_of(self.inst.master_pid()), os.geteuid())
        # The exporter is stopped: master does not answer for it.
        os.kill(pid, signal.SIGSTOP)
        try:
            s = socket.create_connection(("127.0.0.1", self.metrics_port), timeout=1.5)
            self.addCleanup(s.close)
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n")
            with self.assertRaises(socket.timeout):
                s.recv(100)
        finally:
            os.kill(pid, signal.SIGCONT)
        # Once it runs again, it is the one that answers the waiting client.
        s.settimeout(10)
        self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 200 OK\r\n"))

    def test_stats_agrees_with_metrics(self):
        self.send(["alice@example.com"])

        def same():
            doc, from_stats = stats_json(self.inst)
            from_http = self.scrape().samples
            return (doc, from_stats) if from_stats == from_http else None
        result = wait_for(same, timeout=15, interval=0.3)
        self.assertTrue(result, "alligatectl stats --json differs from /metrics")
        doc, samples = result
        self.assertEqual(doc["master_pid"], self.inst.master_pid())
        self.assertEqual(set(doc["metrics"]), set(FAMILIES))
        # The table: a person's view of the same figures.
        table = self.inst.ctl("stats", check=True).stdout
        self.assertRegex(table, r"^master pid %d, counting since " % self.inst.master_pid())
        accepted = samples[("alligate_smtpd_accepted_messages_total", (("port", "smtp"),))]
        m = re.search(r"^smtpd_accepted_messages_total\{port=smtp\} +(\d+)$", table, re.M)
        self.assertTrue(m, table)
        self.assertEqual(int(m.group(1)), accepted)
        self.assertNotIn("port=smtps", table)       # zero series left out
        self.assertRegex(table, r"(?m)^smtpd_transaction_duration_seconds +\d+ "
                                r"\(sum [0-9.]+s, mean [0-9.]+s\)$")
        full = self.inst.ctl("stats", "--all", check=True).stdout
        self.assertIn("smtpd_accepted_messages_total{port=smtps}", full)
        self.assertEqual(self.inst.ctl("stats", "--bogus").returncode, 2)

    def stats_as(self, *who):
        """alligatectl stats --json run through who (runuser, setpriv)."""
        p = subprocess.run(list(who) + [CTL, "-c", self.inst.dir, "stats", "--json"],
                           capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout), p.stderr

    @unittest.skipUnless(os.geteuid() == 0, "needs root to be another user")
    def test_stats_as_an_unprivileged_user(self):
        path = os.path.join(self.inst.dir, "run", "metrics.shm")
        st = os.stat(path)
        self.assertEqual((st.st_uid, st.st_mode & 0o7777), (0, 0o644))
        quit_ = self.scrape().get("alligate_smtpd_connections_total", port="smtp",
                                  outcome="quit")
        self.send(["alice@example.com"])
        self.wait_value("alligate_smtpd_connections_total", quit_ + 1, port="smtp",
                        outcome="quit")
        root_doc = stats_json(self.inst)[0]

        def value(doc, name, **labels):
            return [x["value"] for x in doc["metrics"][name]["series"]
                    if x["labels"] == labels][0]
        # nobody (daemon_user here) and a uid of no account at all, as a
        # monitoring agent: the same counters as root's.
        for who in (["runuser", "-u", "nobody", "--"],
                    ["setpriv", "--reuid=64999", "--regid=64999", "--clear-groups"]):
            doc, err = self.stats_as(*who)
            self.assertEqual(doc["master_pid"], self.inst.master_pid())
            for name in ("alligate_smtpd_accepted_messages_total",
                         "alligate_smtpd_auth_attempts_total", "alligate_authd_checks_total"):
                self.assertEqual(doc["metrics"][name], root_doc["metrics"][name], (who, name))
            self.assertGreaterEqual(value(doc, "alligate_smtpd_accepted_messages_total",
                                          port="smtp"), 1)
            self.assertEqual(value(doc, "alligate_processes", program="authd"), 1)
            if who[0] == "setpriv":
                # queue_directory is daemon_user's alone: its figures are
                # 0, and stats says why.
                self.assertIn("cannot read %s" % self.inst.queue, err)
                self.assertEqual(value(doc, "alligate_queue_messages", state="incoming"), 0)
            else:
                self.assertEqual(err, "")
                self.assertEqual(doc["metrics"]["alligate_queue_messages"],
                                 root_doc["metrics"]["alligate_queue_messages"])
        # Readable, not writable: only master's children, through the
        # descriptor master gives them, write to it.
        for who in (["runuser", "-u", "nobody", "--"],
                    ["setpriv", "--reuid=64999", "--regid=64999", "--clear-groups"]):
            p = subprocess.run(who + [sys.executable, "-c",
                                      "import os, sys\n"
                                      "try:\n    os.open(sys.argv[1], os.O_RDWR)\n"
                                      "except PermissionError:\n    print('refused')\n",
                                      path], capture_output=True, text=True, timeout=30)
            self.assertEqual(p.stdout, "refused\n", p.stderr)


class Dnscache(AlligateTestCase):
    """dnscache's hits and misses, and smtpd going on without it."""

    start = False

    def setUp(self):
        super().setUp()
        self.dns = Dnsmasq(["--local=/test.example/", "--local=/127.in-addr.arpa/",
                            "--host-record=client.test.example,127.0.0.1"])
        self.addCleanup(self.dns.stop)
        self.inst.metrics_port = free_port()
        self.inst.write_conf("metrics_listen = 127.0.0.1:%d\n"
                             "resolve_remote_hosts = yes\n"
                             "smtpd_greet_wait = 0\n"
                             "dnscache_timeout = 500ms\n"
                             "dns_servers = 127.0.0.1:%d\n"
                             % (self.inst.metrics_port, self.dns.port))
        self.inst.start()

    def session(self):
        c = RawClient("127.0.0.1", self.inst.port)
        self.addCleanup(c.close)
        self.assertEqual(c.reply()[0], 220)
        self.assertEqual(c.cmd("QUIT")[0], 221)

    def test_hits_misses_and_fail_open(self):
        before = scrape(self.inst)
        mark = self.inst.log_mark()
        self.session()
        self.assertTrue(self.inst.wait_log(r"connect from client\.test\.example\[127\.0\.0\.1\]",
                                           mark))
        self.session()
        after = scrape(self.inst)

        def delta(name, e=after):
            return e.get(name) - before.get(name)
        # One lookup of 127.0.0.1: the PTR went to DNS, then came from
        # the cache.
        self.assertEqual(self.dns.queries("1.0.0.127.in-addr.arpa"), 1)
        self.assertEqual(delta("alligate_dnscache_client_requests_total"), 2)
        self.assertEqual(delta("alligate_dnscache_requests_total"), 2)
        self.assertEqual(delta("alligate_dnscache_cache_misses_total"), 1)
        self.assertEqual(delta("alligate_dnscache_cache_hits_total"), 1)
        self.assertEqual(delta("alligate_dnscache_errors_total"), 0)
        self.assertEqual(delta("alligate_dnscache_fail_open_total"), 0)
        # dnscache stopped: the session waits dnscache_timeout, then goes
        # on with an unknown client.
        pid = self.inst.pids("dnscache")[0]
        os.kill(pid, signal.SIGSTOP)
        try:
            mark = self.inst.log_mark()
            self.session()
            self.assertTrue(self.inst.wait_log(r"connect from unknown\[127\.0\.0\.1\]", mark))
        finally:
            os.kill(pid, signal.SIGCONT)
        later = scrape(self.inst)
        self.assertEqual(delta("alligate_dnscache_fail_open_total", later), 1)
        self.assertEqual(delta("alligate_dnscache_client_requests_total", later), 3)


class Deliveries(AlligateTestCase):
    """relay's results by recipient, and the delay of the final ones."""

    start = False

    def setUp(self):
        super().setUp()
        self.backend = Backend().start()
        self.addCleanup(self.backend.stop)
        self.backend.rcpt_replies = {"bounce@example.com": "550 5.1.1 No such user",
                                     "later@example.com": "451 4.3.0 Try again later"}
        self.inst.metrics_port = free_port()
        self.inst.write_conf("metrics_listen = 127.0.0.1:%d\n"
                             "defer_delivery = no\n"
                             "relay_host = %s\n"
                             "minimal_backoff_time = 1h\n"
                             "maximal_backoff_time = 2h\n"
                             "smtpd_greet_wait = 0\n"
                             % (self.inst.metrics_port, self.backend.relay_host))
        self.inst.start()

    def test_sent_deferred_bounced(self):
        name = "alligate_relay_deliveries_total"
        s = smtplib.SMTP("127.0.0.1", self.inst.port, timeout=30)
        s.sendmail(SENDER, ["ok@example.com", "bounce@example.com", "later@example.com"],
                   "Subject: three\r\n\r\nhello\r\n")
        s.quit()

        # ok@ sent, bounce@ bounced, later@ deferred; then the
        # non-delivery notification to the sender, sent too.
        def done():
            e = scrape(self.inst)
            return e if (e.get(name, result="sent"), e.get(name, result="deferred")) \
                == (2, 1) else None
        e = wait_for(done, timeout=20)
        self.assertTrue(e, scrape(self.inst).series(name))
        self.assertEqual(e.get(name, result="bounced"), 1)
        self.assertEqual(len(self.backend.delivered_to("ok@example.com")), 1)
        self.assertEqual(len(self.backend.delivered_to(SENDER)), 1)
        log = self.inst.log()
        for status, n in (("sent", 2), ("bounced", 1), ("deferred", 1)):
            self.assertEqual(len(re.findall(r"relay\[\d+\]: \w+: to=<[^>]*>, .* status=%s "
                                            % status, log)), n, status)
        # The delay of the three final results, under a minute here.
        self.assertEqual(e.get("alligate_relay_delivery_delay_seconds_count"), 3)
        self.assertEqual(e.get("alligate_relay_delivery_delay_seconds_bucket", le="60"), 3)
        self.assertLess(e.get("alligate_relay_delivery_delay_seconds_sum"), 60)
        self.assertGreater(e.get("alligate_relay_delivery_delay_seconds_sum"), 0)
        # later@ keeps the message in deferred/ (moved there once the
        # attempt is counted).
        def queue():
            e = scrape(self.inst)
            return (e.get("alligate_queue_messages", state="deferred"),
                    e.get("alligate_queue_messages", state="incoming"))
        self.assertEqual(wait_for(lambda: queue() == (1, 0) and queue()), (1, 0))
        self.assertEqual(len(self.inst.queue_files("deferred")), 1)


class Tarpit(TarpitMixin, AlligateTestCase):
    """The tarpit's figures: held now, released after the delay, clients
    that left; smtpd's hand-offs."""

    DELAY = 2
    start = False

    def setUp(self):
        super().setUp()
        self.inst.metrics_port = free_port()
        self.inst.write_conf("metrics_listen = 127.0.0.1:%d\n"
                             "relay_networks = 192.0.2.0/24\n"
                             "tarpit = yes\n"
                             "tarpit_delay = %ds\n"
                             "max_invalid_recipients = 1\n"
                             "smtpd_greet_wait = 0\n"
                             % (self.inst.metrics_port, self.DELAY))
        self.inst.start()
        self.mark = self.inst.log_mark()
        self.assertTrue(ratekeeper_ready(self.inst))

    def hold(self, source):
        """A client from source that breaks max_invalid_recipients = 1 with
        its RCPT and is held for it; the client, still connected."""
        c = self.client(source)
        self.assertEqual(c.ehlo()[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<x@remote.test>")[0], 250)
        self.assertHeld(c, "RCPT TO:<x@elsewhere.test>")
        self.assertLogged(r"NOQUEUE: tarpit: RCPT from \S+\[%s\]: 550 5\.7\.1 Refused.* "
                          r"rule=max_invalid_recipients" % re.escape(source))
        return c

    def wait_scrape(self, **want):
        """The scrape once each name (labels as a dict) has its value."""
        def check():
            e = scrape(self.inst)
            for name, (labels, value) in want.items():
                if e.get(name, **labels) != value:
                    return None
            return e
        e = wait_for(check, timeout=10)
        self.assertTrue(e, {n: scrape(self.inst).get(n, **l) for n, (l, _) in want.items()})
        return e

    def test_held_released_and_disconnected(self):
        before = scrape(self.inst)
        self.assertEqual(before.get("alligate_processes", program="tarpit"), 1)
        held = self.hold("127.0.0.21")
        e = self.wait_scrape(
            alligate_tarpit_connections=({}, 1),
            alligate_smtpd_tarpit_handoffs_total=({"result": "ok"}, 1),
            alligate_smtpd_connections_total=({"port": "smtp", "outcome": "tarpitted"}, 1))
        # A tarpitted refusal is a refusal by its rule, as its log line.
        self.assertEqual(e.get("alligate_smtpd_rejects_total", rule="max_invalid_recipients"), 1)
        # A second client leaves while held: a tarpit disconnect,
        # reported to ratekeeper.
        left = self.hold("127.0.0.22")
        self.wait_scrape(alligate_tarpit_connections=({}, 2))
        left.close()
        e = self.wait_scrape(alligate_tarpit_disconnects_total=({}, 1),
                             alligate_tarpit_connections=({}, 1))
        self.assertGreaterEqual(e.get("alligate_ratekeeper_client_requests_total")
                                - before.get("alligate_ratekeeper_client_requests_total"), 1)
        # The first gets its refusal after the delay.
        self.assertEqual(held.reply(), REFUSED)
        self.assertTrue(held.closed(timeout=5))
        e = self.wait_scrape(alligate_tarpit_connections=({}, 0),
                             alligate_tarpit_released_total=({"reason": "delay"}, 1))
        self.assertEqual(e.get("alligate_tarpit_released_total", reason="full"), 0)
        self.assertEqual(e.get("alligate_smtpd_tarpit_handoffs_total", result="failed"), 0)
        self.assertEqual(e.get("alligate_smtpd_tarpit_handoffs_total", result="ok"), 2)


class Archive(AlligateTestCase):
    """archive = yes: the messages waiting for the archiver and the age of
    the oldest, counted in queue_directory/archive."""

    def setUp(self):
        self.port = free_port()
        self.conf = "metrics_listen = 127.0.0.1:%d\narchive = yes\nsmtpd_greet_wait = 0\n" \
            % self.port
        super().setUp()
        self.inst.metrics_port = self.port

    def backlog(self):
        e = scrape(self.inst)
        return (e.get("alligate_archive_backlog_messages"),
                e.get("alligate_archive_lag_seconds"))

    def test_backlog_and_lag(self):
        self.assertEqual(scrape(self.inst).get("alligate_processes", program="archiver"), 1)
        pid = self.inst.pids("archiver")[0]
        os.kill(pid, signal.SIGSTOP)
        try:
            for _ in range(2):
                s = self.inst.smtp()
                s.sendmail(SENDER, ["someone@example.com"], "Subject: a\r\n\r\nhi\r\n")
                s.quit()
            self.assertEqual(len(self.inst.queue_files("archive")), 2)
            count, lag = self.backlog()
            self.assertEqual(count, 2)
            # The older one's age, from its queue id: a second or two.
            self.assertTrue(wait_for(lambda: self.backlog()[1] >= 2, timeout=5))
            self.assertLess(self.backlog()[1], 60)
        finally:
            os.kill(pid, signal.SIGCONT)
        # The archiver catches up: nothing waits.
        self.assertTrue(wait_for(lambda: self.backlog() == (0, 0), timeout=15),
                        self.backlog())


class WithoutEndpoint(AlligateTestCase):
    """No metrics_listen: no exporter, and alligatectl stats still counts."""

    def test_stats_without_metrics_listen(self):
        self.assertEqual(self.inst.pids("metrics"), [])
        before = json.loads(self.inst.ctl("stats", "--json", check=True).stdout)
        s = self.inst.smtp()
        s.sendmail(SENDER, ["someone@example.com"], "Subject: x\r\n\r\nhi\r\n")
        s.quit()

        def accepted():
            doc = json.loads(self.inst.ctl("stats", "--json", check=True).stdout)
            fam = doc["metrics"]["alligate_smtpd_connections_total"]
            quit_ = [x["value"] for x in fam["series"]
                     if x["labels"] == {"port": "smtp", "outcome": "quit"}][0]
            return doc if quit_ == 1 else None
        doc = wait_for(accepted)
        self.assertTrue(doc)
        msgs = [x["value"] for x in doc["metrics"]["alligate_smtpd_accepted_messages_total"]["series"]
                if x["labels"] == {"port": "smtp"}]
        self.assertEqual(msgs, [1])
        self.assertEqual(before["master_pid"], self.inst.master_pid())
        processes = {x["labels"]["program"]: x["value"]
                     for x in doc["metrics"]["alligate_processes"]["series"]}
        self.assertEqual(processes["metrics"], 0)
        self.inst.stop()
        p = self.inst.ctl("stats")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr, "alligatectl: alligate is not running\n")


class Reload(AlligateTestCase):
    """A reload keeps the counts; one that moves metrics_listen moves the
    endpoint (a new exporter with the new socket)."""

    def setUp(self):
        self.first = free_port()
        self.conf = "metrics_listen = 127.0.0.1:%d\nsmtpd_greet_wait = 0\n" % self.first
        super().setUp()

    def test_reload_moves_the_endpoint_and_keeps_counts(self):
        self.inst.metrics_port = self.first
        s = self.inst.smtp()
        s.sendmail(SENDER, ["someone@example.com"], "Subject: x\r\n\r\nhi\r\n")
        s.quit()
        e = wait_for(lambda: (lambda e: e if e.get("alligate_smtpd_accepted_messages_total",
                                                     port="smtp") == 1 else None)(scrape(self.inst)))
        self.assertTrue(e)
        old_pid = self.inst.pids("metrics")[0]
        second = free_port()
        self.inst.write_conf("metrics_listen = 127.0.0.1:%d\n" % second)
        self.inst.ctl("reload", check=True)
        self.inst.metrics_port = second
        e = wait_for(lambda: self.inst.pids("metrics") not in ([], [old_pid])
                     and scrape(self.inst), timeout=15)
        self.assertTrue(e)
        self.assertEqual(e.get("alligate_smtpd_accepted_messages_total", port="smtp"), 1)
        with self.assertRaises(ConnectionRefusedError):
            http_get(self.first)
        # A reload that leaves it alone keeps the exporter.
        pid = self.inst.pids("metrics")[0]
        self.inst.ctl("reload", check=True)
        time.sleep(0.5)
        self.assertEqual(self.inst.pids("metrics"), [pid])
        self.assertEqual(scrape(self.inst).get("alligate_smtpd_accepted_messages_total",
                                               port="smtp"), 1)


class Dashboard(unittest.TestCase):
    """etc/grafana/alligate-dashboard.json: JSON that Grafana imports,
    queries that PromQL parses, and only the metrics above, all of them."""

    PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                        "etc", "grafana", "alligate-dashboard.json")

    def exprs(self):
        with open(self.PATH) as f:
            dash = json.load(f)
        self.assertEqual(dash["uid"], "alligate")
        out = []
        for panel in dash["panels"]:
            for target in panel.get("targets", []):
                out.append(target["expr"])
        self.assertGreater(len(out), 20)
        return out

    def test_only_and_every_metric(self):
        used = set()
        for expr in self.exprs():
            for name in re.findall(r"\b(alligate_[a-z_]+)", expr):
                family = re.sub(r"_(bucket|sum|count)$", "", name)
                if family not in FAMILIES or (family != name
                                              and FAMILIES[family] != "histogram"):
                    family = name
                self.assertIn(family, FAMILIES, expr)
                used.add(family)
        self.assertEqual(used, set(FAMILIES))

    @unittest.skipUnless(os.path.exists(PROMTOOL), "promtool is not installed")
    def test_queries_parse(self):
        rules = ["groups:", "  - name: dashboard", "    rules:"]
        for i, expr in enumerate(self.exprs()):
            expr = expr.replace("$__rate_interval", "5m").replace("$instance", ".*")
            rules += ["      - record: dashboard:expr%d" % i,
                      "        expr: %s" % json.dumps(expr)]
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "alligate-dash-%d.yml" % os.getpid())
        with open(path, "w") as f:
            f.write("\n".join(rules) + "\n")
        self.addCleanup(os.unlink, path)
        p = subprocess.run([PROMTOOL, "check", "rules", path], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main()
