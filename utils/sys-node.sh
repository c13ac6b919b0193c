#!/usr/bin/env bash
# Where a request's kernel time goes, cachely-server next to redis-server:
# user and system CPU per request (µs, from /proc/PID/stat), context
# switches per request (voluntary + involuntary, /proc/PID/status) and
# system calls per request by kind (perf's syscalls:sys_enter_*
# tracepoints; skipped, with a note, where perf cannot attach).  Counts
# hold on a busy machine where timings do not: a loop turn that sleeps in
# epoll_wait shows as a context switch, an extra epoll_ctl or read per
# turn shows in its row.  (clock_gettime is a vDSO call: never counted.)
# Both servers run natively (io_uring as configured), one after the other,
# on 127.0.0.1, no persistence, with redis-benchmark's 50 clients, -r
# 100000 and 32-byte values; a warm-up run fills the keyspace first.
#
# Usage: utils/sys-node.sh [--requests N] [--tests "set get"]
#        [--pipelines "1 16"] [--clients C] [--only cachely|redis]
#        [-- extra cachely-server options]
# Environment: CACHELY_BUILDDIR (default build/ of this tree), REDIS_BIN.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/utils/bench-lib.sh"
BUILD=${CACHELY_BUILDDIR:-$here/build}
CACHELY_BIN=$BUILD/src/cachely-server
REDIS_BIN=${REDIS_BIN:-redis-server}
n=200000
tests="set get"
pipelines="1 16"
clients=50
only=""
extra=()

while [ $# -gt 0 ]; do
    case "$1" in
    --requests) n=$2; shift ;;
    --tests) tests=$2; shift ;;
    --pipelines) pipelines=$2; shift ;;
    --clients) clients=$2; shift ;;
    --only) only=$2; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help)
        awk 'NR == 1 { next } !/^#/ { exit } { print }' "$0" | sed 's/^# \{0,1\}//'
        exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
    shift
done

bench_require redis-benchmark redis-cli "$REDIS_BIN"
[ -x "$CACHELY_BIN" ] || { echo "no $CACHELY_BIN (build first, or set CACHELY_BUILDDIR)" >&2; exit 1; }
use_perf=0
if command -v perf >/dev/null && perf stat -e 'syscalls:sys_enter_read' -- true >/dev/null 2>&1; then
    use_perf=1
else
    echo "(perf cannot count syscalls tracepoints here: syscall columns skipped)" >&2
fi

bench_init sys-node
tmp=$bench_tmp

ctxsw() {
    awk '/ctxt_switches/ { s += $2 } END { print s + 0 }' "/proc/$1/status"
}
ticks() { # utime stime
    awk '{ sub(/^.*\) /, ""); print $12, $13 }' "/proc/$1/stat"
}

# run NAME PID PORT TEST P: one line of figures per request.
run() {
    local name=$1 pid=$2 port=$3 t=$4 P=$5 u0 s0 u1 s1 c0 c1 perfpid="" tck
    tck=$(getconf CLK_TCK)
    local bench=(redis-benchmark -q -h 127.0.0.1 -p "$port" -c "$clients" -r 100000
                 -t "$t" -d 32 -P "$P")
    "${bench[@]}" -n 20000 >/dev/null 2>&1
    # CPU and context switches first, alone: perf's tracepoints slow every
    # system call down, so the counting run is a second one.
    read -r u0 s0 < <(ticks "$pid")
    c0=$(ctxsw "$pid")
    "${bench[@]}" -n "$n" >/dev/null 2>&1
    read -r u1 s1 < <(ticks "$pid")
    c1=$(ctxsw "$pid")
    local calls=""
    if [ "$use_perf" = 1 ]; then
        perf stat -x, -e 'syscalls:sys_enter_*' -p "$pid" -o "$tmp/perf.$name.$t.$P" &
        perfpid=$!
        sleep 0.5 # perf attaches its tracepoints
        "${bench[@]}" -n "$n" >/dev/null 2>&1
        kill -INT "$perfpid"
        wait "$perfpid" || true
        # Only the system calls made at least once per 1,000 requests.
        calls=$(awk -F, -v n="$n" '$1 ~ /^[0-9]+$/ && $1 / n >= 0.001 {
                    s = $3; sub(/^syscalls:sys_enter_/, "", s)
                    printf " %s=%.3f", s, $1 / n; tot += $1 }
                END { printf " | all=%.3f", tot / n }' "$tmp/perf.$name.$t.$P")
    fi
    awk -v name="$name" -v t="$t -P$P" -v u=$((u1 - u0)) -v s=$((s1 - s0)) \
        -v c=$((c1 - c0)) -v n="$n" -v tck="$tck" -v calls="$calls" 'BEGIN {
        printf "%-8s %-9s %6.2f %6.2f %7.4f %s\n", name, t,
            u / tck / n * 1e6, s / tck / n * 1e6, c / n, calls }'
}

# serve NAME CMD...: start the server on a free port, run every test and
# depth against it, stop it.
serve() {
    local name=$1 port pid; shift
    port=$(bench_free_port)
    mkdir -p "$tmp/$name"
    "$@" --port "$port" --bind 127.0.0.1 --dir "$tmp/$name" --save "" \
        --appendonly no --daemonize no --logfile "$tmp/$name.log" &
    pid=$!
    bench_pids+=("$pid")
    bench_wait_ping "$name" "$port" "$pid"
    for P in $pipelines; do
        for t in $tests; do
            run "$name" "$pid" "$port" "$t" "$P"
        done
    done
    bench_stop_all
}

printf '%-8s %-9s %6s %6s %7s %s\n' server test "usr us" "sys us" "ctxsw" "syscalls per request"
[ "$only" = redis ] || serve cachely "$CACHELY_BIN" "${extra[@]}"
[ "$only" = cachely ] || serve redis "$REDIS_BIN"
echo "Per request: user and system CPU (µs), context switches, system calls by kind."
