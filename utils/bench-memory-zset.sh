#!/usr/bin/env bash
# Memory of one large sorted set in cachely-server next to Debian's
# redis-server, in one run: MEMBERS members "member:<i>" loaded with ZADD
# batches of 1,000 through redis-cli --pipe, first with scattered scores
# ((i * 7919) mod 1000003, so inserts land all over the order), then on fresh
# servers with ascending scores (i, every insert appends).  Prints the RSS
# growth over the empty server and used_memory, with the cachely/redis ratio
# (issue 11's target for a 5,000,000-member sorted set: <= 0.6).
#
# Usage: utils/bench-memory-zset.sh
# Environment: CACHELY_BIN (default build/src/cachely-server of this tree),
#              REDIS_BIN (default redis-server), MEMBERS (5000000).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/utils/bench-lib.sh"
CACHELY_BIN=${CACHELY_BIN:-$here/build/src/cachely-server}
REDIS_BIN=${REDIS_BIN:-redis-server}
MEMBERS=${MEMBERS:-5000000}
quick=0
rounds=1
bench_parse_args "$@"
bench_require redis-cli python3 "$REDIS_BIN"
[ -x "$CACHELY_BIN" ] || { echo "no cachely-server at $CACHELY_BIN (set CACHELY_BIN)" >&2; exit 1; }

bench_init bench-memory-zset
tmp=$bench_tmp

start_servers() {
    cport=$(bench_free_port)
    rport=$(bench_free_port)
    while [ "$rport" = "$cport" ]; do rport=$(bench_free_port); done
    "$CACHELY_BIN" --port "$cport" --bind 127.0.0.1 --maxmemory 0 \
        --daemonize no --dir "$tmp" --logfile "$tmp/cachely.log" --loglevel warning &
    cachely_pid=$!
    bench_pids+=("$cachely_pid")
    "$REDIS_BIN" --port "$rport" --bind 127.0.0.1 --maxmemory 0 \
        --save '' --appendonly no --daemonize no --dir "$tmp" \
        --logfile "$tmp/redis.log" --loglevel warning &
    redis_pid=$!
    bench_pids+=("$redis_pid")
    bench_wait_ping cachely "$cport" "$cachely_pid"
    bench_wait_ping redis "$rport" "$redis_pid"
}

# ZADD big score member ... in batches of 1,000 (written once to a file).
gen_load() { # order
    awk -v n="$MEMBERS" -v order="$1" 'BEGIN {
        for (i = 0; i < n; i += 1000) {
            m = (n - i < 1000) ? n - i : 1000
            printf "*%d\r\n$4\r\nZADD\r\n$3\r\nbig\r\n", 2 * m + 2
            for (j = i; j < i + m; j++) {
                s = (order == "scattered") ? sprintf("%d", (j * 7919) % 1000003) : j ""
                k = "member:" j
                printf "$%d\r\n%s\r\n$%d\r\n%s\r\n", length(s), s, length(k), k
            }
        }
    }' > "$tmp/load.resp"
}

rss() { echo $(( $(awk '/^VmRSS:/ {print $2}' "/proc/$1/status") * 1024 )); }
used_memory() {
    redis-cli -h 127.0.0.1 -p "$1" info memory | tr -d '\r' \
        | awk -F: '$1 == "used_memory" {print $2}'
}
mb() { awk -v v="$1" 'BEGIN { printf "%.1f", v / 1048576 }'; }

measure() { # order
    local c0 r0 c1 r1 cu ru cc rc
    gen_load "$1"
    start_servers
    c0=$(rss "$cachely_pid"); r0=$(rss "$redis_pid")
    redis-cli -h 127.0.0.1 -p "$cport" --pipe < "$tmp/load.resp" >/dev/null
    redis-cli -h 127.0.0.1 -p "$rport" --pipe < "$tmp/load.resp" >/dev/null
    cc=$(redis-cli -h 127.0.0.1 -p "$cport" zcard big)
    rc=$(redis-cli -h 127.0.0.1 -p "$rport" zcard big)
    c1=$(rss "$cachely_pid"); r1=$(rss "$redis_pid")
    cu=$(used_memory "$cport"); ru=$(used_memory "$rport")
    printf '%-44s %12s %12s %7s\n' "$1 scores, $cc/$rc members" \
        "$(mb $((c1 - c0)))" "$(mb $((r1 - r0)))" "$(bench_ratio $((c1 - c0)) $((r1 - r0)))"
    printf '%-44s %12s %12s %7s\n' "  used_memory" "$(mb "$cu")" "$(mb "$ru")" \
        "$(bench_ratio "$cu" "$ru")"
    bench_stop_all
    rm -f "$tmp/load.resp"
}

echo "cachely: $CACHELY_BIN"
echo "redis:   $("$REDIS_BIN" --version)"
printf '%-44s %12s %12s %7s\n' "RSS growth" 'cachely MB' 'redis MB' ratio
measure scattered
measure ascending
