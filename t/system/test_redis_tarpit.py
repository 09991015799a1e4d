"""The tarpit in a cluster (issues 14 and 18): three Alligate instances
with ratekeeper_backend = redis share one real redis-server (started
here, on a free loopback port, without persistence).  A client that
breaks sender_rate_limit on the first is tarpitted there and leaves
early; its next connection, to the second, is tarpitted at EHLO (the
second learnt at connect, from Redis, that it is over the limit) and
leaves early too; its next connection, to the third, which has never
seen it, gets 550 instead of the greeting, at once.  alligatectl rate
show on the third tells why.

With the counts kept per gateway (ratekeeper_backend = bdb) the second
would answer the EHLO with 250, the third would greet with 220, and its
rate show would have no counts: every step below depends on the cluster."""

import re
import time
import unittest

from alligate_test import Instance, RawClient, wait_for
from redis_server import RedisServer
from tarpit_util import AT_ONCE, TarpitMixin
from test_redis import cluster_conf, redis_ready

SOURCE = "127.0.0.5"
ADDR = re.escape(SOURCE)

# The loopback client is in the default relay_networks, which the tarpit
# holds like anyone.  The client leaves the tarpit about a second after it is held:
# tarpit_delay leaves room for a loaded machine.  redis_timeout (and
# ratekeeper_timeout above it) is long for the same reason: this test is
# about what the cluster shares, and an answer from the local store
# after a late Redis reply would be per gateway.
CONF = ("tarpit = yes\n"
        "tarpit_delay = 10s\n"
        "sender_rate_limit = 2\n"
        "sender_rate_window = 10m\n"
        "tarpit_disconnect_limit = 2\n"
        "tarpit_disconnect_window = 10m\n"
        "redis_timeout = 1s\n"
        "ratekeeper_timeout = 2s\n")


class RunawayAcrossGateways(TarpitMixin, unittest.TestCase):

    DELAY = 10

    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.cleanup)
        self.insts = []
        for _ in range(3):
            inst = Instance(cluster_conf(self.redis, CONF))
            self.addCleanup(inst.cleanup)
            self.insts.append(inst)
        for inst in self.insts:
            inst.start()
        for inst in self.insts:
            self.assertTrue(redis_ready(inst), inst.log()[-2000:])
        self.marks = [inst.log_mark() for inst in self.insts]

    def logged(self, n, regex):
        inst = self.insts[n]
        m = inst.wait_log(regex, self.marks[n], timeout=10)
        self.assertTrue(m, "no %r in:\n%s" % (
            regex, inst.log_since(self.marks[n])[-3000:]))

    def show(self, inst):
        return inst.ctl("rate", "show", SOURCE, check=True).stdout

    def wait_show(self, inst, regex):
        ok = wait_for(lambda: re.search(regex, self.show(inst)), timeout=10)
        self.assertTrue(ok, self.show(inst))

    def test_runaway_on_one_refused_at_connect_on_another(self):
        a, b, c = self.insts

        # a: two messages, and the third MAIL breaks sender_rate_limit:
        # held, and the client leaves before tarpit_delay.
        cl = self.client(SOURCE, a.port)
        self.assertEqual(cl.ehlo()[0], 250)
        self.send_message(cl)
        self.send_message(cl)
        self.assertHeld(cl, "MAIL FROM:<bulk@remote.test>")
        self.logged(0, r"NOQUEUE: tarpit: MAIL from \S+\[%s\]: 550 5\.7\.1 Refused; "
                       r"from=<bulk@remote\.test> proto=ESMTP "
                       r"helo=<client\.test\.example> rule=sender_rate_limit$" % ADDR)
        cl.close()
        self.logged(0, r"tarpit: \S+\[%s\] disconnected after [0-9.]+s "
                       r"\(tarpit disconnect 1 of 2 in 10m\)$" % ADDR)
        # c, which has not seen the client, knows it from Redis.
        self.wait_show(c, r"(?m)^  tarpit disconnects: 1 in 10m \(limit 2\)$")
        self.assertRegex(self.show(c), r"(?m)^  tarpitted now: yes \(overlimit 1, "
                                       r"mail 3 > sender_rate_limit 2\)$")

        # b: greeted at once; its EHLO is held, for being over the limit
        # on a (the connect reply's overlimit is the cluster's).
        cl = self.client(SOURCE, b.port)
        self.assertHeld(cl, "EHLO client.test.example")
        self.logged(1, r"NOQUEUE: tarpit: EHLO from \S+\[%s\]: 550 5\.7\.1 Refused; "
                       r"proto=SMTP helo=<client\.test\.example> "
                       r"rule=overlimit overlimit=1$" % ADDR)
        cl.close()
        # The second in the cluster, the first on b.
        self.logged(1, r"tarpit: \S+\[%s\] disconnected after [0-9.]+s "
                       r"\(tarpit disconnect 2 of 2 in 10m\)$" % ADDR)

        # c: what it shows, from Redis.
        self.wait_show(c, r"(?m)^  tarpit disconnects: 2 in 10m "
                          r"\(limit 2: refused at connect\)$")
        show = self.show(c)
        self.assertRegex(show, r"(?m)^  tarpitted now: yes \(overlimit 1, "
                               r"mail 3 > sender_rate_limit 2\)$")
        self.assertRegex(show, r"(?m)^  tarpit_disconnect +2 in 10m, all gone in ")
        self.assertRegex(show, r"(?m)^  overlimit +1 in 10m, all gone in ")

        # c: 550 instead of the greeting, at once, and closed; nothing
        # else came, no 220 before it.
        start = time.monotonic()
        cl = RawClient("127.0.0.1", c.port, source=SOURCE)
        self.addCleanup(cl.close)
        first = cl.reply()
        elapsed = time.monotonic() - start
        self.assertEqual(first, (550, ["5.7.1 Refused"]))
        self.assertLess(elapsed, AT_ONCE)
        self.assertEqual(cl.replies_until_close(timeout=2), ([], True))
        self.logged(2, r"NOQUEUE: reject: CONNECT from \S+\[%s\]: 550 5\.7\.1 Refused; "
                       r"proto=SMTP rule=tarpit_disconnect_limit "
                       r"tarpit_disconnects=2$" % ADDR)
        # Refused by c's smtpd at connect: no command read, no hand-off.
        self.assertNotRegex(c.log_since(self.marks[2]),
                            r"(tarpit: hold |NOQUEUE: tarpit: \S+ from )\S+\[%s\]" % ADDR)

        # Another address is greeted by c and served.
        other = self.client("127.0.0.6", c.port)
        self.assertEqual(other.ehlo()[0], 250)
        self.send_message(other)


if __name__ == "__main__":
    unittest.main()
