/* The keys of the archive index, and the dates of archive search; the
 * rules are in arc_keys.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "arc_keys.h"
#include "units.h"
#include "vbuf.h"

void
arc_keys_init(ARC_KEYS *keys)
{
    keys->buf = vbuf_create(64);
    keys->count = 0;
}

void
arc_keys_free(ARC_KEYS *keys)
{
    keys->buf = vbuf_free(keys->buf);
    keys->count = 0;
}

void
arc_keys_reset(ARC_KEYS *keys)
{
    vbuf_reset(keys->buf);
    keys->count = 0;
}

const char *
arc_keys_next(const ARC_KEYS *keys, const char **cursor)
{
    const char *end = vbuf_str(keys->buf) + vbuf_len(keys->buf);
    const char *cp = *cursor ? *cursor + strlen(*cursor) + 1 : vbuf_str(keys->buf);

    if (cp >= end)
        return NULL;
    return *cursor = cp;
}

static int
arc_keys_has_len(const ARC_KEYS *keys, const char *key, size_t len)
{
    const char *cursor = NULL, *k;

    while ((k = arc_keys_next(keys, &cursor)) != NULL)
        if (strlen(k) == len && memcmp(k, key, len) == 0)
            return 1;
    return 0;
}

int
arc_keys_has(const ARC_KEYS *keys, const char *key)
{
    return arc_keys_has_len(keys, key, strlen(key));
}

void
arc_keys_add(ARC_KEYS *keys, const char *key, size_t len)
{
    if (len == 0 || memchr(key, 0, len) != NULL || arc_keys_has_len(keys, key, len))
        return;
    vbuf_append(keys->buf, key, len);
    vbuf_append_char(keys->buf, 0);
    keys->count++;
}

static void
arc_keys_lower(VBUF *out, const char *text, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++)
        vbuf_append_char(out, (text[i] >= 'A' && text[i] <= 'Z') ? text[i] + 32 : text[i]);
}

void
arc_keys_address(VBUF *out, const char *addr)
{
    size_t  len = strlen(addr);

    vbuf_reset(out);
    if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>') {
        addr++;
        len -= 2;
    }
    if (len == 0) {
        vbuf_set(out, ARC_KEYS_NULL_SENDER);
        return;
    }
    arc_keys_lower(out, addr, len);
}

void
arc_keys_address_all(ARC_KEYS *keys, const char *addr)
{
    VBUF   *key = vbuf_create(64);
    const char *at;

    arc_keys_address(key, addr);
    arc_keys_add(keys, vbuf_str(key), vbuf_len(key));
    /* The domain follows the last '@' (a quoted local part may hold one). */
    if ((at = strrchr(vbuf_str(key), '@')) != NULL && at[1] != 0
        && at != vbuf_str(key))
        arc_keys_add(keys, at, strlen(at));
    vbuf_free(key);
}

void
arc_keys_client(VBUF *out, const char *addr)
{
    unsigned char bin[16];
    char    text[INET6_ADDRSTRLEN];
    const char *cp = addr;

    vbuf_reset(out);
    if (strncasecmp(cp, "ipv6:", 5) == 0)
        cp += 5;
    if (inet_pton(AF_INET, cp, bin) == 1 && inet_ntop(AF_INET, bin, text, sizeof(text))) {
        vbuf_set(out, text);
    } else if (inet_pton(AF_INET6, cp, bin) == 1
               && inet_ntop(AF_INET6, bin, text, sizeof(text))) {
        vbuf_set(out, text);
    } else {
        arc_keys_lower(out, addr, strlen(addr));
    }
}

void
arc_keys_msgid(VBUF *out, const char *value)
{
    const char *start, *end;

    vbuf_reset(out);
    if ((start = strchr(value, '<')) != NULL && (end = strchr(start + 1, '>')) != NULL) {
        start++;
    } else {
        start = value;
        end = value + strlen(value);
    }
    while (start < end && isspace((unsigned char) *start))
        start++;
    while (end > start && isspace((unsigned char) end[-1]))
        end--;
    if (end - start > ARC_KEYS_MSGID_MAX)
        end = start + ARC_KEYS_MSGID_MAX;
    vbuf_append(out, start, (size_t) (end - start));
}

/* Length of the UTF-8 character at s (1 for a stray byte), within n. */
static size_t
arc_keys_char_len(const unsigned char *s, size_t n)
{
    size_t  len, i;

    len = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
        : (s[0] & 0xf8) == 0xf0 ? 4 : 1;
    if (len > n)
        return 1;
    for (i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 1;
    return len;
}

/* Whether the character at s (len bytes) belongs to a word: ASCII letters
 * and digits, and non-ASCII characters except the punctuation that
 * mail subjects use (Latin-1 signs, General and CJK punctuation, U+FFFD). */
static int
arc_keys_word_char(const unsigned char *s, size_t len)
{
    if (len == 1)
        return isalnum(s[0]) && s[0] < 0x80;
    if (len == 2)
        return !(s[0] == 0xc2 && s[1] >= 0xa0)
            && !(s[0] == 0xc3 && (s[1] == 0x97 || s[1] == 0xb7));
    if (len == 3)
        return !(s[0] == 0xe2 && (s[1] == 0x80 || s[1] == 0x81))
            && !(s[0] == 0xe3 && s[1] == 0x80)
            && !(s[0] == 0xef && s[1] == 0xbf && s[2] == 0xbd);
    return 1;
}

void
arc_keys_words(ARC_KEYS *keys, const char *text)
{
    const unsigned char *s = (const unsigned char *) text;
    size_t  n = strlen(text), len;
    VBUF   *word = vbuf_create(ARC_KEYS_WORD_MAX + 4);
    int     full = 0;

    for (;;) {
        len = n ? arc_keys_char_len(s, n) : 0;
        if (n == 0 || !arc_keys_word_char(s, len)) {
            if (vbuf_len(word) > 0) {
                if (keys->count >= ARC_KEYS_WORDS_MAX)
                    break;
                arc_keys_add(keys, vbuf_str(word), vbuf_len(word));
            }
            vbuf_reset(word);
            full = 0;
            if (n == 0)
                break;
        } else if (!full && vbuf_len(word) + len <= ARC_KEYS_WORD_MAX) {
            if (len == 1 && s[0] >= 'A' && s[0] <= 'Z')
                vbuf_append_char(word, s[0] + 32);
            else if (len == 2 && s[0] == 0xc3 && s[1] >= 0x80 && s[1] <= 0x9e)
                /* Latin-1 capitals (U+00C0..U+00DE; U+00D7 is no letter). */
                vbuf_append(word, (const char[]) {(char) 0xc3, (char) (s[1] + 0x20)}, 2);
            else
                vbuf_append(word, s, len);
        } else {
            full = 1;
        }
        s += len;
        n -= len;
    }
    vbuf_free(word);
}

void
arc_keys_time(unsigned char out[ARC_KEYS_TIME_LEN], long long when)
{
    unsigned long long v = when < 0 ? 0 : (unsigned long long) when;
    int     i;

    for (i = ARC_KEYS_TIME_LEN - 1; i >= 0; i--) {
        out[i] = (unsigned char) (v & 0xff);
        v >>= 8;
    }
}

long long
arc_keys_time_value(const unsigned char key[ARC_KEYS_TIME_LEN])
{
    unsigned long long v = 0;
    int     i;

    for (i = 0; i < ARC_KEYS_TIME_LEN; i++)
        v = (v << 8) | key[i];
    return (long long) v;
}

/* Strict fixed-width decimal. */
static int
arc_keys_digits(const char *s, int width, int *out)
{
    int     i, v = 0;

    for (i = 0; i < width; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int
arc_keys_date(const char *text, long long now, int end_of_day, long long *out,
              VBUF *why)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    struct tm tm;
    int     y, mo, d, h = 0, mi = 0, s = 0, has_time = 0, leap;
    size_t  len = strlen(text);
    long long ms;

    if (len > 0 && text[0] >= '0' && text[0] <= '9' && (len < 5 || text[4] != '-')) {
        if (units_time_ms(text, &ms, why) < 0)
            return -1;
        *out = now - ms / 1000;
        return 0;
    }
    if ((len != 10 && len != 16 && len != 19)
        || arc_keys_digits(text, 4, &y) < 0 || text[4] != '-'
        || arc_keys_digits(text + 5, 2, &mo) < 0 || text[7] != '-'
        || arc_keys_digits(text + 8, 2, &d) < 0
        || (len > 10 && (text[10] != 'T' && text[10] != ' '))
        || (len > 10 && (arc_keys_digits(text + 11, 2, &h) < 0 || text[13] != ':'
                         || arc_keys_digits(text + 14, 2, &mi) < 0))
        || (len > 16 && (text[16] != ':' || arc_keys_digits(text + 17, 2, &s) < 0))) {
        vbuf_set(why, "not a date (YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS], or an age as 7d)");
        return -1;
    }
    has_time = len > 10;
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1]
        || (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || s > 59) {
        vbuf_set(why, "no such date");
        return -1;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    *out = (long long) timegm(&tm);
    if (!has_time && end_of_day)
        *out += 86399;
    return 0;
}
