/* dnscache's DNS queries on c-ares (see dc_resolve.h).  c-ares says which
 * of its sockets want reading or writing through the socket state
 * callback; the event loop watches them and hands each ready one to
 * ares_process_fd, and a timer set from ares_timeout lets c-ares retry
 * and give up.  The reply is parsed here, beyond c-ares, because the
 * cache needs the TTL of PTR and TXT answers, which c-ares's parsers
 * drop. */
#include <arpa/inet.h>
#include <netdb.h>
#include <ares.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "dc_resolve.h"
#include "events.h"
#include "hostport.h"
#include "msg.h"
#include "mymalloc.h"

#define DC_RESOLVE_TIMEOUT_MS   1500    /* first try; c-ares doubles it */
#define DC_RESOLVE_TRIES        2
#define DC_RESOLVE_CLASS_IN     1

static ares_channel dc_resolve_channel;
static int dc_resolve_active;

typedef struct DC_QUERY {
    int     type;
    DC_RESOLVE_FN fn;
    void   *context;
} DC_QUERY;

static void dc_resolve_rearm(void);

static void
dc_resolve_tick(int event, void *context)
{
    (void) event;
    (void) context;
    ares_process_fd(dc_resolve_channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    dc_resolve_rearm();
}

/* The timer follows c-ares's next deadline. */
static void
dc_resolve_rearm(void)
{
    struct timeval tv, *tvp;
    long long ms;

    if (!dc_resolve_active)
        return;
    tvp = ares_timeout(dc_resolve_channel, NULL, &tv);
    if (tvp == NULL) {
        event_cancel_timer(dc_resolve_tick, NULL);
        return;
    }
    ms = (long long) tvp->tv_sec * 1000 + tvp->tv_usec / 1000;
    event_request_timer(dc_resolve_tick, NULL, ms > 0 ? ms : 1);
}

static void
dc_resolve_readable(int event, void *context)
{
    (void) event;
    ares_process_fd(dc_resolve_channel, (ares_socket_t) (intptr_t) context,
                    ARES_SOCKET_BAD);
    dc_resolve_rearm();
}

static void
dc_resolve_writable(int event, void *context)
{
    (void) event;
    ares_process_fd(dc_resolve_channel, ARES_SOCKET_BAD,
                    (ares_socket_t) (intptr_t) context);
    dc_resolve_rearm();
}

static void
dc_resolve_sock_state(void *data, ares_socket_t fd, int readable,
                      int writable)
{
    void   *ctx = (void *) (intptr_t) fd;

    (void) data;
    if (readable)
        event_enable_read(fd, dc_resolve_readable, ctx);
    else
        event_disable_read(fd);
    if (writable)
        event_enable_write(fd, dc_resolve_writable, ctx);
    else
        event_disable_write(fd);
}

/* Appends a numeric address with its port to the csv. */
static void
dc_resolve_csv_add(VBUF *csv, const char *addr, const char *port)
{
    if (vbuf_len(csv))
        vbuf_append_char(csv, ',');
    vbuf_printf(csv, strchr(addr, ':') ? "[%s]:%s" : "%s:%s", addr, port);
}

/* A server's name, looked up once (in /etc/hosts, or by the system's
 * resolver: c-ares cannot ask the servers it is being told about): each
 * of its addresses with port is appended to csv. */
static int
dc_resolve_server_name(const char *name, const char *port, VBUF *csv,
                       VBUF *why)
{
    struct addrinfo hints, *res, *ai;
    char    host[INET6_ADDRSTRLEN];
    int     err;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    if ((err = getaddrinfo(name, NULL, &hints, &res)) != 0) {
        vbuf_set(why, "");
        vbuf_printf(why, "dns_servers: %s: %s", name, gai_strerror(err));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        hostport_addr_str(ai->ai_addr, host, sizeof(host));
        dc_resolve_csv_add(csv, host, port);
        msg_info("dns_servers: %s is %s", name, host);
    }
    freeaddrinfo(res);
    return 0;
}

/* "host:port,[v6]:port" for ares_set_servers_ports_csv.  A server
 * whose name cannot be found is left out, said in a warning; none left
 * means /etc/resolv.conf's (an empty csv). */
static int
dc_resolve_servers_csv(char *const *servers, VBUF *csv, VBUF *why)
{
    HOSTPORT hp;
    unsigned char bin[16];
    int     given = 0;

    vbuf_set(csv, "");
    for (; servers && *servers; servers++) {
        given++;
        if (hostport_parse(&hp, *servers, "53", why) < 0)
            return -1;
        if (inet_pton(AF_INET, hp.host, bin) == 1
            || inet_pton(AF_INET6, hp.host, bin) == 1) {
            dc_resolve_csv_add(csv, hp.host, hp.port);
        } else if (dc_resolve_server_name(hp.host, hp.port, csv, why) < 0) {
            msg_warn("%s; server left out", vbuf_str(why));
        }
    }
    if (given && vbuf_len(csv) == 0)
        msg_warn("dns_servers: no server found; using /etc/resolv.conf");
    return 0;
}

int
dc_resolve_init(char *const *servers, VBUF *why)
{
    struct ares_options opts;
    VBUF   *csv = vbuf_create(100);
    int     err;

    if ((err = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
        vbuf_set(why, "");
        vbuf_printf(why, "ares_library_init: %s", ares_strerror(err));
        vbuf_free(csv);
        return -1;
    }
    if (dc_resolve_servers_csv(servers, csv, why) < 0) {
        vbuf_free(csv);
        return -1;
    }
    memset(&opts, 0, sizeof(opts));
    opts.sock_state_cb = dc_resolve_sock_state;
    opts.sock_state_cb_data = NULL;
    opts.timeout = DC_RESOLVE_TIMEOUT_MS;
    opts.tries = DC_RESOLVE_TRIES;
    if ((err = ares_init_options(&dc_resolve_channel, &opts,
                                 ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS
                                 | ARES_OPT_TRIES)) != ARES_SUCCESS) {
        vbuf_set(why, "");
        vbuf_printf(why, "ares_init_options: %s", ares_strerror(err));
        vbuf_free(csv);
        return -1;
    }
    if (vbuf_len(csv)
        && (err = ares_set_servers_ports_csv(dc_resolve_channel,
                                             vbuf_str(csv))) != ARES_SUCCESS) {
        vbuf_set(why, "");
        vbuf_printf(why, "dns_servers: %s", ares_strerror(err));
        ares_destroy(dc_resolve_channel);
        vbuf_free(csv);
        return -1;
    }
    vbuf_free(csv);
    dc_resolve_active = 1;
    return 0;
}

void
dc_resolve_end(void)
{
    if (dc_resolve_active) {
        /* Pending queries end with ARES_EDESTRUCTION: temporary. */
        ares_destroy(dc_resolve_channel);
        dc_resolve_active = 0;
        event_cancel_timer(dc_resolve_tick, NULL);
        ares_library_cleanup();
    }
}

void
dc_answer_clear(DC_ANSWER *answer)
{
    int     i;

    for (i = 0; i < answer->count; i++)
        myfree(answer->items[i]);
    answer->count = 0;
}

static unsigned
dc_get16(const unsigned char *p)
{
    return (unsigned) p[0] << 8 | p[1];
}

/* Skips a (possibly compressed) name at p; returns its length in the
 * message, or -1. */
static int
dc_skip_name(const unsigned char *p, const unsigned char *buf, int len)
{
    char   *name;
    long    enclen;

    if (ares_expand_name(p, buf, len, &name, &enclen) != ARES_SUCCESS)
        return -1;
    ares_free_string(name);
    return (int) enclen;
}

static void
dc_answer_add(DC_ANSWER *answer, const char *item, long long ttl)
{
    if (answer->count >= DC_RESOLVE_MAX_ANSWERS)
        return;
    answer->items[answer->count++] = mystrdup(item);
    if (answer->count == 1 || ttl < answer->ttl)
        answer->ttl = ttl;
}

/* The rdata of one record of the asked type. */
static int
dc_answer_rdata(const unsigned char *rd, unsigned rdlen,
                const unsigned char *buf, int len, int type, long long ttl,
                DC_ANSWER *answer)
{
    char    text[INET6_ADDRSTRLEN], *name;
    long    enclen;
    VBUF   *txt;
    unsigned i, n;

    switch (type) {
    case DC_RESOLVE_A:
        if (rdlen != 4)
            return -1;
        inet_ntop(AF_INET, rd, text, sizeof(text));
        dc_answer_add(answer, text, ttl);
        return 0;
    case DC_RESOLVE_AAAA:
        if (rdlen != 16)
            return -1;
        inet_ntop(AF_INET6, rd, text, sizeof(text));
        dc_answer_add(answer, text, ttl);
        return 0;
    case DC_RESOLVE_PTR:
        if (ares_expand_name(rd, buf, len, &name, &enclen) != ARES_SUCCESS)
            return -1;
        /* A name that runs past its record is refused, and freed. */
        if ((unsigned long) enclen > rdlen) {
            ares_free_string(name);
            return -1;
        }
        dc_answer_add(answer, name, ttl);
        ares_free_string(name);
        return 0;
    case DC_RESOLVE_TXT:
        txt = vbuf_create(100);
        for (i = 0; i < rdlen; i += n + 1) {
            n = rd[i];
            if (i + 1 + n > rdlen) {
                vbuf_free(txt);
                return -1;
            }
            vbuf_append(txt, rd + i + 1, n);
        }
        if (memchr(vbuf_str(txt), 0, vbuf_len(txt)) == NULL)
            dc_answer_add(answer, vbuf_str(txt), ttl);
        vbuf_free(txt);
        return 0;
    }
    return 0;
}

int
dc_answer_parse(const unsigned char *buf, int len, int type,
                DC_ANSWER *answer)
{
    const unsigned char *p, *end = buf + len;
    unsigned qd, an, i, rtype, rdlen;
    long long ttl;
    int     n;

    memset(answer, 0, sizeof(*answer));
    answer->status = DC_RESOLVE_OK;
    if (len < 12)
        goto bad;
    qd = dc_get16(buf + 4);
    an = dc_get16(buf + 6);
    p = buf + 12;
    for (i = 0; i < qd; i++) {
        if ((n = dc_skip_name(p, buf, len)) < 0 || end - p < n + 4)
            goto bad;
        p += n + 4;
    }
    for (i = 0; i < an; i++) {
        if ((n = dc_skip_name(p, buf, len)) < 0 || end - p < n + 10)
            goto bad;
        p += n;
        rtype = dc_get16(p);
        ttl = (long long) ((unsigned long) p[4] << 24 | (unsigned long) p[5] << 16
                           | (unsigned long) p[6] << 8 | p[7]);
        if (ttl > 0x7fffffffLL)         /* RFC 2181: treat as 0 */
            ttl = 0;
        rdlen = dc_get16(p + 8);
        p += 10;
        if ((unsigned long) (end - p) < rdlen)
            goto bad;
        if ((int) rtype == type
            && dc_answer_rdata(p, rdlen, buf, len, type, ttl, answer) < 0)
            goto bad;
        p += rdlen;
    }
    if (answer->count == 0)
        answer->status = DC_RESOLVE_NONE;
    return 0;

bad:
    dc_answer_clear(answer);
    answer->status = DC_RESOLVE_TEMP;
    return -1;
}

static void
dc_resolve_done(void *arg, int status, int timeouts, unsigned char *abuf,
                int alen)
{
    DC_QUERY *q = arg;
    DC_ANSWER answer;

    (void) timeouts;
    memset(&answer, 0, sizeof(answer));
    switch (status) {
    case ARES_SUCCESS:
        if (abuf == NULL || dc_answer_parse(abuf, alen, q->type, &answer) < 0)
            answer.status = DC_RESOLVE_TEMP;
        break;
    case ARES_ENOTFOUND:
    case ARES_ENODATA:
        answer.status = DC_RESOLVE_NONE;
        break;
    default:
        answer.status = DC_RESOLVE_TEMP;
        break;
    }
    q->fn(&answer, q->context);
    dc_answer_clear(&answer);
    myfree(q);
}

void
dc_resolve_query(const char *name, int type, DC_RESOLVE_FN fn, void *context)
{
    DC_QUERY *q = mymalloc(sizeof(*q));
    DC_ANSWER answer;

    q->type = type;
    q->fn = fn;
    q->context = context;
    if (!dc_resolve_active) {
        memset(&answer, 0, sizeof(answer));
        answer.status = DC_RESOLVE_TEMP;
        myfree(q);
        fn(&answer, context);
        return;
    }
    ares_query(dc_resolve_channel, name, DC_RESOLVE_CLASS_IN, type,
               dc_resolve_done, q);
    dc_resolve_rearm();
}

int
dc_resolve_reverse_name(const char *addr, VBUF *out)
{
    unsigned char bin[16];
    static const char hex[] = "0123456789abcdef";
    int     i;

    vbuf_set(out, "");
    if (inet_pton(AF_INET, addr, bin) == 1) {
        vbuf_printf(out, "%u.%u.%u.%u.in-addr.arpa", bin[3], bin[2], bin[1],
                    bin[0]);
        return 0;
    }
    if (inet_pton(AF_INET6, addr, bin) == 1) {
        for (i = 15; i >= 0; i--)
            vbuf_printf(out, "%c.%c.", hex[bin[i] & 15], hex[bin[i] >> 4]);
        vbuf_append_str(out, "ip6.arpa");
        return 0;
    }
    return -1;
}
