/* What the configuration reader's files share and nobody else sees: the
 * CONFIG structure, its error format, $name expansion (conf_expand.c) and
 * the per-type value parsers (conf_type.c). */
#ifndef ALLIGATE_CONF_PRIVATE_H
#define ALLIGATE_CONF_PRIVATE_H

#include "conf.h"

struct VBUF;

struct CONFIG {
    char *dir;                          /* configuration directory */
    char *path;                         /* DIR/main.cf */
    char *raw[CONF_NPARAMS];            /* as set in main.cf, or NULL */
    int line[CONF_NPARAMS];             /* where it was set */
    char *where[CONF_NPARAMS];          /* "PATH:LINE", or NULL */
    char *value[CONF_NPARAMS];          /* expanded */
    long long num[CONF_NPARAMS];        /* BOOL, INT, SIZE, TIME, ENUM */
    char **list[CONF_NPARAMS];          /* list types */
    struct CIDR_LIST *cidr[CONF_NPARAMS];
    struct ADDR_LIST *addrs[CONF_NPARAMS];
    unsigned char *chars[CONF_NPARAMS];
};

/* Appends "PATH:LINE: name: message" (or "PATH: name (default): ..." for a
 * value that comes from the defaults, or "PATH: ..." for id -1) and a
 * newline to errors. */
void conf_error(const CONFIG *conf, struct VBUF *errors, int id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* $name expansion: conf->value[id] from main.cf's text or the default. */
typedef struct CONF_EXPAND CONF_EXPAND;

CONF_EXPAND *conf_expand_create(void);
CONF_EXPAND *conf_expand_free(CONF_EXPAND *st);
/* Sets conf->value[id] (and every value it refers to); on error appends
 * the reason to errors and returns -1. */
int conf_expand_param(CONFIG *conf, int id, CONF_EXPAND *st, struct VBUF *errors);
/* 1 when the value of id contains, at any depth, the value of other. */
int conf_expand_uses(const CONF_EXPAND *st, int id, int other);

/* Checks the expanded conf->value[id] against its type and fills the
 * parsed forms (num, list, cidr, addrs, chars); appends every problem to
 * errors and returns -1 if there was one. */
int conf_type_check(CONFIG *conf, int id, struct VBUF *errors);

#endif
