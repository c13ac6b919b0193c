#!/usr/bin/env bash
# Replication next to Debian's redis-server, on 127.0.0.1 with free ports
# and temp dirs (no persistence; redis with --repl-diskless-sync yes
# --repl-diskless-sync-delay 0 so that neither side waits before syncing):
#   1. full sync: a master holding KEYS_TO_LOAD keys with 32-byte values
#      (loaded with redis-cli --pipe) gets a new replica; the time from
#      REPLICAOF to master_link_status:up with DBSIZE equal, in ms.
#   2. SET throughput of the master with two replicas attached:
#      redis-benchmark -t set -n 200000 -c 50 -r 100000 -d 32 at -P 16 and -P 1.
#   3. replica lag during that load: master_repl_offset minus the slower
#      replica's slave_repl_offset, sampled every 10 ms (p50/p99 over the
#      samples of all rounds, bytes), and the time for both replicas to
#      catch up once the load stops (ms, polled every 1 ms).
# Cachely is measured against Cachely replicas, Redis against Redis ones;
# other figures are the median of the rounds.  Ratio = cachely / redis (for
# times and lag, lower is better).
#
# Usage: utils/bench-repl.sh [--quick] [--rounds N]
#   --quick      200,000 keys and one round (well under a minute)
#   --rounds N   benchmark rounds per pipeline depth (default 5)
# Environment: CACHELY_BIN (default build/src/cachely-server of this tree),
#              REDIS_BIN (default redis-server), KEYS_TO_LOAD (1000000).
# Three servers, the client and the sampler share the machine's cores, so
# absolute figures depend on the machine; the ratio is what to read.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/utils/bench-lib.sh"
CACHELY_BIN=${CACHELY_BIN:-$here/build/src/cachely-server}
REDIS_BIN=${REDIS_BIN:-redis-server}
PY=/usr/bin/python3
rounds=5
quick=0

bench_parse_args "$@"

requests=200000
if [ "$quick" = 1 ]; then
    KEYS_TO_LOAD=${KEYS_TO_LOAD:-200000}
else
    KEYS_TO_LOAD=${KEYS_TO_LOAD:-1000000}
fi

bench_require redis-benchmark redis-cli "$PY" "$REDIS_BIN"
[ -x "$CACHELY_BIN" ] || { echo "no cachely-server at $CACHELY_BIN (set CACHELY_BIN)" >&2; exit 1; }

bench_init bench-repl
tmp=$bench_tmp
ports=()     # master, replica 1, replica 2 of the current system

# ---- server lifecycle ------------------------------------------------------

stop_servers() {
    bench_stop_all
    ports=()
}

start_server() { # system name -> appends to bench_pids and ports
    local sys=$1 name=$2 port dir
    port=$(bench_free_port)
    dir="$tmp/$name"
    mkdir -p "$dir"
    if [ "$sys" = cachely ]; then
        "$CACHELY_BIN" --port "$port" --bind 127.0.0.1 --maxmemory 0 \
            --daemonize no --dir "$dir" --logfile "$tmp/$name.log" --loglevel notice &
    else
        "$REDIS_BIN" --port "$port" --bind 127.0.0.1 --maxmemory 0 \
            --save '' --appendonly no --daemonize no --dir "$dir" \
            --repl-diskless-sync yes --repl-diskless-sync-delay 0 \
            --logfile "$tmp/$name.log" --loglevel notice &
    fi
    bench_pids+=($!)
    ports+=("$port")
    bench_wait_ping "$name" "$port" "$!"
}

# ---- loading ---------------------------------------------------------------

# SET key:N <32 bytes> for N in 0..KEYS_TO_LOAD-1, as RESP, written once.
gen_load() {
    awk -v n="$KEYS_TO_LOAD" 'BEGIN {
        for (i = 0; i < n; i++) {
            k = "key:" i
            v = sprintf("%032d", i)
            printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$32\r\n%s\r\n", length(k), k, v
        }
    }' >"$tmp/load.resp"
}

load_keys() { # name port
    local out got
    out=$(redis-cli -h 127.0.0.1 -p "$2" --pipe --pipe-timeout 30 <"$tmp/load.resp" 2>&1 \
          | tail -n 1) || true
    case "$out" in
    *"errors: 0,"*) ;;
    *) echo "note: loading $1: redis-cli --pipe said: $out" >&2 ;;
    esac
    got=$(redis-cli -h 127.0.0.1 -p "$2" dbsize 2>&1)
    if [ "$got" != "$KEYS_TO_LOAD" ]; then
        echo "warning: $1: DBSIZE $got after loading $KEYS_TO_LOAD keys" >&2
    fi
}

# ---- measuring (a small Python helper over plain sockets) ------------------

cat >"$tmp/measure.py" <<'EOF'
"""sync MASTER REPLICA: REPLICAOF, then poll until the link is up and DBSIZE
equal; prints ms.  load LAGFILE MASTER REPLICA... -- BENCH ARGS: runs the
benchmark, appends a lag sample (bytes) every 10 ms to LAGFILE, prints
'rps catchup_ms samples'."""
import socket, subprocess, sys, time


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), 30)
        self.f = self.s.makefile("rb")

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        line = self.f.readline()
        if line[:1] == b"$":
            n = int(line[1:])
            return None if n < 0 else self.f.read(n + 2)[:-2].decode()
        if line[:1] == b"-":
            raise RuntimeError(line.decode().strip())
        return line[1:].strip().decode()

    def info(self):
        d = {}
        for l in self.call("INFO", "replication").splitlines():
            k, _, v = l.partition(":")
            d[k] = v.strip()
        return d


def sync(mport, rport):
    m, r = Conn(mport), Conn(rport)
    want = int(m.call("DBSIZE"))
    t0 = time.monotonic()
    r.call("REPLICAOF", "127.0.0.1", mport)
    deadline = t0 + 300
    while time.monotonic() < deadline:
        if r.info().get("master_link_status") == "up" and int(r.call("DBSIZE")) == want:
            print("%.0f" % ((time.monotonic() - t0) * 1000))
            return
        time.sleep(0.002)
    print("timeout")


def load(lagfile, mport, rports, bench):
    m = Conn(mport)
    rs = [Conn(p) for p in rports]
    p = subprocess.Popen(bench, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lags = []
    try:
        while p.poll() is None:
            # Replicas first, then the master: the figure can only be high
            # by the writes of one round trip, never negative.
            roffs = [int(r.info()["slave_repl_offset"]) for r in rs]
            moff = int(m.info()["master_repl_offset"])
            lags.append(max(0, moff - min(roffs)))
            time.sleep(0.01)
        t0 = time.monotonic()
        while True:
            moff = int(m.info()["master_repl_offset"])
            if all(int(r.info()["slave_repl_offset"]) >= moff for r in rs):
                break
            if time.monotonic() - t0 > 60:
                break
            time.sleep(0.001)
        catchup = (time.monotonic() - t0) * 1000
    finally:
        if p.poll() is None:
            p.kill()
        stdout = p.communicate()[0]
    rps = "n/a"
    for line in stdout.splitlines():
        cells = [c.strip('"') for c in line.split('","')]
        if len(cells) > 1 and cells[0].strip('"').upper() == "SET":
            rps = "%.0f" % float(cells[1])
    with open(lagfile, "a") as f:
        f.write("".join("%d\n" % v for v in lags))
    print(rps, "%.1f" % catchup, len(lags))


if sys.argv[1] == "sync":
    sync(int(sys.argv[2]), int(sys.argv[3]))
else:
    sep = sys.argv.index("--")
    load(sys.argv[2], int(sys.argv[3]), [int(x) for x in sys.argv[4:sep]], sys.argv[sep + 1:])
EOF

pct() { # percentile file: nearest rank over the pooled samples
    sort -g "$2" | awk -v p="$1" '{v[NR]=$1} END {
        if (NR == 0) { print "n/a"; exit }
        i = int(p / 100 * (NR - 1) + 0.5) + 1
        print v[i] }'
}

# Everything for one system; results go to $tmp/<system>.<metric>.
run_system() { # cachely|redis
    local sys=$1 m r1 r2 pl
    start_server "$sys" "$sys-master"
    start_server "$sys" "$sys-replica1"
    start_server "$sys" "$sys-replica2"
    m=${ports[0]}; r1=${ports[1]}; r2=${ports[2]}
    load_keys "$sys-master" "$m"
    "$PY" "$tmp/measure.py" sync "$m" "$r1" >"$tmp/$sys.sync"
    "$PY" "$tmp/measure.py" sync "$m" "$r2" >"$tmp/$sys.sync2"
    for pl in 16 1; do
        : >"$tmp/$sys.P$pl"
        : >"$tmp/$sys.P$pl.lag"
        for _ in $(seq "$rounds"); do
            "$PY" "$tmp/measure.py" load "$tmp/$sys.P$pl.lag" "$m" "$r1" "$r2" -- \
                redis-benchmark -h 127.0.0.1 -p "$m" -t set -n "$requests" -c 50 \
                -r 100000 -d 32 -P "$pl" --csv >>"$tmp/$sys.P$pl"
        done
    done
    # Both replicas must hold what the master holds, or the figures lie.
    local md r1d r2d
    md=$(redis-cli -h 127.0.0.1 -p "$m" dbsize)
    r1d=$(redis-cli -h 127.0.0.1 -p "$r1" dbsize)
    r2d=$(redis-cli -h 127.0.0.1 -p "$r2" dbsize)
    if [ "$md" != "$r1d" ] || [ "$md" != "$r2d" ]; then
        echo "warning: $sys: DBSIZE master $md, replicas $r1d $r2d" >&2
    fi
    stop_servers
}

col() { # system pipeline column(1-based) [decimals] -> median over rounds
    awk -v c="$3" '{print $c}' "$tmp/$1.P$2" | bench_median "${4:-0}"
}

row() { # label cachely redis
    printf '%-34s %12s %12s %8s\n' "$1" "$2" "$3" "$(bench_ratio "$2" "$3")"
}

# ---- main ------------------------------------------------------------------

echo "cachely: $CACHELY_BIN"
echo "redis:   $("$REDIS_BIN" --version)"
echo "keys $KEYS_TO_LOAD (32-byte values); SET -n $requests -c 50 -r 100000 -d 32;" \
     "median of $rounds round(s); $(nproc) cores shared;" \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)"
gen_load
run_system cachely
run_system redis
rm -f "$tmp/load.resp"

echo
printf '%-34s %12s %12s %8s\n' metric cachely redis ratio
row "full sync $KEYS_TO_LOAD keys (ms)" "$(cat "$tmp/cachely.sync")" "$(cat "$tmp/redis.sync")"
row "  second replica (ms)" "$(cat "$tmp/cachely.sync2")" "$(cat "$tmp/redis.sync2")"
for pl in 16 1; do
    row "SET rps, 2 replicas, -P $pl" "$(col cachely $pl 1)" "$(col redis $pl 1)"
    row "  lag p50 (bytes)" "$(pct 50 "$tmp/cachely.P$pl.lag")" "$(pct 50 "$tmp/redis.P$pl.lag")"
    row "  lag p99 (bytes)" "$(pct 99 "$tmp/cachely.P$pl.lag")" "$(pct 99 "$tmp/redis.P$pl.lag")"
    row "  catch-up after load (ms)" "$(col cachely $pl 2 1)" "$(col redis $pl 2 1)"
    row "  lag samples (all rounds)" "$(wc -l <"$tmp/cachely.P$pl.lag")" \
        "$(wc -l <"$tmp/redis.P$pl.lag")"
done
