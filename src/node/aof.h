/* The append-only file: the replication stream written to disk.  Stream
 * bytes are buffered (aof_feed) and written before replies leave, fsynced
 * per appendfsync; a rewrite (a child persist.c forks) writes the dataset as
 * commands to a temp file, and the stream written meanwhile is appended to
 * it before it replaces the file.  State lives in struct persist. */
#ifndef CACHELY_NODE_AOF_H
#define CACHELY_NODE_AOF_H

#include <stddef.h>
#include <sys/types.h>

struct server;

/* The head of a fresh append-only file (a rewrite, or the first one made
 * from the dataset at boot): the epoch frame when the epoch is not 0.
 * Returns 0, or -1 on a write error. */
int aof_write_head(struct server *srv, int fd);

/* Load the append-only file name, and cut off an incomplete last command
 * (aof-load-truncated).  Returns 0, 1 when absent, or -1 after logging. */
int aof_load(struct server *srv, const char *name);
/* Check and apply an append-only file held in buf[0..len): every command up
 * to the end, or up to an incomplete last command when aof-load-truncated
 * allows it (*good is then where it starts).  Returns 0, or -1 after logging
 * why nothing was loaded. */
int aof_load_buffer(struct server *srv, const char *buf, size_t len, const char *path,
                    size_t *good);

/* Open the file for appending; the next streamed command selects its db. */
int aof_open(struct server *srv);
/* Write the buffered stream to the file.  Returns 0 when all of it left. */
int aof_write_buf(struct server *srv);
void aof_fsync(struct server *srv);
/* Write what is buffered, fsync and close. */
void aof_close(struct server *srv);
/* At boot with no append-only file: write the dataset as its first content. */
int aof_create_from_dataset(struct server *srv);

/* Stream bytes (already RESP) for the file and, while a rewrite runs, for
 * the rewrite buffer. */
void aof_feed(struct server *srv, const char *buf, size_t len);
/* Before replies leave: the buffer reaches the file (fsynced under
 * appendfsync always; a write error then exits, as Redis). */
void aof_before_reply(struct server *srv);
/* Every cron tick: retry a failed write, fsync under everysec. */
void aof_cron(struct server *srv);

/* The rewrite child's temp file ("temp-rewriteaof-bg-<pid>.cachely"). */
void aof_rewrite_temp_name(pid_t pid, char *out, size_t len);
/* In the rewrite child: the dataset as commands, fsynced, into the temp
 * file.  Returns 0 or -1. */
int aof_rewrite_child_write(struct server *srv);
/* The rewrite child pid finished well: its file plus the stream written
 * since it forked becomes the append-only file.  Returns 0 or -1. */
int aof_rewrite_finish(struct server *srv, pid_t pid);

#endif
