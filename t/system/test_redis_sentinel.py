"""ratekeeper_backend = redis with Redis Sentinel (redis_sentinels,
redis_sentinel_master): a master, its replica and one Sentinel, all real
(redis-server, and redis-server --sentinel), started here on free
loopback ports; ratekeeper asks the Sentinel for the master, counts
there, and after a failover (SENTINEL FAILOVER) follows the new master,
where the counts go on."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

from alligate_test import Instance, free_port, wait_for
from redis_server import RedisServer
from test_redis import send_message


class Sentinel:
    def __init__(self, master_port):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="alligate-sentinel-")
        self.conf = os.path.join(self.dir, "sentinel.conf")
        with open(self.conf, "w") as f:
            f.write("port %d\nbind 127.0.0.1\ndir %s\n"
                    "sentinel monitor mymaster 127.0.0.1 %d 1\n"
                    "sentinel down-after-milliseconds mymaster 1000\n"
                    "sentinel failover-timeout mymaster 5000\n"
                    % (self.port, self.dir, master_port))
        self.proc = subprocess.Popen(
            ["redis-server", self.conf, "--sentinel", "--logfile",
             os.path.join(self.dir, "sentinel.log")], stdin=subprocess.DEVNULL)
        self.client = RedisServer(self.port)

    def master(self):
        try:
            return self.client.command("SENTINEL", "get-master-addr-by-name", "mymaster")
        except (OSError, RuntimeError):
            return None

    def cleanup(self):
        self.proc.kill()
        self.proc.wait()
        self.client.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)


class FollowsAFailover(unittest.TestCase):
    def setUp(self):
        self.master = RedisServer().start()
        self.addCleanup(self.master.cleanup)
        self.replica = RedisServer(extra=["--replicaof", "127.0.0.1",
                                          str(self.master.port)]).start()
        self.addCleanup(self.replica.cleanup)
        self.sentinel = Sentinel(self.master.port)
        self.addCleanup(self.sentinel.cleanup)
        self.assertTrue(wait_for(lambda: self.sentinel.master() ==
                                 ["127.0.0.1", str(self.master.port)], timeout=10))
        # The Sentinel must know the replica before it can promote it.
        self.assertTrue(wait_for(lambda: self.sentinel.client.command(
            "SENTINEL", "replicas", "mymaster"), timeout=15))
        self.inst = Instance("ratekeeper_backend = redis\n"
                             "redis_sentinels = 127.0.0.1:%d\n"
                             "redis_sentinel_master = mymaster\n"
                             "redis_heartbeat_time = 1500ms\n"
                             "sender_rate_limit = 100\n"
                             "sender_rate_window = 10m\n"
                             "sender_rate_key = sender\n" % self.sentinel.port)
        self.addCleanup(self.inst.cleanup)
        self.inst.start()

    def on(self, port):
        return re.search(r"(?m)^ratekeeper: backend redis 127\.0\.0\.1:%d, reachable" % port,
                         self.inst.ctl("status").stdout)

    def test_counts_move_to_the_new_master(self):
        self.assertTrue(wait_for(lambda: self.on(self.master.port), timeout=10),
                        self.inst.ctl("status").stdout)
        self.assertEqual(send_message(self.inst, "follow@sentinel.test"), "250 2.1.0 Ok")
        self.assertTrue(self.master.command("EXISTS", "alligate:w:mail:sender:follow@sentinel.test"))
        self.assertTrue(wait_for(lambda: self.replica.command(
            "EXISTS", "alligate:w:mail:sender:follow@sentinel.test"), timeout=5))

        mark = self.inst.log_mark()
        self.assertEqual(self.sentinel.client.command("SENTINEL", "FAILOVER", "mymaster"), "OK")
        self.assertTrue(wait_for(lambda: self.on(self.replica.port), timeout=20),
                        self.inst.log_since(mark)[-3000:])
        self.assertTrue(self.inst.wait_log(
            r"ratekeeper\[\d+\]: Redis: Sentinel 127\.0\.0\.1:%d says master mymaster "
            r"is now 127\.0\.0\.1:%d" % (self.sentinel.port, self.replica.port), mark)
            or self.inst.wait_log(r"Redis 127\.0\.0\.1:%d: (READONLY|not a master)"
                                  % self.master.port, mark))
        self.assertEqual(send_message(self.inst, "follow@sentinel.test"), "250 2.1.0 Ok")
        self.assertRegex(self.inst.ctl("rate", "show", "follow@sentinel.test").stdout,
                         r"(?m)^  mail +2 in 10m,")
        self.assertEqual(self.replica.command("ROLE")[0], "master")


if __name__ == "__main__":
    unittest.main()
