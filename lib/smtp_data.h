/* The DATA phase scanner: finds the end of data (CR LF . CR LF), removes
 * dot-stuffing, refuses bare CR, bare LF and NUL (SMTP smuggling), and
 * counts what size and loop limits need. Fed with chunks of any size as
 * they come off the socket; no I/O of its own. Its raw mode scans BDAT
 * content (RFC 3030) the same way, without stuffing or end marker. */
#ifndef ALLIGATE_SMTP_DATA_H
#define ALLIGATE_SMTP_DATA_H

#include <stddef.h>
#include <stdint.h>

/* smtp_data_feed() results. */
#define SMTP_DATA_MORE      0   /* all input consumed, end not yet seen */
#define SMTP_DATA_END       1   /* end of data; bytes after it are left */
#define SMTP_DATA_BARE_LF   2   /* LF not preceded by CR */
#define SMTP_DATA_BARE_CR   3   /* CR not followed by LF */
#define SMTP_DATA_NUL       4   /* NUL byte */

#define SMTP_DATA_ERROR(status) ((status) >= SMTP_DATA_BARE_LF)

/* SMTP_DATA.flags */
#define SMTP_DATA_FLAG_DISCARD  (1 << 0)    /* scan only, store nothing */
#define SMTP_DATA_FLAG_OVER     (1 << 1)    /* content exceeded the limit */
#define SMTP_DATA_FLAG_HEADER   (1 << 2)    /* still in the header section */
#define SMTP_DATA_FLAG_RAW      (1 << 3)    /* BDAT: see smtp_data_init_raw */

/* Receives message content: CR LF line ends, dot-stuffing removed. */
typedef void (*SMTP_DATA_OUT_FN) (void *context, const char *data, size_t len);

/* Callers read the counters; the rest is private. */
typedef struct SMTP_DATA {
    int     state;                  /* private */
    int     status;                 /* last smtp_data_feed() result */
    int     flags;                  /* SMTP_DATA_FLAG_* */
    SMTP_DATA_OUT_FN out;           /* private */
    void   *context;                /* private */
    uint64_t size;                  /* content bytes, CR LF included */
    uint64_t limit;                 /* stop storing beyond this, 0 = none */
    size_t  longest_line;           /* content bytes, CR LF excluded */
    size_t  line_len;               /* private: current line so far */
    unsigned received;              /* "Received:" lines in the header */
    unsigned char hdr_len;          /* private: start of a header line */
    char    hdr[16];
} SMTP_DATA;

/* Prepares for one message; out may be NULL to only scan. */
void    smtp_data_init(SMTP_DATA *sd, SMTP_DATA_OUT_FN out, void *context);
/* Prepares for one message sent with BDAT: call once per message, not per
 * chunk, and feed every chunk's bytes in order (only the bytes, never the
 * BDAT command lines). Every byte is content: a "." at a line start is
 * kept, CR LF "." CR LF is content, smtp_data_feed() never returns
 * SMTP_DATA_END. Refusals (bare LF, bare CR, NUL), the limit, the
 * counters and the output are those of DATA mode: a CR that ends a chunk
 * is held, and is content if the next chunk starts with LF. At the end of
 * the LAST chunk, smtp_data_finish() says whether the message is good. */
void    smtp_data_init_raw(SMTP_DATA *sd, SMTP_DATA_OUT_FN out, void *context);
/* Stops storing content beyond limit bytes (sets SMTP_DATA_FLAG_OVER);
 * scanning and counting go on to the real end. */
void    smtp_data_set_limit(SMTP_DATA *sd, uint64_t limit);
/* Stops storing now; scanning and counting go on. */
void    smtp_data_discard(SMTP_DATA *sd);
/* Scans len bytes; *used says how many belong to the message: all of
 * them with SMTP_DATA_MORE, up to the final CR LF with SMTP_DATA_END (the
 * rest is pipelined commands), up to the byte that showed the error
 * otherwise. After the end or an error, further calls consume nothing and
 * return the same status. */
int     smtp_data_feed(SMTP_DATA *sd, const char *buf, size_t len,
                       size_t *used);
/* Raw mode: the message's bytes have all been fed (BDAT ... LAST). Returns
 * SMTP_DATA_END, having counted a last line without CR LF like any other
 * line (longest_line, Received:), or SMTP_DATA_BARE_CR when the content
 * ends in a CR, which is not output; an earlier error stays (its status
 * is returned). Later calls, and smtp_data_feed(), return the same status
 * and consume nothing. In DATA mode only the end marker ends the data:
 * returns the current status and changes nothing. */
int     smtp_data_finish(SMTP_DATA *sd);
/* An output function that appends to the VBUF given as context. */
void    smtp_data_to_vbuf(void *context, const char *data, size_t len);
/* "bare <LF>" etc., for logs and replies. */
const char *smtp_data_status_text(int status);

#endif
