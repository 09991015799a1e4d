"""smtpd with dnscache, against a real DNS server (dnsmasq on a loopback
port): the client's forward-confirmed name in the log and in Received:,
"unknown" for an unverified name or none, no session held up longer than
dnscache_timeout by a DNS server that never answers, and the blocklist
score refusing at RCPT or at connect, logged with its sites, an
allowlisted client exempt from the rules."""

import time

from alligate_test import AlligateTestCase, RawClient
from test_dnscache import Blackhole, Dnsmasq

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
                             "dns_servers = 127.0.0.1:%d\n" % self.dns.port
                             + self.extra)
        self.inst.start()

    def session(self, source):
        c = RawClient("127.0.0.1", self.inst.port, source=source)
        self.addCleanup(c.close)
        code, lines = c.reply()
        self.assertEqual(code, 220, lines)
        return c

    def deliver(self, source):
        c = self.session(source)
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


class BlocklistAtConnect(SmtpdDnsTest):
    extra = ("dnsbl_sites = bl1.bl.test*2, bl2.bl.test*3\n"
             "dnsbl_threshold = 4\n"
             "dnsbl_reject_at = connect\n")

    def test_listed_client_refused_at_connect(self):
        c = RawClient("127.0.0.1", self.inst.port, source="127.0.0.4")
        self.addCleanup(c.close)
        self.assertEqual(c.line(), "550 5.7.1 Refused")
        self.assertTrue(c.closed(timeout=3))
