/* Forked children, one registry: the persistence child (BGSAVE, AOF
 * rewrite) and each replica's full-sync snapshot writer are forked here and
 * reaped here, and each exit goes to the callback its forker registered. */
#ifndef CACHELY_NODE_CHILD_H
#define CACHELY_NODE_CHILD_H

#include <stddef.h>
#include <sys/types.h>

struct server;

enum child_kind {
    CHILD_SNAPSHOT,      /* BGSAVE (persist.c) */
    CHILD_AOF_REWRITE,   /* BGREWRITEAOF (persist.c) */
    CHILD_FULL_SYNC,     /* a replica's snapshot writer (repl.c) */
};

/* A child exited (status as from waitpid); arg is the forker's. */
typedef void (*child_exit_fn)(struct server *srv, pid_t pid, int status, void *arg);

/* Fork a child of kind.  In the child: returns 0, with the child set to die
 * with the parent and SIGTERM/SIGINT back to their defaults; it must end
 * with _exit.  In the parent: returns the pid, registered so that
 * child_reap calls on_exit(srv, pid, status, arg) once it exits; -1 when
 * the fork failed (errno set). */
pid_t child_fork(struct server *srv, enum child_kind kind, child_exit_fn on_exit, void *arg);
/* Reap every child that exited, without waiting, calling its callback.
 * Returns how many were reaped. */
size_t child_reap(struct server *srv);
/* Kill pid (SIGKILL), wait for it and forget it: its callback is not
 * called.  Does nothing for a pid not registered. */
void child_kill(pid_t pid);
/* Registered children of kind (any kind: -1). */
size_t child_count(int kind);

#endif
