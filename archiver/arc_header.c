/* Finding a header field in a message; see arc_header.h. */
#include <string.h>
#include <strings.h>

#include "arc_header.h"

int
arc_header_field(const char *msg, size_t len, const char *name, VBUF *value)
{
    const char *cp = msg, *end = msg + (len < ARC_HEADER_MAX ? len : ARC_HEADER_MAX);
    const char *line, *eol, *next;
    size_t  name_len = strlen(name), n;
    int     in_field = 0, found = 0;

    vbuf_reset(value);
    for (line = cp; line < end; line = next) {
        eol = memchr(line, '\n', (size_t) (end - line));
        next = eol ? eol + 1 : end;
        if (eol == NULL)
            eol = end;
        n = (size_t) (eol - line);
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (n == 0)                     /* the end of the header */
            break;
        if (line[0] == ' ' || line[0] == '\t') {
            if (in_field)
                vbuf_append(value, line, n);
            continue;
        }
        if (found)
            break;
        in_field = n > name_len && line[name_len] == ':'
            && strncasecmp(line, name, name_len) == 0;
        if (in_field) {
            found = 1;
            vbuf_append(value, line + name_len + 1, n - name_len - 1);
        }
    }
    /* Trim. */
    n = 0;
    while (n < vbuf_len(value) && (vbuf_str(value)[n] == ' ' || vbuf_str(value)[n] == '\t'))
        n++;
    vbuf_consume(value, n);
    while (vbuf_len(value) > 0 && (vbuf_str(value)[vbuf_len(value) - 1] == ' '
                                   || vbuf_str(value)[vbuf_len(value) - 1] == '\t'))
        vbuf_truncate(value, vbuf_len(value) - 1);
    return found;
}
