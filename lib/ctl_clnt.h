/* The client end of a daemon's control socket (master's, relay's), on
 * attr_clnt: one request=VERB at a time, answered status=0, or status=-1
 * with reason=TEXT.  master_clnt and relay_clnt are this client with
 * their protocol's names and their replies made into values. */
#ifndef ALLIGATE_CTL_CLNT_H
#define ALLIGATE_CTL_CLNT_H

#include "attr.h"

/* Results of the requests. */
#define CTL_CLNT_OK         0
#define CTL_CLNT_NOANSWER   (-1)        /* not running, slow or confused */
#define CTL_CLNT_REFUSED    (-2)        /* it answered no */

typedef struct CTL_CLNT CTL_CLNT;

/* Nothing happens before the first request. */
CTL_CLNT *ctl_clnt_create(const char *socket_path, const char *proto,
                          int version, int timeout_ms);
CTL_CLNT *ctl_clnt_free(CTL_CLNT *clnt);

/* Why the last request failed: for CTL_CLNT_NOANSWER why the daemon could
 * not be asked, for CTL_CLNT_REFUSED the daemon's reason ("no reason
 * given" when it gave none). */
const char *ctl_clnt_error(const CTL_CLNT *clnt);

/* Sends request=VERB and reads the reply.  Anything but status=0, no
 * status included, is a refusal. */
int ctl_clnt_call(CTL_CLNT *clnt, const char *verb);

/* The reply to the last request, valid until the next one. */
const ATTR *ctl_clnt_reply(const CTL_CLNT *clnt);

/* Sets *count to the reply's attribute name, a number from 0 up; else -1,
 * with "reply without a valid NAME" as the error (the daemon is
 * confused: the caller answers CTL_CLNT_NOANSWER). */
int ctl_clnt_count(CTL_CLNT *clnt, const char *name, long *count);

#endif
