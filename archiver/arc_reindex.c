/* Rebuilding the archive index from the files; see arc_reindex.h. */
#include <errno.h>
#include <string.h>

#include "arc_file.h"
#include "arc_header.h"
#include "arc_record.h"
#include "arc_reindex.h"
#include "arc_walk.h"
#include "msg.h"
#include "mymalloc.h"
#include "printable.h"

struct ARC_REINDEX {
    ARC_INDEX *index;
    char   *archive_dir;
    ARC_WALK *walk;
    int     running;
    long long files, indexed, damaged;
    char   *damaged_paths[ARC_REINDEX_DAMAGED_MAX];
    int     damaged_shown;
    /* A file read but not yet committed (a failed step tries again). */
    VBUF   *pending[ARC_REINDEX_STEP];
    int     npending;
    VBUF   *failed;                     /* why the rebuild was given up */
};

ARC_REINDEX *
arc_reindex_start(ARC_INDEX *index, const char *archive_dir, VBUF *why)
{
    ARC_REINDEX *re;

    if (arc_index_set_mark(index, ARC_REINDEX_MARK, 1, why) < 0
        || arc_index_build_begin(index, why) < 0)
        return NULL;
    re = mycalloc(1, sizeof(*re));
    re->failed = vbuf_create(100);
    re->index = index;
    re->archive_dir = mystrdup(archive_dir);
    re->walk = arc_walk_open(archive_dir);
    re->running = 1;
    return re;
}

static void
arc_reindex_damaged(ARC_REINDEX *re, const char *path, const char *reason)
{
    re->damaged++;
    msg_warn("archive: damaged file %s: %s", path, printable_str(reason));
    if (re->damaged_shown < ARC_REINDEX_DAMAGED_MAX)
        re->damaged_paths[re->damaged_shown++] = mystrdup(path);
}

/* Reads the next files into pending records. */
static void
arc_reindex_read(ARC_REINDEX *re)
{
    char    id[QUEUE_ID_LEN + 1];
    VBUF   *rel = vbuf_create(64), *path = vbuf_create(128);
    VBUF   *message = vbuf_create(4096), *why = vbuf_create(100);
    ARC_ENVELOPE env;
    off_t   stored;

    while (re->npending < ARC_REINDEX_STEP && re->walk && arc_walk_next(re->walk, id, rel)) {
        re->files++;
        vbuf_set(path, re->archive_dir);
        vbuf_printf(path, "/%s", vbuf_str(rel));
        if (arc_file_read(vbuf_str(path), &env, message, &stored, why) < 0) {
            /* Removed meanwhile (retention is off, but an administrator
             * may): not damage. */
            if (errno != ENOENT)
                arc_reindex_damaged(re, vbuf_str(path), vbuf_str(why));
            /* A file that cannot be read (as against one read and found
             * damaged) may be a good copy: the old index stays. */
            if (errno != ENOENT && errno != EBADMSG) {
                vbuf_set(re->failed, vbuf_str(why));
                break;
            }
            continue;
        }
        if (strcmp(env.id, id) != 0) {
            arc_reindex_damaged(re, vbuf_str(path), "the envelope names another queue id");
        } else {
            re->pending[re->npending] = vbuf_create(512);
            arc_record_make(re->pending[re->npending++], &env, vbuf_str(message),
                            vbuf_len(message) < ARC_HEADER_MAX ? vbuf_len(message)
                            : ARC_HEADER_MAX, (long long) stored);
        }
        arc_envelope_free(&env);
    }
    vbuf_free(rel);
    vbuf_free(path);
    vbuf_free(message);
    vbuf_free(why);
}

/* Ends the rebuild, done or given up: the mark goes, where it is still. */
static int
arc_reindex_finish(ARC_REINDEX *re, VBUF *why)
{
    int     i;

    if (arc_index_set_mark(re->index, ARC_REINDEX_MARK, 0, why) < 0)
        return -1;
    for (i = 0; i < re->npending; i++)
        re->pending[i] = vbuf_free(re->pending[i]);
    re->npending = 0;
    if (re->walk)
        arc_walk_close(re->walk);
    re->walk = NULL;
    re->running = 0;
    return 0;
}

int
arc_reindex_step(ARC_REINDEX *re, VBUF *why)
{
    int     i;

    if (!re->running)
        return 0;
    if (vbuf_len(re->failed) == 0)
        arc_reindex_read(re);
    if (vbuf_len(re->failed) > 0) {
        /* Given up: the new index goes, the old stays as it is. */
        arc_index_build_abandon(re->index);
        return arc_reindex_finish(re, why);
    }
    if (re->npending > 0) {
        if (arc_index_begin(re->index, why) < 0)
            return -1;
        for (i = 0; i < re->npending; i++) {
            if (arc_index_build_put(re->index, re->pending[i], why) < 0) {
                arc_index_abort(re->index);
                return -1;
            }
        }
        if (arc_index_commit(re->index, why) < 0)
            return -1;
        re->indexed += re->npending;
        for (i = 0; i < re->npending; i++)
            re->pending[i] = vbuf_free(re->pending[i]);
        re->npending = 0;
        return 1;
    }
    /* Complete: it takes the old one's place (without the mark). */
    if (arc_index_build_switch(re->index, why) < 0)
        vbuf_set(re->failed, vbuf_str(why));
    return arc_reindex_finish(re, why);
}

void
arc_reindex_status(const ARC_REINDEX *re, ARC_REINDEX_STATUS *st)
{
    int     i;

    memset(st, 0, sizeof(*st));
    st->running = re->running;
    st->files = re->files;
    st->indexed = re->indexed;
    st->damaged = re->damaged;
    for (i = 0; i < re->damaged_shown; i++)
        st->damaged_paths[i] = re->damaged_paths[i];
    st->damaged_shown = re->damaged_shown;
    st->failed = vbuf_len(re->failed) ? vbuf_str(re->failed) : NULL;
}

void
arc_reindex_free(ARC_REINDEX *re)
{
    int     i;

    if (re == NULL)
        return;
    if (re->walk)
        arc_walk_close(re->walk);
    for (i = 0; i < re->npending; i++)
        vbuf_free(re->pending[i]);
    for (i = 0; i < re->damaged_shown; i++)
        myfree(re->damaged_paths[i]);
    vbuf_free(re->failed);
    myfree(re->archive_dir);
    myfree(re);
}
