"""A capturing SMTP server on loopback, the backend of the relay tests.

It records each message's envelope and the exact bytes that came after
DATA (as sent, dot-stuffing and all, and as meant, unstuffed), and can be
told to misbehave: answer a recipient or the final dot with a chosen
reply, drop the connection after the final dot, be down, then up again on
the same port.  With auth_users it offers AUTH PLAIN and LOGIN (RFC 4954)
and records who authenticated on the connection of each message.  Python
standard library only."""

import base64
import binascii
import socket
import socketserver
import ssl
import threading
import time

from alligate_test import free_port


class Message:
    """One transaction the backend accepted (at least one recipient)."""

    def __init__(self, mail_from, mail_params, rcpts, raw, tls, auth_user=None):
        self.mail_from = mail_from          # "a@b", "" for <>
        self.auth_user = auth_user          # who had authenticated, or None
        self.mail_params = mail_params      # ["SIZE=123", "BODY=8BITMIME"]
        self.rcpts = rcpts                  # accepted recipients
        self.raw = raw                      # bytes as sent, without ".\r\n"
        self.data = b"".join(               # dots unstuffed
            line[1:] if line.startswith(b".") else line
            for line in raw.splitlines(keepends=True))
        self.tls = tls

    def __repr__(self):
        return "<Message from=%r to=%r %d bytes>" % (
            self.mail_from, self.rcpts, len(self.data))


class _Handler(socketserver.BaseRequestHandler):
    def setup(self):
        self.backend = self.server.backend
        self.sock = self.request
        self.buf = b""
        self.tls = False
        with self.backend.cond:
            self.backend.connections += 1
            self.backend.opened.append(time.monotonic())
            self.backend.open_socks.add(self.sock)
            self.backend.max_open = max(self.backend.max_open, len(self.backend.open_socks))

    def finish(self):
        with self.backend.cond:
            self.backend.open_socks.discard(self.sock)
            self.backend.closed.append(time.monotonic())
            self.backend.cond.notify_all()
        try:
            self.sock.close()
        except OSError:
            pass

    def readline(self):
        while b"\n" not in self.buf:
            try:
                data = self.sock.recv(65536)
            except (OSError, ssl.SSLError):
                data = b""
            if not data:
                return None
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line + b"\n"

    def send(self, text):
        if isinstance(text, str):
            text = text.encode()
        try:
            self.sock.sendall(text)
        except OSError:
            pass

    def reply(self, text):
        self.send(text + "\r\n")

    def ehlo_reply(self, name):
        b = self.backend
        if b.ehlo_raw is not None:
            self.send(b.ehlo_raw)
            return
        lines = ["backend.test.example"]
        if b.pipelining:
            lines.append("PIPELINING")
        if b.size is not None:
            lines.append("SIZE %d" % b.size if b.size else "SIZE")
        if b.eightbit:
            lines.append("8BITMIME")
        if (b.tls_context is not None or b.tls_garbage) and not self.tls:
            lines.append("STARTTLS")
        if b.auth_users is not None and b.auth_mechs:
            lines.append("AUTH " + " ".join(b.auth_mechs))
        lines.append("ENHANCEDSTATUSCODES")
        for i, line in enumerate(lines):
            self.reply("250%s%s" % ("-" if i < len(lines) - 1 else " ", line))

    def decode64(self, text):
        """The bytes of a base64 response, or None (after a 501 reply)
        when it is not base64 or the client cancelled."""
        if text == "*":
            self.reply("501 5.7.0 Authentication cancelled")
            return None
        try:
            return base64.b64decode(text.encode(), validate=True)
        except (binascii.Error, ValueError):
            self.reply("501 5.5.2 Cannot decode response")
            return None

    def challenge(self, text):
        """Sends a 334 challenge; the client's response line, or None."""
        self.reply("334 " + text)
        line = self.readline()
        return None if line is None else line.rstrip(b"\r\n").decode("utf-8", "replace")

    def auth(self, args):
        """AUTH PLAIN and LOGIN, with and without initial response."""
        b = self.backend
        parts = args.split()
        mech = parts[0].upper() if parts else ""
        if b.auth_users is None or mech not in b.auth_mechs:
            self.reply("504 5.5.4 Unrecognized authentication type")
            return
        if self.auth_user is not None:
            self.reply("503 5.5.1 Already authenticated")
            return
        if mech == "PLAIN":
            response = parts[1] if len(parts) > 1 else self.challenge("")
            if response is None or (data := self.decode64(response)) is None:
                return
            fields = data.split(b"\0")
            if len(fields) != 3:
                user, password = None, None
            else:
                authzid, user, password = (f.decode("utf-8", "replace") for f in fields)
                if authzid not in ("", user):
                    user = None
        else:
            response = parts[1] if len(parts) > 1 else self.challenge("VXNlcm5hbWU6")
            if response is None or (data := self.decode64(response)) is None:
                return
            user = data.decode("utf-8", "replace")
            response = self.challenge("UGFzc3dvcmQ6")
            if response is None or (data := self.decode64(response)) is None:
                return
            password = data.decode("utf-8", "replace")
        with b.cond:
            reply = b.auth_replies.pop(0) if b.auth_replies else None
            ok = user is not None and b.auth_users.get(user) == password
            if reply is None:
                reply = ("235 2.7.0 Authentication successful" if ok
                         else "535 5.7.8 Authentication credentials invalid")
            ok = reply.startswith("235")
            b.auths.append((mech, user, ok))
        if reply == "":
            return False                # drop the connection instead
        if ok:
            self.auth_user = user
        self.reply(reply)
        return True

    def handle(self):
        b = self.backend
        self.auth_user = None
        self.reply("220 backend.test.example ESMTP test backend")
        mail_from, params, rcpts = None, [], []
        while True:
            line = self.readline()
            if line is None:
                return
            cmd = line.rstrip(b"\r\n").decode("utf-8", "replace")
            verb = cmd.split(" ", 1)[0].upper()
            with b.cond:
                b.commands.append(cmd)
            if verb in ("EHLO", "HELO"):
                if verb == "HELO":
                    self.reply("250 backend.test.example")
                else:
                    self.ehlo_reply(cmd[5:])
                mail_from, params, rcpts = None, [], []
            elif verb == "STARTTLS" and b.tls_garbage:
                # Agrees, then answers the handshake with plain text:
                # after the client's first handshake bytes, or the text
                # may come in the same read as the 220, which the client
                # takes for injected data instead.
                self.reply("220 2.0.0 Ready to start TLS")
                try:
                    self.sock.recv(4096)
                except OSError:
                    return
                self.reply("this is not TLS at all")
                return
            elif verb == "STARTTLS" and b.tls_context is not None and not self.tls:
                self.reply("220 2.0.0 Ready to start TLS")
                try:
                    self.sock = b.tls_context.wrap_socket(self.sock, server_side=True)
                except (OSError, ssl.SSLError):
                    return
                self.tls = True
                self.buf = b""
                self.auth_user = None
            elif verb == "AUTH":
                if self.auth(cmd[5:]) is False:
                    return
            elif verb == "MAIL" and b.auth_required and self.auth_user is None:
                self.reply("530 5.7.0 Authentication required")
            elif verb == "MAIL":
                arg = cmd[10:] if cmd.upper().startswith("MAIL FROM:") else ""
                if b"RCPT TO:" in self.buf.upper():
                    with b.cond:
                        b.pipelined += 1    # RCPT came with MAIL
                addr, _, rest = arg.partition(">")
                mail_from = addr.lstrip("<")
                params = rest.split()
                rcpts = []
                with b.cond:
                    reply = b.mail_replies.pop(0) if b.mail_replies else "250 2.1.0 Ok"
                self.reply(reply)
                if not reply.startswith("2"):
                    mail_from = None
            elif verb == "RCPT":
                addr = cmd[8:].strip().lstrip("<").split(">")[0]
                if mail_from is None:
                    self.reply("503 5.5.1 Error: need MAIL command")
                    continue
                with b.cond:
                    reply = b.rcpt_replies.get(addr.lower(), "250 2.1.5 Ok")
                self.reply(reply)
                if reply.startswith("2"):
                    rcpts.append(addr)
            elif verb == "DATA":
                if mail_from is None or not rcpts:
                    self.reply("554 5.5.1 Error: no valid recipients")
                    continue
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                raw = []
                while True:
                    line = self.readline()
                    if line is None:
                        return
                    if line == b".\r\n":
                        break
                    raw.append(line)
                if b.data_delay:
                    time.sleep(b.data_delay)
                gate = b.dot_gate
                if gate is not None:
                    with b.cond:
                        b.stalled += 1
                        b.cond.notify_all()
                    gate.wait()
                with b.cond:
                    if b.close_after_dot > 0:
                        b.close_after_dot -= 1
                        b.dropped.append(Message(mail_from, params, rcpts, b"".join(raw), self.tls,
                                                 self.auth_user))
                        b.cond.notify_all()
                        return
                    reply = b.dot_replies.pop(0) if b.dot_replies else "250 2.0.0 Ok: queued"
                    if reply.startswith("2"):
                        b.messages.append(Message(mail_from, params, rcpts, b"".join(raw), self.tls,
                                                  self.auth_user))
                        b.cond.notify_all()
                self.reply(reply)
                mail_from, params, rcpts = None, [], []
            elif verb == "RSET":
                mail_from, params, rcpts = None, [], []
                self.reply("250 2.0.0 Ok")
            elif verb == "NOOP":
                self.reply("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.reply("221 2.0.0 Bye")
                return
            else:
                self.reply("502 5.5.2 Error: command not recognized")


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    # socketserver's default of 5 drops handshakes when many connections
    # come at once, and a client then waits for a greeting that never comes.
    request_queue_size = 128


class _Server6(_Server):
    address_family = socket.AF_INET6


class Backend:
    """The backend server.  Knobs (change them any time, under no lock:
    the handler reads them per command):

      rcpt_replies   {address (lower case): "550 5.1.1 ..."}
      dot_replies    replies to the final dot, used up in order
      mail_replies   replies to MAIL, used up in order
      close_after_dot  drop that many connections after the final dot
                     without a reply (the message is in .dropped)
      data_delay     seconds to wait before answering the final dot
      dot_gate       a threading.Event: the final dot is answered only
                     once it is set (a delivery stalled mid-way, until
                     the test lets it go); stalled counts the messages
                     that came to wait on it
      ehlo_raw       bytes sent instead of the EHLO reply
      auth_users     {user: password} to offer AUTH (None: not offered)
      auth_mechs     the mechanisms offered, of "PLAIN" and "LOGIN"
      auth_replies   replies to AUTH, used up in order, instead of the
                     check of auth_users ("454 4.7.0 ...", "535 5.7.8 ...";
                     "" drops the connection instead of a reply)
      auth_required  MAIL before AUTH gets 530

    and records: messages, dropped (closed after the dot), commands,
    connections (how many), opened and closed (when each connection
    was, time.monotonic()), max_open (most at once), pipelined (MAIL
    commands that arrived together with a RCPT), auths ((mechanism, user,
    succeeded) for each AUTH)."""

    def __init__(self, port=None, pipelining=True, size=0, eightbit=True,
                 tls_cert=None, host="127.0.0.1", tls_garbage=False,
                 auth_users=None, auth_mechs=("PLAIN", "LOGIN"), auth_required=False):
        self.host = host
        self.tls_garbage = tls_garbage
        self.port = port or free_port()
        self.pipelining = pipelining
        self.size = size
        self.eightbit = eightbit
        self.tls_context = None
        if tls_cert:
            self.tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls_context.load_cert_chain(*tls_cert)
        self.cond = threading.Condition()
        self.messages = []
        self.dropped = []
        self.commands = []
        self.connections = 0
        self.opened = []
        self.closed = []
        self.max_open = 0
        self.pipelined = 0
        self.open_socks = set()
        self.rcpt_replies = {}
        self.dot_replies = []
        self.mail_replies = []
        self.close_after_dot = 0
        self.data_delay = 0
        self.dot_gate = None
        self.stalled = 0
        self.ehlo_raw = None
        self.auth_users = auth_users
        self.auth_mechs = list(auth_mechs)
        self.auth_replies = []
        self.auth_required = auth_required
        self.auths = []
        self.server = None

    @property
    def relay_host(self):
        return "[%s]:%d" % (self.host, self.port)

    def start(self):
        server_class = _Server6 if ":" in self.host else _Server
        self.server = server_class((self.host, self.port), _Handler)
        self.server.backend = self
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        """Down: no listener, every connection closed."""
        if self.server is None:
            return
        self.server.shutdown()
        self.server.server_close()
        self.server = None
        with self.cond:
            socks = list(self.open_socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass

    def wait(self, count, timeout=20):
        """Waits until at least count messages arrived; returns them all."""
        deadline = time.time() + timeout
        with self.cond:
            while len(self.messages) < count and time.time() < deadline:
                self.cond.wait(max(0.01, deadline - time.time()))
            return list(self.messages)

    def wait_stalled(self, count=1, timeout=20):
        """Waits until count messages wait on dot_gate; True then."""
        deadline = time.time() + timeout
        with self.cond:
            while self.stalled < count and time.time() < deadline:
                self.cond.wait(max(0.01, deadline - time.time()))
            return self.stalled >= count

    def wait_closed(self, count, timeout=20):
        """Waits until count connections have ended; returns their end
        times."""
        deadline = time.time() + timeout
        with self.cond:
            while len(self.closed) < count and time.time() < deadline:
                self.cond.wait(max(0.01, deadline - time.time()))
            return list(self.closed)

    def delivered_to(self, rcpt):
        with self.cond:
            return [m for m in self.messages if rcpt in m.rcpts]
