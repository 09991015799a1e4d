/* The monotonic clock in milliseconds, for deadlines and intervals (never
 * for dates: it starts at an arbitrary point and does not follow the
 * wall clock). */
#ifndef ALLIGATE_MONOTIME_H
#define ALLIGATE_MONOTIME_H

long long monotime_ms(void);

#endif
