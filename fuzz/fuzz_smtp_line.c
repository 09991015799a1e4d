/* libFuzzer target for smtpd's command line reader, smtpd_io_line(): the
 * input is the client's byte stream, delivered in reads whose sizes the
 * first byte chooses (a SOCK_SEQPACKET socketpair keeps each write one
 * read).  What the reader returns must match a plain model of the rules,
 * whatever the read boundaries:
 *
 *   CR LF ends a line; the line is SMTPD_IO_OK, or SMTPD_IO_TOOLONG when it
 *   is longer than SMTPD_LINE_MAX; an LF not after CR is SMTPD_IO_BARE_LF
 *   and a CR not before LF is SMTPD_IO_BARE_CR, each ending what came
 *   before it; the end of input, complete line or not, is SMTPD_IO_EOF. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "smtpd/smtpd.h"
#include "vbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT  (64 * 1024)
#define FUZZ_MAX_READS  4096        /* queued in the socket at once */

/* The model: the next result and line from in[*pos..len). */
static int
fuzz_model(const uint8_t *in, size_t len, size_t *pos, const uint8_t **line,
           size_t *line_len)
{
    size_t i;

    for (i = *pos; i < len; i++) {
        if (in[i] == '\n') {
            *pos = i + 1;
            return SMTPD_IO_BARE_LF;
        }
        if (in[i] == '\r') {
            if (i + 1 == len)
                break;
            if (in[i + 1] != '\n') {
                *pos = i + 1;
                return SMTPD_IO_BARE_CR;
            }
            *line = in + *pos;
            *line_len = i - *pos;
            *pos = i + 2;
            return *line_len > SMTPD_LINE_MAX ? SMTPD_IO_TOOLONG : SMTPD_IO_OK;
        }
    }
    *pos = len;
    return SMTPD_IO_EOF;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static VBUF *line;
    const uint8_t *in, *want;
    SMTPD_STATE *state;
    size_t len, off, chunk, pos, want_len;
    unsigned seed;
    int sv[2], bufsize = 8 << 20;
    int got, expect;

    if (line == NULL) {
        conf_activate(conf_defaults());
        line = vbuf_create(SMTPD_LINE_MAX + 1);
    }
    if (size < 1)
        return 0;
    seed = data[0];
    in = data + 1;
    len = size - 1 > FUZZ_MAX_INPUT ? FUZZ_MAX_INPUT : size - 1;

    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0) {
        perror("socketpair");
        abort();
    }
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize));
    /* Read sizes from 1 to 1 + (seed & 0x7f), varying unless bit 7 is set;
     * never so many reads that the socket would fill up. */
    for (off = 0; off < len; off += chunk) {
        chunk = 1 + (seed & 0x7f);
        if (!(data[0] & 0x80)) {
            seed = seed * 1103515245u + 12345u;
            chunk = 1 + (seed >> 16) % (1 + (data[0] & 0x7f));
        }
        if (chunk < len / FUZZ_MAX_READS + 1)
            chunk = len / FUZZ_MAX_READS + 1;
        if (chunk > len - off)
            chunk = len - off;
        if (send(sv[1], in + off, chunk, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t) chunk) {
            perror("send");
            abort();
        }
    }
    shutdown(sv[1], SHUT_WR);

    state = smtpd_state_create(sv[0], "smtp");
    pos = 0;
    do {
        expect = fuzz_model(in, len, &pos, &want, &want_len);
        got = smtpd_io_line(state, line);
        if (got != expect) {
            fprintf(stderr, "smtpd_io_line: %d, model: %d at offset %zu\n",
                    got, expect, pos);
            abort();
        }
        if (got == SMTPD_IO_OK
            && (vbuf_len(line) != want_len || memcmp(vbuf_str(line), want, want_len) != 0)) {
            fprintf(stderr, "smtpd_io_line: line differs before offset %zu\n", pos);
            abort();
        }
    } while (got != SMTPD_IO_EOF);
    if (state->io_status != SMTPD_IO_EOF)
        abort();
    close(sv[0]);
    close(sv[1]);
    smtpd_state_free(state);
    return 0;
}
