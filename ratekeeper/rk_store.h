/* ratekeeper's persistent state: every key's sliding window, in a
 * Berkeley DB transactional environment of its own (data_directory/
 * ratekeeper).  Each update is one committed transaction, written to the
 * log before ratekeeper answers, so a restart or a SIGKILL at any moment
 * finds the counts as of the last answer; recovery runs at every open.
 * Log files are removed once a checkpoint no longer needs them. */
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

/* Writes a checkpoint when kbytes of log were written since the last one
 * or min_minutes passed (0 and 0: now), flushing the log to disk; log
 * files no longer needed go away. */
int rk_store_checkpoint(RK_STORE *store, unsigned kbytes,
                        unsigned min_minutes, VBUF *why);
/* Writes some dirty cache pages ahead of the checkpoint, so that it has
 * less to do at once. */
int rk_store_trickle(RK_STORE *store, VBUF *why);

#endif
