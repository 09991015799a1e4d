/* libFuzzer target for what the archive reads back from disk: whole
 * archive files (arc_file_parse: the skippable envelope frame and the
 * zstd frames of the message), the envelope text alone
 * (arc_file_envelope_parse), the index records (arc_record_decode), and
 * the Subject decoding (arc_rfc2047_decode) that builds them.  Files in
 * archive_directory outlive versions and disks, so anything may be
 * there.
 *
 * Besides not crashing: a file that parses has a message exactly as
 * long as its envelope says; its envelope encodes and parses back to the
 * same values; the record made from it decodes, holds only valid UTF-8
 * without control characters, and matches a search for its own sender,
 * recipients and Subject words; decoded text is always valid UTF-8
 * without control characters. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arc_file.h"
#include "arc_keys.h"
#include "archiver/arc_query.h"
#include "archiver/arc_record.h"
#include "archiver/arc_rfc2047.h"
#include "msg.h"
#include "mymalloc.h"
#include "vbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define fuzz_check(ok) do { \
        if (!(ok)) { \
            fprintf(stderr, "fuzz_archive_record: line %d: %s\n", __LINE__, #ok); \
            abort(); \
        } \
    } while (0)

/* Valid UTF-8 without a control character. */
static int
fuzz_clean(const char *s)
{
    const unsigned char *p;

    for (p = (const unsigned char *) s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
            return 0;
    return arc_rfc2047_valid_utf8(s, strlen(s));
}

static int
fuzz_same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* Encodes env as the archiver would and parses it again. */
static void
fuzz_envelope_round_trip(const ARC_ENVELOPE *env)
{
    QUEUE_ENVELOPE q;
    ARC_ENVELOPE again;
    VBUF   *text = vbuf_create(256), *why = vbuf_create(64);
    size_t  i;

    memset(&q, 0, sizeof(q));
    q.arrival = (time_t) env->arrival;
    q.client_addr = env->client_addr;
    q.client_name = env->client_name;
    q.helo = env->helo;
    q.protocol = env->protocol;
    q.sasl_user = env->sasl_user;
    q.sender = env->sender;
    q.size = env->size;
    q.body_type = env->body_type;
    q.smtputf8 = env->smtputf8;
    q.rcpt = mycalloc(env->rcpt_count, sizeof(*q.rcpt));
    for (i = 0; i < env->rcpt_count; i++)
        q.rcpt[i].address = env->rcpt[i];
    q.rcpt_count = env->rcpt_count;
    arc_file_envelope_encode(text, env->id, &q, env->length);
    fuzz_check(arc_file_envelope_parse(vbuf_str(text), vbuf_len(text), &again, why) == 0);
    fuzz_check(strcmp(again.id, env->id) == 0 && again.arrival == env->arrival);
    fuzz_check(again.length == env->length && again.size == env->size);
    fuzz_check(again.smtputf8 == env->smtputf8 && again.rcpt_count == env->rcpt_count);
    fuzz_check(fuzz_same(again.client_addr, env->client_addr)
               && fuzz_same(again.client_name, env->client_name)
               && fuzz_same(again.helo, env->helo) && fuzz_same(again.protocol, env->protocol)
               && fuzz_same(again.sasl_user, env->sasl_user)
               && fuzz_same(again.sender, env->sender)
               && fuzz_same(again.body_type, env->body_type));
    for (i = 0; i < env->rcpt_count; i++)
        fuzz_check(strcmp(again.rcpt[i], env->rcpt[i]) == 0);
    arc_envelope_free(&again);
    myfree(q.rcpt);
    vbuf_free(text);
    vbuf_free(why);
}

/* The record of a parsed file, and the searches it must match. */
static void
fuzz_record(const ARC_ENVELOPE *env, const VBUF *message)
{
    VBUF   *rec = vbuf_create(256), *why = vbuf_create(64);
    ARC_QUERY_KEYS q;
    ARC_RECORD r;
    size_t  i;

    arc_record_make(rec, env, vbuf_str(message), vbuf_len(message), 1);
    fuzz_check(arc_record_decode(vbuf_str(rec), vbuf_len(rec), &r) == 0);
    fuzz_check(strcmp(r.id, env->id) == 0 && r.rcpt_count == env->rcpt_count);
    fuzz_check(fuzz_clean(r.sender) && fuzz_clean(r.subject) && fuzz_clean(r.message_id)
               && fuzz_clean(r.client_addr) && fuzz_clean(r.helo));
    for (i = 0; i < r.rcpt_count; i++)
        fuzz_check(fuzz_clean(r.rcpt[i]));
    /* A search for what the record holds finds it. */
    if (arc_query_make(&q, r.sender, r.rcpt_count ? r.rcpt[r.rcpt_count - 1] : NULL,
                       *r.client_addr ? r.client_addr : NULL,
                       NULL, *r.message_id ? r.message_id : NULL, r.arrival, r.arrival, 0,
                       why) == 0)
        fuzz_check(arc_query_match(&q, &r));
    arc_query_free(&q);
    if (arc_query_make(&q, NULL, NULL, NULL, r.subject, NULL, -1, -1, 0, why) == 0)
        fuzz_check(arc_query_match(&q, &r));
    arc_query_free(&q);
    arc_record_release(&r);
    vbuf_free(rec);
    vbuf_free(why);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    msg_init("fuzz_archive_record");
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *) data;
    VBUF   *message = vbuf_create(1024), *why = vbuf_create(64), *out = vbuf_create(256);
    ARC_ENVELOPE env;
    ARC_RECORD r;
    ARC_KEYS keys;

    /* A whole archive file. */
    if (arc_file_parse(text, size, &env, message, why) == 0) {
        fuzz_check((long long) vbuf_len(message) == env.length);
        fuzz_check(queue_id_valid(env.id) && env.rcpt_count > 0 && env.sender != NULL);
        fuzz_envelope_round_trip(&env);
        fuzz_record(&env, message);
        arc_envelope_free(&env);
    } else {
        fuzz_check(env.sender == NULL && env.rcpt == NULL);
    }
    /* The envelope text alone. */
    if (arc_file_envelope_parse(text, size, &env, why) == 0) {
        fuzz_envelope_round_trip(&env);
        vbuf_set(message, "");
        fuzz_record(&env, message);
        arc_envelope_free(&env);
    }
    /* An index record. */
    if (arc_record_decode(text, size, &r) == 0) {
        fuzz_check(queue_id_valid(r.id));
        arc_keys_init(&keys);
        arc_keys_address_all(&keys, r.sender);
        arc_keys_words(&keys, r.subject);
        arc_keys_free(&keys);
        arc_record_release(&r);
    }
    /* A Subject. */
    arc_rfc2047_decode(out, text, size);
    fuzz_check(strlen(vbuf_str(out)) == vbuf_len(out) && fuzz_clean(vbuf_str(out)));
    arc_keys_init(&keys);
    arc_keys_words(&keys, vbuf_str(out));
    fuzz_check(keys.count <= ARC_KEYS_WORDS_MAX);
    arc_keys_free(&keys);

    vbuf_free(message);
    vbuf_free(why);
    vbuf_free(out);
    return 0;
}
