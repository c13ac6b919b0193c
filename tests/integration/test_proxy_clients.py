"""Real client libraries through a cachely-proxy started with DEFAULT options:
python3-redis (Debian's), ioredis 5 and node-redis 4 and 5 (from npm, into
tests/clients/node_modules), each running a cache workload (set/get, mget,
expire/ttl, incr, a pipeline of 2,000 SET+GET pairs that must read their own
writes, a full SCAN of 3,000 keys) against one group (a master and two
replicas) and against three groups.

The Node.js clients are installed by deps/install.sh; when they are missing
this suite runs `npm install` in tests/clients itself.  When npm cannot
reach its registry the ioredis and node-redis cases say so and FAIL: they
never pass without having run.

Run with /usr/bin/python3; CACHELY_BUILDDIR names the build.  Prints
"N passed, M failed".  CACHELY_PROXY_CLIENT_CASES=python,ioredis runs only
those cases.
"""
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402  (puts tests/compat on sys.path)
import servers  # noqa: E402
import test_proxy as tp  # noqa: E402
from cluster import check, client  # noqa: E402

CLIENTS = os.path.join(servers.SRCDIR, "tests", "clients")
NODE = shutil.which("node") or "/usr/bin/node"


def node_modules_ready():
    """Every dependency tests/clients/package.json names is installed."""
    import json
    with open(os.path.join(CLIENTS, "package.json")) as f:
        deps = json.load(f)["dependencies"]
    return all(os.path.exists(os.path.join(CLIENTS, "node_modules", m, "package.json"))
               for m in deps)


def ensure_node_clients():
    """Install ioredis and node-redis when missing; raises (the case fails)
    with the reason when that is impossible."""
    if node_modules_ready():
        return
    npm = shutil.which("npm")
    check(npm is not None, "npm is not installed (deps/install.sh installs nodejs and npm)")
    out = subprocess.run([npm, "install", "--no-audit", "--no-fund"], cwd=CLIENTS,
                         capture_output=True, text=True, timeout=600)
    check(out.returncode == 0 and node_modules_ready(),
          "npm install in tests/clients failed (is the npm registry reachable?): %s"
          % (out.stderr.strip()[-800:] or out.stdout.strip()[-800:]))


def one_group(c):
    m, reps = c.group()
    return c.proxy(m.addr)


def three_groups(c):
    g = [c.node() for _ in range(3)]
    return c.proxy(None, "--group", "a 0-5460 %s" % g[0].addr,
                   "--group", "b 5461-10922 %s" % g[1].addr,
                   "--group", "c 10923-16383 %s" % g[2].addr, ready=3)


def python_workload(p):
    r = client(p)
    check(r.set("py:k", "v1") and r.get("py:k") == "v1", "set/get")
    r.mset({"py:m%d" % i: "mv%d" % i for i in range(50)})
    got = r.mget(["py:m%d" % i for i in range(50)] + ["py:missing"])
    check(got == ["mv%d" % i for i in range(50)] + [None], "mget %r" % got[:3])
    check(r.expire("py:k", 100) and 90 < r.ttl("py:k") <= 100, "expire/ttl")
    check([r.incr("py:n") for _ in range(100)] == list(range(1, 101)), "incr")
    pipe = r.pipeline(transaction=False)
    for i in range(2000):
        pipe.set("py:p%d" % i, "pv%d" % i)
        pipe.get("py:p%d" % i)
    res = pipe.execute()
    misses = sum(1 for i in range(2000) if res[2 * i + 1] != "pv%d" % i)
    check(misses == 0, "%d of 2000 pipelined GETs missed their SET" % misses)
    for i in range(0, 3000, 500):
        r.mset({"scan:py:%d" % k: "x" for k in range(i, i + 500)})
    seen = [k for k in r.scan_iter(match="scan:py:*", count=100)]
    check(len(seen) == 3000 and len(set(seen)) == 3000,
          "scan_iter: %d keys, %d distinct of 3000" % (len(seen), len(set(seen))))


def node_workload(p, which):
    ensure_node_clients()
    out = subprocess.run([NODE, os.path.join(CLIENTS, "workload.js"), which, str(p.port)],
                         cwd=CLIENTS, capture_output=True, text=True, timeout=300)
    for line in out.stdout.splitlines():
        print("     %s: %s" % (which, line))
    if out.returncode != 0:
        p.dump_log()  # e.g. a failover the load caused (down-after-ms is 1 s)
    check(out.returncode == 0 and ("PASS " + which) in out.stdout,
          "%s workload failed (status %d): %s" % (which, out.returncode,
                                                   out.stderr.strip()[-800:]))


def case_python(c):
    python_workload(one_group(c))
    python_workload(three_groups(c))


def case_ioredis(c):
    node_workload(one_group(c), "ioredis")
    node_workload(three_groups(c), "ioredis")


def case_node_redis(c):
    node_workload(one_group(c), "node-redis")
    node_workload(three_groups(c), "node-redis")


def case_node_redis_5(c):
    node_workload(one_group(c), "node-redis-5")
    node_workload(three_groups(c), "node-redis-5")


CASES = [
    ("python", "python3-redis cache workload, default proxy, 1 and 3 groups", case_python),
    ("ioredis", "ioredis cache workload, default proxy, 1 and 3 groups", case_ioredis),
    ("noderedis", "node-redis 4 cache workload, default proxy, 1 and 3 groups",
     case_node_redis),
    ("noderedis5", "node-redis 5 cache workload, default proxy, 1 and 3 groups",
     case_node_redis_5),
]


def main():
    if not os.access(cluster.PROXY, os.X_OK):
        print("no cachely-proxy at %s" % cluster.PROXY)
        print("0 passed, 1 failed")
        return 1
    return cluster.run_cases(CASES, "proxy_clients_", "CACHELY_PROXY_CLIENT_CASES",
                             lambda fn: cluster.run_in(tp.Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
