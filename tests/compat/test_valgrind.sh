#!/usr/bin/env bash
# Runs cachely-server under valgrind (memcheck) through a short mixed
# workload, then shuts it down and requires zero errors and no definite
# leaks.  Skipped (counted as passed with a note) under the sanitizer build,
# where ASan already does this job, and when valgrind is missing.
set -u
B=${CACHELY_BUILDDIR:-$(pwd)}
bin="$B/src/cachely-server"
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }

if [ "${CACHELY_SANITIZERS:-0}" = 1 ] || ! command -v valgrind >/dev/null; then
    echo "valgrind run skipped (sanitizer build or no valgrind)"
    echo "0 passed, 0 failed"
    exit 0
fi
dir=$(mktemp -d /tmp/cachely-vg-XXXXXX)
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
valgrind --error-exitcode=3 --leak-check=full --errors-for-leak-kinds=definite \
    --log-file="$dir/vg.log" "$bin" --port "$port" --logfile "$dir/server.log" \
    --dir "$dir" &
pid=$!
up=0
for _ in $(seq 1 200); do
    if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then up=1; break; fi
    sleep 0.05
done
if [ $up = 1 ]; then ok "server starts under valgrind"; else bad "server starts under valgrind"; fi
redis-benchmark -p "$port" -n 2000 -c 5 -r 1000 -d 64 -t set,get,incr,mset -q >/dev/null 2>&1
redis-cli -p "$port" set k v ex 100 >/dev/null
redis-cli -p "$port" set k2 v px 1 >/dev/null
redis-cli -p "$port" append k vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv >/dev/null
redis-cli -p "$port" scan 0 count 100 >/dev/null
redis-cli -p "$port" info >/dev/null
redis-cli -p "$port" config set maxmemory 100mb >/dev/null
redis-cli -p "$port" flushall >/dev/null
printf '*1\r\n$abc\r\n' | timeout 2 nc -q1 127.0.0.1 "$port" >/dev/null 2>&1
kill -TERM "$pid"
wait "$pid"
rc=$?
if [ $rc = 0 ]; then ok "clean exit with no memcheck errors"; else
    bad "valgrind exit code $rc"; tail -n 60 "$dir/vg.log"; fi
if grep -q "definitely lost: 0 bytes" "$dir/vg.log" || grep -q "All heap blocks were freed" "$dir/vg.log"; then
    ok "no definite leaks"
else
    bad "definite leaks"; grep -A3 "definitely lost" "$dir/vg.log"
fi
rm -rf "$dir"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
