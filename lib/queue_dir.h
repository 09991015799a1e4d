/* The queue directory: its layout, its creation, the room left in it and
 * the cleanup of what dead writers left behind.
 *
 *   tmp/        files being written; each is flock()ed by its writer until
 *               it is complete and fsynced
 *   incoming/   committed, not yet tried
 *   deferred/   tried, waiting for a retry; the file's modification time
 *               is the time of the next attempt
 *   hold/       put aside by the administrator
 *   corrupt/    files the reader refused, kept for inspection
 *   status/     why a deferred message waits (queue_status.h); not queue
 *               files, made by relay when first needed
 *   archive/    with archive = yes, a second hard link of every committed
 *               file, for the archiver, which removes it once its copy is
 *               safe; relay never looks here, so delivering, deferring
 *               or deleting a message leaves the link alone (the inode
 *               outlives the other name)
 *
 * relay flock()s a file while it delivers it.
 *
 * A file is created in tmp/ under its queue id (queue_id.h) and renamed,
 * once complete and fsynced, to incoming/ (the rename never replaces an
 * existing file); then incoming/ itself is fsynced. Only after that does
 * smtpd answer 250. A file is never rewritten, except for the one-byte
 * recipient marks (queue_mark.h), and keeps its name (its queue id) from
 * directory to directory. What is inside a file: queue_record.h. */
#ifndef ALLIGATE_QUEUE_DIR_H
#define ALLIGATE_QUEUE_DIR_H

#include "vbuf.h"

/* Subdirectories of queue_directory. */
#define QUEUE_DIR_TMP       "tmp"
#define QUEUE_DIR_INCOMING  "incoming"
#define QUEUE_DIR_DEFERRED  "deferred"
#define QUEUE_DIR_HOLD      "hold"
#define QUEUE_DIR_CORRUPT   "corrupt"
#define QUEUE_DIR_ARCHIVE   "archive"

/* Makes the subdirectories that are missing; -1 with why. */
int     queue_dir_init(const char *queue_dir, VBUF *why);
/* Sets path to queue_dir/sub/id, or to queue_dir/sub when id is NULL, and
 * returns its text. The one place where queue paths are spelled. */
const char *queue_dir_path(VBUF *path, const char *queue_dir, const char *sub,
                           const char *id);
/* 1 when need_bytes fit while leaving min_free_bytes free, 0 when they do
 * not, -1 (errno set) when the file system cannot be asked. */
int     queue_dir_space_ok(const char *queue_dir,
                           unsigned long long min_free_bytes,
                           unsigned long long need_bytes);
/* Removes tmp/ files older than the given age whose writer is gone;
 * returns how many, or -1 when tmp/ cannot be read. */
int     queue_dir_cleanup_tmp(const char *queue_dir, int older_than_seconds);

#endif
