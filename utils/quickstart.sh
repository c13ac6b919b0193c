#!/usr/bin/env bash
# First command of the README: install the Debian packages, build, and start
# one cachely-server in the background on 127.0.0.1, with its pidfile and log
# in ./run/.  Uses port 6379 when it is free, otherwise the first free port
# above it (set CACHELY_PORT to choose one).  Stop it with utils/stop.sh.
#   utils/quickstart.sh [--no-deps]
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
run="$top/run"
pidfile="$run/cachely.pid"
logfile="$run/cachely.log"
portfile="$run/cachely.port"

if [ "${1:-}" != "--no-deps" ]; then
    ./deps/install.sh
fi
./utils/build.sh
server="$top/build/src/cachely-server"

alive() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

# True when something listens on TCP port $1 (any address).
port_busy() {
    if command -v ss >/dev/null 2>&1; then
        [ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

ping_ok() { # port
    if command -v redis-cli >/dev/null 2>&1; then
        [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = "PONG" ]
    else
        (
            exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
            printf 'PING\r\n' >&3
            line=""
            read -r -t 2 line <&3 || true
            [ "${line%$'\r'}" = "+PONG" ]
        ) 2>/dev/null
    fi
}

how_to() { # port
    cat <<MSG

Cachely is running on 127.0.0.1:$1 (pid $(cat "$pidfile"), log $logfile).
  connect:  redis-cli -p $1
  python:   /usr/bin/python3 -c 'import redis; r = redis.Redis(port=$1); r.set("k", "v"); print(r.get("k"))'
  stop:     ./utils/stop.sh
MSG
}

mkdir -p "$run"
if alive; then
    port=$(cat "$portfile" 2>/dev/null || echo "?")
    echo "quickstart: a Cachely started by this script is already running"
    how_to "$port"
    exit 0
fi
rm -f "$pidfile"

if [ -n "${CACHELY_PORT:-}" ]; then
    port=$CACHELY_PORT
    if port_busy "$port"; then
        echo "quickstart: port $port (CACHELY_PORT) is in use; pick another" >&2
        exit 1
    fi
else
    port=6379
    while port_busy "$port"; do
        port=$((port + 1))
        if [ "$port" -gt 6479 ]; then
            echo "quickstart: no free port in 6379-6479; set CACHELY_PORT" >&2
            exit 1
        fi
    done
    if [ "$port" != 6379 ]; then
        echo "quickstart: port 6379 is in use (often the system redis-server that"
        echo "            Debian's package starts); using port $port instead."
    fi
fi

: > "$logfile"
"$server" --port "$port" --bind 127.0.0.1 --daemonize yes \
    --pidfile "$pidfile" --logfile "$logfile" --dir "$run"
echo "$port" > "$portfile"

deadline=$((SECONDS + 10))
until ping_ok "$port"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "quickstart: cachely-server did not answer PING on port $port; its log:" >&2
        tail -n 30 "$logfile" >&2 || true
        if alive; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
        exit 1
    fi
    sleep 0.1
done
# The pidfile is written just before the server starts serving; wait for it.
until [ -s "$pidfile" ]; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "quickstart: no pidfile" >&2; exit 1; }
    sleep 0.05
done
how_to "$port"
