"""CACHELY.BLOCK / CACHELY.UNBLOCK on the node (issue 14, the mux spec's
"Node" section): a blocking command run as a tagged wait whose whole outcome
is one push, >3 $13 cachely-block :<tag> <reply>, on the same connection,
which meanwhile keeps answering its other commands.

Raw sockets throughout, so the push bytes are seen exactly.  Each case starts
its own cachely-server processes on free 127.0.0.1 ports.  Run with
/usr/bin/python3; CACHELY_BUILDDIR names the build.  Prints "N passed,
M failed".  CACHELY_BLOCK_TAGGED_CASES=a,c runs only those.
"""
import os
import signal
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402
from cluster import LOCAL, Raw, Err, check, info, wait_for  # noqa: E402

UNBLOCKED = b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
STATE_CHANGED = (b"-UNBLOCKED force unblock from blocking operation, "
                 b"instance state changed (master -> replica?)\r\n")


def env(tag):
    """The push's envelope, up to the reply."""
    return b">3\r\n$13\r\ncachely-block\r\n:%d\r\n" % tag


def push(tag, reply):
    return env(tag) + reply


def clients(r):
    d = info(r, "clients")
    return int(d["blocked_clients"]), int(d["tagged_waits"])


def wait_waits(r, blocked, tagged):
    wait_for(lambda: clients(r) == (blocked, tagged), 10,
             "blocked_clients %d, tagged_waits %d" % (blocked, tagged))


def expect(raw, data, what):
    """The next bytes on raw are exactly data."""
    got = raw.exact(len(data))
    check(got == data, "%s: %r, expected %r" % (what, got, data))


def quiet(raw, seconds=0.2):
    """True when raw receives no byte for seconds."""
    if raw.buf:
        return False
    raw.sock.settimeout(seconds)
    try:
        data = raw.sock.recv(1 << 16)
    except socket.timeout:
        return True
    finally:
        raw.sock.settimeout(10)
    raw.buf += data
    return False


# ---- served at once ----------------------------------------------------------


def case_a_served_at_once(c):
    n = c.node("--save", "")
    a = Raw(n.port)
    check(a.call("RPUSH", "q", "x", "y") == 2, "RPUSH")
    a.send(("CACHELY.BLOCK", 7, "BLPOP", "q", 0), ("PING",))
    expect(a, push(7, b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n") + b"+PONG\r\n",
           "RESP2: the push where the reply would be, then PING's reply")
    # RESP3: the reply inside is RESP3 (BZPOPMIN's score a double).
    a.send(("HELLO", 3))
    a.reply()
    a.call("ZADD", "z", 1.5, "m")
    a.send(("GET", "nosuch"), ("CACHELY.BLOCK", 8, "BZPOPMIN", "z", 0), ("CACHELY.BLOCK", 9, "BLPOP", "q", 0),
           ("GET", "nosuch"))
    expect(a, b"_\r\n" + push(8, b"*3\r\n$1\r\nz\r\n$1\r\nm\r\n,1.5\r\n")
           + push(9, b"*2\r\n$1\r\nq\r\n$1\r\ny\r\n") + b"_\r\n", "RESP3, in order")
    r = cluster.client(n)
    check(r.exists("q", "z") == 0, "both popped")
    check(clients(r) == (0, 0), "nothing left waiting")
    # A wait served at once may be "unblocked" no more.
    check(a.call("CACHELY.UNBLOCK", 8) == 0, "UNBLOCK after the push: 0")
    # RESP3's map for XREAD; CLIENT REPLY OFF silences replies, not pushes.
    eid = r.xadd("s", {"f": "v"}).encode()
    a.send(("CACHELY.BLOCK", 10, "XREAD", "STREAMS", "s", "0"))
    expect(a, push(10, b"%%1\r\n$1\r\ns\r\n*1\r\n*2\r\n$%d\r\n%s\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
                   % (len(eid), eid)), "XREAD's RESP3 map")
    r.rpush("q", "z")
    a.send(("CLIENT", "REPLY", "OFF"), ("CACHELY.BLOCK", 11, "BLPOP", "q", 0), ("GET", "nosuch"),
           ("CLIENT", "REPLY", "ON"))
    expect(a, push(11, b"*2\r\n$1\r\nq\r\n$1\r\nz\r\n") + b"+OK\r\n",
           "the push through CLIENT REPLY OFF, then ON's +OK")
    a.close()


# ---- blocks, then served -------------------------------------------------------


def case_b_blocks_then_served(c):
    n = c.node("--save", "")
    r = cluster.client(n)
    a, b = Raw(n.port), Raw(n.port)
    a.send(("CACHELY.BLOCK", 1, "BLPOP", "q", 0), ("SET", "k", "v"), ("GET", "k"))
    expect(a, b"+OK\r\n$1\r\nv\r\n", "the connection runs on while its wait waits")
    wait_waits(r, 1, 1)
    check(quiet(a), "no push before anything is pushed")
    check(b.call("LPUSH", "q", "e") == 1, "LPUSH from another connection")
    expect(a, push(1, b"*2\r\n$1\r\nq\r\n$1\r\ne\r\n"), "served by the LPUSH")
    check(r.llen("q") == 0, "popped")
    wait_waits(r, 0, 0)
    # A wait waits in the connection's database at the time.
    a.send(("SELECT", 1), ("CACHELY.BLOCK", 3, "BLPOP", "q", 0), ("SELECT", 0))
    expect(a, b"+OK\r\n+OK\r\n", "SELECTs")
    wait_waits(r, 1, 1)
    r.lpush("q", "db0")
    check(quiet(a), "not served from db 0")
    cluster.client(n, db=1).lpush("q", "db1")
    expect(a, push(3, b"*2\r\n$1\r\nq\r\n$3\r\ndb1\r\n"), "served in db 1")
    check(r.lpop("q") == "db0", "db 0's element stayed")
    # The same connection can also serve its own wait.
    a.send(("CACHELY.BLOCK", 2, "BRPOP", "q2", 0), ("RPUSH", "q2", "a", "b"), ("PING",))
    expect(a, b":2\r\n" + push(2, b"*2\r\n$2\r\nq2\r\n$1\r\nb\r\n") + b"+PONG\r\n",
           "served by its own RPUSH, right after that command (as Redis serves)")
    a.close()
    b.close()


def case_c_fifo_with_blocked_clients(c):
    n = c.node("--save", "")
    r = cluster.client(n)
    a, o = Raw(n.port), Raw(n.port)
    # An ordinary blocked client first, then the tagged wait.
    o.send(("BLPOP", "q", 0))
    wait_waits(r, 1, 0)
    a.send(("CACHELY.BLOCK", 5, "BLPOP", "q", 0))
    wait_waits(r, 2, 1)
    r.rpush("q", "first")
    check(o.reply() == [b"q", b"first"], "the client that came first is served first")
    check(quiet(a), "the tagged wait is not served")
    r.rpush("q", "second")
    expect(a, push(5, b"*2\r\n$1\r\nq\r\n$6\r\nsecond\r\n"), "then the tagged wait")
    # The tagged wait first, then the ordinary client.
    a.send(("CACHELY.BLOCK", 6, "BLPOP", "q", 0))
    wait_waits(r, 1, 1)
    o.send(("BLPOP", "q", 0))
    wait_waits(r, 2, 1)
    r.rpush("q", "third")
    expect(a, push(6, b"*2\r\n$1\r\nq\r\n$5\r\nthird\r\n"), "the tagged wait came first")
    check(quiet(o), "the ordinary client waits on")
    r.rpush("q", "fourth")
    check(o.reply() == [b"q", b"fourth"], "then the ordinary client")
    # Two elements in one command serve both, in order.
    a.send(("CACHELY.BLOCK", 7, "BLPOP", "q", 0))
    wait_waits(r, 1, 1)
    o.send(("BLPOP", "q", 0))
    wait_waits(r, 2, 1)
    r.rpush("q", "x", "y")
    expect(a, push(7, b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n"), "first in line gets x")
    check(o.reply() == [b"q", b"y"], "second gets y")
    wait_waits(r, 0, 0)
    a.close()
    o.close()


def case_d_timeouts(c):
    n = c.node("--save", "")
    r = cluster.client(n)
    a = Raw(n.port)
    t0 = time.time()
    a.send(("CACHELY.BLOCK", 1, "BLPOP", "q", "0.2"), ("CACHELY.BLOCK", 2, "BLMOVE", "s", "d", "LEFT", "RIGHT", "0.3"))
    wait_waits(r, 2, 2)
    check(int(info(r, "clients")["clients_in_timeout_table"]) == 2, "two deadlines")
    expect(a, push(1, b"*-1\r\n"), "RESP2 BLPOP timeout: null array")
    # Redis 7.0 times a blocked BLMOVE out with a null array too (a null
    # bulk only where it may not block): the push has what BLMOVE answers.
    expect(a, push(2, b"*-1\r\n"), "RESP2 BLMOVE timeout, as BLMOVE's own")
    el = time.time() - t0
    check(0.29 <= el < 3, "the BLMOVE's deadline kept: %.2f s" % el)
    a.send(("BLMOVE", "s", "d", "LEFT", "RIGHT", "0.01"))
    expect(a, b"*-1\r\n", "BLMOVE's own timeout reply")
    a.send(("HELLO", 3))
    a.reply()
    a.send(("CACHELY.BLOCK", 3, "BLPOP", "q", "0.05"), ("CACHELY.BLOCK", 4, "BLMOVE", "s", "d", "LEFT", "RIGHT", "0.05"))
    got = a.exact(2 * len(push(3, b"_\r\n")))
    check(got in (push(3, b"_\r\n") + push(4, b"_\r\n"), push(4, b"_\r\n") + push(3, b"_\r\n")),
          "RESP3 BLPOP and BLMOVE timeouts: _ (same deadline, either first): %r" % got)
    wait_waits(r, 0, 0)
    check(int(info(r, "clients")["clients_in_timeout_table"]) == 0, "no deadline left")
    a.close()


def case_e_many_waits_one_connection(c):
    n = c.node("--save", "")
    r = cluster.client(n)
    a = Raw(n.port)
    r.set("g", "G")
    # 500 waits on 500 keys and 500 on one key, between GETs.
    cmds = []
    for i in range(1000):
        key = "k%d" % i if i % 2 == 0 else "same"
        cmds.append(("CACHELY.BLOCK", 1000 + i, "BLPOP", key, 0))
        cmds.append(("GET", "g"))
    a.send(*cmds)
    expect(a, b"$1\r\nG\r\n" * 1000, "1,000 GETs answered in order, no push among them")
    wait_waits(r, 1000, 1000)
    check(int(info(r, "clients")["connected_clients"]) == 2, "no connection per wait")
    check(quiet(a), "nothing more")
    # Serve them: each own key, then the shared one with 500 elements.
    p = r.pipeline(transaction=False)
    for i in range(0, 1000, 2):
        p.lpush("k%d" % i, "v%d" % i)
    p.execute()
    r.rpush("same", *["s%d" % i for i in range(500)])
    want = {}
    for i in range(0, 1000, 2):
        want[1000 + i] = [b"k%d" % i, b"v%d" % i]
    for j, i in enumerate(range(1, 1000, 2)):
        # The one key's waiters are served in arrival order.
        want[1000 + i] = [b"same", b"s%d" % j]
    got = {}
    order = []
    for _ in range(1000):
        rep = a.reply()
        check(isinstance(rep, list) and rep[0] == b"cachely-block", "a push: %r" % (rep,))
        got[rep[1]] = rep[2]
        order.append(rep[1])
    check(got == want, "every wait got its element")
    same = [t for t in order if (t - 1000) % 2 == 1]
    check(same == sorted(same), "the shared key's waits in FIFO order")
    wait_waits(r, 0, 0)
    check(r.dbsize() == 1, "every list emptied: %d keys" % r.dbsize())
    check(a.call("GET", "g") == b"G", "the connection still answers")
    a.close()


def case_f_unblock(c):
    n = c.node("--save", "")
    r = cluster.client(n)
    a = Raw(n.port)
    # Silent: :1, then no push ever, and nothing popped.
    a.send(("CACHELY.BLOCK", 1, "BLPOP", "q", 0))
    wait_waits(r, 1, 1)
    check(a.call("CACHELY.UNBLOCK", 1) == 1, "silent UNBLOCK: 1")
    wait_waits(r, 0, 0)
    r.lpush("q", "kept")
    check(quiet(a, 0.3), "no push after a silent UNBLOCK")
    check(r.llen("q") == 1, "the element stayed")
    check(a.call("CACHELY.UNBLOCK", 1) == 0, "gone: 0")
    check(a.call("CACHELY.UNBLOCK", 12345) == 0, "an unknown tag: 0")
    # TIMEOUT: the timeout reply as the push, and :1 (in either order).
    a.send(("CACHELY.BLOCK", 2, "BLMOVE", "e", "d", "LEFT", "LEFT", 0))
    wait_waits(r, 1, 1)
    a.send(("CACHELY.UNBLOCK", 2, "TIMEOUT"))
    data = a.exact(len(b":1\r\n") + len(push(2, b"*-1\r\n")))
    check(data in (b":1\r\n" + push(2, b"*-1\r\n"), push(2, b"*-1\r\n") + b":1\r\n"),
          "UNBLOCK TIMEOUT: %r" % data)
    # ERROR: -UNBLOCKED as CLIENT UNBLOCK gives.
    a.send(("CACHELY.BLOCK", 3, "BZPOPMAX", "e", 0))
    wait_waits(r, 1, 1)
    a.send(("CACHELY.UNBLOCK", 3, "error"))
    data = a.exact(len(b":1\r\n") + len(push(3, UNBLOCKED)))
    check(data in (b":1\r\n" + push(3, UNBLOCKED), push(3, UNBLOCKED) + b":1\r\n"),
          "UNBLOCK ERROR: %r" % data)
    wait_waits(r, 0, 0)
    check(a.call("CACHELY.UNBLOCK", 3, "TIMEOUT") == 0, "released: 0")
    # The envelope's own errors are in-order replies.
    check(a.call("CACHELY.UNBLOCK", 3, "NOW") == Err("ERR CACHELY.UNBLOCK reason should be "
                                                     "TIMEOUT or ERROR"), "bad reason")
    check(a.call("CACHELY.UNBLOCK", "x") == Err("ERR invalid tag"), "bad tag")
    check(a.call("CACHELY.UNBLOCK") == Err("ERR wrong number of arguments for "
                                           "'cachely.unblock' command"), "no tag")
    check(a.call("CACHELY.UNBLOCK", 1, "TIMEOUT", "x")
          == Err("ERR wrong number of arguments for 'cachely.unblock' command"), "too many")
    # Another connection's tag is not this one's.
    b = Raw(n.port)
    a.send(("CACHELY.BLOCK", 4, "BLPOP", "q2", 0))
    wait_waits(r, 1, 1)
    check(b.call("CACHELY.UNBLOCK", 4) == 0, "tags are per connection")
    check(b.call("CACHELY.BLOCK", 4, "BLPOP", "q3", "0.01") is not None, "same tag elsewhere")
    check(a.call("CACHELY.UNBLOCK", 4) == 1, "the owner's")
    a.close()
    b.close()


def case_g_close_drops_waits(c):
    n = c.node("--save", "")
    r = cluster.client(n)
    a = Raw(n.port)
    a.send(("CACHELY.BLOCK", 1, "BLPOP", "q", 0), ("CACHELY.BLOCK", 2, "BLPOP", "q", 5),
           ("CACHELY.BLOCK", 3, "XREAD", "BLOCK", 0, "STREAMS", "s", "$"))
    wait_waits(r, 3, 3)
    a.close()
    wait_waits(r, 0, 0)
    check(int(info(r, "clients")["clients_in_timeout_table"]) == 0, "its deadline gone")
    r.lpush("q", "kept")
    r.xadd("s", {"f": "v"})
    check(r.llen("q") == 1, "a later LPUSH keeps its element")
    # Closing while waits and pipelined work are in flight, repeatedly.
    for i in range(20):
        a = Raw(n.port)
        a.send(*[("CACHELY.BLOCK", j, "BLPOP", "w%d" % (j % 3), 0) for j in range(50)])
        a.close()
    wait_waits(r, 0, 0)
    r.rpush("w0", "x")
    check(r.llen("w0") == 1, "nothing popped for closed connections")
    # Held by CLIENT PAUSE when its connection closes: gone too, even with
    # the element there when the pause ends; and QUIT behind a wait.
    r.execute_command("CLIENT", "PAUSE", 60000, "WRITE")
    a = Raw(n.port)
    a.send(("CACHELY.BLOCK", 1, "BLPOP", "w0", 0), ("CACHELY.BLOCK", 2, "BLPOP", "w1", 0))
    wait_waits(r, 2, 2)
    a.close()
    wait_waits(r, 0, 0)
    r.execute_command("CLIENT", "UNPAUSE")
    a = Raw(n.port)
    a.send(("CACHELY.BLOCK", 1, "BLPOP", "w1", 0), ("QUIT",))
    expect(a, b"+OK\r\n", "QUIT")
    check(a.at_eof(), "closed")
    wait_waits(r, 0, 0)
    r.rpush("w1", "y")
    check(r.llen("w0") == 1 and r.llen("w1") == 1, "nothing popped")
    check(r.ping(), "alive")


def case_h_replica_and_aof(c):
    m = c.node("--save", "", "--appendonly", "yes")
    s = c.node("--save", "", "--replicaof", "%s %d" % (LOCAL, m.port))
    mr, sr = cluster.client(m), cluster.client(s)
    wait_for(lambda: info(sr, "replication").get("master_link_status") == "up", 20,
             "the replica linked")
    a = Raw(m.port)
    a.send(("CACHELY.BLOCK", 1, "BLPOP", "q", 0), ("CACHELY.BLOCK", 2, "BLMOVE", "q", "d", "RIGHT", "LEFT", 0))
    wait_waits(mr, 2, 2)
    mr.rpush("q", "a", "b", "c")
    expect(a, push(1, b"*2\r\n$1\r\nq\r\n$1\r\na\r\n"), "BLPOP served")
    expect(a, push(2, b"$1\r\nc\r\n"), "BLMOVE served")
    check(mr.lrange("q", 0, -1) == ["b"] and mr.lrange("d", 0, -1) == ["c"], "master's lists")
    wait_for(lambda: sr.lrange("q", 0, -1) == ["b"] and sr.lrange("d", 0, -1) == ["c"], 10,
             "the replica applied the served pops")
    # Served at once propagates too.
    a.send(("CACHELY.BLOCK", 3, "BRPOP", "q", 0))
    expect(a, push(3, b"*2\r\n$1\r\nq\r\n$1\r\nb\r\n"), "served at once")
    wait_for(lambda: sr.llen("q") == 0, 10, "the replica's LLEN matches")
    check(mr.execute_command("DEBUG", "DIGEST") == sr.execute_command("DEBUG", "DIGEST"),
          "same data")
    # WAIT on the connection covers what a later-served wait popped.
    check(a.call("WAIT", 1, 5000) == 1, "the replica has it all")
    a.send(("CACHELY.BLOCK", 4, "BLPOP", "q", 0))
    wait_waits(mr, 1, 1)
    s.proc.send_signal(signal.SIGSTOP)
    try:
        mr.rpush("q", "late")
        expect(a, push(4, b"*2\r\n$1\r\nq\r\n$4\r\nlate\r\n"), "served later")
        check(a.call("WAIT", 1, 200) == 0, "WAIT waits for the served pop, not only older writes")
    finally:
        s.proc.send_signal(signal.SIGCONT)
    check(a.call("WAIT", 1, 5000) == 1, "then acknowledged")
    # The append-only file has the pops, not CACHELY.BLOCK.
    aof = os.path.join(m.dir, "appendonly.cachely")

    def aof_has_pops():
        data = open(aof, "rb").read()
        return data.count(b"LPOP") + data.count(b"lpop") >= 1 and b"RPOP" in data.upper()
    wait_for(aof_has_pops, 10, "the pops in the AOF")
    check(b"CACHELY" not in open(aof, "rb").read().upper(), "no CACHELY.BLOCK in the AOF")
    a.close()


def case_i_errors(c):
    n = c.node("--save", "")
    r = cluster.client(n)
    a = Raw(n.port)
    # A duplicate tag: the push carries the error; the first wait stays.
    a.send(("CACHELY.BLOCK", 1, "BLPOP", "q", 0), ("CACHELY.BLOCK", 1, "BLPOP", "q2", 0))
    expect(a, push(1, b"-ERR duplicate tag\r\n"), "duplicate tag")
    wait_waits(r, 1, 1)
    r.rpush("q", "x")
    expect(a, push(1, b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n"), "the first wait still served")
    # Not a blocking command; an unknown one; the inner arity.
    a.send(("CACHELY.BLOCK", 2, "GET", "k"))
    expect(a, push(2, b"-ERR CACHELY.BLOCK takes a blocking command\r\n"), "GET refused")
    a.send(("CACHELY.BLOCK", 2, "CACHELY.BLOCK", 3, "BLPOP", "q", 0))
    expect(a, push(2, b"-ERR CACHELY.BLOCK takes a blocking command\r\n"), "no nesting")
    a.send(("CACHELY.BLOCK", 3, "NOSUCH", "a"))
    expect(a, push(3, b"-ERR unknown command 'NOSUCH', with args beginning with: 'a' \r\n"),
           "unknown command")
    a.send(("CACHELY.BLOCK", 4, "BLPOP", "q"))
    expect(a, push(4, b"-ERR wrong number of arguments for 'blpop' command\r\n"),
           "the inner command's arity")
    a.send(("CACHELY.BLOCK", 5, "BLPOP", "q", "x"))
    expect(a, push(5, b"-ERR timeout is not a float or out of range\r\n"), "bad timeout")
    # WRONGTYPE, byte for byte as BLPOP answers it.
    r.set("str", "v")
    direct = a.call("BLPOP", "str", 0)
    check(direct == Err("WRONGTYPE Operation against a key holding the wrong kind of value"),
          "BLPOP's own: %r" % direct)
    a.send(("CACHELY.BLOCK", 6, "BLPOP", "str", 0))
    expect(a, push(6, b"-" + direct.encode() + b"\r\n"), "WRONGTYPE")
    # The envelope's errors are in-order replies.
    check(a.call("CACHELY.BLOCK", 7) == Err("ERR wrong number of arguments for "
                                            "'cachely.block' command"), "arity")
    check(a.call("CACHELY.BLOCK", 7, "BLPOP") is not None, "three arguments are enough")
    for bad in ("x", "-1", "+1", "", "1.0", "18446744073709551616", " 1"):
        check(a.call("CACHELY.BLOCK", bad, "BLPOP", "q", 0) == Err("ERR invalid tag"),
              "invalid tag %r" % bad)
    a.send(("CACHELY.BLOCK", 18446744073709551615, "BLPOP", "q", "0.01"))
    expect(a, push(18446744073709551615, b"*-1\r\n"), "the largest tag")
    check(a.call("MULTI") == "OK", "MULTI")
    check(a.call("CACHELY.BLOCK", 8, "BLPOP", "q", 0)
          == Err("ERR Command not allowed inside a transaction"), "inside MULTI")
    check(a.call("CACHELY.UNBLOCK", 8)
          == Err("ERR Command not allowed inside a transaction"), "UNBLOCK inside MULTI")
    check(a.call("EXEC") == Err("EXECABORT Transaction discarded because of previous errors."),
          "the transaction aborts")
    rep = a.call("EVAL", "return redis.call('cachely.block', '9', 'blpop', 'q', '0')", 0)
    check(isinstance(rep, Err) and "not allowed from script" in rep, "from a script: %r" % rep)
    # NOPERM from the connection's ACL user, as BLPOP itself gets it.
    r.execute_command("ACL", "SETUSER", "u", "on", "nopass", "~*", "+@all", "-blpop")
    check(a.call("AUTH", "u", "x") == "OK", "AUTH u")
    direct = a.call("BLPOP", "q", 0)
    check(isinstance(direct, Err) and direct.startswith("NOPERM"), "BLPOP's own: %r" % direct)
    a.send(("CACHELY.BLOCK", 10, "BLPOP", "q", 0))
    expect(a, push(10, b"-" + direct.encode() + b"\r\n"), "NOPERM")
    a.send(("CACHELY.BLOCK", 11, "BRPOP", "q", "0.01"))
    expect(a, push(11, b"*-1\r\n"), "an allowed one runs")
    # A user without the commands themselves gets an in-order NOPERM.
    r.execute_command("ACL", "SETUSER", "v", "on", "nopass", "~*", "+@all", "-@blocking")
    b = Raw(n.port)
    check(b.call("AUTH", "v", "x") == "OK", "AUTH v")
    rep = b.call("CACHELY.BLOCK", 1, "BLPOP", "q", 0)
    check(isinstance(rep, Err) and rep.startswith("NOPERM"), "-@blocking: %r" % rep)
    check(clients(r) == (0, 0), "nothing waiting")
    a.close()
    b.close()
    # At most maxclients waits in all; then the push says so.
    small = c.node("--save", "", "--maxclients", 4)
    s = Raw(small.port)
    s.send(*[("CACHELY.BLOCK", t, "BLPOP", "q", 0) for t in range(4)])
    s.send(("CACHELY.BLOCK", 4, "BLPOP", "q", 0))
    expect(s, push(4, b"-ERR max number of clients reached\r\n"), "the fifth wait")
    # The bound is the node's, not each connection's.
    s2 = Raw(small.port)
    s2.send(("CACHELY.BLOCK", 1, "BLPOP", "q", 0))
    expect(s2, push(1, b"-ERR max number of clients reached\r\n"), "a wait on another connection")
    s2.close()
    rs = cluster.client(small)
    check(clients(rs) == (4, 4), "four wait")
    check(s.call("CACHELY.UNBLOCK", 0) == 1, "one dropped")
    s.send(("CACHELY.BLOCK", 5, "BLPOP", "q", "0.01"))
    expect(s, push(5, b"*-1\r\n"), "room again")
    s.close()


def case_j_other_blocking_commands(c):
    n = c.node("--save", "")
    r = cluster.client(n)
    a = Raw(n.port)
    a.send(("CACHELY.BLOCK", 1, "BLMOVE", "src", "dst", "LEFT", "RIGHT", 0),
           ("CACHELY.BLOCK", 2, "BZPOPMIN", "z", 0),
           ("CACHELY.BLOCK", 3, "BLMPOP", 0, 2, "l1", "l2", "RIGHT", "COUNT", 2),
           ("CACHELY.BLOCK", 4, "BRPOPLPUSH", "src2", "dst2", 0),
           ("CACHELY.BLOCK", 5, "BZMPOP", 0, 1, "z2", "MAX"))
    r.xgroup_create("st", "g", id="$", mkstream=True)
    a.send(("CACHELY.BLOCK", 6, "XREADGROUP", "GROUP", "g", "c1", "BLOCK", 0, "STREAMS", "st", ">"),
           ("CACHELY.BLOCK", 7, "XREAD", "BLOCK", 0, "STREAMS", "st", "$"))
    wait_waits(r, 7, 7)
    check(int(info(r, "clients")["total_blocking_keys"]) == 8
          if "total_blocking_keys" in info(r, "clients") else True, "blocking keys")
    r.rpush("src", "a")
    expect(a, push(1, b"$1\r\na\r\n"), "BLMOVE")
    check(r.lrange("dst", 0, -1) == ["a"], "BLMOVE moved")
    r.zadd("z", {"m": 2})
    expect(a, push(2, b"*3\r\n$1\r\nz\r\n$1\r\nm\r\n$1\r\n2\r\n"), "BZPOPMIN")
    r.rpush("l2", "x", "y", "z")
    expect(a, push(3, b"*2\r\n$2\r\nl2\r\n*2\r\n$1\r\nz\r\n$1\r\ny\r\n"), "BLMPOP")
    r.rpush("src2", "p")
    expect(a, push(4, b"$1\r\np\r\n"), "BRPOPLPUSH")
    r.zadd("z2", {"lo": 1, "hi": 9})
    expect(a, push(5, b"*2\r\n$2\r\nz2\r\n*1\r\n*2\r\n$2\r\nhi\r\n$1\r\n9\r\n"), "BZMPOP")
    eid = r.xadd("st", {"f": "v"}).encode()
    entry = (b"*1\r\n*2\r\n$2\r\nst\r\n*1\r\n*2\r\n$%d\r\n%s\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
             % (len(eid), eid))
    got = a.exact(2 * (len(push(6, b"")) + len(entry)))
    check(got in (push(6, entry) + push(7, entry), push(7, entry) + push(6, entry)),
          "XREADGROUP > and XREAD: %r" % got)
    pend = r.xpending("st", "g")
    check(pend["pending"] == 1 and pend["consumers"][0]["name"] == "c1",
          "XREADGROUP's delivery is pending for c1: %r" % pend)
    # Without BLOCK they answer at once.
    a.send(("CACHELY.BLOCK", 8, "XREAD", "STREAMS", "st", "0"),
           ("CACHELY.BLOCK", 9, "XREADGROUP", "GROUP", "g", "c1", "STREAMS", "st", ">"))
    expect(a, push(8, entry), "XREAD without BLOCK")
    expect(a, push(9, b"*-1\r\n"), "XREADGROUP without BLOCK, nothing new")
    wait_waits(r, 0, 0)
    # A reply of many blocks, and a command too long to keep its waiter,
    # between small ones (waiters are kept and reused).
    vals = [b"%04d" % i + b"v" * 96 for i in range(1000)]
    r.rpush("big", *vals)
    a.send(("CACHELY.BLOCK", 20, "BLMPOP", 0, 1, "big", "LEFT", "COUNT", 1000))
    body = b"*2\r\n$3\r\nbig\r\n*1000\r\n" + b"".join(b"$100\r\n%s\r\n" % v for v in vals)
    expect(a, push(20, body), "a 100 KB reply")
    longkey = "k" * 10000
    a.send(("CACHELY.BLOCK", 21, "BLPOP", longkey, "0.01"), ("CACHELY.BLOCK", 22, "BLPOP", "q", "0.01"))
    got = a.exact(2 * len(push(21, b"*-1\r\n")))
    check(got in (push(21, b"*-1\r\n") + push(22, b"*-1\r\n"),
                  push(22, b"*-1\r\n") + push(21, b"*-1\r\n")), "then small ones: %r" % got)
    r.rpush(longkey, "x")
    a.send(("CACHELY.BLOCK", 23, "BLPOP", longkey, 0))
    expect(a, push(23, b"*2\r\n$10000\r\n" + longkey.encode() + b"\r\n$1\r\nx\r\n"), "long key")
    # The stream deleted under an XREADGROUP wait: its error as the push.
    a.send(("CACHELY.BLOCK", 10, "XREADGROUP", "GROUP", "g", "c1", "BLOCK", 0, "STREAMS", "st", ">"))
    wait_waits(r, 1, 1)
    r.delete("st")
    expect(a, push(10, b"-UNBLOCKED the stream key no longer exists\r\n"), "stream deleted")
    a.close()


def case_k_replicaof_releases(c):
    m = c.node("--save", "")
    other = c.node("--save", "")
    r = cluster.client(m)
    a, o, w = Raw(m.port), Raw(m.port), Raw(m.port)
    a.send(("CACHELY.BLOCK", 1, "BLPOP", "q", 0), ("CACHELY.BLOCK", 2, "XREAD", "BLOCK", 0, "STREAMS", "s", "$"))
    o.send(("BLPOP", "q", 0))
    w.send(("SET", "k", "v"), ("WAIT", 1, 0))
    check(w.reply() == "OK", "SET")
    wait_waits(r, 4, 2)
    check(r.execute_command("REPLICAOF", LOCAL, other.port) == "OK", "REPLICAOF")
    got = a.exact(2 * len(push(1, STATE_CHANGED)))
    check(got in (push(1, STATE_CHANGED) + push(2, STATE_CHANGED),
                  push(2, STATE_CHANGED) + push(1, STATE_CHANGED)),
          "the waits' pushes: %r" % got)
    check(a.call("PING") == "PONG", "the waits' connection stays")
    expect(o, STATE_CHANGED, "a blocked client gets the same text")
    check(o.at_eof(), "and is closed, as Redis closes it")
    expect(w, STATE_CHANGED, "so does a WAIT")
    check(w.at_eof(), "closed")
    wait_waits(r, 0, 0)
    # On a replica, the write is refused as the command would be.
    a.send(("CACHELY.BLOCK", 3, "BLPOP", "q", 0))
    expect(a, push(3, b"-READONLY You can't write against a read only replica.\r\n"),
           "READONLY on a replica")
    # REPLICAOF inside the waits' connection's own EXEC: the push never
    # splits EXEC's reply.
    check(r.execute_command("REPLICAOF", "NO", "ONE") == "OK", "a master again")
    a.send(("CACHELY.BLOCK", 4, "BLPOP", "q", 0))
    wait_waits(r, 1, 1)
    a.send(("MULTI",), ("REPLICAOF", LOCAL, other.port), ("PING",), ("EXEC",))
    expect(a, b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n+PONG\r\n" + push(4, STATE_CHANGED),
           "EXEC's reply whole, then the push")
    a.close()


def case_l_info_and_pause(c):
    n = c.node("--save", "")
    r = cluster.client(n)
    a = Raw(n.port)
    check(clients(r) == (0, 0), "none")
    a.send(("CACHELY.BLOCK", 1, "BLPOP", "q", 0), ("CACHELY.BLOCK", 2, "BLPOP", "q", 100))
    wait_waits(r, 2, 2)
    d = info(r, "clients")
    check(int(d["clients_in_timeout_table"]) == 1, "one deadline")
    check(int(d["connected_clients"]) == 2, "the waits are no connections")
    check(b"cachely" not in a.call("CLIENT", "LIST"), "nor listed")
    # CLIENT PAUSE WRITE holds a new wait as it holds BLPOP; it runs after.
    r.rpush("p", "e")
    r.execute_command("CLIENT", "PAUSE", 60000, "WRITE")
    a.send(("CACHELY.BLOCK", 3, "BLPOP", "p", 0), ("PING",))
    expect(a, b"+PONG\r\n", "the connection is not held")
    wait_waits(r, 3, 3)
    check(a.call("CACHELY.UNBLOCK", 3, "TIMEOUT") == 0, "a held wait is not released")
    r.execute_command("CLIENT", "UNPAUSE")
    expect(a, push(3, b"*2\r\n$1\r\np\r\n$1\r\ne\r\n"), "served once the pause ends")
    wait_waits(r, 2, 2)
    # A silent UNBLOCK of a held wait drops it.
    r.execute_command("CLIENT", "PAUSE", 60000, "WRITE")
    r2 = cluster.client(n)
    a.send(("CACHELY.BLOCK", 4, "BLPOP", "p2", 0))
    wait_waits(r, 3, 3)
    check(a.call("CACHELY.UNBLOCK", 4) == 1, "dropped")
    r2.execute_command("CLIENT", "UNPAUSE")
    wait_waits(r, 2, 2)
    check(a.call("CACHELY.UNBLOCK", 1) == 1 and a.call("CACHELY.UNBLOCK", 2) == 1, "drop both")
    wait_waits(r, 0, 0)
    check(int(info(r, "clients")["clients_in_timeout_table"]) == 0, "no deadline left")
    # COMMAND and ACL know both.
    ci = r.execute_command("COMMAND", "INFO", "cachely.block", "cachely.unblock")
    check(all(x is not None for x in ci), "COMMAND INFO: %r" % (ci,))
    cat = r.execute_command("ACL", "CAT", "blocking")
    check("cachely.block" in cat and "cachely.unblock" in cat, "@blocking: %r" % cat)
    cat = r.execute_command("ACL", "CAT", "connection")
    check("cachely.block" in cat and "cachely.unblock" in cat, "@connection")
    a.close()


CASES = [
    ("a", "served at once, in order, RESP2 and RESP3", case_a_served_at_once),
    ("b", "blocks, then served by another connection's LPUSH", case_b_blocks_then_served),
    ("c", "FIFO with ordinary blocked clients, both orders", case_c_fifo_with_blocked_clients),
    ("d", "timeouts: *-1 (RESP2) and _ (RESP3)", case_d_timeouts),
    ("e", "1,000 waits on one connection between GETs", case_e_many_waits_one_connection),
    ("f", "UNBLOCK: silent, TIMEOUT, ERROR, unknown tag", case_f_unblock),
    ("g", "a closing connection drops its waits", case_g_close_drops_waits),
    ("h", "served pops reach the replica and the AOF", case_h_replica_and_aof),
    ("i", "errors: in the push, and the envelope's in order", case_i_errors),
    ("j", "BLMOVE, BZPOPMIN, BLMPOP, BRPOPLPUSH, BZMPOP, XREAD(GROUP)",
     case_j_other_blocking_commands),
    ("k", "REPLICAOF releases waits and blocked clients (-UNBLOCKED)",
     case_k_replicaof_releases),
    ("l", "INFO, CLIENT PAUSE, COMMAND and ACL", case_l_info_and_pause),
]


def main():
    return cluster.run_cases(CASES, "", "CACHELY_BLOCK_TAGGED_CASES",
                             lambda fn: cluster.run_in(cluster.Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
