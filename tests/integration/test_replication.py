"""Replication end to end: real cachely-server masters and replicas on free
127.0.0.1 ports, each case starting and stopping its own processes.

Run with /usr/bin/python3 (Debian's python3-redis); CACHELY_BUILDDIR names
the build.  Prints "N passed, M failed".  CACHELY_SANITIZERS=1 scales the
big full-sync case down.  CACHELY_REPL_CASES=a,c,k runs only those cases.
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402  (puts tests/compat on sys.path)
from cluster import (LOCAL, Err, Raw, check, client, fields, info, resp,  # noqa: E402,F401
                     wait_for)

import redis  # noqa: E402

SANITIZERS = os.environ.get("CACHELY_SANITIZERS") == "1"

# ---- helpers -----------------------------------------------------------------


class Nodes(cluster.Case):
    """The servers one case started (nodes.start(args) in the cases);
    stop_all() resumes stopped ones and stops every one by its own Popen
    object."""

    def start(self, *args):
        return self.node(*args)


def digest(r):
    """DEBUG DIGEST; before it existed, a dump of every database."""
    try:
        return r.execute_command("DEBUG", "DIGEST")
    except redis.ResponseError:
        return dump(r)


def dump(r):
    """(db, key, value, has-ttl) for every key of every database."""
    ndb = int(r.config_get("databases").get("databases", 16))
    out = []
    for db in range(ndb):
        c = redis.Redis(host=LOCAL, port=r.connection_pool.connection_kwargs["port"],
                        db=db, decode_responses=True, socket_timeout=20)
        keys = list(c.scan_iter(count=1000))
        for i in range(0, len(keys), 1000):
            p = c.pipeline(transaction=False)
            for k in keys[i:i + 1000]:
                p.get(k)
                p.pttl(k)
            res = p.execute()
            for j, k in enumerate(keys[i:i + 1000]):
                out.append((db, k, res[2 * j], res[2 * j + 1] >= 0))
        c.close()
    return sorted(out)


def synced(m, *replicas):
    """True when every replica's link is up, its offset is the master's and
    its dataset equals the master's."""
    moff = info(m, "replication")["master_repl_offset"]
    for r in replicas:
        ri = info(r, "replication")
        if ri.get("master_link_status") != "up" or ri.get("slave_repl_offset") != moff:
            return False
    d = digest(m)
    return all(digest(r) == d for r in replicas)


def wait_synced(m, *replicas, timeout=20):
    wait_for(lambda: synced(m, *replicas), timeout, "replicas in sync with the master")


def replica_link_ids(m):
    """Client ids of the master's replica connections (flags S)."""
    return [int(c["id"]) for c in m.client_list() if "S" in c["flags"]]


def kill_replica_links(m):
    ids = replica_link_ids(m)
    for i in ids:
        m.execute_command("CLIENT", "KILL", "ID", i)
    return len(ids)


def pipe_load(s, n, prefix="k", vsize=32):
    """Load n keys with redis-cli --pipe (the way an operator would)."""
    val = b"v" * vsize
    with tempfile.NamedTemporaryFile(prefix="cachely-pipe-", delete=False) as f:
        path = f.name
        batch = []
        for i in range(n):
            batch.append(resp(b"SET", b"%s:%d" % (prefix.encode(), i), val))
            if len(batch) == 10000:
                f.write(b"".join(batch))
                batch = []
        f.write(b"".join(batch))
    try:
        with open(path, "rb") as inp:
            out = subprocess.run(["redis-cli", "-h", LOCAL, "-p", str(s.port), "--pipe"],
                                 stdin=inp, capture_output=True, timeout=120)
        check(out.returncode == 0 and b"errors: 0, replies: %d" % n in out.stdout,
              "redis-cli --pipe: %r" % out.stdout[-200:])
    finally:
        os.unlink(path)


# ---- the cases ---------------------------------------------------------------


def case_a_full_sync_then_live(nodes):
    m = nodes.start()
    mc = client(m)
    # Data in three databases, some with TTLs, before any replica exists.
    p = mc.pipeline(transaction=False)
    for i in range(500):
        p.set("plain:%d" % i, "v%d" % i)
    for i in range(100):
        p.set("ttl:%d" % i, "t%d" % i, px=60000 + i * 100)
    p.execute()
    for db in (1, 7):
        c = client(m, db)
        c.set("db%d:a" % db, "A%d" % db)
        c.set("db%d:t" % db, "T", ex=300)
        c.close()
    r = nodes.start("--replicaof", "%s %d" % (LOCAL, m.port))
    rc = client(r)
    wait_synced(mc, rc)
    check(rc.dbsize() == 600, "replica db0 dbsize %d" % rc.dbsize())
    for db in (1, 7):
        c = client(r, db)
        check(c.get("db%d:a" % db) == "A%d" % db, "db%d value" % db)
        t = c.ttl("db%d:t" % db)
        check(295 <= t <= 300, "db%d ttl %d" % (db, t))
        c.close()
    for i in (0, 50, 99):
        mt, rt = mc.pttl("ttl:%d" % i), rc.pttl("ttl:%d" % i)
        check(rt > 0 and abs(mt - rt) < 1000, "pttl ttl:%d master %d replica %d" % (i, mt, rt))
    check(rc.pttl("plain:3") == -1, "plain key got a TTL on the replica")

    # Live writes after the sync, one of each way a write is streamed.
    mc.set("live", "1")
    mc.incr("live")
    mc.expire("plain:1", 1000)
    mc.delete("plain:2")
    mc.append("plain:3", "+")
    mc.execute_command("GETEX", "plain:4", "PX", 200000)
    mc.execute_command("GETDEL", "plain:5")
    mc.execute_command("INCRBYFLOAT", "f", "1.5")
    mc.execute_command("SETNX", "plain:6", "no")
    mc.execute_command("SETNX", "nx", "yes")
    mc.execute_command("GETSET", "plain:7", "gs")
    mc.execute_command("PERSIST", "ttl:0")
    mc.execute_command("PEXPIREAT", "plain:8", 1000)  # in the past: deleted
    mc.execute_command("SETEX", "sx", 100, "v")
    mc.execute_command("MSET", "m1", "1", "m2", "2")
    mc.execute_command("SET", "plain:9", "kt", "KEEPTTL")
    mc.execute_command("SET", "ttl:1", "kt", "KEEPTTL")
    wait_synced(mc, rc)
    check(rc.get("live") == "2", "live counter")
    check(990 <= rc.ttl("plain:1") <= 1000, "EXPIRE reached the replica")
    check(rc.exists("plain:2") == 0, "DEL reached the replica")
    check(rc.get("plain:3") == "v3+", "APPEND reached the replica")
    check(abs(rc.pttl("plain:4") - mc.pttl("plain:4")) < 1000, "GETEX's TTL")
    check(rc.exists("plain:5", "plain:8") == 0, "GETDEL / PEXPIREAT in the past")
    check(rc.get("f") == "1.5" and rc.get("nx") == "yes" and rc.get("plain:6") == "v6"
          and rc.get("plain:7") == "gs" and rc.pttl("ttl:0") == -1
          and 95 <= rc.ttl("sx") <= 100 and rc.get("m2") == "2", "state-streamed writes")
    check(rc.get("ttl:1") == "kt" and abs(rc.pttl("ttl:1") - mc.pttl("ttl:1")) < 1000,
          "SET KEEPTTL kept the TTL on the replica")

    mi, ri = info(mc, "replication"), info(rc, "replication")
    check(mi["role"] == "master" and mi["connected_slaves"] == "1", "master role %r" % mi)
    s0 = fields(mi["slave0"])
    check(s0["ip"] == LOCAL and s0["port"] == str(r.port) and s0["state"] == "online",
          "slave0 %r" % s0)
    # ACKs come every second: the acked offset reaches the master's.
    wait_for(lambda: fields(info(mc, "replication")["slave0"])["offset"]
             == info(mc, "replication")["master_repl_offset"], 5, "slave0 offset acked")
    check(int(s0["lag"]) <= 1, "lag %r" % s0)
    check(ri["role"] == "slave" and ri["master_host"] == LOCAL
          and ri["master_port"] == str(m.port) and ri["master_link_status"] == "up"
          and ri["master_sync_in_progress"] == "0", "replica info %r" % ri)
    check(ri["master_replid"] == mi["master_replid"], "replids differ")
    check(ri["slave_repl_offset"] == ri["master_repl_offset"], "replica offsets %r" % ri)
    check(mi["repl_backlog_active"] == "1" and ri["repl_backlog_active"] == "1", "backlog")
    st = info(mc, "stats")
    check(st["sync_full"] == "1" and st["sync_partial_ok"] == "0"
          # A node started with --replicaof has no history: PSYNC ? -1, so
          # no refused partial resync is counted (as Redis).
          and st["sync_partial_err"] == "0", "master sync stats %r"
          % {k: st[k] for k in ("sync_full", "sync_partial_ok", "sync_partial_err")})

    mrole, rrole = mc.execute_command("ROLE"), rc.execute_command("ROLE")
    check(mrole[0] == "master" and len(mrole[2]) == 1
          and mrole[2][0][0] == LOCAL and str(mrole[2][0][1]) == str(r.port),
          "master ROLE %r" % (mrole,))
    check(rrole[0] == "slave" and rrole[1] == LOCAL and int(rrole[2]) == m.port
          and rrole[3] == "connected" and int(rrole[4]) > 0, "replica ROLE %r" % (rrole,))


def case_b_two_replicas_under_benchmark(nodes):
    m = nodes.start()
    a = nodes.start()
    b = nodes.start()
    mc, ac, bc = client(m), client(a), client(b)
    ac.replicaof(LOCAL, m.port)
    bc.replicaof(LOCAL, m.port)
    wait_synced(mc, ac, bc)
    out = subprocess.run(["redis-benchmark", "-h", LOCAL, "-p", str(m.port),
                          "-t", "set,incr,mset", "-r", "10000", "-n", "50000", "-q"],
                         capture_output=True, text=True, timeout=180)
    check(out.returncode == 0, "redis-benchmark failed: %s" % out.stderr[-300:])
    wait_synced(mc, ac, bc, timeout=30)
    n = mc.dbsize()
    check(n > 1000 and ac.dbsize() == n and bc.dbsize() == n,
          "dbsize %d %d %d" % (n, ac.dbsize(), bc.dbsize()))


def case_c_link_drop_partial(nodes):
    m = nodes.start()
    r = nodes.start()
    mc, rc = client(m), client(r)
    for i in range(100):
        mc.set("before:%d" % i, i)
    rc.replicaof(LOCAL, m.port)
    wait_synced(mc, rc)
    mc.set("streamed", "1")  # the stream has begun: the offset is past 0
    wait_synced(mc, rc)
    st0 = info(mc, "stats")
    # Stop the replica so that the writes below are made while it has no
    # link: they can reach it only through the backlog.
    r.proc.send_signal(signal.SIGSTOP)
    try:
        check(kill_replica_links(mc) == 1, "one replica link to kill")
        wait_for(lambda: info(mc, "replication")["connected_slaves"] == "0", 5,
                 "master dropped the replica")
        for i in range(200):
            mc.set("during:%d" % i, i)
        mc.incr("during:counter")
        mc.delete("before:0")
    finally:
        r.proc.send_signal(signal.SIGCONT)
    wait_synced(mc, rc)
    st1 = info(mc, "stats")
    check(int(st1["sync_partial_ok"]) == int(st0["sync_partial_ok"]) + 1,
          "sync_partial_ok %s -> %s" % (st0["sync_partial_ok"], st1["sync_partial_ok"]))
    check(st1["sync_full"] == st0["sync_full"], "sync_full grew: %s -> %s"
          % (st0["sync_full"], st1["sync_full"]))
    check(rc.get("during:199") == "199" and rc.get("during:counter") == "1"
          and rc.exists("before:0") == 0, "writes made while disconnected")
    # And the link keeps streaming.
    mc.set("after", "x")
    wait_for(lambda: rc.get("after") == "x", 5, "write after the partial resync")


def case_c3_link_drop_at_offset_zero(nodes):
    """A replica whose link drops before the master streamed any byte (its
    offset is still the FULLRESYNC offset 0) resumes with PSYNC <id> 1, as a
    Redis 7.0 replica does, instead of asking for a full copy again."""
    m = nodes.start()
    r = nodes.start()
    mc, rc = client(m), client(r)
    mc.set("before", "1")
    rc.replicaof(LOCAL, m.port)
    wait_synced(mc, rc)
    check(info(mc, "replication")["master_repl_offset"] == "0", "offset not 0")
    st0 = info(mc, "stats")
    r.proc.send_signal(signal.SIGSTOP)
    try:
        check(kill_replica_links(mc) == 1, "one replica link to kill")
        wait_for(lambda: info(mc, "replication")["connected_slaves"] == "0", 5,
                 "master dropped the replica")
        mc.set("during", "1")
    finally:
        r.proc.send_signal(signal.SIGCONT)
    wait_synced(mc, rc)
    st1 = info(mc, "stats")
    check(rc.get("during") == "1", "write made while disconnected")
    check(st1["sync_full"] == st0["sync_full"]
          and int(st1["sync_partial_ok"]) == int(st0["sync_partial_ok"]) + 1,
          "full %s -> %s, partial_ok %s -> %s" % (st0["sync_full"], st1["sync_full"],
                                                 st0["sync_partial_ok"],
                                                 st1["sync_partial_ok"]))


def case_c4_partial_resync_keeps_db(nodes):
    """The stream names a database only when it changes, so a partial
    resync can resume in the middle of a run of commands for database 3:
    the replica must keep applying them to database 3 (Redis keeps the
    selected db of its cached master client)."""
    m = nodes.start()
    r = nodes.start()
    mc, rc = client(m), client(r)
    m3, r3 = client(m, 3), client(r, 3)
    rc.replicaof(LOCAL, m.port)
    wait_synced(mc, rc)
    m3.set("x", "1")  # streamed as SELECT 3, SET x 1
    wait_synced(mc, rc)
    r.proc.send_signal(signal.SIGSTOP)
    try:
        check(kill_replica_links(mc) == 1, "one replica link to kill")
        wait_for(lambda: info(mc, "replication")["connected_slaves"] == "0", 5,
                 "master dropped the replica")
        m3.set("y", "2")  # no SELECT: the stream is still in db 3
    finally:
        r.proc.send_signal(signal.SIGCONT)
    wait_for(lambda: int(info(mc, "stats")["sync_partial_ok"]) == 1, 5, "partial resync")
    wait_for(lambda: info(rc, "replication")["slave_repl_offset"]
             == info(mc, "replication")["master_repl_offset"], 5, "replica caught up")
    check(r3.get("y") == "2" and rc.get("y") is None,
          "after the partial resync: db3 y=%r, db0 y=%r" % (r3.get("y"), rc.get("y")))
    wait_synced(mc, rc)


def case_c2_client_kill_type_replica(nodes):
    """CLIENT KILL TYPE replica (what Redis tooling uses) drops the link."""
    m = nodes.start()
    r = nodes.start("--replicaof", "%s %d" % (LOCAL, m.port))
    mc, rc = client(m), client(r)
    wait_synced(mc, rc)
    n = mc.execute_command("CLIENT", "KILL", "TYPE", "replica")
    listed = mc.execute_command("CLIENT", "LIST", "TYPE", "replica")
    check(n == 1, "CLIENT KILL TYPE replica killed %r (CLIENT LIST TYPE replica: %r)"
          % (n, listed))


def case_d_backlog_overflow(nodes):
    m = nodes.start("--repl-backlog-size", "16kb")
    r = nodes.start()
    mc, rc = client(m), client(r)
    mc.set("seed", "1")
    rc.replicaof(LOCAL, m.port)
    wait_synced(mc, rc)
    check(info(mc, "replication")["repl_backlog_size"] == str(16 * 1024), "backlog size")
    st0 = info(mc, "stats")
    r.proc.send_signal(signal.SIGSTOP)
    try:
        # 8 MB: more than the backlog and more than the kernel's socket
        # buffers can hold for the stopped replica.
        val = "x" * 1024
        p = mc.pipeline(transaction=False)
        for i in range(8000):
            p.set("big:%d" % (i % 2000), "%d:%s" % (i, val))
            if i % 500 == 499:
                p.execute()
        p.execute()
        check(kill_replica_links(mc) == 1, "one replica link to kill")
    finally:
        r.proc.send_signal(signal.SIGCONT)
    wait_synced(mc, rc, timeout=30)
    st1 = info(mc, "stats")
    check(int(st1["sync_full"]) == int(st0["sync_full"]) + 1,
          "sync_full %s -> %s" % (st0["sync_full"], st1["sync_full"]))
    check(st1["sync_partial_ok"] == st0["sync_partial_ok"], "unexpected partial resync")
    check(int(st1["sync_partial_err"]) == int(st0["sync_partial_err"]) + 1,
          "sync_partial_err %s -> %s" % (st0["sync_partial_err"], st1["sync_partial_err"]))
    check(rc.get("big:1999").startswith("7999:"), "last write")


def case_e_writes_during_big_full_sync(nodes):
    nkeys = 200000 if SANITIZERS else 1000000
    m = nodes.start()
    r = nodes.start()
    mc, rc = client(m, timeout=60), client(r, timeout=60)
    pipe_load(m, nkeys)
    check(mc.dbsize() == nkeys, "loaded %d" % mc.dbsize())
    rc.replicaof(LOCAL, m.port)
    # Start writing once the master has begun the snapshot.
    wait_for(lambda: fields(info(mc, "replication").get("slave0", "state=none"))["state"]
             == "wait_bgsave", 10, "master streaming a snapshot")
    states = []
    for batch in range(50):
        p = mc.pipeline(transaction=False)
        for i in range(batch * 200, batch * 200 + 200):
            if i % 2:
                p.set("w:%d" % i, "s%d" % i)
            else:
                p.incr("w:%d" % i)
        p.execute()
        if batch in (0, 49):
            states.append(fields(info(mc, "replication")["slave0"])["state"])
    t0 = time.time()
    wait_synced(mc, rc, timeout=90 if SANITIZERS else 60)
    print("   e: %d keys; replica state while the writes ran: %s; in sync %.2fs after them"
          % (nkeys, "/".join(states), time.time() - t0))
    check(rc.dbsize() == nkeys + 10000, "replica dbsize %d" % rc.dbsize())
    for lo in range(0, 10000, 1000):
        keys = ["w:%d" % i for i in range(lo, lo + 1000)]
        got = rc.mget(keys)
        want = ["s%d" % i if i % 2 else "1" for i in range(lo, lo + 1000)]
        check(got == want, "writes %d..%d differ on the replica" % (lo, lo + 999))


def case_f_wait(nodes):
    m = nodes.start()
    a = nodes.start("--replicaof", "%s %d" % (LOCAL, m.port))
    b = nodes.start("--replicaof", "%s %d" % (LOCAL, m.port))
    mc, ac, bc = client(m), client(a), client(b)
    wait_synced(mc, ac, bc)
    mc.set("w1", "1")
    t0 = time.time()
    n = mc.execute_command("WAIT", 2, 1000)
    el = time.time() - t0
    check(n == 2 and el < 0.5, "WAIT 2 1000 -> %r after %.3fs" % (n, el))

    b.proc.send_signal(signal.SIGSTOP)
    try:
        mc.set("w2", "2")
        t0 = time.time()
        n = mc.execute_command("WAIT", 2, 500)
        el = (time.time() - t0) * 1000
        check(n == 1 and 450 <= el <= 2000, "WAIT 2 500 -> %r after %.0f ms" % (n, el))
        t0 = time.time()
        n = mc.execute_command("WAIT", 1, 0)
        check(n >= 1 and time.time() - t0 < 2, "WAIT 1 0 -> %r" % n)

        # Pipelined commands behind a blocked WAIT run after it, in order.
        raw = Raw(m.port)
        t0 = time.time()
        raw.send(("SET", "pw", "1"), ("WAIT", 2, 300), ("INCR", "pw"), ("GET", "pw"),
                 ("PING",))
        check(raw.reply() == "OK", "SET reply")
        # While the WAIT blocks, the INCR behind it has not run.
        check(mc.get("pw") == "1", "INCR ran before the blocked WAIT ended")
        got = [raw.reply() for _ in range(4)]
        el = (time.time() - t0) * 1000
        check(got == [1, 2, b"2", "PONG"] and el >= 280,
              "pipeline after WAIT: %r after %.0f ms" % (got, el))
        raw.close()
    finally:
        b.proc.send_signal(signal.SIGCONT)
    wait_synced(mc, ac, bc)
    mc.set("w3", "3")
    check(mc.execute_command("WAIT", 2, 2000) == 2, "both replicas ack after SIGCONT")

    raw = Raw(a.port)
    e = raw.call("WAIT", 1, 100)
    check(isinstance(e, Err) and e.startswith(
        "ERR WAIT cannot be used with replica instances."), "WAIT on a replica: %r" % e)
    raw.close()


def case_g_expiry_reaches_replicas(nodes):
    m = nodes.start()
    r = nodes.start("--replicaof", "%s %d" % (LOCAL, m.port))
    mc, rc = client(m), client(r)
    wait_synced(mc, rc)
    def set_seen(key):
        """SET key PX 300 and see it on the replica before it expires; a
        slow machine may need another try."""
        for _ in range(5):
            t0 = time.time()
            mc.set(key, "v", px=300)
            check(mc.execute_command("WAIT", 1, 1000) == 1, "WAIT for the replica")
            seen = rc.get(key) == "v" and rc.dbsize() == 1
            if seen or time.time() - t0 < 0.25:
                check(seen, "replica has %s (GET %r, DBSIZE %d)"
                      % (key, rc.get(key), rc.dbsize()))
                return
            wait_for(lambda: rc.dbsize() == 0, 3, "a slow try cleaned up")
        raise AssertionError("never saw %s on the replica within 250 ms" % key)

    # Active expiry on the master: the DEL reaches the replica.
    set_seen("short")
    wait_for(lambda: rc.dbsize() == 0, 3, "replica DBSIZE drops after the master expires")
    check(mc.dbsize() == 0, "master deleted it")

    # Master's active expiry off: the replica hides the key but keeps it
    # until the master deletes it (here on access).
    mc.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 0)
    set_seen("hidden")
    time.sleep(0.45)  # the TTL must pass
    for _ in range(3):
        check(rc.get("hidden") is None, "replica returned an expired key")
        check(rc.exists("hidden") == 0, "replica EXISTS counts an expired key")
        check(rc.pttl("hidden") == -2, "replica PTTL of an expired key: %r" % rc.pttl("hidden"))
        check(rc.dbsize() == 1, "replica deleted the key itself (dbsize %d)" % rc.dbsize())
        time.sleep(0.2)
    check(mc.execute_command("DBSIZE") == 1, "master active expiry still ran")
    check(mc.get("hidden") is None, "master GET of an expired key")
    wait_for(lambda: rc.dbsize() == 0, 3, "replica DBSIZE drops after the master's lazy DEL")
    mc.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 1)


def case_h_readonly(nodes):
    m = nodes.start()
    r = nodes.start("--replicaof", "%s %d" % (LOCAL, m.port))
    mc, rc = client(m), client(r)
    wait_synced(mc, rc)
    raw = Raw(r.port)
    for cmd in (("SET", "k", "v"), ("INCR", "n"), ("DEL", "k"), ("EXPIRE", "k", 10)):
        e = raw.call(*cmd)
        check(e == "READONLY You can't write against a read only replica.",
              "%s on a replica: %r" % (cmd[0], e))
    check(raw.call("GET", "k") is None, "reads work")
    check(raw.call("CONFIG", "SET", "replica-read-only", "no") == "OK", "CONFIG SET")
    check(raw.call("SET", "k", "local") == "OK", "SET on a writable replica")
    check(raw.call("GET", "k") == b"local", "local write visible")
    check(mc.get("k") is None, "a replica's local write reached the master")
    raw.close()


def case_i_min_replicas(nodes):
    m = nodes.start("--min-replicas-to-write", 1, "--min-replicas-max-lag", 2)
    raw = Raw(m.port)
    e = raw.call("SET", "k", "0")
    check(e == "NOREPLICAS Not enough good replicas to write.", "no replica yet: %r" % e)
    r = nodes.start("--replicaof", "%s %d" % (LOCAL, m.port))
    mc, rc = client(m), client(r)
    wait_for(lambda: raw.call("SET", "k", "1") == "OK", 5, "writes accepted with a replica")
    wait_synced(mc, rc)
    r.proc.send_signal(signal.SIGSTOP)
    try:
        t0 = time.time()
        wait_for(lambda: raw.call("SET", "k", "2") != "OK", 8, "writes refused")
        el = time.time() - t0
        e = raw.call("SET", "k", "3")
        check(e == "NOREPLICAS Not enough good replicas to write.", "refused with %r" % e)
        check(1.0 <= el <= 5, "refused after %.2fs (max lag 2s)" % el)
        check(raw.call("GET", "k") == b"2", "reads still work")
    finally:
        r.proc.send_signal(signal.SIGCONT)
    wait_for(lambda: raw.call("SET", "k", "4") == "OK", 5, "writes accepted again")
    wait_synced(mc, rc)
    check(rc.get("k") == "4", "replica value")
    raw.close()


def case_j_chained_promotion(nodes):
    m = nodes.start()
    a = nodes.start()
    b = nodes.start()
    mc, ac, bc = client(m), client(a), client(b)
    for i in range(300):
        mc.set("k:%d" % i, i)
    mc.set("t", "x", ex=500)
    ac.replicaof(LOCAL, m.port)
    bc.replicaof(LOCAL, m.port)
    wait_synced(mc, ac, bc)
    for i in range(300, 400):  # streamed writes: offsets past 0 (see c3)
        mc.set("k:%d" % i, i)
    wait_synced(mc, ac, bc)
    ai0 = info(ac, "replication")

    # Promote A: a new history; the old one stays resumable.
    ac.execute_command("REPLICAOF", "NO", "ONE")
    ai = info(ac, "replication")
    check(ai["role"] == "master", "A is a master")
    check(ai["master_replid2"] == ai0["master_replid"] and ai["master_replid"]
          != ai0["master_replid"], "A's replids %r" % ai)
    check(int(ai["second_repl_offset"]) == int(ai0["master_repl_offset"]) + 1,
          "second_repl_offset %s, offset before %s"
          % (ai["second_repl_offset"], ai0["master_repl_offset"]))

    bc.replicaof(LOCAL, a.port)
    wait_synced(ac, bc)
    ast = info(ac, "stats")
    check(ast["sync_partial_ok"] == "1" and ast["sync_full"] == "0",
          "A's stats after B joined: full %s partial_ok %s partial_err %s"
          % (ast["sync_full"], ast["sync_partial_ok"], ast["sync_partial_err"]))
    bi = info(bc, "replication")
    check(bi["master_replid"] == ai["master_replid"]
          and bi["master_replid2"] == ai0["master_replid"], "B took A's history %r" % bi)
    ac.set("new-on-a", "1")
    ac.incr("k:1")
    wait_synced(ac, bc)
    check(bc.get("new-on-a") == "1" and bc.get("k:1") == "2", "A's writes reach B")

    # The old master follows A.  It made no writes since the promotion, so
    # its own history is a prefix of A's: a partial resync.
    mi0 = info(mc, "replication")
    mc.replicaof(LOCAL, a.port)
    wait_synced(ac, bc, mc)
    ast = info(ac, "stats")
    mi = info(mc, "replication")
    print("   j: old master offset %s at REPLICAOF; A's second_repl_offset %s; "
          "A stats full=%s partial_ok=%s partial_err=%s"
          % (mi0["master_repl_offset"], ai["second_repl_offset"], ast["sync_full"],
             ast["sync_partial_ok"], ast["sync_partial_err"]))
    check(ast["sync_partial_ok"] == "2" and ast["sync_full"] == "0",
          "old master did not partial-resync from A")
    check(mi["master_replid"] == ai["master_replid"], "old master follows A's history")
    check(mc.get("new-on-a") == "1" and 400 < mc.ttl("t") <= 500, "old master's data")
    ac.set("last", "z")
    wait_synced(ac, bc, mc)
    check(mc.get("last") == "z" and bc.get("last") == "z", "last write")


def case_m_eviction_reaches_replicas(nodes):
    """Keys evicted by maxmemory on the master are deleted on the replica."""
    m = nodes.start("--maxmemory", "4mb", "--maxmemory-policy", "allkeys-random")
    r = nodes.start("--replicaof", "%s %d" % (LOCAL, m.port))
    mc, rc = client(m), client(r)
    wait_synced(mc, rc)
    val = "e" * 512
    p = mc.pipeline(transaction=False)
    for i in range(20000):  # 10 MB of values into 4 MB
        p.set("ev:%d" % i, val)
        if i % 1000 == 999:
            p.execute()
    p.execute()
    evicted = int(info(mc, "stats")["evicted_keys"])
    check(evicted > 1000, "evicted_keys %d" % evicted)
    # A command on the master may itself evict (its reply takes memory
    # while the dataset sits at the limit), so poll until both agree.
    wait_for(lambda: (wait_synced(mc, rc) or True) and rc.dbsize() == mc.dbsize(), 10,
             "replica's key count equals the master's")
    check(rc.dbsize() < 20000, "replica dbsize %d" % rc.dbsize())


def case_p_stalled_replica_does_not_cause_evictions(nodes):
    """Regression (issue 9 item 12): a replica's output buffer counted
    against maxmemory, so a stalled replica made the master evict keys (and
    each eviction's DEL grew the buffer further).  With the replica stopped,
    rewriting the same keys must evict nothing while the buffer grows far
    past maxmemory; INFO shows it as mem_not_counted_for_evict."""
    m = nodes.start("--maxmemory-policy", "allkeys-lru")
    r = nodes.start("--replicaof", "%s %d" % (LOCAL, m.port))
    mc, rc = client(m), client(r)
    val = "s" * 1000
    p = mc.pipeline(transaction=False)
    for i in range(2000):  # about 2.5 MB of data
        p.set("st:%d" % i, val)
    p.execute()
    wait_synced(mc, rc)
    mem = info(mc, "memory")
    limit = int(mem["used_memory"]) + 4 * 1024 * 1024
    mc.config_set("maxmemory", limit)
    r.proc.send_signal(signal.SIGSTOP)
    try:
        # 30 MB of overwrites: the dataset keeps its size, the stream to the
        # stopped replica piles up in its output buffer.
        for _ in range(15):
            p = mc.pipeline(transaction=False)
            for i in range(2000):
                p.set("st:%d" % i, val)
            p.execute()
        mem = info(mc, "memory")
        stats = info(mc, "stats")
        uncounted = int(mem["mem_not_counted_for_evict"])
        check(int(mem["used_memory"]) > limit and uncounted > 8 * 1024 * 1024,
              "the replica buffer did not grow past maxmemory: used %s, limit %d, "
              "not counted %d" % (mem["used_memory"], limit, uncounted))
        check(int(mem["mem_total_replication_buffers"]) >= uncounted
              - int(mem["mem_aof_buffer"]), "INFO memory %r" % mem)
        check(stats["evicted_keys"] == "0", "evicted_keys %s" % stats["evicted_keys"])
        check(mc.dbsize() == 2000, "dbsize %d" % mc.dbsize())
    finally:
        r.proc.send_signal(signal.SIGCONT)
    wait_synced(mc, rc, timeout=60)
    check(info(mc, "stats")["evicted_keys"] == "0", "evictions after the replica resumed")


def case_n_replica_of_a_replica(nodes):
    """M -> A -> B: A relays the stream, so B's offset and data are M's."""
    m = nodes.start()
    a = nodes.start("--replicaof", "%s %d" % (LOCAL, m.port))
    mc, ac = client(m), client(a)
    mc.set("k0", "0")
    wait_synced(mc, ac)
    b = nodes.start("--replicaof", "%s %d" % (LOCAL, a.port))
    bc = client(b)
    wait_synced(mc, ac, bc)
    for i in range(200):
        mc.set("k%d" % i, i, ex=1000)
    client(m, 2).incr("c")
    wait_synced(mc, ac, bc)
    mi, ai, bi = (info(x, "replication") for x in (mc, ac, bc))
    check(mi["master_replid"] == ai["master_replid"] == bi["master_replid"], "replids")
    check(ai["connected_slaves"] == "1" and fields(ai["slave0"])["port"] == str(b.port),
          "A lists B: %r" % ai)
    check(bc.get("k199") == "199" and client(b, 2).get("c") == "1", "B's data")


def case_o_master_drops_silent_replica(nodes):
    """A replica that stops ACKing is dropped after repl-timeout; once it
    runs again it resumes with a partial resync."""
    m = nodes.start("--repl-timeout", 2)
    r = nodes.start()
    mc, rc = client(m), client(r)
    rc.replicaof(LOCAL, m.port)
    wait_synced(mc, rc)
    mc.set("a", "1")
    wait_synced(mc, rc)
    r.proc.send_signal(signal.SIGSTOP)
    try:
        t0 = time.time()
        wait_for(lambda: info(mc, "replication")["connected_slaves"] == "0", 6,
                 "master drops the silent replica")
        el = time.time() - t0
        check(1.0 <= el <= 4.5, "dropped after %.1fs with repl-timeout 2" % el)
        mc.set("b", "2")
    finally:
        r.proc.send_signal(signal.SIGCONT)
    wait_synced(mc, rc)
    st = info(mc, "stats")
    check(st["sync_full"] == "1" and st["sync_partial_ok"] == "1",
          "full %s partial_ok %s" % (st["sync_full"], st["sync_partial_ok"]))


def split_frames(data):
    """Split a RESP command stream into whole frames (bytes each) and the
    incomplete tail."""
    frames = []
    pos = 0
    while pos < len(data):
        start = pos
        end = data.find(b"\r\n", pos)
        if end < 0:
            break
        check(data[pos:pos + 1] == b"*", "stream frame does not start with '*': %r"
              % data[pos:pos + 40])
        n = int(data[pos + 1:end])
        pos = end + 2
        ok = True
        for _ in range(n):
            end = data.find(b"\r\n", pos)
            if end < 0:
                ok = False
                break
            ln = int(data[pos + 1:end])
            pos = end + 2 + ln + 2
            if pos > len(data):
                ok = False
                break
        if not ok:
            pos = start
            break
        frames.append(data[start:pos])
    return frames, data[pos:]


def case_k_raw_psync(nodes):
    m = nodes.start("--repl-ping-replica-period", 1)
    mc = client(m)
    mc.set("pre", "existing", px=900000)
    s = Raw(m.port)
    check(s.call("PING") == "PONG", "PING")
    check(s.call("REPLCONF", "listening-port", 1234) == "OK", "listening-port")
    check(s.call("REPLCONF", "capa", "eof", "capa", "psync2") == "OK", "capa")
    s.send(("PSYNC", "?", -1))
    line = s.line().decode()
    parts = line.split(" ")
    check(len(parts) == 3 and parts[0] == "+FULLRESYNC" and len(parts[1]) == 40
          and all(ch in "0123456789abcdef" for ch in parts[1]), "PSYNC reply %r" % line)
    replid, base = parts[1], int(parts[2])
    check(replid == info(mc, "replication")["master_replid"], "replid")
    hdr = s.line()
    while hdr == b"":  # keepalive newlines before the payload
        hdr = s.line()
    check(hdr.startswith(b"$EOF:") and len(hdr) == 45, "snapshot header %r" % hdr)
    mark = hdr[5:]
    while mark not in s.buf:
        s.fill()
    snap, _, s.buf = s.buf.partition(mark)
    frames, rest = split_frames(snap)
    check(rest == b"", "snapshot tail %r" % rest[:80])
    sets = [f for f in frames if f.startswith(b"*5\r\n$3\r\nSET\r\n")]
    check(len(sets) == 1 and b"$3\r\npre\r\n$8\r\nexisting\r\n$4\r\nPXAT\r\n" in sets[0],
          "snapshot frames %r" % frames)
    pxat = int(sets[0].split(b"\r\n")[-2])
    check(abs(pxat - (time.time() * 1000 + 900000)) < 5000, "snapshot PXAT %d" % pxat)

    now = time.time() * 1000
    mc.set("a", "1")
    mc.set("b", "2", ex=100)
    mc.execute_command("INCR", "c")  # redis-py's incr() sends INCRBY
    mc.delete("a")
    m3 = client(m, 3)
    m3.set("x", "y")
    mc.expire("b", 50)
    later = time.time() * 1000

    def num(f):
        return int(f.split(b"\r\n")[-2])

    want = [resp("SELECT", 0), resp("SET", "a", "1"), None, resp("INCR", "c"),
            resp("DEL", "a"), resp("SELECT", 3), resp("SET", "x", "y"), resp("SELECT", 0),
            None]
    got = []
    stream = b""
    deadline = time.time() + 5
    while len(got) < len(want) and time.time() < deadline:
        s.sock.settimeout(max(0.05, deadline - time.time()))
        try:
            s.fill()
        except socket.timeout:
            break
        frames, s.buf = split_frames(s.buf)
        for f in frames:
            stream += f
            if f != resp("PING"):  # the master's keepalive may come at any time
                got.append(f)
    check(len(got) == len(want), "stream frames %r" % got)
    for i, (g, w) in enumerate(zip(got, want)):
        if w is not None:
            check(g == w, "frame %d: %r, expected %r" % (i, g, w))
    s.sock.settimeout(10)
    check(got[2].split(b"\r\n")[:9] == [b"*5", b"$3", b"SET", b"$1", b"b", b"$1", b"2",
                                        b"$4", b"PXAT"], "SET b frame %r" % got[2])
    t = num(got[2])
    check(now + 100000 - 3000 <= t <= later + 100000 + 3000, "SET b PXAT %d, now %d" % (t, now))
    check(got[8].split(b"\r\n")[:5] == [b"*3", b"$9", b"PEXPIREAT", b"$1", b"b"],
          "EXPIRE frame %r" % got[8])
    t = num(got[8])
    check(now + 50000 - 3000 <= t <= later + 50000 + 3000, "PEXPIREAT %d, now %d" % (t, now))
    mi = info(mc, "replication")
    check(int(mi["master_repl_offset"]) == base + len(stream),
          "offset %s, FULLRESYNC offset %d + %d stream bytes"
          % (mi["master_repl_offset"], base, len(stream)))
    s0 = fields(mi["slave0"])
    check(s0["port"] == "1234" and s0["state"] == "online", "slave0 %r" % s0)

    # ACK: INFO and ROLE show the offset.
    off = base + len(stream)
    s.send(("REPLCONF", "ACK", off))
    wait_for(lambda: fields(info(mc, "replication")["slave0"])["offset"] == str(off), 3,
             "ACK offset in INFO")
    role = mc.execute_command("ROLE")
    check(str(role[2][0][2]) == str(off) and str(role[2][0][1]) == "1234", "ROLE %r" % role)

    # WAIT asks for an ACK with REPLCONF GETACK *; our ACK releases it.
    w = Raw(m.port)
    w.send(("SET", "wk", "1"), ("WAIT", 1, 5000))
    check(w.reply() == "OK", "SET")
    seen = b""
    deadline = time.time() + 3
    while resp("REPLCONF", "GETACK", "*") not in seen and time.time() < deadline:
        s.fill()
        frames, s.buf = split_frames(s.buf)
        seen += b"".join(frames)
    check(resp("REPLCONF", "GETACK", "*") in seen, "no GETACK in %r" % seen)
    check(resp("SET", "wk", "1") in seen, "SET wk in %r" % seen)
    s.send(("REPLCONF", "ACK", off + len(seen)))
    t0 = time.time()
    check(w.reply() == 1 and time.time() - t0 < 1, "WAIT released by our ACK")
    w.close()

    # The keepalive: PING every repl-ping-replica-period (1 s here).
    seen = b""
    deadline = time.time() + 2.5
    while seen.count(resp("PING")) < 2 and time.time() < deadline:
        s.fill()
        frames, s.buf = split_frames(s.buf)
        seen += b"".join(frames)
    check(seen.count(resp("PING")) >= 2, "PINGs in 2.5 s: %r" % seen)
    s.close()


def case_k2_old_sync_command(nodes):
    """SYNC (what redis-cli --replica sends) answers as Redis does: the
    payload header straight away, no +FULLRESYNC line (that is PSYNC's)."""
    m = nodes.start()
    mc = client(m)
    mc.set("a", "1")
    s = Raw(m.port)
    check(s.call("REPLCONF", "capa", "eof") == "OK", "capa eof")
    s.send(("SYNC",))
    first = s.line()
    check(first.startswith(b"$EOF:") and len(first) == 45,
          "first line of the SYNC reply: %r" % first)
    s.close()


def read_sized_payload(s):
    """The "$<length>" header of a disk-style transfer (after any "\\n"
    keepalives, which readers skip) and exactly that many bytes."""
    hdr = s.line().lstrip(b"\n")
    check(hdr.startswith(b"$") and hdr[1:].isdigit(), "payload header %r" % hdr)
    return s.exact(int(hdr[1:]))


def case_k3_plain_sync_gets_length_framing(nodes):
    """Regression (issue 9 item 10): a SYNC or PSYNC without REPLCONF capa
    eof got the diskless "$EOF:<mark>" framing; old-style readers need
    Redis's "$<length>\\r\\n<payload>", then the live stream."""
    m = nodes.start()
    mc = client(m)
    mc.set("a", "1")
    mc.set("b", "2", px=900000)
    s = Raw(m.port)
    s.send(("SYNC",))
    payload = read_sized_payload(s)
    frames, rest = split_frames(payload)
    check(rest == b"", "payload tail %r" % rest[:80])
    sets = sorted(f for f in frames if b"$3\r\nSET\r\n" in f)
    check(len(sets) == 2 and sets[0] == resp("SET", "a", "1")
          and sets[1].startswith(b"*5\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n$4\r\nPXAT"),
          "payload frames %r" % frames)
    # The stream goes on right after the payload, with no terminator.
    mc.set("c", "3")
    want = resp("SET", "c", "3")
    deadline = time.time() + 10
    while want not in s.buf and time.time() < deadline:
        s.fill()
    check(want in s.buf, "the write after the sync: %r" % s.buf[:200])
    s.close()
    # PSYNC without capa eof: +FULLRESYNC, then the same framing.
    s = Raw(m.port)
    s.send(("PSYNC", "?", -1))
    check(s.line().startswith(b"+FULLRESYNC "), "PSYNC reply")
    frames, rest = split_frames(read_sized_payload(s))
    check(rest == b"" and resp("SET", "c", "3") in frames, "PSYNC payload %r" % frames)
    s.close()
    check(not [f for f in os.listdir(m.dir) if f.startswith("temp-sync-")],
          "a spool file was left in %s: %r" % (m.dir, os.listdir(m.dir)))


def case_l_masterdown(nodes):
    m = nodes.start()
    r = nodes.start("--replica-serve-stale-data", "no", "--replicaof", "%s %d" % (LOCAL, m.port))
    mc, rc = client(m), client(r)
    mc.set("k", "v")
    wait_synced(mc, rc)
    raw = Raw(r.port)
    check(raw.call("GET", "k") == b"v", "GET with the link up")
    m.stop()
    wait_for(lambda: info(rc, "replication")["master_link_status"] == "down", 5, "link down")
    e = raw.call("GET", "k")
    check(e == "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set "
          "to 'no'.", "GET with the master down: %r" % e)
    # Redis 7.0 refuses PING here too (PING has no "stale" flag; Sentinel
    # counts -MASTERDOWN as a valid PING reply); ECHO, INFO and ROLE work.
    e = raw.call("PING")
    check(e == "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set "
          "to 'no'.", "PING with the master down: %r" % e)
    check(raw.call("ECHO", "hi") == b"hi", "ECHO")
    check(raw.call("INFO", "replication").startswith(b"# Replication"), "INFO")
    role = raw.call("ROLE")
    check(role[0] == b"slave" and role[3] in (b"connect", b"connecting"), "ROLE %r" % role)
    raw.close()


CASES = [
    ("a", "full sync copies data, TTLs and databases; live writes; INFO; ROLE",
     case_a_full_sync_then_live),
    ("b", "two replicas equal after a redis-benchmark write load",
     case_b_two_replicas_under_benchmark),
    ("c", "link drop -> partial resync with the writes made meanwhile",
     case_c_link_drop_partial),
    ("c2", "CLIENT KILL TYPE replica drops the replica link", case_c2_client_kill_type_replica),
    ("c3", "link drop at offset 0 -> partial resync (as Redis)",
     case_c3_link_drop_at_offset_zero),
    ("c4", "a partial resync resumes in the stream's database",
     case_c4_partial_resync_keeps_db),
    ("d", "backlog overflow -> full resync", case_d_backlog_overflow),
    ("e", "writes during a big full sync all arrive", case_e_writes_during_big_full_sync),
    ("f", "WAIT counts, times out, errors on replicas, keeps pipelines in order",
     case_f_wait),
    ("g", "expiry reaches replicas as DEL; replicas hide expired keys",
     case_g_expiry_reaches_replicas),
    ("h", "READONLY replicas; replica-read-only no", case_h_readonly),
    ("i", "min-replicas-to-write / max-lag", case_i_min_replicas),
    ("j", "promotion: siblings and the old master resync partially",
     case_j_chained_promotion),
    ("k", "raw PSYNC: snapshot framing and exact stream bytes", case_k_raw_psync),
    ("k2", "SYNC answers without +FULLRESYNC (redis-cli --replica)",
     case_k2_old_sync_command),
    ("k3", "SYNC/PSYNC without capa eof get $<length> framing",
     case_k3_plain_sync_gets_length_framing),
    ("l", "replica-serve-stale-data no -> MASTERDOWN", case_l_masterdown),
    ("m", "maxmemory evictions reach replicas", case_m_eviction_reaches_replicas),
    ("n", "a replica of a replica follows the top master", case_n_replica_of_a_replica),
    ("p", "a stalled replica's buffer does not cause evictions (maxmemory)",
     case_p_stalled_replica_does_not_cause_evictions),
    ("o", "a silent replica is dropped after repl-timeout, then resumes",
     case_o_master_drops_silent_replica),
]


def main():
    return cluster.run_cases(CASES, "repl_", "CACHELY_REPL_CASES",
                             lambda fn: cluster.run_in(Nodes(), fn))


if __name__ == "__main__":
    sys.exit(main())
