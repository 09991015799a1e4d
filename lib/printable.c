/* Client-supplied text made printable before it is logged or shown. */
#include <string.h>

#include "printable.h"
#include "vbuf.h"

void
printable_append(VBUF *out, const char *text, size_t len)
{
    size_t i;

    vbuf_reserve(out, len);
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char) text[i];

        vbuf_append_char(out, (ch >= 0x20 && ch < 0x7f) ? ch : '?');
    }
}

const char *
printable_vbuf(VBUF *buf, const char *text)
{
    vbuf_reset(buf);
    printable_append(buf, text, strlen(text));
    return vbuf_str(buf);
}

const char *
printable_str(const char *text)
{
    static VBUF *buf;

    if (buf == NULL)
        buf = vbuf_create(256);
    return printable_vbuf(buf, text);
}
