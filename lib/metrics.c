/* The table of metrics (metrics.def) as data, for the writers of the
 * exposition and of `alligatectl stats`, and what a process counts with
 * besides the inline functions of metrics.h. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "vbuf.h"

/* Before metrics_attach(), and for ever in a process without a slot. */
static uint64_t metrics_own[METRICS_NCELLS];
uint64_t *metrics_cells = metrics_own;

/* Each label's values. */
#define METRICS_LABEL(set, name)    static const char *const metrics_values_##set[] = {
#define METRICS_VALUE(set, id, text)    text,
#define METRICS_LABEL_END(set)      };
#include "metrics.def"

#define METRICS_LABEL(set, name) \
    const METRICS_LABELSET metrics_label_##set = { \
        name, metrics_values_##set, METRICS_N_##set };
#include "metrics.def"

/* Each histogram's bounds; the last entry only ends the list. */
#define METRICS_BUCKETS(set)        static const uint64_t metrics_bounds_##set[] = {
#define METRICS_BOUND(set, us)      us##ULL,
#define METRICS_BUCKETS_END(set)    UINT64_MAX };
#include "metrics.def"

#define METRICS_FAMILY(id, name, type, l1, l2, b, help) \
    { name, METRICS_##type, help, &metrics_label_##l1, &metrics_label_##l2, \
      metrics_bounds_##b, METRICS_NB_##b, METRIC_##id, METRICS_W_##id, \
      METRIC_##id##_END - METRIC_##id + 1 },
const METRICS_FAMILY metrics_families[METRICS_NFAMILIES] = {
#include "metrics.def"
};

void
metrics_observe(int fam, int cell, uint64_t us)
{
    const METRICS_FAMILY *f = &metrics_families[fam];
    int     i;

    /* The bucket le="bound" holds what is at most bound. */
    for (i = 0; i < f->nbounds && us > f->bounds[i]; i++)
        /* void */ ;
    metrics_inc(cell + i);
    metrics_add(cell + f->nbounds + 1, us);
}

int
metrics_value_index(const METRICS_LABELSET *set, const char *text)
{
    int     i;

    for (i = 0; i < set->count; i++)
        if (strcmp(set->values[i], text) == 0)
            return i;
    for (i = 0; i < set->count; i++)
        if (strcmp(set->values[i], "other") == 0)
            return i;
    return -1;
}

int
metrics_cell(int fam, int v1, int v2)
{
    const METRICS_FAMILY *f = &metrics_families[fam];

    return f->base + (v1 * f->label2->count + v2) * f->width;
}

void
metrics_format_seconds(VBUF *out, uint64_t us)
{
    char    frac[8];
    int     n;

    vbuf_printf(out, "%" PRIu64, us / 1000000);
    if (us % 1000000 == 0)
        return;
    n = snprintf(frac, sizeof(frac), "%06" PRIu64, us % 1000000);
    while (n > 0 && frac[n - 1] == '0')
        frac[--n] = 0;
    vbuf_printf(out, ".%s", frac);
}

/* FNV-1a, 64 bits. */
static uint64_t
metrics_hash(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;

    while (len-- > 0) {
        h ^= *p++;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t
metrics_hash_str(uint64_t h, const char *s)
{
    return metrics_hash(h, s, strlen(s) + 1);
}

static uint64_t
metrics_hash_set(uint64_t h, const METRICS_LABELSET *set)
{
    int     i;

    h = metrics_hash_str(h, set->name);
    for (i = 0; i < set->count; i++)
        h = metrics_hash_str(h, set->values[i]);
    return h;
}

uint64_t
metrics_layout(void)
{
    static uint64_t layout;
    uint64_t h = 0xcbf29ce484222325ULL;
    int     i;

    if (layout)
        return layout;
    for (i = 0; i < METRICS_NFAMILIES; i++) {
        const METRICS_FAMILY *f = &metrics_families[i];
        int     shape[4] = {f->type, f->base, f->width, f->ncells};

        h = metrics_hash_str(h, f->name);
        h = metrics_hash(h, shape, sizeof(shape));
        h = metrics_hash_set(h, f->label1);
        h = metrics_hash_set(h, f->label2);
        h = metrics_hash(h, f->bounds, sizeof(f->bounds[0]) * f->nbounds);
    }
    return layout = h ? h : 1;
}
