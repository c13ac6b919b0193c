/* The field-expiry commands of Redis 7.4/8.0 on hashes: the HEXPIRE
 * family, the HTTL family, HPERSIST, HGETEX, HSETEX and HGETDEL.  The
 * handlers parse, call node/t_hash, reply and state their effects
 * (cmd_hash.c has the Redis 7.0 commands). */
#include "node/handlers.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/util.h"
#include "node/client.h"
#include "node/cmd_hash_int.h"
#include "node/db.h"
#include "node/notify.h"
#include "node/object.h"
#include "node/propagate.h"
#include "node/server.h"
#include "node/t_hash.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Field expiries are capped as Redis caps them (2^48 - 1 ms). */
#define HASH_MAX_EXPIRE_MS ((1LL << 48) - 1)

/* ---- field expiry: argument parsing ------------------------------------------------ */

/* FIELDS numfields at argv[at - 1], argv[at]; the fields (times per) run
 * to the end.  Returns the number of fields, or -1 after replying. */
static long long
parse_fields(struct client *c, size_t at, size_t per)
{
    long long n;
    if (at >= c->argc || !cmd_hash_arg_is(&c->argv[at - 1], "fields")) {
        reply_error(c, "Mandatory argument FIELDS is missing or not at the right position");
        return -1;
    }
    if (util_str2ll(c->argv[at].ptr, c->argv[at].len, &n) != 0 || n < 1) {
        reply_error(c, "Parameter `numFields` should be greater than 0");
        return -1;
    }
    if ((unsigned long long)n > (c->argc - at - 1) / per
        || (unsigned long long)n * per != c->argc - at - 1) {
        reply_error(c, "The `numfields` parameter must match the number of arguments");
        return -1;
    }
    return n;
}

enum time_unit { UNIT_S_REL, UNIT_MS_REL, UNIT_S_ABS, UNIT_MS_ABS };

/* A time argument to an absolute Unix time in ms (possibly in the past).
 * Returns 0, or -1 after replying. */
static int
parse_time(struct client *c, const struct resp_arg *a, enum time_unit unit,
           long long *out)
{
    long long v;
    if (util_str2ll(a->ptr, a->len, &v) != 0) {
        reply_not_integer(c);
        return -1;
    }
    if (v < 0 || v > HASH_MAX_EXPIRE_MS) {
        goto invalid;
    }
    if (unit == UNIT_S_REL || unit == UNIT_S_ABS) {
        v *= 1000;
    }
    if (unit == UNIT_S_REL || unit == UNIT_MS_REL) {
        v += c->srv->ks.now_ms;
    }
    if (v > HASH_MAX_EXPIRE_MS) {
        goto invalid;
    }
    *out = v;
    return 0;
invalid:
    reply_errorf(c, "invalid expire time in '%s' command", c->cmd->fullname);
    return -1;
}

/* A growing argv for a stated effect. */
struct effect {
    struct resp_arg *argv;           /* owned */
    size_t argc, cap;
    char num[2][24];
};

static void
effect_push(struct effect *ef, const char *p, size_t len)
{
    if (ef->argc == ef->cap) {
        ef->cap = ef->cap ? ef->cap * 2 : 16;
        ef->argv = mem_realloc(ef->argv, ef->cap * sizeof(*ef->argv));
    }
    ef->argv[ef->argc].ptr = p;
    ef->argv[ef->argc++].len = len;
}

/* "CMD key [time] FIELDS <n>" followed by fields: the count is patched in
 * effect_emit. */
static void
effect_begin(struct effect *ef, const char *cmd, const struct resp_arg *key,
             long long when)
{
    ef->argc = 0;
    effect_push(ef, cmd, strlen(cmd));
    effect_push(ef, key->ptr, key->len);
    if (when >= 0) {
        effect_push(ef, ef->num[0], util_ll2str(ef->num[0], when));
    }
    effect_push(ef, "FIELDS", 6);
    effect_push(ef, ef->num[1], 0);
}

static int
effect_emit(struct client *c, struct effect *ef, size_t header)
{
    size_t n = ef->argc - header;
    if (n == 0) {
        return 0;
    }
    ef->argv[header - 1].len = util_ll2str(ef->num[1], (long long)n);
    propagate_effect(c, ef->argc, ef->argv);
    return 1;
}

static void
effect_hdel(struct client *c, struct effect *ef, const struct resp_arg *key,
            const struct resp_arg *fields, size_t n, const signed char *deleted)
{
    ef->argc = 0;
    effect_push(ef, "HDEL", 4);
    effect_push(ef, key->ptr, key->len);
    for (size_t i = 0; i < n; i++) {
        if (deleted[i]) {
            effect_push(ef, fields[i].ptr, fields[i].len);
        }
    }
    if (ef->argc > 2) {
        propagate_effect(c, ef->argc, ef->argv);
    }
}

/* ---- HEXPIRE family ------------------------------------------------------------------ */

static void
hexpire_generic(struct client *c, enum time_unit unit)
{
    long long when;
    enum hash_expire_cond cond = HASH_COND_NONE;
    size_t at = 4;
    if (parse_time(c, &c->argv[2], unit, &when) != 0) {
        return;
    }
    static const struct { const char *name; enum hash_expire_cond cond; } conds[] = {
        {"nx", HASH_COND_NX}, {"xx", HASH_COND_XX}, {"gt", HASH_COND_GT}, {"lt", HASH_COND_LT},
    };
    for (size_t i = 0; i < sizeof(conds) / sizeof(conds[0]); i++) {
        if (cmd_hash_arg_is(&c->argv[3], conds[i].name)) {
            cond = conds[i].cond;
            at = 5;
        }
    }
    long long n = parse_fields(c, at, 1);
    if (n < 0) {
        return;
    }
    const struct resp_arg *key = &c->argv[1];
    const struct resp_arg *fields = &c->argv[at + 1];
    int wrong;
    struct entry **ref = cmd_hash_lookup(c, key, LOOKUP_WRITE, &wrong);
    if (wrong) {
        return;
    }
    reply_array_len(c, n);
    if (ref == NULL) {
        for (long long i = 0; i < n; i++) {
            reply_int(c, -2);
        }
        propagate_prevent(c);
        return;
    }
    void *h = entry_obj(*ref);
    long long now = cmd_hash_now(c);
    /* A time already come deletes the fields (not on a replica applying
     * its master's stream: there the master's HDEL follows). */
    int delete_now = when <= c->srv->ks.now_ms && now != 0;
    signed char *deleted = mem_alloc((size_t)n);
    struct effect ef = {0};
    size_t set = 0, ndel = 0;
    effect_begin(&ef, "HPEXPIREAT", key, when);
    size_t header = ef.argc;
    for (long long i = 0; i < n; i++) {
        const struct resp_arg *f = &fields[i];
        int code;
        deleted[i] = 0;
        if (hash_length(h) == 0) {
            code = -2;
        } else if (delete_now) {
            struct hash_field hf;
            code = -2;
            if (hash_get(h, f->ptr, f->len, now, &hf)) {
                long long cur = hf.expire_ms;
                int ok = cond == HASH_COND_NONE || (cond == HASH_COND_NX && cur == 0)
                         || (cond == HASH_COND_XX && cur != 0)
                         || (cond == HASH_COND_GT && cur != 0 && when > cur)
                         || (cond == HASH_COND_LT && (cur == 0 || when < cur));
                code = ok ? 2 : 0;
                if (ok) {
                    hash_delete(&h, f->ptr, f->len);
                    deleted[i] = 1;
                    ndel++;
                }
            }
        } else {
            code = hash_set_expire(&h, f->ptr, f->len, when, cond, now);
            if (code == 1) {
                effect_push(&ef, f->ptr, f->len);
                set++;
            }
        }
        reply_int(c, code);
    }
    if (set + ndel > 0) {
        cmd_hash_store(c, key, ref, h, 1, ndel > 0 ? "hdel" : "hexpire");
        effect_emit(c, &ef, header);
        effect_hdel(c, &ef, key, fields, (size_t)n, deleted);
    } else {
        hash_store(c->db, ref, h);
        propagate_prevent(c);
    }
    mem_free(ef.argv);
    mem_free(deleted);
}

void
cmd_hexpire(struct client *c)
{
    hexpire_generic(c, UNIT_S_REL);
}

void
cmd_hpexpire(struct client *c)
{
    hexpire_generic(c, UNIT_MS_REL);
}

void
cmd_hexpireat(struct client *c)
{
    hexpire_generic(c, UNIT_S_ABS);
}

void
cmd_hpexpireat(struct client *c)
{
    hexpire_generic(c, UNIT_MS_ABS);
}

/* ---- HTTL family, HPERSIST --------------------------------------------------------------- */

enum ttl_kind { TTL_S, TTL_MS, TIME_S, TIME_MS };

static void
httl_generic(struct client *c, enum ttl_kind kind)
{
    long long n = parse_fields(c, 3, 1);
    if (n < 0) {
        return;
    }
    int wrong;
    void *h = cmd_hash_lookup_read(c, &wrong);
    if (wrong) {
        return;
    }
    long long now = cmd_hash_now(c);
    reply_array_len(c, n);
    for (long long i = 0; i < n; i++) {
        const struct resp_arg *f = &c->argv[4 + i];
        long long exp = h != NULL ? hash_field_expire(h, f->ptr, f->len, now) : -2;
        if (exp < 0) {
            reply_int(c, exp);
            continue;
        }
        long long ttl = exp - c->srv->ks.now_ms;
        if (ttl < 0) {
            ttl = 0;
        }
        switch (kind) {
        case TTL_S: reply_int(c, (ttl + 500) / 1000); break;
        case TTL_MS: reply_int(c, ttl); break;
        case TIME_S: reply_int(c, exp / 1000); break;
        default: reply_int(c, exp); break;
        }
    }
}

void
cmd_httl(struct client *c)
{
    httl_generic(c, TTL_S);
}

void
cmd_hpttl(struct client *c)
{
    httl_generic(c, TTL_MS);
}

void
cmd_hexpiretime(struct client *c)
{
    httl_generic(c, TIME_S);
}

void
cmd_hpexpiretime(struct client *c)
{
    httl_generic(c, TIME_MS);
}

void
cmd_hpersist(struct client *c)
{
    long long n = parse_fields(c, 3, 1);
    if (n < 0) {
        return;
    }
    int wrong;
    struct entry **ref = cmd_hash_lookup(c, &c->argv[1], LOOKUP_WRITE, &wrong);
    if (wrong) {
        return;
    }
    reply_array_len(c, n);
    if (ref == NULL) {
        for (long long i = 0; i < n; i++) {
            reply_int(c, -2);
        }
        return;
    }
    void *h = entry_obj(*ref);
    long long now = cmd_hash_now(c);
    int changed = 0;
    for (long long i = 0; i < n; i++) {
        const struct resp_arg *f = &c->argv[4 + i];
        int code = hash_persist(&h, f->ptr, f->len, now);
        changed |= code == 1;
        reply_int(c, code);
    }
    hash_store(c->db, ref, h);
    if (changed) {
        db_signal_modified(c->db, c->argv[1].ptr, c->argv[1].len);
        notify_key(c, NOTIFY_HASH, "hpersist", &c->argv[1]);
    }
}

/* ---- HGETEX, HSETEX, HGETDEL --------------------------------------------------------------- */

/* Options before FIELDS: each word in words[] (with or without a time
 * argument).  Returns the index of FIELDS' count or 0 after replying. */
struct ex_opt {
    const char *name;
    int has_time;
    enum time_unit unit;
    int group;                       /* 0 = expiry choice, 1 = FNX/FXX */
};

static const struct ex_opt ex_opts[] = {
    {"ex", 1, UNIT_S_REL, 0}, {"px", 1, UNIT_MS_REL, 0},
    {"exat", 1, UNIT_S_ABS, 0}, {"pxat", 1, UNIT_MS_ABS, 0},
    {"persist", 0, 0, 0}, {"keepttl", 0, 0, 0},
    {"fnx", 0, 0, 1}, {"fxx", 0, 0, 1},
};

struct ex_args {
    const struct ex_opt *expiry;     /* borrowed; NULL = none */
    const struct ex_opt *cond;       /* borrowed; FNX/FXX or NULL */
    long long when;
    size_t at;                       /* index of numfields */
    long long n;
};

static int
parse_ex_args(struct client *c, int is_set, size_t per, struct ex_args *a)
{
    memset(a, 0, sizeof(*a));
    size_t i = 2;
    for (; i < c->argc && !cmd_hash_arg_is(&c->argv[i], "fields"); i++) {
        const struct ex_opt *o = NULL;
        for (size_t k = 0; k < sizeof(ex_opts) / sizeof(ex_opts[0]); k++) {
            if (cmd_hash_arg_is(&c->argv[i], ex_opts[k].name)) {
                o = &ex_opts[k];
            }
        }
        int allowed = o != NULL
                      && (is_set ? strcmp(o->name, "persist") != 0
                                 : (o->group == 0 && strcmp(o->name, "keepttl") != 0));
        if (!allowed) {
            reply_syntax_error(c);
            return -1;
        }
        if (o->group == 1) {
            if (a->cond != NULL) {
                reply_error(c, "Only one of FXX or FNX arguments can be specified");
                return -1;
            }
            a->cond = o;
            continue;
        }
        if (a->expiry != NULL) {
            reply_error(c, is_set ? "Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified"
                                  : "Only one of EX, PX, EXAT, PXAT or PERSIST arguments can be specified");
            return -1;
        }
        a->expiry = o;
        if (o->has_time) {
            if (i + 1 >= c->argc) {
                reply_syntax_error(c);
                return -1;
            }
            if (parse_time(c, &c->argv[++i], o->unit, &a->when) != 0) {
                return -1;
            }
        }
    }
    a->at = i + 1;
    a->n = parse_fields(c, a->at, per);
    return a->n < 0 ? -1 : 0;
}

void
cmd_hgetex(struct client *c)
{
    struct ex_args a;
    if (parse_ex_args(c, 0, 1, &a) != 0) {
        return;
    }
    const struct resp_arg *key = &c->argv[1];
    const struct resp_arg *fields = &c->argv[a.at + 1];
    int wrong;
    struct entry **ref = cmd_hash_lookup(c, key, LOOKUP_WRITE, &wrong);
    if (wrong) {
        return;
    }
    reply_array_len(c, a.n);
    if (ref == NULL) {
        for (long long i = 0; i < a.n; i++) {
            reply_null(c);
        }
        propagate_prevent(c);
        return;
    }
    void *h = entry_obj(*ref);
    long long now = cmd_hash_now(c);
    int persist = a.expiry != NULL && !a.expiry->has_time;
    int delete_now = a.expiry != NULL && a.expiry->has_time && a.when <= c->srv->ks.now_ms
                     && now != 0;
    signed char *deleted = mem_alloc((size_t)a.n);
    struct effect ef = {0};
    size_t changed = 0, ndel = 0;
    effect_begin(&ef, persist ? "HPERSIST" : "HPEXPIREAT", key, persist ? -1 : a.when);
    size_t header = ef.argc;
    for (long long i = 0; i < a.n; i++) {
        const struct resp_arg *f = &fields[i];
        struct hash_field hf;
        deleted[i] = 0;
        if (!hash_get(h, f->ptr, f->len, now, &hf)) {
            reply_null(c);
            continue;
        }
        reply_bulk(c, hf.value, hf.vlen);
        if (a.expiry == NULL) {
            continue;
        }
        if (delete_now) {
            hash_delete(&h, f->ptr, f->len);
            deleted[i] = 1;
            ndel++;
        } else if (persist) {
            if (hash_persist(&h, f->ptr, f->len, now) == 1) {
                effect_push(&ef, f->ptr, f->len);
                changed++;
            }
        } else if (hash_set_expire(&h, f->ptr, f->len, a.when, HASH_COND_NONE, now) == 1) {
            effect_push(&ef, f->ptr, f->len);
            changed++;
        }
    }
    if (changed + ndel > 0) {
        /* Redis 8's HGETEX: hdel for fields whose time had come, else
         * hpersist or hexpire. */
        const char *hgetex_event = ndel > 0 ? "hdel" : persist ? "hpersist" : "hexpire";
        cmd_hash_store(c, key, ref, h, 1, hgetex_event);
        effect_emit(c, &ef, header);
        effect_hdel(c, &ef, key, fields, (size_t)a.n, deleted);
    } else {
        hash_store(c->db, ref, h);
        propagate_prevent(c);
    }
    mem_free(ef.argv);
    mem_free(deleted);
}

void
cmd_hsetex(struct client *c)
{
    struct ex_args a;
    if (parse_ex_args(c, 1, 2, &a) != 0) {
        return;
    }
    const struct resp_arg *key = &c->argv[1];
    const struct resp_arg *fields = &c->argv[a.at + 1];
    struct entry **ref;
    void *h = cmd_hash_lookup_write(c, key, &ref);
    if (h == NULL) {
        return;
    }
    long long now = cmd_hash_now(c);
    if (a.cond != NULL) {
        int want_exist = strcmp(a.cond->name, "fxx") == 0;
        for (long long i = 0; i < a.n; i++) {
            struct hash_field hf;
            int exists = ref != NULL && hash_get(h, fields[2 * i].ptr, fields[2 * i].len,
                                                 now, &hf);
            if (exists != want_exist) {
                if (ref == NULL) {
                    hash_free(h);
                }
                propagate_prevent(c);
                reply_int(c, 0);
                return;
            }
        }
    }
    int keepttl = a.expiry != NULL && strcmp(a.expiry->name, "keepttl") == 0;
    int timed = a.expiry != NULL && a.expiry->has_time;
    int delete_now = timed && a.when <= c->srv->ks.now_ms && now != 0;
    struct hash_limits lim = cmd_hash_limits(c);
    for (long long i = 0; i < a.n; i++) {
        const struct resp_arg *f = &fields[2 * i], *v = &fields[2 * i + 1];
        if (delete_now) {
            hash_delete(&h, f->ptr, f->len);
            continue;
        }
        hash_set(&h, f->ptr, f->len, v->ptr, v->len, keepttl ? HASH_SET_KEEPTTL : 0, &lim);
        if (timed) {
            hash_set_expire(&h, f->ptr, f->len, a.when, HASH_COND_NONE, 0);
        }
    }
    cmd_hash_store(c, key, ref, h, 1, delete_now ? "hdel" : "hset");
    if (timed && !delete_now) {
        notify_key(c, NOTIFY_HASH, "hexpire", key);
    }
    /* Relative times go out absolute; the condition has been met. */
    struct effect ef = {0};
    if (delete_now) {
        ef.argc = 0;
        effect_push(&ef, "HDEL", 4);
        effect_push(&ef, key->ptr, key->len);
        for (long long i = 0; i < a.n; i++) {
            effect_push(&ef, fields[2 * i].ptr, fields[2 * i].len);
        }
        propagate_effect(c, ef.argc, ef.argv);
    } else {
        effect_push(&ef, "HSETEX", 6);
        effect_push(&ef, key->ptr, key->len);
        if (keepttl) {
            effect_push(&ef, "KEEPTTL", 7);
        } else if (timed) {
            effect_push(&ef, "PXAT", 4);
            effect_push(&ef, ef.num[0], util_ll2str(ef.num[0], a.when));
        }
        effect_push(&ef, "FIELDS", 6);
        effect_push(&ef, ef.num[1], util_ll2str(ef.num[1], a.n));
        for (long long i = 0; i < 2 * a.n; i++) {
            effect_push(&ef, fields[i].ptr, fields[i].len);
        }
        propagate_effect(c, ef.argc, ef.argv);
    }
    mem_free(ef.argv);
    reply_int(c, 1);
}

void
cmd_hgetdel(struct client *c)
{
    long long n = parse_fields(c, 3, 1);
    if (n < 0) {
        return;
    }
    int wrong;
    struct entry **ref = cmd_hash_lookup(c, &c->argv[1], LOOKUP_WRITE, &wrong);
    if (wrong) {
        return;
    }
    reply_array_len(c, n);
    if (ref == NULL) {
        for (long long i = 0; i < n; i++) {
            reply_null(c);
        }
        return;
    }
    void *h = entry_obj(*ref);
    long long now = cmd_hash_now(c);
    int changed = 0;
    for (long long i = 0; i < n; i++) {
        const struct resp_arg *f = &c->argv[4 + i];
        struct hash_field hf;
        if (hash_length(h) > 0 && hash_get(h, f->ptr, f->len, now, &hf)) {
            reply_bulk(c, hf.value, hf.vlen);
            hash_delete(&h, f->ptr, f->len);
            changed = 1;
        } else {
            reply_null(c);
        }
    }
    if (changed) {
        cmd_hash_store(c, &c->argv[1], ref, h, 1, "hdel");
    } else {
        hash_store(c->db, ref, h);
    }
}
