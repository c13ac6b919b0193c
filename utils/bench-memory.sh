#!/usr/bin/env bash
# Memory of collections in cachely-server next to Debian's redis-server, in
# one run.  For each row of the table below, a fresh pair of servers (no
# persistence, maxmemory 0, default encoding thresholds) is started, the
# row's data is loaded into both through redis-cli --pipe, and the growth of
# VmRSS and used_memory over the empty server is printed with the ratio
# (cachely / redis: below 1 means Cachely is smaller).
#
# Usage: utils/bench-memory.sh [--quick] [ROW...]
#   --quick      a tenth of every row's size
#   ROW          run only these rows (by name; all when none)
# Environment: CACHELY_BIN (default build/src/cachely-server of this tree),
#              REDIS_BIN (default redis-server).
#
# A row is one line of ROWS: name | description | generator | check command
# | expected reply.  The generator is a shell function printing the RESP
# commands that load the row, given the scale (1, or 0.1 for --quick);
# rows_count_<name> prints the scaled count that replaces %N in the
# description; the check runs on both servers after loading and warns when
# the reply differs.  Each collection type adds its rows and generators.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/utils/bench-lib.sh"
CACHELY_BIN=${CACHELY_BIN:-$here/build/src/cachely-server}
REDIS_BIN=${REDIS_BIN:-redis-server}
quick=0
rounds=1
only=()

args=()
for a in "$@"; do
    case "$a" in
    --quick|--rounds|--rounds=*|-h|--help) args+=("$a") ;;
    *) only+=("$a") ;;
    esac
done
bench_parse_args "${args[@]+"${args[@]}"}"
bench_require redis-cli python3 awk "$REDIS_BIN"
[ -x "$CACHELY_BIN" ] || { echo "no cachely-server at $CACHELY_BIN (set CACHELY_BIN)" >&2; exit 1; }
scale=1
[ "$quick" = 1 ] && scale=0.1

bench_init bench-memory
tmp=$bench_tmp

# ---- the rows ------------------------------------------------------------------
# name | description (%N is replaced by the scaled count) | generator | check
# command | expected reply of the check
ROWS=(
    "lists|%N lists of 100 elements (16-byte strings)|gen_lists|LLEN list:0|100"
    "streams|one stream of %N entries of 3 fields|gen_streams|XLEN stream|1000000"
)

# Generators: print RESP on stdout for $1 = scale.
gen_lists() {
    awk -v n="$(scaled 100000 "$1")" 'BEGIN {
        for (i = 0; i < n; i++) {
            k = "list:" i
            printf "*102\r\n$5\r\nRPUSH\r\n$%d\r\n%s\r\n", length(k), k
            for (j = 0; j < 100; j++) {
                printf "$16\r\nelement-%08d\r\n", i * 100 + j
            }
        }
    }'
}
rows_count_lists() { scaled 100000 "$1"; }

# One stream, IDs one millisecond apart, fields user/action/value as an
# event log has them (Redis shares the field names with each node's master
# entry, as Cachely's nodes do).
gen_streams() {
    awk -v n="$(scaled 1000000 "$1")" 'BEGIN {
        split("click view buy", acts, " ")
        for (i = 0; i < n; i++) {
            id = sprintf("%.0f-0", 1700000000000 + i)
            u = sprintf("user:%d", i % 10000)
            a = acts[i % 3 + 1]
            v = sprintf("%d", i)
            printf "*9\r\n$4\r\nXADD\r\n$6\r\nstream\r\n$%d\r\n%s\r\n", length(id), id
            printf "$4\r\nuser\r\n$%d\r\n%s\r\n$6\r\naction\r\n$%d\r\n%s\r\n", length(u), u, length(a), a
            printf "$5\r\nvalue\r\n$%d\r\n%s\r\n", length(v), v
        }
    }'
}
rows_count_streams() { scaled 1000000 "$1"; }

scaled() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%d", n * s }'; }

# ---- servers ---------------------------------------------------------------------

start_servers() {
    cport=$(bench_free_port)
    rport=$(bench_free_port)
    while [ "$rport" = "$cport" ]; do rport=$(bench_free_port); done
    "$CACHELY_BIN" --port "$cport" --bind 127.0.0.1 --maxmemory 0 \
        --daemonize no --dir "$tmp" --save '' --appendonly no \
        --logfile "$tmp/cachely.log" --loglevel warning &
    cachely_pid=$!
    bench_pids+=("$cachely_pid")
    "$REDIS_BIN" --port "$rport" --bind 127.0.0.1 --maxmemory 0 \
        --save '' --appendonly no --daemonize no \
        --dir "$tmp" --logfile "$tmp/redis.log" --loglevel warning &
    redis_pid=$!
    bench_pids+=("$redis_pid")
    bench_wait_ping cachely "$cport" "$cachely_pid"
    bench_wait_ping redis "$rport" "$redis_pid"
}

rss() { awk '/^VmRSS:/ {print $2 * 1024}' "/proc/$1/status"; }

used_memory() {
    redis-cli -h 127.0.0.1 -p "$1" info memory 2>/dev/null | tr -d '\r' \
        | awk -F: '$1 == "used_memory" {print $2}'
}

mb() { awk -v v="$1" 'BEGIN { if (v == "") print "n/a"; else printf "%.1f", v / 1048576 }'; }

load() { # port generator
    local out
    out=$("$2" "$scale" | redis-cli -h 127.0.0.1 -p "$1" --pipe --pipe-timeout 30 2>&1 \
          | tail -n 1) || true
    case "$out" in
    *"errors: 0,"*) ;;
    *) echo "note: loading port $1: redis-cli --pipe said: $out" >&2 ;;
    esac
}

# ---- main ----------------------------------------------------------------------

echo "cachely: $CACHELY_BIN"
echo "redis:   $("$REDIS_BIN" --version)"
echo "growth over an empty server; ratio = cachely / redis"
printf '%-44s %12s %12s %7s %12s %12s %7s\n' row 'cachely RSS' 'redis RSS' ratio \
    'cachely used' 'redis used' ratio
for row in "${ROWS[@]}"; do
    IFS='|' read -r name desc gen check expect <<<"$row"
    if [ "${#only[@]}" -gt 0 ] && ! printf '%s\n' "${only[@]}" | grep -qx "$name"; then
        continue
    fi
    start_servers
    c0=$(rss "$cachely_pid"); r0=$(rss "$redis_pid")
    cu0=$(used_memory "$cport"); ru0=$(used_memory "$rport")
    load "$cport" "$gen"
    load "$rport" "$gen"
    for port in "$cport" "$rport"; do
        # shellcheck disable=SC2086
        got=$(redis-cli -h 127.0.0.1 -p "$port" $check 2>&1)
        [ "$got" = "$expect" ] || echo "warning: port $port: $check answered '$got', expected '$expect'" >&2
    done
    cg=$(( $(rss "$cachely_pid") - c0 )); rg=$(( $(rss "$redis_pid") - r0 ))
    cug=$(( $(used_memory "$cport") - cu0 )); rug=$(( $(used_memory "$rport") - ru0 ))
    label=${desc//%N/$("rows_count_$name" "$scale")}
    printf '%-44s %12s %12s %7s %12s %12s %7s\n' "$label" "$(mb "$cg") MB" "$(mb "$rg") MB" \
        "$(bench_ratio "$cg" "$rg")" "$(mb "$cug") MB" "$(mb "$rug") MB" "$(bench_ratio "$cug" "$rug")"
    bench_stop_all
done
