/* Every archive file under archive_directory, in the order of their
 * places (arc_file.h): years, months, days, queue ids, so oldest first.
 * Only names of that shape are taken (YYYY/MM/DD/ID.eml.zst, with the
 * date the queue id says); tmp/, index/ and anything else are passed
 * by.  A directory is read when the walk reaches it, so a walk can be
 * done in steps while files come and go. */
#ifndef ALLIGATE_ARC_WALK_H
#define ALLIGATE_ARC_WALK_H

#include "queue_id.h"
#include "vbuf.h"

typedef struct ARC_WALK ARC_WALK;

ARC_WALK *arc_walk_open(const char *archive_dir);
/* 1 with the next file's queue id and path relative to archive_dir, 0
 * at the end. */
int     arc_walk_next(ARC_WALK *walk, char id[QUEUE_ID_LEN + 1], VBUF *rel);
void    arc_walk_close(ARC_WALK *walk);

#endif
