/* HyperLogLog commands (PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST) on
 * string values in Redis's HLL format (node/t_hll.h).  A dense value is
 * edited where it lies; a sparse one (at most hll-sparse-max-bytes) is
 * edited in a copy that is written back. */
#include "node/handlers.h"
#include "core/alloc.h"
#include "node/client.h"
#include "node/db.h"
#include "node/notify.h"
#include "node/propagate.h"
#include "node/server.h"
#include "node/t_hll.h"

#include <string.h>
#include <strings.h>

static const char hll_invalid_err[] = "-INVALIDOBJ Corrupted HLL object detected";

/* The HLL at ref (or absent): 0, or -1 after replying WRONGTYPE. */
static int
hll_check(struct client *c, const struct entry *e)
{
    if (e == NULL) {
        return 0;
    }
    if (e->type != ENTRY_STRING) {
        reply_wrongtype(c);
        return -1;
    }
    if (!hll_is_valid((const unsigned char *)entry_val((struct entry *)e), entry_vallen(e))) {
        reply_error(c, "-WRONGTYPE Key is not a valid HyperLogLog string value.");
        return -1;
    }
    return 0;
}

static size_t
hll_sparse_max(const struct client *c)
{
    return (size_t)c->srv->cfg.hll_sparse_max_bytes;
}

/* Write h back as the value of key (ref NULL: create it), keeping its TTL;
 * the value is "raw", as Redis leaves an HLL it edited. */
static struct entry *
hll_store(struct client *c, struct entry **ref, const struct resp_arg *key,
          const struct hll *h)
{
    struct entry *e;
    if (ref == NULL) {
        e = db_add(c->db, key->ptr, key->len, h->len, -1);
    } else {
        e = db_resize_value(c->db, ref, h->len);
    }
    memcpy(entry_val(e), h->p, h->len);
    e->enc = ENTRY_ENC_RAW;
    return e;
}

void
cmd_pfadd(struct client *c)
{
    const struct resp_arg *key = &c->argv[1];
    struct entry **ref = db_lookup_ref(c->db, key->ptr, key->len, LOOKUP_WRITE);
    struct hll h;
    int updated = 0;

    if (hll_check(c, ref ? *ref : NULL) != 0) {
        return;
    }
    if (ref != NULL && ((unsigned char *)entry_val(*ref))[4] == HLL_ENC_DENSE) {
        /* Dense: registers change in place, the size never does. */
        struct entry *e = *ref;
        h.p = (unsigned char *)entry_val(e);
        h.len = h.cap = entry_vallen(e);
        for (size_t j = 2; j < c->argc; j++) {
            if (hll_add(&h, c->argv[j].ptr, c->argv[j].len, hll_sparse_max(c)) == 1) {
                updated++;
            }
        }
        e->enc = ENTRY_ENC_RAW;
        if (updated) {
            hll_cache_invalidate(h.p);
            db_signal_modified(c->db, key->ptr, key->len);
            notify_key(c, NOTIFY_STRING, "pfadd", key);
        }
        reply_int(c, updated ? 1 : 0);
        return;
    }
    if (ref == NULL) {
        hll_init_sparse(&h);
        updated++;
    } else {
        hll_init_copy(&h, (unsigned char *)entry_val(*ref), entry_vallen((*ref)));
        (*ref)->enc = ENTRY_ENC_RAW;
    }
    for (size_t j = 2; j < c->argc; j++) {
        int r = hll_add(&h, c->argv[j].ptr, c->argv[j].len, hll_sparse_max(c));
        if (r < 0) {
            /* What was added before the corruption was found stays, as in
             * Redis (which edits in place). */
            if (updated) {
                hll_store(c, ref, key, &h);
            }
            mem_free(h.p);
            reply_error(c, hll_invalid_err);
            return;
        }
        updated += r;
    }
    if (updated) {
        hll_cache_invalidate(h.p);
        hll_store(c, ref, key, &h);
        notify_key(c, NOTIFY_STRING, "pfadd", key);
    }
    mem_free(h.p);
    reply_int(c, updated ? 1 : 0);
}

void
cmd_pfcount(struct client *c)
{
    if (c->argc > 2) {
        /* The union's cardinality, from registers merged aside. */
        uint8_t *max = mem_calloc(HLL_REGISTERS);
        for (size_t j = 1; j < c->argc; j++) {
            const struct resp_arg *k = &c->argv[j];
            struct entry *e = db_lookup(c->db, k->ptr, k->len, 0);
            if (hll_check(c, e) != 0) {
                mem_free(max);
                return;
            }
            if (e != NULL && hll_merge_max(max, (unsigned char *)entry_val(e), entry_vallen(e)) != 0) {
                mem_free(max);
                reply_error(c, hll_invalid_err);
                return;
            }
        }
        reply_int(c, (long long)hll_count_raw(max));
        mem_free(max);
        return;
    }
    const struct resp_arg *key = &c->argv[1];
    struct entry *e = db_lookup(c->db, key->ptr, key->len, 0);
    uint64_t card;
    if (e == NULL) {
        reply_int(c, 0);
        return;
    }
    if (hll_check(c, e) != 0) {
        return;
    }
    unsigned char *p = (unsigned char *)entry_val(e);
    e->enc = ENTRY_ENC_RAW;
    if (!hll_cache_get(p, &card)) {
        if (hll_count(p, entry_vallen(e), &card) != 0) {
            reply_error(c, hll_invalid_err);
            return;
        }
        /* Updating the cache changes the value: replicas recompute it. */
        hll_cache_set(p, card);
        db_signal_modified(c->db, key->ptr, key->len);
        struct resp_arg eff[2] = {{"PFCOUNT", 7}, *key};
        propagate_effect(c, 2, eff);
    }
    reply_int(c, (long long)card);
}

void
cmd_pfmerge(struct client *c)
{
    const struct resp_arg *dst = &c->argv[1];
    uint8_t *max = mem_calloc(HLL_REGISTERS);
    int use_dense = 0;
    struct hll h;

    for (size_t j = 1; j < c->argc; j++) {
        const struct resp_arg *k = &c->argv[j];
        struct entry *e = db_lookup(c->db, k->ptr, k->len, j == 1 ? LOOKUP_WRITE : 0);
        if (hll_check(c, e) != 0) {
            goto out;
        }
        if (e == NULL) {
            continue;
        }
        if (((unsigned char *)entry_val(e))[4] == HLL_ENC_DENSE) {
            use_dense = 1;
        }
        if (hll_merge_max(max, (unsigned char *)entry_val(e), entry_vallen(e)) != 0) {
            reply_error(c, hll_invalid_err);
            goto out;
        }
    }
    struct entry **ref = db_lookup_ref(c->db, dst->ptr, dst->len, LOOKUP_WRITE);
    if (ref == NULL) {
        hll_init_sparse(&h);
    } else {
        hll_init_copy(&h, (unsigned char *)entry_val(*ref), entry_vallen((*ref)));
    }
    if (use_dense && hll_to_dense(&h) != 0) {
        mem_free(h.p);
        reply_error(c, hll_invalid_err);
        goto out;
    }
    for (long i = 0; i < HLL_REGISTERS; i++) {
        if (max[i] != 0) {
            hll_set(&h, i, max[i], hll_sparse_max(c));
        }
    }
    hll_cache_invalidate(h.p);
    hll_store(c, ref, dst, &h);
    notify_key(c, NOTIFY_STRING, "pfadd", dst);
    mem_free(h.p);
    reply_ok(c);
out:
    mem_free(max);
}

void
cmd_pfdebug(struct client *c)
{
    const struct resp_arg *sub = &c->argv[1], *key = &c->argv[2];
    struct entry **ref = db_lookup_ref(c->db, key->ptr, key->len, LOOKUP_WRITE);
    if (ref == NULL) {
        reply_error(c, "The specified key does not exist");
        return;
    }
    if (hll_check(c, *ref) != 0) {
        return;
    }
    struct entry *e = *ref;
    unsigned char *p = (unsigned char *)entry_val(e);
    int sparse = p[4] == HLL_ENC_SPARSE;
    e->enc = ENTRY_ENC_RAW;

    int getreg = sub->len == 6 && strncasecmp(sub->ptr, "getreg", 6) == 0;
    int todense = sub->len == 7 && strncasecmp(sub->ptr, "todense", 7) == 0;
    if (getreg || todense) {
        if (sparse) {
            struct hll h;
            hll_init_copy(&h, p, entry_vallen(e));
            if (hll_to_dense(&h) != 0) {
                mem_free(h.p);
                reply_error(c, hll_invalid_err);
                return;
            }
            e = hll_store(c, ref, key, &h);
            mem_free(h.p);
            p = (unsigned char *)entry_val(e);
        }
        if (todense) {
            reply_int(c, sparse);
            return;
        }
        reply_array_len(c, HLL_REGISTERS);
        for (long i = 0; i < HLL_REGISTERS; i++) {
            reply_int(c, hll_dense_get(p + HLL_HDR_SIZE, i));
        }
    } else if (sub->len == 6 && strncasecmp(sub->ptr, "decode", 6) == 0) {
        if (!sparse) {
            reply_error(c, "HLL encoding is not sparse");
            return;
        }
        char *s;
        size_t n;
        hll_decode_sparse(p, entry_vallen(e), &s, &n);
        reply_bulk(c, s, n);
        mem_free(s);
    } else if (sub->len == 8 && strncasecmp(sub->ptr, "encoding", 8) == 0) {
        reply_status(c, sparse ? "sparse" : "dense");
    } else {
        reply_errorf(c, "Unknown PFDEBUG subcommand '%.*s'", (int)sub->len, sub->ptr);
    }
}

void
cmd_pfselftest(struct client *c)
{
    char err[128];
    if (hll_selftest(err, sizeof(err)) != 0) {
        reply_errorf(c, "-%s", err);
        return;
    }
    reply_ok(c);
}
