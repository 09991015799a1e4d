/* Fuzz target for MAIL FROM:/RCPT TO: parsing and the host name checks:
 * no crash, refusals with a known code and printable text, and an
 * accepted mailbox that parses again to the same address. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_addr.h"

static void
fuzz_check_err(const SMTP_ADDR_ERR *err)
{
    const char *cp;

    if (err->code != 501 && err->code != 553 && err->code != 555)
        abort();
    if (err->status == 0 || err->text[0] == 0)
        abort();
    for (cp = err->text; *cp; cp++)
        if (*cp < 32 || *cp > 126)
            abort();
}

static void
fuzz_check_path(const SMTP_PATH *p, int is_rcpt)
{
    char    again[2 * SMTP_ADDR_PATH_MAX];
    SMTP_PATH p2;
    SMTP_ADDR_ERR err;
    const char *cp;
    int     rc;

    if (strlen(p->raw) + 2 > SMTP_ADDR_PATH_MAX
        || strlen(p->local) > SMTP_ADDR_LOCAL_MAX
        || strlen(p->domain) != strlen(p->domain_lc))
        abort();
    for (cp = p->addr; *cp; cp++)
        if ((unsigned char) *cp < 32 || *cp == 127)
            abort();
    for (cp = p->domain_lc; *cp; cp++)
        if (*cp >= 'A' && *cp <= 'Z')
            abort();
    if (p->flags & SMTP_ADDR_FLAG_NULL)
        return;
    /* The mailbox without its route parses to the same address. */
    snprintf(again, sizeof(again), "%s<%s> SMTPUTF8",
             is_rcpt ? "TO:" : "FROM:", p->mailbox);
    if (is_rcpt) {
        *strrchr(again, ' ') = 0;
        rc = smtp_addr_parse_rcpt(again, SMTP_ADDR_OPT_SMTPUTF8, &p2, &err);
    } else {
        rc = smtp_addr_parse_mail(again, 0, &p2, &err);
    }
    if (rc != 0 || strcmp(p2.addr, p->addr) != 0
        || (p2.flags & SMTP_ADDR_FLAG_ROUTE))
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int opts[] = {0, SMTP_ADDR_OPT_HELO, SMTP_ADDR_OPT_SMTPUTF8};
    char   *s = malloc(size + 1);
    SMTP_PATH path;
    SMTP_ADDR_ERR err;
    size_t  i;

    memcpy(s, data, size);
    s[size] = 0;
    for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        if (smtp_addr_parse_mail(s, opts[i], &path, &err) == 0)
            fuzz_check_path(&path, 0);
        else
            fuzz_check_err(&err);
        if (smtp_addr_parse_rcpt(s, opts[i], &path, &err) == 0)
            fuzz_check_path(&path, 1);
        else
            fuzz_check_err(&err);
    }
    (void) smtp_addr_valid_hostname(s, 0);
    (void) smtp_addr_valid_hostname(s, 1);
    (void) smtp_addr_valid_literal(s);
    free(s);
    return 0;
}
