"""Every command with odd arguments, Cachely against redis-server 7.0.

The compat scripts hold the cases someone thought of; this suite holds the
ones nobody did.  Every command both servers list (COMMAND LIST), and the
subcommands in SUBCOMMANDS, is sent with each argument shape of SHAPES (no
argument, a key of each type or a missing key followed by words, numbers,
signs, inf, nan, empty strings...) on a dataset rebuilt before each call,
and the raw replies are compared.  It runs four ways: plainly, queued in
MULTI ... EXEC, from a script (redis.pcall) and after HELLO 3.  The order
in which a command checks its arguments, the key and its type is what this
finds (XDEL, EVALSHA, XINFO STREAM and SSCAN answered a different error than
Redis before).

Commands that change the connection's state, block, stop or reconfigure a
server are left out (SKIP); replies that are random or in hash order are
compared as sorted elements or by type only (UNORDERED, TYPE_ONLY).  Run
with /usr/bin/python3; prints "N passed, M failed".
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from servers import Results, Server  # noqa: E402
from test_compat import Conn, encode  # noqa: E402

# Connection state, blocking, persistence, replication, shutdown, and the
# containers (their subcommands are in SUBCOMMANDS).
SKIP = {
    "shutdown", "monitor", "subscribe", "psubscribe", "ssubscribe", "unsubscribe",
    "punsubscribe", "sunsubscribe", "sync", "psync", "replicaof", "slaveof", "failover",
    "quit", "reset", "debug", "wait", "blpop", "brpop", "brpoplpush", "blmove", "blmpop",
    "bzpopmin", "bzpopmax", "bzmpop", "xread", "xreadgroup", "client", "hello", "auth",
    "select", "multi", "exec", "discard", "watch", "unwatch", "acl", "config", "save",
    "bgsave", "bgrewriteaof", "flushall", "flushdb", "swapdb", "script", "function", "module",
    "latency", "memory", "cluster", "readonly", "readwrite", "asking", "migrate", "lolwut",
    "object", "command", "info", "slowlog", "pubsub", "time", "lastsave", "role", "replconf",
    "xinfo", "xgroup", "fcall", "fcall_ro", "eval", "eval_ro", "pfselftest", "pfdebug",
}
# Subcommands that only read, or change only the keys of the dataset.
SUBCOMMANDS = [
    "object encoding", "object freq", "object idletime", "object refcount", "xinfo stream",
    "xinfo groups", "xinfo consumers", "xgroup create", "xgroup createconsumer",
    "xgroup delconsumer", "xgroup destroy", "xgroup setid", "config get", "client getname",
    "client id", "client getredir", "client trackinginfo", "acl whoami", "acl cat",
    "acl getuser", "acl dryrun", "script exists", "function list", "function stats",
    "pubsub channels", "pubsub numsub", "pubsub numpat", "pubsub shardchannels",
    "pubsub shardnumsub", "latency history", "latency latest", "command count",
    "command getkeys", "command getkeysandflags", "slowlog len",
]
# Random picks and hash-order sets: compared by reply type only.
TYPE_ONLY = {"srandmember", "spop", "zrandmember", "hrandfield", "randomkey", "dump",
             "client id", "acl genpass", "memory usage", "object freq",
             "object idletime",
             # a slow machine (the sanitizer build) logs slow commands
             "slowlog len",
             # Cachely has more commands (README: hash-field expiry, ...)
             "command count"}
# A set's hash table scanned from an arbitrary cursor: which buckets hold
# what depends on the hash function, so only the reply's kind is compared.
KIND_ONLY = {"sscan"}
# Whole sets in hash order: compared as sorted elements.
UNORDERED = {"smembers", "sinter", "sunion", "sdiff", "sort_ro", "sort"}

TAILS = [[], ["x"], ["x", "y"], ["1", "2", "3"], ["0", "-1"], ["-1"], ["inf"], ["nan"],
         ["1.5"], ["99999999999999999999"], ["", ""], ["0", "0", "0", "0"],
         ["-5", "x", "y"], ["1", "x"], ["2", "a", "b", "c"]]
KEYS = ["str", "lst", "hsh", "st", "zs", "xs", "nokey"]
SHAPES = [[]] + [[k] + t for k in KEYS for t in TAILS]
# Queued or scripted, the order of checks is the same code: fewer shapes.
SHORT_SHAPES = [[]] + [[k] + t for k in KEYS for t in TAILS[:6]]
DATASET = [["FLUSHALL"], ["SET", "str", "v"], ["RPUSH", "lst", "1", "2"],
           ["HSET", "hsh", "f", "1", "g", "x"], ["SADD", "st", "1", "a"],
           ["ZADD", "zs", "1", "a", "2", "b"], ["XADD", "xs", "1-1", "f", "v"]]


def b(args):
    return [a.encode() if isinstance(a, str) else a for a in args]


DATASET_B = [b(x) for x in DATASET]


def shape_of(tree):
    """A reply reduced to its types (random picks, memory figures)."""
    t, v = tree
    if isinstance(v, list):
        return (t, [shape_of(x) for x in v])
    return t


def normal(name, tree, in_exec=False):
    """What is compared of a reply: the whole tree, by type only for random
    or machine-dependent replies, sorted for sets in hash order.  Inside
    EXEC's array the command's own reply is normalised the same way."""
    t, v = tree
    if in_exec and t == b"*" and isinstance(v, list) and len(v) == 1:
        return (t, [normal(name, v[0])])
    if name in KIND_ONLY:
        return t
    if name in TYPE_ONLY:
        return shape_of(tree)
    if name in UNORDERED and t in (b"*", b"~") and isinstance(v, list):
        return (t, sorted(repr(x) for x in v))
    return tree


def wrap(mode, argv):
    """The command lines to send, and which reply is the command's."""
    if mode == "multi":
        return [[b"MULTI"], argv, [b"EXEC"]], 2
    if mode == "script":
        return [[b"EVAL", b"return redis.pcall(unpack(ARGV))", b"0"] + argv], 0
    return [argv], 0


def sweep(res, mode, names, cach, red):
    conns = [Conn(cach.port), Conn(red.port)]
    if mode == "resp3":
        for c in conns:
            c.call([b"HELLO", b"3"])
    differ = []
    for name in names:
        for shape in SHAPES if mode in ("plain", "resp3") else SHORT_SHAPES:
            argv = b(name.split() + shape)
            lines, which = wrap(mode, argv)
            got = []
            for c in conns:
                # One write per round: the dataset, then the command.
                c.s.sendall(b"".join(encode(x) for x in DATASET_B + lines))
                for _ in DATASET_B:
                    c.read()
                replies = [c.read() for _ in lines]
                got.append(([normal(name, tree, mode == "multi") for _, tree in replies],
                            replies[which][0][:200]))
            if got[0][0] != got[1][0]:
                differ.append("%s %r: %r | redis %r" % (name, shape, got[0][1], got[1][1]))
    res.check("%s: every command's replies equal redis-server's" % mode, not differ,
              "%d differ, first: %s" % (len(differ), "; ".join(differ[:3])))
    if os.environ.get("SWEEP_VERBOSE"):
        print("\n".join(differ))


def main():
    res = Results()
    cach = Server("cachely")
    red = Server("redis")
    try:
        c, r = Conn(cach.port), Conn(red.port)
        ours = {x[1].decode() for x in c.call([b"COMMAND", b"LIST"])[1][1]}
        theirs = {x[1].decode() for x in r.call([b"COMMAND", b"LIST"])[1][1]}
        names = sorted(n for n in ours & theirs if n not in SKIP) + SUBCOMMANDS
        res.check("commands swept", len(names) > 200, "%d" % len(names))
        for mode in ("plain", "multi", "script", "resp3"):
            sweep(res, mode, names, cach, red)
    finally:
        if res.failed:
            cach.dump_log()
        cach.stop()
        red.stop()
    return res.finish()


if __name__ == "__main__":
    sys.exit(main())
