#!/usr/bin/env bash
# One cachely-server master measured three ways in one run, on 127.0.0.1
# with free ports and a temp dir:
#   direct     redis-benchmark -> cachely-server
#   cachely    redis-benchmark -> cachely-proxy --nodes <master>
#              --read-policy master (so every request reaches the same node)
#   twemproxy  redis-benchmark -> nutcracker (Debian's twemproxy, redis: true,
#              the same master as its only server)
# Tests: GET and SET, 50 clients, random keys (-r 100000, 3-byte values),
# at -P 1 (-n 100000) and -P 16 (-n 500000).  Rounds are interleaved (each
# round runs every test on every path, the path order rotating), and each
# figure is the median over the rounds: requests per second and the p50
# latency redis-benchmark reports (ms).  "+p50" is a proxy's p50 minus the
# direct p50: the median latency the proxy adds.  A second table gives,
# per path, p50/p99, the client's CPU share, the node's and the proxy's CPU
# per request (utime+stime from /proc) and what bounded the run; the
# proxy's CPU per request over the node's is the figure to hold at <= 0.6.
#
# Transactions, scripts and blocking commands (a third table): MULTI/EXEC
# (utils/bench-txn.c, built here with cc and hiredis: each request is
# MULTI, INCR, EXEC sent in one write, as a client library sends a
# transaction) and EVALSHA of a one-key INCR script (redis-benchmark), on
# txn:* keys (GET/SET fill key:* with non-numbers), at -P 1 and -P 16; and
# BLPOP/LPUSH ping-pong (utils/bench-blocking.c, also built here: pairs of
# connections hand an element back and forth, each side waiting in BLPOP
# for the other's LPUSH; one request = one exchange) with 25 pairs (50
# connections, the -P 1 row) and with 1 pair (latency: p50/p99 from the
# push sent to the pop read).  Direct and through cachely-proxy,
# interleaved the same way; twemproxy for EVALSHA only (it has neither
# MULTI nor blocking commands); with the node's and the proxy's CPU per
# request and the client's CPU share (the CPU figures hold on a loaded
# machine, the rates do not).  BENCH_PROXY_ONLY=txn runs only this table,
# BENCH_PROXY_ONLY=blocking only its BLPOP rows.  BENCH_PROXY_DEDICATED=1
# adds a second cachely-proxy with blocking-mux no to the BLPOP rows
# ("dedicated": a node connection per blocked client, as before
# CACHELY.BLOCK), interleaved with the others.
#
# Usage: utils/bench-proxy.sh [--quick] [--rounds N] [--cpu-cap PCT] [--pin]
#   --quick      one round, -n divided by 5 (for checking the script)
#   --rounds N   rounds (default 3)
#   --cpu-cap P  the node, the proxy and twemproxy each capped at P % of a
#                core (root; cgroup v1 cpu groups)
#   --pin        the node and the proxies on the last CPU, the client alone
#                on the others.  Use it with --cpu-cap 50 for the ratios:
#                on two cores the proxy path is three busy processes (client,
#                proxy, node), and unpinned the scheduler's placement decides
#                the run.  Measured on the BLPOP row (25 pairs): the proxy
#                spends 6.8-7.2 us per exchange when it shares a core with its
#                node and 9.8-11.0 us when their wake-ups cross cores (an
#                inter-processor interrupt, a VM exit here), so unpinned runs
#                of one build gave 0.66-1.06 x direct, pinned ones 1.02-1.11.
# Environment: CACHELY_BUILDDIR (default build/ of this tree; binaries in
# its src/), NUTCRACKER (default nutcracker from PATH).  nutcracker is
# installed with apt-get when missing and running as root; otherwise the
# twemproxy column is skipped with a note.
# Client, proxy and server share the machine's cores: read the ratios.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/utils/bench-lib.sh"
BUILD=${CACHELY_BUILDDIR:-$here/build}
SERVER=$BUILD/src/cachely-server
PROXY=$BUILD/src/cachely-proxy
PY=/usr/bin/python3
rounds=3
quick=0

bench_parse_args "$@"
case "${BENCH_PROXY_ONLY:-}" in
''|txn|blocking) ;;
*) echo "BENCH_PROXY_ONLY is txn or blocking" >&2; exit 2 ;;
esac
bench_cgroup_check
div=1
if [ "$quick" = 1 ]; then
    div=5
fi

bench_require redis-benchmark redis-cli "$PY"
for b in "$SERVER" "$PROXY"; do
    [ -x "$b" ] || { echo "no $b (build first, or set CACHELY_BUILDDIR)" >&2; exit 1; }
done

NUTCRACKER=${NUTCRACKER:-$(command -v nutcracker || echo /usr/sbin/nutcracker)}
twem_note=""
if [ ! -x "$NUTCRACKER" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing nutcracker (twemproxy) with apt-get ..."
        if DEBIAN_FRONTEND=noninteractive apt-get install -y -q nutcracker >/dev/null 2>&1 \
            || { DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null 2>&1 \
                 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nutcracker \
                    >/dev/null 2>&1; }; then
            NUTCRACKER=$(command -v nutcracker || echo /usr/sbin/nutcracker)
        fi
    fi
    if [ ! -x "$NUTCRACKER" ]; then
        twem_note="twemproxy skipped: nutcracker is not installed (apt-get install nutcracker as root)"
    fi
fi

bench_init bench-proxy
tmp=$bench_tmp

# ---- start the three paths --------------------------------------------------

mport=$(bench_free_port)
"$SERVER" --port "$mport" --bind 127.0.0.1 --dir "$tmp" --logfile "$tmp/server.log" \
    --save "" --appendonly no &
server_pid=$!
bench_pids+=($!)
bench_cap_pid server "$server_pid"
bench_wait_ping server "$mport" "$!"

pport=$(bench_free_port)
"$PROXY" --port "$pport" --bind 127.0.0.1 --nodes "127.0.0.1:$mport" --read-policy master \
    --logfile "$tmp/proxy.log" &
proxy_pid=$!
bench_pids+=($!)
bench_cap_pid proxy "$proxy_pid"
bench_wait_ping proxy "$pport" "$!"
# The proxy answers PING itself: wait until it knows the master.
for _ in $(seq 100); do
    redis-cli -h 127.0.0.1 -p "$pport" INFO 2>/dev/null | grep -q "^master:127" && break
    sleep 0.05
done

dedicated_pid="" dport=""
if [ "${BENCH_PROXY_DEDICATED:-}" = 1 ]; then
    dport=$(bench_free_port)
    "$PROXY" --port "$dport" --bind 127.0.0.1 --nodes "127.0.0.1:$mport" \
        --read-policy master --blocking-mux no --logfile "$tmp/proxy-dedicated.log" &
    dedicated_pid=$!
    bench_pids+=($!)
    bench_cap_pid proxy-dedicated "$dedicated_pid"
    bench_wait_ping proxy-dedicated "$dport" "$!"
fi

paths="direct cachely"
if [ -z "$twem_note" ]; then
    tport=$(bench_free_port)
    cat >"$tmp/nutcracker.yml" <<EOF
bench:
  listen: 127.0.0.1:$tport
  hash: fnv1a_64
  distribution: ketama
  redis: true
  auto_eject_hosts: false
  server_connections: 1
  timeout: 5000
  servers:
    - 127.0.0.1:$mport:1
EOF
    "$NUTCRACKER" -t -c "$tmp/nutcracker.yml" >/dev/null 2>&1 \
        || { echo "nutcracker rejected its config:" >&2; cat "$tmp/nutcracker.yml" >&2; exit 1; }
    # -s: its stats port, which defaults to 22222; pick a free one.
    "$NUTCRACKER" -c "$tmp/nutcracker.yml" -s "$(bench_free_port)" -o "$tmp/twemproxy.log" &
    twem_pid=$!
    bench_pids+=($!)
    bench_cap_pid twemproxy "$twem_pid"
    bench_wait_ping twemproxy "$tport" "$!"
    paths="direct cachely twemproxy"
fi

port_of() {
    case "$1" in
    direct) echo "$mport" ;; cachely) echo "$pport" ;; twemproxy) echo "$tport" ;;
    dedicated) echo "$dport" ;;
    esac
}
pids_of() { # the node, then the proxy on the path
    case "$1" in
    direct) echo "$server_pid" ;;
    cachely) echo "$server_pid $proxy_pid" ;;
    twemproxy) echo "$server_pid $twem_pid" ;;
    dedicated) echo "$server_pid $dedicated_pid" ;;
    esac
}

if [ -z "${BENCH_PROXY_ONLY:-}" ]; then
# Fill the keyspace so that GETs find values.
redis-benchmark -h 127.0.0.1 -p "$mport" -t set -r 100000 -n 300000 -P 16 -q >/dev/null

# ---- rounds -----------------------------------------------------------------

results=$tmp/results.txt   # path test pipeline rps p50
rows=$tmp/rows.txt         # path test pipeline rps p50 p99 share cpu... bound
: >"$results"
: >"$rows"
n1=$((100000 / div))
n16=$((500000 / div))
echo "cachely-server on $mport, cachely-proxy on $pport${tport:+, twemproxy on $tport};" \
     "$rounds round(s), 50 clients, -r 100000, cpu cap per process:" \
     "$([ -n "$bench_cap" ] && echo "$bench_cap % of a core" || echo none)," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$rounds"); do
    # Rotate the path order each round so no path always runs first.
    set -- $paths
    order=""
    for _ in $(seq $(( (round - 1) % $# ))); do set -- "${@:2}" "$1"; done
    order="$*"
    for P in 1 16; do
        n=$n1
        [ "$P" = 16 ] && n=$n16
        for t in get set; do
            for path in $order; do
                line=$(bench_measure "$(pids_of "$path")" "$n" -h 127.0.0.1 \
                       -p "$(port_of "$path")" -c 50 -r 100000 -n "$n" -P "$P" -t "$t")
                # rps p50 p99 client-share cpu-us-per-request... bound
                [ "$line" != fail ] || { echo "redis-benchmark failed on $path" >&2; exit 1; }
                set -- $line
                echo "$path $t $P $1 $2" >>"$results"
                echo "$path $t $P $line" >>"$rows"
            done
        done
    done
    echo "round $round done"
done

errors=$(grep -c "lost\|not reachable" "$tmp/proxy.log" || true)

"$PY" - "$results" "$paths" <<'EOF'
import statistics
import sys

rows = [line.split() for line in open(sys.argv[1])]
paths = sys.argv[2].split()
med = {}
for path in paths:
    for t in ("get", "set"):
        for p in ("1", "16"):
            sel = [r for r in rows if r[0] == path and r[1] == t and r[2] == p]
            med[path, t, p] = (statistics.median(float(r[3]) for r in sel),
                               statistics.median(float(r[4]) for r in sel))

def fmt_rps(v):
    return "%9.0f" % v

head = "%-9s" % "test"
for path in paths:
    head += " %11s %6s" % (path + " rps", "p50")
head += "  %8s" % "cp/dir"
if "twemproxy" in paths:
    head += " %8s %8s" % ("tw/dir", "cp/tw")
head += "  %8s" % "cp +p50"
if "twemproxy" in paths:
    head += " %8s" % "tw +p50"
print()
print(head)
print("-" * len(head))
for t in ("get", "set"):
    for p in ("1", "16"):
        line = "%-9s" % ("%s -P%s" % (t.upper(), p))
        for path in paths:
            rps, p50 = med[path, t, p]
            line += " %11.0f %6.3f" % (rps, p50)
        d = med["direct", t, p]
        c = med["cachely", t, p]
        line += "  %8.2f" % (c[0] / d[0])
        if "twemproxy" in paths:
            w = med["twemproxy", t, p]
            line += " %8.2f %8.2f" % (w[0] / d[0], c[0] / w[0])
        line += "  %8.3f" % (c[1] - d[1])
        if "twemproxy" in paths:
            line += " %8.3f" % (w[1] - d[1])
        print(line)
print()
print("rps = requests/s, p50 = median latency in ms (redis-benchmark), medians of the rounds;")
print("cp = cachely-proxy, tw = twemproxy, dir = direct; +p50 = p50 added over direct (ms)")
EOF
"$PY" "$here/utils/bench-table.py" proxy "$rows" "$paths"
echo "proxy log lines about lost/unreachable backends: $errors"
fi
txn_paths=$paths
if [ -n "$dedicated_pid" ]; then
    txn_paths="$paths dedicated" # the BLPOP rows only
fi
. "$here/utils/bench-proxy-txn.sh"
if [ -n "$twem_note" ]; then
    echo "$twem_note"
fi
