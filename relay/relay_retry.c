/* The retry schedule: when a deferred message is tried again, and when it
 * has waited long enough to be returned to its sender. Pure arithmetic on
 * the time the caller passes in, so that a unit test can drive it with a
 * clock of its own.
 *
 * The wait before the next attempt is as long as the message has already
 * been queued, bounded by minimal_backoff_time and maximal_backoff_time:
 * it doubles at each attempt without any counter kept on disk (the
 * arrival time is in the queue file), as in Postfix. The last attempt is
 * brought forward to the moment the message expires, so that an
 * undeliverable message bounces on time rather than up to
 * maximal_backoff_time late.
 *
 * relay_retry_policy() alone reads the configuration: it fills in the
 * parameters that the pure functions take. */
#include "conf.h"
#include "relay.h"

void
relay_retry_policy(RELAY_RETRY_POLICY *policy)
{
    policy->min_backoff = conf_time(P_minimal_backoff_time);
    policy->max_backoff = conf_time(P_maximal_backoff_time);
    policy->lifetime = conf_time(P_maximal_queue_lifetime);
}

time_t
relay_retry_next(time_t arrival, time_t now, const RELAY_RETRY_POLICY *policy)
{
    long long age = (long long) now - (long long) arrival;
    long long wait = age;
    long long expires;

    if (wait < policy->min_backoff)
        wait = policy->min_backoff;
    if (wait > policy->max_backoff)
        wait = policy->max_backoff;
    if (wait < 1)
        wait = 1;
    expires = (long long) arrival + policy->lifetime;
    if (expires > now && (long long) now + wait > expires)
        wait = expires - now;
    return (time_t) ((long long) now + wait);
}

int
relay_retry_expired(time_t arrival, time_t now, const RELAY_RETRY_POLICY *policy)
{
    return (long long) now - (long long) arrival >= policy->lifetime;
}
