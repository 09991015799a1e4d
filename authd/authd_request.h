/* authd's requests (the protocol of lib/auth_clnt.h), decided without a
 * socket: authd.c, the unit tests and the fuzz target call
 * authd_request_handle() with a parsed request and the time.
 *
 * A verify is answered from the cache, from the local user database, or
 * (auth_backend = relay) handed back to the caller as a check for the
 * backend, whose result authd_request_backend_done() then turns into the
 * reply.  A failure's reply is to be sent after the delay the handler
 * says (auth_failure_delay, more for a user under attack); every failure
 * is logged here, once, without the password:
 *
 *   authentication failed for user=NAME client=ADDR: REASON
 *
 * Every verify that reaches a result is counted here (lib/metrics.def:
 * authd's checks by result, the cache's hits and misses, the time a
 * check took); a malformed request is not a check. */
#ifndef ALLIGATE_AUTHD_REQUEST_H
#define ALLIGATE_AUTHD_REQUEST_H

#include "attr.h"
#include "authd_cache.h"
#include "authd_delay.h"
#include "authd_local.h"

#define AUTHD_BACKEND_LOCAL     0       /* auth_backend values */
#define AUTHD_BACKEND_RELAY     1

/* authd's state and the configuration it works with. */
typedef struct AUTHD {
    int backend;
    AUTHD_LOCAL *local;                 /* auth_backend = local */
    AUTHD_CACHE *cache;
    AUTHD_DELAY *delay;
    long long cache_ms;                 /* auth_cache_time */
    AUTHD_DELAY_LIMITS limits;
    /* Moves on with every forget: a backend check that started before
     * is not cached, as its password may be the one just changed. */
    unsigned long epoch;
} AUTHD;

/* A verify for the backend: what it needs, and what the answer needs. */
typedef struct AUTHD_CHECK {
    char *method;
    char *user;                         /* as the client sent it */
    char *key;                          /* lowercased: cache, delay */
    char *password;
    char *client;                       /* "unknown" when not given */
    unsigned long epoch;
    long long started_us;               /* monotonic: the check's duration */
} AUTHD_CHECK;

/* What the caller does with the reply. */
#define AUTHD_ANSWER_NOW        0       /* send it */
#define AUTHD_ANSWER_LATER      1       /* send it after *delay_ms */
#define AUTHD_ANSWER_BACKEND    2       /* *check goes to the backend */

/* Fills in reply (empty on entry) for request at now (monotonic ms), or
 * hands back a check (AUTHD_ANSWER_BACKEND; reply stays empty), which
 * the caller frees with authd_check_free(). */
int     authd_request_handle(AUTHD *authd, const ATTR *request, ATTR *reply,
                             long long now, long long *delay_ms,
                             AUTHD_CHECK **check);

/* The backend's result (AUTH_CLNT_*) for check, with its reason, into
 * reply: AUTHD_ANSWER_NOW or AUTHD_ANSWER_LATER with *delay_ms. */
int     authd_request_backend_done(AUTHD *authd, const AUTHD_CHECK *check,
                                   int result, const char *reason,
                                   ATTR *reply, long long now,
                                   long long *delay_ms);

AUTHD_CHECK *authd_check_free(AUTHD_CHECK *check);

#endif
