"""Collections through cachely-proxy: non-blocking commands are routed by the
command table (their keys, movable ones included), multi-key commands whose
keys live in different shard groups answer CROSSSLOT as on Redis Cluster, and
blocking commands run on the owning master, multiplexed on the pooled
connections (test_proxy_blockmux.py) or, with blocking-mux no, on dedicated
connections from a bounded pool per node (blocking-pool-size): the client's
timeout is the node's, a client that leaves frees its connection, an exhausted pool answers
an error at once, and a master killed while a client is blocked answers it an
error (never a hang).

Run with /usr/bin/python3 (Debian's python3-redis).  Prints "N passed, M
failed"."""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402
import test_proxy as tp  # noqa: E402
from cluster import Err, Raw, check, client, wait_for  # noqa: E402

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


def node_blocked(n):
    return int(cluster.info(client(n), "clients")["blocked_clients"])


def case_blocking_commands_on_dedicated_connections(c):
    m, reps = c.group()
    p = c.proxy(m.addr)
    pc = client(p)
    # Served: a worker blocks, a producer pushes through the same proxy.
    w = Raw(p.port)
    w.send(("BLPOP", "q", "0"))
    wait_for(lambda: node_blocked(m) == 1, 10, "the BLPOP blocked on the master")
    check(pc.ping() is True, "other sessions go on while one is blocked")
    check(pc.rpush("q", "job1") == 1, "RPUSH")
    check(w.reply() == [b"q", b"job1"], "BLPOP served through the proxy")
    # Every form of the family.
    pc.rpush("q", "a", "b", "c", "d")
    check(list(pc.execute_command("BRPOP", "q", "1")) == ["q", "d"], "BRPOP")
    check(pc.execute_command("BLMOVE", "q", "r", "LEFT", "LEFT", "0") == "a", "BLMOVE")
    check(pc.execute_command("BRPOPLPUSH", "q", "r", "0") == "c", "BRPOPLPUSH")
    check(pc.execute_command("BLMPOP", "0", "1", "q", "LEFT") == ["q", ["b"]], "BLMPOP")
    pc.zadd("z", {"m": 1})
    check(list(pc.execute_command("BZPOPMIN", "z", "0"))[:2] == ["z", "m"], "BZPOPMIN")
    # The client's timeout is honoured: a nil after it, not before.
    t0 = time.time()
    check(pc.execute_command("BLPOP", "empty", "0.5") is None, "BLPOP timed out with nil")
    took = time.time() - t0
    check(0.45 <= took < 5, "BLPOP 0.5 took %.2fs" % took)
    # Commands pipelined after a blocking one run after it, as on one Redis
    # connection: the GET sees what was written while the BLPOP waited.
    pc.set("after", "before-the-block")
    w.send(("BLPOP", "q2", "0"), ("GET", "after"))
    wait_for(lambda: node_blocked(m) == 1, 10, "the pipelined BLPOP blocked")
    pc.set("after", "written-while-blocked")
    pc.rpush("q2", "x")
    check(w.reply() == [b"q2", b"x"], "pipelined BLPOP served")
    got = w.reply()
    check(got == b"written-while-blocked", "the GET ran after the BLPOP completed: %r" % got)
    check(w.call("PING") == "PONG", "the session is in step")


def case_blocking_pool_exhausted_answers_at_once(c):
    # The dedicated connections (blocking-mux no, or nodes without
    # CACHELY.BLOCK); the multiplexed bound: test_proxy_blockmux.py f.
    m, reps = c.group()
    p = c.proxy(m.addr, "--blocking-pool-size", "2", "--blocking-mux", "no")
    pc = client(p)
    ws = [Raw(p.port) for _ in range(2)]
    for w in ws:
        w.send(("BLPOP", "q", "0"))
    wait_for(lambda: node_blocked(m) == 2, 10, "two clients blocked")
    t0 = time.time()
    err = error_of(lambda: pc.execute_command("BLPOP", "q", "0"))
    check(err is not None and "blocking-pool-size" in err and "in use" in err,
          "a third BLPOP answered %r" % err)
    check(time.time() - t0 < 2, "the refusal came at once")
    pc.rpush("q", "one")
    check(ws[0].reply() == [b"q", b"one"], "the first waiter is served")
    # Its connection went back to the pool: a new blocking command gets it.
    w3 = Raw(p.port)
    w3.send(("BLPOP", "q", "0"))
    wait_for(lambda: node_blocked(m) == 2, 10, "the freed connection carries a new BLPOP")
    pc.rpush("q", "two", "three")
    got = sorted([ws[1].reply()[1], w3.reply()[1]])
    check(got == [b"three", b"two"], "both served: %r" % got)


def case_blocked_client_that_leaves_frees_its_connection(c):
    m, reps = c.group()
    p = c.proxy(m.addr, "--blocking-pool-size", "1")
    pc = client(p)
    w = Raw(p.port)
    w.send(("BLPOP", "q", "0"))
    wait_for(lambda: node_blocked(m) == 1, 10, "the client blocked")
    w.sock.close()
    wait_for(lambda: node_blocked(m) == 0, 10, "the node unblocked the gone client's pop")
    # Nothing is popped for a client that left, and the one connection is free.
    pc.rpush("q", "kept")
    check(pc.lrange("q", 0, -1) == ["kept"], "the element was not taken by a ghost")
    check(list(pc.execute_command("BLPOP", "q", "1")) == ["q", "kept"],
          "the pool's connection is free")


def case_blocked_client_gets_an_error_when_the_master_dies(c):
    m, reps = c.group()
    p = c.proxy(m.addr)
    w = Raw(p.port, timeout=30)
    w.send(("BLPOP", "q", "0"))
    wait_for(lambda: node_blocked(m) == 1, 10, "the client blocked")
    m.kill()
    t0 = time.time()
    rep = w.reply()
    check(isinstance(rep, Err) and "cachely-proxy" in rep, "blocked client got %r" % (rep,))
    check(time.time() - t0 < 10, "the error came promptly")


def case_transactions_never_on_a_shared_connection(c):
    # A transaction is pinned to a connection of its own (txn.c,
    # test_proxy_txn.py): on the pooled connection shared by every session a
    # MULTI would queue the other sessions' commands.
    m, reps = c.group()
    p = c.proxy(m.addr, "--pool-size", "1")
    a, b = Raw(p.port), client(p)
    check(a.call("MULTI") == "OK", "MULTI")
    check(b.set("k2", "v2") is True and b.get("k2") == "v2",
          "another session on the one shared connection is not in the transaction")
    check(a.call("SET", "k", "v") == "QUEUED" and a.call("EXEC") == ["OK"], "EXEC")
    check(b.set("k2", "v2") is True and b.get("k2") == "v2",
          "another session on the one shared connection is not in a transaction")
    check(a.call("GET", "k") == b"v", "the session is in step")


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


def case_geo_through_the_proxy(c):
    # A group with replicas: searches route by key, the store forms reach
    # the replicas as their effect.
    m, reps = c.group()
    p = c.proxy(m.addr)
    raw = Raw(p.port)
    check(raw.call("GEOADD", "pts", "13.361389", "38.115556", "Palermo",
                   "15.087269", "37.502669", "Catania") == 2, "GEOADD")
    got = raw.call("GEOSEARCH", "pts", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km",
                   "ASC", "WITHDIST")
    check(got == [[b"Catania", b"56.4413"], [b"Palermo", b"190.4424"]], "GEOSEARCH: %r" % got)
    got = raw.call("GEORADIUS_RO", "pts", "15", "37", "100", "km")
    check(got == [b"Catania"], "GEORADIUS_RO: %r" % got)
    check(raw.call("GEOSEARCHSTORE", "near", "pts", "FROMMEMBER", "Palermo", "BYRADIUS",
                   "100", "km") == 1, "GEOSEARCHSTORE")
    check(raw.call("GEORADIUS", "pts", "15", "37", "200", "km", "STOREDIST", "dists") == 2,
          "GEORADIUS ... STOREDIST")
    want = raw.call("ZRANGE", "dists", "0", "-1", "WITHSCORES")
    check(want[0] == b"Catania" and want[1].startswith(b"56.44"), "stored distances: %r" % want)
    for r in reps:
        rc = client(r)
        wait_for(lambda: rc.zrange("near", 0, -1) == ["Palermo"], 10,
                 "GEOSEARCHSTORE replicated to %s" % r.addr)
        wait_for(lambda: rc.zrange("dists", 0, -1, withscores=True)
                 == [(want[0].decode(), float(want[1])), (want[2].decode(), float(want[3]))],
                 10, "GEORADIUS STOREDIST replicated to %s" % r.addr)


def case_geo_store_across_groups_is_crossslot(c):
    g, p = three_groups(c)
    raw = Raw(p.port)
    check(raw.call("GEOADD", "a", "1", "1", "x") == 1, "GEOADD")
    got = raw.call("GEOSEARCH", "a", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km")
    check(got == [b"x"], "GEOSEARCH in one group: %r" % got)
    got = raw.call("GEOSEARCHSTORE", "b", "a", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km")
    check(isinstance(got, Err) and str(got).startswith("CROSSSLOT"), "GEOSEARCHSTORE b a: %r" % got)
    for args in (("GEORADIUS", "a", "1", "1", "1", "km", "STORE", "b"),
                 ("GEORADIUSBYMEMBER", "a", "x", "1", "km", "STOREDIST", "b")):
        got = raw.call(*args)
        check(isinstance(got, Err) and str(got).startswith("CROSSSLOT"),
              "%s ... %s b (movable key): %r" % (args[0], args[-2], got))
    check(raw.call("GEOADD", "{g}a", "1", "1", "x") == 1, "GEOADD {g}a")
    check(raw.call("GEOSEARCHSTORE", "{g}b", "{g}a", "FROMLONLAT", "1", "1", "BYRADIUS", "1",
                   "km") == 1, "GEOSEARCHSTORE with hash tags")
    check(raw.call("GEORADIUS", "{g}a", "1", "1", "1", "km", "STORE", "{g}c") == 1,
          "GEORADIUS STORE with hash tags")
    check(raw.call("ZRANGE", "{g}c", "0", "-1") == [b"x"], "stored through the proxy")


def case_stream_workers_survive_a_failover(c):
    """Blocking XREADGROUP workers through the proxy while the master is
    killed: every XADD the proxy acknowledged (write-ack all) is delivered
    to a worker, and nothing stays pending on the new master.  A worker that
    gets an error re-reads its own pending entries (ID 0) before new ones
    (>), as a real consumer does, and acknowledges them there."""
    import threading
    m, reps = c.group()
    p = c.proxy(m.addr, "--write-ack", "all", "--write-ack-timeout-ms", "2000")
    pc = client(p)
    check(pc.xgroup_create("jobs", "g", "$", mkstream=True) is True, "XGROUP CREATE")
    done, stop, errors = set(), threading.Event(), []
    lock = threading.Lock()

    def worker(name):
        r = client(p, timeout=10)
        start = "0"
        while not stop.is_set():
            try:
                got = r.xreadgroup("g", name, {"jobs": start}, count=10, block=200)
                entries = got[0][1] if got else []
                if start == "0" and not entries:
                    start = ">"
                    continue
                for eid, fields in entries:
                    # Processed once delivered; an XACK cut by the kill may
                    # or may not have been applied (its entry is then
                    # re-read from this worker's pending list, or gone).
                    with lock:
                        done.add(fields["n"])
                    r.xack("jobs", "g", eid)
            except (redis.ConnectionError, redis.ResponseError, redis.TimeoutError) as e:
                errors.append(str(e))
                start = "0"
                time.sleep(0.1)
                r = client(p, timeout=10)

    ws = [threading.Thread(target=worker, args=("w%d" % i,), daemon=True) for i in range(2)]
    for w in ws:
        w.start()
    acked = set()
    killed = False
    n = 0
    deadline = time.time() + 40
    while len(acked) < 300 and time.time() < deadline:
        n += 1
        if n == 150 and not killed:
            m.kill()
            killed = True
        try:
            pc.xadd("jobs", {"n": str(n)})
            acked.add(str(n))
        except (redis.ConnectionError, redis.ResponseError, redis.TimeoutError):
            time.sleep(0.05)
    check(killed and len(acked) == 300, "300 XADDs acknowledged around the kill (%d)" % len(acked))
    wait_for(lambda: acked <= done, 30, "every acknowledged entry processed")
    # The workers still run: one whose XACK was cut re-reads its pending
    # entries and acknowledges them.
    new = client(p)
    wait_for(lambda: new.xpending("jobs", "g")["pending"] == 0, 20, "nothing left pending")
    stop.set()
    for w in ws:
        w.join(5)
    print("     %d acked, %d processed, %d worker errors around the failover"
          % (len(acked), len(done), len(errors)))


CASES = [
    ("a", "lists through a default proxy", case_lists_through_a_default_proxy),
    ("b", "blocking commands through the proxy (timeouts, pipelining)",
     case_blocking_commands_on_dedicated_connections),
    ("d", "an exhausted blocking pool answers an error at once (blocking-mux no)",
     case_blocking_pool_exhausted_answers_at_once),
    ("e", "a blocked client that leaves frees its connection",
     case_blocked_client_that_leaves_frees_its_connection),
    ("f", "a master killed while a client is blocked answers it an error",
     case_blocked_client_gets_an_error_when_the_master_dies),
    ("g", "a transaction never runs on a shared connection",
     case_transactions_never_on_a_shared_connection),
    ("c", "multi-key commands across groups answer CROSSSLOT (movable keys too)",
     case_multi_key_across_groups_is_crossslot),
    ("h", "geo searches and their store forms through a proxy, replicated",
     case_geo_through_the_proxy),
    ("i", "geo store forms across groups answer CROSSSLOT (movable STORE keys too)",
     case_geo_store_across_groups_is_crossslot),
    ("j", "blocking XREADGROUP workers through the proxy survive a kill -9 of the master",
     case_stream_workers_survive_a_failover),
]


def main():
    return cluster.run_cases(CASES, "proxy_coll_", "CACHELY_PROXY_COLL_CASES",
                             lambda fn: cluster.run_in(tp.Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
