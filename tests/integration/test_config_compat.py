"""A Redis 7.0 configuration on cachely-server: Redis 7.0.15's own test
config (redis70_default.conf) followed by every Redis 7.0 parameter Cachely
added (redis70_params.conf) loads, CONFIG GET answers what the files set,
CONFIG REWRITE writes a file that starts the server again with the same
configuration, the parameters Cachely cannot honour stop the start with
their reason, and the two with an effect (shutdown-on-sigterm/-sigint,
replica-ignore-maxmemory, tracking-table-max-keys, unixsocket,
unixsocketperm, stop-writes-on-bgsave-error) have it.

Run with /usr/bin/python3; CACHELY_BUILDDIR names the build.  Prints
"N passed, M failed".  CACHELY_CONFIG_COMPAT_CASES=a,b runs only those.
"""
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402
from cluster import Case, LOCAL, Process, check, client, run_in, wait_for  # noqa: E402
import servers  # noqa: E402

import redis  # noqa: E402

DEFAULT_CONF = os.path.join(HERE, "redis70_default.conf")
PARAMS_CONF = os.path.join(HERE, "redis70_params.conf")


class ConfNode(Process):
    """A cachely-server started with a config file (argv[1]) and its own
    port, pidfile, log and dir after it."""

    kind = "cachely-server"

    def __init__(self, conf, *args, workdir=None):
        self.port = cluster.free_port()
        self.dir = tempfile.mkdtemp(prefix="cachely-cfg-")
        self.log = os.path.join(self.dir, "server.log")
        self.conf = conf
        self.data = workdir or self.dir
        self.args = [str(a) for a in args]
        self.start()

    def argv(self):
        return [servers.CACHELY, self.conf, "--port", str(self.port), "--bind", LOCAL,
                "--pidfile", os.path.join(self.dir, "server.pid"), "--logfile", self.log,
                "--dir", self.data] + self.args

    def start(self):
        self.spawn(self.argv())

    def restart(self):
        """SIGTERM, then start again with the same port, files and dir;
        returns the exit status of the first run."""
        rc = servers.terminate(self.proc)
        self.start()
        return rc

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()


def file_values(path):
    """{name: value} of a config file written as CONFIG GET prints: the
    words after the name, quotes taken off."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, _, value = line.partition(" ")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            out[name] = value
    return out


def combined_conf(tmp):
    """Redis's test config, then our parameters, in one file in tmp."""
    path = os.path.join(tmp, "redis.conf")
    with open(path, "w") as out:
        for src in (DEFAULT_CONF, PARAMS_CONF):
            with open(src) as f:
                out.write(f.read())
            out.write("\n")
    return path


def config_get_all(r):
    return r.config_get("*")


def case_a_loads(c):
    tmp = tempfile.mkdtemp(prefix="cachely-cfg-conf-")
    try:
        n = ConfNode(combined_conf(tmp))
        c.nodes.append(n)
        r = client(n)
        check(r.ping(), "PING")
        want = file_values(PARAMS_CONF)
        for name, value in sorted(want.items()):
            got = r.config_get(name).get(name)
            check(got == value, "CONFIG GET %s: %r, the file set %r" % (name, got, value))
        # Redis's test config's own values, through the aliases and all
        check(r.config_get("replica-serve-stale-data")["replica-serve-stale-data"] == "yes",
              "slave-serve-stale-data")
        check(r.config_get("notify-keyspace-events")["notify-keyspace-events"] == "AKE",
              "notify-keyspace-events KEA")
        check(r.config_get("latency-monitor-threshold")["latency-monitor-threshold"] == "1",
              "latency-monitor-threshold")
        # always-show-logo yes: the banner with the lines Redis's own test
        # suite waits for (" PID: <pid>") and reads (Port)
        log = n.log_text()
        check(("\n    PID: %d\n" % n.proc.pid) in log and ("\n    Port: %d\n" % n.port) in log,
              "always-show-logo banner with PID and Port: %r" % log[:600])
        # one line at startup names what has no effect here
        line = [x for x in log.splitlines() if "with no effect in cachely-server" in x]
        check(len(line) == 1, "one startup line on options with no effect: %r" % line)
        for name in ("propagation-error-behavior", "rdbchecksum", "cluster-node-timeout"):
            check(line and name in line[0], "%s named in %r" % (name, line))
        for name in ("replica-ignore-maxmemory", "shutdown-on-sigterm", "notify-keyspace-events",
                     "always-show-logo", "rdbcompression"):
            check(line and (" " + name + ",") not in line[0] + ",",
                  "%s (it has an effect) not named in %r" % (name, line))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def case_b_rewrite_round_trip(c):
    tmp = tempfile.mkdtemp(prefix="cachely-cfg-conf-")
    try:
        conf = combined_conf(tmp)
        n = ConfNode(conf)
        c.nodes.append(n)
        r = client(n)
        r.config_set("shutdown-timeout", "30")
        r.config_set("proc-title-template", "{title}  {listen-addr}")
        r.config_set("oom-score-adj-values", "-5 0 5")
        r.config_set("shutdown-on-sigint", "nosave")
        r.config_set("slave-lazy-flush", "no")
        r.config_set("cluster-announce-hostname", "")
        before = config_get_all(r)
        check(r.execute_command("CONFIG", "REWRITE"), "CONFIG REWRITE")
        with open(conf) as f:
            text = f.read()
        check("# The directives of Redis 7.0.15's own test configuration" in text
              and "# with an effect here" in text, "comments kept")
        check('proc-title-template "{title}  {listen-addr}"' in text,
              "a template with spaces is one word: %r"
              % [x for x in text.splitlines() if x.startswith("proc-title")])
        check("\nunixsocket " not in text or '\nunixsocket ""' in text, "unixsocket stays empty")
        # start again from the rewritten file
        check(n.restart() == 0, "clean stop")
        after = config_get_all(client(n))
        diff = {k: (before.get(k), after.get(k)) for k in set(before) | set(after)
                if before.get(k) != after.get(k)}
        check(not diff, "CONFIG GET * after the restart differs: %r" % diff)
        # and a second rewrite changes nothing
        client(n).execute_command("CONFIG", "REWRITE")
        with open(conf) as f:
            again = f.read()
        check(again == text, "second rewrite changed the file")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def start_fails(lines):
    """(exit status, output) of a cachely-server started with these lines
    as its config file; the server is stopped if it did start."""
    tmp = tempfile.mkdtemp(prefix="cachely-cfg-bad-")
    try:
        conf = os.path.join(tmp, "bad.conf")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        port = cluster.free_port()
        p = subprocess.Popen([servers.CACHELY, conf, "--port", str(port), "--bind", LOCAL,
                              "--dir", tmp], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            out, _ = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            servers.terminate(p)
            out, _ = p.communicate()
        return p.returncode, out.decode(errors="replace")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def case_c_refused(c):
    for line, why in [
            ("cluster-enabled yes", "cluster mode is not supported by cachely-server, "
                                    "see the proxy"),
            ("io-threads 4", "no I/O threads"),
            ("socket-mark-id 1", "socket marks are not supported"),
            ("maxmemory-clients 101%", "percentage argument must be less or equal to 100"),
            ("activedefrag yes", "Active defragmentation cannot be enabled"),
            ("io-threads 129", "argument must be between 1 and 128 inclusive"),
            ("shutdown-on-sigterm save nosave", "SAVE and NOSAVE can't be used"),
            ("proc-title-template {nosuch}", "template format is invalid"),
            ("appenddirname a/b", "appenddirname can't be a path, just a dirname"),
            ("unixsocketperm 999", "argument couldn't be parsed as an octal number")]:
        rc, out = start_fails(["# an operator's file", "always-show-logo yes", line])
        check(rc == 1 and "FATAL CONFIG FILE ERROR" in out and "line 3" in out and why in out,
              "%r: status %r, output %r" % (line, rc, out[-400:]))
    # their defaults are accepted
    tmp = tempfile.mkdtemp(prefix="cachely-cfg-ok-")
    try:
        conf = os.path.join(tmp, "ok.conf")
        with open(conf, "w") as f:
            f.write('cluster-enabled no\nio-threads 1\nunixsocket ""\nmaxmemory-clients 0\n'
                    'activedefrag no\nsocket-mark-id 0\nbind-source-addr ""\n')
        n = ConfNode(conf)
        c.nodes.append(n)
        check(client(n).ping(), "defaults accepted")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def snapshot_files(d):
    return [f for f in os.listdir(d) if f.startswith("dump")]


def signal_and_wait(n, sig):
    n.proc.send_signal(sig)
    try:
        return n.proc.wait(10)
    except subprocess.TimeoutExpired:
        return None


def case_d_shutdown_on_signals(c):
    # default: SIGTERM writes the final snapshot when save points are set
    for extra, sig, want_file in [
            ((), signal.SIGTERM, True),
            (("--shutdown-on-sigterm", "nosave"), signal.SIGTERM, False),
            (("--shutdown-on-sigint", "nosave"), signal.SIGINT, False),
            (("--shutdown-on-sigint", "nosave"), signal.SIGTERM, True)]:
        n = c.node("--save", "3600 1", *extra)
        client(n).set("k", "v")
        rc = signal_and_wait(n, sig)
        files = snapshot_files(n.dir)
        check(rc == 0 and bool(files) == want_file,
              "%r then %s: status %r, snapshot files %r" % (extra, sig.name, rc, files))
    # "save" writes one even with no save points; set at run time
    n = c.node("--save", "")
    r = client(n)
    r.set("k", "v")
    r.config_set("shutdown-on-sigint", "save")
    rc = signal_and_wait(n, signal.SIGINT)
    check(rc == 0 and snapshot_files(n.dir), "SIGINT with save: %r %r"
          % (rc, snapshot_files(n.dir)))
    # a final snapshot that fails keeps the server up, unless force
    for flags, survives in [("default", True), ("force", False)]:
        n = c.node("--save", "3600 1", "--shutdown-on-sigterm", flags)
        r = client(n)
        r.set("k", "v")
        # the snapshot cannot replace a directory of its name (root or not)
        blocker = os.path.join(n.dir, "dump.cachely")
        os.mkdir(blocker)
        open(os.path.join(blocker, "keep"), "w").close()
        try:
            n.proc.send_signal(signal.SIGTERM)
            if survives:
                time.sleep(0.5)
                check(n.proc.poll() is None and r.ping(),
                      "shutdown-on-sigterm default: a failed save keeps it running")
                check("Errors trying to shut down the server" in n_log(n),
                      "the refusal is logged")
            else:
                try:
                    rc = n.proc.wait(10)
                except subprocess.TimeoutExpired:
                    rc = None
                check(rc == 0, "shutdown-on-sigterm force: exits although the save "
                      "failed (%r)" % rc)
        finally:
            shutil.rmtree(blocker, ignore_errors=True)


def n_log(n):
    with open(n.log, errors="replace") as f:
        return f.read()


def case_e_replica_ignore_maxmemory(c):
    m = c.node()
    rep = c.node("--replicaof", "%s %d" % (LOCAL, m.port))
    rm, rr = client(m), client(rep)
    wait_for(lambda: "master_link_status:up" in rr.info("replication"), 10, "replica link up")
    used = int(cluster.info(rr, "memory")["used_memory"])
    limit = used + 512 * 1024
    rr.config_set("maxmemory-policy", "allkeys-random")
    rr.config_set("maxmemory", str(limit))
    value = "x" * 1000
    # default (yes): the replica keeps every key its master has
    p = rm.pipeline(transaction=False)
    for i in range(1500):
        p.set("a:%d" % i, value)
    p.execute()
    rm.execute_command("WAIT", 1, 5000)
    wait_for(lambda: rr.dbsize() == rm.dbsize(), 10, "replica has the master's keys")
    check(rr.dbsize() == 1500, "replica-ignore-maxmemory yes: %d keys" % rr.dbsize())
    # no: the replica evicts by its own maxmemory, and still applies the
    # stream (the master's writes are not refused)
    rr.config_set("slave-ignore-maxmemory", "no")
    p = rm.pipeline(transaction=False)
    for i in range(1500):
        p.set("b:%d" % i, value)
    p.execute()
    rm.execute_command("WAIT", 1, 5000)
    wait_for(lambda: int(cluster.info(rr, "stats")["evicted_keys"]) > 0, 10,
             "the replica evicts")
    check(rr.dbsize() < rm.dbsize(), "replica-ignore-maxmemory no: %d keys on the replica, "
          "%d on the master" % (rr.dbsize(), rm.dbsize()))
    rm.set("last", "1")
    wait_for(lambda: rr.get("last") == "1", 10, "the stream still applies")
    check("master_link_status:up" in rr.info("replication"), "link still up")
    # over its limit with noeviction, the replica still applies its master's
    # writes: only its own clients' writes get -OOM
    rr.config_set("maxmemory-policy", "noeviction")
    p = rm.pipeline(transaction=False)
    for i in range(1500):
        p.set("c:%d" % i, value)
    p.execute()
    rm.set("last", "2")
    wait_for(lambda: rr.get("last") == "2", 10, "the stream applies over the limit")
    check(rr.exists("c:1499") == 1, "the master's writes applied")
    check(int(cluster.info(rr, "memory")["used_memory"]) > limit, "the replica is over its limit")


def case_f_tracking_table_max_keys(c):
    n = c.node()
    a, b = cluster.Raw(n.port), cluster.Raw(n.port)
    aid = a.call("CLIENT", "ID")
    check(a.call("SUBSCRIBE", "__redis__:invalidate")[0] == b"subscribe", "SUBSCRIBE")
    check(b.call("CONFIG", "SET", "tracking-table-max-keys", "2") == "OK", "CONFIG SET")
    check(b.call("CLIENT", "TRACKING", "on", "REDIRECT", str(aid)) == "OK", "TRACKING")
    for k in ("k1", "k2", "k3"):
        b.call("GET", k)
    # three keys read, limit two: before the next command one key picked at
    # random is invalidated, as in Redis
    check(b.call("PING") == "PONG", "PING")
    msg = a.reply()
    check(msg[:2] == [b"message", b"__redis__:invalidate"] and len(msg[2]) == 1
          and msg[2][0] in (b"k1", b"k2", b"k3"), "one invalidation: %r" % msg)
    keys = int(cluster.info(client(n), "stats").get("tracking_total_keys", -1))
    check(keys == 2, "tracking_total_keys %d" % keys)
    # 0: no limit
    b.call("CONFIG", "SET", "tracking-table-max-keys", "0")
    for i in range(10):
        b.call("GET", "m%d" % i)
    b.call("PING")
    keys = int(cluster.info(client(n), "stats").get("tracking_total_keys", -1))
    check(keys == 12, "no limit: tracking_total_keys %d" % keys)
    a.close()
    b.close()


def case_g_unixsocket(c):
    d = tempfile.mkdtemp(prefix="cachely-cfg-unix-")
    path = os.path.join(d, "cachely.sock")
    try:
        with open(path, "w") as f:
            f.write("a stale file where the socket goes\n")
        n = c.node("--unixsocket", path, "--unixsocketperm", "770")
        check(stat.S_ISSOCK(os.stat(path).st_mode), "a socket replaced the stale file")
        check(stat.S_IMODE(os.stat(path).st_mode) == 0o770,
              "mode %o" % stat.S_IMODE(os.stat(path).st_mode))
        u = redis.Redis(unix_socket_path=path, decode_responses=True, socket_timeout=10)
        check(u.set("k", "v") and client(n).get("k") == "v", "SET over the socket")
        info = u.execute_command("CLIENT", "INFO")
        check(("addr=%s:0 laddr=%s:0 " % (path, path)) in info and " flags=U " in info,
              "CLIENT INFO as Redis shows a unix client: %r" % info)
        check(u.config_get("unixsocket") == {"unixsocket": path}
              and u.config_get("unixsocketperm") == {"unixsocketperm": "770"}, "CONFIG GET")
        # local, as the loopback is: enable-debug-command local lets it in
        check(u.execute_command("DEBUG", "SLEEP", "0") == "OK", "DEBUG from the socket")
        m = cluster.Raw(n.port)
        m.call("MONITOR")
        u.get("k")
        line = m.reply()
        check(("[0 unix:%s]" % path) in line, "MONITOR shows unix:<path>: %r" % line)
        m.close()
        u.close()
        check(n.stop() == 0, "clean stop")
        c.nodes.remove(n)
        check(not os.path.exists(path), "the socket file is removed at exit")
    finally:
        shutil.rmtree(d, ignore_errors=True)


MISCONF = ("MISCONF Redis is configured to save RDB snapshots, but it's currently unable "
           "to persist to disk. Commands that may modify the data set are disabled, because "
           "this instance is configured to report errors during writes if RDB snapshotting "
           "fails (stop-writes-on-bgsave-error option). Please check the Redis logs for "
           "details about the RDB error.")


def case_h_stop_writes_on_bgsave_error(c):
    n = c.node("--save", "3600 1")
    m = cluster.Raw(n.port)
    check(m.call("SET", "a", "1") == "OK", "SET before")
    # the snapshot cannot replace a directory of its name (root or not)
    blocker = os.path.join(n.dir, "dump.cachely")
    os.mkdir(blocker)
    open(os.path.join(blocker, "keep"), "w").close()
    try:
        m.call("BGSAVE")
        wait_for(lambda: "rdb_last_bgsave_status:err" in client(n).info("persistence"), 10,
                 "the BGSAVE fails")
        # as redis-server 7.0 answers (checked by hand against it)
        check(m.call("SET", "a", "2") == MISCONF, "SET gets -MISCONF")
        check(m.call("PING") == MISCONF, "PING gets -MISCONF")
        check(m.call("GET", "a") == b"1", "reads go on")
        m.call("MULTI")
        check(m.call("SET", "a", "3") == MISCONF, "queued write refused")
        check(m.call("EXEC").startswith("EXECABORT"), "EXECABORT")
        check(m.call("CONFIG", "SET", "stop-writes-on-bgsave-error", "no") == "OK", "off")
        check(m.call("SET", "a", "4") == "OK", "no: writes go on")
        m.call("CONFIG", "SET", "stop-writes-on-bgsave-error", "yes")
        check(m.call("SET", "a", "5") == MISCONF, "yes again")
    finally:
        shutil.rmtree(blocker, ignore_errors=True)
    m.call("BGSAVE")
    wait_for(lambda: "rdb_last_bgsave_status:ok" in client(n).info("persistence"), 10,
             "a BGSAVE succeeds")
    check(m.call("SET", "a", "6") == "OK", "writes again after a good BGSAVE")
    m.close()


CASES = [
    ("a", "Redis 7.0.15's default.conf and every added parameter load", case_a_loads),
    ("b", "CONFIG REWRITE round trip of the Redis 7.0 parameters", case_b_rewrite_round_trip),
    ("c", "parameters Cachely cannot honour stop the start, with why", case_c_refused),
    ("d", "shutdown-on-sigterm / shutdown-on-sigint", case_d_shutdown_on_signals),
    ("e", "replica-ignore-maxmemory", case_e_replica_ignore_maxmemory),
    ("f", "tracking-table-max-keys", case_f_tracking_table_max_keys),
    ("g", "unixsocket and unixsocketperm", case_g_unixsocket),
    ("h", "stop-writes-on-bgsave-error", case_h_stop_writes_on_bgsave_error),
]


def main():
    return cluster.run_cases(CASES, "", "CACHELY_CONFIG_COMPAT_CASES",
                             lambda fn: run_in(Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
