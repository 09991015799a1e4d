/* The parser of replies from an SMTP server (RFC 5321 4.2): one or more
 * lines "CODE-text", the last one "CODE text" or "CODE", every line with
 * the same three-digit code. Fed the bytes as they arrive, in pieces of
 * any size; no I/O of its own.
 *
 * Memory is bounded whatever the server sends: a line longer than
 * SMTP_REPLY_LINE_MAX, a reply of more than SMTP_REPLY_LINES_MAX lines or
 * SMTP_REPLY_TEXT_MAX bytes of text ("endless" or "huge") is refused, as is
 * any malformed line. The relay treats every refusal as a temporary
 * failure of the server. */
#ifndef ALLIGATE_SMTP_REPLY_H
#define ALLIGATE_SMTP_REPLY_H

#include <stddef.h>

#include "vbuf.h"

#define SMTP_REPLY_LINE_MAX     2048    /* bytes per line, CR LF excluded */
#define SMTP_REPLY_LINES_MAX    100     /* lines per reply */
#define SMTP_REPLY_TEXT_MAX     16384   /* text bytes per reply */

/* smtp_reply_feed() results. */
#define SMTP_REPLY_MORE         0       /* all input used, reply not done */
#define SMTP_REPLY_DONE         1       /* a complete reply */
#define SMTP_REPLY_MALFORMED    (-1)    /* not an SMTP reply */
#define SMTP_REPLY_TOO_LONG     (-2)    /* a line, or the reply, too long */

typedef struct SMTP_REPLY {
    int     code;               /* 200..599 once done */
    char    dsn[16];            /* enhanced status code "5.1.1", or "" */
    int     lines;              /* lines so far */
    VBUF   *text;               /* each line's text after the code and
                                 * separator, lines joined by LF */
    int     status;             /* last smtp_reply_feed() result */
    /* Private. */
    size_t  line_len;
    char    line[SMTP_REPLY_LINE_MAX + 1];
    int     cr;                 /* the line so far ends in CR */
} SMTP_REPLY;

SMTP_REPLY *smtp_reply_create(void);
SMTP_REPLY *smtp_reply_free(SMTP_REPLY *reply);
/* Prepares for the next reply. */
void    smtp_reply_reset(SMTP_REPLY *reply);

/* Parses len bytes; *used says how many belong to this reply: all of them
 * with SMTP_REPLY_MORE, up to and including the final line's LF with
 * SMTP_REPLY_DONE (the rest are the next replies), up to the byte that
 * showed the error otherwise. A line ends with LF, CR LF or not. After
 * the end or an error, further calls consume nothing and return the same
 * result until smtp_reply_reset(). */
int     smtp_reply_feed(SMTP_REPLY *reply, const char *buf, size_t len,
                        size_t *used);

/* The reply on one printable line for logs and bounces: "550 5.1.1 text
 * of the first line text of the next..." (the code once, lines joined by
 * a space, non-printable bytes as '?'), at most max bytes (with "..."
 * when cut). Appends to out. */
void    smtp_reply_format(const SMTP_REPLY *reply, VBUF *out, size_t max);

/* "why" for a refused reply: "malformed reply", "reply line too long"... */
const char *smtp_reply_status_text(int status);

#endif
