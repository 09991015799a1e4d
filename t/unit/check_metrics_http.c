/* Unit tests for the exporter's HTTP request reader (metrics/metrics_http.c):
 * the requests it answers, and every malformed one it refuses. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics_http.h"

static int
parse(const char *text)
{
    METRICS_HTTP_REQ req;

    return metrics_http_parse(text, strlen(text), &req);
}

static int
parse_len(const char *text, size_t len)
{
    METRICS_HTTP_REQ req;

    return metrics_http_parse(text, len, &req);
}

START_TEST(test_good)
{
    static const char get[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9154\r\n"
        "User-Agent: Prometheus/2.45.0\r\nAccept: text/plain;version=0.0.4;q=1,*/*;q=0.1\r\n"
        "Accept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n";
    METRICS_HTTP_REQ req;

    ck_assert_int_eq(metrics_http_parse(get, strlen(get), &req), 200);
    ck_assert_int_eq(req.method, METRICS_HTTP_GET);
    ck_assert_uint_eq(req.head_len, strlen(get));

    ck_assert_int_eq(metrics_http_parse("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
                                        35, &req), 200);
    ck_assert_int_eq(req.method, METRICS_HTTP_HEAD);

    /* HTTP/1.0 needs no Host. */
    ck_assert_int_eq(parse("GET /metrics HTTP/1.0\r\n\r\n"), 200);
    ck_assert_int_eq(parse("GET /metrics HTTP/1.0\r\nHost: a\r\n\r\n"), 200);
    /* A query is ignored; so is white space around a value. */
    ck_assert_int_eq(parse("GET /metrics?x=1&y HTTP/1.1\r\nHost:a\r\n\r\n"), 200);
    ck_assert_int_eq(parse("GET /metrics HTTP/1.1\r\nHost: \t a \t\r\n\r\n"), 200);
    ck_assert_int_eq(parse("GET /metrics HTTP/1.1\r\nhOsT: a\r\nContent-Length: 0\r\n\r\n"), 200);
    /* Empty lines before the request line. */
    ck_assert_int_eq(parse("\r\n\r\nGET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"), 200);
    /* The absolute form. */
    ck_assert_int_eq(parse("GET http://127.0.0.1:9154/metrics HTTP/1.1\r\nHost: a\r\n\r\n"), 200);
    ck_assert_int_eq(parse("GET HTTP://h/metrics?q HTTP/1.1\r\nHost: a\r\n\r\n"), 200);
    /* Bytes after the head are not the reader's business. */
    ck_assert_int_eq(parse("GET /metrics HTTP/1.0\r\n\r\nextra"), 200);
    /* Field values may carry bytes over 0x7f (obs-text). */
    ck_assert_int_eq(parse("GET /metrics HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n"), 200);
}
END_TEST

/* Every prefix of a good request asks for more, none is refused. */
START_TEST(test_incremental)
{
    static const char get[] = "\r\nGET /metrics HTTP/1.1\r\nHost: a\r\nX-A: b c\r\n\r\n";
    size_t  n;

    for (n = 0; n < sizeof(get) - 1; n++)
        ck_assert_msg(parse_len(get, n) == METRICS_HTTP_MORE, "prefix %zu", n);
    ck_assert_int_eq(parse_len(get, sizeof(get) - 1), 200);
}
END_TEST

START_TEST(test_not_found)
{
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 404);
    ck_assert_int_eq(parse("GET /metrics/ HTTP/1.1\r\nHost: a\r\n\r\n"), 404);
    ck_assert_int_eq(parse("GET /metricsx HTTP/1.1\r\nHost: a\r\n\r\n"), 404);
    ck_assert_int_eq(parse("GET /METRICS HTTP/1.1\r\nHost: a\r\n\r\n"), 404);
    ck_assert_int_eq(parse("GET /%6detrics HTTP/1.1\r\nHost: a\r\n\r\n"), 404);
    ck_assert_int_eq(parse("GET /metric HTTP/1.1\r\nHost: a\r\n\r\n"), 404);
    ck_assert_int_eq(parse("GET http://h HTTP/1.1\r\nHost: a\r\n\r\n"), 404);
    ck_assert_int_eq(parse("GET http://h?metrics HTTP/1.1\r\nHost: a\r\n\r\n"), 404);
    /* Another path with another method: the path does not exist. */
    ck_assert_int_eq(parse("POST /x HTTP/1.1\r\nHost: a\r\n\r\n"), 404);
    /* Not before the head is complete. */
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\n"), METRICS_HTTP_MORE);
}
END_TEST

START_TEST(test_method)
{
    ck_assert_int_eq(parse("POST /metrics HTTP/1.1\r\nHost: a\r\n\r\n"), 405);
    ck_assert_int_eq(parse("PUT /metrics HTTP/1.1\r\nHost: a\r\n\r\n"), 405);
    ck_assert_int_eq(parse("DELETE /metrics HTTP/1.0\r\n\r\n"), 405);
    /* Methods are case-sensitive. */
    ck_assert_int_eq(parse("get /metrics HTTP/1.1\r\nHost: a\r\n\r\n"), 405);
    ck_assert_int_eq(parse("GETS /metrics HTTP/1.1\r\nHost: a\r\n\r\n"), 405);
    ck_assert_int_eq(parse("X-Y!#$%&'*+.^_`|~ /metrics HTTP/1.1\r\nHost: a\r\n\r\n"), 405);
}
END_TEST

START_TEST(test_malformed)
{
    static const char *const bad[] = {
        /* Line ends. */
        "GET /metrics HTTP/1.1\nHost: a\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: a\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: a\r\n\n",
        "GET /metrics HTTP/1.1\rHost: a\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: a\rb\r\n\r\n",
        "\nGET /metrics HTTP/1.1\r\nHost: a\r\n\r\n",
        /* The request line. */
        "GET  /metrics HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /metrics  HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /metrics HTTP/1.1 \r\nHost: a\r\n\r\n",
        " GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /metrics\r\nHost: a\r\n\r\n",
        "GET\r\n\r\n",
        "GET /metrics http/1.1\r\nHost: a\r\n\r\n",
        "GET /metrics HTTP/1.10\r\nHost: a\r\n\r\n",
        "GET /metrics HTTP/11\r\nHost: a\r\n\r\n",
        "GET /metrics HTTP/1.x\r\nHost: a\r\n\r\n",
        "G(T /metrics HTTP/1.1\r\nHost: a\r\n\r\n",
        "G\xc3\xa9T /metrics HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET metrics HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET * HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /metrics#x HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /metr%6 HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /metrics% HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /%zzmetrics HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /m\xc3\xa9trics HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /m\tetrics HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET http:///metrics HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET ftp://h/metrics HTTP/1.1\r\nHost: a\r\n\r\n",
        /* Host: exactly one in HTTP/1.1, at most one in HTTP/1.0. */
        "GET /metrics HTTP/1.1\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET /metrics HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n",
        /* Fields. */
        "GET /metrics HTTP/1.1\r\nHost : a\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: a\r\n\tfolded\r\n\r\n",
        "GET /metrics HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost a\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHo(st: a\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: a\x01\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: a\x7f\r\n\r\n",
        /* No body. */
        "GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
        "GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: -0\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
    };
    size_t  i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(parse(bad[i]) == 400, "%zu: %s: %d", i, bad[i], parse(bad[i]));
    /* NUL anywhere. */
    ck_assert_int_eq(parse_len("GET /metrics HTTP/1.1\r\nHost: a\0\r\n\r\n", 35), 400);
    ck_assert_int_eq(parse_len("GET /met\0rics HTTP/1.1\r\n\r\n", 26), 400);
}
END_TEST

/* An error in what has come is answered at once, without the rest. */
START_TEST(test_early)
{
    ck_assert_int_eq(parse("GET /metrics HTTP/1.1\n"), 400);
    ck_assert_int_eq(parse("GET /metrics HTTP/2.0\r\n"), 505);
    ck_assert_int_eq(parse("GET /metrics HTTP/1.1\r\nHost : a\r\n"), 400);
    ck_assert_int_eq(parse_len("GE\0", 3), 400);
    ck_assert_int_eq(parse("GET /\rx"), 400);
    ck_assert_int_eq(parse("GET /metrics HTTP/1.1\r"), METRICS_HTTP_MORE);
}
END_TEST

START_TEST(test_version)
{
    ck_assert_int_eq(parse("GET /metrics HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
    ck_assert_int_eq(parse("GET /metrics HTTP/1.2\r\nHost: a\r\n\r\n"), 505);
    ck_assert_int_eq(parse("GET /metrics HTTP/0.9\r\n\r\n"), 505);
    ck_assert_int_eq(parse("GET /x HTTP/3.0\r\n\r\n"), 505);
}
END_TEST

START_TEST(test_limits)
{
    char   *buf = malloc(METRICS_HTTP_HEAD_MAX + 200);
    size_t  len;
    int     i;

    /* A head that never ends. */
    len = (size_t) snprintf(buf, 64, "GET /metrics HTTP/1.1\r\nHost: a\r\nX: ");
    memset(buf + len, 'a', METRICS_HTTP_HEAD_MAX + 100 - len);
    len = METRICS_HTTP_HEAD_MAX + 100;
    ck_assert_int_eq(parse_len(buf, METRICS_HTTP_HEAD_MAX - 1), METRICS_HTTP_MORE);
    ck_assert_int_eq(parse_len(buf, METRICS_HTTP_HEAD_MAX), 431);
    ck_assert_int_eq(parse_len(buf, len), 431);
    /* A complete head one byte too long. */
    len = (size_t) snprintf(buf, 64, "GET /metrics HTTP/1.1\r\nHost: a\r\nX: ");
    memset(buf + len, 'a', METRICS_HTTP_HEAD_MAX - len - 4 + 1);
    memcpy(buf + METRICS_HTTP_HEAD_MAX - 4 + 1, "\r\n\r\n", 4);
    ck_assert_int_eq(parse_len(buf, METRICS_HTTP_HEAD_MAX + 1), 431);
    buf[METRICS_HTTP_HEAD_MAX - 4] = 0;
    memcpy(buf + METRICS_HTTP_HEAD_MAX - 4, "\r\n\r\n", 4);
    ck_assert_int_eq(parse_len(buf, METRICS_HTTP_HEAD_MAX), 200);
    /* Too many fields. */
    len = (size_t) snprintf(buf, 64, "GET /metrics HTTP/1.1\r\nHost: a\r\n");
    for (i = 1; i < METRICS_HTTP_MAX_FIELDS; i++)
        len += (size_t) snprintf(buf + len, 16, "X%d: y\r\n", i);
    memcpy(buf + len, "\r\n", 3);
    ck_assert_int_eq(parse(buf), 200);
    memcpy(buf + len, "Z: z\r\n\r\n", 9);
    ck_assert_int_eq(parse(buf), 431);
    free(buf);
}
END_TEST

START_TEST(test_reason)
{
    ck_assert_str_eq(metrics_http_reason(200), "OK");
    ck_assert_str_eq(metrics_http_reason(404), "Not Found");
    ck_assert_str_eq(metrics_http_reason(405), "Method Not Allowed");
    ck_assert_str_eq(metrics_http_reason(431), "Request Header Fields Too Large");
    ck_assert_str_eq(metrics_http_reason(505), "HTTP Version Not Supported");
}
END_TEST

int
main(void)
{
    Suite  *s = suite_create("metrics_http");
    TCase  *tc = tcase_create("metrics_http");
    SRunner *sr;
    int     failed;

    tcase_add_test(tc, test_good);
    tcase_add_test(tc, test_incremental);
    tcase_add_test(tc, test_not_found);
    tcase_add_test(tc, test_method);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_early);
    tcase_add_test(tc, test_version);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_reason);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
