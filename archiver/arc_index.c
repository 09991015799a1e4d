/* The archive index in Berkeley DB: the environment, the primary and its
 * secondaries (DB->associate), the totals; see arc_index.h. */
#include <db.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arc_index.h"
#include "arc_keys.h"
#include "arc_record.h"
#include "msg.h"
#include "mymalloc.h"

#define ARC_INDEX_CACHE_BYTES   (32 * 1024 * 1024)
#define ARC_INDEX_LOG_FILE      (4 * 1024 * 1024)
#define ARC_INDEX_LOG_BUF       (256 * 1024)
#define ARC_INDEX_LOCKS         100000
#define ARC_INDEX_CKP_KBYTES    8192
#define ARC_INDEX_CKP_MINUTES   1

#define ARC_INDEX_PRIMARY       "records.db"
#define ARC_INDEX_META          "meta.db"
#define ARC_INDEX_BUILD_PREFIX  "new-"      /* the index a rebuild makes */
#define ARC_INDEX_TOTALS_KEY    "totals"

static const char *arc_index_sec_names[ARC_INDEX_NSEC] = {
    "sender.db", "rcpt.db", "client.db", "msgid.db", "subject.db", "time.db",
};

/* What a secondary's key callback needs to know: which one it is. */
static int arc_index_which[ARC_INDEX_NSEC] = {
    ARC_INDEX_SENDER, ARC_INDEX_RCPT, ARC_INDEX_CLIENT, ARC_INDEX_MSGID,
    ARC_INDEX_SUBJECT, ARC_INDEX_TIME,
};

struct ARC_INDEX {
    DB_ENV *env;
    DB     *primary;
    DB     *sec[ARC_INDEX_NSEC];
    DB     *meta;
    DB_TXN *txn;
    char    detail[256];
    /* During a rebuild: the new databases, in the same environment (so
     * one transaction covers both), sharing env and txn. */
    struct ARC_INDEX *build;
    int     is_build;
};

static void
arc_index_errcall(const DB_ENV *env, const char *prefix, const char *text)
{
    ARC_INDEX *index = env->app_private;

    (void) prefix;
    if (index)
        snprintf(index->detail, sizeof(index->detail), "%s", text);
}

static int
arc_index_fail(ARC_INDEX *index, VBUF *why, const char *what, int err)
{
    vbuf_set(why, "");
    vbuf_printf(why, "%s: %s", what, db_strerror(err));
    if (index && index->detail[0]) {
        vbuf_printf(why, " (%s)", index->detail);
        index->detail[0] = 0;
    }
    return -1;
}

static void
arc_index_dbt(DBT *dbt, const void *data, size_t len)
{
    memset(dbt, 0, sizeof(*dbt));
    dbt->data = (void *) data;
    dbt->size = (u_int32_t) len;
}

/* Secondary keys --------------------------------------------------------- */

/* The keys of one record for one secondary. */
static void
arc_index_keys(int which, const ARC_RECORD *rec, ARC_KEYS *keys)
{
    unsigned char tkey[ARC_KEYS_TIME_LEN];
    VBUF   *key;
    size_t  i;

    switch (which) {
    case ARC_INDEX_SENDER:
        arc_keys_address_all(keys, rec->sender);
        break;
    case ARC_INDEX_RCPT:
        for (i = 0; i < rec->rcpt_count; i++)
            arc_keys_address_all(keys, rec->rcpt[i]);
        break;
    case ARC_INDEX_CLIENT:
        if (*rec->client_addr) {
            key = vbuf_create(64);
            arc_keys_client(key, rec->client_addr);
            arc_keys_add(keys, vbuf_str(key), vbuf_len(key));
            vbuf_free(key);
        }
        break;
    case ARC_INDEX_MSGID:
        arc_keys_add(keys, rec->message_id, strlen(rec->message_id));
        break;
    case ARC_INDEX_SUBJECT:
        arc_keys_words(keys, rec->subject);
        break;
    case ARC_INDEX_TIME:
        /* Binary: may hold NUL bytes, so not through arc_keys_add. */
        arc_keys_time(tkey, rec->arrival);
        vbuf_append(keys->buf, tkey, sizeof(tkey));
        keys->count = 1;
        break;
    }
}

static int
arc_index_callback(DB *sdb, const DBT *pkey, const DBT *pdata, DBT *skey)
{
    int     which = *(int *) sdb->app_private;
    ARC_RECORD rec;
    ARC_KEYS keys;
    const char *cursor = NULL, *k;
    DBT    *list;
    size_t  i;

    (void) pkey;
    if (arc_record_decode(pdata->data, pdata->size, &rec) < 0)
        return DB_DONOTINDEX;
    arc_keys_init(&keys);
    arc_index_keys(which, &rec, &keys);
    arc_record_release(&rec);
    if (keys.count == 0) {
        arc_keys_free(&keys);
        return DB_DONOTINDEX;
    }
    memset(skey, 0, sizeof(*skey));
    if (which == ARC_INDEX_TIME) {
        skey->data = mymemdup(vbuf_str(keys.buf), ARC_KEYS_TIME_LEN);
        skey->size = ARC_KEYS_TIME_LEN;
        skey->flags = DB_DBT_APPMALLOC;
    } else {
        /* Berkeley DB frees the array and each key with free(). */
        list = mycalloc(keys.count, sizeof(*list));
        for (i = 0; (k = arc_keys_next(&keys, &cursor)) != NULL; i++) {
            list[i].data = mymemdup(k, strlen(k));
            list[i].size = (u_int32_t) strlen(k);
            list[i].flags = DB_DBT_APPMALLOC;
        }
        skey->data = list;
        skey->size = (u_int32_t) keys.count;
        skey->flags = DB_DBT_MULTIPLE | DB_DBT_APPMALLOC;
    }
    arc_keys_free(&keys);
    return 0;
}

/* Opening and closing ------------------------------------------------------ */

static void
arc_index_destroy(ARC_INDEX *index)
{
    index->txn = NULL;
    int     i;

    /* Secondaries before their primary. */
    for (i = 0; i < ARC_INDEX_NSEC; i++)
        if (index->sec[i])
            index->sec[i]->close(index->sec[i], 0);
    if (index->primary)
        index->primary->close(index->primary, 0);
    if (index->meta)
        index->meta->close(index->meta, 0);
    if (index->build)
        arc_index_destroy(index->build);
    if (index->env && !index->is_build)
        index->env->close(index->env, 0);
    myfree(index);
}

static int
arc_index_open_db(ARC_INDEX *index, DB **dbp, const char *name, u_int32_t dbflags,
                  VBUF *why)
{
    int     err;

    if ((err = db_create(dbp, index->env, 0)) != 0)
        return arc_index_fail(index, why, "db_create", err);
    if (dbflags && (err = (*dbp)->set_flags(*dbp, dbflags)) != 0)
        return arc_index_fail(index, why, name, err);
    if ((err = (*dbp)->open(*dbp, NULL, name, NULL, DB_BTREE, DB_CREATE | DB_AUTO_COMMIT,
                            0600)) != 0) {
        vbuf_set(why, "");
        arc_index_fail(index, why, "opening", err);
        vbuf_printf(why, " %s", name);
        return -1;
    }
    return 0;
}

/* The databases, their names prefixed; -1 with why (those opened stay
 * for arc_index_destroy). */
static int
arc_index_open_dbs(ARC_INDEX *index, const char *prefix, VBUF *why)
{
    char    name[64];
    int     err, i;

    snprintf(name, sizeof(name), "%s%s", prefix, ARC_INDEX_PRIMARY);
    if (arc_index_open_db(index, &index->primary, name, 0, why) < 0)
        return -1;
    snprintf(name, sizeof(name), "%s%s", prefix, ARC_INDEX_META);
    if (arc_index_open_db(index, &index->meta, name, 0, why) < 0)
        return -1;
    for (i = 0; i < ARC_INDEX_NSEC; i++) {
        snprintf(name, sizeof(name), "%s%s", prefix, arc_index_sec_names[i]);
        if (arc_index_open_db(index, &index->sec[i], name, DB_DUP | DB_DUPSORT, why) < 0)
            return -1;
        index->sec[i]->app_private = &arc_index_which[i];
        /* DB_CREATE: a secondary found empty (lost, or new in this
         * version) is built from the primary. */
        if ((err = index->primary->associate(index->primary, NULL, index->sec[i],
                                             arc_index_callback, DB_CREATE)) != 0) {
            arc_index_fail(index, why, "associating", err);
            vbuf_printf(why, " %s", name);
            return -1;
        }
    }
    return 0;
}

/* Closes the databases (secondaries before their primary); -1 with why
 * for the first that failed. */
static int
arc_index_close_dbs(ARC_INDEX *index, VBUF *why)
{
    int     status = 0, err, i;

    for (i = 0; i < ARC_INDEX_NSEC; i++) {
        if (index->sec[i] == NULL)
            continue;
        err = index->sec[i]->close(index->sec[i], 0);
        index->sec[i] = NULL;
        if (err != 0 && status == 0)
            status = arc_index_fail(index, why, "closing a secondary", err);
    }
    if (index->primary) {
        err = index->primary->close(index->primary, 0);
        index->primary = NULL;
        if (err != 0 && status == 0)
            status = arc_index_fail(index, why, "closing the records", err);
    }
    if (index->meta) {
        err = index->meta->close(index->meta, 0);
        index->meta = NULL;
        if (err != 0 && status == 0)
            status = arc_index_fail(index, why, "closing the totals", err);
    }
    return status;
}

ARC_INDEX *
arc_index_open(const char *dir, VBUF *why)
{
    ARC_INDEX *index = mycalloc(1, sizeof(*index));
    DB_ENV *env;
    int     err;

    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        vbuf_set(why, "");
        vbuf_printf(why, "mkdir %s: %s", dir, strerror(errno));
        arc_index_destroy(index);
        return NULL;
    }
    if ((err = db_env_create(&env, 0)) != 0) {
        arc_index_fail(index, why, "db_env_create", err);
        arc_index_destroy(index);
        return NULL;
    }
    index->env = env;
    env->app_private = index;
    env->set_errcall(env, arc_index_errcall);
    if ((err = env->set_cachesize(env, 0, ARC_INDEX_CACHE_BYTES, 1)) != 0
        || (err = env->set_lg_max(env, ARC_INDEX_LOG_FILE)) != 0
        || (err = env->set_lg_bsize(env, ARC_INDEX_LOG_BUF)) != 0
        || (err = env->set_lk_max_locks(env, ARC_INDEX_LOCKS)) != 0
        || (err = env->set_lk_max_objects(env, ARC_INDEX_LOCKS)) != 0
        || (err = env->set_lk_max_lockers(env, 1000)) != 0
        || (err = env->set_flags(env, DB_TXN_WRITE_NOSYNC, 1)) != 0
        || (err = env->log_set_config(env, DB_LOG_AUTO_REMOVE, 1)) != 0) {
        arc_index_fail(index, why, "configuring the environment", err);
        arc_index_destroy(index);
        return NULL;
    }
    err = env->open(env, dir, DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG
                    | DB_INIT_MPOOL | DB_RECOVER | DB_PRIVATE, 0600);
    if (err != 0) {
        arc_index_fail(index, why, "opening the environment", err);
        vbuf_printf(why, " in %s", dir);
        arc_index_destroy(index);
        return NULL;
    }
    if (arc_index_open_dbs(index, "", why) < 0) {
        arc_index_destroy(index);
        return NULL;
    }
    return index;
}

int
arc_index_close(ARC_INDEX *index, VBUF *why)
{
    int     status = 0, err;

    if (index->txn)
        arc_index_abort(index);
    /* An unfinished rebuild's databases stay for the next to remove. */
    if (index->build) {
        (void) arc_index_close_dbs(index->build, why);
        index->build->env = NULL;
        arc_index_destroy(index->build);
        index->build = NULL;
    }
    if ((err = index->env->txn_checkpoint(index->env, 0, 0, 0)) != 0)
        status = arc_index_fail(index, why, "checkpoint", err);
    if (arc_index_close_dbs(index, why) < 0 && status == 0)
        status = -1;
    err = index->env->close(index->env, 0);
    index->env = NULL;
    if (err != 0 && status == 0)
        status = arc_index_fail(NULL, why, "closing the environment", err);
    arc_index_destroy(index);
    return status;
}

/* Transactions ------------------------------------------------------------- */

int
arc_index_begin(ARC_INDEX *index, VBUF *why)
{
    int     err;

    if (index->txn)
        msg_panic("arc_index_begin: a transaction is open");
    if ((err = index->env->txn_begin(index->env, NULL, &index->txn, 0)) != 0) {
        index->txn = NULL;
        return arc_index_fail(index, why, "txn_begin", err);
    }
    return 0;
}

int
arc_index_commit(ARC_INDEX *index, VBUF *why)
{
    DB_TXN *txn = index->txn;
    int     err;

    if (txn == NULL)
        msg_panic("arc_index_commit: no transaction");
    index->txn = NULL;
    if ((err = txn->commit(txn, 0)) != 0)
        return arc_index_fail(index, why, "commit", err);
    return 0;
}

void
arc_index_abort(ARC_INDEX *index)
{
    if (index->txn) {
        index->txn->abort(index->txn);
        index->txn = NULL;
    }
}

/* Totals ------------------------------------------------------------------- */

static int
arc_index_read_totals(ARC_INDEX *index, DB_TXN *txn, u_int32_t flags, ARC_INDEX_TOTALS *t,
                      VBUF *why)
{
    char    buf[100];
    DBT     k, v;
    int     err;

    memset(t, 0, sizeof(*t));
    arc_index_dbt(&k, ARC_INDEX_TOTALS_KEY, strlen(ARC_INDEX_TOTALS_KEY));
    memset(&v, 0, sizeof(v));
    err = index->meta->get(index->meta, txn, &k, &v, flags);
    if (err == DB_NOTFOUND)
        return 0;
    if (err != 0)
        return arc_index_fail(index, why, "reading the totals", err);
    if (v.size >= sizeof(buf))
        return 0;
    memcpy(buf, v.data, v.size);
    buf[v.size] = 0;
    if (sscanf(buf, "%lld %lld %lld", &t->count, &t->raw, &t->stored) != 3)
        memset(t, 0, sizeof(*t));
    return 0;
}

static int
arc_index_write_totals(ARC_INDEX *index, const ARC_INDEX_TOTALS *t, VBUF *why)
{
    char    buf[100];
    DBT     k, v;
    int     err, n;

    n = snprintf(buf, sizeof(buf), "%lld %lld %lld", t->count < 0 ? 0 : t->count,
                 t->raw < 0 ? 0 : t->raw, t->stored < 0 ? 0 : t->stored);
    arc_index_dbt(&k, ARC_INDEX_TOTALS_KEY, strlen(ARC_INDEX_TOTALS_KEY));
    arc_index_dbt(&v, buf, (size_t) n);
    if ((err = index->meta->put(index->meta, index->txn, &k, &v, 0)) != 0)
        return arc_index_fail(index, why, "writing the totals", err);
    return 0;
}

int
arc_index_totals(ARC_INDEX *index, ARC_INDEX_TOTALS *totals, VBUF *why)
{
    return arc_index_read_totals(index, index->txn, 0, totals, why);
}

/* Records ------------------------------------------------------------------ */

/* The sizes of the record stored under key, when there is one: 1, 0, -1. */
static int
arc_index_old_sizes(ARC_INDEX *index, DBT *key, long long *raw, long long *stored, VBUF *why)
{
    ARC_RECORD rec;
    DBT     v;
    int     err;

    memset(&v, 0, sizeof(v));
    err = index->primary->get(index->primary, index->txn, key, &v, DB_RMW);
    if (err == DB_NOTFOUND)
        return 0;
    if (err != 0)
        return arc_index_fail(index, why, "get", err);
    if (arc_record_decode(v.data, v.size, &rec) < 0) {
        *raw = *stored = 0;
        return 1;
    }
    *raw = rec.size;
    *stored = rec.stored;
    arc_record_release(&rec);
    return 1;
}

int
arc_index_put(ARC_INDEX *index, const VBUF *record, VBUF *why)
{
    ARC_INDEX_TOTALS t;
    ARC_RECORD rec;
    long long old_raw, old_stored;
    DBT     k, v;
    int     err, old;

    if (index->txn == NULL)
        msg_panic("arc_index_put: no transaction");
    if (arc_record_decode(vbuf_str(record), vbuf_len(record), &rec) < 0)
        msg_panic("arc_index_put: not a record");
    arc_index_dbt(&k, rec.id, strlen(rec.id));
    arc_index_dbt(&v, vbuf_str(record), vbuf_len(record));
    if ((old = arc_index_old_sizes(index, &k, &old_raw, &old_stored, why)) < 0
        || arc_index_read_totals(index, index->txn, DB_RMW, &t, why) < 0) {
        arc_record_release(&rec);
        return -1;
    }
    if (old) {
        t.count--;
        t.raw -= old_raw;
        t.stored -= old_stored;
    }
    t.count++;
    t.raw += rec.size;
    t.stored += rec.stored;
    arc_record_release(&rec);
    if ((err = index->primary->put(index->primary, index->txn, &k, &v, 0)) != 0)
        return arc_index_fail(index, why, "put", err);
    if (arc_index_write_totals(index, &t, why) < 0)
        return -1;
    /* What changes during a rebuild changes in the new index too. */
    return index->build ? arc_index_build_put(index, record, why) : 0;
}

int
arc_index_delete(ARC_INDEX *index, const char *id, VBUF *why)
{
    ARC_INDEX_TOTALS t;
    long long old_raw, old_stored;
    DBT     k;
    int     err, old;

    if (index->txn == NULL)
        msg_panic("arc_index_delete: no transaction");
    if (index->build) {
        index->build->txn = index->txn;
        err = arc_index_delete(index->build, id, why);
        index->build->txn = NULL;
        if (err < 0)
            return -1;
    }
    arc_index_dbt(&k, id, strlen(id));
    if ((old = arc_index_old_sizes(index, &k, &old_raw, &old_stored, why)) <= 0)
        return old;
    if (arc_index_read_totals(index, index->txn, DB_RMW, &t, why) < 0)
        return -1;
    if ((err = index->primary->del(index->primary, index->txn, &k, 0)) != 0
        && err != DB_NOTFOUND)
        return arc_index_fail(index, why, "del", err);
    t.count--;
    t.raw -= old_raw;
    t.stored -= old_stored;
    return arc_index_write_totals(index, &t, why);
}

int
arc_index_get(ARC_INDEX *index, const char *id, VBUF *record, VBUF *why)
{
    DBT     k, v;
    int     err;

    arc_index_dbt(&k, id, strlen(id));
    memset(&v, 0, sizeof(v));
    err = index->primary->get(index->primary, index->txn, &k, &v, 0);
    if (err == DB_NOTFOUND)
        return 0;
    if (err != 0)
        return arc_index_fail(index, why, "get", err);
    vbuf_reset(record);
    vbuf_append(record, v.data, v.size);
    return 1;
}

/* Scans -------------------------------------------------------------------- */

long
arc_index_count(ARC_INDEX *index, int which, const void *key, size_t len, VBUF *why)
{
    DBC    *cursor;
    DBT     k, v;
    db_recno_t count = 0;
    int     err;

    if ((err = index->sec[which]->cursor(index->sec[which], index->txn, &cursor, 0)) != 0)
        return arc_index_fail(index, why, "cursor", err);
    arc_index_dbt(&k, key, len);
    memset(&v, 0, sizeof(v));
    v.flags = DB_DBT_PARTIAL;           /* only whether there is one */
    err = cursor->get(cursor, &k, &v, DB_SET);
    if (err == 0)
        err = cursor->count(cursor, &count, 0);
    cursor->close(cursor);
    if (err == DB_NOTFOUND)
        return 0;
    if (err != 0)
        return arc_index_fail(index, why, "count", err);
    return (long) count;
}

/* Hands a found record to fn; its return. */
static int
arc_index_found(const DBT *pkey, const DBT *pdata, ARC_INDEX_FN fn, void *context)
{
    char    id[64];

    if (pkey->size >= sizeof(id))
        return 0;
    memcpy(id, pkey->data, pkey->size);
    id[pkey->size] = 0;
    return fn(id, pdata->data, pdata->size, context);
}

int
arc_index_scan(ARC_INDEX *index, int which, const void *key, size_t len, ARC_INDEX_FN fn,
               void *context, VBUF *why)
{
    DBC    *cursor;
    DBT     k, pk, pv;
    int     err;
    u_int32_t op = DB_SET;

    if ((err = index->sec[which]->cursor(index->sec[which], index->txn, &cursor, 0)) != 0)
        return arc_index_fail(index, why, "cursor", err);
    arc_index_dbt(&k, key, len);
    memset(&pk, 0, sizeof(pk));
    memset(&pv, 0, sizeof(pv));
    while ((err = cursor->pget(cursor, &k, &pk, &pv, op)) == 0) {
        op = DB_NEXT_DUP;
        if (arc_index_found(&pk, &pv, fn, context))
            break;
    }
    cursor->close(cursor);
    if (err != 0 && err != DB_NOTFOUND)
        return arc_index_fail(index, why, "scan", err);
    return 0;
}

int
arc_index_scan_time(ARC_INDEX *index, long long since, long long until, ARC_INDEX_FN fn,
                    void *context, VBUF *why)
{
    unsigned char start[ARC_KEYS_TIME_LEN];
    DBC    *cursor;
    DBT     k, pk, pv;
    int     err;
    u_int32_t op;

    if ((err = index->sec[ARC_INDEX_TIME]->cursor(index->sec[ARC_INDEX_TIME], index->txn,
                                                  &cursor, 0)) != 0)
        return arc_index_fail(index, why, "cursor", err);
    arc_keys_time(start, since < 0 ? 0 : since);
    arc_index_dbt(&k, start, sizeof(start));
    op = DB_SET_RANGE;
    memset(&pk, 0, sizeof(pk));
    memset(&pv, 0, sizeof(pv));
    while ((err = cursor->pget(cursor, &k, &pk, &pv, op)) == 0) {
        op = DB_NEXT;
        if (k.size != ARC_KEYS_TIME_LEN)
            continue;
        if (until >= 0 && arc_keys_time_value(k.data) > until)
            break;
        if (arc_index_found(&pk, &pv, fn, context))
            break;
    }
    cursor->close(cursor);
    if (err != 0 && err != DB_NOTFOUND)
        return arc_index_fail(index, why, "time scan", err);
    return 0;
}

int
arc_index_time_bounds(ARC_INDEX *index, long long *oldest, long long *newest, VBUF *why)
{
    DBC    *cursor;
    DBT     k, v;
    int     err;

    *oldest = *newest = 0;
    if ((err = index->sec[ARC_INDEX_TIME]->cursor(index->sec[ARC_INDEX_TIME], index->txn,
                                                  &cursor, 0)) != 0)
        return arc_index_fail(index, why, "cursor", err);
    memset(&k, 0, sizeof(k));
    memset(&v, 0, sizeof(v));
    v.flags = DB_DBT_PARTIAL;
    if ((err = cursor->get(cursor, &k, &v, DB_FIRST)) == 0 && k.size == ARC_KEYS_TIME_LEN) {
        *oldest = arc_keys_time_value(k.data);
        if ((err = cursor->get(cursor, &k, &v, DB_LAST)) == 0 && k.size == ARC_KEYS_TIME_LEN)
            *newest = arc_keys_time_value(k.data);
    }
    cursor->close(cursor);
    if (err != 0 && err != DB_NOTFOUND)
        return arc_index_fail(index, why, "time bounds", err);
    return 0;
}

/* Maintenance -------------------------------------------------------------- */

int
arc_index_set_mark(ARC_INDEX *index, const char *name, int on, VBUF *why)
{
    DBT     k, v;
    int     err;

    arc_index_dbt(&k, name, strlen(name));
    arc_index_dbt(&v, "1", 1);
    /* Without a transaction of ours, each is one of its own. */
    err = on ? index->meta->put(index->meta, index->txn, &k, &v, 0)
        : index->meta->del(index->meta, index->txn, &k, 0);
    if (err != 0 && err != DB_NOTFOUND)
        return arc_index_fail(index, why, "mark", err);
    return 0;
}

int
arc_index_get_mark(ARC_INDEX *index, const char *name, VBUF *why)
{
    DBT     k, v;
    int     err;

    arc_index_dbt(&k, name, strlen(name));
    memset(&v, 0, sizeof(v));
    err = index->meta->get(index->meta, index->txn, &k, &v, 0);
    if (err == DB_NOTFOUND)
        return 0;
    if (err != 0)
        return arc_index_fail(index, why, "mark", err);
    return 1;
}

int
arc_index_checkpoint(ARC_INDEX *index, VBUF *why)
{
    int     err;

    if ((err = index->env->txn_checkpoint(index->env, ARC_INDEX_CKP_KBYTES,
                                          ARC_INDEX_CKP_MINUTES, 0)) != 0)
        return arc_index_fail(index, why, "checkpoint", err);
    return 0;
}

/* Rebuilding aside ------------------------------------------------------- */

/* Removes the rebuild's database files (absent is no error). */
static int
arc_index_build_remove(ARC_INDEX *index, VBUF *why)
{
    char    name[64];
    int     err, i;

    for (i = -2; i < ARC_INDEX_NSEC; i++) {
        snprintf(name, sizeof(name), "%s%s", ARC_INDEX_BUILD_PREFIX,
                 i == -2 ? ARC_INDEX_PRIMARY : i == -1 ? ARC_INDEX_META
                 : arc_index_sec_names[i]);
        if ((err = index->env->dbremove(index->env, NULL, name, NULL, DB_AUTO_COMMIT)) != 0
            && err != ENOENT)
            return arc_index_fail(index, why, "removing", err);
    }
    return 0;
}

int
arc_index_build_begin(ARC_INDEX *index, VBUF *why)
{
    ARC_INDEX *build;

    if (index->txn)
        msg_panic("arc_index_build_begin: a transaction is open");
    arc_index_build_abandon(index);
    if (arc_index_build_remove(index, why) < 0)
        return -1;
    build = mycalloc(1, sizeof(*build));
    build->env = index->env;
    build->is_build = 1;
    if (arc_index_open_dbs(build, ARC_INDEX_BUILD_PREFIX, why) < 0) {
        (void) arc_index_close_dbs(build, why);
        myfree(build);
        return -1;
    }
    index->build = build;
    return 0;
}

int
arc_index_build_put(ARC_INDEX *index, const VBUF *record, VBUF *why)
{
    int     rc;

    if (index->build == NULL)
        msg_panic("arc_index_build_put: no rebuild");
    if (index->txn == NULL)
        msg_panic("arc_index_build_put: no transaction");
    index->build->txn = index->txn;
    rc = arc_index_put(index->build, record, why);
    index->build->txn = NULL;
    return rc;
}

void
arc_index_build_abandon(ARC_INDEX *index)
{
    VBUF   *why;

    if (index->build == NULL)
        return;
    why = vbuf_create(100);
    (void) arc_index_close_dbs(index->build, why);
    myfree(index->build);
    index->build = NULL;
    if (arc_index_build_remove(index, why) < 0)
        msg_warn("archive index: %s", vbuf_str(why));
    vbuf_free(why);
}

int
arc_index_build_switch(ARC_INDEX *index, VBUF *why)
{
    char    old[32], new[64];
    DB_TXN *txn = NULL;
    int     err = 0, i, status = 0;

    if (index->build == NULL || index->txn)
        msg_panic("arc_index_build_switch: no rebuild, or a transaction is open");
    if (arc_index_close_dbs(index->build, why) < 0 || arc_index_close_dbs(index, why) < 0)
        status = -1;
    myfree(index->build);
    index->build = NULL;
    /* One transaction: the old files go and the new take their names, or
     * nothing changes. */
    if (status == 0 && (err = index->env->txn_begin(index->env, NULL, &txn, 0)) != 0)
        status = arc_index_fail(index, why, "txn_begin", err);
    for (i = -2; status == 0 && i < ARC_INDEX_NSEC; i++) {
        snprintf(old, sizeof(old), "%s", i == -2 ? ARC_INDEX_PRIMARY
                 : i == -1 ? ARC_INDEX_META : arc_index_sec_names[i]);
        snprintf(new, sizeof(new), "%s%s", ARC_INDEX_BUILD_PREFIX, old);
        if ((err = index->env->dbremove(index->env, txn, old, NULL, 0)) != 0
            && err != ENOENT)
            status = arc_index_fail(index, why, "removing the old index", err);
        else if ((err = index->env->dbrename(index->env, txn, new, NULL, old, 0)) != 0)
            status = arc_index_fail(index, why, "renaming the new index", err);
    }
    if (txn != NULL) {
        if (status < 0)
            txn->abort(txn);
        else if ((err = txn->commit(txn, 0)) != 0)
            status = arc_index_fail(index, why, "commit", err);
    }
    if (status < 0)
        (void) arc_index_build_remove(index, why);
    /* The old index when the switch failed; without one, nothing works. */
    if (arc_index_open_dbs(index, "", why) < 0)
        msg_fatal("archive index: reopening after a rebuild: %s", vbuf_str(why));
    return status;
}
