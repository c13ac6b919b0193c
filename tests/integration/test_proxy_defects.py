"""cachely-proxy regressions for the defects of issue 9, each case named after
its bug: real cachely-server nodes, a real cachely-proxy (started with its
DEFAULT options unless the case is about an option) and, where the exact
bytes matter, a real redis-server 7.0 to compare with.

Run with /usr/bin/python3 (Debian's python3-redis); CACHELY_BUILDDIR names
the build.  Prints "N passed, M failed".  CACHELY_PROXY_DEFECT_CASES=crlf,...
runs only those cases.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402  (puts tests/compat on sys.path)
import servers  # noqa: E402
import test_proxy as tp  # noqa: E402
from cluster import Err, Raw, check, client, info, wait_for  # noqa: E402,F401

import redis  # noqa: E402


def exact_replies(port, data, n):
    """Send data on a fresh connection; the bytes of its first n replies."""
    w = Raw(port)
    w.sendraw(data)
    out = []
    for _ in range(n):
        taken = []
        orig_line, orig_exact = w.line, w.exact

        def line():
            x = orig_line()
            taken.append(x + b"\r\n")
            return x

        def exact(k):
            x = orig_exact(k)
            taken.append(x)
            return x
        w.line, w.exact = line, exact
        w.reply()
        w.line, w.exact = orig_line, orig_exact
        out.append(b"".join(taken))
    w.close()
    return out


# ---- 1: CR/LF inside an argument desynchronises the reply stream ---------------

CRLF_SCRIPTS = [
    # unknown command whose argument holds CRLF, then PING
    (b"*2\r\n$9\r\nNOSUCHCMD\r\n$4\r\na\r\nb\r\n*1\r\n$4\r\nPING\r\n", 2),
    # a bare CR and a bare LF, in the name and in an argument
    (b"*3\r\n$4\r\nNO\rX\r\n$3\r\nx\ny\r\n$1\r\nz\r\n*1\r\n$4\r\nPING\r\n", 2),
    # HELLO with an unknown option that holds CRLF
    (b"*3\r\n$5\r\nHELLO\r\n$1\r\n2\r\n$5\r\nfo\r\no\r\n*1\r\n$4\r\nPING\r\n", 2),
]


def case_crlf_in_argument_desyncs_replies(c):
    """Every error the proxy builds from client text stays one line: the
    PING after it gets its own +PONG, and the bytes are redis-server's."""
    n = c.node()
    p = c.proxy(n.addr, ready=1)
    r = servers.Server("redis")
    try:
        for data, k in CRLF_SCRIPTS:
            want = exact_replies(r.port, data, k)
            got = exact_replies(p.port, data, k)
            check(got == want, "script %r: proxy %r, redis-server %r" % (data, got, want))
    finally:
        r.stop()
    # Errors of the proxy's own (no Redis equivalent) with client text.
    for args, prefix in [((b"SENTINEL", b"a\r\nb"), b"-ERR unknown subcommand 'a  b'"),
                         ((b"SENTINEL", b"reset\n"), b"-ERR unknown subcommand 'reset '"),
                         ((b"CLIENT", b"x\r\ny"), b"-ERR unknown subcommand 'x  y'")]:
        data = cluster.resp(*args) + cluster.resp("PING")
        got = exact_replies(p.port, data, 2)
        check(got[0].startswith(prefix) and got[0].count(b"\r\n") == 1
              and got[1] == b"+PONG\r\n", "%r -> %r" % (args, got))
    # python3-redis keeps working on the same connection.
    pc = client(p)
    try:
        pc.execute_command("NOSUCHCMD", "a\r\nb")
        check(False, "unknown command accepted")
    except redis.ResponseError:
        pass
    check(pc.ping() is True and pc.set("k", "v") and pc.get("k") == "v",
          "connection out of step after the error")


# ---- 2: out of the box a client does not read its own writes -------------------


def case_default_proxy_reads_own_writes(c):
    """A proxy with default options in front of a master and two replicas:
    2,000 pipelined SET/GET pairs (each GET right behind its SET) all read
    the value just written."""
    m, reps = c.group()
    p = c.proxy(m.addr)
    pc = client(p)
    check(tp.topology(pc)[0]["read_policy"] == "session", "default read-policy is not session")
    pipe = pc.pipeline(transaction=False)
    for i in range(2000):
        pipe.set("ryw:%d" % i, "v%d" % i)
        pipe.get("ryw:%d" % i)
    got = pipe.execute()
    misses = [i for i in range(2000) if got[2 * i + 1] != "v%d" % i]
    check(not misses, "%d of 2000 GETs missed their SET; first ryw:%d -> %r"
          % (len(misses), misses[0], got[2 * misses[0] + 1]) if misses else "")


CASES = [
    ("crlf", "CR/LF in an argument: errors stay one line (redis-server's bytes)",
     case_crlf_in_argument_desyncs_replies),
    ("ryw", "default proxy: 2,000 pipelined SET/GET pairs, zero misses",
     case_default_proxy_reads_own_writes),
]


def main():
    if not os.access(cluster.PROXY, os.X_OK):
        print("no cachely-proxy at %s" % cluster.PROXY)
        print("0 passed, 1 failed")
        return 1
    return cluster.run_cases(CASES, "proxy_defects_", "CACHELY_PROXY_DEFECT_CASES",
                             lambda fn: cluster.run_in(tp.Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
