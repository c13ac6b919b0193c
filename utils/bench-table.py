#!/usr/bin/env python3
"""Tables for utils/bench-node.sh and utils/bench-proxy.sh from their rows.

node ROWS:  lines "system test pipeline rps p50 p99 client_share cpu_us bound",
            system cachely or redis.
proxy ROWS: lines "path test pipeline rps p50 p99 client_share cpu_us... bound"
            with one cpu_us per measured process (server, then the proxy
            for the proxy paths).
Each figure is the median of the rounds; "bound" is what bounded most
rounds.  A ratio is printed only when every run behind it was server-bound;
otherwise it is shown in brackets with the reason, not to be quoted.
"""
import collections
import statistics
import sys


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def load(path):
    groups = collections.OrderedDict()
    for line in open(path):
        f = line.split()
        if len(f) < 8:
            continue
        key = (f[0], f[1], f[2])
        groups.setdefault(key, []).append(f)
    return groups


def summary(rows):
    """rps, p50, p99, client share, [cpu per process], bound, all_server."""
    n_cpu = len(rows[0]) - 8
    bounds = collections.Counter(r[-1] for r in rows)
    return {
        "rps": median([float(r[3]) for r in rows]),
        "p50": median([float(r[4]) for r in rows]),
        "p99": median([float(r[5]) for r in rows]),
        "share": median([float(r[6]) for r in rows]),
        "cpu": [median([float(r[7 + k]) for r in rows]) for k in range(n_cpu)],
        "bound": bounds.most_common(1)[0][0],
        "server": all(r[-1] == "server" for r in rows),
    }


def ratio(a, b, ok, why):
    if b == 0:
        return "n/a"
    s = "%.2f" % (a / b)
    return s if ok else "(%s %s)" % (s, why)


def node(path):
    g = load(path)
    tests = []
    for (_, t, p) in g:
        if (t, p) not in tests:
            tests.append((t, p))
    head = ("%-14s %10s %10s %13s %7s %7s %6s %13s %13s %11s %15s"
            % ("test", "cachely rps", "redis rps", "ratio", "c us/r", "r us/r",
               "cpu c/r", "p50 ms c/r", "p99 ms c/r", "client c/r", "bound c/r"))
    print()
    print(head)
    print("-" * len(head))
    for t, p in tests:
        c, r = g.get(("cachely", t, p)), g.get(("redis", t, p))
        if not c or not r:
            continue
        c, r = summary(c), summary(r)
        ok = c["server"] and r["server"]
        why = "client-bound" if "client" in (c["bound"], r["bound"]) else "not server-bound"
        print("%-14s %10.0f %10.0f %13s %7.2f %7.2f %6s %13s %13s %11s %15s" % (
            "%s -P %s" % (t.upper(), p), c["rps"], r["rps"], ratio(c["rps"], r["rps"], ok, why),
            c["cpu"][0], r["cpu"][0], ratio(c["cpu"][0], r["cpu"][0], True, ""),
            "%.3f/%.3f" % (c["p50"], r["p50"]), "%.3f/%.3f" % (c["p99"], r["p99"]),
            "%.2f/%.2f" % (c["share"], r["share"]), "%s/%s" % (c["bound"], r["bound"])))
    print()
    print("us/r = server CPU (utime+stime) per request in microseconds; cpu c/r its ratio;")
    print("client = redis-benchmark's CPU share (1.00 = a whole core); bound = what bounded")
    print("most rounds (server: it used >= 90 % of its cap; client: redis-benchmark >= 90 % of")
    print("a core).  A ratio in brackets comes from runs not all server-bound: do not quote it.")


def proxy(path, paths):
    g = load(path)
    tests = []
    for (_, t, p) in g:
        if (t, p) not in tests:
            tests.append((t, p))
    print()
    head = "%-9s %-9s %9s %7s %7s %6s %8s %8s %15s %13s" % (
        "test", "path", "rps", "p50", "p99", "client", "node us", "proxy us", "bound",
        "vs direct")
    print(head)
    print("-" * len(head))
    for t, p in tests:
        d = g.get(("direct", t, p))
        ds = summary(d) if d else None
        for path in paths:
            rows = g.get((path, t, p))
            if not rows:
                continue
            s = summary(rows)
            px_cpu = "%8.2f" % s["cpu"][1] if len(s["cpu"]) > 1 else "%8s" % "-"
            vs = ""
            if path != "direct" and ds:
                ok = s["server"] and ds["server"]
                vs = ratio(s["rps"], ds["rps"], ok, "not server-bound")
            print("%-9s %-9s %9.0f %7.3f %7.3f %6.2f %8.2f %s %15s %13s" % (
                "%s -P%s" % (t.upper(), p), path, s["rps"], s["p50"], s["p99"], s["share"],
                s["cpu"][0], px_cpu, s["bound"], vs))
        if ds and ("cachely", t, p) in g:
            c = summary(g[("cachely", t, p)])
            if len(c["cpu"]) > 1:
                print("%-9s %-9s proxy CPU per request / node's: %.2f" % (
                    "", "", c["cpu"][1] / ds["cpu"][0] if ds["cpu"][0] else float("nan")))
    print()
    print("node us / proxy us = CPU (utime+stime) per request in microseconds of the node and")
    print("of the proxy on that path; client = redis-benchmark's CPU share (1.00 = a core);")
    print("bound = what bounded most rounds; a ratio in brackets is not server-bound: do not quote.")


if __name__ == "__main__":
    if sys.argv[1] == "node":
        node(sys.argv[2])
    else:
        proxy(sys.argv[2], sys.argv[3].split())
