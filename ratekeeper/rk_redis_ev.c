/* The adapter of rk_redis_ev.h.  hiredis calls the hooks with ev.data,
 * which is the context itself; the descriptor is read from it at each
 * call (it is fixed for the life of the context).  hiredis may free the
 * context inside redisAsyncHandleRead/Write (EOF, an error, a free from
 * a reply callback); it calls cleanup first, which drops the interest,
 * and nothing here touches the context afterwards. */
#include "events.h"
#include "rk_redis_ev.h"

static void
rk_redis_ev_read(int event, void *context)
{
    (void) event;
    redisAsyncHandleRead(context);
}

static void
rk_redis_ev_write(int event, void *context)
{
    (void) event;
    redisAsyncHandleWrite(context);
}

static void
rk_redis_ev_add_read(void *privdata)
{
    redisAsyncContext *ac = privdata;

    event_enable_read(ac->c.fd, rk_redis_ev_read, ac);
}

static void
rk_redis_ev_del_read(void *privdata)
{
    redisAsyncContext *ac = privdata;

    event_disable_read(ac->c.fd);
}

static void
rk_redis_ev_add_write(void *privdata)
{
    redisAsyncContext *ac = privdata;

    event_enable_write(ac->c.fd, rk_redis_ev_write, ac);
}

static void
rk_redis_ev_del_write(void *privdata)
{
    redisAsyncContext *ac = privdata;

    event_disable_write(ac->c.fd);
}

static void
rk_redis_ev_cleanup(void *privdata)
{
    redisAsyncContext *ac = privdata;

    if (ac->c.fd >= 0)
        event_disable_readwrite(ac->c.fd);
}

void
rk_redis_ev_attach(redisAsyncContext *ac)
{
    ac->ev.data = ac;
    ac->ev.addRead = rk_redis_ev_add_read;
    ac->ev.delRead = rk_redis_ev_del_read;
    ac->ev.addWrite = rk_redis_ev_add_write;
    ac->ev.delWrite = rk_redis_ev_del_write;
    ac->ev.cleanup = rk_redis_ev_cleanup;
}
