/* Snapshot writer: walks every database and writes each live key as a SET
 * command, buffered in 64 KiB chunks. */
#include "node/snapshot.h"
#include "core/resp.h"
#include "core/util.h"
#include "node/db.h"
#include "node/dict.h"
#include "node/object.h"
#include "node/function.h"
#include "node/server.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SNAP_BUF (64 * 1024)

struct snap_writer {
    int fd;
    int error;
    long long now_ms;
    long long key_delay;         /* rdb-key-save-delay (see snap_entry) */
    snapshot_chunk_fn on_chunk;  /* sees the body bytes; NULL: none */
    void *chunk_arg;             /* borrowed */
    struct obj_emitter em;       /* collections write themselves through it */
    size_t len;
    char buf[SNAP_BUF];
};

static void
snap_flush(struct snap_writer *w)
{
    const char *p = w->buf;
    size_t left = w->len;
    if (w->on_chunk != NULL && left > 0) {
        w->on_chunk(w->chunk_arg, p, left);
    }
    if (left > 0 && !w->error && util_write_all(w->fd, p, left, 60000) != 0) {
        w->error = 1;
    }
    w->len = 0;
}

static void
snap_put(struct snap_writer *w, const char *p, size_t len)
{
    while (len > 0 && !w->error) {
        size_t room = SNAP_BUF - w->len;
        size_t n = len < room ? len : room;
        memcpy(w->buf + w->len, p, n);
        w->len += n;
        p += n;
        len -= n;
        if (w->len == SNAP_BUF) {
            snap_flush(w);
        }
    }
}

static void
snap_arg(struct snap_writer *w, const char *p, size_t len)
{
    char hdr[RESP_HDR_MAX];
    snap_put(w, hdr, resp_fmt_prefixed(hdr, '$', (long long)len));
    snap_put(w, p, len);
    snap_put(w, "\r\n", 2);
}

static void
snap_emit_write(void *arg, const char *p, size_t len)
{
    snap_put(arg, p, len);
}

/* A collection: the commands its type writes, then its TTL. */
static void
snap_object(struct snap_writer *w, struct entry *e, const struct obj_type *t)
{
    if (e->volatile_ && entry_expire(e) <= w->now_ms) {
        return;
    }
    t->rewrite(entry_obj(e), entry_key(e), entry_keylen(e), &w->em);
    obj_emit_end(&w->em);
    if (e->volatile_) {
        char when[24];
        snap_put(w, "*3\r\n$9\r\nPEXPIREAT\r\n", 19);
        snap_arg(w, entry_key(e), entry_keylen(e));
        snap_arg(w, when, util_ll2str(when, entry_expire(e)));
    }
}

static void
snap_entry(struct entry *e, void *arg)
{
    struct snap_writer *w = arg;
    const struct obj_type *type = obj_type_of(e->type);
    /* rdb-key-save-delay, a testing aid as in Redis: sleep that many
     * microseconds per key; a negative -N sleeps 1 us once in N keys. */
    if (w->key_delay > 0) {
        usleep((useconds_t)w->key_delay);
    } else if (w->key_delay < 0 && random() % -w->key_delay == 0) {
        usleep(1);
    }
    if (type != NULL) {
        snap_object(w, e, type);
        return;
    }
    if (e->volatile_) {
        char when[24];
        long long t = entry_expire(e);
        if (t <= w->now_ms) {
            return; /* logically expired: the master streams its DEL */
        }
        snap_put(w, "*5\r\n$3\r\nSET\r\n", 13);
        snap_arg(w, entry_key(e), entry_keylen(e));
        snap_arg(w, entry_val(e), entry_vallen(e));
        snap_put(w, "$4\r\nPXAT\r\n", 10);
        snap_arg(w, when, util_ll2str(when, t));
    } else {
        snap_put(w, "*3\r\n$3\r\nSET\r\n", 13);
        snap_arg(w, entry_key(e), entry_keylen(e));
        snap_arg(w, entry_val(e), entry_vallen(e));
    }
}

/* A function library: FUNCTION LOAD REPLACE <code>. */
static void
snap_function(void *arg, const char *code, size_t len)
{
    struct snap_writer *w = arg;
    snap_put(w, "*4\r\n$8\r\nFUNCTION\r\n$4\r\nLOAD\r\n$7\r\nREPLACE\r\n", 41);
    snap_arg(w, code, len);
}

/* The function libraries first (as Redis's RDB has them before the keys),
 * then every live key as commands: SELECT n before each non-empty
 * database. */
static void
snap_body(struct server *srv, struct snap_writer *w)
{
    w->key_delay = srv->cfg.rdb_key_save_delay;
    function_each_code(srv, snap_function, w);
    for (int i = 0; i < srv->ks.ndb && !w->error; i++) {
        struct db *db = &srv->ks.dbs[i];
        char num[24];
        if (dict_size(&db->dict) == 0) {
            continue;
        }
        snap_put(w, "*2\r\n$6\r\nSELECT\r\n", 16);
        snap_arg(w, num, util_ll2str(num, i));
        dict_foreach(&db->dict, snap_entry, w);
    }
}

static void
snap_start(struct snap_writer *w, int fd, snapshot_chunk_fn fn, void *arg)
{
    w->fd = fd;
    w->error = 0;
    w->len = 0;
    w->now_ms = util_mstime();
    w->on_chunk = fn;
    w->chunk_arg = arg;
    obj_emitter_release(&w->em);
    obj_emitter_init(&w->em, snap_emit_write, w);
}

/* One writer serves both entry points: its 64 KiB buffer is too big for
 * the stack, and a process writes one snapshot at a time. */
static struct snap_writer snap_w;

int
snapshot_write_stream(struct server *srv, int fd, const char *mark)
{
    snap_start(&snap_w, fd, NULL, NULL);
    snap_put(&snap_w, "$EOF:", 5);
    snap_put(&snap_w, mark, 40);
    snap_put(&snap_w, "\r\n", 2);
    snap_body(srv, &snap_w);
    snap_put(&snap_w, mark, 40);
    snap_flush(&snap_w);
    obj_emitter_release(&snap_w.em);
    return snap_w.error ? -1 : 0;
}

int
snapshot_write_commands(struct server *srv, int fd, snapshot_chunk_fn fn, void *arg)
{
    snap_start(&snap_w, fd, fn, arg);
    snap_body(srv, &snap_w);
    snap_flush(&snap_w);
    obj_emitter_release(&snap_w.em);
    return snap_w.error ? -1 : 0;
}

/* ---- digest ---------------------------------------------------------------
 * DEBUG DIGEST: an order-independent fingerprint of the dataset (database,
 * key, value, expiry of every live key), equal on two nodes holding the same
 * data.  Per-key 64-bit FNV-1a hashes with three fixed bases (the dict's
 * hash is seeded per process, so it cannot be used) are XORed together. */

struct digest_ctx {
    uint64_t acc[3];
    int dbid;
    long long now_ms;
    long long count;
};

static void
digest_entry(struct entry *e, void *arg)
{
    struct digest_ctx *d = arg;
    long long exp = entry_expire(e);
    const struct obj_type *t = obj_type_of(e->type);
    uint64_t value[3] = {0, 0, 0};
    if (exp >= 0 && exp <= d->now_ms) {
        return;
    }
    if (t != NULL) {
        /* The type's own fingerprint, equal whatever the encoding. */
        t->digest(entry_obj(e), value);
    }
    for (int i = 0; i < 3; i++) {
        uint64_t h = obj_fnv1a(obj_digest_bases[i], &d->dbid, sizeof(d->dbid));
        uint32_t kl = entry_keylen(e);
        uint32_t type = e->type;
        h = obj_fnv1a(h, &kl, sizeof(kl));
        h = obj_fnv1a(h, entry_key(e), entry_keylen(e));
        if (t != NULL) {
            h = obj_fnv1a(h, &type, sizeof(type));
            h = obj_fnv1a(h, &value[i], sizeof(value[i]));
        } else {
            h = obj_fnv1a(h, entry_val(e), entry_vallen(e));
        }
        h = obj_fnv1a(h, &exp, sizeof(exp));
        d->acc[i] ^= h;
    }
    d->count++;
}

void
snapshot_digest(struct server *srv, char out[41])
{
    struct digest_ctx d;
    memset(&d, 0, sizeof(d));
    d.now_ms = srv->ks.now_ms;
    for (int i = 0; i < srv->ks.ndb; i++) {
        d.dbid = i;
        dict_foreach(&srv->ks.dbs[i].dict, digest_entry, &d);
    }
    if (d.count == 0) {
        memset(out, '0', 40);
    } else {
        snprintf(out, 41, "%016llx%016llx%08llx", (unsigned long long)d.acc[0],
                 (unsigned long long)d.acc[1],
                 (unsigned long long)(d.acc[2] & 0xffffffffULL));
    }
    out[40] = '\0';
}
