/* Rebuilding the index from the archive files (alligatectl archive
 * reindex), a step at a time between the archiver's other work.
 *
 * The new index is built aside (arc_index_build_begin: new databases
 * next to the old ones), so that searches meanwhile answer from the old
 * index; a mark that survives restarts is set in the old one.  Every
 * archive file (arc_walk.h) is read in full and checked (arc_file_read)
 * and filed in the new index, ARC_REINDEX_STEP files per transaction;
 * messages archived or removed meanwhile change both.  Once the walk is
 * over the new index takes the old one's place in one transaction, the
 * mark with it.  A damaged file is reported and left where it is; a file
 * that cannot be read at all (permissions, I/O error) is reported as
 * damaged too and gives the rebuild up: the new index goes and the old
 * one stays.  An archiver that dies meanwhile finds the mark and starts
 * over. */
#ifndef ALLIGATE_ARC_REINDEX_H
#define ALLIGATE_ARC_REINDEX_H

#include "arc_index.h"
#include "vbuf.h"

#define ARC_REINDEX_STEP    100         /* files per step */
#define ARC_REINDEX_MARK    "reindex"
#define ARC_REINDEX_DAMAGED_MAX 20      /* paths remembered */

typedef struct ARC_REINDEX ARC_REINDEX;

typedef struct ARC_REINDEX_STATUS {
    int     running;
    long long files;                    /* looked at */
    long long indexed;
    long long damaged;
    const char *damaged_paths[ARC_REINDEX_DAMAGED_MAX];
    int     damaged_shown;
    const char *failed;                 /* why it was given up, or NULL */
} ARC_REINDEX_STATUS;

/* Starts building a new index and the walk; NULL with why. */
ARC_REINDEX *arc_reindex_start(ARC_INDEX *index, const char *archive_dir, VBUF *why);
/* Files up to ARC_REINDEX_STEP more: 1 while there are more, 0 once
 * over (switched, or given up: see status.failed; the mark is gone), -1
 * with why when the index failed (the walk stays where it was: the step
 * can be tried again). */
int     arc_reindex_step(ARC_REINDEX *re, VBUF *why);
/* What it did so far; valid until the next step or free. */
void    arc_reindex_status(const ARC_REINDEX *re, ARC_REINDEX_STATUS *status);
void    arc_reindex_free(ARC_REINDEX *re);

#endif
