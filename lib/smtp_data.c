/* The DATA phase scanner.
 *
 * A small state machine that remembers only where the previous chunk
 * stopped (at a line start, after a line-start ".", after ".\r", inside a
 * line, or after a CR), so chunk boundaries may fall anywhere. Inside a
 * line it moves a line at a time with memchr(), and hands content to the
 * output function in runs that span many lines; a run is cut only where a
 * stuffed dot is dropped, where a CR is held across chunks, and at the end
 * of each chunk.
 *
 * Only CR LF ends a line and only CR LF "." CR LF ends the data (RFC 5321
 * 4.1.1.4, 2.3.8). A bare CR or LF is never mistaken for part of a line
 * end: it stops the scanner with an error, because another server could
 * read "\n.\n" as the end and see the bytes after it as a new message
 * (SMTP smuggling). A NUL stops it too (RFC 5321 4.5.2 text is 7-bit or
 * 8-bit text, never NUL).
 *
 * When an error stops the scanner, the output holds the content that came
 * before the offending byte (a held CR is never output), and *used counts
 * the bytes up to the one that revealed the error; both are the same
 * however the input was split..
 *
 * BDAT content (raw mode) takes the same path with one difference: a line
 * start never leads to the dot states, so nothing is unstuffed and
 * nothing ends the data but smtp_data_finish(). DATA mode pays for it
 * with one flag test on lines that start with a dot. */
#include <string.h>
#include <strings.h>

#include "smtp_data.h"
#include "vbuf.h"

#define SMTP_DATA_ST_BOL    0       /* at the start of a line */
#define SMTP_DATA_ST_DOT    1       /* after a line-start "." */
#define SMTP_DATA_ST_DOT_CR 2       /* after a line-start ".\r" */
#define SMTP_DATA_ST_TEXT   3       /* inside a line */
#define SMTP_DATA_ST_CR     4       /* after a CR that ended a chunk */
#define SMTP_DATA_ST_DONE   5       /* end or error: see status */

void
smtp_data_init(SMTP_DATA *sd, SMTP_DATA_OUT_FN out, void *context)
{
    memset(sd, 0, sizeof(*sd));
    /* The DATA command's own CR LF precedes the first line. */
    sd->state = SMTP_DATA_ST_BOL;
    sd->status = SMTP_DATA_MORE;
    sd->flags = SMTP_DATA_FLAG_HEADER;
    sd->out = out;
    sd->context = context;
}

void
smtp_data_init_raw(SMTP_DATA *sd, SMTP_DATA_OUT_FN out, void *context)
{
    smtp_data_init(sd, out, context);
    sd->flags |= SMTP_DATA_FLAG_RAW;
}

void
smtp_data_set_limit(SMTP_DATA *sd, uint64_t limit)
{
    sd->limit = limit;
}

void
smtp_data_discard(SMTP_DATA *sd)
{
    sd->flags |= SMTP_DATA_FLAG_DISCARD;
}

void
smtp_data_to_vbuf(void *context, const char *data, size_t len)
{
    vbuf_append((VBUF *) context, data, len);
}

const char *
smtp_data_status_text(int status)
{
    switch (status) {
    case SMTP_DATA_MORE:
        return "more data expected";
    case SMTP_DATA_END:
        return "end of data";
    case SMTP_DATA_BARE_LF:
        return "bare <LF> received";
    case SMTP_DATA_BARE_CR:
        return "bare <CR> received";
    case SMTP_DATA_NUL:
        return "NUL byte received";
    default:
        return "unknown status";
    }
}

/* Counts content and passes it on, unless storing has stopped. */
static void
smtp_data_emit(SMTP_DATA *sd, const char *data, size_t len)
{
    if (len == 0)
        return;
    sd->size += len;
    if (sd->limit && sd->size > sd->limit)
        sd->flags |= SMTP_DATA_FLAG_OVER | SMTP_DATA_FLAG_DISCARD;
    if (sd->out && !(sd->flags & SMTP_DATA_FLAG_DISCARD))
        sd->out(sd->context, data, len);
}

/* Notes len content bytes of the current line, keeping the start of a
 * header line to recognise its name. */
static void
smtp_data_line(SMTP_DATA *sd, const char *data, size_t len)
{
    size_t  room = sizeof(sd->hdr) - sd->hdr_len;

    sd->line_len += len;
    if ((sd->flags & SMTP_DATA_FLAG_HEADER) && room > 0) {
        if (len > room)
            len = room;
        memcpy(sd->hdr + sd->hdr_len, data, len);
        sd->hdr_len += len;
    }
}

/* Is the header line "Received:", allowing the obsolete white space
 * before the colon (RFC 5322 4.5)? */
static int
smtp_data_is_received(const SMTP_DATA *sd)
{
    size_t  i = 8;

    if (sd->hdr_len <= i || strncasecmp(sd->hdr, "received", i) != 0)
        return 0;
    while (i < sd->hdr_len && (sd->hdr[i] == ' ' || sd->hdr[i] == '\t'))
        i++;
    return i < sd->hdr_len && sd->hdr[i] == ':';
}

/* At a CR LF: the line is complete. */
static void
smtp_data_eol(SMTP_DATA *sd)
{
    if (sd->line_len > sd->longest_line)
        sd->longest_line = sd->line_len;
    if (sd->flags & SMTP_DATA_FLAG_HEADER) {
        if (sd->line_len == 0)
            sd->flags &= ~SMTP_DATA_FLAG_HEADER;
        else if (smtp_data_is_received(sd))
            sd->received++;
    }
    sd->line_len = 0;
    sd->hdr_len = 0;
}

/* Ends scanning with status; stop points past the last byte used. */
static int
smtp_data_stop(SMTP_DATA *sd, int status, const char *buf,
               const char *stop, size_t *used)
{
    sd->state = SMTP_DATA_ST_DONE;
    sd->status = status;
    *used = stop - buf;
    return status;
}

int
smtp_data_feed(SMTP_DATA *sd, const char *buf, size_t len, size_t *used)
{
    const char *p = buf;
    const char *end = buf + len;
    const char *run = buf;              /* first byte not yet output */
    const char *lim;                    /* first NUL, or end */
    const char *nl, *cr;

    *used = 0;
    if (sd->state == SMTP_DATA_ST_DONE || len == 0)
        return sd->status;
    if ((lim = memchr(buf, 0, len)) == 0)
        lim = end;

    while (p < end) {
        switch (sd->state) {
        case SMTP_DATA_ST_BOL:
            if (*p != '.' || (sd->flags & SMTP_DATA_FLAG_RAW)) {
                sd->state = SMTP_DATA_ST_TEXT;
                break;
            }
            /* The dot is the end marker or stuffing: dropped either way. */
            smtp_data_emit(sd, run, p - run);
            run = ++p;
            sd->state = SMTP_DATA_ST_DOT;
            break;

        case SMTP_DATA_ST_DOT:
            if (*p != '\r') {
                sd->state = SMTP_DATA_ST_TEXT;
                break;
            }
            run = ++p;
            sd->state = SMTP_DATA_ST_DOT_CR;
            break;

        case SMTP_DATA_ST_DOT_CR:
            if (*p++ != '\n')
                return smtp_data_stop(sd, SMTP_DATA_BARE_CR, buf, p, used);
            return smtp_data_stop(sd, SMTP_DATA_END, buf, p, used);

        case SMTP_DATA_ST_CR:
            if (*p != '\n')
                return smtp_data_stop(sd, SMTP_DATA_BARE_CR, buf, p + 1, used);
            smtp_data_emit(sd, "\r", 1);
            run = p++;                  /* the LF starts the next run */
            smtp_data_eol(sd);
            sd->state = SMTP_DATA_ST_BOL;
            break;

        case SMTP_DATA_ST_TEXT:
            /* The only CR allowed in a line is the one just before LF. */
            nl = memchr(p, '\n', lim - p);
            cr = memchr(p, '\r', (nl ? nl : lim) - p);
            if (cr && cr + 1 == nl) {
                smtp_data_line(sd, p, cr - p);
                smtp_data_eol(sd);
                p = nl + 1;
                sd->state = SMTP_DATA_ST_BOL;
            } else if (cr && cr + 1 == end) {
                /* Hold the CR until we see what follows. */
                smtp_data_line(sd, p, cr - p);
                smtp_data_emit(sd, run, cr - run);
                run = p = end;
                sd->state = SMTP_DATA_ST_CR;
            } else if (cr) {
                smtp_data_emit(sd, run, cr - run);
                return smtp_data_stop(sd, SMTP_DATA_BARE_CR, buf, cr + 2, used);
            } else if (nl) {
                smtp_data_emit(sd, run, nl - run);
                return smtp_data_stop(sd, SMTP_DATA_BARE_LF, buf, nl + 1, used);
            } else if (lim < end) {
                smtp_data_emit(sd, run, lim - run);
                return smtp_data_stop(sd, SMTP_DATA_NUL, buf, lim + 1, used);
            } else {
                smtp_data_line(sd, p, end - p);
                p = end;
            }
            break;

        default:
            /* Unreachable: DONE returned above. */
            return sd->status;
        }
    }
    smtp_data_emit(sd, run, p - run);
    *used = len;
    return sd->status = SMTP_DATA_MORE;
}

int
smtp_data_finish(SMTP_DATA *sd)
{
    if (!(sd->flags & SMTP_DATA_FLAG_RAW) || sd->state == SMTP_DATA_ST_DONE)
        return sd->status;
    if (sd->state == SMTP_DATA_ST_CR) {
        sd->status = SMTP_DATA_BARE_CR;
    } else {
        /* RFC 3030 does not promise a final CR LF. */
        if (sd->line_len > 0)
            smtp_data_eol(sd);
        sd->status = SMTP_DATA_END;
    }
    sd->state = SMTP_DATA_ST_DONE;
    return sd->status;
}
