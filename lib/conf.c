/* The configuration reader: main.cf lines into checked, expanded values.
 *
 * main.cf holds "name = value" lines; '#' starts a comment line; a line that
 * starts with white space continues the previous one; $name and ${name}
 * expand other parameters ($$ is a literal $).  Every problem is reported as
 * "PATH:LINE: name: what is wrong", all of them, not just the first. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr_list.h"
#include "cidr_list.h"
#include "conf.h"
#include "hostport.h"
#include "msg.h"
#include "mymalloc.h"
#include "units.h"
#include "vbuf.h"

const CONF_PARAM conf_params[CONF_NPARAMS] = {
#define SECTION(title)
#define PARAM(name, type, def, min, max, values, help) \
    {#name, type, def, min, max, values, help},
#include "conf_params.def"
#undef PARAM
#undef SECTION
};

struct CONF {
    char *dir;                          /* configuration directory */
    char *path;                         /* DIR/main.cf */
    char *raw[CONF_NPARAMS];            /* as set in main.cf, or NULL */
    int line[CONF_NPARAMS];             /* where it was set */
    char *value[CONF_NPARAMS];          /* expanded */
    long long num[CONF_NPARAMS];        /* BOOL, INT, SIZE, TIME, ENUM */
    char **list[CONF_NPARAMS];          /* list types */
    CIDR_LIST *cidr[CONF_NPARAMS];
    ADDR_LIST *addrs[CONF_NPARAMS];
    unsigned char *chars[CONF_NPARAMS];
};

static CONF *conf_current;

const char *
conf_type_name(CONF_TYPE type)
{
    static const char *names[] = {
        "string", "hostname", "bool", "int", "size", "time", "enum",
        "domain list", "address:port list", "host[:port]", "host[:port] list",
        "CIDR list", "address file", "recipient file", "path", "file",
        "characters",
    };

    return names[type];
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

static CONF *
conf_new(const char *dir)
{
    CONF *conf = mycalloc(1, sizeof(*conf));

    conf->dir = mystrdup(dir);
    conf->path = mymalloc(strlen(dir) + sizeof(CONF_FILE_NAME) + 1);
    sprintf(conf->path, "%s/%s", dir, CONF_FILE_NAME);
    return conf;
}

CONF *
conf_free(CONF *conf)
{
    int i;

    if (conf == NULL)
        return NULL;
    for (i = 0; i < CONF_NPARAMS; i++) {
        myfree(conf->raw[i]);
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

/* Appends "PATH:LINE: name: message" (or "PATH: name: ..." for a value
 * that comes from the defaults) to errors. */
static void __attribute__((format(printf, 4, 5)))
conf_error(const CONF *conf, VBUF *errors, int id, const char *fmt, ...)
{
    va_list ap;

    if (id >= 0 && conf->line[id] > 0)
        vbuf_printf(errors, "%s:%d: %s: ", conf->path, conf->line[id],
                    conf_params[id].name);
    else if (id >= 0)
        vbuf_printf(errors, "%s: %s (default): ", conf->path,
                    conf_params[id].name);
    else
        vbuf_printf(errors, "%s: ", conf->path);
    va_start(ap, fmt);
    vbuf_vprintf(errors, fmt, ap);
    va_end(ap);
    vbuf_append_char(errors, '\n');
}

/* main.cf parsing ---------------------------------------------------------*/

/* Stores one logical line "name = value". */
static void
conf_assign(CONF *conf, char *text, int lineno, VBUF *errors)
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
                    lineno, msg_printable_str(name));
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
}

static void
conf_trim_right(VBUF *vb)
{
    while (vb->len > 0 && isspace((unsigned char) vb->data[vb->len - 1]))
        vbuf_truncate(vb, vb->len - 1);
}

/* Reads main.cf into conf->raw; returns -1 if it cannot be read. */
static int
conf_read_file(CONF *conf, VBUF *errors)
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

/* $name expansion ---------------------------------------------------------*/

#define EXPAND_TODO     0
#define EXPAND_BUSY     1
#define EXPAND_DONE     2

typedef struct EXPAND_STATE {
    char state[CONF_NPARAMS];
    char uses[CONF_NPARAMS][CONF_NPARAMS];      /* value of i contains j's */
    int stack[CONF_NPARAMS + 1];
    int depth;
} EXPAND_STATE;

static char *conf_default_hostname(void);

/* The unexpanded text of a parameter: main.cf's, or its default. */
static const char *
conf_raw_text(CONF *conf, int id)
{
    if (conf->raw[id])
        return conf->raw[id];
    if (id == P_myhostname)
        return conf->raw[id] = conf_default_hostname();
    if (id == P_config_directory)
        return conf->raw[id] = mystrdup(conf->dir);
    return conf_params[id].def;
}

static int conf_expand(CONF *conf, int id, EXPAND_STATE *st, VBUF *errors);

/* Expands text on behalf of parameter id into out. */
static int
conf_expand_text(CONF *conf, int id, const char *text, VBUF *out,
                 EXPAND_STATE *st, VBUF *errors)
{
    const char *cp = text;

    while (*cp) {
        const char *start;
        char name[80];
        size_t n;
        int ref;

        if (*cp != '$') {
            vbuf_append_char(out, *cp++);
            continue;
        }
        cp++;
        if (*cp == '$') {
            vbuf_append_char(out, '$');
            cp++;
            continue;
        }
        if (*cp == '{') {
            start = ++cp;
            while (*cp && *cp != '}')
                cp++;
            if (*cp != '}') {
                conf_error(conf, errors, id, "missing '}' after \"${\"");
                return -1;
            }
            n = (size_t) (cp++ - start);
        } else {
            start = cp;
            while (isalnum((unsigned char) *cp) || *cp == '_')
                cp++;
            n = (size_t) (cp - start);
        }
        if (n == 0) {
            conf_error(conf, errors, id, "'$' not followed by a parameter name (write $$ for a literal $)");
            return -1;
        }
        if (n >= sizeof(name))
            n = sizeof(name) - 1;
        memcpy(name, start, n);
        name[n] = 0;
        if ((ref = conf_lookup(name)) < 0) {
            const char *near = conf_suggest(name);

            conf_error(conf, errors, id, "unknown parameter \"$%s\" in value%s%s%s",
                       msg_printable_str(name), near ? "; did you mean \"$" : "",
                       near ? near : "", near ? "\"?" : "");
            return -1;
        }
        if (conf_expand(conf, ref, st, errors) < 0)
            return -1;
        vbuf_append_str(out, conf->value[ref]);
        /* Values that repeat other values grow exponentially. */
        if (out->len > CONF_VALUE_MAX) {
            conf_error(conf, errors, id, "value too long after $name expansion (more than %d bytes)",
                       CONF_VALUE_MAX);
            return -1;
        }
        {
            int j;

            st->uses[id][ref] = 1;
            for (j = 0; j < CONF_NPARAMS; j++)
                st->uses[id][j] |= st->uses[ref][j];
        }
    }
    return 0;
}

static int
conf_expand(CONF *conf, int id, EXPAND_STATE *st, VBUF *errors)
{
    VBUF *out;
    int rc;

    if (st->state[id] == EXPAND_DONE)
        return conf->value[id] ? 0 : -1;
    if (st->state[id] == EXPAND_BUSY) {
        VBUF *loop = vbuf_create(100);
        int start = st->depth - 1;
        int blame = -1;                 /* report it where main.cf set it */
        int i;

        while (start > 0 && st->stack[start] != id)
            start--;
        for (i = start; i < st->depth; i++) {
            vbuf_printf(loop, "$%s -> ", conf_params[st->stack[i]].name);
            if (blame < 0 && conf->line[st->stack[i]] > 0)
                blame = st->stack[i];
        }
        vbuf_printf(loop, "$%s", conf_params[id].name);
        conf_error(conf, errors, blame >= 0 ? blame : id, "expansion loop: %s",
                   vbuf_str(loop));
        vbuf_free(loop);
        return -1;
    }
    st->state[id] = EXPAND_BUSY;
    st->stack[st->depth++] = id;
    out = vbuf_create(64);
    rc = conf_expand_text(conf, id, conf_raw_text(conf, id), out, st, errors);
    st->depth--;
    st->state[id] = EXPAND_DONE;
    if (rc == 0)
        conf->value[id] = mystrdup(vbuf_str(out));
    vbuf_free(out);
    return rc;
}

/* Typed checks --------------------------------------------------------------*/

static char *
conf_default_hostname(void)
{
    char host[256];

    if (gethostname(host, sizeof(host)) < 0 || host[0] == 0)
        return mystrdup("localhost");
    host[sizeof(host) - 1] = 0;
    return mystrdup(host);
}

/* Host name syntax: labels of letters, digits, '-' and '_'. */
static int
conf_hostname_ok(const char *name)
{
    const char *cp;
    size_t label = 0;

    if (*name == 0 || strlen(name) > 253 || *name == '.' || *name == '-')
        return 0;
    for (cp = name; *cp; cp++) {
        if (*cp == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else if (isalnum((unsigned char) *cp) || *cp == '-' || *cp == '_') {
            if (++label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    return 1;
}

/* Splits a list on commas and white space. */
static char **
conf_split(const char *value)
{
    size_t n = 0;
    char **list = mymalloc(sizeof(char *) * (strlen(value) / 2 + 2));
    const char *cp = value;

    for (;;) {
        const char *start;

        while (*cp == ',' || isspace((unsigned char) *cp))
            cp++;
        if (*cp == 0)
            break;
        start = cp;
        while (*cp && *cp != ',' && !isspace((unsigned char) *cp))
            cp++;
        list[n++] = mystrndup(start, (size_t) (cp - start));
    }
    list[n] = NULL;
    return list;
}

/* A relative path is taken relative to the configuration directory. */
static void
conf_absolute(CONF *conf, int id)
{
    char *v = conf->value[id];
    char *abs;

    if (*v == 0 || *v == '/')
        return;
    abs = mymalloc(strlen(conf->dir) + strlen(v) + 2);
    sprintf(abs, "%s/%s", conf->dir, v);
    myfree(v);
    conf->value[id] = abs;
}

static int
conf_parse_bool(const char *v)
{
    static const char *yes[] = {"yes", "true", "on", "1"};
    static const char *no[] = {"no", "false", "off", "0"};
    size_t i;

    for (i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return 1;
        if (strcasecmp(v, no[i]) == 0)
            return 0;
    }
    return -1;
}

/* Parses "a-zA-Z0-9._-" into a table; '-' first or last is literal; an
 * empty set allows nothing (the parameter's users take it as no check). */
static int
conf_parse_chars(const char *v, unsigned char *table, VBUF *why)
{
    const unsigned char *cp = (const unsigned char *) v;

    memset(table, 0, 256);
    while (*cp) {
        unsigned lo = *cp, hi = *cp;

        if (lo < 0x21 || lo > 0x7e) {
            vbuf_printf(why, "character 0x%02x is not printable ASCII", lo);
            return -1;
        }
        if (cp[1] == '-' && cp[2]) {
            hi = cp[2];
            if (hi < 0x21 || hi > 0x7e) {
                vbuf_printf(why, "character 0x%02x is not printable ASCII", hi);
                return -1;
            }
            if (hi < lo) {
                vbuf_printf(why, "reversed range \"%c-%c\"", lo, hi);
                return -1;
            }
            cp += 3;
        } else {
            cp += 1;
        }
        for (; lo <= hi; lo++)
            table[lo] = 1;
    }
    /* Empty is no check: smtpd leaves it out. */
    return 0;
}

static int
conf_check_range(CONF *conf, int id, long long v, VBUF *errors)
{
    const CONF_PARAM *p = &conf_params[id];
    char lo[32], hi[32];

    if (p->min == 0 && p->max == 0)
        return v < 0 ? (conf_error(conf, errors, id, "negative value \"%s\"",
                                   conf->value[id]), -1) : 0;
    if (v >= p->min && v <= p->max)
        return 0;
    if (p->type == CONF_TIME)
        conf_error(conf, errors, id, "value \"%s\" out of range (%s..%s)",
                   conf->value[id], units_time_str(p->min, lo, sizeof(lo)),
                   units_time_str(p->max, hi, sizeof(hi)));
    else
        conf_error(conf, errors, id, "value \"%s\" out of range (%lld..%lld)",
                   conf->value[id], p->min, p->max);
    return -1;
}

static int
conf_check(CONF *conf, int id, VBUF *errors)
{
    const CONF_PARAM *p = &conf_params[id];
    VBUF *why = vbuf_create(100);
    char *v;
    char **cpp;
    int rc = 0;

    if (p->type == CONF_PATH || p->type == CONF_FILE || p->type == CONF_IPFILE
        || p->type == CONF_RCPTFILE)
        conf_absolute(conf, id);
    v = conf->value[id];

    switch (p->type) {
    case CONF_STRING:
        break;
    case CONF_HOSTNAME:
        if (!conf_hostname_ok(v)) {
            conf_error(conf, errors, id, "bad host name \"%s\"", msg_printable_str(v));
            rc = -1;
        }
        break;
    case CONF_BOOL:
        if ((conf->num[id] = conf_parse_bool(v)) < 0) {
            conf_error(conf, errors, id, "bad boolean \"%s\" (use yes or no)",
                       msg_printable_str(v));
            rc = -1;
        }
        break;
    case CONF_INT:
    case CONF_SIZE:
    case CONF_TIME:
        if (p->type == CONF_INT)
            rc = units_int(v, &conf->num[id], why);
        else if (p->type == CONF_SIZE)
            rc = units_size(v, &conf->num[id], why);
        else
            rc = units_time_ms(v, &conf->num[id], why);
        if (rc < 0)
            conf_error(conf, errors, id, "%s", msg_printable_str(vbuf_str(why)));
        else
            rc = conf_check_range(conf, id, conf->num[id], errors);
        break;
    case CONF_ENUM:{
            char *copy = mystrdup(p->values);  /* "a|b|c" */
            char *word, *save = NULL;
            int n = 0;

            rc = -1;
            for (word = strtok_r(copy, "|", &save); word;
                 word = strtok_r(NULL, "|", &save), n++) {
                if (strcmp(word, v) == 0) {
                    conf->num[id] = n;
                    rc = 0;
                }
            }
            myfree(copy);
            if (rc < 0)
                conf_error(conf, errors, id, "bad value \"%s\" (use one of: %s)",
                           msg_printable_str(v), p->values);
            break;
        }
    case CONF_DOMAINS:
    case CONF_LISTEN:
    case CONF_HOSTPORTS:
        conf->list[id] = conf_split(v);
        for (cpp = conf->list[id]; *cpp; cpp++) {
            struct sockaddr_storage ss;
            socklen_t len;
            HOSTPORT hp;

            if (p->type == CONF_DOMAINS) {
                if (conf_hostname_ok(*cpp))
                    continue;
                conf_error(conf, errors, id, "bad domain name \"%s\"",
                           msg_printable_str(*cpp));
            } else if (p->type == CONF_LISTEN) {
                if (hostport_listen_addr(*cpp, &ss, &len, why) == 0)
                    continue;
                conf_error(conf, errors, id, "%s", vbuf_str(why));
            } else {
                if (hostport_parse(&hp, *cpp, NULL, why) == 0)
                    continue;
                conf_error(conf, errors, id, "%s", vbuf_str(why));
            }
            rc = -1;
        }
        break;
    case CONF_HOSTPORT:{
            HOSTPORT hp;

            if (*v && hostport_parse(&hp, v, NULL, why) < 0) {
                conf_error(conf, errors, id, "%s", vbuf_str(why));
                rc = -1;
            }
            break;
        }
    case CONF_CIDR:
        conf->list[id] = conf_split(v);
        conf->cidr[id] = cidr_list_create();
        for (cpp = conf->list[id]; *cpp; cpp++) {
            int r = (**cpp == '/') ?
                cidr_list_load_file(conf->cidr[id], *cpp, why) :
                cidr_list_add(conf->cidr[id], *cpp, why);

            if (r < 0) {
                conf_error(conf, errors, id, "%s", vbuf_str(why));
                rc = -1;
            }
        }
        cidr_list_finish(conf->cidr[id]);
        break;
    case CONF_IPFILE:
        if (*v == 0)
            break;
        conf->cidr[id] = cidr_list_create();
        if (cidr_list_load_file(conf->cidr[id], v, why) < 0) {
            conf_error(conf, errors, id, "%s", vbuf_str(why));
            rc = -1;
        }
        cidr_list_finish(conf->cidr[id]);
        break;
    case CONF_RCPTFILE:
        if (*v == 0)
            break;
        conf->addrs[id] = addr_list_create();
        if (addr_list_load_file(conf->addrs[id], v, why) < 0) {
            conf_error(conf, errors, id, "%s", vbuf_str(why));
            rc = -1;
        }
        break;
    case CONF_PATH:
        break;
    case CONF_FILE:
        if (*v && access(v, R_OK) < 0) {
            conf_error(conf, errors, id, "cannot read \"%s\": %s", v, strerror(errno));
            rc = -1;
        }
        break;
    case CONF_CHARS:
        conf->chars[id] = mymalloc(256);
        if (conf_parse_chars(v, conf->chars[id], why) < 0) {
            conf_error(conf, errors, id, "%s", vbuf_str(why));
            rc = -1;
        }
        break;
    }
    vbuf_free(why);
    return rc;
}

/* Rules that involve more than one parameter. */
static int
conf_check_relations(CONF *conf, VBUF *errors)
{
    int rc = 0;

    if (conf->num[P_maximal_backoff_time] < conf->num[P_minimal_backoff_time]) {
        conf_error(conf, errors, P_maximal_backoff_time,
                   "must not be less than minimal_backoff_time");
        rc = -1;
    }
    if (*conf->value[P_smtps_listen] && *conf->value[P_tls_cert_file] == 0) {
        conf_error(conf, errors, P_smtps_listen, "needs tls_cert_file");
        rc = -1;
    }
    if (*conf->value[P_submission_listen] && !conf->num[P_smtp_auth]) {
        conf_error(conf, errors, P_submission_listen,
                   "an AUTH ONLY service needs smtp_auth = yes");
        rc = -1;
    }
    return rc;
}

static CONF *
conf_finish(CONF *conf, VBUF *errors, int had_errors)
{
    EXPAND_STATE *st = mycalloc(1, sizeof(*st));
    VBUF *check_errors[CONF_NPARAMS];
    int failed[CONF_NPARAMS];
    int bad = had_errors;
    int i, j;

    for (i = 0; i < CONF_NPARAMS; i++)
        failed[i] = conf_expand(conf, i, st, errors) < 0;
    for (i = 0; i < CONF_NPARAMS; i++) {
        check_errors[i] = NULL;
        if (failed[i]) {
            bad = 1;
            if (conf->value[i] == NULL)
                conf->value[i] = mystrdup("");
            continue;
        }
        check_errors[i] = vbuf_create(16);
        if (conf_check(conf, i, check_errors[i]) < 0)
            failed[i] = bad = 1;
    }
    /* One mistake, one message: a value that is bad only because it
     * contains another bad value ($myhostname) is not reported again. */
    for (i = 0; i < CONF_NPARAMS; i++) {
        if (check_errors[i] == NULL)
            continue;
        for (j = 0; j < CONF_NPARAMS; j++)
            if (st->uses[i][j] && failed[j])
                break;
        if (j == CONF_NPARAMS)
            vbuf_append(errors, vbuf_str(check_errors[i]), vbuf_len(check_errors[i]));
        vbuf_free(check_errors[i]);
    }
    myfree(st);
    if (!bad && conf_check_relations(conf, errors) < 0)
        bad = 1;
    if (bad)
        return conf_free(conf);
    return conf;
}

CONF *
conf_load(const char *dir, VBUF *errors)
{
    CONF *conf = conf_new(dir);
    size_t before = errors->len;

    if (conf_read_file(conf, errors) < 0)
        return conf_free(conf);
    return conf_finish(conf, errors, errors->len != before);
}

CONF *
conf_defaults(void)
{
    CONF *conf = conf_new(ALLIGATE_CONFIG_DIR);
    VBUF *errors = vbuf_create(100);

    conf = conf_finish(conf, errors, 0);
    if (conf == NULL)
        msg_panic("built-in defaults are invalid: %s", vbuf_str(errors));
    vbuf_free(errors);
    return conf;
}

/* Accessors -----------------------------------------------------------------*/

CONF *
conf_activate(CONF *conf)
{
    CONF *old = conf_current;

    conf_current = conf;
    return old;
}

CONF *
conf_active(void)
{
    return conf_current;
}

static const CONF *
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
conf_value(const CONF *conf, CONF_ID id)
{
    return conf->value[id];
}

int
conf_is_set(const CONF *conf, CONF_ID id)
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
    const CONF *c = conf_need(id, CONF_INT, CONF_SIZE);

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
    const CONF *c;

    if (conf_current == NULL)
        msg_panic("configuration used before it was loaded");
    c = conf_current;
    return c->list[id] ? c->list[id] : empty;
}

const CIDR_LIST *
conf_cidr(CONF_ID id)
{
    const CONF *c = conf_need(id, CONF_CIDR, CONF_IPFILE);

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
