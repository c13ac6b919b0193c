"""Bitmaps, HyperLogLog and SORT end to end: a mixed load (SETBIT,
BITFIELD, BITOP, PFADD through the dense promotion, PFCOUNT filling the
cached cardinality, PFMERGE, PFDEBUG TODENSE, SORT ... STORE with BY and
GET on hash fields) replicated to a replica with equal digests and equal
HLL bytes, a full sync of a large bitmap, SORT ... STORE written to the AOF
as its effect (DEL + RPUSH) and replayed after a restart.

Each case starts its own cachely-server processes on free 127.0.0.1 ports.
Run with /usr/bin/python3; CACHELY_BUILDDIR names the build.  Prints
"N passed, M failed".  CACHELY_BITS_CASES=a,c runs only those.
"""
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402
from cluster import LOCAL, check, info, wait_for  # noqa: E402

import redis  # noqa: E402


def digest(r):
    return r.execute_command("DEBUG", "DIGEST")


def load(mr):
    p = mr.pipeline(transaction=False)
    for i in range(2000):
        p.setbit("bm", (i * 7919) % 100000, i % 3 != 0)
        if i % 10 == 0:
            p.execute_command("BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "u8",
                              "#%d" % (i % 50), 37, "INCRBY", "i5", 3 + i, -9)
        p.pfadd("hll%d" % (i % 3), *["e%d" % (i * 10 + k) for k in range(10)])
        if i % 100 == 0:
            p.pfcount("hll%d" % (i % 3))
    p.execute()
    mr.execute_command("BITOP", "XOR", "bx", "bm", "bf")
    mr.execute_command("BITOP", "NOT", "bn", "bm")
    mr.pfmerge("hllm", "hll0", "hll1", "hll2")
    mr.pfadd("small", "a", "b")
    mr.execute_command("PFDEBUG", "TODENSE", "small")
    mr.pfcount("hllm")
    mr.pfcount("small")
    for i in range(1, 30):
        mr.hset("w_%d" % i, mapping={"score": (i * 17) % 31, "name": "n%d" % i})
    mr.rpush("ids", *range(1, 30))
    mr.sadd("idset", *range(1, 30))
    mr.execute_command("SORT", "ids", "BY", "w_*->score", "GET", "w_*->name", "GET", "#",
                       "STORE", "sorted")
    mr.execute_command("SORT", "idset", "BY", "nosort", "STORE", "sorted2")
    mr.execute_command("SORT", "ids", "LIMIT", "100", "5", "STORE", "gone")


def case_a_replication_of_a_mixed_load(c):
    m = c.node("--save", "")
    rep = c.node("--save", "", "--replicaof", LOCAL, m.port)
    mr, rr = cluster.client(m), cluster.client(rep)
    wait_for(lambda: info(rr, "replication")["master_link_status"] == "up", 30, "link up")
    mr.set("gone", "x")
    load(mr)
    wait_for(lambda: digest(rr) == digest(mr), 30, "equal digests")
    mb = redis.Redis(host=LOCAL, port=m.port, socket_timeout=20)
    rb = redis.Redis(host=LOCAL, port=rep.port, socket_timeout=20)
    for k in ("hll0", "hll1", "hll2", "hllm", "small", "bm", "bf", "bx", "bn"):
        check(mb.get(k) == rb.get(k), "%s: equal bytes (HLL caches included)" % k)
    check(rb.get("hllm")[4] == 0, "dense on the replica (PFDEBUG is a write: refused there)")
    check(rr.lrange("sorted2", 0, -1) == [str(i) for i in sorted(range(1, 30), key=str)],
          "SORT of a set BY nosort STORE sorts ALPHA")
    check(rr.exists("gone") == 0, "an empty SORT ... STORE deleted the destination")
    check(rr.llen("sorted") == 58, "stored GETs")


def case_b_full_sync_of_a_large_bitmap(c):
    m = c.node("--save", "")
    mr = cluster.client(m, timeout=60)
    mr.setbit("huge", 8 * 32 * 1024 * 1024 - 1, 1)
    mr.execute_command("BITFIELD", "huge", "SET", "u32", "#1000", 123456789)
    mr.pfadd("h", *["x%d" % i for i in range(20000)])
    rep = c.node("--save", "", "--replicaof", LOCAL, m.port)
    rr = cluster.client(rep, timeout=60)
    wait_for(lambda: info(rr, "replication")["master_link_status"] == "up", 60, "link up")
    wait_for(lambda: digest(rr) == digest(mr), 60, "equal digests after the full sync")
    check(rr.bitcount("huge") == mr.bitcount("huge"), "BITCOUNT on the replica")
    check(rr.pfcount("h") == mr.pfcount("h"), "PFCOUNT on the replica")


def case_c_sort_store_goes_to_the_aof_as_its_effect(c):
    data = tempfile.mkdtemp(prefix="cachely-bits-")
    try:
        n = c.node("--dir", data, "--save", "", "--appendonly", "yes",
                   "--auto-aof-rewrite-percentage", "0")
        r = cluster.client(n)
        load(r)
        d = digest(r)
        blob = b""
        for root, _, files in os.walk(data):
            for f in files:
                with open(os.path.join(root, f), "rb") as fh:
                    blob += fh.read()
        check(b"$4\r\nSORT\r\n" not in blob.upper(), "no SORT command in the AOF")
        check(b"RPUSH" in blob, "SORT ... STORE written as RPUSH")
        n.kill()
        n.start()
        r = cluster.client(n)
        check(digest(r) == d, "AOF reload: same digest")
        check(r.execute_command("SAVE") in ("OK", True), "save")
        n.kill()
        for root, _, files in os.walk(data):
            for f in files:
                if "appendonly" in f:
                    os.remove(os.path.join(root, f))
        s = c.node("--dir", data, "--save", "")
        r = cluster.client(s)
        check(digest(r) == d, "snapshot reload: same digest")
        check(r.pfcount("hllm") > 0, "HLL counts after the reload")
    finally:
        shutil.rmtree(data, ignore_errors=True)


def case_d_unchanged_bits_are_not_a_change(c):
    # As Redis 7.0: SETBIT/BITFIELD that leave the value as it was count no
    # change (rdb_changes_since_last_save), one per write that changed it
    # (or created/grew the key), and the unchanged ones reach no replica.
    m = c.node("--save", "")
    r = cluster.client(m)
    rep = c.node("--save", "", "--replicaof", cluster.LOCAL, m.port)
    rr = cluster.client(rep)
    cluster.wait_for(lambda: cluster.info(rr, "replication")["master_link_status"] == "up",
                     10, "link up")

    def dirty():
        return int(cluster.info(r, "persistence")["rdb_changes_since_last_save"])

    d0 = dirty()
    r.setbit("b1", 0, 0)
    r.execute_command("BITFIELD", "b2", "SET", "i5", 0, 0)
    check(dirty() == d0 + 2, "a created key is a change each")
    off0 = int(cluster.info(r, "replication")["master_repl_offset"])
    r.setbit("b1", 0, 0)
    r.execute_command("BITFIELD", "b2", "SET", "i5", 0, 0)
    r.execute_command("BITFIELD", "b2", "SET", "i5", 0, 0, "INCRBY", "u2", 5, 0)
    check(dirty() == d0 + 2, "writes that change nothing: %d" % (dirty() - d0))
    check(int(cluster.info(r, "replication")["master_repl_offset"]) == off0,
          "nothing propagated for them")
    r.setbit("b1", 0, 1)
    r.execute_command("BITFIELD", "b2", "SET", "i5", 0, 1, "SET", "u3", 8, 5)
    check(dirty() == d0 + 5, "one change per changing write: %d" % (dirty() - d0))
    cluster.wait_for(lambda: rr.getbit("b1", 0) == 1
                     and rr.execute_command("BITFIELD_RO", "b2", "GET", "u3", 8) == [5],
                     10, "the replica has the changes")


CASES = [
    ("a", "a mixed bitmap/HLL/SORT load replicates (digests, HLL bytes)",
     case_a_replication_of_a_mixed_load),
    ("b", "full sync of a 32 MB bitmap and a dense HLL", case_b_full_sync_of_a_large_bitmap),
    ("c", "SORT ... STORE in the AOF as DEL + RPUSH; AOF and snapshot reloads",
     case_c_sort_store_goes_to_the_aof_as_its_effect),
    ("d", "SETBIT/BITFIELD that change nothing count no change, propagate nothing",
     case_d_unchanged_bits_are_not_a_change),
]


def main():
    return cluster.run_cases(CASES, "", "CACHELY_BITS_CASES",
                             lambda fn: cluster.run_in(cluster.Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
