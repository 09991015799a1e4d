/* alligatectl stats [--all] [--json]: the figures of GET /metrics, read
 * straight from the counters' segment in run_directory (so they are
 * there whether metrics_listen is set or not) and from the queue
 * directory, the way the exporter reads them.
 *
 * The table is for a person: one line per series, the alligate_ prefix
 * left out, series of labels whose value is 0 left out unless --all;
 * a histogram as its count, sum and mean.  --json has everything, the
 * buckets cumulative as in the exposition.
 *
 * The segment is mode 0644, so any local user (a monitoring agent) may
 * run it; the queue's figures need queue_directory, which only root and
 * daemon_user can read: for others they are 0, with a warning. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "ctl.h"
#include "metrics.h"
#include "metrics_scan.h"
#include "metrics_shm.h"
#include "path.h"
#include "vbuf.h"

#define CTL_STATS_PREFIX    "alligate_"

static const char *
ctl_stats_type(int type)
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

/* A JSON string (the table's text is ASCII; anything else is escaped). */
static void
ctl_stats_json_str(VBUF *out, const char *s)
{
    vbuf_append_char(out, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char) *s;

        if (c == '"' || c == '\\')
            vbuf_printf(out, "\\%c", c);
        else if (c < 0x20 || c > 0x7e)
            vbuf_printf(out, "\\u%04x", c);
        else
            vbuf_append_char(out, c);
    }
    vbuf_append_char(out, '"');
}

/* {"a":"x","b":"y"} of a series. */
static void
ctl_stats_json_labels(VBUF *out, const METRICS_FAMILY *f, int v1, int v2)
{
    int     n = 0;

    vbuf_append_char(out, '{');
    if (*f->label1->name) {
        ctl_stats_json_str(out, f->label1->name);
        vbuf_append_char(out, ':');
        ctl_stats_json_str(out, f->label1->values[v1]);
        n++;
    }
    if (*f->label2->name) {
        vbuf_append_str(out, n ? "," : "");
        ctl_stats_json_str(out, f->label2->name);
        vbuf_append_char(out, ':');
        ctl_stats_json_str(out, f->label2->values[v2]);
    }
    vbuf_append_char(out, '}');
}

static void
ctl_stats_json(VBUF *out, const uint64_t *values, pid_t master)
{
    int     i, v1, v2, b;

    vbuf_printf(out, "{\"master_pid\":%ld,\"metrics\":{", (long) master);
    for (i = 0; i < METRICS_NFAMILIES; i++) {
        const METRICS_FAMILY *f = &metrics_families[i];
        int     first = 1;

        vbuf_append_str(out, i ? ",\n" : "\n");
        ctl_stats_json_str(out, f->name);
        vbuf_printf(out, ":{\"type\":\"%s\",\"help\":", ctl_stats_type(f->type));
        ctl_stats_json_str(out, f->help);
        vbuf_append_str(out, ",\"series\":[");
        for (v1 = 0; v1 < f->label1->count; v1++) {
            for (v2 = 0; v2 < f->label2->count; v2++) {
                const uint64_t *cells = values + metrics_cell(i, v1, v2);

                vbuf_append_str(out, first ? "{\"labels\":" : ",{\"labels\":");
                first = 0;
                ctl_stats_json_labels(out, f, v1, v2);
                if (f->type == METRICS_HISTOGRAM) {
                    uint64_t total = 0;

                    vbuf_append_str(out, ",\"buckets\":{");
                    for (b = 0; b <= f->nbounds; b++) {
                        total += cells[b];
                        vbuf_append_str(out, b ? ",\"" : "\"");
                        if (b < f->nbounds)
                            metrics_format_seconds(out, f->bounds[b]);
                        else
                            vbuf_append_str(out, "+Inf");
                        vbuf_printf(out, "\":%" PRIu64, total);
                    }
                    vbuf_append_str(out, "},\"sum\":");
                    metrics_format_seconds(out, cells[f->nbounds + 1]);
                    vbuf_printf(out, ",\"count\":%" PRIu64 "}", total);
                } else {
                    vbuf_printf(out, ",\"value\":%" PRIu64 "}", cells[0]);
                }
            }
        }
        vbuf_append_str(out, "]}");
    }
    vbuf_append_str(out, "\n}}\n");
}

/* "name{a=x,b=y}" without the prefix. */
static void
ctl_stats_series(VBUF *out, const METRICS_FAMILY *f, int v1, int v2)
{
    const char *name = f->name;

    if (strncmp(name, CTL_STATS_PREFIX, sizeof(CTL_STATS_PREFIX) - 1) == 0)
        name += sizeof(CTL_STATS_PREFIX) - 1;
    vbuf_set(out, name);
    if (*f->label1->name)
        vbuf_printf(out, "{%s=%s", f->label1->name, f->label1->values[v1]);
    if (*f->label2->name)
        vbuf_printf(out, ",%s=%s", f->label2->name, f->label2->values[v2]);
    if (*f->label1->name)
        vbuf_append_char(out, '}');
}

static void
ctl_stats_table(const uint64_t *values, pid_t master, int all)
{
    VBUF   *name = vbuf_create(100);
    VBUF   *text = vbuf_create(100);
    time_t  started = (time_t) values[METRIC_START_TIME];
    time_t  now = time(NULL);
    char    when[64];
    int     i, v1, v2, b;

    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", localtime(&started));
    printf("master pid %ld, counting since %s (%llds ago)\n\n", (long) master,
           when, (long long) (now > started ? now - started : 0));
    printf("%-64s %s\n", "METRIC", "VALUE");
    for (i = 0; i < METRICS_NFAMILIES; i++) {
        const METRICS_FAMILY *f = &metrics_families[i];
        int     labelled = *f->label1->name != 0;

        for (v1 = 0; v1 < f->label1->count; v1++) {
            for (v2 = 0; v2 < f->label2->count; v2++) {
                const uint64_t *cells = values + metrics_cell(i, v1, v2);

                ctl_stats_series(name, f, v1, v2);
                vbuf_reset(text);
                if (f->type == METRICS_HISTOGRAM) {
                    uint64_t count = 0;

                    for (b = 0; b <= f->nbounds; b++)
                        count += cells[b];
                    if (labelled && count == 0 && !all)
                        continue;
                    vbuf_printf(text, "%" PRIu64 " (sum ", count);
                    metrics_format_seconds(text, cells[f->nbounds + 1]);
                    vbuf_append_str(text, "s, mean ");
                    metrics_format_seconds(text, count ? cells[f->nbounds + 1]
                                           / count : 0);
                    vbuf_append_str(text, "s)");
                } else {
                    if (labelled && cells[0] == 0 && !all)
                        continue;
                    vbuf_printf(text, "%" PRIu64, cells[0]);
                }
                printf("%-64s %s\n", vbuf_str(name), vbuf_str(text));
            }
        }
    }
    vbuf_free(name);
    vbuf_free(text);
}

int
ctl_stats(int argc, char **argv)
{
    static uint64_t values[METRICS_NCELLS];
    METRICS_VIEW *view;
    VBUF   *why;
    pid_t   master;
    int     json = 0, all = 0;
    int     i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--all") == 0 || strcmp(argv[i], "-a") == 0)
            all = 1;
        else
            ctl_usage();
    }
    /* Only the places matter here: a monitoring agent's user cannot read
     * the TLS key or root's access lists, and need not. */
    conf_skip_files(1);
    ctl_load_config();
    why = vbuf_create(100);
    /* master removes the segment when it stops. */
    if ((view = metrics_view_open(path_run(METRICS_SHM_FILE), why)) == NULL) {
        if (errno == ENOENT)
            fprintf(stderr, "alligatectl: alligate is not running\n");
        else
            fprintf(stderr, "alligatectl: %s\n", vbuf_str(why));
        vbuf_free(why);
        return 1;
    }
    master = metrics_view_master(view);
    if (master <= 0 || (kill(master, 0) < 0 && errno == ESRCH)) {
        fprintf(stderr, "alligatectl: alligate is not running (the counters of "
                "master pid %ld are left over)\n", (long) master);
        metrics_view_free(view);
        vbuf_free(why);
        return 1;
    }
    if (metrics_view_read(view, values, why) < 0) {
        fprintf(stderr, "alligatectl: %s\n", vbuf_str(why));
        metrics_view_free(view);
        vbuf_free(why);
        return 1;
    }
    metrics_view_free(view);
    vbuf_free(why);
    /* The segment is readable by all, queue_directory only by root and
     * daemon_user: say so rather than show an empty queue as a fact. */
    if (access(conf_str(P_queue_directory), R_OK | X_OK) < 0)
        fprintf(stderr, "alligatectl: cannot read %s (%s): the queue's and "
                "the archive's figures are shown as 0\n",
                conf_str(P_queue_directory), strerror(errno));
    metrics_scan_queue(conf_str(P_queue_directory), time(NULL), values);
    if (json) {
        VBUF   *out = vbuf_create(16384);

        ctl_stats_json(out, values, master);
        fputs(vbuf_str(out), stdout);
        vbuf_free(out);
    } else {
        ctl_stats_table(values, master, all);
    }
    return 0;
}
