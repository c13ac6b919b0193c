#!/usr/bin/python3
"""BLPOP/LPUSH ping-pong, straight to a cachely-server and through a
cachely-proxy in front of it, in interleaved rounds (the path order rotating).

Two raw connections per path play ping-pong over two lists: A blocks in
BLPOP ping, B pushes to ping and blocks in BLPOP pong, A pops and pushes to
pong...  Each exchange is one blocking pop served by a push from the other
side, so it measures a blocking command's round trip (through the proxy: a
dedicated connection taken and given back each time).  Prints exchanges per
second per round and the median, and proxy/direct.

Usage: utils/bench-proxy-blocking.py [--rounds N] [--n EXCHANGES]
Environment: CACHELY_BUILDDIR (default build/ of this tree).
Client, proxy and server share the machine's cores: read the ratio."""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("CACHELY_BUILDDIR", os.path.join(HERE, "..", "build"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), 10)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def reply(self):
        """Read one reply whole (only the shapes this bench sees)."""
        def line():
            while b"\r\n" not in self.buf:
                d = self.s.recv(65536)
                if not d:
                    raise ConnectionError("closed")
                self.buf += d
            ln, _, self.buf = self.buf.partition(b"\r\n")
            return ln

        def one():
            ln = line()
            if ln[:1] == b"*":
                return [one() for _ in range(max(int(ln[1:]), 0))]
            if ln[:1] == b"$":
                n = int(ln[1:])
                if n < 0:
                    return None
                while len(self.buf) < n + 2:
                    self.buf += self.s.recv(65536)
                v, self.buf = self.buf[:n], self.buf[n + 2:]
                return v
            if ln[:1] == b"-":
                raise RuntimeError(ln.decode())
            return ln
        return one()

    def call(self, *args):
        self.s.sendall(resp(*args))
        return self.reply()


def wait_ping(port, proc):
    deadline = time.time() + 20
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("exited")
        try:
            if Conn(port).call("PING") == b"+PONG":
                return
        except (OSError, RuntimeError):
            pass
        time.sleep(0.05)
    raise RuntimeError("no PING on %d" % port)


def pingpong(port, n):
    a, b = Conn(port), Conn(port)
    a.call("DEL", "ping", "pong")

    def side_b():
        for _ in range(n):
            b.call("BLPOP", "ping", "0")
            b.call("LPUSH", "pong", "x")
    t = threading.Thread(target=side_b)
    t0 = time.time()
    t.start()
    for _ in range(n):
        a.call("LPUSH", "ping", "x")
        a.call("BLPOP", "pong", "0")
    t.join()
    return n / (time.time() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--n", type=int, default=5000)
    opt = ap.parse_args()
    d = tempfile.mkdtemp(prefix="cachely-bench-blk-")
    sport, pport = free_port(), free_port()
    procs = []
    try:
        log = open(os.path.join(d, "log"), "ab")
        procs.append(subprocess.Popen([os.path.join(BUILD, "src", "cachely-server"), "--port",
                                       str(sport), "--bind", "127.0.0.1", "--save", "",
                                       "--dir", d], stdout=log, stderr=log))
        wait_ping(sport, procs[-1])
        procs.append(subprocess.Popen([os.path.join(BUILD, "src", "cachely-proxy"), "--port",
                                       str(pport), "--bind", "127.0.0.1", "--nodes",
                                       "127.0.0.1:%d" % sport], stdout=log, stderr=log))
        wait_ping(pport, procs[-1])
        time.sleep(0.5)
        paths = [("direct", sport), ("cachely-proxy", pport)]
        res = {name: [] for name, _ in paths}
        for r in range(opt.rounds):
            order = paths[r % 2:] + paths[:r % 2]
            for name, port in order:
                res[name].append(pingpong(port, opt.n))
        print("BLPOP/LPUSH ping-pong, exchanges/s (%d per round, %d rounds)" % (opt.n, opt.rounds))
        for name, _ in paths:
            print("  %-14s %s  median %.0f" % (name, " ".join("%.0f" % v for v in res[name]),
                                              statistics.median(res[name])))
        print("  proxy/direct   %.2f" % (statistics.median(res["cachely-proxy"])
                                        / statistics.median(res["direct"])))
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
