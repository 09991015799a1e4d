/* The configuration's value types: one table entry per CONF_TYPE, with
 * its name (for the docs and messages) and the parser that checks an
 * expanded value and keeps its parsed form in the CONFIG.  A new type is a
 * new CONF_TYPE and one entry in conf_type_table. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr_list.h"
#include "cidr_list.h"
#include "conf_private.h"
#include "dnsbl.h"
#include "hostport.h"
#include "msg.h"
#include "mymalloc.h"
#include "path.h"
#include "printable.h"
#include "tls_proto.h"
#include "units.h"
#include "vbuf.h"

/* sizeof(((struct sockaddr_un *) 0)->sun_path) on Linux. */
#define CONF_TYPE_SUN_PATH_MAX  108

/* Checks conf->value[id] (v); why is scratch space shared by all calls of
 * one check.  Reports every problem with conf_error() and returns -1 if
 * there was one. */
typedef int (*CONF_TYPE_PARSE)(CONFIG *conf, int id, const char *v, VBUF *why,
                               VBUF *errors);

/* Checks one item of a list; says why it is bad in why (reset first). */
typedef int (*CONF_TYPE_ITEM)(const char *item, VBUF *why);

typedef struct CONF_TYPE_INFO {
    const char *name;                   /* "host[:port] list" */
    int relative;                       /* relative to the config dir */
    CONF_TYPE_PARSE parse;
} CONF_TYPE_INFO;

/* Helpers ------------------------------------------------------------------*/

/* Host name syntax: labels of letters, digits, '-' and '_'. */
static int
conf_type_hostname_ok(const char *name)
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
conf_type_split(const char *value)
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
conf_type_absolute(CONFIG *conf, int id)
{
    char *v = conf->value[id];

    if (*v == 0 || *v == '/')
        return;
    conf->value[id] = path_join(conf->dir, v);
    myfree(v);
}

static int
conf_type_range(CONFIG *conf, int id, long long v, VBUF *errors)
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

/* INT, SIZE and TIME: parsed by one of units.c's functions, then bounded. */
static int
conf_type_number(CONFIG *conf, int id, const char *v, VBUF *why, VBUF *errors,
                 int (*parse)(const char *, long long *, VBUF *))
{
    if (parse(v, &conf->num[id], why) < 0) {
        conf_error(conf, errors, id, "%s", printable_str(vbuf_str(why)));
        return -1;
    }
    return conf_type_range(conf, id, conf->num[id], errors);
}

/* Lists: every item checked, every bad one reported. */
static int
conf_type_list(CONFIG *conf, int id, const char *v, VBUF *why, VBUF *errors,
               CONF_TYPE_ITEM item)
{
    char **cpp;
    int rc = 0;

    conf->list[id] = conf_type_split(v);
    for (cpp = conf->list[id]; *cpp; cpp++) {
        if (item(*cpp, why) == 0)
            continue;
        conf_error(conf, errors, id, "%s", vbuf_str(why));
        rc = -1;
    }
    return rc;
}

static int
conf_type_domain_item(const char *item, VBUF *why)
{
    vbuf_reset(why);
    if (conf_type_hostname_ok(item))
        return 0;
    vbuf_printf(why, "bad domain name \"%s\"", printable_str(item));
    return -1;
}

static int
conf_type_listen_item(const char *item, VBUF *why)
{
    struct sockaddr_storage ss;
    socklen_t len;

    return hostport_listen_addr(item, &ss, &len, why);
}

static int
conf_type_hostport_item(const char *item, VBUF *why)
{
    HOSTPORT hp;

    return hostport_parse(&hp, item, NULL, why);
}

/* A server to connect to: host[:port], [ipv6]:port, or unix:/path (an
 * absolute path that fits a socket address). */
static int
conf_type_server_item(const char *item, VBUF *why)
{
    HOSTPORT hp;

    vbuf_reset(why);
    if (strncmp(item, "unix:", 5) == 0) {
        if (item[5] != '/') {
            vbuf_printf(why, "bad server \"%s\": unix: needs an absolute path",
                        printable_str(item));
            return -1;
        }
        if (strlen(item + 5) >= CONF_TYPE_SUN_PATH_MAX) {
            vbuf_printf(why, "bad server \"%s\": socket path too long",
                        printable_str(item));
            return -1;
        }
        return 0;
    }
    if (hostport_parse(&hp, item, NULL, why) < 0) {
        VBUF *reason = vbuf_create(64);

        vbuf_set(reason, vbuf_str(why));
        vbuf_reset(why);
        vbuf_printf(why, "bad server \"%s\": %s (use host:port, [ipv6]:port or unix:/path)",
                    printable_str(item), vbuf_str(reason));
        vbuf_free(reason);
        return -1;
    }
    return 0;
}

/* Parses "a-zA-Z0-9._-" into a table; '-' first or last is literal; an
 * empty set allows nothing (the parameter's users take it as no check). */
static int
conf_type_parse_chars(const char *v, unsigned char *table, VBUF *why)
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
    return 0;
}

/* The parsers, one per type ------------------------------------------------*/

/* STRING and PATH: any text (a PATH made absolute before). */
static int
conf_type_any(CONFIG *conf, int id, const char *v, VBUF *why, VBUF *errors)
{
    (void) conf, (void) id, (void) v, (void) why, (void) errors;
    return 0;
}

/* A host name as RFC 1123 has it (what the name goes into: EHLO, the
 * greeting, Received: headers): labels of letters, digits and '-', not
 * at a label's ends, 1..63 octets each, 253 in all; a last label of
 * digits alone would make it an address.  Says why not in why. */
static int
conf_type_rfc1123_ok(const char *name, VBUF *why)
{
    const char *label = name;
    const char *cp;
    int digits_only = 1;

    vbuf_reset(why);
    if (strlen(name) > 253) {
        vbuf_set(why, "longer than 253 characters");
        return -1;
    }
    for (cp = name;; cp++) {
        if (*cp == '.' || *cp == 0) {
            size_t len = (size_t) (cp - label);

            if (len == 0 && cp == name && *cp == 0) {
                vbuf_set(why, "empty");
                return -1;
            }
            if (len == 0) {
                vbuf_set(why, *cp ? "empty label" : "ends with '.'");
                return -1;
            }
            if (len > 63) {
                vbuf_set(why, "a label longer than 63 characters");
                return -1;
            }
            if (*label == '-' || cp[-1] == '-') {
                vbuf_set(why, "a label starts or ends with '-'");
                return -1;
            }
            if (*cp == 0)
                break;
            label = cp + 1;
            digits_only = 1;
        } else if (isalnum((unsigned char) *cp) || *cp == '-') {
            if (!isdigit((unsigned char) *cp))
                digits_only = 0;
        } else {
            if (isprint((unsigned char) *cp))
                vbuf_printf(why, "character '%c' not allowed", *cp);
            else
                vbuf_printf(why, "character 0x%02x not allowed", (unsigned char) *cp);
            vbuf_append_str(why, " (letters, digits, '-' and '.')");
            return -1;
        }
    }
    if (digits_only) {
        vbuf_set(why, "the last label is all digits");
        return -1;
    }
    return 0;
}

/* myhostname: as RFC 1123 says, when main.cf sets it; the system's host
 * name, its default, only as loosely as list entries are (a machine
 * named with a '_' still starts; main.cf can name it better). */
static int
conf_type_hostname(CONFIG *conf, int id, const char *v, VBUF *why, VBUF *errors)
{
    if (conf->line[id] > 0 ? conf_type_rfc1123_ok(v, why) == 0
                           : conf_type_hostname_ok(v))
        return 0;
    if (conf->line[id] > 0)
        conf_error(conf, errors, id, "bad host name \"%s\": %s", printable_str(v),
                   vbuf_str(why));
    else
        conf_error(conf, errors, id, "bad host name \"%s\"", printable_str(v));
    return -1;
}

static int
conf_type_bool(CONFIG *conf, int id, const char *v, VBUF *why, VBUF *errors)
{
    static const char *yes[] = {"yes", "true", "on", "1"};
    static const char *no[] = {"no", "false", "off", "0"};
    size_t i;

    (void) why;
    for (i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            conf->num[id] = 1;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            conf->num[id] = 0;
            return 0;
        }
    }
    conf->num[id] = -1;
    conf_error(conf, errors, id, "bad boolean \"%s\" (use yes or no)",
               printable_str(v));
    return -1;
}

static int
conf_type_int(CONFIG *conf, int id, const char *v, VBUF *why, VBUF *errors)
{
    return conf_type_number(conf, id, v, why, errors, units_int);
}

static int
conf_type_size(CONFIG *conf, int id, const char *v, VBUF *why, VBUF *errors)
{
    return conf_type_number(conf, id, v, why, errors, units_size);
}

static int
conf_type_time(CONFIG *conf, int id, const char *v, VBUF *why, VBUF *errors)
{
    return conf_type_number(conf, id, v, why, errors, units_time_ms);
}

/* One of the words in the table's "a|b|c"; num is the word's index. */
static int
conf_type_enum(CONFIG *conf, int id, const char *v, VBUF *why, VBUF *errors)
{
    const char *values = conf_params[id].values;
    char *copy = mystrdup(values);
    char *word, *save = NULL;
    int n = 0;
    int rc = -1;

    (void) why;
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
                   printable_str(v), values);
    return rc;
}

static int
conf_type_domains(CONFIG *conf, int id, const char *v, VBUF *why, VBUF *errors)
{
    return conf_type_list(conf, id, v, why, errors, conf_type_domain_item);
}

static int
conf_type_listen(CONFIG *conf, int id, const char *v, VBUF *why, VBUF *errors)
{
    return conf_type_list(conf, id, v, why, errors, conf_type_listen_item);
}

static int
conf_type_hostports(CONFIG *conf, int id, const char *v, VBUF *why, VBUF *errors)
{
    return conf_type_list(conf, id, v, why, errors, conf_type_hostport_item);
}

/* One host[:port], or empty. */
static int
conf_type_hostport(CONFIG *conf, int id, const char *v, VBUF *why, VBUF *errors)
{
    if (*v == 0 || conf_type_hostport_item(v, why) == 0)
        return 0;
    conf_error(conf, errors, id, "%s", vbuf_str(why));
    return -1;
}

/* Addresses and CIDR blocks, and /files of them. */
static int
conf_type_cidr(CONFIG *conf, int id, const char *v, VBUF *why, VBUF *errors)
{
    char **cpp;
    int rc = 0;

    conf->list[id] = conf_type_split(v);
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
    return rc;
}

static int
conf_type_ipfile(CONFIG *conf, int id, const char *v, VBUF *why, VBUF *errors)
{
    int rc = 0;

    if (*v == 0)
        return 0;
    conf->cidr[id] = cidr_list_create();
    if (cidr_list_load_file(conf->cidr[id], v, why) < 0) {
        conf_error(conf, errors, id, "%s", vbuf_str(why));
        rc = -1;
    }
    cidr_list_finish(conf->cidr[id]);
    return rc;
}

static int
conf_type_rcptfile(CONFIG *conf, int id, const char *v, VBUF *why, VBUF *errors)
{
    if (*v == 0)
        return 0;
    conf->addrs[id] = addr_list_create();
    if (addr_list_load_file(conf->addrs[id], v, why) < 0) {
        conf_error(conf, errors, id, "%s", vbuf_str(why));
        return -1;
    }
    return 0;
}

/* A readable file, or empty. */
static int
conf_type_file(CONFIG *conf, int id, const char *v, VBUF *why, VBUF *errors)
{
    (void) why;
    if (*v && access(v, R_OK) < 0) {
        conf_error(conf, errors, id, "cannot read \"%s\": %s", v, strerror(errno));
        return -1;
    }
    return 0;
}

static int
conf_type_chars(CONFIG *conf, int id, const char *v, VBUF *why, VBUF *errors)
{
    conf->chars[id] = mymalloc(256);
    if (conf_type_parse_chars(v, conf->chars[id], why) < 0) {
        conf_error(conf, errors, id, "%s", vbuf_str(why));
        return -1;
    }
    return 0;
}

/* TLS versions in Postfix's syntax (tls_proto.c), refused here so that
 * every program refuses a bad name, with its line. */
static int
conf_type_tlsproto(CONFIG *conf, int id, const char *v, VBUF *why, VBUF *errors)
{
    int     min, max;

    if (tls_proto_parse(v, &min, &max, why) == 0)
        return 0;
    conf_error(conf, errors, id, "%s", vbuf_str(why));
    return -1;
}

/* DNS blocklists in Postfix's postscreen_dnsbl_sites syntax (dnsbl.c):
 * every bad entry reported with its line, then the list as a whole. */
static int
conf_type_dnsbl_item(const char *item, VBUF *why)
{
    DNSBL_SITES *sites = dnsbl_parse(item, why);

    if (sites == NULL)
        return -1;
    dnsbl_free(sites);
    return 0;
}

static int
conf_type_dnsbl(CONFIG *conf, int id, const char *v, VBUF *why, VBUF *errors)
{
    DNSBL_SITES *sites;

    if (conf_type_list(conf, id, v, why, errors, conf_type_dnsbl_item) < 0)
        return -1;
    if ((sites = dnsbl_parse(v, why)) == NULL) {
        conf_error(conf, errors, id, "%s", vbuf_str(why));
        return -1;
    }
    dnsbl_free(sites);
    return 0;
}

/* Servers to connect to, in order; at least one. */
static int
conf_type_servers(CONFIG *conf, int id, const char *v, VBUF *why, VBUF *errors)
{
    if (conf_type_list(conf, id, v, why, errors, conf_type_server_item) < 0)
        return -1;
    if (conf->list[id][0] == NULL) {
        conf_error(conf, errors, id, "no server given");
        return -1;
    }
    return 0;
}

/* The table ----------------------------------------------------------------*/

static const CONF_TYPE_INFO conf_type_table[] = {
    [CONF_STRING] = {"string", 0, conf_type_any},
    [CONF_HOSTNAME] = {"hostname", 0, conf_type_hostname},
    [CONF_BOOL] = {"bool", 0, conf_type_bool},
    [CONF_INT] = {"int", 0, conf_type_int},
    [CONF_SIZE] = {"size", 0, conf_type_size},
    [CONF_TIME] = {"time", 0, conf_type_time},
    [CONF_ENUM] = {"enum", 0, conf_type_enum},
    [CONF_DOMAINS] = {"domain list", 0, conf_type_domains},
    [CONF_LISTEN] = {"address:port list", 0, conf_type_listen},
    [CONF_HOSTPORT] = {"host[:port]", 0, conf_type_hostport},
    [CONF_HOSTPORTS] = {"host[:port] list", 0, conf_type_hostports},
    [CONF_CIDR] = {"CIDR list", 0, conf_type_cidr},
    [CONF_IPFILE] = {"address file", 1, conf_type_ipfile},
    [CONF_RCPTFILE] = {"recipient file", 1, conf_type_rcptfile},
    [CONF_PATH] = {"path", 1, conf_type_any},
    [CONF_FILE] = {"file", 1, conf_type_file},
    [CONF_CHARS] = {"characters", 0, conf_type_chars},
    [CONF_TLSPROTO] = {"TLS protocols", 0, conf_type_tlsproto},
    [CONF_DNSBL] = {"DNS blocklists", 0, conf_type_dnsbl},
    [CONF_SERVERS] = {"host[:port] or unix:/path list", 0, conf_type_servers},
};

_Static_assert(sizeof(conf_type_table) / sizeof(conf_type_table[0]) == CONF_NTYPES,
               "every CONF_TYPE needs an entry in conf_type_table");

const char *
conf_type_name(CONF_TYPE type)
{
    return conf_type_table[type].name;
}

/* conf_skip_files(): what main.cf names in other files is not read. */
static int conf_type_skip_files;

void
conf_skip_files(int skip)
{
    conf_type_skip_files = skip;
}

static int
conf_type_reads_files(CONF_TYPE type)
{
    return type == CONF_FILE || type == CONF_IPFILE || type == CONF_RCPTFILE
        || type == CONF_CIDR;
}

int
conf_type_check(CONFIG *conf, int id, VBUF *errors)
{
    const CONF_TYPE_INFO *t = &conf_type_table[conf_params[id].type];
    VBUF *why;
    int rc;

    if (t->relative)
        conf_type_absolute(conf, id);
    if (conf_type_skip_files && conf_type_reads_files(conf_params[id].type))
        return 0;
    why = vbuf_create(100);
    rc = t->parse(conf, id, conf->value[id], why, errors);
    vbuf_free(why);
    return rc;
}
