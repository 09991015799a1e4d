"""ratekeeper_backend = redis: three Alligate instances on their own
ports share one real redis-server (started here, on a free loopback
port, without persistence, no other client): a sender that spreads its
mail over the three is refused at message x+1 in total; the per-client
connection limit counts the sessions open on all three; AUTH failures
add up; a tarpit disconnect counted on one (through ratekeeper's
protocol, as the tarpit reports it) shows on another; alligatectl rate
show, top and reset and status work on the cluster's state; every key in
Redis has an expiry; alligatectl check refuses bad values.

What happens when a gateway dies or Redis goes away is in
test_redis_failover.py; a tarpit runaway on one gateway refused at
connect on another, through the real tarpit, in test_redis_tarpit.py."""

import re
import smtplib
import socket
import time
import unittest

from alligate_test import Instance, RawClient, wait_for
from redis_server import RedisServer, ratekeeper_request

REFUSED = "550 5.7.1 Refused"
LIMIT = 4


def send_message(inst, sender, source="127.0.0.1"):
    """A whole message; the MAIL reply line, e.g. "250 2.1.0 Ok" or
    "550 5.7.1 Refused" (then no DATA)."""
    c = RawClient("127.0.0.1", inst.port, source=source)
    try:
        assert c.reply()[0] == 220
        c.ehlo()
        c.send("MAIL FROM:<%s>\r\n" % sender)
        line = c.line()
        if line.startswith("250"):
            assert c.cmd("RCPT TO:<someone@example.com>")[0] == 250
            assert c.cmd("DATA")[0] == 354
            c.send("Subject: cluster\r\n\r\nHello.\r\n.\r\n")
            code, lines = c.reply()
            assert code == 250, lines
        c.cmd("QUIT")
        return line
    finally:
        c.close()


def cluster_conf(redis, extra=""):
    return ("ratekeeper_backend = redis\n"
            "redis_servers = 127.0.0.1:%d\n"
            "redis_heartbeat_time = 3s\n" % redis.port) + extra


def redis_ready(inst, timeout=15):
    """Waits until the instance's ratekeeper says Redis is reachable."""
    return wait_for(lambda: re.search(
        r"(?m)^ratekeeper: backend redis 127\.0\.0\.1:\d+, reachable",
        inst.ctl("status").stdout), timeout=timeout)


class Cluster(unittest.TestCase):
    """Three instances, one Redis, for the whole class; each test uses
    its own senders and client addresses."""

    extra = ("sender_rate_limit = %d\n"
             "sender_rate_window = 10m\n"
             "sender_rate_key = sender\n"
             "smtpd_client_connection_count_limit = 2\n"
             "smtpd_client_event_limit_exceptions =\n"
             "relay_networks = 192.0.2.0/24\n"
             "smtp_auth = yes\n"
             "auth_require_tls = no\n"
             "auth_failure_limit = 3\n"
             "auth_failure_window = 10m\n"
             "auth_failure_delay = 0\n"
             "smtpd_soft_error_limit = 0\n" % LIMIT)

    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer().start()
        cls.insts = []
        try:
            for _ in range(3):
                cls.insts.append(Instance(cluster_conf(cls.redis, cls.extra)))
            for inst in cls.insts:
                inst.start()
            for inst in cls.insts:
                assert redis_ready(inst), inst.log()[-2000:]
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for inst in cls.insts:
            inst.cleanup()
        cls.redis.cleanup()

    def show(self, inst, key):
        return inst.ctl("rate", "show", key, check=True).stdout

    def test_message_x_plus_one_refused_in_total(self):
        a, b, c = self.insts
        marks = [i.log_mark() for i in self.insts]
        order = [a, b, c, a]
        for n, inst in enumerate(order):
            self.assertEqual(send_message(inst, "bomber@spread.test"),
                             "250 2.1.0 Ok", "message %d" % (n + 1))
        # The fifth, wherever it goes, is over the limit in total.
        self.assertEqual(send_message(b, "bomber@spread.test"), REFUSED)
        self.assertEqual(send_message(c, "bomber@spread.test"), REFUSED)
        self.assertTrue(b.wait_log(
            r"NOQUEUE: reject: MAIL from [^ ]*\[127\.0\.0\.1\]: 550 5\.7\.1 Refused; "
            r"from=<bomber@spread\.test> proto=ESMTP helo=<client\.test\.example> "
            r"rule=sender_rate_limit$", marks[1]))
        self.assertEqual(len(a.queue_files()) >= 2, True)
        # Every instance shows the whole count, refused attempts included.
        for inst in self.insts:
            self.assertRegex(self.show(inst, "bomber@spread.test"),
                             r"(?m)^  mail +6 in 10m, all gone in ")
        # Another sender is not affected.
        self.assertEqual(send_message(c, "quiet@spread.test"), "250 2.1.0 Ok")

    def test_connection_limit_counts_across_gateways(self):
        a, b, c = self.insts
        src = "127.0.0.20"
        first = RawClient("127.0.0.1", a.port, source=src)
        self.addCleanup(first.close)
        self.assertEqual(first.reply()[0], 220)
        second = RawClient("127.0.0.1", b.port, source=src)
        self.addCleanup(second.close)
        self.assertEqual(second.reply()[0], 220)
        self.assertTrue(wait_for(lambda: re.search(
            r"(?m)^  connections +2 open$", self.show(c, src))), self.show(c, src))
        mark = c.log_mark()
        third = RawClient("127.0.0.1", c.port, source=src)
        self.addCleanup(third.close)
        self.assertEqual(third.line(), "421 4.7.0 mx.test.example Error: too many "
                         "connections from 127.0.0.20")
        self.assertTrue(third.closed())
        self.assertTrue(c.wait_log(
            r"NOQUEUE: reject: CONNECT from [^ ]*\[127\.0\.0\.20\]: 421 4\.7\.0 "
            r"mx\.test\.example Error: too many connections from 127\.0\.0\.20; "
            r"proto=SMTP rule=smtpd_client_connection_count_limit$", mark))
        # One ends on a: c accepts one again.
        self.assertEqual(first.cmd("QUIT")[0], 221)
        first.close()
        self.assertTrue(wait_for(lambda: re.search(
            r"(?m)^  connections +1 open$", self.show(c, src))), self.show(c, src))
        again = RawClient("127.0.0.1", c.port, source=src)
        self.addCleanup(again.close)
        self.assertEqual(again.reply()[0], 220)

    def test_auth_failures_add_up(self):
        a, b, c = self.insts
        src = "127.0.0.30"
        from test_auth import plain

        def guess(inst, times):
            cl = RawClient("127.0.0.1", inst.port, source=src)
            try:
                self.assertEqual(cl.reply()[0], 220)
                self.assertEqual(cl.ehlo()[0], 250)
                for _ in range(times):
                    code, lines = cl.cmd("AUTH PLAIN " + plain("alice", "guess"))
                    self.assertEqual((code, lines), (535, ["5.7.8 Error: authentication failed"]))
            finally:
                cl.close()

        guess(a, 2)
        guess(b, 1)
        self.assertRegex(self.show(c, src), r"(?m)^  auth_failure +3 in 10m,")
        cl = RawClient("127.0.0.1", c.port, source=src)
        self.addCleanup(cl.close)
        self.assertEqual(cl.reply()[0], 220)
        self.assertEqual(cl.ehlo()[0], 250)
        code, lines = cl.cmd("AUTH PLAIN " + plain("alice", "guess"))
        self.assertEqual(code, 421, lines)
        self.assertTrue(lines[0].endswith("Error: too many authentication failures"), lines)
        # Another address is not cut.
        other = RawClient("127.0.0.1", c.port, source="127.0.0.31")
        self.addCleanup(other.close)
        self.assertEqual(other.reply()[0], 220)
        other.ehlo()
        self.assertEqual(other.cmd("AUTH PLAIN " + plain("alice", "guess"))[0], 535)

    def test_tarpit_disconnects_counted_on_one_seen_on_another(self):
        # What the tarpit sends ratekeeper when a client leaves it early,
        # straight to the socket: counted through a, seen on b and c.
        a, b, c = self.insts
        for n in (1, 2):
            reply = ratekeeper_request(a, request="tarpit_disconnect",
                                       key="addr:192.0.2.9", window="600000")
            self.assertEqual(reply, {"status": "0", "count": str(n)})
        reply = ratekeeper_request(b, request="lookup", counter="tarpit_disconnect",
                                   key="addr:192.0.2.9")
        self.assertEqual(reply, {"status": "0", "count": "2"})
        self.assertRegex(self.show(c, "192.0.2.9"),
                         r"(?m)^  tarpit_disconnect +2 in 10m, all gone in ")
        # The next one, counted on c, is the third in the cluster.
        reply = ratekeeper_request(c, request="tarpit_disconnect",
                                   key="addr:192.0.2.9", window="600000")
        self.assertEqual(reply["count"], "3")

    def test_top_reset_and_status(self):
        a, b, c = self.insts
        for inst in (a, b, c):
            self.assertEqual(send_message(inst, "topper@spread.test"), "250 2.1.0 Ok")
        self.assertRegex(b.ctl("rate", "top", "80", check=True).stdout,
                         r"(?m)^ +3  mail +sender:topper@spread\.test$")
        self.assertIn("sender:topper@spread.test: 1 counter reset",
                      c.ctl("rate", "reset", "topper@spread.test", check=True).stdout)
        self.assertIn("no counts", self.show(a, "topper@spread.test"))
        self.assertTrue(c.wait_log(r"ratekeeper\[\d+\]: reset sender:topper@spread\.test: "
                                   r"1 counter removed$"))
        for inst in self.insts:
            out = inst.ctl("status", check=True).stdout
            self.assertRegex(out, r"(?m)^ratekeeper: backend redis 127\.0\.0\.1:%d, "
                             r"reachable for \S+, gateway mx-[0-9a-f]{16}, \d+ keys? here$"
                             % self.redis.port)
        gateways = {re.search(r"gateway (\S+),", i.ctl("status").stdout).group(1)
                    for i in self.insts}
        self.assertEqual(len(gateways), 3)

    def test_every_key_has_an_expiry(self):
        a, b, c = self.insts
        held = RawClient("127.0.0.1", a.port, source="127.0.0.50")
        self.addCleanup(held.close)
        self.assertEqual(held.reply()[0], 220)
        send_message(b, "expiry@spread.test", source="127.0.0.50")
        keys = self.redis.command("KEYS", "*")
        self.assertTrue(any(k.startswith("alligate:w:mail:") for k in keys), keys)
        self.assertTrue(any(k.startswith("alligate:c:") for k in keys), keys)
        self.assertTrue(any(k.startswith("alligate:g:") for k in keys), keys)
        for key in keys:
            ttl = self.redis.command("PTTL", key)
            # -2: gone meanwhile; never -1 (no expiry).
            self.assertTrue(ttl > 0 or ttl == -2, (key, ttl))


class Reload(unittest.TestCase):
    """alligatectl reload moves ratekeeper between the backends and to
    new Redis settings without a restart: the counts go where the new
    configuration says, and ratekeeper's pid stays."""

    def test_backend_and_settings_change_by_reload(self):
        redis = RedisServer().start()
        self.addCleanup(redis.cleanup)
        base = ("sender_rate_limit = 100\nsender_rate_window = 10m\n"
                "sender_rate_key = sender\nredis_servers = 127.0.0.1:%d\n"
                % redis.port)
        inst = Instance(base)
        self.addCleanup(inst.cleanup)
        inst.start()
        pid = inst.pids("ratekeeper")
        self.assertEqual(len(pid), 1)
        self.assertEqual(send_message(inst, "one@reload.test"), "250 2.1.0 Ok")
        self.assertEqual(redis.command("KEYS", "*"), [])

        # bdb -> redis.
        mark = inst.log_mark()
        inst.write_conf("ratekeeper_backend = redis\n")
        inst.ctl("reload", check=True)
        self.assertTrue(redis_ready(inst), inst.log()[-2000:])
        self.assertTrue(inst.wait_log(r"ratekeeper\[\d+\]: reloaded: backend redis "
                                      r"with the new settings, as gateway \S+$", mark))
        self.assertEqual(send_message(inst, "two@reload.test"), "250 2.1.0 Ok")
        self.assertIn("alligate:w:mail:sender:two@reload.test",
                      redis.command("KEYS", "alligate:w:*"))

        # A new key prefix: a new connection, the new names.
        inst.write_conf("redis_key_prefix = site2:\n")
        inst.ctl("reload", check=True)
        self.assertTrue(wait_for(lambda: redis.command("KEYS", "site2:g:*")),
                        inst.log()[-2000:])
        self.assertEqual(send_message(inst, "three@reload.test"), "250 2.1.0 Ok")
        self.assertIn("site2:w:mail:sender:three@reload.test",
                      redis.command("KEYS", "site2:w:*"))

        # A reload that changes nothing of Redis keeps the connection.
        # Every client but the one asking (the test's own, new each time).
        ids = lambda text: sorted(re.findall(r"(?m)^id=(\d+) (?!.*cmd=client)", text))
        clients = redis.command("CLIENT", "LIST")
        self.assertTrue(ids(clients), clients)
        inst.write_conf("smtpd_timeout = 301s\n")
        inst.ctl("reload", check=True)
        self.assertEqual(send_message(inst, "four@reload.test"), "250 2.1.0 Ok")
        self.assertEqual(ids(redis.command("CLIENT", "LIST")), ids(clients))

        # redis -> bdb.
        mark = inst.log_mark()
        inst.write_conf("ratekeeper_backend = bdb\n")
        inst.ctl("reload", check=True)
        self.assertTrue(inst.wait_log(r"ratekeeper\[\d+\]: reloaded: backend bdb, "
                                      r"Redis no longer used$", mark))
        self.assertTrue(wait_for(lambda: re.search(r"(?m)^ratekeeper: backend bdb",
                                                   inst.ctl("status").stdout)),
                        inst.ctl("status").stdout)
        self.assertEqual(send_message(inst, "five@reload.test"), "250 2.1.0 Ok")
        self.assertNotIn("site2:w:mail:sender:five@reload.test",
                         redis.command("KEYS", "site2:w:*"))
        self.assertEqual(inst.pids("ratekeeper"), pid)


class Check(unittest.TestCase):
    """alligatectl check refuses bad values of the cluster's parameters
    with main.cf:LINE."""

    def test_bad_values_refused_with_their_line(self):
        inst = Instance("ratekeeper_backend = redis\n"
                        "redis_servers = 127.0.0.1:99999, unix:relative.sock\n"
                        "redis_timeout = 0\n"
                        "redis_sentinels = [::1\n"
                        "ratekeeper_backend = etcd\n")
        self.addCleanup(inst.cleanup)
        out = inst.ctl("check")
        self.assertNotEqual(out.returncode, 0)
        lines = open(inst.conf_path).read().splitlines()
        line = {name: n + 1 for n, text in enumerate(lines)
                for name in ("redis_servers", "redis_timeout", "redis_sentinels")
                if text.startswith(name + " =")}
        self.assertRegex(out.stderr, r"main\.cf:%d: redis_servers: bad server "
                         r"\"127\.0\.0\.1:99999\": bad port" % line["redis_servers"])
        self.assertRegex(out.stderr, r"main\.cf:%d: redis_servers: bad server "
                         r"\"unix:relative\.sock\": unix: needs an absolute path"
                         % line["redis_servers"])
        self.assertRegex(out.stderr, r"main\.cf:%d: redis_timeout: value \"0\" out of range"
                         % line["redis_timeout"])
        self.assertRegex(out.stderr, r"main\.cf:%d: redis_sentinels: " % line["redis_sentinels"])
        self.assertRegex(out.stderr, r"main\.cf:\d+: ratekeeper_backend: bad value \"etcd\"")


if __name__ == "__main__":
    unittest.main()
