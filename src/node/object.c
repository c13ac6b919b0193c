/* The object layer's registry, fingerprints and the batching command
 * emitter that types use to write themselves out (see object.h). */
#include "node/object.h"
#include "node/t_zset.h"
#include "core/alloc.h"
#include "core/resp.h"
#include "core/util.h"
#include "node/t_list.h"
#include "node/t_set.h"
#include "node/t_stream.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define OBJ_TYPES_MAX 16

/* Type tables by entry type; strings have none. */
static const struct obj_type *registry[OBJ_TYPES_MAX];

void
obj_register(unsigned type, const struct obj_type *ops)
{
    if (type < OBJ_TYPES_MAX) {
        registry[type] = ops;
    }
}

void
object_setup(void)
{
    /* One line per type, e.g. obj_register(ENTRY_HASH, &hash_type); */
    /* lists */
    obj_register(ENTRY_LIST, &list_type);

    /* hashes */
    extern const struct obj_type hash_type; /* node/t_hash.c */
    obj_register(ENTRY_HASH, &hash_type);

    /* sets */
    obj_register(ENTRY_SET, &set_obj_type);

    /* sorted sets */
    obj_register(ENTRY_ZSET, &zset_type);

    /* streams */
    obj_register(ENTRY_STREAM, &stream_type);

    /* (end of collections) */
}

const struct obj_type *
obj_type_of(unsigned type)
{
    return type < OBJ_TYPES_MAX ? registry[type] : NULL;
}

const char *
obj_type_name(const struct entry *e)
{
    const struct obj_type *t = obj_type_of(e->type);
    return t != NULL ? t->name : "string";
}

int
obj_type_by_name(const char *name, size_t len)
{
    if (len == 6 && strncasecmp(name, "string", 6) == 0) {
        return ENTRY_STRING;
    }
    for (unsigned i = 0; i < OBJ_TYPES_MAX; i++) {
        const struct obj_type *t = registry[i];
        if (t != NULL && strlen(t->name) == len && strncasecmp(t->name, name, len) == 0) {
            return (int)i;
        }
    }
    return -1;
}

void
obj_free_entry_value(struct entry *e)
{
    const struct obj_type *t = obj_type_of(e->type);
    if (t != NULL) {
        t->free(entry_obj(e));
    }
}

size_t
obj_entry_value_memory(const struct entry *e)
{
    const struct obj_type *t = obj_type_of(e->type);
    return t != NULL ? t->memory(entry_obj(e)) : 0;
}

/* ---- fingerprints --------------------------------------------------------- */

const uint64_t obj_digest_bases[3] = {0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL,
                                      0x9e3779b97f4a7c15ULL};

uint64_t
obj_fnv1a(uint64_t h, const void *p, size_t len)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < len; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t
element_hash(uint64_t base, const void *a, size_t alen, const void *b, size_t blen)
{
    /* Lengths go in too, so ("ab","c") and ("a","bc") differ. */
    uint64_t la = alen, lb = blen;
    uint64_t h = obj_fnv1a(base, &la, sizeof(la));
    h = obj_fnv1a(h, a, alen);
    h = obj_fnv1a(h, &lb, sizeof(lb));
    return obj_fnv1a(h, b, blen);
}

void
obj_digest_unordered(uint64_t h[3], const void *a, size_t alen, const void *b,
                     size_t blen)
{
    for (int i = 0; i < 3; i++) {
        h[i] ^= element_hash(obj_digest_bases[i], a, alen, b, blen);
    }
}

void
obj_digest_ordered(uint64_t h[3], const void *a, size_t alen, const void *b,
                   size_t blen)
{
    for (int i = 0; i < 3; i++) {
        h[i] = element_hash(h[i] * 0x100000001b3ULL + 1, a, alen, b, blen);
    }
}

/* ---- the command emitter ------------------------------------------------ */

size_t
obj_double_str(char *buf, double d)
{
    if (isinf(d)) {
        return (size_t)snprintf(buf, 32, "%s", d > 0 ? "inf" : "-inf");
    }
    return (size_t)snprintf(buf, 32, "%.17g", d);
}

void
obj_emitter_init(struct obj_emitter *em, obj_emit_write_fn fn, void *arg)
{
    memset(em, 0, sizeof(*em));
    em->write = fn;
    em->arg = arg;
}

void
obj_emitter_release(struct obj_emitter *em)
{
    rbuf_free(&em->args);
}

static void
args_put(struct obj_emitter *em, const char *p, size_t len)
{
    rbuf_add(&em->args, p, len);
}

static void
write_bulk(struct obj_emitter *em, const char *p, size_t len)
{
    char hdr[RESP_HDR_MAX];
    em->write(em->arg, hdr, resp_fmt_prefixed(hdr, '$', (long long)len));
    em->write(em->arg, p, len);
    em->write(em->arg, "\r\n", 2);
}

/* Write the finished items as one command: CMD key args... */
static void
flush_batch(struct obj_emitter *em, size_t upto_len, size_t upto_nargs)
{
    char hdr[RESP_HDR_MAX];
    if (upto_nargs == 0) {
        return;
    }
    em->write(em->arg, hdr, resp_fmt_prefixed(hdr, '*', (long long)(upto_nargs + 2)));
    write_bulk(em, em->cmd, em->cmdlen);
    write_bulk(em, em->key, em->keylen);
    em->write(em->arg, em->args.p, upto_len);
    /* Keep the open item's arguments (if any) for the next batch. */
    memmove(em->args.p, em->args.p + upto_len, em->args.len - upto_len);
    em->args.len -= upto_len;
    em->nargs -= upto_nargs;
    em->item_start -= upto_len;
    em->item_nargs_start -= upto_nargs;
    em->items = 0;
}

void
obj_emit_begin(struct obj_emitter *em, const char *cmd, const char *key,
               size_t keylen)
{
    obj_emit_end(em);
    em->cmdlen = strlen(cmd);
    if (em->cmdlen >= sizeof(em->cmd)) {
        em->cmdlen = sizeof(em->cmd) - 1;
    }
    memcpy(em->cmd, cmd, em->cmdlen);
    em->key = key;
    em->keylen = keylen;
    em->args.len = em->nargs = em->items = 0;
    em->item_start = em->item_nargs_start = 0;
}

void
obj_emit_arg(struct obj_emitter *em, const char *p, size_t len)
{
    char hdr[RESP_HDR_MAX];
    args_put(em, hdr, resp_fmt_prefixed(hdr, '$', (long long)len));
    args_put(em, p, len);
    args_put(em, "\r\n", 2);
    em->nargs++;
}

void
obj_emit_arg_ll(struct obj_emitter *em, long long v)
{
    char buf[24];
    obj_emit_arg(em, buf, util_ll2str(buf, v));
}

void
obj_emit_arg_double(struct obj_emitter *em, double d)
{
    char buf[32];
    obj_emit_arg(em, buf, obj_double_str(buf, d));
}

void
obj_emit_item_end(struct obj_emitter *em)
{
    em->items++;
    em->item_start = em->args.len;
    em->item_nargs_start = em->nargs;
    if (em->items >= OBJ_REWRITE_BATCH || em->args.len >= OBJ_REWRITE_BYTES) {
        flush_batch(em, em->args.len, em->nargs);
    }
}

void
obj_emit_end(struct obj_emitter *em)
{
    if (em->items > 0) {
        flush_batch(em, em->item_start, em->item_nargs_start);
    }
    em->args.len = em->nargs = em->items = 0;
    em->item_start = em->item_nargs_start = 0;
}

void
obj_emit_command(struct obj_emitter *em, size_t argc, const char *const *argv,
                 const size_t *lens)
{
    char hdr[RESP_HDR_MAX];
    obj_emit_end(em);
    em->write(em->arg, hdr, resp_fmt_prefixed(hdr, '*', (long long)argc));
    for (size_t i = 0; i < argc; i++) {
        write_bulk(em, argv[i], lens[i]);
    }
}
