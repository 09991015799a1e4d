/* libFuzzer target for dnscache's request dispatch: the input is a
 * stream of messages in the framing of every local socket, each parsed
 * with attr_parse() and answered by dc_request_handle(), as dnscache
 * would answer them on its socket: requests of every kind (client with
 * every ptr, dnsbl and wait, lookup, flush, stats, and unknown ones),
 * with whatever attributes the input holds.  No DNS: dc_resolve is never
 * started, so every query fails at once as temporary, and the cache is
 * a real one, in a temporary directory, made afresh for each input
 * (opened and closed each time: Berkeley DB keeps pages it allocates
 * where the leak checker cannot see them until the file is closed).
 *
 * Attributes that dnscache ignores drive the harness, so that seeds stay
 * readable: fuzz_advance=S (the clock moves on first, in seconds),
 * fuzz_sites=SPEC (dnsbl_sites from now on, when it parses),
 * fuzz_resolve=0|1 (resolve_remote_hosts), and fuzz_key=KEY with
 * fuzz_record=RECORD (a cache record, dc_cache_decode()'s format, put
 * under KEY when it decodes: answers from the cache, blocklist answers,
 * error codes, entries about to be renewed).
 *
 * Checked: nothing is deferred (without DNS nothing waits); every reply
 * has a status, 0 or -1 with a reason and nothing else, prints and
 * parses back to itself; a client reply has a score, and a name only
 * when verified=1; and no lookup is left under way. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "dnsbl.h"
#include "dnscache/dc_cache.h"
#include "dnscache/dc_dnsbl.h"
#include "dnscache/dc_fcrdns.h"
#include "dnscache/dc_request.h"
#include "fuzz_tmpdir.h"
#include "msg.h"
#include "vbuf.h"

#define FUZZ_T0         1700000000LL
#define FUZZ_CENTURY    (100LL * 366 * 86400)
#define FUZZ_SITES      "bl.example, wl.example=127.0.[0..255].[1..3]*-5, " \
                        "zen.example=127.0.0.[2..11]*3"

#define fuzz_check(ok) do { \
        if (!(ok)) { \
            fprintf(stderr, "fuzz_dc_request: line %d: %s\n", __LINE__, #ok); \
            abort(); \
        } \
    } while (0)

static DC_CACHE *fuzz_cache;
static const char *fuzz_dir;
static long long fuzz_now;
static DC_REQUEST_CONF fuzz_conf;

static long long
fuzz_clock(void)
{
    return fuzz_now;
}

static unsigned long
fuzz_defer(void *context)
{
    (void) context;
    fuzz_check(!"a request was deferred without DNS");
    return 0;
}

static void
fuzz_answer(void *context, unsigned long token, const ATTR *reply)
{
    (void) context;
    (void) token;
    (void) reply;
    fuzz_check(!"a deferred answer without DNS");
}

static void
fuzz_sites(const char *spec)
{
    VBUF   *why = vbuf_create(10);
    DNSBL_SITES *sites = dnsbl_parse(spec, why);

    if (sites)
        dc_dnsbl_configure(sites);
    vbuf_free(why);
}

static void
fuzz_check_reply(const ATTR *request, const ATTR *reply)
{
    VBUF   *printed = vbuf_create(128);
    ATTR   *copy = attr_create();
    const char *verb = attr_get(request, "request");
    const char *name, *verified;
    size_t  used;
    long    status;
    int     i;

    fuzz_check(attr_get_long(reply, "status", &status) == 0);
    fuzz_check(status == 0 || status == -1);
    if (status < 0) {
        fuzz_check(attr_get(reply, "reason") != NULL);
        fuzz_check(attr_count(reply) == 2);
    } else if (verb && strcmp(verb, "client") == 0) {
        fuzz_check(attr_get_long(reply, "score", &status) == 0);
        name = attr_get(reply, "name");
        verified = attr_get(reply, "verified");
        fuzz_check(name && verified);
        fuzz_check(strcmp(verified, *name ? "1" : "0") == 0);
        fuzz_check(attr_get(reply, "sites") && attr_get(reply, "late"));
        /* nothing was late: no query waits */
        fuzz_check(*attr_get(reply, "late") == 0);
    }
    for (i = 0; i < attr_count(reply); i++)
        fuzz_check(attr_name_at(reply, i)[0] != 0);
    attr_print(printed, reply);
    fuzz_check(attr_parse(copy, vbuf_str(printed), vbuf_len(printed), &used,
                          NULL) == 1 && used == vbuf_len(printed));
    fuzz_check(attr_count(copy) == attr_count(reply));
    vbuf_free(printed);
    attr_free(copy);
}

/* The harness's own attributes, before the request is handled. */
static void
fuzz_harness(const ATTR *request)
{
    const char *key = attr_get(request, "fuzz_key");
    const char *record = attr_get(request, "fuzz_record");
    const char *sites = attr_get(request, "fuzz_sites");
    VBUF   *why;
    DC_ENTRY e;
    long    v;

    if (attr_get_long(request, "fuzz_advance", &v) == 0 && v > 0
        && v < FUZZ_CENTURY && fuzz_now + v < FUZZ_T0 + FUZZ_CENTURY)
        fuzz_now += v;
    if (attr_get_long(request, "fuzz_resolve", &v) == 0) {
        fuzz_conf.resolving = v == 1;
        dc_request_configure(&fuzz_conf);
    }
    if (sites)
        fuzz_sites(sites);
    if (key && *key && record
        && dc_cache_decode(&e, record, strlen(record)) == 0) {
        why = vbuf_create(10);
        fuzz_check(dc_cache_put(fuzz_cache, key, &e, why) == 0);
        vbuf_free(why);
    }
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    msg_init("fuzz_dc_request");
    msg_open("/dev/null");
    fuzz_dir = fuzz_tmpdir_make("fuzz_dc_request");
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const DC_REQUEST_IO io = {fuzz_defer, fuzz_answer, NULL};
    ATTR   *request = attr_create();
    ATTR   *reply = attr_create();
    VBUF   *why = vbuf_create(10);
    size_t  off = 0, used;

    fuzz_cache = dc_cache_open(fuzz_dir, why);
    fuzz_check(fuzz_cache != NULL);
    vbuf_free(why);
    dc_cache_flush(fuzz_cache, NULL);
    dc_request_init(fuzz_cache, &io, fuzz_clock);
    fuzz_now = FUZZ_T0;
    fuzz_conf.ttls.min_ttl = 60;
    fuzz_conf.ttls.max_ttl = 86400;
    fuzz_conf.ttls.negative_ttl = 600;
    fuzz_conf.resolving = 1;
    fuzz_conf.timeout_ms = 1000;
    dc_request_configure(&fuzz_conf);
    fuzz_sites(FUZZ_SITES);

    while (attr_parse(request, (const char *) data + off, size - off, &used,
                      NULL) == 1) {
        off += used;
        fuzz_harness(request);
        attr_reset(reply);
        dc_request_handle(request, reply);
        fuzz_check_reply(request, reply);
    }
    fuzz_check(dc_fcrdns_inflight() == 0);
    fuzz_check(dc_dnsbl_inflight() == 0);
    attr_free(request);
    attr_free(reply);
    fuzz_cache = dc_cache_close(fuzz_cache);
    return 0;
}
