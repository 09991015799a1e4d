/* The index record of an archived message; the format is in
 * arc_record.h. */
#include <stdio.h>
#include <string.h>

#include "arc_header.h"
#include "arc_keys.h"
#include "arc_record.h"
#include "arc_rfc2047.h"
#include "mymalloc.h"

#define ARC_RECORD_FIXED    13          /* fields before the recipients */

void
arc_record_safe(VBUF *out, const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *) text;
    size_t  i, n;

    for (i = 0; i < len; i += n) {
        n = 1;
        if (s[i] < 0x20 || s[i] == 0x7f) {
            vbuf_append_char(out, '?');
        } else if (s[i] < 0x80) {
            vbuf_append_char(out, s[i]);
        } else {
            /* One valid UTF-8 character, or a '?' for the byte. */
            for (n = 2; n <= 4 && i + n <= len; n++)
                if (arc_rfc2047_valid_utf8(text + i, n))
                    break;
            if (n > 4 || i + n > len || (s[i] == 0xc2 && s[i + 1] < 0xa0)) {
                vbuf_append_char(out, '?');
                n = 1;
            } else {
                vbuf_append(out, text + i, n);
            }
        }
    }
}

static void
arc_record_str(VBUF *out, const char *text)
{
    if (text)
        arc_record_safe(out, text, strlen(text));
    vbuf_append_char(out, 0);
}

static void
arc_record_num(VBUF *out, long long n)
{
    vbuf_printf(out, "%lld", n);
    vbuf_append_char(out, 0);
}

void
arc_record_make(VBUF *out, const ARC_ENVELOPE *env, const char *head, size_t head_len,
                long long stored)
{
    VBUF   *raw = vbuf_create(256), *text = vbuf_create(256);
    size_t  i, cut;

    vbuf_reset(out);
    vbuf_append(out, "1", 2);
    arc_record_str(out, env->id);
    arc_record_num(out, env->arrival);
    arc_record_num(out, env->length);
    arc_record_num(out, stored);
    arc_record_str(out, env->client_addr);
    arc_record_str(out, env->client_name);
    arc_record_str(out, env->helo);
    arc_record_str(out, env->protocol);
    arc_record_str(out, env->sasl_user);
    arc_record_str(out, env->sender);
    (void) arc_header_field(head, head_len, "Message-ID", raw);
    arc_keys_msgid(text, vbuf_str(raw));
    arc_record_str(out, vbuf_str(text));
    (void) arc_header_field(head, head_len, "Subject", raw);
    arc_rfc2047_decode(text, vbuf_str(raw), vbuf_len(raw));
    if (vbuf_len(text) > ARC_RECORD_SUBJECT_MAX) {
        /* At a character boundary. */
        for (cut = ARC_RECORD_SUBJECT_MAX; cut > 0 && (vbuf_str(text)[cut] & 0xc0) == 0x80; cut--)
             /* void */ ;
        vbuf_truncate(text, cut);
    }
    arc_record_str(out, vbuf_str(text));
    arc_record_num(out, (long long) env->rcpt_count);
    for (i = 0; i < env->rcpt_count; i++)
        arc_record_str(out, env->rcpt[i]);
    vbuf_free(raw);
    vbuf_free(text);
}

/* Strict decimal, no sign, at most 18 digits. */
static int
arc_record_parse_num(const char *s, long long *out)
{
    long long n = 0;
    size_t  i;

    if (*s == 0 || strlen(s) > 18)
        return -1;
    for (i = 0; s[i]; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        n = n * 10 + (s[i] - '0');
    }
    *out = n;
    return 0;
}

int
arc_record_decode(const char *data, size_t len, ARC_RECORD *rec)
{
    const char *fields[ARC_RECORD_FIXED], *cp, *end = data + len, *nul;
    long long nrcpt;
    size_t  i;

    memset(rec, 0, sizeof(*rec));
    if (len < 2 || data[len - 1] != 0 || strcmp(data, "1") != 0)
        return -1;
    cp = data + 2;
    for (i = 0; i < ARC_RECORD_FIXED; i++) {
        if (cp >= end || (nul = memchr(cp, 0, (size_t) (end - cp))) == NULL)
            return -1;
        fields[i] = cp;
        cp = nul + 1;
    }
    rec->id = fields[0];
    if (!queue_id_valid(rec->id)
        || arc_record_parse_num(fields[1], &rec->arrival) < 0
        || arc_record_parse_num(fields[2], &rec->size) < 0
        || arc_record_parse_num(fields[3], &rec->stored) < 0
        || arc_record_parse_num(fields[12], &nrcpt) < 0
        || nrcpt > ARC_RECORD_RCPT_MAX || nrcpt > (long long) (end - cp))
        return -1;
    rec->client_addr = fields[4];
    rec->client_name = fields[5];
    rec->helo = fields[6];
    rec->protocol = fields[7];
    rec->sasl_user = fields[8];
    rec->sender = fields[9];
    rec->message_id = fields[10];
    rec->subject = fields[11];
    rec->rcpt = mymalloc(((size_t) nrcpt + 1) * sizeof(*rec->rcpt));
    for (i = 0; i < (size_t) nrcpt; i++) {
        if (cp >= end || (nul = memchr(cp, 0, (size_t) (end - cp))) == NULL) {
            arc_record_release(rec);
            return -1;
        }
        rec->rcpt[i] = cp;
        cp = nul + 1;
    }
    rec->rcpt_count = (size_t) nrcpt;
    if (cp != end) {
        arc_record_release(rec);
        return -1;
    }
    return 0;
}

void
arc_record_release(ARC_RECORD *rec)
{
    myfree(rec->rcpt);
    memset(rec, 0, sizeof(*rec));
}
