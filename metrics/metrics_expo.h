/* The Prometheus text exposition format, version 0.0.4, of a snapshot of
 * the metrics (one value per cell, metrics.h): for each family its
 * # HELP and # TYPE lines, then one line per series, every series of
 * every label value, 0 or not.  A histogram has its cumulative
 * _bucket{le="..."} lines ending with le="+Inf", then _sum (seconds)
 * and _count.  Pure: no I/O, for the exporter and its tests. */
#ifndef ALLIGATE_METRICS_EXPO_H
#define ALLIGATE_METRICS_EXPO_H

#include <stdint.h>

#include "metrics.h"
#include "vbuf.h"

#define METRICS_EXPO_CONTENT_TYPE   "text/plain; version=0.0.4; charset=utf-8"

/* Every family of the table. */
void    metrics_expo_write(VBUF *out, const uint64_t *values);

/* One family, with its cells in values (from f->base on). */
void    metrics_expo_family(VBUF *out, const METRICS_FAMILY *f,
                            const uint64_t *values);

/* The pieces: a HELP text (\ and newline escaped), a label value (\, "
 * and newline escaped).  Seconds are metrics_format_seconds()'. */
void    metrics_expo_help(VBUF *out, const char *text);
void    metrics_expo_label_value(VBUF *out, const char *text);

#endif
