/* Growable byte buffers. */
#include <stdio.h>
#include <string.h>

#include "mymalloc.h"
#include "msg.h"
#include "vbuf.h"

VBUF *
vbuf_create(size_t initial)
{
    VBUF *vb = mymalloc(sizeof(*vb));

    vb->cap = initial < 16 ? 16 : initial;
    vb->data = mymalloc(vb->cap);
    vb->data[0] = 0;
    vb->len = 0;
    return vb;
}

VBUF *
vbuf_free(VBUF *vb)
{
    if (vb) {
        myfree(vb->data);
        myfree(vb);
    }
    return NULL;
}

void
vbuf_reset(VBUF *vb)
{
    vb->len = 0;
    vb->data[0] = 0;
}

void
vbuf_reserve(VBUF *vb, size_t extra)
{
    size_t need;

    if (extra > ((size_t) -1) / 2 - vb->len)
        msg_panic("vbuf_reserve: length overflow");
    need = vb->len + extra + 1;
    if (need <= vb->cap)
        return;
    while (vb->cap < need)
        vb->cap *= 2;
    vb->data = myrealloc(vb->data, vb->cap);
}

void
vbuf_append(VBUF *vb, const void *data, size_t len)
{
    vbuf_reserve(vb, len);
    memcpy(vb->data + vb->len, data, len);
    vb->len += len;
    vb->data[vb->len] = 0;
}

void
vbuf_append_str(VBUF *vb, const char *str)
{
    vbuf_append(vb, str, strlen(str));
}

void
vbuf_append_char(VBUF *vb, int ch)
{
    vbuf_reserve(vb, 1);
    vb->data[vb->len++] = (char) ch;
    vb->data[vb->len] = 0;
}

void
vbuf_vprintf(VBUF *vb, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(vb->data + vb->len, vb->cap - vb->len, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        msg_panic("vbuf_vprintf: bad format \"%s\"", fmt);
    if ((size_t) n >= vb->cap - vb->len) {
        vbuf_reserve(vb, (size_t) n);
        vsnprintf(vb->data + vb->len, vb->cap - vb->len, fmt, ap);
    }
    vb->len += (size_t) n;
}

void
vbuf_printf(VBUF *vb, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vbuf_vprintf(vb, fmt, ap);
    va_end(ap);
}

void
vbuf_set(VBUF *vb, const char *str)
{
    vbuf_reset(vb);
    vbuf_append_str(vb, str);
}

void
vbuf_truncate(VBUF *vb, size_t len)
{
    if (len < vb->len) {
        vb->len = len;
        vb->data[len] = 0;
    }
}

void
vbuf_consume(VBUF *vb, size_t n)
{
    if (n >= vb->len) {
        vbuf_reset(vb);
        return;
    }
    memmove(vb->data, vb->data + n, vb->len - n);
    vb->len -= n;
    vb->data[vb->len] = 0;
}
