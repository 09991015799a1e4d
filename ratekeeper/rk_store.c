/* The Berkeley DB 5.3 environment of ratekeeper.
 *
 * - DB_INIT_TXN, DB_INIT_LOCK, DB_INIT_LOG, DB_INIT_MPOOL, and DB_RECOVER
 *   at every open: after a crash the database is what the log says, and
 *   the environment opens cleanly.
 * - DB_PRIVATE: ratekeeper is the only process that opens it, so the
 *   regions live in its memory and a killed ratekeeper leaves no stale
 *   shared region behind.
 * - DB_TXN_WRITE_NOSYNC: a commit write()s the log before ratekeeper
 *   answers, without waiting for the disk.  That survives the death of
 *   the process at any moment (the bytes are in the kernel); what a power
 *   failure may lose is the last moments of counts, which the next
 *   checkpoint's log flush bounds.  Waiting for the disk on every message
 *   would cap ratekeeper at the disk's sync rate.
 * - DB_LOG_AUTO_REMOVE: log files go away once a checkpoint made them
 *   unnecessary; ratekeeper checkpoints by the amount of log written. */
#include <db.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "msg.h"
#include "mymalloc.h"
#include "rk_store.h"

#define RK_STORE_CACHE_BYTES    (32 * 1024 * 1024)
#define RK_STORE_LOG_FILE_BYTES (4 * 1024 * 1024)
#define RK_STORE_LOG_BUF_BYTES  (256 * 1024)
#define RK_STORE_DELETE_BATCH   500
#define RK_STORE_TRICKLE_PCT    20

struct RK_STORE {
    DB_ENV *env;
    DB *db;
    DB_TXN *batch;                      /* open batch, or NULL */
    VBUF *value;                        /* encoding buffer */
    char detail[256];                   /* Berkeley DB's last message */
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

    if (store->batch)
        rk_store_batch_end(store, why);
    if ((err = store->env->txn_checkpoint(store->env, 0, 0, 0)) != 0)
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

int
rk_store_put(RK_STORE *store, const char *key, const RK_WINDOW *w,
             VBUF *why)
{
    if (w->nbuckets == 0)
        return rk_store_write(store, key, NULL, why);
    vbuf_reset(store->value);
    rk_window_encode(w, store->value);
    return rk_store_write(store, key, store->value, why);
}

int
rk_store_delete(RK_STORE *store, const char *key, VBUF *why)
{
    return rk_store_write(store, key, NULL, why);
}

int
rk_store_batch_begin(RK_STORE *store, VBUF *why)
{
    int err;

    if (store->batch)
        msg_panic("rk_store_batch_begin: a batch is open");
    if ((err = store->env->txn_begin(store->env, NULL, &store->batch, 0)) != 0) {
        store->batch = NULL;
        return rk_store_fail(store, why, "txn_begin", err);
    }
    return 0;
}

int
rk_store_batch_end(RK_STORE *store, VBUF *why)
{
    DB_TXN *txn = store->batch;
    int err;

    if (txn == NULL)
        msg_panic("rk_store_batch_end: no batch");
    store->batch = NULL;
    if ((err = txn->commit(txn, 0)) != 0)
        return rk_store_fail(store, why, "commit", err);
    return 0;
}

/* Deletes the NUL-separated keys in list, in transactions of a few
 * hundred. */
static int
rk_store_delete_list(RK_STORE *store, const VBUF *list, VBUF *why)
{
    const char *key = vbuf_str(list), *end = key + vbuf_len(list);
    int n = 0;

    while (key < end) {
        if (n == 0 && rk_store_batch_begin(store, why) < 0)
            return -1;
        if (rk_store_delete(store, key, why) < 0) {
            store->batch->abort(store->batch);
            store->batch = NULL;
            return -1;
        }
        key += strlen(key) + 1;
        if (++n == RK_STORE_DELETE_BATCH || key >= end) {
            n = 0;
            if (rk_store_batch_end(store, why) < 0)
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
