/* Parsing of "host", "host:port", "[host]:port" and "[ipv6]:port" (relay_host,
 * dns_servers, listen addresses), and numeric formatting of addresses.
 *
 * An IPv6 address needs brackets when a port follows, since "2001:db8::1:25"
 * is itself an address: without brackets, a string with two or more colons
 * is taken as a whole IPv6 address with no port, or refused. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hostport.h"
#include "msg.h"
#include "printable.h"
#include "vbuf.h"

/* Normalizes a decimal port 1..65535 into out (size 8); returns 0 or -1. */
static int
hostport_parse_port(const char *text, char out[8])
{
    long port = 0;
    int ndigits = 0;

    for (; *text; text++) {
        if (*text < '0' || *text > '9' || ++ndigits > 5)
            return -1;
        port = port * 10 + (*text - '0');
    }
    if (port < 1 || port > 65535)
        return -1;
    snprintf(out, 8, "%ld", port);
    return 0;
}

/* Letters, digits, '-', '.' and '_' only (as in DNS names and IPv4
 * addresses); ASCII ranges, whatever the locale. */
static int
hostport_valid_name(const char *name)
{
    for (; *name; name++) {
        char ch = *name;

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
              || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.'
              || ch == '_'))
            return 0;
    }
    return 1;
}

static int
hostport_error(VBUF *why, const char *what, const char *str)
{
    vbuf_printf(why, "%s in \"%s\"", what, printable_str(str));
    return -1;
}

int
hostport_parse(HOSTPORT *hp, const char *str, const char *def_port, VBUF *why)
{
    const char *host = str;
    const char *host_end;
    const char *port = NULL;
    const char *colon;
    struct in6_addr a6;
    size_t len;

    vbuf_reset(why);
    memset(hp, 0, sizeof(*hp));
    if (*str == '[') {
        host = str + 1;
        if ((host_end = strchr(host, ']')) == NULL)
            return hostport_error(why, "missing \"]\"", str);
        if (host_end[1] == ':')
            port = host_end + 2;
        else if (host_end[1] != 0)
            return hostport_error(why, "junk after \"]\"", str);
        hp->bracketed = 1;
    } else if ((colon = strchr(str, ':')) == NULL) {
        host_end = str + strlen(str);
    } else if (strchr(colon + 1, ':') == NULL) {
        host_end = colon;
        port = colon + 1;
    } else if (inet_pton(AF_INET6, str, &a6) == 1) {
        host_end = str + strlen(str);
    } else {
        return hostport_error(why, "too many \":\" (write an IPv6 address "
                              "with a port as [address]:port)", str);
    }

    len = (size_t) (host_end - host);
    if (len == 0)
        return hostport_error(why, "empty host", str);
    if (len >= sizeof(hp->host))
        return hostport_error(why, "host name too long", str);
    memcpy(hp->host, host, len);
    hp->host[len] = 0;
    if (strchr(hp->host, ':') != NULL) {
        if (inet_pton(AF_INET6, hp->host, &a6) != 1)
            return hostport_error(why, "bad IPv6 address", str);
    } else if (!hostport_valid_name(hp->host)) {
        return hostport_error(why, "bad host name", str);
    }

    if (port != NULL) {
        if (hostport_parse_port(port, hp->port) < 0)
            return hostport_error(why, "bad port", str);
    } else if (def_port != NULL && *def_port != 0) {
        if (hostport_parse_port(def_port, hp->port) < 0)
            msg_panic("hostport_parse: bad default port \"%s\"", def_port);
    }
    return 0;
}

int
hostport_listen_addr(const char *str, struct sockaddr_storage *ss,
                     socklen_t *len, VBUF *why)
{
    struct sockaddr_in *sin = (struct sockaddr_in *) ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ss;
    HOSTPORT hp;
    socklen_t sslen;
    in_port_t port;

    vbuf_reset(why);
    if (str[0] == ':' && strchr(str + 1, ':') == NULL) {
        /* ":25" means every IPv4 address. */
        memset(&hp, 0, sizeof(hp));
        snprintf(hp.host, sizeof(hp.host), "0.0.0.0");
        if (hostport_parse_port(str + 1, hp.port) < 0)
            return hostport_error(why, "bad port", str);
    } else if (hostport_parse(&hp, str, NULL, why) < 0) {
        return -1;
    }
    if (hp.port[0] == 0)
        return hostport_error(why, "missing port", str);
    port = htons((in_port_t) atoi(hp.port));     /* checked: 1..65535 */

    memset(ss, 0, sizeof(*ss));
    if (strcasecmp(hp.host, "localhost") == 0) {
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sin->sin_port = port;
        sslen = sizeof(*sin);
    } else if (inet_pton(AF_INET, hp.host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = port;
        sslen = sizeof(*sin);
    } else if (inet_pton(AF_INET6, hp.host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = port;
        sslen = sizeof(*sin6);
    } else {
        return hostport_error(why, "host is not a numeric address", str);
    }
    if (len != NULL)
        *len = sslen;
    return 0;
}

/* A v4-mapped IPv6 address prints in its IPv4 form, as the client is
 * known in logs and lists.  An unknown family prints as "unknown". */
const char *
hostport_addr_str(const struct sockaddr *sa, char *buf, size_t size)
{
    const struct in6_addr *a6;
    const void *addr;
    int family = sa->sa_family;

    if (size == 0)
        msg_panic("hostport_addr_str: zero-length buffer");
    switch (family) {
    case AF_INET:
        addr = &((const struct sockaddr_in *) sa)->sin_addr;
        break;
    case AF_INET6:
        a6 = &((const struct sockaddr_in6 *) sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6)) {
            family = AF_INET;
            addr = a6->s6_addr + 12;
        } else {
            addr = a6;
        }
        break;
    default:
        snprintf(buf, size, "unknown");
        return buf;
    }
    if (inet_ntop(family, addr, buf, (socklen_t) size) == NULL)
        snprintf(buf, size, "?");               /* buffer too small */
    return buf;
}
