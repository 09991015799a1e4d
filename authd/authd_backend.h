/* auth_backend = relay in authd's event loop: each check runs
 * authd_relay_verify() in a child process of its own, so that a slow
 * backend holds up nobody else; at most AUTHD_BACKEND_MAX at a time, the
 * others wait their turn.  The child writes its result on a pipe; one
 * that has not answered AUTHD_BACKEND_GRACE_MS after its own deadline is
 * killed, and the check is AUTH_CLNT_TEMP. */
#ifndef ALLIGATE_AUTHD_BACKEND_H
#define ALLIGATE_AUTHD_BACKEND_H

#include "authd_request.h"

#define AUTHD_BACKEND_MAX       32
#define AUTHD_BACKEND_GRACE_MS  2000

/* Called from the event loop with the check's result (AUTH_CLNT_*); the
 * check is freed afterwards. */
typedef void (*AUTHD_BACKEND_FN)(const AUTHD_CHECK *check, int result,
                                 const char *reason, void *context);

/* Takes check over; done(context) runs once with its result. */
void    authd_backend_start(AUTHD_CHECK *check, AUTHD_BACKEND_FN done,
                            void *context);

/* Kills the children and drops the waiting checks (done never runs). */
void    authd_backend_stop(void);

#endif
