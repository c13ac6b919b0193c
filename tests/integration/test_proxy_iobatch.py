"""cachely-proxy's batched socket I/O (io-uring yes, proxy/sockio.c) next to
one system call per read and write (io-uring no): every case runs once with
each, in front of a real cachely-server, and checks every reply byte for
byte.  Pipelines from many clients arriving in the same loop turn, 1 MB
values both ways (sends that come back short, a client that reads late),
replies the node's side delivers in small pieces and requests a client
sends byte by byte (partial frames on both sides), a node connection that
closes in the middle of a 1 MB reply, and clients that close with replies
pending.

The node connections that must misbehave go through a relay in this
process (a thread per direction) that can dribble the node's bytes or cut
a connection once it carried enough of a reply.  With io-uring yes the
proxy must hold an io_uring (its fd in /proc) or have logged why the kernel
refused it; with io-uring no it must hold none.

Run with /usr/bin/python3; CACHELY_BUILDDIR names the build.  Prints
"N passed, M failed".  CACHELY_PROXY_IOBATCH_CASES=a,d runs only those.
"""
import os
import select
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402
from cluster import (LOCAL, bulk, check, check_uring, client, info,  # noqa: E402
                     read_exactly, read_line, wait_for)
from cluster import resp as cmd  # noqa: E402

import redis  # noqa: E402

MB = 1 << 20


def connect(p, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(30)
    s.connect((LOCAL, p.port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def same(got, want, what):
    first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b),
                 min(len(got), len(want)))
    check(got == want, "%s: %d of %d reply bytes, first difference at %d: %r" % (
        what, len(got), len(want), first, got[first:first + 60]))


# ---- a relay between the proxy and the node ----------------------------------


class Relay:
    """Listens on a free port and relays every connection to the node.
    dribble: the node's bytes go on in pieces of that many bytes (each its
    own segment).  cut_after(n): the next connection that carries n bytes
    from the node after the call is closed there, both ways."""

    def __init__(self, node):
        self.node_port = node.port
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((LOCAL, 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.addr = "%s:%d" % (LOCAL, self.port)
        self.dribble = 0
        self.cut_at = None
        self.cuts = 0
        self.lock = threading.Lock()
        self.socks = []
        self.stopping = False
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def cut_after(self, n):
        with self.lock:
            self.cut_at = n
            self.counted = {}

    def accept_loop(self):
        while not self.stopping:
            try:
                a, _ = self.lsock.accept()
            except OSError:
                return
            try:
                b = socket.create_connection((LOCAL, self.node_port))
            except OSError:
                a.close()
                continue
            for s in (a, b):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.socks += [a, b]
            threading.Thread(target=self.pump, args=(a, b, False), daemon=True).start()
            threading.Thread(target=self.pump, args=(b, a, True), daemon=True).start()

    def pump(self, src, dst, from_node):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if from_node and self.cut_at is not None:
                    with self.lock:
                        n = self.counted.get(id(src), 0) + len(data)
                        self.counted[id(src)] = n
                        cut = self.cut_at is not None and n >= self.cut_at
                        if cut:
                            self.cut_at = None
                            self.cuts += 1
                    if cut:
                        # Half of this piece, then the connection ends.
                        dst.sendall(data[:len(data) // 2])
                        break
                if from_node and self.dribble:
                    for k, i in enumerate(range(0, len(data), self.dribble)):
                        dst.sendall(data[i:i + self.dribble])
                        if k % 8 == 0:
                            time.sleep(0.0002)
                else:
                    dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def stop(self):
        self.stopping = True
        self.lsock.close()
        with self.lock:
            for s in self.socks:
                try:
                    s.close()
                except OSError:
                    pass


# ---- processes -----------------------------------------------------------------


def proxy(c, nodes, mode):
    """A proxy (read-policy master) in front of nodes, once it sees the
    master; checks that io-uring mode is what it holds."""
    p = c.proxy(nodes, "--read-policy", "master", "--io-uring", mode)
    r = client(p)
    wait_for(lambda: "master:127.0.0.1" in r.execute_command("INFO"), 10,
             "the proxy sees the master")
    check_uring(p, mode)
    return p


# ---- cases -----------------------------------------------------------------------


def many_clients_pipelining(c, mode):
    """40 clients each send a 150-command pipeline at once, then read."""
    n = c.node("--save", "")
    p = proxy(c, n.addr, mode)
    socks = [connect(p) for _ in range(40)]
    want = cluster.send_set_get_incr(socks, 150)
    for k, s in enumerate(socks):
        same(read_exactly(s, len(want[k])), want[k], "client %d" % k)
        s.close()
    check(client(n).dbsize() == 40 * 17 + 40, "dbsize on the node")


def large_values(c, mode):
    """1 MB values written and read back through the proxy; a client with a
    small receive buffer that reads late (the proxy's sends to it come back
    short and its write event finishes them) while others are served."""
    n = c.node("--save", "")
    p = proxy(c, n.addr, mode)
    vals = [bytes([65 + i]) * MB for i in range(4)]
    w = connect(p)
    w.sendall(b"".join(cmd("SET", "big%d" % i, v) for i, v in enumerate(vals)))
    same(read_exactly(w, 5 * 4), b"+OK\r\n" * 4, "SET of 1 MB values")
    slow = connect(p, rcvbuf=32 << 10)
    slow.sendall(b"".join(cmd("GET", "big%d" % i) for i in range(4)) + cmd("PING"))
    time.sleep(0.2)  # the proxy fills slow's socket and waits for room
    r = client(p)
    for i in range(50):
        check(r.incr("other") == i + 1, "another client is served while one waits")
    want = b"".join(bulk(v) for v in vals) + b"+PONG\r\n"
    same(read_exactly(slow, len(want)), want, "late reader of 4 MB")
    # The same values pipelined to several clients in one turn.
    socks = [connect(p) for _ in range(6)]
    for s in socks:
        s.sendall(cmd("GET", "big1") + cmd("GET", "big3"))
    for k, s in enumerate(socks):
        want = bulk(vals[1]) + bulk(vals[3])
        same(read_exactly(s, len(want)), want, "client %d of 6, 2 MB" % k)
        s.close()
    slow.close()
    w.close()


def partial_frames(c, mode):
    """The node's replies reach the proxy in 7-byte pieces (every read of
    the backend ends inside a frame), and a client sends its requests one
    byte at a time: replies stay whole and in order."""
    n = c.node("--save", "")
    relay = Relay(n)
    try:
        p = proxy(c, relay.addr, mode)
        client(n).set("mid", "m" * 300)
        relay.dribble = 7
        socks = [connect(p) for _ in range(8)]
        want = []
        for k, s in enumerate(socks):
            req = b"".join(cmd("SET", "p%d:%d" % (k, i), "x" * (i * 37 % 500)) + cmd("GET", "mid")
                           + cmd("INCR", "pc%d" % k) for i in range(20))
            want.append(b"".join(b"+OK\r\n" + bulk(b"m" * 300) + b":%d\r\n" % (i + 1)
                                 for i in range(20)))
            s.sendall(req)
        for k, s in enumerate(socks):
            same(read_exactly(s, len(want[k])), want[k], "client %d, dribbled replies" % k)
        relay.dribble = 0
        # Requests byte by byte, with replies pending in between.
        s = socks[0]
        req = cmd("SET", "bb", "y" * 200) + cmd("GET", "bb") + cmd("PING")
        for i in range(len(req)):
            s.sendall(req[i:i + 1])
            if i % 50 == 0:
                time.sleep(0.001)
        want = b"+OK\r\n" + bulk(b"y" * 200) + b"+PONG\r\n"
        same(read_exactly(s, len(want)), want, "requests sent byte by byte")
        for s in socks:
            s.close()
    finally:
        relay.stop()


def get_or_error(r, key):
    try:
        return r.get(key)
    except redis.ResponseError as e:
        return e


def backend_closes_mid_reply(c, mode):
    """The node's connection ends half way through a 1 MB reply: that
    request and the ones pipelined behind it get the proxy's error (each
    may or may not have run), nothing of the cut reply reaches the client,
    and the next requests go through a new connection."""
    n = c.node("--save", "")
    relay = Relay(n)
    try:
        p = proxy(c, relay.addr, mode)
        nc = client(n)
        nc.set("big", "B" * MB)
        nc.set("small", "s")
        s = connect(p)

        def connection_open():
            s.sendall(cmd("GET", "small"))
            line = read_line(s)
            if line == b"$1":
                return read_exactly(s, 3) == b"s\r\n"
            check(line.startswith(b"-ERR cachely-proxy: "), "GET small: %r" % line)
            return False

        for rnd in range(3):
            # A reply through this session's node connection first, so that
            # the proxy has it open (after the last round's cut, once its
            # reconnect back-off has passed).
            wait_for(connection_open, 10, "round %d: the session's node connection is up" % rnd)
            cuts = relay.cuts
            relay.cut_after(MB // 2)
            s.sendall(cmd("GET", "big") + cmd("INCR", "after") + cmd("GET", "big"))
            lines = []
            buf = b""
            end = time.time() + 20
            while len(lines) < 3 and time.time() < end:
                r, _, _ = select.select([s], [], [], 1)
                if r:
                    chunk = s.recv(1 << 20)
                    check(chunk, "round %d: the proxy closed the client" % rnd)
                    buf += chunk
                while b"\r\n" in buf and len(lines) < 3:
                    line, buf = buf.split(b"\r\n", 1)
                    if line.startswith(b"$"):
                        # A whole reply got through before the cut (the
                        # second GET, if the cut hit the first): skip it.
                        size = int(line[1:])
                        while len(buf) < size + 2:
                            buf += read_exactly(s, size + 2 - len(buf), 10)
                        check(buf[:size] == b"B" * MB, "round %d: a bulk reply is whole" % rnd)
                        buf = buf[size + 2:]
                    lines.append(line)
            check(relay.cuts == cuts + 1, "round %d: the relay cut a connection" % rnd)
            check(len(lines) == 3, "round %d: 3 replies, got %r" % (rnd, lines))
            check(lines[0].startswith(b"-ERR cachely-proxy: connection to ")
                  and b"may or may not have been executed" in lines[0],
                  "round %d: the cut GET gets the proxy's error: %r" % (rnd, lines[0][:120]))
            for ln in lines[1:]:
                check(ln.startswith(b"-ERR cachely-proxy: connection to ") or ln.startswith(b":")
                      or ln.startswith(b"$"), "round %d: reply %r" % (rnd, ln[:120]))
            check(buf == b"", "round %d: bytes after the replies: %r" % (rnd, buf[:60]))
            # A new connection (after the reconnect's back-off) serves
            # what comes next.
            wait_for(lambda: get_or_error(client(p), "big") == "B" * MB, 10,
                     "round %d: the proxy serves again" % rnd)
        wait_for(connection_open, 10, "the session's node connection is up again")
        s.sendall(cmd("GET", "big"))
        want = bulk(b"B" * MB)
        same(read_exactly(s, len(want)), want, "the cut client's next GET")
        s.close()
    finally:
        relay.stop()


def clients_close_with_replies_pending(c, mode):
    """Clients that send pipelines with 200 KB replies and close at once,
    some before their replies came back from the node, some after."""
    n = c.node("--save", "")
    p = proxy(c, n.addr, mode)
    r = client(p)
    r.set("v", "z" * 200000)
    for rnd in range(4):
        socks = [connect(p) for _ in range(20)]
        for s in socks:
            s.sendall(cmd("GET", "v") * 5 + cmd("INCR", "closed"))
        if rnd % 2:
            time.sleep(0.05)
        for s in socks:
            s.close()
    check(r.get("v") == "z" * 200000, "the proxy answers after the closes")
    wait_for(lambda: int(info(r, "clients")["connected_clients"]) == 1, 10,
             "closed clients are gone")


def two_groups(c, mode, a_addr, b_addr):
    """A proxy with group a (slots 0-8191: "{bar}" keys) at a_addr and group
    b (8192-16383: "{foo}" keys) at b_addr."""
    p = c.proxy(None, "--group", "a 0-8191 %s" % a_addr, "--group", "b 8192-16383 %s" % b_addr,
                "--read-policy", "master", "--io-uring", mode)
    r = client(p)
    wait_for(lambda: get_or_error(r, "{bar}probe") is None
             and get_or_error(r, "{foo}probe") is None, 10, "the proxy serves both groups")
    return p


def read_runs(c, mode):
    """A pipeline's consecutive reads of one session to one connection go
    as one request (a run): their replies stay in order behind a slower
    request of another group, arrive whole when the node's bytes come in
    7-byte pieces, and each gets the proxy's error when the connection is
    cut in the middle of the run."""
    na, nb = c.node("--save", ""), c.node("--save", "")
    ra, rb = Relay(na), Relay(nb)
    try:
        p = two_groups(c, mode, ra.addr, rb.addr)
        client(nb).set("{foo}x", "X" * 12000)
        for i in range(30):
            client(na).set("{bar}m%d" % i, ("%02d" % i) * 300)
        ra.dribble = rb.dribble = 7
        s = connect(p)
        # A slow reply of group b first, then a run of 30 reads of group a
        # (answered meanwhile: held, then, once the first reply is out,
        # passed on as they come), a local reply, group b again, and a run.
        req = cmd("GET", "{foo}x") + b"".join(cmd("GET", "{bar}m%d" % i) for i in range(30)) \
            + cmd("PING") + cmd("STRLEN", "{foo}x") + b"".join(
                cmd("GET", "{bar}m%d" % i) for i in range(29, -1, -1))
        want = bulk(b"X" * 12000) + b"".join(bulk(b"%02d" % i * 300) for i in range(30)) \
            + b"+PONG\r\n:12000\r\n" + b"".join(bulk(b"%02d" % i * 300) for i in range(29, -1, -1))
        s.sendall(req)
        same(read_exactly(s, len(want), 60), want, "runs behind a slower group")
        ra.dribble = rb.dribble = 0
        s.close()
        # The run's connection cut in its second reply: the first whole,
        # the three others the proxy's error.
        client(na).set("{bar}big", "B" * MB)
        s = connect(p)
        wait_for(lambda: get_or_error(client(p), "{bar}big") == "B" * MB, 10, "big readable")
        ra.cut_after(MB + MB // 2)
        s.sendall(cmd("GET", "{bar}big") * 4)
        buf = b""
        end = time.time() + 20
        while time.time() < end and buf.count(b"may or may not have been executed") < 3:
            if select.select([s], [], [], 1)[0]:
                chunk = s.recv(1 << 20)
                check(chunk, "the proxy closed the client")
                buf += chunk
        first = bulk(b"B" * MB)
        same(buf[:len(first)], first, "the first reply of the run")
        lines = buf[len(first):].split(b"\r\n")
        check(len(lines) == 4 and lines[3] == b"", "three more replies: %r" % (lines[:4],))
        for k, line in enumerate(lines[:3]):
            check(line.startswith(b"-ERR cachely-proxy: connection to ")
                  and b"may or may not have been executed" in line,
                  "reply %d of the cut run: %r" % (k + 2, line[:120]))
        check(ra.cuts == 1, "the relay cut one connection")
        wait_for(lambda: get_or_error(client(p), "{bar}big") == "B" * MB, 10,
                 "the proxy serves again")
        s.close()
    finally:
        ra.stop()
        rb.stop()


def both(fn):
    def run(c):
        for mode in ("yes", "no"):
            fn(c, mode)
    return run


CASES = [
    ("a", "40 clients pipelining at once, replies byte for byte", both(many_clients_pipelining)),
    ("b", "1 MB values both ways, a late reader", both(large_values)),
    ("c", "partial frames: dribbled replies, requests byte by byte", both(partial_frames)),
    ("d", "a node connection closing in the middle of a 1 MB reply",
     both(backend_closes_mid_reply)),
    ("e", "clients closing with replies pending", both(clients_close_with_replies_pending)),
    ("f", "runs of reads: held behind another group, dribbled, cut in the middle",
     both(read_runs)),
]


def main():
    return cluster.run_cases(CASES, "", "CACHELY_PROXY_IOBATCH_CASES",
                             lambda fn: cluster.run_in(cluster.Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
