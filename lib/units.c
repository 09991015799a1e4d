/* Time and size values with units. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"
#include "vbuf.h"

/* Parses the leading decimal digits; *end points past them. */
static int
units_digits(const char *str, long long *val, const char **end)
{
    long long v = 0;
    const char *cp = str;

    if (!isdigit((unsigned char) *cp))
        return -1;
    for (; isdigit((unsigned char) *cp); cp++) {
        int d = *cp - '0';

        if (v > (LLONG_MAX - d) / 10)
            return -2;
        v = v * 10 + d;
    }
    *val = v;
    *end = cp;
    return 0;
}

int
units_int(const char *str, long long *val, VBUF *why)
{
    const char *end;
    int neg = (*str == '-');
    int rc = units_digits(str + neg, val, &end);

    vbuf_reset(why);
    if (rc == -2) {
        vbuf_printf(why, "number out of range \"%s\"", str);
        return -1;
    }
    if (rc < 0 || *end) {
        vbuf_printf(why, "bad number \"%s\"", str);
        return -1;
    }
    if (neg)
        *val = -*val;
    return 0;
}

/* Multiplies with an overflow check. */
static int
units_scale(long long v, long long mul, long long *out)
{
    if (v > LLONG_MAX / mul)
        return -1;
    *out = v * mul;
    return 0;
}

int
units_time_ms(const char *str, long long *ms, VBUF *why)
{
    static const struct {
        const char *suffix;
        long long mul;
    } units[] = {
        {"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000},
        {"d", 86400000}, {"w", 604800000},
    };
    const char *end;
    long long v;
    size_t i;
    int rc = units_digits(str, &v, &end);

    vbuf_reset(why);
    if (rc == -1) {
        vbuf_printf(why, "bad time value \"%s\" (use e.g. 500ms, 30s, 10m, 2h, 5d)", str);
        return -1;
    }
    for (i = 0; rc == 0 && i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            if (units_scale(v, units[i].mul, ms) < 0)
                break;
            return 0;
        }
    }
    if (rc == -2 || i < sizeof(units) / sizeof(units[0]))
        vbuf_printf(why, "time value out of range \"%s\"", str);
    else
        vbuf_printf(why, "bad time unit in \"%s\" (use ms, s, m, h, d or w)", str);
    return -1;
}

int
units_size(const char *str, long long *bytes, VBUF *why)
{
    const char *end;
    long long v;
    long long mul;
    int rc = units_digits(str, &v, &end);

    vbuf_reset(why);
    if (rc == -1) {
        vbuf_printf(why, "bad size value \"%s\" (use e.g. 10240000, 512k, 10m, 1g)", str);
        return -1;
    }
    if (rc == 0) {
        switch (tolower((unsigned char) *end)) {
        case 0:
            mul = 1;
            break;
        case 'k':
            mul = 1024;
            break;
        case 'm':
            mul = 1024 * 1024;
            break;
        case 'g':
            mul = 1024LL * 1024 * 1024;
            break;
        default:
            mul = 0;
        }
        if (mul == 0 || (*end && end[1])) {
            vbuf_printf(why, "bad size unit in \"%s\" (use k, m or g)", str);
            return -1;
        }
        if (units_scale(v, mul, bytes) == 0)
            return 0;
    }
    vbuf_printf(why, "size value out of range \"%s\"", str);
    return -1;
}

const char *
units_time_str(long long ms, char *buf, unsigned size)
{
    static const struct {
        const char *suffix;
        long long mul;
    } units[] = {
        {"w", 604800000}, {"d", 86400000}, {"h", 3600000}, {"m", 60000},
        {"s", 1000},
    };
    size_t i;

    if (ms == 0) {
        snprintf(buf, size, "0");
        return buf;
    }
    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (ms % units[i].mul == 0) {
            snprintf(buf, size, "%lld%s", ms / units[i].mul, units[i].suffix);
            return buf;
        }
    }
    snprintf(buf, size, "%lldms", ms);
    return buf;
}
