/* The snapshot file: the full-sync stream (snapshot.c writes the commands)
 * framed by an ECHO header (format version, replication id and offset,
 * config epoch, time) and an ECHO trailer (byte count, and a CRC-64 over the
 * header frame and the body).  It is written to a temp file, fsynced and
 * renamed; loading checks the whole file before applying any of it. */
#ifndef CACHELY_NODE_SNAPFILE_H
#define CACHELY_NODE_SNAPFILE_H

#include <stddef.h>
#include <sys/types.h>

struct server;

/* The temp file a save by process pid writes ("temp-<pid>.cachely"). */
void snapfile_temp_name(pid_t pid, char *out, size_t len);
/* Write the snapshot to snapfile_temp_name(pid) and rename it over
 * dbfilename (pid: the writing process, the node or a forked child).
 * Returns 0, or -1 after logging (the temp file removed). */
int snapfile_save(struct server *srv, pid_t pid);
/* Load the snapshot file name.  Returns 0 (also when absent) or -1 after
 * logging why nothing was loaded.  A replica takes its replication history
 * from the header. */
int snapfile_load(struct server *srv, const char *name);
/* The same on buf[0..len) (path names it in the log). */
int snapfile_load_buffer(struct server *srv, const char *buf, size_t len, const char *path);

#endif
