/* Fuzz target for the HELO/EHLO name check of deny_invalid_helo
 * (smtp_addr_valid_helo): no crash, and agreement with a plain reading of
 * the rule written here a second way (split at dots, look at each label),
 * with the host name check it is built on, and with the trailing dot. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_addr.h"

/* The rule, as the manual states it, without the library's code. */
static int
fuzz_helo_oracle(const char *s)
{
    size_t  len = strlen(s), i, label = 0, nlabel = 0;
    int     digits = 1;

    if (len > 0 && s[0] == '[')
        return smtp_addr_valid_literal(s);
    if (len > 0 && s[len - 1] == '.')
        len--;
    if (len == 0 || len > 253)
        return 0;
    for (i = 0; i <= len; i++) {
        char    ch = i < len ? s[i] : '.';

        if (ch == '.') {
            if (label == 0 || label > 63 || s[i - label] == '-'
                || s[i - 1] == '-')
                return 0;
            nlabel++;
            if (i < len)
                digits = 1;
            label = 0;
            continue;
        }
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
              || (ch >= '0' && ch <= '9') || ch == '-'))
            return 0;
        if (ch < '0' || ch > '9')
            digits = 0;
        label++;
    }
    return nlabel >= 2 && !digits;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char   *s = malloc(size + 2);
    size_t  len, i;
    int     ok;

    memcpy(s, data, size);
    s[size] = 0;
    len = strlen(s);
    ok = smtp_addr_valid_helo(s);
    if (ok != 0 && ok != 1)
        abort();
    if (ok != fuzz_helo_oracle(s))
        abort();
    if (ok) {
        /* What may reach a log line or a Received: header. */
        if (len > SMTP_ADDR_HOST_MAX + 1)
            abort();
        if (s[0] == '[') {
            if (s[len - 1] != ']' || !smtp_addr_valid_literal(s))
                abort();
        } else {
            for (i = 0; i < len; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
                      || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'
                      || s[i] == '.'))
                    abort();
            if (s[0] == '.' || strstr(s, "..") || !strchr(s, '.'))
                abort();
        }
    }
    if (len > 0 && s[0] != '[') {
        /* Without a trailing dot, the host name check with a dot wanted. */
        if (s[len - 1] != '.' && ok != smtp_addr_valid_hostname(s, 1))
            abort();
        /* With one added, the same answer; with a second, refused. */
        if (s[len - 1] != '.') {
            s[len] = '.';
            s[len + 1] = 0;
            if (smtp_addr_valid_helo(s) != ok)
                abort();
        } else if (ok) {
            s[len] = '.';
            s[len + 1] = 0;
            if (smtp_addr_valid_helo(s))
                abort();
        }
    }
    free(s);
    return 0;
}
