# Sourced by utils/bench-proxy.sh once its paths run: the MULTI/EXEC and
# EVALSHA rows (see its header).  Uses its variables: here, tmp, paths,
# rounds, div, PY, and its port_of / pids_of.

txn_client=$tmp/bench-txn
# shellcheck disable=SC2046 # pkg-config prints several words
if ! cc -O2 -o "$txn_client" "$here/utils/bench-txn.c" $(pkg-config --cflags --libs hiredis) \
        2>"$tmp/cc.log"; then
    echo "MULTI/EXEC rows skipped: bench-txn.c did not build ($(head -1 "$tmp/cc.log"))"
    txn_client=""
fi
# SCRIPT LOAD through the proxy reaches the node (every node, in general).
sha=$(redis-cli -h 127.0.0.1 -p "$(port_of cachely)" SCRIPT LOAD "return redis.call('incr', KEYS[1])")
tresults=$tmp/txn-results.txt   # path test pipeline rps p50
trows=$tmp/txn-rows.txt         # as bench_measure prints
: >"$tresults"
: >"$trows"
tn1=$((50000 / div))
tn16=$((200000 / div))
for round in $(seq "$rounds"); do
    set -- $paths
    for _ in $(seq $(( (round - 1) % $# ))); do set -- "${@:2}" "$1"; done
    order="$*"
    for P in 1 16; do
        n=$tn1
        [ "$P" = 16 ] && n=$tn16
        for t in multi evalsha; do
            for path in $order; do
                if [ "$t" = multi ]; then
                    if [ "$path" = twemproxy ] || [ -z "$txn_client" ]; then
                        continue
                    fi
                    line=$(bench_client=$txn_client bench_measure "$(pids_of "$path")" "$n" \
                           -h 127.0.0.1 -p "$(port_of "$path")" -c 50 -r 100000 -n "$n" -P "$P")
                else
                    line=$(bench_measure "$(pids_of "$path")" "$n" -h 127.0.0.1 \
                           -p "$(port_of "$path")" -c 50 -r 100000 -n "$n" -P "$P" \
                           EVALSHA "$sha" 1 "txn:__rand_int__")
                fi
                [ "$line" != fail ] || { echo "$t failed on $path" >&2; exit 1; }
                set -- $line
                echo "$path $t $P $1 $2" >>"$tresults"
                echo "$path $t $P $line" >>"$trows"
            done
        done
    done
    echo "transactions/scripts round $round done"
done

"$PY" - "$tresults" "$paths" "$trows" <<'EOF'
import statistics
import sys

rows = [line.split() for line in open(sys.argv[1])]
paths = sys.argv[2].split()
print()
head = "%-13s" % "test"
for path in paths:
    head += " %11s %6s" % (path + " rps", "p50")
head += "  %8s %8s" % ("cp/dir", "cp/tw")
print(head)
print("-" * len(head))
for t, label in (("multi", "MULTI/EXEC"), ("evalsha", "EVALSHA")):
    for p in ("1", "16"):
        med = {}
        line = "%-13s" % ("%s -P%s" % (label, p))
        for path in paths:
            sel = [r for r in rows if r[0] == path and r[1] == t and r[2] == p]
            if sel:
                med[path] = (statistics.median(float(r[3]) for r in sel),
                             statistics.median(float(r[4]) for r in sel))
                line += " %11.0f %6.3f" % med[path]
            else:
                line += " %11s %6s" % ("-", "-")
        d, c, w = med.get("direct"), med.get("cachely"), med.get("twemproxy")
        line += "  %8s" % ("%.2f" % (c[0] / d[0]) if c and d else "-")
        line += " %8s" % ("%.2f" % (c[0] / w[0]) if c and w else "-")
        print(line)
print()
# CPU per request (us, utime+stime from /proc): unlike rps, it holds on a
# loaded machine.  trows: path test P rps p50 p99 share node-cpu [proxy-cpu] bound
cpu_rows = [line.split() for line in open(sys.argv[3])]
head = "%-13s" % "CPU us/req"
for path in paths:
    short = {"direct": "dir", "cachely": "cp", "twemproxy": "tw"}.get(path, path)
    head += " %9s %9s" % (short + " node", short + " proxy")
print(head)
print("-" * len(head))
for t, label in (("multi", "MULTI/EXEC"), ("evalsha", "EVALSHA")):
    for p in ("1", "16"):
        line = "%-13s" % ("%s -P%s" % (label, p))
        for path in paths:
            sel = [r for r in cpu_rows if r[0] == path and r[1] == t and r[2] == p]
            node = [float(r[7]) for r in sel if len(r) > 8]
            proxy = [float(r[8]) for r in sel if len(r) > 9]
            line += " %9s" % ("%.2f" % statistics.median(node) if node else "-")
            line += " %9s" % ("%.2f" % statistics.median(proxy) if proxy else "-")
        print(line)
print()
print("MULTI/EXEC: one request = MULTI, INCR txn:<n>, EXEC in one write (utils/bench-txn.c);")
print("EVALSHA: a one-key INCR script (redis-benchmark); twemproxy has no MULTI.")
EOF
