/* The keys of the archive index, spelled once for both ends: the archiver
 * files every message under them (archiver/arc_index.c), alligatectl
 * turns what the administrator typed into the same keys (archive search),
 * so that a search finds exactly what was filed.
 *
 *   address     lowercased (local part too: nobody searches by case);
 *               the null sender is "<>"; one pair of enclosing angle
 *               brackets is dropped.  An address with a domain is also
 *               filed under "@domain", so that a search for "@example.com"
 *               finds the whole domain.
 *   client      the numeric address in its canonical text form
 *               (inet_ntop), else lowercased as it is
 *   message-id  the text between the first '<' and the following '>',
 *               else the trimmed value; case kept (RFC 5322 ids are
 *               case-sensitive); at most ARC_KEYS_MSGID_MAX bytes
 *   subject     its words: runs of ASCII letters and digits and of
 *               non-ASCII (UTF-8) characters, lowercased (ASCII and
 *               Latin-1 letters), each cut to ARC_KEYS_WORD_MAX bytes
 *               at a character boundary, at most ARC_KEYS_WORDS_MAX per
 *               subject, each once
 *   time        the arrival time as 8 big-endian bytes, so that the
 *               B-tree's byte order is the time order
 *
 * Keys never hold NUL. */
#ifndef ALLIGATE_ARC_KEYS_H
#define ALLIGATE_ARC_KEYS_H

#include <stddef.h>
#include <time.h>

#include "vbuf.h"

#define ARC_KEYS_WORD_MAX       64
#define ARC_KEYS_WORDS_MAX      64
#define ARC_KEYS_MSGID_MAX      998
#define ARC_KEYS_NULL_SENDER    "<>"
#define ARC_KEYS_TIME_LEN       8

/* A small set of keys, each NUL-terminated, in the order added. */
typedef struct ARC_KEYS {
    VBUF   *buf;
    size_t  count;
} ARC_KEYS;

void    arc_keys_init(ARC_KEYS *keys);
void    arc_keys_free(ARC_KEYS *keys);
void    arc_keys_reset(ARC_KEYS *keys);
/* Adds a key unless empty, holding a NUL, or there already. */
void    arc_keys_add(ARC_KEYS *keys, const char *key, size_t len);
int     arc_keys_has(const ARC_KEYS *keys, const char *key);
/* Walks the keys: start with *cursor = NULL; NULL at the end. */
const char *arc_keys_next(const ARC_KEYS *keys, const char **cursor);

/* The address key of addr (see above) into out. */
void    arc_keys_address(VBUF *out, const char *addr);
/* The address key and, when it has a domain, "@domain". */
void    arc_keys_address_all(ARC_KEYS *keys, const char *addr);
void    arc_keys_client(VBUF *out, const char *addr);
void    arc_keys_msgid(VBUF *out, const char *value);
/* The words of a subject (UTF-8, as arc_rfc2047 decodes it). */
void    arc_keys_words(ARC_KEYS *keys, const char *text);
void    arc_keys_time(unsigned char out[ARC_KEYS_TIME_LEN], long long when);
long long arc_keys_time_value(const unsigned char key[ARC_KEYS_TIME_LEN]);

/* DATE as alligatectl archive search takes it: "2026-12-01",
 * "2026-12-01T10:30", "2026-12-01T10:30:15" (UTC), or an age before now:
 * "90s", "30m", "12h", "7d", "2w".  A calendar date without a time of day
 * is its first second, or with end_of_day its last.  Returns 0 with *out
 * in unix seconds, or -1 with why. */
int     arc_keys_date(const char *text, long long now, int end_of_day,
                      long long *out, VBUF *why);

#endif
