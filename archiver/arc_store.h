/* Archiving the linked queue files, and removing archived messages.
 *
 * A batch of links (queue_directory/archive/ID, queue_dir.h) is archived
 * in three steps, each durable before the next begins:
 *
 *   1. each message is compressed into archive_directory/tmp/ID; then
 *      each file is fsynced (once all are written and their writeback
 *      started, so that the writes overlap) and renamed to its place
 *      (arc_file.h);
 *      then every directory that got a new entry is fsynced;
 *   2. the index records of the batch are committed in one transaction;
 *   3. the links are removed.
 *
 * A process killed anywhere loses nothing (the link stays until its copy
 * is safe) and duplicates nothing: the file's name and the index key are
 * the queue id, so doing a step again replaces what it made, and a link
 * whose message is already indexed and stored is only removed.
 *
 * The queue file's sealed AUTH credentials (K record) are never copied;
 * the reader's copy of them is wiped from memory. */
#ifndef ALLIGATE_ARC_STORE_H
#define ALLIGATE_ARC_STORE_H

#include "arc_index.h"
#include "queue_id.h"
#include "vbuf.h"

#define ARC_STORE_BATCH     32          /* links per batch, at most */
#define ARC_STORE_LEVEL     3           /* zstd's default level */

/* What became of one link. */
#define ARC_STORE_DONE      0           /* archived */
#define ARC_STORE_ALREADY   1           /* it was: only the link went */
#define ARC_STORE_GONE      2           /* no such link any more */
#define ARC_STORE_RETRY     3           /* could not now: try later */
#define ARC_STORE_CORRUPT   4           /* not a queue file */

typedef struct ARC_STORE ARC_STORE;

typedef struct ARC_STORE_ITEM {
    char    id[QUEUE_ID_LEN + 1];       /* in */
    int     status;                     /* out: ARC_STORE_* */
    long long size;                     /* of the message */
    long long stored;                   /* of its archive file */
    VBUF   *why;                        /* for RETRY and CORRUPT */
} ARC_STORE_ITEM;

/* Makes archive_dir and its tmp/ when missing and empties tmp/ (what a
 * killed archiver left); NULL with why. */
ARC_STORE *arc_store_open(const char *archive_dir, const char *queue_dir, VBUF *why);
/* The index the batches and removals update (before the first). */
void    arc_store_set_index(ARC_STORE *store, ARC_INDEX *index);
void    arc_store_close(ARC_STORE *store);

/* Archives the links of items[0..n) (n at most ARC_STORE_BATCH); each
 * item says what became of it (its why is made when needed, and freed
 * by the caller). */
void    arc_store_batch(ARC_STORE *store, ARC_STORE_ITEM *items, int n);

/* Removes an archived message: its file, then its index record, then
 * the directories it leaves empty; -1 with why. */
int     arc_store_remove(ARC_STORE *store, const char *id, VBUF *why);

/* archive_directory/REL into path, for messages and reindex. */
const char *arc_store_path(ARC_STORE *store, VBUF *path, const char *rel);

#endif
