/* Retention decisions; see arc_retain.h. */
#include "arc_retain.h"

int
arc_retain_choose(const ARC_RETAIN_LIMITS *limits, long long now,
                  const ARC_RETAIN_STATE *state)
{
    if (state->empty)
        return ARC_RETAIN_KEEP;
    if (limits->max_age > 0 && state->oldest_arrival < now - limits->max_age)
        return ARC_RETAIN_AGE;
    if (limits->max_size > 0 && state->total > limits->max_size)
        return ARC_RETAIN_SIZE;
    return ARC_RETAIN_KEEP;
}

long long
arc_retain_next_check(const ARC_RETAIN_LIMITS *limits, long long now,
                      const ARC_RETAIN_STATE *state)
{
    long long due;

    if (state->empty || limits->max_age <= 0)
        return ARC_RETAIN_IDLE_S;
    /* The oldest goes once it is more than max_age old. */
    due = state->oldest_arrival + limits->max_age + 1 - now;
    if (due < 1)
        return 1;
    return due < ARC_RETAIN_IDLE_S ? due : ARC_RETAIN_IDLE_S;
}

const char *
arc_retain_reason(int choice)
{
    return choice == ARC_RETAIN_AGE ? "archive_max_age"
        : choice == ARC_RETAIN_SIZE ? "archive_max_size" : "kept";
}
