/* Attribute lists and their wire form, `name=value\n` lines ended by an
 * empty line, for every local socket. The parser is written for input
 * from a peer: it never buffers past the limits and says what was wrong. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "msg.h"
#include "mymalloc.h"
#include "printable.h"

typedef struct ATTR_PAIR {
    char *name;
    char *value;
} ATTR_PAIR;

struct ATTR {
    ATTR_PAIR *pairs;
    int count;
    int cap;
    size_t size;                        /* bytes of the printed form */
};

ATTR *
attr_create(void)
{
    ATTR *a = mymalloc(sizeof(*a));

    a->pairs = NULL;
    a->count = 0;
    a->cap = 0;
    a->size = 1;
    return a;
}

void
attr_reset(ATTR *a)
{
    int i;

    for (i = 0; i < a->count; i++) {
        myfree(a->pairs[i].name);
        myfree(a->pairs[i].value);
    }
    a->count = 0;
    a->size = 1;
}

ATTR *
attr_free(ATTR *a)
{
    if (a) {
        attr_reset(a);
        myfree(a->pairs);
        myfree(a);
    }
    return NULL;
}

static int
attr_name_ok(const char *name, size_t len)
{
    size_t i;

    if (len == 0 || len > ATTR_NAME_MAX)
        return 0;
    for (i = 0; i < len; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z')
              || (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
            return 0;
    return 1;
}

/* Returns the index of the attribute whose name is name[0..len), or -1. */
static int
attr_find(const ATTR *a, const char *name, size_t len)
{
    int i;

    for (i = 0; i < a->count; i++)
        if (strncmp(a->pairs[i].name, name, len) == 0
            && a->pairs[i].name[len] == 0)
            return i;
    return -1;
}

/* Appends a pair that the caller has checked. */
static void
attr_append(ATTR *a, const char *name, size_t nlen, const char *value,
            size_t vlen)
{
    if (a->count == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->pairs = myrealloc(a->pairs, a->cap * sizeof(*a->pairs));
    }
    a->pairs[a->count].name = mystrndup(name, nlen);
    a->pairs[a->count].value = mystrndup(value, vlen);
    a->count++;
    a->size += nlen + vlen + 2;
}

int
attr_set(ATTR *a, const char *name, const char *value)
{
    size_t nlen = strlen(name), vlen = strlen(value), old;
    char *copy;
    int i;

    if (!attr_name_ok(name, nlen) || vlen > ATTR_VALUE_MAX
        || strpbrk(value, "\r\n") != NULL)
        return -1;
    if ((i = attr_find(a, name, nlen)) >= 0) {
        old = strlen(a->pairs[i].value);
        if (a->size - old + vlen > ATTR_MESSAGE_MAX)
            return -1;
        /* Copy first: value may be the current one (attr_get). */
        copy = mystrdup(value);
        myfree(a->pairs[i].value);
        a->pairs[i].value = copy;
        a->size = a->size - old + vlen;
        return 0;
    }
    if (a->count >= ATTR_COUNT_MAX
        || a->size + nlen + vlen + 2 > ATTR_MESSAGE_MAX)
        return -1;
    attr_append(a, name, nlen, value, vlen);
    return 0;
}

int
attr_setf(ATTR *a, const char *name, const char *fmt, ...)
{
    VBUF *value = vbuf_create(64);
    va_list ap;
    int ret;

    va_start(ap, fmt);
    vbuf_vprintf(value, fmt, ap);
    va_end(ap);
    /* A NUL from the format would silently cut the value. */
    ret = strlen(vbuf_str(value)) != vbuf_len(value) ? -1
        : attr_set(a, name, vbuf_str(value));
    vbuf_free(value);
    return ret;
}

int
attr_set_long(ATTR *a, const char *name, long value)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%ld", value);
    return attr_set(a, name, buf);
}

const char *
attr_get(const ATTR *a, const char *name)
{
    int i = attr_find(a, name, strlen(name));

    return i < 0 ? NULL : a->pairs[i].value;
}

int
attr_get_long(const ATTR *a, const char *name, long *out)
{
    const char *value = attr_get(a, name);
    char *end;
    long v;

    if (value == NULL
        || !isdigit((unsigned char) value[*value == '-']))
        return -1;
    errno = 0;
    v = strtol(value, &end, 10);
    if (errno != 0 || *end != 0)
        return -1;
    *out = v;
    return 0;
}

int
attr_count(const ATTR *a)
{
    return a->count;
}

const char *
attr_name_at(const ATTR *a, int i)
{
    if (i < 0 || i >= a->count)
        msg_panic("attr_name_at: index %d of %d", i, a->count);
    return a->pairs[i].name;
}

const char *
attr_value_at(const ATTR *a, int i)
{
    if (i < 0 || i >= a->count)
        msg_panic("attr_value_at: index %d of %d", i, a->count);
    return a->pairs[i].value;
}

void
attr_print(VBUF *out, const ATTR *a)
{
    int i;

    vbuf_reserve(out, a->size);
    for (i = 0; i < a->count; i++) {
        vbuf_append_str(out, a->pairs[i].name);
        vbuf_append_char(out, '=');
        vbuf_append_str(out, a->pairs[i].value);
        vbuf_append_char(out, '\n');
    }
    vbuf_append_char(out, '\n');
}

/* Parsing -------------------------------------------------------------- */

static int
attr_parse_error(ATTR *out, VBUF *why, const char *reason, const char *name,
                 size_t nlen)
{
    attr_reset(out);
    if (why) {
        vbuf_set(why, reason);
        if (name)
            vbuf_append(why, name, nlen);
    }
    return -1;
}

/* Adds the complete, non-empty line line[0..len) to out. */
static int
attr_parse_line(ATTR *out, const char *line, size_t len, VBUF *why)
{
    const char *eq = memchr(line, '=', len);
    size_t nlen;

    if (eq == NULL)
        return attr_parse_error(out, why, "line without '='", NULL, 0);
    nlen = (size_t) (eq - line);
    if (!attr_name_ok(line, nlen))
        return attr_parse_error(out, why, "bad attribute name", NULL, 0);
    if (attr_find(out, line, nlen) >= 0)
        return attr_parse_error(out, why, "duplicate attribute: ", line,
                                nlen);
    attr_append(out, line, nlen, eq + 1, len - nlen - 1);
    return 0;
}

/* Each byte is judged in order, by checks that depend only on the bytes
 * before it, so that a partial message fails exactly where and how the
 * complete one would. */
int
attr_parse(ATTR *out, const char *buf, size_t len, size_t *consumed,
           VBUF *why)
{
    size_t pos, start = 0;              /* start of the current line */
    int ch;

    attr_reset(out);
    for (pos = 0; pos < len; pos++) {
        ch = (unsigned char) buf[pos];
        if (pos >= ATTR_MESSAGE_MAX)
            return attr_parse_error(out, why, "message too long", NULL, 0);
        if (pos == start && ch != '\n' && out->count >= ATTR_COUNT_MAX)
            return attr_parse_error(out, why, "too many attributes", NULL, 0);
        if (ch == 0)
            return attr_parse_error(out, why, "NUL byte", NULL, 0);
        if (ch == '\r')
            return attr_parse_error(out, why, "CR in line", NULL, 0);
        if (ch != '\n') {
            if (pos - start >= ATTR_LINE_MAX)
                return attr_parse_error(out, why, "line too long", NULL, 0);
            continue;
        }
        if (pos == start) {
            *consumed = pos + 1;
            return 1;
        }
        if (attr_parse_line(out, buf + start, pos - start, why) < 0)
            return -1;
        start = pos + 1;
    }
    attr_reset(out);
    return 0;
}

/* Greeting ------------------------------------------------------------- */

void
attr_greeting(VBUF *out, const char *proto, int version)
{
    ATTR *a = attr_create();

    if (attr_set(a, "proto", proto) < 0)
        msg_panic("attr_greeting: bad protocol name \"%s\"", proto);
    attr_set_long(a, "version", version);
    attr_print(out, a);
    attr_free(a);
}

int
attr_check_greeting(const ATTR *a, const char *proto, int version,
                    VBUF *why)
{
    const char *got = attr_get(a, "proto");
    long got_version;

    if (got == NULL) {
        vbuf_set(why, "greeting without proto");
        return -1;
    }
    if (strcmp(got, proto) != 0) {
        vbuf_set(why, "protocol \"");
        printable_append(why, got, strlen(got) > 64 ? 64 : strlen(got));
        vbuf_printf(why, "\" instead of \"%s\"", proto);
        return -1;
    }
    if (attr_get_long(a, "version", &got_version) < 0) {
        vbuf_set(why, "greeting without a valid version");
        return -1;
    }
    if (got_version != version) {
        vbuf_set(why, "");
        vbuf_printf(why, "%s version %ld instead of %d", proto, got_version,
                    version);
        return -1;
    }
    return 0;
}
