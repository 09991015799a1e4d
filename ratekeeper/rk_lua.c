/* The Lua scripts of rk_lua.h.  Each is the parts it needs of the common
 * code (the window arithmetic of rk_window.c, in Lua; the connections of
 * live gateways) followed by its own body: Redis runs a script's whole
 * text at every call, and every function defined costs a closure each
 * time, so a script carries only what it uses.  Lua 5.1, as Redis runs
 * it, has only doubles: every integer here stays below 2^53, where
 * doubles are exact, and divisions are floored exactly (fdiv corrects the
 * rounded quotient), so the results are rk_window's to the unit.
 * Numbers are written with %d, never tostring() (which keeps 14
 * digits). */
#include <stddef.h>

#include "msg.h"
#include "rk_lua.h"

/* Constants, exact floored division, integer arguments, the clock. */
#define RK_LUA_BASE \
    "local BUCKETS = 60\n" \
    "local TIME_MAX = 4503599627370496\n" \
    "local WINDOW_MAX = 34560000000\n" \
    "local UINT_MAX = 4294967295\n" \
    "local floor, format, min = math.floor, string.format, math.min\n" \
    "local match = string.match\n" \
    "\n" \
    "local function fdiv(a, b)\n" \
    "    local q = floor(a / b)\n" \
    "    local r = a - q * b\n" \
    "    if r < 0 then q = q - 1 elseif r >= b then q = q + 1 end\n" \
    "    return q\n" \
    "end\n" \
    "\n" \
    "local function width_of(window)\n" \
    "    return fdiv(window + BUCKETS - 1, BUCKETS)\n" \
    "end\n" \
    "\n" \
    "local function int(s)\n" \
    "    local v = tonumber(s)\n" \
    "    if v == nil or v ~= v or v ~= floor(v) then return nil end\n" \
    "    return v\n" \
    "end\n" \
    "\n" \
    "local function clock(arg)\n" \
    "    if arg ~= nil and arg ~= '' then\n" \
    "        local v = int(arg)\n" \
    "        if v == nil or v < -TIME_MAX or v > TIME_MAX then\n" \
    "            error('bad time')\n" \
    "        end\n" \
    "        return v\n" \
    "    end\n" \
    "    local t = redis.call('TIME')\n" \
    "    return tonumber(t[1]) * 1000 + floor(tonumber(t[2]) / 1000)\n" \
    "end\n"

/* The window arithmetic: rk_window.c's functions of the same names, the
 * stored form (format 2 written, 1 and 2 read), the quick paths that
 * update or read a stored window without decoding all of it, and a
 * window's count, length and end for show. */
#define RK_LUA_WINDOW \
    "local function clear_time(w)\n" \
    "    local n = #w.ids\n" \
    "    if n == 0 then return nil end\n" \
    "    return (w.ids[n] + 1) * w.width + w.window\n" \
    "end\n" \
    "\n" \
    "local function encode(w)\n" \
    "    local parts, total = {}, 0\n" \
    "    for i = 1, #w.ids do\n" \
    "        parts[i] = format(' %d:%d', w.ids[i], w.counts[i])\n" \
    "        total = total + w.counts[i]\n" \
    "    end\n" \
    "    return format('2 %d %d %d', w.window, total, #w.ids) .. table.concat(parts)\n" \
    "end\n" \
    "\n" \
    "local function empty()\n" \
    "    return {window = 0, width = 0, ids = {}, counts = {}}\n" \
    "end\n" \
    "\n" \
    "-- Every bucket read and checked (formats 1 and 2): for the records the\n" \
    "-- quick paths below do not take.\n" \
    "local function decode(s, now)\n" \
    "    if not s then return empty() end\n" \
    "    local v, wtext = match(s, '^([12]) (%-?%d+)')\n" \
    "    local window = int(wtext)\n" \
    "    if window == nil or window < 1 or window > WINDOW_MAX then return empty() end\n" \
    "    local used = 2 + #wtext\n" \
    "    local total, nb\n" \
    "    if v == '2' then\n" \
    "        local ttext, ntext = match(s, '^ (%d+) (%d+)', used + 1)\n" \
    "        total, nb = int(ttext), int(ntext)\n" \
    "        if total == nil or nb == nil then return empty() end\n" \
    "        used = used + 2 + #ttext + #ntext\n" \
    "    end\n" \
    "    local width = width_of(window)\n" \
    "    local id_max = fdiv(TIME_MAX, width)\n" \
    "    local ids, counts, sum = {}, {}, 0\n" \
    "    for itext, ctext in string.gmatch(string.sub(s, used + 1), ' (%-?%d+):(%d+)') do\n" \
    "        local id, c = int(itext), int(ctext)\n" \
    "        if id == nil or c == nil or c < 1 or c > UINT_MAX\n" \
    "            or id < -id_max or id > id_max\n" \
    "            or (#ids > 0 and id <= ids[#ids]) or #ids > BUCKETS then\n" \
    "            return empty()\n" \
    "        end\n" \
    "        ids[#ids + 1] = id\n" \
    "        counts[#counts + 1] = c\n" \
    "        sum = sum + c\n" \
    "        used = used + 2 + #itext + #ctext\n" \
    "    end\n" \
    "    -- Nothing but the buckets: the lengths of what was read add up.\n" \
    "    if #ids == 0 or used ~= #s then return empty() end\n" \
    "    if v == '2' and (total ~= sum or nb ~= #ids) then return empty() end\n" \
    "    local w = {window = window, width = width, ids = ids, counts = counts}\n" \
    "    if now >= clear_time(w) then return empty() end\n" \
    "    return w\n" \
    "end\n" \
    "\n" \
    "local function count(w, now)\n" \
    "    local n = #w.ids\n" \
    "    if n == 0 then return 0 end\n" \
    "    local oldest = fdiv(now - w.window, w.width)\n" \
    "    local total = 0\n" \
    "    for i = n, 1, -1 do\n" \
    "        if w.ids[i] < oldest then break end\n" \
    "        total = total + w.counts[i]\n" \
    "    end\n" \
    "    return total\n" \
    "end\n" \
    "\n" \
    "local function prune(w, now)\n" \
    "    local oldest = fdiv(now - w.window, w.width)\n" \
    "    local ids, counts, n = w.ids, w.counts, #w.ids\n" \
    "    local k = 1\n" \
    "    while k <= n and ids[k] < oldest do k = k + 1 end\n" \
    "    if k > 1 then\n" \
    "        local j = 0\n" \
    "        for i = k, n do\n" \
    "            j = j + 1\n" \
    "            ids[j], counts[j] = ids[i], counts[i]\n" \
    "        end\n" \
    "        for i = j + 1, n do\n" \
    "            ids[i], counts[i] = nil, nil\n" \
    "        end\n" \
    "    end\n" \
    "end\n" \
    "\n" \
    "local function rebucket(w, window, now)\n" \
    "    local width = width_of(window)\n" \
    "    local now_id = fdiv(now, width)\n" \
    "    local old_now_id = fdiv(now, w.width)\n" \
    "    local id_max = fdiv(TIME_MAX, width)\n" \
    "    local ids, counts = {}, {}\n" \
    "    for i = 1, #w.ids do\n" \
    "        local id = fdiv((w.ids[i] + 1) * w.width - 1, width)\n" \
    "        if id > now_id and w.ids[i] <= old_now_id then id = now_id end\n" \
    "        if id > id_max then id = id_max elseif id < -id_max then id = -id_max end\n" \
    "        local n = #ids\n" \
    "        if n > 0 and ids[n] == id then\n" \
    "            counts[n] = min(counts[n] + w.counts[i], UINT_MAX)\n" \
    "        else\n" \
    "            ids[n + 1] = id\n" \
    "            counts[n + 1] = w.counts[i]\n" \
    "        end\n" \
    "    end\n" \
    "    w.ids, w.counts, w.window, w.width = ids, counts, window, width\n" \
    "end\n" \
    "\n" \
    "local function add(w, now, window, n)\n" \
    "    if #w.ids == 0 then\n" \
    "        w.window, w.width = window, width_of(window)\n" \
    "    elseif w.window ~= window then\n" \
    "        rebucket(w, window, now)\n" \
    "    end\n" \
    "    prune(w, now)\n" \
    "    local id = fdiv(now, w.width)\n" \
    "    local last = #w.ids\n" \
    "    if last > 0 and (w.ids[last] >= id or last > BUCKETS) then\n" \
    "        w.counts[last] = min(w.counts[last] + n, UINT_MAX)\n" \
    "    elseif n > 0 then\n" \
    "        w.ids[last + 1] = id\n" \
    "        w.counts[last + 1] = n\n" \
    "    end\n" \
    "    return count(w, now)\n" \
    "end\n" \
    "\n" \
    "local function save(key, w, now)\n" \
    "    local clear = clear_time(w)\n" \
    "    if clear == nil or clear <= now then\n" \
    "        redis.call('DEL', key)\n" \
    "    else\n" \
    "        redis.call('SET', key, encode(w), 'PX', format('%d', clear - now))\n" \
    "    end\n" \
    "end\n" \
    "\n" \
    "-- The quick paths, for a format 2 record (\"2 WINDOW TOTAL N\" and its N\n" \
    "-- buckets): only the buckets that leave the window at its front and the\n" \
    "-- newest at its end are read, the rest is copied as it is, so that an\n" \
    "-- update costs the same with 1 bucket or 61.  nil for anything they do\n" \
    "-- not take (another format, a bucket that does not read): decode then\n" \
    "-- reads it all.  front: the window, its total and number of buckets\n" \
    "-- from the first one still in it at now, and where that one starts.\n" \
    "local function front(s, now)\n" \
    "    -- What the patterns took are digits: tonumber reads them (a number\n" \
    "    -- beyond 2^53 only inexactly, which the bounds below refuse).\n" \
    "    local wt, tt, nt, pos, it, ct, after =\n" \
    "        match(s, '^2 (%d+) (%d+) (%d+)() (%-?%d+):(%d+)()')\n" \
    "    if wt == nil then return nil end\n" \
    "    local window, total, nb = tonumber(wt), tonumber(tt), tonumber(nt)\n" \
    "    if window < 1 or window > WINDOW_MAX or nb < 1 or nb > BUCKETS + 1\n" \
    "        or total < nb or total > nb * UINT_MAX then\n" \
    "        return nil\n" \
    "    end\n" \
    "    local width = width_of(window)\n" \
    "    local oldest = fdiv(now - window, width)\n" \
    "    local id, c = tonumber(it), tonumber(ct)\n" \
    "    while true do\n" \
    "        if c < 1 or c > UINT_MAX or c > total then return nil end\n" \
    "        if id >= oldest then return window, width, total, nb, pos, id end\n" \
    "        total, nb, pos = total - c, nb - 1, after\n" \
    "        if nb == 0 then\n" \
    "            if pos ~= #s + 1 then return nil end\n" \
    "            return window, width, total, 0, pos\n" \
    "        end\n" \
    "        it, ct, after = match(s, '^ (%-?%d+):(%d+)()', pos)\n" \
    "        if it == nil then return nil end\n" \
    "        id, c = tonumber(it), tonumber(ct)\n" \
    "    end\n" \
    "end\n" \
    "-- The newest bucket of the record from pos on (first: the id at pos):\n" \
    "-- where it starts, its id and count.  It is the last thing in s, and\n" \
    "-- no bucket is longer than 29 bytes (a space, 17 for the id, a colon,\n" \
    "-- 10 for the count): the search starts that near the end.\n" \
    "local function newest(s, pos, first)\n" \
    "    local from = #s - 29\n" \
    "    if from < pos then from = pos end\n" \
    "    local at, itext, ctext = match(s, '() (%-?%d+):(%d+)$', from)\n" \
    "    if at == nil then return nil end\n" \
    "    local id, c = tonumber(itext), tonumber(ctext)\n" \
    "    if c < 1 or c > UINT_MAX or id < first then\n" \
    "        return nil\n" \
    "    end\n" \
    "    return at, id, c\n" \
    "end\n" \
    "\n" \
    "-- add on the stored record s: the count, and the record to store with\n" \
    "-- the time its count falls to 0 (nil: nothing to store); nil when the\n" \
    "-- quick path does not take s or the window changed.\n" \
    "local function quick_add(s, now, window, n)\n" \
    "    local w, width, total, nb, pos, first = front(s, now)\n" \
    "    if w ~= window then return nil end\n" \
    "    local id = fdiv(now, width)\n" \
    "    if nb == 0 then\n" \
    "        if n == 0 then return 0 end\n" \
    "        return n, format('2 %d %d 1 %d:%d', window, n, id, n),\n" \
    "               (id + 1) * width + window\n" \
    "    end\n" \
    "    local at, last, c = newest(s, pos, first)\n" \
    "    if at == nil then return nil end\n" \
    "    local record\n" \
    "    if last >= id or nb > BUCKETS then\n" \
    "        local sum = min(c + n, UINT_MAX)\n" \
    "        total = total + sum - c\n" \
    "        record = format('2 %d %d %d%s %d:%d', window, total, nb,\n" \
    "                        string.sub(s, pos, at - 1), last, sum)\n" \
    "    elseif n > 0 then\n" \
    "        total, nb, last = total + n, nb + 1, id\n" \
    "        record = format('2 %d %d %d%s %d:%d', window, total, nb,\n" \
    "                        string.sub(s, pos), id, n)\n" \
    "    else\n" \
    "        record = format('2 %d %d %d%s', window, total, nb, string.sub(s, pos))\n" \
    "    end\n" \
    "    return total, record, (last + 1) * width + window\n" \
    "end\n" \
    "\n" \
    "-- Counts n events in key's window at now; returns the count.\n" \
    "local function add_key(key, now, window, n)\n" \
    "    local s = redis.call('GET', key)\n" \
    "    if s then\n" \
    "        local c, record, clear = quick_add(s, now, window, n)\n" \
    "        if c ~= nil then\n" \
    "            if record == nil then\n" \
    "                redis.call('DEL', key)\n" \
    "            else\n" \
    "                redis.call('SET', key, record, 'PX', format('%d', clear - now))\n" \
    "            end\n" \
    "            return c\n" \
    "        end\n" \
    "    end\n" \
    "    local w = decode(s, now)\n" \
    "    local c = add(w, now, window, n)\n" \
    "    save(key, w, now)\n" \
    "    return c\n" \
    "end\n" \
    "\n" \
    "local function show(key, now)\n" \
    "    local s = redis.call('GET', key)\n" \
    "    if not s then return {0, 0, 0} end\n" \
    "    local window, width, total, nb, pos, first = front(s, now)\n" \
    "    if window ~= nil then\n" \
    "        if nb == 0 then return {0, 0, 0} end\n" \
    "        local at, last = newest(s, pos, first)\n" \
    "        if at ~= nil then\n" \
    "            return {total, window, (last + 1) * width + window - now}\n" \
    "        end\n" \
    "    end\n" \
    "    local w = decode(s, now)\n" \
    "    local c = count(w, now)\n" \
    "    if c == 0 then return {0, 0, 0} end\n" \
    "    return {c, w.window, clear_time(w) - now}\n" \
    "end\n"

/* The connections of the gateways whose heartbeat lives; extend: an
 * expiry that only grows. */
#define RK_LUA_LIVE \
    "local function live(key, prefix, me)\n" \
    "    local t = redis.call('HGETALL', key)\n" \
    "    local total = 0\n" \
    "    for i = 1, #t, 2 do\n" \
    "        local n = tonumber(t[i + 1]) or 0\n" \
    "        if n > 0 and (t[i] == me\n" \
    "                      or redis.call('EXISTS', prefix .. 'g:' .. t[i]) == 1) then\n" \
    "            total = total + n\n" \
    "        else\n" \
    "            redis.call('HDEL', key, t[i])\n" \
    "        end\n" \
    "    end\n" \
    "    return total\n" \
    "end\n" \
    "\n" \
    "local function extend(key, ttl)\n" \
    "    if redis.call('PTTL', key) < ttl then\n" \
    "        redis.call('PEXPIRE', key, ttl)\n" \
    "    end\n" \
    "end\n"

typedef struct RK_LUA_SCRIPT {
    const char *name;
    const char *source;
} RK_LUA_SCRIPT;

static const RK_LUA_SCRIPT rk_lua_scripts[RK_LUA_NSCRIPTS] = {
    [RK_LUA_OPS] = {"ops", RK_LUA_BASE RK_LUA_WINDOW RK_LUA_LIVE
    "local now = clock(ARGV[1])\n"
    "local prefix, me, inc = ARGV[2], ARGV[3], ARGV[4]\n"
    "local hb, ttl = int(ARGV[5]), int(ARGV[6])\n"
    "if hb == nil or hb < 1 or ttl == nil or ttl < 1 then\n"
    "    error('bad arguments')\n"
    "end\n"
    "local out, beat = {}, false\n"
    "local a, k = 7, 3\n"
    "while a <= #ARGV do\n"
    "    local op, key, r = ARGV[a], KEYS[k], nil\n"
    "    if key == nil then error('an operation without its key') end\n"
    "    if op == 'a' then\n"
    "        local window, n = int(ARGV[a + 1]), int(ARGV[a + 2])\n"
    "        a = a + 3\n"
    "        if window == nil or window < 1 or window > WINDOW_MAX\n"
    "            or n == nil or n < 0 or n > UINT_MAX then\n"
    "            r = {err = 'bad window or count'}\n"
    "        else\n"
    "            r = add_key(key, now, window, n)\n"
    "        end\n"
    "    elseif op == 'c' then\n"
    "        a = a + 1\n"
    "        r = show(key, now)\n"
    "    elseif op == 'n' then\n"
    "        local delta, name = int(ARGV[a + 1]), ARGV[a + 2]\n"
    "        a = a + 3\n"
    "        if delta == nil or name == nil then\n"
    "            r = {err = 'bad delta'}\n"
    "        else\n"
    "            if not beat then\n"
    "                redis.call('SET', KEYS[2], inc, 'PX', hb)\n"
    "                beat = true\n"
    "            end\n"
    "            if delta ~= 0 then\n"
    "                local n = redis.call('HINCRBY', key, me, delta)\n"
    "                if n <= 0 then\n"
    "                    redis.call('HDEL', key, me)\n"
    "                    redis.call('SREM', KEYS[1], name)\n"
    "                else\n"
    "                    redis.call('SADD', KEYS[1], name)\n"
    "                end\n"
    "            end\n"
    "            r = live(key, prefix, me)\n"
    "            extend(key, ttl)\n"
    "            extend(KEYS[1], ttl)\n"
    "        end\n"
    "    else\n"
    "        error('bad operation')\n"
    "    end\n"
    "    out[k - 2] = r\n"
    "    k = k + 1\n"
    "end\n"
    "return out\n"},
    [RK_LUA_SHOW] = {"show", RK_LUA_BASE RK_LUA_WINDOW RK_LUA_LIVE
    "local now = clock(ARGV[1])\n"
    "local out = {live(KEYS[5], ARGV[2], nil)}\n"
    "for i = 1, 4 do\n"
    "    local r = show(KEYS[i], now)\n"
    "    out[#out + 1] = r[1]\n"
    "    out[#out + 1] = r[2]\n"
    "    out[#out + 1] = r[3]\n"
    "end\n"
    "return out\n"},
    [RK_LUA_RESET] = {"reset", 
    "return redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])\n"},
    [RK_LUA_SYNC] = {"sync", RK_LUA_BASE RK_LUA_LIVE
    "clock(ARGV[1])\n"
    "local prefix, me, inc = ARGV[2], ARGV[3], ARGV[4]\n"
    "local hb, ttl = int(ARGV[5]), int(ARGV[6])\n"
    "if hb == nil or hb < 1 or ttl == nil or ttl < 1 or #ARGV % 2 ~= 0 then\n"
    "    error('bad arguments')\n"
    "end\n"
    "local held = redis.call('GET', KEYS[2])\n"
    "local other = 0\n"
    "if held and held ~= inc then other = 1 end\n"
    "redis.call('SET', KEYS[2], inc, 'PX', hb)\n"
    "local keep = {}\n"
    "for i = 7, #ARGV, 2 do\n"
    "    keep[ARGV[i]] = true\n"
    "end\n"
    "for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
    "    if not keep[key] then\n"
    "        redis.call('HDEL', prefix .. 'c:' .. key, me)\n"
    "    end\n"
    "end\n"
    "redis.call('DEL', KEYS[1])\n"
    "local n = 0\n"
    "for i = 7, #ARGV, 2 do\n"
    "    local v = int(ARGV[i + 1])\n"
    "    if v ~= nil and v > 0 then\n"
    "        local ck = prefix .. 'c:' .. ARGV[i]\n"
    "        redis.call('HSET', ck, me, string.format('%d', v))\n"
    "        extend(ck, ttl)\n"
    "        redis.call('SADD', KEYS[1], ARGV[i])\n"
    "        n = n + 1\n"
    "    end\n"
    "end\n"
    "if n > 0 then\n"
    "    redis.call('PEXPIRE', KEYS[1], ttl)\n"
    "end\n"
    "return {n, other}\n"},
    [RK_LUA_COUNTS] = {"counts", RK_LUA_BASE RK_LUA_WINDOW RK_LUA_LIVE
    "local now = clock(ARGV[1])\n"
    "local prefix = ARGV[2]\n"
    "local wp, cp = prefix .. 'w:', prefix .. 'c:'\n"
    "local out = {}\n"
    "for i = 3, #ARGV do\n"
    "    local k = ARGV[i]\n"
    "    local r = {0, 0, 0}\n"
    "    if string.sub(k, 1, #wp) == wp then\n"
    "        r = show(k, now)\n"
    "    elseif string.sub(k, 1, #cp) == cp then\n"
    "        r = {live(k, prefix, nil), 0, 0}\n"
    "    end\n"
    "    out[#out + 1] = r[1]\n"
    "    out[#out + 1] = r[2]\n"
    "    out[#out + 1] = r[3]\n"
    "end\n"
    "return out\n"},
};

const char *
rk_lua_source(RK_LUA_ID id)
{
    if ((int) id < 0 || id >= RK_LUA_NSCRIPTS)
        msg_panic("rk_lua_source: bad script %d", (int) id);
    return rk_lua_scripts[id].source;
}

const char *
rk_lua_name(RK_LUA_ID id)
{
    if ((int) id < 0 || id >= RK_LUA_NSCRIPTS)
        msg_panic("rk_lua_name: bad script %d", (int) id);
    return rk_lua_scripts[id].name;
}
