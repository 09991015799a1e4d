/* A recipient's outcome in one delivery attempt: what relay_smtp.c learns
 * from the backend's replies, and relay_deliver.c from a maildir, a
 * suspended backend or an expiry, set in one shape for the log line and
 * the DSN. */
#include <stdarg.h>
#include <stdio.h>

#include "relay.h"

void
relay_rcpt_set(RELAY_RCPT *rcpt, int outcome, const char *dsn, const char *diag,
               const char *fmt, ...)
{
    va_list ap;

    rcpt->outcome = outcome;
    snprintf(rcpt->dsn, sizeof(rcpt->dsn), "%s", dsn ? dsn : "");
    vbuf_reset(rcpt->reason);
    va_start(ap, fmt);
    vbuf_vprintf(rcpt->reason, fmt, ap);
    va_end(ap);
    vbuf_set(rcpt->diag, diag ? diag : "");
}
