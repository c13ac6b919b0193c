/* Persistence, off by default as for a cache: snapshot files (SAVE, BGSAVE,
 * "save <seconds> <changes>" schedules, loaded at boot) and the append-only
 * file (appendonly yes), which is the replication stream written to disk.
 *
 * Both files are RESP command streams that redis-cli --pipe can replay.  A
 * snapshot file is the full-sync stream framed by an ECHO header (format
 * version, replication id and offset, config epoch, time) and an ECHO
 * trailer (byte count, and a checksum over the header frame and the body);
 * it is written to a temp file, fsynced and renamed.  The append-only file grows with every write (and an ECHO
 * record of each config epoch change) and is rewritten (BGREWRITEAOF) as a
 * snapshot followed by the writes made meanwhile.
 *
 * This module orchestrates (the state, the one persistence child, schedules,
 * commands, boot and shutdown); snapfile.c and aof.c own the two files,
 * cmdfile.c what reading them shares, child.c the forked children. */
#ifndef CACHELY_NODE_PERSIST_H
#define CACHELY_NODE_PERSIST_H

#include <stddef.h>
#include <sys/types.h>

struct server;

/* appendfsync values, in Redis's order (its error message lists them so). */
#define APPENDFSYNC_LIST(X)                                                 \
    X(EVERYSEC, "everysec")                                                 \
    X(ALWAYS, "always")                                                     \
    X(NO, "no")

enum appendfsync {
#define AFS_ENUM(sym, name) APPENDFSYNC_##sym,
    APPENDFSYNC_LIST(AFS_ENUM)
#undef AFS_ENUM
};
extern const char *const appendfsync_names[];

#define PERSIST_MAX_SAVE_POINTS 16

/* One "save <seconds> <changes>" point. */
struct save_point {
    long long seconds;
    long long changes;
};

enum persist_child_kind { PERSIST_CHILD_NONE = 0, PERSIST_CHILD_SAVE, PERSIST_CHILD_REWRITE };
enum aof_state { AOF_OFF = 0, AOF_ON, AOF_WAIT_REWRITE };

/* Persistence state, embedded in struct server; only persist.c writes it,
 * INFO reads it. */
struct persist {
    /* snapshots */
    long long lastsave;            /* unix seconds of the last good save */
    long long dirty_at_save;       /* ks.dirty the last good save covered */
    long long dirty_at_fork;       /* ks.dirty when the running child forked */
    long long last_bgsave_try;     /* unix seconds */
    int last_bgsave_ok;
    long long last_bgsave_time_sec; /* -1: none yet */
    long long rdb_saves;
    int bgsave_scheduled;          /* BGSAVE SCHEDULE waiting for a child */
    long long loaded_keys;
    int final_saved;               /* SHUTDOWN already wrote the last one */
    int sync_incomplete;           /* a replica's full sync began, not ended */

    /* the one persistence child (BGSAVE or rewrite) */
    pid_t child;                   /* -1 none */
    int child_kind;                /* enum persist_child_kind */
    long long child_start_ms;

    /* the append-only file */
    int aof_state;                 /* enum aof_state */
    int aof_fd;                    /* -1 closed */
    char *aof_buf;                 /* owned: stream bytes not yet written */
    size_t aof_len, aof_cap;
    long long aof_size;            /* bytes in the file */
    long long aof_base_size;       /* size after the last rewrite or load */
    long long aof_last_fsync_ms;
    int aof_unsynced;              /* written since the last fsync */
    int aof_need_select;           /* a replica's AOF must start with SELECT */
    int aof_last_write_ok;
    int aof_rewrite_scheduled;
    int aof_last_rewrite_ok;
    long long aof_rewrites;
    long long aof_last_rewrite_time_sec; /* -1: none yet */
    char *rw_buf;                  /* owned: stream since the rewrite forked */
    size_t rw_len, rw_cap;
    int rw_need_select;
    long long repl_transfer_seen;  /* repl.transfer_start_ms already handled */
};

/* At boot, after the keyspace and replication exist: load the append-only
 * file when appendonly is on, else the snapshot file when present (a
 * replica also takes its replication id and offset from it, so it can
 * resume with a partial resync).  A corrupt or truncated file stops boot:
 * returns -1 after logging a message that names the file and the offset.
 * A command the node does not know (or with a wrong argument count) is
 * damage too; aof-load-truncated only lets an incomplete last command of
 * the append-only file be cut off.
 * Then opens the append-only file for writing when appendonly is on. */
int persist_setup(struct server *srv);
/* The loaders on a buffer (tests/fuzz/fuzz_loader.c): check buf[0..len) as
 * a snapshot file (aof 0) or an append-only file (aof 1) and apply it to
 * the keyspace as loading that file at boot does, touching no file.
 * Returns 0, or -1 after logging why nothing was applied. */
int persist_load_buffer(struct server *srv, int aof, const char *buf, size_t len);
/* At shutdown: write a final snapshot when save points are configured or
 * the node is a replica with persistence on, flush and close the AOF. */
void persist_teardown(struct server *srv);
/* True when stream bytes must reach the append-only file. */
int persist_aof_on(const struct server *srv);
/* True when writes are refused (-MISCONF) because the last BGSAVE failed:
 * stop-writes-on-bgsave-error yes, with save points set, as Redis 7.0. */
int persist_writes_denied(const struct server *srv);
/* Bytes of the write stream (already RESP, SELECTs included) for the AOF. */
void persist_feed(struct server *srv, const char *buf, size_t len);
/* The config epoch (repl.config_epoch) changed: record it in the AOF, as
 * the frame ECHO "CACHELY-EPOCH <n>" that loading takes back.  (Snapshots
 * carry it in their header.) */
void persist_record_epoch(struct server *srv);
/* Before the loop sleeps, i.e. before replies leave: write the AOF buffer,
 * and fsync it under appendfsync always. */
void persist_before_sleep(struct server *srv);
/* Before any reply is written: the append-only buffer reaches the file
 * (fsynced under appendfsync always), so no reply acknowledges a write that
 * is not there.  Returns at once when the buffer is empty. */
void persist_before_reply(struct server *srv);
/* Every cron tick: save schedules, everysec fsync, rewrite triggers. */
void persist_cron(struct server *srv);

/* ---- for the command handlers (cmd_persist.c, SHUTDOWN, CONFIG SET) ------ */
enum persist_rc {
    PERSIST_OK = 0,          /* done (SAVE) or started (BGSAVE, rewrite) */
    PERSIST_SCHEDULED,       /* will start when the running child ends */
    PERSIST_IN_PROGRESS,     /* the same kind of child already runs */
    PERSIST_CHILD_BUSY,      /* another child runs (BGSAVE without SCHEDULE) */
    PERSIST_FAILED,          /* see the log */
};
/* SAVE: write the snapshot file now, blocking.  Returns a persist_rc. */
int persist_save(struct server *srv);
/* BGSAVE [SCHEDULE]: fork a child writing the snapshot file. */
int persist_bgsave(struct server *srv, int schedule);
/* BGREWRITEAOF: fork a child rewriting the append-only file. */
int persist_bgrewriteaof(struct server *srv);
/* LASTSAVE: unix seconds of the last successful save (boot time at first). */
long long persist_lastsave(const struct server *srv);
/* SHUTDOWN: save (1), nosave (-1) or as configured (0).  Writes the final
 * snapshot now when one is due; returns -1 when it failed (the shutdown
 * must then be refused). */
int persist_shutdown(struct server *srv, int save);
/* CONFIG SET appendonly: start (with a rewrite, as Redis does) or stop the
 * append-only file.  Returns 0, or -1 with a reason in err. */
int persist_apply_appendonly(struct server *srv, char *err, size_t errlen);
/* DEBUG RELOAD: save the snapshot (when save), empty the databases (when
 * flush; else the file's keys overwrite the ones present), and load the
 * snapshot file back, without propagating anything.  Returns 0, or -1
 * with Redis's error text in err (a failed load leaves what was loaded). */
int persist_debug_reload(struct server *srv, int save, int flush, char *err,
                         size_t errlen);
/* DEBUG LOADAOF: write the append-only buffer to the file, empty the
 * databases and load the file back.  Refused (-1, reason in err) unless the
 * append-only file is on; Redis exits there instead. */
int persist_debug_loadaof(struct server *srv, char *err, size_t errlen);
/* Format/parse the "save" option ("<seconds> <changes> ..."). */
int persist_parse_save(const char *value, struct save_point *points, int *npoints);

#endif
