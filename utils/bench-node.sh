#!/usr/bin/env bash
# Throughput and memory of cachely-server next to Debian's redis-server, run
# with matching settings on 127.0.0.1 (free ports, no persistence, maxmemory
# 0).  Throughput: redis-benchmark runs SET, GET, INCR, MSET (10 keys),
# LPUSH, RPUSH, LPOP, RPOP, LRANGE_100, LRANGE_600, SADD, SPOP (popping
# what SADD added) HSET, ZADD and ZPOPMIN at -P 1 and -P 16 with 50 clients, 32-byte values and keys random over 100,000,
# alternating cachely and redis for each round, and reports the median of the
# rounds.  Memory: 1,000,000 keys with 32-byte values and a TTL are loaded
# into fresh servers through redis-cli --pipe; VmRSS and used_memory are
# printed with the ratio.
#
# Usage: utils/bench-node.sh [--quick] [--rounds N]
#   --quick      fewer requests and one round (about a minute)
#   --rounds N   rounds per test (default 3)
# Environment: CACHELY_BIN (default build/src/cachely-server of this tree),
#              REDIS_BIN (default redis-server), KEYS_TO_LOAD (1000000).
# The client and the servers share the machine's cores, so absolute figures
# depend on the machine; the ratio is what to read.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/utils/bench-lib.sh"
CACHELY_BIN=${CACHELY_BIN:-$here/build/src/cachely-server}
REDIS_BIN=${REDIS_BIN:-redis-server}
KEYS_TO_LOAD=${KEYS_TO_LOAD:-1000000}
rounds=3
quick=0

bench_parse_args "$@"
bench_require redis-benchmark redis-cli python3 "$REDIS_BIN"
[ -x "$CACHELY_BIN" ] || { echo "no cachely-server at $CACHELY_BIN (set CACHELY_BIN)" >&2; exit 1; }

if [ "$quick" = 1 ]; then
    n_p1=20000; n_p16=100000
else
    n_p1=100000; n_p16=500000
fi

bench_init bench-node
tmp=$bench_tmp
cachely_pid=''
redis_pid=''

# ---- server lifecycle ------------------------------------------------------

stop_servers() {
    bench_stop_all
    cachely_pid=''
    redis_pid=''
}

# Both in the foreground of a background job (so $! is the server), each
# writing a pidfile in the temp dir; no persistence, no memory limit.
start_servers() {
    cport=$(bench_free_port)
    rport=$(bench_free_port)
    while [ "$rport" = "$cport" ]; do rport=$(bench_free_port); done
    "$CACHELY_BIN" --port "$cport" --bind 127.0.0.1 --maxmemory 0 \
        --daemonize no --pidfile "$tmp/cachely.pid" --dir "$tmp" \
        --logfile "$tmp/cachely.log" --loglevel warning &
    cachely_pid=$!
    bench_pids+=("$cachely_pid")
    "$REDIS_BIN" --port "$rport" --bind 127.0.0.1 --maxmemory 0 \
        --save '' --appendonly no --daemonize no --pidfile "$tmp/redis.pid" \
        --dir "$tmp" --logfile "$tmp/redis.log" --loglevel warning &
    redis_pid=$!
    bench_pids+=("$redis_pid")
    bench_wait_ping cachely "$cport" "$cachely_pid"
    bench_wait_ping redis "$rport" "$redis_pid"
}

# ---- throughput ------------------------------------------------------------

bench_once() { # port test pipeline requests -> rps
    redis-benchmark -h 127.0.0.1 -p "$1" -t "$2" -P "$3" -n "$4" -c 50 -d 32 \
        -r 100000 --csv 2>/dev/null \
        | awk -F'","' 'NR > 1 && NF > 1 { gsub(/"/, "", $2); rps = $2 }
                       END { if (rps != "") print rps }'
}
# (The last row: lrange_* runs an LPUSH of its own first.)

# redis-benchmark counts error replies as answers, so a command a server
# does not implement would look fast: check each one answers properly.
supports() { # port test
    local out
    case "$2" in
    set) out=$(redis-cli -h 127.0.0.1 -p "$1" set bench:probe x 2>&1) ;;
    get) out=$(redis-cli -h 127.0.0.1 -p "$1" get bench:probe 2>&1) ;;
    incr) out=$(redis-cli -h 127.0.0.1 -p "$1" incr bench:counter 2>&1) ;;
    mset) out=$(redis-cli -h 127.0.0.1 -p "$1" mset bench:a 1 bench:b 2 2>&1) ;;
    lpush|rpush|lpop|rpop|lrange_*)
        out=$(redis-cli -h 127.0.0.1 -p "$1" rpush bench:list x 2>&1) ;;
    sadd) out=$(redis-cli -h 127.0.0.1 -p "$1" sadd bench:set x 2>&1) ;;
    spop) redis-cli -h 127.0.0.1 -p "$1" sadd bench:set x >/dev/null 2>&1
          out=$(redis-cli -h 127.0.0.1 -p "$1" spop bench:set 2>&1) ;;
    hset) out=$(redis-cli -h 127.0.0.1 -p "$1" hset bench:hash f v 2>&1) ;;
    zadd|zpopmin) out=$(redis-cli -h 127.0.0.1 -p "$1" zadd bench:zset 1 x 2>&1) ;;
    esac
    case "$out" in
    OK|x|[0-9]*) return 0 ;;
    *) return 1 ;;
    esac
}

run_throughput() {
    local test pl n cm rm label ratio c_ok
    printf '%-16s %14s %14s %8s\n' test 'cachely rps' 'redis rps' ratio
    for test in set get incr mset lpush rpush lpop rpop lrange_100 lrange_600 sadd spop hset zadd zpopmin; do
        for pl in 1 16; do
            if [ "$pl" = 1 ]; then n=$n_p1; else n=$n_p16; fi
            label="$(echo "$test" | tr '[:lower:]' '[:upper:]') -P $pl"
            [ "$test" = mset ] && label="MSET(10) -P $pl"
            : >"$tmp/c" ; : >"$tmp/r"
            c_ok=1
            supports "$cport" "$test" || c_ok=0
            for _ in $(seq "$rounds"); do
                if [ "$c_ok" = 1 ]; then
                    bench_once "$cport" "$test" "$pl" "$n" >>"$tmp/c"
                fi
                bench_once "$rport" "$test" "$pl" "$n" >>"$tmp/r"
            done
            rm=$(bench_median <"$tmp/r")
            if [ "$c_ok" = 1 ]; then
                cm=$(bench_median <"$tmp/c")
                ratio=$(awk -v a="$cm" -v b="$rm" 'BEGIN {
                    if (b + 0 > 0 && a + 0 > 0) printf "%.2f", a / b; else print "n/a" }')
            else
                cm='n/a (error)'; ratio='n/a'
            fi
            printf '%-16s %14s %14s %8s\n' "$label" "$cm" "$rm" "$ratio"
        done
    done
}

# ---- memory ----------------------------------------------------------------

# SET key:N <32 bytes> EX 3600 for N in 0..KEYS_TO_LOAD-1, as RESP.
gen_load() {
    awk -v n="$KEYS_TO_LOAD" 'BEGIN {
        for (i = 0; i < n; i++) {
            k = "key:" i
            v = sprintf("%032d", i)
            printf "*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$32\r\n%s\r\n$2\r\nEX\r\n$4\r\n3600\r\n", length(k), k, v
        }
    }'
}

load_keys() { # name port
    local out
    # redis-cli ends the stream with an ECHO marker (a server without ECHO
    # costs the pipe timeout and counts errors) and exits non-zero when any
    # reply was an error: report it and check the keys with GET instead.
    out=$(gen_load | redis-cli -h 127.0.0.1 -p "$2" --pipe --pipe-timeout 10 2>&1 \
          | tail -n 1) || true
    case "$out" in
    *"errors: 0,"*) ;;
    *) echo "note: loading $1: redis-cli --pipe said: $out" >&2 ;;
    esac
    local last=$((KEYS_TO_LOAD - 1)) got
    got=$(redis-cli -h 127.0.0.1 -p "$2" get "key:$last" 2>&1)
    if [ "$got" != "$(printf '%032d' "$last")" ]; then
        echo "warning: $1: GET key:$last returned '$got'" >&2
    fi
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

used_memory() {
    redis-cli -h 127.0.0.1 -p "$1" info memory 2>/dev/null | tr -d '\r' \
        | awk -F: '$1 == "used_memory" {print $2}'
}

mb() { awk -v v="$1" 'BEGIN { if (v == "") print "n/a"; else printf "%.1f", v / 1048576 }'; }

run_memory() {
    local crss rrss cused rused ckeys rkeys
    load_keys cachely "$cport"
    load_keys redis "$rport"
    ckeys=$(redis-cli -h 127.0.0.1 -p "$cport" dbsize 2>/dev/null || true)
    rkeys=$(redis-cli -h 127.0.0.1 -p "$rport" dbsize 2>/dev/null || true)
    case "$ckeys" in ''|*[!0-9]*) ckeys='?' ;; esac
    case "$rkeys" in ''|*[!0-9]*) rkeys='?' ;; esac
    crss=$(( $(rss_kb "$cachely_pid") * 1024 ))
    rrss=$(( $(rss_kb "$redis_pid") * 1024 ))
    cused=$(used_memory "$cport")
    rused=$(used_memory "$rport")
    echo
    echo "memory: $KEYS_TO_LOAD keys, 32-byte values, EX 3600 (dbsize cachely=${ckeys:-?} redis=${rkeys:-?})"
    printf '%-16s %14s %14s %8s\n' metric 'cachely MB' 'redis MB' ratio
    printf '%-16s %14s %14s %8s\n' RSS "$(mb "$crss")" "$(mb "$rrss")" "$(bench_ratio "$crss" "$rrss")"
    printf '%-16s %14s %14s %8s\n' used_memory "$(mb "$cused")" "$(mb "$rused")" "$(bench_ratio "$cused" "$rused")"
}

# ---- main ------------------------------------------------------------------

echo "cachely: $CACHELY_BIN"
echo "redis:   $("$REDIS_BIN" --version)"
echo "50 clients, -d 32, -r 100000, requests $n_p1 (-P 1) / $n_p16 (-P 16), median of $rounds round(s), $(nproc) cores shared with the client"
start_servers
run_throughput
# Fresh servers for the memory test, so the benchmark's keys do not count.
stop_servers
start_servers
run_memory
