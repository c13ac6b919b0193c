/* Integration-test harness: start real cachely-server processes on free
 * loopback ports, each in its own temp directory, talk to them with hiredis,
 * and dump their logs when a test fails. */
#ifndef CACHELY_TESTS_HARNESS_H
#define CACHELY_TESTS_HARNESS_H

#include <hiredis/hiredis.h>
#include <sys/types.h>

struct harness_server {
    pid_t pid;
    int port;
    char dir[256];        /* temp dir; the server's cwd */
    char logpath[320];    /* its log file */
};

/* A TCP port on 127.0.0.1 that is free right now. */
int harness_free_port(void);
/* Path of a built binary ("src/cachely-server") under CACHELY_BUILDDIR. */
const char *harness_binary(const char *rel);
/* Start a server with extra "--name value" arguments (NULL-terminated list,
 * may be NULL), wait until it answers PING (5 s deadline).  Returns 0, or -1
 * after dumping its log. */
int harness_start(struct harness_server *s, const char *const *extra_args);
/* Same, with a config file path passed as the first argument. */
int harness_start_with_config(struct harness_server *s, const char *config,
                              const char *const *extra_args);
/* SIGTERM, wait up to 5 s (then SIGKILL); returns the exit status as
 * waitpid reports it, or -1.  Removes the temp dir. */
int harness_stop(struct harness_server *s);
/* True while the process is alive. */
int harness_alive(struct harness_server *s);
/* Print the server's log to stderr. */
void harness_dump_log(const struct harness_server *s);
/* Connect with a 5 s timeout; NULL on failure. */
redisContext *harness_connect(const struct harness_server *s);
/* Run a command and return the reply (caller frees); NULL on I/O error. */
redisReply *harness_cmd(redisContext *c, const char *fmt, ...);
/* Run a command and return 1 when the reply is a status or bulk equal to
 * expect (exact bytes). */
int harness_cmd_equals(redisContext *c, const char *expect, const char *fmt, ...);
/* INFO field value as a long long (-1 when missing). */
long long harness_info_field(redisContext *c, const char *section,
                             const char *field);
/* Poll fn(arg) every 10 ms until it returns non-zero or timeout_ms passes;
 * returns the last value. */
int harness_wait_for(int (*fn)(void *arg), void *arg, int timeout_ms);
/* Monotonic milliseconds. */
long long harness_now_ms(void);

#endif
