"""TLS in smtpd against the real service: STARTTLS (RFC 3207) on
smtp_listen and submission_listen, implicit TLS (RFC 8314) on
smtps_listen, the security levels, the handshake's limits (timeout,
garbage, old protocols, weak ciphers), no plaintext injection
(CVE-2011-0411), session resumption on another worker (tickets and TLS 1.3
PSK), a certificate renewed by reload, alligatectl check on the TLS
parameters.  Clients: Python's ssl module over raw sockets, openssl
s_client and swaks."""

import base64
import os
import re
import shutil
import socket
import ssl
import struct
import subprocess
import time
import unittest
import warnings

from alligate_test import (Instance, RawClient, SharedInstanceTestCase,
                           cert_der, free_port, make_cert, make_expired_cert,
                           s_client, server_pid, tls_client_context, wait_for)

TLS_CONF = "tls_cert_file = cert.pem\ntls_key_file = key.pem\n"

READY = (220, ["2.0.0 Ready to start TLS"])
MUST_STARTTLS = (530, ["5.7.0 Must issue a STARTTLS command first"])
TLS_ACTIVE = (503, ["5.5.1 Error: TLS already active"])
NEED_HELO = (503, ["5.5.1 Error: send HELO/EHLO first"])
NEED_MAIL = (503, ["5.5.1 Error: need MAIL command"])
OK = (250, ["2.0.0 Ok"])
OK_MAIL = (250, ["2.1.0 Ok"])
OK_RCPT = (250, ["2.1.5 Ok"])
QUEUED = re.compile(r"^2\.0\.0 Ok: queued as ([0-9A-F]{19})$")

# "(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))"
USING = re.compile(r"\(using (TLSv1\.[23]) with cipher (\S+) \((\d+)/(\d+) bits\)\)")
ESTABLISHED = (r"smtpd\[%d\]: TLS connection established from [^\s\[]+"
               r"\[127\.0\.0\.1\]: (TLSv1\.[0-3]) with cipher (\S+) "
               r"\((\d+)/(\d+) bits\)( \(resumed\))?$")


def extensions(ehlo_reply):
    """The keywords of an EHLO reply (code, lines), the greeting left out."""
    return [line.split()[0].upper() for line in ehlo_reply[1][1:] if line]


class TlsTestCase(SharedInstanceTestCase):
    """An instance with a fresh self-signed certificate (CN=mx.example.com)
    in its configuration directory, named relative to it in main.cf."""

    conf = TLS_CONF
    auth_only_ports = ()                # where send_message() logs in first

    @classmethod
    def prepare(cls, inst):
        cls.cert = make_cert(inst.dir, "mx.example.com")

    # Clients ---------------------------------------------------------------

    def connect(self, port=None):
        """A plaintext client that has read its 220 greeting."""
        c = RawClient("127.0.0.1", port or self.inst.port)
        self.addCleanup(c.close)
        code, lines = c.reply()
        self.assertEqual(code, 220, lines)
        return c

    def tls(self, port=None, context=None, session=None, ehlo=True):
        """A client through EHLO, STARTTLS and the handshake, and (with
        ehlo) its EHLO under TLS."""
        c = self.connect(port)
        self.assertEqual(c.ehlo()[0], 250)
        self.assertEqual(c.cmd("STARTTLS"), READY)
        c.starttls(context, session)
        if ehlo:
            self.assertEqual(c.ehlo()[0], 250)
        return c

    def implicit(self, port, context=None, session=None):
        """A client of smtps_listen: the handshake, then the 220 under TLS."""
        c = RawClient("127.0.0.1", port, tls=context or tls_client_context(),
                      session=session)
        self.addCleanup(c.close)
        code, lines = c.reply()
        self.assertEqual(code, 220, lines)
        return c

    def login(self, c):
        """AUTH PLAIN as the class's user, made on first use: the
        submission port takes mail from authenticated clients only."""
        cls = type(self)
        if not getattr(cls, "user_added", False):
            self.inst.ctl("user", "add", AUTH_USER, "--password-stdin",
                          input=AUTH_PASSWORD + "\n", check=True)
            cls.user_added = True
        token = base64.b64encode(("\0%s\0%s" % (AUTH_USER, AUTH_PASSWORD)).encode())
        self.assertEqual(c.cmd("AUTH PLAIN " + token.decode())[0], 235)

    def send_message(self, c, rcpt="someone@example.com",
                     sender="sender@remote.test", subject="tls"):
        """MAIL, RCPT, DATA of one message over c; its queue id.  On an
        AUTH ONLY port the client logs in first."""
        if c.port in self.auth_only_ports:
            self.login(c)
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % sender), OK_MAIL)
        self.assertEqual(c.cmd("RCPT TO:<%s>" % rcpt), OK_RCPT)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send("Subject: %s\r\n\r\nOver TLS.\r\n.\r\n" % subject)
        code, lines = c.reply()
        self.assertEqual(code, 250, lines)
        m = QUEUED.match(lines[0])
        self.assertTrue(m, lines)
        return m.group(1)

    # The log ----------------------------------------------------------------

    def established(self, pid, count=1):
        """The "TLS connection established" lines (match objects) of
        smtpd pid since the test began, once there are count of them."""
        def lines():
            found = list(re.finditer(ESTABLISHED % pid, self.log_since_start(), re.M))
            return found if len(found) >= count else None
        found = wait_for(lines, timeout=5) or []
        self.assertEqual(len(found), count, self.log_since_start()[-2000:])
        return found

    def handshake_refused(self, port, context):
        """A handshake on port (STARTTLS first unless it is smtps) that
        must fail; the ssl.SSLError."""
        if port == self.inst.port:
            c = self.connect()
            self.assertEqual(c.cmd("STARTTLS"), READY)
            with self.assertRaises(ssl.SSLError) as cm:
                c.starttls(context)
            return cm.exception
        with self.assertRaises(ssl.SSLError) as cm:
            RawClient("127.0.0.1", port, tls=context).close()
        return cm.exception

    def assertPlaintextRefused(self, c):
        """Before TLS at level encrypt: 530 for all but EHLO, HELO,
        STARTTLS, NOOP, RSET and QUIT."""
        for cmd in ("MAIL FROM:<sender@remote.test>", "RCPT TO:<someone@example.com>",
                    "DATA", "BDAT 0 LAST", "VRFY someone@example.com",
                    "EXPN staff", "ETRN example.com"):
            with self.subTest(cmd=cmd):
                self.assertEqual(c.cmd(cmd), MUST_STARTTLS)
        self.assertEqual(c.cmd("NOOP"), OK)
        self.assertEqual(c.cmd("RSET"), OK)
        self.assertEqual(c.cmd("HELO client.test.example"), (250, ["mx.test.example"]))
        self.assertEqual(c.ehlo()[0], 250)
        with self.subTest(cmd="AUTH"):
            code, lines = c.cmd("AUTH PLAIN")
            if code in (500, 502):
                self.skipTest("this smtpd has no AUTH command yet")
            self.assertEqual((code, lines), MUST_STARTTLS)

    def assertServiceUnharmed(self):
        """A new client still gets a whole TLS session with delivery."""
        c = self.tls()
        qid = self.send_message(c, subject="after")
        self.assertEqual(c.cmd("QUIT")[0], 221)
        self.assertIn(qid, self.new_queue_files())


AUTH_USER = "tlsuser"
AUTH_PASSWORD = "Tls-Test-Pw-42"

SUBMISSION_PORT = free_port()
SMTPS_PORT = free_port()


class StartTls(TlsTestCase):
    """smtp_listen at the default level (may), submission_listen at its
    default (encrypt), smtps_listen; at least two idle workers for each."""

    auth_only_ports = (SUBMISSION_PORT,)
    conf = TLS_CONF + ("smtp_auth = yes\n"
                       "submission_listen = 127.0.0.1:%d\n"
                       "smtps_listen = 127.0.0.1:%d\n"
                       "smtpd_spare_processes = 3\n" % (SUBMISSION_PORT, SMTPS_PORT))

    # STARTTLS itself ----------------------------------------------------------

    def test_starttls_advertised_before_tls_only(self):
        c = self.connect()
        self.assertIn("STARTTLS", extensions(c.ehlo()))
        self.assertEqual(c.cmd("STARTTLS"), READY)
        c.starttls()
        self.assertEqual(c.sock.version(), "TLSv1.3")
        reply = c.ehlo()
        self.assertEqual(reply[0], 250)
        self.assertEqual(reply[1][0], "mx.test.example")
        self.assertNotIn("STARTTLS", extensions(reply))
        self.assertEqual(c.cmd("QUIT")[0], 221)
        self.assertTrue(c.closed())

    def test_starttls_with_an_argument_is_a_syntax_error(self):
        c = self.connect()
        c.ehlo()
        self.assertEqual(c.cmd("STARTTLS foo"), (501, ["5.5.4 Syntax: STARTTLS"]))
        # Still plaintext, and STARTTLS still works.
        self.assertEqual(c.cmd("NOOP"), OK)
        self.assertEqual(c.cmd("STARTTLS"), READY)
        c.starttls()
        self.assertEqual(c.ehlo()[0], 250)

    def test_second_starttls_under_tls(self):
        c = self.tls()
        self.assertEqual(c.cmd("STARTTLS"), TLS_ACTIVE)
        # The session goes on under the same TLS.
        self.assertEqual(c.cmd("NOOP"), OK)
        self.send_message(c)

    def test_transaction_forgotten_after_handshake(self):
        # RFC 3207 4.2: the server forgets everything it learnt from the
        # client before TLS.
        c = self.connect()
        c.ehlo()
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.test>"), OK_MAIL)
        self.assertEqual(c.cmd("STARTTLS"), READY)
        c.starttls()
        # Before any EHLO, which would reset the transaction itself.
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>"), NEED_MAIL)
        self.assertEqual(c.ehlo()[0], 250)
        self.assertEqual(c.cmd("DATA"), NEED_MAIL)
        self.send_message(c)

    def test_helo_forgotten_after_handshake(self):
        c = self.connect()
        c.ehlo()
        self.assertEqual(c.cmd("STARTTLS"), READY)
        c.starttls()
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.test>"), NEED_HELO)
        self.assertEqual(c.ehlo()[0], 250)
        self.send_message(c)

    # Injection (CVE-2011-0411) ---------------------------------------------------

    def test_command_pipelined_after_starttls_is_discarded(self):
        c = self.connect()
        c.ehlo()
        c.send("STARTTLS\r\nRSET\r\n")
        # One plaintext reply; starttls() also refuses anything after it,
        # and a plaintext reply to RSET would break the handshake.
        self.assertEqual(c.reply(), READY)
        c.starttls()
        # The first reply under TLS answers EHLO, not the RSET.
        reply = c.ehlo()
        self.assertEqual(reply[0], 250)
        self.assertEqual(reply[1][0], "mx.test.example")
        self.assertEqual(c.cmd("NOOP"), OK)
        self.assertTrue(c.silent())
        self.assertTrue(self.inst.wait_log(
            r"improper command pipelining after STARTTLS from \S+\[127\.0\.0\.1\]: "
            r"6 bytes discarded: RSET", self.mark), self.log_since_start()[-2000:])

    def test_mail_pipelined_after_starttls_never_runs(self):
        c = self.connect()
        c.ehlo()
        c.send("STARTTLS\r\nMAIL FROM:<evil@remote.test>\r\n")
        self.assertEqual(c.reply(), READY)
        c.starttls()
        reply = c.ehlo()
        self.assertEqual((reply[0], reply[1][0]), (250, "mx.test.example"))
        # Had the MAIL run under TLS, this RCPT would be accepted.
        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>"), NEED_MAIL)
        self.assertTrue(c.silent())
        pid = server_pid(self.inst, c)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        self.assertTrue(self.inst.wait_log(
            r"smtpd\[%d\]: improper command pipelining after STARTTLS from .*"
            r": 30 bytes discarded: MAIL FROM:<evil@remote.test>" % pid, self.mark))
        # Counted neither before TLS nor after it.
        m = self.inst.wait_log(r"smtpd\[%d\]: disconnect from (.*)$" % pid, self.mark)
        self.assertTrue(m, self.log_since_start())
        self.assertNotIn(" mail=", m.group(1))
        self.assertNotRegex(self.log_since_start(), r"from=<evil@remote\.test>")

    # What the message and the log say ------------------------------------------

    def test_received_header_and_log_line(self):
        c = self.tls()
        pid = server_pid(self.inst, c)
        version, cipher, bits = c.sock.version(), c.sock.cipher()[0], c.sock.cipher()[2]
        self.assertEqual(version, "TLSv1.3")
        qid = self.send_message(c)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        received = self.inst.queue_entry(qid).headers("Received")[0]
        self.assertIn("with ESMTPS id %s" % qid, received)
        m = USING.search(received)
        self.assertTrue(m, received)
        self.assertEqual(m.groups(), (version, cipher, str(bits), m.group(4)))
        self.assertTrue(cipher.startswith("TLS_"), cipher)
        # One line for the one handshake, not resumed.
        (line,) = self.established(pid)
        self.assertEqual(line.groups(), (version, cipher, str(bits), m.group(4), None))
        self.assertEqual(self.inst.queue_entry(qid).get("P"), "ESMTPS")

    def test_plaintext_session_is_esmtp(self):
        c = self.connect()
        c.ehlo()
        qid = self.send_message(c)
        received = self.inst.queue_entry(qid).headers("Received")[0]
        self.assertIn("with ESMTP id %s" % qid, received)
        self.assertNotIn("using", received)

    def test_tls12(self):
        ctx = tls_client_context(maximum=ssl.TLSVersion.TLSv1_2)
        c = self.tls(context=ctx)
        self.assertEqual(c.sock.version(), "TLSv1.2")
        # One of the default tls_ciphers (Mozilla intermediate).
        self.assertRegex(c.sock.cipher()[0], r"^ECDHE-ECDSA-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$")
        qid = self.send_message(c)
        self.assertRegex(self.inst.queue_entry(qid).headers("Received")[0],
                         r"\(using TLSv1\.2 with cipher ECDHE-ECDSA-\S+ \(\d+/\d+ bits\)\)")

    # Refused handshakes ------------------------------------------------------

    def test_tls10_and_tls11_refused(self):
        for version in ("TLSv1", "TLSv1_1"):
            with self.subTest(version=version):
                # TLSVersion.TLSv1 and TLSv1_1 are deprecated: that is
                # the point.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    v = getattr(ssl.TLSVersion, version)
                    ctx = tls_client_context(minimum=v, maximum=v,
                                             ciphers="DEFAULT:@SECLEVEL=0")
                err = self.handshake_refused(self.inst.port, ctx)
                if err.reason in ("NO_PROTOCOLS_AVAILABLE", "NO_CIPHERS_AVAILABLE"):
                    # This Python cannot offer it: ask openssl s_client
                    # (-tls1, -tls1_1).
                    self.s_client_refused("-" + version.lower().replace("v", ""))
                    continue
                # The server's refusal, for the version and not the
                # ciphers (OpenSSL checks the version first).
                self.assertEqual(err.reason, "TLSV1_ALERT_PROTOCOL_VERSION", err)
        self.assertTrue(self.inst.wait_log(
            r"SSL_accept error from \S+: TLS handshake failed: .*unsupported protocol",
            self.mark),
                        self.log_since_start()[-2000:])
        self.assertServiceUnharmed()

    def s_client_refused(self, option):
        rc, out = s_client(self.inst.port, "-starttls", "smtp", option,
                           "-cipher", "DEFAULT:@SECLEVEL=0")
        if re.search(r"[Nn]o protocols available", out):
            self.skipTest("neither Python nor openssl s_client can offer %s" % option)
        self.assertNotEqual(rc, 0, out)
        self.assertNotRegex(out, r"^New, TLSv1")

    def test_null_and_anonymous_ciphers_refused(self):
        # With TLS 1.3 the client would offer its own suites: 1.2 at most.
        for ciphers in ("eNULL", "aNULL"):
            with self.subTest(ciphers=ciphers):
                ctx = tls_client_context(maximum=ssl.TLSVersion.TLSv1_2,
                                         ciphers=ciphers + ":@SECLEVEL=0")
                names = [c["name"] for c in ctx.get_ciphers()
                         if c["protocol"] != "TLSv1.3"]
                self.assertTrue(names)
                err = self.handshake_refused(self.inst.port, ctx)
                self.assertEqual(err.reason, "SSLV3_ALERT_HANDSHAKE_FAILURE", err)
        self.assertTrue(self.inst.wait_log(
            r"SSL_accept error from \S+: TLS handshake failed: .*no shared cipher",
            self.mark),
                        self.log_since_start()[-2000:])

    def test_weak_cipher_suites_refused_on_the_wire(self):
        # The local OpenSSL cannot even offer RC4 or EXPORT suites: a
        # hand-made ClientHello offers them, each group alone.
        self.assertEqual(hello_answer(SMTPS_PORT, [0xC02B]), "ServerHello")
        for name, suites in WEAK_SUITES.items():
            with self.subTest(suites=name):
                self.assertEqual(hello_answer(SMTPS_PORT, suites), "refused")
        self.assertEqual(hello_answer(SMTPS_PORT, [0xC02B]), "ServerHello")

    def test_garbage_instead_of_client_hello(self):
        c = self.connect()
        self.assertEqual(c.cmd("STARTTLS"), READY)
        pid = server_pid(self.inst, c)
        c.send(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        c.sock.settimeout(5)
        while True:
            try:
                chunk = c.sock.recv(4096)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        # At most a TLS alert: never an SMTP reply.
        self.assertTrue(data == b"" or data[0] == 0x15, data)
        self.assertTrue(self.inst.wait_log(
            r"smtpd\[%d\]: SSL_accept error from \S+\[127\.0\.0\.1\]: "
            r"TLS handshake failed: .*http request$" % pid, self.mark),
            self.log_since_start()[-2000:])
        # The worker lives on to serve its next client.
        self.assertTrue(self.inst.wait_log(r"smtpd\[%d\]: disconnect from" % pid,
                                           self.mark))
        os.kill(pid, 0)
        self.assertNotRegex(self.log_since_start(),
                            r"(?i)panic|fatal|killed by signal|exit status")
        self.assertServiceUnharmed()

    # Submission: encrypt by default --------------------------------------------

    def test_submission_requires_starttls_by_default(self):
        c = self.connect(SUBMISSION_PORT)
        reply = c.ehlo()
        self.assertIn("STARTTLS", extensions(reply))
        self.assertPlaintextRefused(c)
        self.assertEqual(c.cmd("STARTTLS"), READY)
        c.starttls()
        reply = c.ehlo()
        self.assertNotIn("STARTTLS", extensions(reply))
        qid = self.send_message(c)
        self.assertIn("with ESMTPSA", self.inst.queue_entry(qid).headers("Received")[0])

    def test_submission_quit_before_tls(self):
        c = self.connect(SUBMISSION_PORT)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        self.assertTrue(c.closed())

    # Implicit TLS ------------------------------------------------------------

    def test_implicit_tls_delivery(self):
        # Port 25's service under TLS (RFC 8314): AUTH is offered (TLS
        # is there from the first byte), not required.
        c = self.implicit(SMTPS_PORT)
        self.assertEqual(c.sock.version(), "TLSv1.3")
        reply = c.ehlo()
        self.assertEqual(reply[0], 250)
        self.assertNotIn("STARTTLS", extensions(reply))
        self.assertIn("AUTH", extensions(reply))
        self.assertEqual(c.cmd("STARTTLS"), TLS_ACTIVE)
        pid = server_pid(self.inst, c)
        qid = self.send_message(c)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        self.assertIn(qid, self.new_queue_files())
        qf = self.inst.queue_entry(qid)
        self.assertEqual(qf.recipients, ["someone@example.com"])
        self.assertTrue(qf.message.endswith(b"Subject: tls\r\n\r\nOver TLS.\r\n"))
        received = qf.headers("Received")[0]
        self.assertIn("with ESMTPS id", received)
        self.assertRegex(received, USING)
        self.established(pid)

    def test_implicit_tls_with_auth(self):
        c = self.implicit(SMTPS_PORT)
        self.assertEqual(c.ehlo()[0], 250)
        self.login(c)
        qid = self.send_message(c, rcpt="someone@elsewhere.example")
        self.assertIn("with ESMTPSA id", self.inst.queue_entry(qid).headers("Received")[0])

    def test_plaintext_on_smtps_port_gets_no_reply(self):
        c = RawClient("127.0.0.1", SMTPS_PORT)
        self.addCleanup(c.close)
        c.send("EHLO client.test.example\r\n")
        data = b""
        c.sock.settimeout(10)
        while True:
            try:
                chunk = c.sock.recv(4096)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        self.assertNotIn(b"220", data)
        self.assertTrue(data == b"" or data[0] == 0x15, data)
        self.assertTrue(self.inst.wait_log(
            r"SSL_accept error from \S+: TLS handshake failed: .*wrong version number",
            self.mark))

    def test_plaintext_client_waiting_for_greeting_gets_none(self):
        c = RawClient("127.0.0.1", SMTPS_PORT)
        self.addCleanup(c.close)
        # A plaintext client waits for 220 first: the server waits for a
        # ClientHello; neither speaks.
        self.assertTrue(c.silent(timeout=1))

    # Resumption on another worker -------------------------------------------

    def resume_on_another_worker(self, context, port=None):
        first = self.tls(port, context)
        session = first.sock.session
        self.assertTrue(session.has_ticket)
        self.assertFalse(first.sock.session_reused)
        # The first client holds its worker: the second lands on another.
        second = self.tls(port, context, session=session)
        self.assertTrue(second.sock.session_reused)
        pids = server_pid(self.inst, first), server_pid(self.inst, second)
        self.assertNotEqual(pids[0], pids[1])
        self.send_message(second)
        self.assertEqual(self.established(pids[0])[0].group(5), None)
        self.assertEqual(self.established(pids[1])[0].group(5), " (resumed)")
        return second

    def test_resume_tls12_ticket_on_another_worker(self):
        c = self.resume_on_another_worker(
            tls_client_context(maximum=ssl.TLSVersion.TLSv1_2))
        self.assertEqual(c.sock.version(), "TLSv1.2")

    def test_resume_tls13_psk_on_another_worker(self):
        c = self.resume_on_another_worker(
            tls_client_context(minimum=ssl.TLSVersion.TLSv1_3))
        self.assertEqual(c.sock.version(), "TLSv1.3")

    def test_resume_on_submission_port(self):
        self.resume_on_another_worker(tls_client_context(), SUBMISSION_PORT)

    def test_resume_implicit_tls(self):
        ctx = tls_client_context()
        first = self.implicit(SMTPS_PORT, ctx)
        first.ehlo()
        second = self.implicit(SMTPS_PORT, ctx, session=first.sock.session)
        self.assertTrue(second.sock.session_reused)
        self.assertNotEqual(server_pid(self.inst, first), server_pid(self.inst, second))

    def test_unknown_session_is_a_full_handshake(self):
        # A session this service never issued (from another instance's
        # keys would be the same): no resumption, no failure.
        other = Instance(TLS_CONF)
        self.addCleanup(other.cleanup)
        make_cert(other.dir)
        other.start()
        ctx = tls_client_context()
        c = RawClient("127.0.0.1", other.port)
        self.addCleanup(c.close)
        self.assertEqual(c.reply()[0], 220)
        c.ehlo()
        self.assertEqual(c.cmd("STARTTLS"), READY)
        c.starttls(ctx)
        self.assertEqual(c.ehlo()[0], 250)
        self.assertTrue(c.sock.session.has_ticket)
        c2 = self.tls(context=ctx, session=c.sock.session)
        self.assertFalse(c2.sock.session_reused)
        self.send_message(c2)

    # Other clients ----------------------------------------------------------------

    def test_openssl_s_client_starttls_and_reuse(self):
        sess = os.path.join(self.inst.dir, "s_client.sess")
        self.addCleanup(lambda: os.path.exists(sess) and os.unlink(sess))
        rc, out = s_client(self.inst.port, "-starttls", "smtp",
                           "-name", "client.test.example", "-sess_out", sess)
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"(?m)^New, TLSv1\.3, Cipher is TLS_")
        self.assertRegex(out, r"(?m)^subject=CN ?= ?mx\.example\.com$")
        self.assertRegex(out, r"(?m)^221 ")
        rc, out = s_client(self.inst.port, "-starttls", "smtp",
                           "-name", "client.test.example", "-sess_in", sess)
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"(?m)^Reused, TLSv1\.3, Cipher is TLS_")

    def swaks(self, *args):
        p = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % args[0],
                            "--to", "someone@example.com", "--from", "sender@remote.test",
                            "--helo", "client.test.example", "--timeout", "20"]
                           + list(args[1:]),
                           capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        if "Net::SSLeay" in p.stdout + p.stderr:
            self.fail("swaks cannot do TLS: install libnet-ssleay-perl (scripts/install-deps)")
        self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr)
        m = re.search(r"250 2\.0\.0 Ok: queued as ([0-9A-F]{19})", p.stdout)
        self.assertTrue(m, p.stdout[-3000:])
        return m.group(1), p.stdout

    def test_swaks_tls(self):
        qid, out = self.swaks(self.inst.port, "--tls")
        self.assertIn("<-  220 2.0.0 Ready to start TLS", out)
        self.assertIn(qid, self.new_queue_files())
        self.assertIn("with ESMTPS", self.inst.queue_entry(qid).headers("Received")[0])

    def swaks_auth(self):
        """swaks' AUTH options (the test client's command line, not the
        gateway's: acceptable in a test)."""
        self.login(self.tls(SUBMISSION_PORT))
        return ("--auth", "PLAIN", "--auth-user", AUTH_USER,
                "--auth-password", AUTH_PASSWORD)

    def test_swaks_tls_on_submission(self):
        qid, out = self.swaks(SUBMISSION_PORT, "--tls", *self.swaks_auth())
        self.assertIn(qid, self.new_queue_files())

    def test_swaks_implicit_tls(self):
        # Issue 12's check: swaks --tlsc delivers, with no AUTH.
        qid, out = self.swaks(SMTPS_PORT, "--tlsc")
        self.assertIn(qid, self.new_queue_files())
        self.assertIn("with ESMTPS id", self.inst.queue_entry(qid).headers("Received")[0])

    def test_swaks_implicit_tls_with_auth(self):
        qid, out = self.swaks(SMTPS_PORT, "--tlsc", *self.swaks_auth())
        self.assertIn(qid, self.new_queue_files())
        self.assertIn("with ESMTPSA id", self.inst.queue_entry(qid).headers("Received")[0])


# Hand-made ClientHellos -------------------------------------------------------

WEAK_SUITES = {
    # TLS_RSA_WITH_RC4_128_MD5, _SHA, ECDHE_ECDSA/ECDHE_RSA/ECDH_anon RC4
    "RC4": [0x0004, 0x0005, 0xC007, 0xC011, 0xC016, 0x0018],
    # RSA_EXPORT_WITH_RC4_40_MD5, _RC2_CBC_40_MD5, _DES40_CBC_SHA,
    # DHE_RSA_EXPORT_WITH_DES40_CBC_SHA, DH_anon_EXPORT_*
    "EXPORT": [0x0003, 0x0006, 0x0008, 0x0014, 0x0017, 0x0019],
    # RSA_WITH_NULL_MD5, _SHA, _SHA256, ECDHE_ECDSA/ECDHE_RSA/ECDH_anon NULL
    "NULL": [0x0001, 0x0002, 0x003B, 0xC006, 0xC010, 0xC015],
    # DH_anon and ECDH_anon with AES
    "aNULL": [0x0034, 0x00A6, 0x00A7, 0xC018, 0xC019],
}


def client_hello(suites):
    """A TLS 1.2 ClientHello record offering exactly suites, with the
    extensions an ECDSA P-256 server needs to pick an ECDHE suite."""
    def ext(kind, data):
        return struct.pack("!HH", kind, len(data)) + data

    def vec16(data):
        return struct.pack("!H", len(data)) + data

    exts = (ext(0x000A, vec16(struct.pack("!HH", 0x0017, 0x001D)))   # groups
            + ext(0x000B, b"\x01\x00")                              # points
            + ext(0x000D, vec16(struct.pack("!HHH", 0x0403, 0x0804, 0x0401)))
            + ext(0xFF01, b"\x00"))                                 # reneg.
    body = (b"\x03\x03" + os.urandom(32) + b"\x00"
            + vec16(b"".join(struct.pack("!H", s) for s in suites))
            + b"\x01\x00" + vec16(exts))
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + vec16(handshake)


def hello_answer(port, suites):
    """Sends a ClientHello offering suites to implicit TLS on port:
    "ServerHello" when the server picks one, "refused" on an alert or
    the end of the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(client_hello(suites))
        head = b""
        while len(head) < 6:
            try:
                chunk = s.recv(6 - len(head))
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return "refused"
            head += chunk
    if head[0] == 0x16 and head[5] == 0x02:
        return "ServerHello"
    if head[0] == 0x15:
        return "refused"
    return "unexpected %r" % head


class RequireTls(TlsTestCase):
    """smtpd_tls_security_level = encrypt on smtp_listen; the submission
    port set to may, so that each level follows its own parameter."""

    SUBMISSION = free_port()
    conf = TLS_CONF + ("smtpd_tls_security_level = encrypt\n"
                       "smtp_auth = yes\n"
                       "submission_listen = 127.0.0.1:%d\n"
                       "submission_tls_security_level = may\n" % SUBMISSION)

    def test_530_before_starttls(self):
        c = self.connect()
        self.assertIn("STARTTLS", extensions(c.ehlo()))
        self.assertPlaintextRefused(c)
        self.assertEqual(c.cmd("STARTTLS"), READY)
        c.starttls()
        c.ehlo()
        qid = self.send_message(c)
        self.assertIn(qid, self.new_queue_files())
        self.assertIn("with ESMTPS", self.inst.queue_entry(qid).headers("Received")[0])

    def test_nothing_queued_in_plaintext(self):
        c = self.connect()
        c.ehlo()
        c.send("MAIL FROM:<sender@remote.test>\r\nRCPT TO:<someone@example.com>\r\n"
               "DATA\r\nSubject: x\r\n\r\nx\r\n.\r\nQUIT\r\n")
        replies, closed = c.replies_until_close()
        self.assertEqual(replies[:3], [MUST_STARTTLS] * 3)
        self.assertEqual(replies[-1][0], 221)
        self.assertEqual(self.new_queue_files(), [])

    def test_submission_at_may_takes_plaintext(self):
        # Plaintext commands are taken; mail needs AUTH, which needs TLS
        # (auth_require_tls), not STARTTLS as such.
        c = self.connect(self.SUBMISSION)
        self.assertIn("STARTTLS", extensions(c.ehlo()))
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.test>"),
                         (530, ["5.7.0 Authentication required"]))
        self.assertEqual(c.cmd("AUTH PLAIN"),
                         (538, ["5.7.11 Encryption required for requested "
                                "authentication mechanism"]))


class Permissive(TlsTestCase):
    """An administrator who asks for everything: tls_protocols from TLS
    1.0 on, tls_ciphers ALL at security level 0.  TLS 1.0 and 1.1 then
    work (so the refusals of StartTls are the defaults' doing, and this
    client can offer them), but anonymous, NULL, EXPORT and RC4 ciphers
    are still never used."""

    SMTPS = free_port()
    conf = TLS_CONF + ("tls_protocols = >=TLSv1\n"
                       "tls_ciphers = ALL:@SECLEVEL=0\n"
                       "smtps_listen = 127.0.0.1:%d\n" % SMTPS)

    def test_old_protocols_when_asked_for(self):
        for version in ("TLSv1", "TLSv1_1"):
            with self.subTest(version=version):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    v = getattr(ssl.TLSVersion, version)
                    ctx = tls_client_context(minimum=v, maximum=v,
                                             ciphers="DEFAULT:@SECLEVEL=0")
                c = self.tls(context=ctx)
                self.assertEqual(c.sock.version(), version.replace("_", "."))
                self.send_message(c)

    def test_weak_ciphers_never(self):
        for ciphers in ("eNULL", "aNULL"):
            with self.subTest(ciphers=ciphers):
                ctx = tls_client_context(maximum=ssl.TLSVersion.TLSv1_2,
                                         ciphers=ciphers + ":@SECLEVEL=0")
                err = self.handshake_refused(self.inst.port, ctx)
                self.assertEqual(err.reason, "SSLV3_ALERT_HANDSHAKE_FAILURE", err)
        for name, suites in WEAK_SUITES.items():
            with self.subTest(suites=name):
                self.assertEqual(hello_answer(self.SMTPS, suites), "refused")
        self.assertEqual(hello_answer(self.SMTPS, [0xC02B]), "ServerHello")
        self.assertServiceUnharmed()


class HandshakeTimeout(TlsTestCase):
    """smtpd_timeout bounds the handshake, after STARTTLS and on
    smtps_listen."""

    SMTPS = free_port()
    conf = TLS_CONF + ("smtpd_timeout = 2s\n"
                       "smtps_listen = 127.0.0.1:%d\n" % SMTPS)

    def test_silent_client_on_smtps_is_closed(self):
        c = RawClient("127.0.0.1", self.SMTPS)
        self.addCleanup(c.close)
        start = time.monotonic()
        self.assertTrue(c.closed(timeout=10))
        elapsed = time.monotonic() - start
        self.assertGreater(elapsed, 1.5)
        self.assertLess(elapsed, 5)
        self.assertTrue(self.inst.wait_log(
            r"SSL_accept error from \S+: TLS handshake failed: timeout$", self.mark))
        c = RawClient("127.0.0.1", self.SMTPS, tls=tls_client_context())
        self.addCleanup(c.close)
        self.assertEqual(c.reply()[0], 220)

    def test_silent_client_after_starttls_is_closed(self):
        c = self.connect()
        self.assertEqual(c.cmd("STARTTLS"), READY)
        start = time.monotonic()
        self.assertTrue(c.closed(timeout=10))
        elapsed = time.monotonic() - start
        self.assertGreater(elapsed, 1.5)
        self.assertLess(elapsed, 5)
        self.assertTrue(self.inst.wait_log(
            r"SSL_accept error from \S+: TLS handshake failed: timeout$", self.mark))
        self.assertServiceUnharmed()

    def test_client_hello_cut_short_is_closed(self):
        c = self.connect()
        self.assertEqual(c.cmd("STARTTLS"), READY)
        hello = client_hello([0xC02B])
        c.send(hello[:len(hello) // 2])
        start = time.monotonic()
        self.assertTrue(c.closed(timeout=10))
        self.assertLess(time.monotonic() - start, 5)
        self.assertServiceUnharmed()


class NoTls(SharedInstanceTestCase):
    """With smtpd_tls_security_level = none, or with no certificate, no
    STARTTLS."""

    conf = TLS_CONF + "smtpd_tls_security_level = none\n"

    @classmethod
    def prepare(cls, inst):
        make_cert(inst.dir)

    def assertNoStarttls(self, port):
        c = RawClient("127.0.0.1", port)
        self.addCleanup(c.close)
        self.assertEqual(c.reply()[0], 220)
        self.assertNotIn("STARTTLS", extensions(c.ehlo()))
        self.assertEqual(c.cmd("STARTTLS"), (502, ["5.5.1 Error: command not implemented"]))
        # Still plaintext SMTP.
        self.assertEqual(c.cmd("NOOP"), OK)

    def test_level_none(self):
        self.assertNoStarttls(self.inst.port)

    def test_no_certificate(self):
        other = Instance()
        self.addCleanup(other.cleanup)
        other.start()
        self.assertNoStarttls(other.port)


class Reload(TlsTestCase):
    """alligatectl reload puts a renewed certificate in use for new
    sessions; a session open across the reload goes on."""

    def probe(self):
        """The certificate (DER) a new STARTTLS session is shown."""
        c = self.tls(ehlo=False)
        der = c.sock.getpeercert(binary_form=True)
        c.cmd("QUIT")
        c.close()
        return der

    def test_new_certificate_after_reload(self):
        old = cert_der(self.cert)
        self.assertEqual(self.probe(), old)
        # A session in the middle of a transaction across the reload.
        c = self.tls()
        self.assertEqual(c.sock.getpeercert(binary_form=True), old)
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.test>"), OK_MAIL)

        # Renewed as certbot does: new files in place of the old.
        tmp = os.path.join(self.inst.dir, "renew")
        os.mkdir(tmp)
        make_cert(tmp, "mx2.example.com")
        os.replace(os.path.join(tmp, "key.pem"), os.path.join(self.inst.dir, "key.pem"))
        os.replace(os.path.join(tmp, "cert.pem"), self.cert)
        shutil.rmtree(tmp)
        new = cert_der(self.cert)
        self.assertNotEqual(new, old)
        self.inst.ctl("reload", check=True)
        # Idle workers of the old configuration retire: under load a new
        # client may still meet one for a moment.
        self.assertTrue(wait_for(lambda: self.probe() == new, timeout=10))
        self.assertEqual(self.probe(), new)

        self.assertEqual(c.cmd("RCPT TO:<someone@example.com>"), OK_RCPT)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send("Subject: across\r\n\r\nacross the reload\r\n.\r\n")
        code, lines = c.reply()
        self.assertEqual(code, 250, lines)
        self.assertIn(QUEUED.match(lines[0]).group(1), self.new_queue_files())
        self.assertEqual(c.cmd("QUIT")[0], 221)


class Check(unittest.TestCase):
    """alligatectl check on the TLS parameters, the cases that
    test_ctl.TlsCheck leaves out (it has the mismatched key, a file
    without a certificate, smtps_listen or submission without one, the
    14-day warning, start and reload): PATH/main.cf:LINE: and exit 1."""

    def setUp(self):
        self.inst = Instance()
        self.addCleanup(self.inst.cleanup)
        self.dir = os.path.realpath(self.inst.dir)
        self.path = os.path.join(self.dir, "main.cf")
        with open(self.path) as f:
            self.base = f.read()

    def write(self, text):
        """main.cf = the harness's lines + text: {name: line number} of
        the parameters text sets."""
        with open(self.path, "w") as f:
            f.write(self.base + text)
        first = self.base.count("\n") + 1
        return {line.split("=")[0].strip(): first + i
                for i, line in enumerate(text.splitlines()) if "=" in line}

    def check(self):
        p = self.inst.ctl("check")
        return p.returncode, p.stdout, p.stderr

    def assertError(self, text, param, message):
        """check of main.cf + text says exactly PATH:LINE: PARAM: message."""
        line = self.write(text)[param]
        self.assertEqual(self.check(), (1, "", "%s:%d: %s: %s\n" % (
            self.path, line, param, message)))

    def test_good_tls_configurations_are_silent(self):
        make_cert(self.dir)
        for spec in (">=TLSv1.2", ">=TLSv1.3", "!SSLv2, !SSLv3, !TLSv1, !TLSv1.1",
                     "TLSv1.2 TLSv1.3", ">=TLSv1.2 <=TLSv1.3"):
            with self.subTest(tls_protocols=spec):
                # smtps needs a certificate, not smtp_auth.
                self.write(TLS_CONF
                           + "smtps_listen = 127.0.0.1:%d\n" % free_port()
                           + "tls_protocols = %s\n" % spec)
                self.assertEqual(self.check(), (0, "", ""))

    def test_expired_certificate(self):
        make_expired_cert(self.dir)
        self.assertError(TLS_CONF, "tls_cert_file",
                         'the certificate in "%s/cert.pem" expired on '
                         '2020-02-01 00:00:00 UTC' % self.dir)

    def test_certificate_that_is_a_directory(self):
        make_cert(self.dir, cert="real.pem")
        os.mkdir(os.path.join(self.dir, "cert.pem"))
        self.assertError(TLS_CONF, "tls_cert_file",
                         'no PEM certificate in "%s/cert.pem"' % self.dir)

    def test_missing_certificate_and_key(self):
        self.assertError("tls_cert_file = missing.pem\n", "tls_cert_file",
                         'cannot read "%s/missing.pem": No such file or directory'
                         % self.dir)
        make_cert(self.dir)
        self.assertError("tls_cert_file = cert.pem\ntls_key_file = missing.key\n",
                         "tls_key_file",
                         'cannot read "%s/missing.key": No such file or directory'
                         % self.dir)

    def test_unknown_protocol_names(self):
        make_cert(self.dir)
        for spec in (">=TLSv1.9", "!FOO"):
            with self.subTest(tls_protocols=spec):
                self.assertError(TLS_CONF + "tls_protocols = %s\n" % spec,
                                 "tls_protocols",
                                 'unknown TLS protocol "%s" (use SSLv2, SSLv3, '
                                 'TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3)' % spec)

    def test_no_protocol_left(self):
        make_cert(self.dir)
        self.assertError(TLS_CONF + "tls_protocols = >=TLSv1.3 <=TLSv1.2\n",
                         "tls_protocols",
                         '">=TLSv1.3 <=TLSv1.2" leaves no TLS protocol to offer '
                         '(SSLv2 and SSLv3 are never offered)')

    def test_only_ciphers_that_are_never_used(self):
        make_cert(self.dir)
        self.assertError(TLS_CONF + "tls_ciphers = aNULL:eNULL\n", "tls_ciphers",
                         'OpenSSL finds no cipher to use in "aNULL:eNULL" '
                         '(anonymous, NULL, EXPORT, RC4 and MD5 ciphers are never used)')


if __name__ == "__main__":
    unittest.main()
