"""What the node gives the proxies for failover, end to end on real
cachely-server processes: the config epoch (REPLICAOF ... EPOCH n, refused
when stale, in INFO, kept across restarts by the snapshot and the append-only
file) and CLIENT PAUSE / UNPAUSE (held writes, pipelines kept in order, a
demoted node answering the held writes -READONLY, a still offset, no expiry).

Run with /usr/bin/python3 (Debian's python3-redis); CACHELY_BUILDDIR names
the build.  Prints "N passed, M failed".  CACHELY_EPOCH_CASES=a,c runs only
those cases.
"""
import os
import re
import signal
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402  (puts tests/compat on sys.path)
from cluster import LOCAL, Err, Raw, check, client, fields, info, wait_for  # noqa: E402

import redis  # noqa: E402

SNAP = "dump.cachely"
AOF = "appendonly.cachely"
READONLY = "READONLY You can't write against a read only replica."

# ---- helpers -----------------------------------------------------------------


def ok(reply):
    """+OK, as text or as redis-py's True (SAVE, SLAVEOF)."""
    return reply in ("OK", True)


def stale(n, cur):
    return "STALE epoch %d is older than this node's epoch %d" % (n, cur)


def epoch(r):
    return int(info(r, "replication")["config_epoch"])


def error_of(fn, *args):
    """The error text fn(*args) raises (a redis-py ResponseError), or a
    failure when it succeeds."""
    try:
        res = fn(*args)
    except redis.ResponseError as e:
        return str(e)
    raise AssertionError("%r succeeded (%r); an error was expected" % (args, res))


def no_reply(raw, secs):
    """True when nothing arrives on raw for secs seconds (a held client)."""
    if raw.buf:
        return False
    raw.sock.settimeout(secs)
    try:
        data = raw.sock.recv(1 << 16)
    except socket.timeout:
        return True
    finally:
        raw.sock.settimeout(20)
    raw.buf += data
    return False


def blocked(r):
    return int(info(r, "clients")["blocked_clients"])


def wait_blocked(r, n):
    wait_for(lambda: blocked(r) == n, 10, "%d blocked clients" % n)


def caught_up(m, *replicas):
    moff = info(m, "replication")["master_repl_offset"]
    for r in replicas:
        ri = info(r, "replication")
        if ri.get("master_link_status") != "up" or ri.get("slave_repl_offset") != moff:
            return False
    return True


def wait_caught_up(m, *replicas):
    wait_for(lambda: caught_up(m, *replicas), 20, "replicas at the master's offset")


def snapshot_header(path):
    data = open(path, "rb").read()
    m = re.match(rb"\*2\r\n\$4\r\nECHO\r\n\$(\d+)\r\n", data)
    check(m, "no ECHO header in %s" % path)
    return data[m.end():m.end() + int(m.group(1))].decode()


# ---- the config epoch ----------------------------------------------------------


def case_a_epoch_replies(c):
    """EPOCH accepted, refused when older (nothing changes), error strings,
    config_epoch in INFO on masters and replicas."""
    m = c.node()
    r = c.node()
    mc, rc = client(m), client(r)
    check(epoch(mc) == 0, "a new node's epoch is 0")
    keys = list(info(mc, "replication"))
    check(keys[-1] == "config_epoch", "config_epoch is the last replication field: %r" % keys)

    check(mc.execute_command("REPLICAOF", "NO", "ONE", "EPOCH", 3) == "OK", "EPOCH 3")
    check(epoch(mc) == 3, "epoch 3")
    check(mc.execute_command("REPLICAOF", "NO", "ONE", "epoch", 3) == "OK", "equal epoch")
    check(ok(mc.execute_command("SLAVEOF", "NO", "ONE", "EPOCH", 4)), "SLAVEOF EPOCH")
    check(epoch(mc) == 4, "epoch 4 after SLAVEOF")
    check(mc.execute_command("REPLICAOF", "NO", "ONE") == "OK", "no EPOCH")
    check(epoch(mc) == 4, "REPLICAOF without EPOCH keeps the epoch")

    # Refused orders change nothing, the role included.
    check(error_of(mc.execute_command, "REPLICAOF", LOCAL, r.port, "EPOCH", 2) == stale(2, 4),
          "stale REPLICAOF host port")
    check(info(mc, "replication")["role"] == "master", "a stale order left the role alone")
    check(error_of(mc.execute_command, "REPLICAOF", "NO", "ONE", "EPOCH", 0) == stale(0, 4),
          "stale NO ONE")
    raw = Raw(m.port)
    check(raw.call("REPLICAOF", "NO", "ONE", "EPOCH", 1) == Err(stale(1, 4)), "the raw error")
    raw.close()

    # Argument errors: Redis's arity error for shapes that are not ours.
    bad_int = "value is not an integer or out of range"
    for args in (("x",), ("-1",), ("1.5",), ("99999999999999999999",)):
        check(error_of(mc.execute_command, "REPLICAOF", "NO", "ONE", "EPOCH", *args) == bad_int,
              "EPOCH %r" % (args,))
    arity = "wrong number of arguments for 'replicaof' command"
    for args in (("NO", "ONE", "EPOCH"), ("NO", "ONE", "EPOX", "5"), ("NO", "ONE", "5"),
                 ("NO",), ("NO", "ONE", "EPOCH", "5", "6")):
        check(error_of(mc.execute_command, "REPLICAOF", *args) == arity, "REPLICAOF %r" % (args,))
    check(error_of(mc.execute_command, "SLAVEOF", "NO", "ONE", "EPOCH")
          == "wrong number of arguments for 'slaveof' command", "SLAVEOF arity")
    check(error_of(mc.execute_command, "REPLICAOF", LOCAL, "x", "EPOCH", 9)
          == "Invalid master port", "bad port first")
    check(epoch(mc) == 4, "failed orders left the epoch at 4")

    # A replica: the order is obeyed and the epoch shows on its INFO too.
    check(rc.execute_command("REPLICAOF", LOCAL, m.port, "EPOCH", 7) == "OK", "replica EPOCH 7")
    ri = info(rc, "replication")
    check(ri["role"] == "slave" and ri["config_epoch"] == "7", "replica INFO %r" % ri)
    check(rc.execute_command("REPLICAOF", LOCAL, m.port, "EPOCH", 8)
          == "OK Already connected to specified master", "same master, newer epoch")
    check(epoch(rc) == 8, "the epoch moves even when the master is the same")
    check(error_of(rc.execute_command, "REPLICAOF", "NO", "ONE", "EPOCH", 7) == stale(7, 8),
          "stale promotion")
    check(info(rc, "replication")["role"] == "slave", "still a replica")
    check(epoch(mc) == 4, "the master does not learn its replica's epoch")


def case_b_failover_with_epochs(c):
    """The proxies' failover: pause the master, promote the replica with
    EPOCH 1, re-point the old master with EPOCH 1 (a partial resync), and
    late orders of epoch 0 refused on both; INFO fields of both roles."""
    m = c.node()
    a = c.node()
    mc, ac = client(m), client(a)
    for i in range(200):
        mc.set("k:%d" % i, i)
    ac.replicaof(LOCAL, m.port)
    wait_caught_up(mc, ac)
    for i in range(200, 300):  # streamed writes: offsets past 0
        mc.set("k:%d" % i, i)
    wait_caught_up(mc, ac)

    check(mc.execute_command("CLIENT", "PAUSE", 20000, "WRITE") == "OK", "pause the master")
    held = Raw(m.port)
    held.send(("SET", "late", "write"), ("GET", "k:1"))
    wait_blocked(mc, 1)
    wait_caught_up(mc, ac)
    check(ac.execute_command("REPLICAOF", "NO", "ONE", "EPOCH", 1) == "OK", "promote A")
    check(mc.execute_command("REPLICAOF", LOCAL, a.port, "EPOCH", 1) == "OK", "re-point M")
    check(mc.execute_command("CLIENT", "UNPAUSE") == "OK", "unpause M")
    check(held.reply() == Err(READONLY), "the held write, after the demotion")
    check(held.reply() == b"1", "the read behind it")
    held.close()

    wait_caught_up(ac, mc)
    st = info(ac, "stats")
    check(st["sync_partial_ok"] == "1" and st["sync_full"] == "0",
          "the old master resynced partially: %r"
          % {k: st[k] for k in ("sync_full", "sync_partial_ok", "sync_partial_err")})
    check(mc.get("late") is None, "the held write never ran")
    ac.set("after", "1")
    wait_for(lambda: mc.get("after") == "1", 10, "A's writes reach M")

    ai, mi = info(ac, "replication"), info(mc, "replication")
    check(ai["role"] == "master" and ai["config_epoch"] == "1" and ai["connected_slaves"] == "1",
          "A's INFO %r" % ai)
    s0 = fields(ai["slave0"])
    check(s0["ip"] == LOCAL and s0["port"] == str(m.port) and s0["state"] == "online"
          and int(s0["offset"]) >= 0 and int(s0["lag"]) >= 0, "slave0 %r" % s0)
    check(mi["role"] == "slave" and mi["config_epoch"] == "1" and mi["master_host"] == LOCAL
          and mi["master_port"] == str(a.port) and mi["master_link_status"] == "up"
          and int(mi["slave_repl_offset"]) > 0 and "slave_priority" in mi,
          "M's INFO %r" % mi)

    # The failover's late orders of epoch 0 are refused on both nodes.
    check(error_of(mc.execute_command, "REPLICAOF", "NO", "ONE", "EPOCH", 0) == stale(0, 1),
          "M refuses a stale promotion")
    check(error_of(ac.execute_command, "REPLICAOF", LOCAL, m.port, "EPOCH", 0) == stale(0, 1),
          "A refuses a stale demotion")
    check(info(mc, "replication")["role"] == "slave"
          and info(ac, "replication")["role"] == "master", "roles unchanged")


def case_c_epoch_in_the_aof(c):
    """appendonly yes: the epoch survives kill -9, and a rewrite keeps it."""
    n = c.node("--appendonly", "yes", "--appendfsync", "always")
    r = client(n)
    r.set("a", "1")
    check(r.execute_command("REPLICAOF", "NO", "ONE", "EPOCH", 3) == "OK", "EPOCH 3")
    r.set("b", "2")
    n.kill()
    n.start()
    r = client(n)
    check(epoch(r) == 3 and r.get("a") == "1" and r.get("b") == "2",
          "after kill -9: epoch %d" % epoch(r))
    check(r.execute_command("ECHO", "x") == "x", "ECHO still answers")
    check(int(info(r, "commandstats").get("cmdstat_echo", "calls=0").split("=")[1].split(",")[0])
          == 1, "the epoch record is not replayed as an ECHO command")

    check(r.execute_command("REPLICAOF", "NO", "ONE", "EPOCH", 4) == "OK", "EPOCH 4")
    r.execute_command("BGREWRITEAOF")
    wait_for(lambda: info(r, "persistence")["aof_rewrites"] == "1"
             and info(r, "persistence")["aof_rewrite_in_progress"] == "0", 10, "the rewrite")
    data = open(os.path.join(n.dir, AOF), "rb").read()
    check(data.startswith(cluster.resp("ECHO", "CACHELY-EPOCH 4")),
          "the rewritten AOF starts with the epoch: %r" % data[:60])
    check(r.execute_command("REPLICAOF", "NO", "ONE", "EPOCH", 5) == "OK", "EPOCH 5")
    n.kill()
    n.start()
    r = client(n)
    check(epoch(r) == 5 and r.get("a") == "1", "after the rewrite and kill -9: %d" % epoch(r))
    check(error_of(r.execute_command, "REPLICAOF", "NO", "ONE", "EPOCH", 4) == stale(4, 5),
          "stale after the restart")


def case_d_epoch_in_the_snapshot(c):
    """Snapshots: version 3 headers carry epoch=<n> (0 too); the save
    schedule counts an epoch change.  (test_persistence case l loads
    version 1 and 2 files.)"""
    n = c.node()
    r = client(n)
    r.set("k", "v")
    check(ok(r.execute_command("SAVE")), "SAVE")
    path = os.path.join(n.dir, SNAP)
    h = snapshot_header(path)
    check(re.fullmatch(r"CACHELY-SNAPSHOT 3 replid=[0-9a-f]{40} offset=\d+ db=\d+ epoch=0 "
                       r"time=\d{13}",
                       h), "epoch 0: a version 3 header with epoch=0 %r" % h)
    n.kill()
    n.start()
    r = client(n)
    check(epoch(r) == 0 and r.get("k") == "v", "a file without an epoch loads as epoch 0")

    check(r.execute_command("REPLICAOF", "NO", "ONE", "EPOCH", 9) == "OK", "EPOCH 9")
    check(ok(r.execute_command("SAVE")), "SAVE")
    h = snapshot_header(path)
    check(re.fullmatch(r"CACHELY-SNAPSHOT 3 replid=[0-9a-f]{40} offset=\d+ db=\d+ epoch=9 "
                       r"time=\d{13}", h), "a version 3 header %r" % h)
    n.kill()
    n.start()
    r = client(n)
    check(epoch(r) == 9 and r.get("k") == "v", "epoch %d after the restart" % epoch(r))

    # A save schedule saves an epoch change like a write.
    check(r.execute_command("REPLICAOF", "NO", "ONE", "EPOCH", 11) == "OK", "EPOCH 11")
    check(info(r, "persistence")["rdb_changes_since_last_save"] == "1", "counted as a change")
    r.config_set("save", "1 1")
    wait_for(lambda: "epoch=11 " in snapshot_header(path), 10, "the scheduled save")
    n.kill()
    n.start()
    check(epoch(client(n)) == 11, "epoch after the scheduled save")


# ---- CLIENT PAUSE ---------------------------------------------------------------


def case_e_pause_errors(c):
    n = c.node()
    r = client(n)
    for args, err in ((("x",), "timeout is not an integer or out of range"),
                      (("1.5",), "timeout is not an integer or out of range"),
                      (("-1",), "timeout is negative"),
                      (("0", "FOO"), "CLIENT PAUSE mode must be WRITE or ALL"),
                      (("x", "FOO"), "CLIENT PAUSE mode must be WRITE or ALL"),
                      (("0", "WRITE", "x"), "unknown subcommand or wrong number of arguments "
                                            "for 'PAUSE'. Try CLIENT HELP.")):
        check(error_of(r.execute_command, "CLIENT", "PAUSE", *args) == err,
              "CLIENT PAUSE %r" % (args,))
    check(error_of(r.execute_command, "CLIENT", "PAUSE")
          == "wrong number of arguments for 'client|pause' command", "PAUSE arity")
    check(error_of(r.execute_command, "CLIENT", "UNPAUSE", "x")
          == "wrong number of arguments for 'client|unpause' command", "UNPAUSE arity")
    # A zero timeout pauses nothing; UNPAUSE without a pause is fine.
    check(r.execute_command("CLIENT", "PAUSE", 0, "WRITE") == "OK", "PAUSE 0")
    check(r.set("k", "v") is True, "a write right after PAUSE 0")
    check(r.execute_command("CLIENT", "UNPAUSE") == "OK", "UNPAUSE")


def case_f_write_pause_times_out(c):
    """WRITE holds writes (their whole client) but not reads or INFO; the
    held write runs when the time is up."""
    n = c.node()
    r = client(n)
    r.set("k", "old")
    w = Raw(n.port)
    check(r.execute_command("CLIENT", "PAUSE", 1500, "WRITE") == "OK", "PAUSE 1500 WRITE")
    t0 = time.time()
    w.send(("SET", "k", "new"))
    wait_blocked(r, 1)
    check(r.get("k") == "old" and r.exists("k") == 1, "reads answer during the pause")
    check(info(r, "replication")["role"] == "master", "INFO answers during the pause")
    check(sum("b" in x["flags"] for x in r.client_list()) == 1,
          "CLIENT LIST shows the held client blocked")
    check(w.reply() == "OK", "the held write ran")
    took = time.time() - t0
    check(1.2 <= took < 5, "the write waited for the pause's end (%.2fs)" % took)
    check(r.get("k") == "new" and blocked(r) == 0, "the write's effect")
    w.close()

    # ALL holds reads too.
    check(r.execute_command("CLIENT", "PAUSE", 800, "ALL") == "OK", "PAUSE 800 ALL")
    t0 = time.time()
    g = client(n)
    check(g.get("k") == "new", "the held read")
    check(time.time() - t0 >= 0.6, "ALL held the read %.2fs" % (time.time() - t0))


def case_g_pipelines_and_unpause(c):
    """Commands pipelined behind a held write wait behind it, in order;
    held clients resume in the order they were held; UNPAUSE releases."""
    n = c.node()
    r = client(n)
    check(r.execute_command("CLIENT", "PAUSE", 30000, "WRITE") == "OK", "PAUSE WRITE")
    a = Raw(n.port)
    a.send(("SET", "p", "1"), ("GET", "p"), ("INCR", "p"), ("GET", "p"), ("PING",),
           ("SET", "order", "a"))
    wait_blocked(r, 1)
    b = Raw(n.port)
    b.send(("SET", "order", "b"), ("GET", "order"))
    wait_blocked(r, 2)
    check(no_reply(a, 0.3) and no_reply(b, 0.1), "no reply while held, not even to the reads")
    # A client holding only reads is not held.
    check(r.get("p") is None, "a read on another connection")
    check(r.execute_command("CLIENT", "UNPAUSE") == "OK", "UNPAUSE")
    check([a.reply() for _ in range(6)] == ["OK", b"1", 2, b"2", "PONG", "OK"],
          "the pipeline's replies in order")
    check(b.reply() == "OK" and b.reply() == b"b", "the second held client ran after the first")
    check(r.get("order") == "b" and blocked(r) == 0, "final state")
    a.close()
    b.close()


def case_h_held_writes_on_a_demoted_node(c):
    """A master paused WRITE and turned into a replica: the held writes are
    checked again when they resume, and refused -READONLY."""
    m = c.node()
    other = c.node()
    mc = client(m)
    mc.set("k", "1")
    check(mc.execute_command("CLIENT", "PAUSE", 30000, "WRITE") == "OK", "pause")
    w1, w2 = Raw(m.port), Raw(m.port)
    w1.send(("SET", "k", "2"), ("INCR", "n"), ("GET", "k"))
    wait_blocked(mc, 1)
    w2.send(("DEL", "k"))
    wait_blocked(mc, 2)
    check(mc.execute_command("REPLICAOF", LOCAL, other.port, "EPOCH", 5) == "OK", "demote")
    check(mc.execute_command("CLIENT", "UNPAUSE") == "OK", "unpause")
    check(w1.reply() == Err(READONLY) and w1.reply() == Err(READONLY), "w1's writes")
    got = w1.reply()
    # The read is served from the old data, or after a fast full sync from
    # the new master's (empty) data, or -LOADING while that sync runs.
    check(got in (b"1", None) or (isinstance(got, Err) and got.startswith("LOADING")),
          "the read behind them: %r" % got)
    check(w2.reply() == Err(READONLY), "w2's write")
    check(epoch(mc) == 5, "epoch 5")
    w1.close()
    w2.close()


def case_i_offset_still_during_pause(c):
    """During a WRITE pause the master's offset stays put: held writes do not
    run and the master sends no PING or GETACK of its own."""
    m = c.node("--repl-ping-replica-period", "1")
    rep = c.node()
    mc, rc = client(m), client(rep)
    rc.replicaof(LOCAL, m.port)
    wait_caught_up(mc, rc)
    o0 = int(info(mc, "replication")["master_repl_offset"])
    wait_for(lambda: int(info(mc, "replication")["master_repl_offset"]) > o0, 5,
             "the master's PINGs move the offset when not paused")
    mc.set("x", "1")
    waiter = Raw(m.port)
    check(waiter.call("SET", "y", "1") == "OK", "the waiter's write")
    check(mc.execute_command("CLIENT", "PAUSE", 30000, "WRITE") == "OK", "pause")
    o1 = int(info(mc, "replication")["master_repl_offset"])
    w = Raw(m.port)
    w.send(("SET", "x", "2"))
    wait_blocked(mc, 1)
    waiter.send(("WAIT", 1, 300))  # a GETACK would be sent when not paused
    deadline = time.time() + 2.5
    while time.time() < deadline:
        off = int(info(mc, "replication")["master_repl_offset"])
        check(off == o1, "offset moved during the pause: %d -> %d" % (o1, off))
        time.sleep(0.1)
    check(isinstance(waiter.reply(), int), "WAIT answers during the pause")
    wait_caught_up(mc, rc)
    check(rc.get("x") == "1", "the replica has the pre-pause write only")
    check(mc.execute_command("CLIENT", "UNPAUSE") == "OK", "unpause")
    check(w.reply() == "OK", "the held write")
    wait_for(lambda: int(info(mc, "replication")["master_repl_offset"]) > o1, 5,
             "the offset moves after the pause")
    wait_for(lambda: rc.get("x") == "2", 10, "the held write reached the replica")
    w.close()
    waiter.close()


def case_j_no_expiry_during_pause(c):
    """Keys whose TTL passes during a WRITE pause read as missing but are
    not deleted (no active or lazy expiry) until the pause ends."""
    n = c.node()
    r = client(n)
    for i in range(50):
        r.set("t:%d" % i, "v", px=400)
    r.set("keep", "v")
    base = int(info(r, "stats")["expired_keys"])
    check(r.execute_command("CLIENT", "PAUSE", 30000, "WRITE") == "OK", "pause")
    time.sleep(0.8)
    check(r.get("t:0") is None and r.exists("t:1", "t:2") == 0 and r.ttl("t:3") == -2,
          "expired keys read as missing")
    check(r.randomkey() is not None, "RANDOMKEY answers")
    check(sorted(r.keys("*")) == ["keep"], "KEYS hides them")
    time.sleep(0.3)  # active expiry runs hz times a second
    check(r.dbsize() == 51, "DBSIZE %d: the keys are still there" % r.dbsize())
    check(int(info(r, "stats")["expired_keys"]) == base, "nothing counted as expired")
    check(r.execute_command("CLIENT", "UNPAUSE") == "OK", "unpause")
    wait_for(lambda: r.dbsize() == 1, 5, "active expiry after the pause")
    check(int(info(r, "stats")["expired_keys"]) == base + 50, "expired_keys after the pause")


def case_k_replica_links_not_held(c):
    """A paused replica keeps applying its master's stream; a paused master
    keeps its replicas' links (ACKs are not held)."""
    m = c.node()
    rep = c.node()
    mc, rc = client(m), client(rep)
    rc.replicaof(LOCAL, m.port)
    wait_caught_up(mc, rc)
    check(rc.execute_command("CLIENT", "PAUSE", 30000, "WRITE") == "OK", "pause the replica")
    mc.set("during", "1")
    wait_for(lambda: rc.get("during") == "1", 10, "the master's write applied on the paused replica")
    check(rc.execute_command("CLIENT", "UNPAUSE") == "OK", "unpause the replica")
    # The master paused: its replica's REPLCONF ACKs (once a second) still
    # arrive, so the link's lag stays small.
    check(mc.execute_command("CLIENT", "PAUSE", 30000, "WRITE") == "OK", "pause the master")
    time.sleep(2.5)
    s0 = fields(info(mc, "replication")["slave0"])
    check(s0["state"] == "online" and int(s0["lag"]) <= 1, "the replica's ACKs: %r" % s0)
    check(mc.execute_command("CLIENT", "UNPAUSE") == "OK", "unpause the master")


def case_l_wait_released_by_a_new_replica(c):
    """A replica acknowledges as soon as its sync completes (here a partial
    resync to a just-promoted sibling, as after a failover), so a WAIT on
    the new master returns then, not at the replica's next once-a-second
    ACK."""
    times = []
    for _ in range(3):
        m = c.node()
        a, b = c.node(), c.node()
        mc = client(m)
        mc.set("k", "v")
        for x in (a, b):
            client(x).replicaof(LOCAL, m.port)
        wait_caught_up(mc, client(a))
        wait_caught_up(mc, client(b))
        time.sleep(1.2)  # the periodic ACKs just went out
        ac = client(a)
        ac.execute_command("REPLICAOF", "NO", "ONE")
        client(b).replicaof(LOCAL, a.port)
        t0 = time.time()
        ac.set("after", "1")
        got = ac.execute_command("WAIT", 1, 5000)
        times.append(time.time() - t0)
        check(got == 1, "WAIT 1 answered %r" % got)
        check(info(client(b), "replication")["master_link_status"] == "up", "b linked to a")
    check(max(times) < 0.5, "WAIT returned only after %r s" % times)


def case_m_snapshot_writer_dies_with_the_master(c):
    """kill -9 of a master while its forked snapshot writer streams to a
    replica (stopped, so the stream cannot finish): the writer dies with it,
    so the port refuses connections at once (the proxies' fast detection)
    and the node restarts on the same port."""
    m = c.node()
    mc = client(m)
    p = mc.pipeline(transaction=False)
    for i in range(200000):
        p.set("k%d" % i, "x" * 100)
    p.execute()
    r = c.node()
    client(r).replicaof(LOCAL, m.port)
    wait_for(lambda: info(client(r), "replication").get("master_sync_in_progress") == "1",
             10, "the full sync started", interval=0.002)
    r.proc.send_signal(signal.SIGSTOP)
    try:
        m.kill()
        t0 = time.time()
        refused = False
        while time.time() - t0 < 2 and not refused:
            try:
                socket.create_connection((LOCAL, m.port), 0.2).close()
                time.sleep(0.01)
            except ConnectionRefusedError:
                refused = True
            except OSError:
                time.sleep(0.01)
        check(refused, "the dead master's port still accepts connections (writer alive)")
        m.start()
        check(client(m).ping(), "restarted on the same port")
    finally:
        r.proc.send_signal(signal.SIGCONT)


CASES = [
    ("a", "EPOCH accepted, refused when stale, error strings, INFO config_epoch",
     case_a_epoch_replies),
    ("b", "failover with epochs: promote, re-point with a partial resync, stale orders",
     case_b_failover_with_epochs),
    ("c", "the epoch in the append-only file: kill -9, rewrite", case_c_epoch_in_the_aof),
    ("d", "the epoch in the snapshot header; save schedule; old files give 0",
     case_d_epoch_in_the_snapshot),
    ("e", "CLIENT PAUSE / UNPAUSE error strings", case_e_pause_errors),
    ("f", "WRITE holds writes not reads, runs them at the timeout; ALL holds reads",
     case_f_write_pause_times_out),
    ("g", "pipelines wait in order behind a held write; UNPAUSE releases in order",
     case_g_pipelines_and_unpause),
    ("h", "held writes on a node demoted meanwhile get -READONLY",
     case_h_held_writes_on_a_demoted_node),
    ("i", "the master's offset stays put during a WRITE pause", case_i_offset_still_during_pause),
    ("j", "no expiry during a pause: expired keys hidden, deleted after",
     case_j_no_expiry_during_pause),
    ("k", "replication links are never held", case_k_replica_links_not_held),
    ("l", "WAIT returns when a new replica's sync completes, not at its next ACK",
     case_l_wait_released_by_a_new_replica),
    ("m", "a snapshot writer dies with its master (port refused, restart works)",
     case_m_snapshot_writer_dies_with_the_master),
]


def main():
    return cluster.run_cases(CASES, "epoch_", "CACHELY_EPOCH_CASES",
                             lambda fn: cluster.run_in(cluster.Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
