/* Retention: which archived message goes next, and why.  Pure: the
 * limits, the clock and the archive's oldest message are arguments, so a
 * test can drive it with a fake clock.  The archiver removes at most a
 * few messages per turn of its loop (ARC_RETAIN_STEP), oldest arrival
 * first, asking again before each: archiving never pauses for a large
 * removal. */
#ifndef ALLIGATE_ARC_RETAIN_H
#define ALLIGATE_ARC_RETAIN_H

#define ARC_RETAIN_KEEP     0
#define ARC_RETAIN_AGE      1           /* older than archive_max_age */
#define ARC_RETAIN_SIZE     2           /* the archive is over archive_max_size */

#define ARC_RETAIN_STEP     16          /* removals per turn, at most */
#define ARC_RETAIN_IDLE_S   60          /* longest wait between checks */

typedef struct ARC_RETAIN_LIMITS {
    long long max_age;                  /* seconds; 0: no limit */
    long long max_size;                 /* bytes; 0: no limit */
} ARC_RETAIN_LIMITS;

/* What the archive holds now. */
typedef struct ARC_RETAIN_STATE {
    long long total;                    /* bytes of all archive files */
    int     empty;
    long long oldest_arrival;           /* of the oldest message */
} ARC_RETAIN_STATE;

/* ARC_RETAIN_AGE or ARC_RETAIN_SIZE when the oldest message must go now
 * (age first: it is the older rule), else ARC_RETAIN_KEEP. */
int     arc_retain_choose(const ARC_RETAIN_LIMITS *limits, long long now,
                          const ARC_RETAIN_STATE *state);
/* Seconds until the next check is due once the choice was KEEP: when
 * the oldest message reaches archive_max_age, at most
 * ARC_RETAIN_IDLE_S, at least 1. */
long long arc_retain_next_check(const ARC_RETAIN_LIMITS *limits, long long now,
                                const ARC_RETAIN_STATE *state);
/* "archive_max_age" or "archive_max_size", for the log. */
const char *arc_retain_reason(int choice);

#endif
