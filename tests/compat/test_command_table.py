"""COMMAND's view of every command Cachely shares with a real redis-server
7.0: arity, flags, key positions, ACL categories, tips and key specs
(with their notes), command by command
and subcommand by subcommand, as a client that reads COMMAND (for key
positions, routing or ACL tooling) sees them.

The one documented difference: REPLICAOF/SLAVEOF take "EPOCH n" after
host and port on Cachely (the proxies' failover), so their arity is -3,
not 3.  Run with /usr/bin/python3; prints "N passed, M failed".
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from servers import Results, Server  # noqa: E402

import redis  # noqa: E402

# name -> (field index, Cachely's value) where Cachely differs on purpose.
KNOWN = {
    "replicaof": (1, -3),
    "slaveof": (1, -3),
}
FIELDS = ("arity", "flags", "first key", "last key", "step", "categories", "tips",
          "key specs")


def table(conn):
    """COMMAND's entries by full name, subcommands included."""
    out = {}
    for e in conn.execute_command("COMMAND"):
        out[e[0]] = e
        for sub in e[9] if len(e) > 9 else []:
            out[sub[0]] = sub
    return out


def main():
    res = Results()
    cach = Server("cachely")
    red = Server("redis")
    try:
        # Raw replies: redis-py's COMMAND parsing would reshape them.
        c = redis.Redis(port=cach.port, decode_responses=True)
        r = redis.Redis(port=red.port, decode_responses=True)
        for cl in (c, r):
            cl.set_response_callback("COMMAND", lambda x, **kw: x)
        ct, rt = table(c), table(r)
        common = sorted(set(ct) & set(rt))
        res.check("commands in common", len(common) > 300, "%d" % len(common))
        for name in common:
            a, b = ct[name], rt[name]
            for i, field in enumerate(FIELDS, start=1):
                want = b[i]
                if name in KNOWN and KNOWN[name][0] == i:
                    want = KNOWN[name][1]
                if field in ("flags", "categories"):
                    same = list(a[i]) == list(want)
                else:
                    same = a[i] == want
                res.check("%s %s" % (name, field), same, "%r vs redis %r" % (a[i], b[i]))
        # Every command Cachely lists exists in Redis 7.0 or later (none made up),
        # but for Cachely's own, named cachely.* (README).
        extra = sorted(set(ct) - set(rt))
        later = {"client|no-touch", "client|setinfo", "hexpire", "hexpireat", "hexpiretime",
                 "hgetdel", "hgetex", "hpersist", "hpexpire", "hpexpireat", "hpexpiretime",
                 "hpttl", "hsetex", "httl"}
        own = {"cachely.block", "cachely.unblock"}
        res.check("no command unknown to Redis", set(extra) <= later | own, "%r" % extra)
    finally:
        if res.failed:
            cach.dump_log()
        cach.stop()
        red.stop()
    return res.finish()


if __name__ == "__main__":
    sys.exit(main())
