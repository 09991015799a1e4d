"""Harness for Alligate's system tests: a real instance in a temporary
directory on loopback ports, started and stopped through alligatectl, and
helpers to talk SMTP to it.  Python standard library only."""

import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

TOP = os.environ.get("ALLIGATE_TOP", os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..")))
BIN = os.environ.get("ALLIGATE_BIN", os.path.join(TOP, "build", "bin"))
CTL = os.path.join(BIN, "alligatectl")


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ipv6_loopback():
    """True when ::1 can be bound, for the tests that need IPv6."""
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def wait_for(predicate, timeout=10.0, interval=0.05):
    """Polls predicate until it returns something true; returns that."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value or time.time() > deadline:
            return value
        time.sleep(interval)


class Instance:
    """One Alligate instance: its own configuration directory, queue,
    state, sockets and log, listening on a free loopback port."""

    def __init__(self, conf="", files=None, base=True):
        self.dir = tempfile.mkdtemp(prefix="alligate-test-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.conf_path = os.path.join(self.dir, "main.cf")
        self.log_path = os.path.join(self.dir, "log")
        self.queue = os.path.join(self.dir, "queue")
        lines = []
        if base:
            lines = [
                "smtp_listen = 127.0.0.1:%d" % self.port,
                "myhostname = mx.test.example",
                "local_domains = example.com, example.net",
                "daemon_directory = %s" % BIN,
                "queue_directory = %s" % self.queue,
                "data_directory = %s/data" % self.dir,
                "run_directory = %s/run" % self.dir,
                "log_file = %s" % self.log_path,
                "smtpd_spare_processes = 2",
                # Mail stays in the queue for the tests to inspect; the
                # relay tests turn delivery on.
                "defer_delivery = yes",
            ]
            if os.geteuid() == 0:
                lines.append("daemon_user = nobody")
        self.write_conf(conf, lines)
        for name, text in (files or {}).items():
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text)
        self.started = False

    def write_conf(self, conf="", lines=None):
        if lines is None:
            with open(self.conf_path) as f:
                lines = f.read().splitlines()
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n" + conf + "\n")

    def ctl(self, *args, check=False, timeout=60, input=None):
        """Runs alligatectl -c DIR ARGS; returns the CompletedProcess."""
        proc = subprocess.run([CTL, "-c", self.dir] + list(args),
                              capture_output=True, text=True, timeout=timeout,
                              input=input,
                              stdin=None if input is not None else subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise AssertionError("alligatectl %s: rc=%d\n%s%s" % (
                " ".join(args), proc.returncode, proc.stdout, proc.stderr))
        return proc

    def start(self):
        self.ctl("start", check=True)
        self.started = True
        return self

    def stop(self):
        if self.started:
            self.ctl("stop")
            self.started = False

    def cleanup(self):
        self.stop()
        pid = self.master_pid()
        if pid:
            try:
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def master_pid(self):
        try:
            with open(os.path.join(self.dir, "run", "master.pid")) as f:
                return int(f.read().strip() or 0)
        except (OSError, ValueError):
            return 0

    def pids(self, program):
        """Pids of this instance's processes running PROGRAM."""
        out = subprocess.run(["pgrep", "-f", "^%s .*-c %s( |$)" % (program, self.dir)],
                             capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def queue_files(self, sub="incoming"):
        path = os.path.join(self.queue, sub)
        try:
            return sorted(os.listdir(path))
        except OSError:
            return []

    def smtp(self, **kw):
        """A connected smtplib.SMTP client."""
        s = smtplib.SMTP("127.0.0.1", self.port, timeout=kw.pop("timeout", 30), **kw)
        return s

    def raw(self, greet=True):
        """A connected RawClient; with greet, the 220 banner is read."""
        c = RawClient("127.0.0.1", self.port)
        if greet:
            code, _ = c.reply()
            assert code == 220, code
        return c

    def log_mark(self):
        """Where the log ends now, for log_since() and wait_log()."""
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_since(self, mark):
        """The log written after mark (from log_mark())."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(mark)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_log(self, regex, mark=0, timeout=5.0):
        """The first re.search() match of regex (multi-line) in the log
        after mark, waiting up to timeout seconds for it; else None."""
        return wait_for(lambda: re.search(regex, self.log_since(mark), re.M),
                        timeout=timeout)

    def session_log(self, qid, mark=0):
        """The log lines (text after "smtpd[PID]: ") of the smtpd session
        that queued qid, from its "connect from" to its "disconnect from"
        when that has been logged.  Other sessions' lines are left out:
        one smtpd process serves one session at a time."""
        lines = re.findall(r"alligate/smtpd\[(\d+)\]: (.*)", self.log_since(mark))
        pids = [pid for pid, text in lines if text.startswith(qid + ": ")]
        if not pids:
            return []
        mine = [text for pid, text in lines if pid == pids[0]]
        first = next(i for i, text in enumerate(mine) if text.startswith(qid + ": "))
        start = max([i for i in range(first) if mine[i].startswith("connect from ")],
                    default=0)
        session = []
        for text in mine[start:]:
            session.append(text)
            if text.startswith("disconnect from "):
                break
        return session

    def queue_entry(self, qid, sub="incoming"):
        """Queue file qid, parsed and checked (QueueFile)."""
        return QueueFile.read(os.path.join(self.queue, sub, qid))


class RawClient:
    """A byte-exact SMTP client over a plain socket; with source, its
    connection comes from that local address (loopback has the whole of
    127/8, so tests can be several clients).  With tls (an SSLContext),
    the connection is TLS from the start (implicit TLS, smtps_listen);
    starttls() turns a plaintext one into TLS."""

    def __init__(self, host, port, timeout=30, source=None, tls=None,
                 session=None):
        self.sock = socket.create_connection(
            (host, port), timeout=timeout,
            source_address=(source, 0) if source else None)
        self.port = port
        self.buf = b""
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock, server_hostname=TLS_SNI,
                                        session=session)

    def starttls(self, context=None, session=None):
        """The TLS handshake, once the server has answered 220 to STARTTLS
        (context: tls_client_context() by default; session: one to
        resume).  Nothing may have come after the 220: it would be a
        plaintext reply smuggled in before TLS."""
        assert not self.buf, "bytes after the 220 to STARTTLS: %r" % self.buf
        self.sock = (context or tls_client_context()).wrap_socket(
            self.sock, server_hostname=TLS_SNI, session=session)
        return self

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        """One reply line without CR LF, or None at EOF."""
        while b"\r\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def reply(self):
        """(code, [text lines]) of one possibly multi-line reply;
        (None, []) at EOF."""
        lines = []
        while True:
            line = self.line()
            if line is None:
                return None, lines
            lines.append(line[4:])
            if len(line) < 4 or line[3] != "-":
                return int(line[:3]), lines

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def closed(self, timeout=5):
        """True when the server closes the connection within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
        except socket.timeout:
            return False
        except (ConnectionResetError, ssl.SSLError):
            # Under TLS, a fatal alert or a close without close_notify.
            return True

    def ehlo(self, name="client.test.example"):
        """EHLO name; (code, lines) of the whole reply."""
        return self.cmd("EHLO " + name)

    def replies(self, count):
        """The next count replies, as a list of (code, lines)."""
        return [self.reply() for _ in range(count)]

    def replies_until_close(self, timeout=5):
        """Every reply until the server closes, or until timeout passes
        with nothing more: ([(code, lines), ...], closed)."""
        self.sock.settimeout(timeout)
        replies = []
        try:
            while True:
                code, lines = self.reply()
                if code is None:
                    return replies, True
                replies.append((code, lines))
        except socket.timeout:
            return replies, False
        finally:
            self.sock.settimeout(30)

    def silent(self, timeout=0.3):
        """True when nothing (not even the end of the connection)
        arrives within timeout: the server is still waiting for us."""
        if self.buf:
            return False
        if isinstance(self.sock, ssl.SSLSocket):
            return self._tls_silent(timeout)
        self.sock.settimeout(timeout)
        try:
            self.sock.recv(1, socket.MSG_PEEK)
            return False
        except socket.timeout:
            return True
        except ConnectionResetError:
            return False
        finally:
            self.sock.settimeout(30)

    def _tls_silent(self, timeout):
        # No MSG_PEEK under TLS: what arrives is kept for line().
        if self.sock.pending():
            return False
        self.sock.settimeout(timeout)
        try:
            self.buf += self.sock.recv(65536)
            return False
        except socket.timeout:
            return True
        except (ConnectionResetError, ssl.SSLError):
            return False
        finally:
            self.sock.settimeout(30)

    def close(self):
        self.sock.close()


class AlligateTestCase(unittest.TestCase):
    """Starts one instance per test (setUp) unless start = False; stops
    and removes it afterwards, keeping the log in the failure message."""

    conf = ""
    files = None
    start = True

    def setUp(self):
        self.inst = Instance(self.conf, self.files)
        if self.start:
            self.inst.start()

    def tearDown(self):
        outcome = getattr(self, "_outcome", None)
        failed = outcome is not None and not outcome.success
        if failed and os.environ.get("ALLIGATE_TEST_VERBOSE"):
            print("---- log of %s ----\n%s" % (self.id(), self.inst.log()[-4000:]))
        self.inst.cleanup()


class QueueFile:
    """A queue file parsed as lib/queue_record.h documents it, as strictly
    as the C reader (lib/queue_read.c): AssertionError for anything it
    would refuse (bad magic, an unknown or malformed record, a bad value,
    a once-only record repeated, T, S or every recipient missing, a bad M
    length, a file that does not end exactly with the trailer).  The one
    queue file parser of the tests."""

    MAGIC = b"ALLIGATE-QUEUE 1\n"
    VALUE_MAX = 16384
    SINGLETONS = "TCNHPUSZY8KW"         # at most once each
    RECIPIENTS = "RDB"                  # pending, delivered, bounced

    def __init__(self, data, name="queue file"):
        def refuse(why, *args):
            raise AssertionError("%s: %s" % (name, why % args))

        if not data.startswith(self.MAGIC):
            refuse("bad magic %r", data[:20])
        pos = len(self.MAGIC)
        self.records = []
        while True:
            end = data.find(b"\n", pos)
            if end < 0:
                refuse("truncated file")
            if end - pos < 2 or data[pos + 1:pos + 2] != b" ":
                refuse("malformed record at offset %d", pos)
            kind, value = chr(data[pos]), data[pos + 2:end]
            if kind == "M":
                break
            if kind not in self.SINGLETONS + self.RECIPIENTS + "A":
                refuse("unknown record type %r at offset %d", kind, pos)
            why = self._check(kind, value)
            if why:
                refuse("bad record at offset %d: %s", pos, why)
            if kind in self.SINGLETONS and kind in (k for k, _ in self.records):
                refuse("duplicate %s record at offset %d", kind, pos)
            if kind in "KW" and any(k in "KW" for k, _ in self.records):
                refuse("sealed and wiped credentials at offset %d", pos)
            self.records.append((kind, value.decode("utf-8", "replace")))
            pos = end + 1
        if not re.fullmatch(rb"[0-9]{20}", value):
            refuse("bad message length at offset %d", pos)
        kinds = [k for k, _ in self.records]
        if "T" not in kinds:
            refuse("no arrival time record")
        if "S" not in kinds:
            refuse("no sender record")
        if not any(k in self.RECIPIENTS for k in kinds):
            refuse("no recipient record")
        length, pos = int(value), end + 1
        trailer = b"\nE %d\n" % length
        if len(data) != pos + length + len(trailer):
            refuse("%d bytes for a %d-byte message", len(data), length)
        if data[pos + length:] != trailer:
            refuse("bad trailer %r", data[pos + length:])
        self.message = data[pos:pos + length]

    @classmethod
    def _check(cls, kind, value):
        """What is wrong with value for a record of this type, or None."""
        if len(value) > cls.VALUE_MAX:
            return "value too long"
        if b"\r" in value or b"\0" in value:
            return "CR, LF or NUL in value"
        if kind in "TZ" and not re.fullmatch(rb"[0-9]{1,18}", value):
            return "bad number"
        if kind == "8" and value not in (b"0", b"1"):
            return "bad smtputf8 flag"
        if kind == "A" and not re.fullmatch(rb"[^=]+=.*", value, re.S):
            return "bad attribute"
        if kind in cls.RECIPIENTS and not value:
            return "empty recipient"
        if kind == "K" and not re.fullmatch(rb"[A-Za-z0-9+/=]+", value):
            return "sealed credentials not base64" if value else "empty sealed credentials"
        if kind == "W" and not re.fullmatch(rb"0+", value):
            return "wiped credentials not wiped" if value else "empty wiped credentials"
        return None

    @classmethod
    def read(cls, path):
        with open(path, "rb") as f:
            return cls(f.read(), path)

    def get(self, kind):
        """The value of the first record of this type, or None."""
        for k, v in self.records:
            if k == kind:
                return v
        return None

    def all(self, kind):
        return [v for k, v in self.records if k == kind]

    @property
    def recipients(self):
        """The pending recipients."""
        return self.all("R")

    def headers(self, name):
        """The values of the header fields called name, unfolded."""
        head = self.message.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
        fields = []
        for line in head.split("\r\n"):
            if line[:1] in (" ", "\t") and fields:
                fields[-1] += " " + line.strip()
            else:
                fields.append(line)
        prefix = name.lower() + ":"
        return [f[len(prefix):].strip() for f in fields
                if f.lower().startswith(prefix)]


def queue_file_bytes(message, rcpts, sender="sender@remote.test", arrival=None,
                     extra=b""):
    """A queue file in the format of lib/queue_record.h, for tests that put
    files into the queue themselves; extra is more envelope records."""
    head = QueueFile.MAGIC
    head += b"T %d\n" % int(arrival if arrival is not None else time.time())
    head += b"S " + sender.encode() + b"\n" + extra
    for r in rcpts:
        head += b"R " + r.encode() + b"\n"
    head += b"M %020d\n" % len(message)
    return head + message + b"\nE %d\n" % len(message)


class SharedInstanceTestCase(unittest.TestCase):
    """One instance for the whole class (setUpClass), for tests that do
    not disturb one another: each tells its own mail apart with
    new_queue_files() and its own log lines with log_since_start().
    With ALLIGATE_TEST_VERBOSE, a failing test prints the log it caused."""

    conf = ""
    files = None

    @classmethod
    def prepare(cls, inst):
        """Called with the instance before it starts: a subclass puts
        files that depend on the instance's directory there."""

    @classmethod
    def setUpClass(cls):
        cls.inst = Instance(cls.conf, cls.files)
        try:
            cls.prepare(cls.inst)
            cls.inst.start()
        except BaseException:
            cls.inst.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.inst.cleanup()

    def setUp(self):
        self.mark = self.inst.log_mark()
        self.queued_before = set(self.inst.queue_files())

    def tearDown(self):
        outcome = getattr(self, "_outcome", None)
        failed = outcome is not None and not outcome.success
        if failed and os.environ.get("ALLIGATE_TEST_VERBOSE"):
            print("---- log of %s ----\n%s" % (
                self.id(), self.log_since_start()[-4000:]))

    def new_queue_files(self):
        """Queue ids that appeared in incoming/ since this test began."""
        return sorted(set(self.inst.queue_files()) - self.queued_before)

    def log_since_start(self):
        return self.inst.log_since(self.mark)


# TLS (certificates and clients) ------------------------------------------

TLS_SNI = "mx.example.com"


def make_cert(directory, cn="mx.example.com", days=30, cert="cert.pem",
              key="key.pem"):
    """A self-signed P-256 certificate for CN=cn valid for days, and its
    key, written to directory/cert and directory/key; returns the
    certificate's path.  The key is readable by its owner only, and owned
    by the daemon user when the tests run as root (the workers read it).
    OpenSSL's output is not shown: nothing of the key reaches a log."""
    cert_path = os.path.join(directory, cert)
    key_path = os.path.join(directory, key)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", str(days), "-subj", "/CN=" + cn,
                    "-keyout", key_path, "-out", cert_path],
                   check=True, capture_output=True, stdin=subprocess.DEVNULL)
    _own_key(key_path)
    return cert_path


def make_expired_cert(directory, cn="old.example.com", cert="cert.pem",
                      key="key.pem"):
    """Like make_cert, but valid only in January 2020: openssl req cannot
    date a certificate in the past, openssl ca can (-startdate/-enddate,
    with a throw-away CA database in a subdirectory)."""
    ca = tempfile.mkdtemp(prefix="ca-", dir=directory)
    key_path = os.path.join(directory, key)
    cert_path = os.path.join(directory, cert)
    with open(os.path.join(ca, "ca.cnf"), "w") as f:
        f.write("[ca]\ndefault_ca = old\n"
                "[old]\ndir = %s\ndatabase = $dir/index.txt\n"
                "new_certs_dir = $dir\nserial = $dir/serial\n"
                "default_md = sha256\npolicy = any\nunique_subject = no\n"
                "[any]\ncommonName = supplied\n" % ca)
    open(os.path.join(ca, "index.txt"), "w").close()
    with open(os.path.join(ca, "serial"), "w") as f:
        f.write("01\n")
    run = dict(check=True, capture_output=True, stdin=subprocess.DEVNULL)
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", "/CN=" + cn, "-keyout", key_path,
                    "-out", os.path.join(ca, "req.csr")], **run)
    subprocess.run(["openssl", "ca", "-batch", "-config",
                    os.path.join(ca, "ca.cnf"), "-selfsign",
                    "-keyfile", key_path, "-in", os.path.join(ca, "req.csr"),
                    "-startdate", "20200101000000Z",
                    "-enddate", "20200201000000Z", "-notext",
                    "-out", cert_path], **run)
    shutil.rmtree(ca)
    _own_key(key_path)
    return cert_path


def _own_key(path):
    os.chmod(path, 0o600)
    if os.geteuid() == 0:
        os.chown(path, pwd.getpwnam("nobody").pw_uid, -1)


def cert_der(path):
    """The DER bytes of the (first) certificate in PEM file path, to
    compare with SSLSocket.getpeercert(binary_form=True)."""
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def tls_client_context(minimum=None, maximum=None, ciphers=None):
    """A client context that accepts any certificate (the tests' are
    self-signed); minimum and maximum are ssl.TLSVersion values, ciphers
    an OpenSSL cipher list for TLS 1.2 and below."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    # A server that closes without close_notify is at EOF, not in error.
    ctx.options |= getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
    if minimum is not None:
        ctx.minimum_version = minimum
    if maximum is not None:
        ctx.maximum_version = maximum
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    return ctx


# What of openssl s_client's output a test may show: its full output has
# the session's secrets (Master-Key, Resumption PSK, ticket dumps).
_S_CLIENT_SHOWN = re.compile(
    r"^(New|Reused), |^subject=|^Verif|^[0-9]{3}[ -]|^CONNECTED|"
    r"error|alert|didn't find|[Nn]o protocols|^DONE")


def s_client(port, *args, input="QUIT\n", timeout=30):
    """openssl s_client -connect 127.0.0.1:PORT ARGS with input on its
    standard input (-crlf: each line ends in CR LF; -nocommands: a line
    starting with Q or R is sent, not obeyed; -ign_eof: the end of input
    does not end the session, the server's close does): (returncode, the
    lines of its output that hold no secret)."""
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                        "-crlf", "-nocommands", "-ign_eof"] + list(args),
                       input=input, capture_output=True, text=True,
                       timeout=timeout)
    shown = [line for line in (p.stdout + p.stderr).splitlines()
             if _S_CLIENT_SHOWN.search(line)]
    return p.returncode, "\n".join(shown)


# Processes of an instance (master and alligatectl tests) -------------------

DAEMONS = ("master", "smtpd", "tarpit", "ratekeeper", "dnscache", "authd",
           "archiver", "relay", "metrics")


def instance_pids(inst):
    """Pids of every process of the instance: master and its children."""
    pids = []
    for program in DAEMONS:
        pids += inst.pids(program)
    return sorted(pids)


def kill_instance(inst, sig=signal.SIGKILL):
    """Sends sig to every process of the instance at once (kill -9 of a
    crash, by default) and waits until they are gone."""
    pids = instance_pids(inst)
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    wait_for(lambda: not instance_pids(inst), timeout=10)
    inst.started = False
    return pids


def server_pid(inst, client):
    """The pid of the process holding the server end of client's TCP
    connection (client: a RawClient or smtplib.SMTP that has read its
    banner, so a worker has accepted it), or None."""
    client_port = client.sock.getsockname()[1]
    server_port = client.sock.getpeername()[1]
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            # The server's end: local address first, then the client's;
            # inode 0 is a connection that is gone (TIME_WAIT).
            if (int(fields[1].split(":")[1], 16) == server_port
                    and int(fields[2].split(":")[1], 16) == client_port
                    and fields[9] != "0"):
                inode = fields[9]
    if inode is None:
        return None
    target = "socket:[%s]" % inode
    for pid in instance_pids(inst):
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
            if any(os.readlink("/proc/%d/fd/%s" % (pid, fd)) == target
                   for fd in fds):
                return pid
        except OSError:
            continue
    return None


def refused(port, host="127.0.0.1"):
    """True when nothing listens on host:port (the connection is refused)."""
    try:
        socket.create_connection((host, port), timeout=5).close()
        return False
    except ConnectionRefusedError:
        return True


# The relay (relay tests) ------------------------------------------------

def relay_pid(inst):
    """The pid of the instance's relay queue manager (master's child; its
    delivery agents are relay processes too, its own children), or None."""
    master = inst.master_pid()
    for pid in inst.pids("relay"):
        try:
            with open("/proc/%d/stat" % pid) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == master:
            return pid
    return None
