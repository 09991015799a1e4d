/* ratekeeper's Redis backend: the counters of a cluster of gateways,
 * kept in one Redis server by the scripts of rk_lua.h.
 *
 * One asynchronous connection (hiredis on lib/events): the operations
 * of the requests (plans, rk_plan.h) read in one turn of the event loop
 * go out together, in one call of the ops script (rk_lua.h), so that
 * many sessions share the round trip and Redis' cost per call, and each
 * request has its own deadline, redis_timeout: what has no result by
 * then is answered from the local store, and Redis counts as slow until
 * it answers in time again.  A connection that breaks, or stays slow,
 * is dropped and tried again every second; meanwhile ratekeeper answers
 * from its local store (limits per gateway), and says so at most once a
 * minute.
 *
 * At every connection: AUTH (redis_password_file), SELECT
 * (redis_database), ROLE (a replica is not used), SCRIPT LOAD of every
 * script, and the sync of this gateway's connection registrations;
 * afterwards the sync again every third of redis_heartbeat_time, which
 * keeps the gateway's heartbeat alive.  With redis_sentinels, the
 * master's address comes from the first Sentinel that knows it, asked
 * again at every heartbeat: after a failover the connection moves to
 * the new master. */
#ifndef ALLIGATE_RK_REDIS_H
#define ALLIGATE_RK_REDIS_H

#include "rk_plan.h"
#include "vbuf.h"

typedef struct RK_REDIS RK_REDIS;

typedef struct RK_REDIS_CONF {
    char *const *servers;               /* host[:port] or unix:/path */
    char *const *sentinels;             /* host[:port]; empty: none */
    const char *sentinel_master;
    const char *password;               /* NULL: no AUTH */
    int database;
    const char *prefix;
    int timeout_ms;
    int heartbeat_ms;
    const char *gateway;                /* this gateway's id */
} RK_REDIS_CONF;

/* This gateway's registrations, for the sync: calls fn for every key
 * with the connections it holds of it. */
typedef void (*RK_REDIS_WALK_FN)(const char *key, unsigned long n,
                                 void *fn_context);
typedef void (*RK_REDIS_REGS_FN)(RK_REDIS_WALK_FN fn, void *fn_context,
                                 void *context);

/* The plan's operations have their results, or never will. */
typedef void (*RK_REDIS_DONE_FN)(RK_PLAN *plan, void *context);

/* Connects in the background (from the event loop). */
RK_REDIS *rk_redis_create(const RK_REDIS_CONF *conf, RK_REDIS_REGS_FN regs,
                          void *regs_context);
/* Finishes every plan in flight (done runs with what they have). */
RK_REDIS *rk_redis_free(RK_REDIS *r);

/* 1 when conf is what r runs with (a reload that changes nothing of
 * it keeps the connection). */
int rk_redis_same_conf(const RK_REDIS *r, const RK_REDIS_CONF *conf);

/* 1 when plans should go to Redis and be waited for. */
int rk_redis_ready(const RK_REDIS *r);
/* 1 when there is a connection at all (ready, or slow). */
int rk_redis_connected(const RK_REDIS *r);

/* Sends the plan's operations; done(plan, context) runs once, from the
 * event loop (never inside this call), when all have their results or
 * the deadline has passed.  The plan stays the caller's. */
void rk_redis_submit(RK_REDIS *r, RK_PLAN *plan, RK_REDIS_DONE_FN done,
                     void *context);
/* Sends the plan's operations without waiting for them (what changed
 * here while Redis was slow, a socket's registrations released); the
 * plan is freed. */
void rk_redis_send(RK_REDIS *r, RK_PLAN *plan);

/* For alligatectl status. */
typedef struct RK_REDIS_STATUS {
    int reachable;                      /* ready */
    const char *server;                 /* the one in use or tried last */
    const char *error;                  /* why not reachable, or "" */
    long long since_ms;                 /* in this state, for so long */
} RK_REDIS_STATUS;

void rk_redis_status(const RK_REDIS *r, RK_REDIS_STATUS *status);

#endif
