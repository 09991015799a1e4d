/* The archiver's protocol and its typed client (alligatectl archive).
 *
 * The archiver listens on run_directory/archiver.sock and greets with
 * proto=archiver, version=1.  It is the only process that opens the
 * index; alligatectl asks it, and reads the archive files themselves
 * (arc_file.h) for show and export.
 *
 *   request=search [sender=A] [rcpt=A] [client=ADDR] [subject=WORDS]
 *         [message_id=ID] [since=UNIX] [until=UNIX] [limit=N]
 *                          the filters combine with AND; the archiver
 *                          makes the keys (arc_keys.h).  status=0
 *                          matches=N; the matches, oldest first (at most
 *                          limit of them), wait on the connection for
 *                          fetch; a new search replaces them.  status=1
 *                          reason=TEXT for a query that cannot match
 *                          (a subject without words)
 *   request=fetch          status=0 entries=K more=0|1 and for I from 0:
 *                          id_I arrival_I size_I stored_I sender_I
 *                          rcpt_I (TAB-separated; cut short when long,
 *                          nrcpt_I says how many there are) nrcpt_I
 *                          client_I name_I helo_I proto_I user_I msgid_I
 *                          subject_I (UTF-8, no control characters)
 *   request=stats          status=0 messages= raw_bytes= stored_bytes=
 *                          oldest= newest= (unix, 0 when empty)
 *                          archived= removed_age= removed_size= failed=
 *                          (since the archiver started) waiting= (links
 *                          known, not yet done) reindexing=0|1
 *   request=reindex        rebuilds the index from the archive files, in
 *                          steps between the archiver's other work:
 *                          status=0, or status=1 when one is under way
 *   request=reindex_status status=0 running=0|1 files=N indexed=N
 *                          damaged=N and damaged_I (the first
 *                          ARC_CLNT_DAMAGED_MAX paths)
 *
 * Any request may be answered status=-1 reason=TEXT: the archiver could
 * not do it (its index failed, a request it does not know), which
 * arc_clnt takes as no answer. */
#ifndef ALLIGATE_ARC_CLNT_H
#define ALLIGATE_ARC_CLNT_H

#include <stddef.h>

#include "ctl_clnt.h"
#include "queue_id.h"

#define ARC_SOCKET_NAME     "archiver.sock"
#define ARC_PROTO           "archiver"
#define ARC_VERSION         1

/* Results of the requests. */
#define ARC_CLNT_OK         CTL_CLNT_OK
#define ARC_CLNT_REFUSED    CTL_CLNT_REFUSED    /* status=1: reason says why */
#define ARC_CLNT_NOANSWER   CTL_CLNT_NOANSWER   /* also status=-1 */

#define ARC_CLNT_DAMAGED_MAX 20

typedef CTL_CLNT ARC_CLNT;

/* What archive search looks for; NULL and -1 (0 for limit) for none. */
typedef struct ARC_QUERY {
    const char *sender;
    const char *rcpt;
    const char *client;
    const char *subject;
    const char *message_id;
    long long since;
    long long until;
    long    limit;
} ARC_QUERY;

/* One message found. */
typedef struct ARC_MATCH {
    char    id[QUEUE_ID_LEN + 1];
    long long arrival;
    long long size;                     /* of the message */
    long long stored;                   /* of its archive file */
    char   *sender;
    char  **rcpt;
    size_t  rcpt_count;                 /* in rcpt */
    long    rcpt_total;                 /* of the message */
    char   *client_addr;
    char   *client_name;
    char   *helo;
    char   *protocol;
    char   *sasl_user;
    char   *message_id;
    char   *subject;
} ARC_MATCH;

typedef struct ARC_CLNT_STATS {
    long long messages, raw_bytes, stored_bytes, oldest, newest;
    long long archived, removed_age, removed_size, failed, waiting;
    int     reindexing;
} ARC_CLNT_STATS;

typedef struct ARC_CLNT_REINDEX {
    int     running;
    long long files, indexed, damaged;
    char   *damaged_paths[ARC_CLNT_DAMAGED_MAX];
    int     damaged_shown;
} ARC_CLNT_REINDEX;

void    arc_query_init(ARC_QUERY *query);

ARC_CLNT *arc_clnt_create(const char *socket_path, int timeout_ms);
ARC_CLNT *arc_clnt_free(ARC_CLNT *clnt);
/* run_directory/archiver.sock of the active configuration. */
const char *arc_clnt_default_path(void);
/* Why the last request failed or was refused. */
const char *arc_clnt_error(const ARC_CLNT *clnt);

/* Each returns ARC_CLNT_OK, ARC_CLNT_REFUSED or ARC_CLNT_NOANSWER. */
int     arc_clnt_search(ARC_CLNT *clnt, const ARC_QUERY *query, long *matches);
/* The next matches (*list from mymalloc, free with arc_clnt_matches_free),
 * *more when there are others after them. */
int     arc_clnt_fetch(ARC_CLNT *clnt, ARC_MATCH **list, int *count, int *more);
void    arc_clnt_matches_free(ARC_MATCH *list, int count);
int     arc_clnt_stats(ARC_CLNT *clnt, ARC_CLNT_STATS *stats);
int     arc_clnt_reindex(ARC_CLNT *clnt);
int     arc_clnt_reindex_status(ARC_CLNT *clnt, ARC_CLNT_REINDEX *status);
void    arc_clnt_reindex_free(ARC_CLNT_REINDEX *status);

#endif
