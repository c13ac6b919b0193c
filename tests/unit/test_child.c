/* The registry of forked children with real forks: an exit reaches the
 * callback its forker registered, with its status, once; a killed child's
 * callback never runs. */
#include <criterion/criterion.h>

#include "core/util.h"
#include "node/child.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

struct seen {
    int calls;
    pid_t pid;
    int status;
};

static void
on_exit_cb(struct server *srv, pid_t pid, int status, void *arg)
{
    struct seen *s = arg;
    (void)srv;
    s->calls++;
    s->pid = pid;
    s->status = status;
}

/* Reap until n children were reaped or 5 s passed; returns how many. */
static size_t
reap_until(size_t n)
{
    size_t got = 0;
    long long deadline = util_mstime() + 5000;
    while (got < n && util_mstime() < deadline) {
        got += child_reap(NULL);
        usleep(1000);
    }
    return got;
}

Test(child, an_exit_reaches_its_callback_with_the_status)
{
    struct seen a = {0, 0, 0}, b = {0, 0, 0};
    pid_t pa = child_fork(NULL, CHILD_SNAPSHOT, on_exit_cb, &a);
    if (pa == 0) {
        _exit(3);
    }
    pid_t pb = child_fork(NULL, CHILD_FULL_SYNC, on_exit_cb, &b);
    if (pb == 0) {
        _exit(0);
    }
    cr_assert_gt(pa, 0);
    cr_assert_gt(pb, 0);
    cr_assert_eq(child_count(-1), 2);
    cr_assert_eq(child_count(CHILD_FULL_SYNC), 1);
    cr_assert_eq(reap_until(2), 2);
    cr_assert_eq(a.calls, 1);
    cr_assert_eq(a.pid, pa);
    cr_assert(WIFEXITED(a.status) && WEXITSTATUS(a.status) == 3);
    cr_assert_eq(b.calls, 1);
    cr_assert(WIFEXITED(b.status) && WEXITSTATUS(b.status) == 0);
    cr_assert_eq(child_count(-1), 0);
    cr_assert_eq(child_reap(NULL), 0);
    cr_assert_eq(a.calls, 1);
}

Test(child, a_killed_child_is_forgotten_without_its_callback)
{
    struct seen a = {0, 0, 0};
    pid_t pa = child_fork(NULL, CHILD_AOF_REWRITE, on_exit_cb, &a);
    if (pa == 0) {
        pause();
        _exit(0);
    }
    cr_assert_gt(pa, 0);
    cr_assert_eq(child_reap(NULL), 0); /* still running */
    child_kill(pa);
    cr_assert_eq(child_count(-1), 0);
    cr_assert_eq(child_reap(NULL), 0);
    cr_assert_eq(a.calls, 0);
    cr_assert_eq(kill(pa, 0), -1); /* reaped: the pid is gone */
}

Test(child, a_child_dies_by_a_signal)
{
    struct seen a = {0, 0, 0};
    pid_t pa = child_fork(NULL, CHILD_SNAPSHOT, on_exit_cb, &a);
    if (pa == 0) {
        raise(SIGKILL);
        _exit(0);
    }
    cr_assert_eq(reap_until(1), 1);
    cr_assert(WIFSIGNALED(a.status) && WTERMSIG(a.status) == SIGKILL);
}
