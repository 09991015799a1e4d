/* The counts that ratekeeper keeps for smtpd: messages per sender for
 * sender_rate_limit at MAIL FROM, connections per client for
 * smtpd_client_connection_count_limit at connect, the clients recorded
 * as over a limit and their tarpit disconnects (learnt at connect).  Only the I/O is here; smtpd_policy decides
 * who is counted and what a count means.  When ratekeeper does not
 * answer within ratekeeper_timeout the count is -1 and the session goes
 * on without the limits (fail open; rk_clnt warns at most once a
 * minute). */
#ifndef ALLIGATE_SMTPD_RATE_H
#define ALLIGATE_SMTPD_RATE_H

#include "smtp_addr.h"
#include "smtpd.h"
#include "vbuf.h"

/* At connect, first thing after the facts: asks ratekeeper to register
 * the session's connection (it stays registered until
 * smtpd_rate_disconnect(), or until this process dies), without waiting
 * for the answer, which travels while the session waits out
 * smtpd_greet_wait. */
void    smtpd_rate_connect_send(SMTPD_STATE *state);

/* Then, before the greeting: the client's connections, this one
 * included, or -1 when there is no count; sets facts.overlimit and
 * facts.tarpit_disconnects (-1 when not known). */
long    smtpd_rate_connect(SMTPD_STATE *state);

/* At MAIL FROM, once the sender is parsed: counts the message and
 * returns the count in the window, or -1 when there is none. */
long    smtpd_rate_mail(SMTPD_STATE *state, const SMTP_PATH *sender);

/* Records the client as over a limit for window_ms. */
void    smtpd_rate_overlimit(SMTPD_STATE *state, long long window_ms);

/* AUTH: the client address's failures in auth_failure_window (-1 when
 * there is no count), and one more failure. */
long    smtpd_rate_auth_failures(SMTPD_STATE *state);
void    smtpd_rate_auth_failed(SMTPD_STATE *state);

/* At the end of the session: releases the connection's registration.
 * The request goes out with the next session's first one when the next
 * client is already waiting, or with smtpd_rate_flush(), which the worker
 * calls before it waits for a client. */
void    smtpd_rate_disconnect(SMTPD_STATE *state);
void    smtpd_rate_flush(void);

/* The key that sender_rate_key names for this session and sender;
 * returns -1 when there is none (no numeric client address). */
int     smtpd_rate_key(const SMTPD_STATE *state, const SMTP_PATH *sender,
                       int key_type, VBUF *key);

/* sender_rate_key values, in conf_params.def's order. */
#define SMTPD_RATE_KEY_ADDRESS  0
#define SMTPD_RATE_KEY_SENDER   1
#define SMTPD_RATE_KEY_USER     2

#endif
