/* A search of the archive as keys (lib/arc_keys.h), and whether a record
 * matches it.  Pure: the index walk that finds the candidates is
 * arc_search.c; this decides. */
#ifndef ALLIGATE_ARC_QUERY_H
#define ALLIGATE_ARC_QUERY_H

#include "arc_keys.h"
#include "arc_record.h"
#include "vbuf.h"

typedef struct ARC_QUERY_KEYS {
    VBUF   *sender;                     /* NULL: no such filter */
    VBUF   *rcpt;
    VBUF   *client;
    VBUF   *msgid;
    ARC_KEYS words;                     /* every one must be there */
    int     has_words;
    long long since;                    /* -1: no bound */
    long long until;
    long    limit;                      /* 0: all */
} ARC_QUERY_KEYS;

/* The keys of what the administrator typed (NULL for a filter not
 * given); -1 with why when the query cannot match anything for a reason
 * worth saying (a subject without any word, since after until). */
int     arc_query_make(ARC_QUERY_KEYS *q, const char *sender, const char *rcpt,
                       const char *client, const char *subject, const char *msgid,
                       long long since, long long until, long limit, VBUF *why);
void    arc_query_free(ARC_QUERY_KEYS *q);
/* 1 when the record passes every filter. */
int     arc_query_match(const ARC_QUERY_KEYS *q, const ARC_RECORD *rec);

#endif
