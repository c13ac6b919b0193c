#!/usr/bin/env bash
# Memory of collections in cachely-server next to Debian's redis-server, in
# one run, as one table.  For each row, a fresh pair of servers (no
# persistence, maxmemory 0, default encoding thresholds) is started, the
# row's data is loaded into cachely then into redis through redis-cli --pipe
# (the two interleaved, row by row and round by round), and the growth of
# VmRSS and used_memory over the empty server is printed with the ratio
# (cachely / redis: below 1 means Cachely is smaller) and issue 11's target
# for the RSS ratio.  With --rounds N each figure is the median of N rounds.
#
# Usage: utils/bench-memory.sh [--quick] [--rounds N] [--only ROW]... [ROW...]
#   --quick      a tenth of every row's size
#   --rounds N   N rounds per row, medians printed (default 1)
#   --only ROW   run only this row (repeatable; a bare ROW does the same)
#   --list       print the rows and exit
# Rows: lists, hashes, zset, zset-asc, set-int, set-str, streams, strings.
# Environment: CACHELY_BIN (default build/src/cachely-server of this tree),
#              REDIS_BIN (default redis-server), BENCH_PORTS=LO-HI (take
#              the servers' ports from this range; default: any free port).
#
# A row is one line of ROWS: name | description | generator | check command
# | expected reply (%N: the scaled count) | target RSS ratio.  The generator
# is a shell function printing the RESP commands that load the row, given
# the scale (1, or 0.1 for --quick); rows_count_<name> prints the scaled
# count that replaces %N; the check runs on both servers after loading and
# warns when the reply differs.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/utils/bench-lib.sh"
CACHELY_BIN=${CACHELY_BIN:-$here/build/src/cachely-server}
REDIS_BIN=${REDIS_BIN:-redis-server}
quick=0
rounds=1
only=()
list=0

args=()
while [ $# -gt 0 ]; do
    case "$1" in
    --quick|-h|--help|--rounds=*) args+=("$1") ;;
    --rounds) args+=("$1" "${2:-}"); shift ;;
    --only)
        [ $# -ge 2 ] || { echo "--only needs a row name" >&2; exit 2; }
        only+=("$2"); shift ;;
    --only=*) only+=("${1#--only=}") ;;
    --list) list=1 ;;
    -*) echo "unknown option: $1" >&2; exit 2 ;;
    *) only+=("$1") ;;
    esac
    shift
done
bench_parse_args "${args[@]+"${args[@]}"}"
scale=1
[ "$quick" = 1 ] && scale=0.1

# ---- the rows ------------------------------------------------------------------
# name | description (%N is replaced by the scaled count) | generator | check
# command | expected reply of the check | target (cachely/redis RSS, or -)
ROWS=(
    "lists|%N lists of 100 elements (16-byte strings)|gen_lists|LLEN list:0|100|0.85"
    "hashes|%N hashes x 10 fields (8-byte names, 16-byte values)|gen_hashes|HLEN hash:0|10|0.85"
    "zset|one sorted set of %N members, scattered scores|gen_zset_scattered|ZCARD big|%N|0.60"
    "zset-asc|one sorted set of %N members, ascending scores|gen_zset_ascending|ZCARD big|%N|0.60"
    "set-int|one set of %N integers|gen_set_int|SCARD big|%N|-"
    "set-str|one set of %N 16-byte strings|gen_set_str|SCARD big|%N|0.60"
    "streams|one stream of %N entries of 3 fields|gen_streams|XLEN stream|%N|-"
    "strings|%N strings (key:N, 32-byte values, no TTL)|gen_strings|DBSIZE|%N|0.60"
)

if [ "$list" = 1 ]; then
    for row in "${ROWS[@]}"; do
        IFS='|' read -r name desc _ _ _ target <<<"$row"
        printf '%-10s %-56s target %s\n' "$name" "$desc" "$target"
    done
    exit 0
fi
for o in "${only[@]+"${only[@]}"}"; do
    printf '%s\n' "${ROWS[@]}" | cut -d'|' -f1 | grep -qx -- "$o" \
        || { echo "no row named '$o' (--list shows them)" >&2; exit 2; }
done

bench_require redis-cli python3 awk "$REDIS_BIN"
[ -x "$CACHELY_BIN" ] || { echo "no cachely-server at $CACHELY_BIN (set CACHELY_BIN)" >&2; exit 1; }
bench_init bench-memory
tmp=$bench_tmp

scaled() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%d", n * s }'; }

# Generators: print RESP on stdout for $1 = scale.
gen_lists() {
    awk -v n="$(scaled 100000 "$1")" 'BEGIN {
        for (i = 0; i < n; i++) {
            k = "list:" i
            printf "*102\r\n$5\r\nRPUSH\r\n$%d\r\n%s\r\n", length(k), k
            for (j = 0; j < 100; j++) {
                printf "$16\r\nelement-%08d\r\n", i * 100 + j
            }
        }
    }'
}
rows_count_lists() { scaled 100000 "$1"; }

# HSET hash:N f0000000 <16 bytes> ... f0000009 <16 bytes>.
gen_hashes() {
    awk -v n="$(scaled 1000000 "$1")" 'BEGIN {
        for (i = 0; i < n; i++) {
            k = "hash:" i
            printf "*22\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n", length(k), k
            for (j = 0; j < 10; j++) {
                printf "$8\r\nf%07d\r\n$16\r\n%016d\r\n", j, i * 10 + j
            }
        }
    }'
}
rows_count_hashes() { scaled 1000000 "$1"; }

# ZADD big score member ... in batches of 1,000, members "member:<i>";
# scattered scores ((i * 7919) mod 1000003) land all over the order,
# ascending ones (i) always append.
gen_zset() { # scale order
    awk -v n="$(scaled 5000000 "$1")" -v order="$2" 'BEGIN {
        for (i = 0; i < n; i += 1000) {
            m = (n - i < 1000) ? n - i : 1000
            printf "*%d\r\n$4\r\nZADD\r\n$3\r\nbig\r\n", 2 * m + 2
            for (j = i; j < i + m; j++) {
                s = (order == "scattered") ? sprintf("%d", (j * 7919) % 1000003) : j ""
                k = "member:" j
                printf "$%d\r\n%s\r\n$%d\r\n%s\r\n", length(s), s, length(k), k
            }
        }
    }'
}
gen_zset_scattered() { gen_zset "$1" scattered; }
gen_zset_ascending() { gen_zset "$1" ascending; }
rows_count_zset() { scaled 5000000 "$1"; }
rows_count_zset-asc() { scaled 5000000 "$1"; }

# SADD big m ... in batches of 1,000; int: 0..N-1, str: %016d of i (16-byte
# strings that are not canonical integers: leading zeros).
gen_set() { # scale kind
    awk -v n="$(scaled 5000000 "$1")" -v kind="$2" 'BEGIN {
        for (i = 0; i < n; i += 1000) {
            m = (n - i < 1000) ? n - i : 1000
            printf "*%d\r\n$4\r\nSADD\r\n$3\r\nbig\r\n", m + 2
            for (j = i; j < i + m; j++) {
                v = (kind == "int") ? j "" : sprintf("%016d", j)
                printf "$%d\r\n%s\r\n", length(v), v
            }
        }
    }'
}
gen_set_int() { gen_set "$1" int; }
gen_set_str() { gen_set "$1" str; }
rows_count_set-int() { scaled 5000000 "$1"; }
rows_count_set-str() { scaled 5000000 "$1"; }

# One stream, IDs one millisecond apart, fields user/action/value as an
# event log has them (Redis shares the field names with each node's master
# entry, as Cachely's nodes do).
gen_streams() {
    awk -v n="$(scaled 1000000 "$1")" 'BEGIN {
        split("click view buy", acts, " ")
        for (i = 0; i < n; i++) {
            id = sprintf("%.0f-0", 1700000000000 + i)
            u = sprintf("user:%d", i % 10000)
            a = acts[i % 3 + 1]
            v = sprintf("%d", i)
            printf "*9\r\n$4\r\nXADD\r\n$6\r\nstream\r\n$%d\r\n%s\r\n", length(id), id
            printf "$4\r\nuser\r\n$%d\r\n%s\r\n$6\r\naction\r\n$%d\r\n%s\r\n", length(u), u, length(a), a
            printf "$5\r\nvalue\r\n$%d\r\n%s\r\n", length(v), v
        }
    }'
}
rows_count_streams() { scaled 1000000 "$1"; }

# SET key:N <32 bytes> for N in 0..n-1, no TTL (issue 16's strings-only
# memory figure; bench-node.sh's memory part loads the same keys with EX).
gen_strings() {
    awk -v n="$(scaled 1000000 "$1")" 'BEGIN {
        for (i = 0; i < n; i++) {
            k = "key:" i
            printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$32\r\n%032d\r\n", length(k), k, i
        }
    }'
}
rows_count_strings() { scaled 1000000 "$1"; }

# ---- servers ---------------------------------------------------------------------

pick_ports() {
    if [ -n "${BENCH_PORTS:-}" ]; then
        { read -r cport; read -r rport; } < <(bench_free_ports 2 "${BENCH_PORTS%-*}" "${BENCH_PORTS#*-}")
    else
        cport=$(bench_free_port)
        rport=$(bench_free_port)
        while [ "$rport" = "$cport" ]; do rport=$(bench_free_port); done
    fi
}

start_servers() {
    pick_ports
    "$CACHELY_BIN" --port "$cport" --bind 127.0.0.1 --maxmemory 0 \
        --daemonize no --dir "$tmp" --save '' --appendonly no \
        --logfile "$tmp/cachely.log" --loglevel warning &
    cachely_pid=$!
    bench_pids+=("$cachely_pid")
    "$REDIS_BIN" --port "$rport" --bind 127.0.0.1 --maxmemory 0 \
        --save '' --appendonly no --daemonize no \
        --dir "$tmp" --logfile "$tmp/redis.log" --loglevel warning &
    redis_pid=$!
    bench_pids+=("$redis_pid")
    bench_wait_ping cachely "$cport" "$cachely_pid"
    bench_wait_ping redis "$rport" "$redis_pid"
}

rss() { awk '/^VmRSS:/ {print $2 * 1024}' "/proc/$1/status"; }

used_memory() {
    redis-cli -h 127.0.0.1 -p "$1" info memory 2>/dev/null | tr -d '\r' \
        | awk -F: '$1 == "used_memory" {print $2}'
}

mb() { awk -v v="$1" 'BEGIN { if (v == "" || v == "n/a") print "n/a"; else printf "%.1f", v / 1048576 }'; }

# load PORT FILE: pipe the row's commands (generated once per round).
load() {
    local out
    out=$(redis-cli -h 127.0.0.1 -p "$1" --pipe --pipe-timeout 60 < "$2" 2>&1 \
          | tail -n 1) || true
    case "$out" in
    *"errors: 0,"*) ;;
    *) echo "note: loading port $1: redis-cli --pipe said: $out" >&2 ;;
    esac
}

# ---- main ----------------------------------------------------------------------

echo "cachely: $CACHELY_BIN ($(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo "redis:   $("$REDIS_BIN" --version)"
echo "growth over an empty server; ratio = cachely / redis; $rounds round(s), medians"
hdr='%-52s %10s %10s %6s %6s %10s %10s %6s\n'
printf "$hdr" row 'cachely RSS' 'redis RSS' ratio target 'cach. used' 'redis used' ratio
for row in "${ROWS[@]}"; do
    IFS='|' read -r name desc gen check expect target <<<"$row"
    if [ "${#only[@]}" -gt 0 ] && ! printf '%s\n' "${only[@]}" | grep -qx -- "$name"; then
        continue
    fi
    count=$("rows_count_$name" "$scale")
    expect=${expect//%N/$count}
    "$gen" "$scale" > "$tmp/load.resp"
    : > "$tmp/figures"
    for _ in $(seq "$rounds"); do
        start_servers
        c0=$(rss "$cachely_pid"); r0=$(rss "$redis_pid")
        cu0=$(used_memory "$cport"); ru0=$(used_memory "$rport")
        load "$cport" "$tmp/load.resp"
        load "$rport" "$tmp/load.resp"
        for port in "$cport" "$rport"; do
            # shellcheck disable=SC2086
            got=$(redis-cli -h 127.0.0.1 -p "$port" $check 2>&1)
            [ "$got" = "$expect" ] || echo "warning: port $port: $check answered '$got', expected '$expect'" >&2
        done
        echo "$(( $(rss "$cachely_pid") - c0 )) $(( $(rss "$redis_pid") - r0 ))" \
             "$(( $(used_memory "$cport") - cu0 )) $(( $(used_memory "$rport") - ru0 ))" >> "$tmp/figures"
        bench_stop_all
    done
    rm -f "$tmp/load.resp"
    med() { awk -v c="$1" '{print $c}' "$tmp/figures" | bench_median; }
    cg=$(med 1); rg=$(med 2); cug=$(med 3); rug=$(med 4)
    [ "$rounds" -gt 1 ] && echo "  $name rounds (cachely rss, redis rss, cachely used, redis used): $(tr '\n' ';' < "$tmp/figures")" >&2
    printf "$hdr" "${desc//%N/$count}" "$(mb "$cg")" "$(mb "$rg")" \
        "$(bench_ratio "$cg" "$rg")" "$target" "$(mb "$cug")" "$(mb "$rug")" "$(bench_ratio "$cug" "$rug")"
done
