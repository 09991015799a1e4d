"""alligatectl check, config and the command line itself: each kind of
configuration error is reported as PATH/main.cf:LINE with a non-zero exit,
config prints what postconf would, usage errors are usage errors."""

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import unittest

from alligate_test import CTL, TOP, Instance, wait_for


class CtlTestCase(unittest.TestCase):
    """An instance that is never started: only its main.cf matters."""

    def setUp(self):
        self.inst = Instance()
        self.dir = os.path.realpath(self.inst.dir)
        self.path = os.path.join(self.dir, "main.cf")
        with open(self.path) as f:
            self.base = f.read()

    def tearDown(self):
        self.inst.cleanup()

    def write(self, text, base=True):
        """main.cf = the harness's lines (when base) + text; returns the
        number of the first line of text."""
        head = self.base if base else ""
        with open(self.path, "wb") as f:
            f.write(head.encode() + (text.encode() if isinstance(text, str) else text))
        return head.count("\n") + 1

    def ctl(self, *args):
        r = self.inst.ctl(*args)
        return r.returncode, r.stdout, r.stderr

    def run_ctl(self, *args):
        """alligatectl ARGS, without -c."""
        p = subprocess.run([CTL] + list(args), capture_output=True, text=True,
                           timeout=30, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr


class Check(CtlTestCase):
    def assert_error(self, text, message, files=None):
        """check on main.cf + text prints exactly PATH:LINE: message."""
        for name, content in (files or {}).items():
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(content)
        line = self.write(text)
        self.assertEqual(self.ctl("check"),
                         (1, "", "%s:%d: %s\n" % (self.path, line, message)))

    def test_good_configuration_is_silent(self):
        self.write("smtpd_banner = $myhostname ready\nsmtpd_timeout = 2m\n"
                   "local_domains = a.example,\n    b.example\n")
        self.assertEqual(self.ctl("check"), (0, "", ""))

    def test_unknown_parameter_suggests_the_nearest(self):
        self.assert_error("smtpd_banenr = hello\n",
                          'unknown parameter "smtpd_banenr"; did you mean "smtpd_banner"?')

    def test_unknown_parameter_without_a_near_name(self):
        self.assert_error("frobnication_level = 3\n",
                          'unknown parameter "frobnication_level"')

    def test_bad_number(self):
        self.assert_error("smtpd_max_processes = 12x\n",
                          'smtpd_max_processes: bad number "12x"')

    def test_bad_time_unit(self):
        self.assert_error("smtpd_timeout = 10y\n",
                          'smtpd_timeout: bad time unit in "10y" (use ms, s, m, h, d or w)')

    def test_bad_size_unit(self):
        self.assert_error("message_size_limit = 10q\n",
                          'message_size_limit: bad size unit in "10q" (use k, m or g)')

    def test_out_of_range(self):
        self.assert_error("smtpd_max_processes = 0\n",
                          'smtpd_max_processes: value "0" out of range (1..10000)')

    def test_time_out_of_range(self):
        self.assert_error("smtpd_timeout = 100ms\n",
                          'smtpd_timeout: value "100ms" out of range (1s..1h)')

    def test_bad_boolean(self):
        self.assert_error("archive = maybe\n",
                          'archive: bad boolean "maybe" (use yes or no)')

    def test_bad_enum(self):
        self.assert_error("relay_tls = sometimes\n",
                          'relay_tls: bad value "sometimes" (use one of: none|may|encrypt)')

    def test_bad_cidr(self):
        self.assert_error("relay_networks = 127.0.0.0/8, 10.0.0.300/8\n",
                          'relay_networks: bad address or CIDR block "10.0.0.300/8"')

    def test_bad_prefix_length(self):
        self.assert_error("relay_networks = 10.0.0.0/33\n",
                          'relay_networks: bad prefix length in "10.0.0.0/33"')

    def test_bad_listen_address(self):
        self.assert_error("smtp_listen = 1.2.3:25\n",
                          'smtp_listen: host is not a numeric address in "1.2.3:25"')

    def test_bad_port(self):
        self.assert_error("relay_host = [192.0.2.1]:99999\n",
                          'relay_host: bad port in "[192.0.2.1]:99999"')

    def test_bad_host_name_is_reported_once(self):
        # smtpd_banner and others expand $myhostname: one mistake, one line.
        self.assert_error("myhostname = bad..name\n",
                          'myhostname: bad host name "bad..name": empty label')

    def test_host_name_with_an_underscore(self):
        # Not a host name by RFC 1123, whatever DNS would store.
        self.assert_error("myhostname = bad_host\n",
                          "myhostname: bad host name \"bad_host\": character '_' not "
                          "allowed (letters, digits, '-' and '.')")

    def test_missing_list_file(self):
        self.assert_error("killlist = missing.txt\n",
                          "killlist: %s/missing.txt: No such file or directory" % self.dir)

    def test_unreadable_list_file_is_a_directory(self):
        os.mkdir(os.path.join(self.dir, "lists"))
        r = self.write("whitelist = lists\n")
        rc, out, err = self.ctl("check")
        self.assertEqual((rc, out), (1, ""))
        self.assertRegex(err, r"^%s:%d: whitelist: %s/lists: .+\n$" % (
            self.path, r, self.dir))

    def test_bad_entry_in_list_file(self):
        self.assert_error("killlist = kill.txt\n",
                          'killlist: %s/kill.txt:3: bad address or CIDR block "bogus"' % self.dir,
                          files={"kill.txt": "192.0.2.1\n# a comment\nbogus\n10.0.0.0/8\n"})

    def test_bad_entry_in_recipient_file(self):
        self.assert_error("local_recipients = rcpt.txt\n",
                          'local_recipients: %s/rcpt.txt:3: bad address "not an address"' % self.dir,
                          files={"rcpt.txt": "a@example.com\n@example.net\nnot an address\n"})

    def test_good_list_files_pass(self):
        for name, text in (("kill.txt", "192.0.2.1\n# comment\n2001:db8::/32\n"),
                           ("rcpt.txt", "a@example.com\n@example.net\n")):
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text)
        self.write("killlist = kill.txt\nlocal_recipients = rcpt.txt\n"
                   "relay_networks = 127.0.0.0/8, %s/kill.txt\n" % self.dir)
        self.assertEqual(self.ctl("check"), (0, "", ""))

    def test_line_too_long(self):
        self.assert_error("smtpd_banner = %s\n" % ("x" * 5000),
                          "line too long (more than 4096 bytes)")

    def test_nul_byte(self):
        self.assert_error(b"smtpd_banner = a\0b\n", "NUL byte in line")

    def test_syntax_error(self):
        self.assert_error("smtpd_banner hello\n",
                          'syntax error: expected "name = value"')

    def test_expansion_loop(self):
        self.assert_error("myhostname = $smtpd_banner\nsmtpd_banner = x $myhostname\n",
                          "myhostname: expansion loop: $myhostname -> $smtpd_banner -> $myhostname")

    def test_unknown_parameter_in_expansion(self):
        self.assert_error("smtpd_banner = $myhostnme ESMTP\n",
                          'smtpd_banner: unknown parameter "$myhostnme" in value; '
                          'did you mean "$myhostname"?')

    def test_every_error_is_reported(self):
        line = self.write("smtpd_max_processes = lots\nsmtpd_banenr = x\n"
                          "archive = maybe\n")
        rc, out, err = self.ctl("check")
        self.assertEqual((rc, out), (1, ""))
        self.assertEqual(sorted(err.splitlines()), sorted([
            '%s:%d: smtpd_max_processes: bad number "lots"' % (self.path, line),
            '%s:%d: unknown parameter "smtpd_banenr"; did you mean "smtpd_banner"?'
            % (self.path, line + 1),
            '%s:%d: archive: bad boolean "maybe" (use yes or no)' % (self.path, line + 2),
        ]))

    def test_missing_main_cf(self):
        os.unlink(self.path)
        self.assertEqual(self.ctl("check"),
                         (1, "", "%s: No such file or directory\n" % self.path))

    def test_missing_directory(self):
        missing = os.path.join(self.dir, "nowhere")
        self.assertEqual(self.run_ctl("-c", missing, "check"),
                         (1, "", "alligatectl: %s: No such file or directory\n" % missing))

    def test_extra_argument_is_a_usage_error(self):
        self.write("")
        rc, out, err = self.ctl("check", "now")
        self.assertEqual((rc, out), (2, ""))
        self.assertTrue(err.startswith("usage: alligatectl [-c DIR] COMMAND"), err)

    def test_committed_main_cf_passes(self):
        # etc/main.cf lists every parameter, commented out, with its default.
        shutil.copy(os.path.join(TOP, "etc", "main.cf"), self.path)
        # The default daemon_user, which the package creates, may be
        # missing here: as root that is a warning, not an error.
        warning = ""
        if os.geteuid() == 0 and not user_exists("alligate"):
            warning = ('warning: %s: daemon_user (default): user "alligate" does not '
                       'exist: alligatectl start will fail as root; create it (the '
                       'package does) or set daemon_user\n' % self.path)
        self.assertEqual(self.ctl("check"), (0, "", warning))
        rc, out, err = self.ctl("config", "-n")
        self.assertEqual((rc, out, err), (0, "", ""))
        # With this instance's paths added, it is a configuration that runs.
        with open(self.path, "a") as f:
            f.write(self.base)
        self.assertEqual(self.ctl("check"), (0, "", ""))
        self.inst.start()
        c = self.inst.raw()
        self.assertEqual(c.cmd("QUIT")[0], 221)
        c.close()


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


class CheckEnvironment(Check):
    """Values conf_load accepts that would fail only when a process uses
    them (lib/conf_env.c): daemon_user and log_file, refused by check,
    start and reload with their main.cf line."""

    def ctl_as_nobody(self, *args):
        """alligatectl -c DIR ARGS as the user nobody (a start without
        root); the instance's directory is readable by all."""
        p = subprocess.run([CTL, "-c", self.dir] + list(args), capture_output=True,
                           text=True, timeout=30, stdin=subprocess.DEVNULL, user="nobody")
        return p.returncode, p.stdout, p.stderr

    def test_daemon_user_that_does_not_exist(self):
        # (log_file = -: nobody could not create the log in self.dir.)
        line = self.write("daemon_user = nosuchuser-alligate\nlog_file = -\n")
        if os.geteuid() == 0:
            self.assertEqual(self.ctl("check"), (
                1, "", '%s:%d: daemon_user: user "nosuchuser-alligate" does not exist\n'
                % (self.path, line)))
            rc, out, err = self.ctl_as_nobody("check")
        else:
            rc, out, err = self.ctl("check")
        # Without root nothing runs as daemon_user: a warning.
        self.assertEqual((rc, out, err), (
            0, "", 'warning: %s:%d: daemon_user: user "nosuchuser-alligate" does not '
            'exist (it matters only when started as root)\n' % (self.path, line)))

    @unittest.skipUnless(os.geteuid() == 0, "daemon_user matters to root only")
    def test_daemon_user_root(self):
        line = self.write("daemon_user = root\n")
        self.assertEqual(self.ctl("check"), (
            1, "", '%s:%d: daemon_user: user "root" has uid 0: every process but '
            'master must run as an unprivileged user\n' % (self.path, line)))

    @unittest.skipUnless(os.geteuid() == 0, "daemon_user matters to root only")
    def test_start_refuses_a_daemon_user_that_does_not_exist(self):
        line = self.write("daemon_user = nosuchuser-alligate\n")
        self.assertEqual(self.ctl("start"), (
            1, "", '%s:%d: daemon_user: user "nosuchuser-alligate" does not exist\n'
            % (self.path, line)))
        self.assertEqual(self.inst.master_pid(), 0)
        self.assertFalse(os.path.exists(self.inst.queue))

    def test_log_file_under_a_file(self):
        with open(os.path.join(self.dir, "afile"), "w") as f:
            f.write("not a directory\n")
        self.assert_error("log_file = %s/afile/alligate.log\n" % self.dir,
                          'log_file: "%s/afile" is not a directory' % self.dir)

    def test_log_file_is_a_directory(self):
        self.assert_error("log_file = %s\n" % self.dir,
                          'log_file: "%s" is a directory' % self.dir)

    def test_log_file_relative(self):
        self.assert_error("log_file = alligate.log\n",
                          "log_file: not an absolute path (use a path from /, - for "
                          "standard error, or nothing for syslog)")

    def test_log_file_directory_that_cannot_be_made(self):
        # start makes a missing directory (/var/log/alligate): only where
        # it can.  Without root, not at the top of the file system.
        line = self.write("log_file = /nonexistent-alligate/dir/alligate.log\n")
        message = ('%s:%d: log_file: cannot create the file\'s directory in "/": '
                   'Permission denied\n' % (self.path, line))
        if os.geteuid() == 0:
            self.assertEqual(self.ctl_as_nobody("check"), (1, "", message))
        else:
            self.assertEqual(self.ctl("check"), (1, "", message))

    def test_log_file_in_a_directory_start_makes(self):
        self.write("log_file = %s/log/alligate/alligate.log\n" % self.dir)
        self.assertEqual(self.ctl("check"), (0, "", ""))
        self.inst.start()
        self.assertTrue(wait_for(lambda: os.path.exists(
            os.path.join(self.dir, "log", "alligate", "alligate.log"))))

    def test_reload_refuses_a_log_file_under_a_file(self):
        self.inst.start()
        with open(os.path.join(self.dir, "afile"), "w") as f:
            f.write("not a directory\n")
        line = self.write("log_file = %s/afile/alligate.log\n" % self.dir)
        message = ('%s:%d: log_file: "%s/afile" is not a directory'
                   % (self.path, line, self.dir))
        self.assertEqual(self.ctl("reload"), (1, "", message + "\n"))
        # Past alligatectl's own check: master refuses it too.
        os.kill(self.inst.master_pid(), signal.SIGHUP)
        self.assertTrue(wait_for(lambda: "reload refused" in self.inst.log()))
        self.assertIn("error: reload refused, keeping the running configuration: "
                      + message + "\n", self.inst.log())
        c = self.inst.raw()
        self.assertEqual(c.cmd("QUIT")[0], 221)
        c.close()


def make_cert(directory, name, days):
    """A self-signed certificate NAME.pem and its key NAME.key, made by the
    openssl command (no shell; the key never on a command line), valid
    for DAYS from now.  Run as root, the key goes to the instance's
    daemon_user, who must read it, with mode 0600."""
    cert = os.path.join(directory, name + ".pem")
    key = os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", str(days),
                    "-subj", "/CN=mx.test.example"],
                   check=True, capture_output=True, timeout=30,
                   stdin=subprocess.DEVNULL)
    os.chmod(key, 0o600)
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(key, nobody.pw_uid, nobody.pw_gid)
    return cert, key


class TlsCheck(CtlTestCase):
    """What conf_load cannot see (lib/tls_conf.c): check, start and reload
    refuse a certificate and key that smtpd could not use, each with its
    main.cf line; a certificate near its end is a warning only."""

    def setUp(self):
        super().setUp()
        self.cert, self.key = make_cert(self.dir, "cert", 365)

    def test_good_certificate_is_silent(self):
        # smtps is port 25 under implicit TLS: no smtp_auth needed.
        self.write("tls_cert_file = cert.pem\ntls_key_file = cert.key\n"
                   "smtps_listen = 127.0.0.1:%d\n" % self.inst.port)
        self.assertEqual(self.ctl("check"), (0, "", ""))

    def test_mismatched_key(self):
        make_cert(self.dir, "other", 365)
        line = self.write("tls_cert_file = cert.pem\ntls_key_file = other.key\n")
        self.assertEqual(self.ctl("check"), (
            1, "", '%s:%d: tls_key_file: the private key in "%s/other.key" does not '
            'match the certificate in "%s"\n' % (self.path, line + 1, self.dir, self.cert)))

    def test_not_a_certificate(self):
        line = self.write("tls_cert_file = cert.key\ntls_key_file = cert.key\n")
        self.assertEqual(self.ctl("check"), (
            1, "", '%s:%d: tls_cert_file: no PEM certificate in "%s"\n'
            % (self.path, line, self.key)))

    def test_expiring_certificate_is_a_warning(self):
        make_cert(self.dir, "soon", 5)
        line = self.write("tls_cert_file = soon.pem\ntls_key_file = soon.key\n")
        rc, out, err = self.ctl("check")
        self.assertEqual((rc, out), (0, ""))
        self.assertRegex(err, r'^warning: %s:%d: tls_cert_file: the certificate in '
                         r'"%s/soon\.pem" expires on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, '
                         r'in 5 days\n$' % (re.escape(self.path), line, re.escape(self.dir)))

    def test_unknown_protocol(self):
        line = self.write("tls_protocols = !SSLv2, !SSLv3, !TLSv1.0\n")
        self.assertEqual(self.ctl("check"), (
            1, "", '%s:%d: tls_protocols: unknown TLS protocol "!TLSv1.0" (use SSLv2, '
            'SSLv3, TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3)\n' % (self.path, line)))

    def test_smtps_without_certificate(self):
        line = self.write("smtps_listen = 127.0.0.1:%d\n" % self.inst.port)
        self.assertEqual(self.ctl("check"), (
            1, "", "%s:%d: smtps_listen: needs tls_cert_file\n" % (self.path, line)))

    def test_submission_encrypt_without_certificate(self):
        line = self.write("smtp_auth = yes\nsubmission_listen = 127.0.0.1:%d\n"
                          % self.inst.port)
        self.assertEqual(self.ctl("check"), (
            1, "", "%s:%d: submission_listen: needs tls_cert_file, as "
            "submission_tls_security_level is encrypt by default (or set it to may "
            "or none)\n" % (self.path, line + 1)))

    def test_start_refuses_a_mismatched_key(self):
        make_cert(self.dir, "other", 365)
        line = self.write("tls_cert_file = cert.pem\ntls_key_file = other.key\n")
        message = ('%s:%d: tls_key_file: the private key in "%s/other.key" does not '
                   'match the certificate in "%s"\n' % (self.path, line + 1, self.dir,
                                                         self.cert))
        self.assertEqual(self.ctl("start"), (1, "", message))
        self.assertEqual(self.inst.master_pid(), 0)

    def test_reload_keeps_the_running_certificate(self):
        self.write("tls_cert_file = cert.pem\ntls_key_file = cert.key\n")
        self.inst.start()
        make_cert(self.dir, "other", 365)
        line = self.write("tls_cert_file = cert.pem\ntls_key_file = other.key\n")
        message = ('%s:%d: tls_key_file: the private key in "%s/other.key" does not '
                   'match the certificate in "%s"' % (self.path, line + 1, self.dir,
                                                      self.cert))
        self.assertEqual(self.ctl("reload"), (1, "", message + "\n"))
        # Past alligatectl's own check: master refuses it too.
        os.kill(self.inst.master_pid(), signal.SIGHUP)
        self.assertTrue(wait_for(lambda: "reload refused" in self.inst.log()))
        self.assertIn("error: reload refused, keeping the running configuration: "
                      + message + "\n", self.inst.log())
        self.assertNotIn("reload: configuration", self.inst.log())
        c = self.inst.raw()
        self.assertEqual(c.cmd("QUIT")[0], 221)
        c.close()

    def test_start_warns_of_an_expiring_certificate(self):
        make_cert(self.dir, "soon", 5)
        line = self.write("tls_cert_file = soon.pem\ntls_key_file = soon.key\n")
        r = self.inst.ctl("start")
        self.inst.started = r.returncode == 0
        self.assertEqual(r.returncode, 0, r.stderr)
        warning = (r'warning: %s:%d: tls_cert_file: the certificate in "%s/soon\.pem" '
                   r'expires on [-0-9: ]+ UTC, in 5 days\n'
                   % (re.escape(self.path), line, re.escape(self.dir)))
        self.assertRegex(r.stderr, "^" + warning + "$")
        self.assertRegex(r.stdout, r"^alligatectl: started \(pid \d+\)\n$")
        # And in the log, from master.
        self.assertRegex(self.inst.log(), warning)


class Config(CtlTestCase):
    def config(self, *args):
        rc, out, err = self.ctl("config", *args)
        self.assertEqual((rc, err), (0, ""), out)
        return out

    def test_n_prints_exactly_what_is_set(self):
        # Table order, effective values: expanded, continuation lines
        # joined, paths made absolute, a later setting winning.
        self.write("myhostname = gw.example\n"
                   "smtpd_banner = $myhostname ready\n"
                   "local_domains = a.example,\n"
                   "    b.example\n"
                   "# a comment\n"
                   "queue_directory = spool\n"
                   "smtpd_timeout = 2m\n"
                   "smtpd_timeout = 3m\n", base=False)
        self.assertEqual(self.config("-n"),
                         "myhostname = gw.example\n"
                         "smtpd_banner = gw.example ready\n"
                         "local_domains = a.example, b.example\n"
                         "queue_directory = %s/spool\n"
                         "smtpd_timeout = 3m\n" % self.dir)

    def test_n_of_an_empty_main_cf_is_empty(self):
        self.write("# nothing set\n", base=False)
        self.assertEqual(self.config("-n"), "")

    def test_names_print_those_in_order(self):
        self.write("smtpd_banner = hi there\n")
        self.assertEqual(self.config("smtpd_max_processes", "smtpd_banner", "myhostname"),
                         "smtpd_max_processes = 100\n"
                         "smtpd_banner = hi there\n"
                         "myhostname = mx.test.example\n")

    def test_n_with_names_prints_only_the_set_ones(self):
        self.write("smtpd_banner = hi there\n")
        self.assertEqual(self.config("-n", "smtpd_max_processes", "smtpd_banner"),
                         "smtpd_banner = hi there\n")

    def test_all_parameters(self):
        self.write("smtpd_max_processes = 7\n")
        out = self.config()
        names = [l.split(" = ")[0] for l in self.config("-d").splitlines()]
        self.assertEqual([l.split(" = ")[0] for l in out.splitlines()], names)
        self.assertIn("smtpd_max_processes = 7\n", out)
        self.assertIn("smtpd_spare_processes = 2\n", out)
        self.assertIn("smtpd_max_use = 100\n", out)
        self.assertIn("config_directory = %s\n" % self.dir, out)
        self.assertGreater(len(names), 50)
        self.assertEqual(len(set(names)), len(names))

    def test_d_prints_the_defaults(self):
        self.write("smtpd_max_processes = 7\nsmtpd_banner = hi\n")
        out = self.config("-d")
        self.assertIn("smtpd_max_processes = 100\n", out)
        # As postconf -d: a default that refers to other parameters as
        # written, a computed one computed.
        self.assertIn("smtpd_banner = $myhostname ESMTP\n", out)
        self.assertIn("myhostname = %s\n" % socket.gethostname(), out)
        self.assertIn("local_domains = $myhostname, localhost\n", out)
        self.assertIn("local_maildir = $data_directory/maildir\n", out)
        self.assertIn("tls_key_file = $tls_cert_file\n", out)
        self.assertIn("smtpd_client_event_limit_exceptions = $relay_networks\n", out)
        self.assertIn("daemon_directory = %s\n" % os.path.dirname(CTL), out)
        self.assertEqual(self.config("-d", "smtpd_banner", "archive_directory"),
                         "smtpd_banner = $myhostname ESMTP\n"
                         "archive_directory = $data_directory/archive\n")
        # Without -d, the values: expanded.
        self.assertEqual(self.config("local_maildir"),
                         "local_maildir = %s/data/maildir\n" % self.dir)
        self.assertIn("smtp_listen = 0.0.0.0:25\n", out)
        self.assertIn("tarpit_delay = 60s\n", out)
        self.assertIn("reject_text = Refused\n", out)
        self.assertEqual(self.config("-d", "smtpd_max_processes"),
                         "smtpd_max_processes = 100\n")

    def test_d_ignores_a_broken_main_cf(self):
        self.write("smtpd_max_processes = lots\n")
        self.assertEqual(self.config("-d", "smtpd_max_processes"),
                         "smtpd_max_processes = 100\n")

    def test_broken_main_cf_is_reported(self):
        line = self.write("smtpd_max_processes = lots\n")
        self.assertEqual(self.ctl("config", "smtpd_banner"),
                         (1, "", '%s:%d: smtpd_max_processes: bad number "lots"\n'
                          % (self.path, line)))

    def test_unknown_name(self):
        self.write("")
        self.assertEqual(self.ctl("config", "smtpd_banenr", "smtpd_max_use"),
                         (1, "smtpd_max_use = 100\n",
                          'alligatectl: unknown parameter "smtpd_banenr"; '
                          'did you mean "smtpd_banner"?\n'))

    def test_n_and_d_together_is_a_usage_error(self):
        self.write("")
        rc, out, err = self.ctl("config", "-n", "-d")
        self.assertEqual((rc, out), (2, ""))
        self.assertTrue(err.startswith("usage: "), err)


class CommandLine(CtlTestCase):
    def test_help(self):
        for args in (["--help"], ["-h"], ["-c", self.dir, "--help"],
                     ["-c", self.dir, "help"]):
            rc, out, err = self.run_ctl(*args)
            self.assertEqual((rc, err), (0, ""), args)
            self.assertTrue(out.startswith("usage: alligatectl [-c DIR] COMMAND [ARGS]\n"), out)
            for verb in ("start", "stop", "reload", "status", "check", "config"):
                self.assertIn("\n  %s" % verb, out)

    def test_unknown_command(self):
        rc, out, err = self.run_ctl("-c", self.dir, "frobnicate")
        self.assertEqual((rc, out), (2, ""))
        first, rest = err.split("\n", 1)
        self.assertEqual(first, 'alligatectl: unknown command "frobnicate"')
        self.assertTrue(rest.startswith("usage: alligatectl"), rest)

    def test_no_command(self):
        rc, out, err = self.run_ctl("-c", self.dir)
        self.assertEqual((rc, out), (2, ""))
        self.assertTrue(err.startswith("usage: alligatectl"), err)

    def test_unknown_option(self):
        rc, out, err = self.run_ctl("-x", "check")
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("usage: alligatectl", err)

    def test_status_when_not_running(self):
        self.assertEqual(self.ctl("status"), (1, "alligate is not running\n", ""))

    def test_stop_when_not_running(self):
        self.assertEqual(self.ctl("stop"), (1, "", "alligatectl: not running\n"))

    def test_reload_when_not_running(self):
        self.assertEqual(self.ctl("reload"), (1, "", "alligatectl: not running\n"))
