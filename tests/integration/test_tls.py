"""TLS end to end: cachely-server with tls-port, against redis-cli --tls,
python3-redis with ssl=True and raw ssl sockets.  Every case makes its own
throwaway CA and certificates with the openssl command in a temp dir.

Run with /usr/bin/python3; CACHELY_BUILDDIR names the build.  Prints
"N passed, M failed".  CACHELY_TLS_CASES=a,c runs only those cases.
"""
import os
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402
from cluster import LOCAL, check, client, info, wait_for  # noqa: E402

import redis  # noqa: E402

SANITIZERS = os.environ.get("CACHELY_SANITIZERS") == "1"


# ---- certificates ------------------------------------------------------------


def openssl(*args):
    out = subprocess.run(["openssl"] + list(args), capture_output=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (" ".join(args), out.stderr.decode()[-400:]))


class Certs:
    """A CA, a second unrelated CA, and certificates: server (CN localhost,
    SAN 127.0.0.1), server2 (a renewal by the same CA, new key), client,
    client signed by the other CA (rogue), client expired yesterday."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="cachely-tls-")
        self.ca = self._ca("ca", "Cachely Test CA")
        self.other_ca = self._ca("otherca", "Someone Else's CA")
        self.server = self._cert("server", "localhost", "ca", days=2)
        self.server2 = self._cert("server2", "localhost", "ca", days=2)
        self.client = self._cert("client", "client", "ca", days=2)
        self.rogue = self._cert("rogue", "client", "otherca", days=2)
        self.expired = self._cert("expired", "client", "ca", days=-1)

    def path(self, name):
        return os.path.join(self.dir, name)

    def _ca(self, name, cn):
        openssl("req", "-x509", "-new", "-nodes", "-newkey", "rsa:2048", "-sha256",
                "-keyout", self.path(name + ".key"), "-out", self.path(name + ".crt"),
                "-days", "2", "-subj", "/CN=" + cn)
        return self.path(name + ".crt")

    def _cert(self, name, cn, ca, days):
        ext = self.path(name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        openssl("req", "-new", "-nodes", "-newkey", "rsa:2048", "-keyout",
                self.path(name + ".key"), "-out", self.path(name + ".csr"), "-subj", "/CN=" + cn)
        openssl("x509", "-req", "-in", self.path(name + ".csr"), "-CA", self.path(ca + ".crt"),
                "-CAkey", self.path(ca + ".key"), "-CAcreateserial", "-sha256",
                "-out", self.path(name + ".crt"), "-days", str(days), "-extfile", ext)
        return (self.path(name + ".crt"), self.path(name + ".key"))

    def der(self, pair):
        with open(pair[0]) as f:
            return ssl.PEM_cert_to_DER_cert(f.read())

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


CERTS = None


def certs():
    global CERTS
    if CERTS is None:
        CERTS = Certs()
    return CERTS


class Nodes(cluster.Case):
    def tls_node(self, *args, auth="yes"):
        """A node with tls-port (self-chosen) beside its plain port."""
        c = certs()
        port = cluster.free_port()
        n = self.node("--tls-port", port, "--tls-cert-file", c.server[0],
                      "--tls-key-file", c.server[1], "--tls-ca-cert-file", c.ca,
                      "--tls-auth-clients", auth, *args)
        n.tls_port = port
        return n


def tls_client(n, cert="client", ca=None, timeout=20, **kw):
    c = certs()
    pair = getattr(c, cert) if cert else None
    r = redis.Redis(host=LOCAL, port=n.tls_port, ssl=True, ssl_ca_certs=ca or c.ca,
                    ssl_certfile=pair[0] if pair else None,
                    ssl_keyfile=pair[1] if pair else None,
                    ssl_cert_reqs="required", decode_responses=True, socket_timeout=timeout,
                    **kw)
    r.set_response_callback("INFO", lambda resp, **kw: resp)
    return r


def ssl_socket(n, cert="client", timeout=20):
    c = certs()
    ctx = ssl.create_default_context(cafile=c.ca)
    ctx.check_hostname = False
    if cert:
        ctx.load_cert_chain(*getattr(c, cert))
    s = socket.create_connection((LOCAL, n.tls_port), timeout=timeout)
    return ctx.wrap_socket(s)


def log_text(n):
    with open(n.log, errors="replace") as f:
        return f.read()


def digest(r):
    return r.execute_command("DEBUG", "DIGEST")


# ---- the cases ---------------------------------------------------------------


def case_a_clients(nodes):
    """redis-cli --tls and python3-redis ssl=True reach the node on its
    tls-port; the plain port keeps working beside it."""
    c = certs()
    n = nodes.tls_node()
    cli = ["redis-cli", "-h", LOCAL, "-p", str(n.tls_port), "--tls", "--cacert", c.ca,
           "--cert", c.client[0], "--key", c.client[1]]
    out = subprocess.run(cli + ["SET", "greeting", "hello over tls"], capture_output=True,
                         timeout=20)
    check(out.stdout.strip() == b"OK", "redis-cli --tls SET: %r %r" % (out.stdout, out.stderr))
    out = subprocess.run(cli + ["GET", "greeting"], capture_output=True, timeout=20)
    check(out.stdout.strip() == b"hello over tls", "redis-cli --tls GET: %r" % out.stdout)
    r = tls_client(n)
    check(r.get("greeting") == "hello over tls", "python ssl=True GET")
    r.rpush("l", *range(1000))
    check(r.llen("l") == 1000 and r.lrange("l", -1, -1) == ["999"], "list over TLS")
    big = "x" * (3 * 1024 * 1024 + 17)  # spans many TLS records both ways
    r.set("big", big)
    check(r.get("big") == big, "a 3 MB value round-trips over TLS")
    hello = r.execute_command("HELLO", "2")
    check(hello[hello.index("proto") + 1] == 2, "HELLO over TLS: %r" % hello)
    plain = client(n)
    check(plain.get("greeting") == "hello over tls", "the plain port serves the same data")
    cfg = plain.config_get("tls-*")
    check(cfg["tls-port"] == str(n.tls_port) and cfg["tls-auth-clients"] == "yes"
          and cfg["tls-session-caching"] == "yes" and cfg["tls-replication"] == "no",
          "CONFIG GET tls-*: %r" % cfg)
    lines = [x for x in plain.execute_command("CLIENT", "LIST").splitlines() if x]
    check(len(lines) == 2, "two clients listed (one TLS): %r" % lines)


def refused(n, **kw):
    try:
        r = tls_client(n, **kw)
        r.ping()
    except (redis.ConnectionError, ssl.SSLError, OSError):
        return True
    return False


def case_b_mutual_tls(nodes):
    """tls-auth-clients yes: a client with a certificate from the CA is
    accepted; no certificate, another CA's certificate and an expired one are
    refused, each logged once with the peer's address; optional and no
    (set live) let certificate-less clients in but still refuse bad ones."""
    n = nodes.tls_node()
    plain = client(n)
    check(tls_client(n).ping(), "a client certificate from our CA is accepted")
    for cert, what in (("", "no client certificate"), ("rogue", "another CA's certificate"),
                       ("expired", "an expired certificate")):
        before = log_text(n).count("TLS handshake with")
        check(refused(n, cert=cert or None), "%s is refused" % what)
        wait_for(lambda: log_text(n).count("TLS handshake with") > before, 5,
                 "a log line for the refused handshake (%s)" % what)
        lines = [x for x in log_text(n).splitlines() if "TLS handshake with" in x]
        check("127.0.0.1:" in lines[-1], "the log line names the peer: %r" % lines[-1])
        peers = [x.split("TLS handshake with ")[1].split()[0] for x in lines]
        check(len(peers) == len(set(peers)), "one line per connection: %r" % lines)
        check(plain.ping(), "the node is alive after %s" % what)
    # The server is verified by the client too: a client trusting another CA
    # refuses the node.
    check(refused(n, ca=certs().other_ca), "a client that does not trust our CA gives up")

    check(plain.config_set("tls-auth-clients", "optional"), "CONFIG SET tls-auth-clients optional")
    check(tls_client(n, cert=None).ping(), "optional: no certificate is accepted")
    check(tls_client(n).ping(), "optional: a good certificate is accepted")
    check(refused(n, cert="rogue"), "optional: a certificate from another CA is refused")
    check(plain.config_set("tls-auth-clients", "no"), "CONFIG SET tls-auth-clients no")
    check(tls_client(n, cert=None).ping(), "no: no certificate is accepted")
    try:
        plain.config_set("tls-auth-clients", "maybe")
        check(False, "tls-auth-clients maybe accepted")
    except redis.ResponseError as e:
        check("must be one of the following: no, yes, optional" in str(e), str(e))
    wait_for(lambda: int(info(plain, "clients")["connected_clients"]) <= 1 + 5, 5,
             "refused handshakes leave no clients behind")


def case_c_pipeline(nodes):
    """10,000 commands written at once over TLS (values from 1 byte to 20 KB,
    so records end anywhere in a command) are all answered: bytes OpenSSL
    already decrypted never wait for the socket to become readable."""
    n = nodes.tls_node()
    s = ssl_socket(n)
    cmds = []
    total = 10000
    for i in range(total):
        if i % 3 == 0:
            v = b"v" * (1 + (i * 7919) % 20000)
            cmds.append(cluster.resp(b"SET", b"k%d" % i, v))
        elif i % 3 == 1:
            cmds.append(cluster.resp(b"INCR", b"counter"))
        else:
            cmds.append(cluster.resp(b"GET", b"k%d" % (i - 2)))
    payload = b"".join(cmds)
    # One thread (an SSL object must not be read and written concurrently):
    # write whenever the socket takes more, read whatever arrived.
    s.setblocking(False)
    deadline = time.time() + 60
    sent = 0
    buf = bytearray()
    pos = 0
    got = 0
    last = None

    def parse():
        nonlocal pos, got, last
        while got < total:
            nl = buf.find(b"\r\n", pos)
            if nl < 0:
                return
            line = buf[pos:nl]
            if line.startswith(b"$"):
                ln = int(line[1:])
                end = nl + 2 + (ln + 2 if ln >= 0 else 0)
                if len(buf) < end:
                    return
                if ln >= 0:
                    check(buf.count(b"v", nl + 2, end - 2) == ln, "GET value %d" % got)
                pos = end
            else:
                if line.startswith(b":"):
                    last = int(line[1:])
                else:
                    check(line == b"+OK", "reply %d: %r" % (got, line[:80]))
                pos = nl + 2
            got += 1

    while got < total:
        check(time.time() < deadline, "pipeline stalled after %d replies" % got)
        want_w = sent < len(payload)
        # Our own side has the same trap: bytes OpenSSL decrypted do not
        # make the socket readable.
        r, w, _ = select.select([s], [s] if want_w else [], [], 0 if s.pending() else 1.0)
        if w or want_w:
            try:
                sent += s.send(payload[sent:sent + 256 * 1024])
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                pass
        try:
            for _ in range(64):
                chunk = s.recv(1 << 20)
                check(chunk, "connection closed after %d replies" % got)
                buf += chunk
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        parse()
        if pos > 1 << 20:
            del buf[:pos]
            pos = 0
    s.setblocking(True)
    s.settimeout(20)
    check(last == (total + 1) // 3, "INCR reached %r" % last)
    # A pipeline of small commands whose replies arrive in one burst too.
    s.sendall(b"".join(cluster.resp(b"PING") for _ in range(10000)))
    data = b""
    while data.count(b"+PONG\r\n") < 10000:
        check(time.time() < deadline, "PING pipeline stalled at %d" % data.count(b"+PONG\r\n"))
        chunk = s.recv(65536)
        check(chunk, "closed during the PING pipeline")
        data += chunk
    s.close()


def case_d_replication(nodes):
    """A replica with tls-replication yes syncs from the master's tls-port:
    the full sync (relayed through a pipe by the master, its child cannot
    write TLS), the live stream, a partial resync after the link drops, and
    a length-framed SYNC; DEBUG DIGEST equal on both."""
    m = nodes.tls_node()
    mc = client(m)
    p = mc.pipeline(transaction=False)
    nkeys = 5000 if SANITIZERS else 30000
    for i in range(nkeys):
        p.set("key:%d" % i, "value-%d-%s" % (i, "z" * (i % 200)))
        if i % 1000 == 0:
            p.hset("h:%d" % i, mapping={"a": i, "b": "x" * 50})
    p.execute()
    c = certs()
    r = nodes.node("--tls-cert-file", c.client[0], "--tls-key-file", c.client[1],
                   "--tls-ca-cert-file", c.ca, "--tls-replication", "yes",
                   "--replicaof", "%s %d" % (LOCAL, m.tls_port))
    rc = client(r)

    def synced():
        ri = info(rc, "replication")
        return (ri.get("master_link_status") == "up"
                and ri.get("slave_repl_offset") == info(mc, "replication")["master_repl_offset"]
                and digest(rc) == digest(mc))

    wait_for(synced, 60, "replica synced over TLS")
    check(rc.dbsize() == mc.dbsize() and rc.dbsize() >= nkeys, "all keys arrived")
    check("TLS" in log_text(m) and "relayed through a pipe" in log_text(m),
          "the master relayed the snapshot for its TLS replica")
    for i in range(2000):
        mc.incr("live")
    mc.set("after", "sync")
    wait_for(synced, 30, "the live stream over TLS")
    check(rc.get("live") == "2000", "live writes applied")
    # Drop the link: the replica reconnects over TLS and continues.
    full_before = int(info(mc, "stats")["sync_full"])
    ids = [int(x["id"]) for x in mc.client_list() if "S" in x["flags"]]
    check(len(ids) == 1, "one replica link: %r" % ids)
    mc.execute_command("CLIENT", "KILL", "ID", ids[0])
    mc.set("while", "down")
    wait_for(lambda: [int(x["id"]) for x in mc.client_list() if "S" in x["flags"]] not in ([], ids),
             30, "the replica reconnects")
    wait_for(synced, 30, "replica resumed over TLS")
    check(int(info(mc, "stats")["sync_full"]) == full_before, "the resume was partial")
    check(rc.get("while") == "down", "write made while the link was down arrived")
    # A plain SYNC over TLS gets the length-framed payload through the relay.
    s = ssl_socket(m)
    s.sendall(cluster.resp(b"SYNC"))
    f = s.makefile("rb")
    line = f.readline()
    while line == b"\n":
        line = f.readline()
    check(line.startswith(b"$") and int(line[1:]) > 0, "SYNC header: %r" % line[:40])
    body = f.read(int(line[1:]))
    check(len(body) == int(line[1:]) and body.count(b"key:") >= nkeys,
          "the length-framed snapshot arrived whole (%d bytes)" % len(body))
    s.close()


def case_e_reload_under_load(nodes):
    """CONFIG SET tls-cert-file/tls-key-file while four clients hammer the
    node over TLS: no client sees an error or loses its connection, and new
    connections get the new certificate."""
    n = nodes.tls_node()
    c = certs()
    stop = threading.Event()
    errors = []
    counts = [0] * 4
    ids = [None] * 4

    def worker(k):
        try:
            r = tls_client(n)
            ids[k] = r.client_id()
            while not stop.is_set():
                r.set("w%d" % k, counts[k])
                check(r.get("w%d" % k) == str(counts[k]), "read back")
                counts[k] += 1
            check(r.client_id() == ids[k], "same connection throughout")
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append("worker %d: %r" % (k, e))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    plain = client(n)
    wait_for(lambda: min(counts) > 50, 20, "clients running")
    before = list(counts)
    # A new certificate alone does not match the old key: refused, and the
    # clients never notice.
    try:
        plain.config_set("tls-cert-file", c.server2[0])
        check(False, "a certificate without its key was accepted")
    except redis.ResponseError:
        pass
    cfg = plain.config_get("tls-cert-file")
    check(cfg["tls-cert-file"] == c.server[0], "a certificate without its key was refused: %r" % cfg)
    plain.execute_command("CONFIG", "SET", "tls-cert-file", c.server2[0],
                          "tls-key-file", c.server2[1])
    wait_for(lambda: all(counts[k] > before[k] + 50 for k in range(4)), 20,
             "clients keep running after the reload")
    s = ssl_socket(n)
    check(s.getpeercert(binary_form=True) == c.der(c.server2),
          "a new connection gets the new certificate")
    s.close()
    # And back, twice more, still under load.
    for pair in (c.server, c.server2):
        plain.execute_command("CONFIG", "SET", "tls-cert-file", pair[0], "tls-key-file", pair[1])
        time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join(30)
    check(not errors, "client errors during reloads: %r" % errors)
    check(int(info(plain, "stats")["total_connections_received"]) >= 5, "sanity")


def case_f_bad_peers(nodes):
    """Garbage instead of a ClientHello, a client that stops mid-handshake
    and plain RESP sent to the TLS port never crash the node nor leave
    clients behind."""
    n = nodes.tls_node()
    plain = client(n)
    for i in range(50):
        s = socket.create_connection((LOCAL, n.tls_port), timeout=5)
        if i % 3 == 0:
            s.sendall(os.urandom(300))
        elif i % 3 == 1:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
        else:
            s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # a cut ClientHello
        s.close()
    wait_for(lambda: int(info(plain, "clients")["connected_clients"]) == 1, 10,
             "every bad peer's client is freed")
    check(tls_client(n).ping(), "good clients are still served")


def case_g_config_errors(nodes):
    """Bad TLS settings are refused with Redis's messages and change
    nothing; a node cannot start with tls-port but no certificate."""
    n = nodes.tls_node()
    plain = client(n)
    c = certs()
    for args in (("tls-cert-file", "/nonexistent.crt"),
                 ("tls-protocols", "TLSv9"),
                 ("tls-cert-file", c.server[0], "tls-key-file", c.rogue[1])):
        try:
            plain.execute_command("CONFIG", "SET", *args)
            check(False, "CONFIG SET %r accepted" % (args,))
        except redis.ResponseError as e:
            check(str(e) == "CONFIG SET failed (possibly related to argument '%s') - Unable to "
                  "update TLS configuration. Check server logs." % args[0], str(e))
    check(plain.config_get("tls-cert-file")["tls-cert-file"] == c.server[0], "unchanged")
    check(tls_client(n).ping(), "still served with the old certificate")
    check(plain.config_set("tls-protocols", "TLSv1.3"), "TLSv1.3 only")
    check(tls_client(n).ping(), "TLSv1.3 client")
    port = cluster.free_port()
    out = subprocess.run([cluster.servers.CACHELY, "--port", str(cluster.free_port()),
                          "--tls-port", str(port)], capture_output=True, timeout=20)
    check(out.returncode != 0, "tls-port without a certificate refuses to start")


def routes_writes(p):
    """The proxy answers a write: until its first probe found the master it
    says "no master is known for this group (yet)", which is not yet, not a
    failure."""
    try:
        return client(p).set("probe", "1")
    except redis.ResponseError as e:
        if "no master is known" in str(e):
            return False
        raise


def case_h_proxy(nodes):
    """cachely-proxy's tls-port: redis-cli --tls and python ssl=True through
    the proxy to a node (plain backend link), mutual TLS refusals, and a
    pipeline of 10,000 commands answered in order."""
    c = certs()
    n = nodes.node()
    port = cluster.free_port()
    p = nodes.proxy(n.addr, "--tls-port", port, "--tls-cert-file", c.server[0],
                    "--tls-key-file", c.server[1], "--tls-ca-cert-file", c.ca)
    p.tls_port = port
    wait_for(lambda: routes_writes(p), 10, "the proxy routes writes")
    cli = ["redis-cli", "-h", LOCAL, "-p", str(port), "--tls", "--cacert", c.ca,
           "--cert", c.client[0], "--key", c.client[1]]
    out = subprocess.run(cli + ["SET", "via", "proxy over tls"], capture_output=True,
                         timeout=20)
    check(out.stdout.strip() == b"OK", "redis-cli --tls SET via the proxy: %r %r"
          % (out.stdout, out.stderr))
    r = tls_client(p)
    check(r.get("via") == "proxy over tls", "python ssl=True GET via the proxy")
    check(client(n).get("via") == "proxy over tls", "the write reached the node")
    big = "y" * (1024 * 1024 + 3)
    r.set("big", big)
    check(r.get("big") == big, "a 1 MB value through the proxy over TLS")
    for cert in (None, "rogue", "expired"):
        check(refused(p, cert=cert), "the proxy refuses client certificate %r" % cert)
    check(r.ping(), "the proxy serves good clients after refusing bad ones")
    s = ssl_socket(p)
    s.sendall(b"".join(cluster.resp(b"INCR", b"ctr") for _ in range(10000)))
    f = s.makefile("rb")
    deadline = time.time() + 60
    for i in range(1, 10001):
        check(time.time() < deadline, "proxy pipeline stalled at %d" % i)
        line = f.readline()
        check(line == b":%d\r\n" % i, "reply %d in order: %r" % (i, line))
    s.close()


def case_i_proxy_backend(nodes):
    """tls-backend yes: the proxy reaches its nodes' tls-ports only (mutual
    TLS, its client certificate), probes included; the replica it discovers
    announced its tls-port (tls-replication), reads and writes flow, and the
    replica holds the master's data.  A proxy whose certificate the nodes
    do not trust gets nothing through."""
    c = certs()
    m = nodes.tls_node("--tls-replication", "yes")
    r = nodes.tls_node("--tls-replication", "yes", "--replicaof", "%s %d" % (LOCAL, m.tls_port))
    p = nodes.proxy("%s:%d" % (LOCAL, m.tls_port), "--tls-backend", "yes",
                    "--tls-cert-file", c.server[0], "--tls-key-file", c.server[1],
                    "--tls-client-cert-file", c.client[0], "--tls-client-key-file", c.client[1],
                    "--tls-ca-cert-file", c.ca, "--read-policy", "replicas")
    pc = client(p)
    wait_for(lambda: "node1:addr=%s:%d" % (LOCAL, r.tls_port) in pc.info("topology")
             and "role=replica,up=1" in pc.info("topology"), 20,
             "the proxy found the replica at its tls-port")
    for i in range(500):
        pc.set("pk:%d" % i, i)
    mc, rc = client(m), client(r)
    wait_for(lambda: digest(mc) == digest(rc), 20, "replica in sync")
    check(mc.get("pk:499") == "499", "writes reached the master")
    wait_for(lambda: pc.get("pk:499") == "499", 10, "reads through the proxy")
    clients = mc.execute_command("CLIENT", "LIST")
    check(clients.count("addr=127.0.0.1") >= 2, "the proxy's connections: %r" % clients)
    # A proxy presenting a certificate from another CA is refused by the node.
    bad = nodes.proxy("%s:%d" % (LOCAL, m.tls_port), "--tls-backend", "yes",
                      "--tls-cert-file", c.rogue[0], "--tls-key-file", c.rogue[1],
                      "--tls-ca-cert-file", c.ca)
    bc = client(bad)
    time.sleep(1)
    try:
        v = bc.get("pk:1")
        check(False, "a proxy with a rogue certificate got %r" % v)
    except redis.ResponseError:
        pass
    check("TLS handshake with" in log_text(m), "the node logged the refused proxy")


# ---- peer proxies over TLS ---------------------------------------------------


class TlsOnly(cluster.Process):
    """A cachely-server or cachely-proxy started with port 0: it listens on
    its tls-port only (self.port is that port), and is up once a TLS PING
    is answered."""

    def __init__(self, kind, argv, port=None):
        self.kind = kind
        self.port = port or cluster.free_port()
        self.tls_port = self.port
        self.dir = tempfile.mkdtemp(prefix="cachely-tlsonly-")
        self.log = os.path.join(self.dir, "out.log")
        c = certs()
        self.argv = argv + ["--port", "0", "--tls-port", str(self.port), "--bind", LOCAL,
                            "--logfile", self.log, "--tls-cert-file", c.server[0],
                            "--tls-key-file", c.server[1], "--tls-ca-cert-file", c.ca]
        if kind == "cachely-server":
            self.argv += ["--dir", self.dir]
        self.start()

    def start(self):
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT)
        self.killed = False

        def up():
            if self.proc.poll() is not None:
                self.dump_log()
                raise RuntimeError("%s exited at start" % self.kind)
            try:
                return tls_client(self, timeout=2).ping()
            except (redis.ConnectionError, ssl.SSLError, OSError):
                return False
        wait_for(up, 20, "%s answers on its tls-port" % self.kind, interval=0.05)


def listening_ports(pid):
    """The TCP ports process pid listens on (from /proc)."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            col = row.split()
            if col[3] == "0A" and col[9] in inodes:
                ports.add(int(col[1].rsplit(":", 1)[1], 16))
    return ports


def case_j_failover_all_tls(nodes):
    """A failover driven entirely over TLS, no plain port anywhere: three
    nodes (port 0, tls-replication), three proxies (port 0, tls-backend,
    tls-peers, peer-auth) that find each other's run ids over TLS; kill -9
    the master; a TLS client of a proxy sees writes resume on the promoted
    replica, which the other replica and every proxy follow."""
    c = certs()
    client_cert = ["--tls-client-cert-file", c.client[0], "--tls-client-key-file", c.client[1]]

    def node(*args):
        n = TlsOnly("cachely-server", [cluster.servers.CACHELY, "--enable-debug-command",
                                       "local", "--tls-replication", "yes"]
                    + client_cert + list(args))
        nodes.nodes.append(n)
        return n

    m = node()
    reps = [node("--replicaof", "%s %d" % (LOCAL, m.port)) for _ in range(2)]
    mc = tls_client(m)
    wait_for(lambda: info(mc, "replication").get("connected_slaves") == "2"
             and all(info(tls_client(r), "replication").get("master_link_status") == "up"
                     for r in reps), 20, "both replicas synced over TLS")
    ports = [cluster.free_port() for _ in range(3)]
    ps = []
    for port in ports:
        peers = ",".join("%s:%d" % (LOCAL, q) for q in ports if q != port)
        p = TlsOnly("cachely-proxy", [cluster.PROXY, "--nodes", "%s:%d" % (LOCAL, m.port),
                                      "--tls-backend", "yes", "--tls-peers", "yes",
                                      "--peers", peers, "--peer-auth", "tls-peer-secret"]
                    + client_cert, port=port)
        nodes.proxies.append(p)
        ps.append(p)
    for p in ps:
        pc = tls_client(p)
        wait_for(lambda: len(pc.execute_command("SENTINEL", "replicas", "mymaster")) == 2, 10,
                 "the proxy discovered both replicas at their tls-ports")
        wait_for(lambda: all(x[x.index("runid") + 1] for x in pc.execute_command(
            "SENTINEL", "sentinels", "mymaster")), 10, "the proxy knows both peers (TLS)")
    for x in [m] + reps + ps:
        got = listening_ports(x.proc.pid)
        check(got == {x.tls_port}, "%s listens on its tls-port only: %r" % (x.kind, got))
    r = tls_client(ps[0], timeout=2)
    r.set("before", "1")
    t0 = time.time()
    m.kill()

    def writes_ok():
        try:
            return r.set("after", "1")
        except (redis.ResponseError, redis.ConnectionError, OSError):
            return False
    wait_for(writes_ok, 15, "writes through the proxy resume after the kill", interval=0.02)
    took = time.time() - t0
    nm = [x for x in reps if info(tls_client(x), "replication")["role"] == "master"]
    check(len(nm) == 1, "one replica promoted")
    nm = nm[0]
    other = [x for x in reps if x is not nm][0]
    wait_for(lambda: info(tls_client(other), "replication").get("master_port") == str(nm.port)
             and info(tls_client(other), "replication").get("master_link_status") == "up",
             15, "the other replica follows the new master over TLS")
    for p in ps:
        wait_for(lambda: tls_client(p).execute_command(
            "SENTINEL", "get-master-addr-by-name", "mymaster") == [LOCAL, str(nm.port)],
            10, "every proxy names the new master")
    check(tls_client(nm).get("before") == "1" and tls_client(nm).get("after") == "1",
          "the new master has the writes")
    for p in ps:
        t = log_text(p)
        check("Peer %s:" % LOCAL in t and "authenticated" in t, "peers authenticated")
    print("     writes resumed %.2f s after kill -9, all links TLS" % took)


def case_k_peer_bad_certificate(nodes):
    """tls-peers between proxies that do not trust each other (one holds a
    certificate from another CA): every link is refused both ways, each
    proxy logs the refusal once with the peer's address, keeps serving,
    and retries with a growing delay (a few handshakes, not 5 a second)."""
    c = certs()
    n = nodes.node()
    pa, pb = cluster.free_port(), cluster.free_port()
    common = ["--tls-peers", "yes", "--tls-ca-cert-file", c.ca]
    a = nodes.proxy(n.addr, "--tls-port", pa, "--tls-cert-file", c.rogue[0],
                    "--tls-key-file", c.rogue[1], "--peers", "%s:%d" % (LOCAL, pb), *common)
    b = nodes.proxy(n.addr, "--tls-port", pb, "--tls-cert-file", c.server[0],
                    "--tls-key-file", c.server[1], "--peers", "%s:%d" % (LOCAL, pa), *common)
    refusal = "TLS handshake refused"
    wait_for(lambda: refusal in log_text(a) and refusal in log_text(b), 10,
             "both proxies log the refused peer link")
    time.sleep(2.5)  # the retries the backoff allows in this window: 1 s, then 2 s
    for x, peer in ((a, pb), (b, pa)):
        t = log_text(x)
        check(t.count(refusal) == 1 and "Peer %s:%d: %s" % (LOCAL, peer, refusal) in t,
              "the refusal logged once with the peer's address: %r"
              % [ln for ln in t.splitlines() if "Peer" in ln or "TLS" in ln][:8])
        check(t.count("TLS handshake with") <= 6,
              "handshakes are not retried every 200 ms: %d" % t.count("TLS handshake with"))
        xc = client(x)
        check(xc.ping(), "the proxy still serves")
        sent = [pairs for pairs in xc.execute_command("SENTINEL", "sentinels", "mymaster")]
        flags = sent[0][sent[0].index("flags") + 1]
        check("disconnected" in flags, "the peer is shown disconnected: %r" % flags)


# ---- HTTPS and the proxy's live reload ----------------------------------------


def curl(port, path, method="GET", cert=None, scheme="https"):
    """curl --cacert <our CA> [--cert] <scheme>://127.0.0.1:port<path>:
    (exit status, body, HTTP status or 0)."""
    c = certs()
    cmd = ["curl", "-sS", "--max-time", "10", "-o", "-", "-w", "\n%{http_code}",
           "--cacert", c.ca, "-X", method]
    if cert:
        pair = getattr(c, cert)
        cmd += ["--cert", pair[0], "--key", pair[1]]
    cmd.append("%s://%s:%d%s" % (scheme, LOCAL, port, path))
    out = subprocess.run(cmd, capture_output=True, timeout=30)
    body, _, code = out.stdout.rpartition(b"\n")
    return out.returncode, body, int(code or 0)


def peer_cert(port, cert=None):
    """The certificate (DER) a new TLS connection to port is shown."""
    c = certs()
    ctx = ssl.create_default_context(cafile=c.ca)
    ctx.check_hostname = False
    if cert:
        ctx.load_cert_chain(*getattr(c, cert))
    with socket.create_connection((LOCAL, port), timeout=10) as raw:
        with ctx.wrap_socket(raw) as s:
            return s.getpeercert(binary_form=True)


def plain_http_refused(port):
    """A plain-HTTP request to an HTTPS port gets no HTTP answer: curl fails
    and a raw request reads back no "HTTP/" status line."""
    rc, body, code = curl(port, "/health", scheme="http")
    if rc == 0 or code != 0:
        return False
    with socket.create_connection((LOCAL, port), timeout=10) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        try:
            while len(data) < 4096:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
    return not data.startswith(b"HTTP/")


def https_failures_logged(proc, port):
    """Failed HTTPS handshakes on port are logged once each, with the peer's
    address, and the port serves on: plain HTTP, then a TLS client with no
    cipher in common.  Returns True."""
    peers = []
    with socket.create_connection((LOCAL, port), timeout=10) as s:
        peers.append(("%s:%d" % s.getsockname()[:2], "http request"))
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            while s.recv(4096):
                pass
        except OSError:
            pass
    # A TLS client the server cannot agree with: TLS 1.2 with ECDSA suites
    # only, against an RSA certificate.  (A client that refuses the
    # server's certificate is not used: its alert may be lost to the reset
    # of its close, and a reset is not logged.)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
    with socket.create_connection((LOCAL, port), timeout=10) as raw:
        peers.append(("%s:%d" % raw.getsockname()[:2], "no shared cipher"))
        try:
            ctx.wrap_socket(raw).close()
            check(False, "a client with no cipher in common completed the handshake")
        except ssl.SSLError:
            pass
    for peer, why in peers:
        line = "HTTPS handshake with %s failed: " % peer
        wait_for(lambda: line in log_text(proc), 10, "%r (%s) in the log" % (line, why))
    time.sleep(0.2)  # a second line for the same connection would come now
    text = log_text(proc)
    for peer, why in peers:
        line = "HTTPS handshake with %s failed: " % peer
        found = [x for x in text.splitlines() if line in x]
        check(len(found) == 1 and why in found[0], "logged once (%s): %r" % (why, found))
    check(curl(port, "/health")[2] == 200, "HTTPS still served after the failed handshakes")
    return True


def case_k_node_https(nodes):
    """http-tls yes: the node's HTTP port serves HTTPS with the tls-*
    certificates (curl --cacert), refuses plain HTTP, follows CONFIG SET of
    the certificate for new connections and tls-auth-clients; http-tls
    without a certificate refuses to start."""
    c = certs()
    hp = cluster.free_port()
    n = nodes.tls_node("--http-port", hp, "--http-tls", "yes", auth="no")
    rc, body, code = curl(hp, "/cache/set?key=hk&value=over-https", "POST")
    check(rc == 0 and code == 200, "HTTPS POST /cache/set: %r %r %r" % (rc, body, code))
    rc, body, code = curl(hp, "/cache/get?key=hk")
    check(rc == 0 and code == 200 and body == b"over-https", "HTTPS GET: %r %r" % (body, code))
    plain = client(n)
    check(plain.get("hk") == "over-https", "the HTTPS write is in the keyspace")
    rc, body, code = curl(hp, "/metrics")
    check(code == 200 and b"cachely_" in body, "HTTPS /metrics: %r" % body[:80])
    check(plain_http_refused(hp), "plain HTTP on the HTTPS port gets no answer")
    check(plain.ping(), "the node is alive after the plain-HTTP attempts")
    check(https_failures_logged(n, hp), "failed HTTPS handshakes logged")
    check(peer_cert(hp) == c.der(c.server), "HTTPS shows tls-cert-file")
    plain.execute_command("CONFIG", "SET", "tls-cert-file", c.server2[0],
                          "tls-key-file", c.server2[1])
    check(peer_cert(hp) == c.der(c.server2), "a new HTTPS connection gets the reloaded certificate")
    check(curl(hp, "/health")[2] == 200, "HTTPS after the reload")
    check(plain.config_set("tls-auth-clients", "yes"), "CONFIG SET tls-auth-clients yes")
    rc, body, code = curl(hp, "/health")
    check(rc != 0 and code == 0, "no client certificate: refused (%r %r)" % (rc, code))
    rc, body, code = curl(hp, "/health", cert="client")
    check(rc == 0 and code == 200, "a client certificate from our CA: %r %r" % (rc, code))
    rc, body, code = curl(hp, "/health", cert="rogue")
    check(rc != 0 and code == 0, "another CA's certificate: refused (%r %r)" % (rc, code))
    out = subprocess.run([cluster.servers.CACHELY, "--port", str(cluster.free_port()),
                          "--http-port", str(cluster.free_port()), "--http-tls", "yes"],
                         capture_output=True, timeout=20)
    check(out.returncode != 0, "http-tls without a certificate refuses to start")


def case_l_proxy_https(nodes):
    """The proxy's http-tls yes without a tls-port: HTTPS on its HTTP port
    (cache set/get routed to the node, /health, /topology), plain HTTP
    refused."""
    c = certs()
    n = nodes.node()
    hp = cluster.free_port()
    p = nodes.proxy(n.addr, "--http-port", hp, "--http-tls", "yes",
                    "--tls-cert-file", c.server[0], "--tls-key-file", c.server[1],
                    "--tls-ca-cert-file", c.ca, "--tls-auth-clients", "no")
    wait_for(lambda: curl(hp, "/health")[2] == 200, 10, "the proxy's HTTPS /health")
    rc, body, code = curl(hp, "/cache/set?key=pk&value=via-proxy-https", "POST")
    check(rc == 0 and code == 200, "HTTPS POST via the proxy: %r %r %r" % (rc, body, code))
    check(client(n).get("pk") == "via-proxy-https", "the write reached the node")
    rc, body, code = curl(hp, "/cache/get?key=pk")
    check(code == 200 and body == b"via-proxy-https", "HTTPS GET via the proxy: %r" % body)
    check(curl(hp, "/topology")[2] == 200, "HTTPS /topology")
    check(plain_http_refused(hp), "plain HTTP on the proxy's HTTPS port gets no answer")
    check(https_failures_logged(p, hp), "failed HTTPS handshakes logged by the proxy")
    check(peer_cert(hp) == c.der(c.server), "the proxy's HTTPS shows its certificate")
    check(client(p).ping(), "the proxy is alive")


def case_m_proxy_reload_under_load(nodes):
    """CONFIG SET of the proxy's tls-* options while four TLS clients loop
    through it: a certificate without its key is refused (Redis's message,
    nothing changes); certificate and key together reload live, no client
    loses its connection, new handshakes (tls-port and HTTPS) get the new
    certificate; immutable and unknown options are refused."""
    c = certs()
    n = nodes.node()
    port, hp = cluster.free_port(), cluster.free_port()
    p = nodes.proxy(n.addr, "--tls-port", port, "--http-port", hp, "--http-tls", "yes",
                    "--tls-cert-file", c.server[0], "--tls-key-file", c.server[1],
                    "--tls-ca-cert-file", c.ca)
    p.tls_port = port
    pc = client(p)
    wait_for(lambda: pc.set("probe", "1"), 10, "the proxy routes writes")
    stop = threading.Event()
    errors = []
    counts = [0] * 4
    handshakes = []

    def worker(k):
        try:
            r = tls_client(p)
            first = r.client_id()
            while not stop.is_set():
                r.set("w%d" % k, counts[k])
                check(r.get("w%d" % k) == str(counts[k]), "read back")
                counts[k] += 1
            check(r.client_id() == first, "the same session throughout")
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append("worker %d: %r" % (k, e))

    def dialer():
        # New handshakes all along the reloads: each must succeed.
        try:
            while not stop.is_set():
                handshakes.append(peer_cert(port, cert="client"))
        except Exception as e:  # noqa: BLE001
            errors.append("dialer: %r" % e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    threads.append(threading.Thread(target=dialer))
    for t in threads:
        t.start()
    wait_for(lambda: min(counts) > 50 and handshakes, 20, "clients running")
    before = list(counts)
    for args, why in ((("tls-cert-file", c.server2[0]), "Unable to update TLS configuration. "
                       "Check server logs."),
                      (("tls-cert-file", "/nonexistent.crt"), "Unable to update TLS "
                       "configuration. Check server logs."),
                      (("tls-port", "0"), "can't set immutable config"),
                      (("port", "1"), "can't set immutable config")):
        try:
            pc.execute_command("CONFIG", "SET", *args)
            check(False, "CONFIG SET %r accepted" % (args,))
        except redis.ResponseError as e:
            check(str(e) == "CONFIG SET failed (possibly related to argument '%s') - %s"
                  % (args[0], why), str(e))
    try:
        pc.execute_command("CONFIG", "SET", "no-such-option", "1")
        check(False, "unknown option accepted")
    except redis.ResponseError as e:
        check(str(e) == "Unknown option or number of arguments for CONFIG SET - "
              "'no-such-option' (cachely-proxy's own options only: set a node's settings "
              "on the node directly)", str(e))
    check(pc.config_get("tls-cert-file") == {"tls-cert-file": c.server[0]},
          "refused changes left the certificate: %r" % pc.config_get("tls-cert-file"))
    check(peer_cert(port, "client") == c.der(c.server), "still the old certificate")
    pc.execute_command("CONFIG", "SET", "tls-cert-file", c.server2[0],
                       "tls-key-file", c.server2[1])
    check(pc.config_get("tls-*")["tls-cert-file"] == c.server2[0], "CONFIG GET after the reload")
    check(peer_cert(port, "client") == c.der(c.server2), "a new TLS client gets the new certificate")
    check(peer_cert(hp, "client") == c.der(c.server2), "a new HTTPS client gets it too")
    mark = len(handshakes)
    wait_for(lambda: all(counts[k] > before[k] + 50 for k in range(4))
             and len(handshakes) > mark + 3, 20, "clients and handshakes go on after the reload")
    check(handshakes[-1] == c.der(c.server2), "the dialer's latest handshake: new certificate")
    for pair in (c.server, c.server2):
        pc.execute_command("CONFIG", "SET", "tls-cert-file", pair[0], "tls-key-file", pair[1])
        time.sleep(0.1)
    check(pc.config_set("tls-auth-clients", "optional"), "CONFIG SET tls-auth-clients optional")
    check(tls_client(p, cert=None).ping(), "optional: a client without a certificate")
    check(pc.config_set("tls-auth-clients", "yes"), "back to yes")
    check(refused(p, cert=None), "yes: a client without a certificate is refused")
    stop.set()
    for t in threads:
        t.join(30)
    check(not errors, "errors during reloads: %r" % errors[:3])
    check("TLS configuration reloaded" in log_text(p), "the reload is logged")
    check(len(pc.execute_command("CONFIG", "HELP")) > 4, "CONFIG HELP")
    try:
        pc.execute_command("CONFIG", "RESETSTAT")
        check(False, "CONFIG RESETSTAT answered")
    except redis.ResponseError as e:
        check("not supported through cachely-proxy" in str(e), str(e))


def sighup_reload(proc, ports, fail_text):
    """The certificate files of proc (tls-cert-file/tls-key-file named
    live.crt/live.key in their own dir) are replaced in place by server2's
    and proc gets SIGHUP: new handshakes on every port in ports show the new
    certificate, an old TLS client goes on with the same connection.  Then a
    key that does not match: SIGHUP changes nothing, says so in the log
    (fail_text), and the process serves on."""
    c = certs()
    old = tls_client(proc)
    first = old.client_id()
    check(old.set("before-hup", "1"), "SET on the old connection")
    for port in ports:
        check(peer_cert(port, "client") == c.der(c.server), "the first certificate on %d" % port)
    for src, dst in ((c.server2[0], proc.live_crt), (c.server2[1], proc.live_key)):
        shutil.copyfile(src, dst + ".tmp")
        os.replace(dst + ".tmp", dst)
    os.kill(proc.proc.pid, signal.SIGHUP)
    for port in ports:
        wait_for(lambda: peer_cert(port, "client") == c.der(c.server2), 10,
                 "a new handshake on %d shows the certificate read again after SIGHUP" % port)
    check(old.client_id() == first and old.get("before-hup") == "1",
          "the connection opened before SIGHUP goes on")
    check("TLS configuration reloaded" in log_text(proc), "the reload is logged")
    # A key of another certificate: refused, nothing changes.
    shutil.copyfile(c.client[1], proc.live_key + ".tmp")
    os.replace(proc.live_key + ".tmp", proc.live_key)
    os.kill(proc.proc.pid, signal.SIGHUP)
    wait_for(lambda: fail_text in log_text(proc), 10, "%r in the log" % fail_text)
    for port in ports:
        check(peer_cert(port, "client") == c.der(c.server2),
              "a failed SIGHUP reload keeps the certificate on %d" % port)
    check(old.ping() and tls_client(proc).ping(), "old and new TLS clients after it")
    return True


def live_cert_files(nodes):
    """Copies of the server certificate and key in a dir of their own, for
    SIGHUP to find replaced."""
    c = certs()
    d = tempfile.mkdtemp(prefix="cachely-tls-live-", dir=c.dir)
    crt, key = os.path.join(d, "live.crt"), os.path.join(d, "live.key")
    shutil.copyfile(c.server[0], crt)
    shutil.copyfile(c.server[1], key)
    return crt, key


def case_o_sighup(nodes):
    """SIGHUP reads the certificate files again, on the node (tls-port and
    HTTPS) and on the proxy (tls-port, HTTPS), without dropping a
    connection; a bad file changes nothing."""
    c = certs()
    crt, key = live_cert_files(nodes)
    hp = cluster.free_port()
    port = cluster.free_port()
    n = nodes.node("--tls-port", port, "--tls-cert-file", crt, "--tls-key-file", key,
                   "--tls-ca-cert-file", c.ca, "--http-port", hp, "--http-tls", "yes")
    n.tls_port, n.live_crt, n.live_key = port, crt, key
    check(sighup_reload(n, [port, hp], "Unable to update TLS configuration"),
          "the node's SIGHUP reload")
    check(client(n).ping(), "the node's plain port after the SIGHUPs")
    crt, key = live_cert_files(nodes)
    hp, port = cluster.free_port(), cluster.free_port()
    p = nodes.proxy(n.addr, "--tls-port", port, "--http-port", hp, "--http-tls", "yes",
                    "--tls-cert-file", crt, "--tls-key-file", key, "--tls-ca-cert-file", c.ca)
    p.tls_port, p.live_crt, p.live_key = port, crt, key
    wait_for(lambda: routes_writes(p), 10, "the proxy routes writes")
    check(sighup_reload(p, [port, hp], "Reload: the TLS certificates were not changed"),
          "the proxy's SIGHUP reload")
    check(client(p).get("before-hup") == "1", "the proxy routes after the SIGHUPs")


CASES = [
    ("a", "redis-cli --tls and python ssl=True on tls-port", case_a_clients),
    ("b", "mutual TLS accepted and refused; auth-clients optional/no", case_b_mutual_tls),
    ("c", "a 10,000-command pipeline over TLS never stalls", case_c_pipeline),
    ("d", "replication over TLS: full, live, partial, SYNC", case_d_replication),
    ("e", "CONFIG SET of the certificate under load drops nothing", case_e_reload_under_load),
    ("f", "bad TLS peers: no crash, no leak", case_f_bad_peers),
    ("g", "bad TLS settings refused; no start without a certificate", case_g_config_errors),
    ("h", "cachely-proxy's tls-port: clients, refusals, pipeline", case_h_proxy),
    ("i", "cachely-proxy tls-backend to the nodes' tls-ports, discovery", case_i_proxy_backend),
    ("j", "a failover entirely over TLS: port 0 everywhere, tls-peers, peer-auth",
     case_j_failover_all_tls),
    ("k", "tls-peers with an untrusted certificate: refused, logged once, no crash",
     case_k_peer_bad_certificate),
    ("l", "the node's HTTP port over HTTPS (http-tls)", case_k_node_https),
    ("m", "the proxy's HTTP port over HTTPS (http-tls)", case_l_proxy_https),
    ("n", "the proxy's CONFIG SET tls-* reloads live under load", case_m_proxy_reload_under_load),
    ("o", "SIGHUP reads the certificates again (node and proxy), no connection dropped",
     case_o_sighup),
]


def main():
    try:
        return cluster.run_cases(CASES, "tls_", "CACHELY_TLS_CASES",
                                 lambda fn: cluster.run_in(Nodes(), fn))
    finally:
        if CERTS is not None:
            CERTS.cleanup()


if __name__ == "__main__":
    sys.exit(main())
