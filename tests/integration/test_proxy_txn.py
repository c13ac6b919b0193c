"""Transactions and scripts through cachely-proxy (issue 14).

From WATCH or MULTI until EXEC/DISCARD/UNWATCH/RESET a session is pinned to
one connection of its own to the master of the group owning its keys: the
replies (+QUEUED, EXEC's array, the node's errors) are the node's, keys in
several groups answer CROSSSLOT, a client that leaves frees the connection,
and a master killed during a transaction fails EXEC (nothing half-applied).
SCRIPT LOAD reaches every node, SCRIPT EXISTS answers for the deployment, a
NOSCRIPT from a node that missed a load is repaired, EVAL/EVALSHA/FCALL go
where their keys live, and a function loaded on one node directly is looked
up on the others and loaded where it is missing (cases v-z).  Real
processes, redis-py and ioredis.

Run with /usr/bin/python3.  Prints "N passed, M failed";
CACHELY_PROXY_TXN_CASES=a,b runs only those cases.
"""
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402  (puts tests/compat on sys.path)
import servers  # noqa: E402
import test_proxy as tp  # noqa: E402
from cluster import LOCAL, Err, Raw, check, client, info, wait_for  # noqa: E402

import redis  # noqa: E402

CLIENTS = os.path.join(servers.SRCDIR, "tests", "clients")
NODE = shutil.which("node") or "/usr/bin/node"
RETURN1 = "return 1"
RETURN1_SHA = "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"


def three_groups(c, *args):
    g = [c.node() for _ in range(3)]
    p = c.proxy(None, "--group", "a 0-5460 %s" % g[0].addr,
                "--group", "b 5461-10922 %s" % g[1].addr,
                "--group", "c 10923-16383 %s" % g[2].addr, *args, ready=3)
    return g, p


def key_in(px_client, node, prefix):
    """A key (prefix + n) that the proxy stores on node."""
    direct = client(node)
    for i in range(1000):
        k = "%s%d" % (prefix, i)
        px_client.set(k, "probe")
        if direct.exists(k):
            px_client.delete(k)
            return k
        px_client.delete(k)
    raise AssertionError("no key found for %s" % node.addr)


def error_of(fn):
    try:
        fn()
    except redis.ResponseError as e:
        return str(e)
    return None


def noscript(fn):
    try:
        fn()
    except redis.exceptions.NoScriptError:
        return True
    return False


def cmdstat(node, name):
    return tp.cmdstat(client(node), name)


# ---- transactions ------------------------------------------------------------

SEQUENCE = [
    ("MULTI",), ("SET", "a", "1"), ("INCR", "a"), ("RPUSH", "l", "x"), ("GET", "a"), ("EXEC",),
    ("MULTI",), ("FOO", "bar"), ("SET", "a", "7"), ("EXEC",), ("GET", "a"),
    ("MULTI",), ("SET", "a"), ("EXEC",),
    ("MULTI",), ("INCR", "l"), ("SET", "a", "8"), ("EXEC",), ("GET", "a"),
    ("EXEC",), ("DISCARD",), ("MULTI",), ("MULTI",), ("WATCH", "x"), ("EXEC",),
    ("MULTI",), ("EXEC",), ("MULTI",), ("PING",), ("ECHO", "e"), ("SET", "a", "9"), ("EXEC",),
    ("MULTI",), ("PING",), ("EXEC",),
    ("WATCH", "a"), ("GET", "a"), ("MULTI",), ("SET", "a", "10"), ("DISCARD",), ("UNWATCH",),
    ("WATCH", "a"), ("MULTI",), ("SET", "a", "11"), ("EXEC",), ("GET", "a"),
    ("UNWATCH",), ("WATCH", "a", "l"), ("UNWATCH",), ("GET", "a"),
    ("MULTI",), ("DISCARD",), ("MULTI",), ("EXEC", "x"), ("GET", "a"),
    ("MULTI",), ("EVAL", "return redis.call('incr', KEYS[1])", "1", "a"), ("EXEC",),
]


def case_replies_are_the_nodes(c):
    m, reps = c.group()
    p = c.proxy(m.addr)
    for target in (m, p):
        client(m).flushall()
        conn = Raw(target.port)
        target.got = [conn.call(*cmd) for cmd in SEQUENCE]
    for cmd, want, got in zip(SEQUENCE, m.got, p.got):
        check(want == got, "%r: node %r, proxy %r" % (cmd, want, got))
    check(p.got[5] == ["OK", 2, 1, b"2"], "the first EXEC: %r" % (p.got[5],))


def case_watch_aborts_and_releases(c):
    m, reps = c.group()
    p = c.proxy(m.addr, "--blocking-pool-size", "1")
    a, b = Raw(p.port), client(p)
    b.set("k", "0")
    check(a.call("WATCH", "k") == "OK" and a.call("GET", "k") == b"0", "WATCH, GET")
    b.set("k", "other")
    check(a.call("MULTI") == "OK" and a.call("SET", "k", "mine") == "QUEUED", "queued")
    check(a.call("EXEC") is None, "EXEC after a change to a watched key is a nil array")
    check(b.get("k") == "other", "the aborted transaction wrote nothing")
    # The one transaction connection was given back: another session gets it.
    pipe = b.pipeline(transaction=True)
    pipe.set("k", "1").incr("k")
    check(pipe.execute() == [True, 2], "redis-py pipeline(transaction=True)")
    # RESET ends a transaction and frees the connection too.
    check(a.call("MULTI") == "OK" and a.call("SET", "k", "never") == "QUEUED", "queued")
    check(a.call("RESET") == "RESET", "RESET")
    check(a.call("EXEC") == Err("ERR EXEC without MULTI"), "the transaction is gone")
    pipe = b.pipeline(transaction=True)
    pipe.incr("k")
    check(pipe.execute() == [3], "the connection is free after RESET; nothing ran")


def case_pool_exhausted_and_disconnect(c):
    m, reps = c.group()
    p = c.proxy(m.addr, "--blocking-pool-size", "1")
    a, b = Raw(p.port), Raw(p.port)
    check(a.call("MULTI") == "OK" and a.call("SET", "gone", "1") == "QUEUED", "a pinned")
    check(b.call("MULTI") == "OK", "MULTI is answered by the proxy")
    got = b.call("SET", "x", "1")
    check(isinstance(got, Err) and "transaction connections" in got and "in use" in got,
          "a second transaction with one connection per node: %r" % (got,))
    check(b.call("EXEC") == Err("EXECABORT Transaction discarded because of previous errors."),
          "and its EXEC aborts")
    # The client leaves mid-transaction: the connection goes back, nothing ran.
    a.close()

    def try_txn():
        r = Raw(p.port)
        r.call("MULTI")
        got = r.call("SET", "x", "2")
        if got != "QUEUED":
            r.call("DISCARD")
            return False
        return r.call("EXEC") == ["OK"]
    wait_for(try_txn, 10, "the left client's connection is back in the pool")
    check(client(m).get("gone") is None, "the left client's queued SET never ran")
    check(client(m).get("x") == "2", "the next transaction ran")


def case_pipelined_transactions_keep_order(c):
    m, reps = c.group()
    p = c.proxy(m.addr, "--blocking-pool-size", "1")
    a = Raw(p.port)
    # 20 transactions and a GET in one write: each runs after the one before
    # (on the one kept connection), the GET after the last EXEC.
    cmds = [("SET", "n", "100")]
    for _ in range(20):
        cmds += [("MULTI",), ("INCR", "n"), ("EXEC",)]
    cmds += [("GET", "n")]
    a.send(*cmds)
    got = [a.reply() for _ in cmds]
    execs = [got[i] for i in range(3, len(got) - 1, 3)]
    check(execs == [[101 + i] for i in range(20)], "EXEC replies in order: %r" % execs[:5])
    check(got[-1] == b"120", "the GET ran after the last EXEC: %r" % got[-1])
    # The same from a client that half-closes after sending: the held
    # transactions still run and every reply comes back, then the close.
    h = Raw(p.port)
    h.sendraw(b"".join(cluster.resp(*x) for x in cmds[1:]) + cluster.resp("QUIT")
              + cluster.resp("SET", "after-quit", "1"))
    import socket
    h.sock.shutdown(socket.SHUT_WR)
    got = [h.reply() for _ in range(len(cmds))]
    check(got[2::3] == [[121 + i] for i in range(20)] and got[-2] == b"140" and got[-1] == "OK",
          "after a half-close: %r" % got[-3:])
    check(h.at_eof(), "closed after the replies")
    check(client(m).get("after-quit") is None, "nothing after QUIT ran")
    # The one connection went back to the pool once the replies were in.
    b = Raw(p.port)
    check(b.call("MULTI") == "OK" and b.call("INCR", "n") == "QUEUED", "another session pins it")
    check(b.call("EXEC") == [141], "and runs")


def case_crossslot_and_hash_tags(c):
    g, p = three_groups(c)
    pc = client(p)
    ka = key_in(pc, g[0], "ka")
    kb = key_in(pc, g[1], "kb")
    a = Raw(p.port)
    got = a.call("WATCH", ka, kb)
    check(isinstance(got, Err) and got.startswith("CROSSSLOT"), "WATCH across groups: %r" % got)
    check(a.call("MULTI") == "OK" and a.call("SET", ka, "1") == "QUEUED", "first key")
    got = a.call("SET", kb, "1")
    check(isinstance(got, Err) and got.startswith("CROSSSLOT"), "second group: %r" % got)
    check(a.call("EXEC") == Err("EXECABORT Transaction discarded because of previous errors."),
          "EXEC after a CROSSSLOT aborts")
    check(pc.get(ka) is None, "nothing of it ran")
    # Hash tags keep keys together; keyless commands before the first key
    # are queued for the group the key then picks.
    check(a.call("MULTI") == "OK" and a.call("PING") == "QUEUED", "keyless first")
    check(a.call("SET", "{%s}x" % kb, "1") == "QUEUED", "tagged key")
    check(a.call("INCR", "{%s}y" % kb) == "QUEUED", "same tag")
    check(a.call("EXEC") == ["PONG", "OK", 1], "EXEC")
    check(client(g[1]).get("{%s}x" % kb) == "1", "it ran on the key's group")
    # A transaction of keyless commands only goes to one group.
    check(a.call("MULTI") == "OK" and a.call("PING") == "QUEUED", "keyless")
    check(a.call("EXEC") == ["PONG"], "keyless EXEC")
    # While watching, the watched group's commands go on the pinned
    # connection, others as usual.
    check(a.call("WATCH", ka) == "OK", "WATCH")
    check(a.call("SET", kb, "v") == "OK" and a.call("GET", ka) is None, "both groups")
    check(a.call("MULTI") == "OK" and a.call("SET", ka, "w") == "QUEUED", "queued")
    check(a.call("EXEC") == ["OK"], "EXEC")
    check(client(g[0]).get(ka) == "w" and client(g[1]).get(kb) == "v", "each on its group")


def case_master_killed_during_transaction(c):
    m, reps = c.group()
    p = c.proxy(m.addr)
    pc = client(p)
    check(pc.script_load(RETURN1) == RETURN1_SHA, "SCRIPT LOAD")
    for r in reps:
        check(client(r).script_exists(RETURN1_SHA) == [True], "the load reached %s" % r.addr)
    a = Raw(p.port, timeout=30)
    check(a.call("MULTI") == "OK", "MULTI")
    check(a.call("SET", "t1", "1") == "QUEUED" and a.call("SET", "t2", "2") == "QUEUED", "queued")
    m.kill()
    got = a.call("EXEC")
    check(isinstance(got, Err) and "cachely-proxy" in got, "EXEC after the kill: %r" % (got,))
    print("     EXEC after kill -9: %s" % got)
    # Failover: a replica becomes master; nothing of the transaction is there.
    new = wait_for(lambda: [r for r in reps if info(client(r), "replication")["role"] == "master"],
                   15, "a replica promoted")[0]
    wait_for(lambda: tp.topology(pc)[0].get("master") == new.addr, 15, "the proxy follows")
    check(client(new).get("t1") is None and client(new).get("t2") is None,
          "nothing of the killed transaction was applied")
    check(info(pc, "topology")["transactions_aborted"] == "1", "INFO counts the abort")
    check(a.call("GET", "t1") is None, "the session goes on")
    pipe = pc.pipeline(transaction=True)
    pipe.set("t1", "after").get("t1")
    check(pipe.execute() == [True, "after"], "a transaction on the new master")
    check(pc.evalsha(RETURN1_SHA, 0) == 1, "EVALSHA after the failover")


def case_hung_master_fails_exec(c):
    import signal
    m, reps = c.group()
    p = c.proxy(m.addr, "--failover", "no", "--backend-timeout-ms", "500")
    a = Raw(p.port, timeout=30)
    check(a.call("MULTI") == "OK" and a.call("SET", "h", "1") == "QUEUED", "queued")
    m.proc.send_signal(signal.SIGSTOP)
    try:
        t0 = time.time()
        got = a.call("EXEC")
        took = time.time() - t0
    finally:
        m.proc.send_signal(signal.SIGCONT)
    check(isinstance(got, Err) and "cachely-proxy" in got, "EXEC on a stopped master: %r" % got)
    check(took < 5, "the error came after the backend timeout, not never (%.1fs)" % took)
    wait_for(lambda: client(p).ping(), 10, "the proxy answers")
    check(a.call("PING") == "PONG", "the session goes on")


def case_write_ack_waits_after_exec(c):
    m, reps = c.group()
    p = c.proxy(m.addr, "--write-ack", "all")
    pc = client(p)
    before = cmdstat(m, "wait")
    pipe = pc.pipeline(transaction=True)
    pipe.set("acked", "1").incr("acked")
    check(pipe.execute() == [True, 2], "EXEC")
    check(cmdstat(m, "wait") == before + 1, "one WAIT followed the EXEC")
    for r in reps:
        check(client(r).get("acked") == "2", "replica %s has it when EXEC answered" % r.addr)
    pipe = pc.pipeline(transaction=True)
    pipe.get("acked")
    check(pipe.execute() == ["2"], "read-only EXEC")
    check(cmdstat(m, "wait") == before + 1, "no WAIT after a transaction that wrote nothing")
    # Scripts may write: a WAIT follows them too, and a repaired EVALSHA is
    # acknowledged after the call that ran (not the one that said NOSCRIPT).
    body = "return redis.call('incr', KEYS[1])"
    check(pc.eval(body, 1, "sc") == 1, "EVAL")
    check(cmdstat(m, "wait") == before + 2, "a WAIT followed the EVAL")
    client(m).script_flush()
    import hashlib
    check(pc.evalsha(hashlib.sha1(body.encode()).hexdigest(), 1, "sc") == 2, "repaired EVALSHA")
    # One WAIT behind the call that said NOSCRIPT (its answer ignored), one
    # behind the call that ran.
    check(cmdstat(m, "wait") == before + 4, "a new WAIT followed the repaired call")
    for r in reps:
        check(client(r).get("sc") == "2", "replica %s has the repaired call's write" % r.addr)
    check(info(pc, "topology")["noscript_repairs"] == "1", "it was repaired")


def case_redis_py_watch_retries_concurrently(c):
    g, p = three_groups(c)

    def worker(errors):
        r = client(p)
        try:
            for _ in range(30):
                with r.pipeline() as pipe:
                    while True:
                        try:
                            pipe.watch("counter")
                            v = int(pipe.get("counter") or 0)
                            pipe.multi()
                            pipe.set("counter", v + 1)
                            pipe.execute()
                            break
                        except redis.WatchError:
                            continue
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(e)
    errors = []
    ts = [threading.Thread(target=worker, args=(errors,)) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check(not errors, "workers failed: %r" % errors)
    check(client(p).get("counter") == "90", "90 WATCH-guarded increments: %r"
          % client(p).get("counter"))


def run_ioredis(p):
    import test_proxy_clients as tpc
    tpc.ensure_node_clients()
    out = subprocess.run([NODE, os.path.join(CLIENTS, "txn.js"), str(p.port)], cwd=CLIENTS,
                         capture_output=True, text=True, timeout=120)
    for line in out.stdout.splitlines():
        print("     ioredis: %s" % line)
    check(out.returncode == 0 and "PASS ioredis-txn" in out.stdout,
          "ioredis txn.js failed (%d): %s" % (out.returncode, out.stderr.strip()[-800:]))


def case_ioredis(c):
    m, reps = c.group()
    run_ioredis(c.proxy(m.addr))
    g, p = three_groups(c)
    run_ioredis(p)


# ---- the node's compat scripts through a proxy ---------------------------------

# Lines whose replies differ by design, with the reason (file, line number).
REPLAY_KNOWN = {
    # A keyless command before the transaction's first key is answered
    # +QUEUED by the proxy (the node is not chosen yet): under maxmemory the
    # node would refuse it at queue time.
    ("multi.cmds", 161),
    # SUBSCRIBE and MONITOR inside MULTI would turn the pinned connection
    # into a subscriber/monitor: refused, and EXEC aborts.
    ("multi.cmds", 169), ("multi.cmds", 171), ("multi.cmds", 172), ("multi.cmds", 174),
    ("multi.cmds", 175),
    # INFO is the proxy's own.
    ("scripting.cmds", None),
    # redis.acl_check_cmd answers for the user the script runs as: on the
    # node behind a proxy that is the proxy's backend user, not the
    # client's (see README, "through the proxy").
    ("scripting.cmds", 237), ("scripting.cmds", 238), ("scripting.cmds", 241),
}
# Node settings the proxy refuses: sent to the node behind it directly.
DIRECT = ((b"CONFIG", b"SET"), (b"DEBUG", b"SET-ACTIVE-EXPIRE"))


def replay(path, dport, pport, bport, proto):
    """[(lineno, line, direct, proxy)] that differ, and how many compared."""
    import test_compat as tc
    name = os.path.basename(path)
    conns = {}

    def conn(n):
        if n not in conns:
            conns[n] = (tc.Conn(dport), tc.Conn(pport))
            for x in conns[n]:
                if proto == 3:
                    x.call([b"HELLO", b"3"])
        return conns[n]
    behind = tc.Conn(bport)
    d, p = conn(0)
    for x in (d, p):
        x.call([b"FLUSHALL"])
    behind.call([b"SCRIPT", b"FLUSH"])
    behind.call([b"FUNCTION", b"FLUSH"])
    d.call([b"SCRIPT", b"FLUSH"])
    d.call([b"FUNCTION", b"FLUSH"])
    bad, compared = [], 0
    for lineno, raw in enumerate(open(path, encoding="utf-8"), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("!sleep"):
            time.sleep(int(line.split()[1]) / 1000.0)
            continue
        if line.startswith("!"):
            continue
        n = 0
        if line.startswith("@"):
            head, line = line.split(None, 1)
            n = int(head[1:])
        mode = ""
        if line[0] in "~?":
            mode, line = line[0], line[1:]
        args = tc.split_args(line)
        dc, pc = conn(n)
        draw, dtree = dc.call(args)
        if tuple(a.upper() for a in args[:2]) in DIRECT:
            behind.call(args)
            continue
        praw, ptree = pc.call(args)
        if b"is not supported through cachely-proxy" in praw or (name, lineno) in REPLAY_KNOWN \
                or ((name, None) in REPLAY_KNOWN and args[0].upper() == b"INFO"):
            continue
        compared += 1
        if mode == "~":
            ok = tc.canon(dtree) == tc.canon(ptree)
        elif mode == "?":
            ok = draw[:1] == praw[:1]
        else:
            ok = draw == praw
        if not ok:
            bad.append((lineno, line, draw[:200], praw[:200]))
    return bad, compared


def case_compat_scripts_through_a_proxy(c):
    direct = c.node("--enable-debug-command", "yes")
    behind = c.node("--enable-debug-command", "yes")
    p = c.proxy(behind.addr, ready=1)
    total, failed = 0, []
    for name in ("multi", "scripting", "functions"):
        path = os.path.join(servers.SRCDIR, "tests", "compat", name + ".cmds")
        for proto in (2, 3):
            bad, n = replay(path, direct.port, p.port, behind.port, proto)
            total += n
            for lineno, line, dr, pr in bad[:5]:
                print("  %s.cmds:%d RESP%d %s\n    node:  %r\n    proxy: %r"
                      % (name, lineno, proto, line, dr, pr))
            if bad:
                failed.append("%s RESP%d: %d of %d" % (name, proto, len(bad), n))
    check(not failed, "replies differ: %s" % ", ".join(failed))
    check(total > 600, "only %d replies compared" % total)


# ---- scripts -----------------------------------------------------------------


def case_scripts_route_by_keys(c):
    g, p = three_groups(c)
    pc = client(p)
    keys = [key_in(pc, n, "s%d-" % i) for i, n in enumerate(g)]
    body = "return redis.call('set', KEYS[1], ARGV[1])"
    for k, n in zip(keys, g):
        check(pc.eval(body, 1, k, "v") == "OK", "EVAL")
        check(client(n).get(k) == "v", "EVAL ran on %s's group" % k)
    err = error_of(lambda: pc.eval(body, 2, keys[0], keys[1], "v"))
    check(err is not None and err.startswith("CROSSSLOT"), "EVAL across groups: %r" % err)
    # No keys: one group, always the same.
    for _ in range(5):
        pc.eval("redis.call('incr', 'nokeys') return 1", 0)
    check(client(g[0]).get("nokeys") == "5", "keyless scripts go to one group")
    # SCRIPT LOAD on every node; EVALSHA wherever the key lives.
    sha = pc.script_load(body)
    for n in g:
        check(client(n).script_exists(sha) == [True], "loaded on %s" % n.addr)
    for k in keys:
        check(pc.evalsha(sha, 1, k, "w") == "OK", "EVALSHA")
    # SCRIPT EXISTS: 1 only where every node has it.
    only_one = "return 'only on one node'"
    client(g[2]).script_load(only_one)
    import hashlib
    one_sha = hashlib.sha1(only_one.encode()).hexdigest()
    check(pc.script_exists(sha, one_sha, "0" * 40) == [True, False, False],
          "SCRIPT EXISTS answers for the deployment")
    check(pc.script_flush() is True, "SCRIPT FLUSH")
    for n in g:
        check(client(n).script_exists(sha) == [False], "flushed on %s" % n.addr)
    check(noscript(lambda: pc.evalsha(sha, 1, keys[0], "x")), "NOSCRIPT after a flush")
    # Functions: loaded on every master, called where the key lives.
    lib = ("#!lua name=ptxlib\n"
           "redis.register_function('setk', function(keys, args) "
           "return redis.call('set', keys[1], args[1]) end)\n"
           "redis.register_function{function_name='getk', callback=function(keys, args) "
           "return redis.call('get', keys[1]) end, flags={'no-writes'}}")
    check(pc.execute_command("FUNCTION", "LOAD", lib) == "ptxlib", "FUNCTION LOAD")
    for k, n in zip(keys, g):
        check(pc.execute_command("FCALL", "setk", 1, k, "f") == "OK", "FCALL")
        check(client(n).get(k) == "f", "FCALL ran on the key's group")
        check(pc.execute_command("FCALL_RO", "getk", 1, k) == "f", "FCALL_RO")
    err = error_of(lambda: pc.execute_command("FUNCTION", "LOAD", lib))
    check(err is not None and "already exists" in err, "FUNCTION LOAD again: %r" % err)
    check(pc.execute_command("FUNCTION", "DELETE", "ptxlib") == "OK", "FUNCTION DELETE")
    for n in g:
        check(client(n).execute_command("FUNCTION", "LIST") == [], "deleted on %s" % n.addr)


def case_noscript_repaired(c):
    g, p = three_groups(c)
    pc = client(p)
    k = key_in(pc, g[1], "nr")
    body = "return redis.call('incr', KEYS[1])"
    sha = pc.script_load(body)
    # The node restarts empty: it never saw the load.
    g[1].kill()
    for f in os.listdir(g[1].dir):
        if f != "server.log":
            path = os.path.join(g[1].dir, f)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    g[1].start()
    check(client(g[1]).script_exists(sha) == [False], "the restarted node has no scripts")
    def reaches():
        try:
            return pc.set(k, "0")
        except redis.ResponseError:
            return False  # "not reachable" until the proxy reconnects
    wait_for(reaches, 10, "the proxy reaches the restarted node")
    check(pc.evalsha(sha, 1, k) == 1, "EVALSHA through the proxy still works")
    check(client(g[1]).script_exists(sha) == [True], "the proxy loaded it there")
    check(client(g[1]).get(k) == "1", "and the call ran once")
    check(info(pc, "topology")["noscript_repairs"] == "1", "INFO counts the repair")
    # A script learnt from EVAL is repaired too; an unknown sha is not.
    body2 = "return 'learnt'"
    check(pc.eval(body2, 1, k) == "learnt", "EVAL")
    client(g[1]).script_flush()
    import hashlib
    check(pc.evalsha(hashlib.sha1(body2.encode()).hexdigest(), 1, k) == "learnt",
          "EVALSHA of a body the proxy saw in EVAL")
    check(noscript(lambda: pc.evalsha("f" * 40, 1, k)), "an unknown sha stays NOSCRIPT")


def case_read_only_scripts_follow_read_policy(c):
    m, reps = c.group()
    p = c.proxy(m.addr, "--read-policy", "replicas")
    pc = client(p)
    pc.set("ro", "x")
    tp.wait_synced(m, *reps)
    sha = pc.script_load("return redis.call('get', KEYS[1])")
    before = sum(cmdstat(r, "evalsha_ro") for r in reps)
    for _ in range(6):
        check(pc.execute_command("EVALSHA_RO", sha, 1, "ro") == "x", "EVALSHA_RO")
    check(sum(cmdstat(r, "evalsha_ro") for r in reps) == before + 6,
          "EVALSHA_RO ran on the replicas")
    check(cmdstat(m, "evalsha_ro") == 0, "not on the master")
    check(pc.evalsha(sha, 1, "ro") == "x" and cmdstat(m, "evalsha") == 1,
          "EVALSHA goes to the master")


# ---- connection state and scripts inside transactions -------------------------

# SELECT, HELLO and CLIENT SETNAME between WATCH and MULTI and inside MULTI:
# queued on the pinned connection as on one Redis (the commands after them
# run in their database / protocol), and the session follows once EXEC ran.
STATE_SEQUENCE = [
    ("FLUSHALL",), ("SET", "k", "db0"),
    ("MULTI",), ("SELECT", "1"), ("SET", "k", "db1"), ("GET", "k"), ("EXEC",),
    ("GET", "k"), ("SELECT", "0"), ("GET", "k"),
    ("MULTI",), ("SELECT", "99"), ("SELECT", "x"), ("PING",), ("EXEC",), ("GET", "k"),
    ("SET", "w", "0"), ("WATCH", "w"), ("SELECT", "2"), ("MULTI",), ("SELECT", "0"),
    ("SET", "w", "x"), ("EXEC",), ("GET", "w"),
    ("WATCH", "w"), ("SET", "w", "y"), ("MULTI",), ("SELECT", "3"), ("EXEC",), ("GET", "w"),
    ("MULTI",), ("CLIENT", "SETNAME", "foo"), ("CLIENT", "GETNAME"), ("EXEC",),
    ("CLIENT", "GETNAME"),
    ("MULTI",), ("CLIENT", "SETNAME", "bad name"), ("EXEC",), ("CLIENT", "GETNAME"),
    ("WATCH", "w"), ("CLIENT", "SETNAME", "bar"), ("MULTI",), ("CLIENT", "GETNAME"),
    ("EXEC",), ("CLIENT", "GETNAME"),
    ("WATCH", "w"), ("HELLO", "3"), ("MULTI",), ("HGETALL", "nokey"), ("GET", "w"), ("EXEC",),
    ("HGETALL", "nokey"), ("HELLO", "2"),
    ("MULTI",), ("SET", "hh", "1"), ("HELLO", "3"), ("HGETALL", "nokey"), ("EXEC",),
    ("HGETALL", "nokey"), ("HELLO", "2"), ("HGETALL", "nokey"),
    ("MULTI",), ("HELLO", "4"), ("HELLO", "x"), ("EXEC",), ("HGETALL", "nokey"),
    ("MULTI",), ("HELLO", "3", "SETNAME", "baz"), ("DISCARD",), ("CLIENT", "GETNAME"),
    ("HGETALL", "nokey"),
]


def norm_hello(x):
    """HELLO's reply names its server: its id and version are not compared."""
    if isinstance(x, dict) and b"id" in x:
        return {**x, b"id": 0, b"version": b""}
    if isinstance(x, list) and b"id" in x[::2] and b"proto" in x[::2]:
        y = list(x)
        y[y.index(b"id") + 1] = 0
        y[y.index(b"version") + 1] = b""
        return y
    if isinstance(x, list):
        return [norm_hello(e) for e in x]
    return x


def case_state_commands_in_transactions(c):
    direct = c.node()
    m, reps = c.group()
    p = c.proxy(m.addr)
    for target in (direct, p):
        conn = Raw(target.port)
        target.got = [norm_hello(conn.call(*cmd)) for cmd in STATE_SEQUENCE]
        # Pipelined: what follows an EXEC that changed the database runs in it.
        conn.send(("MULTI",), ("SELECT", "5"), ("SET", "pk", "5"), ("EXEC",),
                  ("GET", "pk"), ("MULTI",), ("GET", "pk"), ("SELECT", "0"), ("EXEC",),
                  ("GET", "pk"), ("CLIENT", "GETNAME"))
        target.got += [norm_hello(conn.reply()) for _ in range(11)]
        conn.close()
    for cmd, want, got in zip(STATE_SEQUENCE + [("pipelined",)] * 11, direct.got, p.got):
        check(want == got, "%r: node %r, proxy %r" % (cmd, want, got))
    # The session's own view followed: CLIENT LIST names it, its db is 0.
    a = Raw(p.port)
    check(a.call("MULTI") == "OK" and a.call("CLIENT", "SETNAME", "named") == "QUEUED"
          and a.call("SELECT", "7") == "QUEUED" and a.call("EXEC") == ["OK", "OK"], "EXEC")
    line = [x for x in a.call("CLIENT", "LIST").decode().splitlines() if "name=named" in x]
    check(len(line) == 1 and " db=7 " in line[0], "CLIENT LIST: %r" % line)


def case_evalsha_in_multi_missing_on_node(c):
    m, reps = c.group()
    p = c.proxy(m.addr)
    pc = client(p)
    body = "return redis.call('incr', KEYS[1])"
    sha = pc.script_load(body)
    ro_body = "return redis.call('get', KEYS[1])"
    ro_sha = pc.script_load(ro_body)
    client(m).script_flush()  # the master missed the load (restarted, promoted)
    a = Raw(p.port)
    check(a.call("MULTI") == "OK" and a.call("EVALSHA", sha, "1", "e") == "QUEUED"
          and a.call("EVALSHA", sha, "1", "e") == "QUEUED"
          and a.call("EVALSHA_RO", ro_sha, "1", "e") == "QUEUED", "queued")
    got = a.call("EXEC")
    check(got == [1, 2, b"2"], "EXEC as on one Redis (no NOSCRIPT inside it): %r" % (got,))
    # The same between WATCH and MULTI, and a keyless script queued before
    # the transaction's first key.
    client(m).script_flush()
    check(a.call("WATCH", "e") == "OK"
          and a.call("EVALSHA_RO", ro_sha, "1", "e") == b"2", "watching")
    check(a.call("MULTI") == "OK" and a.call("EVALSHA", sha, "0") == "QUEUED"
          and a.call("SET", "e2", "1") == "QUEUED", "keyless first")
    got = a.call("EXEC")
    check(isinstance(got, list) and got[1] == "OK" and isinstance(got[0], Err)
          and "Please specify at least one key" not in got[0], "keyless EVALSHA: %r" % (got,))
    check(client(m).get("e") == "2", "each call ran once")
    # An unknown sha is still NOSCRIPT inside EXEC, as on one Redis.
    check(a.call("MULTI") == "OK" and a.call("EVALSHA", "f" * 40, "0") == "QUEUED", "queued")
    got = a.call("EXEC")
    check(isinstance(got, list) and len(got) == 1 and got[0].startswith("NOSCRIPT"),
          "unknown sha: %r" % (got,))


def case_fcall_after_node_restarted_empty(c):
    m = c.node()
    p = c.proxy(m.addr, ready=1)
    pc = client(p)
    lib = ("#!lua name=rlib\n"
           "redis.register_function('incrk', function(keys, args) "
           "return redis.call('incr', keys[1]) end)\n"
           "redis.register_function{function_name='getk', callback=function(keys, args) "
           "return redis.call('get', keys[1]) end, flags={'no-writes'}}")
    check(pc.execute_command("FUNCTION", "LOAD", lib) == "rlib", "FUNCTION LOAD")
    check(pc.execute_command("FCALL", "incrk", 1, "f") == 1, "FCALL")
    m.kill()
    for f in os.listdir(m.dir):
        if f != "server.log":
            path = os.path.join(m.dir, f)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    m.start()
    check(client(m).execute_command("FUNCTION", "LIST") == [], "the node restarted empty")
    def reaches():
        try:
            return pc.set("f", "10")
        except redis.ResponseError:
            return False  # "not reachable" until the proxy reconnects
    wait_for(reaches, 10, "the proxy reaches the restarted node")

    def probed_up():
        # What goes to every node (SCRIPT/FUNCTION) skips a node its probes
        # have not seen back yet: "no node is reachable" until then.
        try:
            return pc.execute_command("SCRIPT", "EXISTS", "0" * 40) == [False]
        except redis.ResponseError:
            return False
    wait_for(probed_up, 10, "the proxy's probes see the restarted node")
    check(pc.execute_command("FCALL", "incrk", 1, "f") == 11, "FCALL repaired")
    check(client(m).get("f") == "11", "the call ran once")
    client(m).execute_command("FUNCTION", "FLUSH")
    check(pc.execute_command("FCALL_RO", "getk", 1, "f") == "11", "FCALL_RO repaired")
    check(info(pc, "topology")["noscript_repairs"] == "2", "INFO counts the repairs")
    # A library deleted through the proxy is forgotten: no repair brings it back.
    check(pc.execute_command("FUNCTION", "DELETE", "rlib") == "OK", "FUNCTION DELETE")
    err = error_of(lambda: pc.execute_command("FCALL", "incrk", 1, "f"))
    check(err == "Function not found", "after DELETE: %r" % err)
    check(client(m).execute_command("FUNCTION", "LIST") == [], "and it stays deleted")



RLIB = ("#!lua name=rlib\n"
        "redis.register_function('incrk', function(keys, args) "
        "return redis.call('incr', keys[1]) end)\n"
        "redis.register_function{function_name='getk', callback=function(keys, args) "
        "return redis.call('get', keys[1]) end, flags={'no-writes'}}")


def case_fcall_in_multi_library_lost(c):
    m = c.node()
    p = c.proxy(m.addr, ready=1)
    pc = client(p)
    check(pc.execute_command("FUNCTION", "LOAD", RLIB) == "rlib", "FUNCTION LOAD")
    node = client(m)
    a = Raw(p.port)
    # Sent whole (one block on the pooled connection): the library goes
    # ahead of MULTI.
    node.execute_command("FUNCTION", "FLUSH")  # the master lost it (restarted empty)
    a.send(("MULTI",), ("SET", "fm", "1"), ("FCALL", "incrk", "1", "fm"), ("EXEC",))
    got = [a.reply() for _ in range(4)]
    check(got == ["OK", "QUEUED", "QUEUED", ["OK", 2]],
          "a whole transaction: never half applied: %r" % (got,))
    # Pinned by WATCH: MULTI is on the node before the FCALL comes, so the
    # library goes on another connection and EXEC waits for it.
    node.execute_command("FUNCTION", "FLUSH")
    check(a.call("WATCH", "fm") == "OK" and a.call("MULTI") == "OK"
          and a.call("SET", "fm", "5") == "QUEUED"
          and a.call("FCALL", "incrk", "1", "fm") == "QUEUED", "queued")
    got = a.call("EXEC")
    check(got == ["OK", 6], "an interactive transaction: %r" % (got,))
    # The same with MULTI, FCALL and EXEC in one write behind the WATCH.
    node.execute_command("FUNCTION", "FLUSH")
    check(a.call("WATCH", "fm") == "OK", "WATCH")
    a.send(("MULTI",), ("FCALL", "incrk", "1", "fm"), ("FCALL_RO", "getk", "1", "fm"),
           ("EXEC",))
    got = [a.reply() for _ in range(4)]
    check(got == ["OK", "QUEUED", "QUEUED", [7, b"7"]], "pipelined behind WATCH: %r" % (got,))
    # A FCALL between WATCH and MULTI (on the pinned connection) too.
    node.execute_command("FUNCTION", "FLUSH")
    check(a.call("WATCH", "fm") == "OK" and a.call("FCALL_RO", "getk", "1", "fm") == b"7"
          and a.call("MULTI") == "OK" and a.call("FCALL", "incrk", "1", "fm") == "QUEUED"
          and a.call("EXEC") == [8], "between WATCH and MULTI")
    # MULTI without WATCH, pinned at its first key once answered; FCALL_RO.
    node.execute_command("FUNCTION", "FLUSH")
    check(a.call("MULTI") == "OK" and a.call("INCR", "fm") == "QUEUED"
          and a.call("FCALL_RO", "getk", "1", "fm") == "QUEUED", "queued")
    got = a.call("EXEC")
    check(got == [9, b"9"], "FCALL_RO in an interactive transaction: %r" % (got,))
    check(node.get("fm") == "9", "each call ran once")
    # A library the node has is left as it is (no REPLACE): its own
    # version of rlib answers.
    node.execute_command("FUNCTION", "LOAD", "REPLACE", RLIB.replace(
        "return redis.call('incr', keys[1])", "return 'node'"))
    a.send(("MULTI",), ("FCALL", "incrk", "1", "fm"), ("EXEC",))
    got = [a.reply() for _ in range(3)]
    check(got == ["OK", "QUEUED", [b"node"]], "the node's library kept: %r" % (got,))
    # A function the proxy knows nothing of is still the node's error.
    a.send(("MULTI",), ("SET", "fm", "9"), ("FCALL", "nosuch", "0"), ("EXEC",))
    got = [a.reply() for _ in range(4)]
    check(got[:3] == ["OK", "QUEUED", "QUEUED"] and got[3][0] == "OK"
          and isinstance(got[3][1], Err) and "Function not found" in got[3][1],
          "an unknown function: %r" % (got,))


def case_function_restore_kept_for_repair(c):
    m = c.node()
    p = c.proxy(m.addr, ready=1)
    pc = client(p)
    node = redis.Redis(host=LOCAL, port=m.port)  # bytes: the payload is binary
    praw = redis.Redis(host=LOCAL, port=p.port)
    node.execute_command("FUNCTION", "LOAD", RLIB)  # on the node: the proxy never saw it
    payload = node.execute_command("FUNCTION", "DUMP")
    node.execute_command("FUNCTION", "FLUSH")
    check(praw.execute_command("FUNCTION", "RESTORE", payload) == b"OK", "RESTORE")
    node.execute_command("FUNCTION", "FLUSH")  # the node lost it
    check(pc.execute_command("FCALL", "incrk", 1, "fr") == 1, "FCALL repaired after RESTORE")
    check(pc.execute_command("FCALL_RO", "getk", 1, "fr") == "1", "FCALL_RO")
    # FLUSH policy: the libraries known before are replaced by the payload's.
    other = "#!lua name=olib\nredis.register_function('otherf', function() return 7 end)"
    check(pc.execute_command("FUNCTION", "LOAD", other) == "olib", "LOAD olib")
    check(praw.execute_command("FUNCTION", "RESTORE", payload, "FLUSH") == b"OK",
          "RESTORE FLUSH")
    node.execute_command("FUNCTION", "FLUSH")
    check(pc.execute_command("FCALL", "incrk", 1, "fr") == 2, "rlib repaired")
    err = error_of(lambda: pc.execute_command("FCALL", "otherf", 0))
    check(err == "Function not found", "olib went with the FLUSH policy: %r" % err)
    # A RESTORE the node refuses teaches nothing.
    err = error_of(lambda: praw.execute_command("FUNCTION", "RESTORE", b"bad payload"))
    check(err is not None, "a bad payload is refused")


def case_fcall_ro_on_replica_repaired(c):
    m, reps = c.group()
    p = c.proxy(m.addr, "--read-policy", "replicas")
    pc = client(p)
    check(pc.execute_command("FUNCTION", "LOAD", RLIB) == "rlib", "FUNCTION LOAD")
    check(pc.set("fro", "v") is True, "SET")
    tp.wait_synced(m, *reps)
    # The master lost its libraries (restarted empty) and the replicas
    # follow it; a replica refuses FUNCTION LOAD.
    client(m).execute_command("FUNCTION", "FLUSH")
    tp.wait_synced(m, *reps)
    for r in reps:
        check(client(r).execute_command("FUNCTION", "LIST") == [], "the replica lost it")
    before = cmdstat(m, "fcall_ro")
    check(pc.execute_command("FCALL_RO", "getk", 1, "fro") == "v", "FCALL_RO repaired")
    check(cmdstat(m, "fcall_ro") == before + 1, "it ran on the master, once")
    tp.wait_synced(m, *reps)
    for r in reps:
        check(len(client(r).execute_command("FUNCTION", "LIST")) == 1,
              "the library reached the replicas from the master")
    for _ in range(4):
        check(pc.execute_command("FCALL_RO", "getk", 1, "fro") == "v", "FCALL_RO")
    check(cmdstat(m, "fcall_ro") == before + 1, "then on the replicas again")


def case_whole_transactions_need_no_pinned_connection(c):
    g, p = three_groups(c, "--blocking-pool-size", "1")
    pc = client(p)
    kb = key_in(pc, g[1], "wb")
    a, b = Raw(p.port), Raw(p.port)
    check(a.call("WATCH", kb) == "OK", "a pins group b's only transaction connection")
    # A transaction sent whole goes as one block on b's pooled connection.
    b.send(("MULTI",), ("PING",), ("SET", kb, "1"), ("INCR", kb), ("EXEC",))
    got = [b.reply() for _ in range(5)]
    check(got == ["OK", "QUEUED", "QUEUED", "QUEUED", ["PONG", "OK", 2]],
          "a whole transaction while the pool is pinned: %r" % (got,))
    check(client(g[1]).get(kb) == "2", "it ran on the key's group")
    # In the session's database and protocol.
    b.send(("SELECT", "3"), ("MULTI",), ("SET", "{%s}x" % kb, "db3"), ("EXEC",), ("SELECT", "0"))
    check([b.reply() for _ in range(5)] == ["OK", "OK", "QUEUED", ["OK"], "OK"], "SELECT 3")
    check(client(g[1], db=3).get("{%s}x" % kb) == "db3", "the block ran in database 3")
    check(b.call("HELLO", "3")[b"proto"] == 3, "HELLO 3")
    b.send(("MULTI",), ("HGETALL", "{%s}h" % kb), ("EXEC",))
    check([b.reply() for _ in range(3)] == ["OK", "QUEUED", [{}]], "RESP3 inside EXEC")
    # Refused inside the block (CROSSSLOT): DISCARD, EXECABORT, nothing ran.
    ka = key_in(pc, g[0], "wa")
    b.send(("MULTI",), ("SET", kb, "never"), ("SET", ka, "never"), ("EXEC",))
    got = [b.reply() for _ in range(4)]
    check(got[:2] == ["OK", "QUEUED"] and got[2].startswith("CROSSSLOT")
          and got[3] == Err("EXECABORT Transaction discarded because of previous errors."),
          "CROSSSLOT in a block: %r" % (got,))
    check(client(g[1]).get(kb) == "2" and client(g[0]).get(ka) is None, "nothing of it ran")
    # A transaction left open by the input is pinned: the pool is exhausted.
    check(b.call("MULTI") == "OK", "MULTI")
    got = b.call("SET", kb, "x")
    check(isinstance(got, Err) and "in use" in got, "an interactive transaction pins: %r" % got)
    check(b.call("EXEC") == Err("EXECABORT Transaction discarded because of previous errors."),
          "and aborts without a connection")
    check(a.call("UNWATCH") == "OK", "UNWATCH frees the connection")
    check(b.call("MULTI") == "OK" and b.call("INCR", kb) == "QUEUED"
          and b.call("EXEC") == [3], "then an interactive transaction runs")


DLIB = ("#!lua name=dlib\n"
        "redis.register_function('dincr', function(keys, args) "
        "return redis.call('incr', keys[1]) end)")
ROLIB = ("#!lua name=rolib\n"
         "redis.register_function{function_name='dget', callback=function(keys, args) "
         "return redis.call('get', keys[1]) end, flags={'no-writes'}}")


def listed(node):
    """{library name: code} of a node, read directly."""
    out = {}
    for lib in client(node).execute_command("FUNCTION", "LIST", "WITHCODE"):
        d = dict(zip(lib[::2], lib[1::2]))
        out[d["library_name"]] = d["library_code"]
    return out


def lists_sent(*nodes):
    return sum(cmdstat(n, "function|list") for n in nodes)


def case_fcall_of_a_library_loaded_on_one_node(c):
    # Group a: one master; group b: a master and two replicas.  Reads go
    # to replicas, so a FCALL_RO meets a replica that lacks the library.
    a = c.node()
    bm, breps = c.group()
    p = c.proxy(None, "--group", "a 0-8191 %s" % a.addr, "--group", "b 8192-16383 %s" % bm.addr,
                "--read-policy", "replicas", ready=4)
    pc = client(p)
    everyone = [a, bm] + breps
    kb = key_in(pc, bm, "fb")
    ka = key_in(pc, a, "fa")
    # Loaded on group a's master directly: the proxy never saw it.
    check(client(a).execute_command("FUNCTION", "LOAD", DLIB) == "dlib", "LOAD on a")
    check(listed(bm) == {}, "group b has no library")
    check(pc.execute_command("FCALL", "dincr", 1, kb) == 1, "FCALL for group b's key")
    check(client(bm).get(kb) == "1", "it ran on group b's master, once")
    check(listed(bm) == {"dlib": DLIB}, "the library loaded there byte for byte: %r" % listed(bm))
    check(pc.execute_command("FCALL", "dincr", 1, kb) == 2, "then it is there")
    check(pc.execute_command("FCALL", "dincr", 1, ka) == 1, "group a's own")
    check(info(pc, "topology")["noscript_repairs"] == "1", "one repair")

    # A function that exists nowhere keeps Redis's error; a second call
    # soon after costs no lookup (no FUNCTION LIST reaches a node).
    before = lists_sent(*everyone)
    err = error_of(lambda: pc.execute_command("FCALL", "nowhere", 1, kb))
    check(err == "Function not found", "nowhere: %r" % err)
    asked = lists_sent(*everyone)
    check(asked > before, "the deployment was asked")
    t0 = time.time()
    err = error_of(lambda: pc.execute_command("FCALL", "nowhere", 1, kb))
    check(err == "Function not found", "nowhere again: %r" % err)
    if time.time() - t0 < 0.5:
        check(lists_sent(*everyone) == asked, "remembered as missing: no lookup")
    # Loaded on a node later, it is found once the memory of the miss ends.
    late = "#!lua name=late\nredis.register_function('nowhere', function() return 'late' end)"
    check(client(a).execute_command("FUNCTION", "LOAD", late) == "late", "LOAD late on a")

    def found_later():
        try:
            return pc.execute_command("FCALL", "nowhere", 1, kb) == "late"
        except redis.ResponseError:
            return False
    wait_for(found_later, 5, "a function loaded later is found")

    # FCALL_RO goes to a replica of b, which refuses FUNCTION LOAD: the
    # library is loaded on b's master and the call runs there.
    check(client(a).execute_command("FUNCTION", "LOAD", ROLIB) == "rolib", "LOAD rolib on a")
    tp.wait_synced(bm, *breps)
    before = cmdstat(bm, "fcall_ro")
    check(pc.execute_command("FCALL_RO", "dget", 1, kb) == "2", "FCALL_RO repaired")
    check(cmdstat(bm, "fcall_ro") == before + 1, "it ran on the master, once")
    tp.wait_synced(bm, *breps)
    for r in breps:
        check("rolib" in listed(r), "the replicas got it from their master")
    check(pc.execute_command("FCALL_RO", "dget", 1, kb) == "2", "then on a replica")

    # A library learned so counts in a transaction: group b lost it (a
    # restart), and the FCALL inside EXEC finds it loaded before EXEC.
    client(bm).execute_command("FUNCTION", "FLUSH")
    tp.wait_synced(bm, *breps)
    x = Raw(p.port)
    x.send(("MULTI",), ("FCALL", "dincr", "1", kb), ("EXEC",))
    got = [x.reply() for _ in range(3)]
    check(got == ["OK", "QUEUED", [3]], "a whole transaction: %r" % (got,))
    client(bm).execute_command("FUNCTION", "FLUSH")
    check(x.call("MULTI") == "OK" and x.call("FCALL", "dincr", "1", kb) == "QUEUED",
          "queued")
    check(x.call("EXEC") == [4], "an interactive transaction")
    # Under write-ack the call sent again is acknowledged, not the first try.
    p2 = c.proxy(None, "--group", "a 0-8191 %s" % a.addr, "--group", "b 8192-16383 %s" % bm.addr,
                 "--write-ack", "all", ready=4)
    ack = "#!lua name=ackl\nredis.register_function('ackincr', " \
          "function(keys) return redis.call('incr', keys[1]) end)"
    check(client(a).execute_command("FUNCTION", "LOAD", ack) == "ackl", "LOAD ackl on a")
    before = cmdstat(bm, "wait")
    kack = "{%s}ack" % kb
    check(client(p2).execute_command("FCALL", "ackincr", 1, kack) == 1, "FCALL under write-ack")
    for r in breps:
        check(client(r).get(kack) == "1", "replica %s has the write when answered" % r.addr)
    check(cmdstat(bm, "wait") == before + 2, "a new WAIT followed the call sent again: %d"
          % (cmdstat(bm, "wait") - before))


def case_library_versions_ranked_by_group(c):
    g, p = three_groups(c)
    pc = client(p)
    kc = key_in(pc, g[2], "vc")
    lib = "#!lua name=vlib\nredis.register_function('vf', function() return '%s' end)"
    # Groups b and a disagree (b loaded first); c has none: a's wins.
    check(client(g[1]).execute_command("FUNCTION", "LOAD", lib % "b") == "vlib", "b's")
    check(client(g[0]).execute_command("FUNCTION", "LOAD", lib % "a") == "vlib", "a's")
    for _ in range(3):
        check(pc.execute_command("FCALL", "vf", 1, kc) == "a", "the first group's version")
    check(listed(g[2]) == {"vlib": lib % "a"}, "loaded on c")
    check(listed(g[1]) == {"vlib": lib % "b"}, "b's own is left as it is")
    # Many clients calling the same missing function at once: one lookup.
    other = "#!lua name=olib\nredis.register_function('of', function() return 'o' end)"
    check(client(g[1]).execute_command("FUNCTION", "LOAD", other) == "olib", "olib on b")
    before = lists_sent(*g)
    xs = [Raw(p.port) for _ in range(20)]
    for x in xs:
        x.send(("FCALL", "of", "1", kc))
    got = [x.reply() for x in xs]
    check(got == [b"o"] * 20, "20 clients' calls: %r" % (got[:3],))
    # Calls that fail while a lookup is out wait for it: a lookup costs one
    # FUNCTION LIST per node (3), and 20 clients cause far fewer than 20
    # (one or two: the first may end before the last client's call fails).
    sent = lists_sent(*g) - before
    check(sent in (3, 6, 9), "FUNCTION LISTs for 20 clients' calls: %d" % sent)
    # One client's pipeline: only its last call is repaired (the others
    # would run after the calls behind them); the rest get Redis's error.
    pl = "#!lua name=plib\nredis.register_function('pf', function() return 'p' end)"
    check(client(g[1]).execute_command("FUNCTION", "LOAD", pl) == "plib", "plib on b")
    x = Raw(p.port)
    x.send(*[("FCALL", "pf", "1", kc)] * 3)
    got = [x.reply() for _ in range(3)]
    check(got[2] == b"p" and all(isinstance(e, Err) and e == "ERR Function not found"
                                 for e in got[:2]), "3 pipelined calls: %r" % (got,))


def case_fcall_in_multi_looked_up(c):
    g, p = three_groups(c)
    pc = client(p)
    kc = key_in(pc, g[2], "mx")
    lib = ("#!lua name=mxlib\nredis.register_function('mxincr', "
           "function(keys) return redis.call('incr', keys[1]) end)")
    check(client(g[0]).execute_command("FUNCTION", "LOAD", lib) == "mxlib", "LOAD on a")
    x = Raw(p.port)
    # Never called through the proxy, first met inside MULTI: looked up
    # before EXEC runs, loaded ahead of MULTI.
    x.send(("MULTI",), ("SET", kc, "1"), ("FCALL", "mxincr", "1", kc), ("EXEC",))
    got = [x.reply() for _ in range(4)]
    check(got == ["OK", "QUEUED", "QUEUED", ["OK", 2]], "a whole transaction: %r" % (got,))
    check(listed(g[2]) == {"mxlib": lib}, "loaded on c: %r" % listed(g[2]))
    # An interactive transaction (MULTI already on the node): loaded on
    # another connection, EXEC waits.
    lib2 = ("#!lua name=mxlib2\nredis.register_function{function_name='mxget', "
            "callback=function(keys) return redis.call('get', keys[1]) end, "
            "flags={'no-writes'}}")
    check(client(g[1]).execute_command("FUNCTION", "LOAD", lib2) == "mxlib2", "LOAD on b")
    check(x.call("MULTI") == "OK" and x.call("INCR", kc) == "QUEUED"
          and x.call("FCALL_RO", "mxget", "1", kc) == "QUEUED", "queued")
    got = x.call("EXEC")
    check(got == [3, b"3"], "an interactive transaction: %r" % (got,))
    # Known from now on: a later transaction looks nothing up, even on a
    # node that lost them (the known libraries go ahead of MULTI).
    client(g[2]).execute_command("FUNCTION", "FLUSH")
    before = lists_sent(*g)
    x.send(("MULTI",), ("FCALL", "mxincr", "1", kc), ("EXEC",))
    got = [x.reply() for _ in range(3)]
    check(got == ["OK", "QUEUED", [4]], "known: %r" % (got,))
    check(lists_sent(*g) == before, "no lookup")
    # Found nowhere: EXEC carries the node's error, as on one Redis.
    x.send(("MULTI",), ("SET", kc, "9"), ("FCALL", "nosuch", "1", kc), ("EXEC",))
    got = [x.reply() for _ in range(4)]
    check(got[:3] == ["OK", "QUEUED", "QUEUED"] and got[3][0] == "OK"
          and isinstance(got[3][1], Err) and "Function not found" in got[3][1],
          "found nowhere: %r" % (got,))
    # A library loaded through the proxy: its functions are read back
    # once, so its FCALLs in transactions look nothing up either.
    plib = "#!lua name=plib\nredis.register_function('pf', function() return 'p' end)"
    before = lists_sent(*g)
    check(pc.execute_command("FUNCTION", "LOAD", plib) == "plib", "LOAD through the proxy")
    wait_for(lambda: lists_sent(*g) == before + 1, 5, "its functions read back")
    x.send(("MULTI",), ("FCALL", "pf", "1", kc), ("EXEC",))
    got = [x.reply() for _ in range(3)]
    check(got == ["OK", "QUEUED", [b"p"]], "plib: %r" % (got,))
    check(lists_sent(*g) == before + 1, "no lookup for plib")


def case_lookup_bounded_by_backend_timeout(c):
    g, p = three_groups(c, "--backend-timeout-ms", "500")
    pc = client(p)
    kc = key_in(pc, g[2], "hb")
    hl = "#!lua name=hl\nredis.register_function('hf', function() return 'h' end)"
    check(client(g[1]).execute_command("FUNCTION", "LOAD", hl) == "hl", "LOAD on b")
    g[0].proc.send_signal(signal.SIGSTOP)  # group a's master hangs: it ranks first
    try:
        t0 = time.time()
        check(pc.execute_command("FCALL", "hf", 1, kc) == "h", "found on b")
        took = time.time() - t0
        check(0.4 < took < 3, "waited for a's answer up to backend-timeout-ms: %.2fs" % took)
        err = error_of(lambda: pc.execute_command("FCALL", "nowhere", 1, kc))
        check(err == "Function not found", "nowhere: %r" % err)
    finally:
        g[0].proc.send_signal(signal.SIGCONT)


def case_fcall_after_watch_looked_up(c):
    g, p = three_groups(c)
    pc = client(p)
    kc = key_in(pc, g[2], "wx")
    pc.set(kc, "5")
    rlib = ("#!lua name=wxr\nredis.register_function{function_name='wxget', "
            "callback=function(keys) return redis.call('get', keys[1]) end, "
            "flags={'no-writes'}}")
    check(client(g[0]).execute_command("FUNCTION", "LOAD", rlib) == "wxr", "LOAD on a")
    x = Raw(p.port)
    # Pipelined after WATCH, before MULTI: looked up, loaded on the pinned
    # connection's master, called again there before the MULTI behind it.
    x.send(("WATCH", kc), ("FCALL", "wxget", "1", kc), ("MULTI",), ("SET", kc, "6"),
           ("EXEC",))
    got = [x.reply() for _ in range(5)]
    check(got == ["OK", b"5", "OK", "QUEUED", ["OK"]], "pipelined: %r" % (got,))
    check(listed(g[2]) == {"wxr": rlib}, "loaded on c: %r" % listed(g[2]))
    # The WATCH still holds: another client's write aborts EXEC.
    wlib = ("#!lua name=wxw\nredis.register_function{function_name='wxlen', "
            "callback=function(keys) return redis.call('strlen', keys[1]) end, "
            "flags={'no-writes'}}")
    check(client(g[1]).execute_command("FUNCTION", "LOAD", wlib) == "wxw", "LOAD on b")
    check(x.call("WATCH", kc) == "OK", "WATCH")
    got = x.call("FCALL", "wxlen", "1", kc)
    check(got == 1, "an interactive FCALL after WATCH: %r" % (got,))
    pc.set(kc, "other")
    check(x.call("MULTI") == "OK" and x.call("SET", kc, "8") == "QUEUED", "queued")
    got = x.call("EXEC")
    check(got is None, "another client's write aborts EXEC: %r" % (got,))
    check(pc.get(kc) == "other", "nothing of the transaction ran")
    # A function found nowhere: the node's error, and the WATCH goes on.
    check(x.call("WATCH", kc) == "OK", "WATCH again")
    got = x.call("FCALL", "wxnowhere", "1", kc)
    check(isinstance(got, Err) and got == "ERR Function not found", "nowhere: %r" % (got,))
    check(x.call("MULTI") == "OK" and x.call("SET", kc, "9") == "QUEUED", "queued again")
    check(x.call("EXEC") == ["OK"], "EXEC after the error")
    check(pc.get(kc) == "9", "it ran")


# OBJECT and MEMORY USAGE read one key: queued where it lives, as outside a
# transaction; MEMORY STATS describes one node and stays refused.
KEYED_INTROSPECTION = [("SET", "k", "12"), ("MULTI",), ("OBJECT", "ENCODING", "k"),
                       ("MEMORY", "USAGE", "nokey"), ("OBJECT", "FREQ", "k"),
                       ("OBJECT", "REFCOUNT", "nokey"), ("EXEC",), ("MULTI",),
                       ("OBJECT", "BOGUS", "k"), ("OBJECT", "ENCODING", "k"), ("EXEC",)]


def case_keyed_introspection_in_multi(c):
    direct = c.node()
    m, reps = c.group()
    p = c.proxy(m.addr)
    got = []
    for target in (direct, p):
        conn = Raw(target.port)
        got.append([conn.call(*cmd) for cmd in KEYED_INTROSPECTION])
        conn.close()
    for cmd, want, have in zip(KEYED_INTROSPECTION, got[0], got[1]):
        check(want == have, "%r: node %r, proxy %r" % (cmd, want, have))
    a = Raw(p.port)
    check(a.call("MULTI") == "OK", "MULTI")
    refused = a.call("MEMORY", "STATS")
    check(isinstance(refused, cluster.Err) and "not supported" in refused, repr(refused))
    check(isinstance(a.call("EXEC"), cluster.Err), "EXEC aborts")


CASES = [
    ("a", "MULTI/EXEC replies through the proxy are the node's (errors too)",
     case_replies_are_the_nodes),
    ("b", "a WATCH abort, RESET, and the connection given back",
     case_watch_aborts_and_releases),
    ("c", "an exhausted pool refuses at once; a client that leaves frees its connection",
     case_pool_exhausted_and_disconnect),
    ("m", "20 pipelined transactions and a GET run in order; the connection goes back",
     case_pipelined_transactions_keep_order),
    ("d", "three groups: CROSSSLOT, EXECABORT, hash tags, keyless transactions",
     case_crossslot_and_hash_tags),
    ("e", "kill -9 of the master during a transaction: EXEC fails, nothing applied",
     case_master_killed_during_transaction),
    ("f", "write-ack all: a WAIT follows the EXEC", case_write_ack_waits_after_exec),
    ("n", "a hung (SIGSTOP) master fails EXEC after backend-timeout-ms",
     case_hung_master_fails_exec),
    ("g", "redis-py WATCH/MULTI retries from three threads", case_redis_py_watch_retries_concurrently),
    ("h", "ioredis multi(), watch and scripts, 1 and 3 groups", case_ioredis),
    ("i", "scripts and functions route by keys; SCRIPT/FUNCTION reach every node",
     case_scripts_route_by_keys),
    ("j", "a NOSCRIPT from a node restarted empty is repaired", case_noscript_repaired),
    ("k", "EVALSHA_RO follows the read policy", case_read_only_scripts_follow_read_policy),
    ("l", "multi, scripting and functions compat scripts: the node's bytes (RESP2, RESP3)",
     case_compat_scripts_through_a_proxy),
    ("o", "SELECT, HELLO, CLIENT SETNAME between WATCH and MULTI and inside MULTI",
     case_state_commands_in_transactions),
    ("p", "EVALSHA inside MULTI whose script the master missed: EXEC as on one Redis",
     case_evalsha_in_multi_missing_on_node),
    ("q", "FCALL on a node restarted empty: the proxy re-loads its libraries",
     case_fcall_after_node_restarted_empty),
    ("r", "a transaction sent whole runs as one block on the pooled connection (no pinning)",
     case_whole_transactions_need_no_pinned_connection),
    ("s", "FCALL inside MULTI whose library the master lost: loaded before EXEC runs",
     case_fcall_in_multi_library_lost),
    ("t", "libraries that came with FUNCTION RESTORE are kept for the repair",
     case_function_restore_kept_for_repair),
    ("u", "FCALL_RO on a replica that lost the library: loaded on the master, run there",
     case_fcall_ro_on_replica_repaired),
    ("v", "a library loaded on one group's master directly serves FCALL for every group",
     case_fcall_of_a_library_loaded_on_one_node),
    ("w", "libraries that differ between groups: the first group's wins; one lookup at a time",
     case_library_versions_ranked_by_group),
    ("x", "a FCALL inside MULTI of a function loaded on one node directly: looked up first",
     case_fcall_in_multi_looked_up),
    ("y", "a lookup waits for a hung master at most backend-timeout-ms",
     case_lookup_bounded_by_backend_timeout),
    ("z", "a FCALL between WATCH and MULTI of a function loaded on one node directly",
     case_fcall_after_watch_looked_up),
    ("z1", "OBJECT and MEMORY USAGE inside MULTI: queued where the key lives, as on a node",
     case_keyed_introspection_in_multi),
]


def main():
    return cluster.run_cases(CASES, "proxy_txn_", "CACHELY_PROXY_TXN_CASES",
                             lambda fn: cluster.run_in(tp.Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
