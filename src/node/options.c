/* Every cachely-server option: name, type, default, bounds, mutability and
 * the line --help prints.  conf/cachely.conf documents the same list. */
#include "node/options.h"
#include "core/alloc.h"
#include "node/acl.h"
#include "core/log.h"
#include "core/util.h"
#include "node/listen.h"
#include "node/notify.h"
#include "node/persist.h"
#include "node/server.h"
#include "node/tls.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define LL_MAX 0x7fffffffffffffffLL
#define LL_MAX_VALUE 0x7fffffffffffffffULL

const char *const maxmemory_policy_names[] = {
#define MM_NAME(sym, name) name,
    MAXMEMORY_POLICY_LIST(MM_NAME)
#undef MM_NAME
    NULL,
};


static const char *const cob_class_names[] = {"normal", "replica", "pubsub"};

const char *const protected_action_names[] = {"no", "yes", "local", NULL};

static const char *const acl_pubsub_names[] = {"allchannels", "resetchannels", NULL};

static const char *const sanitize_dump_names[] = {"no", "yes", "clients", NULL};

static int
apply_requirepass(const struct option_def *def, void *ctx, char *err, size_t errlen)
{
    (void)def;
    (void)err;
    (void)errlen;
    acl_apply_requirepass(ctx);
    return 0;
}

static int
apply_acl_pubsub(const struct option_def *def, void *ctx, char *err, size_t errlen)
{
    struct server *srv = ctx;
    (void)def;
    (void)err;
    (void)errlen;
    acl_set_pubsub_default(srv->cfg.acl_pubsub_default == 0);
    return 0;
}

/* client-output-buffer-limit <class> <hard> <soft> <soft-seconds> [...] */
static int
cob_parse(const struct option_def *def, void *values, const char *value,
          char *err, size_t errlen)
{
    struct node_config *cfg = values;
    char *words[64];
    char scratch[1024];
    struct cob_limit tmp[COB__COUNT];
    int n;

    (void)def;
    if (strlen(value) >= sizeof(scratch)) {
        snprintf(err, errlen, "Wrong number of arguments in buffer limit configuration.");
        return -1;
    }
    n = option_split_line(value, scratch, words, 64);
    if (n <= 0 || n % 4 != 0) {
        snprintf(err, errlen, "Wrong number of arguments in buffer limit configuration.");
        return -1;
    }
    memcpy(tmp, cfg->cob, sizeof(tmp));
    for (int i = 0; i < n; i += 4) {
        int cls = -1;
        unsigned long long hard, soft;
        long long secs;
        for (int k = 0; k < COB__COUNT; k++) {
            if (!strcasecmp(words[i], cob_class_names[k])) {
                cls = k;
            }
        }
        if (!strcasecmp(words[i], "slave")) {
            cls = COB_REPLICA;
        }
        if (cls < 0) {
            snprintf(err, errlen, "Invalid client class specified in buffer limit configuration.");
            return -1;
        }
        if (util_memtoull(words[i + 1], &hard) != 0
            || util_memtoull(words[i + 2], &soft) != 0
            || util_str2ll(words[i + 3], strlen(words[i + 3]), &secs) != 0
            || secs < 0) {
            snprintf(err, errlen, "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
            return -1;
        }
        tmp[cls].hard = hard;
        tmp[cls].soft = soft;
        tmp[cls].soft_seconds = secs;
    }
    memcpy(cfg->cob, tmp, sizeof(tmp));
    return 0;
}

static void
cob_format(const struct option_def *def, const void *values, char *buf,
           size_t len)
{
    const struct node_config *cfg = values;
    size_t off = 0;
    (void)def;
    buf[0] = '\0';
    for (int k = 0; k < COB__COUNT && off < len; k++) {
        off += (size_t)snprintf(buf + off, len - off, "%s%s %llu %llu %lld",
                                k ? " " : "", k == COB_REPLICA ? "slave" : cob_class_names[k],
                                cfg->cob[k].hard, cfg->cob[k].soft,
                                cfg->cob[k].soft_seconds);
    }
}

/* notify-keyspace-events: Redis's class letters. */
static int
notify_parse(const struct option_def *def, void *values, const char *value, char *err,
             size_t errlen)
{
    struct node_config *cfg = values;
    int classes = notify_parse_classes(value);
    (void)def;
    if (classes < 0) {
        snprintf(err, errlen, "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
        return -1;
    }
    cfg->notify_keyspace_events = classes;
    return 0;
}

static void
notify_format(const struct option_def *def, const void *values, char *buf, size_t len)
{
    const struct node_config *cfg = values;
    (void)def;
    notify_format_classes(cfg->notify_keyspace_events, buf, len);
}

static int
apply_runtime(const struct option_def *def, void *ctx, char *err, size_t errlen)
{
    (void)def;
    (void)err;
    (void)errlen;
    server_apply_config(ctx);
    return 0;
}

/* A new backlog size takes effect by starting a fresh backlog: replicas
 * that disconnect afterwards resync fully once.  As in Redis, a size below
 * 16 KiB is accepted and raised to 16 KiB (CONFIG GET then shows that). */
static int
apply_backlog_size(const struct option_def *def, void *ctx, char *err, size_t errlen)
{
    struct server *srv = ctx;
    (void)def;
    (void)err;
    (void)errlen;
    if (srv->cfg.repl_backlog_size < REPL_BACKLOG_MIN_SIZE) {
        srv->cfg.repl_backlog_size = REPL_BACKLOG_MIN_SIZE;
    }
    if (srv->repl.backlog != NULL) {
        mem_free(srv->repl.backlog);
        srv->repl.backlog = mem_alloc((size_t)srv->cfg.repl_backlog_size);
        srv->repl.backlog_size = (size_t)srv->cfg.repl_backlog_size;
        srv->repl.backlog_idx = 0;
        srv->repl.backlog_histlen = 0;
    }
    return 0;
}

/* CONFIG SET port (and the port option at startup) moves the listeners. */
static int
apply_port(const struct option_def *def, void *ctx, char *err, size_t errlen)
{
    (void)def;
    return listen_rebind(ctx, err, errlen);
}

/* CONFIG SET bind moves the listeners to the new addresses. */
static int
apply_bind(const struct option_def *def, void *ctx, char *err, size_t errlen)
{
    (void)def;
    return listen_rebind_addresses(ctx, err, errlen);
}

/* CONFIG SET dir changes the working directory, where the snapshot and the
 * append-only file are written, as in Redis.  An append-only file already
 * open stays where it is until it is rewritten. */
static int
apply_dir(const struct option_def *def, void *ctx, char *err, size_t errlen)
{
    struct server *srv = ctx;
    (void)def;
    if (chdir(srv->cfg.dir) != 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        return -1;
    }
    return 0;
}

static int
apply_dbfilename(const struct option_def *def, void *ctx, char *err, size_t errlen)
{
    struct server *srv = ctx;
    (void)def;
    if (strchr(srv->cfg.dbfilename, '/') != NULL) {
        snprintf(err, errlen, "dbfilename can't be a path, just a filename");
        return -1;
    }
    return 0;
}

/* Redis's old names for options; they work wherever the names do. */
const struct option_alias node_option_aliases[] = {
    {"slaveof", "replicaof"},
    {"slave-read-only", "replica-read-only"},
    {"slave-serve-stale-data", "replica-serve-stale-data"},
    {"slave-priority", "replica-priority"},
    {"slave-announce-ip", "replica-announce-ip"},
    {"slave-announce-port", "replica-announce-port"},
    {"repl-ping-slave-period", "repl-ping-replica-period"},
    {"min-slaves-to-write", "min-replicas-to-write"},
    {"min-slaves-max-lag", "min-replicas-max-lag"},
    {"lua-time-limit", "busy-reply-threshold"},
    {"slave-ignore-maxmemory", "replica-ignore-maxmemory"},
    {"slave-lazy-flush", "replica-lazy-flush"},
    {"cluster-slave-no-failover", "cluster-replica-no-failover"},
    {"cluster-slave-validity-factor", "cluster-replica-validity-factor"},
    {NULL, NULL},
};

/* Redis 7.0 options that accept only their default here: any other value
 * would promise what cachely-server does not do. */
const struct option_refusal node_option_refusals[] = {
    {"cluster-enabled", "cluster mode is not supported by cachely-server, see the proxy "
     "(cachely-proxy shards and fails over)"},
    {"io-threads", "cachely-server has no I/O threads (io-uring batches the socket "
     "I/O instead): only 1 is accepted"},
    {"socket-mark-id", "socket marks are not supported by cachely-server: only 0 is "
     "accepted"},
    {"bind-source-addr", "bind-source-addr is not supported by cachely-server: "
     "outgoing connections use the address the system picks"},
    /* Redis's own words when it is built without its patched jemalloc (as
     * Debian's is): a client sees what such a Redis answers. */
    {"activedefrag", "Active defragmentation cannot be enabled: it requires a Redis "
     "server compiled with a modified Jemalloc like the one shipped by default with "
     "the Redis source distribution"},
    {NULL, NULL},
};

/* ---- Redis 7.0 options with their own syntax ----------------------------- */

static const char *const shutdown_flag_names[] = {"default", "save", "nosave", "now",
                                                  "force", NULL};

/* shutdown-on-sigint/-sigterm: SHUTDOWN's flags, any of save, nosave, now,
 * force ("default" adds none), with Redis's errors and its way of printing
 * them back (in that order, "default" when none). */
static int
shutdown_flags_parse(const struct option_def *def, void *values, const char *value,
                     char *err, size_t errlen)
{
    size_t len = strlen(value);
    char **words = mem_alloc((len / 2 + 2) * sizeof(*words));
    char *scratch = mem_alloc(len + 1);
    int n = option_split_line(value, scratch, words, (int)(len / 2 + 2));
    int flags = 0, rc = -1;

    for (int i = 0; i < n; i++) {
        int k = 0;
        while (shutdown_flag_names[k] != NULL && strcasecmp(shutdown_flag_names[k], words[i])) {
            k++;
        }
        if (shutdown_flag_names[k] == NULL) {
            n = 0;
            break;
        }
        flags |= k == 0 ? 0 : 1 << (k - 1);
    }
    if (n <= 0) {
        snprintf(err, errlen, "argument(s) must be one of the following: "
                 "default, save, nosave, now, force");
    } else if ((flags & SHUTDOWN_FLAG_SAVE) && (flags & SHUTDOWN_FLAG_NOSAVE)) {
        snprintf(err, errlen, "shutdown options SAVE and NOSAVE can't be used simultaneously");
    } else {
        *(int *)((char *)values + def->offset) = flags;
        rc = 0;
    }
    mem_free(scratch);
    mem_free(words);
    return rc;
}

static void
shutdown_flags_format(const struct option_def *def, const void *values, char *buf,
                      size_t len)
{
    int flags = *(const int *)((const char *)values + def->offset);
    size_t off = 0;

    snprintf(buf, len, "default");
    for (int k = 1; shutdown_flag_names[k] != NULL && off < len; k++) {
        if (flags & (1 << (k - 1))) {
            off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? " " : "",
                                    shutdown_flag_names[k]);
        }
    }
}

/* oom-score-adj-values: three integers in -2000..2000. */
static int
oom_values_parse(const struct option_def *def, void *values, const char *value,
                 char *err, size_t errlen)
{
    struct node_config *cfg = values;
    char scratch[256], *words[4];
    long long v[3];
    int n;

    (void)def;
    n = strlen(value) < sizeof(scratch) ? option_split_line(value, scratch, words, 4) : 4;
    if (n != 3) {
        snprintf(err, errlen, "wrong number of arguments");
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        if (util_str2ll(words[i], strlen(words[i]), &v[i]) != 0 || v[i] < -2000
            || v[i] > 2000) {
            snprintf(err, errlen, "Invalid oom-score-adj-values, elements must be "
                     "between -2000 and 2000.");
            return -1;
        }
    }
    memcpy(cfg->oom_score_adj_values, v, sizeof(v));
    return 0;
}

static void
oom_values_format(const struct option_def *def, const void *values, char *buf, size_t len)
{
    const struct node_config *cfg = values;
    (void)def;
    snprintf(buf, len, "%lld %lld %lld", cfg->oom_score_adj_values[0],
             cfg->oom_score_adj_values[1], cfg->oom_score_adj_values[2]);
}

/* oom-score-adj: "yes" is Redis's old name of "relative", and prints as
 * "yes" whichever was given (Redis prints an enum's first name). */
static const char *const oom_score_adj_names[] = {"no", "yes", "relative", "absolute", NULL};

static int
oom_adj_parse(const struct option_def *def, void *values, const char *value, char *err,
              size_t errlen)
{
    struct node_config *cfg = values;
    (void)def;
    for (int i = 0; oom_score_adj_names[i] != NULL; i++) {
        if (!strcasecmp(value, oom_score_adj_names[i])) {
            cfg->oom_score_adj = i == 2 ? 1 : i;
            return 0;
        }
    }
    snprintf(err, errlen, "argument(s) must be one of the following: no, yes, relative, "
             "absolute");
    return -1;
}

static void
oom_adj_format(const struct option_def *def, const void *values, char *buf, size_t len)
{
    const struct node_config *cfg = values;
    (void)def;
    snprintf(buf, len, "%s", oom_score_adj_names[cfg->oom_score_adj]);
}

/* unixsocketperm: octal, 0..777. */
static int
octal_parse(const struct option_def *def, void *values, const char *value, char *err,
            size_t errlen)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(value, &end, 8);
    if (errno != 0 || *end != '\0' || end == value) {
        snprintf(err, errlen, "argument couldn't be parsed as an octal number");
        return -1;
    }
    if (v < 0 || v > 0777) {
        snprintf(err, errlen, "argument must be between 0 and 777 inclusive");
        return -1;
    }
    *(long long *)((char *)values + def->offset) = v;
    return 0;
}

static void
octal_format(const struct option_def *def, const void *values, char *buf, size_t len)
{
    snprintf(buf, len, "%llo", *(const long long *)((const char *)values + def->offset));
}

/* maxmemory-clients: bytes or a percentage of maxmemory (kept negative, as
 * Redis keeps it); clientmem.c reads it. */
static int
maxmemory_clients_parse(const struct option_def *def, void *values, const char *value,
                        char *err, size_t errlen)
{
    struct node_config *cfg = values;
    unsigned long long ull;
    long long pct;
    size_t len = strlen(value);

    (void)def;
    if (util_memtoull(value, &ull) == 0 && ull <= LL_MAX_VALUE) {
        pct = (long long)ull;
    } else if (len > 1 && value[len - 1] == '%'
               && util_str2ll(value, len - 1, &pct) == 0 && pct >= 0) {
        if (pct > 100) {
            snprintf(err, errlen, "percentage argument must be less or equal to 100");
            return -1;
        }
        pct = -pct;
    } else {
        snprintf(err, errlen, "argument must be a memory or percent value");
        return -1;
    }
    cfg->maxmemory_clients = pct;
    return 0;
}

static void
maxmemory_clients_format(const struct option_def *def, const void *values, char *buf,
                         size_t len)
{
    const struct node_config *cfg = values;
    (void)def;
    if (cfg->maxmemory_clients < 0) {
        snprintf(buf, len, "%lld%%", -cfg->maxmemory_clients);
    } else {
        snprintf(buf, len, "%lld", cfg->maxmemory_clients);
    }
}

/* A string option with a check of its own: the field is a heap string
 * (OPT_OWNS_STRING). */
static void
set_owned_string(const struct option_def *def, void *values, const char *value)
{
    char **slot = (char **)((char *)values + def->offset);
    mem_free(*slot);
    *slot = mem_strdup(value);
}

static void
string_format(const struct option_def *def, const void *values, char *buf, size_t len)
{
    const char *v = *(char *const *)((const char *)values + def->offset);
    snprintf(buf, len, "%s", v ? v : "");
}

/* appenddirname: Redis 7's multi-part AOF directory.  Cachely's AOF is one
 * file in dir, so the name is only kept, with Redis's checks. */
static int
appenddirname_parse(const struct option_def *def, void *values, const char *value,
                    char *err, size_t errlen)
{
    if (value[0] == '\0') {
        snprintf(err, errlen, "appenddirname can't be empty");
        return -1;
    }
    if (strchr(value, '/') != NULL) {
        snprintf(err, errlen, "appenddirname can't be a path, just a dirname");
        return -1;
    }
    set_owned_string(def, values, value);
    return 0;
}

static int
hostname_parse(const struct option_def *def, void *values, const char *value, char *err,
               size_t errlen)
{
    if (strlen(value) >= 256) {
        snprintf(err, errlen, "Hostnames must be less than 256 characters");
        return -1;
    }
    for (const char *p = value; *p; p++) {
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
              || *p == '-' || *p == '.')) {
            snprintf(err, errlen, "Hostnames may only contain alphanumeric characters, "
                     "hyphens or dots");
            return -1;
        }
    }
    set_owned_string(def, values, value);
    return 0;
}

/* proc-title-template: Redis's {variable} template, checked as Redis
 * checks it (known variables, "{{" for a brace, something left once
 * expanded with an empty title); the process title itself is not set. */
static int
proc_title_valid(const char *t)
{
    static const struct {
        const char *name;
        int nonempty;   /* expands to text even with an empty title */
    } vars[] = {{"title", 0}, {"listen-addr", 1}, {"server-mode", 0}, {"config-file", 1},
                {"port", 1}, {"tls-port", 1}, {"unixsocket", 0}};
    int text = 0;

    while (*t) {
        if (*t != '{') {
            text |= *t != ' ';
            t++;
            continue;
        }
        t++;
        if (*t == '\0') {
            return 0;
        }
        if (*t == '{') {
            text = 1;
            t++;
            continue;
        }
        const char *end = strchr(t, '}');
        size_t i, n = sizeof(vars) / sizeof(vars[0]);
        if (end == NULL) {
            return 0;
        }
        for (i = 0; i < n; i++) {
            if (strlen(vars[i].name) == (size_t)(end - t)
                && !strncmp(vars[i].name, t, (size_t)(end - t))) {
                break;
            }
        }
        if (i == n) {
            return 0;
        }
        text |= vars[i].nonempty;
        t = end + 1;
    }
    return text;
}

static int
proc_title_parse(const struct option_def *def, void *values, const char *value, char *err,
                 size_t errlen)
{
    if (!proc_title_valid(value)) {
        snprintf(err, errlen, "template format is invalid or contains unknown variables");
        return -1;
    }
    set_owned_string(def, values, value);
    return 0;
}

/* ---- persistence options ---------------------------------------------- */

const char *const appendfsync_names[] = {
#define AFS_NAME(sym, name) name,
    APPENDFSYNC_LIST(AFS_NAME)
#undef AFS_NAME
    NULL,
};

/* save "<seconds> <changes> [...]"; "" turns snapshots off. */
static int
save_parse(const struct option_def *def, void *values, const char *value,
           char *err, size_t errlen)
{
    struct node_config *cfg = values;
    struct save_point pts[PERSIST_MAX_SAVE_POINTS];
    int n;
    (void)def;
    if (persist_parse_save(value, pts, &n) != 0) {
        snprintf(err, errlen, "Invalid save parameters");
        return -1;
    }
    memcpy(cfg->save, pts, sizeof(pts));
    cfg->nsave = n;
    return 0;
}

static void
save_format(const struct option_def *def, const void *values, char *buf, size_t len)
{
    const struct node_config *cfg = values;
    size_t off = 0;
    (void)def;
    buf[0] = '\0';
    for (int i = 0; i < cfg->nsave && off < len; i++) {
        off += (size_t)snprintf(buf + off, len - off, "%s%lld %lld", i ? " " : "",
                                cfg->save[i].seconds, cfg->save[i].changes);
    }
}

static int
apply_appendonly(const struct option_def *def, void *ctx, char *err, size_t errlen)
{
    (void)def;
    return persist_apply_appendonly(ctx, err, errlen);
}

static const char *const syslog_facility_names[] = {"user", "local0", "local1", "local2",
    "local3", "local4", "local5", "local6", "local7", NULL};
static const char *const supervised_names[] = {"upstart", "systemd", "auto", "no", NULL};
static const char *const repl_diskless_load_names[] = {"disabled", "on-empty-db", "swapdb",
                                                       NULL};
static const char *const cluster_endpoint_names[] = {"ip", "hostname", "unknown-endpoint",
                                                     NULL};
static const char *const propagation_error_names[] = {"ignore", "panic", "panic-on-replicas",
                                                      NULL};

#define OFF(f) offsetof(struct node_config, f)
#define MUT OPT_MUTABLE
#define NOEFF OPT_NO_EFFECT

const struct option_def node_options[] = {
    {"port", OPT_INT, MUT, "6379", 0, 65535, NULL, OFF(port), NULL, NULL, apply_port,
     "TCP port to listen on (0 = no TCP listener)"},
    {"bind", OPT_STRING, MUT, "127.0.0.1", 0, 0, NULL, OFF(bind), NULL, NULL, apply_bind,
     "addresses to listen on, space separated"},
    {"requirepass", OPT_STRING, MUT | OPT_SENSITIVE, "", 0, 0, NULL, OFF(requirepass),
     NULL, NULL, apply_requirepass, "the default user's password (empty = nopass)"},
    {"aclfile", OPT_STRING, 0, "", 0, 0, NULL, OFF(aclfile), NULL, NULL, NULL,
     "file of ACL users (ACL LOAD / ACL SAVE); exclusive with user lines"},
    {"user", OPT_SPECIAL, OPT_FILE_ONLY | OPT_SENSITIVE | OPT_HIDDEN | OPT_OWNS_STRING, "", 0, 0,
     NULL, OFF(acl_users), acl_option_user_parse,
     acl_option_user_format, NULL, "<name> <rules...>: an ACL user (repeatable)"},
    {"acllog-max-len", OPT_INT, MUT, "128", 0, LL_MAX, NULL, OFF(acllog_max_len), NULL,
     NULL, NULL, "ACL LOG entries kept"},
    {"protected-mode", OPT_BOOL, MUT, "yes", 0, 0, NULL, OFF(protected_mode), NULL, NULL,
     NULL, "refuse clients from non-loopback addresses while the default user has no "
     "password"},
    {"acl-pubsub-default", OPT_ENUM, MUT, "resetchannels", 0, 0, acl_pubsub_names,
     OFF(acl_pubsub_default), NULL, NULL, apply_acl_pubsub,
     "channel rule new ACL users start with: resetchannels or allchannels"},
    {"maxmemory", OPT_MEMORY, MUT, "0", 0, 0, NULL, OFF(maxmemory), NULL, NULL,
     apply_runtime, "memory limit for data, with units (100mb, 1gb); 0 = none"},
    {"maxmemory-policy", OPT_ENUM, MUT, "noeviction", 0, 0, maxmemory_policy_names,
     OFF(maxmemory_policy), NULL, NULL, apply_runtime,
     "what to evict at the limit: noeviction, allkeys-lru, volatile-lru, "
     "allkeys-lfu, volatile-lfu, allkeys-random, volatile-random, volatile-ttl"},
    {"maxmemory-clients", OPT_SPECIAL, MUT, "0", 0, 0, NULL, OFF(maxmemory_clients),
     maxmemory_clients_parse, maxmemory_clients_format, apply_runtime,
     "close the largest clients while all clients' memory is over this (bytes, or N% of "
     "maxmemory; 0 = off)"},
    {"maxmemory-samples", OPT_INT, MUT, "5", 1, 64, NULL, OFF(maxmemory_samples),
     NULL, NULL, NULL, "keys sampled per eviction"},
    {"loglevel", OPT_ENUM, MUT, "notice", 0, 0, log_option_names, OFF(loglevel), NULL,
     NULL, apply_runtime, "debug, verbose, notice or warning"},
    {"logfile", OPT_STRING, 0, "", 0, 0, NULL, OFF(logfile), NULL, NULL, NULL,
     "log file path (empty = standard error)"},
    {"pidfile", OPT_STRING, 0, "", 0, 0, NULL, OFF(pidfile), NULL, NULL, NULL,
     "write the process id to this file"},
    {"always-show-logo", OPT_BOOL, 0, "no", 0, 0, NULL, OFF(always_show_logo), NULL,
     NULL, NULL, "yes: log a short banner (version, Port, PID) at startup"},
    {"daemonize", OPT_BOOL, 0, "no", 0, 0, NULL, OFF(daemonize), NULL, NULL, NULL,
     "run in the background"},
    {"databases", OPT_INT, 0, "16", 1, 1024, NULL, OFF(databases), NULL, NULL, NULL,
     "number of databases (SELECT 0..n-1)"},
    {"maxclients", OPT_INT, MUT, "10000", 1, 1000000, NULL, OFF(maxclients), NULL,
     NULL, NULL, "maximum simultaneous client connections"},
    {"timeout", OPT_INT, MUT, "0", 0, 2147483647, NULL, OFF(timeout), NULL, NULL,
     NULL, "close clients idle for this many seconds (0 = never)"},
    {"tcp-keepalive", OPT_INT, MUT, "300", 0, 2147483647, NULL, OFF(tcp_keepalive),
     NULL, NULL, NULL, "TCP keepalive period in seconds (0 = off)"},
    {"tcp-backlog", OPT_INT, 0, "511", 0, 65535, NULL, OFF(tcp_backlog), NULL, NULL,
     NULL, "listen() backlog"},
    {"hz", OPT_INT, MUT, "10", 1, 500, NULL, OFF(hz), NULL, NULL, NULL,
     "background task frequency (timeouts, stats, rehashing)"},
    {"proto-max-bulk-len", OPT_MEMORY, MUT, "512mb", 1024 * 1024, LL_MAX, NULL,
     OFF(proto_max_bulk_len), NULL, NULL, NULL, "largest bulk string a client may send"},
    {"client-query-buffer-limit", OPT_MEMORY, MUT, "1gb", 1024 * 1024, LL_MAX, NULL,
     OFF(client_query_buffer_limit), NULL, NULL, NULL,
     "close a client whose unparsed input exceeds this"},
    {"client-output-buffer-limit", OPT_SPECIAL, MUT,
     "normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60", 0, 0, NULL, 0, cob_parse,
     cob_format, NULL,
     "<class> <hard> <soft> <soft-seconds>: close clients whose pending replies "
     "exceed hard, or soft for soft-seconds (0 = no limit)"},
    {"notify-keyspace-events", OPT_SPECIAL, MUT, "", 0, 0, NULL, 0, notify_parse,
     notify_format, NULL,
     "keyspace notifications to publish: K (__keyspace@<db>__), E (__keyevent@<db>__) "
     "and the classes g $ l s h z t x e n m d, A for g$lshzxetd; empty = off"},
    {"latency-monitor-threshold", OPT_INT, MUT, "0", 0, LL_MAX, NULL,
     OFF(latency_monitor_threshold), NULL, NULL, NULL,
     "record commands taking at least this many milliseconds for LATENCY (0 = off)"},
    {"latency-tracking", OPT_BOOL, MUT, "yes", 0, 0, NULL, OFF(latency_tracking), NULL, NULL,
     NULL, "keep a latency histogram per command (INFO latencystats, LATENCY HISTOGRAM)"},
    {"latency-tracking-info-percentiles", OPT_SPECIAL, MUT, "50 99 99.9", 0, 0, NULL, 0,
     latency_percentiles_parse, latency_percentiles_format, NULL,
     "percentiles INFO latencystats reports, 0..100 separated by spaces (\"\" = none)"},
    {"slowlog-log-slower-than", OPT_INT, MUT, "10000", -1, LL_MAX, NULL,
     OFF(slowlog_log_slower_than), NULL, NULL, NULL,
     "log commands slower than this many microseconds (-1 = off)"},
    {"slowlog-max-len", OPT_INT, MUT, "128", 0, LL_MAX, NULL, OFF(slowlog_max_len),
     NULL, NULL, NULL, "slow log entries kept"},
    {"http-port", OPT_INT, 0, "0", 0, 65535, NULL, OFF(http_port), NULL, NULL, NULL,
     "port for the HTTP interface (/cache/*, /health, /metrics); 0 = off"},
    {"http-tls", OPT_BOOL, 0, "no", 0, 0, NULL, OFF(http_tls), NULL, NULL, NULL,
     "serve HTTPS on http-port with the tls-* certificates (reloads reach new connections)"},
    {"lfu-log-factor", OPT_INT, MUT, "10", 0, 2147483647, NULL, OFF(lfu_log_factor),
     NULL, NULL, apply_runtime, "LFU counter logarithm factor"},
    {"lfu-decay-time", OPT_INT, MUT, "1", 0, 2147483647, NULL, OFF(lfu_decay_time),
     NULL, NULL, apply_runtime, "minutes for the LFU counter to decay by one"},
    {"dir", OPT_STRING, MUT | OPT_PROTECTED, ".", 0, 0, NULL, OFF(dir), NULL, NULL,
     apply_dir, "working directory (CONFIG SET as enable-protected-configs allows)"},
    {"enable-debug-command", OPT_ENUM, 0, "no", 0, 0, protected_action_names,
     OFF(enable_debug_command), NULL, NULL, NULL,
     "who may run DEBUG: no, yes, or local (clients on the loopback address)"},
    {"enable-protected-configs", OPT_ENUM, 0, "no", 0, 0, protected_action_names,
     OFF(enable_protected_configs), NULL, NULL, NULL,
     "who may CONFIG SET dir and dbfilename: no, yes, or local"},
    {"enable-module-command", OPT_ENUM, 0, "no", 0, 0, protected_action_names,
     OFF(enable_module_command), NULL, NULL, NULL,
     "accepted for Redis compatibility; there are no modules"},
    {"sanitize-dump-payload", OPT_ENUM, MUT, "no", 0, 0, sanitize_dump_names,
     OFF(sanitize_dump_payload), NULL, NULL, NULL,
     "accepted for Redis compatibility: RESTORE always validates a payload whole"},
    {"active-expire-effort", OPT_INT, MUT, "1", 1, 10, NULL, OFF(active_expire_effort),
     NULL, NULL, NULL, "share of each tick the active expiry may use (1-10)"},
    {"replicaof", OPT_STRING, 0, "", 0, 0, NULL, OFF(replicaof), NULL, NULL, NULL,
     "\"host port\": start as a replica of that master (REPLICAOF at run time)"},
    {"masterauth", OPT_STRING, MUT | OPT_SENSITIVE, "", 0, 0, NULL, OFF(masterauth),
     NULL, NULL, NULL, "password this replica sends to its master"},
    {"masteruser", OPT_STRING, MUT | OPT_SENSITIVE, "", 0, 0, NULL, OFF(masteruser), NULL, NULL, NULL,
     "user name this replica sends with masterauth (AUTH user pass)"},
    {"replica-read-only", OPT_BOOL, MUT, "yes", 0, 0, NULL, OFF(replica_read_only),
     NULL, NULL, NULL, "refuse client writes on a replica (-READONLY)"},
    {"replica-serve-stale-data", OPT_BOOL, MUT, "yes", 0, 0, NULL,
     OFF(replica_serve_stale_data), NULL, NULL, NULL,
     "serve reads while the link to the master is down (else -MASTERDOWN)"},
    {"replica-priority", OPT_INT, MUT, "100", 0, 2147483647, NULL, OFF(replica_priority),
     NULL, NULL, NULL, "promotion preference for failover (lower first; 0 = never)"},
    {"replica-announce-ip", OPT_STRING, MUT, "", 0, 0, NULL, OFF(replica_announce_ip),
     NULL, NULL, NULL, "address this replica announces to its master"},
    {"replica-announce-port", OPT_INT, MUT, "0", 0, 65535, NULL,
     OFF(replica_announce_port), NULL, NULL, NULL,
     "port this replica announces to its master (0 = its own port)"},
    {"repl-backlog-size", OPT_MEMORY, MUT, "1mb", 1, LL_MAX, NULL,
     OFF(repl_backlog_size), NULL, NULL, apply_backlog_size,
     "bytes of stream kept for partial resyncs"},
    {"rdb-key-save-delay", OPT_INT, MUT | OPT_HIDDEN | OPT_EXACT_NAME, "0", INT_MIN, INT_MAX,
     NULL, OFF(rdb_key_save_delay), NULL, NULL, NULL,
     "testing aid, as in Redis: microseconds slept per key written to a snapshot, full "
     "sync or rewrite (negative -N: 1 us once in N keys)"},
    {"repl-backlog-ttl", OPT_INT, MUT, "3600", 0, 2147483647, NULL, OFF(repl_backlog_ttl),
     NULL, NULL, NULL, "free the backlog after this many seconds without replicas (0 = never)"},
    {"repl-timeout", OPT_INT, MUT, "60", 1, 2147483647, NULL, OFF(repl_timeout), NULL,
     NULL, NULL, "seconds of silence after which a replication link is dropped"},
    {"repl-ping-replica-period", OPT_INT, MUT, "10", 1, 2147483647, NULL,
     OFF(repl_ping_replica_period), NULL, NULL, NULL,
     "seconds between PINGs the master streams to its replicas"},
    {"min-replicas-to-write", OPT_INT, MUT, "0", 0, 2147483647, NULL,
     OFF(min_replicas_to_write), NULL, NULL, NULL,
     "refuse writes (-NOREPLICAS) with fewer good replicas than this (0 = off)"},
    {"min-replicas-max-lag", OPT_INT, MUT, "10", 0, 2147483647, NULL,
     OFF(min_replicas_max_lag), NULL, NULL, NULL,
     "seconds since its last ACK for a replica to count as good"},
    /* persistence (persist.c) */
    {"dbfilename", OPT_STRING, MUT | OPT_PROTECTED, "dump.cachely", 0, 0, NULL,
     OFF(dbfilename), NULL, NULL, apply_dbfilename,
     "snapshot file name, in dir (CONFIG SET as enable-protected-configs allows)"},
    {"save", OPT_SPECIAL, MUT, "", 0, 0, NULL, 0, save_parse, save_format, NULL,
     "\"<seconds> <changes> [...]\": BGSAVE when that many changes are that old "
     "(\"\" = never)"},
    {"appendonly", OPT_BOOL, MUT, "no", 0, 0, NULL, OFF(appendonly), NULL, NULL,
     apply_appendonly, "log every write to the append-only file"},
    {"appendfilename", OPT_STRING, 0, "appendonly.cachely", 0, 0, NULL,
     OFF(appendfilename), NULL, NULL, NULL, "append-only file name, in dir"},
    {"appendfsync", OPT_ENUM, MUT, "everysec", 0, 0, appendfsync_names, OFF(appendfsync),
     NULL, NULL, NULL,
     "fsync the append-only file: always (before replies), everysec or no"},
    {"aof-load-truncated", OPT_BOOL, MUT, "yes", 0, 0, NULL, OFF(aof_load_truncated),
     NULL, NULL, NULL, "at boot, cut an incomplete last command off the append-only "
     "file instead of refusing to start"},
    {"auto-aof-rewrite-percentage", OPT_INT, MUT, "100", 0, 2147483647, NULL,
     OFF(auto_aof_rewrite_percentage), NULL, NULL, NULL,
     "rewrite the append-only file when it grew by this percentage (0 = never)"},
    {"auto-aof-rewrite-min-size", OPT_MEMORY, MUT, "64mb", 0, LL_MAX, NULL,
     OFF(auto_aof_rewrite_min_size), NULL, NULL, NULL,
     "no automatic rewrite below this size"},
    /* collections (thresholds read by the type files) */
    {"hash-max-listpack-entries", OPT_INT, MUT, "512", 0, LL_MAX, NULL, OFF(hash_max_listpack_entries), NULL, NULL, NULL,
     "hashes with more fields use a hash table"},
    {"hash-max-listpack-value", OPT_INT, MUT, "64", 0, LL_MAX, NULL, OFF(hash_max_listpack_value), NULL, NULL, NULL,
     "hashes with a longer field or value use a hash table"},
    {"list-max-listpack-size", OPT_INT, MUT, "-2", INT_MIN, INT_MAX, NULL, OFF(list_max_listpack_size), NULL, NULL, NULL,
     "entries per list node (> 0), or -1..-5 for 4, 8, 16, 32, 64 KiB per node"},
    {"list-compress-depth", OPT_INT, MUT, "0", 0, INT_MAX, NULL, OFF(list_compress_depth), NULL, NULL, NULL,
     "list nodes at each end left uncompressed (0 = no compression)"},
    {"hll-sparse-max-bytes", OPT_MEMORY, MUT, "3000", 0, LL_MAX, NULL, OFF(hll_sparse_max_bytes), NULL, NULL, NULL,
     "a HyperLogLog's sparse form grows to at most this many bytes, then goes dense"},
    {"stream-node-max-entries", OPT_INT, MUT, "100", 0, LL_MAX, NULL, OFF(stream_node_max_entries), NULL, NULL,
     apply_runtime, "a stream node takes at most this many entries (0 = no limit)"},
    {"stream-node-max-bytes", OPT_MEMORY, MUT, "4096", 0, LL_MAX, NULL, OFF(stream_node_max_bytes), NULL, NULL,
     apply_runtime, "a stream node grows to about this many bytes (0 = 1 GB)"},
    {"set-max-intset-entries", OPT_INT, MUT, "512", 0, LL_MAX, NULL, OFF(set_max_intset_entries), NULL, NULL, NULL,
     "integer sets with more members use a hash table"},
    {"set-max-listpack-entries", OPT_INT, MUT, "128", 0, LL_MAX, NULL, OFF(set_max_listpack_entries), NULL, NULL, NULL,
     "small non-integer sets with more members use a hash table"},
    {"set-max-listpack-value", OPT_INT, MUT, "64", 0, LL_MAX, NULL, OFF(set_max_listpack_value), NULL, NULL, NULL,
     "small sets with a longer member use a hash table"},
    {"zset-max-listpack-entries", OPT_INT, MUT, "128", 0, LL_MAX, NULL, OFF(zset_max_listpack_entries), NULL, NULL, NULL,
     "sorted sets with more members use a skip list"},
    {"zset-max-listpack-value", OPT_INT, MUT, "64", 0, LL_MAX, NULL, OFF(zset_max_listpack_value), NULL, NULL, NULL,
     "sorted sets with a longer member use a skip list"},
    {"hash-max-ziplist-entries", OPT_INT, MUT | OPT_HIDDEN, "512", 0, LL_MAX, NULL, OFF(hash_max_listpack_entries), NULL, NULL, NULL,
     "old name of hash-max-listpack-entries"},
    {"hash-max-ziplist-value", OPT_INT, MUT | OPT_HIDDEN, "64", 0, LL_MAX, NULL, OFF(hash_max_listpack_value), NULL, NULL, NULL,
     "old name of hash-max-listpack-value"},
    {"list-max-ziplist-size", OPT_INT, MUT | OPT_HIDDEN, "-2", INT_MIN, INT_MAX, NULL, OFF(list_max_listpack_size), NULL, NULL, NULL,
     "old name of list-max-listpack-size"},
    {"zset-max-ziplist-entries", OPT_INT, MUT | OPT_HIDDEN, "128", 0, LL_MAX, NULL, OFF(zset_max_listpack_entries), NULL, NULL, NULL,
     "old name of zset-max-listpack-entries"},
    {"zset-max-ziplist-value", OPT_INT, MUT | OPT_HIDDEN, "64", 0, LL_MAX, NULL, OFF(zset_max_listpack_value), NULL, NULL, NULL,
     "old name of zset-max-listpack-value"},
    {"lazyfree-lazy-eviction", OPT_BOOL, MUT, "no", 0, 0, NULL, OFF(lazyfree_lazy_eviction), NULL, NULL, apply_runtime,
     "free evicted values in the background"},
    {"lazyfree-lazy-expire", OPT_BOOL, MUT, "no", 0, 0, NULL, OFF(lazyfree_lazy_expire), NULL, NULL, apply_runtime,
     "free expired values in the background"},
    {"lazyfree-lazy-server-del", OPT_BOOL, MUT, "no", 0, 0, NULL, OFF(lazyfree_lazy_server_del), NULL, NULL, apply_runtime,
     "free values the server deletes itself (overwrites, RENAME) in the background"},
    {"lazyfree-lazy-user-del", OPT_BOOL, MUT, "no", 0, 0, NULL, OFF(lazyfree_lazy_user_del), NULL, NULL, apply_runtime,
     "DEL frees in the background like UNLINK"},
    {"lazyfree-lazy-user-flush", OPT_BOOL, MUT, "no", 0, 0, NULL, OFF(lazyfree_lazy_user_flush), NULL, NULL, apply_runtime,
     "FLUSHDB/FLUSHALL without SYNC/ASYNC free in the background"},
    {"io-uring", OPT_BOOL, 0, "yes", 0, 0, NULL, OFF(io_uring), NULL, NULL, NULL,
     "batch the clients' socket reads and writes of a loop turn into one io_uring "
     "system call each when 16 or more are ready (plain connections; falls back "
     "when the kernel refuses)"},
    {"busy-reply-threshold", OPT_INT, MUT, "5000", 0, LL_MAX, NULL, OFF(busy_reply_threshold),
     NULL, NULL, NULL,
     "milliseconds a script may run before other clients get -BUSY (0 = at once)"},
    /* TLS (tls.c): every change rebuilds the contexts; open connections
     * keep the ones they were made with */
    {"tls-port", OPT_INT, MUT, "0", 0, 65535, NULL, OFF(tls_port), NULL, NULL,
     tls_apply_port, "TCP port for TLS clients (0 = none)"},
    {"tls-cert-file", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_cert_file), NULL, NULL,
     tls_apply_config, "server certificate (PEM), also used as client certificate"},
    {"tls-key-file", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_key_file), NULL, NULL,
     tls_apply_config, "private key of tls-cert-file (PEM)"},
    {"tls-key-file-pass", OPT_STRING, MUT | OPT_SENSITIVE, "", 0, 0, NULL,
     OFF(tls_key_file_pass), NULL, NULL, tls_apply_config,
     "passphrase of tls-key-file"},
    {"tls-client-cert-file", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_client_cert_file),
     NULL, NULL, tls_apply_config,
     "certificate presented when connecting to our master (default tls-cert-file)"},
    {"tls-client-key-file", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_client_key_file),
     NULL, NULL, tls_apply_config, "private key of tls-client-cert-file"},
    {"tls-ca-cert-file", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_ca_cert_file), NULL,
     NULL, tls_apply_config, "CA bundle that verifies clients and our master"},
    {"tls-ca-cert-dir", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_ca_cert_dir), NULL,
     NULL, tls_apply_config, "directory of CA certificates (c_rehash layout)"},
    {"tls-auth-clients", OPT_ENUM, MUT, "yes", 0, 0, tls_auth_clients_names,
     OFF(tls_auth_clients), NULL, NULL, tls_apply_config,
     "client certificates: yes (required), no, optional (verified if sent)"},
    {"tls-protocols", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_protocols), NULL, NULL,
     tls_apply_config, "\"TLSv1.2 TLSv1.3\" (empty = TLSv1.2 and up)"},
    {"tls-ciphers", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_ciphers), NULL, NULL,
     tls_apply_config, "TLSv1.2 cipher list (OpenSSL syntax)"},
    {"tls-ciphersuites", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_ciphersuites), NULL,
     NULL, tls_apply_config, "TLSv1.3 cipher suites (OpenSSL syntax)"},
    {"tls-prefer-server-ciphers", OPT_BOOL, MUT, "no", 0, 0, NULL,
     OFF(tls_prefer_server_ciphers), NULL, NULL, tls_apply_config,
     "choose the cipher by the server's preference"},
    {"tls-session-caching", OPT_BOOL, MUT, "yes", 0, 0, NULL, OFF(tls_session_caching),
     NULL, NULL, tls_apply_config, "let clients resume TLS sessions"},
    {"tls-session-cache-size", OPT_INT, MUT, "20480", 0, INT_MAX, NULL,
     OFF(tls_session_cache_size), NULL, NULL, tls_apply_config,
     "TLS sessions kept for resumption"},
    {"tls-session-cache-timeout", OPT_INT, MUT, "300", 0, INT_MAX, NULL,
     OFF(tls_session_cache_timeout), NULL, NULL, tls_apply_config,
     "seconds a cached TLS session stays resumable"},
    {"tls-replication", OPT_BOOL, MUT, "no", 0, 0, NULL, OFF(tls_replication), NULL,
     NULL, tls_apply_config, "connect to our master with TLS"},
    {"tls-client-key-file-pass", OPT_STRING, MUT | OPT_SENSITIVE, "", 0, 0, NULL,
     OFF(tls_client_key_file_pass), NULL, NULL, tls_apply_config,
     "passphrase of tls-client-key-file"},
    {"tls-dh-params-file", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_dh_params_file), NULL,
     NULL, NULL, "accepted for Redis compatibility (OpenSSL 3 picks DH groups itself)"},
    {"tls-cluster", OPT_BOOL, MUT, "no", 0, 0, NULL, OFF(tls_cluster), NULL, NULL,
     tls_apply_config, "accepted for Redis compatibility (no cluster bus); "
     "turns TLS on like tls-port"},
    /* ---- Redis 7.0 options: README's "Redis 7.0 options" table -------- */
    /* with an effect here */
    {"replica-ignore-maxmemory", OPT_BOOL, MUT, "yes", 0, 0, NULL,
     OFF(replica_ignore_maxmemory), NULL, NULL, NULL,
     "a replica leaves eviction to its master (no: it evicts at maxmemory itself)"},
    {"rdbcompression", OPT_BOOL, MUT, "yes", 0, 0, NULL, OFF(rdbcompression), NULL, NULL,
     NULL, "LZF-compress the strings of DUMP and MIGRATE payloads as Redis does (the "
     "snapshot is Cachely's own format)"},
    {"shutdown-on-sigint", OPT_SPECIAL, MUT, "default", 0, 0, NULL, OFF(shutdown_on_sigint),
     shutdown_flags_parse, shutdown_flags_format, NULL,
     "SHUTDOWN flags for SIGINT: default, or any of save, nosave, now, force"},
    {"shutdown-on-sigterm", OPT_SPECIAL, MUT, "default", 0, 0, NULL, OFF(shutdown_on_sigterm),
     shutdown_flags_parse, shutdown_flags_format, NULL,
     "SHUTDOWN flags for SIGTERM: default, or any of save, nosave, now, force"},
    {"stop-writes-on-bgsave-error", OPT_BOOL, MUT, "yes", 0, 0, NULL,
     OFF(stop_writes_on_bgsave_error), NULL, NULL, NULL,
     "after a failed BGSAVE (with save points set), refuse writes and PING with "
     "-MISCONF until one succeeds"},
    {"unixsocket", OPT_STRING, 0, "", 0, 0, NULL, OFF(unixsocket), NULL, NULL, NULL,
     "path of a unix socket to listen on as well (\"\" = none)"},
    {"unixsocketperm", OPT_SPECIAL, 0, "0", 0, 0, NULL, OFF(unixsocketperm), octal_parse,
     octal_format, NULL, "octal mode of the unix socket file (0 = as the umask leaves it)"},
    {"tracking-table-max-keys", OPT_INT, MUT, "1000000", 0, LL_MAX, NULL,
     OFF(tracking_table_max_keys), NULL, NULL, NULL,
     "keys CLIENT TRACKING remembers; over it, random ones are invalidated (0 = no limit)"},
    /* accepted with only their default (node_option_refusals) */
    {"cluster-enabled", OPT_BOOL, 0, "no", 0, 0, NULL, OFF(cluster_enabled), NULL, NULL, NULL,
     "refused when yes: no Redis Cluster mode (cachely-proxy shards)"},
    {"io-threads", OPT_INT, 0, "1", 1, 128, NULL, OFF(io_threads), NULL, NULL, NULL,
     "only 1: no I/O threads (io-uring batches socket I/O)"},
    {"socket-mark-id", OPT_INT, 0, "0", 0, 4294967295LL, NULL, OFF(socket_mark_id), NULL,
     NULL, NULL, "only 0: sockets are not marked"},
    {"bind-source-addr", OPT_STRING, MUT, "", 0, 0, NULL, OFF(bind_source_addr), NULL, NULL,
     NULL, "only \"\": outgoing connections use the address the system picks"},
    {"activedefrag", OPT_BOOL, MUT, "no", 0, 0, NULL, OFF(activedefrag), NULL, NULL, NULL,
     "only no: no active defragmentation"},

    /* accepted and kept, with no effect here (OPT_NO_EFFECT) */
    {"activerehashing", OPT_BOOL, MUT | NOEFF, "yes", 0, 0, NULL, OFF(activerehashing),
     NULL, NULL, NULL, "no effect: tables rehash incrementally anyway"},
    {"rdbchecksum", OPT_BOOL, NOEFF, "yes", 0, 0, NULL, OFF(rdbchecksum), NULL, NULL, NULL,
     "no effect: the snapshot is Cachely's own format, not RDB"},
    {"rdb-save-incremental-fsync", OPT_BOOL, MUT | NOEFF, "yes", 0, 0, NULL,
     OFF(rdb_save_incremental_fsync), NULL, NULL, NULL, "no effect"},
    {"rdb-del-sync-files", OPT_BOOL, MUT | NOEFF, "no", 0, 0, NULL, OFF(rdb_del_sync_files),
     NULL, NULL, NULL, "no effect: replication writes no snapshot file"},
    {"aof-rewrite-incremental-fsync", OPT_BOOL, MUT | NOEFF, "yes", 0, 0, NULL,
     OFF(aof_rewrite_incremental_fsync), NULL, NULL, NULL, "no effect"},
    {"aof-use-rdb-preamble", OPT_BOOL, MUT | NOEFF, "yes", 0, 0, NULL,
     OFF(aof_use_rdb_preamble), NULL, NULL, NULL,
     "no effect: a rewritten append-only file is commands"},
    {"aof-timestamp-enabled", OPT_BOOL, MUT | NOEFF, "no", 0, 0, NULL,
     OFF(aof_timestamp_enabled), NULL, NULL, NULL, "no effect: no timestamp annotations"},
    {"aof-disable-auto-gc", OPT_BOOL, MUT | NOEFF, "no", 0, 0, NULL, OFF(aof_disable_auto_gc),
     NULL, NULL, NULL, "no effect: the append-only file is one file, not a manifest"},
    {"appenddirname", OPT_SPECIAL, OPT_OWNS_STRING | NOEFF, "appendonlydir", 0, 0, NULL,
     OFF(appenddirname), appenddirname_parse, string_format, NULL,
     "no effect: the append-only file is appendfilename in dir"},
    {"no-appendfsync-on-rewrite", OPT_BOOL, MUT | NOEFF, "no", 0, 0, NULL,
     OFF(no_appendfsync_on_rewrite), NULL, NULL, NULL,
     "no effect: appendfsync applies during rewrites too"},
    {"jemalloc-bg-thread", OPT_BOOL, MUT | NOEFF, "yes", 0, 0, NULL, OFF(jemalloc_bg_thread),
     NULL, NULL, NULL, "no effect"},
    {"dynamic-hz", OPT_BOOL, MUT | NOEFF, "yes", 0, 0, NULL, OFF(dynamic_hz), NULL, NULL,
     NULL, "no effect: hz is used as set"},
    {"disable-thp", OPT_BOOL, NOEFF, "yes", 0, 0, NULL, OFF(disable_thp), NULL, NULL, NULL,
     "no effect: transparent huge pages are left as the system sets them"},
    {"server_cpulist", OPT_STRING, NOEFF, "", 0, 0, NULL, OFF(server_cpulist), NULL, NULL,
     NULL, "no effect: no CPU affinity is set"},
    {"bio_cpulist", OPT_STRING, NOEFF, "", 0, 0, NULL, OFF(bio_cpulist), NULL, NULL, NULL,
     "no effect: no CPU affinity is set"},
    {"aof_rewrite_cpulist", OPT_STRING, NOEFF, "", 0, 0, NULL, OFF(aof_rewrite_cpulist), NULL,
     NULL, NULL, "no effect: no CPU affinity is set"},
    {"bgsave_cpulist", OPT_STRING, NOEFF, "", 0, 0, NULL, OFF(bgsave_cpulist), NULL, NULL,
     NULL, "no effect: no CPU affinity is set"},
    {"active-defrag-ignore-bytes", OPT_MEMORY, MUT | NOEFF, "100mb", 1, LL_MAX, NULL,
     OFF(active_defrag_ignore_bytes), NULL, NULL, NULL, "no effect: no active defrag"},
    {"active-defrag-threshold-lower", OPT_INT, MUT | NOEFF, "10", 0, 1000, NULL,
     OFF(active_defrag_threshold_lower), NULL, NULL, NULL, "no effect: no active defrag"},
    {"active-defrag-threshold-upper", OPT_INT, MUT | NOEFF, "100", 0, 1000, NULL,
     OFF(active_defrag_threshold_upper), NULL, NULL, NULL, "no effect: no active defrag"},
    {"active-defrag-cycle-min", OPT_INT, MUT | NOEFF, "1", 1, 99, NULL,
     OFF(active_defrag_cycle_min), NULL, NULL, NULL, "no effect: no active defrag"},
    {"active-defrag-cycle-max", OPT_INT, MUT | NOEFF, "25", 1, 99, NULL,
     OFF(active_defrag_cycle_max), NULL, NULL, NULL, "no effect: no active defrag"},
    {"active-defrag-max-scan-fields", OPT_INT, MUT | NOEFF, "1000", 1, LL_MAX, NULL,
     OFF(active_defrag_max_scan_fields), NULL, NULL, NULL, "no effect: no active defrag"},
    {"oom-score-adj", OPT_SPECIAL, MUT | NOEFF, "no", 0, 0, NULL, OFF(oom_score_adj),
     oom_adj_parse, oom_adj_format, NULL, "no effect: oom_score_adj is left alone"},
    {"oom-score-adj-values", OPT_SPECIAL, MUT | NOEFF, "0 200 800", 0, 0, NULL, 0,
     oom_values_parse, oom_values_format, NULL, "no effect: oom_score_adj is left alone"},
    {"syslog-enabled", OPT_BOOL, NOEFF, "no", 0, 0, NULL, OFF(syslog_enabled), NULL, NULL,
     NULL, "no effect: the log goes to logfile (or standard error)"},
    {"syslog-ident", OPT_STRING, NOEFF, "redis", 0, 0, NULL, OFF(syslog_ident), NULL, NULL,
     NULL, "no effect: no syslog"},
    {"syslog-facility", OPT_ENUM, NOEFF, "local0", 0, 0, syslog_facility_names,
     OFF(syslog_facility), NULL, NULL, NULL, "no effect: no syslog"},
    {"supervised", OPT_ENUM, NOEFF, "no", 0, 0, supervised_names, OFF(supervised), NULL,
     NULL, NULL, "no effect: no upstart/systemd notification (use Type=simple)"},
    {"crash-log-enabled", OPT_BOOL, MUT | NOEFF, "yes", 0, 0, NULL, OFF(crash_log_enabled),
     NULL, NULL, NULL, "no effect: no crash report is written"},
    {"crash-memcheck-enabled", OPT_BOOL, MUT | NOEFF, "yes", 0, 0, NULL,
     OFF(crash_memcheck_enabled), NULL, NULL, NULL, "no effect: no crash memory test"},
    {"ignore-warnings", OPT_STRING, MUT | NOEFF, "", 0, 0, NULL, OFF(ignore_warnings), NULL,
     NULL, NULL, "no effect: Redis's startup system checks are not made"},
    {"repl-disable-tcp-nodelay", OPT_BOOL, MUT | NOEFF, "no", 0, 0, NULL,
     OFF(repl_disable_tcp_nodelay), NULL, NULL, NULL, "no effect"},
    {"repl-diskless-sync", OPT_BOOL, MUT | NOEFF, "yes", 0, 0, NULL, OFF(repl_diskless_sync),
     NULL, NULL, NULL, "no effect: a full sync always streams the snapshot"},
    {"repl-diskless-sync-delay", OPT_INT, MUT | NOEFF, "5", 0, 2147483647, NULL,
     OFF(repl_diskless_sync_delay), NULL, NULL, NULL, "no effect: a full sync starts at once"},
    {"repl-diskless-sync-max-replicas", OPT_INT, MUT | NOEFF, "0", 0, 2147483647, NULL,
     OFF(repl_diskless_sync_max_replicas), NULL, NULL, NULL, "no effect"},
    {"repl-diskless-load", OPT_ENUM, MUT | NOEFF, "disabled", 0, 0, repl_diskless_load_names,
     OFF(repl_diskless_load), NULL, NULL, NULL, "no effect: a replica loads as it reads"},
    {"replica-announced", OPT_BOOL, MUT | NOEFF, "yes", 0, 0, NULL, OFF(replica_announced),
     NULL, NULL, NULL, "no effect"},
    {"replica-ignore-disk-write-errors", OPT_BOOL, MUT | NOEFF, "no", 0, 0, NULL,
     OFF(replica_ignore_disk_write_errors), NULL, NULL, NULL, "no effect"},
    {"replica-lazy-flush", OPT_BOOL, MUT | NOEFF, "no", 0, 0, NULL, OFF(replica_lazy_flush),
     NULL, NULL, NULL, "no effect"},
    {"propagation-error-behavior", OPT_ENUM, MUT | NOEFF, "ignore", 0, 0,
     propagation_error_names, OFF(propagation_error_behavior), NULL, NULL, NULL,
     "no effect: a replica applies its master's stream and ignores its errors"},
    {"maxmemory-eviction-tenacity", OPT_INT, MUT, "10", 0, 100, NULL,
     OFF(maxmemory_eviction_tenacity), NULL, NULL, NULL,
     "how long one command's eviction may run before the rest waits for the next "
     "command: 0-10 up to 500 us, each step above 15 % longer, 100 without limit"},
    {"set-proc-title", OPT_BOOL, NOEFF, "yes", 0, 0, NULL, OFF(set_proc_title), NULL, NULL,
     NULL, "no effect: the process title is not changed"},
    {"proc-title-template", OPT_SPECIAL, MUT | OPT_OWNS_STRING | NOEFF,
     "{title} {listen-addr} {server-mode}", 0, 0, NULL, OFF(proc_title_template),
     proc_title_parse, string_format, NULL, "no effect: the process title is not changed"},
    {"shutdown-timeout", OPT_INT, MUT | NOEFF, "10", 0, 2147483647, NULL,
     OFF(shutdown_timeout), NULL, NULL, NULL, "no effect: SHUTDOWN does not wait for replicas"},
    {"io-threads-do-reads", OPT_BOOL, NOEFF, "no", 0, 0, NULL, OFF(io_threads_do_reads), NULL,
     NULL, NULL, "no effect: no I/O threads"},
    /* Redis Cluster's: kept while cluster-enabled is no, as Redis does */
    {"cluster-config-file", OPT_STRING, NOEFF, "nodes.conf", 0, 0, NULL,
     OFF(cluster_config_file), NULL, NULL, NULL, "no effect: no cluster mode"},
    {"cluster-port", OPT_INT, NOEFF, "0", 0, 65535, NULL, OFF(cluster_port), NULL, NULL, NULL,
     "no effect: no cluster mode"},
    {"cluster-node-timeout", OPT_INT, MUT | NOEFF, "15000", 0, LL_MAX, NULL,
     OFF(cluster_node_timeout), NULL, NULL, NULL, "no effect: no cluster mode"},
    {"cluster-migration-barrier", OPT_INT, MUT | NOEFF, "1", 0, 2147483647, NULL,
     OFF(cluster_migration_barrier), NULL, NULL, NULL, "no effect: no cluster mode"},
    {"cluster-replica-validity-factor", OPT_INT, MUT | NOEFF, "10", 0, 2147483647, NULL,
     OFF(cluster_replica_validity_factor), NULL, NULL, NULL, "no effect: no cluster mode"},
    {"cluster-replica-no-failover", OPT_BOOL, MUT | NOEFF, "no", 0, 0, NULL,
     OFF(cluster_replica_no_failover), NULL, NULL, NULL, "no effect: no cluster mode"},
    {"cluster-require-full-coverage", OPT_BOOL, MUT | NOEFF, "yes", 0, 0, NULL,
     OFF(cluster_require_full_coverage), NULL, NULL, NULL, "no effect: no cluster mode"},
    {"cluster-allow-reads-when-down", OPT_BOOL, MUT | NOEFF, "no", 0, 0, NULL,
     OFF(cluster_allow_reads_when_down), NULL, NULL, NULL, "no effect: no cluster mode"},
    {"cluster-allow-pubsubshard-when-down", OPT_BOOL, MUT | NOEFF, "yes", 0, 0, NULL,
     OFF(cluster_allow_pubsubshard_when_down), NULL, NULL, NULL, "no effect: no cluster mode"},
    {"cluster-allow-replica-migration", OPT_BOOL, MUT | NOEFF, "yes", 0, 0, NULL,
     OFF(cluster_allow_replica_migration), NULL, NULL, NULL, "no effect: no cluster mode"},
    {"cluster-preferred-endpoint-type", OPT_ENUM, MUT | NOEFF, "ip", 0, 0,
     cluster_endpoint_names, OFF(cluster_preferred_endpoint_type), NULL, NULL, NULL,
     "no effect: no cluster mode"},
    {"cluster-announce-ip", OPT_STRING, MUT | NOEFF, "", 0, 0, NULL, OFF(cluster_announce_ip),
     NULL, NULL, NULL, "no effect: no cluster mode"},
    {"cluster-announce-hostname", OPT_SPECIAL, MUT | OPT_OWNS_STRING | NOEFF, "", 0, 0, NULL,
     OFF(cluster_announce_hostname), hostname_parse, string_format, NULL,
     "no effect: no cluster mode"},
    {"cluster-announce-port", OPT_INT, MUT | NOEFF, "0", 0, 65535, NULL,
     OFF(cluster_announce_port), NULL, NULL, NULL, "no effect: no cluster mode"},
    {"cluster-announce-bus-port", OPT_INT, MUT | NOEFF, "0", 0, 65535, NULL,
     OFF(cluster_announce_bus_port), NULL, NULL, NULL, "no effect: no cluster mode"},
    {"cluster-announce-tls-port", OPT_INT, MUT | NOEFF, "0", 0, 65535, NULL,
     OFF(cluster_announce_tls_port), NULL, NULL, NULL, "no effect: no cluster mode"},
    {"cluster-link-sendbuf-limit", OPT_MEMORY, MUT | NOEFF, "0", 0, 0, NULL,
     OFF(cluster_link_sendbuf_limit), NULL, NULL, NULL, "no effect: no cluster mode"},
    {NULL, 0, 0, NULL, 0, 0, NULL, 0, NULL, NULL, NULL, NULL},
};
