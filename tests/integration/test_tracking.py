"""Client-side caching end to end: a RESP3 client tracking keys receives
invalidations for another client's write, for a key that expires (the
active expiry cycle, no command running), for an evicted key, and a null
invalidation for FLUSHALL; BCAST batches the keys changed in one command.

Run with /usr/bin/python3; CACHELY_BUILDDIR names the build.  Prints
"N passed, M failed".  CACHELY_TRACKING_CASES=a,c runs only those.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402
from cluster import Case, Raw, check, client, info, run_in  # noqa: E402


def tracker(n, *opts):
    t = Raw(n.port)
    t.call("HELLO", "3")
    check(t.call("CLIENT", "TRACKING", "on", *opts) == "OK", "CLIENT TRACKING on")
    return t


def case_a_writes_expiry_flush(c):
    n = c.node()
    r = client(n)
    t = tracker(n)
    r.set("w", "1")
    t.call("GET", "w")
    r.set("w", "2")
    check(t.reply() == [b"invalidate", [b"w"]], "invalidation for another client's write")
    # Expiry by the active cycle: no command of anybody involved.
    r.set("e", "1", px=50)
    t.call("GET", "e")
    check(t.reply() == [b"invalidate", [b"e"]], "invalidation for an expired key")
    check(int(info(r, "stats")["expired_keys"]) >= 1, "the key expired")
    # FLUSHALL: a null invalidation.
    t.call("GET", "w")
    r.flushall()
    check(t.reply() == [b"invalidate", None], "null invalidation for FLUSHALL")
    # Nothing tracked any more: a write sends nothing, the next reply is ours.
    r.set("w", "3")
    check(t.call("PING") == "PONG", "no invalidation after the flush forgot the keys")


def case_b_eviction(c):
    n = c.node("--maxmemory-policy", "allkeys-random")
    r = client(n)
    for i in range(300):
        r.set("fill:%d" % i, "x" * 10000)
    t = tracker(n)
    for i in range(300):
        t.send(("GET", "fill:%d" % i))
    for i in range(300):
        t.reply()
    used = int(info(r, "memory")["used_memory"])
    r.config_set("maxmemory", str(used - 1000000))
    r.set("trigger", "1")
    m = t.reply()
    check(m[0] == b"invalidate" and m[1][0].startswith(b"fill:"), "eviction invalidation %r" % m)
    r.config_set("maxmemory", "0")


def case_c_bcast_batch(c):
    n = c.node()
    r = client(n)
    t = tracker(n, "BCAST", "PREFIX", "u:")
    r.mset({"u:1": "a", "u:2": "b", "x": "c"})
    check(t.reply() == [b"invalidate", [b"u:1", b"u:2"]], "one BCAST message per command")


def case_d_no_touch(c):
    """CLIENT NO-TOUCH (Redis 7.2): this client's reads leave the access
    time alone, except TOUCH."""
    n = c.node()
    r = client(n)
    r.set("k", "v")
    cluster.wait_for(lambda: r.object("idletime", "k") >= 1, 10, "k idle for a second")
    t = Raw(n.port)
    check(t.call("CLIENT", "NO-TOUCH", "on") == "OK", "NO-TOUCH on")
    check(t.call("GET", "k") == b"v", "GET")
    check(r.object("idletime", "k") >= 1, "GET under NO-TOUCH reset the idle time")
    check(t.call("TOUCH", "k") == 1, "TOUCH")
    check(r.object("idletime", "k") == 0, "TOUCH under NO-TOUCH must still touch")
    check(t.call("CLIENT", "NO-TOUCH", "off") == "OK", "NO-TOUCH off")


CASES = [
    ("a", "invalidations on writes, expiry and FLUSHALL", case_a_writes_expiry_flush),
    ("b", "invalidation of an evicted key", case_b_eviction),
    ("c", "BCAST batches the keys of one command", case_c_bcast_batch),
    ("d", "CLIENT NO-TOUCH leaves the access time alone", case_d_no_touch),
]


def main():
    return cluster.run_cases(CASES, "", "CACHELY_TRACKING_CASES", lambda fn: run_in(Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
