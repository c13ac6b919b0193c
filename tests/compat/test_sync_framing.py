"""The framing of a full sync, Cachely against Debian's redis-server 7.0
(issue 9 item 10).  The payloads differ (Redis sends an RDB file, Cachely a
RESP command stream), so what is compared is how they are framed, which is
what old SYNC readers and redis-cli --rdb depend on:
  - a plain SYNC, or PSYNC without REPLCONF capa eof: "$<length>\\r\\n" then
    exactly that many bytes, any "\\n" keepalives before the header;
  - after REPLCONF capa eof: "$EOF:<40 characters>\\r\\n", the payload, then
    the same 40 characters.
Run with /usr/bin/python3; prints "N passed, M failed".
"""
import os
import re
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from servers import Results, Server  # noqa: E402


class Link:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), 20)
        self.buf = b""

    def send(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)

    def fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def header(self):
        """The payload header, without the "\\n" keepalives before it."""
        return self.line().lstrip(b"\n")

    def exact(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def close(self):
        self.s.close()


def sized(link):
    """Reads a "$<length>" payload; returns (header shape, length read)."""
    hdr = link.header()
    if not re.fullmatch(rb"\$[0-9]+", hdr):
        return "header %r" % hdr[:60], 0
    n = int(hdr[1:])
    return "$<length>", len(link.exact(n))


def eof_framed(link):
    """Reads a "$EOF:<mark>" payload up to its closing mark."""
    hdr = link.header()
    if not re.fullmatch(rb"\$EOF:[0-9a-zA-Z]{40}", hdr):
        return "header %r" % hdr[:60]
    mark = hdr[5:]
    while mark not in link.buf:
        link.fill()
    return "$EOF:<mark> ... <mark>"


def plain_sync(port):
    link = Link(port)
    link.send("SYNC")
    shape, n = sized(link)
    link.close()
    return shape, n > 0


def psync_without_capa(port):
    link = Link(port)
    link.send("PSYNC", "?", -1)
    first = link.line().split(b" ")[0]
    shape, n = sized(link)
    link.close()
    return first, shape, n > 0


def sync_with_capa_eof(port):
    link = Link(port)
    link.send("REPLCONF", "capa", "eof")
    ok = link.line()
    link.send("SYNC")
    shape = eof_framed(link)
    link.close()
    return ok, shape


def main():
    res = Results()
    cach = Server("cachely")
    red = Server("redis", args=["--repl-diskless-sync-delay", "0"])
    try:
        for srv in (cach, red):
            c = Link(srv.port)
            c.send("SET", "k", "v")
            c.line()
            c.close()
        for name, fn in (("plain SYNC", plain_sync),
                         ("PSYNC without capa eof", psync_without_capa),
                         ("SYNC after REPLCONF capa eof", sync_with_capa_eof)):
            got, want = fn(cach.port), fn(red.port)
            res.check(name, got == want, "\n   cachely: %r\n   redis:   %r" % (got, want))
    finally:
        if res.failed:
            cach.dump_log()
        cach.stop()
        red.stop()
    return res.finish()


if __name__ == "__main__":
    sys.exit(main())
