#!/usr/bin/env bash
# Stops the cachely-servers and the proxy that utils/quickstart.sh started, by
# the pids in ./run/*.pid (proxy, replicas, then the master): SIGTERM to each, then waits
# up to 10 s for them to exit and reports each one.  A pid that is not a
# running cachely-server is left alone (its stale pidfile is removed).
set -uo pipefail
cd "$(dirname "$0")/.."
run=run

shopt -s nullglob
pidfiles=("$run"/proxy*.pid "$run"/replica*.pid "$run"/master.pid "$run"/cachely.pid)
shopt -u nullglob
existing=()
for f in "${pidfiles[@]}"; do
    [ -e "$f" ] && existing+=("$f")
done
if [ "${#existing[@]}" -eq 0 ]; then
    echo "stop: no pidfiles in ./run; nothing started by quickstart.sh is running"
    rm -f "$run/ports"
    exit 0
fi

rc=0
names=()
pids=()
for f in "${existing[@]}"; do
    name=$(basename "$f" .pid)
    pid=$(cat "$f" 2>/dev/null || true)
    case "$pid" in
        ''|*[!0-9]*)
            echo "stop: $f does not hold a pid; removing it" >&2
            rm -f "$f"
            continue ;;
    esac
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "stop: $name (pid $pid) is not running; removing the stale pidfile"
        rm -f "$f"
        continue
    fi
    if ! grep -qaE "cachely-(server|proxy)" "/proc/$pid/cmdline" 2>/dev/null; then
        echo "stop: pid $pid in $f is not a cachely-server or cachely-proxy; not touching it" >&2
        rc=1
        continue
    fi
    kill -TERM "$pid"
    names+=("$name")
    pids+=("$pid")
done

for _ in $(seq 100); do
    left=0
    for pid in "${pids[@]+"${pids[@]}"}"; do
        kill -0 "$pid" 2>/dev/null && left=$((left + 1))
    done
    [ "$left" -eq 0 ] && break
    sleep 0.1
done

for i in "${!pids[@]}"; do
    pid=${pids[$i]}
    name=${names[$i]}
    if kill -0 "$pid" 2>/dev/null; then
        echo "stop: $name (pid $pid) still running after 10 s; to force it: kill -9 $pid" >&2
        rc=1
    else
        rm -f "$run/$name.pid"   # the server removes it itself; this covers a crash
        echo "stop: $name (pid $pid) stopped"
    fi
done
if [ "$rc" -eq 0 ]; then
    rm -f "$run/ports"
fi
exit "$rc"
