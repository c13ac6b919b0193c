/* The registry of forked children (see child.h).  Children belong to the
 * process, not to a server instance, so the registry is the file's own: a
 * small array, as a node has one persistence child and one snapshot writer
 * per replica in full sync at most. */
#include "node/child.h"
#include "core/alloc.h"
#include "core/util.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

struct child {
    pid_t pid;
    enum child_kind kind;
    child_exit_fn on_exit;       /* borrowed */
    void *arg;                   /* borrowed */
};

static struct child *children;   /* owned array */
static size_t nchildren, children_cap;

static void
forget(size_t i)
{
    children[i] = children[--nchildren];
    if (nchildren == 0) {
        mem_free(children);
        children = NULL;
        children_cap = 0;
    }
}

pid_t
child_fork(struct server *srv, enum child_kind kind, child_exit_fn on_exit, void *arg)
{
    (void)srv;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        util_child_die_with_parent(parent);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        return 0;
    }
    if (nchildren == children_cap) {
        children_cap = children_cap ? children_cap * 2 : 4;
        children = mem_realloc(children, children_cap * sizeof(*children));
    }
    children[nchildren++] = (struct child){pid, kind, on_exit, arg};
    return pid;
}

size_t
child_reap(struct server *srv)
{
    size_t reaped = 0;
    for (size_t i = 0; i < nchildren;) {
        int status;
        pid_t pid = waitpid(children[i].pid, &status, WNOHANG);
        if (pid != children[i].pid) {
            i++;
            continue;
        }
        struct child ch = children[i];
        forget(i);  /* before the callback, which may fork again */
        reaped++;
        if (ch.on_exit != NULL) {
            ch.on_exit(srv, pid, status, ch.arg);
        }
    }
    return reaped;
}

void
child_kill(pid_t pid)
{
    for (size_t i = 0; i < nchildren; i++) {
        if (children[i].pid == pid) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            forget(i);
            return;
        }
    }
}

size_t
child_count(int kind)
{
    size_t n = 0;
    for (size_t i = 0; i < nchildren; i++) {
        n += kind < 0 || (int)children[i].kind == kind;
    }
    return n;
}
