/* The Berkeley DB 5.3 environment of ratekeeper, and its writer thread.
 *
 * - DB_INIT_TXN, DB_INIT_LOCK, DB_INIT_LOG, DB_INIT_MPOOL, and DB_RECOVER
 *   at every open: after a crash the database is what the log says, and
 *   the environment opens cleanly.
 * - DB_PRIVATE: ratekeeper is the only process that opens it, so the
 *   regions live in its memory and a killed ratekeeper leaves no stale
 *   shared region behind.
 * - DB_TXN_WRITE_NOSYNC: a commit write()s the log without waiting for
 *   the disk.  What is committed survives the death of the process (the
 *   bytes are in the kernel); a power failure may lose the last moments,
 *   which the next checkpoint's log flush bounds.
 * - DB_LOG_AUTO_REMOVE: log files go away once a checkpoint made them
 *   unnecessary; the writer checkpoints by the amount of log written.
 *
 * The writer thread (rk_store_start_writer) keeps the disk off the path
 * of the answers: even a write() to the log can wait milliseconds while
 * the file system commits its journal, which would stall every client of
 * a single-threaded daemon.  Once it runs, rk_store_put and
 * rk_store_delete only note the key's latest state in the pending map;
 * the writer takes the whole map at once and commits it, in transactions
 * of up to RK_STORE_BATCH keys, every RK_STORE_ROUND_MS.  So the database
 * lags the answers by a few milliseconds when the disk keeps up, a key
 * updated many times meanwhile is written once, and a SIGKILL loses at
 * most the updates not yet committed.  Only one thread uses Berkeley DB
 * at any time: the caller before the writer starts and after it stops,
 * the writer in between. */
#include <db.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "htable.h"
#include "monotime.h"
#include "msg.h"
#include "mymalloc.h"
#include "rk_store.h"

#define RK_STORE_CACHE_BYTES    (32 * 1024 * 1024)
#define RK_STORE_LOG_FILE_BYTES (4 * 1024 * 1024)
#define RK_STORE_LOG_BUF_BYTES  (256 * 1024)
#define RK_STORE_BATCH          500     /* keys per transaction */
#define RK_STORE_LOCKS          20000   /* locks and lock objects */
#define RK_STORE_TRICKLE_PCT    20
#define RK_STORE_WRITER_NICE    10
#define RK_STORE_ROUND_MS       5       /* the writer takes the map this often */
#define RK_STORE_CHECKPOINT_MS  1000    /* the writer's checkpoint check */
#define RK_STORE_CKP_KBYTES     8192    /* checkpoint after this much log */
#define RK_STORE_CKP_MINUTES    1       /* ... or this long */

/* A key's state waiting for the writer: its record, or a deletion. */
typedef struct RK_STORE_PENDING {
    size_t len;                         /* 0: delete */
    unsigned char data[];               /* len bytes */
} RK_STORE_PENDING;

struct RK_STORE {
    DB_ENV *env;
    DB *db;
    DB_TXN *batch;                      /* open batch, or NULL */
    VBUF *value;                        /* encoding buffer */
    char detail[256];                   /* Berkeley DB's last message */

    /* The writer thread; from `lock` on, the fields are shared with it. */
    int writing;                        /* the thread runs */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;                /* for the writer */
    pthread_cond_t done;                /* for rk_store_flush */
    HTABLE *pending;                    /* key -> RK_STORE_PENDING */
    unsigned long long queued;          /* flushes asked for */
    unsigned long long committed;       /* ... and done */
    int stop;
    unsigned long failures;             /* since rk_store_writer_status */
    char failure[300];                  /* the last one */
};

/* Berkeley DB says more than its error codes through this callback. */
static void
rk_store_errcall(const DB_ENV *env, const char *prefix, const char *text)
{
    RK_STORE *store = env->app_private;

    (void) prefix;
    if (store)
        snprintf(store->detail, sizeof(store->detail), "%s", text);
}

static int
rk_store_fail(RK_STORE *store, VBUF *why, const char *what, int err)
{
    vbuf_set(why, "");
    vbuf_printf(why, "%s: %s", what, db_strerror(err));
    if (store && store->detail[0]) {
        vbuf_printf(why, " (%s)", store->detail);
        store->detail[0] = 0;
    }
    return -1;
}

static int rk_store_txn_commit(RK_STORE *store, VBUF *why);

static void
rk_store_destroy(RK_STORE *store)
{
    if (store->db)
        store->db->close(store->db, 0);
    if (store->env)
        store->env->close(store->env, 0);
    vbuf_free(store->value);
    myfree(store);
}

RK_STORE *
rk_store_open(const char *dir, VBUF *why)
{
    RK_STORE *store = mycalloc(1, sizeof(*store));
    DB_ENV *env;
    int err;

    store->value = vbuf_create(RK_WINDOW_RECORD_MAX);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        vbuf_set(why, "");
        vbuf_printf(why, "mkdir %s: %s", dir, strerror(errno));
        rk_store_destroy(store);
        return NULL;
    }
    if ((err = db_env_create(&env, 0)) != 0) {
        rk_store_fail(store, why, "db_env_create", err);
        rk_store_destroy(store);
        return NULL;
    }
    store->env = env;
    env->app_private = store;
    env->set_errcall(env, rk_store_errcall);
    if ((err = env->set_cachesize(env, 0, RK_STORE_CACHE_BYTES, 1)) != 0
        || (err = env->set_lg_max(env, RK_STORE_LOG_FILE_BYTES)) != 0
        || (err = env->set_lg_bsize(env, RK_STORE_LOG_BUF_BYTES)) != 0
        || (err = env->set_lk_max_locks(env, RK_STORE_LOCKS)) != 0
        || (err = env->set_lk_max_objects(env, RK_STORE_LOCKS)) != 0
        || (err = env->set_flags(env, DB_TXN_WRITE_NOSYNC, 1)) != 0
        || (err = env->log_set_config(env, DB_LOG_AUTO_REMOVE, 1)) != 0) {
        rk_store_fail(store, why, "configuring the environment", err);
        rk_store_destroy(store);
        return NULL;
    }
    err = env->open(env, dir, DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK
                    | DB_INIT_LOG | DB_INIT_MPOOL | DB_RECOVER | DB_PRIVATE,
                    0600);
    if (err != 0) {
        vbuf_set(why, "");
        rk_store_fail(store, why, "opening the environment", err);
        vbuf_printf(why, " in %s", dir);
        rk_store_destroy(store);
        return NULL;
    }
    if ((err = db_create(&store->db, env, 0)) != 0
        || (err = store->db->open(store->db, NULL, RK_STORE_DB_NAME, NULL,
                                  DB_BTREE, DB_CREATE | DB_AUTO_COMMIT,
                                  0600)) != 0) {
        rk_store_fail(store, why, "opening " RK_STORE_DB_NAME, err);
        rk_store_destroy(store);
        return NULL;
    }
    return store;
}

int
rk_store_close(RK_STORE *store, VBUF *why)
{
    int status = 0, err;

    if (store->writing)
        status = rk_store_stop_writer(store, why);
    if (store->batch)
        rk_store_txn_commit(store, why);
    if ((err = store->env->txn_checkpoint(store->env, 0, 0, 0)) != 0 && status == 0)
        status = rk_store_fail(store, why, "checkpoint", err);
    err = store->db->close(store->db, 0);
    store->db = NULL;
    if (err != 0 && status == 0)
        status = rk_store_fail(store, why, "closing the database", err);
    err = store->env->close(store->env, 0);
    store->env = NULL;
    if (err != 0 && status == 0)
        status = rk_store_fail(NULL, why, "closing the environment", err);
    rk_store_destroy(store);
    return status;
}

static void
rk_store_dbt(DBT *dbt, const void *data, size_t len)
{
    memset(dbt, 0, sizeof(*dbt));
    dbt->data = (void *) data;
    dbt->size = (u_int32_t) len;
}

/* One put or delete, in the open batch or in a transaction of its own. */
static int
rk_store_write(RK_STORE *store, const char *key, const VBUF *value,
               VBUF *why)
{
    DB_TXN *txn = store->batch;
    DBT k, v;
    int err;

    if (txn == NULL && (err = store->env->txn_begin(store->env, NULL, &txn,
                                                    0)) != 0)
        return rk_store_fail(store, why, "txn_begin", err);
    rk_store_dbt(&k, key, strlen(key));
    if (value) {
        rk_store_dbt(&v, vbuf_str(value), vbuf_len(value));
        err = store->db->put(store->db, txn, &k, &v, 0);
    } else {
        err = store->db->del(store->db, txn, &k, 0);
        if (err == DB_NOTFOUND)
            err = 0;
    }
    if (store->batch)
        return err ? rk_store_fail(store, why, value ? "put" : "del", err) : 0;
    if (err != 0) {
        txn->abort(txn);
        return rk_store_fail(store, why, value ? "put" : "del", err);
    }
    if ((err = txn->commit(txn, 0)) != 0)
        return rk_store_fail(store, why, "commit", err);
    return 0;
}

/* Notes key's latest state (value NULL: deleted) for the writer. */
static void
rk_store_queue(RK_STORE *store, const char *key, const VBUF *value)
{
    size_t len = value ? vbuf_len(value) : 0;
    HTABLE_ENTRY *entry;
    RK_STORE_PENDING *p;

    if (len > RK_WINDOW_RECORD_MAX)
        msg_panic("rk_store_queue: record of %zu bytes", len);
    pthread_mutex_lock(&store->lock);
    if ((entry = htable_locate(store->pending, key)) == NULL)
        entry = htable_enter(store->pending, key, NULL);
    p = entry->value;
    if (p == NULL || p->len != len)
        entry->value = p = myrealloc(p, sizeof(*p) + len);
    p->len = len;
    if (len)
        memcpy(p->data, vbuf_str(value), len);
    /* No wake-up: the writer comes every RK_STORE_ROUND_MS by itself, so
     * that a busy ratekeeper does not pay a thread switch per update. */
    pthread_mutex_unlock(&store->lock);
}

int
rk_store_put(RK_STORE *store, const char *key, const RK_WINDOW *w,
             VBUF *why)
{
    const VBUF *value = NULL;

    if (w->nbuckets > 0) {
        vbuf_reset(store->value);
        rk_window_encode(w, store->value);
        value = store->value;
    }
    if (store->writing) {
        rk_store_queue(store, key, value);
        return 0;
    }
    return rk_store_write(store, key, value, why);
}

int
rk_store_delete(RK_STORE *store, const char *key, VBUF *why)
{
    if (store->writing) {
        rk_store_queue(store, key, NULL);
        return 0;
    }
    return rk_store_write(store, key, NULL, why);
}

/* The transaction that the following writes join. */
static int
rk_store_txn_begin(RK_STORE *store, VBUF *why)
{
    int err;

    if (store->batch)
        msg_panic("rk_store_txn_begin: a batch is open");
    if ((err = store->env->txn_begin(store->env, NULL, &store->batch, 0)) != 0) {
        store->batch = NULL;
        return rk_store_fail(store, why, "txn_begin", err);
    }
    return 0;
}

static int
rk_store_txn_commit(RK_STORE *store, VBUF *why)
{
    DB_TXN *txn = store->batch;
    int err;

    if (txn == NULL)
        msg_panic("rk_store_txn_commit: no batch");
    store->batch = NULL;
    if ((err = txn->commit(txn, 0)) != 0)
        return rk_store_fail(store, why, "commit", err);
    return 0;
}

int
rk_store_batch_begin(RK_STORE *store, VBUF *why)
{
    /* With the writer, everything is batched anyway. */
    return store->writing ? 0 : rk_store_txn_begin(store, why);
}

int
rk_store_batch_end(RK_STORE *store, VBUF *why)
{
    return store->writing ? 0 : rk_store_txn_commit(store, why);
}

/* Deletes the NUL-separated keys in list, in transactions of a few
 * hundred. */
static int
rk_store_delete_list(RK_STORE *store, const VBUF *list, VBUF *why)
{
    const char *key = vbuf_str(list), *end = key + vbuf_len(list);
    int n = 0;

    while (key < end) {
        if (n == 0 && rk_store_txn_begin(store, why) < 0)
            return -1;
        if (rk_store_delete(store, key, why) < 0) {
            store->batch->abort(store->batch);
            store->batch = NULL;
            return -1;
        }
        key += strlen(key) + 1;
        if (++n == RK_STORE_BATCH || key >= end) {
            n = 0;
            if (rk_store_txn_commit(store, why) < 0)
                return -1;
        }
    }
    return 0;
}

long
rk_store_load(RK_STORE *store, RK_WINDOW_TABLE *table, long long now,
              long *dropped, VBUF *why)
{
    VBUF *doomed = vbuf_create(256);
    VBUF *key = vbuf_create(128);
    RK_WINDOW w, *tw;
    DBC *cursor;
    DBT k, v;
    long loaded = 0;
    int err;

    *dropped = 0;
    if ((err = store->db->cursor(store->db, NULL, &cursor, 0)) != 0) {
        vbuf_free(doomed);
        vbuf_free(key);
        return rk_store_fail(store, why, "cursor", err);
    }
    rk_window_init(&w);
    memset(&k, 0, sizeof(k));
    memset(&v, 0, sizeof(v));
    while ((err = cursor->get(cursor, &k, &v, DB_NEXT)) == 0) {
        vbuf_reset(key);
        vbuf_append(key, k.data, k.size);
        /* A key with a NUL in it was never written by us. */
        if (strlen(vbuf_str(key)) != vbuf_len(key)
            || rk_window_decode(&w, v.data, v.size) < 0
            || rk_window_expired(&w, now)) {
            if (strlen(vbuf_str(key)) == vbuf_len(key)) {
                vbuf_append(doomed, vbuf_str(key), vbuf_len(key) + 1);
                ++*dropped;
            }
            continue;
        }
        tw = rk_window_table_enter(table, vbuf_str(key));
        rk_window_clear(tw);
        *tw = w;
        rk_window_init(&w);
        loaded++;
    }
    rk_window_clear(&w);
    cursor->close(cursor);
    vbuf_free(key);
    if (err != DB_NOTFOUND) {
        vbuf_free(doomed);
        return rk_store_fail(store, why, "reading " RK_STORE_DB_NAME, err);
    }
    err = rk_store_delete_list(store, doomed, why);
    vbuf_free(doomed);
    return err < 0 ? -1 : loaded;
}

int
rk_store_checkpoint(RK_STORE *store, unsigned kbytes, unsigned min_minutes,
                    VBUF *why)
{
    int err;

    if ((err = store->env->txn_checkpoint(store->env, kbytes, min_minutes,
                                          0)) != 0)
        return rk_store_fail(store, why, "checkpoint", err);
    return 0;
}

int
rk_store_trickle(RK_STORE *store, VBUF *why)
{
    int err, written;

    if ((err = store->env->memp_trickle(store->env, RK_STORE_TRICKLE_PCT,
                                        &written)) != 0)
        return rk_store_fail(store, why, "memp_trickle", err);
    return 0;
}

/* The writer thread ------------------------------------------------------ */

typedef struct RK_STORE_TAKEN {
    RK_STORE *store;
    const char **keys;
    RK_STORE_PENDING **values;
    size_t n;
} RK_STORE_TAKEN;

static void
rk_store_take_one(const HTABLE_ENTRY *entry, void *context)
{
    RK_STORE_TAKEN *taken = context;

    taken->keys[taken->n] = entry->key;
    taken->values[taken->n] = entry->value;
    taken->n++;
}

/* Notes a failure for rk_store_writer_status(); with the lock held. */
static void
rk_store_writer_failed(RK_STORE *store, VBUF *why)
{
    store->failures++;
    snprintf(store->failure, sizeof(store->failure), "%s", vbuf_str(why));
}

/* Writes a map taken from pending, in transactions of RK_STORE_BATCH
 * keys; returns -1 (with why) when a transaction failed.  The keys of a
 * failed transaction are not tried again: each is written anew with its
 * next update, and a failing disk is reported meanwhile. */
static int
rk_store_write_map(RK_STORE *store, HTABLE *map, VBUF *why)
{
    RK_STORE_TAKEN taken;
    VBUF *value = vbuf_create(RK_WINDOW_RECORD_MAX);
    size_t i, n = 0;
    int status = 0;

    taken.store = store;
    taken.n = 0;
    taken.keys = mymalloc((htable_used(map) + 1) * sizeof(*taken.keys));
    taken.values = mymalloc((htable_used(map) + 1) * sizeof(*taken.values));
    htable_walk(map, rk_store_take_one, &taken);
    for (i = 0; i < taken.n; i++) {
        if (n == 0 && rk_store_txn_begin(store, why) < 0) {
            status = -1;
            break;
        }
        vbuf_reset(value);
        vbuf_append(value, taken.values[i]->data, taken.values[i]->len);
        if (rk_store_write(store, taken.keys[i],
                           taken.values[i]->len ? value : NULL, why) < 0) {
            store->batch->abort(store->batch);
            store->batch = NULL;
            status = -1;
            n = 0;
            continue;
        }
        if (++n == RK_STORE_BATCH || i + 1 == taken.n) {
            n = 0;
            if (rk_store_txn_commit(store, why) < 0)
                status = -1;
        }
    }
    myfree(taken.keys);
    myfree(taken.values);
    vbuf_free(value);
    return status;
}

static void
rk_store_free_pending(void *value)
{
    myfree(value);
}

static void *
rk_store_writer(void *context)
{
    RK_STORE *store = context;
    VBUF *why = vbuf_create(100);
    long long last_checkpoint = monotime_ms();
    long long round = 0;
    unsigned long long taking;
    struct timespec until;
    HTABLE *map, *fresh;
    size_t expect = 1024;
    int stop, status;

    /* The answers come first: on a busy machine the writer yields the CPU
     * to the event loop (a nice value is per thread on Linux). */
    if (setpriority(PRIO_PROCESS, (id_t) gettid(), RK_STORE_WRITER_NICE) < 0) {
        /* Not fatal: only the latency of the answers suffers. */
    }
    /* The map that replaces the pending one is made before the lock is
     * taken: the event loop waits for that lock. */
    fresh = htable_create(expect);
    pthread_mutex_lock(&store->lock);
    for (;;) {
        /* Until the next round with something to write, a checkpoint to
         * consider, or a flush or stop to do. */
        while (!store->stop && store->committed == store->queued
               && (monotime_ms() - round < RK_STORE_ROUND_MS
                   || htable_used(store->pending) == 0)
               && monotime_ms() - last_checkpoint < RK_STORE_CHECKPOINT_MS) {
            monotime_deadline(&until, RK_STORE_ROUND_MS);
            pthread_cond_timedwait(&store->wake, &store->lock, &until);
        }
        round = monotime_ms();
        stop = store->stop;
        map = store->pending;
        store->pending = fresh;
        taking = store->queued;
        pthread_mutex_unlock(&store->lock);

        status = rk_store_write_map(store, map, why);
        expect = htable_used(map);
        htable_free(map, rk_store_free_pending);
        fresh = htable_create(expect);
        if (!stop && monotime_ms() - last_checkpoint >= RK_STORE_CHECKPOINT_MS) {
            last_checkpoint = monotime_ms();
            if (status == 0
                && (rk_store_trickle(store, why) < 0
                    || rk_store_checkpoint(store, RK_STORE_CKP_KBYTES,
                                           RK_STORE_CKP_MINUTES, why) < 0))
                status = -1;
        }

        pthread_mutex_lock(&store->lock);
        if (status < 0)
            rk_store_writer_failed(store, why);
        store->committed = taking;
        pthread_cond_broadcast(&store->done);
        if (stop && htable_used(store->pending) == 0)
            break;
    }
    pthread_mutex_unlock(&store->lock);
    htable_free(fresh, NULL);
    vbuf_free(why);
    return NULL;
}

int
rk_store_start_writer(RK_STORE *store, VBUF *why)
{
    pthread_condattr_t monotonic;
    int err;

    if (store->writing)
        msg_panic("rk_store_start_writer: already started");
    pthread_mutex_init(&store->lock, NULL);
    /* The writer's timed wait is on the monotonic clock (monotime). */
    pthread_condattr_init(&monotonic);
    pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
    pthread_cond_init(&store->wake, &monotonic);
    pthread_condattr_destroy(&monotonic);
    pthread_cond_init(&store->done, NULL);
    store->pending = htable_create(1024);
    store->queued = store->committed = 0;
    store->stop = 0;
    store->failures = 0;
    if ((err = pthread_create(&store->thread, NULL, rk_store_writer, store)) != 0) {
        vbuf_set(why, "");
        vbuf_printf(why, "cannot start the writer thread: %s", strerror(err));
        htable_free(store->pending, rk_store_free_pending);
        return -1;
    }
    store->writing = 1;
    return 0;
}

int
rk_store_flush(RK_STORE *store)
{
    unsigned long long want;

    if (!store->writing)
        return 0;
    pthread_mutex_lock(&store->lock);
    want = ++store->queued;
    pthread_cond_signal(&store->wake);
    while (store->committed < want)
        pthread_cond_wait(&store->done, &store->lock);
    pthread_mutex_unlock(&store->lock);
    return 0;
}

int
rk_store_writer_status(RK_STORE *store, VBUF *why)
{
    unsigned long failures;

    if (!store->writing)
        return 0;
    pthread_mutex_lock(&store->lock);
    failures = store->failures;
    if (failures) {
        vbuf_set(why, store->failure);
        store->failures = 0;
    }
    pthread_mutex_unlock(&store->lock);
    return failures ? -1 : 0;
}

int
rk_store_stop_writer(RK_STORE *store, VBUF *why)
{
    int status;

    if (!store->writing)
        return 0;
    pthread_mutex_lock(&store->lock);
    store->stop = 1;
    pthread_cond_signal(&store->wake);
    pthread_mutex_unlock(&store->lock);
    pthread_join(store->thread, NULL);
    status = rk_store_writer_status(store, why);
    store->writing = 0;
    htable_free(store->pending, rk_store_free_pending);
    store->pending = NULL;
    pthread_mutex_destroy(&store->lock);
    pthread_cond_destroy(&store->wake);
    pthread_cond_destroy(&store->done);
    return status;
}
