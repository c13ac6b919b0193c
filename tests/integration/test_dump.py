"""DUMP and RESTORE against a real redis-server 7.0: every type and every
encoding redis-server produces (int/raw/LZF strings, small and multi-node
lists, intset and hashtable sets, listpack and skiplist sorted sets,
listpack and hashtable hashes, streams with deleted entries, consumer
groups, pending entries and consumers, binary and empty members, inf and
negative scores) DUMPed on redis-server and RESTOREd on Cachely, and the other way
round, to equal values and TTLs; RESTORE's options and their effects
(IDLETIME, FREQ, ABSTTL, REPLACE); the restore event and WATCH; a replica
and an append-only file ending with equal digests; DUMP/RESTORE through a
cachely-proxy; a refusal (hashes with field expirations); and thousands of
truncated or bit-flipped payloads (checksum fixed up so that the decoder,
not the footer check, sees them) that never crash the server; and MIGRATE
between nodes and redis-servers both ways (every type, a replica and the
AOF seeing the deletions, options and errors replied as redis-server
replies them, a hung and a restarted target, idle connections closed).

Run with /usr/bin/python3 (Debian's python3-redis); CACHELY_BUILDDIR names
the build.  Prints "N passed, M failed".  CACHELY_DUMP_CASES=a,c runs only
those cases.
"""
import os
import random
import signal
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402  (puts tests/compat on sys.path)
from cluster import LOCAL, check, info, wait_for  # noqa: E402
import servers  # noqa: E402

import redis  # noqa: E402

SANITIZERS = os.environ.get("CACHELY_SANITIZERS") == "1"
FUZZ_ROUNDS = 1500 if SANITIZERS else 4000


class Nodes(cluster.Case):
    """Cachely processes (cluster.Case) plus redis-servers, all stopped at
    the end of the case."""

    def __init__(self):
        super().__init__()
        self.redises = []

    def redis(self):
        s = servers.Server("redis")
        self.redises.append(s)
        return s

    def stop_all(self):
        for s in self.redises:
            s.stop()
        return super().stop_all()


def raw(s):
    return redis.Redis(host=LOCAL, port=s.port, socket_timeout=30)


# ---- Redis's crc64 (Jones, reflected), to forge payloads ---------------------

_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x95AC9329AC4BC9B5 if _c & 1 else _c >> 1
    _TABLE.append(_c)


def crc64(data):
    crc = 0
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def refooter(body, version=10):
    """body (type byte and value) with a valid footer."""
    head = body + struct.pack("<H", version)
    return head + struct.pack("<Q", crc64(head))


def ziplist(entries):
    """A ziplist blob (Redis before 7.0) of str (bytes) and int entries."""
    body, prev, last = b"", 0, 10
    for e in entries:
        if isinstance(e, int):
            enc = bytes([0xF1 + e]) if 0 <= e <= 12 else b"\xc0" + struct.pack("<h", e)
        else:
            enc = bytes([len(e)]) + e
        ent = bytes([prev]) + enc
        last = 10 + len(body)
        body += ent
        prev = len(ent)
    return struct.pack("<IIH", 10 + len(body) + 1, last, len(entries)) + body + b"\xff"


def short_str(b):
    return bytes([len(b)]) + b


# The older encodings redis-server 7.0 still RESTOREs (it DUMPs none).
OLD_PAYLOADS = {
    "old:list_ziplist": b"\x0a" + short_str(ziplist([b"a", 1, -100, 1000, b"hello"])),
    "old:hash_ziplist": b"\x0d" + short_str(ziplist([b"f", b"v", b"n", 7])),
    "old:zset_ziplist": b"\x0c" + short_str(ziplist([b"a", 1, b"b", b"2.5"])),
    "old:quicklist": b"\x0e\x02" + short_str(ziplist([b"a", b"b"]))
                     + short_str(ziplist([3, b"c"])),
    "old:zset": b"\x03\x02\x01a\x031.5\x01b\xfe",
    "old:list": b"\x01\x02\x01a\x01b",
    # Redis 6's stream (type 15; entries 1-1 deleted, 2-1, 3-1; group g at
    # 2-1 with no entries_read: 7.0 estimates it on load).
    "old:stream6": b"\x0f\x01\x10\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00"
                   b"\x00\x00\x01\xc3&0\x070\x00\x00\x00\x14\x00\x02\x01@\x00\x07\x81a\x02"
                   b"\x00\x01\x03\x01\x00 \x01\x03\x01\x01\x04\x01@\x14\xc0\t\x00\x02\x80\t"
                   b"\x01\x01\xff\x02\x03\x01\x01\x01g\x02\x01\x00\x00",
}

# ---- values ---------------------------------------------------------------------


def fill(r):
    """Every type and encoding redis-server 7.0 makes, on client r (bytes)."""
    rnd = random.Random(7)
    r.set("s:int", "12")
    r.set("s:neg", "-40000")
    r.set("s:i32", "2147483647")
    r.set("s:i64", "123456789012")
    r.set("s:notcanon", "007")
    r.set("s:empty", "")
    r.set("s:bin", bytes(range(256)) * 3)
    r.set("s:lzf", b"abcdefgh" * 500)
    r.set("s:rand", bytes(rnd.randrange(256) for _ in range(5000)))
    r.set("s:big", b"x" * 300000)
    r.rpush("l:small", "a", "b", "", "1", "-5000", "127", "128", "-4096", "4095",
            "32767", "-32768", "8388607", "-8388608", "2147483648",
            "-9223372036854775808", "9223372036854775807", "007", b"\x00\xff")
    r.rpush("l:big", *[rnd.choice(["x%d" % i, i, -i * 1000003, "y" * (i % 70)])
                        for i in range(20000)])
    r.rpush("l:fat", b"A" * 20000, "b", b"C" * 70000, "d")
    r.sadd("set:int", 1, 2, 3, -7)
    r.sadd("set:int64", 2 ** 40, -3, 5)
    r.sadd("set:int32", 70000, -1)
    r.sadd("set:bigint", *range(0, 6000, 7))
    r.sadd("set:str", "a", "b", "", b"\x00\x01", "1")
    r.sadd("set:big", *["m%d" % i for i in range(3000)])
    r.zadd("z:small", {"a": 1, "b": 2.5, "": -3, "c": float("inf"), "d": float("-inf"),
                       "e": 0.1, "f": -0.0, "g": 1e300, "9": 9})
    r.zadd("z:big", {"m%d" % i: rnd.uniform(-1e6, 1e6) for i in range(1000)})
    r.zadd("z:long", {"x" * 100: 1, "y": 2})
    r.zadd("z:inf", {("k%d" % i): (float("inf") if i % 3 == 0 else -i) for i in range(200)})
    r.hset("h:small", mapping={"f": "v", "": "empty", "n": "123", "z": ""})
    r.hset("h:big", mapping={"f%d" % i: "v%d" % i for i in range(2000)})
    r.hset("h:long", mapping={"f": "v" * 100, "g": "1"})
    r.hset("h:bin", mapping={b"\x00\xff": b"\xff\x00", "k": bytes(range(256))})
    r.zadd("z:tiny", {"a": 1, "b": -2})
    r.hset("h:tiny", mapping={"f": "v", "n": "7"})
    for i in range(250):
        r.xadd("x:big", {"a": i, "b": "v%d" % i} if i % 7 else {"other": "x", "n": i},
               id="%d-%d" % (1000 + i // 3, i % 3 + 1))
    r.xdel("x:big", "1001-1", "1010-2")
    r.xgroup_create("x:big", "g1", id="0")
    r.xgroup_create("x:big", "g2", id="1005-1")
    r.xreadgroup("g1", "alice", {"x:big": ">"}, count=5)
    r.xreadgroup("g1", "bob", {"x:big": ">"}, count=3)
    r.xack("x:big", "g1", "1000-2")
    r.xgroup_createconsumer("x:big", "g1", "carol")
    r.xadd("x:emptied", {"a": 1})
    r.xdel("x:emptied", r.xrange("x:emptied")[0][0])
    r.xgroup_create("x:mk", "g", id="$", mkstream=True)
    r.xadd("x:tiny", {"a": 1}, id="1-1")
    r.set("s:ttl", "v", px=500000)
    r.rpush("l:ttl", "a")
    r.pexpire("l:ttl", 400000)


def value(r, k):
    t = r.type(k).decode()
    if t == "string":
        return t, r.get(k)
    if t == "list":
        return t, r.lrange(k, 0, -1)
    if t == "set":
        return t, sorted(r.smembers(k))
    if t == "zset":
        return t, r.zrange(k, 0, -1, withscores=True)
    if t == "hash":
        return t, sorted(r.hgetall(k).items())
    if t == "stream":
        full = r.xinfo_stream(k, full=True)
        # Cachely's node counts stand in for a radix tree's (README).
        full.pop("radix-tree-keys", None)
        full.pop("radix-tree-nodes", None)
        return t, (r.xrange(k), full)
    return t, None


def copy_all(src, dst, encodings=None):
    """DUMP every key of src, RESTORE it on dst with src's PTTL; returns the
    keys.  encodings collects (key, src encoding, dst encoding)."""
    keys = sorted(src.keys())
    for k in keys:
        payload = src.dump(k)
        check(payload is not None, "DUMP %r returned nil" % k)
        ttl = src.pttl(k)
        dst.restore(k, max(ttl, 0), payload, replace=True)
        if encodings is not None:
            encodings.append((k, src.object("encoding", k), dst.object("encoding", k)))
    return keys


def compare(a, b, keys, what):
    for k in keys:
        va, vb = value(a, k), value(b, k)
        check(va == vb, "%s: %r differs: %r vs %r" % (what, k, str(va)[:200], str(vb)[:200]))
        ta, tb = a.pttl(k), b.pttl(k)
        check((ta < 0) == (tb < 0) and abs(ta - tb) < 5000,
              "%s: %r TTL %d vs %d" % (what, k, ta, tb))


# ---- the cases --------------------------------------------------------------------


def case_a_redis_to_cachely(c):
    rs = c.redis()
    n = c.node()
    r, x = raw(rs), raw(n)
    fill(r)
    encs = []
    keys = copy_all(r, x, encs)
    check(len(keys) > 25, "keys %d" % len(keys))
    compare(r, x, keys, "redis -> cachely")
    # Every encoding of Redis's was covered.
    seen = {e[1] for e in encs}
    for want in (b"int", b"embstr", b"raw", b"quicklist", b"intset", b"hashtable",
                 b"listpack", b"skiplist"):
        check(want in seen, "redis made no %r value" % want)
    # And Cachely's encodings end up Redis's.
    for k, re_, ce in encs:
        check(re_ == ce, "%r: redis %r cachely %r" % (k, re_, ce))
    check(x.execute_command("DEBUG", "DIGEST") != b"0" * 40, "digest")
    # The older encodings, restored on both.
    for k, body in OLD_PAYLOADS.items():
        r.restore(k, 0, refooter(body))
        x.restore(k, 0, refooter(body))
    compare(r, x, list(OLD_PAYLOADS), "old encodings")


def case_b_cachely_to_redis(c):
    rs = c.redis()
    n = c.node()
    r, x = raw(rs), raw(n)
    fill(x)
    keys = copy_all(x, r)
    compare(x, r, keys, "cachely -> redis")
    # Values whose layout does not hang on hashing dump as the very bytes
    # redis-server would, LZF-compressed strings (rdbcompression yes) or
    # raw (no) alike.
    for comp in ("yes", "no"):
        x.config_set("rdbcompression", comp)
        r.config_set("rdbcompression", comp)
        for k in (b"s:int", b"s:empty", b"l:small", b"set:int", b"z:tiny", b"h:tiny",
                  b"s:neg", b"s:i32", b"x:tiny", b"s:bin", b"s:lzf", b"s:rand", b"s:big",
                  b"z:small", b"z:long", b"set:int64", b"h:small"):
            check(x.dump(k) == r.dump(k),
                  "rdbcompression %s, %r: payload %r vs redis %r"
                  % (comp, k, x.dump(k)[:80], r.dump(k)[:80]))


def case_c_options_and_errors(c):
    n = c.node()
    x = raw(n)
    x.set("k", "v")
    p = x.dump("k")
    check(x.dump("missing") is None, "DUMP of a missing key is nil")

    def err(*args):
        try:
            x.execute_command(*args)
        except redis.ResponseError as e:
            return str(e)
        return None

    check("Target key name already exists." in err("RESTORE", "k", 0, p), "BUSYKEY")
    check(err("RESTORE", "n", -1, p) == "Invalid TTL value, must be >= 0", "ttl")
    check(err("RESTORE", "n", 0, p[:-1] + bytes([p[-1] ^ 1]))
          == "DUMP payload version or checksum are wrong", "crc")
    check(err("RESTORE", "n", 0, refooter(p[:-10], 11))
          == "DUMP payload version or checksum are wrong", "version 11")
    check(err("RESTORE", "n", 0, refooter(p[:-10] + b"x")) == "Bad data format", "trailing")
    check(err("RESTORE", "n", 0, p, "IDLETIME", 1, "FREQ", 1) == "syntax error", "both")
    # ABSTTL in the past: no key; with REPLACE the old one goes.
    check(x.restore("n", 1000, p, absttl=True) and not x.exists("n"), "past ABSTTL")
    check(x.restore("k", 1000, p, absttl=True, replace=True) and not x.exists("k"),
          "past ABSTTL replaces")
    # Relative TTL, ABSTTL in the future.
    x.restore("t1", 100000, p)
    check(99000 < x.pttl("t1") <= 100000, "relative ttl %d" % x.pttl("t1"))
    at = int(time.time() * 1000) + 200000
    x.restore("t2", at, p, absttl=True)
    check(x.execute_command("PEXPIRETIME", "t2") == at, "ABSTTL")
    # IDLETIME under LRU, FREQ under LFU.
    x.restore("idle", 0, p, idletime=1000)
    check(x.object("idletime", "idle") >= 1000, "IDLETIME %r" % x.object("idletime", "idle"))
    x.config_set("maxmemory-policy", "allkeys-lfu")
    x.restore("freq", 0, p, frequency=77)
    check(x.object("freq", "freq") == 77, "FREQ %r" % x.object("freq", "freq"))
    # RESTORE is denyoom: refused past maxmemory under noeviction.
    x.config_set("maxmemory-policy", "noeviction")
    x.config_set("maxmemory", 1)
    check((err("RESTORE", "oom", 0, p) or "").startswith("OOM "), "RESTORE past maxmemory")
    x.config_set("maxmemory", 0)
    # Empty collections and duplicates are bad data.
    check(err("RESTORE", "e", 0, refooter(b"\x02\x00")) == "Bad data format", "empty set")
    check(err("RESTORE", "d", 0, refooter(b"\x02\x02\x01a\x01a")) == "Bad data format",
          "duplicate set member")
    check(err("RESTORE", "d", 0, refooter(b"\x04\x02\x01a\x01b\x01a\x01c"))
          == "Bad data format", "duplicate hash field")
    check(not x.exists("e", "d"), "nothing created by bad payloads")
    # Field-expiry hashes are refused with a reason.
    x.hset("hx", mapping={"a": 1, "b": 2})
    x.execute_command("HEXPIRE", "hx", 100, "FIELDS", 1, "a")
    check("field expirations" in (err("DUMP", "hx") or ""), "DUMP of a field-expiry hash")


def case_d_events_and_watch(c):
    n = c.node()
    x = raw(n)
    x.config_set("notify-keyspace-events", "KEA")
    x.set("k", "v")
    p = x.dump("k")
    sub = raw(n).pubsub()
    sub.psubscribe("__keyevent@0__:*")
    wait_for(lambda: sub.get_message(timeout=0.1) is not None, 5, "psubscribe")
    x.restore("r1", 0, p)
    x.restore("k", 1, p, absttl=True, replace=True)   # past: deletes k
    got = []
    deadline = time.time() + 5
    while time.time() < deadline and len(got) < 2:
        m = sub.get_message(timeout=0.2)
        if m and m["type"] == "pmessage":
            got.append((m["channel"], m["data"]))
    check((b"__keyevent@0__:restore", b"r1") in got, "restore event %r" % got)
    check((b"__keyevent@0__:del", b"k") in got, "del event %r" % got)
    sub.close()
    # WATCH sees a RESTOREd key as modified.
    w = raw(n)
    pipe = w.pipeline()
    pipe.watch("r2")
    x.restore("r2", 0, p)
    pipe.multi()
    pipe.set("r2", "other")
    try:
        pipe.execute()
        check(False, "EXEC ran after the watched key was restored")
    except redis.WatchError:
        pass


def case_e_replica_and_aof(c):
    rs = c.redis()
    r = raw(rs)
    fill(r)
    m = c.node("--appendonly", "yes")
    rep = c.node("--replicaof", "%s %d" % (LOCAL, m.port))
    x, y = raw(m), raw(rep)
    yc = cluster.client(rep)
    xc = cluster.client(m)
    wait_for(lambda: info(yc, "replication").get("master_link_status") == "up", 30,
             "the replica's link")
    keys = copy_all(r, x)
    x.restore("s:ttl", 300000, r.dump("s:int"), replace=True)  # relative
    x.restore("gone", 1, r.dump("s:int"), absttl=True)
    wait_for(lambda: info(yc, "replication").get("slave_repl_offset")
             == info(xc, "replication").get("master_repl_offset"), 30, "replica caught up")
    dm = x.execute_command("DEBUG", "DIGEST")
    check(dm == y.execute_command("DEBUG", "DIGEST"), "replica digest")
    compare(x, y, keys, "replica")
    # The TTL went out absolute: exactly the same expiry on the replica.
    check(x.execute_command("PEXPIRETIME", "s:ttl") == y.execute_command("PEXPIRETIME", "s:ttl"),
          "no TTL drift")
    # The AOF replays to the same dataset.
    m.kill()
    m.start()
    wait_for(lambda: raw(m).ping(), 30, "the master back")
    wait_for(lambda: info(cluster.client(m), "persistence").get("loading") == "0", 60,
             "AOF loaded")
    check(raw(m).execute_command("DEBUG", "DIGEST") == dm, "AOF digest")


def case_f_through_proxy(c):
    n = c.node()
    p = c.proxy("%s:%d" % (LOCAL, n.port))
    x = raw(p)
    wait_for(lambda: x.set("k", "v"), 30, "the proxy routing")
    x.rpush("l", 1, 2, 3)
    for k in ("k", "l"):
        d = x.dump(k)
        check(d == raw(n).dump(k), "DUMP through the proxy")
        check(x.restore(k + "2", 0, d), "RESTORE through the proxy")
    check(raw(n).lrange("l2", 0, -1) == [b"1", b"2", b"3"], "restored behind the proxy")
    try:
        x.restore("k", 0, x.dump("k"))
        check(False, "BUSYKEY through the proxy")
    except redis.ResponseError as e:
        check("Target key name already exists" in str(e), str(e))


def case_g_fuzz(c):
    rs = c.redis()
    # Latency tracking gives each command its histogram on first use
    # (about 24 KB): the bound below is about what refused payloads leave.
    n = c.node("--latency-tracking", "no")
    r, x = raw(rs), raw(n)
    fill(r)
    r.rpush("l:z", *range(50))
    r.hset("h:i", mapping={i: i * 3 for i in range(20)})
    payloads = [r.dump(k) for k in r.keys() if len(r.dump(k)) < 20000]
    rnd = random.Random(11)
    outcomes = {}
    xc = cluster.client(n)
    used_before = int(info(xc, "memory")["used_memory"])
    for i in range(FUZZ_ROUNDS):
        p = rnd.choice(payloads)
        body = bytearray(p[:-10])
        how = rnd.randrange(4)
        if how == 0:
            body = body[:rnd.randrange(1, len(body))]
        elif how == 1:
            for _ in range(rnd.randrange(1, 4)):
                j = rnd.randrange(len(body))
                body[j] ^= 1 << rnd.randrange(8)
        elif how == 2:
            j = rnd.randrange(len(body))
            body[j] = rnd.randrange(256)
        else:
            j = rnd.randrange(len(body))
            body[j:j] = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 8)))
        forged = refooter(bytes(body)) if rnd.random() < 0.9 else bytes(body) + p[-10:]
        try:
            x.restore("f", 0, forged, replace=True)
            res = "ok"
            # Whatever was accepted is a whole, readable value.
            value(x, "f")
            x.execute_command("DEBUG", "OBJECT", "f")
        except redis.ResponseError as e:
            res = str(e)
        outcomes[res] = outcomes.get(res, 0) + 1
        if i % 200 == 0:
            check(x.ping(), "the server is up after %d payloads" % i)
    check(x.ping(), "the server is up")
    # Refused payloads leave nothing behind.
    x.delete("f")
    used_after = int(info(xc, "memory")["used_memory"])
    check(used_after < used_before + 256 * 1024,
          "used_memory %d before, %d after" % (used_before, used_after))
    check(outcomes.get("Bad data format", 0) > FUZZ_ROUNDS // 4, "outcomes %r" % outcomes)
    allowed = {"ok", "Bad data format", "DUMP payload version or checksum are wrong"}
    check(set(outcomes) <= allowed, "outcomes %r" % outcomes)



# ---- MIGRATE ------------------------------------------------------------------------


def migrate(src, target, *args):
    """MIGRATE from client src to server target's port; the reply, or the
    error's text."""
    try:
        r = src.execute_command("MIGRATE", LOCAL, target.port, *args)
        return r.decode() if isinstance(r, bytes) else r
    except redis.ResponseError as e:
        return "ERR:" + str(e)


def case_h_migrate_every_type(c):
    """Every type and encoding moves from a node (with a replica and an
    AOF) to a second node, to redis-server, and from redis-server to a
    node: equal values and TTLs at the target, gone from the source and
    from its replica (one DEL propagated), and the AOF replays to the same."""
    rs = c.redis()
    r = raw(rs)
    fill(r)
    want = {k: value(r, k) for k in r.keys()}
    ttls = {k: r.pttl(k) for k in want}
    src = c.node("--appendonly", "yes")
    rep = c.node("--replicaof", "%s %d" % (LOCAL, src.port))
    dst = c.node()
    x, y, d = raw(src), raw(rep), raw(dst)
    yc, xc = cluster.client(rep), cluster.client(src)
    wait_for(lambda: info(yc, "replication").get("master_link_status") == "up", 30,
             "the replica's link")
    keys = copy_all(r, x)
    # redis-server -> Cachely: what the source had arrives whole.
    rs2 = c.redis()
    r2 = raw(rs2)
    check(migrate(r, dst, "", 0, 5000, "COPY", "KEYS", *keys) == "OK", "redis -> cachely")
    compare(r, d, keys, "redis -> cachely")
    d.flushall()
    # Cachely -> Cachely, and the source forgets them.
    half = keys[: len(keys) // 2]
    rest = keys[len(keys) // 2:]
    check(migrate(x, dst, "", 0, 5000, "KEYS", *half) == "OK", "cachely -> cachely")
    for k in half:
        check(value(d, k) == want[k], "%r at the target" % k)
        check((d.pttl(k) < 0) == (ttls[k] < 0), "%r TTL at the target" % k)
        check(x.exists(k) == 0, "%r left the source" % k)
    # Cachely -> redis-server, one key at a time (the cached connection).
    for k in rest:
        check(migrate(x, rs2, k, 0, 5000) == "OK", "cachely -> redis %r" % k)
        check(value(r2, k) == want[k], "%r at redis-server" % k)
    check(x.dbsize() == 0, "the source is empty")
    check(info(xc, "stats").get("migrate_cached_sockets") == "2",
          "two cached connections: %r" % info(xc, "stats").get("migrate_cached_sockets"))
    wait_for(lambda: info(yc, "replication").get("slave_repl_offset")
             == info(xc, "replication").get("master_repl_offset"), 30, "replica caught up")
    check(y.dbsize() == 0, "the replica deleted them too: %d left" % y.dbsize())
    src.kill()
    src.start()
    wait_for(lambda: raw(src).ping(), 30, "the source back")
    wait_for(lambda: info(cluster.client(src), "persistence").get("loading") == "0", 60,
             "AOF loaded")
    check(raw(src).dbsize() == 0, "the AOF replays the deletions")


class _Port:
    """A port nothing listens on, for migrate()."""

    def __init__(self, port):
        self.port = port


def same_replies(c, steps):
    """Run steps(src, target) with a Cachely source and target, and with a
    redis-server source and target; the replies must be equal."""
    got = []
    for kind in ("cachely", "redis"):
        if kind == "cachely":
            src, dst = raw(c.node()), c.node("--requirepass", "pw")
        else:
            src, dst = raw(c.redis()), c.redis()
            raw(dst).config_set("requirepass", "pw")
        got.append(steps(src, dst))
    check(got[0] == got[1], "Cachely / redis-server replies differ:\n  %r\n  %r" % tuple(got))
    return got[0]


def case_i_migrate_options_and_errors(c):
    """COPY, REPLACE, KEYS, AUTH, AUTH2, NOKEY, BUSYKEY, WRONGPASS, a closed
    port, bad arguments: the same replies as a redis-server source."""
    def steps(x, dst):
        t = redis.Redis(host=LOCAL, port=dst.port, password="pw")
        out = []
        x.set("a", "1")
        x.rpush("l", "p", "q")
        x.set("e", "v", px=600000)
        out.append(migrate(x, dst, "a", 0, 2000))  # NOAUTH from the target
        out.append(x.exists("a"))
        out.append(migrate(x, dst, "a", 0, 2000, "AUTH", "bad"))
        out.append(migrate(x, dst, "a", 0, 2000, "AUTH", "pw"))
        out.append((x.exists("a"), t.get("a")))
        x.set("a", "2")
        out.append(migrate(x, dst, "a", 0, 2000, "AUTH2", "default", "pw"))  # BUSYKEY
        out.append(migrate(x, dst, "a", 0, 2000, "COPY", "REPLACE", "AUTH2", "default", "pw"))
        out.append((x.get("a"), t.get("a")))
        out.append(migrate(x, dst, "", 3, 2000, "AUTH", "pw", "KEYS", "l", "nosuch", "e"))
        t3 = redis.Redis(host=LOCAL, port=dst.port, password="pw", db=3)
        out.append((t3.lrange("l", 0, -1), t3.pttl("e") > 590000, x.exists("l", "e")))
        out.append(migrate(x, dst, "nosuch", 0, 2000))
        out.append(migrate(x, dst, "", 0, 2000, "KEYS", "nosuch1", "nosuch2"))
        out.append(migrate(x, dst, "a", 0, 2000, "KEYS", "a"))
        out.append(migrate(x, dst, "a", "x", 2000))
        out.append(migrate(x, dst, "a", 0, "1.5"))
        out.append(migrate(x, dst, "a", 0, 2000, "AUTH"))
        out.append(migrate(x, dst, "a", 0, 2000, "AUTH2", "u"))
        out.append(migrate(x, dst, "a", 0, 2000, "BOGUS"))
        out.append(migrate(x, _Port(1), "a", 0, 500))
        out.append(x.execute_command("COMMAND GETKEYS", "MIGRATE", LOCAL, 1, "", 0, 0,
                                     "AUTH2", "u", "p", "KEYS", "k1", "k2"))
        out.append(x.execute_command("COMMAND GETKEYS", "MIGRATE", LOCAL, 1, "k", 0, 0))
        return out
    same_replies(c, steps)


def case_j_migrate_hung_and_restarted_target(c):
    """A target that stops answering costs the timeout and an IOERR, with
    the key kept; a target restarted since the last MIGRATE (its cached
    connection dead) is reconnected to once, without an error; idle cached
    connections are closed after 10 s."""
    src, dst = c.node(), c.node()
    x, d = raw(src), raw(dst)
    xc = cluster.client(src)
    x.set("k1", "v")
    x.set("k2", "v")
    check(migrate(x, dst, "k1", 0, 1000) == "OK", "first MIGRATE")
    dst.kill()
    dst.start()
    wait_for(lambda: raw(dst).ping(), 30, "the target back")
    check(migrate(x, dst, "k2", 0, 1000) == "OK", "MIGRATE over a dead cached connection")
    check(raw(dst).get("k2") == b"v", "k2 arrived")
    x.set("k3", "v")
    os.kill(dst.proc.pid, signal.SIGSTOP)
    try:
        t0 = time.time()
        got = migrate(x, dst, "k3", 0, 300)
        took = time.time() - t0
    finally:
        os.kill(dst.proc.pid, signal.SIGCONT)
    check(got == "ERR:IOERR error or timeout reading to target instance", got)
    check(0.25 < took < 2.0, "bounded by the timeout: %.2f s" % took)
    check(x.get("k3") == b"v", "the key stays when the target did not answer")
    check(info(xc, "stats").get("migrate_cached_sockets") == "0",
          "the failed connection is not kept")
    check(migrate(x, dst, "k3", 0, 1000) in ("OK", "ERR:Target instance replied with error: "
                                             "BUSYKEY Target key name already exists."),
          "after SIGCONT")
    check(info(xc, "stats").get("migrate_cached_sockets") == "1", "cached again")
    wait_for(lambda: info(xc, "stats").get("migrate_cached_sockets") == "0", 15,
             "the idle connection closed after 10 s")
    # A hash with field expirations cannot travel in Redis 7.0's format:
    # refused before anything is sent, and the key stays.
    x.hset("hf", mapping={"f": "v", "g": "w"})
    x.execute_command("HEXPIRE", "hf", 100, "FIELDS", 1, "f")
    got = migrate(x, dst, "hf", 0, 1000)
    check(got.startswith("ERR:MIGRATE of a hash with field expirations is not supported"), got)
    check(x.hlen("hf") == 2 and raw(dst).exists("hf") == 0, "nothing moved")


def serialized_length(r, k):
    text = r.execute_command("DEBUG", "OBJECT", k)
    text = text if isinstance(text, bytes) else str(text).encode()
    return int(text.split(b"serializedlength:")[1].split()[0])


def restore_sent(target, src, key):
    """MIGRATE COPY REPLACE key from client src to server target; the
    RESTORE line target's MONITOR saw."""
    mon = raw(target).monitor()
    with mon:
        reply = migrate(src, target, key, 0, 5000, "COPY", "REPLACE")
        check(reply == "OK", "MIGRATE %r: %r" % (key, reply))
        while True:
            cmd = mon.next_command()["command"]
            if cmd.startswith("RESTORE"):
                return cmd


def case_k_rdbcompression(c):
    rs = c.redis()
    n = c.node()
    r, x = raw(rs), raw(n)
    fill(x)
    copy_all(x, r)
    keys = (b"s:lzf", b"s:big", b"s:bin", b"s:rand", b"s:int", b"s:notcanon", b"l:small",
            b"l:fat", b"set:int", b"z:long", b"z:small", b"h:small", b"h:long", b"x:tiny")
    for comp in ("yes", "no"):
        x.config_set("rdbcompression", comp)
        r.config_set("rdbcompression", comp)
        # DEBUG OBJECT counts the payload's bytes, compressed or not, as Redis.
        for k in keys:
            a, b = serialized_length(x, k), serialized_length(r, k)
            check(a == b, "rdbcompression %s, %r: serializedlength %d, redis %d"
                  % (comp, k, a, b))
        # MIGRATE sends what DUMP writes: "a" * 100 is c3 09 40 64 ... on Redis.
        x.set("run", b"a" * 100)
        sent = restore_sent(rs, x, "run")
        want = r"RESTORE run 0 \x00\xc3\t@d" if comp == "yes" else r"RESTORE run 0 \x00@daaaa"
        check(sent.startswith(want), "rdbcompression %s: MIGRATE sent %r" % (comp, sent[:80]))


def case_l_rpush_lists_dump_as_redis(c):
    """Lists built by RPUSH, at several fills and sizes, one to thousands of
    nodes (one-byte, integer, word and 50-3,000-byte elements, and a mix):
    DUMP gives redis-server's bytes, Redis 7.0's node packing included."""
    import random
    rnd = random.Random(3)
    rs = c.redis()
    n = c.node()
    r, x = raw(rs), raw(n)
    differ = []
    for fill in (-2, -1, -5, 5, 1):
        for srv in (r, x):
            srv.config_set("list-max-listpack-size", fill)
        for count in (100, 1000, 5000):
            for kind in ("a", "int", "word", "big", "mixed"):
                vals = []
                for _ in range(count):
                    k = kind if kind != "mixed" else rnd.choice(["a", "int", "word", "big"])
                    vals.append({"a": lambda: "a",
                                 "int": lambda: str(rnd.randrange(-10**12, 10**12)),
                                 "word": lambda: "w%d" % rnd.randrange(10**6),
                                 "big": lambda: "x" * rnd.randrange(50, 3000)}[k]())
                for srv in (r, x):
                    srv.delete("l")
                    for j in range(0, count, 500):
                        srv.rpush("l", *vals[j:j + 500])
                if r.dump("l") != x.dump("l"):
                    differ.append((fill, count, kind))
    check(not differ, "%d lists dump differently from redis-server, e.g. %r"
          % (len(differ), differ[:4]))


CASES = [
    ("a", "redis-server DUMP -> Cachely RESTORE: every type and encoding, equal "
          "values, TTLs and encodings", case_a_redis_to_cachely),
    ("b", "Cachely DUMP -> redis-server RESTORE: equal values; payloads "
          "byte-identical, LZF or raw", case_b_cachely_to_redis),
    ("c", "RESTORE options and errors: BUSYKEY, TTL, checksum, version, ABSTTL, "
          "IDLETIME, FREQ, bad data, refusals", case_c_options_and_errors),
    ("d", "restore/del events; WATCH sees a RESTOREd key", case_d_events_and_watch),
    ("e", "a replica and the AOF end with equal digests; no TTL drift",
     case_e_replica_and_aof),
    ("f", "DUMP/RESTORE through a cachely-proxy", case_f_through_proxy),
    ("g", "truncated and bit-flipped payloads: errors, never a crash", case_g_fuzz),
    ("h", "MIGRATE of every type: node -> node, node -> redis-server, redis-server "
          "-> node; the replica and the AOF see the deletions", case_h_migrate_every_type),
    ("i", "MIGRATE's options and errors: the same replies as redis-server",
     case_i_migrate_options_and_errors),
    ("j", "MIGRATE: a hung target (timeout, key kept), a restarted target "
          "(one reconnect), idle connections closed", case_j_migrate_hung_and_restarted_target),
    ("k", "rdbcompression yes and no: DEBUG OBJECT's serializedlength as redis-server's, "
          "MIGRATE's payload compressed or raw", case_k_rdbcompression),
    ("l", "lists built by RPUSH dump as redis-server's bytes, nodes and all",
     case_l_rpush_lists_dump_as_redis),
]


def main():
    return cluster.run_cases(CASES, "dump_", "CACHELY_DUMP_CASES",
                             lambda fn: cluster.run_in(Nodes(), fn))


if __name__ == "__main__":
    sys.exit(main())
