"""SMTP AUTH (RFC 4954) against the real service: PLAIN and LOGIN with
and without an initial response, every reply of the exchange, AUTH only
under TLS (auth_require_tls), the AUTH ONLY port (submission_listen),
users of auth_backend = local (alligatectl user) and of auth_backend =
relay (checked against a backend started here), authd killed (454, then
master's restart), brute force cut at auth_failure_limit while the real
user still logs in from elsewhere, require_auth_for_outgoing and
rate_limit_exclude_authenticated both ways, the trace (ESMTPSA, the U
record, the sasl_username log line), MAIL's AUTH= parameter, the replayed
AUTH of relay_auth_replay both ways, and the password kept out of the
log, the queue and ps.  Clients: raw sockets over Python's ssl, swaks.

auth_failure_delay is 0 except where the delay is the point, so that
failures cost no time.  One file over 800 lines because its classes share
the replies, the helpers and the AUTH backend; each class is one
instance, independent of the others."""

import base64
import os
import re
import signal
import subprocess
import time
import unittest
import warnings

from alligate_test import (CTL, RawClient, SharedInstanceTestCase, free_port,
                           make_cert, wait_for)
from smtp_backend import Backend

USER, PASSWORD = "alice", "S3cret-Pw-xyzzy"
BOB_PASSWORD = "B0b-Pw-plugh-42"
# The relay backend's own user: never known to the local database.
REMOTE_USER, REMOTE_PASSWORD = "remote-rita", "R3mote-Pw-plugh"

TLS_CONF = "tls_cert_file = cert.pem\ntls_key_file = key.pem\n"
BASE = ("smtp_auth = yes\n"
        "auth_failure_delay = 0\n"
        # Tests make several failures in one session: no slowing down.
        "smtpd_soft_error_limit = 0\n")
PLAINTEXT = "auth_require_tls = no\n"
RELAY_CONF = ("minimal_backoff_time = 1s\n"
              "maximal_backoff_time = 2s\n"
              "queue_run_delay = 1s\n")

AUTH_OK = (235, ["2.7.0 Authentication successful"])
AUTH_FAILED = (535, ["5.7.8 Error: authentication failed"])
AUTH_TEMP = (454, ["4.7.0 Temporary authentication failure"])
NEED_TLS_FOR_AUTH = (538, ["5.7.11 Encryption required for requested "
                           "authentication mechanism"])
MUST_STARTTLS = (530, ["5.7.0 Must issue a STARTTLS command first"])
AUTH_REQUIRED = (530, ["5.7.0 Authentication required"])
CANNOT_DECODE = (501, ["5.5.2 Cannot decode response"])
ABORTED = (501, ["5.7.0 Authentication aborted"])
UNKNOWN_MECH = (504, ["5.5.4 Unrecognized authentication type"])
ALREADY = (503, ["5.5.1 Error: already authenticated"])
IN_TRANSACTION = (503, ["5.5.1 Error: MAIL transaction in progress"])
NEED_HELO = (503, ["5.5.1 Error: send HELO/EHLO first"])
TOO_LONG = (500, ["5.5.6 Authentication Exchange line is too long"])
ASK_PLAIN = (334, [""])
ASK_USER = (334, ["VXNlcm5hbWU6"])
ASK_PASSWORD = (334, ["UGFzc3dvcmQ6"])
READY = (220, ["2.0.0 Ready to start TLS"])
OK = (250, ["2.0.0 Ok"])
OK_MAIL = (250, ["2.1.0 Ok"])
OK_RCPT = (250, ["2.1.5 Ok"])
REFUSED = (550, ["5.7.1 Refused"])
QUEUED = re.compile(r"^2\.0\.0 Ok: queued as ([0-9A-F]{19})$")
ADVERTISED = "AUTH PLAIN LOGIN"


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def plain(user=USER, password=PASSWORD, authzid=""):
    """PLAIN's initial response, base64: authzid NUL user NUL password
    (each str or bytes)."""
    parts = [p.encode() if isinstance(p, str) else p
             for p in (authzid, user, password)]
    return b64(b"\0".join(parts))


def relay_denied(rcpt):
    return (554, ["5.7.1 <%s>: Relay access denied" % rcpt])


def secret_forms(password, user=USER):
    """The byte strings that would give the password away: itself, and
    as a client sends it (LOGIN's answer, PLAIN's response)."""
    return [password.encode(), b64(password).encode(), plain(user, password).encode()]


def files_holding(root, needles):
    """[(path, needle)] for every regular file under root holding one of
    needles."""
    hits = []
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            if not os.path.isfile(path):
                continue
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            hits += [(path, n) for n in needles if n in data]
    return hits


def add_user(inst, name, password, newline=True):
    """alligatectl user add NAME --password-stdin, the password on its
    standard input (as echo gives it, or without the newline)."""
    return inst.ctl("user", "add", name, "--password-stdin",
                    input=password + ("\n" if newline else ""), check=True)


def crypt_hash(password, setting):
    """crypt(3) of password with setting (libxcrypt through Python's
    crypt module), or None when this Python has none."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt
    except ImportError:
        return None
    result = crypt.crypt(password, setting)
    return result if result and result.startswith(setting[:3]) else None


def message_with(backend, subject, timeout=20):
    """The message with that Subject once the backend has it, or None."""
    needle = b"\r\nSubject: %s\r\n" % subject.encode()

    def find():
        with backend.cond:
            return next((m for m in backend.messages if needle in b"\r\n" + m.data), None)
    return wait_for(find, timeout=timeout)


# The test cases' common part ---------------------------------------------

class AuthTestCase(SharedInstanceTestCase):
    """An instance with smtp_auth = yes; users (name: password) added
    with alligatectl once it runs; with tls, a certificate."""

    users = {USER: PASSWORD}
    tls = False
    backend = None

    @classmethod
    def prepare(cls, inst):
        if cls.tls:
            make_cert(inst.dir)

    @classmethod
    def setUpClass(cls):
        if cls.backend is not None:
            cls.backend.start()
        try:
            super().setUpClass()
        except BaseException:
            if cls.backend is not None:
                cls.backend.stop()
            raise
        try:
            # authd's socket, so that the first AUTH finds it.
            sock = os.path.join(cls.inst.dir, "run", "authd.sock")
            wait_for(lambda: os.path.exists(sock) or not cls.inst.pids("authd"),
                     timeout=10)
            for name, password in cls.users.items():
                add_user(cls.inst, name, password)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        if cls.backend is not None:
            cls.backend.stop()

    def connect(self, port=None, source=None, tls=False, ehlo=True):
        """A client past the greeting, EHLO (with ehlo) and, with tls,
        STARTTLS and the EHLO after it."""
        c = RawClient("127.0.0.1", port or self.inst.port, source=source)
        self.addCleanup(c.close)
        self.assertEqual(c.reply()[0], 220)
        if ehlo or tls:
            self.assertEqual(c.ehlo()[0], 250)
        if tls:
            self.assertEqual(c.cmd("STARTTLS"), READY)
            c.starttls()
            if ehlo:
                self.assertEqual(c.ehlo()[0], 250)
        return c

    def login(self, c, user=USER, password=PASSWORD):
        self.assertEqual(c.cmd("AUTH PLAIN " + plain(user, password)), AUTH_OK)

    def send_message(self, c, sender="sender@remote.test", rcpt="someone@example.com",
                     subject="auth", params=""):
        """MAIL, RCPT, DATA of one message over c; its queue id."""
        self.assertEqual(c.cmd("MAIL FROM:<%s>%s" % (sender, params)), OK_MAIL)
        self.assertEqual(c.cmd("RCPT TO:<%s>" % rcpt), OK_RCPT)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send("Subject: %s\r\n\r\nWith AUTH or without.\r\n.\r\n" % subject)
        code, lines = c.reply()
        self.assertEqual(code, 250, lines)
        m = QUEUED.match(lines[0])
        self.assertTrue(m, lines)
        return m.group(1)

    def assertLogged(self, regex):
        m = self.inst.wait_log(regex, self.mark)
        self.assertTrue(m, "no %r in:\n%s" % (regex, self.log_since_start()[-3000:]))
        return m

    def assertNoSecrets(self, password=PASSWORD, user=USER):
        """The password is nowhere in the instance's directory: not in
        the log, the queue, the data directory."""
        self.assertEqual(files_holding(self.inst.dir, secret_forms(password, user)), [])


# auth_backend = local, under TLS ----------------------------------------

SUBMISSION_PORT = free_port()


class LocalUsers(AuthTestCase):
    """Port 25 at TLS level may, the AUTH ONLY port at its default
    (encrypt); 127.0.0.1 is an Internet client (outside relay_networks);
    deny_null_sender on, to show that the AUTH ONLY port skips it; no
    failure limit here (BruteForce has it)."""

    tls = True
    conf = TLS_CONF + BASE + ("auth_failure_limit = 0\n"
                              "relay_networks = 192.0.2.0/24\n"
                              "deny_null_sender = yes\n"
                              "submission_listen = 127.0.0.1:%d\n" % SUBMISSION_PORT)

    # Advertising, and TLS first ------------------------------------------------

    def test_advertised_under_tls_only_and_not_once_authenticated(self):
        c = self.connect()
        reply = c.ehlo()
        self.assertEqual(reply[0], 250)
        self.assertFalse([line for line in reply[1] if line.upper().startswith("AUTH")],
                         reply)
        self.assertEqual(c.cmd("AUTH PLAIN " + plain()), NEED_TLS_FOR_AUTH)
        self.assertEqual(c.cmd("AUTH LOGIN"), NEED_TLS_FOR_AUTH)
        self.assertEqual(c.cmd("STARTTLS"), READY)
        c.starttls()
        reply = c.ehlo()
        self.assertIn(ADVERTISED, reply[1])
        self.login(c)
        reply = c.ehlo()
        self.assertEqual(reply[0], 250)
        self.assertNotIn(ADVERTISED, reply[1])
        # EHLO did not log the session out.
        self.assertEqual(c.cmd("AUTH PLAIN " + plain()), ALREADY)

    def test_submission_needs_starttls_then_auth(self):
        c = self.connect(SUBMISSION_PORT)
        self.assertEqual(c.cmd("AUTH PLAIN " + plain()), MUST_STARTTLS)
        self.assertEqual(c.cmd("STARTTLS"), READY)
        c.starttls()
        self.assertIn(ADVERTISED, c.ehlo()[1])
        self.assertEqual(c.cmd("MAIL FROM:<alice@example.com>"), AUTH_REQUIRED)
        self.login(c)
        qid = self.send_message(c, "alice@example.com", "someone@elsewhere.example")
        self.assertIn(qid, self.new_queue_files())
        qf = self.inst.queue_entry(qid)
        self.assertEqual(qf.recipients, ["someone@elsewhere.example"])
        self.assertEqual(qf.get("U"), USER)
        self.assertIn("with ESMTPSA id %s" % qid, qf.headers("Received")[0])

    def test_no_anti_spam_rule_on_submission(self):
        # The rule is on: port 25 refuses the null sender...
        c = self.connect(tls=True)
        self.assertEqual(c.cmd("MAIL FROM:<>"), REFUSED)
        # ... the AUTH ONLY port does not.
        c = self.connect(SUBMISSION_PORT, tls=True)
        self.login(c)
        qid = self.send_message(c, "", "someone@elsewhere.example")
        self.assertEqual(self.inst.queue_entry(qid).get("S"), "")

    def test_relaying_needs_auth_on_port_25(self):
        c = self.connect(tls=True)
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.test>"), OK_MAIL)
        self.assertEqual(c.cmd("RCPT TO:<someone@elsewhere.example>"),
                         relay_denied("someone@elsewhere.example"))
        self.assertEqual(c.cmd("RSET")[0], 250)
        self.login(c)
        qid = self.send_message(c, "alice@example.com", "someone@elsewhere.example")
        self.assertEqual(self.inst.queue_entry(qid).recipients, ["someone@elsewhere.example"])

    # The mechanisms --------------------------------------------------------------

    def test_plain_with_initial_response_and_the_trace(self):
        c = self.connect(tls=True)
        self.login(c)
        qid = self.send_message(c, "alice@example.com")
        self.assertEqual(c.cmd("QUIT")[0], 221)
        qf = self.inst.queue_entry(qid)
        self.assertEqual(qf.get("U"), USER)
        self.assertEqual(qf.get("P"), "ESMTPSA")
        received = qf.headers("Received")[0]
        self.assertIn("with ESMTPSA id %s" % qid, received)
        self.assertLogged(r"smtpd\[\d+\]: %s: client=unknown\[127\.0\.0\.1\], "
                          r"sasl_method=PLAIN, sasl_username=alice$" % qid)
        self.assertNotIn(PASSWORD.encode(), qf.message)

    def test_plain_without_initial_response(self):
        c = self.connect(tls=True)
        self.assertEqual(c.cmd("AUTH PLAIN"), ASK_PLAIN)
        self.assertEqual(c.cmd(plain()), AUTH_OK)
        self.assertEqual(c.cmd("AUTH PLAIN"), ALREADY)

    def test_login_without_initial_response(self):
        c = self.connect(tls=True)
        self.assertEqual(c.cmd("AUTH LOGIN"), ASK_USER)
        self.assertEqual(c.cmd(b64(USER)), ASK_PASSWORD)
        self.assertEqual(c.cmd(b64(PASSWORD)), AUTH_OK)
        qid = self.send_message(c)
        self.assertLogged(r"%s: client=unknown\[127\.0\.0\.1\], "
                          r"sasl_method=LOGIN, sasl_username=alice$" % qid)

    def test_login_with_initial_response(self):
        c = self.connect(tls=True)
        self.assertEqual(c.cmd("AUTH LOGIN " + b64(USER)), ASK_PASSWORD)
        self.assertEqual(c.cmd(b64(PASSWORD)), AUTH_OK)
        self.assertEqual(c.cmd("AUTH LOGIN"), ALREADY)

    def test_names_are_case_insensitive(self):
        c = self.connect(tls=True)
        self.assertEqual(c.cmd("AUTH PLAIN " + plain("ALICE")), AUTH_OK)
        # An authorization identity equal to the user, in another case.
        c = self.connect(tls=True)
        self.assertEqual(c.cmd("AUTH PLAIN " + plain("alice", authzid="Alice")), AUTH_OK)

    # Refusals ------------------------------------------------------------------

    def test_bad_credentials_535(self):
        cases = {
            "wrong password": "AUTH PLAIN " + plain(password=PASSWORD + "x"),
            "unknown user": "AUTH PLAIN " + plain("mallory"),
            "empty password": "AUTH PLAIN " + plain(password=""),
            "another authzid": "AUTH PLAIN " + plain(authzid="bob"),
            "NUL and junk after the password":
                "AUTH PLAIN " + plain(password=PASSWORD + "\0junk"),
            "NUL in the user name": "AUTH PLAIN " + plain("alice\0x"),
            "no NUL at all": "AUTH PLAIN " + b64(USER + PASSWORD),
            "one NUL": "AUTH PLAIN " + b64(USER + "\0" + PASSWORD),
        }
        for name, command in cases.items():
            with self.subTest(name):
                c = self.connect(tls=True)
                self.assertEqual(c.cmd(command), AUTH_FAILED)
                self.assertEqual(c.cmd("NOOP"), OK)
                c.close()
        # LOGIN: NUL tricks in either answer, a wrong password.
        for user, password in (("alice\0x", PASSWORD), (USER, PASSWORD + "\0junk"),
                               (USER, "wrong")):
            with self.subTest(login=(user, password)):
                c = self.connect(tls=True)
                self.assertEqual(c.cmd("AUTH LOGIN"), ASK_USER)
                reply = c.cmd(b64(user))
                if reply == ASK_PASSWORD:
                    reply = c.cmd(b64(password))
                self.assertEqual(reply, AUTH_FAILED)
                # The session goes on, and the right password still works.
                self.login(c)
                c.close()

    def test_failures_logged_as_fail2ban_reads_them(self):
        c = self.connect(tls=True)
        self.assertEqual(c.cmd("AUTH PLAIN " + plain(password="nope")), AUTH_FAILED)
        self.assertLogged(r"smtpd\[\d+\]: warning: unknown\[127\.0\.0\.1\]: "
                          r"SASL PLAIN authentication failed: ")
        self.assertEqual(c.cmd("AUTH LOGIN " + b64(USER)), ASK_PASSWORD)
        self.assertEqual(c.cmd(b64("nope")), AUTH_FAILED)
        self.assertLogged(r"smtpd\[\d+\]: warning: unknown\[127\.0\.0\.1\]: "
                          r"SASL LOGIN authentication failed: ")

    def test_undecodable_base64_501(self):
        c = self.connect(tls=True)
        self.assertEqual(c.cmd("AUTH PLAIN !!!!"), CANNOT_DECODE)
        self.assertEqual(c.cmd("AUTH PLAIN"), ASK_PLAIN)
        self.assertEqual(c.cmd("%%%% not base64"), CANNOT_DECODE)
        self.assertEqual(c.cmd("AUTH LOGIN"), ASK_USER)
        self.assertEqual(c.cmd("@@@@"), CANNOT_DECODE)
        self.assertEqual(c.cmd("AUTH LOGIN " + b64(USER)), ASK_PASSWORD)
        self.assertEqual(c.cmd("????"), CANNOT_DECODE)
        self.login(c)

    def test_client_cancels_with_star(self):
        c = self.connect(tls=True)
        self.assertEqual(c.cmd("AUTH PLAIN"), ASK_PLAIN)
        self.assertEqual(c.cmd("*"), ABORTED)
        self.assertEqual(c.cmd("AUTH LOGIN"), ASK_USER)
        self.assertEqual(c.cmd("*"), ABORTED)
        self.assertEqual(c.cmd("AUTH LOGIN"), ASK_USER)
        self.assertEqual(c.cmd(b64(USER)), ASK_PASSWORD)
        self.assertEqual(c.cmd("*"), ABORTED)
        self.login(c)

    def test_unknown_mechanism_504(self):
        c = self.connect(tls=True)
        for mech in ("CRAM-MD5", "DIGEST-MD5", "XOAUTH2 " + b64("x"), "ANONYMOUS"):
            with self.subTest(mech=mech):
                self.assertEqual(c.cmd("AUTH " + mech), UNKNOWN_MECH)
        self.login(c)

    def test_inside_a_transaction_503(self):
        c = self.connect(tls=True)
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.test>"), OK_MAIL)
        self.assertEqual(c.cmd("AUTH PLAIN " + plain()), IN_TRANSACTION)
        self.assertEqual(c.cmd("AUTH LOGIN"), IN_TRANSACTION)
        self.assertEqual(c.cmd("RSET")[0], 250)
        self.login(c)

    def test_before_ehlo_503(self):
        # STARTTLS forgets the EHLO (RFC 3207 4.2).
        c = self.connect(tls=True, ehlo=False)
        self.assertEqual(c.cmd("AUTH PLAIN " + plain()), NEED_HELO)
        self.assertEqual(c.ehlo()[0], 250)
        self.login(c)

    def test_response_over_12288_octets_500(self):
        c = self.connect(tls=True)
        # 12288 octets is allowed (a command line is not: 2048); it
        # decodes to NULs only, which is no user.
        self.assertEqual(c.cmd("AUTH PLAIN"), ASK_PLAIN)
        self.assertEqual(c.cmd("A" * 12288), AUTH_FAILED)
        self.assertEqual(c.cmd("AUTH PLAIN"), ASK_PLAIN)
        self.assertEqual(c.cmd("A" * 12289), TOO_LONG)
        self.assertEqual(c.cmd("NOOP"), OK)
        # Far longer: read and thrown away, answered once.
        self.assertEqual(c.cmd("AUTH LOGIN"), ASK_USER)
        self.assertEqual(c.cmd("QUFB" * 250000), TOO_LONG)
        self.assertEqual(c.cmd("NOOP"), OK)
        self.assertTrue(c.silent())
        self.login(c)

    def test_unknown_user_and_wrong_password_take_the_same_time(self):
        def timed(response):
            c = self.connect(tls=True)
            start = time.perf_counter()
            reply = c.cmd("AUTH PLAIN " + response)
            elapsed = time.perf_counter() - start
            self.assertEqual(reply, AUTH_FAILED)
            c.close()
            return elapsed

        unknown, wrong = [], []
        for i in range(5):
            unknown.append(timed(plain("nobody-%d" % i, PASSWORD)))
            wrong.append(timed(plain(USER, "Wrong-%d" % i)))
        # The fastest of each: a loaded machine only ever adds time, so
        # the minima show the work done, which must be the same.
        a, b = min(unknown), min(wrong)
        self.assertLess(abs(a - b), 0.5 * max(a, b) + 0.02,
                        "unknown user %.1f ms, wrong password %.1f ms"
                        % (a * 1000, b * 1000))

    # MAIL's AUTH= parameter -------------------------------------------------

    def test_mail_auth_parameter_is_xtext(self):
        c = self.connect(tls=True)
        self.login(c)
        for value in ("a+zz", "a+2", "a+2b", "a+"):
            with self.subTest(value=value):
                code, lines = c.cmd("MAIL FROM:<alice@example.com> AUTH=%s" % value)
                self.assertEqual(code, 501, lines)
                self.assertTrue(lines[0].startswith("5.5.4 "), lines)
        qid = self.send_message(c, "alice@example.com", params=" AUTH=<>")
        self.assertIn(qid, self.new_queue_files())
        # CR LF and a header, xtext-encoded: whatever smtpd makes of the
        # value, it never becomes a header line of its own.
        evil = "alice+0D+0AX-Injected:+20yes+0D+0A@example.com"
        code, lines = c.cmd("MAIL FROM:<alice@example.com> AUTH=" + evil)
        if code == 250:
            self.assertEqual(c.cmd("RCPT TO:<someone@example.com>"), OK_RCPT)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send("Subject: xtext\r\n\r\nbody\r\n.\r\n")
            code, lines = c.reply()
            self.assertEqual(code, 250, lines)
            qf = self.inst.queue_entry(QUEUED.match(lines[0]).group(1))
            head = qf.message.split(b"\r\n\r\n", 1)[0]
            self.assertNotRegex(head, rb"(?im)^X-Injected")
        else:
            self.assertEqual(code, 501, lines)

    # swaks, as a new user tries it ------------------------------------------

    def swaks(self, *args):
        p = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % SUBMISSION_PORT,
                            "--tls", "--to", "someone@elsewhere.example",
                            "--from", "alice@example.com",
                            "--helo", "client.test.example", "--timeout", "20"]
                           + list(args), capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        if "Net::SSLeay" in p.stdout + p.stderr:
            self.fail("swaks cannot do TLS: install libnet-ssleay-perl")
        return p

    def test_swaks_relays_with_auth_and_gets_530_without(self):
        # swaks takes the password on its command line: it is the test's
        # client, not the service.
        p = self.swaks("--auth", "PLAIN", "--au", USER, "--ap", PASSWORD)
        self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr)
        # "<~" is swaks's mark of a reply under TLS.
        self.assertIn("<~  235 2.7.0 Authentication successful", p.stdout)
        m = re.search(r"250 2\.0\.0 Ok: queued as ([0-9A-F]{19})", p.stdout)
        self.assertTrue(m, p.stdout[-3000:])
        qf = self.inst.queue_entry(m.group(1))
        self.assertEqual(qf.recipients, ["someone@elsewhere.example"])
        self.assertEqual(qf.get("U"), USER)
        p = self.swaks()
        self.assertNotEqual(p.returncode, 0, p.stdout[-3000:])
        self.assertIn("530 5.7.0 Authentication required", p.stdout)

    # Secrets -----------------------------------------------------------------

    def test_password_never_in_log_or_queue(self):
        c = self.connect(tls=True)
        self.assertEqual(c.cmd("AUTH PLAIN " + plain(password=PASSWORD + "0")), AUTH_FAILED)
        self.assertEqual(c.cmd("AUTH LOGIN " + b64(USER)), ASK_PASSWORD)
        self.assertEqual(c.cmd(b64(PASSWORD + "1")), AUTH_FAILED)
        self.assertEqual(c.cmd("AUTH LOGIN"), ASK_USER)
        self.assertEqual(c.cmd(b64(USER)), ASK_PASSWORD)
        self.assertEqual(c.cmd(b64(PASSWORD)), AUTH_OK)
        qid = self.send_message(c, "alice@example.com", "someone@elsewhere.example")
        self.assertEqual(c.cmd("QUIT")[0], 221)
        self.assertLogged(r"%s: client=.*sasl_username=alice$" % qid)
        self.assertLogged(r"disconnect from unknown\[127\.0\.0\.1\]")
        for password in (PASSWORD, PASSWORD + "0", PASSWORD + "1"):
            self.assertNoSecrets(password)
        show = self.inst.ctl("queue", "show", qid)
        self.assertNotIn(PASSWORD, show.stdout + show.stderr)

    def test_user_add_password_and_database(self):
        name, password = "bob", BOB_PASSWORD
        proc = subprocess.Popen([CTL, "-c", self.inst.dir, "user", "add", name,
                                 "--password-stdin"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdin.write(password.encode() + b"\n")
        proc.stdin.close()
        seen = []
        # ps while it runs (at least once): no process of anyone holds
        # the password in its command line.
        while True:
            running = proc.poll() is None
            for pid in os.listdir("/proc"):
                try:
                    with open("/proc/%s/cmdline" % pid, "rb") as f:
                        if password.encode() in f.read():
                            seen.append(pid)
                except OSError:
                    pass
            if not running:
                break
        out, err = proc.stdout.read(), proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
        self.assertEqual(proc.returncode, 0, out + err)
        self.assertEqual(seen, [])
        self.assertNotIn(password.encode(), out + err)

        db = os.path.join(self.inst.dir, "data", "users.db")
        mode = os.stat(db).st_mode
        self.assertEqual(mode & 0o007, 0, oct(mode))
        with open(db, "rb") as f:
            data = f.read()
        self.assertNotIn(password.encode(), data)
        # yescrypt, Debian's default, unless told otherwise.
        self.assertIn(b"$y$", data)

        listed = self.inst.ctl("user", "list", check=True).stdout.split()
        self.assertIn(USER, listed)
        self.assertIn(name, listed)

        c = self.connect(tls=True)
        self.login(c, name, password)
        # A new password: the old one fails at once (no cached success).
        self.inst.ctl("user", "passwd", name, "--password-stdin",
                      input="N3w-" + password + "\n", check=True)
        c = self.connect(tls=True)
        self.assertEqual(c.cmd("AUTH PLAIN " + plain(name, password)), AUTH_FAILED)
        self.login(c, name, "N3w-" + password)
        self.inst.ctl("user", "delete", name, check=True)
        c = self.connect(tls=True)
        self.assertEqual(c.cmd("AUTH PLAIN " + plain(name, "N3w-" + password)), AUTH_FAILED)
        self.assertNotIn(name, self.inst.ctl("user", "list", check=True).stdout.split())
        self.assertNoSecrets(password, name)
        self.assertNoSecrets("N3w-" + password, name)

    def test_password_without_newline_on_stdin(self):
        add_user(self.inst, "carol", "C4rol-Pw-frotz", newline=False)
        c = self.connect(tls=True)
        self.login(c, "carol", "C4rol-Pw-frotz")

    def test_imported_hashes(self):
        hashes = {"dave": ("D4ve-Pw-sha512", "$6$Zq3saltSALT$"),
                  "erin": ("Er1n-Pw-bcrypt", "$2y$05$abcdefghijklmnopqrstuu"),
                  "fred": ("Fr3d-Pw-yescrypt", "$y$j9T$abcdefghijklmnop$")}
        for name, (password, setting) in hashes.items():
            with self.subTest(hash=setting[:4]):
                h = crypt_hash(password, setting)
                if h is None:
                    self.skipTest("no crypt(3) for %s here" % setting[:4])
                self.inst.ctl("user", "add", name, "--hash", h, check=True)
                c = self.connect(tls=True)
                self.assertEqual(c.cmd("AUTH PLAIN " + plain(name, password + "x")),
                                 AUTH_FAILED)
                self.login(c, name, password)


# Plaintext AUTH, the hard error limit ------------------------------------

class Plaintext(AuthTestCase):
    """auth_require_tls = no and no certificate at all; relay_networks
    as it comes (127.0.0.0/8), require_auth_for_outgoing = no; failures
    answered after 300 ms."""

    conf = BASE + PLAINTEXT + ("auth_failure_limit = 0\n"
                               "auth_failure_delay = 300ms\n"
                               "smtpd_hard_error_limit = 3\n")

    def test_failure_answered_after_the_delay(self):
        c = self.connect()
        start = time.perf_counter()
        self.assertEqual(c.cmd("AUTH PLAIN " + plain(password="bad0")), AUTH_FAILED)
        self.assertGreaterEqual(time.perf_counter() - start, 0.3)

    def test_advertised_and_esmtpa(self):
        c = self.connect()
        self.assertIn(ADVERTISED, c.ehlo()[1])
        self.assertEqual(c.cmd("AUTH LOGIN"), ASK_USER)
        self.assertEqual(c.cmd(b64(USER)), ASK_PASSWORD)
        self.assertEqual(c.cmd(b64(PASSWORD)), AUTH_OK)
        self.assertNotIn(ADVERTISED, c.ehlo()[1])
        qid = self.send_message(c)
        qf = self.inst.queue_entry(qid)
        self.assertEqual(qf.get("P"), "ESMTPA")
        self.assertEqual(qf.get("U"), USER)
        self.assertIn("with ESMTPA id %s" % qid, qf.headers("Received")[0])

    def test_before_ehlo_503(self):
        c = self.connect(ehlo=False)
        self.assertEqual(c.cmd("AUTH PLAIN " + plain()), NEED_HELO)
        self.assertEqual(c.cmd("AUTH LOGIN"), NEED_HELO)
        self.assertEqual(c.ehlo()[0], 250)
        self.login(c)

    def test_failures_count_towards_hard_error_limit(self):
        c = self.connect()
        self.assertEqual(c.cmd("AUTH PLAIN " + plain(password="bad1")), AUTH_FAILED)
        self.assertEqual(c.cmd("AUTH LOGIN"), ASK_USER)
        self.assertEqual(c.cmd(b64(USER)), ASK_PASSWORD)
        self.assertEqual(c.cmd(b64("bad2")), AUTH_FAILED)
        c.send("AUTH PLAIN %s\r\n" % plain(password="bad3"))
        replies, closed = c.replies_until_close()
        self.assertEqual(replies, [AUTH_FAILED,
                                   (421, ["4.7.0 mx.test.example Error: too many errors"])])
        self.assertTrue(closed)

    def test_relay_networks_relay_without_auth_when_not_required(self):
        c = self.connect()
        qid = self.send_message(c, "alice@example.com", "someone@elsewhere.example")
        qf = self.inst.queue_entry(qid)
        self.assertEqual(qf.recipients, ["someone@elsewhere.example"])
        self.assertIsNone(qf.get("U"))
        self.assertEqual(qf.get("P"), "ESMTP")


class AuthOff(AuthTestCase):
    """smtp_auth = no (the default): no AUTH, even where TLS is not
    required for it."""

    users = {}
    conf = PLAINTEXT + "smtp_auth = no\n"

    def test_not_advertised_nor_accepted(self):
        c = self.connect()
        reply = c.ehlo()
        self.assertEqual(reply[0], 250)
        self.assertFalse([line for line in reply[1] if line.upper().startswith("AUTH")],
                         reply)
        code, lines = c.cmd("AUTH PLAIN " + plain())
        self.assertIn(code, (502, 503), lines)
        self.assertEqual(c.cmd("AUTH LOGIN")[0], code)
        self.assertEqual(c.cmd("NOOP"), OK)


# Brute force ---------------------------------------------------------------

class BruteForce(AuthTestCase):
    """auth_failure_limit = 3 per client address; 127.0.0.x outside
    relay_networks.  Each test uses its own addresses and user."""

    users = {USER: PASSWORD, "bob": BOB_PASSWORD}

    conf = BASE + PLAINTEXT + ("auth_failure_limit = 3\n"
                               "auth_failure_window = 10m\n"
                               "relay_networks = 192.0.2.0/24\n")

    def assertCut(self, c, command):
        code, lines = c.cmd(command)
        self.assertEqual(code, 421, lines)
        self.assertTrue(lines[0].startswith("4.7.0 "), lines)
        self.assertTrue(lines[0].endswith("Error: too many authentication failures"),
                        lines)
        self.assertTrue(c.closed())

    def guess(self, c, times=1, user=USER):
        for _ in range(times):
            self.assertEqual(c.cmd("AUTH PLAIN " + plain(user, "guess")), AUTH_FAILED)

    def test_cut_at_the_limit_across_sessions(self):
        self.guess(self.connect(), 2)
        c = self.connect()
        self.guess(c)
        # The right password does not help now: it is not even checked.
        self.assertCut(c, "AUTH PLAIN " + plain())
        self.assertCut(self.connect(), "AUTH PLAIN " + plain())
        self.assertCut(self.connect(), "AUTH LOGIN")
        # The real user, from another address, meanwhile.
        other = self.connect(source="127.0.0.2")
        self.login(other)
        self.send_message(other, "alice@example.com", "someone@elsewhere.example")
        # The administrator lifts it.
        self.inst.ctl("rate", "reset", "127.0.0.1", check=True)
        c = self.connect()
        self.login(c)

    def test_spraying_one_user_does_not_lock_it_out(self):
        # More failures for bob than the limit, from addresses that each
        # stay under it (authd answers the failures over the limit more
        # slowly: one second for the one here).
        for source in ("127.0.0.5", "127.0.0.6"):
            self.guess(self.connect(source=source), 2, "bob")
        # No lockout of the user: from its own address, it logs in.
        c = self.connect(source="127.0.0.8")
        self.login(c, "bob", BOB_PASSWORD)


# authd down ---------------------------------------------------------------

class AuthdDown(AuthTestCase):
    conf = BASE + PLAINTEXT

    def test_454_while_authd_is_down_then_master_restarts_it(self):
        before = self.connect()
        self.login(self.connect())
        pids = self.inst.pids("authd")
        self.assertEqual(len(pids), 1, pids)
        sock = os.path.join(self.inst.dir, "run", "authd.sock")
        # Kill it and keep its restarts failing: its socket's path
        # becomes a directory.
        os.unlink(sock)
        os.mkdir(sock)
        os.kill(pids[0], signal.SIGKILL)
        self.assertLogged(r"process authd pid %d \(service \S+\) killed by signal 9"
                          % pids[0])
        for password in (PASSWORD, "wrong"):
            with self.subTest(password=password):
                c = self.connect()
                self.assertEqual(c.cmd("AUTH PLAIN " + plain(password=password)), AUTH_TEMP)
                self.assertEqual(c.cmd("NOOP"), OK)
                self.assertEqual(c.cmd("AUTH LOGIN"), ASK_USER)
                self.assertEqual(c.cmd(b64(USER)), ASK_PASSWORD)
                self.assertEqual(c.cmd(b64(password)), AUTH_TEMP)
        # A session from before the kill too (its worker may have held a
        # connection to the old authd).
        self.assertEqual(before.cmd("AUTH PLAIN " + plain()), AUTH_TEMP)
        # A temporary failure is not a failure: no lockout follows.
        os.rmdir(sock)
        replies = []

        def works():
            c = self.connect()
            reply = c.cmd("AUTH PLAIN " + plain())
            c.close()
            replies.append(reply)
            return reply == AUTH_OK
        self.assertTrue(wait_for(works, timeout=30, interval=0.2), replies[-3:])
        self.assertEqual([r for r in replies if r not in (AUTH_OK, AUTH_TEMP)], [])
        new = self.inst.pids("authd")
        self.assertEqual(len(new), 1)
        self.assertNotEqual(new, pids)


# require_auth_for_outgoing ------------------------------------------------

OUTSIDE = "127.0.1.1"       # loopback, outside relay_networks below


class RequireAuthForOutgoing(AuthTestCase):
    """require_auth_for_outgoing = yes; 127.0.0.0/24 in relay_networks,
    127.0.1.1 an Internet client."""

    conf = BASE + PLAINTEXT + ("require_auth_for_outgoing = yes\n"
                               "relay_networks = 127.0.0.0/24\n")

    def test_relay_networks_need_auth_to_relay(self):
        c = self.connect()
        self.assertEqual(c.cmd("MAIL FROM:<sender@remote.test>"), OK_MAIL)
        self.assertEqual(c.cmd("RCPT TO:<someone@elsewhere.example>"),
                         relay_denied("someone@elsewhere.example"))
        self.assertEqual(c.cmd("RSET")[0], 250)
        self.login(c)
        qid = self.send_message(c, "alice@example.com", "someone@elsewhere.example")
        self.assertEqual(self.inst.queue_entry(qid).recipients, ["someone@elsewhere.example"])

    def test_local_sender_needs_auth(self):
        c = self.connect()
        self.assertEqual(c.cmd("MAIL FROM:<alice@example.com>"), REFUSED)
        self.assertEqual(c.cmd("MAIL FROM:<Bob@EXAMPLE.NET>"), REFUSED)
        self.login(c)
        self.send_message(c, "alice@example.com", "bob@example.net")
        # From outside as well: anti-spoofing.
        c = self.connect(source=OUTSIDE)
        self.assertEqual(c.cmd("MAIL FROM:<alice@example.com>"), REFUSED)

    def test_inbound_mail_unaffected(self):
        for source in (OUTSIDE, "127.0.0.2"):
            with self.subTest(source=source):
                c = self.connect(source=source)
                qid = self.send_message(c, "someone@remote.test", "alice@example.com")
                self.assertEqual(self.inst.queue_entry(qid).recipients,
                                 ["alice@example.com"])
                self.assertIsNone(self.inst.queue_entry(qid).get("U"))


# rate_limit_exclude_authenticated ----------------------------------------

def session_messages(test, c, count, sender="alice@example.com"):
    """count messages over c: the replies to their MAIL commands (the
    rest of a transaction only when MAIL was accepted)."""
    replies = []
    for i in range(count):
        reply = c.cmd("MAIL FROM:<%s>" % sender)
        replies.append(reply)
        if reply[0] != 250:
            continue
        test.assertEqual(c.cmd("RCPT TO:<someone@example.com>"), OK_RCPT)
        test.assertEqual(c.cmd("DATA")[0], 354)
        c.send("Subject: rate %d\r\n\r\nx\r\n.\r\n" % i)
        test.assertEqual(c.reply()[0], 250)
    return replies


class RateExcludesAuthenticated(AuthTestCase):
    conf = BASE + PLAINTEXT + ("sender_rate_limit = 2\n"
                               "sender_rate_window = 10m\n")

    def test_authenticated_sessions_not_counted(self):
        c = self.connect()
        self.login(c)
        self.assertEqual(session_messages(self, c, 4), [OK_MAIL] * 4)
        self.assertEqual(len(self.new_queue_files()), 4)
        # The limit is on for everyone else.
        c = self.connect(source="127.0.0.2")
        self.assertEqual(session_messages(self, c, 3, "x@remote.test"),
                         [OK_MAIL, OK_MAIL, REFUSED])
        # And an authenticated session from that address still sends.
        c = self.connect(source="127.0.0.2")
        self.login(c)
        self.assertEqual(session_messages(self, c, 2), [OK_MAIL] * 2)


SUBMISSION_PORT2 = free_port()


class RateCountsAuthenticated(AuthTestCase):
    """rate_limit_exclude_authenticated = no, keyed by the login."""

    users = {USER: PASSWORD, "bob": BOB_PASSWORD, "carol": "C4rol-Pw-frotz"}
    conf = BASE + PLAINTEXT + ("sender_rate_limit = 2\n"
                               "sender_rate_window = 10m\n"
                               "sender_rate_key = sasl_user\n"
                               "rate_limit_exclude_authenticated = no\n"
                               "submission_listen = 127.0.0.1:%d\n"
                               "submission_tls_security_level = none\n"
                               % SUBMISSION_PORT2)

    def test_the_third_message_of_a_login_refused(self):
        c = self.connect()
        self.login(c)
        self.assertEqual(session_messages(self, c, 3), [OK_MAIL, OK_MAIL, REFUSED])
        self.assertLogged(r"NOQUEUE: reject: MAIL from unknown\[127\.0\.0\.1\]: "
                          r"550 5\.7\.1 Refused; from=<[^>]*> proto=ESMTP "
                          r"helo=<[^>]*> rule=sender_rate_limit$")
        # Another login from the same address has its own count.
        c = self.connect()
        self.login(c, "bob", BOB_PASSWORD)
        self.assertEqual(session_messages(self, c, 1, "bob@example.com"), [OK_MAIL])

    def test_on_the_submission_port_too(self):
        c = self.connect(SUBMISSION_PORT2)
        self.login(c, "carol", "C4rol-Pw-frotz")
        self.assertEqual(session_messages(self, c, 2, "carol@example.com"), [OK_MAIL] * 2)
        c = self.connect(SUBMISSION_PORT2, source="127.0.0.3")
        self.login(c, "carol", "C4rol-Pw-frotz")
        self.assertEqual(session_messages(self, c, 1, "carol@example.com"), [REFUSED])


# auth_backend = relay ------------------------------------------------------

class RelayBackendAuth(AuthTestCase):
    """authd checks the credentials against relay_host; no cache, so
    that each check reaches the backend."""

    users = {}
    backend = Backend(auth_users={REMOTE_USER: REMOTE_PASSWORD})
    conf = BASE + PLAINTEXT + RELAY_CONF + ("auth_backend = relay\n"
                                            "auth_cache_time = 0\n"
                                            "relay_host = %s\n" % backend.relay_host)

    def setUp(self):
        super().setUp()
        self.backend.auth_replies = []
        if self.backend.server is None:
            self.backend.start()

    def test_good_and_bad_credentials(self):
        c = self.connect()
        self.login(c, REMOTE_USER, REMOTE_PASSWORD)
        self.assertIn(("PLAIN", REMOTE_USER, True), self.backend.auths)
        c = self.connect()
        self.assertEqual(c.cmd("AUTH LOGIN"), ASK_USER)
        self.assertEqual(c.cmd(b64(REMOTE_USER)), ASK_PASSWORD)
        self.assertEqual(c.cmd(b64(REMOTE_PASSWORD)), AUTH_OK)
        c = self.connect()
        self.assertEqual(c.cmd("AUTH PLAIN " + plain(REMOTE_USER, "wrong")), AUTH_FAILED)
        self.assertEqual(c.cmd("AUTH PLAIN " + plain("nobody", REMOTE_PASSWORD)),
                         AUTH_FAILED)
        self.assertNoSecrets(REMOTE_PASSWORD, REMOTE_USER)

    def test_backend_answering_454(self):
        self.backend.auth_replies = ["454 4.7.0 Try again later"]
        c = self.connect()
        self.assertEqual(c.cmd("AUTH PLAIN " + plain(REMOTE_USER, REMOTE_PASSWORD)),
                         AUTH_TEMP)
        self.backend.auth_replies = []
        self.login(c, REMOTE_USER, REMOTE_PASSWORD)

    def test_backend_down(self):
        self.backend.stop()
        c = self.connect()
        self.assertEqual(c.cmd("AUTH PLAIN " + plain(REMOTE_USER, REMOTE_PASSWORD)),
                         AUTH_TEMP)
        self.backend.start()
        self.login(c, REMOTE_USER, REMOTE_PASSWORD)


class RelayBackendCached(AuthTestCase):
    """The same with auth_cache_time as it comes (5m): a user's second
    session costs no backend round trip."""

    users = {}
    backend = Backend(auth_users={REMOTE_USER: REMOTE_PASSWORD})
    conf = BASE + PLAINTEXT + RELAY_CONF + ("auth_backend = relay\n"
                                            "relay_host = %s\n" % backend.relay_host)

    def test_second_check_from_the_cache(self):
        self.login(self.connect(), REMOTE_USER, REMOTE_PASSWORD)
        self.login(self.connect(), REMOTE_USER, REMOTE_PASSWORD)
        self.assertEqual(self.backend.auths, [("PLAIN", REMOTE_USER, True)])
        # A wrong password is never taken from the cache.
        c = self.connect()
        self.assertEqual(c.cmd("AUTH PLAIN " + plain(REMOTE_USER, "wrong")), AUTH_FAILED)
        self.assertEqual(len(self.backend.auths), 2)


# relay_auth_replay ---------------------------------------------------------

class Replay(AuthTestCase):
    """relay_auth_replay = yes: relay authenticates to the backend as the
    client did, the whole way through smtpd (test_replay has relay's side
    with queue files of its own making).  The mail waits in the queue
    (defer_delivery = yes) until the test lets it go."""

    backend = Backend(auth_users={USER: PASSWORD})
    conf = BASE + PLAINTEXT + RELAY_CONF + ("relay_auth_replay = yes\n"
                                            "relay_host = %s\n" % backend.relay_host)

    def test_replayed_as_the_user(self):
        auths = len(self.backend.auths)
        c = self.connect()
        self.login(c)
        replayed = self.send_message(c, "alice@example.com", "someone@elsewhere.example",
                                     subject="replayed")
        c = self.connect()
        self.send_message(c, "sender@remote.test", "bob@example.com",
                          subject="unauthenticated")
        # While they wait: sealed credentials with the one, none with
        # the other; no password in the queue, the log, the data
        # directory, or alligatectl queue show.
        queued = self.new_queue_files()
        self.assertEqual(len(queued), 2)
        for qid in queued:
            self.assertEqual(bool(self.inst.queue_entry(qid).get("K")), qid == replayed)
        self.assertNoSecrets()
        show = self.inst.ctl("queue", "show", replayed, check=True)
        for secret in secret_forms(PASSWORD):
            self.assertNotIn(secret.decode(), show.stdout + show.stderr)

        self.inst.write_conf("defer_delivery = no\n")
        self.inst.ctl("reload", check=True)
        replayed_msg = message_with(self.backend, "replayed")
        other_msg = message_with(self.backend, "unauthenticated")
        self.assertTrue(replayed_msg and other_msg, self.backend.messages)
        self.assertEqual(replayed_msg.auth_user, USER)
        self.assertIsNone(other_msg.auth_user)
        self.assertEqual(self.backend.auths[auths:], [("PLAIN", USER, True)])
        self.assertTrue(wait_for(lambda: not self.inst.queue_files()
                                 and not self.inst.queue_files("deferred")),
                        (self.inst.queue_files(), self.inst.queue_files("deferred")))
        self.assertLogged(r"%s: to=<someone@elsewhere\.example>, .*status=sent" % replayed)
        self.assertNoSecrets()


class NoReplay(AuthTestCase):
    """relay_auth_replay = no (the default): relay never authenticates
    as the user, even to a backend that offers AUTH."""

    backend = Backend(auth_users={USER: PASSWORD})
    conf = BASE + PLAINTEXT + RELAY_CONF + ("defer_delivery = no\n"
                                            "relay_host = %s\n" % backend.relay_host)

    def test_backend_sees_no_auth(self):
        c = self.connect()
        self.login(c)
        self.send_message(c, "alice@example.com", "someone@elsewhere.example",
                          subject="not replayed")
        m = message_with(self.backend, "not replayed")
        self.assertTrue(m, self.backend.messages)
        self.assertIsNone(m.auth_user)
        self.assertEqual(self.backend.auths, [])
        self.assertNoSecrets()


if __name__ == "__main__":
    unittest.main()
