/* relay's control socket and its typed client, for alligatectl.
 *
 * relay listens on run_directory/relay.sock (mode 0600) and greets with
 * proto=relay, version=1 (the names are in relay_proto.h).
 *
 *   request=flush    status=0: every queued message is tried now
 *   request=status   status=0 ready=N active=N agents=N busy=N
 *
 * Any request may be answered status=-1 reason=TEXT.  Unknown attributes
 * are ignored. */
#ifndef ALLIGATE_RELAY_CLNT_H
#define ALLIGATE_RELAY_CLNT_H

#include "ctl_clnt.h"

/* Results of the requests. */
#define RELAY_CLNT_OK           CTL_CLNT_OK
#define RELAY_CLNT_NOANSWER     CTL_CLNT_NOANSWER
#define RELAY_CLNT_REFUSED      CTL_CLNT_REFUSED

#define RELAY_CLNT_TIMEOUT_MS   10000

typedef CTL_CLNT RELAY_CLNT;

/* What relay is doing. */
typedef struct RELAY_CLNT_COUNTS {
    long ready;                 /* messages waiting for an agent */
    long active;                /* messages being delivered */
    long agents;                /* delivery agents */
    long busy;                  /* of them, delivering */
} RELAY_CLNT_COUNTS;

/* Nothing happens before the first request. */
RELAY_CLNT *relay_clnt_create(const char *socket_path, int timeout_ms);
RELAY_CLNT *relay_clnt_free(RELAY_CLNT *clnt);

/* run_directory/relay.sock of the active configuration. */
const char *relay_clnt_default_path(void);

/* Why the last request failed: for RELAY_CLNT_NOANSWER why relay could
 * not be asked, for RELAY_CLNT_REFUSED relay's reason ("no reason given"
 * when it gave none). */
const char *relay_clnt_error(const RELAY_CLNT *clnt);

/* Each returns RELAY_CLNT_OK, _NOANSWER or _REFUSED. */
int relay_clnt_flush(RELAY_CLNT *clnt);
int relay_clnt_status(RELAY_CLNT *clnt, RELAY_CLNT_COUNTS *counts);

#endif
