/* Running a search over the archive index: the candidates come from the
 * filter whose key has the fewest records (or, without any key, from the
 * arrival-time range); each is checked against every filter
 * (arc_query_match); the matches come out oldest first. */
#ifndef ALLIGATE_ARC_SEARCH_H
#define ALLIGATE_ARC_SEARCH_H

#include <stddef.h>

#include "arc_index.h"
#include "arc_query.h"
#include "queue_id.h"
#include "vbuf.h"

typedef struct ARC_SEARCH_HIT {
    long long arrival;
    char    id[QUEUE_ID_LEN + 1];
} ARC_SEARCH_HIT;

/* The matches (at most q->limit, when set) into *hits (mymalloc), their
 * number into *count; -1 with why. */
int     arc_search_run(ARC_INDEX *index, const ARC_QUERY_KEYS *q, ARC_SEARCH_HIT **hits,
                       size_t *count, VBUF *why);

#endif
