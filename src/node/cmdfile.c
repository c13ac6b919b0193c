/* Files of RESP commands (see cmdfile.h): the snapshot file and the
 * append-only file are both read through here (mapped, framed, checked
 * command by command, applied by a fake client through dispatch), and both
 * use its path helpers and ECHO frames. */
#include "node/cmdfile.h"
#include "core/command.h"
#include "core/log.h"
#include "core/status.h"
#include "core/util.h"
#include "node/client.h"
#include "node/dispatch.h"
#include "node/handlers.h"
#include "node/repl.h"
#include "node/server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The config epoch in the append-only file: ECHO "CACHELY-EPOCH <n>", which
 * the loader takes for the epoch (and any replayer takes for a harmless
 * ECHO). */
#define AOF_EPOCH_PREFIX "CACHELY-EPOCH "

/* ---- files ------------------------------------------------------------------ */

/* The absolute path of a file in dir (the working directory), for messages. */
void
cmdfile_abs_path(const char *name, char *out, size_t len)
{
    char cwd[PATH_MAX];
    if (name[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL) {
        snprintf(out, len, "%s", name);
    } else {
        snprintf(out, len, "%s/%s", cwd, name);
    }
}

/* Make a rename durable: fsync the directory holding path. */
void
cmdfile_fsync_dir(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(dir, sizeof(dir), ".");
    } else {
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path + (slash == path)), path);
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* An ECHO frame carrying text: the header and trailer of a snapshot. */
size_t
cmdfile_fmt_echo(char *out, size_t cap, const char *text)
{
    int n = snprintf(out, cap, "*2\r\n$4\r\nECHO\r\n$%zu\r\n%s\r\n", strlen(text), text);
    return n < 0 ? 0 : (size_t)n;
}

/* The ECHO frame that records the config epoch in an append-only file. */
size_t
cmdfile_fmt_epoch(char *out, size_t cap, long long epoch)
{
    char text[64];
    snprintf(text, sizeof(text), AOF_EPOCH_PREFIX "%lld", epoch);
    return cmdfile_fmt_echo(out, cap, text);
}

/* ---- loading ------------------------------------------------------------------
 * Both files are parsed twice: a first pass checks the whole structure (and
 * the snapshot's checksum) without touching the keyspace, so a damaged file
 * never applies half of itself; the second pass applies each command through
 * dispatch with a client that has no socket and whose replies are dropped. */

static struct client *
pseudo_client_create(struct server *srv)
{
    /* MASTER: replies dropped, nothing propagated, no expiry on lookups. */
    struct client *c = client_create_fake(srv, CLIENT_MASTER | CLIENT_AUTHENTICATED);
    snprintf(c->addr, sizeof(c->addr), "loader");
    return c;
}

static void
pseudo_client_destroy(struct client **cp)
{
    client_destroy(cp);
}

/* Map a file read-only.  Returns 0, 1 when it does not exist, -1 on error. */
int
cmdfile_map(const char *path, struct cmdfile_map *m)
{
    struct stat st;
    m->buf = NULL;
    m->len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? 1 : -1;
    }
    if (fstat(fd, &st) != 0) {
        close(fd);
        return -1;
    }
    m->len = (size_t)st.st_size;
    if (m->len > 0) {
        void *p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return -1;
        }
        m->buf = p;
    }
    close(fd);
    return 0;
}

void
cmdfile_unmap(struct cmdfile_map *m)
{
    if (m->buf != NULL) {
        munmap((void *)m->buf, m->len);
    }
    m->buf = NULL;
    m->len = 0;
}

/* The next frame at off: STATUS_OK (p->argc/argv/consumed), STATUS_AGAIN
 * when the data ends inside it, STATUS_ERR when it is not a command. */
int
cmdfile_next_frame(struct resp_parser *p, const char *buf, size_t len, size_t off)
{
    resp_parser_reset(p);
    if (off >= len) {
        return STATUS_AGAIN;
    }
    if (buf[off] != '*') {
        snprintf(p->errstr, sizeof(p->errstr), "expected '*', got byte 0x%02x",
                 (unsigned char)buf[off]);
        return STATUS_ERR;
    }
    int rc = resp_parser_next(p, buf + off, len - off);
    if (rc == STATUS_OK && p->argc == 0) {
        snprintf(p->errstr, sizeof(p->errstr), "empty command");
        return STATUS_ERR;
    }
    return rc;
}

/* If the frame is ECHO <text> with text starting with prefix, copy the text
 * (NUL-terminated) into out and return 1. */
int
cmdfile_echo_text(const struct resp_parser *p, const char *prefix, char *out, size_t cap)
{
    size_t plen = strlen(prefix);
    if (p->argc != 2 || p->argv[0].len != 4 || strncasecmp(p->argv[0].ptr, "ECHO", 4) != 0
        || p->argv[1].len < plen || memcmp(p->argv[1].ptr, prefix, plen) != 0
        || p->argv[1].len >= cap) {
        return 0;
    }
    memcpy(out, p->argv[1].ptr, p->argv[1].len);
    out[p->argv[1].len] = '\0';
    return 1;
}

void
cmdfile_parser_setup(struct server *srv, struct resp_parser *p)
{
    resp_parser_init(p);
    p->max_bulk_len = (long long)srv->cfg.proto_max_bulk_len;
    p->unauthenticated = 0;
}

/* If the frame records the config epoch (AOF_EPOCH_PREFIX), take it and
 * return 1. */
static int
load_epoch_frame(struct server *srv, const struct resp_parser *p, const char *path,
                 size_t off)
{
    char text[64];
    long long epoch;
    int used = 0;
    if (!cmdfile_echo_text(p, AOF_EPOCH_PREFIX, text, sizeof(text))) {
        return 0;
    }
    if (sscanf(text, AOF_EPOCH_PREFIX "%lld%n", &epoch, &used) != 1
        || (size_t)used != strlen(text) || epoch < 0) {
        log_warn("Loading %s: bad config epoch record at offset %zu ('%s'); ignored", path,
                 off, text);
        return 1;
    }
    /* Epochs only grow; the last record is the newest. */
    if (epoch > srv->repl.config_epoch) {
        repl_config_epoch_load(srv, epoch);
    }
    return 1;
}

/* A loaded frame must be a command this node runs, with a valid number of
 * arguments.  Returns 0, or -1 with the reason in why. */
int
cmdfile_check_command(const struct resp_parser *p, char *why, size_t whylen)
{
    const struct command *cmd = command_lookup(p->argv[0].ptr, p->argv[0].len);
    int shown = p->argv[0].len > 64 ? 64 : (int)p->argv[0].len;
    char name[65];

    /* The name as printable text for the log. */
    for (int i = 0; i < shown; i++) {
        unsigned char ch = (unsigned char)p->argv[0].ptr[i];
        name[i] = ch >= 32 && ch < 127 ? (char)ch : '?';
    }
    name[shown] = '\0';
    if (cmd == NULL || !handlers_implements(cmd)) {
        snprintf(why, whylen, "unknown command '%s'", name);
        return -1;
    }
    if (cmd->nsubs > 0 && p->argc >= 2) {
        /* A container (FUNCTION, XGROUP, SCRIPT): its subcommand's row says
         * what it is. */
        const struct command *sub = command_lookup_sub(cmd, p->argv[1].ptr, p->argv[1].len);
        if (sub == NULL) {
            snprintf(why, whylen, "unknown subcommand of '%s'", name);
            return -1;
        }
        cmd = sub;
    }
    if (!command_arity_ok(cmd, p->argc)) {
        snprintf(why, whylen, "wrong number of arguments (%zu) for '%s'", p->argc, name);
        return -1;
    }
    /* The files hold the write stream: writes and what else may replicate
     * (PUBLISH), MULTI/EXEC around a transaction's or a script's effects,
     * SCRIPT LOAD, SELECT, the epoch ECHO, and the PING and REPLCONF
     * GETACK a master sends its replicas.  Anything else (SHUTDOWN,
     * CONFIG, DEBUG, SAVE...) is damage, not to be run. */
    if (!(cmd->flags & (CMD_WRITE | CMD_MAY_REPLICATE)) && cmd->id != CMD_ID_SELECT
        && cmd->id != CMD_ID_ECHO && cmd->id != CMD_ID_MULTI && cmd->id != CMD_ID_EXEC
        && cmd->id != CMD_ID_SCRIPT_LOAD
        && cmd->id != CMD_ID_PING
        && !(cmd->id == CMD_ID_REPLCONF && p->argc == 3
             && p->argv[1].len == 6 && strncasecmp(p->argv[1].ptr, "getack", 6) == 0)) {
        snprintf(why, whylen, "command '%s' does not belong in a loaded file", name);
        return -1;
    }
    return 0;
}

/* Apply every frame of buf[start..end) (already checked). */
void
cmdfile_apply(struct server *srv, struct resp_parser *p, const char *buf, size_t start,
             size_t end, const char *path)
{
    struct client *c = pseudo_client_create(srv);
    size_t off = start;
    long long failed = 0;
    while (off < end) {
        if (cmdfile_next_frame(p, buf, end, off) != STATUS_OK) {
            break; /* cannot happen: the first pass checked it */
        }
        if (load_epoch_frame(srv, p, path, off)) {
            off += p->consumed;
            continue;
        }
        c->argc = p->argc;
        c->argv = p->argv;
        c->cmd_errors = 0;
        dispatch_command(c);
        if (c->cmd_errors > 0 && failed++ == 0) {
            log_warn("Loading %s: the command at offset %zu failed (%.*s); going on",
                     path, off, (int)(p->argv[0].len > 32 ? 32 : p->argv[0].len),
                     p->argv[0].ptr);
        }
        c->argc = 0;
        c->argv = NULL;
        off += p->consumed;
    }
    if (failed > 1) {
        log_warn("Loading %s: %lld commands failed", path, failed);
    }
    pseudo_client_destroy(&c);
}
