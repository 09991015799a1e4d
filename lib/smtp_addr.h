/* Parsing of the MAIL FROM: and RCPT TO: arguments (RFC 5321 4.1.2, with
 * RFC 6531 SMTPUTF8, RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 4954 AUTH=),
 * and the host name checks that HELO/EHLO handling shares with them.
 * Pure parsing: no I/O, no allocation; every refusal comes back as the
 * reply the client should get. */
#ifndef ALLIGATE_SMTP_ADDR_H
#define ALLIGATE_SMTP_ADDR_H

#include <stdint.h>

/* RFC 5321 4.5.3.1: limits on the wire form. */
#define SMTP_ADDR_LOCAL_MAX     64      /* local part, quotes included */
#define SMTP_ADDR_DOMAIN_MAX    255     /* domain or address literal */
#define SMTP_ADDR_PATH_MAX      256     /* "<" route mailbox ">" */
#define SMTP_ADDR_HOST_MAX      253     /* DNS name in text form */
/* AUTH=<mailbox> as xtext: each octet of a mailbox may take three. */
#define SMTP_ADDR_AUTH_MAX      (3 * SMTP_ADDR_PATH_MAX)

/* SMTP_PATH.flags */
#define SMTP_ADDR_FLAG_NULL     (1 << 0)    /* MAIL FROM:<> */
#define SMTP_ADDR_FLAG_ROUTE    (1 << 1)    /* source route given, stripped */
#define SMTP_ADDR_FLAG_LITERAL  (1 << 2)    /* domain is [address literal] */
#define SMTP_ADDR_FLAG_PERCENT  (1 << 3)    /* '%' in local part */
#define SMTP_ADDR_FLAG_BANG     (1 << 4)    /* '!' in local part */
#define SMTP_ADDR_FLAG_UTF8     (1 << 5)    /* non-ASCII in the address */
#define SMTP_ADDR_FLAG_QUOTED   (1 << 6)    /* local part was quoted */
#define SMTP_ADDR_FLAG_POSTMASTER (1 << 7)  /* RCPT TO:<Postmaster>, no domain */

/* SMTP_PATH.params: the MAIL parameters that were given. */
#define SMTP_ADDR_PARAM_SIZE    (1 << 0)
#define SMTP_ADDR_PARAM_BODY    (1 << 1)
#define SMTP_ADDR_PARAM_SMTPUTF8 (1 << 2)
#define SMTP_ADDR_PARAM_AUTH    (1 << 3)

/* SMTP_PATH.body */
#define SMTP_ADDR_BODY_NONE     0
#define SMTP_ADDR_BODY_7BIT     1
#define SMTP_ADDR_BODY_8BITMIME 2

/* Options of the parse functions. */
#define SMTP_ADDR_OPT_HELO      (1 << 0)    /* no EHLO: every parameter is
                                             * unsupported (555) */
#define SMTP_ADDR_OPT_SMTPUTF8  (1 << 1)    /* RCPT: this transaction's
                                             * MAIL had SMTPUTF8 */

/* Fixed-size fields: the RFC limits above are enforced before copying. */
typedef struct SMTP_PATH {
    int     flags;                          /* SMTP_ADDR_FLAG_* */
    char    raw[SMTP_ADDR_PATH_MAX];        /* between < >, as given */
    char    mailbox[SMTP_ADDR_PATH_MAX];    /* as given, route stripped */
    char    addr[SMTP_ADDR_PATH_MAX];       /* local@domain, local part
                                             * unquoted: for comparisons */
    char    local[SMTP_ADDR_LOCAL_MAX + 1]; /* unquoted */
    char    domain[SMTP_ADDR_DOMAIN_MAX + 1];       /* as given */
    char    domain_lc[SMTP_ADDR_DOMAIN_MAX + 1];    /* ASCII lower-cased */
    /* MAIL parameters. */
    int     params;                         /* SMTP_ADDR_PARAM_* given */
    uint64_t size;                          /* SIZE=, UINT64_MAX if larger */
    int     body;                           /* SMTP_ADDR_BODY_* */
    char    auth[SMTP_ADDR_AUTH_MAX + 1];   /* AUTH= xtext as given */
} SMTP_PATH;

/* A refusal: "code status text" is the reply line. */
typedef struct SMTP_ADDR_ERR {
    int     code;                           /* 501, 553, 555 */
    const char *status;                     /* enhanced code, "5.1.7" */
    char    text[128];                      /* printable ASCII only */
} SMTP_ADDR_ERR;

/* arg is the text after the verb ("FROM:<a@b.example> SIZE=1000"),
 * without CR LF. Return 0 and fill out, or -1 and fill err with:
 *   501 5.5.4 Syntax: MAIL FROM:<address>      no "FROM:", no "<"
 *   501 5.1.7 Bad sender address syntax        (RCPT: 5.1.3 ... recipient)
 *   501 5.1.7 Local part too long | Domain name too long | Path too long
 *   553 5.6.7 Non-ASCII addresses not permitted for that sender
 *   555 5.5.4 Unsupported option: X            unknown or malformed
 *   501 5.5.4 Duplicate option: X
 *   501 5.5.4 Bad SIZE parameter syntax | Bad AUTH parameter syntax */
int     smtp_addr_parse_mail(const char *arg, int opts, SMTP_PATH *out,
                             SMTP_ADDR_ERR *err);
int     smtp_addr_parse_rcpt(const char *arg, int opts, SMTP_PATH *out,
                             SMTP_ADDR_ERR *err);

/* RFC 1035/1123 host name: LDH labels of 1..63, 253 in all, no trailing
 * dot, top label not all digits (RFC 3696 2); require_fqdn wants a dot. */
int     smtp_addr_valid_hostname(const char *name, int require_fqdn);
/* "[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC 5321 4.1.3). */
int     smtp_addr_valid_literal(const char *literal);
/* The HELO/EHLO argument under deny_invalid_helo: 1 when name is a
 * fully-qualified host name (as smtp_addr_valid_hostname(name, 1): two
 * or more LDH labels of 1..63 octets, no label starting or ending with
 * '-', 253 octets at most, top label not all digits) optionally followed
 * by one trailing dot that the 253 does not count, or an address literal
 * that smtp_addr_valid_literal() takes. 0 for anything else, including
 * NULL, "", a leading dot, an empty label, "localhost", "1.2.3.4", and
 * any byte outside LDH (underscore, space, UTF-8). */
int     smtp_addr_valid_helo(const char *name);

#endif
