/* The archive index: a Berkeley DB 5.3 transactional environment of its
 * own in archive_directory/index, opened by the archiver alone.
 *
 *   records.db   primary: queue id -> index record (arc_record.h)
 *   sender.db    secondary (DB->associate): sender address keys
 *   rcpt.db      secondary: every recipient's address keys
 *   client.db    secondary: client address
 *   msgid.db     secondary: Message-ID
 *   subject.db   secondary: the words of the decoded Subject
 *   time.db      secondary: arrival time (8 big-endian bytes)
 *   meta.db      totals (messages, bytes) and the reindex mark
 *   new-*.db     the same, while a rebuild makes them (see below)
 *
 * The keys are those of lib/arc_keys.h.  A record with several keys in
 * one index (recipients, words, an address and its "@domain") is filed
 * under each with DB_DBT_MULTIPLE; the secondaries allow duplicates,
 * sorted by queue id, so that the messages of one key come in arrival
 * order.  Berkeley DB updates the secondaries with the primary, so a
 * message's record, its keys and the totals change in one transaction.
 *
 * As for ratekeeper's store (ratekeeper/rk_store.c): DB_PRIVATE, recovery
 * at every open, DB_TXN_WRITE_NOSYNC (a commit survives the death of the
 * process; a power failure may lose the last moments, which the archive
 * files themselves do not, and `alligatectl archive reindex` restores),
 * checkpoints with log files removed once unneeded.
 *
 * Reads outside a transaction see what is committed; the archiver has
 * one thread, so nothing changes under them. */
#ifndef ALLIGATE_ARC_INDEX_H
#define ALLIGATE_ARC_INDEX_H

#include <stddef.h>

#include "vbuf.h"

#define ARC_INDEX_SENDER    0
#define ARC_INDEX_RCPT      1
#define ARC_INDEX_CLIENT    2
#define ARC_INDEX_MSGID     3
#define ARC_INDEX_SUBJECT   4
#define ARC_INDEX_TIME      5
#define ARC_INDEX_NSEC      6

typedef struct ARC_INDEX ARC_INDEX;

typedef struct ARC_INDEX_TOTALS {
    long long count;                    /* messages */
    long long raw;                      /* bytes of the messages */
    long long stored;                   /* bytes of their archive files */
} ARC_INDEX_TOTALS;

/* Called with each record found (its queue id and encoded record);
 * returns nonzero to stop the scan. */
typedef int (*ARC_INDEX_FN) (const char *id, const char *data, size_t len, void *context);

/* Opens (creating dir, mode 0700, and the databases when missing) after
 * recovery; NULL with why. */
ARC_INDEX *arc_index_open(const char *dir, VBUF *why);
/* Checkpoints and closes; -1 with why when that failed (the index is
 * gone either way). */
int     arc_index_close(ARC_INDEX *index, VBUF *why);

/* The puts and deletes between begin and commit form one transaction;
 * abort drops them. */
int     arc_index_begin(ARC_INDEX *index, VBUF *why);
int     arc_index_commit(ARC_INDEX *index, VBUF *why);
void    arc_index_abort(ARC_INDEX *index);
/* In a transaction: files an encoded record under its queue id (replacing
 * what was there), or removes one (absent is no error); the totals
 * follow. */
int     arc_index_put(ARC_INDEX *index, const VBUF *record, VBUF *why);
int     arc_index_delete(ARC_INDEX *index, const char *id, VBUF *why);

/* The record of a queue id into record: 1, 0 when there is none, -1
 * with why. */
int     arc_index_get(ARC_INDEX *index, const char *id, VBUF *record, VBUF *why);
int     arc_index_totals(ARC_INDEX *index, ARC_INDEX_TOTALS *totals, VBUF *why);
/* How many records one key of a secondary has; -1 with why. */
long    arc_index_count(ARC_INDEX *index, int which, const void *key, size_t len,
                        VBUF *why);
/* The records of one key of a secondary, in queue id order. */
int     arc_index_scan(ARC_INDEX *index, int which, const void *key, size_t len,
                       ARC_INDEX_FN fn, void *context, VBUF *why);
/* The records that arrived from since to until (inclusive; -1: no
 * bound), oldest first. */
int     arc_index_scan_time(ARC_INDEX *index, long long since, long long until,
                            ARC_INDEX_FN fn, void *context, VBUF *why);
/* The arrival times of the oldest and newest records (0 when empty). */
int     arc_index_time_bounds(ARC_INDEX *index, long long *oldest, long long *newest,
                              VBUF *why);

/* A mark that survives restarts (the reindex under way): set or clear;
 * get returns 1, 0, or -1 with why. */
int     arc_index_set_mark(ARC_INDEX *index, const char *name, int on, VBUF *why);
int     arc_index_get_mark(ARC_INDEX *index, const char *name, VBUF *why);

/* Rebuilding aside: begin opens a new, empty set of databases next to
 * the old ones (new-*.db, in the same environment; leftovers of an
 * earlier rebuild are removed first).  Meanwhile searches read the old
 * index, arc_index_put and arc_index_delete change both in their
 * transaction, and build_put (in a transaction) files a record in the
 * new one only.  switch closes both and, in one transaction, removes the
 * old files and gives the new ones their names, then reopens; -1 with
 * why when that failed (the old index is then open as it was; a failure
 * to reopen is fatal).  abandon closes and removes the new ones. */
int     arc_index_build_begin(ARC_INDEX *index, VBUF *why);
int     arc_index_build_put(ARC_INDEX *index, const VBUF *record, VBUF *why);
int     arc_index_build_switch(ARC_INDEX *index, VBUF *why);
void    arc_index_build_abandon(ARC_INDEX *index);

/* A checkpoint when enough log was written or enough time passed; log
 * files no longer needed go away. */
int     arc_index_checkpoint(ARC_INDEX *index, VBUF *why);

#endif
