/* Counters of every process, for the Prometheus endpoint and
 * `alligatectl stats`, without a round trip or a lock on a session's
 * path.
 *
 * master keeps a shared segment, run_directory/metrics.shm (its format
 * is in metrics_shm.h), of one slot per process it runs, and gives every
 * child the segment as MASTER_METRICS_FD and its slot number (-i);
 * server_init() maps the slot (metrics_attach) and from then on
 * metrics_inc() is an atomic add to the process's own memory, nothing
 * else.  A process that was not given a slot (alligatectl, tests,
 * a daemon run by hand) counts into memory of its own that nobody reads.
 *
 * A slot outlives its process: master gives a dead child's slot to a
 * later child without clearing its counters, so that what a worker
 * counted is still summed after it exits, and every counter only grows
 * until master restarts.  Gauges are the exception: master zeroes a
 * dead process's gauges.
 *
 * The metrics are declared once, in metrics.def; a cell is one number
 * of one series: METRICS_AT(FAMILY, value1, value2) for a family with
 * labels (the values are METRICS_<SET>_<ID>), METRIC_<FAMILY> for one
 * without.  A histogram series is NB + 2 cells: one per bucket (not
 * cumulative), +Inf, and the sum in microseconds. */
#ifndef ALLIGATE_METRICS_H
#define ALLIGATE_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Types of a family. */
#define METRICS_COUNTER     1
#define METRICS_GAUGE       2
#define METRICS_HISTOGRAM   3
#define METRICS_STATE       4       /* a gauge the reader works out */

/* Each label's values: METRICS_PORT_SMTP, ..., METRICS_N_PORT. */
#define METRICS_LABEL(set, name)        enum {
#define METRICS_VALUE(set, id, text)    METRICS_##set##_##id,
#define METRICS_LABEL_END(set)          METRICS_N_##set };
#include "metrics.def"

/* Each histogram's number of bounds: METRICS_NB_TRANSACTION. */
#define METRICS_BUCKETS(set)            enum { METRICS_BOUND0_##set = -1,
#define METRICS_BOUND(set, us)          METRICS_BOUND_##set##_##us,
#define METRICS_BUCKETS_END(set)        METRICS_NB_##set };
#include "metrics.def"

/* Cells per series of a family. */
#define METRICS_WIDTH(type, nb) \
    ((type) == METRICS_HISTOGRAM ? (nb) + 2 : 1)

/* The families, in the table's order: METRICS_FAM_SMTPD_REJECTS. */
#define METRICS_FAMILY(id, name, type, l1, l2, b, help) METRICS_FAM_##id,
enum {
#include "metrics.def"
    METRICS_NFAMILIES
};

/* The first cell of each family: METRIC_SMTPD_REJECTS; METRICS_NCELLS in
 * all. */
#define METRICS_FAMILY(id, name, type, l1, l2, b, help) \
    METRIC_##id, \
    METRIC_##id##_END = METRIC_##id + METRICS_N_##l1 * METRICS_N_##l2 \
        * METRICS_WIDTH(METRICS_##type, METRICS_NB_##b) - 1,
enum {
#include "metrics.def"
    METRICS_NCELLS
};

/* Per family: the number of second-label values and the width, for
 * METRICS_AT. */
#define METRICS_FAMILY(id, name, type, l1, l2, b, help) \
    METRICS_L2N_##id = METRICS_N_##l2, \
    METRICS_W_##id = METRICS_WIDTH(METRICS_##type, METRICS_NB_##b),
enum {
#include "metrics.def"
    METRICS_ENUM_DUMMY
};

/* The first cell of a series: its family's, moved by its label values. */
#define METRICS_AT(id, v1, v2) \
    (METRIC_##id + ((v1) * METRICS_L2N_##id + (v2)) * METRICS_W_##id)

/* One label's values. */
typedef struct METRICS_LABELSET {
    const char *name;               /* "" for NONE */
    const char *const *values;
    int     count;
} METRICS_LABELSET;

/* One family of the table. */
typedef struct METRICS_FAMILY {
    const char *name;
    int     type;                   /* METRICS_COUNTER, ... */
    const char *help;
    const METRICS_LABELSET *label1; /* count 1 and name "": no label */
    const METRICS_LABELSET *label2;
    const uint64_t *bounds;         /* HISTOGRAM: microseconds, ascending */
    int     nbounds;
    int     base;                   /* its first cell */
    int     width;                  /* cells per series */
    int     ncells;
} METRICS_FAMILY;

extern const METRICS_FAMILY metrics_families[METRICS_NFAMILIES];

/* The cells this process counts into: its slot, or memory of its own. */
extern uint64_t *metrics_cells;

/* Counters: relaxed atomic adds (a delivery agent forked by relay shares
 * relay's slot), to memory no other process writes. */
static inline void
metrics_add(int cell, uint64_t n)
{
    __atomic_fetch_add(&metrics_cells[cell], n, __ATOMIC_RELAXED);
}

static inline void
metrics_inc(int cell)
{
    metrics_add(cell, 1);
}

/* Gauges: the value of this process; the reader sums the processes. */
static inline void
metrics_set(int cell, uint64_t value)
{
    __atomic_store_n(&metrics_cells[cell], value, __ATOMIC_RELAXED);
}

/* A histogram: one observation of us microseconds in the series that
 * starts at cell of family fam. */
void    metrics_observe(int fam, int cell, uint64_t us);

/* The index of text among a label's values, or else of the value
 * "other" when the set has one, else -1. */
int     metrics_value_index(const METRICS_LABELSET *set, const char *text);

/* The cell of the first series of family fam whose label values are
 * v1, v2 (0 for a missing label). */
int     metrics_cell(int fam, int v1, int v2);

/* Appends us microseconds as seconds: "0.25", "3"; no exponent, no
 * trailing zeros (the le= of buckets, a histogram's sum). */
struct VBUF;
void    metrics_format_seconds(struct VBUF *out, uint64_t us);

/* A number that changes with the table: the layout of the segment. */
uint64_t metrics_layout(void);

/* Maps slot `slot` of the segment open on fd for this process's counters
 * (read and write): 0, or -1 with errno set (the counters then stay in
 * memory of this process's own).  The descriptor may be closed after. */
int     metrics_attach(int fd, int slot);

/* Each label's set: metrics_label_RULE, for callers that map a name to
 * its value (metrics_value_index). */
#define METRICS_LABEL(set, name)    extern const METRICS_LABELSET metrics_label_##set;
#include "metrics.def"

#endif
