/* The counters' segment (lib/metrics_shm.h): made at start in
 * run_directory, handed to every child as MASTER_METRICS_FD with a slot
 * of its own (-i), and the slot freed when the child is reaped; a dead
 * child's counters stay in its slot for the next one.  master itself
 * counts nothing and reads nothing of it. */
#include <time.h>

#include "conf.h"
#include "master.h"
#include "metrics_shm.h"
#include "msg.h"
#include "mymalloc.h"
#include "path.h"
#include "vbuf.h"

static METRICS_SHM *master_metrics;
int master_metrics_fd = -1;

void
master_metrics_init(void)
{
    char   *path = path_join(conf_str(P_run_directory), METRICS_SHM_FILE);
    VBUF   *why = vbuf_create(64);

    if ((master_metrics = metrics_shm_create(path, (long long) time(NULL),
                                             why)) == NULL)
        msg_fatal("metrics: %s", vbuf_str(why));
    master_metrics_fd = metrics_shm_fd(master_metrics);
    vbuf_free(why);
    myfree(path);
}

int
master_metrics_take(void)
{
    VBUF   *why;
    int     slot;

    if (master_metrics == NULL)
        return -1;
    why = vbuf_create(64);
    /* Without a slot the child runs all the same; it counts for nobody. */
    if ((slot = metrics_shm_take(master_metrics, why)) < 0)
        msg_warn("metrics: %s", vbuf_str(why));
    vbuf_free(why);
    return slot;
}

void
master_metrics_own(int slot, pid_t pid, const char *program)
{
    if (master_metrics != NULL && slot >= 0)
        metrics_shm_own(master_metrics, slot, pid,
                        metrics_value_index(&metrics_label_PROGRAM, program));
}

void
master_metrics_release(int slot)
{
    if (master_metrics != NULL && slot >= 0)
        metrics_shm_release(master_metrics, slot);
}

void
master_metrics_cleanup(void)
{
    master_metrics = metrics_shm_free(master_metrics, 1);
    master_metrics_fd = -1;
}
