"""ACL on cachely-proxy and protected-mode on both binaries (issue 15): the
proxy's own users (requirepass, "user" lines, an aclfile), AUTH and HELLO
AUTH, the ACL command answered by the proxy, enforcement before routing
(commands, keys, EVAL's declared keys, the proxy's pub/sub channels, MULTI),
ACL LOG; the proxy talking to nodes whose default user is locked as a
least-privilege backend user; the HTTP API behind HTTP Basic; protected-mode
refusing a non-loopback client (in a private network namespace); passwords
kept out of logs, INFO and CLIENT LIST.

Run with /usr/bin/python3 (Debian's python3-redis)."""
import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402
import servers  # noqa: E402
from cluster import check, client, wait_for  # noqa: E402

import redis  # noqa: E402

# redis-py drops the "NOPERM " of the error it raises.
NOPERM_KEY = "this user has no permissions to access one of the keys used as arguments"
NOPERM_CHAN = "this user has no permissions to access one of the channels used as arguments"
DENIED = ("-DENIED Redis is running in protected mode because protected mode is enabled and "
          "no password is set for the default user.")

# The nodes' user for the proxy: everything it forwards plus the probes'
# INFO and ROLE, and nothing else of @dangerous/@admin (no FLUSHALL, KEYS,
# CONFIG, DEBUG, SHUTDOWN...).
BACKEND_RULES = ["on", ">backendpw", "~*", "&*", "+@all", "-@dangerous", "+info", "+role",
                 "+client"]


def expect_error(fn, prefix):
    try:
        fn()
    except (redis.ResponseError, redis.AuthenticationError) as e:
        check(str(e).startswith(prefix), "expected %r, got %r" % (prefix, str(e)))
        return str(e)
    check(False, "expected an error starting with %r" % prefix)
    return None


def entry(e):
    return dict(zip(e[::2], e[1::2]))


def node_for_proxy(c):
    """A node whose default user has a password and whose "proxy" user may
    run only what the proxy needs."""
    n = c.node("--requirepass", "nodeadmin")
    admin = client(n, password="nodeadmin")
    admin.execute_command("ACL", "SETUSER", "proxy", *BACKEND_RULES)
    return n, admin


def routed(p, **kw):
    """A client of proxy p, once p has a master for its group."""
    r = client(p, **kw)

    def ready():
        try:
            r.get("probe:ready")
            return True
        except redis.ResponseError as e:
            return "not reachable" not in str(e) and "no master" not in str(e)
    wait_for(ready, 10, "the proxy routes to its node")
    return r


def case_a_least_privilege_through_proxy(c):
    n, nadmin = node_for_proxy(c)
    p = c.proxy(n.addr, "--requirepass", "pxadmin", "--backend-user", "proxy",
                "--backend-password", "backendpw")
    admin = routed(p, password="pxadmin")
    check(admin.execute_command("ACL", "WHOAMI") == "default", "requirepass is default's")
    admin.execute_command("ACL", "SETUSER", "app", "on", ">apppw", "~app:*", "&news",
                          "-@all", "+@read", "+set", "+del", "+publish", "+subscribe",
                          "+multi", "+exec", "+eval", "+ping")
    # The user exists on the proxy only: the node never heard of it.
    check(nadmin.execute_command("ACL", "GETUSER", "app") is None, "not forwarded to the node")
    u = client(p, username="app", password="apppw")
    check(u.set("app:1", "v") is True, "allowed write")
    check(u.get("app:1") == "v", "allowed read")
    check(nadmin.get("app:1") == "v", "the write reached the node as the backend user")
    expect_error(lambda: u.get("other"), NOPERM_KEY)
    expect_error(lambda: u.lpush("app:l", "x"),
                 "this user has no permissions to run the 'lpush' command")
    expect_error(lambda: u.execute_command("ACL", "LIST"),
                 "this user has no permissions to run the 'acl|list' command")
    # EVAL's declared keys are checked by the proxy.
    check(u.eval("return redis.call('get', KEYS[1])", 1, "app:1") == "v", "EVAL allowed key")
    expect_error(lambda: u.eval("return 1", 1, "other"), NOPERM_KEY)
    # The proxy's own pub/sub channels.
    check(u.publish("news", "hi") == 0, "allowed channel")
    expect_error(lambda: u.publish("sports", "hi"), NOPERM_CHAN)
    # A refused command in MULTI aborts EXEC.
    pipe = u.pipeline(transaction=True)
    pipe.set("app:2", "x")
    pipe.get("other")
    try:
        pipe.execute()
        check(False, "EXEC after a refused command must abort")
    except redis.ResponseError as e:
        check("EXECABORT" in str(e) or "no permissions" in str(e), "aborted: %r" % e)
    check(admin.get("app:2") is None, "nothing of the aborted transaction ran")
    # The backend user's own limits still apply on the node: even the
    # proxy's default user cannot FLUSHALL through it.
    expect_error(lambda: admin.flushall(),
                 "this user has no permissions to run the 'flushall' command")
    # The proxy's ACL LOG, newest first, with Redis's fields.
    log = admin.execute_command("ACL", "LOG")
    check(len(log) >= 5, "proxy log entries: %r" % log)
    first = entry(log[0])
    check(first["username"] == "app" and first["reason"] == "key"
          and first["object"] == "other" and first["context"] == "multi"
          and "user=app" in first["client-info"] and "cmd=get" in first["client-info"],
          "newest entry: %r" % first)
    reasons = set(entry(x)["reason"] for x in log)
    check(reasons >= {"key", "command", "channel"}, "reasons: %r" % reasons)
    check(admin.execute_command("ACL", "LOG", "RESET") == "OK", "log reset")
    check(admin.execute_command("ACL", "LOG") == [], "log empty")
    check(all(entry(x)["object"] != "other" for x in nadmin.execute_command("ACL", "LOG")),
          "the node saw none of the proxy's denials")
    # Wrong password: WRONGPASS and an "auth" entry.
    expect_error(lambda: client(p, username="app", password="nope").ping(), "WRONGPASS")
    e = entry(admin.execute_command("ACL", "LOG", "1")[0])
    check(e["reason"] == "auth" and e["object"] == "AUTH" and e["username"] == "app",
          "auth entry %r" % e)


def case_b_proxy_acl_commands(c):
    n = c.node()
    tmp = tempfile.mkdtemp(prefix="cachely-pacl-")
    try:
        aclfile = os.path.join(tmp, "users.acl")
        with open(aclfile, "w") as f:
            f.write("user default on >pxadmin ~* &* +@all\n")
            f.write("user ro on >ropw ~cache:* resetchannels -@all +@read +hello +auth +reset +acl|whoami\n")
        p = c.proxy(n.addr, "--aclfile", aclfile)
        acl_commands(p, aclfile)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def acl_commands(p, aclfile):
    admin = routed(p, password="pxadmin")
    check(admin.execute_command("ACL", "USERS") == ["default", "ro"], "users from the aclfile")
    # HELLO 3 AUTH as an ACL user.
    raw = cluster.Raw(p.port)
    raw.send(("HELLO", "3", "AUTH", "ro", "ropw"))
    hello = raw.reply()
    check(isinstance(hello, dict) or isinstance(hello, list), "HELLO answered: %r" % (hello,))
    check(raw.call("ACL", "WHOAMI") == b"ro", "HELLO AUTH made the session ro")
    check(raw.call("GET", "cache:x") is None, "ro reads its keys")
    err = raw.call("SET", "cache:x", "1")
    check(str(err).startswith("NOPERM this user has no permissions to run the 'set' command"),
          "ro cannot write: %r" % err)
    raw.send(("HELLO", "2", "AUTH", "ro", "bad"))
    check(str(raw.reply()).startswith("WRONGPASS"), "HELLO AUTH with a wrong password")
    # SETUSER / GETUSER / LIST / DRYRUN / CAT / GENPASS.
    admin.execute_command("ACL", "SETUSER", "w", "on", ">wpw", "~w:*", "+@all", "-@admin")
    g = admin.execute_command("ACL", "GETUSER", "w")
    g = dict(zip(g[::2], g[1::2]))
    check(g["keys"] == "~w:*" and "on" in g["flags"], "GETUSER: %r" % g)
    check(admin.execute_command("ACL", "GETUSER", "nobody") is None, "GETUSER unknown")
    check(any(x.startswith("user w on #") for x in admin.execute_command("ACL", "LIST")),
          "LIST")
    check(admin.execute_command("ACL", "DRYRUN", "w", "set", "w:1", "x") == "OK", "DRYRUN ok")
    check(admin.execute_command("ACL", "DRYRUN", "w", "get", "zz")
          == "This user has no permissions to access the 'zz' key", "DRYRUN denied key")
    check("get" in admin.execute_command("ACL", "CAT", "read"), "CAT read")
    check(len(admin.execute_command("ACL", "GENPASS")) == 64, "GENPASS")
    expect_error(lambda: admin.execute_command("ACL", "SETUSER", "w", "~x", "bogus"),
                 "Error in ACL SETUSER modifier 'bogus': Syntax error")
    expect_error(lambda: admin.execute_command("ACL", "DELUSER", "default"),
                 "The 'default' user cannot be removed")
    # SAVE writes the file; DELUSER closes the user's sessions; LOAD restores.
    check(admin.execute_command("ACL", "SAVE") == "OK", "SAVE")
    with open(aclfile) as f:
        saved = f.read()
    check("user w on #" in saved and "wpw" not in saved, "saved hashes only: %r" % saved)
    ws = socket.create_connection(("127.0.0.1", p.port), 5)
    ws.sendall(b"AUTH w wpw\r\n")
    check(ws.recv(64) == b"+OK\r\n", "w authenticated")
    check(admin.execute_command("ACL", "DELUSER", "w") == 1, "DELUSER")
    ws.settimeout(5)
    check(ws.recv(64) == b"", "the deleted user's session was closed")
    ws.close()
    check(admin.execute_command("ACL", "LOAD") == "OK", "LOAD")
    check("w" in admin.execute_command("ACL", "USERS"), "w back from the file")
    # CLIENT KILL USER names the proxy's users and kills only their
    # sessions (it knew only "default": redis-py's
    # test_client_kill_filter_by_user).
    k = socket.create_connection(("127.0.0.1", p.port), 5)
    k.sendall(b"AUTH w wpw\r\n")
    check(k.recv(64) == b"+OK\r\n", "w authenticated again")
    check(admin.execute_command("CLIENT", "KILL", "USER", "w") == 1, "CLIENT KILL USER w")
    k.settimeout(5)
    check(k.recv(64) == b"", "w's session was killed")
    k.close()
    check(admin.execute_command("CLIENT", "KILL", "USER", "w") == 0, "no session of w left")
    check(raw.call("ACL", "WHOAMI") == b"ro", "ro's session was not killed")
    expect_error(lambda: admin.execute_command("CLIENT", "KILL", "USER", "nobody"),
                 "No such user 'nobody'")
    # Subscribers lose a channel they may no longer use.
    admin.execute_command("ACL", "SETUSER", "sub", "on", "nopass", "&news", "+subscribe")
    s = socket.create_connection(("127.0.0.1", p.port), 5)
    s.sendall(b"AUTH sub x\r\nSUBSCRIBE news\r\n")
    got = b""
    s.settimeout(5)
    while b"news" not in got:
        got += s.recv(4096)
    admin.execute_command("ACL", "SETUSER", "sub", "resetchannels", "&other")
    closed = False
    try:
        while s.recv(4096):
            pass
        closed = True
    except socket.timeout:
        pass
    check(closed, "the subscriber that lost its channel was closed")
    s.close()
    # RESET returns to the default user (which needs a password here).
    raw.send(("RESET",))
    check(raw.reply() == "RESET", "RESET")
    err = raw.call("GET", "cache:x")
    check(str(err).startswith("NOAUTH"), "after RESET the session is not authenticated")
    raw.close()


def case_c_user_lines_and_http(c):
    n = c.node()
    tmp = tempfile.mkdtemp(prefix="cachely-pacl-")
    try:
        conf = os.path.join(tmp, "proxy.conf")
        with open(conf, "w") as f:
            f.write("requirepass pxadmin\n")
            f.write("user web on >webpw ~page:* -@all +get +set\n")
        hport = cluster.free_port()
        p = c.proxy(n.addr, "--http-port", hport, config=conf)
        admin = routed(p, password="pxadmin")
        check(admin.execute_command("ACL", "USERS") == ["default", "web"], "user line")
        base = "http://127.0.0.1:%d" % hport

        def get(path, user=None, pw=None):
            req = urllib.request.Request(base + path)
            if user is not None:
                tok = base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()
                req.add_header("Authorization", "Basic " + tok)
            try:
                with urllib.request.urlopen(req, timeout=5) as r:
                    return r.status, r.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, e.read().decode()

        st, body = get("/cache/get?key=page:1")
        check(st == 401 and body.startswith("NOAUTH"), "no credentials: %r" % ((st, body),))
        st, body = get("/metrics")
        check(st == 401, "metrics need credentials: %r" % st)
        st, body = get("/cache/get?key=page:1", "web", "bad")
        check(st == 401, "wrong password: %r" % st)
        admin.set("page:1", "hello")
        st, body = get("/cache/get?key=page:1", "web", "webpw")
        check(st == 200 and body == "hello", "web reads its key: %r" % ((st, body),))
        st, body = get("/cache/get?key=secret", "web", "webpw")
        check(st == 403 and body.startswith("NOPERM " + NOPERM_KEY), "forbidden key: %r" % ((st, body),))
        st, body = get("/metrics", "", "pxadmin")
        check(st == 200 and "cachely" in body, "metrics as default: %r" % st)
        e = entry(admin.execute_command("ACL", "LOG", "1")[0])
        check(e["object"] == "secret" and e["username"] == "web"
              and e["client-info"].startswith("id=0 addr=127.0.0.1:"),
              "HTTP denial logged: %r" % e)
        # The health check stays open (load balancers probe it).
        st, body = get("/health")
        check(st in (200, 503), "health: %r" % st)
        # SIGHUP re-reads the users: a new line appears, web keeps its
        # session (same name, same user).
        ws = cluster.Raw(p.port)
        check(ws.call("AUTH", "web", "webpw") == "OK", "web authenticated")
        with open(conf, "a") as f:
            f.write("user late on >latepw ~* +@all\n")
        p.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "late" in admin.execute_command("ACL", "USERS"), 5, "reloaded users")
        check(ws.call("GET", "page:1") == b"hello", "web's session survived the reload")
        check(client(p, username="late", password="latepw").ping() is True, "late can AUTH")
        ws.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- protected mode ---------------------------------------------------------

NETNS_SCRIPT = r'''
import socket, subprocess, sys, time
server, proxy, ip = sys.argv[1], sys.argv[2], sys.argv[3]
def sh(*a):
    subprocess.run(a, check=True)
sh("ip", "link", "set", "lo", "up")
sh("ip", "addr", "add", ip + "/32", "dev", "lo")
procs = []
def start(argv, port):
    procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise SystemExit("no listener on %d" % port)
def first_line(host, port, send=b"PING\r\n"):
    s = socket.create_connection((host, port), 5)
    s.settimeout(5)
    try:
        s.sendall(send)
    except OSError:
        pass
    got = b""
    while not got.endswith(b"\r\n"):
        try:
            d = s.recv(8192)
        except OSError:
            break
        if not d:
            break
        got += d
    s.close()
    return got.decode(errors="replace")
try:
    out = {}
    start([server, "--port", "7001", "--bind", "127.0.0.1 " + ip], 7001)
    start([server, "--port", "7002", "--bind", ip + " 127.0.0.1", "--protected-mode", "no"], 7002)
    start([server, "--port", "7003", "--bind", "127.0.0.1 " + ip, "--requirepass", "pw"], 7003)
    start([proxy, "--port", "7011", "--bind", "0.0.0.0", "--nodes", "127.0.0.1:7001"], 7011)
    start([proxy, "--port", "7012", "--bind", "0.0.0.0", "--nodes", "127.0.0.1:7001",
           "--protected-mode", "no"], 7012)
    start([proxy, "--port", "7013", "--bind", "0.0.0.0", "--nodes", "127.0.0.1:7001",
           "--requirepass", "pw"], 7013)
    for port in (7001, 7002, 7003, 7011, 7012, 7013):
        out["%d local" % port] = first_line("127.0.0.1", port)
        out["%d remote" % port] = first_line(ip, port)
    print(repr(out))
finally:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(10)
'''


def case_d_protected_mode(c):
    """protected-mode on both binaries.  The non-loopback client is real: a
    private network namespace (unshare -n) whose lo also holds 10.99.0.1
    (loopback means 127.0.0.0/8 and ::1, as in Redis, not the interface),
    the servers bound there and on 127.0.0.1, and the client connecting to
    10.99.0.1, so its source address is 10.99.0.1."""
    del c
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        print("     skipped: needs root and unshare for a network namespace")
        return
    out = subprocess.run(["unshare", "-n", sys.executable, "-c", NETNS_SCRIPT, servers.CACHELY,
                          cluster.PROXY, "10.99.0.1"], capture_output=True, text=True,
                         timeout=60)
    check(out.returncode == 0, "netns run: %s %s" % (out.stdout, out.stderr))
    got = eval(out.stdout.strip().splitlines()[-1])  # noqa: S307 (our own repr)
    for port in (7001, 7011):
        check(got["%d local" % port] == "+PONG\r\n", "%d loopback allowed: %r"
              % (port, got["%d local" % port]))
        check(got["%d remote" % port].startswith(DENIED)
              and got["%d remote" % port].endswith("accepting connections from the outside.\r\n"),
              "%d non-loopback refused with Redis's text: %r" % (port, got["%d remote" % port]))
    for port in (7002, 7012):
        check(got["%d remote" % port] == "+PONG\r\n", "%d protected-mode no: %r"
              % (port, got["%d remote" % port]))
    for port in (7003, 7013):
        check(got["%d remote" % port].startswith("-NOAUTH"), "%d with a password: %r"
              % (port, got["%d remote" % port]))


# ---- passwords stay out of logs, INFO, CLIENT LIST ---------------------------

def case_e_redaction(c):
    n, nadmin = node_for_proxy(c)
    p = c.proxy(n.addr, "--requirepass", "hunter2px", "--backend-user", "proxy",
                "--backend-password", "backendpw", "--loglevel", "debug")
    admin = routed(p, password="hunter2px")
    admin.execute_command("ACL", "SETUSER", "u", "on", ">hunter2u", "+@all", "~*")
    mon = socket.create_connection(("127.0.0.1", p.port), 5)
    mon.sendall(b"AUTH hunter2px\r\nMONITOR\r\n")
    mon.settimeout(5)
    got = b""
    while b"+OK\r\n+OK\r\n" not in got:
        got += mon.recv(4096)
    u = client(p, username="u", password="hunter2u")
    u.set("k", "v")
    raw = cluster.Raw(p.port)
    raw.send(("HELLO", "2", "AUTH", "u", "hunter2u"))
    raw.reply()
    raw.call("ACL", "SETUSER", "u", ">hunter2new")
    texts = {
        "INFO": admin.info() if isinstance(admin.info(), str) else repr(admin.info()),
        "CLIENT LIST": repr(admin.client_list()),
        "node CLIENT LIST": repr(nadmin.client_list()),
        "node SLOWLOG": repr(nadmin.slowlog_get(128)),
    }
    nadmin.config_set("slowlog-log-slower-than", 0)
    client(n, username="proxy", password="backendpw").ping()
    texts["node SLOWLOG after AUTH"] = repr(nadmin.slowlog_get(128))
    mon.settimeout(0.5)
    seen = b""
    try:
        while True:
            d = mon.recv(65536)
            if not d:
                break
            seen += d
    except socket.timeout:
        pass
    texts["proxy MONITOR"] = seen.decode(errors="replace")
    check("(redacted)" in texts["proxy MONITOR"], "MONITOR shows the redaction: %r"
          % texts["proxy MONITOR"][:500])
    raw.close()
    mon.close()
    for path, what in ((p.log, "proxy log"), (n.log, "node log")):
        with open(path, errors="replace") as f:
            texts[what] = f.read()
    for what, text in texts.items():
        for pw in ("hunter2px", "hunter2u", "hunter2new", "backendpw"):
            check(pw not in text, "%s shows a password (%s)" % (what, pw))


def case_f_same_bytes_as_the_node(c):
    """The proxy's ACL command answers as the node's (which the compat
    suite holds to redis-server 7.0), byte for byte, in RESP2 and RESP3."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compat"))
    import test_compat as tc
    direct = c.node()
    p = c.proxy(c.node().addr)
    routed(p)
    cmds = [["ACL", "SETUSER", "u1", "on", ">x", "~a:*", "&ch", "-@all", "+get", "(+set ~b:*)"],
            ["ACL", "HELP"], ["ACL", "CAT"], ["ACL", "CAT", "read"], ["ACL", "CAT", "nosuch"],
            ["ACL", "CAT", "read", "x"], ["ACL", "GETUSER", "u1"], ["ACL", "GETUSER", "nobody"],
            ["ACL", "GETUSER"], ["ACL", "LIST"], ["ACL", "LIST", "x"], ["ACL", "USERS"],
            ["ACL", "WHOAMI"], ["ACL", "DRYRUN", "u1", "get", "a:1"],
            ["ACL", "DRYRUN", "u1", "get", "z"], ["ACL", "DRYRUN", "u1", "lpush", "a", "b"],
            ["ACL", "DRYRUN", "u1", "set", "b:1", "v"], ["ACL", "DRYRUN", "nobody", "get", "x"],
            ["ACL", "DRYRUN", "u1", "nosuch"], ["ACL", "DRYRUN", "u1", "get"],
            ["ACL", "SETUSER", "u1", "bogus"], ["ACL", "SETUSER", "u 1"],
            ["ACL", "SETUSER", "u1", "(~x"], ["ACL", "GENPASS", "0"], ["ACL", "GENPASS", "x"],
            ["ACL", "GENPASS", "1", "2"], ["ACL", "LOG", "0"], ["ACL", "LOG", "x"],
            ["ACL", "LOG", "1", "2"], ["ACL", "FOO"], ["ACL"], ["ACL", "SAVE"], ["ACL", "LOAD"],
            ["ACL", "DELUSER", "default"], ["ACL", "DELUSER", "u1", "nobody"], ["AUTH", "x"],
            ["AUTH", "u1", "bad"], ["AUTH", "a", "b", "c"], ["ACL", "LOG", "RESET"]]
    for proto in ("2", "3"):
        d, x = tc.Conn(direct.port), tc.Conn(p.port)
        for conn in (d, x):
            conn.call([b"HELLO", proto.encode()])
        for args in cmds:
            a = [w.encode() for w in args]
            want, got = d.call(a)[0], x.call(a)[0]
            check(want == got, "RESP%s %r:\n  node  %r\n  proxy %r" % (proto, args, want[:300],
                                                                        got[:300]))


CASES = [
    ("a", "a least-privilege user through the proxy, the proxy as a backend user, ACL LOG",
     case_a_least_privilege_through_proxy),
    ("b", "aclfile, HELLO AUTH, ACL SETUSER/GETUSER/LIST/DRYRUN/SAVE/LOAD/DELUSER, RESET",
     case_b_proxy_acl_commands),
    ("c", "user lines in the proxy's config; HTTP Basic as a proxy user",
     case_c_user_lines_and_http),
    ("d", "protected-mode on node and proxy from a non-loopback address (netns)",
     case_d_protected_mode),
    ("e", "no password in the logs, INFO, CLIENT LIST, MONITOR or the node's slow log",
     case_e_redaction),
    ("f", "the proxy's ACL command answers the node's bytes (RESP2 and RESP3)",
     case_f_same_bytes_as_the_node),
]


def main():
    return cluster.run_cases(CASES, "", "CACHELY_PROXY_ACL_CASES",
                             lambda fn: cluster.run_in(cluster.Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
