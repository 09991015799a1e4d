/* Certificates and keys for the TLS suites, made at test time with
 * OpenSSL's API (no shell, no openssl command, nothing checked in):
 * self-signed, for chosen dates.  Paths as in fixture.h (relative ones in
 * the fixture directory).  The functions assert. */
#ifndef ALLIGATE_T_FIXTURE_TLS_H
#define ALLIGATE_T_FIXTURE_TLS_H

#include <time.h>

/* Writes a new EC P-256 key to key_path (mode 0600), and a self-signed
 * certificate for it, CN=mx.test.example, valid from not_before to
 * not_after, to cert_path.  key_path NULL: the key goes after the
 * certificate in cert_path. */
void fixture_tls_cert(const char *cert_path, const char *key_path,
                      time_t not_before, time_t not_after);

/* Writes a new key of its own, which matches no certificate, to
 * key_path; encrypted with passphrase unless that is NULL. */
void fixture_tls_key(const char *key_path, const char *passphrase);

#endif
