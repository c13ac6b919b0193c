"""Byte-for-byte comparison of Cachely and a real redis-server.

Every tests/compat/*.cmds script is replayed on a fresh connection to both
servers (started here, FLUSHALL between scripts) and each reply is compared as
raw RESP bytes.  Script lines:
    COMMAND args...        compare the raw replies exactly
    ~COMMAND args...       compare as unordered: arrays sorted (KEYS, SCAN)
    ?COMMAND args...       compare only the reply's type byte (TTL, TIME...)
    %COMMAND args...       compare exactly, except that the value after an
                           "age-seconds" or "client-info" field (ACL LOG) is
                           compared by type only
    !sleep <ms>            wait on both sides
    !read [N]              (?!read: compare the type only) read one more reply
    !readmon [N]           read a MONITOR line, time and client address masked
    !send [N] COMMAND ...  send on connection N without reading (CLIENT REPLY
                           OFF/SKIP answer nothing) (a pub/sub message, a push,
                           the second reply of SUBSCRIBE a b) on connection N
    @N COMMAND ...         run on connection N (0 is the default; others
                           open on first use, after FLUSHALL)
    {id:N} in a line       connection N's CLIENT ID on each server
    # comment / blank      ignored
Arguments split like redis-cli: "quoted strings", 'single', and \\xHH escapes.
Run with /usr/bin/python3; script names as arguments run only those.
"""
import glob
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from servers import Results, Server  # noqa: E402


def split_args(line):
    args, i, n = [], 0, len(line)
    while True:
        while i < n and line[i].isspace():
            i += 1
        if i >= n:
            return args
        cur = bytearray()
        if line[i] in "\"'":
            q = line[i]
            i += 1
            while i < n and line[i] != q:
                c = line[i]
                if c == "\\" and q == '"' and i + 1 < n:
                    e = line[i + 1]
                    if e == "x" and i + 3 < n:
                        cur.append(int(line[i + 2:i + 4], 16))
                        i += 4
                        continue
                    cur += {"n": b"\n", "r": b"\r", "t": b"\t"}.get(e, e.encode())
                    i += 2
                    continue
                cur += c.encode()
                i += 1
            i += 1
        else:
            while i < n and not line[i].isspace():
                cur += line[i].encode()
                i += 1
        args.append(bytes(cur))


def encode(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Conn:
    def __init__(self, port):
        # 30 s, not less: bitmaps.cmds grows a value to 512 MB, 10-18 s on
        # both servers when the machine is busy.  A hang still fails.
        self.s = socket.create_connection(("127.0.0.1", port), 30)
        self.buf = b""
        # For {id:N} in scripts: known before the connection may subscribe.
        self.client_id = int(self.call([b"CLIENT", b"ID"])[1][1])

    def _line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("connection closed")
            self.buf += d
        i = self.buf.index(b"\r\n")
        line, self.buf = self.buf[:i + 2], self.buf[i + 2:]
        return line

    def _exact(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("connection closed")
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read(self):
        """Return one whole reply as (raw bytes, parsed tree)."""
        line = self._line()
        t, rest = line[:1], line[1:-2]
        if t in b"+-:,#_(":
            return line, (t, rest)
        if t in b"$=!":
            n = int(rest)
            if n < 0:
                return line, (t, None)
            body = self._exact(n + 2)
            return line + body, (t, body[:-2])
        if t in b"*~%>|":
            n = int(rest)
            if n < 0:
                return line, (t, None)
            count = n * 2 if t in b"%|" else n
            raw, items = line, []
            for _ in range(count):
                r, tree = self.read()
                raw += r
                items.append(tree)
            if t == b"|":
                # An attribute decorates the reply that follows it: read
                # that reply as part of this one.  (A push is a reply of its
                # own: scripts read it with !read.)
                r, tree = self.read()
                return raw + r, (t, items + [tree])
            return raw, (t, items)
        raise ValueError("bad reply line %r" % line)

    def call(self, args):
        self.s.sendall(encode(args))
        return self.read()


def canon(tree):
    t, v = tree
    if isinstance(v, list):
        return (t, sorted(repr(canon(x)) for x in v))
    return tree


VOLATILE_FIELDS = (b"age-seconds", b"client-info")


def mask_volatile(tree):
    """The tree with the values of VOLATILE_FIELDS reduced to their type."""
    t, v = tree
    if not isinstance(v, list):
        return tree
    out, hide = [], False
    for item in v:
        out.append((item[0], None) if hide else mask_volatile(item))
        hide = not isinstance(item[1], list) and item[1] in VOLATILE_FIELDS
    return (t, out)


def run_script(path, cport, rport, res):
    name = os.path.basename(path)
    conns = {0: (Conn(cport), Conn(rport))}
    for conn in conns[0]:
        conn.call([b"FLUSHALL"])
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("!sleep"):
                time.sleep(int(line.split()[1]) / 1000.0)
                continue
            n = 0
            if line.startswith("@"):
                head, line = line.split(None, 1)
                n = int(head[1:])
            if n not in conns:
                conns[n] = (Conn(cport), Conn(rport))
            c, r = conns[n]
            case = "%s:%d %s" % (name, lineno, line[:60])
            typeonly = line.startswith("?!read")
            if typeonly:
                line = line[1:]
            if line.startswith("!send"):
                rest = line.split(None, 1)[1]
                if rest.split()[0].isdigit():
                    m, rest = rest.split(None, 1)
                    n = int(m)
                    if n not in conns:
                        conns[n] = (Conn(cport), Conn(rport))
                for conn in conns[n]:
                    conn.s.sendall(encode(split_args(rest)))
                continue
            if line.startswith("!readmon"):
                parts = line.split()
                m = int(parts[1]) if len(parts) > 1 else n
                try:
                    craw, _ = conns[m][0].read()
                except Exception as e:
                    res.check(case, False, "cachely: %r" % e)
                    continue
                rraw, _ = conns[m][1].read()
                mask = re.compile(rb"^\+\d+\.\d{6} \[(\d+) [^\]]+\]")
                cm = mask.sub(rb"+T [\1 ADDR]", craw)
                rm = mask.sub(rb"+T [\1 ADDR]", rraw)
                res.check(case, cm == rm, "\n   cachely: %r\n   redis:   %r" % (craw[:300], rraw[:300]))
                continue
            if line.startswith("!read"):
                parts = line.split()
                if len(parts) > 1:
                    n = int(parts[1])
                    if n not in conns:
                        conns[n] = (Conn(cport), Conn(rport))
                    c, r = conns[n]
                try:
                    craw, _ = c.read()
                except Exception as e:
                    res.check(case, False, "cachely: %r" % e)
                    continue
                rraw, _ = r.read()
                same = craw[:1] == rraw[:1] if typeonly else craw == rraw
                res.check(case, same,
                          "\n   cachely: %r\n   redis:   %r" % (craw[:300], rraw[:300]))
                continue
            mode = ""
            if line[0] in "~?%":
                mode, line = line[0], line[1:]
            args = split_args(line)
            rargs = args
            if "{id:" in line:
                args, rargs = [], []
                for a in split_args(line):
                    if a.startswith(b"{id:") and a.endswith(b"}"):
                        m = int(a[4:-1])
                        args.append(b"%d" % conns[m][0].client_id)
                        rargs.append(b"%d" % conns[m][1].client_id)
                    else:
                        args.append(a)
                        rargs.append(a)
            try:
                craw, ctree = c.call(args)
            except Exception as e:
                res.check(case, False, "cachely: %r" % e)
                conns[n] = (Conn(cport), Conn(rport))
                continue
            rraw, rtree = r.call(rargs)
            if mode == "~":
                ok = canon(ctree) == canon(rtree)
            elif mode == "?":
                ok = craw[:1] == rraw[:1]
            elif mode == "%":
                ok = mask_volatile(ctree) == mask_volatile(rtree)
            else:
                ok = craw == rraw
            res.check(case, ok, "\n   cachely: %r\n   redis:   %r" % (craw[:300], rraw[:300]))


def main():
    res = Results()
    here = os.path.dirname(os.path.abspath(__file__))
    scripts = sorted(glob.glob(os.path.join(here, "*.cmds")))
    # Optional arguments name scripts to run (e.g. "numbers"), for working
    # on one area; with none, every script runs.
    if sys.argv[1:]:
        scripts = [s for s in scripts
                   if os.path.basename(s)[:-len(".cmds")] in sys.argv[1:]]
    cach = Server("cachely")
    red = Server("redis")
    try:
        for path in scripts:
            run_script(path, cach.port, red.port, res)
    finally:
        if res.failed:
            cach.dump_log()
        cach.stop()
        red.stop()
    return res.finish()


if __name__ == "__main__":
    sys.exit(main())
