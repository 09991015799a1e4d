/* Parsing of the MAIL FROM: and RCPT TO: arguments.
 *
 * We are strict where RFC 5321 is: the path must be in angle brackets (a
 * bare "MAIL FROM:a@b" is a syntax error, unlike Postfix's non-strict
 * mode), the local part is a dot-string or a quoted-string, the domain a
 * host name or a validated address literal. The only slack, as in
 * Postfix, is white space: spaces before the verb's argument, after the
 * colon and between parameters are accepted.
 *
 * Bytes above 127 are accepted only as well-formed UTF-8 (RFC 6531); the
 * address is then flagged, and refused unless the transaction uses
 * SMTPUTF8. A source route is parsed, checked and stripped (RFC 5321
 * 4.1.1.3), and flagged so that relay control can refuse it. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "smtp_addr.h"

/* What differs between MAIL and RCPT in the replies. */
typedef struct SMTP_ADDR_CMD {
    int     is_rcpt;
    const char *status;                 /* X.1.7 sender, X.1.3 recipient */
    const char *bad;                    /* bad address syntax */
    const char *usage;
    const char *utf8;                   /* non-ASCII without SMTPUTF8 */
} SMTP_ADDR_CMD;

static const SMTP_ADDR_CMD smtp_addr_mail = {
    0, "5.1.7", "Bad sender address syntax", "Syntax: MAIL FROM:<address>",
    "Non-ASCII addresses not permitted for that sender",
};
static const SMTP_ADDR_CMD smtp_addr_rcpt = {
    1, "5.1.3", "Bad recipient address syntax", "Syntax: RCPT TO:<address>",
    "Non-ASCII addresses not permitted for that recipient",
};

#define SMTP_ADDR_OPT_SHOW      60      /* option text echoed in a reply */

/* Is the keyword of kw bytes at p this name? */
#define SMTP_ADDR_IS(name) \
    (kw == sizeof(name) - 1 && strncasecmp(p, name, kw) == 0)

/* Fill in a refusal with fixed text. */
static int
smtp_addr_err(SMTP_ADDR_ERR *err, int code, const char *status,
              const char *text)
{
    err->code = code;
    err->status = status;
    snprintf(err->text, sizeof(err->text), "%s", text);
    return -1;
}

/* Fill in a refusal that quotes the client's parameter, made printable
 * and shortened so it cannot break or bloat the reply line. */
static int
smtp_addr_err_opt(SMTP_ADDR_ERR *err, int code, const char *prefix,
                  const char *opt, size_t len)
{
    size_t  n = strlen(prefix);
    size_t  i;

    err->code = code;
    err->status = "5.5.4";
    snprintf(err->text, sizeof(err->text), "%s", prefix);
    for (i = 0; i < len && i < SMTP_ADDR_OPT_SHOW; i++) {
        unsigned char ch = (unsigned char) opt[i];

        err->text[n++] = (ch > 32 && ch < 127) ? (char) ch : '?';
    }
    if (len > SMTP_ADDR_OPT_SHOW) {
        memcpy(err->text + n, "...", 3);
        n += 3;
    }
    err->text[n] = 0;
    return -1;
}

/* Length of the well-formed UTF-8 sequence of a non-ASCII character at s
 * (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF), or 0. */
static size_t
smtp_addr_utf8_len(const char *s)
{
    const unsigned char *u = (const unsigned char *) s;
    unsigned char lo = 0x80, hi = 0xBF;
    size_t  len, i;

    if (u[0] >= 0xC2 && u[0] <= 0xDF)
        len = 2;
    else if (u[0] >= 0xE0 && u[0] <= 0xEF)
        len = 3;
    else if (u[0] >= 0xF0 && u[0] <= 0xF4)
        len = 4;
    else
        return 0;
    if (u[0] == 0xE0)
        lo = 0xA0;                      /* overlong */
    else if (u[0] == 0xED)
        hi = 0x9F;                      /* surrogates */
    else if (u[0] == 0xF0)
        lo = 0x90;                      /* overlong */
    else if (u[0] == 0xF4)
        hi = 0x8F;                      /* above U+10FFFF */
    if (u[1] < lo || u[1] > hi)
        return 0;
    /* A NUL terminator fails this test, so we never read past it. */
    for (i = 2; i < len; i++)
        if (u[i] < 0x80 || u[i] > 0xBF)
            return 0;
    return len;
}

/* RFC 5321 atext, the characters of an unquoted local part. */
static int
smtp_addr_is_atext(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
        || (ch >= '0' && ch <= '9') || (ch && strchr("!#$%&'*+-/=?^_`{|}~", ch));
}

static int
smtp_addr_is_alnum(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
        || (ch >= '0' && ch <= '9');
}

/* Check a domain name of len bytes: labels of letters, digits and inner
 * hyphens, at most 63 bytes each; with allow_utf8, labels may also hold
 * UTF-8 (U-labels, RFC 6531), which sets *utf8. The top label must not
 * be all digits (RFC 3696 2), so "1.2.3.4" is not a domain. */
static int
smtp_addr_check_domain(const char *s, size_t len, int allow_utf8, int *utf8)
{
    const char *end = s + len;
    const char *label;
    int     digits_only = 0;

    if (len == 0)
        return 0;
    while (s < end) {
        int     non_ascii = 0;

        label = s;
        digits_only = 1;
        while (s < end && *s != '.') {
            unsigned char ch = (unsigned char) *s;
            size_t  n;

            if (ch >= 0x80) {
                if (!allow_utf8 || (n = smtp_addr_utf8_len(s)) == 0
                    || n > (size_t) (end - s))
                    return 0;
                s += n;
                non_ascii = 1;
                digits_only = 0;
                continue;
            }
            if (!smtp_addr_is_alnum(ch) && ch != '-')
                return 0;
            if (ch < '0' || ch > '9')
                digits_only = 0;
            s++;
        }
        if (s == label || *label == '-' || s[-1] == '-')
            return 0;
        /* The 63 limit is on the A-label, which we cannot compute here. */
        if (!non_ascii && s - label > 63)
            return 0;
        if (non_ascii && utf8)
            *utf8 = 1;
        if (s < end && ++s == end)      /* trailing dot */
            return 0;
    }
    return !digits_only;
}

/* Check "[...]" of len bytes: dotted-quad IPv4 (RFC 5321 4.1.3 Snum, 1 to
 * 3 digits each, at most 255) or "IPv6:" followed by what inet_pton takes. */
static int
smtp_addr_check_literal(const char *s, size_t len)
{
    char    buf[INET6_ADDRSTRLEN + 1];
    unsigned char addr6[16];
    int     part, ndigit, value;
    size_t  i;

    if (len < 3 || s[0] != '[' || s[len - 1] != ']')
        return 0;
    s++;
    len -= 2;
    if (len > 5 && strncasecmp(s, "IPv6:", 5) == 0) {
        if (len - 5 >= sizeof(buf))
            return 0;
        memcpy(buf, s + 5, len - 5);
        buf[len - 5] = 0;
        return inet_pton(AF_INET6, buf, addr6) == 1;
    }
    part = ndigit = value = 0;
    for (i = 0; i < len; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            if (++ndigit > 3)
                return 0;
            value = value * 10 + s[i] - '0';
            if (value > 255)
                return 0;
        } else if (s[i] == '.' && ndigit > 0 && part < 3) {
            part++;
            ndigit = value = 0;
        } else {
            return 0;                   /* no other tags are defined */
        }
    }
    return part == 3 && ndigit > 0;
}

/* A host name of len bytes, ASCII only: SMTP_ADDR_HOST_MAX at most, and
 * with require_fqdn two labels or more. */
static int
smtp_addr_check_host(const char *name, size_t len, int require_fqdn)
{
    if (len > SMTP_ADDR_HOST_MAX || !smtp_addr_check_domain(name, len, 0, 0))
        return 0;
    return !require_fqdn || memchr(name, '.', len) != 0;
}

int
smtp_addr_valid_hostname(const char *name, int require_fqdn)
{
    return smtp_addr_check_host(name, strlen(name), require_fqdn);
}

int
smtp_addr_valid_helo(const char *name)
{
    size_t  len;

    if (name == 0 || *name == 0)
        return 0;
    if (*name == '[')
        return smtp_addr_valid_literal(name);
    /* The root's dot, "mx.example.", as a resolver would accept it; one
     * only: a second leaves an empty label, which check_domain refuses. */
    len = strlen(name);
    if (name[len - 1] == '.')
        len--;
    return smtp_addr_check_host(name, len, 1);
}

int
smtp_addr_valid_literal(const char *literal)
{
    return smtp_addr_check_literal(literal, strlen(literal));
}

/* Skip a quoted-string starting at the opening quote; returns the byte
 * after the closing quote, or NULL. RFC 5321 qtextSMTP and quoted-pairSMTP,
 * plus UTF-8 in qtext (RFC 6531). */
static const char *
smtp_addr_skip_quoted(const char *cp, int *utf8)
{
    size_t  n;

    for (cp++; *cp != '"'; cp++) {
        unsigned char ch = (unsigned char) *cp;

        if (ch == '\\') {
            if (cp[1] < 32 || cp[1] > 126)
                return 0;
            cp++;
        } else if (ch >= 0x80) {
            if ((n = smtp_addr_utf8_len(cp)) == 0)
                return 0;
            cp += n - 1;
            *utf8 = 1;
        } else if (ch < 32 || ch > 126) {
            return 0;                   /* controls, DEL, NUL: unterminated */
        }
    }
    return cp + 1;
}

/* Skip a dot-string: atoms of atext (or UTF-8) separated by single dots. */
static const char *
smtp_addr_skip_dot_string(const char *cp, int *utf8)
{
    const char *atom;
    size_t  n;

    for (;;) {
        for (atom = cp; /* void */ ; cp++) {
            if (smtp_addr_is_atext((unsigned char) *cp))
                continue;
            if ((unsigned char) *cp < 0x80 || (n = smtp_addr_utf8_len(cp)) == 0)
                break;
            cp += n - 1;
            *utf8 = 1;
        }
        if (cp == atom)
            return 0;
        if (*cp != '.')
            return cp;
        cp++;
    }
}

/* Copy a local part into out->local without quotes and backslashes. */
static void
smtp_addr_unquote(const char *cp, const char *end, char *out)
{
    if (*cp != '"') {
        memcpy(out, cp, end - cp);
        out += end - cp;
    } else {
        for (cp++, end--; cp < end; cp++) {
            if (*cp == '\\')
                cp++;
            *out++ = *cp;
        }
    }
    *out = 0;
}

/* Copy len bytes into a field as a string. */
static void
smtp_addr_copy(char *dst, const char *src, size_t len)
{
    memcpy(dst, src, len);
    dst[len] = 0;
}

/* Parse the path after '<' up to and including '>'; *cpp is moved past it. */
static int
smtp_addr_parse_path(const char **cpp, const SMTP_ADDR_CMD *cmd,
                     SMTP_PATH *out, SMTP_ADDR_ERR *err)
{
    const char *start = *cpp;
    const char *cp = start;
    const char *mailbox, *local_end, *domain = 0;
    size_t  span, i;
    int     utf8 = 0;

    /* Null path: MAIL FROM:<>, never a recipient. */
    if (*cp == '>') {
        if (cmd->is_rcpt)
            return smtp_addr_err(err, 501, cmd->status, cmd->bad);
        out->flags |= SMTP_ADDR_FLAG_NULL;
        *cpp = cp + 1;
        return 0;
    }

    /* Source route "@a,@b:", ASCII domains only; checked, then dropped. */
    if (*cp == '@') {
        for (;;) {
            cp++;
            span = strcspn(cp, ",:>");
            if (!smtp_addr_check_domain(cp, span, 0, 0))
                return smtp_addr_err(err, 501, cmd->status, cmd->bad);
            cp += span;
            if (*cp == ',' && cp[1] == '@') {
                cp++;
                continue;
            }
            if (*cp++ != ':')
                return smtp_addr_err(err, 501, cmd->status, cmd->bad);
            break;
        }
        out->flags |= SMTP_ADDR_FLAG_ROUTE;
    }

    /* Local part. */
    mailbox = cp;
    if (*cp == '"') {
        out->flags |= SMTP_ADDR_FLAG_QUOTED;
        cp = smtp_addr_skip_quoted(cp, &utf8);
    } else {
        cp = smtp_addr_skip_dot_string(cp, &utf8);
    }
    if (cp == 0)
        return smtp_addr_err(err, 501, cmd->status, cmd->bad);
    local_end = cp;

    /* Domain, or RCPT TO:<Postmaster> which needs none (RFC 5321 4.1.1.3). */
    if (*cp == '@') {
        domain = ++cp;
        if (*cp == '[') {
            span = strcspn(cp, "]");
            if (cp[span] == ']')
                span++;
            if (!smtp_addr_check_literal(cp, span))
                return smtp_addr_err(err, 501, cmd->status, cmd->bad);
            out->flags |= SMTP_ADDR_FLAG_LITERAL;
        } else {
            span = strcspn(cp, ">");
            if (!smtp_addr_check_domain(cp, span, 1, &utf8))
                return smtp_addr_err(err, 501, cmd->status, cmd->bad);
        }
        cp += span;
    } else if (!(cmd->is_rcpt && cp - mailbox == 10 && mailbox == start
                 && strncasecmp(mailbox, "postmaster", 10) == 0)) {
        return smtp_addr_err(err, 501, cmd->status, cmd->bad);
    }
    if (*cp != '>')
        return smtp_addr_err(err, 501, cmd->status, cmd->bad);

    /* RFC 5321 4.5.3.1; "501 Path too long" is the RFC's own example. */
    if (local_end - mailbox > SMTP_ADDR_LOCAL_MAX)
        return smtp_addr_err(err, 501, cmd->status, "Local part too long");
    if (domain && cp - domain > SMTP_ADDR_DOMAIN_MAX)
        return smtp_addr_err(err, 501, cmd->status, "Domain name too long");
    if (cp - start + 2 > SMTP_ADDR_PATH_MAX)
        return smtp_addr_err(err, 501, cmd->status, "Path too long");

    smtp_addr_copy(out->raw, start, cp - start);
    smtp_addr_copy(out->mailbox, mailbox, cp - mailbox);
    smtp_addr_unquote(mailbox, local_end, out->local);
    /* An empty local part would read as an "@domain" catch-all. */
    if (out->local[0] == 0)
        return smtp_addr_err(err, 501, cmd->status, cmd->bad);
    /* The unquoted form is never longer than the path we checked. */
    span = strlen(out->local);
    memcpy(out->addr, out->local, span);
    out->addr[span] = 0;
    if (domain) {
        smtp_addr_copy(out->domain, domain, cp - domain);
        for (i = 0; out->domain[i]; i++)
            out->domain_lc[i] = (out->domain[i] >= 'A' && out->domain[i] <= 'Z')
                ? out->domain[i] - 'A' + 'a' : out->domain[i];
        out->domain_lc[i] = 0;
        out->addr[span] = '@';
        smtp_addr_copy(out->addr + span + 1, domain, cp - domain);
    } else {
        out->flags |= SMTP_ADDR_FLAG_POSTMASTER;
    }
    if (strchr(out->local, '%'))
        out->flags |= SMTP_ADDR_FLAG_PERCENT;
    if (strchr(out->local, '!'))
        out->flags |= SMTP_ADDR_FLAG_BANG;
    if (utf8)
        out->flags |= SMTP_ADDR_FLAG_UTF8;
    *cpp = cp + 1;
    return 0;
}

/* SIZE=1*20DIGIT (RFC 1870); a value beyond 64 bits is kept as UINT64_MAX,
 * which any size limit refuses with the usual 552. */
static int
smtp_addr_parse_size(const char *val, size_t len, uint64_t *size)
{
    uint64_t v = 0;
    size_t  i;

    if (len == 0 || len > 20)
        return -1;
    for (i = 0; i < len; i++) {
        unsigned d = (unsigned char) val[i] - '0';

        if (d > 9)
            return -1;
        v = (v > (UINT64_MAX - d) / 10) ? UINT64_MAX : v * 10 + d;
    }
    *size = v;
    return 0;
}

/* xtext (RFC 3461 4): '!'..'~' except '+' and '=', or '+' and two
 * upper-case hex digits. */
static int
smtp_addr_is_xdigit(int ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'F');
}

static int
smtp_addr_valid_xtext(const char *val, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (val[i] == '+') {
            if (len - i < 3 || !smtp_addr_is_xdigit(val[i + 1])
                || !smtp_addr_is_xdigit(val[i + 2]))
                return 0;
            i += 2;
        } else if (val[i] < '!' || val[i] > '~' || val[i] == '=') {
            return 0;
        }
    }
    return 1;
}

/* esmtp-param = esmtp-keyword ["=" esmtp-value] (RFC 5321 4.1.2, with
 * UTF-8 values per RFC 6531); returns the keyword length, or 0. */
static size_t
smtp_addr_param_syntax(const char *p, size_t len)
{
    size_t  kw, i, n;

    for (kw = 0; kw < len && p[kw] != '='; kw++)
        if (!smtp_addr_is_alnum((unsigned char) p[kw])
            && (kw == 0 || p[kw] != '-'))
            return 0;
    if (kw == 0 || kw + 1 == len)
        return 0;
    for (i = kw + 1; i < len; i += n) {
        unsigned char ch = (unsigned char) p[i];

        n = 1;
        if (ch >= 0x80) {
            if ((n = smtp_addr_utf8_len(p + i)) == 0 || n > len - i)
                return 0;
        } else if (ch < 33 || ch > 126 || ch == '=') {
            return 0;
        }
    }
    return kw;
}

/* Note that a parameter was seen; a second one is a 501. */
static int
smtp_addr_once(SMTP_PATH *out, int param, const char *p, size_t kw,
               SMTP_ADDR_ERR *err)
{
    if (out->params & param)
        return smtp_addr_err_opt(err, 501, "Duplicate option: ", p, kw);
    out->params |= param;
    return 0;
}

/* One MAIL parameter of len bytes, whose keyword is kw bytes long. */
static int
smtp_addr_mail_param(const char *p, size_t len, size_t kw, SMTP_PATH *out,
                     SMTP_ADDR_ERR *err)
{
    const char *val = kw < len ? p + kw + 1 : 0;
    size_t  vlen = val ? len - kw - 1 : 0;

    if (SMTP_ADDR_IS("SIZE")) {
        if (smtp_addr_once(out, SMTP_ADDR_PARAM_SIZE, p, kw, err) < 0)
            return -1;
        if (!val || smtp_addr_parse_size(val, vlen, &out->size) < 0)
            return smtp_addr_err(err, 501, "5.5.4", "Bad SIZE parameter syntax");
    } else if (SMTP_ADDR_IS("BODY") && val) {
        if (smtp_addr_once(out, SMTP_ADDR_PARAM_BODY, p, kw, err) < 0)
            return -1;
        if (vlen == 4 && strncasecmp(val, "7BIT", 4) == 0)
            out->body = SMTP_ADDR_BODY_7BIT;
        else if (vlen == 8 && strncasecmp(val, "8BITMIME", 8) == 0)
            out->body = SMTP_ADDR_BODY_8BITMIME;
        else
            return smtp_addr_err_opt(err, 555, "Unsupported option: ", p, len);
    } else if (SMTP_ADDR_IS("SMTPUTF8") && !val) {
        if (smtp_addr_once(out, SMTP_ADDR_PARAM_SMTPUTF8, p, kw, err) < 0)
            return -1;
    } else if (SMTP_ADDR_IS("AUTH")) {
        if (smtp_addr_once(out, SMTP_ADDR_PARAM_AUTH, p, kw, err) < 0)
            return -1;
        if (!val || vlen > SMTP_ADDR_AUTH_MAX || !smtp_addr_valid_xtext(val, vlen))
            return smtp_addr_err(err, 501, "5.5.4", "Bad AUTH parameter syntax");
        smtp_addr_copy(out->auth, val, vlen);
    } else {
        /* RET, ENVID: DSN is not offered. */
        return smtp_addr_err_opt(err, 555, "Unsupported option: ", p, len);
    }
    return 0;
}

/* The parameters after the path: separated by one or more spaces. */
static int
smtp_addr_parse_params(const char *cp, const SMTP_ADDR_CMD *cmd, int opts,
                       SMTP_PATH *out, SMTP_ADDR_ERR *err)
{
    size_t  len, kw;

    for (;;) {
        while (*cp == ' ')
            cp++;
        if (*cp == 0)
            return 0;
        len = strcspn(cp, " ");
        kw = smtp_addr_param_syntax(cp, len);
        /* RCPT has none yet (NOTIFY, ORCPT: no DSN); HELO allows none. */
        if (kw == 0 || cmd->is_rcpt || (opts & SMTP_ADDR_OPT_HELO))
            return smtp_addr_err_opt(err, 555, "Unsupported option: ", cp, len);
        if (smtp_addr_mail_param(cp, len, kw, out, err) < 0)
            return -1;
        cp += len;
    }
}

/* Common part: "VERB:" then optional spaces, "<path>", then parameters. */
static int
smtp_addr_parse(const char *arg, const char *verb, const SMTP_ADDR_CMD *cmd,
                int opts, SMTP_PATH *out, SMTP_ADDR_ERR *err)
{
    const char *cp = arg;
    size_t  vlen = strlen(verb);

    memset(out, 0, sizeof(*out));
    while (*cp == ' ')
        cp++;
    if (strncasecmp(cp, verb, vlen) != 0)
        return smtp_addr_err(err, 501, "5.5.4", cmd->usage);
    cp += vlen;
    while (*cp == ' ')
        cp++;
    if (*cp++ != '<')
        return smtp_addr_err(err, 501, "5.5.4", cmd->usage);
    if (smtp_addr_parse_path(&cp, cmd, out, err) < 0)
        return -1;
    if (*cp != 0 && *cp != ' ')
        return smtp_addr_err(err, 501, "5.5.4", cmd->usage);
    if (smtp_addr_parse_params(cp, cmd, opts, out, err) < 0)
        return -1;
    /* RFC 6531 3.5: 553 and X.6.7 for non-ASCII without SMTPUTF8. */
    if ((out->flags & SMTP_ADDR_FLAG_UTF8)
        && !(out->params & SMTP_ADDR_PARAM_SMTPUTF8)
        && !(cmd->is_rcpt && (opts & SMTP_ADDR_OPT_SMTPUTF8)))
        return smtp_addr_err(err, 553, "5.6.7", cmd->utf8);
    return 0;
}

int
smtp_addr_parse_mail(const char *arg, int opts, SMTP_PATH *out,
                     SMTP_ADDR_ERR *err)
{
    return smtp_addr_parse(arg, "FROM:", &smtp_addr_mail, opts, out, err);
}

int
smtp_addr_parse_rcpt(const char *arg, int opts, SMTP_PATH *out,
                     SMTP_ADDR_ERR *err)
{
    return smtp_addr_parse(arg, "TO:", &smtp_addr_rcpt, opts, out, err);
}
