#!/usr/bin/env bash
# TLS throughput and handshake rate of cachely-server next to Debian's
# redis-server, both on a tls-port of 127.0.0.1 with the same throwaway CA
# and certificates (made here with openssl; mutual TLS, tls-auth-clients
# yes), no persistence.  redis-benchmark --tls runs SET and GET at -P 1 and
# -P 16 (50 clients, 32-byte values, keys random over 100,000), alternating
# cachely and redis for each round; the median of the rounds is reported
# with the CPU figures and bound column of utils/bench-node.sh.  The
# handshake rate is redis-benchmark -k 0 (a new connection, hence a full TLS
# handshake, for every PING), reported as new connections per second.
#
# Usage: utils/bench-tls.sh [--quick] [--rounds N] [--cpu-cap PCT] [--clients N]
#   --quick      fewer requests and one round
#   --rounds N   rounds per test (default 3)
#   --cpu-cap P  each server capped at P % of one core (root; cgroup v1)
#   --clients N  redis-benchmark clients (default 50)
# Environment: CACHELY_BIN (default build/src/cachely-server of this tree),
#              REDIS_BIN (default redis-server), BENCH_PORT_LO/HI (the
#              ports to pick from, default 24000-24999).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/utils/bench-lib.sh"
CACHELY_BIN=${CACHELY_BIN:-$here/build/src/cachely-server}
REDIS_BIN=${REDIS_BIN:-redis-server}
rounds=3
quick=0
clients=50

rest=()
while [ $# -gt 0 ]; do
    case "$1" in
    --clients) clients=${2:?--clients needs a number}; shift ;;
    *) rest+=("$1") ;;
    esac
    shift
done
bench_parse_args "${rest[@]+"${rest[@]}"}"
bench_cgroup_check
bench_require redis-benchmark redis-cli openssl python3 "$REDIS_BIN"
[ -x "$CACHELY_BIN" ] || { echo "no cachely-server at $CACHELY_BIN (set CACHELY_BIN)" >&2; exit 1; }
redis-benchmark --help 2>&1 | grep -q -- --tls \
    || { echo "this redis-benchmark has no --tls" >&2; exit 1; }

if [ "$quick" = 1 ]; then
    n_p1=20000; n_p16=100000; n_hs=300
else
    n_p1=100000; n_p16=500000; n_hs=1000
fi

bench_init bench-tls
tmp=$bench_tmp

# ---- certificates ----------------------------------------------------------

make_certs() {
    openssl req -x509 -new -nodes -newkey rsa:2048 -sha256 -days 2 \
        -keyout "$tmp/ca.key" -out "$tmp/ca.crt" -subj "/CN=bench CA" 2>/dev/null
    echo "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$tmp/san.ext"
    openssl req -new -nodes -newkey rsa:2048 -keyout "$tmp/server.key" \
        -out "$tmp/server.csr" -subj "/CN=localhost" 2>/dev/null
    openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" \
        -CAcreateserial -sha256 -days 2 -extfile "$tmp/san.ext" -out "$tmp/server.crt" 2>/dev/null
}

tls_args=()
cli_tls=()

# ---- servers ---------------------------------------------------------------

start_servers() {
    local ports
    mapfile -t ports < <(bench_free_ports 4 "${BENCH_PORT_LO:-24000}" "${BENCH_PORT_HI:-24999}")
    cport=${ports[0]} rport=${ports[1]} ctls=${ports[2]} rtls=${ports[3]}
    tls_args=(--tls-cert-file "$tmp/server.crt" --tls-key-file "$tmp/server.key"
              --tls-ca-cert-file "$tmp/ca.crt" --tls-auth-clients yes)
    cli_tls=(--tls --cacert "$tmp/ca.crt" --cert "$tmp/server.crt" --key "$tmp/server.key")
    "$CACHELY_BIN" --port "$cport" --tls-port "$ctls" --bind 127.0.0.1 --maxmemory 0 \
        --daemonize no --pidfile "$tmp/cachely.pid" --dir "$tmp" \
        --logfile "$tmp/cachely.log" --loglevel warning "${tls_args[@]}" &
    cachely_pid=$!
    bench_pids+=("$cachely_pid")
    bench_cap_pid cachely "$cachely_pid"
    "$REDIS_BIN" --port "$rport" --tls-port "$rtls" --bind 127.0.0.1 --maxmemory 0 \
        --save '' --appendonly no --daemonize no --pidfile "$tmp/redis.pid" \
        --dir "$tmp" --logfile "$tmp/redis.log" --loglevel warning "${tls_args[@]}" &
    redis_pid=$!
    bench_pids+=("$redis_pid")
    bench_cap_pid redis "$redis_pid"
    bench_wait_ping cachely "$cport" "$cachely_pid"
    bench_wait_ping redis "$rport" "$redis_pid"
    for p in "$ctls" "$rtls"; do
        [ "$(redis-cli -h 127.0.0.1 -p "$p" "${cli_tls[@]}" ping 2>&1)" = PONG ] \
            || { echo "no PONG over TLS on port $p" >&2; exit 1; }
    done
}

# measure port pid test pipeline requests -> "rps p50 p99 share cpu bound"
measure() {
    bench_measure "$2" "$5" -h 127.0.0.1 -p "$1" "${cli_tls[@]}" -t "$3" -P "$4" -n "$5" \
        -c "$clients" -d 32 -r 100000
}

# handshakes port pid -> "rate us" : new connections per second (one PING
# each) and the server's CPU per connection in microseconds
handshakes() {
    local t0 t1 c0 c1 hz
    hz=$(getconf CLK_TCK)
    c0=$(bench_cpu_ticks "$2")
    t0=$(date +%s%N)
    redis-benchmark -h 127.0.0.1 -p "$1" "${cli_tls[@]}" -k 0 -t ping_mbulk -n "$n_hs" \
        -c 10 -q >/dev/null 2>&1 || { echo fail; return 0; }
    t1=$(date +%s%N)
    c1=$(bench_cpu_ticks "$2")
    awk -v n="$n_hs" -v ns="$((t1 - t0))" -v t="$((c1 - c0))" -v hz="$hz" \
        'BEGIN { printf "%.0f %.0f\n", n / (ns / 1e9), t / hz * 1e6 / n }'
}

make_certs
start_servers
res=$tmp/rows.txt
hs=$tmp/handshakes.txt
: >"$res"
: >"$hs"
for test in set get; do
    for pl in 1 16; do
        if [ "$pl" = 1 ]; then n=$n_p1; else n=$n_p16; fi
        for _ in $(seq "$rounds"); do
            line=$(measure "$ctls" "$cachely_pid" "$test" "$pl" "$n")
            [ "$line" = fail ] || echo "cachely $test $pl $line" >>"$res"
            line=$(measure "$rtls" "$redis_pid" "$test" "$pl" "$n")
            [ "$line" = fail ] || echo "redis $test $pl $line" >>"$res"
        done
    done
done
for _ in $(seq "$rounds"); do
    echo "cachely $(handshakes "$ctls" "$cachely_pid")" >>"$hs"
    echo "redis $(handshakes "$rtls" "$redis_pid")" >>"$hs"
done
echo "TLS (mutual, TLSv1.3, RSA 2048), $clients clients, $rounds round(s):"
python3 "$here/utils/bench-table.py" node "$res"
python3 - "$hs" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if len(l.split()) == 3]
c = [float(r[1]) for r in rows if r[0] == "cachely"]
r = [float(r[1]) for r in rows if r[0] == "redis"]
cu = [float(r[2]) for r in rows if r[0] == "cachely"]
ru = [float(r[2]) for r in rows if r[0] == "redis"]
if c and r:
    mc, mr = statistics.median(c), statistics.median(r)
    uc, ur = statistics.median(cu), statistics.median(ru)
    print("handshakes/s (redis-benchmark -k 0, 10 clients, one PING per connection): "
          "cachely %.0f, redis %.0f, ratio %.2f; server CPU per connection: "
          "cachely %.0f us, redis %.0f us, ratio %.2f"
          % (mc, mr, mc / mr, uc, ur, uc / ur if ur else float("nan")))
else:
    print("handshake test failed: %r" % rows)
EOF
