#!/usr/bin/env bash
# First command of the README: install the Debian packages, build, and start
# a master and two replicas of it on 127.0.0.1, each a daemonized
# cachely-server, and three cachely-proxy processes in front of them that are
# each other's failover peers, each with its pidfile and log in ./run/
# (master.pid, master.log, replica1.pid, ..., proxy.pid, proxy2.pid,
# proxy3.pid; run/ports lists "name port" for each).  Waits until both
# replicas report master_link_status:up and the proxies found the master,
# then prints how to connect.  Ports: 6379-6384 when free, otherwise the
# first six free consecutive ports above (set CACHELY_PORT to choose the
# master's; the others take the next five).  Run it again while they run: it only prints the same
# information.  Stop them with utils/stop.sh.
#   utils/quickstart.sh [--no-deps] [--single]
#     --no-deps   do not run deps/install.sh
#     --single    start one server (no replicas), as run/master.*
#   CACHELY_BIN=path/to/cachely-server   use that binary instead of building
#                                        ./build (the build is then skipped)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
run="$top/run"
portsfile="$run/ports"

deps=1
single=0
for a in "$@"; do
    case "$a" in
        --no-deps) deps=0 ;;
        --single) single=1 ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "usage: $0 [--no-deps] [--single]" >&2; exit 2 ;;
    esac
done

if [ -n "${CACHELY_BIN:-}" ]; then
    server=$CACHELY_BIN
    [ -x "$server" ] || { echo "quickstart: CACHELY_BIN=$server is not executable" >&2; exit 1; }
else
    if [ "$deps" = 1 ]; then
        ./deps/install.sh
    fi
    ./utils/build.sh
    server="$top/build/src/cachely-server"
fi

have_cli=0
command -v redis-cli >/dev/null 2>&1 && have_cli=1

# True when pidfile $1 names a running cachely-server or cachely-proxy.
alive() {
    local pid
    [ -s "$1" ] || return 1
    pid=$(cat "$1")
    kill -0 "$pid" 2>/dev/null && grep -qaE "cachely-(server|proxy)" "/proc/$pid/cmdline" 2>/dev/null
}

# True when something listens on TCP port $1 (any address).
port_busy() {
    if command -v ss >/dev/null 2>&1; then
        [ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

ping_ok() { # port
    if [ "$have_cli" = 1 ]; then
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

# The value of field $2 in INFO section $3 (default replication) of the
# server on port $1.
info_field() {
    local section=${3:-replication}
    if [ "$have_cli" = 1 ]; then
        redis-cli -h 127.0.0.1 -p "$1" info "$section" 2>/dev/null \
            | tr -d '\r' | sed -n "s/^$2://p"
    else
        (
            exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
            printf 'INFO %s\r\n' "$section" >&3
            while read -r -t 1 line <&3; do
                line=${line%$'\r'}
                case "$line" in "$2:"*) echo "${line#*:}"; break ;; esac
            done
        ) 2>/dev/null
    fi
}

names=()   # filled from run/ports or when starting
ports=()

read_ports() {
    local n p
    names=()
    ports=()
    [ -s "$portsfile" ] || return 1
    while read -r n p; do
        [ -n "$n" ] || continue
        names+=("$n")
        ports+=("$p")
    done < "$portsfile"
    [ "${#names[@]}" -gt 0 ]
}

how_to() {
    local i n p state master=${ports[0]}
    echo
    if [ "${#names[@]}" -eq 1 ]; then
        echo "Cachely is running on 127.0.0.1:$master (one node; pidfile and log in ./run/)."
    else
        echo "Cachely is running on 127.0.0.1: a master, two replicas of it and three"
        echo "proxies in front of them that fail over together (pidfiles and logs in ./run/)."
    fi
    for i in "${!names[@]}"; do
        n=${names[$i]}
        p=${ports[$i]}
        if [[ "$n" == proxy* ]]; then
            state="cachely-proxy (writes to the master, reads to the replicas)"
        elif [ "$i" -eq 0 ]; then
            state="master"
        else
            state="replica, link $(info_field "$p" master_link_status)"
        fi
        printf '  %-9s 127.0.0.1:%-5s pid %-7s %s\n' "$n" "$p" "$(cat "$run/$n.pid")" "$state"
    done
    echo
    if [ "${#names[@]}" -gt 3 ]; then
        echo "  proxy:    redis-cli -p ${ports[3]}      (or ${ports[4]}, ${ports[5]}: use it like Redis, it routes for you)"
        echo "  failover: kill -9 \$(cat run/master.pid); redis-cli -p ${ports[3]} SET k v   (OK again within ~1 s)"
        echo "            redis-cli -p ${ports[3]} SENTINEL get-master-addr-by-name mymaster"
    fi
    echo "  writes:   redis-cli -p $master"
    if [ "${#names[@]}" -gt 1 ]; then
        echo "  reads:    redis-cli -p ${ports[1]}      (or any replica; replicas refuse writes)"
        echo "  example:  redis-cli -p $master SET greeting hello"
        echo "            redis-cli -p ${ports[1]} GET greeting"
        echo "  status:   redis-cli -p $master INFO replication"
    else
        echo "  example:  redis-cli -p $master SET greeting hello"
        echo "            redis-cli -p $master GET greeting"
    fi
    echo "  python:   /usr/bin/python3 -c 'import redis; r = redis.Redis(port=$master); r.set(\"k\", \"v\"); print(r.get(\"k\"))'"
    echo "  stop:     ./utils/stop.sh"
}

mkdir -p "$run"

# Already running?
if read_ports; then
    up=0
    for n in "${names[@]}"; do
        if alive "$run/$n.pid"; then up=$((up + 1)); fi
    done
    if [ "$up" -eq "${#names[@]}" ]; then
        echo "quickstart: the Cachely deployment in ./run is already running"
        how_to
        exit 0
    fi
    if [ "$up" -gt 0 ]; then
        echo "quickstart: only $up of the ${#names[@]} servers listed in run/ports are running;" >&2
        echo "            run ./utils/stop.sh, then this script again" >&2
        exit 1
    fi
fi
# A server from an older quickstart (run/cachely.pid)?
if alive "$run/cachely.pid"; then
    echo "quickstart: a server from an older quickstart is running (run/cachely.pid);" >&2
    echo "            run ./utils/stop.sh, then this script again" >&2
    exit 1
fi

if [ "$single" = 1 ]; then
    names=(master)
else
    names=(master replica1 replica2 proxy proxy2 proxy3)
fi
count=${#names[@]}
nservers=$count
[ "$single" = 1 ] || nservers=3

triple_busy() { # first port
    local k
    for ((k = 0; k < count; k++)); do
        port_busy $(($1 + k)) && return 0
    done
    return 1
}

if [ -n "${CACHELY_PORT:-}" ]; then
    base=$CACHELY_PORT
    case "$base" in ''|*[!0-9]*) echo "quickstart: CACHELY_PORT must be a port number" >&2; exit 1 ;; esac
    if triple_busy "$base"; then
        echo "quickstart: a port in $base-$((base + count - 1)) (CACHELY_PORT) is in use; pick another" >&2
        exit 1
    fi
else
    base=6379
    while triple_busy "$base"; do
        base=$((base + 1))
        if [ "$base" -gt 6479 ]; then
            echo "quickstart: no $count consecutive free ports in 6379-$((6479 + count - 1)); set CACHELY_PORT" >&2
            exit 1
        fi
    done
    if [ "$base" != 6379 ]; then
        if [ "$count" -gt 1 ]; then
            echo "quickstart: a port in 6379-$((6379 + count - 1)) is in use (often by the system"
            echo "            redis-server that Debian's package starts); using $base-$((base + count - 1)) instead."
        else
            echo "quickstart: port 6379 is in use (often by the system redis-server that"
            echo "            Debian's package starts); using port $base instead."
        fi
    fi
fi
ports=()
for ((k = 0; k < count; k++)); do
    ports+=($((base + k)))
done

started=()
fail() { # message: stop what we started, show the logs, exit 1
    local n
    echo "quickstart: $1" >&2
    for n in "${names[@]}"; do
        if [ -s "$run/$n.log" ]; then
            echo "---- run/$n.log (last lines) ----" >&2
            tail -n 8 "$run/$n.log" >&2 || true
        fi
    done
    if [ "${#started[@]}" -gt 0 ]; then
        echo "quickstart: stopping the servers it started" >&2
        ./utils/stop.sh >&2 || true
    fi
    exit 1
}

rm -f "$portsfile"
for ((k = 0; k < count; k++)); do
    rm -f "$run/${names[$k]}.pid"
    echo "${names[$k]} ${ports[$k]}" >> "$portsfile"
done

start_node() { # index
    local n=${names[$1]} p=${ports[$1]} extra=()
    if [[ "$n" == proxy* ]]; then
        # Three proxies, each other's peers: writes to the master, reads to
        # the replicas, each client reading its own writes (read-policy
        # session); they fail over together when the master dies.
        local k peers=""
        for ((k = nservers; k < count; k++)); do
            [ "$k" = "$1" ] || peers="$peers,127.0.0.1:${ports[$k]}"
        done
        : > "$run/$n.log"
        "$(dirname "$server")/cachely-proxy" --port "$p" --bind 127.0.0.1 --daemonize yes \
            --pidfile "$run/$n.pid" --logfile "$run/$n.log" \
            --nodes "127.0.0.1:${ports[0]}" --read-policy session \
            --peers "${peers#,}" --quorum 2 --name mymaster \
            || fail "cachely-proxy (port $p) did not start"
        started+=("$n")
        return
    fi
    if [ "$1" -gt 0 ]; then
        extra=(--replicaof "127.0.0.1 ${ports[0]}")
    fi
    : > "$run/$n.log"
    # DEBUG (DIGEST, used in the README) only from this machine.
    "$server" --port "$p" --bind 127.0.0.1 --daemonize yes \
        --enable-debug-command local \
        --pidfile "$run/$n.pid" --logfile "$run/$n.log" --dir "$run" \
        --dbfilename "$n.cachely" --appendfilename "$n-appendonly.cachely" \
        "${extra[@]}" || fail "cachely-server ($n, port $p) did not start"
    started+=("$n")
}

deadline=$((SECONDS + 10))
wait_up() { # index: until it answers PING and its pidfile exists
    local n=${names[$1]} p=${ports[$1]}
    until ping_ok "$p" && [ -s "$run/$n.pid" ]; do
        [ "$SECONDS" -lt "$deadline" ] \
            || fail "cachely-server ($n) did not answer PING on port $p within 10 s"
        sleep 0.05
    done
}

start_node 0
wait_up 0
for ((k = 1; k < nservers; k++)); do
    start_node "$k"
done
for ((k = 1; k < nservers; k++)); do
    wait_up "$k"
done

# Both replicas linked to the master (the full sync of an empty master is
# quick; 10 s covers a slow machine).
for ((k = 1; k < nservers; k++)); do
    until [ "$(info_field "${ports[$k]}" master_link_status)" = "up" ]; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            fail "${names[$k]} (port ${ports[$k]}) did not report master_link_status:up
            within 10 s (its INFO replication says master_link_status:$(info_field "${ports[$k]}" master_link_status))"
        fi
        sleep 0.05
    done
done
# Then the proxies, once the replicas are linked; each is ready when its
# probes have found the master (its INFO topology names it).
for ((k = nservers; k < count; k++)); do
    start_node "$k"
done
for ((k = nservers; k < count; k++)); do
    wait_up "$k"
    until [ "$(info_field "${ports[$k]}" master topology)" = "127.0.0.1:${ports[0]}" ]; do
        [ "$SECONDS" -lt "$deadline" ] \
            || fail "cachely-proxy (port ${ports[$k]}) did not find the master within 10 s"
        sleep 0.05
    done
done
how_to
