/* Growable byte buffers, always NUL-terminated, for anything whose length
 * comes from input. */
#ifndef ALLIGATE_VBUF_H
#define ALLIGATE_VBUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct VBUF {
    char *data;                 /* always NUL-terminated */
    size_t len;                 /* bytes in use, excluding the NUL */
    size_t cap;                 /* bytes allocated */
} VBUF;

VBUF *vbuf_create(size_t initial);
VBUF *vbuf_free(VBUF *vb);
void vbuf_reset(VBUF *vb);
void vbuf_reserve(VBUF *vb, size_t extra);
void vbuf_append(VBUF *vb, const void *data, size_t len);
void vbuf_append_str(VBUF *vb, const char *str);
void vbuf_append_char(VBUF *vb, int ch);
void vbuf_printf(VBUF *vb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void vbuf_vprintf(VBUF *vb, const char *fmt, va_list ap);
void vbuf_set(VBUF *vb, const char *str);
void vbuf_truncate(VBUF *vb, size_t len);
/* Removes the first n bytes. */
void vbuf_consume(VBUF *vb, size_t n);

#define vbuf_str(vb)    ((vb)->data)
#define vbuf_len(vb)    ((vb)->len)

#endif
