/* The option registry: defaults, typed parsing with Redis's error wording,
 * config files (comments, quotes, errors naming the line) and rewrite. */
#include "core/option.h"
#include "core/alloc.h"
#include "node/options.h"
#include "node/server.h"

#include <criterion/criterion.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tvals {
    int enabled;
    long long count;
    unsigned long long size;
    char *name;
    int color;
    long long fixed;
};

static const char *const colors[] = {"red", "green", "blue", NULL};

/* Refuses count 7, to show a refused apply restores the old value. */
static int
refuse_seven(const struct option_def *def, void *ctx, char *err, size_t errlen)
{
    struct tvals *v = ctx;
    (void)def;
    if (v->count == 7) {
        snprintf(err, errlen, "seven is refused");
        return -1;
    }
    return 0;
}

#define OFF(f) offsetof(struct tvals, f)
static const struct option_def tdefs[] = {
    {"enabled", OPT_BOOL, OPT_MUTABLE, "no", 0, 0, NULL, OFF(enabled), NULL, NULL,
     NULL, "a switch"},
    {"count", OPT_INT, OPT_MUTABLE, "5", 1, 10, NULL, OFF(count), NULL, NULL,
     refuse_seven, "a bounded number"},
    {"size", OPT_MEMORY, OPT_MUTABLE, "1mb", 1024, 0x7fffffffffffffffLL, NULL,
     OFF(size), NULL, NULL, NULL, "a memory size"},
    {"name", OPT_STRING, OPT_MUTABLE, "", 0, 0, NULL, OFF(name), NULL, NULL, NULL,
     "a string"},
    {"color", OPT_ENUM, OPT_MUTABLE, "red", 0, 0, colors, OFF(color), NULL, NULL,
     NULL, "an enum"},
    {"fixed", OPT_INT, 0, "3", 0, 100, NULL, OFF(fixed), NULL, NULL, NULL,
     "set at startup only"},
    {NULL, 0, 0, NULL, 0, 0, NULL, 0, NULL, NULL, NULL, NULL},
};

static struct tvals vals;
static struct option_table table;
static char tmppath[64];

static void
setup(void)
{
    memset(&vals, 0, sizeof(vals));
    memset(&table, 0, sizeof(table));
    table.defs = tdefs;
    table.values = &vals;
    table.ctx = NULL;
    cr_assert_eq(option_defaults(&table), 0);
    tmppath[0] = '\0';
}

static void
teardown(void)
{
    option_free_values(&table);
    if (tmppath[0]) {
        unlink(tmppath);
    }
}

TestSuite(option, .init = setup, .fini = teardown);

static void
write_file(const char *text)
{
    int fd;
    snprintf(tmppath, sizeof(tmppath), "/tmp/cachely-test-option-XXXXXX");
    fd = mkstemp(tmppath);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static char *
read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    static char buf[8192];
    size_t n;
    cr_assert_not_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static const struct option_def *
def(const char *name)
{
    const struct option_def *d = option_find(&table, name);
    cr_assert_not_null(d, "no option %s", name);
    return d;
}

static int
set(const char *name, const char *value, char *err, size_t errlen)
{
    err[0] = '\0';
    return option_set(&table, def(name), value, err, errlen);
}

/* ---- defaults --------------------------------------------------------- */

Test(option, defaults_load)
{
    cr_assert_eq(vals.enabled, 0);
    cr_assert_eq(vals.count, 5);
    cr_assert_eq(vals.size, 1024 * 1024);
    cr_assert_str_eq(vals.name, "");
    cr_assert_eq(vals.color, 0);
    cr_assert_eq(vals.fixed, 3);
}

Test(option, node_table_defaults_load)
{
    struct node_config cfg;
    struct option_table t = {node_options, &cfg, NULL, NULL, NULL, NULL};
    char buf[256];
    memset(&cfg, 0, sizeof(cfg));
    cr_assert_eq(option_defaults(&t), 0);
    cr_assert_eq(cfg.port, 6379);
    cr_assert_eq(cfg.maxmemory, 0);
    cr_assert_eq(cfg.proto_max_bulk_len, 512ULL * 1024 * 1024);
    cr_assert_eq(cfg.maxmemory_policy, MAXMEMORY_NOEVICTION);
    option_format(&t, option_find(&t, "client-output-buffer-limit"), buf, sizeof(buf));
    cr_assert_str_eq(buf, "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
    option_free_values(&t);
}

Test(option, find_ignores_case)
{
    cr_assert_eq(option_find(&table, "COUNT"), option_find(&table, "count"));
    cr_assert_null(option_find(&table, "nosuch"));
}

static void write_file(const char *text);

/* ---- Redis 7.0's parameters (README, "Redis 7.0 options") -------------- */

/* A node table with its aliases and refusals, as main.c builds it. */
struct node_table {
    struct node_config cfg;
    struct option_table t;
};

static void
node_table_init(struct node_table *n)
{
    memset(n, 0, sizeof(*n));
    n->t.defs = node_options;
    n->t.values = &n->cfg;
    n->t.aliases = node_option_aliases;
    n->t.refusals = node_option_refusals;
    cr_assert_eq(option_defaults(&n->t), 0);
}

/* Every name in Redis 7.0.15's CONFIG GET * but the five other work adds
 * (stream-node-max-*, latency-tracking*, sanitize-dump-payload): before
 * this table had them, a redis.conf stopped at the first one. */
Test(option, every_redis70_parameter_is_known)
{
    static const char *const names[] = {
    "acl-pubsub-default", "aclfile", "acllog-max-len", "active-defrag-cycle-max",
    "active-defrag-cycle-min", "active-defrag-ignore-bytes",
    "active-defrag-max-scan-fields", "active-defrag-threshold-lower",
    "active-defrag-threshold-upper", "active-expire-effort", "activedefrag",
    "activerehashing", "always-show-logo", "aof-disable-auto-gc", "aof-load-truncated",
    "aof-rewrite-incremental-fsync", "aof-timestamp-enabled", "aof-use-rdb-preamble",
    "aof_rewrite_cpulist", "appenddirname", "appendfilename", "appendfsync", "appendonly",
    "auto-aof-rewrite-min-size", "auto-aof-rewrite-percentage", "bgsave_cpulist", "bind",
    "bind-source-addr", "bio_cpulist", "busy-reply-threshold", "client-output-buffer-limit",
    "client-query-buffer-limit", "cluster-allow-pubsubshard-when-down",
    "cluster-allow-reads-when-down", "cluster-allow-replica-migration",
    "cluster-announce-bus-port", "cluster-announce-hostname", "cluster-announce-ip",
    "cluster-announce-port", "cluster-announce-tls-port", "cluster-config-file",
    "cluster-enabled", "cluster-link-sendbuf-limit", "cluster-migration-barrier",
    "cluster-node-timeout", "cluster-port", "cluster-preferred-endpoint-type",
    "cluster-replica-no-failover", "cluster-replica-validity-factor",
    "cluster-require-full-coverage", "cluster-slave-no-failover",
    "cluster-slave-validity-factor", "crash-log-enabled", "crash-memcheck-enabled",
    "daemonize", "databases", "dbfilename", "dir", "disable-thp", "dynamic-hz",
    "enable-debug-command", "enable-module-command", "enable-protected-configs",
    "hash-max-listpack-entries", "hash-max-listpack-value", "hash-max-ziplist-entries",
    "hash-max-ziplist-value", "hll-sparse-max-bytes", "hz", "ignore-warnings", "io-threads",
    "io-threads-do-reads", "jemalloc-bg-thread", "latency-monitor-threshold",
    "lazyfree-lazy-eviction", "lazyfree-lazy-expire", "lazyfree-lazy-server-del",
    "lazyfree-lazy-user-del", "lazyfree-lazy-user-flush", "lfu-decay-time",
    "lfu-log-factor", "list-compress-depth", "list-max-listpack-size",
    "list-max-ziplist-size", "logfile", "loglevel", "lua-time-limit", "masterauth",
    "masteruser", "maxclients", "maxmemory", "maxmemory-clients",
    "maxmemory-eviction-tenacity", "maxmemory-policy", "maxmemory-samples",
    "min-replicas-max-lag", "min-replicas-to-write", "min-slaves-max-lag",
    "min-slaves-to-write", "no-appendfsync-on-rewrite", "notify-keyspace-events",
    "oom-score-adj", "oom-score-adj-values", "pidfile", "port", "proc-title-template",
    "propagation-error-behavior", "protected-mode", "proto-max-bulk-len",
    "rdb-del-sync-files", "rdb-save-incremental-fsync", "rdbchecksum", "rdbcompression",
    "repl-backlog-size", "repl-backlog-ttl", "repl-disable-tcp-nodelay",
    "repl-diskless-load", "repl-diskless-sync", "repl-diskless-sync-delay",
    "repl-diskless-sync-max-replicas", "repl-ping-replica-period", "repl-ping-slave-period",
    "repl-timeout", "replica-announce-ip", "replica-announce-port", "replica-announced",
    "replica-ignore-disk-write-errors", "replica-ignore-maxmemory", "replica-lazy-flush",
    "replica-priority", "replica-read-only", "replica-serve-stale-data", "replicaof",
    "requirepass", "save", "server_cpulist", "set-max-intset-entries", "set-proc-title",
    "shutdown-on-sigint", "shutdown-on-sigterm", "shutdown-timeout", "slave-announce-ip",
    "slave-announce-port", "slave-ignore-maxmemory", "slave-lazy-flush", "slave-priority",
    "slave-read-only", "slave-serve-stale-data", "slaveof", "slowlog-log-slower-than",
    "slowlog-max-len", "socket-mark-id", "stop-writes-on-bgsave-error", "supervised",
    "syslog-enabled", "syslog-facility", "syslog-ident", "tcp-backlog", "tcp-keepalive",
    "timeout", "tls-auth-clients", "tls-ca-cert-dir", "tls-ca-cert-file", "tls-cert-file",
    "tls-ciphers", "tls-ciphersuites", "tls-client-cert-file", "tls-client-key-file",
    "tls-client-key-file-pass", "tls-cluster", "tls-dh-params-file", "tls-key-file",
    "tls-key-file-pass", "tls-port", "tls-prefer-server-ciphers", "tls-protocols",
    "tls-replication", "tls-session-cache-size", "tls-session-cache-timeout",
    "tls-session-caching", "tracking-table-max-keys", "unixsocket", "unixsocketperm",
    "zset-max-listpack-entries", "zset-max-listpack-value", "zset-max-ziplist-entries",
    "zset-max-ziplist-value",
    };
    struct node_table n;
    node_table_init(&n);
    cr_assert_eq(sizeof(names) / sizeof(names[0]), 187);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        cr_expect_not_null(option_find(&n.t, names[i]), "%s unknown", names[i]);
    }
    option_free_values(&n.t);
}

Test(option, refused_value_names_why_and_keeps_the_default)
{
    struct node_table n;
    char err[512];
    node_table_init(&n);
    cr_assert_eq(option_set(&n.t, option_find(&n.t, "cluster-enabled"), "yes", err,
                            sizeof(err)), -1);
    cr_assert_str_eq(err, "cluster mode is not supported by cachely-server, see the proxy "
                     "(cachely-proxy shards and fails over)");
    cr_assert_eq(n.cfg.cluster_enabled, 0);
    cr_assert_eq(option_set(&n.t, option_find(&n.t, "cluster-enabled"), "NO", err,
                            sizeof(err)), 0);
    /* The type's own checks come first, with Redis's words. */
    cr_assert_eq(option_set(&n.t, option_find(&n.t, "io-threads"), "200", err,
                            sizeof(err)), -1);
    cr_assert_str_eq(err, "argument must be between 1 and 128 inclusive");
    cr_assert_eq(option_set(&n.t, option_find(&n.t, "io-threads"), "4", err,
                            sizeof(err)), -1);
    cr_assert(strstr(err, "no I/O threads") != NULL, "%s", err);
    cr_assert_eq(n.cfg.io_threads, 1);
    cr_assert_eq(option_set(&n.t, option_find(&n.t, "bind-source-addr"), "10.0.0.1", err,
                            sizeof(err)), -1);
    cr_assert_str_eq(n.cfg.bind_source_addr, "");
    cr_assert_eq(option_set(&n.t, option_find(&n.t, "maxmemory-clients"), "101%", err,
                            sizeof(err)), -1);
    cr_assert_str_eq(err, "percentage argument must be less or equal to 100");
    cr_assert_eq(option_set(&n.t, option_find(&n.t, "maxmemory-clients"), "10%", err,
                            sizeof(err)), 0);
    cr_assert_eq(n.cfg.maxmemory_clients, -10);
    cr_assert_eq(option_set(&n.t, option_find(&n.t, "maxmemory-clients"), "3mb", err,
                            sizeof(err)), 0);
    cr_assert_eq(n.cfg.maxmemory_clients, 3 * 1024 * 1024);
    option_free_values(&n.t);
}

Test(option, refused_value_in_a_file_names_the_line)
{
    struct node_table n;
    char err[512];
    node_table_init(&n);
    write_file("always-show-logo yes\ncluster-enabled yes\n");
    cr_assert_eq(option_load_file(&n.t, tmppath, err, sizeof(err)), -1);
    cr_assert(strncmp(err, "line 2: 'cluster-enabled': cluster mode is not supported",
                      56) == 0, "%s", err);
    option_free_values(&n.t);
}

Test(option, no_effect_list_names_only_changed_options)
{
    struct node_table n;
    char err[512], list[512];
    node_table_init(&n);
    cr_assert_eq(option_no_effect_list(&n.t, list, sizeof(list)), 0);
    cr_assert_str_eq(list, "");
    /* a default given explicitly changes nothing */
    cr_assert_eq(option_set(&n.t, option_find(&n.t, "activerehashing"), "yes", err,
                            sizeof(err)), 0);
    cr_assert_eq(option_set(&n.t, option_find(&n.t, "rdbchecksum"), "no", err,
                            sizeof(err)), 0);
    /* always-show-logo prints a banner: it has an effect */
    cr_assert_eq(option_set(&n.t, option_find(&n.t, "always-show-logo"), "yes", err,
                            sizeof(err)), 0);
    cr_assert_eq(option_set(&n.t, option_find(&n.t, "propagation-error-behavior"), "panic",
                            err, sizeof(err)), 0);
    /* an option with an effect is never listed */
    cr_assert_eq(option_set(&n.t, option_find(&n.t, "replica-ignore-maxmemory"), "no", err,
                            sizeof(err)), 0);
    cr_assert_eq(option_no_effect_list(&n.t, list, sizeof(list)), 2);
    cr_assert_str_eq(list, "rdbchecksum, propagation-error-behavior");
    option_free_values(&n.t);
}

Test(option, shutdown_flags_read_and_print_as_redis)
{
    struct node_table n;
    char err[512], buf[128];
    const struct option_def *d;
    node_table_init(&n);
    d = option_find(&n.t, "shutdown-on-sigterm");
    option_format(&n.t, d, buf, sizeof(buf));
    cr_assert_str_eq(buf, "default");
    cr_assert_eq(option_set(&n.t, d, "force nosave", err, sizeof(err)), 0);
    option_format(&n.t, d, buf, sizeof(buf));
    cr_assert_str_eq(buf, "nosave force");
    cr_assert_eq(n.cfg.shutdown_on_sigterm, SHUTDOWN_FLAG_NOSAVE | SHUTDOWN_FLAG_FORCE);
    cr_assert_eq(option_set(&n.t, d, "save nosave", err, sizeof(err)), -1);
    cr_assert_str_eq(err, "shutdown options SAVE and NOSAVE can't be used simultaneously");
    cr_assert_eq(option_set(&n.t, d, "", err, sizeof(err)), -1);
    cr_assert_str_eq(err, "argument(s) must be one of the following: default, save, nosave, "
                     "now, force");
    cr_assert_eq(option_set(&n.t, d, "now default", err, sizeof(err)), 0);
    option_format(&n.t, d, buf, sizeof(buf));
    cr_assert_str_eq(buf, "now");
    option_free_values(&n.t);
}

Test(option, rewrite_keeps_a_template_with_spaces_whole)
{
    struct node_table n, back;
    char err[512], buf[256];
    node_table_init(&n);
    write_file("");
    n.t.config_file = mem_strdup(tmppath);
    cr_assert_eq(option_set(&n.t, option_find(&n.t, "proc-title-template"),
                            "{title}  x  {port}", err, sizeof(err)), 0);
    cr_assert_eq(option_set(&n.t, option_find(&n.t, "oom-score-adj-values"), "1 2 3", err,
                            sizeof(err)), 0);
    cr_assert_eq(option_rewrite(&n.t, err, sizeof(err)), 0, "%s", err);
    node_table_init(&back);
    cr_assert_eq(option_load_file(&back.t, tmppath, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(back.cfg.proc_title_template, "{title}  x  {port}");
    option_format(&back.t, option_find(&back.t, "oom-score-adj-values"), buf, sizeof(buf));
    cr_assert_str_eq(buf, "1 2 3");
    option_free_values(&n.t);
    option_free_values(&back.t);
}

/* ---- set, with Redis's wording ---------------------------------------- */

Test(option, int_out_of_bounds_names_the_range)
{
    char err[256];
    cr_assert_eq(set("count", "11", err, sizeof(err)), -1);
    cr_assert_str_eq(err, "argument must be between 1 and 10 inclusive");
    cr_assert_eq(set("count", "0", err, sizeof(err)), -1);
    cr_assert_eq(vals.count, 5);
    cr_assert_eq(set("count", "10", err, sizeof(err)), 0);
    cr_assert_eq(vals.count, 10);
}

Test(option, int_rejects_garbage)
{
    char err[256];
    cr_assert_eq(set("count", "5x", err, sizeof(err)), -1);
    cr_assert_str_eq(err, "argument couldn't be parsed into an integer");
    cr_assert_eq(set("count", " 5", err, sizeof(err)), -1);
    cr_assert_eq(set("count", "", err, sizeof(err)), -1);
}

Test(option, memory_accepts_units)
{
    char err[256];
    cr_assert_eq(set("size", "10mb", err, sizeof(err)), 0);
    cr_assert_eq(vals.size, 10ULL * 1024 * 1024);
    cr_assert_eq(set("size", "1GB", err, sizeof(err)), 0);
    cr_assert_eq(vals.size, 1024ULL * 1024 * 1024);
    cr_assert_eq(set("size", "2k", err, sizeof(err)), 0);
    cr_assert_eq(vals.size, 2000);
    cr_assert_eq(set("size", "5kb", err, sizeof(err)), 0);
    cr_assert_eq(vals.size, 5120);
    cr_assert_eq(set("size", "4096", err, sizeof(err)), 0);
    cr_assert_eq(vals.size, 4096);
}

Test(option, memory_rejects_garbage)
{
    char err[256];
    cr_assert_eq(set("size", "10xb", err, sizeof(err)), -1);
    cr_assert_str_eq(err, "argument must be a memory value");
    cr_assert_eq(set("size", "-1", err, sizeof(err)), -1);
    cr_assert_eq(vals.size, 1024 * 1024);
}

/* Regression: memory options ignored their minimum, so CONFIG SET
 * proto-max-bulk-len 10 was accepted where Redis refuses it. */
Test(option, memory_below_minimum_is_refused)
{
    char err[256];
    cr_assert_eq(set("size", "10", err, sizeof(err)), -1);
    cr_assert_str_eq(err, "argument must be between 1024 and 9223372036854775807 inclusive");
    cr_assert_eq(vals.size, 1024 * 1024);
}

Test(option, enum_error_lists_the_names)
{
    char err[256];
    cr_assert_eq(set("color", "purple", err, sizeof(err)), -1);
    cr_assert_str_eq(err, "argument(s) must be one of the following: red, green, blue");
    cr_assert_eq(set("color", "BLUE", err, sizeof(err)), 0);
    cr_assert_eq(vals.color, 2);
}

Test(option, bool_wants_yes_or_no)
{
    char err[256];
    cr_assert_eq(set("enabled", "true", err, sizeof(err)), -1);
    cr_assert_str_eq(err, "argument must be 'yes' or 'no'");
    cr_assert_eq(set("enabled", "YES", err, sizeof(err)), 0);
    cr_assert_eq(vals.enabled, 1);
}

Test(option, string_is_copied)
{
    char err[256];
    char value[] = "hello";
    cr_assert_eq(set("name", value, err, sizeof(err)), 0);
    value[0] = 'j';
    cr_assert_str_eq(vals.name, "hello");
}

Test(option, refused_apply_restores_the_old_value)
{
    char err[256];
    table.ctx = &vals;
    cr_assert_eq(set("count", "6", err, sizeof(err)), 0);
    cr_assert_eq(vals.count, 6);
    cr_assert_eq(set("count", "7", err, sizeof(err)), -1);
    cr_assert_str_eq(err, "seven is refused");
    cr_assert_eq(vals.count, 6);
}

Test(option, format_prints_config_get_values)
{
    char buf[64];
    char err[256];
    cr_assert_eq(set("size", "2mb", err, sizeof(err)), 0);
    option_format(&table, def("size"), buf, sizeof(buf));
    cr_assert_str_eq(buf, "2097152");
    option_format(&table, def("enabled"), buf, sizeof(buf));
    cr_assert_str_eq(buf, "no");
    option_format(&table, def("color"), buf, sizeof(buf));
    cr_assert_str_eq(buf, "red");
}

/* ---- command-line arguments ------------------------------------------- */

Test(option, args_take_values_up_to_the_next_option)
{
    char *argv[] = {"--count", "3", "--enabled", "--name", "a", "b"};
    char err[256];
    cr_assert_eq(option_load_args(&table, 6, argv, err, sizeof(err)), 0);
    cr_assert_eq(vals.count, 3);
    cr_assert_eq(vals.enabled, 1);
    cr_assert_str_eq(vals.name, "a b");
}

Test(option, args_name_the_bad_option)
{
    char *argv[] = {"--nosuch", "1"};
    char *argv2[] = {"--count", "99"};
    char err[256];
    cr_assert_eq(option_load_args(&table, 2, argv, err, sizeof(err)), -1);
    cr_assert(strstr(err, "nosuch") != NULL, "%s", err);
    cr_assert_eq(option_load_args(&table, 2, argv2, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "option '--count': argument must be between 1 and 10 inclusive");
}

/* ---- config files ----------------------------------------------------- */

Test(option, file_with_comments_and_quotes_loads)
{
    char err[256] = "";
    write_file("# a comment\n"
               "   # an indented comment\n"
               "\n"
               "enabled yes\n"
               "COUNT 7\n"
               "size 2mb\r\n"
               "name \"hello world\"\n"
               "color 'blue'\n");
    cr_assert_eq(option_load_file(&table, tmppath, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(vals.enabled, 1);
    cr_assert_eq(vals.count, 7);
    cr_assert_eq(vals.size, 2ULL * 1024 * 1024);
    cr_assert_str_eq(vals.name, "hello world");
    cr_assert_eq(vals.color, 2);
    cr_assert_not_null(table.config_file);
}

Test(option, file_error_names_the_line)
{
    char err[256] = "";
    write_file("# comment\n"
               "count 3\n"
               "count 99\n");
    cr_assert_eq(option_load_file(&table, tmppath, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "line 3: 'count': argument must be between 1 and 10 inclusive");
}

Test(option, file_unknown_directive_names_the_line)
{
    char err[256] = "";
    write_file("count 3\nnosuch 1\n");
    cr_assert_eq(option_load_file(&table, tmppath, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "line 2: 'nosuch': Bad directive or wrong number of arguments");
}

Test(option, file_unbalanced_quotes_are_refused)
{
    char err[256] = "";
    write_file("name \"unterminated\n");
    cr_assert_eq(option_load_file(&table, tmppath, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "line 1: unbalanced quotes");
}

Test(option, missing_file_is_reported)
{
    char err[256] = "";
    cr_assert_eq(option_load_file(&table, "/nonexistent/cachely.conf", err, sizeof(err)), -1);
    cr_assert(strstr(err, "can't open config file") != NULL, "%s", err);
}

/* ---- rewrite ---------------------------------------------------------- */

Test(option, rewrite_without_a_file_is_refused)
{
    char err[256] = "";
    cr_assert_eq(option_rewrite(&table, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "The server is running without a config file");
}

Test(option, rewrite_keeps_comments_and_writes_changed_values)
{
    char err[256] = "";
    char *text;
    write_file("# keep this comment\n"
               "count 3\n"
               "\n"
               "# and this one\n"
               "count 4\n");
    cr_assert_eq(option_load_file(&table, tmppath, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(vals.count, 4);
    cr_assert_eq(set("count", "9", err, sizeof(err)), 0);
    cr_assert_eq(set("size", "4mb", err, sizeof(err)), 0);
    cr_assert_eq(set("name", "with \"quotes\"", err, sizeof(err)), 0);
    cr_assert_eq(option_rewrite(&table, err, sizeof(err)), 0, "%s", err);

    text = read_file(tmppath);
    cr_assert(strstr(text, "# keep this comment\n") != NULL, "%s", text);
    cr_assert(strstr(text, "# and this one\n") != NULL, "%s", text);
    /* the option is rewritten in place, once */
    cr_assert(strstr(text, "count 9\n") != NULL, "%s", text);
    cr_assert_null(strstr(text, "count 3"), "%s", text);
    cr_assert_null(strstr(text, "count 4"), "%s", text);
    cr_assert(strstr(text, "# keep this comment\ncount 9\n") != NULL, "%s", text);
    /* changed options are appended, defaults are not */
    cr_assert(strstr(text, "size 4194304\n") != NULL, "%s", text);
    cr_assert_null(strstr(text, "enabled"), "%s", text);
    cr_assert_null(strstr(text, "color"), "%s", text);

    /* and the result loads back to the same values */
    option_free_values(&table);
    memset(&vals, 0, sizeof(vals));
    table.config_file = NULL;
    cr_assert_eq(option_defaults(&table), 0);
    cr_assert_eq(option_load_file(&table, tmppath, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(vals.count, 9);
    cr_assert_eq(vals.size, 4ULL * 1024 * 1024);
    cr_assert_str_eq(vals.name, "with \"quotes\"");
}

/* Reload the table from tmppath into fresh values. */
static void
reload(void)
{
    char err[256] = "";
    option_free_values(&table);
    memset(&vals, 0, sizeof(vals));
    cr_assert_eq(option_defaults(&table), 0);
    cr_assert_eq(option_load_file(&table, tmppath, err, sizeof(err)), 0, "%s", err);
}

/* Issue 9 item 15: CONFIG SET masterauth "a b\ndir /tmp/b\ndbfilename x"
 * then CONFIG REWRITE wrote the value unescaped, so the file gained a dir
 * and a dbfilename line of the caller's choosing. */
Test(option, rewrite_escapes_a_value_that_would_inject_config_lines)
{
    char err[256] = "";
    char *text;
    write_file("count 3\n");
    cr_assert_eq(option_load_file(&table, tmppath, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(set("name", "a b\ncount 8\ncolor blue", err, sizeof(err)), 0);
    cr_assert_eq(option_rewrite(&table, err, sizeof(err)), 0, "%s", err);

    text = read_file(tmppath);
    cr_assert_str_eq(text, "count 3\nname \"a b\\ncount 8\\ncolor blue\"\n");
    reload();
    cr_assert_eq(vals.count, 3);
    cr_assert_eq(vals.color, 0);
    cr_assert_str_eq(vals.name, "a b\ncount 8\ncolor blue");
}

Test(option, rewrite_round_trips_every_byte_of_a_string)
{
    static const char *const values[] = {
        "plain", "two  spaces", " lead", "trail ", "\"quoted\"", "it's",
        "back\\slash", "\\x41 is not A", "cr\rlf\n", "tab\there", "\a\b\f\v",
        "\x01\x7f\x80\xff", "#not a comment", "", "\"", "'", "\\", "a\"b c",
    };
    char err[256] = "";
    write_file("# values\n");
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        cr_assert_eq(option_load_file(&table, tmppath, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(set("name", values[i], err, sizeof(err)), 0);
        cr_assert_eq(option_rewrite(&table, err, sizeof(err)), 0, "%s", err);
        reload();
        cr_assert_str_eq(vals.name, values[i], "value %zu", i);
    }
}

Test(option, rewrite_keeps_a_long_value_whole)
{
    char err[256] = "";
    char *big = malloc(20001);
    cr_assert_not_null(big);
    for (size_t i = 0; i < 20000; i++) {
        big[i] = (char)(i % 3 == 0 ? '\n' : 'a' + i % 26);
    }
    big[20000] = '\0';
    write_file("\n");
    cr_assert_eq(option_load_file(&table, tmppath, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(set("name", big, err, sizeof(err)), 0);
    cr_assert_eq(option_rewrite(&table, err, sizeof(err)), 0, "%s", err);
    reload();
    cr_assert_str_eq(vals.name, big);
    free(big);
}

/* Found by tests/fuzz/fuzz_config: a file whose last line (a comment)
 * had no newline swallowed the first option the rewrite appended. */
Test(option, rewrite_ends_a_last_line_without_newline)
{
    char err[256] = "";
    char *text;
    write_file("count 3\n# the end");
    cr_assert_eq(option_load_file(&table, tmppath, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(set("name", "x", err, sizeof(err)), 0);
    cr_assert_eq(option_rewrite(&table, err, sizeof(err)), 0, "%s", err);
    text = read_file(tmppath);
    cr_assert_str_eq(text, "count 3\n# the end\nname x\n");
    reload();
    cr_assert_str_eq(vals.name, "x");
}

Test(option, quote_uses_redis_escapes)
{
    char *q = option_quote("a\"b\\c\n\r\t\x01\xfe d");
    cr_assert_str_eq(q, "\"a\\\"b\\\\c\\n\\r\\t\\x01\\xfe d\"");
    mem_free(q);
    q = option_quote("plain");
    cr_assert_str_eq(q, "plain");
    mem_free(q);
    q = option_quote("");
    cr_assert_str_eq(q, "\"\"");
    mem_free(q);
}

/* ---- line splitting --------------------------------------------------- */

Test(option, split_line_honours_quotes)
{
    const char *line = "save \"900 1\" 'a b' plain \"\\x41\"";
    char scratch[64];
    char *words[8];
    int n = option_split_line(line, scratch, words, 8);
    cr_assert_eq(n, 5);
    cr_assert_str_eq(words[0], "save");
    cr_assert_str_eq(words[1], "900 1");
    cr_assert_str_eq(words[2], "a b");
    cr_assert_str_eq(words[3], "plain");
    cr_assert_str_eq(words[4], "A");
}

/* ---- CONFIG SET of several options (option_set_many) ------------------- */

Test(option, set_many_changes_all_or_none)
{
    char err[256];
    char *names[] = {"enabled", "count", "color"};
    char *good[] = {"yes", "9", "blue"};
    char *bad[] = {"no", "7", "green"};
    table.ctx = &vals;
    cr_assert_eq(option_set_many(&table, 3, names, good, err, sizeof(err)), 0, "%s", err);
    cr_assert(vals.enabled == 1 && vals.count == 9 && vals.color == 2);
    /* count 7 is refused by its hook: enabled and color keep their values. */
    cr_assert_eq(option_set_many(&table, 3, names, bad, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "CONFIG SET failed (possibly related to argument 'count') - "
                          "seven is refused");
    cr_assert(vals.enabled == 1 && vals.count == 9 && vals.color == 2);
}

Test(option, set_many_refuses_before_changing_anything)
{
    char err[256];
    char *unknown[] = {"enabled", "nope"}, *fixed[] = {"enabled", "fixed"};
    char *twice[] = {"count", "COUNT"}, *vals2[] = {"yes", "4"};
    cr_assert_eq(option_set_many(&table, 2, unknown, vals2, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "Unknown option or number of arguments for CONFIG SET - 'nope'");
    cr_assert_eq(option_set_many(&table, 2, fixed, vals2, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "CONFIG SET failed (possibly related to argument 'fixed') - "
                          "can't set immutable config");
    cr_assert_eq(option_set_many(&table, 2, twice, vals2, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "CONFIG SET failed (possibly related to argument 'COUNT') - "
                          "duplicate parameter");
    cr_assert_eq(vals.enabled, 0, "nothing changed");
    cr_assert_eq(vals.count, 5, "nothing changed");
}
