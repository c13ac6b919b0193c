/* Persistence (see persist.h), the orchestration: the persistence state,
 * the one persistence child (BGSAVE or AOF rewrite, forked through child.c),
 * save schedules and rewrite triggers, the commands, boot and shutdown.  The
 * files themselves are snapfile.c (snapshot) and aof.c (append-only file),
 * both read through cmdfile.c. */
#include "node/persist.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/util.h"
#include "node/aof.h"
#include "node/child.h"
#include "node/cmdfile.h"
#include "node/repl.h"
#include "node/server.h"
#include "node/snapfile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define BGSAVE_RETRY_SEC 5   /* after a failed BGSAVE, as Redis's retry delay */

int
persist_load_buffer(struct server *srv, int aof, const char *buf, size_t len)
{
    size_t good = 0;
    return aof ? aof_load_buffer(srv, buf, len, "(buffer)", &good)
               : snapfile_load_buffer(srv, buf, len, "(buffer)");
}

/* ---- the persistence child ------------------------------------------------ */

static void
child_temp_name(int kind, pid_t pid, char *out, size_t len)
{
    if (kind == PERSIST_CHILD_SAVE) {
        snapfile_temp_name(pid, out, len);
    } else {
        aof_rewrite_temp_name(pid, out, len);
    }
}

static void on_child_exit(struct server *srv, pid_t pid, int status, void *arg);

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
    pid_t pid = child_fork(srv, kind == PERSIST_CHILD_SAVE ? CHILD_SNAPSHOT : CHILD_AOF_REWRITE,
                           on_child_exit, NULL);
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
        int rc = kind == PERSIST_CHILD_SAVE ? snapfile_save(srv, getpid())
                                            : aof_rewrite_child_write(srv);
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
child_stop(struct server *srv)
{
    struct persist *ps = &srv->persist;
    char tmp[64];
    if (ps->child <= 0) {
        return;
    }
    child_kill(ps->child);
    child_temp_name(ps->child_kind, ps->child, tmp, sizeof(tmp));
    unlink(tmp);
    if (ps->child_kind == PERSIST_CHILD_REWRITE) {
        ps->rw_len = 0;
    }
    ps->child = -1;
    ps->child_kind = PERSIST_CHILD_NONE;
}

/* child.c reaped the persistence child. */
static void
on_child_exit(struct server *srv, pid_t pid, int status, void *arg)
{
    struct persist *ps = &srv->persist;
    char tmp[64];
    (void)arg;
    if (ps->child <= 0 || pid != ps->child) {
        return;
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
        if (ok && aof_rewrite_finish(srv, pid) == 0) {
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
    if (snapfile_save(srv, getpid()) != 0) {
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
persist_writes_denied(const struct server *srv)
{
    return srv->cfg.stop_writes_on_bgsave_error && srv->cfg.nsave > 0
           && !srv->persist.last_bgsave_ok;
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
        child_stop(srv);
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
                /* Redis's words: its test suite waits for this line. */
                log_info("Killing running AOF rewrite child: %ld", (long)ps->child);
                child_stop(srv);
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
        child_stop(srv);
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
        persist_feed(srv, frame, cmdfile_fmt_epoch(frame, sizeof(frame), srv->repl.config_epoch));
    }
}

void
persist_feed(struct server *srv, const char *buf, size_t len)
{
    aof_feed(srv, buf, len);
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
    aof_before_reply(srv);
}

void
persist_cron(struct server *srv)
{
    struct persist *ps = &srv->persist;
    long long unix_now = util_mstime() / 1000;

    aof_cron(srv);
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
    if (aof_missing && snapfile_load(srv, srv->cfg.dbfilename) != 0) {
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
    child_stop(srv);
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
    if (snapfile_load(srv, srv->cfg.dbfilename) != 0) {
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
