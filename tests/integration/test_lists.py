"""Lists end to end: blocking pops (FIFO across clients, timeouts, a
disconnect while blocked, CLIENT UNBLOCK, BLMOVE chains, a pipelined push),
what served pops propagate, replication of a 1,000,000-element list through
a full sync and of a LPUSH/BLPOP load through a replica chain, and
persistence (SAVE + restart, BGREWRITEAOF + restart), and the memory
list-compress-depth saves.

Each case starts its own cachely-server processes on free 127.0.0.1 ports.
Run with /usr/bin/python3; CACHELY_BUILDDIR names the build.  Prints
"N passed, M failed".  CACHELY_LIST_CASES=a,c runs only those.
"""
import os
import select
import shutil
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402
from cluster import LOCAL, Raw, Err, check, info, wait_for  # noqa: E402

import redis  # noqa: E402,F401

AOF = "appendonly.cachely"


def blocked(r):
    return int(info(r, "clients")["blocked_clients"])


def wait_blocked(r, n):
    wait_for(lambda: blocked(r) == n, 10, "%d blocked clients" % n)


def digest(r):
    return r.execute_command("DEBUG", "DIGEST")


def fill_list(r, key, n, batch=1000):
    p = r.pipeline(transaction=False)
    for start in range(0, n, batch):
        p.rpush(key, *["e%d" % i for i in range(start, min(n, start + batch))])
        if (start // batch) % 50 == 49:
            p.execute()
    p.execute()


# ---- blocking --------------------------------------------------------------------


def case_a_fifo_across_clients(c):
    n = c.node("--save", "")
    r = cluster.client(n)
    waiters = []
    for i in range(5):
        w = Raw(n.port)
        w.send(("BLPOP", "q", "other", 0))
        wait_blocked(r, i + 1)
        waiters.append(w)
    check(r.rpush("q", "a", "b", "c", "d", "e") == 5, "push reply")
    got = [w.reply() for w in waiters]
    check(got == [[b"q", x] for x in (b"a", b"b", b"c", b"d", b"e")],
          "longest-waiting first: %r" % got)
    check(blocked(r) == 0 and not r.exists("q"), "nothing left behind")
    # Many waiters on one key, served one per push.
    many = []
    for i in range(50):
        w = Raw(n.port)
        w.send(("BRPOP", "mq", 0))
        many.append(w)
    wait_blocked(r, 50)
    for i in range(50):
        r.lpush("mq", "v%d" % i)
    got = [w.reply() for w in many]
    check(got == [[b"mq", b"v%d" % i] for i in range(50)], "50 waiters in order")
    check(int(info(r, "clients")["blocked_clients"]) == 0, "all served")


def case_b_timeouts(c):
    n = c.node("--save", "")
    r = cluster.client(n)
    w = Raw(n.port)
    for cmd, want in ((("BLPOP", "t", "0.05"), None), (("BRPOP", "t", "t2", "0.01"), None),
                      (("BLMOVE", "t", "d", "LEFT", "LEFT", "0.02"), None),
                      (("BRPOPLPUSH", "t", "d", "0.02"), None),
                      (("BLMPOP", "0.03", "1", "t", "LEFT"), None),
                      (("BLPOP", "t", "0.0001"), None)):
        t0 = time.time()
        got = w.call(*cmd)
        el = time.time() - t0
        check(got == want, "%r: %r" % (cmd, got))
        check(el < 3, "%r took %.2fs" % (cmd, el))
        check(el >= float(cmd[-1] if cmd[0] != "BLMPOP" else cmd[1]) - 0.002,
              "%r returned early (%.3fs)" % (cmd, el))
    check(blocked(r) == 0, "no blocked client after timeouts")
    # INFO clients_in_timeout_table counts the waits that have a deadline.
    w.send(("BLPOP", "t", "30"))
    w2 = Raw(n.port)
    w2.send(("BLPOP", "t", "0"))
    wait_blocked(r, 2)
    check(info(r, "clients")["clients_in_timeout_table"] == "1", "one wait with a deadline")
    r.rpush("t", "a", "b")
    check(w.reply() == [b"t", b"a"] and w2.reply() == [b"t", b"b"], "both served")
    check(info(r, "clients")["clients_in_timeout_table"] == "0", "none left")
    # 0 is forever: still blocked after a while, and served by a push.
    w.send(("BLPOP", "t", "0"))
    wait_blocked(r, 1)
    time.sleep(0.3)
    check(blocked(r) == 1, "timeout 0 blocks on")
    r.rpush("t", "late")
    check(w.reply() == [b"t", b"late"], "served after the wait")
    # -0.0001 rounds to 0 ms: forever too (as Redis 7.0).
    w.send(("BLPOP", "t", "-0.0001"))
    wait_blocked(r, 1)
    time.sleep(0.2)
    check(blocked(r) == 1, "-0.0001 blocks forever")
    r.rpush("t", "x")
    check(w.reply() == [b"t", b"x"], "served")
    # RESP3: the timeout reply is a null.
    w.call("HELLO", "3")
    w.sendraw(cluster.resp("BLPOP", "t", "0.01"))
    got = w.line()
    check(got in (b"_", b"_\r\n"), "RESP3 timeout reply: %r" % got)


def case_c_disconnect_while_blocked(c):
    n = c.node("--save", "")
    r = cluster.client(n)
    gone = Raw(n.port)
    gone.send(("BLPOP", "k", "k2", 0))
    stay = Raw(n.port)
    stay.send(("BLPOP", "k", 0))
    wait_blocked(r, 2)
    gone.close()
    wait_blocked(r, 1)
    r.rpush("k", "v1", "v2")
    check(stay.reply() == [b"k", b"v1"], "the remaining waiter gets the first element")
    check(r.lrange("k", 0, -1) == ["v2"], "nothing popped for the gone client")
    # A killed client (CLIENT KILL) leaves nothing either.
    k = Raw(n.port)
    kid = k.call("CLIENT", "ID")
    k.send(("BLPOP", "k3", 5))
    wait_blocked(r, 1)
    check(r.execute_command("CLIENT", "KILL", "ID", kid) == 1, "kill")
    wait_blocked(r, 0)
    r.rpush("k3", "x")
    check(r.llen("k3") == 1, "killed waiter popped nothing")


def case_d_client_unblock(c):
    n = c.node("--save", "")
    r = cluster.client(n)
    w = Raw(n.port)
    wid = w.call("CLIENT", "ID")
    check(r.execute_command("CLIENT", "UNBLOCK", wid) == 0, "not blocked: 0")
    w.send(("BLPOP", "u", 0))
    wait_blocked(r, 1)
    check(r.execute_command("CLIENT", "UNBLOCK", wid) == 1, "unblock: 1")
    check(w.reply() is None, "timeout reply")
    wait_blocked(r, 0)
    w.send(("BLMOVE", "u", "v", "LEFT", "LEFT", 0))
    wait_blocked(r, 1)
    check(r.execute_command("CLIENT", "UNBLOCK", wid, "TIMEOUT") == 1, "unblock timeout")
    check(w.reply() is None, "BLMOVE timeout reply")
    w.send(("BLMPOP", 0, 2, "u", "v", "RIGHT"))
    wait_blocked(r, 1)
    check(r.execute_command("CLIENT", "UNBLOCK", wid, "ERROR") == 1, "unblock error")
    got = w.reply()
    check(isinstance(got, Err) and got == "UNBLOCKED client unblocked via CLIENT UNBLOCK",
          "error reply: %r" % got)
    check(blocked(r) == 0, "no state left")
    r.rpush("u", "x")
    check(r.llen("u") == 1, "unblocked client popped nothing later")
    check(w.call("PING") == "PONG", "connection usable")


def case_e_blmove_chain(c):
    n = c.node("--save", "")
    r = cluster.client(n)
    first = Raw(n.port)
    first.send(("BLMOVE", "a", "b", "RIGHT", "LEFT", 0))
    wait_blocked(r, 1)
    second = Raw(n.port)
    second.send(("BRPOPLPUSH", "b", "c", 0))
    wait_blocked(r, 2)
    third = Raw(n.port)
    third.send(("BLMPOP", 0, 1, "c", "LEFT", "COUNT", 5))
    wait_blocked(r, 3)
    r.rpush("a", "x")
    check(first.reply() == b"x", "a -> b")
    check(second.reply() == b"x", "b -> c (woken by the first move)")
    check(third.reply() == [b"c", [b"x"]], "c popped (woken by the second move)")
    check(r.exists("a", "b", "c") == 0, "every list consumed")
    check(blocked(r) == 0, "no blocked client")
    # A destination of the wrong type: the waiter gets WRONGTYPE, the element stays.
    w = Raw(n.port)
    w.send(("BLMOVE", "src", "str", "LEFT", "LEFT", 0))
    wait_blocked(r, 1)
    r.set("str", "s")
    r.rpush("src", "v")
    got = w.reply()
    check(isinstance(got, Err) and got.startswith("WRONGTYPE"), "WRONGTYPE: %r" % got)
    check(r.lrange("src", 0, -1) == ["v"], "element not moved")
    # A waited-on key written as a string: 7.0 keeps the client waiting.
    w.send(("BLPOP", "sk", 0))
    wait_blocked(r, 1)
    r.set("sk", "string")
    time.sleep(0.1)
    check(blocked(r) == 1, "still blocked after a string write")
    r.delete("sk")
    r.rpush("sk", "ok")
    check(w.reply() == [b"sk", b"ok"], "served once it is a list")


def case_f_pipelined_push(c):
    n = c.node("--save", "")
    r = cluster.client(n)
    w = Raw(n.port)
    w.send(("BLPOP", "p", 0))
    wait_blocked(r, 1)
    pusher = Raw(n.port)
    # The push and the commands after it arrive in one read; the waiter is
    # served right after the first push, before the pusher's next command,
    # as Redis 7.0 does: the replies are 1, 1, 1 (regression: the waiter
    # was served only before the loop slept, so they were 1, 2, 2).
    pusher.send(("RPUSH", "p", "one"), ("RPUSH", "p", "two"), ("LLEN", "p"))
    replies = [pusher.reply() for _ in range(3)]
    check(replies == [1, 1, 1], "pipeline replies %r" % replies)
    check(w.reply() == [b"p", b"one"], "waiter got the first pushed element")
    check(r.lrange("p", 0, -1) == ["two"], "the rest stays")
    # A blocked client's own pipelined commands run after it is served.
    w.send(("BLPOP", "p2", 0), ("PING",))
    wait_blocked(r, 1)
    r.rpush("p2", "z")
    check(w.reply() == [b"p2", b"z"] and w.reply() == "PONG", "pipelined after the pop")


def read_aof(node):
    """The append-only file(s) of node's dir, concatenated."""
    out = b""
    for root, _, files in os.walk(node.dir):
        for f in files:
            if "appendonly" in f:
                with open(os.path.join(root, f), "rb") as fh:
                    out += fh.read()
    return out


def case_g_served_pops_propagate_effects(c):
    n = c.node("--save", "", "--appendonly", "yes", "--appendfsync", "always")
    r = cluster.client(n)
    ws = []
    for cmd in (("BLPOP", "e1", 0), ("BRPOP", "e2", 0), ("BLMOVE", "e3", "d3", "LEFT", "RIGHT", 0),
                ("BRPOPLPUSH", "e4", "d4", 0), ("BLMPOP", 0, 1, "e5", "RIGHT", "COUNT", 2)):
        w = Raw(n.port)
        w.send(cmd)
        ws.append(w)
    wait_blocked(r, 5)
    for k in ("e1", "e2", "e3", "e4", "e5"):
        r.rpush(k, "a", "b", "c")
    for w in ws:
        check(not isinstance(w.reply(), Err), "served")
    r.rpush("e6", "x")
    check(Raw(n.port).call("BLPOP", "e6", 0) == [b"e6", b"x"], "served at once")
    # LMPOP, and BLMPOP served at once, go out as LPOP/RPOP key <number
    # popped>, as on Redis 7.0 (not the COUNT asked).
    r.rpush("e8", "p", "q")
    check(Raw(n.port).call("LMPOP", 2, "e7", "e8", "LEFT", "COUNT", 10)
          == [b"e8", [b"p", b"q"]], "LMPOP")
    r.rpush("e9", "p", "q", "r")
    check(Raw(n.port).call("BLMPOP", 0, 1, "e9", "RIGHT", "COUNT", 5)
          == [b"e9", [b"r", b"q", b"p"]], "BLMPOP served at once")
    aof = read_aof(n).upper()
    for blk in (b"BLPOP", b"BRPOP", b"BLMOVE", b"BRPOPLPUSH", b"BLMPOP", b"LMPOP"):
        check(b"$%d\r\n%s\r\n" % (len(blk), blk) not in aof, "%s in the AOF" % blk)
    for eff in (b"$4\r\nLPOP\r\n$2\r\nE1", b"$4\r\nRPOP\r\n$2\r\nE2",
                b"$5\r\nLMOVE\r\n$2\r\nE3\r\n$2\r\nD3\r\n$4\r\nLEFT\r\n$5\r\nRIGHT",
                b"$5\r\nLMOVE\r\n$2\r\nE4\r\n$2\r\nD4\r\n$5\r\nRIGHT\r\n$4\r\nLEFT",
                b"$4\r\nRPOP\r\n$2\r\nE5\r\n$1\r\n2",
                b"$4\r\nLPOP\r\n$2\r\nE6",
                b"$4\r\nLPOP\r\n$2\r\nE8\r\n$1\r\n2",
                b"$4\r\nRPOP\r\n$2\r\nE9\r\n$1\r\n3"):
        check(eff in aof, "effect %r missing from the AOF" % eff)
    d = digest(r)
    n.kill()
    n.start()
    r = cluster.client(n)
    check(digest(r) == d, "AOF replay rebuilds the same lists")


# ---- replication and persistence --------------------------------------------------


def case_h_full_sync_of_a_million(c):
    m = c.node("--save", "")
    mr = cluster.client(m, timeout=60)
    fill_list(mr, "big", 1000000)
    mr.rpush("small", 1, 2, "three")
    mr.lpush("ints", *range(-500, 500))
    check(mr.llen("big") == 1000000, "master length")
    rep = c.node("--save", "", "--replicaof", LOCAL, m.port)
    rr = cluster.client(rep, timeout=60)
    wait_for(lambda: info(rr, "replication")["master_link_status"] == "up", 60, "link up")
    wait_for(lambda: rr.llen("big") == 1000000, 60, "1M elements on the replica")
    # A write load after the sync goes through the stream.
    for i in range(200):
        mr.lpush("big", "h%d" % i)
        mr.rpop("big")
    mr.linsert("big", "BEFORE", "e500000", "mid")
    mr.lset("big", 10, "ten")
    mr.ltrim("ints", 10, -10)
    mr.lrem("big", 0, "e7")
    wait_for(lambda: digest(rr) == digest(mr), 30, "equal digests")
    check(rr.lindex("big", 10) == "ten", "LSET replicated")
    check(rr.object("encoding", "big") == "quicklist", "encoding")


def case_i_replica_chain_with_blocking_load(c):
    m = c.node("--save", "")
    r1 = c.node("--save", "", "--replicaof", LOCAL, m.port)
    r2 = c.node("--save", "", "--replicaof", LOCAL, r1.port)
    mr, c1, c2 = cluster.client(m), cluster.client(r1), cluster.client(r2)
    wait_for(lambda: info(c2, "replication")["master_link_status"] == "up", 30, "chain up")
    stop = threading.Event()
    popped = []

    def consumer():
        cr = cluster.client(m)
        while not stop.is_set():
            got = cr.blpop(["jobs", "jobs2"], timeout=0.05)
            if got:
                popped.append(got[1])

    ts = [threading.Thread(target=consumer) for _ in range(3)]
    for t in ts:
        t.start()
    p = mr.pipeline(transaction=False)
    for i in range(3000):
        p.lpush("jobs" if i % 2 else "jobs2", "j%d" % i)
        if i % 7 == 0:
            p.rpush("log", i)
        if i % 100 == 99:
            p.execute()
    p.execute()
    wait_for(lambda: mr.exists("jobs", "jobs2") == 0, 30, "consumers drained the queues")
    stop.set()
    for t in ts:
        t.join()
    check(len(popped) == 3000 and len(set(popped)) == 3000, "every job popped once")
    wait_for(lambda: digest(c2) == digest(mr) and digest(c1) == digest(mr), 30,
             "equal digests down the chain")
    check(c2.exists("jobs", "jobs2") == 0 and c2.llen("log") == mr.llen("log"),
          "replica chain state")


def case_j_save_and_aof_rewrite_round_trip(c):
    data = tempfile.mkdtemp(prefix="cachely-lists-")
    try:
        n = c.node("--dir", data, "--save", "", "--appendonly", "yes",
                   "--auto-aof-rewrite-percentage", "0")
        r = cluster.client(n, timeout=60)
        fill_list(r, "big", 1000000)
        r.rpush("bin", b"\x00\xff", "", "x" * 100000, 9223372036854775807,
                -9223372036854775808)
        r.execute_command("SELECT", 3)
        r.rpush("in3", "a")
        r.execute_command("SELECT", 0)
        r.expire("bin", 3600)
        d = digest(r)
        r.execute_command("BGREWRITEAOF")
        wait_for(lambda: info(r, "persistence")["aof_rewrite_in_progress"] == "0"
                 and info(r, "persistence").get("aof_rewrites", "0") != "0", 60, "rewrite done")
        r.rpush("after", "rewrite")
        d2 = digest(r)
        check(d2 != d, "the digest follows the change")
        n.kill()
        n.start()
        r = cluster.client(n, timeout=60)
        check(digest(r) == d2, "AOF (rewritten) reload: same digest")
        check(r.llen("big") == 1000000 and r.ttl("bin") > 0, "length and TTL kept")
        check(r.execute_command("SAVE") in ("OK", True), "save")
        n.kill()
        os.remove(os.path.join(data, AOF))
        s = c.node("--dir", data, "--save", "")
        r = cluster.client(s, timeout=60)
        check(digest(r) == d2, "snapshot reload: same digest")
        check(r.lindex("bin", 2) == "x" * 100000, "long element intact")
    finally:
        shutil.rmtree(data, ignore_errors=True)


def case_k_eviction_counts_list_growth(c):
    n = c.node("--save", "", "--maxmemory", "20mb", "--maxmemory-policy", "allkeys-lru")
    r = cluster.client(n)
    val = "x" * 1000
    # Few keys that grow: only the growth of existing lists can push memory
    # past the limit, so eviction must see it.
    for rnd in range(300):
        p = r.pipeline(transaction=False)
        for k in range(20):
            p.rpush("grow:%d" % k, *([val] * 10))
        p.execute()
    used = int(info(r, "memory")["used_memory"])
    check(used <= 22 * 1024 * 1024, "used_memory %d over the limit" % used)
    check(int(info(r, "stats")["evicted_keys"]) > 0, "lists were evicted")
    # noeviction: pushes onto an existing list are refused once over the limit.
    r.execute_command("CONFIG", "SET", "maxmemory-policy", "noeviction")
    r.rpush("last", "a")
    try:
        for _ in range(100):
            r.rpush("last", *([val] * 100))
        check(False, "RPUSH never refused")
    except redis.ResponseError as e:
        check(str(e).startswith("OOM command not allowed"), "OOM error: %s" % e)
    check(r.lpop("last") == "a", "pops are still allowed")


def case_l_served_waiter_reply_leaves_first(c):
    """Regression (issue 13, bee-queue's lost job events): the reply of a
    waiter served by a write leaves before the writer's own reply, as in
    Redis 7.0 (which queues the writer for writing first and writes the
    newest queued first).  Linux's epoll lists sockets in the order they
    became readable, which shows the order of the server's writes; a client
    that handles them in that order (Node) once read two jobs on the
    waiter's socket before the producer's reply for the second."""
    n = c.node("--save", "")
    r = cluster.client(n)
    writes = [("LPUSH", "q", "v"),
              ("EVAL", "return redis.call('lpush', KEYS[1], 'v')", 1, "q"),
              ("MULTI",), ("LPUSH", "q", "v"), ("EXEC",)]
    for name, cmds in (("LPUSH", writes[0:1]), ("EVAL", writes[1:2]),
                       ("MULTI/EXEC", writes[2:5])):
        waiter, writer = Raw(n.port), Raw(n.port)
        waiter.send(("BRPOPLPUSH", "q", "active", 0))
        wait_blocked(r, 1)
        for cmd in cmds[:-1]:
            writer.send(cmd)
            writer.reply()
        ep = select.epoll()
        try:
            ep.register(waiter.sock.fileno(), select.EPOLLIN)
            ep.register(writer.sock.fileno(), select.EPOLLIN)
            writer.send(cmds[-1])
            got = []
            deadline = time.time() + 10
            while len(got) < 2 and time.time() < deadline:
                for fd, _ in ep.poll(0.5):
                    if fd not in got:
                        got.append(fd)
                        ep.unregister(fd)
        finally:
            ep.close()
        order = ["waiter" if fd == waiter.sock.fileno() else "writer" for fd in got]
        check(order == ["waiter", "writer"], "%s: replies left in the order %r" % (name, order))
        check(waiter.reply() == b"v", "%s: the waiter got the element" % name)
        writer.reply()
        r.delete("active")


def case_m_compress_depth_saves_memory(c):
    # Redis 7.0 (redis-server 7.0.11, same list, MEMORY USAGE SAMPLES 0):
    # 87,568 bytes at depth 0, 27,664 at depth 1.
    n = c.node("--save", "")
    r = cluster.client(n)
    items = ["element-number-%d-padding" % i for i in range(3000)]
    r.rpush("raw", *items)
    r.execute_command("CONFIG", "SET", "list-compress-depth", "1")
    r.rpush("lzf", *items)
    raw = r.memory_usage("raw", samples=0)
    lzf = r.memory_usage("lzf", samples=0)
    check(lzf * 2 < raw, "depth 1: %d bytes, depth 0: %d" % (lzf, raw))
    check(r.lrange("lzf", 0, -1) == items, "same elements")
    check(r.lindex("lzf", 1500) == items[1500], "an interior element")
    check(r.memory_usage("lzf", samples=0) == lzf, "a read leaves it compressed")
    r.lset("lzf", 1500, "changed")
    r.linsert("lzf", "BEFORE", items[1000], "inserted")
    check(r.memory_usage("lzf", samples=0) < lzf + 200, "a change leaves it compressed")
    # The option applies to lists made after it: raw stays as it was.
    r.rpush("raw", "more")
    check(r.memory_usage("raw", samples=0) >= raw, "an old list is not compressed")


CASES = [
    ("a", "BLPOP FIFO across clients, many waiters", case_a_fifo_across_clients),
    ("b", "timeouts: 0.01 s resolution, 0 = forever, RESP3", case_b_timeouts),
    ("c", "a disconnect or kill while blocked leaves nothing", case_c_disconnect_while_blocked),
    ("d", "CLIENT UNBLOCK (timeout and error)", case_d_client_unblock),
    ("e", "BLMOVE chains and wrong-typed keys", case_e_blmove_chain),
    ("f", "a pipelined push wakes a waiter", case_f_pipelined_push),
    ("g", "served blocking pops propagate their effects", case_g_served_pops_propagate_effects),
    ("h", "full sync of a 1,000,000-element list, then a write load", case_h_full_sync_of_a_million),
    ("i", "LPUSH/BLPOP load through a replica chain", case_i_replica_chain_with_blocking_load),
    ("j", "BGREWRITEAOF + restart, SAVE + restart", case_j_save_and_aof_rewrite_round_trip),
    ("k", "eviction counts the growth of lists (RPUSH onto existing keys)",
     case_k_eviction_counts_list_growth),
    ("l", "a served waiter's reply leaves before the writer's (bee-queue's lost events)",
     case_l_served_waiter_reply_leaves_first),
    ("m", "list-compress-depth 1: well under half the memory, reads and writes keep it",
     case_m_compress_depth_saves_memory),
]


def main():
    return cluster.run_cases(CASES, "", "CACHELY_LIST_CASES",
                             lambda fn: cluster.run_in(cluster.Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
