#!/usr/bin/env bash
# Runs cachely-server under valgrind (memcheck) through a short mixed
# workload, then shuts it down and requires zero errors and no definite
# leaks.  Skipped (counted as passed with a note) when valgrind is missing
# and under the sanitizer build, where ASan already does this job and
# valgrind cannot run ASan binaries: a sanitizer build is recognised from
# configure (CACHELY_SANITIZER_BUILD, passed by make check / run-all.sh) and
# from the binary itself, whatever CACHELY_SANITIZERS says.  Every step is
# bounded: a server that does not come up ends the run instead of leaving a
# benchmark spinning against a dead port.
set -u
B=${CACHELY_BUILDDIR:-$(pwd)}
bin="$B/src/cachely-server"
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }

# 0 when the binary is instrumented by ASan (or UBSan's runtime).
sanitized_binary() {
    grep -aqE '__asan_init|__ubsan_handle_' "$1" 2>/dev/null
}

skip=""
if [ "${CACHELY_SANITIZER_BUILD:-0}" = 1 ]; then
    skip="sanitizer build (configure --enable-sanitizers)"
elif [ -f "$B/Makefile" ] && grep -q '^CACHELY_SANITIZER_BUILD = 1' "$B/Makefile"; then
    skip="sanitizer build (configure --enable-sanitizers)"
elif sanitized_binary "$bin"; then
    skip="$bin is built with sanitizers"
elif [ "${CACHELY_SANITIZERS:-0}" = 1 ]; then
    skip="CACHELY_SANITIZERS=1"
elif ! command -v valgrind >/dev/null; then
    skip="valgrind is not installed"
fi
if [ -n "$skip" ]; then
    echo "valgrind run skipped: $skip"
    echo "0 passed, 0 failed"
    exit 0
fi
dir=$(mktemp -d /tmp/cachely-vg-XXXXXX)
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
timeout --kill-after=10 600 valgrind --error-exitcode=3 --leak-check=full --errors-for-leak-kinds=definite \
    --log-file="$dir/vg.log" "$bin" --port "$port" --logfile "$dir/server.log" \
    --dir "$dir" &
pid=$!
cli() { timeout 30 redis-cli -p "$port" "$@"; }
# Up to 60 s: valgrind is slow to start on a loaded machine.
up=0
for _ in $(seq 1 1200); do
    if cli ping 2>/dev/null | grep -q PONG; then up=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
done
if [ $up = 1 ]; then ok "server starts under valgrind"; else
    bad "server starts under valgrind"
    tail -n 30 "$dir/vg.log" "$dir/server.log" 2>/dev/null
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rm -rf "$dir"
    echo "$pass passed, $fail failed"
    exit 1
fi
# Bounded in requests (-n) and in time, even if the server dies mid-way.
timeout --kill-after=5 300 redis-benchmark -p "$port" -n 2000 -c 5 -r 1000 -d 64 \
    -t set,get,incr,mset -q >/dev/null 2>&1
cli set k v ex 100 >/dev/null
cli set k2 v px 1 >/dev/null
cli append k vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv >/dev/null
cli scan 0 count 100 >/dev/null
cli info >/dev/null
cli config set maxmemory 100mb >/dev/null
cli flushall >/dev/null
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
