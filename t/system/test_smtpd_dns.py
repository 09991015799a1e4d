"""smtpd with dnscache, against a real DNS server (dnsmasq on a loopback
port): the client's forward-confirmed name in the log and in Received:,
"unknown" for an unverified name or none, an IPv6 client's name, no
session held up longer than dnscache_timeout by a DNS server that never
answers, and the blocklist score refusing at RCPT or at connect, logged
with its sites, an allowlisted client exempt from the rules, a list's
error code (127.255.255.x) counted for no site without a filter.  With a
DNS server that is far away and a cold cache: the greeting waits for the
blocklists' answers and not for the forward confirmation of the name,
which the session takes later, before it logs "connect from" (first) or
writes Received:.  A reload's new dns_servers and dnsbl_sites apply."""

import os
import re
import signal
import time
import unittest

from alligate_test import (AlligateTestCase, RawClient, free_port, ipv6_loopback,
                           wait_for)
from test_dnscache import Blackhole, DelayProxy, Dnsmasq

RECORDS = [
    "--local=/test.example/", "--local=/127.in-addr.arpa/",
    "--local=/bl.test/", "--local=/white.test/",
    # 127.0.0.1 resolves both ways; 127.0.0.2 claims a name that does not.
    "--host-record=client.test.example,127.0.0.1",
    "--ptr-record=2.0.0.127.in-addr.arpa,liar.test.example",
    "--address=/liar.test.example/192.0.2.99",
    # Blocklists: 127.0.0.4 on two of them, 127.0.0.5 on an allowlist.
    "--address=/4.0.0.127.bl1.bl.test/127.0.0.2",
    "--address=/4.0.0.127.bl2.bl.test/127.0.0.10",
    "--address=/5.0.0.127.list.white.test/127.0.10.3",
    # bl1 refuses to say about 127.0.0.7: Spamhaus's "public resolver".
    "--address=/7.0.0.127.bl1.bl.test/127.255.255.254",
    # ::1 resolves both ways (PTR under ip6.arpa, AAAA), and is on bl2.
    "--local=/ip6.arpa/",
    "--host-record=six.test.example,::1",
    "--address=/%s.bl2.bl.test/127.0.0.10" % ".".join("0" * 31 + "1")[::-1],
]

SENDER = "sender@remote.test"


class SmtpdDnsTest(AlligateTestCase):
    start = False
    extra = ""

    def setUp(self):
        super().setUp()
        self.dns = Dnsmasq(RECORDS)
        self.addCleanup(self.dns.stop)
        # Loopback clients stand for the Internet here: relay_networks
        # clients are never scored.
        self.inst.write_conf("resolve_remote_hosts = yes\n"
                             "relay_networks = 192.0.2.0/24\n"
                             "dns_servers = 127.0.0.1:%d\n" % self.dns_port()
                             + self.conf_extra())
        self.inst.start()

    def dns_port(self):
        return self.dns.port

    def conf_extra(self):
        return self.extra

    def session(self, source, host="127.0.0.1", port=None):
        c = RawClient(host, port or self.inst.port, source=source)
        self.addCleanup(c.close)
        code, lines = c.reply()
        self.assertEqual(code, 220, lines)
        return c

    def smtpd_lines(self, pid_of):
        """The log lines (text after "smtpd[PID]: ") of the smtpd process
        that logged a line matching pid_of."""
        lines = re.findall(r"alligate/smtpd\[(\d+)\]: (.*)", self.inst.log())
        pids = [pid for pid, text in lines if re.search(pid_of, text)]
        self.assertTrue(pids, self.inst.log()[-3000:])
        return [text for pid, text in lines if pid == pids[0]]

    def deliver(self, source, host="127.0.0.1", port=None):
        c = self.session(source, host, port)
        self.assertEqual(c.cmd("EHLO helo.test.example")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % SENDER)[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send("Subject: dns\r\n\r\nhello\r\n.\r\n")
        code, lines = c.reply()
        self.assertEqual(code, 250, lines)
        qid = lines[0].split()[-1]
        return self.inst.queue_entry(qid).headers("Received")[0]


class Names(SmtpdDnsTest):

    def test_verified_name_in_received_and_log(self):
        received = self.deliver("127.0.0.1")
        self.assertIn("from helo.test.example (client.test.example [127.0.0.1])",
                      received)
        self.assertTrue(self.inst.wait_log(
            r"connect from client\.test\.example\[127\.0\.0\.1\]$"))

    def test_unverified_name_not_shown(self):
        received = self.deliver("127.0.0.2")
        self.assertIn("(unknown [127.0.0.2])", received)
        self.assertNotIn("liar", self.inst.log())

    def test_no_ptr_is_unknown(self):
        received = self.deliver("127.0.0.3")
        self.assertIn("(unknown [127.0.0.3])", received)


@unittest.skipUnless(ipv6_loopback(), "no IPv6 loopback")
class IPv6Client(SmtpdDnsTest):
    """A client on ::1: its PTR under ip6.arpa and its AAAA record
    verify its name; its blocklist query is the 32 nibbles."""
    extra = "dnsbl_sites = bl2.bl.test=127.0.0.[10..11]*3\ndnsbl_threshold = 4\n"

    def conf_extra(self):
        self.v6 = free_port()
        return self.extra + ("smtp_listen = 127.0.0.1:%d, [::1]:%d\n"
                             % (self.inst.port, self.v6))

    def test_verified_name_over_ipv6(self):
        received = self.deliver(None, host="::1", port=self.v6)
        self.assertIn("from helo.test.example (six.test.example [::1])", received)
        lines = self.smtpd_lines(r"client=six\.test\.example\[::1\]$")
        self.assertEqual(lines[0], "connect from six.test.example[::1]")
        # listed on bl2 (3), under the threshold of 4: noted, not refused
        out = dict(line.split(": ", 1) for line in self.inst.ctl(
            "dns", "lookup", "::1", check=True).stdout.splitlines())
        self.assertEqual(out["verified"], "six.test.example")
        self.assertEqual(out["dnsbl score"], "3")
        self.assertEqual(out["source"], "cache")
        self.assertEqual(self.dns.queries(".".join("0" * 31 + "1")[::-1]
                                          + ".bl2.bl.test"), 1)


class Blackholed(AlligateTestCase):
    """A DNS server that never answers holds no session longer than
    dnscache_timeout (plus slack)."""

    start = False

    def test_session_not_held(self):
        hole = Blackhole()
        self.addCleanup(hole.close)
        self.inst.write_conf("resolve_remote_hosts = yes\n"
                             "dnscache_timeout = 1s\n"
                             "dns_servers = 127.0.0.1:%d\n" % hole.port)
        self.inst.start()
        for source in ("127.0.0.6", "127.0.0.7"):
            start = time.monotonic()
            c = RawClient("127.0.0.1", self.inst.port, source=source)
            self.addCleanup(c.close)
            self.assertEqual(c.reply()[0], 220)
            self.assertEqual(c.cmd("EHLO x.test.example")[0], 250)
            self.assertLess(time.monotonic() - start, 1.5)
            c.cmd("QUIT")


class BlocklistAtRcpt(SmtpdDnsTest):
    extra = ("dnsbl_sites = bl1.bl.test*2, bl2.bl.test=127.0.0.[10..11]*3, "
             "list.white.test=127.0.10.[1..5]*-5\n"
             "dnsbl_threshold = 4\n"
             "dnsbl_allowlist_threshold = -5\n"
             "deny_null_sender = yes\n")

    def test_listed_client_refused_at_rcpt(self):
        c = self.session("127.0.0.4")
        self.assertEqual(c.cmd("EHLO x.test.example")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % SENDER)[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>"),
                         (550, ["5.7.1 Refused"]))
        line = self.inst.wait_log(
            r"NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.4\]: 550 5\.7\.1 Refused; "
            r"from=<[^>]*> to=<[^>]*> proto=ESMTP helo=<[^>]*> "
            r"rule=dnsbl score=5 sites=(\S+)$")
        self.assertTrue(line, self.inst.log()[-2000:])
        self.assertEqual(sorted(line.group(1).split(",")), ["bl1.bl.test", "bl2.bl.test"])

    def test_unlisted_and_allowlisted(self):
        self.assertIn("[127.0.0.3]", self.deliver("127.0.0.3"))
        # The allowlist exempts from the rules: the null sender passes.
        c = self.session("127.0.0.5")
        self.assertEqual(c.cmd("EHLO x.test.example")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<>")[0], 250)


class BlocklistErrorCode(SmtpdDnsTest):
    """A list that answers 127.255.255.254 (the query refused) lists no
    one through an entry without a filter; dnscache says so, once a
    minute."""
    extra = ("dnsbl_sites = bl1.bl.test*5\n"
             "dnsbl_threshold = 4\n")

    def test_error_code_ignored_and_logged(self):
        received = self.deliver("127.0.0.7")
        self.assertIn("(unknown [127.0.0.7])", received)
        pattern = (r"dnscache\[\d+\]: warning: dnsbl: bl1\.bl\.test answered "
                   r"127\.255\.255\.254, an error code, not a listing")
        self.assertTrue(self.inst.wait_log(pattern), self.inst.log()[-3000:])
        # Another client the same minute: answered again, not logged again.
        self.inst.ctl("dns", "flush", check=True)
        self.deliver("127.0.0.7")
        self.assertEqual(self.dns.queries("7.0.0.127.bl1.bl.test"), 2)
        self.assertEqual(len(re.findall(pattern, self.inst.log())), 1)
        self.assertNotIn("rule=dnsbl", self.inst.log())
        # A real listing still counts.
        c = self.session("127.0.0.4")
        self.assertEqual(c.cmd("EHLO x.test.example")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % SENDER)[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>"),
                         (550, ["5.7.1 Refused"]))


class SlowDns(SmtpdDnsTest):
    """A DNS server 0.4 s away and a cold cache.  The greeting waits for
    the blocklist answers (one round trip) and not for the name (two:
    the PTR, then the A record of its name); the session takes the name
    later, and shows it everywhere."""
    DELAY = 0.4
    extra = ("dnscache_timeout = 5s\n"
             "dnsbl_sites = bl1.bl.test*2, bl2.bl.test*3\n"
             "dnsbl_threshold = 4\n"
             "deny_null_sender = yes\n")

    def dns_port(self):
        self.proxy = DelayProxy(self.dns.port, self.DELAY)
        self.addCleanup(self.proxy.stop)
        return self.proxy.port

    def released(self, name, qtype):
        return wait_for(lambda: self.proxy.released.get((name, qtype)))

    def test_greeting_before_forward_confirmation(self):
        start = time.monotonic()
        c = self.session("127.0.0.1")
        greeted = time.monotonic()
        bl = self.released("1.0.0.127.bl1.bl.test", 1)
        ptr = self.released("1.0.0.127.in-addr.arpa", 12)
        forward = self.released("client.test.example", 1)
        self.assertTrue(bl and ptr and forward, self.proxy.released)
        # the score was waited for, the forward confirmation was not
        self.assertLess(bl, greeted)
        self.assertLess(greeted, forward)
        self.assertGreaterEqual(greeted - start, self.DELAY)
        # the name is in the message and in every line of the session
        self.assertEqual(c.cmd("EHLO helo.test.example")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % SENDER)[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send("Subject: dns\r\n\r\nhello\r\n.\r\n")
        code, lines = c.reply()
        self.assertEqual(code, 250, lines)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        qid = lines[0].split()[-1]
        self.assertIn("from helo.test.example (client.test.example [127.0.0.1])",
                      self.inst.queue_entry(qid).headers("Received")[0])
        self.assertTrue(self.inst.wait_log(r"disconnect from client\.test\.example"))
        lines = self.smtpd_lines(r"^%s: client=" % qid)
        self.assertEqual(lines[0], "connect from client.test.example[127.0.0.1]")
        self.assertIn("%s: client=client.test.example[127.0.0.1]" % qid, lines)
        self.assertNotIn("unknown", " ".join(lines))

    def test_connect_logged_while_client_is_silent(self):
        c = self.session("127.0.0.1")
        # The client says nothing: "connect from" comes with the name.
        self.assertTrue(self.inst.wait_log(
            r"smtpd\[\d+\]: connect from client\.test\.example\[127\.0\.0\.1\]$"),
            self.inst.log()[-2000:])
        self.assertEqual(c.cmd("QUIT")[0], 221)

    def test_refusal_waits_for_the_name(self):
        # A fast client: its EHLO is answered before the forward answer
        # is out, its refusal (which names it in the log) after.
        c = self.session("127.0.0.1")
        self.assertEqual(c.cmd("EHLO helo.test.example")[0], 250)
        helo = time.monotonic()
        self.assertEqual(c.cmd("MAIL FROM:<>")[0], 550)
        refused = time.monotonic()
        self.assertTrue(c.closed())
        forward = self.released("client.test.example", 1)
        self.assertLess(helo, forward)
        self.assertLess(forward, refused)
        self.assertTrue(self.inst.wait_log(r"disconnect from client\.test\.example"))
        lines = self.smtpd_lines(r"^NOQUEUE: reject: MAIL from ")
        self.assertEqual(lines[0], "connect from client.test.example[127.0.0.1]")
        self.assertRegex(lines[1], r"^NOQUEUE: reject: MAIL from "
                         r"client\.test\.example\[127\.0\.0\.1\]: 550 ")

    def test_quit_not_held_for_the_name(self):
        # The 221 goes before the session waits for the name that its
        # disconnect line shows.
        c = self.session("127.0.0.1")
        self.assertEqual(c.cmd("EHLO helo.test.example")[0], 250)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        quit_ = time.monotonic()
        forward = self.released("client.test.example", 1)
        self.assertLess(quit_, forward)
        self.assertTrue(self.inst.wait_log(
            r"smtpd\[\d+\]: disconnect from client\.test\.example\[127\.0\.0\.1\] "
            r"ehlo=1 quit=1 commands=2$"))
        lines = self.smtpd_lines(r"^disconnect from ")
        self.assertEqual(lines, ["connect from client.test.example[127.0.0.1]",
                                 "disconnect from client.test.example[127.0.0.1] "
                                 "ehlo=1 quit=1 commands=2"])

    def test_listed_client_refused_at_rcpt(self):
        c = self.session("127.0.0.4")
        self.assertEqual(c.cmd("EHLO x.test.example")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % SENDER)[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>"),
                         (550, ["5.7.1 Refused"]))
        self.assertEqual(c.cmd("QUIT")[0], 221)
        self.assertTrue(self.inst.wait_log(r"disconnect from unknown\[127\.0\.0\.4\]"))
        lines = self.smtpd_lines(r"^NOQUEUE: reject: RCPT from ")
        self.assertEqual(lines[0], "connect from unknown[127.0.0.4]")


class DnscacheHung(SmtpdDnsTest):
    """dnscache stopped (SIGSTOP: it neither answers nor dies): sessions
    go on, unknown and unscored, within dnscache_timeout, and smtpd says
    so, once a minute per process."""
    extra = "dnscache_timeout = 1s\ndnsbl_sites = bl1.bl.test*5\ndnsbl_threshold = 4\n"

    def test_sessions_go_on(self):
        pids = wait_for(lambda: self.inst.pids("dnscache"))
        self.assertEqual(len(pids), 1)
        os.kill(pids[0], signal.SIGSTOP)
        try:
            self.sessions()
        finally:
            os.kill(pids[0], signal.SIGCONT)

    def sessions(self):
        for source in ("127.0.0.1", "127.0.0.4", "127.0.0.1"):
            start = time.monotonic()
            c = self.session(source)
            self.assertLess(time.monotonic() - start, 1.5)
            self.assertEqual(c.cmd("EHLO x.test.example")[0], 250)
            self.assertEqual(c.cmd("MAIL FROM:<%s>" % SENDER)[0], 250)
            # 127.0.0.4 is listed, but nobody can say so
            self.assertEqual(c.cmd("RCPT TO:<someone@example.com>")[0], 250)
            self.assertEqual(c.cmd("QUIT")[0], 221)
            self.assertLess(time.monotonic() - start, 2.5)
        self.assertTrue(wait_for(lambda: self.inst.log().count("disconnect from ") == 3))
        log = self.inst.log()
        self.assertNotIn("client.test.example", log)
        warnings = re.findall(r"smtpd\[(\d+)\]: warning: dnscache: no answer: .*"
                              r"going on with an unknown client", log)
        self.assertTrue(warnings, log[-3000:])
        self.assertEqual(len(warnings), len(set(warnings)))


class Reload(SmtpdDnsTest):
    """alligatectl reload: new dns_servers and dnsbl_sites apply to the
    next sessions; the old servers' failures are forgotten."""
    extra = "dnscache_timeout = 1s\ndnsbl_sites = bl1.bl.test*5\ndnsbl_threshold = 4\n"

    def dns_port(self):
        self.hole = Blackhole()
        self.addCleanup(self.hole.close)
        return self.hole.port

    def stats(self):
        return dict(line.split(": ", 1) for line in self.inst.ctl(
            "dns", "stats", check=True).stdout.splitlines())

    def test_new_servers_and_sites(self):
        # No answers: unknown, unscored, the failures cached.
        self.assertIn("(unknown [127.0.0.1])", self.deliver("127.0.0.1"))
        c = self.session("127.0.0.4")
        self.assertEqual(c.cmd("EHLO x.test.example")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % SENDER)[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>")[0], 250)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        # Once c-ares gives up, the failures are cached (for 30 s).
        self.assertTrue(wait_for(lambda: self.stats()["inflight"] == "0",
                                 timeout=15))
        out = dict(line.split(": ", 1) for line in self.inst.ctl(
            "dns", "lookup", "127.0.0.1", check=True).stdout.splitlines())
        self.assertEqual((out["source"], out["result"]), ("cache", "temp"), out)
        mark = self.inst.log_mark()
        self.inst.write_conf("dns_servers = 127.0.0.1:%d\n"
                             "dnsbl_sites = bl2.bl.test*5\n" % self.dns.port)
        self.inst.ctl("reload", check=True)
        self.assertTrue(self.inst.wait_log(
            r"dnscache\[\d+\]: reloaded the configuration: .*dns_servers = "
            r"127\.0\.0\.1:%d \(temporary failures forgotten\)" % self.dns.port,
            mark), self.inst.log_since(mark))
        self.assertEqual(self.stats()["entries"], "0")
        self.assertIn("(client.test.example [127.0.0.1])",
                      self.deliver("127.0.0.1"))
        c = self.session("127.0.0.4")
        self.assertEqual(c.cmd("EHLO x.test.example")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % SENDER)[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>"),
                         (550, ["5.7.1 Refused"]))
        self.assertTrue(self.inst.wait_log(
            r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.4\]: 550 5\.7\.1 "
            r"Refused; from=<sender@remote\.test> to=<someone@example\.com> "
            r"proto=ESMTP helo=<x\.test\.example> "
            r"rule=dnsbl score=5 sites=bl2\.bl\.test$", mark))
        self.assertEqual(self.dns.queries("4.0.0.127.bl1.bl.test"), 0)


class BlocklistAtConnect(SmtpdDnsTest):
    extra = ("dnsbl_sites = bl1.bl.test*2, bl2.bl.test*3\n"
             "dnsbl_threshold = 4\n"
             "dnsbl_reject_at = connect\n")

    def test_listed_client_refused_at_connect(self):
        c = RawClient("127.0.0.1", self.inst.port, source="127.0.0.4")
        self.addCleanup(c.close)
        self.assertEqual(c.line(), "550 5.7.1 Refused")
        self.assertTrue(c.closed(timeout=3))
