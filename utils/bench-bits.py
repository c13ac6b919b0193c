#!/usr/bin/python3
"""BITCOUNT, BITPOS and BITOP over 64 MB bitmaps, and PFADD/PFCOUNT
throughput, on cachely-server next to Debian's redis-server.

Both servers run on free 127.0.0.1 ports without persistence.  The bitmaps
(random bytes, identical on both) are loaded with SETRANGE in 1 MB chunks;
each heavy command is timed from one client, alternating cachely and redis
call by call, and the median latency is reported.  PFADD (random elements
over 10,000,000) and PFCOUNT (one dense key, whose cache PFADD keeps
invalidating, and three keys) go through redis-benchmark -P 16, alternating
the servers for each round.  Every row also gives each server's CPU (per
call, or per request with the client's CPU share and what bounded the
run), and the BITOP rows each server's minor page faults per call.  With
--cpu-cap PCT each server runs in its own cgroup v1 cpu group capped at
PCT % of a core (root), so that the server, not redis-benchmark, bounds the
PFADD/PFCOUNT runs, as utils/bench-node.sh --cpu-cap does.
Usage (python3-redis: /usr/bin/python3):
    utils/bench-bits.py [--quick] [--rounds N] [--cpu-cap PCT]
    utils/bench-bits.py --geo [--quick] [--rounds N] [--cpu-cap PCT]   (GEOSEARCH on 1M points only)
Environment: CACHELY_BIN (default build/src/cachely-server), REDIS_BIN.
The client and the servers share the machine's cores: read the ratios.
"""
import os
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import redis

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHELY = os.environ.get("CACHELY_BIN", os.path.join(HERE, "build", "src", "cachely-server"))
REDIS = os.environ.get("REDIS_BIN", shutil.which("redis-server") or "/usr/bin/redis-server")
MB = 1 << 20
CG_ROOT = "/sys/fs/cgroup/cpu"
CPU_CAP = None          # --cpu-cap: percent of one core per server
CGROUPS = []            # groups made here, removed at exit
TCK = os.sysconf("SC_CLK_TCK")


def cap_pid(name, pid):
    """Put pid in a fresh cgroup v1 cpu group capped at CPU_CAP % of a core."""
    if CPU_CAP is None:
        return
    if not os.path.exists(os.path.join(CG_ROOT, "cpu.cfs_quota_us")):
        os.makedirs(CG_ROOT, exist_ok=True)
        subprocess.run(["mount", "-t", "cgroup", "-o", "cpu", "cgroup", CG_ROOT], check=True)
    cg = os.path.join(CG_ROOT, "bench-bits-%d-%s" % (os.getpid(), name))
    os.makedirs(cg, exist_ok=True)
    CGROUPS.append(cg)
    with open(os.path.join(cg, "cpu.cfs_period_us"), "w") as f:
        f.write("100000")
    with open(os.path.join(cg, "cpu.cfs_quota_us"), "w") as f:
        f.write(str(CPU_CAP * 1000))
    with open(os.path.join(cg, "cgroup.procs"), "w") as f:
        f.write(str(pid))


def remove_cgroups():
    for cg in CGROUPS:
        try:
            with open(os.path.join(cg, "cgroup.procs")) as f:
                left = f.read().split()
            for t in left:
                with open(os.path.join(CG_ROOT, "cgroup.procs"), "w") as f:
                    f.write(t)
            os.rmdir(cg)
        except OSError as e:
            print("could not remove cgroup %s: %s" % (cg, e), file=sys.stderr)
    del CGROUPS[:]


def proc_stat(pid):
    """(minor faults, utime + stime in ticks) of pid."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[7]), int(fields[11]) + int(fields[12])


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_benchmark(port, pid, nreq, args):
    """redis-benchmark against one server: (req/s, server us per request,
    client CPU share, server CPU share)."""
    _, t0 = proc_stat(pid)
    c0, w0 = children_cpu(), time.perf_counter()
    res = subprocess.run(["redis-benchmark", "-p", str(port), "-q"] + args,
                         capture_output=True, text=True).stdout
    c1, w1 = children_cpu(), time.perf_counter()
    _, t1 = proc_stat(pid)
    m = re.findall(r"([\d.]+) requests per second", res)
    wall = w1 - w0
    scpu = (t1 - t0) / TCK
    return (float(m[-1]) if m else 0.0, scpu * 1e6 / nreq, (c1 - c0) / wall, scpu / wall)


def bound_of(client_share, server_share):
    cap = (CPU_CAP or 100) / 100.0
    sb, cb = server_share >= 0.9 * cap, client_share >= 0.9
    return "server" if sb and not cb else "client" if cb and not sb else "both" if sb else "neither"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start(binary, tmp, name):
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", tmp, "--logfile", os.path.join(tmp, name + ".log")]
    proc = subprocess.Popen(args)
    cap_pid(name, proc.pid)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            r = redis.Redis(port=port, socket_timeout=120)
            r.ping()
            return proc, port, r
        except redis.ConnectionError:
            time.sleep(0.05)
    proc.terminate()
    raise SystemExit("%s did not start" % name)


def main():
    quick = "--quick" in sys.argv
    rounds = 3
    if "--rounds" in sys.argv:
        rounds = int(sys.argv[sys.argv.index("--rounds") + 1])
    size_mb = 64
    calls = 5 if quick else 15
    tmp = tempfile.mkdtemp(prefix="bench-bits.")
    procs = []
    try:
        cp, cport, c = start(CACHELY, tmp, "cachely")
        procs.append(cp)
        rp, rport, r = start(REDIS, tmp, "redis")
        procs.append(rp)
        rnd = random.Random(1)
        for s in (c, r):
            s.config_set("proto-max-bulk-len", str(1024 * MB))
        for i in range(size_mb):
            chunk1 = rnd.randbytes(MB)
            chunk2 = rnd.randbytes(MB)
            for s in (c, r):
                s.setrange("bm1", i * MB, chunk1)
                s.setrange("bm2", i * MB, chunk2)
        for s in (c, r):
            s.setbit("sparse", size_mb * 8 * MB - 1, 1)
            assert s.strlen("bm1") == size_mb * MB
        assert c.bitcount("bm1") == r.bitcount("bm1")

        tests = [
            ("BITCOUNT 64MB", ["BITCOUNT", "bm1"]),
            ("BITCOUNT 64MB BIT range", ["BITCOUNT", "bm1", "3", "-5", "BIT"]),
            ("BITPOS 1 over 64MB zeros", ["BITPOS", "sparse", "1"]),
            ("BITOP AND 2x64MB", ["BITOP", "AND", "dst", "bm1", "bm2"]),
            ("BITOP OR 2x64MB", ["BITOP", "OR", "dst", "bm1", "bm2"]),
            ("BITOP XOR 2x64MB", ["BITOP", "XOR", "dst", "bm1", "bm2"]),
            ("BITOP NOT 64MB", ["BITOP", "NOT", "dst", "bm1"]),
        ]
        print("%-28s %12s %12s %8s %16s %16s" % ("command (median ms)", "cachely", "redis", "ratio",
                                                 "cpu ms/call c/r", "minflt/call c/r"))
        for name, cmd in tests:
            tc, tr = [], []
            cpu = {cp.pid: 0, rp.pid: 0}
            flt = {cp.pid: 0, rp.pid: 0}
            for _ in range(calls):
                for s, out, pid in ((c, tc, cp.pid), (r, tr, rp.pid)):
                    f0, k0 = proc_stat(pid)
                    t0 = time.perf_counter()
                    s.execute_command(*cmd)
                    out.append((time.perf_counter() - t0) * 1000)
                    f1, k1 = proc_stat(pid)
                    cpu[pid] += k1 - k0
                    flt[pid] += f1 - f0
            mc, mr = statistics.median(tc), statistics.median(tr)
            print("%-28s %12.2f %12.2f %8.2f %16s %16s" % (
                name, mc, mr, mr / mc,
                "%.0f/%.0f" % (cpu[cp.pid] * 1000 / TCK / calls, cpu[rp.pid] * 1000 / TCK / calls),
                "%.0f/%.0f" % (flt[cp.pid] / calls, flt[rp.pid] / calls)))
        for s in (c, r):
            s.delete("bm1", "bm2", "dst", "sparse")

        n = 100000 if quick else 500000
        bench = [
            ("PFADD -P 16", ["-r", "10000000", "PFADD", "hll", "__rand_int__"]),
            ("PFCOUNT 1 key -P 16", ["PFCOUNT", "hll"]),
            ("PFCOUNT 3 keys -P 16", ["PFCOUNT", "hll", "hll2", "hll3"]),
        ]
        for s in (c, r):
            s.pfadd("hll2", *["a%d" % i for i in range(5000)])
            s.pfadd("hll3", *["b%d" % i for i in range(50)])
        bench_table(bench, ((cport, cp.pid), (rport, rp.pid)), rounds,
                    lambda name: ["-c", "50", "-P", "16",
                                  "-n", str(n if "3 keys" not in name else n // 20)],
                    lambda name: n if "3 keys" not in name else n // 20)
        print("PFCOUNT hll: cachely %d, redis %d" % (c.pfcount("hll"), r.pfcount("hll")))
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        remove_cgroups()
        shutil.rmtree(tmp, ignore_errors=True)


def bench_table(bench, servers, rounds, opts, nreq):
    """redis-benchmark rows, alternating the servers (port, pid) each round:
    medians of req/s, server CPU per request, client CPU share, and what
    bounded most rounds."""
    print("%-28s %12s %12s %8s %14s %11s %15s" % ("command (median req/s)", "cachely", "redis",
                                                  "ratio", "us/req c/r", "client c/r",
                                                  "bound c/r"))
    for name, args in bench:
        rows = [[], []]
        for _ in range(rounds):
            for k, (port, pid) in enumerate(servers):
                rows[k].append(run_benchmark(port, pid, nreq(name), opts(name) + args))
        med = [[statistics.median(x[i] for x in rows[k]) for i in range(3)] for k in (0, 1)]
        bounds = []
        for k in (0, 1):
            b = [bound_of(x[2], x[3]) for x in rows[k]]
            bounds.append(max(set(b), key=b.count))
        ratio = med[0][0] / med[1][0] if med[1][0] else 0
        tag = "%.2f" % ratio if bounds == ["server", "server"] else "(%.2f)" % ratio
        print("%-28s %12.0f %12.0f %8s %14s %11s %15s" % (
            name, med[0][0], med[1][0], tag, "%.2f/%.2f" % (med[0][1], med[1][1]),
            "%.2f/%.2f" % (med[0][2], med[1][2]), "/".join(bounds)))
    print("(ratio in brackets: not every server was the bottleneck; do not quote it)")


def bench_geo(c, r, cport, rport, quick, rounds, pids):
    """GEOSEARCH on 1,000,000 points (issue 12): random points over about
    3,000 x 2,800 km, searched around a random member (redis-benchmark's
    __rand_int__, 12 digits, hence the names) BYRADIUS 20 km (~150 points in range) keeping the 10
    nearest, and BYBOX 40x40 km with COUNT 10 ANY."""
    npts = 200000 if quick else 1000000
    rnd = random.Random(7)
    for i in range(0, npts, 1000):
        flat = []
        for j in range(i, i + 1000):
            flat += ["%.6f" % rnd.uniform(-10, 30), "%.6f" % rnd.uniform(35, 60), "p%012d" % j]
        for s in (c, r):
            s.execute_command("GEOADD", "geo", *flat)
    assert c.zcard("geo") == r.zcard("geo") == npts
    bench = [
        ("GEOSEARCH 1M r=20km COUNT 10", ["GEOSEARCH", "geo", "FROMMEMBER", "p__rand_int__",
                                          "BYRADIUS", "20", "km", "COUNT", "10", "ASC"]),
        ("GEOSEARCH 1M box ANY 10", ["GEOSEARCH", "geo", "FROMMEMBER", "p__rand_int__",
                                     "BYBOX", "40", "40", "km", "COUNT", "10", "ANY"]),
    ]
    n = 5000 if quick else 20000
    bench_table(bench, ((cport, pids[0]), (rport, pids[1])), rounds,
                lambda name: ["-c", "50", "-P", "4", "-r", str(npts), "-n", str(n)],
                lambda name: n)
    probe = ["GEOSEARCH", "geo", "FROMMEMBER", "p000000012345", "BYRADIUS", "20", "km", "ASC"]
    print("points within 20 km of p000000012345: cachely %d, redis %d" % (
        len(c.execute_command(*probe)), len(r.execute_command(*probe))))


def main_geo():
    """--geo: only the GEOSEARCH rows."""
    rounds = 3
    if "--rounds" in sys.argv:
        rounds = int(sys.argv[sys.argv.index("--rounds") + 1])
    tmp = tempfile.mkdtemp(prefix="bench-geo.")
    procs = []
    try:
        cp, cport, c = start(CACHELY, tmp, "cachely")
        procs.append(cp)
        rp, rport, r = start(REDIS, tmp, "redis")
        procs.append(rp)
        for s in (c, r):
            s.response_callbacks.pop("GEOSEARCH", None)
        bench_geo(c, r, cport, rport, "--quick" in sys.argv, rounds, (cp.pid, rp.pid))
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        remove_cgroups()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if "--cpu-cap" in sys.argv:
        CPU_CAP = int(sys.argv[sys.argv.index("--cpu-cap") + 1])
        if not 1 <= CPU_CAP <= 100:
            raise SystemExit("--cpu-cap needs a percentage of one core (1-100)")
        if os.getuid() != 0:
            raise SystemExit("--cpu-cap needs root (cgroup v1 cpu groups)")
    if "--geo" in sys.argv:
        main_geo()
    else:
        main()
