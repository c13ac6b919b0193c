# Sourced by utils/bench-proxy.sh once its paths run: the MULTI/EXEC,
# EVALSHA and BLPOP/LPUSH ping-pong rows (see its header).  Uses its
# variables: here, tmp, paths, txn_paths (paths, maybe with dedicated: a
# proxy with blocking-mux no, for the BLPOP rows), rounds, div, PY, and its
# port_of / pids_of.

txn_client=$tmp/bench-txn
bpp_client=$tmp/bench-blocking
# shellcheck disable=SC2046 # pkg-config prints several words
if ! cc -O2 -o "$txn_client" "$here/utils/bench-txn.c" $(pkg-config --cflags --libs hiredis) \
        2>"$tmp/cc.log"; then
    echo "MULTI/EXEC rows skipped: bench-txn.c did not build ($(head -1 "$tmp/cc.log"))"
    txn_client=""
fi
# shellcheck disable=SC2046
if ! cc -O2 -o "$bpp_client" "$here/utils/bench-blocking.c" \
        $(pkg-config --cflags --libs hiredis) 2>"$tmp/cc.log"; then
    echo "BLPOP rows skipped: bench-blocking.c did not build ($(head -1 "$tmp/cc.log"))"
    bpp_client=""
fi
# blpop: 25 ping-pong pairs (50 connections, the -P 1 analogue of the other
# rows' 50 clients); blpop1: one pair, latency-bound.  Neither at -P 16 (a
# pair has one exchange in flight).  BENCH_PROXY_ONLY=blocking runs only them.
txn_tests="multi evalsha blpop blpop1"
if [ "${BENCH_PROXY_ONLY:-}" = blocking ]; then
    txn_tests="blpop blpop1"
fi
# SCRIPT LOAD through the proxy reaches the node (every node, in general).
sha=$(redis-cli -h 127.0.0.1 -p "$(port_of cachely)" SCRIPT LOAD "return redis.call('incr', KEYS[1])")
trows=$tmp/txn-rows.txt         # path test pipeline, then as bench_measure prints
: >"$trows"
tn1=$((50000 / div))
tn16=$((200000 / div))
bn1=$((20000 / div))
for round in $(seq "$rounds"); do
    set -- $txn_paths
    for _ in $(seq $(( (round - 1) % $# ))); do set -- "${@:2}" "$1"; done
    order="$*"
    for P in 1 16; do
        n=$tn1
        [ "$P" = 16 ] && n=$tn16
        for t in $txn_tests; do
            for path in $order; do
                if [ "$t" = blpop ] || [ "$t" = blpop1 ]; then
                    # twemproxy has no blocking commands.
                    if [ "$P" != 1 ] || [ "$path" = twemproxy ] || [ -z "$bpp_client" ]; then
                        continue
                    fi
                    bc=50 bn=$tn1
                    if [ "$t" = blpop1 ]; then
                        bc=2 bn=$bn1
                    fi
                    line=$(bench_client=$bpp_client bench_measure "$(pids_of "$path")" "$bn" \
                           -h 127.0.0.1 -p "$(port_of "$path")" -c "$bc" -n "$bn" -P 1)
                elif [ "$t" = multi ]; then
                    if [ "$path" = twemproxy ] || [ "$path" = dedicated ] \
                           || [ -z "$txn_client" ]; then
                        continue
                    fi
                    line=$(bench_client=$txn_client bench_measure "$(pids_of "$path")" "$n" \
                           -h 127.0.0.1 -p "$(port_of "$path")" -c 50 -r 100000 -n "$n" -P "$P")
                elif [ "$path" = dedicated ]; then
                    continue
                else
                    line=$(bench_measure "$(pids_of "$path")" "$n" -h 127.0.0.1 \
                           -p "$(port_of "$path")" -c 50 -r 100000 -n "$n" -P "$P" \
                           EVALSHA "$sha" 1 "txn:__rand_int__")
                fi
                [ "$line" != fail ] || { echo "$t failed on $path" >&2; exit 1; }
                echo "$path $t $P $line" >>"$trows"
            done
        done
    done
    echo "transactions/scripts/blocking round $round done"
done

"$PY" - "$txn_paths" "$trows" <<'EOF'
import statistics
import sys

# rows: path test P rps p50 p99 client-share node-cpu [proxy-cpu] bound
# (bench_measure's line after path, test and P)
rows = [line.split() for line in open(sys.argv[2])]
paths = sys.argv[1].split()
tests = (("multi", "1", "MULTI/EXEC -P1"), ("multi", "16", "MULTI/EXEC -P16"),
         ("evalsha", "1", "EVALSHA -P1"), ("evalsha", "16", "EVALSHA -P16"),
         ("blpop", "1", "BLPOP pp -P1"), ("blpop1", "1", "BLPOP pp 1 pair"))
tests = [t for t in tests if any(r[1] == t[0] and r[2] == t[1] for r in rows)]


def med(path, t, p, col):
    """Median of column col over the rounds; None when no row has it (the
    last column is the bound, never a figure)."""
    sel = [float(r[col]) for r in rows if r[0] == path and r[1] == t and r[2] == p
           and len(r) > col + 1]
    return statistics.median(sel) if sel else None


print()
head = "%-16s" % "test"
for path in paths:
    head += " %11s %6s %6s" % (path + " rps", "p50", "p99")
head += "  %8s %8s" % ("cp/dir", "cp/tw")
print(head)
print("-" * len(head))
for t, p, label in tests:
    line = "%-16s" % label
    rps = {}
    for path in paths:
        rps[path] = med(path, t, p, 3)
        if rps[path] is None:
            line += " %11s %6s %6s" % ("-", "-", "-")
        else:
            line += " %11.0f %6.3f %6.3f" % (rps[path], med(path, t, p, 4), med(path, t, p, 5))
    d, c, w = rps.get("direct"), rps.get("cachely"), rps.get("twemproxy")
    line += "  %8s" % ("%.2f" % (c / d) if c and d else "-")
    line += " %8s" % ("%.2f" % (c / w) if c and w else "-")
    print(line)
print()
# CPU per request (us, utime+stime from /proc): unlike rps, it holds on a
# loaded machine.  "client": the load generator's CPU over the wall time
# (1.00 = a whole core).
head = "%-16s" % "CPU us/req"
for path in paths:
    short = {"direct": "dir", "cachely": "cp", "twemproxy": "tw", "dedicated": "ded"}.get(path, path)
    head += " %9s" % (short + " node")
    if path != "direct":
        head += " %9s" % (short + " proxy")
    head += " %9s" % (short + " client")
print(head)
print("-" * len(head))
for t, p, label in tests:
    line = "%-16s" % label
    for path in paths:
        node, proxy, share = med(path, t, p, 7), med(path, t, p, 8), med(path, t, p, 6)
        line += " %9s" % ("%.2f" % node if node is not None else "-")
        if path != "direct":
            line += " %9s" % ("%.2f" % proxy if proxy is not None else "-")
        line += " %9s" % ("%.2f" % share if share is not None else "-")
    print(line)
print()
print("MULTI/EXEC: one request = MULTI, INCR txn:<n>, EXEC in one write (utils/bench-txn.c);")
print("EVALSHA: a one-key INCR script (redis-benchmark); twemproxy has no MULTI.")
print("BLPOP pp: BLPOP/LPUSH ping-pong (utils/bench-blocking.c); one request = one exchange,")
print("a BLPOP served by the other side's LPUSH, its latency from the push sent to the pop")
print("read; -P1: 25 pairs on 50 connections; 1 pair: 2 connections; twemproxy has no BLPOP.")
if "dedicated" in paths:
    print("dedicated: cachely-proxy with blocking-mux no (a node connection per blocked client).")
EOF
