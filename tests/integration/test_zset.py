"""Sorted sets end to end: replication (a mixed load, and a full sync of a
1,000,000-member sorted set under a write load) checked with DEBUG DIGEST,
persistence round trips (SAVE + restart, BGREWRITEAOF + restart) keeping
encodings, and BZPOPMIN/BZMPOP blocking (FIFO across clients, timeouts,
a disconnect while blocked, a waiter served by a pipelined ZADD, the served
pop reaching the replica as ZPOPMIN), ZRANDMEMBER and bulk removal on a
large set, MEMORY USAGE growth and maxmemory eviction of sorted sets.

Each case starts its own cachely-server processes on free 127.0.0.1 ports.
Run with /usr/bin/python3; CACHELY_BUILDDIR names the build.  Prints
"N passed, M failed".  CACHELY_ZSET_CASES=a,c runs only those.
"""
import os
import random
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402
from cluster import LOCAL, check, client, info, resp, wait_for  # noqa: E402

BIG = int(os.environ.get("CACHELY_ZSET_BIG", "1000000"))


def digest(r):
    return r.execute_command("DEBUG", "DIGEST")


def synced(m, r):
    moff = info(m, "replication")["master_repl_offset"]
    ri = info(r, "replication")
    if ri.get("master_link_status") != "up" or ri.get("slave_repl_offset") != moff:
        return False
    return digest(m) == digest(r)


def mixed_load(mc, keys, n, seed):
    rnd = random.Random(seed)
    p = mc.pipeline(transaction=False)
    for i in range(n):
        k = rnd.choice(keys)
        op = rnd.randrange(8)
        m = "m%d" % rnd.randrange(300)
        if op < 3:
            p.zadd(k, {m: rnd.choice([rnd.random() * 100, rnd.randrange(10), float("inf")])})
        elif op == 3:
            p.zincrby(k, rnd.random(), m)
        elif op == 4:
            p.zrem(k, m)
        elif op == 5:
            p.zpopmin(k, rnd.randrange(3))
        elif op == 6:
            p.zremrangebyscore(k, "(1", 3)
        else:
            p.zunionstore(k + ":u", [k, rnd.choice(keys)], aggregate="MAX")
        if i % 200 == 199:
            p.execute()
    p.execute()


def fill_big(mc, key, n):
    p = mc.pipeline(transaction=False)
    batch = {}
    for i in range(n):
        batch["member:%d" % i] = i * 0.5
        if len(batch) == 1000:
            p.zadd(key, batch)
            batch = {}
            if i % 50000 == 49999:
                p.execute()
    if batch:
        p.zadd(key, batch)
    p.execute()


# ---- replication ---------------------------------------------------------------


def case_a_replication_mixed(c):
    m = c.node()
    r = c.node("--replicaof", "%s %d" % (LOCAL, m.port))
    mc, rc = client(m), client(r)
    mc.config_set("zset-max-listpack-entries", "32")
    r.proc  # the replica keeps its default thresholds: digests ignore encodings
    keys = ["z%d" % i for i in range(8)]
    mixed_load(mc, keys, 6000, 1)
    wait_for(lambda: synced(mc, rc), 30, "replica in sync after a mixed load")
    encs = {mc.object("encoding", k) for k in keys if mc.exists(k)}
    check("skiplist" in encs or "listpack" in encs, "no sorted sets left: %r" % encs)
    for k in keys:
        check(mc.zrange(k, 0, -1, withscores=True) == rc.zrange(k, 0, -1, withscores=True),
              "%s differs on the replica" % k)


def case_b_full_sync_big_under_writes(c):
    m = c.node()
    mc = client(m, timeout=120)
    fill_big(mc, "big", BIG)
    check(mc.zcard("big") == BIG, "big has %d members" % mc.zcard("big"))
    check(mc.object("encoding", "big") == "skiplist", "big is not a skiplist")
    stop = threading.Event()
    writes = [0]

    def writer():
        wc = client(m)
        rnd = random.Random(5)
        while not stop.is_set():
            i = rnd.randrange(BIG)
            wc.zadd("big", {"member:%d" % i: rnd.random()})
            wc.zincrby("big", 1, "member:%d" % rnd.randrange(BIG))
            wc.zrem("big", "member:%d" % rnd.randrange(BIG))
            wc.zadd("small", {"w%d" % writes[0]: writes[0]})
            writes[0] += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        r = c.node("--replicaof", "%s %d" % (LOCAL, m.port))
        rc = client(r, timeout=120)
        wait_for(lambda: info(rc, "replication").get("master_link_status") == "up", 120,
                 "the full sync to finish")
        time.sleep(0.5)
    finally:
        stop.set()
        t.join()
    check(writes[0] > 0, "the writer wrote nothing")
    wait_for(lambda: synced(mc, rc), 120, "replica in sync after the full sync")
    check(rc.zcard("big") == mc.zcard("big"), "cardinality differs")
    check(rc.object("encoding", "big") == "skiplist", "replica's big is not a skiplist")


# ---- persistence ---------------------------------------------------------------


def persistence_round_trip(c, extra, save):
    n = c.node(*extra)
    nc = client(n)
    nc.zadd("small", {"a": 1, "b": 2.5, "c": float("-inf")})
    nc.zadd("neg0", {"x": -0.0})
    nc.zadd("long", {"x" * 100: 1})
    p = nc.pipeline(transaction=False)
    for i in range(1000):
        p.zadd("large", {"m%d" % i: i / 7.0})
    p.execute()
    encs = {k: nc.object("encoding", k) for k in ("small", "long", "large")}
    check(encs == {"small": "listpack", "long": "skiplist", "large": "skiplist"},
          "encodings %r" % encs)
    save(nc)
    after_save = digest(nc)
    n.kill()  # keeps the data dir; only what was saved may come back
    n.start()
    nc = client(n)
    check(digest(nc) == after_save, "digest changed across the restart")
    check(nc.zrange("small", 0, -1, withscores=True) == [("c", float("-inf")), ("a", 1.0),
                                                         ("b", 2.5)], "small after restart")
    after = {k: nc.object("encoding", k) for k in ("small", "long", "large")}
    check(after == encs, "encodings changed across the restart: %r" % after)
    check(nc.zscore("small", "b") == 2.5, "score of b")
    check(nc.zrank("large", "m500") == 500, "rank of m500")


def case_c_save_restart(c):
    persistence_round_trip(c, (), lambda nc: nc.save())


def case_d_bgrewriteaof_restart(c):
    def rewrite(nc):
        nc.execute_command("BGREWRITEAOF")
        wait_for(lambda: info(nc, "persistence").get("aof_rewrite_in_progress") == "0"
                 and info(nc, "persistence").get("aof_rewrite_scheduled", "0") == "0",
                 30, "the rewrite to finish")
        nc.zadd("after", {"late": 1})  # after the rewrite: from the AOF's tail
    persistence_round_trip(c, ("--appendonly", "yes"), rewrite)


# ---- blocking ------------------------------------------------------------------


class Raw:
    def __init__(self, port):
        self.s = socket.create_connection((LOCAL, port), 10)
        self.buf = b""

    def send(self, *args):
        self.s.sendall(resp(*args))

    def read(self, timeout=10):
        self.s.settimeout(timeout)
        while b"\r\n" not in self.buf or not self._complete():
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        out, self.buf = self.buf, b""
        return out

    def _complete(self):
        # Replies here are small arrays, nulls or integers: count lines.
        lines = self.buf.split(b"\r\n")
        first = lines[0]
        if first[:1] in (b":", b"+", b"-", b"_", b","):
            return True
        if first in (b"*-1", b"$-1"):
            return True
        if first[:1] == b"*":
            n = int(first[1:])
            return len(lines) - 1 >= 2 * n + (0 if n else 0) and self.buf.endswith(b"\r\n")
        return True

    def close(self):
        self.s.close()


def blocked_clients(nc):
    return int(info(nc, "clients").get("blocked_clients", "0"))


def case_e_bzpopmin_fifo_timeout_disconnect(c):
    n = c.node()
    nc = client(n)
    # FIFO: three waiters, then three members one at a time.
    waiters = []
    for i in range(3):
        w = Raw(n.port)
        w.send("BZPOPMIN", "q", "0")
        wait_for(lambda: blocked_clients(nc) == i + 1, 10, "waiter %d blocked" % i)
        waiters.append(w)
    for i, w in enumerate(waiters):
        nc.zadd("q", {"m%d" % i: i})
        got = w.read()
        check(got == resp("q", "m%d" % i, str(i)), "waiter %d got %r" % (i, got))
        w.close()
    check(nc.exists("q") == 0, "q left behind")
    # Timeouts: 0.05 s answers a null array, not much later.
    w = Raw(n.port)
    t0 = time.time()
    w.send("BZPOPMIN", "nokey", "0.05")
    check(w.read() == b"*-1\r\n", "timeout reply")
    took = time.time() - t0
    check(took >= 0.04 and took < 5, "timeout took %.3fs" % took)
    # A disconnect while blocked leaves nothing behind.
    g = Raw(n.port)
    g.send("BZPOPMAX", "gone", "0")
    wait_for(lambda: blocked_clients(nc) == 1, 10, "the doomed waiter blocked")
    g.close()
    wait_for(lambda: blocked_clients(nc) == 0, 10, "the disconnect to be noticed")
    nc.zadd("gone", {"kept": 1})
    check(nc.zrange("gone", 0, -1) == ["kept"], "a gone client popped the member")
    w.close()


def case_f_pipeline_wakes_and_propagates(c):
    m = c.node()
    r = c.node("--replicaof", "%s %d" % (LOCAL, m.port))
    mc, rc = client(m), client(r)
    w1 = Raw(m.port)
    w1.send("BZPOPMIN", "k1", "k2", "0")
    w2 = Raw(m.port)
    w2.send("BZMPOP", "0", "2", "k3", "k2", "MAX", "COUNT", "2")
    wait_for(lambda: blocked_clients(mc) == 2, 10, "two waiters")
    # One pipelined burst (no MULTI) serves both waiters.
    p = Raw(m.port)
    p.s.sendall(resp("ZADD", "k2", "1", "a", "2", "b", "3", "c", "4", "d") + resp("PING"))
    check(w1.read() == resp("k2", "a", "1"), "w1 served")
    got = w2.read()
    check(got == b"*2\r\n$2\r\nk2\r\n*2\r\n*2\r\n$1\r\nd\r\n$1\r\n4\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n",
          "w2 got %r" % got)
    check(mc.zrange("k2", 0, -1) == ["b"], "k2 is %r" % mc.zrange("k2", 0, -1))
    wait_for(lambda: synced(mc, rc), 20, "replica in sync after the served pops")
    check(rc.zrange("k2", 0, -1) == ["b"], "replica's k2 is %r" % rc.zrange("k2", 0, -1))
    for x in (w1, w2, p):
        x.close()


def case_g_large_set_sampling_and_bulk_removal(c):
    n = c.node()
    nc = client(n)
    p = nc.pipeline(transaction=False)
    for i in range(0, 3000, 500):
        p.zadd("big", {"m%d" % j: j for j in range(i, i + 500)})
    p.execute()
    check(nc.object("encoding", "big") == "skiplist", "big is not the large encoding")
    everything = set(nc.zrange("big", 0, -1))
    for count in (1, 10, 999, 1000, 2999, 3000, 5000):
        got = nc.zrandmember("big", count)
        check(len(got) == min(count, 3000) and len(set(got)) == len(got),
              "ZRANDMEMBER %d gave %d (%d distinct)" % (count, len(got), len(set(got))))
        check(set(got) <= everything, "ZRANDMEMBER %d gave non-members" % count)
    pairs = nc.zrandmember("big", 50, withscores=True)
    check(len(pairs) == 100 and all(nc.zscore("big", pairs[i]) == float(pairs[i + 1])
                                    for i in range(0, 100, 2)), "WITHSCORES pairs")
    check(len(nc.zrandmember("big", -5000)) == 5000, "negative count repeats")
    # Removing every member at once deletes the key.
    check(nc.zremrangebyrank("big", 0, -1) == 3000, "ZREMRANGEBYRANK 0 -1")
    check(nc.exists("big") == 0, "big still exists")
    p = nc.pipeline(transaction=False)
    p.zadd("big2", {"m%d" % j: j for j in range(1000)})
    p.execute()
    check(nc.zremrangebyrank("big2", 1, -2) == 998, "middle removal")
    check(nc.zrange("big2", 0, -1) == ["m0", "m999"], "left %r" % nc.zrange("big2", 0, -1))
    check(len(nc.zpopmax("big2", 10)) == 2 and nc.exists("big2") == 0, "pop everything")


def case_h_memory_usage_and_eviction(c):
    n = c.node()
    nc = client(n)
    nc.zadd("grow", {"m0": 0})
    small = nc.memory_usage("grow")
    p = nc.pipeline(transaction=False)
    for i in range(1, 2000):
        p.zadd("grow", {"m%d" % i: i})
    p.execute()
    big = nc.memory_usage("grow")
    check(big > small + 2000 * 8, "MEMORY USAGE %d -> %d for 2000 members" % (small, big))
    check(nc.object("encoding", "grow") == "skiplist", "grow is not the large encoding")
    used = int(info(nc, "memory")["used_memory"])
    limit = used + 4 * 1024 * 1024
    nc.config_set("maxmemory-policy", "allkeys-lru")
    nc.config_set("maxmemory", str(limit))
    p = nc.pipeline(transaction=False)
    for k in range(3000):
        p.zadd("z%d" % k, {"member-%d-%d" % (k, j): j for j in range(100)})
        if k % 100 == 99:
            p.execute()
    p.execute()
    st = info(nc, "stats")
    check(int(st["evicted_keys"]) > 0, "no sorted set was evicted")
    used = int(info(nc, "memory")["used_memory"])
    check(used <= limit + 1024 * 1024, "used_memory %d over maxmemory %d" % (used, limit))


def case_i_zmpop_propagates_the_number_popped(c):
    # ZMPOP and BZMPOP go to the AOF (and replicas) as ZPOPMIN/ZPOPMAX key
    # <number popped>, as on Redis 7.0: not the COUNT asked.
    n = c.node("--save", "", "--appendonly", "yes", "--appendfsync", "always")
    r = client(n)
    r.zadd("z1", {"a": 1, "b": 2})
    r.zadd("z2", {"a": 1, "b": 2, "c": 3})
    check(cluster.Raw(n.port).call("ZMPOP", 2, "none", "z1", "MIN", "COUNT", 10)
          == [b"z1", [[b"a", b"1"], [b"b", b"2"]]], "ZMPOP")
    check(cluster.Raw(n.port).call("BZMPOP", 0, 1, "z2", "MAX", "COUNT", 2)
          == [b"z2", [[b"c", b"3"], [b"b", b"2"]]], "BZMPOP served at once")
    aof = b""
    for root, _, files in os.walk(n.dir):
        for f in files:
            if "appendonly" in f:
                with open(os.path.join(root, f), "rb") as fh:
                    aof += fh.read()
    aof = aof.upper()
    check(b"ZMPOP" not in aof, "no ZMPOP/BZMPOP in the AOF")
    for eff in (b"$7\r\nZPOPMIN\r\n$2\r\nZ1\r\n$1\r\n2",
                b"$7\r\nZPOPMAX\r\n$2\r\nZ2\r\n$1\r\n2"):
        check(eff in aof, "effect %r missing from the AOF" % eff)


CASES = [
    ("a", "replication of a mixed sorted-set load (DEBUG DIGEST)", case_a_replication_mixed),
    ("b", "full sync of a %d-member sorted set under writes" % BIG,
     case_b_full_sync_big_under_writes),
    ("c", "SAVE + restart keeps members, scores and encodings", case_c_save_restart),
    ("d", "BGREWRITEAOF + restart keeps members, scores and encodings",
     case_d_bgrewriteaof_restart),
    ("e", "BZPOPMIN: FIFO, timeout, disconnect while blocked",
     case_e_bzpopmin_fifo_timeout_disconnect),
    ("f", "a pipelined ZADD serves BZPOPMIN and BZMPOP; replica agrees",
     case_f_pipeline_wakes_and_propagates),
    ("g", "ZRANDMEMBER on a large set; removing every member at once",
     case_g_large_set_sampling_and_bulk_removal),
    ("h", "MEMORY USAGE grows with a sorted set; maxmemory evicts sorted sets",
     case_h_memory_usage_and_eviction),
    ("i", "ZMPOP/BZMPOP propagate ZPOPMIN/ZPOPMAX with the number popped",
     case_i_zmpop_propagates_the_number_popped),
]


def main():
    return cluster.run_cases(CASES, "zset_", "CACHELY_ZSET_CASES",
                             lambda fn: cluster.run_in(cluster.Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
