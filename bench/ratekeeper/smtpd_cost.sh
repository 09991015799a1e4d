#!/bin/bash
# What the rate checks cost smtpd: messages accepted per second by a real
# instance (smtpd writing and fsyncing each message into the queue), with
# the limits off (ratekeeper never asked) and on (asked at connect, at MAIL
# and at the end of every session, with limits so high that nothing is
# refused).  Runs by hand; needs Postfix's smtp-source.
#
#   bench/ratekeeper/smtpd_cost.sh [MESSAGES] [SESSIONS] [ROUNDS]
#
# BASE=DIR puts the instances there instead of /tmp (BASE=/dev/shm: no
# disk, so the same rounds differ little and the checks' share is at its
# largest, fsync costing nothing there).  CHECKS=mail compares only the
# sender rate check: smtpd_client_connection_count_limit at its default
# (50, more than the sessions) in both, sender_rate_limit off and on.
set -eu
cd "$(dirname "$0")/../.."
top=$(pwd)
bin=$top/${BUILD:-build}/bin
messages=${1:-2000}
sessions=${2:-20}
rounds=${3:-3}
source=/usr/sbin/smtp-source
[ -x "$source" ] || { echo "smtpd_cost: needs $source (postfix)" >&2; exit 1; }

# CPU seconds used so far by master and its children, living (their own
# time) and reaped (in master's children's time).
instance_cpu() {
    python3 - "$1" <<'PY'
import os, sys
master = int(sys.argv[1])
tick = os.sysconf("SC_CLK_TCK")
def fields(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()
total = sum(int(x) for x in fields(master)[11:15])
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            f = fields(int(pid))
        except OSError:
            continue
        if int(f[1]) == master:
            total += int(f[11]) + int(f[12])
print("%.3f" % (total / tick))
PY
}

# One instance; $1 is extra main.cf text.  Prints messages per second and
# the CPU milliseconds of the whole instance per message.
run() {
    local dir port start end rate master cpu0 cpu1
    dir=$(mktemp -d "${BASE:-/tmp}/smtpd_cost.XXXXXX")
    chmod 755 "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
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
        [ "$(id -u)" = 0 ] && echo "daemon_user = nobody"
        echo "$1"
    } > "$dir/main.cf"
    "$bin/alligatectl" -c "$dir" start > /dev/null
    # ratekeeper up (or, with the limits off, at least started).
    for _ in $(seq 50); do
        "$bin/alligatectl" -c "$dir" rate top > /dev/null 2>&1 && break
        sleep 0.1
    done
    "$source" -s "$sessions" -m 50 -f bench@sender.example -t someone@example.com \
        "127.0.0.1:$port"                           # warm-up
    master=$(cat "$dir/run/master.pid")
    cpu0=$(instance_cpu "$master")
    start=$(date +%s.%N)
    "$source" -s "$sessions" -m "$messages" -f bench@sender.example \
        -t someone@example.com "127.0.0.1:$port"
    end=$(date +%s.%N)
    sleep 0.2
    cpu1=$(instance_cpu "$master")
    "$bin/alligatectl" -c "$dir" stop > /dev/null
    rate=$(echo "$messages / ($end - $start)" | bc -l)
    # A session that went on without the limits was not checked: say so,
    # and keep the instance's log.
    if grep -q "ratekeeper: no answer" "$dir/log"; then
        echo "smtpd_cost: some sessions had no answer from ratekeeper; see $dir/log" >&2
    else
        rm -rf "$dir"
    fi
    printf "%.0f %.3f" "$rate" "$(echo "1000 * ($cpu1 - $cpu0) / $messages" | bc -l)"
}

if [ "${CHECKS:-all}" = mail ]; then
    off="sender_rate_limit = 0"
    on="sender_rate_limit = 10000000
sender_rate_window = 1m"
else
    off="sender_rate_limit = 0
smtpd_client_connection_count_limit = 0"
    on="sender_rate_limit = 10000000
sender_rate_window = 1m
smtpd_client_connection_count_limit = 100000"
fi

echo "smtpd accept throughput, $messages messages over $sessions concurrent sessions"
rate_off=0 rate_on=0 cpu_off=0 cpu_on=0 ratios=""
for r in $(seq "$rounds"); do
    # Alternate which goes first: a file system that slows down run after
    # run (ext4 reusing inodes) must not favour either.
    if [ $((r % 2)) = 1 ]; then
        read -r a ca <<< "$(run "$off")"
        read -r b cb <<< "$(run "$on")"
    else
        read -r b cb <<< "$(run "$on")"
        read -r a ca <<< "$(run "$off")"
    fi
    echo "round $r: limits off $a msg/s ($ca ms CPU/msg), limits on $b msg/s ($cb ms CPU/msg)"
    rate_off=$((rate_off + a)) rate_on=$((rate_on + b))
    cpu_off=$(echo "$cpu_off + $ca" | bc -l) cpu_on=$(echo "$cpu_on + $cb" | bc -l)
    ratios="$ratios $(echo "$b / $a" | bc -l)"
done
echo "mean: limits off $((rate_off / rounds)) msg/s, limits on $((rate_on / rounds)) msg/s" \
     "(throughput $(echo "100 * ($rate_off - $rate_on) / $rate_off" | bc -l | xargs printf "%+.1f")% lower)"
echo "median of the rounds' on/off throughput: $(printf "%s\n" $ratios | sort -g |
     awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
                               printf "%.3f (%+.1f%%)", m, 100 * (m - 1) }')"
echo "CPU per message: limits off $(echo "$cpu_off / $rounds" | bc -l | xargs printf "%.3f") ms," \
     "limits on $(echo "$cpu_on / $rounds" | bc -l | xargs printf "%.3f") ms" \
     "($(echo "100 * ($cpu_on - $cpu_off) / $cpu_off" | bc -l | xargs printf "%+.1f")%)"
