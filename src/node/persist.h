/* Persistence, off by default as for a cache: snapshot files (SAVE, BGSAVE,
 * "save <seconds> <changes>" schedules, loaded at boot) and the append-only
 * file (appendonly yes), which is the replication stream written to disk.
 *
 * Both files are RESP command streams that redis-cli --pipe can replay.  A
 * snapshot file is the full-sync stream framed by an ECHO header (format
 * version, replication id and offset, time) and an ECHO trailer (byte count
 * and checksum); it is written to a temp file, fsynced and renamed.  The
 * append-only file grows with every write and is rewritten (BGREWRITEAOF) as
 * a snapshot followed by the writes made meanwhile. */
#ifndef CACHELY_NODE_PERSIST_H
#define CACHELY_NODE_PERSIST_H

#include <stddef.h>
#include <sys/types.h>

struct server;

/* At boot, after the keyspace and replication exist: load the append-only
 * file when appendonly is on, else the snapshot file when present (a
 * replica also takes its replication id and offset from it, so it can
 * resume with a partial resync).  A corrupt or truncated file stops boot:
 * returns -1 after logging a message that names the file and the offset.
 * Then opens the append-only file for writing when appendonly is on. */
int persist_setup(struct server *srv);
/* At shutdown: write a final snapshot when save points are configured or
 * the node is a replica with persistence on, flush and close the AOF. */
void persist_teardown(struct server *srv);
/* True when stream bytes must reach the append-only file. */
int persist_aof_on(const struct server *srv);
/* Bytes of the write stream (already RESP, SELECTs included) for the AOF. */
void persist_feed(struct server *srv, const char *buf, size_t len);
/* Before the loop sleeps, i.e. before replies leave: write the AOF buffer,
 * and fsync it under appendfsync always. */
void persist_before_sleep(struct server *srv);
/* Every cron tick: save schedules, everysec fsync, rewrite triggers. */
void persist_cron(struct server *srv);
/* A forked child exited; returns 1 if it was one of persistence's. */
int persist_child_exited(struct server *srv, pid_t pid, int status);

#endif
