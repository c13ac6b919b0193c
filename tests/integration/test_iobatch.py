"""Batched socket I/O (io-uring yes, core/iobatch.c) next to one system
call per read and write (io-uring no): many clients whose pipelines arrive
in the same loop turn, replies too big for one send to a client that reads
late (the send comes back short or with EAGAIN and the write event takes
over), a client killed by another's command in the same turn, and peers
that close with replies pending.  Every reply is checked byte for byte.

With io-uring yes the server must hold an io_uring (its fd in /proc), or
have logged why the kernel refused it (a seccomp profile, an old kernel):
then the case says so and still checks the replies.

Each case starts its own cachely-server processes on free 127.0.0.1 ports.
Run with /usr/bin/python3; CACHELY_BUILDDIR names the build.  Prints
"N passed, M failed".  CACHELY_IOBATCH_CASES=a,c runs only those.
"""
import os
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402
from cluster import (LOCAL, bulk, check, check_uring, info, read_exactly,  # noqa: E402
                     read_line, wait_for)
from cluster import resp as cmd  # noqa: E402


def connect(n):
    s = socket.create_connection((LOCAL, n.port), timeout=20)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def node(c, mode):
    n = c.node("--save", "", "--io-uring", mode)
    check_uring(n, mode)
    return n


def many_clients(c, mode):
    """40 clients each send a 200-command pipeline at once, then read."""
    n = node(c, mode)
    socks = [connect(n) for _ in range(40)]
    want = cluster.send_set_get_incr(socks, 200)
    for k, s in enumerate(socks):
        got = read_exactly(s, len(want[k]))
        check(got == want[k], "client %d: %d of %d reply bytes, first difference at %d" % (
            k, len(got), len(want[k]),
            next((i for i, (a, b) in enumerate(zip(got, want[k])) if a != b), len(got))))
        s.close()
    r = cluster.client(n)
    check(r.dbsize() == 40 * 17 + 40, "dbsize %d" % r.dbsize())


def big_replies_late_reader(c, mode):
    """Five 2 MB GETs to a client that reads only later: the sends come
    back short, the write event finishes them; others are served meanwhile."""
    n = node(c, mode)
    r = cluster.client(n)
    vals = [bytes([65 + i]) * (2 << 20) for i in range(5)]
    for i, v in enumerate(vals):
        r.set("big%d" % i, v.decode())
    slow = connect(n)
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
    slow.sendall(b"".join(cmd("GET", "big%d" % i) for i in range(5)) + cmd("PING"))
    # The server fills the socket and waits for room; others go on.
    wait_for(lambda: r.execute_command("CLIENT", "LIST").count("events=rw") >= 1, 10,
             "the late reader's write event is armed")
    for i in range(50):
        check(r.incr("other") == i + 1, "another client is served while one waits")
    want = b"".join(bulk(v) for v in vals) + b"+PONG\r\n"
    got = read_exactly(slow, len(want))
    check(got == want, "late reader: %d of %d bytes" % (len(got), len(want)))
    slow.close()


def kill_in_same_turn(c, mode):
    """One client kills others while they have pipelines in flight; the
    server must not touch the killed clients' buffers afterwards."""
    n = node(c, mode)
    r = cluster.client(n)
    for _ in range(20):
        victims = [connect(n) for _ in range(10)]
        killer = connect(n)
        ids = []
        for v in victims:
            v.sendall(cmd("CLIENT", "ID"))
            ids.append(int(read_line(v)[1:]))
        pipe = b"".join(cmd("SET", "x", "y" * 100) + cmd("GET", "x") for _ in range(100))
        for v in victims:
            v.sendall(pipe)
        killer.sendall(b"".join(cmd("CLIENT", "KILL", "ID", i) for i in ids))
        got = read_exactly(killer, 4 * len(ids))
        check(got == b":1\r\n" * len(ids), "CLIENT KILL replies: %r" % got[:80])
        for v in victims:
            v.close()
        killer.close()
    check(r.ping(), "the server answers after the kills")
    wait_for(lambda: int(info(r, "clients")["connected_clients"]) == 1, 10,
             "killed clients are gone")


def peers_close_with_replies_pending(c, mode):
    """Clients that send a pipeline with large replies and close at once."""
    n = node(c, mode)
    r = cluster.client(n)
    r.set("v", "z" * 200000)
    for _ in range(4):
        socks = [connect(n) for _ in range(20)]
        for s in socks:
            s.sendall(cmd("GET", "v") * 5)
        for s in socks:
            s.close()
    check(r.get("v") == "z" * 200000, "the server answers after the closes")
    wait_for(lambda: int(info(r, "clients")["connected_clients"]) == 1, 10,
             "closed clients are gone")


def blocked_client_served_before_its_read(c, mode):
    """A client blocked in BLPOP sends more commands in the same turn as
    the LPUSH that serves it: when the LPUSH runs first, the BLPOP is
    answered and its frame consumed before the new bytes are taken in."""
    n = node(c, mode)
    r = cluster.client(n)
    for i in range(60):
        b = connect(n)
        a = connect(n)
        b.sendall(cmd("BLPOP", "q", 0))
        wait_for(lambda: int(info(r, "clients")["blocked_clients"]) == 1, 10,
                 "the BLPOP blocks")
        a.sendall(cmd("LPUSH", "q", "x%d" % i))
        b.sendall(cmd("PING") * 3 + cmd("ECHO", "e%d" % i))
        want_b = (b"*2\r\n" + bulk(b"q") + bulk(b"x%d" % i) + b"+PONG\r\n" * 3
                  + bulk(b"e%d" % i))
        got_b = read_exactly(b, len(want_b), 10)
        check(got_b == want_b, "round %d: the served client read %r" % (i, got_b))
        check(read_exactly(a, 4, 10) == b":1\r\n", "LPUSH answered")
        a.close()
        b.close()


def busy_script_in_the_same_turn(c, mode):
    """A script that spins starts from a read batch in which other clients'
    commands were read too: while it runs they must get -BUSY (or their
    reply, if they came first), not wait for the script's end.  A DEBUG
    SLEEP holds the loop so that the FCALL and the PINGs arrive in one
    turn; SCRIPT's kill ends each round."""
    n = node(c, mode)
    r = cluster.client(n)
    r.config_set("busy-reply-threshold", 50)
    r.execute_command("FUNCTION", "LOAD", "#!lua name=spin\nredis.register_function("
                      "'spin', function() while true do end end)")
    for i in range(5):
        holder, a = connect(n), connect(n)
        others = [connect(n) for _ in range(6)]
        holder.sendall(cmd("DEBUG", "SLEEP", "0.2"))
        time.sleep(0.05)
        a.sendall(cmd("FCALL", "spin", 0))
        for o in others:
            o.sendall(cmd("PING"))
        for k, o in enumerate(others):
            line = read_line(o)
            check(line == b"+PONG" or line.startswith(b"-BUSY"),
                  "round %d: client %d read %r while the script ran" % (i, k, line))
        kill = connect(n)
        kill.sendall(cmd("FUNCTION", "KILL"))
        check(read_line(kill) == b"+OK", "FUNCTION KILL")
        check(read_line(a).startswith(b"-ERR Script killed"), "the FCALL was killed")
        check(read_line(holder) == b"+OK", "DEBUG SLEEP answered")
        for s in [holder, a, kill] + others:
            s.close()


def pipelines_against_a_model(c, mode):
    """Pipelines of random requests (SET, GET, INCR, DEL, EXISTS, APPEND,
    SELECT among four databases, inline GETs, a 2 MB SET now and then) over
    4,000 keys, so the keyspace grows through rehashes while they run; sent
    in pieces of random size, so requests split across reads.  The node
    looks each pipeline's keys up ahead of running them (client.c's
    pipeline_prefetch) and reuses the hashes it took: every reply is
    checked against a model, byte for byte."""
    import random
    rnd = random.Random(7)
    n = node(c, mode)
    model = [dict() for _ in range(4)]
    for k in range(3):
        s = connect(n)
        db = 0
        req, rep = [], []
        for i in range(3000):
            key = "key:%d" % rnd.randrange(4000)
            op = rnd.random()
            d = model[db]
            if op < 0.04:
                db = rnd.randrange(4)
                req.append(cmd("SELECT", db))
                rep.append(b"+OK\r\n")
            elif op < 0.25:
                val = b"v%d" % i * rnd.randrange(1, 4)
                if rnd.random() < 0.003:
                    val = b"x" * (2 << 20)
                req.append(cmd("SET", key, val))
                d[key] = val
                rep.append(b"+OK\r\n")
            elif op < 0.5:
                req.append(cmd("GET", key))
                rep.append(bulk(d[key]) if key in d else b"$-1\r\n")
            elif op < 0.58:
                req.append(b"GET " + key.encode() + b"\r\n")
                rep.append(bulk(d[key]) if key in d else b"$-1\r\n")
            elif op < 0.7:
                ikey = "n" + key
                v = int(d.get(ikey, b"0")) + 1
                d[ikey] = b"%d" % v
                req.append(cmd("INCR", ikey))
                rep.append(b":%d\r\n" % v)
            elif op < 0.8:
                req.append(cmd("DEL", key, "n" + key))
                gone = (key in d) + (("n" + key) in d)
                d.pop(key, None)
                d.pop("n" + key, None)
                rep.append(b":%d\r\n" % gone)
            elif op < 0.9:
                req.append(cmd("EXISTS", key))
                rep.append(b":%d\r\n" % (key in d))
            else:
                d[key] = d.get(key, b"") + b"a"
                req.append(cmd("APPEND", key, "a"))
                rep.append(b":%d\r\n" % len(d[key]))
        data, want = b"".join(req), b"".join(rep)
        pos = 0
        while pos < len(data):
            step = rnd.choice([7, 100, 4096, 16384, 70000])
            s.sendall(data[pos:pos + step])
            pos += step
        got = read_exactly(s, len(want))
        check(got == want, "pipeline %d: %d of %d reply bytes, first difference at %d" % (
            k, len(got), len(want),
            next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), len(got))))
        s.close()


def both(fn):
    def run(c):
        for mode in ("yes", "no"):
            fn(c, mode)
    return run


CASES = [
    ("a", "40 clients pipelining at once, replies byte for byte", both(many_clients)),
    ("b", "big replies to a late reader finish on the write event", both(big_replies_late_reader)),
    ("c", "CLIENT KILL of clients with pipelines in the same turn", both(kill_in_same_turn)),
    ("d", "peers closing with replies pending", both(peers_close_with_replies_pending)),
    ("e", "a blocked client served before its own read in one turn",
     both(blocked_client_served_before_its_read)),
    ("f", "clients read in the same turn as a busy script get -BUSY",
     both(busy_script_in_the_same_turn)),
    ("g", "random pipelines over a growing keyspace, checked against a model",
     both(pipelines_against_a_model)),
]


def main():
    return cluster.run_cases(CASES, "", "CACHELY_IOBATCH_CASES",
                             lambda fn: cluster.run_in(cluster.Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
