"""Hosts for the failover suite: either network namespaces joined by a bridge
(each "host" its own network stack and address, partitions made by dropping
packets) or plain 127.0.0.1 with one port space, where partitions cannot be
made.  Both offer the same interface; the test code never says `ip`.

netns mode: a hub namespace cly<pid>-hub holds a bridge; each host is a
namespace cly<pid>-<k> with lo up and eth0 = 10.77.<x>.<k>/24, the far end
of a veth pair plugged into the bridge.  Nothing is created or changed in
the namespace this process runs in: interfaces are created inside the hub
and moved straight into their host, and the test's own client sockets are
opened from inside the "client" host (setns on the calling thread only).

A partition between two hosts drops, in each, every packet that arrives
from the other (a policy rule "from <peer> blackhole" placed before the
local table): the far side sees silence, as with a cut cable, rather than
the immediate EINVAL a local blackhole route gives a connect.  Established
connections go quiet; new connects time out.  heal() removes every rule.

Teardown (close(): processes killed by PID, namespaces deleted) runs from
atexit and on SIGTERM/SIGINT too, and namespaces left by a run whose pid is
gone are removed on the next start.  Run as root with /usr/bin/python3.
"""
import atexit
import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading

import redis

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class Unsupported(Exception):
    """What this mode cannot do (a partition on loopback)."""


def _ip(*args, check=True):
    out = subprocess.run(["ip"] + [str(a) for a in args], capture_output=True, text=True,
                         timeout=20)
    if check and out.returncode != 0:
        raise RuntimeError("ip %s: %s" % (" ".join(map(str, args)), out.stderr.strip()))
    return out


def netns_available():
    """(True, "") when namespaces can be made here (root, ip, a probe
    namespace added and deleted), else (False, why)."""
    if os.geteuid() != 0:
        return False, "not root"
    if not shutil.which("ip"):
        return False, "no ip command"
    name = "cly%d-probe" % os.getpid()
    try:
        out = _ip("netns", "add", name, check=False)
    except (OSError, subprocess.SubprocessError) as e:
        return False, "ip netns add: %s" % e
    if out.returncode != 0:
        return False, "ip netns add: %s" % out.stderr.strip()
    try:
        # The links the harness needs: a bridge and a veth pair (kernel
        # modules a container may lack), and tc to shape a link.
        for args in (("link", "add", "cbr", "type", "bridge"),
                     ("link", "add", "cva", "type", "veth", "peer", "name", "cvb")):
            probe = _ip("-n", name, *args, check=False)
            if probe.returncode != 0:
                return False, "ip %s: %s" % (" ".join(args), probe.stderr.strip())
        if not shutil.which("tc"):
            return False, "no tc command"
    finally:
        _ip("netns", "del", name, check=False)
    return True, ""


def choose_mode():
    """("netns" | "loopback", reason).  CACHELY_FAILOVER_MODE forces one;
    a forced netns that cannot work raises."""
    forced = os.environ.get("CACHELY_FAILOVER_MODE", "")
    if forced not in ("", "netns", "loopback"):
        raise RuntimeError("CACHELY_FAILOVER_MODE=%s: want netns or loopback" % forced)
    if forced == "loopback":
        return "loopback", "forced by CACHELY_FAILOVER_MODE"
    ok, why = netns_available()
    if forced == "netns":
        if not ok:
            raise RuntimeError("CACHELY_FAILOVER_MODE=netns but %s" % why)
        return "netns", "forced by CACHELY_FAILOVER_MODE"
    return ("netns", "available") if ok else ("loopback", "netns unavailable: " + why)


def create(mode):
    return NetnsNet() if mode == "netns" else LoopbackNet()


# ---- thread-local namespace switch -------------------------------------------


@contextlib.contextmanager
def _in_netns(path):
    """Run the body with the calling thread in the network namespace at path
    (other threads are unaffected); sockets made inside stay there."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(path, os.O_RDONLY)
        try:
            if _libc.setns(target, CLONE_NEWNET) != 0:
                e = ctypes.get_errno()
                raise OSError(e, "setns %s: %s" % (path, os.strerror(e)))
        finally:
            os.close(target)
        try:
            yield
        finally:
            if _libc.setns(own, CLONE_NEWNET) != 0:
                # A thread stuck in a test namespace would make every later
                # connect wrong; better to stop here.
                os.write(2, b"netns: cannot return to the original namespace\n")
                os._exit(70)
    finally:
        os.close(own)


class _NsConnection(redis.Connection):
    """A redis-py connection whose socket is opened inside a namespace."""

    def __init__(self, netns_path=None, **kw):
        super().__init__(**kw)
        self.netns_path = netns_path

    def _connect(self):
        if not self.netns_path:
            return super()._connect()
        with _in_netns(self.netns_path):
            return super()._connect()


_SSL_CONTEXTS = {}
_SSL_LOCK = threading.Lock()


def _ssl_context(c):
    """One client SSLContext per certificate set, made once: redis-py 4.3's
    SSLConnection builds a fresh default context (the whole system CA store)
    on every connect, 25-35 ms of the test's CPU per connection, which at a
    load average of 30 made reconnects after a failover take seconds of the
    test's own time.  A real client keeps its context; so does this one."""
    key = (c.ca_certs, c.certfile, c.keyfile, c.cert_reqs, c.check_hostname)
    with _SSL_LOCK:
        ctx = _SSL_CONTEXTS.get(key)
        if ctx is None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = c.check_hostname
            ctx.verify_mode = c.cert_reqs
            if c.certfile or c.keyfile:
                ctx.load_cert_chain(certfile=c.certfile, keyfile=c.keyfile)
            if c.ca_certs:
                ctx.load_verify_locations(cafile=c.ca_certs)
            _SSL_CONTEXTS[key] = ctx
        return ctx


class _NsSSLConnection(redis.SSLConnection):
    """The same over TLS (the failover suite's all-TLS case), with a client
    context made once (see _ssl_context)."""

    def __init__(self, netns_path=None, **kw):
        super().__init__(**kw)
        self.netns_path = netns_path

    def _connect(self):
        if not self.netns_path:
            sock = redis.Connection._connect(self)
        else:
            with _in_netns(self.netns_path):
                sock = redis.Connection._connect(self)
        try:
            return _ssl_context(self).wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


# ---- hosts -------------------------------------------------------------------------


class Host:
    """A machine of the test: name, address, and its namespace (None on
    loopback)."""

    def __init__(self, name, ip, ns):
        self.name = name
        self.ip = ip
        self.ns = ns

    def __repr__(self):
        return "<host %s %s>" % (self.name, self.ip)


class _Net:
    """What both modes share: the processes started, close() at exit."""

    mode = None
    can_partition = False

    def __init__(self):
        self.hosts = []
        self.procs = []          # every Popen started through spawn()
        self.closed = False
        self._client = None      # the host client sockets are opened from
        atexit.register(self.close)
        for sig in (signal.SIGTERM, signal.SIGINT):
            if signal.getsignal(sig) in (signal.SIG_DFL, signal.default_int_handler):
                signal.signal(sig, _exit_on_signal)

    def spawn(self, host, argv, out):
        """Start argv on host with stdout+stderr to the open file out; the
        Popen's pid is the program's own (ip netns exec execs it)."""
        p = subprocess.Popen(self.wrap(host, argv), stdout=out, stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def redis(self, host, port, **kw):
        """A redis.Redis to host:port, connecting from the client host."""
        cls = _NsSSLConnection if kw.pop("ssl", False) else _NsConnection
        pool = redis.ConnectionPool(connection_class=cls,
                                    netns_path=self._client_path(), host=host.ip, port=port,
                                    **kw)
        return redis.Redis(connection_pool=pool)

    def connect(self, host, port, timeout=5):
        """A plain TCP socket to host:port from the client host."""
        path = self._client_path()
        if not path:
            return socket.create_connection((host.ip, port), timeout)
        with _in_netns(path):
            return socket.create_connection((host.ip, port), timeout)

    def _client_path(self):
        return None

    def _kill_procs(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGCONT)
                    p.kill()
                except ProcessLookupError:
                    pass
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                print("netns: pid %d did not exit after SIGKILL" % p.pid)

    def partition(self, a_hosts, b_hosts):
        raise Unsupported("loopback: all hosts share one network stack")

    def heal(self):
        pass

    def throttle(self, host, rate):
        raise Unsupported("loopback: no per-host link to shape")

    def unthrottle(self, host):
        pass

    def leftovers(self):
        """What close() should have removed and did not: pids still running
        (and, with namespaces, namespaces still listed)."""
        return ["pid %d" % p.pid for p in self.procs if p.poll() is None]


def _exit_on_signal(signum, frame):
    # SystemExit unwinds the finally blocks and then runs atexit (close()).
    sys.exit(128 + signum)


class LoopbackNet(_Net):
    """Every host is 127.0.0.1; ports are picked free; no partitions."""

    mode = "loopback"

    def add_host(self, name):
        h = Host(name, "127.0.0.1", None)
        self.hosts.append(h)
        return h

    def port(self, default):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return port

    def wrap(self, host, argv):
        return list(argv)

    def close(self):
        if not self.closed:
            self.closed = True
            self._kill_procs()


class NetnsNet(_Net):
    """Hosts in namespaces cly<pid>-<k> on a bridge in cly<pid>-hub."""

    mode = "netns"
    can_partition = True

    def __init__(self):
        super().__init__()
        _remove_stale()
        self.prefix = "cly%d-" % os.getpid()
        self.subnet = "10.77.%d" % (os.getpid() % 200 + 20)
        self.hub = self.prefix + "hub"
        self.namespaces = []     # created, deleted by close()
        self.cuts = set()        # (host, peer ip) with a drop rule in host
        self._add_ns(self.hub)
        _ip("-n", self.hub, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.hub, "link", "set", "br0", "up")

    def _add_ns(self, name):
        _ip("netns", "add", name)
        self.namespaces.append(name)
        _ip("-n", name, "link", "set", "lo", "up")

    def add_host(self, name):
        k = len(self.hosts) + 1
        if k > 250:
            raise RuntimeError("too many hosts")
        ns = self.prefix + str(k)
        self._add_ns(ns)
        ip = "%s.%d" % (self.subnet, k)
        veth = "v%d" % k
        _ip("-n", self.hub, "link", "add", veth, "type", "veth", "peer", "name", "eth0",
            "netns", ns)
        _ip("-n", self.hub, "link", "set", veth, "master", "br0", "up")
        _ip("-n", ns, "addr", "add", ip + "/24", "dev", "eth0")
        _ip("-n", ns, "link", "set", "eth0", "up")
        # The local table must come after the partition rules, or packets
        # addressed to this host are delivered before a rule can drop them.
        _ip("-n", ns, "rule", "add", "pref", "100", "lookup", "local")
        _ip("-n", ns, "rule", "del", "pref", "0")
        h = Host(name, ip, ns)
        h.hub_if = veth
        self.hosts.append(h)
        if name == "client":
            self._client = h
        return h

    def port(self, default):
        return default

    def wrap(self, host, argv):
        return ["ip", "netns", "exec", host.ns] + list(argv)

    def _client_path(self):
        if self._client is None:
            raise RuntimeError("no host named client")
        return "/run/netns/" + self._client.ns

    def partition(self, a_hosts, b_hosts):
        """No packet between any host of a_hosts and any of b_hosts, either
        way, until heal()."""
        for a in a_hosts:
            for b in b_hosts:
                for h, peer in ((a, b), (b, a)):
                    if (h.ns, peer.ip) not in self.cuts:
                        _ip("-n", h.ns, "rule", "add", "pref", "10", "from", peer.ip,
                            "blackhole")
                        self.cuts.add((h.ns, peer.ip))

    def throttle(self, host, rate):
        """Limit what reaches host to rate (tc syntax, e.g. "40mbit");
        Unsupported without tc."""
        if not shutil.which("tc"):
            raise Unsupported("no tc command")
        _tc = ["tc", "-n", self.hub, "qdisc", "replace", "dev", host.hub_if, "root", "tbf",
               "rate", rate, "burst", "64kb", "latency", "100ms"]
        out = subprocess.run(_tc, capture_output=True, text=True, timeout=20)
        if out.returncode != 0:
            raise RuntimeError("%s: %s" % (" ".join(_tc), out.stderr.strip()))

    def unthrottle(self, host):
        subprocess.run(["tc", "-n", self.hub, "qdisc", "del", "dev", host.hub_if, "root"],
                       capture_output=True, timeout=20)

    def heal(self):
        for ns, ip in sorted(self.cuts):
            _ip("-n", ns, "rule", "del", "pref", "10", "from", ip, "blackhole", check=False)
        self.cuts.clear()

    def leftovers(self):
        left = super().leftovers()
        out = _ip("netns", "list", check=False)
        left += ["namespace " + ln.split()[0] for ln in out.stdout.splitlines()
                 if ln.startswith(self.prefix)]
        return left

    def close(self):
        if self.closed:
            return
        self.closed = True
        self._kill_procs()
        for ns in reversed(self.namespaces):
            _kill_ns_pids(ns)
            _ip("netns", "del", ns, check=False)
        self.namespaces = []


def _kill_ns_pids(ns):
    """Kill by pid whatever still runs in ns (only processes a test run
    started can be there)."""
    out = _ip("netns", "pids", ns, check=False)
    for pid in out.stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def _remove_stale():
    """Delete the namespaces of earlier runs whose process is gone."""
    out = _ip("netns", "list", check=False)
    for line in out.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.match(r"cly(\d+)-", name)
        if not m or int(m.group(1)) == os.getpid():
            continue
        if os.path.exists("/proc/%s" % m.group(1)):
            continue
        print("netns: removing %s left by pid %s" % (name, m.group(1)))
        _kill_ns_pids(name)
        _ip("netns", "del", name, check=False)
