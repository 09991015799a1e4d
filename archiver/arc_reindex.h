/* Rebuilding the index from the archive files (alligatectl archive
 * reindex), a step at a time between the archiver's other work.
 *
 * The index is emptied, and a mark that survives restarts is set, in one
 * transaction; then every archive file (arc_walk.h) is read in full and
 * checked (arc_file_read), and filed again, ARC_REINDEX_STEP files per
 * transaction; then the mark goes.  An archiver that dies meanwhile
 * finds the mark and starts over.  Messages archived during the rebuild
 * go into the index as always; retention waits until it is over.  A
 * damaged file is reported and left where it is. */
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
} ARC_REINDEX_STATUS;

/* Empties the index and starts the walk; NULL with why. */
ARC_REINDEX *arc_reindex_start(ARC_INDEX *index, const char *archive_dir, VBUF *why);
/* Files up to ARC_REINDEX_STEP more: 1 while there are more, 0 once
 * done (the mark is gone), -1 with why when the index failed (the walk
 * stays where it was: the step can be tried again). */
int     arc_reindex_step(ARC_REINDEX *re, VBUF *why);
/* What it did so far; valid until the next step or free. */
void    arc_reindex_status(const ARC_REINDEX *re, ARC_REINDEX_STATUS *status);
void    arc_reindex_free(ARC_REINDEX *re);

#endif
