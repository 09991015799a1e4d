/* libFuzzer target: tls_protocols in Postfix's syntax (lib/tls_proto.c),
 * which every program reads from main.cf. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mymalloc.h"
#include <openssl/ssl.h>
#include "tls_proto.h"
#include "vbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *str = mystrndup((const char *) data, size);
    char *cp;
    VBUF *why = vbuf_create(100);
    char again[64];
    int min = -1, max = -1, min2 = -1, max2 = -1;
    int rc, rc2;

    rc = tls_proto_parse(str, &min, &max, why);
    if (rc == 0) {
        /* One range of versions OpenSSL can offer. */
        if (min < TLS1_VERSION || max > TLS1_3_VERSION || min > max)
            abort();
        /* The range written as bounds reads back the same. */
        snprintf(again, sizeof(again), ">=%s <=%s", tls_proto_name(min),
                 tls_proto_name(max));
        if (tls_proto_parse(again, &min2, &max2, why) != 0
            || min2 != min || max2 != max)
            abort();
    } else if (rc != -1 || vbuf_len(why) == 0 || min != -1 || max != -1) {
        abort();
    }
    /* Every separator means the same. */
    for (cp = str; *cp; cp++)
        if (strchr(", \t\r\n:", *cp))
            *cp = ':';
    vbuf_reset(why);
    min2 = max2 = -1;
    rc2 = tls_proto_parse(str, &min2, &max2, why);
    if (rc2 != rc || (rc == 0 && (min2 != min || max2 != max)))
        abort();
    vbuf_free(why);
    myfree(str);
    return 0;
}
