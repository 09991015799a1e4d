/* The TARPIT_HOLD message of the hand-off from smtpd to the tarpit
 * (tarpit_clnt.h): the encoder smtpd uses and the strict decoder the
 * tarpit trusts.  Both check a field with the same function, so that
 * what one side sends the other takes.  The fields, their order and
 * where each lives in a TARPIT_HOLD are one table. */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "printable.h"
#include "tarpit_clnt.h"

#define TARPIT_MSG_NAME_SHOWN   32      /* of an unknown name, in why */

typedef enum TARPIT_MSG_KIND {
    TARPIT_MSG_VERSION_FIELD,
    TARPIT_MSG_ADDR,
    TARPIT_MSG_NAME,
    TARPIT_MSG_DELAY,
    TARPIT_MSG_RULE,
    TARPIT_MSG_COMMAND,
    TARPIT_MSG_REPLY,
} TARPIT_MSG_KIND;

typedef struct TARPIT_MSG_FIELD {
    const char *name;
    TARPIT_MSG_KIND kind;
    size_t offset;              /* of the char array in TARPIT_HOLD */
    size_t size;                /* its size, the NUL included */
} TARPIT_MSG_FIELD;

#define TARPIT_MSG_STR(n, k, m) \
    {n, k, offsetof(TARPIT_HOLD, m), sizeof(((TARPIT_HOLD *) 0)->m)}

static const TARPIT_MSG_FIELD tarpit_msg_fields[] = {
    {"version", TARPIT_MSG_VERSION_FIELD, 0, 0},
    TARPIT_MSG_STR("addr", TARPIT_MSG_ADDR, addr),
    TARPIT_MSG_STR("name", TARPIT_MSG_NAME, name),
    {"delay", TARPIT_MSG_DELAY, 0, 0},
    TARPIT_MSG_STR("rule", TARPIT_MSG_RULE, rule),
    TARPIT_MSG_STR("command", TARPIT_MSG_COMMAND, command),
    TARPIT_MSG_STR("reply", TARPIT_MSG_REPLY, reply),
};

#define TARPIT_MSG_NFIELDS \
    (sizeof(tarpit_msg_fields) / sizeof(tarpit_msg_fields[0]))

static int
tarpit_msg_refuse(VBUF *why, const char *fmt, const char *name)
{
    if (why) {
        vbuf_set(why, "");
        vbuf_printf(why, fmt, name);
    }
    return -1;
}

/* A decimal number without sign, leading zero or overflow, at most max. */
static int
tarpit_msg_number(const char *value, size_t len, long long max,
                  long long *out)
{
    long long n = 0;
    size_t i;

    if (len == 0 || (len > 1 && value[0] == '0'))
        return -1;
    for (i = 0; i < len; i++) {
        if (value[i] < '0' || value[i] > '9')
            return -1;
        n = n * 10 + (value[i] - '0');
        if (n > max)
            return -1;
    }
    *out = n;
    return 0;
}

/* Every byte of [from, to) is in the set. */
static int
tarpit_msg_all(const char *value, size_t from, size_t to, const char *set)
{
    size_t i;

    for (i = from; i < to; i++)
        if (value[i] == 0 || strchr(set, value[i]) == NULL)
            return 0;
    return 1;
}

#define TARPIT_MSG_LOWER    "abcdefghijklmnopqrstuvwxyz"
#define TARPIT_MSG_UPPER    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define TARPIT_MSG_DIGITS   "0123456789"

/* Whether value[0..len) is fit for the field: 0, or -1 with why.  *delay
 * gets the delay's value. */
static int
tarpit_msg_check(const TARPIT_MSG_FIELD *f, const char *value, size_t len,
                 long long *delay, VBUF *why)
{
    unsigned char addr[16];
    char text[TARPIT_MSG_MAX + 1];
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char) value[i];

        if (c < 0x20 || c > 0x7e)
            return tarpit_msg_refuse(why, "%s: control or non-ASCII character",
                                     f->name);
    }
    if (len == 0)
        return tarpit_msg_refuse(why, "%s: empty value", f->name);
    if (f->size && len >= f->size)
        return tarpit_msg_refuse(why, "%s: value too long", f->name);
    switch (f->kind) {
    case TARPIT_MSG_VERSION_FIELD:
        if (len != 1 || value[0] != '0' + TARPIT_MSG_VERSION)
            return tarpit_msg_refuse(why, "%s: unsupported version", f->name);
        return 0;
    case TARPIT_MSG_ADDR:
        memcpy(text, value, len);
        text[len] = 0;
        if (inet_pton(AF_INET, text, addr) != 1
            && inet_pton(AF_INET6, text, addr) != 1)
            return tarpit_msg_refuse(why, "%s: not a numeric address", f->name);
        return 0;
    case TARPIT_MSG_NAME:
        /* It is logged as name[addr]: no space, no brackets. */
        for (i = 0; i < len; i++)
            if (value[i] == ' ' || value[i] == '[' || value[i] == ']')
                return tarpit_msg_refuse(why, "%s: space or bracket in name",
                                         f->name);
        return 0;
    case TARPIT_MSG_DELAY:
        if (tarpit_msg_number(value, len, TARPIT_DELAY_MAX_MS, delay) < 0)
            return tarpit_msg_refuse(why, "%s: not a number of milliseconds "
                                     "from 0 to 3600000", f->name);
        return 0;
    case TARPIT_MSG_RULE:
        if (!tarpit_msg_all(value, 0, len, TARPIT_MSG_LOWER TARPIT_MSG_DIGITS "_"))
            return tarpit_msg_refuse(why, "%s: not a rule name", f->name);
        return 0;
    case TARPIT_MSG_COMMAND:
        if (!tarpit_msg_all(value, 0, len, TARPIT_MSG_UPPER))
            return tarpit_msg_refuse(why, "%s: not a command name", f->name);
        return 0;
    case TARPIT_MSG_REPLY:
        /* One final reply line: "550" or "550 text"; a "550-" line would
         * leave the client waiting for the last line of the reply. */
        if (len < 3 || (value[0] != '4' && value[0] != '5')
            || !tarpit_msg_all(value, 1, 3, TARPIT_MSG_DIGITS)
            || (len > 3 && value[3] != ' '))
            return tarpit_msg_refuse(why, "%s: not a 4xx or 5xx reply line",
                                     f->name);
        return 0;
    }
    return tarpit_msg_refuse(why, "%s: unknown field", f->name);
}

/* The field's string in hold. */
static const char *
tarpit_msg_str(const TARPIT_HOLD *hold, const TARPIT_MSG_FIELD *f)
{
    return (const char *) hold + f->offset;
}

int
tarpit_msg_encode(const TARPIT_HOLD *hold, VBUF *out)
{
    size_t start = vbuf_len(out);
    char number[32];
    const char *value;
    long long delay;
    size_t i, len;

    for (i = 0; i < TARPIT_MSG_NFIELDS; i++) {
        const TARPIT_MSG_FIELD *f = tarpit_msg_fields + i;

        switch (f->kind) {
        case TARPIT_MSG_VERSION_FIELD:
            snprintf(number, sizeof(number), "%d", TARPIT_MSG_VERSION);
            value = number;
            len = strlen(value);
            break;
        case TARPIT_MSG_DELAY:
            snprintf(number, sizeof(number), "%lld", hold->delay_ms);
            value = number;
            len = strlen(value);
            break;
        default:
            value = tarpit_msg_str(hold, f);
            /* Unterminated: too long, whatever follows. */
            len = strnlen(value, f->size);
            break;
        }
        if (tarpit_msg_check(f, value, len, &delay, NULL) < 0) {
            vbuf_truncate(out, start);
            return -1;
        }
        vbuf_printf(out, "%s=%.*s\n", f->name, (int) len, value);
    }
    if (vbuf_len(out) - start > TARPIT_MSG_MAX) {
        vbuf_truncate(out, start);
        return -1;
    }
    return 0;
}

/* The index of the field called name[0..len), or -1. */
static int
tarpit_msg_lookup(const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < TARPIT_MSG_NFIELDS; i++)
        if (strlen(tarpit_msg_fields[i].name) == len
            && memcmp(tarpit_msg_fields[i].name, name, len) == 0)
            return (int) i;
    return -1;
}

static int
tarpit_msg_unknown(VBUF *why, const char *name, size_t len)
{
    if (why) {
        vbuf_set(why, "unknown name: ");
        printable_append(why, name, len < TARPIT_MSG_NAME_SHOWN ? len
                         : TARPIT_MSG_NAME_SHOWN);
    }
    return -1;
}

/* The decoder proper; hold may be partly filled when it fails. */
static int
tarpit_msg_parse(const char *buf, size_t len, TARPIT_HOLD *hold, VBUF *why)
{
    const TARPIT_MSG_FIELD *f;
    const char *line = buf, *end = buf + len, *nl, *eq;
    size_t next = 0, vlen;
    int idx;

    if (len > TARPIT_MSG_MAX)
        return tarpit_msg_refuse(why, "%s", "message too long");
    if (len == 0)
        return tarpit_msg_refuse(why, "%s", "empty message");
    if (buf[len - 1] != '\n')
        return tarpit_msg_refuse(why, "%s", "last line without newline");
    for (; line < end; line = nl + 1) {
        nl = memchr(line, '\n', (size_t) (end - line));
        if ((eq = memchr(line, '=', (size_t) (nl - line))) == NULL)
            return tarpit_msg_refuse(why, "%s", "line without '='");
        if ((idx = tarpit_msg_lookup(line, (size_t) (eq - line))) < 0)
            return tarpit_msg_unknown(why, line, (size_t) (eq - line));
        f = tarpit_msg_fields + idx;
        if ((size_t) idx < next)
            return tarpit_msg_refuse(why, "repeated name: %s", f->name);
        if ((size_t) idx > next)
            return tarpit_msg_refuse(why, "out-of-order name: %s", f->name);
        vlen = (size_t) (nl - eq - 1);
        if (tarpit_msg_check(f, eq + 1, vlen, &hold->delay_ms, why) < 0)
            return -1;
        if (f->size) {
            memcpy((char *) hold + f->offset, eq + 1, vlen);
            ((char *) hold + f->offset)[vlen] = 0;
        }
        next++;
    }
    if (next < TARPIT_MSG_NFIELDS)
        return tarpit_msg_refuse(why, "missing name: %s",
                                 tarpit_msg_fields[next].name);
    return 0;
}

int
tarpit_msg_decode(const char *buf, size_t len, TARPIT_HOLD *hold, VBUF *why)
{
    memset(hold, 0, sizeof(*hold));
    if (tarpit_msg_parse(buf, len, hold, why) == 0)
        return 0;
    memset(hold, 0, sizeof(*hold));
    return -1;
}
