"""relay_auth_replay: relay authenticates at the backend as the client's
user when it delivers a message that carries the client's sealed
credentials (queue record K), over a connection of its own; the backend
(smtp_backend.Backend with AUTH) checks who authenticated.  The queue
files are written by the test, with the sealed record made by
t/tools/seal as smtpd makes it; the end-to-end test through smtpd's AUTH
belongs with smtpd."""

import base64
import email
import email.policy
import json
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from alligate_test import BIN, QueueFile, queue_file_bytes, wait_for
from smtp_backend import Backend
from test_relay import SENDER, RelayTestCase, make_cert

SEAL = os.path.join(os.path.dirname(BIN), "t", "tools", "seal")

PASSWORD = "Tr0ub4dor&3 correct-horse"
USERS = {"alice": PASSWORD, "bob": "b0b's own pass phrase"}
REPLAY = "relay_auth_replay = yes\n"

_seq = [0]


def new_qid():
    """A queue id of the form queue_id.c makes, unique in this run."""
    _seq[0] += 1
    return "%08X%05X%06X" % (int(time.time()), (_seq[0] * 7919) % 1000000,
                             (os.getpid() + 1) & 0xffffff)


def own_by_daemon_user(path):
    """When the tests run as root, the daemons run as nobody."""
    if os.geteuid() == 0:
        pw = pwd.getpwnam("nobody")
        os.chown(path, pw.pw_uid, pw.pw_gid)


def seal(inst, qid, user, password):
    """The sealed record's value for user and password in message qid,
    made with the instance's key (data_directory/replay.key, made on first
    use); the password goes through stdin."""
    data_dir = os.path.join(inst.dir, "data")
    proc = subprocess.run([SEAL, data_dir, qid, user], input=password.encode(),
                          capture_output=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    own_by_daemon_user(os.path.join(data_dir, "replay.key"))
    return proc.stdout.strip()


def secret_forms(user, password):
    """The password as it could leak: plain, and the base64 a client or
    relay sends in AUTH PLAIN and LOGIN."""
    return [password.encode(),
            base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()),
            base64.b64encode(password.encode())]


class ReplayCase(RelayTestCase):
    backend_args = {"auth_users": USERS}
    extra_conf = REPLAY

    def inject_sealed(self, user="alice", password=PASSWORD, rcpts=("someone@example.com",),
                      subject="replayed", qid=None, sealed=None, sender=SENDER):
        """Puts a queue file with the sealed credentials of user into the
        queue (a rename into incoming/, as smtpd commits); returns its
        queue id, its sealed value, and a descriptor of the file kept open
        to see what happens to it in place, even after its removal.  With
        qid and sealed, those are used as they are."""
        qid = qid or new_qid()
        if sealed is None:
            sealed = seal(self.inst, qid, user, password)
        message = b"Subject: %s\r\nFrom: <%s>\r\n\r\nhello\r\n" % (subject.encode(),
                                                                  sender.encode())
        extra = b"U " + user.encode() + b"\nP ESMTPA\nK " + sealed + b"\n"
        data = queue_file_bytes(message, list(rcpts), sender=sender, extra=extra)
        QueueFile(data)                 # what the strict parser accepts
        tmp = os.path.join(self.inst.queue, ".inject-" + qid)
        with open(tmp, "wb") as f:
            f.write(data)
        own_by_daemon_user(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        self.addCleanup(os.close, fd)
        os.rename(tmp, os.path.join(self.inst.queue, "incoming", qid))
        return qid, sealed, fd

    def file_by_fd(self, fd):
        """The queue file as it is now, read through a kept descriptor."""
        size = os.fstat(fd).st_size
        return QueueFile(os.pread(fd, size, 0), "kept queue file")

    def assertWiped(self, fd, sealed, status):
        """The file, removed since, had its K record wiped in place (W, as
        many '0' as the sealed value had characters) and every recipient
        marked with status (D or B) before it went."""
        self.assertEqual(os.fstat(fd).st_nlink, 0, "the queue file is still there")
        q = self.file_by_fd(fd)
        self.assertIsNone(q.get("K"))
        self.assertEqual(q.get("W"), "0" * len(sealed))
        self.assertEqual(q.recipients, [])
        self.assertTrue(q.all(status))
        raw = os.pread(fd, os.fstat(fd).st_size, 0)
        self.assertNotIn(sealed, raw)

    def assertNoSecret(self, user, password, sealed=None, extra_text=""):
        """Neither the password (plain or base64) nor the sealed value is
        in the log, in any file of the instance's directory (queue, state,
        configuration), or in extra_text."""
        forms = secret_forms(user, password) + ([sealed] if sealed else [])
        for root, _, names in os.walk(self.inst.dir):
            for name in names:
                path = os.path.join(root, name)
                try:
                    with open(path, "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                for form in forms:
                    self.assertNotIn(form, data, "%r found in %s" % (form, path))
        for form in forms:
            self.assertNotIn(form.decode(), extra_text)

    def queue_show(self, qid):
        return self.inst.ctl("queue", "show", qid, check=True).stdout


class Replay(ReplayCase):
    def test_plain_as_the_client_user(self):
        qid, sealed, fd = self.inject_sealed()
        got = self.backend.wait(1)
        self.assertEqual(len(got), 1, got)
        self.assertEqual(got[0].auth_user, "alice")
        self.assertEqual(got[0].rcpts, ["someone@example.com"])
        self.assertEqual(got[0].mail_from, SENDER)
        self.assertEqual(self.backend.auths, [("PLAIN", "alice", True)])
        self.assertTrue(self.queue_empty())
        self.assertLog(r"%s: relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d, sasl_method=PLAIN, "
                       r"sasl_username=alice$" % (qid, self.backend.port))
        self.assertLog(r"%s: to=<someone@example.com>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d, "
                       r"delay=[0-9.]+, dsn=2\.0\.0, status=sent" % (qid, self.backend.port))
        self.assertLog(r"%s: removed$" % qid)
        self.assertWiped(fd, sealed, "D")
        self.assertNoSecret("alice", PASSWORD, sealed)
        # The connection was the message's own: AUTH right after EHLO,
        # and QUIT after the one transaction.
        cmds = [c.split()[0].upper() for c in self.backend.commands]
        self.assertEqual(cmds, ["EHLO", "AUTH", "MAIL", "RCPT", "DATA", "QUIT"])

    def test_login_when_only_login_is_offered(self):
        self.backend.auth_mechs = ["LOGIN"]
        qid, sealed, fd = self.inject_sealed(user="bob", password=USERS["bob"])
        got = self.backend.wait(1)
        self.assertEqual(len(got), 1, got)
        self.assertEqual(got[0].auth_user, "bob")
        self.assertEqual(self.backend.auths, [("LOGIN", "bob", True)])
        self.assertLog(r"%s: relay=\S+, sasl_method=LOGIN, sasl_username=bob$" % qid)
        self.assertTrue(self.queue_empty())
        self.assertWiped(fd, sealed, "D")
        self.assertNoSecret("bob", USERS["bob"], sealed)

    def test_own_connection_never_shared(self):
        # A message without credentials leaves a cached connection.
        self.send(b"Subject: plain one\r\n\r\nhello\r\n")
        self.assertEqual(len(self.backend.wait(1)), 1)
        self.assertEqual(self.backend.connections, 1)
        self.inject_sealed(subject="alice's")
        self.assertEqual(len(self.backend.wait(2)), 2)
        self.inject_sealed(user="bob", password=USERS["bob"], subject="bob's")
        self.assertEqual(len(self.backend.wait(3)), 3)
        self.send(b"Subject: plain two\r\n\r\nhello\r\n")
        got = self.backend.wait(4)
        self.assertEqual(len(got), 4)
        who = {re.search(rb"Subject: ([^\r]*)", m.data).group(1): m.auth_user for m in got}
        self.assertEqual(who, {b"plain one": None, b"alice's": "alice", b"bob's": "bob",
                               b"plain two": None})
        # Four messages, four connections: none carried two of them.
        self.assertEqual(self.backend.connections, 4)
        self.assertEqual(self.backend.commands.count("RSET"), 0)
        self.assertEqual(sorted(u for _, u, _ in self.backend.auths), ["alice", "bob"])
        self.assertTrue(self.queue_empty())

    def test_two_recipients_one_authenticated_transaction(self):
        qid, sealed, fd = self.inject_sealed(rcpts=("a@example.com", "b@example.net"))
        m = self.backend.wait(1)[0]
        self.assertEqual(m.rcpts, ["a@example.com", "b@example.net"])
        self.assertEqual(m.auth_user, "alice")
        self.assertTrue(self.queue_empty())
        self.assertWiped(fd, sealed, "D")

    def test_535_bounces_with_the_backend_reply(self):
        self.backend.auth_replies = ["535 5.7.8 Authentication credentials invalid"]
        qid, sealed, fd = self.inject_sealed(subject="refused")
        self.assertLog(r"%s: to=<someone@example.com>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d, "
                       r"delay=[0-9.]+, dsn=5\.7\.8, status=bounced \(host 127\.0\.0\.1"
                       r"\[127\.0\.0\.1\]:%d said: 535 5\.7\.8 Authentication credentials "
                       r"invalid \(in reply to AUTH command\)\)$"
                       % (qid, self.backend.port, self.backend.port))
        self.assertLog(r"%s: sender non-delivery notification: [0-9A-F]{19}" % qid)
        dsn = self.backend.wait(1)
        self.assertEqual(len(dsn), 1, dsn)
        self.assertEqual(dsn[0].mail_from, "")
        self.assertEqual(dsn[0].rcpts, [SENDER])
        self.assertIsNone(dsn[0].auth_user)     # the DSN is nobody's mail
        msg = email.message_from_bytes(dsn[0].data, policy=email.policy.compat32)
        text = msg.as_string()
        self.assertIn("Status: 5.7.8", text)
        self.assertIn("Diagnostic-Code: smtp; 535 5.7.8 Authentication credentials invalid",
                      text)
        self.assertIn("(in reply to AUTH command)", text)
        self.assertNotIn("hello", text.split("text/rfc822-headers")[-1])
        self.assertEqual(self.backend.auths, [("PLAIN", "alice", False)])
        self.assertTrue(self.queue_empty())
        self.assertWiped(fd, sealed, "B")
        self.assertNoSecret("alice", PASSWORD, sealed, text)

    def test_wrong_password_bounces(self):
        qid, sealed, fd = self.inject_sealed(password="not alice's password")
        self.assertLog(r"%s: to=<someone@example.com>, .*dsn=5\.7\.8, status=bounced "
                       r"\(.* said: 535 5\.7\.8 Authentication credentials invalid" % qid)
        self.assertEqual(self.backend.auths, [("PLAIN", "alice", False)])
        self.assertTrue(self.queue_empty())
        self.assertWiped(fd, sealed, "B")
        self.assertNoSecret("alice", "not alice's password", sealed)

    def test_454_defers_then_delivers(self):
        self.backend.auth_replies = ["454 4.7.0 Temporary authentication failure"]
        qid, sealed, fd = self.inject_sealed(subject="later")
        self.assertLog(r"%s: to=<someone@example.com>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d, "
                       r"delay=[0-9.]+, dsn=4\.7\.0, status=deferred \(host 127\.0\.0\.1"
                       r"\[127\.0\.0\.1\]:%d said: 454 4\.7\.0 Temporary authentication "
                       r"failure \(in reply to AUTH command\)\)$"
                       % (qid, self.backend.port, self.backend.port))
        # Retried (minimal_backoff_time 1s) as the same user.
        got = self.backend.wait(1)
        self.assertEqual(len(got), 1, got)
        self.assertEqual(got[0].auth_user, "alice")
        self.assertEqual(self.backend.auths, [("PLAIN", "alice", False),
                                              ("PLAIN", "alice", True)])
        self.assertTrue(self.queue_empty())
        self.assertWiped(fd, sealed, "D")
        self.assertNoSecret("alice", PASSWORD, sealed)

    def test_connection_lost_or_421_during_auth_defers(self):
        self.backend.auth_replies = ["", "421 4.3.2 Service shutting down"]
        qid, sealed, fd = self.inject_sealed(subject="bumpy")
        self.assertLog(r"%s: to=<someone@example.com>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d, "
                       r"delay=[0-9.]+, dsn=4\.4\.2, status=deferred \(lost connection with "
                       r"127\.0\.0\.1\[127\.0\.0\.1\]:%d while sending AUTH PLAIN\)$"
                       % (qid, self.backend.port, self.backend.port))
        self.assertLog(r"%s: to=<someone@example.com>, .*dsn=4\.3\.2, status=deferred \(host "
                       r"\S+ said: 421 4\.3\.2 Service shutting down \(in reply to AUTH "
                       r"command\)\)$" % qid)
        got = self.backend.wait(1)
        self.assertEqual(len(got), 1, got)
        self.assertEqual(got[0].auth_user, "alice")
        self.assertEqual([ok for _, _, ok in self.backend.auths], [False, False, True])
        self.assertTrue(self.queue_empty())
        self.assertWiped(fd, sealed, "D")
        self.assertNoSecret("alice", PASSWORD, sealed)

    def test_old_style_auth_keyword(self):
        # "AUTH=LOGIN" as some older servers announce it.
        self.backend.ehlo_raw = (b"250-backend.test.example\r\n250-AUTH=LOGIN\r\n"
                                 b"250 PIPELINING\r\n")
        self.backend.auth_mechs = ["LOGIN"]
        self.inject_sealed()
        got = self.backend.wait(1)
        self.assertEqual(len(got), 1, got)
        self.assertEqual(got[0].auth_user, "alice")
        self.assertEqual(self.backend.auths, [("LOGIN", "alice", True)])

    def test_deferred_message_shown_without_its_credentials(self):
        # Held back: every AUTH gets 454 until the test has looked.
        self.backend.auth_replies = ["454 4.7.0 Temporary authentication failure"] * 1000
        qid, sealed, fd = self.inject_sealed(subject="shown")
        self.assertTrue(wait_for(lambda: qid in self.inst.queue_files("deferred")))
        shown = self.queue_show(qid)
        self.assertIn("sasl_user: alice\n", shown)
        self.assertIn("auth: replay (sealed)\n", shown)
        self.assertIn("Subject: shown", shown)
        listed = self.inst.ctl("queue", "list", check=True).stdout
        as_json = self.inst.ctl("queue", "list", "--json", check=True).stdout
        self.assertEqual([e["id"] for e in json.loads(as_json)], [qid])
        # Still sealed in the file, and not deliverable by anyone else.
        self.assertEqual(QueueFile.read(os.path.join(self.inst.queue, "deferred", qid))
                         .get("K"), sealed.decode())
        self.assertNoSecret("alice", PASSWORD, None, shown + listed + as_json)
        for out in (shown, listed, as_json, self.inst.log()):
            self.assertNotIn(sealed.decode(), out)
        # Deleted by the administrator: wiped before it goes.
        self.assertIn("deleted 1 message", self.inst.ctl("queue", "delete", qid,
                                                         check=True).stdout)
        self.assertEqual(os.fstat(fd).st_nlink, 0)
        self.assertEqual(self.file_by_fd(fd).get("W"), "0" * len(sealed))

    def test_corrupt_file_dump_hides_the_sealed_value(self):
        # A file the reader refuses is shown raw, but not its K value.
        self.inst.stop()
        qid = new_qid()
        sealed = seal(self.inst, qid, "alice", PASSWORD)
        data = queue_file_bytes(b"Subject: cut\r\n\r\nhello\r\n", ["x@example.com"],
                                extra=b"K " + sealed + b"\n")[:-3]
        path = os.path.join(self.inst.queue, "corrupt", qid)
        with open(path, "wb") as f:
            f.write(data)
        shown = self.queue_show(qid)
        self.assertIn("status: corrupt\n", shown)
        self.assertIn("\nK (sealed credentials: not shown)\n", shown)
        self.assertIn("Subject: cut", shown)
        self.assertNotIn(sealed.decode(), shown)

    def test_corrupt_file_deleted_is_zeroed(self):
        # The reader refuses it, so delete does not parse it: every byte,
        # the K record's among them, is zeroed before the file goes.
        self.inst.stop()
        qid = new_qid()
        sealed = seal(self.inst, qid, "alice", PASSWORD)
        data = queue_file_bytes(b"Subject: cut\r\n\r\nhello\r\n", ["x@example.com"],
                                extra=b"K " + sealed + b"\n")[:-3]
        path = os.path.join(self.inst.queue, "corrupt", qid)
        with open(path, "wb") as f:
            f.write(data)
        listed = json.loads(self.inst.ctl("queue", "list", "--json", check=True).stdout)
        self.assertEqual([(e["id"], e["status"]) for e in listed], [(qid, "corrupt")])
        fd = os.open(path, os.O_RDONLY)
        try:
            proc = self.inst.ctl("queue", "delete", qid)
            self.assertEqual((proc.returncode, proc.stdout, proc.stderr),
                             (0, "alligatectl: deleted 1 message\n", ""))
            self.assertEqual(os.fstat(fd).st_nlink, 0)
            self.assertEqual(os.pread(fd, len(data) + 10, 0), b"\0" * len(data))
        finally:
            os.close(fd)
        self.assertEqual(self.inst.queue_files("corrupt"), [])
        self.assertEqual(self.inst.ctl("queue", "list", "--json", check=True).stdout.strip(),
                         "[]")
        proc = self.inst.ctl("queue", "show", qid)
        self.assertEqual((proc.returncode, proc.stderr),
                         (1, "alligatectl: %s: no such message\n" % qid))


class ReplayOverTls(ReplayCase):
    """AUTH after STARTTLS, on the EHLO that follows it."""

    @classmethod
    def setUpClass(cls):
        cls.certdir = tempfile.mkdtemp(prefix="alligate-cert-")
        cls.cert = make_cert(cls.certdir)
        if cls.cert is None:
            raise unittest.SkipTest("openssl cannot make a certificate")
        cls.backend_args = {"auth_users": USERS, "tls_cert": cls.cert}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.certdir, ignore_errors=True)

    def test_auth_after_starttls(self):
        qid, sealed, fd = self.inject_sealed()
        got = self.backend.wait(1)
        self.assertEqual(len(got), 1, got)
        self.assertTrue(got[0].tls)
        self.assertEqual(got[0].auth_user, "alice")
        cmds = [c.split()[0].upper() for c in self.backend.commands]
        self.assertEqual(cmds[:4], ["EHLO", "STARTTLS", "EHLO", "AUTH"])
        self.assertTrue(self.queue_empty())
        self.assertWiped(fd, sealed, "D")


class NoAuthOffered(ReplayCase):
    backend_args = {}

    def test_backend_without_auth_defers(self):
        qid, sealed, fd = self.inject_sealed()
        self.assertLog(r"%s: to=<someone@example.com>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d, "
                       r"delay=[0-9.]+, dsn=4\.7\.0, status=deferred \(host 127\.0\.0\.1"
                       r"\[127\.0\.0\.1\]:%d offers no AUTH PLAIN or LOGIN: cannot "
                       r"authenticate as the client's user \(relay_auth_replay = yes\)\)$"
                       % (qid, self.backend.port, self.backend.port))
        self.assertTrue(wait_for(lambda: qid in self.inst.queue_files("deferred")))
        self.wait_queue_runs(1)
        self.assertEqual(self.backend.messages, [])
        self.assertFalse(any(c.upper().startswith(("AUTH", "MAIL"))
                             for c in self.backend.commands))


class KeyChanged(ReplayCase):
    extra_conf = REPLAY + "maximal_queue_lifetime = 4s\n"

    def test_credentials_that_do_not_open_defer_then_bounce(self):
        qid = new_qid()
        sealed = seal(self.inst, qid, "alice", PASSWORD)
        # Another key, as after a lost data_directory.
        key = os.path.join(self.inst.dir, "data", "replay.key")
        with open(key, "wb") as f:
            f.write(os.urandom(32))
        qid, sealed, fd = self.inject_sealed(qid=qid, sealed=sealed)
        self.assertLog(r"%s: to=<someone@example.com>, relay=none, delay=[0-9.]+, dsn=4\.7\.0, "
                       r"status=deferred \(cannot open the client's sealed AUTH credentials: "
                       r"authentication failed \(another key, another message, or changed\)\)$"
                       % qid)
        self.assertLog(r"%s: from=<%s>, status=expired, returned to sender"
                       % (qid, re.escape(SENDER)), timeout=20)
        dsn = self.backend.wait(1)
        self.assertEqual(len(dsn), 1, dsn)
        self.assertEqual(dsn[0].mail_from, "")
        self.assertIn(b"cannot open the client's sealed AUTH credentials", dsn[0].data)
        self.assertEqual(self.backend.auths, [])
        self.assertTrue(self.queue_empty())
        self.assertWiped(fd, sealed, "B")

    def test_key_others_can_read_defers(self):
        qid = new_qid()
        sealed = seal(self.inst, qid, "alice", PASSWORD)
        os.chmod(os.path.join(self.inst.dir, "data", "replay.key"), 0o644)
        self.inject_sealed(qid=qid, sealed=sealed)
        self.assertLog(r"%s: to=<someone@example.com>, relay=none, .*dsn=4\.7\.0, "
                       r"status=deferred \(cannot open the client's sealed AUTH credentials: "
                       r"\S+/data/replay\.key has mode 0644: group and others must have no "
                       r"access \(chmod 600\)\)$" % qid)
        self.assertEqual(self.backend.messages, [])


class NoReplay(ReplayCase):
    """relay_auth_replay = no (the default): the record is ignored, the
    message goes over the shared connection without AUTH; it is still
    wiped before the file goes."""
    extra_conf = ""

    def test_no_auth_and_pooled(self):
        self.send(b"Subject: plain one\r\n\r\nhello\r\n")
        self.assertEqual(len(self.backend.wait(1)), 1)
        qid, sealed, fd = self.inject_sealed(subject="not replayed")
        got = self.backend.wait(2)
        self.assertEqual(len(got), 2)
        self.assertEqual([m.auth_user for m in got], [None, None])
        self.assertFalse(any(c.upper().startswith("AUTH") for c in self.backend.commands))
        self.assertEqual(self.backend.auths, [])
        self.assertEqual(self.backend.connections, 1)
        self.assertTrue(self.queue_empty())
        self.assertWiped(fd, sealed, "D")
        self.assertNoSecret("alice", PASSWORD, sealed)
        self.assertNotIn("sasl_method", self.inst.log())
