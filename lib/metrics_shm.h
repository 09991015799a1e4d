/* The counters' shared segment, run_directory/metrics.shm: made by
 * master at start (a new file each time, so counting starts again with
 * every master), given to each child as MASTER_METRICS_FD, read by the
 * exporter (metrics/) and by `alligatectl stats`.
 *
 *   offset 0      METRICS_SHM_HEAD, 64 bytes
 *   offset 64     slot 0, slot_size bytes: METRICS_SHM_SLOT (64 bytes),
 *                 then METRICS_NCELLS cells of 8 bytes (metrics.h)
 *   ...           slot 1, 2, ... up to nslots
 *
 * Numbers are the host's.  master owns the file (root, mode 0644: it
 * holds counters only, no address, name or secret, and any local user
 * may run `alligatectl stats`) and is the only writer of the header and
 * of the slot heads, with pwrite; a child writes only its own slot's
 * cells, through the mapping that server_init() makes of the descriptor
 * master opened for it: nobody else can open the file for writing.  Slots are a multiple of 64 bytes, so that no
 * two processes write the same cache line.  The file grows by
 * METRICS_SHM_GROW slots when master needs more; readers map it again
 * when its size changed.  A reader refuses a segment whose magic,
 * version or layout (metrics_layout(): the table of another build)
 * differs. */
#ifndef ALLIGATE_METRICS_SHM_H
#define ALLIGATE_METRICS_SHM_H

#include <stdint.h>
#include <sys/types.h>

#include "metrics.h"
#include "vbuf.h"

#define METRICS_SHM_FILE        "metrics.shm"
#define METRICS_SHM_MAGIC       "ALGMETR\n"     /* 8 bytes, no NUL */
#define METRICS_SHM_VERSION     1
#define METRICS_SHM_MODE        0644   /* readable by all */
#define METRICS_SHM_GROW        16              /* slots at a time */
#define METRICS_SHM_MAX_SLOTS   65536

typedef struct METRICS_SHM_HEAD {
    char    magic[8];
    uint32_t version;
    uint32_t ncells;                /* METRICS_NCELLS */
    uint64_t layout;                /* metrics_layout() */
    uint32_t slot_size;             /* bytes */
    uint32_t nslots;                /* slots in the file */
    int64_t started;                /* Unix time master made it */
    int32_t master_pid;
    uint32_t spare[5];
} METRICS_SHM_HEAD;

typedef struct METRICS_SHM_SLOT {
    int32_t pid;                    /* the process's; 0: none now */
    int32_t program;                /* METRICS_PROGRAM_* */
    uint32_t spare[14];
} METRICS_SHM_SLOT;

_Static_assert(sizeof(METRICS_SHM_HEAD) == 64, "the header is 64 bytes");
_Static_assert(sizeof(METRICS_SHM_SLOT) == 64, "a slot head is 64 bytes");

#define METRICS_SHM_SLOT_SIZE \
    ((sizeof(METRICS_SHM_SLOT) + 8 * METRICS_NCELLS + 63) / 64 * 64)

/* master ---------------------------------------------------------------- */

typedef struct METRICS_SHM METRICS_SHM;

/* Removes what is at path and makes a new segment there (mode
 * METRICS_SHM_MODE); the descriptor (close-on-exec) is metrics_shm_fd().
 * NULL with why. */
METRICS_SHM *metrics_shm_create(const char *path, long long started,
                                VBUF *why);
int     metrics_shm_fd(const METRICS_SHM *shm);

/* A slot for a process about to start: a free one, the lowest, dead
 * processes' counters and all; the file grows when none is free.  -1
 * with why when the file cannot grow. */
int     metrics_shm_take(METRICS_SHM *shm, VBUF *why);
/* The process that got the slot; -1 as pid gives it back unused. */
void    metrics_shm_own(METRICS_SHM *shm, int slot, pid_t pid, int program);
/* The process died: its gauges go to 0, its slot is free again. */
void    metrics_shm_release(METRICS_SHM *shm, int slot);
/* Slots in use (owned or taken). */
int     metrics_shm_used(const METRICS_SHM *shm);
/* Closes it; with unlink, removes the file too. */
METRICS_SHM *metrics_shm_free(METRICS_SHM *shm, int unlink_file);

/* readers -------------------------------------------------------------- */

typedef struct METRICS_VIEW METRICS_VIEW;

/* A reader of the segment at path (alligatectl), or of the one open on
 * fd (the exporter: MASTER_METRICS_FD; the view keeps fd).  NULL with
 * why. */
METRICS_VIEW *metrics_view_open(const char *path, VBUF *why);
METRICS_VIEW *metrics_view_fd(int fd, VBUF *why);
METRICS_VIEW *metrics_view_free(METRICS_VIEW *view);

/* values[METRICS_NCELLS]: each cell summed over the slots, and the STATE
 * families the segment knows (start time, processes); the queue's are
 * metrics_scan_queue()'s.  0, or -1 with why. */
int     metrics_view_read(METRICS_VIEW *view, uint64_t *values, VBUF *why);
/* The master's pid the segment names. */
pid_t   metrics_view_master(const METRICS_VIEW *view);

#endif
