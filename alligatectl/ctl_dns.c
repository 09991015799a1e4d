/* alligatectl dns: what dnscache knows, through its typed client.
 *
 *   dns lookup [--fresh] ADDR  what the cache holds for ADDR (asking DNS
 *                              when it holds nothing), or with --fresh
 *                              what DNS says now
 *   dns flush [ADDR]           forgets ADDR, or everything
 *   dns stats                  entries, hits, misses, lookups in flight,
 *                              background refreshes */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "ctl.h"
#include "dc_clnt.h"
#include "printable.h"

static DC_CLNT *
ctl_dns_client(void)
{
    ctl_load_config();
    return dc_clnt_create(dc_clnt_default_path(), DC_CLNT_FLAG_NONE);
}

static int
ctl_dns_failed(DC_CLNT *clnt)
{
    fprintf(stderr, "alligatectl: cannot talk to dnscache: %s\n",
            dc_clnt_error(clnt));
    dc_clnt_free(clnt);
    return 1;
}

static int
ctl_dns_addr_ok(const char *addr)
{
    unsigned char bin[16];

    if (inet_pton(AF_INET, addr, bin) == 1
        || inet_pton(AF_INET6, addr, bin) == 1)
        return 1;
    fprintf(stderr, "alligatectl: not a numeric address: %s\n",
            printable_str(addr));
    return 0;
}

static int
ctl_dns_lookup(const char *addr, int fresh)
{
    DC_CLNT *clnt;
    DC_CLNT_LOOKUP out;

    if (!ctl_dns_addr_ok(addr))
        return 2;
    clnt = ctl_dns_client();
    if (dc_clnt_lookup(clnt, addr, fresh, &out) != DC_CLNT_OK)
        return ctl_dns_failed(clnt);
    printf("address: %s\n", addr);
    printf("result: %s\n", out.result);
    printf("ptr: %s\n", out.ptr[0] ? out.ptr : "-");
    printf("verified: %s\n", out.info.name[0] ? out.info.name : "-");
    printf("unverified: %s\n", out.unverified[0] ? out.unverified : "-");
    printf("temporary failure: %s\n", out.info.temp ? "yes" : "no");
    printf("dnsbl score: %d\n", out.info.score);
    printf("dnsbl sites: %s\n", out.info.sites[0] ? out.info.sites : "-");
    printf("dnsbl answers: %s\n", out.dnsbl[0] ? out.dnsbl : "-");
    if (out.ttl >= 0)
        printf("ttl: %lds\n", out.ttl);
    else
        printf("ttl: -\n");
    printf("source: %s\n", out.cached ? "cache" : "lookup");
    dc_clnt_free(clnt);
    return 0;
}

static int
ctl_dns_flush(const char *addr)
{
    DC_CLNT *clnt;
    long removed;

    if (addr && !ctl_dns_addr_ok(addr))
        return 2;
    clnt = ctl_dns_client();
    if (dc_clnt_flush(clnt, addr, &removed) != DC_CLNT_OK)
        return ctl_dns_failed(clnt);
    printf("removed: %ld\n", removed);
    dc_clnt_free(clnt);
    return 0;
}

static int
ctl_dns_stats(void)
{
    DC_CLNT *clnt = ctl_dns_client();
    DC_CLNT_STATS st;
    long total;

    if (dc_clnt_stats(clnt, &st) != DC_CLNT_OK)
        return ctl_dns_failed(clnt);
    total = st.hits + st.misses;
    printf("entries: %ld\n", st.entries);
    printf("hits: %ld\n", st.hits);
    printf("misses: %ld\n", st.misses);
    if (total > 0)
        printf("hit ratio: %.1f%%\n", 100.0 * (double) st.hits / (double) total);
    else
        printf("hit ratio: -\n");
    printf("inflight: %ld\n", st.inflight);
    printf("refreshes: %ld\n", st.refreshes);
    dc_clnt_free(clnt);
    return 0;
}

int
ctl_dns(int argc, char **argv)
{
    /* argv[0] is "dns". */
    int i = 1;
    const char *sub = i < argc ? argv[i] : NULL;

    if (sub == NULL)
        ctl_usage();
    if (strcmp(sub, "lookup") == 0) {
        if (i + 2 < argc && strcmp(argv[i + 1], "--fresh") == 0
            && i + 3 == argc)
            return ctl_dns_lookup(argv[i + 2], 1);
        if (i + 2 != argc)
            ctl_usage();
        return ctl_dns_lookup(argv[i + 1], 0);
    }
    if (strcmp(sub, "flush") == 0) {
        if (i + 2 < argc)
            ctl_usage();
        return ctl_dns_flush(i + 1 < argc ? argv[i + 1] : NULL);
    }
    if (strcmp(sub, "stats") == 0 && i + 1 == argc)
        return ctl_dns_stats();
    ctl_usage();
}
