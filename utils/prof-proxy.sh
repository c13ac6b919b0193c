#!/usr/bin/env bash
# What one request costs in cachely-proxy, counted rather than timed, so a
# change in the forwarding path can be judged on a busy machine: one
# cachely-server master and one cachely-proxy (--read-policy master) on
# 127.0.0.1, redis-benchmark through the proxy (GET and SET, 50 clients,
# -r 100000, 3-byte values) at -P 1 and -P 16, and for each run, per
# request, from `perf stat` attached to the proxy and to the node:
#   proxy us / node us   CPU time (task-clock) per request
#   sys/req              the proxy's system calls per request, and the
#                        kinds that matter: read, write(v), epoll_wait,
#                        epoll_ctl, io_uring_enter (io-uring yes batches
#                        a loop turn's reads in one, its writes in one)
# CPU time moves with the machine's load; the system call counts do not.
# With --callgrind the proxy runs under valgrind's callgrind instead (slow:
# use --requests 20000) and the table gives the instructions it executed
# per request in user space (Ir/req), which no other process disturbs.
# --callgrind-node does the same for the node behind the proxy (the proxy
# runs natively), so proxy and node instructions per request compare; with
# --direct as well, each run is repeated straight to the node ("direct
# Ir/req": the node serving the 50 clients itself).
# With --record the proxy is also sampled (perf record -g, cpu-clock) and
# the top of `perf report` printed per run (perf.data kept under the temp
# dir with BENCH_KEEP=1).
#
# Usage: utils/prof-proxy.sh [--record | --callgrind | --callgrind-node] [--requests N]
#        [--tests "get set"]
#        [--pipelines "1 16"] [--proxy-args "--io-uring no"]
#   --requests N   requests per run at -P 1 (default 100000; -P 16 runs 5x)
#   --proxy-args   extra options for cachely-proxy (--io-uring no: one
#                  system call per read and write, to compare)
#   --direct       after each proxied run, the same run straight to the node:
#                  "direct us" is the node's CPU per request when it serves
#                  the 50 clients itself (behind the proxy it serves the
#                  proxy's few pooled connections, which batch its I/O)
# Environment: CACHELY_BUILDDIR (default build/ of this tree), PERF (perf).
# Needs perf with the raw_syscalls tracepoints (root, or a low
# perf_event_paranoid), redis-benchmark and redis-cli.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/utils/bench-lib.sh"
BUILD=${CACHELY_BUILDDIR:-$here/build}
SERVER=$BUILD/src/cachely-server
PROXY=$BUILD/src/cachely-proxy
PERF=${PERF:-perf}
PY=/usr/bin/python3
record=0
callgrind=0
cg_node=0
n1=100000
tests="get set"
pipelines="1 16"
proxy_args=""
direct=0

while [ $# -gt 0 ]; do
    case "$1" in
    --record) record=1 ;;
    --callgrind) callgrind=1 ;;
    --callgrind-node) callgrind=1; cg_node=1 ;;
    --requests) n1=$2; shift ;;
    --tests) tests=$2; shift ;;
    --pipelines) pipelines=$2; shift ;;
    --proxy-args) proxy_args=$2; shift ;;
    --direct) direct=1 ;;
    -h|--help) bench_usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
    shift
done

bench_require redis-benchmark redis-cli "$PERF"
for b in "$SERVER" "$PROXY"; do
    [ -x "$b" ] || { echo "no $b (build first, or set CACHELY_BUILDDIR)" >&2; exit 1; }
done

bench_init prof-proxy
tmp=$bench_tmp

wrap=()
if [ "$callgrind" = 1 ]; then
    bench_require valgrind callgrind_control
    wrap=(valgrind --tool=callgrind --instr-atstart=no
          --callgrind-out-file="$tmp/callgrind.out.%p" -q)
fi
swrap=() pwrap=("${wrap[@]}")
if [ "$cg_node" = 1 ]; then
    swrap=("${wrap[@]}") pwrap=()
fi
# cg_wait PORT: valgrind starts slowly.
cg_wait() {
    for _ in $(seq 200); do
        [ "$(redis-cli -h 127.0.0.1 -p "$1" PING 2>/dev/null)" = PONG ] && break
        sleep 0.1
    done
}
mport=$(bench_free_port)
"${swrap[@]}" "$SERVER" --port "$mport" --bind 127.0.0.1 --dir "$tmp" \
    --logfile "$tmp/server.log" --save "" --appendonly no &
server_pid=$!
bench_pids+=($!)
[ "$cg_node" = 0 ] || cg_wait "$mport"
bench_wait_ping server "$mport" "$!"
pport=$(bench_free_port)
# shellcheck disable=SC2086 # proxy_args is a list of options
"${pwrap[@]}" "$PROXY" --port "$pport" --bind 127.0.0.1 --nodes "127.0.0.1:$mport" \
    --read-policy master --logfile "$tmp/proxy.log" $proxy_args &
proxy_pid=$!
bench_pids+=($!)
[ "$callgrind" = 0 ] || [ "$cg_node" = 1 ] || cg_wait "$pport"
bench_wait_ping proxy "$pport" "$!"
for _ in $(seq 400); do
    redis-cli -h 127.0.0.1 -p "$pport" INFO 2>/dev/null | grep -q "^master:127" && break
    sleep 0.05
done
redis-benchmark -h 127.0.0.1 -p "$mport" -t set -r 100000 -n 300000 -P 16 -q >/dev/null

events=task-clock,raw_syscalls:sys_enter,syscalls:sys_enter_read,syscalls:sys_enter_write
events=$events,syscalls:sys_enter_writev,syscalls:sys_enter_epoll_wait
events=$events,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_io_uring_enter

# count FILE EVENT: the count perf stat -x, wrote for EVENT (0 if absent).
count() {
    awk -F, -v e="$2" '$3 == e || $3 == e ":u" { v = $1 } END { print v + 0 }' "$1"
}

# cg_run PID PORT TEST P N: one redis-benchmark run with PID's callgrind
# instrumentation on; prints "rps Ir/req" and leaves the dump in $cg_file.
cg_run() {
    local pid=$1 port=$2 t=$3 P=$4 n=$5 rps ir="" f=""
    callgrind_control -z "$pid" >/dev/null 2>&1
    callgrind_control -i on "$pid" >/dev/null 2>&1
    rps=$(redis-benchmark --csv -h 127.0.0.1 -p "$port" -c 50 -r 100000 -n "$n" \
          -P "$P" -t "$t" 2>/dev/null | awk -F'","' 'NR > 1 { print $2 }')
    callgrind_control -i off "$pid" >/dev/null 2>&1
    rm -f "$tmp"/callgrind.out.*.*
    callgrind_control -d "$t-$P" "$pid" >/dev/null 2>&1
    # The dump is written asynchronously: wait for its totals line.
    for _ in $(seq 300); do
        f=$(ls -t "$tmp"/callgrind.out.*.* 2>/dev/null | head -1)
        if [ -n "$f" ]; then
            ir=$(awk '/^totals:/ { print $2 }' "$f")
        fi
        [ -z "$ir" ] || break
        sleep 0.1
    done
    cg_file=$f
    awk -v rps="$rps" -v n="$n" -v ir="$ir" 'BEGIN { printf "%9.0f %9.0f", rps, ir / n }'
}

if [ "$callgrind" = 1 ]; then
    cg_pid=$proxy_pid
    [ "$cg_node" = 0 ] || cg_pid=$server_pid
    who=proxy
    [ "$cg_node" = 0 ] || who=node
    printf '%-9s %9s %9s' test rps "$who Ir/req"
    [ "$direct" = 1 ] && [ "$cg_node" = 1 ] && printf ' %9s %13s' "rps" "direct Ir/req"
    echo
    for P in $pipelines; do
        n=$n1
        [ "$P" = 1 ] || n=$((n1 * 5))
        for t in $tests; do
            printf '%-9s ' "$t -P$P"
            cg_run "$cg_pid" "$pport" "$t" "$P" "$n"
            if [ -n "${PROF_ANNOTATE:-}" ]; then
                echo
                # head stops reading early: grep's SIGPIPE is no failure (pipefail)
                callgrind_annotate "$cg_file" 2>/dev/null | grep -E '^ *[0-9,]+ ' | head -40 || true
            fi
            if [ "$direct" = 1 ] && [ "$cg_node" = 1 ]; then
                printf ' '
                cg_run "$cg_pid" "$mport" "$t" "$P" "$n"
            fi
            echo
        done
    done
    echo "Ir/req = instructions the $who executed in user space per request (callgrind)" \
         "through the proxy; direct: the same run straight to the node."
    exit 0
fi

printf '%-9s %9s %9s %9s %8s %7s %7s %7s %7s %7s %7s' test rps "proxy us" "node us" \
    "px/node" sys/req read write epwait epctl uring
[ "$direct" = 1 ] && printf ' %9s %7s' "direct us" "px/dir"
echo
for P in $pipelines; do
    n=$n1
    [ "$P" = 1 ] || n=$((n1 * 5))
    for t in $tests; do
        "$PERF" stat -x, -e "$events" -p "$proxy_pid" -o "$tmp/px.csv" &
        pp=$!
        "$PERF" stat -x, -e task-clock -p "$server_pid" -o "$tmp/node.csv" &
        np=$!
        rp=""
        if [ "$record" = 1 ]; then
            "$PERF" record -q -e cpu-clock -g -p "$proxy_pid" -o "$tmp/perf-$t-$P.data" \
                >/dev/null 2>&1 &
            rp=$!
        fi
        sleep 0.3
        rps=$(redis-benchmark --csv -h 127.0.0.1 -p "$pport" -c 50 -r 100000 -n "$n" \
              -P "$P" -t "$t" 2>/dev/null | awk -F'","' 'NR > 1 { print $2 }')
        kill -INT $pp $np $rp
        wait $pp $np $rp 2>/dev/null || true
        px_ms=$(count "$tmp/px.csv" task-clock)
        node_ms=$(count "$tmp/node.csv" task-clock)
        dir_ms=0
        if [ "$direct" = 1 ]; then
            "$PERF" stat -x, -e task-clock -p "$server_pid" -o "$tmp/direct.csv" &
            dp=$!
            sleep 0.3
            redis-benchmark -h 127.0.0.1 -p "$mport" -c 50 -r 100000 -n "$n" -P "$P" -t "$t" \
                -q >/dev/null 2>&1
            kill -INT $dp
            wait $dp 2>/dev/null || true
            dir_ms=$(count "$tmp/direct.csv" task-clock)
        fi
        awk -v t="$t -P$P" -v rps="$rps" -v n="$n" -v px="$px_ms" -v node="$node_ms" \
            -v sys="$(count "$tmp/px.csv" raw_syscalls:sys_enter)" \
            -v rd="$(count "$tmp/px.csv" syscalls:sys_enter_read)" \
            -v wr="$(( $(count "$tmp/px.csv" syscalls:sys_enter_write) \
                     + $(count "$tmp/px.csv" syscalls:sys_enter_writev) ))" \
            -v ew="$(count "$tmp/px.csv" syscalls:sys_enter_epoll_wait)" \
            -v ec="$(count "$tmp/px.csv" syscalls:sys_enter_epoll_ctl)" \
            -v ur="$(count "$tmp/px.csv" syscalls:sys_enter_io_uring_enter)" \
            -v dir="$dir_ms" -v show_dir="$direct" 'BEGIN {
            printf "%-9s %9.0f %9.2f %9.2f %8.2f %7.2f %7.2f %7.2f %7.2f %7.2f %7.2f",
                   t, rps, px * 1000 / n, node * 1000 / n, (node > 0 ? px / node : 0),
                   sys / n, rd / n, wr / n, ew / n, ec / n, ur / n
            if (show_dir) {
                printf " %9.2f %7.2f", dir * 1000 / n, (dir > 0 ? px / dir : 0)
            }
            printf "\n" }'
        if [ "$record" = 1 ]; then
            "$PERF" report -i "$tmp/perf-$t-$P.data" --no-children --percent-limit 1.5 \
                --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -40
        fi
    done
done
echo "us = CPU (task-clock) per request in microseconds; the counts are per request" \
     "(the proxy's; SELECT/ROLE probes and cron included)."
