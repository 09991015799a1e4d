/* libFuzzer target for the configuration reader: the input is main.cf in
 * a directory made once.  A load either fails with at least one error
 * line, or gives a configuration whose every parameter can be read with
 * its type's accessor and lies in its range. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr_list.h"
#include "cidr_list.h"
#include "conf.h"
#include "vbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[64];
static char fuzz_path[128];

static void
fuzz_cleanup(void)
{
    unlink(fuzz_path);
    rmdir(fuzz_dir);
}

static void
fuzz_init(void)
{
    strcpy(fuzz_dir, "/tmp/fuzz_conf.XXXXXX");
    if (mkdtemp(fuzz_dir) == NULL) {
        perror("mkdtemp");
        abort();
    }
    snprintf(fuzz_path, sizeof(fuzz_path), "%s/%s", fuzz_dir, CONF_FILE_NAME);
    atexit(fuzz_cleanup);
}

static void
fuzz_write(const uint8_t *data, size_t size)
{
    FILE *fp = fopen(fuzz_path, "w");

    if (fp == NULL || fwrite(data, 1, size, fp) != size || fclose(fp) != 0) {
        perror(fuzz_path);
        abort();
    }
}

/* Reads every parameter through the accessor of its type. */
static void
fuzz_check(CONFIG *conf)
{
    const CONF_PARAM *p;
    char *const *cpp;
    long long v;
    int id;

    conf_activate(conf);
    for (id = 0; id < CONF_NPARAMS; id++) {
        p = &conf_params[id];
        if (conf_str(id) == NULL || conf_value(conf, id) != conf_str(id))
            abort();
        switch (p->type) {
        case CONF_BOOL:
            if (conf_bool(id) != 0 && conf_bool(id) != 1)
                abort();
            break;
        case CONF_INT:
        case CONF_SIZE:
        case CONF_TIME:
            v = p->type == CONF_TIME ? conf_time_ms(id) : conf_int(id);
            if (v < 0 || ((p->min || p->max) && (v < p->min || v > p->max)))
                abort();
            break;
        case CONF_ENUM:
            if (conf_enum(id) < 0)
                abort();
            break;
        case CONF_DOMAINS:
        case CONF_LISTEN:
        case CONF_HOSTPORTS:
            for (cpp = conf_list(id); *cpp; cpp++)
                if (**cpp == 0)
                    abort();
            break;
        case CONF_CIDR:
        case CONF_IPFILE:
            /* An empty IPFILE is NULL, a CIDR list never is. */
            if (conf_cidr(id) == NULL) {
                if (p->type == CONF_CIDR || *conf_str(id) != 0)
                    abort();
                break;
            }
            (void) cidr_list_match_str(conf_cidr(id), "192.0.2.1");
            (void) cidr_list_match_str(conf_cidr(id), "2001:db8::1");
            break;
        case CONF_RCPTFILE:
            if (conf_addrs(id))
                (void) addr_list_match(conf_addrs(id), "user@example.com");
            break;
        case CONF_CHARS:
            if (conf_chars(id) == NULL)
                abort();
            break;
        case CONF_PATH:
        case CONF_FILE:
            /* Relative paths are made absolute. */
            if (*conf_str(id) != 0 && *conf_str(id) != '/')
                abort();
            break;
        default:
            break;
        }
    }
    conf_activate(NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static VBUF *errors;
    CONFIG *conf;

    if (errors == NULL) {
        fuzz_init();
        errors = vbuf_create(256);
    }
    fuzz_write(data, size);
    vbuf_reset(errors);
    conf = conf_load(fuzz_dir, errors);
    if (conf == NULL) {
        /* Every failure says why, one line per problem. */
        if (vbuf_len(errors) == 0 || vbuf_str(errors)[vbuf_len(errors) - 1] != '\n')
            abort();
        return 0;
    }
    fuzz_check(conf);
    conf_free(conf);
    return 0;
}
