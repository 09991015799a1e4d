/* The mboxrd format of archive export, which mutt, Thunderbird and
 * Python's mailbox module read: each message starts with a From_ line
 * ("From SENDER DATE", the date in asctime(3) form, UTC), its lines end
 * in LF (the message's CR LF become LF), every line that matches
 * ^>*From  gets one more '>' in front (so that a reader that removes one
 * gets the message back, and none is taken for a From_ line), and an
 * empty line follows it.  Pure: into a buffer. */
#ifndef ALLIGATE_CTL_MBOX_H
#define ALLIGATE_CTL_MBOX_H

#include <stddef.h>

#include "vbuf.h"

/* The From_ line with its LF: the sender (MAILER-DAEMON for the null
 * sender; spaces and control characters made '_'), the arrival time. */
void    ctl_mbox_from_line(VBUF *out, const char *sender, long long arrival);
/* The message's lines, quoted, then the empty line that ends it. */
void    ctl_mbox_body(VBUF *out, const char *msg, size_t len);

#endif
