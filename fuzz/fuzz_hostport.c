/* libFuzzer target: "host:port" strings (relay_host, dns_servers) and
 * listen addresses. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hostport.h"
#include "mymalloc.h"
#include "vbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What a successful parse promises its caller. */
static void
fuzz_check_hostport(const HOSTPORT *hp)
{
    size_t len = strlen(hp->host);
    size_t plen = strlen(hp->port);

    if (len == 0 || len >= sizeof(hp->host))
        abort();
    if (plen > 5 || strspn(hp->port, "0123456789") != plen)
        abort();
    if (plen > 0 && (atoi(hp->port) < 1 || atoi(hp->port) > 65535))
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *str = mystrndup((const char *) data, size);
    VBUF *why = vbuf_create(100);
    struct sockaddr_storage ss;
    socklen_t len;
    char buf[64];
    HOSTPORT hp;

    if (hostport_parse(&hp, str, "25", why) == 0)
        fuzz_check_hostport(&hp);
    else if (vbuf_len(why) == 0)
        abort();
    if (hostport_parse(&hp, str, NULL, why) == 0)
        fuzz_check_hostport(&hp);
    if (hostport_listen_addr(str, &ss, &len, why) == 0) {
        if (len > sizeof(ss))
            abort();
        hostport_addr_str((struct sockaddr *) &ss, buf, sizeof(buf));
        hostport_addr_str((struct sockaddr *) &ss, buf, 5);
    } else if (vbuf_len(why) == 0) {
        abort();
    }
    vbuf_free(why);
    myfree(str);
    return 0;
}
