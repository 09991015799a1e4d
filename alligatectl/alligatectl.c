/* alligatectl: start, stop and inspect Alligate; check and print its
 * configuration. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "daemon_dir.h"
#include "ctl.h"
#include "msg.h"
#include "printable.h"
#include "vbuf.h"

const char *ctl_config_dir = ALLIGATE_CONFIG_DIR;

static const char ctl_usage_text[] =
    "usage: alligatectl [-c DIR] COMMAND [ARGS]\n"
    "\n"
    "  -c DIR            configuration directory (default " ALLIGATE_CONFIG_DIR ")\n"
    "\n"
    "commands:\n"
    "  start [--foreground]\n"
    "                    start every process; return once every listener accepts\n"
    "  stop              stop accepting, let sessions finish, stop everything\n"
    "  reload            re-read the configuration (refused when it is bad)\n"
    "  status            each process, its pid and state, workers busy/idle\n"
    "  check             validate main.cf, every file it names, the TLS\n"
    "                    certificate and key, daemon_user and log_file\n"
    "  config [-n|-d] [NAME...]\n"
    "                    print parameters: effective values, -n only those set\n"
    "                    in main.cf, -d the defaults\n"
    "  queue list [--json]\n"
    "                    the queued messages: id, size, arrival, sender,\n"
    "                    recipients, status and last error\n"
    "  queue show ID     a message's envelope and content\n"
    "  queue flush       try every queued message now\n"
    "  queue delete ID...|all\n"
    "  queue hold ID...|all\n"
    "  queue release ID...|all\n"
    "                    remove messages, put them aside, put them back\n"
    "  rate show KEY     the counts and windows of an address, sender or user\n"
    "  rate top [N]      the N busiest counters (default 10)\n"
    "  rate reset KEY    forget the counts of an address, sender or user\n"
    "  dns lookup [--fresh] ADDR\n"
    "                    dnscache's answer for an address: PTR names, verified\n"
    "                    name, blocklist score, TTL (--fresh: ask DNS again)\n"
    "  dns flush [ADDR]  forget an address, or the whole DNS cache\n"
    "  dns stats         cache entries, hit ratio, lookups in flight\n"
    "  archive search [FILTERS] [--json] [--limit N]\n"
    "                    archived messages, one a line: id, date, sender,\n"
    "                    recipients, size, subject; FILTERS (combined with AND):\n"
    "                    --sender A  --rcpt A  --client ADDR  --subject WORDS\n"
    "                    --message-id ID  --since DATE  --until DATE\n"
    "                    (A: an address or @domain; DATE: 2026-12-01 or 7d)\n"
    "  archive show ID [--envelope]\n"
    "                    a message as received (the envelope as headers first)\n"
    "  archive export [FILTERS] [--mbox FILE [--force]]\n"
    "                    the messages in mboxrd format (mutt, Thunderbird)\n"
    "  archive reindex   rebuild the archive index from the stored files\n"
    "  archive stats     messages, sizes, compression, retention\n"
    "  user add NAME [--password-stdin | --hash HASH]\n"
    "  user passwd NAME [--password-stdin]\n"
    "                    a user of auth_backend = local: the password is the\n"
    "                    first line of standard input (typed twice on a\n"
    "                    terminal), or an existing crypt(3) hash\n"
    "  user delete NAME\n"
    "  user list         the users, one name a line\n"
    "  stats [--all] [--json]\n"
    "                    the counters of GET /metrics: sessions, refusals by\n"
    "                    rule, TLS, AUTH, deliveries, the queue (--all: the\n"
    "                    series that are 0 too)\n"
    "  --help            this text\n"
    "\n"
    "See alligatectl(8) and alligate.conf(5).\n";

void
ctl_usage(void)
{
    fputs(ctl_usage_text, stderr);
    exit(2);
}

CONFIG *
ctl_load_config(void)
{
    VBUF *errors = vbuf_create(256);
    CONFIG *conf = conf_load(ctl_config_dir, errors);

    if (conf == NULL) {
        fputs(vbuf_str(errors), stderr);
        exit(1);
    }
    vbuf_free(errors);
    conf_activate(conf);
    return conf;
}

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} ctl_verbs[] = {
    {"check", ctl_check},
    {"config", ctl_config},
    {"start", ctl_start},
    {"stop", ctl_stop},
    {"reload", ctl_reload},
    {"status", ctl_status},
    {"rate", ctl_rate},
    {"queue", ctl_queue},
    {"user", ctl_user},
    {"dns", ctl_dns},
    {"archive", ctl_archive},
    {"stats", ctl_stats},
};

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static char dir[PATH_MAX];
    size_t i;
    int ch;

    msg_init("alligatectl");
    /* In a build tree, without daemon_directory: the programs beside. */
    daemon_dir_beside_self();
    /* '+': stop at the verb, whose options are its own. */
    while ((ch = getopt_long(argc, argv, "+c:hv", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            if (realpath(optarg, dir) == NULL) {
                fprintf(stderr, "alligatectl: %s: %m\n", optarg);
                return 1;
            }
            ctl_config_dir = dir;
            break;
        case 'v':
            msg_verbose++;
            break;
        case 'h':
            fputs(ctl_usage_text, stdout);
            return 0;
        default:
            ctl_usage();
        }
    }
    if (optind >= argc)
        ctl_usage();
    if (strcmp(argv[optind], "--help") == 0 || strcmp(argv[optind], "help") == 0) {
        fputs(ctl_usage_text, stdout);
        return 0;
    }
    for (i = 0; i < sizeof(ctl_verbs) / sizeof(ctl_verbs[0]); i++) {
        if (strcmp(argv[optind], ctl_verbs[i].name) == 0) {
            argv += optind;
            argc -= optind;
            optind = 1;
            return ctl_verbs[i].run(argc, argv);
        }
    }
    fprintf(stderr, "alligatectl: unknown command \"%s\"\n",
            printable_str(argv[optind]));
    ctl_usage();
}
