# Helpers shared by utils/bench-*.sh: options, a temp dir and the servers a
# script started (stopped by PID when it ends, however it ends), free ports,
# readiness by PING, medians and ratios.  Source it after `set -euo pipefail`;
# it defines bench_* names only, and bench_parse_args sets quick and rounds.
# Needs redis-cli, and python3 (or $PY) for free ports.
#
# The capped mode (--cpu-cap PCT, or BENCH_CPU_CAP=PCT): every server a
# script starts runs in its own cgroup v1 `cpu` group with a quota of PCT %
# of one core (cpu.cfs_quota_us / cpu.cfs_period_us), so that on a small
# machine the servers, not redis-benchmark, bound a run.  bench_measure
# runs redis-benchmark and reports, besides requests/s and p50/p99, the
# client's CPU share and each server's CPU per request, and names what
# bounded the run.
#
# --pin (or BENCH_PIN=1) keeps the client and the servers off each other's
# core: every server a script starts (all its threads) is bound to the last
# CPU, redis-benchmark to the others, so a run does not depend on where the
# scheduler happened to put them.  With a proxy in front, proxy and node
# share that CPU (each under its own cap): the client keeps a core of its
# own, so with --cpu-cap the servers bound the run (see bench-proxy.sh).

# ---- options ----------------------------------------------------------------

# bench_parse_args "$@": --quick sets quick=1 and rounds=1, --rounds N (or
# --rounds=N) sets rounds, -h/--help prints the script's header comment.
# The caller sets the defaults of quick and rounds first.  Exits 2 on a bad
# option or a rounds that is not a positive number.
bench_parse_args() {
    while [ $# -gt 0 ]; do
        case "$1" in
        --quick) quick=1; rounds=1 ;;
        --cpu-cap)
            [ $# -ge 2 ] || { echo "--cpu-cap needs a percentage of a core" >&2; exit 2; }
            bench_cap=$2; shift ;;
        --cpu-cap=*) bench_cap=${1#--cpu-cap=} ;;
        --pin) bench_pin=1 ;;
        --rounds)
            [ $# -ge 2 ] || { echo "--rounds needs a number" >&2; exit 2; }
            rounds=$2; shift ;;
        --rounds=*) rounds=${1#--rounds=} ;;
        -h|--help) bench_usage; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
        esac
        shift
    done
    case "$rounds" in ''|*[!0-9]*|0) echo "--rounds needs a positive number" >&2; exit 2 ;; esac
    case "$bench_cap" in
    '') ;;
    *[!0-9]*|0) echo "--cpu-cap needs a percentage of one core (1-100)" >&2; exit 2 ;;
    *) [ "$bench_cap" -le 100 ] || { echo "--cpu-cap is at most 100" >&2; exit 2; } ;;
    esac
}

# bench_usage: print the script's header comment (the block after the #!
# line), without its "# ", as every -h/--help of utils/ does.
bench_usage() {
    awk 'NR == 1 { next } !/^#/ { exit } { print }' "$0" | sed 's/^# \{0,1\}//'
}

# bench_require TOOL...: exits 1 naming the first TOOL that is not found.
bench_require() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
    done
}

# ---- temp dir and servers -----------------------------------------------------

bench_tmp=''     # the script's temp dir, made by bench_init
bench_pids=()    # servers the script started and has not stopped, in order

# bench_init NAME: make $bench_tmp (NAME.XXXXXX under $TMPDIR or /tmp) and
# trap the script's end: on exit every server in bench_pids is stopped and
# the dir removed; INT and TERM exit 130 and 143, through the same cleanup.
bench_init() {
    bench_tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# BENCH_KEEP=1 keeps the dir (logs, configs) and says where it is.
bench_cleanup() {
    bench_stop_all
    bench_cgroup_remove_all
    # A script's own cleanup (namespaces, ...), when it defines one.
    if declare -F bench_cleanup_hook >/dev/null; then
        bench_cleanup_hook
    fi
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        echo "kept $bench_tmp" >&2
    else
        rm -rf "$bench_tmp"
    fi
}

# bench_stop_pid PID: CONT (in case it was stopped), TERM, then KILL after
# 5 s, then reap it.  Only ever given PIDs of processes the script started;
# an empty or finished PID is fine.
bench_stop_pid() {
    local pid=$1
    [ -n "$pid" ] || return 0
    kill -CONT "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# bench_stop_all: stop every server in bench_pids, in order, and empty it.
bench_stop_all() {
    local pid
    for pid in "${bench_pids[@]}"; do
        bench_stop_pid "$pid"
    done
    bench_pids=()
}

# bench_free_port: print a TCP port that is free on 127.0.0.1 right now.
bench_free_port() {
    "${PY:-python3}" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# bench_free_ports N LO HI: print N distinct ports in LO..HI, one a line,
# picked at random among those free on 127.0.0.1 right now.  Exits 1 if
# the range has fewer.
bench_free_ports() {
    "${PY:-python3}" -c '
import random, socket, sys
n, lo, hi = map(int, sys.argv[1:])
got = []
for p in random.sample(range(lo, hi + 1), hi - lo + 1):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        got.append(p)
    except OSError:
        pass
    s.close()
    if len(got) == n:
        print("\n".join(map(str, got)))
        sys.exit(0)
sys.exit("only %d free ports in %d-%d" % (len(got), lo, hi))' "$@" || exit 1
}

# bench_wait_ping NAME PORT [PID]: wait up to 5 s for PONG on 127.0.0.1:PORT
# (stop waiting early if PID, when given, has exited).  Returns 0, or exits 1
# after printing $bench_tmp/NAME.log.
bench_wait_ping() {
    local name=$1 port=$2 pid=${3:-}
    for _ in $(seq 100); do
        if [ "$(redis-cli -h 127.0.0.1 -p "$port" PING 2>/dev/null)" = PONG ]; then
            return 0
        fi
        if [ -n "$pid" ]; then
            kill -0 "$pid" 2>/dev/null || break
        fi
        sleep 0.05
    done
    echo "$name did not answer PING on port $port; its log:" >&2
    cat "$bench_tmp/$name.log" >&2 || true
    exit 1
}

# ---- figures ------------------------------------------------------------------

# bench_median [DECIMALS] < numbers: the median, with DECIMALS (default 0)
# decimals; n/a when there are no numbers.
bench_median() {
    sort -g | awk -v d="${1:-0}" '{v[NR]=$1} END {
        if (NR == 0) { print "n/a"; exit }
        if (NR % 2) m = v[(NR+1)/2]; else m = (v[NR/2] + v[NR/2+1]) / 2
        printf "%.*f\n", d, m }'
}

# bench_ratio A B: A / B with two decimals; n/a when either is empty or n/a,
# or B is 0.
bench_ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a == "" || b == "" || a == "n/a" || b == "n/a" || b + 0 == 0) print "n/a";
        else printf "%.2f", a / b }'
}

# ---- CPU cap (cgroup v1 cpu) and measured runs -----------------------------------

bench_cap=${BENCH_CPU_CAP:-}   # percent of one core per server; empty: no cap
bench_cg_root=/sys/fs/cgroup/cpu
bench_cgroups=()               # groups this script made, removed at exit

# bench_cgroup_check: exit 1 with the reason when the cap cannot be applied.
# Mounts the v1 cpu controller at $bench_cg_root when it is not mounted.
bench_cgroup_check() {
    [ -n "$bench_cap" ] || return 0
    [ "$(id -u)" = 0 ] || { echo "--cpu-cap needs root (cgroup v1 cpu groups)" >&2; exit 1; }
    if [ ! -f "$bench_cg_root/cpu.cfs_quota_us" ]; then
        mkdir -p "$bench_cg_root"
        mount -t cgroup -o cpu cgroup "$bench_cg_root" 2>/dev/null \
            || { echo "--cpu-cap: the cgroup v1 cpu controller is not mounted at" \
                      "$bench_cg_root and mounting it failed" >&2; exit 1; }
    fi
}

# bench_cap_pid NAME PID: with a cap, put PID in a fresh group
# bench-<script pid>-NAME with quota cap % of period 100 ms.  No-op without.
bench_cap_pid() {
    bench_pin_pid "$2"
    [ -n "$bench_cap" ] || return 0
    local cg=$bench_cg_root/bench-$$-$1
    mkdir -p "$cg"
    bench_cgroups+=("$cg")
    echo 100000 >"$cg/cpu.cfs_period_us"
    echo $((bench_cap * 1000)) >"$cg/cpu.cfs_quota_us"
    echo "$2" >"$cg/cgroup.procs"
}

# bench_pin_pid PID: with --pin, bind every thread of PID to the last CPU.
bench_pin=${BENCH_PIN:-}
bench_pin_pid() {
    [ -n "$bench_pin" ] || return 0
    taskset -a -p -c "$(( $(nproc) - 1 ))" "$1" >/dev/null
}

# The client's CPUs under --pin: all but the last (a command prefix).
bench_client_pin() {
    [ -n "$bench_pin" ] || return 0
    local n; n=$(nproc)
    if [ "$n" -gt 1 ]; then echo "taskset -c 0-$((n - 2))"; fi
}

# Called at exit after the servers are stopped: a group with tasks left (a
# server that would not die) has them moved to the root first.
bench_cgroup_remove_all() {
    local cg t
    for cg in "${bench_cgroups[@]}"; do
        [ -d "$cg" ] || continue
        while read -r t; do
            echo "$t" >"$bench_cg_root/cgroup.procs" 2>/dev/null || true
        done <"$cg/cgroup.procs"
        rmdir "$cg" 2>/dev/null || echo "could not remove cgroup $cg" >&2
    done
    bench_cgroups=()
}

# bench_cpu_ticks PID: utime + stime of PID in clock ticks (0 if gone).
bench_cpu_ticks() {
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# bench_measure "PID..." REQUESTS redis-benchmark-args...: run
# redis-benchmark --csv with the args and print one line:
#   rps p50 p99 client_share cpu_us_per_req... bound
# rps/p50/p99 from the last CSV row (ms); client_share = redis-benchmark's
# user+sys CPU over wall time (1.00 = a whole core); one cpu_us_per_req per
# PID: its utime+stime delta over the requests of every CSV row (so
# LRANGE's LPUSH warm-up counts, with its requests); bound is "server" when
# some PID used >= 90 % of its cap (or of a core uncapped) and the client
# less than 90 % of a core, "client" when the client did and no server did,
# "both" or "neither" otherwise.  Prints "fail" when redis-benchmark did.
# bench_client (a variable) names another client taking redis-benchmark's
# options and printing its CSV (utils/bench-txn.c, utils/bench-blocking.c).
bench_measure() {
    local pids=$1 n=$2; shift 2
    local tck before=() after=() pid t0 t1 out tm i=0
    tck=$(getconf CLK_TCK)
    for pid in $pids; do before+=("$(bench_cpu_ticks "$pid")"); done
    t0=$(date +%s%N)
    # `times` in the subshell: its second line is its children's CPU, i.e.
    # redis-benchmark's ("0m1.234s 0m0.456s", user and sys).
    # The client's stderr is shown only when no figure came out (through a
    # proxy redis-benchmark warns about CONFIG on every run).
    local err=${bench_tmp:-${TMPDIR:-/tmp}}/bench-client.err line
    out=$( ($(bench_client_pin) "${bench_client:-redis-benchmark}" --csv "$@" 2>"$err"; times) ) \
        || { echo fail; return 0; }
    t1=$(date +%s%N)
    for pid in $pids; do after+=("$(bench_cpu_ticks "$pid")"); done
    local deltas=""
    for pid in $pids; do
        deltas+="$(( ${after[$i]} - ${before[$i]} )) "
        i=$((i + 1))
    done
    line=$(echo "$out" | awk -F'","' -v n="$n" -v wall="$(( (t1 - t0) / 1000 ))" \
        -v tck="$tck" -v deltas="$deltas" -v cap="${bench_cap:-100}" '
        /^[0-9]+m[0-9.]+s [0-9]+m[0-9.]+s$/ {
            split($0, a, " "); cpu = 0
            for (k = 1; k <= 2; k++) { v = a[k]; sub(/s$/, "", v); split(v, ms, "m"); cpu += ms[1] * 60 + ms[2] }
            next
        }
        NR > 1 && NF > 1 { rows++; gsub(/"/, ""); split($0, f, ","); rps = f[2]; p50 = f[5]; p99 = f[7] }
        END {
            if (rps == "" || wall <= 0) { print "fail"; exit }
            share = cpu / (wall / 1e6)
            line = sprintf("%s %s %s %.2f", rps, p50, p99, share)
            m = split(deltas, d, " "); sbound = 0
            for (k = 1; k <= m; k++) {
                line = line sprintf(" %.2f", d[k] / tck * 1e6 / (n * rows))
                if (d[k] / tck / (wall / 1e6) >= 0.9 * cap / 100) sbound = 1
            }
            cbound = share >= 0.9
            b = sbound && !cbound ? "server" : cbound && !sbound ? "client" : sbound ? "both" : "neither"
            print line, b
        }')
    if [ "$line" = fail ]; then
        sed "s/^/client: /" "$err" >&2
    fi
    echo "$line"
}
