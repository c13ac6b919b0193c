/* libFuzzer target for the snapshot and append-only file loaders
 * (node/persist.c, through persist_load_buffer).
 *
 * The first byte of an input chooses how the rest is loaded:
 *   bit 0  0: as a snapshot file, 1: as an append-only file;
 *   bit 1  aof-load-truncated (yes when set);
 *   bit 2  (snapshots) the rest is only the body: a version 3 header and a
 *          trailer with the right byte count and CRC-64 are put around it,
 *          so that the fuzzer reaches the commands behind the checksum.
 * Each input gets a fresh server (options, keyspace, replication state).
 * A refused file must leave the keyspace empty (the checking pass runs
 * before anything is applied).  A loaded one is written back as commands
 * (the snapshot writer), which must load into another fresh server with the
 * same DEBUG DIGEST.  Built by "make fuzz" with clang; the corpus
 * (tests/fuzz/corpus/fuzz_loader) replays under "make check" through
 * replay_main.c. */
#define _GNU_SOURCE
#include "core/alloc.h"
#include "core/command.h"
#include "core/log.h"
#include "core/util.h"
#include "node/db.h"
#include "node/options.h"
#include "node/pause.h"
#include "node/persist.h"
#include "node/repl.h"
#include "node/server.h"
#include "node/slowlog.h"
#include "node/snapshot.h"

#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "fuzz_loader: invariant failed: %s (%s:%d)\n",    \
                    #cond, __FILE__, __LINE__);                               \
            abort();                                                          \
        }                                                                     \
    } while (0)

#define MODE_AOF 1
#define MODE_TRUNCATED_OK 2
#define MODE_WRAP_BODY 4

static void
server_start(struct server *srv, int truncated_ok)
{
    memset(srv, 0, sizeof(*srv));
    srv->opts.defs = node_options;
    srv->opts.values = &srv->cfg;
    FUZZ_CHECK(option_defaults(&srv->opts) == 0);
    srv->cfg.aof_load_truncated = truncated_ok;
    keyspace_init(&srv->ks, (int)srv->cfg.databases);
    srv->opts.ctx = srv;
    server_apply_config(srv);
    srv->base = event_base_new();
    FUZZ_CHECK(srv->base != NULL);
    repl_setup(srv);
    pause_setup(srv);
}

static void
server_stop(struct server *srv)
{
    pause_teardown(srv);
    repl_teardown(srv);
    event_base_free(srv->base);
    slowlog_reset(srv);
    keyspace_destroy(&srv->ks);
    option_free_values(&srv->opts);
}

/* ---- the snapshot frame, as the writer lays it out ---------------------- */

struct buf {
    char *p; /* owned (libc) */
    size_t len, cap;
};

static void
buf_put(struct buf *b, const void *src, size_t n)
{
    if (n == 0) {
        return;
    }
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        FUZZ_CHECK(b->p != NULL);
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void
buf_echo(struct buf *b, const char *text)
{
    char hdr[64];
    int n = snprintf(hdr, sizeof(hdr), "*2\r\n$4\r\nECHO\r\n$%zu\r\n", strlen(text));
    buf_put(b, hdr, (size_t)n);
    buf_put(b, text, strlen(text));
    buf_put(b, "\r\n", 2);
}

/* CRC-64/XZ, bit by bit (the loader has its own table-driven one). */
static uint64_t
crc64_ref(uint64_t crc, const void *p, size_t len)
{
    const unsigned char *s = p;
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= s[i];
        for (int k = 0; k < 8; k++) {
            crc = crc & 1 ? (crc >> 1) ^ 0xc96c5795d7870f42ULL : crc >> 1;
        }
    }
    return ~crc;
}

/* A version 3 snapshot of body: header, body, trailer with its CRC. */
static void
wrap_body(struct buf *out, const uint8_t *body, size_t len)
{
    char text[256];
    uint64_t crc;
    buf_echo(out, "CACHELY-SNAPSHOT 3 replid=0123456789abcdef0123456789abcdef01234567 "
                  "offset=42 db=0 epoch=3 time=1700000000000");
    crc = crc64_ref(0, out->p, out->len);
    crc = crc64_ref(crc, body, len);
    if (len > 0) {
        buf_put(out, body, len);
    }
    snprintf(text, sizeof(text), "CACHELY-END bytes=%zu crc64=%016llx", len,
             (unsigned long long)crc);
    buf_echo(out, text);
}

/* ---- the round trip ---------------------------------------------------- */

/* The dataset of srv as the snapshot writer writes it (commands only). */
static char *
write_commands(struct server *srv, size_t *len)
{
    int fd = memfd_create("fuzz_loader", 0);
    off_t end;
    char *out;
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(snapshot_write_commands(srv, fd, NULL, NULL) == 0);
    end = lseek(fd, 0, SEEK_END);
    FUZZ_CHECK(end >= 0);
    *len = (size_t)end;
    out = malloc(*len ? *len : 1);
    FUZZ_CHECK(out != NULL);
    FUZZ_CHECK(pread(fd, out, *len, 0) == (ssize_t)*len);
    close(fd);
    return out;
}

static void
check_round_trip(struct server *first)
{
    static struct server second;
    size_t len;
    char *cmds = write_commands(first, &len);
    char d1[41], d2[41];
    long long now;

    server_start(&second, 0);
    if (persist_load_buffer(&second, 1, cmds, len) != 0) {
        fprintf(stderr, "fuzz_loader: the writer's own output does not load\n");
        abort();
    }
    /* The same clock for both digests: keys the writer left out as
     * expired are expired for both. */
    now = util_mstime();
    first->ks.now_ms = now;
    second.ks.now_ms = now;
    snapshot_digest(first, d1);
    snapshot_digest(&second, d2);
    if (strcmp(d1, d2) != 0) {
        fprintf(stderr, "fuzz_loader: digest %s became %s after write + load\n", d1, d2);
        abort();
    }
    server_stop(&second);
    free(cmds);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    static struct server srv;
    struct buf file = {NULL, 0, 0};
    const char *buf;
    size_t len;
    int mode, rc;

    if (!ready) {
        log_setup("/dev/null", LOG_LEVEL_ERROR);
        command_setup();
        ready = 1;
    }
    if (size == 0) {
        return 0;
    }
    mode = data[0];
    if (!(mode & MODE_AOF) && (mode & MODE_WRAP_BODY)) {
        wrap_body(&file, data + 1, size - 1);
    } else {
        buf_put(&file, data + 1, size - 1);
    }
    /* Exactly sized, so ASan sees a read past the end. */
    len = file.len;
    char *exact = malloc(len ? len : 1);
    FUZZ_CHECK(exact != NULL);
    if (len > 0) {
        memcpy(exact, file.p, len);
    }
    free(file.p);
    buf = exact;

    server_start(&srv, (mode & MODE_TRUNCATED_OK) != 0);
    rc = persist_load_buffer(&srv, mode & MODE_AOF, buf, len);
    if (rc != 0) {
        /* Refused: nothing of it was applied. */
        FUZZ_CHECK(keyspace_size(&srv.ks) == 0);
    } else {
        check_round_trip(&srv);
    }
    server_stop(&srv);
    free(exact);
    return 0;
}
