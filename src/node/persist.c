/* Persistence (see persist.h): the snapshot file and its loader, the
 * append-only file with its fsync policies and its rewrite, and the one
 * forked child the two share.  Both files are RESP command streams applied
 * at boot through the same dispatch path clients use. */
#include "node/persist.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/log.h"
#include "core/resp.h"
#include "core/status.h"
#include "core/util.h"
#include "node/client.h"
#include "node/dispatch.h"
#include "node/handlers.h"
#include "node/repl.h"
#include "node/server.h"
#include "node/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SNAPSHOT_MAGIC "CACHELY-SNAPSHOT"
#define SNAPSHOT_END "CACHELY-END"
/* Header versions: 2 adds "epoch=<n>" before the time; 3 has the fields of
 * 2 and its checksum covers the header frame too (before, a flipped digit
 * of the replication offset or the epoch loaded silently).  Writers write
 * 3; files of versions 1 and 2 still load, their header unchecked. */
#define SNAPSHOT_VERSION 1
#define SNAPSHOT_VERSION_EPOCH 2
#define SNAPSHOT_VERSION_HEADER_CRC 3
/* The config epoch in the append-only file: ECHO "CACHELY-EPOCH <n>", which
 * the loader takes for the epoch (and any replayer takes for a harmless
 * ECHO). */
#define AOF_EPOCH_PREFIX "CACHELY-EPOCH "
#define BGSAVE_RETRY_SEC 5   /* after a failed BGSAVE, as Redis's retry delay */

/* ---- CRC-64 ----------------------------------------------------------------
 * CRC-64/XZ (ECMA-182 polynomial, reflected, initial and final value all
 * ones; check value of "123456789" is 0x995dc9bbdf1939fa), one table lookup
 * per byte.  crc64(0, ...) starts; passing the result back continues. */

#define CRC64_POLY_REFLECTED 0xc96c5795d7870f42ULL

static uint64_t crc64_table[256];
static int crc64_ready;

static void
crc64_init(void)
{
    for (unsigned i = 0; i < 256; i++) {
        uint64_t c = i;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? (c >> 1) ^ CRC64_POLY_REFLECTED : c >> 1;
        }
        crc64_table[i] = c;
    }
    crc64_ready = 1;
}

static uint64_t
crc64(uint64_t crc, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    if (!crc64_ready) {
        crc64_init();
    }
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc = crc64_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    }
    return ~crc;
}

/* ---- files ------------------------------------------------------------------ */

/* The absolute path of a file in dir (the working directory), for messages. */
static void
abs_path(const char *name, char *out, size_t len)
{
    char cwd[PATH_MAX];
    if (name[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL) {
        snprintf(out, len, "%s", name);
    } else {
        snprintf(out, len, "%s/%s", cwd, name);
    }
}

/* Make a rename durable: fsync the directory holding path. */
static void
fsync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(dir, sizeof(dir), ".");
    } else {
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path + (slash == path)), path);
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* An ECHO frame carrying text: the header and trailer of a snapshot. */
static size_t
fmt_echo(char *out, size_t cap, const char *text)
{
    int n = snprintf(out, cap, "*2\r\n$4\r\nECHO\r\n$%zu\r\n%s\r\n", strlen(text), text);
    return n < 0 ? 0 : (size_t)n;
}

/* ---- writing snapshots ---------------------------------------------------- */

struct body_sum {
    uint64_t crc;
    long long bytes;
};

static void
body_chunk(void *arg, const char *buf, size_t len)
{
    struct body_sum *s = arg;
    s->crc = crc64(s->crc, buf, len);
    s->bytes += (long long)len;
}

/* The ECHO frame that records the config epoch in an append-only file. */
static size_t
fmt_epoch(char *out, size_t cap, long long epoch)
{
    char text[64];
    snprintf(text, sizeof(text), AOF_EPOCH_PREFIX "%lld", epoch);
    return fmt_echo(out, cap, text);
}

/* The head of a fresh append-only file (a rewrite, or the first one made
 * from the dataset at boot): the epoch frame when the epoch is not 0. */
static int
aof_write_head(struct server *srv, int fd)
{
    char frame[128];
    if (srv->repl.config_epoch == 0) {
        return 0;
    }
    return util_write_all(fd, frame, fmt_epoch(frame, sizeof(frame), srv->repl.config_epoch),
                          -1);
}

/* The replication history a snapshot records.  A replica's keyspace matches
 * its offset except while a full sync replaces it (from the handshake that
 * may bring +FULLRESYNC until the end of the transfer, or after a transfer
 * that broke off): then no history is recorded and a restart syncs fully. */
static void
snapshot_history(struct server *srv, char replid[REPL_ID_LEN + 1], long long *offset,
                 int *dbid)
{
    const struct repl *r = &srv->repl;
    *dbid = repl_stream_db(srv);
    if (repl_is_replica(srv)
        && (srv->persist.sync_incomplete || r->link_state == REPL_LINK_HANDSHAKE
            || r->link_state == REPL_LINK_TRANSFER)) {
        memset(replid, '0', REPL_ID_LEN);
        replid[REPL_ID_LEN] = '\0';
        *offset = 0;
        return;
    }
    memcpy(replid, r->replid, REPL_ID_LEN);
    replid[REPL_ID_LEN] = '\0';
    *offset = r->offset;
}

/* Write a whole snapshot file (header, commands, trailer) to path, fsynced. */
static int
snapshot_file_write(struct server *srv, const char *path)
{
    char text[256], frame[320], replid[REPL_ID_LEN + 1];
    long long offset;
    int dbid;
    struct body_sum sum = {0, 0};
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        log_warn("Failed opening the snapshot temp file %s: %s", path, strerror(errno));
        return -1;
    }
    snapshot_history(srv, replid, &offset, &dbid);
    snprintf(text, sizeof(text),
             SNAPSHOT_MAGIC " %d replid=%s offset=%lld db=%d epoch=%lld time=%lld",
             SNAPSHOT_VERSION_HEADER_CRC, replid, offset, dbid, srv->repl.config_epoch,
             util_mstime());
    size_t n = fmt_echo(frame, sizeof(frame), text);
    /* The checksum starts with the header frame (the byte count does not). */
    sum.crc = crc64(0, frame, n);
    int rc = util_write_all(fd, frame, n, -1);
    if (rc == 0) {
        rc = snapshot_write_commands(srv, fd, body_chunk, &sum);
    }
    if (rc == 0) {
        snprintf(text, sizeof(text), SNAPSHOT_END " bytes=%lld crc64=%016llx", sum.bytes,
                 (unsigned long long)sum.crc);
        n = fmt_echo(frame, sizeof(frame), text);
        rc = util_write_all(fd, frame, n, -1);
    }
    if (rc == 0 && fsync(fd) != 0) {
        rc = -1;
    }
    if (rc != 0) {
        log_warn("Write error saving the snapshot to %s: %s", path, strerror(errno));
    }
    close(fd);
    return rc;
}

/* Write the snapshot to a temp file, then rename it over dbfilename. */
static int
snapshot_save_as(struct server *srv, pid_t pid)
{
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "temp-%d.cachely", (int)pid);
    if (snapshot_file_write(srv, tmp) != 0) {
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, srv->cfg.dbfilename) != 0) {
        log_warn("Error moving the temp snapshot file %s to %s: %s", tmp,
                 srv->cfg.dbfilename, strerror(errno));
        unlink(tmp);
        return -1;
    }
    fsync_dir_of(srv->cfg.dbfilename);
    return 0;
}

/* ---- loading ------------------------------------------------------------------
 * Both files are parsed twice: a first pass checks the whole structure (and
 * the snapshot's checksum) without touching the keyspace, so a damaged file
 * never applies half of itself; the second pass applies each command through
 * dispatch with a client that has no socket and whose replies are dropped. */

static struct client *
pseudo_client_create(struct server *srv)
{
    /* MASTER: replies dropped, nothing propagated, no expiry on lookups. */
    struct client *c = client_create_fake(srv, CLIENT_MASTER | CLIENT_AUTHENTICATED);
    snprintf(c->addr, sizeof(c->addr), "loader");
    return c;
}

static void
pseudo_client_destroy(struct client **cp)
{
    client_destroy(cp);
}

struct mapped {
    const char *buf;   /* owned mapping, NULL when empty */
    size_t len;
};

/* Map a file read-only.  Returns 0, 1 when it does not exist, -1 on error. */
static int
map_file(const char *path, struct mapped *m)
{
    struct stat st;
    m->buf = NULL;
    m->len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? 1 : -1;
    }
    if (fstat(fd, &st) != 0) {
        close(fd);
        return -1;
    }
    m->len = (size_t)st.st_size;
    if (m->len > 0) {
        void *p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return -1;
        }
        m->buf = p;
    }
    close(fd);
    return 0;
}

static void
unmap_file(struct mapped *m)
{
    if (m->buf != NULL) {
        munmap((void *)m->buf, m->len);
    }
    m->buf = NULL;
    m->len = 0;
}

/* The next frame at off: STATUS_OK (p->argc/argv/consumed), STATUS_AGAIN
 * when the data ends inside it, STATUS_ERR when it is not a command. */
static int
next_frame(struct resp_parser *p, const char *buf, size_t len, size_t off)
{
    resp_parser_reset(p);
    if (off >= len) {
        return STATUS_AGAIN;
    }
    if (buf[off] != '*') {
        snprintf(p->errstr, sizeof(p->errstr), "expected '*', got byte 0x%02x",
                 (unsigned char)buf[off]);
        return STATUS_ERR;
    }
    int rc = resp_parser_next(p, buf + off, len - off);
    if (rc == STATUS_OK && p->argc == 0) {
        snprintf(p->errstr, sizeof(p->errstr), "empty command");
        return STATUS_ERR;
    }
    return rc;
}

/* If the frame is ECHO <text> with text starting with prefix, copy the text
 * (NUL-terminated) into out and return 1. */
static int
echo_text(const struct resp_parser *p, const char *prefix, char *out, size_t cap)
{
    size_t plen = strlen(prefix);
    if (p->argc != 2 || p->argv[0].len != 4 || strncasecmp(p->argv[0].ptr, "ECHO", 4) != 0
        || p->argv[1].len < plen || memcmp(p->argv[1].ptr, prefix, plen) != 0
        || p->argv[1].len >= cap) {
        return 0;
    }
    memcpy(out, p->argv[1].ptr, p->argv[1].len);
    out[p->argv[1].len] = '\0';
    return 1;
}

static void
parser_setup(struct server *srv, struct resp_parser *p)
{
    resp_parser_init(p);
    p->max_bulk_len = (long long)srv->cfg.proto_max_bulk_len;
    p->unauthenticated = 0;
}

/* If the frame records the config epoch (AOF_EPOCH_PREFIX), take it and
 * return 1. */
static int
load_epoch_frame(struct server *srv, const struct resp_parser *p, const char *path,
                 size_t off)
{
    char text[64];
    long long epoch;
    int used = 0;
    if (!echo_text(p, AOF_EPOCH_PREFIX, text, sizeof(text))) {
        return 0;
    }
    if (sscanf(text, AOF_EPOCH_PREFIX "%lld%n", &epoch, &used) != 1
        || (size_t)used != strlen(text) || epoch < 0) {
        log_warn("Loading %s: bad config epoch record at offset %zu ('%s'); ignored", path,
                 off, text);
        return 1;
    }
    /* Epochs only grow; the last record is the newest. */
    if (epoch > srv->repl.config_epoch) {
        repl_config_epoch_load(srv, epoch);
    }
    return 1;
}

/* A loaded frame must be a command this node runs, with a valid number of
 * arguments.  Returns 0, or -1 with the reason in why. */
static int
frame_command_check(const struct resp_parser *p, char *why, size_t whylen)
{
    const struct command *cmd = command_lookup(p->argv[0].ptr, p->argv[0].len);
    int shown = p->argv[0].len > 64 ? 64 : (int)p->argv[0].len;
    char name[65];

    /* The name as printable text for the log. */
    for (int i = 0; i < shown; i++) {
        unsigned char ch = (unsigned char)p->argv[0].ptr[i];
        name[i] = ch >= 32 && ch < 127 ? (char)ch : '?';
    }
    name[shown] = '\0';
    if (cmd == NULL || !handlers_implements(cmd)) {
        snprintf(why, whylen, "unknown command '%s'", name);
        return -1;
    }
    if (cmd->nsubs > 0 && p->argc >= 2) {
        /* A container (FUNCTION, XGROUP, SCRIPT): its subcommand's row says
         * what it is. */
        const struct command *sub = command_lookup_sub(cmd, p->argv[1].ptr, p->argv[1].len);
        if (sub == NULL) {
            snprintf(why, whylen, "unknown subcommand of '%s'", name);
            return -1;
        }
        cmd = sub;
    }
    if (!command_arity_ok(cmd, p->argc)) {
        snprintf(why, whylen, "wrong number of arguments (%zu) for '%s'", p->argc, name);
        return -1;
    }
    /* The files hold the write stream: writes and what else may replicate
     * (PUBLISH), MULTI/EXEC around a transaction's or a script's effects,
     * SCRIPT LOAD, SELECT, the epoch ECHO, and the PING and REPLCONF
     * GETACK a master sends its replicas.  Anything else (SHUTDOWN,
     * CONFIG, DEBUG, SAVE...) is damage, not to be run. */
    if (!(cmd->flags & (CMD_WRITE | CMD_MAY_REPLICATE)) && cmd->id != CMD_ID_SELECT
        && cmd->id != CMD_ID_ECHO && cmd->id != CMD_ID_MULTI && cmd->id != CMD_ID_EXEC
        && cmd->id != CMD_ID_SCRIPT_LOAD
        && cmd->id != CMD_ID_PING
        && !(cmd->id == CMD_ID_REPLCONF && p->argc == 3
             && p->argv[1].len == 6 && strncasecmp(p->argv[1].ptr, "getack", 6) == 0)) {
        snprintf(why, whylen, "command '%s' does not belong in a loaded file", name);
        return -1;
    }
    return 0;
}

/* Apply every frame of buf[start..end) (already checked). */
static void
apply_frames(struct server *srv, struct resp_parser *p, const char *buf, size_t start,
             size_t end, const char *path)
{
    struct client *c = pseudo_client_create(srv);
    size_t off = start;
    long long failed = 0;
    while (off < end) {
        if (next_frame(p, buf, end, off) != STATUS_OK) {
            break; /* cannot happen: the first pass checked it */
        }
        if (load_epoch_frame(srv, p, path, off)) {
            off += p->consumed;
            continue;
        }
        c->argc = p->argc;
        c->argv = p->argv;
        c->cmd_errors = 0;
        dispatch_command(c);
        if (c->cmd_errors > 0 && failed++ == 0) {
            log_warn("Loading %s: the command at offset %zu failed (%.*s); going on",
                     path, off, (int)(p->argv[0].len > 32 ? 32 : p->argv[0].len),
                     p->argv[0].ptr);
        }
        c->argc = 0;
        c->argv = NULL;
        off += p->consumed;
    }
    if (failed > 1) {
        log_warn("Loading %s: %lld commands failed", path, failed);
    }
    pseudo_client_destroy(&c);
}

struct snap_header {
    int version;
    char replid[REPL_ID_LEN + 1];
    long long offset;
    int dbid;                 /* database the stream was in at that offset */
    long long epoch;          /* config epoch; 0 in a version 1 header */
    long long time_ms;
};

/* Parse a header's text.  Returns 0, or -1 with the reason in why. */
static int
snapshot_parse_header(const char *text, struct snap_header *h, char *why, size_t whylen)
{
    int version = 0, used = 0, n;
    if (sscanf(text, SNAPSHOT_MAGIC " %d ", &version) != 1) {
        snprintf(why, whylen, "not a Cachely snapshot (bad header)");
        return -1;
    }
    h->epoch = 0;
    if (version == SNAPSHOT_VERSION) {
        n = sscanf(text, SNAPSHOT_MAGIC " %d replid=%40[0-9a-f] offset=%lld db=%d time=%lld%n",
                   &version, h->replid, &h->offset, &h->dbid, &h->time_ms, &used);
        n = n == 5 ? 0 : -1;
    } else if (version == SNAPSHOT_VERSION_EPOCH || version == SNAPSHOT_VERSION_HEADER_CRC) {
        n = sscanf(text,
                   SNAPSHOT_MAGIC " %d replid=%40[0-9a-f] offset=%lld db=%d epoch=%lld "
                   "time=%lld%n",
                   &version, h->replid, &h->offset, &h->dbid, &h->epoch, &h->time_ms, &used);
        n = n == 6 && h->epoch >= 0 ? 0 : -1;
    } else {
        snprintf(why, whylen, "unsupported snapshot version %d", version);
        return -1;
    }
    if (n != 0 || (size_t)used != strlen(text) || strlen(h->replid) != REPL_ID_LEN) {
        snprintf(why, whylen, "not a Cachely snapshot (bad header)");
        return -1;
    }
    h->version = version;
    return 0;
}

/* Check a snapshot file: header, commands, trailer (byte count, checksum),
 * nothing after it.  Returns 0 with the body's range, or -1 with the
 * offset and reason. */
static int
snapshot_check(struct resp_parser *p, const struct mapped *m, struct snap_header *h,
               size_t *body_start, size_t *body_end, size_t *bad_off, char *why,
               size_t whylen)
{
    char text[256], crchex[17];
    int used = 0;
    long long bytes;
    size_t off = 0;

    int rc = next_frame(p, m->buf, m->len, 0);
    if (rc != STATUS_OK || !echo_text(p, SNAPSHOT_MAGIC " ", text, sizeof(text))) {
        *bad_off = 0;
        snprintf(why, whylen, "%s", m->len == 0 ? "empty file" : "not a Cachely snapshot "
                 "(bad header)");
        return -1;
    }
    if (snapshot_parse_header(text, h, why, whylen) != 0) {
        *bad_off = 0;
        return -1;
    }
    off = p->consumed;
    *body_start = off;
    /* Version 3 and later: the checksum covers the header frame too. */
    uint64_t crc = h->version >= SNAPSHOT_VERSION_HEADER_CRC ? crc64(0, m->buf, off) : 0;
    for (;;) {
        rc = next_frame(p, m->buf, m->len, off);
        if (rc == STATUS_AGAIN) {
            *bad_off = off;
            snprintf(why, whylen, "%s", off >= m->len ? "truncated file (no end marker)"
                                                      : "truncated file (incomplete command)");
            return -1;
        }
        if (rc != STATUS_OK) {
            *bad_off = off;
            snprintf(why, whylen, "bad command (%s)", p->errstr);
            return -1;
        }
        if (echo_text(p, SNAPSHOT_END " ", text, sizeof(text))) {
            break;
        }
        if (frame_command_check(p, why, whylen) != 0) {
            *bad_off = off;
            return -1;
        }
        crc = crc64(crc, m->buf + off, p->consumed);
        off += p->consumed;
    }
    *bad_off = off;
    if (sscanf(text, SNAPSHOT_END " bytes=%lld crc64=%16[0-9a-f]%n", &bytes, crchex,
               &used) != 2 || (size_t)used != strlen(text) || strlen(crchex) != 16) {
        snprintf(why, whylen, "bad end marker");
        return -1;
    }
    if (bytes != (long long)(off - *body_start)) {
        snprintf(why, whylen, "length mismatch (end marker says %lld bytes, found %zu)",
                 bytes, off - *body_start);
        return -1;
    }
    if (strtoull(crchex, NULL, 16) != crc) {
        snprintf(why, whylen, "checksum mismatch (end marker says %s, computed %016llx)",
                 crchex, (unsigned long long)crc);
        return -1;
    }
    if (off + p->consumed != m->len) {
        *bad_off = off + p->consumed;
        snprintf(why, whylen, "unexpected data after the end marker");
        return -1;
    }
    *body_end = off;
    return 0;
}

/* Check and apply a snapshot held in m (path names it in the log).
 * Returns 0, or -1 after logging why nothing was loaded. */
static int
snapshot_load_mapped(struct server *srv, const struct mapped *m, const char *path)
{
    char why[160];
    struct resp_parser p;
    struct snap_header h;
    size_t start = 0, end = 0, bad = 0;
    long long t0 = util_mstime();

    parser_setup(srv, &p);
    if (snapshot_check(&p, m, &h, &start, &end, &bad, why, sizeof(why)) != 0) {
        log_error("Bad snapshot file %s at offset %zu: %s", path, bad, why);
        resp_parser_free(&p);
        return -1;
    }
    apply_frames(srv, &p, m->buf, start, end, path);
    resp_parser_free(&p);
    srv->persist.loaded_keys = (long long)keyspace_size(&srv->ks);
    repl_config_epoch_load(srv, h.epoch);
    log_info("Snapshot %s loaded: %lld keys in %lld ms (saved at %lld ms, replication "
             "offset %lld, config epoch %lld)", path, srv->persist.loaded_keys,
             util_mstime() - t0, h.time_ms, h.offset, h.epoch);
    /* A replica continues the history it saved: its first PSYNC asks for
     * offset+1 of that id, and the master can answer +CONTINUE. */
    if (repl_is_replica(srv) && h.offset > 0
        && strspn(h.replid, "0") != REPL_ID_LEN) {
        memcpy(srv->repl.replid, h.replid, REPL_ID_LEN + 1);
        srv->repl.offset = h.offset;
        srv->repl.psync_known = 1;
        srv->repl.master_db = h.dbid >= 0 && h.dbid < srv->ks.ndb ? h.dbid : 0;
        srv->repl.backlog_idx = 0;
        srv->repl.backlog_histlen = 0;
        log_info("Replication history from the snapshot: id %s, offset %lld", h.replid,
                 h.offset);
    }
    return 0;
}

/* Load the snapshot file.  Returns 0 (also when absent) or -1. */
static int
snapshot_load(struct server *srv, const char *name)
{
    char path[PATH_MAX + 64];
    struct mapped m;

    abs_path(name, path, sizeof(path));
    int rc = map_file(name, &m);
    if (rc == 1) {
        return 0;
    }
    if (rc < 0) {
        log_error("Can't read the snapshot file %s: %s", path, strerror(errno));
        return -1;
    }
    rc = snapshot_load_mapped(srv, &m, path);
    unmap_file(&m);
    return rc;
}

/* Check and apply an append-only file held in m: every command up to the
 * end, or up to an incomplete last command when aof-load-truncated allows
 * it (*good is then where it starts).  Returns 0, or -1 after logging why
 * nothing was loaded. */
static int
aof_load_mapped(struct server *srv, const struct mapped *m, const char *path, size_t *good)
{
    char why[160];
    struct resp_parser p;
    size_t off = 0;
    int rc = STATUS_OK;

    /* A MULTI ... EXEC block applies all or nothing: a file that ends
     * inside one (a crash while its block was being written) is truncated
     * before its MULTI, as Redis reverts an incomplete transaction. */
    size_t multi_off = SIZE_MAX;
    parser_setup(srv, &p);
    while (off < m->len) {
        rc = next_frame(&p, m->buf, m->len, off);
        if (rc != STATUS_OK) {
            break;
        }
        if (p.argc == 1 && p.argv[0].len == 5 && strncasecmp(p.argv[0].ptr, "MULTI", 5) == 0) {
            multi_off = off;
        } else if (p.argc == 1 && p.argv[0].len == 4
                   && strncasecmp(p.argv[0].ptr, "EXEC", 4) == 0) {
            multi_off = SIZE_MAX;
        }
        /* A command this node does not know, or with the wrong number of
         * arguments, is damage (a flipped byte turned SET into SEU): Redis
         * refuses to start, and so do we; aof-load-truncated is only for
         * an incomplete last command. */
        if (frame_command_check(&p, why, sizeof(why)) != 0) {
            log_error("Bad append-only file %s at offset %zu: %s; the file is damaged, "
                      "refusing to start (aof-load-truncated only cuts an incomplete last "
                      "command)", path, off, why);
            resp_parser_free(&p);
            return -1;
        }
        off += p.consumed;
    }
    if (off < m->len && rc == STATUS_ERR) {
        log_error("Bad append-only file %s at offset %zu: bad command (%s)", path, off,
                  p.errstr);
        resp_parser_free(&p);
        return -1;
    }
    if (multi_off != SIZE_MAX) {
        if (!srv->cfg.aof_load_truncated) {
            log_error("Bad append-only file %s at offset %zu: unfinished MULTI/EXEC block; "
                      "aof-load-truncated yes would load up to it", path, multi_off);
            resp_parser_free(&p);
            return -1;
        }
        log_warn("!!! Warning: the append-only file %s ends inside a MULTI/EXEC block "
                 "(offset %zu): reverting the incomplete transaction and cutting the file "
                 "there (aof-load-truncated yes) !!!", path, multi_off);
        off = multi_off;
    } else if (off < m->len) {
        if (!srv->cfg.aof_load_truncated) {
            log_error("Bad append-only file %s at offset %zu: truncated file (incomplete "
                      "last command); aof-load-truncated yes would load up to it", path, off);
            resp_parser_free(&p);
            return -1;
        }
        log_warn("!!! Warning: the append-only file %s is truncated at offset %zu (an "
                 "incomplete last command of %zu bytes): loading up to it and cutting "
                 "the file there (aof-load-truncated yes) !!!", path, off, m->len - off);
    }
    *good = off;
    apply_frames(srv, &p, m->buf, 0, off, path);
    resp_parser_free(&p);
    return 0;
}

/* Load the append-only file (see aof_load_mapped), and cut off an
 * incomplete last command.  Returns 0, 1 when absent, or -1. */
static int
aof_load(struct server *srv, const char *name)
{
    char path[PATH_MAX + 64];
    struct mapped m;
    size_t good = 0;
    long long t0 = util_mstime();

    abs_path(name, path, sizeof(path));
    int rc = map_file(name, &m);
    if (rc == 1) {
        return 1;
    }
    if (rc < 0) {
        log_error("Can't read the append-only file %s: %s", path, strerror(errno));
        return -1;
    }
    rc = aof_load_mapped(srv, &m, path, &good);
    size_t total = m.len;
    unmap_file(&m);
    if (rc != 0) {
        return -1;
    }
    if (good < total && truncate(name, (off_t)good) != 0) {
        log_error("Could not truncate the append-only file %s to %zu bytes: %s", path, good,
                  strerror(errno));
        return -1;
    }
    srv->persist.aof_size = (long long)good;
    srv->persist.aof_base_size = (long long)good;
    srv->persist.loaded_keys = (long long)keyspace_size(&srv->ks);
    log_info("Append-only file %s loaded: %zu bytes, %lld keys in %lld ms", path, good,
             srv->persist.loaded_keys, util_mstime() - t0);
    return 0;
}

int
persist_load_buffer(struct server *srv, int aof, const char *buf, size_t len)
{
    struct mapped m = {len > 0 ? buf : NULL, len};
    size_t good = 0;
    return aof ? aof_load_mapped(srv, &m, "(buffer)", &good)
               : snapshot_load_mapped(srv, &m, "(buffer)");
}

/* ---- the append-only file ------------------------------------------------- */

static void
buf_append(char **buf, size_t *len, size_t *cap, const char *p, size_t n)
{
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 16384;
        while (c < *len + n) {
            c *= 2;
        }
        *buf = mem_realloc(*buf, c);
        *cap = c;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
}

/* SELECT <db> as RESP, for a replica's AOF that starts mid-stream. */
static size_t
fmt_select(char *out, int db)
{
    char num[24];
    size_t n = util_ll2str(num, db);
    return (size_t)sprintf(out, "*2\r\n$6\r\nSELECT\r\n$%zu\r\n%s\r\n", n, num);
}

/* The db the next raw bytes of a replica's stream apply to. */
static int
replica_stream_db(const struct server *srv)
{
    const struct client *m = srv->repl.master;
    return m != NULL && m->db != NULL ? m->db->id : 0;
}

/* Open the AOF for appending; the next streamed command selects its db. */
static int
aof_open(struct server *srv)
{
    struct persist *ps = &srv->persist;
    struct stat st;
    int fd = open(srv->cfg.appendfilename, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        log_error("Can't open the append-only file %s: %s", srv->cfg.appendfilename,
                  strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) == 0) {
        ps->aof_size = (long long)st.st_size;
    }
    ps->aof_fd = fd;
    ps->aof_state = AOF_ON;
    ps->aof_need_select = 1;
    ps->aof_last_fsync_ms = util_mstime();
    srv->repl.stream_db = -1;
    return 0;
}

/* Write the buffered stream to the file.  Returns 0 when all of it left. */
static int
aof_write_buf(struct server *srv)
{
    struct persist *ps = &srv->persist;
    size_t done = 0;
    while (done < ps->aof_len) {
        ssize_t n = write(ps->aof_fd, ps->aof_buf + done, ps->aof_len - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (ps->aof_last_write_ok) {
                log_warn("Error writing to the append-only file: %s", strerror(errno));
            }
            ps->aof_last_write_ok = 0;
            break;
        }
        done += (size_t)n;
    }
    if (done > 0) {
        memmove(ps->aof_buf, ps->aof_buf + done, ps->aof_len - done);
        ps->aof_len -= done;
        ps->aof_size += (long long)done;
        ps->aof_unsynced = 1;
    }
    if (ps->aof_len == 0 && !ps->aof_last_write_ok) {
        log_warn("The append-only file is writable again.");
        ps->aof_last_write_ok = 1;
    }
    /* Shrink a buffer a burst made large. */
    if (ps->aof_len == 0 && ps->aof_cap > 4 * 1024 * 1024) {
        mem_free(ps->aof_buf);
        ps->aof_buf = NULL;
        ps->aof_cap = 0;
    }
    return ps->aof_len == 0 ? 0 : -1;
}

static void
aof_fsync(struct server *srv)
{
    struct persist *ps = &srv->persist;
    if (ps->aof_fd >= 0 && ps->aof_unsynced) {
        if (fdatasync(ps->aof_fd) != 0) {
            log_warn("fsync of the append-only file failed: %s", strerror(errno));
        }
        ps->aof_unsynced = 0;
        ps->aof_last_fsync_ms = util_mstime();
    }
}

static void
aof_close(struct server *srv)
{
    struct persist *ps = &srv->persist;
    if (ps->aof_fd >= 0) {
        aof_write_buf(srv);
        aof_fsync(srv);
        close(ps->aof_fd);
        ps->aof_fd = -1;
    }
    ps->aof_len = 0;
}

/* At boot with no append-only file: write the dataset (loaded from the
 * snapshot, or empty) as its first content, so the next boot finds it. */
static int
aof_create_from_dataset(struct server *srv)
{
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "temp-rewriteaof-%d.cachely", (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || aof_write_head(srv, fd) != 0
        || snapshot_write_commands(srv, fd, NULL, NULL) != 0 || fsync(fd) != 0) {
        log_error("Can't create the append-only file: %s", strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        unlink(tmp);
        return -1;
    }
    close(fd);
    if (rename(tmp, srv->cfg.appendfilename) != 0) {
        log_error("Can't create the append-only file %s: %s", srv->cfg.appendfilename,
                  strerror(errno));
        unlink(tmp);
        return -1;
    }
    fsync_dir_of(srv->cfg.appendfilename);
    return 0;
}

/* ---- the persistence child ------------------------------------------------ */

static void
child_temp_name(int kind, pid_t pid, char *out, size_t len)
{
    if (kind == PERSIST_CHILD_SAVE) {
        snprintf(out, len, "temp-%d.cachely", (int)pid);
    } else {
        snprintf(out, len, "temp-rewriteaof-bg-%d.cachely", (int)pid);
    }
}

/* The rewrite child: the dataset as commands, fsynced, into its temp file. */
static int
rewrite_child_write(struct server *srv)
{
    char tmp[64];
    child_temp_name(PERSIST_CHILD_REWRITE, getpid(), tmp, sizeof(tmp));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        log_warn("Opening the temp file for the AOF rewrite: %s", strerror(errno));
        return -1;
    }
    int rc = aof_write_head(srv, fd);
    if (rc == 0) {
        rc = snapshot_write_commands(srv, fd, NULL, NULL);
    }
    if (rc == 0 && fsync(fd) != 0) {
        rc = -1;
    }
    close(fd);
    return rc;
}

static int
child_start(struct server *srv, int kind)
{
    struct persist *ps = &srv->persist;
    if (kind == PERSIST_CHILD_REWRITE) {
        /* The stream from now on goes to the rewrite buffer too, starting
         * with a SELECT (see persist_feed for a replica's raw stream). */
        srv->repl.stream_db = -1;
        ps->rw_len = 0;
        ps->rw_need_select = 1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        log_warn("Can't fork for %s: %s",
                 kind == PERSIST_CHILD_SAVE ? "BGSAVE" : "BGREWRITEAOF", strerror(errno));
        if (kind == PERSIST_CHILD_SAVE) {
            ps->last_bgsave_ok = 0;
        } else {
            ps->aof_last_rewrite_ok = 0;
        }
        return -1;
    }
    if (pid == 0) {
        util_child_die_with_parent(parent);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        int rc = kind == PERSIST_CHILD_SAVE ? snapshot_save_as(srv, getpid())
                                            : rewrite_child_write(srv);
        _exit(rc == 0 ? 0 : 1);
    }
    ps->child = pid;
    ps->child_kind = kind;
    ps->child_start_ms = util_mstime();
    ps->dirty_at_fork = srv->ks.dirty;
    if (kind == PERSIST_CHILD_SAVE) {
        ps->last_bgsave_try = util_mstime() / 1000;
        ps->rdb_saves++;
        log_info("Background saving started by pid %d", (int)pid);
    } else {
        log_info("Background append only file rewriting started by pid %d", (int)pid);
    }
    return 0;
}

static void
child_kill(struct server *srv)
{
    struct persist *ps = &srv->persist;
    char tmp[64];
    if (ps->child <= 0) {
        return;
    }
    kill(ps->child, SIGKILL);
    waitpid(ps->child, NULL, 0);
    child_temp_name(ps->child_kind, ps->child, tmp, sizeof(tmp));
    unlink(tmp);
    if (ps->child_kind == PERSIST_CHILD_REWRITE) {
        ps->rw_len = 0;
    }
    ps->child = -1;
    ps->child_kind = PERSIST_CHILD_NONE;
}

/* The rewrite child finished well: its file plus the stream written since
 * it forked becomes the append-only file. */
static int
rewrite_finish(struct server *srv, pid_t pid)
{
    struct persist *ps = &srv->persist;
    char tmp[64];
    child_temp_name(PERSIST_CHILD_REWRITE, pid, tmp, sizeof(tmp));
    /* What is still buffered was also copied to the rewrite buffer: it goes
     * to the old file first, so both stay complete. */
    if (ps->aof_state == AOF_ON) {
        aof_write_buf(srv);
    }
    int fd = open(tmp, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0 || util_write_all(fd, ps->rw_buf, ps->rw_len, -1) != 0 || fsync(fd) != 0) {
        log_warn("Error finishing the AOF rewrite in %s: %s", tmp, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, srv->cfg.appendfilename) != 0) {
        log_warn("Error moving the rewritten AOF %s to %s: %s", tmp, srv->cfg.appendfilename,
                 strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    fsync_dir_of(srv->cfg.appendfilename);
    long long size = (long long)lseek(fd, 0, SEEK_END);
    if (ps->aof_state == AOF_OFF) {
        close(fd);
    } else {
        if (ps->aof_fd >= 0) {
            aof_fsync(srv);
            close(ps->aof_fd);
        }
        ps->aof_fd = fd;
        if (ps->aof_state == AOF_WAIT_REWRITE) {
            log_info("Append-only file enabled: the rewrite is its first content.");
            ps->aof_len = 0;
        }
        ps->aof_state = AOF_ON;
        ps->aof_unsynced = 0;
        /* A replica's raw stream had no command since the fork: the next
         * one must select its db. */
        if (ps->rw_need_select) {
            ps->aof_need_select = 1;
        }
    }
    ps->aof_size = size;
    ps->aof_base_size = size;
    log_info("Background AOF rewrite finished successfully (%lld bytes, %zu of them "
             "written meanwhile)", size, ps->rw_len);
    return 0;
}

int
persist_child_exited(struct server *srv, pid_t pid, int status)
{
    struct persist *ps = &srv->persist;
    char tmp[64];
    if (ps->child <= 0 || pid != ps->child) {
        return 0;
    }
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    long long secs = (util_mstime() - ps->child_start_ms + 500) / 1000;
    int kind = ps->child_kind;
    ps->child = -1;
    ps->child_kind = PERSIST_CHILD_NONE;
    child_temp_name(kind, pid, tmp, sizeof(tmp));
    if (kind == PERSIST_CHILD_SAVE) {
        ps->last_bgsave_time_sec = secs;
        if (ok) {
            ps->lastsave = util_mstime() / 1000;
            ps->dirty_at_save = ps->dirty_at_fork;
            ps->last_bgsave_ok = 1;
            log_info("Background saving terminated with success");
        } else {
            ps->last_bgsave_ok = 0;
            unlink(tmp);
            log_warn("Background saving %s", WIFSIGNALED(status) ? "terminated by signal"
                                                                   : "error");
        }
    } else {
        ps->aof_last_rewrite_time_sec = secs;
        if (ok && rewrite_finish(srv, pid) == 0) {
            ps->aof_last_rewrite_ok = 1;
            ps->aof_rewrites++;
        } else {
            if (!ok) {
                unlink(tmp);
                log_warn("Background AOF rewrite %s", WIFSIGNALED(status)
                                                           ? "terminated by signal"
                                                           : "failed");
            }
            ps->aof_last_rewrite_ok = 0;
            if (ps->aof_state == AOF_WAIT_REWRITE) {
                ps->aof_rewrite_scheduled = 1; /* retried by the cron */
            }
        }
        ps->rw_len = 0;
        if (ps->rw_cap > 4 * 1024 * 1024) {
            mem_free(ps->rw_buf);
            ps->rw_buf = NULL;
            ps->rw_cap = 0;
        }
    }
    return 1;
}

/* ---- commands ----------------------------------------------------------------- */

int
persist_save(struct server *srv)
{
    struct persist *ps = &srv->persist;
    if (ps->child_kind == PERSIST_CHILD_SAVE) {
        return PERSIST_IN_PROGRESS;
    }
    ps->rdb_saves++;
    if (snapshot_save_as(srv, getpid()) != 0) {
        return PERSIST_FAILED;
    }
    ps->lastsave = util_mstime() / 1000;
    ps->dirty_at_save = srv->ks.dirty;
    log_info("DB saved on disk");
    return PERSIST_OK;
}

int
persist_bgsave(struct server *srv, int schedule)
{
    struct persist *ps = &srv->persist;
    if (ps->child_kind == PERSIST_CHILD_SAVE) {
        return PERSIST_IN_PROGRESS;
    }
    if (ps->child > 0) {
        if (!schedule) {
            return PERSIST_CHILD_BUSY;
        }
        ps->bgsave_scheduled = 1;
        return PERSIST_SCHEDULED;
    }
    return child_start(srv, PERSIST_CHILD_SAVE) == 0 ? PERSIST_OK : PERSIST_FAILED;
}

int
persist_bgrewriteaof(struct server *srv)
{
    struct persist *ps = &srv->persist;
    if (ps->child_kind == PERSIST_CHILD_REWRITE) {
        return PERSIST_IN_PROGRESS;
    }
    if (ps->child > 0) {
        ps->aof_rewrite_scheduled = 1;
        return PERSIST_SCHEDULED;
    }
    return child_start(srv, PERSIST_CHILD_REWRITE) == 0 ? PERSIST_OK : PERSIST_FAILED;
}

long long
persist_lastsave(const struct server *srv)
{
    return srv->persist.lastsave;
}

int
persist_shutdown(struct server *srv, int save)
{
    struct persist *ps = &srv->persist;
    if (save < 0) {
        ps->final_saved = 1; /* NOSAVE: nothing more to write */
        return 0;
    }
    if (save == 0 && srv->cfg.nsave == 0) {
        return 0;
    }
    if (ps->child_kind == PERSIST_CHILD_SAVE) {
        child_kill(srv);
    }
    log_info("Saving the final snapshot before exiting.");
    if (persist_save(srv) != PERSIST_OK) {
        log_warn("Error trying to save the DB, can't exit.");
        return -1;
    }
    ps->final_saved = 1;
    return 0;
}

int
persist_apply_appendonly(struct server *srv, char *err, size_t errlen)
{
    struct persist *ps = &srv->persist;
    if (!srv->cfg.appendonly) {
        if (ps->aof_state != AOF_OFF) {
            if (ps->child_kind == PERSIST_CHILD_REWRITE) {
                child_kill(srv);
            }
            ps->aof_rewrite_scheduled = 0;
            aof_close(srv);
            ps->aof_state = AOF_OFF;
            log_info("Append-only file disabled.");
        }
        return 0;
    }
    if (ps->aof_state != AOF_OFF) {
        return 0;
    }
    /* As Redis: the file starts as a rewrite of the dataset; the stream
     * written meanwhile follows it. */
    ps->aof_state = AOF_WAIT_REWRITE;
    if (ps->child_kind == PERSIST_CHILD_REWRITE) {
        child_kill(srv);
    }
    if (ps->child > 0) {
        ps->aof_rewrite_scheduled = 1;
        return 0;
    }
    if (child_start(srv, PERSIST_CHILD_REWRITE) != 0) {
        ps->aof_state = AOF_OFF;
        snprintf(err, errlen, "Unable to turn on AOF. Check server logs.");
        return -1;
    }
    return 0;
}

/* "<seconds> <changes> [...]" into points; "" gives none. */
int
persist_parse_save(const char *value, struct save_point *points, int *npoints)
{
    const char *p = value;
    int n = 0, words = 0;
    long long v[2];
    while (*p) {
        while (*p == ' ') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        const char *start = p;
        while (*p && *p != ' ') {
            p++;
        }
        if (util_str2ll(start, (size_t)(p - start), &v[words % 2]) != 0
            || v[words % 2] < 0) {
            return -1;
        }
        words++;
        if (words % 2 == 0) {
            if (n == PERSIST_MAX_SAVE_POINTS) {
                return -1;
            }
            points[n].seconds = v[0];
            points[n].changes = v[1];
            n++;
        }
    }
    if (words % 2 != 0) {
        return -1;
    }
    *npoints = n;
    return 0;
}

/* ---- the contract ---------------------------------------------------------- */

int
persist_aof_on(const struct server *srv)
{
    return srv->persist.aof_state != AOF_OFF;
}

void
persist_record_epoch(struct server *srv)
{
    char frame[128];
    if (persist_aof_on(srv)) {
        persist_feed(srv, frame, fmt_epoch(frame, sizeof(frame), srv->repl.config_epoch));
    }
}

void
persist_feed(struct server *srv, const char *buf, size_t len)
{
    struct persist *ps = &srv->persist;
    char sel[64];
    /* A master's stream selects a db after stream_db was reset; a replica
     * relays its master's bytes, so a SELECT of the db they apply to is
     * added where the file (or the rewrite buffer) starts mid-stream. */
    if (ps->aof_state == AOF_ON) {
        if (ps->aof_need_select && repl_is_replica(srv)) {
            buf_append(&ps->aof_buf, &ps->aof_len, &ps->aof_cap, sel,
                       fmt_select(sel, replica_stream_db(srv)));
        }
        ps->aof_need_select = 0;
        buf_append(&ps->aof_buf, &ps->aof_len, &ps->aof_cap, buf, len);
    }
    if (ps->child_kind == PERSIST_CHILD_REWRITE) {
        if (ps->rw_need_select && repl_is_replica(srv)) {
            buf_append(&ps->rw_buf, &ps->rw_len, &ps->rw_cap, sel,
                       fmt_select(sel, replica_stream_db(srv)));
        }
        ps->rw_need_select = 0;
        buf_append(&ps->rw_buf, &ps->rw_len, &ps->rw_cap, buf, len);
    }
}

void
persist_before_sleep(struct server *srv)
{
    struct persist *ps = &srv->persist;
    const struct repl *r = &srv->repl;
    /* Remember whether a full sync is replacing the dataset (see
     * snapshot_history). */
    if (!repl_is_replica(srv) || r->link_state == REPL_LINK_CONNECTED) {
        ps->sync_incomplete = 0;
    } else if (r->link_state == REPL_LINK_HANDSHAKE || r->link_state == REPL_LINK_TRANSFER) {
        ps->sync_incomplete = 1;
    }
    persist_before_reply(srv);
}

void
persist_before_reply(struct server *srv)
{
    struct persist *ps = &srv->persist;
    if (ps->aof_state != AOF_ON || ps->aof_len == 0) {
        return;
    }
    if (aof_write_buf(srv) != 0 && srv->cfg.appendfsync == APPENDFSYNC_ALWAYS) {
        /* Replies are about to leave for writes that are not on disk. */
        log_error("Can't recover from an append-only file write error when the fsync "
                  "policy is 'always'. Exiting...");
        exit(1);
    }
    if (srv->cfg.appendfsync == APPENDFSYNC_ALWAYS) {
        aof_fsync(srv);
    }
}

void
persist_cron(struct server *srv)
{
    struct persist *ps = &srv->persist;
    long long now = util_mstime();
    long long unix_now = now / 1000;

    if (ps->aof_state == AOF_ON) {
        if (ps->aof_len > 0) {
            aof_write_buf(srv); /* retry after a write error */
        }
        if (srv->cfg.appendfsync == APPENDFSYNC_EVERYSEC && ps->aof_unsynced
            && now - ps->aof_last_fsync_ms >= 1000) {
            aof_fsync(srv);
        }
    }
    /* A replica that finished a full sync holds a new dataset: its AOF
     * must restart from it. */
    if (ps->aof_state == AOF_ON && repl_is_replica(srv)
        && srv->repl.link_state == REPL_LINK_CONNECTED
        && srv->repl.transfer_start_ms != ps->repl_transfer_seen) {
        ps->repl_transfer_seen = srv->repl.transfer_start_ms;
        log_info("Full sync done: rewriting the append-only file from the new dataset.");
        ps->aof_rewrite_scheduled = 1;
    }
    if (ps->child > 0) {
        return;
    }
    if (ps->bgsave_scheduled) {
        ps->bgsave_scheduled = 0;
        child_start(srv, PERSIST_CHILD_SAVE);
        return;
    }
    if (ps->aof_rewrite_scheduled) {
        ps->aof_rewrite_scheduled = 0;
        child_start(srv, PERSIST_CHILD_REWRITE);
        return;
    }
    long long changes = srv->ks.dirty - ps->dirty_at_save;
    for (int i = 0; i < srv->cfg.nsave; i++) {
        const struct save_point *sp = &srv->cfg.save[i];
        if (changes >= sp->changes && unix_now - ps->lastsave > sp->seconds
            && (ps->last_bgsave_ok || unix_now - ps->last_bgsave_try > BGSAVE_RETRY_SEC)) {
            log_info("%lld changes in %lld seconds. Saving...", sp->changes, sp->seconds);
            child_start(srv, PERSIST_CHILD_SAVE);
            return;
        }
    }
    if (ps->aof_state == AOF_ON && srv->cfg.auto_aof_rewrite_percentage > 0
        && ps->aof_size > (long long)srv->cfg.auto_aof_rewrite_min_size) {
        long long base = ps->aof_base_size > 0 ? ps->aof_base_size : 1;
        long long growth = ps->aof_size * 100 / base - 100;
        if (growth >= srv->cfg.auto_aof_rewrite_percentage) {
            log_info("Starting automatic rewriting of AOF on %lld%% growth", growth);
            child_start(srv, PERSIST_CHILD_REWRITE);
        }
    }
}

int
persist_setup(struct server *srv)
{
    struct persist *ps = &srv->persist;
    memset(ps, 0, sizeof(*ps));
    ps->child = -1;
    ps->aof_fd = -1;
    ps->lastsave = srv->stats.start_ms / 1000;
    ps->last_bgsave_ok = 1;
    ps->aof_last_write_ok = 1;
    ps->aof_last_rewrite_ok = 1;
    ps->last_bgsave_time_sec = -1;
    ps->aof_last_rewrite_time_sec = -1;
    ps->repl_transfer_seen = srv->repl.transfer_start_ms;

    int aof_missing = 1;
    if (srv->cfg.appendonly) {
        int rc = aof_load(srv, srv->cfg.appendfilename);
        if (rc < 0) {
            return -1;
        }
        aof_missing = rc == 1;
    }
    if (aof_missing && snapshot_load(srv, srv->cfg.dbfilename) != 0) {
        return -1;
    }
    ps->dirty_at_save = srv->ks.dirty;
    if (srv->cfg.appendonly) {
        if (aof_missing && aof_create_from_dataset(srv) != 0) {
            return -1;
        }
        if (aof_open(srv) != 0) {
            return -1;
        }
        ps->aof_base_size = ps->aof_size;
    }
    return 0;
}

void
persist_teardown(struct server *srv)
{
    struct persist *ps = &srv->persist;
    child_kill(srv);
    if (ps->aof_state != AOF_OFF) {
        aof_close(srv);
        ps->aof_state = AOF_OFF;
    }
    if (!ps->final_saved && srv->cfg.nsave > 0) {
        log_info("Saving the final snapshot before exiting.");
        if (persist_save(srv) != PERSIST_OK) {
            log_error("Error trying to save the DB before exiting.");
        }
    }
    mem_free(ps->aof_buf);
    ps->aof_buf = NULL;
    ps->aof_cap = 0;
    mem_free(ps->rw_buf);
    ps->rw_buf = NULL;
    ps->rw_cap = 0;
}

/* ---- DEBUG RELOAD / LOADAOF -------------------------------------------------- */

/* Empty every database, without propagating anything. */
static void
flush_all_dbs(struct server *srv)
{
    for (int i = 0; i < srv->ks.ndb; i++) {
        db_flush(&srv->ks.dbs[i]);
    }
}

int
persist_debug_reload(struct server *srv, int save, int flush, char *err, size_t errlen)
{
    if (save && persist_save(srv) != PERSIST_OK) {
        snprintf(err, errlen, "-ERR");
        return -1;
    }
    if (access(srv->cfg.dbfilename, R_OK) != 0) {
        snprintf(err, errlen, "Error trying to load the RDB dump");
        return -1;
    }
    if (flush) {
        flush_all_dbs(srv);
    }
    if (snapshot_load(srv, srv->cfg.dbfilename) != 0) {
        snprintf(err, errlen, "Error trying to load the RDB dump");
        return -1;
    }
    /* The dataset is the file's: nothing is left for the save schedule. */
    srv->persist.dirty_at_save = srv->ks.dirty;
    log_info("DB reloaded by DEBUG RELOAD");
    return 0;
}

int
persist_debug_loadaof(struct server *srv, char *err, size_t errlen)
{
    struct persist *ps = &srv->persist;
    if (ps->aof_state != AOF_ON) {
        snprintf(err, errlen, "DEBUG LOADAOF needs the append-only file on "
                              "(appendonly yes, and its first rewrite done)");
        return -1;
    }
    /* Everything acknowledged must be in the file before it is read back. */
    persist_before_reply(srv);
    if (ps->aof_len > 0 || !ps->aof_last_write_ok) {
        snprintf(err, errlen, "Could not write the append-only file buffer; see the log");
        return -1;
    }
    flush_all_dbs(srv);
    if (aof_load(srv, srv->cfg.appendfilename) != 0) {
        snprintf(err, errlen, "Error trying to load the append-only file; see the log");
        return -1;
    }
    log_info("Append only file loaded by DEBUG LOADAOF");
    return 0;
}
