/* The archiver's requests (the protocol of lib/arc_clnt.h), answered
 * from the index.  No socket here: archiver.c passes each parsed request
 * with the id of the client that sent it, so that a search's matches
 * wait for that client's fetches. */
#ifndef ALLIGATE_ARC_REQUEST_H
#define ALLIGATE_ARC_REQUEST_H

#include "arc_index.h"
#include "arc_reindex.h"
#include "attr.h"
#include "vbuf.h"

typedef struct ARC_SERVICE {
    ARC_INDEX *index;
    /* Counters since start, for stats. */
    long long archived;
    long long removed_age;
    long long removed_size;
    long long failed;
    long long waiting;
    /* The rebuild under way or last done (NULL: none since start). */
    ARC_REINDEX *reindex;
    /* Starts a rebuild; -1 with why. */
    int     (*start_reindex) (VBUF *why);
    void   *results;                    /* the matches of each client */
} ARC_SERVICE;

void    arc_request_init(ARC_SERVICE *svc, ARC_INDEX *index);
void    arc_request_handle(ARC_SERVICE *svc, const ATTR *request, ATTR *reply,
                           unsigned long client);
/* The client's connection closed: its matches go. */
void    arc_request_client_gone(ARC_SERVICE *svc, unsigned long client);
void    arc_request_free(ARC_SERVICE *svc);

#endif
