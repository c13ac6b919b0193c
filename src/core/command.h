/* The command table: every command either binary knows, with its arity
 * ("negative means at least"), flags, key positions, group and a one-line
 * summary.  It holds no handlers: the node binds handlers by command id and
 * the proxy routes by flags, so both read the same facts.
 *
 * Container commands (CONFIG, CLIENT, ...) have subcommand rows whose parent
 * is the container; their full name is "parent|sub" as in Redis 7. */
#ifndef CACHELY_CORE_COMMAND_H
#define CACHELY_CORE_COMMAND_H

#include "core/cmdtab_bits.h"
#include "core/cmdtab_hash.h"
#include "core/cmdtab_list.h"
#include "core/cmdtab_set.h"
#include "core/cmdtab_stream.h"
#include "core/cmdtab_zset.h"
#include "core/cmdtab_script.h"

#include <stddef.h>
#include <stdint.h>

/* The Redis release whose commands, replies and errors this table and its
 * handlers reproduce (tests/compat compares against it byte for byte).
 * HELLO's version and INFO's redis_version say it, on the node and the
 * proxy alike: clients and tools gate features on it (">= 7" for RESP3,
 * COMMAND DOCS ...).  Cachely's own version is cachely_version. */
#define CACHELY_REDIS_VERSION "7.0.15"

/* Flag names as COMMAND INFO prints them, in bit order. */
#define CMD_FLAG_LIST(X)                                                    \
    X(WRITE, "write")                                                       \
    X(READONLY, "readonly")                                                 \
    X(DENYOOM, "denyoom")                                                   \
    X(ADMIN, "admin")                                                       \
    X(PUBSUB, "pubsub")                                                     \
    X(NOSCRIPT, "noscript")                                                 \
    X(BLOCKING, "blocking")                                                 \
    X(LOADING, "loading")                                                   \
    X(STALE, "stale")                                                       \
    X(SKIP_MONITOR, "skip_monitor")                                         \
    X(SKIP_SLOWLOG, "skip_slowlog")                                         \
    X(ASKING, "asking")                                                     \
    X(FAST, "fast")                                                         \
    X(NO_AUTH, "no_auth")                                                   \
    X(MAY_REPLICATE, "may_replicate")                                       \
    X(NO_MANDATORY_KEYS, "no_mandatory_keys")                               \
    X(NO_ASYNC_LOADING, "no_async_loading")                                 \
    X(NO_MULTI, "no_multi")                                                 \
    X(MOVABLEKEYS, "movablekeys")                                           \
    X(ALLOW_BUSY, "allow_busy")

enum cmd_flag_bit {
#define CMD_FLAG_BIT(sym, name) CMD_FLAG_BIT_##sym,
    CMD_FLAG_LIST(CMD_FLAG_BIT)
#undef CMD_FLAG_BIT
    CMD_FLAG_BIT__COUNT
};

#define CMD_FLAG_VALUE(sym, name) CMD_##sym = 1u << CMD_FLAG_BIT_##sym,
enum cmd_flag { CMD_FLAG_LIST(CMD_FLAG_VALUE) };
#undef CMD_FLAG_VALUE

/* Flags COMMAND INFO does not show: Redis 7.0 hides may_replicate. */
#define CMD_FLAGS_HIDDEN CMD_MAY_REPLICATE

/* Short spellings for the table below. */
#define XW CMD_WRITE
#define XR CMD_READONLY
#define XM CMD_DENYOOM
#define XA CMD_ADMIN
#define XN CMD_NOSCRIPT
#define XL CMD_LOADING
#define XS CMD_STALE
#define XF CMD_FAST
#define XU CMD_NO_AUTH
#define XB CMD_ALLOW_BUSY
#define XO CMD_NO_MULTI
#define XP CMD_PUBSUB

/* X(id, parent id or NONE, name, arity, flags, first key, last key, step,
 *   group, since, summary, node handler)
 * "node handler" names the node function that runs the command, without its
 * cmd_ prefix (getrange: cmd_getrange in node/cmd_*.c), or none when the node
 * has no handler (a container such as CONFIG, whose subcommands have them,
 * or a row only the proxy answers, such as SENTINEL).  The node declares and
 * binds its handlers from this column (node/handlers.h, node/handlers.c), so
 * a new command is its row here, its handler and its type code; the proxy
 * ignores the column. */
#define CMD_LIST(X)                                                                        \
    /* strings */                                                                         \
    X(GET, NONE, "get", 2, XR | XF, 1, 1, 1, "string", "1.0.0", "Return the value of a key", get) \
    X(SET, NONE, "set", -3, XW | XM, 1, 1, 1, "string", "1.0.0", "Set a key's value, with optional expiry and conditions", set) \
    X(SETNX, NONE, "setnx", 3, XW | XM | XF, 1, 1, 1, "string", "1.0.0", "Set a key only when it is absent", setnx) \
    X(SETEX, NONE, "setex", 4, XW | XM, 1, 1, 1, "string", "2.0.0", "Set a key with an expiry in seconds", setex) \
    X(PSETEX, NONE, "psetex", 4, XW | XM, 1, 1, 1, "string", "2.6.0", "Set a key with an expiry in milliseconds", psetex) \
    X(GETSET, NONE, "getset", 3, XW | XM | XF, 1, 1, 1, "string", "1.0.0", "Set a key and return its previous value", getset) \
    X(GETDEL, NONE, "getdel", 2, XW | XF, 1, 1, 1, "string", "6.2.0", "Return a key's value and delete the key", getdel) \
    X(GETEX, NONE, "getex", -2, XW | XF, 1, 1, 1, "string", "6.2.0", "Return a key's value and change its expiry", getex) \
    X(MGET, NONE, "mget", -2, XR | XF, 1, -1, 1, "string", "1.0.0", "Return the values of several keys", mget) \
    X(MSET, NONE, "mset", -3, XW | XM, 1, -1, 2, "string", "1.0.1", "Set several keys", mset) \
    X(MSETNX, NONE, "msetnx", -3, XW | XM, 1, -1, 2, "string", "1.0.1", "Set several keys only when none exists", msetnx) \
    X(APPEND, NONE, "append", 3, XW | XM | XF, 1, 1, 1, "string", "2.0.0", "Append to a key's value", append) \
    X(STRLEN, NONE, "strlen", 2, XR | XF, 1, 1, 1, "string", "2.2.0", "Return the length of a key's value", strlen) \
    X(GETRANGE, NONE, "getrange", 4, XR, 1, 1, 1, "string", "2.4.0", "Return a substring of a key's value", getrange) \
    X(SUBSTR, NONE, "substr", 4, XR, 1, 1, 1, "string", "1.0.0", "Return a substring of a key's value (old name of GETRANGE)", getrange) \
    X(SETRANGE, NONE, "setrange", 4, XW | XM, 1, 1, 1, "string", "2.2.0", "Overwrite part of a key's value at an offset", setrange) \
    X(INCR, NONE, "incr", 2, XW | XM | XF, 1, 1, 1, "string", "1.0.0", "Add one to a key's integer value", incr) \
    X(DECR, NONE, "decr", 2, XW | XM | XF, 1, 1, 1, "string", "1.0.0", "Subtract one from a key's integer value", decr) \
    X(INCRBY, NONE, "incrby", 3, XW | XM | XF, 1, 1, 1, "string", "1.0.0", "Add an integer to a key's value", incrby) \
    X(DECRBY, NONE, "decrby", 3, XW | XM | XF, 1, 1, 1, "string", "1.0.0", "Subtract an integer from a key's value", decrby) \
    X(INCRBYFLOAT, NONE, "incrbyfloat", 3, XW | XM | XF, 1, 1, 1, "string", "2.6.0", "Add a floating-point number to a key's value", incrbyfloat) \
    CMD_LIST_LIST(X)                                                                      \
    CMD_LIST_BITS(X)                                                                      \
    CMD_LIST_HASH(X)                                                                      \
    CMD_LIST_SET(X)                                                                       \
    CMD_LIST_ZSET(X)                                                                      \
    CMD_LIST_SCRIPT(X)                                                                    \
    CMD_LIST_STREAM(X)                                                                    \
    /* keyspace */                                                                        \
    X(DEL, NONE, "del", -2, XW, 1, -1, 1, "generic", "1.0.0", "Delete keys", del) \
    X(UNLINK, NONE, "unlink", -2, XW | XF, 1, -1, 1, "generic", "4.0.0", "Delete keys (memory may be reclaimed later)", unlink) \
    X(EXISTS, NONE, "exists", -2, XR | XF, 1, -1, 1, "generic", "1.0.0", "Count how many of the keys exist", exists) \
    X(TOUCH, NONE, "touch", -2, XR | XF, 1, -1, 1, "generic", "3.2.1", "Update the access time of keys", touch) \
    X(TYPE, NONE, "type", 2, XR | XF, 1, 1, 1, "generic", "1.0.0", "Return the type of a key's value", type) \
    X(RENAME, NONE, "rename", 3, XW, 1, 2, 1, "generic", "1.0.0", "Rename a key, replacing the target", rename) \
    X(RENAMENX, NONE, "renamenx", 3, XW | XF, 1, 2, 1, "generic", "1.0.0", "Rename a key only when the target is absent", renamenx) \
    X(EXPIRE, NONE, "expire", -3, XW | XF, 1, 1, 1, "generic", "1.0.0", "Set a key's time to live in seconds", expire) \
    X(PEXPIRE, NONE, "pexpire", -3, XW | XF, 1, 1, 1, "generic", "2.6.0", "Set a key's time to live in milliseconds", pexpire) \
    X(EXPIREAT, NONE, "expireat", -3, XW | XF, 1, 1, 1, "generic", "1.2.0", "Set a key's expiry as a Unix time in seconds", expireat) \
    X(PEXPIREAT, NONE, "pexpireat", -3, XW | XF, 1, 1, 1, "generic", "2.6.0", "Set a key's expiry as a Unix time in milliseconds", pexpireat) \
    X(TTL, NONE, "ttl", 2, XR | XF, 1, 1, 1, "generic", "1.0.0", "Return a key's time to live in seconds", ttl) \
    X(PTTL, NONE, "pttl", 2, XR | XF, 1, 1, 1, "generic", "2.6.0", "Return a key's time to live in milliseconds", pttl) \
    X(EXPIRETIME, NONE, "expiretime", 2, XR | XF, 1, 1, 1, "generic", "7.0.0", "Return a key's expiry as a Unix time in seconds", expiretime) \
    X(PEXPIRETIME, NONE, "pexpiretime", 2, XR | XF, 1, 1, 1, "generic", "7.0.0", "Return a key's expiry as a Unix time in milliseconds", pexpiretime) \
    X(PERSIST, NONE, "persist", 2, XW | XF, 1, 1, 1, "generic", "2.2.0", "Remove a key's expiry", persist) \
    X(KEYS, NONE, "keys", 2, XR, 0, 0, 0, "generic", "1.0.0", "Return the keys matching a pattern", keys) \
    X(SCAN, NONE, "scan", -2, XR, 0, 0, 0, "generic", "2.8.0", "Iterate over the keyspace with a cursor", scan) \
    X(RANDOMKEY, NONE, "randomkey", 1, XR, 0, 0, 0, "generic", "1.0.0", "Return a random key", randomkey) \
    X(DBSIZE, NONE, "dbsize", 1, XR | XF, 0, 0, 0, "server", "1.0.0", "Return the number of keys in the database", dbsize) \
    X(FLUSHDB, NONE, "flushdb", -1, XW, 0, 0, 0, "server", "1.0.0", "Remove every key of the current database", flushdb) \
    X(FLUSHALL, NONE, "flushall", -1, XW, 0, 0, 0, "server", "1.0.0", "Remove every key of every database", flushall) \
    X(SELECT, NONE, "select", 2, XL | XS | XF, 0, 0, 0, "connection", "1.0.0", "Change the connection's database", select) \
    X(SWAPDB, NONE, "swapdb", 3, XW | XF, 0, 0, 0, "server", "4.0.0", "Swap two databases", swapdb) \
    X(MOVE, NONE, "move", 3, XW | XF, 1, 1, 1, "generic", "1.0.0", "Move a key to another database", move) \
    X(COPY, NONE, "copy", -3, XW | XM, 1, 2, 1, "generic", "6.2.0", "Copy a key's value to another key", copy) \
    X(DUMP, NONE, "dump", 2, XR, 1, 1, 1, "generic", "2.6.0", "Return a serialized form of a key's value (Redis 7.0's format)", dump) \
    X(RESTORE, NONE, "restore", -4, XW | XM, 1, 1, 1, "generic", "2.6.0", "Create a key from a DUMP payload", restore) \
    X(MIGRATE, NONE, "migrate", -6, XW | CMD_MOVABLEKEYS, 3, 3, 1, "generic", "2.6.0", "Move keys to another instance: RESTORE there, DEL here", migrate) \
    X(RESTORE_ASKING, NONE, "restore-asking", -4, XW | XM | CMD_ASKING, 1, 1, 1, "server", "3.0.0", "RESTORE as a cluster migration sends it", restore) \
    X(OBJECT, NONE, "object", -2, 0, 0, 0, 0, "generic", "2.2.3", "Inspect a key's internal object", none) \
    X(OBJECT_ENCODING, OBJECT, "encoding", 3, XR, 2, 2, 1, "generic", "2.2.3", "Return a key's internal encoding", object_encoding) \
    X(OBJECT_FREQ, OBJECT, "freq", 3, XR, 2, 2, 1, "generic", "4.0.0", "Return a key's LFU access counter", object_freq) \
    X(OBJECT_IDLETIME, OBJECT, "idletime", 3, XR, 2, 2, 1, "generic", "2.2.3", "Return seconds since a key was last accessed", object_idletime) \
    X(OBJECT_REFCOUNT, OBJECT, "refcount", 3, XR, 2, 2, 1, "generic", "2.2.3", "Return a key's reference count", object_refcount) \
    X(OBJECT_HELP, OBJECT, "help", 2, XL | XS, 0, 0, 0, "generic", "6.2.0", "Describe the OBJECT subcommands", object_help) \
    /* connection */                                                                      \
    X(PING, NONE, "ping", -1, XF, 0, 0, 0, "connection", "1.0.0", "Check the connection", ping) \
    X(ECHO, NONE, "echo", 2, XL | XS | XF, 0, 0, 0, "connection", "1.0.0", "Return the argument", echo) \
    X(QUIT, NONE, "quit", -1, XN | XL | XS | XF | XU | XB, 0, 0, 0, "connection", "1.0.0", "Close the connection", quit) \
    X(RESET, NONE, "reset", 1, XN | XL | XS | XF | XU | XB, 0, 0, 0, "connection", "6.2.0", "Reset the connection's state", reset) \
    X(AUTH, NONE, "auth", -2, XN | XL | XS | XF | XU | XB, 0, 0, 0, "connection", "1.0.0", "Authenticate the connection", auth) \
    X(HELLO, NONE, "hello", -1, XN | XL | XS | XF | XU | XB, 0, 0, 0, "connection", "6.0.0", "Handshake: choose the protocol, authenticate, name the connection", hello) \
    X(CLIENT, NONE, "client", -2, 0, 0, 0, 0, "connection", "2.4.0", "Inspect and manage connections", none) \
    X(CLIENT_ID, CLIENT, "id", 2, XN | XL | XS, 0, 0, 0, "connection", "5.0.0", "Return the connection's id", client_id) \
    X(CLIENT_SETNAME, CLIENT, "setname", 3, XN | XL | XS, 0, 0, 0, "connection", "2.6.9", "Name the connection", client_setname) \
    X(CLIENT_GETNAME, CLIENT, "getname", 2, XN | XL | XS, 0, 0, 0, "connection", "2.6.9", "Return the connection's name", client_getname) \
    X(CLIENT_LIST, CLIENT, "list", -2, XA | XN | XL | XS, 0, 0, 0, "connection", "2.4.0", "List the connections", client_list) \
    X(CLIENT_INFO, CLIENT, "info", 2, XN | XL | XS, 0, 0, 0, "connection", "6.2.0", "Describe this connection", client_info) \
    X(CLIENT_KILL, CLIENT, "kill", -3, XA | XN | XL | XS, 0, 0, 0, "connection", "2.4.0", "Close connections", client_kill) \
    X(CLIENT_SETINFO, CLIENT, "setinfo", 4, XN | XL | XS, 0, 0, 0, "connection", "7.2.0", "Record the client library's name or version", client_setinfo) \
    X(CLIENT_NO_EVICT, CLIENT, "no-evict", 3, XA | XN | XL | XS, 0, 0, 0, "connection", "7.0.0", "Exempt the connection from client eviction", client_no_evict) \
    X(CLIENT_TRACKING, CLIENT, "tracking", -3, XN | XL | XS, 0, 0, 0, "connection", "6.0.0", "Turn client-side caching invalidations on or off", client_tracking) \
    X(CLIENT_CACHING, CLIENT, "caching", 3, XN | XL | XS, 0, 0, 0, "connection", "6.0.0", "Say whether the next command's keys are tracked (OPTIN/OPTOUT)", client_caching) \
    X(CLIENT_GETREDIR, CLIENT, "getredir", 2, XN | XL | XS, 0, 0, 0, "connection", "6.0.0", "Return the client id invalidations are redirected to", client_getredir) \
    X(CLIENT_TRACKINGINFO, CLIENT, "trackinginfo", 2, XN | XL | XS, 0, 0, 0, "connection", "6.2.0", "Describe the connection's client-side caching state", client_trackinginfo) \
    X(CLIENT_REPLY, CLIENT, "reply", 3, XN | XL | XS, 0, 0, 0, "connection", "3.2.0", "Turn the connection's replies on, off, or off for the next command", client_reply) \
    X(CLIENT_NO_TOUCH, CLIENT, "no-touch", 3, XN | XL | XS, 0, 0, 0, "connection", "7.2.0", "Let the connection's reads leave the keys' access time alone", client_no_touch) \
    X(CLIENT_PAUSE, CLIENT, "pause", -3, XA | XN | XL | XS, 0, 0, 0, "connection", "3.0.0", "Hold normal clients' commands (all, or only writes) for a time", client_pause) \
    X(CLIENT_UNPAUSE, CLIENT, "unpause", 2, XA | XN | XL | XS, 0, 0, 0, "connection", "6.2.0", "End a client pause: held commands run in order", client_unpause) \
    X(CLIENT_UNBLOCK, CLIENT, "unblock", -3, XA | XN | XL | XS, 0, 0, 0, "connection", "5.0.0", "Release a client blocked on keys (with the timeout reply or an error)", client_unblock) \
    X(CLIENT_HELP, CLIENT, "help", 2, XL | XS, 0, 0, 0, "connection", "5.0.0", "Describe the CLIENT subcommands", client_help) \
    /* Cachely's own: blocking commands multiplexed on one connection (the proxy's) */ \
    X(CACHELY_BLOCK, NONE, "cachely.block", -3, XN | XO | XL | XS, 0, 0, 0, "connection", "7.0.0", "Run a blocking command as a tagged wait whose reply comes as a push (Cachely only)", cachely_block) \
    X(CACHELY_UNBLOCK, NONE, "cachely.unblock", -2, XN | XO | XL | XS, 0, 0, 0, "connection", "7.0.0", "Drop or release a tagged wait of this connection (Cachely only)", cachely_unblock) \
    /* transactions */                                                                    \
    X(MULTI, NONE, "multi", 1, XN | XL | XS | XF | XB, 0, 0, 0, "transactions", "1.2.0", "Start a transaction", multi) \
    X(EXEC, NONE, "exec", 1, XN | XL | XS | CMD_SKIP_SLOWLOG, 0, 0, 0, "transactions", "1.2.0", "Run the queued commands of a transaction", exec) \
    X(DISCARD, NONE, "discard", 1, XN | XL | XS | XF | XB, 0, 0, 0, "transactions", "2.0.0", "Drop the queued commands of a transaction", discard) \
    X(WATCH, NONE, "watch", -2, XN | XL | XS | XF | XB, 1, -1, 1, "transactions", "2.2.0", "Make the next EXEC fail if any of the keys changes", watch) \
    X(UNWATCH, NONE, "unwatch", 1, XN | XL | XS | XF | XB, 0, 0, 0, "transactions", "2.2.0", "Forget the watched keys", unwatch) \
    /* pub/sub (cachely-proxy answers the classic ones with its own event channels) */    \
    X(SUBSCRIBE, NONE, "subscribe", -2, XP | XN | XL | XS, 0, 0, 0, "pubsub", "2.0.0", "Receive the messages posted to channels", subscribe) \
    X(UNSUBSCRIBE, NONE, "unsubscribe", -1, XP | XN | XL | XS, 0, 0, 0, "pubsub", "2.0.0", "Leave channels, or every channel when none is named", unsubscribe) \
    X(PSUBSCRIBE, NONE, "psubscribe", -2, XP | XN | XL | XS, 0, 0, 0, "pubsub", "2.0.0", "Receive the messages posted to channels matching glob patterns", psubscribe) \
    X(PUNSUBSCRIBE, NONE, "punsubscribe", -1, XP | XN | XL | XS, 0, 0, 0, "pubsub", "2.0.0", "Leave patterns, or every pattern when none is named", punsubscribe) \
    X(PUBLISH, NONE, "publish", 3, XP | XL | XS | XF | CMD_MAY_REPLICATE, 0, 0, 0, "pubsub", "2.0.0", "Post a message to a channel", publish) \
    X(PUBSUB, NONE, "pubsub", -2, 0, 0, 0, 0, "pubsub", "2.8.0", "Inspect channels and pattern subscriptions", none) \
    X(PUBSUB_CHANNELS, PUBSUB, "channels", -2, XP | XL | XS, 0, 0, 0, "pubsub", "2.8.0", "List the channels with subscribers, optionally matching a pattern", pubsub_channels) \
    X(PUBSUB_NUMSUB, PUBSUB, "numsub", -2, XP | XL | XS, 0, 0, 0, "pubsub", "2.8.0", "Count the subscribers of channels (pattern subscribers not included)", pubsub_numsub) \
    X(PUBSUB_NUMPAT, PUBSUB, "numpat", 2, XP | XL | XS, 0, 0, 0, "pubsub", "2.8.0", "Count the distinct patterns subscribed to", pubsub_numpat) \
    X(PUBSUB_SHARDCHANNELS, PUBSUB, "shardchannels", -2, XP | XL | XS, 0, 0, 0, "pubsub", "7.0.0", "List the shard channels with subscribers, optionally matching a pattern", pubsub_shardchannels) \
    X(PUBSUB_SHARDNUMSUB, PUBSUB, "shardnumsub", -2, XP | XL | XS, 0, 0, 0, "pubsub", "7.0.0", "Count the subscribers of shard channels", pubsub_shardnumsub) \
    X(SSUBSCRIBE, NONE, "ssubscribe", -2, XP | XN | XL | XS, 1, -1, 1, "pubsub", "7.0.0", "Receive the messages posted to shard channels", ssubscribe) \
    X(SUNSUBSCRIBE, NONE, "sunsubscribe", -1, XP | XN | XL | XS, 1, -1, 1, "pubsub", "7.0.0", "Leave shard channels, or every shard channel when none is named", sunsubscribe) \
    X(SPUBLISH, NONE, "spublish", 3, XP | XL | XS | XF | CMD_MAY_REPLICATE, 1, 1, 1, "pubsub", "7.0.0", "Post a message to a shard channel", spublish) \
    X(PUBSUB_HELP, PUBSUB, "help", 2, XL | XS, 0, 0, 0, "pubsub", "6.2.0", "Describe the PUBSUB subcommands", pubsub_help) \
    /* server */                                                                          \
    X(COMMAND, NONE, "command", -1, XL | XS, 0, 0, 0, "server", "2.8.13", "Describe the commands", command) \
    X(COMMAND_COUNT, COMMAND, "count", 2, XL | XS, 0, 0, 0, "server", "2.8.13", "Return the number of commands", command_count) \
    X(COMMAND_INFO, COMMAND, "info", -2, XL | XS, 0, 0, 0, "server", "2.8.13", "Describe commands by name", command_info) \
    X(COMMAND_DOCS, COMMAND, "docs", -2, XL | XS, 0, 0, 0, "server", "7.0.0", "Return documentation of commands", command_docs) \
    X(COMMAND_LIST, COMMAND, "list", -2, XL | XS, 0, 0, 0, "server", "7.0.0", "List command names", command_list) \
    X(COMMAND_GETKEYS, COMMAND, "getkeys", -4, XL | XS, 0, 0, 0, "server", "2.8.13", "Extract the keys of a command", command_getkeys) \
    X(COMMAND_GETKEYSANDFLAGS, COMMAND, "getkeysandflags", -4, XL | XS, 0, 0, 0, "server", "7.0.0", "Extract the keys of a command and how it uses each of them", command_getkeysandflags) \
    X(COMMAND_HELP, COMMAND, "help", 2, XL | XS, 0, 0, 0, "server", "5.0.0", "Describe the COMMAND subcommands", command_help) \
    X(LOLWUT, NONE, "lolwut", -1, XR | XF, 0, 0, 0, "server", "5.0.0", "Draw a small picture and name the server's version", lolwut) \
    X(TIME, NONE, "time", 1, XL | XS | XF, 0, 0, 0, "server", "2.6.0", "Return the server time", time) \
    X(ROLE, NONE, "role", 1, XN | XL | XS | XF, 0, 0, 0, "server", "2.8.12", "Return the replication role", role) \
    /* no cluster mode: answered as a Redis 7.0 without cluster-enabled */ \
    X(READONLY, NONE, "readonly", 1, XL | XS | XF, 0, 0, 0, "cluster", "3.0.0", "Enables read queries for a connection to a cluster replica node", cluster_disabled) \
    X(READWRITE, NONE, "readwrite", 1, XL | XS | XF, 0, 0, 0, "cluster", "3.0.0", "Disables read queries for a connection to a cluster replica node", cluster_disabled) \
    X(ASKING, NONE, "asking", 1, XF, 0, 0, 0, "cluster", "3.0.0", "Sent by cluster clients after an -ASK redirect", cluster_disabled) \
    X(CLUSTER, NONE, "cluster", -2, 0, 0, 0, 0, "cluster", "3.0.0", "A container for cluster commands", none) \
    X(CLUSTER_ADDSLOTS, CLUSTER, "addslots", -3, XA | XS | CMD_NO_ASYNC_LOADING, 0, 0, 0, "cluster", "3.0.0", "Assign new hash slots to receiving node", cluster_disabled) \
    X(CLUSTER_ADDSLOTSRANGE, CLUSTER, "addslotsrange", -4, XA | XS | CMD_NO_ASYNC_LOADING, 0, 0, 0, "cluster", "7.0.0", "Assign new hash slots to receiving node", cluster_disabled) \
    X(CLUSTER_BUMPEPOCH, CLUSTER, "bumpepoch", 2, XA | XS | CMD_NO_ASYNC_LOADING, 0, 0, 0, "cluster", "3.0.0", "Advance the cluster config epoch", cluster_disabled) \
    X(CLUSTER_COUNT_FAILURE_REPORTS, CLUSTER, "count-failure-reports", 3, XA | XS, 0, 0, 0, "cluster", "3.0.0", "Return the number of failure reports active for a given node", cluster_disabled) \
    X(CLUSTER_COUNTKEYSINSLOT, CLUSTER, "countkeysinslot", 3, XS, 0, 0, 0, "cluster", "3.0.0", "Return the number of local keys in the specified hash slot", cluster_disabled) \
    X(CLUSTER_DELSLOTS, CLUSTER, "delslots", -3, XA | XS | CMD_NO_ASYNC_LOADING, 0, 0, 0, "cluster", "3.0.0", "Set hash slots as unbound in receiving node", cluster_disabled) \
    X(CLUSTER_DELSLOTSRANGE, CLUSTER, "delslotsrange", -4, XA | XS | CMD_NO_ASYNC_LOADING, 0, 0, 0, "cluster", "7.0.0", "Set hash slots as unbound in receiving node", cluster_disabled) \
    X(CLUSTER_FAILOVER, CLUSTER, "failover", -2, XA | XS | CMD_NO_ASYNC_LOADING, 0, 0, 0, "cluster", "3.0.0", "Forces a replica to perform a manual failover of its master.", cluster_disabled) \
    X(CLUSTER_FLUSHSLOTS, CLUSTER, "flushslots", 2, XA | XS | CMD_NO_ASYNC_LOADING, 0, 0, 0, "cluster", "3.0.0", "Delete a node's own slots information", cluster_disabled) \
    X(CLUSTER_FORGET, CLUSTER, "forget", 3, XA | XS | CMD_NO_ASYNC_LOADING, 0, 0, 0, "cluster", "3.0.0", "Remove a node from the nodes table", cluster_disabled) \
    X(CLUSTER_GETKEYSINSLOT, CLUSTER, "getkeysinslot", 4, XS, 0, 0, 0, "cluster", "3.0.0", "Return local key names in the specified hash slot", cluster_disabled) \
    X(CLUSTER_HELP, CLUSTER, "help", 2, XL | XS, 0, 0, 0, "cluster", "5.0.0", "Show helpful text about the different subcommands", cluster_disabled) \
    X(CLUSTER_INFO, CLUSTER, "info", 2, XS, 0, 0, 0, "cluster", "3.0.0", "Provides info about Redis Cluster node state", cluster_disabled) \
    X(CLUSTER_KEYSLOT, CLUSTER, "keyslot", 3, XS, 0, 0, 0, "cluster", "3.0.0", "Returns the hash slot of the specified key", cluster_disabled) \
    X(CLUSTER_LINKS, CLUSTER, "links", 2, XS, 0, 0, 0, "cluster", "7.0.0", "Returns a list of all TCP links to and from peer nodes in cluster", cluster_disabled) \
    X(CLUSTER_MEET, CLUSTER, "meet", -4, XA | XS | CMD_NO_ASYNC_LOADING, 0, 0, 0, "cluster", "3.0.0", "Force a node cluster to handshake with another node", cluster_disabled) \
    X(CLUSTER_MYID, CLUSTER, "myid", 2, XS, 0, 0, 0, "cluster", "3.0.0", "Return the node id", cluster_disabled) \
    X(CLUSTER_NODES, CLUSTER, "nodes", 2, XS, 0, 0, 0, "cluster", "3.0.0", "Get Cluster config for the node", cluster_disabled) \
    X(CLUSTER_REPLICAS, CLUSTER, "replicas", 3, XA | XS, 0, 0, 0, "cluster", "5.0.0", "List replica nodes of the specified master node", cluster_disabled) \
    X(CLUSTER_REPLICATE, CLUSTER, "replicate", 3, XA | XS | CMD_NO_ASYNC_LOADING, 0, 0, 0, "cluster", "3.0.0", "Reconfigure a node as a replica of the specified master node", cluster_disabled) \
    X(CLUSTER_RESET, CLUSTER, "reset", -2, XA | XN | XS, 0, 0, 0, "cluster", "3.0.0", "Reset a Redis Cluster node", cluster_disabled) \
    X(CLUSTER_SAVECONFIG, CLUSTER, "saveconfig", 2, XA | XS | CMD_NO_ASYNC_LOADING, 0, 0, 0, "cluster", "3.0.0", "Forces the node to save cluster state on disk", cluster_disabled) \
    X(CLUSTER_SET_CONFIG_EPOCH, CLUSTER, "set-config-epoch", 3, XA | XS | CMD_NO_ASYNC_LOADING, 0, 0, 0, "cluster", "3.0.0", "Set the configuration epoch in a new node", cluster_disabled) \
    X(CLUSTER_SETSLOT, CLUSTER, "setslot", -4, XA | XS | CMD_NO_ASYNC_LOADING, 0, 0, 0, "cluster", "3.0.0", "Bind a hash slot to a specific node", cluster_disabled) \
    X(CLUSTER_SHARDS, CLUSTER, "shards", 2, XS, 0, 0, 0, "cluster", "7.0.0", "Get array of cluster slots to node mappings", cluster_disabled) \
    X(CLUSTER_SLAVES, CLUSTER, "slaves", 3, XA | XS, 0, 0, 0, "cluster", "3.0.0", "List replica nodes of the specified master node", cluster_disabled) \
    X(CLUSTER_SLOTS, CLUSTER, "slots", 2, XS, 0, 0, 0, "cluster", "3.0.0", "Get array of Cluster slot to node mappings", cluster_disabled) \
    X(SENTINEL, NONE, "sentinel", -2, XA | XN | XL | XS, 0, 0, 0, "sentinel", "2.8.4", "Sentinel commands (answered by cachely-proxy; the node does not implement them)", none) \
    X(INFO, NONE, "info", -1, XL | XS, 0, 0, 0, "server", "1.0.0", "Return information and statistics about the server", info) \
    X(CONFIG, NONE, "config", -2, 0, 0, 0, 0, "server", "2.0.0", "Read and change the configuration", none) \
    X(CONFIG_GET, CONFIG, "get", -3, XA | XN | XL | XS, 0, 0, 0, "server", "2.0.0", "Return option values matching patterns", config_get) \
    X(CONFIG_SET, CONFIG, "set", -4, XA | XN | XL | XS, 0, 0, 0, "server", "2.0.0", "Change options at run time", config_set) \
    X(CONFIG_RESETSTAT, CONFIG, "resetstat", 2, XA | XN | XL | XS, 0, 0, 0, "server", "2.0.0", "Reset the statistics", config_resetstat) \
    X(CONFIG_REWRITE, CONFIG, "rewrite", 2, XA | XN | XL | XS, 0, 0, 0, "server", "2.8.0", "Write the running configuration to the config file", config_rewrite) \
    X(CONFIG_HELP, CONFIG, "help", 2, XL | XS, 0, 0, 0, "server", "5.0.0", "Describe the CONFIG subcommands", config_help) \
    X(MEMORY, NONE, "memory", -2, 0, 0, 0, 0, "server", "4.0.0", "Memory introspection", none) \
    X(MEMORY_USAGE, MEMORY, "usage", -3, XR, 2, 2, 1, "server", "4.0.0", "Estimate the memory a key uses", memory_usage) \
    X(MEMORY_STATS, MEMORY, "stats", 2, 0, 0, 0, 0, "server", "4.0.0", "Return memory statistics", memory_stats) \
    X(MEMORY_DOCTOR, MEMORY, "doctor", 2, 0, 0, 0, 0, "server", "4.0.0", "Return a short report on the node's memory, with advice", memory_doctor) \
    X(MEMORY_MALLOC_STATS, MEMORY, "malloc-stats", 2, 0, 0, 0, 0, "server", "4.0.0", "Return the allocator's statistics report", memory_malloc_stats) \
    X(MEMORY_PURGE, MEMORY, "purge", 2, 0, 0, 0, 0, "server", "4.0.0", "Give the allocator's unused pages back to the system", memory_purge) \
    X(MEMORY_HELP, MEMORY, "help", 2, XL | XS, 0, 0, 0, "server", "4.0.0", "Describe the MEMORY subcommands", memory_help) \
    X(MONITOR, NONE, "monitor", 1, XA | XN | XL | XS, 0, 0, 0, "server", "1.0.0", "Stream every command the server runs", monitor) \
    X(MODULE, NONE, "module", -2, 0, 0, 0, 0, "server", "4.0.0", "Module management (Cachely loads no modules)", none) \
    X(MODULE_LIST, MODULE, "list", 2, XA | XN, 0, 0, 0, "server", "4.0.0", "List the loaded modules: none", module_list) \
    X(MODULE_LOAD, MODULE, "load", -3, XA | XN | CMD_NO_ASYNC_LOADING, 0, 0, 0, "server", "4.0.0", "Load a module: refused, Cachely loads none", module_load) \
    X(MODULE_LOADEX, MODULE, "loadex", -3, XA | XN | CMD_NO_ASYNC_LOADING, 0, 0, 0, "server", "7.0.0", "Load a module with configurations: refused, Cachely loads none", module_load) \
    X(MODULE_UNLOAD, MODULE, "unload", 3, XA | XN | CMD_NO_ASYNC_LOADING, 0, 0, 0, "server", "4.0.0", "Unload a module: there is none", module_unload) \
    X(MODULE_HELP, MODULE, "help", 2, XL | XS, 0, 0, 0, "server", "5.0.0", "Describe the MODULE subcommands", module_help) \
    X(LATENCY, NONE, "latency", -2, 0, 0, 0, 0, "server", "2.8.13", "The latency monitor", none) \
    X(LATENCY_LATEST, LATENCY, "latest", 2, XA | XN | XL | XS, 0, 0, 0, "server", "2.8.13", "Return the latest latency samples of every event", latency_latest) \
    X(LATENCY_HISTORY, LATENCY, "history", 3, XA | XN | XL | XS, 0, 0, 0, "server", "2.8.13", "Return the latency samples of an event", latency_history) \
    X(LATENCY_RESET, LATENCY, "reset", -2, XA | XN | XL | XS, 0, 0, 0, "server", "2.8.13", "Forget the samples of events", latency_reset) \
    X(LATENCY_DOCTOR, LATENCY, "doctor", 2, XA | XN | XL | XS, 0, 0, 0, "server", "2.8.13", "Return a human-readable latency report", latency_doctor) \
    X(LATENCY_GRAPH, LATENCY, "graph", 3, XA | XN | XL | XS, 0, 0, 0, "server", "2.8.13", "Return an ASCII chart of an event's latency samples", latency_graph) \
    X(LATENCY_HISTOGRAM, LATENCY, "histogram", -2, XA | XN | XL | XS, 0, 0, 0, "server", "7.0.0", "Return the latency histograms of commands (latency-tracking)", latency_histogram) \
    X(LATENCY_HELP, LATENCY, "help", 2, XL | XS, 0, 0, 0, "server", "2.8.13", "Describe the LATENCY subcommands", latency_help) \
    X(SLOWLOG, NONE, "slowlog", -2, 0, 0, 0, 0, "server", "2.2.12", "Inspect the slow command log", none) \
    X(SLOWLOG_GET, SLOWLOG, "get", -2, XA | XL | XS, 0, 0, 0, "server", "2.2.12", "Return slow log entries", slowlog_get) \
    X(SLOWLOG_LEN, SLOWLOG, "len", 2, XA | XL | XS, 0, 0, 0, "server", "2.2.12", "Return the slow log's length", slowlog_len) \
    X(SLOWLOG_RESET, SLOWLOG, "reset", 2, XA | XL | XS, 0, 0, 0, "server", "2.2.12", "Empty the slow log", slowlog_reset) \
    X(SLOWLOG_HELP, SLOWLOG, "help", 2, XL | XS, 0, 0, 0, "server", "6.2.0", "Describe the SLOWLOG subcommands", slowlog_help) \
    /* replication */                                                                     \
    X(REPLICAOF, NONE, "replicaof", -3, XA | XN | XS | CMD_NO_ASYNC_LOADING, 0, 0, 0, "server", "5.0.0", "Follow a master, or become a master with NO ONE (EPOCH <n>: a fencing token)", replicaof) \
    X(SLAVEOF, NONE, "slaveof", -3, XA | XN | XS | CMD_NO_ASYNC_LOADING, 0, 0, 0, "server", "1.0.0", "Old name of REPLICAOF", replicaof) \
    X(PSYNC, NONE, "psync", -3, XA | XN | XO | CMD_NO_ASYNC_LOADING, 0, 0, 0, "server", "2.8.0", "Replica handshake: resume the stream or ask for a full copy", psync) \
    X(SYNC, NONE, "sync", 1, XA | XN | XO | CMD_NO_ASYNC_LOADING, 0, 0, 0, "server", "1.0.0", "Old replica handshake: always a full copy", sync) \
    X(REPLCONF, NONE, "replconf", -1, XA | XN | XL | XS | XB, 0, 0, 0, "server", "3.0.0", "Replica configuration and acknowledgements", replconf) \
    X(WAIT, NONE, "wait", 3, XN, 0, 0, 0, "generic", "3.0.0", "Wait until replicas acknowledged this connection's writes", wait) \
    /* persistence */                                                                     \
    X(SAVE, NONE, "save", 1, XA | XN | XO | CMD_NO_ASYNC_LOADING, 0, 0, 0, "server", "1.0.0", "Write a snapshot file now, blocking", save) \
    X(BGSAVE, NONE, "bgsave", -1, XA | XN | CMD_NO_ASYNC_LOADING, 0, 0, 0, "server", "1.0.0", "Write a snapshot file in the background", bgsave) \
    X(LASTSAVE, NONE, "lastsave", 1, XL | XS | XF, 0, 0, 0, "server", "1.0.0", "Unix time of the last successful snapshot", lastsave) \
    X(BGREWRITEAOF, NONE, "bgrewriteaof", 1, XA | XN | CMD_NO_ASYNC_LOADING, 0, 0, 0, "server", "1.0.0", "Rewrite the append-only file in the background", bgrewriteaof) \
    X(SHUTDOWN, NONE, "shutdown", -1, XA | XN | XL | XS | XO | XB, 0, 0, 0, "server", "1.0.0", "Stop the server", shutdown) \
    X(DEBUG, NONE, "debug", -2, XA | XN | XL | XS, 0, 0, 0, "server", "1.0.0", "Debugging helpers", debug) \
    /* access control (node/acl.c) */                                                     \
    X(ACL, NONE, "acl", -2, 0, 0, 0, 0, "server", "6.0.0", "Access control: users and their permissions", none) \
    X(ACL_CAT, ACL, "cat", -2, XN | XL | XS, 0, 0, 0, "server", "6.0.0", "List the ACL categories, or the commands in one", acl_cat) \
    X(ACL_DELUSER, ACL, "deluser", -3, XA | XN | XL | XS, 0, 0, 0, "server", "6.0.0", "Delete users and disconnect their clients", acl_deluser) \
    X(ACL_DRYRUN, ACL, "dryrun", -4, XA | XN | XL | XS, 0, 0, 0, "server", "7.0.0", "Say whether a user may run a command, without running it", acl_dryrun) \
    X(ACL_GENPASS, ACL, "genpass", -2, XN | XL | XS, 0, 0, 0, "server", "6.0.0", "Return random hex characters for a password", acl_genpass) \
    X(ACL_GETUSER, ACL, "getuser", 3, XA | XN | XL | XS, 0, 0, 0, "server", "6.0.0", "Describe a user's rules", acl_getuser) \
    X(ACL_LIST, ACL, "list", 2, XA | XN | XL | XS, 0, 0, 0, "server", "6.0.0", "List the users as aclfile lines", acl_list) \
    X(ACL_LOAD, ACL, "load", 2, XA | XN | XL | XS, 0, 0, 0, "server", "6.0.0", "Reload the users from the aclfile", acl_load) \
    X(ACL_LOG, ACL, "log", -2, XA | XN | XL | XS, 0, 0, 0, "server", "6.0.0", "List recent permission denials and failed logins, or RESET them", acl_log) \
    X(ACL_SAVE, ACL, "save", 2, XA | XN | XL | XS, 0, 0, 0, "server", "6.0.0", "Write the users to the aclfile", acl_save) \
    X(ACL_SETUSER, ACL, "setuser", -3, XA | XN | XL | XS, 0, 0, 0, "server", "6.0.0", "Create or change a user", acl_setuser) \
    X(ACL_USERS, ACL, "users", 2, XA | XN | XL | XS, 0, 0, 0, "server", "6.0.0", "List the user names", acl_users) \
    X(ACL_WHOAMI, ACL, "whoami", 2, XN | XL | XS, 0, 0, 0, "server", "6.0.0", "Return the connection's user name", acl_whoami) \
    X(ACL_HELP, ACL, "help", 2, XL | XS, 0, 0, 0, "server", "6.0.0", "Describe the ACL subcommands", acl_help)

enum cmd_id {
#define CMD_ID_ENUM(id, parent, name, ...) CMD_ID_##id,
    CMD_LIST(CMD_ID_ENUM)
#undef CMD_ID_ENUM
    CMD_ID__COUNT,
    CMD_ID_NONE = -1
};


struct command {
    enum cmd_id id;
    enum cmd_id parent;       /* CMD_ID_NONE for top-level commands */
    const char *name;         /* lower case; subcommand part only */
    const char *fullname;     /* "get", "config|get" */
    int arity;                /* exact, or at least -arity when negative */
    uint32_t flags;           /* enum cmd_flag bits */
    int first_key, last_key, key_step;
    const char *group;
    const char *since;
    const char *summary;
    /* filled by command_setup() */
    const struct command **subs;   /* owned by the module; NULL-terminated */
    size_t nsubs;
};

/* Build the lookup structures; call once before any lookup. */
void command_setup(void);
void command_teardown(void);

/* The row for an id (never NULL for a valid id). */
const struct command *command_get(enum cmd_id id);
/* Case-insensitive lookup of a top-level command; NULL when unknown. */
const struct command *command_lookup(const char *name, size_t len);
/* Case-insensitive lookup of a subcommand of container cmd; NULL if none. */
const struct command *command_lookup_sub(const struct command *cmd,
                                         const char *name, size_t len);
/* Number of top-level commands. */
size_t command_count(void);
/* Iterate top-level commands: i from 0 to command_count()-1. */
const struct command *command_at(size_t i);
/* Flag name for a bit index, e.g. "readonly". */
const char *command_flag_name(int bit);
/* True when argc fits the command's arity. */
static inline int
command_arity_ok(const struct command *cmd, size_t argc)
{
    return cmd->arity >= 0 ? argc == (size_t)cmd->arity
                           : argc >= (size_t)(-cmd->arity);
}

/* Redis's unknown-command error text (without the leading "-ERR "):
 * "unknown command 'x', with args beginning with: 'a' 'b' ".  Writes at
 * most cap bytes into buf (NUL-terminated) and returns the length. */
struct resp_arg;
size_t command_unknown_error(char *buf, size_t cap, size_t argc,
                             const struct resp_arg *argv);

/* Key positions from the fixed range (first_key..last_key by key_step):
 * fills idx[] with argv indexes of the keys of a command of argc arguments,
 * up to cap; returns the number of keys. */
size_t command_key_positions(const struct command *cmd, size_t argc,
                             size_t *idx, size_t cap);
/* Every key of a command line, movable ones included (ZUNIONSTORE's
 * numkeys, XREAD's STREAMS, EVAL's numkeys): the one key-finding function
 * for WATCH, ACL key patterns, COMMAND GETKEYS and the proxy's routing.
 * Malformed lines give the keys found so far. */
size_t command_keys(const struct command *cmd, size_t argc,
                    const struct resp_arg *argv, size_t *idx, size_t cap);

#endif
