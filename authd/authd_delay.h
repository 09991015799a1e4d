/* How long authd waits before it answers a failed check: always
 * auth_failure_delay, and longer for a user name that failed more than
 * auth_failure_limit times in auth_failure_window, wherever the attempts
 * came from (a password spray from many addresses), by AUTHD_SLOW_STEP_MS
 * per failure over the limit, up to AUTH_SLOW_MAX_MS more.  Only failed
 * checks wait: the real user with the right password is answered at once
 * however hard the name is attacked, so there is no lockout.
 *
 * The counts are kept in memory, per name, in fixed windows (the first
 * failure opens one), at most AUTHD_DELAY_MAX names (the oldest window
 * goes first).  Pure: time is an argument. */
#ifndef ALLIGATE_AUTHD_DELAY_H
#define ALLIGATE_AUTHD_DELAY_H

#include <stddef.h>

#define AUTHD_DELAY_MAX         65536
#define AUTHD_SLOW_STEP_MS      1000

typedef struct AUTHD_DELAY AUTHD_DELAY;

typedef struct AUTHD_DELAY_LIMITS {
    long long base_ms;                  /* auth_failure_delay */
    int limit;                          /* auth_failure_limit, 0: none */
    long long window_ms;                /* auth_failure_window */
} AUTHD_DELAY_LIMITS;

AUTHD_DELAY *authd_delay_create(size_t max_names);
AUTHD_DELAY *authd_delay_free(AUTHD_DELAY *delay);

/* Counts a failed check of user (lowercased) at now and returns how long
 * its answer waits.  *failures gets the user's failures in the window,
 * this one included; *first_slow is 1 when this is the first failure
 * over the limit in the window (to be logged, once). */
long long authd_delay_failure(AUTHD_DELAY *delay, const char *user,
                              long long now, const AUTHD_DELAY_LIMITS *lim,
                              long *failures, int *first_slow);

/* Forgets the windows that ended at now (at most max of them); returns
 * how many went. */
size_t  authd_delay_expire(AUTHD_DELAY *delay, long long now,
                           long long window_ms, size_t max);

size_t  authd_delay_size(const AUTHD_DELAY *delay);

#endif
