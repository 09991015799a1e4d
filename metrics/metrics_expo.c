/* The Prometheus text exposition (metrics_expo.h). */
#include <inttypes.h>

#include "metrics_expo.h"

void
metrics_expo_help(VBUF *out, const char *text)
{
    for (; *text; text++) {
        if (*text == '\\')
            vbuf_append_str(out, "\\\\");
        else if (*text == '\n')
            vbuf_append_str(out, "\\n");
        else
            vbuf_append_char(out, *text);
    }
}

void
metrics_expo_label_value(VBUF *out, const char *text)
{
    for (; *text; text++) {
        if (*text == '\\')
            vbuf_append_str(out, "\\\\");
        else if (*text == '"')
            vbuf_append_str(out, "\\\"");
        else if (*text == '\n')
            vbuf_append_str(out, "\\n");
        else
            vbuf_append_char(out, *text);
    }
}

static const char *
metrics_expo_type(int type)
{
    switch (type) {
    case METRICS_COUNTER:
        return "counter";
    case METRICS_HISTOGRAM:
        return "histogram";
    default:
        return "gauge";
    }
}

/* "name_suffix{a="x",b="y",le="..."}" with the labels that exist. */
static void
metrics_expo_series(VBUF *out, const METRICS_FAMILY *f, const char *suffix,
                    int v1, int v2, const char *le)
{
    const METRICS_LABELSET *sets[2] = {f->label1, f->label2};
    int     vals[2] = {v1, v2};
    int     n = 0;
    int     i;

    vbuf_append_str(out, f->name);
    vbuf_append_str(out, suffix);
    for (i = 0; i < 2; i++) {
        if (*sets[i]->name == 0)
            continue;
        vbuf_append_str(out, n++ ? "," : "{");
        vbuf_printf(out, "%s=\"", sets[i]->name);
        metrics_expo_label_value(out, sets[i]->values[vals[i]]);
        vbuf_append_char(out, '"');
    }
    if (le) {
        vbuf_append_str(out, n++ ? "," : "{");
        vbuf_printf(out, "le=\"%s\"", le);
    }
    if (n)
        vbuf_append_char(out, '}');
    vbuf_append_char(out, ' ');
}

static void
metrics_expo_histogram(VBUF *out, const METRICS_FAMILY *f, int v1, int v2,
                       const uint64_t *cells)
{
    VBUF   *le = vbuf_create(32);
    uint64_t total = 0;
    int     b;

    for (b = 0; b < f->nbounds; b++) {
        total += cells[b];
        vbuf_reset(le);
        metrics_format_seconds(le, f->bounds[b]);
        metrics_expo_series(out, f, "_bucket", v1, v2, vbuf_str(le));
        vbuf_printf(out, "%" PRIu64 "\n", total);
    }
    total += cells[f->nbounds];
    metrics_expo_series(out, f, "_bucket", v1, v2, "+Inf");
    vbuf_printf(out, "%" PRIu64 "\n", total);
    metrics_expo_series(out, f, "_sum", v1, v2, NULL);
    metrics_format_seconds(out, cells[f->nbounds + 1]);
    vbuf_append_char(out, '\n');
    metrics_expo_series(out, f, "_count", v1, v2, NULL);
    vbuf_printf(out, "%" PRIu64 "\n", total);
    vbuf_free(le);
}

void
metrics_expo_family(VBUF *out, const METRICS_FAMILY *f, const uint64_t *values)
{
    int     v1, v2;

    vbuf_printf(out, "# HELP %s ", f->name);
    metrics_expo_help(out, f->help);
    vbuf_printf(out, "\n# TYPE %s %s\n", f->name, metrics_expo_type(f->type));
    for (v1 = 0; v1 < f->label1->count; v1++) {
        for (v2 = 0; v2 < f->label2->count; v2++) {
            const uint64_t *cells = values + f->base
                + (v1 * f->label2->count + v2) * f->width;

            if (f->type == METRICS_HISTOGRAM) {
                metrics_expo_histogram(out, f, v1, v2, cells);
            } else {
                metrics_expo_series(out, f, "", v1, v2, NULL);
                vbuf_printf(out, "%" PRIu64 "\n", cells[0]);
            }
        }
    }
}

void
metrics_expo_write(VBUF *out, const uint64_t *values)
{
    int     i;

    for (i = 0; i < METRICS_NFAMILIES; i++)
        metrics_expo_family(out, &metrics_families[i], values);
}
