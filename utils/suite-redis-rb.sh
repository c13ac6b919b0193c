#!/usr/bin/env bash
# redis-rb 4.8.0's own test suite (test/redis, test/distributed and
# test/sentinel, minitest) with Debian's ruby-redis 4.8.0 (the installed
# library, not the repository's lib/) against a fresh cachely-server,
# through a cachely-proxy (--proxy: node + proxy, read-policy master), or
# against Debian's redis-server 7.0 as the baseline (--redis).  The
# sentinel group needs a master, a replica and three Sentinels: with
# --proxy three cachely-proxies that are each other's peers (--name
# master1, quorum 2) in front of a master and a replica node; with --redis
# three redis-sentinels in front of two redis-servers; it does not run
# against the node alone.  test/cluster is not run: Redis Cluster mode is
# not implemented (README).  One line per test file (runs, failures,
# errors, skips) and a total; each file's output is kept in the output
# directory.  Not part of CI (a few minutes).
#
# The suite is the v4.8.0 tag of github.com/redis/redis-rb, unpacked once
# into $REDIS_RB_SUITE_CACHE (default ~/.cache/cachely/redis-rb-4.8.0)
# from a bare clone: REDIS_RB_GIT (a git URL or directory, default the
# GitHub repository; the tag must resolve to the commit below).  Its tests
# hard-code ports (6381 the server, 6382 the replica, 6400-6402 the
# Sentinels): each run copies test/ and substitutes the ports it started.
# Needs ruby, ruby-redis, ruby-minitest, ruby-mocha (installed when root).
#
# Usage: utils/suite-redis-rb.sh [--proxy|--proxy-ack|--redis] [--out DIR] [test/file.rb ...]
#   --proxy    through cachely-proxy
#   --proxy-ack  the same with a replica behind the proxy, read-policy
#              session and write-ack 1 (test/redis and test/distributed)
#   --redis    Debian's redis-server 7.0 and redis-sentinel, the baseline
#   --out DIR  keep each file's output there (default: a temp dir, printed)
#   files      test files as the suite names them (default: every file of
#              test/redis, test/distributed and, with --proxy or --redis,
#              test/sentinel)
# Environment: CACHELY_BUILDDIR (default build/ of this tree).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${CACHELY_BUILDDIR:-$here/build}
SERVER=$BUILD/src/cachely-server
PROXY=$BUILD/src/cachely-proxy
CACHE=${REDIS_RB_SUITE_CACHE:-$HOME/.cache/cachely/redis-rb-4.8.0}
GIT=${REDIS_RB_GIT:-https://github.com/redis/redis-rb.git}
TAG=v4.8.0
COMMIT=4e9d73d3bb47831fe720cbce7c47cb11dd3f4de9

SUITE_PORT_LO=27000 SUITE_PORT_HI=27999
. "$here/utils/suite-lib.sh"
suite_options "$@"
files=("${suite_rest[@]}")
if [ "$redis" = 0 ]; then
    [ -x "$SERVER" ] || { echo "no $SERVER: build first (utils/build.sh)" >&2; exit 1; }
fi
if ! ruby -e 'require "redis"; require "minitest"; require "mocha/minitest"; exit(Redis::VERSION == "4.8.0")' 2>/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq ruby ruby-redis ruby-minitest ruby-mocha >/dev/null
    else
        echo "needs ruby with ruby-redis 4.8.0, ruby-minitest and ruby-mocha" >&2; exit 1
    fi
fi

# ---- the suite --------------------------------------------------------------
if [ ! -f "$CACHE/.prepared" ]; then
    rm -rf "$CACHE"
    mkdir -p "$CACHE"
    git_dir=$(mktemp -d)
    git clone -q --bare --filter=blob:none "$GIT" "$git_dir" 2>/dev/null \
        || git clone -q --bare "$GIT" "$git_dir"
    got=$(git -C "$git_dir" rev-parse "$TAG^{commit}")
    [ "$got" = "$COMMIT" ] || { echo "$TAG is $got, expected $COMMIT" >&2; exit 1; }
    git -C "$git_dir" archive "$COMMIT" test | tar x -C "$CACHE"
    rm -rf "$git_dir"
    touch "$CACHE/.prepared"
fi

# ---- skipped by name, each with its reason ----------------------------------
# "all:" entries apply in every mode (redis-server's too), "node:" to the
# node and the proxy, "proxy:" to the proxy only; the key names a test
# method (left out with minitest's --exclude), the value says why.
declare -A skip=(
    # Redis::Distributed places keys on a hash ring of the node URLs, ports
    # included: with ports other than the suite's 6381 the keys land
    # elsewhere, on Redis as on Cachely.
    ["all:test_allows_clustering_of_keys"]="the hash ring depends on the port (6381 assumed)"
    ["all:test_allows_passing_a_custom_tag_extractor"]="the hash ring depends on the port (6381 assumed)"
    ["all:test_distributes_keys_if_no_clustering_is_used"]="the hash ring depends on the port (6381 assumed)"
    # Connects to 10.255.255.254 and expects a connect timeout: this
    # machine's network answers there (fails on Redis too).
    ["all:test_connection_timeout"]="needs 10.255.255.254 to be unroutable"
    # Refused through the proxy by design (README, "What stays refused"):
    # about one physical node, or meaningless over shared connections.
    ["proxy:test_move"]="MOVE is refused through the proxy"
    ["proxy:test_info_commandstats"]="CONFIG RESETSTAT is refused through the proxy"
    ["proxy:test_debug"]="DEBUG is refused through the proxy"
    ["proxy:test_slowlog"]="SLOWLOG is refused through the proxy"
    ["proxy:test_connecting_to_unix_domain_socket"]="the proxy listens on TCP only"
)
# The SCAN tests fill the database with DEBUG POPULATE, refused through the
# proxy (SCAN itself works there: test_proxy_defects' scan cases).
for t in basic count match type each_enumerator each_enumerator_match \
    each_enumerator_type each_block each_block_match; do
    skip["proxy:test_scan_$t"]="fills the database with DEBUG POPULATE, refused through the proxy"
done

# ---- servers ----------------------------------------------------------------
out=${out:-$(mktemp -d /tmp/suite-redis-rb.XXXXXX)}
mkdir -p "$out"
# start_server PORT [extra options]: redis-server (--redis) or cachely-server.
start_server() {
    local p=$1; shift
    if [ "$redis" = 1 ]; then
        redis-server --port "$p" --bind 127.0.0.1 --save "" --appendonly no --dir "$out" \
            --unixsocket "$out/server-$p.sock" --logfile "$out/redis-$p.log" \
            --enable-debug-command yes "$@" &
    else
        "$SERVER" --port "$p" --bind 127.0.0.1 --save "" --appendonly no --dir "$out" \
            --unixsocket "$out/server-$p.sock" --logfile "$out/node-$p.log" \
            --enable-debug-command yes "$@" &
    fi
    pids+=($!)
    wait_ping "$p"
}
wait_proxy() {
    for _ in $(seq 100); do
        redis-cli -p "$1" INFO 2>/dev/null | grep -q "^master:127" && return
        sleep 0.05
    done
}

mode=$(if [ "$proxy" = 1 ]; then echo proxy; elif [ "$redis" = 1 ]; then echo redis; else echo node; fi)
# copy_suite DIR PORT SLAVE S1 S2 S3: the tests with these ports.
copy_suite() {
    rm -rf "$1"; mkdir -p "$1"
    cp -r "$CACHE/test" "$1/test"
    find "$1/test" -name '*.rb' -exec sed -i \
        -e "s/\b6381\b/$2/g" -e "s/\b6382\b/$3/g" \
        -e "s/\b6400\b/$4/g" -e "s/\b6401\b/$5/g" -e "s/\b6402\b/$6/g" {} +
}
# run_file DIR FILE: one test file, verbose, with the skips for this mode.
total_runs=0 total_fail=0 total_err=0 total_skip=0 total_named=0
run_file() {
    local dir=$1 f=$2 name excl=() named=0
    name=$(echo "$f" | tr / _ | sed 's/\.rb$//')
    for k in "${!skip[@]}"; do
        case "${k%%:*}:$mode" in
        all:*|node:node|node:proxy|proxy:proxy) ;;
        *) continue ;;
        esac
        local t=${k#*:}
        excl+=("$t")
        # Counted where the file defines it, or a test/lint module it includes.
        if grep -q "def $t\b" "$dir/$f" $(grep -o 'Lint::[A-Za-z]*' "$dir/$f" | sed \
            -e 's/^Lint:://' -e 's/\([a-z]\)\([A-Z]\)/\1_\2/g' -e 's/.*/test\/lint\/\L&.rb/' \
            | sed "s|^|$dir/|" | sort -u); then
            named=$((named + 1))
        fi
    done
    local args=(-v)
    if [ ${#excl[@]} -gt 0 ]; then
        args+=(--exclude "/^($(IFS='|'; echo "${excl[*]}"))\$/")
    fi
    (cd "$dir" && REDIS_SOCKET_PATH=$sock timeout 600 ruby -W0 -Itest -e \
        'require File.expand_path(ARGV.shift)' "$f" "${args[@]}" > "$out/$name.txt" 2>&1) || true
    local line runs=0 fails=0 errs=0 skips=0
    line=$(grep -E '^[0-9]+ runs, ' "$out/$name.txt" | tail -1 || true)
    if [ -n "$line" ]; then
        runs=$(echo "$line" | sed -E 's/^([0-9]+) runs.*/\1/')
        fails=$(echo "$line" | sed -E 's/.* ([0-9]+) failures.*/\1/')
        errs=$(echo "$line" | sed -E 's/.* ([0-9]+) errors.*/\1/')
        skips=$(echo "$line" | sed -E 's/.* ([0-9]+) skips.*/\1/')
    else
        errs=1      # the file did not finish (crash, hang, load error)
    fi
    printf '%-50s runs %4d  failures %3d  errors %3d  skips %3d  by name %d\n' \
        "$f" "$runs" "$fails" "$errs" "$skips" "$named"
    grep -E '^(  [0-9]+\) (Failure|Error):|[A-Za-z:]+#test_[a-z0-9_?!]+ = [0-9.]+ s = [FE])' \
        "$out/$name.txt" | sed -n 's/^\([A-Za-z:]*#test_[^ ]*\) = .* = \([FE]\)$/      \2 \1/p' || true
    total_runs=$((total_runs + runs)) total_fail=$((total_fail + fails))
    total_err=$((total_err + errs)) total_skip=$((total_skip + skips))
    total_named=$((total_named + named))
}

if [ ${#files[@]} -eq 0 ]; then
    while read -r f; do files+=("$f"); done < <(cd "$CACHE" && ls test/redis/*_test.rb test/distributed/*_test.rb)
    if [ "$mode" != node ]; then
        while read -r f; do files+=("$f"); done < <(cd "$CACHE" && ls test/sentinel/*_test.rb)
    fi
fi
plain=() sentinel=()
for f in "${files[@]}"; do
    case "$f" in test/sentinel/*) sentinel+=("$f") ;; *) plain+=("$f") ;; esac
done

# test/redis and test/distributed: one server (or node + proxy), fresh per file.
for f in "${plain[@]}"; do
    free_port port
    start_server "$port"
    target=$port sock=$out/server-$port.sock
    if [ "$proxy" = 1 ]; then
        free_port target
        suite_proxy_args "$port" "$out"
        "$PROXY" --port "$target" --bind 127.0.0.1 --nodes "127.0.0.1:$port" "${proxy_args[@]}" \
            --logfile "$out/proxy-$target.log" &
        pids+=($!)
        wait_proxy "$target"
        sock=$out/no-unix-socket-on-the-proxy.sock
    fi
    # No replica nor Sentinels here: ports nobody listens on.
    free_port p1; free_port p2; free_port p3; free_port p4
    copy_suite "$out/suite" "$target" "$p1" "$p2" "$p3" "$p4"
    run_file "$out/suite" "$f"
    stop_all
done

# test/sentinel: master, replica, three Sentinels (or proxies), fresh per file.
for f in "${sentinel[@]}"; do
    free_port mport; free_port rport
    start_server "$mport"
    start_server "$rport" --replicaof "127.0.0.1 $mport"
    sock=$out/server-$mport.sock
    free_port s0; free_port s1; free_port s2
    s=("$s0" "$s1" "$s2")
    for i in 0 1 2; do
        if [ "$redis" = 1 ]; then
            printf 'port %s\nbind 127.0.0.1\ndir %s\nsentinel monitor master1 127.0.0.1 %s 2\n%s\n%s\n' \
                "${s[$i]}" "$out" "$mport" 'sentinel down-after-milliseconds master1 5000' \
                'sentinel failover-timeout master1 30000' > "$out/sentinel-${s[$i]}.conf"
            redis-sentinel "$out/sentinel-${s[$i]}.conf" --logfile "$out/sentinel-${s[$i]}.log" &
        else
            peers=()
            for j in 0 1 2; do [ "$j" = "$i" ] || peers+=("127.0.0.1:${s[$j]}"); done
            "$PROXY" --port "${s[$i]}" --bind 127.0.0.1 --nodes "127.0.0.1:$mport,127.0.0.1:$rport" \
                --peers "$(IFS=,; echo "${peers[*]}")" --quorum 2 --name master1 \
                --read-policy master --logfile "$out/proxy-${s[$i]}.log" &
        fi
        pids+=($!)
    done
    # Ready when the replica is online at the master (ROLE lists it) and
    # every Sentinel knows it and the other two.
    for _ in $(seq 200); do
        redis-cli -p "$mport" INFO replication 2>/dev/null | grep -q '^slave0:.*state=online' && break
        sleep 0.1
    done
    for p in "${s[@]}"; do
        for _ in $(seq 200); do
            if redis-cli -p "$p" SENTINEL SLAVES master1 2>/dev/null | grep -qx "$rport" &&
               [ "$(redis-cli -p "$p" SENTINEL SENTINELS master1 2>/dev/null | grep -c '^name$')" = 2 ]; then
                break
            fi
            sleep 0.1
        done
    done
    copy_suite "$out/suite" "$mport" "$rport" "${s[0]}" "${s[1]}" "${s[2]}"
    run_file "$out/suite" "$f"
    stop_all
done

printf '%-50s runs %4d  failures %3d  errors %3d  skips %3d  by name %d   (%s; outputs in %s)\n' total \
    "$total_runs" "$total_fail" "$total_err" "$total_skip" "$total_named" \
    "$(case $mode in proxy) echo "through cachely-proxy";; redis) echo "redis-server 7.0";; \
    *) echo "cachely-server";; esac)" "$out"
