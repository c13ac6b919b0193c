"""ACL on the node (issue 15): a least-privilege user over RESP, the
aclfile's SAVE/LOAD round trip and restart, "user" lines and requirepass in
a config file, a replica that replicates as a user allowed only to
replicate, the HTTP API as an ACL user, and passwords kept out of the slow
log, MONITOR and CLIENT LIST.

Run with /usr/bin/python3 (Debian's python3-redis)."""
import base64
import os
import shutil
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402
import servers  # noqa: E402
from cluster import check, client, wait_for  # noqa: E402

import redis  # noqa: E402


def expect_error(fn, prefix):
    try:
        fn()
    except (redis.ResponseError, redis.AuthenticationError) as e:
        check(str(e).startswith(prefix), "expected %r, got %r" % (prefix, str(e)))
        return str(e)
    check(False, "expected an error starting with %r" % prefix)
    return None


class ConfNode(cluster.Node):
    """A node started with a config file (the first argument)."""

    def __init__(self, conf, *args):
        self.conf = conf
        super().__init__(*args)

    def start(self):
        self.spawn([servers.CACHELY, self.conf, "--port", str(self.port), "--bind",
                    cluster.LOCAL, "--logfile", self.log, "--dir", self.dir] + self.args)


def case_a_least_privilege(c):
    n = c.node()
    admin = client(n)
    admin.execute_command("ACL", "SETUSER", "app", "on", ">apppw", "~app:*", "&news",
                          "-@all", "+@read", "+set", "+del", "+publish", "+multi",
                          "+exec", "+eval", "+ping", "+subscribe")
    u = client(n, username="app", password="apppw")
    check(u.set("app:1", "v") is True, "allowed write")
    check(u.get("app:1") == "v", "allowed read")
    expect_error(lambda: u.get("other"), "this user has no permissions to access one of the keys")
    expect_error(lambda: u.lpush("app:l", "x"), "this user has no permissions to run the 'lpush'")
    expect_error(lambda: u.config_get("maxmemory"),
                 "this user has no permissions to run the 'config|get'")
    expect_error(lambda: u.flushall(), "this user has no permissions to run the 'flushall'")
    check(u.publish("news", "hi") == 0, "allowed channel")
    expect_error(lambda: u.publish("sports", "hi"), "this user has no permissions to access "
                 "one of the channels")
    # Scripts run their commands as the caller.
    check(u.eval("return redis.call('get', KEYS[1])", 1, "app:1") == "v", "script read")
    expect_error(lambda: u.eval("return redis.call('get', 'other')", 0),
                 "The user executing the script can't access at least one of the keys")
    # Inside MULTI the refused command aborts the transaction.
    p = u.pipeline(transaction=True)
    p.get("app:1")
    p.get("other")
    try:
        p.execute()
        check(False, "EXEC of a transaction with a refused command must fail")
    except redis.ResponseError as e:
        check("no permissions to access one of the keys" in str(e), "EXECABORT: %r" % e)
    # Taking a channel away closes the user's clients subscribed to it.
    sub = socket.create_connection(("127.0.0.1", n.port), 5)
    sub.sendall(b"AUTH app apppw\r\nSUBSCRIBE news\r\n")
    wait_for(lambda: admin.pubsub_numsub("news")[0][1] == 1, 5, "subscribed")
    admin.execute_command("ACL", "SETUSER", "app", "resetchannels", "&other")
    sub.settimeout(5)
    got = b""
    while True:
        d = sub.recv(4096)
        if not d:
            break
        got += d
    check(b"news" in got, "the subscription was confirmed first: %r" % got)
    wait_for(lambda: admin.pubsub_numsub("news")[0][1] == 0, 5, "the subscriber was closed")
    sub.close()
    admin.execute_command("ACL", "SETUSER", "app", "resetchannels", "&news")
    # The denials are in the ACL LOG, newest first.
    log = admin.execute_command("ACL", "LOG")
    check(len(log) >= 5, "log entries: %r" % log)
    first = dict(zip(log[0][::2], log[0][1::2]))
    check(first["username"] == "app" and first["reason"] == "key"
          and first["object"] == "other" and first["context"] == "multi",
          "newest entry: %r" % first)
    # A wrong password is refused and logged; the user off refuses any.
    expect_error(lambda: client(n, username="app", password="nope").ping(), "WRONGPASS")
    entry = dict(zip(admin.execute_command("ACL", "LOG", "1")[0][::2],
                     admin.execute_command("ACL", "LOG", "1")[0][1::2]))
    check(entry["reason"] == "auth" and entry["object"] == "AUTH", "auth entry %r" % entry)
    admin.execute_command("ACL", "SETUSER", "app", "off")
    expect_error(lambda: client(n, username="app", password="apppw").ping(), "WRONGPASS")
    # Deleting a user disconnects its clients.
    admin.execute_command("ACL", "SETUSER", "app", "on")
    raw = socket.create_connection(("127.0.0.1", n.port), 5)
    raw.sendall(b"AUTH app apppw\r\n")
    check(raw.recv(64) == b"+OK\r\n", "app back on")
    check(admin.execute_command("ACL", "DELUSER", "app") == 1, "deleted")
    raw.settimeout(5)
    check(raw.recv(64) == b"", "the deleted user's connection was closed")
    raw.close()


def case_b_aclfile_round_trip(c):
    tmp = tempfile.mkdtemp(prefix="cachely-acl-")
    try:
        aclfile_round_trip(c, os.path.join(tmp, "users.acl"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def aclfile_round_trip(c, path):
    with open(path, "w") as f:
        f.write("user default on nopass ~* &* +@all\n")
        f.write("user ro on >ropw ~cache:* resetchannels -@all +@read\n")
    n = c.node("--aclfile", path)
    admin = client(n)
    users = admin.execute_command("ACL", "USERS")
    check(users == ["default", "ro"], "users from the file: %r" % users)
    ro = client(n, username="ro", password="ropw")
    check(ro.get("cache:x") is None, "ro reads")
    expect_error(lambda: ro.set("cache:x", "1"), "this user has no permissions to run the 'set'")
    # SETUSER + SAVE writes the file; LOAD reads changes back.
    admin.execute_command("ACL", "SETUSER", "rw", "on", ">rwpw", "~cache:*", "+@all", "-@admin")
    check(admin.execute_command("ACL", "SAVE") == "OK", "saved")
    with open(path) as f:
        text = f.read()
    check("user rw on #" in text and "rwpw" not in text, "file holds the hash only: %r" % text)
    listed = admin.execute_command("ACL", "LIST")
    check(text.splitlines() == listed, "file = ACL LIST:\n%r\n%r" % (text, listed))
    with open(path, "a") as f:
        f.write("user extra on >x ~* +get\n")
    check(admin.execute_command("ACL", "LOAD") == "OK", "loaded")
    check("extra" in admin.execute_command("ACL", "USERS"), "LOAD added a user")
    # A malformed file is refused as a whole: the users stay as they were.
    with open(path, "a") as f:
        f.write("user broken on +nosuchcommand\n")
    err = expect_error(lambda: admin.execute_command("ACL", "LOAD"), path)
    check(":5: Error in applying operation '+nosuchcommand': Unknown command or category "
          "name in ACL. WARNING: ACL errors detected, no change to the previously active "
          "ACL rules was performed" in err, err)
    check("extra" in admin.execute_command("ACL", "USERS"), "users kept after a bad LOAD")
    # A restart loads the saved users.
    with open(path) as f:
        lines = [x for x in f.read().splitlines() if "broken" not in x]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    n.proc.send_signal(15)
    n.proc.wait()
    n.start()
    rw = client(n, username="rw", password="rwpw")
    check(rw.set("cache:y", "1") is True, "rw writes after restart")
    expect_error(lambda: rw.set("other", "1"), "this user has no permissions to access")


def case_c_config_users_and_requirepass(c):
    n0 = c.node()
    conf = os.path.join(n0.dir, "acl.conf")
    with open(conf, "w") as f:
        f.write("requirepass topsecret\n")
        f.write("user metrics on >mpw -@all +info +ping\n")
        f.write('user "svc" on >svcpw ~svc:* +@all -@dangerous\n')
    n = ConfNode(conf)
    c.nodes.append(n)
    expect_error(lambda: client(n).ping(), "Authentication required")
    check(client(n, password="topsecret").ping(), "requirepass = default user's password")
    m = client(n, username="metrics", password="mpw")
    check("redis_version" in m.info(), "metrics reads INFO")
    expect_error(lambda: m.get("x"), "this user has no permissions to run the 'get'")
    s = client(n, username="svc", password="svcpw")
    check(s.set("svc:1", "a") is True, "svc writes its keys")
    admin = client(n, password="topsecret")
    # CONFIG SET requirepass changes the default user's password at once.
    admin.config_set("requirepass", "newpass")
    expect_error(lambda: client(n, password="topsecret").ping(), "WRONGPASS")
    check(client(n, password="newpass").ping(), "new password")
    # No "user" entry in CONFIG GET, and the users survive CONFIG REWRITE.
    check("user" not in admin.config_get("*"), "no user option in CONFIG GET")
    check(admin.config_get("requirepass") == {"requirepass": "(redacted)"},
          "CONFIG GET hides the password: %r" % admin.config_get("requirepass"))
    admin.execute_command("CONFIG", "REWRITE")
    with open(conf) as f:
        text = f.read()
    check(text.count("user metrics") == 1 and 'user "svc"' in text, "user lines kept: %r" % text)
    # users in the config file and an aclfile together refuse to start
    bad = os.path.join(n0.dir, "bad.conf")
    with open(bad, "w") as f:
        f.write("user a on nopass\naclfile %s\n" % os.path.join(n0.dir, "none.acl"))
    try:
        ConfNode(bad)
        check(False, "users in the config and an aclfile must not start")
    except RuntimeError:
        pass


def case_d_replica_as_restricted_user(c):
    m = c.node("--requirepass", "adminpw")
    admin = client(m, password="adminpw")
    admin.execute_command("ACL", "SETUSER", "replicator", "on", ">replpw", "-@all",
                          "+psync", "+replconf", "+ping")
    r = c.node("--masteruser", "replicator", "--masterauth", "replpw",
               "--replicaof", "127.0.0.1 %d" % m.port)
    rc = client(r)
    wait_for(lambda: cluster.info(rc, "replication").get("master_link_status") == "up", 15,
             "replica link up as the restricted user")
    admin.set("k", "v")
    wait_for(lambda: rc.get("k") == "v", 10, "write replicated")
    repl_clients = [x for x in admin.client_list() if x.get("user") == "replicator"]
    check(repl_clients, "the replica's link is authenticated as replicator: %r"
          % admin.client_list())
    # The same credentials cannot do anything else.
    ru = client(m, username="replicator", password="replpw")
    expect_error(lambda: ru.get("k"), "this user has no permissions to run the 'get'")
    # With the wrong password the link does not come up.
    r2 = c.node("--masteruser", "replicator", "--masterauth", "wrong",
                "--replicaof", "127.0.0.1 %d" % m.port)
    rc2 = client(r2)
    time.sleep(1.0)
    check(cluster.info(rc2, "replication").get("master_link_status") == "down",
          "a wrong masterauth keeps the link down")


def http(port, method, path, user=None, password=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method)
    if user is not None:
        token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        req.add_header("Authorization", "Basic " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def case_e_http_as_acl_user(c):
    hp = cluster.free_port()
    n = c.node("--http-port", hp, "--requirepass", "adminpw")
    admin = client(n, password="adminpw")
    admin.execute_command("ACL", "SETUSER", "web", "on", ">webpw", "~page:*", "-@all",
                          "+get", "+set")
    admin.set("page:1", "hello")
    admin.set("secret", "s")
    st, body = http(hp, "GET", "/cache/get?key=page:1")
    check(st == 401, "no credentials: %r %r" % (st, body))
    st, body = http(hp, "GET", "/cache/get?key=page:1", "web", "nope")
    check(st == 401, "wrong password: %r %r" % (st, body))
    st, body = http(hp, "GET", "/cache/get?key=page:1", "web", "webpw")
    check(st == 200 and body == b"hello", "web reads its key: %r %r" % (st, body))
    st, body = http(hp, "GET", "/cache/get?key=secret", "web", "webpw")
    check(st == 403 and body.startswith(b"NOPERM"), "other key refused: %r %r" % (st, body))
    st, body = http(hp, "POST", "/cache/set?key=page:2&value=x", "web", "webpw")
    check(st == 200, "web writes its key: %r %r" % (st, body))
    st, body = http(hp, "DELETE", "/cache/del?key=page:2", "web", "webpw")
    check(st == 403 and b"'del'" in body, "DEL not allowed for web: %r %r" % (st, body))
    st, body = http(hp, "GET", "/cache/get?key=secret", "default", "adminpw")
    check(st == 200 and body == b"s", "default user reads all: %r %r" % (st, body))


def case_f_redaction(c):
    n = c.node("--slowlog-log-slower-than", "0")
    admin = client(n)
    mon = socket.create_connection(("127.0.0.1", n.port), 5)
    mon.sendall(b"MONITOR\r\n")
    check(mon.recv(64).startswith(b"+OK"), "monitor on")
    admin.execute_command("ACL", "SETUSER", "sec", "on", ">hunter2", "+@all", "~*")
    client(n, username="sec", password="hunter2").ping()
    admin.execute_command("AUTH", "sec", "hunter2")
    slow = admin.slowlog_get(128)
    text = repr(slow)
    check("hunter2" not in text and "(redacted)" in text, "slowlog redacted: %r" % text[:2000])
    listing = admin.execute_command("CLIENT", "LIST")
    check("hunter2" not in repr(listing) and "user=sec" in repr(listing),
          "CLIENT LIST: %r" % listing)
    time.sleep(0.2)
    mon.settimeout(1)
    seen = b""
    try:
        while True:
            d = mon.recv(65536)
            if not d:
                break
            seen += d
    except socket.timeout:
        pass
    check(b"hunter2" not in seen, "MONITOR redacted: %r" % seen[:1000])
    mon.close()
    with open(n.log, errors="replace") as f:
        check("hunter2" not in f.read(), "no password in the log")


CASES = [
    ("a", "a least-privilege user: commands, keys, channels, scripts, MULTI, ACL LOG",
     case_a_least_privilege),
    ("b", "aclfile: load at start, SAVE, LOAD, a bad file refused, restart",
     case_b_aclfile_round_trip),
    ("c", "user lines and requirepass in a config file; CONFIG SET requirepass",
     case_c_config_users_and_requirepass),
    ("d", "a replica replicates as a user allowed only PSYNC/REPLCONF/PING",
     case_d_replica_as_restricted_user),
    ("e", "HTTP Basic as an ACL user, limited to its permissions", case_e_http_as_acl_user),
    ("f", "passwords stay out of the slow log, MONITOR, CLIENT LIST and the log",
     case_f_redaction),
]


def main():
    return cluster.run_cases(CASES, "", "CACHELY_ACL_CASES",
                             lambda fn: cluster.run_in(cluster.Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
