/* Parsing of "host", "host:port", "[host]:port" and "[ipv6]:port". */
#ifndef ALLIGATE_HOSTPORT_H
#define ALLIGATE_HOSTPORT_H

#include <sys/socket.h>

struct VBUF;

typedef struct HOSTPORT {
    char host[256];             /* without brackets */
    char port[8];               /* numeric, "" when none was given */
    int bracketed;              /* [host]: do not look up MX records */
} HOSTPORT;

/* Parses str into hp; def_port (may be NULL) is used when no port is
 * given.  A port must be 1..65535; an IPv6 literal must be bracketed when a
 * port follows.  Returns 0, or -1 with the reason in why. */
int hostport_parse(HOSTPORT *hp, const char *str, const char *def_port,
                   struct VBUF *why);

/* Parses a listen address "addr:port", "[v6addr]:port" or ":port" (all
 * addresses) into a socket address; the host must be a numeric address or
 * "localhost".  Returns 0, or -1 with the reason in why. */
int hostport_listen_addr(const char *str, struct sockaddr_storage *ss,
                         socklen_t *len, struct VBUF *why);

/* Formats a numeric address without port ("192.0.2.1", "2001:db8::1"). */
const char *hostport_addr_str(const struct sockaddr *sa, char *buf,
                              size_t size);

#endif
