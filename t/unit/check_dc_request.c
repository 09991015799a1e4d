/* Unit tests for dnscache's request dispatch (dnscache/dc_request.c)
 * without a socket, with a fake clock and a cache in a temporary
 * directory: the malformed requests and their reasons, addresses in
 * their canonical form, answers from the cache (names, blocklist scores,
 * a list's error code not counted), renewals of entries near their end
 * that a failed lookup does not spoil, flush and stats; without DNS
 * servers (every query fails at once), and against a server that never
 * answers, where the replies wait: until their deadline, the client's
 * wait= less the margin, and with ptr=start only for the blocklists. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "attr.h"
#include "dnsbl.h"
#include "dnscache/dc_cache.h"
#include "dnscache/dc_dnsbl.h"
#include "dnscache/dc_request.h"
#include "dnscache/dc_resolve.h"
#include "events.h"
#include "fixture.h"
#include "msg.h"
#include "vbuf.h"

#define T0      1700000000LL

static DC_CACHE *cache;
static ATTR *in, *out, *later;
static long long now = T0;
static int deferred, answered;
static long long answered_at;

static long long
fake_now(void)
{
    return now;
}

static unsigned long
defer(void *context)
{
    (void) context;
    return (unsigned long) ++deferred;
}

static void
answer(void *context, unsigned long token, const ATTR *reply)
{
    int     i;

    (void) context;
    ck_assert_int_eq((int) token, deferred);
    attr_reset(later);
    for (i = 0; i < attr_count(reply); i++)
        attr_set(later, attr_name_at(reply, i), attr_value_at(reply, i));
    answered++;
    answered_at = event_time_refresh();
}

static void
configure(const char *sites, int resolving, long long timeout_ms)
{
    DC_REQUEST_CONF rc = {
        .ttls = {.min_ttl = 60, .max_ttl = 86400, .negative_ttl = 600},
        .resolving = resolving,
        .timeout_ms = timeout_ms,
    };
    VBUF   *why = vbuf_create(10);
    DNSBL_SITES *s = dnsbl_parse(sites, why);

    ck_assert_msg(s != NULL, "%s", vbuf_str(why));
    vbuf_free(why);
    dc_dnsbl_configure(s);
    dc_request_configure(&rc);
}

static void
setup(void)
{
    static const DC_REQUEST_IO io = {defer, answer, NULL};
    VBUF   *why = vbuf_create(10);

    msg_open("/dev/null");
    cache = dc_cache_open(fixture_dir_create("dc_request"), why);
    ck_assert_msg(cache != NULL, "%s", vbuf_str(why));
    vbuf_free(why);
    in = attr_create();
    out = attr_create();
    later = attr_create();
    now = T0;
    deferred = answered = 0;
    dc_request_init(cache, &io, fake_now);
    configure("bl.example, wl.example*-5", 1, 1000);
}

static void
teardown(void)
{
    dc_request_store_stop(1);
    dc_resolve_end();
    dc_request_store_stop(0);
    cache = dc_cache_close(cache);
    attr_free(in);
    attr_free(out);
    attr_free(later);
    fixture_dir_remove();
}

/* Sends name, value, ... NULL; returns the status, or 99 when the reply
 * was deferred. */
static long
call(const char *first, ...)
{
    const char *name = first, *value;
    va_list ap;
    long status;
    int before = deferred;

    attr_reset(in);
    attr_reset(out);
    va_start(ap, first);
    for (; name != NULL; name = va_arg(ap, const char *)) {
        value = va_arg(ap, const char *);
        ck_assert_int_eq(attr_set(in, name, value), 0);
    }
    va_end(ap);
    dc_request_handle(in, out);
    if (deferred != before) {
        ck_assert_int_eq(attr_count(out), 0);
        return 99;
    }
    ck_assert_int_eq(attr_get_long(out, "status", &status), 0);
    return status;
}

static const char *
got(const ATTR *a, const char *name)
{
    const char *v = attr_get(a, name);

    ck_assert_msg(v != NULL, "no %s", name);
    return v;
}

static void
bad(const char *reason, const char *first, ...)
{
    const char *name = first, *value;
    va_list ap;

    attr_reset(in);
    attr_reset(out);
    va_start(ap, first);
    for (; name != NULL; name = va_arg(ap, const char *)) {
        value = va_arg(ap, const char *);
        ck_assert_int_eq(attr_set(in, name, value), 0);
    }
    va_end(ap);
    dc_request_handle(in, out);
    ck_assert_int_eq(deferred, 0);
    ck_assert_str_eq(got(out, "status"), "-1");
    ck_assert_str_eq(got(out, "reason"), reason);
    /* nothing but status and reason */
    ck_assert_int_eq(attr_count(out), 2);
}

static void
put(const char *key, int result, long long expires, long long lifetime,
    const char *ptr, const char *name)
{
    DC_ENTRY e;
    VBUF   *why = vbuf_create(10);

    memset(&e, 0, sizeof(e));
    e.result = result;
    e.expires = expires;
    e.lifetime = lifetime;
    snprintf(e.ptr, sizeof(e.ptr), "%s", ptr);
    snprintf(e.name, sizeof(e.name), "%s", name);
    ck_assert_msg(dc_cache_put(cache, key, &e, why) == 0, "%s", vbuf_str(why));
    vbuf_free(why);
}

static long
stats_of(const char *name)
{
    long v = -1;

    ck_assert_int_eq(call("request", "stats", NULL), 0);
    ck_assert_int_eq(attr_get_long(out, name, &v), 0);
    return v;
}

START_TEST(test_malformed)
{
    bad("no request", "addr", "192.0.2.1", NULL);
    bad("unknown request", "request", "resolve", "addr", "192.0.2.1", NULL);
    bad("unknown request", "request", "", NULL);
    bad("unknown request", "request", "CLIENT", "addr", "192.0.2.1", NULL);
    bad("no addr", "request", "client", "ptr", "1", NULL);
    bad("no addr", "request", "lookup", NULL);
    bad("not a numeric address", "request", "client", "addr", "", NULL);
    bad("not a numeric address", "request", "client", "addr", "mx.example.com",
        NULL);
    bad("not a numeric address", "request", "client", "addr", "192.0.2", NULL);
    bad("not a numeric address", "request", "client", "addr", "192.0.2.1 ",
        NULL);
    bad("not a numeric address", "request", "client", "addr", "192.0.2.256",
        NULL);
    bad("not a numeric address", "request", "client", "addr", "[::1]", NULL);
    bad("not a numeric address", "request", "client", "addr", "::1%lo", NULL);
    bad("not a numeric address", "request", "client", "addr", "2001:db8::g",
        NULL);
    bad("not a numeric address", "request", "flush", "addr", "nothing", NULL);
    bad("not a numeric address", "request", "stats", "addr", "x", NULL);
    bad("ptr: not 0, 1 or start", "request", "client", "addr", "192.0.2.1",
        "ptr", "yes", NULL);
    bad("ptr: not 0, 1 or start", "request", "client", "addr", "192.0.2.1",
        "ptr", "", NULL);
    bad("ptr: not 0, 1 or start", "request", "client", "addr", "192.0.2.1",
        "ptr", "START", NULL);
    bad("dnsbl: not 0 or 1", "request", "client", "addr", "192.0.2.1",
        "dnsbl", "2", NULL);
    bad("fresh: not 0 or 1", "request", "lookup", "addr", "192.0.2.1",
        "fresh", "yes", NULL);
    bad("wait: not a positive number of milliseconds", "request", "client",
        "addr", "192.0.2.1", "ptr", "1", "wait", "0", NULL);
    bad("wait: not a positive number of milliseconds", "request", "client",
        "addr", "192.0.2.1", "wait", "-5", NULL);
    bad("wait: not a positive number of milliseconds", "request", "client",
        "addr", "192.0.2.1", "wait", "1s", NULL);
    bad("wait: not a positive number of milliseconds", "request", "client",
        "addr", "192.0.2.1", "wait", "", NULL);
    bad("wait: not a positive number of milliseconds", "request", "client",
        "addr", "192.0.2.1", "wait", "99999999999999999999999", NULL);
    /* None of them asked anything or cached anything. */
    ck_assert_int_eq(stats_of("entries"), 0);
    ck_assert_int_eq(stats_of("misses"), 0);
    /* Attributes it does not know are ignored: the protocol can grow. */
    ck_assert_int_eq(call("request", "stats", "colour", "blue", NULL), 0);
}
END_TEST

/* Without DNS servers every lookup fails at once: a temporary failure,
 * answered at once and cached as such, never "no PTR". */
START_TEST(test_no_servers)
{
    ck_assert_int_eq(call("request", "client", "addr", "192.0.2.1", "ptr", "1",
                          "dnsbl", "1", NULL), 0);
    ck_assert_int_eq(deferred, 0);
    ck_assert_str_eq(got(out, "name"), "");
    ck_assert_str_eq(got(out, "verified"), "0");
    ck_assert_str_eq(got(out, "temp"), "1");
    ck_assert_str_eq(got(out, "score"), "0");
    ck_assert_str_eq(got(out, "sites"), "");
    ck_assert_str_eq(got(out, "late"), "");
    ck_assert_ptr_null(attr_get(out, "pending"));
    /* the PTR and both zones, each a temporary failure */
    ck_assert_int_eq(stats_of("entries"), 3);
    ck_assert_int_eq(stats_of("misses"), 3);
    ck_assert_int_eq(call("request", "lookup", "addr", "192.0.2.1", NULL), 0);
    ck_assert_str_eq(got(out, "result"), "temp");
    ck_assert_str_eq(got(out, "cached"), "1");
    ck_assert_str_eq(got(out, "ttl"), "30");
    ck_assert_str_eq(got(out, "dnsbl"), "bl.example=temp, wl.example=temp");
    ck_assert_str_eq(got(out, "dnsbl_cached"), "1");
    ck_assert_int_eq(stats_of("hits"), 3);
    /* without ptr and dnsbl nothing is asked */
    ck_assert_int_eq(call("request", "client", "addr", "192.0.2.2", NULL), 0);
    ck_assert_str_eq(got(out, "name"), "");
    ck_assert_str_eq(got(out, "temp"), "0");
    ck_assert_int_eq(stats_of("entries"), 3);
}
END_TEST

START_TEST(test_from_cache)
{
    put("192.0.2.1", DC_RESULT_OK, T0 + 300, 600, "mx.example.com",
        "mx.example.com");
    put("192.0.2.1 bl bl.example", DC_RESULT_OK, T0 + 300, 600,
        "127.0.0.2,127.0.0.4", "");
    put("192.0.2.1 bl wl.example", DC_RESULT_NONE, T0 + 300, 600, "", "");
    ck_assert_int_eq(call("request", "client", "addr", "192.0.2.1", "ptr", "1",
                          "dnsbl", "1", NULL), 0);
    ck_assert_str_eq(got(out, "name"), "mx.example.com");
    ck_assert_str_eq(got(out, "verified"), "1");
    ck_assert_str_eq(got(out, "temp"), "0");
    ck_assert_str_eq(got(out, "score"), "1");
    ck_assert_str_eq(got(out, "sites"), "bl.example");
    /* ptr=start with the name in the cache: it comes with the reply */
    ck_assert_int_eq(call("request", "client", "addr", "192.0.2.1", "ptr",
                          "start", "dnsbl", "1", NULL), 0);
    ck_assert_str_eq(got(out, "name"), "mx.example.com");
    ck_assert_ptr_null(attr_get(out, "pending"));
    ck_assert_int_eq(stats_of("hits"), 6);
    ck_assert_int_eq(stats_of("misses"), 0);
    ck_assert_int_eq(stats_of("refreshes"), 0);
    /* resolve_remote_hosts = no: the cached name is not shown */
    configure("bl.example", 0, 1000);
    ck_assert_int_eq(call("request", "client", "addr", "192.0.2.1", "ptr", "1",
                          "dnsbl", "1", NULL), 0);
    ck_assert_str_eq(got(out, "name"), "");
    ck_assert_str_eq(got(out, "score"), "1");
    ck_assert_int_eq(call("request", "lookup", "addr", "192.0.2.1", NULL), 0);
    ck_assert_str_eq(got(out, "result"), "off");
}
END_TEST

/* An unverified name is never the name; an expired entry is a miss. */
START_TEST(test_unverified_and_expired)
{
    DC_ENTRY e;
    VBUF   *why = vbuf_create(10);

    memset(&e, 0, sizeof(e));
    e.result = DC_RESULT_OK;
    e.expires = T0 + 100;
    e.lifetime = 100;
    strcpy(e.ptr, "liar.example.com");
    strcpy(e.unverified, "liar.example.com");
    ck_assert_int_eq(dc_cache_put(cache, "192.0.2.9", &e, why), 0);
    vbuf_free(why);
    ck_assert_int_eq(call("request", "client", "addr", "192.0.2.9", "ptr", "1",
                          NULL), 0);
    ck_assert_str_eq(got(out, "name"), "");
    ck_assert_str_eq(got(out, "verified"), "0");
    ck_assert_str_eq(got(out, "unverified"), "liar.example.com");
    now = T0 + 100;
    ck_assert_int_eq(call("request", "client", "addr", "192.0.2.9", "ptr", "1",
                          NULL), 0);
    ck_assert_str_eq(got(out, "temp"), "1");
    ck_assert_ptr_null(attr_get(out, "unverified"));
    ck_assert_int_eq(stats_of("misses"), 1);
}
END_TEST

/* One spelling per address: the cache's key. */
START_TEST(test_canonical_address)
{
    put("2001:db8::1", DC_RESULT_OK, T0 + 300, 600, "six.example.com",
        "six.example.com");
    put("192.0.2.1", DC_RESULT_OK, T0 + 300, 600, "mx.example.com",
        "mx.example.com");
    ck_assert_int_eq(call("request", "client", "addr", "2001:DB8:0:0::0:1",
                          "ptr", "1", NULL), 0);
    ck_assert_str_eq(got(out, "name"), "six.example.com");
    ck_assert_int_eq(call("request", "client", "addr", "2001:0db8::0001",
                          "ptr", "1", NULL), 0);
    ck_assert_str_eq(got(out, "name"), "six.example.com");
    ck_assert_int_eq(call("request", "flush", "addr", "2001:db8:0::1", NULL), 0);
    ck_assert_str_eq(got(out, "removed"), "1");
    ck_assert_int_eq(call("request", "flush", NULL), 0);
    ck_assert_str_eq(got(out, "removed"), "1");
    ck_assert_int_eq(stats_of("entries"), 0);
}
END_TEST

/* A list's error code counts for no entry without a filter. */
START_TEST(test_error_code_not_listed)
{
    configure("bl.example*5, strict.example=127.255.255.[252..255]", 1, 1000);
    put("192.0.2.7 bl bl.example", DC_RESULT_OK, T0 + 300, 600,
        "127.255.255.254", "");
    put("192.0.2.7 bl strict.example", DC_RESULT_OK, T0 + 300, 600,
        "127.255.255.255", "");
    ck_assert_int_eq(call("request", "client", "addr", "192.0.2.7", "dnsbl", "1",
                          NULL), 0);
    ck_assert_str_eq(got(out, "score"), "1");
    ck_assert_str_eq(got(out, "sites"), "strict.example");
}
END_TEST

/* An entry hit in its last seconds is renewed in the background; a
 * renewal that fails does not replace it. */
START_TEST(test_renewal)
{
    DC_ENTRY e;

    put("192.0.2.1", DC_RESULT_OK, T0 + 10, 600, "mx.example.com",
        "mx.example.com");
    put("192.0.2.1 bl bl.example", DC_RESULT_OK, T0 + 10, 600, "127.0.0.2", "");
    put("192.0.2.1 bl wl.example", DC_RESULT_NONE, T0 + 500, 600, "", "");
    ck_assert_int_eq(call("request", "client", "addr", "192.0.2.1", "ptr", "1",
                          "dnsbl", "1", NULL), 0);
    ck_assert_str_eq(got(out, "name"), "mx.example.com");
    ck_assert_str_eq(got(out, "score"), "1");
    /* the name and the listing, not the allowlist's fresh NXDOMAIN */
    ck_assert_int_eq(stats_of("refreshes"), 2);
    /* both renewals failed at once (no servers): the entries stay */
    ck_assert_int_eq(dc_cache_get(cache, "192.0.2.1", now, &e), 1);
    ck_assert_str_eq(e.name, "mx.example.com");
    ck_assert_int_eq(e.expires, T0 + 10);
    ck_assert_int_eq(dc_cache_get(cache, "192.0.2.1 bl bl.example", now, &e), 1);
    ck_assert_int_eq(e.result, DC_RESULT_OK);
    ck_assert_str_eq(e.ptr, "127.0.0.2");
    /* once expired, a failure is cached as one */
    now = T0 + 10;
    ck_assert_int_eq(call("request", "client", "addr", "192.0.2.1", "dnsbl", "1",
                          NULL), 0);
    ck_assert_str_eq(got(out, "score"), "0");
    ck_assert_int_eq(dc_cache_get(cache, "192.0.2.1 bl bl.example", now, &e), 1);
    ck_assert_int_eq(e.result, DC_RESULT_TEMP);
    ck_assert_int_eq(e.lifetime, DC_CACHE_TEMP_TTL);
}
END_TEST

/* A UDP port that never answers, as dns_servers. */
static int
blackhole(void)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    char    server[64];
    char   *servers[2] = {server, NULL};
    VBUF   *why = vbuf_create(10);
    int     fd = socket(AF_INET, SOCK_DGRAM, 0);

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *) &sin, sizeof(sin)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &sin, &len), 0);
    snprintf(server, sizeof(server), "127.0.0.1:%d", ntohs(sin.sin_port));
    ck_assert_msg(dc_resolve_init(servers, why) == 0, "%s", vbuf_str(why));
    vbuf_free(why);
    return fd;
}

/* Runs the event loop until the deferred reply has gone; returns how
 * long that took, in ms. */
static long long
wait_answer(long long start)
{
    while (answered == 0 && event_time_refresh() - start < 5000)
        event_loop(100);
    ck_assert_int_eq(answered, 1);
    return answered_at - start;
}

START_TEST(test_deadline)
{
    int     fd = blackhole();
    long long start = event_time_refresh(), took;

    ck_assert_int_eq(call("request", "client", "addr", "192.0.2.20", "ptr", "1",
                          "dnsbl", "1", NULL), 99);
    took = wait_answer(start);
    ck_assert_msg(took >= 990 && took < 3000, "took %lld ms", took);
    ck_assert_str_eq(got(later, "status"), "0");
    ck_assert_str_eq(got(later, "name"), "");
    ck_assert_str_eq(got(later, "temp"), "1");
    ck_assert_str_eq(got(later, "late"), "bl.example,wl.example");
    ck_assert_ptr_null(attr_get(later, "pending"));
    ck_assert_int_eq(stats_of("inflight"), 3);
    close(fd);
}
END_TEST

/* wait=: the reply goes before the client stops waiting. */
START_TEST(test_wait_ms)
{
    DC_REQUEST_CONF rc = {.timeout_ms = 1000};

    ck_assert_int_eq(dc_request_wait_ms(&rc, 0, 0), 1000);
    ck_assert_int_eq(dc_request_wait_ms(&rc, 1, 0), DC_REQUEST_ADMIN_WAIT_MS);
    /* the margin: 50 ms, or a fifth of a shorter wait */
    ck_assert_int_eq(dc_request_wait_ms(&rc, 0, 300), 250);
    ck_assert_int_eq(dc_request_wait_ms(&rc, 0, 1000), 950);
    ck_assert_int_eq(dc_request_wait_ms(&rc, 0, 100), 80);
    ck_assert_int_eq(dc_request_wait_ms(&rc, 0, 4), 4);
    ck_assert_int_eq(dc_request_wait_ms(&rc, 0, 1), 1);
    /* a wait longer than dnscache_timeout does not stretch it */
    ck_assert_int_eq(dc_request_wait_ms(&rc, 0, 1051), 1000);
    ck_assert_int_eq(dc_request_wait_ms(&rc, 0, 60000), 1000);
    ck_assert_int_eq(dc_request_wait_ms(&rc, 1, 60000), DC_REQUEST_ADMIN_WAIT_MS);
    ck_assert_int_eq(dc_request_wait_ms(&rc, 1, 2000), 1950);
    rc.timeout_ms = 10;
    ck_assert_int_eq(dc_request_wait_ms(&rc, 0, 0), 10);
    ck_assert_int_eq(dc_request_wait_ms(&rc, 0, 5), 4);
}
END_TEST

START_TEST(test_client_wait)
{
    int     fd = blackhole();
    long long start = event_time_refresh(), took;

    ck_assert_int_eq(call("request", "client", "addr", "192.0.2.21", "ptr", "1",
                          "wait", "300", NULL), 99);
    took = wait_answer(start);
    /* 300 less the margin: not the 1000 of dnscache_timeout */
    ck_assert_msg(took >= 245 && took < 900, "took %lld ms", took);
    ck_assert_str_eq(got(later, "temp"), "1");
    close(fd);
}
END_TEST

/* ptr=start: the reply waits for the blocklists only, and says that the
 * name is to come; a request with ptr=1 then joins the lookup under
 * way. */
START_TEST(test_ptr_start)
{
    int     fd = blackhole();
    long long start;

    put("192.0.2.30 bl bl.example", DC_RESULT_OK, T0 + 300, 600, "127.0.0.2",
        "");
    put("192.0.2.30 bl wl.example", DC_RESULT_NONE, T0 + 300, 600, "", "");
    ck_assert_int_eq(call("request", "client", "addr", "192.0.2.30", "ptr",
                          "start", "dnsbl", "1", NULL), 0);
    ck_assert_int_eq(deferred, 0);
    ck_assert_str_eq(got(out, "pending"), "1");
    ck_assert_str_eq(got(out, "name"), "");
    ck_assert_str_eq(got(out, "temp"), "0");
    ck_assert_str_eq(got(out, "score"), "1");
    ck_assert_int_eq(stats_of("misses"), 1);
    ck_assert_int_eq(stats_of("inflight"), 1);
    /* the name's own request joins it: no second lookup, no miss */
    start = event_time_refresh();
    ck_assert_int_eq(call("request", "client", "addr", "192.0.2.30", "ptr", "1",
                          "wait", "500", NULL), 99);
    ck_assert_int_eq(stats_of("inflight"), 1);
    ck_assert_int_eq(stats_of("misses"), 1);
    wait_answer(start);
    ck_assert_str_eq(got(later, "temp"), "1");
    ck_assert_ptr_null(attr_get(later, "pending"));
    /* with the blocklists not answering either, the reply waits for
     * them (and only them) until the deadline */
    answered = 0;
    start = event_time_refresh();
    ck_assert_int_eq(call("request", "client", "addr", "192.0.2.31", "ptr",
                          "start", "dnsbl", "1", "wait", "200", NULL), 99);
    wait_answer(start);
    ck_assert_str_eq(got(later, "pending"), "1");
    ck_assert_str_eq(got(later, "temp"), "0");
    ck_assert_str_eq(got(later, "late"), "bl.example,wl.example");
    close(fd);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("dc_request");
    TCase *tc = tcase_create("dc_request");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_no_servers);
    tcase_add_test(tc, test_from_cache);
    tcase_add_test(tc, test_unverified_and_expired);
    tcase_add_test(tc, test_canonical_address);
    tcase_add_test(tc, test_error_code_not_listed);
    tcase_add_test(tc, test_renewal);
    tcase_add_test(tc, test_deadline);
    tcase_add_test(tc, test_wait_ms);
    tcase_add_test(tc, test_client_wait);
    tcase_add_test(tc, test_ptr_start);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
