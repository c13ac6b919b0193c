#!/usr/bin/python3
"""Rough throughput of MULTI/EXEC (5 commands), of PUBLISH to 100
subscribers and of a stream consumer (XREADGROUP COUNT 100 then XACK of
the IDs it got, entries per second), cachely-server next to redis-server,
runs interleaved.

The client is Python over raw sockets, pipelining whole batches, so its own
cost is in every figure (the same for both servers): read the ratios, not
the absolute rates.  Usage: utils/bench-tx.py [--rounds N] (default 3).
CACHELY_BUILDDIR names the build (default build/).
"""
import os
import re
import select
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "compat"))
os.environ.setdefault("CACHELY_BUILDDIR", os.path.join(HERE, "..", "build"))
import servers  # noqa: E402


def enc(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def drain(sock, want_lines, keep=False):
    """Read until want_lines CRLF-terminated lines arrived (a CRLF split
    between two reads counts too); with keep, return the bytes read."""
    got = 0
    last = b""
    parts = []
    while got < want_lines:
        d = sock.recv(1 << 20)
        if not d:
            raise EOFError
        got += d.count(b"\r\n") + (last == b"\r" and d[:1] == b"\n")
        last = d[-1:]
        if keep:
            parts.append(d)
    return b"".join(parts)


TX = (enc("MULTI") + enc("INCR", "a") + enc("INCR", "b") + enc("SET", "c", "v")
      + enc("GET", "c") + enc("EXPIRE", "c", "100") + enc("EXEC"))
# Replies: +OK, 5x +QUEUED, then *5, :n, :n, +OK, $1 v (2 lines), :1: 13 lines
TX_LINES = 1 + 5 + 1 + 1 + 1 + 1 + 2 + 1


def bench_multi(port, seconds=2.0, batch=200):
    s = socket.create_connection(("127.0.0.1", port))
    payload = TX * batch
    n = 0
    t0 = time.time()
    while time.time() - t0 < seconds:
        s.sendall(payload)
        drain(s, TX_LINES * batch)
        n += batch
    dt = time.time() - t0
    s.close()
    return n / dt


def bench_publish(port, seconds=2.0, batch=200, nsubs=100):
    subs = []
    for _ in range(nsubs):
        x = socket.create_connection(("127.0.0.1", port))
        x.sendall(enc("SUBSCRIBE", "fan"))
        subs.append(x)
    for x in subs:
        drain(x, 3)
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            r, _, _ = select.select(subs, [], [], 0.1)
            for x in r:
                x.recv(1 << 20)

    t = threading.Thread(target=reader)
    t.start()
    p = socket.create_connection(("127.0.0.1", port))
    payload = enc("PUBLISH", "fan", "m" * 32) * batch
    n = 0
    t0 = time.time()
    while time.time() - t0 < seconds:
        p.sendall(payload)
        drain(p, batch)
        n += batch
    dt = time.time() - t0
    stop.set()
    t.join()
    for x in subs + [p]:
        x.close()
    return n / dt


STREAM_ID = re.compile(rb"\r\n\$\d+\r\n(\d+-\d+)\r\n")


def bench_stream(port, seconds=2.0, batch=100, fill=400000):
    """A consumer of group g on stream st: XREADGROUP COUNT batch, then
    XACK of the IDs it read; entries per second.  The stream is filled
    first (one-field entries), outside the timing."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(enc("DEL", "st") + enc("XGROUP", "CREATE", "st", "g", "$", "MKSTREAM"))
    drain(s, 2)
    chunk = enc("XADD", "st", "*", "f", "v" * 16) * 1000
    for _ in range(fill // 1000):
        s.sendall(chunk)
        drain(s, 2000)
    read = enc("XREADGROUP", "GROUP", "g", "c", "COUNT", batch, "STREAMS", "st", ">")
    n = 0
    t0 = time.time()
    while time.time() - t0 < seconds and n + batch <= fill:
        s.sendall(read)
        # *1 *2 $2 st *batch, then per entry *2 $n id *2 $1 f $16 v...
        data = drain(s, 5 + 8 * batch, keep=True)
        ids = STREAM_ID.findall(data)
        if len(ids) != batch:
            raise RuntimeError("XREADGROUP gave %d entries" % len(ids))
        s.sendall(enc("XACK", "st", "g", *ids))
        drain(s, 1)
        n += batch
    dt = time.time() - t0
    s.sendall(enc("DEL", "st"))
    drain(s, 1)
    s.close()
    return n / dt


def main():
    rounds = 3
    if "--rounds" in sys.argv:
        rounds = int(sys.argv[sys.argv.index("--rounds") + 1])
    c = servers.Server("cachely")
    r = servers.Server("redis")
    res = {("multi", "cachely"): [], ("multi", "redis"): [],
           ("publish", "cachely"): [], ("publish", "redis"): [],
           ("stream", "cachely"): [], ("stream", "redis"): []}
    try:
        for _ in range(rounds):
            for name, srv in (("cachely", c), ("redis", r)):
                res[("multi", name)].append(bench_multi(srv.port))
                res[("publish", name)].append(bench_publish(srv.port))
                res[("stream", name)].append(bench_stream(srv.port))
    finally:
        c.stop()
        r.stop()
    print("%-34s %12s %12s %7s" % ("benchmark (median of %d)" % rounds, "cachely/s",
                                   "redis/s", "ratio"))
    for b, title in (("multi", "MULTI/EXEC of 5 commands"),
                     ("publish", "PUBLISH to 100 subscribers"),
                     ("stream", "XREADGROUP COUNT 100 + XACK (entries)")):
        cm = sorted(res[(b, "cachely")])[rounds // 2]
        rm = sorted(res[(b, "redis")])[rounds // 2]
        print("%-34s %12.0f %12.0f %7.2f" % (title, cm, rm, cm / rm))


if __name__ == "__main__":
    main()
