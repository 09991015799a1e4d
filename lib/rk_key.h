/* Ratekeeper's keys: whom a counter counts, in one canonical text form
 * that smtpd, tarpit, alligatectl and ratekeeper agree on.
 *
 *   addr:192.0.2.1              an IPv4 client (IPv4-mapped IPv6 too)
 *   addr:2001:db8:1:2::/64      an IPv6 client, grouped by its /64: one
 *                               site holds at least a /64, and counting
 *                               each of its 2^64 addresses apart would
 *                               make every limit useless
 *   sender:user@example.com     an envelope sender, ASCII case-folded;
 *                               sender:<> is the null sender
 *   user:name                   an authenticated (SASL) user, as given
 *
 * A key holds no control characters and is at most RK_KEY_MAX bytes. */
#ifndef ALLIGATE_RK_KEY_H
#define ALLIGATE_RK_KEY_H

#include "vbuf.h"

#define RK_KEY_MAX          512

#define RK_KEY_ADDR_PREFIX      "addr:"
#define RK_KEY_SENDER_PREFIX    "sender:"
#define RK_KEY_USER_PREFIX      "user:"

/* Each sets out to the key; -1 (out unspecified) when the input cannot be
 * a key: not a numeric address, control characters, too long. */
int rk_key_address(VBUF *out, const char *addr);
int rk_key_sender(VBUF *out, const char *sender);
int rk_key_user(VBUF *out, const char *user);

/* The canonical form of a key given as text, either typed ("addr:...",
 * "sender:...", "user:...") or bare, as an administrator types it: a
 * numeric address, a sender when it holds '@' or is "<>", else a user
 * name.  Canonical keys come out unchanged.  Returns 0, or -1 with the
 * reason in why. */
int rk_key_canon(VBUF *out, const char *text, VBUF *why);

/* 1 when the canonical key names a client address. */
int rk_key_is_address(const char *key);

#endif
