/* The message as the backend must see it after DATA: every line ended by
 * CR LF, a dot doubled at the start of a line (RFC 5321 4.5.2), and no
 * line longer than RELAY_BODY_LINE_MAX octets: a longer one is broken by
 * inserting CR LF SPACE, which keeps a header a header and does the least
 * damage to MIME bodies (Postfix's smtp_line_length_limit does the same).
 * Fed the queue file's bytes in pieces of any size; the state carries a
 * line's length and a CR across pieces. */
#include "relay.h"

void
relay_body_init(RELAY_BODY *body)
{
    body->col = 0;
    body->cr = 0;
}

/* Ends the line being written. */
static void
relay_body_eol(RELAY_BODY *body, VBUF *out)
{
    vbuf_append(out, "\r\n", 2);
    body->col = 0;
}

void
relay_body_encode(RELAY_BODY *body, const char *buf, size_t len, VBUF *out)
{
    const char *end = buf + len;
    const char *run;
    size_t room;

    while (buf < end) {
        if (*buf == '\n') {
            body->cr = 0;
            relay_body_eol(body, out);
            buf++;
            continue;
        }
        /* A CR not followed by LF ends its line all the same. */
        if (body->cr) {
            body->cr = 0;
            relay_body_eol(body, out);
        }
        if (*buf == '\r') {
            body->cr = 1;
            buf++;
            continue;
        }
        if (body->col == 0 && *buf == '.') {
            vbuf_append_char(out, '.');
            body->col++;
        }
        if (body->col >= RELAY_BODY_LINE_MAX) {
            vbuf_append(out, "\r\n ", 3);
            body->col = 1;
        }
        /* Copy the rest of the line, or as much of it as fits, at once. */
        room = RELAY_BODY_LINE_MAX - body->col;
        for (run = buf; run < end && (size_t) (run - buf) < room
             && *run != '\r' && *run != '\n'; run++)
             /* void */ ;
        vbuf_append(out, buf, (size_t) (run - buf));
        body->col += (size_t) (run - buf);
        buf = run;
    }
}

void
relay_body_finish(RELAY_BODY *body, VBUF *out)
{
    if (body->cr || body->col > 0)
        relay_body_eol(body, out);
    body->cr = 0;
    vbuf_append(out, ".\r\n", 3);
}
