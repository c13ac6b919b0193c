#!/usr/bin/env bash
# Redis's own tools against a cachely-server: redis-cli (commands, --raw,
# --no-raw, -x, --pipe mass insertion), a replica started with --replicaof
# (as utils/quickstart.sh starts them) and redis-benchmark.  Starts its own
# servers on free 127.0.0.1 ports; prints "N passed, M failed".
# With --against-redis it runs against redis-server instead, to check the
# expectations themselves.
set -u
B=${CACHELY_BUILDDIR:-$(pwd)}
SERVER=("$B/src/cachely-server")
if [ "${1:-}" = "--against-redis" ]; then
    SERVER=(redis-server --save "" --appendonly no)
fi
passed=0
failed=0

check() { # name, then a command that must succeed
    local name=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $name"
    fi
}

same() { # got, want
    if [ "$1" = "$2" ]; then
        return 0
    fi
    printf '   got:  %q\n   want: %q\n' "$1" "$2"
    return 1
}

for tool in redis-cli redis-benchmark; do
    if ! command -v "$tool" >/dev/null; then
        echo "FAIL $tool is not installed (deps/install.sh installs redis-tools)"
        echo "0 passed, 1 failed"
        exit 1
    fi
done

dir=$(mktemp -d /tmp/cachely-tools-XXXXXX)
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${SERVER[@]}" --port "$port" --bind 127.0.0.1 --dir "$dir" --logfile "$dir/server.log" &
pid=$!
rpid=""
cleanup() {
    local p
    for p in $rpid $pid; do
        if kill -0 "$p" 2>/dev/null; then
            kill -TERM "$p"
            wait "$p" 2>/dev/null
        fi
    done
    rm -rf "$dir"
}
trap cleanup EXIT

cli() { timeout 30 redis-cli -h 127.0.0.1 -p "$port" "$@"; }

up=0
for _ in $(seq 500); do
    if [ "$(cli ping 2>/dev/null)" = "PONG" ]; then
        up=1
        break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
done
if [ "$up" != 1 ]; then
    echo "FAIL cachely-server did not start on port $port"
    cat "$dir/server.log"
    echo "0 passed, 1 failed"
    exit 1
fi

# --- redis-cli --pipe: mass insertion on an empty server, then DBSIZE
gen_sets() {
    local i
    for ((i = 0; i < 10000; i++)); do
        printf '*3\r\n$3\r\nSET\r\n$%d\r\nmass:%d\r\n$%d\r\nv%d\r\n' \
            $((5 + ${#i})) "$i" $((1 + ${#i})) "$i"
    done
}
pipe_out=$(gen_sets | cli --pipe 2>&1)
echo "$pipe_out" | grep -aq '^errors: 0, replies: 10000' || echo "$pipe_out" | tail -n 5
check "redis-cli --pipe: 10000 replies, no errors" \
    same "$(echo "$pipe_out" | grep -a '^errors:')" "errors: 0, replies: 10000"
check "DBSIZE after --pipe" same "$(cli dbsize)" "10000"
check "a key from --pipe" same "$(cli get mass:9999)" "v9999"

# --- redis-cli: commands, --raw and --no-raw
check "redis-cli ping" same "$(cli ping)" "PONG"
check "redis-cli set" same "$(cli set tools:k hello)" "OK"
check "redis-cli get" same "$(cli get tools:k)" "hello"
check "redis-cli get missing (--no-raw)" same "$(cli --no-raw get tools:nosuch)" "(nil)"
printf 'line1\nline2' | cli -x set tools:raw >/dev/null
check "redis-cli --raw prints bytes" same "$(cli --raw get tools:raw)" $'line1\nline2'
check "redis-cli --no-raw quotes" same "$(cli --no-raw get tools:raw)" '"line1\nline2"'
check "redis-cli --raw integer" same "$(cli --raw incr tools:n)" "1"
check "redis-cli --no-raw integer" same "$(cli --no-raw incr tools:n)" "(integer) 2"
check "redis-cli error reply" same "$(cli --no-raw nosuchcommand 2>&1 | head -c 27)" \
    "(error) ERR unknown command"

# --- redis-cli --rdb: the full-sync payload to a file (REPLCONF capa eof, so
# the $EOF: framing; a plain SYNC's $<length> one is test_replication k3)
rdb_out=$(cli --rdb "$dir/cli.snapshot" 2>&1)
check "redis-cli --rdb: transfer finished" \
    same "$(echo "$rdb_out" | grep -ac 'Transfer finished with success')" "1"
check "redis-cli --rdb: payload written" test -s "$dir/cli.snapshot"

# --- replication, as utils/quickstart.sh deploys it: a replica started with
# --replicaof receives a key written on the master through redis-cli
rport=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$dir/replica"
if [ "${1:-}" = "--against-redis" ]; then
    REPLICA=(redis-server --save "" --appendonly no --repl-diskless-sync-delay 0
             --replicaof 127.0.0.1 "$port")
else
    REPLICA=("$B/src/cachely-server" --replicaof "127.0.0.1 $port")
fi
"${REPLICA[@]}" --port "$rport" --bind 127.0.0.1 --dir "$dir/replica" \
    --logfile "$dir/replica.log" &
rpid=$!
rcli() { timeout 30 redis-cli -h 127.0.0.1 -p "$rport" "$@"; }
link=""
for _ in $(seq 1000); do
    link=$(rcli info replication 2>/dev/null | tr -d '\r' | sed -n 's/^master_link_status://p')
    [ "$link" = "up" ] && break
    kill -0 "$rpid" 2>/dev/null || break
    sleep 0.01
done
check "replica: master_link_status:up" same "$link" "up"
cli set tools:repl from-master >/dev/null
got=""
for _ in $(seq 500); do
    got=$(rcli get tools:repl 2>/dev/null)
    [ "$got" = "from-master" ] && break
    sleep 0.01
done
check "replica gets a key SET on the master" same "$got" "from-master"
check "replica has the --pipe keys too" same "$(rcli get mass:9999)" "v9999"
check "replica refuses writes" same "$(rcli set tools:repl x 2>&1 | cut -d' ' -f1)" "READONLY"
kill -TERM "$rpid"
wait "$rpid"
check "replica exits cleanly on SIGTERM" same "$?" "0"
rpid=""

# --- redis-benchmark: every test completes with no error
bench=$(timeout 300 redis-benchmark -h 127.0.0.1 -p "$port" -t set,get,incr,mset \
    -n 20000 -q 2>&1 | tr '\r' '\n')
bench_rc=$?
echo "$bench" | grep -a 'requests per second'
has_line() { echo "$bench" | grep -aq "^$1: .*requests per second"; }
check "redis-benchmark exit status" same "$bench_rc" "0"
check "redis-benchmark SET" has_line "SET"
check "redis-benchmark GET" has_line "GET"
check "redis-benchmark INCR" has_line "INCR"
check "redis-benchmark MSET" has_line "MSET (10 keys)"
if echo "$bench" | grep -aq 'ERR'; then
    echo "$bench" | grep -a 'ERR' | sort | uniq -c | head -5
    check "redis-benchmark without errors" false
else
    check "redis-benchmark without errors" true
fi

check "server still alive" kill -0 "$pid"
# Running and not yet a zombie (our child stays one until waited for).
running() { [ -r "/proc/$1/stat" ] && ! grep -qE '^[0-9]+ \(.*\) Z' "/proc/$1/stat"; }
kill -TERM "$pid"
for _ in $(seq 200); do
    running "$pid" || break
    sleep 0.05
done
running "$pid" && kill -KILL "$pid"
wait "$pid"
status=$?
check "server exits cleanly on SIGTERM" same "$status" "0"
if [ "$failed" -gt 0 ]; then
    echo "---- server log ----"
    tail -n 50 "$dir/server.log"
    if [ -f "$dir/replica.log" ]; then
        echo "---- replica log ----"
        tail -n 30 "$dir/replica.log"
    fi
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
