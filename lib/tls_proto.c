/* tls_protocols, Postfix's syntax, into the one range of versions that
 * OpenSSL's SSL_CTX_set_min/max_proto_version take.
 *
 * Words are separated by commas, white space or colons.  ">=NAME" sets
 * the lowest version and "<=NAME" the highest (the last of each counts,
 * as in Postfix); "!NAME" excludes a version; a bare "NAME" includes one,
 * and once any is included, every version not included is excluded.
 * Names are case-sensitive, as in Postfix.  SSLv2 and SSLv3 may be named
 * (configurations copied from Postfix exclude them) but are never
 * offered.  What is left must be one range without holes: OpenSSL's
 * bounds cannot say "TLSv1.1 and TLSv1.3 but not TLSv1.2". */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "printable.h"
#include <openssl/ssl.h>
#include "tls_proto.h"
#include "vbuf.h"

/* In order: a version's bit is 1 << its index. */
static const struct {
    const char *name;
    int     version;                    /* OpenSSL's constant; 0: never */
} tls_proto_table[] = {
    {"SSLv2", 0},
    {"SSLv3", 0},
    {"TLSv1", TLS1_VERSION},
    {"TLSv1.1", TLS1_1_VERSION},
    {"TLSv1.2", TLS1_2_VERSION},
    {"TLSv1.3", TLS1_3_VERSION},
};

#define TLS_PROTO_COUNT     ((int) (sizeof(tls_proto_table) / sizeof(tls_proto_table[0])))
#define TLS_PROTO_ALL       ((1u << TLS_PROTO_COUNT) - 1)
#define TLS_PROTO_NEVER     0x3u        /* SSLv2, SSLv3 */
#define TLS_PROTO_SEP       ", \t\r\n:"

/* The index of a name of len bytes, or -1 with the reason in why. */
static int
tls_proto_lookup(const char *word, size_t len, const char *token, VBUF *why)
{
    int     i;

    for (i = 0; i < TLS_PROTO_COUNT; i++)
        if (strlen(tls_proto_table[i].name) == len
            && strncmp(tls_proto_table[i].name, word, len) == 0)
            return i;
    if (len == 0) {
        vbuf_printf(why, "\"%s\" without a protocol name", printable_str(token));
        return -1;
    }
    vbuf_printf(why, "unknown TLS protocol \"%s\"", printable_str(token));
    for (i = 0; i < TLS_PROTO_COUNT; i++) {
        if (strlen(tls_proto_table[i].name) == len
            && strncasecmp(tls_proto_table[i].name, word, len) == 0) {
            vbuf_printf(why, "; did you mean \"%s\"?", tls_proto_table[i].name);
            return -1;
        }
    }
    vbuf_append_str(why, " (use SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3)");
    return -1;
}

int
tls_proto_parse(const char *spec, int *min, int *max, VBUF *why)
{
    unsigned include = 0, exclude = 0, allowed;
    int     floor = 0, ceiling = TLS_PROTO_COUNT - 1;
    int     lo, hi, i;
    const char *cp = spec;

    for (;;) {
        const char *tok, *word;
        size_t  len;
        char    token[64];
        int     idx;

        cp += strspn(cp, TLS_PROTO_SEP);
        if (*cp == 0)
            break;
        tok = cp;
        len = strcspn(cp, TLS_PROTO_SEP);
        cp += len;
        /* The token as written, for messages; long ones are cut. */
        snprintf(token, sizeof(token), "%.*s", (int) (len < 60 ? len : 60), tok);
        word = tok;
        if (len >= 2 && (strncmp(tok, ">=", 2) == 0 || strncmp(tok, "<=", 2) == 0))
            word += 2;
        else if (*tok == '!')
            word += 1;
        if ((idx = tls_proto_lookup(word, len - (size_t) (word - tok), token, why)) < 0)
            return -1;
        if (*tok == '>')
            floor = idx;
        else if (*tok == '<')
            ceiling = idx;
        else if (*tok == '!')
            exclude |= 1u << idx;
        else
            include |= 1u << idx;
    }

    allowed = include ? include : TLS_PROTO_ALL;
    allowed &= ~exclude & ~TLS_PROTO_NEVER;
    for (i = 0; i < TLS_PROTO_COUNT; i++)
        if (i < floor || i > ceiling)
            allowed &= ~(1u << i);
    if (allowed == 0) {
        vbuf_printf(why, "\"%s\" leaves no TLS protocol to offer "
                    "(SSLv2 and SSLv3 are never offered)", printable_str(spec));
        return -1;
    }
    for (lo = 0; !(allowed & (1u << lo)); lo++)
        /* void */ ;
    for (hi = TLS_PROTO_COUNT - 1; !(allowed & (1u << hi)); hi--)
        /* void */ ;
    for (i = lo + 1; i < hi; i++) {
        if (!(allowed & (1u << i))) {
            vbuf_printf(why, "\"%s\" allows %s and %s but not %s between them "
                        "(OpenSSL takes one range of versions)", printable_str(spec),
                        tls_proto_table[lo].name, tls_proto_table[hi].name,
                        tls_proto_table[i].name);
            return -1;
        }
    }
    *min = tls_proto_table[lo].version;
    *max = tls_proto_table[hi].version;
    return 0;
}

const char *
tls_proto_name(int version)
{
    int     i;

    for (i = 0; i < TLS_PROTO_COUNT; i++)
        if (tls_proto_table[i].version == version && version != 0)
            return tls_proto_table[i].name;
    return "unknown";
}
