# Shared by the outside-suite scripts (utils/suite-*.sh): free ports in a
# range of their own, waiting for a server's PONG, and stopping every
# process the script started, by PID, when it exits.  Source it after
# setting SUITE_PORT_LO and SUITE_PORT_HI.

# suite_options "$@": the options the suite scripts share (--proxy,
# --proxy-ack, --redis, --out DIR, -h), into proxy, redis, suite_ack and
# out; the other arguments in the array suite_rest.  An unknown option, or
# --proxy with --redis, exits.
suite_options() {
    proxy=0 redis=0 out="" suite_ack=0 suite_rest=()
    while [ $# -gt 0 ]; do
        case "$1" in
        --proxy) proxy=1 ;;
        --proxy-ack) proxy=1 suite_ack=1 ;;
        --redis) redis=1 ;;
        --out) out=$2; shift ;;
        -h|--help) awk 'NR == 1 { next } !/^#/ { exit } { print }' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "unknown option: $1" >&2; exit 2 ;;
        *) suite_rest+=("$1") ;;
        esac
        shift
    done
    [ "$proxy$redis" != 11 ] || { echo "--proxy and --redis do not go together" >&2; exit 2; }
}

suite_next_port=$((SUITE_PORT_LO + RANDOM % (SUITE_PORT_HI - SUITE_PORT_LO - 99)))
# free_port VAR: a port of the range nothing listens on, in VAR (a
# $(...) subshell would lose suite_next_port); another one each call.
free_port() {
    while :; do
        suite_next_port=$((suite_next_port + 1))
        [ "$suite_next_port" -le "$SUITE_PORT_HI" ] || suite_next_port=$SUITE_PORT_LO
        if python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1])))' \
            "$suite_next_port" 2>/dev/null; then
            printf -v "$1" %s "$suite_next_port"
            return
        fi
    done
}
# wait_ping PORT: until the server there answers PONG (5 s at most).
wait_ping() {
    for _ in $(seq 100); do
        redis-cli -p "$1" PING 2>/dev/null | grep -q PONG && return
        sleep 0.05
    done
}
# The PIDs of what the script started (pids+=($!)); stop_all stops them,
# with SIGKILL for what SIGTERM leaves after 0.3 s.
pids=()
stop_all() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.3
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    pids=()
}
trap stop_all EXIT
# suite_proxy_args MASTER_PORT OUT_DIR: the proxy's consistency options, in
# the array proxy_args: read-policy master, or with suite_ack=1 (the
# scripts' --proxy-ack) a replica of that master started first and
# read-policy session with write-ack 1, so that reads go to the replica
# once it holds the session's last write and every write waits for its
# WAIT.  Needs SERVER (cachely-server).
suite_proxy_args() {
    proxy_args=(--read-policy master)
    [ "${suite_ack:-0}" = 1 ] || return 0
    local rport
    free_port rport
    "$SERVER" --port "$rport" --bind 127.0.0.1 --save "" --appendonly no --dir "$2" \
        --logfile "$2/node-$rport.log" --enable-debug-command yes \
        --replicaof "127.0.0.1 $1" &
    pids+=($!)
    for _ in $(seq 100); do
        redis-cli -p "$rport" INFO replication 2>/dev/null | grep -q "master_link_status:up" && break
        sleep 0.05
    done
    proxy_args=(--read-policy session --write-ack 1 --write-ack-timeout-ms 2000)
}
