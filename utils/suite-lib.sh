# Shared by the outside-suite scripts (utils/suite-*.sh): free ports in a
# range of their own, waiting for a server's PONG, and stopping every
# process the script started, by PID, when it exits.  Source it after
# setting SUITE_PORT_LO and SUITE_PORT_HI.

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
