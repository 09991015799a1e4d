"""ratekeeper_backend = redis when things fail, with a real redis-server
started here: a gateway SIGKILLed (master and its children, the whole
process group) loses its connection registrations within
redis_heartbeat_time without anyone releasing them; Redis stopped: mail
flows, the limits hold per gateway, and the log says so once; Redis
back: the limits are shared again; Redis that stops answering (SIGSTOP):
no session waits for it longer than redis_timeout.  Each test has its own
Redis and two instances."""

import os
import re
import signal
import time
import unittest

from alligate_test import Instance, RawClient, wait_for
from redis_server import RedisServer
from test_redis import REFUSED, cluster_conf, redis_ready, send_message

HEARTBEAT_S = 2


class TwoGateways(unittest.TestCase):
    extra = ""

    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.cleanup)
        conf = cluster_conf(self.redis, self.extra).replace(
            "redis_heartbeat_time = 3s", "redis_heartbeat_time = %ds" % HEARTBEAT_S)
        self.a = Instance(conf)
        self.b = Instance(conf)
        for inst in (self.a, self.b):
            self.addCleanup(inst.cleanup)
            inst.start()
        for inst in (self.a, self.b):
            self.assertTrue(redis_ready(inst), inst.log()[-2000:])

    def show(self, inst, key):
        return inst.ctl("rate", "show", key, check=True).stdout


class GatewayKilled(TwoGateways):
    extra = ("smtpd_client_connection_count_limit = 2\n"
             "smtpd_client_event_limit_exceptions =\n")

    def test_registrations_vanish_within_the_heartbeat_time(self):
        src = "127.0.0.40"
        held = []
        for _ in range(2):
            c = RawClient("127.0.0.1", self.a.port, source=src)
            self.addCleanup(c.close)
            self.assertEqual(c.reply()[0], 220)
            held.append(c)
        self.assertTrue(wait_for(lambda: re.search(
            r"(?m)^  connections +2 open$", self.show(self.b, src))))
        refused = RawClient("127.0.0.1", self.b.port, source=src)
        self.assertTrue(refused.line().startswith("421 4.7.0 "))
        refused.close()

        # Master and every child at once: nobody says goodbye.
        pid = self.a.master_pid()
        self.assertTrue(pid)
        os.killpg(os.getpgid(pid), signal.SIGKILL)
        killed = time.time()
        self.assertTrue(wait_for(lambda: not self.a.pids("ratekeeper"), timeout=5))
        gone = wait_for(lambda: "no counts" in self.show(self.b, src),
                        timeout=HEARTBEAT_S + 3, interval=0.1)
        self.assertTrue(gone, self.show(self.b, src))
        # Within the heartbeat time (and the time to notice it).
        self.assertLess(time.time() - killed, HEARTBEAT_S + 1.0)
        # b takes the client's sessions again, up to the limit.
        for _ in range(2):
            c = RawClient("127.0.0.1", self.b.port, source=src)
            self.addCleanup(c.close)
            self.assertEqual(c.reply()[0], 220)
        self.assertTrue(wait_for(lambda: re.search(
            r"(?m)^  connections +2 open$", self.show(self.b, src))))

    def test_a_restarted_gateway_releases_what_it_held_before(self):
        src = "127.0.0.41"
        c = RawClient("127.0.0.1", self.a.port, source=src)
        self.addCleanup(c.close)
        self.assertEqual(c.reply()[0], 220)
        self.assertTrue(wait_for(lambda: re.search(
            r"(?m)^  connections +1 open$", self.show(self.b, src))))
        # ratekeeper alone killed: master starts a new one, whose first
        # sync replaces what the old one registered (its smtpd sockets
        # are new too, and register their sessions anew).
        old = self.a.pids("ratekeeper")
        mark = self.a.log_mark()
        os.kill(old[0], signal.SIGKILL)
        self.assertTrue(self.a.wait_log(
            r"ratekeeper\[\d+\]: Redis 127\.0\.0\.1:\d+: the registrations of the "
            r"earlier start of gateway mx-[0-9a-f]+ are released", mark, timeout=10),
            self.a.log_since(mark))
        self.assertTrue(wait_for(lambda: "no counts" in self.show(self.b, src),
                                 timeout=HEARTBEAT_S + 2))


class RedisAway(TwoGateways):
    extra = ("sender_rate_limit = 2\n"
             "sender_rate_window = 10m\n"
             "sender_rate_key = sender\n")

    def warnings(self, inst, mark):
        return re.findall(r"ratekeeper\[\d+\]: warning: Redis 127\.0\.0\.1:%d: .*"
                          r"answering from the local store \(limits per gateway\)"
                          % self.redis.port, inst.log_since(mark))

    def test_down_then_back(self):
        marks = [self.a.log_mark(), self.b.log_mark()]
        self.redis.stop()
        for inst, mark in zip((self.a, self.b), marks):
            self.assertTrue(inst.wait_log(r"warning: Redis 127\.0\.0\.1:\d+: ", mark))
        self.assertRegex(self.a.ctl("status").stdout,
                         r"(?m)^ratekeeper: backend redis 127\.0\.0\.1:\d+, unreachable for ")
        # Mail flows, and each gateway holds the limit by itself.
        for inst in (self.a, self.b):
            for n in range(2):
                self.assertEqual(send_message(inst, "alone@down.test"), "250 2.1.0 Ok",
                                 "message %d" % (n + 1))
            self.assertEqual(send_message(inst, "alone@down.test"), REFUSED)
        # Retried every second, said once.
        time.sleep(3)
        for inst, mark in zip((self.a, self.b), marks):
            self.assertEqual(len(self.warnings(inst, mark)), 1, inst.log_since(mark))

        # Back (empty: no persistence): shared again.
        self.redis.start()
        for inst, mark in zip((self.a, self.b), marks):
            self.assertTrue(inst.wait_log(
                r"ratekeeper\[\d+\]: Redis 127\.0\.0\.1:\d+: answering; limits are "
                r"shared by the cluster again$", mark, timeout=10), inst.log_since(mark))
            self.assertTrue(redis_ready(inst))
        self.assertEqual(send_message(self.a, "shared@back.test"), "250 2.1.0 Ok")
        self.assertEqual(send_message(self.b, "shared@back.test"), "250 2.1.0 Ok")
        self.assertEqual(send_message(self.a, "shared@back.test"), REFUSED)
        self.assertRegex(self.show(self.b, "shared@back.test"), r"(?m)^  mail +3 in 10m,")

    def test_mail_never_waits_for_a_redis_that_does_not_answer(self):
        mark = self.a.log_mark()
        self.redis.pause(True)
        self.addCleanup(lambda: self.redis.pause(False))
        took = []
        for _ in range(2):
            t0 = time.time()
            self.assertEqual(send_message(self.a, "patient@stopped.test"), "250 2.1.0 Ok")
            took.append(time.time() - t0)
        self.assertTrue(self.a.wait_log(
            r"warning: Redis 127\.0\.0\.1:\d+: no answer within 50 ms; answering from "
            r"the local store \(limits per gateway\)", mark))
        # A whole session in well under smtpd's ratekeeper_timeout each,
        # though Redis never answered.
        self.assertLess(max(took), 1.5, took)
        # The local store holds the limit meanwhile.
        self.assertEqual(send_message(self.a, "patient@stopped.test"), REFUSED)
        self.redis.pause(False)
        self.assertTrue(self.a.wait_log(
            r"ratekeeper\[\d+\]: Redis 127\.0\.0\.1:\d+: answering( in time again)?; "
            r"limits are shared by the cluster again$", mark, timeout=10),
            self.a.log_since(mark))
        self.assertTrue(redis_ready(self.a))


if __name__ == "__main__":
    unittest.main()
