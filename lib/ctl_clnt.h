/* The client end of a daemon's request/reply socket, on attr_clnt: one
 * request=VERB (with the attributes its protocol adds) at a time,
 * answered status=0, or another status with reason=TEXT.  master_clnt,
 * relay_clnt, arc_clnt, auth_clnt and tarpit_clnt's status are this
 * client with their protocol's names and their replies made into
 * values. */
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
 * not be asked or what was wrong with its reply, for CTL_CLNT_REFUSED the
 * daemon's reason ("no reason given" when it gave none). */
const char *ctl_clnt_error(const CTL_CLNT *clnt);

/* Starts a request: the message to send, holding request=VERB, for the
 * caller to add its attributes to before ctl_clnt_send().  It is the
 * client's, and stays valid until ctl_clnt_free(). */
ATTR *ctl_clnt_begin(CTL_CLNT *clnt, const char *verb);

/* Adds name=value to the request begun: 0 (nothing for a NULL value), or
 * -1 with "NAME cannot be sent (too long, or a line break in it)" as the
 * error when the framing cannot carry it. */
int ctl_clnt_set(CTL_CLNT *clnt, const char *name, const char *value);

/* Sends the request begun and reads the reply: CTL_CLNT_OK for status=0,
 * CTL_CLNT_REFUSED for another status (ctl_clnt_status() says which),
 * CTL_CLNT_NOANSWER without a reply or for one without a valid status
 * (the daemon is confused). */
int ctl_clnt_send(CTL_CLNT *clnt);

/* ctl_clnt_begin() and ctl_clnt_send() for a request that is only a
 * verb. */
int ctl_clnt_call(CTL_CLNT *clnt, const char *verb);

/* The status of the last reply: 0 unless the request was refused, for
 * protocols that tell refusals apart (the archiver's 1 and -1, authd's
 * 1 and 2). */
long ctl_clnt_status(const CTL_CLNT *clnt);

/* The reply to the last request, valid until the next one. */
const ATTR *ctl_clnt_reply(const CTL_CLNT *clnt);

/* Sets *count to the reply's attribute name, a number from 0 up; else -1,
 * with "reply without a valid NAME" as the error (the daemon is
 * confused: the caller answers CTL_CLNT_NOANSWER). */
int ctl_clnt_count(CTL_CLNT *clnt, const char *name, long *count);

/* For a reply the caller finds makes no sense: sets the error to why and
 * returns CTL_CLNT_NOANSWER. */
int ctl_clnt_confused(CTL_CLNT *clnt, const char *why);

#endif
