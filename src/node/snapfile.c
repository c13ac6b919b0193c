/* The snapshot file (see snapfile.h): the full-sync stream framed by an
 * ECHO header and an ECHO trailer with a byte count and a CRC-64, written
 * to a temp file and renamed, checked whole before any of it is applied. */
#include "node/snapfile.h"
#include "core/crc64.h"
#include "core/log.h"
#include "core/resp.h"
#include "core/status.h"
#include "core/util.h"
#include "node/cmdfile.h"
#include "node/repl.h"
#include "node/server.h"
#include "node/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* ---- CRC-64 ----------------------------------------------------------------
 * CRC-64/XZ (ECMA-182 polynomial, reflected, initial and final value all
 * ones; check value of "123456789" is 0x995dc9bbdf1939fa), one table lookup
 * per byte.  crc64(0, ...) starts; passing the result back continues. */

static struct crc64_table ecma = CRC64_TABLE(0xc96c5795d7870f42ULL);

static uint64_t
crc64(uint64_t crc, const void *buf, size_t len)
{
    return ~crc64_update(&ecma, ~crc, buf, len);
}

/* ---- writing ---------------------------------------------------------------- */

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
    size_t n = cmdfile_fmt_echo(frame, sizeof(frame), text);
    /* The checksum starts with the header frame (the byte count does not). */
    sum.crc = crc64(0, frame, n);
    int rc = util_write_all(fd, frame, n, -1);
    if (rc == 0) {
        rc = snapshot_write_commands(srv, fd, body_chunk, &sum);
    }
    if (rc == 0) {
        snprintf(text, sizeof(text), SNAPSHOT_END " bytes=%lld crc64=%016llx", sum.bytes,
                 (unsigned long long)sum.crc);
        n = cmdfile_fmt_echo(frame, sizeof(frame), text);
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

void
snapfile_temp_name(pid_t pid, char *out, size_t len)
{
    snprintf(out, len, "temp-%d.cachely", (int)pid);
}

/* Write the snapshot to a temp file, then rename it over dbfilename. */
int
snapfile_save(struct server *srv, pid_t pid)
{
    char tmp[64];
    snapfile_temp_name(pid, tmp, sizeof(tmp));
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
    cmdfile_fsync_dir(srv->cfg.dbfilename);
    return 0;
}

/* ---- loading ---------------------------------------------------------------- */

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
snapshot_check(struct resp_parser *p, const struct cmdfile_map *m, struct snap_header *h,
               size_t *body_start, size_t *body_end, size_t *bad_off, char *why,
               size_t whylen)
{
    char text[256], crchex[17];
    int used = 0;
    long long bytes;
    size_t off = 0;

    int rc = cmdfile_next_frame(p, m->buf, m->len, 0);
    if (rc != STATUS_OK || !cmdfile_echo_text(p, SNAPSHOT_MAGIC " ", text, sizeof(text))) {
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
        rc = cmdfile_next_frame(p, m->buf, m->len, off);
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
        if (cmdfile_echo_text(p, SNAPSHOT_END " ", text, sizeof(text))) {
            break;
        }
        if (cmdfile_check_command(p, why, whylen) != 0) {
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
int
snapfile_load_buffer(struct server *srv, const char *buf, size_t len, const char *path)
{
    const struct cmdfile_map mm = {len > 0 ? buf : NULL, len};
    const struct cmdfile_map *m = &mm;
    char why[160];
    struct resp_parser p;
    struct snap_header h;
    size_t start = 0, end = 0, bad = 0;
    long long t0 = util_mstime();

    cmdfile_parser_setup(srv, &p);
    if (snapshot_check(&p, m, &h, &start, &end, &bad, why, sizeof(why)) != 0) {
        log_error("Bad snapshot file %s at offset %zu: %s", path, bad, why);
        resp_parser_free(&p);
        return -1;
    }
    cmdfile_apply(srv, &p, m->buf, start, end, path);
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
int
snapfile_load(struct server *srv, const char *name)
{
    char path[PATH_MAX + 64];
    struct cmdfile_map m;

    cmdfile_abs_path(name, path, sizeof(path));
    int rc = cmdfile_map(name, &m);
    if (rc == 1) {
        return 0;
    }
    if (rc < 0) {
        log_error("Can't read the snapshot file %s: %s", path, strerror(errno));
        return -1;
    }
    rc = snapfile_load_buffer(srv, m.buf, m.len, path);
    cmdfile_unmap(&m);
    return rc;
}
