#!/usr/bin/env bash
# Memory of small hashes in cachely-server next to Debian's redis-server
# (issue 11's row "1,000,000 small hashes of 10 fields, 8-byte names and
# 16-byte values"): fresh servers on free 127.0.0.1 ports with no
# persistence, the hashes loaded through redis-cli --pipe, and the growth of
# VmRSS and used_memory over the empty server printed with the ratio.
# Kept apart from utils/bench-memory.sh (the lists engineer's file, not in
# this branch); the lead may fold it in as that script's hash row.
#
# Usage: utils/bench-memory-hash.sh   (HASHES=N to change the count)
# Environment: CACHELY_BIN (default build/src/cachely-server of this tree),
#              REDIS_BIN (default redis-server), HASHES (1000000).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/utils/bench-lib.sh"
CACHELY_BIN=${CACHELY_BIN:-$here/build/src/cachely-server}
REDIS_BIN=${REDIS_BIN:-redis-server}
HASHES=${HASHES:-1000000}

bench_require redis-cli awk "$REDIS_BIN"
[ -x "$CACHELY_BIN" ] || { echo "no cachely-server at $CACHELY_BIN (set CACHELY_BIN)" >&2; exit 1; }
bench_init bench-memory-hash
tmp=$bench_tmp

rss_bytes() { awk '/^VmRSS:/ {print $2 * 1024}' "/proc/$1/status"; }
used_memory() {
    redis-cli -h 127.0.0.1 -p "$1" info memory | tr -d '\r' \
        | awk -F: '$1 == "used_memory" {print $2}'
}
mb() { awk -v v="$1" 'BEGIN { printf "%.1f", v / 1048576 }'; }

# HSET hash:N f0000000 <16 bytes> ... f0000009 <16 bytes>, as RESP.
gen_load() {
    awk -v n="$HASHES" 'BEGIN {
        for (i = 0; i < n; i++) {
            k = "hash:" i
            printf "*22\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n", length(k), k
            for (j = 0; j < 10; j++) {
                printf "$8\r\nf%07d\r\n$16\r\n%016d\r\n", j, i * 10 + j
            }
        }
    }'
}

# measure NAME BINARY ARGS...: start, load, print "rss_growth used_growth".
measure() {
    local name=$1 bin=$2 port pid rss0 used0 out
    shift 2
    port=$(bench_free_port)
    "$bin" --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$tmp" --logfile "$tmp/$name.log" "$@" &
    pid=$!
    bench_pids+=("$pid")
    bench_wait_ping "$name" "$port" "$pid"
    rss0=$(rss_bytes "$pid")
    used0=$(used_memory "$port")
    out=$(gen_load | redis-cli -h 127.0.0.1 -p "$port" --pipe --pipe-timeout 30 2>&1 | tail -n 1) || true
    case "$out" in *"errors: 0,"*) ;; *) echo "note: $name: redis-cli --pipe said: $out" >&2 ;; esac
    local enc n
    enc=$(redis-cli -h 127.0.0.1 -p "$port" object encoding hash:0)
    n=$(redis-cli -h 127.0.0.1 -p "$port" dbsize)
    echo "$name: dbsize=$n encoding=$enc" >&2
    echo "$(( $(rss_bytes "$pid") - rss0 )) $(( $(used_memory "$port") - used0 ))"
    bench_stop_pid "$pid"
}

echo "cachely: $CACHELY_BIN"
echo "redis:   $("$REDIS_BIN" --version)"
read -r crss cused < <(measure cachely "$CACHELY_BIN" --daemonize no)
read -r rrss rused < <(measure redis "$REDIS_BIN")
echo
echo "memory: $HASHES hashes x 10 fields (8-byte names, 16-byte values), growth over the empty server"
printf '%-16s %14s %14s %8s\n' metric 'cachely MB' 'redis MB' ratio
printf '%-16s %14s %14s %8s\n' RSS "$(mb "$crss")" "$(mb "$rrss")" "$(bench_ratio "$crss" "$rrss")"
printf '%-16s %14s %14s %8s\n' used_memory "$(mb "$cused")" "$(mb "$rused")" "$(bench_ratio "$cused" "$rused")"
