#!/usr/bin/env bash
# Failover under a write load: kill -9, SIGSTOP or a network partition of
# the master, and a CPU-stress hold that must not fail over, Cachely's
# proxies next to Redis Sentinel, on 127.0.0.1 (ports in PORT_LO..PORT_HI, temp dirs, no
# persistence).  Each run starts a fresh group -- one master, two replicas
# and three endpoints -- and ends by stopping it:
#   cachely  cachely-server x3 and three cachely-proxy, peers of each other
#            (--quorum 2 --down-after-ms 1000 --failover-timeout-ms 3000),
#            with --write-ack master, or --write-ack all; clients write
#            through the proxies (to the next proxy on a connection error).
#   redis    redis-server x3 and three redis-sentinel (quorum 2,
#            down-after-milliseconds 1000, failover-timeout 3000); clients
#            use redis.sentinel.Sentinel, plain SET ("async"), or SET then
#            WAIT n counting only n acks ("+ WAIT"), n = replicas still
#            running: 2 before the kill, 1 after (WAIT 2 cannot succeed
#            with the old master dead).
# 4 client threads (utils/failover-load.py) write unique keys k:<run>:<i>
# with no pause; after a random 1-2 s warm-up the fault comes and stays:
#   kill       SIGKILL of the master (its connections are refused at once)
#   stop       SIGSTOP of the master (hung: it accepts and never answers)
#   partition  the master runs in a network namespace of its own (veth to
#              this one, 10.78.x.2); the fault drops every packet between
#              it and everything else, silently for the far side
#   stress     no fault: CPU hogs (2 x cores of `yes`, stopped by PID after
#              STRESS_S s) while the load writes; counts false failovers
#              (the healthy master demoted or not named by every endpoint)
# Failover time = from the fault until the first write issued after it is
# acknowledged.  Writing goes on for 1 s
# more; then every acknowledged key is read back from the node that is
# master now: "lost" = acknowledged keys it does not have.  p50 is the
# median of the runs, p99 nearest rank (with fewer than 100 runs, the max).
# Targets: Cachely kill -9 p99 <= 1500 ms and below Sentinel's; SIGSTOP
# and partition p99 <= 600 ms; no false failover under stress; no
# acknowledged write lost under write-ack all.
#
# Usage: utils/bench-failover.sh [--quick] [--runs N] [--only cachely|redis]
#                                [--faults kill,stop,partition,stress]
#   --runs N     runs per system, mode and fault (default 10)
#   --quick      3 runs
#   --only S     only the cachely, or only the redis, rows
#   --faults L   which faults (default all four; partition needs root and
#                `ip netns`, and is skipped with a note without them)
# Environment: CACHELY_BUILDDIR (default build/ of this tree; binaries in
# its src/), or CACHELY_BIN and CACHELY_PROXY for the two binaries,
# REDIS_BIN (redis-server), SENTINEL_BIN (redis-sentinel),
# PORT_LO/PORT_HI (27000/27999), STRESS_S (5), BENCH_KEEP=1 to keep the temp dir: a dir
# per run with the logs, result.json and trace.tsv (every write that ended
# within 3 s of the kill: client, start and end in ms from the kill, reply).
# Servers, proxies, sentinels and the client share the machine's cores.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/utils/bench-lib.sh"
BUILD=${CACHELY_BUILDDIR:-$here/build}
SERVER=${CACHELY_BIN:-$BUILD/src/cachely-server}
PROXY=${CACHELY_PROXY:-$BUILD/src/cachely-proxy}
REDIS_BIN=${REDIS_BIN:-redis-server}
SENTINEL_BIN=${SENTINEL_BIN:-redis-sentinel}
PORT_LO=${PORT_LO:-27000}
PORT_HI=${PORT_HI:-27999}
PY=/usr/bin/python3
LOAD=$here/utils/failover-load.py
DOWN_AFTER_MS=1000
FAILOVER_TIMEOUT_MS=3000

runs=10
only=""
faults="kill stop partition stress"
STRESS_S=${STRESS_S:-5}
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) runs=3 ;;
    --runs)
        [ $# -ge 2 ] || { echo "--runs needs a number" >&2; exit 2; }
        runs=$2; shift ;;
    --runs=*) runs=${1#--runs=} ;;
    --only)
        [ $# -ge 2 ] || { echo "--only needs cachely or redis" >&2; exit 2; }
        only=$2; shift ;;
    --only=*) only=${1#--only=} ;;
    --faults)
        [ $# -ge 2 ] || { echo "--faults needs a list" >&2; exit 2; }
        faults=$(echo "$2" | tr , ' '); shift ;;
    --faults=*) faults=$(echo "${1#--faults=}" | tr , ' ') ;;
    -h|--help) bench_usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
    shift
done
case "$runs" in ''|*[!0-9]*|0) echo "--runs needs a positive number" >&2; exit 2 ;; esac
case "$only" in ''|cachely|redis) ;; *) echo "--only takes cachely or redis" >&2; exit 2 ;; esac
for f in $faults; do
    case "$f" in kill|stop|partition|stress) ;; *) echo "unknown fault: $f" >&2; exit 2 ;; esac
done

bench_require redis-cli "$PY" "$REDIS_BIN" "$SENTINEL_BIN"
"$PY" -c 'import redis.sentinel' 2>/dev/null \
    || { echo "$PY lacks the redis module (apt-get install python3-redis)" >&2; exit 1; }

# The Cachely rows need a proxy that does failover (--peers).
cachely_note=""
if [ "$only" = redis ]; then
    cachely_note="cachely not run (--only redis)"
else
    if [ ! -x "$SERVER" ] || [ ! -x "$PROXY" ]; then
        cachely_note="cachely skipped: no $SERVER or $PROXY (build, or set CACHELY_BUILDDIR)"
    elif ! "$PROXY" --help 2>&1 | grep -- peers >/dev/null; then   # not -q: SIGPIPE
        cachely_note="cachely skipped: $PROXY has no --peers option (no failover in this build)"
    fi
fi

bench_init bench-failover
tmp=$bench_tmp

# ---- the master's network namespace (partition) --------------------------------

ns=""          # cfo<pid>: the master's namespace for partition runs
ns_ip=""       # the master's address in it
host_ip=""     # this namespace's end of the veth
part_note=""
# Called by bench_cleanup after the servers are stopped.
bench_cleanup_hook() {
    if [ -n "$ns" ]; then
        local pid
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true   # takes the veth pair with it
    fi
}
make_netns() {
    local sub=$(( $$ % 200 + 20 ))
    if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
        part_note="partition skipped: needs root and ip (netns)"
        return
    fi
    ns=cfo$$
    ns_ip=10.78.$sub.2
    host_ip=10.78.$sub.1
    if ! { ip netns add "$ns" \
           && ip link add "cfo$$" type veth peer name eth0 netns "$ns" \
           && ip addr add "$host_ip/30" dev "cfo$$" && ip link set "cfo$$" up \
           && ip -n "$ns" link set lo up && ip -n "$ns" addr add "$ns_ip/30" dev eth0 \
           && ip -n "$ns" link set eth0 up \
           && ip -n "$ns" rule add pref 100 lookup local \
           && ip -n "$ns" rule del pref 0; } 2>"$tmp/netns.err"; then
        part_note="partition skipped: $(head -n 1 "$tmp/netns.err")"
        bench_cleanup_hook
        ns=""
    fi
}
heal_netns() { # remove the partition's rules (pref 10) in the master's namespace
    [ -n "$ns" ] || return 0
    while ip -n "$ns" rule del pref 10 2>/dev/null; do :; done
}
results=$tmp/results.jsonl
: >"$results"

# ---- one group -----------------------------------------------------------------

nodes=()       # master, replica, replica ports of the current run
endpoints=()   # sentinel or proxy ports of the current run
master_pid=""
rundir=""

# start_node system name port [master port]: on 127.0.0.1, or with
# $in_ns set (the master of a partition run) in the namespace on $ns_ip;
# replicas then follow $master_ip and announce 127.0.0.1.
start_node() {
    local sys=$1 name=$2 port=$3 of=${4:-}
    local dir=$rundir/$name bind=127.0.0.1 wrap=() extra=() pm=()
    mkdir -p "$dir"
    if [ -n "$in_ns" ]; then
        bind=$ns_ip
        wrap=(ip netns exec "$ns")
        pm=(--protected-mode no) # replicas connect from outside: not loopback
    fi
    if [ -n "$of" ]; then
        extra=(--replicaof "$master_ip $of" --replica-announce-ip 127.0.0.1)
    fi
    if [ "$sys" = cachely ]; then
        "${wrap[@]}" "$SERVER" --port "$port" --bind "$bind" --dir "$dir" \
            --logfile "$rundir/$name.log" --save "" --appendonly no "${pm[@]}" "${extra[@]}" &
    else
        [ -z "$of" ] || extra=(--replicaof "$master_ip" "$of" --replica-announce-ip 127.0.0.1)
        "${wrap[@]}" "$REDIS_BIN" --port "$port" --bind "$bind" --dir "$dir" \
            --logfile "$rundir/$name.log" --save "" --appendonly no \
            --repl-diskless-sync yes --repl-diskless-sync-delay 0 "${pm[@]}" "${extra[@]}" &
    fi
    bench_pids+=($!)
    bench_wait_ping_at "${rundir##*/}/$name" "$bind" "$port" "$!"
}

# bench_wait_ping with a host (inside the namespace, the master is reached
# at $ns_ip through the veth).
bench_wait_ping_at() {
    local name=$1 host=$2 port=$3 pid=$4
    for _ in $(seq 100); do
        [ "$(redis-cli -h "$host" -p "$port" PING 2>/dev/null)" = PONG ] && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "$name did not answer PING on $host:$port; its log:" >&2
    cat "$rundir/${name##*/}.log" >&2 || true
    exit 1
}

start_sentinel() { # name port
    local name=$1 port=$2
    mkdir -p "$rundir/$name"
    # Sentinel rewrites this file (known replicas, peers, epochs).
    cat >"$rundir/$name.conf" <<EOF
port $port
bind 127.0.0.1
daemonize no
dir $rundir/$name
logfile $rundir/$name.log
sentinel monitor mymaster $master_ip ${nodes[0]} 2
sentinel down-after-milliseconds mymaster $DOWN_AFTER_MS
sentinel failover-timeout mymaster $FAILOVER_TIMEOUT_MS
sentinel parallel-syncs mymaster 1
EOF
    "$SENTINEL_BIN" "$rundir/$name.conf" &
    bench_pids+=($!)
    bench_wait_ping "${rundir##*/}/$name" "$port" "$!"
}

start_proxy() { # name port ack peer-port peer-port
    local name=$1 port=$2 ack=$3
    "$PROXY" --port "$port" --bind 127.0.0.1 --logfile "$rundir/$name.log" \
        --nodes "$master_ip:${nodes[0]}" --peers "127.0.0.1:$4,127.0.0.1:$5" \
        --quorum 2 --name mymaster --down-after-ms "$DOWN_AFTER_MS" \
        --failover yes --failover-timeout-ms "$FAILOVER_TIMEOUT_MS" --write-ack "$ack" &
    bench_pids+=($!)
    bench_wait_ping "${rundir##*/}/$name" "$port" "$!"
}

wait_linked() { # replica port: master_link_status:up within 10 s, else 1
    for _ in $(seq 200); do
        redis-cli -h 127.0.0.1 -p "$1" INFO replication 2>/dev/null \
            | grep -q '^master_link_status:up' && return 0
        sleep 0.05
    done
    return 1
}

show_logs() { # why: print the run's logs, last lines of each
    local f
    echo "$1; the logs of $rundir:" >&2
    for f in "$rundir"/*.log; do
        [ -f "$f" ] || continue
        echo "--- $(basename "$f")" >&2
        tail -n 15 "$f" >&2
    done
}

# run_once system ack fault run: one fresh group, one fault, one JSON line
# in $results (an "error" field when the group could not be set up).
run_once() {
    local sys=$1 ack=$2 fault=$3 run=$4 p label
    label="$sys-$ack-$fault-$run"
    in_ns=""
    master_ip=127.0.0.1
    if [ "$fault" = partition ]; then
        in_ns=1
        master_ip=$ns_ip
    fi
    rundir=$tmp/$label
    mkdir -p "$rundir"
    mapfile -t p < <(bench_free_ports 6 "$PORT_LO" "$PORT_HI")
    [ "${#p[@]}" = 6 ] || { echo "no 6 free ports in $PORT_LO-$PORT_HI" >&2; exit 1; }
    nodes=("${p[0]}" "${p[1]}" "${p[2]}")
    endpoints=("${p[3]}" "${p[4]}" "${p[5]}")

    start_node "$sys" master "${nodes[0]}"
    master_pid=$!
    in_ns=""
    start_node "$sys" replica1 "${nodes[1]}" "${nodes[0]}"
    start_node "$sys" replica2 "${nodes[2]}" "${nodes[0]}"
    if ! wait_linked "${nodes[1]}" || ! wait_linked "${nodes[2]}"; then
        show_logs "$label: replicas did not link"
        echo "{\"system\": \"$sys\", \"ack\": \"$ack\", \"fault\": \"$fault\", \"run\": $run, \"error\": \"replicas not linked\"}" >>"$results"
        bench_stop_all
        return 0
    fi
    if [ "$sys" = cachely ]; then
        start_proxy proxy1 "${endpoints[0]}" "$ack" "${endpoints[1]}" "${endpoints[2]}"
        start_proxy proxy2 "${endpoints[1]}" "$ack" "${endpoints[0]}" "${endpoints[2]}"
        start_proxy proxy3 "${endpoints[2]}" "$ack" "${endpoints[0]}" "${endpoints[1]}"
    else
        start_sentinel sentinel1 "${endpoints[0]}"
        start_sentinel sentinel2 "${endpoints[1]}"
        start_sentinel sentinel3 "${endpoints[2]}"
    fi
    local eps nds
    eps=$(IFS=,; echo "${endpoints[*]}")
    nds=$(IFS=,; echo "${nodes[*]}")
    if ! "$PY" "$LOAD" ready --endpoints "$eps" --master "${nodes[0]}" --replicas 2; then
        show_logs "$label: endpoints not ready"
        echo "{\"system\": \"$sys\", \"ack\": \"$ack\", \"fault\": \"$fault\", \"run\": $run, \"error\": \"endpoints not ready\"}" >>"$results"
        bench_stop_all
        return 0
    fi
    local hogs=()
    if [ "$fault" = stress ]; then
        for _ in $(seq $(( 2 * $(nproc) ))); do
            yes >/dev/null &
            hogs+=($!)
        done
    fi
    # The load script injects the fault; the shell's "Killed" notice for it
    # is not wanted, the script's own stderr is (fd 3).
    { "$PY" "$LOAD" run --system "$sys" --ack "$ack" --endpoints "$eps" --nodes "$nds" \
          --master-pid "$master_pid" --run "$run" --trace "$rundir/trace.tsv" \
          --fault "$fault" --master-host "$master_ip" --hold "$STRESS_S" \
          ${ns:+--netns "$ns" --cut-ip "$host_ip"} \
          >"$rundir/result.json" 2>&3; } 3>&2 2>/dev/null \
        || show_logs "$label: the load failed"
    local h
    for h in "${hogs[@]}"; do
        kill -TERM "$h" 2>/dev/null || true
        wait "$h" 2>/dev/null || true
    done
    if [ -s "$rundir/result.json" ]; then
        cat "$rundir/result.json" >>"$results"
    else
        echo "{\"system\": \"$sys\", \"ack\": \"$ack\", \"fault\": \"$fault\", \"run\": $run, \"error\": \"load failed\"}" >>"$results"
    fi
    bench_stop_all    # CONT first, for a stopped master
    heal_netns
}

# ---- main ------------------------------------------------------------------------

echo "redis:    $("$REDIS_BIN" --version | cut -d' ' -f1-3)"
echo "cachely:  ${cachely_note:-$PROXY}"
echo "$runs run(s) per row; 3 nodes + 3 endpoints per run; $(nproc) cores shared;" \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)"
modes=()
if [ "$only" != redis ] && [ -z "$cachely_note" ]; then
    modes+=("cachely master" "cachely all")
fi
if [ "$only" != cachely ]; then
    modes+=("redis master" "redis all")
fi
case " $faults " in *" partition "*) make_netns ;; esac
for m in "${modes[@]}"; do
    for fault in $faults; do
        if [ "$fault" = partition ] && [ -z "$ns" ]; then
            continue
        fi
        for run in $(seq "$runs"); do
            run_once "${m% *}" "${m#* }" "$fault" "$run"
        done
    done
done

echo
"$PY" "$LOAD" table "$results"
if [ -n "$cachely_note" ]; then
    echo "$cachely_note"
fi
if [ -n "$part_note" ]; then
    echo "$part_note"
fi
