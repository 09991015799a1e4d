/* Walking the archive tree in order; see arc_walk.h. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "arc_file.h"
#include "arc_walk.h"
#include "mymalloc.h"

#define ARC_WALK_LEVELS     4           /* years, months, days, files */

typedef struct ARC_WALK_LEVEL {
    char  **names;
    size_t  count;
    size_t  next;
} ARC_WALK_LEVEL;

struct ARC_WALK {
    char   *dir;
    ARC_WALK_LEVEL level[ARC_WALK_LEVELS];
    int     depth;                      /* levels read; -1 at the end */
};

static int
arc_walk_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static int
arc_walk_digits(const char *name, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++)
        if (name[i] < '0' || name[i] > '9')
            return 0;
    return name[n] == 0;
}

/* Whether a name belongs at this level. */
static int
arc_walk_wanted(int level, const char *name)
{
    size_t  len = strlen(name);
    char    id[QUEUE_ID_LEN + 1];

    switch (level) {
    case 0:
        return arc_walk_digits(name, 4);
    case 1:
    case 2:
        return arc_walk_digits(name, 2);
    default:
        if (len != QUEUE_ID_LEN + strlen(ARC_FILE_SUFFIX)
            || strcmp(name + QUEUE_ID_LEN, ARC_FILE_SUFFIX) != 0)
            return 0;
        memcpy(id, name, QUEUE_ID_LEN);
        id[QUEUE_ID_LEN] = 0;
        return queue_id_valid(id);
    }
}

static void
arc_walk_free_level(ARC_WALK_LEVEL *lv)
{
    size_t  i;

    for (i = 0; i < lv->count; i++)
        myfree(lv->names[i]);
    lv->names = myfree(lv->names);
    lv->count = lv->next = 0;
}

/* The path of the directory whose entries make the given level. */
static void
arc_walk_dir(ARC_WALK *walk, int level, VBUF *path)
{
    int     i;

    vbuf_set(path, walk->dir);
    for (i = 0; i < level; i++)
        vbuf_printf(path, "/%s", walk->level[i].names[walk->level[i].next - 1]);
}

static void
arc_walk_read(ARC_WALK *walk, int level)
{
    ARC_WALK_LEVEL *lv = walk->level + level;
    VBUF   *path = vbuf_create(100);
    struct dirent *dp;
    size_t  cap = 0;
    DIR    *dir;

    arc_walk_free_level(lv);
    arc_walk_dir(walk, level, path);
    if ((dir = opendir(vbuf_str(path))) != NULL) {
        while ((dp = readdir(dir)) != NULL) {
            if (!arc_walk_wanted(level, dp->d_name))
                continue;
            if (lv->count == cap) {
                cap = cap ? cap * 2 : 32;
                lv->names = myrealloc(lv->names, cap * sizeof(*lv->names));
            }
            lv->names[lv->count++] = mystrdup(dp->d_name);
        }
        closedir(dir);
    }
    if (lv->count > 1)
        qsort(lv->names, lv->count, sizeof(*lv->names), arc_walk_cmp);
    vbuf_free(path);
}

ARC_WALK *
arc_walk_open(const char *archive_dir)
{
    ARC_WALK *walk = mycalloc(1, sizeof(*walk));

    walk->dir = mystrdup(archive_dir);
    arc_walk_read(walk, 0);
    walk->depth = 0;
    return walk;
}

int
arc_walk_next(ARC_WALK *walk, char id[QUEUE_ID_LEN + 1], VBUF *rel)
{
    ARC_WALK_LEVEL *lv;
    VBUF   *want = vbuf_create(64);
    const char *name;
    int     found = 0;

    while (!found && walk->depth >= 0) {
        lv = walk->level + walk->depth;
        if (lv->next >= lv->count) {
            arc_walk_free_level(lv);
            walk->depth--;
            continue;
        }
        name = lv->names[lv->next++];
        if (walk->depth < ARC_WALK_LEVELS - 1) {
            walk->depth++;
            arc_walk_read(walk, walk->depth);
            continue;
        }
        memcpy(id, name, QUEUE_ID_LEN);
        id[QUEUE_ID_LEN] = 0;
        vbuf_reset(rel);
        vbuf_printf(rel, "%s/%s/%s/%s", walk->level[0].names[walk->level[0].next - 1],
                    walk->level[1].names[walk->level[1].next - 1],
                    walk->level[2].names[walk->level[2].next - 1], name);
        /* Only where its queue id puts it. */
        found = arc_file_rel_path(want, id) == 0 && strcmp(vbuf_str(want), vbuf_str(rel)) == 0;
    }
    vbuf_free(want);
    return found;
}

void
arc_walk_close(ARC_WALK *walk)
{
    int     i;

    for (i = 0; i < ARC_WALK_LEVELS; i++)
        arc_walk_free_level(walk->level + i);
    myfree(walk->dir);
    myfree(walk);
}
