/* Integration-test harness; see harness.h. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

long long
harness_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
harness_free_port(void)
{
    /* Bind port 0, read the port the kernel chose, close.  A random start
     * keeps parallel test processes from racing for the same port. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    int port = -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0
        && getsockname(fd, (struct sockaddr *)&sa, &sl) == 0) {
        port = ntohs(sa.sin_port);
    }
    if (fd >= 0) {
        close(fd);
    }
    return port;
}

const char *
harness_binary(const char *rel)
{
    static char path[1024];
    const char *b = getenv("CACHELY_BUILDDIR");
    snprintf(path, sizeof(path), "%s/%s", b ? b : ".", rel);
    return path;
}

void
harness_dump_log(const struct harness_server *s)
{
    FILE *f = fopen(s->logpath, "r");
    char line[1024];
    if (f == NULL) {
        return;
    }
    fprintf(stderr, "---- log of server on port %d (%s) ----\n", s->port, s->logpath);
    while (fgets(line, sizeof(line), f)) {
        fputs(line, stderr);
    }
    fprintf(stderr, "---- end of log ----\n");
    fclose(f);
}

redisContext *
harness_connect(const struct harness_server *s)
{
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", s->port, tv);
    if (c == NULL || c->err) {
        if (c) {
            redisFree(c);
        }
        return NULL;
    }
    redisSetTimeout(c, tv);
    return c;
}

redisReply *
harness_cmd(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    return r;
}

int
harness_cmd_equals(redisContext *c, const char *expect, const char *fmt, ...)
{
    va_list ap;
    int ok;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (r == NULL) {
        return 0;
    }
    ok = (r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_STRING
          || r->type == REDIS_REPLY_ERROR)
         && strlen(expect) == r->len && memcmp(expect, r->str, r->len) == 0;
    if (!ok) {
        fprintf(stderr, "expected '%s', got type %d '%.*s'\n", expect, r->type,
                (int)r->len, r->str ? r->str : "");
    }
    freeReplyObject(r);
    return ok;
}

long long
harness_info_field(redisContext *c, const char *section, const char *field)
{
    redisReply *r = redisCommand(c, "INFO %s", section);
    long long v = -1;
    if (r && r->type == REDIS_REPLY_STRING) {
        size_t fl = strlen(field);
        const char *p = r->str;
        while (p && *p) {
            if (strncmp(p, field, fl) == 0 && p[fl] == ':') {
                v = atoll(p + fl + 1);
                break;
            }
            p = strchr(p, '\n');
            if (p) {
                p++;
            }
        }
    }
    if (r) {
        freeReplyObject(r);
    }
    return v;
}

int
harness_wait_for(int (*fn)(void *arg), void *arg, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    int v;
    while (!(v = fn(arg)) && harness_now_ms() < deadline) {
        usleep(10000);
    }
    return v;
}

int
harness_alive(struct harness_server *s)
{
    int status;
    if (s->pid <= 0) {
        return 0;
    }
    if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
        s->pid = -1;
        return 0;
    }
    return 1;
}

static int
ping_ok(void *arg)
{
    struct harness_server *s = arg;
    redisContext *c;
    redisReply *r;
    int ok = 0;
    if (!harness_alive(s)) {
        return -1;
    }
    c = harness_connect(s);
    if (c == NULL) {
        return 0;
    }
    r = redisCommand(c, "PING");
    if (r && r->type == REDIS_REPLY_STATUS) {
        ok = 1;
    } else if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOAUTH", 6) == 0) {
        ok = 1;
    }
    if (r) {
        freeReplyObject(r);
    }
    redisFree(c);
    return ok;
}

int
harness_start_with_config(struct harness_server *s, const char *config,
                          const char *const *extra_args)
{
    char portstr[16];
    const char *argv[128];
    int argc = 0;

    memset(s, 0, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "/tmp/cachely-test-XXXXXX");
    if (mkdtemp(s->dir) == NULL) {
        return -1;
    }
    snprintf(s->logpath, sizeof(s->logpath), "%s/server.log", s->dir);
    s->port = harness_free_port();
    snprintf(portstr, sizeof(portstr), "%d", s->port);
    argv[argc++] = harness_binary("src/cachely-server");
    if (config) {
        argv[argc++] = config;
    }
    argv[argc++] = "--port";
    argv[argc++] = portstr;
    argv[argc++] = "--bind";
    argv[argc++] = "127.0.0.1";
    argv[argc++] = "--logfile";
    argv[argc++] = s->logpath;
    argv[argc++] = "--dir";
    argv[argc++] = s->dir;
    /* The suites use DEBUG (SLEEP, DIGEST, RELOAD...), which Redis 7 and
     * Cachely refuse unless enabled; they connect from 127.0.0.1. */
    argv[argc++] = "--enable-debug-command";
    argv[argc++] = "local";
    for (int i = 0; extra_args && extra_args[i] && argc < 126; i++) {
        argv[argc++] = extra_args[i];
    }
    argv[argc] = NULL;
    pid_t parent = getpid();
    s->pid = fork();
    if (s->pid < 0) {
        return -1;
    }
    if (s->pid == 0) {
        /* A failed Criterion assertion ends the test's process without its
         * fini: the server must not outlive it (and keep its port). */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(127);
        }
        int fd = open(s->logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    /* 20 s: a busy machine running ASan builds starts a server slowly. */
    if (harness_wait_for(ping_ok, s, 20000) != 1) {
        fprintf(stderr, "server on port %d did not start\n", s->port);
        harness_dump_log(s);
        return -1;
    }
    return 0;
}

int
harness_start(struct harness_server *s, const char *const *extra_args)
{
    return harness_start_with_config(s, NULL, extra_args);
}

int
harness_stop(struct harness_server *s)
{
    int status = -1;
    char cmd[300];
    if (s->pid > 0) {
        /* 15 s before SIGKILL (which a test reads as an unclean exit): a
         * sanitizer build freeing a large keyspace on a busy machine. */
        long long deadline = harness_now_ms() + 15000;
        kill(s->pid, SIGTERM);
        for (;;) {
            pid_t w = waitpid(s->pid, &status, WNOHANG);
            if (w == s->pid) {
                break;
            }
            if (harness_now_ms() > deadline) {
                kill(s->pid, SIGKILL);
                waitpid(s->pid, &status, 0);
                break;
            }
            usleep(5000);
        }
        s->pid = -1;
    }
    if (s->dir[0] && strncmp(s->dir, "/tmp/cachely-test-", 18) == 0) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
        if (system(cmd) != 0) {
            fprintf(stderr, "could not remove %s\n", s->dir);
        }
    }
    return status;
}
