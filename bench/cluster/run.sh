#!/bin/bash
# Three Alligate instances sharing one Redis on this machine, against one
# instance alone: messages accepted per second by each (smtpd writing and
# fsyncing every message), with every session asking ratekeeper at
# connect, MAIL and the end (limits so high that nothing is refused, the
# connection limit applied to 127.0.0.1 too).  Runs by hand; needs
# Postfix's smtp-source and redis-server.
#
#   bench/cluster/run.sh [MESSAGES] [SESSIONS] [ROUNDS]
#
# Each round: one instance alone (redis backend), then three at once
# (redis), then three at once with ratekeeper_backend = bdb, the same
# load on each.  BASE=DIR puts the instances there (default /tmp).
#
# CPU=PERCENT gives each instance (master and every process it starts)
# a cgroup of its own limited to PERCENT of one CPU (cgroup v1 cpu
# controller, cpu.cfs_quota_us; needs root), the lone one too: each
# gateway then has the same CPU whether alone or with two others, as
# gateways on machines of their own have, and what the three lose
# against the lone one is what sharing Redis costs them, not the CPUs
# they take from each other on this machine.  Redis and the load
# generators are not limited.
set -eu
cd "$(dirname "$0")/../.."
top=$(pwd)
bin=$top/${BUILD:-build}/bin
messages=${1:-2000}
sessions=${2:-10}
rounds=${3:-3}
source=/usr/sbin/smtp-source
[ -x "$source" ] || { echo "cluster: needs $source (postfix)" >&2; exit 1; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

rport=$(free_port)
rdir=$(mktemp -d "${BASE:-/tmp}/cluster_redis.XXXXXX")
redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$rdir" --logfile "$rdir/redis.log" --daemonize no &
rpid=$!
dirs=()
cleanup() {
    for d in "${dirs[@]}"; do
        "$bin/alligatectl" -c "$d" stop > /dev/null 2>&1 || true
        rm -rf "$d"
    done
    budgets_free
    kill "$rpid" 2>/dev/null || true
    wait "$rpid" 2>/dev/null || true
    rm -rf "$rdir"
}
trap cleanup EXIT
for _ in $(seq 50); do
    redis-cli -p "$rport" ping > /dev/null 2>&1 && break
    sleep 0.1
done

cpu=${CPU:-}
cgroot=/sys/fs/cgroup/cpu
if [ -n "$cpu" ]; then
    [ -w "$cgroot" ] || { echo "cluster: CPU= needs root and $cgroot" >&2; exit 1; }
fi

# Runs "$@" in a new cgroup named $1 limited to $cpu% of one CPU (or as
# it is, without CPU=).
in_budget() {
    local cg=$cgroot/alligate-cluster-$$-$1
    shift
    if [ -z "$cpu" ]; then
        "$@"
        return
    fi
    mkdir "$cg"
    echo 100000 > "$cg/cpu.cfs_period_us"
    echo $((cpu * 1000)) > "$cg/cpu.cfs_quota_us"
    ( echo "$BASHPID" > "$cg/cgroup.procs"; exec "$@" )
}

# The cgroups of instances stopped.
budgets_free() {
    [ -n "$cpu" ] || return 0
    for cg in "$cgroot"/alligate-cluster-$$-*; do
        [ -d "$cg" ] && rmdir "$cg" 2> /dev/null || true
    done
}

# Makes and starts an instance with backend $1; prints "DIR PORT".
instance() {
    local dir port
    dir=$(mktemp -d "${BASE:-/tmp}/cluster.XXXXXX")
    chmod 755 "$dir"
    port=$(free_port)
    {
        echo "smtp_listen = 127.0.0.1:$port"
        echo "myhostname = mx.bench.example"
        echo "local_domains = example.com"
        echo "daemon_directory = $bin"
        echo "queue_directory = $dir/queue"
        echo "data_directory = $dir/data"
        echo "run_directory = $dir/run"
        echo "log_file = $dir/log"
        echo "defer_delivery = yes"
        echo "smtpd_spare_processes = $sessions"
        echo "smtpd_greet_wait = 0"
        echo "sender_rate_limit = 10000000"
        echo "sender_rate_window = 1m"
        echo "smtpd_client_connection_count_limit = 100000"
        echo "smtpd_client_event_limit_exceptions ="
        echo "ratekeeper_backend = $1"
        echo "redis_servers = 127.0.0.1:$rport"
        [ "$(id -u)" = 0 ] && echo "daemon_user = nobody"
    } > "$dir/main.cf"
    in_budget "$(basename "$dir")" "$bin/alligatectl" -c "$dir" start > /dev/null
    for _ in $(seq 50); do
        "$bin/alligatectl" -c "$dir" status 2>/dev/null | grep -q "backend $1.*\(reachable\|keys\)" && break
        sleep 0.1
    done
    "$source" -s "$sessions" -m 50 -f bench@sender.example -t someone@example.com \
        "127.0.0.1:$port"                            # warm-up
    echo "$dir $port"
}

# Loads the instances given as PORT... at once; prints msg/s of each.
load() {
    local pids=() starts=() port i out
    out=$(mktemp)
    for port in "$@"; do
        ( s=$(date +%s.%N)
          "$source" -s "$sessions" -m "$messages" -f bench@sender.example \
              -t someone@example.com "127.0.0.1:$port"
          e=$(date +%s.%N)
          echo "$port $(echo "$messages / ($e - $s)" | bc -l)" >> "$out" ) &
        pids+=($!)
    done
    wait "${pids[@]}"
    for port in "$@"; do
        awk -v p="$port" '$1 == p { printf "%.0f ", $2 }' "$out"
    done
    rm -f "$out"
}

stop_all() {
    for d in "${dirs[@]}"; do
        "$bin/alligatectl" -c "$d" stop > /dev/null 2>&1 || true
        if grep -q "ratekeeper: no answer" "$d/log"; then
            echo "cluster: a session went without ratekeeper's answer; see $d/log" >&2
        else
            rm -rf "$d"
        fi
    done
    dirs=()
    budgets_free
}

echo "accept throughput, $messages messages over $sessions sessions per instance${cpu:+, each instance limited to $cpu% of a CPU}"
for r in $(seq "$rounds"); do
    read -r d p <<< "$(instance redis)"; dirs+=("$d")
    lone=$(load "$p")
    stop_all
    ports=()
    for i in 1 2 3; do read -r d p <<< "$(instance redis)"; dirs+=("$d"); ports+=("$p"); done
    three=$(load "${ports[@]}")
    stop_all
    ports=()
    for i in 1 2 3; do read -r d p <<< "$(instance bdb)"; dirs+=("$d"); ports+=("$p"); done
    three_bdb=$(load "${ports[@]}")
    stop_all
    echo "round $r: alone (redis) $lone msg/s; three sharing Redis: $three msg/s;" \
         "three with bdb: $three_bdb msg/s;" \
         "each/alone: $(for t in $three; do printf "%.2f " "$(echo "$t / $lone" | bc -l)"; done)"
done
