"""The tarpit and who it spares (issue 14), against the real service:
authenticated sessions over the rate limit are not tarpitted with
rate_limit_exclude_authenticated = yes and are with no; a client over
a limit may still authenticate on the AUTH ONLY port (submission) with
yes, and is tarpitted there with no, while the smtps port, port 25
under implicit TLS, refuses its EHLO either way; TLS sessions (after
STARTTLS, on the smtps port) cannot be handed over and get the refusal
at once; a client on the blocklists with dnsbl_action = tarpit is
greeted, then its EHLO is tarpitted.  Port 25 alone is in
test_tarpit.py."""

import time

from alligate_test import free_port, tls_client_context
from tarpit_util import AT_ONCE, OK_MAIL, TarpitMixin, ratekeeper_ready
from test_auth import (AUTH_OK, BASE as AUTH_BASE, PLAINTEXT, READY, TLS_CONF,
                       AuthTestCase, plain)
from test_smtpd_dns import SmtpdDnsTest

# relay_networks elsewhere: mail to elsewhere.test is then a relay
# attempt, the invalid recipient that breaks max_invalid_recipients.
TARPIT = ("relay_networks = 192.0.2.0/24\n"
          "tarpit = yes\n"
          "tarpit_delay = 3s\n"
          "sender_rate_limit = 2\n"
          "sender_rate_window = 10m\n"
          "max_invalid_recipients = 1\n")
SUBMISSION_PORT = free_port()
SUBMISSION_PORT2 = free_port()
SMTPS_PORT = free_port()
SMTPS_PORT2 = free_port()


class TarpitAuthCase(TarpitMixin, AuthTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        assert ratekeeper_ready(cls.inst)

    def login(self, c):
        self.assertEqual(c.cmd("AUTH PLAIN " + plain()), AUTH_OK)


class AuthExcluded(TarpitAuthCase):
    """rate_limit_exclude_authenticated = yes (the default); AUTH in
    plaintext, so that the tarpit could take these sessions."""

    tls = True
    conf = AUTH_BASE + PLAINTEXT + TLS_CONF + TARPIT + (
        "submission_listen = 127.0.0.1:%d\n"
        "submission_tls_security_level = none\n"
        "smtps_listen = 127.0.0.1:%d\n" % (SUBMISSION_PORT, SMTPS_PORT2))

    def test_authenticated_session_not_tarpitted(self):
        c = self.client("127.0.0.21")
        self.assertEqual(c.ehlo()[0], 250)
        self.login(c)
        for _ in range(4):
            reply, elapsed = self.timed(c, "MAIL FROM:<alice@example.com>")
            self.assertEqual(reply, OK_MAIL)
            self.assertLess(elapsed, AT_ONCE)
            self.assertEqual(c.cmd("RSET")[0], 250)
        self.assertNotIn("tarpit:", self.inst.log_since(self.mark))

    def test_over_limit_client_may_still_authenticate_on_submission(self):
        self.hand_over_rcpt("127.0.0.22").close()
        # Port 25: tarpitted at EHLO, authenticated or not later.
        c = self.client("127.0.0.22")
        self.assertTarpitted(c, "EHLO client.test.example")
        # The AUTH ONLY port lets it authenticate and send.
        c = self.client("127.0.0.22", SUBMISSION_PORT)
        reply, elapsed = self.timed(c, "EHLO client.test.example")
        self.assertEqual(reply[0], 250)
        self.assertLess(elapsed, AT_ONCE)
        self.login(c)
        self.send_message(c, "alice@example.com", "someone@elsewhere.example")

    def test_over_limit_client_refused_on_smtps(self):
        # smtps is port 25 under implicit TLS, not an AUTH ONLY port: the
        # EHLO of a client over a limit is the tarpit's, which cannot
        # speak TLS, so it is refused at once.
        self.hand_over_rcpt("127.0.0.24").close()
        c = self.client("127.0.0.24", SMTPS_PORT2, tls=tls_client_context())
        self.assertRefusedAtOnce(c, "EHLO client.test.example")
        self.assertLogged(r"NOQUEUE: reject: EHLO from unknown\[127\.0\.0\.24\]: "
                          r"550 5\.7\.1 Refused; proto=SMTP "
                          r"helo=<client\.test\.example> "
                          r"rule=overlimit overlimit=1 tarpit=tls$")
        # Another client is served there.
        c = self.client("127.0.0.25", SMTPS_PORT2, tls=tls_client_context())
        self.assertEqual(c.ehlo()[0], 250)


class AuthCounted(TarpitAuthCase):
    """rate_limit_exclude_authenticated = no: authenticated sessions are
    tarpitted like any other, on every port; under TLS they cannot be,
    and get the refusal at once."""

    tls = True
    conf = AUTH_BASE + PLAINTEXT + TLS_CONF + TARPIT + (
        "rate_limit_exclude_authenticated = no\n"
        "submission_listen = 127.0.0.1:%d\n"
        "submission_tls_security_level = none\n"
        "smtps_listen = 127.0.0.1:%d\n" % (SUBMISSION_PORT2, SMTPS_PORT))

    def test_authenticated_breaker_tarpitted(self):
        c = self.client("127.0.0.31")
        self.assertEqual(c.ehlo()[0], 250)
        self.login(c)
        self.send_message(c, "alice@example.com")
        self.send_message(c, "alice@example.com")
        self.assertTarpitted(c, "MAIL FROM:<alice@example.com>")
        self.assertLogged(r"NOQUEUE: tarpit: MAIL from unknown\[127\.0\.0\.31\]: "
                          r"550 5\.7\.1 Refused; from=<alice@example\.com> "
                          r"proto=ESMTP helo=<client\.test\.example> "
                          r"rule=sender_rate_limit$")
        # Over the limit now: the AUTH ONLY port tarpits its EHLO too.
        c = self.client("127.0.0.31", SUBMISSION_PORT2)
        self.assertTarpitted(c, "EHLO client.test.example")
        self.assertLogged(r"NOQUEUE: tarpit: EHLO from unknown\[127\.0\.0\.31\]: "
                          r"550 5\.7\.1 Refused; proto=SMTP "
                          r"helo=<client\.test\.example> rule=overlimit overlimit=1$")

    def test_tls_sessions_refused_at_once(self):
        c = self.client("127.0.0.33")
        self.assertEqual(c.ehlo()[0], 250)
        self.assertEqual(c.cmd("STARTTLS"), READY)
        c.starttls()
        self.assertEqual(c.ehlo()[0], 250)
        self.login(c)
        self.send_message(c, "alice@example.com")
        self.send_message(c, "alice@example.com")
        self.assertRefusedAtOnce(c, "MAIL FROM:<alice@example.com>")
        self.assertLogged(r"NOQUEUE: reject: MAIL from unknown\[127\.0\.0\.33\]: "
                          r"550 5\.7\.1 Refused; from=<alice@example\.com> "
                          r"proto=ESMTP helo=<client\.test\.example> "
                          r"rule=sender_rate_limit tarpit=tls$")
        # smtps: TLS from the first byte, so its EHLO is refused at once.
        c = self.client("127.0.0.33", SMTPS_PORT, tls=tls_client_context())
        self.assertRefusedAtOnce(c, "EHLO client.test.example")
        self.assertLogged(r"NOQUEUE: reject: EHLO from unknown\[127\.0\.0\.33\]: "
                          r"550 5\.7\.1 Refused; proto=SMTP "
                          r"helo=<client\.test\.example> "
                          r"rule=overlimit overlimit=1 tarpit=tls$")
        # STARTTLS before EHLO changes nothing.
        c = self.client("127.0.0.33")
        self.assertEqual(c.cmd("STARTTLS"), READY)
        c.starttls()
        self.assertRefusedAtOnce(c, "EHLO client.test.example")
        # Plaintext, the same client is tarpitted.
        c = self.client("127.0.0.33")
        self.assertTarpitted(c, "EHLO client.test.example")
        self.assertNotIn("warning: tarpit", self.inst.log_since(self.mark))


class BlocklistTarpit(TarpitMixin, SmtpdDnsTest):
    """dnsbl_action = tarpit: 127.0.0.4 is on two blocklists (see
    test_smtpd_dns.py), 127.0.0.3 on none."""

    extra = ("dnsbl_sites = bl1.bl.test*2, bl2.bl.test*3\n"
             "dnsbl_threshold = 4\n"
             "dnsbl_action = tarpit\n"
             "tarpit_delay = 3s\n")

    def setUp(self):
        super().setUp()
        self.mark = 0

    def test_listed_client_greeted_then_tarpitted(self):
        c = self.client("127.0.0.4")
        self.assertTarpitted(c, "EHLO x.test.example")
        m = self.assertLogged(r"NOQUEUE: tarpit: EHLO from unknown\[127\.0\.0\.4\]: "
                              r"550 5\.7\.1 Refused; proto=SMTP "
                              r"helo=<x\.test\.example> rule=dnsbl score=5 sites=(\S+)$")
        self.assertEqual(sorted(m.group(1).split(",")), ["bl1.bl.test", "bl2.bl.test"])
        # An unlisted client is served at once.
        c = self.client("127.0.0.3")
        start = time.monotonic()
        self.assertEqual(c.cmd("EHLO x.test.example")[0], 250)
        self.assertLess(time.monotonic() - start, AT_ONCE)
