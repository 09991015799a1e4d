/* The exporter's HTTP request reader: strict, small, and for one thing,
 * GET /metrics (RFC 9112's request line and header fields, nothing
 * more).  It works on the bytes read so far and says whether more are
 * needed or what to answer; it touches no socket, so that tests and the
 * fuzzer drive it with any bytes.
 *
 * Accepted: an optional few empty lines (CR LF), then
 *
 *   METHOD SP TARGET SP HTTP/1.0|HTTP/1.1 CR LF
 *   (NAME ":" OWS VALUE OWS CR LF)*
 *   CR LF
 *
 * METHOD and NAME are tokens; TARGET is an origin-form path ("/metrics",
 * an optional "?query" ignored) or an absolute-form "http://host/path";
 * VALUE is visible ASCII, SP, HTAB and bytes 0x80-0xff.  HTTP/1.1 needs
 * exactly one Host field, HTTP/1.0 at most one.  A request may not have
 * a body (Content-Length other than 0, or Transfer-Encoding).  Lines end
 * with CR LF only.  The whole head is at most METRICS_HTTP_HEAD_MAX
 * bytes, with at most METRICS_HTTP_MAX_FIELDS fields. */
#ifndef ALLIGATE_METRICS_HTTP_H
#define ALLIGATE_METRICS_HTTP_H

#include <stddef.h>

#define METRICS_HTTP_HEAD_MAX       8192
#define METRICS_HTTP_MAX_FIELDS     64

#define METRICS_HTTP_MORE           0       /* the head is not complete */

#define METRICS_HTTP_GET            1
#define METRICS_HTTP_HEAD           2

typedef struct METRICS_HTTP_REQ {
    int     method;                 /* METRICS_HTTP_GET or _HEAD, else 0 */
    size_t  head_len;               /* bytes of the head, once complete */
} METRICS_HTTP_REQ;

/* Reads the request in buf[0..len).  Returns METRICS_HTTP_MORE while the
 * head may still come complete, else the status to answer: 200 for
 * GET or HEAD /metrics, 400 for a malformed request, 404 for another
 * path, 405 for another method, 431 for a head too large, 505 for
 * another HTTP version.  An error in what is there already is answered
 * at once, without waiting for the rest. */
int     metrics_http_parse(const char *buf, size_t len, METRICS_HTTP_REQ *req);

/* The reason phrase of a status this reader returns. */
const char *metrics_http_reason(int status);

#endif
