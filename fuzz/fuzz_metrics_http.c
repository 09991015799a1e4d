/* libFuzzer target: the exporter's HTTP request reader
 * (metrics/metrics_http.c), on exactly the bytes given (no NUL after
 * them), with what its answer promises checked, and checked against the
 * answer for the first half of the bytes: a decision taken on fewer
 * bytes never turns into "more" or into another decision with more. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check(const char *buf, size_t len, int status, const METRICS_HTTP_REQ *req)
{
    switch (status) {
    case METRICS_HTTP_MORE:
        if (len >= METRICS_HTTP_HEAD_MAX)
            abort();
        break;
    case 200:
        if (req->method != METRICS_HTTP_GET && req->method != METRICS_HTTP_HEAD)
            abort();
        if (req->head_len < 4 || req->head_len > len
            || req->head_len > METRICS_HTTP_HEAD_MAX
            || memcmp(buf + req->head_len - 4, "\r\n\r\n", 4) != 0
            || memchr(buf, 0, req->head_len) != NULL)
            abort();
        break;
    case 400:
    case 404:
    case 405:
    case 431:
    case 505:
        if (*metrics_http_reason(status) == 0)
            abort();
        break;
    default:
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char   *buf = malloc(size ? size : 1);
    METRICS_HTTP_REQ req, half_req;
    int     status, half;

    memcpy(buf, data, size);
    status = metrics_http_parse(buf, size, &req);
    fuzz_check(buf, size, status, &req);
    half = metrics_http_parse(buf, size / 2, &half_req);
    fuzz_check(buf, size / 2, half, &half_req);
    if (half == 200 && (status != 200 || req.head_len != half_req.head_len))
        abort();
    if (half >= 400 && status < 400)
        abort();
    if ((half == 404 || half == 405) && status != half)
        abort();
    free(buf);
    return 0;
}
