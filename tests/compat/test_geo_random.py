"""Randomized geo searches, Cachely against a real redis-server 7.0.

The same few thousand random points (a dense city-sized cluster, a
country-sized one, points near the poles and the antimeridian, points
anywhere, and exact duplicates for ties) go into both servers, in a large sorted set and a small listpack
one; then several hundred random GEOSEARCH / GEOSEARCHSTORE / GEORADIUS /
GEORADIUSBYMEMBER requests (circle or box, every unit, ASC/DESC/none,
COUNT with and without ANY, WITH* options) must get identical replies, and
stored results identical ZRANGE ... WITHSCORES.  Run with /usr/bin/python3;
prints "N passed, M failed".
"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from servers import Results, Server  # noqa: E402

import redis  # noqa: E402

UNITS = [("m", 1.0), ("km", 1000.0), ("mi", 1609.34), ("ft", 0.3048), ("KM", 1000.0)]


def points(rnd, n):
    out = []
    for i in range(n):
        if out and rnd.random() < 0.1:
            # Exact duplicates: equal distances, ordered as Redis's sorts do.
            lon, lat, _ = rnd.choice(out)
            out.append((lon, lat, "p%d" % i))
            continue
        kind = rnd.random()
        if kind < 0.4:      # a city: ~20 km across
            lon, lat = 2.35 + rnd.uniform(-0.15, 0.15), 48.85 + rnd.uniform(-0.1, 0.1)
        elif kind < 0.7:    # a country
            lon, lat = rnd.uniform(-5, 8), rnd.uniform(42, 51)
        elif kind < 0.8:    # near the antimeridian
            lon, lat = rnd.choice([-1, 1]) * rnd.uniform(178, 180), rnd.uniform(-20, 20)
        elif kind < 0.9:    # near the poles
            lon, lat = rnd.uniform(-180, 180), rnd.choice([-1, 1]) * rnd.uniform(75, 85.05)
        else:
            lon, lat = rnd.uniform(-180, 180), rnd.uniform(-85.05, 85.05)
        out.append(("%.6f" % lon, "%.6f" % lat, "p%d" % i))
    return out


def centre(rnd, pts):
    if rnd.random() < 0.5:
        lon, lat, _ = rnd.choice(pts)
        return float(lon) + rnd.uniform(-0.05, 0.05), max(-85.05, min(85.05, float(lat)))
    return rnd.uniform(-180, 180), rnd.uniform(-85.05, 85.05)


def size_m(rnd):
    return rnd.choice([50, 500, 2000, 10000, 50000, 300000, 2000000, 8000000])


def request(rnd, key, pts):
    """A random search request: (args, dst or None)."""
    unit, meters = rnd.choice(UNITS)
    form = rnd.choice(["search", "search", "searchstore", "radius", "bymember", "radius_ro"])
    if form in ("search", "searchstore"):
        args = ["GEOSEARCH", key] if form == "search" else ["GEOSEARCHSTORE", "dst", key]
        if rnd.random() < 0.4:
            args += ["FROMMEMBER", rnd.choice(pts)[2]]
        else:
            lon, lat = centre(rnd, pts)
            args += ["FROMLONLAT", "%.6f" % lon, "%.6f" % lat]
        if rnd.random() < 0.5:
            args += ["BYRADIUS", "%.3f" % (size_m(rnd) / meters), unit]
        else:
            args += ["BYBOX", "%.3f" % (size_m(rnd) / meters), "%.3f" % (size_m(rnd) / meters), unit]
    elif form in ("radius", "radius_ro"):
        lon, lat = centre(rnd, pts)
        args = ["GEORADIUS" if form == "radius" else "GEORADIUS_RO", key,
                "%.6f" % lon, "%.6f" % lat, "%.3f" % (size_m(rnd) / meters), unit]
    else:
        args = ["GEORADIUSBYMEMBER", key, rnd.choice(pts)[2], "%.3f" % (size_m(rnd) / meters), unit]
    order = rnd.choice([None, "ASC", "DESC"])
    if order:
        args.append(order)
    if rnd.random() < 0.5:
        args += ["COUNT", str(rnd.choice([1, 3, 10, 100, 5000]))]
        if rnd.random() < 0.3:
            args.append("ANY")
    store = form == "searchstore" or (form in ("radius", "bymember") and rnd.random() < 0.3)
    if form == "searchstore":
        if rnd.random() < 0.5:
            args.append("STOREDIST")
    elif store:
        args += [rnd.choice(["STORE", "STOREDIST"]), "dst"]
    else:
        for opt in ("WITHDIST", "WITHCOORD", "WITHHASH"):
            if rnd.random() < 0.5:
                args.append(opt)
    return args, ("dst" if store else None)


def run(s, args):
    try:
        return s.execute_command(*args)
    except redis.ResponseError as e:
        return "error: %s" % e


def main():
    res = Results()
    cach = Server("cachely")
    red = Server("redis")
    try:
        c = redis.Redis(port=cach.port)
        r = redis.Redis(port=red.port)
        # Raw replies: compare what the servers sent, not redis-py's parse.
        for s in (c, r):
            s.response_callbacks.clear()
        rnd = random.Random(int(os.environ.get("GEO_SEED", "1207")))
        pts = points(rnd, 4000)
        small = pts[:100]
        for s in (c, r):
            for i in range(0, len(pts), 500):
                flat = [x for p in pts[i:i + 500] for x in p]
                s.execute_command("GEOADD", "big", *flat)
            s.execute_command("GEOADD", "small", *[x for p in small for x in p])
        enc = [run(s, ["OBJECT", "ENCODING", k]) for s in (c, r) for k in ("big", "small")]
        res.check("encodings", enc == [b"skiplist", b"listpack"] * 2, repr(enc))
        res.check("same scores", run(c, ["ZRANGE", "big", "0", "-1", "WITHSCORES"])
                  == run(r, ["ZRANGE", "big", "0", "-1", "WITHSCORES"]))
        mismatches = 0
        nonempty = 0
        queries = int(os.environ.get("GEO_QUERIES", "600"))
        for q in range(queries):
            key = "big" if rnd.random() < 0.8 else "small"
            args, dst = request(rnd, key, pts if key == "big" else small)
            a, b = run(c, args), run(r, args)
            same = a == b
            if same and dst is not None:
                zr = ["ZRANGE", dst, "0", "-1", "WITHSCORES"]
                same = run(c, zr) == run(r, zr)
            if isinstance(a, list) and a or isinstance(a, int) and a > 0:
                nonempty += 1
            if not same:
                mismatches += 1
                if mismatches <= 5:
                    res.check("query %d %s" % (q, " ".join(args)), False,
                              "cachely %r\nredis   %r" % (str(a)[:300], str(b)[:300]))
        res.check("%d random searches agree (%d with results)" % (queries, nonempty),
                  mismatches == 0, "%d differ" % mismatches)
        res.check("most searches found something", nonempty > queries // 3,
                  "%d of %d" % (nonempty, queries))
        res.check("cachely alive", c.ping())
    finally:
        if res.failed:
            cach.dump_log()
        cach.stop()
        red.stop()
    return res.finish()


if __name__ == "__main__":
    sys.exit(main())
