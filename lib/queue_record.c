/* What the queue file writer, reader and marks share: which records exist,
 * what their values may be. The format is described in queue_record.h. */
#include <stdarg.h>
#include <string.h>

#include "queue_record.h"
#include "vbuf.h"

/* Record types that may appear at most once; their position is their bit. */
static const char queue_record_singletons[] = "TCNHPUSZY8KW";

void
queue_record_why(VBUF *why, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL)
        return;
    vbuf_reset(why);
    va_start(ap, fmt);
    vbuf_vprintf(why, fmt, ap);
    va_end(ap);
}

unsigned
queue_record_singleton_bit(int type)
{
    const char *p;

    if (type == 0 || (p = strchr(queue_record_singletons, type)) == NULL)
        return 0;
    return 1u << (p - queue_record_singletons);
}

int
queue_record_is_rcpt(int type)
{
    return type == QUEUE_RCPT_PENDING || type == QUEUE_RCPT_DELIVERED
        || type == QUEUE_RCPT_BOUNCED;
}

int
queue_record_parse_num(const char *value, size_t len, long long *out)
{
    long long n = 0;
    size_t  i;

    if (len == 0 || len > 18)
        return -1;
    for (i = 0; i < len; i++) {
        if (value[i] < '0' || value[i] > '9')
            return -1;
        n = n * 10 + (value[i] - '0');
    }
    if (out)
        *out = n;
    return 0;
}

const char *
queue_record_check(int type, const char *value, size_t len)
{
    const char *eq;
    size_t  i;

    if (len > QUEUE_VALUE_MAX)
        return "value too long";
    if (memchr(value, '\r', len) || memchr(value, '\n', len)
        || memchr(value, 0, len))
        return "CR, LF or NUL in value";
    switch (type) {
    case QUEUE_REC_ARRIVAL:
    case QUEUE_REC_SIZE:
        return queue_record_parse_num(value, len, NULL) < 0 ? "bad number" : NULL;
    case QUEUE_REC_SMTPUTF8:
        return len == 1 && (value[0] == '0' || value[0] == '1') ?
            NULL : "bad smtputf8 flag";
    case QUEUE_REC_ATTR:
        eq = memchr(value, '=', len);
        return eq == NULL || eq == value ? "bad attribute" : NULL;
    case QUEUE_REC_AUTH_SEALED:
        if (len == 0)
            return "empty sealed credentials";
        for (i = 0; i < len; i++)
            if (!((value[i] >= 'A' && value[i] <= 'Z') || (value[i] >= 'a' && value[i] <= 'z')
                  || (value[i] >= '0' && value[i] <= '9') || value[i] == '+'
                  || value[i] == '/' || value[i] == '='))
                return "sealed credentials not base64";
        return NULL;
    case QUEUE_REC_AUTH_WIPED:
        if (len == 0)
            return "empty wiped credentials";
        for (i = 0; i < len; i++)
            if (value[i] != QUEUE_AUTH_WIPE_BYTE)
                return "wiped credentials not wiped";
        return NULL;
    default:
        if (queue_record_is_rcpt(type) && len == 0)
            return "empty recipient";
        return NULL;
    }
}
