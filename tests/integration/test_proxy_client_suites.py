"""Regressions found by running client libraries' own test suites against
the node and through a proxy (utils/suite-phpredis.sh, utils/suite-redis-rb.sh),
each case named after the suite's test that failed: real cachely-server
nodes and a real cachely-proxy on free 127.0.0.1 ports.

Run with /usr/bin/python3 (Debian's python3-redis); CACHELY_BUILDDIR names
the build.  Prints "N passed, M failed".  CACHELY_PROXY_SUITE_CASES=a,b
runs only those cases.
"""
import os
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402  (puts tests/compat on sys.path)
import test_proxy as tp  # noqa: E402
from cluster import Err, Raw, check, client, info  # noqa: E402


def fields(text):
    """{field: value} of an INFO text."""
    if isinstance(text, bytes):
        text = text.decode()
    return dict(ln.split(":", 1) for ln in text.split("\r\n") if ln and not ln.startswith("#"))


def sections(text):
    if isinstance(text, bytes):
        text = text.decode()
    return [ln[2:] for ln in text.split("\r\n") if ln.startswith("# ")]


def case_a_info_has_the_fields_clients_read(c):
    """phpredis testInfo: INFO through the proxy had no arch_bits and no
    # Persistence (rdb_changes_since_last_save, rdb_bgsave_in_progress,
    rdb_last_save_time).  Persistence now has Redis's fields over the
    masters, in Redis's section order."""
    m = c.node()
    p = c.proxy(m.addr, ready=1)
    pc = client(p)
    for i in range(7):
        pc.set("k%d" % i, i)
    raw = Raw(p.port)
    text = raw.call("INFO")
    f = fields(text)
    for k in ("redis_version", "arch_bits", "uptime_in_seconds", "uptime_in_days",
              "connected_clients", "connected_slaves", "used_memory",
              "total_connections_received", "total_commands_processed", "role",
              "rdb_changes_since_last_save", "rdb_bgsave_in_progress", "rdb_last_save_time"):
        check(k in f, "INFO through the proxy lacks %s" % k)
    check(f["arch_bits"] == ("64" if sys.maxsize > 2 ** 32 else "32"), "arch_bits %r" % f)
    s = sections(text)
    check(s.index("Memory") + 1 == s.index("Persistence") == s.index("Stats") - 1,
          "Redis's order: Memory, Persistence, Stats: %r" % s)
    node = info(client(m), "persistence")
    got = fields(raw.call("INFO", "persistence"))
    check(sections(raw.call("INFO", "persistence")) == ["Persistence"], "INFO persistence")
    for k in ("rdb_changes_since_last_save", "rdb_last_save_time", "rdb_bgsave_in_progress",
              "loading", "aof_enabled", "rdb_last_bgsave_status"):
        check(got.get(k) == str(node[k]), "%s: proxy %r, node %r" % (k, got.get(k), node[k]))
    check(int(got["rdb_changes_since_last_save"]) >= 7, "changes %r" % got)
    client(m).save()
    got = fields(raw.call("INFO", "persistence"))
    check(got["rdb_changes_since_last_save"] == "0", "after SAVE on the node: %r" % got)


def case_b_info_inside_multi(c):
    """phpredis testInfo (MULTI / INFO / EXEC) got EXECABORT: the proxy
    refused INFO inside MULTI.  It is queued on the master as PING and ECHO
    are: EXEC's element is the master's INFO."""
    m = c.node()
    p = c.proxy(m.addr, ready=1)
    raw = Raw(p.port)
    check(raw.call("MULTI") == "OK", "MULTI")
    check(raw.call("INFO") == "QUEUED", "INFO inside MULTI is queued")
    check(raw.call("INFO", "server") == "QUEUED", "INFO server inside MULTI is queued")
    check(raw.call("SET", "a", "1") == "QUEUED", "SET")
    out = raw.call("EXEC")
    check(isinstance(out, list) and len(out) == 3, "EXEC %r" % (out,))
    f = fields(out[0])
    for k in ("redis_version", "arch_bits", "rdb_changes_since_last_save", "role"):
        check(k in f, "INFO inside EXEC lacks %s" % k)
    check(sections(out[1]) == ["Server"], "INFO server inside EXEC %r" % sections(out[1]))
    check(out[2] == "OK", "SET inside EXEC %r" % out[2])
    # python3-redis's transaction, as applications write it (INFO as text:
    # cluster.client keeps it so)
    pipe = client(p).pipeline(transaction=True)
    pipe.info()
    pipe.get("a")
    res = pipe.execute()
    check("redis_version" in fields(res[0]) and res[1] == "1", "pipeline %r" % res[1:])


def case_c_sentinel_flushconfig(c):
    """phpredis RedisSentinelTest testFlushconfig: SENTINEL FLUSHCONFIG was
    refused; Sentinel answers +OK (the proxy has nothing to save: its epoch
    is on the nodes), and Sentinel's arity error with an argument."""
    m = c.node()
    p = c.proxy(m.addr, ready=1)
    raw = Raw(p.port)
    check(raw.call("SENTINEL", "FLUSHCONFIG") == "OK", "SENTINEL FLUSHCONFIG")
    got = raw.call("SENTINEL", "flushconfig", "x")
    check(got == Err("ERR wrong number of arguments for 'sentinel|flushconfig' command"),
          "SENTINEL FLUSHCONFIG x: %r" % got)
    check(isinstance(raw.call("SENTINEL", "RESET", "*"), Err), "RESET stays refused")


def silent(port, data, wait=0.5):
    """True when port answers nothing to data within wait seconds."""
    s = socket.create_connection((cluster.LOCAL, port), 5)
    try:
        s.sendall(data)
        s.settimeout(wait)
        try:
            return s.recv(100) == b""
        except socket.timeout:
            return True
    finally:
        s.close()


# The first bytes of a TLS 1.2 ClientHello: a NUL byte comes before the
# first newline, so Redis's inline parser (strchr) never sees a whole line.
CLIENT_HELLO = bytes.fromhex("16030102000100 01fc0303".replace(" ", "")) + b"\x00" * 40 + \
    b"\n\r" + b"\x01" * 20


def case_d_tls_hello_on_a_plain_port(c):
    """redis-rb test_connection_to_non_ssl_server: a TLS client on the plain
    port got an error reply at once (the client then said 'wrong version
    number'); Redis stays silent, since an inline line with a NUL byte before
    its newline is never complete, and the handshake times out.  Node and
    proxy alike; past 64 KB it is Redis's 'too big inline request'."""
    m = c.node()
    p = c.proxy(m.addr, ready=1)
    for port, what in ((m.port, "node"), (p.port, "proxy")):
        check(silent(port, CLIENT_HELLO), "%s answered a ClientHello" % what)
        check(silent(port, b"SET a\x00 b\r\nPING\r\n"), "%s answered an inline NUL line" % what)
        raw = Raw(port)
        raw.sendraw(b"x\x00\n" + b"y" * (70 * 1024))
        got = raw.reply()
        check(got == Err("ERR Protocol error: too big inline request"), "%s: %r" % (what, got))
        check(raw.at_eof(), "%s keeps the connection after a protocol error" % what)
    t = time.time()
    check(client(p).ping() and client(m).ping(), "still serving")
    check(time.time() - t < 5, "slow")


def case_e_config_set_timeout(c):
    """redis-rb test_config_set: CONFIG SET timeout through the proxy was
    refused ('can't set immutable config'); the proxy's own idle timeout is
    a runtime setting as Redis's is, and takes effect at once."""
    m = c.node()
    p = c.proxy(m.addr, ready=1)
    pc = client(p)
    check(pc.config_set("timeout", 200) is True, "CONFIG SET timeout 200")
    check(pc.config_get("timeout") == {"timeout": "200"}, "CONFIG GET timeout")
    idle = Raw(p.port)
    check(idle.call("PING") == "PONG", "PING")
    check(pc.config_set("timeout", 1) is True, "CONFIG SET timeout 1")
    t = time.time()
    check(idle.at_eof(timeout=5), "an idle client outlived timeout 1")
    check(time.time() - t < 4, "closed after %.1f s" % (time.time() - t))
    check(pc.config_set("timeout", 0) is True and pc.ping(), "CONFIG SET timeout 0")


CASES = [
    ("a", "INFO has arch_bits and # Persistence over the masters (phpredis testInfo)",
     case_a_info_has_the_fields_clients_read),
    ("b", "INFO inside MULTI is queued on the master (phpredis testInfo)",
     case_b_info_inside_multi),
    ("c", "SENTINEL FLUSHCONFIG answers +OK (phpredis testFlushconfig)",
     case_c_sentinel_flushconfig),
    ("d", "a TLS ClientHello on the plain port gets no reply, as on Redis (redis-rb)",
     case_d_tls_hello_on_a_plain_port),
    ("e", "CONFIG SET timeout through the proxy takes effect at once (redis-rb)",
     case_e_config_set_timeout),
]


def main():
    if not os.access(cluster.PROXY, os.X_OK):
        print("no cachely-proxy at %s" % cluster.PROXY)
        print("0 passed, 1 failed")
        return 1
    return cluster.run_cases(CASES, "proxy_client_suites_", "CACHELY_PROXY_SUITE_CASES",
                             lambda fn: cluster.run_in(tp.Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
