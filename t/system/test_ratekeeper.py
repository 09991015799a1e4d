"""ratekeeper and the limits smtpd asks it about: sender_rate_limit (the
(x+1)-th message in the window is refused with exactly "550 5.7.1 Refused", and
accepted again after the window; other senders and other client addresses
are unaffected), counters that survive a stop/start and a SIGKILL,
failing open while ratekeeper is down, and
smtpd_client_connection_count_limit."""

import os
import re
import shutil
import signal
import smtplib
import subprocess
import time

from alligate_test import AlligateTestCase, RawClient, wait_for


def ratekeeper_ready(inst, timeout=10):
    """Waits until ratekeeper answers alligatectl; True when it does."""
    return wait_for(lambda: inst.ctl("rate", "top").returncode == 0,
                    timeout=timeout, interval=0.05)


def ratekeeper_pid(inst):
    pids = inst.pids("ratekeeper")
    return pids[0] if len(pids) == 1 else 0


def mail_from(inst, sender, source="127.0.0.1"):
    """One session that sends MAIL FROM:<sender> and quits; the reply
    line, e.g. "250 2.1.0 Ok" or "550 5.7.1 Refused"."""
    c = RawClient("127.0.0.1", inst.port, source=source)
    try:
        code, _ = c.reply()
        assert code == 220, code
        c.ehlo()
        c.send("MAIL FROM:<%s>\r\n" % sender)
        line = c.line()
        c.cmd("QUIT")
        return line
    finally:
        c.close()


def send_message(inst, sender, source="127.0.0.1"):
    """A whole message to someone@example.com; the MAIL reply code, and
    the DATA reply code when MAIL was accepted."""
    s = smtplib.SMTP("127.0.0.1", inst.port, timeout=30,
                     source_address=(source, 0))
    try:
        s.ehlo("client.test.example")
        code, _ = s.mail(sender)
        if code != 250:
            return code, None
        s.rcpt("someone@example.com")
        data_code, _ = s.data(b"Subject: rate\r\n\r\nHello.\r\n")
        return code, data_code
    finally:
        try:
            s.quit()
        except smtplib.SMTPException:
            pass


class SenderRateBySender(AlligateTestCase):
    conf = ("sender_rate_limit = 3\n"
            "sender_rate_window = 3s\n"
            "sender_rate_key = sender\n")

    def test_exactly_the_next_message_is_refused_then_accepted(self):
        self.assertTrue(ratekeeper_ready(self.inst))
        for i in range(3):
            self.assertEqual(send_message(self.inst, "Bulk@Sender.test"),
                             (250, 250), "message %d" % (i + 1))
        mark = self.inst.log_mark()
        # The sender is case-folded: the same sender, the 4th message.
        self.assertEqual(mail_from(self.inst, "bulk@SENDER.test"), "550 5.7.1 Refused")
        self.assertTrue(self.inst.wait_log(
            r"NOQUEUE: reject: MAIL from [^ ]*\[127\.0\.0\.1\]: 550 5\.7\.1 Refused; "
            r"from=<bulk@SENDER\.test> proto=ESMTP "
            r"helo=<client\.test\.example> rule=sender_rate_limit$", mark))
        # Another sender from the same address is unaffected.
        self.assertEqual(send_message(self.inst, "other@sender.test"),
                         (250, 250))
        show = self.inst.ctl("rate", "show", "bulk@sender.test", check=True)
        self.assertRegex(show.stdout, r"(?m)^sender:bulk@sender\.test$")
        self.assertRegex(show.stdout, r"(?m)^  mail +4 in 3s, all gone in ")
        # Refused attempts count too, so the window starts over from the
        # last one; after it (plus one 50 ms bucket) mail is accepted.
        time.sleep(3.2)
        self.assertEqual(send_message(self.inst, "bulk@sender.test"),
                         (250, 250))
        self.assertEqual(len(self.inst.queue_files()), 5)


class SenderRateByAddress(AlligateTestCase):
    conf = ("sender_rate_limit = 1\n"
            "sender_rate_window = 60s\n"
            "bogus_550 = no\n"
            "reject_text = Go away\n")

    def test_other_address_unaffected(self):
        self.assertTrue(ratekeeper_ready(self.inst))
        self.assertEqual(mail_from(self.inst, "a@x.test"), "250 2.1.0 Ok")
        # Another sender from the same address: the key is the address.
        self.assertEqual(mail_from(self.inst, "b@y.test"), "550 5.7.1 Go away")
        self.assertEqual(mail_from(self.inst, "a@x.test", "127.0.0.2"),
                         "250 2.1.0 Ok")
        out = self.inst.ctl("rate", "top", "5", check=True).stdout
        self.assertRegex(out, r"(?m)^ +2  mail +addr:127\.0\.0\.1$")
        self.assertRegex(out, r"(?m)^ +1  mail +addr:127\.0\.0\.2$")
        self.assertRegex(out, r"(?m)^ +1  overlimit +addr:127\.0\.0\.1$")
        # reset forgets the address: it may send again.
        self.assertIn("addr:127.0.0.1: 2 counters reset",
                      self.inst.ctl("rate", "reset", "127.0.0.1", check=True).stdout)
        self.assertEqual(mail_from(self.inst, "a@x.test"), "250 2.1.0 Ok")
        show = self.inst.ctl("rate", "show", "addr:127.0.0.2", check=True).stdout
        self.assertRegex(show, r"(?m)^  mail +1 in 1m, all gone in ")
        bad = self.inst.ctl("rate", "show", "addr:not-an-address")
        self.assertEqual(bad.returncode, 1)
        self.assertIn("not a numeric address", bad.stderr)


class Durability(AlligateTestCase):
    conf = ("sender_rate_limit = 2\n"
            "sender_rate_window = 10m\n")

    def test_counts_survive_stop_start_and_sigkill(self):
        self.assertTrue(ratekeeper_ready(self.inst))
        for _ in range(2):
            self.assertEqual(mail_from(self.inst, "a@x.test"), "250 2.1.0 Ok")

        self.inst.stop()
        self.inst.start()
        self.assertTrue(ratekeeper_ready(self.inst))
        self.assertEqual(mail_from(self.inst, "a@x.test"), "550 5.7.1 Refused")

        pid = ratekeeper_pid(self.inst)
        self.assertTrue(pid)
        mark = self.inst.log_mark()
        os.kill(pid, signal.SIGKILL)
        self.assertTrue(self.inst.wait_log(
            r"process ratekeeper pid %d \(service ratekeeper\) killed by signal 9" % pid,
            mark))
        self.assertTrue(wait_for(lambda: ratekeeper_pid(self.inst) not in (0, pid),
                                 timeout=10))
        self.assertTrue(ratekeeper_ready(self.inst))
        show = self.inst.ctl("rate", "show", "127.0.0.1", check=True).stdout
        self.assertRegex(show, r"(?m)^  mail +3 in 10m,")
        self.assertRegex(show, r"(?m)^  overlimit +1 in 10m,")
        self.assertRegex(self.inst.log_since(mark),
                         r"ratekeeper\[\d+\]: ready: [1-9]\d* keys from ")
        self.assertEqual(mail_from(self.inst, "a@x.test"), "550 5.7.1 Refused")


class FailOpen(AlligateTestCase):
    conf = ("sender_rate_limit = 1\n"
            "sender_rate_window = 10m\n"
            "smtpd_client_connection_count_limit = 1\n")

    def test_mail_flows_while_ratekeeper_is_down(self):
        self.assertTrue(ratekeeper_ready(self.inst))
        sock = os.path.join(self.inst.dir, "run", "ratekeeper.sock")
        pid = ratekeeper_pid(self.inst)
        mark = self.inst.log_mark()
        # Kill it and make its restarts fail: its socket path becomes a
        # directory, which it refuses to remove.
        os.kill(pid, signal.SIGKILL)
        os.unlink(sock)
        os.mkdir(sock)
        self.assertTrue(self.inst.wait_log(
            r"ratekeeper\[\d+\]: fatal: socket: .*ratekeeper\.sock: exists "
            r"and is not a socket", mark))

        # Limits of 1: with ratekeeper counting, the second message and
        # the second concurrent session would be refused.
        held = RawClient("127.0.0.1", self.inst.port)
        self.assertEqual(held.reply()[0], 220)
        for _ in range(3):
            self.assertEqual(send_message(self.inst, "a@x.test"), (250, 250))
        held.close()
        log = self.inst.log_since(mark)
        warnings = re.findall(r"smtpd\[(\d+)\]: warning: ratekeeper: no answer: "
                              r".*going on without the rate and connection limits", log)
        self.assertTrue(warnings, log[-3000:])
        # At most once a minute per process.
        self.assertEqual(len(warnings), len(set(warnings)))
        self.assertEqual(self.inst.ctl("rate", "top").returncode, 1)
        os.rmdir(sock)


class ConnectionCount(AlligateTestCase):
    # 127.0.0.1 is in relay_networks, which smtpd_client_event_limit_exceptions
    # exempts by default.
    conf = ("smtpd_client_connection_count_limit = 2\nsmtpd_spare_processes = 4\n"
            "smtpd_client_event_limit_exceptions =\n")

    def busy_smtpd(self):
        out = self.inst.ctl("status", check=True).stdout
        return [int(p) for p in re.findall(r"smtpd pid (\d+) busy", out)]

    def test_third_concurrent_session_refused(self):
        self.assertTrue(ratekeeper_ready(self.inst))
        first = RawClient("127.0.0.1", self.inst.port)
        self.assertEqual(first.reply()[0], 220)
        second = RawClient("127.0.0.1", self.inst.port)
        self.assertEqual(second.reply()[0], 220)
        mark = self.inst.log_mark()
        third = RawClient("127.0.0.1", self.inst.port)
        self.assertEqual(third.line(),
                         "421 4.7.0 mx.test.example Error: too many connections from 127.0.0.1")
        self.assertTrue(third.closed())
        third.close()
        self.assertTrue(self.inst.wait_log(
            r"NOQUEUE: reject: CONNECT from [^ ]*\[127\.0\.0\.1\]: 421 4\.7\.0 "
            r"mx\.test\.example Error: too many connections from 127\.0\.0\.1; "
            r"proto=SMTP rule=smtpd_client_connection_count_limit$", mark))
        # Another address has its own count.
        other = RawClient("127.0.0.1", self.inst.port, source="127.0.0.2")
        self.assertEqual(other.reply()[0], 220)
        other.close()

        # A session that ends releases its connection.
        self.assertEqual(first.cmd("QUIT")[0], 221)
        first.close()
        self.assertTrue(wait_for(lambda: re.search(
            r"connections +1 open",
            self.inst.ctl("rate", "show", "127.0.0.1").stdout)))
        again = RawClient("127.0.0.1", self.inst.port)
        self.assertEqual(again.reply()[0], 220)

        # A worker that dies leaks nothing: ratekeeper releases what its
        # socket held.
        busy = self.busy_smtpd()
        self.assertEqual(len(busy), 2, busy)
        os.kill(busy[0], signal.SIGKILL)
        self.assertTrue(wait_for(lambda: re.search(
            r"connections +1 open",
            self.inst.ctl("rate", "show", "127.0.0.1").stdout)))
        last = RawClient("127.0.0.1", self.inst.port)
        self.assertEqual(last.reply()[0], 220)
        for c in (second, again, last):
            c.close()


class BackToBackSessions(AlligateTestCase):
    """Workers that find their next client already waiting serve it at
    once and hand the last session's registration over in one write with
    the next one's connect; when no client waits they send it before
    going idle.  Either way nothing stays registered."""
    conf = ("smtpd_client_connection_count_limit = 1000\n"
            "smtpd_client_event_limit_exceptions =\n"
            "smtpd_spare_processes = 2\n"
            "smtpd_greet_wait = 0\n")

    def test_nothing_stays_registered(self):
        import threading
        self.assertTrue(ratekeeper_ready(self.inst))
        replies, lock = [], threading.Lock()

        def sessions():
            for _ in range(40):
                c = RawClient("127.0.0.1", self.inst.port)
                try:
                    greeting = c.reply()[0]
                    quit_code = c.cmd("QUIT")[0]
                finally:
                    c.close()
                with lock:
                    replies.append((greeting, quit_code))

        threads = [threading.Thread(target=sessions) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(replies), 240)
        self.assertEqual(set(replies), {(220, 221)})
        self.assertTrue(wait_for(lambda: not re.search(
            r"connections +[1-9]\d* open",
            self.inst.ctl("rate", "show", "127.0.0.1").stdout)),
            self.inst.ctl("rate", "show", "127.0.0.1").stdout)
        # Every worker went back to idle (reported to master).
        self.assertTrue(wait_for(lambda: not re.search(
            r"smtpd pid \d+ busy", self.inst.ctl("status").stdout)),
            self.inst.ctl("status").stdout)
        # A session now is counted alone.
        c = RawClient("127.0.0.1", self.inst.port)
        self.assertEqual(c.reply()[0], 220)
        self.assertTrue(wait_for(lambda: re.search(
            r"connections +1 open",
            self.inst.ctl("rate", "show", "127.0.0.1").stdout)))
        c.close()
