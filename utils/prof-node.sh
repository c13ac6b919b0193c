#!/usr/bin/env bash
# What one request costs in cachely-server next to redis-server, counted
# rather than timed, so a change in the node's command path can be judged
# on a busy machine (and where perf has no hardware counters): both servers
# run under valgrind's callgrind on 127.0.0.1 (no persistence), and each
# runs the same redis-benchmark command line (50 clients, -r 100000,
# 32-byte values) with instrumentation switched on for that run only.
# The table gives the instructions each server executed in user space per
# request (Ir/req) and the ratio Cachely/Redis.  Tests: any -t test of
# redis-benchmark (set, get, incr, lpush, rpush, lpop, rpop, sadd, spop,
# hset, zadd, zpopmin, ...), run in the order given on one server each, and
# evalsha (bench-node.sh's script: INCR and EXPIRE on one random key) and
# xadd (bench-node.sh's row: one stream, one 32-byte field, IDs by the server).
# redis-benchmark's pops work on one key (mylist, myset, myzset), so a pop
# with nothing pushed before it measures the empty-key path (what
# bench-node.sh's -P 16 SPOP and ZPOPMIN rows timed until it refilled the
# key before each pop round).  With --fill, each lpop, rpop, spop or zpopmin run is
# preceded (not counted) by twice its requests of lpush, sadd or zadd with
# members random over 10^9, so that every counted pop finds an element;
# its row is then named e.g. spop/full.  System calls are not counted here.
#
# Usage: utils/prof-node.sh [--requests N] [--tests "set get incr evalsha"]
#        [--pipelines "16"] [--fill] [--annotate] [--only cachely|redis]
#   --requests N   requests per run (default 100000)
#   --fill         pops from a key filled first (see above)
#   --annotate     after each Cachely run, the top of callgrind_annotate
#                  (inclusive with PROF_INCLUSIVE=1); BENCH_KEEP=1 keeps
#                  the callgrind.out files under the temp dir
#   --only S       run only one of the two servers
# Environment: CACHELY_BUILDDIR (default build/ of this tree), REDIS_BIN.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/utils/bench-lib.sh"
BUILD=${CACHELY_BUILDDIR:-$here/build}
CACHELY_BIN=$BUILD/src/cachely-server
REDIS_BIN=${REDIS_BIN:-redis-server}
n=100000
tests="set get incr evalsha"
pipelines="16"
annotate=0
fill=0
only=""

while [ $# -gt 0 ]; do
    case "$1" in
    --requests) n=$2; shift ;;
    --tests) tests=$2; shift ;;
    --pipelines) pipelines=$2; shift ;;
    --annotate) annotate=1 ;;
    --fill) fill=1 ;;
    --only) only=$2; shift ;;
    -h|--help) bench_usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
    shift
done

bench_require redis-benchmark redis-cli valgrind callgrind_control callgrind_annotate "$REDIS_BIN"
[ -x "$CACHELY_BIN" ] || { echo "no $CACHELY_BIN (build first, or set CACHELY_BUILDDIR)" >&2; exit 1; }

bench_init prof-node
tmp=$bench_tmp
SCRIPT="redis.call('INCR', KEYS[1]) return redis.call('EXPIRE', KEYS[1], ARGV[1])"

# start NAME CMD...: the server under callgrind, instrumentation off, on a
# free port; sets port and pid.
start() {
    local name=$1; shift
    port=$(bench_free_port)
    mkdir -p "$tmp/$name"
    valgrind --tool=callgrind --instr-atstart=no -q \
        --callgrind-out-file="$tmp/$name/callgrind.out.%p" \
        "$@" --port "$port" --bind 127.0.0.1 --dir "$tmp/$name" &
    pid=$!
    bench_pids+=("$pid")
    for _ in $(seq 300); do # valgrind starts slowly
        [ "$(redis-cli -h 127.0.0.1 -p "$port" PING 2>/dev/null)" = PONG ] && break
        sleep 0.1
    done
    bench_wait_ping "$name" "$port" "$pid"
}

# filler TEST: the -t test that fills the key TEST pops (none for others).
filler() {
    case "$1" in
    lpop|rpop) echo lpush ;;
    spop) echo sadd ;;
    zpopmin) echo zadd ;;
    esac
}

# run NAME PORT PID TEST P: Ir/req of one benchmark run.
run() {
    local name=$1 port=$2 pid=$3 t=$4 P=$5 f="" ir="" sha args
    if [ "$fill" = 1 ] && [ -n "$(filler "$t")" ]; then
        redis-benchmark -q -h 127.0.0.1 -p "$port" -c 50 -r 1000000000 -n $((2 * n)) \
            -P 16 -t "$(filler "$t")" -d 32 >/dev/null 2>&1
    fi
    if [ "$t" = evalsha ]; then
        sha=$(redis-cli -h 127.0.0.1 -p "$port" SCRIPT LOAD "$SCRIPT")
        args=(EVALSHA "$sha" 1 "bench:ev:__rand_int__" 60)
    elif [ "$t" = xadd ]; then
        # bench-node.sh's xadd row (redis-benchmark's -t has none).
        args=(XADD bench:stream '*' f:__rand_int__ 0123456789abcdef0123456789abcdef)
    else
        args=(-t "$t" -d 32)
    fi
    callgrind_control -z "$pid" >/dev/null 2>&1
    callgrind_control -i on "$pid" >/dev/null 2>&1
    redis-benchmark -q -h 127.0.0.1 -p "$port" -c 50 -r 100000 -n "$n" -P "$P" \
        "${args[@]}" >/dev/null 2>&1
    callgrind_control -i off "$pid" >/dev/null 2>&1
    rm -f "$tmp/$name"/callgrind.out.*.*
    callgrind_control -d "$t-$P" "$pid" >/dev/null 2>&1
    # The dump is written asynchronously: wait for its totals line.
    for _ in $(seq 300); do
        f=$(ls -t "$tmp/$name"/callgrind.out.*.* 2>/dev/null | head -1)
        [ -z "$f" ] || ir=$(awk '/^totals:/ { print $2 }' "$f")
        [ -z "$ir" ] || break
        sleep 0.1
    done
    [ -n "$ir" ] || { echo "no callgrind dump from $name" >&2; exit 1; }
    if [ "$annotate" = 1 ] && [ "$name" = cachely ]; then
        local inc=()
        [ -z "${PROF_INCLUSIVE:-}" ] || inc=(--inclusive=yes)
        # head stops reading early: grep's SIGPIPE is no failure (pipefail)
        callgrind_annotate "${inc[@]}" "$f" 2>/dev/null | grep -E '^ *[0-9,]+ ' | head -45 >&2 || true
        [ "${BENCH_KEEP:-0}" = 1 ] && cp "$f" "$tmp/$name/keep.$t-$P.out"
    fi
    echo $((ir / n))
}

cpid="" rpid=""
if [ "$only" != redis ]; then
    start cachely "$CACHELY_BIN" --maxmemory 0 --daemonize no --save "" \
        --appendonly no --logfile "$tmp/cachely.log"
    cport=$port cpid=$pid
fi
if [ "$only" != cachely ]; then
    start redis "$REDIS_BIN" --maxmemory 0 --daemonize no --save "" \
        --appendonly no --logfile "$tmp/redis.log"
    rport=$port rpid=$pid
fi

printf '%-16s %12s %12s %7s\n' test "cachely Ir" "redis Ir" ratio
for P in $pipelines; do
    for t in $tests; do
        c=0 r=0
        [ -z "$cpid" ] || c=$(run cachely "$cport" "$cpid" "$t" "$P")
        [ -z "$rpid" ] || r=$(run redis "$rport" "$rpid" "$t" "$P")
        label=$t
        [ "$fill" = 0 ] || [ -z "$(filler "$t")" ] || label=$t/full
        awk -v t="$label -P$P" -v c="$c" -v r="$r" 'BEGIN {
            printf "%-16s %12d %12d %7s\n", t, c, r, (c && r) ? sprintf("%.2f", c / r) : "-" }'
    done
done
echo "Ir = instructions each server executed in user space per request (callgrind)."
