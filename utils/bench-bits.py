#!/usr/bin/python3
"""BITCOUNT, BITPOS and BITOP over 64 MB bitmaps, and PFADD/PFCOUNT
throughput, on cachely-server next to Debian's redis-server.

Both servers run on free 127.0.0.1 ports without persistence.  The bitmaps
(random bytes, identical on both) are loaded with SETRANGE in 1 MB chunks;
each heavy command is timed from one client, alternating cachely and redis
call by call, and the median latency is reported.  PFADD (random elements
over 10,000,000) and PFCOUNT (one dense key, whose cache PFADD keeps
invalidating, and three keys) go through redis-benchmark -P 16, alternating
the servers for each round.  Usage (python3-redis: /usr/bin/python3):
    utils/bench-bits.py [--quick] [--rounds N]
    utils/bench-bits.py --geo [--quick] [--rounds N]   (GEOSEARCH on 1M points only)
Environment: CACHELY_BIN (default build/src/cachely-server), REDIS_BIN.
The client and the servers share the machine's cores: read the ratios.
"""
import os
import random
import re
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
        print("%-28s %12s %12s %8s" % ("command (median ms)", "cachely", "redis", "ratio"))
        for name, cmd in tests:
            tc, tr = [], []
            for _ in range(calls):
                for s, out in ((c, tc), (r, tr)):
                    t0 = time.perf_counter()
                    s.execute_command(*cmd)
                    out.append((time.perf_counter() - t0) * 1000)
            mc, mr = statistics.median(tc), statistics.median(tr)
            print("%-28s %12.2f %12.2f %8.2f" % (name, mc, mr, mr / mc))
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
        print("%-28s %12s %12s %8s" % ("command (median req/s)", "cachely", "redis", "ratio"))
        for name, args in bench:
            rc, rr = [], []
            nn = n if "3 keys" not in name else n // 20
            for _ in range(rounds):
                for port, out in ((cport, rc), (rport, rr)):
                    res = subprocess.run(["redis-benchmark", "-p", str(port), "-q", "-c", "50",
                                          "-P", "16", "-n", str(nn)] + args,
                                         capture_output=True, text=True).stdout
                    m = re.findall(r"([\d.]+) requests per second", res)
                    out.append(float(m[-1]) if m else 0.0)
            mc, mr = statistics.median(rc), statistics.median(rr)
            print("%-28s %12.0f %12.0f %8.2f" % (name, mc, mr, mc / mr if mr else 0))
        print("PFCOUNT hll: cachely %d, redis %d" % (c.pfcount("hll"), r.pfcount("hll")))
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def bench_geo(c, r, cport, rport, quick, rounds):
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
    print("%-28s %12s %12s %8s" % ("command (median req/s)", "cachely", "redis", "ratio"))
    for name, args in bench:
        rc, rr = [], []
        for _ in range(rounds):
            for port, out in ((cport, rc), (rport, rr)):
                res = subprocess.run(["redis-benchmark", "-p", str(port), "-q", "-c", "50",
                                      "-P", "4", "-r", str(npts), "-n", str(n)] + args,
                                     capture_output=True, text=True).stdout
                m = re.findall(r"([\d.]+) requests per second", res)
                out.append(float(m[-1]) if m else 0.0)
        mc, mr = statistics.median(rc), statistics.median(rr)
        print("%-28s %12.0f %12.0f %8.2f" % (name, mc, mr, mc / mr if mr else 0))
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
        bench_geo(c, r, cport, rport, "--quick" in sys.argv, rounds)
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if "--geo" in sys.argv:
        main_geo()
    else:
        main()
