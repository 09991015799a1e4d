/* The configuration: main.cf read, expanded and checked against the one
 * parameter table in conf_params.def. */
#ifndef ALLIGATE_CONF_H
#define ALLIGATE_CONF_H

#include <stddef.h>

struct VBUF;
struct CIDR_LIST;
struct ADDR_LIST;

typedef enum CONF_TYPE {
    CONF_STRING,                /* any text */
    CONF_HOSTNAME,              /* a host name (empty = system's) */
    CONF_BOOL,                  /* yes or no */
    CONF_INT,                   /* decimal integer */
    CONF_SIZE,                  /* bytes, optional k/m/g suffix */
    CONF_TIME,                  /* ms/s/m/h/d/w suffix, default s */
    CONF_ENUM,                  /* one of a list of words */
    CONF_DOMAINS,               /* list of domain names */
    CONF_LISTEN,                /* list of address:port */
    CONF_HOSTPORT,              /* one host[:port] or empty */
    CONF_HOSTPORTS,             /* list of host[:port] */
    CONF_CIDR,                  /* list of addresses, CIDR blocks, /files */
    CONF_IPFILE,                /* a file of addresses and CIDR blocks */
    CONF_RCPTFILE,              /* a file of addresses and @domains */
    CONF_PATH,                  /* a path; relative to the config dir */
    CONF_FILE,                  /* a readable file, or empty */
    CONF_CHARS,                 /* a character set with a-z ranges */
    CONF_TLSPROTO,              /* TLS versions, Postfix's syntax */
    CONF_DNSBL,                 /* postscreen_dnsbl_sites syntax */
    CONF_SERVERS,               /* list of host[:port] or unix:/path */
    CONF_NTYPES                 /* a new type: also its entry in conf_type.c */
} CONF_TYPE;

typedef enum CONF_ID {
#define SECTION(title)
#define PARAM(name, type, def, min, max, values, help) P_##name,
#include "conf_params.def"
#undef PARAM
#undef SECTION
    CONF_NPARAMS
} CONF_ID;

typedef struct CONF_PARAM {
    const char *name;
    CONF_TYPE type;
    const char *def;
    long long min, max;
    const char *values;
    const char *help;
} CONF_PARAM;

extern const CONF_PARAM conf_params[CONF_NPARAMS];

/* Not CONFIG: OpenSSL's headers already name a type so. */
typedef struct CONFIG CONFIG;

#define CONF_FILE_NAME  "main.cf"
#define CONF_LINE_MAX   4096    /* one physical line */
#define CONF_VALUE_MAX  65536   /* one logical line, continuations joined */

/* Reads DIR/main.cf.  On error returns NULL and appends one line per
 * problem ("PATH:LINE: what is wrong") to errors. */
CONFIG *conf_load(const char *dir, struct VBUF *errors);
/* With skip, conf_load reads main.cf alone from now on in this process:
 * neither the files that FILE, IPFILE, RCPTFILE and CIDR parameters name
 * (the TLS key, access lists, which may be root's alone) nor those
 * parameters' syntax is checked, and their accessors see them empty.
 * For a reader that needs only the places (`alligatectl stats`, which
 * any user may run). */
void conf_skip_files(int skip);
/* The defaults alone (for `config -d`); never fails. */
CONFIG *conf_defaults(void);
CONFIG *conf_free(CONFIG *conf);

/* Makes conf the one the accessors below read; returns the previous. */
CONFIG *conf_activate(CONFIG *conf);
CONFIG *conf_active(void);

/* Accessors of the active configuration. */
const char *conf_str(CONF_ID id);
int conf_bool(CONF_ID id);
long long conf_int(CONF_ID id);         /* INT and SIZE */
long long conf_time_ms(CONF_ID id);
/* ENUM: the index of the value in the table's list of choices. */
int conf_enum(CONF_ID id);
long long conf_time(CONF_ID id);        /* seconds, rounded down */
/* LIST-like types: NULL-terminated array of the items. */
char *const *conf_list(CONF_ID id);
/* CIDR and IPFILE: NULL when empty. */
const struct CIDR_LIST *conf_cidr(CONF_ID id);
/* RCPTFILE: NULL when empty (every address valid). */
const struct ADDR_LIST *conf_addrs(CONF_ID id);
/* CHARS: a 256-entry table, non-zero for allowed bytes. */
const unsigned char *conf_chars(CONF_ID id);

/* The same on an explicit configuration. */
const char *conf_value(const CONFIG *conf, CONF_ID id);
/* 1 when main.cf sets the parameter. */
int conf_is_set(const CONFIG *conf, CONF_ID id);
/* Where main.cf sets the parameter, "DIR/main.cf:12"; "DIR/main.cf" when
 * it keeps its default.  Lives as long as conf. */
const char *conf_where(const CONFIG *conf, CONF_ID id);
/* Appends a problem found in conf after loading, in the shape of
 * conf_load's errors: "DIR/main.cf:12: name: message", or "DIR/main.cf:
 * name (default): message" for a value main.cf does not set; and a
 * newline. */
void conf_problem(const CONFIG *conf, struct VBUF *out, CONF_ID id,
                  const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A default found at run time instead of the table's, for every
 * configuration loaded from now on in this process (daemon_directory in a
 * build tree: lib/daemon_dir.c).  main.cf still overrides it. */
void conf_set_default(CONF_ID id, const char *value);
/* The default in force: conf_set_default()'s, else the table's. */
const char *conf_default(CONF_ID id);

/* 1 when the default in force (conf_default()) refers to other
 * parameters ($name, ${name}; $$ is a literal $): `config -d` shows
 * such a default as written, as postconf -d does. */
int conf_default_refers(CONF_ID id);

/* Looks a parameter up by name; -1 when unknown. */
int conf_lookup(const char *name);
/* The known name nearest to an unknown one, or NULL. */
const char *conf_suggest(const char *name);
const char *conf_type_name(CONF_TYPE type);

#endif
