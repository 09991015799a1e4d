/* alligatectl check and alligatectl config: the configuration, validated
 * or printed (as postconf does). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "conf_env.h"
#include "ctl.h"
#include "msg.h"
#include "printable.h"
#include "tls_conf.h"
#include "vbuf.h"

int
ctl_check_conf(CONFIG *conf)
{
    VBUF *errors = vbuf_create(256);
    VBUF *warnings = vbuf_create(64);
    char *line, *save = NULL;
    int rc;

    rc = tls_conf_check(conf, time(NULL), errors, warnings);
    if (conf_env_check(conf, geteuid() == 0, errors, warnings) < 0)
        rc = -1;
    for (line = strtok_r(warnings->data, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save))
        fprintf(stderr, "warning: %s\n", line);
    fputs(vbuf_str(errors), stderr);
    vbuf_free(errors);
    vbuf_free(warnings);
    return rc;
}

int
ctl_check(int argc, char **argv)
{
    if (argc > 1)
        ctl_usage();
    (void) argv;
    /* conf_load's problems make ctl_load_config exit 1. */
    return ctl_check_conf(ctl_load_config()) < 0 ? 1 : 0;
}

/* A value as `config` prints it; with -d, a default that refers to
 * other parameters as written ("$myhostname ESMTP"), as postconf -d
 * does, and the others as they come out (myhostname: the host name). */
static const char *
ctl_config_value(const CONFIG *conf, int defaults, int id)
{
    if (defaults && conf_default_refers(id))
        return conf_default(id);
    return conf_value(conf, id);
}

int
ctl_config(int argc, char **argv)
{
    int only_set = 0;
    int defaults = 0;
    int status = 0;
    CONFIG *conf;
    int ch;
    int i;

    while ((ch = getopt(argc, argv, "+nd")) != -1) {
        switch (ch) {
        case 'n':
            only_set = 1;
            break;
        case 'd':
            defaults = 1;
            break;
        default:
            ctl_usage();
        }
    }
    if (only_set && defaults)
        ctl_usage();
    conf = defaults ? conf_defaults() : ctl_load_config();

    if (optind < argc) {
        for (i = optind; i < argc; i++) {
            int id = conf_lookup(argv[i]);

            if (id < 0) {
                const char *near = conf_suggest(argv[i]);

                fprintf(stderr, "alligatectl: unknown parameter \"%s\"",
                        printable_str(argv[i]));
                if (near)
                    fprintf(stderr, "; did you mean \"%s\"?", near);
                fputc('\n', stderr);
                status = 1;
                continue;
            }
            if (!only_set || conf_is_set(conf, id))
                printf("%s = %s\n", argv[i], ctl_config_value(conf, defaults, id));
        }
        return status;
    }
    for (i = 0; i < CONF_NPARAMS; i++) {
        if (only_set && !conf_is_set(conf, i))
            continue;
        printf("%s = %s\n", conf_params[i].name, ctl_config_value(conf, defaults, i));
    }
    return 0;
}
