#!/bin/bash
# ratekeeper's two backends in one run: requests per second (closed loop,
# 50 clients) and latency percentiles at a paced rate (100 clients), with
# ratekeeper_backend = bdb and = redis alternately, against one
# redis-server started here (no persistence, loopback).  Runs by hand.
#
#   bench/ratekeeper/backends.sh [SECS] [ROUNDS] [RATE]
#
# Needs make -C bench/ratekeeper and redis-server.  Prints one line per
# run and a summary: medians over the rounds, and redis-server's own CPU
# per request (ratekeeper's is on rk_bench's cpu: line).
#
# KEYS=N WINDOW=MS pass rk_bench's -k and -w (default 10 000 keys, a
# 10-minute window: every key's window holds a bucket or two in a run of
# seconds).  KEYS=1000 WINDOW=6000 fills every key's window (60 buckets
# of 100 ms) within the run: the steady state of a busy sender.
set -eu
cd "$(dirname "$0")/../.."
top=$(pwd)
bin=$top/${BUILD:-build}/bin
bench=$top/bench/ratekeeper/rk_bench
secs=${1:-8}
rounds=${2:-3}
rate=${3:-50000}
[ -x "$bench" ] || { echo "backends: make -C bench/ratekeeper first" >&2; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
rdir=$(mktemp -d /tmp/rk_backends.XXXXXX)
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$rdir" --logfile "$rdir/redis.log" --daemonize no &
rpid=$!
trap 'kill $rpid 2>/dev/null; wait $rpid 2>/dev/null; rm -rf "$rdir"' EXIT
for _ in $(seq 50); do
    redis-cli -p "$port" ping > /dev/null 2>&1 && break
    sleep 0.1
done
redis_conf="ratekeeper_backend = redis
redis_servers = 127.0.0.1:$port
redis_timeout = 50ms"

# redis-server's CPU seconds so far.
redis_cpu() {
    awk '{ print ($14 + $15) / 100 }' "/proc/$rpid/stat"
}

# One rk_bench run: "REQ_PER_S P50 P99 P999" (latencies in us).
one() {
    local backend=$1 mode=$2 out extra=""
    [ "$backend" = redis ] && extra=$redis_conf
    local keys="-k ${KEYS:-10000} -w ${WINDOW:-600000}"
    [ "$backend" = redis ] && redis-cli -p "$port" flushall > /dev/null
    if [ "$mode" = closed ]; then
        out=$("$bench" -r "$bin/ratekeeper" -e "$extra" -c 50 -d "$secs" $keys)
    else
        out=$("$bench" -r "$bin/ratekeeper" -e "$extra" -c 100 -d "$secs" -R "$rate" $keys)
    fi
    echo "$out" | awk '
        /^achieved:/ { rps = $2 }
        /^latency:/  { gsub(",", ""); p50 = $3; p99 = $9; p999 = $12 }
        /^cpu:/      { cpu = $2 }
        END { printf "%s %s %s %s %s\n", rps, p50, p99, p999, cpu }'
}

declare -A res
for r in $(seq "$rounds"); do
    order="bdb redis"
    [ $((r % 2)) = 0 ] && order="redis bdb"
    for mode in closed paced; do
        for backend in $order; do
            c0=$(redis_cpu)
            line=$(one "$backend" "$mode")
            c1=$(redis_cpu)
            read -r rps p50 p99 p999 cpu <<< "$line"
            rcpu=$(echo "1000000 * ($c1 - $c0) / ($rps * ($secs - 1))" | bc -l)
            res[$backend.$mode.rps]="${res[$backend.$mode.rps]:-} $rps"
            res[$backend.$mode.p99]="${res[$backend.$mode.p99]:-} $p99"
            res[$backend.$mode.p50]="${res[$backend.$mode.p50]:-} $p50"
            printf "round %d %-6s %-6s %7s req/s  p50 %6s us  p99 %6s us  p99.9 %6s us  ratekeeper %s us/req%s\n" \
                "$r" "$backend" "$mode" "$rps" "$p50" "$p99" "$p999" "$cpu" \
                "$([ "$backend" = redis ] && printf ", redis-server %.1f us/req" "$rcpu")"
        done
    done
done

median() { printf "%s\n" "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
echo
for mode in closed paced; do
    b=$(median ${res[bdb.$mode.rps]}) d=$(median ${res[redis.$mode.rps]})
    bp=$(median ${res[bdb.$mode.p99]}) dp=$(median ${res[redis.$mode.p99]})
    bm=$(median ${res[bdb.$mode.p50]}) dm=$(median ${res[redis.$mode.p50]})
    printf "%-6s medians: bdb %s req/s p50 %s p99 %s us; redis %s req/s p50 %s p99 %s us; redis/bdb p99 %.2f\n" \
        "$mode" "$b" "$bm" "$bp" "$d" "$dm" "$dp" "$(echo "$dp / $bp" | bc -l)"
done
