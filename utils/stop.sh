#!/usr/bin/env bash
# Stops the cachely-server that utils/quickstart.sh started (pid in
# ./run/cachely.pid): SIGTERM, then wait up to 10 s for a clean exit.
set -euo pipefail
cd "$(dirname "$0")/.."
pidfile="run/cachely.pid"

if [ ! -s "$pidfile" ]; then
    echo "stop: no run/cachely.pid; nothing started by quickstart.sh is running"
    exit 0
fi
pid=$(cat "$pidfile")
case "$pid" in
    ''|*[!0-9]*) echo "stop: $pidfile does not hold a pid" >&2; exit 1 ;;
esac
if ! kill -0 "$pid" 2>/dev/null; then
    echo "stop: pid $pid is not running; removing the stale pidfile"
    rm -f "$pidfile"
    exit 0
fi
if ! grep -qa cachely-server "/proc/$pid/cmdline" 2>/dev/null; then
    echo "stop: pid $pid is not a cachely-server; not touching it" >&2
    exit 1
fi
kill -TERM "$pid"
for _ in $(seq 100); do
    if ! kill -0 "$pid" 2>/dev/null; then
        rm -f "$pidfile"   # the server removes it itself; this covers a crash
        echo "stop: cachely-server (pid $pid) stopped"
        exit 0
    fi
    sleep 0.1
done
echo "stop: pid $pid still running after 10 s; to force it: kill -9 $pid" >&2
exit 1
