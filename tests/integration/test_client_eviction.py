"""Client eviction (maxmemory-clients, Redis 7.0) on a real node: what
CLIENT LIST's tot-mem counts (query buffer, MULTI queue, WATCHed keys,
subscriptions, tracking prefixes, output), which clients the limit closes
(the largest first, only until the total is no longer over it; never
CLIENT NO-EVICT ones, never a replica nor the master link), a limit in
percent of maxmemory, a lowered limit acting at once, and INFO's
evicted_clients with the "Evicting client: ..." log line.

Run with /usr/bin/python3 (Debian's python3-redis); CACHELY_BUILDDIR names
the build.  Prints "N passed, M failed".  CACHELY_CE_CASES=a,c runs only
those.
"""
import os
import signal
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402
from cluster import LOCAL, Case, check, client, info, resp, run_in, wait_for  # noqa: E402

import redis  # noqa: E402

KB = 1024
MB = 1024 * 1024


def clients_by_name(r):
    return {c.get("name"): c for c in r.client_list() if c.get("name")}


def field(r, name, f):
    c = clients_by_name(r).get(name)
    return None if c is None else int(c[f])


def exists(r, name):
    return name in clients_by_name(r)


def named(n, name):
    """A bare connection named name (CLIENT SETNAME answered)."""
    s = socket.create_connection((LOCAL, n.port), 10)
    s.sendall(resp("CLIENT", "SETNAME", name))
    check(s.recv(64) == b"+OK\r\n", "CLIENT SETNAME " + name)
    return s


def send(s, data):
    """sendall that lets the node close the connection meanwhile."""
    try:
        s.sendall(data)
    except (ConnectionResetError, BrokenPipeError):
        pass


def partial(s, size):
    """Send a command whose second argument (size bytes) never completes:
    the node holds those bytes in the query buffer."""
    send(s, b"*2\r\n$%d\r\n" % size + b"v" * size)


def closed(s, timeout=10):
    """True once the node closed s (reads EOF or a reset)."""
    s.settimeout(timeout)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            if s.recv(1 << 16) == b"":
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False


def evicted(r):
    return int(info(r, "stats")["evicted_clients"])


def held_not_evicted(n, r, name, size, why):
    """A client named name holds size bytes of a request: after 0.3 s it is
    still there and nobody was evicted; then it closes and is gone."""
    s = named(n, name)
    partial(s, size)
    wait_for(lambda: (field(r, name, "qbuf") or 0) >= size, 5, "%d bytes held" % size)
    time.sleep(0.3)
    check(exists(r, name) and evicted(r) == 0, why)
    s.close()
    wait_for(lambda: not exists(r, name), 5, "%s gone" % name)


def case_a_large_argv(c):
    """A command whose argument goes over the limit closes its client; one
    under it runs.  INFO counts the eviction and the log names the client."""
    n = c.node()
    r = client(n)
    r.execute_command("CLIENT", "NO-EVICT", "on")
    r.config_set("maxmemory-clients", 3000000)
    check(r.config_get("maxmemory-clients") == {"maxmemory-clients": "3000000"}, "CONFIG GET")
    s = named(n, "argv")
    s.sendall(resp("MSET", "k", "v", "k2", b"v" * 1000000))
    check(s.recv(64) == b"+OK\r\n", "MSET under the limit runs")
    send(s, resp("MSET", "k", "v", "k2", b"v" * 3000000))
    check(closed(s), "a client over the limit is closed")
    wait_for(lambda: not exists(r, "argv"), 5, "the client gone from CLIENT LIST")
    check(r.get("k2") is not None and len(r.get("k2")) == 1000000,
          "the second MSET never ran")
    check(evicted(r) == 1, "evicted_clients %d" % evicted(r))
    with open(n.log) as f:
        log = f.read()
    check("Evicting client: id=" in log and "name=argv" in log, "the log line")


def case_b_query_buffer(c):
    """tot-mem grows with a partial bulk in the query buffer; CLIENT LIST's
    qbuf shows the argument's bytes (as Redis, without the header); over
    the limit the client is closed."""
    n = c.node()
    r = client(n)
    r.execute_command("CLIENT", "NO-EVICT", "on")
    r.config_set("maxmemory-clients", 3000000)
    s = named(n, "qb")
    base = field(r, "qb", "tot-mem")
    send(s, b"*1\r\n$4000000\r\n" + b"v" * 500000)
    wait_for(lambda: field(r, "qb", "qbuf") == 500000, 5, "qbuf 500000 (the argument alone)")
    check(field(r, "qb", "tot-mem") >= base + 500000, "tot-mem grows with the query buffer")
    send(s, b"v" * 3000000)
    check(closed(s), "closed once over the limit")
    check(not exists(r, "qb") and evicted(r) == 1,
          "evicted once: %r %r" % (clients_by_name(r).get("qb"), evicted(r)))


def fill_output(r, s, name, size):
    """GET k on s, reading nothing, until name's tot-mem passes size."""
    deadline = time.time() + 30
    while (field(r, name, "tot-mem") or 0) <= size:
        check(time.time() < deadline, "%s's output never passed %d" % (name, size))
        send(s, resp("GET", "k"))
        time.sleep(0.01)


def case_c_percent_of_maxmemory(c):
    """7% of maxmemory 6mb: half of it is kept, all of it evicts; with
    maxmemory 0 a percentage is no limit."""
    n = c.node()
    r = client(n)
    r.execute_command("CLIENT", "NO-EVICT", "on")
    r.config_set("maxmemory-clients", "7%")
    check(r.config_get("maxmemory-clients")["maxmemory-clients"] == "7%", "shown as 7%")
    held_not_evicted(n, r, "nolimit", 2 * MB, "a percentage of maxmemory 0 limits nothing")
    r.config_set("maxmemory", 6 * MB)
    limit = 6 * MB * 7 // 100
    s = named(n, "half")
    partial(s, limit // 2)
    wait_for(lambda: (field(r, "half", "qbuf") or 0) >= limit // 2, 5, "half the limit held")
    tot = field(r, "half", "tot-mem")
    check(limit // 2 <= tot < limit, "tot-mem %d against the limit %d" % (tot, limit))
    s.close()
    wait_for(lambda: not exists(r, "half"), 5, "the second client gone")
    s = named(n, "full")
    partial(s, limit)
    check(closed(s), "7% of maxmemory evicts")
    check(evicted(r) == 1, "evicted_clients %d" % evicted(r))


def case_d_multi_queue(c):
    """multi-mem and tot-mem count the MULTI queue; a queue over the limit
    closes its client."""
    n = c.node()
    r = client(n)
    r.execute_command("CLIENT", "NO-EVICT", "on")
    r.config_set("maxmemory-clients", 3000000)
    x = client(n)
    x.client_setname("tx")
    check(field(r, "tx", "multi-mem") == 0, "multi-mem 0 before MULTI")
    x.execute_command("MULTI")
    x.execute_command("SET", "k", "v" * 750000)
    mm1 = field(r, "tx", "multi-mem")
    tm1 = field(r, "tx", "tot-mem")
    check(mm1 >= 750000, "multi-mem %d counts the queued command" % mm1)
    x.execute_command("SET", "k", "v" * 750000)
    check(field(r, "tx", "multi-mem") >= mm1 + 750000, "multi-mem grows")
    check(field(r, "tx", "tot-mem") >= tm1 + 750000, "tot-mem grows")
    check(x.execute_command("EXEC") == ["OK", "OK"], "EXEC under the limit")
    x.execute_command("MULTI")
    try:
        for _ in range(5):
            x.execute_command("SET", "k", "v" * 750000)
        check(False, "five queued 750 KB commands must be over the 3 MB limit")
    except redis.ConnectionError:
        pass
    wait_for(lambda: not exists(r, "tx"), 5, "the transaction's client gone")
    check(evicted(r) == 1, "evicted_clients %d" % evicted(r))


def case_e_output_buffer(c):
    """A client that reads nothing while big replies queue up: tot-mem
    grows with its output (eviction off); setting a limit evicts it; with
    the limit on, another such client is closed before CLIENT LIST ever
    shows it over the limit."""
    n = c.node()
    r = client(n)
    r.execute_command("CLIENT", "NO-EVICT", "on")
    r.setrange("k", 200000, "v")
    s = named(n, "reader")
    fill_output(r, s, "reader", 5 * MB)
    check(field(r, "reader", "omem") > 4 * MB, "omem counts the output")
    r.config_set("maxmemory-clients", 3000000)
    check(not exists(r, "reader"), "evicted by CONFIG SET")
    check(closed(s), "its connection closed")
    s = named(n, "reader2")
    for _ in range(5000):
        mem = field(r, "reader2", "tot-mem")
        if mem is None:
            break
        check(mem < 3000000, "tot-mem %d reached the limit" % mem)
        send(s, resp("GET", "k"))
    check(not exists(r, "reader2"), "the second reader was evicted")
    check(evicted(r) == 2, "evicted_clients %d" % evicted(r))


def case_f_other_kinds(c):
    """tot-mem grows with WATCHed keys, pub/sub subscriptions (channels,
    patterns, shard channels) and tracking prefixes; enough of any of them
    evicts (the smallest limit, 128 KiB, as Redis raises lower ones)."""
    n = c.node()
    r = client(n)
    r.execute_command("CLIENT", "NO-EVICT", "on")
    x = client(n)
    x.client_setname("kinds")
    base = field(r, "kinds", "tot-mem")
    x.execute_command("WATCH", *["key:%d" % i for i in range(100)])
    w = field(r, "kinds", "tot-mem")
    check(w >= base + 100 * 6, "WATCH: %d -> %d" % (base, w))
    check(field(r, "kinds", "multi-mem") > 0, "multi-mem counts watched keys (as Redis)")
    x.execute_command("UNWATCH")
    check(field(r, "kinds", "tot-mem") < w, "UNWATCH gives it back")
    x.execute_command("CLIENT", "TRACKING", "on", "BCAST",
                      *sum([["PREFIX", "p%03d:" % i] for i in range(50)], []))
    t = field(r, "kinds", "tot-mem")
    check(t >= base + 50 * 5, "tracking prefixes: %d -> %d" % (base, t))
    x.execute_command("CLIENT", "TRACKING", "off")
    p = x.pubsub()
    p.subscribe(*["chan:%d" % i for i in range(100)])
    for _ in range(100):
        p.get_message(timeout=5)
    m1 = field(r, "kinds", "tot-mem")
    check(m1 >= base + 100 * 6, "channels: %d -> %d" % (base, m1))
    p.psubscribe(*["pat:%d*" % i for i in range(100)])
    for _ in range(100):
        p.get_message(timeout=5)
    m2 = field(r, "kinds", "tot-mem")
    check(m2 >= m1 + 100 * 6, "patterns: %d -> %d" % (m1, m2))
    p.execute_command("SSUBSCRIBE", *["sh:%d" % i for i in range(100)])
    for _ in range(100):
        p.get_message(timeout=5)
    m3 = field(r, "kinds", "tot-mem")
    check(m3 >= m2 + 100 * 4, "shard channels: %d -> %d" % (m2, m3))
    # Eviction by WATCH alone, with the smallest limit there is.
    r.config_set("maxmemory-clients", 1)
    y = client(n)
    try:
        for i in range(200000):
            y.execute_command("WATCH", "watched-key-%d" % i)
        check(False, "200,000 watched keys must pass 128 KiB")
    except redis.ConnectionError:
        pass
    # The subscriber above went too: it is bigger than a fresh client.
    check(evicted(r) >= 1, "evicted_clients %d" % evicted(r))


def case_g_no_evict(c):
    """CLIENT NO-EVICT on keeps a client over the limit (its query buffer,
    then its output); off evicts it by the end of that loop turn."""
    n = c.node()
    r = client(n)
    r.execute_command("CLIENT", "NO-EVICT", "on")
    r.config_set("maxmemory-clients", 1 * MB)
    r.setrange("k", 200000, "v")
    s = named(n, "keep")
    s.sendall(resp("CLIENT", "NO-EVICT", "on"))
    check(s.recv(64) == b"+OK\r\n", "NO-EVICT on")
    s.sendall(b"*1\r\n$%d\r\n" % (1 * MB + 1) + b"v" * (1 * MB + 1))
    wait_for(lambda: field(r, "keep", "qbuf") == 1 * MB + 1, 5, "the query buffer filled")
    time.sleep(0.3)
    check(field(r, "keep", "tot-mem") > 1 * MB, "over the limit and still there")
    check("e" in clients_by_name(r)["keep"]["flags"], "flag e")
    s.sendall(b"\r\n")   # an unknown command; its buffer goes
    fill_output(r, s, "keep", 2 * MB)
    time.sleep(0.3)
    check(exists(r, "keep") and evicted(r) == 0, "kept with its output over the limit")
    send(s, resp("CLIENT", "NO-EVICT", "off"))
    wait_for(lambda: not exists(r, "keep"), 5, "evicted after NO-EVICT off")
    check(closed(s), "its connection closed")
    check(evicted(r) == 1, "evicted_clients %d" % evicted(r))


def case_h_replica_never(c):
    """Neither a replica (on its master) nor the master link (on the
    replica) is evicted, however large, while a normal client is."""
    m = c.node()
    rep = c.node("--replicaof", "%s %d" % (LOCAL, m.port))
    rm, rr = client(m), client(rep)
    wait_for(lambda: info(rr, "replication").get("master_link_status") == "up", 20,
             "the replica's link up")
    rm.execute_command("CLIENT", "NO-EVICT", "on")
    rr.execute_command("CLIENT", "NO-EVICT", "on")
    rm.config_set("maxmemory-clients", 1)
    rr.config_set("maxmemory-clients", 1)
    full = info(rm, "stats")["sync_full"]
    os.kill(rep.proc.pid, signal.SIGSTOP)
    try:
        for i in range(40):
            rm.set("big:%d" % i, "x" * 256 * KB)
        wait_for(lambda: any("S" in cl["flags"] and int(cl["tot-mem"]) > 512 * KB
                             for cl in rm.client_list()), 10,
                 "the stopped replica's output over the limit")
        time.sleep(0.3)
        check(evicted(rm) == 0, "the master evicted its replica")
        s = named(m, "normal")
        partial(s, 256 * KB)
        check(closed(s), "a normal client is still evicted")
    finally:
        os.kill(rep.proc.pid, signal.SIGCONT)
    wait_for(lambda: rr.dbsize() == 40, 20, "the replica got every write")
    check(info(rr, "replication").get("master_link_status") == "up", "link up")
    check(info(rm, "stats")["sync_full"] == full, "no new full sync")
    check(evicted(rm) == 1 and evicted(rr) == 0,
          "evicted: master %d replica %d" % (evicted(rm), evicted(rr)))


def fill(n, names, size):
    socks = []
    for name in names:
        s = named(n, name)
        partial(s, size)
        socks.append(s)
    return socks


def case_i_lowering_evicts(c):
    """Ten clients of about 300 KB (200 KB in a 256 KB query buffer) under
    a 4 MB limit; lowering it to 2 MB
    evicts some of them at once (by the next command), not all, and the
    total is then within the limit."""
    n = c.node()
    r = client(n)
    r.config_set("maxmemory-clients", 4 * MB)
    names = ["low%d" % i for i in range(10)]
    socks = fill(n, names, 200 * KB)
    wait_for(lambda: all((field(r, x, "qbuf") or 0) >= 200 * KB for x in names), 5,
             "every query buffer filled")
    check(evicted(r) == 0, "none evicted under 4 MB")
    r.config_set("maxmemory-clients", 2 * MB)
    left = [x for x in names if exists(r, x)]
    check(0 < len(left) < 10, "left after lowering: %r" % left)
    total = sum(int(cl["tot-mem"]) for cl in r.client_list())
    check(total <= 2 * MB, "total %d over 2 MB" % total)
    check(evicted(r) == 10 - len(left), "evicted_clients %d" % evicted(r))
    for s in socks:
        s.close()


def case_j_largest_first_until_below(c):
    """Clients of three sizes: each lowering of the limit evicts exactly the
    largest group it must, and stops once the total is within the limit."""
    n = c.node()
    r = client(n)
    r.execute_command("CLIENT", "NO-EVICT", "on")
    r.client_setname("control")
    sizes = [128 * KB, 1 * MB, 3 * MB]
    socks = []
    for i, size in enumerate(sizes):
        names = ["size%d-%d" % (i, j) for j in range(3)]
        socks += fill(n, names, size)
        wait_for(lambda: all((field(r, x, "qbuf") or 0) >= size for x in names), 5,
                 "group %d filled" % i)
    mem = []
    for i in range(3):
        ms = [field(r, "size%d-%d" % (i, j), "tot-mem") for j in range(3)]
        check(len(set(ms)) == 1, "group %d sizes differ: %r" % (i, ms))
        mem.append(ms[0])
    check(mem[0] < mem[1] < mem[2], "sizes %r" % mem)
    total = 3 * sum(mem)
    for top in (2, 1, 0):
        total -= 3 * mem[top]
        r.config_set("maxmemory-clients", total + field(r, "control", "tot-mem"))
        now = clients_by_name(r)
        for i in range(3):
            count = sum(1 for j in range(3) if "size%d-%d" % (i, j) in now)
            want = 3 if i < top else 0
            check(count == want, "after evicting group %d: group %d has %d, not %d"
                  % (top, i, count, want))
    check(evicted(r) == 9, "evicted_clients %d" % evicted(r))
    for s in socks:
        s.close()


def case_k_off_and_config(c):
    """maxmemory-clients 0 evicts nothing; its values and errors."""
    n = c.node()
    r = client(n)
    held_not_evicted(n, r, "huge", 4 * MB, "no limit, no eviction")
    for v, shown in (("1mb", "1048576"), ("10%", "10%"), ("0", "0"), ("100%", "100%")):
        r.config_set("maxmemory-clients", v)
        check(r.config_get("maxmemory-clients")["maxmemory-clients"] == shown, v)
    r.config_set("maxmemory-clients", 0)
    for v, err in (("101%", "percentage argument must be less or equal to 100"),
                   ("abc", "argument must be a memory or percent value"),
                   ("-1", "argument must be a memory or percent value")):
        try:
            r.config_set("maxmemory-clients", v)
            check(False, "%s accepted" % v)
        except redis.ResponseError as e:
            check(err in str(e), "%s: %s" % (v, e))


def case_l_output_from_others(c):
    """A client whose output grows only from another client's commands (a
    tracking redirect's invalidations, here with the cron paused, so
    nothing but that growth can count it) is evicted before CLIENT LIST
    ever shows it over the limit."""
    n = c.node()
    r = client(n)
    r.execute_command("CLIENT", "NO-EVICT", "on")
    r.config_set("maxmemory-clients", 3000000)
    red = named(n, "redirected")
    red.sendall(resp("CLIENT", "ID"))
    rid = int(red.recv(64)[1:-2])
    red.sendall(resp("SUBSCRIBE", "__redis__:invalidate"))
    red.recv(1024)
    x = client(n)
    x.execute_command("CLIENT", "TRACKING", "on", "REDIRECT", rid, "BCAST")
    key = "k" * (200 * KB)
    sha = x.script_load("redis.call('incr', '%s')" % key)
    r.execute_command("DEBUG", "PAUSE-CRON", 1)
    try:
        for _ in range(1000):
            mem = field(r, "redirected", "tot-mem")
            if mem is None:
                break
            check(mem < 3000000, "tot-mem %d reached the limit" % mem)
            x.evalsha(sha, 0)
        check(not exists(r, "redirected"), "the redirected client was evicted")
    finally:
        r.execute_command("DEBUG", "PAUSE-CRON", 0)
    check(evicted(r) == 1, "evicted_clients %d" % evicted(r))


CASES = [
    ("a", "an argument over the limit evicts; INFO and the log say so", case_a_large_argv),
    ("b", "a partial bulk: qbuf, tot-mem, eviction", case_b_query_buffer),
    ("c", "a percentage of maxmemory (none while maxmemory is 0)", case_c_percent_of_maxmemory),
    ("d", "the MULTI queue: multi-mem, tot-mem, eviction", case_d_multi_queue),
    ("e", "an unread output buffer grows tot-mem and evicts", case_e_output_buffer),
    ("f", "WATCH, subscriptions, tracking prefixes count; 128 KiB floor",
     case_f_other_kinds),
    ("g", "CLIENT NO-EVICT on keeps, off evicts", case_g_no_evict),
    ("h", "a replica and the master link are never evicted", case_h_replica_never),
    ("i", "lowering the limit evicts at once", case_i_lowering_evicts),
    ("j", "largest first, only until within the limit", case_j_largest_first_until_below),
    ("k", "0 is off; values and errors", case_k_off_and_config),
    ("l", "output pushed by other clients' commands counts (cron paused)",
     case_l_output_from_others),
]


def main():
    return cluster.run_cases(CASES, "", "CACHELY_CE_CASES", lambda fn: run_in(Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
