/* Password hashes in crypt(3) form, through libxcrypt: new ones made with
 * yescrypt ("$y$", Debian's default), existing ones imported in the
 * formats administrators have (/etc/shadow, doveadm pw): yescrypt,
 * SHA-512 ("$6$"), SHA-256 ("$5$") and bcrypt ("$2b$", "$2y$"). */
#ifndef ALLIGATE_PW_HASH_H
#define ALLIGATE_PW_HASH_H

#include "vbuf.h"

/* A hash as stored: at most this many bytes. */
#define PW_HASH_MAX         383

/* The longest password crypt(3) takes (libxcrypt's limit). */
#define PW_HASH_PASSWORD_MAX 511

/* A new yescrypt hash of password (random salt, libxcrypt's default
 * cost) into out.  Returns 0, or -1 with why (a password longer than
 * PW_HASH_PASSWORD_MAX). */
int     pw_hash_make(const char *password, VBUF *out, VBUF *why);

/* Whether hash is a complete hash of one of the methods above that
 * crypt_r() can check passwords against: 0, or -1 with why. */
int     pw_hash_valid(const char *hash, VBUF *why);

/* Checks password against hash: 1 it matches, 0 it does not (a password
 * longer than PW_HASH_PASSWORD_MAX never does), -1 the hash is unusable
 * (why).  Takes the hash method's time whatever the answer;
 * the comparison is constant-time. */
int     pw_hash_check(const char *hash, const char *password, VBUF *why);

#endif
