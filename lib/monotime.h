/* The monotonic clock in milliseconds (and microseconds), for deadlines and intervals (never
 * for dates: it starts at an arbitrary point and does not follow the
 * wall clock). */
#ifndef ALLIGATE_MONOTIME_H
#define ALLIGATE_MONOTIME_H

#include <time.h>

long long monotime_ms(void);

/* The same in microseconds, for timing what takes less than one. */
long long monotime_us(void);

/* Sets *ts to the monotonic clock ms milliseconds from now: the deadline
 * for pthread_cond_timedwait() on a condition made with the clock
 * CLOCK_MONOTONIC (pthread_condattr_setclock), which a change of the
 * date does not move. */
void monotime_deadline(struct timespec *ts, long long ms);

#endif
