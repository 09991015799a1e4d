/* The Lua scripts that keep ratekeeper's counters in Redis: every update
 * and every read is done by a script, run atomically by the server (no
 * read then write from a client), and every key a script writes gets
 * its expiry in the same script.  The window arithmetic is rk_window.c's,
 * written again in Lua; t/unit/check_rk_lua.c runs one table of cases
 * through both.
 *
 * Keys (PREFIX is redis_key_prefix):
 *
 *   PREFIX w:COUNTER:KEY   a sliding window, "2 WINDOW_MS TOTAL N
 *                          ID:COUNT ...": the sum and number of its
 *                          buckets, then the non-empty buckets, oldest
 *                          first, as rk_window.c keeps them; expires
 *                          when its count falls to 0.  An update reads
 *                          the header, the buckets leaving at the front
 *                          and the newest (a record changed by hand is
 *                          checked only that far); anything else (format
 *                          1, a changed window) is read whole
 *   PREFIX c:KEY           open connections of KEY: a hash, gateway id
 *                          -> connections it registered
 *   PREFIX gk:GATEWAY      the KEYs the gateway holds connections of
 *   PREFIX g:GATEWAY       the gateway's heartbeat: its incarnation (a
 *                          random id per start of ratekeeper), expiring
 *                          after redis_heartbeat_time
 *
 * A gateway's connections count only while its heartbeat lives; a script
 * that meets those of a dead gateway removes them.
 *
 * Time: every script takes now (ms) as its first argument; empty means
 * the server's clock (TIME), which is what ratekeeper passes, so that the
 * gateways of a cluster agree on time whatever their clocks say.  The
 * tests pass their own. */
#ifndef ALLIGATE_RK_LUA_H
#define ALLIGATE_RK_LUA_H

typedef enum RK_LUA_ID {
    /* The operations of many requests in one call (Redis' cost per
     * call, its script's preamble, dispatch and reply, paid once for
     * them all); each is atomic as the call is, and its keys get their
     * expiry in it.
     *
     * KEYS: the gateway's index, the gateway's heartbeat, then one key
     * per operation.  ARGV: now, prefix, gateway, incarnation,
     * heartbeat_ms, ttl_ms, then the operations, in the order of their
     * keys:
     *
     *   a WINDOW_MS N  (key: a window) counts N events (N may be 0: the
     *                  window is only re-bucketed and pruned) -> count
     *   c              (key: a window) -> {count, window_ms, clear_ms}
     *                  (clear_ms: from now until the count is 0), all 0
     *                  when there is nothing
     *   n DELTA KEY    (key: the connections of KEY) registers (DELTA
     *                  1) or releases (-1) one of the gateway's
     *                  connections, or neither (0), heartbeat renewed
     *                  -> the live total
     *
     * -> one result per operation, in order; an operation with bad
     * arguments has an error in its place, the others are done.  A
     * call touches many keys: Redis Cluster (keys on many shards) is
     * not supported, one server (with replicas, Sentinel) is. */
    RK_LUA_OPS,
    /* KEYS: the windows of the counters (RK_LUA_COUNTERS of them), then
     * the connections.  ARGV: now, prefix.  -> {connections, then count,
     * window_ms, clear_ms per counter} */
    RK_LUA_SHOW,
    /* KEYS: the windows of the counters.  -> how many there were */
    RK_LUA_RESET,
    /* KEYS: the gateway's index, its heartbeat.  ARGV: now, prefix,
     * gateway, incarnation, heartbeat_ms, ttl_ms, then KEY, N pairs: the
     * gateway's registrations as they are (replacing what Redis had),
     * heartbeat renewed.  -> {keys, 1 when another incarnation held the
     * heartbeat} */
    RK_LUA_SYNC,
    /* ARGV: now, prefix, then full key names of windows and connections
     * (as SCAN finds them).  -> {count, window_ms, clear_ms} per name */
    RK_LUA_COUNTS,
    RK_LUA_NSCRIPTS
} RK_LUA_ID;

/* Counters RK_LUA_SHOW and RK_LUA_RESET take, in rk_state_counters'
 * order. */
#define RK_LUA_COUNTERS     4

/* The script's source, and a name for messages. */
const char *rk_lua_source(RK_LUA_ID id);
const char *rk_lua_name(RK_LUA_ID id);

#endif
