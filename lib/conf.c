/* The configuration reader: main.cf lines into checked, expanded values.
 *
 * main.cf holds "name = value" lines; '#' starts a comment line; a line that
 * starts with white space continues the previous one; $name and ${name}
 * expand other parameters ($$ is a literal $).  Every problem is reported as
 * "PATH:LINE: name: what is wrong", all of them, not just the first.
 *
 * Here: the parameter table, reading main.cf, the order of the work and
 * the accessors; $name expansion is in conf_expand.c, the checks of each
 * value type in conf_type.c. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr_list.h"
#include "cidr_list.h"
#include "conf_private.h"
#include "msg.h"
#include "mymalloc.h"
#include "path.h"
#include "printable.h"
#include "vbuf.h"

const CONF_PARAM conf_params[CONF_NPARAMS] = {
#define SECTION(title)
#define PARAM(name, type, def, min, max, values, help) \
    {#name, type, def, min, max, values, help},
#include "conf_params.def"
#undef PARAM
#undef SECTION
};

static CONFIG *conf_current;

/* conf_set_default()'s values; NULL: the table's. */
static char *conf_defaults_found[CONF_NPARAMS];

void
conf_set_default(CONF_ID id, const char *value)
{
    if ((int) id < 0 || id >= CONF_NPARAMS)
        msg_panic("bad parameter id %d", (int) id);
    myfree(conf_defaults_found[id]);
    conf_defaults_found[id] = value ? mystrdup(value) : NULL;
}

const char *
conf_default(CONF_ID id)
{
    return conf_defaults_found[id] ? conf_defaults_found[id] : conf_params[id].def;
}

int
conf_lookup(const char *name)
{
    int i;

    for (i = 0; i < CONF_NPARAMS; i++)
        if (strcmp(conf_params[i].name, name) == 0)
            return i;
    return -1;
}

/* Levenshtein distance, bounded to short names. */
static size_t
conf_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[128];
    size_t i, j;

    if (la > 120 || lb > 120)
        return (size_t) -1;
    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);

            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *
conf_suggest(const char *name)
{
    const char *best = NULL;
    size_t best_d = (size_t) -1;
    size_t limit = strlen(name) / 3 + 2;
    int i;

    for (i = 0; i < CONF_NPARAMS; i++) {
        size_t d = conf_distance(name, conf_params[i].name);

        if (d < best_d) {
            best_d = d;
            best = conf_params[i].name;
        }
    }
    return best_d <= limit ? best : NULL;
}

static CONFIG *
conf_new(const char *dir)
{
    CONFIG *conf = mycalloc(1, sizeof(*conf));

    conf->dir = mystrdup(dir);
    conf->path = path_join(dir, CONF_FILE_NAME);
    return conf;
}

CONFIG *
conf_free(CONFIG *conf)
{
    int i;

    if (conf == NULL)
        return NULL;
    for (i = 0; i < CONF_NPARAMS; i++) {
        myfree(conf->raw[i]);
        myfree(conf->where[i]);
        myfree(conf->value[i]);
        if (conf->list[i]) {
            char **cpp;

            for (cpp = conf->list[i]; *cpp; cpp++)
                myfree(*cpp);
            myfree(conf->list[i]);
        }
        cidr_list_free(conf->cidr[i]);
        addr_list_free(conf->addrs[i]);
        myfree(conf->chars[i]);
    }
    myfree(conf->dir);
    myfree(conf->path);
    if (conf_current == conf)
        conf_current = NULL;
    myfree(conf);
    return NULL;
}

const char *
conf_where(const CONFIG *conf, CONF_ID id)
{
    if ((int) id >= 0 && id < CONF_NPARAMS && conf->where[id])
        return conf->where[id];
    return conf->path;
}

static void
conf_verror(const CONFIG *conf, VBUF *errors, int id, const char *fmt, va_list ap)
{
    if (id >= 0 && conf->line[id] > 0)
        vbuf_printf(errors, "%s: %s: ", conf_where(conf, id), conf_params[id].name);
    else if (id >= 0)
        vbuf_printf(errors, "%s: %s (default): ", conf->path,
                    conf_params[id].name);
    else
        vbuf_printf(errors, "%s: ", conf->path);
    vbuf_vprintf(errors, fmt, ap);
    vbuf_append_char(errors, '\n');
}

void
conf_error(const CONFIG *conf, VBUF *errors, int id, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    conf_verror(conf, errors, id, fmt, ap);
    va_end(ap);
}

void
conf_problem(const CONFIG *conf, VBUF *out, CONF_ID id, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    conf_verror(conf, out, (int) id, fmt, ap);
    va_end(ap);
}

/* main.cf parsing ---------------------------------------------------------*/

/* Stores one logical line "name = value". */
static void
conf_assign(CONFIG *conf, char *text, int lineno, VBUF *errors)
{
    char *cp = text;
    char *name;
    char *value;
    char *end;
    int id;

    name = cp;
    while (*cp && (isalnum((unsigned char) *cp) || *cp == '_'))
        cp++;
    end = cp;
    while (*cp == ' ' || *cp == '\t')
        cp++;
    if (end == name || *cp != '=') {
        vbuf_printf(errors, "%s:%d: syntax error: expected \"name = value\"\n",
                    conf->path, lineno);
        return;
    }
    *end = 0;
    value = cp + 1;
    while (*value == ' ' || *value == '\t')
        value++;
    if ((id = conf_lookup(name)) < 0) {
        const char *near = conf_suggest(name);

        vbuf_printf(errors, "%s:%d: unknown parameter \"%s\"", conf->path,
                    lineno, printable_str(name));
        if (near)
            vbuf_printf(errors, "; did you mean \"%s\"?", near);
        vbuf_append_char(errors, '\n');
        return;
    }
    if (id == P_config_directory) {
        vbuf_printf(errors, "%s:%d: config_directory cannot be set in %s; use alligatectl -c DIR\n",
                    conf->path, lineno, CONF_FILE_NAME);
        return;
    }
    /* As in Postfix, a later setting replaces an earlier one. */
    myfree(conf->raw[id]);
    conf->raw[id] = mystrdup(value);
    conf->line[id] = lineno;
    myfree(conf->where[id]);
    conf->where[id] = mymalloc(strlen(conf->path) + 24);
    snprintf(conf->where[id], strlen(conf->path) + 24, "%s:%d", conf->path, lineno);
}

static void
conf_trim_right(VBUF *vb)
{
    while (vb->len > 0 && isspace((unsigned char) vb->data[vb->len - 1]))
        vbuf_truncate(vb, vb->len - 1);
}

/* Reads main.cf into conf->raw; returns -1 if it cannot be read. */
static int
conf_read_file(CONFIG *conf, VBUF *errors)
{
    FILE *fp;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0;
    int start_line = 0;
    int broken = 0;                     /* current logical line is bad */
    VBUF *logical = vbuf_create(256);

    if ((fp = fopen(conf->path, "r")) == NULL) {
        vbuf_printf(errors, "%s: %s\n", conf->path, strerror(errno));
        vbuf_free(logical);
        return -1;
    }
    for (;;) {
        len = getline(&line, &cap, fp);
        if (len >= 0)
            lineno++;
        /* A new logical line (or EOF) ends the pending one. */
        if (len < 0 || (len > 0 && !isspace((unsigned char) line[0])
                        && line[0] != '#')) {
            if (start_line && !broken)
                conf_assign(conf, vbuf_str(logical), start_line, errors);
            vbuf_reset(logical);
            start_line = 0;
            broken = 0;
        }
        if (len < 0)
            break;
        if ((size_t) len != strlen(line)) {
            vbuf_printf(errors, "%s:%d: NUL byte in line\n", conf->path, lineno);
            broken = 1;
            continue;
        }
        if (len > CONF_LINE_MAX) {
            vbuf_printf(errors, "%s:%d: line too long (more than %d bytes)\n",
                        conf->path, lineno, CONF_LINE_MAX);
            broken = 1;
            continue;
        }
        {
            char *cp = line;

            while (*cp == ' ' || *cp == '\t')
                cp++;
            if (*cp == '#' || *cp == '\n' || *cp == '\r' || *cp == 0)
                continue;               /* comment or blank */
            if (cp != line) {           /* continuation */
                if (start_line == 0) {
                    if (!broken)
                        vbuf_printf(errors, "%s:%d: continuation line without a parameter before it\n",
                                    conf->path, lineno);
                    continue;
                }
                vbuf_append_char(logical, ' ');
            } else {
                start_line = lineno;
            }
            vbuf_append_str(logical, cp);
            conf_trim_right(logical);
            if (logical->len > CONF_VALUE_MAX && !broken) {
                vbuf_printf(errors, "%s:%d: line too long (more than %d bytes with its continuations)\n",
                            conf->path, start_line, CONF_VALUE_MAX);
                broken = 1;
            }
        }
    }
    free(line);
    fclose(fp);
    vbuf_free(logical);
    return 0;
}

/* Rules that involve more than one parameter. */
static int
conf_check_relations(CONFIG *conf, VBUF *errors)
{
    int rc = 0;

    if (conf->num[P_maximal_backoff_time] < conf->num[P_minimal_backoff_time]) {
        conf_error(conf, errors, P_maximal_backoff_time,
                   "must not be less than minimal_backoff_time");
        rc = -1;
    }
    /* smtps is port 25's service over implicit TLS (RFC 8314): it needs
     * a certificate, not AUTH. */
    if (*conf->value[P_smtps_listen] && *conf->value[P_tls_cert_file] == 0) {
        conf_error(conf, errors, P_smtps_listen, "needs tls_cert_file");
        rc = -1;
    }
    /* auth_backend's values: local|relay. */
    if (conf->num[P_smtp_auth] && conf->num[P_auth_backend] == 1
        && *conf->value[P_relay_host] == 0) {
        conf_error(conf, errors, P_auth_backend, "relay needs relay_host");
        rc = -1;
    }
    if (*conf->value[P_submission_listen] && !conf->num[P_smtp_auth]) {
        conf_error(conf, errors, P_submission_listen,
                   "an AUTH ONLY service needs smtp_auth = yes");
        rc = -1;
    }
    return rc;
}

static CONFIG *
conf_finish(CONFIG *conf, VBUF *errors, int had_errors)
{
    CONF_EXPAND *st = conf_expand_create();
    VBUF *check_errors[CONF_NPARAMS];
    int failed[CONF_NPARAMS];
    int bad = had_errors;
    int i, j;

    for (i = 0; i < CONF_NPARAMS; i++)
        failed[i] = conf_expand_param(conf, i, st, errors) < 0;
    for (i = 0; i < CONF_NPARAMS; i++) {
        check_errors[i] = NULL;
        if (failed[i]) {
            bad = 1;
            if (conf->value[i] == NULL)
                conf->value[i] = mystrdup("");
            continue;
        }
        check_errors[i] = vbuf_create(16);
        if (conf_type_check(conf, i, check_errors[i]) < 0)
            failed[i] = bad = 1;
    }
    /* One mistake, one message: a value that is bad only because it
     * contains another bad value ($myhostname) is not reported again. */
    for (i = 0; i < CONF_NPARAMS; i++) {
        if (check_errors[i] == NULL)
            continue;
        for (j = 0; j < CONF_NPARAMS; j++)
            if (conf_expand_uses(st, i, j) && failed[j])
                break;
        if (j == CONF_NPARAMS)
            vbuf_append(errors, vbuf_str(check_errors[i]), vbuf_len(check_errors[i]));
        vbuf_free(check_errors[i]);
    }
    conf_expand_free(st);
    if (!bad && conf_check_relations(conf, errors) < 0)
        bad = 1;
    if (bad)
        return conf_free(conf);
    return conf;
}

CONFIG *
conf_load(const char *dir, VBUF *errors)
{
    CONFIG *conf = conf_new(dir);
    size_t before = errors->len;

    if (conf_read_file(conf, errors) < 0)
        return conf_free(conf);
    return conf_finish(conf, errors, errors->len != before);
}

CONFIG *
conf_defaults(void)
{
    CONFIG *conf = conf_new(ALLIGATE_CONFIG_DIR);
    VBUF *errors = vbuf_create(100);

    conf = conf_finish(conf, errors, 0);
    if (conf == NULL)
        msg_panic("built-in defaults are invalid: %s", vbuf_str(errors));
    vbuf_free(errors);
    return conf;
}

/* Accessors -----------------------------------------------------------------*/

CONFIG *
conf_activate(CONFIG *conf)
{
    CONFIG *old = conf_current;

    conf_current = conf;
    return old;
}

CONFIG *
conf_active(void)
{
    return conf_current;
}

static const CONFIG *
conf_need(CONF_ID id, CONF_TYPE t1, CONF_TYPE t2)
{
    if (conf_current == NULL)
        msg_panic("configuration used before it was loaded");
    if ((int) id < 0 || id >= CONF_NPARAMS)
        msg_panic("bad parameter id %d", (int) id);
    if (conf_params[id].type != t1 && conf_params[id].type != t2)
        msg_panic("parameter %s is a %s", conf_params[id].name,
                  conf_type_name(conf_params[id].type));
    return conf_current;
}

const char *
conf_value(const CONFIG *conf, CONF_ID id)
{
    return conf->value[id];
}

int
conf_is_set(const CONFIG *conf, CONF_ID id)
{
    return conf->line[id] > 0;
}

const char *
conf_str(CONF_ID id)
{
    if (conf_current == NULL)
        msg_panic("configuration used before it was loaded");
    return conf_current->value[id];
}

int
conf_bool(CONF_ID id)
{
    return (int) conf_need(id, CONF_BOOL, CONF_BOOL)->num[id];
}

long long
conf_int(CONF_ID id)
{
    const CONFIG *c = conf_need(id, CONF_INT, CONF_SIZE);

    return c->num[id];
}

long long
conf_time_ms(CONF_ID id)
{
    return conf_need(id, CONF_TIME, CONF_TIME)->num[id];
}

long long
conf_time(CONF_ID id)
{
    return conf_time_ms(id) / 1000;
}

char *const *
conf_list(CONF_ID id)
{
    static char *empty[] = {NULL};
    const CONFIG *c;

    if (conf_current == NULL)
        msg_panic("configuration used before it was loaded");
    c = conf_current;
    return c->list[id] ? c->list[id] : empty;
}

const CIDR_LIST *
conf_cidr(CONF_ID id)
{
    const CONFIG *c = conf_need(id, CONF_CIDR, CONF_IPFILE);

    return c->cidr[id];
}

const ADDR_LIST *
conf_addrs(CONF_ID id)
{
    return conf_need(id, CONF_RCPTFILE, CONF_RCPTFILE)->addrs[id];
}

int
conf_enum(CONF_ID id)
{
    return (int) conf_need(id, CONF_ENUM, CONF_ENUM)->num[id];
}

const unsigned char *
conf_chars(CONF_ID id)
{
    return conf_need(id, CONF_CHARS, CONF_CHARS)->chars[id];
}
