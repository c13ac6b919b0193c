"""Hashes end to end on real cachely-server processes: replication of a
mixed hash load and a full sync of a large hash (DEBUG DIGEST equal),
persistence round trips (SAVE, BGREWRITEAOF) keeping encodings and field
expiries, encoding conversions both ways, and hash-field expiry: active
reclaim (also after RENAME/COPY), HDEL reaching replicas, relative TTLs
replicated as absolute times, a hash deleted with its last field, and the
keyspace events of field expiry.

Run with /usr/bin/python3 (Debian's python3-redis); CACHELY_BUILDDIR names
the build.  Prints "N passed, M failed".  CACHELY_HASH_CASES=a,c runs only
those cases.  CACHELY_SANITIZERS=1 scales the large hash down.
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402
from cluster import LOCAL, check, client, info, wait_for  # noqa: E402

import redis  # noqa: E402

SANITIZERS = os.environ.get("CACHELY_SANITIZERS") == "1"
BIG = 20000 if SANITIZERS else 200000


def digest(r):
    return r.execute_command("DEBUG", "DIGEST")


def synced(m, r):
    moff = info(m, "replication")["master_repl_offset"]
    ri = info(r, "replication")
    return (ri.get("master_link_status") == "up" and ri.get("slave_repl_offset") == moff
            and digest(m) == digest(r))


def wait_synced(m, r, timeout=30):
    wait_for(lambda: synced(m, r), timeout, "replica in sync with the master")


def mixed_load(c, n=300):
    p = c.pipeline(transaction=False)
    for i in range(n):
        p.hset("small:%d" % i, mapping={"f%d" % j: "v%d" % (i * j) for j in range(8)})
        p.hincrby("small:%d" % i, "count", i)
        p.hincrbyfloat("small:%d" % i, "float", "0.1")
        if i % 3 == 0:
            p.hdel("small:%d" % i, "f1", "f2")
        if i % 5 == 0:
            p.execute_command("HPEXPIRE", "small:%d" % i, 600000, "FIELDS", 2, "f3", "f4")
        if i % 7 == 0:
            p.execute_command("HSETEX", "small:%d" % i, "EX", 900, "FIELDS", 1, "tmp", "x")
    # A hashtable by field count, one by value length.
    for j in range(300):
        p.hset("wide", "field:%d" % j, j)
    p.hset("long", "f", "x" * 200)
    p.execute()


def case_a_replication_mixed_and_full_sync(cs):
    m = cs.node()
    mc = client(m)
    mixed_load(mc)
    # A large hash for the full sync, written as many bounded commands.
    p = mc.pipeline(transaction=False)
    for i in range(BIG):
        p.hset("big", "member:%d" % i, "value:%d" % i)
        if i % 5000 == 4999:
            p.execute()
    p.execute()
    check(mc.object("encoding", "big") == "hashtable", "big is a hashtable")
    r = cs.node("--replicaof", "%s %d" % (LOCAL, m.port))
    rc = client(r)
    # Writes while the full sync runs.
    for i in range(200):
        mc.hset("big", "late:%d" % i, i)
        mc.hincrbyfloat("small:1", "float", "1.5")
    wait_synced(mc, rc, timeout=90)
    check(rc.hlen("big") == BIG + 200, "replica big has every field: %d" % rc.hlen("big"))
    for k in ("small:5", "wide", "long", "big"):
        check(rc.object("encoding", k) == mc.object("encoding", k),
              "encoding of %s equal" % k)
    check(mc.object("encoding", "small:5") == "listpackex", "small:5 listpackex")
    check(mc.object("encoding", "small:1") == "listpack", "small:1 listpack")
    # Field TTLs replicated as absolute times.
    t1 = mc.execute_command("HPEXPIRETIME", "small:5", "FIELDS", 2, "f3", "f4")
    t2 = rc.execute_command("HPEXPIRETIME", "small:5", "FIELDS", 2, "f3", "f4")
    check(t1 == t2 and t1[0] > 0, "HPEXPIRETIME equal: %r %r" % (t1, t2))
    # Live writes after the sync, including a field that keeps its TTL
    # through HINCRBYFLOAT (propagated as HSETEX KEEPTTL).
    mc.execute_command("HPEXPIRE", "small:2", 500000, "FIELDS", 1, "float")
    mc.hincrbyfloat("small:2", "float", "2.25")
    mc.hdel("wide", *["field:%d" % j for j in range(290)])
    mc.delete("long")
    wait_synced(mc, rc)
    check(rc.execute_command("HPEXPIRETIME", "small:2", "FIELDS", 1, "float")
          == mc.execute_command("HPEXPIRETIME", "small:2", "FIELDS", 1, "float"),
          "HINCRBYFLOAT kept the field TTL on the replica")
    check(rc.hget("small:2", "float") == mc.hget("small:2", "float"), "float equal")


def case_b_save_and_aof_round_trip(cs):
    n = cs.node("--appendonly", "yes", "--auto-aof-rewrite-percentage", "0")
    c = client(n)
    mixed_load(c)
    c.hset("bin", mapping={"a\x00b": "c\r\nd", "": "empty"})
    before = digest(c)
    encs = {k: c.object("encoding", k) for k in ("small:0", "small:1", "wide", "long")}
    ttl = c.execute_command("HPEXPIRETIME", "small:0", "FIELDS", 3, "f3", "f4", "f5")
    # SAVE, kill -9, restart: the snapshot (the AOF too) brings it back.
    c.execute_command("SAVE")
    c.execute_command("BGREWRITEAOF")
    wait_for(lambda: info(c, "persistence").get("aof_rewrite_in_progress") == "0"
             and info(c, "persistence").get("aof_rewrite_scheduled", "0") == "0",
             30, "AOF rewrite done")
    # Writes after the rewrite go to the AOF tail.
    c.hset("after", "x", 1)
    c.execute_command("HPEXPIRE", "after", 700000, "FIELDS", 1, "x")
    after_t = c.execute_command("HPEXPIRETIME", "after", "FIELDS", 1, "x")
    before = digest(c)
    n.kill()
    n.start()
    c = client(n)
    wait_for(lambda: c.ping(), 30, "restarted node answers")
    check(digest(c) == before, "digest equal after restart")
    for k, e in encs.items():
        check(c.object("encoding", k) == e, "encoding of %s kept: %s" % (k, e))
    check(c.execute_command("HPEXPIRETIME", "small:0", "FIELDS", 3, "f3", "f4", "f5") == ttl,
          "field expiries kept")
    check(c.execute_command("HPEXPIRETIME", "after", "FIELDS", 1, "x") == after_t,
          "expiry set after the rewrite kept")
    check(c.hget("bin", "a\x00b") == "c\r\nd", "binary field kept")


def case_c_active_reclaim_reaches_replica(cs):
    m = cs.node()
    r = cs.node("--replicaof", "%s %d" % (LOCAL, m.port))
    mc, rc = client(m), client(r)
    p = mc.pipeline(transaction=False)
    for i in range(200):
        p.hset("e:%d" % i, mapping={"keep": 1, "gone": 2, "gone2": 3})
        p.execute_command("HPEXPIRE", "e:%d" % i, 300, "FIELDS", 2, "gone", "gone2")
    # Every field expires: the hash itself goes.
    p.hset("all", mapping={"a": 1, "b": 2})
    p.execute_command("HPEXPIRE", "all", 300, "FIELDS", 2, "a", "b")
    # A hashtable with expiring fields.
    for j in range(200):
        p.hset("wide", "f%d" % j, j)
    p.execute_command("HPEXPIRE", "wide", 300, "FIELDS", 3, "f1", "f2", "f3")
    # Renamed and copied after their TTLs were set: still reclaimed.
    p.hset("src", mapping={"a": 1, "t": 2})
    p.execute_command("HPEXPIRE", "src", 300, "FIELDS", 1, "t")
    p.execute()
    mc.rename("src", "renamed")
    mc.copy("renamed", "copied")
    wait_synced(mc, rc)
    check(rc.hlen("e:0") == 3, "replica holds the fields before expiry")
    # Nobody touches the keys on the master: only the active cycle can
    # reclaim them, and the replica learns of it by HDEL only.
    wait_for(lambda: all(rc.hlen("e:%d" % i) == 1 for i in range(0, 200, 20))
             and rc.exists("all") == 0 and rc.hlen("wide") == 197
             and rc.hlen("renamed") == 1 and rc.hlen("copied") == 1,
             20, "expired fields reclaimed and replicated")
    wait_synced(mc, rc)
    check(mc.exists("all") == 0, "hash with no field left is deleted")
    # Replicas hide expired fields at once even before the HDEL arrives.
    mc.hset("hide", mapping={"a": 1, "b": 2})
    mc.execute_command("HPEXPIRE", "hide", 200, "FIELDS", 1, "a")
    wait_synced(mc, rc)
    mc.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 0)
    time.sleep(0.3)
    check(rc.hget("hide", "a") is None, "replica hides an expired field")
    check(rc.hgetall("hide") == {"b": "2"}, "HGETALL on the replica hides it")
    mc.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 1)


def case_d_lazy_reclaim_and_relative_ttl(cs):
    m = cs.node()
    r = cs.node("--replicaof", "%s %d" % (LOCAL, m.port))
    mc, rc = client(m), client(r)
    mc.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 0)
    mc.hset("h", mapping={"a": 1, "b": 2})
    mc.execute_command("HEXPIRE", "h", 100, "FIELDS", 1, "a")
    mc.execute_command("HPEXPIRE", "h", 50, "FIELDS", 1, "b")
    wait_synced(mc, rc)
    t = rc.execute_command("HPEXPIRETIME", "h", "FIELDS", 1, "a")[0]
    check(t == mc.execute_command("HPEXPIRETIME", "h", "FIELDS", 1, "a")[0],
          "relative TTL replicated as the same absolute time")
    time.sleep(0.1)
    # Active expiry is off: the read reclaims b and the replica gets HDEL.
    check(mc.hgetall("h") == {"a": "1"}, "b expired on read")
    wait_synced(mc, rc)
    check(rc.hlen("h") == 1, "replica received the HDEL from the lazy reclaim")
    # HEXPIRE with a time in the past deletes (code 2) and replicates HDEL.
    check(mc.execute_command("HEXPIREAT", "h", 1, "FIELDS", 2, "a", "zz") == [2, -2],
          "past time deletes")
    wait_synced(mc, rc)
    check(rc.exists("h") == 0, "the emptied hash is gone on the replica")


def case_e_encoding_conversions(cs):
    m = cs.node("--hash-max-listpack-entries", "4", "--hash-max-listpack-value", "8")
    c = client(m)
    c.hset("n", mapping={"a": 1, "b": 2, "c": 3, "d": 4})
    check(c.object("encoding", "n") == "listpack", "4 fields: listpack")
    c.hset("n", "e", 5)
    check(c.object("encoding", "n") == "hashtable", "5 fields: hashtable")
    c.hset("v", "f", "12345678")
    check(c.object("encoding", "v") == "listpack", "8 bytes: listpack")
    c.hset("v", "f", "123456789")
    check(c.object("encoding", "v") == "hashtable", "9 bytes: hashtable")
    # Back to listpack: a reload rebuilds small hashes compactly.
    c.hdel("n", "a", "b", "c")
    c.hset("v", "f", "1")
    c.execute_command("SAVE")
    m.kill()
    m.start()
    c = client(m)
    check(c.object("encoding", "n") == "listpack", "reloaded small hash: listpack")
    check(c.object("encoding", "v") == "listpack", "reloaded short values: listpack")
    # Field expiry on a listpack: listpackex; on a hashtable: still hashtable.
    c.execute_command("HPEXPIRE", "n", 100000, "FIELDS", 1, "d")
    check(c.object("encoding", "n") == "listpackex", "listpackex with a TTL")
    c.hset("n", mapping={"x": 1, "y": 2, "z": 3})
    check(c.object("encoding", "n") == "hashtable", "listpackex -> hashtable")
    check(c.execute_command("HPEXPIRETIME", "n", "FIELDS", 1, "d")[0] > 0,
          "TTL kept across the conversion")


def err(fn, *args):
    try:
        fn(*args)
    except redis.ResponseError as e:
        return str(e)
    return None


def case_f_field_expiry_replies(cs):
    m = cs.node()
    c = client(m)
    x = c.execute_command
    c.hset("h", mapping={"a": 1, "b": 2, "c": 3})
    check(x("HEXPIRE", "h", 100, "FIELDS", 2, "a", "zz") == [1, -2], "HEXPIRE codes")
    check(x("HEXPIRE", "h", 50, "NX", "FIELDS", 2, "a", "b") == [0, 1], "NX")
    check(x("HEXPIRE", "h", 50, "XX", "FIELDS", 2, "a", "c") == [1, 0], "XX")
    check(x("HEXPIRE", "h", 40, "GT", "FIELDS", 2, "a", "c") == [0, 0], "GT (none = inf)")
    check(x("HEXPIRE", "h", 40, "LT", "FIELDS", 2, "a", "c") == [1, 1], "LT (none = inf)")
    check(x("HTTL", "h", "FIELDS", 2, "a", "zz") == [40, -2], "HTTL")
    check(0 < x("HPTTL", "h", "FIELDS", 1, "a")[0] <= 40000, "HPTTL")
    now = int(time.time())
    check(abs(x("HEXPIRETIME", "h", "FIELDS", 1, "a")[0] - (now + 40)) <= 2, "HEXPIRETIME")
    check(x("HPERSIST", "h", "FIELDS", 3, "a", "a", "zz") == [1, -1, -2], "HPERSIST")
    check(x("HTTL", "nokey", "FIELDS", 1, "a") == [-2], "missing key")
    check(c.object("encoding", "h") == "listpackex", "listpackex")
    check(err(x, "HEXPIRE", "h", 10, "FIELDS", 0, "a")
          == "Parameter `numFields` should be greater than 0", "numFields 0")
    check(err(x, "HEXPIRE", "h", 10, "FIELDS", 2, "a")
          == "The `numfields` parameter must match the number of arguments", "mismatch")
    check(err(x, "HEXPIRE", "h", 10, "FIELD", 1, "a")
          == "Mandatory argument FIELDS is missing or not at the right position", "FIELDS")
    check(err(x, "HEXPIRE", "h", -1, "FIELDS", 1, "a")
          == "invalid expire time in 'hexpire' command", "negative time")
    check(err(x, "HEXPIRE", "h", "x", "FIELDS", 1, "a")
          == "value is not an integer or out of range", "not an integer")
    c.set("s", "v")
    check(err(x, "HEXPIRE", "s", 10, "FIELDS", 1, "a").startswith("WRONGTYPE"), "WRONGTYPE")
    # HSETEX / HGETEX / HGETDEL
    check(x("HSETEX", "e", "FNX", "EX", 100, "FIELDS", 2, "p", 1, "q", 2) == 1, "HSETEX FNX")
    check(x("HSETEX", "e", "FNX", "FIELDS", 1, "p", 3) == 0, "FNX fails on an existing field")
    check(x("HSETEX", "e", "FXX", "KEEPTTL", "FIELDS", 1, "p", 4) == 1, "FXX KEEPTTL")
    check(x("HTTL", "e", "FIELDS", 1, "p")[0] > 0, "KEEPTTL kept")
    check(x("HSETEX", "e", "FIELDS", 1, "p", 5) == 1 and x("HTTL", "e", "FIELDS", 1, "p") == [-1],
          "HSETEX without an expiry clears it")
    check(x("HGETEX", "e", "PX", 100000, "FIELDS", 2, "p", "nope") == ["5", None], "HGETEX")
    check(x("HTTL", "e", "FIELDS", 1, "p")[0] > 0, "HGETEX set the TTL")
    check(x("HGETEX", "e", "PERSIST", "FIELDS", 1, "p") == ["5"]
          and x("HTTL", "e", "FIELDS", 1, "p") == [-1], "HGETEX PERSIST")
    check(err(x, "HGETEX", "e", "EX", 1, "PX", 1, "FIELDS", 1, "p") is not None, "two expiries")
    check(err(x, "HSETEX", "e", "FIELDS", 1, "p") is not None, "HSETEX without a value")
    check(x("HGETDEL", "e", "FIELDS", 3, "p", "zz", "q") == ["5", None, "2"], "HGETDEL")
    check(c.exists("e") == 0, "HGETDEL of the last fields deletes the key")
    # HSCAN NOVALUES (7.4)
    c.hset("n", mapping={"a": 1, "b": 2})
    raw = cluster.Raw(m.port)
    got = raw.call("HSCAN", "n", "0", "NOVALUES")
    raw.close()
    check(got == [b"0", [b"a", b"b"]], "HSCAN NOVALUES: %r" % got)


def case_g_field_expiry_keyspace_events(cs):
    """hexpire/hpersist/hdel from the commands, and hexpired (then del when
    the hash empties) for fields expired by the active cycle or found
    expired on access (Redis 7.4's events)."""
    m = cs.node()
    c = client(m)
    x = c.execute_command
    x("CONFIG", "SET", "notify-keyspace-events", "KEA")
    sub = c.pubsub()
    sub.psubscribe("__key*__:*")
    wait_for(lambda: sub.get_message(timeout=0.1), 5, "psubscribe confirmation")

    def events(n, timeout=5):
        """The next n events as (key, event), each checked on both channels."""
        out = []
        deadline = time.time() + timeout
        while len(out) < 2 * n and time.time() < deadline:
            msg = sub.get_message(timeout=0.1)
            if msg is not None and msg["type"] == "pmessage":
                out.append((msg["channel"], msg["data"]))
        pairs = []
        for space, event in zip(out[0::2], out[1::2]):
            key = space[0][len("__keyspace@0__:"):]
            check(space[0].startswith("__keyspace@0__:")
                  and event == ("__keyevent@0__:" + space[1], key),
                  "keyspace/keyevent pair %r %r" % (space, event))
            pairs.append((key, space[1]))
        return pairs

    def quiet():
        msg = sub.get_message(timeout=0.3)
        check(msg is None, "unexpected event %r" % (msg,))

    c.hset("h", mapping={"a": 1, "b": 2, "c": 3})
    check(events(1) == [("h", "hset")], "hset")
    x("HEXPIRE", "h", 100, "FIELDS", 2, "a", "zz")
    check(events(1) == [("h", "hexpire")], "hexpire")
    x("HPERSIST", "h", "FIELDS", 1, "a")
    check(events(1) == [("h", "hpersist")], "hpersist")
    x("HPERSIST", "h", "FIELDS", 1, "a")
    x("HEXPIRE", "h", 100, "NX", "FIELDS", 1, "nofield")
    quiet()
    # The active cycle: hexpired, with no command touching the key.
    x("HPEXPIRE", "h", 50, "FIELDS", 1, "a")
    check(events(1) == [("h", "hexpire")], "hexpire (ms)")
    check(events(1) == [("h", "hexpired")], "hexpired by the active cycle")
    check(c.hlen("h") == 2, "a reclaimed")
    # On access, with the active cycle off.
    x("DEBUG", "SET-ACTIVE-EXPIRE", 0)
    x("HPEXPIRE", "h", 50, "FIELDS", 1, "b")
    check(events(1) == [("h", "hexpire")], "hexpire b")
    time.sleep(0.2)
    quiet()
    check(c.hget("h", "b") is None, "b expired")
    check(events(1) == [("h", "hexpired")], "hexpired on access")
    # The last field: hexpired, then del.
    x("HPEXPIRE", "h", 50, "FIELDS", 1, "c")
    check(events(1) == [("h", "hexpire")], "hexpire c")
    time.sleep(0.2)
    check(c.hlen("h") == 0, "the emptied hash is gone")
    check(events(2) == [("h", "hexpired"), ("h", "del")], "hexpired then del on access")
    # The active cycle emptying a hash.
    x("DEBUG", "SET-ACTIVE-EXPIRE", 1)
    c.hset("h2", "f", 1)
    x("HPEXPIRE", "h2", 50, "FIELDS", 1, "f")
    check(events(4) == [("h2", "hset"), ("h2", "hexpire"), ("h2", "hexpired"), ("h2", "del")],
          "hexpired then del by the active cycle")
    # A time already past deletes the field: hdel (and del with the last).
    c.hset("h3", mapping={"a": 1, "b": 2})
    x("HEXPIREAT", "h3", 1, "FIELDS", 1, "a")
    check(events(2) == [("h3", "hset"), ("h3", "hdel")], "past time: hdel")
    x("HPEXPIREAT", "h3", 1, "FIELDS", 1, "b")
    check(events(2) == [("h3", "hdel"), ("h3", "del")], "past time, last field: hdel, del")
    quiet()
    sub.close()


CASES = [
    ("a", "replication: mixed load, full sync of a large hash, digests equal",
     case_a_replication_mixed_and_full_sync),
    ("b", "SAVE / BGREWRITEAOF + restart keep values, encodings, field TTLs",
     case_b_save_and_aof_round_trip),
    ("c", "active field reclaim (renamed/copied too) reaches replicas as HDEL",
     case_c_active_reclaim_reaches_replica),
    ("d", "lazy reclaim, relative TTLs replicated as absolute, past time deletes",
     case_d_lazy_reclaim_and_relative_ttl),
    ("e", "encoding conversions by count and length, back after reload",
     case_e_encoding_conversions),
    ("f", "field-expiry commands: codes, conditions, errors, HSETEX/HGETEX/HGETDEL",
     case_f_field_expiry_replies),
    ("g", "field expiry's keyspace events: hexpire, hpersist, hexpired (active, on access), del",
     case_g_field_expiry_keyspace_events),
]


def main():
    return cluster.run_cases(CASES, "hash_", "CACHELY_HASH_CASES",
                             lambda fn: cluster.run_in(cluster.Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
