/* metrics_doc: writes the list of metrics of alligate-metrics(8) from the
 * one table of metrics (lib/metrics.def), so that the manual cannot drift
 * from what the exporter serves.
 *
 *   metrics_doc < man/alligate-metrics.8.in > man/alligate-metrics.8
 *
 * The template's line "@METRICS@" is replaced by the generated text, one
 * .TP entry per family: its name, its type and labels with their
 * values, its buckets, its help; text lines are wrapped before 72
 * columns. */
#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "vbuf.h"

#define DOC_WIDTH   72

/* Appends text with roff's special characters escaped. */
static void
doc_roff(VBUF *out, const char *text)
{
    for (; *text; text++) {
        if (*text == '\\')
            vbuf_append_str(out, "\\e");
        else if (*text == '-')
            vbuf_append_str(out, "\\-");
        else
            vbuf_append_char(out, *text);
    }
}

/* Writes text as filled lines of at most DOC_WIDTH bytes, broken at
 * spaces; no line starts with a control character. */
static void
doc_text(const char *text)
{
    VBUF   *raw = vbuf_create(64);
    VBUF   *word = vbuf_create(64);
    VBUF   *line = vbuf_create(128);
    const char *p = text;

    while (*p) {
        size_t  n = strcspn(p, " ");

        vbuf_reset(raw);
        vbuf_append(raw, p, n);
        vbuf_reset(word);
        doc_roff(word, vbuf_str(raw));
        if (vbuf_len(line) > 0 && vbuf_len(line) + 1 + vbuf_len(word) > DOC_WIDTH) {
            printf("%s\n", vbuf_str(line));
            vbuf_reset(line);
        }
        if (vbuf_len(line) > 0)
            vbuf_append_char(line, ' ');
        else if (*vbuf_str(word) == '.' || *vbuf_str(word) == '\'')
            vbuf_append_str(line, "\\&");
        vbuf_append(line, vbuf_str(word), vbuf_len(word));
        p += n;
        while (*p == ' ')
            p++;
    }
    if (vbuf_len(line) > 0)
        printf("%s\n", vbuf_str(line));
    vbuf_free(raw);
    vbuf_free(word);
    vbuf_free(line);
}

static const char *
doc_type(int type)
{
    switch (type) {
    case METRICS_COUNTER:
        return "Counter";
    case METRICS_GAUGE:
        return "Gauge";
    case METRICS_HISTOGRAM:
        return "Histogram";
    default:
        return "Gauge, worked out when read";
    }
}

/* "label (a, b, c)" */
static void
doc_label(VBUF *out, const METRICS_LABELSET *set)
{
    int     i;

    vbuf_printf(out, " %s (", set->name);
    for (i = 0; i < set->count; i++)
        vbuf_printf(out, "%s%s", i ? ", " : "", set->values[i]);
    vbuf_append_str(out, ")");
}

static void
doc_family(const METRICS_FAMILY *f)
{
    VBUF   *text = vbuf_create(256);
    VBUF   *name = vbuf_create(64);
    int     i;

    doc_roff(name, f->name);
    printf(".TP\n.B %s\n", vbuf_str(name));
    vbuf_printf(text, "%s", doc_type(f->type));
    if (*f->label1->name) {
        vbuf_append_str(text, "; labels");
        doc_label(text, f->label1);
        if (*f->label2->name) {
            vbuf_append_str(text, " and");
            doc_label(text, f->label2);
        }
    }
    if (f->type == METRICS_HISTOGRAM) {
        vbuf_append_str(text, "; buckets (seconds)");
        for (i = 0; i < f->nbounds; i++) {
            vbuf_append_str(text, i ? ", " : " ");
            metrics_format_seconds(text, f->bounds[i]);
        }
        vbuf_append_str(text, ", +Inf");
    }
    vbuf_printf(text, ". %s", f->help);
    doc_text(vbuf_str(text));
    vbuf_free(text);
    vbuf_free(name);
}

int
main(void)
{
    char    line[4096];
    int     i;

    while (fgets(line, sizeof(line), stdin)) {
        if (strcmp(line, "@METRICS@\n") != 0) {
            fputs(line, stdout);
            continue;
        }
        for (i = 0; i < METRICS_NFAMILIES; i++)
            doc_family(&metrics_families[i]);
    }
    return 0;
}
