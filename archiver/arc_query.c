/* Search filters as index keys, and the match of a record against them;
 * see arc_query.h. */
#include <string.h>

#include "arc_query.h"

static VBUF *
arc_query_key(const char *text, void (*make)(VBUF *, const char *))
{
    VBUF   *key;

    if (text == NULL)
        return NULL;
    key = vbuf_create(64);
    make(key, text);
    return key;
}

int
arc_query_make(ARC_QUERY_KEYS *q, const char *sender, const char *rcpt, const char *client,
               const char *subject, const char *msgid, long long since, long long until,
               long limit, VBUF *why)
{
    memset(q, 0, sizeof(*q));
    arc_keys_init(&q->words);
    q->sender = arc_query_key(sender, arc_keys_address);
    q->rcpt = arc_query_key(rcpt, arc_keys_address);
    q->client = arc_query_key(client, arc_keys_client);
    q->msgid = arc_query_key(msgid, arc_keys_msgid);
    q->since = since;
    q->until = until;
    q->limit = limit;
    if (subject) {
        q->has_words = 1;
        arc_keys_words(&q->words, subject);
        if (q->words.count == 0) {
            vbuf_set(why, "the subject to search for has no words");
            return -1;
        }
    }
    if (q->msgid && vbuf_len(q->msgid) == 0) {
        vbuf_set(why, "empty Message-ID");
        return -1;
    }
    if (since >= 0 && until >= 0 && since > until) {
        vbuf_set(why, "--since is after --until");
        return -1;
    }
    return 0;
}

void
arc_query_free(ARC_QUERY_KEYS *q)
{
    vbuf_free(q->sender);
    vbuf_free(q->rcpt);
    vbuf_free(q->client);
    vbuf_free(q->msgid);
    arc_keys_free(&q->words);
    memset(q, 0, sizeof(*q));
}

static int
arc_query_address_in(const VBUF *want, const char *addr)
{
    ARC_KEYS keys;
    int     found;

    arc_keys_init(&keys);
    arc_keys_address_all(&keys, addr);
    found = arc_keys_has(&keys, vbuf_str(want));
    arc_keys_free(&keys);
    return found;
}

int
arc_query_match(const ARC_QUERY_KEYS *q, const ARC_RECORD *rec)
{
    const char *cursor = NULL, *w;
    ARC_KEYS words;
    VBUF   *key;
    size_t  i;
    int     ok;

    if (q->since >= 0 && rec->arrival < q->since)
        return 0;
    if (q->until >= 0 && rec->arrival > q->until)
        return 0;
    if (q->sender && !arc_query_address_in(q->sender, rec->sender))
        return 0;
    if (q->rcpt) {
        for (i = 0; i < rec->rcpt_count; i++)
            if (arc_query_address_in(q->rcpt, rec->rcpt[i]))
                break;
        if (i == rec->rcpt_count)
            return 0;
    }
    if (q->client) {
        key = vbuf_create(64);
        arc_keys_client(key, rec->client_addr);
        ok = *rec->client_addr && strcmp(vbuf_str(key), vbuf_str(q->client)) == 0;
        vbuf_free(key);
        if (!ok)
            return 0;
    }
    if (q->msgid && strcmp(rec->message_id, vbuf_str(q->msgid)) != 0)
        return 0;
    if (q->has_words) {
        arc_keys_init(&words);
        arc_keys_words(&words, rec->subject);
        ok = 1;
        while (ok && (w = arc_keys_next(&q->words, &cursor)) != NULL)
            ok = arc_keys_has(&words, w);
        arc_keys_free(&words);
        if (!ok)
            return 0;
    }
    return 1;
}
