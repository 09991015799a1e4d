"""The fail2ban filter and jails (etc/fail2ban/) against the log a real
instance writes: clients from distinct loopback addresses (127.0.0.x)
make clean sessions, get recipients refused (one in the tarpit), fail
AUTH, abuse the protocol and leave the tarpit until refused at connect;
fail2ban-regex (Debian's fail2ban) then runs each mode of the filter over
the log, and each mode must match exactly the addresses that did what it
is for, never a clean one.

The tarpit mode is also tried on t/system/fail2ban/tarpit.log: lines of
the shapes the tarpit daemon and smtpd write, with what this test's
traffic does not make (IPv6, DNS names, another reply text, a release
early to make room, tarpit lines written by a client into an address).

The jail file is checked by fail2ban-client itself (-t) with every jail
enabled."""

import base64
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from alligate_test import (TOP, RawClient, SharedInstanceTestCase, make_cert,
                           wait_for)

AUTH_OK = (235, ["2.7.0 Authentication successful"])
AUTH_FAILED = (535, ["5.7.8 Error: authentication failed"])
ASK_USER = (334, ["VXNlcm5hbWU6"])
ASK_PASSWORD = (334, ["UGFzc3dvcmQ6"])


def b64(text):
    return base64.b64encode(text.encode()).decode()


def plain(user, password):
    """AUTH PLAIN's initial response."""
    return b64("\0%s\0%s" % (user, password))

FILTER = os.path.join(TOP, "etc", "fail2ban", "filter.d", "alligate.conf")
JAIL = os.path.join(TOP, "etc", "fail2ban", "jail.d", "alligate.conf")
TARPIT_LOG = os.path.join(TOP, "t", "system", "fail2ban", "tarpit.log")
SYSTEM_CONF = "/etc/fail2ban"

PASSWORD = "Corr3ct-Horse-42"
RECIPIENTS = "alice@example.com\nbob@example.com\n"
HELO = "client.test.example"

# Who does what.  Clean clients must match no mode.
CLEAN = ["127.0.0.10", "127.0.0.11", "127.0.0.12"]
NORMAL = {
    "127.0.0.30": "relay_access",
    "127.0.0.31": "local_recipients",
    "127.0.0.32": "max_invalid_recipients",
    "127.0.0.33": "killlist",
    "127.0.0.34": "deny_invalid_helo",
}
AUTH = {
    "127.0.0.40": "SASL LOGIN authentication failed",
    "127.0.0.41": "SASL PLAIN authentication failed",
    "127.0.0.42": "rule=auth_failure_limit",
}
ABUSE = {
    "127.0.0.20": "rule=pregreet",
    "127.0.0.21": "rule=pipelining",
    "127.0.0.22": "rule=bare_newline",
    "127.0.0.23": "too many errors after",
    "127.0.0.24": "improper command pipelining after STARTTLS",
    "127.0.0.25": "rule=non_smtp_command",
}
# Left the tarpit twice (max_invalid_recipients, then over the limit at
# EHLO), then refused at connect.
TARPIT = {"127.0.0.50": "rule=tarpit_disconnect_limit tarpit_disconnects=2"}
TARPIT_FIXTURE = {"198.51.100.7", "2001:db8::7", "198.51.100.8", "203.0.113.9"}


def fail2ban_config():
    """A fail2ban configuration directory: the system's, with this tree's
    filter and jail in place of any installed ones and of the system's
    jails; (the temporary directory, the configuration in it)."""
    tmp = tempfile.mkdtemp(prefix="alligate-f2b-")
    conf = os.path.join(tmp, "fail2ban")
    shutil.copytree(SYSTEM_CONF, conf, symlinks=True)
    shutil.copy(FILTER, os.path.join(conf, "filter.d", "alligate.conf"))
    # The system's own jails (Debian enables sshd) have no log here.
    shutil.rmtree(os.path.join(conf, "jail.d"), ignore_errors=True)
    os.makedirs(os.path.join(conf, "jail.d"))
    shutil.copy(JAIL, os.path.join(conf, "jail.d", "alligate.conf"))
    return tmp, conf


def f2b_regex(conf, log, mode):
    """[(ip, line)] of the lines of log that filter alligate[mode=MODE]
    matches, as fail2ban-regex reports them."""
    r = subprocess.run(["fail2ban-regex", "-c", conf, "-o", "<ip> <msg>", log,
                        "alligate[mode=%s]" % mode],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return [tuple(line.split(" ", 1)) for line in r.stdout.splitlines() if line]


class Clients:
    """The traffic of the test: clients from their own addresses."""

    def __init__(self, inst):
        self.inst = inst

    def client(self, source, greet=True, ehlo=True):
        c = RawClient("127.0.0.1", self.inst.port, source=source)
        if greet:
            assert c.reply()[0] == 220
        if ehlo:
            assert c.ehlo(HELO)[0] == 250
        return c

    def expect(self, got, want):
        if got != want:
            raise AssertionError("%r != %r" % (got, want))

    def message(self, c, rcpt="alice@example.com", body="Subject: hi\r\n\r\nhello\r\n"):
        self.expect(c.cmd("MAIL FROM:<sender@remote.example>")[0], 250)
        self.expect(c.cmd("RCPT TO:<%s>" % rcpt)[0], 250)
        self.expect(c.cmd("DATA")[0], 354)
        self.expect(c.cmd(body + ".")[0], 250)

    def run(self):
        """What the clients do (once, before the tests)."""
        # Clean: a message and QUIT; over STARTTLS; after AUTH; with HELO,
        # RSET and NOOP; one that hangs up after its message; and a
        # message refused for its size, which a real sender meets too.
        c = self.client(CLEAN[0])
        self.message(c)
        self.expect(c.cmd("QUIT")[0], 221)
        c = self.client(CLEAN[0])
        self.expect(c.cmd("STARTTLS")[0], 220)
        c.starttls()
        self.expect(c.ehlo(HELO)[0], 250)
        self.message(c, "bob@example.com")
        self.expect(c.cmd("QUIT")[0], 221)
        c = self.client(CLEAN[1])
        self.expect(c.cmd("AUTH PLAIN " + plain("alice", PASSWORD)), AUTH_OK)
        self.message(c, "someone@elsewhere.example")
        self.expect(c.cmd("QUIT")[0], 221)
        c = self.client(CLEAN[1], ehlo=False)
        self.expect(c.cmd("HELO " + HELO)[0], 250)
        self.expect(c.cmd("RSET")[0], 250)
        self.expect(c.cmd("NOOP")[0], 250)
        self.expect(c.cmd("QUIT")[0], 221)
        c = self.client(CLEAN[2])
        self.message(c)
        c.close()
        c = self.client(CLEAN[2])
        self.expect(c.cmd("MAIL FROM:<sender@remote.example> SIZE=20000")[0], 552)
        self.expect(c.cmd("QUIT")[0], 221)

        # Normal: one refusal each.
        c = self.client("127.0.0.30")
        self.expect(c.cmd("MAIL FROM:<sender@remote.example>")[0], 250)
        self.expect(c.cmd("RCPT TO:<someone@elsewhere.example>")[0], 554)
        self.expect(c.cmd("QUIT")[0], 221)
        c = self.client("127.0.0.31")
        self.expect(c.cmd("MAIL FROM:<sender@remote.example>")[0], 250)
        self.expect(c.cmd("RCPT TO:<nobody@example.com>")[0], 550)
        self.expect(c.cmd("QUIT")[0], 221)
        c = self.client("127.0.0.32")
        self.expect(c.cmd("MAIL FROM:<sender@remote.example>")[0], 250)
        self.expect(c.cmd("RCPT TO:<x1@example.com>")[0], 550)
        self.expect(c.cmd("RCPT TO:<x2@example.com>")[0], 550)
        self.expect(c.closed(), True)
        c = self.client("127.0.0.33", greet=False, ehlo=False)
        self.expect(c.reply()[0], 554)
        self.expect(c.closed(), True)
        c = self.client("127.0.0.34", ehlo=False)
        self.expect(c.cmd("EHLO localhost")[0], 550)
        self.expect(c.closed(), True)

        # AUTH: a LOGIN failure, a PLAIN failure, a guesser cut off.
        c = self.client("127.0.0.40")
        self.expect(c.cmd("AUTH LOGIN"), ASK_USER)
        self.expect(c.cmd(b64("alice")), ASK_PASSWORD)
        self.expect(c.cmd(b64("wrong")), AUTH_FAILED)
        self.expect(c.cmd("QUIT")[0], 221)
        c = self.client("127.0.0.41")
        self.expect(c.cmd("AUTH PLAIN " + plain("alice", "wrong")), AUTH_FAILED)
        self.expect(c.cmd("QUIT")[0], 221)
        for _ in range(3):
            c = self.client("127.0.0.42")
            self.expect(c.cmd("AUTH PLAIN " + plain("alice", "guess")), AUTH_FAILED)
            self.expect(c.cmd("QUIT")[0], 221)
        c = self.client("127.0.0.42")
        self.expect(c.cmd("AUTH PLAIN " + plain("alice", "guess"))[0], 421)
        self.expect(c.closed(), True)

        # Protocol abuse.
        c = self.client("127.0.0.20", greet=False, ehlo=False)
        c.send("EHLO %s\r\n" % HELO)
        self.expect(c.reply()[0], 554)
        self.expect(c.closed(), True)
        c = self.client("127.0.0.21")
        c.send("MAIL FROM:<sender@remote.example>\r\nRCPT TO:<alice@example.com>\r\n"
               "DATA\r\nSubject: impatient\r\n\r\nx\r\n.\r\n")
        self.expect([code for code, _ in c.replies_until_close()[0]], [250, 250, 554])
        c = self.client("127.0.0.22")
        c.send("NOOP\nQUIT\r\n")
        self.expect([code for code, _ in c.replies_until_close()[0]], [521])
        c = self.client("127.0.0.23")
        for _ in range(4):
            self.expect(c.cmd("XYZZY")[0], 500)
        self.expect(c.cmd("XYZZY")[0], 500)
        self.expect(c.reply()[0], 421)
        c = self.client("127.0.0.24")
        c.send("STARTTLS\r\nMAIL FROM:<evil@remote.example>\r\n")
        self.expect(c.reply()[0], 220)
        c.starttls()
        self.expect(c.ehlo(HELO)[0], 250)
        self.expect(c.cmd("QUIT")[0], 221)
        c = self.client("127.0.0.25", ehlo=False)
        c.send("GET / HTTP/1.0\r\n\r\n")
        self.expect(c.closed(), True)

        # The tarpit: held for its second unknown recipient, the client
        # leaves; over the limit, its next EHLO is held, and it leaves
        # again; then it is refused at connect.
        c = self.client("127.0.0.50")
        self.expect(c.cmd("MAIL FROM:<sender@remote.example>")[0], 250)
        self.expect(c.cmd("RCPT TO:<x1@example.com>")[0], 550)
        c.send("RCPT TO:<x2@example.com>\r\n")
        self.wait_log(r"NOQUEUE: tarpit: RCPT from unknown\[127\.0\.0\.50\]: ")
        c.close()
        self.wait_log(r"tarpit: unknown\[127\.0\.0\.50\] disconnected after "
                      r"[0-9.]+s \(tarpit disconnect 1 of 2 in 10m\)$")
        c = self.client("127.0.0.50", ehlo=False)
        c.send("EHLO %s\r\n" % HELO)
        self.wait_log(r"NOQUEUE: tarpit: EHLO from unknown\[127\.0\.0\.50\]: ")
        c.close()
        self.wait_log(r"tarpit: unknown\[127\.0\.0\.50\] disconnected after "
                      r"[0-9.]+s \(tarpit disconnect 2 of 2 in 10m\)$")
        c = self.client("127.0.0.50", greet=False, ehlo=False)
        self.expect(c.reply(), (550, ["5.7.1 Refused"]))
        self.expect(c.closed(), True)

    def wait_log(self, regex):
        if not self.inst.wait_log(regex, timeout=10):
            raise AssertionError("no %r in:\n%s" % (regex, self.inst.log()[-3000:]))


@unittest.skipUnless(shutil.which("fail2ban-regex"),
                     "fail2ban is not installed (scripts/install-deps installs it)")
class Fail2ban(SharedInstanceTestCase):
    conf = ("relay_networks = 192.0.2.0/24\n"
            "local_recipients = recipients\n"
            "killlist = kill\n"
            "deny_invalid_helo = yes\n"
            "max_invalid_recipients = 2\n"
            "smtp_auth = yes\n"
            "auth_require_tls = no\n"
            "auth_failure_delay = 0\n"
            "auth_failure_limit = 3\n"
            "auth_failure_window = 10m\n"
            "smtpd_soft_error_limit = 0\n"
            "smtpd_hard_error_limit = 5\n"
            "message_size_limit = 10000\n"
            "tarpit = yes\n"
            "tarpit_delay = 3s\n"
            "tarpit_disconnect_limit = 2\n"
            "tls_cert_file = cert.pem\ntls_key_file = key.pem\n")
    files = {"recipients": RECIPIENTS, "kill": "127.0.0.33\n"}

    @classmethod
    def prepare(cls, inst):
        make_cert(inst.dir)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            sock = os.path.join(cls.inst.dir, "run", "authd.sock")
            wait_for(lambda: os.path.exists(sock), timeout=10)
            # The tarpit, and ratekeeper that counts its disconnects.
            sock = os.path.join(cls.inst.dir, "run", "tarpit.sock")
            wait_for(lambda: os.path.exists(sock), timeout=10)
            wait_for(lambda: cls.inst.ctl("rate", "top").returncode == 0, timeout=10)
            cls.inst.ctl("user", "add", "alice", "--password-stdin",
                         input=PASSWORD + "\n", check=True)
            cls.tmp, cls.f2b = fail2ban_config()
            mark = cls.inst.log_mark()
            Clients(cls.inst).run()
            # Every session has ended (and been logged) before the log is read.
            ends = len(CLEAN) * 2 + len(NORMAL) + len(AUTH) + 3 + len(ABUSE) + 2
            if not wait_for(lambda: cls.inst.log_since(mark).count("disconnect from ")
                            >= ends, timeout=20):
                raise AssertionError("not %d sessions in the log:\n%s"
                                     % (ends, cls.inst.log_since(mark)))
            cls.log = os.path.join(cls.tmp, "alligate.log")
            shutil.copy(cls.inst.log_path, cls.log)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        if getattr(cls, "tmp", None):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    # The modes ------------------------------------------------------------

    def matched(self, mode, log=None):
        """{ip: [lines]} that mode matches in the log."""
        found = {}
        for ip, line in f2b_regex(self.f2b, log or self.log, mode):
            found.setdefault(ip, []).append(line)
        return found

    def assertMode(self, mode, expected):
        """The mode matches exactly the addresses of expected, and for
        each one at least a line holding its text."""
        found = self.matched(mode)
        self.assertEqual(sorted(found), sorted(expected), found)
        for ip, text in expected.items():
            self.assertTrue(any(text in line for line in found[ip]),
                            "%s: no line with %r in %s" % (ip, text, found[ip]))

    def test_the_log_has_every_kind_of_line(self):
        """The traffic made what the modes are for (else a mode matching
        nothing would pass for right)."""
        with open(self.log) as f:
            log = f.read()
        for ip in CLEAN:
            self.assertIn("disconnect from unknown[%s]" % ip, log)
        self.assertIn("lost connection after END-OF-MESSAGE from unknown[%s]" % CLEAN[2], log)
        self.assertIn("rule=message_size_limit", log)
        for ip, rule in NORMAL.items():
            self.assertRegex(log, r"NOQUEUE: (?:reject|tarpit): \S+ from unknown\[%s\]: "
                             r".*; .*rule=%s\b" % (re.escape(ip), rule))
        # 127.0.0.32's refusal was the tarpit's, and it waited it out.
        self.assertRegex(log, r"(?m)NOQUEUE: tarpit: RCPT from unknown\[127\.0\.0\.32\]: "
                         r"550 5\.7\.1 Refused; from=<sender@remote\.example> "
                         r"to=<x2@example\.com> proto=ESMTP helo=<client\.test\.example> "
                         r"rule=max_invalid_recipients$")
        self.assertRegex(log, r"(?m)tarpit: release unknown\[127\.0\.0\.32\] after "
                         r"[0-9.]+s: 550 5\.7\.1 Refused$")
        self.assertRegex(log, r"(?m)NOQUEUE: reject: CONNECT from unknown\[127\.0\.0\.50\]: "
                         r"550 5\.7\.1 Refused; proto=SMTP rule=tarpit_disconnect_limit "
                         r"tarpit_disconnects=2$")

    def test_normal(self):
        expected = {ip: "rule=" + rule for ip, rule in NORMAL.items()}
        # The tarpit's client broke max_invalid_recipients first.
        expected["127.0.0.50"] = "rule=max_invalid_recipients"
        self.assertMode("normal", expected)
        self.assertTrue(any("NOQUEUE: tarpit: RCPT " in line
                            for line in self.matched("normal")["127.0.0.32"]))

    def test_auth(self):
        self.assertMode("auth", AUTH)
        # Postfix's shape, that other tools read.
        self.assertTrue(any(re.search(r"warning: unknown\[127\.0\.0\.40\]: SASL LOGIN "
                                      r"authentication failed: ", line)
                            for line in self.matched("auth")["127.0.0.40"]))

    def test_abuse(self):
        self.assertMode("abuse", ABUSE)

    def test_aggressive_is_all_of_them(self):
        found = self.matched("aggressive")
        self.assertEqual(sorted(found),
                         sorted(list(NORMAL) + list(AUTH) + list(ABUSE) + list(TARPIT)))

    def test_tarpit(self):
        """The client that left the tarpit, on both its disconnects and
        its refusal at connect; not 127.0.0.32, that waited its refusal
        out."""
        self.assertMode("tarpit", TARPIT)
        lines = self.matched("tarpit")["127.0.0.50"]
        self.assertEqual(len(lines), 3, lines)
        self.assertEqual(len([line for line in lines if " disconnected after " in line]), 2,
                         lines)

    def test_tarpit_mode_on_tarpit_lines(self):
        """Lines in the shapes the tarpit and smtpd write: clients that
        hung up while tarpitted, and the connect refusal of
        tarpit_disconnect_limit; not holds, releases, nor hand-offs and
        refusals for other rules, nor text a client put in an address."""
        found = self.matched("tarpit", TARPIT_LOG)
        self.assertEqual(sorted(found), sorted(TARPIT_FIXTURE), found)
        self.assertEqual(len(found["198.51.100.7"]), 2)
        self.assertEqual(sorted(self.matched("aggressive", TARPIT_LOG)),
                         sorted(TARPIT_FIXTURE | {"198.51.100.23"}))

    def test_jails_load_in_fail2ban(self):
        """fail2ban-client -t: the jail file parses, and each jail with
        its filter mode loads, with every jail enabled on this log."""
        local = os.path.join(self.f2b, "jail.d", "alligate.local")
        with open(JAIL) as f:
            jails = re.findall(r"^\[(alligate[^]]*)\]$", f.read(), re.M)
        self.assertEqual(jails, ["alligate", "alligate-auth", "alligate-tarpit",
                                 "alligate-abuse"])
        with open(local, "w") as f:
            for jail in jails:
                f.write("[%s]\nenabled = true\nlogpath = %s\n\n" % (jail, self.log))
        try:
            r = subprocess.run(["fail2ban-client", "-c", self.f2b, "-t"],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("OK: configuration test is successful", r.stdout + r.stderr)
            r = subprocess.run(["fail2ban-client", "-c", self.f2b, "-d"],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            for jail in jails:
                self.assertIn("['add', '%s'," % jail, r.stdout)
        finally:
            os.unlink(local)


if __name__ == "__main__":
    unittest.main()
