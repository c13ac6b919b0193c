/* The cachely-server process as an operator meets it: the shipped config
 * file, --version and --help, start-up errors that name the bad line, clean
 * shutdown on SIGTERM and SIGINT, and --daemonize with a pidfile. */
#include "harness.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

struct run_result {
    int status;          /* as waitpid reports it; -1 when it had to be killed */
    char out[65536];     /* stdout and stderr together, NUL-terminated */
    size_t len;
};

/* Run argv (argv[0] a path) with stdout and stderr captured, for at most
 * timeout_ms; the child is killed past the deadline. */
static void
run_capture(const char *const *argv, struct run_result *r, int timeout_ms)
{
    int pfd[2];
    long long deadline = harness_now_ms() + timeout_ms;
    pid_t pid;

    memset(r, 0, sizeof(*r));
    r->status = -1;
    cr_assert_eq(pipe(pfd), 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(pfd[1], 1);
        dup2(pfd[1], 2);
        close(pfd[0]);
        close(pfd[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    for (;;) {
        struct pollfd p = {pfd[0], POLLIN, 0};
        int left = (int)(deadline - harness_now_ms());
        if (left <= 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            close(pfd[0]);
            return;
        }
        if (poll(&p, 1, left) <= 0) {
            continue;
        }
        ssize_t n = read(pfd[0], r->out + r->len, sizeof(r->out) - 1 - r->len);
        if (n <= 0) {
            break;
        }
        r->len += (size_t)n;
    }
    close(pfd[0]);
    r->out[r->len] = '\0';
    while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR) {
    }
}

static int
exited_with(int status, int code)
{
    return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == code;
}

static const char *
shipped_config(void)
{
    static char path[1024];
    const char *src = getenv("CACHELY_SRCDIR");
    snprintf(path, sizeof(path), "%s/conf/cachely.conf", src ? src : ".");
    return path;
}

/* Write text to a new temp file; the path goes into buf. */
static void
write_temp_config(char *buf, size_t len, const char *text)
{
    snprintf(buf, len, "/tmp/cachely-test-conf-XXXXXX");
    int fd = mkstemp(buf);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static int
file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Send sig to a server started by the harness, wait for it, and check it
 * exited with status 0 and removed its pidfile. */
static void
check_clean_shutdown(int sig)
{
    struct harness_server s;
    char pidfile[512];
    char piddir[] = "/tmp/cachely-test-pid-XXXXXX";
    int status = -1;

    /* The pidfile lives outside the server's dir, which the harness
     * removes on stop. */
    cr_assert_not_null(mkdtemp(piddir));
    snprintf(pidfile, sizeof(pidfile), "%s/cachely.pid", piddir);
    const char *args[] = {"--pidfile", pidfile, NULL};
    cr_assert_eq(harness_start(&s, args), 0);
    cr_assert(file_exists(pidfile), "pidfile %s was not written", pidfile);

    redisContext *c = harness_connect(&s);
    cr_assert_not_null(c);
    cr_assert(harness_cmd_equals(c, "OK", "SET k v"));

    long long deadline = harness_now_ms() + 5000;
    kill(s.pid, sig);
    while (waitpid(s.pid, &status, WNOHANG) != s.pid) {
        if (harness_now_ms() > deadline) {
            harness_dump_log(&s);
            cr_assert_fail("server did not exit within 5 s of signal %d", sig);
        }
        usleep(5000);
    }
    s.pid = -1;
    redisFree(c);
    if (!exited_with(status, 0)) {
        harness_dump_log(&s);
    }
    cr_expect(exited_with(status, 0), "exit status %#x after signal %d", status, sig);
    cr_expect(!file_exists(pidfile), "pidfile left behind after signal %d", sig);
    harness_stop(&s);
    unlink(pidfile);
    rmdir(piddir);
}

/* ------------------------------------------------------------------------
 * The shipped config file
 * ------------------------------------------------------------------------ */

Test(basic, starts_with_shipped_config_and_answers)
{
    struct harness_server s;
    cr_assert(file_exists(shipped_config()), "no %s", shipped_config());
    cr_assert_eq(harness_start_with_config(&s, shipped_config(), NULL), 0);

    redisContext *c = harness_connect(&s);
    cr_assert_not_null(c);
    cr_expect(harness_cmd_equals(c, "PONG", "PING"));
    cr_expect(harness_cmd_equals(c, "OK", "SET greeting %s", "hello"));
    cr_expect(harness_cmd_equals(c, "hello", "GET greeting"));
    redisFree(c);
    cr_expect(exited_with(harness_stop(&s), 0));
}

Test(basic, shipped_config_documents_every_option)
{
    /* --help lists every option, one per line, indented by two spaces;
     * conf/cachely.conf must set each of them. */
    struct run_result r;
    const char *argv[] = {harness_binary("src/cachely-server"), "--help", NULL};
    FILE *f;
    char conf[65536];
    size_t clen;

    run_capture(argv, &r, 5000);
    cr_assert(exited_with(r.status, 0));
    f = fopen(shipped_config(), "r");
    cr_assert_not_null(f);
    clen = fread(conf, 1, sizeof(conf) - 1, f);
    conf[clen] = '\0';
    fclose(f);

    int options = 0;
    for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n")) {
        char name[128], needle[140];
        if (strncmp(line, "  ", 2) != 0 || line[2] == ' '
            || sscanf(line + 2, "%127s", name) != 1) {
            continue;
        }
        options++;
        snprintf(needle, sizeof(needle), "\n%s ", name);
        cr_expect_not_null(strstr(conf, needle), "conf/cachely.conf does not set '%s'", name);
    }
    cr_expect_gt(options, 10, "--help listed only %d options", options);
}

/* ------------------------------------------------------------------------
 * --version, --help
 * ------------------------------------------------------------------------ */

Test(basic, version_prints_and_exits_zero)
{
    struct run_result r;
    const char *argv[] = {harness_binary("src/cachely-server"), "--version", NULL};
    run_capture(argv, &r, 5000);
    cr_expect(exited_with(r.status, 0), "status %#x", r.status);
    cr_expect_not_null(strstr(r.out, "cachely-server v="), "output: %s", r.out);
}

Test(basic, help_prints_options_and_exits_zero)
{
    struct run_result r;
    const char *argv[] = {harness_binary("src/cachely-server"), "--help", NULL};
    run_capture(argv, &r, 5000);
    cr_expect(exited_with(r.status, 0), "status %#x", r.status);
    cr_expect_not_null(strstr(r.out, "Usage"), "output: %s", r.out);
    cr_expect_not_null(strstr(r.out, "maxmemory-policy"), "output: %s", r.out);
}

/* ------------------------------------------------------------------------
 * Start-up errors
 * ------------------------------------------------------------------------ */

Test(basic, unknown_command_line_option_exits_nonzero)
{
    struct run_result r;
    const char *argv[] = {harness_binary("src/cachely-server"), "--port", "0",
                          "--no-such-option", "1", NULL};
    run_capture(argv, &r, 5000);
    cr_expect(r.status != -1 && WIFEXITED(r.status) && WEXITSTATUS(r.status) != 0,
              "status %#x", r.status);
    cr_expect_not_null(strstr(r.out, "no-such-option"), "output: %s", r.out);
}

Test(basic, unknown_directive_in_config_exits_naming_the_line)
{
    struct run_result r;
    char path[64];
    write_temp_config(path, sizeof(path),
                      "# a comment\n"
                      "port 0\n"
                      "\n"
                      "no-such-directive yes\n");
    const char *argv[] = {harness_binary("src/cachely-server"), path, NULL};
    run_capture(argv, &r, 5000);
    unlink(path);
    cr_expect(r.status != -1 && WIFEXITED(r.status) && WEXITSTATUS(r.status) != 0,
              "status %#x", r.status);
    cr_expect_not_null(strstr(r.out, "line 4"), "output: %s", r.out);
    cr_expect_not_null(strstr(r.out, "no-such-directive"), "output: %s", r.out);
}

Test(basic, bad_value_in_config_exits_naming_the_line)
{
    struct run_result r;
    char path[64];
    write_temp_config(path, sizeof(path),
                      "port 0\n"
                      "maxmemory-policy sometimes\n");
    const char *argv[] = {harness_binary("src/cachely-server"), path, NULL};
    run_capture(argv, &r, 5000);
    unlink(path);
    cr_expect(r.status != -1 && WIFEXITED(r.status) && WEXITSTATUS(r.status) != 0,
              "status %#x", r.status);
    cr_expect_not_null(strstr(r.out, "line 2"), "output: %s", r.out);
    cr_expect_not_null(strstr(r.out, "maxmemory-policy"), "output: %s", r.out);
}

Test(basic, out_of_range_value_in_config_exits_naming_the_line)
{
    struct run_result r;
    char path[64];
    write_temp_config(path, sizeof(path), "port 0\nhz 100000\n");
    const char *argv[] = {harness_binary("src/cachely-server"), path, NULL};
    run_capture(argv, &r, 5000);
    unlink(path);
    cr_expect(r.status != -1 && WIFEXITED(r.status) && WEXITSTATUS(r.status) != 0,
              "status %#x", r.status);
    cr_expect_not_null(strstr(r.out, "line 2"), "output: %s", r.out);
}

Test(basic, missing_config_file_exits_nonzero)
{
    struct run_result r;
    const char *argv[] = {harness_binary("src/cachely-server"),
                          "/nonexistent/cachely.conf", NULL};
    run_capture(argv, &r, 5000);
    cr_expect(r.status != -1 && WIFEXITED(r.status) && WEXITSTATUS(r.status) != 0,
              "status %#x", r.status);
    cr_expect_not_null(strstr(r.out, "/nonexistent/cachely.conf"), "output: %s", r.out);
}

Test(basic, port_in_use_exits_nonzero)
{
    struct harness_server s;
    struct run_result r;
    char port[16];
    cr_assert_eq(harness_start(&s, NULL), 0);
    snprintf(port, sizeof(port), "%d", s.port);
    const char *argv[] = {harness_binary("src/cachely-server"), "--port", port,
                          "--bind", "127.0.0.1", NULL};
    run_capture(argv, &r, 5000);
    cr_expect(r.status != -1 && WIFEXITED(r.status) && WEXITSTATUS(r.status) != 0,
              "status %#x, output: %s", r.status, r.out);
    cr_expect(harness_alive(&s), "the first server died");
    harness_stop(&s);
}

/* ------------------------------------------------------------------------
 * Shutdown
 * ------------------------------------------------------------------------ */

Test(basic, sigterm_shuts_down_cleanly)
{
    check_clean_shutdown(SIGTERM);
}

Test(basic, sigint_shuts_down_cleanly)
{
    check_clean_shutdown(SIGINT);
}

/* ------------------------------------------------------------------------
 * --daemonize
 * ------------------------------------------------------------------------ */

static int
read_pidfile(const char *path)
{
    FILE *f = fopen(path, "r");
    int pid = 0;
    if (f == NULL) {
        return 0;
    }
    if (fscanf(f, "%d", &pid) != 1) {
        pid = 0;
    }
    fclose(f);
    return pid;
}

struct pidfile_wait {
    const char *path;
    int pid;
};

static int
pidfile_written(void *arg)
{
    struct pidfile_wait *w = arg;
    w->pid = read_pidfile(w->path);
    return w->pid > 0;
}

/* Gone, or a zombie nobody reaps yet (the daemon's parent is init, which in
 * a container may be slow to reap). */
static int
process_gone(void *arg)
{
    int pid = *(int *)arg;
    char path[64], buf[256];
    FILE *f;
    if (kill(pid, 0) != 0) {
        return 1;
    }
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return 1;
    }
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *close_paren = strrchr(buf, ')');
    return close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z';
}

Test(basic, daemonize_writes_pidfile_and_stops_by_it)
{
    char dir[] = "/tmp/cachely-test-daemon-XXXXXX";
    char pidfile[128], logfile[128], port[16];
    struct run_result r;
    struct harness_server view;   /* only for harness_connect/dump_log */

    cr_assert_not_null(mkdtemp(dir));
    snprintf(pidfile, sizeof(pidfile), "%s/cachely.pid", dir);
    snprintf(logfile, sizeof(logfile), "%s/server.log", dir);
    memset(&view, 0, sizeof(view));
    view.port = harness_free_port();
    snprintf(view.logpath, sizeof(view.logpath), "%s", logfile);
    snprintf(port, sizeof(port), "%d", view.port);
    const char *argv[] = {harness_binary("src/cachely-server"), "--port", port,
                          "--bind", "127.0.0.1", "--daemonize", "yes",
                          "--pidfile", pidfile, "--logfile", logfile,
                          "--dir", dir, NULL};

    /* The foreground process returns at once; the daemon carries on. */
    run_capture(argv, &r, 5000);
    cr_expect(exited_with(r.status, 0), "status %#x, output: %s", r.status, r.out);

    struct pidfile_wait w = {pidfile, 0};
    cr_assert(harness_wait_for(pidfile_written, &w, 5000), "no pidfile %s", pidfile);

    redisContext *c = NULL;
    long long deadline = harness_now_ms() + 5000;
    while (c == NULL && harness_now_ms() < deadline) {
        c = harness_connect(&view);
        if (c == NULL) {
            usleep(10000);
        }
    }
    if (c == NULL) {
        harness_dump_log(&view);
        kill(w.pid, SIGKILL);
        cr_assert_fail("daemon on port %d does not accept connections", view.port);
    }
    cr_expect(harness_cmd_equals(c, "PONG", "PING"));
    redisFree(c);

    cr_assert_eq(kill(w.pid, SIGTERM), 0);
    int gone = harness_wait_for(process_gone, &w.pid, 5000);
    if (!gone) {
        harness_dump_log(&view);
        kill(w.pid, SIGKILL);
    }
    cr_expect(gone, "daemon pid %d still running 5 s after SIGTERM", w.pid);
    cr_expect(!file_exists(pidfile), "daemon left its pidfile behind");
    unlink(pidfile);
    unlink(logfile);
    rmdir(dir);
}
