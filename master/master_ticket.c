/* The TLS session ticket keys of every smtpd worker: made once at start,
 * before the first fork, kept across reloads (a reload breaks no
 * client's resumption), rotated every tls_session_ticket_lifetime, and
 * handed to the workers as MASTER_TICKET_FD (master_spawn.c).  The keys
 * live in memory only (tls_ticket.c); this costs a timer, not a process.
 * The period comes from master.c, which reads the configuration. */
#include "events.h"
#include "master.h"
#include "msg.h"
#include "tls_ticket.h"
#include "vbuf.h"

int master_ticket_fd = -1;

static long long master_ticket_period;  /* ms, the timer's */
static long long master_ticket_rotated; /* ms, the last new key */

static void
master_ticket_rotate(int event, void *context)
{
    (void) event;
    (void) context;
    tls_ticket_rotate(master_ticket_fd);
    master_ticket_rotated = event_time_refresh();
    if (msg_verbose)
        msg_info("new TLS session ticket key");
    event_request_timer(master_ticket_rotate, NULL, master_ticket_period);
}

void
master_ticket_init(long long period_ms)
{
    VBUF *why = vbuf_create(64);

    if ((master_ticket_fd = tls_ticket_create(why)) < 0)
        msg_fatal("cannot make the TLS session ticket keys: %s", vbuf_str(why));
    vbuf_free(why);
    master_ticket_rotated = event_time_refresh();
    master_ticket_period = period_ms;
    event_request_timer(master_ticket_rotate, NULL, master_ticket_period);
}

/* After a reload.  The same period keeps its timer: reloads more often
 * than the period must not postpone the rotation for ever.  A new one
 * counts from the last rotation. */
void
master_ticket_reload(long long period_ms)
{
    long long due;

    if (period_ms == master_ticket_period)
        return;
    master_ticket_period = period_ms;
    due = master_ticket_rotated + period_ms - event_time_refresh();
    event_request_timer(master_ticket_rotate, NULL, due > 0 ? due : 0);
}
