/* Queue watch: the queue ids an inotify descriptor has news of.
 *
 *   The archiver and relay both watch a queue directory for new links named
 *   after queue ids; this reads every pending event and hands over the
 *   names, so the two read inotify the same way. */
#ifndef ALLIGATE_QUEUE_WATCH_H
#define ALLIGATE_QUEUE_WATCH_H

typedef void (*QUEUE_WATCH_FN) (const char *id, void *context);

/* Reads the non-blocking inotify fd until it would block, calling fn for
 * each event whose name is a valid queue id; other names are ignored.
 * Returns 1 when the kernel reported an overflow (events were lost: the
 * caller rescans the directory), else 0. */
int     queue_watch_read(int fd, QUEUE_WATCH_FN fn, void *context);

#endif
