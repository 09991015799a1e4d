"""The first thing a new user does: start, send one message, stop."""

from alligate_test import AlligateTestCase


class Smoke(AlligateTestCase):
    def test_one_message_is_queued(self):
        s = self.inst.smtp()
        s.ehlo("client.test.example")
        s.mail("sender@remote.test")
        code, _ = s.rcpt("someone@example.com")
        self.assertEqual(code, 250)
        code, text = s.data(b"Subject: hello\r\n\r\nHello.\r\n")
        self.assertEqual(code, 250)
        self.assertRegex(text.decode(), r"^2\.0\.0 Ok: queued as [0-9A-F]{19}$")
        qid = text.decode().split()[-1]
        s.quit()
        self.assertEqual(self.inst.queue_files(), [qid])
        qf = self.inst.queue_entry(qid)
        self.assertEqual(qf.get("S"), "sender@remote.test")
        self.assertEqual(qf.recipients, ["someone@example.com"])
        self.assertTrue(qf.message.endswith(b"Subject: hello\r\n\r\nHello.\r\n"))
        self.assertIn("%s: from=<sender@remote.test>, size=" % qid, self.inst.log())
