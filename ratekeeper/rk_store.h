/* ratekeeper's persistent state: every key's sliding window, in a
 * Berkeley DB transactional environment of its own (data_directory/
 * ratekeeper); recovery runs at every open, so a restart or a SIGKILL at
 * any moment finds the counts as of the last committed update.  Log files
 * are removed once a checkpoint no longer needs them.
 *
 * Without the writer thread every put and delete is a transaction of its
 * own (or of the open batch), committed before the call returns.  With
 * it (rk_store_start_writer), they only note the key's latest state, and
 * the writer commits what was noted, continuously, in the background:
 * the disk never stalls the caller, and the database lags it by about one
 * batch. */
#ifndef ALLIGATE_RK_STORE_H
#define ALLIGATE_RK_STORE_H

#include "rk_window.h"
#include "vbuf.h"

#define RK_STORE_DB_NAME    "rate.db"

typedef struct RK_STORE RK_STORE;

/* Opens the environment in dir, creating dir (mode 0700) and the database
 * when missing, after recovery.  Returns NULL with the reason in why. */
RK_STORE *rk_store_open(const char *dir, VBUF *why);
/* Checkpoints and closes; returns -1 with why when that failed (the
 * store is gone either way). */
int rk_store_close(RK_STORE *store, VBUF *why);

/* Writes key's window; an empty window deletes the key.  One
 * transaction each, unless inside a batch. */
int rk_store_put(RK_STORE *store, const char *key, const RK_WINDOW *w,
                 VBUF *why);
/* Deleting an absent key is no error. */
int rk_store_delete(RK_STORE *store, const char *key, VBUF *why);

/* The puts and deletes between begin and end form one transaction. */
int rk_store_batch_begin(RK_STORE *store, VBUF *why);
int rk_store_batch_end(RK_STORE *store, VBUF *why);

/* Enters every stored window into table; the records that are malformed
 * or expired at now are deleted instead.  Returns the number of keys
 * loaded (and *dropped those deleted), or -1 with why. */
long rk_store_load(RK_STORE *store, RK_WINDOW_TABLE *table, long long now,
                   long *dropped, VBUF *why);

/* The writer thread: from now on puts and deletes are committed in the
 * background, with checkpoints.  Returns -1 with why when the thread
 * cannot start (the store then stays synchronous). */
int rk_store_start_writer(RK_STORE *store, VBUF *why);
/* Waits until everything put or deleted so far is committed. */
int rk_store_flush(RK_STORE *store);
/* -1 with the last failure in why when the writer failed since the last
 * call (how often is not said; the caller logs). */
int rk_store_writer_status(RK_STORE *store, VBUF *why);
/* Commits what is left and stops the thread (rk_store_close does it). */
int rk_store_stop_writer(RK_STORE *store, VBUF *why);

/* Writes a checkpoint when kbytes of log were written since the last one
 * or min_minutes passed (0 and 0: now), flushing the log to disk; log
 * files no longer needed go away. */
int rk_store_checkpoint(RK_STORE *store, unsigned kbytes,
                        unsigned min_minutes, VBUF *why);
/* Writes some dirty cache pages ahead of the checkpoint, so that it has
 * less to do at once. */
int rk_store_trickle(RK_STORE *store, VBUF *why);

#endif
