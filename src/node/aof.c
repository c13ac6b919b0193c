/* The append-only file (see aof.h): the write stream buffered and written
 * before replies leave, fsynced by policy, loaded at boot (with
 * aof-load-truncated for an incomplete last command), and rewritten by a
 * forked child (persist.c starts it) as the dataset plus what was written
 * meanwhile. */
#include "node/aof.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/resp.h"
#include "core/status.h"
#include "core/util.h"
#include "node/client.h"
#include "node/cmdfile.h"
#include "node/persist.h"
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
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The head of a fresh append-only file (a rewrite, or the first one made
 * from the dataset at boot): the epoch frame when the epoch is not 0. */
int
aof_write_head(struct server *srv, int fd)
{
    char frame[128];
    if (srv->repl.config_epoch == 0) {
        return 0;
    }
    return util_write_all(fd, frame, cmdfile_fmt_epoch(frame, sizeof(frame), srv->repl.config_epoch),
                          -1);
}

/* ---- loading ---------------------------------------------------------------- */

/* Check and apply an append-only file held in m: every command up to the
 * end, or up to an incomplete last command when aof-load-truncated allows
 * it (*good is then where it starts).  Returns 0, or -1 after logging why
 * nothing was loaded. */
int
aof_load_buffer(struct server *srv, const char *buf, size_t len, const char *path,
                size_t *good)
{
    const struct cmdfile_map mm = {len > 0 ? buf : NULL, len};
    const struct cmdfile_map *m = &mm;
    char why[160];
    struct resp_parser p;
    size_t off = 0;
    int rc = STATUS_OK;

    /* A MULTI ... EXEC block applies all or nothing: a file that ends
     * inside one (a crash while its block was being written) is truncated
     * before its MULTI, as Redis reverts an incomplete transaction. */
    size_t multi_off = SIZE_MAX;
    cmdfile_parser_setup(srv, &p);
    while (off < m->len) {
        rc = cmdfile_next_frame(&p, m->buf, m->len, off);
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
        if (cmdfile_check_command(&p, why, sizeof(why)) != 0) {
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
    cmdfile_apply(srv, &p, m->buf, 0, off, path);
    resp_parser_free(&p);
    return 0;
}

/* Load the append-only file (see aof_load_mapped), and cut off an
 * incomplete last command.  Returns 0, 1 when absent, or -1. */
int
aof_load(struct server *srv, const char *name)
{
    char path[PATH_MAX + 64];
    struct cmdfile_map m;
    size_t good = 0;
    long long t0 = util_mstime();

    cmdfile_abs_path(name, path, sizeof(path));
    int rc = cmdfile_map(name, &m);
    if (rc == 1) {
        return 1;
    }
    if (rc < 0) {
        log_error("Can't read the append-only file %s: %s", path, strerror(errno));
        return -1;
    }
    rc = aof_load_buffer(srv, m.buf, m.len, path, &good);
    size_t total = m.len;
    cmdfile_unmap(&m);
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

/* ---- writing ---------------------------------------------------------------- */

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
int
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
int
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

void
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

void
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
int
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
    cmdfile_fsync_dir(srv->cfg.appendfilename);
    return 0;
}

void
aof_feed(struct server *srv, const char *buf, size_t len)
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
aof_before_reply(struct server *srv)
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
aof_cron(struct server *srv)
{
    struct persist *ps = &srv->persist;
    if (ps->aof_state != AOF_ON) {
        return;
    }
    if (ps->aof_len > 0) {
        aof_write_buf(srv); /* retry after a write error */
    }
    if (srv->cfg.appendfsync == APPENDFSYNC_EVERYSEC && ps->aof_unsynced
        && util_mstime() - ps->aof_last_fsync_ms >= 1000) {
        aof_fsync(srv);
    }
}

/* ---- the rewrite ------------------------------------------------------------ */

void
aof_rewrite_temp_name(pid_t pid, char *out, size_t len)
{
    snprintf(out, len, "temp-rewriteaof-bg-%d.cachely", (int)pid);
}

/* The rewrite child: the dataset as commands, fsynced, into its temp file. */
int
aof_rewrite_child_write(struct server *srv)
{
    char tmp[64];
    aof_rewrite_temp_name(getpid(), tmp, sizeof(tmp));
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

/* The rewrite child finished well: its file plus the stream written since
 * it forked becomes the append-only file. */
int
aof_rewrite_finish(struct server *srv, pid_t pid)
{
    struct persist *ps = &srv->persist;
    char tmp[64];
    aof_rewrite_temp_name(pid, tmp, sizeof(tmp));
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
    cmdfile_fsync_dir(srv->cfg.appendfilename);
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
