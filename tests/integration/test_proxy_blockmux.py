"""Blocking commands multiplexed on the proxy's pooled connections
(blocking-mux yes, the default): a blocked client's command goes to the node as
CACHELY.BLOCK on the pooled connection its other requests use, so blocked
clients cost the node no connections of their own; a client that leaves
withdraws its wait (CACHELY.UNBLOCK) and nothing is popped for it; a master
that dies answers its waiters an error; CLIENT UNBLOCK reaches them; the bound
is blocking-pool-size x 64 waits per node; blocking-mux no keeps the dedicated
connections.  A switchover while blocked: test_sentinel.py.

Run with /usr/bin/python3 (Debian's python3-redis).  Prints "N passed, M
failed".  CACHELY_PROXY_BLOCKMUX_CASES=a,b runs only those cases."""
import os
import select
import signal
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402
import test_proxy as tp  # noqa: E402
from cluster import Err, Raw, check, client, wait_for  # noqa: E402

import redis  # noqa: E402


_info_clients = {}


def clients_info(n):
    # One connection per node for INFO: a new one each time would make
    # connected_clients move with the test's own connections.
    if n.port not in _info_clients:
        _info_clients[n.port] = client(n)
    return cluster.info(_info_clients[n.port], "clients")


def node_blocked(n):
    return int(clients_info(n)["blocked_clients"])


def node_tagged(n):
    return int(clients_info(n).get("tagged_waits", -1))


def node_connections(n):
    return int(clients_info(n)["connected_clients"])


def proxy_blocked(pc):
    return int(cluster.info(pc, "clients")["blocked_clients"])


def case_a_thousand_blocked_clients_cost_no_connections(c):
    m = c.node()
    p = c.proxy(m.addr, ready=1)
    pc = client(p)
    check(node_tagged(m) == 0, "the node reports tagged_waits (it knows CACHELY.BLOCK)")
    # Every pooled connection in use before counting (sessions pick theirs by id).
    warm = [Raw(p.port) for _ in range(8)]
    for w in warm:
        check(w.call("LPUSH", "warm", "x") >= 1, "a write opens a pooled connection")
        w.close()
    before = node_connections(m)
    n = 1000
    ws = [Raw(p.port, timeout=30) for _ in range(n)]
    # The half that is served arrives first on each key; the other half,
    # behind it, waits for its timeout.
    for i, w in enumerate(ws[: n // 2]):
        w.send(("BLPOP", "q%d" % (i % 10), "0"))
    wait_for(lambda: node_blocked(m) == n // 2, 30, "%d clients blocked" % (n // 2))
    for i, w in enumerate(ws[n // 2:]):
        w.send(("BLPOP", "q%d" % (i % 10), "8"))
    wait_for(lambda: node_blocked(m) == n, 30, "%d clients blocked on the node" % n)
    check(node_tagged(m) == n, "all of them as tagged waits")
    during = node_connections(m)
    check(during <= before + 1, "%d blocked clients cost the node %d connections (before: %d)"
          % (n, during - before, before))
    print("     node connected_clients: %d before, %d with %d clients blocked" % (before, during, n))
    # The first half is served, each an element of its own key; the second
    # half times out with nil.
    for k in range(10):
        pc.rpush("q%d" % k, *["v%d-%d" % (k, j) for j in range(n // 20)])
    served = set()
    for i, w in enumerate(ws[: n // 2]):
        got = w.reply()
        check(isinstance(got, list) and got[0] == b"q%d" % (i % 10)
              and got[1].startswith(b"v%d-" % (i % 10)), "client %d served: %r" % (i, got))
        served.add(got[1])
    check(len(served) == n // 2, "every element went to one client")
    check(sum(pc.llen("q%d" % k) for k in range(10)) == 0, "nothing left in the lists")
    for i, w in enumerate(ws[n // 2:]):
        check(w.reply() is None, "client %d released by its timeout" % (n // 2 + i))
    wait_for(lambda: node_blocked(m) == 0, 10, "no wait left on the node")
    for w in ws:
        check(w.call("PING") == "PONG", "each session is in step after its wait")
        w.close()


def case_b_served_pipelined_and_timed_out(c):
    m = c.node()
    p = c.proxy(m.addr, "--pool-size", "1", ready=1)
    pc = client(p)
    w = Raw(p.port)
    w.send(("BLPOP", "q", "0"))
    wait_for(lambda: node_tagged(m) == 1, 10, "the BLPOP waits as a tagged wait")
    # The one pooled connection carries the other sessions' requests meanwhile.
    for i in range(50):
        check(pc.set("k%d" % i, i) is True and pc.get("k%d" % i) == str(i),
              "requests go on beside the wait")
    check(pc.rpush("q", "job1") == 1, "RPUSH")
    check(w.reply() == [b"q", b"job1"], "BLPOP served")
    # Commands pipelined behind a blocking one run after it completes.
    pc.set("after", "before")
    w.send(("SET", "x", "1"), ("BRPOPLPUSH", "q2", "dst", "0"), ("GET", "after"))
    check(w.reply() == "OK", "the SET before the wait")
    wait_for(lambda: node_tagged(m) == 1, 10, "the pipelined BRPOPLPUSH waits")
    pc.set("after", "written-while-blocked")
    pc.rpush("q2", "x")
    check(w.reply() == b"x", "BRPOPLPUSH served")
    check(w.reply() == b"written-while-blocked", "the GET ran after the wait")
    # Served at once, and every form of the family.
    pc.rpush("q", "a", "b", "c", "d")
    check(list(pc.execute_command("BRPOP", "q", "1")) == ["q", "d"], "BRPOP")
    check(pc.execute_command("BLMOVE", "q", "r", "LEFT", "LEFT", "0") == "a", "BLMOVE")
    check(pc.execute_command("BLMPOP", "0", "1", "q", "LEFT") == ["q", ["b"]], "BLMPOP")
    pc.zadd("z", {"m": 1})
    check(list(pc.execute_command("BZPOPMIN", "z", "0"))[:2] == ["z", "m"], "BZPOPMIN")
    # The node's errors come back as the command's reply.
    pc.set("str", "v")
    try:
        pc.execute_command("BLPOP", "str", "0")
        check(False, "BLPOP on a string answered an error")
    except redis.ResponseError as e:
        check(str(e).startswith("WRONGTYPE"), "WRONGTYPE through the push: %s" % e)
    # The client's timeout: a nil after it, in RESP2 and in RESP3.
    t0 = time.time()
    check(pc.execute_command("BLPOP", "empty", "0.3") is None, "BLPOP timed out with nil")
    check(0.25 <= time.time() - t0 < 5, "the timeout was the client's")
    w.send(("BLPOP", "empty", "0.05"))
    check(w.line() == b"*-1", "a RESP2 session's timeout is *-1")
    check(w.call("HELLO", "3")[b"proto"] == 3, "HELLO 3")
    w.send(("BLPOP", "empty", "0.05"))
    check(w.line() == b"_", "a RESP3 session's timeout is _")
    w.send(("BLPOP", "q3", "0"))
    wait_for(lambda: node_tagged(m) == 1, 10, "a RESP3 wait")
    pc.rpush("q3", "r3")
    check(w.reply() == [b"q3", b"r3"], "a RESP3 session served")
    check(w.call("PING") == "PONG", "the session is in step")
    # A database other than 0 (SELECT is queued on the pooled connection).
    d = Raw(p.port)
    check(d.call("SELECT", "3") == "OK", "SELECT 3")
    d.send(("BLPOP", "dbq", "0"))
    wait_for(lambda: node_tagged(m) == 1, 10, "the db 3 wait")
    pc.rpush("dbq", "db0")
    client(p, db=3).rpush("dbq", "db3")
    check(d.reply() == [b"dbq", b"db3"], "the wait was in the session's database")


def case_c_client_that_leaves_keeps_the_element(c):
    m = c.node()
    p = c.proxy(m.addr, "--pool-size", "1", ready=1)
    pc = client(p)
    w = Raw(p.port)
    w.send(("BLPOP", "q", "0"))
    wait_for(lambda: node_tagged(m) == 1, 10, "the client waits")
    w.sock.close()
    wait_for(lambda: node_tagged(m) == 0 and node_blocked(m) == 0, 10,
             "the proxy withdrew the gone client's wait")
    pc.rpush("q", "kept")
    check(pc.lrange("q", 0, -1) == ["kept"], "nothing was popped for a client that left")
    # A reset (RST) while waiting, many at once, beside one that stays.
    stay = Raw(p.port)
    stay.send(("BLPOP", "q2", "0"))
    gone = [Raw(p.port) for _ in range(20)]
    for g in gone:
        g.send(("BLPOP", "q2", "0"))
    wait_for(lambda: node_tagged(m) == 21, 10, "21 waits")
    for g in gone:
        g.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        g.sock.close()
    wait_for(lambda: node_tagged(m) == 1, 10, "20 waits withdrawn")
    pc.rpush("q2", "a", "b")
    check(stay.reply() == [b"q2", b"a"], "the one that stayed is served")
    check(pc.lrange("q2", 0, -1) == ["b"], "nothing else popped")


def case_d_master_killed_while_blocked(c):
    m = c.node()
    p = c.proxy(m.addr, ready=1)
    ws = [Raw(p.port, timeout=30) for _ in range(5)]
    for w in ws:
        w.send(("BLPOP", "q", "0"))
    wait_for(lambda: node_tagged(m) == 5, 10, "the clients wait")
    m.kill()
    t0 = time.time()
    for w in ws:
        rep = w.reply()
        check(isinstance(rep, Err) and rep.startswith("ERR cachely-proxy: connection to %s lost"
                                                      % m.addr), "blocked client got %r" % (rep,))
    check(time.time() - t0 < 10, "the errors came promptly")


def case_e_client_unblock(c):
    m = c.node()
    p = c.proxy(m.addr, ready=1)
    pc = client(p)
    w = Raw(p.port)
    wid = w.call("CLIENT", "ID")
    check(pc.execute_command("CLIENT", "UNBLOCK", wid) == 0, "not blocked: 0")
    check(proxy_blocked(pc) == 0, "the proxy's blocked_clients: 0")
    w.send(("BLPOP", "q", "0"))
    wait_for(lambda: node_tagged(m) == 1, 10, "the client waits")
    check(proxy_blocked(pc) == 1, "the proxy's blocked_clients counts the multiplexed wait")
    check(pc.execute_command("CLIENT", "UNBLOCK", wid) == 1, "CLIENT UNBLOCK: 1")
    check(w.reply() is None, "TIMEOUT (the default): the waiter gets nil")
    check(proxy_blocked(pc) == 0, "the proxy's blocked_clients: 0 again")
    w.send(("BRPOPLPUSH", "q", "d", "0"))
    wait_for(lambda: node_tagged(m) == 1, 10, "the client waits again")
    check(pc.execute_command("CLIENT", "UNBLOCK", wid, "ERROR") == 1, "UNBLOCK ERROR: 1")
    rep = w.reply()
    check(isinstance(rep, Err) and rep == "UNBLOCKED client unblocked via CLIENT UNBLOCK",
          "ERROR: the waiter gets %r" % (rep,))
    check(w.call("PING") == "PONG", "the session is in step")
    for args, want in ((("CLIENT", "UNBLOCK", "x"), "ERR value is not an integer or out of range"),
                       (("CLIENT", "UNBLOCK", wid, "maybe"),
                        "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"),
                       # redis-server 7.0 checks the reason before the id
                       (("CLIENT", "UNBLOCK", "x", "maybe"),
                        "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"),
                       (("CLIENT", "UNBLOCK", wid, "error", "x"),
                        "ERR unknown subcommand or wrong number of arguments for 'UNBLOCK'. "
                        "Try CLIENT HELP.")):
        rep = Raw(p.port).call(*args)
        check(isinstance(rep, Err) and rep == want,
              "%r answered %r" % (args, rep))
    check(pc.execute_command("CLIENT", "UNBLOCK", "999999") == 0, "no such client: 0")
    # The proxy's own commands are not for its clients.
    rep = Raw(p.port).call("CACHELY.BLOCK", "1", "BLPOP", "q", "0")
    check(isinstance(rep, Err) and "not supported through cachely-proxy" in rep,
          "a client's CACHELY.BLOCK: %r" % (rep,))


def case_f_bound_per_node(c):
    m = c.node()
    p = c.proxy(m.addr, "--blocking-pool-size", "1", ready=1)
    pc = client(p)
    ws = [Raw(p.port) for _ in range(64)]
    for w in ws:
        w.send(("BLPOP", "q", "0"))
    wait_for(lambda: node_tagged(m) == 64, 10, "64 waits (blocking-pool-size 1 x 64)")
    t0 = time.time()
    rep = Raw(p.port).call("BLPOP", "q", "0")
    check(isinstance(rep, Err) and "blocking-pool-size x 64" in rep and "refused" in rep,
          "the 65th answered %r" % (rep,))
    check(time.time() - t0 < 2, "the refusal came at once")
    pc.rpush("q", "one")
    ready, _, _ = select.select([w.sock for w in ws], [], [], 10)
    check(len(ready) == 1, "one waiter is served")
    first = [w for w in ws if w.sock is ready[0]][0]
    check(first.reply() == [b"q", b"one"], "with the element")
    w = Raw(p.port)
    w.send(("BLPOP", "q", "0"))
    wait_for(lambda: node_tagged(m) == 64, 10, "the freed place takes a new wait")


def case_g_blocking_mux_no_keeps_dedicated_connections(c):
    m = c.node()
    p = c.proxy(m.addr, "--blocking-mux", "no", ready=1)
    pc = client(p)
    pc.set("warm", 1)
    before = node_connections(m)
    ws = [Raw(p.port) for _ in range(3)]
    for w in ws:
        w.send(("BLPOP", "q", "0"))
    wait_for(lambda: node_blocked(m) == 3, 10, "three clients blocked")
    check(node_tagged(m) == 0, "no tagged wait")
    check(node_connections(m) == before + 3, "one dedicated connection each")
    check(proxy_blocked(pc) == 3, "the proxy's blocked_clients counts dedicated waits")
    pc.rpush("q", "a", "b", "c")
    got = sorted(w.reply()[1] for w in ws)
    check(got == [b"a", b"b", b"c"], "served: %r" % got)
    check(proxy_blocked(pc) == 0, "the proxy's blocked_clients: 0 once served")
    # CLIENT UNBLOCK reaches a client on a dedicated connection, as on Redis.
    w = ws[1]
    wid = w.call("CLIENT", "ID")
    w.send(("BLPOP", "q", "0"))
    wait_for(lambda: node_blocked(m) == 1, 10, "the client waits on its connection")
    check(pc.execute_command("CLIENT", "UNBLOCK", wid) == 1, "dedicated: CLIENT UNBLOCK: 1")
    check(w.reply() is None, "dedicated: TIMEOUT (the default): the waiter gets nil")
    w.send(("BLMOVE", "q", "d", "LEFT", "LEFT", "0"))
    wait_for(lambda: node_blocked(m) == 1, 10, "the client waits again")
    check(pc.execute_command("CLIENT", "UNBLOCK", wid, "ERROR") == 1,
          "dedicated: UNBLOCK ERROR: 1")
    rep = w.reply()
    check(isinstance(rep, Err) and rep == "UNBLOCKED client unblocked via CLIENT UNBLOCK",
          "dedicated: ERROR: the waiter gets %r" % (rep,))
    check(pc.execute_command("CLIENT", "UNBLOCK", wid) == 0, "dedicated, not blocked: 0")
    check(w.call("PING") == "PONG", "the session is in step")
    check(node_blocked(m) == 0 and proxy_blocked(pc) == 0, "nobody waits")
    # CONFIG SET switches new commands to the pooled connections.
    check(pc.config_set("blocking-mux", "yes") is True, "CONFIG SET blocking-mux yes")
    ws[0].send(("BLPOP", "q", "0"))
    wait_for(lambda: node_tagged(m) == 1, 10, "now a tagged wait")
    pc.rpush("q", "d")
    check(ws[0].reply() == [b"q", b"d"], "served multiplexed")


def case_h_backend_user_without_the_command(c):
    # The node has CACHELY.BLOCK but the proxy's user may not run it: each
    # pooled connection asks first, and blocking commands take dedicated
    # connections; none gets an error, and the shared connections stay in
    # step.
    m = c.node("--requirepass", "nodeadmin")
    admin = client(m, password="nodeadmin")
    admin.execute_command("ACL", "SETUSER", "proxy", "on", ">backendpw", "~*", "&*", "+@all",
                          "-cachely.block")
    p = c.proxy(m.addr, "--backend-user", "proxy", "--backend-password", "backendpw",
                "--pool-size", "1", ready=1)
    pc = client(p)

    def routed():
        try:
            pc.get("ready")
            return True
        except redis.ResponseError as e:
            return "not reachable" not in str(e)
    wait_for(routed, 10, "the proxy routes to its node")
    ws = [Raw(p.port) for _ in range(3)]
    for w in ws:
        w.send(("BLPOP", "q", "0"))
    for i in range(20):
        check(pc.set("k", i) is True and pc.get("k") == str(i), "the shared connection in step")
    wait_for(lambda: int(cluster.info(admin, "clients")["blocked_clients"]) == 3, 10,
             "three clients blocked")
    check(int(cluster.info(admin, "clients")["tagged_waits"]) == 0, "none as a tagged wait")
    pc.rpush("q", "a", "b", "c")
    got = []
    for w in ws:
        rep = w.reply()
        check(isinstance(rep, list), "served, not refused: %r" % (rep,))
        got.append(rep[1])
    check(sorted(got) == [b"a", b"b", b"c"], "all three served: %r" % got)
    check(pc.execute_command("BLPOP", "q", "0.05") is None, "and a later one times out")


def case_i_write_ack_after_blocking_writes(c):
    # Under write-ack a blocking command that served wrote (a pop, a move,
    # entries into a PEL): its reply waits for the WAIT, as other writes'
    # do, multiplexed and on dedicated connections; a timeout's nil wrote
    # nothing and waits for none.
    m = c.node()
    rep = c.node("--replicaof", "%s %d" % (tp.LOCAL, m.port))
    tp.wait_synced(m, rep)
    rc = client(rep)
    for mux in ("yes", "no"):
        p = c.proxy(m.addr, "--write-ack", "1", "--write-ack-timeout-ms", "300",
                    "--blocking-mux", mux, "--read-policy", "master", "--pool-size", "1",
                    ready=2)
        pc = client(p)
        w = Raw(p.port)
        k = "wa-%s:" % mux
        # Served after waiting: the replica has the move when the reply comes.
        w.send(("BLMOVE", k + "src", k + "dst", "LEFT", "RIGHT", "0"))
        wait_for(lambda: node_blocked(m) == 1, 10, "the BLMOVE waits (mux %s)" % mux)
        pc.rpush(k + "src", "a")
        check(w.reply() == b"a", "BLMOVE served")
        check(rc.lrange(k + "dst", 0, -1) == ["a"] and rc.llen(k + "src") == 0,
              "mux %s: the replica has the BLMOVE at once" % mux)
        # Served at once, every write of the family.
        pc.rpush(k + "l", *["e%d" % i for i in range(8)])
        pc.zadd(k + "z", {"m%d" % i: i for i in range(6)})
        pc.execute_command("XGROUP", "CREATE", k + "s", "g", "$", "MKSTREAM")
        pc.xadd(k + "s", {"f": "v"})
        left = [8]

        def popped(n):
            left[0] -= n
            return rc.llen(k + "l") == left[0]
        for args, ok in (
                (("BLPOP", k + "l", "0"), lambda: popped(1)),
                (("BRPOP", k + "l", "0"), lambda: popped(1)),
                (("BLMPOP", "0", "1", k + "l", "LEFT", "COUNT", "2"), lambda: popped(2)),
                (("BRPOPLPUSH", k + "l", k + "d2", "0"),
                 lambda: popped(1) and rc.llen(k + "d2") == 1),
                (("BLMOVE", k + "l", k + "d2", "RIGHT", "LEFT", "0"),
                 lambda: popped(1) and rc.llen(k + "d2") == 2),
                (("BZPOPMIN", k + "z", "0"), lambda: rc.zrange(k + "z", 0, 0) == ["m1"]),
                (("BZPOPMAX", k + "z", "0"), lambda: rc.zrange(k + "z", -1, -1) == ["m4"]),
                (("BZMPOP", "0", "1", k + "z", "MIN", "COUNT", "2"),
                 lambda: rc.zcard(k + "z") == 2),
                (("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", k + "s", ">"),
                 lambda: rc.xpending(k + "s", "g")["pending"] == 1)):
            got = w.call(*args)
            check(got is not None and not isinstance(got, Err), "%s served: %r" % (args[0], got))
            check(ok(), "mux %s: the replica has the %s at once" % (mux, args[0]))
        # With the replica stopped: a served one is -NOTACKED after the
        # timeout, as a write is; a timeout's nil is not held.
        os.kill(rep.proc.pid, signal.SIGSTOP)
        try:
            t0 = time.time()
            w.send(("BLPOP", k + "l", "0"))
            # Its WAIT holds the connection it follows on: the session's
            # own, never the pooled one other sessions' requests use.
            time.sleep(0.05)
            t1 = time.time()
            check(pc.get(k + "nothing") is None, "another session's GET")
            other = time.time() - t1
            check(other < 0.15, "mux %s: another session's GET waited %.0f ms behind the "
                  "WAIT" % (mux, other * 1000))
            got = w.reply()
            took = time.time() - t0
            check(isinstance(got, Err) and got.startswith(
                "NOTACKED the write was applied on the master and acknowledged by 0 of 1"),
                "mux %s: a served BLPOP with the replica stopped: %r" % (mux, got))
            check(took >= 0.25, "mux %s: NOTACKED after %.0f ms (timeout 300)" % (mux, took * 1000))
            t0 = time.time()
            check(w.call("BLPOP", k + "none", "0.05") is None, "a timeout's nil")
            took = time.time() - t0
            check(took < 0.25, "mux %s: the nil waited for no WAIT (%.0f ms)" % (mux, took * 1000))
        finally:
            os.kill(rep.proc.pid, signal.SIGCONT)
        tp.wait_synced(m, rep)
        check(w.call("PING") == "PONG", "the session is in step")
        w.close()


def case_j_unblock_before_the_dedicated_connection_knows_its_id(c):
    # A dedicated connection asks the node its CLIENT ID as it opens; a
    # CLIENT UNBLOCK that comes before that answer waits for it instead of
    # answering :0 while the client stays blocked.  The node is stopped so
    # the answer is surely late.
    m = c.node()
    p = c.proxy(m.addr, "--blocking-mux", "no", ready=1)
    pc = client(p)
    pc.set("warm", 1)
    w = Raw(p.port)
    wid = w.call("CLIENT", "ID")
    u, u2 = Raw(p.port), Raw(p.port)
    os.kill(m.proc.pid, signal.SIGSTOP)
    try:
        w.send(("BLPOP", "q", "0"))
        time.sleep(0.15)
        u.send(("CLIENT", "UNBLOCK", wid, "ERROR"))
        time.sleep(0.05)
        u2.send(("CLIENT", "UNBLOCK", wid))
        check(u2.reply() == 0, "a second UNBLOCK while the first waits: 0")
    finally:
        os.kill(m.proc.pid, signal.SIGCONT)
    check(u.reply() == 1, "the UNBLOCK that waited for the node's id: 1")
    rep = w.reply()
    check(isinstance(rep, Err) and rep == "UNBLOCKED client unblocked via CLIENT UNBLOCK",
          "the waiter gets %r" % (rep,))
    check(w.call("PING") == "PONG" and u.call("PING") == "PONG", "both sessions in step")
    check(node_blocked(m) == 0 and proxy_blocked(pc) == 0, "nobody waits")


CASES = [
    ("a", "1,000 blocked clients cost the node no connections, all served or released",
     case_a_thousand_blocked_clients_cost_no_connections),
    ("b", "served, pipelined, errors, timeouts (RESP2 and RESP3), databases",
     case_b_served_pipelined_and_timed_out),
    ("c", "a client that leaves while blocked leaves the element in the list",
     case_c_client_that_leaves_keeps_the_element),
    ("d", "a master killed while clients wait answers them the error",
     case_d_master_killed_while_blocked),
    ("e", "CLIENT UNBLOCK through the proxy (TIMEOUT, ERROR, errors)", case_e_client_unblock),
    ("f", "at most blocking-pool-size x 64 waits per node, refused at once beyond",
     case_f_bound_per_node),
    ("g", "blocking-mux no keeps dedicated connections; CONFIG SET switches",
     case_g_blocking_mux_no_keeps_dedicated_connections),
    ("h", "a backend user refused CACHELY.BLOCK: dedicated connections, no error",
     case_h_backend_user_without_the_command),
    ("i", "write-ack: a served blocking write is acked before its reply; a nil is not",
     case_i_write_ack_after_blocking_writes),
    ("j", "CLIENT UNBLOCK before a new dedicated connection knows its node id waits for it",
     case_j_unblock_before_the_dedicated_connection_knows_its_id),
]


def main():
    return cluster.run_cases(CASES, "proxy_blockmux_", "CACHELY_PROXY_BLOCKMUX_CASES",
                             lambda fn: cluster.run_in(tp.Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
