"""Process plumbing shared by the Python integration suites
(test_replication.py, test_persistence.py, test_proxy.py, test_proxy_http.py):
cachely-server and cachely-proxy processes on free 127.0.0.1 ports, the set
of processes one case started, polling with a deadline, INFO parsing, a bare
RESP connection, and the case runner that prints "N passed, M failed".

A suite imports it after putting tests/integration on sys.path; this module
puts tests/compat there in turn (for servers.py).  Run with /usr/bin/python3.
"""
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "compat"))
import servers  # noqa: E402

import redis  # noqa: E402

LOCAL = "127.0.0.1"
PROXY = os.path.join(servers.BUILDDIR, "src", "cachely-proxy")
free_port = servers.free_port

# ---- processes ---------------------------------------------------------------


def dump(path, title):
    """Print the last 6,000 characters of a log file."""
    try:
        with open(path, errors="replace") as f:
            print("---- %s ----" % title)
            print(f.read()[-6000:])
    except OSError:
        pass


class Process:
    """A server or proxy process with a port, a temp dir holding its log,
    and its own Popen object.  stop() returns the exit status (0 = clean;
    a kill() makes a non-zero status expected) and prints the log when it
    is not 0."""

    kind = "process"

    @property
    def addr(self):
        return "%s:%d" % (LOCAL, self.port)

    def spawn(self, argv):
        with open(self.log, "ab") as out:
            # stderr goes to the log too, so a sanitizer report is not lost.
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        self.killed = False
        if not servers.wait_ping(self.port, self.proc):
            self.dump_log()
            raise RuntimeError("%s did not start on port %d" % (self.kind, self.port))

    def dump_log(self):
        dump(self.log, "%s log (port %d)" % (self.kind, self.port))

    def kill(self):
        """kill -9: the exit status is then expected."""
        self.proc.kill()
        self.proc.wait()
        self.killed = True

    def stop(self):
        """SIGCONT (a SIGSTOPped process must see its SIGTERM) and SIGTERM."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
        rc = servers.terminate(self.proc)
        rc = 0 if self.killed else rc
        if rc != 0:
            print("%s on port %d exited with status %d" % (self.kind, self.port, rc))
            self.dump_log()
        shutil.rmtree(self.dir, ignore_errors=True)
        return rc


class Node(Process):
    """A cachely-server in its own temp dir; start() after kill() reuses
    port and dir (so an append-only file is loaded again).  A "--dir" in
    args puts the data elsewhere (the log stays in the temp dir)."""

    kind = "cachely-server"

    def __init__(self, *args):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="cachely-node-")
        self.log = os.path.join(self.dir, "server.log")
        self.args = [str(a) for a in args]
        self.start()

    def start(self):
        # DEBUG (DIGEST, SLEEP...) is refused unless enabled; the tests
        # connect from 127.0.0.1.
        self.spawn([servers.CACHELY, "--port", str(self.port), "--bind", LOCAL,
                    "--logfile", self.log, "--dir", self.dir,
                    "--enable-debug-command", "local"] + self.args)


class Proxy(Process):
    """A cachely-proxy; nodes is its --nodes list (none when empty)."""

    kind = "cachely-proxy"

    def __init__(self, nodes, *args, config=None):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="cachely-proxy-")
        self.log = os.path.join(self.dir, "proxy.log")
        argv = [PROXY] + ([config] if config else [])
        argv += ["--port", str(self.port), "--bind", LOCAL, "--logfile", self.log]
        argv += (["--nodes", nodes] if nodes else []) + [str(a) for a in args]
        self.t_start = time.time()
        self.spawn(argv)


class Case:
    """The processes one case started, stopped by stop_all() (proxies first)."""

    def __init__(self):
        self.nodes = []
        self.proxies = []

    def node(self, *args):
        n = Node(*args)
        self.nodes.append(n)
        return n

    def proxy(self, nodes, *args, config=None):
        p = Proxy(nodes, *args, config=config)
        self.proxies.append(p)
        return p

    def stop_all(self):
        """[(kind, port, status)] of the processes that exited uncleanly."""
        bad = []
        for x in self.proxies + self.nodes:
            rc = x.stop()
            if rc != 0:
                bad.append((x.kind, x.port, rc))
        return bad


def run_in(c, fn):
    """fn(c), then stop every process of c; an unclean exit fails the case."""
    try:
        fn(c)
    finally:
        bad = c.stop_all()
    check(not bad, "processes exited uncleanly (kind, port, status): %r" % bad)


# ---- clients, polling, INFO --------------------------------------------------


def client(s, db=0, timeout=20, **kw):
    r = redis.Redis(host=LOCAL, port=s.port, db=db, decode_responses=True,
                    socket_timeout=timeout, **kw)
    # Keep INFO as text: redis-py would turn an all-zero replid into 0.
    r.set_response_callback("INFO", lambda resp, **kw: resp)
    return r


def info(r, section=None):
    """INFO [section] as {field: value} (text or bytes replies)."""
    text = r.execute_command("INFO", section) if section else r.execute_command("INFO")
    if isinstance(text, bytes):
        text = text.decode()
    d = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and ":" in line:
            k, _, v = line.partition(":")
            d[k] = v
    return d


def fields(v):
    """slave0:ip=..,port=..,state=.. -> dict."""
    return dict(kv.split("=", 1) for kv in v.split(","))


def wait_for(pred, timeout, what, interval=0.02):
    """Poll pred every interval until it returns something true; returns it.
    A connection error counts as not yet."""
    deadline = time.time() + timeout
    last = None
    while True:
        try:
            last = pred()
        except (redis.ConnectionError, redis.TimeoutError) as e:
            last = e
        else:
            if last:
                return last
        if time.time() > deadline:
            raise AssertionError("timed out (%.1fs) waiting for %s; last %r"
                                 % (timeout, what, last))
        time.sleep(interval)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


# ---- a bare RESP connection ----------------------------------------------------


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def bulk(v):
    """v (bytes) as a RESP bulk string."""
    return b"$%d\r\n%s\r\n" % (len(v), v)


def read_exactly(s, n, deadline=30):
    """Read n bytes from socket s (fewer if it closes) within deadline s."""
    got = bytearray()
    end = time.time() + deadline
    while len(got) < n and time.time() < end:
        r, _, _ = select.select([s], [], [], max(0.0, end - time.time()))
        if not r:
            break
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        got += chunk
    return bytes(got)


def send_set_get_incr(socks, rounds):
    """Client k of socks sends, in one write, rounds times SET k<k>:<i % 17>
    <a value of i>, GET of it and INCR cnt<k>; returns each client's
    expected replies (bytes), in socks' order.  Many pipelines at once, as
    the batched-I/O suites of the node and the proxy send them."""
    want = []
    for k, s in enumerate(socks):
        req, rep = [], []
        for i in range(rounds):
            key = "k%d:%d" % (k, i % 17)
            val = ("v%d.%d" % (k, i)).encode() * (1 + i % 5)
            req.append(resp("SET", key, val))
            rep.append(b"+OK\r\n")
            req.append(resp("GET", key))
            rep.append(bulk(val))
            req.append(resp("INCR", "cnt%d" % k))
            rep.append(b":%d\r\n" % (i + 1))
        want.append(b"".join(rep))
        s.sendall(b"".join(req))
    return want


def read_line(s):
    """The next line of socket s, without its CRLF."""
    line = b""
    while not line.endswith(b"\r\n"):
        chunk = s.recv(1)
        if not chunk:
            break
        line += chunk
    return line[:-2]


def uring_state(proc):
    """'on' when the process (a Node or Proxy) holds an io_uring, 'refused'
    when it logged why it has none, else 'off'."""
    pid = proc.proc.pid
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                if "io_uring" in os.readlink("/proc/%d/fd/%s" % (pid, fd)):
                    return "on"
            except OSError:
                pass
    except OSError:
        pass
    with open(proc.log, errors="replace") as f:
        return "refused" if "io_uring unavailable" in f.read() else "off"


def check_uring(proc, mode):
    """proc, started with --io-uring mode, holds a ring as that mode says
    (or logged why the kernel refused one)."""
    state = uring_state(proc)
    if mode == "no":
        check(state == "off", "io-uring no still opened an io_uring (%s)" % state)
    else:
        check(state != "off", "io-uring yes: no io_uring and no reason logged")
        if state == "refused":
            print("note: io_uring refused here; the plain path was checked")


class Err(str):
    """An error reply of a Raw connection, e.g. 'READONLY You can't ...'."""


class Raw:
    """A bare RESP2/RESP3 connection, for exact replies and the replication
    stream."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection((LOCAL, port), timeout)
        self.buf = b""

    def send(self, *cmds):
        self.sock.sendall(b"".join(resp(*c) for c in cmds))

    def sendraw(self, data):
        self.sock.sendall(data)

    def fill(self):
        data = self.sock.recv(1 << 16)
        if not data:
            raise ConnectionError("connection closed")
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def exact(self, n):
        while len(self.buf) < n:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def reply(self):
        line = self.line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return Err(rest.decode())
        if t == b":":
            return int(rest)
        if t in (b"$", b"="):
            n = int(rest)
            return None if n < 0 else self.exact(n + 2)[:-2]
        if t == b"_":
            return None
        if t in (b"*", b"~", b">"):
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        if t == b"%":
            n = int(rest)
            out = {}
            for _ in range(n):
                k = self.reply()
                out[k] = self.reply()
            return out
        raise AssertionError("bad reply line %r" % line)

    def call(self, *args):
        self.send(args)
        return self.reply()

    def at_eof(self, timeout=5):
        """True when the peer closed the connection (nothing more to read)."""
        if self.buf:
            return False
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


# ---- the case runner -----------------------------------------------------------


def run_cases(cases, prefix, only_var, run_one):
    """Run (tag, title, fn) cases as run_one(fn), each named prefix + tag +
    " " + title; only_var (e.g. CACHELY_REPL_CASES=a,c) names the tags to
    run, all when unset.  Prints a line per case and "N passed, M failed";
    returns the exit status."""
    only = [x for x in os.environ.get(only_var, "").split(",") if x]
    res = servers.Results()
    for tag, title, fn in cases:
        if only and tag not in only:
            continue
        t0 = time.time()
        before = res.failed
        res.run("%s%s %s" % (prefix, tag, title), run_one, fn)
        print("%s %-4s %-72s %.1fs" % ("ok  " if res.failed == before else "FAIL", tag, title,
                                        time.time() - t0))
        sys.stdout.flush()
    return res.finish()
