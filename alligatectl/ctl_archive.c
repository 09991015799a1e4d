/* alligatectl archive: what the archiver keeps.  Searches, stats and
 * reindex go to the archiver over its socket (lib/arc_clnt.h: it alone
 * opens the index); show and export read the archive files themselves
 * (lib/arc_file.h), whose place follows from the queue id alone, so show
 * works while the archiver is down.
 *
 *   archive search [FILTERS] [--json] [--limit N]
 *   archive show ID [--envelope]
 *   archive export [FILTERS] [--mbox FILE [--force]]
 *   archive reindex
 *   archive stats
 *
 * FILTERS: --sender A, --rcpt A, --client ADDR, --subject WORDS,
 * --message-id ID, --since DATE, --until DATE; they combine with AND.
 *
 * export --mbox writes FILE.tmp-PID next to FILE, fsyncs it and only
 * then puts it in place: link(2) when FILE must not exist (so one that
 * appeared meanwhile is still kept), rename(2) with --force; on an error
 * the temporary file goes and FILE is as it was. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arc_clnt.h"
#include "arc_file.h"
#include "arc_keys.h"
#include "conf.h"
#include "ctl.h"
#include "ctl_mbox.h"
#include "msg.h"
#include "mymalloc.h"
#include "printable.h"
#include "queue_dir.h"
#include "queue_id.h"
#include "units.h"
#include "vbuf.h"

#define CTL_ARCHIVE_TIMEOUT_MS  30000
#define CTL_ARCHIVE_POLL_US     100000  /* reindex progress */

/* What a verb was given. */
typedef struct CTL_ARCHIVE_ARGS {
    ARC_QUERY query;
    int     json;
    int     envelope;
    const char *mbox;
    int     force;
    int     filters;
} CTL_ARCHIVE_ARGS;

static ARC_CLNT *
ctl_archive_client(void)
{
    return arc_clnt_create(arc_clnt_default_path(), CTL_ARCHIVE_TIMEOUT_MS);
}

static int
ctl_archive_failed(ARC_CLNT *clnt, int status)
{
    if (status == ARC_CLNT_REFUSED) {
        fprintf(stderr, "alligatectl: archive: %s\n", printable_str(arc_clnt_error(clnt)));
    } else {
        fprintf(stderr, "alligatectl: cannot talk to the archiver: %s\n",
                printable_str(arc_clnt_error(clnt)));
        if (!conf_bool(P_archive))
            fprintf(stderr, "alligatectl: the archiver runs only with archive = yes\n");
    }
    arc_clnt_free(clnt);
    return 1;
}

/* "2026-12-01T10:30:00Z" */
static const char *
ctl_archive_date(char *buf, size_t size, long long when)
{
    time_t  t = (time_t) when;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/* Parses the options of search and export; exits 2 on a bad one. */
static void
ctl_archive_options(int argc, char **argv, CTL_ARCHIVE_ARGS *a, int export)
{
    static const struct option longopts[] = {
        {"sender", required_argument, NULL, 's'},
        {"rcpt", required_argument, NULL, 'r'},
        {"client", required_argument, NULL, 'c'},
        {"subject", required_argument, NULL, 'S'},
        {"message-id", required_argument, NULL, 'm'},
        {"since", required_argument, NULL, 'a'},
        {"until", required_argument, NULL, 'b'},
        {"json", no_argument, NULL, 'j'},
        {"limit", required_argument, NULL, 'l'},
        {"mbox", required_argument, NULL, 'o'},
        {"force", no_argument, NULL, 'f'},
        {NULL, 0, NULL, 0},
    };
    VBUF   *why = vbuf_create(100);
    long long now = (long long) time(NULL);
    char   *end;
    int     ch;

    memset(a, 0, sizeof(*a));
    arc_query_init(&a->query);
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
        switch (ch) {
        case 's':
            a->query.sender = optarg;
            break;
        case 'r':
            a->query.rcpt = optarg;
            break;
        case 'c':
            a->query.client = optarg;
            break;
        case 'S':
            a->query.subject = optarg;
            break;
        case 'm':
            a->query.message_id = optarg;
            break;
        case 'a':
        case 'b':
            if (arc_keys_date(optarg, now, ch == 'b', ch == 'a' ? &a->query.since
                              : &a->query.until, why) < 0) {
                fprintf(stderr, "alligatectl: --%s %s: %s\n", ch == 'a' ? "since" : "until",
                        printable_str(optarg), vbuf_str(why));
                exit(2);
            }
            break;
        case 'j':
            if (export)
                ctl_usage();
            a->json = 1;
            break;
        case 'l':
            a->query.limit = strtol(optarg, &end, 10);
            if (*optarg == 0 || *end != 0 || a->query.limit < 1) {
                fprintf(stderr, "alligatectl: --limit must be a positive number\n");
                exit(2);
            }
            break;
        case 'o':
            if (!export)
                ctl_usage();
            a->mbox = optarg;
            break;
        case 'f':
            if (!export)
                ctl_usage();
            a->force = 1;
            break;
        default:
            ctl_usage();
        }
        if (ch != 'j' && ch != 'o' && ch != 'l' && ch != 'f')
            a->filters++;
    }
    if (optind != argc || (a->force && a->mbox == NULL))
        ctl_usage();
    vbuf_free(why);
}

/* search --------------------------------------------------------------- */

static void
ctl_archive_line(const ARC_MATCH *m)
{
    VBUF   *buf = vbuf_create(256);
    char    date[32];
    size_t  i;

    printf("%s %s <%s> ", m->id, ctl_archive_date(date, sizeof(date), m->arrival),
           printable_vbuf(buf, m->sender));
    for (i = 0; i < m->rcpt_count; i++)
        printf("%s<%s>", i ? "," : "", printable_vbuf(buf, m->rcpt[i]));
    if ((long) m->rcpt_count < m->rcpt_total)
        printf(",+%ld more", m->rcpt_total - (long) m->rcpt_count);
    /* The subject is UTF-8 without control characters (arc_record.h). */
    printf(" %lld %s\n", m->size, m->subject);
    vbuf_free(buf);
}

static void
ctl_archive_json(const ARC_MATCH *m)
{
    char    date[32];
    size_t  i;

    printf("{\"id\":\"%s\",\"arrival\":\"%s\",\"arrival_unix\":%lld,\"sender\":", m->id,
           ctl_archive_date(date, sizeof(date), m->arrival), m->arrival);
    ctl_json_str(m->sender);
    printf(",\"recipients\":[");
    for (i = 0; i < m->rcpt_count; i++) {
        if (i)
            putchar(',');
        ctl_json_str(m->rcpt[i]);
    }
    printf("],\"recipient_count\":%ld,\"client_address\":", m->rcpt_total);
    ctl_json_str(*m->client_addr ? m->client_addr : NULL);
    printf(",\"client_name\":");
    ctl_json_str(*m->client_name ? m->client_name : NULL);
    printf(",\"helo\":");
    ctl_json_str(*m->helo ? m->helo : NULL);
    printf(",\"protocol\":");
    ctl_json_str(*m->protocol ? m->protocol : NULL);
    printf(",\"tls\":%s,\"sasl_user\":",
           strcmp(m->protocol, "ESMTPS") == 0 || strcmp(m->protocol, "ESMTPSA") == 0
           ? "true" : "false");
    ctl_json_str(*m->sasl_user ? m->sasl_user : NULL);
    printf(",\"message_id\":");
    ctl_json_str(*m->message_id ? m->message_id : NULL);
    printf(",\"subject\":");
    ctl_json_str(m->subject);
    printf(",\"size\":%lld,\"stored\":%lld}\n", m->size, m->stored);
}

/* Runs the search and calls fn with each match; the number of matches,
 * or -1 after saying why. */
static long
ctl_archive_each(const ARC_QUERY *query, void (*fn)(const ARC_MATCH *, void *),
                 void *context)
{
    ARC_CLNT *clnt = ctl_archive_client();
    ARC_MATCH *list;
    long    matches, seen = 0;
    int     status, count, more = 1, i;

    if ((status = arc_clnt_search(clnt, query, &matches)) != ARC_CLNT_OK) {
        ctl_archive_failed(clnt, status);
        return -1;
    }
    while (more && seen < matches) {
        if ((status = arc_clnt_fetch(clnt, &list, &count, &more)) != ARC_CLNT_OK) {
            ctl_archive_failed(clnt, status);
            return -1;
        }
        for (i = 0; i < count; i++)
            fn(list + i, context);
        seen += count;
        arc_clnt_matches_free(list, count);
        if (count == 0)
            break;
    }
    arc_clnt_free(clnt);
    return seen;
}

static void
ctl_archive_print(const ARC_MATCH *m, void *context)
{
    if (*(int *) context)
        ctl_archive_json(m);
    else
        ctl_archive_line(m);
}

static int
ctl_archive_search(int argc, char **argv)
{
    CTL_ARCHIVE_ARGS a;

    ctl_archive_options(argc, argv, &a, 0);
    ctl_load_config();
    return ctl_archive_each(&a.query, ctl_archive_print, &a.json) < 0 ? 1 : 0;
}

/* show and export --------------------------------------------------------- */

/* Reads the archive file of id; -1 after saying why. */
static int
ctl_archive_read(const char *id, ARC_ENVELOPE *env, VBUF *message)
{
    VBUF   *rel = vbuf_create(64), *path = vbuf_create(128), *why = vbuf_create(100);
    int     status = 0;

    if (arc_file_rel_path(rel, id) < 0) {
        fprintf(stderr, "alligatectl: %s: not a queue id\n", printable_str(id));
        status = -1;
    } else {
        vbuf_set(path, conf_str(P_archive_directory));
        vbuf_printf(path, "/%s", vbuf_str(rel));
        if (arc_file_read(vbuf_str(path), env, message, NULL, why) < 0) {
            if (errno == ENOENT)
                fprintf(stderr, "alligatectl: %s: not in the archive\n", id);
            else if (errno == EBADMSG)
                fprintf(stderr, "alligatectl: %s: damaged archive file %s: %s\n", id,
                        vbuf_str(path), printable_str(vbuf_str(why)));
            else
                fprintf(stderr, "alligatectl: %s: %s\n", id, printable_str(vbuf_str(why)));
            status = -1;
        } else if (strcmp(env->id, id) != 0) {
            fprintf(stderr, "alligatectl: %s: damaged archive file %s: it holds %s\n", id,
                    vbuf_str(path), env->id);
            arc_envelope_free(env);
            status = -1;
        }
    }
    vbuf_free(rel);
    vbuf_free(path);
    vbuf_free(why);
    return status;
}

/* The envelope as header fields, CR LF as in the message. */
static void
ctl_archive_envelope(const ARC_ENVELOPE *env)
{
    VBUF   *buf = vbuf_create(128), *name = vbuf_create(64);
    time_t  t = (time_t) env->arrival;
    char    date[64];
    struct tm tm;
    size_t  i;

    gmtime_r(&t, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    printf("X-Alligate-Queue-ID: %s\r\n", env->id);
    printf("X-Alligate-Arrival: %s\r\n", date);
    if (env->client_addr)
        printf("X-Alligate-Client: %s[%s]\r\n",
               env->client_name ? printable_vbuf(name, env->client_name) : "unknown",
               printable_vbuf(buf, env->client_addr));
    if (env->helo)
        printf("X-Alligate-Helo: %s\r\n", printable_vbuf(buf, env->helo));
    if (env->protocol)
        printf("X-Alligate-Protocol: %s\r\n", printable_vbuf(buf, env->protocol));
    printf("X-Alligate-TLS: %s\r\n", arc_envelope_tls(env) ? "yes" : "no");
    if (env->sasl_user)
        printf("X-Alligate-Auth-User: %s\r\n", printable_vbuf(buf, env->sasl_user));
    printf("X-Alligate-Sender: <%s>\r\n", printable_vbuf(buf, env->sender));
    for (i = 0; i < env->rcpt_count; i++)
        printf("X-Alligate-Recipient: <%s>\r\n", printable_vbuf(buf, env->rcpt[i]));
    vbuf_free(buf);
    vbuf_free(name);
}

static int
ctl_archive_show(int argc, char **argv)
{
    ARC_ENVELOPE env;
    VBUF   *message;
    const char *id = NULL;
    int     i, envelope = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--envelope") == 0)
            envelope = 1;
        else if (id == NULL)
            id = argv[i];
        else
            ctl_usage();
    }
    if (id == NULL)
        ctl_usage();
    ctl_load_config();
    message = vbuf_create(65536);
    if (ctl_archive_read(id, &env, message) < 0) {
        vbuf_free(message);
        return 1;
    }
    if (envelope)
        ctl_archive_envelope(&env);
    fwrite(vbuf_str(message), 1, vbuf_len(message), stdout);
    fflush(stdout);
    arc_envelope_free(&env);
    vbuf_free(message);
    return ferror(stdout) ? 1 : 0;
}

typedef struct CTL_EXPORT {
    FILE   *fp;
    VBUF   *message;
    VBUF   *entry;
    long    written;
    long    failed;
} CTL_EXPORT;

static void
ctl_archive_export_one(const ARC_MATCH *m, void *context)
{
    CTL_EXPORT *x = context;
    ARC_ENVELOPE env;

    if (ctl_archive_read(m->id, &env, x->message) < 0) {
        x->failed++;
        return;
    }
    vbuf_reset(x->entry);
    ctl_mbox_from_line(x->entry, env.sender, env.arrival);
    ctl_mbox_body(x->entry, vbuf_str(x->message), vbuf_len(x->message));
    if (fwrite(vbuf_str(x->entry), 1, vbuf_len(x->entry), x->fp) != vbuf_len(x->entry))
        x->failed++;
    else
        x->written++;
    arc_envelope_free(&env);
}

/* The directory of path, for its fsync after a rename. */
static void
ctl_archive_sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    VBUF   *dir = vbuf_create(128);
    int     fd;

    if (slash == NULL)
        vbuf_set(dir, ".");
    else if (slash == path)
        vbuf_set(dir, "/");
    else
        vbuf_append(dir, path, (size_t) (slash - path));
    if ((fd = open(vbuf_str(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        (void) fsync(fd);
        close(fd);
    }
    vbuf_free(dir);
}

/* Puts the finished temporary file in place of path; -1 after saying
 * why (the temporary file is gone either way). */
static int
ctl_archive_install(const char *tmp, const char *path, int force)
{
    if (force) {
        if (rename(tmp, path) < 0) {
            fprintf(stderr, "alligatectl: %s: %s\n", path, strerror(errno));
            unlink(tmp);
            return -1;
        }
    } else {
        if (link(tmp, path) < 0) {
            if (errno == EEXIST)
                fprintf(stderr, "alligatectl: %s exists; --force replaces it\n", path);
            else
                fprintf(stderr, "alligatectl: %s: %s\n", path, strerror(errno));
            unlink(tmp);
            return -1;
        }
        unlink(tmp);
    }
    ctl_archive_sync_dir(path);
    return 0;
}

static int
ctl_archive_export(int argc, char **argv)
{
    CTL_ARCHIVE_ARGS a;
    CTL_EXPORT x;
    VBUF   *tmp = NULL;
    long    found;
    int     fd, status = 0;

    ctl_archive_options(argc, argv, &a, 1);
    ctl_load_config();
    memset(&x, 0, sizeof(x));
    if (a.mbox == NULL) {
        x.fp = stdout;
    } else {
        /* Refused before any work; checked again when it is put in place. */
        if (!a.force && access(a.mbox, F_OK) == 0) {
            fprintf(stderr, "alligatectl: %s exists; --force replaces it\n", a.mbox);
            return 1;
        }
        tmp = vbuf_create(128);
        vbuf_printf(tmp, "%s.tmp-%ld", a.mbox, (long) getpid());
        if ((fd = open(vbuf_str(tmp), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0
            || (x.fp = fdopen(fd, "w")) == NULL) {
            fprintf(stderr, "alligatectl: %s: %s\n", vbuf_str(tmp), strerror(errno));
            if (fd >= 0) {
                close(fd);
                unlink(vbuf_str(tmp));
            }
            vbuf_free(tmp);
            return 1;
        }
    }
    x.message = vbuf_create(65536);
    x.entry = vbuf_create(65536);
    found = ctl_archive_each(&a.query, ctl_archive_export_one, &x);
    if (fflush(x.fp) != 0 || ferror(x.fp) || (a.mbox && fsync(fileno(x.fp)) < 0)) {
        fprintf(stderr, "alligatectl: %s: %s\n", a.mbox ? vbuf_str(tmp) : "stdout",
                strerror(errno));
        status = 1;
    }
    if (a.mbox && fclose(x.fp) != 0 && status == 0) {
        fprintf(stderr, "alligatectl: %s: %s\n", vbuf_str(tmp), strerror(errno));
        status = 1;
    }
    if (found < 0)
        status = 1;
    if (a.mbox) {
        /* A file that could not be read is left out and reported; what
         * could be read is still a whole mailbox. */
        if (status != 0)
            unlink(vbuf_str(tmp));
        else if (ctl_archive_install(vbuf_str(tmp), a.mbox, a.force) < 0)
            status = 1;
        else
            fprintf(stderr, "alligatectl: %ld message%s exported to %s%s\n", x.written,
                    x.written == 1 ? "" : "s", a.mbox,
                    x.failed ? " (some could not be read)" : "");
        vbuf_free(tmp);
    }
    if (x.failed > 0)
        status = 1;
    vbuf_free(x.message);
    vbuf_free(x.entry);
    return status;
}

/* reindex and stats --------------------------------------------------------- */

static int
ctl_archive_reindex(int argc, char **argv)
{
    ARC_CLNT_REINDEX st;
    ARC_CLNT *clnt;
    int     status, i;

    (void) argv;
    if (argc != 1)
        ctl_usage();
    ctl_load_config();
    clnt = ctl_archive_client();
    if ((status = arc_clnt_reindex(clnt)) != ARC_CLNT_OK)
        return ctl_archive_failed(clnt, status);
    for (;;) {
        if ((status = arc_clnt_reindex_status(clnt, &st)) != ARC_CLNT_OK)
            return ctl_archive_failed(clnt, status);
        if (!st.running)
            break;
        arc_clnt_reindex_free(&st);
        usleep(CTL_ARCHIVE_POLL_US);
    }
    printf("files: %lld\nindexed: %lld\ndamaged: %lld\n", st.files, st.indexed, st.damaged);
    for (i = 0; i < st.damaged_shown; i++)
        printf("damaged: %s\n", printable_str(st.damaged_paths[i]));
    status = st.damaged > 0 ? 1 : 0;
    arc_clnt_reindex_free(&st);
    arc_clnt_free(clnt);
    return status;
}

/* Links in queue_directory/archive: messages the archiver has not done. */
static long
ctl_archive_links(void)
{
    VBUF   *path = vbuf_create(100);
    struct dirent *dp;
    long    n = 0;
    DIR    *dir;

    if ((dir = opendir(queue_dir_path(path, conf_str(P_queue_directory), QUEUE_DIR_ARCHIVE,
                                      NULL))) != NULL) {
        while ((dp = readdir(dir)) != NULL)
            if (queue_id_valid(dp->d_name))
                n++;
        closedir(dir);
    }
    vbuf_free(path);
    return n;
}

void
ctl_archive_status(void)
{
    long    n = ctl_archive_links();

    if (conf_bool(P_archive) || n > 0)
        printf("%-12s %ld message%s waiting to be archived%s\n", "archive", n, n == 1 ? "" : "s",
               conf_bool(P_archive) ? "" : " (archive = no)");
}

static int
ctl_archive_stats(int argc, char **argv)
{
    ARC_CLNT_STATS st;
    ARC_CLNT *clnt;
    char    date[32];
    int     status;

    (void) argv;
    if (argc != 1)
        ctl_usage();
    ctl_load_config();
    clnt = ctl_archive_client();
    if ((status = arc_clnt_stats(clnt, &st)) != ARC_CLNT_OK)
        return ctl_archive_failed(clnt, status);
    printf("messages: %lld\n", st.messages);
    printf("size: %lld\n", st.raw_bytes);
    printf("stored: %lld\n", st.stored_bytes);
    if (st.raw_bytes > 0)
        printf("ratio: %.2f\n", (double) st.stored_bytes / (double) st.raw_bytes);
    else
        printf("ratio: -\n");
    printf("oldest: %s\n", st.oldest ? ctl_archive_date(date, sizeof(date), st.oldest) : "-");
    printf("newest: %s\n", st.newest ? ctl_archive_date(date, sizeof(date), st.newest) : "-");
    printf("waiting: %ld\n", ctl_archive_links());
    printf("archived: %lld\n", st.archived);
    printf("removed_age: %lld\n", st.removed_age);
    printf("removed_size: %lld\n", st.removed_size);
    printf("failed: %lld\n", st.failed);
    printf("reindexing: %s\n", st.reindexing ? "yes" : "no");
    if (conf_time_ms(P_archive_max_age) > 0)
        printf("max_age: %s\n", units_time_str(conf_time_ms(P_archive_max_age), date,
                                               sizeof(date)));
    else
        printf("max_age: -\n");
    if (conf_int(P_archive_max_size) > 0)
        printf("max_size: %lld\n", conf_int(P_archive_max_size));
    else
        printf("max_size: -\n");
    arc_clnt_free(clnt);
    return 0;
}

int
ctl_archive(int argc, char **argv)
{
    /* argv[0] is "archive". */
    if (argc < 2)
        ctl_usage();
    argc--;
    argv++;
    optind = 1;
    if (strcmp(argv[0], "search") == 0)
        return ctl_archive_search(argc, argv);
    if (strcmp(argv[0], "show") == 0)
        return ctl_archive_show(argc, argv);
    if (strcmp(argv[0], "export") == 0)
        return ctl_archive_export(argc, argv);
    if (strcmp(argv[0], "reindex") == 0)
        return ctl_archive_reindex(argc, argv);
    if (strcmp(argv[0], "stats") == 0)
        return ctl_archive_stats(argc, argv);
    ctl_usage();
}
