#!/usr/bin/env bash
# Throughput and memory of cachely-server next to Debian's redis-server, run
# with matching settings on 127.0.0.1 (free ports, no persistence, maxmemory
# 0).  Throughput: redis-benchmark runs SET, GET, INCR, MSET (10 keys),
# LPUSH, RPUSH, LPOP, RPOP, LRANGE_100, LRANGE_600, SADD, SPOP, HSET, ZADD
# ZPOPMIN, XADD and EVALSHA (a script doing INCR and EXPIRE on one random
# key, issue 13's script row) at -P 1 and -P 16 with 50 clients (--clients N), 32-byte
# values and keys random over 100,000, alternating cachely and redis for
# each round, and reports the median of the rounds; a test whose command
# cachely rejects is skipped.  Each pop round (LPOP, RPOP, SPOP, ZPOPMIN)
# times a key refilled before it, not counted, with twice the round's
# requests (see fill_for_pop), so no pop meets an empty key.  Every row also gives each server's CPU per
# request (utime+stime from /proc over the requests), p50/p99 and the
# client's CPU share (1.00 = redis-benchmark used a whole core), and says
# what bounded the runs: a ratio is the server's figure only when the
# server was the bottleneck ("server" in the bound column).  With
# --cpu-cap PCT each server runs in its own cgroup v1 cpu group capped at
# PCT % of a core, which is what makes -P 1 server-bound on a small
# machine.  Memory: 1,000,000 keys with 32-byte values and a TTL are loaded
# into fresh servers through redis-cli --pipe; VmRSS and used_memory are
# printed with the ratio.
#
# Usage: utils/bench-node.sh [--quick] [--rounds N] [--cpu-cap PCT] [--pin]
#                            [--clients N] [--tests t1,t2] [--no-memory]
#   --quick      fewer requests and one round (about a minute)
#   --rounds N   rounds per test (default 3)
#   --cpu-cap P  each server capped at P % of one core (root; cgroup v1)
#   --pin        servers on the last CPU, redis-benchmark on the others
#   --clients N  redis-benchmark clients (default 50)
#   --tests L    only these redis-benchmark tests (comma-separated); also
#                ping_mbulk (not run by default): the request path with no
#                command work, next to utils/bench-floor.c's null server
#   --no-memory  skip the memory part
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
clients=50
tests="set get incr mset lpush rpush lpop rpop lrange_100 lrange_600 sadd spop hset zadd zpopmin xadd evalsha"
memory=1

# Options of this script first; the rest go to bench_parse_args.
rest=()
while [ $# -gt 0 ]; do
    case "$1" in
    --clients) clients=${2:?--clients needs a number}; shift ;;
    --tests) tests=$(echo "${2:?--tests needs a list}" | tr , ' '); shift ;;
    --no-memory) memory=0 ;;
    *) rest+=("$1") ;;
    esac
    shift
done
bench_parse_args "${rest[@]}"
bench_cgroup_check
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
    bench_cap_pid cachely "$cachely_pid"
    "$REDIS_BIN" --port "$rport" --bind 127.0.0.1 --maxmemory 0 \
        --save '' --appendonly no --daemonize no --pidfile "$tmp/redis.pid" \
        --dir "$tmp" --logfile "$tmp/redis.log" --loglevel warning &
    redis_pid=$!
    bench_pids+=("$redis_pid")
    bench_cap_pid redis "$redis_pid"
    bench_wait_ping cachely "$cport" "$cachely_pid"
    bench_wait_ping redis "$rport" "$redis_pid"
}

# ---- throughput ------------------------------------------------------------

# measure port pid test pipeline requests -> "rps p50 p99 share cpu bound"
EVALSHA_SCRIPT="redis.call('INCR', KEYS[1]) return redis.call('EXPIRE', KEYS[1], ARGV[1])"
measure() {
    if [ "$3" = evalsha ]; then
        # Loaded on both servers by supports(); the same SHA-1 on each.
        bench_measure "$2" "$5" -h 127.0.0.1 -p "$1" -P "$4" -n "$5" -c "$clients" \
            -r 100000 EVALSHA "$evalsha_sha" 1 "bench:ev:__rand_int__" 60
        return
    fi
    if [ "$3" = xadd ]; then
        # redis-benchmark 7.0's -t has no xadd: one stream, an entry of one
        # 32-byte field per request, IDs made by the server.
        bench_measure "$2" "$5" -h 127.0.0.1 -p "$1" -P "$4" -n "$5" -c "$clients" \
            -r 100000 XADD bench:stream '*' f:__rand_int__ 0123456789abcdef0123456789abcdef
        return
    fi
    bench_measure "$2" "$5" -h 127.0.0.1 -p "$1" -t "$3" -P "$4" -n "$5" -c "$clients" \
        -d 32 -r 100000
}
# (lrange_* runs an LPUSH of its own first: its requests count in the CPU.)

# redis-benchmark's pops all work on one key (lpop/rpop: mylist, spop: myset,
# zpopmin: myzset), and a round of N pops needs N elements there.  Left to
# the earlier rows, the key runs dry: the -P 1 SPOP rounds empty the set that
# SADD's 100,000 random members made, and LPOP/RPOP only find elements when
# LPUSH and RPUSH ran before them with as many requests, so with --tests or
# in another order they time the empty-key path.  So before each pop round,
# on each server and outside the timed run, the key is deleted and refilled
# with twice the round's requests (random members over 10^9 for the set and
# the sorted set, so that few collide): every counted pop finds an element,
# and both servers start from a key of the same size.
pop_key() {
    case "$1" in
    lpop|rpop) echo "mylist lpush" ;;
    spop) echo "myset sadd" ;;
    zpopmin) echo "myzset zadd" ;;
    esac
}
fill_for_pop() { # port test requests
    local kf key filler
    kf=$(pop_key "$2")
    [ -n "$kf" ] || return 0
    key=${kf% *} filler=${kf#* }
    redis-cli -h 127.0.0.1 -p "$1" del "$key" >/dev/null
    redis-benchmark -q -h 127.0.0.1 -p "$1" -c 50 -P 16 -r 1000000000 \
        -n $((2 * $3)) -t "$filler" -d 32 >/dev/null 2>&1
    local len
    case "$filler" in
    lpush) len=$(redis-cli -h 127.0.0.1 -p "$1" llen "$key") ;;
    sadd) len=$(redis-cli -h 127.0.0.1 -p "$1" scard "$key") ;;
    zadd) len=$(redis-cli -h 127.0.0.1 -p "$1" zcard "$key") ;;
    esac
    if [ "${len:-0}" -lt "$3" ] 2>/dev/null; then
        echo "warning: $2 on port $1: only ${len:-0} elements for $3 pops" >&2
    fi
}

# redis-benchmark counts error replies as answers, so a command a server
# does not implement would look fast: check each one answers properly.
supports() { # port test
    local out
    case "$2" in
    set) out=$(redis-cli -h 127.0.0.1 -p "$1" set bench:probe x 2>&1) ;;
    ping_mbulk) out=$(redis-cli -h 127.0.0.1 -p "$1" ping 2>&1)
         [ "$out" = PONG ] && out=x ;;
    get) redis-cli -h 127.0.0.1 -p "$1" set bench:probe x >/dev/null 2>&1
         out=$(redis-cli -h 127.0.0.1 -p "$1" get bench:probe 2>&1) ;;
    incr) out=$(redis-cli -h 127.0.0.1 -p "$1" incr bench:counter 2>&1) ;;
    mset) out=$(redis-cli -h 127.0.0.1 -p "$1" mset bench:a 1 bench:b 2 2>&1) ;;
    lpush|rpush|lpop|rpop|lrange_*)
        out=$(redis-cli -h 127.0.0.1 -p "$1" rpush bench:list x 2>&1) ;;
    sadd|spop) out=$(redis-cli -h 127.0.0.1 -p "$1" sadd bench:set x 2>&1) ;;
    hset) out=$(redis-cli -h 127.0.0.1 -p "$1" hset bench:hash f x 2>&1) ;;
    zadd|zpopmin) out=$(redis-cli -h 127.0.0.1 -p "$1" zadd bench:zset 1 x 2>&1) ;;
    xadd) out=$(redis-cli -h 127.0.0.1 -p "$1" xadd bench:probe-s '*' f v 2>&1); out=${out:+x} ;;
    evalsha)
        out=$(redis-cli -h 127.0.0.1 -p "$1" script load "$EVALSHA_SCRIPT" 2>&1)
        redis-cli -h 127.0.0.1 -p "$rport" script load "$EVALSHA_SCRIPT" >/dev/null 2>&1 || true
        case "$out" in
        [0-9a-f]*) evalsha_sha=$out; out=x ;;
        esac ;;
    *) out=unknown ;;
    esac
    case "$out" in
    OK|x|[0-9]*) return 0 ;;
    *) return 1 ;;
    esac
}

run_throughput() {
    local test pl n res=$tmp/rows.txt line
    : >"$res"
    for test in $tests; do
        if ! supports "$cport" "$test"; then
            echo "$test skipped: cachely rejects it" >&2
            continue
        fi
        for pl in 1 16; do
            if [ "$pl" = 1 ]; then n=$n_p1; else n=$n_p16; fi
            for _ in $(seq "$rounds"); do
                fill_for_pop "$cport" "$test" "$n"
                line=$(measure "$cport" "$cachely_pid" "$test" "$pl" "$n")
                [ "$line" = fail ] || echo "cachely $test $pl $line" >>"$res"
                fill_for_pop "$rport" "$test" "$n"
                line=$(measure "$rport" "$redis_pid" "$test" "$pl" "$n")
                [ "$line" = fail ] || echo "redis $test $pl $line" >>"$res"
            done
        done
        # What the fills left must not weigh on the rows after (LRANGE
        # pushes onto mylist too).
        if [ -n "$(pop_key "$test")" ]; then
            redis-cli -h 127.0.0.1 -p "$cport" del "$(pop_key "$test" | cut -d' ' -f1)" >/dev/null
            redis-cli -h 127.0.0.1 -p "$rport" del "$(pop_key "$test" | cut -d' ' -f1)" >/dev/null
        fi
    done
    python3 "$here/utils/bench-table.py" node "$res"
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
echo "$clients clients, -d 32, -r 100000, requests $n_p1 (-P 1) / $n_p16 (-P 16)," \
     "median of $rounds round(s), $(nproc) cores shared with the client," \
     "cpu cap per server: $([ -n "$bench_cap" ] && echo "$bench_cap % of a core" || echo none)," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)"
start_servers
run_throughput
[ "$memory" = 1 ] || exit 0
# Fresh servers for the memory test, so the benchmark's keys do not count.
stop_servers
start_servers
run_memory
