"""authd and the user database: alligatectl user add/passwd/delete/list
as an administrator runs them (the password on standard input, never on
a command line, in a log or in a file in the clear; the database file
0600 and owned by daemon_user), authd's answers on its socket (asked as
smtpd asks, in authd's protocol: the password in base64), the failure
delay, the slowing of an attacked user without locking the real one out,
the cache and its forgetting, auth_backend = relay against a real SMTP
server with AUTH started here, and master: authd runs when smtp_auth =
yes, shows in alligatectl status, and comes back when killed."""

import base64
import os
import pwd
import re
import socket
import socketserver
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from alligate_test import CTL, AlligateTestCase, Instance, free_port, wait_for

PASSWORD = "S3cret pw=\u00e9\u00e8"
DELAY = 0.3                             # auth_failure_delay in most tests
# openssl passwd -6 -salt saltsalt 'correct horse'
SHA512 = ("$6$saltsalt$hRM5XZ86KXEw9UOmjigeVqFgULtFB2sgpC9lXQDfMib3Zgw7mEi"
          "UvBJI2EplzfAqxL5Vvwp2scFtv/uamSo5z0")


def socket_path(inst):
    return os.path.join(inst.dir, "run", "authd.sock")


class AuthdClient:
    """authd's protocol (lib/auth_clnt.h) over its socket, as smtpd
    speaks it: name=value lines, an empty line ends a message."""

    def __init__(self, inst, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(timeout)
        self.sock.connect(socket_path(inst))
        self.buf = b""
        greeting = self.message()
        assert greeting == {"proto": "authd", "version": "1"}, greeting

    def message(self):
        while b"\n\n" not in self.buf and self.buf != b"\n":
            data = self.sock.recv(4096)
            if not data:
                raise EOFError("authd closed the connection")
            self.buf += data
        if self.buf.startswith(b"\n"):
            text, self.buf = b"", self.buf[1:]
        else:
            text, self.buf = self.buf.split(b"\n\n", 1)
        return dict(line.split("=", 1) for line in text.decode().splitlines())

    def request(self, **attrs):
        text = "".join("%s=%s\n" % kv for kv in attrs.items()) + "\n"
        self.sock.sendall(text.encode())
        return self.message()

    def verify(self, user, password, client="192.0.2.7", method="PLAIN"):
        """(status, reply, seconds)."""
        if isinstance(password, str):
            password = password.encode()
        start = time.monotonic()
        reply = self.request(request="verify", method=method, user=user,
                             password=base64.b64encode(password).decode(),
                             client=client)
        return int(reply["status"]), reply, time.monotonic() - start

    def close(self):
        self.sock.close()


def verify(inst, user, password, **kw):
    c = AuthdClient(inst)
    try:
        return c.verify(user, password, **kw)
    finally:
        c.close()


def authd_pid(inst):
    pids = inst.pids("authd")
    return pids[0] if len(pids) == 1 else 0


def user_add(inst, name, password=PASSWORD, *extra):
    return inst.ctl("user", "add", name, "--password-stdin", *extra,
                    input=password + "\n")


class UserVerbs(AlligateTestCase):
    conf = "smtp_auth = yes\nauth_failure_delay = %dms\n" % (DELAY * 1000)

    def db_path(self):
        return os.path.join(self.inst.dir, "data", "users.db")

    def test_add_list_and_verify(self):
        r = user_add(self.inst, "alice")
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (0, "alligatectl: added user alice\n", ""))
        r = self.inst.ctl("user", "add", "bob", "--hash", SHA512)
        self.assertEqual((r.returncode, r.stdout), (0, "alligatectl: added user bob\n"))
        self.assertEqual(self.inst.ctl("user", "list").stdout, "alice\nbob\n")
        st = os.stat(self.db_path())
        self.assertEqual(st.st_mode & 0o7777, 0o600)
        if os.geteuid() == 0:
            self.assertEqual(st.st_uid, pwd.getpwnam("nobody").pw_uid)

        status, reply, secs = verify(self.inst, "alice", PASSWORD)
        self.assertEqual(reply, {"status": "0"})
        self.assertLess(secs, DELAY)
        self.assertEqual(verify(self.inst, "bob", "correct horse")[0], 0)
        # Wrong password and unknown user: the same answer, after the delay.
        status, wrong, secs = verify(self.inst, "alice", PASSWORD + "x")
        self.assertEqual(wrong, {"status": "1", "reason": "authentication failed"})
        self.assertGreaterEqual(secs, DELAY - 0.05)
        status, unknown, secs = verify(self.inst, "mallory", PASSWORD)
        self.assertEqual(unknown, wrong)
        self.assertGreaterEqual(secs, DELAY - 0.05)
        log = self.inst.log()
        self.assertRegex(log, r"alligate/authd\[\d+\]: authentication failed for "
                              r"user=alice client=192\.0\.2\.7: wrong password\n")
        self.assertRegex(log, r"alligate/authd\[\d+\]: authentication failed for "
                              r"user=mallory client=192\.0\.2\.7: unknown user\n")

    def test_names_are_case_insensitive(self):
        self.assertEqual(user_add(self.inst, "Alice").stdout,
                         "alligatectl: added user alice\n")
        r = user_add(self.inst, "ALICE", "other")
        self.assertEqual((r.returncode, r.stderr), (1, "alligatectl: user alice exists "
                                                       "(user passwd changes its password)\n"))
        self.assertEqual(self.inst.ctl("user", "list").stdout, "alice\n")
        self.assertEqual(verify(self.inst, "aLiCe", PASSWORD)[0], 0)
        self.assertEqual(verify(self.inst, "alice", "other")[0], 1)

    def test_passwd_forgets_the_cache(self):
        user_add(self.inst, "alice")
        c = AuthdClient(self.inst)
        self.assertEqual(c.verify("alice", PASSWORD)[0], 0)   # now cached
        mark = self.inst.log_mark()
        r = self.inst.ctl("user", "passwd", "Alice", "--password-stdin",
                          input="n3w one\nsecond line ignored\n")
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (0, "alligatectl: changed the password of alice\n", ""))
        self.assertIsNotNone(self.inst.wait_log(r"user=alice: forgot 1 cached check\n", mark))
        self.assertEqual(c.verify("alice", PASSWORD)[0], 1)
        self.assertEqual(c.verify("alice", "n3w one")[0], 0)
        c.close()
        r = self.inst.ctl("user", "passwd", "carol", "--password-stdin", input="x\n")
        self.assertEqual((r.returncode, r.stderr), (1, "alligatectl: no user carol\n"))

    def test_delete(self):
        user_add(self.inst, "alice")
        self.assertEqual(verify(self.inst, "alice", PASSWORD)[0], 0)
        r = self.inst.ctl("user", "delete", "ALICE")
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (0, "alligatectl: deleted user alice\n", ""))
        self.assertEqual(verify(self.inst, "alice", PASSWORD)[0], 1)
        self.assertEqual(self.inst.ctl("user", "list").stdout, "")
        r = self.inst.ctl("user", "delete", "alice")
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (1, "", "alligatectl: no user alice\n"))

    def test_hash_import(self):
        # bcrypt and yescrypt as other tools write them (libxcrypt via
        # Python's crypt would be the same library: these are fixed).
        r = self.inst.ctl("user", "add", "carol", "--hash",
                          "$2b$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(verify(self.inst, "carol", "correct horse")[0], 0)
        for bad in ("$1$saltsalt$4Ki1e0kJfsV0Qx1TYZK9Z.", "$6$saltsalt", "secret", "!"):
            r = self.inst.ctl("user", "add", "dave", "--hash", bad)
            self.assertEqual(r.returncode, 1, bad)
            self.assertTrue(r.stderr.startswith("alligatectl: --hash: "), r.stderr)
        self.assertEqual(self.inst.ctl("user", "list").stdout, "carol\n")

    def test_refusals(self):
        # A password is never an argument.
        r = self.inst.ctl("user", "add", "alice", "secret")
        self.assertEqual(r.returncode, 2)
        self.assertTrue(r.stderr.startswith("usage: alligatectl"), r.stderr)
        r = self.inst.ctl("user", "add", "alice", "--password-stdin", input="\n")
        self.assertEqual((r.returncode, r.stderr),
                         (1, "alligatectl: empty password (the first line of standard input)\n"))
        r = self.inst.ctl("user", "add", "alice", "--password-stdin", input="")
        self.assertEqual(r.returncode, 1)
        for name in ("al ice", "al\tice", "x" * 256):
            r = user_add(self.inst, name)
            self.assertEqual(r.returncode, 1, name)
        r = user_add(self.inst, "x" * 255)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.inst.ctl("user", "add", "bob", "--password-stdin", input="y" * 512 + "\n")
        self.assertEqual((r.returncode, r.stderr),
                         (1, "alligatectl: password longer than 511 octets\n"))
        self.assertEqual(self.inst.ctl("user", "list").stdout, "x" * 255 + "\n")

    def test_password_kept_secret(self):
        secret = "pw-nobody-may-see-%d" % os.getpid()
        proc = subprocess.Popen(
            [CTL, "-c", self.inst.dir, "user", "add", "alice", "--password-stdin"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        try:
            # While alligatectl waits for it, nothing shows it anywhere.
            ps = subprocess.run(["ps", "-eo", "args"], capture_output=True,
                                text=True).stdout
            self.assertIn("user add alice --password-stdin", ps)
            self.assertNotIn(secret, ps)
            out, err = proc.communicate(secret + "\n", timeout=30)
        finally:
            proc.kill()
        self.assertEqual((proc.returncode, err), (0, ""))
        self.assertEqual(verify(self.inst, "alice", secret)[0], 0)
        self.assertEqual(verify(self.inst, "alice", secret + "!")[0], 1)
        self.inst.ctl("user", "passwd", "alice", "--password-stdin", input=secret + "2\n")
        # Neither the password nor its base64 in any file of the instance:
        # the log, the database (hashes only), the queue, the state.
        needles = [secret.encode(), base64.b64encode(secret.encode()),
                   base64.b64encode(secret.encode() + b"!")]
        for top, dirs, files in os.walk(self.inst.dir):
            for name in files:
                path = os.path.join(top, name)
                try:
                    with open(path, "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                for needle in needles:
                    self.assertNotIn(needle, data, path)
        self.assertIn("authentication failed for user=alice", self.inst.log())

    def test_password_bytes(self):
        # Any byte but NUL and LF (the end of the line on standard input)
        # is part of the password, and survives the trip to authd.
        odd = "p\u00e4ss\rword = \t\x01\x7f~ "
        r = self.inst.ctl("user", "add", "odd", "--password-stdin", input=odd + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(verify(self.inst, "odd", odd)[0], 0)
        self.assertEqual(verify(self.inst, "odd", odd.rstrip())[0], 1)
        self.assertEqual(verify(self.inst, "odd", odd.encode() + b"\r\n")[0], 1)
        # A NUL and what follows never pass for the password.
        self.assertEqual(verify(self.inst, "odd", odd.encode() + b"\0junk")[0], 1)

    def test_others_answered_while_a_failure_waits(self):
        user_add(self.inst, "alice")
        results = []
        t = threading.Thread(target=lambda: results.append(
            verify(self.inst, "alice", "wrong")))
        t.start()
        time.sleep(0.05)
        status, _, secs = verify(self.inst, "alice", PASSWORD)
        self.assertEqual(status, 0)
        self.assertLess(secs, DELAY)
        t.join()
        self.assertEqual(results[0][0], 1)
        self.assertGreaterEqual(results[0][2], DELAY - 0.05)

    def test_bad_requests(self):
        c = AuthdClient(self.inst)
        self.assertEqual(c.request(request="verify", method="PLAIN", user="alice",
                                   password="not base64!"),
                         {"status": "-1", "reason": "password not in base64"})
        self.assertEqual(c.request(request="verify", method="CRAM-MD5", user="alice",
                                   password="eA=="),
                         {"status": "-1", "reason": "no method, or not PLAIN or LOGIN"})
        self.assertEqual(c.request(request="shutdown"),
                         {"status": "-1", "reason": "unknown request"})
        # Still serving after all that.
        self.assertEqual(c.request(request="forget", user="nobody"),
                         {"status": "0", "removed": "0"})
        c.close()


class SlowedNotLocked(AlligateTestCase):
    conf = ("smtp_auth = yes\nauth_failure_delay = 200ms\n"
            "auth_failure_limit = 2\nauth_failure_window = 10m\n")

    def test_spray_slows_the_name_only(self):
        user_add(self.inst, "alice")
        c = AuthdClient(self.inst)
        times = []
        # A spray from many addresses at one name.
        for i in range(4):
            status, _, secs = c.verify("alice", "guess%d" % i, client="198.51.100.%d" % i)
            self.assertEqual(status, 1)
            times.append(secs)
        self.assertLess(times[0], 1.0)
        self.assertLess(times[1], 1.0)
        self.assertGreaterEqual(times[2], 1.15)          # 200 ms + 1 s
        self.assertGreaterEqual(times[3], 2.15)          # 200 ms + 2 s
        # The real user, with the right password, is not held up: less than
        # the failure delay and the slowing it would get (generous bounds:
        # the machine may be loaded).
        status, _, secs = c.verify("alice", PASSWORD, client="203.0.113.9")
        self.assertEqual(status, 0)
        self.assertLess(secs, 1.0)
        # Another name is not slowed.
        status, _, secs = c.verify("bob", "guess")
        self.assertLess(secs, 1.0)
        c.close()
        log = self.inst.log()
        self.assertEqual(len(re.findall(
            r"alligate/authd\[\d+\]: warning: user=alice: 3 authentication failures "
            r"within 600s; its failed checks are answered more slowly", log)), 1, log)
        self.assertEqual(log.count("warning: user=alice:"), 1)


class DefaultDelay(AlligateTestCase):
    conf = "smtp_auth = yes\n"

    def test_one_second(self):
        status, _, secs = verify(self.inst, "nobody", "x")
        self.assertEqual(status, 1)
        self.assertGreaterEqual(secs, 0.95)


class Supervision(AlligateTestCase):
    conf = "smtp_auth = yes\n"

    def status_lines(self):
        return self.inst.ctl("status", check=True).stdout

    def test_status_and_restart(self):
        pid = authd_pid(self.inst)
        self.assertGreater(pid, 0)
        out = self.status_lines()
        self.assertRegex(out, r"(?m)^authd\s+authd\s+running\s*$")
        self.assertRegex(out, r"(?m)^    authd pid %d running$" % pid)
        user_add(self.inst, "alice")
        self.assertEqual(verify(self.inst, "alice", PASSWORD)[0], 0)
        os.kill(pid, 9)
        new = wait_for(lambda: (authd_pid(self.inst) not in (0, pid)
                                and os.path.exists(socket_path(self.inst))
                                and authd_pid(self.inst)), timeout=20)
        self.assertTrue(new, self.inst.log()[-2000:])

        def answers():
            try:
                return verify(self.inst, "alice", PASSWORD)[0] == 0
            except OSError:
                return False
        self.assertTrue(wait_for(answers, timeout=10))
        self.assertRegex(self.inst.log(), r"process authd pid %d \(service authd\) "
                                          r"killed by signal 9" % pid)

    def test_reload_turns_it_off_and_on(self):
        pid = authd_pid(self.inst)
        self.inst.write_conf("smtp_auth = no\n")
        self.inst.ctl("reload", check=True)
        self.assertTrue(wait_for(lambda: authd_pid(self.inst) == 0))
        self.assertTrue(wait_for(lambda: not os.path.exists(socket_path(self.inst))))
        self.assertNotRegex(self.status_lines(), r"(?m)^authd")
        self.assertNotRegex(self.inst.log(), r"process authd pid %d" % pid)
        self.inst.write_conf("smtp_auth = yes\n")
        self.inst.ctl("reload", check=True)
        self.assertTrue(wait_for(lambda: os.path.exists(socket_path(self.inst))))
        self.assertRegex(self.status_lines(), r"(?m)^authd\s+authd\s+running")

    def test_reload_with_another_database(self):
        user_add(self.inst, "alice")
        self.inst.write_conf("auth_user_database = $data_directory/other.db\n")
        self.inst.ctl("reload", check=True)
        self.assertTrue(self.inst.wait_log(r"authd\[\d+\]: reloaded the configuration"))
        self.assertEqual(verify(self.inst, "alice", PASSWORD)[0], 1)
        user_add(self.inst, "alice", "other")
        self.assertEqual(verify(self.inst, "alice", "other")[0], 0)
        self.assertTrue(os.path.exists(os.path.join(self.inst.dir, "data", "other.db")))


class NoAuth(AlligateTestCase):

    def test_not_started_without_smtp_auth(self):
        self.assertEqual(authd_pid(self.inst), 0)
        self.assertFalse(os.path.exists(socket_path(self.inst)))
        self.assertNotRegex(self.inst.ctl("status").stdout, r"(?m)^authd")
        # The user verbs work all the same (authd not running is fine).
        self.assertEqual(user_add(self.inst, "alice").returncode, 0)
        r = self.inst.ctl("user", "passwd", "alice", "--password-stdin", input="new\n")
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        r = self.inst.ctl("user", "delete", "alice")
        self.assertEqual((r.returncode, r.stderr), (0, ""))


class BeforeStart(unittest.TestCase):

    def test_add_before_start(self):
        inst = Instance("smtp_auth = yes\n")
        try:
            # The data directory does not exist yet: user add makes it.
            self.assertEqual(user_add(inst, "alice").returncode, 0)
            inst.start()
            self.assertEqual(verify(inst, "alice", PASSWORD)[0], 0)
        finally:
            inst.cleanup()


# auth_backend = relay ---------------------------------------------------

class AuthBackend:
    """An SMTP server with AUTH PLAIN and LOGIN (and STARTTLS with a
    certificate): 235 for its users, 454 for the user "tempfail", 535
    for anything else.  Records each AUTH: (mechanism, user, password,
    over TLS)."""

    def __init__(self, users, mechanisms="PLAIN LOGIN", cert=None):
        self.users = users
        self.mechanisms = mechanisms
        self.ctx = None
        if cert:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(*cert)
        self.auths = []
        self.port = free_port()
        backend = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                backend.session(self)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def relay_host(self):
        return "[127.0.0.1]:%d" % self.port

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def session(self, h):
        sock, rfile, tls = h.request, h.rfile, False

        def send(line):
            sock.sendall((line + "\r\n").encode())

        def line():
            data = rfile.readline(20000)
            return data.decode("latin-1").rstrip("\r\n") if data else None

        def verdict(mech, user, password):
            self.auths.append((mech, user, password, tls))
            if user == b"tempfail":
                send("454 4.7.0 Temporary authentication failure")
            elif self.users.get(user) == password:
                send("235 2.7.0 Authentication successful")
            else:
                send("535 5.7.8 Authentication credentials invalid")

        send("220 backend.test ESMTP")
        while True:
            cmd = line()
            if cmd is None:
                return
            verb = cmd.split(" ")[0].upper()
            if verb == "EHLO":
                ext = ["backend.test"]
                if self.ctx and not tls:
                    ext.append("STARTTLS")
                ext.append("AUTH " + self.mechanisms)
                for e in ext[:-1]:
                    send("250-" + e)
                send("250 " + ext[-1])
            elif verb == "STARTTLS" and self.ctx and not tls:
                send("220 2.0.0 Go ahead")
                sock = self.ctx.wrap_socket(sock, server_side=True)
                rfile = sock.makefile("rb")
                tls = True
            elif cmd.upper().startswith("AUTH PLAIN") and "PLAIN" in self.mechanisms:
                arg = cmd[11:] if len(cmd) > 11 else None
                if arg is None:
                    send("334 ")
                    arg = line()
                _, user, password = base64.b64decode(arg).split(b"\0")
                verdict("PLAIN", user, password)
            elif cmd.upper() == "AUTH LOGIN":
                send("334 VXNlcm5hbWU6")
                user = base64.b64decode(line())
                send("334 UGFzc3dvcmQ6")
                password = base64.b64decode(line())
                verdict("LOGIN", user, password)
            elif verb == "QUIT":
                send("221 2.0.0 Bye")
                return
            else:
                send("502 5.5.2 Error: command not recognized")


def make_cert(directory):
    cert = os.path.join(directory, "backend-cert.pem")
    key = os.path.join(directory, "backend-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                    "-subj", "/CN=backend.test", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, stdin=subprocess.DEVNULL)
    return cert, key


class RelayBackend(unittest.TestCase):
    mechanisms = "PLAIN LOGIN"
    tls = False

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="alligate-authd-")
        cert = make_cert(self.tmp) if self.tls else None
        self.backend = AuthBackend({b"alice": PASSWORD.encode()},
                                   mechanisms=self.mechanisms, cert=cert)
        self.inst = Instance("smtp_auth = yes\nauth_backend = relay\n"
                             "relay_host = %s\nauth_failure_delay = %dms\n"
                             % (self.backend.relay_host(), DELAY * 1000))
        self.inst.start()

    def tearDown(self):
        self.inst.cleanup()
        self.backend.stop()
        subprocess.run(["rm", "-rf", self.tmp])

    def test_verdicts(self):
        c = AuthdClient(self.inst)
        status, reply, secs = c.verify("alice", PASSWORD)
        self.assertEqual(reply, {"status": "0"})
        mech = self.mechanisms.split()[0]
        self.assertEqual(self.backend.auths,
                         [(mech, b"alice", PASSWORD.encode(), self.tls)])
        # Cached: the backend is not asked again.
        self.assertEqual(c.verify("Alice", PASSWORD)[0], 0)
        self.assertEqual(len(self.backend.auths), 1)
        # 5xx: bad credentials, after the delay.
        status, reply, secs = c.verify("alice", "wrong")
        self.assertEqual(reply, {"status": "1", "reason": "authentication failed"})
        self.assertGreaterEqual(secs, DELAY - 0.05)
        # 4xx: cannot tell, at once.
        status, reply, secs = c.verify("tempfail", "x")
        self.assertEqual(status, 2)
        self.assertIn("454 4.7.0 Temporary authentication failure", reply["reason"])
        c.close()
        self.assertRegex(self.inst.log(),
                         r"authentication failed for user=alice client=192\.0\.2\.7: "
                         r"backend 127\.0\.0\.1\[127\.0\.0\.1\]:\d+ said to AUTH: "
                         r"535 5\.7\.8 Authentication credentials invalid")
        self.assertNotIn(PASSWORD, self.inst.log())

    def test_backend_down(self):
        self.backend.stop()
        status, reply, _ = verify(self.inst, "alice", PASSWORD)
        self.assertEqual(status, 2)
        self.assertIn("connect to 127.0.0.1[127.0.0.1]", reply["reason"])


class RelayBackendLoginOnly(RelayBackend):
    mechanisms = "LOGIN"


class RelayBackendStarttls(RelayBackend):
    tls = True


if __name__ == "__main__":
    unittest.main()
