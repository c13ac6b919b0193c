/* Bitmaps and bitfields (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD,
 * BITFIELD_RO), HyperLogLog (PF*) and LCS: commands on string values, with
 * Redis 7.0's replies and errors.  The bit and HLL logic is in t_bits.c and
 * t_hll.c; these handlers parse, find the value and reply. */
#include "node/handlers.h"
#include "core/alloc.h"
#include "core/util.h"
#include "node/client.h"
#include "node/db.h"
#include "node/notify.h"
#include "node/server.h"
#include "node/t_bits.h"
#include "node/t_hll.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char bits_offset_err[] = "bit offset is not an integer or out of range";

static inline int
bits_arg_is(const struct resp_arg *a, const char *name)
{
    size_t n = strlen(name);
    return a->len == n && strncasecmp(a->ptr, name, n) == 0;
}

/* A string value for reading: NULL when absent; replies WRONGTYPE (and
 * sets *err) when the key holds another type. */
static struct entry *
bits_lookup_read(struct client *c, const struct resp_arg *key, int *err)
{
    struct entry *e = db_lookup(c->db, key->ptr, key->len, 0);
    *err = 0;
    if (e != NULL && e->type != ENTRY_STRING) {
        reply_wrongtype(c);
        *err = 1;
        return NULL;
    }
    return e;
}

/* Redis's getBitOffsetFromArgument: a bit offset, or with hash a `#N`
 * field index times bits.  Returns 0, or -1 after replying. */
static int
bits_parse_offset(struct client *c, const struct resp_arg *a, int hash, int bits,
                  uint64_t *out)
{
    long long off;
    size_t skip = (hash && a->len > 1 && a->ptr[0] == '#') ? 1 : 0;
    if (util_str2ll(a->ptr + skip, a->len - skip, &off) != 0 || off < 0) {
        reply_error(c, bits_offset_err);
        return -1;
    }
    if (skip) {
        if (off > LLONG_MAX / bits) {
            reply_error(c, bits_offset_err);
            return -1;
        }
        off *= bits;
    }
    unsigned long long bytes = (unsigned long long)off >> 3;
    if (bytes >= c->srv->cfg.proto_max_bulk_len || bytes >= UINT32_MAX) {
        reply_error(c, bits_offset_err);
        return -1;
    }
    *out = (uint64_t)off;
    return 0;
}

/* Redis's lookupStringForBitCommand: the string at key, created or grown
 * (zero-filled) to hold bit maxbit, and marked "raw" as Redis unshares it.
 * *changed is set when the key was created or grown (the change signal has
 * then fired).  Returns NULL after replying WRONGTYPE. */
static struct entry *
bits_lookup_write(struct client *c, const struct resp_arg *key, uint64_t maxbit,
                  int *changed)
{
    size_t need = (size_t)(maxbit >> 3) + 1;
    struct entry **ref = db_lookup_ref(c->db, key->ptr, key->len, LOOKUP_WRITE);
    struct entry *e;
    *changed = 0;
    if (ref == NULL) {
        e = db_add(c->db, key->ptr, key->len, need, -1);
        memset(entry_val(e), 0, need);
        *changed = 1;
    } else {
        e = *ref;
        if (e->type != ENTRY_STRING) {
            reply_wrongtype(c);
            return NULL;
        }
        size_t old = entry_vallen(e);
        if (old < need) {
            e = db_resize_value(c->db, ref, need);
            memset(entry_val(e) + old, 0, need - old);
            *changed = 1;
        }
    }
    e->enc = ENTRY_ENC_RAW;
    return e;
}

/* ---- SETBIT / GETBIT ---------------------------------------------------- */

void
cmd_setbit(struct client *c)
{
    const struct resp_arg *key = &c->argv[1];
    uint64_t off;
    long long on;
    int changed;

    if (bits_parse_offset(c, &c->argv[2], 0, 0, &off) != 0) {
        return;
    }
    if (util_str2ll(c->argv[3].ptr, c->argv[3].len, &on) != 0 || (on & ~1LL)) {
        reply_error(c, "bit is not an integer or out of range");
        return;
    }
    struct entry *e = bits_lookup_write(c, key, off, &changed);
    if (e == NULL) {
        return;
    }
    unsigned char *p = (unsigned char *)entry_val(e) + (off >> 3);
    unsigned char mask = (unsigned char)(1u << (7 - (off & 7)));
    int old = (*p & mask) != 0;
    if (old != on) {
        *p = on ? (unsigned char)(*p | mask) : (unsigned char)(*p & ~mask);
        if (!changed) {
            db_signal_modified(c->db, key->ptr, key->len);
        }
    }
    if (changed || old != on) {
        notify_key(c, NOTIFY_STRING, "setbit", key);
    }
    reply_int(c, old);
}

void
cmd_getbit(struct client *c)
{
    uint64_t off;
    int err;
    if (bits_parse_offset(c, &c->argv[2], 0, 0, &off) != 0) {
        return;
    }
    struct entry *e = bits_lookup_read(c, &c->argv[1], &err);
    if (err) {
        return;
    }
    int bit = 0;
    if (e != NULL && (off >> 3) < entry_vallen(e)) {
        unsigned char b = (unsigned char)entry_val(e)[off >> 3];
        bit = (b >> (7 - (off & 7))) & 1;
    }
    reply_int(c, bit);
}

/* ---- BITCOUNT / BITPOS ----------------------------------------------------
 * Both take [start end [BYTE|BIT]] over the value; a BIT range is narrowed
 * to bytes with masks for the bits of its first and last byte outside it. */

struct bits_range {
    long long start, end;            /* bytes, inclusive, after clamping */
    unsigned char first_mask;        /* bits of byte start outside the range */
    unsigned char last_mask;         /* bits of byte end outside the range */
};

/* Clamp start/end (already parsed, in bytes or bits) to a value of len
 * bytes, as Redis does. */
static void
bits_clamp(struct bits_range *r, long long start, long long end, long long len,
           int isbit)
{
    long long tot = isbit ? len << 3 : len;
    if (start < 0) {
        start = tot + start;
    }
    if (end < 0) {
        end = tot + end;
    }
    if (start < 0) {
        start = 0;
    }
    if (end < 0) {
        end = 0;
    }
    if (end >= tot) {
        end = tot - 1;
    }
    r->first_mask = r->last_mask = 0;
    if (isbit && start <= end) {
        r->first_mask = (unsigned char)(~((1u << (8 - (start & 7))) - 1) & 0xff);
        r->last_mask = (unsigned char)((1u << (7 - (end & 7))) - 1);
        start >>= 3;
        end >>= 3;
    }
    r->start = start;
    r->end = end;
}

/* BYTE or BIT: 0/1, or -1 after replying a syntax error. */
static int
bits_parse_unit(struct client *c, const struct resp_arg *a)
{
    if (bits_arg_is(a, "bit")) {
        return 1;
    }
    if (bits_arg_is(a, "byte")) {
        return 0;
    }
    reply_syntax_error(c);
    return -1;
}

void
cmd_bitcount(struct client *c)
{
    struct bits_range r;
    long long start, end;
    int err, isbit = 0;
    struct entry *e = bits_lookup_read(c, &c->argv[1], &err);

    if (err) {
        return;
    }
    if (e == NULL) {
        reply_int(c, 0);
        return;
    }
    const unsigned char *p = (const unsigned char *)entry_val(e);
    long long len = entry_vallen(e);
    if (c->argc == 4 || c->argc == 5) {
        if (util_str2ll(c->argv[2].ptr, c->argv[2].len, &start) != 0
            || util_str2ll(c->argv[3].ptr, c->argv[3].len, &end) != 0) {
            reply_not_integer(c);
            return;
        }
        if (c->argc == 5 && (isbit = bits_parse_unit(c, &c->argv[4])) < 0) {
            return;
        }
        if (start < 0 && end < 0 && start > end) {
            reply_int(c, 0);
            return;
        }
        bits_clamp(&r, start, end, len, isbit);
    } else if (c->argc == 2) {
        r.start = 0;
        r.end = len - 1;
        r.first_mask = r.last_mask = 0;
    } else {
        reply_syntax_error(c);
        return;
    }
    if (r.start > r.end) {
        reply_int(c, 0);
        return;
    }
    long long count = (long long)bits_popcount(p + r.start, (size_t)(r.end - r.start + 1));
    if (r.first_mask) {
        count -= __builtin_popcount(p[r.start] & r.first_mask);
    }
    if (r.last_mask) {
        count -= __builtin_popcount(p[r.end] & r.last_mask);
    }
    reply_int(c, count);
}

void
cmd_bitpos(struct client *c)
{
    struct bits_range r;
    long long bit, start, end = 0;
    int err, isbit = 0, end_given = 0;

    if (util_str2ll(c->argv[2].ptr, c->argv[2].len, &bit) != 0) {
        reply_not_integer(c);
        return;
    }
    if (bit != 0 && bit != 1) {
        reply_error(c, "The bit argument must be 1 or 0.");
        return;
    }
    struct entry *e = bits_lookup_read(c, &c->argv[1], &err);
    if (err) {
        return;
    }
    if (e == NULL) {
        reply_int(c, bit ? -1 : 0);
        return;
    }
    const unsigned char *p = (const unsigned char *)entry_val(e);
    long long len = entry_vallen(e);
    if (c->argc >= 4 && c->argc <= 6) {
        if (util_str2ll(c->argv[3].ptr, c->argv[3].len, &start) != 0) {
            reply_not_integer(c);
            return;
        }
        if (c->argc == 6 && (isbit = bits_parse_unit(c, &c->argv[5])) < 0) {
            return;
        }
        if (c->argc >= 5) {
            if (util_str2ll(c->argv[4].ptr, c->argv[4].len, &end) != 0) {
                reply_not_integer(c);
                return;
            }
            end_given = 1;
        } else {
            end = len - 1;
        }
        bits_clamp(&r, start, end, len, isbit);
    } else if (c->argc == 3) {
        r.start = 0;
        r.end = len - 1;
        r.first_mask = r.last_mask = 0;
    } else {
        reply_syntax_error(c);
        return;
    }
    if (r.start > r.end) {
        reply_int(c, -1);
        return;
    }
    long long s = r.start, bytes = r.end - r.start + 1, pos;
    unsigned char tmp;
    if (r.first_mask) {
        tmp = bit ? (unsigned char)(p[s] & ~r.first_mask) : (unsigned char)(p[s] | r.first_mask);
        if (r.last_mask && bytes == 1) {
            tmp = bit ? (unsigned char)(tmp & ~r.last_mask) : (unsigned char)(tmp | r.last_mask);
        }
        pos = bits_pos(&tmp, 1, (int)bit);
        if (bytes == 1 || (pos != -1 && pos != 8)) {
            goto result;
        }
        s++;
        bytes--;
    }
    long long cur = bytes - (r.last_mask ? 1 : 0);
    if (cur > 0) {
        pos = bits_pos(p + s, (size_t)cur, (int)bit);
        if (bytes == cur || (pos != -1 && pos != cur << 3)) {
            goto result;
        }
        s += cur;
        bytes -= cur;
    }
    tmp = bit ? (unsigned char)(p[r.end] & ~r.last_mask) : (unsigned char)(p[r.end] | r.last_mask);
    pos = bits_pos(&tmp, 1, (int)bit);

result:
    /* Looking for a 0 inside an explicit range: the bit past it is not
     * "padding" and does not count. */
    if (end_given && bit == 0 && pos == bytes << 3) {
        reply_int(c, -1);
        return;
    }
    if (pos != -1) {
        pos += s << 3;
    }
    reply_int(c, pos);
}

/* ---- BITOP ------------------------------------------------------------------ */

void
cmd_bitop(struct client *c)
{
    static const struct {
        const char *name;
        enum bits_op op;
    } ops[] = {
        {"and", BITS_AND}, {"or", BITS_OR}, {"xor", BITS_XOR}, {"not", BITS_NOT},
    };
    const struct resp_arg *dst = &c->argv[2];
    size_t n = c->argc - 3, maxlen = 0;
    int op = -1;

    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (bits_arg_is(&c->argv[1], ops[i].name)) {
            op = (int)ops[i].op;
        }
    }
    if (op < 0) {
        reply_syntax_error(c);
        return;
    }
    if (op == BITS_NOT && c->argc != 4) {
        reply_error(c, "BITOP NOT must be called with a single source key.");
        return;
    }
    const unsigned char **src = mem_alloc(n * sizeof(*src));
    size_t *len = mem_alloc(n * sizeof(*len));
    struct entry *e;
    int dst_is_src = 0;
    for (size_t k = 0; k < n; k++) {
        const struct resp_arg *a = &c->argv[3 + k];
        int err;
        struct entry *se = bits_lookup_read(c, a, &err);
        if (err) {
            goto out;
        }
        src[k] = se ? (const unsigned char *)entry_val(se) : NULL;
        len[k] = se ? entry_vallen(se) : 0;
        if (len[k] > maxlen) {
            maxlen = len[k];
        }
        if (a->len == dst->len && memcmp(a->ptr, dst->ptr, a->len) == 0) {
            dst_is_src = 1;
        }
    }
    if (maxlen == 0) {
        if (db_delete(c->db, dst->ptr, dst->len)) {
            notify_key(c, NOTIFY_GENERIC, "del", dst);
        }
        reply_int(c, 0);
        goto out;
    }
    if (dst_is_src) {
        /* The result overwrites a source: build it aside. */
        unsigned char *tmp = mem_alloc(maxlen);
        bits_op((enum bits_op)op, tmp, maxlen, src, len, n);
        e = db_set(c->db, dst->ptr, dst->len, (const char *)tmp, maxlen, -1, 0);
        e->enc = ENTRY_ENC_RAW;
        mem_free(tmp);
    } else if ((e = db_reuse_string(c->db, dst->ptr, dst->len, maxlen)) != NULL) {
        /* The destination is a string whose block already fits the result
         * (the same BITOP run again, say): write over it.  A fresh block of
         * 64 MB costs 16,384 page faults, about as much as the operation. */
        bits_op((enum bits_op)op, (unsigned char *)entry_val(e), maxlen, src, len, n);
        e->enc = ENTRY_ENC_RAW;
    } else {
        /* Build the result in the new value itself; the sources are found
         * again once the destination is in place. */
        db_delete(c->db, dst->ptr, dst->len);
        e = db_add(c->db, dst->ptr, dst->len, maxlen, -1);
        e->enc = ENTRY_ENC_RAW;
        for (size_t k = 0; k < n; k++) {
            const struct resp_arg *a = &c->argv[3 + k];
            struct entry *s = db_lookup(c->db, a->ptr, a->len, LOOKUP_NOSTATS | LOOKUP_NOTOUCH);
            src[k] = s ? (const unsigned char *)entry_val(s) : NULL;
            len[k] = s ? entry_vallen(s) : 0;
        }
        bits_op((enum bits_op)op, (unsigned char *)entry_val(e), maxlen, src, len, n);
    }
    notify_key(c, NOTIFY_STRING, "set", dst);
    reply_int(c, (long long)maxlen);
out:
    mem_free(src);
    mem_free(len);
}

/* ---- BITFIELD / BITFIELD_RO ---------------------------------------------- */

enum bits_fop {
    BITS_FOP_GET,
    BITS_FOP_SET,
    BITS_FOP_INCRBY,
};

struct bits_field_op {
    uint64_t offset;
    int64_t value;                  /* SET value or INCRBY increment */
    enum bits_fop op;
    enum bits_overflow ow;
    int bits;
    int sign;
};

static int
bits_parse_type(struct client *c, const struct resp_arg *a, int *sign, int *bits)
{
    long long n;
    if (a->len >= 2 && (a->ptr[0] == 'i' || a->ptr[0] == 'u')
        && util_str2ll(a->ptr + 1, a->len - 1, &n) == 0) {
        *sign = a->ptr[0] == 'i';
        if (n >= 1 && n <= (*sign ? 64 : 63)) {
            *bits = (int)n;
            return 0;
        }
    }
    reply_error(c, "Invalid bitfield type. Use something like i16 u8. "
                   "Note that u64 is not supported but i64 is.");
    return -1;
}

/* Apply one SET/INCRBY to the value p: replies the result (or a null when
 * OVERFLOW FAIL refuses it).  Returns 0 when it did not write, 1 when it
 * wrote the value that was there, 2 when it changed the value. */
static int
bits_field_write(struct client *c, unsigned char *p, const struct bits_field_op *o)
{
    int ovf;
    if (o->sign) {
        int64_t old = bits_get_signed(p, o->offset, o->bits), nv, wrapped = 0, ret;
        if (o->op == BITS_FOP_INCRBY) {
            ovf = bits_overflow_signed(old, o->value, o->bits, o->ow, &wrapped);
            nv = ovf ? wrapped : (int64_t)((uint64_t)old + (uint64_t)o->value);
            ret = nv;
        } else {
            nv = o->value;
            ovf = bits_overflow_signed(nv, 0, o->bits, o->ow, &wrapped);
            if (ovf) {
                nv = wrapped;
            }
            ret = old;
        }
        if (ovf && o->ow == BITS_OVERFLOW_FAIL) {
            reply_null(c);
            return 0;
        }
        reply_int(c, ret);
        bits_set_unsigned(p, o->offset, o->bits, (uint64_t)nv);
        return nv != old ? 2 : 1;
    } else {
        uint64_t old = bits_get_unsigned(p, o->offset, o->bits), nv, wrapped = 0, ret;
        if (o->op == BITS_FOP_INCRBY) {
            nv = old + (uint64_t)o->value;
            ovf = bits_overflow_unsigned(old, o->value, o->bits, o->ow, &wrapped);
            if (ovf) {
                nv = wrapped;
            }
            ret = nv;
        } else {
            nv = (uint64_t)o->value;
            ovf = bits_overflow_unsigned(nv, 0, o->bits, o->ow, &wrapped);
            if (ovf) {
                nv = wrapped;
            }
            ret = old;
        }
        if (ovf && o->ow == BITS_OVERFLOW_FAIL) {
            reply_null(c);
            return 0;
        }
        reply_int(c, (long long)ret);
        bits_set_unsigned(p, o->offset, o->bits, nv);
        return nv != old ? 2 : 1;
    }
}

static void
bits_field(struct client *c, int readonly_cmd)
{
    const struct resp_arg *key = &c->argv[1];
    struct bits_field_op *ops = mem_alloc(sizeof(*ops) * (c->argc / 2 + 1));
    enum bits_overflow ow = BITS_OVERFLOW_WRAP;
    size_t nops = 0;
    int readonly = 1;
    uint64_t highest = 0;

    for (size_t j = 2; j < c->argc; j++) {
        size_t rem = c->argc - j - 1;
        const struct resp_arg *a = &c->argv[j];
        struct bits_field_op *o = &ops[nops];
        if (bits_arg_is(a, "get") && rem >= 2) {
            o->op = BITS_FOP_GET;
        } else if (bits_arg_is(a, "set") && rem >= 3) {
            o->op = BITS_FOP_SET;
        } else if (bits_arg_is(a, "incrby") && rem >= 3) {
            o->op = BITS_FOP_INCRBY;
        } else if (bits_arg_is(a, "overflow") && rem >= 1) {
            const struct resp_arg *t = &c->argv[++j];
            if (bits_arg_is(t, "wrap")) {
                ow = BITS_OVERFLOW_WRAP;
            } else if (bits_arg_is(t, "sat")) {
                ow = BITS_OVERFLOW_SAT;
            } else if (bits_arg_is(t, "fail")) {
                ow = BITS_OVERFLOW_FAIL;
            } else {
                reply_error(c, "Invalid OVERFLOW type specified");
                goto out;
            }
            continue;
        } else {
            reply_syntax_error(c);
            goto out;
        }
        if (bits_parse_type(c, &c->argv[j + 1], &o->sign, &o->bits) != 0
            || bits_parse_offset(c, &c->argv[j + 2], 1, o->bits, &o->offset) != 0) {
            goto out;
        }
        o->value = 0;
        if (o->op != BITS_FOP_GET) {
            long long v;
            readonly = 0;
            if (highest < o->offset + (uint64_t)o->bits - 1) {
                highest = o->offset + (uint64_t)o->bits - 1;
            }
            if (util_str2ll(c->argv[j + 3].ptr, c->argv[j + 3].len, &v) != 0) {
                reply_not_integer(c);
                goto out;
            }
            o->value = v;
        }
        o->ow = ow;
        nops++;
        j += o->op == BITS_FOP_GET ? 2 : 3;
    }

    struct entry *e;
    int changed = 0;
    if (readonly) {
        int err;
        e = bits_lookup_read(c, key, &err);
        if (err) {
            goto out;
        }
    } else {
        if (readonly_cmd) {
            reply_error(c, "BITFIELD_RO only supports the GET subcommand");
            goto out;
        }
        e = bits_lookup_write(c, key, highest, &changed);
        if (e == NULL) {
            goto out;
        }
    }
    reply_array_len(c, (long long)nops);
    int writes = 0;
    for (size_t k = 0; k < nops; k++) {
        const struct bits_field_op *o = &ops[k];
        if (o->op != BITS_FOP_GET) {
            /* As Redis 7.0: a write counts when it changed the value or the
             * key was created or grown for it. */
            int w = bits_field_write(c, (unsigned char *)entry_val(e), o);
            writes += w == 2 || (w == 1 && changed);
            continue;
        }
        /* GET reads through a zero-padded copy of the 9 bytes it may span,
         * so fields past the end of the value read as zeros. */
        unsigned char buf[9] = {0};
        uint64_t byte = o->offset >> 3;
        for (uint64_t i = 0; e != NULL && i < 9 && byte + i < entry_vallen(e); i++) {
            buf[i] = (unsigned char)entry_val(e)[byte + i];
        }
        if (o->sign) {
            reply_int(c, bits_get_signed(buf, o->offset - byte * 8, o->bits));
        } else {
            reply_int(c, (long long)bits_get_unsigned(buf, o->offset - byte * 8, o->bits));
        }
    }
    if (writes > 0) {
        if (!changed) {
            db_signal_modified(c->db, key->ptr, key->len);
        }
        /* One dirty change per write, as Redis counts (creating or growing
         * the key counted the first). */
        c->db->ks->dirty += writes - 1;
        notify_key(c, NOTIFY_STRING, "setbit", key);
    }
out:
    mem_free(ops);
}

void
cmd_bitfield(struct client *c)
{
    bits_field(c, 0);
}

void
cmd_bitfield_ro(struct client *c)
{
    bits_field(c, 1);
}

/* ---- LCS ------------------------------------------------------------------ */

struct lcs_match {
    uint32_t a0, a1, b0, b1;
};

void
cmd_lcs(struct client *c)
{
    struct entry *ea = db_lookup(c->db, c->argv[1].ptr, c->argv[1].len, 0);
    struct entry *eb = db_lookup(c->db, c->argv[2].ptr, c->argv[2].len, 0);
    int getlen = 0, getidx = 0, withlen = 0;
    long long minlen = 0;

    if ((ea && ea->type != ENTRY_STRING) || (eb && eb->type != ENTRY_STRING)) {
        reply_error(c, "The specified keys must contain string values");
        return;
    }
    for (size_t j = 3; j < c->argc; j++) {
        const struct resp_arg *o = &c->argv[j];
        if (bits_arg_is(o, "idx")) {
            getidx = 1;
        } else if (bits_arg_is(o, "len")) {
            getlen = 1;
        } else if (bits_arg_is(o, "withmatchlen")) {
            withlen = 1;
        } else if (bits_arg_is(o, "minmatchlen") && j + 1 < c->argc) {
            if (util_str2ll(c->argv[j + 1].ptr, c->argv[j + 1].len, &minlen) != 0) {
                reply_not_integer(c);
                return;
            }
            if (minlen < 0) {
                minlen = 0;
            }
            j++;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    if (getidx && getlen) {
        reply_error(c, "If you want both the length and indexes, please just use IDX.");
        return;
    }
    const char *a = ea ? entry_val(ea) : "", *b = eb ? entry_val(eb) : "";
    uint32_t alen = ea ? entry_vallen(ea) : 0, blen = eb ? entry_vallen(eb) : 0;
    if (alen >= UINT32_MAX - 1 || blen >= UINT32_MAX - 1) {
        reply_error(c, "String too long for LCS");
        return;
    }
    unsigned long long cells = (unsigned long long)(alen + 1ULL) * (blen + 1ULL);
    unsigned long long bytes = cells * sizeof(uint32_t);
    if (bytes > c->srv->cfg.proto_max_bulk_len) {
        reply_error(c, "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
        return;
    }
    uint32_t *t = mem_alloc((size_t)bytes);
#define LCS_AT(i, j) t[(size_t)(j) + (size_t)(i) * (blen + 1)]
    for (uint32_t i = 0; i <= alen; i++) {
        for (uint32_t j = 0; j <= blen; j++) {
            if (i == 0 || j == 0) {
                LCS_AT(i, j) = 0;
            } else if (a[i - 1] == b[j - 1]) {
                LCS_AT(i, j) = LCS_AT(i - 1, j - 1) + 1;
            } else {
                uint32_t l1 = LCS_AT(i - 1, j), l2 = LCS_AT(i, j - 1);
                LCS_AT(i, j) = l1 > l2 ? l1 : l2;
            }
        }
    }
    uint32_t total = LCS_AT(alen, blen), idx = total;
    if (getlen) {
        reply_int(c, total);
        mem_free(t);
        return;
    }
    /* Walk back from the end: the string, and the matching ranges from the
     * last to the first as Redis emits them. */
    char *res = mem_alloc(total + 1);
    struct lcs_match *m = NULL;
    size_t nm = 0, capm = 0;
    uint32_t as = alen, ae = 0, bs = 0, be = 0;     /* as == alen: no range */
    uint32_t i = alen, j = blen;
    while (i > 0 && j > 0) {
        int emit = 0;
        if (a[i - 1] == b[j - 1]) {
            res[idx - 1] = a[i - 1];
            if (as == alen) {
                as = ae = i - 1;
                bs = be = j - 1;
            } else if (as == i && bs == j) {
                as--;
                bs--;
            } else {
                emit = 1;
            }
            if (as == 0 || bs == 0) {
                emit = 1;
            }
            idx--;
            i--;
            j--;
        } else {
            if (LCS_AT(i - 1, j) > LCS_AT(i, j - 1)) {
                i--;
            } else {
                j--;
            }
            if (as != alen) {
                emit = 1;
            }
        }
        if (emit) {
            uint32_t mlen = ae - as + 1;
            if (getidx && (minlen == 0 || mlen >= minlen)) {
                if (nm == capm) {
                    capm = capm ? capm * 2 : 16;
                    m = mem_realloc(m, capm * sizeof(*m));
                }
                m[nm++] = (struct lcs_match){as, ae, bs, be};
            }
            as = alen;
        }
    }
#undef LCS_AT
    if (getidx) {
        reply_map_len(c, 2);
        reply_bulk_cstr(c, "matches");
        reply_array_len(c, (long long)nm);
        for (size_t k = 0; k < nm; k++) {
            reply_array_len(c, 2 + withlen);
            reply_array_len(c, 2);
            reply_int(c, m[k].a0);
            reply_int(c, m[k].a1);
            reply_array_len(c, 2);
            reply_int(c, m[k].b0);
            reply_int(c, m[k].b1);
            if (withlen) {
                reply_int(c, m[k].a1 - m[k].a0 + 1);
            }
        }
        reply_bulk_cstr(c, "len");
        reply_int(c, total);
    } else {
        reply_bulk(c, res, total);
    }
    mem_free(m);
    mem_free(res);
    mem_free(t);
}
