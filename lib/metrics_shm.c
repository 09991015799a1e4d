/* The counters' shared segment (metrics_shm.h): master's side (the file,
 * the slots), a child's (metrics_attach) and the readers'. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics_shm.h"
#include "mymalloc.h"

#define METRICS_SHM_HEAD_SIZE   sizeof(METRICS_SHM_HEAD)

struct METRICS_SHM {
    int     fd;
    char   *path;
    int     nslots;                 /* in the file */
    pid_t  *owner;                  /* per slot: 0 free, -1 taken */
};

struct METRICS_VIEW {
    int     fd;
    char   *map;
    size_t  map_size;
};

static off_t
metrics_shm_slot_offset(int slot)
{
    return (off_t) METRICS_SHM_HEAD_SIZE + (off_t) slot * METRICS_SHM_SLOT_SIZE;
}

static int
metrics_shm_pwrite(int fd, const void *data, size_t len, off_t offset)
{
    ssize_t n = pwrite(fd, data, len, offset);

    if (n == (ssize_t) len)
        return 0;
    if (n >= 0)
        errno = EIO;
    return -1;
}

static void
metrics_shm_head(METRICS_SHM_HEAD *head, int nslots, long long started)
{
    memset(head, 0, sizeof(*head));
    memcpy(head->magic, METRICS_SHM_MAGIC, sizeof(head->magic));
    head->version = METRICS_SHM_VERSION;
    head->ncells = METRICS_NCELLS;
    head->layout = metrics_layout();
    head->slot_size = METRICS_SHM_SLOT_SIZE;
    head->nslots = (uint32_t) nslots;
    head->started = started;
    head->master_pid = (int32_t) getpid();
}

/* Makes room for more slots: the file first, then the header says so. */
static int
metrics_shm_grow(METRICS_SHM *shm, VBUF *why)
{
    int     nslots = shm->nslots + METRICS_SHM_GROW;
    uint32_t n = (uint32_t) nslots;
    int     i;

    if (nslots > METRICS_SHM_MAX_SLOTS) {
        vbuf_printf(why, "%s: more than %d processes", shm->path,
                    METRICS_SHM_MAX_SLOTS);
        return -1;
    }
    if (ftruncate(shm->fd, metrics_shm_slot_offset(nslots)) < 0
        || metrics_shm_pwrite(shm->fd, &n, sizeof(n),
                              offsetof(METRICS_SHM_HEAD, nslots)) < 0) {
        vbuf_printf(why, "%s: %s", shm->path, strerror(errno));
        return -1;
    }
    shm->owner = myrealloc(shm->owner, sizeof(shm->owner[0]) * nslots);
    for (i = shm->nslots; i < nslots; i++)
        shm->owner[i] = 0;
    shm->nslots = nslots;
    return 0;
}

METRICS_SHM *
metrics_shm_create(const char *path, long long started, VBUF *why)
{
    METRICS_SHM_HEAD head;
    METRICS_SHM *shm;
    int     fd;

    /* A new file: processes of an earlier master that still map the old
     * one keep it, and do not count into this one. */
    if (unlink(path) < 0 && errno != ENOENT) {
        vbuf_printf(why, "remove %s: %s", path, strerror(errno));
        return NULL;
    }
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              METRICS_SHM_MODE);
    if (fd < 0) {
        vbuf_printf(why, "create %s: %s", path, strerror(errno));
        return NULL;
    }
    /* Whatever the umask says. */
    (void) fchmod(fd, METRICS_SHM_MODE);
    metrics_shm_head(&head, 0, started);
    if (metrics_shm_pwrite(fd, &head, sizeof(head), 0) < 0) {
        vbuf_printf(why, "write %s: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return NULL;
    }
    shm = mycalloc(1, sizeof(*shm));
    shm->fd = fd;
    shm->path = mystrdup(path);
    if (metrics_shm_grow(shm, why) < 0) {
        metrics_shm_free(shm, 1);
        return NULL;
    }
    return shm;
}

int
metrics_shm_fd(const METRICS_SHM *shm)
{
    return shm->fd;
}

int
metrics_shm_take(METRICS_SHM *shm, VBUF *why)
{
    int     slot;

    for (slot = 0; slot < shm->nslots; slot++)
        if (shm->owner[slot] == 0)
            break;
    if (slot == shm->nslots && metrics_shm_grow(shm, why) < 0)
        return -1;
    shm->owner[slot] = -1;
    return slot;
}

static void
metrics_shm_set_head(METRICS_SHM *shm, int slot, pid_t pid, int program)
{
    METRICS_SHM_SLOT head;

    memset(&head, 0, sizeof(head));
    head.pid = (int32_t) pid;
    head.program = program;
    (void) metrics_shm_pwrite(shm->fd, &head, sizeof(head),
                              metrics_shm_slot_offset(slot));
}

void
metrics_shm_own(METRICS_SHM *shm, int slot, pid_t pid, int program)
{
    if (slot < 0 || slot >= shm->nslots)
        return;
    if (pid <= 0) {
        shm->owner[slot] = 0;
        return;
    }
    shm->owner[slot] = pid;
    metrics_shm_set_head(shm, slot, pid, program);
}

void
metrics_shm_release(METRICS_SHM *shm, int slot)
{
    static const uint64_t zero[64];
    int     i;

    if (slot < 0 || slot >= shm->nslots)
        return;
    /* A gauge says what a live process does now; counters stay. */
    for (i = 0; i < METRICS_NFAMILIES; i++) {
        const METRICS_FAMILY *f = &metrics_families[i];
        int     done, n;

        if (f->type != METRICS_GAUGE)
            continue;
        for (done = 0; done < f->ncells; done += n) {
            n = f->ncells - done < 64 ? f->ncells - done : 64;
            (void) metrics_shm_pwrite(shm->fd, zero, sizeof(zero[0]) * n,
                                      metrics_shm_slot_offset(slot)
                                      + (off_t) sizeof(METRICS_SHM_SLOT)
                                      + (off_t) sizeof(zero[0]) * (f->base + done));
        }
    }
    metrics_shm_set_head(shm, slot, 0, 0);
    shm->owner[slot] = 0;
}

int
metrics_shm_used(const METRICS_SHM *shm)
{
    int     n = 0;
    int     i;

    for (i = 0; i < shm->nslots; i++)
        n += shm->owner[i] != 0;
    return n;
}

METRICS_SHM *
metrics_shm_free(METRICS_SHM *shm, int unlink_file)
{
    if (shm) {
        close(shm->fd);
        if (unlink_file)
            unlink(shm->path);
        myfree(shm->path);
        myfree(shm->owner);
        myfree(shm);
    }
    return NULL;
}

/* Whether the file on fd is a segment of this build; its size in *size. */
static int
metrics_shm_check(int fd, METRICS_SHM_HEAD *head, size_t *size, VBUF *why)
{
    struct stat st;

    if (fstat(fd, &st) < 0) {
        vbuf_printf(why, "fstat: %s", strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode) || st.st_size < (off_t) sizeof(*head)
        || pread(fd, head, sizeof(*head), 0) != (ssize_t) sizeof(*head)
        || memcmp(head->magic, METRICS_SHM_MAGIC, sizeof(head->magic)) != 0
        || head->version != METRICS_SHM_VERSION) {
        vbuf_set(why, "not a metrics segment");
        return -1;
    }
    if (head->ncells != METRICS_NCELLS || head->layout != metrics_layout()
        || head->slot_size != METRICS_SHM_SLOT_SIZE) {
        vbuf_set(why, "metrics segment of another version of Alligate");
        return -1;
    }
    *size = (size_t) st.st_size;
    return 0;
}

int
metrics_attach(int fd, int slot)
{
    METRICS_SHM_HEAD head;
    VBUF   *why = vbuf_create(64);
    size_t  size, end;
    char   *map;
    int     status;

    status = metrics_shm_check(fd, &head, &size, why);
    vbuf_free(why);
    if (status < 0) {
        errno = EINVAL;
        return -1;
    }
    end = (size_t) metrics_shm_slot_offset(slot + 1);
    if (slot < 0 || end > size) {
        errno = ERANGE;
        return -1;
    }
    map = mmap(NULL, end, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        return -1;
    metrics_cells = (uint64_t *) (map + metrics_shm_slot_offset(slot)
                                  + sizeof(METRICS_SHM_SLOT));
    return 0;
}

/* Readers ---------------------------------------------------------------- */

METRICS_VIEW *
metrics_view_fd(int fd, VBUF *why)
{
    METRICS_VIEW *view;
    METRICS_SHM_HEAD head;
    size_t  size;

    if (metrics_shm_check(fd, &head, &size, why) < 0)
        return NULL;
    view = mycalloc(1, sizeof(*view));
    view->fd = fd;
    view->map = MAP_FAILED;
    return view;
}

METRICS_VIEW *
metrics_view_open(const char *path, VBUF *why)
{
    METRICS_VIEW *view;
    VBUF   *one = vbuf_create(64);
    int     fd;

    if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
        vbuf_printf(why, "open %s: %s", path, strerror(errno));
        vbuf_free(one);
        return NULL;
    }
    if ((view = metrics_view_fd(fd, one)) == NULL) {
        vbuf_printf(why, "%s: %s", path, vbuf_str(one));
        close(fd);
    }
    vbuf_free(one);
    return view;
}

METRICS_VIEW *
metrics_view_free(METRICS_VIEW *view)
{
    if (view) {
        if (view->map != MAP_FAILED)
            munmap(view->map, view->map_size);
        close(view->fd);
        myfree(view);
    }
    return NULL;
}

/* Maps the file as it is now. */
static int
metrics_view_map(METRICS_VIEW *view, VBUF *why)
{
    METRICS_SHM_HEAD head;
    size_t  size;

    if (metrics_shm_check(view->fd, &head, &size, why) < 0)
        return -1;
    if (view->map != MAP_FAILED && view->map_size == size)
        return 0;
    if (view->map != MAP_FAILED)
        munmap(view->map, view->map_size);
    view->map = mmap(NULL, size, PROT_READ, MAP_SHARED, view->fd, 0);
    if (view->map == MAP_FAILED) {
        vbuf_printf(why, "mmap: %s", strerror(errno));
        return -1;
    }
    view->map_size = size;
    return 0;
}

int
metrics_view_read(METRICS_VIEW *view, uint64_t *values, VBUF *why)
{
    const METRICS_SHM_HEAD *head;
    size_t  nslots;
    size_t  s;
    int     c;

    if (metrics_view_map(view, why) < 0)
        return -1;
    head = (const METRICS_SHM_HEAD *) view->map;
    nslots = (view->map_size - METRICS_SHM_HEAD_SIZE) / METRICS_SHM_SLOT_SIZE;
    if (__atomic_load_n(&head->nslots, __ATOMIC_RELAXED) < nslots)
        nslots = __atomic_load_n(&head->nslots, __ATOMIC_RELAXED);
    memset(values, 0, sizeof(values[0]) * METRICS_NCELLS);
    for (s = 0; s < nslots; s++) {
        const char *slot = view->map + metrics_shm_slot_offset((int) s);
        const uint64_t *cells = (const uint64_t *) (slot + sizeof(METRICS_SHM_SLOT));

        for (c = 0; c < METRICS_NCELLS; c++)
            values[c] += __atomic_load_n(&cells[c], __ATOMIC_RELAXED);
    }
    /* The reader's own figures: nobody counts into them. */
    for (c = 0; c < METRICS_NFAMILIES; c++)
        if (metrics_families[c].type == METRICS_STATE)
            memset(values + metrics_families[c].base, 0,
                   sizeof(values[0]) * metrics_families[c].ncells);
    for (s = 0; s < nslots; s++) {
        const METRICS_SHM_SLOT *sh = (const METRICS_SHM_SLOT *)
            (view->map + metrics_shm_slot_offset((int) s));
        int32_t program;

        if (__atomic_load_n(&sh->pid, __ATOMIC_RELAXED) > 0) {
            program = __atomic_load_n(&sh->program, __ATOMIC_RELAXED);
            if (program < 0 || program >= METRICS_N_PROGRAM)
                program = METRICS_PROGRAM_OTHER;
            values[METRICS_AT(PROCESSES, program, 0)]++;
        }
    }
    values[METRIC_START_TIME] = head->started > 0 ? (uint64_t) head->started : 0;
    return 0;
}

pid_t
metrics_view_master(const METRICS_VIEW *view)
{
    METRICS_SHM_HEAD head;

    if (pread(view->fd, &head, sizeof(head), 0) != (ssize_t) sizeof(head))
        return 0;
    return head.master_pid;
}
