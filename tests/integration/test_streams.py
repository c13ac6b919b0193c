"""Streams end to end: blocking XREAD (with `$` kept across re-runs) and
XREADGROUP (FIFO, timeouts, woken by XADD, a deleted stream / destroyed
group while waiting), what XADD and XREADGROUP propagate, replication of
consumer groups (DEBUG DIGEST equal on master and replica after a mixed
load and through a full sync), and persistence of consumer groups (SAVE +
restart, BGREWRITEAOF + restart keep every message pending or acknowledged).

Each case starts its own cachely-server processes on free 127.0.0.1 ports.
Run with /usr/bin/python3; CACHELY_BUILDDIR names the build.  Prints
"N passed, M failed".  CACHELY_STREAM_CASES=a,c runs only those.
"""
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402
from cluster import LOCAL, Raw, check, info, wait_for  # noqa: E402

AOF = "appendonly.cachely"


def blocked(r):
    return int(info(r, "clients")["blocked_clients"])


def wait_blocked(r, n):
    wait_for(lambda: blocked(r) == n, 10, "%d blocked clients" % n)


def digest(r):
    return r.execute_command("DEBUG", "DIGEST")


def group_state(r, key, group):
    """Everything about a group that must survive: the PEL with owners and
    delivery counts, consumers, last-delivered-id, entries-read."""
    pend = r.xpending_range(key, group, "-", "+", 1000000)
    pel = [(p["message_id"], p["consumer"], p["times_delivered"]) for p in pend]
    groups = {g["name"]: (g["last-delivered-id"], g["entries-read"], g["consumers"],
                          g["pending"]) for g in r.xinfo_groups(key)}
    return pel, groups[group]


def load_groups(r, key="s", n=2000):
    p = r.pipeline(transaction=False)
    for i in range(1, n + 1):
        p.xadd(key, {"f1": "v%d" % i, "f2": i, "f3": "x"}, id="%d-1" % i)
    p.execute()
    r.xgroup_create(key, "g1", id="0")
    r.xgroup_create(key, "g2", id="0")
    for i in range(20):
        r.xreadgroup("g1", "c%d" % (i % 3), {key: ">"}, count=50)
    r.xreadgroup("g2", "solo", {key: ">"}, count=300, noack=True)
    acks = ["%d-1" % i for i in range(1, 800, 3)]
    r.xack(key, "g1", *acks)
    r.xclaim(key, "g1", "thief", 0, ["2-1", "5-1", "11-1"])
    r.xdel(key, "8-1", "9-1")
    r.xautoclaim(key, "g1", "auto", 0, "100-1", count=20)
    r.xreadgroup("g1", "c1", {key: "0"}, count=10)   # history: delivery counts move
    r.execute_command("XGROUP", "CREATECONSUMER", key, "g1", "idle-one")


# ---- blocking --------------------------------------------------------------------


def case_a_xread_block_dollar(c):
    n = c.node("--save", "")
    r = cluster.client(n)
    r.xadd("s", {"a": 1}, id="1-0")
    w = Raw(n.port)
    w.send(("XREAD", "BLOCK", 0, "STREAMS", "s", "nokey", "$", "$"))
    wait_blocked(r, 1)
    # An unrelated write to the key that adds nothing after `$` ... there is
    # none for streams; a second XADD must be what is served, not skipped.
    r.xadd("s", {"b": 2}, id="2-0")
    got = w.reply()
    check(got == [[b"s", [[b"2-0", [b"b", b"2"]]]]], "served the entry after $: %r" % got)
    # `$` is what the stream held when the command first blocked: two
    # pipelined XADDs before the waiter runs again both count.
    w.send(("XREAD", "BLOCK", 0, "STREAMS", "s", "$"))
    wait_blocked(r, 1)
    p = r.pipeline(transaction=False)
    p.xadd("s", {"c": 3}, id="3-0")
    p.xadd("s", {"d": 4}, id="4-0")
    p.execute()
    got = w.reply()
    check(got[0][1][0][0] == b"3-0", "first entry after the original $: %r" % got)
    # A key created while waiting.
    w.send(("XREAD", "BLOCK", 0, "STREAMS", "fresh", "$"))
    wait_blocked(r, 1)
    r.xadd("fresh", {"x": 1}, id="5-0")
    check(w.reply() == [[b"fresh", [[b"5-0", [b"x", b"1"]]]]], "new key served")
    # Timeout: a null array after about the time asked.
    t0 = time.time()
    check(r.xread({"s": "$"}, block=100) == [], "timeout reply")
    check(time.time() - t0 >= 0.09, "waited")
    # XREAD keeps waiting when the stream is deleted.
    w.send(("XREAD", "BLOCK", 0, "STREAMS", "s", "$"))
    wait_blocked(r, 1)
    r.delete("s")
    time.sleep(0.05)
    check(blocked(r) == 1, "XREAD still waits after DEL")
    # As in Redis, the waiter still reads after the `$` it resolved (4-0).
    r.xadd("s", {"e": 5}, id="1-0")
    time.sleep(0.05)
    check(blocked(r) == 1, "an entry below the original $ is not served")
    r.xadd("s", {"e": 6}, id="10-0")
    check(w.reply() == [[b"s", [[b"10-0", [b"e", b"6"]]]]], "served after re-creation")


def case_b_xreadgroup_block(c):
    n = c.node("--save", "")
    r = cluster.client(n)
    r.xgroup_create("q", "g", id="$", mkstream=True)
    ws = []
    for i in range(3):
        w = Raw(n.port)
        w.send(("XREADGROUP", "GROUP", "g", "w%d" % i, "BLOCK", 0, "COUNT", 1,
                "STREAMS", "q", ">"))
        wait_blocked(r, i + 1)
        ws.append(w)
    for i in range(3):
        r.xadd("q", {"job": i}, id="%d-0" % (i + 1))
    got = [w.reply() for w in ws]
    check([g[0][1][0][0] for g in got] == [b"1-0", b"2-0", b"3-0"],
          "one job each, longest-waiting first: %r" % got)
    pend = r.xpending("q", "g")
    check(pend["pending"] == 3, "three pending")
    # A destroyed group wakes its waiter with NOGROUP.
    w = Raw(n.port)
    w.send(("XREADGROUP", "GROUP", "g", "late", "BLOCK", 0, "STREAMS", "q", ">"))
    wait_blocked(r, 1)
    r.xgroup_destroy("q", "g")
    rep = w.reply()
    check("NOGROUP" in str(rep), "NOGROUP on destroy: %r" % rep)
    # A deleted stream wakes XREADGROUP with an error too.
    r.xgroup_create("q", "g", id="$")
    w.send(("XREADGROUP", "GROUP", "g", "late", "BLOCK", 0, "STREAMS", "q", ">"))
    wait_blocked(r, 1)
    r.delete("q")
    rep = w.reply()
    check("UNBLOCKED the stream key no longer exists" in str(rep), "error on DEL: %r" % rep)
    check(blocked(r) == 0, "nobody left waiting")
    # Timeout.
    r.xgroup_create("q", "g", id="$", mkstream=True)
    check(r.xreadgroup("g", "c", {"q": ">"}, block=50) == [], "timeout reply")


def case_c_effects(c):
    m = c.node("--save", "")
    rep = c.node("--save", "", "--replicaof", LOCAL, m.port)
    mr, rr = cluster.client(m), cluster.client(rep)
    wait_for(lambda: info(rr, "replication")["master_link_status"] == "up", 30, "link up")
    mon = Raw(rep.port)
    # Auto IDs reach the replica as the master generated them.
    for i in range(300):
        mr.xadd("a", {"i": i}, maxlen=50, approximate=True)
    mr.xadd("a", {"i": "x"}, id="*", minid="0-1")
    wait_for(lambda: digest(rr) == digest(mr), 30, "equal digests after XADD ~")
    check(rr.xrange("a") == mr.xrange("a"), "same entries and IDs")
    mr.xgroup_create("a", "g", id="0")
    mr.xreadgroup("g", "c1", {"a": ">"}, count=10)
    mr.xreadgroup("g", "c2", {"a": ">"}, count=5, noack=True)
    mr.xack("a", "g", mr.xrange("a", count=1)[0][0])
    wait_for(lambda: digest(rr) == digest(mr), 30, "equal digests after XREADGROUP")
    check(group_state(rr, "a", "g") == group_state(mr, "a", "g"), "group state replicated")
    mon.close()


def case_f_regressions(c):
    m = c.node("--save", "")
    rep = c.node("--save", "", "--replicaof", LOCAL, m.port)
    mr, rr = cluster.client(m), cluster.client(rep)
    wait_for(lambda: info(rr, "replication")["master_link_status"] == "up", 30, "link up")
    mr.xadd("s", {"a": 1}, id="1-0")
    mr.xgroup_create("s", "g", id="0")
    mr.xreadgroup("g", "c", {"s": ">"})
    # XAUTOCLAIM with a huge COUNT sized its reply buffers by COUNT.
    got = mr.execute_command("XAUTOCLAIM", "s", "g", "d", 0, 0, "COUNT", 500000000000,
                             "JUSTID")
    check(got[0] == "0-0" and len(got[1]) == 1, "huge COUNT answered: %r" % got)
    # A history read that delivers nothing changes nothing, so it must not
    # reach the replication stream.
    mr.xack("s", "g", "1-0")
    wait_for(lambda: digest(rr) == digest(mr), 30, "in sync")
    off = int(info(mr, "replication")["master_repl_offset"])
    check(mr.xreadgroup("g", "d", {"s": "0"}) == [["s", []]], "empty history")
    time.sleep(0.05)
    check(int(info(mr, "replication")["master_repl_offset"]) == off,
          "empty history read propagated nothing")


def case_g_type_changed(c):
    """A blocked reader's key replaced by another type (ext suite
    stream-cgroups 'Blocking XREADGROUP: key type changed with SET' / 'with
    transaction'): Redis 7.0 unblocks XREADGROUP with 'the stream key no
    longer exists' and keeps XREAD waiting for a stream there.  Before, both
    were woken with WRONGTYPE."""
    n = c.node("--save", "")
    r = cluster.client(n)
    for how in ("set", "multi"):
        r.delete("q")
        r.xadd("q", {"f": "v"}, id="666-0")
        r.xgroup_create("q", "g", id="$")
        w = Raw(n.port)
        w.send(("XREADGROUP", "GROUP", "g", "Alice", "BLOCK", 0, "STREAMS", "q", ">"))
        wait_blocked(r, 1)
        if how == "set":
            r.set("q", "val1")
        else:
            p = r.pipeline(transaction=True)
            p.delete("q")
            p.sadd("q", "e1")
            p.execute()
        rep = w.reply()
        check("UNBLOCKED the stream key no longer exists" in str(rep),
              "XREADGROUP woken by %s: %r" % (how, rep))
        check(blocked(r) == 0, "nobody left waiting after %s" % how)
        w.close()
    # XREAD waits on through a SET, and reads the stream created after it.
    r.delete("q")
    r.xadd("q", {"f": "v"}, id="1-1")
    w = Raw(n.port)
    w.send(("XREAD", "BLOCK", 0, "STREAMS", "q", "$"))
    wait_blocked(r, 1)
    r.set("q", "x")
    time.sleep(0.1)
    check(blocked(r) == 1, "XREAD still waiting after SET")
    r.delete("q")
    r.xadd("q", {"f": "v2"}, id="2-1")
    rep = w.reply()
    check(str(rep).find("2-1") >= 0 and "WRONGTYPE" not in str(rep), "XREAD got the new entry: %r" % rep)
    w.close()


def case_h_lazyfree_counts(c):
    """INFO lazyfreed_objects counts a big stream UNLINKed in the
    background, not a small one, and CONFIG RESETSTAT zeroes it (ext suite
    lazyfree 'lazy free a stream with all types of metadata' / '... with
    deleted cgroup').  Before, INFO showed 0 whatever the thread freed."""
    n = c.node("--save", "")
    r = cluster.client(n)
    r.execute_command("CONFIG", "RESETSTAT")
    r.execute_command("CONFIG", "SET", "stream-node-max-entries", 5)
    for j in range(1000):
        r.xadd("big", {"foo" if j % 10 else "bar": j})
    r.xgroup_create("big", "g", id="0")
    r.xreadgroup("g", "Alice", {"big": ">"}, count=2)
    r.unlink("big")
    wait_for(lambda: info(r, "memory")["lazyfree_pending_objects"] == "0", 10, "lazyfree done")
    check(info(r, "memory")["lazyfreed_objects"] == "1",
          "big stream freed lazily: %r" % info(r, "memory")["lazyfreed_objects"])
    r.execute_command("CONFIG", "RESETSTAT")
    r.xadd("small", {"a": "b"})
    r.xgroup_create("small", "bla", id="$")
    r.xgroup_destroy("small", "bla")
    r.unlink("small")
    wait_for(lambda: info(r, "memory")["lazyfree_pending_objects"] == "0", 10, "lazyfree done")
    check(info(r, "memory")["lazyfreed_objects"] == "0", "small stream freed at once")


# ---- replication and persistence ----------------------------------------------------


def case_d_full_sync_and_load(c):
    m = c.node("--save", "")
    mr = cluster.client(m, timeout=60)
    load_groups(mr, n=5000)
    rep = c.node("--save", "", "--replicaof", LOCAL, m.port)
    rr = cluster.client(rep, timeout=60)
    wait_for(lambda: info(rr, "replication")["master_link_status"] == "up", 60, "link up")
    wait_for(lambda: digest(rr) == digest(mr), 60, "equal digests after the full sync")
    for g in ("g1", "g2"):
        check(group_state(rr, "s", g) == group_state(mr, "s", g), "group %s after full sync" % g)
    # A mixed load through the stream.
    load_groups(mr, key="t", n=1000)
    mr.xtrim("s", maxlen=4000)
    mr.execute_command("XSETID", "s", "99999-0", "ENTRIESADDED", 100000, "MAXDELETEDID", "50-0")
    mr.execute_command("XGROUP", "SETID", "s", "g2", "10-1", "ENTRIESREAD", 10)
    mr.execute_command("XGROUP", "DELCONSUMER", "s", "g1", "c2")
    wait_for(lambda: digest(rr) == digest(mr), 30, "equal digests after the load")
    for k, g in (("t", "g1"), ("t", "g2"), ("s", "g1"), ("s", "g2")):
        check(group_state(rr, k, g) == group_state(mr, k, g), "%s/%s after the load" % (k, g))
    check(rr.xinfo_stream("s")["entries-added"] == 100000, "XSETID replicated")


def case_e_save_and_aof_rewrite(c):
    data = tempfile.mkdtemp(prefix="cachely-streams-")
    try:
        n = c.node("--dir", data, "--save", "", "--appendonly", "yes",
                   "--auto-aof-rewrite-percentage", "0")
        r = cluster.client(n, timeout=60)
        load_groups(r, n=3000)
        r.xadd("empty", {"a": 1}, id="7-7")
        r.xdel("empty", "7-7")
        r.xgroup_create("empty", "g", id="$")
        states = {g: group_state(r, "s", g) for g in ("g1", "g2")}
        d = digest(r)
        r.execute_command("BGREWRITEAOF")
        wait_for(lambda: info(r, "persistence")["aof_rewrite_in_progress"] == "0"
                 and info(r, "persistence").get("aof_rewrites", "0") != "0", 60, "rewrite done")
        r.xreadgroup("g1", "after", {"s": ">"}, count=3)
        d2 = digest(r)
        check(d2 != d, "the digest follows the change")
        states = {g: group_state(r, "s", g) for g in ("g1", "g2")}
        n.kill()
        n.start()
        r = cluster.client(n, timeout=60)
        check(digest(r) == d2, "AOF (rewritten) reload: same digest")
        for g in ("g1", "g2"):
            check(group_state(r, "s", g) == states[g], "group %s after AOF reload" % g)
        check(r.xinfo_stream("empty")["last-generated-id"] == "7-7"
              and r.xlen("empty") == 0, "empty stream kept its last ID")
        check(r.execute_command("SAVE") in ("OK", True), "save")
        n.kill()
        os.remove(os.path.join(data, AOF))
        s = c.node("--dir", data, "--save", "")
        r = cluster.client(s, timeout=60)
        check(digest(r) == d2, "snapshot reload: same digest")
        for g in ("g1", "g2"):
            check(group_state(r, "s", g) == states[g], "group %s after snapshot reload" % g)
    finally:
        shutil.rmtree(data, ignore_errors=True)


def case_g_xreadgroup_propagation(c):
    """Regression (Redis's unit/multi "MULTI propagation of XREADGROUP"): an
    XREADGROUP that created its consumer also sent XGROUP CREATECONSUMER
    before its XCLAIMs; Redis 7.0 sends it only for NOACK reads (which leave
    no XCLAIM to create the consumer on the replica).  (Our XGROUP SETID
    after the XCLAIMs, which Redis 7.0.15 sends only for NOACK, is kept: it
    carries entries_read.)"""
    m = c.node("--save", "")
    mr = cluster.client(m)
    mr.xadd("s", {"f": "1"}, id="1-1")
    mr.xgroup_create("s", "g", id="0")
    raw = Raw(m.port)
    raw.send(("SYNC",))
    hdr = raw.line().lstrip(b"\n")
    raw.exact(int(hdr[1:]))
    mr.xreadgroup("g", "c1", {"s": ">"})
    mr.xadd("s", {"f": "2"}, id="2-1")
    mr.xreadgroup("g", "c2", {"s": ">"}, noack=True)
    mr.set("end", "1")
    deadline = time.time() + 10
    while b"end" not in raw.buf and time.time() < deadline:
        raw.fill()
    text = raw.buf
    check(b"CREATECONSUMER\r\n$1\r\ns\r\n$1\r\ng\r\n$2\r\nc1" not in text,
          "c1 (read with a PEL) sent CREATECONSUMER: %r" % text)
    check(b"CREATECONSUMER\r\n$1\r\ns\r\n$1\r\ng\r\n$2\r\nc2" in text,
          "the NOACK read sends CREATECONSUMER: %r" % text)
    raw.close()


CASES = [
    ("f", "regressions: XAUTOCLAIM huge COUNT, empty history read", case_f_regressions),
    ("a", "XREAD BLOCK: $ kept across re-runs, new key, timeout, DEL", case_a_xread_block_dollar),
    ("b", "XREADGROUP BLOCK: FIFO, NOGROUP on destroy/DEL, timeout", case_b_xreadgroup_block),
    ("g", "a blocked reader's key replaced by another type", case_g_type_changed),
    ("h", "INFO lazyfreed_objects after UNLINK of a big and a small stream",
     case_h_lazyfree_counts),
    ("c", "XADD ~ and XREADGROUP effects on a replica", case_c_effects),
    ("d", "consumer groups through a full sync and a mixed load", case_d_full_sync_and_load),
    ("e", "consumer groups through BGREWRITEAOF + restart and SAVE + restart",
     case_e_save_and_aof_rewrite),
    ("g", "XREADGROUP sends CREATECONSUMER only for NOACK, as Redis 7.0",
     case_g_xreadgroup_propagation),
]


def main():
    return cluster.run_cases(CASES, "", "CACHELY_STREAM_CASES",
                             lambda fn: cluster.run_in(cluster.Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
