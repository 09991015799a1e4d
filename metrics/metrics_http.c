/* The exporter's HTTP request reader (metrics_http.h): line by line over
 * what has arrived, refusing at the first byte that cannot be part of a
 * good request. */
#include <string.h>
#include <strings.h>

#include "metrics_http.h"

#define METRICS_HTTP_PATH   "/metrics"

/* What the request line said, until the head is complete. */
typedef struct METRICS_HTTP_LINE {
    int     method;                 /* METRICS_HTTP_GET, _HEAD, or 0 */
    int     minor;                  /* HTTP/1.minor */
    int     found;                  /* the path is /metrics */
    int     hosts;                  /* Host fields */
    int     lengths;                /* Content-Length fields */
    int     fields;
} METRICS_HTTP_LINE;

static int
metrics_http_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z') || (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

static int
metrics_http_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
        || (c >= 'A' && c <= 'F');
}

/* The path of an origin-form target: 200 when it is /metrics (a query
 * is ignored), 404 for another, 400 when it is not a path. */
static int
metrics_http_path(const char *p, size_t len)
{
    size_t  path_len = 0;
    size_t  i;

    if (len == 0 || p[0] != '/')
        return 400;
    for (i = 0; i < len; i++) {
        if (p[i] == '#')
            return 400;
        if (p[i] == '%' && (i + 2 >= len || !metrics_http_hex(p[i + 1])
                            || !metrics_http_hex(p[i + 2])))
            return 400;
        if (p[i] == '?' && path_len == 0)
            path_len = i;
    }
    if (path_len == 0)
        path_len = len;
    return path_len == sizeof(METRICS_HTTP_PATH) - 1
        && memcmp(p, METRICS_HTTP_PATH, path_len) == 0 ? 200 : 404;
}

/* The request-target: origin-form, or absolute-form with http. */
static int
metrics_http_target(const char *t, size_t len)
{
    static const char scheme[] = "http://";
    size_t  i;

    for (i = 0; i < len; i++)
        if ((unsigned char) t[i] < 0x21 || (unsigned char) t[i] > 0x7e)
            return 400;
    if (len >= sizeof(scheme) - 1 && strncasecmp(t, scheme, sizeof(scheme) - 1) == 0) {
        t += sizeof(scheme) - 1;
        len -= sizeof(scheme) - 1;
        for (i = 0; i < len && t[i] != '/' && t[i] != '?'; i++)
            if (t[i] == '#')
                return 400;
        if (i == 0)
            return 400;                 /* no host */
        if (i == len)
            return metrics_http_path("/", 1);
        if (t[i] == '?')
            return 404;                 /* the empty path is "/" */
        return metrics_http_path(t + i, len - i);
    }
    return metrics_http_path(t, len);
}

/* "METHOD SP TARGET SP HTTP/1.x": 0, or the status that refuses it. */
static int
metrics_http_request_line(const char *p, size_t len, METRICS_HTTP_LINE *rl)
{
    const char *sp1, *sp2, *v;
    size_t  i, vlen;
    int     target;

    sp1 = memchr(p, ' ', len);
    if (sp1 == NULL || sp1 == p)
        return 400;
    for (i = 0; p + i < sp1; i++)
        if (!metrics_http_tchar((unsigned char) p[i]))
            return 400;
    sp2 = memchr(sp1 + 1, ' ', (size_t) (p + len - sp1 - 1));
    if (sp2 == NULL || sp2 == sp1 + 1)
        return 400;
    v = sp2 + 1;
    vlen = (size_t) (p + len - v);
    /* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive. */
    if (vlen != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9'
        || v[6] != '.' || v[7] < '0' || v[7] > '9')
        return 400;
    if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
        return 505;
    rl->minor = v[7] - '0';
    if ((target = metrics_http_target(sp1 + 1, (size_t) (sp2 - sp1 - 1))) == 400)
        return 400;
    rl->found = target == 200;
    if (sp1 - p == 3 && memcmp(p, "GET", 3) == 0)
        rl->method = METRICS_HTTP_GET;
    else if (sp1 - p == 4 && memcmp(p, "HEAD", 4) == 0)
        rl->method = METRICS_HTTP_HEAD;
    return 0;
}

/* "NAME: VALUE": 0, or the status that refuses it. */
static int
metrics_http_field(const char *p, size_t len, METRICS_HTTP_LINE *rl)
{
    const char *colon = memchr(p, ':', len);
    const char *val, *end = p + len;
    size_t  nlen, i;

    if (++rl->fields > METRICS_HTTP_MAX_FIELDS)
        return 431;
    /* No obs-fold, no white space before the colon, no empty name. */
    if (colon == NULL || colon == p)
        return 400;
    nlen = (size_t) (colon - p);
    for (i = 0; i < nlen; i++)
        if (!metrics_http_tchar((unsigned char) p[i]))
            return 400;
    for (val = colon + 1; val < end && (*val == ' ' || *val == '\t'); val++)
        /* void */ ;
    while (end > val && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    for (i = 0; val + i < end; i++) {
        unsigned char c = (unsigned char) val[i];

        if (c != '\t' && c != ' ' && (c < 0x21 || c == 0x7f))
            return 400;
    }
    if (nlen == 4 && strncasecmp(p, "Host", 4) == 0) {
        rl->hosts++;
    } else if (nlen == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
        /* No body: only a length of 0, once. */
        if (++rl->lengths > 1 || val == end)
            return 400;
        for (i = 0; val + i < end; i++)
            if (val[i] != '0')
                return 400;
    } else if (nlen == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
        return 400;
    }
    return 0;
}

/* A line's bytes: no NUL, and CR only right before LF. */
static int
metrics_http_clean(const char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++)
        if (p[i] == 0 || (p[i] == '\r' && i + 1 < len))
            return 0;
    return 1;
}

int
metrics_http_parse(const char *buf, size_t len, METRICS_HTTP_REQ *req)
{
    METRICS_HTTP_LINE rl;
    size_t  pos = 0;
    int     first = 1;
    int     status;

    memset(req, 0, sizeof(*req));
    memset(&rl, 0, sizeof(rl));
    /* A few empty lines may come before the request (RFC 9112 2.2). */
    while (pos + 1 < len && buf[pos] == '\r' && buf[pos + 1] == '\n')
        pos += 2;
    for (;;) {
        const char *lf = memchr(buf + pos, '\n', len - pos);
        size_t  eol, line_len;

        if (lf == NULL)
            break;
        eol = (size_t) (lf - buf);
        if (eol + 1 > METRICS_HTTP_HEAD_MAX)
            return 431;
        /* CR LF only. */
        if (eol == pos || buf[eol - 1] != '\r')
            return 400;
        line_len = eol - 1 - pos;
        if (!metrics_http_clean(buf + pos, line_len))
            return 400;
        if (first) {
            if ((status = metrics_http_request_line(buf + pos, line_len, &rl)) != 0)
                return status;
            first = 0;
        } else if (line_len == 0) {
            req->head_len = eol + 1;
            if (rl.minor == 1 ? rl.hosts != 1 : rl.hosts > 1)
                return 400;
            if (!rl.found)
                return 404;
            if (rl.method == 0)
                return 405;
            req->method = rl.method;
            return 200;
        } else if ((status = metrics_http_field(buf + pos, line_len, &rl)) != 0) {
            return status;
        }
        pos = eol + 1;
    }
    /* What there is of the line being received must be good already. */
    if (!metrics_http_clean(buf + pos, len - pos))
        return 400;
    if (len >= METRICS_HTTP_HEAD_MAX)
        return 431;
    return METRICS_HTTP_MORE;
}

const char *
metrics_http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 431:
        return "Request Header Fields Too Large";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Internal Server Error";
    }
}
