/* libFuzzer target for the tarpit's hand-off message (lib/tarpit_msg.c):
 * what smtpd sends over tarpit.sock, decoded by the tarpit.  The format
 * has one spelling per hold, so a message the decoder takes must encode
 * back to exactly the same bytes; a refused one must say why and leave
 * the hold empty; and every field of a decoded hold must be what the
 * tarpit relies on (terminated, printable, a 4xx/5xx reply, a delay in
 * range). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tarpit_clnt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define fuzz_check(ok) do { \
        if (!(ok)) { \
            fprintf(stderr, "fuzz_tarpit_msg: line %d: %s\n", __LINE__, #ok); \
            abort(); \
        } \
    } while (0)

static void
fuzz_check_field(const char *value, size_t size)
{
    size_t len = strnlen(value, size), i;

    fuzz_check(len > 0 && len < size);
    for (i = 0; i < len; i++)
        fuzz_check(value[i] >= 0x20 && value[i] <= 0x7e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const TARPIT_HOLD empty;
    VBUF *why = vbuf_create(64);
    VBUF *out = vbuf_create(256);
    TARPIT_HOLD hold;

    if (tarpit_msg_decode((const char *) data, size, &hold, why) == 0) {
        fuzz_check_field(hold.addr, sizeof(hold.addr));
        fuzz_check_field(hold.name, sizeof(hold.name));
        fuzz_check_field(hold.rule, sizeof(hold.rule));
        fuzz_check_field(hold.command, sizeof(hold.command));
        fuzz_check_field(hold.reply, sizeof(hold.reply));
        fuzz_check(hold.reply[0] == '4' || hold.reply[0] == '5');
        fuzz_check(hold.reply[3] == 0 || hold.reply[3] == ' ');
        fuzz_check(hold.delay_ms >= 0 && hold.delay_ms <= TARPIT_DELAY_MAX_MS);
        fuzz_check(tarpit_msg_encode(&hold, out) == 0);
        fuzz_check(vbuf_len(out) == size
                   && memcmp(vbuf_str(out), data, size) == 0);
    } else {
        fuzz_check(vbuf_len(why) > 0);
        fuzz_check(memcmp(&hold, &empty, sizeof(hold)) == 0);
    }
    vbuf_free(why);
    vbuf_free(out);
    return 0;
}
