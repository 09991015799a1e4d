"""smtps_listen against the real service: port 25's service under
implicit TLS (RFC 8314), not an AUTH ONLY port (that is
submission_listen).  A client of the smtps port delivers to a local
recipient without AUTH (issue 12's check, swaks --tlsc, too), relays
only from relay_networks or after AUTH, and meets port 25's anti-spam
rules there (sender_rate_limit, deny_invalid_helo, the killlist); with
smtp_auth = yes AUTH is offered (TLS is there from the first byte) and
works, and the submission port stays AUTH ONLY.  TLS itself (handshake,
resumption, ciphers) is in test_tls.py."""

import base64
import os
import re
import subprocess

from alligate_test import (RawClient, SharedInstanceTestCase, free_port, make_cert,
                           tls_client_context, wait_for)
from tarpit_util import ratekeeper_ready

TLS_CONF = "tls_cert_file = cert.pem\ntls_key_file = key.pem\n"
USER, PASSWORD = "alice", "Smtps-Pw-xyzzy-7"

OK_MAIL = (250, ["2.1.0 Ok"])
OK_RCPT = (250, ["2.1.5 Ok"])
GO_AHEAD = (354, ["End data with <CR><LF>.<CR><LF>"])
REFUSED = (550, ["5.7.1 Refused"])
KILLED = (554, ["5.7.1 Refused"])
AUTH_OK = (235, ["2.7.0 Authentication successful"])
AUTH_REQUIRED = (530, ["5.7.0 Authentication required"])
READY = (220, ["2.0.0 Ready to start TLS"])
QUEUED = re.compile(r"^2\.0\.0 Ok: queued as ([0-9A-F]{19})$")


def relay_denied(rcpt):
    return (554, ["5.7.1 <%s>: Relay access denied" % rcpt])


def extensions(reply):
    """The keywords of an EHLO reply (code, lines), the greeting left out."""
    return [line.split()[0].upper() for line in reply[1][1:] if line]


class SmtpsTestCase(SharedInstanceTestCase):
    """An instance with a self-signed certificate and smtps_listen on
    SMTPS; clients from chosen loopback addresses."""

    SMTPS = 0

    @classmethod
    def prepare(cls, inst):
        make_cert(inst.dir)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        assert ratekeeper_ready(cls.inst)

    def client(self, source, greet=True):
        """A client of the smtps port from source, past the handshake
        and (with greet) the 220, which comes under TLS."""
        c = RawClient("127.0.0.1", self.SMTPS, source=source, tls=tls_client_context())
        self.addCleanup(c.close)
        if greet:
            code, lines = c.reply()
            self.assertEqual(code, 220, lines)
        return c

    def send_message(self, c, rcpt="someone@example.com", sender="sender@remote.test",
                     subject="smtps"):
        """MAIL, RCPT, DATA of one message over c, each with its exact
        reply; the queue id."""
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % sender), OK_MAIL)
        self.assertEqual(c.cmd("RCPT TO:<%s>" % rcpt), OK_RCPT)
        self.assertEqual(c.cmd("DATA"), GO_AHEAD)
        c.send("Subject: %s\r\n\r\nImplicit TLS.\r\n.\r\n" % subject)
        code, lines = c.reply()
        self.assertEqual(code, 250, lines)
        m = QUEUED.match(lines[0])
        self.assertTrue(m, lines)
        return m.group(1)

    def assertLogged(self, regex):
        m = self.inst.wait_log(regex, self.mark)
        self.assertTrue(m, "no %r in:\n%s" % (regex, self.log_since_start()[-3000:]))
        return m

    def delivered(self, subject):
        """The Maildir file (bytes) holding the message with subject,
        once relay has delivered it."""
        new = os.path.join(self.inst.dir, "data", "maildir", "new")
        needle = b"\nSubject: %s\n" % subject.encode()

        def find():
            for name in os.listdir(new) if os.path.isdir(new) else []:
                with open(os.path.join(new, name), "rb") as f:
                    data = f.read()
                if needle in data:
                    return data
            return None
        data = wait_for(find, timeout=20)
        self.assertTrue(data, self.log_since_start()[-3000:])
        return data


class WithoutAuth(SmtpsTestCase):
    """smtp_auth = no (the default), which smtps does not need; the
    gateway delivers into its Maildir.  relay_networks holds 127.0.0.56
    alone: the other loopback addresses are Internet clients."""

    SMTPS = free_port()
    conf = TLS_CONF + ("smtps_listen = 127.0.0.1:%d\n"
                       "relay_networks = 127.0.0.56/32\n"
                       "defer_delivery = no\n"
                       "sender_rate_limit = 2\n"
                       "sender_rate_window = 10m\n"
                       "deny_invalid_helo = yes\n"
                       "killlist = kill\n" % SMTPS)
    files = {"kill": "127.0.0.54\n"}

    def test_delivers_to_local_recipient_without_auth(self):
        c = self.client("127.0.0.51")
        reply = c.ehlo()
        self.assertEqual(reply[0], 250)
        self.assertEqual(reply[1][0], "mx.test.example")
        self.assertNotIn("STARTTLS", extensions(reply))
        self.assertNotIn("AUTH", extensions(reply))
        qid = self.send_message(c, subject="smtps without auth")
        self.assertEqual(c.cmd("QUIT"), (221, ["2.0.0 Bye"]))
        data = self.delivered("smtps without auth")
        self.assertTrue(data.startswith(b"Return-Path: <sender@remote.test>\n"
                                        b"Delivered-To: someone@example.com\n"
                                        b"Received: from client.test.example "
                                        b"(unknown [127.0.0.51])\n"), data[:300])
        self.assertIn(b" with ESMTPS id %s" % qid.encode(), data)
        self.assertTrue(data.endswith(b"\nSubject: smtps without auth\n\nImplicit TLS.\n"),
                        data[-200:])
        self.assertLogged(r"%s: to=<someone@example\.com>, relay=local, .*"
                          r"status=sent \(delivered to maildir " % qid)

    def test_swaks_tlsc_delivers(self):
        # Issue 12's check, as a new user tries it.
        p = subprocess.run(["swaks", "--tlsc", "--server", "127.0.0.1:%d" % self.SMTPS,
                            "--to", "someone@example.com", "--from", "sender@remote.test",
                            "--helo", "client.test.example", "--timeout", "20",
                            "--header", "Subject: swaks over smtps"],
                           capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        if "Net::SSLeay" in p.stdout + p.stderr:
            self.fail("swaks cannot do TLS: install libnet-ssleay-perl (scripts/install-deps)")
        self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr)
        self.assertNotIn("AUTH", p.stdout)
        self.assertRegex(p.stdout, r"(?m)^<~  250 2\.1\.0 Ok$")
        self.assertRegex(p.stdout, r"(?m)^<~  250 2\.1\.5 Ok$")
        self.assertRegex(p.stdout, r"(?m)^<~  250 2\.0\.0 Ok: queued as [0-9A-F]{19}$")
        self.assertIn(b"Delivered-To: someone@example.com\n",
                      self.delivered("swaks over smtps"))

    def test_relay_rules_as_on_port_25(self):
        c = self.client("127.0.0.52")
        self.assertEqual(c.ehlo()[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.test>"), OK_MAIL)
        self.assertEqual(c.cmd("RCPT TO:<someone@elsewhere.test>"),
                         relay_denied("someone@elsewhere.test"))
        self.assertEqual(c.cmd("RCPT TO:<someone%elsewhere.test@example.com>"),
                         relay_denied("someone%elsewhere.test@example.com"))
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>"), OK_RCPT)
        self.assertLogged(r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.52\]: 554 5\.7\.1 "
                          r"<someone@elsewhere\.test>: Relay access denied; "
                          r"from=<sender@remote\.test> to=<someone@elsewhere\.test> "
                          r"proto=ESMTP helo=<client\.test\.example> rule=relay_access$")
        # relay_networks relay without AUTH.
        c = self.client("127.0.0.56")
        self.assertEqual(c.ehlo()[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.test>"), OK_MAIL)
        self.assertEqual(c.cmd("RCPT TO:<someone@elsewhere.test>"), OK_RCPT)

    def test_sender_rate_limit(self):
        c = self.client("127.0.0.53")
        self.assertEqual(c.ehlo()[0], 250)
        self.send_message(c, subject="rate one")
        self.send_message(c, subject="rate two")
        self.assertEqual(c.cmd("MAIL FROM:<bulk@remote.test>"), REFUSED)
        self.assertLogged(r"NOQUEUE: reject: MAIL from unknown\[127\.0\.0\.53\]: "
                          r"550 5\.7\.1 Refused; from=<bulk@remote\.test> "
                          r"proto=ESMTP helo=<client\.test\.example> "
                          r"rule=sender_rate_limit$")
        # The session goes on; the message is not queued.
        self.assertEqual(c.cmd("NOOP"), (250, ["2.0.0 Ok"]))
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>"),
                         (503, ["5.5.1 Error: need MAIL command"]))

    def test_deny_invalid_helo(self):
        c = self.client("127.0.0.55")
        self.assertEqual(c.cmd("EHLO localhost"), REFUSED)
        self.assertTrue(c.closed())
        self.assertLogged(r"NOQUEUE: reject: EHLO from unknown\[127\.0\.0\.55\]: "
                          r"550 5\.7\.1 Refused; proto=SMTP helo=<localhost> "
                          r"rule=deny_invalid_helo$")

    def test_killlist(self):
        # Not spared as the AUTH ONLY port is (submission_killlist = no).
        c = self.client("127.0.0.54", greet=False)
        self.assertEqual(c.reply(), KILLED)
        self.assertTrue(c.closed())
        self.assertLogged(r"NOQUEUE: reject: CONNECT from unknown\[127\.0\.0\.54\]: "
                          r"554 5\.7\.1 Refused; proto=SMTP rule=killlist$")


class WithAuth(SmtpsTestCase):
    """smtp_auth = yes; loopback clients are Internet clients
    (relay_networks elsewhere); a submission port (STARTTLS required) to
    compare with."""

    SMTPS = free_port()
    SUBMISSION = free_port()
    conf = TLS_CONF + ("smtp_auth = yes\n"
                       "auth_failure_delay = 0\n"
                       "relay_networks = 192.0.2.0/24\n"
                       "smtps_listen = 127.0.0.1:%d\n"
                       "submission_listen = 127.0.0.1:%d\n" % (SMTPS, SUBMISSION))

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        sock = os.path.join(cls.inst.dir, "run", "authd.sock")
        wait_for(lambda: os.path.exists(sock), timeout=10)
        cls.inst.ctl("user", "add", USER, "--password-stdin", input=PASSWORD + "\n",
                     check=True)

    def login(self, c):
        token = base64.b64encode(("\0%s\0%s" % (USER, PASSWORD)).encode()).decode()
        self.assertEqual(c.cmd("AUTH PLAIN " + token), AUTH_OK)

    def test_auth_offered_not_required(self):
        c = self.client("127.0.0.61")
        reply = c.ehlo()
        self.assertEqual(reply[0], 250)
        self.assertIn("AUTH PLAIN LOGIN", reply[1])
        # Without AUTH: local mail, no relaying.
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.test>"), OK_MAIL)
        self.assertEqual(c.cmd("RCPT TO:<someone@elsewhere.test>"),
                         relay_denied("someone@elsewhere.test"))
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>"), OK_RCPT)
        self.assertEqual(c.cmd("RSET"), (250, ["2.0.0 Ok"]))
        # With it: anywhere.
        self.login(c)
        qid = self.send_message(c, rcpt="someone@elsewhere.test", sender="alice@example.com")
        qf = self.inst.queue_entry(qid)
        self.assertEqual(qf.recipients, ["someone@elsewhere.test"])
        self.assertEqual(qf.get("P"), "ESMTPSA")
        self.assertIn("with ESMTPSA id %s" % qid, qf.headers("Received")[0])
        self.assertLogged(r"%s: client=unknown\[127\.0\.0\.61\], sasl_method=PLAIN, "
                          r"sasl_username=alice$" % qid)

    def test_submission_still_auth_only(self):
        c = RawClient("127.0.0.1", self.SUBMISSION, source="127.0.0.62")
        self.addCleanup(c.close)
        self.assertEqual(c.reply()[0], 220)
        self.assertEqual(c.ehlo()[0], 250)
        self.assertEqual(c.cmd("STARTTLS"), READY)
        c.starttls()
        self.assertEqual(c.ehlo()[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.test>"), AUTH_REQUIRED)
        self.login(c)
        self.assertEqual(c.cmd("MAIL FROM:<alice@example.com>"), OK_MAIL)
