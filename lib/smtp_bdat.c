/* The BDAT command's argument.
 *
 * Strict about the words and lenient about the spaces between them, as
 * smtp_addr is for MAIL and RCPT. A size that does not fit in 64 bits is
 * a syntax error rather than "too big": unlike SIZE=, which only
 * announces, this count says how many bytes follow, and we could not
 * read that many to stay in step with the client anyway. */
#include <stdio.h>
#include <strings.h>

#include "smtp_bdat.h"

static int
smtp_bdat_syntax(SMTP_ADDR_ERR *err)
{
    err->code = 501;
    err->status = "5.5.4";
    snprintf(err->text, sizeof(err->text), "Syntax: BDAT count [LAST]");
    return -1;
}

int
smtp_bdat_parse(const char *arg, uint64_t *size, int *last,
                SMTP_ADDR_ERR *err)
{
    const char *cp = arg;
    uint64_t value = 0;
    int     ndigit = 0;
    int     is_last = 0;

    while (*cp == ' ')
        cp++;
    for (; *cp >= '0' && *cp <= '9'; cp++) {
        unsigned d = (unsigned) (*cp - '0');

        if (++ndigit > SMTP_BDAT_DIGITS_MAX || value > (UINT64_MAX - d) / 10)
            return smtp_bdat_syntax(err);
        value = value * 10 + d;
    }
    if (ndigit == 0 || (*cp != ' ' && *cp != 0))
        return smtp_bdat_syntax(err);
    while (*cp == ' ')
        cp++;
    if (strncasecmp(cp, "LAST", 4) == 0 && (cp[4] == ' ' || cp[4] == 0)) {
        is_last = 1;
        for (cp += 4; *cp == ' '; cp++)
            /* void */ ;
    }
    if (*cp != 0)
        return smtp_bdat_syntax(err);
    *size = value;
    *last = is_last;
    return 0;
}
