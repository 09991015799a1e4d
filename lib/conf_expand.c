/* $name and ${name} expansion of configuration values ($$ is a literal $).
 *
 * Values are expanded on demand, each once, so a parameter may refer to
 * one defined later in main.cf or only by default.  Loops and values that
 * grow past CONF_VALUE_MAX (a few lines repeating each other) are errors.
 * Which value contains which is remembered, so that conf.c reports a bad
 * value once, not again in every value that repeats it. */
#include <ctype.h>
#include <string.h>
#include <unistd.h>

#include "conf_private.h"
#include "msg.h"
#include "mymalloc.h"
#include "printable.h"
#include "vbuf.h"

#define CONF_EXPAND_TODO     0
#define CONF_EXPAND_BUSY     1
#define CONF_EXPAND_DONE     2

struct CONF_EXPAND {
    char state[CONF_NPARAMS];
    char uses[CONF_NPARAMS][CONF_NPARAMS];      /* value of i contains j's */
    int stack[CONF_NPARAMS + 1];
    int depth;
};

CONF_EXPAND *
conf_expand_create(void)
{
    return mycalloc(1, sizeof(CONF_EXPAND));
}

CONF_EXPAND *
conf_expand_free(CONF_EXPAND *st)
{
    return myfree(st);
}

int
conf_expand_uses(const CONF_EXPAND *st, int id, int other)
{
    return st->uses[id][other];
}

static char *
conf_expand_default_hostname(void)
{
    char host[256];

    if (gethostname(host, sizeof(host)) < 0 || host[0] == 0)
        return mystrdup("localhost");
    host[sizeof(host) - 1] = 0;
    return mystrdup(host);
}

/* The unexpanded text of a parameter: main.cf's, or its default. */
static const char *
conf_expand_raw_text(CONFIG *conf, int id)
{
    if (conf->raw[id])
        return conf->raw[id];
    if (id == P_myhostname)
        return conf->raw[id] = conf_expand_default_hostname();
    if (id == P_config_directory)
        return conf->raw[id] = mystrdup(conf->dir);
    return conf_default(id);
}

/* Expands text on behalf of parameter id into out. */
static int
conf_expand_text(CONFIG *conf, int id, const char *text, VBUF *out,
                 CONF_EXPAND *st, VBUF *errors)
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
                       printable_str(name), near ? "; did you mean \"$" : "",
                       near ? near : "", near ? "\"?" : "");
            return -1;
        }
        if (conf_expand_param(conf, ref, st, errors) < 0)
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

int
conf_default_refers(CONF_ID id)
{
    const char *cp = conf_default(id);

    while ((cp = strchr(cp, '$')) != NULL) {
        if (cp[1] == '$') {
            cp += 2;
            continue;
        }
        if (cp[1] == '{' || isalnum((unsigned char) cp[1]) || cp[1] == '_')
            return 1;
        cp++;
    }
    return 0;
}

/* Reports the loop that leads back to id, where main.cf started it. */
static void
conf_expand_loop(CONFIG *conf, int id, CONF_EXPAND *st, VBUF *errors)
{
    VBUF *loop = vbuf_create(100);
    int start = st->depth - 1;
    int blame = -1;
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
}

int
conf_expand_param(CONFIG *conf, int id, CONF_EXPAND *st, VBUF *errors)
{
    VBUF *out;
    int rc;

    if (st->state[id] == CONF_EXPAND_DONE)
        return conf->value[id] ? 0 : -1;
    if (st->state[id] == CONF_EXPAND_BUSY) {
        conf_expand_loop(conf, id, st, errors);
        return -1;
    }
    st->state[id] = CONF_EXPAND_BUSY;
    st->stack[st->depth++] = id;
    out = vbuf_create(64);
    rc = conf_expand_text(conf, id, conf_expand_raw_text(conf, id), out, st, errors);
    st->depth--;
    st->state[id] = CONF_EXPAND_DONE;
    if (rc == 0)
        conf->value[id] = mystrdup(vbuf_str(out));
    vbuf_free(out);
    return rc;
}
