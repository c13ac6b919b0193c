#!/usr/bin/env bash
# Latency seen by a concurrent client while a huge set is deleted: a set of
# MEMBERS 16-byte strings is loaded (SADD batches through redis-cli --pipe)
# into cachely-server and into redis-server, then one client sends PINGs
# back to back while another sends UNLINK (or DEL with --del) of the set;
# prints the deleting command's own time and the PINGs' p50 / p99 / max.
# Issue 11's target: UNLINK of a 10,000,000-member set keeps p99 < 10 ms.
#
# Usage: utils/bench-unlink-set.sh [--del]
# Environment: CACHELY_BIN (default build/src/cachely-server of this tree),
#              REDIS_BIN (default redis-server), MEMBERS (10000000).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/utils/bench-lib.sh"
CACHELY_BIN=${CACHELY_BIN:-$here/build/src/cachely-server}
REDIS_BIN=${REDIS_BIN:-redis-server}
MEMBERS=${MEMBERS:-10000000}
cmd=UNLINK
if [ "${1:-}" = "--del" ]; then cmd=DEL; shift; fi
quick=0
rounds=1
bench_parse_args "$@"
bench_require redis-cli /usr/bin/python3 "$REDIS_BIN"
[ -x "$CACHELY_BIN" ] || { echo "no cachely-server at $CACHELY_BIN (set CACHELY_BIN)" >&2; exit 1; }
bench_init bench-unlink-set
tmp=$bench_tmp

gen_load() {
    awk -v n="$MEMBERS" 'BEGIN {
        for (i = 0; i < n; i += 1000) {
            m = (n - i < 1000) ? n - i : 1000
            printf "*%d\r\n$4\r\nSADD\r\n$3\r\nbig\r\n", m + 2
            for (j = i; j < i + m; j++) printf "$16\r\n%016d\r\n", j
        }
    }'
}

# port -> "cmd_ms pings p50 p99 max"
measure() {
    /usr/bin/python3 - "$1" "$cmd" <<'PY'
import sys, threading, time
import redis
port, cmd = int(sys.argv[1]), sys.argv[2]
r = redis.Redis(host="127.0.0.1", port=port)
lat, stop = [], [False]
def pinger():
    c = redis.Redis(host="127.0.0.1", port=port)
    while not stop[0]:
        t = time.perf_counter()
        c.ping()
        lat.append((time.perf_counter() - t) * 1000)
th = threading.Thread(target=pinger)
th.start()
time.sleep(0.5)
t = time.perf_counter()
r.execute_command(cmd, "big")
took = (time.perf_counter() - t) * 1000
time.sleep(1.0)
stop[0] = True
th.join()
lat.sort()
print("%.1f %d %.3f %.3f %.3f" % (took, len(lat), lat[len(lat) // 2],
                                   lat[int(len(lat) * 0.99)], lat[-1]))
PY
}

run_one() { # name bin extra-args...
    local name=$1 bin=$2 port pid out
    shift 2
    port=$(bench_free_port)
    "$bin" --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
        --dir "$tmp" --logfile "$tmp/$name.log" "$@" &
    pid=$!
    bench_pids+=("$pid")
    bench_wait_ping "$name" "$port" "$pid"
    gen_load | redis-cli -h 127.0.0.1 -p "$port" --pipe >/dev/null
    out=$(measure "$port")
    set -- $out
    printf '%-10s %10s %12s %8s %8s %8s %8s\n' "$name" \
        "$(redis-cli -h 127.0.0.1 -p "$port" dbsize)" "$1" "$2" "$3" "$4" "$5"
    bench_stop_all
}

echo "cachely: $CACHELY_BIN"
echo "redis:   $("$REDIS_BIN" --version)"
echo "$cmd of one set of $MEMBERS 16-byte members; PING latency of a concurrent client (ms)"
printf '%-10s %10s %12s %8s %8s %8s %8s\n' server 'keys after' "$cmd ms" pings p50 p99 max
run_one cachely "$CACHELY_BIN"
run_one redis "$REDIS_BIN"
