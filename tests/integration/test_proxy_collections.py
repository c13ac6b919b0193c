"""Collections through cachely-proxy: non-blocking commands are routed by the
command table (their keys, movable ones included), multi-key commands whose
keys live in different shard groups answer CROSSSLOT as on Redis Cluster, and
blocking commands answer a clear error at once instead of holding a shared
pooled connection (dedicated connections for them are the proxy issue's).

Run with /usr/bin/python3 (Debian's python3-redis).  Prints "N passed, M
failed"."""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402
import test_proxy as tp  # noqa: E402
from cluster import check, client  # noqa: E402

import redis  # noqa: E402


def three_groups(c):
    g = [c.node() for _ in range(3)]
    p = c.proxy(None, "--group", "a 0-5460 %s" % g[0].addr,
                "--group", "b 5461-10922 %s" % g[1].addr,
                "--group", "c 10923-16383 %s" % g[2].addr, ready=3)
    return g, p


def error_of(fn):
    try:
        fn()
    except redis.ResponseError as e:
        return str(e)
    return None


def case_lists_through_a_default_proxy(c):
    m, reps = c.group()
    p = c.proxy(m.addr)
    pc = client(p)
    check(pc.rpush("l", "a", "b", "c") == 3, "RPUSH")
    check(pc.lrange("l", 0, -1) == ["a", "b", "c"], "LRANGE reads its own write")
    check(pc.lmove("l", "l2", "LEFT", "RIGHT") == "a", "LMOVE")
    check(pc.type("l") == "list", "TYPE through the proxy")


def case_blocking_commands_refused_at_once(c):
    m, reps = c.group()
    p = c.proxy(m.addr)
    pc = client(p)
    for args in (("BLPOP", "q", "0"), ("BRPOP", "q", "1"), ("BLMOVE", "q", "r", "LEFT", "LEFT", "0"),
                 ("BRPOPLPUSH", "q", "r", "0"), ("BLMPOP", "0", "1", "q", "LEFT")):
        t0 = time.time()
        err = error_of(lambda: pc.execute_command(*args))
        check(err is not None and "blocking command" in err and "not supported" in err,
              "%s answered %r" % (args[0], err))
        check(time.time() - t0 < 2, "%s held the connection" % args[0])
    # The session is still usable and in step.
    check(pc.ping() is True, "PING after the refusals")


def case_multi_key_across_groups_is_crossslot(c):
    g, p = three_groups(c)
    pc = client(p)
    # "a" and "b" live in different groups; {t}a and {t}b share one.
    err = error_of(lambda: pc.rpoplpush("a", "b"))
    check(err is not None and err.startswith("CROSSSLOT"), "RPOPLPUSH a b: %r" % err)
    err = error_of(lambda: pc.execute_command("LMPOP", "2", "a", "b", "LEFT"))
    check(err is not None and err.startswith("CROSSSLOT"), "LMPOP movable keys: %r" % err)
    pc.rpush("{t}a", "x")
    check(pc.rpoplpush("{t}a", "{t}b") == "x", "hash-tagged keys work")
    check(pc.execute_command("LMPOP", "2", "{t}a", "{t}b", "LEFT") == ["{t}b", ["x"]],
          "LMPOP with hash tags")


CASES = [
    ("a", "lists through a default proxy", case_lists_through_a_default_proxy),
    ("b", "blocking commands answer a clear error at once", case_blocking_commands_refused_at_once),
    ("c", "multi-key commands across groups answer CROSSSLOT (movable keys too)",
     case_multi_key_across_groups_is_crossslot),
]


def main():
    return cluster.run_cases(CASES, "proxy_coll_", "CACHELY_PROXY_COLL_CASES",
                             lambda fn: cluster.run_in(tp.Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
