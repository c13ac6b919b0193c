"""Transactions end to end: WATCH races between clients, an EXEC cut by
kill -9 under appendfsync always (all or nothing after the restart), an AOF
that ends inside a MULTI/EXEC block, a replica applying the master's
transactions atomically, and transactions on a read-only replica.

Run with /usr/bin/python3 (Debian's python3-redis); CACHELY_BUILDDIR names
the build.  Prints "N passed, M failed".  CACHELY_MULTI_CASES=a,c runs only
those.
"""
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402
from cluster import LOCAL, Case, Raw, check, client, info, run_in, wait_for  # noqa: E402

import redis  # noqa: E402


def case_a_watch_race(c):
    """Two clients increment one counter with WATCH/MULTI/EXEC retries:
    no increment is lost, and both saw aborted EXECs (the race happened)."""
    n = c.node()
    per_client = 300
    aborted = [0, 0]

    def worker(i):
        r = client(n)
        done = 0
        while done < per_client:
            with r.pipeline(transaction=True) as p:
                try:
                    p.watch("counter")
                    v = int(p.get("counter") or 0)
                    p.multi()
                    p.set("counter", v + 1)
                    p.execute()
                    done += 1
                except redis.WatchError:
                    aborted[i] += 1
        r.close()

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    r = client(n)
    check(int(r.get("counter")) == 2 * per_client,
          "counter %r, expected %d" % (r.get("counter"), 2 * per_client))
    # Deterministic: a write by another client between WATCH and EXEC.
    a, b = Raw(n.port), Raw(n.port)
    check(a.call("WATCH", "k") == "OK", "WATCH")
    check(b.call("SET", "k", "x") == "OK", "SET by the other client")
    a.call("MULTI")
    check(a.call("SET", "k", "mine") == "QUEUED", "queued")
    check(a.call("EXEC") is None, "EXEC after another client's write must be null")
    check(r.get("k") == "x", "the aborted transaction must not write")
    print("   aborted EXECs during the race: %r" % aborted)


def case_b_kill9_mid_exec(c):
    """appendfsync always; a client runs MULTI; INCR a; INCR b; EXEC in a
    loop while the node is killed with -9: after the restart a == b, and no
    acknowledged EXEC is lost."""
    n = c.node("--appendonly", "yes", "--appendfsync", "always")
    acked = [0]
    stop = threading.Event()

    def writer():
        r = client(n, timeout=5)
        while not stop.is_set():
            try:
                p = r.pipeline(transaction=True)
                p.incr("a")
                p.incr("big", 1)
                p.set("pad", "x" * 2000)
                p.incr("b")
                res = p.execute()
                acked[0] = res[0]
            except (redis.ConnectionError, redis.TimeoutError):
                return

    t = threading.Thread(target=writer)
    t.start()
    wait_for(lambda: acked[0] > 200, 60, "200 transactions acknowledged")
    n.kill()
    stop.set()
    t.join(10)
    n.start()
    r = client(n)
    a, b = int(r.get("a") or 0), int(r.get("b") or 0)
    check(a == b, "after kill -9: a=%d b=%d (half a transaction applied)" % (a, b))
    check(a >= acked[0], "acknowledged transactions lost: a=%d acked=%d" % (a, acked[0]))


def case_c_aof_unfinished_block(c):
    """An AOF ending inside a MULTI/EXEC block loads up to its MULTI and is
    cut there (aof-load-truncated yes); with no it refuses to boot."""
    n = c.node("--appendonly", "yes", "--appendfsync", "always")
    r = client(n)
    r.set("before", "1")
    p = r.pipeline(transaction=True)
    p.set("t1", "1")
    p.set("t2", "2")
    p.execute()
    n.kill()
    path = os.path.join(n.dir, "appendonly.cachely")
    with open(path, "rb") as f:
        data = f.read()
    whole = len(data)
    # Cut the file just before the block's EXEC.
    exec_at = data.rindex(b"*1\r\n$4\r\nEXEC\r\n")
    with open(path, "wb") as f:
        f.write(data[:exec_at])
    multi_at = data.rindex(b"*1\r\n$5\r\nMULTI\r\n")
    n.start()
    r = client(n)
    check(r.get("before") == "1", "the write before the block must load")
    check(r.get("t1") is None and r.get("t2") is None,
          "half a transaction loaded: t1=%r t2=%r" % (r.get("t1"), r.get("t2")))
    check(os.path.getsize(path) == multi_at,
          "file should be cut at the MULTI (%d), is %d (whole %d)"
          % (multi_at, os.path.getsize(path), whole))
    n.kill()
    with open(path, "ab") as f:
        f.write(b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$2\r\nt1\r\n$1\r\n1\r\n")
    n.args += ["--aof-load-truncated", "no"]
    try:
        n.start()
        started = True
    except RuntimeError:
        started = False
    check(not started, "aof-load-truncated no must refuse an unfinished block")
    n.killed = True


def case_d_replica_atomic(c):
    """A reader on the replica never sees half of a transaction of the
    master (MULTI; INCR a; INCR b; EXEC in a loop)."""
    m = c.node()
    rep = c.node("--replicaof", "%s %d" % (LOCAL, m.port))
    rc = client(rep)
    wait_for(lambda: info(rc, "replication").get("master_link_status") == "up", 20,
             "replica link up")
    stop = threading.Event()
    count = [0]

    def writer():
        r = client(m)
        while not stop.is_set():
            p = r.pipeline(transaction=True)
            p.incr("a")
            p.set("pad", "y" * 100)
            p.incr("b")
            p.execute()
            count[0] += 1
        r.close()

    t = threading.Thread(target=writer)
    t.start()
    bad = []
    reads = 0
    deadline = time.time() + 4
    while time.time() < deadline:
        a, b = rc.mget("a", "b")
        reads += 1
        if a != b:
            bad.append((a, b))
    stop.set()
    t.join(10)
    check(count[0] > 50, "too few transactions written: %d" % count[0])
    check(not bad, "replica reader saw half transactions %d times of %d: %r"
          % (len(bad), reads, bad[:5]))
    mc = client(m)
    wait_for(lambda: rc.get("a") == mc.get("a") and rc.get("b") == rc.get("a"), 20,
             "replica caught up")
    # The replica relays what it applied: its offset matches the master's.
    wait_for(lambda: info(rc, "replication")["slave_repl_offset"]
             == info(mc, "replication")["master_repl_offset"], 20, "offsets equal")


def case_e_replica_read_only_tx(c):
    """Read-only transactions run on a replica; a write inside is refused
    at queue time (READONLY) and EXEC answers EXECABORT."""
    m = c.node()
    rep = c.node("--replicaof", "%s %d" % (LOCAL, m.port))
    mc, rc = client(m), client(rep)
    wait_for(lambda: info(rc, "replication").get("master_link_status") == "up", 20,
             "replica link up")
    mc.set("k", "v")
    wait_for(lambda: rc.get("k") == "v", 20, "k replicated")
    x = Raw(rep.port)
    check(x.call("MULTI") == "OK", "MULTI on a replica")
    check(x.call("GET", "k") == "QUEUED", "GET queued")
    check(x.call("EXEC") == [b"v"], "read-only EXEC on a replica")
    x.call("MULTI")
    e = x.call("SET", "k", "w")
    check(isinstance(e, cluster.Err) and e.startswith("READONLY"), "SET queued: %r" % e)
    e = x.call("EXEC")
    check(e == "EXECABORT Transaction discarded because of previous errors.",
          "EXEC: %r" % e)
    # WATCH on a replica is broken by the master's stream.
    check(x.call("WATCH", "k") == "OK", "WATCH")
    mc.set("k", "changed")
    wait_for(lambda: rc.get("k") == "changed", 20, "k replicated")
    x.call("MULTI")
    x.call("GET", "k")
    check(x.call("EXEC") is None, "EXEC after the master changed a watched key")


def case_f_replicaof_inside_multi(c):
    """Regression (Redis's unit/multi "MULTI / EXEC with REPLICAOF"): a
    master demoted by REPLICAOF inside a transaction closed its replicas'
    links at once; Redis 7.0 keeps them (they may continue with it) and
    streams nothing of the transaction: what ran before it did, what ran in
    it after REPLICAOF does not."""
    m = c.node()
    rep = c.node("--replicaof", "%s %d" % (LOCAL, m.port))
    mc, rc = client(m), client(rep)
    wait_for(lambda: info(rc, "replication").get("master_link_status") == "up", 20,
             "replica link up")
    ids = lambda: [l["id"] for l in mc.client_list(_type="replica")]
    before = ids()
    check(len(before) == 1, "one replica: %r" % before)
    mc.set("foo", "bar")
    wait_for(lambda: rc.get("foo") == "bar", 20, "foo replicated")
    x = Raw(m.port)
    x.call("MULTI")
    x.call("SET", "foo2", "bar")
    x.call("REPLICAOF", LOCAL, str(cluster.free_port()))
    x.call("SET", "foo3", "bar")
    check(x.call("EXEC") == ["OK", "OK", "OK"], "EXEC")
    e = x.call("SET", "foo4", "bar")
    check(isinstance(e, cluster.Err) and e.startswith("READONLY"), "SET after: %r" % e)
    time.sleep(0.5)
    check(ids() == before, "the replica's link was kept: %r, was %r" % (ids(), before))
    check(info(rc, "replication").get("master_link_status") == "up",
          "the replica's link is up")
    check(rc.get("foo2") is None and rc.get("foo3") is None,
          "nothing of the transaction reached the replica")
    # REPLICAOF NO ONE drops them, as Redis does: they reconnect and learn
    # the new replication ID.
    check(x.call("REPLICAOF", "NO", "ONE") == "OK", "REPLICAOF NO ONE")
    wait_for(lambda: ids() and ids() != before, 20, "the replica reconnected")
    wait_for(lambda: info(rc, "replication").get("master_link_status") == "up", 20,
             "replica link up again")
    mc.set("foo5", "bar")
    wait_for(lambda: rc.get("foo5") == "bar", 20, "foo5 replicated")


def case_g_exec_during_busy_script(c):
    """Regression (Redis's unit/multi "EXEC and script timeout"): an EXEC
    that arrived while a script ran past busy-reply-threshold got a plain
    -BUSY and left the client in MULTI; Redis 7.0 answers EXECABORT ...
    because of: BUSY ... and ends the transaction, none of it run."""
    n = c.node()
    r = client(n)
    r.config_set("busy-reply-threshold", "10")
    r.set("xx", "1")
    x = Raw(n.port)
    x.call("MULTI")
    check(x.call("INCR", "xx") == "QUEUED", "queued")
    busy = Raw(n.port)
    busy.send(("EVAL", "while true do end", "0"))
    time.sleep(0.2)
    want = ("BUSY Redis is busy running a script. You can only call SCRIPT KILL "
            "or SHUTDOWN NOSAVE.")
    e = x.call("INCR", "xx")
    check(e == want, "INCR while busy: %r" % e)
    e = x.call("EXEC")
    check(e == "EXECABORT Transaction discarded because of: " + want, "EXEC while busy: %r" % e)
    check(r.script_kill(), "SCRIPT KILL")
    busy.close()
    check(x.call("PING", "asdf") == b"asdf", "out of MULTI after the abort")
    check(r.get("xx") == "1", "nothing of the transaction ran: %r" % r.get("xx"))


def case_h_exec_on_a_stale_replica(c):
    """Regression (Redis's unit/multi "exec with read commands and stale
    replica state change"): with replica-serve-stale-data no, a GET or PING
    queued before the node became a replica with no link ran in EXEC; Redis
    7.0 answers EXECABORT ... MASTERDOWN when any queued command may not be
    served stale, and runs the transaction once the node is a master again."""
    n = c.node("--replica-serve-stale-data", "no")
    r = client(n)
    r.set("xx", "1")
    dead = str(cluster.free_port())
    x = Raw(n.port)
    want = ("EXECABORT Transaction discarded because of: MASTERDOWN Link with "
            "MASTER is down and replica-serve-stale-data is set to 'no'.")
    for queued in (("GET", "xx"), ("PING",)):
        x.call("MULTI")
        check(x.call(*queued) == "QUEUED", "queued")
        r.execute_command("REPLICAOF", LOCAL, dead)
        e = x.call("EXEC")
        check(e == want, "EXEC of %s on a stale replica: %r" % (queued[0], e))
        r.execute_command("REPLICAOF", "NO", "ONE")
    # MULTI itself is allowed on a stale replica.
    r.execute_command("REPLICAOF", LOCAL, dead)
    check(x.call("MULTI") == "OK", "MULTI on a stale replica")
    r.execute_command("REPLICAOF", "NO", "ONE")
    x.call("GET", "xx")
    check(x.call("EXEC") == [b"1"], "EXEC once a master again")


CASES = [
    ("a", "WATCH races between two clients", case_a_watch_race),
    ("b", "kill -9 during EXEC, appendfsync always: all or nothing", case_b_kill9_mid_exec),
    ("c", "AOF ending inside a MULTI/EXEC block", case_c_aof_unfinished_block),
    ("d", "a replica applies transactions atomically", case_d_replica_atomic),
    ("e", "transactions on a read-only replica; WATCH vs the master's stream",
     case_e_replica_read_only_tx),
    ("f", "REPLICAOF inside MULTI keeps the replicas, streams none of it",
     case_f_replicaof_inside_multi),
    ("g", "EXEC while a script is busy aborts with the BUSY reason",
     case_g_exec_during_busy_script),
    ("h", "EXEC on a stale replica aborts when a queued command cannot run stale",
     case_h_exec_on_a_stale_replica),
]


def main():
    return cluster.run_cases(CASES, "", "CACHELY_MULTI_CASES", lambda fn: run_in(Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
