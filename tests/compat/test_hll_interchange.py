"""HyperLogLog values move between Cachely and a real redis-server 7.0.

An HLL is a string: clients GET it from one server and SET it into another.
Each case builds HLLs on both servers with the same PFADDs (sparse, at the
promotion point, dense), checks the bytes are identical, then moves values
both ways and checks PFCOUNT, PFMERGE and further PFADDs agree.  Run with
/usr/bin/python3; prints "N passed, M failed".
"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from servers import Results, Server  # noqa: E402

import redis  # noqa: E402


def build(conns, key, elements, batch):
    for i in range(0, len(elements), batch):
        for r in conns:
            r.pfadd(key, *elements[i:i + batch])


def main():
    res = Results()
    cach = Server("cachely")
    red = Server("redis")
    try:
        c = redis.Redis(port=cach.port)
        r = redis.Redis(port=red.port)
        rnd = random.Random(12)
        # Sizes around the sparse limits: few registers, many short runs,
        # VAL runs that merge, the 3000-byte promotion, dense.
        sizes = [1, 3, 10, 50, 200, 700, 1500, 2500, 5000, 20000, 100000]
        for n in sizes:
            key = "h%d" % n
            els = ["%x:%d" % (rnd.getrandbits(48), j) for j in range(n)]
            build((c, r), key, els, rnd.choice([1, 7, 100]))
            vc, vr = c.get(key), r.get(key)
            res.check("%s bytes equal after PFADD" % key, vc == vr,
                      "len %d vs %d" % (len(vc), len(vr)))
            cc, cr = c.pfcount(key), r.pfcount(key)
            res.check("%s count equal" % key, cc == cr, "%d vs %d" % (cc, cr))
            res.check("%s cached bytes equal" % key, c.get(key) == r.get(key))
            # Redis -> Cachely and Cachely -> Redis, before and after the
            # cache was filled in.
            for src, dst, name in ((r, c, "redis->cachely"), (c, r, "cachely->redis")):
                mk = "moved:" + key
                dst.set(mk, src.get(key))
                res.check("%s %s count" % (name, key), dst.pfcount(mk) == src.pfcount(key))
                more = ["more%d" % j for j in range(rnd.choice([1, 30, 3000]))]
                dst.pfadd(mk, *more)
                # The other server, fed the same value and elements, agrees.
                other = c if dst is r else r
                other.set(mk, src.get(key))
                other.pfadd(mk, *more)
                res.check("%s %s bytes after more PFADDs" % (name, key),
                          other.get(mk) == dst.get(mk))
                res.check("%s %s count after more PFADDs" % (name, key),
                          other.pfcount(mk) == dst.pfcount(mk))
            # A value made stale (cache invalid) moves and counts the same.
            for s in (c, r):
                s.pfadd(key, "stale-%d" % n)
            c.set("stale", r.get(key))
            res.check("%s stale value counts" % key, c.pfcount("stale") == r.pfcount(key))
        # Merges across encodings, with values moved both ways.
        for a, b in (("h10", "h2500"), ("h5000", "h100000"), ("h1", "h700")):
            for r1 in (c, r):
                r1.pfmerge("merged", a, b)
            res.check("PFMERGE %s %s bytes" % (a, b), c.get("merged") == r.get("merged"))
            res.check("PFCOUNT %s %s" % (a, b), c.pfcount(a, b) == r.pfcount(a, b))
            c.set("m2", r.get("merged"))
            r.set("m2", c.get("merged"))
            res.check("merged moved", c.pfcount("m2") == r.pfcount("m2"))
        # Random corruptions of a valid sparse value: both servers answer
        # the same (a count, or the same error), and Cachely stays up.
        base = r.get("h50")
        for i in range(300):
            v = bytearray(base)
            for _ in range(rnd.randint(1, 4)):
                pos = rnd.randrange(16, len(v))
                v[pos] = rnd.randrange(256)
            if rnd.random() < 0.2:
                v = v[:rnd.randrange(16, len(v) + 1)]
            outs = []
            for s in (c, r):
                s.set("corrupt", bytes(v))
                try:
                    outs.append(("ok", s.pfcount("corrupt")))
                except redis.ResponseError as e:
                    outs.append(("err", str(e)))
            res.check("corrupt #%d" % i, outs[0] == outs[1], "%r %r" % (outs[0], outs[1]))
        res.check("cachely alive", c.ping())
    finally:
        if res.failed:
            cach.dump_log()
        cach.stop()
        red.stop()
    return res.finish()


if __name__ == "__main__":
    sys.exit(main())
