/* hiredis' asynchronous API on lib/events: the five hooks a
 * redisAsyncContext calls when it wants to read, stop reading, write,
 * stop writing, or is going away. */
#ifndef ALLIGATE_RK_REDIS_EV_H
#define ALLIGATE_RK_REDIS_EV_H

#include <hiredis/async.h>

/* Attaches ac to the event loop; call once, right after connecting. */
void rk_redis_ev_attach(redisAsyncContext *ac);

#endif
