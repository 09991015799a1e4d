/* The SMTP reply parser. It keeps the current line in a fixed buffer and
 * the text of the finished lines in a VBUF that never grows past
 * SMTP_REPLY_TEXT_MAX, so a server can make it use no more than a few
 * kilobytes, and checks each line as soon as it ends. Replies are short,
 * so it goes a byte at a time: the result cannot depend on where the
 * input was split. */
#include <string.h>

#include "mymalloc.h"
#include "smtp_reply.h"
#include "vbuf.h"

SMTP_REPLY *
smtp_reply_create(void)
{
    SMTP_REPLY *reply = mycalloc(1, sizeof(*reply));

    reply->text = vbuf_create(128);
    smtp_reply_reset(reply);
    return reply;
}

SMTP_REPLY *
smtp_reply_free(SMTP_REPLY *reply)
{
    if (reply) {
        vbuf_free(reply->text);
        myfree(reply);
    }
    return NULL;
}

void
smtp_reply_reset(SMTP_REPLY *reply)
{
    reply->code = 0;
    reply->dsn[0] = 0;
    reply->lines = 0;
    reply->status = SMTP_REPLY_MORE;
    reply->line_len = 0;
    reply->cr = 0;
    vbuf_reset(reply->text);
}

static int
smtp_reply_digit(int ch, int lo, int hi)
{
    return ch >= lo && ch <= hi;
}

/* An enhanced status code (RFC 3463) of the reply's class at the start of
 * text: class "." 1-3 digits "." 1-3 digits, then a space or the end. */
static void
smtp_reply_find_dsn(SMTP_REPLY *reply, const char *text, size_t len)
{
    size_t i = 0, n;
    int part;

    if (len < 5 || text[0] != '0' + reply->code / 100 || text[1] != '.')
        return;
    i = 2;
    for (part = 0; part < 2; part++) {
        for (n = 0; i < len && n < 4 && smtp_reply_digit(text[i], '0', '9'); n++)
            i++;
        if (n == 0 || n > 3)
            return;
        if (part == 0) {
            if (i >= len || text[i] != '.')
                return;
            i++;
        }
    }
    if (i < len && text[i] != ' ')
        return;
    memcpy(reply->dsn, text, i);
    reply->dsn[i] = 0;
}

/* Checks and stores one complete line (without its line end). */
static int
smtp_reply_line(SMTP_REPLY *reply)
{
    const char *line = reply->line;
    size_t len = reply->line_len;
    int code, last;

    if (len < 3 || !smtp_reply_digit(line[0], '2', '5')
        || !smtp_reply_digit(line[1], '0', '5')
        || !smtp_reply_digit(line[2], '0', '9')
        || (len > 3 && line[3] != ' ' && line[3] != '-'))
        return SMTP_REPLY_MALFORMED;
    if (memchr(line, 0, len) != NULL)
        return SMTP_REPLY_MALFORMED;
    code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (reply->lines > 0 && code != reply->code)
        return SMTP_REPLY_MALFORMED;
    reply->code = code;
    last = len == 3 || line[3] == ' ';
    if (++reply->lines > SMTP_REPLY_LINES_MAX)
        return SMTP_REPLY_TOO_LONG;
    len = len > 4 ? len - 4 : 0;
    if (vbuf_len(reply->text) + len + 1 > SMTP_REPLY_TEXT_MAX)
        return SMTP_REPLY_TOO_LONG;
    if (reply->lines > 1)
        vbuf_append_char(reply->text, '\n');
    else
        smtp_reply_find_dsn(reply, line + 4, len);
    vbuf_append(reply->text, line + 4, len);
    return last ? SMTP_REPLY_DONE : SMTP_REPLY_MORE;
}

int
smtp_reply_feed(SMTP_REPLY *reply, const char *buf, size_t len, size_t *used)
{
    size_t i;
    int status, ch;

    *used = 0;
    if (reply->status != SMTP_REPLY_MORE)
        return reply->status;
    for (i = 0; i < len; i++) {
        ch = (unsigned char) buf[i];
        if (ch == '\n') {
            status = smtp_reply_line(reply);
            reply->line_len = 0;
            reply->cr = 0;
            if (status != SMTP_REPLY_MORE) {
                *used = i + 1;
                return reply->status = status;
            }
            continue;
        }
        /* A CR is part of the line unless LF follows it. */
        if (reply->cr) {
            if (reply->line_len >= SMTP_REPLY_LINE_MAX)
                break;
            reply->line[reply->line_len++] = '\r';
            reply->cr = 0;
        }
        if (ch == '\r') {
            reply->cr = 1;
            continue;
        }
        if (reply->line_len >= SMTP_REPLY_LINE_MAX)
            break;
        reply->line[reply->line_len++] = (char) ch;
    }
    if (i < len) {
        *used = i + 1;
        return reply->status = SMTP_REPLY_TOO_LONG;
    }
    *used = len;
    return SMTP_REPLY_MORE;
}

void
smtp_reply_format(const SMTP_REPLY *reply, VBUF *out, size_t max)
{
    const char *text = vbuf_str(reply->text);
    size_t dl = strlen(reply->dsn), start = vbuf_len(out), i;
    int ch;

    vbuf_printf(out, "%03d", reply->code);
    if (vbuf_len(reply->text) > 0)
        vbuf_append_char(out, ' ');
    for (i = 0; i < vbuf_len(reply->text); i++) {
        ch = (unsigned char) text[i];
        if (ch != '\n') {
            vbuf_append_char(out, ch >= 0x20 && ch < 0x7f ? ch : '?');
            continue;
        }
        /* A continuation line that repeats the enhanced code: once is
         * enough. */
        vbuf_append_char(out, ' ');
        if (dl > 0 && strncmp(text + i + 1, reply->dsn, dl) == 0
            && (text[i + 1 + dl] == ' ' || text[i + 1 + dl] == '\n'
                || text[i + 1 + dl] == 0))
            i += dl + (text[i + 1 + dl] == ' ');
    }
    if (vbuf_len(out) - start > max) {
        vbuf_truncate(out, start + (max > 3 ? max - 3 : 0));
        vbuf_append_str(out, "...");
    }
}

const char *
smtp_reply_status_text(int status)
{
    switch (status) {
    case SMTP_REPLY_MALFORMED:
        return "malformed reply";
    case SMTP_REPLY_TOO_LONG:
        return "reply too long";
    case SMTP_REPLY_DONE:
        return "complete reply";
    default:
        return "incomplete reply";
    }
}
