/* The tarpit's held connections: one small fixed record each (no
 * per-connection buffer; the reply, rule, command and client name are
 * shared strings), kept in slots that never move (so that a record can
 * be the event loop's context), ordered two ways: by due time (tp_heap)
 * for the answers, and by arrival for the early answers when the tarpit
 * is full.  Slots come in chunks as they are first needed, so memory
 * follows the connections actually held.  Pure: no sockets, no clock
 * (times are arguments); the descriptor is only stored. */
#ifndef ALLIGATE_TP_HOLD_H
#define ALLIGATE_TP_HOLD_H

#include <netinet/in.h>
#include <stddef.h>

#include "tarpit_clnt.h"

typedef struct TP_HOLD {
    int     fd;                         /* the client's connection */
    unsigned id;                        /* the slot */
    unsigned older;                     /* arrival order; also free list */
    unsigned newer;
    long long since;                    /* ms, when it arrived */
    long long due;                      /* ms, when to answer */
    const char *name;                   /* shared strings */
    const char *rule;
    const char *command;
    const char *reply;
    char    addr[INET6_ADDRSTRLEN];
} TP_HOLD;

typedef struct TP_HOLDS TP_HOLDS;

TP_HOLDS *tp_holds_create(void);
/* Frees the table; descriptors are the caller's to close first. */
TP_HOLDS *tp_holds_free(TP_HOLDS *holds);

/* Holds fd for msg from now: due at now + msg->delay_ms.  The record
 * stays where it is until tp_holds_remove(). */
TP_HOLD *tp_holds_add(TP_HOLDS *holds, int fd, const TARPIT_HOLD *msg,
                      long long now);

/* Forgets the record (its fd is not touched); the slot is reused. */
void    tp_holds_remove(TP_HOLDS *holds, TP_HOLD *hold);

/* The hold due first when it is due at now, else NULL. */
TP_HOLD *tp_holds_due(const TP_HOLDS *holds, long long now);

/* The due time of the hold due first, or -1 when none is held. */
long long tp_holds_next_due(const TP_HOLDS *holds);

/* The hold that arrived first, or NULL. */
TP_HOLD *tp_holds_oldest(const TP_HOLDS *holds);

size_t  tp_holds_count(const TP_HOLDS *holds);

#endif
