/* A real redis-server for the suites of ratekeeper's Redis backend: a
 * child of the test, on a free loopback port, without persistence (no
 * RDB, no AOF), its directory in the fixture's, killed when the test
 * dies. */
#ifndef ALLIGATE_T_FIXTURE_REDIS_H
#define ALLIGATE_T_FIXTURE_REDIS_H

#include <sys/types.h>

/* Starts it (the test fails if it does not answer PING within 5 s) and
 * returns its port.  One at a time. */
int fixture_redis_start(void);

/* Starts it again on the same port after fixture_redis_stop(). */
void fixture_redis_restart(void);

/* Kills it and waits for it; nothing when none runs. */
void fixture_redis_stop(void);

/* SIGSTOP (1) or SIGCONT (0): a Redis that does not answer, without
 * closing its connections. */
void fixture_redis_pause(int stop);

/* One command through a connection of its own (hiredis' synchronous
 * API), as redis-cli would send it (arguments split on spaces); the
 * reply's integer, or -1 for anything else. */
long long fixture_redis_int(const char *command);

#endif
