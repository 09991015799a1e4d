/* The client's AUTH credentials, sealed for relay_auth_replay: smtpd puts
 * them into the queue file encrypted (AES-256-GCM, a fresh nonce each
 * time, the queue id as associated data so that a sealed record cannot be
 * moved to another message), relay opens them when it delivers, and
 * nobody else can.  The key is data_directory/replay.key: 32 random
 * bytes, made on first use, readable only by daemon_user.  Sealed text is
 * base64 of version byte | nonce | ciphertext | tag, one queue record. */
#ifndef ALLIGATE_CRED_SEAL_H
#define ALLIGATE_CRED_SEAL_H

#include "vbuf.h"

#define CRED_SEAL_KEY_FILE  "replay.key"

/* Loads (or makes) the key of data_dir: 0, or -1 with why. */
int     cred_seal_init(const char *data_dir, VBUF *why);

/* Seals user and password for queue_id into out (printable). */
int     cred_seal(const char *queue_id, const char *user, const char *password,
                  VBUF *out, VBUF *why);

/* Opens what cred_seal made: 0, or -1 with why (wrong key, another queue
 * id, truncated, tampered).  The caller wipes password after use. */
int     cred_open(const char *queue_id, const char *sealed, VBUF *user,
                  VBUF *password, VBUF *why);

/* Overwrites a buffer that held a secret (not optimised away). */
void    cred_wipe(VBUF *secret);

#endif
