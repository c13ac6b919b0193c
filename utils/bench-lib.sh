# Helpers shared by utils/bench-*.sh: options, a temp dir and the servers a
# script started (stopped by PID when it ends, however it ends), free ports,
# readiness by PING, medians and ratios.  Source it after `set -euo pipefail`;
# it defines bench_* names only, and bench_parse_args sets quick and rounds.
# Needs redis-cli, and python3 (or $PY) for free ports.

# ---- options ----------------------------------------------------------------

# bench_parse_args "$@": --quick sets quick=1 and rounds=1, --rounds N (or
# --rounds=N) sets rounds, -h/--help prints the script's header comment.
# The caller sets the defaults of quick and rounds first.  Exits 2 on a bad
# option or a rounds that is not a positive number.
bench_parse_args() {
    while [ $# -gt 0 ]; do
        case "$1" in
        --quick) quick=1; rounds=1 ;;
        --rounds)
            [ $# -ge 2 ] || { echo "--rounds needs a number" >&2; exit 2; }
            rounds=$2; shift ;;
        --rounds=*) rounds=${1#--rounds=} ;;
        -h|--help)
            # The comment block after the #! line, without its "# ".
            awk 'NR == 1 { next } !/^#/ { exit } { print }' "$0" | sed 's/^# \{0,1\}//'
            exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
        esac
        shift
    done
    case "$rounds" in ''|*[!0-9]*|0) echo "--rounds needs a positive number" >&2; exit 2 ;; esac
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
