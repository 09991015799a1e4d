/* dnscache's DNS queries: one c-ares channel driven by the event loop
 * (ARES_OPT_SOCK_STATE_CB registers c-ares's sockets, ares_process_fd
 * serves them, a timer follows ares_timeout), and the answers turned into
 * a list of strings with the smallest TTL. */
#ifndef ALLIGATE_DC_RESOLVE_H
#define ALLIGATE_DC_RESOLVE_H

#include "vbuf.h"

#define DC_RESOLVE_OK       0       /* answers (maybe none of the type) */
#define DC_RESOLVE_NONE     1       /* NXDOMAIN or no data */
#define DC_RESOLVE_TEMP     2       /* SERVFAIL, timeout, refused, ... */

#define DC_RESOLVE_PTR      12
#define DC_RESOLVE_A        1
#define DC_RESOLVE_AAAA     28
#define DC_RESOLVE_TXT      16

#define DC_RESOLVE_MAX_ANSWERS  32

/* What one query found: for PTR the names, for A and AAAA the numeric
 * addresses, for TXT the strings. */
typedef struct DC_ANSWER {
    int     status;                 /* DC_RESOLVE_* */
    long long ttl;                  /* the smallest of the answers' */
    int     count;
    char   *items[DC_RESOLVE_MAX_ANSWERS];
} DC_ANSWER;

typedef void (*DC_RESOLVE_FN)(const DC_ANSWER *answer, void *context);

/* servers: host, host:port or [v6]:port items (NULL or empty:
 * /etc/resolv.conf).  Returns -1 with why. */
int     dc_resolve_init(char *const *servers, VBUF *why);
void    dc_resolve_end(void);

/* Asks name for type; fn runs once, from the event loop or at once. */
void    dc_resolve_query(const char *name, int type, DC_RESOLVE_FN fn,
                         void *context);

/* Parses a DNS reply for type into answer (items allocated; free them
 * with dc_answer_clear).  Returns 0, or -1 when the reply is malformed. */
int     dc_answer_parse(const unsigned char *buf, int len, int type,
                        DC_ANSWER *answer);
void    dc_answer_clear(DC_ANSWER *answer);

/* The name of addr's PTR record ("1.2.0.192.in-addr.arpa", the nibbles
 * of an IPv6 address under ip6.arpa); -1 when addr is not numeric. */
int     dc_resolve_reverse_name(const char *addr, VBUF *out);

#endif
