/* DUMP, RESTORE and RESTORE-ASKING: the handlers over node/dump.c's
 * payload codec, with Redis 7.0's argument checks, errors, expiry rules,
 * keyspace event and propagation (a relative TTL goes out absolute). */
#include "node/handlers.h"

#include "core/alloc.h"
#include "core/util.h"
#include "node/client.h"
#include "node/db.h"
#include "node/dump.h"
#include "node/notify.h"
#include "node/object.h"
#include "node/propagate.h"
#include "node/server.h"
#include "node/t_hash.h"

#include <limits.h>
#include <string.h>
#include <strings.h>

static int
arg_is(const struct resp_arg *a, const char *word)
{
    size_t n = strlen(word);
    return a->len == n && strncasecmp(a->ptr, word, n) == 0;
}

void
cmd_dump(struct client *c)
{
    struct entry *e = db_lookup(c->db, c->argv[1].ptr, c->argv[1].len, 0);
    struct rbuf out = {0};
    if (e == NULL) {
        reply_null(c);
        return;
    }
    int rc = dump_serialize(e, c->srv->cfg.rdbcompression, &out);
    if (rc == DUMP_ERR_HASH_TTL) {
        reply_error(c, "DUMP of a hash with field expirations is not supported "
                       "(Redis 7.0's format has none)");
    } else if (rc != DUMP_OK) {
        reply_error(c, "DUMP of this value's type is not supported");
    } else {
        reply_bulk(c, out.p, out.len);
    }
    rbuf_free(&out);
}

static struct dump_limits
limits_of(const struct client *c)
{
    const struct node_config *cfg = &c->srv->cfg;
    struct dump_limits l = {
        .list_fill = cfg->list_max_listpack_size,
        .list_depth = cfg->list_compress_depth,
        .set_max_intset = cfg->set_max_intset_entries < 0 ? 0
                                                          : (size_t)cfg->set_max_intset_entries,
        .zset_max_entries = cfg->zset_max_listpack_entries < 0
                                ? 0 : (size_t)cfg->zset_max_listpack_entries,
        .zset_max_value = cfg->zset_max_listpack_value < 0
                              ? 0 : (size_t)cfg->zset_max_listpack_value,
        .hash_max_entries = (size_t)cfg->hash_max_listpack_entries,
        .hash_max_value = (size_t)cfg->hash_max_listpack_value,
    };
    return l;
}

/* Add the decoded value as key (absent) with expiry when_ms (-1: none);
 * takes v's contents over.  Returns the new entry. */
static struct entry *
restore_add(struct db *db, const struct resp_arg *key, struct dump_value *v,
            long long when_ms)
{
    struct entry *e;
    if (v->type == ENTRY_STRING) {
        e = db_set(db, key->ptr, key->len, v->str != NULL ? v->str : "", v->len,
                   when_ms, 0);
        mem_free(v->str);
        v->str = NULL;
        return e;
    }
    void *obj = v->obj;
    v->obj = NULL;
    if (v->type != ENTRY_HASH) {
        return db_add_object(db, key->ptr, key->len, v->type, obj, when_ms);
    }
    e = hash_add(db, key->ptr, key->len, obj);
    if (when_ms >= 0) {
        struct entry **ref = db_lookup_ref(db, key->ptr, key->len,
                                           LOOKUP_WRITE | LOOKUP_NOTOUCH | LOOKUP_NOEXPIRE);
        e = db_set_expire(db, ref, when_ms);
    }
    return e;
}

/* RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f], checked
 * in Redis 7.0's order (options, BUSYKEY, ttl, footer, payload). */
void
cmd_restore(struct client *c)
{
    const struct resp_arg *key = &c->argv[1];
    struct db *db = c->db;
    struct keyspace *ks = &c->srv->ks;
    int replace = 0, absttl = 0;
    long long idle = -1, freq = -1, ttl;

    for (size_t j = 4; j < c->argc; j++) {
        size_t more = c->argc - j - 1;
        if (arg_is(&c->argv[j], "replace")) {
            replace = 1;
        } else if (arg_is(&c->argv[j], "absttl")) {
            absttl = 1;
        } else if (arg_is(&c->argv[j], "idletime") && more >= 1 && freq == -1) {
            if (util_str2ll(c->argv[j + 1].ptr, c->argv[j + 1].len, &idle) != 0) {
                reply_not_integer(c);
                return;
            }
            if (idle < 0) {
                reply_error(c, "Invalid IDLETIME value, must be >= 0");
                return;
            }
            j++;
        } else if (arg_is(&c->argv[j], "freq") && more >= 1 && idle == -1) {
            if (util_str2ll(c->argv[j + 1].ptr, c->argv[j + 1].len, &freq) != 0) {
                reply_not_integer(c);
                return;
            }
            if (freq < 0 || freq > 255) {
                reply_error(c, "Invalid FREQ value, must be >= 0 and <= 255");
                return;
            }
            j++;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    if (!replace && db_lookup(db, key->ptr, key->len, LOOKUP_WRITE) != NULL) {
        reply_error(c, "-BUSYKEY Target key name already exists.");
        return;
    }
    if (util_str2ll(c->argv[2].ptr, c->argv[2].len, &ttl) != 0) {
        reply_not_integer(c);
        return;
    }
    if (ttl < 0) {
        reply_error(c, "Invalid TTL value, must be >= 0");
        return;
    }
    if (dump_verify(c->argv[3].ptr, c->argv[3].len) != DUMP_OK) {
        reply_error(c, "DUMP payload version or checksum are wrong");
        return;
    }
    struct dump_limits lim = limits_of(c);
    struct dump_value v;
    if (dump_decode(c->argv[3].ptr, c->argv[3].len, &lim, &v) != DUMP_OK) {
        reply_error(c, "Bad data format");
        return;
    }

    int deleted = replace && db_delete(db, key->ptr, key->len);
    long long when = ttl;
    if (ttl != 0 && !absttl) {
        /* An overflowing sum is in the past, as the wrapped sum is in
         * Redis. */
        when = ttl > LLONG_MAX - ks->now_ms ? -1 : ttl + ks->now_ms;
    }
    if (ttl != 0 && when <= ks->now_ms && !ks->is_replica) {
        /* Already expired: the key is not created (a replaced one is
         * gone, which goes out as DEL). */
        if (deleted) {
            struct resp_arg del[2] = {{"DEL", 3}, *key};
            propagate_effect(c, 2, del);
            notify_key(c, NOTIFY_GENERIC, "del", key);
        }
        dump_value_release(&v);
        reply_ok(c);
        return;
    }
    struct entry *e = restore_add(db, key, &v, ttl != 0 ? when : -1);
    db_set_access(ks, e, idle, (int)freq);
    if (ttl != 0 && !absttl) {
        /* The relative TTL goes out as the absolute time it became. */
        char buf[24];
        struct resp_arg *argv = mem_alloc((c->argc + 1) * sizeof(*argv));
        memcpy(argv, c->argv, c->argc * sizeof(*argv));
        argv[2].ptr = buf;
        argv[2].len = util_ll2str(buf, when);
        argv[c->argc].ptr = "ABSTTL";
        argv[c->argc].len = 6;
        propagate_effect(c, c->argc + 1, argv);
        mem_free(argv);
    }
    notify_key(c, NOTIFY_GENERIC, "restore", key);
    reply_ok(c);
}
